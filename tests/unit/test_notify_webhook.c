/*
 * test_notify_webhook.c - unit tests of notify/webhook.c's guards, on
 * loopback only: a private address is refused before any connection
 * unless allowed; http:// is refused unless allowed; once asked to stop,
 * no request starts and the items are left untried (ITEM_UNSENT); a
 * proxy from the environment is not used (the check would see only the
 * proxy's address), the configured one is.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
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
	struct webhook *w = webhook_new(2, 4, 0, 0, "");
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
	w = webhook_new(2, 4, 1, 1, "");
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

/* test_proxy - https_proxy in the environment is ignored: the destination's own
 * address is checked; a configured proxy is used (and its address checked) */
static void test_proxy(void **state)
{
	static const volatile sig_atomic_t go = 0;
	struct webhook *w = webhook_new(2, 4, 0, 0, "");
	struct item it[1] = { item("https://10.1.2.3:1/hook") };

	(void)state;
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	setenv("https_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
	webhook_send(w, it, 1, &go);
	assert_int_equal(it[0].outcome, ITEM_RETRY);
	assert_non_null(strstr(it[0].error, "refused: 10.1.2.3 is in 10.0.0.0/8"));
	webhook_free(w);

	w = webhook_new(2, 4, 0, 0, "http://127.0.0.2:1");
	it[0] = item("https://10.1.2.3:1/hook");
	webhook_send(w, it, 1, &go);
	assert_non_null(strstr(it[0].error, "refused: 127.0.0.2 is in 127.0.0.0/8"));
	webhook_free(w);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_proxy),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
