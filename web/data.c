/*
 * data.c - the queries behind beacon-web's pages and API (see data.h)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data.h"
#include "db.h"
#include "html.h"
#include "log.h"
#include "pool.h"
#include "psqlscript.h"
#include "server.h"
#include "sqldir.h"

/* ISO - an SQL timestamptz expression as UTC ISO 8601 text with milliseconds */
#define ISO(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* COUNTED - the reports' rule for an event e that counts, with the class list at $N */
#define COUNTED(n) \
	"(e.kind = 'reply' OR e.kind IN ('open', 'click', 'download')" \
	" AND e.class = ANY (string_to_array(" n ", ','))" \
	" AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0))"

/*
 * The search of the messages and conversations pages, written once:
 * DATA_PAT, a WITH item, is the LIKE pattern of $1 q (its % _ \ taken
 * literally); DATA_MATCH, over "beacon.messages m, pat", is true when m
 * matches: q a substring, in any case, of the subject, campaign, sender or
 * a recipient's address or name ("" any), $2 campaign exactly ("" any),
 * sent on $3 since or after and on $4 until or before (days; NULL none).
 */
#define DATA_PAT \
	"pat AS (\n" \
	"	SELECT '%' || replace(replace(replace($1::text, '\\', '\\\\'), '%', '\\%'),\n" \
	"			      '_', '\\_') || '%' AS p\n" \
	")"
#define DATA_MATCH \
	"($1::text = '' OR m.subject ILIKE pat.p OR m.campaign ILIKE pat.p\n" \
	"	       OR m.sender ILIKE pat.p\n" \
	"	       OR EXISTS (SELECT 1 FROM beacon.recipients r\n" \
	"			  WHERE r.message = m.id\n" \
	"			    AND (r.address ILIKE pat.p OR r.name ILIKE pat.p)))\n" \
	"	  AND ($2::text = '' OR m.campaign = $2::text)\n" \
	"	  AND ($3::date IS NULL OR m.sent_at >= $3::date::timestamptz)\n" \
	"	  AND ($4::date IS NULL OR m.sent_at < ($4::date + 1)::timestamptz)"

/* data_web_arg - web_arg() as a data_arg_fn */
const char *data_web_arg(void *arg, const char *name)
{
	return web_arg(arg, name);
}

/* data_date_ok - S is a real day YYYY-MM-DD */
int data_date_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 0;
	return 1;
}

/* data_day_after - the day after DAY into OUT */
int data_day_after(const char *day, char out[11])
{
	struct tm tm = { 0 };
	time_t t;

	if (!data_date_ok(day))
		return -1;
	tm.tm_year = atoi(day) - 1900;
	tm.tm_mon = atoi(day + 5) - 1;
	tm.tm_mday = atoi(day + 8) + 1;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &tm))
		return -1;
	if (tm.tm_year + 1900 > 9999)
		return -1;
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
	return 0;
}

/* data_tz_ok - S looks like an IANA zone name; the server checks that it exists */
int data_tz_ok(const char *s)
{
	size_t n;

	if (!s || !*s || (n = strlen(s)) >= 64 || s[0] == '/' || s[0] == '-' || strstr(s, ".."))
		return 0;
	return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/")]
		== '\0';
}

/* data_uuid_ok - 8-4-4-4-12 hex digits */
int data_uuid_ok(const char *s)
{
	if (!s || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdefABCDEF", s[i])) {
			return 0;
		}
	}
	return 1;
}

/* data_classes_ok - a comma list of the event classes */
int data_classes_ok(const char *s)
{
	static const char *const classes[] = {
		"human", "proxy", "prefetch", "scanner", "internal", "sender", "bot",
	};

	if (!s || !*s)
		return 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		int found = 0;
		for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
			if (strlen(classes[i]) == n && strncmp(s, classes[i], n) == 0)
				found = 1;
		if (!found)
			return 0;
		s += n;
		if (*s == ',' && *++s == '\0')
			return 0;
	}
	return 1;
}

/* data_cursor_make - "µs_uuid": where the next page of messages starts */
void data_cursor_make(char *out, size_t len, const char *us, const char *id)
{
	snprintf(out, len, "%s_%s", us, id);
}

/* data_cursor_read - parse CURSOR ("N" an offset, or "µs_uuid") into F; -1 if neither */
static int data_cursor_read(struct data_filter *f, const char *cursor)
{
	const char *us = cursor, *sep;
	char *end;
	long long v;

	if (!*cursor || strlen(cursor) > 64)
		return -1;
	if ((sep = strchr(cursor, '_'))) {
		if (*us == '-')
			us++;
		if (sep == us || (size_t)(sep - us) > 18 || strspn(us, "0123456789") != (size_t)(sep - us) ||
		    !data_uuid_ok(sep + 1))
			return -1;
		f->cursor_us = strtoll(cursor, NULL, 10);
		memcpy(f->cursor_id, sep + 1, 37);
		f->has_cursor = 1;
		return 0;
	}
	if (strspn(cursor, "0123456789") != strlen(cursor) || strlen(cursor) > 9)
		return -1;
	v = strtoll(cursor, &end, 10);
	f->offset = (long)v;
	return 0;
}

/* data_copy - VALUE into DST (LEN bytes); -1 if longer */
static int data_copy(char *dst, size_t len, const char *value)
{
	if (strlen(value) >= len)
		return -1;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

/* data_filter_read - read and check every filter of the request */
int data_filter_read(struct data_filter *f, data_arg_fn *get, void *arg, enum data_kind kind,
		     char *err, size_t errlen)
{
	const char *v;
	char *end;
	long n;

	memset(f, 0, sizeof(*f));
	strcpy(f->tz, "UTC");
	strcpy(f->classes, DATA_CLASSES_DEFAULT);
	strcpy(f->late, "include");
	strcpy(f->by, "all");
	f->page = 1;
	f->limit = kind == DATA_API ? DATA_API_ROWS : DATA_PAGE_ROWS;

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)
	if ((v = get(arg, "q")) && data_copy(f->q, 201, v) < 0)
		BAD("q: at most 200 bytes");
	if ((v = get(arg, "campaign")) && data_copy(f->campaign, sizeof(f->campaign), v) < 0)
		BAD("campaign: at most %zu bytes", sizeof(f->campaign) - 1);
	if ((v = get(arg, "message")) && *v) {
		if (!data_uuid_ok(v))
			BAD("message: not a message id (a UUID)");
		memcpy(f->message, v, 37);
	}
	if ((v = get(arg, "since")) && *v) {
		if (!data_date_ok(v))
			BAD("since: not a date (YYYY-MM-DD)");
		memcpy(f->since, v, 11);
	}
	if ((v = get(arg, "until")) && *v) {
		if (!data_date_ok(v) || data_day_after(v, f->until_next) < 0)
			BAD("until: not a date (YYYY-MM-DD)");
		memcpy(f->until, v, 11);
	}
	if (f->since[0] && f->until[0] && strcmp(f->since, f->until) > 0)
		BAD("since %s is after until %s", f->since, f->until);
	if ((v = get(arg, "tz")) && *v) {
		if (!data_tz_ok(v))
			BAD("tz: not a time zone name (such as Europe/Berlin or UTC)");
		data_copy(f->tz, sizeof(f->tz), v);
	}
	if ((v = get(arg, "classes")) && *v) {
		if (data_copy(f->classes, sizeof(f->classes), v) < 0 || !data_classes_ok(v))
			BAD("classes: a comma list of human, proxy, prefetch, scanner, "
			    "internal, sender, bot");
	}
	if ((v = get(arg, "late")) && *v) {
		if (strcmp(v, "include") != 0 && strcmp(v, "exclude") != 0)
			BAD("late: include or exclude");
		strcpy(f->late, v);
	}
	if ((v = get(arg, "by")) && *v) {
		if (strcmp(v, "all") != 0 && strcmp(v, "campaign") != 0 && strcmp(v, "message") != 0)
			BAD("by: all, campaign or message");
		strcpy(f->by, v);
	}
	if ((v = get(arg, "per")) && *v) {
		if (strcmp(v, "hour") != 0 && strcmp(v, "day") != 0 && strcmp(v, "month") != 0)
			BAD("per: hour, day or month");
		strcpy(f->per, v);
	}
	if ((v = get(arg, "format")) && *v) {
		if (strcmp(v, "csv") != 0 && strcmp(v, "json") != 0 && strcmp(v, "html") != 0)
			BAD("format: csv");
		f->csv = strcmp(v, "csv") == 0;
	}
	if (kind == DATA_PAGE && (v = get(arg, "page")) && *v) {
		n = strtol(v, &end, 10);
		if (*end || end == v || n < 1 || n > 100000)
			BAD("page: a number from 1");
		f->page = (int)n;
		f->offset = (n - 1) * DATA_PAGE_ROWS;
	}
	if (kind == DATA_API && (v = get(arg, "limit")) && *v) {
		n = strtol(v, &end, 10);
		if (*end || end == v || n < 1 || n > DATA_API_MAX)
			BAD("limit: a number from 1 to %d", DATA_API_MAX);
		f->limit = (int)n;
	}
	if (kind == DATA_API && (v = get(arg, "cursor")) && *v && data_cursor_read(f, v) < 0)
		BAD("cursor: not one this API gave");
#undef BAD
	if (f->csv) {
		f->limit = DATA_CSV_MAX;
		f->offset = 0;
		f->has_cursor = 0;
	}
	return 0;
}

/* data_query_arg - "&NAME=VALUE" (no '&' first) when VALUE is not DEF */
static void data_query_arg(struct buf *b, const char *name, const char *value, const char *def)
{
	if (!value[0] || strcmp(value, def) == 0)
		return;
	if (b->len > 0 && b->p[b->len - 1] != '?')
		buf_adds(b, "&");
	buf_adds(b, name);
	buf_adds(b, "=");
	html_url_arg(b, value);
}

/* data_filter_query - the filters that are not their defaults, as a query string */
void data_filter_query(struct buf *b, const struct data_filter *f)
{
	data_query_arg(b, "q", f->q, "");
	data_query_arg(b, "campaign", f->campaign, "");
	data_query_arg(b, "message", f->message, "");
	data_query_arg(b, "since", f->since, "");
	data_query_arg(b, "until", f->until, "");
	data_query_arg(b, "tz", f->tz, "UTC");
	data_query_arg(b, "classes", f->classes, DATA_CLASSES_DEFAULT);
	data_query_arg(b, "late", f->late, "include");
	data_query_arg(b, "by", f->by, "all");
	data_query_arg(b, "per", f->per, "");
}

/* data_ok - RES holds rows */
int data_ok(const PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* data_fail - log and answer a failed query: 400 for a bad value, 504 when the
 * server did not answer in time, 503 when the session was lost, else 500 */
int data_fail(struct web_req *r, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char text[300];
	int rc;

	if (!res && r->db && PQtransactionStatus(r->db) == PQTRANS_ACTIVE) {
		/* data_exec gave up waiting: the session is dropped when the request ends */
		log_warnx("%s %s user=%s: the database did not answer within statement_timeout "
			  "and a margin: the session is dropped", r->method, r->path,
			  r->user ? r->user->name : "-");
		return web_error(r, 504, "the database did not answer in time; try again");
	}
	if (!msg)
		msg = r->db ? PQerrorMessage(r->db) : "no database";
	log_warnx("%s %s user=%s: query failed: %s%s%s", r->method, r->path,
		  r->user ? r->user->name : "-", state ? state : "", state ? " " : "", msg);
	if (state && strncmp(state, "22", 2) == 0) {
		snprintf(text, sizeof(text), "bad value: %s", msg);
		rc = web_error(r, 400, text);
	} else if (!r->db || PQstatus(r->db) != CONNECTION_OK) {
		rc = web_error(r, 503, "the database is unreachable; try again");
	} else {
		rc = web_error(r, 500, "the database could not answer; the log says why");
	}
	PQclear(res);
	return rc;
}

/* data_run - SQL with N text parameters (NULL values are SQL NULL) on session DB of
 * pool P, waiting at most statement_timeout and a margin (pool_exec): the result
 * (an error's too), or NULL when the wait ran out or the session was lost */
static PGresult *data_run(struct pool *p, PGconn *db, const char *sql, int n,
			  const char *const *params)
{
	PGresult *res = NULL;

	if (pool_exec(p, db, sql, n, params, &res) == DB_TIMEOUT) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/* data_exec - data_run on the request's session */
static PGresult *data_exec(struct web_req *r, const char *sql, int n, const char *const *params)
{
	return data_run(web_ctx_of(r)->read, r->db, sql, n, params);
}

/* data_set_tz - SET LOCAL TimeZone = TZ */
PGresult *data_set_tz(struct web_req *r, const char *tz)
{
	const char *p[1] = { tz };

	return data_exec(r, "SELECT set_config('TimeZone', $1, true)", 1, p);
}

/* data_filter_request - the request's filters, and its transaction in their zone */
int data_filter_request(struct web_req *r, struct data_filter *f, enum data_kind kind, int *rc)
{
	char err[200];
	PGresult *res;

	if (data_filter_read(f, data_web_arg, r, kind, err, sizeof(err)) < 0) {
		*rc = web_error(r, 400, err);
		return -1;
	}
	res = data_set_tz(r, f->tz);
	if (!data_ok(res)) {
		*rc = data_fail(r, res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* PostgreSQL's type OIDs (catalog/pg_type.h, stable) of the number types */
#define DATA_INT8OID	20
#define DATA_INT2OID	21
#define DATA_INT4OID	23
#define DATA_FLOAT4OID	700
#define DATA_FLOAT8OID	701
#define DATA_NUMERICOID	1700

/* data_is_number - an integer, floating point or numeric column */
int data_is_number(const PGresult *res, int col)
{
	switch (PQftype(res, col)) {
	case DATA_INT2OID: case DATA_INT4OID: case DATA_INT8OID:
	case DATA_FLOAT4OID: case DATA_FLOAT8OID: case DATA_NUMERICOID:
		return 1;
	}
	return 0;
}

/* data_message_columns - the columns before cursor_us */
int data_message_columns(const PGresult *res)
{
	int n = PQfnumber(res, "cursor_us");

	return n < 0 ? PQnfields(res) : n;
}

/* data_nz - S, or NULL when S is "" (an absent filter is SQL NULL) */
static const char *data_nz(const char *s)
{
	return s && *s ? s : NULL;
}

/*
 * The messages of a filter (or one message: $10), with per message the
 * tracked recipients and how many of them had a counted event of each
 * kind, and the first and last counted event.
 *   $1 q  $2 campaign  $3 since  $4 until (last day)  $5 cursor µs
 *   $6 cursor id  $7 classes  $8 limit  $9 offset  $10 message id
 */
static const char data_messages_sql[] =
	"WITH " DATA_PAT ", sel AS (\n"
	"	SELECT m.id, m.message_id, m.subject, m.campaign, m.sender, m.sent_at\n"
	"	FROM beacon.messages m, pat\n"
	"	WHERE " DATA_MATCH "\n"
	"	  AND ($5::bigint IS NULL OR (m.sent_at, m.id) <\n"
	"	       ('epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6::uuid))\n"
	"	  AND ($10::uuid IS NULL OR m.id = $10::uuid)\n"
	"	ORDER BY m.sent_at DESC, m.id DESC\n"
	"	LIMIT $8::int OFFSET $9::bigint\n"
	")\n"
	"SELECT s.id, s.message_id, s.subject, s.campaign, s.sender,\n"
	"       " ISO("s.sent_at") " AS sent_at,\n"
	"       c.recipients, c.opened, c.clicked, c.downloaded,\n"
	"       " ISO("c.first_at") " AS first_activity,\n"
	"       " ISO("c.last_at") " AS last_activity,\n"
	"       (extract(epoch FROM s.sent_at) * 1000000)::bigint AS cursor_us\n"
	"FROM sel s\n"
	"CROSS JOIN LATERAL (\n"
	"	SELECT count(*) AS recipients,\n"
	"	       count(*) FILTER (WHERE ev.n > 0) AS opened,\n"
	"	       count(*) FILTER (WHERE ev.clicks > 0) AS clicked,\n"
	"	       count(*) FILTER (WHERE ev.downloads > 0) AS downloaded,\n"
	"	       min(ev.first_at) AS first_at, max(ev.last_at) AS last_at\n"
	"	FROM beacon.recipients r\n"
	"	CROSS JOIN LATERAL (\n"
	"		SELECT count(*) AS n,\n"
	"		       count(*) FILTER (WHERE e.kind = 'click') AS clicks,\n"
	"		       count(*) FILTER (WHERE e.kind = 'download') AS downloads,\n"
	"		       min(e.at) AS first_at, max(e.at) AS last_at\n"
	"		FROM beacon.web_events e\n"
	"		WHERE e.token_id = r.token_id\n"
	"		  AND e.kind IN ('open', 'click', 'download', 'reply')\n"
	"		  AND " COUNTED("$7::text") "\n"
	"	) ev\n"
	"	WHERE r.message = s.id AND r.status IN ('tracked', 'shared')\n"
	") c\n"
	"ORDER BY s.sent_at DESC, s.id DESC";

/* data_messages - the filter's messages, one more than f->limit */
PGresult *data_messages(struct web_req *r, const struct data_filter *f)
{
	char us[24], limit[16], offset[24];
	const char *p[10];

	snprintf(us, sizeof(us), "%lld", f->cursor_us);
	snprintf(limit, sizeof(limit), "%d", f->limit + 1);
	snprintf(offset, sizeof(offset), "%ld", f->offset);
	p[0] = f->q;
	p[1] = f->campaign;
	p[2] = data_nz(f->since);
	p[3] = data_nz(f->until);
	p[4] = f->has_cursor ? us : NULL;
	p[5] = f->has_cursor ? f->cursor_id : NULL;
	p[6] = f->classes;
	p[7] = limit;
	p[8] = offset;
	p[9] = NULL;
	return data_exec(r, data_messages_sql, 10, p);
}

/* data_message - one message, as a row of data_messages */
PGresult *data_message(struct web_req *r, const char *id, const char *classes)
{
	const char *p[10] = { "", "", NULL, NULL, NULL, NULL, classes, "1", "0", id };

	return data_exec(r, data_messages_sql, 10, p);
}

/* data_campaigns - the campaigns of the user's messages, most recent first */
PGresult *data_campaigns(struct web_req *r)
{
	return data_exec(r,
		"SELECT campaign FROM beacon.messages\n"
		"WHERE campaign <> ''\n"
		"GROUP BY campaign\n"
		"ORDER BY max(sent_at) DESC\n"
		"LIMIT 200", 0, NULL);
}

/* data_recipients - every recipient of message $1 with their counted activity */
PGresult *data_recipients(struct web_req *r, const char *id, const char *classes)
{
	const char *p[2] = { id, classes };

	return data_exec(r,
		"SELECT r.address, r.name, r.status,\n"
		"       ev.n > 0 AS opened, ev.clicks > 0 AS clicked,\n"
		"       ev.downloads > 0 AS downloaded, ev.replies > 0 AS replied,\n"
		"       " ISO("ev.first_at") " AS first_activity,\n"
		"       " ISO("ev.last_at") " AS last_activity,\n"
		"       ev.opens, ev.clicks, ev.downloads, ev.replies\n"
		"FROM beacon.recipients r\n"
		"CROSS JOIN LATERAL (\n"
		"	SELECT count(*) AS n,\n"
		"	       count(*) FILTER (WHERE e.kind = 'open') AS opens,\n"
		"	       count(*) FILTER (WHERE e.kind = 'click') AS clicks,\n"
		"	       count(*) FILTER (WHERE e.kind = 'download') AS downloads,\n"
		"	       count(*) FILTER (WHERE e.kind = 'reply') AS replies,\n"
		"	       min(e.at) AS first_at, max(e.at) AS last_at\n"
		"	FROM beacon.web_events e\n"
		"	WHERE e.token_id = r.token_id AND r.status IN ('tracked', 'shared')\n"
		"	  AND e.kind IN ('open', 'click', 'download', 'reply')\n"
		"	  AND " COUNTED("$2::text") "\n"
		") ev\n"
		"WHERE r.message = $1::uuid\n"
		"ORDER BY r.status IN ('tracked', 'shared') DESC, ev.last_at DESC NULLS LAST,\n"
		"	 r.address", 2, p);
}

/*
 * DATA_WHY - why event e (of reason e.reason, class e.class) has its
 * class, in words for the sender rather than beacon.event_reasons's,
 * which name the configuration an administrator sets; a rule of
 * machines.yaml (reason list:<id>) by its id; a reason this list does not
 * know by event_reasons's text; without a reason, what the class means;
 * NULL for a person's event.
 */
#define DATA_WHY \
	"coalesce(CASE WHEN e.reason LIKE 'list:%' THEN 'the rule \"' || substr(e.reason, 6) ||\n" \
	"		       '\" of the list of known machines matched' END,\n" \
	"		  rw.words, er.description, cw.words)"
#define DATA_WHY_JOINS \
	"	LEFT JOIN beacon.event_reasons er ON er.reason =\n" \
	"		CASE WHEN e.reason LIKE 'list:%' THEN 'list:' ELSE e.reason END\n" \
	"	LEFT JOIN (VALUES\n" \
	"		('honeypot', 'the hidden link, which no person can see, was followed: a security scanner'),\n" \
	"		('honeypot-peer', 'the same machine followed the hidden link minutes apart: a security scanner'),\n" \
	"		('internal-network', 'from your own network'),\n" \
	"		('sender-address', 'from the computer the message was sent from'),\n" \
	"		('head-request', 'the link was checked, not opened in a browser: a program'),\n" \
	"		('no-browser-headers', 'the link was fetched without what every browser sends: a program'),\n" \
	"		('proxy-ua', 'a webmail''s image proxy loaded the images: a real open, but the place is the proxy''s'),\n" \
	"		('apple-mpp', 'Apple Mail Privacy Protection loaded the images; not an open'),\n" \
	"		('early-click', 'clicked seconds after sending, faster than a person reads: a security scanner'),\n" \
	"		('click-burst', 'several links clicked at once: a security scanner'),\n" \
	"		('datacenter-early', 'loaded from a data centre right after sending, never by a person there: a machine'),\n" \
	"		('bot-ua', 'a program (a crawler or an HTTP library), not a mail client')\n" \
	"	) rw (reason, words) ON rw.reason = e.reason\n" \
	"	LEFT JOIN (VALUES\n" \
	"		('proxy', 'a mail provider''s image proxy: a real open, the place unknown'),\n" \
	"		('prefetch', 'fetched ahead by a mail service, not read by a person'),\n" \
	"		('scanner', 'a security scanner, not a person'),\n" \
	"		('internal', 'from your own network'),\n" \
	"		('sender', 'from the address the message was sent from'),\n" \
	"		('bot', 'a program, not a mail client')\n" \
	"	) cw (class, words) ON cw.class = e.class\n"

/* DATA_PLACE - the place of event e as one text: city, region (unless the city's name), country */
#define DATA_PLACE \
	"nullif(concat_ws(', ', nullif(e.city, ''),\n" \
	"		CASE WHEN e.region IS DISTINCT FROM e.city THEN nullif(e.region, '') END,\n" \
	"		nullif(e.country, '')), '')"

/*
 * The columns of an event row, in the order of the API's event object
 * (api.c writes them by name): the same for a message's events, a live
 * batch and the Live page's last events.
 */
#define DATA_EVENT_COLUMNS \
	ISO("x.at") " AS at, x.kind, x.class, x.token_id, x.message, x.recipient,\n" \
	"       x.country, x.region, x.city, x.device, x.os, x.client, x.link, x.attachment,\n" \
	"       x.browser, x.reason, x.why, x.late, x.counted, x.from_domain, x.subject, x.place\n"

/* DATA_EVENT_SELECT - an event e of recipient r as the row above ($N: classes) */
#define DATA_EVENT_SELECT(classes) \
	"	SELECT e.at, e.kind, e.class, e.token_id, r.message, r.address AS recipient,\n" \
	"	       e.country, e.region, e.city, e.device, e.os, e.client, l.url AS link,\n" \
	"	       a.name AS attachment, e.browser, e.reason, " DATA_WHY " AS why, e.late,\n" \
	"	       " COUNTED(classes) " AS counted,\n" \
	"	       NULL::text AS from_domain, m.subject, " DATA_PLACE " AS place\n" \
	"	FROM beacon.recipients r\n" \
	"	JOIN beacon.messages m ON m.id = r.message\n" \
	"	JOIN beacon.web_events e ON e.token_id = r.token_id\n" \
	"	LEFT JOIN beacon.links l ON l.message = r.message AND l.n = e.link_n\n" \
	"	LEFT JOIN beacon.attachments a\n" \
	"		ON a.message = r.message AND a.id = e.attachment_id\n" \
	DATA_WHY_JOINS

/* data_events - message $1's events newest first, and the answers of people it was not sent to */
PGresult *data_events(struct web_req *r, const char *id, const char *classes, int limit,
		      long offset)
{
	char lim[16], off[24];
	const char *p[4] = { id, classes, lim, off };

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(off, sizeof(off), "%ld", offset);
	return data_exec(r,
		"SELECT " DATA_EVENT_COLUMNS
		"FROM (\n"
		DATA_EVENT_SELECT("$2::text")
		"	WHERE r.message = $1::uuid\n"
		"	UNION ALL\n"
		"	SELECT y.at, 'reply', NULL, NULL, y.message, NULL, NULL, NULL, NULL, NULL,\n"
		"	       NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, true, y.from_domain,\n"
		"	       m.subject, NULL\n"
		"	FROM beacon.replies y\n"
		"	JOIN beacon.messages m ON m.id = y.message\n"
		"	WHERE y.message = $1::uuid AND y.token_id IS NULL\n"
		") x\n"
		"ORDER BY x.at DESC, x.kind, x.recipient\n"
		"LIMIT $3::int OFFSET $4::bigint", 4, p);
}

/* data_batch_events - one NOTIFY beacon_batch's events (xmin = xid, at in [from, to]) */
PGresult *data_batch_events(struct pool *pool, PGconn *db, const char *payload)
{
	const char *p[2] = { payload, DATA_CLASSES_DEFAULT };

	return data_run(pool, db,
		"SELECT " DATA_EVENT_COLUMNS
		"FROM (\n"
		DATA_EVENT_SELECT("$2::text")
		"	WHERE e.xmin = ($1::json->>'xid')::xid\n"
		"	  AND e.at BETWEEN ($1::json->>'from')::timestamptz\n"
		"		       AND ($1::json->>'to')::timestamptz\n"
		") x\n"
		"ORDER BY x.at, x.kind, x.recipient", 2, p);
}

/* data_recent_events - the user's LIMIT last events of the last DATA_RECENT_DAYS, newest first */
PGresult *data_recent_events(struct web_req *r, int limit)
{
	char lim[16], days[16];
	const char *p[3] = { DATA_CLASSES_DEFAULT, lim, days };

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(days, sizeof(days), "%d", DATA_RECENT_DAYS);
	return data_exec(r,
		"SELECT " DATA_EVENT_COLUMNS
		"FROM (\n"
		DATA_EVENT_SELECT("$1::text")
		"	WHERE e.at > now() - $3::int * interval '1 day'\n"
		") x\n"
		"ORDER BY x.at DESC, x.kind, x.recipient\n"
		"LIMIT $2::int", 3, p);
}

/*
 * Conversations: the threads (beacon.message_thread) holding a message
 * of the filter, newest activity first, $6 threads from $7; one row per
 * message or reply of each thread, oldest first within it.
 *   $1 q  $2 campaign  $3 since  $4 until  $5 classes  $6 limit  $7 offset
 */
PGresult *data_threads(struct web_req *r, const struct data_filter *f)
{
	char limit[16], offset[24];
	const char *p[7];

	snprintf(limit, sizeof(limit), "%d", f->limit + 1);
	snprintf(offset, sizeof(offset), "%ld", f->offset);
	p[0] = f->q;
	p[1] = f->campaign;
	p[2] = data_nz(f->since);
	p[3] = data_nz(f->until);
	p[4] = f->classes;
	p[5] = limit;
	p[6] = offset;
	return data_exec(r,
		"WITH " DATA_PAT ", hit AS (\n"
		"	SELECT DISTINCT beacon.message_thread(m) AS thread\n"
		"	FROM beacon.messages m, pat\n"
		"	WHERE " DATA_MATCH "\n"
		"), msg AS (\n"
		"	SELECT beacon.message_thread(m) AS thread, m.id, m.subject, m.sender, m.sent_at\n"
		"	FROM beacon.messages m\n"
		"	WHERE beacon.message_thread(m) IN (SELECT thread FROM hit)\n"
		"), item AS (\n"
		"	SELECT g.thread, 'message' AS item, g.sent_at AS at, g.id, g.subject, g.sender,\n"
		"	       NULL::text AS recipient, NULL::text AS from_domain\n"
		"	FROM msg g\n"
		"	UNION ALL\n"
		"	SELECT g.thread, 'reply', y.at, g.id, g.subject, NULL, r.address, y.from_domain\n"
		"	FROM msg g\n"
		"	JOIN beacon.replies y ON y.message = g.id\n"
		"	LEFT JOIN beacon.recipients r ON r.token_id = y.token_id\n"
		"), thr AS (\n"
		"	SELECT thread, max(at) AS last_at,\n"
		"	       count(*) FILTER (WHERE item = 'message') AS messages,\n"
		"	       count(*) FILTER (WHERE item = 'reply') AS replies\n"
		"	FROM item\n"
		"	GROUP BY thread\n"
		"	ORDER BY last_at DESC, thread\n"
		"	LIMIT $6::int OFFSET $7::bigint\n"
		")\n"
		"SELECT t.thread, " ISO("t.last_at") " AS last_activity, t.messages, t.replies,\n"
		"       i.item, " ISO("i.at") " AS at, i.id AS message, i.subject, i.sender,\n"
		"       i.recipient, i.from_domain, c.recipients, c.opened, c.clicked\n"
		"FROM thr t\n"
		"JOIN item i USING (thread)\n"
		"LEFT JOIN LATERAL (\n"
		"	SELECT count(*) AS recipients,\n"
		"	       count(*) FILTER (WHERE EXISTS (\n"
		"		SELECT 1 FROM beacon.web_events e\n"
		"		WHERE e.token_id = r.token_id\n"
		"		  AND e.kind IN ('open', 'click', 'download', 'reply')\n"
		"		  AND " COUNTED("$5::text") ")) AS opened,\n"
		"	       count(*) FILTER (WHERE EXISTS (\n"
		"		SELECT 1 FROM beacon.web_events e\n"
		"		WHERE e.token_id = r.token_id AND e.kind = 'click'\n"
		"		  AND " COUNTED("$5::text") ")) AS clicked\n"
		"	FROM beacon.recipients r\n"
		"	WHERE r.message = i.id AND r.status IN ('tracked', 'shared')\n"
		") c ON i.item = 'message'\n"
		"ORDER BY t.last_at DESC, t.thread, i.at, i.item", 7, p);
}

/* the summary's tables: sql/reports/NAME.sql, and the chart's timeline */
static const char *const data_summary_tables[] = { "summary", "clicks", "devices", "geo", "timeline" };

/* where the report files were found at start (data_reports_load) */
static char data_reports_dir[PATH_MAX];

/* data_reports_load - find sql/reports and keep its files in memory */
int data_reports_load(char *err, size_t len)
{
	char dir[PATH_MAX];

	if (!beacon_sql_dir(dir, sizeof(dir))) {
		snprintf(err, len, "no SQL directory with the report files (install Beacon's "
			 "share/beacon/sql, or set BEACON_SQLDIR)");
		return -1;
	}
	if ((size_t)snprintf(data_reports_dir, sizeof(data_reports_dir), "%s/reports", dir) >=
	    sizeof(data_reports_dir)) {
		snprintf(err, len, "%s/reports: path too long", dir);
		return -1;
	}
	if (psqlscript_preload(data_reports_dir, err, len) < 0)
		return -1;
	/* each report the summary runs is there and reads, with beaconctl's defaults */
	for (size_t i = 0; i < sizeof(data_summary_tables) / sizeof(data_summary_tables[0]); i++) {
		char path[PATH_MAX + 64];
		struct psqlscript s;
		int rc;

		if (!strcmp(data_summary_tables[i], "timeline"))
			continue;	/* a query of its own, not a report file */
		snprintf(path, sizeof(path), "%s/%s.sql", data_reports_dir, data_summary_tables[i]);
		if (access(path, R_OK) < 0) {	/* still root: the preload read what it could */
			snprintf(err, len, "%s: %s", path, strerror(errno));
			return -1;
		}
		psqlscript_init(&s);
		rc = psqlscript_read(&s, path);
		if (rc < 0)
			snprintf(err, len, "%s", s.err);
		psqlscript_free(&s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* data_report_path - sql/reports/NAME.sql into PATH; -1 before data_reports_load */
static int data_report_path(char *path, size_t len, const char *name)
{
	if (!data_reports_dir[0])
		return -1;
	return (size_t)snprintf(path, len, "%s/%s.sql", data_reports_dir, name) < len ? 0 : -1;
}

/* data_report - run report NAME (a fixed name, not input) as beaconctl report would */
PGresult *data_report(struct web_req *r, const char *name, const struct data_filter *f)
{
	struct psqlscript s;
	char path[PATH_MAX + 64];
	PGresult *res;
	int rc = 0;

	if (data_report_path(path, sizeof(path), name) < 0) {
		log_warnx("report %s: the report files were not loaded at start", name);
		return NULL;
	}
	psqlscript_init(&s);
	if (psqlscript_map(&s, "beacon.events", "beacon.web_events") < 0)
		rc = -1;
	/* beaconctl report's variables: what -v would set, and tz */
	if (f->message[0])
		rc |= psqlscript_set(&s, "message", f->message);
	if (f->campaign[0])
		rc |= psqlscript_set(&s, "campaign", f->campaign);
	if (f->since[0])
		rc |= psqlscript_set(&s, "since", f->since);
	if (f->until_next[0])
		rc |= psqlscript_set(&s, "until", f->until_next);
	rc |= psqlscript_set(&s, "classes", f->classes);
	rc |= psqlscript_set(&s, "late", f->late);
	rc |= psqlscript_set(&s, "by", f->by);
	rc |= psqlscript_set(&s, "tz", f->report_utc ? "UTC" : f->tz);
	if (rc < 0) {
		psqlscript_free(&s);
		log_warnx("report %s: out of memory", name);
		return NULL;
	}
	if (psqlscript_read(&s, path) < 0) {
		log_warnx("report %s: %s", name, s.err);
		psqlscript_free(&s);
		return NULL;
	}
	res = data_exec(r, s.sql, s.nparams, s.params);
	psqlscript_free(&s);
	return res;
}

/*
 * The chart: counted opens and clicks of the summary's messages (chosen
 * as summary.sql chooses them: report_messages by sent_at) per hour, day
 * or month of the viewer's zone, every slot from the first event's to
 * the last's, and at least six (empty ones after the last up to now, then
 * before the first), so that a chart never shrinks to one wide slot.
 * Summed, they are summary.sql's opens and clicks.
 *   $1 message  $2 campaign  $3 since  $4 until (exclusive)  $5 tz
 *   $6 classes  $7 late  $8 per (''= hour up to 48 hours, day up to 400 days, else month)
 */
PGresult *data_timeline(struct web_req *r, const struct data_filter *f)
{
	const char *p[8] = {
		f->message, f->campaign, f->since[0] ? f->since : "-infinity",
		f->until_next[0] ? f->until_next : "infinity", f->tz, f->classes, f->late, f->per,
	};

	return data_exec(r,
		"WITH tok AS (\n"
		"	SELECT r.token_id\n"
		"	FROM beacon.report_messages($1::text, '', $2::text, '', $3::timestamptz,\n"
		"				    $4::timestamptz) m\n"
		"	JOIN beacon.recipients r ON r.message = m.id\n"
		"	WHERE r.status IN ('tracked', 'shared')\n"
		"), ev AS (\n"
		"	SELECT e.at AT TIME ZONE $5::text AS l, e.kind\n"
		"	FROM beacon.web_events e\n"
		"	WHERE e.token_id IN (SELECT token_id FROM tok)\n"
		"	  AND e.kind IN ('open', 'click')\n"
		"	  AND " COUNTED("$6::text") "\n"
		"	  AND (beacon.report_late($7::text) OR NOT e.late)\n"
		"), span AS (\n"
		"	SELECT CASE WHEN $8::text IN ('hour', 'day', 'month') THEN $8::text\n"
		"		    WHEN max(l) - min(l) <= interval '48 hours' THEN 'hour'\n"
		"		    WHEN max(l) - min(l) <= interval '400 days' THEN 'day'\n"
		"		    ELSE 'month' END AS unit,\n"
		"	       min(l) AS lo, max(l) AS hi\n"
		"	FROM ev\n"
		"), pad AS (\n"
		/* at least six slots: after the last event up to now, the rest before */
		"	SELECT s.unit, date_trunc(s.unit, s.lo) AS lo,\n"
		"	       greatest(date_trunc(s.unit, s.hi),\n"
		"			least(date_trunc(s.unit, s.lo) + 5 * ('1 ' || s.unit)::interval,\n"
		"			      date_trunc(s.unit, now() AT TIME ZONE $5::text))) AS hi\n"
		"	FROM span s\n"
		"	WHERE s.lo IS NOT NULL\n"
		"), slot AS (\n"
		"	SELECT p.unit, generate_series(least(p.lo, p.hi - 5 * ('1 ' || p.unit)::interval), p.hi,\n"
		"				       ('1 ' || p.unit)::interval) AS t\n"
		"	FROM pad p\n"
		")\n"
		"SELECT s.unit, to_char(s.t, CASE s.unit WHEN 'hour' THEN 'YYYY-MM-DD HH24:00'\n"
		"				       WHEN 'day' THEN 'YYYY-MM-DD'\n"
		"				       ELSE 'YYYY-MM' END) AS slot,\n"
		"       count(ev.kind) FILTER (WHERE ev.kind = 'open') AS opens,\n"
		"       count(ev.kind) FILTER (WHERE ev.kind = 'click') AS clicks\n"
		"FROM slot s\n"
		"LEFT JOIN ev ON date_trunc(s.unit, ev.l) = s.t\n"
		"GROUP BY s.unit, s.t\n"
		"ORDER BY s.t\n"
		"LIMIT 5000", 8, p);
}

/* data_summary_known - one of data_summary_tables */
int data_summary_known(const char *name)
{
	for (size_t i = 0; name && i < sizeof(data_summary_tables) / sizeof(data_summary_tables[0]); i++)
		if (!strcmp(name, data_summary_tables[i]))
			return 1;
	return 0;
}

/* data_summary_table - the timeline, or the report of that name */
PGresult *data_summary_table(struct web_req *r, const char *name, const struct data_filter *f)
{
	if (!data_summary_known(name))
		return NULL;
	if (!strcmp(name, "timeline"))
		return data_timeline(r, f);
	return data_report(r, name, f);
}
