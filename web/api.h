/*
 * api.h - beacon-web's JSON API under /api/v1/: the handlers server.c routes to
 *
 * DESCRIPTION
 *	Each is a web_handler (web.h), run signed in (session cookie or
 *	bearer token) in the request's transaction.  /api/v1/stream is
 *	server.c's (live.c), not here.
 */
#ifndef BEACON_WEB_API_H
#define BEACON_WEB_API_H

#include "web.h"

web_handler api_messages;	/* GET /api/v1/messages */
web_handler api_message;	/* GET /api/v1/messages/<uuid> */
web_handler api_events;		/* GET /api/v1/messages/<uuid>/events */
web_handler api_summary;	/* GET /api/v1/summary */

#endif
