/*
 * page_conversations.c - GET /conversations: the messages grouped into
 * threads (beacon.message_thread: References, In-Reply-To), each with
 * the replies recorded for them, newest activity first, one <details>
 * per thread
 *
 * The search form is the messages page's: a thread is listed when one
 * of its messages matches, and then shown whole.  ?format=csv gives the
 * rows (one per message or reply) as CSV.
 */
#include <string.h>

#include "api.h"
#include "html.h"
#include "pages.h"

/* page_conv_item - one message or reply of a thread */
static void page_conv_item(struct buf *b, const PGresult *res, int i)
{
	const char *item = page_get(res, i, "item");

	if (item && !strcmp(item, "reply")) {
		const char *who = page_get(res, i, "recipient");
		const char *dom = page_get(res, i, "from_domain");

		buf_adds(b, "<li class=\"item reply\"><span class=\"time\">");
		html_time(b, page_get(res, i, "at"));
		buf_adds(b, "</span> <span class=\"what\">\xe2\x86\xa9 Reply from ");
		if (who) {
			html_esc(b, who);
		} else {
			buf_adds(b, "someone");
			if (dom) {
				buf_adds(b, " at ");
				html_esc(b, dom);
			}
			buf_adds(b, " <span class=\"muted\">(not a recipient)</span>");
		}
		buf_adds(b, "</span></li>\n");
		return;
	}
	buf_adds(b, "<li class=\"item message\"><span class=\"time\">");
	html_time(b, page_get(res, i, "at"));
	buf_adds(b, "</span> <a href=\"/m/");
	html_esc(b, page_get(res, i, "message"));
	buf_adds(b, "\">");
	page_subject(b, page_get(res, i, "subject"));
	buf_adds(b, "</a> <span class=\"stats\">");
	buf_printf(b, "<span data-k=\"recipients\">%s</span> recipient%s \xc2\xb7 "
		   "<span data-k=\"opened\">%s</span> opened \xc2\xb7 "
		   "<span data-k=\"clicked\">%s</span> clicked</span></li>\n",
		   PQgetvalue(res, i, PQfnumber(res, "recipients")),
		   strcmp(PQgetvalue(res, i, PQfnumber(res, "recipients")), "1") ? "s" : "",
		   PQgetvalue(res, i, PQfnumber(res, "opened")),
		   PQgetvalue(res, i, PQfnumber(res, "clicked")));
}

/* page_conv_thread - the thread whose rows start at ROW; the row after it */
static int page_conv_thread(struct buf *b, const PGresult *res, int row, int open)
{
	const char *thread = page_get(res, row, "thread");
	const char *subject = NULL;
	int end = row;

	while (end < PQntuples(res) && !strcmp(page_get(res, end, "thread"), thread)) {
		if (!subject && !strcmp(page_get(res, end, "item"), "message"))
			subject = page_get(res, end, "subject");
		end++;
	}
	buf_printf(b, "<details class=\"thread\"%s><summary><span class=\"subject\">",
		   open ? " open" : "");
	page_subject(b, subject);
	buf_adds(b, "</span> <span class=\"meta\">");
	buf_printf(b, "%s message%s", page_get(res, row, "messages"),
		   strcmp(page_get(res, row, "messages"), "1") ? "s" : "");
	if (strcmp(page_get(res, row, "replies"), "0"))
		buf_printf(b, " \xc2\xb7 <b>%s repl%s</b>", page_get(res, row, "replies"),
			   strcmp(page_get(res, row, "replies"), "1") ? "ies" : "y");
	buf_adds(b, " \xc2\xb7 last ");
	html_time(b, page_get(res, row, "last_activity"));
	buf_adds(b, "</span></summary>\n<ol class=\"items\">\n");
	for (int i = row; i < end; i++)
		page_conv_item(b, res, i);
	buf_adds(b, "</ol>\n</details>\n");
	return end;
}

/* page_conv_rows - how many first rows of RES hold its first LIMIT threads (-1: all
 * of them: RES has no more threads than that) */
static int page_conv_rows(const PGresult *res, int limit)
{
	int threads = 0;

	for (int i = 0; i < PQntuples(res); i++)
		if (i == 0 || strcmp(page_get(res, i, "thread"), page_get(res, i - 1, "thread")))
			if (++threads > limit)
				return i;
	return -1;
}

/* page_conversations - the threads of the filter, 50 a page */
int page_conversations(struct web_req *r)
{
	struct data_filter f;
	struct buf b = { 0 };
	PGresult *res, *camp;
	int rc, threads = 0, more = 0, i;

	if (data_filter_request(r, &f, DATA_PAGE, &rc) < 0)
		return rc;
	res = data_threads(r, &f);
	if (!data_ok(res))
		return data_fail(r, res);
	if (f.csv) {
		/* the extra thread fetched is left out: a cut CSV says so */
		rc = api_send_csv(r, "conversations.csv", res, page_conv_rows(res, f.limit), -1);
		PQclear(res);
		return rc;
	}
	camp = data_campaigns(r);
	html_begin(&b, r, "Conversations", HTML_NAV_CONVERSATIONS);
	buf_adds(&b, "<h1>Conversations</h1>\n");
	page_filter_form(&b, "search", "/conversations", &f, 1, camp);
	page_filter_form_end(&b, "Search");
	PQclear(camp);
	buf_adds(&b, "<div class=\"tools\"><p class=\"count\">Messages grouped by thread, with "
		 "the replies recorded for them; newest activity first.</p> ");
	page_csv_link(&b, "/conversations", &f, NULL, "CSV");
	buf_adds(&b, "</div>\n<div id=\"conversations\">\n");
	for (i = 0; i < PQntuples(res);) {
		if (threads == f.limit) {
			more = 1;	/* the extra thread fetched: there is a next page */
			break;
		}
		i = page_conv_thread(&b, res, i, f.q[0] != '\0');
		threads++;
	}
	if (threads == 0)
		buf_adds(&b, "<p class=\"empty\">No conversation yet.</p>\n");
	buf_adds(&b, "</div>\n");
	page_pager(&b, "/conversations", &f, more);
	PQclear(res);
	html_end(&b, NULL);
	return html_send(r, 200, &b);
}
