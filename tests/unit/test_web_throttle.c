/*
 * test_web_throttle.c - sign-in attempts per address: the limit, the
 * attempts in flight counted, one address not counting against another,
 * an IPv6 /64 as one address, a limit of 0, a full table
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
#include <sodium.h>

#include "throttle.h"

/* fail_once - one failed attempt of IP */
static void fail_once(struct throttle *t, const char *ip)
{
	assert_true(throttle_begin(t, ip));
	throttle_end(t, ip, 1);
}

static void test_throttle_limit(void **state)
{
	struct throttle *t = throttle_new(3, 600);

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_false(throttle_blocked(t, "192.0.2.1"));
		fail_once(t, "192.0.2.1");
	}
	assert_true(throttle_blocked(t, "192.0.2.1"));
	assert_false(throttle_begin(t, "192.0.2.1"));
	assert_false(throttle_blocked(t, "192.0.2.2"));
	assert_false(throttle_blocked(t, "2001:db8::1"));
	throttle_free(t);

	t = throttle_new(0, 600);	/* no limit */
	for (int i = 0; i < 100; i++)
		fail_once(t, "192.0.2.1");
	assert_false(throttle_blocked(t, "192.0.2.1"));
	throttle_free(t);
}

/* attempts still being checked count: a burst gets LIMIT checks, no more */
static void test_throttle_inflight(void **state)
{
	struct throttle *t = throttle_new(3, 600);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(throttle_begin(t, "192.0.2.7"));
	assert_false(throttle_begin(t, "192.0.2.7"));
	assert_true(throttle_blocked(t, "192.0.2.7"));
	/* one succeeds: its place is free again */
	throttle_end(t, "192.0.2.7", 0);
	assert_false(throttle_blocked(t, "192.0.2.7"));
	assert_true(throttle_begin(t, "192.0.2.7"));
	/* all fail: blocked by the failures alone */
	for (int i = 0; i < 3; i++)
		throttle_end(t, "192.0.2.7", 1);
	assert_true(throttle_blocked(t, "192.0.2.7"));
	assert_false(throttle_begin(t, "192.0.2.7"));
	throttle_free(t);
}

/* an IPv6 /64 is one address; the next /64 another */
static void test_throttle_ipv6_64(void **state)
{
	struct throttle *t = throttle_new(3, 600);

	(void)state;
	fail_once(t, "2001:db8:1:2::1");
	fail_once(t, "2001:db8:1:2::2");
	fail_once(t, "2001:db8:1:2:ffff:ffff:ffff:ffff");
	assert_true(throttle_blocked(t, "2001:db8:1:2::abcd"));
	assert_false(throttle_blocked(t, "2001:db8:1:3::1"));
	assert_false(throttle_blocked(t, "192.0.2.1"));
	/* IPv4 addresses stay apart */
	fail_once(t, "192.0.2.1");
	fail_once(t, "192.0.2.1");
	fail_once(t, "192.0.2.1");
	assert_true(throttle_blocked(t, "192.0.2.1"));
	assert_false(throttle_blocked(t, "192.0.2.2"));
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
		fail_once(t, ip);
		assert_true(throttle_blocked(t, ip));
	}
	throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_throttle_limit),
		cmocka_unit_test(test_throttle_inflight),
		cmocka_unit_test(test_throttle_ipv6_64),
		cmocka_unit_test(test_throttle_full),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
