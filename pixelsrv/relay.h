/*
 * relay.h - Apple iCloud Private Relay egress ranges (apple_relay_ranges).
 *
 * SYNOPSIS
 *	struct relay_db *r = relay_load(path, err, sizeof(err));
 *	const struct relay_entry *e = relay_match(r, sa);
 *	relay_free(r);
 *
 * DESCRIPTION
 *	Reads the CSV Apple publishes (egress-ip-ranges.csv), one range a
 *	line: "prefix,country,region,city" with an optional trailing empty
 *	field; the city may be empty.  Blank lines and lines starting with
 *	'#' are skipped.  An address inside a range is Apple Mail Privacy
 *	Protection fetching the pixel (class prefetch); the range's coarse
 *	location is kept instead of MaxMind's.  Equal locations are stored
 *	once.  A city name is kept whole; a line whose city is longer than
 *	GeoIP names may be (GEO_NAME_MAX - 1 bytes) is skipped, never cut.
 *	A loaded database is read-only: match from any thread.
 *
 * DIAGNOSTICS
 *	relay_load() returns NULL with the reason in err when the file
 *	cannot be read or holds no usable line.  Lines it cannot use are
 *	skipped; it then returns the database with err saying how many were
 *	skipped and why the first one was (err[0] is '\0' when none were).
 */
#ifndef BEACON_RELAY_H
#define BEACON_RELAY_H

#include <stddef.h>
#include <sys/socket.h>

#include "geo.h"

/* relay_entry - the coarse location of one egress range */
struct relay_entry {
	char country[3];	/* ISO 3166-1 alpha-2, "US" */
	char region[16];	/* ISO 3166-2, "US-NY"; may be empty */
	char *city;		/* city name, "New York", whole; may be empty */
};

struct relay_db;

/* relay_load - read the CSV at PATH; NULL with err set on failure */
struct relay_db *relay_load(const char *path, char *err, size_t errlen);
/* relay_match - the range holding SA, or NULL */
const struct relay_entry *relay_match(const struct relay_db *r,
    const struct sockaddr *sa);
/* relay_count - ranges loaded */
size_t relay_count(const struct relay_db *r);
/* relay_free - release the database */
void relay_free(struct relay_db *r);

#endif
