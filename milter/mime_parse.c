/*
 * NAME
 *	mime_parse.c - locate the text parts and attachments of a message with GMime
 *
 * DESCRIPTION
 *	mime_doc_parse() (see mime_rewrite.h) parses the message over a
 *	memory stream that shares the caller's buffer, so every part's
 *	content stream is a substream whose bounds are offsets into that
 *	buffer.  GMime is used to find spans and to decode; the message is
 *	never written back through GMime, so bytes GMime would normalise
 *	(folding, boundaries, preambles) stay as they came.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "address.h"
#include "attach.h"
#include "mime_rewrite.h"
#include "qp.h"
#include "tagging.h"

/* mime_walk - state of one walk over the parts */
struct mime_walk {
	struct mime_doc *doc;	/* what is being filled */
	GMimeObject *top;	/* the message's own part */
	char *why;		/* first reason to leave the message alone */
	size_t whylen;		/* its size */
	int failed;		/* a reason was set */
	GHashTable *index;	/* GMimeObject * of a multipart -> 1 + its index in doc->containers */
	int texts;		/* locate the text/plain parts too (attachments = link) */
};

/* mime_walk_fail - remember the first reason: WHAT followed by ARG */
static void mime_walk_fail(struct mime_walk *w, const char *what, const char *arg)
{
	if (w->failed)
		return;
	w->failed = 1;
	snprintf(w->why, w->whylen, "%s%s", what, arg ? arg : "");
}

/* mime_html_free - GDestroyNotify for struct mime_html */
static void mime_html_free(gpointer p)
{
	struct mime_html *h = p;

	g_free(h->charset);
	if (h->html)
		g_byte_array_free(h->html, TRUE);
	g_free(h);
}

/* mime_decode - decode SRC[0..LEN) of encoding ENC into a new array */
static GByteArray *mime_decode(const unsigned char *src, size_t len, int enc)
{
	GByteArray *out = g_byte_array_new();
	GMimeEncoding st;
	size_t n;

	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		g_byte_array_set_size(out, (guint)len);
		g_byte_array_set_size(out, (guint)qp_decode(out->data, src, len));
		return out;
	}
	if (enc != GMIME_CONTENT_ENCODING_BASE64) {
		g_byte_array_append(out, src, (guint)len);
		return out;
	}
	g_mime_encoding_init_decode(&st, (GMimeContentEncoding)enc);
	g_byte_array_set_size(out, (guint)g_mime_encoding_outlen(&st, len) + 16);
	n = g_mime_encoding_flush(&st, (const char *)src, len, (char *)out->data);
	g_byte_array_set_size(out, (guint)n);
	return out;
}

/* mime_line_end - offset just past the header line at OFF, continuation lines included */
static size_t mime_line_end(const GByteArray *t, size_t off)
{
	const unsigned char *p = t->data;
	size_t n = t->len;

	for (;;) {
		const unsigned char *nl = memchr(p + off, '\n', n - off);
		if (!nl)
			return n;
		off = (size_t)(nl - p) + 1;
		if (off >= n || (p[off] != ' ' && p[off] != '\t'))
			return off;
	}
}

/* mime_part_headers - where the part's headers and its CTE line are */
static void mime_part_headers(struct mime_walk *w, GMimeObject *part, struct mime_html *h)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(part);
	const struct mime_doc *d = w->doc;
	gint64 first = -1;
	int count = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < count; i++) {
		GMimeHeader *hd = g_mime_header_list_get_header_at(hl, i);
		gint64 off = g_mime_header_get_offset(hd);
		if (off < (gint64)d->body_off || off >= (gint64)d->text->len)
			continue;
		if (first < 0 || off < first)
			first = off;
		if (strcasecmp(g_mime_header_get_name(hd), "Content-Transfer-Encoding") == 0) {
			h->cte_start = (size_t)off - d->body_off;
			h->cte_end = mime_line_end(d->text, (size_t)off) - d->body_off;
		}
	}
	h->hdr_start = first >= 0 ? (size_t)first - d->body_off : h->start;
}

/* mime_ascii_charset - may this charset be rewritten as bytes? */
static int mime_ascii_charset(const char *cs)
{
	static const char *bad[] = { "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2",
				     "ucs-4", "ucs4", "utf-7", "utf7", "unicode" };

	for (size_t i = 0; cs && i < G_N_ELEMENTS(bad); i++)
		if (strncasecmp(cs, bad[i], strlen(bad[i])) == 0)
			return 0;
	return 1;
}

/* mime_locate - the span, encoding and decoded content of one text leaf; NULL when it
 * cannot be rewritten (with HTML, W fails then: the message stays untouched) */
static struct mime_html *mime_locate(struct mime_walk *w, GMimeObject *part, int html)
{
	struct mime_doc *d = w->doc;
	GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part));
	GMimeStream *s = dw ? g_mime_data_wrapper_get_stream(dw) : NULL;
	const char *cs = g_mime_object_get_content_type_parameter(part, "charset");
	int enc = g_mime_part_get_content_encoding(GMIME_PART(part));
	struct mime_html *h;
	const unsigned char *body = d->text->data + d->body_off;

	if (!s || s->bound_start < (gint64)d->body_off || s->bound_end < s->bound_start ||
	    (s->bound_end > (gint64)d->text->len && s->bound_end != -1)) {
		if (html)
			mime_walk_fail(w, "cannot locate a text/html part", NULL);
		return NULL;
	}
	switch (enc) {
	case GMIME_CONTENT_ENCODING_DEFAULT:
	case GMIME_CONTENT_ENCODING_7BIT:
	case GMIME_CONTENT_ENCODING_8BIT:
	case GMIME_CONTENT_ENCODING_BINARY:
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		break;
	default:
		if (html)
			mime_walk_fail(w, "text/html in unsupported transfer encoding ",
				       g_mime_content_encoding_to_string((GMimeContentEncoding)enc));
		return NULL;
	}
	if (!mime_ascii_charset(cs)) {
		if (html)
			mime_walk_fail(w, "text/html in charset ", cs);
		return NULL;
	}
	h = g_new0(struct mime_html, 1);
	h->start = (size_t)s->bound_start - d->body_off;
	h->end = (s->bound_end == -1 ? d->text->len : (size_t)s->bound_end) - d->body_off;
	h->top = part == w->top;
	h->enc = enc;
	h->charset = cs ? g_strdup(cs) : NULL;
	/* the part's own line ending: the first one in its span, else the body's */
	{
		const unsigned char *nl = memchr(body + h->start, '\n', h->end - h->start);
		size_t blen = d->text->len - d->body_off;
		if (!nl)
			nl = memchr(body, '\n', blen);
		h->eol = nl && nl > body && nl[-1] == '\r' ? "\r\n" : (nl ? "\n" : "\r\n");
	}
	h->ends_eol = h->end > h->start && body[h->end - 1] == '\n';
	if (!h->top)
		mime_part_headers(w, part, h);
	h->html = mime_decode(body + h->start, h->end - h->start, enc);
	if (h->html->len && memmem(h->html->data, h->html->len, "-----BEGIN PGP ", 15))
		mime_walk_fail(w, "inline PGP", NULL);
	return h;
}

/* mime_walk_part - g_mime_message_foreach callback: classify one part */
static void mime_walk_part(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	struct mime_walk *w = arg;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	struct mime_html *h;

	if (w->failed)
		return;
	if (tagging_signed_type(type, sub)) {
		mime_walk_fail(w, "", g_ascii_strcasecmp(sub, "signed") == 0 ? "multipart/signed" :
			       g_ascii_strcasecmp(sub, "encrypted") == 0 ? "multipart/encrypted" :
			       "S/MIME or PGP part");
		return;
	}
	attach_consider(w->doc, parent, part, w->index);
	if (!attach_body_text(part))
		return;
	if (g_ascii_strcasecmp(sub, "html") == 0) {
		if ((h = mime_locate(w, part, 1)) != NULL)
			g_ptr_array_add(w->doc->parts, h);
	} else if (w->texts && (h = mime_locate(w, part, 0)) != NULL) {
		g_ptr_array_add(w->doc->texts, h);
	}
}

/* mime_add_names - display names of an address list into the names table */
static void mime_add_names(GHashTable *names, InternetAddressList *l)
{
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			mime_add_names(names, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)));
			continue;
		}
		const char *name = internet_address_get_name(ia);
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		char key[ADDRESS_SIZE];
		if (name && *name && addr && *addr)
			g_hash_table_insert(names, address_norm(addr, key, sizeof(key), NULL) == 0 ?
					    g_strdup(key) : g_ascii_strdown(addr, -1),
					    g_utf8_make_valid(name, -1));
	}
}

/* mime_doc_parse - parse TEXT and find its HTML and text/plain parts */
struct mime_doc *mime_doc_parse(const GByteArray *text, size_t body_off, char *why, size_t whylen)
{
	return mime_doc_parse_with(text, body_off, MIME_PARSE_TEXTS, why, whylen);
}

/* mime_doc_parse_with - parse TEXT and find its HTML parts, its text/plain ones as FLAGS say */
struct mime_doc *mime_doc_parse_with(const GByteArray *text, size_t body_off, int flags,
				     char *why, size_t whylen)
{
	static const char *pgp[] = { "-----BEGIN PGP SIGNED MESSAGE-----", "-----BEGIN PGP MESSAGE-----" };
	struct mime_doc *d;
	struct mime_walk w;
	GMimeStream *st;
	GMimeParser *parser;
	GMimeMessage *msg;
	const char *s;

	if (!text || text->len == 0 || body_off > text->len) {
		snprintf(why, whylen, "no message");
		return NULL;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(pgp); i++) {
		if (memmem(text->data + body_off, text->len - body_off, pgp[i], strlen(pgp[i]))) {
			snprintf(why, whylen, "inline PGP");
			return NULL;
		}
	}
	st = g_mime_stream_mem_new_with_byte_array((GByteArray *)text);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	parser = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_persist_stream(parser, TRUE);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (!msg || !g_mime_message_get_mime_part(msg)) {
		snprintf(why, whylen, "cannot parse the MIME structure");
		if (msg)
			g_object_unref(msg);
		g_object_unref(st);
		return NULL;
	}
	d = g_new0(struct mime_doc, 1);
	d->text = text;
	d->body_off = body_off;
	d->parts = g_ptr_array_new_with_free_func(mime_html_free);
	d->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	d->texts = g_ptr_array_new_with_free_func(mime_html_free);
	d->atts = g_ptr_array_new_with_free_func(attach_free);
	d->containers = g_array_new(FALSE, TRUE, sizeof(struct mime_container));
	d->cids = g_ptr_array_new_with_free_func(g_free);
	w = (struct mime_walk){ d, g_mime_message_get_mime_part(msg), why, whylen, 0,
				g_hash_table_new(g_direct_hash, g_direct_equal),
				(flags & MIME_PARSE_TEXTS) != 0 };
	g_mime_message_foreach(msg, mime_walk_part, &w);
	g_hash_table_destroy(w.index);
	if (!w.failed) {
		for (guint i = 0; i < d->parts->len; i++) {
			const struct mime_html *h = g_ptr_array_index(d->parts, i);
			attach_cids(d->cids, h->html->data, h->html->len);
		}
		if ((s = g_mime_message_get_subject(msg)) != NULL)
			d->subject = g_utf8_make_valid(s, -1);
		if ((s = g_mime_message_get_message_id(msg)) != NULL)
			d->message_id = g_utf8_make_valid(s, -1);
		mime_add_names(d->names, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO));
		mime_add_names(d->names, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC));
	}
	g_object_unref(msg);
	g_object_unref(st);
	if (w.failed) {
		mime_doc_free(d);
		return NULL;
	}
	return d;
}

/* mime_doc_free - release everything mime_doc_parse made */
void mime_doc_free(struct mime_doc *d)
{
	if (!d)
		return;
	g_ptr_array_free(d->parts, TRUE);
	g_ptr_array_free(d->texts, TRUE);
	g_ptr_array_free(d->atts, TRUE);
	g_array_free(d->containers, TRUE);
	g_ptr_array_free(d->cids, TRUE);
	g_hash_table_destroy(d->names);
	g_free(d->subject);
	g_free(d->message_id);
	g_free(d);
}

/* mime_doc_has_placeholder - the placeholder in any HTML part */
int mime_doc_has_placeholder(const struct mime_doc *d, const char *url)
{
	for (guint i = 0; url && *url && i < d->parts->len; i++) {
		const struct mime_html *h = g_ptr_array_index(d->parts, i);
		if (html_has_placeholder((const char *)h->html->data, h->html->len, url))
			return 1;
	}
	return 0;
}
