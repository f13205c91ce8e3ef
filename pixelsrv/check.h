/*
 * NAME
 *	check.h - what beacon-pixelsrv reads from its configuration before
 *	it binds, loaded by one function that -n and start-up both run
 *
 * SYNOPSIS
 *	struct check_res r;
 *	if ((rc = check_load(&cfg, &r, err, sizeof(err))) != 0)
 *		log_fatal_status(rc, "%s", err);
 *	...
 *	check_free(&r);
 *
 * DESCRIPTION
 *	check_load() refuses a root run without a usable `user`, settles the
 *	node name (node_name, or the host name: 1 to EVENT_NODE_MAX bytes of
 *	letters, digits, '.', '_' and '-', refused otherwise), loads the
 *	token keys (secret_file), the User-Agent rules (uap_regexes,
 *	mail_clients), the GeoIP databases and the Apple relay ranges, builds
 *	the trusted_proxies and internal_networks sets, and checks the listen
 *	addresses, the TLS files and the database password file.  A missing
 *	GeoIP database or relay file is a warning, as it always was: the
 *	server runs without places or prefetch classes.  Nothing is bound,
 *	created or connected, so `beacon-pixelsrv -n` may run beside the
 *	running server.  check_config() is check_load() then check_free():
 *	the beacon_check_fn of -n.
 *
 * DIAGNOSTICS
 *	0, or a sysexits(3) code (EX_CONFIG: a value that does not work,
 *	EX_OSERR: out of memory) with a message naming the key in ERR.
 */
#ifndef BEACON_PIXELSRV_CHECK_H
#define BEACON_PIXELSRV_CHECK_H

#include <stddef.h>

#include "cfg.h"
#include "event.h"

struct machines_db;

/* check_res - what check_load loaded; every pointer NULL before and after check_free */
struct check_res {
	struct token_keys *keys;	/* secret_file */
	struct ua_db *ua;		/* uap_regexes + mail_clients */
	struct geo_db *geo;		/* geoip_city_db + geoip_asn_db (either may be closed) */
	struct relay_db *relay;		/* apple_relay_ranges, or NULL */
	struct cidr_set *trusted;	/* trusted_proxies, or NULL when empty */
	struct cidr_set *internal;	/* internal_networks, or NULL when empty */
	struct machines_db *machines;	/* machines, or NULL when the key is empty */
	char node[EVENT_NODE_MAX + 1];	/* node_name, or the host name when it is empty */
};

/* check_load - everything start-up reads from CFG before binding; 0 or a sysexits code + ERR */
int check_load(const struct beacon_cfg *cfg, struct check_res *r, char *err, size_t errlen);
/* check_machines - load the machines file of CFG into *OUT (NULL when the key is empty); 0 or EX_CONFIG + ERR */
int check_machines(const struct beacon_cfg *cfg, struct machines_db **out, char *err,
    size_t errlen);
/* check_free - release what check_load loaded */
void check_free(struct check_res *r);
/* check_config - beacon_check_fn for -n: check_load, then check_free */
int check_config(const struct beacon_cfg *cfg, char *err, size_t errlen);

#endif
