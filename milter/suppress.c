/*
 * NAME
 *	suppress.c - the suppression list cache and its refresh thread
 *
 * DESCRIPTION
 *	See suppress.h.  A list is an immutable hash set with a reference
 *	count: a reload builds a new one and swaps it in under the mutex, so
 *	a message keeps the list it looked at even while a reload runs.  The
 *	query is sent without blocking and its answer awaited within a
 *	deadline (db_flush, db_results), so even a database that stopped
 *	answering costs at most statement_timeout plus a second, in the
 *	refresh thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <libpq-fe.h>

#include "address.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "suppress.h"

/* suppress_list - one loaded list */
struct suppress_list {
	gint refs;		/* references */
	GHashTable *set;	/* lower-case patterns */
};

/* suppress - the cache */
struct suppress {
	const struct beacon_cfg *cfg;	/* the configuration it started with */
	pthread_mutex_t lock;		/* guards list and stop */
	pthread_cond_t wake;		/* wakes the thread to stop */
	struct suppress_list *list;	/* the current list */
	int stop;			/* the thread must end */
	int running;			/* the thread was started */
	int failing;			/* the last reload failed (logged once) */
	pthread_t thread;		/* the refresh thread */
};

/* suppress_lower - a pattern without a one form, lower-cased like PostgreSQL's lower(); g_free */
static char *suppress_lower(const char *addr)
{
	return g_utf8_validate(addr, -1, NULL) ? g_utf8_strdown(addr, -1) : g_ascii_strdown(addr, -1);
}

/* suppress_list_new - a list from patterns, each in its one form (address.h) */
struct suppress_list *suppress_list_new(const char *const *patterns, size_t n)
{
	struct suppress_list *l = g_new0(struct suppress_list, 1);
	char key[ADDRESS_SIZE];

	l->refs = 1;
	l->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < n; i++) {
		if (!patterns[i] || !*patterns[i])
			continue;
		if (address_norm_pattern(patterns[i], key, sizeof(key), NULL) == 0)
			g_hash_table_add(l->set, g_strdup(key));
		else
			g_hash_table_add(l->set, suppress_lower(patterns[i]));
	}
	return l;
}

/* suppress_list_has - the address itself or "@domain", in their one form; an address that
 * has none cannot be told apart from a suppressed one: yes */
int suppress_list_has(const struct suppress_list *l, const char *addr)
{
	char key[ADDRESS_SIZE];

	if (!l || !addr)
		return 0;
	if (address_norm(addr, key, sizeof(key), NULL) < 0)
		return 1;
	if (g_hash_table_size(l->set) == 0)
		return 0;
	return g_hash_table_contains(l->set, key) ||
	       g_hash_table_contains(l->set, strrchr(key, '@'));
}

/* suppress_list_size - how many patterns */
size_t suppress_list_size(const struct suppress_list *l)
{
	return l ? g_hash_table_size(l->set) : 0;
}

/* suppress_list_unref - free with the last reference */
void suppress_list_unref(struct suppress_list *l)
{
	if (l && g_atomic_int_dec_and_test(&l->refs)) {
		g_hash_table_destroy(l->set);
		g_free(l);
	}
}

/* suppress_new - empty cache */
struct suppress *suppress_new(const struct beacon_cfg *cfg)
{
	struct suppress *s = g_new0(struct suppress, 1);

	s->cfg = cfg;
	s->list = suppress_list_new(NULL, 0);
	pthread_mutex_init(&s->lock, NULL);
	clock_cond_init(&s->wake);
	return s;
}

/* suppress_get - reference the current list */
struct suppress_list *suppress_get(struct suppress *s)
{
	struct suppress_list *l;

	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	l = s->list;
	g_atomic_int_inc(&l->refs);
	pthread_mutex_unlock(&s->lock);
	return l;
}

/* suppress_set - swap in L */
void suppress_set(struct suppress *s, struct suppress_list *l)
{
	struct suppress_list *old;

	pthread_mutex_lock(&s->lock);
	old = s->list;
	s->list = l;
	pthread_mutex_unlock(&s->lock);
	suppress_list_unref(old);
}

/* suppress_query - run the SELECT on CONN within the deadline; the list or NULL (ERR) */
static struct suppress_list *suppress_query(struct suppress *s, PGconn *conn, char *err,
					    size_t errlen)
{
	long long deadline = clock_after_ms(db_timeout_ms(s->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS));
	struct suppress_list *l = NULL;
	enum db_fault f = DB_DOWN;
	PGresult *res = NULL;
	const char *msg;
	int len;

	if (PQsetnonblocking(conn, 1) == 0)
		f = db_flush(conn, PQsendQuery(conn, "SELECT pattern FROM beacon.suppressions"),
			     deadline);
	if (f == DB_OK)
		f = db_results(conn, deadline, &res);
	if (f == DB_OK && res && PQresultStatus(res) == PGRES_TUPLES_OK) {
		int n = PQntuples(res);
		const char **v = g_new(const char *, n > 0 ? n : 1);
		for (int i = 0; i < n; i++)
			v[i] = PQgetvalue(res, i, 0);
		l = suppress_list_new(v, (size_t)n);
		g_free(v);
	} else if (f == DB_TIMEOUT) {
		snprintf(err, errlen, "no answer in time");
	} else if (f == DB_OK) {
		snprintf(err, errlen, "no result");
	} else {
		msg = db_error(conn, res, &len);
		snprintf(err, errlen, "%.*s", len, msg);
	}
	PQclear(res);
	return l;
}

/* suppress_reload - connect, load, swap in; the old list stays on failure */
long suppress_reload(struct suppress *s)
{
	struct suppress_list *l = NULL;
	char err[512];
	PGconn *conn = db_connect(s->cfg, "beacon-milter suppressions", err, sizeof(err));
	long n;

	if (conn) {
		l = suppress_query(s, conn, err, sizeof(err));
		PQfinish(conn);
	}
	if (!l) {
		err[strcspn(err, "\n")] = '\0';
		if (!s->failing)
			log_warnx("suppression list: cannot reload (%s): keeping the %zu patterns "
				  "loaded before", err, suppress_list_size(s->list));
		s->failing = 1;
		return -1;
	}
	n = (long)suppress_list_size(l);
	if (s->failing)
		log_info("suppression list: reloaded again (%ld patterns)", n);
	s->failing = 0;
	suppress_set(s, l);
	return n;
}

/* suppress_thread - reload every suppression_refresh seconds until stopped */
static void *suppress_thread(void *arg)
{
	struct suppress *s = arg;
	long every = s->cfg->milter.suppression_refresh;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		clock_cond_wait(&s->wake, &s->lock, clock_after_ms(every * 1000LL));
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->lock);
		suppress_reload(s);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* suppress_start - first load, then the thread */
int suppress_start(struct suppress *s)
{
	long n = suppress_reload(s);
	int rc;

	if (n >= 0)
		log_info("suppression list: %ld patterns", n);
	if (s->cfg->milter.suppression_refresh <= 0)
		return 0;
	rc = pthread_create(&s->thread, NULL, suppress_thread, s);
	if (rc != 0) {
		errno = rc;
		log_warn("cannot start the suppression list thread");
		return -1;
	}
	s->running = 1;
	return 0;
}

/* suppress_stop - end the thread, free the cache */
void suppress_stop(struct suppress *s)
{
	if (!s)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	suppress_list_unref(s->list);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	g_free(s);
}
