/*
 * NAME
 *	record.h - the database rows of one tracked message
 *
 * SYNOPSIS
 *	struct msg_record *r = record_new();
 *	record_add_rcpt(r, token_id, address, "tracked", key_id, token, name);
 *	record_add_link(r, n, url);
 *	GBytes *b = record_encode(r);		(spool payload)
 *	struct msg_record *back = record_decode(data, len);
 *	record_free(r);
 *
 * DESCRIPTION
 *	One msg_record holds what store.c writes in one transaction: the
 *	beacon.messages row, its beacon.recipients rows, its beacon.links
 *	rows and its beacon.attachments rows.  Every string is valid UTF-8 without NUL bytes (record_* make
 *	it so), because PostgreSQL text columns refuse anything else.  Empty
 *	strings are written as NULL.
 *
 *	The spool payload is a GVariant of type RECORD_VTYPE in normal form;
 *	record_decode() refuses anything else, so a damaged or foreign
 *	record is reported instead of half-read.  A message with attachments
 *	rows is spooled as RECORD_ATT_VTYPE under its own record type, so a
 *	message without keeps the format older spools hold.  A message that
 *	continues a conversation (it names its thread's first message) is
 *	spooled as RECORD_THREAD_VTYPE, the attachments rows and the
 *	thread root included, for the same reason.
 */
#ifndef BEACON_RECORD_H
#define BEACON_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "token.h"

#define RECORD_SPOOL_TYPE 'M'	/* spool record type of a message */
#define RECORD_VTYPE "(sssssssxsbbixa(sssyss)a(is))"
#define RECORD_ATT_SPOOL_TYPE 'A'	/* a message with attachments rows */
#define RECORD_ATT_VTYPE "(sssssssxsbbixa(sssyss)a(is)a(issxxs))"
#define RECORD_THREAD_SPOOL_TYPE 'T'	/* a message with a thread root */
#define RECORD_THREAD_VTYPE "(sssssssxsbbixa(sssyss)a(is)a(issxxs)s)"

/* rec_rcpt - one beacon.recipients row */
struct rec_rcpt {
	char token_id[TOKEN_UUID_LEN + 1];	/* uuid (primary key) */
	char *address;				/* envelope address */
	char *status;				/* tracked, shared, internal, suppressed */
	uint8_t key_id;				/* key that signed the token, 0 if none */
	char *token;				/* token as sent, "" if none */
	char *name;				/* display name from To/Cc, "" if none */
};

/* rec_link - one beacon.links row */
struct rec_link {
	int n;		/* link number in the click URLs */
	char *url;	/* target */
};

/* rec_att - one beacon.attachments row */
struct rec_att {
	int n;			/* its number in the download URLs (attachments.id) */
	char *name;		/* file name shown */
	char *content_type;	/* type/subtype */
	int64_t size;		/* octets */
	int64_t expires_at;	/* unix seconds: the links stop working */
	char *storage_ref;	/* sha256 hex of the content file */
};

/* msg_record - one message's rows */
struct msg_record {
	char id[TOKEN_UUID_LEN + 1];	/* beacon.messages.id */
	char *message_id;	/* Message-ID header */
	char *queue_id;		/* MTA queue id */
	char *sender;		/* envelope sender */
	char *sasl_login;	/* SMTP AUTH login */
	char *subject;		/* decoded Subject */
	char *campaign;		/* X-Beacon campaign= */
	char *thread_root;	/* bare Message-ID of the conversation's first message, "" if this one */
	int64_t sent_at;	/* microseconds since the epoch */
	char *client_ip;	/* submitting client address */
	int clicks;		/* links were rewritten */
	int notify;		/* live notifications wanted */
	int recipients;		/* envelope recipients */
	int64_t size;		/* message octets as received */
	GArray *rcpts;		/* struct rec_rcpt */
	GArray *links;		/* struct rec_link */
	GArray *atts;		/* struct rec_att */
};

/* record_new - an empty record with a fresh random id */
struct msg_record *record_new(void);
/* record_set - replace string field *FIELD with a valid UTF-8 copy of S (NULL: "") */
void record_set(char **field, const char *s);
/* record_add_rcpt - append a recipient row */
void record_add_rcpt(struct msg_record *r, const char *token_id, const char *address,
		     const char *status, uint8_t key_id, const char *token, const char *name);
/* record_add_link - append a link row */
void record_add_link(struct msg_record *r, int n, const char *url);
/* record_add_att - append an attachments row */
void record_add_att(struct msg_record *r, int n, const char *name, const char *content_type,
		    int64_t size, int64_t expires_at, const char *storage_ref);
/* record_free - release a record */
void record_free(struct msg_record *r);

/* record_encode - the spool payload (GVariant, normal form) of type record_spool_type(R) */
GBytes *record_encode(const struct msg_record *r);
/* record_spool_type - RECORD_THREAD_SPOOL_TYPE with a thread root, else RECORD_ATT_SPOOL_TYPE
 * with attachments rows, else RECORD_SPOOL_TYPE */
uint8_t record_spool_type(const struct msg_record *r);
/* record_decode - a record from a spool payload of RECORD_SPOOL_TYPE; NULL if it is not one */
struct msg_record *record_decode(const void *data, size_t len);
/* record_decode_type - a record from a spool payload of TYPE (any of the three); NULL if not one */
struct msg_record *record_decode_type(uint8_t type, const void *data, size_t len);

/* record_uuid - a fresh random uuid in text */
void record_uuid(char out[TOKEN_UUID_LEN + 1]);

#endif
