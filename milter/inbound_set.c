/*
 * NAME
 *	inbound_set.c - the tracked inbound addresses and their cache
 *
 * DESCRIPTION
 *	See inbound_set.h.  A set is an immutable hash set with a reference
 *	count; dbcache.c keeps it and reloads it with inbound_set_query().
 */
#define _GNU_SOURCE
#include <string.h>

#include <glib.h>
#include <libpq-fe.h>

#include "address.h"
#include "dbcache.h"
#include "inbound_set.h"

/* inbound_list - one loaded set */
struct inbound_list {
	gint refs;		/* references */
	GHashTable *set;	/* addresses in their one form */
};

/* inbound_set - the cache */
struct inbound_set {
	struct dbcache *cache;	/* holds a struct inbound_list */
};

/* inbound_list_new - the addresses in their one form */
struct inbound_list *inbound_list_new(const char *const *addresses, size_t n)
{
	struct inbound_list *l = g_new0(struct inbound_list, 1);
	char key[ADDRESS_SIZE];

	l->refs = 1;
	l->set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < n; i++)
		if (addresses[i] && address_norm(addresses[i], key, sizeof(key), NULL) == 0)
			g_hash_table_add(l->set, g_strdup(key));
	return l;
}

/* inbound_list_has - a lookup */
int inbound_list_has(const struct inbound_list *l, const char *key)
{
	return l && key && g_hash_table_contains(l->set, key);
}

/* inbound_list_size - how many addresses */
size_t inbound_list_size(const struct inbound_list *l)
{
	return l ? g_hash_table_size(l->set) : 0;
}

/* inbound_list_unref - free with the last reference */
void inbound_list_unref(struct inbound_list *l)
{
	if (l && g_atomic_int_dec_and_test(&l->refs)) {
		g_hash_table_destroy(l->set);
		g_free(l);
	}
}

/* inbound_set_sql - the active addresses */
static const char *const inbound_set_sql[] = {
	"SELECT address FROM beacon.tracked_inbound WHERE active",
	NULL,
};

/* inbound_set_build - dbcache_ops.build: the set of the rows RES (address) */
static void *inbound_set_build(const PGresult *res)
{
	int n = PQntuples(res);
	const char **v = g_new(const char *, n > 0 ? n : 1);
	struct inbound_list *l;

	for (int i = 0; i < n; i++)
		v[i] = PQgetvalue(res, i, 0);
	l = inbound_list_new(v, (size_t)n);
	g_free(v);
	return l;
}

/* inbound_set_size, inbound_set_ref, inbound_set_unref - dbcache_ops on a set */
static size_t inbound_set_size(const void *v)
{
	return inbound_list_size(v);
}

static void inbound_set_ref(void *v)
{
	g_atomic_int_inc(&((struct inbound_list *)v)->refs);
}

static void inbound_set_unref(void *v)
{
	inbound_list_unref(v);
}

/* inbound_set_ops - the set as dbcache sees it; 011_inbound.sql notifies the channel */
static const struct dbcache_ops inbound_set_ops = {
	"tracked inbound addresses", "addresses", "beacon_inbound",
	inbound_set_sql, inbound_set_build, inbound_set_size, inbound_set_ref, inbound_set_unref,
};

/* inbound_set_new - empty cache */
struct inbound_set *inbound_set_new(const struct beacon_cfg *cfg)
{
	struct inbound_set *s = g_new0(struct inbound_set, 1);

	s->cache = dbcache_new(cfg, &inbound_set_ops, cfg->milter.inbound_refresh,
			       inbound_list_new(NULL, 0));
	return s;
}

/* inbound_set_start - first load, then the thread */
int inbound_set_start(struct inbound_set *s)
{
	return dbcache_start(s->cache);
}

/* inbound_set_reload - connect, load, swap in */
long inbound_set_reload(struct inbound_set *s)
{
	return dbcache_reload(s->cache);
}

/* inbound_set_get - reference the current set */
struct inbound_list *inbound_set_get(struct inbound_set *s)
{
	return s ? dbcache_get(s->cache) : NULL;
}

/* inbound_set_set - swap in L */
void inbound_set_set(struct inbound_set *s, struct inbound_list *l)
{
	dbcache_set(s->cache, l);
}

/* inbound_set_stop - end the thread, free the cache */
void inbound_set_stop(struct inbound_set *s)
{
	if (!s)
		return;
	dbcache_stop(s->cache);
	g_free(s);
}
