/*
 * test_milter_suppress.c - unit tests of the suppression list cache
 * (milter/suppress.c) without a database.
 *
 * DESCRIPTION
 *	Matching: an address matches itself and its exact domain, in their
 *	one form (case, also non-ASCII, trailing dot, quotes, IDNA), never
 *	a subdomain or a longer address; an address without a one form
 *	counts as suppressed.  A row for one sender suppresses only that
 *	sender's messages (the sender in its one form).  A list in use keeps its reference while a newer one is
 *	swapped in.  A reload that cannot reach the database fails within
 *	the connect timeout and keeps the list loaded before.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "clock.h"
#include "address.h"
#include "suppress.h"
#include "cfg.h"

/* test_match - a table of addresses against one list */
static void test_match(void **state)
{
	static const char *pat[] = { "ann@example.org", "@optout.example", "J\xc3\x96RG@Example.net", "",
				     "Info@B\xc3\x9c" "CHER.example." };
	static const struct { const char *addr; int hit; } cases[] = {
		{ "ann@example.org", 1 },
		{ "ANN@Example.ORG", 1 },
		{ "bob@example.org", 0 },
		{ "xann@example.org", 0 },
		{ "anyone@optout.example", 1 },
		{ "anyone@OPTOUT.example", 1 },
		{ "anyone@sub.optout.example", 0 },
		{ "optout.example", 1 },	/* no one form: counts as suppressed */
		{ "j\xc3\xb6rg@example.net", 1 },
		{ "", 1 },
		{ "@optout.example", 1 },
		{ "ann@example.org.", 1 },
		{ "<ANN@Example.ORG.>", 1 },
		{ "\"ann\"@example.org", 1 },
		{ "\"a\\nn\"@example.org", 1 },
		{ "@relay.example:ann@example.org", 1 },
		{ "x@optout.example.", 1 },
		{ "ann@example.org..", 1 },	/* refused: suppressed */
		{ "bob@example.org.", 0 },
		{ "info@b\xc3\xbc" "cher.example", 1 },
		{ "info@XN--BCHER-KVA.example.", 1 },
		{ "other@xn--bcher-kva.example", 0 },
	};
	struct suppress_list *l = suppress_list_new(pat, G_N_ELEMENTS(pat));
	(void)state;

	assert_int_equal(suppress_list_size(l), 4);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		if (suppress_list_has(l, cases[i].addr) != cases[i].hit)
			fail_msg("%s: expected %d", cases[i].addr, cases[i].hit);
	assert_int_equal(suppress_list_has(NULL, "ann@example.org"), 0);
	suppress_list_unref(l);
	suppress_list_unref(NULL);
}

/* test_sender - rows for one sender, beside rows for every sender */
static void test_sender(void **state)
{
	static const char *pat[] = { "ann@example.org", "@optout.example", "bob@example.org" };
	static const char *snd[] = { "news@shop.example", "News@Shop.Example.", "" };
	static const struct { const char *addr, *sender; int hit; } cases[] = {
		{ "ann@example.org", "news@shop.example", 1 },
		{ "ANN@example.org", "<NEWS@shop.example.>", 1 },
		{ "ann@example.org", "other@shop.example", 0 },
		{ "ann@example.org", "", 0 },
		{ "ann@example.org", NULL, 0 },
		{ "x@optout.example", "news@shop.example", 1 },
		{ "x@optout.example", "news@other.example", 0 },
		{ "bob@example.org", "news@shop.example", 1 },
		{ "bob@example.org", NULL, 1 },
		{ "carl@example.org", "news@shop.example", 0 },
	};
	struct suppress_list *l = suppress_list_new_from(pat, snd, G_N_ELEMENTS(pat));
	(void)state;

	assert_int_equal(suppress_list_size(l), 3);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		if (suppress_list_has_from(l, cases[i].addr, cases[i].sender) != cases[i].hit)
			fail_msg("%s from %s: expected %d", cases[i].addr,
				 cases[i].sender ? cases[i].sender : "(none)", cases[i].hit);
	assert_false(suppress_list_has(l, "ann@example.org"));
	assert_true(suppress_list_has(l, "bob@example.org"));
	suppress_list_unref(l);
}

/* test_sender_key - the sender's key: one form (IDN to A-labels, case), BATV tag removed;
 * a row of source unsubscribe is told apart from an admin's for the same sender */
static void test_sender_key(void **state)
{
	static const char *pat[] = { "ann@example.org", "bob@example.org", "@dom.example" };
	static const char *snd[] = { "news@xn--bcher-kva.example", "bulk@shop.example",
				     "bulk@shop.example" };
	static const char *src[] = { "unsubscribe", "unsubscribe", "unsubscribe" };
	char key[ADDRESS_SIZE];
	struct suppress_list *l = suppress_list_new_src(pat, snd, src, G_N_ELEMENTS(pat));
	struct suppress_list *a = suppress_list_new_from(pat, snd, G_N_ELEMENTS(pat));
	(void)state;

	assert_int_equal(suppress_sender_key("<News@BÜCHER.Example.>", key, sizeof(key)), 0);
	assert_string_equal(key, "news@xn--bcher-kva.example");
	assert_int_equal(suppress_sender_key("prvs=0123abcdef=Bulk@Shop.Example", key, sizeof(key)), 0);
	assert_string_equal(key, "bulk@shop.example");
	assert_int_equal(suppress_sender_key("PRVS=0123abcdef=bulk@shop.example", key, sizeof(key)), 0);
	assert_string_equal(key, "bulk@shop.example");
	assert_int_equal(suppress_sender_key("prvs=x@shop.example", key, sizeof(key)), 0);
	assert_string_equal(key, "prvs=x@shop.example");	/* no second '=': no tag */
	assert_int_equal(suppress_sender_key("", key, sizeof(key)), -1);

	assert_true(suppress_list_has_from(l, "ann@example.org", "News@Bücher.Example"));
	assert_true(suppress_list_unsubscribed(l, "Ann@Example.org", "news@BÜCHER.example"));
	assert_true(suppress_list_unsubscribed(l, "bob@example.org", "prvs=9999=bulk@shop.example"));
	assert_false(suppress_list_unsubscribed(l, "bob@example.org", "other@shop.example"));
	assert_false(suppress_list_unsubscribed(l, "x@dom.example", "bulk@shop.example"));
	assert_true(suppress_list_has_from(l, "x@dom.example", "bulk@shop.example"));
	assert_false(suppress_list_unsubscribed(a, "ann@example.org", "news@xn--bcher-kva.example"));
	assert_true(suppress_list_has_from(a, "ann@example.org", "news@xn--bcher-kva.example"));
	suppress_list_unref(l);
	suppress_list_unref(a);
}

/* test_swap - a message keeps the list it took while a new one is set */
static void test_swap(void **state)
{
	static const char *one[] = { "a@example.org" }, *two[] = { "b@example.org" };
	struct beacon_cfg cfg;
	struct suppress *s;
	struct suppress_list *held, *now;
	(void)state;

	cfg_defaults(&cfg);
	s = suppress_new(&cfg);
	assert_null(suppress_get(NULL));
	now = suppress_get(s);
	assert_int_equal(suppress_list_size(now), 0);
	suppress_list_unref(now);
	suppress_set(s, suppress_list_new(one, 1));
	held = suppress_get(s);
	suppress_set(s, suppress_list_new(two, 1));
	assert_true(suppress_list_has(held, "a@example.org"));
	now = suppress_get(s);
	assert_true(suppress_list_has(now, "b@example.org"));
	assert_false(suppress_list_has(now, "a@example.org"));
	suppress_list_unref(held);
	suppress_list_unref(now);
	suppress_stop(s);
	suppress_stop(NULL);
	cfg_free(&cfg);
}

/* test_reload_down - no database: -1 quickly, the list kept */
static void test_reload_down(void **state)
{
	static const char *one[] = { "a@example.org" };
	struct beacon_cfg cfg;
	struct suppress *s;
	struct suppress_list *l;
	gint64 t0;
	(void)state;

	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	/* port 1 on loopback: refused at once */
	cfg.database.conninfo = strdup("host=127.0.0.1 port=1 dbname=none user=none");
	cfg.database.connect_timeout = 2;
	cfg.milter.suppression_refresh = 0;
	s = suppress_new(&cfg);
	suppress_set(s, suppress_list_new(one, 1));
	t0 = clock_now_us();
	assert_int_equal(suppress_reload(s), -1);
	assert_int_equal(suppress_reload(s), -1);
	assert_true(clock_now_us() - t0 < 5 * G_USEC_PER_SEC);
	l = suppress_get(s);
	assert_true(suppress_list_has(l, "a@example.org"));
	suppress_list_unref(l);
	/* start with no refresh: one load (failing), no thread */
	assert_int_equal(suppress_start(s), 0);
	suppress_stop(s);
	cfg_free(&cfg);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_sender_key),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_reload_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
