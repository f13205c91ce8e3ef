/*
 * test_pixelsrv_clientip.c - the client address behind trusted proxies.
 *
 * One table of cases: peer, X-Forwarded-For, Forwarded, and the exact
 * address (and port, and whether a header was used) expected.  Trusted
 * proxies are 10.0.0.0/8, 192.168.0.0/16, 127.0.0.1 and 2001:db8:ffff::/48.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cidr.h"
#include "clientip.h"

/* clientip_case - one request and its expected client */
struct clientip_case {
	const char *peer;	/* socket peer address */
	const char *xff;	/* X-Forwarded-For or NULL */
	const char *fwd;	/* Forwarded or NULL */
	const char *want;	/* expected address text */
	unsigned port;		/* expected port */
	int rc;			/* CLIENTIP_PEER or CLIENTIP_FORWARDED */
};

#define P CLIENTIP_PEER
#define FW CLIENTIP_FORWARDED

static const struct clientip_case cases[] = {
	/* untrusted peer: headers are ignored */
	{ "203.0.113.5", "1.2.3.4", NULL, "203.0.113.5", 4000, P },
	{ "203.0.113.5", NULL, "for=1.2.3.4", "203.0.113.5", 4000, P },
	{ "2001:db8:1::5", "1.2.3.4", NULL, "2001:db8:1::5", 4000, P },
	/* trusted peer, no header */
	{ "10.0.0.1", NULL, NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "", "  ", "10.0.0.1", 4000, P },
	/* X-Forwarded-For */
	{ "10.0.0.1", "198.51.100.7", NULL, "198.51.100.7", 0, FW },
	{ "10.0.0.1", " 198.51.100.7 ", NULL, "198.51.100.7", 0, FW },
	{ "127.0.0.1", "198.51.100.7, 10.0.0.2, 192.168.1.1", NULL,
	    "198.51.100.7", 0, FW },
	/* a spoofed left-most value is never reached */
	{ "10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", NULL,
	    "198.51.100.7", 0, FW },
	{ "10.0.0.1", "10.0.0.9, 198.51.100.7", NULL, "198.51.100.7", 0, FW },
	/* every entry trusted: the left-most */
	{ "10.0.0.1", "10.0.0.5,10.0.0.6", NULL, "10.0.0.5", 0, FW },
	/* garbage stops the walk at the last address believed */
	{ "10.0.0.1", "198.51.100.7, garbage", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "198.51.100.7, garbage, 10.0.0.2", NULL, "10.0.0.2", 0, FW },
	{ "10.0.0.1", "198.51.100.7,,10.0.0.2", NULL, "10.0.0.2", 0, FW },
	{ "10.0.0.1", "198.51.100.7, ", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "unknown", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "198.51.100.7 10.0.0.2", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "198.51.100.7;10.0.0.2", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "1.2.3.4:99999", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "1.2.3.4:", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "[1.2.3.4]", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "[2001:db8::1", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "[2001:db8::1]x", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "fe80::1%eth0", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "198.51.100.7/32", NULL, "10.0.0.1", 4000, P },
	{ "10.0.0.1", "0x7f.1", NULL, "10.0.0.1", 4000, P },
	/* ports and IPv6 forms */
	{ "10.0.0.1", "198.51.100.7:1234", NULL, "198.51.100.7", 1234, FW },
	{ "10.0.0.1", "2001:db8::7", NULL, "2001:db8::7", 0, FW },
	{ "10.0.0.1", "[2001:db8::7]", NULL, "2001:db8::7", 0, FW },
	{ "10.0.0.1", "[2001:db8::7]:443", NULL, "2001:db8::7", 443, FW },
	{ "10.0.0.1", "::ffff:198.51.100.7", NULL, "198.51.100.7", 0, FW },
	{ "10.0.0.1", "2001:db8::7, 2001:db8:ffff::2", NULL, "2001:db8::7", 0, FW },
	/* IPv6 and IPv4-mapped peers */
	{ "2001:db8:ffff::1", "198.51.100.7", NULL, "198.51.100.7", 0, FW },
	{ "::ffff:10.0.0.1", "198.51.100.7", NULL, "198.51.100.7", 0, FW },
	{ "::ffff:203.0.113.5", "198.51.100.7", NULL, "203.0.113.5", 4000, P },
	/* Forwarded (RFC 7239) */
	{ "10.0.0.1", NULL, "for=198.51.100.7", "198.51.100.7", 0, FW },
	{ "10.0.0.1", NULL, "For=\"198.51.100.7:80\"", "198.51.100.7", 80, FW },
	{ "10.0.0.1", NULL, "for=\"[2001:db8:cafe::17]:4711\"",
	    "2001:db8:cafe::17", 4711, FW },
	{ "10.0.0.1", NULL, "for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17", 0, FW },
	{ "10.0.0.1", NULL, "for=[2001:db8:cafe::17]", "2001:db8:cafe::17", 0, FW },
	{ "10.0.0.1", NULL, "for=\"\\[2001:db8::1\\]\"", "2001:db8::1", 0, FW },
	{ "10.0.0.1", NULL, "for=192.0.2.60;proto=http;by=203.0.113.43",
	    "192.0.2.60", 0, FW },
	{ "10.0.0.1", NULL, "proto=https; for=192.0.2.60 ;by=10.0.0.1",
	    "192.0.2.60", 0, FW },
	{ "10.0.0.1", NULL, "for=6.6.6.6, for=198.51.100.7;proto=https, for=10.0.0.2",
	    "198.51.100.7", 0, FW },
	{ "10.0.0.1", NULL, "for=\"6.6.6.6, for=1.1.1.1\", for=198.51.100.7",
	    "198.51.100.7", 0, FW },
	{ "10.0.0.1", NULL, "by=\"x,y\";for=198.51.100.7", "198.51.100.7", 0, FW },
	/* obfuscated, unknown or missing for= stops the walk */
	{ "10.0.0.1", NULL, "for=198.51.100.7, for=_hidden, for=10.0.0.2",
	    "10.0.0.2", 0, FW },
	{ "10.0.0.1", NULL, "for=_SEVKISEK", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=\"_gazonk\"", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=unknown", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=198.51.100.7, proto=https", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=198.51.100.7;for=6.6.6.6", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=\"198.51.100.7", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=\"\"", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "=198.51.100.7", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=198.51.100.7 x", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=198.51.100.7\"", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=\"198.51.100.7\"x", "10.0.0.1", 4000, P },
	{ "10.0.0.1", NULL, "for=1.2.3.4, for=\"garbage\", for=10.0.0.2",
	    "10.0.0.2", 0, FW },
	/* both headers: X-Forwarded-For is used */
	{ "10.0.0.1", "198.51.100.7", "for=6.6.6.6", "198.51.100.7", 0, FW },
	{ "10.0.0.1", " ", "for=198.51.100.8", "198.51.100.8", 0, FW },
};

static struct cidr_set *trusted;

/* setup - the trusted proxies */
static int setup(void **state)
{
	static const char *const nets[] = { "10.0.0.0/8", "192.168.0.0/16",
	    "127.0.0.1", "2001:db8:ffff::/48" };
	char err[128];
	size_t i;

	(void)state;
	trusted = cidr_set_new();
	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if (cidr_set_add(trusted, nets[i], NULL, err, sizeof(err)) < 0)
			return -1;
	return cidr_set_finish(trusted);
}

/* teardown - free the trusted set */
static int teardown(void **state)
{
	(void)state;
	cidr_set_free(trusted);
	return 0;
}

/* peer_of - a sockaddr for TEXT with port 4000 */
static struct sockaddr_storage peer_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(4000);
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(4000);
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

/* text_of - address text and port of SS */
static const char *text_of(const struct sockaddr_storage *ss, unsigned *port,
    char *buf, size_t len)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		*port = ntohs(s4->sin_port);
		return inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)len);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		*port = ntohs(s6->sin6_port);
		return inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
	}
	return "(none)";
}

/* test_table - every case gives exactly its expected client */
static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct clientip_case *c = &cases[i];
		struct sockaddr_storage peer = peer_of(c->peer), out;
		char buf[INET6_ADDRSTRLEN];
		const char *got;
		unsigned port = 0;
		int rc;

		rc = clientip_resolve((struct sockaddr *)&peer, c->xff, c->fwd,
		    trusted, &out);
		got = text_of(&out, &port, buf, sizeof(buf));
		if (rc != c->rc || strcmp(got, c->want) != 0 || port != c->port)
			fail_msg("case %zu (peer %s, xff %s, fwd %s): got %s "
			    "port %u rc %d, want %s port %u rc %d", i, c->peer,
			    c->xff ? c->xff : "-", c->fwd ? c->fwd : "-", got,
			    port, rc, c->want, c->port, c->rc);
		/* IPv4-mapped answers are given as AF_INET */
		if (strchr(c->want, ':') == NULL)
			assert_int_equal(out.ss_family, AF_INET);
	}
}

/* test_hops - at most CLIENTIP_MAX_HOPS entries are walked */
static void test_hops(void **state)
{
	struct sockaddr_storage peer = peer_of("10.0.0.1"), out;
	char xff[4096], buf[INET6_ADDRSTRLEN], fwd[4096];
	unsigned port;
	size_t len;
	int i;

	(void)state;
	/* the client then 40 trusted hops 10.0.1.1 .. 10.0.1.40 */
	len = (size_t)snprintf(xff, sizeof(xff), "198.51.100.7");
	for (i = 1; i <= 40; i++)
		len += (size_t)snprintf(xff + len, sizeof(xff) - len,
		    ", 10.0.1.%d", i);
	assert_int_equal(clientip_resolve((struct sockaddr *)&peer, xff, NULL,
	    trusted, &out), CLIENTIP_FORWARDED);
	/* 32 right-most entries: 10.0.1.9 .. 10.0.1.40, all trusted */
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)), "10.0.1.9");

	/* 31 trusted hops: the client is the 32nd from the right */
	len = (size_t)snprintf(xff, sizeof(xff), "6.6.6.6, 198.51.100.7");
	for (i = 1; i <= 31; i++)
		len += (size_t)snprintf(xff + len, sizeof(xff) - len,
		    ", 10.0.1.%d", i);
	assert_int_equal(clientip_resolve((struct sockaddr *)&peer, xff, NULL,
	    trusted, &out), CLIENTIP_FORWARDED);
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)),
	    "198.51.100.7");

	/* the same through Forwarded */
	len = (size_t)snprintf(fwd, sizeof(fwd), "for=6.6.6.6, for=198.51.100.7");
	for (i = 1; i <= 31; i++)
		len += (size_t)snprintf(fwd + len, sizeof(fwd) - len,
		    ", for=10.0.1.%d;proto=https", i);
	assert_int_equal(clientip_resolve((struct sockaddr *)&peer, NULL, fwd,
	    trusted, &out), CLIENTIP_FORWARDED);
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)),
	    "198.51.100.7");
}

/* test_odd_peers - no trusted set, a non-IP peer, a long entry */
static void test_odd_peers(void **state)
{
	struct sockaddr_storage peer = peer_of("10.0.0.1"), out;
	struct sockaddr_un sun;
	char buf[INET6_ADDRSTRLEN], big[2048];
	unsigned port;

	(void)state;
	assert_int_equal(clientip_resolve((struct sockaddr *)&peer,
	    "198.51.100.7", NULL, NULL, &out), CLIENTIP_PEER);
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)), "10.0.0.1");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(clientip_resolve((struct sockaddr *)&sun,
	    "198.51.100.7", NULL, trusted, &out), -1);
	assert_int_equal(out.ss_family, AF_UNSPEC);
	assert_int_equal(clientip_resolve(NULL, NULL, NULL, trusted, &out), -1);

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(clientip_resolve((struct sockaddr *)&peer, big, big,
	    trusted, &out), CLIENTIP_PEER);
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)), "10.0.0.1");
}

/* test_parse - the entry parser on its own */
static void test_parse(void **state)
{
	struct sockaddr_storage out;
	char buf[INET6_ADDRSTRLEN];
	unsigned port;

	(void)state;
	assert_int_equal(clientip_parse("192.0.2.1:80zzz", 12, &out), 0);
	assert_string_equal(text_of(&out, &port, buf, sizeof(buf)), "192.0.2.1");
	assert_int_equal(port, 80);
	assert_int_equal(clientip_parse("[::1]:65535", 11, &out), 0);
	assert_int_equal(port = ntohs(((struct sockaddr_in6 *)&out)->sin6_port),
	    65535);
	assert_int_equal(clientip_parse("[::1]:65536", 11, &out), -1);
	assert_int_equal(clientip_parse("[::1]:", 6, &out), -1);
	assert_int_equal(clientip_parse("", 0, &out), -1);
	assert_int_equal(clientip_parse("[]", 2, &out), -1);
	assert_int_equal(clientip_parse("1.2.3.4:1:2", 11, &out), -1);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_odd_peers),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
