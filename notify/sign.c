/*
 * sign.c - HMAC-SHA256 of "<timestamp>.<body>" with the destination's
 * secret, with libsodium (see sign.h).
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "sign.h"

/* sign_v1 - hex HMAC-SHA256(SECRET, "TS.BODY") */
void sign_v1(const char *secret, long long ts, const void *body, size_t len, char *hex)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char pre[32];
	int n = snprintf(pre, sizeof(pre), "%lld.", ts);

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)pre, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, SIGN_HEX_LEN + 1, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}
