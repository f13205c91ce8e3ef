/*
 * NAME
 *	msgctx.h - per-connection and per-message state of beacon-milter
 *
 * SYNOPSIS
 *	struct conn_ctx *c = conn_new();
 *	msg_begin(c, sender, args);	msg_add_rcpt(c->msg, rcpt, args);
 *	msg_add_header(c->msg, name, value);	msg_end_headers(c->msg, max);
 *	msg_add_body(c->msg, chunk, len);	... eom ...
 *	msg_reset(c);	conn_free(c);
 *
 * DESCRIPTION
 *	A conn_ctx lives from the milter negotiation to the close callback
 *	and holds the peer and the protocol flags agreed with the MTA.  Its
 *	msg_ctx lives from MAIL FROM until msg_reset(), which end of message,
 *	abort and close all call (it is idempotent); the connection itself is
 *	freed only in close.
 *
 *	The message is kept as the MTA sent it: the envelope with its ESMTP
 *	arguments (what a per-recipient split re-injects), the headers in
 *	order, and one buffer TEXT holding the header block rebuilt as
 *	"Name: value" CRLF lines, a blank line, and the body bytes as
 *	received, so the MIME parser sees the whole message and body offsets
 *	are TEXT offsets minus body_off.  Once the message grows past the
 *	size limit the buffer is dropped and `oversize` set.
 */
#ifndef BEACON_MSGCTX_H
#define BEACON_MSGCTX_H

#include <stddef.h>

#include <glib.h>

/* msg_rcpt - one envelope recipient */
struct msg_rcpt {
	char *addr;		/* address without <>, as the MTA gave it (delivery uses it) */
	char *key;		/* its one form (address.h), what rules compare; NULL: it has none */
	const char *key_why;	/* why it has none (static), or NULL */
	char *stored;		/* what the recipients row holds: key, else addr as printable UTF-8 */
	char **args;		/* ESMTP arguments (NOTIFY=, ORCPT=), NULL-terminated */
};

/* msg_header - one header, as received */
struct msg_header {
	char *name;		/* field name */
	char *value;		/* field value, folds kept */
};

/* msg_ctx - one message (MAIL FROM .. end of message) */
struct msg_ctx {
	char *queue_id;		/* the MTA's queue id ({i}), or NULL until known */
	char *sender;		/* envelope sender without <> ("" for the null sender) */
	char **mail_args;	/* ESMTP arguments of MAIL FROM (RET=, ENVID=), NULL-terminated */
	char *sasl_login;	/* {auth_authen}, or NULL */
	int trusted;		/* the submission may ask for tracking (trust.h); 0 until decided */
	int bounce_trusted;	/* a bounce report from here may match by Message-ID (trust_bounce) */
	char *trust_why;	/* which trust rule held, or why none did (for the log), or NULL */
	GPtrArray *rcpts;	/* struct msg_rcpt *, in RCPT order */
	GPtrArray *headers;	/* struct msg_header *, in order */
	GByteArray *text;	/* header block + body; NULL once oversize */
	size_t body_off;	/* where the body starts in text */
	size_t size;		/* octets seen so far (headers + body) */
	int oversize;		/* over max_message_size: passes untouched */
	size_t text_cut;	/* body octets seen but not kept in text (msg_add_body_head) */
	int headers_done;	/* msg_end_headers() ran */
	int skip_body;		/* the body is not needed (tag says no) */
	int dsn_candidate;	/* may be a delivery status notification (bounce.h): body read */
	int via_reinject;	/* it came in on the reinject listener (its copies may be trusted) */
	GPtrArray *inbound;	/* char *: tracked inbound addresses among the recipients (inbound.h), or NULL */
	int maybe_reply;	/* In-Reply-To or References: may answer a tracked message (inbound.h) */
	const char *inbound_only;	/* why the header check passed it (static): read only to record it (inbound.h), or NULL */
	const char *record_only;	/* why it passed untouched (static): its body skipped, recorded at end of message only (inbound.h), or NULL */
};

/* conn_ctx - one MTA connection */
struct conn_ctx {
	char *hostname;		/* client host name as the MTA gave it */
	char *client_ip;	/* client address in text, or NULL (local, unknown) */
	char *daemon_name;	/* the MTA's {daemon_name} at connect, or NULL */
	unsigned long nr_flags;	/* SMFIP_NR_* steps agreed: callbacks answer NOREPLY */
	int can_skip;		/* the MTA understands SMFIS_SKIP */
	int can_delrcpt;	/* the MTA lets the milter remove recipients */
	int sd;			/* the MTA socket when it is TCP (for TCP_QUICKACK), else -1 */
	int via_reinject;	/* {daemon_name} is reinject_daemon_name: the copies' listener */
	struct msg_ctx *msg;	/* the current message, or NULL */
};

/* conn_new - an empty connection context */
struct conn_ctx *conn_new(void);
/* conn_free - release the connection and its message (close callback only) */
void conn_free(struct conn_ctx *c);

/* msg_begin - start a message (resets any previous one); 0 or -1 (no memory) */
int msg_begin(struct conn_ctx *c, const char *sender, char **args);
/* msg_reset - drop the current message, if any; safe to call twice */
void msg_reset(struct conn_ctx *c);
/* msg_add_rcpt - record one envelope recipient with its ESMTP arguments */
void msg_add_rcpt(struct msg_ctx *m, const char *rcpt, char **args);
/* msg_add_header - record one header; counts it toward MAX octets */
void msg_add_header(struct msg_ctx *m, const char *name, const char *value, long long max);
/* msg_end_headers - build the header block in text; 0, or -1 if oversize */
int msg_end_headers(struct msg_ctx *m);
/* msg_add_body - append a body chunk; 0, or -1 once the message is oversize */
int msg_add_body(struct msg_ctx *m, const unsigned char *p, size_t len, long long max);
/* msg_add_body_head - count a body chunk, but keep text to KEEP octets in all (a message read
 * only to record it: its beginning is enough, whatever its size) */
void msg_add_body_head(struct msg_ctx *m, const unsigned char *p, size_t len, size_t keep);
/* msg_set_queue_id - remember the queue id the first time it is known */
void msg_set_queue_id(struct msg_ctx *m, const char *qid);
/* msg_qid - the queue id for log lines ("NOQUEUE" until known) */
const char *msg_qid(const struct msg_ctx *m);

/* msg_header_get - value of the first header NAME (case-insensitive), or NULL */
const char *msg_header_get(const struct msg_ctx *m, const char *name);
/* msg_header_count - how many headers are called NAME */
int msg_header_count(const struct msg_ctx *m, const char *name);
/* msg_body - the body bytes received so far, and their length */
const unsigned char *msg_body(const struct msg_ctx *m, size_t *len);

/* msg_strip_angles - ADDR without surrounding <> and spaces, malloc'd */
char *msg_strip_angles(const char *addr);

#endif
