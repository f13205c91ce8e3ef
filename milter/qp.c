/*
 * NAME
 *	qp.c - quoted-printable encoder and decoder, byte for byte GMime's
 *
 * DESCRIPTION
 *	See qp.h.  The encoder follows the state of GMime's
 *	g_mime_encoding_quoted_encode_step/_close: SOFAR octets on the
 *	output line, LAST a blank or CR held back until the next octet says
 *	whether it ends a line.  Octets of class QP_PLAIN (printable ASCII
 *	but '=') are taken as whole runs and copied up to the soft-break
 *	column.  The decoder copies 16 octets at a time (SSE2) up to the
 *	next '=', memchr and memcpy on the tail.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "qp.h"

#define QP_SOFT_COL 75	/* a printable octet goes out only while fewer are on the line */
#define QP_ESC_COL 72	/* an escape goes out only while no more are on the line */
#define QP_BLOCK 1024	/* input octets encoded per growth of the output */

/* qp_kind - what the encoder does with an input octet */
enum qp_kind {
	QP_ESCAPE,	/* anything not below: =XY */
	QP_PLAIN,	/* printable ASCII but '=': as it is */
	QP_BLANK,	/* space or tab: held back, escaped before a line end */
	QP_CR,		/* held back: dropped before LF, else =0D */
	QP_LF		/* the line end */
};

/* qp_class - QP_* of every octet */
static const unsigned char qp_class[256] = {
	[33 ... 60] = QP_PLAIN,
	[62 ... 126] = QP_PLAIN,
	[' '] = QP_BLANK,
	['\t'] = QP_BLANK,
	['\r'] = QP_CR,
	['\n'] = QP_LF,
};

/* qp_hex1 - 1 + the value of a hex digit (either case), 0 for any other octet */
static const unsigned char qp_hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static const char qp_hex[] = "0123456789ABCDEF";

/* qp_esc - write =XY for C at O; the position after it */
static inline guint8 *qp_esc(guint8 *o, unsigned c)
{
	o[0] = '=';
	o[1] = (guint8)qp_hex[c >> 4];
	o[2] = (guint8)qp_hex[c & 15];
	return o + 3;
}

/* qp_eol - write EOL (ELEN octets, 1 or 2) at O; the position after it */
static inline guint8 *qp_eol(guint8 *o, const char *eol, size_t elen)
{
	o[0] = (guint8)eol[0];
	if (elen > 1)
		o[1] = (guint8)eol[1];
	return o + elen;
}

/* qp_release - the held-back octet did not end a line: a blank as it is, a CR as =0D */
static inline guint8 *qp_release(guint8 *o, int *last, size_t *sofar)
{
	if (*last == '\r') {
		o = qp_esc(o, '\r');
		*sofar += 3;
	} else if (*last != -1) {
		*o++ = (guint8)*last;
		*sofar += 1;
	}
	*last = -1;
	return o;
}

/* qp_soft - write a soft line break ("=" EOL) at O; the position after it */
static inline guint8 *qp_soft(guint8 *o, const char *eol, size_t elen)
{
	*o++ = '=';
	return qp_eol(o, eol, elen);
}

/* qp_run - the end of the run of QP_PLAIN and QP_BLANK octets at P (before END) */
static inline const guint8 *qp_run(const guint8 *p, const guint8 *end)
{
#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi8(' ' - 1), hi = _mm_set1_epi8(127);
	const __m128i eq = _mm_set1_epi8('='), tab = _mm_set1_epi8('\t');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* signed: octets >= 0x80 are below ' ' */
		__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
		int m;
		ok = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, eq), ok), _mm_cmpeq_epi8(v, tab));
		m = ~_mm_movemask_epi8(ok) & 0xffff;
		if (m)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && (qp_class[*p] == QP_PLAIN || qp_class[*p] == QP_BLANK))
		p++;
	return p;
}

/* qp_encode - append IN[0..LEN) quoted-printable encoded to OUT, lines ended with EOL */
void qp_encode(GString *out, const guint8 *in, size_t len, const char *eol)
{
	const guint8 *p = in, *end = in + len;
	size_t elen = eol[1] ? 2 : 1;
	size_t sofar = 0;	/* octets on the output line */
	int last = -1;		/* blank or CR held back, or -1 */
	guint8 *o = (guint8 *)out->str + out->len;

	while (p < end) {
		const guint8 *bend = (size_t)(end - p) > QP_BLOCK ? p + QP_BLOCK : end;
		size_t at = (size_t)(o - (guint8 *)out->str);
		/* an octet costs at most its escape, a soft break and a line end;
		 * 16 more: an octet held back from the block before, the close */
		size_t need = at + (size_t)(bend - p) * (3 + 1 + elen) + 16;

		if (need >= out->allocated_len) {
			g_string_set_size(out, need);
			o = (guint8 *)out->str + at;
		}
		while (p < bend) {
			unsigned c = *p++;
			const guint8 *run;

			switch (qp_class[c]) {
			case QP_PLAIN:
			case QP_BLANK:
				/* a blank not before a line end (or the end) goes out as it
				 * is, like a printable octet: after the same column check */
				o = qp_release(o, &last, &sofar);
				run = p - 1;
				p = qp_run(p, bend);
				if (qp_class[p[-1]] == QP_BLANK &&
				    (p == end || *p == '\r' || *p == '\n')) {
					p--;	/* the last blank is held back */
					if (p == run) {
						if (sofar >= QP_SOFT_COL) {
							o = qp_soft(o, eol, elen);
							sofar = 0;
						}
						last = *p++;
						break;
					}
				}
				while (run < p) {
					size_t k;
					if (sofar >= QP_SOFT_COL) {
						o = qp_soft(o, eol, elen);
						sofar = 0;
					}
					k = MIN((size_t)(p - run), QP_SOFT_COL - sofar);
					memcpy(o, run, k);
					o += k;
					run += k;
					sofar += k;
				}
				break;
			case QP_ESCAPE:
				o = qp_release(o, &last, &sofar);
				if (sofar > QP_ESC_COL) {
					o = qp_soft(o, eol, elen);
					sofar = 3;
				} else {
					sofar += 3;
				}
				o = qp_esc(o, c);
				break;
			case QP_CR:
				/* a CR or blank held before a CR is escaped: no line end follows it */
				if (last != -1) {
					o = qp_esc(o, (unsigned)last);
					sofar += 3;
				}
				last = '\r';
				break;
			default:	/* QP_LF: a held blank is escaped, a held CR dropped */
				if (last != -1 && last != '\r')
					o = qp_esc(o, (unsigned)last);
				o = qp_eol(o, eol, elen);
				sofar = 0;
				last = -1;
				break;
			}
		}
	}
	if (last != -1) {
		/* a trailing blank or CR is escaped, and a soft break keeps the
		 * decoder from reading a line end after it */
		o = qp_esc(o, (unsigned)last);
		o = qp_soft(o, eol, elen);
	}
	g_string_set_size(out, (gsize)(o - (guint8 *)out->str));
}

/* qp_decode - decode IN[0..LEN) into OUT (LEN octets of room); the decoded length */
size_t qp_decode(guint8 *out, const guint8 *in, size_t len)
{
	const guint8 *p = in, *end = in + len, *eq;
	guint8 *o = out;

	while (p < end) {
#ifdef __SSE2__
		/* 16 octets at a time up to the next '=': the output never runs
		 * ahead of the input, so a whole 16-octet store stays in OUT */
		const __m128i eqs = _mm_set1_epi8('=');
		unsigned m = 0;

		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			_mm_storeu_si128((__m128i *)o, v);
			m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, eqs));
			if (m)
				break;
			p += 16;
			o += 16;
		}
		if (m) {
			eq = p + __builtin_ctz(m);
		} else
#endif
		{
			eq = memchr(p, '=', (size_t)(end - p));
			if (!eq) {
				memcpy(o, p, (size_t)(end - p));
				o += end - p;
				break;
			}
			memcpy(o, p, (size_t)(eq - p));
		}
		o += eq - p;
		if (end - eq < 2)
			break;	/* "=" at the end: dropped */
		if (eq[1] == '\n') {
			p = eq + 2;	/* soft break */
			continue;
		}
		if (end - eq < 3)
			break;	/* "=X" at the end: dropped */
		if (qp_hex1[eq[1]] && qp_hex1[eq[2]]) {
			*o++ = (guint8)((qp_hex1[eq[1]] - 1) << 4 | (qp_hex1[eq[2]] - 1));
		} else if (!(eq[1] == '\r' && eq[2] == '\n')) {
			o[0] = '=';
			o[1] = eq[1];
			o[2] = eq[2];
			o += 3;
		}
		p = eq + 3;
	}
	return (size_t)(o - out);
}
