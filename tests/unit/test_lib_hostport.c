/*
 * test_lib_hostport.c - unit tests of lib/hostport.c, the one parser of
 * network addresses: each form under each kind of key (connect, bind,
 * milter socket), the host and port it yields, and the reason a bad one
 * is refused.  The connect cases include every case the milter's
 * reinject parser had, with the same verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hostport.h"

/* hp_ok - one address that parses into HOST and PORT (PATH for a unix socket) */
struct hp_ok {
	const char *spec;	/* the text */
	unsigned flags;		/* the kind of key */
	const char *host;	/* expected host ("" for any) */
	unsigned port;		/* expected port */
	const char *path;	/* expected unix path, or NULL */
};

/* hp_bad - one address refused, with the reason */
struct hp_bad {
	const char *spec;	/* the text */
	unsigned flags;		/* the kind of key */
	const char *why;	/* expected reason */
};

#define C HOSTPORT_CONNECT
#define B HOSTPORT_BIND
#define S HOSTPORT_SOCKET

/* test_good - every form each kind takes */
static void test_good(void **state)
{
	static const struct hp_ok ok[] = {
		{ "inet:10026@127.0.0.1", C, "127.0.0.1", 10026, NULL },
		{ "inet6:2525@[::1]", C, "::1", 2525, NULL },
		{ "inet6:2525@::1", C, "::1", 2525, NULL },
		{ "127.0.0.1:10026", C, "127.0.0.1", 10026, NULL },
		{ "localhost:25", C, "localhost", 25, NULL },
		{ "[::1]:10026", C, "::1", 10026, NULL },
		{ "[127.0.0.1]:25", C, "127.0.0.1", 25, NULL },
		{ "127.0.0.1:65535", C, "127.0.0.1", 65535, NULL },
		{ "127.0.0.1:8080", B, "127.0.0.1", 8080, NULL },
		{ "127.0.0.1:0", B, "127.0.0.1", 0, NULL },
		{ "[::]:8080", B, "::", 8080, NULL },
		{ "::1:8080", B, "::1", 8080, NULL },
		{ "2001:db8::1:443", B, "2001:db8::1", 443, NULL },
		{ "*:80", B, "", 80, NULL },
		{ ":80", B, "", 80, NULL },
		{ "unix:/run/beacon/milter.sock", S, "", 0, "/run/beacon/milter.sock" },
		{ "local:/x.sock", S, "", 0, "/x.sock" },
		{ "/x.sock", S, "", 0, "/x.sock" },
		{ "inet:8891@127.0.0.1", S, "127.0.0.1", 8891, NULL },
		{ "inet:8891", S, "", 8891, NULL },
		{ "inet6:8891@::1", S, "::1", 8891, NULL },
	};
	struct hostport hp;
	char why[256];
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (hostport_parse(ok[i].spec, ok[i].flags, &hp, why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", ok[i].spec, why);
		assert_string_equal(hp.host, ok[i].host);
		assert_int_equal(hp.port, ok[i].port);
		if (ok[i].path)
			assert_string_equal(hp.path, ok[i].path);
		else
			assert_null(hp.path);
	}
}

/* test_bad - the reason each bad address gets */
static void test_bad(void **state)
{
	static const struct hp_bad bad[] = {
		{ "", C, "empty" },
		{ NULL, C, "empty" },
		{ "inet:10026", C, "expected inet:port@host" },
		{ "inet:x@127.0.0.1", C, "the port must be a number from 1 to 65535" },
		{ "inet:x@", C, "the port must be a number from 1 to 65535" },
		{ "inet:25@", C, "no host" },
		{ "127.0.0.1", C, "expected host:port, [v6]:port, inet:port@host or inet6:port@host" },
		{ "127.0.0.1:0", C, "the port must be a number from 1 to 65535" },
		{ "127.0.0.1:70000", C, "the port must be a number from 1 to 65535" },
		{ "127.0.0.1:000080", C, "the port must be a number from 1 to 65535" },
		{ "127.0.0.1:+80", C, "the port must be a number from 1 to 65535" },
		{ "127.0.0.1:", C, "the port must be a number from 1 to 65535" },
		{ "::1:25", C, "an IPv6 address needs brackets: [v6]:port" },
		{ "fe80::x:25", B, "an IPv6 address needs brackets: [v6]:port" },
		{ "[]:80", B, "no host" },
		{ "unix:/x", C, "expected host:port, [v6]:port, inet:port@host or inet6:port@host" },
		{ "/x", B, "expected host:port, [v6]:port or *:port" },
		{ "[::1]", C, "expected host:port, [v6]:port, inet:port@host or inet6:port@host" },
		{ "*:25", C, "bad character '*' in the host" },
		{ ":25", C, "no host" },
		{ "a b:25", C, "bad character ' ' in the host" },
		{ "a\tb:25", C, "a control character in the host" },
		{ "a\nb:25", C, "a control character in the host" },
		{ "localhost", B, "expected host:port, [v6]:port or *:port" },
		{ "127.0.0.1:99999", B, "the port must be a number from 0 to 65535" },
		{ "inet:80@127.0.0.1", B, "expected host:port, [v6]:port or *:port" },
		{ "127.0.0.1:8891", S, "expected inet:port@host, inet6:port@host or unix:/path" },
		{ "unix:", S, "no socket path" },
		{ "inet:8891@*", S, "bad character '*' in the host" },
		{ "inet:0@127.0.0.1", S, "the port must be a number from 1 to 65535" },
	};
	struct hostport hp;
	char why[256];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hostport_parse(bad[i].spec, bad[i].flags, &hp, why, sizeof(why)) == 0)
			fail_msg("'%s' accepted", bad[i].spec);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("'%s': got '%s', want '%s'", bad[i].spec, why, bad[i].why);
	}
}

/* test_long_host - a host that does not fit is refused, one that fits is kept */
static void test_long_host(void **state)
{
	char spec[HOSTPORT_HOST_MAX + 16], why[256];
	struct hostport hp;
	(void)state;

	memset(spec, 'a', HOSTPORT_HOST_MAX - 1);
	strcpy(spec + HOSTPORT_HOST_MAX - 1, ":25");
	assert_int_equal(hostport_parse(spec, C, &hp, why, sizeof(why)), 0);
	assert_int_equal(strlen(hp.host), HOSTPORT_HOST_MAX - 1);
	memset(spec, 'a', HOSTPORT_HOST_MAX);
	strcpy(spec + HOSTPORT_HOST_MAX, ":25");
	assert_int_equal(hostport_parse(spec, C, &hp, why, sizeof(why)), -1);
	assert_string_equal(why, "the host is longer than 255 characters");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
