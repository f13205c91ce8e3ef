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

#include "attach.h"
#include "mime_rewrite.h"
#include "qp.h"

/* mime_link_wrap - the link callback seen by html_rewrite: normalise, then sign */
struct mime_link_wrap {
	html_link_fn fn;	/* the caller's callback */
	void *arg;		/* its argument */
	const char *charset;	/* the part's charset */
};

/* mime_url_escape - the octets a URL may not hold as they are */
static const unsigned char mime_url_escape[256] = {
	[0 ... 0x20] = 1, ['"'] = 1, ['<'] = 1, ['>'] = 1, [0x7f ... 0xff] = 1,
};

/* mime_url_normalize - UTF-8, with bytes a URL may not hold %-encoded */
char *mime_url_normalize(const char *url, const char *charset)
{
	static const char hex[] = "0123456789ABCDEF";
	char *utf8 = NULL, *out, *o;
	const unsigned char *u = (const unsigned char *)url;
	size_t len = strlen(url);

	for (size_t i = 0; i < len; i++) {
		if (u[i] >= 0x80) {
			if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
			    g_ascii_strcasecmp(charset, "us-ascii") != 0)
				utf8 = g_convert(url, -1, "UTF-8", charset, NULL, NULL, NULL);
			if (!utf8)
				utf8 = g_utf8_make_valid(url, -1);
			u = (const unsigned char *)utf8;
			len = strlen(utf8);
			break;
		}
	}
	o = out = g_malloc(3 * len + 1);
	for (const unsigned char *p = u, *end = u + len; p < end; p++) {
		if (mime_url_escape[*p]) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	g_free(utf8);
	return out;
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

/* mime_copy_runs - append IN to OUT in bulk, with REPL written instead of each byte C */
static void mime_copy_runs(GString *out, const char *in, size_t len, char c, const char *repl)
{
	const char *p = in, *end = in + len, *hit;

	while (p < end && (hit = memchr(p, c, (size_t)(end - p))) != NULL) {
		g_string_append_len(out, p, hit - p);
		g_string_append(out, repl);
		p = hit + 1;
	}
	g_string_append_len(out, p, end - p);
}

/* mime_encode - encode HTML for ENC with line ending EOL into OUT */
static void mime_encode(GString *out, const GString *html, int enc, const char *eol)
{
	GMimeEncoding st;
	size_t n;
	char *buf;

	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		/* CRLF is a hard line break there, not two octets to encode */
		qp_encode(out, (const guint8 *)html->str, html->len, eol);
		return;
	}
	g_mime_encoding_init_encode(&st, (GMimeContentEncoding)enc);
	buf = g_malloc(g_mime_encoding_outlen(&st, html->len) + 16);
	n = g_mime_encoding_flush(&st, html->str, html->len, buf);
	mime_copy_runs(out, buf, n, '\n', eol);
	g_free(buf);
}

/* mime_set_ending - make S end with EOL or not, like the original span; in
 * quoted-printable (QP) an added EOL is a soft break ("=" EOL), which decodes to
 * nothing: the span ended with one, or with a hard break S has already */
static void mime_set_ending(GString *s, const char *eol, int want, int qp)
{
	size_t l = strlen(eol);
	int has = s->len >= l && memcmp(s->str + s->len - l, eol, l) == 0;

	if (want && !has) {
		if (qp)
			g_string_append_c(s, '=');
		g_string_append(s, eol);
	}
	else if (!want && has)
		g_string_truncate(s, s->len - l);
}

/* mime_encode_part - CONTENT (decoded, rewritten) encoded as part H was, into ENC_OUT; *QP
 * set if it had to become quoted-printable */
static void mime_encode_part(const struct mime_html *h, GString *content, size_t col,
			     GString *enc_out, int *qp)
{
	*qp = 0;
	switch (h->enc) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		mime_encode(enc_out, content, h->enc, h->eol);
		break;
	default: {
		/* folded in a copy: a part that cannot be folded is encoded unfolded; 8-bit
		 * octets in a 7bit part need an encoding too */
		GString *folded = g_string_new_len(content->str, (gssize)content->len);
		int eight = 0;
		if (h->enc == GMIME_CONTENT_ENCODING_DEFAULT || h->enc == GMIME_CONTENT_ENCODING_7BIT)
			for (size_t i = 0; i < content->len && !eight; i++)
				eight = (unsigned char)content->str[i] >= 0x80;
		if (eight || mime_fold_lines(folded, h->eol, MIME_LINE_MAX, col) < 0) {
			*qp = 1;
			mime_encode(enc_out, content, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, h->eol);
		} else {
			g_string_append_len(enc_out, folded->str, (gssize)folded->len);
		}
		g_string_free(folded, TRUE);
		break;
	}
	}
	mime_set_ending(enc_out, h->eol, h->ends_eol,
	    *qp || h->enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

/* mime_render_part - the new bytes for one HTML part; *QP set if it had to become
 * quoted-printable */
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
	mime_encode_part(h, html, col, enc_out, qp);
	g_string_free(html, TRUE);
	return 0;
}

/* mime_text_lines - LINES (UTF-8, "\n" endings) in CHARSET (NULL: US-ASCII) with EOL; what
 * the charset lacks becomes '?' */
static GString *mime_text_lines(const char *lines, const char *charset, const char *eol)
{
	GString *out = g_string_new(NULL);
	char *conv = NULL;
	int utf8 = charset && (g_ascii_strcasecmp(charset, "utf-8") == 0 ||
			       g_ascii_strcasecmp(charset, "utf8") == 0);

	if (charset && !utf8 && g_ascii_strcasecmp(charset, "us-ascii") != 0)
		conv = g_convert_with_fallback(lines, -1, charset, "UTF-8", "?", NULL, NULL, NULL);
	if (!conv && !utf8) {
		/* US-ASCII, or a charset iconv does not know */
		GString *a = g_string_new(NULL);
		for (const char *c = lines; *c; c = g_utf8_next_char(c))
			g_string_append_c(a, (unsigned char)*c < 0x80 ? *c : '?');
		conv = g_string_free(a, FALSE);
	}
	mime_copy_runs(out, conv ? conv : lines, strlen(conv ? conv : lines), '\n', eol);
	g_free(conv);
	return out;
}

/* mime_render_text - text part H with the download lines appended after an empty line */
static void mime_render_text(const struct mime_html *h, const char *lines, size_t col,
			     GString *enc_out, int *qp)
{
	GString *text = g_string_sized_new(h->html->len + strlen(lines) + 64);
	GString *add = mime_text_lines(lines, h->charset, h->eol);
	size_t el = strlen(h->eol);

	g_string_append_len(text, (const char *)h->html->data, (gssize)h->html->len);
	if (text->len && text->str[text->len - 1] != '\n')
		g_string_append(text, h->eol);
	if (text->len && !(text->len >= 2 * el && text->str[text->len - 1 - el] == '\n'))
		g_string_append(text, h->eol);
	g_string_append_len(text, add->str, (gssize)add->len);
	mime_encode_part(h, text, col, enc_out, qp);
	g_string_free(text, TRUE);
	g_string_free(add, TRUE);
}

/* mime_splice - replace body bytes [from, to) with BYTES */
struct mime_splice {
	size_t from, to;	/* the span replaced */
	GString *bytes;		/* what goes there; NULL: nothing */
};

/* mime_splice_cmp - by start, a removal that contains another first */
static gint mime_splice_cmp(gconstpointer a, gconstpointer b)
{
	const struct mime_splice *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to > y->to ? -1 : x->to < y->to ? 1 : 0;
}

/* mime_splice_take - one more splice, of BYTES (NULL: a removal), which SP now owns */
static void mime_splice_take(GArray *sp, size_t from, size_t to, GString *bytes)
{
	struct mime_splice x = { from, to, bytes };

	g_array_append_val(sp, x);
}

/* mime_part_splices - the splices of one rewritten part H whose new content is PART
 * (which SP owns then, or which is freed on failure) */
static int mime_part_splices(GArray *sp, const struct mime_html *h, GString *part, int qp,
			     struct mime_render *r, char *why, size_t whylen)
{
	const char *line = "Content-Transfer-Encoding: quoted-printable";

	if (qp && h->top) {
		g_free(r->top_cte);
		r->top_cte = g_strdup("quoted-printable");
	} else if (qp) {
		/* the part's Content-Transfer-Encoding line changes (or is added) */
		size_t from = h->cte_end > h->cte_start ? h->cte_start : h->hdr_start;
		size_t to = h->cte_end > h->cte_start ? h->cte_end : from;
		GString *l;
		if (from > h->start) {
			snprintf(why, whylen, "cannot change a part's transfer encoding");
			g_string_free(part, TRUE);
			return -1;
		}
		l = g_string_new(line);
		g_string_append(l, h->eol);
		mime_splice_take(sp, from, to, l);
	}
	mime_splice_take(sp, h->start, h->end, part);
	return 0;
}

/* mime_cut_splices - one removal per attachment taken, or per multipart taken whole */
static void mime_cut_splices(GArray *sp, const struct mime_doc *d)
{
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		if (a->taken)
			mime_splice_take(sp, a->cut_start, a->cut_end, NULL);
	}
	for (guint i = 0; i < d->containers->len; i++) {
		const struct mime_container *c = &g_array_index(d->containers, struct mime_container, i);
		if (c->taken)
			mime_splice_take(sp, c->cut_start, c->cut_end, NULL);
	}
}

/* mime_doc_render - the new body: HTML parts rewritten, text parts extended, attachments cut */
int mime_doc_render(const struct mime_doc *d, const struct html_rewrite_opts *o,
		    struct mime_render *r, char *why, size_t whylen)
{
	const unsigned char *body = d->text->data + d->body_off;
	size_t blen = d->text->len - d->body_off, pos = 0, maxl;
	GArray *sp = g_array_new(FALSE, TRUE, sizeof(struct mime_splice));
	GString *part;
	struct html_rewrite_opts ho = *o;
	int qp, rc = -1;

	memset(r, 0, sizeof(*r));
	if (d->ntaken == 0)
		ho.download_html = NULL;	/* nothing to download */
	for (guint i = 0; i < d->parts->len; i++) {
		const struct mime_html *h = g_ptr_array_index(d->parts, i);

		part = g_string_sized_new((h->end - h->start) / 8 * 9 + 1024);
		if (mime_render_part(h, &ho, mime_column(body, h->start), part, &qp, &r->st, why,
				     whylen) < 0) {
			g_string_free(part, TRUE);
			goto done;
		}
		if (mime_part_splices(sp, h, part, qp, r, why, whylen) < 0)
			goto done;
	}
	if (d->ntaken > 0) {
		for (guint i = 0; o->download_text && i < d->texts->len; i++) {
			const struct mime_html *h = g_ptr_array_index(d->texts, i);

			part = g_string_sized_new(h->end - h->start + 1024);
			mime_render_text(h, o->download_text, mime_column(body, h->start), part, &qp);
			if (mime_part_splices(sp, h, part, qp, r, why, whylen) < 0)
				goto done;
		}
		mime_cut_splices(sp, d);
	}
	g_array_sort(sp, mime_splice_cmp);
	r->body = g_byte_array_sized_new((guint)(blen + blen / 8 + 4096));
	for (guint i = 0; i < sp->len; i++) {
		const struct mime_splice *x = &g_array_index(sp, struct mime_splice, i);

		if (x->from < pos && x->to <= pos && !x->bytes)
			continue;	/* a part inside a multipart already cut */
		if (x->from < pos || x->to < x->from || x->to > blen) {
			snprintf(why, whylen, "overlapping MIME parts");
			goto done;
		}
		g_byte_array_append(r->body, body + pos, (guint)(x->from - pos));
		if (x->bytes)
			g_byte_array_append(r->body, (const guint8 *)x->bytes->str, (guint)x->bytes->len);
		pos = x->to;
	}
	g_byte_array_append(r->body, body + pos, (guint)(blen - pos));
	/* a part that begins or ends inside a line of the MIME structure (broken input)
	 * may still make that line too long; the original's longest line is measured only
	 * when the new one is over the limit */
	maxl = mime_max_line(r->body->data, r->body->len);
	if (maxl > MIME_LINE_MAX && maxl > mime_max_line(body, blen)) {
		snprintf(why, whylen, "cannot keep lines within %d octets", MIME_LINE_MAX);
		goto done;
	}
	rc = 0;
done:
	for (guint i = 0; i < sp->len; i++)
		if (g_array_index(sp, struct mime_splice, i).bytes)
			g_string_free(g_array_index(sp, struct mime_splice, i).bytes, TRUE);
	g_array_free(sp, TRUE);
	if (rc < 0)
		mime_render_clear(r);
	return rc;
}

/* mime_render_clear - free a rendered body */
void mime_render_clear(struct mime_render *r)
{
	if (r->body)
		g_byte_array_free(r->body, TRUE);
	g_free(r->top_cte);
	memset(r, 0, sizeof(*r));
}
