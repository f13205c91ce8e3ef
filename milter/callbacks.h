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
 *	A copy this milter made is recognised at end of headers (split.h):
 *	its body is skipped and at end of message only its copy header goes.
 *	Only the actions and steps used are negotiated (SMFIF_DELRCPT when
 *	the MTA offers it; without it tokens are shared); steps that need no
 *	answer are asked not to wait for one (SMFIP_NR_*), and the macros
 *	{i} and {auth_authen} are requested where they are needed.
 */
#ifndef BEACON_CALLBACKS_H
#define BEACON_CALLBACKS_H

#include <libmilter/mfapi.h>

#include "track.h"

/* callbacks_desc - the filter description for smfi_register */
extern struct smfiDesc callbacks_desc;

/* callbacks_init - set the environment and suppression list every callback uses;
 * TCP: tune the MTA sockets */
void callbacks_init(const struct milter_env *env, struct suppress *suppress, int tcp);
/* callbacks_sessions - MTA connections not yet closed */
int callbacks_sessions(void);

#endif
