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
 * The probe: in recovery?, the lag in seconds (NULL: unknown), and the
 * session made read-only, in one round trip.  Caught up on a live stream
 * (everything received is replayed, a WAL receiver runs) is lag 0 however
 * long ago the last commit was; pg_stat_wal_receiver shows its row (pid) to
 * every role.
 */
static const char dbread_probe_sql[] =
	"SELECT pg_is_in_recovery(), "
	"CASE WHEN NOT pg_is_in_recovery() THEN 0 "
	"WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
	"AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0 "
	"ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, "
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

/* dbread_probe - run the probe on CONN within the statement deadline: *STANDBY, *LAG;
 * 0, or -1 with WHY */
static int dbread_probe(PGconn *conn, const struct beacon_cfg *cfg, int *standby, double *lag,
			char *why, size_t whylen)
{
	long long deadline = clock_after_ms(db_timeout_ms(cfg, 5000, 1000));
	int blocking = !PQisnonblocking(conn), rc = -1, len;
	PGresult *res = NULL;
	enum db_fault f;
	const char *msg;

	if (PQsetnonblocking(conn, 1) != 0) {
		snprintf(why, whylen, "lag probe: %s", "cannot make the session non-blocking");
		return -1;
	}
	f = db_flush(conn, PQsendQuery(conn, dbread_probe_sql), deadline);
	if (f == DB_OK)
		f = db_results(conn, deadline, &res);
	if (f == DB_TIMEOUT) {
		snprintf(why, whylen, "lag probe: no answer within %d ms",
			 db_timeout_ms(cfg, 5000, 1000));
	} else if (f != DB_OK) {
		msg = db_error(conn, res, &len);
		snprintf(why, whylen, "lag probe: %.*s", len, msg);
	} else if (!res || PQntuples(res) != 1 || PQnfields(res) != 3 ||
		   dbread_probe_parse(PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
				      PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
				      standby, lag) < 0) {
		snprintf(why, whylen, "lag probe: unexpected answer");
	} else {
		rc = 0;
	}
	PQclear(res);
	if (blocking && PQsetnonblocking(conn, 0) != 0 && rc == 0) {
		snprintf(why, whylen, "lag probe: cannot make the session blocking again");
		rc = -1;
	}
	return rc;
}

/* dbread_verdict - may session CONN (its probe's answer in INFO) be read?  0, or -1
 * with the reason in INFO->fallback */
static int dbread_verdict(PGconn *conn, const struct beacon_cfg *cfg, struct dbread_info *info)
{
	char why[512];

	if (dbread_probe(conn, cfg, &info->standby, &info->lag, why, sizeof(why)) < 0) {
		snprintf(info->fallback, sizeof(info->fallback), "replica %s: %s", info->server,
			 why);
		return -1;
	}
	if (!info->standby)
		info->lag = 0;
	switch (dbread_judge(info->lag, cfg->database.read_max_lag)) {
	case DBREAD_USE:
		info->fallback[0] = '\0';
		return 0;
	case DBREAD_BEHIND:
		snprintf(info->fallback, sizeof(info->fallback),
			 "replica %s is %.1f s behind (read_max_lag %ld s)", info->server,
			 info->lag, cfg->database.read_max_lag);
		break;
	case DBREAD_UNKNOWN:
		snprintf(info->fallback, sizeof(info->fallback),
			 "replica %s cannot tell its lag: it replayed no transaction since it "
			 "started (read_max_lag %ld s)", info->server, cfg->database.read_max_lag);
		break;
	}
	return -1;
}

/* dbread_open - a session on CONNINFO's server if it may be read; else NULL with the
 * reason in INFO->fallback */
PGconn *dbread_open(const struct beacon_cfg *cfg, const char *conninfo,
		    const char *password_file, const char *app, struct dbread_info *info)
{
	char err[512];
	PGconn *conn;

	memset(info, 0, sizeof(*info));
	info->lag = -1;
	conn = db_connect_to(cfg, conninfo, password_file, app, err, sizeof(err));
	if (!conn) {
		snprintf(info->fallback, sizeof(info->fallback), "replica unreachable (%s)", err);
		return NULL;
	}
	snprintf(info->server, sizeof(info->server), "%s:%s", PQhost(conn) ? PQhost(conn) : "",
		 PQport(conn) ? PQport(conn) : "");
	if (dbread_verdict(conn, cfg, info) < 0) {
		PQfinish(conn);
		return NULL;
	}
	info->replica = 1;
	return conn;
}

/* dbread_recheck - ask a replica session again how far behind it is */
int dbread_recheck(PGconn *conn, const struct beacon_cfg *cfg, struct dbread_info *info)
{
	return dbread_verdict(conn, cfg, info);
}

/* dbread_replica - a session on read_conninfo's server if it may be read; else NULL
 * with the reason in INFO->fallback */
static PGconn *dbread_replica(const struct beacon_cfg *cfg, const char *app,
			      struct dbread_info *info)
{
	return dbread_open(cfg, cfg->database.read_conninfo, dbread_password_file(cfg), app, info);
}

/* dbread_connect - the replica when it may be read, else the primary; read-only either way */
PGconn *dbread_connect(const struct beacon_cfg *cfg, const char *app, struct dbread_info *info,
		       char *err, size_t errlen)
{
	char why[512], perr[512];
	double lag;
	int standby;
	PGconn *conn;

	memset(info, 0, sizeof(*info));
	info->lag = -1;
	if (cfg->database.read_conninfo && *cfg->database.read_conninfo) {
		if ((conn = dbread_replica(cfg, app, info)) != NULL)
			return conn;
		log_warnx("%s: reading from the primary", info->fallback);
	}
	conn = db_connect(cfg, app, perr, sizeof(perr));
	if (!conn) {
		if (info->fallback[0])
			snprintf(err, errlen, "%s; and %s", perr, info->fallback);
		else
			snprintf(err, errlen, "%s", perr);
		return NULL;
	}
	/* the same probe makes the primary's session read-only */
	if (dbread_probe(conn, cfg, &standby, &lag, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "database %s: %s", PQhost(conn) ? PQhost(conn) : "", why);
		PQfinish(conn);
		return NULL;
	}
	return conn;
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
