/*
 * NAME
 *	inbound_record.h - what the milter stores for a received message:
 *	its inbound rows and its reply rows, and their spool form
 *
 * SYNOPSIS
 *	struct inbound_record *r = inbound_record_new();
 *	g_ptr_array_add(r->addresses, g_strdup("lyon@leads.example"));
 *	GBytes *b = inbound_record_encode(r);	r = inbound_record_decode(data, len);
 *	inbound_record_free(r);
 *
 *	struct reply_record *y = reply_record_new();	... the same ...
 *
 * DESCRIPTION
 *	An inbound_record holds the arguments of one call of
 *	beacon.inbound_mail() (sql/schema/011_inbound.sql): the tracked
 *	inbound addresses among the message's recipients and what the rows
 *	say of the message (the original sender's From, Reply-To, List-Id
 *	and domain, forward.h).  A reply_record holds those of one call of
 *	beacon.reply() (012_replies.sql): the Message-IDs the message
 *	answers, newest first, and who sent it.  The database finds the
 *	rows they name when it writes, so nothing is looked up on the mail
 *	path, and both calls are idempotent: a spool replay writes nothing
 *	twice.
 *
 *	Every string is valid UTF-8 (record_set); "" is written as NULL.
 *	The spool payloads are GVariants in normal form of type
 *	INBOUND_VTYPE and REPLY_VTYPE, spool record types
 *	INBOUND_SPOOL_TYPE and REPLY_SPOOL_TYPE beside the messages' and the
 *	bounce reports' (record.h, bounce.h).
 */
#ifndef BEACON_INBOUND_RECORD_H
#define BEACON_INBOUND_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#define INBOUND_SPOOL_TYPE 'I'	/* spool record type of a message to tracked addresses */
#define INBOUND_VTYPE "(xassssssssxb)"
#define REPLY_SPOOL_TYPE 'R'	/* spool record type of a reply */
#define REPLY_VTYPE "(xasasss)"
#define REPLY_MAX_REFS 20	/* Message-IDs sent to beacon.reply() at most */

/* inbound_record - one beacon.inbound_mail() call */
struct inbound_record {
	int64_t at;		/* when the milter saw it, microseconds since the epoch */
	GPtrArray *addresses;	/* char *: the tracked addresses among the recipients, one form */
	char *queue_id;		/* the MTA's queue id */
	char *message_id;	/* the message's Message-ID without <>, or "" */
	char *sender_domain;	/* the original sender's domain, or "" */
	char *from;		/* the original From address, or "" */
	char *reply_to;		/* the original Reply-To address, or "" */
	char *list_id;		/* the original List-Id without <>, or "" */
	char *subject;		/* the message's Subject, decoded, or "" */
	int64_t size;		/* octets of the message as the client sent it */
	int forward;		/* the message forwards the original */
};

/* reply_record - one beacon.reply() call */
struct reply_record {
	int64_t at;		/* when the milter saw it, microseconds since the epoch */
	GPtrArray *refs;	/* char *: In-Reply-To then References, newest first, without <> */
	GPtrArray *from;	/* char *: the From address and the envelope sender, one form */
	char *message_id;	/* the reply's own Message-ID without <> */
	char *queue_id;		/* the MTA's queue id */
};

/* inbound_record_new - an empty record, seen now */
struct inbound_record *inbound_record_new(void);
/* inbound_record_free - release R (NULL is fine) */
void inbound_record_free(struct inbound_record *r);
/* inbound_record_encode - the spool payload */
GBytes *inbound_record_encode(const struct inbound_record *r);
/* inbound_record_decode - a record from a spool payload; NULL if it is not one */
struct inbound_record *inbound_record_decode(const void *data, size_t len);

/* reply_record_new - an empty record, seen now */
struct reply_record *reply_record_new(void);
/* reply_record_free - release R (NULL is fine) */
void reply_record_free(struct reply_record *r);
/* reply_record_encode - the spool payload */
GBytes *reply_record_encode(const struct reply_record *r);
/* reply_record_decode - a record from a spool payload; NULL if it is not one */
struct reply_record *reply_record_decode(const void *data, size_t len);

#endif
