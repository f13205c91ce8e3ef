/*
 * NAME
 *	bounce.c - from a delivery status notification to the bounce rows of
 *	the tracked messages it reports on
 *
 * DESCRIPTION
 *	See bounce.h.  The report is parsed by dsn.c; tokens are checked
 *	with token_parse() (a MAC that does not verify names nobody); the
 *	record goes to the store like a message's rows, and its spool form
 *	is a GVariant as record.c's is.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "bounce.h"
#include "dsn.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "track.h"

/* bounce_candidate - the null sender, or a top-level multipart/report */
int bounce_candidate(const struct msg_ctx *m)
{
	const char *ct = msg_header_get(m, "Content-Type");

	if (m->oversize || !m->text)
		return 0;
	return (m->sender && !*m->sender) || (ct && strcasestr(ct, "multipart/report"));
}

/* bounce_record_new - empty, now */
struct bounce_record *bounce_record_new(void)
{
	struct bounce_record *b = g_new0(struct bounce_record, 1);

	b->at = g_get_real_time();
	b->rcpts = g_array_new(FALSE, TRUE, sizeof(struct bounce_rcpt));
	record_set(&b->queue_id, NULL);
	record_set(&b->dsn_message_id, NULL);
	record_set(&b->message_id, NULL);
	record_set(&b->token_id, NULL);
	return b;
}

/* bounce_record_add - one recipient */
void bounce_record_add(struct bounce_record *b, const char *original, const char *final,
		       const char *status, int hard, int dead, const char *diagnostic)
{
	struct bounce_rcpt r;

	memset(&r, 0, sizeof(r));
	record_set(&r.original, original);
	record_set(&r.final, final);
	record_set(&r.status, status);
	r.hard = hard != 0;
	r.dead = r.hard && dead;
	record_set(&r.diagnostic, diagnostic);
	g_array_append_val(b->rcpts, r);
}

/* bounce_record_free - every string and the array */
void bounce_record_free(struct bounce_record *b)
{
	if (!b)
		return;
	for (guint i = 0; i < b->rcpts->len; i++) {
		struct bounce_rcpt *r = &g_array_index(b->rcpts, struct bounce_rcpt, i);
		g_free(r->original);
		g_free(r->final);
		g_free(r->status);
		g_free(r->diagnostic);
	}
	g_array_free(b->rcpts, TRUE);
	g_free(b->queue_id);
	g_free(b->dsn_message_id);
	g_free(b->message_id);
	g_free(b->token_id);
	g_free(b);
}

/* bounce_record_encode - normal-form GVariant */
GBytes *bounce_record_encode(const struct bounce_record *b)
{
	GVariantBuilder rb;
	GVariant *v;
	GBytes *out;

	g_variant_builder_init(&rb, G_VARIANT_TYPE("a(sssbbs)"));
	for (guint i = 0; i < b->rcpts->len; i++) {
		const struct bounce_rcpt *r = &g_array_index(b->rcpts, struct bounce_rcpt, i);
		g_variant_builder_add(&rb, "(sssbbs)", r->original, r->final, r->status,
				      (gboolean)r->hard, (gboolean)r->dead, r->diagnostic);
	}
	v = g_variant_new(BOUNCE_VTYPE, b->id, (gint64)b->at, b->queue_id, b->dsn_message_id,
			  b->message_id, b->token_id, (gboolean)!!b->trusted, &rb);
	g_variant_ref_sink(v);
	out = g_variant_get_data_as_bytes(v);
	g_variant_unref(v);
	return out;
}

/* bounce_record_decode - back from the spool; NULL unless well-formed */
struct bounce_record *bounce_record_decode(const void *data, size_t len)
{
	GBytes *bytes = g_bytes_new(data, len);
	GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE(BOUNCE_VTYPE), bytes, FALSE);
	struct bounce_record *b = NULL;
	GVariantIter *ri = NULL;
	const char *id, *qid, *dmid, *mid, *tid, *orig, *fin, *st, *diag;
	gint64 at;
	gboolean trusted, hard, dead;

	g_variant_ref_sink(v);
	g_bytes_unref(bytes);
	if (!g_variant_is_normal_form(v))
		goto out;
	g_variant_get(v, "(&sx&s&s&s&sba(sssbbs))", &id, &at, &qid, &dmid, &mid, &tid, &trusted,
		      &ri);
	b = bounce_record_new();
	g_strlcpy(b->id, id, sizeof(b->id));
	b->at = at;
	record_set(&b->queue_id, qid);
	record_set(&b->dsn_message_id, dmid);
	record_set(&b->message_id, mid);
	record_set(&b->token_id, tid);
	b->trusted = trusted;
	while (g_variant_iter_next(ri, "(&s&s&sbb&s)", &orig, &fin, &st, &hard, &dead, &diag))
		bounce_record_add(b, orig, fin, st, hard, dead, diag);
	g_variant_iter_free(ri);
out:
	g_variant_unref(v);
	return b;
}

/* bounce_id - the record id: a digest of the report's Message-ID, else of its text */
static void bounce_id(const struct msg_ctx *m, const char *dsn_mid, char out[TOKEN_UUID_LEN + 1])
{
	uint8_t h[TOKEN_RID_LEN];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)"beacon-bounce", 14);
	if (dsn_mid && *dsn_mid)
		crypto_generichash_update(&st, (const unsigned char *)dsn_mid, strlen(dsn_mid));
	else
		crypto_generichash_update(&st, m->text->data, m->text->len);
	crypto_generichash_final(&st, h, sizeof(h));
	token_rid_uuid(h, out);
}

/* bounce_token - the token_id of the first token in D whose MAC verifies, into OUT; 0 or -1 */
static int bounce_token(const struct milter_env *env, const struct dsn *d,
			char out[TOKEN_UUID_LEN + 1])
{
	struct token t;

	for (guint i = 0; env->keys && i < d->tokens->len; i++) {
		const char *s = d->tokens->pdata[i];
		if (token_parse(env->keys, s, strlen(s), &t) == TOKEN_OK) {
			token_rid_uuid(t.rid, out);
			return 0;
		}
	}
	return -1;
}

/* bounce_test_dump - BEACON_TEST_DSN_DIR (tests only): keep the report as the milter saw it,
 * as DIR/QUEUEID.eml, so a test can compare it with what was delivered */
static void bounce_test_dump(const struct msg_ctx *m)
{
	const char *dir = getenv("BEACON_TEST_DSN_DIR");
	char *path;

	if (!dir || !*dir)
		return;
	path = g_strdup_printf("%s/%s.eml", dir, msg_qid(m));
	if (!g_file_set_contents(path, (const char *)m->text->data, (gssize)m->text->len, NULL))
		log_warnx("%s: cannot write %s", msg_qid(m), path);
	g_free(path);
}

/* bounce_status_dead - shell-style patterns against the whole status */
int bounce_status_dead(const struct cfg_list *pats, const char *status)
{
	for (size_t i = 0; status && *status && pats && i < pats->n; i++)
		if (g_pattern_match_simple(pats->v[i], status))
			return 1;
	return 0;
}

/* bounce_addresses - how many distinct addresses the bounced recipients of D name */
static guint bounce_addresses(const struct dsn *d)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	guint n;

	for (guint i = 0; i < d->rcpts->len; i++) {
		const struct dsn_rcpt *r = d->rcpts->pdata[i];
		if (!r->bounce)
			continue;
		if (r->final)
			g_hash_table_add(seen, r->final);
		if (r->original)
			g_hash_table_add(seen, r->original);
	}
	n = g_hash_table_size(seen);
	g_hash_table_destroy(seen);
	return n;
}

/* bounce_message - parse, build the record, store it, log one line */
int bounce_message(const struct milter_env *env, const struct msg_ctx *m)
{
	const struct beacon_cfg *cfg = env->cfg;
	struct dsn d;
	struct bounce_record *b;
	const char *dmid = msg_header_get(m, "Message-ID"), *how = "not stored (no store)";
	char *dmid_clean = NULL, tid[TOKEN_UUID_LEN + 1];
	int hard = 0, soft = 0, dead = 0, has_token;

	if (!m->text || dsn_parse((const char *)m->text->data, m->text->len,
				  env->cfg->global.base_url, &d) < 0)
		return -1;
	if (d.form != DSN_FORM_RFC3464 && m->sender && *m->sender) {
		/* a text that reads like a bounce from a real sender is a message */
		dsn_clear(&d);
		return -1;
	}
	bounce_test_dump(m);
	has_token = bounce_token(env, &d, tid) == 0;
	if (!m->bounce_trusted && (!has_token || bounce_addresses(&d) > 1))
		/* hearsay about other people: only a verified token's own row may be named */
		log_info("%s: bounce report from a client outside bounce_trusted_networks names "
			 "rows it carries no token of: ignored%s", msg_qid(m),
			 has_token ? " (only its own token's row is recorded)" : "");
	if (!m->bounce_trusted && !has_token) {
		log_info("%s: untouched: delivery status notification (%s) from a client outside "
			 "bounce_trusted_networks without a verified token, nothing recorded", msg_qid(m),
			 dsn_form_name(d.form));
		dsn_clear(&d);
		return 0;
	}
	b = bounce_record_new();
	if (dmid) {
		size_t n;
		const char *s = address_unbracket(dmid, &n);
		dmid_clean = g_strndup(s, n);
	}
	bounce_id(m, dmid_clean, b->id);
	record_set(&b->queue_id, m->queue_id);
	record_set(&b->dsn_message_id, dmid_clean);
	record_set(&b->message_id, d.message_id);
	if (has_token)
		record_set(&b->token_id, tid);
	b->trusted = m->bounce_trusted != 0;
	for (guint i = 0; i < d.rcpts->len; i++) {
		const struct dsn_rcpt *r = d.rcpts->pdata[i];
		int is_dead;
		if (!r->bounce || (!r->final && !r->original && (!*b->token_id || !b->trusted)))
			continue;
		is_dead = r->hard && r->status_reported && cfg->milter.bounce_suppress &&
			  bounce_status_dead(&cfg->milter.bounce_suppress_status, r->status);
		bounce_record_add(b, r->original, r->final, r->status, r->hard, is_dead,
				  r->diagnostic);
		if (r->hard)
			hard++;
		else
			soft++;
		dead += is_dead;
	}
	if (b->rcpts->len == 0) {
		how = "nothing to record";
	} else if (env->store) {
		switch (store_put_bounce(env->store, b, msg_qid(m))) {
		case STORE_OK:
			how = "recorded";
			break;
		case STORE_SPOOLED:
			how = "spooled";
			break;
		case STORE_FAILED:
			how = "NOT recorded";
			break;
		}
	}
	log_info("%s: untouched: delivery status notification (%s): %d hard, %d soft bounce%s, "
		 "%d dead, returned message %s%s%s, %s", msg_qid(m), dsn_form_name(d.form), hard,
		 soft, hard + soft == 1 ? "" : "s", dead, *b->message_id ? "found" : "unknown",
		 *b->token_id ? ", token verified" : "",
		 b->trusted ? "" : ", untrusted client: its own token's row only", how);
	g_free(dmid_clean);
	bounce_record_free(b);
	dsn_clear(&d);
	return 0;
}
