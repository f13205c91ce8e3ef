/*
 * NAME
 *	report.c - beaconctl report: run one of sql/reports/NAME.sql
 *
 * SYNOPSIS
 *	beaconctl report
 *	beaconctl report NAME [-v VAR=VALUE]... [--csv | --json]
 *	beaconctl report inbound [--period day|week|month] [--latest N] [-v ...]
 *
 * DESCRIPTION
 *	The report files are psql scripts (beacon-reports(7)): psql -v
 *	VAR=VALUE -f FILE runs them.  beaconctl runs them itself, through
 *	libpq and without psql: lib/psqlscript.c reads the file as psql would
 *	(its \ir _defaults.psql gives the shared variables their defaults)
 *	with the -v variables set, into one statement whose variables are
 *	parameters $1..$n, never SQL text.  The statement runs in
 *	beaconctl's own session (PQexecParams) and its result is printed
 *	with the column types the server gives (output.h): an aligned table
 *	(default), CSV as psql --csv prints it (but text cells a spreadsheet
 *	would evaluate get a leading '), or JSON in which only
 *	numeric columns are numbers.  Variable names are lower case
 *	([a-z_][a-z0-9_]*); tz defaults to the viewer's time zone.
 *
 *	report inbound takes two options of its own: --period P is -v
 *	period=P (the volumes per day, week or month), and --latest N runs
 *	inbound_latest.sql instead with -v latest=N (the N newest leads of
 *	each point of sale).
 *
 *	Without NAME the available reports are listed with the first line
 *	of their header comment.
 *
 *	A file beaconctl cannot run as psql would (a psql command it does
 *	not run, more than one statement, an unset :'var') exits EX_DATAERR
 *	naming the file and line; a statement that fails exits by its
 *	SQLSTATE (ctl_pg_code(): a date that does not parse is EX_DATAERR).
 *
 *	Reports only read: they run on [database] read_conninfo's replica
 *	while it may be read (ctl_connect_read()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "ctl.h"
#include "sqldir.h"
#include "output.h"
#include "psqlscript.h"

#define REPORT_MAX_VARS 64

/* report_name_ok - lower-case letters, digits, '_' and '-' only */
static int report_name_ok(const char *s)
{
	return *s && s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-")] == '\0';
}

/* report_var_ok - VAR=VALUE with VAR in [a-z_][a-z0-9_]* */
static int report_var_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && s[n] == '=' && !(s[0] >= '0' && s[0] <= '9');
}

/* report_describe - the " - what" of the "NAME.sql - what" header line */
static void report_describe(FILE *out, const char *path, const char *file)
{
	char line[512], *p;
	FILE *fp = fopen(path, "r");
	int n = 0;

	if (!fp)
		return;
	while (n++ < 20 && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		p = strstr(line, file);
		if (p && strncmp(p + strlen(file), " - ", 3) == 0) {
			fprintf(out, "  %s", p + strlen(file) + 3);
			break;
		}
	}
	fclose(fp);
}

/* report_name_cmp - qsort by name */
static int report_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* report_list - print every report name with its description */
static int report_list(struct ctl *c, const char *dir)
{
	char path[PATH_MAX * 2];
	char **names = NULL;
	size_t n = 0, width = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		ctl_die(c, EX_NOINPUT, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn;
		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0 || de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (nn)
			names = nn;
		if (!nn || !(names[n] = strndup(de->d_name, len - 4))) {
			while (n > 0)
				free(names[--n]);
			free(names);
			closedir(d);
			ctl_die(c, EX_OSERR, "out of memory");
		}
		if (len - 4 > width)
			width = len - 4;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), report_name_cmp);
	for (size_t i = 0; i < n; i++) {
		printf("%-*s", (int)width, names[i]);
		snprintf(path, sizeof(path), "%s/%s.sql", dir, names[i]);
		char file[NAME_MAX + 1];
		snprintf(file, sizeof(file), "%s.sql", names[i]);
		report_describe(stdout, path, file);
		putchar('\n');
		free(names[i]);
	}
	free(names);
	return 0;
}

/* report_vars - the -v variables, then tz (the viewer's zone) unless given */
static int report_vars(struct psqlscript *s, char **vars, int nvars)
{
	const char *tz = ctl_viewer_tz();

	for (int i = 0; i < nvars; i++) {
		char *eq = strchr(vars[i], '=');
		int rc;
		*eq = '\0';
		rc = psqlscript_set(s, vars[i], eq + 1);
		*eq = '=';
		if (rc < 0)
			return -1;
	}
	if (tz && !psqlscript_get(s, "tz") && psqlscript_set(s, "tz", tz) < 0)
		return -1;
	return 0;
}

/* report_run - read FILE with VARS, run its statement, print the result; an exit code */
static int report_run(struct ctl *c, const char *name, const char *file, char **vars,
		      int nvars, enum out_format fmt)
{
	struct psqlscript s;
	char what[64], err[sizeof(s.err)];
	PGresult *res;

	psqlscript_init(&s);
	if (report_vars(&s, vars, nvars) < 0) {
		psqlscript_free(&s);
		ctl_die(c, EX_OSERR, "out of memory");
	}
	if (psqlscript_read(&s, file) < 0) {
		memcpy(err, s.err, sizeof(err));
		psqlscript_free(&s);
		ctl_die(c, EX_DATAERR, "%s", err);
	}
	ctl_connect_read(c);
	res = PQexecParams(c->conn, s.sql, s.nparams, NULL, s.params, NULL, NULL, 0);
	psqlscript_free(&s);
	snprintf(what, sizeof(what), "report %s", name);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		/* not a query: nothing to print, as psql prints nothing */
		PQclear(res);
		return 0;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		ctl_pg_die(c, res, what);
	return ctl_print_result(c, res, fmt);
}

/* ctl_report - list the reports, or run one */
int ctl_report(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "var", required_argument, NULL, 'v' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "period", required_argument, NULL, 'P' },
		{ "latest", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	char *vars[REPORT_MAX_VARS + 1], sqldir[PATH_MAX], dir[PATH_MAX + 16], file[PATH_MAX * 2];
	enum out_format fmt = OUT_TABLE;
	int nvars = 0, ch, nfmt = 0;
	const char *name, *period = NULL, *latest = NULL;
	char inbound_var[64];
	struct stat st;
	long v;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":v:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			if (!report_var_ok(optarg))
				ctl_usage_error(c, "'%s': expected VAR=VALUE, VAR in "
					  "lower-case letters, digits and _", optarg);
			if (nvars == REPORT_MAX_VARS)
				ctl_usage_error(c, "more than %d variables", REPORT_MAX_VARS);
			vars[nvars++] = optarg;
			break;
		case 'C': fmt = OUT_CSV; nfmt++; break;
		case 'J': fmt = OUT_JSON; nfmt++; break;
		case 'P': period = optarg; break;
		case 'L': latest = optarg; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");
	if (argc - optind > 1)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	if (!beacon_sql_dir(sqldir, sizeof(sqldir)))
		ctl_die(c, EX_NOINPUT, "no SQL directory: set BEACON_SQLDIR (looked beside "
			"the binary and in %s/sql)", BEACON_DATADIR);
	snprintf(dir, sizeof(dir), "%s/reports", sqldir);
	if (optind == argc) {
		if (nvars || nfmt)
			ctl_usage_error(c, "no report NAME given");
		return report_list(c, dir);
	}
	name = argv[optind];
	if ((period || latest) && strcmp(name, "inbound") != 0)
		ctl_usage_error(c, "--period and --latest go with report inbound");
	if (period && latest)
		ctl_usage_error(c, "--period and --latest exclude each other (--latest lists "
				"leads, not periods)");
	if (period) {
		if (strcmp(period, "day") != 0 && strcmp(period, "week") != 0 &&
		    strcmp(period, "month") != 0)
			ctl_usage_error(c, "--period '%s': expected day, week or month", period);
		snprintf(inbound_var, sizeof(inbound_var), "period=%s", period);
		vars[nvars++] = inbound_var;
	}
	if (latest) {
		if (ctl_parse_long(latest, 1, 100000, &v) < 0)
			ctl_usage_error(c, "--latest '%s': expected a count, 1 to 100000", latest);
		snprintf(inbound_var, sizeof(inbound_var), "latest=%ld", v);
		vars[nvars++] = inbound_var;
		name = "inbound_latest";
	}
	if (!report_name_ok(name))
		ctl_usage_error(c, "'%s' is not a report name (lower-case letters, "
			  "digits, _ and -)", name);
	snprintf(file, sizeof(file), "%s/%s.sql", dir, name);
	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
		ctl_usage_error(c, "no report '%s' in %s (beaconctl report lists them)",
			  name, dir);
	return report_run(c, name, file, vars, nvars, fmt);
}
