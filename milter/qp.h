/*
 * NAME
 *	qp.h - quoted-printable encoder and decoder for the rewrite path
 *
 * SYNOPSIS
 *	qp_encode(out, html, len, "\r\n");		(appends to OUT)
 *	guint8 *buf = g_malloc(len + 1);
 *	size_t n = qp_decode(buf, src, len);		(n <= len)
 *
 * DESCRIPTION
 *	The same bytes GMime 3.2's one-shot quoted-printable codec gives
 *	(g_mime_encoding_flush after g_mime_encoding_init_encode or
 *	_init_decode), in a few instructions a byte instead of a dozen or
 *	more: runs of octets that need no escaping are found with a table
 *	and copied whole, and the decoder copies from one '=' to the next.
 *	tests/fuzz/fuzz_qp.c holds both to GMime's output on any input.
 *
 *	qp_encode() appends IN[0..LEN) quoted-printable encoded to OUT, with
 *	EOL as every line ending (GMime writes "\n").  LF is a hard line
 *	break and so is CRLF (the CR is not encoded); a lone CR becomes =0D;
 *	a blank before a line end is encoded (=20, =09); lines are broken
 *	with a soft break ("=" EOL) to hold at most 76 octets, except that
 *	GMime, and so qp_encode, writes the escape of a blank before a line
 *	end and of a lone CR without a break check: such a line can reach
 *	79 octets, and a run of lone CRs makes one line of 3 octets each
 *	(mime_doc_render refuses a result with a line over 998).  When the
 *	input ends in a blank or a lone CR, it is encoded and a soft break
 *	ends the output.
 *
 *	qp_decode() decodes IN[0..LEN) into OUT (room for LEN octets, not
 *	overlapping IN: it stores 16 octets at a time) and returns the
 *	length.  Like GMime's decoder it is lenient: "=" LF and
 *	"=" CR LF are soft breaks; "=XY" with two hex digits (either case) is
 *	one octet; any other "=XY" is kept as the three octets; an "=" or
 *	"=X" in the last two octets of the input is dropped; trailing blanks
 *	are kept.
 */
#ifndef BEACON_QP_H
#define BEACON_QP_H

#include <stddef.h>

#include <glib.h>

void qp_encode(GString *out, const guint8 *in, size_t len, const char *eol);
size_t qp_decode(guint8 *out, const guint8 *in, size_t len);

#endif
