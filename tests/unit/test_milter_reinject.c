/*
 * test_milter_reinject.c - unit tests of the SMTP client for split copies
 * (milter/reinject.c) against a real listener on 127.0.0.1 (smtp_fake.h).
 *
 * DESCRIPTION
 *	Checks the listener syntax, dot-stuffing and line ends, the MAIL and
 *	RCPT arguments a copy carries (SIZE, BODY=8BITMIME, SMTPUTF8, DSN's
 *	RET/ENVID/NOTIFY/ORCPT, and that they are dropped when the listener
 *	does not announce DSN), that a refused RCPT leaves the session usable
 *	for the next copy, and that an unreachable, silent or vanishing
 *	listener fails within the timeout.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "reinject.h"
#include "smtp_fake.h"

/* test_parse - listener specs */
static void test_parse(void **state)
{
	static const struct { const char *spec; const char *host; int port; } ok[] = {
		{ "inet:10026@127.0.0.1", "127.0.0.1", 10026 },
		{ "inet6:2525@[::1]", "::1", 2525 },
		{ "inet6:2525@::1", "::1", 2525 },
		{ "127.0.0.1:10026", "127.0.0.1", 10026 },
		{ "localhost:25", "localhost", 25 },
		{ "[::1]:10026", "::1", 10026 },
	};
	static const char *bad[] = { "", "inet:10026", "inet:x@127.0.0.1", "127.0.0.1",
				     "127.0.0.1:0", "127.0.0.1:70000", "::1:25", "unix:/x", "[::1]" };
	char err[256], *host;
	guint16 port;
	(void)state;

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		if (reinject_parse(ok[i].spec, &host, &port, err, sizeof(err)) != 0)
			fail_msg("%s: %s", ok[i].spec, err);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		g_free(host);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		if (reinject_parse(bad[i], &host, &port, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(host);
		assert_non_null(strstr(err, "reinject"));
	}
}

/* test_dot_stuff - CRLF everywhere, leading dots doubled, a last line end added */
static void test_dot_stuff(void **state)
{
	static const struct { const char *in, *out; size_t plain; } cases[] = {
		{ "a\r\nb\r\n", "a\r\nb\r\n", 6 },
		{ "a\nb", "a\r\nb\r\n", 6 },
		{ ".\r\n..x\n.y", "..\r\n...x\r\n..y\r\n", 12 },
		{ "\n\n", "\r\n\r\n", 4 },
		{ "", "", 0 },
		{ "x.\r\n.", "x.\r\n..\r\n", 7 },
	};
	(void)state;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GByteArray *out = g_byte_array_new();
		size_t plain = reinject_dot_stuff(out, (const guint8 *)cases[i].in, strlen(cases[i].in));
		assert_int_equal(out->len, strlen(cases[i].out));
		assert_memory_equal(out->data, cases[i].out, out->len);
		assert_int_equal(plain, cases[i].plain);
		g_byte_array_free(out, TRUE);
	}
}

/* msg_text - a GByteArray of S */
static GByteArray *msg_text(const char *s)
{
	GByteArray *b = g_byte_array_new();

	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
	return b;
}

/* test_send_dsn - arguments with a listener that announces everything */
static void test_send_dsn(void **state)
{
	struct smtp_fake *f = fake_start("SIZE 10000000\n8BITMIME\nSMTPUTF8\nDSN\nPIPELINING\n"
					 "XFORWARD NAME ADDR PROTO HELO");
	char *mail_args[] = { "SIZE=999", "BODY=8BITMIME", "RET=HDRS", "ENVID=QQ+2Bx",
			      "AUTH=<>", NULL };
	char *r1[] = { "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a@example.org", NULL };
	struct reinject_rcpt rc[] = { { "a@example.org", r1 }, { "b@example.org", NULL } };
	GByteArray *text = msg_text("Subject: hi\r\n\r\n.leading dot\nline\r\n");
	struct reinject_msg msg = { .sender = "s@example.com", .mail_args = mail_args,
				    .rcpts = rc, .nrcpts = 2, .text = text };
	struct fake_txn *t;
	char err[512];
	struct reinject *r;
	(void)state;

	msg.client_name = "client.example";
	msg.client_addr = "192.0.2.7";
	msg.helo = "my host+x=y";
	msg.ident = "4F2A31C0D2";
	r = reinject_open(f->spec, 5, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_OK);
	reinject_close(r);
	assert_int_equal(fake_count(f), 1);
	/* the original client, xtext-encoded, before MAIL FROM */
	assert_string_equal(g_ptr_array_index(f->lines, 1), "XFORWARD NAME=client.example "
			    "ADDR=192.0.2.7 HELO=my+20host+2Bx+3Dy IDENT=4F2A31C0D2");
	assert_true(g_str_has_prefix(g_ptr_array_index(f->lines, 2), "MAIL FROM:"));
	t = g_ptr_array_index(f->txns, 0);
	/* SIZE is the copy's own; BODY kept; AUTH dropped */
	assert_string_equal(t->mail, "MAIL FROM:<s@example.com> SIZE=35 BODY=8BITMIME RET=HDRS "
			    "ENVID=QQ+2Bx");
	assert_int_equal(t->rcpts->len, 2);
	assert_string_equal(g_ptr_array_index(t->rcpts, 0),
			    "RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.org");
	assert_string_equal(g_ptr_array_index(t->rcpts, 1), "RCPT TO:<b@example.org>");
	assert_int_equal(t->text->len, 35);
	assert_memory_equal(t->text->data, "Subject: hi\r\n\r\n.leading dot\r\nline\r\n", 35);
	/* the session ended with QUIT */
	assert_string_equal(g_ptr_array_index(f->lines, f->lines->len - 1), "QUIT");
	g_byte_array_free(text, TRUE);
	fake_stop(f);
}

/* test_send_plain - no extensions: no arguments; 8-bit text still goes; SMTPUTF8 needed fails */
static void test_send_plain(void **state)
{
	struct smtp_fake *f = fake_start("");
	char *mail_args[] = { "RET=FULL", "SMTPUTF8", NULL };
	char *r1[] = { "NOTIFY=NEVER", NULL };
	struct reinject_rcpt rc[] = { { "a@example.org", r1 } };
	GByteArray *text = msg_text("Subject: caf\xc3\xa9\r\n\r\nbody\r\n");
	struct reinject_msg msg = { .sender = "", .mail_args = NULL,
				    .rcpts = rc, .nrcpts = 1, .text = text };
	struct fake_txn *t;
	char err[512];
	struct reinject *r;
	(void)state;

	r = reinject_open(f->spec, 5, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_OK);
	/* a line break in the envelope never reaches the listener */
	rc[0].addr = "a@example.org>\r\nRCPT TO:<evil@example.org";
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_REFUSED);
	assert_non_null(strstr(err, "line break"));
	rc[0].addr = "a@example.org";
	/* the original said SMTPUTF8: a listener without it cannot take the copy */
	msg.mail_args = mail_args;
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_REFUSED);
	assert_non_null(strstr(err, "SMTPUTF8"));
	reinject_close(r);
	assert_int_equal(fake_count(f), 1);
	t = g_ptr_array_index(f->txns, 0);
	assert_string_equal(t->mail, "MAIL FROM:<>");
	/* no XFORWARD announced: none sent */
	for (guint i = 0; i < f->lines->len; i++)
		assert_false(g_str_has_prefix(g_ptr_array_index(f->lines, i), "XFORWARD"));
	assert_string_equal(g_ptr_array_index(t->rcpts, 0), "RCPT TO:<a@example.org>");
	g_byte_array_free(text, TRUE);
	fake_stop(f);
}

/* test_send_8bit - 8-bit text gets BODY=8BITMIME; a non-ASCII address SMTPUTF8 */
static void test_send_8bit(void **state)
{
	struct smtp_fake *f = fake_start("8BITMIME\nSMTPUTF8");
	struct reinject_rcpt rc[] = { { "j\xc3\xb6rg@example.org", NULL } };
	GByteArray *text = msg_text("Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n");
	struct reinject_msg msg = { .sender = "s@example.com", .mail_args = NULL,
				    .rcpts = rc, .nrcpts = 1, .text = text };
	struct fake_txn *t;
	char err[512];
	struct reinject *r;
	(void)state;

	r = reinject_open(f->spec, 5, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_OK);
	reinject_close(r);
	t = g_ptr_array_index(f->txns, 0);
	assert_string_equal(t->mail, "MAIL FROM:<s@example.com> BODY=8BITMIME SMTPUTF8");
	g_byte_array_free(text, TRUE);
	fake_stop(f);
}

/* test_refused - a refused RCPT resets the transaction; the next copy goes */
static void test_refused(void **state)
{
	struct smtp_fake *f = fake_start("DSN");
	struct reinject_rcpt a[] = { { "a@example.org", NULL } }, c[] = { { "c@example.org", NULL } };
	GByteArray *text = msg_text("Subject: x\r\n\r\nx\r\n");
	struct reinject_msg msg = { .sender = "s@example.com", .mail_args = NULL,
				    .rcpts = c, .nrcpts = 1, .text = text };
	char err[512];
	struct reinject *r;
	(void)state;

	f->refuse_rcpt = "c@example.org";
	f->refuse_nth = 3;
	r = reinject_open(f->spec, 5, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_REFUSED);
	assert_non_null(strstr(err, "RCPT TO:<c@example.org>: 550 5.1.1 no such user"));
	msg.rcpts = a;
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_OK);
	/* the third transaction is refused at the end of data */
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_REFUSED);
	assert_non_null(strstr(err, "end of data: 451 4.3.0 try later"));
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_OK);
	reinject_close(r);
	assert_int_equal(fake_count(f), 2);
	assert_int_equal(f->sessions, 1);
	g_byte_array_free(text, TRUE);
	fake_stop(f);
}

/* test_unreachable - nothing listens; silent; closes at DATA */
static void test_unreachable(void **state)
{
	struct smtp_fake *f = fake_start("");
	struct reinject_rcpt a[] = { { "a@example.org", NULL } };
	GByteArray *text = msg_text("Subject: x\r\n\r\nx\r\n");
	struct reinject_msg msg = { .sender = "s@example.com", .mail_args = NULL,
				    .rcpts = a, .nrcpts = 1, .text = text };
	char err[512], spec[64];
	struct reinject *r;
	gint64 t0;
	(void)state;

	/* a port nobody listens on: the fake's, once it is closed */
	g_strlcpy(spec, f->spec, sizeof(spec));
	fake_stop(f);
	assert_null(reinject_open(spec, 5, err, sizeof(err)));
	assert_non_null(strstr(err, "connect"));

	f = fake_start("");
	f->no_greeting = 1;
	t0 = clock_now_us();
	assert_null(reinject_open(f->spec, 1, err, sizeof(err)));
	assert_true(clock_now_us() - t0 < 3 * G_USEC_PER_SEC);
	assert_non_null(strstr(err, "greeting"));
	fake_stop(f);

	f = fake_start("");
	f->close_at_data = 1;
	r = reinject_open(f->spec, 5, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_BROKEN);
	assert_int_equal(reinject_send(r, &msg, err, sizeof(err)), REINJECT_BROKEN);
	reinject_close(r);
	reinject_close(NULL);
	g_byte_array_free(text, TRUE);
	fake_stop(f);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_dot_stuff),
		cmocka_unit_test(test_send_dsn),
		cmocka_unit_test(test_send_plain),
		cmocka_unit_test(test_send_8bit),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
