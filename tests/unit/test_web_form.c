/*
 * test_web_form.c - what beacon-web reads from a request's own bytes:
 * urlencoded forms, the local path a sign-in returns to, the host of an
 * Origin or Referer; and the file names /static/ serves
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "form.h"
#include "static.h"

static void test_form_parse(void **state)
{
	static const char body[] = "user=ann%40example.org&password=a+b%26c%3D&&csrf=&flag"
	    "&user=second&next=%2Fm%2Fx%3Fq%3D1&nul=a%00b";
	struct form f;

	(void)state;
	assert_int_equal(form_parse(&f, body, strlen(body)), 0);
	assert_string_equal(form_get(&f, "user"), "ann@example.org");	/* the first wins */
	assert_string_equal(form_get(&f, "password"), "a b&c=");
	assert_string_equal(form_get(&f, "csrf"), "");
	assert_string_equal(form_get(&f, "flag"), "");
	assert_string_equal(form_get(&f, "next"), "/m/x?q=1");
	assert_string_equal(form_get(&f, "nul"), "a");
	assert_null(form_get(&f, "none"));
	assert_int_equal(f.n, 7);
	form_free(&f);

	/* a NUL in the body ends it; more than FORM_MAX_PAIRS pairs are not kept */
	assert_int_equal(form_parse(&f, "a=1\0b=2", 7), 0);
	assert_int_equal(f.n, 1);
	form_free(&f);
	{
		char many[FORM_MAX_PAIRS * 4 + 16] = "";
		for (int i = 0; i < FORM_MAX_PAIRS + 3; i++)
			strcat(many, "x=1&");
		assert_int_equal(form_parse(&f, many, strlen(many)), 0);
		assert_int_equal(f.n, FORM_MAX_PAIRS);
		form_free(&f);
	}
	assert_int_equal(form_parse(&f, "", 0), 0);
	assert_int_equal(f.n, 0);
	form_free(&f);
}

static void test_form_local_path(void **state)
{
	static const struct { const char *s; int ok; } cases[] = {
		{ "/", 1 }, { "/m/0a?x=1&y=2", 1 }, { "/summary#top", 1 },
		{ "//evil.example", 0 }, { "/\\evil.example", 0 }, { "http://evil.example/", 0 },
		{ "evil", 0 }, { "", 0 }, { "/a b", 0 }, { "/a\tb", 0 }, { "/a\\b", 0 },
		{ "/\xc3\xa9", 0 }, { "/a\r\nSet-Cookie: x", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(form_local_path(cases[i].s), cases[i].ok);
	assert_int_equal(form_local_path(NULL), 0);
}

static void test_form_origin_host(void **state)
{
	static const struct { const char *s, *host; } cases[] = {
		{ "http://localhost:8090", "localhost:8090" },
		{ "https://Web.Example.ORG", "web.example.org" },
		{ "https://web.example.org/m/x?y#z", "web.example.org" },
		{ "https://[::1]:8090/", "[::1]:8090" },
		{ "null", NULL }, { "", NULL }, { "//web.example.org", NULL },
		{ "https://", NULL }, { "https://user@evil.example/", NULL },
		{ "ht tp://x", NULL }, { "https://a b/", NULL },
	};
	char host[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = form_origin_host(cases[i].s, host, sizeof(host));
		if (cases[i].host) {
			assert_int_equal(rc, 0);
			assert_string_equal(host, cases[i].host);
		} else {
			assert_int_equal(rc, -1);
		}
	}
	assert_int_equal(form_origin_host("https://a-very-long-host-name.example", host, 8), -1);
	assert_int_equal(form_origin_host(NULL, host, sizeof(host)), -1);
}

static void test_static_type(void **state)
{
	(void)state;
	assert_string_equal(static_type("beacon.css"), "text/css; charset=utf-8");
	assert_string_equal(static_type("live.js"), "text/javascript; charset=utf-8");
	assert_string_equal(static_type("chart.min.js"), "text/javascript; charset=utf-8");
	assert_null(static_type(".css"));
	assert_null(static_type(".hidden.css"));
	assert_null(static_type("../web.conf"));
	assert_null(static_type("a..css"));
	assert_null(static_type("dir/a.css"));
	assert_null(static_type("a.css/"));
	assert_null(static_type("a.exe"));
	assert_null(static_type("css"));
	assert_null(static_type(""));
	assert_null(static_type("a%2e.css"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_form_local_path),
		cmocka_unit_test(test_form_origin_host),
		cmocka_unit_test(test_static_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
