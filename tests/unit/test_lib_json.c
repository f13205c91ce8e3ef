/*
 * test_lib_json.c - the shared JSON string escaper: escapes, and valid
 * UTF-8 out of invalid input
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

/* put - append to a fixed buffer */
static void put(void *arg, const char *p, size_t n)
{
	char *out = arg;
	size_t len = strlen(out);

	assert_true(len + n < 256);
	memcpy(out + len, p, n);
	out[len + n] = '\0';
}

static void test_json_escapes(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\s", "\"q\\\"b\\\\s\"" },
		{ "\b\f\n\r\t\x01\x7f", "\"\\b\\f\\n\\r\\t\\u0001\\u007f\"" },
		{ "a\xe2\x80\xa8" "b", "\"a\\u2028b\"" },
		{ "M\xc3\xbcnchen", "\"M\xc3\xbcnchen\"" },
		/* a lone continuation, an overlong '/', a surrogate, a cut sequence */
		{ "\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82", "\"\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\"" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out[0] = '\0';
		json_string(cases[i].in, put, out);
		assert_string_equal(out, cases[i].out);
	}
	out[0] = '\0';
	json_string(NULL, put, out);
	assert_string_equal(out, "null");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
