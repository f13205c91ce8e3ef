/*
 * test_pixelsrv_unsub.c - unit tests of unsub_one_click(): the RFC 8058
 * body in both form encodings, the spellings a form may use, and bodies
 * that must not unsubscribe; the pages reflect nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cfg.h"
#include "unsub.h"

#define UE "application/x-www-form-urlencoded"
#define MP "multipart/form-data; boundary=XyZ"

/* unsub_case - one body and whether it asks */
struct unsub_case {
	const char *type;	/* Content-Type, or NULL */
	const char *body;	/* the body */
	int yes;		/* expected */
};

static const struct unsub_case cases[] = {
	{ UE, "List-Unsubscribe=One-Click", 1 },
	{ NULL, "List-Unsubscribe=One-Click", 1 },
	{ "Application/X-WWW-Form-Urlencoded; charset=utf-8", "List-Unsubscribe=One-Click", 1 },
	{ UE, "a=b&List-Unsubscribe=One-Click&c", 1 },
	{ UE, "List%2DUnsubscribe=One%2dClick", 1 },
	{ UE, "List-Unsubscribe=One-Click\r\n", 0 },
	{ UE, "list-unsubscribe=one-click", 0 },
	{ UE, "List-Unsubscribe=One-Click2", 0 },
	{ UE, "List-Unsubscribe=One-Clic%", 0 },
	{ UE, "List-Unsubscribe=One-Clic%6", 0 },
	{ UE, "List-Unsubscribe", 0 },
	{ UE, "", 0 },
	{ "text/plain", "List-Unsubscribe=One-Click", 0 },
	{ "application/json", "{\"List-Unsubscribe\":\"One-Click\"}", 0 },
	{ MP, "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
	      "One-Click\r\n--XyZ--\r\n", 1 },
	{ "multipart/form-data; boundary=\"XyZ\"", "--XyZ\r\nContent-Disposition: form-data; "
	      "name=\"a\"\r\n\r\nb\r\n--XyZ\r\ncontent-disposition: form-data; name=List-Unsubscribe"
	      "\r\n\r\nOne-Click\r\n--XyZ--\r\n", 1 },
	{ MP, "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
	      "Two-Click\r\n--XyZ--\r\n", 0 },
	{ MP, "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
	      "One-Click", 0 },
	{ MP, "--XyZ\r\nContent-Disposition: form-data; name=\"Other\"\r\n\r\nOne-Click\r\n--XyZ--", 0 },
	{ "multipart/form-data", "--XyZ\r\nContent-Disposition: form-data; "
	      "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n", 0 },
	{ MP, "List-Unsubscribe=One-Click", 0 },
};

/* test_table - every case */
static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (unsub_one_click(cases[i].type, cases[i].body, strlen(cases[i].body)) != cases[i].yes)
			fail_msg("case %zu (%s): expected %d", i, cases[i].body, cases[i].yes);
	assert_int_equal(unsub_one_click(UE, NULL, 0), 0);
}

/* test_pages - fixed text, with the one-click form on the confirmation page; each action's
 * pages say what it does: drop stops delivery, untrack says the mail still comes */
static void test_pages(void **state)
{
	(void)state;
	for (int a = CFG_UNSUB_DROP; a <= CFG_UNSUB_UNTRACK; a++) {
		assert_non_null(strstr(unsub_page_confirm_for(a), "<form method=\"post\"><input "
				       "type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"));
		assert_null(strstr(unsub_page_confirm_for(a), "action="));
		assert_null(strstr(unsub_page_done_for(a), "<form"));
	}
	assert_non_null(strstr(unsub_page_done_for(CFG_UNSUB_DROP), "no longer be delivered"));
	assert_null(strstr(unsub_page_done_for(CFG_UNSUB_UNTRACK), "no longer be delivered"));
	assert_non_null(strstr(unsub_page_done_for(CFG_UNSUB_UNTRACK), "may still be delivered"));
	assert_non_null(strstr(unsub_page_confirm_for(CFG_UNSUB_UNTRACK), "does not stop"));
	assert_null(strstr(unsub_page_bad, "<form"));
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
