/*
 * api.h - beacon-web's JSON API under /api/v1/: the handlers server.c routes to
 *
 * DESCRIPTION
 *	Each is a web_handler (web.h), run signed in (session cookie or
 *	bearer token) in the request's transaction.  /api/v1/stream is
 *	server.c's (live.c), not here.
 *
 *	Lists answer {"items": [...], "next": "<cursor>" or null}; GET the
 *	same URL with cursor=<next> for the rows after.  Every list also
 *	answers ?format=csv (every row, up to DATA_CSV_MAX; a CSV cut there
 *	ends with a row that says so).  Numbers are JSON numbers, booleans
 *	true/false, SQL NULL null, times UTC ISO 8601 text with
 *	milliseconds (the summary's sent_at too; its CSV keeps the report's
 *	local time of tz, as beaconctl report prints it).  beacon-web(8)
 *	documents the objects.
 *
 *	api_row_json writes one result row as an object with the result's
 *	column names; the live stream (live.c, data_batch_events's rows) and
 *	the Live page's first rows (page_live.c, data_recent_events's) write
 *	their events with it, so that an event has one form everywhere.  The
 *	pages' CSV downloads are api_send_csv's.
 */
#ifndef BEACON_WEB_API_H
#define BEACON_WEB_API_H

#include <libpq-fe.h>

#include "buf.h"
#include "web.h"

web_handler api_messages;	/* GET /api/v1/messages */
web_handler api_message;	/* GET /api/v1/messages/<uuid> */
web_handler api_events;		/* GET /api/v1/messages/<uuid>/events */
web_handler api_summary;	/* GET /api/v1/summary */

/* api_row_json - row ROW of RES as a JSON object, its first NCOLS columns (-1: all) */
void api_row_json(struct buf *b, const PGresult *res, int row, int ncols);
/* api_send_csv - answer RES as a CSV download FILENAME: a header row of
 * column names, then its first NROWS rows (-1: all) and NCOLS columns (-1: all);
 * when RES has more than NROWS rows, a last row of one cell says the CSV was cut */
int api_send_csv(struct web_req *r, const char *filename, const PGresult *res, int nrows,
		 int ncols);

#endif
