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
 *	track_message() decided: replace the body in chunks of at most
 *	64 KB, delete the tag header, change the top-level
 *	Content-Transfer-Encoding when a part had to become
 *	quoted-printable.  Each message ends in one log line that starts
 *	with the queue id:
 *
 *	    QUEUEID: tracked: 2 recipients (shared), 5 links, message UUID
 *	    QUEUEID: untouched: no tag
 *
 *	Only the actions and steps used are negotiated; steps that need no
 *	answer are asked not to wait for one (SMFIP_NR_*), and the macros
 *	{i} and {auth_authen} are requested where they are needed.
 */
#ifndef BEACON_CALLBACKS_H
#define BEACON_CALLBACKS_H

#include <libmilter/mfapi.h>

#include "track.h"

/* callbacks_desc - the filter description for smfi_register */
extern struct smfiDesc callbacks_desc;

/* callbacks_init - set the environment every callback uses; TCP: tune the MTA sockets */
void callbacks_init(const struct milter_env *env, int tcp);
/* callbacks_sessions - MTA connections not yet closed */
int callbacks_sessions(void);

#endif
