/*
 * test_milter_qp.c - unit tests of the quoted-printable codec (milter/qp.c).
 *
 * DESCRIPTION
 *	Tables of inputs and the exact output each must give, encoded (with
 *	"\n" and with "\r\n" line ends) and decoded; every case is also held
 *	to GMime's own codec, which qp.c replaces byte for byte.  Then long
 *	mixed texts that cross the encoder's block boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "qp.h"
#include "qp_gmime.h"

/* qp_case - one input and its output */
struct qp_case {
	const char *in;		/* input */
	const char *want;	/* output */
};

/* crlf - S with every "\n" made "\r\n" */
static GString *crlf(const char *s, size_t len)
{
	GString *g = g_string_new(NULL);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			g_string_append_c(g, '\r');
		g_string_append_c(g, s[i]);
	}
	return g;
}

/* check_encode - IN[0..LEN) encodes to WANT (NULL: GMime's output) with both line ends */
static void check_encode(const char *in, size_t len, const char *want)
{
	GString *g = qp_gmime(in, len, 1), *out = g_string_new("x"), *w2;

	if (want)
		assert_string_equal(g->str, want);
	qp_encode(out, (const guint8 *)in, len, "\n");
	assert_int_equal(out->len, g->len + 1);
	assert_memory_equal(out->str + 1, g->str, g->len);
	w2 = crlf(g->str, g->len);
	g_string_truncate(out, 0);
	qp_encode(out, (const guint8 *)in, len, "\r\n");
	assert_int_equal(out->len, w2->len);
	assert_memory_equal(out->str, w2->str, w2->len);
	g_string_free(g, TRUE);
	g_string_free(w2, TRUE);
	g_string_free(out, TRUE);
}

/* check_decode - IN[0..LEN) decodes to WANT[0..WLEN) and to what GMime gives */
static void check_decode(const char *in, size_t len, const char *want, size_t wlen)
{
	GString *g = qp_gmime(in, len, 0);
	guint8 *out = g_malloc(len + 1);
	size_t n = qp_decode(out, (const guint8 *)in, len);

	assert_int_equal(g->len, wlen);
	assert_memory_equal(g->str, want, wlen);
	assert_int_equal(n, wlen);
	assert_memory_equal(out, want, wlen);
	g_free(out);
	g_string_free(g, TRUE);
}

/* test_encode_table - edge cases of the encoder */
static void test_encode_table(void **state)
{
	static const struct qp_case cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a=b", "a=3Db" },
		{ "caf\xc3\xa9", "caf=C3=A9" },
		{ "\x01\x7f", "=01=7F" },
		/* a blank before a line end is escaped, not one before text */
		{ "a b\n", "a b\n" },
		{ "a \n", "a=20\n" },
		{ "a  \nb", "a =20\nb" },
		{ "a\t\n", "a=09\n" },
		/* CRLF is a hard break; a lone CR is an octet */
		{ "a\r\nb", "a\nb" },
		{ "a \r\nb", "a=20\nb" },
		{ "a\rb", "a=0Db" },
		{ "a\r\r\nb", "a=0D\nb" },
		{ "a \rb", "a=20=0Db" },
		/* a trailing blank or CR: escaped, then a soft break */
		{ "end ", "end=20=\n" },
		{ "end\t", "end=09=\n" },
		{ "end\r", "end=0D=\n" },
		{ " ", "=20=\n" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		check_encode(cases[i].in, strlen(cases[i].in), cases[i].want);
	check_encode("a\0b", 3, "a=00b");
}

/* test_encode_columns - soft breaks: a printable octet goes out while fewer than 75
 * are on the line, an escape while no more than 72 */
static void test_encode_columns(void **state)
{
	char in[256], want[256];

	(void)state;
	/* 76 octets: 75, soft break, 1 */
	memset(in, 'a', 76);
	memset(want, 'a', 75);
	memcpy(want + 75, "=\na", 4);
	check_encode(in, 76, want);
	/* 75 octets fit */
	want[75] = '\0';
	check_encode(in, 75, want);
	/* an escape after 72 octets fits, after 73 it moves */
	memcpy(in + 72, "=", 1);
	memcpy(want + 72, "=3D", 4);
	check_encode(in, 73, want);
	memset(in, 'a', 73);
	in[73] = '=';
	memset(want, 'a', 73);
	memcpy(want + 73, "=\n=3D", 6);
	check_encode(in, 74, want);
	/* a blank at column 75 moves to the next line with what follows */
	memset(in, 'a', 75);
	memcpy(in + 75, " b", 2);
	memset(want, 'a', 75);
	memcpy(want + 75, "=\n b", 5);
	check_encode(in, 77, want);
	/* a blank at column 74 before a line end: its escape goes on the line (77 octets) */
	memset(in, 'a', 74);
	memcpy(in + 74, " \n", 2);
	memset(want, 'a', 74);
	memcpy(want + 74, "=20\n", 5);
	check_encode(in, 76, want);
	/* a long line of words breaks where GMime does */
	{
		const char *t = "The quick brown fox jumps over the lazy dog, and then over the "
				"lazy dog again, and once more over the very lazy dog.\n";
		check_encode(t, strlen(t), NULL);
	}
}

/* test_encode_long - long mixed texts across the encoder's blocks, both line ends */
static void test_encode_long(void **state)
{
	static const char alpha[] = "abc de=\t\r\n\x80\xff<>\"";
	GString *s = g_string_new(NULL);
	guint32 x = 12345;

	(void)state;
	for (int round = 0; round < 40; round++) {
		size_t len = 900 + (size_t)round * 97;
		g_string_truncate(s, 0);
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly text, some of every other class; runs of blanks near the ends */
			g_string_append_c(s, (x >> 16) % 8 ? "Lorem ipsum dolor sit amet  "[(x >> 8) % 28]
						      : alpha[(x >> 20) % (sizeof(alpha) - 1)]);
		}
		check_encode(s->str, s->len, NULL);
	}
	g_string_free(s, TRUE);
}

/* test_decode_table - the decoder, lenient like GMime's */
static void test_decode_table(void **state)
{
	static const struct qp_case cases[] = {
		{ "", "" },
		{ "plain text", "plain text" },
		{ "a=3Db", "a=b" },
		{ "a=3db", "a=b" },
		{ "caf=C3=A9", "caf\xc3\xa9" },
		/* soft breaks, LF and CRLF; blanks before them are kept */
		{ "soft=\nbreak", "softbreak" },
		{ "soft=\r\nbreak", "softbreak" },
		{ "sp  =\nx", "sp  x" },
		{ "=\n=41", "A" },
		/* a malformed escape is kept as its three octets */
		{ "bad=XYz", "bad=XYz" },
		{ "bad=4G", "bad=4G" },
		{ "bad=G4", "bad=G4" },
		{ "==41", "==41" },
		{ "=0\nx", "=0\nx" },
		{ "a=\r=41", "a=\r=41" },
		{ "a= \nb", "a= \nb" },
		/* "=" or "=X" at the end is dropped */
		{ "end=", "end" },
		{ "end=4", "end" },
		{ "end=\r", "end" },
		{ "=", "" },
		/* line ends and lone CRs are data */
		{ "lone\rcr\r\n", "lone\rcr\r\n" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		check_decode(cases[i].in, strlen(cases[i].in), cases[i].want, strlen(cases[i].want));
	check_decode("a=00b", 5, "a\0b", 3);
	check_decode("a\0=41", 5, "a\0A", 3);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_table),
		cmocka_unit_test(test_encode_columns),
		cmocka_unit_test(test_encode_long),
		cmocka_unit_test(test_decode_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
