/*
 * NAME
 *	bounce.h - record the bounces a delivery status notification reports
 *	for tracked messages
 *
 * SYNOPSIS
 *	if (cfg->milter.bounces && bounce_candidate(msg))
 *		... read the body ...
 *	if (bounce_message(&env, msg) == 0)
 *		... a report: deliver it as it is ...
 *
 *	struct bounce_record *b = bounce_record_new();	(store.c, tests)
 *	GBytes *spool = bounce_record_encode(b);
 *	b = bounce_record_decode(data, len);
 *
 * DESCRIPTION
 *	With `[milter] bounces = yes`, a message with the null envelope
 *	sender or a multipart/report top-level type is a candidate: its body
 *	is read whatever else the headers say.  At end of message
 *	bounce_message() parses it (dsn.h); when it is a report (an RFC 3464
 *	one from any sender, a text form only from the null sender) every
 *	recipient the report calls failed or delayed goes into one
 *	bounce_record, which the store writes in one statement (or spools,
 *	store.h).  Nothing about the message changes: the report is
 *	delivered byte for byte as the MTA has it, never tracked.  Nothing
 *	is looked up on the way: the record holds what the report says
 *	(returned Message-ID, addresses in their one form, status, hard or
 *	soft, diagnostic) and the token_id of the first token found in the
 *	returned message whose MAC verifies; the database function
 *	beacon.bounce (sql/schema/008_bounces.sql) finds the recipient row
 *	when it writes, and adds the suppression of a dead address.
 *
 *	Who may name which rows: a report from a trusted client (the
 *	milter's trust decision, trust.h: Postfix's own bounce daemon comes
 *	from the loopback address, trusted_networks, trusted_daemons, SASL)
 *	is matched by the returned Message-ID and address, as an MTA's own
 *	report is.  A report from any other client is hearsay: anybody who
 *	got a copy of a message knows its Message-ID and its To/Cc list.
 *	Such a report may only touch the one recipient row whose own token
 *	(MAC verified) it carries, and only when it names that row's
 *	address as the failed one; without a verified token it is recorded
 *	nowhere (one log line says so).
 *
 *	Which failures suppress: a recipient is dead when it is hard, its
 *	status is the report's own (dsn.h status_reported), it matches
 *	`[milter] bounce_suppress_status` (default: 5.1.1, 5.1.2, 5.1.3,
 *	5.1.6, 5.1.10, 5.2.1: no such mailbox, domain or address, moved,
 *	disabled) and `[milter] bounce_suppress` is on.  Any other failure
 *	(5.7.1 policy, 5.2.2 full, 5.3.4 too big, a failure without a
 *	status) is recorded hard but suppresses nobody.
 *
 *	The record id derives from the report's own Message-ID (or, without
 *	one, its whole text): the same report handed over twice (an MTA's
 *	retry, a spool replay after a lost answer) writes its rows once.
 *
 *	The spool payload is a GVariant of type BOUNCE_VTYPE in normal form,
 *	spool record type BOUNCE_SPOOL_TYPE beside the messages' (record.h).
 */
#ifndef BEACON_BOUNCE_H
#define BEACON_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "cfg.h"
#include "msgctx.h"
#include "token.h"

struct milter_env;

#define BOUNCE_SPOOL_TYPE 'B'	/* spool record type of a bounce report */
#define BOUNCE_VTYPE "(sxssssba(sssbbs))"

/* bounce_rcpt - one bounced recipient */
struct bounce_rcpt {
	char *original;		/* Original-Recipient, one form, or "" */
	char *final;		/* Final-Recipient, one form, or "" */
	char *status;		/* "5.1.1" */
	int hard;		/* a permanent failure (class 5) */
	int dead;		/* the address is dead: suppress it (see above) */
	char *diagnostic;	/* the report's text for it */
};

/* bounce_record - one report's bounces */
struct bounce_record {
	char id[TOKEN_UUID_LEN + 1];	/* derived from the report (see above) */
	int64_t at;		/* when the milter saw it, microseconds since the epoch */
	char *queue_id;		/* the report's queue id */
	char *dsn_message_id;	/* the report's own Message-ID without <>, or "" */
	char *message_id;	/* the returned message's Message-ID, or "" */
	char *token_id;		/* uuid of a verified token in the returned message, or "" */
	int trusted;		/* from a trusted client (trust.h): found by Message-ID */
	GArray *rcpts;		/* struct bounce_rcpt */
};

/* bounce_candidate - may M be a report (null sender, or multipart/report)? */
int bounce_candidate(const struct msg_ctx *m);
/* bounce_message - parse M at end of message; 0 when it is a report (its bounces stored,
 * spooled or logged as lost), -1 when it is not */
int bounce_message(const struct milter_env *env, const struct msg_ctx *m);

/* bounce_record_new - an empty record */
struct bounce_record *bounce_record_new(void);
/* bounce_record_add - append a recipient (strings copied as valid UTF-8; NULL is "") */
void bounce_record_add(struct bounce_record *b, const char *original, const char *final,
		       const char *status, int hard, int dead, const char *diagnostic);
/* bounce_status_dead - does STATUS match one of the [milter] bounce_suppress_status
 * patterns PATS (shell-style, whole status)? */
int bounce_status_dead(const struct cfg_list *pats, const char *status);
/* bounce_record_free - release B */
void bounce_record_free(struct bounce_record *b);
/* bounce_record_encode - the spool payload */
GBytes *bounce_record_encode(const struct bounce_record *b);
/* bounce_record_decode - a record from a spool payload; NULL if it is not one */
struct bounce_record *bounce_record_decode(const void *data, size_t len);

#endif
