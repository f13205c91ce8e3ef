/*
 * NAME
 *	inbound.h - record mail received for the tracked inbound addresses,
 *	and replies to tracked messages
 *
 * SYNOPSIS
 *	inbound_head(env, msg);		(end of headers)
 *	if (msg->inbound) ... read the body ...
 *	inbound_message(env, msg, reply);	(end of message only)
 *
 * DESCRIPTION
 *	With [milter] inbound = yes, end of headers looks up each accepted
 *	envelope recipient, in its one form, in the tracked inbound
 *	addresses (inbound_set.h, in memory) and notes those found in
 *	msg->inbound; a message with In-Reply-To or References is a
 *	possible reply (msg->maybe_reply).  A message with tracked
 *	recipients has its body read even when nothing else needs it.
 *
 *	inbound_message() then writes, through the store (store.h: the
 *	database, else the spool, under the same rules as bounces):
 *
 *	- for a message with tracked recipients, one call of
 *	  beacon.inbound_mail() with those addresses, the message's
 *	  Message-ID (a forward as attachment: the forwarded one's), size
 *	  and queue id and its original sender (forward.h: the forwarded
 *	  message's From, Reply-To, List-Id and domain when it is a forward
 *	  from a known forwarder, see inbound_forwarder(), else its own;
 *	  without a From, the envelope sender's domain) and its own Subject,
 *	  decoded; Subject and List-Id cut to INBOUND_TEXT_MAX characters.
 *	  The database
 *	  adds a row per active address, with the source its rules give;
 *	  the same Message-ID to the same address counts once;
 *	- when REPLY is set (the caller's: not for a message this milter
 *	  tracked) and the message is no automatic answer
 *	  (inbound_automatic()), one call of
 *	  beacon.reply() with the Message-IDs of In-Reply-To then
 *	  References, newest first, without <>, at most REPLY_MAX_REFS, and
 *	  its From address and envelope sender in their one form, and its
 *	  Message-ID ("" without one: the database uses the queue id).  The
 *	  database finds the tracked messages they name and the recipient
 *	  among the senders.
 *
 *	Nothing about the message changes on this path and nothing fails
 *	it: a record the store cannot keep is logged as lost.  Each record
 *	ends in one log line after the queue id.
 */
#ifndef BEACON_INBOUND_H
#define BEACON_INBOUND_H

#include "inbound_record.h"
#include "msgctx.h"

struct milter_env;

/* inbound_head - at end of headers, note M's tracked recipients (M->inbound) and whether it
 * may be a reply (M->maybe_reply); nothing when [milter] inbound is off */
void inbound_head(const struct milter_env *env, struct msg_ctx *m);
/* inbound_message - record M's inbound rows (when it has tracked recipients) and, with
 * REPLY, its reply rows (when it may be one) */
void inbound_message(const struct milter_env *env, const struct msg_ctx *m, int reply);
/* inbound_pending - has M something for inbound_message() with REPLY set (tracked
 * recipients, or a reply's headers)?  Such a message is recorded at end of message only */
int inbound_pending(const struct milter_env *env, const struct msg_ctx *m);

/* The records, without the store (the unit tests call them): */

#define INBOUND_TEXT_MAX 998	/* characters of a Subject or List-Id kept */
#define INBOUND_ID_MAX 250	/* octets of a Message-ID: a longer one counts as none */
#define INBOUND_TEXT_KEEP (256u << 10)	/* octets kept of a message read only to record it */

struct beacon_cfg;

/* inbound_record_of - M's inbound record (M->inbound the addresses; FROM its From address in
 * its one form, or NULL), or NULL when M has no tracked recipient */
struct inbound_record *inbound_record_of(const struct beacon_cfg *cfg, const struct msg_ctx *m,
					 const char *from);
/* inbound_reply_of - M's reply record (FROM as above), or NULL when M names no Message-ID it
 * answers or is an automatic answer */
struct reply_record *inbound_reply_of(const struct msg_ctx *m, const char *from);
/* inbound_forwarder - 1 when M's sender (From address FROM, else the envelope sender) may
 * name a lead's original sender, else 0 */
int inbound_forwarder(const struct beacon_cfg *cfg, const struct msg_ctx *m, const char *from);
/* inbound_automatic - why M is an automatic answer (the header, static), or NULL */
const char *inbound_automatic(const struct msg_ctx *m);

#endif
