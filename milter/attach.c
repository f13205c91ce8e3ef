/*
 * NAME
 *	attach.c - find the attachment parts, decide which are taken, and
 *	write each recipient's download block and lines
 *
 * DESCRIPTION
 *	See attach.h.  GMime finds the parts and decodes names; the spans
 *	to cut are found here from the part's first header and its parent's
 *	boundary, because GMime is never asked to write the message back.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>
#include <sodium.h>

#include "attach.h"
#include "mime_rewrite.h"

/* attach_line_start - start of the line holding offset OFF of B */
static size_t attach_line_start(const guint8 *b, size_t off)
{
	while (off > 0 && b[off - 1] != '\n')
		off--;
	return off;
}

/* attach_is_delim - does the line at B[OFF..LEN) start with "--BOUNDARY" followed by "--",
 * blanks or the line end? */
static int attach_is_delim(const guint8 *b, size_t len, size_t off, const char *bd, size_t bl)
{
	size_t e = off + 2 + bl;

	if (e > len || b[off] != '-' || b[off + 1] != '-' || memcmp(b + off + 2, bd, bl) != 0)
		return 0;
	return e == len || b[e] == '-' || b[e] == ' ' || b[e] == '\t' || b[e] == '\r' ||
	       b[e] == '\n';
}

/* attach_locate - the spans of the part whose first header is at HDR (body offset) in a
 * multipart with boundary BD; 0, or -1 when its delimiter lines are not where MIME says */
static int attach_locate(const struct mime_doc *d, size_t hdr, const char *bd, size_t *cut_start,
			 size_t *cut_end, size_t *data_start, size_t *data_end)
{
	const guint8 *b = d->text->data + d->body_off;
	size_t len = d->text->len - d->body_off, bl = strlen(bd), p, l;
	const guint8 *nl;

	if (hdr == 0 || hdr > len || b[hdr - 1] != '\n' || bl == 0)
		return -1;
	l = attach_line_start(b, hdr - 1);
	if (!attach_is_delim(b, len, l, bd, bl))
		return -1;
	/* the header block ends at the first empty line */
	for (p = hdr; p < len; p = (size_t)(nl - b) + 1) {
		if (b[p] == '\n' || (b[p] == '\r' && p + 1 < len && b[p + 1] == '\n'))
			break;
		if (!(nl = memchr(b + p, '\n', len - p)))
			return -1;
	}
	if (p >= len)
		return -1;
	*data_start = p + (b[p] == '\r' ? 2 : 1);
	/* the next delimiter line: its line end before it belongs to it */
	for (p = *data_start - 1; p < len && (nl = memchr(b + p, '\n', len - p)); p = (size_t)(nl - b) + 1) {
		size_t s = (size_t)(nl - b) + 1;
		if (s < len && attach_is_delim(b, len, s, bd, bl)) {
			*cut_start = l;
			*cut_end = s;
			*data_end = s - 1;
			if (*data_end > *data_start && b[*data_end - 1] == '\r')
				(*data_end)--;
			if (*data_end < *data_start)
				*data_end = *data_start;
			return 0;
		}
	}
	return -1;
}

/* attach_first_header - body offset of the first header of PART, or -1 */
static gint64 attach_first_header(const struct mime_doc *d, GMimeObject *part)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(part);
	int count = hl ? g_mime_header_list_get_count(hl) : 0;
	gint64 first = -1;

	for (int i = 0; i < count; i++) {
		gint64 off = g_mime_header_get_offset(g_mime_header_list_get_header_at(hl, i));
		if (off < (gint64)d->body_off || off >= (gint64)d->text->len)
			continue;
		if (first < 0 || off < first)
			first = off;
	}
	return first < 0 ? -1 : first - (gint64)d->body_off;
}

/* attach_token - is S a non-empty RFC 2045 token? */
static int attach_token(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *s))
			return 0;
	return 1;
}

/* attach_sanitize - the last path component of NAME, valid UTF-8, no control characters,
 * trimmed, at most ATTACH_NAME_MAX octets; NULL if nothing is left */
static char *attach_sanitize(const char *name)
{
	const char *base;
	char *valid, *p;
	GString *out;

	if (!name)
		return NULL;
	valid = g_utf8_make_valid(name, -1);
	base = valid;
	for (p = valid; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	out = g_string_new(NULL);
	for (const char *c = base; *c; c = g_utf8_next_char(c)) {
		gunichar u = g_utf8_get_char(c);
		if (u < 0x20 || (u >= 0x7f && u < 0xa0) || u == 0x2028 || u == 0x2029 ||
		    (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069))
			continue;	/* controls, and bidi overrides that disguise an extension */
		if (out->len + (size_t)(g_utf8_next_char(c) - c) > ATTACH_NAME_MAX)
			break;
		g_string_append_len(out, c, g_utf8_next_char(c) - c);
	}
	g_free(valid);
	g_strstrip(out->str);
	g_string_set_size(out, strlen(out->str));
	while (out->len && (out->str[0] == '.'))
		g_string_erase(out, 0, 1);
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* attach_container - the index of multipart OBJ in INDEX, or -1 */
static int attach_container(GHashTable *index, gpointer obj)
{
	return GPOINTER_TO_INT(g_hash_table_lookup(index, obj)) - 1;
}

/* attach_body_text - is PART a text/html or text/plain leaf that is no attachment (its
 * Content-Disposition, if any, is not "attachment")?  mime_parse locates these to rewrite
 * them, so they are never candidates: the one predicate both sides use */
int attach_body_text(void *part_v)
{
	GMimeObject *part = part_v;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(part);

	if (!GMIME_IS_PART(part) || !type || !sub || g_ascii_strcasecmp(type, "text") != 0 ||
	    (g_ascii_strcasecmp(sub, "html") != 0 && g_ascii_strcasecmp(sub, "plain") != 0))
		return 0;
	return !(disp && g_mime_content_disposition_is_attachment(disp));
}

/* attach_cte_ok - is PART's Content-Transfer-Encoding one decoded here exactly: 7bit, 8bit,
 * binary, base64 or quoted-printable (absent: 7bit)?  GMime maps an unknown value to the
 * default, and x-uuencode carries a "begin" line the decoder does not skip: such parts stay */
static int attach_cte_ok(GMimeObject *part)
{
	static const char *ok[] = { "7bit", "8bit", "binary", "base64", "quoted-printable" };
	const char *v = g_mime_object_get_header(part, "Content-Transfer-Encoding");
	char *t;
	int r = 0;

	if (!v)
		return 1;
	t = g_strstrip(g_strdup(v));
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
		if (g_ascii_strcasecmp(t, ok[i]) == 0)
			r = 1;
	g_free(t);
	return r;
}

/* attach_consider - record a multipart as a container, a candidate part as an attachment */
void attach_consider(struct mime_doc *d, void *parent_v, void *part_v, GHashTable *index)
{
	GMimeObject *parent = parent_v, *part = part_v;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(part);
	const char *dv = disp ? g_mime_content_disposition_get_disposition(disp) : NULL;
	int pc = GMIME_IS_MULTIPART(parent) ? attach_container(index, parent) : -1;
	const char *bd = pc >= 0 ? g_mime_multipart_get_boundary(GMIME_MULTIPART(parent)) : NULL;
	gint64 hdr = pc >= 0 ? attach_first_header(d, part) : -1;
	struct mime_att *a;
	const char *enc;

	if (GMIME_IS_MULTIPART(part)) {
		struct mime_container c = { 0, 0, pc, g_mime_multipart_get_count(GMIME_MULTIPART(part)),
					    0, 0 };
		size_t ds, de;
		c.located = hdr >= 0 && bd &&
			    attach_locate(d, (size_t)hdr, bd, &c.cut_start, &c.cut_end, &ds, &de) == 0;
		g_array_append_val(d->containers, c);
		g_hash_table_insert(index, part, GINT_TO_POINTER((int)d->containers->len));
		return;
	}
	if (pc < 0 || hdr < 0 || !bd)
		return;		/* the message itself, or a part that cannot be cut out */
	if (dv && g_ascii_strcasecmp(dv, "inline") == 0)
		return;
	if (attach_body_text(part) || !attach_cte_ok(part))
		return;		/* rewritten as text, or an encoding not decoded exactly */
	/* RFC 2183: an unknown disposition is treated as attachment */
	if (!dv && (!type || g_ascii_strcasecmp(type, "text") == 0 ||
		    g_ascii_strcasecmp(type, "message") == 0))
		return;
	a = g_new0(struct mime_att, 1);
	if (attach_locate(d, (size_t)hdr, bd, &a->cut_start, &a->cut_end, &a->data_start,
			  &a->data_end) < 0) {
		g_free(a);
		return;
	}
	a->container = pc;
	if (GMIME_IS_PART(part)) {
		a->enc = g_mime_part_get_content_encoding(GMIME_PART(part));
		a->name = attach_sanitize(g_mime_part_get_filename(GMIME_PART(part)));
	} else {
		enc = g_mime_object_get_header(part, "Content-Transfer-Encoding");
		a->enc = enc ? g_mime_content_encoding_from_string(enc) : GMIME_CONTENT_ENCODING_DEFAULT;
		a->name = attach_sanitize(g_mime_object_get_content_disposition_parameter(part, "filename"));
		if (!a->name)
			a->name = attach_sanitize(g_mime_object_get_content_type_parameter(part, "name"));
	}
	if (attach_token(type) && attach_token(sub)) {
		char *t = g_strdup_printf("%s/%s", type, sub);
		a->ctype = g_ascii_strdown(t, -1);
		g_free(t);
	} else {
		a->ctype = g_strdup("application/octet-stream");
	}
	if (g_mime_object_get_content_id(part))
		a->cid = g_strdup(g_mime_object_get_content_id(part));
	g_ptr_array_add(d->atts, a);
}

/* attach_cids - every "cid:" URL of the HTML, %-decoded, into CIDS */
void attach_cids(GPtrArray *cids, const guint8 *html, size_t len)
{
	const guint8 *p = html, *end;

	if (!html)
		return;
	end = html + len;
	while (p + 4 <= end) {
		const guint8 *e, *colon;
		char *raw, *dec;

		/* the next "cid:" from P is at the first ':' from P + 3 that follows
		 * "cid" in any case: a search for ':' (rare in HTML), not a compare at
		 * every byte, which was a quarter of a newsletter's rewrite */
		if (!(colon = memchr(p + 3, ':', (size_t)(end - p - 3))))
			break;
		if (g_ascii_tolower(colon[-3]) != 'c' || g_ascii_tolower(colon[-2]) != 'i' ||
		    g_ascii_tolower(colon[-1]) != 'd') {
			p = colon - 2;	/* the next search starts after this ':' */
			continue;
		}
		p = colon + 1;
		for (e = p; e < end && *e > ' ' && !strchr("\"'<>()", *e); e++)
			;
		raw = g_strndup((const char *)p, (gsize)(e - p));
		dec = g_uri_unescape_string(raw, NULL);
		g_ptr_array_add(cids, dec ? dec : g_strdup(raw));
		g_free(raw);
		p = e;
	}
}

/* attach_referenced - does the HTML name CID? */
static int attach_referenced(const struct mime_doc *d, const char *cid)
{
	for (guint i = 0; cid && i < d->cids->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(d->cids, i), cid) == 0)
			return 1;
	return 0;
}

/* attach_decode - the content of A, decoded */
static GByteArray *attach_decode(const struct mime_doc *d, const struct mime_att *a)
{
	const char *src = (const char *)d->text->data + d->body_off + a->data_start;
	size_t len = a->data_end - a->data_start, n;
	GByteArray *out = g_byte_array_new();
	GMimeEncoding st;

	switch (a->enc) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		g_mime_encoding_init_decode(&st, (GMimeContentEncoding)a->enc);
		g_byte_array_set_size(out, (guint)g_mime_encoding_outlen(&st, len) + 16);
		n = g_mime_encoding_flush(&st, src, len, (char *)out->data);
		g_byte_array_set_size(out, (guint)n);
		break;
	default:
		g_byte_array_append(out, (const guint8 *)src, (guint)len);
		break;
	}
	return out;
}

/* attach_plan - keep cid: images and small parts, take the rest, number and hash them */
int attach_plan(struct mime_doc *d, long long min_size)
{
	int *taken = g_new0(int, d->containers->len + 1);
	int n = 0;

	for (guint i = 0; i < d->atts->len; i++) {
		struct mime_att *a = g_ptr_array_index(d->atts, i);
		uint8_t h[crypto_hash_sha256_BYTES];

		a->taken = 0;
		if (a->cid && attach_referenced(d, a->cid))
			continue;
		if (!a->data)
			a->data = attach_decode(d, a);
		if ((long long)a->data->len < min_size) {
			g_byte_array_free(a->data, TRUE);
			a->data = NULL;
			continue;
		}
		a->taken = 1;
		a->n = ++n;
		if (!a->name)
			a->name = g_strdup_printf("attachment-%d", a->n);
		crypto_hash_sha256(h, a->data->data, a->data->len);
		sodium_bin2hex(a->sha256, sizeof(a->sha256), h, sizeof(h));
		taken[a->container]++;
	}
	/* children come after their parent: settle the innermost multiparts first */
	for (guint c = d->containers->len; c > 0; c--) {
		struct mime_container *m = &g_array_index(d->containers, struct mime_container, c - 1);
		m->taken = m->parent >= 0 && m->located && m->children > 0 && taken[c - 1] == m->children;
		if (m->taken)
			taken[m->parent]++;
	}
	g_free(taken);
	d->ntaken = n;
	return n;
}

/* attach_free - one candidate */
void attach_free(gpointer p)
{
	struct mime_att *a = p;

	g_free(a->name);
	g_free(a->ctype);
	g_free(a->cid);
	if (a->data)
		g_byte_array_free(a->data, TRUE);
	g_free(a);
}

/* attach_size_str - bytes, KB, MB or GB (1024-based), one decimal above bytes */
char *attach_size_str(long long size)
{
	static const char *unit[] = { "KB", "MB", "GB", "TB" };
	double v = (double)size;
	int u = -1;

	if (size < 1024)
		return g_strdup_printf("%lld byte%s", size, size == 1 ? "" : "s");
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	return g_strdup_printf("%.1f %s", v, unit[u]);
}

/* attach_escape - S escaped for HTML text and attributes, non-ASCII as character references */
static void attach_escape(GString *out, const char *s)
{
	for (const char *c = s; *c; c = g_utf8_next_char(c)) {
		gunichar u = g_utf8_get_char(c);
		switch (u) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\'': g_string_append(out, "&#39;"); break;
		default:
			if (u < 0x80)
				g_string_append_c(out, (char)u);
			else
				g_string_append_printf(out, "&#x%X;", u);
		}
	}
}

/* the block's colours: a solid button that stays legible when a client inverts colours */
#define ATTACH_BTN_BG "#1a56db"
#define ATTACH_BTN_FG "#ffffff"
#define ATTACH_FONT "font-family:Arial,Helvetica,sans-serif;"

/* attach_html - the block: one table per file, name/size/type, button, expiry date */
char *attach_html(const struct mime_doc *d, const struct token_keys *keys, const char *base_url,
		  const char *token, uint64_t expiry)
{
	GString *s = g_string_new("\n");
	char day[32];
	time_t t = (time_t)expiry;
	struct tm tm;

	strftime(day, sizeof(day), "%d %b %Y", gmtime_r(&t, &tm));
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		char *url, *size;

		if (!a->taken)
			continue;
		if (!(url = dlurl_make(keys, base_url, token, (unsigned)a->n, expiry))) {
			g_string_free(s, TRUE);
			return NULL;
		}
		size = attach_size_str((long long)a->data->len);
		g_string_append(s, "<table role=\"presentation\" border=\"0\" cellpadding=\"0\" "
			"cellspacing=\"0\" style=\"margin:16px 0;border-collapse:collapse\">\n<tr><td "
			"style=\"padding:0 0 8px 0;" ATTACH_FONT "font-size:14px;line-height:20px\">"
			"<strong>");
		attach_escape(s, a->name);
		g_string_append(s, "</strong><br>\n");
		attach_escape(s, size);
		g_string_append(s, " &middot; ");
		attach_escape(s, a->ctype);
		g_string_append(s, "</td></tr>\n<tr><td><table role=\"presentation\" border=\"0\" "
			"cellpadding=\"0\" cellspacing=\"0\"><tr>\n<td bgcolor=\"" ATTACH_BTN_BG "\" "
			"style=\"background-color:" ATTACH_BTN_BG ";border-radius:4px;"
			"mso-padding-alt:10px 20px\">\n<a href=\"");
		attach_escape(s, url);
		g_string_append(s, "\" target=\"_blank\" style=\"display:inline-block;"
			"padding:10px 20px;" ATTACH_FONT "font-size:15px;font-weight:bold;"
			"line-height:20px;color:" ATTACH_BTN_FG ";background-color:" ATTACH_BTN_BG ";"
			"border-radius:4px;text-decoration:none;mso-padding-alt:0\">"
			"<span style=\"color:" ATTACH_BTN_FG "\">Download</span></a>\n"
			"</td></tr></table></td></tr>\n<tr><td style=\"padding:6px 0 0 0;" ATTACH_FONT
			"font-size:12px;line-height:16px\">Link valid until ");
		g_string_append(s, day);
		g_string_append(s, "</td></tr>\n</table>\n");
		free(url);
		g_free(size);
	}
	return g_string_free(s, FALSE);
}

/* attach_text - "Download NAME (SIZE): URL" per taken part */
char *attach_text(const struct mime_doc *d, const struct token_keys *keys, const char *base_url,
		  const char *token, uint64_t expiry)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		char *url, *size;

		if (!a->taken)
			continue;
		if (!(url = dlurl_make(keys, base_url, token, (unsigned)a->n, expiry))) {
			g_string_free(s, TRUE);
			return NULL;
		}
		size = attach_size_str((long long)a->data->len);
		g_string_append_printf(s, "Download %s (%s): %s\n", a->name, size, url);
		free(url);
		g_free(size);
	}
	return g_string_free(s, FALSE);
}
