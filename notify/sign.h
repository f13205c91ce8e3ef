/*
 * NAME
 *	sign.h - the signature of a webhook delivery
 *
 * SYNOPSIS
 *	char sig[SIGN_HEX_LEN + 1];
 *	sign_v1(secret, timestamp, body, body_len, sig);
 *
 * DESCRIPTION
 *	Beacon-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *	where secret is the destination's secret as it is stored and shown
 *	(its text, 64 hex digits made by beaconctl notify add: the key is
 *	those ASCII characters, not the bytes they spell), timestamp the
 *	decimal Unix time of Beacon-Timestamp and body the exact bytes
 *	posted.  The receiver recomputes it, compares in constant time and
 *	refuses a timestamp more than 5 minutes old, so a captured request
 *	cannot be replayed later.  HMAC-SHA256 is libsodium's
 *	crypto_auth_hmacsha256 (a key of any length).
 */
#ifndef NOTIFY_SIGN_H
#define NOTIFY_SIGN_H

#include <stddef.h>

#define SIGN_HEX_LEN 64		/* hex digits of an HMAC-SHA256 */

/* sign_v1 - HEX (SIGN_HEX_LEN + 1 bytes) = hex HMAC-SHA256(SECRET, "TS.BODY") */
void sign_v1(const char *secret, long long ts, const void *body, size_t len, char *hex);

#endif
