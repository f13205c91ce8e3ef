/*
 * geo.h - place and network of an address (libmaxminddb).
 *
 * SYNOPSIS
 *	struct geo_db *g = geo_open(city_path, asn_path, warn_fn, arg);
 *	geo_lookup(g, sa, &info);		(any thread)
 *	geo_reload(g);				(on SIGHUP)
 *	geo_close(g);
 *
 * DESCRIPTION
 *	geoip_city_db gives country (ISO code), region (first subdivision,
 *	English), city (English) and location; geoip_asn_db gives the AS
 *	number and organisation.  Either database may be absent (empty or
 *	NULL path) or unusable: a missing or unreadable file is reported
 *	through the warn callback and its fields stay empty.
 *
 *	Names are copied whole into struct geo_info (GEO_NAME_MAX), so a
 *	result outlives the lookup and any reload.  A value too long for its
 *	field is never stored cut: the field stays empty
 *	and the first such value of each opened database is reported through
 *	the warn callback (from the looking-up thread).
 *
 *	Each opened database is a reference-counted handle.  A lookup takes
 *	a reference under a short mutex (no I/O under it) and drops it when
 *	done; geo_reload() opens the files afresh without the mutex, swaps
 *	the handles in under it, and the old ones are closed by whichever
 *	thread drops their last reference.  A database that fails to reload
 *	keeps its previous handle.  Replace the files by rename(2), as
 *	geoipupdate does: the handles map the files.
 */
#ifndef BEACON_GEO_H
#define BEACON_GEO_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * bytes of a name field with its NUL: a name of up to GEO_NAME_MAX - 1
 * bytes is kept whole.  MaxMind's place names are GeoNames' (geoname_id),
 * at most 200 characters, so at most 800 bytes of UTF-8; a longer value
 * is never cut: its field is left empty (see geo_lookup).
 */
#define GEO_NAME_MAX 1024

/* geo_info - what one lookup found; empty strings and 0 when unknown */
struct geo_info {
	char country[3];	/* ISO 3166-1 alpha-2 code */
	char region[GEO_NAME_MAX];	/* first subdivision, English name */
	char city[GEO_NAME_MAX];	/* city, English name */
	double latitude;	/* degrees, when has_location */
	double longitude;	/* degrees, when has_location */
	int has_location;	/* 1 if latitude/longitude are set */
	uint32_t asn;		/* autonomous system number, 0 if unknown */
	char asn_org[GEO_NAME_MAX];	/* autonomous system organisation */
};

/* geo_warn_fn - receives one warning line (no trailing newline) */
typedef void geo_warn_fn(void *arg, const char *msg);

struct geo_db;

#define GEO_CITY 1	/* geo_loaded(): the city database is open */
#define GEO_ASN 2	/* geo_loaded(): the ASN database is open */

/* geo_open - open both databases (either may be NULL/""); NULL only on ENOMEM */
struct geo_db *geo_open(const char *city_path, const char *asn_path,
    geo_warn_fn *warn, void *arg);
/* geo_lookup - fill *out for SA; empty fields for what is unknown */
void geo_lookup(struct geo_db *g, const struct sockaddr *sa,
    struct geo_info *out);
/* geo_reload - reopen both databases; 0, or -1 if one kept its old handle */
int geo_reload(struct geo_db *g);
/* geo_loaded - GEO_CITY | GEO_ASN for the databases currently open */
int geo_loaded(struct geo_db *g);
/* geo_close - release everything (no lookups may be running) */
void geo_close(struct geo_db *g);

#endif
