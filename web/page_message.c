/*
 * page_message.c - GET /m/<uuid>: one message: its facts, its recipients
 * with what each did, and every event newest first, the ones that do
 * not count shown greyed with their class and why
 *
 * ?format=csv&table=recipients|events gives either table as CSV.  A
 * message the user may not see is not there (404), as one that never
 * was: the row-level security hides it, not this file.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "html.h"
#include "pages.h"

/* page_message_class_note - what a class means, when the event carries no reason text */
static const char *page_message_class_note(const char *class)
{
	static const char *const notes[][2] = {
		{ "proxy", "a mail provider's image proxy: a real open, place unknown" },
		{ "prefetch", "fetched ahead by a mail service, not read by a person" },
		{ "scanner", "a security scanner, not a person" },
		{ "internal", "from the internal network" },
		{ "sender", "from the address the message was sent from" },
		{ "bot", "a program, not a mail client" },
	};

	for (size_t i = 0; class && i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strcmp(class, notes[i][0]) == 0)
			return notes[i][1];
	return NULL;
}

/* page_message_csv - an a.csv to table NAME of message ID */
static void page_message_csv(struct buf *b, const char *id, const char *name)
{
	buf_adds(b, "<a class=\"csv\" href=\"/m/");
	html_esc(b, id);
	buf_printf(b, "?format=csv&amp;table=%s\" download>CSV</a>", name);
}

/* page_message_facts - the header: sender, time, campaign, Message-ID, figures */
static void page_message_facts(struct buf *b, const PGresult *m)
{
	static const char *const figs[] = { "recipients", "opened", "clicked", "downloaded" };
	const char *campaign = page_get(m, 0, "campaign");

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
		buf_printf(b, "<li><span class=\"v\" data-k=\"%s\">", figs[i]);
		html_or_dash(b, page_get(m, 0, figs[i]));
		buf_printf(b, "</span><span class=\"l\">%s</span></li>", figs[i]);
	}
	buf_adds(b, "</ul>\n<p class=\"tools\"><a href=\"/summary?message=");
	html_esc(b, page_get(m, 0, "id"));
	buf_adds(b, "\">Summary and charts of this message \xe2\x86\x92</a></p>\n");
}

/* page_message_yes - a yes/no cell */
static void page_message_yes(struct buf *b, const PGresult *res, int i, const char *name)
{
	const char *v = page_get(res, i, name);
	int yes = v && v[0] == 't';

	buf_printf(b, "<td class=\"yn %s\" data-k=\"%s\">%s</td>", yes ? "yes" : "no", name,
		   yes ? "yes" : "\xe2\x80\x93");
}

/* page_message_recipients - table#recipients: who got it and what each did */
static void page_message_recipients(struct buf *b, const PGresult *res, const char *id)
{
	buf_adds(b, "<section>\n<div class=\"tools\"><h2>Recipients</h2>");
	page_message_csv(b, id, "recipients");
	buf_adds(b, "</div>\n<div class=\"scroll\"><table id=\"recipients\" class=\"list\">\n"
		 "<thead><tr><th>Recipient</th><th>Status</th><th>Opened</th><th>Clicked</th>"
		 "<th>Downloaded</th><th>Replied</th><th>First activity</th>"
		 "<th>Last activity</th></tr></thead>\n<tbody>\n");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = page_get(res, i, "name");
		const char *status = page_get(res, i, "status");
		int tracked = status && (!strcmp(status, "tracked") || !strcmp(status, "shared"));

		buf_printf(b, "<tr class=\"recipient%s\"><td class=\"addr\">",
			   tracked ? "" : " untracked");
		html_esc(b, page_get(res, i, "address"));
		if (name && *name) {
			buf_adds(b, " <span class=\"muted\">");
			html_esc(b, name);
			buf_adds(b, "</span>");
		}
		buf_adds(b, "</td><td>");
		html_esc(b, status);
		buf_adds(b, "</td>");
		page_message_yes(b, res, i, "opened");
		page_message_yes(b, res, i, "clicked");
		page_message_yes(b, res, i, "downloaded");
		page_message_yes(b, res, i, "replied");
		buf_adds(b, "<td class=\"time\">");
		html_time(b, page_get(res, i, "first_activity"));
		buf_adds(b, "</td><td class=\"time\">");
		html_time(b, page_get(res, i, "last_activity"));
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_message_place - city, region, country, or why there is none */
static void page_message_place(struct buf *b, const PGresult *res, int i)
{
	const char *parts[3] = { page_get(res, i, "city"), page_get(res, i, "region"),
				 page_get(res, i, "country") };
	const char *class = page_get(res, i, "class");
	int n = 0;

	for (int k = 0; k < 3; k++) {
		/* a city that names its region too (Berlin, Berlin) once */
		if (!parts[k] || !*parts[k] || (k > 0 && parts[k - 1] && !strcmp(parts[k], parts[k - 1])))
			continue;
		if (n++)
			buf_adds(b, ", ");
		html_esc(b, parts[k]);
	}
	if (n == 0)
		buf_adds(b, class && !strcmp(class, "proxy") ?
			 "<span class=\"muted\">unknown (proxy)</span>" : "\xe2\x80\x93");
}

/* page_message_class - td.class: the class, and for proxy and uncounted events why */
static void page_message_class(struct buf *b, const PGresult *res, int i, int uncounted)
{
	const char *class = page_get(res, i, "class");
	const char *why = page_get(res, i, "why");
	const char *reason = page_get(res, i, "reason");
	const char *note = page_message_class_note(class);

	buf_adds(b, "<td class=\"class\">");
	if (!class) {
		buf_adds(b, "\xe2\x80\x93</td>");
		return;
	}
	buf_adds(b, "<span class=\"cls\">");
	html_esc(b, class);
	buf_adds(b, "</span>");
	if (uncounted || (note && !strcmp(class, "proxy"))) {
		buf_adds(b, "<span class=\"why\">");
		if (uncounted)
			buf_adds(b, "<b>not counted</b>: ");
		/* a counted proxy open needs the plain words, not the rule's */
		if (!uncounted || !why || !*why)
			why = note ? note : "not a counted class";
		html_esc(b, why);
		if (reason && *reason) {
			buf_adds(b, " <code>");
			html_esc(b, reason);
			buf_adds(b, "</code>");
		}
		buf_adds(b, "</span>");
	}
	buf_adds(b, "</td>");
}

/* page_message_events - table#events, newest first */
static void page_message_events(struct buf *b, const PGresult *res, const char *id)
{
	int n = PQntuples(res), shown = n > DATA_EVENTS_MAX ? DATA_EVENTS_MAX : n;

	buf_adds(b, "<section>\n<div class=\"tools\"><h2>Events</h2>");
	page_message_csv(b, id, "events");
	buf_adds(b, "</div>\n");
	if (n == 0)
		buf_adds(b, "<p class=\"empty\">Nothing yet: no recipient has opened it.</p>\n");
	if (n > shown)
		buf_printf(b, "<p class=\"note\">The newest %d events; the CSV has them all.</p>\n",
			   shown);
	buf_adds(b, "<p class=\"note\">Greyed rows do not count as opens or clicks: the class "
		 "says what sent them and why.</p>\n");
	buf_adds(b, "<div class=\"scroll\"><table id=\"events\" class=\"list\">\n<thead><tr>"
		 "<th>Time</th><th>Recipient</th><th>Kind</th><th>Class</th><th>Place</th>"
		 "<th>Device</th><th>OS</th><th>Client</th><th>Link or file</th>"
		 "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < shown; i++) {
		const char *kind = page_get(res, i, "kind");
		const char *counted = page_get(res, i, "counted");
		const char *late = page_get(res, i, "late");
		const char *link = page_get(res, i, "link");
		const char *file = page_get(res, i, "attachment");
		const char *rcpt = page_get(res, i, "recipient");
		int engagement = kind && (!strcmp(kind, "open") || !strcmp(kind, "click") ||
					  !strcmp(kind, "download"));
		int uncounted = engagement && !(counted && counted[0] == 't');

		buf_printf(b, "<tr class=\"event%s%s\"><td class=\"time\">",
			   uncounted ? " uncounted" : "", late && late[0] == 't' ? " late" : "");
		html_time(b, page_get(res, i, "at"));
		buf_adds(b, "</td><td class=\"addr\">");
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
		buf_adds(b, "<td>");
		page_message_place(b, res, i);
		buf_adds(b, "</td><td>");
		html_or_dash(b, page_get(res, i, "device"));
		buf_adds(b, "</td><td>");
		html_or_dash(b, page_get(res, i, "os"));
		buf_adds(b, "</td><td>");
		html_or_dash(b, page_get(res, i, "client"));
		buf_adds(b, "</td><td class=\"target\">");
		if (link) {
			buf_adds(b, "<span class=\"url\">");
			html_esc(b, link);
			buf_adds(b, "</span>");
		} else {
			html_or_dash(b, file);
		}
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_message - the message page, or one of its tables as CSV */
int page_message(struct web_req *r)
{
	const char *id = web_path_id(r), *table = web_arg(r, "table");
	const char *format = web_arg(r, "format");
	int csv = format && !strcmp(format, "csv");
	PGresult *m, *rc_res, *ev;
	struct buf b = { 0 };
	char title[160];
	int rc;

	if (!id)
		return web_error(r, 404, "no such message");
	m = data_message(r, id, "human,proxy");
	if (!data_ok(m))
		return data_fail(r, m);
	if (PQntuples(m) == 0) {
		PQclear(m);
		return web_error(r, 404, "no such message");
	}
	if (csv && (!table || (strcmp(table, "recipients") && strcmp(table, "events")))) {
		PQclear(m);
		return web_error(r, 400, "table: recipients or events");
	}
	rc_res = csv && strcmp(table, "recipients") ? NULL : data_recipients(r, id, "human,proxy");
	if (rc_res && !data_ok(rc_res)) {
		PQclear(m);
		return data_fail(r, rc_res);
	}
	ev = csv && strcmp(table, "events") ? NULL :
		data_events(r, id, "human,proxy", csv ? DATA_CSV_MAX : DATA_EVENTS_MAX + 1, 0);
	if (ev && !data_ok(ev)) {
		PQclear(m);
		PQclear(rc_res);
		return data_fail(r, ev);
	}
	if (csv) {
		rc = api_send_csv(r, strcmp(table, "events") ? "recipients.csv" : "events.csv",
				  rc_res ? rc_res : ev, -1, -1);
	} else {
		const char *subject = page_get(m, 0, "subject");

		snprintf(title, sizeof(title), "%.150s", subject && *subject ? subject : "Message");
		html_begin(&b, r, title, HTML_NAV_MESSAGES);
		page_message_facts(&b, m);
		page_message_recipients(&b, rc_res, id);
		page_message_events(&b, ev, id);
		html_end(&b, NULL);
		rc = html_send(r, 200, &b);
	}
	PQclear(m);
	PQclear(rc_res);
	PQclear(ev);
	return rc;
}
