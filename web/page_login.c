/*
 * page_login.c - GET /login: the sign-in form (server.c handles the POST)
 *
 * Fields user, password, csrf (the pre-session token server.c gives in
 * r->csrf) and next (where to go after: a path on this site, else /).
 * ERROR, when server.c refused a POST, is shown in #login-error.
 */
#include <string.h>

#include "html.h"
#include "pages.h"

/* page_login_next - NEXT when it is a path on this site, else "/" */
static const char *page_login_next(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    strpbrk(next, "\r\n\t") || strlen(next) > 1000)
		return "/";
	return next;
}

/* page_login - the sign-in form */
int page_login(struct web_req *r, const char *error)
{
	struct buf b = { 0 };
	const char *user = web_arg(r, "user");

	html_begin(&b, r, "Sign in", HTML_NAV_NONE);
	buf_adds(&b, "<section class=\"login\">\n<h1>Sign in</h1>\n"
		 "<p class=\"muted\">Opens, clicks and replies of the mail you send.</p>\n");
	if (error) {
		buf_adds(&b, "<p id=\"login-error\" class=\"error\" role=\"alert\">");
		html_esc(&b, error);
		buf_adds(&b, "</p>\n");
	}
	buf_adds(&b, "<form id=\"login\" method=\"post\" action=\"/login\">\n"
		 "<label>User <input type=\"text\" name=\"user\" autocomplete=\"username\" "
		 "autocapitalize=\"none\" spellcheck=\"false\" required autofocus value=\"");
	html_esc(&b, user);
	buf_adds(&b, "\" placeholder=\"you@example.org\"></label>\n"
		 "<label>Password <input type=\"password\" name=\"password\" "
		 "autocomplete=\"current-password\" required></label>\n"
		 "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(&b, r->csrf);
	buf_adds(&b, "\">\n<input type=\"hidden\" name=\"next\" value=\"");
	html_esc(&b, page_login_next(web_arg(r, "next")));
	buf_adds(&b, "\">\n<button type=\"submit\">Sign in</button>\n</form>\n</section>\n");
	html_end(&b, NULL);
	return html_send(r, error ? 401 : 200, &b);
}
