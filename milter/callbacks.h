/*
 * NAME
 *	callbacks.h - the libmilter side of beacon-milter
 *
 * SYNOPSIS
 *	callbacks_init(&env);
 *	smfi_register(callbacks_desc);
 *
 * DESCRIPTION
 *	The xxfi_* callbacks collect the envelope, headers and body into the
 *	per-message context (msgctx.h) and, at end of message, apply what
 *	track_message_with() decided: remove the recipients that got a copy
 *	(first: once copies left, nothing matters more), replace the body in
 *	chunks of at most 64 KB, change the top-level
 *	Content-Transfer-Encoding when a part had to become
 *	quoted-printable, apply the other header edits (the HTML twin's
 *	Content-Type, copy headers removed) and delete the tag header.
 *	Between copies the MTA is told the milter is still busy
 *	(smfi_progress).  Once copies left, a change the MTA refuses is
 *	logged but never turned into a temp-fail, which would send the
 *	copies again.  Each message ends in one log line that starts with
 *	the queue id:
 *
 *	    QUEUEID: tracked: 5 recipients (split: 4 copies), 5 links, message UUID
 *	    QUEUEID: untouched: no tag
 *
 *	With [milter] bounces on, a message that may be a delivery status
 *	notification (bounce.h: null sender or multipart/report) has its body
 *	read; at end of message a report is recorded and accepted as it is,
 *	anything else goes through the usual decision.
 *
 *	With [milter] inbound on, end of headers notes the recipients that
 *	are tracked inbound addresses (inbound.h); such a message has its
 *	body read even when the header check would pass it (then end of
 *	message only records it).  Every message is recorded at end of
 *	message, unless it was temp-failed or is a copy this milter made
 *	(an aborted one is not): its inbound rows and, unless the milter
 *	tracked it, its reply rows.  A message the header check or the
 *	size limit passes early that may be a reply is not accepted then:
 *	its body is skipped (SMFIS_SKIP when the MTA allows it, else not
 *	kept) and it is recorded and accepted at end of message.  Nothing
 *	is changed for that.
 *
 *	End of headers runs the header check of end of message
 *	(track_head_check): a message it leaves untouched is accepted at
 *	once (with nothing to record); a copy this milter made (split.h) or a tag header saying no
 *	has its body skipped, and at end of message only its copy header or
 *	tag header goes.  Every reply that ends a message comes from the
 *	failure policy (policy.h): nothing failed, the store or re-injection
 *	failed (as track_message_with() reports), or the MTA refused a
 *	change.
 *	Only the actions and steps used are negotiated (SMFIF_DELRCPT when
 *	the MTA offers it; without it tokens are shared); steps that need no
 *	answer are asked not to wait for one (SMFIP_NR_*), and the macros
 *	{i} and {auth_authen} are requested where they are needed.
 */
#ifndef BEACON_CALLBACKS_H
#define BEACON_CALLBACKS_H

#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "track.h"

/* callbacks_desc - the filter description for smfi_register */
extern struct smfiDesc callbacks_desc;

/* callbacks_init - set the environment and suppression list every callback uses;
 * TCP: tune the MTA sockets */
void callbacks_init(const struct milter_env *env, struct suppress *suppress, int tcp);
/* callbacks_sessions - MTA connections not yet closed */
int callbacks_sessions(void);

/* The steps of the callbacks that need no MTA (the unit tests call them): */

/* callbacks_agree - the actions *PF0 and steps *PF1 to ask for, out of the MTA's F0 and F1,
 * noted in C; -1 when the MTA does not allow body and header changes */
int callbacks_agree(struct conn_ctx *c, unsigned long f0, unsigned long f1, unsigned long *pf0,
		    unsigned long *pf1);
/* callbacks_via_reinject - is DAEMON_NAME the reinject_daemon_name of ENV's config? */
int callbacks_via_reinject(const struct milter_env *env, const char *daemon_name);
/* callbacks_client_ip - the text form of an IPv4 or IPv6 SA (g_free), else NULL */
char *callbacks_client_ip(const struct sockaddr *sa);
/* callbacks_trust - decide with env->trust whether M (of connection C) may ask for tracking:
 * sets M->trusted and M->trust_why */
void callbacks_trust(const struct milter_env *env, const struct conn_ctx *c, struct msg_ctx *m);
/* callbacks_end_headers - end of headers of M: 0 to read on (M->skip_body set when the body
 * is not needed), or -1 with *WHY: accept M untouched now */
int callbacks_end_headers(const struct milter_env *env, struct msg_ctx *m, const char **why);
/* callbacks_pass - the early pass of C's message for WHY: accepted and forgotten now, or,
 * when it has something to record (inbound_pending()), SMFIS_CONTINUE with its body skipped
 * and M->record_only set, to be recorded by callbacks_record_only() at end of message */
sfsistat callbacks_pass(const struct milter_env *env, struct conn_ctx *c, const char *why);
/* callbacks_record_only - at end of message: record and forget C's message passed by
 * callbacks_pass() and answer 1, or 0 for any other */
int callbacks_record_only(const struct milter_env *env, struct conn_ctx *c);
/* callbacks_outcome - log how M ended and return the reply: OUT as track_message_with()
 * decided, APPLIED 0 when the MTA took every change (or none was tried), -1 when it refused one */
sfsistat callbacks_outcome(const struct milter_env *env, const struct msg_ctx *m,
			   const struct track_out *out, int applied);

#endif
