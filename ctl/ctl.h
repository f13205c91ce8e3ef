/*
 * NAME
 *	ctl.h - what the beaconctl command modules share
 *
 * DESCRIPTION
 *	beaconctl is short-lived: a command parses its arguments, opens one
 *	database session, does its work and exits with a sysexits(3) code.
 *	The state every command needs (config, session) lives in one
 *	struct ctl; ctl_exit() is the one way out, so the session is closed
 *	and the config freed on every path.
 *
 *	Exit codes: EX_USAGE bad arguments, EX_DATAERR bad data (malformed
 *	token, bad date, out-of-range value), EX_NOINPUT missing SQL files,
 *	EX_UNAVAILABLE database unreachable, EX_TEMPFAIL a retry may work
 *	(serialization failure, lock or statement timeout), EX_NOPERM
 *	refused by the database, EX_CONFIG config errors or a missing schema,
 *	EX_SOFTWARE anything else.
 */
#ifndef BEACON_CTL_H
#define BEACON_CTL_H

#include <stdio.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "output.h"

#define CTL_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ctl - the state of one beaconctl run */
struct ctl {
	struct beacon_cfg cfg;		/* beacon.conf(5) */
	struct beacon_opts opts;	/* common options */
	PGconn *conn;			/* the session, NULL until ctl_connect */
	const char *cmd;		/* the command being run, for messages */
};

/* ctl_cmd_fn - one command: ARGV[0] is its name; returns an exit code (main.c
 * answers --help and -h from its command table before a command runs) */
typedef int ctl_cmd_fn(struct ctl *c, int argc, char **argv);

ctl_cmd_fn ctl_init, ctl_migrate, ctl_report, ctl_history, ctl_watch,
	ctl_export, ctl_purge, ctl_suppress, ctl_token, ctl_maintain, ctl_reclassify,
	ctl_forget, ctl_inbound, ctl_notify, ctl_web;

/* ctl_exit - close the session, free the config, exit with CODE */
void ctl_exit(struct ctl *c, int code) __attribute__((noreturn));
/* ctl_die - print "beaconctl: error: ..." and ctl_exit(CODE) */
void ctl_die(struct ctl *c, int code, const char *fmt, ...)
	CTL_PRINTF(3, 4) __attribute__((noreturn));
/* ctl_usage_error - print "beaconctl: CMD: ...", the command's usage (from the
 * command table in main.c, the one place it is written), exit EX_USAGE */
void ctl_usage_error(struct ctl *c, const char *fmt, ...)
	CTL_PRINTF(2, 3) __attribute__((noreturn));

/* ctl_connect - open the session (UTF8, ISO dates, viewer's time zone); exits on failure */
PGconn *ctl_connect(struct ctl *c);
/* ctl_pg_code - the exit code for a failed RES (or a broken session) */
int ctl_pg_code(PGconn *conn, const PGresult *res);
/* ctl_pg_die - report a failed RES with its detail and hint, clear it, exit */
void ctl_pg_die(struct ctl *c, PGresult *res, const char *what) __attribute__((noreturn));
/* ctl_exec - PQexecParams (text in, text out); exits unless it succeeds */
PGresult *ctl_exec(struct ctl *c, const char *what, const char *sql, int n,
		   const char *const *params);
/* ctl_print_result - print RES (rows) as a table in FMT on stdout and clear it;
 * the exit code: 0, or EX_IOERR on a write error (out of memory exits) */
int ctl_print_result(struct ctl *c, PGresult *res, enum out_format fmt);
/* ctl_cmd - run a statement that returns no rows; exits on failure */
void ctl_cmd(struct ctl *c, const char *what, const char *sql, int n,
	     const char *const *params);
/* ctl_rollback - roll back an open transaction, ignoring errors */
void ctl_rollback(struct ctl *c);
/* ctl_viewer_tz - the viewer's time zone name from $TZ, or NULL */
const char *ctl_viewer_tz(void);

/* ctl_option_error - the usage error for what getopt_long returned (CH '?' or ':') */
void ctl_option_error(struct ctl *c, int ch, char **argv) __attribute__((noreturn));

/* ctl_parse_long - strict decimal in [MIN, MAX]; -1 if S is not one */
int ctl_parse_long(const char *s, long min, long max, long *out);

/* what purge_before() counts, in its order */
enum { PURGE_MESSAGES, PURGE_RECIPIENTS, PURGE_LINKS, PURGE_ATTACHMENTS, PURGE_EVENTS,
       PURGE_TOMB /* tokens tombstoned */, PURGE_INBOUND /* inbound leads */, PURGE_NCOUNTS };
/* purge_before - beacon.purge_before(CUTOFF) in the open transaction; counts into N */
void purge_before(struct ctl *c, const char *cutoff, long long n[PURGE_NCOUNTS]);
/* purge_sweep - after a commit that tombstoned tokens at SINCE: wait out the event
 * writes in flight, delete what they brought for those tokens; how many */
long long purge_sweep(struct ctl *c, const char *since);

/* ctl_pattern_norm - PATTERN ('user@domain' or '@domain') in its one form into OUT
 * (address.h); NULL, or why it has none */
const char *ctl_pattern_norm(const char *pattern, char *out, size_t outlen);


#endif
