/*
 * NAME
 *	route.h - which beacon-pixelsrv endpoint a request path names
 *
 * SYNOPSIS
 *	struct route r;
 *	route_parse(path, strlen(path), &r);
 *
 * DESCRIPTION
 *	Splits the (already percent-decoded) request path, without its
 *	query, into the endpoint and the slices the handler checks:
 *
 *	    /o/<token>.gif		ROUTE_OPEN (".gif" optional)
 *	    /c/<token>/<n>/<mac>	ROUTE_CLICK (target in the query, u=)
 *	    /d/<token>/<n>/<sig>	ROUTE_DOWNLOAD (attachment n, signed expiry)
 *	    /u/<token>/<mac>		ROUTE_UNSUB (one-click unsubscribe)
 *	    /p.gif			ROUTE_PIXEL
 *	    /healthz, /metrics		ROUTE_HEALTHZ, ROUTE_METRICS
 *	    anything else		ROUTE_OTHER
 *
 *	For /o/, /c/, /d/ and /u/ with the wrong shape (an empty or extra
 *	segment, a token of the wrong length) the kind is still set and
 *	token_len is 0: a mangled pixel URL still gets its GIF, a mangled
 *	click, download or unsubscribe URL gets 404.  Slices point into PATH; nothing is
 *	allocated and no token is verified here.
 */
#ifndef BEACON_ROUTE_H
#define BEACON_ROUTE_H

#include <stddef.h>

#define ROUTE_MAX_PATH 8192	/* longer paths are ROUTE_OTHER */

/* route_kind - the endpoint */
enum route_kind {
	ROUTE_OTHER,
	ROUTE_OPEN,
	ROUTE_CLICK,
	ROUTE_DOWNLOAD,
	ROUTE_PIXEL,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_UNSUB,
};

/* route - a parsed request path */
struct route {
	enum route_kind kind;	/* the endpoint */
	const char *token;	/* open, click, download: the token */
	size_t token_len;	/* 0: missing or malformed */
	const char *n;		/* click: link number; download: attachment number */
	size_t n_len;		/* its length */
	const char *mac;	/* click, unsubscribe: the URL's MAC; download: its signature */
	size_t mac_len;		/* its length */
};

/* route_parse - classify PATH[0..LEN) into *R; returns R->kind */
enum route_kind route_parse(const char *path, size_t len, struct route *r);

#endif
