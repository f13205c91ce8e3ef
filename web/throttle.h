/*
 * NAME
 *	throttle.h - failed sign-ins per client address, in memory
 *
 * SYNOPSIS
 *	struct throttle *t = throttle_new(10, 600);
 *	if (throttle_blocked(t, ip)) 429;
 *	... on a failure: throttle_fail(t, ip);
 *
 * DESCRIPTION
 *	An address is blocked once it has LIMIT failures within WINDOW
 *	seconds of its first one; the window starts again after that.
 *	Memory is fixed: THROTTLE_SLOTS entries, keyed by SipHash (libsodium
 *	crypto_shorthash) under a random key, THROTTLE_PROBE slots probed;
 *	when all hold live entries the oldest is replaced (an evicted
 *	address starts again from zero: the per-user lockout in the
 *	database still holds).  A LIMIT of 0 blocks nobody.  Thread-safe.
 */
#ifndef BEACON_WEB_THROTTLE_H
#define BEACON_WEB_THROTTLE_H

#define THROTTLE_SLOTS 4096	/* addresses remembered */
#define THROTTLE_PROBE 8	/* slots one address may take */

struct throttle;

/* throttle_new - LIMIT failures per WINDOW_S seconds */
struct throttle *throttle_new(unsigned limit, unsigned window_s);
/* throttle_free - release it */
void throttle_free(struct throttle *t);
/* throttle_blocked - has IP reached the limit?  1 or 0 */
int throttle_blocked(struct throttle *t, const char *ip);
/* throttle_fail - count a failure of IP */
void throttle_fail(struct throttle *t, const char *ip);

#endif
