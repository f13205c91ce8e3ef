/*
 * test_notify_sign.c - unit tests of notify/sign.c: Beacon-Signature's
 * HMAC-SHA256 over "<timestamp>.<body>" against answers computed apart
 * from the code (python3 hmac, openssl dgst -hmac), including a key
 * longer than the hash block and a body with NUL bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "sign.h"

/* sign_case - one known answer */
struct sign_case {
	const char *secret;	/* the destination's secret, as text */
	long long ts;		/* Beacon-Timestamp */
	const char *body;	/* the body */
	size_t len;		/* its length (it may hold NULs) */
	const char *hex;	/* the expected signature */
};

/* test_known - the signatures of the cases */
static void test_known(void **state)
{
	static char longkey[132];
	static const char body0[] = "{\"id\": \"1.1\"}";
	static const char body1[] = "\0\xff body";
	const struct sign_case cases[] = {
		/* printf '%s' '1796531641.{"id": "1.1"}' | openssl dgst -sha256 -hmac <secret> */
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1796531641,
		  body0, sizeof(body0) - 1,
		  "2e5191b7005806e65eee68fe51c470b5c332059aadafcf019fd737478949f45c" },
		/* hmac.new(b'\xaa' * 131, b'1700000000.\x00\xff body', sha256): key > block */
		{ longkey, 1700000000, body1, sizeof(body1) - 1,
		  "5585a0664d94f4d09555294b8e8f68e00e7d31b0f6fa3f5fae1a578af1a63329" },
		/* hmac.new(b'', b'-5.', sha256): empty key and body */
		{ "", -5, "", 0,
		  "31ef4f36ed1aa4a098cd1cdf4021a49a66b97bb520b1b61c0d94ba87d024a09b" },
		/* hmac.new(b'key', b'0.', sha256) */
		{ "key", 0, "", 0,
		  "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d" },
	};
	char hex[SIGN_HEX_LEN + 1];

	memset(longkey, 0xaa, 131);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(hex, 'x', sizeof(hex));
		sign_v1(cases[i].secret, cases[i].ts, cases[i].body, cases[i].len, hex);
		assert_string_equal(hex, cases[i].hex);
	}
}

/* test_changes - one byte more of body, another second or another key: another signature */
static void test_changes(void **state)
{
	char a[SIGN_HEX_LEN + 1], b[SIGN_HEX_LEN + 1];

	sign_v1("k", 100, "body", 4, a);
	sign_v1("k", 100, "body ", 5, b);
	assert_string_not_equal(a, b);
	sign_v1("k", 101, "body", 4, b);
	assert_string_not_equal(a, b);
	sign_v1("K", 100, "body", 4, b);
	assert_string_not_equal(a, b);
	/* "1.00" is not "10.0": the dot separates */
	sign_v1("k", 1, "00", 2, a);
	sign_v1("k", 10, "0", 1, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_changes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
