/*
 * test_pixelsrv_http.c - unit tests of pixelsrv/http.c: a real server on
 * a loopback port, spoken to in plain HTTP/1.1 over a socket.
 *
 * DESCRIPTION
 *	The listen address check over a table of good and bad addresses.
 *	Answers: a GET of a valid pixel is the 43-byte GIF, uncacheable, and
 *	queues one open with the token's recipient, the User-Agent and the
 *	peer's address; a HEAD answers the same and queues an open marked
 *	EVENT_F_HEAD; a missing Accept or Accept-Language header is marked
 *	in the flags; a forged token still gets the GIF but no event and
 *	counts as invalid.  A signed click URL redirects (302, Location, no
 *	referrer) and queues a click with its link number (a HEAD too,
 *	marked); link 0, the honeypot link, is 204 without Location and
 *	queues a click with link_n 0; a mangled MAC is 404 with no event.
 *	/p.gif, /healthz, /metrics (404 here: only on metrics_listen), a mangled download URL (404), unknown paths,
 *	other methods (405 with Allow) and a request without Host (400).
 *	X-Forwarded-For is believed only from a trusted proxy.  Request
 *	durations reach the metrics, counted and small.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "cidr.h"
#include "event.h"
#include "http.h"
#include "metrics.h"
#include "queue.h"
#include "token.h"

/* server - one running front and what it works with */
struct server {
	struct beacon_cfg cfg;		/* listen 127.0.0.1:0, one thread */
	struct token_keys *keys;	/* one key, id 1 */
	struct cidr_set *trusted;	/* 127.0.0.2/32 */
	struct queue *queue;		/* events land here */
	char qpath[64];			/* its file */
	struct http *http;		/* the front */
	int port;			/* where it listens */
	uint8_t rid[TOKEN_RID_LEN];	/* the recipient of the test token */
	char token[TOKEN_STR_LEN + 1];	/* a valid token for it */
};

/* reply - one parsed answer */
struct reply {
	int status;		/* 200, 302, ... */
	char head[4096];	/* status line and headers */
	char body[8192];	/* the body (NUL added) */
	size_t body_len;	/* its length */
};

static struct server srv;	/* started once */

/* set_listen - replace cfg's listen list with N addresses (the caller's strings) */
static struct cfg_list set_listen(struct beacon_cfg *cfg, char **v, size_t n)
{
	struct cfg_list old = cfg->pixelsrv.listen;

	cfg->pixelsrv.listen.v = v;
	cfg->pixelsrv.listen.n = n;
	return old;
}

/* server_up - group setup: keys, queue, trusted proxies, the front on a free port */
static int server_up(void **state)
{
	static char any_port[] = "127.0.0.1:0";
	static char *listen[] = { any_port };
	struct http_conf conf;
	uint8_t key[TOKEN_KEY_LEN];
	char err[256];
	(void)state;

	assert_int_equal(token_init(), 0);
	cfg_defaults(&srv.cfg);
	free(srv.cfg.pixelsrv.listen.v[0]);
	free(srv.cfg.pixelsrv.listen.v);
	set_listen(&srv.cfg, listen, 1);
	srv.cfg.pixelsrv.threads = 1;
	memset(key, 7, sizeof(key));
	srv.keys = token_keys_new();
	assert_int_equal(token_keys_add(srv.keys, 1, key), 0);
	token_new_rid(srv.rid);
	assert_int_equal(token_make(srv.keys, srv.rid, srv.token), 0);
	srv.trusted = cidr_set_new();
	assert_int_equal(cidr_set_add(srv.trusted, "127.0.0.2/32", srv.trusted, err,
	    sizeof(err)), 0);
	assert_int_equal(cidr_set_finish(srv.trusted), 0);
	snprintf(srv.qpath, sizeof(srv.qpath), "/tmp/beacon-http-%ld.queue", (long)getpid());
	unlink(srv.qpath);
	srv.queue = queue_open(srv.qpath, 64, err, sizeof(err));
	assert_non_null(srv.queue);
	assert_int_equal(queue_recover(srv.queue, NULL, NULL), 0);	/* a new file: no records */
	srv.http = http_bind(&srv.cfg, err, sizeof(err));
	if (!srv.http)
		fail_msg("http_bind: %s", err);
	conf = (struct http_conf){ srv.keys, srv.trusted, srv.queue, NULL, NULL, "px-unit" };
	if (http_start(srv.http, &conf, err, sizeof(err)) < 0)
		fail_msg("http_start: %s", err);
	srv.port = http_port(srv.http);
	assert_true(srv.port > 0);
	return 0;
}

/* server_down - group teardown */
static int server_down(void **state)
{
	(void)state;
	http_stop(srv.http, 500);
	queue_close(srv.queue);
	unlink(srv.qpath);
	cidr_set_free(srv.trusted);
	token_keys_free(srv.keys);
	srv.cfg.pixelsrv.listen.v = NULL;
	srv.cfg.pixelsrv.listen.n = 0;
	cfg_free(&srv.cfg);
	return 0;
}

/* ask_from - send REQUEST from source address FROM, read the whole answer into R */
static void ask_from(const char *from, const char *request, struct reply *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	char buf[sizeof(r->head) + sizeof(r->body)];
	size_t len = 0;
	ssize_t n;
	char *end;
	int sd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(sd >= 0);
	setsockopt(sd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	inet_pton(AF_INET, from, &sa.sin_addr);
	assert_int_equal(bind(sd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sa.sin_port = htons((uint16_t)srv.port);
	assert_int_equal(connect(sd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(sd, request, strlen(request)), (ssize_t)strlen(request));
	while (len < sizeof(buf) - 1 && (n = read(sd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(sd);
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	end = strstr(buf, "\r\n\r\n");
	if (!end || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1)
		fail_msg("no HTTP answer to %s: %s", request, buf);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(end + 2 - buf), buf);
	r->body_len = len - (size_t)(end + 4 - buf);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
}

/* ask - METHOD PATH from 127.0.0.1 with a Host, a User-Agent and EXTRA header lines */
static void ask(const char *method, const char *path, const char *extra, struct reply *r)
{
	char req[2048];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t.example\r\nUser-Agent: unit-agent/1\r\n"
	    "%sConnection: close\r\n\r\n", method, path, extra ? extra : "");
	ask_from("127.0.0.1", req, r);
}

/* has - does the head hold this header line (exact, case as sent)? */
static int has(const struct reply *r, const char *line)
{
	return strstr(r->head, line) != NULL;
}

/* collect - queue_fn: keep the last record */
static int collect(void *arg, const uint8_t *rec, size_t len)
{
	assert_int_equal(event_decode(rec, len, arg), 0);
	return 0;
}

/* take - the events queued since the last call: how many, the last one in EV */
static size_t take(struct event_raw *ev)
{
	size_t n = queue_peek(srv.queue, 64, collect, ev);

	queue_release(srv.queue, n);
	return n;
}

/* addr_of - EV's address in text */
static const char *addr_of(const struct event_raw *ev)
{
	static char out[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;

	if (event_get_addr(ev, &ss) < 0)
		return "";
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, sizeof(out));
	return out;
}

/* is_gif - the 43-byte GIF, uncacheable */
static void is_gif(const struct reply *r)
{
	assert_int_equal(r->status, 200);
	assert_true(has(r, "Content-Type: image/gif\r\n"));
	assert_true(has(r, "Cache-Control: no-store, no-cache, must-revalidate, private\r\n"));
	assert_int_equal(r->body_len, 43);
	assert_memory_equal(r->body, "GIF89a\x01\x00\x01\x00", 10);
}

/* test_listen_check - well-formed listen addresses only, 1 to 16 of them */
static void test_listen_check(void **state)
{
	static const struct { const char *spec; int ok; } cases[] = {
		{ "127.0.0.1:8080", 1 }, { "[::1]:443", 1 }, { "*:80", 1 }, { ":80", 1 },
		{ "host.example:65535", 1 }, { "127.0.0.1", 0 }, { "127.0.0.1:", 0 },
		{ "127.0.0.1:65536", 0 }, { "127.0.0.1:8o", 0 }, { "[::1]443", 0 },
		{ "[::1:80", 0 },
	};
	struct beacon_cfg cfg;
	struct cfg_list old;
	char *one[1], *many[17], err[256];
	(void)state;

	cfg_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		one[0] = (char *)cases[i].spec;
		old = set_listen(&cfg, one, 1);
		if ((http_check_listen(&cfg, err, sizeof(err)) == 0) != cases[i].ok)
			fail_msg("listen %s: expected %s", cases[i].spec, cases[i].ok ? "ok" : "refused");
		set_listen(&cfg, old.v, old.n);
	}
	for (size_t i = 0; i < 17; i++)
		many[i] = (char *)"127.0.0.1:0";
	old = set_listen(&cfg, many, 16);
	assert_int_equal(http_check_listen(&cfg, err, sizeof(err)), 0);
	set_listen(&cfg, many, 17);
	assert_int_equal(http_check_listen(&cfg, err, sizeof(err)), -1);
	set_listen(&cfg, many, 0);
	assert_int_equal(http_check_listen(&cfg, err, sizeof(err)), -1);
	set_listen(&cfg, old.v, old.n);
	cfg_free(&cfg);
}

/* test_open - GET and HEAD queue one open each, HEAD marked, missing browser headers
 * marked; forged tokens queue nothing */
static void test_open(void **state)
{
	uint64_t invalid = metrics_get(METRICS_TOKENS_INVALID);
	char path[128], forged[TOKEN_STR_LEN + 1];
	struct event_raw ev;
	struct reply r;
	(void)state;

	take(&ev);
	snprintf(path, sizeof(path), "/o/%s.gif", srv.token);
	ask("GET", path, NULL, &r);
	is_gif(&r);
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.kind, EVENT_OPEN);
	assert_memory_equal(ev.rid, srv.rid, TOKEN_RID_LEN);
	assert_int_equal(ev.ua_len, strlen("unit-agent/1"));
	assert_memory_equal(ev.ua, "unit-agent/1", ev.ua_len);
	assert_string_equal(addr_of(&ev), "127.0.0.1");
	assert_int_equal(ev.flags, EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG);

	ask("GET", path, "Accept: image/*\r\nAccept-Language: de-CH\r\n", &r);
	is_gif(&r);
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.flags, 0);
	ask("GET", path, "Accept-Language: de-CH\r\n", &r);
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.flags, EVENT_F_NO_ACCEPT);
	ask("GET", path, "Accept: */*\r\n", &r);
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.flags, EVENT_F_NO_LANG);

	ask("HEAD", path, "Accept: */*\r\nAccept-Language: en\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_true(has(&r, "Content-Type: image/gif\r\n"));
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.kind, EVENT_OPEN);
	assert_int_equal(ev.flags, EVENT_F_HEAD);
	assert_memory_equal(ev.rid, srv.rid, TOKEN_RID_LEN);

	memcpy(forged, srv.token, sizeof(forged));
	forged[TOKEN_STR_LEN / 2] = forged[TOKEN_STR_LEN / 2] == 'A' ? 'B' : 'A';
	snprintf(path, sizeof(path), "/o/%s.gif", forged);
	ask("GET", path, NULL, &r);
	is_gif(&r);
	assert_int_equal(take(&ev), 0);
	assert_int_equal(metrics_get(METRICS_TOKENS_INVALID) - invalid, 1);
}

/* test_click - a signed click redirects and queues a click (a HEAD too, marked); link 0
 * is 204 and queues a click with link_n 0; a bad MAC is 404 */
static void test_click(void **state)
{
	char *url = clickurl_make(srv.keys, "http://t.example", srv.token, 3,
	    "https://shop.example/a?b=1");
	const char *path;
	char *bad, *mac;
	uint64_t no_content;
	struct event_raw ev;
	struct reply r;
	(void)state;

	assert_non_null(url);
	path = url + strlen("http://t.example");
	take(&ev);
	ask("GET", path, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has(&r, "Location: https://shop.example/a?b=1\r\n"));
	assert_true(has(&r, "Referrer-Policy: no-referrer\r\n"));
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.kind, EVENT_CLICK);
	assert_int_equal(ev.link_n, 3);
	assert_memory_equal(ev.rid, srv.rid, TOKEN_RID_LEN);

	ask("HEAD", path, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has(&r, "Location: https://shop.example/a?b=1\r\n"));
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.kind, EVENT_CLICK);
	assert_int_equal(ev.link_n, 3);
	assert_int_equal(ev.flags, EVENT_F_HEAD | EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG);

	/* change a middle character of the MAC (the last one carries only 2 bits) */
	bad = strdup(path);
	mac = strchr(strchr(bad + 3, '/') + 1, '/') + 1;
	mac[2] = mac[2] == 'A' ? 'B' : 'A';
	ask("GET", bad, NULL, &r);
	assert_int_equal(r.status, 404);
	assert_false(has(&r, "Location:"));
	assert_int_equal(take(&ev), 0);
	free(bad);
	free(url);

	/* the honeypot link: recorded, never a redirect, counted under its own status */
	no_content = metrics_requests(METRICS_EP_CLICK, 204);
	url = clickurl_make(srv.keys, "http://t.example", srv.token, 0, "http://t.example");
	assert_non_null(url);
	path = url + strlen("http://t.example");
	assert_non_null(strstr(path, "/0/"));
	ask("GET", path, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_false(has(&r, "Location:"));
	assert_true(has(&r, "Cache-Control: no-store, no-cache, must-revalidate, private\r\n"));
	assert_int_equal(r.body_len, 0);
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.kind, EVENT_CLICK);
	assert_int_equal(ev.link_n, 0);
	assert_memory_equal(ev.rid, srv.rid, TOKEN_RID_LEN);
	ask("HEAD", path, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_false(has(&r, "Location:"));
	assert_int_equal(take(&ev), 1);
	assert_int_equal(ev.link_n, 0);
	assert_true(ev.flags & EVENT_F_HEAD);
	assert_int_equal(metrics_requests(METRICS_EP_CLICK, 204) - no_content, 2);
	free(url);
}

/* test_others - the fixed answers */
static void test_others(void **state)
{
	static const struct { const char *method, *path; int status; const char *line, *body; }
	cases[] = {
		{ "GET", "/p.gif", 200, "Content-Type: image/gif\r\n", NULL },
		{ "GET", "/healthz", 200, "Cache-Control: no-store", "ok\n" },
		{ "GET", "/metrics", 404, NULL, "not found\n" },	/* only on metrics_listen */
		{ "GET", "/nope", 404, NULL, "not found\n" },
		{ "GET", "/d/x/1/y", 404, NULL, "not found\n" },
		{ "POST", "/o/x.gif", 405, "Allow: GET, HEAD\r\n", "method not allowed\n" },
		{ "DELETE", "/healthz", 405, "Allow: GET, HEAD\r\n", NULL },
	};
	struct event_raw ev;
	struct reply r;
	(void)state;

	take(&ev);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ask(cases[i].method, cases[i].path, NULL, &r);
		if (r.status != cases[i].status)
			fail_msg("%s %s: %d", cases[i].method, cases[i].path, r.status);
		if (cases[i].line && !has(&r, cases[i].line))
			fail_msg("%s %s: no %s in\n%s", cases[i].method, cases[i].path,
			    cases[i].line, r.head);
		if (cases[i].body)
			assert_string_equal(r.body, cases[i].body);
	}
	assert_int_equal(take(&ev), 0);
	ask_from("127.0.0.1", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
}

/* test_forwarded - X-Forwarded-For counts only from a trusted proxy */
static void test_forwarded(void **state)
{
	char req[512];
	struct event_raw ev;
	struct reply r;
	(void)state;

	take(&ev);
	snprintf(req, sizeof(req), "GET /o/%s.gif HTTP/1.1\r\nHost: t.example\r\n"
	    "X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n", srv.token);
	ask_from("127.0.0.1", req, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(take(&ev), 1);
	assert_string_equal(addr_of(&ev), "127.0.0.1");
	ask_from("127.0.0.2", req, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(take(&ev), 1);
	assert_string_equal(addr_of(&ev), "203.0.113.9");
	assert_int_equal(ev.ua_len, 0);
}

/* test_durations - answered requests are timed: counted, and no absurd sums */
static void test_durations(void **state)
{
	char path[128];
	const char *p;
	double sum;
	long count;
	struct reply r;
	(void)state;

	snprintf(path, sizeof(path), "/o/%s.gif", srv.token);
	ask("GET", path, NULL, &r);
	r.body_len = metrics_render(r.body, sizeof(r.body), &(struct metrics_gauges){ 0, 0, 0, NULL });
	p = strstr(r.body, "beacon_pixelsrv_request_duration_seconds_sum ");
	assert_non_null(p);
	sum = strtod(p + strlen("beacon_pixelsrv_request_duration_seconds_sum "), NULL);
	p = strstr(r.body, "beacon_pixelsrv_request_duration_seconds_count ");
	assert_non_null(p);
	count = strtol(p + strlen("beacon_pixelsrv_request_duration_seconds_count "), NULL, 10);
	assert_true(count >= 1);
	assert_true(sum > 0 && sum < 10.0 * (double)count);
	assert_true(metrics_requests(METRICS_EP_OPEN, 200) >= 1);
}

/* main - the tests on one running front */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_check),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_click),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
