/*
 * NAME
 *	main.c - beaconctl, the Beacon administration command
 *
 * SYNOPSIS
 *	beaconctl [-c FILE] [-d] [-n] COMMAND [ARGS...]
 *
 * DESCRIPTION
 *	Reads beacon.conf(5) (beacon_start(): -c, -d, -n, -h, -V), then runs
 *	one command from the table below; each command lives in its own
 *	file (migrate.c, report.c, ...).  The command's return value, or the
 *	code given to ctl_exit(), is the exit status (sysexits(3)).
 *
 * SEE ALSO
 *	beaconctl(8)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"

/* ctl_command - one entry of the command table */
struct ctl_command {
	const char *name;	/* first argument after the options */
	ctl_cmd_fn *fn;		/* what runs it */
};

static const struct ctl_command ctl_commands[] = {
	{ "init", ctl_init },
	{ "migrate", ctl_migrate },
	{ "report", ctl_report },
	{ "history", ctl_history },
	{ "watch", ctl_watch },
	{ "export", ctl_export },
	{ "purge", ctl_purge },
	{ "suppress", ctl_suppress },
	{ "token", ctl_token },
	{ "maintain", ctl_maintain },
};

#define CTL_USAGE \
	"[-c FILE] [-d] [-n] COMMAND [ARGS...]\n" \
	"commands:\n" \
	"  init                      create the schema (same as migrate)\n" \
	"  migrate [--status]        apply pending sql/schema migrations\n" \
	"  report [NAME [-v VAR=VALUE]... [--csv|--json]]\n" \
	"                            run sql/reports/NAME.sql; no NAME lists them\n" \
	"  history ADDRESS|MESSAGE-ID [--csv|--json]\n" \
	"                            events of a recipient or a message, newest first\n" \
	"  watch [--sender ADDRESS] [--count N] [--timeout SECONDS] [--json]\n" \
	"                            print events as they happen\n" \
	"  export --format csv|hubspot|salesforce [--since WHEN] [--class LIST]\n" \
	"         [--output FILE] [--purge]\n" \
	"                            events as CSV for a CRM; --purge deletes them\n" \
	"  purge --older-than DAYS [--dry-run]\n" \
	"                            delete old messages and events\n" \
	"  suppress add|del ADDRESS|@DOMAIN [--reason TEXT]\n" \
	"  suppress list [ADDRESS|@DOMAIN] [--csv|--json]\n" \
	"                            the addresses and domains never tracked\n" \
	"  token inspect TOKEN       decode and verify a token, show its rows\n" \
	"  maintain [--months-ahead N]\n" \
	"                            create event partitions, apply retention_days"

static struct ctl ctl_state;	/* the one run */

/* ctl_exit - close the session, free the config, exit */
void ctl_exit(struct ctl *c, int code)
{
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	cfg_free(&c->cfg);
	if (fflush(stdout) != 0 && code == 0) {
		fprintf(stderr, "beaconctl: error: writing standard output: %s\n",
			strerror(errno));
		code = EX_IOERR;
	}
	exit(code);
}

/* ctl_die - one error line, then exit */
void ctl_die(struct ctl *c, int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("beaconctl: error: ", stderr);
	if (c->cmd)
		fprintf(stderr, "%s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_exit(c, code);
}

/* ctl_usage - a usage error: what was wrong, then the command's usage */
void ctl_usage(struct ctl *c, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "beaconctl: %s: ", c->cmd ? c->cmd : "usage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: beaconctl [-c FILE] %s\n", usage);
	ctl_exit(c, EX_USAGE);
}

/* ctl_bad_option - explain an option getopt_long refused (optstring starts with ':') */
void ctl_bad_option(struct ctl *c, const char *usage, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		ctl_usage(c, usage, "option '%s' needs a value", arg);
	if (optopt && arg[0] == '-' && arg[1] != '-')
		ctl_usage(c, usage, "unknown option '-%c'", optopt);
	ctl_usage(c, usage, "unknown option '%s'", arg);
}

/* ctl_parse_long - strict decimal in [MIN, MAX] */
int ctl_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == ' ' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* main - options, config, then the command */
int main(int argc, char **argv)
{
	struct ctl *c = &ctl_state;
	const char *name;

	beacon_start(argc, argv, "beaconctl", CTL_USAGE, 0, &c->opts, &c->cfg);
	if (c->opts.optind >= argc) {
		fprintf(stderr, "beaconctl: no command given\nusage: beaconctl %s\n", CTL_USAGE);
		ctl_exit(c, EX_USAGE);
	}
	name = argv[c->opts.optind];
	if (strcmp(name, "help") == 0) {
		printf("usage: beaconctl %s\n", CTL_USAGE);
		ctl_exit(c, 0);
	}
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (strcmp(ctl_commands[i].name, name) == 0) {
			c->cmd = name;
			ctl_exit(c, ctl_commands[i].fn(c, argc - c->opts.optind,
						       argv + c->opts.optind));
		}
	}
	fprintf(stderr, "beaconctl: unknown command '%s'\nusage: beaconctl %s\n", name, CTL_USAGE);
	ctl_exit(c, EX_USAGE);
}
