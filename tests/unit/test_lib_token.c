/*
 * test_lib_token.c - unit tests of tokens and click URLs: known vectors
 * (computed independently with Python's hashlib.blake2b), round trip,
 * wrong MAC, truncated / over-long / non-base64url input, unknown key id,
 * rotation, the secret file's checks, every way to tamper with a
 * click URL, and the one-click unsubscribe URL (vector, tampering, and
 * that a click MAC or a token_sign signature cannot stand in for it),
 * and the download URL (vector, expiry carried and signed, tampering).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "token.h"

#define VEC_TOKEN "BxAREhMUFRYXGBkaGxwdHh_BXjzRdiowfTIH"
#define VEC_URL "https://example.com/a?b=1&c=2"
#define VEC_CLICK "https://t.example/c/" VEC_TOKEN "/3/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI"

/* keys_vec - key id 7 = bytes 0..31, as in the Python vector */
static struct token_keys *keys_vec(void)
{
	uint8_t key[TOKEN_KEY_LEN];
	struct token_keys *k = token_keys_new();
	for (int i = 0; i < TOKEN_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	assert_non_null(k);
	assert_int_equal(token_keys_add(k, 7, key), 0);
	return k;
}

static void test_vector(void **state)
{
	struct token_keys *k = keys_vec();
	uint8_t rid[TOKEN_RID_LEN];
	char tok[TOKEN_STR_LEN + 1], uuid[TOKEN_UUID_LEN + 1];
	struct token t;
	for (int i = 0; i < TOKEN_RID_LEN; i++)
		rid[i] = (uint8_t)(16 + i);
	assert_int_equal(token_make(k, rid, tok), 0);
	assert_string_equal(tok, VEC_TOKEN);
	assert_int_equal(token_parse(k, tok, strlen(tok), &t), TOKEN_OK);
	assert_int_equal(t.key_id, 7);
	assert_memory_equal(t.rid, rid, TOKEN_RID_LEN);
	token_rid_uuid(t.rid, uuid);
	assert_string_equal(uuid, "10111213-1415-1617-1819-1a1b1c1d1e1f");
	char *url = clickurl_make(k, "https://t.example", tok, 3, VEC_URL);
	assert_string_equal(url, VEC_CLICK);
	free(url);
	token_keys_free(k);
}

static void test_roundtrip_random(void **state)
{
	struct token_keys *k = keys_vec();
	for (int i = 0; i < 200; i++) {
		uint8_t rid[TOKEN_RID_LEN];
		char tok[TOKEN_STR_LEN + 1];
		struct token t;
		token_new_rid(rid);
		assert_int_equal(token_make(k, rid, tok), 0);
		assert_int_equal(strlen(tok), TOKEN_STR_LEN);
		assert_int_equal(token_parse(k, tok, TOKEN_STR_LEN, &t), TOKEN_OK);
		assert_memory_equal(t.rid, rid, TOKEN_RID_LEN);
	}
	token_keys_free(k);
}

static void test_bad_tokens(void **state)
{
	struct token_keys *k = keys_vec();
	char tok[] = VEC_TOKEN;
	struct token t;

	/* every single-character change is caught */
	for (size_t i = 0; i < TOKEN_STR_LEN; i++) {
		char saved = tok[i];
		tok[i] = saved == 'A' ? 'B' : 'A';
		enum token_status st = token_parse(k, tok, TOKEN_STR_LEN, &t);
		assert_true(st == TOKEN_BAD_MAC || st == TOKEN_UNKNOWN_KEY);
		tok[i] = saved;
	}
	assert_int_equal(token_parse(k, tok, TOKEN_STR_LEN - 1, &t), TOKEN_MALFORMED);
	assert_int_equal(token_parse(k, VEC_TOKEN "A", TOKEN_STR_LEN + 1, &t), TOKEN_MALFORMED);
	assert_int_equal(token_parse(k, "", 0, &t), TOKEN_MALFORMED);
	assert_int_equal(token_parse(k, "BxAREhMUFRYXGBkaGxwdHh+BXjzRdiowfTIH", TOKEN_STR_LEN, &t),
			 TOKEN_MALFORMED);	/* '+' is base64, not base64url */
	assert_int_equal(token_parse(k, "BxAREhMUFRYXGBkaGxwdHh_BXjzRdiowfT==", TOKEN_STR_LEN, &t),
			 TOKEN_MALFORMED);
	assert_int_equal(token_parse(k, "BxAREhMUFRYXGBkaGxwdHh_BXjzRdiowfT\nH", TOKEN_STR_LEN, &t),
			 TOKEN_MALFORMED);
	/* key id 8 is not loaded */
	assert_int_equal(token_parse(k, "CBAREhMUFRYXGBkaGxwdHh_BXjzRdiowfTIH", TOKEN_STR_LEN, &t),
			 TOKEN_UNKNOWN_KEY);
	assert_int_equal(token_parse(NULL, tok, TOKEN_STR_LEN, &t), TOKEN_UNKNOWN_KEY);
	assert_string_equal(token_status_str(TOKEN_BAD_MAC), "bad MAC");
	token_keys_free(k);
}

static void test_rotation(void **state)
{
	uint8_t k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN], rid[TOKEN_RID_LEN];
	char old[TOKEN_STR_LEN + 1], fresh[TOKEN_STR_LEN + 1];
	struct token t;
	struct token_keys *a = token_keys_new(), *b = token_keys_new();

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	token_new_rid(rid);
	assert_int_equal(token_keys_add(a, 1, k1), 0);
	assert_int_equal(token_make(a, rid, old), 0);
	/* after rotation: key 2 signs, key 1 still verifies */
	assert_int_equal(token_keys_add(b, 1, k1), 0);
	assert_int_equal(token_keys_add(b, 2, k2), 0);
	assert_int_equal(token_keys_current(b), 2);
	assert_int_equal(token_make(b, rid, fresh), 0);
	assert_string_not_equal(old, fresh);
	assert_int_equal(token_parse(b, old, TOKEN_STR_LEN, &t), TOKEN_OK);
	assert_int_equal(t.key_id, 1);
	assert_int_equal(token_parse(b, fresh, TOKEN_STR_LEN, &t), TOKEN_OK);
	assert_int_equal(t.key_id, 2);
	/* the old set does not know key 2 */
	assert_int_equal(token_parse(a, fresh, TOKEN_STR_LEN, &t), TOKEN_UNKNOWN_KEY);
	/* id 0 and duplicates are refused */
	assert_int_equal(token_keys_add(b, 0, k1), -1);
	assert_int_equal(token_keys_add(b, 2, k1), -1);
	token_keys_free(a);
	token_keys_free(b);
}

static void test_uuid(void **state)
{
	uint8_t rid[TOKEN_RID_LEN];
	char back[TOKEN_UUID_LEN + 1];
	assert_int_equal(token_uuid_rid("10111213-1415-1617-1819-1A1B1C1D1E1F", rid), 0);
	token_rid_uuid(rid, back);
	assert_string_equal(back, "10111213-1415-1617-1819-1a1b1c1d1e1f");
	assert_int_equal(token_uuid_rid("10111213-1415-1617-1819-1a1b1c1d1e1", rid), -1);
	assert_int_equal(token_uuid_rid("10111213x1415-1617-1819-1a1b1c1d1e1f", rid), -1);
	assert_int_equal(token_uuid_rid("1011121314151617181912a1b1c1d1e1f000", rid), -1);
	assert_int_equal(token_uuid_rid("g0111213-1415-1617-1819-1a1b1c1d1e1f", rid), -1);
}

/* secret - write TEXT with MODE to a temp file; load it; return keys or NULL + ERR */
static struct token_keys *secret(const char *text, mode_t mode, char *err, size_t len)
{
	char path[] = "/tmp/beacon-secret-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	struct token_keys *k = token_keys_load(path, err, len);
	/* replace the random path in messages so tests can compare */
	char *p;
	while ((p = strstr(err, path)) != NULL) {
		memmove(p + 6, p + strlen(path), strlen(p + strlen(path)) + 1);
		memcpy(p, "SECRET", 6);
	}
	unlink(path);
	return k;
}

#define HEX1 "0101010101010101010101010101010101010101010101010101010101010101"
#define HEX2 "0202020202020202020202020202020202020202020202020202020202020202"

static void test_secret_file(void **state)
{
	char err[512] = "";
	struct token_keys *k = secret("# keys\n1 " HEX1 "\n\n2 " HEX2 "\n", 0600, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(token_keys_current(k), 2);
	token_keys_free(k);

	assert_null(secret("1 " HEX1 "\n", 0640, err, sizeof(err)));
	assert_string_equal(err, "SECRET: secret file is accessible by group or others (mode 0640); "
			    "run: chmod 600 SECRET");
	assert_null(secret("1 " HEX1 "\n", 0604, err, sizeof(err)));
	assert_non_null(strstr(err, "(mode 0604)"));
	assert_null(secret("1 0101\n", 0600, err, sizeof(err)));
	assert_string_equal(err, "SECRET:1: expected 64 hex digits (32 bytes) after the key id");
	assert_null(secret("1 " HEX1 "\n0 " HEX2 "\n", 0600, err, sizeof(err)));
	assert_string_equal(err, "SECRET:2: expected 'ID HEX' with ID 1..255");
	assert_null(secret("256 " HEX1 "\n", 0600, err, sizeof(err)));
	assert_string_equal(err, "SECRET:1: expected 'ID HEX' with ID 1..255");
	assert_null(secret("1 " HEX1 "\n1 " HEX2 "\n", 0600, err, sizeof(err)));
	assert_string_equal(err, "SECRET:2: key id given twice");
	assert_null(secret("# nothing\n", 0600, err, sizeof(err)));
	assert_string_equal(err, "SECRET: no key in secret file (expected lines 'ID HEX64')");
	assert_null(token_keys_load("/nonexistent/secret", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/secret: cannot read secret file: No such file or directory");
}

/* check - split a click path "TOKEN/N/MAC?u=U" and verify it */
static enum token_status check(struct token_keys *k, const char *path, char **url, unsigned *n)
{
	const char *a = path, *b = strchr(a, '/'), *c = b ? strchr(b + 1, '/') : NULL;
	const char *q = c ? strstr(c, "?u=") : NULL;
	struct token t;
	if (!q)
		return TOKEN_MALFORMED;
	return clickurl_check(k, a, (size_t)(b - a), b + 1, (size_t)(c - b - 1), c + 1,
			      (size_t)(q - c - 1), q + 3, strlen(q + 3), &t, n, url);
}

/* test_click_token_octets - clickurl_make takes a token with any octet at any place
 * exactly when it is base64url and names a loaded key, and what it makes verifies */
static void test_click_token_octets(void **state)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct token_keys *k = keys_vec();
	char tok[TOKEN_STR_LEN + 1];

	(void)state;
	for (size_t pos = 0; pos < TOKEN_STR_LEN; pos++) {
		for (int c = 1; c < 256; c++) {
			char *made, *url = NULL, path[512];
			unsigned n = 0;
			int b64, known;
			memcpy(tok, VEC_TOKEN, sizeof(tok));
			tok[pos] = (char)c;
			b64 = strchr(abc, c) != NULL;
			known = token_parse(k, tok, TOKEN_STR_LEN, NULL) != TOKEN_UNKNOWN_KEY;
			made = clickurl_make(k, "https://t.example", tok, 5, "https://x.example/");
			assert_int_equal(made != NULL, b64 && known);
			if (!made)
				continue;
			snprintf(path, sizeof(path), "%s", made + strlen("https://t.example/c/"));
			/* the MAC is over the decoded token: another token's verdict is its own */
			assert_int_not_equal(check(k, path, &url, &n), TOKEN_MALFORMED);
			free(url);
			free(made);
		}
	}
	token_keys_free(k);
}

/* test_click_lengths - the target's base64url is libsodium's for every length and octet,
 * and every click URL made verifies back to its target and link number */
static void test_click_lengths(void **state)
{
	struct token_keys *k = keys_vec();
	const char *base = "https://t.example";
	char target[128], want[256];

	(void)state;
	for (size_t len = 1; len < sizeof(target); len++) {
		char *made, *url = NULL;
		unsigned n = 0;
		for (size_t i = 0; i < len; i++)
			target[i] = (char)(1 + (i * 37 + len * 11) % 255);
		target[len] = '\0';
		made = clickurl_make(k, base, VEC_TOKEN, (unsigned)len * 1000u, target);
		assert_non_null(made);
		sodium_bin2base64(want, sizeof(want), (const unsigned char *)target, len,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_string_equal(strstr(made, "?u=") + 3, want);
		assert_int_equal(strncmp(made, "https://t.example/c/", 20), 0);
		assert_int_equal(check(k, made + 20, &url, &n), TOKEN_OK);
		assert_string_equal(url, target);
		assert_int_equal(n, (unsigned)len * 1000u);
		free(url);
		free(made);
	}
	token_keys_free(k);
}

static void test_click(void **state)
{
	struct token_keys *k = keys_vec();
	const char *good = VEC_TOKEN "/3/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI";
	char *url = NULL;
	unsigned n = 0;

	assert_int_equal(check(k, good, &url, &n), TOKEN_OK);
	assert_string_equal(url, VEC_URL);
	assert_int_equal(n, 3);
	free(url);
	/* changed link number */
	assert_int_equal(check(k, VEC_TOKEN "/4/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI",
			       &url, &n), TOKEN_BAD_MAC);
	assert_null(url);
	/* changed target (https://example.com/a?b=1&c=3) */
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTM",
			       &url, &n), TOKEN_BAD_MAC);
	/* a different (valid) token with the same MAC and target */
	uint8_t rid[TOKEN_RID_LEN];
	char other[TOKEN_STR_LEN + 1], path[256];
	token_new_rid(rid);
	token_make(k, rid, other);
	snprintf(path, sizeof(path), "%s/3/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI", other);
	assert_int_equal(check(k, path, &url, &n), TOKEN_BAD_MAC);
	/* changed MAC, malformed pieces */
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302EeB?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI",
			       &url, &n), TOKEN_BAD_MAC);
	assert_int_equal(check(k, VEC_TOKEN "/03/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI",
			       &url, &n), TOKEN_MALFORMED);
	assert_int_equal(check(k, VEC_TOKEN "/x/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI",
			       &url, &n), TOKEN_MALFORMED);
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302Ee?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTI",
			       &url, &n), TOKEN_MALFORMED);
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302EeA?u=", &url, &n), TOKEN_MALFORMED);
	/* the same target with non-zero unused low bits in the last character */
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302EeA?u=aHR0cHM6Ly9leGFtcGxlLmNvbS9hP2I9MSZjPTJ",
			       &url, &n), TOKEN_MALFORMED);
	assert_int_equal(check(k, VEC_TOKEN "/3/J5fjK_KM302EeA?u=a%%", &url, &n), TOKEN_MALFORMED);
	assert_int_equal(check(k, "AAAA/3/J5fjK_KM302EeA?u=aHR0cA", &url, &n), TOKEN_MALFORMED);
	assert_null(url);
	token_keys_free(k);
}

/* test_click_zero - link 0 (the hidden link) is signed and verified like any other, its
 * MAC differs from link 1's, and "00" is not another spelling of it */
static void test_click_zero(void **state)
{
	struct token_keys *k = keys_vec();
	char *zero = clickurl_make(k, "https://t.example", VEC_TOKEN, 0, "https://t.example");
	char *one = clickurl_make(k, "https://t.example", VEC_TOKEN, 1, "https://t.example");
	char *url = NULL, path[256], *mac0, *mac1;
	unsigned n = 99;

	(void)state;
	assert_non_null(zero);
	assert_non_null(one);
	assert_int_equal(strncmp(zero, "https://t.example/c/" VEC_TOKEN "/0/", 20 + TOKEN_STR_LEN + 3),
			 0);
	assert_int_equal(check(k, zero + strlen("https://t.example/c/"), &url, &n), TOKEN_OK);
	assert_int_equal(n, 0);
	assert_string_equal(url, "https://t.example");
	free(url);
	url = NULL;
	mac0 = zero + 20 + TOKEN_STR_LEN + 3;
	mac1 = one + 20 + TOKEN_STR_LEN + 3;
	assert_memory_not_equal(mac0, mac1, TOKEN_CMAC_STR_LEN);
	/* link 0's MAC under link 1, and the other way round */
	snprintf(path, sizeof(path), "%s/1/%s", VEC_TOKEN, mac0);
	assert_int_equal(check(k, path, &url, &n), TOKEN_BAD_MAC);
	snprintf(path, sizeof(path), "%s/0/%s", VEC_TOKEN, mac1);
	assert_int_equal(check(k, path, &url, &n), TOKEN_BAD_MAC);
	snprintf(path, sizeof(path), "%s/00/%s", VEC_TOKEN, mac0);
	assert_int_equal(check(k, path, &url, &n), TOKEN_MALFORMED);
	assert_null(url);
	free(zero);
	free(one);
	token_keys_free(k);
}

/* test_unsub - the unsubscribe URL: the Python vector, and what must not verify */
static void test_unsub(void **state)
{
	struct token_keys *k = keys_vec();
	char *url = unsuburl_make(k, "https://t.example", VEC_TOKEN), *click, sig[TOKEN_SIG_STR_LEN + 1];
	const char *mac = "oXNBe6JGCD6N_A";
	struct token t;
	char bad[TOKEN_CMAC_STR_LEN + 1];

	(void)state;
	assert_string_equal(url, "https://t.example/u/" VEC_TOKEN "/oXNBe6JGCD6N_A");
	assert_int_equal(unsuburl_check(k, VEC_TOKEN, TOKEN_STR_LEN, mac, strlen(mac), &t), TOKEN_OK);
	assert_int_equal(t.key_id, 7);
	/* the last character carries 2 bits: change one in the middle */
	memcpy(bad, mac, sizeof(bad));
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	assert_int_equal(unsuburl_check(k, VEC_TOKEN, TOKEN_STR_LEN, bad, strlen(bad), &t),
			 TOKEN_BAD_MAC);
	assert_int_equal(unsuburl_check(k, VEC_TOKEN, TOKEN_STR_LEN, mac, strlen(mac) - 1, &t),
			 TOKEN_MALFORMED);
	assert_int_equal(unsuburl_check(k, "BxAREhMUFRYXGBkaGxwdHh_BXjzRdiowfTIA", TOKEN_STR_LEN,
					mac, strlen(mac), &t), TOKEN_BAD_MAC);
	/* link 0's click MAC of the same token is another MAC */
	click = clickurl_make(k, "https://t.example", VEC_TOKEN, 0, "https://t.example");
	assert_int_equal(unsuburl_check(k, VEC_TOKEN, TOKEN_STR_LEN,
					click + 20 + TOKEN_STR_LEN + 3, TOKEN_CMAC_STR_LEN, &t),
			 TOKEN_BAD_MAC);
	assert_int_equal(token_sign(k, 'u', "x", 1, sig), -1);
	assert_null(unsuburl_make(k, "https://t.example", "short"));
	free(click);
	free(url);
	token_keys_free(k);
}

/* test_dlurl - the download URL: the Python vector, round trip, and what must not verify */
static void test_dlurl(void **state)
{
	struct token_keys *k = keys_vec();
	const char *sig = "AAAAAGVT8QAHC6lV0LcwdFplzqH-9OIE";	/* n = 2, expiry 1700000000 */
	char *url = dlurl_make(k, "https://t.example", VEC_TOKEN, 2, 1700000000), bad[TOKEN_DSIG_STR_LEN + 1];
	char tsig[TOKEN_SIG_STR_LEN + 1], *unsub;
	uint64_t exp = 0;

	(void)state;
	assert_string_equal(url, "https://t.example/d/" VEC_TOKEN "/2/AAAAAGVT8QAHC6lV0LcwdFplzqH-9OIE");
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 2, sig, strlen(sig), &exp), TOKEN_OK);
	assert_true(exp == 1700000000);
	free(url);
	/* the largest expiry, and a round trip */
	url = dlurl_make(k, "https://t.example", VEC_TOKEN, 1, UINT64_MAX);
	assert_string_equal(url, "https://t.example/d/" VEC_TOKEN "/1/__________862QalohJleC7BvK1pPURk");
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 1, url + strlen(url) - TOKEN_DSIG_STR_LEN,
				     TOKEN_DSIG_STR_LEN, &exp), TOKEN_OK);
	assert_true(exp == UINT64_MAX);
	free(url);
	/* another attachment number, another expiry, every changed character */
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 3, sig, strlen(sig), &exp), TOKEN_BAD_MAC);
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 0, sig, strlen(sig), &exp), TOKEN_MALFORMED);
	for (size_t i = 0; i < TOKEN_DSIG_STR_LEN; i++) {
		memcpy(bad, sig, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		exp = 42;
		assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 2, bad, TOKEN_DSIG_STR_LEN, &exp),
				 TOKEN_BAD_MAC);
		assert_true(exp == 42);	/* untouched unless valid */
	}
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 2, sig, strlen(sig) - 1, &exp),
			 TOKEN_MALFORMED);
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 2, "AAAAAGVT8QAHC6lV0LcwdFplzqH+9OIE",
				     TOKEN_DSIG_STR_LEN, &exp), TOKEN_MALFORMED);
	assert_int_equal(dlurl_check(k, "BxAREhMUFRYXGBkaGxwdHh_BXjzRdiowfTIA", TOKEN_STR_LEN, 2, sig,
				     strlen(sig), &exp), TOKEN_BAD_MAC);
	assert_int_equal(dlurl_check(k, "CBAREhMUFRYXGBkaGxwdHh_BXjzRdiowfTIH", TOKEN_STR_LEN, 2, sig,
				     strlen(sig), &exp), TOKEN_UNKNOWN_KEY);
	/* an unsubscribe MAC or a token_sign signature cannot stand in; 'd' is reserved */
	unsub = unsuburl_make(k, "https://t.example", VEC_TOKEN);
	assert_int_equal(dlurl_check(k, VEC_TOKEN, TOKEN_STR_LEN, 2, unsub + strlen(unsub) - TOKEN_CMAC_STR_LEN,
				     TOKEN_CMAC_STR_LEN, &exp), TOKEN_MALFORMED);
	free(unsub);
	assert_int_equal(token_sign(k, 'd', "x", 1, tsig), -1);
	assert_int_equal(token_sign_check(k, 'd', "x", 1, "AAAAAAAAAAAAAAA", TOKEN_SIG_STR_LEN),
			 TOKEN_MALFORMED);
	assert_null(dlurl_make(k, "https://t.example", VEC_TOKEN, 0, 1700000000));
	assert_null(dlurl_make(k, "https://t.example", "short", 1, 1700000000));
	token_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_click),
		cmocka_unit_test(test_click_lengths),
		cmocka_unit_test(test_click_token_octets),
		cmocka_unit_test(test_click_zero),
		cmocka_unit_test(test_unsub),
		cmocka_unit_test(test_dlurl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
