/*
 * clock.h - the one clock for deadlines, timeouts and durations in every
 * Beacon program: CLOCK_MONOTONIC (the clock g_get_monotonic_time reads),
 * in microseconds, never stepped by NTP or the admin.
 *
 *	long long deadline = clock_after_ms(timeout_ms);
 *	while (...) { int ms = clock_left_ms(deadline); if (ms == 0) timed out; poll(..., ms); }
 */
#ifndef BEACON_CLOCK_H
#define BEACON_CLOCK_H

#include <time.h>

/* clock_now_us - monotonic microseconds */
static inline long long clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* clock_now_ms - monotonic milliseconds */
static inline long long clock_now_ms(void)
{
	return clock_now_us() / 1000;
}

/* clock_after_ms - the deadline (clock_now_us) MS milliseconds from now */
static inline long long clock_after_ms(long long ms)
{
	return clock_now_us() + ms * 1000;
}

/* clock_left_ms - whole milliseconds left before DEADLINE, rounded up so a
 * poll() does not wake just before it; 0 once it has passed */
static inline int clock_left_ms(long long deadline)
{
	long long left = deadline - clock_now_us();

	if (left <= 0)
		return 0;
	left = (left + 999) / 1000;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

#endif
