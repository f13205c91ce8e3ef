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

/* page_messages_row - one tr.message (on a phone a card: the subject, when and
 * the campaign, then "3 recipients · 2 opened · 1 clicked ...") */
static void page_messages_row(struct buf *b, const PGresult *res, int i, int sender)
{
	buf_adds(b, "<tr class=\"message\">");
	page_time_cell(b, page_get(res, i, "sent_at"), NULL, 0);
	buf_adds(b, "<td class=\"subject wide\"><a href=\"/m/");
	html_esc(b, page_get(res, i, "id"));
	buf_adds(b, "\">");
	page_subject(b, page_get(res, i, "subject"));
	buf_adds(b, "</a></td>");
	if (sender)
		page_cell(b, "sender", NULL, page_get(res, i, "sender"));
	page_cell(b, "campaign", NULL, page_get(res, i, "campaign"));
	page_count(b, res, i, "recipients", "recipient", "recipients");
	page_count(b, res, i, "opened", "opened", "opened");
	page_count(b, res, i, "clicked", "clicked", "clicked");
	page_count(b, res, i, "downloaded", "downloaded", "downloaded");
	page_time_cell(b, page_get(res, i, "first_activity"), "first activity", 0);
	page_time_cell(b, page_get(res, i, "last_activity"), "last activity", 0);
	buf_adds(b, "</tr>\n");
}

/* page_messages_count - how many are shown: "3 messages" when they are all, else
 * "Messages 51–100 of 230" on the last page, "of more" before it */
static void page_messages_count(struct buf *b, const struct data_filter *f, int shown,
				int more, int filtered)
{
	if (shown == 0)
		buf_adds(b, filtered ? "No message matches." : "No tracked messages yet.");
	else if (f->offset == 0 && !more)
		buf_printf(b, "%d message%s%s", shown, shown == 1 ? "" : "s",
			   filtered ? " found" : "");
	else if (more)
		buf_printf(b, "Messages %ld\xe2\x80\x93%ld of more", f->offset + 1,
			   f->offset + shown);
	else
		buf_printf(b, "Messages %ld\xe2\x80\x93%ld of %ld", f->offset + 1, f->offset + shown,
			   f->offset + shown);
}

/* page_messages - the search form, the table of messages, the pager */
int page_messages(struct web_req *r)
{
	struct data_filter f;
	struct buf b = { 0 };
	PGresult *res, *camp;
	int rc, n, shown, sender = page_messages_sender_column(r);
	int filtered;

	if (data_filter_request(r, &f, DATA_PAGE, &rc) < 0)
		return rc;
	res = data_messages(r, &f);
	if (!data_ok(res))
		return data_fail(r, res);
	if (f.csv) {
		rc = api_send_csv(r, "messages.csv", res, f.limit, data_message_columns(res));
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

	buf_adds(&b, "<div class=\"tools\"><p class=\"count\" id=\"messages-count\">");
	page_messages_count(&b, &f, shown, n > f.limit, filtered);
	buf_adds(&b, "</p>");
	if (filtered)
		buf_adds(&b, " <a class=\"reset\" href=\"/\">Clear the search</a>");
	if (shown > 0) {
		buf_adds(&b, " ");
		page_csv_link(&b, "/", &f, NULL, "CSV");
	}
	buf_adds(&b, "</div>\n");

	if (shown > 0) {
		buf_adds(&b, "<div class=\"scroll\"><table id=\"messages\" class=\"list cards\">\n"
			 "<thead><tr><th>Sent (");
		html_zone(&b);
		buf_adds(&b, ")</th><th>Subject</th>");
		if (sender)
			buf_adds(&b, "<th>Sender</th>");
		buf_adds(&b, "<th>Campaign</th><th class=\"n\">Recipients</th>"
			 "<th class=\"n\" title=\"recipients who opened, clicked or replied\">"
			 "Opened</th><th class=\"n\">Clicked</th><th class=\"n\">Downloaded</th>"
			 "<th>First activity</th><th>Last activity</th></tr></thead>\n<tbody>\n");
		for (int i = 0; i < shown; i++)
			page_messages_row(&b, res, i, sender);
		buf_adds(&b, "</tbody></table></div>\n");
		page_opened_note(&b);
	} else {
		if (filtered)
			buf_adds(&b, "<p class=\"empty\">Nothing in your messages matches this search: "
				 "try part of an address, a name or a word of the subject, or "
				 "<a href=\"/\">show them all</a>.</p>\n");
	}
	page_pager(&b, "/", &f, n > f.limit);
	PQclear(res);
	html_end(&b, NULL);
	return html_send(r, 200, &b);
}
