/*
 * test_web_csv.c - beacon-web's CSV cells: RFC 4180 quoting, rows ending
 * in CRLF, an empty first cell that keeps its row, and the leading ' that
 * keeps a spreadsheet from reading a cell as a formula
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"

static void test_csv_cells(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "plain" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\r\nlines", "\"two\r\nlines\"" },
		{ "=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"" },
		{ "+1", "'+1" },
		{ "-2", "'-2" },
		{ "@SUM(A1)", "'@SUM(A1)" },
		{ "\tx", "'\tx" },
		{ "\rx", "\"'\rx\"" },
		{ "a=b", "a=b" },
		{ "M\xc3\xbcnchen", "M\xc3\xbcnchen" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = { 0 };
		csv_cell(&b, cases[i].in);
		assert_string_equal(buf_str(&b), cases[i].out);
		buf_free(&b);
	}
}

static void test_csv_rows(void **state)
{
	struct buf b = { 0 };

	(void)state;
	csv_cell(&b, "id");
	csv_cell(&b, "subject");
	csv_row_end(&b);
	csv_cell(&b, "");		/* an empty first cell */
	csv_cell(&b, "x");
	csv_row_end(&b);
	csv_cell(&b, NULL);
	csv_cell(&b, NULL);
	csv_row_end(&b);
	csv_cell(&b, "1");
	csv_cell(&b, "");
	csv_row_end(&b);
	assert_string_equal(buf_str(&b), "id,subject\r\n\"\",x\r\n\"\",\r\n1,\r\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_cells),
		cmocka_unit_test(test_csv_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
