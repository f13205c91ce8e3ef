/*
 * NAME
 *	http.h - beacon-pixelsrv's HTTP front (libmicrohttpd)
 *
 * SYNOPSIS
 *	struct http *h = http_bind(cfg, err, sizeof(err));	(as root)
 *	http_start(h, &conf, err, sizeof(err));			(after the drop)
 *	http_stop(h, 2000);
 *
 * DESCRIPTION
 *	http_bind() opens a listening socket for each `listen` address
 *	("host:port", "[v6]:port", "*:port" for every IPv4 and IPv6
 *	address, and metrics_listen) and reads the TLS certificate and
 *	key, so both may need privileges the server drops before
 *	http_start(); connection_limit is lowered to what the open-file
 *	limit holds.
 *
 *	http_start() runs one libmicrohttpd daemon per socket, each with
 *	its own epoll thread pool of `threads` threads (0: one per core),
 *	the connection and per-address limits, idle timeout and
 *	per-connection memory limit, and TLS (1.2 and 1.3, ECDHE, AEAD)
 *	when tls_cert is set; a thread closes connections whose request
 *	head takes longer than header_timeout.  /metrics is served only by
 *	a small plain daemon on metrics_listen (with /healthz).  Responses that never change (the GIF,
 *	404, 405, /healthz) are built once and shared.
 *
 *	Endpoints: GET/HEAD /o/<token>.gif (the GIF; a valid token queues
 *	an open), GET/HEAD /c/<token>/<n>/<mac>?u=<target> (302 to the
 *	signed target and a click queued; link 0, the hidden honeypot link,
 *	is queued as a click with link_n 0 and answered 204, never
 *	redirected; anything that does not verify is 404), GET/HEAD
 *	/u/<token>/<mac> (the unsubscribe page, no event) and POST there
 *	with the one-click form (an unsubscribe event; see unsub.h), /p.gif
 *	(the GIF, no event), /healthz; anything else 404; other methods
 *	(POST but to /u/) 405.  GET/HEAD /d/<token>/<n>/<sig> serves
 *	attachment n of the token's recipient from attachment_dir (see
 *	download.h): 404 for a signature that does not verify or a file
 *	not there, 410 for an expired link, 200/206/416 with Range; a
 *	200 or 206 queues a download event when the request ends.  A HEAD
 *	is answered as a GET would be and recorded with EVENT_F_HEAD: no
 *	mail client renders a message with HEAD, so the writer can tell a
 *	link checker.  Each event notes a missing Accept or Accept-Language
 *	header (EVENT_F_NO_ACCEPT, EVENT_F_NO_LANG).
 *
 *	http_stop() refuses new connections (closed as soon as accepted),
 *	answers what is in flight with "Connection: close" for up to
 *	DRAIN_MS milliseconds, then closes every connection.  An event is
 *	queued before its response, so each answered request has its event.
 */
#ifndef BEACON_HTTP_H
#define BEACON_HTTP_H

#include <stddef.h>

#include "cfg.h"
#include "cidr.h"
#include "queue.h"
#include "token.h"
#include "writer.h"

/* http_conf - what the handlers use (owned by the caller, alive until http_stop) */
struct http_conf {
	const struct token_keys *keys;	/* token and click MAC keys */
	const struct cidr_set *trusted;	/* trusted_proxies, may be NULL */
	struct queue *queue;		/* events go here */
	struct writer *writer;		/* and to its spool when the queue is full */
	const char *attachment_dir;	/* where /d/ finds manifests and files (download.h) */
	const char *node;		/* node_name, shown in /metrics (may be NULL) */
};

struct http;

/* http_check_listen - is every listen address well-formed?  0, or -1 + ERR */
int http_check_listen(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* http_bind - listening sockets and TLS material; NULL + ERR on failure */
struct http *http_bind(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* http_start - start the daemons; 0, or -1 + ERR */
int http_start(struct http *h, const struct http_conf *conf, char *err, size_t errlen);
/* http_stop - stop accepting, drain for DRAIN_MS, stop the daemons, free H */
void http_stop(struct http *h, long drain_ms);
/* http_port - the port of the first listening socket (tests bind port 0) */
int http_port(const struct http *h);

#endif
