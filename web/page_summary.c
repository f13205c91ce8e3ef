/*
 * page_summary.c - GET /summary: summary.sql's figures for the selected
 * messages (all of the user's, a campaign, a message, a time window),
 * opens and clicks over time (Chart.js), by device and client, by place,
 * per link
 *
 * The figures are sql/reports/summary.sql's own, run as beaconctl
 * report runs it (data_report): `beaconctl report summary -v by=all`
 * with the same filters prints the same numbers.  table#summary has one
 * cell per column of the report, td[data-k=<column name>].  Each table
 * is a CSV download (?format=csv&table=summary|devices|geo|clicks|timeline).
 * The chart data goes in a <script type="application/json" id="chart-data">
 * block that charts.js reads (the CSP runs no inline script).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "html.h"
#include "json.h"
#include "log.h"
#include "pages.h"

/* page_summary_labels - how the summary columns read on the page */
static const char *const page_summary_labels[][2] = {
	{ "message", "Message" }, { "campaign", "Campaign" }, { "subject", "Subject" },
	{ "sent_at", "First sent" }, { "messages", "Messages" },
	{ "recipients", "Tracked recipients" },
	{ "excluded_recipients", "Not tracked (internal, suppressed)" },
	{ "bounced", "Bounced" }, { "delivered", "Delivered" },
	{ "opened", "Opened (opened, clicked or replied)" },
	{ "open_rate", "Open rate (% of delivered)" }, { "opens", "Opens" },
	{ "clicked", "Clicked" }, { "clicks", "Clicks" },
	{ "click_to_open", "Click-to-open (% of opened)" },
	{ "downloaded", "Downloaded" }, { "downloads", "Downloads" },
	{ "replied", "Replied" }, { "reply_rate", "Reply rate (% of delivered)" },
	{ "replies", "Replies" },
};

#define PAGE_LEFT_OUT "left_out_"	/* the columns of events not counted, one per class */

/* page_summary_label - the label of column NAME (a left_out_ column: "Not counted:
 * CLASS", else NAME itself when unknown) into B */
static void page_summary_label(struct buf *b, const char *name)
{
	for (size_t i = 0; i < sizeof(page_summary_labels) / sizeof(page_summary_labels[0]); i++)
		if (!strcmp(name, page_summary_labels[i][0])) {
			html_esc(b, page_summary_labels[i][1]);
			return;
		}
	if (!strncmp(name, PAGE_LEFT_OUT, strlen(PAGE_LEFT_OUT))) {
		buf_adds(b, "Not counted: ");
		name += strlen(PAGE_LEFT_OUT);
	}
	html_esc(b, name);
}

/* page_summary_counted - is the class of column left_out_CLASS among the filter's counted ones? */
static int page_summary_counted(const struct data_filter *f, const char *column)
{
	const char *cls = column + strlen(PAGE_LEFT_OUT), *p = f->classes;
	size_t n = strlen(cls);

	while (*p) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, cls, n))
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

/* page_summary_shown - is column COL of the summary worth a row or column: not the
 * events left out of a class that is counted (always 0), and with ROW >= 0 (one row
 * read as name / value) not an empty identity (message, campaign, subject of by=all)
 * nor a 0 left out */
static int page_summary_shown(const PGresult *res, int row, int col, const struct data_filter *f)
{
	const char *name = PQfname(res, col);
	int left_out = !strncmp(name, PAGE_LEFT_OUT, strlen(PAGE_LEFT_OUT));

	if (left_out && page_summary_counted(f, name))
		return 0;
	if (row < 0)
		return 1;
	if (left_out)
		return strcmp(PQgetvalue(res, row, col), "0") != 0;
	return !(PQgetisnull(res, row, col) &&
		 (!strcmp(name, "message") || !strcmp(name, "campaign") || !strcmp(name, "subject")));
}

/* page_summary_cell - one td[data-k] of the summary: a link for a message id */
static void page_summary_cell(struct buf *b, const PGresult *res, int row, int col)
{
	const char *name = PQfname(res, col);
	const char *v = PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
	int num = data_is_number(res, col);

	buf_adds(b, "<td");
	if (num)
		buf_adds(b, " class=\"n\"");
	buf_adds(b, " data-k=\"");
	html_esc(b, name);
	buf_adds(b, "\">");
	if (v && !strcmp(name, "message")) {
		buf_adds(b, "<a href=\"/m/");
		html_esc(b, v);
		buf_adds(b, "\">");
		html_esc(b, v);
		buf_adds(b, "</a>");
	} else {
		html_or_dash(b, v);
	}
	buf_adds(b, "</td>");
}

/* page_summary_kv - table#summary of one row (by=all), a column a line: the
 * figures, then the events of each class not counted, when there are any */
static void page_summary_kv(struct buf *b, const PGresult *res, const struct data_filter *f)
{
	int cols = PQnfields(res), left = 0;

	buf_adds(b, "<div class=\"scroll kv\"><table id=\"summary\" class=\"kv\">\n<tbody>\n");
	for (int pass = 0; pass < 2; pass++)
		for (int c = 0; c < cols; c++) {
			int left_out = !strncmp(PQfname(res, c), PAGE_LEFT_OUT, strlen(PAGE_LEFT_OUT));

			if (left_out != pass || !page_summary_shown(res, 0, c, f))
				continue;
			if (left_out && left++ == 0)
				buf_adds(b, "<tr class=\"group\"><th colspan=\"2\">Not counted: events "
					 "of machines, left out of the figures above</th></tr>\n");
			buf_adds(b, "<tr><th>");
			if (left_out)
				html_esc(b, PQfname(res, c) + strlen(PAGE_LEFT_OUT));
			else
				page_summary_label(b, PQfname(res, c));
			buf_adds(b, "</th>");
			page_summary_cell(b, res, 0, c);
			buf_adds(b, "</tr>\n");
		}
	buf_adds(b, "</tbody></table></div>\n");
}

/* page_summary_table - table#summary: one column a row when by=all, else one message or campaign a row */
static void page_summary_table(struct buf *b, const PGresult *res, const struct data_filter *f)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	buf_adds(b, "<section>\n<div class=\"tools\"><h2>Figures</h2>");
	page_csv_link(b, "/summary", f, "table=summary", NULL);
	buf_adds(b, "</div>\n");
	if (rows == 0) {
		buf_adds(b, "<p class=\"empty\">No tracked message in this selection.</p>\n"
			 "<table id=\"summary\" class=\"list\"></table>\n</section>\n");
		return;
	}
	if (rows == 1 && !strcmp(f->by, "all")) {
		page_summary_kv(b, res, f);
		buf_adds(b, "</section>\n");
		return;
	}
	buf_adds(b, "<div class=\"scroll\"><table id=\"summary\" class=\"list\">\n<thead><tr>");
	for (int c = 0; c < cols; c++) {
		if (!page_summary_shown(res, -1, c, f))
			continue;
		buf_adds(b, "<th>");
		page_summary_label(b, PQfname(res, c));
		buf_adds(b, "</th>");
	}
	buf_adds(b, "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < rows; i++) {
		buf_adds(b, "<tr>");
		for (int c = 0; c < cols; c++)
			if (page_summary_shown(res, -1, c, f))
				page_summary_cell(b, res, i, c);
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_summary_figures - the headline numbers of a one-row summary */
static void page_summary_figures(struct buf *b, const PGresult *res)
{
	static const char *const figs[][3] = {
		{ "delivered", "delivered", NULL }, { "opened", "opened", "open_rate" },
		{ "clicked", "clicked", "click_to_open" }, { "downloaded", "downloaded", NULL },
		{ "replied", "replied", "reply_rate" },
	};

	if (PQntuples(res) != 1)
		return;
	buf_adds(b, "<ul class=\"figures\" id=\"summary-figures\">");
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		const char *rate = figs[i][2] ? page_get(res, 0, figs[i][2]) : NULL;

		buf_printf(b, "<li%s><span class=\"v\">", strcmp(figs[i][0], "opened") ? "" :
			   " title=\"recipients who opened, clicked or replied\"");
		html_or_dash(b, page_get(res, 0, figs[i][0]));
		buf_adds(b, "</span><span class=\"l\">");
		buf_adds(b, figs[i][1]);
		if (rate) {
			buf_adds(b, " \xc2\xb7 ");
			html_esc(b, rate);
			buf_adds(b, figs[i][2][0] == 'c' ? "% of opened" : "% of delivered");
		}
		buf_adds(b, "</span></li>");
	}
	buf_adds(b, "</ul>\n");
}

/* page_summary_report - a report's rows as table ID with the columns COLS (name,
 * label, and for a number its unit for one and for more on a phone's card) */
static void page_summary_report(struct buf *b, const char *id, const char *title,
				const PGresult *res, const char *const (*cols)[4], size_t ncols,
				const struct data_filter *f, const char *empty)
{
	char extra[32];

	snprintf(extra, sizeof(extra), "table=%s", id);
	buf_printf(b, "<section>\n<div class=\"tools\"><h2>%s</h2>", title);
	page_csv_link(b, "/summary", f, extra, NULL);
	buf_adds(b, "</div>\n");
	if (PQntuples(res) == 0) {
		buf_printf(b, "<p class=\"empty\">%s</p>\n</section>\n", empty);
		return;
	}
	buf_printf(b, "<div class=\"scroll\"><table id=\"%s\" class=\"list cards report\">\n"
		   "<thead><tr>", id);
	for (size_t c = 0; c < ncols; c++)
		buf_printf(b, "<th%s>%s</th>", cols[c][2] ? " class=\"n\"" : "", cols[c][1]);
	buf_adds(b, "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *left = page_get(res, i, "left_out");

		buf_printf(b, "<tr%s>", left ? " class=\"uncounted\"" : "");
		for (size_t c = 0; c < ncols; c++) {
			const char *v = page_get(res, i, cols[c][0]);

			if (cols[c][2]) {
				page_count(b, res, i, cols[c][0], cols[c][2], cols[c][3]);
			} else if (c == 0 && left) {
				buf_adds(b, "<td class=\"meta\"><span class=\"muted\">not counted: ");
				html_esc(b, left);
				buf_adds(b, "</span></td>");
			} else if (!strcmp(cols[c][0], "url") && v) {
				buf_adds(b, "<td class=\"wide\"><span class=\"url\">");
				html_esc(b, v);
				buf_adds(b, "</span></td>");
			} else {
				page_cell(b, "meta", NULL, v);
			}
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_client - one mail client's counted opens */
struct page_client {
	const char *name;
	long long opens;
};

/* page_client_cmp - most opens first, then by name */
static int page_client_cmp(const void *a, const void *b)
{
	const struct page_client *x = a, *y = b;

	if (x->opens != y->opens)
		return x->opens > y->opens ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* page_summary_clients - labels and opens of the ten clients with most counted opens
 * (devices.sql's rows summed per client, sorted, cut) as the JSON arrays' text */
static void page_summary_clients(struct buf *j, const PGresult *dev)
{
	struct page_client *c = calloc((size_t)PQntuples(dev) + 1, sizeof(*c));
	int n = 0;

	if (!c)
		log_fatalx("out of memory");
	for (int i = 0; i < PQntuples(dev); i++) {
		const char *name = page_get(dev, i, "client");
		long long v = atoll(PQgetvalue(dev, i, PQfnumber(dev, "opens")));
		int k;

		if (page_get(dev, i, "left_out"))
			continue;
		if (!name || !*name)
			name = "unknown";
		for (k = 0; k < n && strcmp(c[k].name, name); k++)
			;
		if (k == n)
			c[n++].name = name;
		c[k].opens += v;
	}
	qsort(c, (size_t)n, sizeof(*c), page_client_cmp);
	if (n > 10)
		n = 10;
	for (int k = 0; k < n; k++) {
		if (k)
			buf_adds(j, ",");
		json_string(c[k].name, json_buf_put, j);
	}
	buf_adds(j, "],\"opens\":[");
	for (int k = 0; k < n; k++)
		buf_printf(j, "%s%lld", k ? "," : "", c[k].opens);
	free(c);
}

/* page_summary_chart_data - the timeline and the opens per client, for charts.js */
static void page_summary_chart_data(struct buf *b, const PGresult *tl, const PGresult *dev,
				    const char *tz)
{
	struct buf j = { 0 };
	int n = PQntuples(tl);

	buf_adds(&j, "{\"tz\":");
	json_string(tz, json_buf_put, &j);
	buf_adds(&j, ",\"unit\":");
	json_string(n ? PQgetvalue(tl, 0, 0) : "day", json_buf_put, &j);
	buf_adds(&j, ",\"labels\":[");
	for (int i = 0; i < n; i++) {
		if (i)
			buf_adds(&j, ",");
		json_string(PQgetvalue(tl, i, 1), json_buf_put, &j);
	}
	buf_adds(&j, "],\"opens\":[");
	for (int i = 0; i < n; i++)
		buf_printf(&j, "%s%s", i ? "," : "", PQgetvalue(tl, i, 2));
	buf_adds(&j, "],\"clicks\":[");
	for (int i = 0; i < n; i++)
		buf_printf(&j, "%s%s", i ? "," : "", PQgetvalue(tl, i, 3));
	/* devices.sql's counted rows summed per client, most opens first: the top ten */
	buf_adds(&j, "],\"clients\":{\"labels\":[");
	page_summary_clients(&j, dev);
	buf_adds(&j, "]}}");
	html_json_block(b, "chart-data", &j);
	buf_free(&j);
}

/* page_summary_charts - the two canvases charts.js draws on */
static void page_summary_charts(struct buf *b, const PGresult *tl, const PGresult *dev,
				const struct data_filter *f)
{
	buf_adds(b, "<section class=\"charts\">\n<div class=\"chart\"><div class=\"tools\">"
		 "<h2>Opens and clicks over time</h2>");
	page_csv_link(b, "/summary", f, "table=timeline", NULL);
	buf_adds(b, "</div>\n");
	if (PQntuples(tl) == 0)
		buf_adds(b, "<p class=\"empty\">No counted open or click yet.</p>\n");
	else
		buf_printf(b, "<div class=\"canvas\"><canvas id=\"chart-time\" role=\"img\" "
			   "aria-label=\"opens and clicks per %s\"></canvas></div>\n",
			   PQgetvalue(tl, 0, 0));
	buf_adds(b, "</div>\n<div class=\"chart\"><div class=\"tools\"><h2>Opens by client"
		 "</h2></div>\n");
	if (PQntuples(dev) == 0 || page_get(dev, 0, "left_out"))
		buf_adds(b, "<p class=\"empty\">No counted open yet.</p>\n");
	else
		buf_adds(b, "<div class=\"canvas\"><canvas id=\"chart-clients\" role=\"img\" "
			 "aria-label=\"opens by mail client\"></canvas></div>\n");
	buf_adds(b, "</div>\n</section>\n");
	page_summary_chart_data(b, tl, dev, f->tz);
}

/* page_summary_form - the filters, and how the rows are grouped */
static void page_summary_form(struct buf *b, const struct data_filter *f, PGresult *camp)
{
	static const char *const bys[][2] = {
		{ "all", "all together" }, { "campaign", "per campaign" },
		{ "message", "per message" },
	};

	page_filter_form(b, "summary-filters", "/summary", f, 0, camp);
	buf_adds(b, "<label>Figures <select name=\"by\">");
	for (size_t i = 0; i < sizeof(bys) / sizeof(bys[0]); i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", bys[i][0],
			   strcmp(f->by, bys[i][0]) ? "" : " selected", bys[i][1]);
	buf_adds(b, "</select></label>\n");
	page_filter_form_end(b, "Show");
	if (f->message[0]) {
		buf_adds(b, "<p class=\"note\">One message: <a href=\"/m/");
		html_esc(b, f->message);
		buf_adds(b, "\">");
		html_esc(b, f->message);
		buf_adds(b, "</a> \xc2\xb7 <a href=\"/summary\">all messages</a></p>\n");
	}
}

/* the columns of devices.sql, geo.sql and clicks.sql the page shows: name, label,
 * and for a number its unit on a phone's card */
static const char *const page_summary_devices[][4] = {
	{ "device", "Device", NULL, NULL }, { "os", "OS", NULL, NULL },
	{ "client", "Client", NULL, NULL }, { "opens", "Opens", "open", "opens" },
	{ "openers", "Recipients", "recipient", "recipients" },
};
static const char *const page_summary_geo[][4] = {
	{ "country", "Country", NULL, NULL }, { "region", "Region", NULL, NULL },
	{ "city", "City", NULL, NULL }, { "opens", "Opens", "open", "opens" },
	{ "openers", "Recipients", "recipient", "recipients" },
};
static const char *const page_summary_clicks[][4] = {
	{ "url", "Link", NULL, NULL }, { "clicks", "Clicks", "click", "clicks" },
	{ "clickers", "Recipients", "recipient", "recipients" },
	{ "left_out_scanner", "Scanner clicks", "scanner click", "scanner clicks" },
	{ "left_out_bot", "Bot clicks", "bot click", "bot clicks" },
};

/* page_summary_csv - table NAME of the summary as a CSV download */
static int page_summary_csv(struct web_req *r, const char *name, const struct data_filter *f)
{
	char file[32];
	PGresult *res;
	int rc;

	if (!data_summary_known(name))
		return web_error(r, 400, "table: " DATA_SUMMARY_TABLES);
	res = data_summary_table(r, name, f);
	if (!data_ok(res))
		return data_fail(r, res);
	snprintf(file, sizeof(file), "%s.csv", name);
	rc = api_send_csv(r, file, res, -1, -1);
	PQclear(res);
	return rc;
}

/* page_summary - the summary page, or one of its tables as CSV */
int page_summary(struct web_req *r)
{
	static const char *const scripts[] = { "chart.min.js", "charts.js", NULL };
	static const char *const names[] = { "summary", "clicks", "devices", "geo", "timeline" };
	PGresult *sum = NULL, *clicks = NULL, *dev = NULL, *geo = NULL, *tl = NULL, *camp;
	PGresult **res[] = { &sum, &clicks, &dev, &geo, &tl };
	struct data_filter f;
	struct buf b = { 0 };
	int rc = 0;

	if (data_filter_request(r, &f, DATA_PAGE, &rc) < 0)
		return rc;
	if (f.csv)
		return page_summary_csv(r, web_arg(r, "table"), &f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		*res[i] = data_summary_table(r, names[i], &f);
		if (!data_ok(*res[i])) {
			rc = data_fail(r, *res[i]);
			*res[i] = NULL;
			goto out;
		}
	}
	camp = data_campaigns(r);
	html_begin(&b, r, "Summary", HTML_NAV_SUMMARY);
	buf_adds(&b, "<h1>Summary</h1>\n");
	page_summary_form(&b, &f, camp);
	PQclear(camp);
	if (!strcmp(f.by, "all"))
		page_summary_figures(&b, sum);
	page_summary_charts(&b, tl, dev, &f);
	page_summary_table(&b, sum, &f);
	page_summary_report(&b, "clicks", "Links", clicks, page_summary_clicks, 5, &f,
			    "No tracked link in this selection.");
	page_summary_report(&b, "devices", "Devices and clients", dev, page_summary_devices,
			    5, &f, "No open yet.");
	page_summary_report(&b, "geo", "Places", geo, page_summary_geo, 5, &f,
			    "No open yet.");
	html_end(&b, scripts);
	rc = html_send(r, 200, &b);
out:
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		PQclear(*res[i]);
	return rc;
}
