/*
 * respond.c - beacon-web's answers: web_send*, web_redirect, web_error,
 * cookies and the headers every answer carries (see respond.h, web.h)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "form.h"
#include "html.h"
#include "json.h"
#include "log.h"
#include "respond.h"

#define RESPOND_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'self'"
#define RESPOND_NO_MESSAGE "This message does not exist or is not one of yours."

/* respond_reset - the cookies go */
void respond_reset(struct respond *rs)
{
	for (size_t i = 0; i < rs->ncookies; i++)
		free(rs->cookies[i]);
	rs->ncookies = 0;
}

/* web_set_cookie - a Set-Cookie for the answer */
void web_set_cookie(struct web_req *r, const char *name, const char *value, long max_age)
{
	struct respond *rs = respond_of(r);
	char *c, age[40] = "";

	if (rs->ncookies >= RESPOND_MAX_COOKIES)
		log_fatalx("more than %d cookies in one answer", RESPOND_MAX_COOKIES);
	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
	if (asprintf(&c, "%s=%s; Path=/; HttpOnly; Secure; SameSite=Strict%s", name, value,
	    age) < 0)
		log_fatalx("out of memory");
	rs->cookies[rs->ncookies++] = c;
}

/* web_send_response - the security headers, cookies and cache policy, then queue */
int web_send_response(struct web_req *r, unsigned status, struct MHD_Response *resp,
    const char *cache_control)
{
	struct respond *rs = respond_of(r);
	int ok;

	if (rs->status) {
		log_warnx("%s %s: a second answer (%u after %u) dropped", r->method, r->path,
		    status, rs->status);
		MHD_destroy_response(resp);
		return -1;
	}
	ok = MHD_add_response_header(resp, "Content-Security-Policy", RESPOND_CSP) == MHD_YES &&
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES &&
	    MHD_add_response_header(resp, "Referrer-Policy", "same-origin") == MHD_YES &&
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") == MHD_YES &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control) == MHD_YES;
	for (size_t i = 0; ok && i < rs->ncookies; i++)
		ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, rs->cookies[i]) ==
		    MHD_YES;
	ok = ok && MHD_queue_response(r->conn, status, resp) == MHD_YES;
	MHD_destroy_response(resp);
	if (!ok)
		return -1;
	rs->status = status;
	return 0;
}

/* respond_buffer - a response owning BODY's bytes (BODY emptied; NULL: no body) */
static struct MHD_Response *respond_buffer(struct buf *body)
{
	struct MHD_Response *resp;

	if (!body || !body->p)
		return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	resp = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
	if (resp)
		*body = (struct buf){ 0 };
	return resp;
}

/* respond_with - RESP with header NAME: VALUE (and NAME2: VALUE2 unless NULL), then sent */
static int respond_with(struct web_req *r, unsigned status, struct MHD_Response *resp,
    const char *name, const char *value, const char *name2, const char *value2)
{
	if (!resp)
		return -1;
	if (MHD_add_response_header(resp, name, value) != MHD_YES ||
	    (name2 && MHD_add_response_header(resp, name2, value2) != MHD_YES)) {
		MHD_destroy_response(resp);
		return -1;
	}
	return web_send_response(r, status, resp, "no-store");
}

/* web_send - answer with a body of the given type */
int web_send(struct web_req *r, unsigned status, const char *content_type, struct buf *body)
{
	struct MHD_Response *resp = respond_buffer(body);

	buf_free(body);
	return respond_with(r, status, resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type, NULL,
	    NULL);
}

/* web_send_csv - a CSV download */
int web_send_csv(struct web_req *r, const char *filename, struct buf *body)
{
	struct MHD_Response *resp = respond_buffer(body);
	char disp[160];

	buf_free(body);
	if (!filename || !*filename || strlen(filename) > 100 || filename[0] == '.' ||
	    strspn(filename, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	    strlen(filename))
		filename = "beacon.csv";
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	return respond_with(r, 200, resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8",
	    MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
}

/* web_redirect - 303 to a path of this site */
int web_redirect(struct web_req *r, const char *location)
{
	return respond_with(r, 303, respond_buffer(NULL), MHD_HTTP_HEADER_LOCATION,
	    form_local_path(location) ? location : "/", NULL, NULL);
}

/* respond_not_allowed - 405 and the methods the path takes */
int respond_not_allowed(struct web_req *r, const char *allow)
{
	return respond_with(r, 405, respond_buffer(NULL), MHD_HTTP_HEADER_ALLOW, allow, NULL,
	    NULL);
}

/* respond_unauthorized - 401 for the API, with the scheme it takes */
int respond_unauthorized(struct web_req *r)
{
	struct buf b = { 0 };

	buf_adds(&b, "{\"error\":\"sign in or send Authorization: Bearer <token>\"}\n");
	return respond_with(r, 401, respond_buffer(&b), MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json", MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"beacon\"");
}

/* web_error - JSON under /api/, else a page of the site's frame */
int web_error(struct web_req *r, unsigned status, const char *message)
{
	const char *reason = MHD_get_reason_phrase_for(status);
	struct buf b = { 0 };

	if (!strncmp(r->path, "/api/", 5)) {
		buf_adds(&b, "{\"error\":");
		json_string(message, json_buf_put, &b);
		buf_adds(&b, "}\n");
		return web_send(r, status, "application/json", &b);
	}
	/* a message that is not there and one of another sender look the same */
	if (status == 404 && web_path_id(r))
		message = RESPOND_NO_MESSAGE;
	html_begin(&b, r, reason && *reason ? reason : "Error", HTML_NAV_NONE);
	buf_printf(&b, "<section class=\"error\">\n<h1>%u ", status);
	html_esc(&b, reason);
	buf_adds(&b, "</h1>\n<p id=\"error\">");
	html_esc(&b, message);
	buf_adds(&b, "</p>\n<p><a href=\"/\">Back to the messages</a></p>\n</section>\n");
	html_end(&b, NULL);
	return web_send(r, status, "text/html; charset=utf-8", &b);
}
