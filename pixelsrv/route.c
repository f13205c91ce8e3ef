/*
 * NAME
 *	route.c - request path to endpoint and token slices
 *
 * DESCRIPTION
 *	See route.h.  Segments are split on '/'; a segment must be
 *	non-empty.  A token slice is only given when it has the length of a
 *	token (TOKEN_STR_LEN); its alphabet and MAC are token_parse()'s job.
 */
#include <string.h>

#include "route.h"
#include "token.h"

/* route_is - does PATH[0..LEN) equal the string S? */
static int route_is(const char *path, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len == n && memcmp(path, s, n) == 0;
}

/* route_split - split P[0..LEN) into exactly N non-empty '/'-separated segments; 0 or -1 */
static int route_split(const char *p, size_t len, size_t n, const char **seg, size_t *seglen)
{
	size_t i = 0;
	const char *end = p + len;

	while (i < n) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;
		if (stop == p)
			return -1;
		seg[i] = p;
		seglen[i] = (size_t)(stop - p);
		i++;
		if (!slash)
			break;
		p = slash + 1;
		if (i == n)
			return -1;	/* more segments than expected */
	}
	return i == n ? 0 : -1;
}

/* route_parse - the endpoint of a request path */
enum route_kind route_parse(const char *path, size_t len, struct route *r)
{
	const char *seg[3];
	size_t seglen[3];

	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_OTHER;
	if (len < 2 || len > ROUTE_MAX_PATH || path[0] != '/')
		return r->kind;
	if (len >= 3 && path[2] == '/' && (path[1] == 'o' || path[1] == 'c' || path[1] == 'd' ||
			path[1] == 'u')) {
		const char *rest = path + 3;
		size_t rlen = len - 3;
		switch (path[1]) {
		case 'o':
			r->kind = ROUTE_OPEN;
			if (rlen > 4 && memcmp(rest + rlen - 4, ".gif", 4) == 0)
				rlen -= 4;
			if (rlen == TOKEN_STR_LEN && !memchr(rest, '/', rlen)) {
				r->token = rest;
				r->token_len = rlen;
			}
			break;
		case 'c':
			r->kind = ROUTE_CLICK;
			if (route_split(rest, rlen, 3, seg, seglen) == 0 &&
			    seglen[0] == TOKEN_STR_LEN) {
				r->token = seg[0];
				r->token_len = seglen[0];
				r->n = seg[1];
				r->n_len = seglen[1];
				r->mac = seg[2];
				r->mac_len = seglen[2];
			}
			break;
		case 'u':
			r->kind = ROUTE_UNSUB;
			if (route_split(rest, rlen, 2, seg, seglen) == 0 &&
			    seglen[0] == TOKEN_STR_LEN) {
				r->token = seg[0];
				r->token_len = seglen[0];
				r->mac = seg[1];
				r->mac_len = seglen[1];
			}
			break;
		default:
			r->kind = ROUTE_DOWNLOAD;
			if (route_split(rest, rlen, 3, seg, seglen) == 0 &&
			    seglen[0] == TOKEN_STR_LEN) {
				r->token = seg[0];
				r->token_len = seglen[0];
				r->n = seg[1];
				r->n_len = seglen[1];
				r->mac = seg[2];
				r->mac_len = seglen[2];
			}
			break;
		}
		return r->kind;
	}
	if (route_is(path, len, "/p.gif"))
		r->kind = ROUTE_PIXEL;
	else if (route_is(path, len, "/healthz"))
		r->kind = ROUTE_HEALTHZ;
	else if (route_is(path, len, "/metrics"))
		r->kind = ROUTE_METRICS;
	return r->kind;
}
