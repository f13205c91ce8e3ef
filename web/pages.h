/*
 * pages.h - beacon-web's HTML pages: the handlers server.c routes to
 *
 * DESCRIPTION
 *	Each is a web_handler (web.h).  page_login renders the sign-in
 *	form (fields user, password, csrf, next: the form's action is POST
 *	/login, next is the query's next passed on) with ERROR (NULL: none)
 *	in its message slot, status 200 without an error and 401 with one;
 *	auth.c calls it for GET /login and after a refused POST /login,
 *	with r->csrf set to the sign-in form's token.
 *	The others run signed in, in the request's transaction.
 *
 *	Every table of a page is also a CSV download: the same URL with
 *	format=csv (and, on the summary, table=NAME), its a.csv link.
 *	A table of class "cards" reads as one card per row on a phone
 *	(beacon.css): a cell's data-label is written before its value there,
 *	a number's data-unit after it, a cell of class "none" (empty) left
 *	out, one of class "wide" on a line of its own.
 *	The page_* helpers below are shared by the page_*.c files
 *	(page_common.c).
 */
#ifndef BEACON_WEB_PAGES_H
#define BEACON_WEB_PAGES_H

#include <libpq-fe.h>

#include "buf.h"
#include "data.h"
#include "web.h"

/* page_login - the sign-in form, ERROR shown when not NULL */
int page_login(struct web_req *r, const char *error);
web_handler page_messages;	/* GET /: the tracked messages, searchable */
web_handler page_conversations;	/* GET /conversations: messages grouped by thread */
web_handler page_message;	/* GET /m/<uuid>: one message, its recipients and events */
web_handler page_summary;	/* GET /summary: the summary report, charts */
web_handler page_live;		/* GET /live: events as they come (live.js, /live/stream) */

/* page_filter_form - the filter form ID for ACTION: search text (WITH_Q), campaign,
 * dates; the caller may add fields, then calls page_filter_form_end */
void page_filter_form(struct buf *b, const char *id, const char *action,
		      const struct data_filter *f, int with_q, PGresult *campaigns);
/* page_filter_form_end - the submit button LABEL and the end of the form */
void page_filter_form_end(struct buf *b, const char *label);
/* page_filter_href - PATH with the filters (not their defaults) and EXTRA ("k=v&k=v" or
 * NULL) as a query, escaped for an href */
void page_filter_href(struct buf *b, const char *path, const struct data_filter *f,
		      const char *extra);
/* page_csv_link - <a class="csv"> to PATH with the filters, format=csv and EXTRA ("k=v" or NULL) */
void page_csv_link(struct buf *b, const char *path, const struct data_filter *f,
		   const char *extra, const char *label);
/* page_pager - newer/older links around page f->page of PATH; HAS_NEXT: an older page exists */
void page_pager(struct buf *b, const char *path, const struct data_filter *f, int has_next);
/* page_get - the cell (NULL when SQL NULL) of column NAME in ROW of RES */
const char *page_get(const PGresult *res, int row, const char *name);
/* page_num - the cell of column NAME, right-aligned in a <td class="n"> */
void page_num(struct buf *b, const PGresult *res, int row, const char *name);
/* page_subject - a subject, or "(no subject)" in grey */
void page_subject(struct buf *b, const char *subject);
/* page_cell - <td class=CLS data-label=LABEL> with VALUE, an en dash (class none) when empty */
void page_cell(struct buf *b, const char *cls, const char *label, const char *value);
/* page_time_cell - <td class="time" data-label=LABEL> with html_time (SECONDS: html_time_sec) */
void page_time_cell(struct buf *b, const char *iso, const char *label, int seconds);
/* page_count - the number cell of page_num with data-unit ONE or MANY (a phone's card) */
void page_count(struct buf *b, const PGresult *res, int row, const char *name, const char *one,
		const char *many);
/* page_opened_note - p#opened-note: "opened" counts clicks and replies too */
void page_opened_note(struct buf *b);

#endif
