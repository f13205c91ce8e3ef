/*
 * NAME
 *	mime_rewrite.c - rewrite the located HTML parts and splice them into
 *	the body
 *
 * DESCRIPTION
 *	mime_doc_render() (see mime_rewrite.h) copies the body, replacing
 *	only the content span of each HTML part (and, when a 7bit/8bit part
 *	must become quoted-printable, that part's Content-Transfer-Encoding
 *	line).  Everything between the spans is copied unchanged.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mime_rewrite.h"

/* mime_link_wrap - the link callback seen by html_rewrite: normalise, then sign */
struct mime_link_wrap {
	html_link_fn fn;	/* the caller's callback */
	void *arg;		/* its argument */
	const char *charset;	/* the part's charset */
};

/* mime_url_normalize - UTF-8, with bytes a URL may not hold %-encoded */
char *mime_url_normalize(const char *url, const char *charset)
{
	static const char hex[] = "0123456789ABCDEF";
	char *utf8 = NULL;
	GString *out;
	int ascii = 1;

	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p >= 0x80)
			ascii = 0;
	if (!ascii) {
		if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
		    g_ascii_strcasecmp(charset, "us-ascii") != 0)
			utf8 = g_convert(url, -1, "UTF-8", charset, NULL, NULL, NULL);
		if (!utf8)
			utf8 = g_utf8_make_valid(url, -1);
	}
	out = g_string_sized_new(strlen(url) + 8);
	for (const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : url); *p; p++) {
		if (*p <= 0x20 || *p >= 0x7F || *p == '"' || *p == '<' || *p == '>') {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[*p >> 4]);
			g_string_append_c(out, hex[*p & 15]);
		} else {
			g_string_append_c(out, (char)*p);
		}
	}
	g_free(utf8);
	return g_string_free(out, FALSE);
}

/* mime_link - html_link_fn: normalise the URL, then call the caller's signer */
static int mime_link(void *arg, const char *url, GString *out)
{
	struct mime_link_wrap *w = arg;
	char *u = mime_url_normalize(url, w->charset);
	int rc = w->fn(w->arg, u, out);

	g_free(u);
	return rc;
}

/* mime_fold_lines - break over-long lines before a blank; the first line
 * continues a line of which COL octets came before */
int mime_fold_lines(GString *s, const char *eol, size_t max, size_t col)
{
	size_t line = 0, eol_len = strlen(eol);

	for (size_t i = 0; i <= s->len; i++) {
		size_t len, cut;
		if (i < s->len && s->str[i] != '\n')
			continue;
		/* the line is s[line .. i), without its CR, after COL octets */
		len = i - line;
		if (i > line && i < s->len && s->str[i - 1] == '\r')
			len--;
		while (col + len > max) {
			/* last blank at or before position max - col: the break goes before it */
			if (max <= col)
				return -1;
			cut = max - col;
			while (cut > 0 && s->str[line + cut] != ' ' && s->str[line + cut] != '\t')
				cut--;
			if (cut == 0)
				return -1;
			g_string_insert_len(s, (gssize)(line + cut), eol, (gssize)eol_len);
			i += eol_len;
			line += cut + eol_len;
			len -= cut;
			col = 0;
		}
		col = 0;
		line = i + 1;
	}
	return 0;
}

/* mime_max_line - the longest line of P[0..LEN), without its line end */
static size_t mime_max_line(const guint8 *p, size_t len)
{
	size_t m = 0, start = 0;

	for (const guint8 *nl; start < len && (nl = memchr(p + start, '\n', len - start)); ) {
		size_t l = (size_t)(nl - p) - start;
		if (l > 0 && nl[-1] == '\r')
			l--;
		m = MAX(m, l);
		start = (size_t)(nl - p) + 1;
	}
	return MAX(m, len - start);
}

/* mime_column - octets on the line before OFF in P */
static size_t mime_column(const guint8 *p, size_t off)
{
	size_t c = 0;

	while (c < off && p[off - c - 1] != '\n')
		c++;
	return c;
}

/* mime_copy_runs - append IN to OUT in bulk; at each byte C: with REPL, write REPL
 * instead; without, drop a C that is followed by '\n' (CRLF -> LF) */
static void mime_copy_runs(GString *out, const char *in, size_t len, char c, const char *repl)
{
	const char *p = in, *end = in + len, *hit;

	while (p < end && (hit = memchr(p, c, (size_t)(end - p))) != NULL) {
		g_string_append_len(out, p, hit - p);
		if (repl)
			g_string_append(out, repl);
		else if (hit + 1 >= end || hit[1] != '\n')
			g_string_append_c(out, c);
		p = hit + 1;
	}
	g_string_append_len(out, p, end - p);
}

/* mime_encode - encode HTML for ENC with line ending EOL into OUT */
static void mime_encode(GString *out, const GString *html, int enc, const char *eol)
{
	GMimeEncoding st;
	GString *src = NULL;
	const char *in = html->str;
	size_t inlen = html->len, n;
	char *buf;

	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		/* CRLF is a hard line break, not two octets to encode */
		src = g_string_sized_new(html->len);
		mime_copy_runs(src, html->str, html->len, '\r', NULL);
		in = src->str;
		inlen = src->len;
	}
	g_mime_encoding_init_encode(&st, (GMimeContentEncoding)enc);
	buf = g_malloc(g_mime_encoding_outlen(&st, inlen) + 16);
	n = g_mime_encoding_flush(&st, in, inlen, buf);
	mime_copy_runs(out, buf, n, '\n', eol);
	g_free(buf);
	if (src)
		g_string_free(src, TRUE);
}

/* mime_set_ending - make S end with EOL or not, like the original span */
static void mime_set_ending(GString *s, const char *eol, int want)
{
	size_t l = strlen(eol);
	int has = s->len >= l && memcmp(s->str + s->len - l, eol, l) == 0;

	if (want && !has)
		g_string_append(s, eol);
	else if (!want && has)
		g_string_truncate(s, s->len - l);
}

/* mime_render_part - the new bytes for one part; *QP set if it had to become quoted-printable */
static int mime_render_part(const struct mime_html *h, const struct html_rewrite_opts *o,
			    size_t col, GString *enc_out, int *qp, struct html_rewrite_stats *sum,
			    char *why, size_t whylen)
{
	struct mime_link_wrap wrap = { o->link, o->link_arg, h->charset };
	struct html_rewrite_opts po = *o;
	struct html_rewrite_stats st;
	GString *html = g_string_sized_new(h->html->len + 1024);

	memset(&st, 0, sizeof(st));
	if (o->link) {
		po.link = mime_link;
		po.link_arg = &wrap;
	}
	if (html_rewrite((const char *)h->html->data, h->html->len, &po, html, &st) < 0) {
		snprintf(why, whylen, "HTML rewrite failed");
		g_string_free(html, TRUE);
		return -1;
	}
	sum->placeholders += st.placeholders;
	sum->pixel_inserted += st.pixel_inserted;
	sum->links_rewritten += st.links_rewritten;
	sum->links_kept += st.links_kept;
	sum->honeypots += st.honeypots;
	*qp = 0;
	switch (h->enc) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		mime_encode(enc_out, html, h->enc, h->eol);
		break;
	default: {
		/* folded in a copy: a part that cannot be folded is encoded unfolded */
		GString *folded = g_string_new_len(html->str, (gssize)html->len);
		if (mime_fold_lines(folded, h->eol, MIME_LINE_MAX, col) < 0) {
			*qp = 1;
			mime_encode(enc_out, html, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, h->eol);
		} else {
			g_string_append_len(enc_out, folded->str, (gssize)folded->len);
		}
		g_string_free(folded, TRUE);
		break;
	}
	}
	mime_set_ending(enc_out, h->eol, h->ends_eol);
	g_string_free(html, TRUE);
	return 0;
}

/* mime_doc_render - the new body with every HTML part rewritten */
int mime_doc_render(const struct mime_doc *d, const struct html_rewrite_opts *o,
		    struct mime_render *r, char *why, size_t whylen)
{
	const unsigned char *body = d->text->data + d->body_off;
	size_t blen = d->text->len - d->body_off, pos = 0;
	GString *part = g_string_new(NULL);

	memset(r, 0, sizeof(*r));
	r->body = g_byte_array_sized_new((guint)(blen + blen / 8 + 4096));
	for (guint i = 0; i < d->parts->len; i++) {
		const struct mime_html *h = g_ptr_array_index(d->parts, i);
		size_t from = h->start;
		int qp;

		if (h->start < pos || h->end > blen) {
			snprintf(why, whylen, "overlapping MIME parts");
			goto fail;
		}
		g_string_truncate(part, 0);
		if (mime_render_part(h, o, mime_column(body, h->start), part, &qp, &r->st, why,
				     whylen) < 0)
			goto fail;
		if (qp && h->top) {
			r->top_cte = g_strdup("quoted-printable");
		} else if (qp) {
			/* the part's Content-Transfer-Encoding line changes (or is added) */
			const char *line = "Content-Transfer-Encoding: quoted-printable";
			from = h->cte_end > h->cte_start ? h->cte_start : h->hdr_start;
			if (from < pos || from > h->start) {
				snprintf(why, whylen, "cannot change a part's transfer encoding");
				goto fail;
			}
			g_byte_array_append(r->body, body + pos, (guint)(from - pos));
			g_byte_array_append(r->body, (const guint8 *)line, (guint)strlen(line));
			g_byte_array_append(r->body, (const guint8 *)h->eol, (guint)strlen(h->eol));
			pos = h->cte_end > h->cte_start ? h->cte_end : from;
			from = h->start;
		}
		g_byte_array_append(r->body, body + pos, (guint)(from - pos));
		g_byte_array_append(r->body, (const guint8 *)part->str, (guint)part->len);
		pos = h->end;
	}
	g_byte_array_append(r->body, body + pos, (guint)(blen - pos));
	g_string_free(part, TRUE);
	/* a part that begins or ends inside a line of the MIME structure
	 * (broken input) may still make that line too long */
	if (mime_max_line(r->body->data, r->body->len) > MAX(MIME_LINE_MAX, mime_max_line(body, blen))) {
		snprintf(why, whylen, "cannot keep lines within %d octets", MIME_LINE_MAX);
		mime_render_clear(r);
		return -1;
	}
	return 0;
fail:
	g_string_free(part, TRUE);
	mime_render_clear(r);
	return -1;
}

/* mime_render_clear - free a rendered body */
void mime_render_clear(struct mime_render *r)
{
	if (r->body)
		g_byte_array_free(r->body, TRUE);
	g_free(r->top_cte);
	memset(r, 0, sizeof(*r));
}
