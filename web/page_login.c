/*
 * page_login.c - GET /login: the sign-in form; auth.c checks what it
 * POSTs to /login and, when it refuses, calls page_login with the reason
 *
 * Fields user, password, csrf (the sign-in form's token auth.c puts in
 * r->csrf) and next (where to go after: a path on this site, else /).
 * ERROR, when auth.c refused a POST, is shown in #login-error.
 */
#include "form.h"
#include "html.h"
#include "pages.h"

/* page_login - the sign-in form */
int page_login(struct web_req *r, const char *error)
{
	struct buf b = { 0 };
	const char *user = web_arg(r, "user"), *next;

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
	next = web_arg(r, "next");
	html_esc(&b, next && form_local_path(next) ? next : "/");
	buf_adds(&b, "\">\n<button type=\"submit\">Sign in</button>\n</form>\n</section>\n");
	html_end(&b, NULL);
	return html_send(r, error ? 401 : 200, &b);
}
