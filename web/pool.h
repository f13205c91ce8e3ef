/*
 * NAME
 *	pool.h - beacon-web's PostgreSQL sessions, shared by the requests
 *
 * SYNOPSIS
 *	struct pool *p = pool_new(cfg, cfg->web.db_connections);
 *	PGconn *c = pool_get(p, POOL_WAIT_MS);		(NULL: 503)
 *	pool_begin(p, c, user_id);			(BEGIN READ ONLY, the web user set)
 *	... PQexecParams(c, ...) ...
 *	pool_commit(p, c);
 *	pool_put(p, c);
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
 *	pool_exec() runs one statement within statement_timeout plus a
 *	margin (lib/db.h), so a server that stopped answering holds a
 *	request for a bounded time.
 */
#ifndef BEACON_WEB_POOL_H
#define BEACON_WEB_POOL_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"

#define POOL_WAIT_MS 5000	/* longest wait of a request for a session */

struct pool;

/* pool_new - a pool of at most N sessions (none opened yet) */
struct pool *pool_new(const struct beacon_cfg *cfg, unsigned n);
/* pool_free - close every session; none may be out */
void pool_free(struct pool *p);
/* pool_get - a free session, waiting at most WAIT_MS; NULL if none could be had (a
 * session that cannot be opened is logged here; none free in time, by the caller) */
PGconn *pool_get(struct pool *p, int wait_ms);
/* pool_put - give C back (NULL: nothing), rolled back or closed as its state needs */
void pool_put(struct pool *p, PGconn *c);
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
/* pool_connect - a new checked session in UTC; NULL with ERR (*REFUSED set when
 * pool_check refused it) */
PGconn *pool_connect(const struct beacon_cfg *cfg, int *refused, char *err, size_t errlen);

#endif
