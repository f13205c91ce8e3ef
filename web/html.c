/*
 * html.c - beacon-web's HTML: escaping and the page chrome (see html.h)
 */
#include <stdio.h>
#include <string.h>

#include "html.h"
#include "json.h"

/* html_esc - append S escaped: & < > " ' as entities, bad UTF-8 and controls as U+FFFD */
void html_esc(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	unsigned cp;

	if (!s)
		return;
	n = strlen(s);
	while (n > 0) {
		size_t run = 0, len;

		/* copy the longest run of bytes that need nothing */
		while (run < n && p[run] >= 0x20 && p[run] < 0x7f && !strchr("&<>\"'", p[run]))
			run++;
		if (run) {
			buf_add(b, p, run);
			p += run;
			n -= run;
			continue;
		}
		switch (*p) {
		case '&': buf_adds(b, "&amp;"); len = 1; break;
		case '<': buf_adds(b, "&lt;"); len = 1; break;
		case '>': buf_adds(b, "&gt;"); len = 1; break;
		case '"': buf_adds(b, "&quot;"); len = 1; break;
		case '\'': buf_adds(b, "&#39;"); len = 1; break;
		case '\t': case '\n': case '\r': buf_add(b, p, 1); len = 1; break;
		default:
			len = *p >= 0x80 ? json_utf8(p, n, &cp) : 0;
			if (len > 0 && !(cp >= 0x80 && cp < 0xa0)) {
				buf_add(b, p, len);
			} else {
				/* a control character, DEL, a C1 control or a byte
				 * outside valid UTF-8 */
				buf_adds(b, "\xef\xbf\xbd");
				if (len == 0)
					len = 1;
			}
		}
		p += len;
		n -= len;
	}
}

/* html_url_arg - append S percent-encoded (RFC 3986 unreserved bytes kept) */
void html_url_arg(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_add(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 3);
		}
	}
}

/* html_nav_entry - one navigation link, marked when it is the current page */
static void html_nav_entry(struct buf *b, const char *href, const char *label, int current)
{
	buf_printf(b, "<a href=\"%s\"%s>%s</a>", href,
		   current ? " aria-current=\"page\"" : "", label);
}

/* html_begin - the document head and, signed in, the navigation bar */
void html_begin(struct buf *b, const struct web_req *r, const char *title, enum html_nav nav)
{
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		 "<title>");
	html_esc(b, title);
	buf_adds(b, " \xc2\xb7 Beacon</title>\n"
		 "<link rel=\"stylesheet\" href=\"/static/beacon.css\">\n"
		 "<script src=\"/static/beacon.js\" defer></script>\n"
		 "</head>\n<body>\n<header class=\"top\">\n"
		 "<a class=\"brand\" href=\"/\">Beacon</a>\n");
	if (r->user) {
		buf_adds(b, "<nav class=\"main\">");
		html_nav_entry(b, "/", "Messages", nav == HTML_NAV_MESSAGES);
		html_nav_entry(b, "/conversations", "Conversations", nav == HTML_NAV_CONVERSATIONS);
		html_nav_entry(b, "/summary", "Summary", nav == HTML_NAV_SUMMARY);
		html_nav_entry(b, "/live", "Live", nav == HTML_NAV_LIVE);
		buf_adds(b, "</nav>\n<div class=\"who\"><span class=\"user\">");
		html_esc(b, r->user->name);
		if (r->user->admin)
			buf_adds(b, " <span class=\"badge\">admin</span>");
		buf_adds(b, "</span>\n<form id=\"logout\" method=\"post\" action=\"/logout\">"
			 "<input type=\"hidden\" name=\"csrf\" value=\"");
		html_esc(b, r->csrf);
		buf_adds(b, "\"><button type=\"submit\">Sign out</button></form></div>\n");
	}
	buf_adds(b, "</header>\n<main>\n");
	/* a replica behind read_conninfo: say where the page was read and how far behind */
	if (r->user && r->priv) {
		const char *from = web_read_from((struct web_req *)r);
		if (from && *from) {
			buf_adds(b, "<p class=\"readfrom\">");
			html_esc(b, from);
			buf_adds(b, "</p>\n");
		}
	}
}

/* html_end - close main, add the page's scripts, close the document */
void html_end(struct buf *b, const char *const *scripts)
{
	buf_adds(b, "</main>\n");
	for (size_t i = 0; scripts && scripts[i]; i++) {
		buf_adds(b, "<script src=\"/static/");
		html_esc(b, scripts[i]);
		buf_adds(b, "\" defer></script>\n");
	}
	buf_adds(b, "</body>\n</html>\n");
}

/* html_send - answer STATUS with the page */
int html_send(struct web_req *r, unsigned status, struct buf *b)
{
	return web_send(r, status, "text/html; charset=utf-8", b);
}

/* html_time_text_n - "YYYY-MM-DD HH:MM[:SS] UTC" from "YYYY-MM-DDTHH:MM:SS...Z" */
static void html_time_text_n(struct buf *b, const char *iso, int seconds)
{
	if (iso && strlen(iso) >= (seconds ? 20u : 17u) && iso[10] == 'T' && iso[strlen(iso) - 1] == 'Z') {
		buf_add(b, iso, 10);
		buf_adds(b, " ");
		buf_add(b, iso + 11, seconds ? 8 : 5);
		buf_adds(b, " UTC");
	} else {
		html_esc(b, iso);
	}
}

/* html_time_text - "YYYY-MM-DD HH:MM UTC" */
void html_time_text(struct buf *b, const char *iso)
{
	html_time_text_n(b, iso, 0);
}

/* html_time_n - <time datetime=ISO [data-sec]>text</time>, or an en dash without a time */
static void html_time_n(struct buf *b, const char *iso, int seconds)
{
	if (!iso || !*iso) {
		buf_adds(b, "\xe2\x80\x93");
		return;
	}
	buf_adds(b, "<time datetime=\"");
	html_esc(b, iso);
	buf_adds(b, seconds ? "\" data-sec>" : "\">");
	html_time_text_n(b, iso, seconds);
	buf_adds(b, "</time>");
}

/* html_time - to the minute */
void html_time(struct buf *b, const char *iso)
{
	html_time_n(b, iso, 0);
}

/* html_time_sec - to the second */
void html_time_sec(struct buf *b, const char *iso)
{
	html_time_n(b, iso, 1);
}

/* html_zone - the zone the times are shown in: UTC, the viewer's once beacon.js ran */
void html_zone(struct buf *b)
{
	buf_adds(b, "<span class=\"tz\">UTC</span>");
}

/* html_json_block - JSON in a <script type="application/json">, <, > and & escaped
 * (\u003c...: the same string to JSON.parse, no "</script>" for the HTML parser) */
void html_json_block(struct buf *b, const char *id, const struct buf *json)
{
	buf_printf(b, "<script type=\"application/json\" id=\"%s\">", id);
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
	buf_adds(b, "</script>\n");
}

/* html_error_page - the page of an error: the chrome (with the navigation when
 * signed in), the status, MESSAGE, a way back */
void html_error_page(struct buf *b, const struct web_req *r, unsigned status, const char *message)
{
	char title[64];

	snprintf(title, sizeof(title), "%s", status == 404 ? "Not found" :
		 status == 403 ? "Forbidden" : status < 500 ? "Cannot do that" : "Error");
	html_begin(b, r, title, HTML_NAV_NONE);
	buf_printf(b, "<section class=\"error\">\n<h1>%s</h1>\n<p class=\"error\" role=\"alert\">",
		   title);
	html_esc(b, message);
	buf_printf(b, "</p>\n<p class=\"muted\">HTTP status %u.</p>\n"
		   "<p><a href=\"/\">\xe2\x86\x90 Messages</a></p>\n</section>\n", status);
	html_end(b, NULL);
}

/* html_or_dash - S escaped, or an en dash when empty */
void html_or_dash(struct buf *b, const char *s)
{
	if (s && *s)
		html_esc(b, s);
	else
		buf_adds(b, "\xe2\x80\x93");
}

/* html_input - a labelled input with its current value */
void html_input(struct buf *b, const char *label, const char *type, const char *name,
		const char *value)
{
	buf_adds(b, "<label>");
	html_esc(b, label);
	buf_printf(b, " <input type=\"%s\" name=\"%s\"", type, name);
	if (value && *value) {
		buf_adds(b, " value=\"");
		html_esc(b, value);
		buf_adds(b, "\"");
	}
	buf_adds(b, "></label>\n");
}
