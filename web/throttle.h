/*
 * NAME
 *	throttle.h - sign-in attempts per client address, in memory
 *
 * SYNOPSIS
 *	struct throttle *t = throttle_new(10, 600);
 *	if (!throttle_begin(t, ip)) 429;
 *	... check the password ...
 *	throttle_end(t, ip, failed);
 *
 * DESCRIPTION
 *	An address may not try again once its failures within WINDOW
 *	seconds of its first attempt, and its attempts still being checked
 *	(begun, not ended), reach LIMIT; the window starts again after
 *	that.  Counting the attempts in flight keeps a burst of parallel
 *	sign-ins from one address to LIMIT password checks: without it,
 *	none has failed yet when the others are let through.
 *
 *	An IPv6 address counts by its /64 (a host usually gets a whole
 *	/64, and would otherwise have 2^64 addresses to rotate through);
 *	an IPv4 address by itself.
 *
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
/* throttle_begin - may IP try now?  1: yes, the attempt counts as in flight until
 * throttle_end; 0: its failures and attempts in flight reach the limit */
int throttle_begin(struct throttle *t, const char *ip);
/* throttle_end - IP's attempt is over; FAILED: count it as a failure */
void throttle_end(struct throttle *t, const char *ip, int failed);
/* throttle_blocked - would throttle_begin refuse IP now?  1 or 0 */
int throttle_blocked(struct throttle *t, const char *ip);

#endif
