/*
 * NAME
 *	track.c - decide at end of message, make the token, rewrite, store
 *
 * DESCRIPTION
 *	See track.h for the order of the rules.  Every way out that leaves
 *	the message alone fills out->reason; the callbacks log it after the
 *	queue id.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mime_rewrite.h"
#include "record.h"
#include "tagging.h"
#include "track.h"

/* track_links - state of the link callback for one rendering */
struct track_links {
	const struct milter_env *env;	/* keys and base_url */
	const char *token;		/* the token links are signed for */
	struct msg_record *rec;		/* links rows go here */
	int n;				/* links signed so far */
};

/* track_untouched - leave the message as it is, for REASON */
static void track_untouched(struct track_out *out, const char *reason, int remove_tag)
{
	out->verdict = TRACK_UNTOUCHED;
	out->remove_tag = remove_tag;
	g_strlcpy(out->reason, reason, sizeof(out->reason));
}

/* track_link - html_link_fn: number the link, record it, append its click URL */
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

/* track_fill_rows - message fields and recipient rows; the number of tracked recipients */
static int track_fill_rows(const struct milter_env *env, const struct msg_ctx *m,
			   const struct mime_doc *doc, const char *token, const uint8_t *rid,
			   struct msg_record *rec, int *internal)
{
	const struct beacon_cfg *cfg = env->cfg;
	char uuid[TOKEN_UUID_LEN + 1];
	int ntracked = 0, first = 1;
	const char *status;

	for (guint i = 0; i < m->rcpts->len; i++) {
		const struct msg_rcpt *r = g_ptr_array_index(m->rcpts, i);
		if (!tagging_is_internal(&cfg->milter.internal_domains, r->addr))
			ntracked++;
	}
	status = ntracked == 1 ? "tracked" : "shared";
	*internal = 0;
	for (guint i = 0; i < m->rcpts->len; i++) {
		const struct msg_rcpt *r = g_ptr_array_index(m->rcpts, i);
		char *low = g_ascii_strdown(r->addr, -1);
		const char *name = g_hash_table_lookup(doc->names, low);

		g_free(low);
		if (tagging_is_internal(&cfg->milter.internal_domains, r->addr)) {
			record_uuid(uuid);
			record_add_rcpt(rec, uuid, r->addr, "internal", 0, "", name);
			(*internal)++;
			continue;
		}
		if (first)
			token_rid_uuid(rid, uuid);
		else
			record_uuid(uuid);
		first = 0;
		record_add_rcpt(rec, uuid, r->addr, status, token_keys_current(env->keys), token, name);
	}
	record_set(&rec->queue_id, m->queue_id);
	record_set(&rec->sender, m->sender);
	record_set(&rec->sasl_login, m->sasl_login);
	record_set(&rec->subject, doc->subject);
	record_set(&rec->message_id, doc->message_id);
	rec->recipients = (int)m->rcpts->len;
	rec->size = (int64_t)m->size;
	return ntracked;
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
	if (env->cfg->milter.on_db_error == CFG_DBERR_TEMPFAIL) {
		out->verdict = TRACK_TEMPFAIL;
		g_strlcpy(out->reason, "database unavailable (on_db_error = tempfail)",
			  sizeof(out->reason));
	} else {
		track_untouched(out, "database unavailable: delivered untracked", 1);
	}
	return -1;
}

/* track_rewrite - tokens, rows, rendering and storage for a message to track */
static void track_rewrite(const struct milter_env *env, const struct msg_ctx *m,
			  const struct mime_doc *doc, const struct xbeacon *xb,
			  const char *client_ip, struct track_out *out)
{
	const struct beacon_cfg *cfg = env->cfg;
	struct msg_record *rec = record_new();
	char token[TOKEN_STR_LEN + 1], why[160];
	uint8_t rid[TOKEN_RID_LEN];
	struct track_links links = { env, token, rec, 0 };
	struct html_rewrite_opts o;
	struct mime_render r;
	char *pixel = NULL, **keep = NULL;
	int ntracked;

	token_new_rid(rid);
	if (token_make(env->keys, rid, token) < 0) {
		track_untouched(out, "no signing key loaded", 0);
		goto done;
	}
	ntracked = track_fill_rows(env, m, doc, token, rid, rec, &out->internal);
	if (ntracked == 0) {
		track_untouched(out, "no trackable recipient", 1);
		goto done;
	}
	pixel = track_pixel_url(cfg->global.base_url, token);
	keep = tagging_keep_urls(msg_header_get(m, "List-Unsubscribe"));
	memset(&o, 0, sizeof(o));
	o.pixel_url = pixel;
	o.placeholder_url = env->placeholder_url;
	o.clicks = xb->clicks >= 0 ? xb->clicks : cfg->milter.clicks;
	o.track_literal_urls = cfg->milter.track_literal_urls;
	o.keep_urls = (const char *const *)keep;
	o.link = track_link;
	o.link_arg = &links;
	if (mime_doc_render(doc, &o, &r, why, sizeof(why)) < 0) {
		track_untouched(out, why, 0);
		goto done;
	}
	rec->clicks = o.clicks;
	rec->notify = xb->notify > 0;
	record_set(&rec->campaign, xb->campaign);
	record_set(&rec->client_ip, client_ip);
	if (track_store(env, m, rec, out) < 0) {
		mime_render_clear(&r);
		goto done;
	}
	out->verdict = TRACK_REWRITTEN;
	out->remove_tag = 1;
	out->body = r.body;
	out->top_cte = r.top_cte;
	out->tracked = ntracked;
	out->links = links.n;
	g_strlcpy(out->msg_uuid, rec->id, sizeof(out->msg_uuid));
done:
	g_free(pixel);
	g_strfreev(keep);
	record_free(rec);
}

/* track_message - the whole decision for one message */
void track_message(const struct milter_env *env, const struct msg_ctx *m,
		   const char *client_ip, struct track_out *out)
{
	const struct beacon_cfg *cfg = env->cfg;
	const char *tag = msg_header_get(m, cfg->milter.tag_header), *excl;
	struct mime_doc *doc = NULL;
	struct xbeacon xb;
	char why[160];
	int rule, placeholder;

	memset(out, 0, sizeof(*out));
	xbeacon_parse(tag, &xb);
	if (xb.malformed)
		log_warnx("%s: %s header malformed (%s): tracking with the defaults", msg_qid(m),
			  cfg->milter.tag_header, xb.why);
	if (m->oversize || !m->text) {
		track_untouched(out, "over max_message_size", 0);
		goto done;
	}
	excl = tagging_header_exclusion(msg_header_get(m, "Content-Type"),
					msg_header_count(m, "DKIM-Signature") > 0);
	if (excl) {
		track_untouched(out, excl, 0);
		goto done;
	}
	if (xb.mode == XB_NO) {
		g_snprintf(why, sizeof(why), "%s: no", cfg->milter.tag_header);
		track_untouched(out, why, 1);
		goto done;
	}
	rule = tagging_sender_rule(&cfg->milter.track_senders, m->sender, m->sasl_login);
	if (!tag && rule <= 0 && !track_maybe_html(m)) {
		track_untouched(out, rule < 0 ? "sender excepted by track_senders" : "no tag", 0);
		goto done;
	}
	doc = mime_doc_parse(m->text, m->body_off, why, sizeof(why));
	if (!doc) {
		track_untouched(out, why, 0);
		goto done;
	}
	placeholder = mime_doc_has_placeholder(doc, env->placeholder_url);
	if (!tag && rule <= 0 && !placeholder) {
		track_untouched(out, rule < 0 ? "sender excepted by track_senders" : "no tag", 0);
		goto done;
	}
	if (doc->parts->len == 0) {
		track_untouched(out, "no text/html part", tag != NULL);
		goto done;
	}
	track_rewrite(env, m, doc, &xb, client_ip, out);
	if (!tag)
		out->remove_tag = 0;
done:
	mime_doc_free(doc);
	xbeacon_clear(&xb);
}

/* track_out_clear - free the new body */
void track_out_clear(struct track_out *out)
{
	if (out->body)
		g_byte_array_free(out->body, TRUE);
	g_free(out->top_cte);
	memset(out, 0, sizeof(*out));
}
