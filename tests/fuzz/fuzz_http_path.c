/*
 * fuzz_http_path.c - libFuzzer target for what beacon-pixelsrv reads from a
 * request: the path, the click URL's parts and the User-Agent.
 *
 * Each input is taken three ways:
 *   1. as "PATH[?QUERY]": route_parse() on the path, then, as the handler
 *      does, token_parse() for a pixel and clickurl_check() for a click
 *      (u= taken from the query) under a fixed key set.  A click that
 *      verifies must give a NUL-terminated target; slices must lie
 *      inside the path.
 *   2. as a User-Agent (its first byte as the flags): event_encode() /
 *      event_decode() must round-trip, the request flags included,
 *      event_copy_row() must give one COPY line of exactly 25 fields,
 *      valid UTF-8, without a raw CR, LF or TAB inside a field, and
 *      event_bin_row() one binary tuple of 25 fields whose lengths add
 *      up to it, its text fields valid UTF-8.
 *   3. as a target URL: clickurl_make() then clickurl_check() on the
 *      parts must give the same URL back.
 *
 * Build: make fuzz-build (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "event.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct token_keys *fuzz_keys;
static char fuzz_tok[TOKEN_STR_LEN + 1];

/* fuzz_init - one fixed key and a valid token under it */
static void fuzz_init(void)
{
	uint8_t key[TOKEN_KEY_LEN], rid[TOKEN_RID_LEN];

	fuzz_keys = token_keys_new();
	if (!fuzz_keys)
		abort();
	memset(key, 0x42, sizeof(key));
	memset(rid, 0x17, sizeof(rid));
	if (token_keys_add(fuzz_keys, 7, key) < 0 || token_make(fuzz_keys, rid, fuzz_tok) < 0)
		abort();
	event_node_start("px1");	/* every record names it, and the COPY line too */
}

/* fuzz_inside - abort unless [P, P+LEN) lies in [BASE, BASE+SIZE) */
static void fuzz_inside(const char *base, size_t size, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (p < base || p + len > base + size)
		abort();
}

/* fuzz_query_u - the value of the first u= parameter of Q[0..N) */
static const char *fuzz_query_u(const char *q, size_t n, size_t *len)
{
	size_t i = 0;
	while (i < n) {
		size_t e = i;
		while (e < n && q[e] != '&')
			e++;
		if (e - i >= 2 && q[i] == 'u' && q[i + 1] == '=') {
			*len = e - i - 2;
			return q + i + 2;
		}
		i = e + 1;
	}
	return NULL;
}

/* fuzz_path - take the input as a request path with a query */
static void fuzz_path(const char *s, size_t size)
{
	const char *qm = memchr(s, '?', size);
	size_t plen = qm ? (size_t)(qm - s) : size, ulen = 0;
	struct route r;
	struct token tok;
	unsigned n = 0;
	char *url = NULL;
	const char *u;

	switch (route_parse(s, plen, &r)) {
	case ROUTE_OPEN:
		fuzz_inside(s, plen, r.token, r.token_len);
		if (r.token_len)
			(void)token_parse(fuzz_keys, r.token, r.token_len, &tok);
		break;
	case ROUTE_CLICK:
		fuzz_inside(s, plen, r.token, r.token_len);
		fuzz_inside(s, plen, r.n, r.n_len);
		fuzz_inside(s, plen, r.mac, r.mac_len);
		u = qm ? fuzz_query_u(qm + 1, size - plen - 1, &ulen) : NULL;
		if (r.token_len && u &&
		    clickurl_check(fuzz_keys, r.token, r.token_len, r.n, r.n_len, r.mac, r.mac_len,
		    u, ulen, &tok, &n, &url) == TOKEN_OK) {
			if (!url || strlen(url) == 0)
				abort();
			free(url);
		} else if (url) {
			abort();	/* a target without a verified MAC */
		}
		break;
	case ROUTE_DOWNLOAD:
		fuzz_inside(s, plen, r.token, r.token_len);
		fuzz_inside(s, plen, r.n, r.n_len);
		fuzz_inside(s, plen, r.mac, r.mac_len);
		break;
	case ROUTE_UNSUB:
		/* token and MAC inside the path, no link number (fuzz_unsubscribe_route
		 * checks the MAC) */
		fuzz_inside(s, plen, r.token, r.token_len);
		fuzz_inside(s, plen, r.mac, r.mac_len);
		if (r.n_len)
			abort();
		break;
	default:
		if (r.token_len || r.n_len || r.mac_len)
			abort();
		break;
	}
}

/* fuzz_utf8 - abort unless S[0..N) is valid UTF-8 */
static void fuzz_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		    c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (k == 0 || i + k > n)
			abort();
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				abort();
		i += k;
	}
}

/* fuzz_bin_row - ROW's binary COPY tuple is 25 fields whose lengths add up to the tuple,
 * every text field valid UTF-8 */
static void fuzz_bin_row(const struct event_row *row)
{
	/* the text columns of EVENT_COPY_SQL: kind, user_agent .. city, asn_org, class,
	 * reason, node */
	static const uint32_t text_fields = 1u << 1 | 0xffu << 6 | 7u << 17 | 1u << 24;
	static char buf[EVENT_COPY_MAX];
	const unsigned char *p = (const unsigned char *)buf, *end;
	int n = event_bin_row(row, buf, sizeof(buf));

	if (n <= 2)
		abort();
	end = p + n;
	if (((p[0] << 8) | p[1]) != 25)
		abort();
	p += 2;
	for (int f = 0; f < 25; f++) {
		uint32_t len;
		if (end - p < 4)
			abort();
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		p += 4;
		if (len == 0xffffffffu)
			continue;	/* NULL */
		if (len > (size_t)(end - p))
			abort();
		if (text_fields & (1u << f))
			fuzz_utf8(p, len);
		p += len;
	}
	if (p != end)
		abort();
}

/* fuzz_event - take the input as a User-Agent */
static void fuzz_event(const uint8_t *data, size_t size)
{
	static char line[EVENT_COPY_MAX];
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = (int)(size & 1) };
	struct event_raw a, b;
	struct event_row row;
	uint8_t rec[EVENT_REC_MAX];
	size_t len, tabs = 0;
	int n;

	memset(&a, 0, sizeof(a));
	a.kind = (uint8_t)(1 + size % 3);
	a.family = size % 2 ? 4 : 6;
	a.at_us = (int64_t)size * 999983;
	a.ua_len = (uint16_t)(size > EVENT_UA_MAX ? EVENT_UA_MAX : size);
	memcpy(a.ua, data, a.ua_len);
	a.flags = size ? data[0] : 0;	/* only the request bits may survive */
	a.bytes = (int64_t)size * 1000003;	/* a download keeps it, the others drop it */
	a.partial = (uint8_t)(size & 2);
	len = event_encode(&a, rec);
	if (event_decode(rec, len, &b) < 0 || b.ua_len != a.ua_len ||
	    b.node_len != 3 || memcmp(b.node, "px1", 3) != 0 ||
	    memcmp(b.ua, a.ua, a.ua_len) != 0 || b.kind != a.kind ||
	    (b.flags & EVENT_F_REQUEST) != (a.flags & EVENT_F_REQUEST) ||
	    (b.flags & ~EVENT_F_ALL) != 0 ||
	    b.bytes != (a.kind == EVENT_DOWNLOAD ? a.bytes : -1) ||
	    b.partial != (a.kind == EVENT_DOWNLOAD && a.partial))
		abort();
	event_enrich(&ctx, &b, NULL, &row);
	n = event_copy_row(&row, line, sizeof(line));
	if (n <= 0 || line[n - 1] != '\n')
		abort();
	for (int i = 0; i < n - 1; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			abort();
		tabs += line[i] == '\t';
	}
	if (tabs != 24)	/* 25 columns: EVENT_COPY_TEXT_SQL */
		abort();
	fuzz_utf8((const unsigned char *)line, (size_t)n);
	fuzz_bin_row(&row);
}

/* fuzz_click - take the input as a target URL and sign it */
static void fuzz_click(const uint8_t *data, size_t size)
{
	char *target, *cu, *url = NULL, *tokp, *np, *macp, *up;
	struct token tok;
	unsigned n = 0;

	if (size == 0 || size > 4096 || memchr(data, '\0', size))
		return;
	target = malloc(size + 1);
	memcpy(target, data, size);
	target[size] = '\0';
	cu = clickurl_make(fuzz_keys, "https://t.example", fuzz_tok, (unsigned)(size % 1000), target);
	if (!cu)
		abort();
	tokp = strstr(cu, "/c/") + 3;
	np = strchr(tokp, '/') + 1;
	macp = strchr(np, '/') + 1;
	up = strstr(macp, "?u=") + 3;
	if (clickurl_check(fuzz_keys, tokp, (size_t)(np - 1 - tokp), np, (size_t)(macp - 1 - np),
	    macp, (size_t)(up - 3 - macp), up, strlen(up), &tok, &n, &url) != TOKEN_OK ||
	    strcmp(url, target) != 0 || n != size % 1000)
		abort();
	free(url);
	free(cu);
	free(target);
}

/* LLVMFuzzerTestOneInput - one input, three ways */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_keys)
		fuzz_init();
	fuzz_path((const char *)data, size);
	fuzz_event(data, size);
	fuzz_click(data, size);
	return 0;
}
