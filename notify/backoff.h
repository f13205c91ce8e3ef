/*
 * backoff.h - when a failed delivery is tried again.
 *
 * After the Nth failed attempt (N >= 1) the next one waits
 * min(30 s * 2^(N-1), 1 h), give or take 10 % at random so that many
 * deliveries that failed together do not come back together: 30 s, 1 min,
 * 2 min, 4 min, ... 32 min, then every hour, until retry_for from the
 * event (the queue caps the last wait at that deadline).
 */
#ifndef NOTIFY_BACKOFF_H
#define NOTIFY_BACKOFF_H

#define BACKOFF_FIRST_S 30	/* the wait after the first failure */
#define BACKOFF_MAX_S 3600	/* the longest wait */

/* backoff_base_s - the wait after ATTEMPTS failed attempts, without jitter */
long backoff_base_s(int attempts);
/* backoff_jitter_s - BASE give or take 10 %: BASE * (0.9 + 0.2 * U), U = R / 2^32,
 * R a 32-bit random number */
long backoff_jitter_s(long base, unsigned r);
/* backoff_s - the wait after ATTEMPTS failed attempts, with random jitter */
long backoff_s(int attempts);

#endif
