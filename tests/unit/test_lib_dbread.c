/*
 * test_lib_dbread.c - unit tests of lib/dbread.c, without a server: how
 * the lag probe's answer is read, the decision taken on it, the line that
 * says where a session reads, the replica's password file, and where
 * dbread_connect() goes when nothing answers.  The real replica (a
 * pg_basebackup standby, replay paused, stopped) is tests/e2e/44_replica.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "dbread.h"

/* test_probe_parse - in recovery t/f, the lag as numeric text, NULL unknown */
static void test_probe_parse(void **state)
{
	static const struct {
		const char *rec, *lag;	/* the probe's two text columns (NULL: SQL NULL) */
		int rc, standby;	/* expected */
		double want;		/* expected lag */
	} cases[] = {
		{ "t", "0", 0, 1, 0 },
		{ "t", "0.412345", 0, 1, 0.412345 },
		{ "t", "12.000000", 0, 1, 12 },
		{ "t", "86400.5", 0, 1, 86400.5 },
		{ "t", NULL, 0, 1, -1 },		/* nothing replayed since start */
		{ "t", "-0.250000", 0, 1, 0 },		/* clocks apart: no negative lag */
		{ "f", "0", 0, 0, 0 },			/* a primary */
		{ "t", "", -1, 0, 0 },
		{ "t", "1.5s", -1, 0, 0 },
		{ "t", "abc", -1, 0, 0 },
		{ "t", "NaN", -1, 0, 0 },
		{ "t", "Infinity", -1, 0, 0 },
		{ "true", "0", -1, 0, 0 },
		{ "", "0", -1, 0, 0 },
		{ NULL, "0", -1, 0, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int standby = -7;
		double lag = -7;
		int rc = dbread_probe_parse(cases[i].rec, cases[i].lag, &standby, &lag);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s, %s): rc %d, expected %d", i,
				 cases[i].rec ? cases[i].rec : "NULL",
				 cases[i].lag ? cases[i].lag : "NULL", rc, cases[i].rc);
		if (rc == 0 && (standby != cases[i].standby || lag != cases[i].want))
			fail_msg("case %zu: standby %d lag %g, expected %d %g", i, standby, lag,
				 cases[i].standby, cases[i].want);
	}
}

/* test_judge - over read_max_lag or unknown: the primary; read_max_lag 0: always the replica */
static void test_judge(void **state)
{
	static const struct {
		double lag;
		long max;
		enum dbread_verdict want;
	} cases[] = {
		{ 0, 30, DBREAD_USE },
		{ 29.9, 30, DBREAD_USE },
		{ 30, 30, DBREAD_USE },
		{ 30.05, 30, DBREAD_BEHIND },
		{ 1.2, 1, DBREAD_BEHIND },
		{ 3600, 30, DBREAD_BEHIND },
		{ -1, 30, DBREAD_UNKNOWN },
		{ -1, 0, DBREAD_USE },
		{ 86400, 0, DBREAD_USE },
		{ 0, 0, DBREAD_USE },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dbread_verdict got = dbread_judge(cases[i].lag, cases[i].max);
		if (got != cases[i].want)
			fail_msg("lag %g read_max_lag %ld: %d, expected %d", cases[i].lag,
				 cases[i].max, got, cases[i].want);
	}
}

/* test_describe - the line beaconctl prints (and beacon-web may show) */
static void test_describe(void **state)
{
	struct dbread_info info;
	char buf[256];
	(void)state;

	memset(&info, 0, sizeof(info));
	info.lag = -1;
	dbread_describe(&info, buf, sizeof(buf));
	assert_string_equal(buf, "");	/* no read_conninfo */

	info.replica = info.standby = 1;
	snprintf(info.server, sizeof(info.server), "127.0.0.1:5433");
	info.lag = 0.44;
	dbread_describe(&info, buf, sizeof(buf));
	assert_string_equal(buf, "read from replica 127.0.0.1:5433 (lag 0.4 s)");
	info.lag = -1;
	dbread_describe(&info, buf, sizeof(buf));
	assert_string_equal(buf, "read from replica 127.0.0.1:5433 (lag unknown)");
	info.standby = 0;
	info.lag = 0;
	dbread_describe(&info, buf, sizeof(buf));
	assert_string_equal(buf, "read from 127.0.0.1:5433 (read_conninfo; not a standby, no lag)");

	info.replica = 0;
	snprintf(info.fallback, sizeof(info.fallback),
		 "replica 127.0.0.1:5433 is 12.3 s behind (read_max_lag 5 s)");
	dbread_describe(&info, buf, sizeof(buf));
	assert_string_equal(buf, "read from the primary: replica 127.0.0.1:5433 is 12.3 s "
			    "behind (read_max_lag 5 s)");
	dbread_describe(&info, buf, 12);	/* truncated, terminated */
	assert_string_equal(buf, "read from t");
}

/* test_preload - read_password_file (else password_file) is read once and kept; too open
 * is refused; nothing is read without read_conninfo */
static void test_preload(void **state)
{
	char path[] = "/tmp/beacon-dbread-pw-XXXXXX", err[512];
	struct beacon_cfg cfg;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "replica-pw\n", 11), 11);
	close(fd);
	cfg_defaults(&cfg);
	free(cfg.database.read_password_file);
	cfg.database.read_password_file = strdup("/nonexistent/beacon-pw");
	assert_int_equal(dbread_preload(&cfg, err, sizeof(err)), 0);	/* no read_conninfo */

	free(cfg.database.read_conninfo);
	cfg.database.read_conninfo = strdup("host=127.0.0.1 port=1");
	assert_int_equal(dbread_preload(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/beacon-pw"));

	free(cfg.database.read_password_file);
	cfg.database.read_password_file = strdup("");
	free(cfg.database.password_file);
	cfg.database.password_file = strdup(path);	/* the fallback */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dbread_preload(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(dbread_preload(&cfg, err, sizeof(err)), 0);
	unlink(path);	/* read once: later connections (after a privilege drop) reuse it */
	assert_int_equal(dbread_preload(&cfg, err, sizeof(err)), 0);
	cfg_free(&cfg);
}

/* test_nothing_answers - replica and primary on closed ports: NULL, the error names
 * both, INFO says why the replica was left; without read_conninfo only the primary */
static void test_nothing_answers(void **state)
{
	struct dbread_info info;
	struct beacon_cfg cfg;
	char err[1600];
	(void)state;

	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	cfg.database.conninfo = strdup("host=127.0.0.1 port=1 dbname=none user=none");
	assert_null(dbread_connect(&cfg, "test", &info, err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.1"));
	assert_null(strstr(err, "replica"));
	assert_int_equal(info.replica, 0);
	assert_string_equal(info.fallback, "");

	free(cfg.database.read_conninfo);
	cfg.database.read_conninfo = strdup("host=127.0.0.2 port=1 dbname=none user=none");
	assert_null(dbread_connect(&cfg, "test", &info, err, sizeof(err)));
	assert_int_equal(info.replica, 0);
	assert_true(info.lag < 0);
	assert_string_equal(info.server, "");
	assert_non_null(strstr(info.fallback, "cannot connect to the replica (database at 127.0.0.2"));
	assert_non_null(strstr(err, "database at 127.0.0.1"));
	assert_non_null(strstr(err, "; and cannot connect to the replica (database at 127.0.0.2"));
	assert_null(strchr(err, '\n'));
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_parse),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_preload),
		cmocka_unit_test(test_nothing_answers),
	};

	return cmocka_run_group_tests_name("dbread", tests, NULL, NULL);
}
