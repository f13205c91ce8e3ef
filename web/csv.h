/*
 * NAME
 *	csv.h - CSV downloads of beacon-web's tables (RFC 4180)
 *
 * SYNOPSIS
 *	struct buf b = { 0 };
 *	csv_cell(&b, "sent_at"); csv_cell(&b, "subject"); csv_row_end(&b);
 *	csv_cell(&b, PQgetvalue(res, i, 0)); ...; csv_row_end(&b);
 *	return web_send_csv(r, "messages.csv", &b);
 *
 * DESCRIPTION
 *	A cell holding a comma, a double quote, CR or LF is quoted, its
 *	quotes doubled; rows end with CRLF.  A cell starting with = + - @,
 *	TAB or CR gets a leading ' first, so that a spreadsheet does not
 *	take a subject or an address for a formula.  A NULL cell is empty.
 *	A cell follows the one before it in the row unless the buffer is
 *	empty or ends a row.
 */
#ifndef BEACON_WEB_CSV_H
#define BEACON_WEB_CSV_H

#include "buf.h"

/* csv_cell - append cell S (NULL: empty) to the current row of B */
void csv_cell(struct buf *b, const char *s);
/* csv_row_end - end the current row of B */
void csv_row_end(struct buf *b);

#endif
