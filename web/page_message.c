/*
 * page_message.c - GET /m/<uuid>: one message: its facts, its recipients
 * with what each did, and every event newest first, the ones that do
 * not count shown greyed with their class and why
 *
 * ?format=csv&table=recipients|events gives either table as CSV;
 * ?classes= chooses the counted classes, as everywhere.  A message the
 * user may not see is not there (404), as one that never was: the
 * row-level security hides it, not this file.  On a phone each row of
 * the tables reads as a card (beacon.css, table.cards): the data-label
 * and data-unit attributes name the values there.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "html.h"
#include "pages.h"

/* what a message the user may not see, or that never was, answers */
#define PAGE_MESSAGE_NOT_FOUND "This message does not exist or is not one of yours."

/* page_message_facts - the header: sender, time, campaign, Message-ID, figures */
static void page_message_facts(struct buf *b, const PGresult *m, const struct data_filter *f)
{
	static const char *const figs[][2] = {
		{ "recipients", "recipients" }, { "opened", "opened" }, { "clicked", "clicked" },
		{ "downloaded", "downloaded" },
	};
	const char *campaign = page_get(m, 0, "campaign");
	struct buf extra = { 0 };

	buf_adds(b, "<p class=\"back\"><a href=\"/\">\xe2\x86\x90 Messages</a></p>\n<h1>");
	page_subject(b, page_get(m, 0, "subject"));
	buf_adds(b, "</h1>\n<dl class=\"facts\">\n<div><dt>Sent</dt><dd>");
	html_time(b, page_get(m, 0, "sent_at"));
	buf_adds(b, "</dd></div>\n<div><dt>From</dt><dd>");
	html_or_dash(b, page_get(m, 0, "sender"));
	buf_adds(b, "</dd></div>\n<div><dt>Campaign</dt><dd>");
	if (campaign && *campaign) {
		buf_adds(b, "<a href=\"/summary?campaign=");
		html_url_arg(b, campaign);
		buf_adds(b, "\">");
		html_esc(b, campaign);
		buf_adds(b, "</a>");
	} else {
		buf_adds(b, "\xe2\x80\x93");
	}
	buf_adds(b, "</dd></div>\n<div><dt>Message-ID</dt><dd class=\"mono\">");
	html_or_dash(b, page_get(m, 0, "message_id"));
	buf_adds(b, "</dd></div>\n</dl>\n<ul class=\"figures\" id=\"message-figures\">");
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		buf_printf(b, "<li><span class=\"v\" data-k=\"%s\">", figs[i][0]);
		html_or_dash(b, page_get(m, 0, figs[i][0]));
		buf_printf(b, "</span><span class=\"l\">%s</span></li>", figs[i][1]);
	}
	buf_adds(b, "</ul>\n");
	page_opened_note(b);
	buf_adds(b, "<p class=\"tools\"><a href=\"");
	buf_adds(&extra, "message=");
	buf_adds(&extra, page_get(m, 0, "id"));
	page_filter_href(b, "/summary", f, buf_str(&extra));
	buf_free(&extra);
	buf_adds(b, "\">Summary and charts of this message \xe2\x86\x92</a></p>\n");
}

/* page_message_yes - a yes/no cell */
static void page_message_yes(struct buf *b, const PGresult *res, int i, const char *name)
{
	const char *v = page_get(res, i, name);
	int yes = v && v[0] == 't';

	buf_printf(b, "<td class=\"yn %s\" data-k=\"%s\" data-label=\"%s\">%s</td>",
		   yes ? "yes" : "no", name, name, yes ? "yes" : "\xe2\x80\x93");
}

/* page_message_csv - the a.csv of table NAME of message ID, with the filters */
static void page_message_csv(struct buf *b, const char *id, const char *name,
			     const struct data_filter *f)
{
	char path[64], extra[32];

	snprintf(path, sizeof(path), "/m/%s", id);
	snprintf(extra, sizeof(extra), "table=%s", name);
	page_csv_link(b, path, f, extra, "CSV");
}

/* page_message_recipients - table#recipients: who got it and what each did */
static void page_message_recipients(struct buf *b, const PGresult *res, const char *id,
				    const struct data_filter *f)
{
	buf_adds(b, "<section>\n<div class=\"tools\"><h2>Recipients</h2>");
	page_message_csv(b, id, "recipients", f);
	buf_adds(b, "</div>\n<div class=\"scroll\"><table id=\"recipients\" class=\"list cards\">\n"
		 "<thead><tr><th>Recipient</th><th>Status</th><th>Opened</th><th>Clicked</th>"
		 "<th>Downloaded</th><th>Replied</th><th>First activity (");
	html_zone(b);
	buf_adds(b, ")</th><th>Last activity</th></tr></thead>\n<tbody>\n");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = page_get(res, i, "name");
		const char *status = page_get(res, i, "status");
		int tracked = status && (!strcmp(status, "tracked") || !strcmp(status, "shared"));

		buf_printf(b, "<tr class=\"recipient%s\"><td class=\"addr wide\">",
			   tracked ? "" : " untracked");
		html_esc(b, page_get(res, i, "address"));
		if (name && *name) {
			buf_adds(b, " <span class=\"muted\">");
			html_esc(b, name);
			buf_adds(b, "</span>");
		}
		buf_adds(b, "</td><td class=\"rstatus\">");
		html_esc(b, status);
		buf_adds(b, "</td>");
		page_message_yes(b, res, i, "opened");
		page_message_yes(b, res, i, "clicked");
		page_message_yes(b, res, i, "downloaded");
		page_message_yes(b, res, i, "replied");
		page_time_cell(b, page_get(res, i, "first_activity"), "first", 0);
		page_time_cell(b, page_get(res, i, "last_activity"), "last", 0);
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_message_class - td.class: the class, and for proxy and uncounted events why
 * (in words; the reason's code in the title) */
static void page_message_class(struct buf *b, const PGresult *res, int i, int uncounted)
{
	const char *class = page_get(res, i, "class");
	const char *why = page_get(res, i, "why");
	const char *reason = page_get(res, i, "reason");

	buf_adds(b, "<td class=\"class\">");
	if (!class) {
		buf_adds(b, "\xe2\x80\x93</td>");
		return;
	}
	buf_adds(b, "<span class=\"cls\">");
	html_esc(b, class);
	buf_adds(b, "</span>");
	if (uncounted || !strcmp(class, "proxy")) {
		buf_adds(b, "<span class=\"why\"");
		if (reason && *reason) {
			buf_adds(b, " title=\"");
			html_esc(b, reason);
			buf_adds(b, "\"");
		}
		buf_adds(b, ">");
		if (uncounted)
			buf_adds(b, "<b>not counted</b>: ");
		html_esc(b, why && *why ? why : "not a counted class");
		buf_adds(b, "</span>");
	}
	buf_adds(b, "</td>");
}

/* page_message_events - table#events, newest first */
static void page_message_events(struct buf *b, const PGresult *res, const char *id,
				const struct data_filter *f)
{
	int n = PQntuples(res), shown = n > DATA_EVENTS_MAX ? DATA_EVENTS_MAX : n;

	buf_adds(b, "<section>\n<div class=\"tools\"><h2>Events</h2>");
	page_message_csv(b, id, "events", f);
	buf_adds(b, "</div>\n");
	if (n == 0)
		buf_adds(b, "<p class=\"empty\">Nothing yet: no recipient has opened it.</p>\n");
	if (n > shown)
		buf_printf(b, "<p class=\"note\">The newest %d events. The CSV has up to %d, "
			   "newest first, and says so in its last row when there are more.</p>\n",
			   shown, DATA_CSV_MAX);
	buf_adds(b, "<p class=\"note\">Greyed rows do not count as opens or clicks: the class "
		 "says what sent them and why.</p>\n");
	buf_adds(b, "<div class=\"scroll\"><table id=\"events\" class=\"list cards\">\n<thead><tr>"
		 "<th>Time (");
	html_zone(b);
	buf_adds(b, ")</th><th>Recipient</th><th>Kind</th><th>Class</th><th>Place</th>"
		 "<th>Device</th><th>OS</th><th>Client</th><th>Link or file</th>"
		 "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < shown; i++) {
		const char *kind = page_get(res, i, "kind");
		const char *counted = page_get(res, i, "counted");
		const char *late = page_get(res, i, "late");
		const char *link = page_get(res, i, "link");
		const char *file = page_get(res, i, "attachment");
		const char *rcpt = page_get(res, i, "recipient");
		const char *place = page_get(res, i, "place");
		const char *class = page_get(res, i, "class");
		int engagement = kind && (!strcmp(kind, "open") || !strcmp(kind, "click") ||
					  !strcmp(kind, "download"));
		int uncounted = engagement && !(counted && counted[0] == 't');

		buf_printf(b, "<tr class=\"event%s%s\">", uncounted ? " uncounted" : "",
			   late && late[0] == 't' ? " late" : "");
		page_time_cell(b, page_get(res, i, "at"), NULL, 1);
		buf_adds(b, "<td class=\"addr wide\">");
		if (rcpt) {
			html_esc(b, rcpt);
		} else {
			buf_adds(b, "<span class=\"muted\">someone else");
			if (page_get(res, i, "from_domain")) {
				buf_adds(b, " at ");
				html_esc(b, page_get(res, i, "from_domain"));
			}
			buf_adds(b, "</span>");
		}
		buf_adds(b, "</td><td class=\"kind\">");
		html_esc(b, kind);
		buf_adds(b, "</td>");
		page_message_class(b, res, i, uncounted);
		if (!place && class && !strcmp(class, "proxy"))
			buf_adds(b, "<td class=\"meta place\"><span class=\"muted\">unknown (proxy)"
				 "</span></td>");
		else
			page_cell(b, "meta place", NULL, place);
		page_cell(b, "meta device", NULL, page_get(res, i, "device"));
		page_cell(b, "meta os", NULL, page_get(res, i, "os"));
		page_cell(b, "meta client", NULL, page_get(res, i, "client"));
		if (link) {
			buf_adds(b, "<td class=\"target wide\"><span class=\"url\">");
			html_esc(b, link);
			buf_adds(b, "</span></td>");
		} else {
			page_cell(b, "target wide", NULL, file);
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_message - the message page, or one of its tables as CSV */
int page_message(struct web_req *r)
{
	const char *id = web_path_id(r), *table = web_arg(r, "table");
	PGresult *m, *rc_res, *ev;
	struct data_filter f;
	struct buf b = { 0 };
	char title[160];
	int rc;

	if (data_filter_request(r, &f, DATA_PAGE, &rc) < 0)
		return rc;
	if (!id)
		return web_error(r, 404, PAGE_MESSAGE_NOT_FOUND);
	m = data_message(r, id, f.classes);
	if (!data_ok(m))
		return data_fail(r, m);
	if (PQntuples(m) == 0) {
		PQclear(m);
		return web_error(r, 404, PAGE_MESSAGE_NOT_FOUND);
	}
	if (f.csv && (!table || (strcmp(table, "recipients") && strcmp(table, "events")))) {
		PQclear(m);
		return web_error(r, 400, "table: recipients or events");
	}
	rc_res = f.csv && strcmp(table, "recipients") ? NULL : data_recipients(r, id, f.classes);
	if (rc_res && !data_ok(rc_res)) {
		PQclear(m);
		return data_fail(r, rc_res);
	}
	ev = f.csv && strcmp(table, "events") ? NULL :
		data_events(r, id, f.classes, (f.csv ? DATA_CSV_MAX : DATA_EVENTS_MAX) + 1, 0);
	if (ev && !data_ok(ev)) {
		PQclear(m);
		PQclear(rc_res);
		return data_fail(r, ev);
	}
	if (f.csv) {
		rc = rc_res ? api_send_csv(r, "recipients.csv", rc_res, -1, -1) :
			api_send_csv(r, "events.csv", ev, DATA_CSV_MAX, -1);
	} else {
		const char *subject = page_get(m, 0, "subject");

		snprintf(title, sizeof(title), "%.150s", subject && *subject ? subject : "Message");
		html_begin(&b, r, title, HTML_NAV_MESSAGES);
		page_message_facts(&b, m, &f);
		page_message_recipients(&b, rc_res, id, &f);
		page_message_events(&b, ev, id, &f);
		html_end(&b, NULL);
		rc = html_send(r, 200, &b);
	}
	PQclear(m);
	PQclear(rc_res);
	PQclear(ev);
	return rc;
}
