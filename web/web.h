/*
 * NAME
 *	web.h - what beacon-web's request handlers see and use
 *
 * DESCRIPTION
 *	server.c accepts a request, authenticates it (session cookie or
 *	bearer token, auth.c), takes a pooled read-only PostgreSQL
 *	connection (pool.c: on the streaming replica of [web] read_conninfo
 *	while it is close enough behind, else on the primary), opens a
 *	transaction in which beacon.web_user is the
 *	signed-in user's id (the row-level security policies key on it),
 *	and calls the route's handler with a struct web_req.  The handler
 *	answers with one of the web_send* functions exactly once; server.c
 *	then commits (or rolls back after an error) and returns the
 *	connection.
 */
#ifndef BEACON_WEB_H
#define BEACON_WEB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "buf.h"

struct MHD_Connection;

/* web_user - the signed-in account (beacon.web_users) */
struct web_user {
	long long id;
	char name[256];		/* "ann@example.org", "@example.org", "sasl:ann" */
	int admin;		/* sees every sender's mail */
};

/* web_req - one request */
struct web_req {
	struct MHD_Connection *conn;
	const char *method;		/* "GET", "HEAD", "POST" */
	const char *path;		/* the URL path, without the query */
	const struct web_user *user;	/* NULL on public routes */
	const char *csrf;		/* the session's CSRF token, for forms; "" with a bearer token */
	int bearer;			/* authenticated by an API token */
	PGconn *db;			/* in a transaction as user; NULL on public routes */
	const char *client_ip;		/* the client's address (after trusted proxies) */
	void *priv;			/* server.c's own state */
};

/* web_arg - the value of NAME from the query string or, for a POST, the
 * urlencoded form; NULL if absent.  Valid until the request ends. */
const char *web_arg(struct web_req *r, const char *name);

/* web_path_id - the message id in the path of /m/<uuid>, /api/v1/messages/<uuid>
 * and /api/v1/messages/<uuid>/events: 36 characters of a uuid's form, checked
 * (lower case); NULL on other routes */
const char *web_path_id(struct web_req *r);

/* web_read_from - where the request's data was read: "read from replica HOST:PORT
 * (lag 0.4 s)", or "read from the primary: WHY" after a fallback (lib/dbread.h's
 * dbread_describe); "" without [web] read_conninfo and on public routes.  For the
 * page footer (escape it). */
const char *web_read_from(struct web_req *r);

/* web_send - answer STATUS with CONTENT_TYPE and BODY (taken over and
 * freed); security headers and Cache-Control: no-store are added.
 * Returns 0, or -1 if the answer could not be queued. */
int web_send(struct web_req *r, unsigned status, const char *content_type, struct buf *body);
/* web_send_csv - answer 200 text/csv, a download named FILENAME (a
 * plain name: [A-Za-z0-9._-] only) */
int web_send_csv(struct web_req *r, const char *filename, struct buf *body);
/* web_redirect - answer 303 See Other to LOCATION (a path on this site) */
int web_redirect(struct web_req *r, const char *location);
/* web_error - answer STATUS with MESSAGE: a JSON {"error": MESSAGE}
 * under /api/, an HTML page otherwise */
int web_error(struct web_req *r, unsigned status, const char *message);

/* web_handler - a route's handler; returns what the web_send* call returned */
typedef int web_handler(struct web_req *r);

#endif
