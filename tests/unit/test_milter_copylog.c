/*
 * test_milter_copylog.c - unit tests of the copy log (milter/copylog.c):
 * an id added is known at once and after the file is opened again; a torn
 * last line, garbage and expired ids are forgotten, and opening rewrites
 * the file with the live ids only.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <glib.h>

#include "copylog.h"

/* test_add_reopen - added ids survive a reopen; others are unknown */
static void test_add_reopen(void **state)
{
	char *dir = g_dir_make_tmp("beacon-copylog-XXXXXX", NULL), err[256], *cmd;
	uint8_t a[COPYLOG_ID_LEN], b[COPYLOG_ID_LEN];
	struct copylog *cl;
	(void)state;

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_false(copylog_has(cl, a));
	assert_int_equal(copylog_add(cl, a), 0);
	assert_true(copylog_has(cl, a));
	assert_false(copylog_has(cl, b));
	copylog_close(cl);
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_true(copylog_has(cl, a));
	assert_false(copylog_has(cl, b));
	assert_int_equal(copylog_size(cl), 1);
	copylog_close(cl);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_load_rules - expired, malformed and torn lines are dropped and the file compacted */
static void test_load_rules(void **state)
{
	char *dir = g_dir_make_tmp("beacon-copylog-XXXXXX", NULL), err[256];
	char *path = g_build_filename(dir, "copies.log", NULL), *text, *cmd;
	long long now = (long long)time(NULL);
	uint8_t live[COPYLOG_ID_LEN], old[COPYLOG_ID_LEN], torn[COPYLOG_ID_LEN];
	struct copylog *cl;
	(void)state;

	memset(live, 0x11, sizeof(live));
	memset(old, 0x22, sizeof(old));
	memset(torn, 0x33, sizeof(torn));
	text = g_strdup_printf("11111111111111111111111111111111 %lld\n"
			       "22222222222222222222222222222222 %lld\n"
			       "not a line\n"
			       "33333333333333333333333333333333 %lld",
			       now - 60, now - COPYLOG_TTL_S - 60, now);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(text);
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_true(copylog_has(cl, live));
	assert_false(copylog_has(cl, old));
	assert_false(copylog_has(cl, torn));
	assert_int_equal(copylog_size(cl), 1);
	copylog_close(cl);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_true(g_str_has_prefix(text, "11111111111111111111111111111111 "));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
	g_free(text);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(path);
	g_free(dir);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_reopen),
		cmocka_unit_test(test_load_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
