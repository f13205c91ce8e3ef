/*
 * pool.c - beacon-web's shared PostgreSQL sessions (see pool.h)
 *
 * Each of the N slots holds a session or none; a slot is free or taken
 * by a request.  A read pool also keeps, per session, where it reads
 * (lib/dbread.h's info) and when the replica's lag was last asked, and
 * for the whole pool whether reads go to the replica or, for now, to the
 * primary (said in the log when that changes) and when the replica may
 * be tried again.
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
#define POOL_CHECK_MS 10000	/* the role check's wait, before any configuration applies */
#define POOL_REFUSED_LOG_MS 60000	/* a refused role is said this often at most */

/* pool_slot - one session (or none) */
struct pool_slot {
	PGconn *c;			/* the session; NULL: none opened */
	int taken;			/* a request has it (or is opening it) */
	long long used_ms;		/* when it came back last (the freshest is handed out first) */
	struct dbread_info info;	/* a read pool's: where it reads */
	long long checked_ms;		/* a read pool's: when that was last asked */
};

/* pool - the sessions and who may take them */
struct pool {
	const struct beacon_cfg *cfg;	/* [database] and [web] keys */
	enum pool_kind kind;		/* primary or read */
	int exec_ms;			/* pool_exec's wait: the statement timeout and a margin */
	int short_ms;			/* BEGIN's, COMMIT's, ROLLBACK's: [database]'s and a margin */
	long stmt_ms;			/* a read pool's statement_timeout, set on its sessions */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t freed;		/* a slot came back */
	unsigned n;			/* slots */
	unsigned out;			/* slots taken */
	struct pool_slot *slot;		/* slot[0 .. n) */
	long long refused_log;		/* when a refused session was last logged (clock_now_ms) */
	int on_primary;			/* a read pool: reads go to the primary (logged) */
	long long replica_retry_ms;	/* a read pool: the replica is not tried before then */
	char why[sizeof(((struct dbread_info *)0)->fallback)];	/* why not, for new sessions */
};

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
	    "member of beacon_web (CREATE ROLE beacon_web_login LOGIN IN ROLE beacon_web) and "
	    "name it in [web] db_conninfo (and read_conninfo)";
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

/* pool_setup - a checked session in UTC, non-blocking; STMT_MS > 0: that statement_timeout
 * and read-only by default (a read pool's); 0, or -1 with ERR */
static int pool_setup(PGconn *c, long stmt_ms, char *err, size_t errlen)
{
	char ms[32];
	const char *v[1] = { ms };
	int len;

	snprintf(ms, sizeof(ms), "%ld", stmt_ms);
	if ((stmt_ms > 0 ? pool_run(POOL_CHECK_MS, c, "SELECT set_config('TimeZone', 'UTC', false),"
	    " set_config('statement_timeout', $1, false),"
	    " set_config('default_transaction_read_only', 'on', false)", 1, v, NULL) :
	    pool_run(POOL_CHECK_MS, c, "SET TimeZone = 'UTC'", 0, NULL, NULL)) != DB_OK ||
	    PQsetnonblocking(c, 1) != 0) {
		const char *e = db_error(c, NULL, &len);
		snprintf(err, errlen, "database: setting up the session: %.*s", len, e);
		return -1;
	}
	return 0;
}

/* pool_connect - a new session, in UTC, that pool_check accepts */
PGconn *pool_connect(const struct beacon_cfg *cfg, int *refused, char *err, size_t errlen)
{
	PGconn *c = db_connect(cfg, "beacon-web", err, errlen);
	int rc;

	*refused = 0;
	if (!c)
		return NULL;
	if ((rc = pool_check(c, err, errlen)) != 0 || pool_setup(c, 0, err, errlen) < 0) {
		*refused = rc == -1;
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pool_read_password_file - the replica's password file: [web] read_password_file, else
 * beacon-web's own (db_password_file, else [database] password_file) */
const char *pool_read_password_file(const struct beacon_cfg *cfg)
{
	if (*cfg->web.read_password_file)
		return cfg->web.read_password_file;
	return *cfg->web.db_password_file ? cfg->web.db_password_file :
	    cfg->database.password_file;
}

/* pool_connect_replica - a session on [web] read_conninfo's server if it may be read
 * (lag, role): INFO filled; NULL with the reason in INFO->fallback (*REFUSED set when
 * the role is the trouble) */
PGconn *pool_connect_replica(const struct beacon_cfg *cfg, long stmt_ms,
    struct dbread_info *info, int *refused)
{
	PGconn *c = dbread_open(cfg, cfg->web.read_conninfo, pool_read_password_file(cfg),
	    "beacon-web", info);
	char err[sizeof(info->fallback) - sizeof(info->server) - 16];
	int rc;

	*refused = 0;
	if (!c)
		return NULL;
	if ((rc = pool_check(c, err, sizeof(err))) != 0 || pool_setup(c, stmt_ms, err,
	    sizeof(err)) < 0) {
		*refused = rc == -1;
		snprintf(info->fallback, sizeof(info->fallback), "replica %s: %s", info->server, err);
		info->replica = 0;
		PQfinish(c);
		return NULL;
	}
	if (!info->replica) {		/* its role is right, but it is too far behind */
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pool_new - an empty pool of N slots */
struct pool *pool_new(const struct beacon_cfg *cfg, unsigned n, enum pool_kind kind)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p || !(p->slot = calloc(n ? n : 1, sizeof(*p->slot))))
		log_fatalx("out of memory");
	p->cfg = cfg;
	p->kind = kind;
	p->n = n ? n : 1;
	p->short_ms = db_timeout_ms(cfg, POOL_UNBOUNDED_MS, POOL_MARGIN_MS);
	p->exec_ms = p->short_ms;
	if (kind == POOL_READ) {
		p->stmt_ms = cfg->web.statement_timeout * 1000L;
		p->exec_ms = (int)p->stmt_ms + POOL_MARGIN_MS;
	}
	pthread_mutex_init(&p->lock, NULL);
	clock_cond_init(&p->freed);
	return p;
}

/* pool_free - close the sessions */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		if (p->slot[i].c)
			PQfinish(p->slot[i].c);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->slot);
	free(p);
}

/* pool_slot_of - C's slot (taken), under the lock; NULL if C is none of the pool's */
static struct pool_slot *pool_slot_of(struct pool *p, PGconn *c)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->slot[i].c == c && p->slot[i].taken)
			return &p->slot[i];
	return NULL;
}

/* pool_release - slot S comes back, holding C (NULL: its session closed) */
static void pool_release(struct pool *p, struct pool_slot *s, PGconn *c)
{
	pthread_mutex_lock(&p->lock);
	s->c = c;
	s->taken = 0;
	s->used_ms = clock_now_ms();
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

/* pool_say_refused - log ERR of a refused role, once a minute at most */
static void pool_say_refused(struct pool *p, const char *err)
{
	long long now = clock_now_ms();
	int say;

	pthread_mutex_lock(&p->lock);
	say = !p->refused_log || now - p->refused_log >= POOL_REFUSED_LOG_MS;
	if (say)
		p->refused_log = now;
	pthread_mutex_unlock(&p->lock);
	if (say)
		log_warnx("%s", err);
}

/* pool_reads - a read pool's reads now go to the replica (WHY NULL) or to the primary
 * because of WHY, which the next sessions take too: said when it changes */
static void pool_reads(struct pool *p, const struct dbread_info *info, const char *why)
{
	int was;

	pthread_mutex_lock(&p->lock);
	was = p->on_primary;
	p->on_primary = why != NULL;
	if (why) {
		snprintf(p->why, sizeof(p->why), "%s", why);
		p->replica_retry_ms = clock_now_ms() + POOL_RECHECK_MS;
	}
	pthread_mutex_unlock(&p->lock);
	if (why && !was)
		log_warnx("%s: the pages and the API read the primary", why);
	else if (!why && was)
		log_info("the pages and the API read replica %s again (lag %.1f s)", info->server,
		    info->lag < 0 ? 0 : info->lag);
}

/* pool_open_read - a read pool's new session: on the replica when it may be read and
 * was not found wanting within POOL_RECHECK_MS, else on the primary; INFO says which */
static PGconn *pool_open_read(struct pool *p, struct dbread_info *info, char *err, size_t errlen)
{
	long long now = clock_now_ms();
	int refused, retry;
	PGconn *c = NULL;

	pthread_mutex_lock(&p->lock);
	retry = *p->cfg->web.read_conninfo && now >= p->replica_retry_ms;
	memset(info, 0, sizeof(*info));
	info->lag = -1;
	snprintf(info->fallback, sizeof(info->fallback), "%s", p->why);
	pthread_mutex_unlock(&p->lock);
	if (retry) {
		if ((c = pool_connect_replica(p->cfg, p->stmt_ms, info, &refused)) != NULL) {
			pool_reads(p, info, NULL);
			return c;
		}
		if (refused)
			pool_say_refused(p, info->fallback);
		pool_reads(p, info, info->fallback);
	}
	if (!(c = pool_connect(p->cfg, &refused, err, errlen)))
		return NULL;
	if (pool_setup(c, p->stmt_ms, err, errlen) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pool_recheck - a read pool's session *C (where it reads in *INFO), its lag last asked
 * POOL_RECHECK_MS ago or more: asked again on the replica (closed when too far behind
 * now: *C NULL); on the primary, the replica tried again (*C replaced by a replica
 * session that may be read) */
static void pool_recheck(struct pool *p, PGconn **c, struct dbread_info *info)
{
	struct dbread_info ri;
	long long retry;
	int refused;
	PGconn *rc;

	if (info->replica) {
		if (dbread_recheck(*c, p->cfg, info) == 0)
			return;
		pool_reads(p, info, info->fallback);
		PQfinish(*c);
		*c = NULL;
		return;
	}
	pthread_mutex_lock(&p->lock);
	retry = p->replica_retry_ms;
	pthread_mutex_unlock(&p->lock);
	if (clock_now_ms() < retry)
		return;
	if (!(rc = pool_connect_replica(p->cfg, p->stmt_ms, &ri, &refused))) {
		if (refused)
			pool_say_refused(p, ri.fallback);
		pool_reads(p, &ri, ri.fallback);
		snprintf(info->fallback, sizeof(info->fallback), "%s", ri.fallback);
		return;
	}
	pool_reads(p, &ri, NULL);
	PQfinish(*c);
	*c = rc;
	*info = ri;
}

/* pool_get - the freshest idle session, or a slot to open one in, within WAIT_MS */
PGconn *pool_get(struct pool *p, int wait_ms)
{
	long long deadline = clock_after_ms(wait_ms), checked;
	struct pool_slot *s = NULL;
	struct dbread_info info;
	char err[1024];
	int refused;
	PGconn *c;

	pthread_mutex_lock(&p->lock);
	while (p->out >= p->n)
		if (clock_cond_wait(&p->freed, &p->lock, deadline) == ETIMEDOUT && p->out >= p->n) {
			/* the caller says who waited in vain */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	for (unsigned i = 0; i < p->n; i++) {
		struct pool_slot *t = &p->slot[i];
		if (!t->taken && (!s || (t->c && (!s->c || t->used_ms > s->used_ms))))
			s = t;
	}
	s->taken = 1;
	p->out++;
	c = s->c;
	info = s->info;
	checked = s->checked_ms;
	pthread_mutex_unlock(&p->lock);
	if (c && !pool_alive(c)) {
		/* the server ended it (a restart): not handed out to fail a request */
		log_info("a pooled database session was ended by the server (a restart?): not "
		    "used again");
		PQfinish(c);
		c = NULL;
	}
	if (c && p->kind == POOL_READ && *p->cfg->web.read_conninfo &&
	    clock_now_ms() - checked >= POOL_RECHECK_MS) {
		pool_recheck(p, &c, &info);
		checked = clock_now_ms();
	}
	if (!c) {
		if (p->kind == POOL_READ)
			c = pool_open_read(p, &info, err, sizeof(err));
		else
			c = pool_connect(p->cfg, &refused, err, sizeof(err));
		checked = clock_now_ms();
		if (!c) {
			if (p->kind == POOL_READ || !refused)
				log_warnx("%s", err);
			else
				pool_say_refused(p, err);
		}
	}
	pthread_mutex_lock(&p->lock);
	s->c = c;
	s->info = info;
	s->checked_ms = checked;
	if (!c) {
		s->taken = 0;
		p->out--;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->lock);
	return c;
}

/* pool_put - C back: rolled back if in a transaction, closed if it cannot be reused */
void pool_put(struct pool *p, PGconn *c)
{
	PGTransactionStatusType ts;
	struct pool_slot *s;

	if (!c)
		return;
	pthread_mutex_lock(&p->lock);
	s = pool_slot_of(p, c);
	pthread_mutex_unlock(&p->lock);
	if (!s)
		log_fatalx("pool_put: a database session the pool did not hand out");
	ts = PQtransactionStatus(c);
	if (PQstatus(c) == CONNECTION_OK && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) &&
	    pool_run(p->short_ms, c, "ROLLBACK", 0, NULL, NULL) == DB_OK)
		ts = PQtransactionStatus(c);
	if (PQstatus(c) != CONNECTION_OK || ts != PQTRANS_IDLE) {
		PQfinish(c);
		c = NULL;
	}
	pool_release(p, s, c);
}

/* pool_where - where session C of a read pool reads: dbread_describe's line, "" on a
 * primary pool or without read_conninfo */
void pool_where(struct pool *p, PGconn *c, char *buf, size_t len)
{
	struct pool_slot *s;

	if (len)
		buf[0] = '\0';
	if (p->kind != POOL_READ || !*p->cfg->web.read_conninfo || !c)
		return;
	pthread_mutex_lock(&p->lock);
	s = pool_slot_of(p, c);
	if (s)
		dbread_describe(&s->info, buf, len);
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

/* pool_exec - one statement within the pool's statement timeout and a margin */
enum db_fault pool_exec(struct pool *p, PGconn *c, const char *sql, int n,
    const char *const *v, PGresult **res)
{
	return pool_run(p->exec_ms, c, sql, n, v, res);
}

/* pool_begin - a read-only transaction as web user USER */
int pool_begin(struct pool *p, PGconn *c, long long user)
{
	char id[32];
	const char *v[1] = { id };

	snprintf(id, sizeof(id), "%lld", user);
	if (!user)
		id[0] = '\0';
	if (pool_run(p->short_ms, c, "BEGIN READ ONLY", 0, NULL, NULL) != DB_OK ||
	    pool_run(p->short_ms, c, "SELECT set_config('beacon.web_user', $1, true)", 1, v,
	    NULL) != DB_OK)
		return -1;
	return 0;
}

/* pool_commit - end the transaction */
int pool_commit(struct pool *p, PGconn *c)
{
	return pool_run(p->short_ms, c, "COMMIT", 0, NULL, NULL) == DB_OK ? 0 : -1;
}
