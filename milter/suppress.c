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
 *
 *	A pattern for one sender is kept as "pattern\nsender" (a newline is
 *	in no one form).  The thread waits with poll() on its LISTEN
 *	session and on a pipe that suppress_stop() writes to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <libpq-fe.h>

#include "address.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "suppress.h"

#define SUPPRESS_CHANNEL "beacon_suppressions"	/* 007_unsubscribe.sql notifies it */
#define SUPPRESS_DEBOUNCE_MS 1000		/* reloads on notification at most this often */

/* suppress_list - one loaded list */
struct suppress_list {
	gint refs;		/* references */
	GHashTable *set;	/* patterns, and "pattern\nsender", in their one form */
};

/* suppress - the cache */
struct suppress {
	const struct beacon_cfg *cfg;	/* the configuration it started with */
	pthread_mutex_t lock;		/* guards list */
	struct suppress_list *list;	/* the current list */
	int wake[2];			/* suppress_stop() writes to wake[1] */
	int running;			/* the thread was started */
	int failing;			/* the last reload failed (logged once) */
	int listen_failing;		/* the LISTEN session could not be opened (logged once) */
	pthread_t thread;		/* the refresh thread */
};

/* suppress_lower - a pattern without a one form, lower-cased like PostgreSQL's lower(); g_free */
static char *suppress_lower(const char *addr)
{
	return g_utf8_validate(addr, -1, NULL) ? g_utf8_strdown(addr, -1) : g_ascii_strdown(addr, -1);
}

/* suppress_sender_key - SENDER's one form without a BATV tag */
int suppress_sender_key(const char *sender, char *key, size_t len)
{
	char *at, *eq;

	if (!sender || !*sender || address_norm(sender, key, len, NULL) < 0)
		return -1;
	/* BATV (prvs=TAG=user@dom): the tag changes daily, the sender does not */
	at = strrchr(key, '@');
	if (at && g_str_has_prefix(key, "prvs=") && (eq = strchr(key + 5, '=')) && eq < at &&
	    eq + 1 < at)
		memmove(key, eq + 1, strlen(eq + 1) + 1);
	return 0;
}

/* suppress_sender - SENDER's key (else lower-cased), g_free; NULL for none */
static char *suppress_sender(const char *sender)
{
	char key[ADDRESS_SIZE];

	if (!sender || !*sender)
		return NULL;
	if (suppress_sender_key(sender, key, sizeof(key)) == 0)
		return g_strdup(key);
	return suppress_lower(sender);
}

/* suppress_list_new_from - the same as suppress_list_new_src, every row an admin's */
struct suppress_list *suppress_list_new_from(const char *const *patterns,
					     const char *const *senders, size_t n)
{
	return suppress_list_new_src(patterns, senders, NULL, n);
}

/* suppress_list_new_src - a list from patterns, each in its one form (address.h), their
 * senders and sources; a sender's unsubscribe row is marked in its value */
struct suppress_list *suppress_list_new_src(const char *const *patterns,
					    const char *const *senders,
					    const char *const *sources, size_t n)
{
	struct suppress_list *l = g_new0(struct suppress_list, 1);
	char key[ADDRESS_SIZE];

	l->refs = 1;
	l->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < n; i++) {
		char *pat, *snd, *k;
		int unsub = sources && sources[i] && strcmp(sources[i], "unsubscribe") == 0;
		if (!patterns[i] || !*patterns[i])
			continue;
		if (address_norm_pattern(patterns[i], key, sizeof(key), NULL) == 0)
			pat = g_strdup(key);
		else
			pat = suppress_lower(patterns[i]);
		snd = suppress_sender(senders ? senders[i] : NULL);
		if (snd) {
			k = g_strdup_printf("%s\n%s", pat, snd);
			if (unsub || !g_hash_table_contains(l->set, k))
				g_hash_table_insert(l->set, k, GINT_TO_POINTER(unsub ? 2 : 1));
			else
				g_free(k);
			g_free(pat);
			g_free(snd);
		} else {
			g_hash_table_insert(l->set, pat, GINT_TO_POINTER(1));
		}
	}
	return l;
}

/* suppress_list_new - patterns for every sender */
struct suppress_list *suppress_list_new(const char *const *patterns, size_t n)
{
	return suppress_list_new_from(patterns, NULL, n);
}

/* suppress_list_unsubscribed - did ADDR (itself) unsubscribe from SENDER? */
int suppress_list_unsubscribed(const struct suppress_list *l, const char *addr,
			       const char *sender)
{
	char key[ADDRESS_SIZE], *snd, *k;
	int hit;

	if (!l || !addr || g_hash_table_size(l->set) == 0 ||
	    address_norm(addr, key, sizeof(key), NULL) < 0 || !(snd = suppress_sender(sender)))
		return 0;
	k = g_strdup_printf("%s\n%s", key, snd);
	hit = GPOINTER_TO_INT(g_hash_table_lookup(l->set, k)) == 2;
	g_free(k);
	g_free(snd);
	return hit;
}

/* suppress_list_has_from - the address itself or "@domain", in their one form, for every
 * sender or for SENDER; an address that has none cannot be told apart from a suppressed
 * one: yes */
int suppress_list_has_from(const struct suppress_list *l, const char *addr, const char *sender)
{
	char key[ADDRESS_SIZE], *snd, *k;
	int hit;

	if (!l || !addr)
		return 0;
	if (address_norm(addr, key, sizeof(key), NULL) < 0)
		return 1;
	if (g_hash_table_size(l->set) == 0)
		return 0;
	if (g_hash_table_contains(l->set, key) || g_hash_table_contains(l->set, strrchr(key, '@')))
		return 1;
	if (!(snd = suppress_sender(sender)))
		return 0;
	k = g_strdup_printf("%s\n%s", key, snd);
	hit = g_hash_table_contains(l->set, k);
	g_free(k);
	if (!hit) {
		k = g_strdup_printf("%s\n%s", strrchr(key, '@'), snd);
		hit = g_hash_table_contains(l->set, k);
		g_free(k);
	}
	g_free(snd);
	return hit;
}

/* suppress_list_has - for every sender */
int suppress_list_has(const struct suppress_list *l, const char *addr)
{
	return suppress_list_has_from(l, addr, NULL);
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
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
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

/* suppress_query - run the SELECT on CONN within the deadline; the list or NULL (ERR).
 * A schema before 007 has no sender column: then every row is for every sender */
static struct suppress_list *suppress_query(struct suppress *s, PGconn *conn, char *err,
					    size_t errlen)
{
	static const char *const sql[2] = {
		"SELECT pattern, sender, source FROM beacon.suppressions",
		"SELECT pattern, '', 'admin' FROM beacon.suppressions",
	};
	long long deadline = clock_after_ms(db_timeout_ms(s->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS));
	struct suppress_list *l = NULL;
	enum db_fault f = DB_DOWN;
	PGresult *res = NULL;
	const char *msg;
	int len;

	for (int q = 0; q < 2; q++) {
		PQclear(res);
		res = NULL;
		f = DB_DOWN;
		if (PQsetnonblocking(conn, 1) == 0)
			f = db_flush(conn, PQsendQuery(conn, sql[q]), deadline);
		if (f == DB_OK)
			f = db_results(conn, deadline, &res);
		if (f == DB_OK || !db_sqlstate_is(res, "42703") || PQstatus(conn) != CONNECTION_OK)
			break;
	}
	if (f == DB_OK && res && PQresultStatus(res) == PGRES_TUPLES_OK) {
		int n = PQntuples(res);
		const char **v = g_new(const char *, n > 0 ? n : 1);
		const char **w = g_new(const char *, n > 0 ? n : 1);
		const char **o = g_new(const char *, n > 0 ? n : 1);
		for (int i = 0; i < n; i++) {
			v[i] = PQgetvalue(res, i, 0);
			w[i] = PQgetvalue(res, i, 1);
			o[i] = PQgetvalue(res, i, 2);
		}
		l = suppress_list_new_src(v, w, o, (size_t)n);
		g_free(v);
		g_free(w);
		g_free(o);
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

/* suppress_load - load through CONN (NULL: a session of its own), swap in; the old list
 * stays on failure */
static long suppress_load(struct suppress *s, PGconn *given)
{
	struct suppress_list *l = NULL;
	char err[512];
	PGconn *conn = given ? given :
		db_connect(s->cfg, "beacon-milter suppressions", err, sizeof(err));
	long n;

	if (conn) {
		l = suppress_query(s, conn, err, sizeof(err));
		if (!given)
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

/* suppress_reload - connect, load, swap in */
long suppress_reload(struct suppress *s)
{
	return suppress_load(s, NULL);
}

/* suppress_listen - a session that LISTENs on the channel, or NULL (logged once) */
static PGconn *suppress_listen(struct suppress *s)
{
	long long deadline = clock_after_ms(db_timeout_ms(s->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS));
	char err[512];
	PGconn *conn = db_connect(s->cfg, "beacon-milter suppressions", err, sizeof(err));
	PGresult *res = NULL;
	enum db_fault f = DB_DOWN;
	const char *msg;
	int len;

	if (!conn)
		goto fail;
	if (PQsetnonblocking(conn, 1) == 0)
		f = db_flush(conn, PQsendQuery(conn, "LISTEN " SUPPRESS_CHANNEL), deadline);
	if (f == DB_OK)
		f = db_results(conn, deadline, &res);
	if (f == DB_OK) {
		PQclear(res);
		if (s->listen_failing)
			log_info("suppression list: listening for changes again");
		s->listen_failing = 0;
		return conn;
	}
	msg = db_error(conn, res, &len);
	snprintf(err, sizeof(err), "%.*s", len, msg);
	PQclear(res);
	PQfinish(conn);
fail:
	err[strcspn(err, "\n")] = '\0';
	if (!s->listen_failing)
		log_warnx("suppression list: cannot listen for changes (%s): reloading every %lld s "
			  "only", err, (long long)s->cfg->milter.suppression_refresh);
	s->listen_failing = 1;
	return NULL;
}

/* suppress_notified - read what CONN received; 1 when a notification came, -1 when the
 * session is lost */
static int suppress_notified(PGconn *conn)
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

/* suppress_thread - reload every suppression_refresh seconds, and when the database
 * notifies a change (at most once per SUPPRESS_DEBOUNCE_MS: a burst of changes, a bounce
 * campaign, costs one reload a second), until stopped */
static void *suppress_thread(void *arg)
{
	struct suppress *s = arg;
	long long every_ms = (long long)s->cfg->milter.suppression_refresh * 1000LL;
	long long next = clock_now_ms() + every_ms, last = 0;
	PGconn *ln = suppress_listen(s);
	int pending = 0;

	/* a change between the first load and the LISTEN is not missed */
	if (ln) {
		suppress_load(s, ln);
		last = clock_now_ms();
	}
	for (;;) {
		struct pollfd pfd[2] = { { s->wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
		long long now = clock_now_ms(), wait = next - now;
		int rc, got;

		if (pending && last + SUPPRESS_DEBOUNCE_MS - now < wait)
			wait = last + SUPPRESS_DEBOUNCE_MS - now;
		if (ln)
			pfd[1].fd = PQsocket(ln);
		rc = poll(pfd, ln ? 2 : 1, wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait);
		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;		/* suppress_stop() */
		if (ln && pfd[1].revents && (got = suppress_notified(ln)) != 0) {
			if (got < 0) {
				log_warnx("suppression list: the session listening for changes was "
					  "lost: reloading every %lld s until it is back", every_ms / 1000);
				PQfinish(ln);
				ln = NULL;
			} else {
				pending = 1;
			}
		}
		/* a notification that comes while the list is read asks for one more read */
		if (pending && ln && clock_now_ms() >= last + SUPPRESS_DEBOUNCE_MS) {
			long n = suppress_load(s, ln);
			pending = 0;
			last = clock_now_ms();
			if (n >= 0)
				log_info("suppression list: changed in the database, %ld patterns", n);
			if (PQstatus(ln) != CONNECTION_OK) {
				PQfinish(ln);
				ln = NULL;
			} else if (suppress_notified(ln) > 0) {
				pending = 1;
			}
		}
		if (clock_now_ms() >= next) {
			next = clock_now_ms() + every_ms;
			if (!ln)
				ln = suppress_listen(s);
			suppress_load(s, ln);
			last = clock_now_ms();
			pending = 0;
		}
	}
	if (ln)
		PQfinish(ln);
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
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("cannot start the suppression list thread");
		s->wake[0] = s->wake[1] = -1;
		return -1;
	}
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
		while (write(s->wake[1], "x", 1) < 0 && errno == EINTR)
			;
		pthread_join(s->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	suppress_list_unref(s->list);
	pthread_mutex_destroy(&s->lock);
	g_free(s);
}
