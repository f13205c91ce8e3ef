/*
 * test_lib_cidr.c - prefix sets: parsing, most-specific match, anonymizing.
 *
 * Exact answers for nested IPv4/IPv6 prefixes, IPv4-mapped addresses,
 * defaults (0.0.0.0/0, ::/0), duplicates and bad input; a randomised
 * comparison with a linear most-specific search (fixed seed); and a set
 * of 300,000 ranges, every probe matched right (its speed is in make bench).
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
#include <time.h>

#include "cidr.h"

static char A, B, C, D, E, F, G, H;	/* distinct data pointers */

/* sa_of - a sockaddr_in or sockaddr_in6 for TEXT */
static struct sockaddr_storage sa_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

/* add - add PREFIX with DATA, which must succeed */
static void add(struct cidr_set *s, const char *prefix, void *data)
{
	char err[128];

	if (cidr_set_add(s, prefix, data, err, sizeof(err)) != 0)
		fail_msg("cidr_set_add(%s): %s", prefix, err);
}

/* test_nested_v4 - the most specific of nested prefixes wins */
static void test_nested_v4(void **state)
{
	struct cidr_set *s = cidr_set_new();
	struct sockaddr_storage ss;

	(void)state;
	/* added out of order on purpose */
	add(s, "10.1.2.0/24", &C);
	add(s, "10.0.0.0/8", &A);
	add(s, "10.1.2.3", &D);
	add(s, "10.1.0.0/16", &B);
	add(s, "10.1.2.255/32", &E);
	assert_int_equal(cidr_set_finish(s), 0);
	assert_int_equal(cidr_set_count(s), 5);

	assert_ptr_equal(cidr_set_match_str(s, "10.0.0.0"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "10.0.0.1"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.0.1"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.1.255"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.0"), &C);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.2"), &C);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.3"), &D);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.4"), &C);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.254"), &C);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.2.255"), &E);
	assert_ptr_equal(cidr_set_match_str(s, "10.1.3.0"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "10.2.0.0"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "10.255.255.255"), &A);
	assert_null(cidr_set_match_str(s, "11.0.0.0"));
	assert_null(cidr_set_match_str(s, "9.255.255.255"));
	assert_null(cidr_set_match_str(s, "0.0.0.0"));
	assert_null(cidr_set_match_str(s, "255.255.255.255"));
	/* IPv4-mapped IPv6 matches the IPv4 prefixes */
	assert_ptr_equal(cidr_set_match_str(s, "::ffff:10.1.2.3"), &D);
	assert_ptr_equal(cidr_set_match_str(s, "::ffff:a01:205"), &C);
	ss = sa_of("::ffff:10.1.2.3");
	assert_ptr_equal(cidr_set_match(s, (struct sockaddr *)&ss), &D);
	ss = sa_of("10.1.9.9");
	assert_ptr_equal(cidr_set_match(s, (struct sockaddr *)&ss), &B);
	/* but not IPv4-compatible or other v6 */
	assert_null(cidr_set_match_str(s, "::10.1.2.3"));
	assert_null(cidr_set_match_str(s, "2001:db8::a01:203"));
	/* bad text never matches */
	assert_null(cidr_set_match_str(s, "10.1.2"));
	assert_null(cidr_set_match_str(s, "10.1.2.3/32"));
	assert_null(cidr_set_match_str(s, ""));
	assert_null(cidr_set_match_str(s, NULL));
	cidr_set_free(s);
}

/* test_v6 - IPv6 prefixes and a v4-mapped prefix */
static void test_v6(void **state)
{
	struct cidr_set *s = cidr_set_new();

	(void)state;
	add(s, "2001:db8::/32", &E);
	add(s, "2001:db8:1::/48", &F);
	add(s, "2001:DB8:1:2::/64", &G);
	add(s, "::ffff:192.0.2.0/120", &H);
	add(s, "::ffff:128.0.0.0/97", &B);	/* the upper half of IPv4 */
	add(s, "::/64", &A);			/* holds all of IPv4 */
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "::1"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "0.0.0.0"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "127.255.255.255"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "128.0.0.0"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "255.255.255.255"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "::ffff:255.255.255.255"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "::1:0:0:0"), &A);
	assert_null(cidr_set_match_str(s, "0:0:0:1::"));
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8::1"), &E);
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8:1::1"), &F);
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8:1:2:ffff:ffff:ffff:ffff"), &G);
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8:1:3::"), &F);
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8:2::1"), &E);
	assert_ptr_equal(cidr_set_match_str(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), &E);
	assert_null(cidr_set_match_str(s, "2001:db9::"));
	assert_null(cidr_set_match_str(s, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	/* a v6-mapped prefix covers plain IPv4 */
	assert_ptr_equal(cidr_set_match_str(s, "192.0.2.77"), &H);
	assert_ptr_equal(cidr_set_match_str(s, "192.0.3.0"), &B);
	cidr_set_free(s);
}

/* test_defaults - 0.0.0.0/0 and ::/0, up to the last address */
static void test_defaults(void **state)
{
	struct cidr_set *s = cidr_set_new();

	(void)state;
	add(s, "0.0.0.0/0", &A);
	add(s, "255.255.255.255", &B);
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "0.0.0.0"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "127.0.0.1"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "255.255.255.254"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "255.255.255.255"), &B);
	assert_null(cidr_set_match_str(s, "::1"));
	assert_null(cidr_set_match_str(s, "ffff::"));
	cidr_set_free(s);

	s = cidr_set_new();
	add(s, "::/0", &A);
	add(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &B);
	add(s, "::/128", &C);
	add(s, "10.0.0.0/8", &D);
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "::"), &C);
	assert_ptr_equal(cidr_set_match_str(s, "::1"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "1.2.3.4"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "10.9.9.9"), &D);
	assert_ptr_equal(cidr_set_match_str(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), &A);
	assert_ptr_equal(cidr_set_match_str(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), &B);
	cidr_set_free(s);
}

/* test_nodata_dup_mask - NULL data, duplicates, host bits, whitespace */
static void test_nodata_dup_mask(void **state)
{
	struct cidr_set *s = cidr_set_new();
	char err[128];

	(void)state;
	add(s, "192.0.2.77/24", NULL);		/* host bits are cleared */
	add(s, "198.51.100.0/24", &A);
	add(s, "198.51.100.0/24", &B);		/* the last one wins */
	add(s, " 203.0.113.0/25\t", &C);	/* surrounding blanks */
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "192.0.2.1"), CIDR_NODATA);
	assert_ptr_equal(cidr_set_match_str(s, "192.0.2.255"), CIDR_NODATA);
	assert_ptr_equal(cidr_set_match_str(s, "198.51.100.9"), &B);
	assert_ptr_equal(cidr_set_match_str(s, "203.0.113.127"), &C);
	assert_null(cidr_set_match_str(s, "203.0.113.128"));
	/* no adds once finished */
	assert_int_equal(cidr_set_add(s, "10.0.0.0/8", &A, err, sizeof(err)), -1);
	assert_string_equal(err, "prefix set already finished");
	cidr_set_free(s);

	/* an empty set and an unfinished set match nothing */
	s = cidr_set_new();
	assert_null(cidr_set_match_str(s, "10.0.0.1"));
	add(s, "10.0.0.0/8", &A);
	assert_null(cidr_set_match_str(s, "10.0.0.1"));
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "10.0.0.1"), &A);
	cidr_set_free(s);
	s = cidr_set_new();
	assert_int_equal(cidr_set_finish(s), 0);
	assert_null(cidr_set_match_str(s, "10.0.0.1"));
	assert_null(cidr_set_match(s, NULL));
	cidr_set_free(s);
	assert_null(cidr_set_match_str(NULL, "10.0.0.1"));
	cidr_set_free(NULL);
}

/* test_bad_input - every malformed prefix is refused with a message */
static void test_bad_input(void **state)
{
	static const struct {
		const char *in;		/* the prefix */
		const char *err;	/* the message */
	} t[] = {
		{ "", "not an IP prefix: \"\"" },
		{ "   ", "not an IP prefix: \"\"" },
		{ "foo", "not an IP address: \"foo\"" },
		{ "/8", "not an IP prefix: \"/8\"" },
		{ "1.2.3", "not an IP address: \"1.2.3\"" },
		{ "10.0.0.256", "not an IP address: \"10.0.0.256\"" },
		{ "010.0.0.1", "not an IP address: \"010.0.0.1\"" },
		{ "10/8", "not an IP address: \"10/8\"" },
		{ "fe80::1%eth0", "not an IP address: \"fe80::1%eth0\"" },
		{ "2001:db8:::1", "not an IP address: \"2001:db8:::1\"" },
		{ "[2001:db8::1]", "not an IP address: \"[2001:db8::1]\"" },
		{ "10.0.0.0/33", "bad prefix length (0-32) in \"10.0.0.0/33\"" },
		{ "10.0.0.0/", "bad prefix length (0-32) in \"10.0.0.0/\"" },
		{ "10.0.0.0/-1", "bad prefix length (0-32) in \"10.0.0.0/-1\"" },
		{ "10.0.0.0/08", "bad prefix length (0-32) in \"10.0.0.0/08\"" },
		{ "10.0.0.0/8/9", "bad prefix length (0-32) in \"10.0.0.0/8/9\"" },
		{ "10.0.0.0/ 8", "bad prefix length (0-32) in \"10.0.0.0/ 8\"" },
		{ "10.0.0.0/1000", "bad prefix length (0-32) in \"10.0.0.0/1000\"" },
		{ "2001:db8::/129", "bad prefix length (0-128) in \"2001:db8::/129\"" },
		{ "2001:db8::/x", "bad prefix length (0-128) in \"2001:db8::/x\"" },
	};
	struct cidr_set *s = cidr_set_new();
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strcpy(err, "unset");
		if (cidr_set_add(s, t[i].in, &A, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", t[i].in);
		assert_string_equal(err, t[i].err);
		/* cidr_check (the config reader's) says the same */
		strcpy(err, "unset");
		assert_int_equal(cidr_check(t[i].in, err, sizeof(err)), -1);
		assert_string_equal(err, t[i].err);
	}
	assert_int_equal(cidr_check("10.0.0.0/8", err, sizeof(err)), 0);
	assert_int_equal(cidr_check(" 2001:db8::/32 ", err, sizeof(err)), 0);
	assert_int_equal(cidr_check("192.0.2.1", err, sizeof(err)), 0);
	assert_int_equal(cidr_set_count(s), 0);
	/* a prefix given by length need not be terminated */
	assert_int_equal(cidr_set_addn(s, "10.0.0.0/8,US", 10, &A, err,
	    sizeof(err)), 0);
	assert_int_equal(cidr_set_finish(s), 0);
	assert_ptr_equal(cidr_set_match_str(s, "10.200.0.1"), &A);
	cidr_set_free(s);
}

/* test_anonymize - /24 and /48 text */
static void test_anonymize(void **state)
{
	static const struct {
		const char *in;		/* address */
		const char *out;	/* truncated text */
	} t[] = {
		{ "192.0.2.123", "192.0.2.0" },
		{ "198.51.100.0", "198.51.100.0" },
		{ "255.255.255.255", "255.255.255.0" },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1::" },
		{ "2001:db8:abcd:ffff::1", "2001:db8:abcd::" },
		{ "::1", "::" },
		{ "::ffff:203.0.113.77", "203.0.113.0" },
	};
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	char out[CIDR_ANON_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss = sa_of(t[i].in);
		assert_int_equal(cidr_anonymize((struct sockaddr *)&ss, out,
		    sizeof(out)), 0);
		assert_string_equal(out, t[i].out);
	}
	ss = sa_of("192.0.2.123");
	assert_int_equal(cidr_anonymize((struct sockaddr *)&ss, out, 9), -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(cidr_anonymize((struct sockaddr *)&sun, out,
	    sizeof(out)), -1);
	assert_int_equal(cidr_anonymize(NULL, out, sizeof(out)), -1);
}

/* ref_prefix - one prefix of the reference search */
struct ref_prefix {
	unsigned char addr[16];	/* network, 16 bytes (v4 mapped) */
	unsigned len;		/* over 128 bits */
	void *data;		/* what it carries */
};

/* ref_in - does ADDR lie in P? */
static int ref_in(const struct ref_prefix *p, const unsigned char *addr)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* test_random_vs_linear - agree with a linear most-specific search */
static void test_random_vs_linear(void **state)
{
	enum { NP = 400, NQ = 20000 };
	static struct ref_prefix p[NP];
	static char tag[NP];
	struct cidr_set *s = cidr_set_new();
	char text[80], buf[INET6_ADDRSTRLEN];
	unsigned char q[16];
	unsigned seed = 12345;
	size_t i, j;

	(void)state;
	/* small address spaces so prefixes nest and collide often */
	for (i = 0; i < NP; i++) {
		int v4 = rand_r(&seed) % 2;
		unsigned plen, k;

		memset(p[i].addr, 0, 16);
		if (v4) {
			p[i].addr[10] = p[i].addr[11] = 0xff;
			p[i].addr[12] = 10;
			p[i].addr[13] = (unsigned char)(rand_r(&seed) % 4);
			p[i].addr[14] = (unsigned char)(rand_r(&seed) % 256);
			p[i].addr[15] = (unsigned char)(rand_r(&seed) % 256);
			plen = 8 + (unsigned)rand_r(&seed) % 25;
			p[i].len = plen + 96;
		} else {
			p[i].addr[0] = 0x20;
			p[i].addr[1] = 0x01;
			p[i].addr[2] = 0x0d;
			p[i].addr[3] = 0xb8;
			p[i].addr[4] = (unsigned char)(rand_r(&seed) % 4);
			p[i].addr[5] = (unsigned char)(rand_r(&seed) % 256);
			p[i].addr[15] = (unsigned char)(rand_r(&seed) % 256);
			plen = 32 + (unsigned)rand_r(&seed) % 97;
			p[i].len = plen;
		}
		for (k = p[i].len; k < 128; k++)
			p[i].addr[k / 8] &= (unsigned char)~(0x80 >> (k % 8));
		p[i].data = &tag[i];
		if (v4)
			inet_ntop(AF_INET, p[i].addr + 12, buf, sizeof(buf));
		else
			inet_ntop(AF_INET6, p[i].addr, buf, sizeof(buf));
		snprintf(text, sizeof(text), "%s/%u", buf, plen);
		add(s, text, p[i].data);
	}
	assert_int_equal(cidr_set_finish(s), 0);
	for (j = 0; j < NQ; j++) {
		const struct ref_prefix *best = NULL;
		struct sockaddr_storage ss;
		void *want, *got;

		memset(q, 0, 16);
		if (j % 2) {
			q[10] = q[11] = 0xff;
			q[12] = (unsigned char)(9 + rand_r(&seed) % 3);
			q[13] = (unsigned char)(rand_r(&seed) % 5);
			q[14] = (unsigned char)(rand_r(&seed) % 256);
			q[15] = (unsigned char)(rand_r(&seed) % 256);
		} else {
			q[0] = 0x20, q[1] = 0x01, q[2] = 0x0d, q[3] = 0xb8;
			q[4] = (unsigned char)(rand_r(&seed) % 5);
			q[5] = (unsigned char)(rand_r(&seed) % 256);
			q[6] = (unsigned char)(rand_r(&seed) % 2);
			q[15] = (unsigned char)(rand_r(&seed) % 256);
		}
		for (i = 0; i < NP; i++)	/* the last added wins a tie */
			if (ref_in(&p[i], q) && (best == NULL || p[i].len >= best->len))
				best = &p[i];
		want = best ? best->data : NULL;
		memset(&ss, 0, sizeof(ss));
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, q, 16);
		got = cidr_set_match(s, (struct sockaddr *)&ss);
		if (got == want && j % 2) {	/* the same as plain IPv4 */
			struct sockaddr_in sin;

			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			memcpy(&sin.sin_addr, q + 12, 4);
			got = cidr_set_match(s, (struct sockaddr *)&sin);
		}
		if (got != want) {
			inet_ntop(AF_INET6, q, buf, sizeof(buf));
			fail_msg("%s: got %td want %td", buf,
			    got ? (char *)got - tag : -1,
			    want ? (char *)want - tag : -1);
		}
	}
	cidr_set_free(s);
}

/* test_300k - build and probe a set the size of Apple's list: every match right */
static void test_300k(void **state)
{
	enum { NV4 = 250000, NV6 = 50000, NQ = 1000000 };
	struct cidr_set *s = cidr_set_new();
	struct sockaddr_in sin;
	char text[64];
	size_t i, hits = 0;
	unsigned seed = 7;

	(void)state;
	for (i = 0; i < NV4; i++) {	/* 100.64.0.0 + 8*i, /29 */
		uint32_t a = 0x64400000u + 8u * (uint32_t)i;

		snprintf(text, sizeof(text), "%u.%u.%u.%u/29", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255);
		add(s, text, (void *)(uintptr_t)(i + 1));
	}
	for (i = 0; i < NV6; i++) {
		snprintf(text, sizeof(text), "2a02:26f7:%zx:%zx::/64",
		    i / 4096, i % 4096 * 16);
		add(s, text, &B);
	}
	assert_int_equal(cidr_set_finish(s), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (i = 0; i < NQ; i++) {
		uint32_t a = 0x64400000u + (uint32_t)rand_r(&seed) % (NV4 * 16);
		void *d;

		sin.sin_addr.s_addr = htonl(a);
		d = cidr_set_match(s, (struct sockaddr *)&sin);
		if (d != NULL) {
			hits++;
			if ((uintptr_t)d != (a - 0x64400000u) / 8 + 1)
				fail_msg("wrong range for %08x", a);
		}
	}
	/* half of the probed space is covered */
	assert_true(hits > NQ / 2 - NQ / 50 && hits < NQ / 2 + NQ / 50);
	assert_ptr_equal(cidr_set_match_str(s, "2a02:26f7:c:30::1"), &B);
	assert_null(cidr_set_match_str(s, "2a02:26f7:c:31::1"));
	cidr_set_free(s);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_nodata_dup_mask),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_anonymize),
		cmocka_unit_test(test_random_vs_linear),
		cmocka_unit_test(test_300k),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
