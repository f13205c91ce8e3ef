/*
 * test_pixelsrv_event.c - unit tests of event records: the encoding round
 * trip and its refusals, the classification order (internal, proxy,
 * prefetch, human) with the place each class keeps, anonymize_ip, the
 * request flags (HEAD, no Accept, no Accept-Language) beside the address
 * flags, golden COPY text lines including escaping and UTF-8 repair, and a
 * download's bytes and partial (and version 1 records, which have none),
 * and the node each record names (version 2 records name none).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cidr.h"
#include "event.h"
#include "relay.h"
#include "ua.h"

/* fixture - files and databases shared by the tests */
struct fixture {
	char dir[64];			/* temp directory */
	struct ua_db *ua;		/* tiny rules: one proxy, one client */
	struct relay_db *relay;		/* one relay range */
	struct cidr_set *internal;	/* 10.0.0.0/8 */
};

/* write_file - create DIR/NAME with TEXT; the path in OUT */
static void write_file(const char *dir, const char *name, const char *text, char *out, size_t len)
{
	FILE *fp;
	snprintf(out, len, "%s/%s", dir, name);
	fp = fopen(out, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* setup - tiny uap-core and mail-client files, a relay CSV, internal networks */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char uap[128], mc[128], csv[128], err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/beacon-event-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	write_file(f->dir, "regexes.yaml",
	    "user_agent_parsers:\n"
	    "  - regex: '(Thunderbird)/(\\d+)\\.(\\d+)'\n"
	    "os_parsers:\n"
	    "  - regex: '(Linux)'\n"
	    "device_parsers:\n"
	    "  - regex: 'X11'\n"
	    "    device_replacement: 'Other'\n", uap, sizeof(uap));
	write_file(f->dir, "mail-clients.yaml",
	    "mail_clients:\n"
	    "  - client: 'Gmail image proxy'\n"
	    "    regex: 'GoogleImageProxy'\n"
	    "    class: proxy\n"
	    "  - client: 'Thunderbird'\n"
	    "    regex: 'Thunderbird/'\n"
	    "    device: desktop\n", mc, sizeof(mc));
	write_file(f->dir, "relay.csv", "172.224.226.0/27,US,US-NY,New York\n", csv, sizeof(csv));
	f->ua = ua_open(uap, mc, err, sizeof(err));
	if (!f->ua)
		fail_msg("ua_open: %s", err);
	f->relay = relay_load(csv, err, sizeof(err));
	if (!f->relay)
		fail_msg("relay_load: %s", err);
	f->internal = cidr_set_new();
	assert_int_equal(cidr_set_add(f->internal, "10.0.0.0/8", NULL, err, sizeof(err)), 0);
	assert_int_equal(cidr_set_finish(f->internal), 0);
	*state = f;
	return 0;
}

/* teardown - free and remove */
static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	ua_close(f->ua);
	relay_free(f->relay);
	cidr_set_free(f->internal);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* mkev - an event at a fixed time from IP with UA */
static void mkev(struct event_raw *ev, int kind, const char *ip, const char *ua)
{
	struct sockaddr_storage ss;

	memset(ev, 0, sizeof(*ev));
	ev->at_us = 1795000000123456LL;	/* 2026-11-18 11:06:40.123456 UTC */
	ev->kind = (uint8_t)kind;
	for (int i = 0; i < TOKEN_RID_LEN; i++)
		ev->rid[i] = (uint8_t)(0x10 + i);
	memset(&ss, 0, sizeof(ss));
	if (ip && strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		event_set_addr(ev, (struct sockaddr *)&ss);
	} else if (ip) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		event_set_addr(ev, (struct sockaddr *)&ss);
	} else {
		event_set_addr(ev, NULL);
	}
	event_set_ua(ev, ua);
}

/* line - the COPY line of EV under CTX, NUL-terminated in a static buffer */
static const char *line(const struct event_ctx *ctx, const struct event_raw *ev)
{
	static char buf[EVENT_COPY_MAX + 1];
	struct event_row row;
	int n;

	event_enrich(ctx, ev, NULL, &row);
	n = event_copy_row(&row, buf, EVENT_COPY_MAX);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

#define AT "2026-11-18 11:06:40.123456+00"
#define UUID "10111213-1415-1617-1819-1a1b1c1d1e1f"

/* test_roundtrip - encode then decode gives the same event */
static void test_roundtrip(void **state)
{
	struct event_raw a, b;
	uint8_t buf[EVENT_REC_MAX];
	size_t len;

	(void)state;
	mkev(&a, EVENT_CLICK, "2001:db8:1::5", "Thunderbird/115.0");
	a.link_n = 4000000000u;
	a.at_us = -5;	/* before the epoch survives too */
	len = event_encode(&a, buf);
	assert_int_equal(len, EVENT_HDR_LEN + strlen("Thunderbird/115.0"));
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.at_us, -5);
	assert_int_equal(b.kind, EVENT_CLICK);
	assert_int_equal(b.family, 6);
	assert_int_equal(b.link_n, 4000000000u);
	assert_memory_equal(b.rid, a.rid, TOKEN_RID_LEN);
	assert_memory_equal(b.addr, a.addr, 16);
	assert_int_equal(b.ua_len, a.ua_len);
	assert_memory_equal(b.ua, a.ua, a.ua_len);
}

/* test_decode_refuses - wrong version, kind, family, length */
static void test_decode_refuses(void **state)
{
	struct event_raw a, b;
	uint8_t buf[EVENT_REC_MAX];
	size_t len;

	(void)state;
	mkev(&a, EVENT_OPEN, "192.0.2.1", "ua");
	len = event_encode(&a, buf);
	assert_int_equal(event_decode(buf, len - 1, &b), -1);
	assert_int_equal(event_decode(buf, EVENT_HDR_LEN - 1, &b), -1);
	buf[0] = 4;
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[0] = 0;
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[0] = 1;	/* a version 1 record is 10 bytes shorter */
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[0] = 2;	/* a version 2 record is 1 byte shorter */
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[0] = 3;
	buf[62] = 2;	/* partial is 0 or 1 */
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[62] = 0;
	buf[63] = 1;	/* a node byte the length does not hold */
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[63] = 0;
	buf[1] = 9;
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[1] = EVENT_OPEN;
	buf[2] = 5;
	assert_int_equal(event_decode(buf, len, &b), -1);
	buf[2] = 4;
	assert_int_equal(event_decode(buf, len, &b), 0);
}

/* test_download_record - a download keeps its bytes and partial through the encoding and
 * into COPY text; a version 1 record (written before downloads were served) still decodes,
 * with no bytes; other kinds carry none whatever the struct held */
static void test_download_record(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw a, b;
	uint8_t buf[EVENT_REC_MAX], v1[EVENT_REC_MAX];
	size_t len;

	(void)state;
	mkev(&a, EVENT_DOWNLOAD, NULL, "curl/8");
	a.attachment_id = 2;
	a.bytes = 5000000000LL;	/* over 32 bits */
	a.partial = 1;
	len = event_encode(&a, buf);
	assert_int_equal(len, EVENT_HDR_LEN + 6);
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.kind, EVENT_DOWNLOAD);
	assert_int_equal(b.attachment_id, 2);
	assert_true(b.bytes == 5000000000LL);
	assert_int_equal(b.partial, 1);
	assert_string_equal(line(&ctx, &b),
	    AT "\tdownload\t" UUID "\t\\N\t2\t\\N\tcurl/8\t\\N\t\\N\t\\N\t\\N\t"
	    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t5000000000\tt\t\\N\n");
	b.bytes = 0;
	b.partial = 0;
	assert_string_equal(line(&ctx, &b),
	    AT "\tdownload\t" UUID "\t\\N\t2\t\\N\tcurl/8\t\\N\t\\N\t\\N\t\\N\t"
	    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t0\tf\t\\N\n");
	/* version 1: the same without bytes 54..62 */
	memcpy(v1, buf, 54);
	memcpy(v1 + 54, buf + EVENT_HDR_LEN, 6);
	v1[0] = 1;
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(event_decode(v1, 60, &b), 0);
	assert_int_equal(b.kind, EVENT_DOWNLOAD);
	assert_true(b.bytes == -1);
	assert_int_equal(b.partial, 0);
	assert_int_equal(b.ua_len, 6);
	assert_memory_equal(b.ua, "curl/8", 6);
	assert_int_equal(event_decode(v1, 61, &b), -1);
	/* an open carries no bytes */
	mkev(&a, EVENT_OPEN, NULL, NULL);
	a.bytes = 7;
	a.partial = 1;
	len = event_encode(&a, buf);
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_true(b.bytes == -1);
	assert_int_equal(b.partial, 0);
}

/* test_node_record - a record names the node event_node_start() set, through the
 * encoding and into the COPY line's last column; a version 2 record (no node) decodes
 * with none (\N); the longest name fits a queue slot by shortening a long User-Agent */
static void test_node_record(void **state)
{
	struct event_ctx ctx = { .anonymize = 0 };
	struct event_raw a, b;
	uint8_t buf[EVENT_REC_MAX], v2[EVENT_REC_MAX];
	char big[EVENT_UA_MAX + 1], node[EVENT_NODE_MAX + 1];
	const char *l;
	size_t len;

	(void)state;
	event_node_start("px2.example");
	mkev(&a, EVENT_OPEN, "192.0.2.1", "ua/1");
	len = event_encode(&a, buf);
	assert_int_equal(len, EVENT_HDR_LEN + 11 + 4);
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.node_len, 11);
	assert_memory_equal(b.node, "px2.example", 11);
	assert_int_equal(b.ua_len, 4);
	assert_memory_equal(b.ua, "ua/1", 4);
	l = line(&ctx, &b);
	assert_string_equal(l + strlen(l) - 15, "\tf\tpx2.example\n");
	/* a record a spool kept from before the node: version 2, the UA right after partial */
	memcpy(v2, buf, EVENT_HDR_LEN_V2);
	memcpy(v2 + EVENT_HDR_LEN_V2, buf + EVENT_HDR_LEN + 11, 4);
	v2[0] = 2;
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(event_decode(v2, EVENT_HDR_LEN_V2 + 4, &b), 0);
	assert_int_equal(b.node_len, 0);
	assert_memory_equal(b.ua, "ua/1", 4);
	l = line(&ctx, &b);
	assert_string_equal(l + strlen(l) - 6, "\tf\t\\N\n");
	/* a name of EVENT_NODE_ROOM bytes leaves the whole User-Agent; the longest name
	 * shortens it so that the record still fits a queue slot */
	memset(big, 'u', EVENT_UA_MAX);
	big[EVENT_UA_MAX] = '\0';
	memset(node, 'n', sizeof(node) - 1);
	node[EVENT_NODE_ROOM] = '\0';
	event_node_start(node);
	mkev(&a, EVENT_OPEN, NULL, big);
	len = event_encode(&a, buf);
	assert_int_equal(len, EVENT_REC_MAX);
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.ua_len, EVENT_UA_MAX);
	node[EVENT_NODE_MAX] = '\0';
	memset(node, 'n', EVENT_NODE_MAX);
	event_node_start(node);
	len = event_encode(&a, buf);
	assert_int_equal(len, EVENT_REC_MAX);
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.node_len, EVENT_NODE_MAX);
	assert_int_equal(b.ua_len, EVENT_UA_MAX - (EVENT_NODE_MAX - EVENT_NODE_ROOM));
	buf[63] = EVENT_NODE_MAX + 1;	/* longer than a name may be */
	assert_int_equal(event_decode(buf, len, &b), -1);
	event_node_start(NULL);
	len = event_encode(&a, buf);
	assert_int_equal(event_decode(buf, len, &b), 0);
	assert_int_equal(b.node_len, 0);
}

/* test_ua_truncated - a User-Agent is kept to EVENT_UA_MAX bytes */
static void test_ua_truncated(void **state)
{
	char big[EVENT_UA_MAX + 100];
	struct event_raw ev;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mkev(&ev, EVENT_OPEN, NULL, big);
	assert_int_equal(ev.ua_len, EVENT_UA_MAX);
	mkev(&ev, EVENT_OPEN, NULL, NULL);
	assert_int_equal(ev.ua_len, 0);
}

/* test_copy_human - a plain open: every NULL column is \N */
static void test_copy_human(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 0 };
	struct event_raw ev;

	mkev(&ev, EVENT_OPEN, "192.0.2.10", "Mozilla/5.0 (X11; Linux x86_64) Thunderbird/115.3");
	assert_string_equal(line(&ctx, &ev),
	    AT "\topen\t" UUID "\t\\N\t\\N\t192.0.2.10\t"
	    "Mozilla/5.0 (X11; Linux x86_64) Thunderbird/115.3\t"
	    "desktop\tLinux\tThunderbird 115\tThunderbird\t"
	    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t\\N\tf\t\\N\n");
}

/* test_copy_click - link_n filled, attachment_id NULL; no address, no UA */
static void test_copy_click(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw ev;

	(void)state;
	mkev(&ev, EVENT_CLICK, NULL, NULL);
	ev.link_n = 12;
	assert_string_equal(line(&ctx, &ev),
	    AT "\tclick\t" UUID "\t12\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t"
	    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t\\N\tf\t\\N\n");
}

/* test_copy_escapes - backslash, tab, control bytes, invalid UTF-8 */
static void test_copy_escapes(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw ev;

	(void)state;
	mkev(&ev, EVENT_OPEN, "192.0.2.10", "a\\b\tc\x01" "d\xc3\xa9" "e\xff" "f\xe2\x82");
	assert_string_equal(line(&ctx, &ev),
	    AT "\topen\t" UUID "\t\\N\t\\N\t192.0.2.10\t"
	    "a\\\\b\\011c\\001d\xc3\xa9" "e\xef\xbf\xbd" "f\xef\xbf\xbd\xef\xbf\xbd\t"
	    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t\\N\tf\t\\N\n");
}

/* test_copy_times - the "at" column across seconds, days, years, before the epoch and
 * past 9999 (the calendar of the last second is reused: each line must still be its own) */
static void test_copy_times(void **state)
{
	static const struct {
		int64_t at_us;
		const char *at;
	} t[] = {
		{ 1795000000123456LL, "2026-11-18 11:06:40.123456+00" },
		{ 1795000000999999LL, "2026-11-18 11:06:40.999999+00" },
		{ 1795000001000000LL, "2026-11-18 11:06:41.000000+00" },
		{ 1795000000000007LL, "2026-11-18 11:06:40.000007+00" },
		{ 1798761599999999LL, "2026-12-31 23:59:59.999999+00" },
		{ 1798761600000000LL, "2027-01-01 00:00:00.000000+00" },
		{ 0, "1970-01-01 00:00:00.000000+00" },
		{ -1, "1969-12-31 23:59:59.999999+00" },
		{ -62135596800000000LL, "0001-01-01 00:00:00.000000+00" },
		{ 253402300800000001LL, "10000-01-01 00:00:00.000001+00" },
	};
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw ev;
	char want[EVENT_COPY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mkev(&ev, EVENT_CLICK, NULL, NULL);
		ev.at_us = t[i].at_us;
		ev.link_n = (uint32_t)(i * 1000 + 1);	/* link 0 is the honeypot */
		snprintf(want, sizeof(want), "%s\tclick\t" UUID "\t%u\t\\N\t\\N\t\\N\t\\N\t\\N\t"
		    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\thuman\t\\N\t0\tf\t\\N\tf\t\\N\n",
		    t[i].at, (unsigned)(i * 1000 + 1));
		assert_string_equal(line(&ctx, &ev), want);
	}
}

/* first_row - the COPY line of one click at -1 µs, formatted by a thread of its own */
static void *first_row(void *arg)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_row row;
	struct event_raw ev;
	char *out = arg;
	int n;

	mkev(&ev, EVENT_CLICK, NULL, NULL);
	ev.at_us = -1;
	ev.link_n = 1;
	event_enrich(&ctx, &ev, NULL, &row);
	n = event_copy_row(&row, out, EVENT_COPY_MAX);
	out[n > 0 ? n : 0] = '\0';
	return NULL;
}

/* test_copy_first_time - a thread's first row is its own time even at the second
 * before the epoch (the calendar kept per thread starts empty, not at a second) */
static void test_copy_first_time(void **state)
{
	static const char want[] = "1969-12-31 23:59:59.999999+00\tclick\t";
	static char out[EVENT_COPY_MAX + 1];
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, first_row, out), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(strncmp(out, want, sizeof(want) - 1) == 0);
}

/* test_class_internal - internal_networks wins over everything */
static void test_class_internal(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 0 };
	struct event_raw ev;
	struct event_row row;

	mkev(&ev, EVENT_OPEN, "10.1.2.3", "GoogleImageProxy");
	event_enrich(&ctx, &ev, NULL, &row);
	assert_int_equal(row.cls, EVENT_INTERNAL);
	assert_string_equal(row.ip, "10.1.2.3");
}

/* test_class_proxy - a proxy UA: class proxy, no device, no place */
static void test_class_proxy(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 0 };
	struct event_raw ev;

	mkev(&ev, EVENT_OPEN, "172.224.226.5",
	    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)");
	assert_string_equal(line(&ctx, &ev),
	    AT "\topen\t" UUID "\t\\N\t\\N\t172.224.226.5\t"
	    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)\t"
	    "\\N\t\\N\t\\N\tGmail image proxy\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\tproxy\tproxy-ua\t0\tf\t\\N\tf\t\\N\n");
}

/* test_class_prefetch - an Apple relay address keeps the range's coarse place */
static void test_class_prefetch(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 0 };
	struct event_raw ev;
	struct event_row row;

	mkev(&ev, EVENT_OPEN, "172.224.226.31", "Mozilla/5.0");
	event_enrich(&ctx, &ev, NULL, &row);
	assert_int_equal(row.cls, EVENT_PREFETCH);
	assert_string_equal(row.geo.country, "US");
	assert_string_equal(row.geo.region, "US-NY");
	assert_string_equal(row.geo.city, "New York");
	assert_int_equal(row.geo.has_location, 0);
	mkev(&ev, EVENT_OPEN, "172.224.226.32", "Mozilla/5.0");
	event_enrich(&ctx, &ev, NULL, &row);
	assert_int_equal(row.cls, EVENT_HUMAN);
	assert_string_equal(row.geo.city, "");
}

/* test_anonymize - /24 and /48 when anonymize_ip is on */
static void test_anonymize(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 1 };
	struct event_raw ev;
	struct event_row row;

	(void)state;
	mkev(&ev, EVENT_OPEN, "198.51.100.77", NULL);
	event_enrich(&ctx, &ev, NULL, &row);
	assert_string_equal(row.ip, "198.51.100.0");
	mkev(&ev, EVENT_OPEN, "2001:db8:1:2:3::9", NULL);
	event_enrich(&ctx, &ev, NULL, &row);
	assert_string_equal(row.ip, "2001:db8:1::");
}

/* test_cut_before_queue - with anonymize_ip the encoded record holds only the /24 or /48,
 * and what the full address matched (internal, relay) survives as flags */
static void test_cut_before_queue(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 1 };
	static const uint8_t full4[4] = { 172, 224, 226, 31 };
	uint8_t rec[EVENT_REC_MAX];
	struct event_raw ev, back;
	struct event_row row;
	size_t len;

	event_cut_start(&ctx);
	mkev(&ev, EVENT_OPEN, "172.224.226.31", "Mozilla/5.0");
	len = event_encode(&ev, rec);
	assert_null(memmem(rec, len, full4, 4));
	assert_int_equal(event_decode(rec, len, &back), 0);
	assert_int_equal(back.flags, EVENT_F_CUT | EVENT_F_PREFETCH);
	event_enrich(&ctx, &back, NULL, &row);
	assert_int_equal(row.cls, EVENT_PREFETCH);
	assert_string_equal(row.ip, "172.224.226.0");
	assert_string_equal(row.geo.city, "");	/* no place rather than a false one */

	mkev(&ev, EVENT_OPEN, "10.1.2.3", "Mozilla/5.0");
	assert_int_equal(event_decode(rec, event_encode(&ev, rec), &back), 0);
	assert_int_equal(back.flags, EVENT_F_CUT | EVENT_F_INTERNAL);
	event_enrich(&ctx, &back, NULL, &row);
	assert_int_equal(row.cls, EVENT_INTERNAL);

	mkev(&ev, EVENT_OPEN, "2001:db8:1:2:3::9", NULL);
	len = event_encode(&ev, rec);
	assert_null(memmem(rec, len, ev.addr + 6, 10));
	assert_int_equal(event_decode(rec, len, &back), 0);
	event_enrich(&ctx, &back, NULL, &row);
	assert_string_equal(row.ip, "2001:db8:1::");

	/* off again: the record keeps the address as it came */
	ctx.anonymize = 0;
	event_cut_start(&ctx);
	mkev(&ev, EVENT_OPEN, "172.224.226.31", "Mozilla/5.0");
	len = event_encode(&ev, rec);
	assert_non_null(memmem(rec, len, full4, 4));
	assert_int_equal(event_decode(rec, len, &back), 0);
	assert_int_equal(back.flags, 0);
	event_cut_start(NULL);
}

/* test_request_flags - the request bits the caller sets survive the encoding beside the
 * bits event_encode() adds; a record without them reads 0; unknown bits are dropped */
static void test_request_flags(void **state)
{
	struct fixture *f = *state;
	struct event_ctx ctx = { .ua = f->ua, .geo = NULL, .relay = f->relay, .internal = f->internal, .anonymize = 1 };
	uint8_t rec[EVENT_REC_MAX];
	struct event_raw ev, back;
	size_t len;

	event_cut_start(NULL);
	mkev(&ev, EVENT_CLICK, "192.0.2.7", "curl/8.5.0");
	ev.flags = EVENT_F_HEAD | EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG;
	len = event_encode(&ev, rec);
	assert_int_equal(rec[3], 0x38);
	assert_int_equal(event_decode(rec, len, &back), 0);
	assert_int_equal(back.flags, EVENT_F_HEAD | EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG);

	/* the address bits are event_encode()'s: a caller cannot forge them */
	ev.flags = EVENT_F_NO_LANG | EVENT_F_CUT | EVENT_F_INTERNAL | EVENT_F_PREFETCH;
	assert_int_equal(event_decode(rec, event_encode(&ev, rec), &back), 0);
	assert_int_equal(back.flags, EVENT_F_NO_LANG);

	/* with anonymize_ip both kinds of bits are kept */
	event_cut_start(&ctx);
	mkev(&ev, EVENT_OPEN, "10.1.2.3", "Mozilla/5.0");
	ev.flags = EVENT_F_HEAD | EVENT_F_NO_ACCEPT;
	assert_int_equal(event_decode(rec, event_encode(&ev, rec), &back), 0);
	assert_int_equal(back.flags, EVENT_F_CUT | EVENT_F_INTERNAL | EVENT_F_HEAD |
	    EVENT_F_NO_ACCEPT);
	event_cut_start(NULL);

	/* a record written before the request bits: they read 0; bits nobody defined: dropped */
	mkev(&ev, EVENT_OPEN, "192.0.2.7", "Mozilla/5.0");
	len = event_encode(&ev, rec);
	rec[3] = EVENT_F_CUT | EVENT_F_PREFETCH;
	assert_int_equal(event_decode(rec, len, &back), 0);
	assert_int_equal(back.flags, EVENT_F_CUT | EVENT_F_PREFETCH);
	rec[3] = 0xff;
	assert_int_equal(event_decode(rec, len, &back), 0);
	assert_int_equal(back.flags, 0x3f);
}

/* test_copy_small_buffer - -1, never an overflow, when CAP is too small */
static void test_copy_small_buffer(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw ev;
	struct event_row row;
	char buf[64];

	(void)state;
	mkev(&ev, EVENT_OPEN, "192.0.2.10", "Mozilla/5.0");
	event_enrich(&ctx, &ev, NULL, &row);
	assert_int_equal(event_copy_row(&row, buf, sizeof(buf)), -1);
}

/* test_copy_worst_case - the longest possible line fits EVENT_COPY_MAX */
static void test_copy_worst_case(void **state)
{
	struct event_ctx ctx = { .ua = NULL, .geo = NULL, .relay = NULL, .internal = NULL, .anonymize = 0 };
	struct event_raw ev;
	struct event_row row;
	char ua[EVENT_UA_MAX + 1], *buf = malloc(EVENT_COPY_MAX);

	(void)state;
	memset(ua, '\x01', EVENT_UA_MAX);	/* 4 bytes each once escaped */
	ua[EVENT_UA_MAX] = '\0';
	mkev(&ev, EVENT_DOWNLOAD, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ua);
	ev.attachment_id = 4294967295u;
	event_enrich(&ctx, &ev, NULL, &row);
	memset(row.ua.device, '\\', sizeof(row.ua.device) - 1);
	memset(row.ua.os, '\\', sizeof(row.ua.os) - 1);
	memset(row.ua.browser, '\\', sizeof(row.ua.browser) - 1);
	memset(row.ua.client, '\\', sizeof(row.ua.client) - 1);
	memset(row.geo.region, '\x01', sizeof(row.geo.region) - 1);	/* 4 bytes each */
	memset(row.geo.city, '\x01', sizeof(row.geo.city) - 1);
	memset(row.geo.asn_org, '\x01', sizeof(row.geo.asn_org) - 1);
	strcpy(row.geo.country, "ZZ");
	row.geo.has_location = 1;
	row.geo.latitude = -89.123456789012345;
	row.geo.longitude = -179.12345678901234;
	row.geo.asn = 4294967295u;
	assert_true(event_copy_row(&row, buf, EVENT_COPY_MAX) > 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_download_record),
		cmocka_unit_test(test_node_record),
		cmocka_unit_test(test_ua_truncated),
		cmocka_unit_test(test_copy_human),
		cmocka_unit_test(test_copy_click),
		cmocka_unit_test(test_copy_escapes),
		cmocka_unit_test(test_copy_times),
		cmocka_unit_test(test_copy_first_time),
		cmocka_unit_test(test_class_internal),
		cmocka_unit_test(test_class_proxy),
		cmocka_unit_test(test_class_prefetch),
		cmocka_unit_test(test_anonymize),
		cmocka_unit_test_setup_teardown(test_cut_before_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_flags, setup, teardown),
		cmocka_unit_test(test_copy_small_buffer),
		cmocka_unit_test(test_copy_worst_case),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
