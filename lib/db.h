/*
 * NAME
 *	db.h - PostgreSQL sessions the way every Beacon program opens and
 *	uses them
 *
 * SYNOPSIS
 *	PGconn *conn = db_connect(cfg, "beacon-x", err, sizeof(err));
 *	PQsetnonblocking(conn, 1);
 *	long long deadline = clock_after_ms(db_timeout_ms(cfg, 5000, 1000));
 *	enum db_fault f = db_flush(conn, PQsendQuery(conn, sql), deadline);
 *	if (f == DB_OK)
 *		f = db_results(conn, deadline, &res);	(res: the answer, or the first failure)
 *
 * DESCRIPTION
 *	The [database] keys give the libpq connection string, an optional
 *	password file (refused if group or others may read it), the connect
 *	timeout and the statement timeout, applied to every session.
 *
 *	A daemon never blocks on the server: statements go out on a
 *	non-blocking session and every wait is a poll() on its socket until
 *	a deadline on the one monotonic clock (clock.h), so a server that
 *	stopped answering, even one that cannot enforce statement_timeout,
 *	costs at most the time given.  db_flush() pushes what a PQsend* or
 *	PQputCopy* call queued, db_result() reads the next result,
 *	db_results() every remaining one.
 *
 *	Every failure comes out as an enum db_fault: DB_DATA when the
 *	server refused the statement for its values (SQLSTATE class 22 data
 *	exception, 23 integrity constraint violation or 54 program limit
 *	exceeded, such as an index row too big: the same input will
 *	be refused again, keep the session), DB_DOWN for anything else
 *	(connection lost, server shutting down, missing table, privileges:
 *	drop the session and retry later), DB_TIMEOUT when the deadline
 *	passed (drop the session, do not wait again).  db_sqlstate() and
 *	db_sqlstate_is() read a result's SQLSTATE for finer mappings
 *	(beaconctl's sysexits codes).
 */
#ifndef BEACON_DB_H
#define BEACON_DB_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"

/* db_fault - how a statement ended */
enum db_fault {
	DB_OK,		/* every result succeeded */
	DB_DATA,	/* refused for its data (SQLSTATE class 22, 23, 54): retrying will not help */
	DB_DOWN,	/* connection or server trouble: drop the session */
	DB_TIMEOUT,	/* no answer before the deadline: drop the session, do not wait again */
};

/* db_program - whose [section] db_conninfo and db_password_file apply */
enum db_program {
	DB_ANY,		/* [database] conninfo and password_file only */
	DB_MILTER,	/* [milter] db_conninfo, db_password_file when set */
	DB_PIXELSRV,	/* [pixelsrv] db_conninfo, db_password_file when set */
	DB_NOTIFY,	/* [notify] db_conninfo, db_password_file when set */
	DB_WEB,		/* [web] db_conninfo, db_password_file when set */
};

/* db_use - the program this process is, before the configuration is read */
void db_use(enum db_program p);
/* db_connect - open a session named APP; NULL with a message in ERR (host named) */
PGconn *db_connect(const struct beacon_cfg *cfg, const char *app, char *err, size_t errlen);
/* db_connect_to - db_connect to CONNINFO with PASSWORD_FILE's password (NULL or "": none),
 * the [database] timeouts alike (lib/dbread.c opens the read replica's sessions so) */
PGconn *db_connect_to(const struct beacon_cfg *cfg, const char *conninfo,
		      const char *password_file, const char *app, char *err, size_t errlen);
/* db_password_preload - read password_file once, before privileges are dropped;
 * later connections (reconnects as the unprivileged user) reuse it */
int db_password_preload(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* db_password_load - PATH's password into OUT (NULL: only load it), read once per
 * process and kept (two files at most: the program's and the read replica's) */
int db_password_load(const char *path, char *out, size_t outlen, char *err, size_t errlen);
/* db_read_password - first line of PATH into BUF; -1 with ERR if unreadable or too open */
int db_read_password(const char *path, char *buf, size_t len, char *err, size_t errlen);
/* db_ok - did RES succeed (COMMAND_OK, TUPLES_OK or COPY_IN)?  Logs the error with WHAT if not */
int db_ok(PGconn *conn, PGresult *res, const char *what);

/* db_timeout_ms - how long to wait for one statement: statement_timeout plus MARGIN_MS
 * (UNBOUNDED_MS plus MARGIN_MS when statement_timeout is 0 or 10 minutes and over:
 * the milter, which holds mail, takes 5 s; the event writer 30 s) */
int db_timeout_ms(const struct beacon_cfg *cfg, int unbounded_ms, int margin_ms);
/* db_wait - poll CONN's socket for EVENTS until DEADLINE (clock_now_us); 0, or -1 on timeout */
int db_wait(PGconn *conn, short events, long long deadline);
/* db_flush - after a PQsend* or PQputCopy* call that returned QUEUED, push the output
 * out before DEADLINE: DB_OK, DB_DOWN (QUEUED not 1, connection lost) or DB_TIMEOUT */
enum db_fault db_flush(PGconn *conn, int queued, long long deadline);
/* db_result - the next result, waiting until DEADLINE; NULL at the end (*FAULT DB_OK),
 * when the connection is lost (DB_DOWN) or on timeout (DB_TIMEOUT) */
PGresult *db_result(PGconn *conn, long long deadline, enum db_fault *fault);
/* db_results - read every remaining result before DEADLINE: DB_OK when all succeeded,
 * db_classify() of the first that failed, or DB_DOWN / DB_TIMEOUT when reading did.
 * KEEP (may be NULL) receives the first failed result, else the first one, else NULL:
 * the caller clears it */
enum db_fault db_results(PGconn *conn, long long deadline, PGresult **keep);
/* db_classify - what failed RES (NULL: the call failed) on CONN means: DB_DATA or DB_DOWN */
enum db_fault db_classify(PGconn *conn, const PGresult *res);
/* db_sqlstate - RES's SQLSTATE, or NULL (no result, or no error) */
const char *db_sqlstate(const PGresult *res);
/* db_sqlstate_is - does RES's SQLSTATE start with PREFIX (a class "22" or a code "42P01")? */
int db_sqlstate_is(const PGresult *res, const char *prefix);
/* db_error - the error text of RES, else of CONN; *LEN: its first line's length (for %.*s) */
const char *db_error(PGconn *conn, const PGresult *res, int *len);

#endif
