/*
 * test_ctl_output.c - unit tests of beaconctl's table printer (ctl/output.c):
 * aligned tables (display widths, numbers right-aligned, no trailing
 * blanks, the row count), control characters and bytes that are not
 * UTF-8 shown escaped, CSV quoting as psql --csv quotes (with every text
 * cell in the spreadsheet-safe form), JSON escaping, and JSON types taken from the
 * column types of a PGresult (a text "2024" stays a string).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "output.h"

/* type oids, as the server sends them */
#define T_BOOL 16
#define T_INT8 20
#define T_INT2 21
#define T_INT4 23
#define T_TEXT 25
#define T_OID 26
#define T_JSON 114
#define T_FLOAT4 700
#define T_FLOAT8 701
#define T_VARCHAR 1043
#define T_TIMESTAMPTZ 1184
#define T_NUMERIC 1700
#define T_UUID 2950
#define T_JSONB 3802

/* print - T in FMT into a string the caller frees */
static char *print(const struct out_table *t, enum out_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_int_equal(out_print(fp, t, fmt), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* table - a struct out_table over caller-owned arrays */
static struct out_table table(int ncols, int nrows, const char **names, enum out_kind *kinds,
			      const char **cells)
{
	struct out_table t = { ncols, nrows, names, kinds, cells };
	return t;
}

/* check - T printed in FMT is WANT */
static void check(const struct out_table *t, enum out_format fmt, const char *want)
{
	char *got = print(t, fmt);
	assert_string_equal(got, want);
	free(got);
}

/* field - out_csv_field or out_json_string of S, as a string */
static char *field(const char *s, int json, int formula_safe)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	if (json)
		out_json_string(fp, s);
	else
		out_csv_field(fp, s, formula_safe);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void test_table_aligned(void **state)
{
	const char *names[] = { "name", "n", "note" };
	enum out_kind kinds[] = { OUT_STRING, OUT_NUMBER, OUT_STRING };
	const char *cells[] = { "München", "5", "x", "ab", "120", NULL, "日本", "-1", "" };
	struct out_table t = table(3, 3, names, kinds, cells);

	check(&t, OUT_TABLE,
	      "name     n    note\n"
	      "-------  ---  ----\n"
	      "München    5  x\n"
	      "ab       120\n"
	      "日本      -1\n"
	      "(3 rows)\n");
}

static void test_table_counts(void **state)
{
	const char *names[] = { "a" };
	enum out_kind kinds[] = { OUT_STRING };
	const char *cells[] = { "x" };
	struct out_table one = table(1, 1, names, kinds, cells);
	struct out_table none = table(1, 0, names, kinds, cells);

	check(&one, OUT_TABLE, "a\n-\nx\n(1 row)\n");
	check(&none, OUT_TABLE, "a\n-\n(0 rows)\n");
	check(&none, OUT_CSV, "a\n");
	check(&none, OUT_JSON, "[]\n");
}

static void test_table_controls(void **state)
{
	static const struct { const char *in, *out; int width; } cases[] = {
		{ "a\nb\tc\rd", "a\\nb\\tc\\rd", 10 },
		{ "\x1b[31mred", "\\x1b[31mred", 11 },
		{ "nul?\x01\x7f", "nul?\\x01\\x7f", 12 },
		{ "bad \xff\xfe", "bad \\xff\\xfe", 12 },
		{ "C1 \xc2\x85\xc2\x9b", "C1 \\u0085\\u009b", 15 },
		{ "overlong \xc0\xaf", "overlong \\xc0\\xaf", 17 },
		{ "surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80", 22 },
		{ "cut \xe2\x82", "cut \\xe2\\x82", 12 },
		{ "fine ✓ €", "fine ✓ €", 8 },
		{ "", "", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&buf, &len);
		assert_non_null(fp);
		assert_int_equal(out_text(NULL, cases[i].in, 0, 0), cases[i].width);
		assert_int_equal(out_text(fp, cases[i].in, cases[i].width + 2, 0), cases[i].width);
		assert_int_equal(fclose(fp), 0);
		assert_int_equal(strncmp(buf, cases[i].out, strlen(cases[i].out)), 0);
		assert_string_equal(buf + strlen(cases[i].out), "  ");
		free(buf);
	}
}

static void test_table_escaped_width(void **state)
{
	const char *names[] = { "subject", "n" };
	enum out_kind kinds[] = { OUT_STRING, OUT_NUMBER };
	const char *cells[] = { "a\tb", "1", "abcdef", "22" };
	struct out_table t = table(2, 2, names, kinds, cells);

	check(&t, OUT_TABLE,
	      "subject  n\n"
	      "-------  --\n"
	      "a\\tb      1\n"
	      "abcdef   22\n"
	      "(2 rows)\n");
}

static void test_csv(void **state)
{
	const char *names[] = { "a", "b,c", "d" };
	enum out_kind kinds[] = { OUT_STRING, OUT_STRING, OUT_NUMBER };
	const char *cells[] = {
		"x,y", "say \"hi\"", "line\nbreak",
		NULL, "", "\\.",
		"=1+2", "cr\r", "5",
		" spaced ", "tab\there", "\\.x",
	};
	struct out_table t = table(3, 4, names, kinds, cells);

	check(&t, OUT_CSV,
	      "a,\"b,c\",d\n"
	      "\"x,y\",\"say \"\"hi\"\"\",\"line\nbreak\"\n"
	      ",,\"\\.\"\n"
	      "\"'=1+2\",\"cr\r\",5\n"
	      " spaced ,tab\there,\\.x\n");
}

/* test_csv_every_text_cell - out_print defuses every text cell that a
 * spreadsheet would evaluate (from any report, history or list), never a
 * number or a boolean */
static void test_csv_every_text_cell(void **state)
{
	const char *names[] = { "address", "subject", "n", "ok", "data" };
	enum out_kind kinds[] = { OUT_STRING, OUT_STRING, OUT_NUMBER, OUT_BOOL, OUT_RAWJSON };
	const char *cells[] = {
		"=cmd|' /C calc'!A0@example.org", "+1 offer", "-12", "t", "-1",
		"@evil", "-- hi", "-0.5", "f", "{\"a\":1}",
		"\tx", "\rx", "7", "t", "[1]",
		"ann@example.com", "Hello", "3", "f", "null",
	};
	struct out_table t = table(5, 4, names, kinds, cells);

	check(&t, OUT_CSV,
	      "address,subject,n,ok,data\n"
	      "\"'=cmd|' /C calc'!A0@example.org\",\"'+1 offer\",-12,t,\"'-1\"\n"
	      "\"'@evil\",\"'-- hi\",-0.5,f,\"{\"\"a\"\":1}\"\n"
	      "\"'\tx\",\"'\rx\",7,t,[1]\n"
	      "ann@example.com,Hello,3,f,null\n");
}

static void test_csv_formula_safe(void **state)
{
	static const struct { const char *in, *plain, *safe; } cases[] = {
		{ "=1+2", "=1+2", "\"'=1+2\"" },
		{ "+49 30", "+49 30", "\"'+49 30\"" },
		{ "-3", "-3", "\"'-3\"" },
		{ "@SUM(A1)", "@SUM(A1)", "\"'@SUM(A1)\"" },
		{ "\tx", "\tx", "\"'\tx\"" },
		{ "\rx", "\"\rx\"", "\"'\rx\"" },
		{ "=\"a\"", "\"=\"\"a\"\"\"", "\"'=\"\"a\"\"\"" },
		{ "a=b", "a=b", "a=b" },
		{ "", "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *plain = field(cases[i].in, 0, 0), *safe = field(cases[i].in, 0, 1);
		assert_string_equal(plain, cases[i].plain);
		assert_string_equal(safe, cases[i].safe);
		free(plain);
		free(safe);
	}
	char *null = field(NULL, 0, 1);
	assert_string_equal(null, "");
	free(null);
}

static void test_json_strings(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\s", "\"q\\\"b\\\\s\"" },
		{ "n\nr\rt\t", "\"n\\nr\\rt\\t\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "</script>", "\"</script>\"" },
		{ "München ✓", "\"München ✓\"" },
		{ "", "\"\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = field(cases[i].in, 1, 0);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void test_json_kinds(void **state)
{
	const char *names[] = { "campaign", "n", "rate", "ok", "data", "\"odd\" name" };
	enum out_kind kinds[] = { OUT_STRING, OUT_NUMBER, OUT_NUMBER, OUT_BOOL, OUT_RAWJSON,
				  OUT_STRING };
	const char *cells[] = {
		"2024", "42", "-1.5e3", "t", "{\"a\": [1, 2]}", "x\ny",
		NULL, NULL, "NaN", "f", NULL, "",
		"Acme \"Q1\", 2026", "0", "Infinity", NULL, "null", "07",
	};
	struct out_table t = table(6, 3, names, kinds, cells);

	check(&t, OUT_JSON,
	      "[\n"
	      "{\"campaign\": \"2024\", \"n\": 42, \"rate\": -1.5e3, \"ok\": true, "
	      "\"data\": {\"a\": [1, 2]}, \"\\\"odd\\\" name\": \"x\\ny\"},\n"
	      "{\"campaign\": null, \"n\": null, \"rate\": \"NaN\", \"ok\": false, "
	      "\"data\": null, \"\\\"odd\\\" name\": \"\"},\n"
	      "{\"campaign\": \"Acme \\\"Q1\\\", 2026\", \"n\": 0, \"rate\": \"Infinity\", "
	      "\"ok\": null, \"data\": null, \"\\\"odd\\\" name\": \"07\"}\n"
	      "]\n");
}

/* result - a PGresult with columns of TYPES named c0.., and rows of CELLS (NULL: SQL NULL) */
static PGresult *result(int ncols, const Oid *types, int nrows, const char **cells)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[16];
	char names[16][16];

	assert_non_null(res);
	assert_true(ncols <= 16);
	memset(attrs, 0, sizeof(attrs));
	for (int c = 0; c < ncols; c++) {
		snprintf(names[c], sizeof(names[c]), "c%d", c);
		attrs[c].name = names[c];
		attrs[c].typid = types[c];
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, ncols, attrs), 1);
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *v = cells[r * ncols + c];
			int len = v ? (int)strlen(v) : -1;
			assert_int_equal(PQsetvalue(res, r, c, (char *)v, len), 1);
		}
	return res;
}

static void test_from_pg_kinds(void **state)
{
	static const struct { Oid type; enum out_kind kind; } cases[] = {
		{ T_INT2, OUT_NUMBER }, { T_INT4, OUT_NUMBER }, { T_INT8, OUT_NUMBER },
		{ T_OID, OUT_NUMBER }, { T_FLOAT4, OUT_NUMBER }, { T_FLOAT8, OUT_NUMBER },
		{ T_NUMERIC, OUT_NUMBER }, { T_BOOL, OUT_BOOL }, { T_JSON, OUT_RAWJSON },
		{ T_JSONB, OUT_RAWJSON }, { T_TEXT, OUT_STRING }, { T_VARCHAR, OUT_STRING },
		{ T_UUID, OUT_STRING }, { T_TIMESTAMPTZ, OUT_STRING },
	};
	Oid types[16];
	const char *cells[16];
	struct out_table t;
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	for (int i = 0; i < n; i++) {
		types[i] = cases[i].type;
		cells[i] = i % 2 ? NULL : "1";
	}
	PGresult *res = result(n, types, 1, cells);
	assert_int_equal(out_from_pg(&t, res), 0);
	assert_int_equal(t.ncols, n);
	assert_int_equal(t.nrows, 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(t.kinds[i], cases[i].kind);
		assert_string_equal(t.names[i], PQfname(res, i));
		if (i % 2)
			assert_null(t.cells[i]);
		else
			assert_string_equal(t.cells[i], "1");
	}
	out_free(&t);
	PQclear(res);
}

static void test_from_pg_text_stays_text(void **state)
{
	const Oid types[] = { T_TEXT, T_INT8, T_NUMERIC, T_TEXT };
	const char *cells[] = {
		"2024", "3", "66.7", "1e5",
		"Acme \"Q1\", 2026", "10", NULL, "-0",
	};
	PGresult *res = result(4, types, 2, cells);
	struct out_table t;

	assert_int_equal(out_from_pg(&t, res), 0);
	check(&t, OUT_JSON,
	      "[\n"
	      "{\"c0\": \"2024\", \"c1\": 3, \"c2\": 66.7, \"c3\": \"1e5\"},\n"
	      "{\"c0\": \"Acme \\\"Q1\\\", 2026\", \"c1\": 10, \"c2\": null, \"c3\": \"-0\"}\n"
	      "]\n");
	/* a text "-0" is defused like any text; the numbers are not */
	check(&t, OUT_CSV, "c0,c1,c2,c3\n2024,3,66.7,1e5\n\"Acme \"\"Q1\"\", 2026\",10,,\"'-0\"\n");
	check(&t, OUT_TABLE,
	      "c0               c1  c2    c3\n"
	      "---------------  --  ----  ---\n"
	      "2024              3  66.7  1e5\n"
	      "Acme \"Q1\", 2026  10        -0\n"
	      "(2 rows)\n");
	out_free(&t);
	PQclear(res);
}

static void test_write_error(void **state)
{
	const char *names[] = { "a" };
	enum out_kind kinds[] = { OUT_STRING };
	const char *cells[] = { "x" };
	struct out_table t = table(1, 1, names, kinds, cells);
	FILE *fp = fopen("/dev/full", "w");

	if (!fp)
		skip();
	setvbuf(fp, NULL, _IONBF, 0);
	assert_int_equal(out_print(fp, &t, OUT_CSV), -1);
	fclose(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_aligned),
		cmocka_unit_test(test_table_counts),
		cmocka_unit_test(test_table_controls),
		cmocka_unit_test(test_table_escaped_width),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_formula_safe),
		cmocka_unit_test(test_csv_every_text_cell),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_kinds),
		cmocka_unit_test(test_from_pg_kinds),
		cmocka_unit_test(test_from_pg_text_stays_text),
		cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
