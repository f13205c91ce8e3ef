/*
 * NAME
 *	output.c - print result sets as aligned tables, CSV or JSON
 *
 * DESCRIPTION
 *	See output.h.  Widths are display columns (wcwidth(3) under a UTF-8
 *	LC_CTYPE, C.UTF-8 when the environment's locale is not UTF-8), so
 *	"München" lines up.  Stored text comes from mail and HTTP requests:
 *	in a table every control character and every byte that is not UTF-8
 *	is printed escaped, never raw.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "json.h"
#include "output.h"

/* PostgreSQL type oids (catalog/pg_type.h is not part of libpq-dev) */
#define OUT_BOOLOID 16
#define OUT_INT8OID 20
#define OUT_INT2OID 21
#define OUT_INT4OID 23
#define OUT_OIDOID 26
#define OUT_JSONOID 114
#define OUT_FLOAT4OID 700
#define OUT_FLOAT8OID 701
#define OUT_NUMERICOID 1700
#define OUT_JSONBOID 3802

/* out_locale - make wcwidth() speak UTF-8, once */
static void out_locale(void)
{
	static int done;
	const char *cs;

	if (done)
		return;
	done = 1;
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	if (!cs || strcmp(cs, "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
}

/* out_utf8 - decode one UTF-8 sequence at S; its length, or 0 if invalid */
static int out_utf8(const unsigned char *s, uint32_t *cp)
{
	int n, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* out_text_piece - write (if FP) one character of S for a terminal; its width */
static int out_text_piece(FILE *fp, const unsigned char *s, int *len)
{
	char esc[16];
	uint32_t cp;
	int n = out_utf8(s, &cp), w;

	if (n == 0) {
		*len = 1;
		snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
	} else if (cp == '\n' || cp == '\t' || cp == '\r') {
		*len = 1;
		snprintf(esc, sizeof(esc), "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
	} else if (cp < 0x20 || cp == 0x7f) {
		*len = 1;
		snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
	} else if (cp >= 0x80 && cp < 0xa0) {
		*len = n;
		snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
	} else {
		*len = n;
		if (fp)
			fwrite(s, 1, (size_t)n, fp);
		w = wcwidth((wchar_t)cp);
		return w < 0 ? 1 : w;
	}
	if (fp)
		fputs(esc, fp);
	return (int)strlen(esc);
}

/* out_text - write S escaped for a terminal, padded to WIDTH */
int out_text(FILE *fp, const char *s, int width, int right)
{
	const unsigned char *p;
	int w = 0, len;

	out_locale();
	if (!s)
		s = "";
	for (p = (const unsigned char *)s; *p; p += len)
		w += out_text_piece(NULL, p, &len);
	if (!fp)
		return w;
	if (right)
		for (int i = w; i < width; i++)
			fputc(' ', fp);
	for (p = (const unsigned char *)s; *p; p += len)
		out_text_piece(fp, p, &len);
	if (!right)
		for (int i = w; i < width; i++)
			fputc(' ', fp);
	return w;
}

/* out_kind_of - the kind of a column of type OID */
static enum out_kind out_kind_of(Oid oid)
{
	switch (oid) {
	case OUT_INT2OID: case OUT_INT4OID: case OUT_INT8OID: case OUT_OIDOID:
	case OUT_FLOAT4OID: case OUT_FLOAT8OID: case OUT_NUMERICOID:
		return OUT_NUMBER;
	case OUT_BOOLOID:
		return OUT_BOOL;
	case OUT_JSONOID: case OUT_JSONBOID:
		return OUT_RAWJSON;
	default:
		return OUT_STRING;
	}
}

/* out_alloc - size the arrays of T for NCOLS columns and NROWS rows */
static int out_alloc(struct out_table *t, int ncols, int nrows)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->nrows = nrows;
	t->names = calloc((size_t)ncols + 1, sizeof(*t->names));
	t->kinds = calloc((size_t)ncols + 1, sizeof(*t->kinds));
	t->cells = calloc((size_t)ncols * (size_t)nrows + 1, sizeof(*t->cells));
	if (!t->names || !t->kinds || !t->cells) {
		out_free(t);
		return -1;
	}
	return 0;
}

/* out_from_pg - point a table at the rows of RES */
int out_from_pg(struct out_table *t, const PGresult *res)
{
	int ncols = PQnfields(res), nrows = PQntuples(res);

	if (out_alloc(t, ncols, nrows) < 0)
		return -1;
	for (int c = 0; c < ncols; c++) {
		t->names[c] = PQfname(res, c);
		t->kinds[c] = out_kind_of(PQftype(res, c));
	}
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++)
			t->cells[(size_t)r * (size_t)ncols + (size_t)c] =
				PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
	return 0;
}

/* out_is_number - does S follow the JSON number grammar? (a numeric NaN or Infinity does not) */
static int out_is_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* out_free - free the arrays, not the text they point into */
void out_free(struct out_table *t)
{
	free(t->names);
	free(t->kinds);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* out_csv_field - RFC 4180 field; optionally defused for spreadsheets */
void out_csv_field(FILE *fp, const char *s, int formula_safe)
{
	int lead = formula_safe && s && s[0] && strchr("=+-@\t\r", s[0]);

	if (!s)
		return;
	/* quoted as psql --csv quotes: a "\." line would end a COPY */
	if (!lead && !s[strcspn(s, ",\"\r\n")] && strcmp(s, "\\.") != 0) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	if (lead)
		fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* out_json_put - json_put_fn: to the stream ARG */
static void out_json_put(void *arg, const char *p, size_t n)
{
	fwrite(p, 1, n, arg);
}

/* out_json_string - quote and escape S for JSON (json.h) */
void out_json_string(FILE *fp, const char *s)
{
	json_string(s ? s : "", out_json_put, fp);
}

/* out_json_value - one cell as JSON */
static void out_json_value(FILE *fp, const char *v, enum out_kind kind)
{
	if (!v)
		fputs("null", fp);
	else if (kind == OUT_NUMBER && out_is_number(v))
		fputs(v, fp);
	else if (kind == OUT_BOOL && (strcmp(v, "t") == 0 || strcmp(v, "f") == 0))
		fputs(*v == 't' ? "true" : "false", fp);
	else if (kind == OUT_RAWJSON)
		fputs(v, fp);
	else
		out_json_string(fp, v);
}

/* out_print_table - aligned columns, header, dashes, "(N rows)" */
static void out_print_table(FILE *fp, const struct out_table *t)
{
	int *w = calloc((size_t)t->ncols + 1, sizeof(int));

	if (!w)
		return;
	for (int c = 0; c < t->ncols; c++) {
		w[c] = out_text(NULL, t->names[c], 0, 0);
		for (int r = 0; r < t->nrows; r++) {
			int cw = out_text(NULL, t->cells[(size_t)r * (size_t)t->ncols + (size_t)c], 0, 0);
			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (int c = 0; c < t->ncols; c++) {
		int last = c == t->ncols - 1;
		out_text(fp, t->names[c], last ? 0 : w[c], 0);
		fputs(last ? "\n" : "  ", fp);
	}
	for (int c = 0; c < t->ncols; c++) {
		for (int i = 0; i < w[c]; i++)
			fputc('-', fp);
		fputs(c == t->ncols - 1 ? "\n" : "  ", fp);
	}
	for (int r = 0; r < t->nrows; r++) {
		const char **row = t->cells + (size_t)r * (size_t)t->ncols;
		int end = t->ncols - 1;
		/* no trailing blanks: stop at the last non-empty cell */
		while (end > 0 && (!row[end] || !*row[end]))
			end--;
		for (int c = 0; c <= end; c++) {
			int last = c == end, right = t->kinds[c] == OUT_NUMBER;
			out_text(fp, row[c], last && !right ? 0 : w[c], right);
			fputs(last ? "\n" : "  ", fp);
		}
	}
	fprintf(fp, "(%d row%s)\n", t->nrows, t->nrows == 1 ? "" : "s");
	free(w);
}

/* out_print - print T in FMT */
int out_print(FILE *fp, const struct out_table *t, enum out_format fmt)
{
	switch (fmt) {
	case OUT_TABLE:
		out_print_table(fp, t);
		break;
	case OUT_CSV:
		for (int r = -1; r < t->nrows; r++) {
			for (int c = 0; c < t->ncols; c++) {
				if (c)
					fputc(',', fp);
				/* text may come from outside: defused; numbers and
				 * booleans cannot hold a formula and stay numbers */
				out_csv_field(fp, r < 0 ? t->names[c] :
					      t->cells[(size_t)r * (size_t)t->ncols + (size_t)c],
					      r < 0 || (t->kinds[c] != OUT_NUMBER &&
							t->kinds[c] != OUT_BOOL));
			}
			fputc('\n', fp);
		}
		break;
	case OUT_JSON:
		fputc('[', fp);
		for (int r = 0; r < t->nrows; r++) {
			fputs(r ? ",\n{" : "\n{", fp);
			for (int c = 0; c < t->ncols; c++) {
				if (c)
					fputs(", ", fp);
				out_json_string(fp, t->names[c]);
				fputs(": ", fp);
				out_json_value(fp, t->cells[(size_t)r * (size_t)t->ncols + (size_t)c],
					       t->kinds[c]);
			}
			fputc('}', fp);
		}
		fputs(t->nrows ? "\n]\n" : "]\n", fp);
		break;
	}
	return ferror(fp) ? -1 : 0;
}
