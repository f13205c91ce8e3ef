/*
 * test_milter_tagging.c - unit tests of milter/tagging.c: the X-Beacon
 * header, track_senders rules, internal domains, the signed-message
 * exclusions and the List-Unsubscribe targets.
 *
 * DESCRIPTION
 *	Tables of inputs and the exact results they must give.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "tagging.h"

/* xb_case - one tag header and what it must parse to */
struct xb_case {
	const char *value;	/* header value (NULL: no header) */
	int rc;			/* xbeacon_parse() result */
	enum xbeacon_mode mode;	/* keyword */
	int clicks, notify, attachments;	/* -1: not given */
	const char *campaign;	/* NULL: none */
	int ignored;		/* unknown parameters or words */
};

static const struct xb_case xb_cases[] = {
	{ NULL, 0, XB_NONE, -1, -1, -1, NULL, 0 },
	{ "", 0, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "track", 0, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "  TRACK ; ", 0, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "no", 0, XB_NO, -1, -1, -1, NULL, 0 },
	{ "Off", 0, XB_NO, -1, -1, -1, NULL, 0 },
	{ "yes; clicks=no", 0, XB_TRACK, 0, -1, -1, NULL, 0 },
	{ "track; clicks=yes; notify=yes; campaign=\"Spring letter\"; attachments=link", 0,
	  XB_TRACK, 1, 1, CFG_ATT_LINK, "Spring letter", 0 },
	{ "clicks=off", 0, XB_TRACK, 0, -1, -1, NULL, 0 },
	{ "track;notify=1;attachments=KEEP", 0, XB_TRACK, -1, 1, CFG_ATT_KEEP, NULL, 0 },
	{ "track; campaign=spring-2026", 0, XB_TRACK, -1, -1, -1, "spring-2026", 0 },
	{ "track; campaign=\"say \\\"hi\\\" \\\\ bye\"", 0, XB_TRACK, -1, -1, -1,
	  "say \"hi\" \\ bye", 0 },
	{ "track;\r\n\tcampaign=\"folded\r\n value\"", 0, XB_TRACK, -1, -1, -1, "folded value", 0 },
	{ "track; campaign=\"=?UTF-8?Q?Fr=C3=BChling?=\"", 0, XB_TRACK, -1, -1, -1,
	  "Fr\xc3\xbchling", 0 },
	{ "track; colour=blue; urgent", 0, XB_TRACK, -1, -1, -1, NULL, 2 },
	{ "track; track", 0, XB_TRACK, -1, -1, -1, NULL, 1 },
	/* malformed: track with defaults, unless it starts with no */
	{ "track; clicks=maybe; notify=yes", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "track; campaign=\"open", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "track; =x", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "track notify=yes", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "\"quoted\"", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "no; clicks=perhaps", -1, XB_NO, -1, -1, -1, NULL, 0 },
	{ "track; attachments=zip", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
	{ "track; campaign=", -1, XB_TRACK, -1, -1, -1, NULL, 0 },
};

/* test_xbeacon - the table above */
static void test_xbeacon(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(xb_cases) / sizeof(xb_cases[0]); i++) {
		const struct xb_case *c = &xb_cases[i];
		struct xbeacon xb;
		int rc = xbeacon_parse(c->value, &xb);

		if (rc != c->rc || xb.mode != c->mode || xb.clicks != c->clicks ||
		    xb.notify != c->notify || xb.attachments != c->attachments ||
		    xb.ignored != c->ignored || (rc < 0) != xb.malformed ||
		    (c->campaign == NULL) != (xb.campaign == NULL) ||
		    (c->campaign && strcmp(c->campaign, xb.campaign) != 0))
			fail_msg("case %zu '%s': rc %d mode %d clicks %d notify %d att %d "
				 "campaign '%s' ignored %d", i, c->value ? c->value : "(null)", rc,
				 xb.mode, xb.clicks, xb.notify, xb.attachments,
				 xb.campaign ? xb.campaign : "(null)", xb.ignored);
		if (rc < 0)
			assert_true(xb.why[0] != '\0');
		xbeacon_clear(&xb);
	}
}

/* test_xbeacon_campaign_cut - 200 octets, cut on a character boundary */
static void test_xbeacon_campaign_cut(void **state)
{
	GString *v = g_string_new("track; campaign=\"");
	struct xbeacon xb;
	(void)state;

	g_string_append_c(v, 'a');
	for (int i = 0; i < 150; i++)
		g_string_append(v, "\xc3\xa9");	/* é, two octets */
	g_string_append(v, "\xff\"");		/* invalid UTF-8 at the end */
	assert_int_equal(xbeacon_parse(v->str, &xb), 0);
	assert_int_equal(strlen(xb.campaign), 199);
	assert_true(g_utf8_validate(xb.campaign, -1, NULL));
	xbeacon_clear(&xb);
	g_string_free(v, TRUE);
}

/* list - a cfg_list over a NULL-terminated array */
static struct cfg_list list(char **v)
{
	struct cfg_list l = { v, 0 };
	while (v[l.n])
		l.n++;
	return l;
}

/* test_sender_rules - address, @domain, sasl:, and ! exceptions */
static void test_sender_rules(void **state)
{
	char *r1[] = { "boss@example.com", "@news.example.com", "sasl:Marketing",
		       "!ceo@news.example.com", NULL };
	char *none[] = { NULL };
	struct cfg_list l = list(r1), e = list(none);
	(void)state;

	assert_int_equal(tagging_sender_rule(&l, "boss@example.com", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "BOSS@Example.COM", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "other@example.com", NULL), 0);
	assert_int_equal(tagging_sender_rule(&l, "anna@news.example.com", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "anna@sub.news.example.com", NULL), 0);
	assert_int_equal(tagging_sender_rule(&l, "ceo@news.example.com", NULL), -1);
	assert_int_equal(tagging_sender_rule(&l, "x@y.example", "marketing"), 1);
	assert_int_equal(tagging_sender_rule(&l, "x@y.example", "sales"), 0);
	assert_int_equal(tagging_sender_rule(&l, "", NULL), 0);
	assert_int_equal(tagging_sender_rule(&l, "ceo@news.example.com", "marketing"), -1);
	assert_int_equal(tagging_sender_rule(&e, "boss@example.com", "x"), 0);
	assert_int_equal(tagging_sender_rule(NULL, "boss@example.com", "x"), 0);
	/* other spellings of one mailbox: trailing dot, quotes, IDN, rules written loosely */
	assert_int_equal(tagging_sender_rule(&l, "boss@example.com.", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "\"BOSS\"@example.com", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "anna@News.Example.COM.", NULL), 1);
	assert_int_equal(tagging_sender_rule(&l, "CEO@news.example.com.", "marketing"), -1);
	assert_int_equal(tagging_sender_rule(&l, "boss@example.com..", NULL), 0);
	{
		char *r2[] = { "Info@B\xc3\x9c" "CHER.example.", "@Xn--Strae-Oqa.Example", NULL };
		struct cfg_list l2 = list(r2);
		assert_int_equal(tagging_sender_rule(&l2, "info@xn--bcher-kva.example", NULL), 1);
		assert_int_equal(tagging_sender_rule(&l2, "x@stra\xc3\x9f" "e.example", NULL), 1);
		assert_int_equal(tagging_sender_rule(&l2, "x@strasse.example", NULL), 0);
	}
}

/* test_internal - exact, @domain and .subdomain forms */
static void test_internal(void **state)
{
	char *d[] = { "corp.example", "@lab.example", ".branch.example", NULL };
	struct cfg_list l = list(d);
	(void)state;

	assert_true(tagging_is_internal(&l, "a@corp.example"));
	assert_true(tagging_is_internal(&l, "a@CORP.Example"));
	assert_false(tagging_is_internal(&l, "a@sub.corp.example"));
	assert_false(tagging_is_internal(&l, "a@notcorp.example"));
	assert_true(tagging_is_internal(&l, "a@lab.example"));
	assert_true(tagging_is_internal(&l, "a@x.branch.example"));
	assert_false(tagging_is_internal(&l, "a@branch.example"));
	assert_false(tagging_is_internal(&l, "a@xbranch.example"));
	assert_false(tagging_is_internal(&l, "nodomain"));
	assert_false(tagging_is_internal(&l, "a@"));
	assert_false(tagging_is_internal(&l, ""));
	/* trailing dots, quotes, IDN on either side */
	assert_true(tagging_is_internal(&l, "someone@corp.example."));
	assert_true(tagging_is_internal(&l, "<\"Some One\"@CORP.example.>"));
	assert_true(tagging_is_internal(&l, "a@X.Branch.Example."));
	assert_false(tagging_is_internal(&l, "a@corp.example.."));
	{
		char *d2[] = { "B\xc3\xbc" "cher.example.", ".XN--STRAE-OQA.example", NULL };
		struct cfg_list l2 = list(d2);
		assert_true(tagging_is_internal(&l2, "a@xn--bcher-kva.example"));
		assert_true(tagging_is_internal(&l2, "a@B\xc3\x9c" "CHER.example."));
		assert_true(tagging_is_internal(&l2, "a@shop.stra\xc3\x9f" "e.example"));
	}
}

/* test_exclusions - DKIM and signed/encrypted top-level types */
static void test_exclusions(void **state)
{
	(void)state;
	assert_string_equal(tagging_header_exclusion("text/html", 1), "already DKIM-signed");
	assert_null(tagging_header_exclusion("text/html; charset=utf-8", 0));
	assert_null(tagging_header_exclusion(NULL, 0));
	assert_string_equal(tagging_header_exclusion(
		"multipart/signed; protocol=\"application/pgp-signature\"; boundary=x", 0),
		"multipart/signed");
	assert_string_equal(tagging_header_exclusion("Multipart/Encrypted; boundary=y", 0),
			    "multipart/encrypted");
	assert_string_equal(tagging_header_exclusion(
		"application/pkcs7-mime; smime-type=enveloped-data", 0), "S/MIME or PGP");
	assert_string_equal(tagging_header_exclusion("application/x-pkcs7-mime", 0),
			    "S/MIME or PGP");
	assert_null(tagging_header_exclusion("multipart/mixed; boundary=z", 0));
	/* the words are looked for in any case; in a parameter they are not the type */
	assert_string_equal(tagging_header_exclusion("MULTIPART/SIGNED; boundary=x", 0),
			    "multipart/signed");
	assert_string_equal(tagging_header_exclusion("application/PGP-Encrypted", 0),
			    "S/MIME or PGP");
	assert_string_equal(tagging_header_exclusion(" multipart / (c) signed ; boundary=x", 0),
			    "multipart/signed");
	assert_null(tagging_header_exclusion("multipart/mixed; boundary=\"signed-pgp-pkcs7\"", 0));
	assert_true(tagging_signed_type("application", "pgp-encrypted"));
	assert_false(tagging_signed_type("application", "pdf"));
	assert_false(tagging_signed_type(NULL, "signed"));
}

/* test_keep_urls - targets of List-Unsubscribe, folds removed */
static void test_keep_urls(void **state)
{
	char **u;
	(void)state;

	u = tagging_keep_urls("<https://x.example/u?id=1>, <mailto:u@x.example?subject=unsub>");
	assert_int_equal(g_strv_length(u), 2);
	assert_string_equal(u[0], "https://x.example/u?id=1");
	assert_string_equal(u[1], "mailto:u@x.example?subject=unsub");
	g_strfreev(u);
	u = tagging_keep_urls("<https://x.example/long\r\n\t/path>");
	assert_string_equal(u[0], "https://x.example/long/path");
	g_strfreev(u);
	u = tagging_keep_urls("<unterminated");
	assert_int_equal(g_strv_length(u), 0);
	g_strfreev(u);
	u = tagging_keep_urls(NULL);
	assert_null(u[0]);
	g_strfreev(u);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xbeacon),
		cmocka_unit_test(test_xbeacon_campaign_cut),
		cmocka_unit_test(test_sender_rules),
		cmocka_unit_test(test_internal),
		cmocka_unit_test(test_exclusions),
		cmocka_unit_test(test_keep_urls),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
