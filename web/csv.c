/*
 * csv.c - RFC 4180 cells, defused against spreadsheet formulas (see csv.h)
 *
 * The buffer itself says whether a row has begun (it is empty or ends
 * with CRLF when not), so an empty first cell is written as "".
 */
#include <string.h>

#include "csv.h"

/* csv_cell - a separator unless the row is new, then the cell, quoted when it must be */
void csv_cell(struct buf *b, const char *s)
{
	int quote, first = b->len == 0 ||
	    (b->len >= 2 && b->p[b->len - 2] == '\r' && b->p[b->len - 1] == '\n');

	if (!first)
		buf_add(b, ",", 1);
	if (!s)
		s = "";
	/* an empty first cell is written "": the next cell must see the row begun */
	quote = strpbrk(s, ",\"\r\n") != NULL || (first && !*s);
	if (quote)
		buf_add(b, "\"", 1);
	if (strchr("=+-@\t\r", s[0]) && s[0])
		buf_add(b, "'", 1);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\"");
		buf_add(b, p, n);
		p += n;
		if (*p == '"') {
			buf_add(b, "\"\"", 2);
			p++;
		}
	}
	if (quote)
		buf_add(b, "\"", 1);
}

/* csv_row_end - CRLF */
void csv_row_end(struct buf *b)
{
	buf_add(b, "\r\n", 2);
}
