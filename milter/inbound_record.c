/*
 * NAME
 *	inbound_record.c - the inbound and reply records and their spool form
 *
 * DESCRIPTION
 *	See inbound_record.h.  As for the messages' records (record.c),
 *	GLib serialises the spool form and checks it on the way back.
 */
#define _GNU_SOURCE
#include <string.h>

#include "inbound_record.h"
#include "record.h"

/* inbound_strv - a GVariant "as" of the strings of A */
static GVariant *inbound_strv(const GPtrArray *a)
{
	return g_variant_new_strv((const gchar *const *)a->pdata, (gssize)a->len);
}

/* inbound_take_strv - append the strings of the "as" iterator IT to A (valid UTF-8) */
static void inbound_take_strv(GPtrArray *a, GVariantIter *it)
{
	const char *s;

	while (g_variant_iter_next(it, "&s", &s))
		g_ptr_array_add(a, g_utf8_make_valid(s, -1));
	g_variant_iter_free(it);
}

/* inbound_variant - a normal-form GVariant of TYPE from DATA, or NULL (unref'd by caller) */
static GVariant *inbound_variant(const char *type, const void *data, size_t len)
{
	GBytes *bytes = g_bytes_new(data, len);
	GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE(type), bytes, FALSE);

	g_variant_ref_sink(v);
	g_bytes_unref(bytes);
	if (!g_variant_is_normal_form(v)) {
		g_variant_unref(v);
		return NULL;
	}
	return v;
}

/* inbound_bytes - the serialised form of V (floating, sunk here) */
static GBytes *inbound_bytes(GVariant *v)
{
	GBytes *out;

	g_variant_ref_sink(v);
	out = g_variant_get_data_as_bytes(v);
	g_variant_unref(v);
	return out;
}

/* inbound_record_new - every string "" */
struct inbound_record *inbound_record_new(void)
{
	struct inbound_record *r = g_new0(struct inbound_record, 1);

	r->at = g_get_real_time();
	r->addresses = g_ptr_array_new_with_free_func(g_free);
	record_set(&r->queue_id, NULL);
	record_set(&r->message_id, NULL);
	record_set(&r->sender_domain, NULL);
	record_set(&r->from, NULL);
	record_set(&r->reply_to, NULL);
	record_set(&r->list_id, NULL);
	record_set(&r->subject, NULL);
	return r;
}

/* inbound_record_free - free the strings and the record */
void inbound_record_free(struct inbound_record *r)
{
	if (!r)
		return;
	g_ptr_array_free(r->addresses, TRUE);
	g_free(r->queue_id);
	g_free(r->message_id);
	g_free(r->sender_domain);
	g_free(r->from);
	g_free(r->reply_to);
	g_free(r->list_id);
	g_free(r->subject);
	g_free(r);
}

/* inbound_record_encode - normal-form GVariant */
GBytes *inbound_record_encode(const struct inbound_record *r)
{
	return inbound_bytes(g_variant_new("(x@assssssssxb)", (gint64)r->at, inbound_strv(r->addresses),
					   r->queue_id, r->message_id, r->sender_domain, r->from,
					   r->reply_to, r->list_id, r->subject, (gint64)r->size,
					   (gboolean)!!r->forward));
}

/* inbound_record_decode - back from the spool */
struct inbound_record *inbound_record_decode(const void *data, size_t len)
{
	GVariant *v = inbound_variant(INBOUND_VTYPE, data, len);
	struct inbound_record *r;
	GVariantIter *it;
	const char *qid, *mid, *dom, *from, *rt, *lid, *subj;
	gint64 at, size;
	gboolean fwd;

	if (!v)
		return NULL;
	g_variant_get(v, "(xas&s&s&s&s&s&s&sxb)", &at, &it, &qid, &mid, &dom, &from, &rt, &lid,
		      &subj, &size, &fwd);
	r = inbound_record_new();
	r->at = at;
	inbound_take_strv(r->addresses, it);
	record_set(&r->queue_id, qid);
	record_set(&r->message_id, mid);
	record_set(&r->sender_domain, dom);
	record_set(&r->from, from);
	record_set(&r->reply_to, rt);
	record_set(&r->list_id, lid);
	record_set(&r->subject, subj);
	r->size = size;
	r->forward = fwd;
	g_variant_unref(v);
	return r;
}

/* reply_record_new - every string "" */
struct reply_record *reply_record_new(void)
{
	struct reply_record *r = g_new0(struct reply_record, 1);

	r->at = g_get_real_time();
	r->refs = g_ptr_array_new_with_free_func(g_free);
	r->from = g_ptr_array_new_with_free_func(g_free);
	record_set(&r->message_id, NULL);
	record_set(&r->queue_id, NULL);
	return r;
}

/* reply_record_free - free the strings and the record */
void reply_record_free(struct reply_record *r)
{
	if (!r)
		return;
	g_ptr_array_free(r->refs, TRUE);
	g_ptr_array_free(r->from, TRUE);
	g_free(r->message_id);
	g_free(r->queue_id);
	g_free(r);
}

/* reply_record_encode - normal-form GVariant */
GBytes *reply_record_encode(const struct reply_record *r)
{
	return inbound_bytes(g_variant_new("(x@as@asss)", (gint64)r->at, inbound_strv(r->refs),
					   inbound_strv(r->from), r->message_id, r->queue_id));
}

/* reply_record_decode - back from the spool */
struct reply_record *reply_record_decode(const void *data, size_t len)
{
	GVariant *v = inbound_variant(REPLY_VTYPE, data, len);
	struct reply_record *r;
	GVariantIter *refs, *from;
	const char *mid, *qid;
	gint64 at;

	if (!v)
		return NULL;
	g_variant_get(v, "(xasas&s&s)", &at, &refs, &from, &mid, &qid);
	r = reply_record_new();
	r->at = at;
	inbound_take_strv(r->refs, refs);
	inbound_take_strv(r->from, from);
	record_set(&r->message_id, mid);
	record_set(&r->queue_id, qid);
	g_variant_unref(v);
	return r;
}
