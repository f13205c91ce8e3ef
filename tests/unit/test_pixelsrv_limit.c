/*
 * test_pixelsrv_limit.c - unit tests of the repeat counter: the first event
 * of a key is stored and its repeats within the window counted, another
 * address or link is another key, the window ends, the per-token cap, the
 * switch-off, and many distinct keys in the fixed tables (all stored).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "limit.h"
#include "metrics.h"

#define SEC 1000000LL

/* mkev - an open of token T from 192.0.2.A at second S */
static void mkev(struct event_raw *ev, int t, int a, long long s)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = EVENT_OPEN;
	ev->rid[0] = (uint8_t)t;
	ev->rid[1] = (uint8_t)(t >> 8);
	ev->rid[2] = (uint8_t)(t >> 16);
	ev->family = 4;
	ev->addr[0] = 192;
	ev->addr[2] = 2;
	ev->addr[3] = (uint8_t)a;
	ev->at_us = 1795000000 * SEC + s * SEC;
}

/* test_repeats - 200 opens of one token from one address: one stored, 199 counted */
static void test_repeats(void **state)
{
	struct limit *l = limit_new(60, 0);
	uint64_t before = metrics_get(METRICS_EVENTS_REPEATED);
	struct event_raw ev;
	int stored = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		mkev(&ev, 1, 1, i / 10);
		stored += limit_check(l, &ev);
	}
	assert_int_equal(stored, 1);
	assert_int_equal(metrics_get(METRICS_EVENTS_REPEATED) - before, 199);
	mkev(&ev, 1, 2, 20);		/* another address */
	assert_int_equal(limit_check(l, &ev), 1);
	mkev(&ev, 1, 1, 20);
	ev.kind = EVENT_CLICK;		/* another kind */
	ev.link_n = 3;
	assert_int_equal(limit_check(l, &ev), 1);
	ev.link_n = 4;			/* another link */
	assert_int_equal(limit_check(l, &ev), 1);
	mkev(&ev, 1, 1, 60);		/* the window has passed */
	assert_int_equal(limit_check(l, &ev), 1);
	mkev(&ev, 1, 1, 61);
	assert_int_equal(limit_check(l, &ev), 0);
	limit_sweep(l, 1795000000 * SEC + 200 * SEC);
	limit_free(l);
}

/* test_token_cap - distinct events of one token: TOKEN_MAX stored per window */
static void test_token_cap(void **state)
{
	struct limit *l = limit_new(60, 100);
	uint64_t before = metrics_get(METRICS_EVENTS_OVER_LIMIT);
	struct event_raw ev;
	int stored = 0;

	(void)state;
	for (int i = 0; i < 150; i++) {
		mkev(&ev, 7, i, 1);
		stored += limit_check(l, &ev);
	}
	assert_int_equal(stored, 100);
	assert_int_equal(metrics_get(METRICS_EVENTS_OVER_LIMIT) - before, 50);
	mkev(&ev, 8, 1, 1);		/* another token is not held back */
	assert_int_equal(limit_check(l, &ev), 1);
	mkev(&ev, 7, 200, 61);		/* a new window */
	assert_int_equal(limit_check(l, &ev), 1);
	limit_free(l);
}

/* test_unsubscribe - an unsubscribe after the token's cap is reached, and its repeat, are stored */
static void test_unsubscribe(void **state)
{
	struct limit *l = limit_new(60, 100);
	struct event_raw ev;

	(void)state;
	for (int i = 0; i < 150; i++) {
		mkev(&ev, 9, i, 1);
		limit_check(l, &ev);
	}
	mkev(&ev, 9, 1, 2);
	assert_int_equal(limit_check(l, &ev), 0);	/* the cap holds opens back */
	ev.kind = EVENT_UNSUBSCRIBE;
	assert_int_equal(limit_check(l, &ev), 1);
	assert_int_equal(limit_check(l, &ev), 1);	/* a repeat too: the call is idempotent */
	limit_free(l);
}

/* test_off - repeat_window 0 stores everything */
static void test_off(void **state)
{
	struct limit *l = limit_new(0, 100);
	struct event_raw ev;

	(void)state;
	for (int i = 0; i < 300; i++) {
		mkev(&ev, 1, 1, 0);
		assert_int_equal(limit_check(l, &ev), 1);
	}
	limit_free(l);
	assert_int_equal(limit_check(NULL, &ev), 1);
}

/* test_many_keys - far more keys than slots: every first event stored, memory fixed */
static void test_many_keys(void **state)
{
	struct limit *l = limit_new(60, 100);
	struct event_raw ev;

	(void)state;
	for (int i = 0; i < 4 * LIMIT_SLOTS; i++) {
		mkev(&ev, 1000 + i, 1, 0);
		assert_int_equal(limit_check(l, &ev), 1);
	}
	assert_true(metrics_get(METRICS_LIMIT_EVICTIONS) > 0);
	limit_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_token_cap),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_many_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
