/*
 * page_live.c - GET /live: the user's events as they come
 *
 * The page holds table#live-events and, in <script type="application/json"
 * id="live-recent">, the user's last LIVE_RECENT events of the last
 * DATA_RECENT_DAYS days (data_recent_events, the API's event objects);
 * live.js shows those first, then opens an EventSource on /live/stream
 * (live.c) and puts each "beacon" event (an event object too) on top as
 * a tr.event.new.  One script draws both, from one form of event.
 */
#include "api.h"
#include "html.h"
#include "pages.h"

#define LIVE_RECENT 20	/* events shown when the page opens */

/* page_live - the live table, its first rows and its script */
int page_live(struct web_req *r)
{
	static const char *const scripts[] = { "live.js", NULL };
	struct buf b = { 0 }, json = { 0 };
	PGresult *res = data_recent_events(r, LIVE_RECENT);
	int n;

	if (!data_ok(res))
		return data_fail(r, res);
	n = PQntuples(res);
	buf_adds(&json, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			buf_adds(&json, ",\n");
		api_row_json(&json, res, i, -1);
	}
	buf_adds(&json, "]");
	PQclear(res);

	html_begin(&b, r, "Live", HTML_NAV_LIVE);
	buf_adds(&b, "<h1>Live</h1>\n<div class=\"tools\"><p class=\"count\" id=\"live-about\">");
	if (n > 0)
		buf_printf(&b, "Your last %d event%s of the last %d days, newest on top; opens, "
			   "clicks, downloads and replies appear here as they happen.", n,
			   n == 1 ? "" : "s", DATA_RECENT_DAYS);
	else
		buf_printf(&b, "No event of your messages in the last %d days. Opens, clicks, "
			   "downloads and replies appear here as they happen, newest on top.",
			   DATA_RECENT_DAYS);
	buf_adds(&b, "</p><p id=\"live-status\" class=\"status\" data-state=\"connecting\">"
		 "Connecting\xe2\x80\xa6</p></div>\n"
		 "<div class=\"scroll\"><table id=\"live-events\" class=\"list cards\" "
		 "data-stream=\"/live/stream\">\n<thead><tr><th>Time (");
	html_zone(&b);
	buf_adds(&b, ")</th><th>Subject</th><th>Recipient</th><th>Kind</th><th>Class</th>"
		 "<th>Place</th><th>Device</th><th>OS</th><th>Client</th><th>Link or file</th>"
		 "</tr></thead>\n<tbody>\n</tbody></table></div>\n");
	if (n == 0)
		buf_adds(&b, "<p id=\"live-waiting\" class=\"empty\">Waiting for the first event"
			 "\xe2\x80\xa6 keep this page open: it needs no reloading.</p>\n");
	html_json_block(&b, "live-recent", &json);
	buf_free(&json);
	html_end(&b, scripts);
	return html_send(r, 200, &b);
}
