/*
 * webhook.c - signed JSON POSTs through a libcurl multi handle (see
 * webhook.h).
 */
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "netguard.h"
#include "payload.h"
#include "sign.h"
#include "webhook.h"

#define WEBHOOK_UA "beacon-notify/" BEACON_VERSION

/* webhook - the multi handle and its limits */
struct webhook {
	CURLM *multi;		/* keeps connections between batches */
	long timeout_ms;	/* per request, in all */
	long concurrency;	/* requests at once */
	int allow_private;	/* connect to non-public addresses too */
	int allow_http;		/* plain http:// URLs too */
	char *proxy;		/* the proxy to go through, "" none */
};

/* xfer - one request in flight */
struct xfer {
	struct item *it;		/* the delivery */
	CURL *easy;			/* its handle */
	struct curl_slist *headers;	/* its headers */
	struct buf body;		/* the JSON posted */
	char errbuf[CURL_ERROR_SIZE];	/* libcurl's detail */
	char refused[160];		/* why netguard refused an address, or "" */
	struct webhook *w;		/* its limits */
};

/* webhook_new - the multi handle */
struct webhook *webhook_new(long timeout_s, long concurrency, int allow_private, int allow_http,
    const char *proxy)
{
	struct webhook *w = calloc(1, sizeof(*w));

	if (!w || !(w->multi = curl_multi_init()))
		log_fatalx("out of memory (libcurl multi handle)");
	w->timeout_ms = (timeout_s > 0 ? timeout_s : 10) * 1000;
	w->concurrency = concurrency > 0 ? concurrency : 1;
	w->allow_private = allow_private;
	w->allow_http = allow_http;
	if (!(w->proxy = strdup(proxy ? proxy : "")))
		log_fatalx("out of memory (proxy)");
	curl_multi_setopt(w->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, w->concurrency);
	return w;
}

/* webhook_discard - CURLOPT_WRITEFUNCTION: the answer's body is not needed */
static size_t webhook_discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* webhook_socket - CURLOPT_OPENSOCKETFUNCTION: the socket for A, unless A is a
 * private address and those are not allowed (after resolution: DNS rebinding too) */
static curl_socket_t webhook_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;

	(void)purpose;
	if (!x->w->allow_private &&
	    !netguard_public(&a->addr, a->addrlen, x->refused, sizeof(x->refused)))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

/* webhook_start - set up X's request and add it to the multi handle; -1 on failure
 * (X's item says why) */
static int webhook_start(struct webhook *w, struct xfer *x)
{
	struct item *it = x->it;
	char sig[SIGN_HEX_LEN + 1], line[128];
	long long ts = (long long)time(NULL);
	CURL *e;

	payload_body(&x->body, it);
	sign_v1(it->secret ? it->secret : "", ts, x->body.p, x->body.len, sig);
	x->headers = curl_slist_append(x->headers, "Content-Type: application/json");
	/* no "Expect: 100-continue" wait before a larger body */
	x->headers = curl_slist_append(x->headers, "Expect:");
	snprintf(line, sizeof(line), "Beacon-Delivery: %s", it->id);
	x->headers = curl_slist_append(x->headers, line);
	snprintf(line, sizeof(line), "Beacon-Timestamp: %lld", ts);
	x->headers = curl_slist_append(x->headers, line);
	snprintf(line, sizeof(line), "Beacon-Signature: v1=%s", sig);
	x->headers = curl_slist_append(x->headers, line);
	if (!x->headers || !(e = x->easy = curl_easy_init()))
		log_fatalx("out of memory (libcurl handle)");
	curl_easy_setopt(e, CURLOPT_URL, it->url ? it->url : "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, w->allow_http ? "http,https" : "https");
	/* "" keeps https_proxy and http_proxy out: the address check would see
	 * only the proxy's address */
	curl_easy_setopt(e, CURLOPT_PROXY, w->proxy);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, webhook_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, WEBHOOK_UA);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body.p);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
		snprintf(it->error, sizeof(it->error), "cannot start the request");
		return -1;
	}
	return 0;
}

/* webhook_done - X finished with RC: its outcome into its item */
static void webhook_done(struct xfer *x, CURLcode rc)
{
	struct item *it = x->it;
	curl_off_t us = 0;
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
	it->status = (int)code;
	it->latency_ms = (int)(us / 1000);
	if (rc == CURLE_OK && code >= 200 && code <= 299) {
		it->outcome = ITEM_SENT;
		it->error[0] = '\0';
		log_info("%s: %s %s: HTTP %ld in %d ms", it->id, it->dkind, it->kind, code,
		    it->latency_ms);
		return;
	}
	it->outcome = ITEM_RETRY;
	if (x->refused[0])
		snprintf(it->error, sizeof(it->error), "refused: %s "
		    "([notify] allow_private_destinations = no)", x->refused);
	else if (rc == CURLE_UNSUPPORTED_PROTOCOL && !x->w->allow_http)
		snprintf(it->error, sizeof(it->error), "refused: not an https:// URL "
		    "([notify] allow_http = no)");
	else if (rc != CURLE_OK)
		snprintf(it->error, sizeof(it->error), "%s", x->errbuf[0] ? x->errbuf :
		    curl_easy_strerror(rc));
	else
		snprintf(it->error, sizeof(it->error), "HTTP %ld", code);
	log_warnx("%s: %s %s: attempt %d failed: %s", it->id, it->dkind, it->kind,
	    it->attempts + 1, it->error);
}

/* webhook_end - release X's request */
static void webhook_end(struct webhook *w, struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(w->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	buf_free(&x->body);
	*x = (struct xfer){ 0 };
}

/* webhook_send - every item not dropped, at most concurrency at once */
void webhook_send(struct webhook *w, struct item *items, size_t n,
    const volatile sig_atomic_t *stop)
{
	struct xfer *xs = calloc((size_t)w->concurrency, sizeof(*xs));
	size_t next = 0, busy = 0;

	if (!xs)
		log_fatalx("out of memory");
	for (;;) {
		CURLMsg *msg;
		int running, left;

		/* stopping: what has not started stays pending, untried */
		for (; *stop && next < n; next++)
			if (items[next].outcome != ITEM_DROPPED)
				items[next].outcome = ITEM_UNSENT;
		/* fill the free slots */
		for (long s = 0; s < w->concurrency && next < n; s++) {
			if (xs[s].it)
				continue;
			while (next < n && items[next].outcome == ITEM_DROPPED)
				next++;
			if (next == n)
				break;
			xs[s].it = &items[next++];
			xs[s].w = w;
			if (webhook_start(w, &xs[s]) < 0) {
				xs[s].it->outcome = ITEM_RETRY;
				webhook_end(w, &xs[s]);
				continue;
			}
			busy++;
		}
		if (busy == 0)
			break;
		if (curl_multi_perform(w->multi, &running) != CURLM_OK)
			log_fatalx("curl_multi_perform failed");
		while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			webhook_done(x, msg->data.result);
			webhook_end(w, x);
			busy--;
		}
		if (busy > 0)
			curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	free(xs);
}

/* webhook_free - close the connections */
void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	curl_multi_cleanup(w->multi);
	free(w->proxy);
	free(w);
}
