/*
 * NAME
 *	data.h - the queries behind beacon-web's pages and its JSON API
 *
 * SYNOPSIS
 *	struct data_filter f;
 *	if (data_filter_request(r, &f, DATA_PAGE, &rc) < 0)
 *		return rc;
 *	res = data_messages(r, &f);
 *	if (!data_ok(res))
 *		return data_fail(r, res);
 *
 * DESCRIPTION
 *	One function per query; the pages (page_*.c) and the API (api.c)
 *	call the same ones, so that a figure is computed once.  Each runs in
 *	the request's transaction on r->db, in which beacon.web_user is the
 *	signed-in user: the row-level security policies on messages,
 *	recipients, links, attachments, bounces and replies, and the view
 *	beacon.web_events (beacon-web has no privilege on beacon.events),
 *	choose the rows.  Nothing here filters by sender and nothing here
 *	may: a query that forgot the view would fail, not leak.  Request
 *	values are $N parameters only, never SQL text.
 *
 *	Counted events are the reports' (summary.sql): open, click and
 *	download events whose class is in `classes` (default
 *	DATA_CLASSES_DEFAULT, human,proxy, as the reports'),
 *	a click on the hidden link 0 never, and every reply.  A recipient
 *	"opened" when any counted event came from their token.
 *
 *	Every statement goes through pool_exec(): it waits at most
 *	statement_timeout and a margin, even for a server that stopped
 *	answering; then the function returns NULL, data_fail() answers 504,
 *	and the session, its statement unfinished, is closed when the
 *	request gives it back (pool_put).
 *
 *	Times come out as UTC ISO 8601 text with milliseconds
 *	(2026-11-20T09:05:00.000Z).  Dates in filters (since, until) are
 *	days in the viewer's time zone tz (data_set_tz sets the
 *	transaction's TimeZone to it, as beaconctl sets its session's):
 *	since is the first day, until the last day included.
 *
 *	The summary runs sql/reports/summary.sql (and clicks, devices, geo)
 *	with lib/psqlscript.c, beacon.events mapped to beacon.web_events,
 *	with the variables beaconctl report gives it: the same statement,
 *	so the same figures.
 */
#ifndef BEACON_WEB_DATA_H
#define BEACON_WEB_DATA_H

#include <libpq-fe.h>
#include <stddef.h>

#include "buf.h"
#include "web.h"

struct pool;

#define DATA_PAGE_ROWS	50	/* rows per page of a list page */
#define DATA_API_ROWS	100	/* API rows per answer by default */
#define DATA_API_MAX	500	/* API limit at most */
#define DATA_CSV_MAX	100000	/* rows of a CSV download at most */
#define DATA_EVENTS_MAX	1000	/* events on a message page at most */
#define DATA_RECENT_DAYS 7	/* the Live page shows the last events of these days */

/* DATA_CLASSES_DEFAULT - the event classes counted unless classes= says otherwise */
#define DATA_CLASSES_DEFAULT "human,proxy"
/* DATA_SUMMARY_TABLES - the summary's tables (data_summary_table), for an error message */
#define DATA_SUMMARY_TABLES "summary, clicks, devices, geo or timeline"

/* data_kind - what a filter is read for: limits and pagination differ */
enum data_kind {
	DATA_PAGE,	/* a page: ?page=N, DATA_PAGE_ROWS a page */
	DATA_API,	/* the API: ?limit=N&cursor=C */
	DATA_CSV,	/* a CSV download: every row up to DATA_CSV_MAX */
};

/* data_filter - the filters of a list or report, read and checked */
struct data_filter {
	char q[256];		/* search text; "" none */
	char campaign[256];	/* messages.campaign exactly; "" any */
	char message[37];	/* one message (summary); "" any */
	char since[11];		/* first day YYYY-MM-DD; "" none */
	char until[11];		/* last day YYYY-MM-DD (included); "" none */
	char until_next[11];	/* the day after until; "" none */
	char tz[64];		/* the viewer's IANA time zone; "UTC" */
	char classes[96];	/* counted event classes, comma list; DATA_CLASSES_DEFAULT */
	char late[8];		/* include|exclude events flagged late */
	char by[9];		/* summary rows: all|campaign|message */
	char per[6];		/* timeline slots: ""(auto)|hour|day|month */
	int page;		/* DATA_PAGE: 1.. */
	int limit;		/* rows to show (one more is fetched to know of a next) */
	long offset;		/* rows skipped */
	int has_cursor;		/* DATA_API: a cursor was given */
	long long cursor_us;	/* its sent_at in µs since the epoch (messages) */
	char cursor_id[37];	/* its message id (messages) */
	int csv;		/* ?format=csv */
	int report_utc;		/* data_report: the reports' local times in UTC (tz still
				 * chooses the days): the API's JSON */
};

/* data_arg_fn - where data_filter_read gets the request's values */
typedef const char *data_arg_fn(void *arg, const char *name);
/* data_web_arg - web_arg() as a data_arg_fn (ARG is the struct web_req) */
const char *data_web_arg(void *arg, const char *name);

/* data_filter_read - read and check the filters; -1 with ERR (for a 400) when one is bad */
int data_filter_read(struct data_filter *f, data_arg_fn *get, void *arg, enum data_kind kind,
		     char *err, size_t errlen);
/* data_filter_request - read the request's filters (data_filter_read) and make
 * the transaction's time zone theirs (data_set_tz); -1 after answering the
 * request (400 or 500), *RC then what the answer returned */
int data_filter_request(struct web_req *r, struct data_filter *f, enum data_kind kind, int *rc);
/* data_date_ok - S is a real day YYYY-MM-DD (1900..9999) */
int data_date_ok(const char *s);
/* data_day_after - the day after DAY (YYYY-MM-DD) into OUT[11]; -1 if DAY is no date */
int data_day_after(const char *day, char out[11]);
/* data_tz_ok - S looks like an IANA zone name (Europe/Berlin, UTC, Etc/GMT+1) */
int data_tz_ok(const char *s);
/* data_uuid_ok - S is a UUID in its 8-4-4-4-12 hex form */
int data_uuid_ok(const char *s);
/* data_classes_ok - S is a comma list of event classes */
int data_classes_ok(const char *s);
/* data_cursor_make - the API cursor of a messages row (sent_at µs, id) into OUT */
void data_cursor_make(char *out, size_t len, const char *us, const char *id);

/* data_filter_query - the filters that differ from their defaults as "k=v&k=v" (no '?', no page) */
void data_filter_query(struct buf *b, const struct data_filter *f);

/* data_ok - RES holds rows (PGRES_TUPLES_OK) */
int data_ok(const PGresult *res);
/* data_fail - log RES's error, clear it, answer 400 (a bad value), 500, 503 (the
 * session lost) or, RES NULL after the wait ran out, 504 */
int data_fail(struct web_req *r, PGresult *res);
/* data_set_tz - the transaction's TimeZone := TZ (dates in filters are days there) */
PGresult *data_set_tz(struct web_req *r, const char *tz);
/* data_is_number - column COL of RES is of a number type (written as a JSON number) */
int data_is_number(const PGresult *res, int col);
/* data_message_columns - how many first columns of a data_messages or
 * data_message result are the message object (all but cursor_us) */
int data_message_columns(const PGresult *res);

/* data_messages - the messages of the filter, newest first; the columns of
 * the API's message object, then cursor_us (for data_cursor_make) */
PGresult *data_messages(struct web_req *r, const struct data_filter *f);
/* data_campaigns - the campaigns of the user's messages, for the search form */
PGresult *data_campaigns(struct web_req *r);
/* data_message - one message (same columns as data_messages), no row if not visible */
PGresult *data_message(struct web_req *r, const char *id, const char *classes);
/* data_recipients - the message's recipients with their counted activity */
PGresult *data_recipients(struct web_req *r, const char *id, const char *classes);
/* data_events - the message's events newest first, with the answers of others: the
 * API's event object (at .. attachment), then browser, reason, why (in words),
 * late, counted, from_domain, subject and place (city, region, country in one text) */
PGresult *data_events(struct web_req *r, const char *id, const char *classes, int limit,
		      long offset);
/* data_threads - conversations: the threads of the filter's messages, newest activity first */
PGresult *data_threads(struct web_req *r, const struct data_filter *f);
/* data_reports_load - find sql/reports (the installed one, else the source tree's)
 * and read its files into memory, before the privilege drop: a checkout under /root
 * is not readable after it; 0, or -1 with why in ERR */
int data_reports_load(char *err, size_t len);
/* data_report - sql/reports/NAME.sql over beacon.web_events with the filter's variables */
PGresult *data_report(struct web_req *r, const char *name, const struct data_filter *f);
/* data_timeline - counted opens and clicks per hour, day or month, for the chart */
PGresult *data_timeline(struct web_req *r, const struct data_filter *f);
/* data_summary_known - NAME is one of the summary's tables (DATA_SUMMARY_TABLES) */
int data_summary_known(const char *name);
/* data_summary_table - the rows of the summary's table NAME: data_timeline for
 * "timeline", else data_report of that report; NULL for an unknown NAME */
PGresult *data_summary_table(struct web_req *r, const char *name, const struct data_filter *f);
/* data_batch_events - the events the user (of DB's transaction, a session of POOL)
 * sees of one NOTIFY beacon_batch, its PAYLOAD {"xid", "from", "to", "n"}, oldest
 * first; NULL when the wait ran out */
PGresult *data_batch_events(struct pool *pool, PGconn *db, const char *payload);
/* data_recent_events - the user's last LIMIT events of the last DATA_RECENT_DAYS days,
 * newest first (the Live page's first rows) */
PGresult *data_recent_events(struct web_req *r, int limit);

#endif
