/*
 * test_pixelsrv_geo.c - City/ASN lookups against the test databases.
 *
 * The databases come from tests/fixtures/make-geoip.pl: in the directory
 * BEACON_FIXTURES when set, else the script is run into a temporary
 * directory (BEACON_SRC is the repository root, default ".").  Checks exact
 * country, region, city, location and ASN for the TEST-NET ranges, empty
 * fields for unknown addresses and missing or broken databases, reload by
 * rename, and lookups racing reloads (bounded counts; ASan sees misuse).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "geo.h"

static char fixdir[512];	/* where city.mmdb and asn.mmdb are */
static char tmpdir[512];	/* scratch directory of this test */
static char city_path[600], asn_path[600];
static char warnings[8][600];	/* warnings received */
static int nwarn;

/* on_warn - collect a warning */
static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	if (nwarn < 8)
		snprintf(warnings[nwarn], sizeof(warnings[0]), "%s", msg);
	nwarn++;
}

/* run_script - write the fixtures into DIR with make-geoip.pl; 0 or -1 */
static int run_script(const char *dir)
{
	const char *src = getenv("BEACON_SRC");
	char script[600];
	pid_t pid;
	int status;

	snprintf(script, sizeof(script), "%s/tests/fixtures/make-geoip.pl",
	    src && *src ? src : ".");
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("perl", "perl", script, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* copy_file - copy FROM to TO; 0 or -1 */
static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	ssize_t n;
	int in, out, rc = 0;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (n < 0)
		rc = -1;
	close(in);
	close(out);
	return rc;
}

/* path_in - DIR/NAME into BUF */
static const char *path_in(char *buf, size_t len, const char *dir,
    const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* setup - find or make the fixtures, make a scratch directory */
static int setup(void **state)
{
	const char *env = getenv("BEACON_FIXTURES");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/beacon-test-geo.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (env && *env) {
		snprintf(fixdir, sizeof(fixdir), "%s", env);
	} else {
		snprintf(fixdir, sizeof(fixdir), "%s", tmpdir);
		if (run_script(fixdir) < 0) {
			fprintf(stderr, "make-geoip.pl failed\n");
			return -1;
		}
	}
	path_in(city_path, sizeof(city_path), fixdir, "city.mmdb");
	path_in(asn_path, sizeof(asn_path), fixdir, "asn.mmdb");
	return access(city_path, R_OK) == 0 && access(asn_path, R_OK) == 0 ?
	    0 : -1;
}

/* teardown - remove the scratch directory and what is in it */
static int teardown(void **state)
{
	static const char *const names[] = { "city.mmdb", "asn.mmdb",
	    "c.mmdb", "a.mmdb", "broken.mmdb", "next.mmdb" };
	char p[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_in(p, sizeof(p), tmpdir, names[i]));
	rmdir(tmpdir);
	return 0;
}

/* sa_of - a sockaddr for TEXT */
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

/* lookup - geo_lookup of TEXT */
static struct geo_info lookup(struct geo_db *g, const char *text)
{
	struct sockaddr_storage ss = sa_of(text);
	struct geo_info gi;

	memset(&gi, 0x5a, sizeof(gi));	/* lookup must overwrite it all */
	geo_lookup(g, (struct sockaddr *)&ss, &gi);
	return gi;
}

/* geo_case - an address and everything it must give */
struct geo_case {
	const char *ip;		/* address looked up */
	const char *country;	/* ISO code */
	const char *region;	/* first subdivision */
	const char *city;	/* city */
	double lat, lon;	/* location */
	int has_location;	/* location present */
	uint32_t asn;		/* AS number */
	const char *org;	/* AS organisation */
};

static const struct geo_case geo_cases[] = {
	{ "192.0.2.1", "FR", "\xc3\x8ele-de-France", "Paris", 48.8566, 2.3522,
	    1, 64496, "Example Paris Net" },
	{ "192.0.2.255", "FR", "\xc3\x8ele-de-France", "Paris", 48.8566, 2.3522,
	    1, 64496, "Example Paris Net" },
	{ "::ffff:192.0.2.77", "FR", "\xc3\x8ele-de-France", "Paris", 48.8566,
	    2.3522, 1, 64496, "Example Paris Net" },
	{ "198.51.100.20", "DE", "Berlin", "Berlin", 52.52, 13.405, 1, 64497,
	    "Example Berlin Net" },
	{ "203.0.113.9", "US", "New York", "New York", 40.7128, -74.006, 1,
	    64498, "Example New York Net" },
	{ "2001:db8:1::1", "JP", "Tokyo", "Tokyo", 35.6762, 139.6503, 1, 64499,
	    "Example Tokyo Net" },
	{ "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "JP", "Tokyo", "Tokyo",
	    35.6762, 139.6503, 1, 64499, "Example Tokyo Net" },
	{ "66.249.80.1", "US", "California", "Mountain View", 37.386, -122.0838,
	    1, 15169, "GOOGLE" },
	{ "66.249.95.254", "US", "California", "Mountain View", 37.386,
	    -122.0838, 1, 15169, "GOOGLE" },
	/* outside every range */
	{ "66.249.96.0", "", "", "", 0, 0, 0, 0, "" },
	{ "192.0.3.1", "", "", "", 0, 0, 0, 0, "" },
	{ "8.8.8.8", "", "", "", 0, 0, 0, 0, "" },
	{ "2001:db8:2::1", "", "", "", 0, 0, 0, 0, "" },
	{ "::1", "", "", "", 0, 0, 0, 0, "" },
};

/* check_case - GI is exactly what C says */
static void check_case(const struct geo_info *gi, const struct geo_case *c)
{
	if (strcmp(gi->country, c->country) || strcmp(gi->region, c->region) ||
	    strcmp(gi->city, c->city) || gi->has_location != c->has_location ||
	    gi->latitude != c->lat || gi->longitude != c->lon ||
	    gi->asn != c->asn || strcmp(gi->asn_org, c->org))
		fail_msg("%s: got %s|%s|%s|%d %.6f,%.6f|AS%u %s", c->ip,
		    gi->country, gi->region, gi->city, gi->has_location,
		    gi->latitude, gi->longitude, gi->asn, gi->asn_org);
}

/* test_lookups - exact fields for every fixture range */
static void test_lookups(void **state)
{
	struct geo_db *g;
	size_t i;

	(void)state;
	nwarn = 0;
	g = geo_open(city_path, asn_path, on_warn, NULL);
	assert_non_null(g);
	assert_int_equal(nwarn, 0);
	assert_int_equal(geo_loaded(g), GEO_CITY | GEO_ASN);
	for (i = 0; i < sizeof(geo_cases) / sizeof(geo_cases[0]); i++) {
		struct geo_info gi = lookup(g, geo_cases[i].ip);

		check_case(&gi, &geo_cases[i]);
	}
	geo_close(g);
}

/* the fixture's long names (make-geoip.pl, 2001:db8:77::/48), UTF-8 */
#define LONG_REGION "Krung Th\xc3\xaap Mah\xc4\x81 Nakhon \xe2\x80\x94 " \
	"\xe0\xb8\x81\xe0\xb8\xa3\xe0\xb8\xb8\xe0\xb8\x87\xe0\xb9\x80\xe0\xb8\x97\xe0\xb8\x9e" \
	"\xe0\xb8\xa1\xe0\xb8\xab\xe0\xb8\xb2\xe0\xb8\x99\xe0\xb8\x84\xe0\xb8\xa3" \
	" Metropolitan R\xc3\xa9gion"
#define LONG_CITY "Krung Thep Maha Nakhon Amon Rattanakosin Mahinthara Ayuthaya " \
	"Mahadilok Phop Noppharat Ratchathani Bur\xc4\xabrom"
#define LONG_ORG "Example Long Names Network of the Metropolitan Administration " \
	"and the Provincial Electricity and Telecommunications " \
	"Authorities of the Kingdom of Thailand"

/* test_long_names - names past 64 and 128 bytes whole; one past any real name refused, not cut */
static void test_long_names(void **state)
{
	struct geo_db *g;
	struct geo_info gi;

	(void)state;
	assert_true(strlen(LONG_REGION) > 64 && strlen(LONG_CITY) > 100 &&
	    strlen(LONG_ORG) > 128);
	nwarn = 0;
	g = geo_open(city_path, asn_path, on_warn, NULL);
	gi = lookup(g, "2001:db8:77::1");
	assert_string_equal(gi.country, "TH");
	assert_string_equal(gi.region, LONG_REGION);
	assert_string_equal(gi.city, LONG_CITY);
	assert_string_equal(gi.asn_org, LONG_ORG);
	assert_int_equal(nwarn, 0);

	/* a 2000-byte city: empty, the rest of the record kept, said once */
	gi = lookup(g, "2001:db8:78::1");
	assert_string_equal(gi.city, "");
	assert_string_equal(gi.region, "Bangkok");
	assert_int_equal(gi.has_location, 1);
	assert_int_equal(nwarn, 1);
	assert_non_null(strstr(warnings[0], "2000 bytes"));
	gi = lookup(g, "2001:db8:78::2");
	assert_string_equal(gi.city, "");
	assert_int_equal(nwarn, 1);
	geo_close(g);
}

/* test_one_db - only the city or only the ASN database */
static void test_one_db(void **state)
{
	struct geo_db *g;
	struct geo_info gi;

	(void)state;
	nwarn = 0;
	g = geo_open(city_path, NULL, on_warn, NULL);
	assert_int_equal(geo_loaded(g), GEO_CITY);
	gi = lookup(g, "198.51.100.1");
	assert_string_equal(gi.city, "Berlin");
	assert_int_equal(gi.asn, 0);
	assert_string_equal(gi.asn_org, "");
	geo_close(g);

	g = geo_open("", asn_path, on_warn, NULL);
	assert_int_equal(geo_loaded(g), GEO_ASN);
	gi = lookup(g, "198.51.100.1");
	assert_string_equal(gi.country, "");
	assert_string_equal(gi.city, "");
	assert_int_equal(gi.has_location, 0);
	assert_int_equal(gi.asn, 64497);
	assert_string_equal(gi.asn_org, "Example Berlin Net");
	geo_close(g);

	g = geo_open(NULL, NULL, on_warn, NULL);
	assert_int_equal(geo_loaded(g), 0);
	gi = lookup(g, "198.51.100.1");
	assert_string_equal(gi.country, "");
	assert_int_equal(gi.asn, 0);
	assert_int_equal(geo_reload(g), 0);
	geo_close(g);
	assert_int_equal(nwarn, 0);	/* not configured is not a warning */
}

/* test_missing_broken - warnings, empty fields, no crash */
static void test_missing_broken(void **state)
{
	struct geo_db *g;
	struct geo_info gi;
	char broken[600], want[1200];
	FILE *fp;

	(void)state;
	path_in(broken, sizeof(broken), tmpdir, "broken.mmdb");
	fp = fopen(broken, "w");
	assert_non_null(fp);
	fputs("this is not a MaxMind database\n", fp);
	fclose(fp);

	nwarn = 0;
	g = geo_open("/nonexistent/GeoLite2-City.mmdb", broken, on_warn, NULL);
	assert_non_null(g);
	assert_int_equal(nwarn, 2);
	assert_string_equal(warnings[0], "GeoIP city database "
	    "/nonexistent/GeoLite2-City.mmdb: Error opening the specified "
	    "MaxMind DB file: No such file or directory; its fields stay empty");
	snprintf(want, sizeof(want), "GeoIP ASN database %s: The MaxMind DB "
	    "file contains invalid metadata; its fields stay empty", broken);
	assert_string_equal(warnings[1], want);
	assert_int_equal(geo_loaded(g), 0);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.country, "");
	assert_string_equal(gi.region, "");
	assert_string_equal(gi.city, "");
	assert_string_equal(gi.asn_org, "");
	assert_int_equal(gi.asn, 0);
	assert_int_equal(gi.has_location, 0);
	assert_true(gi.latitude == 0 && gi.longitude == 0);
	/* still missing on reload: warned again, still empty */
	assert_int_equal(geo_reload(g), -1);
	assert_int_equal(nwarn, 4);
	geo_close(g);

	/* a directory is not a database either */
	nwarn = 0;
	g = geo_open(tmpdir, NULL, on_warn, NULL);
	assert_int_equal(nwarn, 1);
	assert_int_equal(geo_loaded(g), 0);
	geo_close(g);

	/* no callback: silent, same result */
	g = geo_open("/nonexistent/x.mmdb", "/nonexistent/y.mmdb", NULL, NULL);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.city, "");
	geo_close(g);

	/* odd inputs */
	g = geo_open(city_path, asn_path, NULL, NULL);
	geo_lookup(g, NULL, &gi);
	assert_string_equal(gi.country, "");
	geo_close(g);
	geo_close(NULL);
}

/* test_reload - a renamed-in file is used after geo_reload */
static void test_reload(void **state)
{
	char c[600], a[600], next[600];
	struct geo_db *g;
	struct geo_info gi;

	(void)state;
	path_in(c, sizeof(c), tmpdir, "c.mmdb");
	path_in(a, sizeof(a), tmpdir, "a.mmdb");
	path_in(next, sizeof(next), tmpdir, "next.mmdb");
	assert_int_equal(copy_file(city_path, c), 0);
	assert_int_equal(copy_file(asn_path, a), 0);
	nwarn = 0;
	g = geo_open(c, a, on_warn, NULL);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.city, "Paris");

	/* the city slot now gets a database without cities */
	assert_int_equal(copy_file(asn_path, next), 0);
	assert_int_equal(rename(next, c), 0);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.city, "Paris");	/* not before the reload */
	assert_int_equal(geo_reload(g), 0);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.city, "");
	assert_string_equal(gi.country, "");
	assert_int_equal(gi.asn, 64496);

	/* and back */
	assert_int_equal(copy_file(city_path, next), 0);
	assert_int_equal(rename(next, c), 0);
	assert_int_equal(geo_reload(g), 0);
	gi = lookup(g, "192.0.2.1");
	assert_string_equal(gi.city, "Paris");

	/* a file gone at reload: warned, the loaded one is kept */
	assert_int_equal(unlink(c), 0);
	assert_int_equal(geo_reload(g), -1);
	assert_int_equal(nwarn, 2);
	assert_non_null(strstr(warnings[1], "keeping the one loaded before"));
	gi = lookup(g, "2001:db8:1::1");
	assert_string_equal(gi.city, "Tokyo");
	assert_int_equal(geo_loaded(g), GEO_CITY | GEO_ASN);
	geo_close(g);
}

/* race_arg - one lookup thread of test_race */
struct race_arg {
	struct geo_db *g;	/* shared handle */
	int iterations;		/* lookups to do */
	int bad;		/* results that were neither state */
	int with_city;		/* results with a city */
};

/* race_lookups - look up Paris; each answer is whole or city-less */
static void *race_lookups(void *vp)
{
	struct race_arg *ra = vp;
	struct sockaddr_in sin;
	struct geo_info gi;
	int i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
	for (i = 0; i < ra->iterations; i++) {
		geo_lookup(ra->g, (struct sockaddr *)&sin, &gi);
		if (gi.asn != 64496)
			ra->bad++;
		else if (strcmp(gi.city, "Paris") == 0 &&
		    strcmp(gi.country, "FR") == 0 && gi.has_location)
			ra->with_city++;
		else if (gi.city[0] || gi.country[0] || gi.has_location)
			ra->bad++;
	}
	return NULL;
}

/* test_race - lookups in three threads while the main one reloads */
static void test_race(void **state)
{
	enum { NT = 3, RELOADS = 60 };
	struct race_arg ra[NT];
	pthread_t th[NT];
	char c[600], next[600];
	struct geo_db *g;
	int i;

	(void)state;
	path_in(c, sizeof(c), tmpdir, "c.mmdb");
	path_in(next, sizeof(next), tmpdir, "next.mmdb");
	assert_int_equal(copy_file(city_path, c), 0);
	g = geo_open(c, asn_path, NULL, NULL);
	for (i = 0; i < NT; i++) {
		ra[i].g = g;
		ra[i].iterations = 20000;
		ra[i].bad = ra[i].with_city = 0;
		assert_int_equal(pthread_create(&th[i], NULL, race_lookups,
		    &ra[i]), 0);
	}
	for (i = 0; i < RELOADS; i++) {
		assert_int_equal(copy_file(i % 2 ? city_path : asn_path, next), 0);
		assert_int_equal(rename(next, c), 0);
		assert_int_equal(geo_reload(g), 0);
	}
	for (i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(ra[i].bad, 0);
	}
	geo_close(g);
}

/* test_many - many lookups in a row, each with the right answer */
static void test_many(void **state)
{
	enum { N = 200000 };
	static const char *const ips[] = { "192.0.2.1", "198.51.100.2",
	    "203.0.113.3", "66.249.81.4", "8.8.8.8", "2001:db8:1::5" };
	struct sockaddr_storage ss[6];
	struct geo_db *g;
	struct geo_info gi;
	unsigned hits = 0, want = 0;
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		ss[i] = sa_of(ips[i]);
	g = geo_open(city_path, asn_path, NULL, NULL);
	for (i = 0; i < N; i++) {
		geo_lookup(g, (struct sockaddr *)&ss[i % 6], &gi);
		hits += gi.city[0] != '\0';
		want += i % 6 != 4;	/* 8.8.8.8 is in no range */
	}
	assert_int_equal(hits, want);
	geo_close(g);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_one_db),
		cmocka_unit_test(test_missing_broken),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
