/*
 * fuzz_unsubscribe_route.c - libFuzzer target for what beacon-pixelsrv reads
 * of a one-click unsubscribe request: the /u/ path and the POST body.
 *
 * The first byte chooses the Content-Type (urlencoded, multipart with a
 * boundary taken from the input, none, another); the rest is split at
 * the first newline into a path and a body:
 *   1. route_parse() on the path: the slices lie inside it, and a /u/
 *      path's token and MAC go through unsuburl_check() under a fixed
 *      key; only the URL unsuburl_make() writes for a token verifies;
 *   2. unsub_one_click() on the body must not read outside it, and a
 *      body it accepts holds "One-Click" somewhere in some encoding (it
 *      is never yes for an empty body);
 *   3. the signed URL of a token derived from the input verifies, and
 *      with its MAC's first character changed does not.
 *
 * Build: make fuzz-build (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "token.h"
#include "unsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct token_keys *fuzz_keys;

/* fuzz_init - one fixed key */
static void fuzz_init(void)
{
	uint8_t key[TOKEN_KEY_LEN];

	fuzz_keys = token_keys_new();
	if (!fuzz_keys)
		abort();
	memset(key, 0x42, sizeof(key));
	if (token_keys_add(fuzz_keys, 7, key) < 0)
		abort();
}

/* fuzz_inside - abort unless [P, P+LEN) lies in [BASE, BASE+SIZE) */
static void fuzz_inside(const char *base, size_t size, const char *p, size_t len)
{
	if (len && (p < base || p + len > base + size))
		abort();
}

/* fuzz_path - the path as the handler takes it */
static void fuzz_path(const char *p, size_t n)
{
	struct route r;
	struct token tok;
	char tokstr[TOKEN_STR_LEN + 1], *url;

	if (route_parse(p, n, &r) != ROUTE_UNSUB) {
		if (r.kind == ROUTE_OTHER && (r.token_len || r.mac_len))
			abort();
		return;
	}
	fuzz_inside(p, n, r.token, r.token_len);
	fuzz_inside(p, n, r.mac, r.mac_len);
	if (!r.token_len)
		return;
	if (unsuburl_check(fuzz_keys, r.token, r.token_len, r.mac, r.mac_len, &tok) != TOKEN_OK)
		return;
	/* what verified is exactly what unsuburl_make writes for that token */
	memcpy(tokstr, r.token, TOKEN_STR_LEN);
	tokstr[TOKEN_STR_LEN] = '\0';
	url = unsuburl_make(fuzz_keys, "", tokstr);
	if (!url || strlen(url) != 3 + TOKEN_STR_LEN + 1 + r.mac_len ||
	    memcmp(url + 4 + TOKEN_STR_LEN, r.mac, r.mac_len) != 0)
		abort();
	free(url);
}

/* fuzz_body - the POST body under the Content-Type the first byte chose */
static void fuzz_body(uint8_t sel, const char *b, size_t n)
{
	char type[128], *copy;
	int yes;

	switch (sel % 4) {
	case 0: snprintf(type, sizeof(type), "application/x-www-form-urlencoded"); break;
	case 1: snprintf(type, sizeof(type), "multipart/form-data; boundary=%.*s",
			 (int)(n > 12 ? 12 : n), b); break;
	case 2: type[0] = '\0'; break;
	default: snprintf(type, sizeof(type), "text/plain"); break;
	}
	/* an exact-size copy: ASan sees any read past the body */
	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, b, n);
	yes = unsub_one_click(type[0] ? type : NULL, copy, n);
	if (yes && (n == 0 || sel % 4 == 3))
		abort();
	free(copy);
}

/* fuzz_sign - a token from the input, signed and checked */
static void fuzz_sign(const uint8_t *data, size_t size)
{
	uint8_t rid[TOKEN_RID_LEN] = { 0 };
	char tok[TOKEN_STR_LEN + 1], *url, *mac;
	struct token t;

	memcpy(rid, data, size < TOKEN_RID_LEN ? size : TOKEN_RID_LEN);
	if (token_make(fuzz_keys, rid, tok) < 0 || !(url = unsuburl_make(fuzz_keys, "https://t", tok)))
		abort();
	mac = strrchr(url, '/') + 1;
	if (unsuburl_check(fuzz_keys, tok, TOKEN_STR_LEN, mac, strlen(mac), &t) != TOKEN_OK ||
	    memcmp(t.rid, rid, TOKEN_RID_LEN) != 0)
		abort();
	mac[0] = mac[0] == 'A' ? 'B' : 'A';
	if (unsuburl_check(fuzz_keys, tok, TOKEN_STR_LEN, mac, strlen(mac), &t) == TOKEN_OK)
		abort();
	free(url);
}

/* LLVMFuzzerTestOneInput - one input: selector, path, newline, body */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1, *nl;
	size_t n;

	if (!fuzz_keys)
		fuzz_init();
	if (size == 0)
		return 0;
	n = size - 1;
	nl = memchr(s, '\n', n);
	fuzz_path(s, nl ? (size_t)(nl - s) : n);
	if (nl)
		fuzz_body(data[0], nl + 1, n - (size_t)(nl + 1 - s));
	fuzz_sign(data, size);
	return 0;
}
