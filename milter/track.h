/*
 * NAME
 *	track.h - the end-of-message decision: track this message or let it
 *	pass untouched, and what to change if it is tracked
 *
 * SYNOPSIS
 *	struct track_out out;
 *	track_message(&env, msg, client_ip, &out);
 *	... apply out.body, out.remove_tag, out.top_cte, out.edits and
 *	    out.delrcpts through libmilter ...
 *	track_out_clear(&out);
 *
 * DESCRIPTION
 *	track_message() works on a complete msg_ctx and touches nothing
 *	outside it but the store, so it can be tested without an MTA.  In
 *	order:
 *
 *	0. the header check, track_head_check(), which end of headers runs
 *	   too (to pass a message early or skip its body): more than
 *	   TRACK_MAX_TAG_HEADERS tag and copy headers together leave the
 *	   message byte for byte as it is (nothing removed); a verified copy
 *	   (see below); a submission that may not ask for tracking
 *	   (m->trusted unset, see trust.h) only loses its tag headers, and
 *	   neither its tag, its placeholder nor track_senders count; a
 *	   message over max_message_size passes untouched;
 *	1. a DKIM-Signature, or a signed or encrypted top-level type, leaves
 *	   the message byte for byte as it is;
 *	2. "X-Beacon: no" leaves it untracked (the tag header is removed);
 *	3. the message is tracked when it has the tag header, when a
 *	   track_senders rule matches, or when an HTML part holds the
 *	   placeholder image; otherwise it is left alone ("no tag");
 *	4. signed/encrypted parts, inline PGP or MIME the parser cannot
 *	   locate leave it byte for byte as it is; no text/html part (and no
 *	   HTML twin, see 5) leaves it untracked (the tag header is removed);
 *	5. recipients are sorted: internal (internal_domains), suppressed
 *	   (the suppression list, looked up once), tracked (the rest); a
 *	   recipient given twice counts once.  No tracked recipient leaves
 *	   the message untracked (the tag header is removed).  A text-only
 *	   message gets an HTML twin first when plain_to_html is on
 *	   (plain2html.h);
 *	6. the tokens are made and the HTML rewritten once per token (pixel,
 *	   click URLs numbered 1.. in document order, the same in every
 *	   rendering, one links row each; with clicks on, one hidden link
 *	   per HTML part numbered 0, to base_url, without a links row: see
 *	   html_rewrite.h):
 *	   - per_recipient = split, several tracked recipients, or tracked
 *	     and excluded ones together: each tracked recipient gets a token.
 *	     The first one stays on the original, which is rewritten for him;
 *	     the others get copies handed to `reinject` (one SMTP session)
 *	     and are removed from the original.  When there are excluded
 *	     recipients the original stays untouched for them and every
 *	     tracked recipient gets a copy.
 *	   - per_recipient = shared: one token for every tracked recipient
 *	     (status shared; the token's recipient id is the first row's
 *	     token_id); with excluded recipients the tracked ones get one
 *	     copy together and the original stays untouched for the others.
 *	   Failure rules: when the first copy cannot be handed over the
 *	   message is temp-failed (nothing was sent).  When a later one
 *	   cannot, no further copy is tried: the recipients left stay on the
 *	   original and share its token (or, when the original stays
 *	   untouched for excluded recipients, are delivered untracked).
 *	   Never a duplicate, never a loss.
 *	7. the rows are stored (database or spool) BEFORE any copy leaves;
 *	   if they cannot be, the failure policy decides (policy.h,
 *	   POLICY_ROWS_LOST): untouched or temp-fail, and no copy leaves.
 *	   With copies to make and the database known to be down, the policy
 *	   for POLICY_DB_DOWN applies first.  When a later copy fails, the
 *	   rows are written again with the recipients left on the original.
 *	   Every failure that sets the verdict is named in `cause`.
 *
 *	The message id, the tokens and the row ids derive from a keyed
 *	digest of the message (sender, headers but Received and the copy
 *	header, body): the same message sent again (a retry after a
 *	temp-fail or a crash) gets the same ones, and its rows are written
 *	over, not doubled.  Each copy handed over is remembered in the copy
 *	log (copylog.h, env->copies) under an id derived the same way; a copy
 *	found there is not sent again (a warning names its recipients) and
 *	its recipients are removed from the original as if it had just been
 *	sent (out.resent).  This holds only for a message a retry repeats:
 *	one with exactly one Message-ID that does not hold the queue id (the
 *	MTA adds one per attempt when the client sent none).  Any other
 *	message gets random ids and the copy log is neither read nor written
 *	for it: a retry may send its copies again (logged at info as "not
 *	retry-safe"), but never drops a recipient.
 *
 *	A message that came in on the reinject listener (msg->via_reinject:
 *	{daemon_name} is reinject_daemon_name) with exactly one copy header
 *	that verifies (split.h) is a copy the milter made: it passes
 *	untouched but for that header (TRACK_COPY).  Any other copy header
 *	(another connection, several, not verifying) is logged, removed
 *	(out.remove_copy) and the message treated like any other.
 */
#ifndef BEACON_TRACK_H
#define BEACON_TRACK_H

#include <time.h>

#include <glib.h>

#include "cfg.h"
#include "copylog.h"
#include "inbound_set.h"
#include "msgctx.h"
#include "policy.h"
#include "split.h"
#include "store.h"
#include "suppress.h"
#include "tagging.h"
#include "token.h"
#include "trust.h"

#define TRACK_MAX_LINKS 2000	/* links signed per message; later ones are kept as they are */
#define TRACK_MAX_TAG_HEADERS 20	/* tag + copy headers removed at most; more: untouched */

/* milter_env - what the decision needs besides the message */
struct milter_env {
	const struct beacon_cfg *cfg;	/* configuration */
	const struct token_keys *keys;	/* token keys */
	const char *placeholder_url;	/* placeholder_url or <base_url>/p.gif */
	struct store *store;		/* rows go here; NULL: not stored (tests) */
	const struct trust *trust;	/* who may ask for tracking; NULL: SASL logins only */
	struct copylog *copies;		/* copies already sent; NULL: not remembered (tests) */
	struct inbound_set *inbound;	/* tracked inbound addresses ([milter] inbound); NULL: none */
};

/* track_opts - what the caller adds for one message */
struct track_opts {
	int can_delrcpt;		/* recipients may be removed: a split is possible */
	struct suppress *suppress;	/* the suppression list; NULL: none */
	void (*progress)(void *arg);	/* tell the MTA the milter is still busy, or NULL */
	void *arg;			/* its argument */
	const char *client_name;	/* the client's host name as the MTA gave it, or NULL */
	time_t now;			/* the clock for download expiries; 0: time(NULL) */
};

/* track_verdict - what the callbacks do */
enum track_verdict {
	TRACK_UNTOUCHED,	/* accept; at most remove the tag header */
	TRACK_REWRITTEN,	/* replace the body, remove the tag header */
	TRACK_TEMPFAIL,		/* the failure policy says so (see cause) */
	TRACK_COPY,		/* a verified copy: remove its copy header, accept */
};

/* track_out - the decision and its changes */
struct track_out {
	enum track_verdict verdict;	/* what to do */
	char reason[256];		/* why untouched / temp-failed, for the log */
	enum policy_cause cause;	/* the failure that decided the verdict, or POLICY_NONE */
	int remove_tag;			/* delete every tag header */
	GByteArray *body;		/* the new body (TRACK_REWRITTEN) */
	char *top_cte;			/* new top-level Content-Transfer-Encoding, or NULL */
	GPtrArray *edits;		/* struct split_edit: other top-level header changes, or NULL */
	GPtrArray *delrcpts;		/* char *: recipients to remove ("<addr>"), or NULL */
	int tracked;			/* recipients given a token */
	int internal;			/* recipients in internal_domains */
	int suppressed;			/* recipients on the suppression list */
	int copies;			/* copies handed to reinject (or sent before: resent) */
	int resent;			/* copies a previous try of this message already sent */
	int fallback;			/* a copy failed: the recipients left stay on the original */
	int remove_copy;		/* delete every copy header (not a copy this milter made) */
	int links;			/* links turned into click URLs */
	int spooled;			/* the rows went to the spool */
	int dropped;			/* recipients removed: they unsubscribed from the sender */
	int discard;			/* no recipient is left on the original: discard it */
	char mode[96];			/* how the tokens went: "tracked", "shared", "split: 4 copies" */
	char msg_uuid[TOKEN_UUID_LEN + 1];	/* beacon.messages.id (of the original, TRACK_COPY) */
};

/* track_head_verdict - what the headers alone decide */
enum track_head_verdict {
	TRACK_HEAD_BODY,	/* nothing yet: the body decides */
	TRACK_HEAD_COPY,	/* a verified copy this milter made */
	TRACK_HEAD_UNTOUCHED,	/* oversize, DKIM-signed, signed or encrypted: byte for byte */
	TRACK_HEAD_NO,		/* the tag header says no: untracked, the tag header removed */
	TRACK_HEAD_UNTRUSTED,	/* not a trusted submission (trust.h): only the tag headers go */
};

/* track_forged - why a copy header is not trusted */
enum track_forged {
	TRACK_FORGED_NONE,	/* no copy header, or a trusted one */
	TRACK_FORGED_MAC,	/* it does not verify for the message's recipients */
	TRACK_FORGED_CONN,	/* it did not come from the reinject listener */
	TRACK_FORGED_MANY,	/* more than one copy header */
};

/* track_head - the result of the header check */
struct track_head {
	enum track_head_verdict verdict;	/* what the headers decide */
	const char *why;		/* TRACK_HEAD_UNTOUCHED: the reason (static) */
	char *copy_of;			/* TRACK_HEAD_COPY: the original's message UUID */
	int forged;			/* a copy header that is not trusted (enum track_forged) */
	struct xbeacon xb;		/* the tag header, parsed (empty for a copy) */
};

/* track_head_check - what M's headers decide, at end of headers (after msg_end_headers)
 * and again at end of message */
void track_head_check(const struct milter_env *env, const struct msg_ctx *m,
		      struct track_head *h);
/* track_head_clear - free what track_head_check put in H */
void track_head_clear(struct track_head *h);

/* track_message - decide about M and compute its changes into OUT (split allowed, no
 * suppression list, no progress reports) */
void track_message(const struct milter_env *env, const struct msg_ctx *m,
		   const char *client_ip, struct track_out *out);
/* track_message_with - the same with OPTS (NULL: as track_message) */
void track_message_with(const struct milter_env *env, const struct msg_ctx *m,
			const char *client_ip, const struct track_opts *opts,
			struct track_out *out);
/* track_out_clear - free what track_message put in OUT */
void track_out_clear(struct track_out *out);
/* track_pixel_url - "<base_url>/o/<token>.gif", g_free'd by the caller */
char *track_pixel_url(const char *base_url, const char *token);

#endif
