/*
 * fuzz_mime_rewrite.c - libFuzzer target for the MIME rewrite of
 * beacon-milter (milter/mime_parse.c, milter/mime_rewrite.c and the HTML
 * rewriter under them).  The input is a whole message; the body starts
 * after the first empty line.  A message that is located is rendered with
 * a pixel and signed links, and the result must keep every byte before
 * the first and after the last HTML part, and hold no line over 998
 * octets that the input did not already hold.  Then every attachment
 * found is taken out (attach.h) and the message rendered again with a
 * download block and download lines: no line over 998 octets may appear
 * and the result must parse again.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "attach.h"
#include "mime_rewrite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerInitialize - GMime once */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	return 0;
}

/* fuzz_link - html_link_fn: a click URL that carries the target */
static int fuzz_link(void *arg, const char *url, GString *out)
{
	int *n = arg;
	g_string_append_printf(out, "https://t.example/c/T/%d?u=%s", ++*n, url);
	return 1;
}

/* max_line - the longest line of P[0..LEN), without its line end */
static size_t max_line(const guint8 *p, size_t len)
{
	size_t m = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '\n')
			continue;
		size_t l = i - start;
		if (l > 0 && i < len && p[i - 1] == '\r')
			l--;
		if (l > m)
			m = l;
		start = i + 1;
	}
	return m;
}

/* LLVMFuzzerTestOneInput - locate, render, check */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GByteArray *t = g_byte_array_sized_new((guint)size);
	const guint8 *sep = memmem(data, size, "\r\n\r\n", 4), *lf = memmem(data, size, "\n\n", 2);
	size_t off = size;
	int n = 0;
	char why[160];
	struct html_rewrite_opts o = { "https://t.example/o/T.gif", "https://t.example/p.gif", 1, 0,
				       NULL, fuzz_link, &n, NULL, NULL, NULL };
	struct mime_render r;
	struct mime_doc *d;

	if (sep && (!lf || sep < lf))
		off = (size_t)(sep - data) + 4;
	else if (lf)
		off = (size_t)(lf - data) + 2;
	g_byte_array_append(t, data, (guint)size);
	d = mime_doc_parse(t, off, why, sizeof(why));
	if (d && d->parts->len > 0 && mime_doc_render(d, &o, &r, why, sizeof(why)) == 0) {
		const struct mime_html *first = g_ptr_array_index(d->parts, 0);
		const struct mime_html *last = g_ptr_array_index(d->parts, d->parts->len - 1);
		size_t blen = size - off, tail = blen - last->end;
		size_t head = first->start;
		const guint8 *body = data + off;

		/* a part turned quoted-printable has its CTE line changed or added */
		if (!first->top) {
			head = MIN(head, first->hdr_start);
			if (first->cte_end > first->cte_start)
				head = MIN(head, first->cte_start);
		}
		if (r.body->len < head + tail || memcmp(r.body->data, body, head) != 0 ||
		    memcmp(r.body->data + r.body->len - tail, body + last->end, tail) != 0)
			abort();
		if (max_line(r.body->data, r.body->len) > MAX(MIME_LINE_MAX, max_line(body, blen)))
			abort();
		mime_render_clear(&r);
	}
	if (d && d->parts->len > 0 && attach_plan(d, 0) > 0) {
		o.download_html = "\n<table><tr><td>Download &#xE9;</td></tr></table>\n";
		o.download_text = "Download \xc3\xa9.pdf (1 byte): https://t.example/d/T/1/S\n";
		if (mime_doc_render(d, &o, &r, why, sizeof(why)) == 0) {
			GByteArray *again = g_byte_array_new();
			struct mime_doc *d2;
			g_byte_array_append(again, data, (guint)off);
			g_byte_array_append(again, r.body->data, r.body->len);
			if (max_line(r.body->data, r.body->len) >
			    MAX(MIME_LINE_MAX, max_line(data + off, size - off)))
				abort();
			d2 = mime_doc_parse(again, off, why, sizeof(why));
			mime_doc_free(d2);
			g_byte_array_free(again, TRUE);
			mime_render_clear(&r);
		}
	}
	mime_doc_free(d);
	g_byte_array_free(t, TRUE);
	return 0;
}
