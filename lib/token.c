/*
 * token.c - make, parse and verify tokens and click URLs with libsodium.
 *
 * MACs are keyed BLAKE2b (crypto_generichash) truncated to 10 bytes, with
 * a one-byte domain tag so a token MAC can never pass as a click MAC.
 * Comparisons use sodium_memcmp (constant time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "private.h"
#include "token.h"

/* token_keys - the loaded secrets, indexed by key id */
struct token_keys {
	uint8_t have[256];			/* 1 if key id is loaded */
	uint8_t key[256][TOKEN_KEY_LEN];	/* the secrets */
	uint8_t current;			/* key id that signs */
};

/* token_init - initialise libsodium once */
int token_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* token_keys_new - an empty key set in guarded memory */
struct token_keys *token_keys_new(void)
{
	struct token_keys *k;
	if (token_init() < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	return k;
}

/* token_keys_add - add (or refuse) key ID */
int token_keys_add(struct token_keys *k, uint8_t id, const uint8_t key[TOKEN_KEY_LEN])
{
	if (id == 0 || k->have[id])
		return -1;
	memcpy(k->key[id], key, TOKEN_KEY_LEN);
	k->have[id] = 1;
	k->current = id;
	return 0;
}

/* token_keys_current - signing key id */
uint8_t token_keys_current(const struct token_keys *k)
{
	return k->current;
}

/* token_keys_free - wipe and free */
void token_keys_free(struct token_keys *k)
{
	if (!k)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

/* token_keys_line - parse "ID HEX64" into K; -1 with WHY */
static int token_keys_line(struct token_keys *k, char *line, const char **why)
{
	char *p = line, *end;
	uint8_t key[TOKEN_KEY_LEN];
	size_t bin_len;
	long id;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\n')
		return 0;
	errno = 0;
	id = strtol(p, &end, 10);
	if (errno || end == p || id < 1 || id > 255 || (*end != ' ' && *end != '\t')) {
		*why = "expected 'ID HEX' with ID 1..255";
		return -1;
	}
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strcspn(p, " \t\r\n");
	if (end - p != TOKEN_KEY_LEN * 2 ||
	    sodium_hex2bin(key, sizeof(key), p, (size_t)(end - p), NULL, &bin_len, NULL) != 0 ||
	    bin_len != TOKEN_KEY_LEN) {
		*why = "expected 64 hex digits (32 bytes) after the key id";
		return -1;
	}
	if (token_keys_add(k, (uint8_t)id, key) < 0) {
		*why = "key id given twice";
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	sodium_memzero(key, sizeof(key));
	return 0;
}

/* token_keys_load - read and check the secret file */
struct token_keys *token_keys_load(const char *path, char *err, size_t errlen)
{
	struct token_keys *k;
	struct stat st;
	char line[512];
	const char *why = NULL;
	int lineno = 0;
	FILE *fp;

	if (!path || !*path) {
		snprintf(err, errlen, "secret_file is not set");
		return NULL;
	}
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot read secret file: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(fp);
		return NULL;
	}
	if (private_check(&st, path, "secret file", err, errlen) < 0) {
		fclose(fp);
		return NULL;
	}
	k = token_keys_new();
	if (!k) {
		snprintf(err, errlen, "cannot initialise libsodium");
		fclose(fp);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		if (token_keys_line(k, line, &why) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			sodium_memzero(line, sizeof(line));
			fclose(fp);
			token_keys_free(k);
			return NULL;
		}
	}
	sodium_memzero(line, sizeof(line));
	fclose(fp);
	if (!k->current) {
		snprintf(err, errlen, "%s: no key in secret file (expected lines 'ID HEX64')", path);
		token_keys_free(k);
		return NULL;
	}
	return k;
}

/* token_new_rid - random recipient id */
void token_new_rid(uint8_t rid[TOKEN_RID_LEN])
{
	randombytes_buf(rid, TOKEN_RID_LEN);
}

/* token_mac_full - keyed BLAKE2b-128 of TAG || A || B */
static void token_mac_full(const uint8_t *key, char tag, const void *a, size_t alen,
			   const void *b, size_t blen, uint8_t out[crypto_generichash_BYTES_MIN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, TOKEN_KEY_LEN, crypto_generichash_BYTES_MIN);
	crypto_generichash_update(&st, (const uint8_t *)&tag, 1);
	crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, crypto_generichash_BYTES_MIN);
}

/* token_mac - keyed BLAKE2b of TAG || A || B, truncated */
static void token_mac(const uint8_t *key, char tag, const void *a, size_t alen,
		      const void *b, size_t blen, uint8_t out[TOKEN_MAC_LEN])
{
	uint8_t full[crypto_generichash_BYTES_MIN];

	token_mac_full(key, tag, a, alen, b, blen, full);
	memcpy(out, full, TOKEN_MAC_LEN);
}

/* token_tag_reserved - purposes with their own MAC, which token_sign must not produce */
static int token_tag_reserved(char tag)
{
	return tag == 't' || tag == 'c' || tag == 'u' || tag == 'd';
}

/* token_make - encode a token under the signing key */
int token_make(const struct token_keys *k, const uint8_t rid[TOKEN_RID_LEN],
	       char out[TOKEN_STR_LEN + 1])
{
	uint8_t raw[TOKEN_RAW_LEN];

	if (!k || !k->current)
		return -1;
	raw[0] = k->current;
	memcpy(raw + 1, rid, TOKEN_RID_LEN);
	token_mac(k->key[k->current], 't', raw, 1 + TOKEN_RID_LEN, NULL, 0,
		  raw + 1 + TOKEN_RID_LEN);
	sodium_bin2base64(out, TOKEN_STR_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* token_decode - base64url S[0..LEN) of exactly OUTLEN bytes; -1 if not */
static int token_decode(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	size_t bin_len;
	const char *end;

	if (sodium_base642bin(out, outlen, s, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return bin_len == outlen && end == s + len ? 0 : -1;
}

/* token_parse - decode and verify a token */
enum token_status token_parse(const struct token_keys *k, const char *s, size_t len,
			      struct token *out)
{
	uint8_t raw[TOKEN_RAW_LEN], mac[TOKEN_MAC_LEN];

	if (len != TOKEN_STR_LEN || token_decode(s, len, raw, sizeof(raw)) < 0)
		return TOKEN_MALFORMED;
	if (!k || !k->have[raw[0]])
		return TOKEN_UNKNOWN_KEY;
	token_mac(k->key[raw[0]], 't', raw, 1 + TOKEN_RID_LEN, NULL, 0, mac);
	if (sodium_memcmp(mac, raw + 1 + TOKEN_RID_LEN, TOKEN_MAC_LEN) != 0)
		return TOKEN_BAD_MAC;
	if (out) {
		out->key_id = raw[0];
		memcpy(out->rid, raw + 1, TOKEN_RID_LEN);
	}
	return TOKEN_OK;
}

/* token_rid_uuid - 8-4-4-4-12 lower-case hex */
void token_rid_uuid(const uint8_t rid[TOKEN_RID_LEN], char out[TOKEN_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < TOKEN_RID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[rid[i] >> 4];
		*p++ = hex[rid[i] & 15];
	}
	*p = '\0';
}

/* token_uuid_rid - parse 8-4-4-4-12 hex (either case) */
int token_uuid_rid(const char *uuid, uint8_t rid[TOKEN_RID_LEN])
{
	char hex[TOKEN_RID_LEN * 2];
	size_t bin_len, n = 0;

	if (strlen(uuid) != TOKEN_UUID_LEN)
		return -1;
	for (size_t i = 0; i < TOKEN_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (uuid[i] == '-'))
			return -1;
		if (!dash)
			hex[n++] = uuid[i];
	}
	if (sodium_hex2bin(rid, TOKEN_RID_LEN, hex, sizeof(hex), NULL, &bin_len, NULL) != 0 ||
	    bin_len != TOKEN_RID_LEN)
		return -1;
	return 0;
}

/* token_status_str - word for a status */
const char *token_status_str(enum token_status st)
{
	switch (st) {
	case TOKEN_OK: return "valid";
	case TOKEN_MALFORMED: return "malformed";
	case TOKEN_UNKNOWN_KEY: return "unknown key id";
	case TOKEN_BAD_MAC: return "bad MAC";
	}
	return "?";
}

/* token_sign - "key id || MAC" of DATA for TAG, base64url */
int token_sign(const struct token_keys *k, char tag, const void *data, size_t len,
	       char out[TOKEN_SIG_STR_LEN + 1])
{
	uint8_t raw[1 + TOKEN_MAC_LEN];

	if (!k || !k->current || token_tag_reserved(tag))
		return -1;
	raw[0] = k->current;
	token_mac(k->key[k->current], tag, raw, 1, data, len, raw + 1);
	sodium_bin2base64(out, TOKEN_SIG_STR_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* token_sign_check - verify a token_sign signature under the key it names */
enum token_status token_sign_check(const struct token_keys *k, char tag, const void *data,
				   size_t len, const char *s, size_t slen)
{
	uint8_t raw[1 + TOKEN_MAC_LEN], mac[TOKEN_MAC_LEN];

	if (token_tag_reserved(tag) || slen != TOKEN_SIG_STR_LEN ||
	    token_decode(s, slen, raw, sizeof(raw)) < 0)
		return TOKEN_MALFORMED;
	if (!k || !k->have[raw[0]])
		return TOKEN_UNKNOWN_KEY;
	token_mac(k->key[raw[0]], tag, raw, 1, data, len, mac);
	return sodium_memcmp(mac, raw + 1, TOKEN_MAC_LEN) == 0 ? TOKEN_OK : TOKEN_BAD_MAC;
}

/* clickurl_mac - MAC over token bytes, link number and target URL */
static void clickurl_mac(const struct token_keys *k, const uint8_t raw[TOKEN_RAW_LEN],
			 unsigned n, const char *url, size_t url_len, char out[TOKEN_CMAC_STR_LEN + 1])
{
	uint8_t buf[TOKEN_RAW_LEN + 4], mac[TOKEN_MAC_LEN];

	memcpy(buf, raw, TOKEN_RAW_LEN);
	buf[TOKEN_RAW_LEN] = (uint8_t)(n >> 24);
	buf[TOKEN_RAW_LEN + 1] = (uint8_t)(n >> 16);
	buf[TOKEN_RAW_LEN + 2] = (uint8_t)(n >> 8);
	buf[TOKEN_RAW_LEN + 3] = (uint8_t)n;
	token_mac(k->key[raw[0]], 'c', buf, sizeof(buf), url, url_len, mac);
	sodium_bin2base64(out, TOKEN_CMAC_STR_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* clickurl_canonical - is U[0..U_LEN) exactly how clickurl_make encodes BIN? (unused low bits zero) */
static int clickurl_canonical(const char *bin, size_t bin_len, const char *u, size_t u_len)
{
	size_t blen = sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *again = malloc(blen);
	int same;

	if (!again)
		return 0;
	sodium_bin2base64(again, blen, (const uint8_t *)bin, bin_len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	same = strlen(again) == u_len && memcmp(again, u, u_len) == 0;
	free(again);
	return same;
}

/* clickurl_b64 - base64url without padding of IN[0..LEN) at OUT; the end.  Table-driven,
 * not constant time like sodium_bin2base64, which is fine for the public target URL and
 * ten times faster */
static char *clickurl_b64(char *out, const uint8_t *in, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = abc[v >> 18];
		*out++ = abc[(v >> 12) & 63];
		*out++ = abc[(v >> 6) & 63];
		*out++ = abc[v & 63];
	}
	if (len - i == 1) {
		*out++ = abc[in[i] >> 2];
		*out++ = abc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		*out++ = abc[v >> 10];
		*out++ = abc[(v >> 4) & 63];
		*out++ = abc[(v & 15) << 2];
	}
	return out;
}

/* clickurl_put - S[0..LEN) at P; the end */
static char *clickurl_put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/* clickurl_b64val - the value of base64url character C, or -1 */
static int clickurl_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* clickurl_token - the TOKEN_RAW_LEN bytes of a token this process made; -1 if TOKEN
 * holds anything but TOKEN_STR_LEN base64url characters.  Not token_decode: a tenth
 * of the cost of libsodium's constant-time decoder, which a token made here does not
 * need (and stricter: libsodium 1.0.18 takes some octets >= 0x80 as digits) */
static int clickurl_token(const char *token, uint8_t raw[TOKEN_RAW_LEN])
{
	_Static_assert(TOKEN_STR_LEN % 4 == 0 && TOKEN_STR_LEN / 4 * 3 == TOKEN_RAW_LEN,
		       "a token is whole base64 groups");
	if (strlen(token) != TOKEN_STR_LEN)
		return -1;
	for (size_t i = 0; i < TOKEN_STR_LEN; i += 4) {
		int a = clickurl_b64val((unsigned char)token[i]);
		int b = clickurl_b64val((unsigned char)token[i + 1]);
		int c = clickurl_b64val((unsigned char)token[i + 2]);
		int d = clickurl_b64val((unsigned char)token[i + 3]);
		uint32_t v;
		if ((a | b | c | d) < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		*raw++ = (uint8_t)(v >> 16);
		*raw++ = (uint8_t)(v >> 8);
		*raw++ = (uint8_t)v;
	}
	return 0;
}

/* clickurl_make - build a signed click URL for link N of TOKEN */
char *clickurl_make(const struct token_keys *k, const char *base_url, const char *token,
		    unsigned n, const char *url)
{
	uint8_t raw[TOKEN_RAW_LEN];
	char mac[TOKEN_CMAC_STR_LEN + 1], num[12], *nump = num + sizeof(num);
	size_t ulen = strlen(url), base_len = strlen(base_url);
	char *out, *p;

	if (clickurl_token(token, raw) < 0 || !k->have[raw[0]])
		return NULL;
	clickurl_mac(k, raw, n, url, ulen, mac);
	do
		*--nump = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	/* "<base>/c/<token>/<n>/<mac>?u=<b64 url>" */
	out = malloc(base_len + 3 + TOKEN_STR_LEN + 1 + sizeof(num) + 1 + TOKEN_CMAC_STR_LEN + 3 +
		     (ulen + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	p = clickurl_put(out, base_url, base_len);
	p = clickurl_put(p, "/c/", 3);
	p = clickurl_put(p, token, TOKEN_STR_LEN);
	p = clickurl_put(p, "/", 1);
	p = clickurl_put(p, nump, (size_t)(num + sizeof(num) - nump));
	p = clickurl_put(p, "/", 1);
	p = clickurl_put(p, mac, TOKEN_CMAC_STR_LEN);
	p = clickurl_put(p, "?u=", 3);
	p = clickurl_b64(p, (const uint8_t *)url, ulen);
	*p = '\0';
	return out;
}

/* clickurl_check - verify token, n, mac and target of a click request */
enum token_status clickurl_check(const struct token_keys *k, const char *token, size_t token_len,
				 const char *n, size_t n_len, const char *mac, size_t mac_len,
				 const char *u, size_t u_len, struct token *tok, unsigned *link_n,
				 char **url)
{
	uint8_t raw[TOKEN_RAW_LEN];
	char want[TOKEN_CMAC_STR_LEN + 1];
	unsigned long num = 0;
	size_t bin_len;
	const char *end;
	char *target;
	enum token_status st;

	*url = NULL;
	st = token_parse(k, token, token_len, tok);
	if (st != TOKEN_OK)
		return st;
	if (n_len == 0 || n_len > 6 || (n_len > 1 && n[0] == '0'))
		return TOKEN_MALFORMED;
	for (size_t i = 0; i < n_len; i++) {
		if (n[i] < '0' || n[i] > '9')
			return TOKEN_MALFORMED;
		num = num * 10 + (unsigned)(n[i] - '0');
	}
	if (mac_len != TOKEN_CMAC_STR_LEN || u_len == 0)
		return TOKEN_MALFORMED;
	target = malloc(u_len + 1);
	if (!target)
		return TOKEN_MALFORMED;
	if (sodium_base642bin((uint8_t *)target, u_len, u, u_len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != u + u_len ||
	    bin_len == 0 || memchr(target, '\0', bin_len)) {
		free(target);
		return TOKEN_MALFORMED;
	}
	target[bin_len] = '\0';
	if (!clickurl_canonical(target, bin_len, u, u_len)) {
		free(target);
		return TOKEN_MALFORMED;
	}
	token_decode(token, token_len, raw, sizeof(raw));
	clickurl_mac(k, raw, (unsigned)num, target, bin_len, want);
	if (sodium_memcmp(want, mac, TOKEN_CMAC_STR_LEN) != 0) {
		free(target);
		return TOKEN_BAD_MAC;
	}
	*link_n = (unsigned)num;
	*url = target;
	return TOKEN_OK;
}

/* unsuburl_mac - MAC over the token bytes for purpose 'u', base64url */
static void unsuburl_mac(const struct token_keys *k, const uint8_t raw[TOKEN_RAW_LEN],
			 char out[TOKEN_CMAC_STR_LEN + 1])
{
	uint8_t mac[TOKEN_MAC_LEN];

	token_mac(k->key[raw[0]], 'u', raw, TOKEN_RAW_LEN, NULL, 0, mac);
	sodium_bin2base64(out, TOKEN_CMAC_STR_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* unsuburl_make - the one-click unsubscribe URL of TOKEN */
char *unsuburl_make(const struct token_keys *k, const char *base_url, const char *token)
{
	uint8_t raw[TOKEN_RAW_LEN];
	char mac[TOKEN_CMAC_STR_LEN + 1], *out;

	if (!k || strlen(token) != TOKEN_STR_LEN ||
	    token_decode(token, TOKEN_STR_LEN, raw, sizeof(raw)) < 0 || !k->have[raw[0]])
		return NULL;
	unsuburl_mac(k, raw, mac);
	if (asprintf(&out, "%s/u/%s/%s", base_url, token, mac) < 0)
		return NULL;
	return out;
}

/* unsuburl_check - token first (its own MAC), then the URL's MAC, compared as text so that
 * only the one encoding unsuburl_make writes is accepted */
enum token_status unsuburl_check(const struct token_keys *k, const char *token, size_t token_len,
				 const char *mac, size_t mac_len, struct token *tok)
{
	uint8_t raw[TOKEN_RAW_LEN];
	char want[TOKEN_CMAC_STR_LEN + 1];
	enum token_status st = token_parse(k, token, token_len, tok);

	if (st != TOKEN_OK)
		return st;
	if (mac_len != TOKEN_CMAC_STR_LEN)
		return TOKEN_MALFORMED;
	token_decode(token, token_len, raw, sizeof(raw));
	unsuburl_mac(k, raw, want);
	return sodium_memcmp(want, mac, TOKEN_CMAC_STR_LEN) == 0 ? TOKEN_OK : TOKEN_BAD_MAC;
}

/* dlurl_sig - "expiry || MAC" over the token bytes, N and EXPIRY for purpose 'd', base64url */
static void dlurl_sig(const struct token_keys *k, const uint8_t raw[TOKEN_RAW_LEN], unsigned n,
		      uint64_t expiry, char out[TOKEN_DSIG_STR_LEN + 1])
{
	uint8_t sig[TOKEN_DSIG_LEN], tail[4 + 8];

	for (int i = 0; i < 8; i++)
		sig[i] = (uint8_t)(expiry >> (56 - 8 * i));
	tail[0] = (uint8_t)(n >> 24);
	tail[1] = (uint8_t)(n >> 16);
	tail[2] = (uint8_t)(n >> 8);
	tail[3] = (uint8_t)n;
	memcpy(tail + 4, sig, 8);
	token_mac_full(k->key[raw[0]], 'd', raw, TOKEN_RAW_LEN, tail, sizeof(tail), sig + 8);
	sodium_bin2base64(out, TOKEN_DSIG_STR_LEN + 1, sig, sizeof(sig),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* dlurl_make - the download URL of attachment N of TOKEN, valid until EXPIRY */
char *dlurl_make(const struct token_keys *k, const char *base_url, const char *token,
		 unsigned n, uint64_t expiry)
{
	uint8_t raw[TOKEN_RAW_LEN];
	char sig[TOKEN_DSIG_STR_LEN + 1], *out;

	if (!k || !base_url || !token || n == 0 || strlen(token) != TOKEN_STR_LEN ||
	    token_decode(token, TOKEN_STR_LEN, raw, sizeof(raw)) < 0 || !k->have[raw[0]])
		return NULL;
	dlurl_sig(k, raw, n, expiry, sig);
	if (asprintf(&out, "%s/d/%s/%u/%s", base_url, token, n, sig) < 0)
		return NULL;
	return out;
}

/* dlurl_check - token first (its own MAC), then the download signature, recomputed from the
 * expiry it carries and compared as text (constant time) */
enum token_status dlurl_check(const struct token_keys *k, const char *token, size_t token_len,
			      unsigned n, const char *sig, size_t sig_len, uint64_t *expiry)
{
	uint8_t raw[TOKEN_RAW_LEN], bin[TOKEN_DSIG_LEN];
	char want[TOKEN_DSIG_STR_LEN + 1];
	uint64_t exp = 0;
	enum token_status st = token_parse(k, token, token_len, NULL);

	if (st != TOKEN_OK)
		return st;
	if (n == 0 || sig_len != TOKEN_DSIG_STR_LEN || token_decode(sig, sig_len, bin, sizeof(bin)) < 0)
		return TOKEN_MALFORMED;
	for (int i = 0; i < 8; i++)
		exp = exp << 8 | bin[i];
	token_decode(token, token_len, raw, sizeof(raw));
	dlurl_sig(k, raw, n, exp, want);
	if (sodium_memcmp(want, sig, TOKEN_DSIG_STR_LEN) != 0)
		return TOKEN_BAD_MAC;
	if (expiry)
		*expiry = exp;
	return TOKEN_OK;
}
