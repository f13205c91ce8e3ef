/*
 * NAME
 *	track.c - decide at end of message, make the tokens, rewrite,
 *	hand over the copies, store
 *
 * DESCRIPTION
 *	See track.h for the order of the rules.  Every way out that leaves
 *	the message alone fills out->reason; the callbacks log it after the
 *	queue id.  Every failure goes through track_policy(), which asks the
 *	failure policy (policy.h) and names the cause in out->cause.  Copies
 *	are rendered one at a time and freed once handed over, so a split
 *	holds at most two renderings at once.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "attach.h"
#include "attach_store.h"
#include "clock.h"
#include "copylog.h"

#include "log.h"
#include "mime_rewrite.h"
#include "plain2html.h"
#include "record.h"
#include "reinject.h"
#include "tagging.h"
#include "thread.h"
#include "track.h"

/* track_role - what a recipient is */
enum track_role {
	ROLE_TRACK,		/* gets a token */
	ROLE_INTERNAL,		/* internal_domains: untouched, no token */
	ROLE_SUPPRESSED,	/* on the suppression list: untouched, no token */
	ROLE_DUP,		/* the same address again: follows its first occurrence */
};

/* track_rcpt - one envelope recipient and its fate */
struct track_rcpt {
	const struct msg_rcpt *r;	/* the envelope recipient */
	enum track_role role;		/* what it is */
	int token;			/* index of its token, -1 none */
	int planned;			/* the token it was given first (before a fallback), -1 none */
	int copied;			/* it went in a copy: remove it from the original */
};

/* track_token - one token */
struct track_token {
	uint8_t rid[TOKEN_RID_LEN];	/* its recipient id */
	char str[TOKEN_STR_LEN + 1];	/* the token */
	int holders;			/* recipients holding it in the end */
	int named;			/* a row already carries rid as its token_id */
};

/* track_links - state of the link callback for one rendering */
struct track_links {
	const struct milter_env *env;	/* keys and base_url */
	const char *token;		/* the token links are signed for */
	struct msg_record *rec;		/* links rows go here; NULL: not recorded again */
	int n;				/* links signed so far */
};

/* track_run - one tracked message being worked on */
struct track_run {
	const struct milter_env *env;	/* the environment */
	const struct msg_ctx *m;	/* the message */
	struct mime_doc *doc;		/* its parse (of the HTML twin's text, with plain_to_html) */
	struct suppress *suppress;	/* the suppression list, or NULL */
	const struct track_opts *opts;	/* the caller's options */
	const char *client_ip;		/* the client's address, or NULL */
	struct html_rewrite_opts o;	/* rendering options but pixel and links */
	struct msg_record *rec;		/* the rows */
	struct track_rcpt *rc;		/* per envelope recipient */
	guint nrc;			/* how many */
	struct track_token *tok;	/* the tokens */
	int ntok;			/* how many */
	int links;			/* links signed in one rendering */
	int rendered;			/* links were recorded */
	uint8_t seed[crypto_generichash_BYTES];	/* keyed digest of the message: ids derive from it */
	int seeded;			/* seed is set (else ids are random) */
	const char *unsafe;		/* why a retry would not repeat the message, or NULL */
	int unsub;			/* add one-click List-Unsubscribe to one-recipient copies */
	int link_atts;			/* attachments = link for this message */
	uint64_t expiry;		/* when its download links stop working (unix seconds) */
	struct attach_undo *undo;	/* the manifests written, until the message is sent */
	char *added_mid;		/* the Message-ID the milter added, without <>, or NULL */
};

/* track_untouched - leave the message as it is, for REASON */
static void track_untouched(struct track_out *out, const char *reason, int remove_tag)
{
	out->verdict = TRACK_UNTOUCHED;
	out->remove_tag = remove_tag;
	g_strlcpy(out->reason, reason, sizeof(out->reason));
}

/* track_retry_safe - would a retry of M repeat it byte for byte?  Only when it has exactly one
 * Message-ID and the client evidently wrote it: the MTA adds one per attempt when the client
 * sent none (Postfix cleanup: "<date.QUEUEID@host>"), so a Message-ID holding the current
 * queue id is taken for the MTA's.  NULL when safe, else why not (static). */
static const char *track_retry_safe(const struct msg_ctx *m)
{
	int n = msg_header_count(m, "Message-ID");

	if (n == 0)
		return "no Message-ID";
	if (n > 1)
		return "several Message-ID headers";
	if (!m->queue_id || !*m->queue_id)
		return "no queue id from the MTA";
	if (strstr(msg_header_get(m, "Message-ID"), m->queue_id))
		return "Message-ID added by the MTA (it holds the queue id)";
	return NULL;
}

/* track_seed - the keyed digest of what a retry or a re-submission of the message repeats:
 * envelope sender, every header but the trace headers the MTA adds (Received, with the
 * queue id in it) and the copy header, and the body.  Every id of the message derives from
 * it, so the same message gets the same message id, tokens and copy ids again.  A message
 * a retry would not repeat (track_retry_safe) is not seeded: its ids are random. */
static void track_seed(struct track_run *t)
{
	char *copy;
	crypto_generichash_state st;
	uint8_t d[crypto_generichash_BYTES];
	char sig[TOKEN_SIG_STR_LEN + 1];
	const unsigned char *body;
	size_t blen;

	if ((t->unsafe = track_retry_safe(t->m)) != NULL)
		return;
	copy = split_copy_header_name(t->env->cfg->milter.tag_header);
	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	crypto_generichash_update(&st, (const unsigned char *)t->m->sender, strlen(t->m->sender) + 1);
	for (guint i = 0; i < t->m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(t->m->headers, i);
		if (g_ascii_strcasecmp(h->name, "Received") == 0 ||
		    g_ascii_strcasecmp(h->name, copy) == 0)
			continue;
		crypto_generichash_update(&st, (const unsigned char *)h->name, strlen(h->name) + 1);
		crypto_generichash_update(&st, (const unsigned char *)h->value, strlen(h->value) + 1);
	}
	body = msg_body(t->m, &blen);
	if (body)
		crypto_generichash_update(&st, body, blen);
	crypto_generichash_final(&st, d, sizeof(d));
	g_free(copy);
	/* keyed: nobody without the secret can tell or choose the ids */
	if (token_sign(t->env->keys, 'f', d, sizeof(d), sig) < 0)
		return;
	crypto_generichash(t->seed, sizeof(t->seed), (const unsigned char *)sig, strlen(sig), NULL, 0);
	t->seeded = 1;
}

/* track_derive - the id for LABEL and ADDR (lower-cased) of this message; random unseeded */
static void track_derive(const struct track_run *t, const char *label, const char *addr,
			 uint8_t out[TOKEN_RID_LEN])
{
	crypto_generichash_state st;
	char *low;

	if (!t->seeded) {
		token_new_rid(out);
		return;
	}
	low = g_ascii_strdown(addr ? addr : "", -1);
	crypto_generichash_init(&st, t->seed, sizeof(t->seed), TOKEN_RID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)label, strlen(label) + 1);
	crypto_generichash_update(&st, (const unsigned char *)low, strlen(low) + 1);
	crypto_generichash_final(&st, out, TOKEN_RID_LEN);
	g_free(low);
}

/* track_derive_uuid - track_derive as a uuid */
static void track_derive_uuid(const struct track_run *t, const char *label, const char *addr,
			      char out[TOKEN_UUID_LEN + 1])
{
	uint8_t rid[TOKEN_RID_LEN];

	track_derive(t, label, addr, rid);
	token_rid_uuid(rid, out);
}

/* track_policy - the failure policy for CAUSE sets the verdict (DETAIL, if any, follows the
 * reason); the action, which for POLICY_SPOOL and POLICY_CONTINUE leaves OUT alone */
static enum policy_action track_policy(const struct milter_env *env, struct track_out *out,
				       enum policy_cause cause, const char *detail)
{
	struct policy p = policy_decide(env->cfg, cause, out->copies);

	if (p.action != POLICY_TEMPFAIL && p.action != POLICY_UNTRACKED)
		return p.action;
	out->verdict = p.action == POLICY_TEMPFAIL ? TRACK_TEMPFAIL : TRACK_UNTOUCHED;
	if (p.action == POLICY_UNTRACKED)
		out->remove_tag = 1;
	out->cause = cause;
	snprintf(out->reason, sizeof(out->reason), "%s%s%.200s", p.reason, detail ? ": " : "",
		 detail ? detail : "");
	return p.action;
}

/* track_link - html_link_fn: number the link, record it once, append its click URL */
static int track_link(void *arg, const char *url, GString *out)
{
	struct track_links *l = arg;
	char *cu;

	if (l->n >= TRACK_MAX_LINKS)
		return 0;
	cu = clickurl_make(l->env->keys, l->env->cfg->global.base_url, l->token,
			   (unsigned)(l->n + 1), url);
	if (!cu)
		return -1;
	l->n++;
	if (l->rec)
		record_add_link(l->rec, l->n, url);
	g_string_append(out, cu);
	free(cu);
	return 1;
}

/* track_pixel_url - the recipient's open pixel */
char *track_pixel_url(const char *base_url, const char *token)
{
	size_t l = strlen(base_url);

	while (l > 0 && base_url[l - 1] == '/')
		l--;
	return g_strdup_printf("%.*s/o/%s.gif", (int)l, base_url, token);
}

/* track_maybe_html - could the message hold HTML at all ("text/html" anywhere)? */
static int track_maybe_html(const struct msg_ctx *m)
{
	const guint8 *p, *end;

	if (!m->text)
		return 0;
	p = m->text->data;
	end = p + m->text->len;
	while (p + 9 <= end && (p = memchr(p, '/', (size_t)(end - p) - 4)) != NULL) {
		if (p >= m->text->data + 4 && g_ascii_strncasecmp((const char *)p - 4, "text/html", 9) == 0)
			return 1;
		p++;
	}
	return 0;
}

/* track_honeypot_url - the hidden link of TOKEN: link number 0 (track_link numbers from
 * 1), its target the pixel server's own base URL; malloc'd, NULL if it cannot be signed */
static char *track_honeypot_url(const struct milter_env *env, const char *token)
{
	const char *base = env->cfg->global.base_url;

	return clickurl_make(env->keys, base, token, 0, base);
}

/* track_render - the body for token TI; the first rendering records the links.  With
 * clicks on, each HTML part also gets the hidden link (no links row: it is no link of
 * the message) */
static int track_render(struct track_run *t, int ti, struct mime_render *r, char *why,
			size_t whylen)
{
	struct track_links links = { t->env, t->tok[ti].str, t->rendered ? NULL : t->rec, 0 };
	struct html_rewrite_opts o = t->o;
	char *pixel = track_pixel_url(t->env->cfg->global.base_url, t->tok[ti].str);
	char *honeypot = NULL, *dl_html = NULL, *dl_text = NULL;
	int rc;

	if (o.clicks && !(honeypot = track_honeypot_url(t->env, t->tok[ti].str))) {
		snprintf(why, whylen, "hidden link not signed");
		g_free(pixel);
		return -1;
	}
	o.pixel_url = pixel;
	o.honeypot_url = honeypot;
	o.link = track_link;
	o.link_arg = &links;
	if (t->doc->ntaken > 0) {
		const char *base = t->env->cfg->global.base_url;
		dl_html = attach_html(t->doc, t->env->keys, base, t->tok[ti].str, t->expiry);
		dl_text = attach_text(t->doc, t->env->keys, base, t->tok[ti].str, t->expiry);
		if (!dl_html || !dl_text) {
			snprintf(why, whylen, "download links not signed");
			rc = -1;
			goto out;
		}
		o.download_html = dl_html;
		o.download_text = dl_text;
	}
	rc = mime_doc_render(t->doc, &o, r, why, whylen);
out:
	g_free(dl_html);
	g_free(dl_text);
	g_free(pixel);
	free(honeypot);
	if (rc == 0 && !t->rendered) {
		t->rendered = 1;
		t->links = links.n;
	}
	return rc;
}

/* track_classify - the role of every recipient; the number of tracked ones */
static int track_classify(struct track_run *t, struct track_out *out)
{
	const struct beacon_cfg *cfg = t->env->cfg;
	struct suppress_list *sl = suppress_get(t->suppress);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int ntracked = 0;

	t->nrc = t->m->rcpts->len;
	t->rc = g_new0(struct track_rcpt, t->nrc ? t->nrc : 1);
	for (guint i = 0; i < t->nrc; i++) {
		struct track_rcpt *x = &t->rc[i];
		char *low;

		x->r = g_ptr_array_index(t->m->rcpts, i);
		x->token = -1;
		x->planned = -1;
		low = g_strdup(x->r->stored);
		if (!g_hash_table_add(seen, low)) {
			x->role = ROLE_DUP;
			continue;
		}
		if (!x->r->key) {	/* no one form: no rule can be checked, never tracked */
			log_warnx("%s: recipient %u: %s: left untracked, counted as suppressed",
				  msg_qid(t->m), i + 1, x->r->key_why);
			x->role = ROLE_SUPPRESSED;
			out->suppressed++;
		} else if (tagging_is_internal(&cfg->milter.internal_domains, x->r->key)) {
			x->role = ROLE_INTERNAL;
			out->internal++;
		} else if (suppress_list_has_from(sl, x->r->key, t->m->sender)) {
			x->role = ROLE_SUPPRESSED;
			out->suppressed++;
		} else {
			x->role = ROLE_TRACK;
			ntracked++;
		}
	}
	g_hash_table_destroy(seen);
	suppress_list_unref(sl);
	return ntracked;
}

/* track_new_token - one more token, derived from the message and ADDR (NULL: the shared
 * token); its index, or -1 without a signing key */
static int track_new_token(struct track_run *t, const char *addr)
{
	struct track_token *k = &t->tok[t->ntok];

	track_derive(t, addr ? "token" : "shared", addr, k->rid);
	if (token_make(t->env->keys, k->rid, k->str) < 0)
		return -1;
	return t->ntok++;
}

/* track_rows - message fields and one recipient row per distinct address */
static void track_rows(struct track_run *t, const char *client_ip, const struct xbeacon *xb)
{
	struct msg_record *rec = t->rec;
	char uuid[TOKEN_UUID_LEN + 1], *root;

	for (int i = 0; i < t->ntok; i++)
		t->tok[i].holders = t->tok[i].named = 0;
	for (guint i = 0; i < t->nrc; i++)
		if (t->rc[i].role == ROLE_TRACK && t->rc[i].token >= 0)
			t->tok[t->rc[i].token].holders++;
	for (guint i = 0; i < t->nrc; i++) {
		const struct track_rcpt *x = &t->rc[i];
		const char *name = g_hash_table_lookup(t->doc->names, x->r->stored);
		struct track_token *k;

		if (x->role == ROLE_INTERNAL || x->role == ROLE_SUPPRESSED) {
			track_derive_uuid(t, "row", x->r->stored, uuid);
			record_add_rcpt(rec, uuid, x->r->stored,
					x->role == ROLE_INTERNAL ? "internal" : "suppressed", 0, "", name);
			continue;
		}
		if (x->role != ROLE_TRACK || x->token < 0)
			continue;
		k = &t->tok[x->token];
		if (!k->named)
			token_rid_uuid(k->rid, uuid);
		else if (x->planned >= 0 && x->planned != x->token)
			/* fell back to the original's token: the row written before the copies */
			token_rid_uuid(t->tok[x->planned].rid, uuid);
		else
			track_derive_uuid(t, "row", x->r->stored, uuid);
		k->named = 1;
		record_add_rcpt(rec, uuid, x->r->stored, k->holders == 1 ? "tracked" : "shared",
				token_keys_current(t->env->keys), k->str, name);
	}
	record_set(&rec->queue_id, t->m->queue_id);
	record_set(&rec->sender, t->m->sender);
	record_set(&rec->sasl_login, t->m->sasl_login);
	record_set(&rec->subject, t->doc->subject);
	record_set(&rec->message_id, t->added_mid ? t->added_mid : t->doc->message_id);
	record_set(&rec->campaign, xb->campaign);
	root = thread_root(msg_header_get(t->m, "References"), msg_header_get(t->m, "In-Reply-To"));
	record_set(&rec->thread_root, root);
	g_free(root);
	record_set(&rec->client_ip, client_ip);
	rec->clicks = t->o.clicks;
	rec->notify = xb->notify > 0;
	rec->recipients = (int)t->m->rcpts->len;
	rec->size = (int64_t)t->m->size;
}

/* track_store - write the rows; 0 when the change may be applied */
static int track_store(const struct milter_env *env, const struct msg_ctx *m,
		       const struct msg_record *rec, struct track_out *out)
{
	if (!env->store)
		return 0;
	switch (store_put(env->store, rec, msg_qid(m))) {
	case STORE_OK:
		return 0;
	case STORE_SPOOLED:
		out->spooled = 1;
		return 0;
	case STORE_FAILED:
		break;
	}
	/* called before any copy leaves: the policy may still temp-fail */
	track_policy(env, out, POLICY_ROWS_LOST, NULL);
	return -1;
}

/* track_xforward_name - the client name for XFORWARD: "[addr]" (no name) is unavailable */
static const char *track_xforward_name(const char *name)
{
	if (!name || !*name)
		return NULL;
	return name[0] == '[' ? "[UNAVAILABLE]" : name;
}

/* track_unsub_edits - the List-Unsubscribe and List-Unsubscribe-Post headers (RFC 2369,
 * RFC 8058) of token TI, added to EDITS (a message that has them gets none: see
 * track_body); only a token of one recipient gets them, as only it names whom to
 * suppress.  The headers go after the others: a DKIM signer after beacon-milter sees
 * them and signs them */
static void track_unsub_edits(const struct track_run *t, int ti, int holders, GPtrArray *edits)
{
	const struct beacon_cfg *cfg = t->env->cfg;
	const char *mailto = cfg->milter.unsubscribe_mailto;
	char *url, *value;

	if (!t->unsub || holders != 1)
		return;
	url = unsuburl_make(t->env->keys, cfg->global.base_url, t->tok[ti].str);
	if (!url) {
		log_warnx("%s: no List-Unsubscribe: cannot sign the URL", msg_qid(t->m));
		return;
	}
	if (mailto && *mailto)
		value = g_strdup_printf("<%s>, <mailto:%s?subject=unsubscribe>", url, mailto);
	else
		value = g_strdup_printf("<%s>", url);
	split_edit_add(edits, "List-Unsubscribe", 1, value);
	split_edit_add(edits, "List-Unsubscribe-Post", 1, "List-Unsubscribe=One-Click");
	g_free(value);
	free(url);
}

/* track_copy - render the copy for the recipients of token TI and hand it over */
static enum reinject_rc track_copy(struct track_run *t, struct reinject **sess, int ti,
				   const GPtrArray *edits, char *why, size_t whylen)
{
	const struct beacon_cfg *cfg = t->env->cfg;
	struct reinject_rcpt *rr = g_new(struct reinject_rcpt, t->nrc);
	const char **addrs = g_new(const char *, t->nrc);
	char *name = NULL, *value = NULL;
	GPtrArray *mine = split_edits_new();
	struct reinject_msg msg;
	struct mime_render r;
	GByteArray *text = NULL;
	enum reinject_rc rc = REINJECT_REFUSED;
	size_t n = 0;

	memset(&r, 0, sizeof(r));
	for (guint i = 0; i < t->nrc; i++) {
		if (t->rc[i].role == ROLE_TRACK && t->rc[i].token == ti) {
			rr[n] = (struct reinject_rcpt){ t->rc[i].r->addr, t->rc[i].r->args };
			addrs[n++] = t->rc[i].r->addr;
		}
	}
	if (track_render(t, ti, &r, why, whylen) < 0)
		goto done;
	/* the message's edits, and this copy's own List-Unsubscribe */
	for (guint i = 0; edits && i < edits->len; i++) {
		const struct split_edit *e = g_ptr_array_index(edits, i);
		split_edit_add(mine, e->name, e->index, e->value);
	}
	track_unsub_edits(t, ti, (int)n, mine);
	name = split_copy_header_name(cfg->milter.tag_header);
	value = split_copy_value(t->env->keys, t->rec->id, addrs, n);
	if (!value) {
		snprintf(why, whylen, "no signing key loaded");
		goto done;
	}
	text = split_copy_text(t->m, cfg->milter.tag_header, mine, r.top_cte, name, value, r.body);
	mime_render_clear(&r);
	if (!*sess && !(*sess = reinject_open(cfg->milter.reinject, REINJECT_TIMEOUT_S, why, whylen))) {
		rc = REINJECT_BROKEN;
		goto done;
	}
	msg = (struct reinject_msg){ t->m->sender, t->m->mail_args, rr, n, text,
				     track_xforward_name(t->opts->client_name), t->client_ip, NULL,
				     t->m->queue_id };
	rc = reinject_send(*sess, &msg, why, whylen);
done:
	mime_render_clear(&r);
	g_ptr_array_free(mine, TRUE);
	if (text)
		g_byte_array_free(text, TRUE);
	g_free(name);
	g_free(value);
	g_free(addrs);
	g_free(rr);
	return rc;
}

/* track_copy_id - the id of the copy for the recipients of token TI */
static void track_copy_id(const struct track_run *t, int ti, uint8_t id[COPYLOG_ID_LEN])
{
	GString *addrs = g_string_new(NULL);

	for (guint i = 0; i < t->nrc; i++)
		if (t->rc[i].role == ROLE_TRACK && t->rc[i].token == ti)
			g_string_append_printf(addrs, "%s\n", t->rc[i].r->stored);
	track_derive(t, "copy", addrs->str, id);
	g_string_free(addrs, TRUE);
}

/* track_copy_rcpts - the recipients of token TI, comma-separated, g_free'd by the caller */
static char *track_copy_rcpts(const struct track_run *t, int ti)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < t->nrc; i++)
		if (t->rc[i].role == ROLE_TRACK && t->rc[i].token == ti)
			g_string_append_printf(s, "%s<%s>", s->len ? ", " : "", t->rc[i].r->addr);
	return g_string_free(s, FALSE);
}

/* track_test_stop - BEACON_TEST_STOP_AFTER_COPY=1 (fault tests only): stop the process right
 * after a copy was handed over and remembered, before the original is answered */
static void track_test_stop(void)
{
	static int on = -1;

	if (on < 0)
		on = g_strcmp0(getenv("BEACON_TEST_STOP_AFTER_COPY"), "1") == 0;
	if (on)
		raise(SIGSTOP);
}

/* track_copied - the recipients of token TI got their copy */
static void track_copied(struct track_run *t, int ti)
{
	for (guint i = 0; i < t->nrc; i++)
		if (t->rc[i].role == ROLE_TRACK && t->rc[i].token == ti)
			t->rc[i].copied = 1;
}

/* track_copies - hand over one copy per group, but those already sent for this message;
 * the failure rules; 0, or -1 (temp-fail) */
static int track_copies(struct track_run *t, int first_copy, int orig_tracked,
			const struct track_opts *opts, struct track_out *out)
{
	/* ids that a retry would not repeat are never looked up nor remembered */
	struct copylog *cl = t->seeded ? t->env->copies : NULL;
	struct reinject *sess = NULL;
	uint8_t id[COPYLOG_ID_LEN];
	char why[300];
	int planned = t->ntok - first_copy;
	long long at;

	if (!t->seeded && t->env->copies)
		log_info("%s: split not retry-safe (%s): a retry after a crash or temp-fail may "
			 "send its copies again", msg_qid(t->m), t->unsafe ? t->unsafe : "no key");
	for (int ti = first_copy; ti < t->ntok; ti++) {
		long long dot;

		track_copy_id(t, ti, id);
		if (cl && (at = copylog_sent_at(cl, id)) > 0) {
			/* a retry, or the same message (same Message-ID, sender, headers and body)
			 * submitted again: its copy left before and does not leave again */
			char *to = track_copy_rcpts(t, ti), when[32];
			struct tm tm;
			time_t tt = (time_t)at;

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm));
			log_warnx("%s: copy %d to %s not sent: this message (same Message-ID, sender, "
				  "headers and body) was sent to them at %s, by a previous try or an "
				  "earlier submission; they are removed from the original",
				  msg_qid(t->m), ti, to, when);
			g_free(to);
			track_copied(t, ti);
			out->copies++;
			out->resent++;
			continue;
		}
		if (opts && opts->progress)
			opts->progress(opts->arg);
		if (track_copy(t, &sess, ti, out->edits, why, sizeof(why)) == REINJECT_OK) {
			dot = reinject_last_dot_us(sess);
			if (cl && copylog_add(cl, id) < 0)
				log_warn("%s: copy %d handed over but not remembered: a retry would "
					 "send it again", msg_qid(t->m), ti);
			log_debug("%s: copy %d remembered %lld us after its final dot", msg_qid(t->m),
				  ti, clock_now_us() - dot);
			track_copied(t, ti);
			out->copies++;
			track_test_stop();
			continue;
		}
		if (out->copies == 0) {
			reinject_close(sess);
			track_policy(t->env, out, POLICY_REINJECT, why);
			return -1;
		}
		/* the rest stay on the original: on its token, or untracked beside excluded ones */
		for (guint i = 0; i < t->nrc; i++)
			if (t->rc[i].role == ROLE_TRACK && t->rc[i].token >= ti)
				t->rc[i].token = orig_tracked ? 0 : -1;
		out->fallback = 1;
		log_warnx("%s: copy %d of %d not re-injected (%s): the other recipients stay on the "
			  "original%s", msg_qid(t->m), out->copies + 1, planned, why,
			  orig_tracked ? " with its token" : ", untracked");
		break;
	}
	reinject_close(sess);
	return 0;
}

/* track_mode - how the tokens went, for the log line */
static void track_mode(struct track_run *t, int planned, int orig_tracked, int split,
		       struct track_out *out)
{
	int left = 0;

	for (guint i = 0; i < t->nrc; i++)
		if (t->rc[i].role == ROLE_TRACK && !t->rc[i].copied && t->rc[i].token >= 0)
			left++;
	if (planned == 0)
		g_strlcpy(out->mode, out->tracked == 1 ? "tracked" : "shared", sizeof(out->mode));
	else if (!split)
		g_strlcpy(out->mode, "shared: 1 copy, original untouched", sizeof(out->mode));
	else if (out->copies == planned && orig_tracked)
		snprintf(out->mode, sizeof(out->mode), "split: %d cop%s", out->copies,
			 out->copies == 1 ? "y" : "ies");
	else if (out->copies == planned)
		snprintf(out->mode, sizeof(out->mode), "split: %d cop%s, original untouched",
			 out->copies, out->copies == 1 ? "y" : "ies");
	else if (orig_tracked)
		snprintf(out->mode, sizeof(out->mode), "split: %d of %d copies, %d sharing the original",
			 out->copies, planned, left);
	else
		snprintf(out->mode, sizeof(out->mode), "split: %d of %d copies, original untouched",
			 out->copies, planned);
	if (out->resent > 0) {
		char more[40];
		snprintf(more, sizeof(more), ", %d sent before", out->resent);
		g_strlcat(out->mode, more, sizeof(out->mode));
	}
}

/* track_hand_over - the changes for the MTA: recipients that got a copy, and the original's
 * body when its rows are STORED (else it goes out as it came) */
static void track_hand_over(struct track_run *t, struct mime_render *orig, int stored,
			    struct track_out *out)
{
	out->verdict = TRACK_REWRITTEN;
	out->remove_tag = 1;
	for (guint i = 0; i < t->nrc; i++) {
		if (!t->rc[i].copied)
			continue;
		if (!out->delrcpts)
			out->delrcpts = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(out->delrcpts, g_strdup_printf("<%s>", t->rc[i].r->addr));
	}
	if (stored && orig->body) {
		out->body = orig->body;
		out->top_cte = orig->top_cte;
		orig->body = NULL;
		orig->top_cte = NULL;
	} else if (out->edits) {
		/* the original goes out as it came: no twin; forged copy headers still go */
		for (guint i = out->edits->len; i > 0; i--) {
			struct split_edit *e = g_ptr_array_index(out->edits, i - 1);
			if (e->value || g_ascii_strcasecmp(e->name, "Content-Transfer-Encoding") == 0)
				g_ptr_array_remove_index(out->edits, i - 1);
		}
	}
}

/* track_attachments - with attachments = link: take the attachments out, store them and
 * every token's manifest, add their rows; -1 (the message left as it came) if they cannot
 * be stored */
static int track_attachments(struct track_run *t, struct track_out *out)
{
	const struct beacon_cfg *cfg = t->env->cfg;
	uint8_t (*rids)[TOKEN_RID_LEN];
	char why[200];
	int n, rc;

	if (!t->link_atts || t->doc->atts->len == 0)
		return 0;
	if (cfg->milter.attachment_max_count > 0 &&
	    t->doc->atts->len > (guint)cfg->milter.attachment_max_count) {
		log_warnx("%s: attachments = link: %u attachment parts, more than "
			  "attachment_max_count (%ld); the message goes out as it came",
			  msg_qid(t->m), t->doc->atts->len, cfg->milter.attachment_max_count);
		snprintf(out->reason, sizeof(out->reason), "attachments not linked: %u parts, "
			 "attachment_max_count is %ld", t->doc->atts->len,
			 cfg->milter.attachment_max_count);
		out->verdict = TRACK_UNTOUCHED;
		out->remove_tag = 0;
		return -1;
	}
	if ((n = attach_plan(t->doc, cfg->milter.attachment_min_size)) == 0)
		return 0;
	t->expiry = (uint64_t)(t->opts->now ? t->opts->now : time(NULL)) +
		    (uint64_t)cfg->milter.attachment_ttl;
	rids = g_malloc((size_t)t->ntok * TOKEN_RID_LEN);
	for (int i = 0; i < t->ntok; i++)
		memcpy(rids[i], t->tok[i].rid, TOKEN_RID_LEN);
	rc = attach_store_put(cfg->milter.attachment_dir, t->doc, (const uint8_t (*)[TOKEN_RID_LEN])rids,
			      t->ntok, t->expiry, cfg->milter.attachment_min_free, &t->undo, why,
			      sizeof(why));
	g_free(rids);
	if (rc < 0) {
		/* never sent without its attachments: sent as it came, tag header included */
		log_warnx("%s: attachments = link: %d attachment%s not stored in %s: %s; the "
			  "message goes out as it came", msg_qid(t->m), n, n == 1 ? "" : "s",
			  cfg->milter.attachment_dir, why);
		snprintf(out->reason, sizeof(out->reason), "attachments not stored: %.200s", why);
		out->verdict = TRACK_UNTOUCHED;
		out->remove_tag = 0;
		t->doc->ntaken = 0;
		return -1;
	}
	for (guint i = 0; i < t->doc->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(t->doc->atts, i);
		if (a->taken)
			record_add_att(t->rec, a->n, a->name, a->ctype, (int64_t)a->data->len,
				       (int64_t)t->expiry, a->sha256);
	}
	log_info("%s: %d attachment%s turned into download links until %llu", msg_qid(t->m), n,
		 n == 1 ? "" : "s", (unsigned long long)t->expiry);
	return 0;
}

/* track_rewrite - the attachments' files kept only when the message goes out rewritten */
static void track_rewrite_run(struct track_run *t, const struct xbeacon *xb,
			      const char *client_ip, const struct track_opts *opts,
			      struct track_out *out);
static void track_rewrite(struct track_run *t, const struct xbeacon *xb, const char *client_ip,
			  const struct track_opts *opts, struct track_out *out)
{
	track_rewrite_run(t, xb, client_ip, opts, out);
	attach_store_finish(t->undo, out->verdict == TRACK_REWRITTEN);
	t->undo = NULL;
}

/* track_add_message_id - a tracked message without a Message-ID gets one ("<random@host>"):
 * a reply names it (In-Reply-To, References) and beacon.reply() finds the message by it.
 * An edit of the original, so the copies carry it too, and the Message-ID of its rows */
static void track_add_message_id(struct track_run *t, struct track_out *out)
{
	uint8_t rnd[16];
	char hex[2 * sizeof(rnd) + 1], *value;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	t->added_mid = g_strdup_printf("%s@%s", hex, g_get_host_name());
	value = g_strdup_printf("<%s>", t->added_mid);
	if (!out->edits)
		out->edits = split_edits_new();
	/* one past the last occurrence (there is none): the header is added */
	split_edit_add(out->edits, "Message-ID", 1, value);
	log_info("%s: no Message-ID: added %s", msg_qid(t->m), value);
	g_free(value);
}

/* track_rewrite_run - tokens, renderings, copies, rows, storage for a message to track */
static void track_rewrite_run(struct track_run *t, const struct xbeacon *xb,
			      const char *client_ip, const struct track_opts *opts,
			      struct track_out *out)
{
	const struct beacon_cfg *cfg = t->env->cfg;
	struct mime_render orig;
	char why[160];
	int ntracked = track_classify(t, out), nexcl = out->internal + out->suppressed;
	int split = cfg->milter.per_recipient == CFG_PER_RCPT_SPLIT && opts->can_delrcpt;
	int orig_tracked, first_copy, k;

	memset(&orig, 0, sizeof(orig));
	track_seed(t);
	track_derive_uuid(t, "message", NULL, t->rec->id);
	if (ntracked == 0) {
		track_untouched(out, "no trackable recipient", 1);
		return;
	}
	if (nexcl > 0 && !opts->can_delrcpt && out->suppressed > 0) {
		track_untouched(out, "suppressed recipients cannot be left out (no recipient removal)", 1);
		return;
	}
	/* tokens: one per tracked recipient (split), else one for all of them */
	t->tok = g_new0(struct track_token, ntracked);
	for (guint i = 0; i < t->nrc; i++) {
		if (t->rc[i].role != ROLE_TRACK)
			continue;
		k = split ? track_new_token(t, t->rc[i].r->stored) :
		    t->ntok == 0 ? track_new_token(t, NULL) : 0;
		if (k < 0) {
			track_untouched(out, "no signing key loaded", 0);
			return;
		}
		t->rc[i].token = t->rc[i].planned = k;
	}
	if (track_attachments(t, out) < 0)
		return;
	/* the original keeps the first token when no excluded recipient needs it untouched */
	orig_tracked = nexcl == 0 || !opts->can_delrcpt;
	first_copy = orig_tracked ? 1 : 0;
	/* the first rendering is the original's body or, when the original stays untouched,
	 * the proof that the message can be rendered at all (a failure here is no reason to
	 * temp-fail: it would fail again) */
	if (track_render(t, 0, &orig, why, sizeof(why)) < 0) {
		track_untouched(out, why, 0);
		return;
	}
	if (!orig_tracked)
		mime_render_clear(&orig);
	/* copies cannot be taken back: with the database known down, the policy applies first */
	if (first_copy < t->ntok && t->env->store && !store_is_up(t->env->store) &&
	    track_policy(t->env, out, POLICY_DB_DOWN, NULL) != POLICY_SPOOL) {
		mime_render_clear(&orig);
		return;
	}
	if (msg_header_count(t->m, "Message-ID") == 0)
		track_add_message_id(t, out);
	/* the rows are durable (database or spool) before any copy leaves */
	track_rows(t, client_ip, xb);
	g_strlcpy(out->msg_uuid, t->rec->id, sizeof(out->msg_uuid));
	if (track_store(t->env, t->m, t->rec, out) < 0) {
		mime_render_clear(&orig);
		return;
	}
	if (first_copy < t->ntok && track_copies(t, first_copy, orig_tracked, opts, out) < 0) {
		mime_render_clear(&orig);
		return;
	}
	if (out->fallback) {
		/* some recipients stay on the original: their rows say so now */
		for (guint i = 0; i < t->rec->rcpts->len; i++) {
			struct rec_rcpt *x = &g_array_index(t->rec->rcpts, struct rec_rcpt, i);
			g_free(x->address);
			g_free(x->status);
			g_free(x->token);
			g_free(x->name);
		}
		g_array_set_size(t->rec->rcpts, 0);
		track_rows(t, client_ip, xb);
		if (t->env->store && store_put(t->env->store, t->rec, msg_qid(t->m)) == STORE_FAILED)
			log_warnx("%s: the rows of message %s still name the tokens planned before "
				  "copy %d failed", msg_qid(t->m), t->rec->id, out->copies + 1);
	}
	for (int i = 0; i < t->ntok; i++)
		out->tracked += t->tok[i].holders;
	if (orig_tracked && t->unsub) {
		/* the original's List-Unsubscribe: its token, when one recipient holds it */
		if (!out->edits)
			out->edits = split_edits_new();
		track_unsub_edits(t, 0, t->tok[0].holders, out->edits);
	}
	out->links = t->links;
	track_mode(t, t->ntok - first_copy, orig_tracked, split, out);
	track_hand_over(t, &orig, 1, out);
	mime_render_clear(&orig);
}

/* track_copy_out - OUT for a verified copy of message UUID: only its copy header goes */
static void track_copy_out(const struct milter_env *env, const struct msg_ctx *m,
			   const char *uuid, struct track_out *out)
{
	char *name = split_copy_header_name(env->cfg->milter.tag_header);

	out->verdict = TRACK_COPY;
	g_strlcpy(out->msg_uuid, uuid, sizeof(out->msg_uuid));
	snprintf(out->reason, sizeof(out->reason), "copy of message %s", uuid);
	out->edits = split_edits_new();
	for (int i = msg_header_count(m, name); i >= 1; i--)
		split_edit_add(out->edits, name, i, NULL);
	g_free(name);
}

/* track_twin - plain_to_html: the text-only message with its HTML twin and the header edits */
static struct plain2html *track_twin(const struct msg_ctx *m, struct track_out *out,
				     int link_atts, struct mime_doc **doc, char *why, size_t whylen)
{
	struct plain2html *p = plain2html_convert(m, why, whylen);
	int n;

	if (!p)
		return NULL;
	*doc = mime_doc_parse_with(p->text, p->body_off, link_atts ? MIME_PARSE_TEXTS : 0, why,
				   whylen);
	if (!*doc || (*doc)->parts->len == 0) {
		if (*doc && (*doc)->parts->len == 0)
			snprintf(why, whylen, "HTML twin not found");
		mime_doc_free(*doc);
		*doc = NULL;
		plain2html_free(p);
		return NULL;
	}
	if (!out->edits)
		out->edits = split_edits_new();
	split_edit_add(out->edits, "Content-Type", 1, p->content_type);
	n = msg_header_count(m, "Content-Transfer-Encoding");
	if (p->cte)
		split_edit_add(out->edits, "Content-Transfer-Encoding", 1, p->cte);
	for (int i = n; i >= (p->cte ? 2 : 1); i--)
		split_edit_add(out->edits, "Content-Transfer-Encoding", i, NULL);
	if (p->add_mime_version)
		split_edit_add(out->edits, "MIME-Version", 1, "1.0");
	return p;
}

/* track_head_check - the copy header, the size, signatures and the tag header */
void track_head_check(const struct milter_env *env, const struct msg_ctx *m,
		      struct track_head *h)
{
	const char *tag = env->cfg->milter.tag_header;
	char *copy_name = split_copy_header_name(tag);
	int ncopy = msg_header_count(m, copy_name), forged = 0;

	g_free(copy_name);
	memset(h, 0, sizeof(*h));
	if (ncopy + msg_header_count(m, tag) > TRACK_MAX_TAG_HEADERS) {
		/* removing them one by one is what makes Postfix's cleanup give up (451), and a
		 * retry would send the copies again: nothing is removed, nothing tracked */
		h->verdict = TRACK_HEAD_UNTOUCHED;
		h->why = "more than " G_STRINGIFY(TRACK_MAX_TAG_HEADERS) " tag and copy headers";
		return;
	}
	/* a copy is trusted only from the reinject listener, with one header that verifies */
	if (ncopy > 1)
		h->forged = TRACK_FORGED_MANY;
	else if (ncopy == 1 && !m->via_reinject)
		h->forged = TRACK_FORGED_CONN;
	else if (ncopy == 1 && !(h->copy_of = split_copy_check(env->keys, tag, m, &forged)))
		h->forged = TRACK_FORGED_MAC;
	if (h->copy_of) {
		h->verdict = TRACK_HEAD_COPY;
		return;
	}
	if (!m->trusted) {
		/* nothing an outsider wrote counts: not even "no" or a size to report */
		h->verdict = TRACK_HEAD_UNTRUSTED;
		h->why = msg_header_count(m, tag) > 0 ? "untrusted submission"
						       : "untrusted submission, no tag header";
		return;
	}
	xbeacon_parse(msg_header_get(m, tag), &h->xb);
	if (m->oversize || !m->text)
		h->why = "over max_message_size";
	else
		h->why = tagging_header_exclusion(msg_header_get(m, "Content-Type"),
						  msg_header_count(m, "DKIM-Signature") > 0);
	if (h->why)
		h->verdict = TRACK_HEAD_UNTOUCHED;
	else if (h->xb.mode == XB_NO)
		h->verdict = TRACK_HEAD_NO;
	else
		h->verdict = TRACK_HEAD_BODY;
}

/* track_head_clear - the copy's UUID and the parsed tag header */
void track_head_clear(struct track_head *h)
{
	g_free(h->copy_of);
	xbeacon_clear(&h->xb);
	memset(h, 0, sizeof(*h));
}

/* track_body - the rules the body takes part in (3 to 7 of track.h) */
static void track_body(const struct milter_env *env, const struct msg_ctx *m,
		       const char *client_ip, const struct track_opts *opts,
		       const struct xbeacon *xb, struct track_out *out)
{
	const struct beacon_cfg *cfg = env->cfg;
	const char *tag = msg_header_get(m, cfg->milter.tag_header);
	struct mime_doc *doc = NULL;
	struct plain2html *twin = NULL;
	struct track_run t;
	char why[160], **keep;
	int rule = tagging_sender_rule(&cfg->milter.track_senders, m->sender, m->sasl_login);
	int link_atts;

	if (!tag && rule <= 0 && !track_maybe_html(m)) {
		track_untouched(out, rule < 0 ? "sender excepted by track_senders" : "no tag", 0);
		return;
	}
	/* the text/plain parts are located only to carry download lines */
	link_atts = (xb->attachments >= 0 ? xb->attachments : cfg->milter.attachments) ==
		    CFG_ATT_LINK;
	doc = mime_doc_parse_with(m->text, m->body_off, link_atts ? MIME_PARSE_TEXTS : 0, why,
				  sizeof(why));
	if (!doc) {
		track_untouched(out, why, 0);
		return;
	}
	if (!tag && rule <= 0 && !mime_doc_has_placeholder(doc, env->placeholder_url)) {
		track_untouched(out, rule < 0 ? "sender excepted by track_senders" : "no tag", 0);
		mime_doc_free(doc);
		return;
	}
	if (doc->parts->len == 0 && cfg->milter.plain_to_html) {
		mime_doc_free(doc);
		doc = NULL;
		twin = track_twin(m, out, link_atts, &doc, why, sizeof(why));
		if (!twin) {
			track_untouched(out, why, tag != NULL);
			return;
		}
	}
	if (doc->parts->len == 0) {
		track_untouched(out, "no text/html part", tag != NULL);
		mime_doc_free(doc);
		return;
	}
	keep = tagging_keep_urls(msg_header_get(m, "List-Unsubscribe"));
	t = (struct track_run){ .env = env, .m = m, .doc = doc, .suppress = opts->suppress,
				.opts = opts, .client_ip = client_ip, .rec = record_new() };
	t.o.placeholder_url = env->placeholder_url;
	t.o.clicks = xb->clicks >= 0 ? xb->clicks : cfg->milter.clicks;
	/* every link of the twin was made from the text, where it was shown as it is */
	t.o.track_literal_urls = twin ? 1 : cfg->milter.track_literal_urls;
	t.o.keep_urls = (const char *const *)keep;
	/* one-click unsubscribe: the tag says, else [milter] unsubscribe; never over the
	 * message's own */
	t.link_atts = link_atts;
	t.unsub = xb->unsubscribe >= 0 ? xb->unsubscribe :
	    tagging_unsubscribe_rule(&cfg->milter.unsubscribe, m->sender, m->sasl_login);
	if (t.unsub && (msg_header_count(m, "List-Unsubscribe") > 0 ||
			msg_header_count(m, "List-Unsubscribe-Post") > 0)) {
		log_info("%s: the message has its own List-Unsubscribe: none added", msg_qid(m));
		t.unsub = 0;
	}
	track_rewrite(&t, xb, client_ip, opts, out);
	if (!tag)
		out->remove_tag = 0;
	if (out->verdict != TRACK_REWRITTEN && out->edits) {
		g_ptr_array_free(out->edits, TRUE);
		out->edits = NULL;
	}
	record_free(t.rec);
	g_free(t.added_mid);
	g_free(t.rc);
	g_free(t.tok);
	g_strfreev(keep);
	mime_doc_free(doc);
	plain2html_free(twin);
}

/* track_drop_unsubscribed - [milter] unsubscribe_action = drop: the recipients who
 * unsubscribed from this sender (their own row of source 'unsubscribe') are removed from
 * the original, whatever else was decided (a tracked, untracked or untagged message alike:
 * the page told them the mail stops).  One log line with the count, never the address.
 * When no recipient is left on the original it is discarded (out->discard): every
 * recipient asked not to get it, and the copies of the others have left already.  Without
 * recipient removal granted by the MTA they get the mail untracked, as with untrack. */
static void track_drop_unsubscribed(const struct milter_env *env, const struct msg_ctx *m,
				    const struct track_opts *opts, struct track_out *out)
{
	struct suppress_list *sl;
	GHashTable *gone;
	int dropped = 0, kept = 0, left = 0;

	if (!opts || !opts->suppress || env->cfg->milter.unsubscribe_action != CFG_UNSUB_DROP ||
	    out->verdict == TRACK_TEMPFAIL || out->verdict == TRACK_COPY || !m->sender ||
	    !*m->sender)
		return;
	sl = suppress_get(opts->suppress);
	gone = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; out->delrcpts && i < out->delrcpts->len; i++)
		g_hash_table_add(gone, g_ptr_array_index(out->delrcpts, i));
	for (guint i = 0; i < m->rcpts->len; i++) {
		const struct msg_rcpt *r = g_ptr_array_index(m->rcpts, i);
		char *b = g_strdup_printf("<%s>", r->addr);
		if (g_hash_table_contains(gone, b)) {
			g_free(b);	/* in a copy already, or the same address again */
			continue;
		}
		if (!r->key || !suppress_list_unsubscribed(sl, r->key, m->sender)) {
			left++;
			g_free(b);
		} else if (!opts->can_delrcpt) {
			kept++;
			left++;
			g_free(b);
		} else {
			if (!out->delrcpts)
				out->delrcpts = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(out->delrcpts, b);
			g_hash_table_add(gone, b);
			dropped++;
		}
	}
	g_hash_table_destroy(gone);
	suppress_list_unref(sl);
	if (kept)
		log_warnx("%s: %d recipient%s unsubscribed from this sender but the MTA did not "
			  "grant recipient removal: delivered untracked", msg_qid(m), kept,
			  kept == 1 ? "" : "s");
	if (!dropped)
		return;
	out->dropped = dropped;
	if (left == 0) {
		out->discard = 1;
		log_info("%s: %d recipient%s unsubscribed from this sender: removed; no recipient "
			 "left, the message is discarded", msg_qid(m), dropped, dropped == 1 ? "" : "s");
	} else {
		log_info("%s: %d recipient%s unsubscribed from this sender: removed", msg_qid(m),
			 dropped, dropped == 1 ? "" : "s");
	}
}

/* track_message - default options: a split may happen, no suppression list, no progress */
void track_message(const struct milter_env *env, const struct msg_ctx *m,
		   const char *client_ip, struct track_out *out)
{
	track_message_with(env, m, client_ip, NULL, out);
}

/* track_message_with - the whole decision for one message */
void track_message_with(const struct milter_env *env, const struct msg_ctx *m,
			const char *client_ip, const struct track_opts *opts,
			struct track_out *out)
{
	static const struct track_opts defaults = { 1, NULL, NULL, NULL, NULL, 0 };
	const char *tag = env->cfg->milter.tag_header;
	struct track_head h;
	char why[160];

	memset(out, 0, sizeof(*out));
	track_head_check(env, m, &h);
	if (h.forged)
		log_warnx("%s: %s-Copy header %s: removed, treated as a new message", msg_qid(m), tag,
			  h.forged == TRACK_FORGED_CONN ? "not from the reinject listener" :
			  h.forged == TRACK_FORGED_MANY ? "given more than once" : "does not verify");
	if (h.verdict != TRACK_HEAD_COPY && h.verdict != TRACK_HEAD_UNTRUSTED && h.xb.malformed)
		log_warnx("%s: %s header malformed (%s): tracking with the defaults", msg_qid(m), tag,
			  h.xb.why);
	switch (h.verdict) {
	case TRACK_HEAD_COPY:
		track_copy_out(env, m, h.copy_of, out);
		break;
	case TRACK_HEAD_UNTOUCHED:
		track_untouched(out, h.why, 0);
		break;
	case TRACK_HEAD_NO:
		g_snprintf(why, sizeof(why), "%s: no", tag);
		track_untouched(out, why, 1);
		break;
	case TRACK_HEAD_UNTRUSTED:
		/* one line names the client whose tag headers were removed */
		if (msg_header_count(m, tag) == 0) {
			track_untouched(out, h.why, 0);
			break;
		}
		g_snprintf(why, sizeof(why), "untrusted submission (%s)",
			   m->trust_why ? m->trust_why : "not checked");
		track_untouched(out, why, 1);
		break;
	case TRACK_HEAD_BODY:
		track_body(env, m, client_ip, opts ? opts : &defaults, &h.xb, out);
		break;
	}
	/* an untrusted copy header does not go out, whatever else happens */
	if (h.forged && out->verdict != TRACK_TEMPFAIL)
		out->remove_copy = 1;
	track_drop_unsubscribed(env, m, opts, out);
	track_head_clear(&h);
}

/* track_out_clear - free the new body and the edits */
void track_out_clear(struct track_out *out)
{
	if (out->body)
		g_byte_array_free(out->body, TRUE);
	g_free(out->top_cte);
	if (out->edits)
		g_ptr_array_free(out->edits, TRUE);
	if (out->delrcpts)
		g_ptr_array_free(out->delrcpts, TRUE);
	memset(out, 0, sizeof(*out));
}
