/*
 * page_live.c - GET /live: the user's events as they come
 *
 * The page is an empty table#live-events (and #live-waiting, a note
 * live.js removes with the first event); live.js opens an EventSource
 * on /live/stream (live.c) and puts each "beacon" event (an event
 * object of the API, api.h) on top as a tr.event.  Nothing is queried
 * here: the stream reads the events through beacon.web_events, as the
 * user.
 */
#include "html.h"
#include "pages.h"

/* page_live - the live table and its script */
int page_live(struct web_req *r)
{
	static const char *const scripts[] = { "live.js", NULL };
	struct buf b = { 0 };

	html_begin(&b, r, "Live", HTML_NAV_LIVE);
	buf_adds(&b, "<h1>Live</h1>\n<div class=\"tools\"><p class=\"count\">Opens, clicks, "
		 "downloads and replies of your messages as they happen, newest on top.</p>"
		 "<p id=\"live-status\" class=\"status\" data-state=\"connecting\">Connecting"
		 "\xe2\x80\xa6</p></div>\n"
		 "<div class=\"scroll\"><table id=\"live-events\" class=\"list\" "
		 "data-stream=\"/live/stream\">\n<thead><tr><th>Time</th><th>Recipient</th>"
		 "<th>Kind</th><th>Class</th><th>Place</th><th>Device</th><th>OS</th>"
		 "<th>Client</th><th>Link or file</th></tr></thead>\n<tbody>\n"
		 "</tbody></table></div>\n"
		 "<p id=\"live-waiting\" class=\"empty\">Waiting for events\xe2\x80\xa6 they "
		 "appear here without reloading the page.</p>\n");
	html_end(&b, scripts);
	return html_send(r, 200, &b);
}
