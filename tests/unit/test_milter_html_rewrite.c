/*
 * test_milter_html_rewrite.c - unit tests of the HTML rewriter (milter/html_rewrite.c).
 *
 * DESCRIPTION
 *	A table of documents, the options each is rewritten with, and the
 *	exact bytes, counters and signed URLs that must come out.  The link
 *	callback writes https://t.example/c/N?u=URL, so the output shows both
 *	which links were signed, in what order, and that the URL was decoded
 *	before signing and escaped when written back.  Then the golden files
 *	tests/fixtures/html/NAME.html -> NAME.out (with the hidden link),
 *	failure paths,
 *	html_has_placeholder() and html_escape_attr().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "html_rewrite.h"

#define PH	"https://t.example/p.gif"
#define PXURL	"https://t.example/o/TOK.gif"
#define PIX	"<img src=\"" PXURL "\" width=\"1\" height=\"1\" alt=\"\" " \
		"style=\"display:block;border:0;width:1px;height:1px\">"

/* case flags */
#define F_PIXEL		0x01	/* pixel_url set */
#define F_NOCLICKS	0x02	/* clicks off */
#define F_LITERAL	0x04	/* track_literal_urls on */
#define F_KEEP		0x08	/* keep_urls set */
#define F_REFUSE	0x10	/* the callback keeps every link */
#define F_NOPH		0x20	/* no placeholder_url */
#define F_HIDDEN	0x40	/* honeypot_url set */

#define HPURL	"https://t.example/c/TOK/0/MAC?u=aHR0cHM&x=1"
#define HIDDEN	"<span style=\"display:none;mso-hide:all\" aria-hidden=\"true\">" \
		"<a href=\"https://t.example/c/TOK/0/MAC?u=aHR0cHM&amp;x=1\" tabindex=\"-1\" " \
		"aria-hidden=\"true\" style=\"display:none;mso-hide:all\"></a></span>"

/* rw_case - one document, options and expected result */
struct rw_case {
	const char *name;	/* what it shows */
	const char *in;		/* document */
	size_t in_len;		/* its length; 0: strlen */
	int flags;		/* F_* */
	const char *want;	/* exact output */
	size_t want_len;	/* its length; 0: strlen */
	int placeholders;	/* expected stats */
	int pixel;
	int rewritten;
	int kept;
	const char *urls;	/* URLs the callback saw, '\n'-separated */
};

/* signer - the test callback's state */
struct signer {
	int n;			/* links signed */
	int refuse;		/* return 0 */
	int fail;		/* return -1 */
	GString *seen;		/* URLs passed, '\n'-separated */
};

/* sign - test link callback: https://t.example/c/N?u=URL */
static int sign(void *arg, const char *url, GString *out)
{
	struct signer *s = arg;

	if (s->seen->len > 0)
		g_string_append_c(s->seen, '\n');
	g_string_append(s->seen, url);
	if (s->fail)
		return -1;
	if (s->refuse)
		return 0;
	g_string_append_printf(out, "https://t.example/c/%d?u=%s", ++s->n, url);
	return 1;
}

static const char *const keep_list[] = {
	"https://x.example/unsub?u=1&l=2", "mailto:unsub@x.example", NULL
};

static const struct rw_case rw_cases[] = {
	{ "amp in query string",
	  "<a href=\"http://x.example/?a=1&amp;b=2&amp;c=%26\">go</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/?a=1&amp;b=2&amp;c=%26\">go</a>", 0,
	  0, 0, 1, 0, "http://x.example/?a=1&b=2&c=%26" },
	{ "bare amp and legacy entity names in query string",
	  "<a href=\"http://x.example/?a=1&b=2&copy=3&lt=4&reg=5&regx\">go</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/?a=1&amp;b=2&amp;copy=3&amp;lt=4&amp;reg=5&amp;regx\">go</a>", 0,
	  0, 0, 1, 0, "http://x.example/?a=1&b=2&copy=3&lt=4&reg=5&regx" },
	{ "parentheses",
	  "<a href=\"https://en.wikipedia.org/wiki/Mercury_(planet)\">m</a>"
	  "<a href=https://x.example/(a)(b)>n</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=https://en.wikipedia.org/wiki/Mercury_(planet)\">m</a>"
	  "<a href=\"https://t.example/c/2?u=https://x.example/(a)(b)\">n</a>", 0,
	  0, 0, 2, 0,
	  "https://en.wikipedia.org/wiki/Mercury_(planet)\nhttps://x.example/(a)(b)" },
	{ "spaces and line breaks trimmed",
	  "<a href=\"  http://x.example/a\r\nb \n\">t</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/ab\">t</a>", 0,
	  0, 0, 1, 0, "http://x.example/ab" },
	{ "upper case, unquoted",
	  "<A HREF=HTTP://X.example/A?b=1 TARGET=_blank>X</A><AREA SHAPE=rect HREF=Https://y.example/>",
	  0, 0,
	  "<A HREF=\"https://t.example/c/1?u=HTTP://X.example/A?b=1\" TARGET=_blank>X</A>"
	  "<AREA SHAPE=rect HREF=\"https://t.example/c/2?u=Https://y.example/\">", 0,
	  0, 0, 2, 0, "HTTP://X.example/A?b=1\nHttps://y.example/" },
	{ "unquoted value at the tag's end and spaces around '='",
	  "<a href = http://x.example/p/>t</a>", 0, 0,
	  "<a href = \"https://t.example/c/1?u=http://x.example/p/\">t</a>", 0,
	  0, 0, 1, 0, "http://x.example/p/" },
	{ "single quotes, quotes in the URL",
	  "<a class='c' href='http://x.example/\"q\"&#39;' id=i>t</a>", 0, 0,
	  "<a class='c' href=\"https://t.example/c/1?u=http://x.example/&quot;q&quot;&#39;\" id=i>t</a>", 0,
	  0, 0, 1, 0, "http://x.example/\"q\"'" },
	{ "entity-encoded scheme",
	  "<a href=\"http&colon;//x.example/&#x3F;a=1\">t</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/?a=1\">t</a>", 0,
	  0, 0, 1, 0, "http://x.example/?a=1" },
	{ "first href wins",
	  "<a href=\"http://a.example/\" href=\"http://b.example/\">t</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://a.example/\" href=\"http://b.example/\">t</a>", 0,
	  0, 0, 1, 0, "http://a.example/" },
	{ "comments and conditional comments",
	  "<!-- <a href=\"http://x.example/\">x</a> -->"
	  "<!--[if mso]><a href=\"http://y.example/\">y</a><img src=\"" PH "\"><![endif]-->"
	  "<!--[if !mso]><!--><a href=\"http://w.example/\">w</a><!--<![endif]-->"
	  "<![if !mso]><a href=\"http://v.example/\">v</a><![endif]>"
	  "<![CDATA[<a href=\"http://c.example/\">]]>"
	  "<a href=\"http://z.example/\">z</a>", 0, 0,
	  "<!-- <a href=\"http://x.example/\">x</a> -->"
	  "<!--[if mso]><a href=\"http://y.example/\">y</a><img src=\"" PH "\"><![endif]-->"
	  "<!--[if !mso]><!--><a href=\"https://t.example/c/1?u=http://w.example/\">w</a><!--<![endif]-->"
	  "<![if !mso]><a href=\"https://t.example/c/2?u=http://v.example/\">v</a><![endif]>"
	  "<![CDATA[<a href=\"http://c.example/\">]]>"
	  "<a href=\"https://t.example/c/3?u=http://z.example/\">z</a>", 0,
	  0, 0, 3, 0, "http://w.example/\nhttp://v.example/\nhttp://z.example/" },
	{ "script, style, title, textarea bodies",
	  "<script>var s = '<a href=\"http://x.example/\">';</script>"
	  "<STYLE>a[href=\"http://y.example/\"] { }</STYLE >"
	  "<title><a href=\"http://t.example/\"></title>"
	  "<textarea><a href=http://u.example/></textarea>"
	  "<a href=\"http://z.example/\">z</a>", 0, 0,
	  "<script>var s = '<a href=\"http://x.example/\">';</script>"
	  "<STYLE>a[href=\"http://y.example/\"] { }</STYLE >"
	  "<title><a href=\"http://t.example/\"></title>"
	  "<textarea><a href=http://u.example/></textarea>"
	  "<a href=\"https://t.example/c/1?u=http://z.example/\">z</a>", 0,
	  0, 0, 1, 0, "http://z.example/" },
	{ "no </body>: pixel at the end",
	  "<html><p>Hello</p></html>\n", 0, F_PIXEL,
	  "<html><p>Hello</p></html>\n" PIX, 0,
	  0, 1, 0, 0, "" },
	{ "several </body>: pixel before the last, not the one in a comment",
	  "<body>a</body>b</BODY >c<!-- </body> --><script>'</body>'</script>", 0, F_PIXEL,
	  "<body>a</body>b" PIX "</BODY >c<!-- </body> --><script>'</body>'</script>", 0,
	  0, 1, 0, 0, "" },
	{ "placeholder with extra attributes and entity-encoded src",
	  "<body><p><img alt=\"\" width=1 SRC=\" https&#58;//t.example&sol;p.gif \" "
	  "style=\"border:0\" /></p></body>", 0, F_PIXEL,
	  "<body><p>" PIX "</p></body>", 0,
	  1, 0, 0, 0, "" },
	{ "multiple placeholders",
	  "<img src=\"" PH "\"><p>x</p><IMG SRC='" PH "'>"
	  "<img src=\"" PH "?x\"></body>", 0, F_PIXEL,
	  PIX "<p>x</p><img src=\"" PH "?x\"></body>", 0,
	  2, 0, 0, 0, "" },
	{ "placeholders without pixel are cut out",
	  "<p><img src=\"" PH "\">x</p>", 0, 0,
	  "<p>x</p>", 0,
	  1, 0, 0, 0, "" },
	{ "no placeholder_url: an image of that URL stays",
	  "<img src=\"" PH "\"></body>", 0, F_PIXEL | F_NOPH,
	  "<img src=\"" PH "\">" PIX "</body>", 0,
	  0, 1, 0, 0, "" },
	{ "mailto, tel, fragment, relative, javascript, ftp, data untouched",
	  "<a href=\"mailto:a@x.example\">m</a><a href=\"tel:+15551234\">t</a>"
	  "<a href=\"#top\">f</a><a href=\"/path?a=1&amp;b=2\">r</a>"
	  "<a href=\"//x.example/\">p</a><a href=\"javascript:void(0)\">j</a>"
	  "<a href=\"ftp://x.example/\">f</a><a href=\"httpx://x.example/\">h</a>"
	  "<a href>n</a><a name=\"x\">a</a>", 0, 0,
	  "<a href=\"mailto:a@x.example\">m</a><a href=\"tel:+15551234\">t</a>"
	  "<a href=\"#top\">f</a><a href=\"/path?a=1&amp;b=2\">r</a>"
	  "<a href=\"//x.example/\">p</a><a href=\"javascript:void(0)\">j</a>"
	  "<a href=\"ftp://x.example/\">f</a><a href=\"httpx://x.example/\">h</a>"
	  "<a href>n</a><a name=\"x\">a</a>", 0,
	  0, 0, 0, 0, "" },
	{ "data-beacon=off removed with its whitespace, link untouched",
	  "<a href=\"http://x.example/\" data-beacon=\"off\">x</a>"
	  "<a data-beacon='OFF'\n href=http://y.example/ class=c>y</a>"
	  "<area DATA-BEACON=off href=\"http://z.example/\">"
	  "<a href=\"http://w.example/\" data-beacon=\"on\">w</a>", 0, 0,
	  "<a href=\"http://x.example/\">x</a>"
	  "<a\n href=http://y.example/ class=c>y</a>"
	  "<area href=\"http://z.example/\">"
	  "<a href=\"https://t.example/c/1?u=http://w.example/\" data-beacon=\"on\">w</a>", 0,
	  0, 0, 1, 3, "http://w.example/" },
	{ "data-beacon=off removed with clicks off too",
	  "<a href=\"http://x.example/\" data-beacon=\"off\">x</a>", 0, F_NOCLICKS,
	  "<a href=\"http://x.example/\">x</a>", 0,
	  0, 0, 0, 0, "" },
	{ "literal URL text untouched",
	  "<a href=\"http://x.example/\">http://x.example/</a>"
	  "<a href=\"http://y.example/\"> <b>www.y.example</b></a>"
	  "<a href=\"http://z.example/\">&nbsp;\xc2\xa0HTTPS://z.example</a>"
	  "<a href=\"http://v.example/\"><img src=logo.png><span>Https&#58;//v</span></a>"
	  "<a href=\"http://u.example/\">Visit www.u.example</a>"
	  "<a href=\"http://s.example/\"><!-- http://s --><style>www</style>Shop</a>"
	  "<a href=\"http://e.example/\"></a>www.outside.example", 0, 0,
	  "<a href=\"http://x.example/\">http://x.example/</a>"
	  "<a href=\"http://y.example/\"> <b>www.y.example</b></a>"
	  "<a href=\"http://z.example/\">&nbsp;\xc2\xa0HTTPS://z.example</a>"
	  "<a href=\"http://v.example/\"><img src=logo.png><span>Https&#58;//v</span></a>"
	  "<a href=\"https://t.example/c/1?u=http://u.example/\">Visit www.u.example</a>"
	  "<a href=\"https://t.example/c/2?u=http://s.example/\"><!-- http://s --><style>www</style>Shop</a>"
	  "<a href=\"https://t.example/c/3?u=http://e.example/\"></a>www.outside.example", 0,
	  0, 0, 3, 4, "http://u.example/\nhttp://s.example/\nhttp://e.example/" },
	{ "literal URL text rewritten with track_literal_urls",
	  "<a href=\"http://x.example/\">http://x.example/</a>", 0, F_LITERAL,
	  "<a href=\"https://t.example/c/1?u=http://x.example/\">http://x.example/</a>", 0,
	  0, 0, 1, 0, "http://x.example/" },
	{ "unclosed <a> before the next one: text of each is its own",
	  "<a href=\"http://x.example/\">Shop<a href=\"http://y.example/\">www.y</a>", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/\">Shop<a href=\"http://y.example/\">www.y</a>", 0,
	  0, 0, 1, 1, "http://x.example/" },
	{ "keep_urls compared entity-decoded",
	  "<a href=\"https://x.example/unsub?u=1&amp;l=2\">unsub</a>"
	  "<a href=\"https://x.example/unsub?u=1&amp;l=3\">other</a>", 0, F_KEEP,
	  "<a href=\"https://x.example/unsub?u=1&amp;l=2\">unsub</a>"
	  "<a href=\"https://t.example/c/1?u=https://x.example/unsub?u=1&amp;l=3\">other</a>", 0,
	  0, 0, 1, 1, "https://x.example/unsub?u=1&l=3" },
	{ "callback keeps the link",
	  "<a href=\"http://x.example/\">x</a>", 0, F_REFUSE,
	  "<a href=\"http://x.example/\">x</a>", 0,
	  0, 0, 0, 1, "http://x.example/" },
	{ "clicks off",
	  "<a href=\"http://x.example/\">x</a></body>", 0, F_NOCLICKS | F_PIXEL,
	  "<a href=\"http://x.example/\">x</a>" PIX "</body>", 0,
	  0, 1, 0, 0, "" },
	{ "unterminated comment: bytes kept, pixel before it",
	  "<p>a</p><a href=\"http://x.example/\">x</a><!-- <a href=\"http://y.example/\">y</a></body>",
	  0, F_PIXEL,
	  "<p>a</p><a href=\"https://t.example/c/1?u=http://x.example/\">x</a>" PIX
	  "<!-- <a href=\"http://y.example/\">y</a></body>", 0,
	  0, 1, 1, 0, "http://x.example/" },
	{ "unterminated quote: the broken tag and the rest kept",
	  "<a href=\"http://x.example/\">x</a><a href=\"http://y.example/>y</a></body>",
	  0, F_PIXEL,
	  "<a href=\"https://t.example/c/1?u=http://x.example/\">x</a>" PIX
	  "<a href=\"http://y.example/>y</a></body>", 0,
	  0, 1, 1, 0, "http://x.example/" },
	{ "unterminated tag",
	  "<p>x</p><a href=http://x.example/", 0, F_PIXEL,
	  "<p>x</p>" PIX "<a href=http://x.example/", 0,
	  0, 1, 0, 0, "" },
	{ "unterminated <style>: pixel before it",
	  "<p>x</p><style>p{}", 0, F_PIXEL,
	  "<p>x</p>" PIX "<style>p{}", 0,
	  0, 1, 0, 0, "" },
	{ "dangling '<' at the end is text",
	  "<p>x</p><", 0, F_PIXEL,
	  "<p>x</p><" PIX, 0,
	  0, 1, 0, 0, "" },
	{ "unterminated CDATA and declaration",
	  "x<![CDATA[<a href=\"http://x.example/\">", 0, F_PIXEL,
	  "x" PIX "<![CDATA[<a href=\"http://x.example/\">", 0,
	  0, 1, 0, 0, "" },
	{ "<a> at EOF with no text after it",
	  "<a href=\"http://x.example/\">", 0, 0,
	  "<a href=\"https://t.example/c/1?u=http://x.example/\">", 0,
	  0, 0, 1, 0, "http://x.example/" },
	{ "no links: byte-identical but the pixel",
	  "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\r\n"
	  "<HTML><Head><meta charset=utf-8><style>td{color:#333}</style></Head>\r\n"
	  "<body style='margin:0'>\r\n<table><tr><td class=x>caf\xc3\xa9 &amp; cr&egrave;me"
	  " &#8212; 1 < 2 &gt; 0</td></tr></table>\r\n<img src=\"cid:logo@x\" alt=''/>\r\n"
	  "</body>\r\n</HTML>\r\n", 0, F_PIXEL,
	  "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\r\n"
	  "<HTML><Head><meta charset=utf-8><style>td{color:#333}</style></Head>\r\n"
	  "<body style='margin:0'>\r\n<table><tr><td class=x>caf\xc3\xa9 &amp; cr&egrave;me"
	  " &#8212; 1 < 2 &gt; 0</td></tr></table>\r\n<img src=\"cid:logo@x\" alt=''/>\r\n"
	  PIX "</body>\r\n</HTML>\r\n", 0,
	  0, 1, 0, 0, "" },
	{ "NUL bytes",
	  "<p>\0</p><a href=\"http://x.example/\0y\">a</a><a href=\"http://z.example/\">\0z</a>\0",
	  sizeof("<p>\0</p><a href=\"http://x.example/\0y\">a</a><a href=\"http://z.example/\">\0z</a>\0") - 1,
	  F_PIXEL,
	  "<p>\0</p><a href=\"http://x.example/\0y\">a</a><a href=\"https://t.example/c/1?u=http://z.example/\">\0z</a>\0" PIX,
	  sizeof("<p>\0</p><a href=\"http://x.example/\0y\">a</a><a href=\"https://t.example/c/1?u=http://z.example/\">\0z</a>\0" PIX) - 1,
	  0, 1, 1, 0, "http://z.example/" },
	{ "empty input",
	  "", 0, F_PIXEL, PIX, 0, 0, 1, 0, 0, "" },
	{ "hidden link: after the pixel, before </body>, not a link of the message",
	  "<p><a href=\"http://x.example/\">x</a></p></body>", 0, F_PIXEL | F_HIDDEN,
	  "<p><a href=\"https://t.example/c/1?u=http://x.example/\">x</a></p>" PIX HIDDEN "</body>", 0,
	  0, 1, 1, 0, "http://x.example/" },
	{ "hidden link: never next to a placeholder (it may sit in a link)",
	  "<a href=\"http://x.example/\"><img src=\"" PH "\"></a><p>x</p></body></html>", 0,
	  F_PIXEL | F_HIDDEN,
	  "<a href=\"https://t.example/c/1?u=http://x.example/\">" PIX "</a><p>x</p>" HIDDEN
	  "</body></html>", 0,
	  1, 0, 1, 0, "http://x.example/" },
	{ "hidden link: before what is open at the end",
	  "<p>x</p><!-- y", 0, F_PIXEL | F_HIDDEN,
	  "<p>x</p>" PIX HIDDEN "<!-- y", 0,
	  0, 1, 0, 0, "" },
	{ "hidden link without a pixel: at the end",
	  "<p>x</p>", 0, F_HIDDEN,
	  "<p>x</p>" HIDDEN, 0,
	  0, 0, 0, 0, "" },
};

/* run_case - rewrite C's document and check everything it names */
static void run_case(const struct rw_case *c)
{
	struct signer sg = { 0, 0, 0, NULL };
	struct html_rewrite_opts o;
	struct html_rewrite_stats st;
	size_t in_len = c->in_len ? c->in_len : strlen(c->in);
	size_t want_len = c->want_len ? c->want_len : strlen(c->want);
	GString *out = g_string_new(NULL);
	int r;

	sg.seen = g_string_new(NULL);
	sg.refuse = (c->flags & F_REFUSE) != 0;
	memset(&o, 0, sizeof(o));
	o.pixel_url = (c->flags & F_PIXEL) ? PXURL : NULL;
	o.placeholder_url = (c->flags & F_NOPH) ? NULL : PH;
	o.clicks = !(c->flags & F_NOCLICKS);
	o.track_literal_urls = (c->flags & F_LITERAL) != 0;
	o.keep_urls = (c->flags & F_KEEP) ? keep_list : NULL;
	o.link = sign;
	o.link_arg = &sg;
	o.honeypot_url = (c->flags & F_HIDDEN) ? HPURL : NULL;
	r = html_rewrite(c->in, in_len, &o, out, &st);
	if (r != 0)
		print_error("case %s: returned %d\n", c->name, r);
	assert_int_equal(r, 0);
	if (out->len != want_len || memcmp(out->str, c->want, want_len) != 0)
		print_error("case %s\ngot:  %.*s\nwant: %.*s\n", c->name,
		    (int)out->len, out->str,
		    (int)want_len, c->want);
	assert_int_equal(out->len, want_len);
	assert_memory_equal(out->str, c->want, want_len);
	assert_int_equal(st.placeholders, c->placeholders);
	assert_int_equal(st.pixel_inserted, c->pixel);
	assert_int_equal(st.links_rewritten, c->rewritten);
	assert_int_equal(st.links_kept, c->kept);
	assert_int_equal(st.honeypots, (c->flags & F_HIDDEN) != 0);
	assert_string_equal(sg.seen->str, c->urls);
	g_string_free(sg.seen, TRUE);
	g_string_free(out, TRUE);
}

/* test_rewrite_table - every table case */
static void test_rewrite_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < G_N_ELEMENTS(rw_cases); i++)
		run_case(&rw_cases[i]);
}

/* test_rewrite_appends - OUT is appended to, not replaced */
static void test_rewrite_appends(void **state)
{
	struct html_rewrite_opts o = { .pixel_url = PXURL };
	GString *out = g_string_new("head:");

	(void)state;
	assert_int_equal(html_rewrite("<b>x</b></body>", 15, &o, out, NULL), 0);
	assert_string_equal(out->str, "head:<b>x</b>" PIX "</body>");
	g_string_free(out, TRUE);
}

/* test_rewrite_failures - bad arguments and a failing callback leave OUT
 * as it was */
static void test_rewrite_failures(void **state)
{
	static const char doc[] = "<a href=\"http://a.example/\">a</a>"
	    "<a href=\"http://b.example/\">b</a>";
	struct signer sg = { 0, 0, 1, NULL };
	struct html_rewrite_opts o = { .pixel_url = PXURL, .clicks = 1,
	    .link = sign, .link_arg = &sg };
	struct html_rewrite_opts nolink = { .clicks = 1 };
	struct html_rewrite_stats st;
	GString *out = g_string_new("keep");

	(void)state;
	sg.seen = g_string_new(NULL);
	assert_int_equal(html_rewrite(doc, strlen(doc), &o, out, &st), -1);
	assert_string_equal(out->str, "keep");
	assert_int_equal(st.links_rewritten, 0);
	assert_string_equal(sg.seen->str, "http://a.example/");
	assert_int_equal(html_rewrite(doc, strlen(doc), &nolink, out, &st), -1);
	assert_int_equal(html_rewrite(doc, strlen(doc), NULL, out, &st), -1);
	assert_int_equal(html_rewrite(doc, strlen(doc), &o, NULL, &st), -1);
	assert_int_equal(html_rewrite(NULL, 3, &o, out, &st), -1);
	assert_string_equal(out->str, "keep");
	g_string_free(sg.seen, TRUE);
	g_string_free(out, TRUE);
}

/* test_has_placeholder - found in markup only, after decoding */
static void test_has_placeholder(void **state)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
		{ "<p><img src=\"" PH "\"></p>", 1 },
		{ "<IMG ALT=x SRC=" PH ">", 1 },
		{ "<img src=\"https&#x3a;//t.example/p.gif\" />", 1 },
		{ "<img data-src=\"" PH "\">", 0 },
		{ "<img src=\"" PH "?x=1\">", 0 },
		{ "<!-- <img src=\"" PH "\"> -->", 0 },
		{ "<script>'<img src=\"" PH "\">'</script>", 0 },
		{ "<a href=\"" PH "\">x</a>", 0 },
		{ "<img src=\"" PH "\"", 0 },
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_int_equal(html_has_placeholder(cases[i].in,
		    strlen(cases[i].in), PH), cases[i].want);
	assert_int_equal(html_has_placeholder("<img src=x>", 11, NULL), 0);
	assert_int_equal(html_has_placeholder(NULL, 0, PH), 0);
}

/* test_escape_attr - the five characters, nothing else */
static void test_escape_attr(void **state)
{
	GString *g = g_string_new("x");

	(void)state;
	html_escape_attr(g, "a&b<c>d\"e'f\xc3\xa9 g");
	assert_string_equal(g->str, "xa&amp;b&lt;c&gt;d&quot;e&#39;f\xc3\xa9 g");
	g_string_truncate(g, 0);
	html_escape_attr(g, "");
	assert_string_equal(g->str, "");
	g_string_free(g, TRUE);
}

/* read_fixture - the bytes of tests/fixtures/html/NAME, or NULL */
static gchar *read_fixture(const char *name, gsize *len)
{
	const char *src = getenv("BEACON_SRC");
	gchar *path, *buf = NULL;

	path = g_strdup_printf("%s/tests/fixtures/html/%s", src ? src : ".", name);
	if (!g_file_get_contents(path, &buf, len, NULL))
		buf = NULL;
	g_free(path);
	return buf;
}

/* test_golden - tests/fixtures/html/NAME.html rewritten equals NAME.out
 * (pixel, placeholder, clicks and the hidden link on; keep_urls as in the table) */
static void test_golden(void **state)
{
	static const char *const names[] = { "newsletter", "outlook", "broken" };
	struct signer sg = { 0, 0, 0, NULL };
	struct html_rewrite_opts o = { .pixel_url = PXURL,
	    .placeholder_url = PH, .clicks = 1, .keep_urls = keep_list,
	    .link = sign, .link_arg = &sg, .honeypot_url = HPURL };
	gchar *in, *want, *fn;
	gsize in_len, want_len;
	GString *out = g_string_new(NULL);
	size_t i;

	(void)state;
	sg.seen = g_string_new(NULL);
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		fn = g_strdup_printf("%s.html", names[i]);
		in = read_fixture(fn, &in_len);
		g_free(fn);
		fn = g_strdup_printf("%s.out", names[i]);
		want = read_fixture(fn, &want_len);
		g_free(fn);
		if (in == NULL || want == NULL)
			fail_msg("fixture %s missing (set BEACON_SRC)", names[i]);
		sg.n = 0;
		g_string_truncate(out, 0);
		assert_int_equal(html_rewrite(in, in_len, &o, out, NULL), 0);
		if (out->len != want_len || memcmp(out->str, want, want_len) != 0)
			fail_msg("%s.out differs", names[i]);
		g_free(in);
		g_free(want);
	}
	g_string_free(sg.seen, TRUE);
	g_string_free(out, TRUE);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_table),
		cmocka_unit_test(test_rewrite_appends),
		cmocka_unit_test(test_rewrite_failures),
		cmocka_unit_test(test_has_placeholder),
		cmocka_unit_test(test_escape_attr),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
