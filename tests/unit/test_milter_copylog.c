/*
 * test_milter_copylog.c - unit tests of the copy log (milter/copylog.c):
 * an id added is known at once and after the file is opened again; a torn
 * last line, garbage and expired ids are forgotten, and opening rewrites
 * the file with the live ids only; while it runs, expired ids are no
 * longer found and are dropped from the table and the file once the
 * oldest is overdue; a short write reports ENOSPC and leaves no torn line.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

static long long fake_time;	/* the clock of test_expire_running */

/* fake_now - copylog_set_clock */
static long long fake_now(void)
{
	return fake_time;
}

/* rm_rf - remove the test directory DIR */
static void rm_rf(char *dir)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_expire_running - ids expire while the log stays open: not found after the TTL, and
 * dropped from the table and the file once the oldest is COPYLOG_COMPACT_S overdue; appends
 * after the rewrite go to the new file */
static void test_expire_running(void **state)
{
	char *dir = g_dir_make_tmp("beacon-copylog-XXXXXX", NULL), err[256];
	char *path = g_build_filename(dir, "copies.log", NULL), *text;
	long long t0 = (long long)time(NULL);
	uint8_t a[COPYLOG_ID_LEN], b[COPYLOG_ID_LEN], c[COPYLOG_ID_LEN], d[COPYLOG_ID_LEN];
	struct copylog *cl;
	(void)state;

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	memset(d, 0xd4, sizeof(d));
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	copylog_set_clock(cl, fake_now);
	fake_time = t0;
	assert_int_equal(copylog_add(cl, a), 0);
	assert_int_equal(copylog_sent_at(cl, a), t0);
	fake_time = t0 + COPYLOG_COMPACT_S + 100;
	assert_int_equal(copylog_add(cl, b), 0);
	/* past a's TTL: a is no longer found, though still in the table */
	fake_time = t0 + COPYLOG_TTL_S + 1;
	assert_false(copylog_has(cl, a));
	assert_true(copylog_has(cl, b));
	assert_int_equal(copylog_size(cl), 2);
	/* a is overdue: the next add compacts */
	fake_time = t0 + COPYLOG_TTL_S + COPYLOG_COMPACT_S + 10;
	assert_int_equal(copylog_add(cl, c), 0);
	assert_int_equal(copylog_size(cl), 2);
	assert_false(copylog_has(cl, a));
	assert_true(copylog_has(cl, b));
	assert_true(copylog_has(cl, c));
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_null(strstr(text, "a1a1a1a1"));
	assert_non_null(strstr(text, "b2b2b2b2"));
	assert_non_null(strstr(text, "c3c3c3c3"));
	g_free(text);
	/* appends go on to the rewritten file */
	assert_int_equal(copylog_add(cl, d), 0);
	copylog_close(cl);
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_false(copylog_has(cl, a));
	assert_true(copylog_has(cl, b));
	assert_true(copylog_has(cl, c));
	assert_true(copylog_has(cl, d));
	assert_int_equal(copylog_size(cl), 3);
	copylog_close(cl);
	g_free(path);
	rm_rf(dir);
}

/* test_short_write - a write cut short (file size limit) fails with ENOSPC, not a stale
 * errno, and the torn line is cut off so the next id is read back */
static void test_short_write(void **state)
{
	char *dir = g_dir_make_tmp("beacon-copylog-XXXXXX", NULL), err[256];
	char *path = g_build_filename(dir, "copies.log", NULL);
	uint8_t a[COPYLOG_ID_LEN], b[COPYLOG_ID_LEN], c[COPYLOG_ID_LEN];
	struct rlimit saved, small;
	struct stat st, st2;
	struct copylog *cl;
	void (*old)(int);
	(void)state;

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_int_equal(copylog_add(cl, a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = (rlim_t)st.st_size + 10;
	old = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = EINTR;	/* what a stale errno would report */
	assert_int_equal(copylog_add(cl, b), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, old);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_size, st.st_size);
	/* this process still knows b: it will not send it again */
	assert_true(copylog_has(cl, b));
	assert_int_equal(copylog_add(cl, c), 0);
	copylog_close(cl);
	cl = copylog_open(dir, err, sizeof(err));
	assert_non_null(cl);
	assert_true(copylog_has(cl, a));
	assert_false(copylog_has(cl, b));
	assert_true(copylog_has(cl, c));
	copylog_close(cl);
	g_free(path);
	rm_rf(dir);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_reopen),
		cmocka_unit_test(test_load_rules),
		cmocka_unit_test(test_expire_running),
		cmocka_unit_test(test_short_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
