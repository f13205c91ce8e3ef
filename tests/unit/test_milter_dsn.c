/*
 * test_milter_dsn.c - milter/dsn.c against the reports in tests/fixtures/dsn.
 *
 * DESCRIPTION
 *	Each fixture (described in tests/fixtures/dsn/README) is read as the
 *	MTA hands it to the milter (CRLF line ends) and parsed with the base
 *	URL https://t.example.com.  The table says, per fixture, the form,
 *	the returned Message-ID, the tokens found and, per recipient, the
 *	address, the action, the exact status, whether it is a bounce and a
 *	hard one, and a piece of the diagnostic.  A message that is no report
 *	must be refused; so must damaged and truncated reports without a
 *	recipient (every prefix of every fixture is parsed, which must never
 *	crash or leak).
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

#include "bounce.h"
#include "cfg.h"
#include "dsn.h"

#define BASE "https://t.example.com"
#define T1 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob"
#define T2 "ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5_"

/* want_rcpt - one expected recipient */
struct want_rcpt {
	const char *final;	/* address in its one form, or NULL */
	const char *original;	/* Original-Recipient, or NULL */
	const char *action;	/* lower-case action */
	const char *status;	/* exact status */
	int bounce, hard;	/* expected flags */
	const char *diag;	/* a substring of the diagnostic ("" for any) */
};

/* dsn_case - one fixture and what the parser must find */
struct dsn_case {
	const char *name;		/* tests/fixtures/dsn/NAME.eml */
	enum dsn_form form;		/* DSN_FORM_NONE: must be refused */
	const char *message_id;		/* returned Message-ID, or NULL */
	const char *tokens[3];		/* tokens in order, NULL-terminated */
	struct want_rcpt rcpts[5];	/* ends at final == NULL && action == NULL */
};

static const struct dsn_case cases[] = {
	{ "postfix_hard", DSN_FORM_RFC3464, "spring-1@sender.example", { T1 },
	  { { "gone@remote.example", "gone@remote.example", "failed", "5.1.1", 1, 1,
	      "550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown" } } },
	{ "rfc3464_delayed_headers", DSN_FORM_RFC3464, "spring-2@sender.example", { T2 },
	  { { "slow@busy.example", NULL, "delayed", "4.4.1", 1, 0, "421 4.4.1 Connection timed out" } } },
	{ "rfc3464_multi", DSN_FORM_RFC3464, "spring-3@sender.example", { NULL },
	  { { "ok@gw.example.org", NULL, "delivered", "2.0.0", 0, 0, "" },
	    { "full@gw.example.org", NULL, "failed", "4.2.2", 1, 0, "mailbox full" },
	    { "nobody@gw.example.org", NULL, "failed", "5.1.1", 1, 1, "550-5.1.1 The email account" },
	    { NULL, NULL, "failed", "5.0.0", 1, 1, "" } } },
	{ "qmail", DSN_FORM_QMAIL, "spring-4@sender.example", { NULL },
	  { { "nouser@qmail-host.example", NULL, "failed", "5.1.1", 1, 1, "no mailbox here" },
	    { "over@qmail-host.example", NULL, "failed", "5.0.0", 1, 1,
	      "Remote host said: 552 sorry, mailbox over quota" } } },
	{ "yahoo_old", DSN_FORM_QMAIL, "spring-5@sender.example", { T1 },
	  { { "closed@yahoo.example", NULL, "failed", "5.0.0", 1, 1,
	      "554: delivery error: dd This user doesn't have" } } },
	{ "exim_failed", DSN_FORM_EXIM, "spring-6@sender.example", { NULL },
	  { { "missing@exim-host.example", NULL, "failed", "5.1.1", 1, 1,
	      "SMTP error from remote mail server after RCPT TO:<missing@exim-host.example>:" } } },
	{ "exim_delayed", DSN_FORM_EXIM, NULL, { NULL },
	  { { "greylist@slow.example", NULL, "delayed", "4.7.1", 1, 0, "Greylisted" } } },
	{ "exchange2003", DSN_FORM_EXCHANGE, "spring-7@sender.example", { T2 },
	  { { "left@corp-ex.example", NULL, "failed", "5.1.1", 1, 1,
	      "The e-mail account does not exist" } } },
	{ "exchange2007", DSN_FORM_EXCHANGE, "spring-8@sender.example", { NULL },
	  { { "quit@ex2007.example", NULL, "failed", "5.1.10", 1, 1,
	      "couldn't be found" } } },
	{ "vacation", DSN_FORM_NONE, NULL, { NULL }, { { NULL } } },
};

/* load - the fixture with CRLF line ends (as stored) */
static GByteArray *load(const char *name)
{
	const char *src = getenv("BEACON_SRC");
	char *path = g_strdup_printf("%s/tests/fixtures/dsn/%s.eml", src ? src : ".", name);
	char *data = NULL;
	gsize len = 0;
	GByteArray *b;

	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("cannot read %s", path);
	b = g_byte_array_new_take((guint8 *)data, len);
	g_free(path);
	return b;
}

/* check_case - parse one fixture and compare with the table */
static void check_case(const struct dsn_case *c)
{
	GByteArray *b = load(c->name);
	struct dsn d;
	int rc = dsn_parse((const char *)b->data, b->len, BASE, &d);
	guint n = 0;

	printf("# %s\n", c->name);
	if (c->form == DSN_FORM_NONE) {
		assert_int_equal(rc, -1);
		assert_null(d.rcpts);
		g_byte_array_free(b, TRUE);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(dsn_form_name(d.form), dsn_form_name(c->form));
	if (c->message_id)
		assert_string_equal(d.message_id, c->message_id);
	else
		assert_null(d.message_id);
	for (n = 0; c->tokens[n]; n++) {
		assert_true(n < d.tokens->len);
		assert_string_equal(d.tokens->pdata[n], c->tokens[n]);
	}
	assert_int_equal(d.tokens->len, n);
	for (n = 0; c->rcpts[n].final || c->rcpts[n].action; n++) {
		const struct want_rcpt *w = &c->rcpts[n];
		const struct dsn_rcpt *r;
		assert_true(n < d.rcpts->len);
		r = d.rcpts->pdata[n];
		if (w->final)
			assert_string_equal(r->final, w->final);
		else
			assert_null(r->final);
		if (w->original)
			assert_string_equal(r->original, w->original);
		else
			assert_null(r->original);
		assert_string_equal(r->action, w->action);
		assert_string_equal(r->status, w->status);
		assert_int_equal(r->bounce, w->bounce);
		assert_int_equal(r->hard, w->hard);
		if (!strstr(r->diagnostic, w->diag))
			fail_msg("%s rcpt %u: diagnostic \"%s\" lacks \"%s\"", c->name, n,
				 r->diagnostic, w->diag);
	}
	assert_int_equal(d.rcpts->len, n);
	dsn_clear(&d);
	g_byte_array_free(b, TRUE);
}

/* test_fixtures - every fixture as the table says */
static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		check_case(&cases[i]);
}

/* test_no_base - without a base URL no token is looked for */
static void test_no_base(void **state)
{
	GByteArray *b = load("postfix_hard");
	struct dsn d;

	(void)state;
	assert_int_equal(dsn_parse((const char *)b->data, b->len, NULL, &d), 0);
	assert_int_equal(d.tokens->len, 0);
	dsn_clear(&d);
	assert_int_equal(dsn_parse((const char *)b->data, b->len, "https://other.example", &d), 0);
	assert_int_equal(d.tokens->len, 0);
	dsn_clear(&d);
	g_byte_array_free(b, TRUE);
}

/* test_prefixes - every prefix of every fixture parses without harm; a cut report keeps
 * only what it holds */
static void test_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GByteArray *b = load(cases[i].name);
		for (guint n = 0; n <= b->len; n += 7) {
			struct dsn d;
			if (dsn_parse((const char *)b->data, n, BASE, &d) == 0) {
				assert_true(d.rcpts->len > 0);
				dsn_clear(&d);
			}
		}
		g_byte_array_free(b, TRUE);
	}
	assert_int_equal(dsn_parse(NULL, 0, BASE, &(struct dsn){ 0 }), -1);
}

/* test_status_forms - status codes from the diagnostic when Status is missing or invalid */
static void test_status_forms(void **state)
{
	static const struct {
		const char *status, *diag, *action, *want;
		int hard, reported;
	} t[] = {
		{ "5.1.1 (bad destination mailbox address)", "", "failed", "5.1.1", 1, 1 },
		{ "x.1.1", "smtp; 550 5.7.1 blocked", "failed", "5.7.1", 1, 1 },
		{ "", "smtp; 554 rejected", "failed", "5.0.0", 1, 0 },
		{ "", "smtp; 452 too many recipients", "failed", "4.0.0", 0, 0 },
		{ "", "", "delayed", "4.0.0", 0, 0 },
		{ "5.1.1", "", "delayed", "5.1.1", 0, 1 },
		{ "9.9.9", "no code here 12.3.4", "failed", "5.0.0", 1, 0 },
		{ "", "", "failed", "5.0.0", 1, 0 },
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
		char *msg = g_strdup_printf(
			"From: x@y.example\r\nContent-Type: multipart/report; report-type=delivery-status;"
			" boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
			"Reporting-MTA: dns; y.example\r\n\r\nFinal-Recipient: rfc822; a@y.example\r\n"
			"Action: %s\r\n%s%s%s%s%s\r\n--b--\r\n", t[i].action,
			*t[i].status ? "Status: " : "", t[i].status, *t[i].status ? "\r\n" : "",
			*t[i].diag ? "Diagnostic-Code: " : "", *t[i].diag ? t[i].diag : "");
		struct dsn d;
		assert_int_equal(dsn_parse(msg, strlen(msg), BASE, &d), 0);
		assert_int_equal(d.rcpts->len, 1);
		assert_string_equal(((struct dsn_rcpt *)d.rcpts->pdata[0])->status, t[i].want);
		assert_int_equal(((struct dsn_rcpt *)d.rcpts->pdata[0])->hard, t[i].hard);
		assert_int_equal(((struct dsn_rcpt *)d.rcpts->pdata[0])->status_reported,
				 t[i].reported);
		assert_string_equal(d.reporting_mta, "dns; y.example");
		dsn_clear(&d);
		g_free(msg);
	}
}

/* test_blank_last_line - the delivery-status part ends in a line of blanks without a line
 * end: the scan stays inside the part (its bytes are allocated to their exact length, so
 * a read past them is a sanitizer report) and the group before it still counts */
static void test_blank_last_line(void **state)
{
	static const char *const tails[] = { "   ", "\t", " \t \t", "\r", "" };
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(tails); i++) {
		char *body = g_strdup_printf("Final-Recipient: rfc822; a@y.example\r\n"
					     "Action: failed\r\nStatus: 5.1.1\r\n%s", tails[i]);
		char *b64 = g_base64_encode((const guchar *)body, strlen(body));
		char *full = g_strdup_printf(
			"From: x@y.example\r\nContent-Type: multipart/report; report-type=delivery-status;"
			" boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n", b64);
		struct dsn d;
		assert_int_equal(dsn_parse(full, strlen(full), BASE, &d), 0);
		assert_int_equal(d.rcpts->len, 1);
		assert_string_equal(((struct dsn_rcpt *)d.rcpts->pdata[0])->status, "5.1.1");
		dsn_clear(&d);
		g_free(full);
		g_free(b64);
		g_free(body);
	}
}

/* test_status_dead - the default bounce_suppress_status: only "no such address" is dead;
 * policy, full mailbox, size and a made-up 5.0.0 are not */
static void test_status_dead(void **state)
{
	struct beacon_cfg cfg;
	static const struct {
		const char *status;
		int dead;
	} t[] = {
		{ "5.1.1", 1 }, { "5.1.2", 1 }, { "5.1.3", 1 }, { "5.1.6", 1 }, { "5.1.10", 1 },
		{ "5.2.1", 1 }, { "5.7.1", 0 }, { "5.2.2", 0 }, { "5.3.4", 0 }, { "5.4.4", 0 },
		{ "5.0.0", 0 }, { "5.1.7", 0 }, { "5.1.8", 0 }, { "4.1.1", 0 }, { "5.1.100", 0 },
		{ "", 0 },
	};
	struct cfg_list glob = { 0 };
	char *pat[] = { (char *)"5.1.*" };

	(void)state;
	cfg_defaults(&cfg);
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		assert_int_equal(bounce_status_dead(&cfg.milter.bounce_suppress_status, t[i].status),
				 t[i].dead);
	cfg_free(&cfg);
	glob.v = pat;
	glob.n = 1;
	assert_true(bounce_status_dead(&glob, "5.1.8"));
	assert_false(bounce_status_dead(&glob, "5.10.1"));
	assert_false(bounce_status_dead(&glob, "5.2.1"));
}

/* test_record_roundtrip - a record's trusted flag and each recipient's hard and dead
 * survive the spool; dead is never set without hard */
static void test_record_roundtrip(void **state)
{
	struct bounce_record *b = bounce_record_new(), *c;
	GBytes *bytes;
	gsize len;
	const void *data;

	(void)state;
	b->trusted = 1;
	bounce_record_add(b, "", "dan@example.com", "5.1.1", 1, 1, "gone");
	bounce_record_add(b, "", "hal@example.com", "5.7.1", 1, 0, "spam");
	bounce_record_add(b, "", "cat@example.com", "4.2.2", 0, 1, "full");
	bytes = bounce_record_encode(b);
	data = g_bytes_get_data(bytes, &len);
	c = bounce_record_decode(data, len);
	assert_non_null(c);
	assert_true(c->trusted);
	assert_int_equal(c->rcpts->len, 3);
	assert_true(g_array_index(c->rcpts, struct bounce_rcpt, 0).dead);
	assert_true(g_array_index(c->rcpts, struct bounce_rcpt, 1).hard);
	assert_false(g_array_index(c->rcpts, struct bounce_rcpt, 1).dead);
	assert_false(g_array_index(c->rcpts, struct bounce_rcpt, 2).dead);
	bounce_record_free(c);
	assert_null(bounce_record_decode("x", 1));
	g_bytes_unref(bytes);
	bounce_record_free(b);
}

/* main - run the cases */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_no_base),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_status_forms),
		cmocka_unit_test(test_blank_last_line),
		cmocka_unit_test(test_status_dead),
		cmocka_unit_test(test_record_roundtrip),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
