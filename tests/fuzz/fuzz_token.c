/*
 * fuzz_token.c - libFuzzer target for token_parse and clickurl_check:
 * the input is split at '/' into token, link number, MAC and target, the
 * way beacon-pixelsrv splits a request path.  Nothing may crash, and a
 * click that verifies must round-trip through clickurl_make.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

static struct token_keys *keys;

/* fuzz_keys - one fixed key, id 1 */
static struct token_keys *fuzz_keys(void)
{
	uint8_t key[TOKEN_KEY_LEN];
	memset(key, 0x42, sizeof(key));
	struct token_keys *k = token_keys_new();
	token_keys_add(k, 1, key);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse DATA as a token and as a click path */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *part[4];
	size_t len[4] = { 0 }, k = 0, start = 0;
	struct token t;
	unsigned n;
	char *url = NULL;

	if (!keys)
		keys = fuzz_keys();
	token_parse(keys, s, size, &t);
	for (size_t i = 0; i <= size && k < 4; i++) {
		if (i == size || s[i] == '/') {
			part[k] = s + start;
			len[k++] = i - start;
			start = i + 1;
		}
	}
	if (k < 4)
		return 0;
	if (clickurl_check(keys, part[0], len[0], part[1], len[1], part[2], len[2], part[3], len[3],
			   &t, &n, &url) == TOKEN_OK) {
		char tok[TOKEN_STR_LEN + 1];
		memcpy(tok, part[0], TOKEN_STR_LEN);
		tok[TOKEN_STR_LEN] = '\0';
		char *again = clickurl_make(keys, "", tok, n, url);
		if (!again || !strstr(again, tok))
			abort();
		free(again);
	}
	free(url);
	return 0;
}
