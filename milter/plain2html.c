/*
 * NAME
 *	plain2html.c - multipart/alternative with an HTML twin for a
 *	text-only message
 *
 * DESCRIPTION
 *	See plain2html.h.  GMime parses the Content-Type and decodes the
 *	transfer encoding; the text part keeps the original body bytes, so
 *	a reader that prefers text sees exactly what was sent.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "plain2html.h"

/* plain2html_escape - append S[0..LEN) HTML-escaped; blanks at the start or after a blank
 * become &nbsp; */
static void plain2html_escape(GString *out, const char *s, size_t len, int *after_blank)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\t': g_string_append(out, "&nbsp;&nbsp;&nbsp;&nbsp;"); break;
		case ' ':
			g_string_append(out, *after_blank ? "&nbsp;" : " ");
			break;
		default: g_string_append_c(out, s[i]); break;
		}
		*after_blank = s[i] == ' ' || s[i] == '\t';
	}
}

/* plain2html_url_len - length of the http(s) URL starting at S (0 if none there) */
static size_t plain2html_url_len(const char *s, size_t len)
{
	size_t n, scheme, open = 0, close = 0;

	if (len >= 8 && g_ascii_strncasecmp(s, "https://", 8) == 0)
		scheme = 8;
	else if (len >= 7 && g_ascii_strncasecmp(s, "http://", 7) == 0)
		scheme = 7;
	else
		return 0;
	for (n = scheme; n < len; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"')
			break;
		open += c == '(';
		close += c == ')';
	}
	/* punctuation that ends a sentence, and a ) that closes text around the URL */
	while (n > scheme) {
		char c = s[n - 1];
		if (strchr(".,;:!?'*", c))
			n--;
		else if (c == ')' && close > open)
			n--, close--;
		else
			break;
	}
	return n > scheme ? n : 0;
}

/* plain2html_line - one line of text as HTML, its URLs made links */
static void plain2html_line(GString *out, const char *s, size_t len)
{
	size_t i = 0, from = 0;
	int after_blank = 1;

	while (i < len) {
		size_t u = 0;
		if ((s[i] == 'h' || s[i] == 'H') && (i == 0 || !g_ascii_isalnum(s[i - 1])))
			u = plain2html_url_len(s + i, len - i);
		if (!u) {
			i++;
			continue;
		}
		plain2html_escape(out, s + from, i - from, &after_blank);
		g_string_append(out, "<a href=\"");
		plain2html_escape(out, s + i, u, &(int){ 0 });
		g_string_append(out, "\">");
		after_blank = 0;
		plain2html_escape(out, s + i, u, &after_blank);
		g_string_append(out, "</a>");
		i += u;
		from = i;
	}
	plain2html_escape(out, s + from, len - from, &after_blank);
}

/* plain2html_quote_depth - the number of leading '>' of a flowed line */
static size_t plain2html_quote_depth(const char *s, size_t len)
{
	size_t d = 0;

	while (d < len && s[d] == '>')
		d++;
	return d;
}

/* plain2html_lines - the logical lines of TEXT: physical lines, or flowed paragraphs (RFC 3676) */
static GPtrArray *plain2html_lines(const char *text, size_t len, int flowed, int delsp)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	GString *cur = NULL;
	size_t start = 0, depth = 0;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len, l = end - start, d, body;
		const char *s = text + start;
		int soft;

		start = end + 1;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		if (!flowed) {
			g_ptr_array_add(lines, g_strndup(s, l));
			continue;
		}
		d = plain2html_quote_depth(s, l);
		body = d < l && s[d] == ' ' ? d + 1 : d;	/* space-stuffing */
		/* a soft break continues only at the same quote depth */
		if (cur && d != depth) {
			g_ptr_array_add(lines, g_string_free(cur, FALSE));
			cur = NULL;
		}
		if (!cur) {
			cur = g_string_new_len(s, (gssize)d);
			if (d)
				g_string_append_c(cur, ' ');
			depth = d;
		}
		soft = l > body && s[l - 1] == ' ' && !(l - body == 3 && memcmp(s + body, "-- ", 3) == 0);
		g_string_append_len(cur, s + body, (gssize)(l - body - (soft && delsp ? 1 : 0)));
		if (!soft) {
			g_ptr_array_add(lines, g_string_free(cur, FALSE));
			cur = NULL;
		}
	}
	if (cur)
		g_ptr_array_add(lines, g_string_free(cur, FALSE));
	return lines;
}

/* plain2html_html - the whole HTML document: one <br> between lines */
GString *plain2html_html(const char *text, size_t len, int flowed, int delsp)
{
	GString *out = g_string_sized_new(len + len / 4 + 256);
	GPtrArray *lines = plain2html_lines(text, len, flowed, delsp);

	g_string_append(out, "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" "
			"content=\"text/html; charset=utf-8\"></head>\n<body>\n<div>");
	for (guint i = 0; i < lines->len; i++) {
		const char *l = g_ptr_array_index(lines, i);
		if (i)
			g_string_append(out, "<br>\n");
		plain2html_line(out, l, strlen(l));
	}
	g_string_append(out, "</div>\n</body></html>\n");
	g_ptr_array_free(lines, TRUE);
	return out;
}

/* plain2html_decode - BODY decoded from ENC into UTF-8 from CHARSET */
static char *plain2html_decode(const unsigned char *body, size_t len, GMimeContentEncoding enc,
			const char *charset, size_t *outlen)
{
	char *raw = g_malloc(len + 16), *utf8 = NULL;
	size_t n = len;

	if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		GMimeEncoding st;
		g_mime_encoding_init_decode(&st, enc);
		raw = g_realloc(raw, g_mime_encoding_outlen(&st, len) + 16);
		n = g_mime_encoding_flush(&st, (const char *)body, len, raw);
	} else {
		memcpy(raw, body, len);
	}
	raw[n] = '\0';
	if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0)
		utf8 = g_convert(raw, (gssize)n, "UTF-8", charset, NULL, NULL, NULL);
	if (!utf8)
		utf8 = g_utf8_make_valid(raw, (gssize)n);
	g_free(raw);
	*outlen = strlen(utf8);
	return utf8;
}

/* plain2html_qp - HTML as quoted-printable with line ends EOL, appended to OUT */
static void plain2html_qp(GByteArray *out, const GString *html, const char *eol)
{
	GMimeEncoding st;
	char *buf;
	size_t n;

	g_mime_encoding_init_encode(&st, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	buf = g_malloc(g_mime_encoding_outlen(&st, html->len) + 16);
	n = g_mime_encoding_flush(&st, html->str, html->len, buf);
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			g_byte_array_append(out, (const guint8 *)eol, (guint)strlen(eol));
		else
			g_byte_array_append(out, (const guint8 *)&buf[i], 1);
	}
	g_free(buf);
}

/* plain2html_append - append the string S to B */
static void plain2html_append(GByteArray *b, const char *s)
{
	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
}

/* plain2html_append_value - append header value S with its folds ended by EOL */
static void plain2html_append_value(GByteArray *b, const char *s, const char *eol)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			plain2html_append(b, eol);
		else
			g_byte_array_append(b, (const guint8 *)p, 1);
	}
}

/* plain2html_boundary - a boundary that does not occur in BODY */
static char *plain2html_boundary(const unsigned char *body, size_t len)
{
	for (;;) {
		char *b = g_strdup_printf("=_beacon_%08x%08x", g_random_int(), g_random_int());
		if (!memmem(body, len, b, strlen(b)))
			return b;
		g_free(b);
	}
}

/* plain2html_src - what the top-level headers say about the text */
struct plain2html_src {
	const char *ct_raw;		/* Content-Type as received, or NULL */
	const char *cte_raw;		/* Content-Transfer-Encoding as received, or NULL */
	GMimeContentType *ct;		/* ct_raw parsed, or NULL */
	GMimeContentEncoding enc;	/* the transfer encoding */
	const char *charset;		/* charset=, or NULL */
	int flowed;			/* format=flowed */
	int delsp;			/* delsp=yes */
};

/* plain2html_source - is M text-only in an encoding we read? 0, or -1 with WHY */
static int plain2html_source(const struct msg_ctx *m, struct plain2html_src *src, char *why,
			     size_t whylen)
{
	const char *disp = msg_header_get(m, "Content-Disposition"), *format, *delsp;

	memset(src, 0, sizeof(*src));
	src->ct_raw = msg_header_get(m, "Content-Type");
	src->cte_raw = msg_header_get(m, "Content-Transfer-Encoding");
	src->enc = GMIME_CONTENT_ENCODING_DEFAULT;
	if (src->ct_raw) {
		src->ct = g_mime_content_type_parse(NULL, src->ct_raw);
		if (!src->ct || !g_mime_content_type_is_type(src->ct, "text", "plain")) {
			snprintf(why, whylen, "no text/html part");
			return -1;
		}
		src->charset = g_mime_content_type_get_parameter(src->ct, "charset");
		format = g_mime_content_type_get_parameter(src->ct, "format");
		delsp = g_mime_content_type_get_parameter(src->ct, "delsp");
		src->flowed = format && g_ascii_strcasecmp(format, "flowed") == 0;
		src->delsp = delsp && g_ascii_strcasecmp(delsp, "yes") == 0;
	}
	if (disp && g_ascii_strncasecmp(disp + strspn(disp, " \t"), "attachment", 10) == 0) {
		snprintf(why, whylen, "text-only message is an attachment");
		return -1;
	}
	if (src->cte_raw) {
		char *v = g_strstrip(g_strdup(src->cte_raw));
		src->enc = g_mime_content_encoding_from_string(v);
		g_free(v);
		if (src->enc == GMIME_CONTENT_ENCODING_UUENCODE) {
			snprintf(why, whylen, "text in unsupported transfer encoding");
			return -1;
		}
	}
	return 0;
}

/* plain2html_eol - the line end BODY uses (CRLF when it has none) */
static const char *plain2html_eol(const unsigned char *body, size_t len)
{
	const unsigned char *nl = memchr(body, '\n', len);

	return nl && nl > body && nl[-1] == '\r' ? "\r\n" : (nl ? "\n" : "\r\n");
}

/* plain2html_header_block - the header block the parser reads (Subject, Message-ID, To, Cc
 * for the rows); the MTA gets the changes as header edits */
static void plain2html_header_block(GByteArray *out, const struct msg_ctx *m,
				    const char *content_type)
{
	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		if (g_ascii_strcasecmp(h->name, "Content-Type") == 0 ||
		    g_ascii_strcasecmp(h->name, "Content-Transfer-Encoding") == 0 ||
		    g_ascii_strcasecmp(h->name, "MIME-Version") == 0)
			continue;
		plain2html_append(out, h->name);
		plain2html_append(out, ": ");
		plain2html_append_value(out, h->value, "\r\n");
		plain2html_append(out, "\r\n");
	}
	plain2html_append(out, "MIME-Version: 1.0\r\nContent-Type: ");
	plain2html_append(out, content_type);
	plain2html_append(out, "\r\n\r\n");
}

/* plain2html_delimiter - "--BOUNDARY" (and "--" when LAST) and EOL */
static void plain2html_delimiter(GByteArray *out, const char *boundary, int last, const char *eol)
{
	plain2html_append(out, "--");
	plain2html_append(out, boundary);
	if (last)
		plain2html_append(out, "--");
	plain2html_append(out, eol);
}

/* plain2html_parts - the multipart body: the text part as it came, then the HTML twin */
static void plain2html_parts(GByteArray *out, const struct plain2html_src *src,
			     const unsigned char *body, size_t blen, const GString *html,
			     const char *boundary, const char *eol)
{
	plain2html_delimiter(out, boundary, 0, eol);
	plain2html_append(out, "Content-Type: ");
	plain2html_append_value(out, src->ct_raw ? src->ct_raw : "text/plain; charset=us-ascii",
				eol);
	plain2html_append(out, eol);
	if (src->cte_raw) {
		plain2html_append(out, "Content-Transfer-Encoding: ");
		plain2html_append_value(out, src->cte_raw, eol);
		plain2html_append(out, eol);
	}
	plain2html_append(out, eol);
	g_byte_array_append(out, body, (guint)blen);
	plain2html_append(out, eol);
	plain2html_delimiter(out, boundary, 0, eol);
	plain2html_append(out, "Content-Type: text/html; charset=utf-8");
	plain2html_append(out, eol);
	plain2html_append(out, "Content-Transfer-Encoding: quoted-printable");
	plain2html_append(out, eol);
	plain2html_append(out, eol);
	plain2html_qp(out, html, eol);
	plain2html_append(out, eol);
	plain2html_delimiter(out, boundary, 1, eol);
}

/* plain2html_convert - build the multipart/alternative message */
struct plain2html *plain2html_convert(const struct msg_ctx *m, char *why, size_t whylen)
{
	struct plain2html_src src;
	const unsigned char *body;
	struct plain2html *p;
	size_t blen, tlen;
	char *text, *boundary;
	GString *html;

	if (!m->text) {
		snprintf(why, whylen, "no message");
		return NULL;
	}
	if (plain2html_source(m, &src, why, whylen) < 0) {
		if (src.ct)
			g_object_unref(src.ct);
		return NULL;
	}
	body = msg_body(m, &blen);
	text = plain2html_decode(body, blen, src.enc, src.charset, &tlen);
	html = plain2html_html(text, tlen, src.flowed, src.delsp);
	g_free(text);

	p = g_new0(struct plain2html, 1);
	boundary = plain2html_boundary(body, blen);
	p->content_type = g_strdup_printf("multipart/alternative; boundary=\"%s\"", boundary);
	p->cte = src.enc == GMIME_CONTENT_ENCODING_8BIT ||
		 src.enc == GMIME_CONTENT_ENCODING_BINARY ? g_strdup("8bit") : NULL;
	p->add_mime_version = msg_header_get(m, "MIME-Version") == NULL;
	p->text = g_byte_array_sized_new((guint)(blen * 2 + html->len + 1024));
	plain2html_header_block(p->text, m, p->content_type);
	p->body_off = p->text->len;
	plain2html_parts(p->text, &src, body, blen, html, boundary, plain2html_eol(body, blen));
	g_free(boundary);
	g_string_free(html, TRUE);
	if (src.ct)
		g_object_unref(src.ct);
	return p;
}

/* plain2html_free - release a conversion */
void plain2html_free(struct plain2html *p)
{
	if (!p)
		return;
	if (p->text)
		g_byte_array_free(p->text, TRUE);
	g_free(p->content_type);
	g_free(p->cte);
	g_free(p);
}
