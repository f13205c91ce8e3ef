/*
 * dbread.c - open read-only sessions on the streaming replica of
 * [database] read_conninfo while it is close enough behind, else on the
 * primary, and say which and why (see dbread.h).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "dbread.h"
#include "log.h"

/*
 * The probe: in recovery?, an upper bound of the lag in seconds (NULL:
 * unknown), the session made read-only and the position replayed, in one
 * round trip.  The age of the last transaction replayed bounds the lag:
 * whatever the replica lacks was committed after it.  It cannot tell a
 * stream that stopped (a walsender hung, a slow link) from an idle primary,
 * and the replica cannot either (it sees no WAL it was not sent): when the
 * bound is over read_max_lag, dbread_caught_up_sql asks the primary.
 */
static const char dbread_probe_sql[] =
	"SELECT pg_is_in_recovery(), "
	"CASE WHEN NOT pg_is_in_recovery() THEN 0 "
	"ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, "
	"set_config('default_transaction_read_only', 'on', false), "
	"pg_last_wal_replay_lsn()";

/*
 * On the primary: the same first and third columns (the session is
 * read-only from then on), and whether the replica has replayed all the
 * WAL written so far ($1, its pg_last_wal_replay_lsn(); NULL: not asked).
 */
static const char dbread_caught_up_sql[] =
	"SELECT pg_is_in_recovery(), "
	"CASE WHEN pg_is_in_recovery() OR $1::pg_lsn IS NULL THEN NULL "
	"ELSE pg_current_wal_lsn() <= $1::pg_lsn END, "
	"set_config('default_transaction_read_only', 'on', false)";

/* dbread_probe_parse - the probe's answer as values */
int dbread_probe_parse(const char *in_recovery, const char *lag, int *standby, double *lagp)
{
	char *end;
	double v;

	if (!in_recovery || (strcmp(in_recovery, "t") != 0 && strcmp(in_recovery, "f") != 0))
		return -1;
	*standby = in_recovery[0] == 't';
	if (!lag) {
		*lagp = -1;
		return 0;
	}
	v = strtod(lag, &end);
	if (end == lag || *end || !isfinite(v))
		return -1;
	*lagp = v < 0 ? 0 : v;
	return 0;
}

/* dbread_judge - read there, or not, and why */
enum dbread_verdict dbread_judge(double lag, long max_lag)
{
	if (max_lag <= 0)
		return DBREAD_USE;
	if (lag < 0)
		return DBREAD_UNKNOWN;
	return lag > (double)max_lag ? DBREAD_BEHIND : DBREAD_USE;
}

/* dbread_password_file - the replica's password file: read_password_file, else password_file */
static const char *dbread_password_file(const struct beacon_cfg *cfg)
{
	const char *own = cfg->database.read_password_file;

	return own && *own ? own : cfg->database.password_file;
}

/* dbread_preload - read the replica's password file once, now */
int dbread_preload(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const char *path = dbread_password_file(cfg);

	if (!cfg->database.read_conninfo || !*cfg->database.read_conninfo || !path || !*path)
		return 0;
	return db_password_load(path, NULL, 0, err, errlen);
}

/* dbread_ask - run SQL (with NPARAMS 0, or 1: PARAM as $1, NULL the SQL NULL) on CONN within
 * the statement deadline: its one row of NCOLS columns into *RES (the caller clears it); 0,
 * or -1 with WHY */
static int dbread_ask(PGconn *conn, const struct beacon_cfg *cfg, const char *sql, int nparams,
		      const char *param, int ncols, PGresult **res, char *why, size_t whylen)
{
	long long deadline = clock_after_ms(db_timeout_ms(cfg, 5000, 1000));
	int blocking = !PQisnonblocking(conn), rc = -1, len;
	enum db_fault f;
	const char *msg;

	*res = NULL;
	if (PQsetnonblocking(conn, 1) != 0) {
		snprintf(why, whylen, "lag probe: %s", "cannot make the session non-blocking");
		return -1;
	}
	f = db_flush(conn, nparams ? PQsendQueryParams(conn, sql, 1, NULL, &param, NULL, NULL, 0) :
		     PQsendQuery(conn, sql), deadline);
	if (f == DB_OK)
		f = db_results(conn, deadline, res);
	if (f == DB_TIMEOUT) {
		snprintf(why, whylen, "lag probe: no answer within %d ms",
			 db_timeout_ms(cfg, 5000, 1000));
	} else if (f != DB_OK) {
		msg = db_error(conn, *res, &len);
		snprintf(why, whylen, "lag probe: %.*s", len, msg);
	} else if (!*res || PQntuples(*res) != 1 || PQnfields(*res) != ncols) {
		snprintf(why, whylen, "lag probe: unexpected answer");
	} else {
		rc = 0;
	}
	if (blocking && PQsetnonblocking(conn, 0) != 0 && rc == 0) {
		snprintf(why, whylen, "lag probe: cannot make the session blocking again");
		rc = -1;
	}
	if (rc < 0) {
		PQclear(*res);
		*res = NULL;
	}
	return rc;
}

/* dbread_cell - a cell of the one row of RES, NULL for SQL NULL */
static const char *dbread_cell(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* dbread_probe - the probe on the replica CONN: *STANDBY, *LAG (its upper bound) and the
 * position it replayed into LSN ("" when not in recovery); 0, or -1 with WHY */
static int dbread_probe(PGconn *conn, const struct beacon_cfg *cfg, int *standby, double *lag,
			char *lsn, size_t lsnlen, char *why, size_t whylen)
{
	PGresult *res;
	const char *pos;

	if (dbread_ask(conn, cfg, dbread_probe_sql, 0, NULL, 4, &res, why, whylen) < 0)
		return -1;
	if (dbread_probe_parse(dbread_cell(res, 0), dbread_cell(res, 1), standby, lag) < 0) {
		snprintf(why, whylen, "lag probe: unexpected answer");
		PQclear(res);
		return -1;
	}
	pos = dbread_cell(res, 3);
	snprintf(lsn, lsnlen, "%s", pos && strlen(pos) < lsnlen ? pos : "");
	PQclear(res);
	return 0;
}

/* dbread_primary - make the primary's session CONN read-only and, when LSN is not NULL,
 * ask whether a replica that replayed up to LSN has all it wrote: *CAUGHT 1 yes, 0 no,
 * -1 cannot tell; 0, or -1 with WHY */
static int dbread_primary(PGconn *conn, const struct beacon_cfg *cfg, const char *lsn,
			  int *caught, char *why, size_t whylen)
{
	PGresult *res;
	const char *rec, *ok;

	*caught = -1;
	/* a NULL $1 is the SQL NULL: nothing compared */
	if (dbread_ask(conn, cfg, dbread_caught_up_sql, 1, lsn && *lsn ? lsn : NULL, 3, &res, why,
		       whylen) < 0)
		return -1;
	rec = dbread_cell(res, 0);
	ok = dbread_cell(res, 1);
	if (!rec || (strcmp(rec, "t") != 0 && strcmp(rec, "f") != 0)) {
		snprintf(why, whylen, "lag probe: unexpected answer");
		PQclear(res);
		return -1;
	}
	if (ok)
		*caught = strcmp(ok, "t") == 0;
	PQclear(res);
	return 0;
}

/* dbread_replica - a session on CONNINFO's server (PASSWORD_FILE's password) and the
 * verdict on it (*VERDICT, the position it replayed in LSN); NULL with the reason in
 * INFO->fallback when it cannot be reached or asked */
static PGconn *dbread_replica(const struct beacon_cfg *cfg, const char *conninfo,
			      const char *password_file, const char *app,
			      struct dbread_info *info, enum dbread_verdict *verdict,
			      char *lsn, size_t lsnlen)
{
	char err[512], why[512];
	PGconn *conn;

	conn = db_connect_to(cfg, conninfo, password_file, app, err, sizeof(err));
	if (!conn) {
		snprintf(info->fallback, sizeof(info->fallback),
			 "cannot connect to the replica (%s)", err);
		return NULL;
	}
	snprintf(info->server, sizeof(info->server), "%s:%s", PQhost(conn) ? PQhost(conn) : "",
		 PQport(conn) ? PQport(conn) : "");
	if (dbread_probe(conn, cfg, &info->standby, &info->lag, lsn, lsnlen, why,
			 sizeof(why)) < 0) {
		snprintf(info->fallback, sizeof(info->fallback), "replica %s: %s", info->server,
			 why);
		PQfinish(conn);
		return NULL;
	}
	if (!info->standby)
		info->lag = 0;
	*verdict = dbread_judge(info->lag, cfg->database.read_max_lag);
	return conn;
}

/* dbread_idle - is a replica that replayed up to LSN, its last transaction old, current
 * all the same (the primary wrote nothing since)?  Asked on a session of the program's
 * own primary, opened and closed here */
static int dbread_idle(const struct beacon_cfg *cfg, const char *lsn)
{
	char err[512], why[512];
	int caught = -1;
	PGconn *p;

	if (!lsn || !*lsn || !(p = db_connect(cfg, "beacon-dbread", err, sizeof(err))))
		return 0;
	if (dbread_primary(p, cfg, lsn, &caught, why, sizeof(why)) < 0)
		caught = -1;
	PQfinish(p);
	return caught == 1;
}

/* dbread_verdict_of - probe replica session CONN again into INFO: its verdict, or
 * DBREAD_UNKNOWN with the reason in INFO->fallback when it cannot be asked */
static enum dbread_verdict dbread_verdict_of(PGconn *conn, const struct beacon_cfg *cfg,
					     struct dbread_info *info)
{
	char why[512], lsn[64];

	info->fallback[0] = '\0';
	if (dbread_probe(conn, cfg, &info->standby, &info->lag, lsn, sizeof(lsn), why,
			 sizeof(why)) < 0) {
		snprintf(info->fallback, sizeof(info->fallback), "replica %s: %s", info->server,
			 why);
		return DBREAD_UNKNOWN;
	}
	if (!info->standby)
		info->lag = 0;
	if (dbread_judge(info->lag, cfg->database.read_max_lag) != DBREAD_USE &&
	    dbread_idle(cfg, lsn))
		info->lag = 0;
	return dbread_judge(info->lag, cfg->database.read_max_lag);
}

/* dbread_behind - why the replica INFO describes is not read (VERDICT not DBREAD_USE) */
static void dbread_behind(const struct beacon_cfg *cfg, struct dbread_info *info,
			  enum dbread_verdict verdict)
{
	if (verdict == DBREAD_BEHIND)
		snprintf(info->fallback, sizeof(info->fallback),
			 "replica %s is %.1f s behind (read_max_lag %ld s)", info->server,
			 info->lag, cfg->database.read_max_lag);
	else
		snprintf(info->fallback, sizeof(info->fallback),
			 "replica %s cannot tell its lag: it replayed no transaction since it "
			 "started (read_max_lag %ld s)", info->server, cfg->database.read_max_lag);
}

/* dbread_connect - the replica when it may be read, else the primary; read-only either way */
PGconn *dbread_connect(const struct beacon_cfg *cfg, const char *app, struct dbread_info *info,
		       char *err, size_t errlen)
{
	enum dbread_verdict verdict = DBREAD_UNKNOWN;
	char why[512], perr[1024], lsn[64] = "";
	PGconn *conn, *replica = NULL;
	int caught = -1;

	memset(info, 0, sizeof(*info));
	info->lag = -1;
	if (cfg->database.read_conninfo && *cfg->database.read_conninfo) {
		replica = dbread_replica(cfg, cfg->database.read_conninfo,
					 dbread_password_file(cfg), app, info, &verdict, lsn,
					 sizeof(lsn));
		if (replica && verdict == DBREAD_USE) {
			info->replica = 1;
			return replica;
		}
	}
	conn = db_connect(cfg, app, perr, sizeof(perr));
	/* the replica's last transaction is old, or it has none: behind, or is the
	 * primary idle?  The primary says whether it wrote anything since */
	if (conn && dbread_primary(conn, cfg, replica ? lsn : NULL, &caught, why,
				   sizeof(why)) < 0) {
		snprintf(perr, sizeof(perr), "database %s: %s", PQhost(conn) ? PQhost(conn) : "",
			 why);
		PQfinish(conn);
		conn = NULL;
	}
	if (replica && caught == 1) {
		PQfinish(conn);
		info->lag = 0;
		info->replica = 1;
		return replica;
	}
	if (replica) {
		dbread_behind(cfg, info, verdict);
		PQfinish(replica);
	}
	if (info->fallback[0])
		log_warnx("%s: reading from the primary", info->fallback);
	if (!conn) {
		if (info->fallback[0])
			snprintf(err, errlen, "%s; and %s", perr, info->fallback);
		else
			snprintf(err, errlen, "%s", perr);
		return NULL;
	}
	return conn;
}
/* dbread_open - a session on CONNINFO's server, INFO->replica set when it may be read (its
 * lag under read_max_lag, or the program's primary idle since the replica's position),
 * else the reason in INFO->fallback; NULL when it cannot be reached or asked */
PGconn *dbread_open(const struct beacon_cfg *cfg, const char *conninfo,
		    const char *password_file, const char *app, struct dbread_info *info)
{
	enum dbread_verdict verdict = DBREAD_UNKNOWN;
	char lsn[64];
	PGconn *conn;

	memset(info, 0, sizeof(*info));
	info->lag = -1;
	conn = dbread_replica(cfg, conninfo, password_file, app, info, &verdict, lsn,
			      sizeof(lsn));
	/* old last transaction, or none: behind, or is the primary idle? */
	if (conn && verdict != DBREAD_USE && dbread_idle(cfg, lsn)) {
		info->lag = 0;
		verdict = DBREAD_USE;
	}
	if (conn && verdict != DBREAD_USE)
		dbread_behind(cfg, info, verdict);
	else if (conn)
		info->replica = 1;
	return conn;
}

/* dbread_recheck - ask a replica session again how far behind it is */
int dbread_recheck(PGconn *conn, const struct beacon_cfg *cfg, struct dbread_info *info)
{
	enum dbread_verdict verdict = dbread_verdict_of(conn, cfg, info);

	if (verdict == DBREAD_USE)
		return 0;
	if (!info->fallback[0])		/* asked, and behind or of unknown lag */
		dbread_behind(cfg, info, verdict);
	return -1;
}

/* dbread_describe - one line saying where a session reads */
void dbread_describe(const struct dbread_info *info, char *buf, size_t len)
{
	if (info->replica && !info->standby)
		snprintf(buf, len, "read from %s (read_conninfo; not a standby, no lag)",
			 info->server);
	else if (info->replica && info->lag < 0)
		snprintf(buf, len, "read from replica %s (lag unknown)", info->server);
	else if (info->replica)
		snprintf(buf, len, "read from replica %s (lag %.1f s)", info->server, info->lag);
	else if (info->fallback[0])
		snprintf(buf, len, "read from the primary: %s", info->fallback);
	else if (len)
		buf[0] = '\0';
}
