/*
 * fuzz_qp.c - libFuzzer target holding the quoted-printable codec to GMime's.
 *
 * DESCRIPTION
 *	Each input is both a text to encode and a quoted-printable body to
 *	decode.  Aborts when
 *	- qp_encode() with EOL "\n" differs by one octet from GMime's
 *	  one-shot encoder (g_mime_encoding_flush), or with EOL "\r\n" from
 *	  GMime's output with each "\n" made "\r\n", or appends to a GString
 *	  that already holds text other than after it;
 *	- GMime's decoder does not give back the input, CRLF read as LF;
 *	- qp_decode() differs by one octet from GMime's decoder.
 *
 *	Seeds: tests/fuzz/corpus/qp/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "qp.h"
#include "../unit/qp_gmime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_same - abort unless A[0..ALEN) equals B */
static void fuzz_same(const char *a, size_t alen, const GString *b)
{
	if (alen != b->len || memcmp(a, b->str, alen) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GString *want = qp_gmime((const char *)data, size, 1), *got = g_string_new("head");
	GString *crlf = g_string_new(NULL), *plain = g_string_new(NULL), *back;
	guint8 *dec = g_malloc(size + 1);

	/* encode: "\n" and "\r\n" line ends, appended after what OUT held */
	qp_encode(got, data, size, "\n");
	if (got->len < 4 || memcmp(got->str, "head", 4) != 0)
		abort();
	fuzz_same(got->str + 4, got->len - 4, want);
	for (size_t i = 0; i < want->len; i++) {
		if (want->str[i] == '\n')
			g_string_append_c(crlf, '\r');
		g_string_append_c(crlf, want->str[i]);
	}
	g_string_truncate(got, 0);
	qp_encode(got, data, size, "\r\n");
	fuzz_same(got->str, got->len, crlf);

	/* the encoding decodes to the input, with a CR before LF dropped */
	for (size_t i = 0; i < size; i++)
		if (!(data[i] == '\r' && i + 1 < size && data[i + 1] == '\n'))
			g_string_append_c(plain, (char)data[i]);
	back = qp_gmime(want->str, want->len, 0);
	fuzz_same(back->str, back->len, plain);
	g_string_free(back, TRUE);

	/* decode: the input as a quoted-printable body */
	back = qp_gmime((const char *)data, size, 0);
	fuzz_same((const char *)dec, qp_decode(dec, data, size), back);
	g_string_free(back, TRUE);

	g_free(dec);
	g_string_free(want, TRUE);
	g_string_free(got, TRUE);
	g_string_free(crlf, TRUE);
	g_string_free(plain, TRUE);
	return 0;
}
