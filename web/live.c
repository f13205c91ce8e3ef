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
 *
 *	A stream keeps the SHA-256 of the session cookie or the API token it
 *	was opened with.  The streams of one user share one read of each
 *	batch (struct live_user): the first stream to reach the batch takes a
 *	pooled session and, in one read-only transaction as that user, asks
 *	which of the user's streams still hold a live credential (the checks
 *	of auth.c: session not expired nor idle past session_idle, token not
 *	revoked nor expired, user active), then reads the batch's rows if one
 *	does; the others wait for it and copy its text.  A stream whose
 *	credential is gone gets "event: end" and ends, giving back its place;
 *	a quiet stream checks its own credential at each ping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api.h"
#include "buf.h"
#include "clock.h"
#include "data.h"
#include "db.h"
#include "live.h"
#include "log.h"
#include "pool.h"
#include "respond.h"
#include "server.h"

#define LIVE_POLL_MS 1000		/* the listener looks at the stop flag this often */
#define LIVE_CHUNK (16 * 1024)		/* bytes handed to libmicrohttpd at a time */
#define LIVE_HANGUP_MS 1000		/* a quiet stream looks for its client's hang-up this often */
#define LIVE_USER_READS 16		/* batches of a user kept for its streams that lag */
#define LIVE_KEY_HEX (2 * crypto_hash_sha256_BYTES + 1)	/* a credential's hash in hex */

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
	struct live_user *users;	/* the users with a stream open */
};

/* live_read_state - where a user's read of one batch is */
enum live_read_state {
	LIVE_READ_NONE,			/* not read */
	LIVE_READ_BUSY,			/* a stream of the user reads it */
	LIVE_READ_DONE,			/* read: text holds its events */
	LIVE_READ_FAILED,		/* could not be read (logged) */
};

/* live_read - one batch read for a user, shared by the user's streams */
struct live_read {
	uint64_t seq;			/* the batch */
	enum live_read_state state;	/* of seq */
	char *text;			/* its events as Server-Sent Events; NULL: none */
};

/* live_user - the streams of one user and their reads of the batches */
struct live_user {
	long long id;			/* beacon.web_users.id */
	unsigned streams;		/* its streams open */
	struct live_client *clients;	/* them */
	struct live_read rd[LIVE_USER_READS];	/* batch seq at rd[seq % LIVE_USER_READS] */
	struct live_user *next;		/* the next user of the live */
};

/* live_client - one stream */
struct live_client {
	struct live *l;			/* the listener */
	long long user;			/* whose events */
	char name[256];			/* the user's name, for the log */
	struct live_user *u;		/* the user's shared state */
	struct live_client *peer;	/* the next stream of the same user */
	int bearer;			/* opened with an API token, not a session cookie */
	char key[LIVE_KEY_HEX];		/* SHA-256 of the cookie or the token, hex */
	int ended;			/* its credential is gone: "event: end", then close */
	int closing;			/* "event: end" queued: close once it is out */
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

/*
 * The credential check: of the session ids $1 and the token ids $2 (SHA-256
 * in hex), the ones that still let their user in, as auth.c checks them at
 * each request ($3 session_idle in seconds).  Prefixed "s" or "t".
 */
static const char live_check_sql[] =
	"SELECT 's' || encode(s.id, 'hex')"
	" FROM beacon.web_sessions s JOIN beacon.web_users u ON u.id = s.user_id"
	" WHERE s.id = ANY (SELECT decode(k, 'hex') FROM unnest($1::text[]) k)"
	" AND u.active AND s.expires_at > now()"
	" AND coalesce(s.last_seen, s.created_at) > now() - make_interval(secs => $3::float8)"
	" UNION ALL"
	" SELECT 't' || encode(t.id, 'hex')"
	" FROM beacon.web_tokens t JOIN beacon.web_users u ON u.id = t.user_id"
	" WHERE t.id = ANY (SELECT decode(k, 'hex') FROM unnest($2::text[]) k)"
	" AND u.active AND (t.expires_at IS NULL OR t.expires_at > now())";

/* live_keys_add - KEY to the array literal A ("{" first) */
static void live_keys_add(struct buf *a, const char *key)
{
	buf_adds(a, a->len > 1 ? "," : "");
	buf_adds(a, key);
}

/* live_check - run the check on C for the keys of S's user's streams (ONE: S's
 * only); RES its rows; 0, or -1 (logged) */
static int live_check(struct live_client *s, PGconn *c, int one, PGresult **res)
{
	struct live *l = s->l;
	struct buf sess = { 0 }, tok = { 0 };
	char idle[32];
	const char *v[3];
	int rc;

	buf_adds(&sess, "{");
	buf_adds(&tok, "{");
	pthread_mutex_lock(&l->lock);
	for (struct live_client *p = one ? s : s->u->clients; p; p = one ? NULL : p->peer)
		if (!p->ended)
			live_keys_add(p->bearer ? &tok : &sess, p->key);
	pthread_mutex_unlock(&l->lock);
	buf_adds(&sess, "}");
	buf_adds(&tok, "}");
	snprintf(idle, sizeof(idle), "%ld", l->cfg->web.session_idle);
	v[0] = buf_str(&sess);
	v[1] = buf_str(&tok);
	v[2] = idle;
	rc = pool_exec(l->pool, c, live_check_sql, 3, v, res) == DB_OK ? 0 : -1;
	if (rc < 0) {
		db_ok(c, *res, "checking the live streams' sessions and tokens");
		PQclear(*res);
		*res = NULL;
	}
	buf_free(&sess);
	buf_free(&tok);
	return rc;
}

/* live_has - is stream P's credential among the check's rows RES? */
static int live_has(const PGresult *res, const struct live_client *p)
{
	for (int i = 0; i < PQntuples(res); i++) {
		const char *v = PQgetvalue(res, i, 0);
		if (v[0] == (p->bearer ? 't' : 's') && !strcmp(v + 1, p->key))
			return 1;
	}
	return 0;
}

/* live_mark - end the streams (of S's user, or S alone: ONE) whose credential is not
 * in RES; how many of them still hold one.  Called with the lock held. */
static int live_mark(struct live_client *s, int one, const PGresult *res)
{
	int alive = 0;

	for (struct live_client *p = one ? s : s->u->clients; p; p = one ? NULL : p->peer) {
		if (p->ended)
			continue;
		if (live_has(res, p)) {
			alive++;
			continue;
		}
		p->ended = 1;
		log_info("live stream user=%s: its %s is no longer valid (signed out, expired, "
		    "revoked or the user disabled): the stream ends", p->name,
		    p->bearer ? "API token" : "session");
	}
	return alive;
}

/* live_read_batch - on a pooled session, as S's user: which of the user's streams
 * may go on, then (if one may) the events of batch PAYLOAD as Server-Sent Events
 * into *TEXT (NULL: none); 0, or -1 (logged: the batch is skipped) */
static int live_read_batch(struct live_client *s, const char *payload, char **text)
{
	struct live *l = s->l;
	PGresult *chk = NULL, *res = NULL;
	PGconn *c = pool_get(l->pool, POOL_WAIT_MS);
	struct buf out = { 0 };
	int alive, rc = -1;

	*text = NULL;
	if (!c) {
		log_warnx("live stream user=%s: a batch skipped: no database session", s->name);
		return -1;
	}
	if (pool_begin(l->pool, c, s->user) < 0 || live_check(s, c, 0, &chk) < 0)
		goto out;
	pthread_mutex_lock(&l->lock);
	alive = live_mark(s, 0, chk);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (alive == 0) {
		rc = 0;
		goto out;
	}
	if (!data_ok(res = data_batch_events(l->pool, c, payload))) {
		db_ok(c, res, "reading a batch of live events");
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		buf_adds(&out, "event: beacon\ndata: ");
		api_row_json(&out, res, i, -1);
		buf_adds(&out, "\n\n");
	}
	if (pool_commit(l->pool, c) == 0) {
		rc = 0;
		if (out.len)
			*text = out.p;	/* taken over */
		else
			buf_free(&out);
	}
out:
	if (rc < 0) {
		buf_free(&out);
		log_warnx("live stream user=%s: batch %s skipped", s->name, payload);
	}
	PQclear(chk);
	PQclear(res);
	pool_put(l->pool, c);
	return rc;
}

/* live_batch - the client's events of batch SEQ (PAYLOAD) into its output: read once
 * for all the streams of its user (live_read_batch by the first to get there) */
static void live_batch(struct live_client *s, uint64_t seq, const char *payload)
{
	struct live *l = s->l;
	struct live_read *rd = &s->u->rd[seq % LIVE_USER_READS];
	char *text;
	int rc;

	pthread_mutex_lock(&l->lock);
	while (!l->stop && rd->state == LIVE_READ_BUSY)
		pthread_cond_wait(&l->cond, &l->lock);
	if (l->stop || s->ended || (rd->seq == seq && rd->state != LIVE_READ_NONE)) {
		if (!l->stop && !s->ended && rd->state == LIVE_READ_DONE && rd->text)
			buf_adds(&s->out, rd->text);
		pthread_mutex_unlock(&l->lock);
		return;
	}
	rd->seq = seq;
	rd->state = LIVE_READ_BUSY;
	free(rd->text);
	rd->text = NULL;
	pthread_mutex_unlock(&l->lock);

	rc = live_read_batch(s, payload, &text);

	pthread_mutex_lock(&l->lock);
	rd->state = rc < 0 ? LIVE_READ_FAILED : LIVE_READ_DONE;
	rd->text = text;
	if (!s->ended && text)
		buf_adds(&s->out, text);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* live_recheck - at a ping: does S's own credential still let it in?  (a database
 * that cannot answer keeps the stream: it delivers nothing meanwhile) */
static void live_recheck(struct live_client *s)
{
	struct live *l = s->l;
	PGconn *c = pool_get(l->pool, POOL_WAIT_MS);
	PGresult *chk = NULL;

	if (!c)
		return;
	if (live_check(s, c, 1, &chk) == 0) {
		pthread_mutex_lock(&l->lock);
		live_mark(s, 1, chk);
		pthread_mutex_unlock(&l->lock);
	}
	PQclear(chk);
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

	(void)pos;
	for (;;) {
		char *payload = NULL;
		uint64_t seq = 0;
		int ended;

		if (s->out.len > s->off) {
			size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
			memcpy(buf, s->out.p + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		buf_reset(&s->out);
		s->off = 0;
		if (s->closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&l->lock);
		while (!l->stop && !s->ended && s->next == l->seq && clock_now_us() < s->ping_at) {
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
		if (!s->ended && s->next != l->seq) {
			if (l->seq - s->next > LIVE_RING) {
				log_warnx("live stream user=%s: %llu batches skipped (the stream "
				    "fell behind)", s->name,
				    (unsigned long long)(l->seq - s->next - LIVE_RING));
				s->next = l->seq - LIVE_RING;
			}
			seq = s->next;
			payload = strdup(l->ring[s->next % LIVE_RING]);
			if (!payload)
				log_fatalx("out of memory");
			s->next++;
		}
		pthread_mutex_unlock(&l->lock);
		if (payload) {
			live_batch(s, seq, payload);
			free(payload);
		} else if (!s->ended) {
			live_recheck(s);
			s->ping_at = clock_now_us() + LIVE_PING_S * 1000000LL;
		}
		pthread_mutex_lock(&l->lock);
		ended = s->ended;
		pthread_mutex_unlock(&l->lock);
		if (ended) {
			/* the last words, then MHD_CONTENT_READER_END_OF_STREAM */
			buf_adds(&s->out, "event: end\ndata: {\"reason\":\"the session or API token "
			    "of this stream is no longer valid: sign in again\"}\n\n");
			s->closing = 1;
		} else if (!payload) {
			buf_adds(&s->out, ": ping\n\n");
		}
	}
}

/* live_user_leave - S leaves its user's streams; the user goes with its last stream.
 * Called with the lock held. */
static void live_user_leave(struct live *l, struct live_client *s)
{
	struct live_user *u = s->u, **pu;
	struct live_client **pp;

	if (!u)
		return;
	for (pp = &u->clients; *pp && *pp != s; pp = &(*pp)->peer)
		;
	if (*pp)
		*pp = s->peer;
	s->u = NULL;
	if (--u->streams > 0)
		return;
	for (pu = &l->users; *pu && *pu != u; pu = &(*pu)->next)
		;
	if (*pu)
		*pu = u->next;
	for (size_t i = 0; i < LIVE_USER_READS; i++)
		free(u->rd[i].text);
	free(u);
}

/* live_done - MHD_ContentReaderFreeCallback: the stream ended */
static void live_done(void *cls)
{
	struct live_client *s = cls;

	pthread_mutex_lock(&s->l->lock);
	s->l->clients--;
	live_user_leave(s->l, s);
	pthread_mutex_unlock(&s->l->lock);
	buf_free(&s->out);
	sodium_memzero(s->key, sizeof(s->key));
	free(s);
}

/* live_key - the SHA-256 (hex) of the credential R was let in with into S */
static int live_key(struct live_client *s, struct web_req *r)
{
	const char *secret = NULL;
	unsigned char h[crypto_hash_sha256_BYTES];

	if (r->bearer) {
		const char *a = web_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
		if (a && strncasecmp(a, "Bearer ", 7) == 0)
			for (secret = a + 7; *secret == ' '; secret++)
				;
	} else {
		secret = web_cookie(r, RESPOND_SESSION);
	}
	if (!secret || !*secret)
		return -1;
	s->bearer = r->bearer;
	crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
	sodium_bin2hex(s->key, sizeof(s->key), h, sizeof(h));
	return 0;
}

/* live_stream - a stream from the next batch on */
int live_stream(struct live *l, struct web_req *r)
{
	const union MHD_ConnectionInfo *ci;
	struct live_client *s;
	struct live_user *u;
	struct MHD_Response *resp;
	unsigned max = l->cfg->web.live_clients > 0 ? (unsigned)l->cfg->web.live_clients : 0;
	char msg[160];

	if (!(s = calloc(1, sizeof(*s))))
		log_fatalx("out of memory");
	if (live_key(s, r) < 0) {
		/* server.c let the request in with one of them: not reached */
		free(s);
		return web_error(r, 500, "internal error: the stream's credential is missing");
	}
	pthread_mutex_lock(&l->lock);
	for (u = l->users; u && u->id != r->user->id; u = u->next)
		;
	if (l->clients >= max || l->stop) {
		pthread_mutex_unlock(&l->lock);
		free(s);
		return web_error(r, 503, "too many live streams open; try again later");
	}
	if (u && u->streams >= LIVE_USER_STREAMS) {
		pthread_mutex_unlock(&l->lock);
		free(s);
		log_warnx("live stream user=%s: refused: %d streams of this user open already",
		    r->user->name, LIVE_USER_STREAMS);
		snprintf(msg, sizeof(msg), "you have %d live streams open already (pages or "
		    "programs): close one and try again", LIVE_USER_STREAMS);
		return web_error(r, 429, msg);
	}
	if (!u) {
		if (!(u = calloc(1, sizeof(*u))))
			log_fatalx("out of memory");
		u->id = r->user->id;
		u->next = l->users;
		l->users = u;
	}
	u->streams++;
	s->u = u;
	s->peer = u->clients;
	u->clients = s;
	l->clients++;
	s->next = l->seq;
	s->l = l;
	s->user = r->user->id;
	snprintf(s->name, sizeof(s->name), "%s", r->user->name);
	pthread_mutex_unlock(&l->lock);
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
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
