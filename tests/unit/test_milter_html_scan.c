/*
 * test_milter_html_scan.c - unit tests of the HTML tokenizer (milter/html_scan.c).
 *
 * DESCRIPTION
 *	Tables of documents and the exact token stream each must give,
 *	written as TYPE{bytes} joined by '|' (T text, S start tag, E end tag,
 *	C comment, D declaration, X CDATA, Q bogus comment, R raw text,
 *	B broken tag; a trailing '!' marks a construct open at the end).
 *	Every stream is also checked to cover the input byte for byte.
 *	Then the attribute walk and the entity decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "html_scan.h"

/* scan_case - one document and its token stream */
struct scan_case {
	const char *in;		/* document */
	const char *want;	/* tokens as TYPE{bytes}|... */
};

/* tok_letter - the letter a token type is written as */
static char tok_letter(enum html_tok type)
{
	switch (type) {
	case HTML_TOK_TEXT: return 'T';
	case HTML_TOK_START: return 'S';
	case HTML_TOK_END: return 'E';
	case HTML_TOK_COMMENT: return 'C';
	case HTML_TOK_DECL: return 'D';
	case HTML_TOK_CDATA: return 'X';
	case HTML_TOK_BOGUS: return 'Q';
	case HTML_TOK_RAWTEXT: return 'R';
	case HTML_TOK_BROKEN: return 'B';
	}
	return '?';
}

/* render_tokens - the token stream of P[0..LEN) as text; asserts that
 * the tokens tile the input */
static GString *render_tokens(const char *p, size_t len)
{
	GString *g = g_string_new(NULL);
	struct html_scan s;
	struct html_token t;
	size_t at = 0, n = 0;

	html_scan_init(&s, p, len);
	while (html_scan_next(&s, &t)) {
		assert_true(n++ < 4 * len + 4);
		assert_int_equal(t.start, at);
		assert_true(t.end >= t.start && t.end <= len);
		assert_true(t.end > t.start || t.open);
		at = t.end;
		if (g->len > 0)
			g_string_append_c(g, '|');
		g_string_append_c(g, tok_letter(t.type));
		if (t.type == HTML_TOK_START || t.type == HTML_TOK_END) {
			g_string_append_c(g, '(');
			g_string_append_len(g, p + t.name, t.name_len);
			g_string_append(g, t.self_closing ? "/)" : ")");
		}
		g_string_append_c(g, '{');
		g_string_append_len(g, p + t.start, t.end - t.start);
		g_string_append_c(g, '}');
		if (t.open)
			g_string_append_c(g, '!');
	}
	assert_int_equal(at, len);
	return g;
}

static const struct scan_case scan_cases[] = {
	{ "", "" },
	{ "plain text", "T{plain text}" },
	{ "a<b>c</b>d", "T{a}|S(b){<b>}|T{c}|E(b){</b>}|T{d}" },
	{ "<A HREF=X>y</A >", "S(A){<A HREF=X>}|T{y}|E(A){</A >}" },
	{ "<br/><img src=x />", "S(br/){<br/>}|S(img/){<img src=x />}" },
	/* '/' at the end of an unquoted value belongs to the value */
	{ "<a href=x/>t", "S(a){<a href=x/>}|T{t}" },
	/* quotes hide '>' */
	{ "<a title=\"a>b\" alt='c>d'>e",
	  "S(a){<a title=\"a>b\" alt='c>d'>}|T{e}" },
	/* '<' not followed by a letter, '!', '?' or '/x' is text */
	{ "1 < 2 <3 <", "T{1 < 2 <3 <}" },
	{ "a</", "T{a</}" },
	{ "a</>b", "T{a}|Q{</>}|T{b}" },
	{ "a</ x>b", "T{a}|Q{</ x>}|T{b}" },
	{ "<?xml version=\"1.0\"?><p>", "Q{<?xml version=\"1.0\"?>}|S(p){<p>}" },
	{ "<!DOCTYPE html><html>", "D{<!DOCTYPE html>}|S(html){<html>}" },
	{ "<!-- a <b> -->c", "C{<!-- a <b> -->}|T{c}" },
	{ "<!---->x", "C{<!---->}|T{x}" },
	{ "<!-->x", "C{<!-->}|T{x}" },
	{ "<!--->x", "C{<!--->}|T{x}" },
	{ "<!-- a --->x", "C{<!-- a --->}|T{x}" },
	{ "<!-- a --!>x", "C{<!-- a --!>}|T{x}" },
	{ "<!-- a -- b -->x", "C{<!-- a -- b -->}|T{x}" },
	{ "<!--[if mso]><a href=\"h\">x</a><![endif]-->y",
	  "C{<!--[if mso]><a href=\"h\">x</a><![endif]-->}|T{y}" },
	{ "<!--[if !mso]><!--><a>x</a><!--<![endif]-->",
	  "C{<!--[if !mso]><!-->}|S(a){<a>}|T{x}|E(a){</a>}|"
	  "C{<!--<![endif]-->}" },
	{ "<![if !mso]><p><![endif]>",
	  "D{<![if !mso]>}|S(p){<p>}|D{<![endif]>}" },
	{ "<![CDATA[<a href=x>]]>y", "X{<![CDATA[<a href=x>]]>}|T{y}" },
	{ "<script>if (a<b) x='</scr'+'ipt>';</script>z",
	  "S(script){<script>}|R{if (a<b) x='</scr'+'ipt>';}|"
	  "E(script){</script>}|T{z}" },
	{ "<STYLE type=x>a[href=\"<a>\"]{}</Style\n>",
	  "S(STYLE){<STYLE type=x>}|R{a[href=\"<a>\"]{}}|E(Style){</Style\n>}" },
	{ "<title><a href=x></title><textarea></textareax></textarea>",
	  "S(title){<title>}|R{<a href=x>}|E(title){</title>}|"
	  "S(textarea){<textarea>}|R{</textareax>}|E(textarea){</textarea>}" },
	{ "<style></style>", "S(style){<style>}|E(style){</style>}" },
	{ "<scripts>x</scripts>", "S(scripts){<scripts>}|T{x}|E(scripts){</scripts>}" },
	{ "<plaintext></plaintext><b>", "S(plaintext){<plaintext>}|R{</plaintext><b>}!" },
	/* open at the end */
	{ "a<!-- b", "T{a}|C{<!-- b}!" },
	{ "a<!--", "T{a}|C{<!--}!" },
	{ "a<!-", "T{a}|D{<!-}!" },
	{ "a<!", "T{a}|D{<!}!" },
	{ "a<![CDATA[x]]", "T{a}|X{<![CDATA[x]]}!" },
	{ "a<!DOCTYPE", "T{a}|D{<!DOCTYPE}!" },
	{ "a<?x", "T{a}|Q{<?x}!" },
	{ "a<b c=\"d>e", "T{a}|B{<b c=\"d>e}" },
	{ "a<b c='d", "T{a}|B{<b c='d}" },
	{ "a<b c=", "T{a}|B{<b c=}" },
	{ "a<b c", "T{a}|B{<b c}" },
	{ "a<b", "T{a}|B{<b}" },
	{ "a<b/", "T{a}|B{<b/}" },
	{ "a</b", "T{a}|B{</b}" },
	{ "<script>x", "S(script){<script>}|R{x}!" },
	{ "<script>", "S(script){<script>}|R{}!" },
	{ "<script>x</script", "S(script){<script>}|R{x</script}!" },
};

/* test_scan_table - every scan case gives exactly its token stream */
static void test_scan_table(void **state)
{
	size_t i;
	GString *g;

	(void)state;
	for (i = 0; i < G_N_ELEMENTS(scan_cases); i++) {
		g = render_tokens(scan_cases[i].in, strlen(scan_cases[i].in));
		if (strcmp(g->str, scan_cases[i].want) != 0)
			print_error("case %zu: %s\n", i, scan_cases[i].in);
		assert_string_equal(g->str, scan_cases[i].want);
		g_string_free(g, TRUE);
	}
}

/* test_scan_nul - NUL bytes are ordinary bytes */
static void test_scan_nul(void **state)
{
	static const char in[] = "a\0<b x=\"\0>\">\0<!--\0-->";
	static const char want[] = "T{a\0}|S(b){<b x=\"\0>\">}|T{\0}|C{<!--\0-->}";
	GString *g;

	(void)state;
	g = render_tokens(in, sizeof(in) - 1);
	assert_int_equal(g->len, sizeof(want) - 1);
	assert_memory_equal(g->str, want, sizeof(want) - 1);
	g_string_free(g, TRUE);
}

/* render_attrs - the attributes of the first tag of P as
 * [lead]name=quote{value}; ... */
static GString *render_attrs(const char *p)
{
	GString *g = g_string_new(NULL);
	struct html_scan s;
	struct html_token t;
	struct html_attr_iter it;
	struct html_attr a;
	size_t len = strlen(p);

	html_scan_init(&s, p, len);
	assert_true(html_scan_next(&s, &t));
	html_attr_begin(&it, p, len, t.attrs);
	while (html_attr_next(&it, &a)) {
		g_string_append_c(g, '[');
		g_string_append_len(g, p + a.lead, a.name - a.lead);
		g_string_append_c(g, ']');
		g_string_append_len(g, p + a.name, a.name_len);
		if (a.has_value) {
			g_string_append_c(g, '=');
			if (a.quote)
				g_string_append_c(g, a.quote);
			g_string_append_c(g, '{');
			g_string_append_len(g, p + a.value, a.value_len);
			g_string_append_c(g, '}');
			/* vstart..end is the value with its quotes */
			assert_int_equal(a.end - a.vstart,
			    a.value_len + (a.quote ? 2 : 0));
		}
		g_string_append_c(g, ';');
	}
	if (it.broken)
		g_string_append(g, "BROKEN");
	else
		g_string_append_printf(g, "close=%zu%s", it.close,
		    it.self_closing ? "/" : "");
	return g;
}

/* test_attrs - the attribute walk, quoting forms and odd spacing */
static void test_attrs(void **state)
{
	static const struct scan_case cases[] = {
		{ "<a href=\"x\" title='y' data-z=w hidden>",
		  "[ ]href=\"{x};[ ]title='{y};[ ]data-z={w};[ ]hidden;close=37" },
		{ "<A\tHREF = \"x\"\nCLASS=c/>",
		  "[\t]HREF=\"{x};[\n]CLASS={c/};close=22" },
		{ "<img src=x />", "[ ]src={x};close=12/" },
		{ "<a href=\"x\"title=y>", "[ ]href=\"{x};[]title={y};close=18" },
		{ "<a =x b>", "[ ]=x;[ ]b;close=7" },
		{ "<a b= >", "[ ]b={};close=6" },
		{ "<a b=>", "[ ]b={};close=5" },
		{ "<a / b>", "[ ]b;close=6" },
		{ "<a b c=\"d", "[ ]b;BROKEN" },
		{ "<a b", "[ ]b;BROKEN" },
		{ "<a href=\"a\" href=\"b\">", "[ ]href=\"{a};[ ]href=\"{b};close=20" },
	};
	size_t i;
	GString *g;

	(void)state;
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g = render_attrs(cases[i].in);
		if (strcmp(g->str, cases[i].want) != 0)
			print_error("case %zu: %s\n", i, cases[i].in);
		assert_string_equal(g->str, cases[i].want);
		g_string_free(g, TRUE);
	}
}

/* test_tag_attr - the first attribute of a name, case-insensitively */
static void test_tag_attr(void **state)
{
	static const char p[] = "<IMG Alt=a SRC='one' src=two>";
	struct html_scan s;
	struct html_token t;
	struct html_attr a;

	(void)state;
	html_scan_init(&s, p, strlen(p));
	assert_true(html_scan_next(&s, &t));
	assert_true(html_tag_attr(p, strlen(p), &t, "src", &a));
	assert_int_equal(a.value_len, 3);
	assert_memory_equal(p + a.value, "one", 3);
	assert_false(html_tag_attr(p, strlen(p), &t, "href", &a));
	assert_true(html_name_is("ImG", 3, "img"));
	assert_false(html_name_is("im", 2, "img"));
	assert_false(html_name_is("imgs", 4, "img"));
}

/* decode_case - input, decoded as an attribute value and as text */
struct decode_case {
	const char *in;		/* raw */
	const char *attr;	/* decoded as attribute value */
	const char *text;	/* decoded as text */
};

/* test_decode - named, numeric and malformed references */
static void test_decode(void **state)
{
	static const struct decode_case cases[] = {
		{ "a=1&amp;b=2", "a=1&b=2", "a=1&b=2" },
		{ "a=1&b=2", "a=1&b=2", "a=1&b=2" },
		{ "&lt;&gt;&quot;&apos;&AMP;", "<>\"'&", "<>\"'&" },
		{ "&#38;&#x26;&#X26;&#0038;", "&&&&", "&&&&" },
		{ "&#58&#x2f;&sol;&colon;", ":/" "/:", ":/" "/:" },
		{ "x&copy=1", "x&copy=1", "x\xc2\xa9=1" },
		{ "x&copyz", "x&copyz", "x\xc2\xa9z" },
		{ "x&copy;z", "x\xc2\xa9z", "x\xc2\xa9z" },
		{ "x&amp z", "x& z", "x& z" },
		{ "&nbsp;", "\xc2\xa0", "\xc2\xa0" },
		{ "&unknown; &; & &# &#x; &#xg", "&unknown; &; & &# &#x; &#xg",
		  "&unknown; &; & &# &#x; &#xg" },
		{ "&#0;&#xd800;&#x110000;&#99999999999999999999;",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "&#x80;&#150;", "\xe2\x82\xac\xe2\x80\x93", "\xe2\x82\xac\xe2\x80\x93" },
		{ "&#x1F600;", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "trailing &", "trailing &", "trailing &" },
		{ "&amp", "&", "&" },
	};
	size_t i;
	GString *g = g_string_new(NULL);

	(void)state;
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_string_truncate(g, 0);
		html_decode(g, cases[i].in, strlen(cases[i].in), 1);
		assert_string_equal(g->str, cases[i].attr);
		g_string_truncate(g, 0);
		html_decode(g, cases[i].in, strlen(cases[i].in), 0);
		assert_string_equal(g->str, cases[i].text);
	}
	/* a reference cut by the end of the span is not read past it */
	g_string_truncate(g, 0);
	html_decode(g, "&#3", 2, 1);
	assert_string_equal(g->str, "&#");
	g_string_free(g, TRUE);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_scan_nul),
		cmocka_unit_test(test_attrs),
		cmocka_unit_test(test_tag_attr),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
