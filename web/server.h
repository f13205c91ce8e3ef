/*
 * NAME
 *	server.h - beacon-web's HTTP server: sockets, routes and each
 *	request's life (its answers: respond.h)
 *
 * DESCRIPTION
 *	libmicrohttpd with a thread per connection, at most [web] threads
 *	connections (live streams included): a handler may block on the
 *	database, a live stream on its next event.  The access handler
 *	keeps a request's state (its form body, at most SERVER_BODY_MAX
 *	bytes: 413 before the body is read when Content-Length says more,
 *	the connection closed when a chunked body grows past it) from the
 *	first call and answers on the last.
 *
 *	Each request: the route (404 for an unknown path, 405 with Allow
 *	for a known path and another method), the client address (peer,
 *	or X-Forwarded-For from [web] trusted_proxies, lib/clientip.h),
 *	then for a signed-in route a pooled session on the primary (503
 *	when none is free within POOL_WAIT_MS), the user (auth.h: bearer
 *	token on /api/, else the session cookie; none: 303 to /login?next=
 *	for a page, 401 JSON for the API), on a POST the CSRF token (form
 *	field csrf) and the Origin (or Referer) host; that session goes
 *	back, and the handler runs on a read session (pool.h: the replica
 *	of [web] read_conninfo while it is close enough behind, else the
 *	primary) inside pool_begin() .. pool_commit(); a handler that fails
 *	or does not answer rolls back (and gets a 500 when it sent nothing).
 *	The live streams and sign-out take what they need themselves, on the
 *	primary.  web_read_from() tells a page where it was read.
 *
 *	GET /healthz: 200 "ok" when a session on the primary and a read
 *	session answer, 503 otherwise; with read_conninfo, a second line
 *	says where the pages read and the replica's lag.
 *
 *	Each request is logged once when it ends: method, path (no query),
 *	status, user, ms.
 */
#ifndef BEACON_WEB_SERVER_H
#define BEACON_WEB_SERVER_H

#include <stddef.h>

#include "cfg.h"
#include "respond.h"
#include "web.h"

#define SERVER_BODY_MAX (16 * 1024)	/* longest form body */

struct server;
struct pool;
struct auth;
struct live;

/* web_ctx - what the core's routes share */
struct web_ctx {
	const struct beacon_cfg *cfg;	/* the configuration */
	struct pool *pool;		/* primary sessions: sign-in, sessions, live batches */
	struct pool *read;		/* read-only sessions of the pages and the API */
	struct auth *auth;		/* sessions, tokens, sign-in */
	struct live *live;		/* the beacon_batch listener and its streams */
	const char *static_dir;		/* where /static/ files are */
};

/* server_bind - the listening sockets and the trusted proxies (before privileges go);
 * NULL with ERR */
struct server *server_bind(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* server_start - serve with CTX; 0, or -1 with ERR */
int server_start(struct server *s, struct web_ctx *ctx, char *err, size_t errlen);
/* server_port - the port of the first listening socket */
int server_port(const struct server *s);
/* server_stop - stop accepting, end the connections (threads joined), free S */
void server_stop(struct server *s);

/* the core's own, for auth.c, live.c, respond.c and static.c */

/* web_ctx_of - the shared context of request R */
struct web_ctx *web_ctx_of(struct web_req *r);
/* web_header - request header NAME, or NULL */
const char *web_header(struct web_req *r, const char *name);
/* web_cookie - the request's cookie NAME, or NULL */
const char *web_cookie(struct web_req *r, const char *name);
/* web_form - the POST form's field NAME only (never the query), or NULL */
const char *web_form(struct web_req *r, const char *name);
/* web_csrf_ok - does the POST form's csrf field equal TOKEN?  (constant time) */
int web_csrf_ok(struct web_req *r, const char *token);
/* web_set_csrf - the CSRF token forms of this answer carry (r->csrf, a copy of TOKEN) */
void web_set_csrf(struct web_req *r, const char *token);
/* web_set_user - the request's user from now on (logged; U copied) */
void web_set_user(struct web_req *r, const struct web_user *u);

#endif
