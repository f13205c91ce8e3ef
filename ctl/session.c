/*
 * NAME
 *	session.c - beaconctl's database session and its error handling
 *
 * DESCRIPTION
 *	ctl_connect() opens the one session a command uses (db_connect()
 *	with the [database] keys), makes its output predictable (client
 *	encoding UTF8, ISO dates, the viewer's time zone) and prints server
 *	notices as "beaconctl: notice: ...".  ctl_connect_read() opens the
 *	read-only session of the commands that only list data (report,
 *	history, export without --purge): on [database] read_conninfo's
 *	replica while it is no more than read_max_lag behind, saying so on
 *	stderr ("beaconctl: read from replica HOST:PORT (lag 0.4 s)"), else on
 *	the primary with a warning that says why (dbread.h).
 *
 *	ctl_pg_code() is the one mapper from a failed statement to a
 *	sysexits(3) code, by SQLSTATE class (read with db_sqlstate_is, the
 *	data classes decided by db_classify, see db.h): connection trouble is
 *	EX_UNAVAILABLE, what a retry may cure (serialization failure,
 *	deadlock, lock or statement timeout) EX_TEMPFAIL, bad values
 *	EX_DATAERR, a missing schema object EX_CONFIG (with a hint to run
 *	beaconctl migrate), refused privileges EX_NOPERM, the rest
 *	EX_SOFTWARE.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "db.h"
#include "dbread.h"
#include "output.h"

/* ctl_notice - print a server NOTICE or WARNING on stderr */
static void ctl_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	char word[16] = "notice";

	(void)arg;
	if (sev) {
		size_t i;
		for (i = 0; sev[i] && i < sizeof(word) - 1; i++)
			word[i] = (char)(sev[i] >= 'A' && sev[i] <= 'Z' ? sev[i] + 32 : sev[i]);
		word[i] = '\0';
	}
	fprintf(stderr, "beaconctl: %s: %s\n", word, msg ? msg : "");
	if (detail)
		fprintf(stderr, "beaconctl:   detail: %s\n", detail);
}

/* ctl_viewer_tz - $TZ (":" and the zoneinfo prefix removed), else /etc/localtime's zone */
const char *ctl_viewer_tz(void)
{
	static char buf[PATH_MAX];
	static const char zoneinfo[] = "/zoneinfo/";
	const char *tz = getenv("TZ"), *p;
	ssize_t n;

	if (tz) {
		if (*tz == ':')
			tz++;
		p = strstr(tz, zoneinfo);
		if (*tz == '/' && p)
			tz = p + sizeof(zoneinfo) - 1;
		return *tz && *tz != '/' ? tz : NULL;
	}
	n = readlink("/etc/localtime", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	p = strstr(buf, zoneinfo);
	return p && p[sizeof(zoneinfo) - 1] ? p + sizeof(zoneinfo) - 1 : NULL;
}

/* ctl_session_setup - notices, encoding, dates and the viewer's time zone on C's session */
static void ctl_session_setup(struct ctl *c)
{
	const char *tz;
	PGresult *res;

	PQsetNoticeReceiver(c->conn, ctl_notice, NULL);
	if (PQsetClientEncoding(c->conn, "UTF8") != 0)
		ctl_die(c, EX_UNAVAILABLE, "cannot set client encoding: %s",
			PQerrorMessage(c->conn));
	ctl_cmd(c, "session setup", "SET DateStyle = ISO", 0, NULL);
	tz = ctl_viewer_tz();
	if (tz) {
		res = PQexecParams(c->conn, "SELECT set_config('TimeZone', $1, false)",
				   1, NULL, &tz, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fprintf(stderr, "beaconctl: warning: time zone '%s' unknown to the "
				"server; times are shown in the server's zone\n", tz);
		PQclear(res);
	}
}

/* ctl_check_password_file - an unreadable or too open password_file is EX_CONFIG */
static void ctl_check_password_file(struct ctl *c)
{
	char err[1024], pw[512];

	if (c->cfg.database.password_file && *c->cfg.database.password_file) {
		if (db_read_password(c->cfg.database.password_file, pw, sizeof(pw),
				     err, sizeof(err)) < 0)
			ctl_die(c, EX_CONFIG, "%s", err);
		memset(pw, 0, sizeof(pw));
	}
}

/* ctl_connect - open the session once; exits with EX_CONFIG or EX_UNAVAILABLE */
PGconn *ctl_connect(struct ctl *c)
{
	char err[1024];

	if (c->conn)
		return c->conn;
	ctl_check_password_file(c);
	c->conn = db_connect(&c->cfg, "beaconctl", err, sizeof(err));
	if (!c->conn)
		ctl_die(c, EX_UNAVAILABLE, "%s", err);
	ctl_session_setup(c);
	return c->conn;
}

/* ctl_connect_read - open a read-only session once, on the replica when it may be read
 * (dbread.h): says so on stderr; a fallback to the primary is logged as a warning */
PGconn *ctl_connect_read(struct ctl *c)
{
	struct dbread_info info;
	char err[1600], line[512];

	if (c->conn)
		return c->conn;
	ctl_check_password_file(c);
	c->conn = dbread_connect(&c->cfg, "beaconctl", &info, err, sizeof(err));
	if (!c->conn)
		ctl_die(c, EX_UNAVAILABLE, "%s", err);
	if (info.replica) {
		dbread_describe(&info, line, sizeof(line));
		fprintf(stderr, "beaconctl: %s\n", line);
	}
	ctl_session_setup(c);
	return c->conn;
}

/* ctl_pg_code - sysexits code for a failed result, by SQLSTATE */
int ctl_pg_code(PGconn *conn, const PGresult *res)
{
	if (!conn || PQstatus(conn) != CONNECTION_OK || db_sqlstate_is(res, "08") ||
	    db_sqlstate_is(res, "57P"))
		return EX_UNAVAILABLE;
	if (!db_sqlstate(res))
		return EX_SOFTWARE;
	if (db_sqlstate_is(res, "40") || db_sqlstate_is(res, "53") ||
	    db_sqlstate_is(res, "55P03") || db_sqlstate_is(res, "57014"))
		return EX_TEMPFAIL;
	if (db_classify(conn, res) == DB_DATA)
		return EX_DATAERR;
	if (db_sqlstate_is(res, "3F000") || db_sqlstate_is(res, "42P01") ||
	    db_sqlstate_is(res, "42883") || db_sqlstate_is(res, "42703"))
		return EX_CONFIG;
	if (db_sqlstate_is(res, "42501") || db_sqlstate_is(res, "28"))
		return EX_NOPERM;
	return EX_SOFTWARE;
}

/* ctl_pg_die - print the server's error (primary, detail, hint) and exit */
void ctl_pg_die(struct ctl *c, PGresult *res, const char *what)
{
	int code = ctl_pg_code(c->conn, res);
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

	if (!msg) {
		msg = c->conn ? PQerrorMessage(c->conn) : "no session";
		if (!*msg && res)
			msg = PQresStatus(PQresultStatus(res));
	}
	fprintf(stderr, "beaconctl: error: %s: %.*s\n", what, (int)strcspn(msg, "\n"), msg);
	if (detail)
		fprintf(stderr, "beaconctl:   detail: %s\n", detail);
	if (hint)
		fprintf(stderr, "beaconctl:   hint: %s\n", hint);
	if (code == EX_CONFIG)
		fprintf(stderr, "beaconctl:   is the schema installed and current? "
			"run: beaconctl migrate\n");
	PQclear(res);
	ctl_exit(c, code);
}

/* ctl_exec - run one parameterized statement; its result, or exit */
PGresult *ctl_exec(struct ctl *c, const char *what, const char *sql, int n,
		   const char *const *params)
{
	PGresult *res = PQexecParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		ctl_pg_die(c, res, what);
	return res;
}

/* ctl_print_result - RES as a table in FMT on standard output, then cleared;
 * 0, or EX_IOERR when the output could not be written */
int ctl_print_result(struct ctl *c, PGresult *res, enum out_format fmt)
{
	struct out_table t;
	int rc;

	if (out_from_pg(&t, res) < 0) {
		PQclear(res);
		ctl_die(c, EX_OSERR, "out of memory");
	}
	rc = out_print(stdout, &t, fmt) < 0 ? EX_IOERR : 0;
	out_free(&t);
	PQclear(res);
	return rc;
}

/* ctl_cmd - run a statement for its effect only */
void ctl_cmd(struct ctl *c, const char *what, const char *sql, int n,
	     const char *const *params)
{
	PQclear(ctl_exec(c, what, sql, n, params));
}

/* ctl_rollback - leave a failed or abandoned transaction */
void ctl_rollback(struct ctl *c)
{
	if (c->conn && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		PQclear(PQexec(c->conn, "ROLLBACK"));
}
