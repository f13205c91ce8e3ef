/*
 * pages.h - beacon-web's HTML pages: the handlers server.c routes to
 *
 * DESCRIPTION
 *	Each is a web_handler (web.h).  page_login renders the sign-in
 *	form (fields user, password, csrf, next: the form's action is POST
 *	/login, next is the query's next passed on) with ERROR (NULL: none)
 *	in its message slot, status 200 without an error and 401 with one;
 *	auth.c calls it for GET /login and after a refused POST /login,
 *	with r->csrf set to the sign-in form's token.
 *	The others run signed in, in the request's transaction.
 */
#ifndef BEACON_WEB_PAGES_H
#define BEACON_WEB_PAGES_H

#include "web.h"

/* page_login - the sign-in form, ERROR shown when not NULL */
int page_login(struct web_req *r, const char *error);
web_handler page_messages;	/* GET /: the tracked messages, searchable */
web_handler page_conversations;	/* GET /conversations: messages grouped by thread */
web_handler page_message;	/* GET /m/<uuid>: one message, its recipients and events */
web_handler page_summary;	/* GET /summary: the summary report, charts */
web_handler page_live;		/* GET /live: events as they come (live.js, /live/stream) */

#endif
