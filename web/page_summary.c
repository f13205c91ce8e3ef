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
#include "pages.h"

/* page_summary_labels - how the summary columns read on the page */
static const char *const page_summary_labels[][2] = {
	{ "message", "Message" }, { "campaign", "Campaign" }, { "subject", "Subject" },
	{ "sent_at", "First sent" }, { "messages", "Messages" },
	{ "recipients", "Tracked recipients" },
	{ "excluded_recipients", "Not tracked (internal, suppressed)" },
	{ "bounced", "Bounced" }, { "delivered", "Delivered" }, { "opened", "Opened" },
	{ "open_rate", "Open rate %" }, { "opens", "Opens" }, { "clicked", "Clicked" },
	{ "clicks", "Clicks" }, { "click_to_open", "Click-to-open %" },
	{ "downloaded", "Downloaded" }, { "downloads", "Downloads" },
	{ "replied", "Replied" }, { "reply_rate", "Reply rate %" }, { "replies", "Replies" },
	{ "left_out_human", "Left out: human" }, { "left_out_proxy", "Left out: proxy" },
	{ "left_out_prefetch", "Left out: prefetch" },
	{ "left_out_scanner", "Left out: scanner" },
	{ "left_out_internal", "Left out: internal" },
	{ "left_out_sender", "Left out: sender" }, { "left_out_bot", "Left out: bot" },
};

/* page_summary_label - the label of column NAME (NAME itself when unknown) */
static const char *page_summary_label(const char *name)
{
	for (size_t i = 0; i < sizeof(page_summary_labels) / sizeof(page_summary_labels[0]); i++)
		if (!strcmp(name, page_summary_labels[i][0]))
			return page_summary_labels[i][1];
	return name;
}

/* page_summary_cell - one td[data-k] of the summary: a link for a message id */
static void page_summary_cell(struct buf *b, const PGresult *res, int row, int col)
{
	const char *name = PQfname(res, col);
	const char *v = PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
	Oid t = PQftype(res, col);
	int num = t == 20 || t == 21 || t == 23 || t == 1700;

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
		buf_adds(b, "<div class=\"scroll kv\"><table id=\"summary\" class=\"kv\">\n<tbody>\n");
		for (int c = 0; c < cols; c++) {
			buf_adds(b, "<tr><th>");
			html_esc(b, page_summary_label(PQfname(res, c)));
			buf_adds(b, "</th>");
			page_summary_cell(b, res, 0, c);
			buf_adds(b, "</tr>\n");
		}
		buf_adds(b, "</tbody></table></div>\n</section>\n");
		return;
	}
	buf_adds(b, "<div class=\"scroll\"><table id=\"summary\" class=\"list\">\n<thead><tr>");
	for (int c = 0; c < cols; c++) {
		buf_adds(b, "<th>");
		html_esc(b, page_summary_label(PQfname(res, c)));
		buf_adds(b, "</th>");
	}
	buf_adds(b, "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < rows; i++) {
		buf_adds(b, "<tr>");
		for (int c = 0; c < cols; c++)
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

		buf_adds(b, "<li><span class=\"v\">");
		html_or_dash(b, page_get(res, 0, figs[i][0]));
		buf_adds(b, "</span><span class=\"l\">");
		buf_adds(b, figs[i][1]);
		if (rate) {
			buf_adds(b, " \xc2\xb7 ");
			html_esc(b, rate);
			buf_adds(b, figs[i][2][0] == 'c' ? "% of opened" : "%");
		}
		buf_adds(b, "</span></li>");
	}
	buf_adds(b, "</ul>\n");
}

/* page_summary_report - a report's rows as a table ID with the columns COLS (name, label) */
static void page_summary_report(struct buf *b, const char *id, const char *title,
				const PGresult *res, const char *const (*cols)[2], size_t ncols,
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
	buf_printf(b, "<div class=\"scroll\"><table id=\"%s\" class=\"list\">\n<thead><tr>", id);
	for (size_t c = 0; c < ncols; c++)
		buf_printf(b, "<th%s>%s</th>",
			   PQftype(res, PQfnumber(res, cols[c][0])) == 20 ? " class=\"n\"" : "",
			   cols[c][1]);
	buf_adds(b, "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *left = page_get(res, i, "left_out");

		buf_printf(b, "<tr%s>", left ? " class=\"uncounted\"" : "");
		for (size_t c = 0; c < ncols; c++) {
			int col = PQfnumber(res, cols[c][0]);
			const char *v = page_get(res, i, cols[c][0]);

			if (col >= 0 && PQftype(res, col) == 20) {
				page_num(b, res, i, cols[c][0]);
				continue;
			}
			buf_adds(b, "<td>");
			if (c == 0 && left) {
				buf_adds(b, "<span class=\"muted\">not counted: ");
				html_esc(b, left);
				buf_adds(b, "</span>");
			} else if (!strcmp(cols[c][0], "url") && v) {
				buf_adds(b, "<span class=\"url\">");
				html_esc(b, v);
				buf_adds(b, "</span>");
			} else {
				html_or_dash(b, v);
			}
			buf_adds(b, "</td>");
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n</section>\n");
}

/* page_summary_json - append JSON to the page with <, > and & escaped (it sits in a <script>) */
static void page_summary_json(struct buf *b, const struct buf *json)
{
	for (size_t i = 0; i < json->len; i++) {
		char c = json->p[i];
		if (c == '<')
			buf_adds(b, "\\u003c");
		else if (c == '>')
			buf_adds(b, "\\u003e");
		else if (c == '&')
			buf_adds(b, "\\u0026");
		else
			buf_add(b, &c, 1);
	}
}

/* page_summary_clients - labels and opens of the ten clients with most counted opens
 * (devices.sql's rows summed per client) as the JSON arrays' text */
static void page_summary_clients(struct buf *j, const PGresult *dev)
{
	const char *name[10];
	long long opens[10];
	int n = 0;

	for (int i = 0; i < PQntuples(dev); i++) {
		const char *c = page_get(dev, i, "client");
		long long v = atoll(PQgetvalue(dev, i, PQfnumber(dev, "opens")));
		int k;

		if (page_get(dev, i, "left_out"))
			continue;
		if (!c || !*c)
			c = "unknown";
		for (k = 0; k < n && strcmp(name[k], c); k++)
			;
		if (k == n) {
			if (n == 10)
				continue;
			name[n] = c;
			opens[n++] = 0;
		}
		opens[k] += v;
	}
	/* most opens first (devices.sql sorted its rows, not the sums) */
	for (int a = 1; a < n; a++)
		for (int k = a; k > 0 && opens[k] > opens[k - 1]; k--) {
			const char *tn = name[k];
			long long tv = opens[k];
			name[k] = name[k - 1];
			opens[k] = opens[k - 1];
			name[k - 1] = tn;
			opens[k - 1] = tv;
		}
	for (int k = 0; k < n; k++) {
		if (k)
			buf_adds(j, ",");
		json_string(name[k], json_buf_put, j);
	}
	buf_adds(j, "],\"opens\":[");
	for (int k = 0; k < n; k++)
		buf_printf(j, "%s%lld", k ? "," : "", opens[k]);
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
	buf_adds(b, "<script type=\"application/json\" id=\"chart-data\">");
	page_summary_json(b, &j);
	buf_adds(b, "</script>\n");
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

/* the columns of devices.sql, geo.sql and clicks.sql the page shows, with their labels */
static const char *const page_summary_devices[][2] = {
	{ "device", "Device" }, { "os", "OS" }, { "client", "Client" },
	{ "opens", "Opens" }, { "openers", "Recipients" },
};
static const char *const page_summary_geo[][2] = {
	{ "country", "Country" }, { "region", "Region" }, { "city", "City" },
	{ "opens", "Opens" }, { "openers", "Recipients" },
};
static const char *const page_summary_clicks[][2] = {
	{ "url", "Link" }, { "clicks", "Clicks" }, { "clickers", "Recipients" },
	{ "left_out_scanner", "Scanner clicks" }, { "left_out_bot", "Bot clicks" },
};

/* page_summary - the summary page, or one of its tables as CSV */
int page_summary(struct web_req *r)
{
	static const char *const scripts[] = { "chart.min.js", "charts.js", NULL };
	static const char *const tables[] = { "summary", "devices", "geo", "clicks", "timeline" };
	PGresult *res[5] = { NULL }, *camp;
	struct data_filter f;
	struct buf b = { 0 };
	const char *table = web_arg(r, "table");
	int rc = 0, want = -1;

	if (page_filter(r, &f, &rc) < 0)
		return rc;
	if (f.csv) {
		for (int i = 0; i < 5; i++)
			if (table && !strcmp(table, tables[i]))
				want = i;
		if (want < 0)
			return web_error(r, 400, "table: summary, devices, geo, clicks or timeline");
	}
	for (int i = 0; i < 5; i++) {
		if (want >= 0 && i != want)
			continue;
		res[i] = i == 4 ? data_timeline(r, &f) : data_report(r, tables[i], &f);
		if (!data_ok(res[i])) {
			rc = data_fail(r, res[i]);
			res[i] = NULL;
			goto out;
		}
	}
	if (want >= 0) {
		char file[32];
		snprintf(file, sizeof(file), "%s.csv", tables[want]);
		rc = api_send_csv(r, file, res[want], -1, -1);
		goto out;
	}
	camp = data_campaigns(r);
	html_begin(&b, r, "Summary", HTML_NAV_SUMMARY);
	buf_adds(&b, "<h1>Summary</h1>\n");
	page_summary_form(&b, &f, camp);
	PQclear(camp);
	if (!strcmp(f.by, "all"))
		page_summary_figures(&b, res[0]);
	page_summary_charts(&b, res[4], res[1], &f);
	page_summary_table(&b, res[0], &f);
	page_summary_report(&b, "clicks", "Links", res[3], page_summary_clicks, 5, &f,
			    "No tracked link in this selection.");
	page_summary_report(&b, "devices", "Devices and clients", res[1], page_summary_devices,
			    5, &f, "No open yet.");
	page_summary_report(&b, "geo", "Places", res[2], page_summary_geo, 5, &f,
			    "No open yet.");
	html_end(&b, scripts);
	rc = html_send(r, 200, &b);
out:
	for (int i = 0; i < 5; i++)
		PQclear(res[i]);
	return rc;
}
