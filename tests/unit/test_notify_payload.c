/*
 * test_notify_payload.c - unit tests of notify/payload.c: the JSON
 * string escaper (quotes, backslashes, every control character,
 * U+2028/2029, and byte sequences that are not UTF-8: stray bytes,
 * cut sequences, overlong forms, surrogates, code points past U+10FFFF,
 * each bad byte one U+FFFD), the whole webhook body and chat body of a
 * delivery with NULL fields, and the one-line text of chat and digests
 * (no line break survives a hostile subject; Slack's & < > escaped).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "payload.h"

#define FFFD "\xef\xbf\xbd"

/* esc_case - a string and its JSON form */
struct esc_case {
	const char *in;		/* the C string (NULL: SQL NULL) */
	const char *out;	/* what payload_json_string writes */
};

/* test_escape - the escaper's table */
static void test_escape(void **state)
{
	static const struct esc_case cases[] = {
		{ NULL, "null" },
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b\\c/d", "\"a\\\"b\\\\c/d\"" },
		{ "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"" },
		{ "\xc2\x80", "\"\xc2\x80\"" },			/* U+0080: valid, kept */
		{ "a\xff" "b", "\"a" FFFD "b\"" },		/* a byte never in UTF-8 */
		{ "\x80", "\"" FFFD "\"" },			/* a lone continuation */
		{ "x\xc3", "\"x" FFFD "\"" },			/* cut at the end */
		{ "\xc3(", "\"" FFFD "(\"" },			/* continuation missing */
		{ "\xe2\x82", "\"" FFFD FFFD "\"" },		/* cut 3-byte form */
		{ "\xc0\xaf", "\"" FFFD FFFD "\"" },		/* overlong '/' */
		{ "\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"" },	/* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"" },	/* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"" },	/* past U+10FFFF */
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },	/* U+10FFFF itself */
		{ "\xc3\"", "\"" FFFD "\\\"\"" },		/* a quote after a cut lead */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = { 0 };

		payload_json_string(&b, cases[i].in);
		assert_string_equal(buf_str(&b), cases[i].out);
		buf_free(&b);
	}
}

/* test_clean - one line of valid UTF-8, cut at MAX */
static void test_clean(void **state)
{
	struct buf b = { 0 };

	payload_clean(&b, "a\r\nb\tc\x7f" "d\xc2\x85" "e\xff", 0);
	assert_string_equal(buf_str(&b), "a  b c d e" FFFD);
	buf_reset(&b);
	payload_clean(&b, "abcdef", 3);
	assert_string_equal(buf_str(&b), "abc");
	buf_reset(&b);
	payload_clean(&b, "\xc3\xa9\xc3\xa9", 3);	/* cut inside the second */
	assert_string_equal(buf_str(&b), "\xc3\xa9" FFFD);
	buf_free(&b);
}

/* item_full - a click with every field */
static struct item item_full(void)
{
	struct item it = {
		.job = 12, .dest = 3, .dkind = "webhook", .kind = "click", .class = "human",
		.at = "2026-12-06T04:12:33.250Z",
		.msg_uuid = "11111111-1111-1111-1111-111111111111",
		.message_id = "<m1@example.org>", .subject = "Spring \"offer\"\n\xff",
		.campaign = "spring", .sent_at = "2026-12-05T10:00:00.000Z",
		.address = "bob@example.net", .name = "Bob B", .country = "FR",
		.city = "Paris", .device = "iPhone", .os = "iOS", .client = "Apple Mail",
		.link = "https://example.org/a", .file = NULL,
	};

	strcpy(it.id, "12.3");
	return it;
}

/* test_webhook - the generic body, byte for byte */
static void test_webhook(void **state)
{
	struct item it = item_full();
	struct buf b = { 0 };

	payload_body(&b, &it);
	assert_string_equal(buf_str(&b),
	    "{\"id\": \"12.3\", \"type\": \"click\", \"at\": \"2026-12-06T04:12:33.250Z\", "
	    "\"class\": \"human\", \"message\": {\"id\": \"11111111-1111-1111-1111-111111111111\", "
	    "\"message_id\": \"<m1@example.org>\", \"subject\": \"Spring \\\"offer\\\"\\n" FFFD "\", "
	    "\"campaign\": \"spring\", \"sent_at\": \"2026-12-05T10:00:00.000Z\"}, "
	    "\"recipient\": {\"address\": \"bob@example.net\", \"name\": \"Bob B\"}, "
	    "\"place\": {\"country\": \"FR\", \"city\": \"Paris\"}, "
	    "\"device\": {\"device\": \"iPhone\", \"os\": \"iOS\", \"client\": \"Apple Mail\"}, "
	    "\"link\": \"https://example.org/a\", \"file\": null}");
	buf_free(&b);
}

/* test_chat - Slack and Mattermost: {"text": one line}; NULL fields left out */
static void test_chat(void **state)
{
	struct item it = item_full();
	struct buf b = { 0 };

	it.dkind = "mattermost";
	payload_body(&b, &it);
	assert_string_equal(buf_str(&b),
	    "{\"text\": \"Bob B <bob@example.net> clicked a link in \\\"Spring \\\"offer\\\" " FFFD
	    "\\\" at 2026-12-06 04:12 UTC in Paris, FR on iPhone (iOS, Apple Mail): "
	    "https://example.org/a\"}");
	buf_reset(&b);
	it.dkind = "slack";
	it.link = "https://example.org/?a=1&b=<2>";
	payload_body(&b, &it);
	assert_non_null(strstr(buf_str(&b), "\"Bob B &lt;bob@example.net&gt; clicked"));
	assert_non_null(strstr(buf_str(&b), "https://example.org/?a=1&amp;b=&lt;2&gt;\"}"));
	buf_reset(&b);
	it = (struct item){ .dkind = "mattermost", .kind = "open", .address = "x@y" };
	payload_body(&b, &it);
	assert_string_equal(buf_str(&b), "{\"text\": \"x@y opened \\\"(no subject)\\\"\"}");
	buf_reset(&b);
	it = (struct item){ .kind = "download", .subject = "S", .os = "Windows", .file = "a.pdf" };
	payload_line(&b, &it);
	assert_string_equal(buf_str(&b),
	    "a recipient downloaded a file of \"S\" with Windows: a.pdf");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_chat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
