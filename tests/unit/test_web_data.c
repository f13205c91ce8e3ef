/*
 * test_web_data.c - beacon-web's filter checks: what reaches a query as
 * a parameter is a real date, a zone name, a UUID, a class list, a
 * bounded number; everything else is a 400 with a reason
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data.h"

/* args - a fake request: NAME=VALUE pairs, NULL-terminated */
static const char *arg(void *a, const char *name)
{
	const char *const *kv = a;

	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

static void test_data_dates(void **state)
{
	char out[11];

	(void)state;
	assert_true(data_date_ok("2026-11-20"));
	assert_true(data_date_ok("2024-02-29"));
	assert_false(data_date_ok("2026-02-29"));
	assert_false(data_date_ok("1900-02-29"));
	assert_true(data_date_ok("2000-02-29"));
	assert_false(data_date_ok("2026-13-01"));
	assert_false(data_date_ok("2026-04-31"));
	assert_false(data_date_ok("2026-1-01"));
	assert_false(data_date_ok("2026-01-01'"));
	assert_false(data_date_ok("20260101"));
	assert_false(data_date_ok(""));
	assert_false(data_date_ok(NULL));
	assert_int_equal(data_day_after("2026-11-20", out), 0);
	assert_string_equal(out, "2026-11-21");
	assert_int_equal(data_day_after("2026-12-31", out), 0);
	assert_string_equal(out, "2027-01-01");
	assert_int_equal(data_day_after("2024-02-28", out), 0);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(data_day_after("2026-02-28", out), 0);
	assert_string_equal(out, "2026-03-01");
	assert_int_equal(data_day_after("9999-12-31", out), -1);
	assert_int_equal(data_day_after("x", out), -1);
}

static void test_data_names(void **state)
{
	(void)state;
	assert_true(data_tz_ok("UTC"));
	assert_true(data_tz_ok("Europe/Berlin"));
	assert_true(data_tz_ok("America/Argentina/Buenos_Aires"));
	assert_true(data_tz_ok("Etc/GMT+1"));
	assert_false(data_tz_ok(""));
	assert_false(data_tz_ok("/etc/passwd"));
	assert_false(data_tz_ok("Europe/../x"));
	assert_false(data_tz_ok("UTC'; DROP"));
	assert_false(data_tz_ok("a b"));
	assert_true(data_uuid_ok("11111111-1111-4111-8111-111111111111"));
	assert_true(data_uuid_ok("ABCDEF01-1111-4111-8111-111111111111"));
	assert_false(data_uuid_ok("11111111-1111-4111-8111-11111111111"));
	assert_false(data_uuid_ok("11111111x1111-4111-8111-111111111111"));
	assert_false(data_uuid_ok("g1111111-1111-4111-8111-111111111111"));
	assert_true(data_classes_ok("human,proxy"));
	assert_true(data_classes_ok("human,proxy,prefetch,scanner,internal,sender,bot"));
	assert_false(data_classes_ok("human,"));
	assert_false(data_classes_ok(",human"));
	assert_false(data_classes_ok("human,,proxy"));
	assert_false(data_classes_ok("humans"));
	assert_false(data_classes_ok(""));
}

static void test_data_filter_defaults(void **state)
{
	const char *none[] = { NULL };
	struct data_filter f;
	char err[200];

	(void)state;
	assert_int_equal(data_filter_read(&f, arg, none, DATA_PAGE, err, sizeof(err)), 0);
	assert_string_equal(f.tz, "UTC");
	assert_string_equal(f.classes, "human,proxy");
	assert_string_equal(f.classes, DATA_CLASSES_DEFAULT);
	assert_string_equal(f.late, "include");
	assert_string_equal(f.by, "all");
	assert_int_equal(f.page, 1);
	assert_int_equal(f.limit, DATA_PAGE_ROWS);
	assert_int_equal(f.offset, 0);
	assert_false(f.csv);
	assert_int_equal(data_filter_read(&f, arg, none, DATA_API, err, sizeof(err)), 0);
	assert_int_equal(f.limit, DATA_API_ROWS);
}

static void test_data_filter_values(void **state)
{
	const char *args[] = {
		"q", "Spring & co", "campaign", "spring", "since", "2026-11-01",
		"until", "2026-11-30", "tz", "Europe/Berlin", "page", "3", "by", "campaign",
		"classes", "human", NULL,
	};
	const char *api[] = {
		"limit", "500", "cursor", "1795341600000000_22222222-2222-4222-8222-222222222221",
		"format", "csv", NULL,
	};
	const char *off[] = { "cursor", "150", NULL };
	struct data_filter f;
	struct buf b = { 0 };
	char err[200];

	(void)state;
	assert_int_equal(data_filter_read(&f, arg, args, DATA_PAGE, err, sizeof(err)), 0);
	assert_string_equal(f.q, "Spring & co");
	assert_string_equal(f.until_next, "2026-12-01");
	assert_int_equal(f.offset, 2 * DATA_PAGE_ROWS);
	data_filter_query(&b, &f);
	assert_string_equal(buf_str(&b), "q=Spring%20%26%20co&campaign=spring&since=2026-11-01"
			    "&until=2026-11-30&tz=Europe%2FBerlin&classes=human&by=campaign");
	buf_free(&b);

	assert_int_equal(data_filter_read(&f, arg, api, DATA_API, err, sizeof(err)), 0);
	assert_true(f.csv);
	assert_int_equal(f.limit, DATA_CSV_MAX);
	assert_false(f.has_cursor);	/* a CSV is every row */
	api[4] = "json";
	assert_int_equal(data_filter_read(&f, arg, api, DATA_API, err, sizeof(err)), 0);
	assert_int_equal(f.limit, 500);
	assert_true(f.has_cursor);
	assert_true(f.cursor_us == 1795341600000000LL);
	assert_string_equal(f.cursor_id, "22222222-2222-4222-8222-222222222221");
	assert_int_equal(data_filter_read(&f, arg, off, DATA_API, err, sizeof(err)), 0);
	assert_false(f.has_cursor);
	assert_int_equal(f.offset, 150);
}

static void test_data_filter_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "since", "2026-02-30" }, { "until", "yesterday" }, { "tz", "x'y" },
		{ "message", "1; DROP TABLE" }, { "classes", "human,robot" }, { "late", "maybe" },
		{ "by", "sender" }, { "per", "week" }, { "format", "xml" }, { "page", "0" },
		{ "page", "2x" }, { "limit", "501" }, { "limit", "0" }, { "cursor", "x_y" },
		{ "cursor", "-5" }, { "cursor", "12_11111111-1111-4111-8111-11111111111" },
	};
	struct data_filter f;
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = { bad[i][0], bad[i][1], NULL };
		err[0] = '\0';
		enum data_kind kind = strcmp(bad[i][0], "page") ? DATA_API : DATA_PAGE;

		assert_int_equal(data_filter_read(&f, arg, (void *)args, kind, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, bad[i][0]));
	}
	{
		const char *args[] = { "since", "2026-12-01", "until", "2026-11-01", NULL };
		assert_int_equal(data_filter_read(&f, arg, args, DATA_PAGE, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "after"));
	}
	{
		char big[300];
		const char *args[] = { "q", big, NULL };
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(data_filter_read(&f, arg, args, DATA_PAGE, err, sizeof(err)), -1);
	}
}

static void test_data_summary_tables(void **state)
{
	(void)state;
	assert_true(data_summary_known("summary"));
	assert_true(data_summary_known("clicks"));
	assert_true(data_summary_known("devices"));
	assert_true(data_summary_known("geo"));
	assert_true(data_summary_known("timeline"));
	assert_false(data_summary_known("secrets"));
	assert_false(data_summary_known("../summary"));
	assert_false(data_summary_known(""));
	assert_false(data_summary_known(NULL));
	/* an unknown table runs nothing (no database touched: r is not used) */
	assert_null(data_summary_table(NULL, "secrets", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_dates),
		cmocka_unit_test(test_data_names),
		cmocka_unit_test(test_data_filter_defaults),
		cmocka_unit_test(test_data_filter_values),
		cmocka_unit_test(test_data_filter_refused),
		cmocka_unit_test(test_data_summary_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
