/*
 * NAME
 *	dbcache.c - a value cached from the database and its refresh thread
 *
 * DESCRIPTION
 *	See dbcache.h.  The query is sent without blocking and its answer
 *	awaited within a deadline (db_flush, db_results), so even a database
 *	that stopped answering costs at most statement_timeout plus a
 *	second, in the refresh thread only.  The thread waits with poll()
 *	on its LISTEN session and on a pipe that dbcache_stop() writes to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "clock.h"
#include "db.h"
#include "dbcache.h"
#include "log.h"
#include "store.h"

#define DBCACHE_DEBOUNCE_MS 1000	/* reloads on notification at most this often */

/* dbcache - one cached value */
struct dbcache {
	const struct beacon_cfg *cfg;	/* the configuration it started with */
	const struct dbcache_ops *ops;	/* the value's owner */
	long long refresh;		/* seconds between timed reloads; 0: none */
	pthread_mutex_t lock;		/* guards value */
	void *value;			/* the current value */
	int wake[2];			/* dbcache_stop() writes to wake[1] */
	int running;			/* the thread was started */
	int failing;			/* the last reload failed (logged once) */
	int listen_failing;		/* the LISTEN session could not be opened (logged once) */
	pthread_t thread;		/* the refresh thread */
};

/* dbcache_new - a cache holding EMPTY */
struct dbcache *dbcache_new(const struct beacon_cfg *cfg, const struct dbcache_ops *ops,
			    long long refresh, void *empty)
{
	struct dbcache *c = g_new0(struct dbcache, 1);

	c->cfg = cfg;
	c->ops = ops;
	c->refresh = refresh;
	c->value = empty;
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* dbcache_get - reference the current value */
void *dbcache_get(struct dbcache *c)
{
	void *v;

	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	v = c->value;
	c->ops->ref(v);
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* dbcache_set - swap in V */
void dbcache_set(struct dbcache *c, void *v)
{
	void *old;

	pthread_mutex_lock(&c->lock);
	old = c->value;
	c->value = v;
	pthread_mutex_unlock(&c->lock);
	c->ops->unref(old);
}

/* dbcache_size - entries of the current value */
static size_t dbcache_size(struct dbcache *c)
{
	void *v = dbcache_get(c);
	size_t n = c->ops->size(v);

	c->ops->unref(v);
	return n;
}

/* dbcache_query - run the SELECT of ops->sql on CONN before DEADLINE and build the value;
 * NULL with ERR */
static void *dbcache_query(struct dbcache *c, PGconn *conn, long long deadline, char *err,
			   size_t errlen)
{
	enum db_fault f = DB_DOWN;
	PGresult *res = NULL;
	void *v = NULL;
	const char *msg;
	int len;

	for (const char *const *q = c->ops->sql; *q; q++) {
		PQclear(res);
		res = NULL;
		f = db_flush(conn, PQsendQuery(conn, *q), deadline);
		if (f == DB_OK)
			f = db_results(conn, deadline, &res);
		if (f == DB_OK || !db_sqlstate_is(res, "42703") || PQstatus(conn) != CONNECTION_OK)
			break;
	}
	if (f == DB_OK && res && PQresultStatus(res) == PGRES_TUPLES_OK) {
		v = c->ops->build(res);
	} else if (f == DB_TIMEOUT) {
		snprintf(err, errlen, "no answer in time");
	} else if (f == DB_OK) {
		snprintf(err, errlen, "no result");
	} else {
		msg = db_error(conn, res, &len);
		snprintf(err, errlen, "%.*s", len, msg);
	}
	PQclear(res);
	return v;
}

/* dbcache_load - load through GIVEN (NULL: a session of its own), swap in; the old value
 * stays on failure */
static long dbcache_load(struct dbcache *c, PGconn *given)
{
	long long deadline = clock_after_ms(db_timeout_ms(c->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS));
	char err[512] = "";
	char app[96];
	PGconn *conn;
	void *v = NULL;
	long n;

	snprintf(app, sizeof(app), "beacon-milter %s", c->ops->name);
	conn = given ? given : db_connect(c->cfg, app, err, sizeof(err));
	if (conn) {
		if (PQsetnonblocking(conn, 1) == 0)
			v = dbcache_query(c, conn, deadline, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "%s", PQerrorMessage(conn));
		if (!given)
			PQfinish(conn);
	}
	if (!v) {
		err[strcspn(err, "\n")] = '\0';
		if (!c->failing)
			log_warnx("%s: cannot reload (%s): keeping the %zu %s loaded before",
				  c->ops->name, err, dbcache_size(c), c->ops->unit);
		c->failing = 1;
		return -1;
	}
	n = (long)c->ops->size(v);
	if (c->failing)
		log_info("%s: reloaded again (%ld %s)", c->ops->name, n, c->ops->unit);
	c->failing = 0;
	dbcache_set(c, v);
	return n;
}

/* dbcache_reload - connect, load, swap in */
long dbcache_reload(struct dbcache *c)
{
	return dbcache_load(c, NULL);
}

/* dbcache_listen - a session that LISTENs on the channel, or NULL (logged once) */
static PGconn *dbcache_listen(struct dbcache *c)
{
	long long deadline = clock_after_ms(db_timeout_ms(c->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS));
	char err[512], app[96], *sql = NULL;
	PGconn *conn;
	PGresult *res = NULL;
	enum db_fault f = DB_DOWN;
	const char *msg;
	int len;

	snprintf(app, sizeof(app), "beacon-milter %s", c->ops->name);
	if (!(conn = db_connect(c->cfg, app, err, sizeof(err))))
		goto fail;
	sql = g_strdup_printf("LISTEN %s", c->ops->channel);
	if (PQsetnonblocking(conn, 1) == 0)
		f = db_flush(conn, PQsendQuery(conn, sql), deadline);
	g_free(sql);
	if (f == DB_OK)
		f = db_results(conn, deadline, &res);
	if (f == DB_OK) {
		PQclear(res);
		if (c->listen_failing)
			log_info("%s: listening for changes again", c->ops->name);
		c->listen_failing = 0;
		return conn;
	}
	msg = db_error(conn, res, &len);
	snprintf(err, sizeof(err), "%.*s", len, msg);
	PQclear(res);
	PQfinish(conn);
fail:
	err[strcspn(err, "\n")] = '\0';
	if (!c->listen_failing)
		log_warnx("%s: cannot listen for changes (%s): reloading every %lld s only",
			  c->ops->name, err, c->refresh);
	c->listen_failing = 1;
	return NULL;
}

/* dbcache_notified - read what CONN received; 1 when a notification came, -1 when the
 * session is lost */
static int dbcache_notified(PGconn *conn)
{
	PGnotify *n;
	int got = 0;

	if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
		return -1;
	while ((n = PQnotifies(conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/* dbcache_thread - reload every refresh seconds, and when the database notifies a change
 * (at most once per DBCACHE_DEBOUNCE_MS: a burst of changes, a bounce campaign, costs one
 * reload a second), until stopped */
static void *dbcache_thread(void *arg)
{
	struct dbcache *c = arg;
	long long every_ms = c->refresh * 1000LL;
	long long next = clock_now_ms() + every_ms, last = 0;
	PGconn *ln = dbcache_listen(c);
	int pending = 0;

	/* a change between the first load and the LISTEN is not missed */
	if (ln) {
		dbcache_load(c, ln);
		last = clock_now_ms();
	}
	for (;;) {
		struct pollfd pfd[2] = { { c->wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		long long now = clock_now_ms(), wait = next - now;
		int rc, got;

		if (pending && last + DBCACHE_DEBOUNCE_MS - now < wait)
			wait = last + DBCACHE_DEBOUNCE_MS - now;
		if (ln)
			pfd[1].fd = PQsocket(ln);
		rc = poll(pfd, ln ? 2 : 1, wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait);
		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;		/* dbcache_stop() */
		if (ln && pfd[1].revents && (got = dbcache_notified(ln)) != 0) {
			if (got < 0) {
				log_warnx("%s: the session listening for changes was lost: "
					  "reloading every %lld s until it is back", c->ops->name,
					  every_ms / 1000);
				PQfinish(ln);
				ln = NULL;
			} else {
				pending = 1;
			}
		}
		/* a notification that comes while the value is read asks for one more read */
		if (pending && ln && clock_now_ms() >= last + DBCACHE_DEBOUNCE_MS) {
			long n = dbcache_load(c, ln);
			pending = 0;
			last = clock_now_ms();
			if (n >= 0)
				log_info("%s: changed in the database, %ld %s", c->ops->name, n,
					 c->ops->unit);
			if (PQstatus(ln) != CONNECTION_OK) {
				PQfinish(ln);
				ln = NULL;
			} else if (dbcache_notified(ln) > 0) {
				pending = 1;
			}
		}
		if (clock_now_ms() >= next) {
			next = clock_now_ms() + every_ms;
			if (!ln)
				ln = dbcache_listen(c);
			dbcache_load(c, ln);
			last = clock_now_ms();
			pending = 0;
		}
	}
	if (ln)
		PQfinish(ln);
	return NULL;
}

/* dbcache_start - first load, then the thread */
int dbcache_start(struct dbcache *c)
{
	long n = dbcache_reload(c);
	int rc;

	if (n >= 0)
		log_info("%s: %ld %s", c->ops->name, n, c->ops->unit);
	if (c->refresh <= 0)
		return 0;
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("cannot start the %s thread", c->ops->name);
		c->wake[0] = c->wake[1] = -1;
		return -1;
	}
	rc = pthread_create(&c->thread, NULL, dbcache_thread, c);
	if (rc != 0) {
		errno = rc;
		log_warn("cannot start the %s thread", c->ops->name);
		return -1;
	}
	c->running = 1;
	return 0;
}

/* dbcache_stop - end the thread, free the cache */
void dbcache_stop(struct dbcache *c)
{
	if (!c)
		return;
	if (c->running) {
		while (write(c->wake[1], "x", 1) < 0 && errno == EINTR)
			;
		pthread_join(c->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (c->wake[i] >= 0)
			close(c->wake[i]);
	c->ops->unref(c->value);
	pthread_mutex_destroy(&c->lock);
	g_free(c);
}
