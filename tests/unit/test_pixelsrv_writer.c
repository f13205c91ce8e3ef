/*
 * test_pixelsrv_writer.c - unit tests of pixelsrv/writer.c against a real
 * throwaway PostgreSQL with the Beacon schema (db_throwaway.h).
 *
 * DESCRIPTION
 *	Batching: 250 queued events with batch_size 100 are stored in three
 *	COPY transactions, every row as queued.  A row the database refuses
 *	for its data (a CHECK constraint added for the test) goes to
 *	rejected.spool while the rest of its batch is stored row by row,
 *	also when the batch is sent in several chunks and the server refuses
 *	the row while later chunks are still coming.
 *	With the database unreachable every event goes to events.spool and
 *	the writer reports the database down; a writer that can connect
 *	replays that spool.  Records spooled as "unsure" that the database
 *	already holds are not stored twice; when the writer may not look
 *	(no SELECT privilege) they are written again, as writer.h says.  A
 *	COPY whose answer does not come before the deadline is spooled as
 *	unsure, and once its transaction commits after all, the replay
 *	skips it: no event lost, none doubled.  A schema older than the
 *	writer (beacon.events without its node column) keeps the session:
 *	the events wait in the spool, one warning, no reconnect, no COPY
 *	for seconds; once the column is back they are all stored.
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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "clock.h"
#include "db_throwaway.h"
#include "event.h"
#include "metrics.h"
#include "queue.h"
#include "spool.h"
#include "token.h"
#include "writer.h"

#define WT_UNREACHABLE "host=127.0.0.1 port=1 dbname=none user=none"


/* wt - one test's writer setup */
struct wt {
	char dir[64];			/* queue file and spools */
	struct beacon_cfg cfg;		/* [database] and [pixelsrv] keys */
	struct queue *queue;		/* events.queue */
	struct spool *spool;		/* events.spool */
	struct spool *rejected;		/* rejected.spool */
	struct event_ctx ctx;		/* no enrichment */
	uint8_t rid[TOKEN_RID_LEN];	/* the recipient of every event of the test */
	char uuid[TOKEN_UUID_LEN + 1];	/* its token_id */
	int64_t at0;			/* time of the first event */
	int with_addr;			/* the events come from 192.0.2.7 (else no address) */
};

/* wt_open - queue and spools in DIR for a writer on CONNINFO */
static void wt_open(struct wt *t, const char *conninfo)
{
	char path[128], err[256];

	t->cfg.database.conninfo = strdup(conninfo);
	snprintf(path, sizeof(path), "%s/events.queue", t->dir);
	if (!(t->queue = queue_open(path, 1024, err, sizeof(err))) ||
	    !(t->spool = spool_open(t->dir, "events", err, sizeof(err))) ||
	    !(t->rejected = spool_open(t->dir, "rejected", err, sizeof(err))))
		fail_msg("%s", err);
	assert_int_equal(queue_recover(t->queue, NULL, NULL), 0);	/* new or drained: no records */
}

/* wt_close - close what wt_open opened (the files stay) */
static void wt_close(struct wt *t)
{
	queue_close(t->queue);
	spool_close(t->spool);
	spool_close(t->rejected);
	free(t->cfg.database.conninfo);
	t->cfg.database.conninfo = NULL;
}

/* wt_new - a fresh directory, configuration and recipient */
static void wt_new(struct wt *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/beacon-writer-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	cfg_defaults(&t->cfg);
	free(t->cfg.database.conninfo);
	t->cfg.database.conninfo = NULL;
	t->cfg.database.connect_timeout = 2;
	t->cfg.database.statement_timeout = 2000;
	t->cfg.pixelsrv.batch_size = 100;
	t->cfg.pixelsrv.batch_interval = 20;
	t->cfg.pixelsrv.repeat_window = 0;	/* the same token again and again: every event a row */
	token_new_rid(t->rid);
	token_rid_uuid(t->rid, t->uuid);
	t->at0 = 1700000000000000LL;
}

/* wt_free - remove the directory */
static void wt_free(struct wt *t)
{
	char cmd[128];

	cfg_free(&t->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* wt_event - the I-th event of the test: a click on link LINK (0: an open) */
static size_t wt_event(const struct wt *t, int i, unsigned link, uint8_t rec[EVENT_REC_MAX])
{
	struct event_raw ev;

	memset(&ev, 0, sizeof(ev));
	ev.at_us = t->at0 + i;
	ev.kind = link ? EVENT_CLICK : EVENT_OPEN;
	ev.link_n = link;
	memcpy(ev.rid, t->rid, TOKEN_RID_LEN);
	if (t->with_addr) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
		event_set_addr(&ev, (const struct sockaddr *)&sin);
	} else {
		event_set_addr(&ev, NULL);
	}
	event_set_ua(&ev, "unit/1.0");
	return event_encode(&ev, rec);
}

/* wt_push - queue events FROM..TO-1, clicks on LINK (0: opens, -1: link i+1) */
static void wt_push(struct wt *t, int from, int to, int link)
{
	uint8_t rec[EVENT_REC_MAX];

	for (int i = from; i < to; i++) {
		size_t len = wt_event(t, i, link < 0 ? (unsigned)i + 1 : (unsigned)link, rec);
		assert_int_equal(queue_push(t->queue, rec, len), 0);
	}
}

/* wt_spool - append events FROM..TO-1 (opens) to events.spool as records of TYPE */
static void wt_spool(struct wt *t, int from, int to, uint8_t type)
{
	uint8_t rec[EVENT_REC_MAX];

	for (int i = from; i < to; i++) {
		size_t len = wt_event(t, i, 0, rec);
		assert_int_equal(spool_append(t->spool, type, rec, len, 0), 0);
	}
	assert_int_equal(spool_sync(t->spool), 0);
}

/* wt_start - a writer on T's queue and spools, with CONN (may be NULL) */
static struct writer *wt_start(struct wt *t, PGconn *conn)
{
	struct writer_conf wc = { .cfg = &t->cfg, .queue = t->queue, .spool = t->spool,
				 .rejected = t->rejected, .ctx = &t->ctx };
	char err[256];
	struct writer *w = writer_start(&wc, conn, err, sizeof(err));

	if (!w)
		fail_msg("writer_start: %s", err);
	return w;
}

/* wt_wait - wait up to 20 s until counter C has grown by N since BEFORE */
static void wt_wait(enum metrics_counter c, uint64_t before, uint64_t n)
{
	long long deadline = clock_after_ms(20000);

	while (metrics_get(c) - before < n) {
		if (clock_left_ms(deadline) == 0)
			fail_msg("counter %d grew by %llu, expected %llu", (int)c,
			    (unsigned long long)(metrics_get(c) - before), (unsigned long long)n);
		usleep(10000);
	}
}

/* wt_query - one number from SQL with $1 the test's token_id */
static long wt_query(const struct wt *t, const char *sql)
{
	PGconn *c = PQconnectdb(db_cluster.conninfo);
	const char *param = t->uuid;
	PGresult *res = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 0);
	long v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	PQfinish(c);
	return v;
}

/* wt_rows - rows of beacon.events of the test's recipient */
static long wt_rows(const struct wt *t)
{
	return wt_query(t, "SELECT count(*) FROM beacon.events WHERE token_id = $1");
}

/* wt_count_fn - spool_fn: count records by type into ARG[type] */
static int wt_count_fn(void *arg, uint8_t type, const void *data, size_t len)
{
	long *n = arg;
	struct event_raw ev;

	assert_int_equal(event_decode(data, len, &ev), 0);
	n[type]++;
	return 0;
}

/* wt_spooled - records of TYPE in events.spool, read in place (nothing replayed) */
static long wt_spooled(const struct wt *t, uint8_t type)
{
	char path[128];
	long n[256] = { 0 };
	size_t bad = 0, len;
	uint8_t *buf;
	FILE *fp;
	struct stat st;

	snprintf(path, sizeof(path), "%s/events.spool", t->dir);
	if (stat(path, &st) < 0 || st.st_size == 0)
		return 0;
	buf = malloc((size_t)st.st_size);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	len = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	assert_int_equal((long)spool_parse(buf, len, wt_count_fn, n, &bad), (long)len);
	free(buf);
	return n[type];
}

/* wt_conn - a session to the cluster with EXTRA connection keywords */
static PGconn *wt_conn(const char *extra)
{
	char ci[1024];
	PGconn *c;

	snprintf(ci, sizeof(ci), "%s %s", db_cluster.conninfo, extra);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

/* sql - one statement through psql on the cluster */
static void sql(const char *text)
{
	char line[1024];

	snprintf(line, sizeof(line), "sql %s", text);
	if (db_throwaway_cmd(&db_cluster, line) != 0)
		fail_msg("psql failed: %s", text);
}

/* test_batches - 250 events, batch_size 100: three COPYs, every row stored as queued */
static void test_batches(void **state)
{
	uint64_t written = metrics_get(METRICS_EVENTS_WRITTEN);
	struct writer *w;
	struct wt t;
	(void)state;

	wt_new(&t);
	wt_open(&t, db_cluster.conninfo);
	wt_push(&t, 0, 250, 0);
	wt_push(&t, 250, 251, 5);
	w = wt_start(&t, wt_conn(""));
	assert_true(writer_db_up(w));
	writer_stop(w);
	assert_int_equal(metrics_get(METRICS_EVENTS_WRITTEN) - written, 251);
	assert_int_equal(wt_rows(&t), 251);
	assert_int_equal(wt_query(&t, "SELECT count(DISTINCT xmin::text) FROM beacon.events "
	    "WHERE token_id = $1"), 3);
	assert_int_equal(wt_query(&t, "SELECT count(*) FROM beacon.events WHERE token_id = $1 "
	    "AND kind = 'click' AND link_n = 5 AND at = '2023-11-14 22:13:20.00025+00' "
	    "AND user_agent = 'unit/1.0' AND class = 'human' AND ip IS NULL"), 1);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_TYPE), 0);
	wt_close(&t);
	wt_free(&t);
}

/* wt_rejected_fn - spool_fn: the refused event is the click on link 7 */
static int wt_rejected_fn(void *arg, uint8_t type, const void *data, size_t len)
{
	struct event_raw ev;

	assert_int_equal(type, EVENT_SPOOL_TYPE);
	assert_int_equal(event_decode(data, len, &ev), 0);
	assert_int_equal(ev.link_n, 7);
	(*(int *)arg)++;
	return 0;
}

/* test_refused_row - a row refused for its data goes to rejected.spool, the rest is stored */
static void test_refused_row(void **state)
{
	uint64_t rejected = metrics_get(METRICS_EVENTS_REJECTED);
	struct spool *sp;
	char err[256];
	int n = 0;
	struct wt t;
	(void)state;

	sql("ALTER TABLE beacon.events ADD CONSTRAINT unit_no_link_7 "
	    "CHECK (link_n IS DISTINCT FROM 7)");
	wt_new(&t);
	wt_open(&t, db_cluster.conninfo);
	wt_push(&t, 0, 10, -1);
	writer_stop(wt_start(&t, wt_conn("")));
	sql("ALTER TABLE beacon.events DROP CONSTRAINT unit_no_link_7");
	assert_int_equal(wt_rows(&t), 9);
	assert_int_equal(metrics_get(METRICS_EVENTS_REJECTED) - rejected, 1);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_TYPE), 0);
	wt_close(&t);
	sp = spool_open(t.dir, "rejected", err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_replay(sp, wt_rejected_fn, &n), 1);
	assert_int_equal(n, 1);
	spool_close(sp);
	wt_free(&t);
}

/* test_refused_row_streamed - 400 events in one batch: the COPY text is sent in chunks
 * while it is formatted, and the server refuses a row of the first chunk while the
 * others are still coming: the batch is stored row by row, the refused one kept aside */
static void test_refused_row_streamed(void **state)
{
	uint64_t rejected = metrics_get(METRICS_EVENTS_REJECTED);
	uint64_t written = metrics_get(METRICS_EVENTS_WRITTEN);
	struct wt t;
	(void)state;

	sql("ALTER TABLE beacon.events ADD CONSTRAINT unit_no_link_7 "
	    "CHECK (link_n IS DISTINCT FROM 7)");
	wt_new(&t);
	t.cfg.pixelsrv.batch_size = 400;
	wt_open(&t, db_cluster.conninfo);
	wt_push(&t, 0, 400, -1);
	writer_stop(wt_start(&t, wt_conn("")));
	sql("ALTER TABLE beacon.events DROP CONSTRAINT unit_no_link_7");
	assert_int_equal(wt_rows(&t), 399);
	assert_int_equal(metrics_get(METRICS_EVENTS_REJECTED) - rejected, 1);
	assert_int_equal(metrics_get(METRICS_EVENTS_WRITTEN) - written, 399);
	assert_int_equal(wt_query(&t, "SELECT count(DISTINCT link_n) FROM beacon.events "
	    "WHERE token_id = $1 AND link_n <> 7"), 399);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_TYPE), 0);
	wt_close(&t);
	wt_free(&t);
}

/* test_conn_lost_streamed - the server ends the session in the middle of a streamed COPY
 * (at row 300 of 400, while later chunks are still being sent): nothing of the batch is
 * stored, all of it is spooled, and replayed once the writer is connected again: 400
 * rows, none twice, none lost */
static void test_conn_lost_streamed(void **state)
{
	uint64_t spooled = metrics_get(METRICS_EVENTS_SPOOLED);
	uint64_t replayed = metrics_get(METRICS_EVENTS_REPLAYED);
	uint64_t lost = metrics_get(METRICS_EVENTS_LOST);
	char fn[512];
	struct writer *w;
	struct wt t;
	(void)state;

	wt_new(&t);
	/* this test's token only (the check runs on the rows already there too), and once
	 * (a sequence is not rolled back): the replay's COPY goes through */
	snprintf(fn, sizeof(fn), "CREATE FUNCTION beacon.unit_kill_at_300(tok uuid, n integer) "
	    "RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN "
	    "IF tok = '%s' AND n = 300 THEN IF nextval('beacon.unit_kill_once') = 1 THEN "
	    "PERFORM pg_terminate_backend(pg_backend_pid()); END IF; END IF; "
	    "RETURN true; END $f$", t.uuid);
	sql("CREATE SEQUENCE beacon.unit_kill_once");
	sql(fn);
	sql("ALTER TABLE beacon.events ADD CONSTRAINT unit_kill "
	    "CHECK (beacon.unit_kill_at_300(token_id, link_n))");
	t.cfg.pixelsrv.batch_size = 400;
	wt_open(&t, db_cluster.conninfo);
	wt_push(&t, 0, 400, -1);
	w = wt_start(&t, wt_conn(""));
	wt_wait(METRICS_EVENTS_REPLAYED, replayed, 400);
	writer_stop(w);
	sql("ALTER TABLE beacon.events DROP CONSTRAINT unit_kill");
	sql("DROP FUNCTION beacon.unit_kill_at_300(uuid, integer)");
	sql("DROP SEQUENCE beacon.unit_kill_once");
	assert_int_equal(metrics_get(METRICS_EVENTS_SPOOLED) - spooled, 400);
	assert_int_equal(metrics_get(METRICS_EVENTS_LOST) - lost, 0);
	assert_int_equal(wt_rows(&t), 400);
	assert_int_equal(wt_query(&t, "SELECT count(DISTINCT link_n) FROM beacon.events "
	    "WHERE token_id = $1"), 400);
	assert_false(spool_has_pending(t.spool));
	wt_close(&t);
	wt_free(&t);
}

/* test_down_then_replay - unreachable: all spooled; reachable again: all replayed once */
static void test_down_then_replay(void **state)
{
	uint64_t replayed;
	struct writer *w;
	struct wt t;
	(void)state;

	wt_new(&t);
	wt_open(&t, WT_UNREACHABLE);
	wt_push(&t, 0, 20, 0);
	w = wt_start(&t, NULL);
	assert_false(writer_db_up(w));
	writer_stop(w);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_TYPE), 20);
	assert_int_equal(wt_rows(&t), 0);
	wt_close(&t);

	/* the database is back: the writer connects by itself and replays */
	replayed = metrics_get(METRICS_EVENTS_REPLAYED);
	wt_open(&t, db_cluster.conninfo);
	w = wt_start(&t, NULL);
	wt_wait(METRICS_EVENTS_REPLAYED, replayed, 20);
	assert_true(writer_db_up(w));
	writer_stop(w);
	assert_false(spool_has_pending(t.spool));
	assert_int_equal(wt_rows(&t), 20);

	/* events 0..19 again as unsure, 20..24 new: only the new ones are stored */
	wt_spool(&t, 0, 20, EVENT_SPOOL_UNSURE);
	wt_spool(&t, 20, 25, EVENT_SPOOL_TYPE);
	replayed = metrics_get(METRICS_EVENTS_REPLAYED);
	w = wt_start(&t, wt_conn(""));
	wt_wait(METRICS_EVENTS_REPLAYED, replayed, 25);
	writer_stop(w);
	assert_int_equal(wt_rows(&t), 25);
	wt_close(&t);
	wt_free(&t);
}

/* test_check_refused - no SELECT privilege: unsure records are written again */
static void test_check_refused(void **state)
{
	uint64_t replayed;
	struct writer *w;
	struct wt t;
	(void)state;

	sql("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unit_px') THEN "
	    "CREATE ROLE unit_px LOGIN; END IF; END$$");
	sql("DO $$BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO unit_px', "
	    "current_database()); END$$");
	sql("GRANT USAGE ON SCHEMA beacon TO unit_px");
	sql("GRANT INSERT ON beacon.events TO unit_px");
	wt_new(&t);
	wt_open(&t, db_cluster.conninfo);
	wt_push(&t, 0, 3, 0);
	writer_stop(wt_start(&t, wt_conn("")));
	assert_int_equal(wt_rows(&t), 3);
	wt_spool(&t, 0, 3, EVENT_SPOOL_UNSURE);
	replayed = metrics_get(METRICS_EVENTS_REPLAYED);
	w = wt_start(&t, wt_conn("user=unit_px"));
	wt_wait(METRICS_EVENTS_REPLAYED, replayed, 3);
	assert_true(writer_db_up(w));
	writer_stop(w);
	assert_int_equal(wt_rows(&t), 6);
	wt_close(&t);
	wt_free(&t);
}

/* test_unsure_commit - no answer to a COPY in time: spooled unsure; it commits after all;
 * the replay skips it */
static void test_unsure_commit(void **state)
{
	uint64_t spooled = metrics_get(METRICS_EVENTS_SPOOLED), replayed;
	long long deadline;
	struct writer *w;
	struct wt t;
	(void)state;

	/* the first click on link 99 holds its COPY for 6 s, once */
	sql("CREATE SEQUENCE unit_sleep_once");
	sql("CREATE FUNCTION unit_sleep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
	    "IF NEW.link_n = 99 THEN IF nextval('unit_sleep_once') = 1 THEN "
	    "PERFORM pg_sleep(6); END IF; END IF; RETURN NEW; END$$");
	sql("CREATE TRIGGER unit_sleep BEFORE INSERT ON beacon.events FOR EACH ROW "
	    "EXECUTE FUNCTION unit_sleep()");
	wt_new(&t);
	t.cfg.database.statement_timeout = 500;	/* the writer waits 3.5 s */
	wt_open(&t, WT_UNREACHABLE);		/* and cannot reconnect */
	wt_push(&t, 0, 5, 99);
	/* the server itself sets no limit on this session */
	w = wt_start(&t, wt_conn("options='-c statement_timeout=0'"));
	wt_wait(METRICS_EVENTS_SPOOLED, spooled, 5);
	assert_false(writer_db_up(w));
	writer_stop(w);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_UNSURE), 5);
	wt_close(&t);

	/* the transaction the writer gave up on commits */
	deadline = clock_after_ms(15000);
	while (wt_rows(&t) < 5 && clock_left_ms(deadline) > 0)
		usleep(100000);
	assert_int_equal(wt_rows(&t), 5);

	replayed = metrics_get(METRICS_EVENTS_REPLAYED);
	wt_open(&t, db_cluster.conninfo);
	w = wt_start(&t, NULL);
	wt_wait(METRICS_EVENTS_REPLAYED, replayed, 5);
	writer_stop(w);
	assert_int_equal(wt_rows(&t), 5);
	wt_close(&t);
	wt_free(&t);
	sql("DROP TRIGGER unit_sleep ON beacon.events");
}

/* wt_log_start - stderr (the writer's log) into PATH (T's writer.log) from now on; the
 * saved stderr, for wt_log_end */
static int wt_log_start(const struct wt *t, char *path, size_t len)
{
	int saved, fd;

	snprintf(path, len, "%s/writer.log", t->dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

/* wt_log_end - stderr back to SAVED */
static void wt_log_end(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* wt_lines - lines of the file PATH that hold NEEDLE */
static int wt_lines(const char *path, const char *needle)
{
	char line[2048];
	int n = 0;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, needle) != NULL;
	fclose(fp);
	return n;
}

/* test_schema_old - a COPY refused for a column the schema lacks (before beaconctl
 * migrate): the session is kept, the events are spooled, one warning and no reconnect in
 * 3 s of steady events; the column back, everything is stored */
static void test_schema_old(void **state)
{
	uint64_t errors = metrics_get(METRICS_DB_ERRORS);
	char logpath[128];
	long long until;
	struct writer *w;
	struct wt t;
	int saved, i = 0;
	(void)state;

	wt_new(&t);
	wt_open(&t, db_cluster.conninfo);
	saved = wt_log_start(&t, logpath, sizeof(logpath));
	sql("ALTER TABLE beacon.events RENAME COLUMN node TO unit_node");
	w = wt_start(&t, wt_conn(""));
	/* an event every 50 ms for 3 s: a batch every 20 ms could try a COPY */
	for (until = clock_after_ms(3000); clock_left_ms(until) > 0; i++) {
		wt_push(&t, i, i + 1, 0);
		usleep(50000);
	}
	assert_false(writer_db_up(w));
	assert_int_equal(wt_rows(&t), 0);
	sql("ALTER TABLE beacon.events RENAME COLUMN unit_node TO node");
	/* the next try, at most WR_BACKOFF_MAX (5 s) later, stores the spool */
	until = clock_after_ms(15000);
	while (wt_rows(&t) < i && clock_left_ms(until) > 0)
		usleep(100000);
	assert_true(writer_db_up(w));
	writer_stop(w);
	wt_log_end(saved);
	assert_int_equal(wt_rows(&t), i);
	/* one error for the first COPY, the next at most every 5 s: no reconnect loop */
	assert_in_range(metrics_get(METRICS_DB_ERRORS) - errors, 1, 2);
	assert_int_equal(wt_lines(logpath, "the schema is older than this beacon-pixelsrv"), 1);
	assert_int_equal(wt_lines(logpath, "unavailable"), 0);
	assert_int_equal(wt_lines(logpath, "is back"), 0);
	assert_int_equal(wt_lines(logpath, "the schema takes events again"), 1);
	wt_close(&t);
	wt_free(&t);
}

/* test_types_changed - a column of another type than binary rows carry (ip made text by
 * some other schema): the rows go as COPY text, every one stored, none refused, one
 * warning; back to inet, binary again at the next session */
static void test_types_changed(void **state)
{
	char logpath[128];
	struct writer *w;
	struct wt t;
	int saved;
	(void)state;

	wt_new(&t);
	wt_open(&t, db_cluster.conninfo);
	t.with_addr = 1;	/* an ip in every row: binary inet into text is refused */
	saved = wt_log_start(&t, logpath, sizeof(logpath));
	sql("ALTER TABLE beacon.events ALTER COLUMN ip TYPE text");
	wt_push(&t, 0, 150, 0);
	w = wt_start(&t, wt_conn(""));
	writer_stop(w);
	sql("ALTER TABLE beacon.events ALTER COLUMN ip TYPE inet USING ip::inet");
	wt_push(&t, 150, 160, 0);
	w = wt_start(&t, wt_conn(""));
	writer_stop(w);
	wt_log_end(saved);
	assert_int_equal(wt_rows(&t), 160);
	assert_int_equal(wt_query(&t, "SELECT count(*) FROM beacon.events WHERE token_id = $1 "
	    "AND ip = '192.0.2.7'"), 160);
	assert_int_equal(wt_spooled(&t, EVENT_SPOOL_TYPE), 0);
	assert_int_equal(wt_lines(logpath, "columns of other types"), 1);
	assert_int_equal(wt_lines(logpath, "refused"), 0);
	assert_int_equal(wt_lines(logpath, "unavailable"), 0);
	wt_close(&t);
	wt_free(&t);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_refused_row),
		cmocka_unit_test(test_refused_row_streamed),
		cmocka_unit_test(test_conn_lost_streamed),
		cmocka_unit_test(test_down_then_replay),
		cmocka_unit_test(test_check_refused),
		cmocka_unit_test(test_unsure_commit),
		cmocka_unit_test(test_schema_old),
		cmocka_unit_test(test_types_changed),
	};

	assert_int_equal(token_init(), 0);
	return cmocka_run_group_tests(tests, db_cluster_up_schema, db_cluster_down);
}
