/*
 * backoff.c - the retry schedule of failed deliveries (see backoff.h).
 */
#include <sodium.h>

#include "backoff.h"

/* backoff_base_s - min(30 s * 2^(ATTEMPTS-1), 1 h) */
long backoff_base_s(int attempts)
{
	long s = BACKOFF_FIRST_S;

	for (int i = 1; i < attempts && s < BACKOFF_MAX_S; i++)
		s *= 2;
	return s < BACKOFF_MAX_S ? s : BACKOFF_MAX_S;
}

/* backoff_jitter_s - BASE * (0.9 + 0.2 * R / 2^32), rounded down, at least 1 */
long backoff_jitter_s(long base, unsigned r)
{
	long long lo = (long long)base * 9 / 10;
	long long span = (long long)base * 2 / 10;
	long long s = lo + (long long)((span * (unsigned long long)r) >> 32);

	return s > 0 ? (long)s : 1;
}

/* backoff_s - the wait with libsodium's random jitter */
long backoff_s(int attempts)
{
	return backoff_jitter_s(backoff_base_s(attempts), randombytes_random());
}
