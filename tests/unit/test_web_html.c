/*
 * test_web_html.c - beacon-web's HTML escaping, query values and times:
 * every outside string reaches a page as text, never as markup, and
 * always as valid UTF-8; a JSON block cannot end its <script>; an error
 * page has the chrome of the others
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "html.h"

static void test_html_esc(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain text", "plain text" },
		{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "a & b", "a &amp; b" },
		{ "\" onmouseover='x'", "&quot; onmouseover=&#39;x&#39;" },
		{ "tab\tnew\nline\r", "tab\tnew\nline\r" },
		{ "M\xc3\xbcnchen \xe2\x82\xac \xf0\x9f\x93\xa7", "M\xc3\xbcnchen \xe2\x82\xac \xf0\x9f\x93\xa7" },
		/* controls, DEL, a C1 control, bad UTF-8: each U+FFFD */
		{ "a\x01" "b\x7f" "c", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c" },
		{ "\xc2\x85", "\xef\xbf\xbd" },
		{ "x\xff" "y\xc0\xaf" "z", "x\xef\xbf\xbd" "y\xef\xbf\xbd\xef\xbf\xbd" "z" },
		{ "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd" },
		{ "", "" },
	};
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		html_esc(&b, cases[i].in);
		assert_string_equal(buf_str(&b), cases[i].out);
	}
	buf_reset(&b);
	html_esc(&b, NULL);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_html_url_arg(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_url_arg(&b, "a b&c=d/\xc3\xa9~_.-Z9");
	assert_string_equal(buf_str(&b), "a%20b%26c%3Dd%2F%C3%A9~_.-Z9");
	buf_free(&b);
}

static void test_html_time(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_time(&b, "2026-11-20T09:05:00.123Z");
	assert_string_equal(buf_str(&b),
		"<time datetime=\"2026-11-20T09:05:00.123Z\">2026-11-20 09:05 UTC</time>");
	buf_reset(&b);
	html_time(&b, NULL);
	assert_string_equal(buf_str(&b), "\xe2\x80\x93");
	buf_reset(&b);
	html_time(&b, "");
	assert_string_equal(buf_str(&b), "\xe2\x80\x93");
	/* not the form data.c gives: shown as it is, escaped */
	buf_reset(&b);
	html_time_text(&b, "<b>");
	assert_string_equal(buf_str(&b), "&lt;b&gt;");
	buf_free(&b);
}

static void test_html_time_sec_zone(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_time_sec(&b, "2026-11-20T09:05:07.123Z");
	assert_string_equal(buf_str(&b),
		"<time datetime=\"2026-11-20T09:05:07.123Z\" data-sec>2026-11-20 09:05:07 UTC</time>");
	buf_reset(&b);
	html_time_sec(&b, NULL);
	assert_string_equal(buf_str(&b), "\xe2\x80\x93");
	buf_reset(&b);
	html_zone(&b);
	assert_string_equal(buf_str(&b), "<span class=\"tz\">UTC</span>");
	buf_free(&b);
}

static void test_html_json_block(void **state)
{
	struct buf b = { 0 }, j = { 0 };

	(void)state;
	buf_adds(&j, "[\"</script><b>&\"]");
	html_json_block(&b, "live-recent", &j);
	assert_string_equal(buf_str(&b), "<script type=\"application/json\" id=\"live-recent\">"
			    "[\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\"]</script>\n");
	buf_free(&b);
	buf_free(&j);
}

/* a client name that would end the chart's block, or open a comment in it that
 * keeps the block's </script> from ending it, stays inside the JSON string */
static void test_html_json_block_hostile(void **state)
{
	struct buf b = { 0 }, j = { 0 };
	const char *body;

	(void)state;
	buf_adds(&j, "{\"clients\":{\"labels\":[\"<!--<script>\",\"</SCRIPT >\"]}}");
	html_json_block(&b, "chart-data", &j);
	body = buf_str(&b) + strlen("<script type=\"application/json\" id=\"chart-data\">");
	assert_null(strstr(body, "<!--"));
	assert_null(strcasestr(body, "<script"));
	assert_ptr_equal(strcasestr(body, "</script"), strstr(body, "</script>\n"));
	assert_string_equal(body, "{\"clients\":{\"labels\":[\"\\u003c!--\\u003cscript\\u003e\","
			    "\"\\u003c/SCRIPT \\u003e\"]}}</script>\n");
	buf_free(&b);
	buf_free(&j);
}

static void test_html_error_page(void **state)
{
	struct web_user ann = { .id = 1, .name = "ann@example.org", .admin = 0 };
	struct web_req r = { .method = "GET", .path = "/m/x", .user = &ann, .csrf = "tok" };
	struct buf b = { 0 };

	(void)state;
	html_error_page(&b, &r, 404, "This message does not exist or is not one of yours.");
	assert_non_null(strstr(buf_str(&b), "<title>Not found \xc2\xb7 Beacon</title>"));
	assert_non_null(strstr(buf_str(&b), "<nav class=\"main\">"));
	assert_non_null(strstr(buf_str(&b), "<form id=\"logout\""));
	assert_non_null(strstr(buf_str(&b), "<p class=\"error\" role=\"alert\">This message does "
			       "not exist or is not one of yours.</p>"));
	assert_non_null(strstr(buf_str(&b), "</html>\n"));
	buf_reset(&b);
	/* signed out: the chrome without navigation; the message escaped */
	r.user = NULL;
	html_error_page(&b, &r, 400, "bad <value>");
	assert_null(strstr(buf_str(&b), "<nav class=\"main\">"));
	assert_non_null(strstr(buf_str(&b), "bad &lt;value&gt;"));
	buf_free(&b);
}

static void test_html_or_dash_input(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_or_dash(&b, "");
	html_or_dash(&b, "<x>");
	assert_string_equal(buf_str(&b), "\xe2\x80\x93&lt;x&gt;");
	buf_reset(&b);
	html_input(&b, "Search", "search", "q", "\"><script>");
	assert_string_equal(buf_str(&b), "<label>Search <input type=\"search\" name=\"q\" "
			    "value=\"&quot;&gt;&lt;script&gt;\"></label>\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_esc),
		cmocka_unit_test(test_html_url_arg),
		cmocka_unit_test(test_html_time),
		cmocka_unit_test(test_html_time_sec_zone),
		cmocka_unit_test(test_html_json_block),
		cmocka_unit_test(test_html_json_block_hostile),
		cmocka_unit_test(test_html_error_page),
		cmocka_unit_test(test_html_or_dash_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
