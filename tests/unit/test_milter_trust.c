/*
 * test_milter_trust.c - unit tests of milter/trust.c: which submissions may
 * ask for tracking (SASL login, trusted_networks, trusted_daemons), as a
 * table, with the reason each one logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "trust.h"

/* trust_case - one submission and the decision it must get */
struct trust_case {
	const char *ip;		/* client address, or NULL */
	const char *login;	/* {auth_authen}, or NULL */
	const char *daemon;	/* {daemon_name}, or NULL */
	int trusted;		/* expected */
	const char *why;	/* expected reason */
};

static const struct trust_case cases[] = {
	{ "127.0.0.1", NULL, "mx", 1, "client 127.0.0.1 in trusted_networks" },
	{ "::1", NULL, NULL, 1, "client ::1 in trusted_networks" },
	{ "10.1.2.3", NULL, NULL, 1, "client 10.1.2.3 in trusted_networks" },
	{ "127.0.0.2", NULL, "mx", 0, "client 127.0.0.2, no SASL login, daemon mx" },
	{ "::ffff:127.0.0.1", NULL, NULL, 1, "client ::ffff:127.0.0.1 in trusted_networks" },
	{ "203.0.113.9", NULL, NULL, 0, "client 203.0.113.9, no SASL login, daemon unknown" },
	{ "203.0.113.9", "", "", 0, "client 203.0.113.9, no SASL login, daemon unknown" },
	{ "203.0.113.9", "alice", NULL, 1, "SASL login alice" },
	{ "203.0.113.9", NULL, "originating", 1, "daemon originating in trusted_daemons" },
	{ "203.0.113.9", NULL, "ORIGINATING2", 0,
	  "client 203.0.113.9, no SASL login, daemon ORIGINATING2" },
	{ NULL, NULL, NULL, 0, "client unknown, no SASL login, daemon unknown" },
	{ "not an address", NULL, NULL, 0, "client not an address, no SASL login, daemon unknown" },
};

/* test_cases - the table, with 127.0.0.1/32, ::1 and 10.0.0.0/8 trusted */
static void test_cases(void **state)
{
	char *nets[] = { (char *)"127.0.0.1/32", (char *)"::1", (char *)"10.0.0.0/8" };
	char *daemons[] = { (char *)"ORIGINATING" };
	struct beacon_cfg cfg;
	struct trust *t;
	char err[256], why[256];
	(void)state;

	memset(&cfg, 0, sizeof(cfg));
	cfg.milter.trusted_networks = (struct cfg_list){ nets, 3 };
	cfg.milter.trusted_daemons = (struct cfg_list){ daemons, 1 };
	t = trust_new(&cfg, err, sizeof(err));
	assert_non_null(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trust_case *c = &cases[i];
		int got = trust_decide(t, c->ip, c->login, c->daemon, why, sizeof(why));
		if (got != c->trusted || strcmp(why, c->why) != 0)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, got, why, c->trusted,
				 c->why);
	}
	trust_free(t);
}

/* test_defaults - the shipped default trusts loopback only; no set trusts SASL only */
static void test_defaults(void **state)
{
	struct beacon_cfg cfg;
	struct trust *t;
	char err[256], why[256];
	(void)state;

	cfg_defaults(&cfg);
	t = trust_new(&cfg, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(trust_decide(t, "127.8.9.10", NULL, NULL, why, sizeof(why)), 1);
	assert_int_equal(trust_decide(t, "::1", NULL, NULL, why, sizeof(why)), 1);
	assert_int_equal(trust_decide(t, "192.0.2.1", NULL, NULL, why, sizeof(why)), 0);
	assert_int_equal(trust_decide(t, "::2", NULL, NULL, why, sizeof(why)), 0);
	trust_free(t);
	cfg_free(&cfg);
	assert_int_equal(trust_decide(NULL, "127.0.0.1", NULL, NULL, why, sizeof(why)), 0);
	assert_int_equal(trust_decide(NULL, "127.0.0.1", "bob", NULL, why, sizeof(why)), 1);
}

/* test_bad_prefix - a prefix that does not parse is refused with its name */
static void test_bad_prefix(void **state)
{
	char *nets[] = { (char *)"127.0.0.1/33" };
	struct beacon_cfg cfg;
	char err[256];
	(void)state;

	memset(&cfg, 0, sizeof(cfg));
	cfg.milter.trusted_networks = (struct cfg_list){ nets, 1 };
	assert_null(trust_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "trusted_networks"));
}

/* test_bounce - bounce reports are trusted only from bounce_trusted_networks, never by a
 * SASL login, and by default from nowhere (loopback may ask for tracking, not name rows) */
static void test_bounce(void **state)
{
	char *nets[] = { (char *)"127.0.0.1/32" };
	struct beacon_cfg cfg;
	struct trust *t;
	char err[256];
	(void)state;

	cfg_defaults(&cfg);
	t = trust_new(&cfg, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(trust_bounce(t, "127.0.0.1", NULL), 0);
	trust_free(t);
	cfg.milter.bounce_trusted_networks = (struct cfg_list){ nets, 1 };
	t = trust_new(&cfg, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(trust_bounce(t, "127.0.0.1", NULL), 1);
	assert_int_equal(trust_bounce(t, "127.0.0.1", "alice"), 0);
	assert_int_equal(trust_bounce(t, "127.0.0.2", NULL), 0);
	assert_int_equal(trust_bounce(t, NULL, NULL), 0);
	trust_free(t);
	cfg.milter.bounce_trusted_networks = (struct cfg_list){ NULL, 0 };
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_prefix),
		cmocka_unit_test(test_bounce),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
