/*
 * NAME
 *	ingest_bench.c - events per second from beacon-pixelsrv's queue to
 *	PostgreSQL, against a raw COPY of the same rows
 *
 * SYNOPSIS
 *	ingest_bench -m writer|copy -c CONNINFO -d DIR -n EVENTS
 *	    -u UAP_REGEXES -M MAIL_CLIENTS -g CITY_MMDB -a ASN_MMDB [-r RELAY_CSV]
 *	    [-x MACHINES] [-b BATCH] [-t TABLE] [-A ADDRS]
 *	ingest_bench -m geo -n LOOKUPS -g CITY_MMDB [-a ASN_MMDB] [-A ADDRS]
 *
 * DESCRIPTION
 *	Both modes make the same EVENTS synthetic open and click events
 *	(fixed seed: 64 recipients, a dozen real User-Agents among them the
 *	Gmail image proxy, addresses in the GeoIP test networks, in an iCloud
 *	Private Relay range and outside any network), all stamped now.  With
 *	-A, the addresses in the GeoIP test networks are replaced by the
 *	addresses of the file ADDRS (one a line, IPv4 or IPv6: those
 *	tests/bench/make-geoip-prod.pl writes, inside its networks), taken
 *	in a scattered order, so lookups walk a large database's tree to
 *	its depth and miss the CPU cache as real traffic does.
 *
 *	writer: encodes them into pixelsrv's queue file (DIR/events.queue,
 *	as the request path does), then starts pixelsrv's own writer thread
 *	(writer_start, batch_size BATCH) and times it from start until every
 *	event is counted written: decoding, classification, GeoIP and
 *	User-Agent lookups, COPY formatting and the COPY batches.
 *
 *	copy: enriches and formats the same events into the writer's exact
 *	binary COPY rows beforehand (timed separately: enrich_us), then times only
 *	the COPY statements, BATCH rows each, from a plain libpq session:
 *	what PostgreSQL alone costs for these rows.  -t names another table
 *	with the same columns to COPY into (default beacon.events).
 *
 *	geo: times LOOKUPS geo_lookup() calls alone (one thread) over the
 *	same addresses (ADDRS, or the fixed ones) and counts those that
 *	found a city or at least a country.
 *
 *	Prints one line, e.g.
 *	  mode=writer events=200000 seconds=1.234 events_per_s=162074 cpu_us_per_event=4.1
 *	  mode=copy events=200000 seconds=0.700 events_per_s=285714 cpu_us_per_event=0.9 enrich_us=3.2
 *	  mode=geo lookups=1000000 us_per_lookup=0.812 country_hits=1000000 city_hits=875012
 *	cpu_us_per_event is this process's CPU time (the writer thread, or
 *	libpq's side of the COPY) per event; PostgreSQL's own CPU is counted
 *	by the caller.
 *
 * DIAGNOSTICS
 *	Exits 1 when an event was spooled, lost or refused, when the database
 *	refuses a statement, or when the writer has not written every event
 *	within 300 s; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "clock.h"
#include "event.h"
#include "geo.h"
#include "machines.h"
#include "metrics.h"
#include "queue.h"
#include "relay.h"
#include "spool.h"
#include "ua.h"
#include "writer.h"

#define IB_TIMEOUT_S 300	/* longest wait for the writer */

/* the User-Agents the events carry, in proportions loosely like real opens */
static const char *const ib_agents[] = {
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
	"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
	"Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.4.2",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
	"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	"YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
	"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.79 Safari/537.36 Edge/14.14393",
};
#define IB_NAGENTS (sizeof(ib_agents) / sizeof(ib_agents[0]))

/* the client addresses: GeoIP test networks, Google, an Apple relay range, unknown */
static const char *const ib_addrs[] = {
	"192.0.2.10", "198.51.100.20", "203.0.113.30", "66.249.84.5",
	"172.224.226.5", "192.0.2.77", "198.51.100.99", "100.64.1.2",
};
#define IB_NADDRS (sizeof(ib_addrs) / sizeof(ib_addrs[0]))
/* which of ib_addrs are in the GeoIP test networks (-A replaces those) */
static const char ib_in_geo[IB_NADDRS] = { 1, 1, 1, 0, 0, 1, 1, 0 };

/* the -A addresses, NULL without it */
static struct sockaddr_storage *ib_extra;
static size_t ib_nextra;

/* ib_opts - the command line */
struct ib_opts {
	const char *mode;	/* writer or copy */
	const char *conninfo;	/* libpq connection string */
	const char *dir;	/* queue file and spools */
	long events;		/* how many */
	long batch;		/* rows per COPY */
	const char *table;	/* copy: the table COPYed into */
	const char *uap, *clients, *city, *asn, *relay, *machines;	/* enrichment data */
	const char *addrs;	/* -A: client addresses inside the City database */
};

/* ib_now - monotonic seconds */
static double ib_now(void)
{
	return (double)clock_now_us() / 1e6;
}

/* ib_cpu - process CPU seconds */
static double ib_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ib_load_addrs - read the -A file into ib_extra; 0 or -1 */
static int ib_load_addrs(const char *path)
{
	char line[128];
	size_t cap = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		struct sockaddr_storage ss;
		line[strcspn(line, "\r\n")] = '\0';
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, line, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, line, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		else
			continue;
		if (ib_nextra == cap) {
			cap = cap ? cap * 2 : 4096;
			struct sockaddr_storage *n = realloc(ib_extra, cap * sizeof(*n));
			if (n == NULL) {
				fclose(fp);
				return -1;
			}
			ib_extra = n;
		}
		ib_extra[ib_nextra++] = ss;
	}
	fclose(fp);
	if (ib_nextra == 0) {
		fprintf(stderr, "ingest_bench: %s: no address\n", path);
		return -1;
	}
	return 0;
}

/* ib_addr - the client address of the event with hash X */
static void ib_addr(uint32_t x, struct sockaddr_storage *ss)
{
	size_t k = (x >> 12) % IB_NADDRS;

	memset(ss, 0, sizeof(*ss));
	if (ib_extra && ib_in_geo[k]) {
		/* another multiplicative hash: a scattered walk over the whole file */
		*ss = ib_extra[(size_t)(x * 2246822519u) % ib_nextra];
		return;
	}
	ss->ss_family = AF_INET;
	inet_pton(AF_INET, ib_addrs[k], &((struct sockaddr_in *)ss)->sin_addr);
}

/* ib_event - the I-th synthetic event */
static void ib_event(long i, int64_t at_us, struct event_raw *ev)
{
	struct sockaddr_storage ss;
	uint32_t x = (uint32_t)i * 2654435761u;	/* spread i over the tables */

	memset(ev, 0, sizeof(*ev));
	memcpy(ev->node, "px1", 3);	/* as event_decode() leaves it (-m copy formats ev itself) */
	ev->node_len = 3;
	ev->at_us = at_us + i;
	ev->kind = (x >> 8) % 5 == 0 ? EVENT_CLICK : EVENT_OPEN;
	ev->link_n = ev->kind == EVENT_CLICK ? 1 + (x >> 4) % 20 : 0;
	for (int k = 0; k < TOKEN_RID_LEN; k++)
		ev->rid[k] = (uint8_t)(0x5a ^ (k * 17) ^ (int)((x >> 20) % 64));
	ib_addr(x, &ss);
	event_set_addr(ev, (const struct sockaddr *)&ss);
	event_set_ua(ev, ib_agents[(x >> 16) % IB_NAGENTS]);
}

/* ib_geo_warn - GeoIP warnings to stderr */
static void ib_geo_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "ingest_bench: %s\n", msg);
}

/* ib_no_record - queue_recover_fn: a fresh queue file has no records */
static int ib_no_record(void *arg, const uint8_t *rec, size_t len, int unsure)
{
	(void)arg;
	(void)rec;
	(void)len;
	(void)unsure;
	return -1;
}

/* ib_writer - fill the queue, run pixelsrv's writer until every event is written */
static int ib_writer(const struct ib_opts *o, struct beacon_cfg *cfg, struct event_ctx *ctx,
		     PGconn *conn, int64_t at_us)
{
	char err[1024], path[4096];
	struct queue *q;
	struct spool *sp, *rej;
	struct writer_conf wc;
	struct writer *w;
	struct event_raw ev;
	uint8_t rec[EVENT_REC_MAX];
	double t0, c0, t1, c1;

	snprintf(path, sizeof(path), "%s/events.queue", o->dir);
	unlink(path);
	if (!(q = queue_open(path, (size_t)o->events, err, sizeof(err))) ||
	    !(sp = spool_open(o->dir, "events", err, sizeof(err))) ||
	    !(rej = spool_open(o->dir, "rejected", err, sizeof(err)))) {
		fprintf(stderr, "ingest_bench: %s\n", err);
		return 1;
	}
	if (queue_recover(q, ib_no_record, NULL) != 0) {
		fprintf(stderr, "ingest_bench: %s holds records of an earlier run\n", path);
		return 1;
	}
	for (long i = 0; i < o->events; i++) {
		ib_event(i, at_us, &ev);
		size_t len = event_encode(&ev, rec);
		if (queue_push(q, rec, len) < 0) {
			fprintf(stderr, "ingest_bench: queue full at %ld\n", i);
			return 1;
		}
	}
	wc = (struct writer_conf){ .cfg = cfg, .queue = q, .spool = sp, .rejected = rej,
				   .ctx = ctx, .machines = (struct machines_db *)ctx->machines };
	ctx->machines = NULL;	/* the writer's now */
	t0 = ib_now();
	c0 = ib_cpu();
	if (!(w = writer_start(&wc, conn, err, sizeof(err)))) {
		fprintf(stderr, "ingest_bench: %s\n", err);
		return 1;
	}
	while (metrics_get(METRICS_EVENTS_WRITTEN) < (uint64_t)o->events &&
	       metrics_get(METRICS_EVENTS_SPOOLED) == 0 && ib_now() - t0 < IB_TIMEOUT_S)
		usleep(500);
	t1 = ib_now();
	c1 = ib_cpu();
	writer_stop(w);
	if (metrics_get(METRICS_EVENTS_WRITTEN) != (uint64_t)o->events ||
	    metrics_get(METRICS_EVENTS_SPOOLED) || metrics_get(METRICS_EVENTS_LOST) ||
	    metrics_get(METRICS_EVENTS_REJECTED)) {
		fprintf(stderr, "ingest_bench: written %llu spooled %llu lost %llu rejected %llu of %ld\n",
			(unsigned long long)metrics_get(METRICS_EVENTS_WRITTEN),
			(unsigned long long)metrics_get(METRICS_EVENTS_SPOOLED),
			(unsigned long long)metrics_get(METRICS_EVENTS_LOST),
			(unsigned long long)metrics_get(METRICS_EVENTS_REJECTED), o->events);
		return 1;
	}
	printf("mode=writer events=%ld seconds=%.4f events_per_s=%.0f cpu_us_per_event=%.3f\n",
	       o->events, t1 - t0, (double)o->events / (t1 - t0),
	       (c1 - c0) * 1e6 / (double)o->events);
	queue_close(q);
	spool_close(sp);
	spool_close(rej);
	unlink(path);
	return 0;
}

/* ib_copy_batch - one COPY statement of LEN bytes; 0 or -1 */
static int ib_copy_batch(PGconn *conn, const char *sql, const char *buf, size_t len)
{
	PGresult *res = PQexec(conn, sql);
	char hdr[EVENT_BIN_HEADER_LEN], end[2];
	int ok;

	ok = PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	if (!ok || PQputCopyData(conn, hdr, (int)event_bin_header(hdr)) != 1 ||
	    PQputCopyData(conn, buf, (int)len) != 1 ||
	    PQputCopyData(conn, end, (int)event_bin_trailer(end)) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1)
		return -1;
	ok = 1;
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = 0;
		PQclear(res);
	}
	return ok ? 0 : -1;
}

/* ib_copy - format the rows as the writer does, then time COPY of them alone */
static int ib_copy(const struct ib_opts *o, struct event_ctx *ctx, PGconn *conn, int64_t at_us)
{
	size_t cap = (size_t)o->events * 400 + EVENT_COPY_MAX, len = 0;
	size_t *ends = malloc(sizeof(size_t) * (size_t)o->events);
	char *buf = malloc(cap);
	struct event_raw ev;
	struct event_row row;
	double e0, e1, t0, c0, t1, c1;
	char sql[1024];

	/* EVENT_COPY_SQL with the table replaced */
	snprintf(sql, sizeof(sql), "COPY %s (" EVENT_COPY_COLUMNS ") FROM STDIN (FORMAT binary)",
	    o->table);
	if (!buf || !ends) {
		fprintf(stderr, "ingest_bench: out of memory\n");
		return 1;
	}
	e0 = ib_cpu();
	for (long i = 0; i < o->events; i++) {
		int n;
		if (cap - len < EVENT_COPY_MAX) {
			cap *= 2;
			if (!(buf = realloc(buf, cap))) {
				fprintf(stderr, "ingest_bench: out of memory\n");
				return 1;
			}
		}
		ib_event(i, at_us, &ev);
		event_enrich(ctx, &ev, NULL, &row);
		if ((n = event_bin_row(&row, buf + len, cap - len)) < 0) {
			fprintf(stderr, "ingest_bench: event %ld does not format\n", i);
			return 1;
		}
		len += (size_t)n;
		ends[i] = len;
	}
	e1 = ib_cpu();
	t0 = ib_now();
	c0 = ib_cpu();
	for (long i = 0; i < o->events; i += o->batch) {
		long last = i + o->batch < o->events ? i + o->batch : o->events;
		size_t from = i ? ends[i - 1] : 0;
		if (ib_copy_batch(conn, sql, buf + from, ends[last - 1] - from) < 0) {
			fprintf(stderr, "ingest_bench: COPY failed: %s", PQerrorMessage(conn));
			return 1;
		}
	}
	t1 = ib_now();
	c1 = ib_cpu();
	printf("mode=copy events=%ld seconds=%.4f events_per_s=%.0f cpu_us_per_event=%.3f "
	       "enrich_us=%.3f\n", o->events, t1 - t0, (double)o->events / (t1 - t0),
	       (c1 - c0) * 1e6 / (double)o->events, (e1 - e0) * 1e6 / (double)o->events);
	free(buf);
	free(ends);
	return 0;
}

/* ib_geo - time geo_lookup() alone over the events' addresses */
static int ib_geo(const struct ib_opts *o, struct geo_db *g)
{
	struct sockaddr_storage *ss = malloc(sizeof(*ss) * 65536);
	long country = 0, city = 0;
	struct geo_info *gi = malloc(sizeof(*gi));
	double c0, c1;

	if (!ss || !gi) {
		fprintf(stderr, "ingest_bench: out of memory\n");
		return 1;
	}
	if (!(geo_loaded(g) & GEO_CITY)) {
		fprintf(stderr, "ingest_bench: no City database\n");
		return 1;
	}
	/* the addresses of 65536 events, so the loop times the lookups only */
	for (uint32_t i = 0; i < 65536; i++)
		ib_addr(i * 2654435761u, &ss[i]);
	/* untimed: map the pages the lookups touch, as a running server has */
	for (long i = 0; i < 65536; i++)
		geo_lookup(g, (const struct sockaddr *)&ss[i], gi);
	c0 = ib_cpu();
	for (long i = 0; i < o->events; i++) {
		geo_lookup(g, (const struct sockaddr *)&ss[i & 65535], gi);
		country += gi->country[0] != '\0';
		city += gi->city[0] != '\0';
	}
	c1 = ib_cpu();
	printf("mode=geo lookups=%ld us_per_lookup=%.3f country_hits=%ld city_hits=%ld\n",
	       o->events, (c1 - c0) * 1e6 / (double)o->events, country, city);
	free(ss);
	free(gi);
	return 0;
}

/* main - parse options, load the enrichment data, run one mode */
int main(int argc, char **argv)
{
	struct ib_opts o = { .batch = 1000, .relay = "", .machines = "", .table = "beacon.events" };
	struct beacon_cfg cfg;
	struct event_ctx ctx;
	struct timeval tv;
	PGconn *conn;
	char err[1024];
	int c, rc;

	while ((c = getopt(argc, argv, "m:c:d:n:u:M:g:a:r:x:b:t:A:")) != -1) {
		switch (c) {
		case 'm': o.mode = optarg; break;
		case 'c': o.conninfo = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'n': o.events = strtol(optarg, NULL, 10); break;
		case 'u': o.uap = optarg; break;
		case 'M': o.clients = optarg; break;
		case 'g': o.city = optarg; break;
		case 'a': o.asn = optarg; break;
		case 'r': o.relay = optarg; break;
		case 'x': o.machines = optarg; break;
		case 'b': o.batch = strtol(optarg, NULL, 10); break;
		case 't': o.table = optarg; break;
		case 'A': o.addrs = optarg; break;
		default: goto usage;
		}
	}
	if (o.addrs && ib_load_addrs(o.addrs) < 0)
		return 1;
	if (o.mode && strcmp(o.mode, "geo") == 0 && o.city && o.events > 0) {
		struct geo_db *g = geo_open(o.city, o.asn, ib_geo_warn, NULL);
		if (g == NULL)
			return 1;
		rc = ib_geo(&o, g);
		geo_close(g);
		free(ib_extra);
		return rc;
	}
	if (!o.mode || !o.conninfo || !o.dir || o.events < 1 || o.batch < 1 || !o.uap ||
	    !o.clients || !o.city || !o.asn ||
	    (strcmp(o.mode, "writer") != 0 && strcmp(o.mode, "copy") != 0))
		goto usage;

	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	cfg.database.conninfo = strdup(o.conninfo);
	cfg.pixelsrv.batch_size = o.batch;
	cfg.pixelsrv.repeat_window = 0;	/* 64 tokens, every event a row: the COPY path is measured */
	event_node_start("px1");	/* a node name in every record and row, as in service */
	memset(&ctx, 0, sizeof(ctx));
	if (!(ctx.ua = ua_open(o.uap, o.clients, err, sizeof(err)))) {
		fprintf(stderr, "ingest_bench: %s\n", err);
		return 1;
	}
	ctx.geo = geo_open(o.city, o.asn, ib_geo_warn, NULL);
	if (*o.relay && !(ctx.relay = relay_load(o.relay, err, sizeof(err)))) {
		fprintf(stderr, "ingest_bench: %s\n", err);
		return 1;
	}
	if (*o.machines && !(ctx.machines = machines_load(o.machines, err, sizeof(err)))) {
		fprintf(stderr, "ingest_bench: %s\n", err);
		return 1;
	}
	ctx.scanner_click_s = (int)cfg.pixelsrv.scanner_click_seconds;
	ctx.machine_open_s = (int)cfg.pixelsrv.machine_open_seconds;
	conn = PQconnectdb(o.conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "ingest_bench: %s", PQerrorMessage(conn));
		return 1;
	}
	gettimeofday(&tv, NULL);
	if (strcmp(o.mode, "writer") == 0) {
		rc = ib_writer(&o, &cfg, &ctx, conn, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
	} else {
		rc = ib_copy(&o, &ctx, conn, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
		PQfinish(conn);
	}
	machines_free((struct machines_db *)ctx.machines);
	relay_free((struct relay_db *)ctx.relay);
	geo_close(ctx.geo);
	ua_close(ctx.ua);
	cfg_free(&cfg);
	free(ib_extra);
	return rc;
usage:
	fprintf(stderr, "usage: ingest_bench -m writer|copy -c CONNINFO -d DIR -n EVENTS "
		"-u UAP_REGEXES -M MAIL_CLIENTS -g CITY_MMDB -a ASN_MMDB [-r RELAY_CSV] [-x MACHINES] [-b BATCH] "
		"[-t TABLE] [-A ADDRS]\n"
		"       ingest_bench -m geo -n LOOKUPS -g CITY_MMDB [-a ASN_MMDB] [-A ADDRS]\n");
	return 2;
}
