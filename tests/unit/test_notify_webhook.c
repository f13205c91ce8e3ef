/*
 * test_notify_webhook.c - unit tests of notify/webhook.c's guards, on
 * loopback only: a private address is refused before any connection
 * unless allowed; http:// is refused unless allowed; once asked to stop,
 * no request starts and the items are left untried (ITEM_UNSENT).
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "webhook.h"

/* item - a delivery to URL */
static struct item item(const char *url)
{
	return (struct item){ .id = "1.1", .dkind = "webhook", .url = url, .secret = "00",
			      .kind = "open", .outcome = ITEM_RETRY, .latency_ms = -1 };
}

static void test_guards(void **state)
{
	static const volatile sig_atomic_t go = 0, stop = 1;
	struct webhook *w = webhook_new(2, 4, 0, 0);
	struct item it[3] = { item("https://127.0.0.1:1/hook"), item("http://[::1]:1/hook"),
			      item("https://localhost:1/hook") };

	(void)state;
	webhook_send(w, it, 3, &go);
	assert_int_equal(it[0].outcome, ITEM_RETRY);
	assert_non_null(strstr(it[0].error, "refused: 127.0.0.1 is in 127.0.0.0/8"));
	assert_non_null(strstr(it[1].error, "refused: not an https:// URL"));
	assert_non_null(strstr(it[2].error, "refused: "));	/* the name resolves to loopback */
	webhook_free(w);

	/* allowed: the connection is tried (and nothing listens on port 1) */
	w = webhook_new(2, 4, 1, 1);
	it[0] = item("http://127.0.0.1:1/hook");
	webhook_send(w, it, 1, &go);
	assert_int_equal(it[0].outcome, ITEM_RETRY);
	assert_null(strstr(it[0].error, "refused: "));

	/* stopping: nothing starts */
	it[0] = item("http://127.0.0.1:1/hook");
	it[1] = item("http://127.0.0.1:1/hook");
	it[1].outcome = ITEM_DROPPED;
	webhook_send(w, it, 2, &stop);
	assert_int_equal(it[0].outcome, ITEM_UNSENT);
	assert_int_equal(it[1].outcome, ITEM_DROPPED);
	webhook_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guards),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
