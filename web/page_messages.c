/*
 * page_messages.c - GET /: the signed-in sender's tracked messages,
 * newest first, searchable, 50 a page, and their CSV
 */
#include <string.h>

#include "api.h"
#include "html.h"
#include "pages.h"

/* page_messages_sender_column - show the sender: the user may see more than one */
static int page_messages_sender_column(const struct web_req *r)
{
	return r->user->admin || r->user->name[0] == '@' ||
	       strncmp(r->user->name, "sasl:", 5) == 0;
}

/* page_messages_row - one tr.message */
static void page_messages_row(struct buf *b, const PGresult *res, int i, int sender)
{
	buf_adds(b, "<tr class=\"message\"><td class=\"time\">");
	html_time(b, page_get(res, i, "sent_at"));
	buf_adds(b, "</td><td class=\"subject\"><a href=\"/m/");
	html_esc(b, page_get(res, i, "id"));
	buf_adds(b, "\">");
	page_subject(b, page_get(res, i, "subject"));
	buf_adds(b, "</a></td>");
	if (sender) {
		buf_adds(b, "<td>");
		html_or_dash(b, page_get(res, i, "sender"));
		buf_adds(b, "</td>");
	}
	buf_adds(b, "<td>");
	html_or_dash(b, page_get(res, i, "campaign"));
	buf_adds(b, "</td>");
	page_num(b, res, i, "recipients");
	page_num(b, res, i, "opened");
	page_num(b, res, i, "clicked");
	page_num(b, res, i, "downloaded");
	buf_adds(b, "<td class=\"time\">");
	html_time(b, page_get(res, i, "first_activity"));
	buf_adds(b, "</td><td class=\"time\">");
	html_time(b, page_get(res, i, "last_activity"));
	buf_adds(b, "</td></tr>\n");
}

/* page_messages - the search form, the table of messages, the pager */
int page_messages(struct web_req *r)
{
	struct data_filter f;
	struct buf b = { 0 };
	PGresult *res, *camp;
	int rc, n, shown, sender = page_messages_sender_column(r);
	int filtered;

	if (page_filter(r, &f, &rc) < 0)
		return rc;
	res = data_messages(r, &f);
	if (!data_ok(res))
		return data_fail(r, res);
	if (f.csv) {
		rc = api_send_csv(r, "messages.csv", res, f.limit, 12);
		PQclear(res);
		return rc;
	}
	camp = data_campaigns(r);
	n = PQntuples(res);
	shown = n > f.limit ? f.limit : n;
	filtered = f.q[0] || f.campaign[0] || f.since[0] || f.until[0];

	html_begin(&b, r, "Messages", HTML_NAV_MESSAGES);
	buf_adds(&b, "<h1>Messages</h1>\n");
	page_filter_form(&b, "search", "/", &f, 1, camp);
	page_filter_form_end(&b, "Search");
	PQclear(camp);

	buf_adds(&b, "<div class=\"tools\"><p class=\"count\">");
	if (shown == 0)
		buf_adds(&b, filtered ? "No message matches." : "No tracked messages yet.");
	else
		buf_printf(&b, "Messages %ld\xe2\x80\x93%ld%s", f.offset + 1, f.offset + shown,
			   n > f.limit ? "" : " (all)");
	buf_adds(&b, "</p>");
	if (filtered)
		buf_adds(&b, " <a class=\"reset\" href=\"/\">Clear the search</a>");
	buf_adds(&b, " ");
	page_csv_link(&b, "/", &f, NULL, "CSV");
	buf_adds(&b, "</div>\n");

	buf_adds(&b, "<div class=\"scroll\"><table id=\"messages\" class=\"list\">\n<thead><tr>"
		 "<th>Sent</th><th>Subject</th>");
	if (sender)
		buf_adds(&b, "<th>Sender</th>");
	buf_adds(&b, "<th>Campaign</th><th class=\"n\">Recipients</th><th class=\"n\">Opened</th>"
		 "<th class=\"n\">Clicked</th><th class=\"n\">Downloaded</th>"
		 "<th>First activity</th><th>Last activity</th></tr></thead>\n<tbody>\n");
	for (int i = 0; i < shown; i++)
		page_messages_row(&b, res, i, sender);
	buf_adds(&b, "</tbody></table></div>\n");
	page_pager(&b, "/", &f, n > f.limit);
	PQclear(res);
	html_end(&b, NULL);
	return html_send(r, 200, &b);
}
