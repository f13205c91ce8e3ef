/*
 * test_milter_attach.c - unit tests of attachments = link in beacon-milter
 * (milter/attach.c, milter/attach_store.c, their use in mime_rewrite.c and
 * track.c)
 *
 * DESCRIPTION
 *	A table of messages says which parts are taken and which stay: PDF
 *	and ZIP attachments taken; an inline image the HTML names with cid:
 *	kept, the same image unnamed taken; a signed message not parsed at
 *	all (it keeps everything); a text/plain attachment taken, the text
 *	body kept; a multipart/mixed nested in an alternative; an inline PDF
 *	kept; parts under attachment_min_size kept; a multipart whose parts
 *	are all taken goes whole; names sanitised.  Each rewritten message
 *	must parse again with exactly the parts that stayed.
 *
 *	The golden case runs track_message_with() on
 *	tests/fixtures/attach/two_files.eml with a fixed key and clock and
 *	compares the body byte for byte with two_files.out
 *	(BEACON_GOLDEN_UPDATE=1 rewrites it); the store then holds each file
 *	once under its SHA-256 and one manifest line per file; a second run
 *	reuses the files.  An attachment_dir that cannot be written leaves
 *	the message as it came (tag header included) and no manifest.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gmime/gmime.h>
#include <sodium.h>

#include "attach.h"
#include "attach_store.h"
#include "cfg.h"
#include "mime_rewrite.h"
#include "token.h"
#include "track.h"

#define BASE "https://t.example"
#define NOW 1800000000

static struct beacon_cfg cfg;
static struct token_keys *keys;
static struct milter_env env;
static char *tmpdir;

/* att_case - one message and what must be taken from it */
struct att_case {
	const char *name;	/* what it shows */
	long long min_size;	/* attachment_min_size */
	const char *body;	/* Content-Type header value, empty line, body (LF) */
	const char *taken;	/* names taken, '|'-separated; NULL: the parse refuses it */
	const char *gone;	/* a string the rewritten body no longer holds, or NULL */
};

#define ALT(b) "--" b "\nContent-Type: multipart/alternative; boundary=alt\n\n" \
	"--alt\nContent-Type: text/plain\n\nHello\n--alt\nContent-Type: text/html\n\n" \
	"<html><body><p>Hello</p></body></html>\n--alt--\n"
#define PDF(b, disp) "--" b "\nContent-Type: application/pdf\nContent-Disposition: " disp \
	"; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJSVFT0YK\n"
#define ZIP(b) "--" b "\nContent-Type: application/zip; name=data.zip\n" \
	"Content-Disposition: attachment\n\nPK-ZIP-BYTES\n"

static const struct att_case cases[] = {
	{ "pdf and zip taken", 0, "multipart/mixed; boundary=m\n\n" ALT("m") PDF("m", "attachment")
	  ZIP("m") "--m--\n", "report.pdf|data.zip", "PK-ZIP-BYTES" },
	{ "inline cid image kept", 0, "multipart/mixed; boundary=m\n\n--m\n"
	  "Content-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n"
	  "<html><body><img src=\"cid:logo%40x\"></body></html>\n--r\nContent-Type: image/png\n"
	  "Content-ID: <logo@x>\nContent-Disposition: inline; filename=logo.png\n\nPNGDATA\n"
	  "--r\nContent-Type: image/gif\nContent-ID: <spare@x>\n\nGIFDATA\n--r--\n"
	  PDF("m", "attachment") "--m--\n", "attachment-1|report.pdf", "GIFDATA" },
	{ "cid image without disposition kept", 0, "multipart/related; boundary=r\n\n--r\n"
	  "Content-Type: text/html\n\n<img src='CID:Logo@X'>\n--r\nContent-Type: image/png\n"
	  "Content-ID: <logo@x>\n\nPNGDATA\n--r--\n", "", NULL },
	{ "signed message untouched", 0, "multipart/signed; protocol=\"application/pgp-signature\"; "
	  "boundary=s\n\n--s\nContent-Type: multipart/mixed; boundary=m\n\n" ALT("m")
	  PDF("m", "attachment") "--m--\n--s\nContent-Type: application/pgp-signature\n\nsig\n"
	  "--s--\n", NULL, NULL },
	{ "signed part inside untouched", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: application/pkcs7-mime; name=smime.p7m\n"
	  "Content-Disposition: attachment\n\nxx\n--m--\n", NULL, NULL },
	{ "text/plain attachment taken, text body kept", 0, "multipart/mixed; boundary=m\n\n"
	  ALT("m") "--m\nContent-Type: text/plain; charset=utf-8\n"
	  "Content-Disposition: attachment; filename=notes.txt\n\nNOTES-TEXT\n--m--\n",
	  "notes.txt", "NOTES-TEXT" },
	{ "nested mixed inside alternative", 0, "multipart/alternative; boundary=a\n\n--a\n"
	  "Content-Type: text/plain\n\nHello\n--a\nContent-Type: multipart/mixed; boundary=m\n\n"
	  "--m\nContent-Type: text/html\n\n<p>Hello</p>\n" PDF("m", "attachment") "--m--\n--a--\n",
	  "report.pdf", "JVBERi0" },
	{ "inline pdf kept", 0, "multipart/mixed; boundary=m\n\n" ALT("m") PDF("m", "inline")
	  "--m--\n", "", NULL },
	{ "bare octet-stream taken, named", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: application/octet-stream\n\nBLOB\n--m--\n", "attachment-1", "BLOB" },
	{ "under attachment_min_size kept", 13, "multipart/mixed; boundary=m\n\n" ALT("m")
	  PDF("m", "attachment") ZIP("m") "--m--\n", "report.pdf", "JVBERi0" },
	{ "emptied multipart goes whole", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: multipart/mixed; boundary=inner\n\n" PDF("inner", "attachment")
	  ZIP("inner") "--inner--\n--m--\n", "report.pdf|data.zip", "boundary=inner" },
	{ "names sanitised", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: application/x-evil\nContent-Disposition: attachment; "
	  "filename*=UTF-8''..%2F..%2Fetc%2Fpass%01wd%E2%80%AEfdp.exe\n\nX\n--m--\n",
	  "passwdfdp.exe", NULL },
	{ "unknown disposition on the HTML body: rewritten, no candidate", 0,
	  "multipart/mixed; boundary=m\n\n--m\nContent-Type: text/html\nContent-Disposition: foo\n\n"
	  "<p>Hi</p>\n" PDF("m", "attachment") "--m--\n", "report.pdf", "JVBERi0" },
	{ "x-uuencode and unknown encodings stay", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
	  "filename=uu.bin\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 uu.bin\n"
	  "#86)C\n`\nend\n--m\nContent-Type: application/octet-stream\n"
	  "Content-Disposition: attachment; filename=foo.bin\nContent-Transfer-Encoding: x-foo\n\n"
	  "FOOBYTES\n" PDF("m", "attachment") "--m--\n", "report.pdf", "JVBERi0" },
	{ "unknown disposition is an attachment", 0, "multipart/mixed; boundary=m\n\n" ALT("m")
	  "--m\nContent-Type: text/csv\nContent-Disposition: x-weird; filename=a.csv\n\n1,2\n--m--\n",
	  "a.csv", NULL },
};

/* crlf - S (LF) as CRLF, in a new array */
static GByteArray *crlf(const char *s)
{
	GByteArray *t = g_byte_array_new();

	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			g_byte_array_append(t, (const guint8 *)"\r", 1);
		g_byte_array_append(t, (const guint8 *)p, 1);
	}
	return t;
}

/* taken_names - the names of the taken parts, '|'-separated */
static char *taken_names(const struct mime_doc *d)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		if (a->taken)
			g_string_append_printf(s, "%s%s", s->len ? "|" : "", a->name);
	}
	return g_string_free(s, FALSE);
}

/* test_cases - which parts are taken, and the message without them still parses */
static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct att_case *c = &cases[i];
		char *src = g_strdup_printf("Subject: t\nMIME-Version: 1.0\nContent-Type: %s", c->body);
		GByteArray *t = crlf(src);
		size_t off = (size_t)((const guint8 *)memmem(t->data, t->len, "\r\n\r\n", 4) - t->data) + 4;
		char why[160] = "", *names;
		struct mime_doc *d = mime_doc_parse(t, off, why, sizeof(why));
		struct html_rewrite_opts o = { .download_html = "<p>BLOCK</p>",
					       .download_text = "Download x (1 byte): URL\n" };
		struct mime_render r;

		if (!c->taken) {
			if (d)
				fail_msg("%s: parsed", c->name);
			g_byte_array_free(t, TRUE);
			g_free(src);
			continue;
		}
		if (!d)
			fail_msg("%s: %s", c->name, why);
		attach_plan(d, c->min_size);
		names = taken_names(d);
		if (strcmp(names, c->taken) != 0)
			fail_msg("%s: taken '%s', expected '%s'", c->name, names, c->taken);
		if (mime_doc_render(d, &o, &r, why, sizeof(why)) < 0)
			fail_msg("%s: render: %s", c->name, why);
		if (d->ntaken > 0) {
			GByteArray *again = g_byte_array_new();
			struct mime_doc *d2;
			guint kept = d->atts->len - (guint)d->ntaken, left = 0;

			g_byte_array_append(again, t->data, (guint)off);
			g_byte_array_append(again, r.body->data, r.body->len);
			if (c->gone && memmem(r.body->data, r.body->len, c->gone, strlen(c->gone)))
				fail_msg("%s: '%s' still in\n%.*s", c->name, c->gone, (int)r.body->len,
					 r.body->data);
			assert_non_null(memmem(r.body->data, r.body->len, "<p>BLOCK</p>", 12));
			if (d->texts->len && !memmem(r.body->data, r.body->len, "\r\n\r\nDownload x (1 byte): URL\r\n", 29))
				fail_msg("%s: no download line in\n%.*s", c->name, (int)r.body->len, r.body->data);
			d2 = mime_doc_parse(again, off, why, sizeof(why));
			if (!d2)
				fail_msg("%s: rewritten message does not parse: %s", c->name, why);
			left = d2->atts->len;
			if (left != kept)
				fail_msg("%s: %u candidates left, expected %u:\n%.*s", c->name, left, kept,
					 (int)r.body->len, r.body->data);
			assert_int_equal(d2->parts->len, d->parts->len);
			mime_doc_free(d2);
			g_byte_array_free(again, TRUE);
		} else if (r.body->len != t->len - off || memcmp(r.body->data, t->data + off, r.body->len)) {
			fail_msg("%s: nothing taken, yet the body changed", c->name);
		}
		mime_render_clear(&r);
		g_free(names);
		mime_doc_free(d);
		g_byte_array_free(t, TRUE);
		g_free(src);
	}
}

/* parse_lf - the message SRC (LF) as CRLF, parsed; *T and *OFF for the caller */
static struct mime_doc *parse_lf(const char *src, GByteArray **t, size_t *off)
{
	char why[160] = "";
	struct mime_doc *d;

	*t = crlf(src);
	*off = (size_t)((const guint8 *)memmem((*t)->data, (*t)->len, "\r\n\r\n", 4) - (*t)->data) + 4;
	d = mime_doc_parse(*t, *off, why, sizeof(why));
	if (!d)
		fail_msg("parse: %s", why);
	return d;
}

/* sha_hex - hex SHA-256 of S[0..LEN) */
static void sha_hex(const void *s, size_t len, char hex[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, s, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/* test_decoded - the bytes stored are the decoded content: base64 and quoted-printable taken
 * and hashed as decoded; x-uuencode and x-foo parts stay in the message */
static void test_decoded(void **state)
{
	static const char pdf[] = "%PDF-1.4\n%%EOF\n", qp[] = "A=B caf\xc3\xa9 end";
	GByteArray *t;
	size_t off;
	struct mime_doc *d = parse_lf("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=m\n\n"
		ALT("m") PDF("m", "attachment")
		"--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
		"filename=qp.bin\nContent-Transfer-Encoding: quoted-printable\n\nA=3DB caf=C3=A9=\n end\n"
		"--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
		"filename=uu.bin\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 uu.bin\n"
		"#86)C\n`\nend\n"
		"--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
		"filename=foo.bin\nContent-Transfer-Encoding: X-Foo\n\nFOOBYTES\n--m--\n", &t, &off);
	char want[65], *names;

	(void)state;
	assert_int_equal(attach_plan(d, 0), 2);
	names = taken_names(d);
	assert_string_equal(names, "report.pdf|qp.bin");
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		if (!a->taken)
			continue;
		if (a->n == 1)
			sha_hex(pdf, strlen(pdf), want);
		else
			sha_hex(qp, strlen(qp), want);
		assert_string_equal(a->sha256, want);
	}
	g_free(names);
	mime_doc_free(d);
	g_byte_array_free(t, TRUE);
}

/* test_texts_only_for_links - without MIME_PARSE_TEXTS (attachments = keep) no text/plain part
 * is located, so a quoted PGP key in one does not keep the message from being tracked */
static void test_texts_only_for_links(void **state)
{
	GByteArray *t = crlf("MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=a\n\n"
		"--a\nContent-Type: text/plain\n\nmy key:\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n"
		"--a\nContent-Type: text/html\n\n<p>Hi</p>\n--a--\n");
	size_t off = (size_t)((const guint8 *)memmem(t->data, t->len, "\r\n\r\n", 4) - t->data) + 4;
	char why[160] = "";
	struct mime_doc *d = mime_doc_parse_with(t, off, 0, why, sizeof(why));

	(void)state;
	if (!d)
		fail_msg("attachments = keep: not parsed: %s", why);
	assert_int_equal(d->texts->len, 0);
	assert_int_equal(d->parts->len, 1);
	mime_doc_free(d);
	g_byte_array_free(t, TRUE);
}

/* test_sizes - sizes for people */
static void test_sizes(void **state)
{
	static const struct { long long n; const char *s; } v[] = {
		{ 0, "0 bytes" }, { 1, "1 byte" }, { 1023, "1023 bytes" }, { 1024, "1.0 KB" },
		{ 142 * 1024 + 512, "142.5 KB" }, { 3 * 1024 * 1024, "3.0 MB" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		char *s = attach_size_str(v[i].n);
		assert_string_equal(s, v[i].s);
		g_free(s);
	}
}

/* fixture - tests/fixtures/attach/NAME under BEACON_SRC */
static char *fixture(const char *name)
{
	const char *src = getenv("BEACON_SRC");
	return g_strdup_printf("%s/tests/fixtures/attach/%s", src ? src : ".", name);
}

/* load_ctx - the message of FIXTURE as the callbacks fill a context, to RCPT */
static struct conn_ctx *load_ctx(const char *name, const char *rcpt)
{
	char *path = fixture(name), *data = NULL, *body, **lines;
	struct conn_ctx *cc = conn_new();
	GByteArray *b;

	if (!g_file_get_contents(path, &data, NULL, NULL))
		fail_msg("cannot read %s", path);
	body = strstr(data, "\n\n");
	*body = '\0';
	body += 2;
	msg_begin(cc, "<sender@sender.example>", NULL);
	cc->msg->trusted = 1;
	msg_set_queue_id(cc->msg, "QATTACH");
	msg_add_rcpt(cc->msg, rcpt, NULL);
	lines = g_strsplit(data, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		char *colon = strchr(lines[i], ':');
		char *hn = g_strndup(lines[i], (gsize)(colon - lines[i]));
		msg_add_header(cc->msg, hn, colon + 2, 0);
		g_free(hn);
	}
	msg_end_headers(cc->msg);
	b = crlf(body);
	msg_add_body(cc->msg, b->data, b->len, 0);
	g_byte_array_free(b, TRUE);
	g_strfreev(lines);
	g_free(data);
	g_free(path);
	return cc;
}

/* sha_file - hex SHA-256 of fixture NAME */
static void sha_file(const char *name, char hex[65])
{
	char *path = fixture(name), *data = NULL;
	gsize len = 0;
	uint8_t h[crypto_hash_sha256_BYTES];

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	crypto_hash_sha256(h, (const uint8_t *)data, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	g_free(data);
	g_free(path);
}

/* check_golden - BODY (CRLF) against two_files.out (LF) */
static void check_golden(const GByteArray *body)
{
	char *path = fixture("two_files.out"), *want = NULL;
	GString *got = g_string_new(NULL);
	gsize wlen = 0;

	for (guint i = 0; i < body->len; i++)
		if (!(body->data[i] == '\r' && i + 1 < body->len && body->data[i + 1] == '\n'))
			g_string_append_c(got, (char)body->data[i]);
	if (getenv("BEACON_GOLDEN_UPDATE")) {
		assert_true(g_file_set_contents(path, got->str, (gssize)got->len, NULL));
	} else {
		if (!g_file_get_contents(path, &want, &wlen, NULL))
			fail_msg("no golden file %s (BEACON_GOLDEN_UPDATE=1 writes it)", path);
		if (wlen != got->len || memcmp(want, got->str, wlen) != 0)
			fail_msg("output differs from %s:\n%s", path, got->str);
	}
	g_free(want);
	g_free(path);
	g_string_free(got, TRUE);
}

/* test_golden - the whole rewrite, deterministic; the store it leaves */
static void test_golden(void **state)
{
	struct track_opts opts = { 1, NULL, NULL, NULL, NULL, NOW };
	struct conn_ctx *cc = load_ctx("two_files.eml", "<reader@remote.example>");
	char pdf[65], zip[65], *p, *man = NULL, *want, *text, *px, *tok, rid[33];
	struct track_out out;
	struct stat st1, st2;
	struct token t;

	(void)state;
	sha_file("q3.pdf", pdf);
	sha_file("numbers.zip", zip);
	track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
	if (out.verdict != TRACK_REWRITTEN)
		fail_msg("not rewritten: %s", out.reason);
	assert_true(out.remove_tag);
	check_golden(out.body);
	/* the token of the pixel names the manifest */
	text = g_strndup((const char *)out.body->data, out.body->len);
	px = strstr(text, BASE "/o/");
	assert_non_null(px);
	tok = g_strndup(px + strlen(BASE "/o/"), TOKEN_STR_LEN);
	g_free(text);
	assert_int_equal(token_parse(keys, tok, TOKEN_STR_LEN, &t), TOKEN_OK);
	sodium_bin2hex(rid, sizeof(rid), t.rid, sizeof(t.rid));
	p = g_strdup_printf("%s/t/%s", tmpdir, rid);
	assert_true(g_file_get_contents(p, &man, NULL, NULL));
	want = g_strdup_printf("1\t%s\t142\t%d\tapplication/pdf\tQ3%%20report.pdf\n"
			       "2\t%s\t132\t%d\tapplication/zip\tZahlen%%20f%%C3%%BCr%%20%%3Cdich%%3E.zip\n",
			       pdf, NOW + 30 * 86400, zip, NOW + 30 * 86400);
	assert_string_equal(man, want);
	assert_int_equal(stat(p, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0640);
	g_free(p);
	/* each content once, under its SHA-256, mode 0640 */
	p = g_strdup_printf("%s/%.2s/%s", tmpdir, pdf, pdf);
	assert_int_equal(stat(p, &st1), 0);
	assert_int_equal(st1.st_size, 142);
	assert_int_equal(st1.st_mode & 0777, 0640);
	track_out_clear(&out);
	conn_free(cc);
	/* the same message again: the content file is reused, not written again */
	cc = load_ctx("two_files.eml", "<reader@remote.example>");
	track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	track_out_clear(&out);
	conn_free(cc);
	g_free(p);
	g_free(man);
	g_free(want);
	g_free(tok);
}

/* test_store_fails - an attachment_dir that cannot be written: the message as it came */
static void test_store_fails(void **state)
{
	struct track_opts opts = { 1, NULL, NULL, NULL, NULL, NOW };
	struct conn_ctx *cc = load_ctx("two_files.eml", "<other@remote.example>");
	char *file = g_strdup_printf("%s/not-a-dir", tmpdir), *old = cfg.milter.attachment_dir;
	struct track_out out;

	(void)state;
	assert_true(g_file_set_contents(file, "x", 1, NULL));
	cfg.milter.attachment_dir = file;
	track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
	cfg.milter.attachment_dir = old;
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_false(out.remove_tag);
	assert_null(out.body);
	assert_null(out.delrcpts);
	if (!strstr(out.reason, "attachments not stored: mkdir"))
		fail_msg("reason: %s", out.reason);
	track_out_clear(&out);
	conn_free(cc);
	g_free(file);
}

/* refused_as_came - two_files.eml goes out as it came, REASON in the reason */
static void refused_as_came(const char *rcpt, const char *reason)
{
	struct track_opts opts = { 1, NULL, NULL, NULL, NULL, NOW };
	struct conn_ctx *cc = load_ctx("two_files.eml", rcpt);
	struct track_out out;

	track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_false(out.remove_tag);
	assert_null(out.body);
	if (!strstr(out.reason, reason))
		fail_msg("reason: %s", out.reason);
	track_out_clear(&out);
	conn_free(cc);
}

/* test_max_count - more candidates than attachment_max_count: sent as it came */
static void test_max_count(void **state)
{
	(void)state;
	cfg.milter.attachment_max_count = 2;
	refused_as_came("<count@remote.example>", "attachment_max_count is 2");
	cfg.milter.attachment_max_count = 100;
}

/* test_min_free - a store short of attachment_min_free: sent as it came */
static void test_min_free(void **state)
{
	long long old = cfg.milter.attachment_min_free;

	(void)state;
	cfg.milter.attachment_min_free = 1LL << 60;
	refused_as_came("<free@remote.example>", "attachment_min_free");
	cfg.milter.attachment_min_free = old;
}

/* test_manifest_max - a manifest over ATTACH_MANIFEST_MAX is never written, nor any content */
static void test_manifest_max(void **state)
{
	GString *src = g_string_new("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=m\n\n"
				    ALT("m"));
	char why[200] = "", *dir = g_strdup_printf("%s/big", tmpdir), *p;
	uint8_t rid[1][TOKEN_RID_LEN] = { { 1 } };
	struct attach_undo *u = (struct attach_undo *)1;
	struct mime_doc *d;
	GByteArray *t;
	size_t off;
	int n;

	(void)state;
	/* 400 names of 200 octets, 600 characters once percent-encoded */
	for (int i = 0; i < 400; i++) {
		g_string_append_printf(src, "--m\nContent-Type: application/octet-stream\n"
				       "Content-Disposition: attachment; filename*=UTF-8''%03d", i);
		for (int k = 0; k < 98; k++)
			g_string_append(src, "%C3%A4");
		g_string_append_printf(src, "\n\nBLOB-%d\n", i);
	}
	g_string_append(src, "--m--\n");
	d = parse_lf(src->str, &t, &off);
	n = attach_plan(d, 0);
	assert_int_equal(n, 400);
	assert_int_equal(attach_store_put(dir, d, (const uint8_t (*)[TOKEN_RID_LEN])rid, 1, NOW, 0, &u,
					  why, sizeof(why)), -1);
	assert_null(u);
	if (!strstr(why, "manifest"))
		fail_msg("why: %s", why);
	p = g_strdup_printf("%s/t", dir);
	assert_int_not_equal(access(p, F_OK), 0);
	g_free(p);
	mime_doc_free(d);
	g_byte_array_free(t, TRUE);
	g_string_free(src, TRUE);
	g_free(dir);
}

/* test_lock - the store's lock file is made 0640; while beaconctl holds it exclusively the
 * store is refused (sent as it came) after a bounded wait; a symbolic link is never followed */
static void test_lock(void **state)
{
	char *lock = g_strdup_printf("%s/.lock", tmpdir), *target = g_strdup_printf("%s/elsewhere", tmpdir);
	struct stat st;
	time_t t0;
	int fd;

	(void)state;
	unlink(lock);
	{
		struct track_opts opts = { 1, NULL, NULL, NULL, NULL, NOW };
		struct conn_ctx *cc = load_ctx("two_files.eml", "<lock1@remote.example>");
		struct track_out out;
		track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
		assert_int_equal(out.verdict, TRACK_REWRITTEN);
		track_out_clear(&out);
		conn_free(cc);
	}
	assert_int_equal(lstat(lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	/* beaconctl's side: LOCK_EX on its own open file description */
	fd = open(lock, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	t0 = time(NULL);
	refused_as_came("<lock2@remote.example>", "held by beaconctl");
	assert_true(time(NULL) - t0 >= 4);
	close(fd);
	/* a symbolic link in its place */
	unlink(lock);
	assert_int_equal(symlink(target, lock), 0);
	refused_as_came("<lock3@remote.example>", ".lock");
	assert_int_not_equal(access(target, F_OK), 0);
	unlink(lock);
	g_free(lock);
	g_free(target);
}

/* test_keep - attachments = keep (the default): the attachments stay */
static void test_keep(void **state)
{
	struct track_opts opts = { 1, NULL, NULL, NULL, NULL, NOW };
	struct conn_ctx *cc = load_ctx("two_files.eml", "<keep@remote.example>");
	struct track_out out;
	char *x;

	(void)state;
	/* the tag header of the fixture asks for links: ask for keep instead */
	for (guint i = 0; i < cc->msg->headers->len; i++) {
		struct msg_header *h = g_ptr_array_index(cc->msg->headers, i);
		if (g_ascii_strcasecmp(h->name, "X-Beacon") == 0) {
			g_free(h->value);
			h->value = g_strdup("track; attachments=keep");
		}
	}
	track_message_with(&env, cc->msg, "192.0.2.1", &opts, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	x = g_strndup((const char *)out.body->data, out.body->len);
	assert_non_null(strstr(x, "filename=\"Q3 report.pdf\""));
	assert_null(strstr(x, BASE "/d/"));
	g_free(x);
	track_out_clear(&out);
	conn_free(cc);
}

/* test_cids - every cid: URL of the HTML, in any case, %-decoded, in order; a
 * "cid:" inside another's URL is part of it; ':' at the very start, at the end */
static void test_cids(void **state)
{
	static const struct {
		const char *html;
		const char *want;	/* the URLs joined by '|' */
	} t[] = {
		{ "<img src=\"cid:logo@x\">", "logo@x" },
		{ "<img src='CID:A%40b'><img src=Cid:two>", "A@b|two" },
		{ "cid:abccid:x y", "abccid:x" },
		{ ":cid:first", "first" },
		{ "id:x ci:y d:z :: c:d", "" },
		{ "acid:z", "z" },
		{ "http://a:b/cid", "" },
		{ "cid:", "" },
		{ "x cid:", "" },
		{ "cid", "" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		GPtrArray *cids = g_ptr_array_new_with_free_func(g_free);
		size_t n = strlen(t[i].html);
		guint8 *html = g_memdup2(t[i].html, n ? n : 1);	/* exact size: ASan sees a read past it */
		GString *got = g_string_new(NULL);

		attach_cids(cids, html, n);
		for (guint k = 0; k < cids->len; k++)
			g_string_append_printf(got, "%s%s", k ? "|" : "", (char *)cids->pdata[k]);
		if (strcmp(got->str, t[i].want) != 0)
			fail_msg("attach_cids(\"%s\") = \"%s\", want \"%s\"", t[i].html, got->str, t[i].want);
		g_string_free(got, TRUE);
		g_free(html);
		g_ptr_array_free(cids, TRUE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cids),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_store_fails),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_decoded),
		cmocka_unit_test(test_texts_only_for_links),
		cmocka_unit_test(test_max_count),
		cmocka_unit_test(test_min_free),
		cmocka_unit_test(test_manifest_max),
		cmocka_unit_test(test_lock),
	};
	uint8_t key[TOKEN_KEY_LEN];
	char tmpl[] = "/tmp/beacon-attach-XXXXXX";
	char *cmd;
	int rc;

	g_mime_init();
	assert_int_equal(token_init(), 0);
	tmpdir = mkdtemp(tmpl);
	assert_non_null(tmpdir);
	cfg_defaults(&cfg);
	free(cfg.global.base_url);
	cfg.global.base_url = strdup(BASE);
	free(cfg.milter.attachment_dir);
	cfg.milter.attachment_dir = strdup(tmpdir);
	cfg.milter.per_recipient = CFG_PER_RCPT_SHARED;
	keys = token_keys_new();
	memset(key, 5, sizeof(key));
	token_keys_add(keys, 2, key);
	env = (struct milter_env){ &cfg, keys, BASE "/p.gif", NULL, NULL, NULL, NULL };
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cfg_free(&cfg);
	token_keys_free(keys);
	g_mime_shutdown();
	cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	g_free(cmd);
	return rc;
}
