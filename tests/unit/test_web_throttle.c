/*
 * test_web_throttle.c - failed sign-ins per address: the limit, one
 * address not counting against another, a limit of 0, a full table
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
#include <sodium.h>

#include "throttle.h"

static void test_throttle_limit(void **state)
{
	struct throttle *t = throttle_new(3, 600);

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_false(throttle_blocked(t, "192.0.2.1"));
		throttle_fail(t, "192.0.2.1");
	}
	assert_true(throttle_blocked(t, "192.0.2.1"));
	assert_false(throttle_blocked(t, "192.0.2.2"));
	assert_false(throttle_blocked(t, "2001:db8::1"));
	throttle_free(t);

	t = throttle_new(0, 600);	/* no limit */
	for (int i = 0; i < 100; i++)
		throttle_fail(t, "192.0.2.1");
	assert_false(throttle_blocked(t, "192.0.2.1"));
	throttle_free(t);
}

static void test_throttle_full(void **state)
{
	struct throttle *t = throttle_new(1, 600);
	char ip[64];

	(void)state;
	/* more addresses than slots: the newest are always remembered */
	for (int i = 0; i < THROTTLE_SLOTS * 2; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		throttle_fail(t, ip);
		assert_true(throttle_blocked(t, ip));
	}
	throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_throttle_limit),
		cmocka_unit_test(test_throttle_full),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
