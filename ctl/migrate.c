/*
 * NAME
 *	migrate.c - beaconctl init, beaconctl migrate
 *
 * SYNOPSIS
 *	beaconctl init
 *	beaconctl migrate [--status]
 *
 * DESCRIPTION
 *	The migrations are the files NNN_name.sql of <sqldir>/schema (see
 *	lib/sqldir.c); NNN, a decimal number, is the version.  A file holds
 *	plain SQL, no BEGIN/COMMIT and no psql commands, and does not record
 *	itself: the runner applies every file whose version is not in
 *	beacon.schema_migrations, in ascending order, each in its own
 *	transaction (statement_timeout off) together with the row (version,
 *	name) that records it.  The first migration creates that table.
 *
 *	A session advisory lock keeps two runners apart.  Running again
 *	applies nothing.  A database whose newest recorded version is newer
 *	than every file is refused (EX_DATAERR): the files are older than
 *	the schema and applying them could only go backwards.  A failing
 *	file is rolled back; the error names the file and its line.
 *
 *	init is migrate for a new database; both print what they applied.
 *	--status lists every version with its name and when it was applied.
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
#include <sysexits.h>

#include "ctl.h"
#include "sqldir.h"
#include "output.h"

/* advisory lock key of the migration runner ("beacon migrate") */
#define MIGRATE_LOCK "SELECT pg_advisory_lock(7290481923561001)"

/* migrate_file - one migration file */
struct migrate_file {
	long version;		/* NNN */
	char name[NAME_MAX + 1];	/* the part between NNN_ and .sql */
	char file[NAME_MAX + 1];	/* the file name */
	char *applied;		/* applied_at from the database, or NULL */
};

/* migrate_set - the files of schema/ */
struct migrate_set {
	struct migrate_file *v;		/* sorted by version */
	size_t n;		/* how many */
	char dir[PATH_MAX];	/* <sqldir>/schema */
};

static PGresult *migrate_keep;	/* schema_migrations rows; applied_at points into it */

/* migrate_cmp - order by version */
static int migrate_cmp(const void *a, const void *b)
{
	const struct migrate_file *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* migrate_parse_name - split "NNN_name.sql"; 0 if it is a migration file name */
static int migrate_parse_name(const char *file, long *version, char *name, size_t len)
{
	char num[32];
	size_t digits = strspn(file, "0123456789"), flen = strlen(file);

	if (digits == 0 || digits >= sizeof(num) || file[digits] != '_' || flen < digits + 6 ||
	    strcmp(file + flen - 4, ".sql") != 0 || flen - digits - 5 >= len)
		return -1;
	memcpy(num, file, digits);
	num[digits] = '\0';
	if (ctl_parse_long(num, 0, 999999999, version) < 0)
		return -1;
	memcpy(name, file + digits + 1, flen - digits - 5);
	name[flen - digits - 5] = '\0';
	return 0;
}

/* migrate_load - list and sort the migration files; exits if there are none */
static void migrate_load(struct ctl *c, struct migrate_set *s)
{
	char sqldir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	if (!beacon_sql_dir(sqldir, sizeof(sqldir)))
		ctl_die(c, EX_NOINPUT, "no SQL directory: set BEACON_SQLDIR (looked beside "
			"the binary and in %s/sql)", BEACON_DATADIR);
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/schema", sqldir) >= sizeof(s->dir))
		ctl_die(c, EX_NOINPUT, "%s: path too long", sqldir);
	log_debug("migrations from %s", s->dir);
	d = opendir(s->dir);
	if (!d)
		ctl_die(c, EX_NOINPUT, "%s: %s", s->dir, strerror(errno));
	while ((de = readdir(d))) {
		struct migrate_file m = { 0 };
		if (de->d_name[0] == '.' || strlen(de->d_name) < 5 ||
		    strcmp(de->d_name + strlen(de->d_name) - 4, ".sql") != 0)
			continue;
		if (migrate_parse_name(de->d_name, &m.version, m.name, sizeof(m.name)) < 0) {
			fprintf(stderr, "beaconctl: warning: %s/%s: not named NNN_name.sql; "
				"skipped\n", s->dir, de->d_name);
			continue;
		}
		snprintf(m.file, sizeof(m.file), "%s", de->d_name);
		struct migrate_file *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
		if (!nv) {
			closedir(d);
			ctl_die(c, EX_OSERR, "out of memory");
		}
		s->v = nv;
		s->v[s->n++] = m;
	}
	closedir(d);
	if (s->n == 0) {
		free(s->v);
		ctl_die(c, EX_NOINPUT, "%s: no migration files (NNN_name.sql)", s->dir);
	}
	qsort(s->v, s->n, sizeof(*s->v), migrate_cmp);
	for (size_t i = 1; i < s->n; i++) {
		if (s->v[i].version == s->v[i - 1].version) {
			fprintf(stderr, "beaconctl: error: %s: %s and %s have the same version\n",
				s->dir, s->v[i - 1].file, s->v[i].file);
			free(s->v);
			ctl_exit(c, EX_DATAERR);
		}
	}
}

/* migrate_read - the whole of PATH, NUL-terminated; NULL with errno */
static char *migrate_read(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!fp)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!nb) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

/* migrate_line - the line of SQL holding character POS (1-based, as the server counts) */
static long migrate_line(const char *sql, const char *pos)
{
	long chars, line = 1;
	const unsigned char *p = (const unsigned char *)sql;

	if (!pos || ctl_parse_long(pos, 1, LONG_MAX, &chars) < 0)
		return 0;
	for (; *p && chars > 1; p++) {
		if ((*p & 0xc0) != 0x80)
			chars--;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* migrate_fail - report the error of migration M (freeing SQL and RES) and exit */
static void migrate_fail(struct ctl *c, const struct migrate_set *s,
			 const struct migrate_file *m, char *sql, PGresult *res)
{
	const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	long line = res ? migrate_line(sql, pos) : 0;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	int code = ctl_pg_code(c->conn, res);

	free(sql);
	if (!msg)
		msg = PQerrorMessage(c->conn);
	fprintf(stderr, "beaconctl: error: %s/%s", s->dir, m->file);
	if (line)
		fprintf(stderr, ", line %ld", line);
	fprintf(stderr, ": %.*s\n", (int)strcspn(msg, "\n"), msg);
	if (detail)
		fprintf(stderr, "beaconctl:   detail: %s\n", detail);
	if (ctx)
		fprintf(stderr, "beaconctl:   context: %s\n", ctx);
	fprintf(stderr, "beaconctl: %s rolled back: nothing of it was applied\n", m->file);
	PQclear(res);
	/* a wrong file is bad data, unless the session itself is the trouble */
	ctl_exit(c, code == EX_UNAVAILABLE || code == EX_TEMPFAIL ? code : EX_DATAERR);
}

/* migrate_recorded - load applied_at per version (into migrate_keep); the newest
 * version, -1 if none */
static long migrate_recorded(struct ctl *c, struct migrate_set *s)
{
	PGresult *res;
	long newest = -1, v;
	int have;

	res = ctl_exec(c, "schema_migrations",
		       "SELECT to_regclass('beacon.schema_migrations') IS NOT NULL", 0, NULL);
	have = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!have)
		return -1;
	res = ctl_exec(c, "schema_migrations",
		       "SELECT version, name, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS') "
		       "FROM beacon.schema_migrations ORDER BY version", 0, NULL);
	for (int r = 0; r < PQntuples(res); r++) {
		if (ctl_parse_long(PQgetvalue(res, r, 0), LONG_MIN, LONG_MAX, &v) < 0)
			continue;
		newest = v;
		for (size_t i = 0; i < s->n; i++) {
			if (s->v[i].version != v)
				continue;
			s->v[i].applied = PQgetvalue(res, r, 2);
			if (strcmp(s->v[i].name, PQgetvalue(res, r, 1)) != 0)
				fprintf(stderr, "beaconctl: warning: version %ld was recorded as "
					"'%s', the file is %s\n", v, PQgetvalue(res, r, 1),
					s->v[i].file);
		}
	}
	migrate_keep = res;
	return newest;
}

/* migrate_status - one row per file: version, name, applied_at or pending */
static int migrate_status(const struct migrate_set *s)
{
	struct out_table t;
	char (*ver)[24] = calloc(s->n + 1, sizeof(*ver));
	const char *names[] = { "version", "name", "applied_at" };
	enum out_kind kinds[] = { OUT_NUMBER, OUT_STRING, OUT_STRING };
	const char **cells = calloc(s->n * 3 + 1, sizeof(*cells));

	if (!ver || !cells) {
		free(ver);
		free(cells);
		return EX_OSERR;
	}
	for (size_t i = 0; i < s->n; i++) {
		snprintf(ver[i], sizeof(ver[i]), "%ld", s->v[i].version);
		cells[i * 3] = ver[i];
		cells[i * 3 + 1] = s->v[i].name;
		cells[i * 3 + 2] = s->v[i].applied ? s->v[i].applied : "pending";
	}
	t.ncols = 3;
	t.nrows = (int)s->n;
	t.names = names;
	t.kinds = kinds;
	t.cells = cells;
	out_print(stdout, &t, OUT_TABLE);
	free(ver);
	free(cells);
	return 0;
}

/* migrate_apply - run migration M in its own transaction with its record */
static void migrate_apply(struct ctl *c, const struct migrate_set *s, const struct migrate_file *m)
{
	char path[PATH_MAX * 2], version[24];
	const char *params[2];
	char *sql;
	PGresult *res;
	ExecStatusType st;

	snprintf(path, sizeof(path), "%s/%s", s->dir, m->file);
	sql = migrate_read(path);
	if (!sql)
		ctl_die(c, EX_NOINPUT, "%s: %s", path, strerror(errno));
	ctl_cmd(c, "begin", "BEGIN", 0, NULL);
	ctl_cmd(c, "begin", "SET LOCAL statement_timeout = 0", 0, NULL);
	res = PQexec(c->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		migrate_fail(c, s, m, sql, res);
	PQclear(res);
	free(sql);
	res = ctl_exec(c, m->file, "SELECT to_regclass('beacon.schema_migrations') IS NOT NULL",
		       0, NULL);
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		ctl_die(c, EX_DATAERR, "%s: did not create beacon.schema_migrations; rolled back",
			m->file);
	}
	PQclear(res);
	snprintf(version, sizeof(version), "%ld", m->version);
	params[0] = version;
	params[1] = m->name;
	ctl_cmd(c, m->file, "INSERT INTO beacon.schema_migrations (version, name) "
		"VALUES ($1::int, $2)", 2, params);
	ctl_cmd(c, m->file, "COMMIT", 0, NULL);
	printf("applied %s\n", m->file);
	fflush(stdout);
}

/* migrate_run - init and migrate */
static int migrate_run(struct ctl *c, int argc, char **argv, int init)
{
	static const struct option longopts[] = {
		{ "status", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct migrate_set s;
	long newest, latest;
	int status = 0, ch, applied = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", init ? longopts + 1 : longopts, NULL)) != -1) {
		if (ch == 's')
			status = 1;
		else
			ctl_option_error(c, ch, argv);
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);

	migrate_load(c, &s);
	latest = s.v[s.n - 1].version;
	ctl_connect(c);
	ctl_cmd(c, "session setup", "SET client_min_messages = warning", 0, NULL);
	ctl_cmd(c, "migration lock", MIGRATE_LOCK, 0, NULL);
	newest = migrate_recorded(c, &s);
	if (status) {
		int rc = migrate_status(&s);
		PQclear(migrate_keep);
		free(s.v);
		return rc;
	}
	if (newest > latest) {
		fprintf(stderr, "beaconctl: error: %s: the database schema is at version %ld, "
			"newer than the newest migration in %s (%ld): refusing to go backwards\n",
			c->cmd, newest, s.dir, latest);
		PQclear(migrate_keep);
		free(s.v);
		return EX_DATAERR;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].applied)
			continue;
		if (s.v[i].version < newest)
			fprintf(stderr, "beaconctl: warning: %s is older than the database's "
				"version %ld; applying it now\n", s.v[i].file, newest);
		migrate_apply(c, &s, &s.v[i]);
		applied++;
	}
	if (applied)
		printf("schema at version %ld (%d migration%s applied)\n", latest, applied,
		       applied == 1 ? "" : "s");
	else
		printf("schema at version %ld, up to date\n", newest);
	PQclear(migrate_keep);
	free(s.v);
	return 0;
}

/* ctl_init - create the schema: every migration */
int ctl_init(struct ctl *c, int argc, char **argv)
{
	return migrate_run(c, argc, argv, 1);
}

/* ctl_migrate - apply pending migrations */
int ctl_migrate(struct ctl *c, int argc, char **argv)
{
	return migrate_run(c, argc, argv, 0);
}
