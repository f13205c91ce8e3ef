/*
 * pool.c - beacon-web's shared PostgreSQL sessions (see pool.h)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "pool.h"

#define POOL_UNBOUNDED_MS 30000	/* a statement's wait when statement_timeout sets none */
#define POOL_MARGIN_MS 1000	/* beyond statement_timeout */

/* pool - the sessions and who may take them */
struct pool {
	const struct beacon_cfg *cfg;	/* [database] and [web] keys */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t freed;		/* a slot came back */
	unsigned n;			/* slots */
	unsigned out;			/* slots taken (their sessions in use or being opened) */
	PGconn **idle;			/* open sessions not in use: idle[0 .. nidle) */
	unsigned nidle;			/* how many */
	long long refused_log;		/* when a refused session was last logged (clock_now_ms) */
};

#define POOL_CHECK_MS 10000	/* the role check's wait, before any configuration applies */

/* pool_run - SQL on C, waiting at most MS */
static enum db_fault pool_run(int ms, PGconn *c, const char *sql, int n, const char *const *v,
    PGresult **res)
{
	long long deadline = clock_after_ms(ms);
	enum db_fault f;

	if (res)
		*res = NULL;
	f = db_flush(c, PQsendQueryParams(c, sql, n, NULL, v, NULL, NULL, 0), deadline);
	if (f != DB_OK)
		return f;
	return db_results(c, deadline, res);
}

/* pool_check - the session's role is bound by row-level security and the schema is there */
int pool_check(PGconn *c, char *err, size_t errlen)
{
	/* the catalogs only (no privilege needed); pg_has_role() errs on a role that
	 * does not exist: CASE keeps it from being asked */
	static const char sql[] =
	    "WITH t AS (SELECT c.relname, c.relowner FROM pg_class c"
	    "  JOIN pg_namespace n ON n.oid = c.relnamespace"
	    "  WHERE n.nspname = 'beacon' AND c.relname IN ('messages', 'web_sessions', 'web_events'))"
	    " SELECT current_user, r.rolsuper, r.rolbypassrls,"
	    " coalesce((SELECT pg_has_role(current_user, relowner, 'USAGE') FROM t"
	    "  WHERE relname = 'messages'), false),"
	    " CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_web')"
	    "  THEN pg_has_role(current_user, 'beacon_web', 'USAGE') ELSE false END,"
	    " EXISTS (SELECT 1 FROM t WHERE relname = 'messages'),"
	    " (SELECT count(*) = 2 FROM t WHERE relname <> 'messages')"
	    " FROM pg_roles r WHERE r.rolname = current_user";
	static const char *const fix = "connect beacon-web as a login role that is only a "
	    "member of beacon_web (CREATE ROLE web LOGIN IN ROLE beacon_web) and name it in "
	    "[web] db_conninfo";
	PGresult *res = NULL;
	const char *who;
	int len, rc = -1;

	if (pool_run(POOL_CHECK_MS, c, sql, 0, NULL, &res) != DB_OK || PQntuples(res) != 1) {
		const char *e = db_error(c, res, &len);
		snprintf(err, errlen, "checking the database role: %.*s", len, e);
		PQclear(res);
		return -2;
	}
	who = PQgetvalue(res, 0, 0);
	if (!strcmp(PQgetvalue(res, 0, 1), "t"))
		snprintf(err, errlen, "database role %s is a superuser: row-level security does "
		    "not apply to it and every user would see every sender's mail; %s", who, fix);
	else if (!strcmp(PQgetvalue(res, 0, 2), "t"))
		snprintf(err, errlen, "database role %s has BYPASSRLS: row-level security does "
		    "not apply to it and every user would see every sender's mail; %s", who, fix);
	else if (!strcmp(PQgetvalue(res, 0, 3), "t"))
		snprintf(err, errlen, "database role %s owns beacon.messages (or has its owner's "
		    "privileges): row-level security does not apply to it and every user would "
		    "see every sender's mail; %s", who, fix);
	else if (strcmp(PQgetvalue(res, 0, 5), "t") != 0 || strcmp(PQgetvalue(res, 0, 6), "t") != 0)
		snprintf(err, errlen, "the database has no beacon-web tables (migration 014): run "
		    "'beaconctl migrate'");
	else if (strcmp(PQgetvalue(res, 0, 4), "t") != 0)
		snprintf(err, errlen, "database role %s is not a member of beacon_web: GRANT "
		    "beacon_web TO %s", who, who);
	else
		rc = 0;
	PQclear(res);
	return rc;
}

/* pool_connect - a new session, in UTC, that pool_check accepts */
PGconn *pool_connect(const struct beacon_cfg *cfg, int *refused, char *err, size_t errlen)
{
	PGconn *c = db_connect(cfg, "beacon-web", err, errlen);
	int rc, len;

	*refused = 0;
	if (!c)
		return NULL;
	if ((rc = pool_check(c, err, errlen)) != 0) {
		*refused = rc == -1;
		PQfinish(c);
		return NULL;
	}
	if (pool_run(POOL_CHECK_MS, c, "SET TimeZone = 'UTC'", 0, NULL, NULL) != DB_OK ||
	    PQsetnonblocking(c, 1) != 0) {
		const char *e = db_error(c, NULL, &len);
		snprintf(err, errlen, "database: setting up the session: %.*s", len, e);
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pool_new - an empty pool of N slots */
struct pool *pool_new(const struct beacon_cfg *cfg, unsigned n)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p || !(p->idle = calloc(n ? n : 1, sizeof(*p->idle))))
		log_fatalx("out of memory");
	p->cfg = cfg;
	p->n = n ? n : 1;
	pthread_mutex_init(&p->lock, NULL);
	clock_cond_init(&p->freed);
	return p;
}

/* pool_free - close the idle sessions */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nidle; i++)
		PQfinish(p->idle[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->idle);
	free(p);
}

/* pool_release - a slot comes back empty */
static void pool_release(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->out--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* pool_alive - is idle session C's link still up?  What the server sent meanwhile
 * (a shutdown's message, the end of the stream) is read, without waiting */
static int pool_alive(PGconn *c)
{
	struct pollfd pfd = { PQsocket(c), POLLIN, 0 };

	for (int i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; i++) {
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(c))
			break;
	}
	return PQstatus(c) == CONNECTION_OK && PQsocket(c) >= 0;
}

/* pool_get - an idle session, or a slot to open one in, within WAIT_MS */
PGconn *pool_get(struct pool *p, int wait_ms)
{
	long long deadline = clock_after_ms(wait_ms);
	PGconn *c = NULL;
	char err[1024];
	int refused;

	pthread_mutex_lock(&p->lock);
	while (p->out >= p->n)
		if (clock_cond_wait(&p->freed, &p->lock, deadline) == ETIMEDOUT && p->out >= p->n) {
			/* the caller says who waited in vain */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	p->out++;
	while (p->nidle && !c) {
		c = p->idle[--p->nidle];
		if (!pool_alive(c)) {
			/* the server ended it (a restart): not handed out to fail a request */
			log_info("a pooled database session was ended by the server (a restart?): "
			    "not used again");
			PQfinish(c);
			c = NULL;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (c)
		return c;
	if (!(c = pool_connect(p->cfg, &refused, err, sizeof(err)))) {
		long long now = clock_now_ms();
		int say;

		/* a refused role is said once a minute, not on every request */
		pthread_mutex_lock(&p->lock);
		say = !refused || now - p->refused_log >= 60000;
		if (say)
			p->refused_log = now;
		pthread_mutex_unlock(&p->lock);
		if (say)
			log_warnx("%s", err);
		pool_release(p);
	}
	return c;
}

/* pool_put - C back: rolled back if in a transaction, closed if it cannot be reused */
void pool_put(struct pool *p, PGconn *c)
{
	PGTransactionStatusType ts;

	if (!c)
		return;
	ts = PQtransactionStatus(c);
	if (PQstatus(c) == CONNECTION_OK && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) &&
	    pool_exec(p, c, "ROLLBACK", 0, NULL, NULL) == DB_OK)
		ts = PQtransactionStatus(c);
	if (PQstatus(c) != CONNECTION_OK || ts != PQTRANS_IDLE) {
		PQfinish(c);
		pool_release(p);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->idle[p->nidle++] = c;
	p->out--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* pool_renew - C's link was lost: closed, and a new session instead (NULL: none) */
PGconn *pool_renew(struct pool *p, PGconn *c, int wait_ms)
{
	pool_put(p, c);
	return pool_get(p, wait_ms);
}

/* pool_lost - did C lose its link to the server? */
int pool_lost(PGconn *c)
{
	return c && PQstatus(c) != CONNECTION_OK;
}

/* pool_exec - one statement within statement_timeout and a margin */
enum db_fault pool_exec(struct pool *p, PGconn *c, const char *sql, int n,
    const char *const *v, PGresult **res)
{
	return pool_run(db_timeout_ms(p->cfg, POOL_UNBOUNDED_MS, POOL_MARGIN_MS), c, sql, n, v,
	    res);
}

/* pool_begin - a read-only transaction as web user USER */
int pool_begin(struct pool *p, PGconn *c, long long user)
{
	char id[32];
	const char *v[1] = { id };

	snprintf(id, sizeof(id), "%lld", user);
	if (!user)
		id[0] = '\0';
	if (pool_exec(p, c, "BEGIN READ ONLY", 0, NULL, NULL) != DB_OK ||
	    pool_exec(p, c, "SELECT set_config('beacon.web_user', $1, true)", 1, v, NULL) != DB_OK)
		return -1;
	return 0;
}

/* pool_commit - end the transaction */
int pool_commit(struct pool *p, PGconn *c)
{
	return pool_exec(p, c, "COMMIT", 0, NULL, NULL) == DB_OK ? 0 : -1;
}
