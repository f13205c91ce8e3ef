/*
 * NAME
 *	output.h - beaconctl's tables: aligned text, CSV or JSON
 *
 * DESCRIPTION
 *	A struct out_table is a result set seen as column names, a kind per
 *	column and rows of text cells (NULL for SQL NULL).  It is built from
 *	a PGresult, each column's kind from its type (PQftype: only numeric
 *	types are numbers, whatever the values look like), and printed in
 *	one of three formats:
 *
 *	  table  aligned columns under a header, numbers right-aligned,
 *		 control characters shown escaped (\n, \t, \xHH) so no
 *		 stored text can drive the terminal; "(N rows)" at the end
 *	  csv    RFC 4180 with a header line, quoted as psql --csv quotes;
 *		 NULL and '' are both empty; a text value starting with
 *		 = + - @ TAB or CR gets a leading ' (inside quotes) so a
 *		 spreadsheet never evaluates it (numbers are left alone)
 *	  json   an array of objects, one line per row; numbers (but NaN
 *		 and Infinity), booleans and json columns unquoted, NULL as
 *		 null, every other type a string
 */
#ifndef BEACON_CTL_OUTPUT_H
#define BEACON_CTL_OUTPUT_H

#include <stdio.h>
#include <libpq-fe.h>

/* out_format - how a table is printed */
enum out_format { OUT_TABLE, OUT_CSV, OUT_JSON };

/* out_kind - how a column's values are written in JSON and aligned */
enum out_kind { OUT_STRING, OUT_NUMBER, OUT_BOOL, OUT_RAWJSON };

/* out_table - a result set to print */
struct out_table {
	int ncols;		/* columns */
	int nrows;		/* rows, header not counted */
	const char **names;	/* ncols column names */
	enum out_kind *kinds;	/* ncols kinds */
	const char **cells;	/* nrows * ncols values, row-major; NULL = SQL NULL */
};

/* out_from_pg - view RES as a table (cells point into RES); -1 on ENOMEM */
int out_from_pg(struct out_table *t, const PGresult *res);
/* out_free - release what out_from_pg allocated */
void out_free(struct out_table *t);
/* out_print - print T in FMT on FP; -1 on a write error */
int out_print(FILE *fp, const struct out_table *t, enum out_format fmt);

/* out_csv_field - one CSV field, quoted when needed (a separator, quote, CR,
 * LF, or the whole field "\."); FORMULA_SAFE: prefix
 * a leading = + - @ TAB CR with ' so spreadsheets do not evaluate it */
void out_csv_field(FILE *fp, const char *s, int formula_safe);
/* out_json_string - S as a JSON string literal */
void out_json_string(FILE *fp, const char *s);
/* out_text - S for a terminal (controls escaped), padded to WIDTH; returns its width */
int out_text(FILE *fp, const char *s, int width, int right);

#endif
