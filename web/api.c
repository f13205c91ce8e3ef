/*
 * api.c - beacon-web's JSON API: messages, one message, its events, the
 * summary (see api.h; the queries are data.c's, shared with the pages)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "csv.h"
#include "data.h"
#include "json.h"

/* PostgreSQL's type OID (catalog/pg_type.h, stable) of boolean, written true or false */
#define API_BOOLOID	16

/* api_number_ok - S is a JSON number (not NaN, not Infinity) */
static int api_number_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && strspn(s, "0123456789.-+eE") == n && strpbrk(s, "0123456789");
}

/* api_value - the value of one cell: a number, a boolean, a string or null */
static void api_value(struct buf *b, const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col)) {
		buf_adds(b, "null");
		return;
	}
	if (PQftype(res, col) == API_BOOLOID) {
		buf_adds(b, v[0] == 't' ? "true" : "false");
		return;
	}
	if (data_is_number(res, col) && api_number_ok(v)) {
		buf_adds(b, v);
		return;
	}
	json_string(v, json_buf_put, b);
}

/* api_row_members - the "name":value members of one row, comma-separated */
static void api_row_members(struct buf *b, const PGresult *res, int row, int ncols)
{
	int n = PQnfields(res);

	if (ncols >= 0 && ncols < n)
		n = ncols;
	for (int c = 0; c < n; c++) {
		if (c)
			buf_adds(b, ",");
		json_string(PQfname(res, c), json_buf_put, b);
		buf_adds(b, ":");
		api_value(b, res, row, c);
	}
}

/* api_row_json - one row as an object keyed by column name */
void api_row_json(struct buf *b, const PGresult *res, int row, int ncols)
{
	buf_adds(b, "{");
	api_row_members(b, res, row, ncols);
	buf_adds(b, "}");
}

/* api_send_csv - a header of column names and the rows, as a CSV download */
int api_send_csv(struct web_req *r, const char *filename, const PGresult *res, int nrows,
		 int ncols)
{
	struct buf b = { 0 };
	int rows = PQntuples(res), cols = PQnfields(res);

	if (nrows >= 0 && nrows < rows)
		rows = nrows;
	if (ncols >= 0 && ncols < cols)
		cols = ncols;
	for (int c = 0; c < cols; c++)
		csv_cell(&b, PQfname(res, c));
	csv_row_end(&b);
	for (int i = 0; i < rows; i++) {
		for (int c = 0; c < cols; c++)
			csv_cell(&b, PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c));
		csv_row_end(&b);
	}
	if (rows < PQntuples(res)) {
		/* a download that stops short says so where a reader of the file sees it */
		char cut[200];
		snprintf(cut, sizeof(cut), "(cut: the first %d rows only; narrow the filters, "
			 "such as since and until, for the rest)", rows);
		csv_cell(&b, cut);
		csv_row_end(&b);
	}
	return web_send_csv(r, filename, &b);
}

/* api_send_json - answer 200 with the JSON in B */
static int api_send_json(struct web_req *r, struct buf *b)
{
	buf_adds(b, "\n");
	return web_send(r, 200, "application/json", b);
}

/* api_list - {"items": [first ROWS rows, NCOLS columns], "next": NEXT or null} */
static int api_list(struct web_req *r, const PGresult *res, int rows, int ncols, const char *next)
{
	struct buf b = { 0 };

	if (rows > PQntuples(res))
		rows = PQntuples(res);
	buf_adds(&b, "{\"items\":[");
	for (int i = 0; i < rows; i++) {
		if (i)
			buf_adds(&b, ",\n");
		api_row_json(&b, res, i, ncols);
	}
	buf_adds(&b, "],\"next\":");
	json_string(next, json_buf_put, &b);
	buf_adds(&b, "}");
	return api_send_json(r, &b);
}

/* api_messages - GET /api/v1/messages: the messages of the filter, newest first */
int api_messages(struct web_req *r)
{
	struct data_filter f;
	PGresult *res;
	char next[96];
	int rc, n, cols;

	if (data_filter_request(r, &f, DATA_API, &rc) < 0)
		return rc;
	res = data_messages(r, &f);
	if (!data_ok(res))
		return data_fail(r, res);
	n = PQntuples(res);
	cols = data_message_columns(res);
	if (f.csv) {
		rc = api_send_csv(r, "messages.csv", res, f.limit, cols);
	} else {
		if (n > f.limit)
			data_cursor_make(next, sizeof(next),
					 PQgetvalue(res, f.limit - 1, PQfnumber(res, "cursor_us")),
					 PQgetvalue(res, f.limit - 1, PQfnumber(res, "id")));
		rc = api_list(r, res, f.limit, cols, n > f.limit ? next : NULL);
	}
	PQclear(res);
	return rc;
}

/* api_message_res - the message of the path, or NULL after answering 404 or 500 (*RC) */
static PGresult *api_message_res(struct web_req *r, const char *classes, int *rc)
{
	const char *id = web_path_id(r);
	PGresult *res;

	if (!id) {
		*rc = web_error(r, 404, "no such message");
		return NULL;
	}
	res = data_message(r, id, classes);
	if (!data_ok(res)) {
		*rc = data_fail(r, res);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		/* another sender's message is not there for this user: the same 404 */
		PQclear(res);
		*rc = web_error(r, 404, "no such message");
		return NULL;
	}
	return res;
}

/* api_message - GET /api/v1/messages/<uuid>: the message and its recipients */
int api_message(struct web_req *r)
{
	struct data_filter f;
	PGresult *msg, *rcpt;
	struct buf b = { 0 };
	int rc;

	if (data_filter_request(r, &f, DATA_API, &rc) < 0 ||
	    !(msg = api_message_res(r, f.classes, &rc)))
		return rc;
	rcpt = data_recipients(r, PQgetvalue(msg, 0, 0), f.classes);
	if (!data_ok(rcpt)) {
		PQclear(msg);
		return data_fail(r, rcpt);
	}
	buf_adds(&b, "{");
	api_row_members(&b, msg, 0, data_message_columns(msg));
	buf_adds(&b, ",\"recipient_list\":[");
	for (int i = 0; i < PQntuples(rcpt); i++) {
		if (i)
			buf_adds(&b, ",\n");
		api_row_json(&b, rcpt, i, -1);
	}
	buf_adds(&b, "]}");
	PQclear(msg);
	PQclear(rcpt);
	return api_send_json(r, &b);
}

/* api_events - GET /api/v1/messages/<uuid>/events: its events, newest first */
int api_events(struct web_req *r)
{
	struct data_filter f;
	PGresult *msg, *res;
	char next[32];
	int rc, n;

	if (data_filter_request(r, &f, DATA_API, &rc) < 0)
		return rc;
	if (f.has_cursor)
		return web_error(r, 400, "cursor: not one this list gave");
	if (!(msg = api_message_res(r, f.classes, &rc)))
		return rc;
	res = data_events(r, PQgetvalue(msg, 0, 0), f.classes, f.limit + 1, f.offset);
	PQclear(msg);
	if (!data_ok(res))
		return data_fail(r, res);
	n = PQntuples(res);
	if (f.csv) {
		rc = api_send_csv(r, "events.csv", res, f.limit, -1);
	} else {
		snprintf(next, sizeof(next), "%ld", f.offset + f.limit);
		rc = api_list(r, res, f.limit, -1, n > f.limit ? next : NULL);
	}
	PQclear(res);
	return rc;
}

/* api_utc_sent_at - RES (summary.sql run with tz UTC) with its sent_at in the API's
 * form: "2026-03-10 23:30:00" becomes "2026-03-10T23:30:00.000Z" (the report gives
 * seconds); a copy to clear, or NULL (out of memory) */
static PGresult *api_utc_sent_at(const PGresult *res)
{
	int col = PQfnumber(res, "sent_at");
	PGresult *copy = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);

	if (!copy || col < 0)
		return copy;
	for (int i = 0; i < PQntuples(copy); i++) {
		const char *v = PQgetvalue(copy, i, col);
		char iso[32];

		if (PQgetisnull(copy, i, col) || strlen(v) != 19 || v[10] != ' ')
			continue;
		snprintf(iso, sizeof(iso), "%.10sT%.8s.000Z", v, v + 11);
		if (!PQsetvalue(copy, i, col, iso, (int)strlen(iso))) {
			PQclear(copy);
			return NULL;
		}
	}
	return copy;
}

/* api_summary - GET /api/v1/summary: summary.sql's rows (or ?table= another report's) */
int api_summary(struct web_req *r)
{
	const char *table = web_arg(r, "table");
	struct data_filter f;
	char file[32];
	PGresult *res;
	int rc;

	if (!table || !*table)
		table = "summary";
	if (!data_summary_known(table))
		return web_error(r, 400, "table: " DATA_SUMMARY_TABLES);
	if (data_filter_request(r, &f, DATA_API, &rc) < 0)
		return rc;
	/* the JSON's times are UTC; tz still chooses the days of since and until */
	f.report_utc = !f.csv;
	res = data_summary_table(r, table, &f);
	if (!data_ok(res))
		return data_fail(r, res);
	if (f.csv) {
		snprintf(file, sizeof(file), "%s.csv", table);
		rc = api_send_csv(r, file, res, -1, -1);
	} else {
		PGresult *utc = api_utc_sent_at(res);
		rc = utc ? api_list(r, utc, PQntuples(utc), -1, NULL) :
			web_error(r, 500, "out of memory");
		PQclear(utc);
	}
	PQclear(res);
	return rc;
}
