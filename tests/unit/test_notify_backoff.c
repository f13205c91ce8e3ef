/*
 * test_notify_backoff.c - unit tests of notify/backoff.c: the retry
 * schedule 30 s, 1 min, 2 min, ... capped at 1 h, its jitter within
 * 10 % either way, and that the schedule reaches retry_for's floor of
 * 24 h in a bounded number of attempts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>

#include "backoff.h"

/* test_schedule - the waits without jitter */
static void test_schedule(void **state)
{
	static const long want[] = { 30, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600 };

	for (int a = 0; a < (int)(sizeof(want) / sizeof(want[0])); a++)
		assert_int_equal(backoff_base_s(a), want[a]);
	assert_int_equal(backoff_base_s(1000), 3600);
	assert_int_equal(backoff_base_s(-3), 30);
}

/* test_jitter - the extremes and the middle of the random range */
static void test_jitter(void **state)
{
	assert_int_equal(backoff_jitter_s(30, 0), 27);
	assert_int_equal(backoff_jitter_s(30, 0x80000000u), 30);
	assert_int_equal(backoff_jitter_s(30, 0xffffffffu), 32);	/* 32.99.. rounded down */
	assert_int_equal(backoff_jitter_s(3600, 0), 3240);
	assert_int_equal(backoff_jitter_s(3600, 0xffffffffu), 3959);
	assert_int_equal(backoff_jitter_s(0, 12345), 1);	/* never 0: no busy loop */
	for (int a = 1; a < 20; a++)
		for (int i = 0; i < 200; i++) {
			long base = backoff_base_s(a), s = backoff_s(a);

			assert_true(s >= base * 9 / 10);
			assert_true(s <= base * 11 / 10);
		}
}

/* test_day - a delivery failing all along is tried about 30 times in 24 h */
static void test_day(void **state)
{
	long t = 0;
	int a = 0;

	while (t < 86400)
		t += backoff_base_s(++a);
	assert_int_equal(a, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_day),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
