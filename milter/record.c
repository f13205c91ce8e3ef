/*
 * NAME
 *	record.c - the rows of one tracked message, and their spool form
 *
 * DESCRIPTION
 *	See record.h.  The spool form is a GVariant: GLib serialises it,
 *	checks it on the way back (g_variant_is_normal_form) and never reads
 *	past a damaged payload, so no hand-written encoder is needed.
 */
#define _GNU_SOURCE
#include <string.h>

#include "record.h"

/* record_uuid - 16 random bytes as a uuid */
void record_uuid(char out[TOKEN_UUID_LEN + 1])
{
	uint8_t rid[TOKEN_RID_LEN];

	token_new_rid(rid);
	token_rid_uuid(rid, out);
}

/* record_new - empty record, random id, sent now */
struct msg_record *record_new(void)
{
	struct msg_record *r = g_new0(struct msg_record, 1);

	record_uuid(r->id);
	r->sent_at = g_get_real_time();
	r->rcpts = g_array_new(FALSE, TRUE, sizeof(struct rec_rcpt));
	r->links = g_array_new(FALSE, TRUE, sizeof(struct rec_link));
	r->atts = g_array_new(FALSE, TRUE, sizeof(struct rec_att));
	record_set(&r->message_id, NULL);
	record_set(&r->queue_id, NULL);
	record_set(&r->sender, NULL);
	record_set(&r->sasl_login, NULL);
	record_set(&r->subject, NULL);
	record_set(&r->campaign, NULL);
	record_set(&r->thread_root, NULL);
	record_set(&r->client_ip, NULL);
	return r;
}

/* record_set - store a valid UTF-8 copy (NUL bytes cannot occur in a C string) */
void record_set(char **field, const char *s)
{
	g_free(*field);
	*field = g_utf8_make_valid(s ? s : "", -1);
}

/* record_add_rcpt - one recipient row */
void record_add_rcpt(struct msg_record *r, const char *token_id, const char *address,
		     const char *status, uint8_t key_id, const char *token, const char *name)
{
	struct rec_rcpt x;

	memset(&x, 0, sizeof(x));
	g_strlcpy(x.token_id, token_id, sizeof(x.token_id));
	record_set(&x.address, address);
	record_set(&x.status, status);
	x.key_id = key_id;
	record_set(&x.token, token);
	record_set(&x.name, name);
	g_array_append_val(r->rcpts, x);
}

/* record_add_link - one link row */
void record_add_link(struct msg_record *r, int n, const char *url)
{
	struct rec_link l = { n, NULL };

	record_set(&l.url, url);
	g_array_append_val(r->links, l);
}

/* record_add_att - one attachments row */
void record_add_att(struct msg_record *r, int n, const char *name, const char *content_type,
		    int64_t size, int64_t expires_at, const char *storage_ref)
{
	struct rec_att a = { n, NULL, NULL, size, expires_at, NULL };

	record_set(&a.name, name);
	record_set(&a.content_type, content_type);
	record_set(&a.storage_ref, storage_ref);
	g_array_append_val(r->atts, a);
}

/* record_free - free every string and array */
void record_free(struct msg_record *r)
{
	if (!r)
		return;
	for (guint i = 0; i < r->rcpts->len; i++) {
		struct rec_rcpt *x = &g_array_index(r->rcpts, struct rec_rcpt, i);
		g_free(x->address);
		g_free(x->status);
		g_free(x->token);
		g_free(x->name);
	}
	for (guint i = 0; i < r->links->len; i++)
		g_free(g_array_index(r->links, struct rec_link, i).url);
	for (guint i = 0; i < r->atts->len; i++) {
		struct rec_att *a = &g_array_index(r->atts, struct rec_att, i);
		g_free(a->name);
		g_free(a->content_type);
		g_free(a->storage_ref);
	}
	g_array_free(r->rcpts, TRUE);
	g_array_free(r->links, TRUE);
	g_array_free(r->atts, TRUE);
	g_free(r->message_id);
	g_free(r->queue_id);
	g_free(r->sender);
	g_free(r->sasl_login);
	g_free(r->subject);
	g_free(r->campaign);
	g_free(r->thread_root);
	g_free(r->client_ip);
	g_free(r);
}

/* record_encode - serialise to a normal-form GVariant */
GBytes *record_encode(const struct msg_record *r)
{
	GVariantBuilder rb, lb;
	GVariant *v;
	GBytes *b;

	g_variant_builder_init(&rb, G_VARIANT_TYPE("a(sssyss)"));
	for (guint i = 0; i < r->rcpts->len; i++) {
		const struct rec_rcpt *x = &g_array_index(r->rcpts, struct rec_rcpt, i);
		g_variant_builder_add(&rb, "(sssyss)", x->token_id, x->address, x->status,
				      x->key_id, x->token, x->name);
	}
	g_variant_builder_init(&lb, G_VARIANT_TYPE("a(is)"));
	for (guint i = 0; i < r->links->len; i++) {
		const struct rec_link *l = &g_array_index(r->links, struct rec_link, i);
		g_variant_builder_add(&lb, "(is)", (gint32)l->n, l->url);
	}
	if (r->atts->len == 0 && !*r->thread_root) {
		v = g_variant_new(RECORD_VTYPE, r->id, r->message_id, r->queue_id, r->sender,
				  r->sasl_login, r->subject, r->campaign, (gint64)r->sent_at,
				  r->client_ip, (gboolean)!!r->clicks, (gboolean)!!r->notify,
				  (gint32)r->recipients, (gint64)r->size, &rb, &lb);
	} else {
		GVariantBuilder ab;
		g_variant_builder_init(&ab, G_VARIANT_TYPE("a(issxxs)"));
		for (guint i = 0; i < r->atts->len; i++) {
			const struct rec_att *a = &g_array_index(r->atts, struct rec_att, i);
			g_variant_builder_add(&ab, "(issxxs)", (gint32)a->n, a->name,
					      a->content_type, (gint64)a->size,
					      (gint64)a->expires_at, a->storage_ref);
		}
		if (*r->thread_root)
			v = g_variant_new(RECORD_THREAD_VTYPE, r->id, r->message_id, r->queue_id,
					  r->sender, r->sasl_login, r->subject, r->campaign,
					  (gint64)r->sent_at, r->client_ip, (gboolean)!!r->clicks,
					  (gboolean)!!r->notify, (gint32)r->recipients,
					  (gint64)r->size, &rb, &lb, &ab, r->thread_root);
		else
			v = g_variant_new(RECORD_ATT_VTYPE, r->id, r->message_id, r->queue_id,
					  r->sender, r->sasl_login, r->subject, r->campaign,
					  (gint64)r->sent_at, r->client_ip, (gboolean)!!r->clicks,
					  (gboolean)!!r->notify, (gint32)r->recipients,
					  (gint64)r->size, &rb, &lb, &ab);
	}
	g_variant_ref_sink(v);
	b = g_variant_get_data_as_bytes(v);
	g_variant_unref(v);
	return b;
}

/* record_spool_type - the record type record_encode writes for R */
uint8_t record_spool_type(const struct msg_record *r)
{
	if (*r->thread_root)
		return RECORD_THREAD_SPOOL_TYPE;
	return r->atts->len ? RECORD_ATT_SPOOL_TYPE : RECORD_SPOOL_TYPE;
}

/* record_decode - a payload of the type without attachments */
struct msg_record *record_decode(const void *data, size_t len)
{
	return record_decode_type(RECORD_SPOOL_TYPE, data, len);
}

/* record_decode_type - read a spool payload of TYPE back; NULL unless well-formed */
struct msg_record *record_decode_type(uint8_t type, const void *data, size_t len)
{
	int thread = type == RECORD_THREAD_SPOOL_TYPE;
	int att = type == RECORD_ATT_SPOOL_TYPE || thread;
	const char *vtype = thread ? RECORD_THREAD_VTYPE : att ? RECORD_ATT_VTYPE : RECORD_VTYPE;
	GBytes *bytes;
	GVariant *v;
	struct msg_record *r = NULL;
	GVariantIter *ri = NULL, *li = NULL, *ai = NULL;
	const char *aname, *atype, *aref;
	gint64 asize, aexp;
	const char *id, *mid, *qid, *snd, *sasl, *subj, *camp, *ip, *tid, *addr, *st, *tok, *name, *url;
	const char *root = "";
	gint64 sent, size;
	gboolean clicks, notify;
	gint32 nrcpt, n;
	guint8 key;

	if (type != RECORD_SPOOL_TYPE && !att)
		return NULL;
	bytes = g_bytes_new(data, len);
	v = g_variant_new_from_bytes(G_VARIANT_TYPE(vtype), bytes, FALSE);
	g_variant_ref_sink(v);
	g_bytes_unref(bytes);
	if (!g_variant_is_normal_form(v))
		goto out;
	if (thread)
		g_variant_get(v, "(&s&s&s&s&s&s&sx&sbbixa(sssyss)a(is)a(issxxs)&s)", &id, &mid, &qid,
			      &snd, &sasl, &subj, &camp, &sent, &ip, &clicks, &notify, &nrcpt, &size,
			      &ri, &li, &ai, &root);
	else if (att)
		g_variant_get(v, "(&s&s&s&s&s&s&sx&sbbixa(sssyss)a(is)a(issxxs))", &id, &mid, &qid,
			      &snd, &sasl, &subj, &camp, &sent, &ip, &clicks, &notify, &nrcpt, &size,
			      &ri, &li, &ai);
	else
		g_variant_get(v, "(&s&s&s&s&s&s&sx&sbbixa(sssyss)a(is))", &id, &mid, &qid, &snd,
			      &sasl, &subj, &camp, &sent, &ip, &clicks, &notify, &nrcpt, &size,
			      &ri, &li);
	r = record_new();
	g_strlcpy(r->id, id, sizeof(r->id));
	record_set(&r->message_id, mid);
	record_set(&r->queue_id, qid);
	record_set(&r->sender, snd);
	record_set(&r->sasl_login, sasl);
	record_set(&r->subject, subj);
	record_set(&r->campaign, camp);
	record_set(&r->thread_root, root);
	record_set(&r->client_ip, ip);
	r->sent_at = sent;
	r->clicks = clicks;
	r->notify = notify;
	r->recipients = nrcpt;
	r->size = size;
	while (g_variant_iter_next(ri, "(&s&s&sy&s&s)", &tid, &addr, &st, &key, &tok, &name))
		record_add_rcpt(r, tid, addr, st, key, tok, name);
	while (g_variant_iter_next(li, "(i&s)", &n, &url))
		record_add_link(r, n, url);
	while (ai && g_variant_iter_next(ai, "(i&s&sxx&s)", &n, &aname, &atype, &asize, &aexp, &aref))
		record_add_att(r, n, aname, atype, asize, aexp, aref);
	g_variant_iter_free(ri);
	g_variant_iter_free(li);
	if (ai)
		g_variant_iter_free(ai);
out:
	g_variant_unref(v);
	return r;
}
