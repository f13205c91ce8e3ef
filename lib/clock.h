/*
 * clock.h - the one clock for deadlines, timeouts and durations in every
 * Beacon program: CLOCK_MONOTONIC (the clock g_get_monotonic_time reads),
 * in microseconds, never stepped by NTP or the admin.
 *
 *	long long deadline = clock_after_ms(timeout_ms);
 *	while (...) { int ms = clock_left_ms(deadline); if (ms == 0) timed out; poll(..., ms); }
 *
 * Condition variables wait on the same clock: clock_cond_init() makes one,
 * clock_cond_wait() waits on it until a deadline, whatever the wall clock does.
 */
#ifndef BEACON_CLOCK_H
#define BEACON_CLOCK_H

#include <pthread.h>
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

/* clock_cond_init - COND, whose timed waits (clock_cond_wait) read this clock */
static inline void clock_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* clock_cond_wait - wait on COND (MU held) until woken or DEADLINE (clock_now_us);
 * pthread_cond_timedwait's answer: 0 when woken, ETIMEDOUT at the deadline */
static inline int clock_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mu, long long deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000), (long)(deadline % 1000000) * 1000 };

	return pthread_cond_timedwait(cond, mu, &ts);
}

#endif
