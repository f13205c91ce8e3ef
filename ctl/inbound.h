/*
 * NAME
 *	inbound.h - what beaconctl inbound and its source rules share
 *
 * DESCRIPTION
 *	ctl_inbound() (inbound.c) parses the options of every form of
 *	beaconctl inbound once and hands the "source" forms to
 *	inbound_source() (inbound_sources.c) with what it read.
 */
#ifndef BEACON_CTL_INBOUND_H
#define BEACON_CTL_INBOUND_H

#include "ctl.h"
#include "output.h"

/* inbound_opts - the options given to beaconctl inbound */
struct inbound_opts {
	const char *owner;	/* --owner, NULL if not given */
	const char *priority;	/* --priority, NULL if not given */
	enum out_format fmt;	/* --csv, --json, or the table */
};

/* inbound_source - beaconctl inbound source add|list|remove: ARGV[0] the action,
 * NFMT how many of --csv/--json were given; an exit code */
int inbound_source(struct ctl *c, int argc, char **argv, const struct inbound_opts *o,
		   int nfmt);

#endif
