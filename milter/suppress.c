/*
 * NAME
 *	suppress.c - the suppression list cache and its refresh thread
 *
 * DESCRIPTION
 *	See suppress.h.  A list is an immutable hash set with a reference
 *	count; the cache and its refresh thread are dbcache.h's, this file
 *	gives it the query and the list.
 *
 *	A pattern for one sender is kept as "pattern\nsender" (a newline is
 *	in no one form).
 */
#define _GNU_SOURCE
#include <string.h>

#include <glib.h>
#include <libpq-fe.h>

#include "address.h"
#include "dbcache.h"
#include "suppress.h"

/* suppress_list - one loaded list */
struct suppress_list {
	gint refs;		/* references */
	GHashTable *set;	/* patterns, and "pattern\nsender", in their one form */
};

/* suppress - the cache */
struct suppress {
	struct dbcache *cache;		/* holds a struct suppress_list */
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

/* suppress_sql - the rows of the list; a schema before 007 has no sender column: then every
 * row is for every sender */
static const char *const suppress_sql[] = {
	"SELECT pattern, sender, source FROM beacon.suppressions",
	"SELECT pattern, '', 'admin' FROM beacon.suppressions",
	NULL,
};

/* suppress_build - dbcache_ops.build: the list of the rows RES (pattern, sender, source) */
static void *suppress_build(const PGresult *res)
{
	int n = PQntuples(res);
	const char **v = g_new(const char *, n > 0 ? n : 1);
	const char **w = g_new(const char *, n > 0 ? n : 1);
	const char **o = g_new(const char *, n > 0 ? n : 1);
	struct suppress_list *l;

	for (int i = 0; i < n; i++) {
		v[i] = PQgetvalue(res, i, 0);
		w[i] = PQgetvalue(res, i, 1);
		o[i] = PQgetvalue(res, i, 2);
	}
	l = suppress_list_new_src(v, w, o, (size_t)n);
	g_free(v);
	g_free(w);
	g_free(o);
	return l;
}

/* suppress_size, suppress_ref, suppress_unref - dbcache_ops on a list */
static size_t suppress_size(const void *v)
{
	return suppress_list_size(v);
}

static void suppress_ref(void *v)
{
	g_atomic_int_inc(&((struct suppress_list *)v)->refs);
}

static void suppress_unref(void *v)
{
	suppress_list_unref(v);
}

/* suppress_ops - the list as dbcache sees it; 007_unsubscribe.sql notifies the channel */
static const struct dbcache_ops suppress_ops = {
	"suppression list", "patterns", "beacon_suppressions",
	suppress_sql, suppress_build, suppress_size, suppress_ref, suppress_unref,
};

/* suppress_new - empty cache */
struct suppress *suppress_new(const struct beacon_cfg *cfg)
{
	struct suppress *s = g_new0(struct suppress, 1);

	s->cache = dbcache_new(cfg, &suppress_ops, cfg->milter.suppression_refresh,
			       suppress_list_new(NULL, 0));
	return s;
}

/* suppress_get - reference the current list */
struct suppress_list *suppress_get(struct suppress *s)
{
	return s ? dbcache_get(s->cache) : NULL;
}

/* suppress_set - swap in L */
void suppress_set(struct suppress *s, struct suppress_list *l)
{
	dbcache_set(s->cache, l);
}

/* suppress_reload - connect, load, swap in */
long suppress_reload(struct suppress *s)
{
	return dbcache_reload(s->cache);
}

/* suppress_start - first load, then the thread */
int suppress_start(struct suppress *s)
{
	return dbcache_start(s->cache);
}

/* suppress_stop - end the thread, free the cache */
void suppress_stop(struct suppress *s)
{
	if (!s)
		return;
	dbcache_stop(s->cache);
	g_free(s);
}
