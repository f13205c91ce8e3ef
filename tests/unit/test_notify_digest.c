/*
 * test_notify_digest.c - unit tests of notify/digest.c's mail: hostile
 * names, subjects and addresses (CR, LF) make no header or line of
 * their own, and no line is longer than SMTP allows (each event's line
 * is cut at 900 bytes on a UTF-8 boundary).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"
#include "json.h"

/* valid_utf8 - S (LEN bytes) is valid UTF-8 */
static int valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;

	while (len > 0) {
		size_t n = json_utf8(p, len, &cp);

		if (!n)
			return 0;
		p += n, len -= n;
	}
	return 1;
}

/* test_hostile - CR/LF in name, subject and address; a huge subject and link */
static void test_hostile(void **state)
{
	static const struct digest_conf dc = { "smtp://127.0.0.1:25", "beacon@example.org",
					       "X-Beacon", 10 };
	char subject[3000], link[3000];
	struct item it[2] = {
		{ .kind = "open", .address = "bob@example.net\r\nBcc: eve@example.com",
		  .name = "Bob\r\nX-Injected: 1", .subject = "Hi\nthere\r.\r\n", .at =
		  "2026-12-06T04:12:33.250Z", .outcome = ITEM_SENT },
		/* every field at its own cap: over 1600 bytes before the line's cap */
		{ .kind = "click", .name = subject, .address = "carl@example.net",
		  .subject = subject, .city = link, .country = "FR", .device = link, .os = link,
		  .client = link, .link = link, .at = "2026-12-06T04:13:00.000Z",
		  .outcome = ITEM_SENT },
	};
	struct buf m = { 0 };
	const char *p, *end;
	int lines = 0, cut = 0;

	(void)state;
	/* 999 three-byte characters: a cut anywhere but at a boundary shows */
	for (size_t i = 0; i + 3 < sizeof(subject); i += 3)
		memcpy(subject + i, "\xe2\x82\xac", 3), subject[i + 3] = '\0';
	memset(link, 'a', sizeof(link) - 1);
	link[sizeof(link) - 1] = '\0';
	assert_int_equal(digest_message(&m, &dc, "ann@example.org\r\nBcc: x@y", it, 2), 2);
	assert_true(valid_utf8(m.p, m.len));
	assert_non_null(strstr(m.p, "\r\nSubject: Beacon: 2 events on your mail\r\n"));
	assert_null(strstr(m.p, "\nBcc:"));
	assert_null(strstr(m.p, "\nX-Injected:"));
	assert_null(strstr(m.p, "\n.\r"));
	/* every line ends in CRLF, no bare CR or LF, none longer than 998 */
	for (p = m.p, end = m.p + m.len; p < end; p += 2, lines++) {
		const char *eol = strstr(p, "\r\n");

		assert_non_null(eol);
		assert_true(eol - p <= 998);
		assert_null(memchr(p, '\r', (size_t)(eol - p)));
		assert_null(memchr(p, '\n', (size_t)(eol - p)));
		if (!strncmp(p, "- \xe2\x82\xac", 5)) {
			assert_true(eol - p <= 2 + 900);
			assert_memory_equal(eol - 3, "...", 3);
			cut++;
		}
		p = eol;
	}
	assert_true(lines > 10);
	assert_int_equal(cut, 1);
	buf_free(&m);
}

/* test_subject - the subject counts the events, singular for one */
static void test_subject(void **state)
{
	static const struct digest_conf dc = { "smtp://127.0.0.1:25", "beacon@example.org",
					       "X-Beacon", 10 };
	struct item it[2] = {
		{ .kind = "open", .address = "bob@example.net", .subject = "Hi",
		  .at = "2026-12-06T04:12:33.250Z", .outcome = ITEM_SENT },
		{ .kind = "open", .address = "eve@example.net", .subject = "Hi",
		  .at = "2026-12-06T04:12:34.250Z", .outcome = ITEM_DROPPED },
	};
	struct buf m = { 0 };

	(void)state;
	assert_int_equal(digest_message(&m, &dc, "ann@example.org", it, 2), 1);
	assert_non_null(strstr(m.p, "\r\nSubject: Beacon: 1 event on your mail\r\n"));
	buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
