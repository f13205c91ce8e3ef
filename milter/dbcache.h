/*
 * NAME
 *	dbcache.h - a value read from PostgreSQL, kept in memory and
 *	reloaded on a timer and whenever the database notifies a change
 *
 * SYNOPSIS
 *	static const struct dbcache_ops ops = { "suppression list", "patterns",
 *		"beacon_suppressions", sql, build, size, ref, unref };
 *	struct dbcache *c = dbcache_new(cfg, &ops, refresh_seconds, empty_value);
 *	dbcache_start(c);
 *	void *v = dbcache_get(c);	(once per message)
 *	... ops.unref(v);
 *	dbcache_stop(c);
 *
 * DESCRIPTION
 *	The machinery of the suppression list (suppress.h) and of the
 *	tracked inbound addresses (inbound.h): mail never waits for the
 *	database, dbcache_get() only takes a reference to the value in
 *	memory.  A value is immutable and reference-counted by its owner's
 *	ops: a reload runs ops->sql (within statement_timeout plus a
 *	second), builds a new value from its rows (ops->build) and swaps it in
 *	under a mutex, so a message keeps the value it looked at.
 *
 *	dbcache_start() loads once, bounded by connect_timeout and
 *	statement_timeout, then starts a thread that reloads every REFRESH
 *	seconds (0: never again, and no thread) and, in between, whenever
 *	the database sends a notification on ops->channel: the thread keeps
 *	a session that LISTENs there and reloads through it, at most once a
 *	second.  A lost session is opened again at the next timed reload;
 *	meanwhile the timed reloads go on.  When a reload fails the last
 *	value stays in use; the first failure and the recovery are logged,
 *	each line starting with ops->name.
 */
#ifndef BEACON_DBCACHE_H
#define BEACON_DBCACHE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "cfg.h"

/* dbcache_ops - what the owner of the value provides */
struct dbcache_ops {
	const char *name;	/* for log lines: "suppression list" */
	const char *unit;	/* what size counts, for log lines: "patterns" */
	const char *channel;	/* the NOTIFY channel to LISTEN on */
	/* the SELECT that reads the value, and NULL; or alternatives, the next one tried when
	 * the schema lacks a column the one before names (SQLSTATE 42703: an older schema) */
	const char *const *sql;
	/* build - a new value from the rows RES of the SELECT */
	void *(*build)(const PGresult *res);
	/* size - how many entries V holds */
	size_t (*size)(const void *v);
	/* ref - take a reference to V */
	void (*ref)(void *v);
	/* unref - drop a reference to V */
	void (*unref)(void *v);
};

struct dbcache;

/* dbcache_new - a cache holding EMPTY (its reference taken over); nothing loaded yet */
struct dbcache *dbcache_new(const struct beacon_cfg *cfg, const struct dbcache_ops *ops,
			    long long refresh, void *empty);
/* dbcache_start - load now (bounded), then start the refresh thread; 0, or -1 (no thread) */
int dbcache_start(struct dbcache *c);
/* dbcache_reload - load now in the caller's thread; entries loaded, or -1 (the old value
 * kept) */
long dbcache_reload(struct dbcache *c);
/* dbcache_stop - stop the thread and free (NULL is fine) */
void dbcache_stop(struct dbcache *c);
/* dbcache_get - the current value, referenced; NULL when C is NULL */
void *dbcache_get(struct dbcache *c);
/* dbcache_set - replace the current value with V (the cache takes the reference) */
void dbcache_set(struct dbcache *c, void *v);

#endif
