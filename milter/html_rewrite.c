/*
 * html_rewrite.c - pixel and click rewriting of one HTML part.
 *
 * DESCRIPTION
 *	One pass of the tokenizer (html_scan.c) over the part.  Output is
 *	the input copied in runs: a cursor marks how much of the input is
 *	already in OUT; an edit copies up to the bytes it replaces, writes
 *	the new bytes and moves the cursor past the old ones.  Tags that are
 *	not edited are never written by hand, so their case, quoting and
 *	spacing survive.
 *
 *	The pixel's place when there is no placeholder (the last </body>),
 *	which is also the hidden link's, is only known at the end; its
 *	offset in OUT is remembered and the markup inserted once.  Whether an <a> shows a URL as its text is
 *	decided by a second scanner that reads ahead from the tag to the
 *	first eight visible characters, the </a> or the next <a>, whichever
 *	comes first; each byte is read ahead at most once, so the whole
 *	rewrite stays linear.
 */
#include <string.h>

#include "html_rewrite.h"
#include "html_scan.h"

/* HTML_TEXT_PEEK - visible characters read to tell a URL from text */
#define HTML_TEXT_PEEK 8

/* html_rw - state of one rewrite */
struct html_rw {
	const char *h;			/* the part */
	size_t len;			/* its length */
	const struct html_rewrite_opts *o;	/* what to do */
	struct html_rewrite_stats *st;	/* what was done */
	GString *out;			/* where it goes */
	size_t copied;			/* input bytes [0, copied) are in out */
	GString *url;			/* scratch: a decoded URL */
	GString *click;			/* scratch: the callback's URL */
	gssize body_at;			/* out offset of the last </body>, or -1 */
	gssize end_at;			/* out offset before what is open at EOF, or -1 */
	size_t start_at;		/* out offset of the last start tag */
};

/* html_rw_at - where input offset POS (not yet copied) lands in out */
static size_t html_rw_at(const struct html_rw *rw, size_t pos)
{
	return rw->out->len + (pos - rw->copied);
}

/* html_rw_copy - copy the input up to POS into out */
static void html_rw_copy(struct html_rw *rw, size_t pos)
{
	g_string_append_len(rw->out, rw->h + rw->copied, pos - rw->copied);
	rw->copied = pos;
}

/* html_escape_len - append S[0..N) (NUL-terminated) escaped for a
 * double-quoted attribute */
static void html_escape_len(GString *out, const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		j = i + strcspn(s + i, "&<>\"'");
		if (j > n)
			j = n;
		g_string_append_len(out, s + i, j - i);
		if (j == n)
			break;
		switch (s[j]) {
		case '&':
			g_string_append_len(out, "&amp;", 5);
			break;
		case '<':
			g_string_append_len(out, "&lt;", 4);
			break;
		case '>':
			g_string_append_len(out, "&gt;", 4);
			break;
		case '"':
			g_string_append_len(out, "&quot;", 6);
			break;
		case '\'':
			g_string_append_len(out, "&#39;", 5);
			break;
		default:	/* a NUL byte */
			g_string_append_c(out, s[j]);
			break;
		}
		i = j + 1;
	}
}

/* html_escape_attr - append S escaped for a double-quoted attribute value */
void html_escape_attr(GString *out, const char *s)
{
	html_escape_len(out, s, strlen(s));
}

/* html_attr_url - attribute A's value decoded into URL, C0 controls and
 * spaces trimmed, tab/CR/LF removed (as a browser reads it); 0 if it
 * holds a NUL byte and cannot be passed on as a string */
static int html_attr_url(const char *h, const struct html_attr *a, GString *url)
{
	size_t i, j, s, e;
	char *u, c;

	g_string_truncate(url, 0);
	html_decode(url, h + a->value, a->value_len, 1);
	u = url->str;
	for (s = 0; s < url->len && (unsigned char)u[s] <= 0x20; s++)
		;
	for (e = url->len; e > s && (unsigned char)u[e - 1] <= 0x20; e--)
		;
	if (memchr(u + s, '\0', e - s) != NULL)
		return 0;
	if (memchr(u + s, '\n', e - s) == NULL &&
	    memchr(u + s, '\r', e - s) == NULL &&
	    memchr(u + s, '\t', e - s) == NULL) {
		if (s > 0)
			memmove(u, u + s, e - s);
		g_string_truncate(url, e - s);
		return 1;
	}
	for (i = s, j = 0; i < e; i++) {
		c = u[i];
		if (c != '\t' && c != '\n' && c != '\r')
			u[j++] = c;
	}
	g_string_truncate(url, j);
	return 1;
}

/* html_prefix - does S begin with PREFIX (lower case), ASCII
 * case-insensitively? */
static int html_prefix(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if ((*s >= 'A' && *s <= 'Z' ? *s + 32 : *s) != *prefix)
			return 0;
	return 1;
}

/* html_is_http - does URL have scheme http or https? */
static int html_is_http(const char *url)
{
	return html_prefix(url, "http:") || html_prefix(url, "https:");
}

/* html_is_kept - is URL one of KEEP? */
static int html_is_kept(const char *const *keep, const char *url)
{
	for (; keep != NULL && *keep != NULL; keep++)
		if (strcmp(*keep, url) == 0)
			return 1;
	return 0;
}

/* html_text_is_url - does the visible text of the <a> whose start tag
 * ends at FROM begin with http://, https:// or www.? */
static int html_text_is_url(const char *h, size_t len, size_t from)
{
	struct html_scan s;
	struct html_token t;
	char buf[HTML_TEXT_PEEK + 1];
	size_t n = 0, i;
	unsigned char b;
	long cp;

	html_scan_init(&s, h, len);
	s.pos = from;
	while (n < HTML_TEXT_PEEK && html_scan_next(&s, &t)) {
		if ((t.type == HTML_TOK_START || t.type == HTML_TOK_END) &&
		    html_name_is(h + t.name, t.name_len, "a"))
			break;
		if (t.type != HTML_TOK_TEXT)
			continue;
		for (i = t.start; i < t.end && n < HTML_TEXT_PEEK;) {
			cp = html_decode_char(h, t.end, &i, 0, &b);
			if (cp < 0 && n == 0 && b == 0xc2 && i < t.end &&
			    (unsigned char)h[i] == 0xa0) {
				i++;	/* UTF-8 no-break space */
				continue;
			}
			if (cp >= 0)
				b = cp == 0xa0 ? ' ' : cp < 0x80 ? (unsigned char)cp : 0x80;
			if (n == 0 && (b == ' ' || b == '\t' || b == '\n' ||
			    b == '\r' || b == '\f' || b == 0xa0))
				continue;
			buf[n++] = (char)b;
		}
	}
	buf[n] = '\0';
	return html_prefix(buf, "http://") || html_prefix(buf, "https://") ||
	    html_prefix(buf, "www.");
}

/* html_rw_pixel - append the pixel markup */
static void html_rw_pixel(GString *out, const char *pixel_url)
{
	g_string_append(out, "<img src=\"");
	html_escape_attr(out, pixel_url);
	g_string_append(out, "\" width=\"1\" height=\"1\" alt=\"\" "
	    "style=\"display:block;border:0;width:1px;height:1px\">");
}

/* html_rw_honeypot - append the hidden link to URL: hidden from rendering (also in
 * Outlook's Word engine, mso-hide), from screen readers and from the keyboard, no text */
static void html_rw_honeypot(GString *out, const char *url)
{
	g_string_append(out, "<span style=\"display:none;mso-hide:all\" aria-hidden=\"true\">"
	    "<a href=\"");
	html_escape_attr(out, url);
	g_string_append(out, "\" tabindex=\"-1\" aria-hidden=\"true\" "
	    "style=\"display:none;mso-hide:all\"></a></span>");
}

/* html_rw_img - replace the <img> T if it is the placeholder */
static void html_rw_img(struct html_rw *rw, const struct html_token *t)
{
	struct html_attr a;

	if (!html_tag_attr(rw->h, rw->len, t, "src", &a) || !a.has_value ||
	    !html_attr_url(rw->h, &a, rw->url) ||
	    strcmp(rw->url->str, rw->o->placeholder_url) != 0)
		return;
	html_rw_copy(rw, t->start);
	if (rw->st->placeholders == 0 && rw->o->pixel_url != NULL)
		html_rw_pixel(rw->out, rw->o->pixel_url);
	rw->copied = t->end;
	rw->st->placeholders++;
}

/* html_is_off - is attribute A data-beacon="off"? */
static int html_is_off(const char *h, const struct html_attr *a, GString *tmp)
{
	g_string_truncate(tmp, 0);
	html_decode(tmp, h + a->value, a->value_len, 1);
	if (memchr(tmp->str, '\0', tmp->len) != NULL)
		return 0;
	return g_ascii_strcasecmp(g_strstrip(tmp->str), "off") == 0;
}

/* html_rw_link - rewrite the <a> or <area> T; -1 if the callback failed */
static int html_rw_link(struct html_rw *rw, const struct html_token *t, int is_a)
{
	const struct html_rewrite_opts *o = rw->o;
	struct html_attr_iter it;
	struct html_attr a, href = { 0 }, off = { 0 };
	int have_href = 0, have_off = 0, http = 0, r;

	html_attr_begin(&it, rw->h, t->end, t->attrs);
	while (html_attr_next(&it, &a)) {
		if (!have_href && html_name_is(rw->h + a.name, a.name_len, "href")) {
			href = a;
			have_href = 1;
		} else if (!have_off && html_name_is(rw->h + a.name, a.name_len,
		    "data-beacon")) {
			off = a;
			have_off = 1;
		}
	}
	if (o->clicks && have_href && href.has_value &&
	    html_attr_url(rw->h, &href, rw->url))
		http = html_is_http(rw->url->str);
	if (have_off && html_is_off(rw->h, &off, rw->click)) {
		html_rw_copy(rw, off.lead);
		rw->copied = off.end;
		rw->st->links_kept += http;
		return 0;
	}
	if (!http)
		return 0;
	if (html_is_kept(o->keep_urls, rw->url->str) ||
	    (is_a && !o->track_literal_urls &&
	    html_text_is_url(rw->h, rw->len, t->end))) {
		rw->st->links_kept++;
		return 0;
	}
	g_string_truncate(rw->click, 0);
	r = o->link(o->link_arg, rw->url->str, rw->click);
	if (r < 0)
		return -1;
	if (r == 0) {
		rw->st->links_kept++;
		return 0;
	}
	html_rw_copy(rw, href.vstart);
	g_string_append_c(rw->out, '"');
	html_escape_len(rw->out, rw->click->str, rw->click->len);
	g_string_append_c(rw->out, '"');
	rw->copied = href.end;
	rw->st->links_rewritten++;
	return 0;
}

/* html_rw_token - handle one token; -1 on failure */
static int html_rw_token(struct html_rw *rw, const struct html_token *t)
{
	const char *name = rw->h + t->name;

	switch (t->type) {
	case HTML_TOK_START:
		rw->start_at = html_rw_at(rw, t->start);
		if (t->name_len == 3 && rw->o->placeholder_url != NULL &&
		    html_name_is(name, 3, "img"))
			html_rw_img(rw, t);
		else if (t->name_len == 1 && (name[0] | 0x20) == 'a')
			return html_rw_link(rw, t, 1);
		else if (t->name_len == 4 && html_name_is(name, 4, "area"))
			return html_rw_link(rw, t, 0);
		break;
	case HTML_TOK_END:
		if (t->name_len == 4 && html_name_is(name, 4, "body"))
			rw->body_at = html_rw_at(rw, t->start);
		break;
	case HTML_TOK_RAWTEXT:
		if (t->open)
			rw->end_at = rw->start_at;
		break;
	case HTML_TOK_BROKEN:
		rw->end_at = html_rw_at(rw, t->start);
		break;
	case HTML_TOK_COMMENT:
	case HTML_TOK_DECL:
	case HTML_TOK_CDATA:
	case HTML_TOK_BOGUS:
		if (t->open)
			rw->end_at = html_rw_at(rw, t->start);
		break;
	default:
		break;
	}
	return 0;
}

/* html_rewrite - rewrite HTML[0..LEN) into OUT; 0 ok, -1 on failure */
int html_rewrite(const char *html, size_t len, const struct html_rewrite_opts *o,
    GString *out, struct html_rewrite_stats *st)
{
	struct html_rewrite_stats dummy;
	struct html_rw rw;
	struct html_scan s;
	struct html_token t;
	GString *px;
	size_t at, out0;
	int r = 0, pixel;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (o == NULL || out == NULL || (html == NULL && len > 0) ||
	    (o->clicks && o->link == NULL))
		return -1;
	if (html == NULL)
		html = "";
	out0 = out->len;
	g_string_set_size(out, out0 + len + 512);	/* one allocation */
	g_string_truncate(out, out0);
	memset(&rw, 0, sizeof(rw));
	rw.h = html;
	rw.len = len;
	rw.o = o;
	rw.st = st;
	rw.out = out;
	rw.url = g_string_sized_new(256);
	rw.click = g_string_sized_new(256);
	rw.body_at = -1;
	rw.end_at = -1;
	html_scan_init(&s, html, len);
	while (r == 0 && html_scan_next(&s, &t))
		r = html_rw_token(&rw, &t);
	if (r == 0) {
		html_rw_copy(&rw, len);
		pixel = o->pixel_url != NULL && st->placeholders == 0;
		if (pixel || o->honeypot_url != NULL || o->download_html != NULL) {
			at = rw.body_at >= 0 ? (size_t)rw.body_at :
			    rw.end_at >= 0 ? (size_t)rw.end_at : out->len;
			px = g_string_sized_new(512);
			if (o->download_html != NULL)
				g_string_append(px, o->download_html);
			if (pixel)
				html_rw_pixel(px, o->pixel_url);
			if (o->honeypot_url != NULL)
				html_rw_honeypot(px, o->honeypot_url);
			g_string_insert_len(out, (gssize)at, px->str, (gssize)px->len);
			g_string_free(px, TRUE);
			st->pixel_inserted = pixel;
			st->honeypots = o->honeypot_url != NULL;
		}
	} else {
		g_string_truncate(out, out0);
		memset(st, 0, sizeof(*st));
	}
	g_string_free(rw.url, TRUE);
	g_string_free(rw.click, TRUE);
	return r;
}

/* html_has_placeholder - does HTML hold an <img> whose src (entity-decoded)
 * equals URL? */
int html_has_placeholder(const char *html, size_t len, const char *url)
{
	struct html_scan s;
	struct html_token t;
	struct html_attr a;
	GString *u;
	int found = 0;

	if (html == NULL || url == NULL)
		return 0;
	u = g_string_sized_new(256);
	html_scan_init(&s, html, len);
	while (!found && html_scan_next(&s, &t))
		if (t.type == HTML_TOK_START &&
		    html_name_is(html + t.name, t.name_len, "img") &&
		    html_tag_attr(html, len, &t, "src", &a) && a.has_value &&
		    html_attr_url(html, &a, u) && strcmp(u->str, url) == 0)
			found = 1;
	g_string_free(u, TRUE);
	return found;
}
