/*
 * test_milter_plain2html.c - unit tests of the HTML twin of text-only
 * messages (milter/plain2html.c): a table of texts and the HTML each must
 * give, then whole messages (encodings, charsets, what is refused).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "plain2html.h"

/* html_case - a text and the inside of the twin's <div> */
struct html_case {
	const char *text;	/* UTF-8 text */
	int flowed, delsp;	/* RFC 3676 */
	const char *html;	/* expected between <div> and </div> */
};

static const struct html_case html_cases[] = {
	{ "a & b <c> \"d\"", 0, 0, "a &amp; b &lt;c&gt; &quot;d&quot;" },
	{ "line1\nline2\n", 0, 0, "line1<br>\nline2" },
	{ "line1\r\n\r\nline3", 0, 0, "line1<br>\n<br>\nline3" },
	{ "  two  blanks\tx", 0, 0, "&nbsp;&nbsp;two &nbsp;blanks&nbsp;&nbsp;&nbsp;&nbsp;x" },
	{ "see https://x.example/a.", 0, 0,
	  "see <a href=\"https://x.example/a\">https://x.example/a</a>." },
	{ "(https://x.example/p_(1)) ok", 0, 0,
	  "(<a href=\"https://x.example/p_(1)\">https://x.example/p_(1)</a>) ok" },
	{ "HTTP://X.example/?a=1&b=2, then", 0, 0,
	  "<a href=\"HTTP://X.example/?a=1&amp;b=2\">HTTP://X.example/?a=1&amp;b=2</a>, then" },
	{ "<https://x.example/y>", 0, 0,
	  "&lt;<a href=\"https://x.example/y\">https://x.example/y</a>&gt;" },
	{ "xhttps://x.example/ https:// ftp://x.example", 0, 0,
	  "xhttps://x.example/ https:// ftp://x.example" },
	{ "para one \nstill one\n\nnext", 1, 0, "para one still one<br>\n<br>\nnext" },
	{ "abc \ndef", 1, 1, "abcdef" },
	{ "> quoted \n> more\nplain", 1, 0, "&gt; quoted more<br>\nplain" },
	{ ">> deep \n> shallow", 1, 0, "&gt;&gt; deep <br>\n&gt; shallow" },
	{ "-- \nme", 1, 0, "-- <br>\nme" },
	{ " From x", 1, 0, "From x" },
	{ "", 0, 0, "" },
};

/* test_html - the table */
static void test_html(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(html_cases); i++) {
		const struct html_case *c = &html_cases[i];
		GString *h = plain2html_html(c->text, strlen(c->text), c->flowed, c->delsp);
		char *div = strstr(h->str, "<div>"), *end = strstr(h->str, "</div>");

		assert_non_null(div);
		assert_non_null(end);
		div += 5;
		if ((size_t)(end - div) != strlen(c->html) || memcmp(div, c->html, strlen(c->html)) != 0)
			fail_msg("case %zu: got '%.*s', want '%s'", i, (int)(end - div), div, c->html);
		assert_true(g_str_has_prefix(h->str, "<!DOCTYPE html>"));
		assert_true(g_str_has_suffix(h->str, "</body></html>\n"));
		g_string_free(h, TRUE);
	}
}

/* build - a message context from header lines and a body (LF, sent as CRLF) */
static struct conn_ctx *build(const char *headers, const char *body)
{
	struct conn_ctx *cc = conn_new();
	char **h = g_strsplit(headers, "\n", -1);
	GString *b = g_string_new(NULL);

	msg_begin(cc, "s@example.com", NULL);
	cc->msg->trusted = 1;	/* a trusted submission (trust.h) */
	for (int i = 0; h[i] && h[i][0]; i++) {
		char *colon = strchr(h[i], ':'), *name = g_strndup(h[i], (gsize)(colon - h[i]));
		msg_add_header(cc->msg, name, colon + 2, 0);
		g_free(name);
	}
	msg_end_headers(cc->msg);
	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			g_string_append_c(b, '\r');
		g_string_append_c(b, *p);
	}
	msg_add_body(cc->msg, (const unsigned char *)b->str, b->len, 0);
	g_strfreev(h);
	g_string_free(b, TRUE);
	return cc;
}

/* twin_html - the decoded HTML part of a conversion */
static char *twin_html(const struct plain2html *p)
{
	GMimeStream *st = g_mime_stream_mem_new_with_byte_array(p->text);
	GMimeParser *ps;
	GMimeMessage *msg;
	GMimeObject *top;
	GMimeMultipart *mp;
	GMimeDataWrapper *dw;
	GMimeStream *out;
	GByteArray *b;
	char *s;

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	ps = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(ps, NULL);
	top = g_mime_message_get_mime_part(msg);
	assert_true(GMIME_IS_MULTIPART(top));
	mp = GMIME_MULTIPART(top);
	assert_int_equal(g_mime_multipart_get_count(mp), 2);
	dw = g_mime_part_get_content(GMIME_PART(g_mime_multipart_get_part(mp, 1)));
	out = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, out);
	b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	s = g_strndup((const char *)b->data, b->len);
	g_object_unref(out);
	g_object_unref(msg);
	g_object_unref(ps);
	g_object_unref(st);
	return s;
}

/* test_convert - whole messages */
static void test_convert(void **state)
{
	struct conn_ctx *cc;
	struct plain2html *p;
	char why[128], *html;
	(void)state;

	/* base64, latin-1: decoded, converted to UTF-8; no MIME-Version yet */
	cc = build("Subject: caf\xc3\xa9\nContent-Type: text/plain; charset=iso-8859-1\n"
		   "Content-Transfer-Encoding: base64\n", "Q2Fm6SBodHRwOi8veC5leGFtcGxlLw==\n");
	p = plain2html_convert(cc->msg, why, sizeof(why));
	assert_non_null(p);
	/* the other headers stay in the text the parser reads */
	assert_memory_equal(p->text->data, "Subject: caf\xc3\xa9\r\nMIME-Version: 1.0\r\n"
			    "Content-Type: multipart/alternative; boundary=", 67);
	assert_true(p->add_mime_version);
	assert_null(p->cte);
	html = twin_html(p);
	assert_non_null(strstr(html, "<div>Caf\xc3\xa9 <a href=\"http://x.example/\">http://x.example/</a></div>"));
	g_free(html);
	/* the text part keeps the original bytes and headers */
	assert_non_null(memmem(p->text->data, p->text->len,
			       "Content-Transfer-Encoding: base64\r\n\r\nQ2Fm6SBodHRwOi8veC5leGFtcGxlLw==\r\n", 69));
	plain2html_free(p);
	conn_free(cc);

	/* 8bit, no Content-Type: us-ascii assumed, top-level stays 8bit */
	cc = build("MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n", "gr\xc3\xbc\xc3\x9f\n");
	p = plain2html_convert(cc->msg, why, sizeof(why));
	assert_non_null(p);
	assert_false(p->add_mime_version);
	assert_string_equal(p->cte, "8bit");
	assert_non_null(memmem(p->text->data, p->text->len, "Content-Type: text/plain; charset=us-ascii\r\n", 44));
	plain2html_free(p);
	conn_free(cc);

	/* not text-only: HTML, multipart, an attachment */
	cc = build("Content-Type: text/html\n", "<p>x</p>\n");
	assert_null(plain2html_convert(cc->msg, why, sizeof(why)));
	assert_string_equal(why, "no text/html part");
	conn_free(cc);
	cc = build("Content-Type: multipart/mixed; boundary=x\n", "--x\n\nx\n--x--\n");
	assert_null(plain2html_convert(cc->msg, why, sizeof(why)));
	conn_free(cc);
	cc = build("Content-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n", "x\n");
	assert_null(plain2html_convert(cc->msg, why, sizeof(why)));
	assert_non_null(strstr(why, "attachment"));
	conn_free(cc);
	plain2html_free(NULL);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_convert),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
