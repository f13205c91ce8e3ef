/*
 * test_pixelsrv_event_bin.c - pixelsrv/event_bin.c against a real
 * throwaway PostgreSQL: the binary COPY rows the writer sends store
 * exactly what the text lines of event_copy_row() store.
 *
 * DESCRIPTION
 *	Rows of every kind and shape (opens, clicks, downloads with and
 *	without bytes, partial; IPv4, IPv6, IPv4-mapped, no address; a
 *	User-Agent with control bytes, a backslash, tabs, valid and invalid
 *	UTF-8; empty and long GeoIP names; place and ASN or none; a reason or
 *	none; node or none; hint bits; a time before 2000 and the last
 *	microsecond of a month) go through COPY text into one table and
 *	binary COPY into another, both LIKE beacon.events: the two tables
 *	hold the same rows, and as many as were sent (the latitudes and
 *	longitudes have at most 15 significant digits: beyond, binary keeps
 *	the double exactly and text to 15 digits).  A link number over
 *	int's range is refused by both (SQLSTATE class 22), so the writer's
 *	row-by-row retry sends it to rejected.spool either way.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "db_throwaway.h"
#include "event.h"
#include "token.h"

#define NROWS 64

/* the rows of the test and what they point to */
static struct event_raw raws[NROWS];
static struct event_row rows[NROWS];

/* q - one statement; its single value, or "" */
static char *q(PGconn *c, const char *sql)
{
	static char v[256];
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	snprintf(v, sizeof(v), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return v;
}

/* copy - one COPY of DATA[0..LEN) with SQL; the SQLSTATE of its failure, or NULL */
static const char *copy(PGconn *c, const char *sql, const char *data, size_t len)
{
	static char state[8];
	PGresult *res = PQexec(c, sql);
	const char *st = NULL;

	assert_int_equal(PQresultStatus(res), PGRES_COPY_IN);
	PQclear(res);
	assert_int_equal(PQputCopyData(c, data, (int)len), 1);
	assert_int_equal(PQputCopyEnd(c, NULL), 1);
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(state, sizeof(state), "%s",
			    PQresultErrorField(res, PG_DIAG_SQLSTATE) ?: "?");
			st = state;
		}
		PQclear(res);
	}
	return st;
}

/* table_sql - EVENT_COPY_SQL (BIN) or EVENT_COPY_TEXT_SQL into TABLE */
static const char *table_sql(int bin, const char *table)
{
	static char out[1024];

	snprintf(out, sizeof(out), "COPY %s (" EVENT_COPY_COLUMNS ") FROM STDIN%s", table,
	    bin ? " (FORMAT binary)" : "");
	return out;
}

/* mkrow - row I: a mix of every column's shapes */
static void mkrow(int i)
{
	static const char *ips[] = { "192.0.2.7", "2001:db8::42", "::ffff:198.51.100.9", "",
				     "203.0.113.0", "2001:db8:1234::" };
	static const char *uas[] = {
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
		"tab\there back\\slash \x01\x1f\x7f end",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7 ok",
		"bad \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 tail \xc3",
		"",
		"\"quoted\" 'single' \\N literal",
	};
	struct event_raw *ev = &raws[i];
	struct event_row *r = &rows[i];

	memset(ev, 0, sizeof(*ev));
	memset(r, 0, sizeof(*r));
	ev->at_us = 1795000000123456LL + (int64_t)i * 1000003;
	if (i == 5)
		ev->at_us = 915148800000001LL;		/* 1999-01-01, before PostgreSQL's epoch */
	if (i == 6)
		ev->at_us = 1798761599999999LL;		/* 2026-12-31 23:59:59.999999 */
	ev->kind = (uint8_t)(i % 3 == 0 ? EVENT_OPEN : i % 3 == 1 ? EVENT_CLICK : EVENT_DOWNLOAD);
	for (int k = 0; k < TOKEN_RID_LEN; k++)
		ev->rid[k] = (uint8_t)(i * 16 + k * 7);
	ev->link_n = (uint32_t)(i * 37 + 1);
	ev->attachment_id = (uint32_t)(i + 1);
	ev->bytes = i % 4 == 0 ? -1 : (int64_t)i * 1000000007LL;
	ev->partial = (uint8_t)(i % 5 == 0);
	ev->flags = (uint8_t)(i * 29);
	event_set_ua(ev, uas[i % 6]);
	if (i % 7) {
		ev->node_len = (uint16_t)snprintf(ev->node, sizeof(ev->node), "px-%d.example", i);
	}
	r->raw = ev;
	r->cls = (enum event_class)(i % 6);
	snprintf(r->reason, sizeof(r->reason), "%s", i % 3 ? "" : "honeypot-peer");
	r->late = i % 2;
	snprintf(r->ip, sizeof(r->ip), "%s", ips[i % 6]);
	snprintf(r->ua.device, sizeof(r->ua.device), "%s", i % 4 ? "mobile" : "");
	snprintf(r->ua.os, sizeof(r->ua.os), "%s", i % 3 ? "iOS 17" : "");
	snprintf(r->ua.browser, sizeof(r->ua.browser), "%s", "Mobile Safari 17");
	snprintf(r->ua.client, sizeof(r->ua.client), "%s", i % 5 ? "Apple Mail" : "");
	snprintf(r->geo.country, sizeof(r->geo.country), "%s", i % 4 ? "FR" : "");
	if (i % 8 == 3)
		memset(r->geo.region, 'r', 700);	/* a long name, whole */
	else
		snprintf(r->geo.region, sizeof(r->geo.region), "%s", "\xc3\x8ele-de-France");
	snprintf(r->geo.city, sizeof(r->geo.city), "%s", i % 2 ? "Paris" : "");
	r->geo.has_location = i % 3 != 2;
	r->geo.latitude = 48.8566 + i * 0.001;
	r->geo.longitude = -2.3522 - i * 0.25;
	r->geo.asn = i % 4 == 1 ? 0 : 64496u + (unsigned)i * 100000u;
	snprintf(r->geo.asn_org, sizeof(r->geo.asn_org), "%s", i % 2 ? "Example \\ Net\t" : "");
}

/* test_same_rows - text and binary store the same NROWS rows */
static void test_same_rows(void **state)
{
	static char text[NROWS * EVENT_COPY_MAX], bin[NROWS * EVENT_COPY_MAX];
	size_t tl = 0, bl;
	PGconn *c = PQconnectdb(db_cluster.conninfo);
	(void)state;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	q(c, "CREATE TABLE unit_text (LIKE beacon.events INCLUDING DEFAULTS)");
	q(c, "CREATE TABLE unit_bin (LIKE beacon.events INCLUDING DEFAULTS)");
	bl = event_bin_header(bin);
	for (int i = 0; i < NROWS; i++) {
		int n;
		mkrow(i);
		n = event_copy_row(&rows[i], text + tl, sizeof(text) - tl);
		assert_true(n > 0);
		tl += (size_t)n;
		n = event_bin_row(&rows[i], bin + bl, sizeof(bin) - bl);
		assert_true(n > 0);
		bl += (size_t)n;
	}
	bl += event_bin_trailer(bin + bl);
	assert_null(copy(c, table_sql(0, "unit_text"), text, tl));
	assert_null(copy(c, table_sql(1, "unit_bin"), bin, bl));
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin"), "64");
	assert_string_equal(q(c, "SELECT count(*) FROM ((TABLE unit_text EXCEPT ALL TABLE unit_bin) "
	    "UNION ALL (TABLE unit_bin EXCEPT ALL TABLE unit_text)) d"), "0");
	/* what the shapes came to: NULLs, the replaced bytes, the mapped address */
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin WHERE user_agent IS NULL"), "10");
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin WHERE user_agent LIKE "
	    "'bad \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd %'"), "11");
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin WHERE ip = '::ffff:198.51.100.9'"),
	    "11");
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin WHERE node IS NULL"), "10");
	assert_string_equal(q(c, "SELECT min(at)::text FROM unit_bin"),
	    "1999-01-01 00:00:00.000001+00");
	assert_string_equal(q(c, "SELECT count(*) FROM unit_bin WHERE length(region) = 700"), "8");
	q(c, "DROP TABLE unit_text, unit_bin");
	PQfinish(c);
}

/* test_link_out_of_range - a link number over int's range: refused by text and binary */
static void test_link_out_of_range(void **state)
{
	char text[EVENT_COPY_MAX], bin[EVENT_COPY_MAX];
	size_t bl;
	int tl;
	const char *st;
	PGconn *c = PQconnectdb(db_cluster.conninfo);
	(void)state;

	q(c, "CREATE TABLE unit_range (LIKE beacon.events INCLUDING DEFAULTS)");
	mkrow(1);
	raws[1].link_n = 3000000000u;
	tl = event_copy_row(&rows[1], text, sizeof(text));
	bl = event_bin_header(bin);
	bl += (size_t)event_bin_row(&rows[1], bin + bl, sizeof(bin) - bl);
	bl += event_bin_trailer(bin + bl);
	st = copy(c, table_sql(0, "unit_range"), text, (size_t)tl);
	assert_non_null(st);
	assert_memory_equal(st, "22", 2);
	st = copy(c, table_sql(1, "unit_range"), bin, bl);
	assert_non_null(st);
	assert_memory_equal(st, "22", 2);
	assert_string_equal(q(c, "SELECT count(*) FROM unit_range"), "0");
	q(c, "DROP TABLE unit_range");
	PQfinish(c);
}

/* test_too_small - a buffer too small: -1, nothing claimed */
static void test_too_small(void **state)
{
	char buf[64];
	(void)state;

	mkrow(2);
	assert_int_equal(event_bin_row(&rows[2], buf, sizeof(buf)), -1);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_rows),
		cmocka_unit_test(test_link_out_of_range),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, db_cluster_up_schema, db_cluster_down);
}
