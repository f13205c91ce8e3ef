/*
 * test_lib_db.c - unit tests of lib/db.c: the password file, the
 * statement deadline, and the non-blocking statement helpers against a
 * real throwaway PostgreSQL (db_throwaway.h).
 *
 * DESCRIPTION
 *	Without a server: db_timeout_ms() over a table of statement_timeout
 *	values; db_read_password() refuses a file others may read and keeps
 *	the first line; db_connect() to a closed port fails at once naming
 *	the host; the SQLSTATE readers and db_classify() on no result.
 *
 *	With the server: db_flush() + db_results() give DB_OK and the first
 *	result; division by zero (22012) and a duplicate key (23505) give
 *	DB_DATA (so does an index row over the btree limit, 54000) and the
 *	session stays usable; a missing table (42P01) gives
 *	DB_DOWN on a live session, the first failure of several statements
 *	decides; a statement that outlives its deadline gives DB_TIMEOUT
 *	close to the deadline; a terminated backend gives DB_DOWN; a server
 *	that stopped (SIGSTOP) makes db_flush() of a large statement give
 *	DB_TIMEOUT; a call that queued nothing is DB_DOWN.
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
#include <libpq-fe.h>

#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "db_throwaway.h"


/* test_timeout_ms - statement_timeout plus the margin, 5 s when it gives no bound */
static void test_timeout_ms(void **state)
{
	static const struct { long st; int unbounded, margin, want; } cases[] = {
		{ 2000, 5000, 1000, 3000 },
		{ 500, 30000, 3000, 3500 },
		{ 0, 5000, 1000, 6000 },
		{ 0, 30000, 3000, 33000 },
		{ -5, 5000, 1000, 6000 },
		{ 599999, 5000, 0, 599999 },
		{ 600000, 5000, 1000, 6000 },
		{ 600000, 30000, 3000, 33000 },
	};
	struct beacon_cfg cfg;
	(void)state;

	cfg_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg.database.statement_timeout = cases[i].st;
		int got = db_timeout_ms(&cfg, cases[i].unbounded, cases[i].margin);

		if (got != cases[i].want)
			fail_msg("statement_timeout %ld unbounded %d margin %d: %d, expected %d",
			    cases[i].st, cases[i].unbounded, cases[i].margin, got, cases[i].want);
	}
	cfg_free(&cfg);
}

/* test_password - mode 0644 refused with the chmod hint, 0600 read up to the newline */
static void test_password(void **state)
{
	char path[] = "/tmp/beacon-db-pw-XXXXXX", buf[64], err[256];
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\r\nsecond line\n", 20), 20);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(db_read_password(path, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(db_read_password(path, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "s3cret");
	unlink(path);
	assert_int_equal(db_read_password(path, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

/* test_connect_refused - a closed port: NULL at once, the host named */
static void test_connect_refused(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	long long t0 = clock_now_us();
	(void)state;

	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	cfg.database.conninfo = strdup("host=127.0.0.1 port=1 dbname=none user=none");
	assert_null(db_connect(&cfg, "test", err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.1"));
	assert_null(strchr(err, '\n'));
	assert_true(clock_now_us() - t0 < 3000000);
	cfg_free(&cfg);
}

/* test_program_keys - db_use(): a daemon's own db_conninfo wins when set, else [database] */
static void test_program_keys(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	(void)state;

	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	cfg.database.conninfo = strdup("host=127.0.0.1 port=1 dbname=none user=none");
	free(cfg.pixelsrv.db_conninfo);
	cfg.pixelsrv.db_conninfo = strdup("host=127.0.0.2 port=1 dbname=none user=none");
	db_use(DB_MILTER);	/* [milter] db_conninfo is empty: [database] */
	assert_null(db_connect(&cfg, "test", err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.1"));
	db_use(DB_PIXELSRV);
	assert_null(db_connect(&cfg, "test", err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.2"));
	free(cfg.notify.db_conninfo);
	cfg.notify.db_conninfo = strdup("host=127.0.0.3 port=1 dbname=none user=none");
	db_use(DB_NOTIFY);
	assert_null(db_connect(&cfg, "test", err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.3"));
	db_use(DB_ANY);
	assert_null(db_connect(&cfg, "test", err, sizeof(err)));
	assert_non_null(strstr(err, "database at 127.0.0.1"));
	cfg_free(&cfg);
}

/* test_sqlstate_none - no result, or a result without SQLSTATE */
static void test_sqlstate_none(void **state)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	int len;
	(void)state;

	assert_null(db_sqlstate(NULL));
	assert_false(db_sqlstate_is(NULL, "22"));
	assert_null(db_sqlstate(res));
	assert_false(db_sqlstate_is(res, ""));
	assert_int_equal(db_classify(NULL, res), DB_DOWN);
	assert_int_equal(db_classify(NULL, NULL), DB_DOWN);
	assert_string_equal(db_error(NULL, NULL, &len), "no session");
	assert_int_equal(len, 10);
	PQclear(res);
}

/* session - a non-blocking session to the cluster */
static PGconn *session(void)
{
	PGconn *c = PQconnectdb(db_cluster.conninfo);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	assert_int_equal(PQsetnonblocking(c, 1), 0);
	return c;
}

/* run - SQL on C within MS milliseconds; the fault, the kept result in *RES */
static enum db_fault run(PGconn *c, const char *sql, int ms, PGresult **res)
{
	long long deadline = clock_after_ms(ms);
	enum db_fault f = db_flush(c, PQsendQuery(c, sql), deadline);

	*res = NULL;
	if (f == DB_OK)
		f = db_results(c, deadline, res);
	return f;
}

/* test_results - success, data errors, other errors; the session survives data errors */
static void test_results(void **state)
{
	static const struct { const char *sql; enum db_fault want; const char *state; } cases[] = {
		{ "SELECT 41 + 1", DB_OK, NULL },
		{ "SELECT 42; SELECT 7", DB_OK, NULL },
		{ "SELECT 1/0", DB_DATA, "22012" },
		{ "INSERT INTO t VALUES (1)", DB_DATA, "23505" },
		{ "SELECT 'x'::int", DB_DATA, "22P02" },
		/* an index row over the btree limit: refused again on every retry */
		{ "INSERT INTO u SELECT string_agg(md5(i::text), '') FROM generate_series(1, 250) i",
		  DB_DATA, "54000" },
		{ "SELECT * FROM no_such_table", DB_DOWN, "42P01" },
		{ "SELECT 1; SELECT 1/0; SELECT * FROM no_such_table", DB_DATA, "22012" },
		{ "SELECT 42", DB_OK, NULL },
	};
	PGconn *c = session();
	PGresult *res;
	(void)state;

	PQclear(PQexec(c, "CREATE TEMP TABLE t (x int PRIMARY KEY); INSERT INTO t VALUES (1); "
			 "CREATE TEMP TABLE u (x text PRIMARY KEY)"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum db_fault f = run(c, cases[i].sql, 5000, &res);
		if (f != cases[i].want)
			fail_msg("%s: fault %d, expected %d", cases[i].sql, f, cases[i].want);
		assert_non_null(res);
		if (cases[i].state) {
			assert_string_equal(db_sqlstate(res), cases[i].state);
			assert_true((db_sqlstate_is(res, "2") || db_sqlstate_is(res, "54")) ==
				    (cases[i].want == DB_DATA));
			assert_int_equal(db_classify(c, res), cases[i].want);
		} else {
			assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
			assert_string_equal(PQgetvalue(res, 0, 0), "42");
		}
		PQclear(res);
		assert_int_equal(PQstatus(c), CONNECTION_OK);
	}
	/* without KEEP every result is cleared */
	assert_int_equal(db_flush(c, PQsendQuery(c, "SELECT 1"), clock_after_ms(5000)), DB_OK);
	assert_int_equal(db_results(c, clock_after_ms(5000), NULL), DB_OK);
	/* a call that queued nothing */
	assert_int_equal(db_flush(c, 0, clock_after_ms(5000)), DB_DOWN);
	PQfinish(c);
}

/* test_copy - db_results stops at COPY IN; the rows go in after it */
static void test_copy(void **state)
{
	PGconn *c = session();
	PGresult *res;
	long long deadline = clock_after_ms(5000);
	(void)state;

	PQclear(PQexec(c, "CREATE TEMP TABLE cp (x int)"));
	assert_int_equal(run(c, "COPY cp FROM STDIN", 5000, &res), DB_OK);
	assert_int_equal(PQresultStatus(res), PGRES_COPY_IN);
	PQclear(res);
	assert_int_equal(PQputCopyData(c, "1\n2\n", 4), 1);
	assert_int_equal(db_flush(c, PQputCopyEnd(c, NULL), deadline), DB_OK);
	assert_int_equal(db_results(c, deadline, &res), DB_OK);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(res), "2");
	PQclear(res);
	/* a refused row: the COPY's own data error */
	assert_int_equal(run(c, "COPY cp FROM STDIN", 5000, &res), DB_OK);
	PQclear(res);
	assert_int_equal(PQputCopyData(c, "x\n", 2), 1);
	assert_int_equal(db_flush(c, PQputCopyEnd(c, NULL), deadline), DB_OK);
	assert_int_equal(db_results(c, deadline, &res), DB_DATA);
	assert_string_equal(db_sqlstate(res), "22P02");
	PQclear(res);
	PQfinish(c);
}

/* test_timeout - a statement longer than its deadline: DB_TIMEOUT, near the deadline */
static void test_timeout(void **state)
{
	PGconn *c = session();
	PGresult *res;
	long long t0 = clock_now_us(), took;
	(void)state;

	assert_int_equal(run(c, "SELECT pg_sleep(5)", 300, &res), DB_TIMEOUT);
	took = clock_now_us() - t0;
	assert_null(res);
	assert_true(took >= 290000 && took < 2000000);
	PQfinish(c);
}

/* test_terminated - the backend goes away mid-statement: DB_DOWN */
static void test_terminated(void **state)
{
	PGconn *c = session();
	PGresult *res;
	(void)state;

	assert_int_equal(run(c, "SELECT pg_terminate_backend(pg_backend_pid())", 5000, &res),
	    DB_DOWN);
	assert_true(PQstatus(c) != CONNECTION_OK);
	assert_int_equal(db_classify(c, res), DB_DOWN);
	PQclear(res);
	PQfinish(c);
}

/* test_flush_stopped - a stopped server cannot take a large statement: DB_TIMEOUT */
static void test_flush_stopped(void **state)
{
	size_t n = 64u << 20;
	char *sql = malloc(n + 32);
	PGconn *c = session();
	long long t0;
	enum db_fault f;
	(void)state;

	assert_non_null(sql);
	memcpy(sql, "SELECT length('", 15);
	memset(sql + 15, 'x', n);
	strcpy(sql + 15 + n, "')");
	assert_int_equal(db_throwaway_cmd(&db_cluster, "pause"), 0);
	t0 = clock_now_us();
	f = db_flush(c, PQsendQuery(c, sql), clock_after_ms(400));
	/* the wait alone: resuming a cluster on a busy machine may take seconds */
	t0 = clock_now_us() - t0;
	assert_int_equal(db_throwaway_cmd(&db_cluster, "resume"), 0);
	assert_int_equal(f, DB_TIMEOUT);
	assert_true(t0 < 3000000);
	PQfinish(c);
	free(sql);
}

/* main - the pure tests, then the ones on the cluster */
int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_timeout_ms),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_program_keys),
		cmocka_unit_test(test_sqlstate_none),
	};
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_terminated),
		cmocka_unit_test(test_flush_stopped),
	};
	int rc = cmocka_run_group_tests_name("db without a server", pure, NULL, NULL);

	return rc | cmocka_run_group_tests_name("db on a server", server, db_cluster_up,
	    db_cluster_down);
}
