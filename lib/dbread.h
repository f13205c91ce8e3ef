/*
 * NAME
 *	dbread.h - a read-only PostgreSQL session, on the streaming replica
 *	when it is close enough behind, else on the primary
 *
 * SYNOPSIS
 *	struct dbread_info info;
 *	char err[1024], line[256];
 *
 *	dbread_preload(cfg, err, sizeof(err));	(before dropping privileges)
 *	PGconn *conn = dbread_connect(cfg, "beacon-x", &info, err, sizeof(err));
 *	if (conn && info.replica)
 *		dbread_describe(&info, line, sizeof(line));	("read from replica ... (lag 0.4 s)")
 *
 * DESCRIPTION
 *	Reports, histories and exports only read, and on a busy system they
 *	are the heavy statements: [database] read_conninfo names a streaming
 *	replica (a hot standby) to run them on.  dbread_connect() opens a
 *	session there (db_connect_to(): the [database] timeouts, the password
 *	of read_password_file, else of password_file) and asks, in one
 *	statement run within a deadline, whether the server is in recovery,
 *	the age of the last transaction it replayed (now() -
 *	pg_last_xact_replay_timestamp(): whatever it lacks was committed
 *	after that one, so its lag is at most that; unknown when it has
 *	replayed no transaction since it started) and the WAL position it
 *	replayed.  Within read_max_lag seconds, or with read_max_lag 0, the
 *	replica is read and that age is the lag shown.
 *
 *	Over it (or unknown), the replica alone cannot tell a primary that
 *	wrote nothing since (idle: the replica is current) from a stream
 *	that stopped (a walsender hung, a slow link: the WAL receiver still
 *	looks alive and has replayed all it got, for up to
 *	wal_receiver_timeout).  The primary's session, opened anyway for the
 *	fallback, then says whether the replica replayed everything it wrote
 *	(pg_current_wal_lsn() <= the replica's position): if so the replica
 *	is read, lag 0, and the primary's session closed; if not (or it
 *	cannot tell) the primary is read.
 *
 *	A server not in recovery (a promoted replica) is current: lag 0.
 *	When the replica cannot be reached, or is behind as above, the
 *	session goes to the program's own database (db_connect()) instead:
 *	the reason is logged as a warning and put in info->fallback.  Either
 *	way the session is read-only (default_transaction_read_only), so a
 *	command that works on the primary works on the replica too.  Without
 *	read_conninfo, dbread_connect() is db_connect() plus that setting,
 *	and logs nothing.
 *
 *	beaconctl report, history and export (not --purge) read through it,
 *	and so may beacon-web; commands that write, LISTEN (not possible on a
 *	standby) or show what an admin just changed stay on db_connect().
 *
 *	A program that keeps its read sessions (beacon-web's pool) opens
 *	them with dbread_open() on its own connection string (the role it
 *	must run as), falls back to its primary itself when that returns
 *	NULL or a session it may not read (INFO->replica 0; nothing is
 *	logged: INFO->fallback says why), and asks a kept
 *	session again with dbread_recheck(): the same probe and verdict,
 *	-1 once the replica has fallen too far behind or stopped answering.
 *
 *	dbread_probe_parse() and dbread_judge() are the pure parts (read the
 *	probe's answer, decide on it), unit-tested alone.
 */
#ifndef BEACON_DBREAD_H
#define BEACON_DBREAD_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"

/* dbread_info - where a read session went, and why */
struct dbread_info {
	int replica;		/* 1: on read_conninfo's server; 0: on the primary */
	int standby;		/* read_conninfo's server was in recovery when asked */
	double lag;		/* seconds its data is behind; -1 unknown (or never asked) */
	char server[160];	/* read_conninfo's server as "host:port" ("" if never reached) */
	char fallback[768];	/* why the primary is read although read_conninfo is set, else "" */
};

/* dbread_verdict - what a probe's answer means for reading there */
enum dbread_verdict {
	DBREAD_USE,		/* close enough (or read_max_lag is 0): read there */
	DBREAD_BEHIND,		/* lag over read_max_lag: read the primary */
	DBREAD_UNKNOWN,		/* lag unknown and read_max_lag not 0: read the primary */
};

/* dbread_connect - a read-only session named APP and where it went (INFO, never NULL);
 * NULL with ERR when neither the replica nor the primary could be used */
PGconn *dbread_connect(const struct beacon_cfg *cfg, const char *app, struct dbread_info *info,
		       char *err, size_t errlen);
/* dbread_open - a read-only session on CONNINFO's server (a replica) with PASSWORD_FILE's
 * password (NULL or "": none), INFO filled; INFO->replica set when it may be read under
 * read_max_lag, else the reason in INFO->fallback (the caller checks what it must of the
 * session, e.g. its role, then closes it).  NULL, the reason in INFO->fallback, when it
 * cannot be reached or asked.  No fallback, nothing logged */
PGconn *dbread_open(const struct beacon_cfg *cfg, const char *conninfo,
		    const char *password_file, const char *app, struct dbread_info *info);
/* dbread_recheck - probe replica session CONN of INFO again (INFO->lag, ->standby
 * updated): 0 while it may still be read, -1 with the reason in INFO->fallback */
int dbread_recheck(PGconn *conn, const struct beacon_cfg *cfg, struct dbread_info *info);
/* dbread_preload - read the replica's password file now (before privileges are
 * dropped; the -n check); 0 when there is none, -1 with ERR if it is unreadable or too open */
int dbread_preload(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* dbread_describe - "read from replica HOST:PORT (lag 0.4 s)" for a session on the
 * replica, "read from the primary: WHY" after a fallback, "" without read_conninfo */
void dbread_describe(const struct dbread_info *info, char *buf, size_t len);

/* dbread_probe_parse - the probe's text answer: IN_RECOVERY ("t"/"f") into *STANDBY,
 * LAG (seconds as text, NULL: unknown) into *LAG (-1: unknown; a negative lag, from
 * clocks apart, is 0); 0, or -1 when the answer is not one */
int dbread_probe_parse(const char *in_recovery, const char *lag, int *standby, double *lagp);
/* dbread_judge - read from a server LAG seconds behind (-1: unknown) under MAX_LAG (0: any)? */
enum dbread_verdict dbread_judge(double lag, long max_lag);

#endif
