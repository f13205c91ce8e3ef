/*
 * test_lib_cfg.c - unit tests of the beacon.conf(5) reader: defaults, every
 * type (the network types too: cidr list, address, address list, socket),
 * and every error path (unreadable file, unknown section, unknown key, bad
 * value of each type, syntax error) naming file, line and key.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "log.h"

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

/* test_net_values - good values of the network types are kept as written */
static void test_net_values(void **state)
{
	struct beacon_cfg cfg;
	char err[512];
	const char *text =
		"syslog_facility = LOCAL3\n"
		"[milter]\n"
		"socket = inet:8891\n"
		"reinject = [::1]:2525\n"
		"[pixelsrv]\n"
		"listen = *:0, [::]:8080 ,127.0.0.1:80\n"
		"trusted_proxies = 127.0.0.1, 10.0.0.0/8 , 2001:db8::/32\n"
		"internal_networks =\n";
	assert_int_equal(load(&cfg, text, err, sizeof(err)), 0);
	assert_int_equal(cfg.global.syslog_facility, 5);
	assert_int_equal(log_facility_code(cfg.global.syslog_facility), LOG_LOCAL3);
	assert_int_equal(log_facility_code(0), LOG_MAIL);
	assert_int_equal(log_facility_code(99), LOG_MAIL);
	assert_string_equal(cfg.milter.socket, "inet:8891");
	assert_string_equal(cfg.milter.reinject, "[::1]:2525");
	assert_int_equal(cfg.pixelsrv.listen.n, 3);
	assert_string_equal(cfg.pixelsrv.listen.v[0], "*:0");
	assert_string_equal(cfg.pixelsrv.listen.v[1], "[::]:8080");
	assert_string_equal(cfg.pixelsrv.listen.v[2], "127.0.0.1:80");
	assert_int_equal(cfg.pixelsrv.trusted_proxies.n, 3);
	assert_string_equal(cfg.pixelsrv.trusted_proxies.v[2], "2001:db8::/32");
	assert_int_equal(cfg.pixelsrv.internal_networks.n, 0);
	cfg_free(&cfg);
	/* the other forms of each */
	assert_int_equal(load(&cfg, "[milter]\nsocket = local:/run/m.sock\nreinject = localhost:25\n",
			      err, sizeof(err)), 0);
	cfg_free(&cfg);
	assert_int_equal(load(&cfg, "[milter]\nsocket = inet6:8891@[::1]\nreinject = inet6:25@::1\n",
			      err, sizeof(err)), 0);
	cfg_free(&cfg);
}

/* test_net_errors - a bad network value names file, line, key and the reason */
static void test_net_errors(void **state)
{
	expect_error("[pixelsrv]\ntrusted_proxies = 10.0.0.0/33\n",
		     ":2: bad value '10.0.0.0/33' for key 'trusted_proxies': "
		     "bad prefix length (0-32) in \"10.0.0.0/33\"");
	expect_error("[pixelsrv]\ninternal_networks = 10.0.0.0/8, 300.1.1.1\n",
		     ":2: bad value '10.0.0.0/8, 300.1.1.1' for key 'internal_networks': "
		     "not an IP address: \"300.1.1.1\"");
	expect_error("[pixelsrv]\ntrusted_proxies = 2001:db8::/129\n",
		     ":2: bad value '2001:db8::/129' for key 'trusted_proxies': "
		     "bad prefix length (0-128) in \"2001:db8::/129\"");
	expect_error("[pixelsrv]\nlisten = 127.0.0.1:99999\n",
		     ":2: bad value '127.0.0.1:99999' for key 'listen': "
		     "the port must be a number from 0 to 65535");
	expect_error("[pixelsrv]\nlisten = localhost\n",
		     ":2: bad value 'localhost' for key 'listen': "
		     "expected host:port, [v6]:port or *:port");
	expect_error("[pixelsrv]\nlisten = 127.0.0.1:80, fe80::x:80\n",
		     ":2: bad value '127.0.0.1:80, fe80::x:80' for key 'listen': "
		     "'fe80::x:80': an IPv6 address needs brackets: [v6]:port");
	expect_error("[milter]\nreinject = inet:x@\n",
		     ":2: bad value 'inet:x@' for key 'reinject': "
		     "the port must be a number from 1 to 65535");
	expect_error("[milter]\nreinject = inet:10026\n",
		     ":2: bad value 'inet:10026' for key 'reinject': expected inet:port@host");
	expect_error("[milter]\nreinject = *:25\n",
		     ":2: bad value '*:25' for key 'reinject': bad character '*' in the host");
	expect_error("[milter]\nreinject =\n", ":2: bad value '' for key 'reinject': empty");
	expect_error("[milter]\nsocket = 127.0.0.1:8891\n",
		     ":2: bad value '127.0.0.1:8891' for key 'socket': "
		     "expected inet:port@host, inet6:port@host or unix:/path");
	expect_error("[milter]\nsocket = unix:\n",
		     ":2: bad value 'unix:' for key 'socket': no socket path");
	expect_error("syslog_facility = kern\n",
		     ":1: bad value 'kern' for key 'syslog_facility': not one of the allowed values "
		     "(mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7)");
}

/* test_print_keys - -k names each key's type as beacon.conf(5) does */
static void test_print_keys(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	cfg_print_keys(fp);
	fclose(fp);
	assert_non_null(strstr(buf, "\nmilter\tsocket\tsocket\tunix:/run/beacon/milter.sock\n"));
	assert_non_null(strstr(buf, "\nmilter\treinject\taddress\tinet:10026@127.0.0.1\n"));
	assert_non_null(strstr(buf, "\npixelsrv\tlisten\taddress list\t127.0.0.1:8080\n"));
	assert_non_null(strstr(buf, "\npixelsrv\ttrusted_proxies\tcidr list\t\n"));
	assert_non_null(strstr(buf, "global\tsyslog_facility\tenum\tmail\n"));
	free(buf);
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
		cmocka_unit_test(test_net_values),
		cmocka_unit_test(test_net_errors),
		cmocka_unit_test(test_print_keys),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
