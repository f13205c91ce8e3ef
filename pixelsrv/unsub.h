/*
 * NAME
 *	unsub.h - the one-click unsubscribe form (RFC 8058) and its pages
 *
 * SYNOPSIS
 *	if (unsub_one_click(content_type, body, len)) ... the POST asks ...
 *	unsub_page_confirm_for(action), unsub_page_done_for(action)	(static HTML)
 *
 * DESCRIPTION
 *	A mailbox provider that honours List-Unsubscribe-Post sends
 *	    POST /u/<token>/<mac>
 *	    Content-Type: application/x-www-form-urlencoded (or multipart/form-data)
 *
 *	    List-Unsubscribe=One-Click
 *	unsub_one_click() says whether a body is such a form: a field named
 *	List-Unsubscribe whose value is One-Click (names and values compared
 *	exactly, after form decoding: '+' and %XX in a urlencoded body; the
 *	name from the Content-Disposition of a multipart part).  Any other
 *	field is ignored; a body of any other type, or that cannot be read,
 *	is no.  Nothing is allocated; the body is at most UNSUB_BODY_MAX.
 *
 *	The pages say what [milter] unsubscribe_action does (CFG_UNSUB_DROP:
 *	the mail service no longer delivers that sender's mail to the
 *	recipient; CFG_UNSUB_UNTRACK: it is delivered untracked, and the
 *	page says so).  The pages are fixed text: nothing of the request (token, address,
 *	header) is written into them.  The confirmation page's form posts
 *	the one-click field to the page's own URL (no action attribute), so
 *	a person acts as a provider's POST would; a GET or HEAD of it (a
 *	link scanner's) changes nothing.
 */
#ifndef BEACON_UNSUB_H
#define BEACON_UNSUB_H

#include <stddef.h>

#define UNSUB_BODY_MAX 2048	/* bytes of a POST body read at most */

/* unsub_one_click - does BODY[0..LEN) of Content-Type TYPE (may be NULL) hold
 * List-Unsubscribe=One-Click? 1 or 0 */
int unsub_one_click(const char *type, const char *body, size_t len);

/* unsub_page_confirm_for - GET: what a click does under ACTION, and the button */
const char *unsub_page_confirm_for(int action);
/* unsub_page_done_for - after the POST, under ACTION */
const char *unsub_page_done_for(int action);
extern const char unsub_page_bad[];	/* a POST without the one-click field */

#endif
