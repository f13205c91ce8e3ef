/*
 * NAME
 *	http.c - listening sockets, libmicrohttpd daemons and the request handler
 *
 * DESCRIPTION
 *	See http.h.  The request path allocates nothing for opens: the
 *	response is a shared static object, the token is checked in place,
 *	the event is built on the stack and copied into a queue slot.
 *
 *	libmicrohttpd calls the access handler once when the headers are in
 *	and again for the body and its end.  Answering on the first call
 *	makes it close every connection, so the first call only notes the
 *	time (in *req, as a number: no allocation) and the answer is queued
 *	on the second.  Methods other than GET and HEAD are refused on the
 *	first call, before any body is read, but POST to /u/: its body (at
 *	most UNSUB_BODY_MAX bytes kept) goes to a small record in *req, a
 *	pointer (even) where a GET keeps its start time (odd); a request cut
 *	off before its end frees it in http_completed().
 *
 *	/d/ (a stored attachment, download.h) is answered with the file's
 *	descriptor (sendfile).  Its event is recorded when the request
 *	ends, in http_completed(), so that it says whether the transfer
 *	was cut short: the event, built when the answer was queued, waits
 *	in a small record in *req (a pointer, tagged like the POST's) and
 *	is pushed once, whatever the end (done, client gone, timeout,
 *	shutdown: libmicrohttpd calls the completion callback exactly once
 *	for each request it handed to the handler, also when the daemon
 *	stops, before the writer does).  When that record cannot be
 *	allocated the event is pushed at once instead.  A process killed
 *	during a transfer loses that transfer's event.  The event has bytes
 *	only when the whole answer went out (MHD_REQUEST_TERMINATED_COMPLETED_OK).
 *	At most download_limit downloads are sent at once (each holds its
 *	file's descriptor besides its connection's): the count is taken
 *	before the file is opened and given back in http_completed(); over
 *	it the answer is 503 with Retry-After.
 *
 *	libmicrohttpd's idle timeout restarts with every byte, so a client
 *	trickling its headers would hold a connection for ever.  Each
 *	connection on a public listener gets a small record when it is
 *	accepted (the one allocation per connection, freed when it closes)
 *	holding when its request head began; the first call of the handler
 *	clears it, the end of a request restarts it, and a thread shuts
 *	down every connection still reading its head after header_timeout.
 *
 *	/metrics is answered only by the daemon on metrics_listen, which
 *	serves nothing else but /healthz.
 */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clientip.h"
#include "clock.h"
#include "download.h"
#include "event.h"
#include "listen.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "private.h"
#include "route.h"
#include "unsub.h"

#define HTTP_MAX_LISTEN 16		/* listen addresses */
#define HTTP_MEMORY_LIMIT (16 * 1024)	/* per connection: request line, headers, reply headers;
					 * MHD zeroes it per request, so no larger than needed */
#define HTTP_METRICS_MAX (16 * 1024)	/* /metrics text */
#define HTTP_TLS_MAX (1024 * 1024)	/* largest PEM file */
#define HTTP_FD_RESERVE 256		/* descriptors kept for files, database, logs */
#define HTTP_METRICS_CONNS 16		/* connections on the metrics listener */
#define HTTP_SWEEP_MS 250		/* how often request heads are checked for time */
#define HTTP_BUSY_RETRY "10"		/* Retry-After of a download refused by download_limit */
#define HTTP_DL_LOG_S 60		/* at most one line per this many seconds per store miss */
/* TLS 1.2 and 1.3 only, ECDHE (forward secrecy) only, AEAD ciphers only */
#define HTTP_TLS_PRIORITIES "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-DHE-RSA:" \
	"-DHE-DSS:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:" \
	"%SERVER_PRECEDENCE"

/* the 43-byte transparent 1x1 GIF */
static const unsigned char http_gif[43] = {
	'G', 'I', 'F', '8', '9', 'a', 0x01, 0x00, 0x01, 0x00, 0x80, 0x01, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

/* the shared responses */
enum { R_GIF, R_NOTFOUND, R_METHOD, R_HEALTHZ, R_EMPTY, R_UNSUB_ASK, R_UNSUB_DONE, R_UNSUB_BAD,
	R_TOO_LARGE, R_METHOD_UNSUB, R_GONE, R_BUSY, R_N };

/* what a pointer in *req holds (its first member) */
enum { HTTP_REQ_POST = 1, HTTP_REQ_DOWNLOAD };

/* http_post - a POST to /u/ while its body comes in (*req of the handler: a pointer, even,
 * where a GET holds its start time, odd) */
struct http_post {
	int what;			/* HTTP_REQ_POST */
	uint64_t start;			/* clock_now_us() | 1 */
	size_t len;			/* body bytes kept */
	int over;			/* the body was longer than UNSUB_BODY_MAX */
	char body[UNSUB_BODY_MAX];	/* the body */
};

/* http_dl - a download being sent: its event, pushed when the request ends */
struct http_dl {
	int what;			/* HTTP_REQ_DOWNLOAD */
	struct event_raw ev;		/* the event, but for a cut-short transfer */
};

/* http_conn - one connection on a public listener, timed until its request head is in */
struct http_conn {
	struct http_conn *prev, *next;	/* http.conns, under http.lock */
	int fd;				/* its socket (valid until MHD's CLOSED notice) */
	_Atomic uint64_t since;		/* clock_now_us() at connect or end of last request; 0: head in */
};

/* http - sockets, daemons, shared responses */
struct http {
	int fd[HTTP_MAX_LISTEN];		/* listening sockets */
	size_t nfd;				/* how many */
	struct MHD_Daemon *d[HTTP_MAX_LISTEN];	/* one daemon per socket */
	char *tls_cert;				/* PEM text, or NULL */
	char *tls_key;				/* PEM text, or NULL */
	unsigned threads;			/* threads per daemon */
	unsigned conn_limit;			/* connection_limit */
	unsigned per_ip_limit;			/* per_ip_connection_limit, 0: none */
	unsigned conn_timeout;			/* connection_timeout, seconds */
	unsigned head_timeout;			/* header_timeout, seconds, 0: none */
	int unsub_action;			/* [milter] unsubscribe_action: what the pages say */
	int mfd;				/* metrics_listen socket, or -1 */
	struct MHD_Daemon *md;			/* its daemon */
	pthread_mutex_t lock;			/* conns */
	struct http_conn *conns;		/* connections on the public listeners */
	pthread_t sweeper;			/* closes heads slower than head_timeout */
	int sweeping;				/* sweeper runs */
	_Atomic int stopping;			/* tells the sweeper to end */
	struct http_conf c;			/* keys, trusted proxies, queue, writer */
	struct MHD_Response *resp[2][R_N];	/* [draining][which] */
	_Atomic int draining;			/* http_stop() has begun */
	unsigned dl_limit;			/* download_limit, 0: none */
	_Atomic unsigned dl_busy;		/* downloads being sent (counted against it) */
	_Atomic int64_t dl_logged[DOWNLOAD_BAD_SIZE + 1];	/* last line per store miss */
	_Atomic unsigned dl_unlogged[DOWNLOAD_BAD_SIZE + 1];	/* misses not logged since */
};

/* http_read_pem - a whole PEM file as a string; NULL + ERR.  A PRIVATE file (the key) is
 * refused when group or others may access it, checked on the descriptor that is read, so
 * the file checked is the file used (a link, as certbot's live/ has, is followed) */
static char *http_read_pem(const char *path, int private, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	errno = 0;
	if (fd >= 0 && private && fstat(fd, &st) == 0 &&
	    private_check(&st, path, "private key", err, errlen) < 0) {
		close(fd);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > HTTP_TLS_MAX || (buf = malloc((size_t)st.st_size + 1)) == NULL ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    errno ? strerror(errno) : "empty, too large or not a file");
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	buf[st.st_size] = '\0';
	return buf;
}

/* http_check_listen - is every listen address well-formed?  0, or -1 + ERR */
int http_check_listen(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_list *l = &cfg->pixelsrv.listen;

	if (l->n == 0 || l->n > HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "listen: give 1 to %d addresses", HTTP_MAX_LISTEN);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		if (listen_check(l->v[i], err, errlen) < 0)
			return -1;
	if (cfg->pixelsrv.metrics_listen && *cfg->pixelsrv.metrics_listen &&
	    listen_check(cfg->pixelsrv.metrics_listen, err, errlen) < 0)
		return -1;
	return 0;
}

/* http_limits - threads, connection limits and timeouts; connection_limit
 * lowered (and logged) when the open-file limit cannot hold that many */
static void http_limits(struct http *h, const struct beacon_cfg *cfg)
{
	struct rlimit rl;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	h->threads = cfg->pixelsrv.threads > 0 ? (unsigned)cfg->pixelsrv.threads :
	    ncpu > 0 ? (unsigned)ncpu : 1;
	if (h->threads > 256)
		h->threads = 256;
	h->conn_limit = cfg->pixelsrv.connection_limit > 0 ?
	    (unsigned)cfg->pixelsrv.connection_limit : 10000;
	h->dl_limit = cfg->pixelsrv.download_limit > 0 ?
	    (unsigned)(cfg->pixelsrv.download_limit < 1000000 ? cfg->pixelsrv.download_limit :
	    1000000) : 0;
	/* each listener has its own limit; all share the process's descriptors, and each
	 * download allowed holds its file's besides its connection's */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		unsigned each = download_conn_budget((uint64_t)rl.rlim_cur,
		    HTTP_FD_RESERVE + HTTP_METRICS_CONNS, h->dl_limit, (unsigned)h->nfd);
		if (h->conn_limit > each) {
			log_warnx("connection_limit %u lowered to %u: the open-file limit is %ju "
			    "for %zu listen address(es) and download_limit %u (2 descriptors per "
			    "download); raise LimitNOFILE (ulimit -n) to keep it",
			    h->conn_limit, each, (uintmax_t)rl.rlim_cur, h->nfd, h->dl_limit);
			h->conn_limit = each;
		}
	}
	h->per_ip_limit = cfg->pixelsrv.per_ip_connection_limit > 0 ?
	    (unsigned)cfg->pixelsrv.per_ip_connection_limit : 0;
	if (h->per_ip_limit && cfg->pixelsrv.trusted_proxies.n)
		log_warnx("per_ip_connection_limit %u also holds each proxy in trusted_proxies to "
		    "%u connections; behind a proxy set it to 0 and limit clients at the proxy",
		    h->per_ip_limit, h->per_ip_limit);
	h->conn_timeout = cfg->pixelsrv.connection_timeout > 0 ?
	    (unsigned)cfg->pixelsrv.connection_timeout : 15;
	h->head_timeout = cfg->pixelsrv.header_timeout > 0 ?
	    (unsigned)cfg->pixelsrv.header_timeout : 0;
}

/* http_bind - every socket, and the TLS files, before privileges go */
struct http *http_bind(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_list *l = &cfg->pixelsrv.listen;
	const char *ml = cfg->pixelsrv.metrics_listen;
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->mfd = -1;
	h->unsub_action = cfg->milter.unsubscribe_action;
	pthread_mutex_init(&h->lock, NULL);
	if (l->n == 0 || l->n > HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "listen: give 1 to %d addresses", HTTP_MAX_LISTEN);
		free(h);
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		int fd = listen_socket(l->v[i], err, errlen);
		if (fd < 0)
			goto fail;
		h->fd[h->nfd++] = fd;
	}
	if (ml && *ml && (h->mfd = listen_socket(ml, err, errlen)) < 0) {
		snprintf(err + strlen(err), errlen - strlen(err), " (metrics_listen)");
		goto fail;
	}
	if (cfg->pixelsrv.tls_cert && *cfg->pixelsrv.tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			snprintf(err, errlen, "tls_cert is set but libmicrohttpd was built without TLS");
			goto fail;
		}
		if (!cfg->pixelsrv.tls_key || !*cfg->pixelsrv.tls_key) {
			snprintf(err, errlen, "tls_cert is set but tls_key is not");
			goto fail;
		}
		if (!(h->tls_cert = http_read_pem(cfg->pixelsrv.tls_cert, 0, err, errlen)) ||
		    !(h->tls_key = http_read_pem(cfg->pixelsrv.tls_key, 1, err, errlen)))
			goto fail;
	}
	http_limits(h, cfg);
	return h;
fail:
	for (size_t i = 0; i < h->nfd; i++)
		close(h->fd[i]);
	if (h->mfd >= 0)
		close(h->mfd);
	pthread_mutex_destroy(&h->lock);
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
	return NULL;
}

/* http_port - port of the first socket */
int http_port(const struct http *h)
{
	return h->nfd ? listen_port(h->fd[0]) : -1;
}

/* http_mhd_log - libmicrohttpd's error lines into our log */
__attribute__((format(printf, 2, 0)))
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\r\n")] = '\0';
	log_warnx("http: %s", buf);
}

/* http_static - a shared response: BODY (static) with TYPE, and Connection: close if DR */
static struct MHD_Response *http_static(const void *body, size_t len, const char *type, int dr)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_PERSISTENT);

	if (!r)
		return NULL;
	if ((type && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) ||
	    (dr && MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/* http_nocache - the headers that keep a pixel or redirect out of every cache */
static int http_nocache(struct MHD_Response *r)
{
	return MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		   "no-store, no-cache, must-revalidate, private") == MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_PRAGMA, "no-cache") == MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, "0") == MHD_YES;
}

/* http_page - the headers of an unsubscribe page: never cached, framed, nor running
 * anything; its one form posts to itself */
static int http_page(struct MHD_Response *r)
{
	return MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store, private") ==
		MHD_YES &&
	    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; "
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'") == MHD_YES &&
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES &&
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") == MHD_YES;
}

/* http_responses - build the shared responses; 0 or -1 */
static int http_responses(struct http *h)
{
	static const char notfound[] = "not found\n", method[] = "method not allowed\n",
	    ok[] = "ok\n", large[] = "request body too large\n",
	    busy[] = "too many downloads at once, try again shortly\n";
	static const char html[] = "text/html; charset=utf-8";

	for (int dr = 0; dr < 2; dr++) {
		struct MHD_Response **r = h->resp[dr];
		r[R_GIF] = http_static(http_gif, sizeof(http_gif), "image/gif", dr);
		r[R_NOTFOUND] = http_static(notfound, sizeof(notfound) - 1,
		    "text/plain; charset=utf-8", dr);
		r[R_METHOD] = http_static(method, sizeof(method) - 1,
		    "text/plain; charset=utf-8", dr);
		r[R_HEALTHZ] = http_static(ok, sizeof(ok) - 1, "text/plain; charset=utf-8", dr);
		r[R_EMPTY] = http_static(NULL, 0, NULL, dr);	/* 204: the honeypot link */
		/* the pages say what [milter] unsubscribe_action does */
		const char *ask = unsub_page_confirm_for(h->unsub_action),
		    *done = unsub_page_done_for(h->unsub_action);
		r[R_UNSUB_ASK] = http_static(ask, strlen(ask), html, dr);
		r[R_UNSUB_DONE] = http_static(done, strlen(done), html, dr);
		r[R_UNSUB_BAD] = http_static(unsub_page_bad, strlen(unsub_page_bad), html, dr);
		r[R_TOO_LARGE] = http_static(large, sizeof(large) - 1, "text/plain; charset=utf-8", dr);
		r[R_METHOD_UNSUB] = http_static(method, sizeof(method) - 1,
		    "text/plain; charset=utf-8", dr);
		r[R_GONE] = http_static(download_page_gone, strlen(download_page_gone), html, dr);
		r[R_BUSY] = http_static(busy, sizeof(busy) - 1, "text/plain; charset=utf-8", dr);
		for (int i = 0; i < R_N; i++)
			if (!r[i])
				return -1;
		if (!http_page(r[R_UNSUB_ASK]) || !http_page(r[R_UNSUB_DONE]) ||
		    !http_page(r[R_UNSUB_BAD]) || !http_page(r[R_GONE]))
			return -1;
		if (!http_nocache(r[R_GIF]) || !http_nocache(r[R_HEALTHZ]) ||
		    !http_nocache(r[R_EMPTY]) || !http_nocache(r[R_BUSY]) ||
		    MHD_add_response_header(r[R_BUSY], MHD_HTTP_HEADER_RETRY_AFTER,
		    HTTP_BUSY_RETRY) != MHD_YES ||
		    MHD_add_response_header(r[R_METHOD], MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES ||
		    MHD_add_response_header(r[R_METHOD_UNSUB], MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD, POST") != MHD_YES)
			return -1;
	}
	return 0;
}

/* http_hdr - one forwarding header's value; several headers are joined with "," */
struct http_hdr {
	const char *v;		/* the value (MHD's memory, or joined) */
	char *joined;		/* malloc'd join of several headers, or NULL */
	int n;			/* headers seen */
};

/* http_hdr_add - add one header value */
static void http_hdr_add(struct http_hdr *h, const char *v)
{
	char *j;

	if (h->n++ == 0) {
		h->v = v;
		return;
	}
	/* several headers: rare, worth an allocation */
	if (asprintf(&j, "%s,%s", h->v, v) < 0)
		return;
	free(h->joined);
	h->joined = j;
	h->v = j;
}

/* http_fwd - the two forwarding headers */
struct http_fwd {
	struct http_hdr xff;	/* X-Forwarded-For */
	struct http_hdr fwd;	/* Forwarded */
};

/* http_fwd_iter - MHD_KeyValueIterator: collect the forwarding headers */
static enum MHD_Result http_fwd_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct http_fwd *f = cls;

	if (!value)
		return MHD_YES;
	if (strcasecmp(key, "X-Forwarded-For") == 0)
		http_hdr_add(&f->xff, value);
	else if (strcasecmp(key, "Forwarded") == 0)
		http_hdr_add(&f->fwd, value);
	return MHD_YES;
}

/* http_event_fill - the event of the request on C into *EVP; HEAD: it was a HEAD request */
static void http_event_fill(struct http *h, struct MHD_Connection *c, int kind,
    const struct token *tok, unsigned link_n, int head, struct event_raw *evp)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage client;
	struct event_raw ev;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	ev.at_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	ev.kind = (uint8_t)kind;
	ev.link_n = link_n;
	ev.attachment_id = 0;
	ev.bytes = -1;
	ev.partial = 0;
	/* how the request looked, for the writer's rules: two lookups in MHD's header list */
	ev.flags = head ? EVENT_F_HEAD : 0;
	if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT))
		ev.flags |= EVENT_F_NO_ACCEPT;
	if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE))
		ev.flags |= EVENT_F_NO_LANG;
	memcpy(ev.rid, tok->rid, TOKEN_RID_LEN);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		struct http_fwd f = { { NULL, NULL, 0 }, { NULL, NULL, 0 } };
		/* the headers are only read when the peer may speak for someone */
		if (h->c.trusted && cidr_set_match(h->c.trusted, ci->client_addr))
			MHD_get_connection_values(c, MHD_HEADER_KIND, http_fwd_iter, &f);
		if (clientip_resolve(ci->client_addr, f.xff.v, f.fwd.v, h->c.trusted, &client) >= 0)
			event_set_addr(&ev, (struct sockaddr *)&client);
		else
			event_set_addr(&ev, NULL);
		free(f.xff.joined);
		free(f.fwd.joined);
	} else {
		event_set_addr(&ev, NULL);
	}
	event_set_ua(&ev, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT));
	*evp = ev;
}

/* http_push - queue EV (or spool it when the queue is full) */
static void http_push(struct http *h, const struct event_raw *ev)
{
	uint8_t rec[EVENT_REC_MAX];
	size_t len = event_encode(ev, rec);

	if (queue_push(h->c.queue, rec, len) == 0)
		metrics_add(METRICS_EVENTS_QUEUED, 1);
	else
		writer_overflow(h->c.writer, rec, len);
}

/* http_event - record one open, click or unsubscribe of the request on C */
static void http_event(struct http *h, struct MHD_Connection *c, int kind,
    const struct token *tok, unsigned link_n, int head)
{
	struct event_raw ev;

	http_event_fill(h, c, kind, tok, link_n, head, &ev);
	http_push(h, &ev);
}

/* http_reply - queue a response and count it */
static enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status,
    struct MHD_Response *r, enum metrics_endpoint ep, uint64_t start)
{
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	uint64_t now = (uint64_t)clock_now_us();

	/* START is clock_now_us() | 1 (never 0), or 0 when not measured */
	metrics_request(ep, status, start && now > start ? (now - start) * 1000 : 0);
	return rc;
}

/* http_click - verify a click URL and redirect, or 404; link 0 (the honeypot link no
 * person sees) is recorded and answered 204, never redirected */
static enum MHD_Result http_click(struct http *h, struct MHD_Connection *c,
    const struct route *rt, int head, uint64_t start)
{
	int dr = atomic_load_explicit(&h->draining, memory_order_relaxed);
	const char *u = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "u");
	struct MHD_Response *r;
	struct token tok;
	unsigned link_n = 0;
	char *target = NULL;
	enum MHD_Result rc;

	if (!rt->token_len || !u || clickurl_check(h->c.keys, rt->token, rt->token_len, rt->n,
	    rt->n_len, rt->mac, rt->mac_len, u, strlen(u), &tok, &link_n, &target) != TOKEN_OK) {
		metrics_add(METRICS_TOKENS_INVALID, 1);
		return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
		    METRICS_EP_CLICK, start);
	}
	if (link_n == 0) {
		free(target);
		http_event(h, c, EVENT_CLICK, &tok, 0, head);
		return http_reply(c, MHD_HTTP_NO_CONTENT, h->resp[dr][R_EMPTY],
		    METRICS_EP_CLICK, start);
	}
	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!r || MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, target) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store, private") != MHD_YES ||
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") != MHD_YES ||
	    (dr && MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
		/* a target no header can carry: never a redirect */
		if (r)
			MHD_destroy_response(r);
		free(target);
		return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
		    METRICS_EP_CLICK, start);
	}
	free(target);
	http_event(h, c, EVENT_CLICK, &tok, link_n, head);
	rc = http_reply(c, MHD_HTTP_FOUND, r, METRICS_EP_CLICK, start);
	MHD_destroy_response(r);
	return rc;
}

/* http_unsub - /u/<token>/<mac>: GET and HEAD show the confirmation page and change
 * nothing; a POST whose body is the one-click form (P) queues an unsubscribe event and
 * answers the done page; a POST without it 400; anything that does not verify 404 */
static enum MHD_Result http_unsub(struct http *h, struct MHD_Connection *c,
    const struct route *rt, const struct http_post *p, uint64_t start)
{
	int dr = atomic_load_explicit(&h->draining, memory_order_relaxed);
	struct token tok;

	if (!rt->token_len || unsuburl_check(h->c.keys, rt->token, rt->token_len, rt->mac,
	    rt->mac_len, &tok) != TOKEN_OK) {
		metrics_add(METRICS_TOKENS_INVALID, 1);
		return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
		    METRICS_EP_UNSUB, start);
	}
	if (!p)
		return http_reply(c, MHD_HTTP_OK, h->resp[dr][R_UNSUB_ASK], METRICS_EP_UNSUB,
		    start);
	if (!unsub_one_click(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE), p->body, p->len))
		return http_reply(c, MHD_HTTP_BAD_REQUEST, h->resp[dr][R_UNSUB_BAD],
		    METRICS_EP_UNSUB, start);
	http_event(h, c, EVENT_UNSUBSCRIBE, &tok, 0, 0);
	return http_reply(c, MHD_HTTP_OK, h->resp[dr][R_UNSUB_DONE], METRICS_EP_UNSUB, start);
}

/* http_dl_done - a download counted against download_limit has ended */
static void http_dl_done(struct http *h)
{
	if (h->dl_limit)
		atomic_fetch_sub_explicit(&h->dl_busy, 1, memory_order_relaxed);
}

/* http_dl_miss - log a store miss of a valid link (purged manifest, missing file): at
 * most one line per HTTP_DL_LOG_S seconds for each kind, with how many went unlogged,
 * so that a link shared widely cannot flood the log */
static void http_dl_miss(struct http *h, enum download_status st, const char *uuid,
    const char *why)
{
	unsigned skipped;

	if (!download_log_due(&h->dl_logged[st], (int64_t)time(NULL), HTTP_DL_LOG_S)) {
		atomic_fetch_add_explicit(&h->dl_unlogged[st], 1, memory_order_relaxed);
		return;
	}
	skipped = atomic_exchange_explicit(&h->dl_unlogged[st], 0, memory_order_relaxed);
	if (skipped)
		log_warnx("download of token %s: %s (and %u more like it in the last %d s, "
		    "not logged)", uuid, why, skipped, HTTP_DL_LOG_S);
	else
		log_warnx("download of token %s: %s", uuid, why);
}

/* http_download - /d/<token>/<n>/<sig>: 404 unless the signature verifies, 410 once it
 * expired (no file read), 503 (Retry-After) while download_limit downloads are being
 * sent, 404 (logged, rate-limited) when the store has no such file, else the file (200),
 * a range of it (206) or 416; a 200 or 206 is a download event (attachment N, the body
 * bytes once the whole answer went out, partial), pushed when the request ends (see the
 * top of the file), which also ends its count against download_limit */
static enum MHD_Result http_download(struct http *h, struct MHD_Connection *c,
    const struct route *rt, int head, uint64_t start, void **req)
{
	int dr = atomic_load_explicit(&h->draining, memory_order_relaxed);
	unsigned n = download_parse_n(rt->n, rt->n_len), status = 0;
	char uuid[TOKEN_UUID_LEN + 1], why[512];
	struct download_entry e;
	struct MHD_Response *r;
	struct http_dl *dl;
	struct event_raw ev;
	struct token tok;
	uint64_t expiry = 0, bytes = 0, now = (uint64_t)time(NULL);
	enum download_status st;
	enum MHD_Result rc;
	int fd;

	if (!rt->token_len || !n || dlurl_check(h->c.keys, rt->token, rt->token_len, n, rt->mac,
	    rt->mac_len, &expiry) != TOKEN_OK ||
	    token_parse(h->c.keys, rt->token, rt->token_len, &tok) != TOKEN_OK) {
		metrics_add(METRICS_TOKENS_INVALID, 1);
		return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
		    METRICS_EP_DOWNLOAD, start);
	}
	if (expiry < now)
		return http_reply(c, MHD_HTTP_GONE, h->resp[dr][R_GONE], METRICS_EP_DOWNLOAD, start);
	/* counted before the file is opened: its descriptor is what the limit guards */
	if (h->dl_limit && atomic_fetch_add_explicit(&h->dl_busy, 1, memory_order_relaxed) >=
	    h->dl_limit) {
		http_dl_done(h);
		metrics_add(METRICS_DOWNLOADS_BUSY, 1);
		return http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, h->resp[dr][R_BUSY],
		    METRICS_EP_DOWNLOAD, start);
	}
	token_rid_uuid(tok.rid, uuid);
	st = download_open(h->c.attachment_dir, tok.rid, n, &e, &fd, why, sizeof(why));
	if (st != DOWNLOAD_FOUND) {
		http_dl_done(h);
		http_dl_miss(h, st, uuid, why);
		return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
		    METRICS_EP_DOWNLOAD, start);
	}
	if (e.expires && e.expires < now) {
		close(fd);
		http_dl_done(h);
		return http_reply(c, MHD_HTTP_GONE, h->resp[dr][R_GONE], METRICS_EP_DOWNLOAD, start);
	}
	/* RFC 9110: Range is for GET only; a HEAD answers as the GET of the whole file */
	r = download_response(fd, &e, head ? NULL : MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE), head ? NULL : MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_RANGE), &status, &bytes);
	if (!r) {
		http_dl_done(h);
		return MHD_NO;
	}
	if (dr)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status != MHD_HTTP_OK && status != MHD_HTTP_PARTIAL_CONTENT) {
		http_dl_done(h);	/* a short 416: its file is closed once it is sent */
		rc = http_reply(c, status, r, METRICS_EP_DOWNLOAD, start);
		MHD_destroy_response(r);
		return rc;
	}
	http_event_fill(h, c, EVENT_DOWNLOAD, &tok, 0, head, &ev);
	ev.attachment_id = n;
	ev.bytes = head ? 0 : (int64_t)bytes;
	ev.partial = status == MHD_HTTP_PARTIAL_CONTENT;
	dl = malloc(sizeof(*dl));
	rc = http_reply(c, status, r, METRICS_EP_DOWNLOAD, start);
	MHD_destroy_response(r);
	if (rc != MHD_YES) {
		free(dl);	/* nothing is sent: no download */
		http_dl_done(h);
	} else if (dl) {
		dl->what = HTTP_REQ_DOWNLOAD;
		dl->ev = ev;
		*req = dl;	/* pushed and uncounted by http_completed() */
	} else {
		/* no memory for the record: pushed now, as if complete, and uncounted now */
		http_push(h, &ev);
		http_dl_done(h);
	}
	return rc;
}

/* http_post_body - a POST to /u/: keep its body, at most UNSUB_BODY_MAX bytes; the rest
 * of a longer one is read and dropped (as a GET's body is; connection_timeout bounds it)
 * and the answer at the end is 413 */
static enum MHD_Result http_post_body(void **req, const char *data, size_t *size)
{
	struct http_post *p = *req;
	size_t n = *size;

	*size = 0;
	if (p->over || p->len + n > sizeof(p->body)) {
		p->over = 1;
		return MHD_YES;
	}
	memcpy(p->body + p->len, data, n);
	p->len += n;
	return MHD_YES;
}

/* http_metrics - the Prometheus text */
static enum MHD_Result http_metrics(struct http *h, struct MHD_Connection *c, uint64_t start)
{
	struct metrics_gauges g;
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *buf = malloc(HTTP_METRICS_MAX);
	size_t len;

	if (!buf)
		return MHD_NO;
	g.queue_depth = queue_depth(h->c.queue);
	g.queue_capacity = queue_capacity(h->c.queue);
	g.db_up = h->c.writer ? writer_db_up(h->c.writer) : 0;
	g.node = h->c.node;
	len = metrics_render(buf, HTTP_METRICS_MAX, &g);
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (atomic_load(&h->draining))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	rc = http_reply(c, MHD_HTTP_OK, r, METRICS_EP_METRICS, start);
	MHD_destroy_response(r);
	return rc;
}

/* http_head_in - the request head of C is complete: the sweeper leaves it alone */
static void http_head_in(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;

	if (hc)
		atomic_store_explicit(&hc->since, 0, memory_order_relaxed);
}

/* http_serve - the request handler of either listener (see the top of the file for the
 * two calls); /metrics only on the metrics listener (METRICS), the pixel endpoints only
 * on the public ones */
static enum MHD_Result http_serve(struct http *h, int metrics, struct MHD_Connection *c,
    const char *url, const char *method, const char *upload_data, size_t *upload_data_size,
    void **req)
{
	int dr = atomic_load_explicit(&h->draining, memory_order_relaxed);
	struct http_post *post = NULL;
	struct route rt;
	struct token tok;
	enum MHD_Result rc;
	uint64_t start;
	int head = 0, is_post = 0;

	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		head = 0;
	else if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		head = 1;
	else if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 && !metrics)
		is_post = 1;	/* only /u/ takes it, checked before any body is read */
	else
		return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    h->resp[dr][!metrics && route_parse(url, strlen(url), &rt) == ROUTE_UNSUB ?
		    R_METHOD_UNSUB : R_METHOD], METRICS_EP_OTHER, 0);
	if (*req == NULL) {
		if (is_post) {
			const char *cl;
			if (route_parse(url, strlen(url), &rt) != ROUTE_UNSUB)
				return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    h->resp[dr][R_METHOD], METRICS_EP_OTHER, 0);
			/* before any body is read: a URL that does not verify, and a body
			 * announced too long, are answered at once */
			if (!rt.token_len || unsuburl_check(h->c.keys, rt.token, rt.token_len,
			    rt.mac, rt.mac_len, &tok) != TOKEN_OK) {
				metrics_add(METRICS_TOKENS_INVALID, 1);
				return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND],
				    METRICS_EP_UNSUB, 0);
			}
			cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_CONTENT_LENGTH);
			if (cl && (strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 9 ||
			    strtoul(cl, NULL, 10) > UNSUB_BODY_MAX))
				return http_reply(c, MHD_HTTP_CONTENT_TOO_LARGE,
				    h->resp[dr][R_TOO_LARGE], METRICS_EP_UNSUB, 0);
			if (!(post = malloc(sizeof(*post))))
				return MHD_NO;
			post->what = HTTP_REQ_POST;
			post->start = (uint64_t)clock_now_us() | 1;
			post->len = 0;
			post->over = 0;
			*req = post;
			return MHD_YES;
		}
		*req = (void *)(uintptr_t)((uint64_t)clock_now_us() | 1);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (is_post)
			return http_post_body(req, upload_data, upload_data_size);
		*upload_data_size = 0;	/* a body on GET: read and ignored */
		return MHD_YES;
	}
	if (is_post) {
		post = *req;
		start = post->start;
	} else {
		start = (uint64_t)(uintptr_t)*req;
	}
	*req = NULL;

	route_parse(url, strlen(url), &rt);
	if (is_post) {
		rc = post->over ? http_reply(c, MHD_HTTP_CONTENT_TOO_LARGE, h->resp[dr][R_TOO_LARGE],
		    METRICS_EP_UNSUB, start) : http_unsub(h, c, &rt, post, start);
		free(post);
		return rc;
	}
	if (metrics && rt.kind != ROUTE_METRICS && rt.kind != ROUTE_HEALTHZ)
		rt.kind = ROUTE_OTHER;
	else if (!metrics && rt.kind == ROUTE_METRICS)
		rt.kind = ROUTE_OTHER;
	switch (rt.kind) {
	case ROUTE_OPEN:
		if (rt.token_len &&
		    token_parse(h->c.keys, rt.token, rt.token_len, &tok) == TOKEN_OK) {
			http_event(h, c, EVENT_OPEN, &tok, 0, head);
		} else {
			metrics_add(METRICS_TOKENS_INVALID, 1);
		}
		return http_reply(c, MHD_HTTP_OK, h->resp[dr][R_GIF], METRICS_EP_OPEN, start);
	case ROUTE_CLICK:
		return http_click(h, c, &rt, head, start);
	case ROUTE_PIXEL:
		return http_reply(c, MHD_HTTP_OK, h->resp[dr][R_GIF], METRICS_EP_PIXEL, start);
	case ROUTE_HEALTHZ:
		return http_reply(c, MHD_HTTP_OK, h->resp[dr][R_HEALTHZ], METRICS_EP_HEALTHZ,
		    start);
	case ROUTE_METRICS:
		return http_metrics(h, c, start);
	case ROUTE_DOWNLOAD:
		return http_download(h, c, &rt, head, start, req);
	case ROUTE_UNSUB:
		return http_unsub(h, c, &rt, NULL, start);
	case ROUTE_OTHER:
		break;
	}
	return http_reply(c, MHD_HTTP_NOT_FOUND, h->resp[dr][R_NOTFOUND], METRICS_EP_OTHER,
	    start);
}

/* http_access - MHD_AccessHandlerCallback of the public listeners */
static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req)
{
	if (*req == NULL)
		http_head_in(c);
	return http_serve(cls, 0, c, url, method, upload_data, upload_data_size, req);
}

/* http_access_metrics - MHD_AccessHandlerCallback of the metrics listener */
static enum MHD_Result http_access_metrics(void *cls, struct MHD_Connection *c,
    const char *url, const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req)
{
	return http_serve(cls, 1, c, url, method, upload_data, upload_data_size, req);
}

/* http_notify - MHD_NotifyConnectionCallback: track each public connection from its
 * connect until it closes, timed while its request head is read */
static void http_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_conn *hc = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(hc = calloc(1, sizeof(*hc))))
			return;		/* untimed: connection_timeout still applies */
		hc->fd = ci->connect_fd;
		atomic_init(&hc->since, (uint64_t)clock_now_us() | 1);
		pthread_mutex_lock(&h->lock);
		hc->next = h->conns;
		if (h->conns)
			h->conns->prev = hc;
		h->conns = hc;
		pthread_mutex_unlock(&h->lock);
		*socket_context = hc;
		return;
	}
	if (!hc)
		return;
	/* MHD tells before it closes the socket: the sweeper never sees a reused fd */
	pthread_mutex_lock(&h->lock);
	if (hc->prev)
		hc->prev->next = hc->next;
	else
		h->conns = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&h->lock);
	free(hc);
	*socket_context = NULL;
}

/* http_completed - MHD_RequestCompletedCallback: a download's event is pushed (partial,
 * and without bytes, unless the whole answer was sent) and its count against
 * download_limit ends; the next request head is timed from now */
static void http_completed(void *cls, struct MHD_Connection *c, void **req,
    enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;

	/* a download's event; a POST cut off before its end still holds its body */
	if (req && *req && !((uintptr_t)*req & 1)) {
		if (*(const int *)*req == HTTP_REQ_DOWNLOAD) {
			struct http_dl *dl = *req;
			/* bytes only of an answer that went out whole: a transfer cut short
			 * sent an unknown part of it */
			if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
				dl->ev.partial = 1;
				dl->ev.bytes = -1;
			}
			http_push(h, &dl->ev);
			http_dl_done(h);
		}
		free(*req);
		*req = NULL;
	}
	if (hc)
		atomic_store_explicit(&hc->since, (uint64_t)clock_now_us() | 1,
		    memory_order_relaxed);
}

/* http_sweep - thread: shut down every connection whose request head took longer than
 * header_timeout (libmicrohttpd's idle timeout restarts with each byte, so a client
 * trickling its headers would hold the connection for ever) */
static void *http_sweep(void *arg)
{
	struct http *h = arg;
	struct timespec tick = { HTTP_SWEEP_MS / 1000, (HTTP_SWEEP_MS % 1000) * 1000000L };
	uint64_t limit = (uint64_t)h->head_timeout * 1000000;

	while (!atomic_load(&h->stopping)) {
		uint64_t now;
		unsigned n = 0;
		nanosleep(&tick, NULL);
		now = (uint64_t)clock_now_us();
		pthread_mutex_lock(&h->lock);
		for (struct http_conn *hc = h->conns; hc; hc = hc->next) {
			uint64_t since = atomic_load_explicit(&hc->since, memory_order_relaxed);
			if (since && now > since && now - since > limit) {
				atomic_store_explicit(&hc->since, 0, memory_order_relaxed);
				shutdown(hc->fd, SHUT_RDWR);	/* MHD sees the end and closes it */
				n++;
			}
		}
		pthread_mutex_unlock(&h->lock);
		if (n) {
			metrics_add(METRICS_HEADER_TIMEOUTS, n);
			log_info("http: closed %u connection(s) that took over %u s to send a "
			    "request head (header_timeout)", n, h->head_timeout);
		}
	}
	return NULL;
}

/* http_accept - MHD_AcceptPolicyCallback: no new connection once draining */
static enum MHD_Result http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http *h = cls;
	return atomic_load_explicit(&h->draining, memory_order_relaxed) ? MHD_NO : MHD_YES;
}

/* http_start - one daemon per socket */
int http_start(struct http *h, const struct http_conf *conf, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG;

	h->c = *conf;
	if (http_responses(h) < 0) {
		snprintf(err, errlen, "cannot build the HTTP responses");
		return -1;
	}
	if (h->tls_cert)
		flags |= MHD_USE_TLS;
	for (size_t i = 0; i < h->nfd; i++) {
		struct MHD_OptionItem o[16];
		int n = 0;
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
		    (intptr_t)http_mhd_log, NULL };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, h->fd[i], NULL };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, h->conn_limit, NULL };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, h->conn_timeout, NULL };
		if (h->per_ip_limit)
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			    h->per_ip_limit, NULL };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    HTTP_MEMORY_LIMIT, NULL };
		/* RFC 7230: 400 for an HTTP/1.1 request without Host, bad header lines */
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL };
		if (h->threads > 1)
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, h->threads,
			    NULL };
		if (h->head_timeout)
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
			    (intptr_t)http_notify, h };
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
		    (intptr_t)http_completed, h };
		if (h->tls_cert) {
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert };
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key };
			o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
			    (void *)HTTP_TLS_PRIORITIES };
		}
		o[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
		h->d[i] = MHD_start_daemon(flags, 0, http_accept, h, http_access, h,
		    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
		if (!h->d[i]) {
			snprintf(err, errlen, "cannot start the HTTP daemon for listen address %zu",
			    i + 1);
			return -1;
		}
	}
	/* plain HTTP, few connections, loopback by default: /metrics and /healthz */
	if (h->mfd >= 0 && !(h->md = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
	    MHD_USE_ERROR_LOG, 0, http_accept, h, http_access_metrics, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, h->mfd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, h->conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
	    MHD_OPTION_END))) {
		snprintf(err, errlen, "cannot start the HTTP daemon for metrics_listen");
		return -1;
	}
	if (h->head_timeout) {
		if ((errno = pthread_create(&h->sweeper, NULL, http_sweep, h)) != 0) {
			snprintf(err, errlen, "cannot start the header_timeout thread: %s",
			    strerror(errno));
			return -1;
		}
		h->sweeping = 1;
	}
	return 0;
}

/* http_connections - open connections over every daemon */
static unsigned http_connections(const struct http *h)
{
	unsigned n = 0;

	for (size_t i = 0; i < h->nfd; i++) {
		const union MHD_DaemonInfo *di;
		if (h->d[i] && (di = MHD_get_daemon_info(h->d[i],
		    MHD_DAEMON_INFO_CURRENT_CONNECTIONS)) != NULL)
			n += di->num_connections;
	}
	return n;
}

/* http_stop - stop accepting, let in-flight requests finish, close the rest */
void http_stop(struct http *h, long drain_ms)
{
	struct timespec tick = { 0, 10 * 1000000L };

	if (!h)
		return;
	/* not MHD_quiesce_daemon(): with epoll threads it can race its own
	 * worker for the listen FD and abort the process; new connections are
	 * refused by http_accept() instead, the socket stays where it is */
	atomic_store(&h->draining, 1);
	for (long waited = 0; waited < drain_ms && http_connections(h) > 0; waited += 10)
		nanosleep(&tick, NULL);
	if (h->sweeping) {
		atomic_store(&h->stopping, 1);
		pthread_join(h->sweeper, NULL);
	}
	for (size_t i = 0; i < h->nfd; i++) {
		if (h->d[i])
			MHD_stop_daemon(h->d[i]);	/* closes its listening socket */
		else
			close(h->fd[i]);
	}
	if (h->md)
		MHD_stop_daemon(h->md);
	else if (h->mfd >= 0)
		close(h->mfd);
	pthread_mutex_destroy(&h->lock);
	for (int dr = 0; dr < 2; dr++)
		for (int i = 0; i < R_N; i++)
			if (h->resp[dr][i])
				MHD_destroy_response(h->resp[dr][i]);
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
}
