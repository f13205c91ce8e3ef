/*
 * paths.h - where Beacon's installed files are.  The Makefile sets each
 * from its install variables (DATADIR, SYSCONFDIR); the values below are
 * those of a plain `make install`.
 */
#ifndef BEACON_PATHS_H
#define BEACON_PATHS_H

#ifndef BEACON_DATADIR
#define BEACON_DATADIR "/usr/local/share/beacon"	/* SQL, rules, contrib */
#endif
#ifndef BEACON_SYSCONFDIR
#define BEACON_SYSCONFDIR "/etc/beacon"			/* beacon.conf, secret */
#endif

#endif
