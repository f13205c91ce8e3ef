/*
 * NAME
 *	qp_gmime.h - GMime's quoted-printable codec, one shot: the reference
 *	milter/qp.c is held to by test_milter_qp and fuzz_qp
 */
#ifndef BEACON_QP_GMIME_H
#define BEACON_QP_GMIME_H

#include <glib.h>
#include <gmime/gmime.h>

/* qp_gmime - GMime's one-shot encode (ENCODE) or decode of IN[0..LEN) */
static inline GString *qp_gmime(const char *in, size_t len, int encode)
{
	GMimeEncoding st;
	GString *s;

	if (encode)
		g_mime_encoding_init_encode(&st, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	else
		g_mime_encoding_init_decode(&st, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	s = g_string_sized_new(g_mime_encoding_outlen(&st, len) + 16);
	g_string_set_size(s, g_mime_encoding_outlen(&st, len) + 16);
	g_string_set_size(s, g_mime_encoding_flush(&st, in, len, s->str));
	return s;
}

#endif
