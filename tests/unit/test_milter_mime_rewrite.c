/*
 * test_milter_mime_rewrite.c - golden tests of the MIME rewrite (milter/mime_parse.c,
 * milter/mime_rewrite.c).
 *
 * DESCRIPTION
 *	Each tests/fixtures/mime/NAME.eml is read as an MTA hands it to the
 *	milter (CRLF line ends, unless NAME ends in _lf), located with
 *	mime_doc_parse() and rendered with a fixed pixel URL and a link
 *	callback that writes https://t.example/c/TOKEN/N?u=URL, so the
 *	output shows which links were signed, in what order and with what
 *	URL.  Rendered bodies must equal NAME.out (stored with LF line ends;
 *	BEACON_GOLDEN_UPDATE=1 rewrites them).  Messages that must stay
 *	untouched must be refused with the expected reason.
 *
 *	Every rendered body is also checked for what must hold whatever the
 *	golden file says: no line over 998 octets, no bare LF in a CRLF
 *	message, the same parts found again when the output is parsed, every
 *	byte between and around the HTML parts identical, one pixel per HTML
 *	part.  A last case times the rendering of a 28 KB newsletter.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "clock.h"
#include "mime_rewrite.h"

#define PH	"https://t.example/p.gif"
#define PXURL	"https://t.example/o/TOKEN.gif"

/* mime_case - one fixture and what must become of it */
struct mime_case {
	const char *name;	/* tests/fixtures/mime/NAME.eml */
	const char *untouched;	/* NULL: rewritten; else a substring of the reason */
	int parts;		/* HTML parts located */
	int links;		/* links signed */
	const char *top_cte;	/* expected top-level CTE change, or NULL */
};

static const struct mime_case cases[] = {
	{ "alt_qp", NULL, 1, 2, NULL },
	{ "related_b64", NULL, 1, 2, NULL },
	{ "nested_mixed", NULL, 1, 2, NULL },
	{ "missing_final_boundary", NULL, 1, 1, NULL },
	{ "upper_comments_7bit", NULL, 1, 4, NULL },
	{ "no_body_tag", NULL, 1, 1, NULL },
	{ "long_line_spaces", NULL, 1, 20, NULL },
	{ "long_line_dense", NULL, 1, 1, NULL },
	{ "long_line_top", NULL, 1, 1, "quoted-printable" },
	{ "latin1_url_lf", NULL, 1, 1, NULL },
	{ "forwarded", NULL, 1, 1, NULL },
	{ "text_only", NULL, 0, 0, NULL },
	{ "signed", "multipart/signed", 0, 0, NULL },
	{ "pgp_inline", "inline PGP", 0, 0, NULL },
	{ "utf16", "charset utf-16", 0, 0, NULL },
	{ "uuencode", "unsupported transfer encoding", 0, 0, NULL },
};

/* link_state - what the test link callback counts */
struct link_state {
	int n;		/* links signed */
};

/* test_link - html_link_fn: a readable, deterministic click URL */
static int test_link(void *arg, const char *url, GString *out)
{
	struct link_state *ls = arg;

	g_string_append_printf(out, "https://t.example/c/TOKEN/%d?u=%s", ++ls->n, url);
	return 1;
}

/* fixture_path - tests/fixtures/mime/NAME.EXT under BEACON_SRC */
static char *fixture_path(const char *name, const char *ext)
{
	const char *src = getenv("BEACON_SRC");
	return g_strdup_printf("%s/tests/fixtures/mime/%s.%s", src ? src : ".", name, ext);
}

/* load_message - the fixture as the MTA delivers it: CRLF unless _lf */
static GByteArray *load_message(const char *name, size_t *body_off)
{
	char *path = fixture_path(name, "eml"), *data = NULL;
	gsize len = 0;
	GByteArray *t = g_byte_array_new();
	const char *sep;
	int lf = g_str_has_suffix(name, "_lf");

	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("cannot read %s", path);
	for (gsize i = 0; i < len; i++) {
		if (!lf && data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			g_byte_array_append(t, (const guint8 *)"\r", 1);
		g_byte_array_append(t, (const guint8 *)data + i, 1);
	}
	sep = lf ? "\n\n" : "\r\n\r\n";
	const char *p = memmem(t->data, t->len, sep, strlen(sep));
	assert_non_null(p);
	*body_off = (size_t)(p - (const char *)t->data) + strlen(sep);
	g_free(data);
	g_free(path);
	return t;
}

/* check_lines - no line over 998 octets; no bare LF when CRLF */
static void check_lines(const char *name, const GByteArray *b, int crlf)
{
	size_t start = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		if (crlf && (i == 0 || b->data[i - 1] != '\r'))
			fail_msg("%s: bare LF at %zu", name, i);
		if (i - start > MIME_LINE_MAX + 1)
			fail_msg("%s: line of %zu octets at %zu", name, i - start, start);
		start = i + 1;
	}
}

/* check_outside - every byte outside the HTML spans is the same in both */
static void check_outside(const char *name, const struct mime_doc *in, const struct mime_doc *out)
{
	const guint8 *bi = in->text->data + in->body_off, *bo = out->text->data + out->body_off;
	size_t pi = 0, po = 0;

	assert_int_equal(in->parts->len, out->parts->len);
	for (guint k = 0; k <= in->parts->len; k++) {
		size_t ei = k < in->parts->len ?
			((struct mime_html *)g_ptr_array_index(in->parts, k))->start :
			in->text->len - in->body_off;
		size_t eo = k < out->parts->len ?
			((struct mime_html *)g_ptr_array_index(out->parts, k))->start :
			out->text->len - out->body_off;
		if (ei - pi != eo - po || memcmp(bi + pi, bo + po, ei - pi) != 0)
			fail_msg("%s: bytes before HTML part %u differ", name, k);
		if (k < in->parts->len) {
			pi = ((struct mime_html *)g_ptr_array_index(in->parts, k))->end;
			po = ((struct mime_html *)g_ptr_array_index(out->parts, k))->end;
		}
	}
}

/* check_golden - compare (or rewrite) NAME.out */
static void check_golden(const char *name, const GByteArray *body, int crlf)
{
	char *path = fixture_path(name, "out"), *want = NULL;
	GString *got = g_string_sized_new(body->len);
	gsize wlen = 0;

	for (guint i = 0; i < body->len; i++)
		if (!(crlf && body->data[i] == '\r' && i + 1 < body->len && body->data[i + 1] == '\n'))
			g_string_append_c(got, (char)body->data[i]);
	if (getenv("BEACON_GOLDEN_UPDATE")) {
		assert_true(g_file_set_contents(path, got->str, (gssize)got->len, NULL));
	} else {
		if (!g_file_get_contents(path, &want, &wlen, NULL))
			fail_msg("no golden file %s (BEACON_GOLDEN_UPDATE=1 writes it)", path);
		if (wlen != got->len || memcmp(want, got->str, wlen) != 0)
			fail_msg("%s: output differs from %s:\n%s", name, path, got->str);
	}
	g_free(want);
	g_free(path);
	g_string_free(got, TRUE);
}

/* count - occurrences of NEEDLE in HAY[0..LEN) */
static int count(const guint8 *hay, size_t len, const char *needle)
{
	int n = 0;
	size_t nl = strlen(needle);

	for (const guint8 *p = hay; (p = memmem(p, len - (size_t)(p - hay), needle, nl)); p += nl)
		n++;
	return n;
}

/* run_case - parse, render, check one fixture */
static void run_case(const struct mime_case *c)
{
	size_t off;
	GByteArray *in = load_message(c->name, &off);
	int crlf = !g_str_has_suffix(c->name, "_lf");
	char why[160] = "";
	struct mime_doc *d = mime_doc_parse(in, off, why, sizeof(why));
	struct link_state ls = { 0 };
	struct html_rewrite_opts o = { PXURL, PH, 1, 0, NULL, test_link, &ls, NULL, NULL, NULL };
	struct mime_render r;

	if (c->untouched) {
		if (d)
			fail_msg("%s: should be refused (%s)", c->name, c->untouched);
		if (!strstr(why, c->untouched))
			fail_msg("%s: reason '%s', want '%s'", c->name, why, c->untouched);
		g_byte_array_free(in, TRUE);
		return;
	}
	if (!d)
		fail_msg("%s: refused: %s", c->name, why);
	assert_int_equal(d->parts->len, c->parts);
	if (c->parts == 0) {
		mime_doc_free(d);
		g_byte_array_free(in, TRUE);
		return;
	}
	if (mime_doc_render(d, &o, &r, why, sizeof(why)) < 0)
		fail_msg("%s: render failed: %s", c->name, why);
	if (ls.n != c->links)
		fail_msg("%s: %d links signed, want %d", c->name, ls.n, c->links);
	assert_int_equal(r.st.links_rewritten, c->links);
	if (c->top_cte)
		assert_string_equal(r.top_cte, c->top_cte);
	else
		assert_null(r.top_cte);
	check_lines(c->name, r.body, crlf);
	check_golden(c->name, r.body, crlf);

	/* the output parsed again: same parts, same bytes around them, one pixel each */
	GByteArray *again = g_byte_array_new();
	g_byte_array_append(again, in->data, (guint)off);
	g_byte_array_append(again, r.body->data, r.body->len);
	struct mime_doc *d2 = mime_doc_parse(again, off, why, sizeof(why));
	if (!d2 && c->top_cte)
		fail_msg("%s: output unreadable: %s", c->name, why);
	if (d2 && !c->top_cte) {
		int changed_cte = 0;
		for (guint k = 0; k < d->parts->len; k++) {
			const struct mime_html *a = g_ptr_array_index(d->parts, k);
			const struct mime_html *b = g_ptr_array_index(d2->parts, k);
			if (a->enc != b->enc)
				changed_cte = 1;
			assert_int_equal(count(b->html->data, b->html->len, PXURL), 1);
			assert_int_equal(count(b->html->data, b->html->len, PH), 0);
		}
		if (!changed_cte)
			check_outside(c->name, d, d2);
	}
	mime_doc_free(d2);
	g_byte_array_free(again, TRUE);
	mime_render_clear(&r);
	mime_doc_free(d);
	g_byte_array_free(in, TRUE);
}

/* test_fixtures - every fixture of the table */
static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

/* test_fold - lines are broken before a blank, or refused */
static void test_fold(void **state)
{
	GString *s = g_string_new("aaaa bbbb cccc\r\nshort\r\n");
	(void)state;
	assert_int_equal(mime_fold_lines(s, "\r\n", 9, 0), 0);
	assert_string_equal(s->str, "aaaa bbbb\r\n cccc\r\nshort\r\n");
	g_string_assign(s, "aaaa bbbb cccc");
	assert_int_equal(mime_fold_lines(s, "\n", 6, 0), 0);
	assert_string_equal(s->str, "aaaa\n bbbb\n cccc");
	g_string_assign(s, "abcdefghijkl mn");
	assert_int_equal(mime_fold_lines(s, "\n", 10, 0), -1);
	g_string_assign(s, "ab cdefghijklmn");
	assert_int_equal(mime_fold_lines(s, "\n", 10, 0), -1);
	g_string_assign(s, "ok\nfine");
	assert_int_equal(mime_fold_lines(s, "\n", 10, 0), 0);
	assert_string_equal(s->str, "ok\nfine");
	/* the first line continues one that already holds 4 octets */
	g_string_assign(s, "aa bb cc\ndd ee");
	assert_int_equal(mime_fold_lines(s, "\n", 8, 4), 0);
	assert_string_equal(s->str, "aa\n bb cc\ndd ee");
	g_string_assign(s, "aa bb");
	assert_int_equal(mime_fold_lines(s, "\n", 8, 8), -1);
	g_string_free(s, TRUE);
}

/* test_url_normalize - charset to UTF-8, then %-encoding */
static void test_url_normalize(void **state)
{
	char *u;
	(void)state;
	u = mime_url_normalize("https://x.example/caf\xe9 menu", "iso-8859-1");
	assert_string_equal(u, "https://x.example/caf%C3%A9%20menu");
	g_free(u);
	u = mime_url_normalize("https://x.example/caf\xc3\xa9", "utf-8");
	assert_string_equal(u, "https://x.example/caf%C3%A9");
	g_free(u);
	u = mime_url_normalize("https://x.example/a?b=\"<c>\"", NULL);
	assert_string_equal(u, "https://x.example/a?b=%22%3Cc%3E%22");
	g_free(u);
	u = mime_url_normalize("https://x.example/(plain)&x=1", "utf-8");
	assert_string_equal(u, "https://x.example/(plain)&x=1");
	g_free(u);
}

/* qp_roundtrip - the quoted-printable HTML part BODY decodes after the rewrite to the
 * rewritten HTML octet for octet, and holds each of WANT[0..N) */
static void qp_roundtrip(const char *body, const char **want, size_t n)
{
	static const char head[] = "Subject: qp\r\nContent-Type: text/html; charset=utf-8\r\n"
				   "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	GByteArray *t = g_byte_array_new(), *again = g_byte_array_new();
	struct html_rewrite_opts o = { PXURL, PH, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL };
	struct mime_doc *d, *d2;
	struct mime_html *a, *b;
	struct mime_render r;
	char why[160];
	GString *html = g_string_new(NULL);
	struct html_rewrite_stats st = { 0 };

	g_byte_array_append(t, (const guint8 *)head, sizeof(head) - 1);
	g_byte_array_append(t, (const guint8 *)body, (guint)strlen(body));
	d = mime_doc_parse(t, sizeof(head) - 1, why, sizeof(why));
	assert_non_null(d);
	assert_int_equal(mime_doc_render(d, &o, &r, why, sizeof(why)), 0);
	check_lines("qp_octets", r.body, 1);
	g_byte_array_append(again, (const guint8 *)head, sizeof(head) - 1);
	g_byte_array_append(again, r.body->data, r.body->len);
	d2 = mime_doc_parse(again, sizeof(head) - 1, why, sizeof(why));
	assert_non_null(d2);
	a = g_ptr_array_index(d->parts, 0);
	b = g_ptr_array_index(d2->parts, 0);
	assert_int_equal(html_rewrite((const char *)a->html->data, a->html->len, &o, html, &st), 0);
	assert_int_equal(b->html->len, html->len);
	assert_memory_equal(b->html->data, html->str, html->len);
	for (size_t i = 0; i < n; i++)
		assert_non_null(memmem(b->html->data, b->html->len, want[i], strlen(want[i])));
	g_string_free(html, TRUE);
	mime_render_clear(&r);
	mime_doc_free(d2);
	mime_doc_free(d);
	g_byte_array_free(again, TRUE);
	g_byte_array_free(t, TRUE);
}

/* test_qp_octets - a quoted-printable part decodes after the rewrite to the rewritten HTML
 * octet for octet: lone CRs (also before a line end), blanks before line ends and at the
 * end, '=' and 8-bit octets, lines longer than 76 */
static void test_qp_octets(void **state)
{
	static const char *want[] = { "lone\rcr", "line end\r\r\n", "two\r\r\r\n",
				      "line end \r\n", "tab\t\r\n", "a=b caf\xc3\xa9",
				      "</html> " };
	(void)state;

	qp_roundtrip("<html><body><p>lone=0Dcr, cr before a line end=0D\r\n"
		     "two=0D=0D\r\n"
		     "blank before a line end=20\r\n"
		     "tab=09\r\n"
		     "a=3Db caf=C3=A9 <a href=3D\"https://x.example/a?b=3D1\">x</a> a long line that=\r\n"
		     " goes on past the seventy-sixth column of the encoded text, and further on=\r\n"
		     " still</p></body></html>=20", want, G_N_ELEMENTS(want));
}

/* test_qp_soft_end - a part that ends in a soft line break still ends without a line
 * break once rewritten (the soft break is kept, not made hard) */
static void test_qp_soft_end(void **state)
{
	static const char *want[] = { "<p>hello</p>" };
	(void)state;

	qp_roundtrip("<html><body><p>hello</p></body></html>=\r\n", want, G_N_ELEMENTS(want));
	qp_roundtrip("<html><body><p>hello</p></body></html>\r\n", want, G_N_ELEMENTS(want));
}

/* test_render_28k - time the rewrite of a 28 KB quoted-printable newsletter */
static void test_render_28k(void **state)
{
	GString *html = g_string_new("<html><body>\n"), *msg = g_string_new(NULL);
	GByteArray *t = g_byte_array_new();
	struct link_state ls = { 0 };
	struct html_rewrite_opts o = { PXURL, PH, 1, 0, NULL, test_link, &ls, NULL, NULL, NULL };
	struct mime_render r;
	char why[160];
	gint64 t0, best = G_MAXINT64;
	(void)state;

	for (int i = 0; html->len < 28 * 1024; i++)
		g_string_append_printf(html, "<p style=\"font-family:Arial\">Paragraph %d of the "
				       "newsletter, with <a href=\"https://shop.example/item/%d?utm_source="
				       "letter&amp;utm_medium=email\">a link</a> and some text.</p>\n", i, i);
	g_string_append(html, "</body></html>\n");
	GMimeEncoding enc;
	g_mime_encoding_init_encode(&enc, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	char *qp = g_malloc(g_mime_encoding_outlen(&enc, html->len) + 16);
	size_t qn = g_mime_encoding_flush(&enc, html->str, html->len, qp);
	g_string_append(msg, "Subject: news\r\nContent-Type: text/html; charset=utf-8\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	size_t off = msg->len;
	for (size_t i = 0; i < qn; i++) {
		if (qp[i] == '\n')
			g_string_append_c(msg, '\r');
		g_string_append_c(msg, qp[i]);
	}
	g_byte_array_append(t, (const guint8 *)msg->str, (guint)msg->len);
	for (int round = 0; round < 20; round++) {
		t0 = clock_now_us();
		struct mime_doc *d = mime_doc_parse(t, off, why, sizeof(why));
		assert_non_null(d);
		ls.n = 0;
		assert_int_equal(mime_doc_render(d, &o, &r, why, sizeof(why)), 0);
		best = MIN(best, clock_now_us() - t0);
		mime_render_clear(&r);
		mime_doc_free(d);
	}
	printf("# parse + rewrite of a %zu-octet newsletter with %d links: %" G_GINT64_FORMAT
	       " us (best of 20)\n", msg->len, ls.n, best);
	assert_true(ls.n > 100);
	g_free(qp);
	g_string_free(html, TRUE);
	g_string_free(msg, TRUE);
	g_byte_array_free(t, TRUE);
}

/* main - run the cases */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_url_normalize),
		cmocka_unit_test(test_qp_octets),
		cmocka_unit_test(test_qp_soft_end),
		cmocka_unit_test(test_render_28k),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
