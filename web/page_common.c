/*
 * page_common.c - what beacon-web's pages share: the filter form, CSV
 * links, the pager, cells (see pages.h)
 */
#include <stdio.h>
#include <string.h>

#include "html.h"
#include "pages.h"

/* page_filter_form - search text, campaign (with the user's campaigns offered), since, until */
void page_filter_form(struct buf *b, const char *id, const char *action,
		      const struct data_filter *f, int with_q, PGresult *campaigns)
{
	buf_printf(b, "<form id=\"%s\" class=\"filters\" method=\"get\" action=\"%s\">\n", id,
		   action);
	if (with_q) {
		buf_adds(b, "<label class=\"grow\">Search <input type=\"search\" name=\"q\" "
			 "placeholder=\"recipient, name, subject or campaign\" value=\"");
		html_esc(b, f->q);
		buf_adds(b, "\"></label>\n");
	}
	buf_adds(b, "<label>Campaign <input type=\"text\" name=\"campaign\" list=\"campaigns\" "
		 "value=\"");
	html_esc(b, f->campaign);
	buf_adds(b, "\"></label>\n");
	if (campaigns && data_ok(campaigns)) {
		buf_adds(b, "<datalist id=\"campaigns\">");
		for (int i = 0; i < PQntuples(campaigns); i++) {
			buf_adds(b, "<option value=\"");
			html_esc(b, PQgetvalue(campaigns, i, 0));
			buf_adds(b, "\">");
		}
		buf_adds(b, "</datalist>\n");
	}
	html_input(b, "Sent from", "date", "since", f->since);
	html_input(b, "until", "date", "until", f->until);
	if (f->message[0]) {
		buf_adds(b, "<input type=\"hidden\" name=\"message\" value=\"");
		html_esc(b, f->message);
		buf_adds(b, "\">\n");
	}
	/* beacon.js puts the browser's zone here; the dates are days there */
	buf_adds(b, "<input type=\"hidden\" name=\"tz\" value=\"");
	html_esc(b, f->tz);
	buf_adds(b, "\">\n");
}

/* page_filter_form_end - the button and the end of the filter form */
void page_filter_form_end(struct buf *b, const char *label)
{
	buf_adds(b, "<button type=\"submit\">");
	html_esc(b, label);
	buf_adds(b, "</button>\n</form>\n");
}

/* page_filter_href - PATH?<the filters>&EXTRA, escaped for an attribute */
void page_filter_href(struct buf *b, const char *path, const struct data_filter *f,
		      const char *extra)
{
	struct buf href = { 0 };

	buf_adds(&href, path);
	buf_adds(&href, "?");
	data_filter_query(&href, f);
	if (extra && *extra) {
		if (href.p[href.len - 1] != '?')
			buf_adds(&href, "&");
		buf_adds(&href, extra);
	}
	if (href.p[href.len - 1] == '?')
		href.p[--href.len] = '\0';
	html_esc(b, buf_str(&href));
	buf_free(&href);
}

/* page_csv_link - a CSV download of the table shown, with its filters */
void page_csv_link(struct buf *b, const char *path, const struct data_filter *f,
		   const char *extra, const char *label)
{
	struct buf more = { 0 };

	buf_adds(&more, "format=csv");
	if (extra) {
		buf_adds(&more, "&");
		buf_adds(&more, extra);
	}
	buf_adds(b, "<a class=\"csv\" href=\"");
	page_filter_href(b, path, f, buf_str(&more));
	buf_adds(b, "\" download>");
	html_esc(b, label ? label : "CSV");
	buf_adds(b, "</a>");
	buf_free(&more);
}

/* page_link_page - href of page N of PATH with the filters */
static void page_link_page(struct buf *b, const char *path, const struct data_filter *f, int n)
{
	char extra[32] = "";

	if (n > 1)
		snprintf(extra, sizeof(extra), "page=%d", n);
	page_filter_href(b, path, f, extra);
}

/* page_pager - "Newer" and "Older" around the page number */
void page_pager(struct buf *b, const char *path, const struct data_filter *f, int has_next)
{
	if (f->page == 1 && !has_next)
		return;
	buf_adds(b, "<nav class=\"pager\">");
	if (f->page > 1) {
		buf_adds(b, "<a rel=\"prev\" href=\"");
		page_link_page(b, path, f, f->page - 1);
		buf_adds(b, "\">\xe2\x86\x90 Newer</a>");
	}
	buf_printf(b, "<span>Page %d</span>", f->page);
	if (has_next) {
		buf_adds(b, "<a rel=\"next\" href=\"");
		page_link_page(b, path, f, f->page + 1);
		buf_adds(b, "\">Older \xe2\x86\x92</a>");
	}
	buf_adds(b, "</nav>\n");
}

/* page_get - the value of column NAME in ROW (NULL: SQL NULL or no such column) */
const char *page_get(const PGresult *res, int row, const char *name)
{
	int c = PQfnumber(res, name);

	if (c < 0 || PQgetisnull(res, row, c))
		return NULL;
	return PQgetvalue(res, row, c);
}

/* page_num - a number cell */
void page_num(struct buf *b, const PGresult *res, int row, const char *name)
{
	const char *v = page_get(res, row, name);

	buf_printf(b, "<td class=\"n\" data-k=\"%s\">", name);
	html_or_dash(b, v);
	buf_adds(b, "</td>");
}

/* page_subject - the subject, or a grey "(no subject)" */
void page_subject(struct buf *b, const char *subject)
{
	if (subject && *subject)
		html_esc(b, subject);
	else
		buf_adds(b, "<span class=\"muted\">(no subject)</span>");
}

/* page_cell - <td class=CLS data-label=LABEL>VALUE</td>; an empty VALUE is an en
 * dash and the class "none" (a phone's card leaves it out) */
void page_cell(struct buf *b, const char *cls, const char *label, const char *value)
{
	int none = !value || !*value;

	buf_printf(b, "<td class=\"%s%s\"", cls ? cls : "", none ? (cls ? " none" : "none") : "");
	if (label)
		buf_printf(b, " data-label=\"%s\"", label);
	buf_adds(b, ">");
	html_or_dash(b, value);
	buf_adds(b, "</td>");
}

/* page_time_cell - <td class="time"> with the time ISO (to the second with SECONDS) */
void page_time_cell(struct buf *b, const char *iso, const char *label, int seconds)
{
	buf_printf(b, "<td class=\"time%s\"", iso && *iso ? "" : " none");
	if (label)
		buf_printf(b, " data-label=\"%s\"", label);
	buf_adds(b, ">");
	if (seconds)
		html_time_sec(b, iso);
	else
		html_time(b, iso);
	buf_adds(b, "</td>");
}

/* page_count - a number cell with its unit for a phone's card: ONE when the value is 1, else MANY */
void page_count(struct buf *b, const PGresult *res, int row, const char *name, const char *one,
		const char *many)
{
	const char *v = page_get(res, row, name);

	buf_printf(b, "<td class=\"n%s\" data-k=\"%s\" data-unit=\"%s\">",
		   v && !strcmp(v, "0") ? " zero" : "", name, v && !strcmp(v, "1") ? one : many);
	html_or_dash(b, v);
	buf_adds(b, "</td>");
}

/* page_opened_note - what "opened" counts, under the figures or a table that shows it */
void page_opened_note(struct buf *b)
{
	buf_adds(b, "<p class=\"note\" id=\"opened-note\">Opened: the recipients who opened, "
		 "clicked or replied (a click or a reply with images blocked is an open too).</p>\n");
}
