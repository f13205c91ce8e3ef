/*
 * geo.c - MaxMind City/ASN lookups with hot reload.
 *
 * DESCRIPTION
 *	Two slots (city, asn), each a pointer to a reference-counted open
 *	database.  The slots are read and written under geo_db.mu; the
 *	mutex is held only to copy a pointer and bump a count, never across
 *	file I/O or a lookup.  Values are read with MMDB_aget_value over
 *	fixed paths and copied whole into the arrays of struct geo_info; a
 *	value longer than its array is refused (field left empty), never
 *	cut, and reported once per opened database.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "geo.h"

/* geo_mmdb - one open database, shared by the lookups using it */
struct geo_mmdb {
	MMDB_s mmdb;		/* the mapped database */
	atomic_uint refs;	/* the slot's reference + running lookups */
	atomic_flag warned_long;	/* a too-long name was reported */
	const char *what;	/* "city" or "ASN", for warnings */
	const char *path;	/* its configured path (owned by geo_db) */
};

/* geo_db - the two slots and how to reopen them */
struct geo_db {
	pthread_mutex_t mu;	/* guards city and asn (the pointers) */
	pthread_mutex_t reload_mu;	/* one geo_reload at a time */
	struct geo_mmdb *city;	/* City database, or NULL */
	struct geo_mmdb *asn;	/* ASN database, or NULL */
	char *city_path;	/* NULL: not configured */
	char *asn_path;		/* NULL: not configured */
	geo_warn_fn *warn;	/* warning sink, may be NULL */
	void *warn_arg;		/* its argument */
};

static const char *const geo_p_country[] = { "country", "iso_code", NULL };
static const char *const geo_p_region[] =
    { "subdivisions", "0", "names", "en", NULL };
static const char *const geo_p_city[] = { "city", "names", "en", NULL };
static const char *const geo_p_lat[] = { "location", "latitude", NULL };
static const char *const geo_p_lon[] = { "location", "longitude", NULL };
static const char *const geo_p_asn[] = { "autonomous_system_number", NULL };
static const char *const geo_p_org[] =
    { "autonomous_system_organization", NULL };

/* geo_warnf - format one warning and hand it to the callback */
__attribute__((format(printf, 2, 3)))
static void geo_warnf(const struct geo_db *g, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (g->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	g->warn(g->warn_arg, buf);
}

/* geo_mmdb_open - open PATH; NULL (warned) when it cannot be used */
static struct geo_mmdb *geo_mmdb_open(const struct geo_db *g,
    const char *what, const char *path)
{
	struct geo_mmdb *m;
	int status, saved;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		geo_warnf(g, "GeoIP %s database %s: out of memory; its fields "
		    "stay empty", what, path);
		return NULL;
	}
	errno = 0;
	status = MMDB_open(path, MMDB_MODE_MMAP, &m->mmdb);
	if (status != MMDB_SUCCESS) {
		saved = errno;
		if ((status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) &&
		    saved != 0)
			geo_warnf(g, "GeoIP %s database %s: %s: %s; its fields "
			    "stay empty", what, path, MMDB_strerror(status),
			    strerror(saved));
		else
			geo_warnf(g, "GeoIP %s database %s: %s; its fields "
			    "stay empty", what, path, MMDB_strerror(status));
		free(m);
		return NULL;
	}
	atomic_init(&m->refs, 1);
	atomic_flag_clear(&m->warned_long);
	m->what = what;
	m->path = path;
	return m;
}

/* geo_mmdb_get - take a reference (caller holds g->mu) */
static struct geo_mmdb *geo_mmdb_get(struct geo_mmdb *m)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

/* geo_mmdb_put - drop a reference; the last one closes the database */
static void geo_mmdb_put(struct geo_mmdb *m)
{
	if (m == NULL)
		return;
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		MMDB_close(&m->mmdb);
		free(m);
	}
}

/* geo_dup_path - copy of a configured path; NULL for NULL or "" */
static char *geo_dup_path(const char *path, int *nomem)
{
	char *s;

	if (path == NULL || *path == '\0')
		return NULL;
	s = strdup(path);
	if (s == NULL)
		*nomem = 1;
	return s;
}

/* geo_open - open the configured databases */
struct geo_db *geo_open(const char *city_path, const char *asn_path,
    geo_warn_fn *warn, void *arg)
{
	struct geo_db *g;
	int nomem = 0;

	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->city_path = geo_dup_path(city_path, &nomem);
	g->asn_path = geo_dup_path(asn_path, &nomem);
	if (nomem || pthread_mutex_init(&g->mu, NULL) != 0) {
		free(g->city_path);
		free(g->asn_path);
		free(g);
		return NULL;
	}
	if (pthread_mutex_init(&g->reload_mu, NULL) != 0) {
		pthread_mutex_destroy(&g->mu);
		free(g->city_path);
		free(g->asn_path);
		free(g);
		return NULL;
	}
	g->warn = warn;
	g->warn_arg = arg;
	if (g->city_path)
		g->city = geo_mmdb_open(g, "city", g->city_path);
	if (g->asn_path)
		g->asn = geo_mmdb_open(g, "ASN", g->asn_path);
	return g;
}

/* geo_reload_slot - reopen one slot under reload_mu; -1 keeps the old one */
static int geo_reload_slot(struct geo_db *g, struct geo_mmdb **slot,
    const char *what, const char *path)
{
	struct geo_mmdb *m, *old;

	if (path == NULL)
		return 0;
	m = geo_mmdb_open(g, what, path);
	if (m == NULL) {
		if (*slot != NULL)
			geo_warnf(g, "GeoIP %s database %s: keeping the one "
			    "loaded before", what, path);
		return -1;
	}
	pthread_mutex_lock(&g->mu);
	old = *slot;
	*slot = m;
	pthread_mutex_unlock(&g->mu);
	geo_mmdb_put(old);
	return 0;
}

/* geo_reload - reopen both databases, swapping them in */
int geo_reload(struct geo_db *g)
{
	int rc = 0;

	pthread_mutex_lock(&g->reload_mu);
	if (geo_reload_slot(g, &g->city, "city", g->city_path) < 0)
		rc = -1;
	if (geo_reload_slot(g, &g->asn, "ASN", g->asn_path) < 0)
		rc = -1;
	pthread_mutex_unlock(&g->reload_mu);
	return rc;
}

/* geo_loaded - which databases are open */
int geo_loaded(struct geo_db *g)
{
	int r = 0;

	pthread_mutex_lock(&g->mu);
	if (g->city)
		r |= GEO_CITY;
	if (g->asn)
		r |= GEO_ASN;
	pthread_mutex_unlock(&g->mu);
	return r;
}

/* geo_str - copy the string at PATH of ENTRY (in M) whole into DST; a longer one is refused */
static void geo_str(const struct geo_db *g, struct geo_mmdb *m,
    MMDB_entry_s *entry, const char *const *path, char *dst, size_t dstlen)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	if (d.data_size >= dstlen) {
		/* a cut name is a false one: leave the field empty, say so once */
		if (!atomic_flag_test_and_set(&m->warned_long))
			geo_warnf(g, "GeoIP %s database %s: a %s name of %u bytes "
			    "is longer than %zu; such names are stored empty",
			    m->what, m->path,
			    !strcmp(path[0], "subdivisions") ? "region" :
			    !strcmp(path[0], "autonomous_system_organization") ? "AS organisation" :
			    path[0], (unsigned)d.data_size, dstlen - 1);
		return;
	}
	memcpy(dst, d.utf8_string, d.data_size);
	dst[d.data_size] = '\0';
}

/* geo_num - the number at PATH of ENTRY as a double; 0 or -1 */
static int geo_num(MMDB_entry_s *entry, const char *const *path, double *v)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
		return -1;
	switch (d.type) {
	case MMDB_DATA_TYPE_DOUBLE:
		*v = d.double_value;
		return 0;
	case MMDB_DATA_TYPE_FLOAT:
		*v = d.float_value;
		return 0;
	case MMDB_DATA_TYPE_UINT16:
		*v = d.uint16;
		return 0;
	case MMDB_DATA_TYPE_UINT32:
		*v = d.uint32;
		return 0;
	case MMDB_DATA_TYPE_INT32:
		*v = d.int32;
		return 0;
	case MMDB_DATA_TYPE_UINT64:
		*v = (double)d.uint64;
		return 0;
	default:
		return -1;
	}
}

/* geo_find - the record for SA in M; 0 or -1 */
static int geo_find(struct geo_mmdb *m, const struct sockaddr *sa,
    MMDB_entry_s *entry)
{
	MMDB_lookup_result_s r;
	int err;

	r = MMDB_lookup_sockaddr(&m->mmdb, sa, &err);
	if (err != MMDB_SUCCESS || !r.found_entry)
		return -1;
	*entry = r.entry;
	return 0;
}

/* geo_lookup - fill *out for SA from both databases */
void geo_lookup(struct geo_db *g, const struct sockaddr *sa,
    struct geo_info *out)
{
	struct geo_mmdb *city, *asn;
	struct sockaddr_in v4;
	MMDB_entry_s e;
	double lat, lon, n;

	/* each field set, not the whole result cleared: an empty name needs one byte of its 1 KB */
	out->country[0] = out->region[0] = out->city[0] = out->asn_org[0] = '\0';
	out->latitude = out->longitude = 0;
	out->has_location = 0;
	out->asn = 0;
	if (sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const unsigned char *b = s6->sin6_addr.s6_addr;

		/* ::ffff:a.b.c.d is looked up as a.b.c.d */
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\377\377", 12) == 0) {
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			memcpy(&v4.sin_addr, b + 12, 4);
			sa = (const struct sockaddr *)&v4;
		}
	}
	pthread_mutex_lock(&g->mu);
	city = geo_mmdb_get(g->city);
	asn = geo_mmdb_get(g->asn);
	pthread_mutex_unlock(&g->mu);

	if (city != NULL && geo_find(city, sa, &e) == 0) {
		geo_str(g, city, &e, geo_p_country, out->country,
		    sizeof(out->country));
		geo_str(g, city, &e, geo_p_region, out->region,
		    sizeof(out->region));
		geo_str(g, city, &e, geo_p_city, out->city, sizeof(out->city));
		if (geo_num(&e, geo_p_lat, &lat) == 0 &&
		    geo_num(&e, geo_p_lon, &lon) == 0) {
			out->latitude = lat;
			out->longitude = lon;
			out->has_location = 1;
		}
	}
	if (asn != NULL && geo_find(asn, sa, &e) == 0) {
		if (geo_num(&e, geo_p_asn, &n) == 0 && n > 0 && n <= UINT32_MAX)
			out->asn = (uint32_t)n;
		geo_str(g, asn, &e, geo_p_org, out->asn_org,
		    sizeof(out->asn_org));
	}
	geo_mmdb_put(city);
	geo_mmdb_put(asn);
}

/* geo_close - drop the slots' references and free */
void geo_close(struct geo_db *g)
{
	if (g == NULL)
		return;
	geo_mmdb_put(g->city);
	geo_mmdb_put(g->asn);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->reload_mu);
	free(g->city_path);
	free(g->asn_path);
	free(g);
}
