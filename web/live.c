/*
 * NAME
 *	live.c - the beacon_batch listener and the Server-Sent Events streams
 *	(see live.h)
 *
 * DESCRIPTION
 *	The listener appends each notification's payload to the ring under
 *	the lock and broadcasts; sequence numbers only grow, so a stream
 *	knows what it has not read yet (next .. seq).  A stream's content
 *	callback blocks in its connection's thread (libmicrohttpd's thread
 *	per connection) until a batch, the ping time or live_stop(); every
 *	LIVE_HANGUP_MS it looks whether the client hung up, so that a closed
 *	page gives its place back (live_clients) at once, not at the next ping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api.h"
#include "buf.h"
#include "clock.h"
#include "data.h"
#include "db.h"
#include "live.h"
#include "log.h"
#include "pool.h"
#include "server.h"

#define LIVE_POLL_MS 1000		/* the listener looks at the stop flag this often */
#define LIVE_CHUNK (16 * 1024)		/* bytes handed to libmicrohttpd at a time */
#define LIVE_HANGUP_MS 1000		/* a quiet stream looks for its client's hang-up this often */

/* live - the listener, the ring and the streams' count */
struct live {
	const struct beacon_cfg *cfg;	/* [web] live_clients, [database] */
	struct pool *pool;		/* the streams' sessions */
	pthread_t thread;		/* the listener */
	int started;			/* the thread runs */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;		/* a batch came, or stop */
	int stop;			/* live_stop() was called */
	uint64_t seq;			/* batches received so far */
	char *ring[LIVE_RING];		/* payload of batch i at ring[i % LIVE_RING] */
	unsigned clients;		/* streams open */
};

/* live_client - one stream */
struct live_client {
	struct live *l;			/* the listener */
	long long user;			/* whose events */
	char name[256];			/* the user's name, for the log */
	uint64_t next;			/* the next batch to read */
	struct buf out;			/* text not handed out yet */
	size_t off;			/* how much of out was */
	long long ping_at;		/* when to write ": ping" (clock_now_us) */
	int fd;				/* the connection's socket, watched for a hang-up; -1: none */
};

/* live_wait - sleep S seconds unless stopped; 1 when stopped */
static int live_wait(struct live *l, int s)
{
	long long deadline = clock_after_ms(s * 1000LL);
	int stop;

	pthread_mutex_lock(&l->lock);
	while (!l->stop && clock_cond_wait(&l->cond, &l->lock, deadline) != ETIMEDOUT)
		;
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/* live_stopped - has live_stop() been called? */
static int live_stopped(struct live *l)
{
	int stop;

	pthread_mutex_lock(&l->lock);
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/* live_push - a notification's payload into the ring; wake the streams */
static void live_push(struct live *l, const char *payload)
{
	char *p = strdup(payload);

	if (!p)
		log_fatalx("out of memory");
	pthread_mutex_lock(&l->lock);
	free(l->ring[l->seq % LIVE_RING]);
	l->ring[l->seq % LIVE_RING] = p;
	l->seq++;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* live_listen - a checked session LISTENing, or NULL (logged) */
static PGconn *live_listen(struct live *l)
{
	char err[1024];
	int refused;
	PGresult *res;
	PGconn *c = pool_connect(l->cfg, &refused, err, sizeof(err));

	if (!c) {
		log_warnx("live events: %s", err);
		return NULL;
	}
	if (pool_exec(l->pool, c, "LISTEN " LIVE_CHANNEL, 0, NULL, &res) != DB_OK) {
		db_ok(c, res, "LISTEN " LIVE_CHANNEL);
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	log_info("live events: listening on " LIVE_CHANNEL);
	return c;
}

/* live_run - the listener thread: notifications into the ring, reconnecting with backoff */
static void *live_run(void *arg)
{
	struct live *l = arg;
	PGconn *c = NULL;
	int pause = 1;

	while (!live_stopped(l)) {
		struct pollfd pfd;
		PGnotify *n;

		if (!c && !(c = live_listen(l))) {
			if (live_wait(l, pause))
				break;
			pause = pause * 2 > LIVE_BACKOFF_MAX_S ? LIVE_BACKOFF_MAX_S : pause * 2;
			continue;
		}
		pause = 1;
		pfd = (struct pollfd){ PQsocket(c), POLLIN, 0 };
		if (poll(&pfd, 1, LIVE_POLL_MS) < 0 && errno != EINTR) {
			log_warn("live events: poll");
			continue;
		}
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
			int len;
			const char *e = db_error(c, NULL, &len);
			log_warnx("live events: session lost: %.*s; connecting again", len, e);
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((n = PQnotifies(c)) != NULL) {
			if (!strcmp(n->relname, LIVE_CHANNEL))
				live_push(l, n->extra);
			PQfreemem(n);
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

/* live_start - the ring and the listener thread */
struct live *live_start(const struct beacon_cfg *cfg, struct pool *pool)
{
	struct live *l = calloc(1, sizeof(*l));

	if (!l)
		log_fatalx("out of memory");
	l->cfg = cfg;
	l->pool = pool;
	pthread_mutex_init(&l->lock, NULL);
	clock_cond_init(&l->cond);
	if ((errno = pthread_create(&l->thread, NULL, live_run, l)) != 0)
		log_fatal("cannot start the live events thread");
	l->started = 1;
	return l;
}

/* live_stop - wake and end everything */
void live_stop(struct live *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (l->started)
		pthread_join(l->thread, NULL);
	l->started = 0;
}

/* live_free - the ring */
void live_free(struct live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LIVE_RING; i++)
		free(l->ring[i]);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

/* live_batch - the client's events of batch PAYLOAD into its output: data.c's
 * query and api.c's objects, as the API's events and the Live page's first rows */
static void live_batch(struct live_client *s, const char *payload)
{
	struct live *l = s->l;
	PGresult *res = NULL;
	PGconn *c = pool_get(l->pool, POOL_WAIT_MS);

	if (!c) {
		log_warnx("live stream user=%s: a batch skipped: no database session", s->name);
		return;
	}
	if (pool_begin(l->pool, c, s->user) < 0 ||
	    !data_ok(res = data_batch_events(l->pool, c, payload))) {
		db_ok(c, res, "reading a batch of live events");
		log_warnx("live stream user=%s: batch %s skipped", s->name, payload);
	} else {
		for (int i = 0; i < PQntuples(res); i++) {
			buf_adds(&s->out, "event: beacon\ndata: ");
			api_row_json(&s->out, res, i, -1);
			buf_adds(&s->out, "\n\n");
		}
		pool_commit(l->pool, c);
	}
	PQclear(res);
	pool_put(l->pool, c);
}

/* live_gone - has the client of socket FD hung up?  (a stream's client sends nothing
 * after its request: a hang-up is seen without waiting for the next write) */
static int live_gone(int fd)
{
	struct pollfd pfd = { fd, POLLRDHUP, 0 };

	return fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* live_read - MHD_ContentReaderCallback: what is pending, else wait for a batch or the ping */
static ssize_t live_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct live_client *s = cls;
	struct live *l = s->l;

	for (;;) {
		char *payload = NULL;

		if (s->out.len > s->off) {
			size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
			memcpy(buf, s->out.p + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		buf_reset(&s->out);
		s->off = 0;
		pthread_mutex_lock(&l->lock);
		while (!l->stop && s->next == l->seq && clock_now_us() < s->ping_at) {
			long long check = clock_after_ms(LIVE_HANGUP_MS);
			if (clock_cond_wait(&l->cond, &l->lock, check < s->ping_at ? check :
			    s->ping_at) == ETIMEDOUT && live_gone(s->fd)) {
				pthread_mutex_unlock(&l->lock);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
		}
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (s->next != l->seq) {
			if (l->seq - s->next > LIVE_RING) {
				log_warnx("live stream user=%s: %llu batches skipped (the stream "
				    "fell behind)", s->name,
				    (unsigned long long)(l->seq - s->next - LIVE_RING));
				s->next = l->seq - LIVE_RING;
			}
			payload = strdup(l->ring[s->next % LIVE_RING]);
			s->next++;
		}
		pthread_mutex_unlock(&l->lock);
		if (payload) {
			live_batch(s, payload);
			free(payload);
		} else {
			buf_adds(&s->out, ": ping\n\n");
			s->ping_at = clock_now_us() + LIVE_PING_S * 1000000LL;
		}
	}
}

/* live_done - MHD_ContentReaderFreeCallback: the stream ended */
static void live_done(void *cls)
{
	struct live_client *s = cls;

	pthread_mutex_lock(&s->l->lock);
	s->l->clients--;
	pthread_mutex_unlock(&s->l->lock);
	buf_free(&s->out);
	free(s);
}

/* live_stream - a stream from the next batch on */
int live_stream(struct live *l, struct web_req *r)
{
	const union MHD_ConnectionInfo *ci;
	struct live_client *s;
	struct MHD_Response *resp;
	unsigned max = l->cfg->web.live_clients > 0 ? (unsigned)l->cfg->web.live_clients : 0;

	pthread_mutex_lock(&l->lock);
	if (l->clients >= max || l->stop) {
		pthread_mutex_unlock(&l->lock);
		return web_error(r, 503, "too many live streams open; try again later");
	}
	l->clients++;
	if (!(s = calloc(1, sizeof(*s))))
		log_fatalx("out of memory");
	s->next = l->seq;
	pthread_mutex_unlock(&l->lock);
	s->l = l;
	s->user = r->user->id;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	snprintf(s->name, sizeof(s->name), "%s", r->user->name);
	s->ping_at = clock_now_us() + LIVE_PING_S * 1000000LL;
	/* something at once, so that the client sees the stream open */
	buf_adds(&s->out, "retry: 3000\n: stream of beacon events\n\n");
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LIVE_CHUNK, live_read, s,
	    live_done);
	if (!resp) {
		live_done(s);
		return -1;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") !=
	    MHD_YES || MHD_add_response_header(resp, "X-Accel-Buffering", "no") != MHD_YES) {
		MHD_destroy_response(resp);	/* calls live_done */
		return -1;
	}
	return web_send_response(r, 200, resp, "no-store");
}
