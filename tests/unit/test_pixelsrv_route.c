/*
 * test_pixelsrv_route.c - unit tests of route_parse(): a table of request
 * paths with the endpoint and the token, n and mac slices each must give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "route.h"

#define TOK "BwmYaJPlTH539VFm_Z9IMklNqiI_BaFJ44pW"	/* 36 characters */

/* route_case - one path and what it must give */
struct route_case {
	const char *path;	/* request path */
	enum route_kind kind;	/* expected endpoint */
	const char *token;	/* expected token slice, NULL for none */
	const char *n;		/* expected n slice, NULL for none */
	const char *mac;	/* expected mac slice, NULL for none */
};

static const struct route_case cases[] = {
	{ "/o/" TOK ".gif", ROUTE_OPEN, TOK, NULL, NULL },
	{ "/o/" TOK, ROUTE_OPEN, TOK, NULL, NULL },
	{ "/o/" TOK ".png", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/o/" TOK "x.gif", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/o/short.gif", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/o/", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/o/.gif", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/o/a/" TOK ".gif", ROUTE_OPEN, NULL, NULL, NULL },
	{ "/c/" TOK "/3/ugTU-wEAvU36WQ", ROUTE_CLICK, TOK, "3", "ugTU-wEAvU36WQ" },
	{ "/c/" TOK "/12/m", ROUTE_CLICK, TOK, "12", "m" },
	{ "/c/" TOK "/3/ugTU-wEAvU36WQ/", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/c/" TOK "//ugTU-wEAvU36WQ", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/c/" TOK "/3", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/c/" TOK "/3/a/b", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/c/short/3/mac", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/c/", ROUTE_CLICK, NULL, NULL, NULL },
	{ "/d/" TOK "/7/AAAAAGVT8QAHC6lV0LcwdFplzqH-9OIE", ROUTE_DOWNLOAD, TOK, "7",
	  "AAAAAGVT8QAHC6lV0LcwdFplzqH-9OIE" },
	{ "/d/" TOK "/7/s", ROUTE_DOWNLOAD, TOK, "7", "s" },
	{ "/d/" TOK "/7", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/" TOK "/7/", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/" TOK "/7/s/", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/" TOK "//s", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/" TOK "/7/s/x", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/short/7/s", ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/d/" TOK, ROUTE_DOWNLOAD, NULL, NULL, NULL },
	{ "/u/" TOK "/ugTU-wEAvU36WQ", ROUTE_UNSUB, TOK, NULL, "ugTU-wEAvU36WQ" },
	{ "/u/" TOK "/ugTU-wEAvU36WQ/", ROUTE_UNSUB, NULL, NULL, NULL },
	{ "/u/" TOK, ROUTE_UNSUB, NULL, NULL, NULL },
	{ "/u/" TOK "/", ROUTE_UNSUB, NULL, NULL, NULL },
	{ "/u/short/ugTU-wEAvU36WQ", ROUTE_UNSUB, NULL, NULL, NULL },
	{ "/u/", ROUTE_UNSUB, NULL, NULL, NULL },
	{ "/U/" TOK "/ugTU-wEAvU36WQ", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/p.gif", ROUTE_PIXEL, NULL, NULL, NULL },
	{ "/p.gif/", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/healthz", ROUTE_HEALTHZ, NULL, NULL, NULL },
	{ "/metrics", ROUTE_METRICS, NULL, NULL, NULL },
	{ "/metricsx", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/", ROUTE_OTHER, NULL, NULL, NULL },
	{ "", ROUTE_OTHER, NULL, NULL, NULL },
	{ "o/" TOK ".gif", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/O/" TOK ".gif", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/x/" TOK ".gif", ROUTE_OTHER, NULL, NULL, NULL },
	{ "/oo/" TOK ".gif", ROUTE_OTHER, NULL, NULL, NULL },
};

/* check_slice - a slice equals EXPECTED (or is empty when EXPECTED is NULL) */
static void check_slice(const char *path, const char *p, size_t len, const char *expected)
{
	if (!expected) {
		if (len != 0)
			fail_msg("%s: unexpected slice '%.*s'", path, (int)len, p);
		return;
	}
	if (len != strlen(expected) || memcmp(p, expected, len) != 0)
		fail_msg("%s: slice '%.*s', expected '%s'", path, (int)len, p ? p : "", expected);
}

/* test_table - every case of the table */
static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct route_case *c = &cases[i];
		struct route r;
		enum route_kind k = route_parse(c->path, strlen(c->path), &r);
		if (k != c->kind || r.kind != c->kind)
			fail_msg("%s: kind %d, expected %d", c->path, (int)k, (int)c->kind);
		check_slice(c->path, r.token, r.token_len, c->token);
		check_slice(c->path, r.n, r.n_len, c->n);
		check_slice(c->path, r.mac, r.mac_len, c->mac);
	}
}

/* test_slices_point_into_path - no copies: slices are inside the input */
static void test_slices_point_into_path(void **state)
{
	static const char path[] = "/c/" TOK "/3/mac";
	struct route r;

	(void)state;
	assert_int_equal(route_parse(path, strlen(path), &r), ROUTE_CLICK);
	assert_ptr_equal(r.token, path + 3);
	assert_ptr_equal(r.n, path + 3 + 36 + 1);
	assert_ptr_equal(r.mac, path + 3 + 36 + 3);
}

/* test_length_bound - paths past ROUTE_MAX_PATH are not looked at */
static void test_length_bound(void **state)
{
	static char path[ROUTE_MAX_PATH + 2];
	struct route r;

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	memcpy(path, "/o/", 3);
	assert_int_equal(route_parse(path, ROUTE_MAX_PATH + 1, &r), ROUTE_OTHER);
	assert_int_equal(route_parse(path, ROUTE_MAX_PATH, &r), ROUTE_OPEN);
	assert_int_equal(r.token_len, 0);
}

/* test_not_terminated - LEN is honoured, the byte after it is not read */
static void test_not_terminated(void **state)
{
	static const char buf[] = "/healthzzz";
	struct route r;

	(void)state;
	assert_int_equal(route_parse(buf, 8, &r), ROUTE_HEALTHZ);
	assert_int_equal(route_parse(buf, 9, &r), ROUTE_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_slices_point_into_path),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_not_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
