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

/* geo_info - what one lookup found; empty strings and 0 when unknown */
struct geo_info {
	char country[3];	/* ISO 3166-1 alpha-2 code */
	char region[64];	/* first subdivision, English name */
	char city[64];		/* city, English name */
	double latitude;	/* degrees, when has_location */
	double longitude;	/* degrees, when has_location */
	int has_location;	/* 1 if latitude/longitude are set */
	uint32_t asn;		/* autonomous system number, 0 if unknown */
	char asn_org[128];	/* autonomous system organisation */
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
