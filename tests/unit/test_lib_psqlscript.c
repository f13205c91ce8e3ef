/*
 * test_lib_psqlscript.c - unit tests of the psql script reader behind
 * beaconctl report (lib/psqlscript.c): variables become parameters and
 * never SQL text, nothing is replaced inside strings, identifiers,
 * dollar quotes or comments, \if/\elif/\else/\endif, \set and \unset,
 * \ir relative to the file, one statement only, the errors (with file
 * and line), every file of sql/reports read as beaconctl reads it, and
 * psqlscript_map: a relation read as another only where it is SQL text
 * and the whole name, every file of sql/reports read as beacon-web
 * reads it (beacon.events as beacon.web_events).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "psqlscript.h"

/* parse - TEXT with the variables VARS ("name", "value", ..., NULL); 0 or -1 */
static int parse(struct psqlscript *s, const char *text, ...)
{
	va_list ap;
	const char *name;

	psqlscript_init(s);
	va_start(ap, text);
	while ((name = va_arg(ap, const char *)) != NULL)
		assert_int_equal(psqlscript_set(s, name, va_arg(ap, const char *)), 0);
	va_end(ap);
	return psqlscript_parse(s, "t.sql", text);
}

/* sql_is - TEXT (with no variables) reads as WANT with no parameters */
static void sql_is(const char *text, const char *want)
{
	struct psqlscript s;

	assert_int_equal(parse(&s, text, NULL), 0);
	assert_string_equal(s.sql, want);
	assert_int_equal(s.nparams, 0);
	psqlscript_free(&s);
}

static void test_variables_bound(void **state)
{
	struct psqlscript s;

	assert_int_equal(parse(&s, "SELECT :'campaign', :campaign::int, :'campaign' || 'x' "
			       "LIMIT :n;", "campaign", "2024", "n", "5", NULL), 0);
	assert_string_equal(s.sql, "SELECT $1, $2::int, $3 || 'x' LIMIT $4;");
	assert_int_equal(s.nparams, 4);
	assert_string_equal(s.params[0], "2024");
	assert_string_equal(s.params[1], "2024");
	assert_string_equal(s.params[2], "2024");
	assert_string_equal(s.params[3], "5");
	assert_int_equal(s.statements, 1);
	psqlscript_free(&s);
}

static void test_value_never_sql(void **state)
{
	static const char *const values[] = {
		"x' OR '1'='1", "1; DROP TABLE beacon.events", "$1", ":'campaign'",
		"\\'", "Acme \"Q1\", 2026", "",
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct psqlscript s;
		assert_int_equal(parse(&s, "SELECT :'v', :v;", "v", values[i], NULL), 0);
		assert_string_equal(s.sql, "SELECT $1, $2;");
		assert_string_equal(s.params[0], values[i]);
		assert_string_equal(s.params[1], values[i]);
		psqlscript_free(&s);
	}
}

static void test_not_replaced(void **state)
{
	struct psqlscript s;
	const char *text =
		"SELECT ':''x''', E'\\':x', 'a\\', \"a:x\", \"q\"\":x\", $$ :'x' $$,\n"
		"       $tag$ :x $ $tag$, a$x, x::text, (ARRAY[1,2,3])[2:3], :'x' -- :'x'\n"
		"/* :'x' /* :x */ :x */ ;";

	assert_int_equal(parse(&s, text, "x", "v", NULL), 0);
	assert_int_equal(s.nparams, 1);
	assert_string_equal(s.params[0], "v");
	assert_non_null(strstr(s.sql, "[2:3], $1 -- :'x'\n/* :'x' /* :x */ :x */ ;"));
	assert_non_null(strstr(s.sql, "SELECT ':''x''', E'\\':x', 'a\\', \"a:x\", \"q\"\":x\", "
				      "$$ :'x' $$,\n       $tag$ :x $ $tag$, a$x, x::text,"));
	psqlscript_free(&s);
}

static void test_unset_raw_kept(void **state)
{
	sql_is("SELECT a[1:n], :nope FROM t;", "SELECT a[1:n], :nope FROM t;");
}

static void test_defined_test(void **state)
{
	struct psqlscript s;

	assert_int_equal(parse(&s, "SELECT :{?x}, :{?y}, :{?x;", "x", "", NULL), 0);
	assert_string_equal(s.sql, "SELECT TRUE, FALSE, :{?x;");
	psqlscript_free(&s);
}

static void test_bind_spacing(void **state)
{
	struct psqlscript s;

	assert_int_equal(parse(&s, "SELECT 1=:n AND x:'v'", "n", "1", "v", "2", NULL), 0);
	assert_string_equal(s.sql, "SELECT 1=$1 AND x $2");
	psqlscript_free(&s);
}

static void test_conditionals(void **state)
{
	static const struct { const char *var; const char *want; } cases[] = {
		{ "a", "SELECT 'a';\n" },
		{ "b", "SELECT 'b';\n" },
		{ "c", "SELECT 'c';\n" },
	};
	const char *text =
		"\\if :{?a}\nSELECT 'a';\n\\elif :{?b}\nSELECT 'b';\n"
		"\\else\nSELECT 'c';\n\\endif\n";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct psqlscript s;
		assert_int_equal(parse(&s, text, cases[i].var, "", NULL), 0);
		assert_string_equal(s.sql, cases[i].want);
		psqlscript_free(&s);
	}
}

static void test_defaults_line(void **state)
{
	struct psqlscript s;
	const char *text =
		"\\if :{?m} \\else \\set m '' \\endif\n"
		"\\if :{?since} \\else \\set since '-infinity' \\endif\n"
		"SELECT :'m', :'since';";

	assert_int_equal(parse(&s, text, "since", "2026-01-01", NULL), 0);
	assert_string_equal(s.params[0], "");
	assert_string_equal(s.params[1], "2026-01-01");
	assert_string_equal(psqlscript_get(&s, "m"), "");
	psqlscript_free(&s);
}

static void test_inactive_not_evaluated(void **state)
{
	/* an inactive block: no expression, variable or psql command in it runs */
	sql_is("\\if false\n\\if maybe\n\\set x :'nope'\n\\endif\nSELECT '\\gset' :'nope';\n"
	       "\\elif no\n\\else\nSELECT 1;\n\\endif\n",
	       "SELECT 1;\n");
}

static void test_booleans(void **state)
{
	static const struct { const char *expr; int value; } cases[] = {
		{ "true", 1 }, { "TRUE", 1 }, { "t", 1 }, { "yes", 1 }, { "y", 1 }, { "on", 1 },
		{ "1", 1 }, { "false", 0 }, { "f", 0 }, { "no", 0 }, { "n", 0 }, { "off", 0 },
		{ "of", 0 }, { "0", 0 }, { "o", -1 }, { "maybe", -1 }, { "truer", -1 },
		{ "10", -1 }, { "'t'", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		struct psqlscript s;
		snprintf(text, sizeof(text), "\\if %s\nSELECT 1;\n\\else\nSELECT 0;\n\\endif\n",
			 cases[i].expr);
		int rc = parse(&s, text, NULL);
		if (cases[i].value < 0) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(s.err, "is not a boolean"));
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(s.sql, cases[i].value ? "SELECT 1;\n" : "SELECT 0;\n");
		}
		psqlscript_free(&s);
	}
}

static void test_set(void **state)
{
	struct psqlscript s;

	assert_int_equal(parse(&s, "\\set g 'it''s' ' a\\t\\x41\\101' b :x :{?x} '\\\\'\n"
			       "\\set empty\n\\set gone 1\n\\unset gone\nSELECT 1;",
			       "x", "Y", NULL), 0);
	assert_string_equal(psqlscript_get(&s, "g"), "it's a\tAAbYTRUE\\");
	assert_string_equal(psqlscript_get(&s, "empty"), "");
	assert_null(psqlscript_get(&s, "gone"));
	psqlscript_free(&s);
}

/* write_file - DIR/NAME holding TEXT */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_include_relative(void **state)
{
	char dir[] = "/tmp/test_ctl_psqlscript.XXXXXX", path[512];
	struct psqlscript s;

	assert_non_null(mkdtemp(dir));
	write_file(dir, "main.sql", "-- a report\n\\ir inc.psql\n\\include_relative b.psql\n"
		   "SELECT :'v', :'w';\n");
	write_file(dir, "inc.psql", "\\if :{?v} \\else \\set v 'from include' \\endif\n");
	write_file(dir, "b.psql", "\\set w 'b'\n");
	write_file(dir, "self.sql", "\\ir self.sql\n");
	write_file(dir, "stmt.sql", "SELECT\n\\ir inc.psql\n1;\n");
	write_file(dir, "bad.sql", "\\ir inc.psql\n\\ir nothere.psql\nSELECT 1;\n");

	snprintf(path, sizeof(path), "%s/main.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), 0);
	assert_int_equal(s.nparams, 2);
	assert_string_equal(s.params[0], "from include");
	assert_string_equal(s.params[1], "b");
	psqlscript_free(&s);

	psqlscript_init(&s);
	assert_int_equal(psqlscript_set(&s, "v", "given"), 0);
	assert_int_equal(psqlscript_read(&s, path), 0);
	assert_string_equal(s.params[0], "given");
	psqlscript_free(&s);

	snprintf(path, sizeof(path), "%s/self.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), -1);
	assert_non_null(strstr(s.err, "nested too deeply"));
	psqlscript_free(&s);

	snprintf(path, sizeof(path), "%s/stmt.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), -1);
	assert_non_null(strstr(s.err, "stmt.sql:2: \\ir inside a statement"));
	psqlscript_free(&s);

	snprintf(path, sizeof(path), "%s/bad.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), -1);
	assert_non_null(strstr(s.err, "/nothere.psql: No such file or directory"));
	psqlscript_free(&s);

	for (const char *f = "main.sql\0inc.psql\0b.psql\0self.sql\0stmt.sql\0bad.sql\0";
	     *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		assert_int_equal(remove(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void test_statements(void **state)
{
	const char *text = "-- head\nSELECT (1;2);\n-- tail\n/* done */\n;\n";

	sql_is(text, text);
	sql_is("SELECT 1", "SELECT 1");
}

static void test_errors(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "SELECT 1; SELECT 2;", "t.sql:1: more than one statement" },
		{ "SELECT 1;\n\nx", "t.sql:3: more than one statement" },
		{ "", "t.sql: no SQL statement" },
		{ "-- only a comment\n;\n", "t.sql: no SQL statement" },
		{ "\\gset\n", "t.sql:1: \\gset: not a command beaconctl runs" },
		{ "\\i other.sql\n", "\\i: not a command beaconctl runs" },
		{ "\\if false\n\\! rm -rf /\n\\endif\nSELECT 1;", "t.sql:2: \\!: not a command" },
		{ "\\\\", "t.sql:1: \\: not a command" },
		{ "\\set x `id`\nSELECT 1;", "beaconctl runs no shell commands" },
		{ "\\set x :'v'\nSELECT 1;", "only :var and :{?var}" },
		{ "\\set\nSELECT 1;", "\\set: missing argument" },
		{ "\\set a-b 1\nSELECT 1;", "'a-b' is not a variable name" },
		{ "\\set x 'open\nSELECT 1;", "unterminated quoted string" },
		{ "SELECT :\"v\";", "t.sql:1: :\"v\": an identifier cannot be a parameter" },
		{ "\n\nSELECT :'nope';", "t.sql:3: :'nope': variable nope is not set" },
		{ "SELECT $1;", "$1: a report may not use positional parameters" },
		{ "\\if maybe\nSELECT 1;\n\\endif", "\\if: 'maybe' is not a boolean" },
		{ "\\if true\nSELECT 1;", "end of file inside \\if" },
		{ "\\endif\nSELECT 1;", "\\endif: no matching \\if" },
		{ "\\else\nSELECT 1;", "\\else: no matching \\if" },
		{ "\\if true\n\\else\n\\else\n\\endif\nSELECT 1;",
		  "t.sql:3: \\else: after \\else" },
		{ "\\if true\n\\else\n\\elif true\n\\endif\nSELECT 1;", "\\elif: after \\else" },
		{ "SELECT 'abc", "unterminated quoted string" },
		{ "SELECT \"abc", "unterminated quoted identifier" },
		{ "SELECT E'a\\'", "unterminated quoted string" },
		{ "SELECT /* a /* b */", "unterminated /* comment" },
		{ "SELECT $a$ x $b$", "unterminated dollar-quoted string $a$" },
		/* a value never picks the file that becomes SQL, nor does a path leave */
		{ "\\ir :v\nSELECT 1;", ":v: No such file" },	/* the name ":v", never "x" */
		{ "\\ir /etc/passwd\nSELECT 1;", "\\ir /etc/passwd: only a file beside the report" },
		{ "\\ir ../x.psql\nSELECT 1;", "\\ir ../x.psql: only a file beside the report" },
		{ "\\ir sub/x.psql\nSELECT 1;", "\\ir sub/x.psql: only a file beside the report" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct psqlscript s;
		assert_int_equal(parse(&s, cases[i].text, "v", "x", NULL), -1);
		if (!strstr(s.err, cases[i].err))
			fail_msg("case %zu: '%s' lacks '%s'", i, s.err, cases[i].err);
		psqlscript_free(&s);
	}
}

static void test_missing_file(void **state)
{
	struct psqlscript s;

	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, "/nonexistent/r.sql"), -1);
	assert_string_equal(s.err, "/nonexistent/r.sql: No such file or directory");
	psqlscript_free(&s);
}

/* unsubstituted - does SQL hold a psql variable reference :'name' left as it was? */
static int unsubstituted(const char *sql)
{
	for (const char *p = strstr(sql, ":'"); p; p = strstr(p + 1, ":'")) {
		size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_0123456789");

		if (n && p[2 + n] == '\'')
			return 1;	/* a literal such as ':' || x is no reference */
	}
	return 0;
}

static void test_reports(void **state)
{
	const char *src = getenv("BEACON_SRC");
	char dir[512], path[1024];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sql/reports", src && *src ? src : ".");
	d = opendir(dir);
	if (!d)
		skip();
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct psqlscript s;
		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		psqlscript_init(&s);
		if (psqlscript_read(&s, path) < 0)
			fail_msg("%s", s.err);
		assert_int_equal(s.statements, 1);
		assert_true(s.nparams > 0);
		assert_string_equal(psqlscript_get(&s, "tz"), "UTC");
		assert_string_equal(psqlscript_get(&s, "classes"), "human,proxy");
		assert_false(unsubstituted(s.sql));
		assert_null(strstr(s.sql, "\\if"));
		for (int i = 0; i < s.nparams; i++)
			assert_non_null(s.params[i]);
		psqlscript_free(&s);
		n++;
	}
	closedir(d);
	assert_true(n >= 9);
}

/* mapped_is - TEXT read with beacon.events as beacon.web_events is WANT */
static void mapped_is(const char *text, const char *want)
{
	struct psqlscript s;

	psqlscript_init(&s);
	assert_int_equal(psqlscript_map(&s, "beacon.events", "beacon.web_events"), 0);
	if (psqlscript_parse(&s, "t.sql", text) < 0)
		fail_msg("%s", s.err);
	assert_string_equal(s.sql, want);
	psqlscript_free(&s);
}

static void test_map_replaced(void **state)
{
	mapped_is("SELECT e.at FROM beacon.events e;", "SELECT e.at FROM beacon.web_events e;");
	mapped_is("beacon.events", "beacon.web_events");
	mapped_is("SELECT * FROM BEACON.Events, (beacon.events)x;",
		  "SELECT * FROM beacon.web_events, (beacon.web_events)x;");
	mapped_is("SELECT beacon.events.at FROM beacon.events\n;",
		  "SELECT beacon.web_events.at FROM beacon.web_events\n;");
	mapped_is("SELECT 1 FROM\tbeacon.events,beacon.events;",
		  "SELECT 1 FROM\tbeacon.web_events,beacon.web_events;");
	mapped_is("\\if true\nSELECT * FROM beacon.events\n\\else\nSELECT beacon.events\n\\endif\n",
		  "SELECT * FROM beacon.web_events\n");
}

static void test_map_not_replaced(void **state)
{
	const char *const kept[] = {
		"SELECT * FROM beacon.events_default;",
		"SELECT * FROM beacon.events2;",
		"SELECT * FROM beacon.events$x;",
		"SELECT * FROM xbeacon.events;",
		"SELECT * FROM x$beacon.events;",
		"SELECT * FROM db.beacon.events;",
		"SELECT * FROM \"beacon\".events;",
		"SELECT * FROM beacon.\"events\";",
		"SELECT * FROM \"beacon.events\";",
		"SELECT * FROM beacon .events;",
		"SELECT 'beacon.events', E'\\'beacon.events', $$beacon.events$$, "
		"$t$ beacon.events $t$;",
		"SELECT 1; -- beacon.events\n/* beacon.events /* beacon.events */ */",
		"SELECT beacon.eventsx, beacon.event, beacon.recipients;",
	};

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		mapped_is(kept[i], kept[i]);
}

static void test_map_include_and_values(void **state)
{
	char dir[] = "/tmp/test_lib_psqlscript_map.XXXXXX", path[512];
	struct psqlscript s;

	assert_non_null(mkdtemp(dir));
	write_file(dir, "main.sql", "\\ir inc.psql\nSELECT :'v' FROM beacon.events;\n");
	write_file(dir, "inc.psql", "\\set v 'beacon.events'\n");
	snprintf(path, sizeof(path), "%s/main.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_map(&s, "beacon.events", "beacon.web_events"), 0);
	assert_int_equal(psqlscript_map(&s, "beacon.recipients", "r.x"), 0);
	assert_int_equal(psqlscript_read(&s, path), 0);
	/* a value stays a parameter, mapped or not */
	assert_string_equal(s.sql, "SELECT $1 FROM beacon.web_events;\n");
	assert_string_equal(s.params[0], "beacon.events");
	psqlscript_free(&s);
	snprintf(path, sizeof(path), "%s/inc.psql", dir);
	assert_int_equal(remove(path), 0);
	snprintf(path, sizeof(path), "%s/main.sql", dir);
	assert_int_equal(remove(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_map_refused(void **state)
{
	const char *const bad[] = {
		"", ".", "beacon.", ".events", "beacon..events", "beacon.events;", "beacon events",
		"beacon.events --", "\"beacon\".events", "1beacon.events", "beacon.$events",
	};
	struct psqlscript s;

	psqlscript_init(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(psqlscript_map(&s, bad[i], "beacon.web_events"), -1);
		assert_int_equal(psqlscript_map(&s, "beacon.events", bad[i]), -1);
	}
	assert_int_equal(s.nmap, 0);
	assert_int_equal(psqlscript_map(&s, "events", "web_events"), 0);
	assert_int_equal(psqlscript_map(&s, "a.b.c", "x$1.y"), 0);
	assert_int_equal(s.nmap, 2);
	psqlscript_free(&s);
}

/* count - occurrences of NEEDLE in HAY */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* test_map_reports - each report read as beacon-web reads it differs from
 * beaconctl's only by beacon.web_events for beacon.events, and the reports
 * that read events (summary.sql among them) read none left over */
static void test_map_reports(void **state)
{
	const char *src = getenv("BEACON_SRC");
	char dir[512], path[1024];
	struct dirent *de;
	int total = 0, summary = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sql/reports", src && *src ? src : ".");
	d = opendir(dir);
	if (!d)
		skip();
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct psqlscript plain, web;
		char *back;
		int n;
		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		psqlscript_init(&plain);
		psqlscript_init(&web);
		assert_int_equal(psqlscript_map(&web, "beacon.events", "beacon.web_events"), 0);
		if (psqlscript_read(&plain, path) < 0)
			fail_msg("%s", plain.err);
		if (psqlscript_read(&web, path) < 0)
			fail_msg("%s", web.err);
		n = count(web.sql, "beacon.web_events");
		back = strdup(web.sql);
		assert_non_null(back);
		for (char *p = back; (p = strstr(p, "beacon.web_events")); )
			memmove(p + strlen("beacon."), p + strlen("beacon.web_"),
				strlen(p + strlen("beacon.web_")) + 1);
		assert_string_equal(back, plain.sql);
		assert_int_equal(web.nparams, plain.nparams);
		/* what is left of beacon.events in the mapped text is in a -- comment */
		for (const char *p = web.sql; (p = strstr(p, "beacon.events")); p++) {
			const char *line = p;
			char after = p[strlen("beacon.events")];
			if (after == '_' || (after >= 'a' && after <= 'z'))
				continue;
			while (line > web.sql && line[-1] != '\n')
				line--;
			if (!memmem(line, (size_t)(p - line), "--", 2))
				fail_msg("%s: beacon.events left as SQL", de->d_name);
		}
		total += n;
		if (strcmp(de->d_name, "summary.sql") == 0)
			summary = n;
		free(back);
		psqlscript_free(&plain);
		psqlscript_free(&web);
	}
	closedir(d);
	assert_true(summary >= 1);
	assert_true(total >= 5);
}

/* psqlscript_preload: the files of a directory read once, then from memory only */
static void test_preload(void **state)
{
	char dir[] = "/tmp/test_ctl_psqlscript.XXXXXX", path[512], err[256];
	struct psqlscript s;

	(void)state;
	/* a directory that cannot be read says so, and keeps nothing */
	assert_int_equal(psqlscript_preload("/nonexistent/reports", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/reports: No such file or directory"));
	assert_non_null(mkdtemp(dir));
	write_file(dir, "main.sql", "\\ir inc.psql\nSELECT :'v';\n");
	write_file(dir, "inc.psql", "\\set v 'kept'\n");
	write_file(dir, "notes.txt.gz", "not a report");	/* not read, not kept */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);		/* a directory is not a file to keep */
	assert_int_equal(psqlscript_preload(dir, err, sizeof(err)), 0);

	/* gone from the disk (or unreadable after a privilege drop): still read */
	for (const char *f = "main.sql\0inc.psql\0notes.txt.gz\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		assert_int_equal(remove(path), 0);
	}
	snprintf(path, sizeof(path), "%s/main.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), 0);
	assert_int_equal(s.nparams, 1);
	assert_string_equal(s.params[0], "kept");
	psqlscript_free(&s);

	/* a file that came after the start is not read */
	write_file(dir, "new.sql", "SELECT 1;\n");
	snprintf(path, sizeof(path), "%s/new.sql", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), -1);
	assert_non_null(strstr(s.err, "new.sql: not among the files read at start"));
	psqlscript_free(&s);
	assert_int_equal(remove(path), 0);
	snprintf(path, sizeof(path), "%s/notes.txt.gz", dir);
	psqlscript_init(&s);
	assert_int_equal(psqlscript_read(&s, path), -1);
	assert_non_null(strstr(s.err, "notes.txt.gz: not among the files read at start"));
	psqlscript_free(&s);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* once: the same directory again is nothing, another is refused */
	assert_int_equal(psqlscript_preload(dir, err, sizeof(err)), 0);
	assert_int_equal(psqlscript_preload("/tmp", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "are read already"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables_bound),
		cmocka_unit_test(test_value_never_sql),
		cmocka_unit_test(test_not_replaced),
		cmocka_unit_test(test_unset_raw_kept),
		cmocka_unit_test(test_defined_test),
		cmocka_unit_test(test_bind_spacing),
		cmocka_unit_test(test_conditionals),
		cmocka_unit_test(test_defaults_line),
		cmocka_unit_test(test_inactive_not_evaluated),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_include_relative),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_map_replaced),
		cmocka_unit_test(test_map_not_replaced),
		cmocka_unit_test(test_map_include_and_values),
		cmocka_unit_test(test_map_refused),
		cmocka_unit_test(test_map_reports),
		cmocka_unit_test(test_preload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
