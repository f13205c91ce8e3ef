/*
 * NAME
 *	writer.c - batched COPY of events into beacon.events, with spool fallback
 *
 * DESCRIPTION
 *	See writer.h.  A batch is a list of pointers to encoded records: in
 *	the queue's mapping (live events, released after they are stored)
 *	or in the spool's mapping (replay).  Rows are formatted (binary
 *	COPY, event_bin.c) after the COPY has started and sent WR_CHUNK
 *	bytes at a time, so that the server inserts them while the next
 *	ones are enriched and formatted; only the end of the COPY commits
 *	them.
 *
 *	Results of wr_copy(): WR_OK; WR_DOWN (connection lost, deadline
 *	passed, or a server-side failure that is not about the data: the
 *	session is closed and the rows are spooled); WR_DATA (the server
 *	refused the rows themselves, SQLSTATE class 22 or 23: the session is
 *	kept and the batch is retried row by row); WR_UNSURE (the end of the
 *	COPY reached the server but no answer came back: the rows may be
 *	committed).
 *
 *	An unsure batch is spooled as records of type 'U' (a replay batch
 *	that ends unsure is remembered in check_next, which is also set at
 *	start: a crashed run may have stored the batch it was replaying
 *	without saving its progress; events of a crashed run found in the
 *	queue file inside its in-flight range come back as 'U' too).  Before such records
 *	are written again, one query asks which of them are already in
 *	beacon.events, by (token_id, at, kind), and those are skipped: a
 *	database that was paused or killed mid-commit gives neither a lost
 *	nor a doubled event.  The query needs SELECT on those columns; when
 *	it is refused the records are written again and a warning says so.
 *
 *	A COPY refused for a column or table the database lacks (SQLSTATE
 *	42703, 42P01: a beacon-pixelsrv newer than the schema, before
 *	beaconctl migrate) is not an outage: the session is kept, the
 *	events go to the spool, and no COPY is tried for WR_BACKOFF_MAX ms;
 *	one warning says so, then one every WR_SCHEMA_LOG_MS while it lasts,
 *	and one line when a COPY goes through again.  Reconnecting would
 *	not help and, done at the reconnect pace, floods the log.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "facts.h"
#include "limit.h"
#include "log.h"
#include "machines.h"
#include "metrics.h"
#include "writer.h"

#define WR_BACKOFF_MIN 250	/* ms before the first reconnect */
#define WR_BACKOFF_MAX 5000	/* ms between reconnects at most */
#define WR_MAX_BATCH 100000	/* upper bound of batch_size */
#define WR_MARGIN_MS 3000	/* wait for a statement: statement_timeout and this */
#define WR_UNBOUNDED_MS 30000	/* ... or this when statement_timeout sets no bound */
#define WR_SCHEMA_LOG_MS 60000	/* "schema too old" again at most this often */
#define WR_CHUNK 16384		/* COPY bytes sent at a time (about 60 rows) */

enum { WR_OK = 0, WR_DOWN = -1, WR_DATA = -2, WR_UNSURE = -3 };

/* an encoded event fills at most one queue slot */
_Static_assert(EVENT_REC_MAX == QUEUE_REC_MAX, "event records fit a queue slot");

/* the batch rows that are already stored, by position (1-based) */
#define WR_EXISTING_SQL "SELECT b.i FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) " \
	"WITH ORDINALITY AS b(t, a, k, i) WHERE EXISTS (SELECT 1 FROM beacon.events e " \
	"WHERE e.token_id = b.t AND e.at = b.a AND e.kind = b.k)"

/* the suppressions of a batch's unsubscribe events (007_unsubscribe.sql) */
#define WR_UNSUB_SQL "SELECT u::text, beacon.unsubscribe(u) FROM unnest($1::uuid[]) AS u"

/* wr_item - one encoded event of the current batch */
struct wr_item {
	const uint8_t *rec;	/* the encoding (queue slot or spool mapping) */
	size_t len;		/* its length */
	int unsure;		/* spooled from a COPY that may have committed */
	int skip;		/* already in beacon.events */
};

/* writer - the thread's state */
struct writer {
	struct writer_conf c;		/* what it works with */
	struct event_ctx ctx;		/* enrichment: c.ctx with the current machines rules */
	struct machines_db *machines;	/* the current machines rules (ctx.machines) */
	_Atomic(struct machines_db *) next_machines;	/* writer_set_machines() not yet taken */
	struct facts_cache *facts;	/* message facts of recent tokens */
	pthread_t thread;		/* the writer thread */
	_Atomic int stop;		/* writer_stop() was called */
	_Atomic int db_up;		/* conn is usable */
	_Atomic int spool_dirty;	/* records appended without fsync */
	PGconn *conn;			/* the session, or NULL */
	size_t batch_size;		/* events per COPY */
	long interval_ms;		/* longest wait for a full batch */
	long deadline_ms;		/* longest wait for one statement */
	struct wr_item *items;		/* the current batch */
	size_t nitems;			/* its length */
	char *buf;			/* COPY text of the batch */
	size_t cap;			/* buf's size */
	long backoff_ms;		/* next reconnect delay */
	long long next_connect;		/* clock_now_ms() of the next attempt */
	int down_logged;		/* the outage was logged */
	long long schema_retry;		/* clock_now_ms() before which no COPY is tried (schema too old) */
	long long schema_logged;	/* clock_now_ms() of the last "schema too old" line; 0: none */
	int types_checked;		/* the session's column types were compared (wr_check_types) */
	int text_copy;			/* they differ from EVENT_BIN_TYPES: COPY text rows */
	int check_next;			/* the next replay batch may be stored already */
	int check_refused;		/* the existence check was refused (logged once) */
	uint64_t replayed;		/* events replayed since the spool was last empty */
	uint64_t replayed_mark;		/* METRICS_EVENTS_REPLAYED when last looked at */
	struct limit *limit;		/* repeat_window and token_event_limit */
	long long next_sweep;		/* clock_now_ms() of the next limit_sweep() */
	long long next_expire;		/* clock_now_ms() of the next rejected_retention pass */
};

/* wr_not_spooled - count an event a spool did not take: dropped at the cap (the spool logs
 * that once per episode), lost otherwise (the caller logs); 1 when it was the cap */
static int wr_not_spooled(int err)
{
	if (err == EFBIG) {
		metrics_add(METRICS_EVENTS_DROPPED, 1);
		return 1;
	}
	metrics_add(METRICS_EVENTS_LOST, 1);
	return 0;
}

/* writer_spool_record - append one event record to a spool */
int writer_spool_record(struct spool *sp, const uint8_t *rec, size_t len)
{
	static _Atomic long long last_log;
	long long now, prev;

	if (sp && spool_append(sp, EVENT_SPOOL_TYPE, rec, len, 0) == 0) {
		metrics_add(METRICS_EVENTS_SPOOLED, 1);
		return 0;
	}
	if (wr_not_spooled(sp ? errno : 0))
		return -1;
	now = clock_now_ms();
	prev = atomic_load(&last_log);
	if (now - prev >= 1000 && atomic_compare_exchange_strong(&last_log, &prev, now))
		log_warn("event lost: cannot append to the spool (%llu lost so far)",
		    (unsigned long long)metrics_get(METRICS_EVENTS_LOST));
	return -1;
}

/* writer_overflow - the request path's way into the spool */
int writer_overflow(struct writer *w, const uint8_t *rec, size_t len)
{
	int rc = writer_spool_record(w->c.spool, rec, len);
	if (rc == 0)
		atomic_store(&w->spool_dirty, 1);
	return rc;
}

/* writer_db_up - the gauge */
int writer_db_up(const struct writer *w)
{
	return atomic_load(&w->db_up);
}

/* wr_drop - close the session after a failure and schedule a reconnect */
static void wr_drop(struct writer *w, const char *why)
{
	/* WHY may live in the session: log before closing it */
	if (!w->down_logged) {
		if (!why || !*why)
			why = "statement failed";
		log_warnx("database unavailable (%.*s): events go to the spool until it is back",
		    (int)strcspn(why, "\n"), why);
		w->down_logged = 1;
	}
	if (w->conn) {
		PQfinish(w->conn);
		w->conn = NULL;
	}
	w->types_checked = 0;
	atomic_store(&w->db_up, 0);
	metrics_add(METRICS_DB_ERRORS, 1);
	w->next_connect = clock_now_ms() + w->backoff_ms;
	w->backoff_ms = w->backoff_ms * 2 > WR_BACKOFF_MAX ? WR_BACKOFF_MAX : w->backoff_ms * 2;
}

/* wr_connect - open a session when none is open and the back-off allows it */
static void wr_connect(struct writer *w)
{
	char err[1024];

	if (w->conn || clock_now_ms() < w->next_connect)
		return;
	w->conn = db_connect(w->c.cfg, "beacon-pixelsrv", err, sizeof(err));
	if (!w->conn || PQsetnonblocking(w->conn, 1) != 0) {
		log_debug("database connect: %s", w->conn ? "cannot set non-blocking" : err);
		wr_drop(w, w->conn ? "cannot set non-blocking" : err);
		return;
	}
	if (w->down_logged)
		log_info("database is back: writing events again");
	w->down_logged = 0;
	w->backoff_ms = WR_BACKOFF_MIN;
	atomic_store(&w->db_up, 1);
}

/* wr_usable - a session to write with: open, and not waiting for a migration */
static int wr_usable(const struct writer *w)
{
	return w->conn && clock_now_ms() >= w->schema_retry;
}

/* wr_schema_old - statement WHAT refused for a column or table the schema lacks (STATE,
 * MSG of LEN bytes): keep the session, wait WR_BACKOFF_MAX ms, log now and then */
static void wr_schema_old(struct writer *w, const char *what, const char *state,
    const char *msg, int len)
{
	long long now = clock_now_ms();

	w->schema_retry = now + WR_BACKOFF_MAX;
	atomic_store(&w->db_up, 0);
	metrics_add(METRICS_DB_ERRORS, 1);
	w->types_checked = 0;	/* looked at again before the next try */
	if (w->schema_logged && now - w->schema_logged < WR_SCHEMA_LOG_MS)
		return;
	log_warnx("database %s failed: %s: %.*s (the schema is older than this "
	    "beacon-pixelsrv: run beaconctl migrate; the events wait in the spool, tried "
	    "again every %d s)", what, state, len, msg, WR_BACKOFF_MAX / 1000);
	w->schema_logged = now;
}

/* wr_schema_ok - a COPY went through: end a "schema too old" episode */
static void wr_schema_ok(struct writer *w)
{
	if (!w->schema_logged)
		return;
	log_info("the schema takes events again: writing them, and the spool");
	w->schema_logged = 0;
	atomic_store(&w->db_up, 1);
}

/* wr_fail - a failed statement WHAT (F from db.h, RES its result or NULL): WR_DATA with
 * the session kept, WR_DOWN with the session kept (schema too old: no COPY for a while)
 * or dropped; logs it */
static int wr_fail(struct writer *w, enum db_fault f, const PGresult *res, const char *what)
{
	const char *state = db_sqlstate(res), *msg;
	int len;

	msg = db_error(w->conn, res, &len);
	if (f == DB_DATA) {
		log_warnx("database refused %s: %s: %.*s", what, state, len, msg);
		return WR_DATA;
	}
	if (f != DB_TIMEOUT && (db_sqlstate_is(res, "42703") || db_sqlstate_is(res, "42P01")) &&
	    w->conn && PQstatus(w->conn) == CONNECTION_OK &&
	    PQtransactionStatus(w->conn) == PQTRANS_IDLE) {
		wr_schema_old(w, what, state, msg, len);
		return WR_DOWN;
	}
	if (f == DB_TIMEOUT)
		msg = "no answer before the deadline";
	else if (state && !w->down_logged)
		log_warnx("database %s failed: %s: %.*s", what, state, len, msg);
	wr_drop(w, msg);
	return WR_DOWN;
}

/* wr_facts - look up the message facts of ITEMS[0..N) the cache lacks (one query) */
static void wr_facts(struct writer *w, const struct wr_item *items, size_t n)
{
	struct event_raw ev;

	if (!w->facts || !w->conn)
		return;
	facts_begin(w->facts);
	for (size_t i = 0; i < n; i++)
		if (!items[i].skip && event_decode(items[i].rec, items[i].len, &ev) == 0)
			facts_want(w->facts, ev.rid);
	if (facts_fetch(w->facts, w->conn, clock_after_ms(w->deadline_ms)) < 0)
		wr_drop(w, PQerrorMessage(w->conn));	/* the COPY then spools the batch */
}

static void wr_array_add(char *buf, size_t *len, const char *v, int quote);

/* wr_unsubscribe - before the COPY of ITEMS[0..N): beacon.unsubscribe() for each
 * unsubscribe event, so that the suppression is never behind its event: when this fails
 * the session is dropped, the COPY finds no session and the batch goes to the spool, and
 * its replay calls it again (the function adds a row once).  A refusal (the function
 * missing on an old schema, no EXECUTE, a data error in the function) is such a failure
 * too: the batch waits in the spool until beaconctl migrate, rather than storing events
 * without their suppression or sending them to rejected.spool (never replayed) */
static void wr_unsubscribe(struct writer *w, const struct wr_item *items, size_t n)
{
	char uuid[TOKEN_UUID_LEN + 1], *arr = NULL;
	const char *params[1];
	size_t len = 1, cnt = 0;
	struct event_raw ev;
	PGresult *res = NULL;
	enum db_fault f;
	long long deadline;
	int mlen;

	for (size_t i = 0; i < n; i++) {
		if (items[i].skip || event_decode(items[i].rec, items[i].len, &ev) < 0 ||
		    ev.kind != EVENT_UNSUBSCRIBE)
			continue;
		if (!arr && !(arr = malloc(n * (TOKEN_UUID_LEN + 1) + 2)))
			log_fatalx("out of memory for %zu unsubscribe tokens", n);
		arr[0] = '{';
		token_rid_uuid(ev.rid, uuid);
		wr_array_add(arr, &len, uuid, 0);
		cnt++;
	}
	if (!cnt || !w->conn) {
		free(arr);
		return;
	}
	arr[len++] = '}';
	arr[len] = '\0';
	params[0] = arr;
	deadline = clock_after_ms(w->deadline_ms);
	f = db_flush(w->conn, PQsendQueryParams(w->conn, WR_UNSUB_SQL, 1, NULL, params, NULL,
	    NULL, 0), deadline);
	if (f == DB_OK)
		f = db_results(w->conn, deadline, &res);
	free(arr);
	if (f == DB_OK && PQresultStatus(res) == PGRES_TUPLES_OK) {
		for (int r = 0; r < PQntuples(res); r++) {
			const char *tok = PQgetvalue(res, r, 0);
			if (PQgetisnull(res, r, 1))
				log_warnx("unsubscribe of token %s: no tracked recipient has that "
				    "token (not stored yet, purged, or shared): nothing suppressed", tok);
			else if (strcmp(PQgetvalue(res, r, 1), "t") == 0)
				log_info("unsubscribe of token %s: its recipient is suppressed for "
				    "its sender", tok);
			else
				log_info("unsubscribe of token %s: already suppressed", tok);
		}
	} else if (f == DB_DATA && db_sqlstate_is(res, "23505")) {
		/* a concurrent call added the same row: it is there */
		log_info("unsubscribe: %zu token(s) already suppressed", cnt);
	} else if (f != DB_TIMEOUT && res && db_sqlstate(res) && PQstatus(w->conn) == CONNECTION_OK) {
		const char *msg = db_error(w->conn, res, &mlen);
		log_warnx("unsubscribe: beacon.unsubscribe() refused (%s: %.*s): the batch with "
		    "%zu unsubscribe event(s) waits in the spool; run beaconctl migrate (or grant "
		    "EXECUTE to this role)", db_sqlstate(res), mlen, msg, cnt);
		wr_drop(w, "beacon.unsubscribe() refused");	/* the COPY then spools the batch */
	} else {
		wr_drop(w, f == DB_TIMEOUT ? "no answer to beacon.unsubscribe() before the deadline" :
		    PQerrorMessage(w->conn));	/* the COPY then spools the batch */
	}
	PQclear(res);
}

/* wr_followup - after a stored batch: the rules that need other events */
static void wr_followup(struct writer *w)
{
	if (w->facts && w->conn && facts_followup(w->facts, w->conn,
	    (int)w->c.cfg->pixelsrv.click_burst_seconds, clock_after_ms(w->deadline_ms)) < 0)
		wr_drop(w, PQerrorMessage(w->conn));
}

/* wr_check_types - compare the types of the columns the COPY names with EVENT_BIN_TYPES
 * (once a session, and again after a refused row): binary rows need exactly those, so
 * when they differ (a migration that changed a column before this beacon-pixelsrv knew
 * of it) the rows go as text, which the server converts, as before binary; said once */
static void wr_check_types(struct writer *w)
{
	static const char sql[] =
	    "SELECT string_agg(coalesce(format_type(a.atttypid, a.atttypmod), '-'), ',' "
	    "ORDER BY c.n) FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS c(name, n) "
	    "LEFT JOIN pg_attribute a ON a.attrelid = 'beacon.events'::regclass "
	    "AND a.attname = c.name AND NOT a.attisdropped";
	const char *params[1] = { EVENT_COPY_COLUMNS };
	PGresult *res = NULL;
	int text;

	if (db_flush(w->conn, PQsendQueryParams(w->conn, sql, 1, NULL, params, NULL, NULL, 0),
	    clock_after_ms(w->deadline_ms)) != DB_OK ||
	    db_results(w->conn, clock_after_ms(w->deadline_ms), &res) != DB_OK ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return;	/* asked again next time; the COPY says what is wrong */
	}
	w->types_checked = 1;
	text = strcmp(PQgetvalue(res, 0, 0), EVENT_BIN_TYPES) != 0;
	if (text && !w->text_copy)
		log_warnx("beacon.events has columns of other types than this beacon-pixelsrv "
		    "sends (%s): events go as COPY text, slower, until it is upgraded",
		    PQgetvalue(res, 0, 0));
	else if (!text && w->text_copy)
		log_info("beacon.events has the column types this beacon-pixelsrv sends: "
		    "binary COPY again");
	w->text_copy = text;
	PQclear(res);
}

/* wr_row - the binary COPY tuple of one decoded event EV into BUF (CAP >= EVENT_COPY_MAX bytes):
 * enrichment and classification; its length, or 0 */
static size_t wr_row(struct writer *w, const struct event_raw *ev, char *buf, size_t cap)
{
	const struct classify_facts *facts;
	struct event_row row;
	int k;

	facts = w->facts ? facts_get(w->facts, ev->rid) : NULL;
	event_enrich(&w->ctx, ev, facts, &row);
	if (facts && ev->kind == EVENT_CLICK && ev->link_n == 0)
		facts_mark_hit(w->facts, ev->rid, ev->at_us);	/* the other tokens' events follow */
	/* the rules that need other events; a token without its row has no message
	 * for them to read (the row may come later: beaconctl reclassify) */
	if (facts && (ev->kind == EVENT_CLICK || ev->kind == EVENT_DOWNLOAD || row.datacenter ||
	    facts_marked(w->facts, ev->rid, ev->at_us)))
		facts_follow(w->facts, ev->rid);
	k = w->text_copy ? event_copy_row(&row, buf, cap) : event_bin_row(&row, buf, cap);
	if (k < 0) {
		char uuid[TOKEN_UUID_LEN + 1];
		token_rid_uuid(ev->rid, uuid);
		metrics_add(METRICS_EVENTS_LOST, 1);	/* cannot be: CAP holds any row
							 * (static assertion in event_bin.c) */
		log_warnx("event of token %s lost: its COPY row is over %d bytes", uuid,
		    EVENT_COPY_MAX);
		return 0;
	}
	return (size_t)k;
}

/* wr_put - queue LEN bytes of COPY data and send what the socket takes now, without
 * waiting for the server: it stores these rows while the next ones are formatted */
static enum db_fault wr_put(PGconn *conn, const char *buf, size_t len, long long deadline)
{
	int rc;

	while ((rc = PQputCopyData(conn, buf, (int)len)) == 0) {
		/* libpq's buffer is full (non-blocking mode): wait for the socket.  libpq
		 * mostly grows its buffer instead, so while the server is slower than the
		 * writer, the unsent rest of the batch waits there, not in one chunk */
		if (db_wait(conn, POLLOUT | POLLIN, deadline) < 0)
			return DB_TIMEOUT;
		if (!PQconsumeInput(conn))
			return DB_DOWN;
	}
	if (rc != 1 || PQflush(conn) < 0)
		return DB_DOWN;
	return DB_OK;
}

/* wr_copy_end - end the COPY, read the answer before DEADLINE */
static int wr_copy_end(struct writer *w, long long deadline)
{
	PGresult *res = NULL;
	enum db_fault f;
	int rc;

	f = db_flush(w->conn, PQputCopyEnd(w->conn, NULL), deadline);
	if (f != DB_OK)
		return wr_fail(w, f, NULL, "COPY");	/* the end never reached the server */
	f = db_results(w->conn, deadline, &res);
	if (f == DB_OK) {
		rc = WR_OK;
	} else if (!db_sqlstate(res)) {
		/* the server saw the end of the COPY; only its own error says it rolled back */
		wr_drop(w, f == DB_TIMEOUT ? "no answer to a COPY before the deadline" :
		    PQerrorMessage(w->conn));
		rc = WR_UNSURE;
	} else {
		rc = wr_fail(w, f, res, "COPY");
	}
	PQclear(res);
	return rc;
}

/* wr_copy - store ITEMS[0..N) (but the skipped ones) in one COPY statement: the facts
 * and unsubscribe queries first, then the rows, sent WR_CHUNK bytes at a time as they
 * are formatted (the server parses and inserts one chunk while the next is formatted),
 * then the end of the COPY, which commits them all or none */
static int wr_copy(struct writer *w, const struct wr_item *items, size_t n)
{
	long long deadline;
	PGresult *res = NULL;
	struct event_raw ev;
	enum db_fault f;
	size_t live = 0, len = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		live += !items[i].skip;
	if (live == 0)
		return WR_OK;
	wr_facts(w, items, n);
	wr_unsubscribe(w, items, n);
	if (!w->conn)
		return WR_DOWN;	/* a query lost the session: wr_drop() logged it */
	if (!w->types_checked)
		wr_check_types(w);
	if (!w->conn)
		return WR_DOWN;
	deadline = clock_after_ms(w->deadline_ms);
	f = db_flush(w->conn, PQsendQuery(w->conn, w->text_copy ? EVENT_COPY_TEXT_SQL :
	    EVENT_COPY_SQL), deadline);
	if (f == DB_OK)
		f = db_results(w->conn, deadline, &res);	/* stops at COPY IN */
	if (f != DB_OK || PQresultStatus(res) != PGRES_COPY_IN) {
		rc = wr_fail(w, f == DB_OK ? DB_DOWN : f, res, "COPY");
		PQclear(res);
		return rc;
	}
	PQclear(res);
	len = w->text_copy ? 0 : event_bin_header(w->buf);
	for (size_t i = 0; i < n; i++) {
		if (items[i].skip || event_decode(items[i].rec, items[i].len, &ev) < 0)
			continue;	/* stored already; decoding was checked when batched */
		len += wr_row(w, &ev, w->buf + len, w->cap - len);
		if (len >= WR_CHUNK) {
			if ((f = wr_put(w->conn, w->buf, len, deadline)) != DB_OK)
				return wr_fail(w, f, NULL, "COPY");	/* no end sent: nothing stored */
			len = 0;
		}
	}
	if (!w->text_copy)
		len += event_bin_trailer(w->buf + len);
	if (len && (f = wr_put(w->conn, w->buf, len, deadline)) != DB_OK)
		return wr_fail(w, f, NULL, "COPY");
	if ((rc = wr_copy_end(w, deadline)) == WR_OK)
		wr_schema_ok(w);
	else if (rc == WR_DATA && !w->text_copy)
		w->types_checked = 0;	/* a changed column refuses binary rows: look before isolating */
	return rc;
}

/* wr_isolate - write ITEMS one by one; refused ones go to rejected.spool;
 * WR_OK, or WR_DOWN / WR_UNSURE at item *DONE */
static int wr_isolate(struct writer *w, const struct wr_item *items, size_t n, size_t *done)
{
	char uuid[TOKEN_UUID_LEN + 1];
	struct event_raw ev;

	for (*done = 0; *done < n; (*done)++) {
		const struct wr_item *it = &items[*done];
		if (it->skip)
			continue;
		int rc = wr_copy(w, it, 1);
		if (rc == WR_OK) {
			metrics_add(METRICS_EVENTS_WRITTEN, 1);
			continue;
		}
		if (rc != WR_DATA)
			return rc;
		metrics_add(METRICS_EVENTS_REJECTED, 1);
		if (event_decode(it->rec, it->len, &ev) == 0)
			token_rid_uuid(ev.rid, uuid);
		else
			snprintf(uuid, sizeof(uuid), "?");
		if (!w->c.rejected ||
		    spool_append(w->c.rejected, EVENT_SPOOL_TYPE, it->rec, it->len, 1) < 0) {
			if (wr_not_spooled(w->c.rejected ? errno : 0))
				continue;
			log_warn("event of token %s refused by the database and lost: "
			    "cannot append to rejected.spool", uuid);
		} else {
			log_warnx("event of token %s refused by the database: kept in rejected.spool",
			    uuid);
		}
	}
	wr_followup(w);
	return WR_OK;
}

/* wr_spool_items - append ITEMS[0..N) to the spool with one fsync; the first UNSURE as 'U' */
static void wr_spool_items(struct writer *w, const struct wr_item *items, size_t n,
    size_t unsure)
{
	for (size_t i = 0; i < n; i++) {
		if (i < unsure) {
			if (spool_append(w->c.spool, EVENT_SPOOL_UNSURE, items[i].rec, items[i].len, 0) == 0)
				metrics_add(METRICS_EVENTS_SPOOLED, 1);
			else if (!wr_not_spooled(errno))
				log_warn("event lost: cannot append to the spool");
		} else {
			writer_spool_record(w->c.spool, items[i].rec, items[i].len);
		}
	}
	atomic_store(&w->spool_dirty, 0);
	if (n && spool_sync(w->c.spool) < 0)
		log_warn("spool fsync failed");
}

/* wr_store - write a batch of live events, or spool it */
static void wr_store(struct writer *w)
{
	size_t done = 0;
	int rc = WR_DOWN;

	if (wr_usable(w)) {
		rc = wr_copy(w, w->items, w->nitems);
		if (rc == WR_OK) {
			metrics_add(METRICS_EVENTS_WRITTEN, w->nitems);
			wr_followup(w);
			return;
		}
		if (rc == WR_DATA && (rc = wr_isolate(w, w->items, w->nitems, &done)) == WR_OK)
			return;
	}
	/* an unsure COPY covered the whole batch, or the one row being isolated */
	wr_spool_items(w, w->items + done, w->nitems - done,
	    rc != WR_UNSURE ? 0 : done ? 1 : w->nitems);
}

/* wr_array_add - append V to the array literal BUF ("{" so far: *LEN 1), quoted if QUOTE */
static void wr_array_add(char *buf, size_t *len, const char *v, int quote)
{
	size_t n = strlen(v);
	if (*len > 1)
		buf[(*len)++] = ',';
	if (quote)
		buf[(*len)++] = '"';
	memcpy(buf + *len, v, n);
	*len += n;
	if (quote)
		buf[(*len)++] = '"';
}

/* wr_mark_existing - set skip on the ITEMS that beacon.events already holds; 0 or -1 (session lost) */
static int wr_mark_existing(struct writer *w, struct wr_item *items, size_t n)
{
	struct event_raw ev;
	char uuid[TOKEN_UUID_LEN + 1], at[64], *arr[3] = { NULL, NULL, NULL };
	size_t len[3] = { 1, 1, 1 };
	const char *params[3];
	long long deadline = clock_after_ms(w->deadline_ms);
	PGresult *res = NULL;
	enum db_fault f;
	int rc = 0, rows, mlen;

	for (int a = 0; a < 3; a++) {
		if (!(arr[a] = malloc(n * 48 + 3)))
			log_fatalx("out of memory");
		arr[a][0] = '{';
	}
	for (size_t i = 0; i < n; i++) {
		time_t secs;
		struct tm tm;
		if (event_decode(items[i].rec, items[i].len, &ev) < 0) {
			items[i].skip = 1;
			continue;
		}
		token_rid_uuid(ev.rid, uuid);
		secs = (time_t)(ev.at_us / 1000000);
		long usec = (long)(ev.at_us % 1000000);
		if (usec < 0) {
			usec += 1000000;
			secs--;
		}
		gmtime_r(&secs, &tm);
		snprintf(at, sizeof(at), "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
		wr_array_add(arr[0], &len[0], uuid, 0);
		wr_array_add(arr[1], &len[1], at, 1);
		wr_array_add(arr[2], &len[2], event_kind_str(ev.kind), 0);
	}
	for (int a = 0; a < 3; a++) {
		arr[a][len[a]++] = '}';
		arr[a][len[a]] = '\0';
		params[a] = arr[a];
	}
	f = db_flush(w->conn, PQsendQueryParams(w->conn, WR_EXISTING_SQL, 3, NULL, params, NULL,
	    NULL, 0), deadline);
	if (f == DB_OK)
		f = db_results(w->conn, deadline, &res);
	if (f == DB_OK && PQresultStatus(res) == PGRES_TUPLES_OK) {
		rows = PQntuples(res);
		for (int r = 0; r < rows; r++) {
			long pos = strtol(PQgetvalue(res, r, 0), NULL, 10);
			if (pos >= 1 && (size_t)pos <= n)
				items[pos - 1].skip = 1;
		}
		if (rows)
			log_info("%d spooled events were stored already (their COPY committed "
			    "unacknowledged): not written twice", rows);
	} else if (f != DB_TIMEOUT && res && PQstatus(w->conn) == CONNECTION_OK) {
		/* refused (no SELECT privilege): the session is fine */
		if (!w->check_refused) {
			const char *msg = db_error(w->conn, res, &mlen);
			log_warnx("cannot check for events stored before an outage (%.*s): they "
			    "are written again; grant SELECT (token_id, at, kind) ON beacon.events "
			    "to avoid doubles", mlen, msg);
			w->check_refused = 1;
		}
	} else {
		wr_drop(w, f == DB_TIMEOUT ? "no answer before the deadline" :
		    PQerrorMessage(w->conn));
		rc = -1;
	}
	PQclear(res);
	for (int a = 0; a < 3; a++)
		free(arr[a]);
	return rc;
}

/* wr_add - queue_fn/spool_fn: add one record to the batch */
static int wr_add(void *arg, const uint8_t *rec, size_t len)
{
	struct writer *w = arg;
	struct event_raw ev;

	if (w->nitems >= w->batch_size)
		return -1;
	if (event_decode(rec, len, &ev) < 0) {
		metrics_add(METRICS_EVENTS_LOST, 1);
		log_warnx("skipping an unreadable event record of %zu bytes", len);
		return 0;
	}
	w->items[w->nitems].rec = rec;
	w->items[w->nitems].len = len;
	w->items[w->nitems].unsure = 0;
	w->items[w->nitems].skip = 0;
	w->nitems++;
	return 0;
}

/* wr_add_live - queue_fn: a live event joins the batch unless it is a counted repeat */
static int wr_add_live(void *arg, const uint8_t *rec, size_t len)
{
	struct writer *w = arg;
	struct event_raw ev;

	if (event_decode(rec, len, &ev) == 0 && !limit_check(w->limit, &ev))
		return 0;	/* counted in the metrics, logged when its episode ends */
	return wr_add(arg, rec, len);
}

/* wr_housekeeping - log ended repeat episodes each second; expire kept-aside files */
static void wr_housekeeping(struct writer *w)
{
	const struct beacon_cfg *cfg = w->c.cfg;
	long long now = clock_now_ms();
	long ret = cfg->pixelsrv.rejected_retention;

	if (now >= w->next_sweep) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		limit_sweep(w->limit, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
		w->next_sweep = now + 1000;
	}
	if (ret > 0 && now >= w->next_expire) {
		spool_expire(w->c.spool, ret, 0);
		if (w->c.rejected)
			spool_expire(w->c.rejected, ret, 1);
		/* often enough that nothing outlives the limit by more than half of it */
		w->next_expire = now + (ret / 2 < 1 ? 1 : ret / 2 > 3600 ? 3600 : ret / 2) * 1000LL;
	}
}

/* wr_replay_add - spool_fn: add a spooled event to the replay batch */
static int wr_replay_add(void *arg, uint8_t type, const void *data, size_t len)
{
	struct writer *w = arg;
	size_t before = w->nitems;

	if (type != EVENT_SPOOL_TYPE && type != EVENT_SPOOL_UNSURE) {
		log_warnx("skipping a spool record of unknown type %u", type);
		return 0;
	}
	/* between batches: a filling queue goes first, or it would spill into the spool
	 * as fast as the spool is replayed; the replay resumes after the last batch */
	if (w->nitems == 0 && queue_depth(w->c.queue) > queue_capacity(w->c.queue) / 2)
		return -1;
	if (wr_add(w, data, len) < 0)
		return -1;
	if (w->nitems > before && type == EVENT_SPOOL_UNSURE)
		w->items[before].unsure = 1;
	return 0;
}

/* wr_replay_flush - spool_flush_fn: store the replay batch */
static int wr_replay_flush(void *arg)
{
	struct writer *w = arg;
	size_t n = w->nitems, done = 0, stored = 0;
	int rc, check = w->check_next;

	w->nitems = 0;
	if (!w->conn)
		return -1;
	for (size_t i = 0; i < n && !check; i++)
		check = w->items[i].unsure;
	if (check && wr_mark_existing(w, w->items, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		stored += !w->items[i].skip;
	rc = wr_copy(w, w->items, n);
	if (rc == WR_DATA)
		rc = wr_isolate(w, w->items, n, &done);
	else if (rc == WR_OK)
		metrics_add(METRICS_EVENTS_WRITTEN, stored);
	if (rc != WR_OK) {
		/* the same records come first in the next replay; they may be stored now */
		if (rc == WR_UNSURE)
			w->check_next = 1;
		return -1;
	}
	w->check_next = 0;
	metrics_add(METRICS_EVENTS_REPLAYED, n);
	if (rc == WR_OK && done == 0)
		wr_followup(w);
	return 0;
}

/* wr_replay - write what the spool holds, oldest first */
static void wr_replay(struct writer *w)
{
	long n;

	if (atomic_exchange(&w->spool_dirty, 0))
		spool_sync(w->c.spool);
	if (!spool_has_pending(w->c.spool))
		return;
	w->nitems = 0;
	n = spool_replay_batch(w->c.spool, wr_replay_add, wr_replay_flush, w->batch_size, w);
	w->nitems = 0;
	/* one line per emptied spool, not per slice of it */
	w->replayed += (uint64_t)metrics_get(METRICS_EVENTS_REPLAYED) - w->replayed_mark;
	w->replayed_mark = metrics_get(METRICS_EVENTS_REPLAYED);
	if (n >= 0 && w->replayed) {
		log_info("spool replayed: %llu events written", (unsigned long long)w->replayed);
		w->replayed = 0;
	}
}

/* writer_main - the thread: connect, replay, take batches, store them */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct queue *q = w->c.queue;

	for (;;) {
		int stopping = atomic_load(&w->stop);
		struct machines_db *m;

		if (!stopping) {
			wr_housekeeping(w);
			wr_connect(w);
			if (wr_usable(w))
				wr_replay(w);
			/* wake for a full batch, or half the ring if that is smaller */
			size_t want = queue_capacity(q) / 2;
			queue_wait(q, w->batch_size < want ? w->batch_size : want, w->interval_ms);
		}
		if ((m = atomic_exchange(&w->next_machines, NULL)) != NULL) {
			/* SIGHUP's new rules, taken after the wait: an event queued after
			 * writer_set_machines() returned gets them.  This thread alone reads
			 * them, between batches */
			machines_free(w->machines);
			w->machines = m;
			w->ctx.machines = m;
		}
		w->nitems = 0;
		size_t taken = queue_peek(q, w->batch_size, wr_add_live, w);
		if (taken == 0 && queue_depth(q) == 0) {
			if (stopping)
				break;
		} else if (taken == 0) {
			/* a producer claimed a slot and has not published it yet */
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (taken) {
			if (w->nitems) {
				queue_inflight(q, taken);	/* a crash from here on: "unsure" */
				wr_store(w);
			}
			queue_release(q, taken);
		}
		if (atomic_exchange(&w->spool_dirty, 0) && spool_sync(w->c.spool) < 0)
			log_warn("spool fsync failed");
	}
	if (spool_sync(w->c.spool) < 0)
		log_warn("spool fsync failed");
	return NULL;
}

/* writer_start - allocate the batch and buffer, start the thread */
struct writer *writer_start(const struct writer_conf *conf, PGconn *conn, char *err,
    size_t errlen)
{
	const struct beacon_cfg *cfg = conf->cfg;
	struct writer *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->c = *conf;
	w->ctx = *conf->ctx;
	w->machines = conf->machines;
	w->ctx.machines = conf->machines;
	w->facts = facts_new();
	w->batch_size = cfg->pixelsrv.batch_size < 1 ? 1 :
	    cfg->pixelsrv.batch_size > WR_MAX_BATCH ? WR_MAX_BATCH : (size_t)cfg->pixelsrv.batch_size;
	w->interval_ms = cfg->pixelsrv.batch_interval < 1 ? 1 : cfg->pixelsrv.batch_interval;
	w->deadline_ms = db_timeout_ms(cfg, WR_UNBOUNDED_MS, WR_MARGIN_MS);
	w->backoff_ms = WR_BACKOFF_MIN;
	w->replayed_mark = metrics_get(METRICS_EVENTS_REPLAYED);
	/* the first replay batch of a run may be one a crashed run stored without
	 * saving its progress: check it */
	w->check_next = 1;
	/* what reaches a file is cut from now on (anonymize_ip), and capped */
	event_cut_start(conf->ctx);
	spool_set_max(conf->spool, (unsigned long long)cfg->pixelsrv.spool_max_bytes);
	if (conf->rejected)
		spool_set_max(conf->rejected, (unsigned long long)cfg->pixelsrv.spool_max_bytes);
	w->limit = limit_new(cfg->pixelsrv.repeat_window, cfg->pixelsrv.token_event_limit < 0 ? 0 :
	    (unsigned)cfg->pixelsrv.token_event_limit);
	/* one chunk of COPY text and the row that ends it */
	w->cap = WR_CHUNK + EVENT_COPY_MAX;
	w->items = calloc(w->batch_size, sizeof(*w->items));
	w->buf = malloc(w->cap);
	if (!w->items || !w->buf || !w->limit || !w->facts) {
		snprintf(err, errlen, "out of memory for a batch of %zu events", w->batch_size);
		facts_free(w->facts);
		limit_free(w->limit);
		free(w->items);
		free(w->buf);
		free(w);
		return NULL;
	}
	if (conn && PQsetnonblocking(conn, 1) == 0) {
		w->conn = conn;
		atomic_store(&w->db_up, 1);
	} else if (conn) {
		PQfinish(conn);
	}
	if ((errno = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(errno));
		if (w->conn)
			PQfinish(w->conn);
		facts_free(w->facts);
		limit_free(w->limit);
		free(w->items);
		free(w->buf);
		free(w);
		return NULL;
	}
	return w;
}

/* writer_stop - drain, join, free */
void writer_stop(struct writer *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, 1);
	queue_wake(w->c.queue);
	pthread_join(w->thread, NULL);
	if (w->conn)
		PQfinish(w->conn);
	machines_free(atomic_exchange(&w->next_machines, NULL));
	machines_free(w->machines);
	facts_free(w->facts);
	limit_free(w->limit);
	free(w->items);
	free(w->buf);
	free(w);
}

/* writer_set_machines - see writer.h */
void writer_set_machines(struct writer *w, struct machines_db *m)
{
	machines_free(atomic_exchange(&w->next_machines, m));
}
