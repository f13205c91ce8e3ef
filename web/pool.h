/*
 * NAME
 *	pool.h - beacon-web's PostgreSQL sessions, shared by the requests
 *
 * SYNOPSIS
 *	struct pool *p = pool_new(cfg, cfg->web.db_connections, POOL_PRIMARY);
 *	struct pool *rd = pool_new(cfg, cfg->web.db_connections, POOL_READ);
 *	PGconn *c = pool_get(rd, POOL_WAIT_MS);		(NULL: 503)
 *	pool_begin(rd, c, user_id);			(BEGIN READ ONLY, the web user set)
 *	... pool_exec(rd, c, ...) ...
 *	pool_where(rd, c, line, sizeof(line));		("read from replica ... (lag 0.4 s)")
 *	pool_commit(rd, c);
 *	pool_put(rd, c);
 *
 * DESCRIPTION
 *	At most N sessions, opened when first needed; a request waits at
 *	most the time it gives for one to be free.  Each new session is
 *	checked (pool_check) before it is used: its role must be subject to
 *	row-level security (not a superuser, no BYPASSRLS, not the owner of
 *	beacon.messages), a member of beacon_web, and the database must
 *	have the beacon-web tables; a session that fails is closed and the
 *	reason logged.  Sessions run in UTC.
 *
 *	Two kinds.  A POOL_PRIMARY pool's sessions are on the primary
 *	([web] db_conninfo) under [database] statement_timeout: sign-in,
 *	sessions and tokens (they write), the live stream's batches (a
 *	batch's rows may not be on a replica yet).  A POOL_READ pool's
 *	sessions, for the pages and the API, are read-only and run under
 *	[web] statement_timeout (a summary of a large database needs more
 *	than the writes' few seconds); with [web] read_conninfo they are on
 *	that streaming replica while lib/dbread.h says it may be read (its
 *	lag within [database] read_max_lag, its role passing pool_check),
 *	else on the primary.  An idle read session's lag is asked again
 *	when it is handed out POOL_RECHECK_MS or more after it was last
 *	asked: on the replica it is closed once too far behind (the next
 *	session goes to the primary); on the primary the replica is tried
 *	again.  After a replica was found wanting it is not tried for
 *	POOL_RECHECK_MS.  The log says when the reads move to the primary
 *	(and why) and back; pool_where() tells a request where its session
 *	reads.
 *
 *	pool_begin() is the one place beacon.web_user is set: inside the
 *	transaction (set_config(..., true)), so it ends with it and a
 *	session handed to the next request carries nothing over.
 *	pool_put() takes back a session in any state: one still in a
 *	transaction is rolled back, one whose statement did not finish or
 *	whose connection broke is closed (the next pool_get opens a new one).
 *	pool_get() hands out no idle session the server has ended meanwhile
 *	(a restart): it reads what came on the socket without waiting and
 *	opens a new session instead; a link lost between that look and the
 *	request's first statement is pool_lost(), and the request goes on
 *	once on pool_renew()'s new session.
 *
 *	pool_exec() runs one statement within the pool's statement timeout
 *	plus a margin (lib/db.h), so a server that stopped answering holds a
 *	request for a bounded time; BEGIN, COMMIT and ROLLBACK wait only
 *	[database] statement_timeout and the margin.
 */
#ifndef BEACON_WEB_POOL_H
#define BEACON_WEB_POOL_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "dbread.h"

#define POOL_WAIT_MS 5000	/* longest wait of a request for a session */
#define POOL_RECHECK_MS 10000	/* a read session's lag is asked again after this */

/* pool_kind - what a pool's sessions are for */
enum pool_kind {
	POOL_PRIMARY,	/* the primary, [database] statement_timeout: sign-in, sessions, live */
	POOL_READ,	/* the replica or the primary, read-only, [web] statement_timeout */
};

struct pool;

/* pool_new - a pool of at most N sessions of KIND (none opened yet) */
struct pool *pool_new(const struct beacon_cfg *cfg, unsigned n, enum pool_kind kind);
/* pool_free - close every session; none may be out */
void pool_free(struct pool *p);
/* pool_get - a free session, waiting at most WAIT_MS; NULL if none could be had (a
 * session that cannot be opened is logged here; none free in time, by the caller) */
PGconn *pool_get(struct pool *p, int wait_ms);
/* pool_put - give C back (NULL: nothing), rolled back or closed as its state needs */
void pool_put(struct pool *p, PGconn *c);
/* pool_where - where C (of read pool P) reads, into BUF: dbread_describe()'s line;
 * "" without [web] read_conninfo or on a primary pool */
void pool_where(struct pool *p, PGconn *c, char *buf, size_t len);
/* pool_lost - did C lose its link to the server (a failed statement's cause)? */
int pool_lost(PGconn *c);
/* pool_renew - C lost its link: close it and return a new session (NULL: none
 * within WAIT_MS), for a request whose first statement found it so */
PGconn *pool_renew(struct pool *p, PGconn *c, int wait_ms);
/* pool_exec - SQL with N text parameters V on C; *RES (may be NULL) the result, to clear */
enum db_fault pool_exec(struct pool *p, PGconn *c, const char *sql, int n,
    const char *const *v, PGresult **res);
/* pool_begin - BEGIN READ ONLY and beacon.web_user = USER (0: nobody); 0, or -1 */
int pool_begin(struct pool *p, PGconn *c, long long user);
/* pool_commit - COMMIT; 0, or -1 */
int pool_commit(struct pool *p, PGconn *c);
/* pool_check - may beacon-web use session C?  0; -1 with ERR when the role or the
 * schema is wrong (a configuration error); -2 with ERR when the check itself failed */
int pool_check(PGconn *c, char *err, size_t errlen);
/* pool_connect - a new checked session on the primary in UTC; NULL with ERR (*REFUSED
 * set when pool_check refused it) */
PGconn *pool_connect(const struct beacon_cfg *cfg, int *refused, char *err, size_t errlen);
/* pool_connect_replica - a new checked read-only session on [web] read_conninfo's server
 * under STMT_MS of statement_timeout, if it may be read: INFO filled; NULL with the
 * reason in INFO->fallback (*REFUSED set when pool_check refused its role) */
PGconn *pool_connect_replica(const struct beacon_cfg *cfg, long stmt_ms,
    struct dbread_info *info, int *refused);
/* pool_read_password_file - the replica's password file: [web] read_password_file, else
 * beacon-web's own (NULL or "": none) */
const char *pool_read_password_file(const struct beacon_cfg *cfg);

#endif
