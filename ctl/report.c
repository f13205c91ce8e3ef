/*
 * NAME
 *	report.c - beaconctl report: run one of sql/reports/NAME.sql
 *
 * SYNOPSIS
 *	beaconctl report
 *	beaconctl report NAME [-v VAR=VALUE]... [--csv | --json]
 *
 * DESCRIPTION
 *	The report files are psql scripts: their variables (:'since',
 *	\if :{?var} \set ...) are psql's, so psql runs them, exactly as a
 *	user would with psql -v.  beaconctl first opens its own session (so
 *	a bad config or an unreachable database fails here, with the usual
 *	message and exit code), then hands psql that session's parameters
 *	through the environment (PQconninfo(): every parameter with its
 *	PG* variable, the password included, never on a command line),
 *	and runs
 *
 *	    psql -X -q -v ON_ERROR_STOP=1 --csv -P null=<mark> -v VAR=VALUE...
 *	         -f <sqldir>/reports/NAME.sql
 *
 *	by execvp() with an argument vector, never through a shell.  psql's
 *	CSV is read back and printed as an aligned table (default), CSV or
 *	JSON, the same way as every other beaconctl table.  Variable names
 *	are lower case ([a-z_][a-z0-9_]*), so psql's own upper-case
 *	variables (ON_ERROR_STOP, ECHO...) cannot be overridden; tz defaults
 *	to the viewer's time zone.  $BEACON_PSQL names another psql.
 *
 *	Without NAME the available reports are listed with the first line
 *	of their header comment.
 *
 *	psql's exit status maps to: 1 EX_SOFTWARE, 2 EX_UNAVAILABLE (lost
 *	the database), 3 EX_DATAERR (the script failed, e.g. a variable
 *	that is not a valid date); psql's own message is on stderr.
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
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "output.h"

#define REPORT_USAGE "report [NAME [-v VAR=VALUE]... [--csv|--json]]"
#define REPORT_MAX_VARS 64
/* how psql marks NULL in its CSV: no stored text holds these controls */
#define REPORT_NULL_MARK "\x1f" "NULL" "\x1e"

/* report_env - one variable to set in psql's environment */
struct report_env {
	char *name;	/* PGHOST, ... */
	char *value;	/* NULL: unset it */
};

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

/* report_env_free - free (and wipe, for the password) the list */
static void report_env_free(struct report_env *env)
{
	if (!env)
		return;
	for (struct report_env *e = env; e->name; e++) {
		if (e->value) {
			memset(e->value, 0, strlen(e->value));
			free(e->value);
		}
		free(e->name);
	}
	free(env);
}

/* report_env_from - psql's environment: our session's parameters */
static struct report_env *report_env_from(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	struct report_env *env;
	size_t n = 0;

	if (!opts)
		return NULL;
	for (o = opts; o->keyword; o++)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env) {
		PQconninfoFree(opts);
		return NULL;
	}
	n = 0;
	for (o = opts; o->keyword; o++) {
		if (!o->envvar)
			continue;
		env[n].name = strdup(o->envvar);
		env[n].value = o->val ? strdup(o->val) : NULL;
		if (!env[n].name || (o->val && !env[n].value)) {
			free(env[n].name);
			env[n].name = NULL;
			report_env_free(env);
			env = NULL;
			break;
		}
		n++;
	}
	for (o = opts; o->keyword; o++)
		if (o->val && strcmp(o->keyword, "password") == 0)
			memset(o->val, 0, strlen(o->val));
	PQconninfoFree(opts);
	return env;
}

/* report_child - in the child: environment, stdout to FD, exec psql */
static void report_child(const struct report_env *env, int fd, char **argv)
{
	const char *tz = ctl_viewer_tz();

	for (const struct report_env *e = env; e->name; e++) {
		if (e->value)
			setenv(e->name, e->value, 1);
		else
			unsetenv(e->name);
	}
	setenv("PGAPPNAME", "beaconctl report", 1);
	setenv("PGCLIENTENCODING", "UTF8", 1);
	unsetenv("PSQLRC");
	if (tz)
		setenv("PGTZ", tz, 1);
	if (dup2(fd, STDOUT_FILENO) < 0)
		_exit(126);
	close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, "beaconctl: error: report: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* report_slurp - read FD to its end into a NUL-terminated buffer */
static char *report_slurp(int fd)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t n;

	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* report_run - psql the file, print its result; an exit code */
static int report_run(struct ctl *c, const char *file, char **vars, int nvars,
		      enum out_format fmt)
{
	const char *psql = getenv("BEACON_PSQL");
	char *argv[16 + 2 * REPORT_MAX_VARS], tzvar[256], *text;
	struct report_env *env;
	struct out_table t;
	const char *err, *tz = ctl_viewer_tz();
	int pfd[2], status, n = 0, has_tz = 0, rc;
	pid_t pid;

	ctl_connect(c);
	env = report_env_from(c->conn);
	if (!env)
		ctl_die(c, EX_OSERR, "out of memory");
	PQfinish(c->conn);
	c->conn = NULL;

	argv[n++] = (char *)(psql && *psql ? psql : "psql");
	argv[n++] = "-X";
	argv[n++] = "-q";
	argv[n++] = "--csv";
	argv[n++] = "-P";
	argv[n++] = "pager=off";
	argv[n++] = "-P";
	argv[n++] = "null=" REPORT_NULL_MARK;
	for (int i = 0; i < nvars; i++) {
		argv[n++] = "-v";
		argv[n++] = vars[i];
		has_tz |= strncmp(vars[i], "tz=", 3) == 0;
	}
	if (!has_tz && tz && (size_t)snprintf(tzvar, sizeof(tzvar), "tz=%s", tz) < sizeof(tzvar)) {
		argv[n++] = "-v";
		argv[n++] = tzvar;
	}
	argv[n++] = "-v";
	argv[n++] = "ON_ERROR_STOP=1";
	argv[n++] = "-f";
	argv[n++] = (char *)file;
	argv[n] = NULL;

	fflush(stdout);
	if (pipe(pfd) < 0) {
		report_env_free(env);
		ctl_die(c, EX_OSERR, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		report_env_free(env);
		ctl_die(c, EX_OSERR, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		report_child(env, pfd[1], argv);
	}
	report_env_free(env);
	close(pfd[1]);
	text = report_slurp(pfd[0]);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(text);
		if (!WIFEXITED(status))
			ctl_die(c, EX_SOFTWARE, "psql died of signal %d", WTERMSIG(status));
		switch (WEXITSTATUS(status)) {
		case 2: ctl_die(c, EX_UNAVAILABLE, "psql lost the database session");
		case 3: ctl_die(c, EX_DATAERR, "%s failed (psql's message above)", file);
		case 126: case 127: ctl_exit(c, EX_UNAVAILABLE);
		default: ctl_die(c, EX_SOFTWARE, "psql failed (exit %d)", WEXITSTATUS(status));
		}
	}
	if (!text)
		ctl_die(c, EX_OSERR, "reading psql's output: %s", strerror(errno));
	if (out_from_csv(&t, text, REPORT_NULL_MARK, &err) < 0) {
		free(text);
		ctl_die(c, EX_SOFTWARE, "%s: psql's output: %s", file, err);
	}
	rc = out_print(stdout, &t, fmt) < 0 ? EX_IOERR : 0;
	out_free(&t);
	free(text);
	return rc;
}

/* ctl_report - list the reports, or run one */
int ctl_report(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "var", required_argument, NULL, 'v' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	char *vars[REPORT_MAX_VARS], sqldir[PATH_MAX], dir[PATH_MAX + 16], file[PATH_MAX * 2];
	enum out_format fmt = OUT_TABLE;
	int nvars = 0, ch, nfmt = 0;
	const char *name;
	struct stat st;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":v:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			if (!report_var_ok(optarg))
				ctl_usage(c, REPORT_USAGE, "'%s': expected VAR=VALUE, VAR in "
					  "lower-case letters, digits and _", optarg);
			if (nvars == REPORT_MAX_VARS)
				ctl_usage(c, REPORT_USAGE, "more than %d variables", REPORT_MAX_VARS);
			vars[nvars++] = optarg;
			break;
		case 'C': fmt = OUT_CSV; nfmt++; break;
		case 'J': fmt = OUT_JSON; nfmt++; break;
		default: ctl_bad_option(c, REPORT_USAGE, ch, argv);
		}
	}
	if (nfmt > 1)
		ctl_usage(c, REPORT_USAGE, "--csv and --json exclude each other");
	if (argc - optind > 1)
		ctl_usage(c, REPORT_USAGE, "unexpected argument '%s'", argv[optind + 1]);
	if (!ctl_sql_dir(sqldir, sizeof(sqldir)))
		ctl_die(c, EX_NOINPUT, "no SQL directory: set BEACON_SQLDIR (looked beside "
			"the binary and in %s/sql)", BEACON_DATADIR);
	snprintf(dir, sizeof(dir), "%s/reports", sqldir);
	if (optind == argc) {
		if (nvars || nfmt)
			ctl_usage(c, REPORT_USAGE, "no report NAME given");
		return report_list(c, dir);
	}
	name = argv[optind];
	if (!report_name_ok(name))
		ctl_usage(c, REPORT_USAGE, "'%s' is not a report name (lower-case letters, "
			  "digits, _ and -)", name);
	snprintf(file, sizeof(file), "%s/%s.sql", dir, name);
	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
		ctl_usage(c, REPORT_USAGE, "no report '%s' in %s (beaconctl report lists them)",
			  name, dir);
	return report_run(c, file, vars, nvars, fmt);
}
