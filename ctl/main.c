/*
 * NAME
 *	main.c - beaconctl, the Beacon administration command
 *
 * SYNOPSIS
 *	beaconctl [-c FILE] [-d] [-n] COMMAND [ARGS...]
 *
 * DESCRIPTION
 *	Reads beacon.conf(5) (beacon_init(): -c, -d, -n, -h, -V), then runs
 *	one command from the table below; each command lives in its own
 *	file (migrate.c, report.c, ...).  The command's return value, or the
 *	code given to ctl_exit(), is the exit status (sysexits(3)).
 *
 *	The table is the one place a command's usage is written: -h and
 *	"beaconctl help" list it, "beaconctl help COMMAND" and "beaconctl
 *	COMMAND --help" (or -h, anywhere before a "--") print it and exit 0
 *	before the command runs, and ctl_usage_error() prints it after a
 *	usage error (exit 64).
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

/* ctl_command - one entry of the command table, the one place a command's usage is written */
struct ctl_command {
	const char *name;	/* first argument after the options */
	ctl_cmd_fn *fn;		/* what runs it */
	const char *usage;	/* its forms, one a line; a line not starting
				 * with NAME continues the form above it */
	const char *about;	/* what it does, one line */
};

static ctl_cmd_fn ctl_help;

static const struct ctl_command ctl_commands[] = {
	{ "init", ctl_init, "init", "create the schema (same as migrate)" },
	{ "migrate", ctl_migrate, "migrate [--status]", "apply pending sql/schema migrations" },
	{ "report", ctl_report, "report [NAME [-v VAR=VALUE]... [--csv|--json]]\n"
	  "report inbound [--period day|week|month] [--latest N] [-v VAR=VALUE]...\n"
	  "[--csv|--json]",
	  "run sql/reports/NAME.sql; no NAME lists them" },
	{ "history", ctl_history, "history ADDRESS|MESSAGE-ID [--csv|--json]",
	  "events of a recipient or a message, newest first" },
	{ "watch", ctl_watch,
	  "watch [--sender ADDRESS|@DOMAIN] [--count N] [--timeout SECONDS] [--json]",
	  "print events as they happen" },
	{ "export", ctl_export,
	  "export --format csv|hubspot|salesforce [--since WHEN] [--class LIST]\n"
	  "[--output FILE [--force]] [--purge]",
	  "events as CSV for a CRM; --purge deletes them" },
	{ "purge", ctl_purge, "purge --older-than DAYS [--dry-run]",
	  "delete old messages and events" },
	{ "forget", ctl_forget, "forget ADDRESS [--suppress]",
	  "remove one recipient address from every table" },
	{ "suppress", ctl_suppress,
	  "suppress add|del ADDRESS|@DOMAIN [--sender SENDER] [--reason TEXT]\n"
	  "suppress list [ADDRESS|@DOMAIN] [--sender SENDER] [--csv|--json]",
	  "the addresses and domains never tracked" },
	{ "inbound", ctl_inbound,
	  "inbound add ADDRESS POINT_OF_SALE [--owner OWNER]\n"
	  "inbound remove ADDRESS\n"
	  "inbound disable|enable ADDRESS\n"
	  "inbound list [--csv|--json]\n"
	  "inbound import FILE.csv\n"
	  "inbound source list [--csv|--json]\n"
	  "inbound source remove ID\n"
	  "inbound source test domain|from|reply_to|list_id VALUE...\n"
	  "inbound source add domain|from|reply_to|list_id PATTERN SOURCE [--priority N]",
	  "tracked inbound addresses and the rules naming a lead's source" },
	{ "notify", ctl_notify,
	  "notify add SENDER|@DOMAIN KIND [URL] [--secret HEX | --secret-file FILE|-]\n"
	  "           [--only-tagged] [--allow-http]\n"
	  "notify list [SENDER|@DOMAIN] [--csv|--json]\n"
	  "notify remove|enable|disable ID\n"
	  "notify mute|unmute|pin|unpin MESSAGE [--sender SENDER|@DOMAIN]\n"
	  "notify list-messages [--sender SENDER|@DOMAIN] [--limit N] [--csv|--json]\n"
	  "notify log [--message MESSAGE] [--limit N] [--csv|--json]",
	  "where senders' notifications go; mute, pin" },
	{ "web", ctl_web,
	  "web user add NAME [--admin] [--scope S]... [--password-file FILE|-]\n"
	  "web user passwd NAME [--password-file FILE|-]\n"
	  "web user list [--csv|--json]\n"
	  "web user remove|disable|enable|unlock NAME\n"
	  "web token add NAME --name LABEL [--expires DAYS]\n"
	  "web token list [NAME] [--csv|--json]\n"
	  "web token revoke ID-PREFIX",
	  "beacon-web's sender accounts and API tokens" },
	{ "token", ctl_token, "token inspect TOKEN", "decode and verify a token, show its rows" },
	{ "reclassify", ctl_reclassify, "reclassify [--since DATE] [--message ID] [--dry-run]",
	  "run the event class rules again over stored events" },
	{ "maintain", ctl_maintain, "maintain [--months-ahead N] [--batch N]",
	  "create event partitions, apply retention_days" },
	{ "help", ctl_help, "help [COMMAND]", "the commands, or one command's usage" },
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))
#define CTL_SYNOPSIS "[-c FILE] [-d] [-n] COMMAND [ARGS...]"
#define CTL_CMD_PREFIX "beaconctl [-c FILE] "	/* before a command's usage */
#define CTL_ABOUT_COLUMN 28			/* where the list's descriptions start */

static struct ctl ctl_state;	/* the one run */
static char *ctl_overview;	/* CTL_SYNOPSIS and the command list, for -h */

/* ctl_find - the table entry of command NAME, or NULL */
static const struct ctl_command *ctl_find(const char *name)
{
	for (size_t i = 0; name && i < CTL_NCOMMANDS; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

/* ctl_form_starts - does usage line LINE (of LEN bytes) start a form of CMD? */
static int ctl_form_starts(const struct ctl_command *cmd, const char *line, size_t len)
{
	size_t n = strlen(cmd->name);

	return len >= n && strncmp(line, cmd->name, n) == 0 && (len == n || line[n] == ' ');
}

/* ctl_print_usage - "usage: beaconctl [-c FILE] FORM" for each form of CMD */
static void ctl_print_usage(FILE *fp, const struct ctl_command *cmd)
{
	const char *line = cmd->usage;
	int first = 1;

	while (*line) {
		size_t len = strcspn(line, "\n");
		if (ctl_form_starts(cmd, line, len))
			fprintf(fp, "%s %s", first ? "usage:" : "      ", CTL_CMD_PREFIX);
		else
			fprintf(fp, "%*s", (int)(sizeof("usage: " CTL_CMD_PREFIX) - 1 +
						 strlen(cmd->name) + 1), "");
		fprintf(fp, "%.*s\n", (int)len, line);
		first = 0;
		line += len + (line[len] == '\n');
	}
}

/* ctl_print_commands - every command's forms and what it does, one block each */
static void ctl_print_commands(FILE *fp)
{
	for (size_t i = 0; i < CTL_NCOMMANDS; i++) {
		const struct ctl_command *cmd = &ctl_commands[i];
		const char *line = cmd->usage;
		int col = 0;

		while (*line) {
			size_t len = strcspn(line, "\n");
			int indent = ctl_form_starts(cmd, line, len) ? 2 :
				     3 + (int)strlen(cmd->name);
			if (col)
				fputc('\n', fp);
			fprintf(fp, "%*s%.*s", indent, "", (int)len, line);
			col = indent + (int)len;
			line += len + (line[len] == '\n');
		}
		if (col < CTL_ABOUT_COLUMN - 1)
			fprintf(fp, "%*s%s\n", CTL_ABOUT_COLUMN - col, "", cmd->about);
		else
			fprintf(fp, "\n%*s%s\n", CTL_ABOUT_COLUMN, "", cmd->about);
	}
}

/* ctl_make_overview - CTL_SYNOPSIS and the command list (beacon_init() prints
 * it after "usage: beaconctl ") */
static const char *ctl_make_overview(void)
{
	size_t len;
	FILE *fp = open_memstream(&ctl_overview, &len);

	if (!fp)
		return CTL_SYNOPSIS;
	fputs(CTL_SYNOPSIS "\ncommands:\n", fp);
	ctl_print_commands(fp);
	fputs("'beaconctl help COMMAND' or 'beaconctl COMMAND --help' shows one "
	      "command's usage", fp);
	if (fclose(fp) != 0) {
		free(ctl_overview);
		ctl_overview = NULL;
		return CTL_SYNOPSIS;
	}
	return ctl_overview;
}

/* ctl_exit - close the session, free the config, exit */
void ctl_exit(struct ctl *c, int code)
{
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	cfg_free(&c->cfg);
	free(ctl_overview);
	ctl_overview = NULL;
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

/* ctl_usage_error - a usage error: what was wrong, then the command's usage */
void ctl_usage_error(struct ctl *c, const char *fmt, ...)
{
	const struct ctl_command *cmd = ctl_find(c->cmd);
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "beaconctl: %s: ", c->cmd ? c->cmd : "usage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		ctl_print_usage(stderr, cmd);
	else
		fprintf(stderr, "usage: beaconctl %s\n",
			ctl_overview ? ctl_overview : CTL_SYNOPSIS);
	ctl_exit(c, EX_USAGE);
}

/* ctl_option_error - explain an option getopt_long refused (optstring starts with ':') */
void ctl_option_error(struct ctl *c, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		ctl_usage_error(c, "option '%s' needs a value", arg);
	if (optopt && arg[0] == '-' && arg[1] != '-')
		ctl_usage_error(c, "unknown option '-%c'", optopt);
	ctl_usage_error(c, "unknown option '%s'", arg);
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

/* ctl_print_help - a command's usage and what it does, on standard output */
static int ctl_print_help(const struct ctl_command *cmd)
{
	ctl_print_usage(stdout, cmd);
	printf("  %s\nsee beaconctl(8)\n", cmd->about);
	return 0;
}

/* ctl_help - beaconctl help [COMMAND] */
static int ctl_help(struct ctl *c, int argc, char **argv)
{
	const struct ctl_command *cmd;

	if (argc > 2)
		ctl_usage_error(c, "unexpected argument '%s'", argv[2]);
	if (argc < 2) {
		printf("usage: beaconctl %s\n", ctl_overview ? ctl_overview : CTL_SYNOPSIS);
		return 0;
	}
	if (!(cmd = ctl_find(argv[1]))) {
		fprintf(stderr, "beaconctl: help: unknown command '%s'\nusage: beaconctl %s\n",
			argv[1], ctl_overview ? ctl_overview : CTL_SYNOPSIS);
		ctl_exit(c, EX_USAGE);
	}
	return ctl_print_help(cmd);
}

/* ctl_wants_help - is -h the command's first argument, or --help any argument
 * before a "--"?  (A later -h may be an option's value: --reason -h.) */
static int ctl_wants_help(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-h") == 0)
		return 1;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* main - options, config, then the command */
int main(int argc, char **argv)
{
	struct ctl *c = &ctl_state;
	const struct ctl_command *cmd;
	const char *overview = ctl_make_overview();
	const struct beacon_prog prog = { "beaconctl", overview, 0, beacon_check_database };

	beacon_init(argc, argv, &prog, &c->opts, &c->cfg);
	argc -= c->opts.optind;
	argv += c->opts.optind;
	if (argc < 1) {
		fprintf(stderr, "beaconctl: no command given\nusage: beaconctl %s\n", overview);
		ctl_exit(c, EX_USAGE);
	}
	if (!(cmd = ctl_find(argv[0]))) {
		fprintf(stderr, "beaconctl: unknown command '%s'\nusage: beaconctl %s\n", argv[0],
			overview);
		ctl_exit(c, EX_USAGE);
	}
	c->cmd = cmd->name;
	if (ctl_wants_help(argc, argv))
		ctl_exit(c, ctl_print_help(cmd));
	ctl_exit(c, cmd->fn(c, argc, argv));
}
