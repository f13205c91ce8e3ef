/*
 * NAME
 *	track.h - the end-of-message decision: track this message or let it
 *	pass untouched, and what to change if it is tracked
 *
 * SYNOPSIS
 *	struct track_out out;
 *	track_message(&env, msg, client_ip, &out);
 *	... apply out.body, out.remove_tag, out.top_cte through libmilter ...
 *	track_out_clear(&out);
 *
 * DESCRIPTION
 *	track_message() works on a complete msg_ctx and touches nothing
 *	outside it but the store, so it can be tested without an MTA.  In
 *	order:
 *
 *	1. a DKIM-Signature, or a signed or encrypted top-level type, leaves
 *	   the message byte for byte as it is;
 *	2. "X-Beacon: no" leaves it untracked (the tag header is removed);
 *	3. the message is tracked when it has the tag header, when a
 *	   track_senders rule matches, or when an HTML part holds the
 *	   placeholder image; otherwise it is left alone ("no tag");
 *	4. signed/encrypted parts, inline PGP or MIME the parser cannot
 *	   locate leave it byte for byte as it is; no text/html part or no
 *	   recipient outside internal_domains leaves it untracked (the tag
 *	   header is removed);
 *	5. one token is made for the tracked recipients ("tracked" with one,
 *	   "shared" with several: the token's recipient id is the first
 *	   shared row's token_id, the other rows carry the same token text),
 *	   internal recipients get a row without token; every HTML part is
 *	   rewritten (pixel, click URLs numbered 1.. in document order, one
 *	   links row each); the rows are stored; only then is the new body
 *	   handed back.  If the store fails, on_db_error decides: untouched
 *	   (accept, or spool when even the spool failed) or temp-fail.
 *
 *	The struct is laid out so that a per-recipient split can call the
 *	rewrite once per recipient token: the parse (mime_doc) is separate
 *	from the rendering, and links are numbered the same in every render.
 */
#ifndef BEACON_TRACK_H
#define BEACON_TRACK_H

#include <glib.h>

#include "cfg.h"
#include "msgctx.h"
#include "store.h"
#include "token.h"

#define TRACK_MAX_LINKS 2000	/* links signed per message; later ones are kept as they are */

/* milter_env - what the decision needs besides the message */
struct milter_env {
	const struct beacon_cfg *cfg;	/* configuration */
	const struct token_keys *keys;	/* token keys */
	const char *placeholder_url;	/* placeholder_url or <base_url>/p.gif */
	struct store *store;		/* rows go here; NULL: not stored (tests) */
};

/* track_verdict - what the callbacks do */
enum track_verdict {
	TRACK_UNTOUCHED,	/* accept; at most remove the tag header */
	TRACK_REWRITTEN,	/* replace the body, remove the tag header */
	TRACK_TEMPFAIL,		/* on_db_error = tempfail and the store failed */
};

/* track_out - the decision and its changes */
struct track_out {
	enum track_verdict verdict;	/* what to do */
	char reason[160];		/* why untouched / temp-failed, for the log */
	int remove_tag;			/* delete every tag header */
	GByteArray *body;		/* the new body (TRACK_REWRITTEN) */
	char *top_cte;			/* new top-level Content-Transfer-Encoding, or NULL */
	int tracked;			/* recipients given the token */
	int internal;			/* recipients left without token */
	int links;			/* links turned into click URLs */
	int spooled;			/* the rows went to the spool */
	char msg_uuid[TOKEN_UUID_LEN + 1];	/* beacon.messages.id */
};

/* track_message - decide about M and compute its changes into OUT */
void track_message(const struct milter_env *env, const struct msg_ctx *m,
		   const char *client_ip, struct track_out *out);
/* track_out_clear - free what track_message put in OUT */
void track_out_clear(struct track_out *out);
/* track_pixel_url - "<base_url>/o/<token>.gif", g_free'd by the caller */
char *track_pixel_url(const char *base_url, const char *token);

#endif
