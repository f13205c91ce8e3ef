/*
 * fuzz_download_path.c - libFuzzer target for what beacon-pixelsrv reads
 * of a download: the /d/ path, the Range header and the manifest line.
 *
 * The input is split at its first two newlines into a path, a Range
 * header and a manifest:
 *   1. route_parse() on the path: a /d/ path's slices lie inside it; its
 *      number goes through download_parse_n() (1..999999 or 0) and its
 *      token and signature through dlurl_check() under a fixed key; what
 *      verifies is exactly what dlurl_make() writes for that token, n
 *      and expiry;
 *   2. download_range() on the header against a size taken from the
 *      input: a part lies inside the file and is not empty, the whole
 *      file is the whole file, and nothing overflows;
 *   3. download_manifest_find() on the manifest for n = 1: a line it
 *      takes gives a 64-digit hash, a size within bounds, a type that
 *      download_type() passes or replaces, and a name whose
 *      Content-Disposition is printable ASCII without CR or LF.
 *
 * Build: make fuzz-build (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download.h"
#include "route.h"
#include "token.h"

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
	char tokstr[TOKEN_STR_LEN + 1], *url;
	struct route r;
	uint64_t expiry;
	unsigned num;

	if (route_parse(p, n, &r) != ROUTE_DOWNLOAD)
		return;
	fuzz_inside(p, n, r.token, r.token_len);
	fuzz_inside(p, n, r.n, r.n_len);
	fuzz_inside(p, n, r.mac, r.mac_len);
	if (!r.token_len)
		return;
	num = download_parse_n(r.n, r.n_len);
	if (num > DOWNLOAD_N_MAX || (num && (r.n_len == 0 || r.n[0] == '0')))
		abort();
	if (!num || dlurl_check(fuzz_keys, r.token, r.token_len, num, r.mac, r.mac_len,
	    &expiry) != TOKEN_OK)
		return;
	memcpy(tokstr, r.token, TOKEN_STR_LEN);
	tokstr[TOKEN_STR_LEN] = '\0';
	url = dlurl_make(fuzz_keys, "", tokstr, num, expiry);
	if (!url || strlen(url) != n || memcmp(url, p, n) != 0)
		abort();
	free(url);
}

/* fuzz_range - a Range header against SIZE */
static void fuzz_range(const char *h, size_t n, uint64_t size)
{
	char *hdr = malloc(n + 1);
	uint64_t first, len;
	enum download_range_kind k;

	if (!hdr)
		abort();
	memcpy(hdr, h, n);
	hdr[n] = '\0';
	k = download_range(hdr, size, &first, &len);
	if (k == DOWNLOAD_PART && (len == 0 || first >= size || len > size - first))
		abort();
	if (k == DOWNLOAD_WHOLE && (first != 0 || len != size))
		abort();
	if (k == DOWNLOAD_UNSATISFIABLE && size != 0 && strchr(hdr, ',') != NULL)
		abort();	/* several ranges are the whole file, never 416 */
	free(hdr);
}

/* fuzz_manifest - line 1 of a manifest, its type and name */
static void fuzz_manifest(const char *m, size_t n)
{
	char *copy = malloc(n ? n : 1), disp[DOWNLOAD_DISP_MAX];
	struct download_entry e;
	const char *t;
	size_t dl;

	if (!copy)
		abort();
	memcpy(copy, m, n);
	if (download_manifest_find(copy, n, 1, &e) == 0) {
		if (e.n != 1 || strlen(e.sha256) != 64 || e.size > DOWNLOAD_SIZE_MAX)
			abort();
		t = download_type(e.type);
		if (t != e.type && strcmp(t, DOWNLOAD_OCTET) != 0)
			abort();
		dl = download_disposition(e.name, e.n, disp, sizeof(disp));
		if (dl == 0 || dl != strlen(disp))
			abort();
		for (size_t i = 0; i < dl; i++)
			if ((unsigned char)disp[i] < 0x20 || (unsigned char)disp[i] > 0x7e)
				abort();
	}
	free(copy);
}

/* LLVMFuzzerTestOneInput - path, newline, Range header, newline, manifest */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl1, *nl2, *end = s + size;
	uint64_t fsize = 0;

	if (!fuzz_keys)
		fuzz_init();
	for (size_t i = 0; i < size && i < 8; i++)
		fsize = fsize << 8 | data[size - 1 - i];
	fsize >>= (size % 64);	/* small sizes too, and 0 */
	nl1 = memchr(s, '\n', size);
	fuzz_path(s, nl1 ? (size_t)(nl1 - s) : size);
	if (!nl1)
		return 0;
	nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
	fuzz_range(nl1 + 1, nl2 ? (size_t)(nl2 - nl1 - 1) : (size_t)(end - nl1 - 1), fsize);
	if (nl2)
		fuzz_manifest(nl2 + 1, (size_t)(end - nl2 - 1));
	return 0;
}
