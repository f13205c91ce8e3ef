/*
 * daemon.h - what every Beacon program does at start-up.
 *
 * beacon_init() parses the common options (-c FILE, -f, -n, -d, -h),
 * reads beacon.conf(5) and starts logging; a config error exits with
 * EX_CONFIG before anything else happens, and -n runs the program's own
 * check (struct beacon_prog) before it prints the config.  The daemon
 * helpers then write the pid file, prepare directories and drop
 * privileges in one checked place.
 */
#ifndef BEACON_DAEMON_H
#define BEACON_DAEMON_H

#include <signal.h>
#include <stddef.h>

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
	int check_live;		/* -t: -n, and beacon_init_live's LIVE check too */
	int debug;		/* -d: debug logging */
	int optind;		/* first non-option argument */
};

/*
 * beacon_check_fn - everything a program needs from its configuration
 * beyond the syntax (key and rule files, addresses, the user to run as).
 * The same function runs for -n and at start-up, so -n passes exactly
 * when start-up would get past its configuration.  0, or a sysexits(3)
 * code (EX_CONFIG for a value that does not work) with ERR naming the key.
 */
typedef int beacon_check_fn(const struct beacon_cfg *cfg, char *err, size_t errlen);

/* beacon_prog - what beacon_init needs to know of a program */
struct beacon_prog {
	const char *name;	/* "beacon-milter": log ident, -V, usage */
	const char *usage;	/* the options after the name, for -h and usage errors */
	int daemon;		/* 1: log to syslog unless -f or -n */
	beacon_check_fn *check;	/* -n runs it, then prints the config; NULL: none */
};

/* beacon_init - parse options, read the config, start logging; exits on -h, -k, -V,
 * -n (after PROG's check) or a bad config (EX_CONFIG) */
void beacon_init(int argc, char **argv, const struct beacon_prog *prog,
		 struct beacon_opts *opts, struct beacon_cfg *cfg);
/* beacon_init_live - beacon_init, and -t runs LIVE after PROG's check: what needs the
 * systems the program talks to (the database); -t is -n for programs without one */
void beacon_init_live(int argc, char **argv, const struct beacon_prog *prog,
		      beacon_check_fn *live, struct beacon_opts *opts, struct beacon_cfg *cfg);
/* beacon_check_database - the [database] password_file is readable and private */
int beacon_check_database(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* daemon_detach - fork into the background unless FOREGROUND */
void daemon_detach(int foreground);
/* daemon_pidfile - write our pid to PATH (0644), a new file (O_EXCL | O_NOFOLLOW)
 * in a directory reached without following planted links (lib/safedir.h);
 * an old pid file is removed only if it is a regular file of ours; fatal
 * on failure, a warning if users other than root may write the directory */
void daemon_pidfile(const char *path);
/* daemon_prepare_dir - mkdir -p PATH (lib/safedir.h: no planted link followed),
 * then fchown to USER if root and fchmod MODE through the descriptor, which
 * it returns; -1 with ERR naming the path and the reason */
int daemon_prepare_dir(const char *path, const char *user, unsigned mode, char *err,
		       size_t errlen);
/* daemon_check_user - as root, USER must name an existing non-root user:
 * 0, or EX_CONFIG with ERR naming the [SECTION] user key */
int daemon_check_user(const char *user, const char *section, char *err, size_t errlen);
/* daemon_block_signals - block SIGTERM, SIGINT and SIGHUP (into SET) in this thread and
 * every thread it starts later, for sigwait(SET) in main; ignore SIGPIPE */
void daemon_block_signals(sigset_t *set);
/* daemon_drop - switch to USER (initgroups, setresgid, setresuid, each checked); refuse root */
void daemon_drop(const char *user, const char *section);

#endif
