/*
 * NAME
 *	html.h - beacon-web's HTML: escaping, the page chrome, small pieces
 *
 * SYNOPSIS
 *	struct buf b = { 0 };
 *	html_begin(&b, r, "Messages", HTML_NAV_MESSAGES);
 *	buf_adds(&b, "<p>");
 *	html_esc(&b, subject);
 *	buf_adds(&b, "</p>");
 *	html_end(&b, NULL);
 *	return html_send(r, 200, &b);
 *
 * DESCRIPTION
 *	Every string that comes from outside the program (the database, the
 *	request) goes into a page through html_esc() (text and attribute
 *	values alike: it escapes both quotes) or html_url_arg() (a value in
 *	a query string, then html_esc'd as part of the href).  Invalid UTF-8
 *	and control characters become U+FFFD: a page is always valid UTF-8.
 *
 *	The chrome is the same on every signed-in page: the site name, the
 *	navigation Messages, Conversations, Summary, Live (the current one
 *	marked aria-current), the user's name and the logout form (POST
 *	/logout with the session's csrf).  The login page has no navigation.
 *	Pages carry no inline script or style (the Content-Security-Policy
 *	forbids them): /static/beacon.css, /static/beacon.js, and the
 *	scripts a page names in html_end().
 *
 *	Times go out as <time datetime="UTC ISO 8601">YYYY-MM-DD HH:MM
 *	UTC</time> (with data-sec and :SS in the events tables); beacon.js
 *	rewrites the text in the viewer's zone and writes that zone's name
 *	into each <span class="tz"> (html_zone, in a table's Time heading).
 */
#ifndef BEACON_WEB_HTML_H
#define BEACON_WEB_HTML_H

#include "buf.h"
#include "web.h"

/* html_nav - which navigation entry a page is */
enum html_nav {
	HTML_NAV_NONE,
	HTML_NAV_MESSAGES,
	HTML_NAV_CONVERSATIONS,
	HTML_NAV_SUMMARY,
	HTML_NAV_LIVE,
};

/* html_esc - append S (NULL: nothing) escaped for HTML text and quoted attributes */
void html_esc(struct buf *b, const char *s);
/* html_url_arg - append S percent-encoded for a query string value */
void html_url_arg(struct buf *b, const char *s);
/* html_begin - the document head and, signed in (r->user), the navigation */
void html_begin(struct buf *b, const struct web_req *r, const char *title, enum html_nav nav);
/* html_end - close the page; SCRIPTS: NULL or a NULL-terminated list of /static/ names */
void html_end(struct buf *b, const char *const *scripts);
/* html_send - answer STATUS with the page in B (taken over) */
int html_send(struct web_req *r, unsigned status, struct buf *b);
/* html_time - a <time> element for ISO (UTC, as data.c gives it); NULL or "": an en dash */
void html_time(struct buf *b, const char *iso);
/* html_time_sec - html_time to the second (data-sec: beacon.js keeps the seconds) */
void html_time_sec(struct buf *b, const char *iso);
/* html_time_text - the text html_time shows before beacon.js: "YYYY-MM-DD HH:MM UTC" */
void html_time_text(struct buf *b, const char *iso);
/* html_zone - <span class="tz">UTC</span>, which beacon.js makes the viewer's zone */
void html_zone(struct buf *b);
/* html_json_block - <script type="application/json" id=ID> with JSON, safe in HTML */
void html_json_block(struct buf *b, const char *id, const struct buf *json);
/* html_error_page - a whole page (html_begin .. html_end) telling STATUS and MESSAGE */
void html_error_page(struct buf *b, const struct web_req *r, unsigned status, const char *message);
/* html_or_dash - S escaped, or an en dash when S is NULL or "" */
void html_or_dash(struct buf *b, const char *s);
/* html_input - <label>LABEL <input type=TYPE name=NAME value=VALUE></label> */
void html_input(struct buf *b, const char *label, const char *type, const char *name,
		const char *value);

#endif
