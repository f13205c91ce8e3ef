/*
 * NAME
 *	server.c - beacon-web's HTTP server: sockets, routes and each
 *	request's life: routing and dispatch (see server.h; the answers
 *	are respond.c's)
 *
 * DESCRIPTION
 *	The access handler's first call makes the request's state (struct
 *	web_state, the request's priv) and answers 413 at once to a form
 *	announced longer than SERVER_BODY_MAX (its body is never read); the
 *	calls with body bytes keep them, and close the connection when a
 *	chunked form grows past the limit; the last call routes and answers.  The completion callback logs the request
 *	and frees its state, whatever the end (answered, client gone,
 *	shutdown).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api.h"
#include "auth.h"
#include "cidr.h"
#include "clientip.h"
#include "clock.h"
#include "data.h"
#include "form.h"
#include "html.h"
#include "listen.h"
#include "live.h"
#include "log.h"
#include "pages.h"
#include "pool.h"
#include "respond.h"
#include "server.h"
#include "static.h"

#define SERVER_MAX_LISTEN 16		/* listen addresses */
#define SERVER_TIMEOUT_S 30		/* idle connection timeout (a live stream pings at 15 s) */
#define SERVER_HEALTHZ_WAIT_MS 2000	/* /healthz's wait for a database session */
#define SERVER_UUID_LEN 36

/* route_kind - who may use a route */
enum route_kind {
	RK_PUBLIC,	/* anyone; no database transaction */
	RK_PAGE,	/* signed in with the session cookie, else 303 to /login */
	RK_API,		/* bearer token or session cookie, else 401 JSON */
};

/* route_shape - how a route's path matches */
enum route_shape {
	RS_EXACT,	/* the path itself */
	RS_ID,		/* the path, then a uuid */
	RS_ID_EVENTS,	/* the path, a uuid, then /events */
	RS_PREFIX,	/* the path, then a non-empty rest (/static/<name>) */
};

/* route - one entry of the table */
struct route {
	const char *method;		/* "GET" (HEAD too) or "POST" */
	const char *path;		/* the path, or its fixed start */
	enum route_shape shape;		/* how the rest matches */
	enum route_kind kind;		/* who may use it */
	int notx;			/* no transaction: the handler takes what it needs (live
				 * streams, sign-out) */
	web_handler *h;			/* the handler */
};

static web_handler server_login_form, server_login, server_logout, server_healthz,
    server_static, server_stream;

/* server_routes - every route */
static const struct route server_routes[] = {
	{ "GET", "/login", RS_EXACT, RK_PUBLIC, 0, server_login_form },
	{ "POST", "/login", RS_EXACT, RK_PUBLIC, 0, server_login },
	{ "GET", "/healthz", RS_EXACT, RK_PUBLIC, 0, server_healthz },
	{ "GET", "/static/", RS_PREFIX, RK_PUBLIC, 0, server_static },
	{ "GET", "/", RS_EXACT, RK_PAGE, 0, page_messages },
	{ "GET", "/conversations", RS_EXACT, RK_PAGE, 0, page_conversations },
	{ "GET", "/m/", RS_ID, RK_PAGE, 0, page_message },
	{ "GET", "/summary", RS_EXACT, RK_PAGE, 0, page_summary },
	{ "GET", "/live", RS_EXACT, RK_PAGE, 0, page_live },
	{ "GET", "/live/stream", RS_EXACT, RK_PAGE, 1, server_stream },
	{ "POST", "/logout", RS_EXACT, RK_PAGE, 1, server_logout },
	{ "GET", "/api/v1/messages", RS_EXACT, RK_API, 0, api_messages },
	{ "GET", "/api/v1/messages/", RS_ID, RK_API, 0, api_message },
	{ "GET", "/api/v1/messages/", RS_ID_EVENTS, RK_API, 0, api_events },
	{ "GET", "/api/v1/summary", RS_EXACT, RK_API, 0, api_summary },
	{ "GET", "/api/v1/stream", RS_EXACT, RK_API, 1, server_stream },
};

/* server - sockets, daemons and what the routes share */
struct server {
	int fd[SERVER_MAX_LISTEN];		/* listening sockets */
	size_t nfd;				/* how many */
	struct MHD_Daemon *d[SERVER_MAX_LISTEN];	/* one daemon per socket */
	struct cidr_set *trusted;		/* trusted_proxies */
	unsigned threads;			/* connections at once per listener */
	atomic_int xff_said;			/* the untrusted X-Forwarded-For was logged */
	struct web_ctx *ctx;			/* pool, auth, live, static_dir */
};

/* web_state - one request (its web_req's priv) */
struct web_state {
	struct web_req req;			/* what handlers see */
	struct server *srv;			/* the server */
	long long start_us;			/* when its head was in */
	char method[8];				/* the method, for the log */
	char *path;				/* the path, a copy */
	int is_post;				/* a POST: the body is a form */
	struct buf body;			/* the form's bytes */
	struct form form;			/* the decoded form */
	char id[SERVER_UUID_LEN + 1];		/* the path's uuid, or "" */
	char ip[INET6_ADDRSTRLEN];		/* the client's address */
	struct web_user user;			/* the user, when signed in */
	char csrf[AUTH_SECRET_LEN + 1];		/* the session's CSRF token */
	struct respond answer;			/* what was answered (respond.c) */
	char read_from[1024];			/* where the handler's session reads, or "" */
};

/* server_state - the state of R */
static struct web_state *server_state(struct web_req *r)
{
	return r->priv;
}

/* respond_of - the answer state of R */
struct respond *respond_of(struct web_req *r)
{
	return &server_state(r)->answer;
}

/* web_ctx_of - the context */
struct web_ctx *web_ctx_of(struct web_req *r)
{
	return server_state(r)->srv->ctx;
}

/* web_header - a request header */
const char *web_header(struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* web_cookie - a request cookie (libmicrohttpd parses the Cookie header) */
const char *web_cookie(struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

/* web_form - a field of the POST form */
const char *web_form(struct web_req *r, const char *name)
{
	struct web_state *st = server_state(r);

	return st->is_post ? form_get(&st->form, name) : NULL;
}

/* web_arg - the form's value, else the query's */
const char *web_arg(struct web_req *r, const char *name)
{
	const char *v = web_form(r, name);

	return v ? v : MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* web_read_from - where the handler's session reads */
const char *web_read_from(struct web_req *r)
{
	return server_state(r)->read_from;
}

/* web_path_id - the route's uuid */
const char *web_path_id(struct web_req *r)
{
	struct web_state *st = server_state(r);

	return st->id[0] ? st->id : NULL;
}

/* web_set_csrf - r->csrf, kept in the request's state */
void web_set_csrf(struct web_req *r, const char *token)
{
	struct web_state *st = server_state(r);

	snprintf(st->csrf, sizeof(st->csrf), "%s", token);
	r->csrf = st->csrf;
}

/* web_set_user - the signed-in user */
void web_set_user(struct web_req *r, const struct web_user *u)
{
	struct web_state *st = server_state(r);

	st->user = *u;
	r->user = &st->user;
}

/* server_match - does PATH match RT?  The uuid (lower case) into ID */
static int server_match(const struct route *rt, const char *path, char id[SERVER_UUID_LEN + 1])
{
	size_t pl = strlen(rt->path), n;
	const char *rest;

	if (strncmp(path, rt->path, pl) != 0)
		return 0;
	rest = path + pl;
	n = strlen(rest);
	switch (rt->shape) {
	case RS_EXACT:
		return n == 0;
	case RS_PREFIX:
		return n > 0;
	case RS_ID_EVENTS:
		if (n != SERVER_UUID_LEN + 7 || strcmp(rest + SERVER_UUID_LEN, "/events") != 0)
			return 0;
		n = SERVER_UUID_LEN;
		/* fall through */
	case RS_ID:
		if (n != SERVER_UUID_LEN)
			return 0;
		for (size_t i = 0; i < SERVER_UUID_LEN; i++)
			id[i] = (char)tolower((unsigned char)rest[i]);
		id[SERVER_UUID_LEN] = '\0';
		return data_uuid_ok(id);
	}
	return 0;
}

/* server_route - the route of METHOD PATH; NULL with *ALLOW the methods PATH takes
 * ("" when none: 404) */
static const struct route *server_route(const char *method, const char *path,
    char id[SERVER_UUID_LEN + 1], const char **allow)
{
	int get = 0, post = 0;

	*allow = "";
	for (size_t i = 0; i < sizeof(server_routes) / sizeof(server_routes[0]); i++) {
		const struct route *rt = &server_routes[i];
		if (!server_match(rt, path, id))
			continue;
		if (!strcmp(rt->method, method))
			return rt;
		get |= !strcmp(rt->method, "GET");
		post |= !strcmp(rt->method, "POST");
	}
	id[0] = '\0';
	*allow = get && post ? "GET, HEAD, POST" : get ? "GET, HEAD" : post ? "POST" : "";
	return NULL;
}

/* server_client_ip - the client's address: the peer, or what a trusted proxy says */
static void server_client_ip(struct server *s, struct web_state *st)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(st->req.conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff = web_header(&st->req, "X-Forwarded-For");
	struct sockaddr_storage ip;
	int rc;

	snprintf(st->ip, sizeof(st->ip), "-");
	st->req.client_ip = st->ip;
	if (!ci || !ci->client_addr ||
	    (rc = clientip_resolve(ci->client_addr, xff, NULL, s->trusted, &ip)) < 0)
		return;
	if (xff && rc == CLIENTIP_PEER && !cidr_set_match(s->trusted, ci->client_addr) &&
	    !atomic_exchange(&s->xff_said, 1)) {
		char peer[INET6_ADDRSTRLEN] = "?";

		if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
			    ci->client_addr)->sin6_addr, peer, sizeof(peer));
		else if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
			    ci->client_addr)->sin_addr, peer, sizeof(peer));
		/* said once: behind a front that is not trusted, every request has it */
		log_warnx("X-Forwarded-For from %s, which is not in [web] trusted_proxies: "
		    "ignored, the client is taken to be %s (every sign-in behind that front "
		    "counts against one address); add the front's address to trusted_proxies",
		    peer, peer);
	}
	if (ip.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ip)->sin_addr, st->ip,
		    sizeof(st->ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ip)->sin6_addr, st->ip,
		    sizeof(st->ip));
}

/* server_same_origin - does the POST's Origin (else Referer) name this host?
 * 1 also when it sends neither (the CSRF token still has to match) */
static int server_same_origin(struct web_req *r)
{
	const char *o = web_header(r, "Origin"), *host = web_header(r, MHD_HTTP_HEADER_HOST);
	char oh[256];

	if (!o || !*o)
		o = web_header(r, MHD_HTTP_HEADER_REFERER);
	if (!o || !*o)
		return 1;
	return host && form_origin_host(o, oh, sizeof(oh)) == 0 && !strcasecmp(oh, host);
}

/* web_csrf_ok - does the form's csrf field equal TOKEN (constant time)? */
int web_csrf_ok(struct web_req *r, const char *token)
{
	const char *f = web_form(r, "csrf");
	size_t n = token ? strlen(token) : 0;

	return n > 0 && f && strlen(f) == n && sodium_memcmp(f, token, n) == 0;
}

/* server_query_iter - MHD_KeyValueIterator: the query again, encoded */
static enum MHD_Result server_query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct buf *b = cls;

	buf_adds(b, b->len ? "&" : "");
	html_url_arg(b, key);
	if (value) {
		buf_adds(b, "=");
		html_url_arg(b, value);
	}
	return MHD_YES;
}

/* server_to_login - 303 to /login?next=<this page and its query> */
static int server_to_login(struct web_req *r)
{
	struct buf q = { 0 }, next = { 0 }, loc = { 0 };
	int rc;

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, server_query_iter, &q);
	buf_adds(&next, r->path);
	if (q.len) {
		buf_adds(&next, "?");
		buf_adds(&next, buf_str(&q));
	}
	buf_adds(&loc, "/login");
	if (strcmp(buf_str(&next), "/") != 0) {
		buf_adds(&loc, "?next=");
		html_url_arg(&loc, buf_str(&next));
	}
	rc = web_redirect(r, buf_str(&loc));
	buf_free(&q);
	buf_free(&next);
	buf_free(&loc);
	return rc;
}

/* server_bearer - the token of "Authorization: Bearer <token>", or NULL */
static const char *server_bearer(struct web_req *r)
{
	const char *a = web_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	for (a += 7; *a == ' '; a++)
		;
	return a;
}

/* server_signin - the user of a signed-in route, on session C: 1, 0 (answered:
 * not signed in), -1 (database trouble) */
static int server_signin(struct web_state *st, const struct route *rt, PGconn *c)
{
	struct web_req *r = &st->req;
	struct auth *a = st->srv->ctx->auth;
	const char *token = rt->kind == RK_API ? server_bearer(r) : NULL, *cookie;
	struct web_user u;
	int rc;

	if (token) {
		if ((rc = auth_bearer(a, c, token, &u)) <= 0)
			return rc < 0 ? -1 : (respond_unauthorized(r), 0);
		r->bearer = 1;
		r->csrf = "";
	} else {
		cookie = web_cookie(r, RESPOND_SESSION);
		rc = cookie ? auth_session(a, c, cookie, &u, st->csrf) : 0;
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (rt->kind == RK_API)
				respond_unauthorized(r);
			else if (st->is_post)
				web_error(r, 403, "your session has ended: sign in again");
			else
				server_to_login(r);
			return 0;
		}
		r->csrf = st->csrf;
	}
	web_set_user(r, &u);
	return 1;
}

/* server_busy - 503: no database session for the request (WHAT), logged with who asked */
static void server_busy(struct web_state *st, const char *what)
{
	log_warnx("%s %s: 503: %s user=%s ip=%s", st->method, st->path, what,
	    st->req.user ? st->user.name : "-", st->ip);
	web_error(&st->req, 503, "the database is busy or unreachable; try again");
}

/* server_signed_in - a route behind sign-in: session, user, CSRF, transaction, handler */
static void server_signed_in(struct web_state *st, const struct route *rt)
{
	struct web_ctx *ctx = st->srv->ctx;
	struct web_req *r = &st->req;
	PGconn *c = pool_get(ctx->pool, POOL_WAIT_MS);
	int rc;

	if (!c) {
		server_busy(st, "no database session free within 5 s");
		return;
	}
	/* a session whose link was lost before its first statement: once more on a new one */
	if ((rc = server_signin(st, rt, c)) < 0 && pool_lost(c) &&
	    (c = pool_renew(ctx->pool, c, POOL_WAIT_MS)) != NULL)
		rc = server_signin(st, rt, c);
	if (rc <= 0) {
		pool_put(ctx->pool, c);
		if (rc < 0)
			server_busy(st, "the database did not answer the sign-in check");
		return;
	}
	if (st->is_post && !r->bearer && (!server_same_origin(r) ||
	    !web_csrf_ok(r, st->csrf))) {
		pool_put(ctx->pool, c);
		log_warnx("%s %s: refused: csrf token or origin wrong user=%s ip=%s", st->method,
		    st->path, st->user.name, st->ip);
		web_error(r, 403, "the form is out of date or from another site: reload the "
		    "page and try again");
		return;
	}
	pool_put(ctx->pool, c);
	if (rt->notx) {
		rt->h(r);
		return;
	}
	/* the handler reads: a read session, the replica's when it may be read */
	rc = (c = pool_get(ctx->read, POOL_WAIT_MS)) ? pool_begin(ctx->read, c, st->user.id) : -1;
	if (rc < 0 && pool_lost(c) && (c = pool_renew(ctx->read, c, POOL_WAIT_MS)) != NULL)
		rc = pool_begin(ctx->read, c, st->user.id);
	if (rc < 0) {
		server_busy(st, c ? "the database did not start the transaction" :
		    "no read session free within 5 s");
		pool_put(ctx->read, c);
		return;
	}
	pool_where(ctx->read, c, st->read_from, sizeof(st->read_from));
	r->db = c;
	rc = rt->h(r);
	if (!st->answer.status) {
		log_warnx("%s %s: the handler sent no answer", st->method, st->path);
		web_error(r, 500, "internal error");
		rc = -1;
	}
	if (rc == 0 && PQtransactionStatus(c) == PQTRANS_INTRANS)
		pool_commit(ctx->read, c);
	r->db = NULL;
	pool_put(ctx->read, c);
}

/* server_dispatch - route the request and answer it */
static void server_dispatch(struct server *s, struct web_state *st)
{
	struct web_req *r = &st->req;
	const char *method = !strcmp(r->method, "HEAD") ? "GET" : r->method, *allow, *ct;
	const struct route *rt;

	rt = server_route(method, r->path, st->id, &allow);
	if (!rt && !*allow) {
		web_error(r, 404, "not found");
		return;
	}
	if (!rt) {
		respond_not_allowed(r, allow);
		return;
	}
	if (st->is_post) {
		ct = web_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			web_error(r, 415, "forms are sent urlencoded");
			return;
		}
		if (form_parse(&st->form, buf_str(&st->body), st->body.len) < 0)
			log_fatalx("out of memory");
	}
	if (rt->kind == RK_PUBLIC) {
		if (st->is_post && !server_same_origin(r)) {
			log_warnx("%s %s: refused: Origin names another site ip=%s", st->method,
			    st->path, st->ip);
			web_error(r, 403, "the form comes from another site");
			return;
		}
		rt->h(r);
		return;
	}
	server_signed_in(st, rt);
}

/* server_login_form - GET /login */
static int server_login_form(struct web_req *r)
{
	return auth_login_form(web_ctx_of(r)->auth, r);
}

/* server_login - POST /login */
static int server_login(struct web_req *r)
{
	return auth_login(web_ctx_of(r)->auth, r);
}

/* server_logout - POST /logout */
static int server_logout(struct web_req *r)
{
	return auth_logout(web_ctx_of(r)->auth, r);
}

/* server_static - GET /static/<name> */
static int server_static(struct web_req *r)
{
	struct web_ctx *ctx = web_ctx_of(r);

	return static_serve(r, r->path + strlen("/static/"), ctx->static_dir,
	    ctx->cfg->web.chartjs);
}

/* server_stream - GET /live/stream, /api/v1/stream */
static int server_stream(struct web_req *r)
{
	return live_stream(web_ctx_of(r)->live, r);
}

/* server_ping - SELECT 1 on a session of P (a lost link: once more on a new one); 1 if it
 * answered, with where a read session reads in WHERE */
static int server_ping(struct pool *p, char *where, size_t len)
{
	PGconn *c = pool_get(p, SERVER_HEALTHZ_WAIT_MS);
	int up = c && pool_exec(p, c, "SELECT 1", 0, NULL, NULL) == DB_OK;

	if (!up && pool_lost(c) && (c = pool_renew(p, c, SERVER_HEALTHZ_WAIT_MS)))
		up = pool_exec(p, c, "SELECT 1", 0, NULL, NULL) == DB_OK;
	pool_where(p, c, where, len);
	pool_put(p, c);
	return up;
}

/* server_healthz - ok when the primary and a read session answer; where reads go */
static int server_healthz(struct web_req *r)
{
	struct web_ctx *ctx = web_ctx_of(r);
	char where[1024] = "";
	struct buf b = { 0 };
	int up = server_ping(ctx->pool, where, sizeof(where)) &&
	    server_ping(ctx->read, where, sizeof(where));

	buf_adds(&b, up ? "ok\n" : "database unreachable\n");
	if (*where)
		buf_printf(&b, "%s\n", where);
	return web_send(r, up ? 200 : 503, "text/plain; charset=utf-8", &b);
}

/* server_access - MHD_AccessHandlerCallback: keep the body, answer on the last call */
static enum MHD_Result server_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload, size_t *upload_size,
    void **req)
{
	struct server *s = cls;
	struct web_state *st = *req;
	const char *cl;

	if (!st) {
		if (!(st = calloc(1, sizeof(*st))) || !(st->path = strdup(url))) {
			free(st);
			return MHD_NO;
		}
		*req = st;
		st->srv = s;
		st->start_us = clock_now_us();
		snprintf(st->method, sizeof(st->method), "%s", method);
		st->req = (struct web_req){ .conn = c, .method = st->method, .path = st->path,
					    .csrf = "", .client_ip = "-", .priv = st };
		st->is_post = !strcmp(method, "POST");
		server_client_ip(s, st);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (st->is_post && cl && (strlen(cl) > 9 || strtoul(cl, NULL, 10) > SERVER_BODY_MAX)) {
			/* answered before the body: libmicrohttpd reads no more of it and
			 * closes the connection after the answer */
			web_error(&st->req, 413, "the form is too large");
			return st->answer.status ? MHD_YES : MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (st->is_post && st->body.len + *upload_size > SERVER_BODY_MAX) {
			/* a chunked form past the limit: no answer can be queued while the
			 * body comes, so the connection is closed at once */
			log_warnx("%s %s: the form is longer than %d bytes: connection closed ip=%s",
			    st->method, st->path, SERVER_BODY_MAX, st->ip);
			return MHD_NO;
		}
		if (st->is_post)
			buf_add(&st->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (!st->answer.status)
		server_dispatch(s, st);
	return st->answer.status ? MHD_YES : MHD_NO;
}

/* server_log_path - PATH for a log line: control and non-ASCII bytes as '?', cut at 200 */
static void server_log_path(const char *path, char *out, size_t len)
{
	size_t i;

	for (i = 0; path[i] && i + 1 < len && i < 200; i++)
		out[i] = (unsigned char)path[i] < ' ' || (unsigned char)path[i] >= 0x7f ?
		    '?' : path[i];
	out[i] = '\0';
}

/* server_completed - MHD_RequestCompletedCallback: log the request, free its state */
static void server_completed(void *cls, struct MHD_Connection *c, void **req,
    enum MHD_RequestTerminationCode toe)
{
	struct web_state *st = *req;
	char path[256];

	if (!st)
		return;
	*req = NULL;
	server_log_path(st->path, path, sizeof(path));
	log_info("%s %s %u user=%s ip=%s ms=%lld%s", st->method, path, st->answer.status,
	    st->req.user ? st->user.name : "-", st->ip[0] ? st->ip : "-",
	    (clock_now_us() - st->start_us) / 1000,
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (cut short)");
	buf_free(&st->body);
	form_free(&st->form);
	respond_reset(&st->answer);
	sodium_memzero(st->csrf, sizeof(st->csrf));
	free(st->path);
	free(st);
}

/* server_mhd_log - libmicrohttpd's own error lines into the log */
__attribute__((format(printf, 2, 0)))
static void server_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	log_warnx("libmicrohttpd: %s", line);
}

/* server_bind - the sockets and the trusted proxies, as root */
struct server *server_bind(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_list *l = &cfg->web.listen;
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		log_fatalx("out of memory");
	if (l->n == 0 || l->n > SERVER_MAX_LISTEN) {
		snprintf(err, errlen, "[web] listen: give 1 to %d addresses", SERVER_MAX_LISTEN);
		goto fail;
	}
	if (!(s->trusted = cidr_set_new()))
		log_fatalx("out of memory");
	for (size_t i = 0; i < cfg->web.trusted_proxies.n; i++)
		if (cidr_set_add(s->trusted, cfg->web.trusted_proxies.v[i], NULL, err, errlen) < 0)
			goto fail;
	if (cidr_set_finish(s->trusted) < 0)
		log_fatalx("out of memory");
	for (size_t i = 0; i < l->n; i++) {
		int fd = listen_socket(l->v[i], err, errlen);
		if (fd < 0)
			goto fail;
		s->fd[s->nfd++] = fd;
	}
	s->threads = cfg->web.threads > 0 ? (unsigned)cfg->web.threads : 32;
	return s;
fail:
	for (size_t i = 0; i < s->nfd; i++)
		close(s->fd[i]);
	cidr_set_free(s->trusted);
	free(s);
	return NULL;
}

/* server_start - one daemon per socket, a thread per connection */
int server_start(struct server *s, struct web_ctx *ctx, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG | (MHD_is_feature_supported(MHD_FEATURE_POLL) ? MHD_USE_POLL : 0);

	s->ctx = ctx;
	for (size_t i = 0; i < s->nfd; i++) {
		struct MHD_OptionItem o[] = {
			{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)server_mhd_log, NULL },
			{ MHD_OPTION_LISTEN_SOCKET, s->fd[i], NULL },
			{ MHD_OPTION_CONNECTION_LIMIT, s->threads, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, SERVER_TIMEOUT_S, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)server_completed, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};
		s->d[i] = MHD_start_daemon(flags, 0, NULL, NULL, server_access, s,
		    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
		if (!s->d[i]) {
			snprintf(err, errlen, "cannot start the HTTP server on listen address %zu",
			    i + 1);
			return -1;
		}
	}
	return 0;
}

/* server_port - the first socket's port */
int server_port(const struct server *s)
{
	return s->nfd ? listen_port(s->fd[0]) : -1;
}

/* server_stop - stop every daemon (their connection threads joined) */
void server_stop(struct server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfd; i++) {
		if (s->d[i])
			MHD_stop_daemon(s->d[i]);	/* closes its listening socket */
		else
			close(s->fd[i]);
	}
	cidr_set_free(s->trusted);
	free(s);
}
