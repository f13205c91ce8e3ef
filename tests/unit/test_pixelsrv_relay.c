/*
 * test_pixelsrv_relay.c - the iCloud Private Relay egress list.
 *
 * Loads tests/fixtures/apple-relay.csv (under BEACON_SRC, default ".")
 * and checks the exact location of addresses inside and just outside its
 * ranges; bad lines, missing and useless files; and a generated list the
 * size of Apple's (300,000 lines), loaded whole and matched right.
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
#include <time.h>
#include <unistd.h>

#include "relay.h"

static char tmpdir[512];	/* scratch directory of this test */

/* setup - make a scratch directory */
static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/beacon-test-relay.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* teardown - remove the scratch directory */
static int teardown(void **state)
{
	char p[600];

	(void)state;
	snprintf(p, sizeof(p), "%s/a.csv", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/big.csv", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

/* write_tmp - write TEXT to the scratch file NAME; its path in BUF */
static const char *write_tmp(char *buf, size_t len, const char *name,
    const char *text)
{
	FILE *fp;

	snprintf(buf, len, "%s/%s", tmpdir, name);
	fp = fopen(buf, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* match - relay_match of address TEXT */
static const struct relay_entry *match(const struct relay_db *r,
    const char *text)
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
	return relay_match(r, (struct sockaddr *)&ss);
}

/* expect - TEXT is in a range located at COUNTRY/REGION/CITY */
static const struct relay_entry *expect(const struct relay_db *r,
    const char *text, const char *country, const char *region,
    const char *city)
{
	const struct relay_entry *e = match(r, text);

	if (e == NULL)
		fail_msg("%s: no range", text);
	if (strcmp(e->country, country) || strcmp(e->region, region) ||
	    strcmp(e->city, city))
		fail_msg("%s: got %s|%s|%s", text, e->country, e->region,
		    e->city);
	return e;
}

/* test_fixture - the repository's fixture file */
static void test_fixture(void **state)
{
	const char *src = getenv("BEACON_SRC");
	const struct relay_entry *ny1, *ny2;
	struct relay_db *r;
	char path[600], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/fixtures/apple-relay.csv",
	    src && *src ? src : ".");
	r = relay_load(path, err, sizeof(err));
	if (r == NULL)
		fail_msg("%s", err);
	assert_string_equal(err, "");
	assert_int_equal(relay_count(r), 6);

	ny1 = expect(r, "172.224.226.0", "US", "US-NY", "New York");
	expect(r, "172.224.226.31", "US", "US-NY", "New York");
	expect(r, "::ffff:172.224.226.5", "US", "US-NY", "New York");
	expect(r, "172.224.226.32", "GB", "GB-SC", "Aberdeen");
	expect(r, "172.224.226.33", "GB", "GB-SC", "Aberdeen");
	expect(r, "172.224.226.34", "GB", "GB-EN", "Oxford");
	expect(r, "172.224.226.35", "GB", "GB-EN", "Oxford");
	assert_null(match(r, "172.224.226.36"));
	assert_null(match(r, "172.224.225.255"));
	expect(r, "104.28.30.0", "JP", "JP-13", "");	/* empty city */
	expect(r, "104.28.30.63", "JP", "JP-13", "");
	assert_null(match(r, "104.28.30.64"));
	expect(r, "2a02:26f7:b3c0::1", "FR", "FR-IDF", "Paris");
	expect(r, "2a02:26f7:b3c7:ffff:ffff:ffff:ffff:ffff", "FR", "FR-IDF",
	    "Paris");
	ny2 = expect(r, "2a02:26f7:b3c8:4000::9", "US", "US-NY", "New York");
	assert_null(match(r, "2a02:26f7:b3c8:4001::"));
	assert_null(match(r, "2a02:26f7:b3bf:ffff:ffff:ffff:ffff:ffff"));
	assert_null(match(r, "192.0.2.1"));
	/* one location stored once, with or without the trailing comma */
	assert_ptr_equal(ny1, ny2);
	assert_null(relay_match(r, NULL));
	relay_free(r);
	assert_null(relay_match(NULL, NULL));
	assert_int_equal(relay_count(NULL), 0);
	relay_free(NULL);
}

/* test_bad_lines - comments, CRLF, blanks, and lines skipped with a reason */
static void test_bad_lines(void **state)
{
	struct relay_db *r;
	char path[600], err[512], want[800];

	(void)state;
	write_tmp(path, sizeof(path), "a.csv",
	    "# egress ranges\r\n"
	    "172.224.226.0/27,US,US-NY,New York,\r\n"
	    "\r\n"
	    "not-a-prefix,US,US-CA,Los Angeles,\n"
	    "172.224.227.0/24,USA,US-CA,Los Angeles,\n"
	    "172.224.228.0/24,US,US-CA-TOO-LONG-X,Los Angeles,\n"
	    "172.224.229.0/33,US,US-CA,Los Angeles,\n"
	    "172.224.230.0/24,\"US\",US-CA,Los Angeles,\n"
	    "  172.224.231.0/24 , de , DE-BE , Berlin \n"
	    "172.224.232.0/24\n"
	    "172.224.233.0/24,CA,CA-QC,Montr\xc3\xa9" "al");
	r = relay_load(path, err, sizeof(err));
	assert_non_null(r);
	snprintf(want, sizeof(want), "%s: 5 lines skipped, first at line 4: "
	    "not an IP address: \"not-a-prefix\"", path);
	assert_string_equal(err, want);
	assert_int_equal(relay_count(r), 4);
	expect(r, "172.224.226.1", "US", "US-NY", "New York");
	expect(r, "172.224.231.1", "de", "DE-BE", "Berlin");
	expect(r, "172.224.232.1", "", "", "");
	expect(r, "172.224.233.1", "CA", "CA-QC", "Montr\xc3\xa9" "al");
	assert_null(match(r, "172.224.227.1"));
	assert_null(match(r, "172.224.228.1"));
	assert_null(match(r, "172.224.229.1"));
	assert_null(match(r, "172.224.230.1"));
	relay_free(r);

	/* nothing usable: an error */
	write_tmp(path, sizeof(path), "a.csv", "<html>Not found</html>\n");
	assert_null(relay_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: no usable range, line 1: not an IP "
	    "address: \"<html>Not found</html>\"", path);
	assert_string_equal(err, want);
	write_tmp(path, sizeof(path), "a.csv", "");
	assert_null(relay_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: no usable range", path);
	assert_string_equal(err, want);
	assert_null(relay_load("/nonexistent/relay.csv", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/relay.csv: No such file or directory");
	assert_null(relay_load(tmpdir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);
}

/* test_long_city - a city past 64 bytes is kept whole; one past GEO_NAME_MAX is skipped, not cut */
static void test_long_city(void **state)
{
	static const char city[] = "Krung Thep Maha Nakhon Amon Rattanakosin "
	    "Mahinthara Ayuthaya Mahadilok Phop Noppharat Ratchathani Bur\xc4\xabrom";
	char path[600], err[512], *csv, *toolong;
	struct relay_db *r;

	(void)state;
	toolong = malloc(GEO_NAME_MAX + 1);
	csv = malloc(2 * GEO_NAME_MAX + 256);
	assert_non_null(toolong);
	assert_non_null(csv);
	memset(toolong, 'X', GEO_NAME_MAX);
	toolong[GEO_NAME_MAX] = '\0';
	snprintf(csv, 2 * GEO_NAME_MAX + 256, "172.224.226.0/27,TH,TH-10,%s,\n"
	    "172.224.227.0/24,TH,TH-10,%s,\n", city, toolong);
	write_tmp(path, sizeof(path), "long.csv", csv);
	r = relay_load(path, err, sizeof(err));
	assert_non_null(r);
	assert_non_null(strstr(err, "line 2: city name too long"));
	assert_int_equal(relay_count(r), 1);
	expect(r, "172.224.226.1", "TH", "TH-10", city);
	assert_null(match(r, "172.224.227.1"));
	relay_free(r);
	free(csv);
	free(toolong);
}

/* test_300k - a list the size of Apple's: loaded whole, every match right */
static void test_300k(void **state)
{
	enum { NV4 = 250000, NV6 = 50000, NQ = 1000000 };
	struct relay_db *r;
	struct sockaddr_in sin;
	char path[600], err[256];
	unsigned seed = 3, hits = 0;
	FILE *fp;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.csv", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (i = 0; i < NV4; i++) {	/* 100.64.0.0 + 4*i, /31 */
		uint32_t a = 0x64400000u + 4u * (uint32_t)i;

		fprintf(fp, "%u.%u.%u.%u/31,US,US-%02zu,City %zu,\n", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255, i % 50, i % 3000);
	}
	for (i = 0; i < NV6; i++)
		fprintf(fp, "2a02:26f7:%zx:%zx::/64,FR,FR-IDF,Paris,\n",
		    i / 4096, i % 4096 * 16);
	assert_int_equal(fclose(fp), 0);

	r = relay_load(path, err, sizeof(err));
	if (r == NULL)
		fail_msg("%s", err);
	assert_string_equal(err, "");
	assert_int_equal(relay_count(r), NV4 + NV6);
	expect(r, "100.64.0.1", "US", "US-00", "City 0");
	expect(r, "100.64.39.33", "US", "US-04", "City 2504");	/* i = 2504 */
	assert_null(match(r, "100.64.39.34"));
	expect(r, "2a02:26f7:c:30::1", "FR", "FR-IDF", "Paris");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (i = 0; i < NQ; i++) {
		uint32_t a = 0x64400000u + (uint32_t)rand_r(&seed) % (NV4 * 4);

		sin.sin_addr.s_addr = htonl(a);
		if (relay_match(r, (struct sockaddr *)&sin) != NULL)
			hits++;
	}
	assert_true(hits > NQ / 2 - NQ / 50 && hits < NQ / 2 + NQ / 50);
	relay_free(r);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_long_city),
		cmocka_unit_test(test_300k),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
