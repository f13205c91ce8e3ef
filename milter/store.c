/*
 * NAME
 *	store.c - the milter's database writer: a bounded connection pool,
 *	the spool fallback and the replay thread
 *
 * DESCRIPTION
 *	See store.h for the rules.  One mutex guards the pool slots and the
 *	up/down state; nothing slow (connecting, writing, spooling) happens
 *	while it is held.  Deadlines and timed waits use the monotonic clock
 *	(clock.h); whether to spool is the failure policy's (policy.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "clock.h"
#include "inbound_record.h"
#include "db.h"
#include "log.h"
#include "policy.h"
#include "spool.h"
#include "store.h"
#include "store_sql.h"

#define STORE_APP "beacon-milter"
#define STORE_RETRY_MAX_S 5	/* longest pause between reconnect tries */
#define STORE_POOL_MAX 64	/* db_pool_size is capped here */

/* store_slot - one pooled session */
struct store_slot {
	PGconn *conn;		/* NULL until connected */
	int busy;		/* lent to a writer */
};

/* store - the writer */
struct store {
	const struct beacon_cfg *cfg;	/* the configuration it started with */
	struct spool *spool;	/* spool_dir/milter.spool */
	pthread_mutex_t lock;	/* guards everything below */
	pthread_cond_t freed;	/* a slot became free */
	pthread_cond_t wake;	/* wakes the replay thread */
	struct store_slot *slots;	/* the pool */
	int nslots;		/* db_pool_size */
	int down;		/* the database failed: do not wait for it */
	int stop;		/* the replay thread must end */
	int running;		/* the replay thread was started */
	pthread_t thread;	/* the replay thread */
	PGconn *rconn;		/* the replay thread's own session */
};

/* store_new - the store with its spool open */
struct store *store_new(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct store *st = g_new0(struct store, 1);

	st->cfg = cfg;
	st->spool = spool_open(cfg->milter.spool_dir, "milter", err, errlen);
	if (!st->spool) {
		g_free(st);
		return NULL;
	}
	st->nslots = (int)CLAMP(cfg->milter.db_pool_size, 1, STORE_POOL_MAX);
	st->slots = g_new0(struct store_slot, st->nslots);
	pthread_mutex_init(&st->lock, NULL);
	clock_cond_init(&st->freed);
	clock_cond_init(&st->wake);
	return st;
}

/* store_connect - a new session with the statement prepared, or NULL (logged after WHO) */
static PGconn *store_connect(struct store *st, const char *who)
{
	char err[512];
	PGconn *c = db_connect(st->cfg, STORE_APP, err, sizeof(err));

	if (!c) {
		log_warnx("%s: %s", who, err);
		return NULL;
	}
	if (store_sql_prepare(c) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* store_mark_down - stop waiting for the database; wake the replay thread */
static void store_mark_down(struct store *st, const char *qid)
{
	pthread_mutex_lock(&st->lock);
	if (!st->down)
		log_warnx("%s: database unavailable: rows go to the spool or on_db_error "
			  "applies until it is back", qid);
	st->down = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

/* store_get - lend a slot (connecting it if needed) before DEADLINE; -1 if none.
 * *FRESH tells whether the session was opened for this call. */
static int store_get(struct store *st, long long deadline, const char *qid, int *fresh)
{
	int idx = -1;

	*fresh = 0;
	pthread_mutex_lock(&st->lock);
	while (idx < 0 && !st->down) {
		for (int i = 0; i < st->nslots && idx < 0; i++)
			if (!st->slots[i].busy && st->slots[i].conn)
				idx = i;
		for (int i = 0; i < st->nslots && idx < 0; i++)
			if (!st->slots[i].busy)
				idx = i;
		if (idx >= 0)
			break;
		/* every session is busy: wait for one, within the deadline */
		if (clock_left_ms(deadline) == 0)
			break;
		clock_cond_wait(&st->freed, &st->lock, deadline);
	}
	if (idx >= 0)
		st->slots[idx].busy = 1;
	pthread_mutex_unlock(&st->lock);
	if (idx >= 0 && !st->slots[idx].conn) {
		*fresh = 1;
		st->slots[idx].conn = store_connect(st, qid);
		if (!st->slots[idx].conn) {
			pthread_mutex_lock(&st->lock);
			st->slots[idx].busy = 0;
			pthread_cond_signal(&st->freed);
			pthread_mutex_unlock(&st->lock);
			return -1;
		}
	}
	return idx;
}

/* store_release - give a slot back; BROKEN: close its session */
static void store_release(struct store *st, int idx, int broken)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&st->lock);
	if (broken) {
		c = st->slots[idx].conn;
		st->slots[idx].conn = NULL;
	}
	st->slots[idx].busy = 0;
	pthread_cond_signal(&st->freed);
	pthread_mutex_unlock(&st->lock);
	if (c)
		PQfinish(c);
}

/* store_item - what one put writes: a message's rows (RECORD_SPOOL_TYPE,
 * RECORD_ATT_SPOOL_TYPE), the bounces of a report (BOUNCE_SPOOL_TYPE), a received message's
 * inbound rows (INBOUND_SPOOL_TYPE) or a reply's (REPLY_SPOOL_TYPE) */
struct store_item {
	uint8_t type;		/* its spool record type */
	const void *rec;	/* struct msg_record, bounce_record, inbound_record, reply_record */
	const char *id;		/* for log lines */
};

/* store_what - what a record of spool type TYPE is, for log lines */
static const char *store_what(uint8_t type)
{
	switch (type) {
	case BOUNCE_SPOOL_TYPE:
		return "bounce report";
	case INBOUND_SPOOL_TYPE:
		return "inbound mail";
	case REPLY_SPOOL_TYPE:
		return "reply";
	default:
		return "message";
	}
}

/* store_write - the statement of IT on CONN */
static enum store_sql_rc store_write(PGconn *conn, const struct store_item *it, int timeout,
				     const char *qid)
{
	switch (it->type) {
	case BOUNCE_SPOOL_TYPE:
		return store_sql_bounce(conn, it->rec, timeout, qid);
	case INBOUND_SPOOL_TYPE:
		return store_sql_inbound(conn, it->rec, timeout, qid);
	case REPLY_SPOOL_TYPE:
		return store_sql_reply(conn, it->rec, timeout, qid);
	default:
		return store_sql_write(conn, it->rec, timeout, qid);
	}
}

/* store_encode - the spool payload of IT */
static GBytes *store_encode(const struct store_item *it)
{
	switch (it->type) {
	case BOUNCE_SPOOL_TYPE:
		return bounce_record_encode(it->rec);
	case INBOUND_SPOOL_TYPE:
		return inbound_record_encode(it->rec);
	case REPLY_SPOOL_TYPE:
		return reply_record_encode(it->rec);
	default:
		return record_encode(it->rec);
	}
}

/* store_spool - append IT to the spool, synced */
static enum store_result store_spool(struct store *st, const struct store_item *it, const char *qid)
{
	GBytes *b = store_encode(it);
	gsize len;
	const void *data = g_bytes_get_data(b, &len);
	int rc = spool_append(st->spool, it->type, data, len, 1);

	g_bytes_unref(b);
	if (rc < 0) {
		log_warn("%s: cannot spool %s %s", qid, store_what(it->type), it->id);
		return STORE_FAILED;
	}
	return STORE_SPOOLED;
}

/* store_put_item - database if it is up, else the spool (or failure) */
static enum store_result store_put_item(struct store *st, const struct store_item *it,
					const char *qid)
{
	int timeout = db_timeout_ms(st->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS);
	long long deadline = clock_after_ms(timeout);
	enum store_sql_rc rc = STORE_SQL_DOWN;

	/* a pooled session the server closed fails at once: one more try on a new one */
	for (int attempt = 0; attempt < 2; attempt++) {
		int fresh, idx = store_get(st, deadline, qid, &fresh);

		if (idx < 0) {
			rc = STORE_SQL_TIMEOUT;
			break;
		}
		rc = store_write(st->slots[idx].conn, it, timeout, qid);
		store_release(st, idx, rc == STORE_SQL_DOWN || rc == STORE_SQL_TIMEOUT);
		if (rc != STORE_SQL_DOWN || fresh)
			break;
	}
	if (rc == STORE_SQL_OK)
		return STORE_OK;
	if (rc == STORE_SQL_DATA) {
		log_warnx("%s: database refused the rows of %s %s", qid, store_what(it->type),
			  it->id);
		return STORE_FAILED;
	}
	store_mark_down(st, qid);
	if (policy_decide(st->cfg, POLICY_DB_DOWN, 0).action != POLICY_SPOOL)
		return STORE_FAILED;
	return store_spool(st, it, qid);
}

/* store_put - one message's rows */
enum store_result store_put(struct store *st, const struct msg_record *rec, const char *qid)
{
	struct store_item it = { record_spool_type(rec), rec, rec->id };

	return store_put_item(st, &it, qid);
}

/* store_put_bounce - one report's bounces */
enum store_result store_put_bounce(struct store *st, const struct bounce_record *b,
				   const char *qid)
{
	struct store_item it = { BOUNCE_SPOOL_TYPE, b, b->id };

	return store_put_item(st, &it, qid);
}

/* store_put_inbound - one received message's inbound rows: spooled, never waited for */
enum store_result store_put_inbound(struct store *st, const struct inbound_record *r,
				    const char *qid)
{
	struct store_item it = { INBOUND_SPOOL_TYPE, r, *r->message_id ? r->message_id : qid };

	return store_spool(st, &it, qid);
}

/* store_put_reply - one reply's rows: spooled, never waited for */
enum store_result store_put_reply(struct store *st, const struct reply_record *r, const char *qid)
{
	struct store_item it = { REPLY_SPOOL_TYPE, r, *r->message_id ? r->message_id : qid };

	return store_spool(st, &it, qid);
}

/* store_is_up - the up/down flag */
int store_is_up(struct store *st)
{
	int up;

	pthread_mutex_lock(&st->lock);
	up = !st->down;
	pthread_mutex_unlock(&st->lock);
	return up;
}

/* store_decode - the record of spool type TYPE in DATA into IT (its queue id in *QID);
 * 0, or -1 when it is not one */
static int store_decode(uint8_t type, const void *data, size_t len, struct store_item *it,
			const char **qid)
{
	struct msg_record *rec;
	struct bounce_record *b;
	struct inbound_record *in;
	struct reply_record *y;

	it->type = type;
	switch (type) {
	case RECORD_SPOOL_TYPE:
	case RECORD_ATT_SPOOL_TYPE:
	case RECORD_THREAD_SPOOL_TYPE:
		if (!(rec = record_decode_type(type, data, len)))
			return -1;
		*it = (struct store_item){ type, rec, rec->id };
		*qid = rec->queue_id;
		return 0;
	case BOUNCE_SPOOL_TYPE:
		if (!(b = bounce_record_decode(data, len)))
			return -1;
		*it = (struct store_item){ type, b, b->id };
		*qid = b->queue_id;
		return 0;
	case INBOUND_SPOOL_TYPE:
		if (!(in = inbound_record_decode(data, len)))
			return -1;
		*it = (struct store_item){ type, in, in->message_id };
		*qid = in->queue_id;
		return 0;
	case REPLY_SPOOL_TYPE:
		if (!(y = reply_record_decode(data, len)))
			return -1;
		*it = (struct store_item){ type, y, y->message_id };
		*qid = y->queue_id;
		return 0;
	default:
		return -1;
	}
}

/* store_item_free - free the record store_decode made */
static void store_item_free(struct store_item *it)
{
	switch (it->type) {
	case BOUNCE_SPOOL_TYPE:
		bounce_record_free((struct bounce_record *)it->rec);
		break;
	case INBOUND_SPOOL_TYPE:
		inbound_record_free((struct inbound_record *)it->rec);
		break;
	case REPLY_SPOOL_TYPE:
		reply_record_free((struct reply_record *)it->rec);
		break;
	default:
		record_free((struct msg_record *)it->rec);
		break;
	}
}

/* store_replay_one - spool_fn: write one spooled record with the replay session */
static int store_replay_one(void *arg, uint8_t type, const void *data, size_t len)
{
	struct store *st = arg;
	struct store_item it;
	const char *qid;
	enum store_sql_rc rc;
	int timeout = db_timeout_ms(st->cfg, STORE_UNBOUNDED_MS, STORE_MARGIN_MS);

	if (store_decode(type, data, len, &it, &qid) < 0) {
		log_warnx("spool: record of type %u and %zu octets is not a message, a bounce "
			  "report, inbound mail nor a reply; skipped", type, len);
		return 0;
	}
	rc = store_write(st->rconn, &it, timeout, qid);
	if (rc == STORE_SQL_DATA)
		log_warnx("spool: database refused %s %s (queue id %s); skipped",
			  store_what(type), it.id, qid);
	store_item_free(&it);
	return rc == STORE_SQL_DOWN || rc == STORE_SQL_TIMEOUT ? -1 : 0;
}

/* store_replay_now - connect if needed, replay everything pending */
long store_replay_now(struct store *st)
{
	long n;

	if (!st->rconn && !(st->rconn = store_connect(st, "spool replay")))
		return -1;
	n = spool_has_pending(st->spool) ? spool_replay(st->spool, store_replay_one, st) : 0;
	if (n < 0) {
		PQfinish(st->rconn);
		st->rconn = NULL;
		return -1;
	}
	if (n > 0)
		log_info("spool: %ld messages replayed into the database", n);
	return n;
}

/* store_thread - reconnect and replay in the background */
static void *store_thread(void *arg)
{
	struct store *st = arg;
	int pause = 1;

	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		int down = st->down;
		pthread_mutex_unlock(&st->lock);
		if (down || spool_has_pending(st->spool)) {
			if (store_replay_now(st) >= 0) {
				PGconn *stale[STORE_POOL_MAX];
				int nstale = 0;
				pthread_mutex_lock(&st->lock);
				if (st->down) {
					log_info("database available again");
					/* idle sessions opened before the outage are likely dead */
					for (int i = 0; i < st->nslots; i++) {
						if (!st->slots[i].busy && st->slots[i].conn) {
							stale[nstale++] = st->slots[i].conn;
							st->slots[i].conn = NULL;
						}
					}
				}
				st->down = 0;
				pthread_mutex_unlock(&st->lock);
				while (nstale > 0)
					PQfinish(stale[--nstale]);
				pause = 1;
			} else {
				pause = MIN(pause * 2, STORE_RETRY_MAX_S);
			}
		}
		if (st->rconn) {
			/* keep no idle session beyond the pool */
			PQfinish(st->rconn);
			st->rconn = NULL;
		}
		pthread_mutex_lock(&st->lock);
		if (!st->stop)
			clock_cond_wait(&st->wake, &st->lock, clock_after_ms(pause * 1000LL));
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* store_start - start the replay thread */
int store_start(struct store *st)
{
	int rc = pthread_create(&st->thread, NULL, store_thread, st);

	if (rc != 0) {
		errno = rc;
		log_warn("cannot start the spool replay thread");
		return -1;
	}
	st->running = 1;
	return 0;
}

/* store_stop - end the thread, close everything */
void store_stop(struct store *st)
{
	if (!st)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->lock);
		st->stop = 1;
		pthread_cond_signal(&st->wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
	}
	for (int i = 0; i < st->nslots; i++)
		if (st->slots[i].conn)
			PQfinish(st->slots[i].conn);
	if (st->rconn)
		PQfinish(st->rconn);
	spool_close(st->spool);
	pthread_cond_destroy(&st->freed);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	g_free(st->slots);
	g_free(st);
}
