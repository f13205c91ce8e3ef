/*
 * pages_stub.c - stand-ins for the pages and API handlers (pages.h, api.h)
 * until their real definitions are linked: weak symbols, so the real ones
 * win.  The sign-in form is complete enough to sign in with; the others
 * answer 501.  Delete this file once web/page_*.c and web/api.c exist.
 */
#include <string.h>

#include "api.h"
#include "buf.h"
#include "pages.h"

/* stub_esc - S with <, >, &, " as entities */
static void stub_esc(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_adds(b, *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" :
		    *s == '"' ? "&quot;" : (char[]){ *s, 0 });
}

/* page_login - the sign-in form */
__attribute__((weak)) int page_login(struct web_req *r, const char *error)
{
	struct buf b = { 0 };
	const char *next = web_arg(r, "next");

	buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Sign in</title></head><body><form id=\"login\" method=\"post\" "
	    "action=\"/login\">");
	if (error) {
		buf_adds(&b, "<p class=\"error\">");
		stub_esc(&b, error);
		buf_adds(&b, "</p>");
	}
	buf_adds(&b, "<input name=\"user\"><input name=\"password\" type=\"password\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	stub_esc(&b, r->csrf);
	buf_adds(&b, "\"><input type=\"hidden\" name=\"next\" value=\"");
	stub_esc(&b, next ? next : "");
	buf_adds(&b, "\"><button>Sign in</button></form></body></html>\n");
	return web_send(r, error ? 401 : 200, "text/html; charset=utf-8", &b);
}

/* stub - 501 */
static int stub(struct web_req *r)
{
	return web_error(r, 501, "not built yet");
}

__attribute__((weak)) int page_messages(struct web_req *r) { return stub(r); }
__attribute__((weak)) int page_conversations(struct web_req *r) { return stub(r); }
__attribute__((weak)) int page_message(struct web_req *r) { return stub(r); }
__attribute__((weak)) int page_summary(struct web_req *r) { return stub(r); }
__attribute__((weak)) int page_live(struct web_req *r) { return stub(r); }
__attribute__((weak)) int api_messages(struct web_req *r) { return stub(r); }
__attribute__((weak)) int api_message(struct web_req *r) { return stub(r); }
__attribute__((weak)) int api_events(struct web_req *r) { return stub(r); }
__attribute__((weak)) int api_summary(struct web_req *r) { return stub(r); }
