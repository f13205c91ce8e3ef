/*
 * NAME
 *	respond.h - beacon-web's answers: the web_send* calls of web.h, the
 *	cookies and the headers every answer carries
 *
 * DESCRIPTION
 *	Every answer goes through web_send_response(): the security headers
 *	(a Content-Security-Policy without inline code, nosniff, same-origin
 *	referrers, no framing), the Cache-Control it is given (no-store but
 *	for static files), the cookies the request set, then libmicrohttpd's
 *	queue.  A request answers once: a second answer is dropped and logged.
 *
 *	Cookies are named with the __Host- prefix (RESPOND_SESSION,
 *	RESPOND_LOGIN): a browser keeps such a cookie only when it came
 *	Secure, with Path=/ and without Domain from this very host, so a
 *	sibling host (the pixel server's, say) cannot plant one for this site.
 *
 *	An error page (web_error) outside /api/ is a page of the site's own
 *	frame (html.h: the navigation when signed in) with the status, the
 *	reason and a way back; under /api/ it is {"error": "..."}.
 *
 *	server.c keeps each request's struct respond and hands it out with
 *	respond_of(); respond_reset() frees what it holds.
 */
#ifndef BEACON_WEB_RESPOND_H
#define BEACON_WEB_RESPOND_H

#include <stddef.h>

#include "web.h"

#define RESPOND_MAX_COOKIES 4	/* Set-Cookie headers of one answer */
#define RESPOND_SESSION "__Host-beacon_session"	/* the session cookie */
#define RESPOND_LOGIN "__Host-beacon_login"	/* the sign-in form's own cookie */

struct MHD_Response;

/* respond - what a request has answered so far */
struct respond {
	unsigned status;			/* the answer's status; 0: none yet */
	char *cookies[RESPOND_MAX_COOKIES];	/* Set-Cookie values to send */
	size_t ncookies;			/* how many */
};

/* respond_of - request R's answer state (server.c) */
struct respond *respond_of(struct web_req *r);
/* respond_reset - free the cookies RS holds */
void respond_reset(struct respond *rs);

/* web_set_cookie - send cookie NAME=VALUE (Path=/; HttpOnly; Secure; SameSite=Strict)
 * with the answer; MAX_AGE >= 0 adds Max-Age (0: delete it) */
void web_set_cookie(struct web_req *r, const char *name, const char *value, long max_age);
/* web_send_response - answer STATUS with RESP (destroyed), adding the security
 * headers, the cookies set and CACHE_CONTROL; 0, or -1 */
int web_send_response(struct web_req *r, unsigned status, struct MHD_Response *resp,
    const char *cache_control);
/* respond_unauthorized - 401 JSON with WWW-Authenticate: Bearer */
int respond_unauthorized(struct web_req *r);
/* respond_not_allowed - 405 with Allow: ALLOW */
int respond_not_allowed(struct web_req *r, const char *allow);

#endif
