/*
 * test_cfg.c - unit tests of the beacon.conf(5) reader: defaults, every
 * type, and every error path (unreadable file, unknown section, unknown
 * key, bad value of each type, syntax error) naming file, line and key.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"

static char cfg_path[64];

/* write_cfg - write TEXT to a temp file, return its path */
static const char *write_cfg(const char *text)
{
	strcpy(cfg_path, "/tmp/beacon-cfg-XXXXXX");
	int fd = mkstemp(cfg_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return cfg_path;
}

/* load - load TEXT; return cfg_load's result, message in ERR */
static int load(struct beacon_cfg *cfg, const char *text, char *err, size_t len)
{
	const char *p = write_cfg(text);
	int rc = cfg_load(cfg, p, err, len);
	unlink(p);
	return rc;
}

static void test_defaults(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	assert_int_equal(load(&cfg, "", err, sizeof(err)), 0);
	assert_string_equal(cfg.milter.socket, "unix:/run/beacon/milter.sock");
	assert_string_equal(cfg.milter.tag_header, "X-Beacon");
	assert_int_equal(cfg.milter.clicks, 1);
	assert_int_equal(cfg.milter.track_literal_urls, 0);
	assert_int_equal(cfg.milter.per_recipient, CFG_PER_RCPT_SPLIT);
	assert_int_equal(cfg.milter.on_db_error, CFG_DBERR_SPOOL);
	assert_true(cfg.milter.max_message_size == 20LL * 1024 * 1024);
	assert_int_equal(cfg.milter.attachment_ttl, 30L * 86400);
	assert_int_equal(cfg.milter.internal_domains.n, 0);
	assert_int_equal(cfg.pixelsrv.listen.n, 1);
	assert_string_equal(cfg.pixelsrv.listen.v[0], "127.0.0.1:8080");
	assert_int_equal(cfg.database.statement_timeout, 2000);
	char *ph = cfg_placeholder_url(&cfg);
	assert_string_equal(ph, "https://t.example.com/p.gif");
	free(ph);
	cfg_free(&cfg);
}

static void test_values(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	const char *text =
		"# comment\n"
		"base_url = https://t.example.org\n"
		"[milter]\n"
		"socket = inet:8891@127.0.0.1\n"
		"internal_domains = example.com,  corp.example.com ,,\n"
		"max_message_size = 5m\n"
		"suppression_refresh = 2m\n"
		"clicks = off\n"
		"per_recipient = Shared\n"
		"on_db_error = tempfail\n"
		"placeholder_url = https://x.example/px.gif\n"
		"[pixelsrv]\n"
		"listen = 127.0.0.1:9000, [::1]:9000\n"
		"anonymize_ip = yes\n"
		"batch_size = 500\n"
		"[database]\n"
		"conninfo = host=db dbname=beacon\n"
		"connect_timeout = 1h\n";
	assert_int_equal(load(&cfg, text, err, sizeof(err)), 0);
	assert_string_equal(cfg.global.base_url, "https://t.example.org");
	assert_string_equal(cfg.milter.socket, "inet:8891@127.0.0.1");
	assert_int_equal(cfg.milter.internal_domains.n, 2);
	assert_string_equal(cfg.milter.internal_domains.v[1], "corp.example.com");
	assert_true(cfg_list_has(&cfg.milter.internal_domains, "EXAMPLE.com"));
	assert_false(cfg_list_has(&cfg.milter.internal_domains, "example.net"));
	assert_true(cfg.milter.max_message_size == 5LL * 1024 * 1024);
	assert_int_equal(cfg.milter.suppression_refresh, 120);
	assert_int_equal(cfg.milter.clicks, 0);
	assert_int_equal(cfg.milter.per_recipient, CFG_PER_RCPT_SHARED);
	assert_int_equal(cfg.milter.on_db_error, CFG_DBERR_TEMPFAIL);
	assert_int_equal(cfg.pixelsrv.listen.n, 2);
	assert_string_equal(cfg.pixelsrv.listen.v[1], "[::1]:9000");
	assert_int_equal(cfg.pixelsrv.anonymize_ip, 1);
	assert_int_equal(cfg.pixelsrv.batch_size, 500);
	assert_string_equal(cfg.database.conninfo, "host=db dbname=beacon");
	assert_int_equal(cfg.database.connect_timeout, 3600);
	char *ph = cfg_placeholder_url(&cfg);
	assert_string_equal(ph, "https://x.example/px.gif");
	free(ph);
	cfg_free(&cfg);
}

/* expect_error - TEXT must fail with a message that contains WANT (after the path) */
static void expect_error(const char *text, const char *want)
{
	struct beacon_cfg cfg;
	char err[512], full[600];
	assert_int_equal(load(&cfg, text, err, sizeof(err)), -1);
	snprintf(full, sizeof(full), "%s%s", cfg_path, want);
	if (strcmp(err, full) != 0)
		fail_msg("got '%s', want '%s'", err, full);
	/* a failed load leaves only defaults behind */
	assert_string_equal(cfg.milter.tag_header, "X-Beacon");
	cfg_free(&cfg);
}

static void test_errors(void **state)
{
	expect_error("[milter]\nsockett = x\n", ":2: unknown key 'sockett' in [milter]");
	expect_error("x = 1\n", ":1: unknown key 'x'");
	expect_error("[milter]\ntag_header = X-T\n[pixel]\nlisten = 1\n",
		     ":4: unknown section [pixel] (key 'listen')");
	expect_error("[milter]\nclicks = maybe\n",
		     ":2: bad value 'maybe' for key 'clicks': expected yes or no");
	expect_error("[milter]\n\nmax_message_size = 10x\n",
		     ":3: bad value '10x' for key 'max_message_size': expected a size in bytes, optionally with k, m or g");
	expect_error("[milter]\nmax_message_size = -1\n",
		     ":2: bad value '-1' for key 'max_message_size': expected a size in bytes, optionally with k, m or g");
	expect_error("[milter]\nsuppression_refresh = 1w\n",
		     ":2: bad value '1w' for key 'suppression_refresh': expected a duration in seconds, optionally with s, m, h or d");
	expect_error("[milter]\ndb_pool_size = four\n",
		     ":2: bad value 'four' for key 'db_pool_size': expected a whole number >= 0");
	expect_error("[pixelsrv]\nthreads = 99999999999999999999999\n",
		     ":2: bad value '99999999999999999999999' for key 'threads': expected a whole number >= 0");
	expect_error("[milter]\nper_recipient = each\n",
		     ":2: bad value 'each' for key 'per_recipient': not one of the allowed values (split|shared)");
	expect_error("[milter]\nthis line has no equals sign\n",
		     ":2: syntax error (expected 'key = value' or '[section]')");
	/* the first error wins; later lines are not applied */
	expect_error("[milter]\nclicks = no\nbogus = 1\ntag_header = X-Later\n",
		     ":3: unknown key 'bogus' in [milter]");
}

static void test_unreadable(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	assert_int_equal(cfg_load(&cfg, "/nonexistent/beacon.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/beacon.conf: cannot read: No such file or directory");
	cfg_free(&cfg);
}

static void test_dump(void **state)
{
	struct beacon_cfg cfg;
	char err[512], *buf = NULL;
	size_t len = 0;
	assert_int_equal(load(&cfg, "[milter]\ninternal_domains = a.example, b.example\n", err,
			      sizeof(err)), 0);
	FILE *fp = open_memstream(&buf, &len);
	cfg_dump(&cfg, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "\n[milter]\nsocket = unix:/run/beacon/milter.sock\n"));
	assert_non_null(strstr(buf, "internal_domains = a.example, b.example\n"));
	assert_non_null(strstr(buf, "per_recipient = split\n"));
	assert_non_null(strstr(buf, "on_db_error = spool\n"));
	free(buf);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
