/*
 * test_notify_netguard.c - unit tests of notify/netguard.c: loopback,
 * private, link-local, CGNAT, ULA and the IPv4 forms inside IPv6 are
 * refused; public addresses pass.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "netguard.h"

/* public - netguard_public of the address TEXT */
static int public(const char *text, char *why, size_t len)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1)
		return netguard_public((struct sockaddr *)&s4, sizeof(s4), why, len);
	assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
	return netguard_public((struct sockaddr *)&s6, sizeof(s6), why, len);
}

static void test_ranges(void **state)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0",
		"224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "2001:db8::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "64:ff9b:1::7f00:1",
		"64:ff9b:1:ffff::a9fe:a9fe",
	};
	static const char *const allowed[] = {
		"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1",
		"2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808",
		"64:ff9b:1::808:808",
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why[0] = '\0';
		if (public(refused[i], why, sizeof(why)))
			fail_msg("%s passed", refused[i]);
		assert_non_null(strstr(why, " is in "));
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!public(allowed[i], why, sizeof(why)))
			fail_msg("%s refused: %s", allowed[i], why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
