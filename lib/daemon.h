/*
 * daemon.h - what every Beacon program does at start-up.
 *
 * beacon_start() parses the common options (-c FILE, -f, -n, -d, -h),
 * reads beacon.conf(5) and starts logging; a config error exits with
 * EX_CONFIG before anything else happens.  The daemon helpers then write
 * the pid file, prepare directories and drop privileges in one checked
 * place.
 */
#ifndef BEACON_DAEMON_H
#define BEACON_DAEMON_H

#include "cfg.h"
#include "paths.h"

#ifndef BEACON_VERSION
#define BEACON_VERSION "0"
#endif
#define BEACON_DEFAULT_CONFIG BEACON_SYSCONFDIR "/beacon.conf"

/* beacon_opts - the common command-line options */
struct beacon_opts {
	const char *config;	/* -c FILE */
	int foreground;		/* -f: stay in the foreground, log to stderr */
	int check;		/* -n: check the config, print it, exit */
	int debug;		/* -d: debug logging */
	int optind;		/* first non-option argument */
};

/* beacon_start - parse options and config; exits on -h, -k, -n, -V or any error */
void beacon_start(int argc, char **argv, const char *prog, const char *usage,
		  int daemon, struct beacon_opts *opts, struct beacon_cfg *cfg);
/* daemon_detach - fork into the background unless FOREGROUND */
void daemon_detach(int foreground);
/* daemon_pidfile - write our pid to PATH (0644); fatal on failure */
void daemon_pidfile(const char *path);
/* daemon_prepare_dir - mkdir -p PATH with MODE, owned by USER if root */
int daemon_prepare_dir(const char *path, const char *user, unsigned mode);
/* daemon_check_user - as root, refuse (EX_CONFIG) a missing, unknown or root USER */
void daemon_check_user(const char *user, const char *section);
/* daemon_drop - switch to USER (initgroups, setresgid, setresuid, each checked); refuse root */
void daemon_drop(const char *user, const char *section);

#endif
