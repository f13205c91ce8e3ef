/*
 * test_milter_policy.c - unit tests of the milter's failure policy
 * (milter/policy.c): every cause under every on_db_error, before and
 * after copies left, gives the action, the milter reply and the reason
 * the log lines and the tests downstream rely on.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "policy.h"

/* policy_case - one cause under one configuration */
struct policy_case {
	int on_db_error;		/* CFG_DBERR_* */
	enum policy_cause cause;	/* what went wrong */
	int copies;			/* copies already sent */
	enum policy_action action;	/* expected */
	sfsistat reply;			/* expected */
	const char *reason;		/* expected */
};

#define DB_TF "database unavailable (on_db_error = tempfail)"
#define DB_UT "database unavailable: delivered untracked"
#define DB_SP "database unavailable: rows spooled"

static const struct policy_case cases[] = {
	/* nothing failed: accepted as decided, whatever the configuration */
	{ CFG_DBERR_SPOOL, POLICY_NONE, 0, POLICY_CONTINUE, SMFIS_ACCEPT, "" },
	{ CFG_DBERR_TEMPFAIL, POLICY_NONE, 3, POLICY_CONTINUE, SMFIS_ACCEPT, "" },
	/* the database is down: on_db_error */
	{ CFG_DBERR_SPOOL, POLICY_DB_DOWN, 0, POLICY_SPOOL, SMFIS_ACCEPT, DB_SP },
	{ CFG_DBERR_ACCEPT, POLICY_DB_DOWN, 0, POLICY_UNTRACKED, SMFIS_ACCEPT, DB_UT },
	{ CFG_DBERR_TEMPFAIL, POLICY_DB_DOWN, 0, POLICY_TEMPFAIL, SMFIS_TEMPFAIL, DB_TF },
	{ CFG_DBERR_TEMPFAIL, POLICY_DB_DOWN, 1, POLICY_UNTRACKED, SMFIS_ACCEPT, DB_UT },
	/* the rows reached neither the database nor the spool: spool cannot help */
	{ CFG_DBERR_SPOOL, POLICY_ROWS_LOST, 0, POLICY_UNTRACKED, SMFIS_ACCEPT, DB_UT },
	{ CFG_DBERR_ACCEPT, POLICY_ROWS_LOST, 0, POLICY_UNTRACKED, SMFIS_ACCEPT, DB_UT },
	{ CFG_DBERR_TEMPFAIL, POLICY_ROWS_LOST, 0, POLICY_TEMPFAIL, SMFIS_TEMPFAIL, DB_TF },
	{ CFG_DBERR_TEMPFAIL, POLICY_ROWS_LOST, 2, POLICY_UNTRACKED, SMFIS_ACCEPT, DB_UT },
	/* the first copy failed: nothing was sent, temp-fail under any configuration */
	{ CFG_DBERR_SPOOL, POLICY_REINJECT, 0, POLICY_TEMPFAIL, SMFIS_TEMPFAIL,
	  "re-injection failed, nothing sent" },
	{ CFG_DBERR_ACCEPT, POLICY_REINJECT, 0, POLICY_TEMPFAIL, SMFIS_TEMPFAIL,
	  "re-injection failed, nothing sent" },
	/* the MTA refused a change: temp-fail, unless copies left */
	{ CFG_DBERR_SPOOL, POLICY_MTA_REFUSED, 0, POLICY_TEMPFAIL, SMFIS_TEMPFAIL,
	  "the MTA refused a change" },
	{ CFG_DBERR_SPOOL, POLICY_MTA_REFUSED, 4, POLICY_UNTRACKED, SMFIS_ACCEPT,
	  "the MTA refused a change" },
};

/* test_table - every case */
static void test_table(void **state)
{
	struct beacon_cfg cfg;
	(void)state;

	cfg_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct policy_case *c = &cases[i];
		struct policy p;

		cfg.milter.on_db_error = c->on_db_error;
		p = policy_decide(&cfg, c->cause, c->copies);
		if (p.action != c->action || p.reply != c->reply || strcmp(p.reason, c->reason) != 0)
			fail_msg("case %zu: action %d reply %d reason \"%s\"", i, p.action, p.reply,
				 p.reason);
	}
	cfg_free(&cfg);
}

/* test_never_tempfail_after_copies - no cause temp-fails once a copy left */
static void test_never_tempfail_after_copies(void **state)
{
	struct beacon_cfg cfg;
	(void)state;

	cfg_defaults(&cfg);
	for (int mode = CFG_DBERR_SPOOL; mode <= CFG_DBERR_TEMPFAIL; mode++) {
		cfg.milter.on_db_error = mode;
		for (int cause = POLICY_NONE; cause <= POLICY_MTA_REFUSED; cause++) {
			struct policy p = policy_decide(&cfg, (enum policy_cause)cause, 1);
			assert_int_equal(p.reply, SMFIS_ACCEPT);
			assert_int_not_equal(p.action, POLICY_TEMPFAIL);
			/* the reply always follows the action */
			p = policy_decide(&cfg, (enum policy_cause)cause, 0);
			assert_int_equal(p.reply == SMFIS_TEMPFAIL, p.action == POLICY_TEMPFAIL);
		}
	}
	cfg_free(&cfg);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_never_tempfail_after_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
