/*
 * test_notify_queue.c - the delivery queue of beacon-notify (queue.c)
 * against a real throwaway PostgreSQL with the Beacon schema
 * (db_throwaway.h): claim, lease, record.
 *
 * DESCRIPTION
 *	Each test starts from empty notify tables, queues deliveries the way
 *	production does (a destination, a message, a recipient, an event:
 *	the triggers of 013_notify.sql make the job and the delivery) and
 *	drives queue.c:
 *	- claim and record: one claim takes a delivery, a second finds it
 *	  leased; a sent outcome makes it sent with one log row;
 *	- two claims at once: rows locked by another transaction are
 *	  skipped, two sessions never get the same delivery;
 *	- a lost lease: the first notifier's late record changes nothing
 *	  (the second's claim stands) but its attempt is logged;
 *	- outcomes recorded through a new session after the first died;
 *	- a session with DateStyle Postgres, DMY and a zone whose
 *	  abbreviation means another offset still records its claim;
 *	- retry_for: a failure past it is 'failed', before it 'pending' with
 *	  the back-off;
 *	- hold: a fresh event is not claimed; one reclassified meanwhile
 *	  (scanner) is dropped with the reason;
 *	- muted meanwhile: the attempt still gets its log row;
 *	- notify_days: judged on the event's time, not on when the retry ran;
 *	- digests: last_digest_at is set by the record and makes the
 *	  destination wait; the advisory lock keeps a second notifier out;
 *	- the probe: a login without the grants is told so (-1).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "db_throwaway.h"
#include "../../notify/queue.h"	/* not pixelsrv/queue.h */

static PGconn *sql_conn;	/* the test's own session */

/* sql - run S (no answer needed) */
static void sql(const char *s)
{
	PGresult *r = PQexec(sql_conn, s);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", s, PQerrorMessage(sql_conn));
	PQclear(r);
}

/* sql_text - the first value of S's answer, in BUF */
static const char *sql_text(const char *s, char *buf, size_t len)
{
	PGresult *r = PQexec(sql_conn, s);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		fail_msg("%s: %s", s, PQerrorMessage(sql_conn));
	snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

/* sql_long - the first value of S's answer as a number */
static long sql_long(const char *s)
{
	char buf[64];

	return strtol(sql_text(s, buf, sizeof(buf)), NULL, 10);
}

static struct beacon_cfg cfg;	/* [database] of the cluster, [notify] defaults, hold 0 */

/* group_up - the cluster, the schema (and last_digest_at if 013 lacks it) */
static int group_up(void **state)
{
	if (db_cluster_up_schema(state) < 0)
		return -1;
	if (!(sql_conn = PQconnectdb(db_cluster.conninfo)) || PQstatus(sql_conn) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(sql_conn, "ALTER TABLE beacon.notify_destinations"
	    " ADD COLUMN IF NOT EXISTS last_digest_at timestamptz"));
	PQclear(PQexec(sql_conn, "SET client_min_messages = warning"));
	cfg_defaults(&cfg);
	free(cfg.database.conninfo);
	cfg.database.conninfo = strdup(db_cluster.conninfo);
	db_use(DB_NOTIFY);
	return 0;
}

/* group_down - stop it */
static int group_down(void **state)
{
	PQfinish(sql_conn);
	cfg_free(&cfg);
	return db_cluster_down(state);
}

/* reset - empty tables, defaults back: before each test */
static int reset(void **state)
{
	(void)state;
	sql("TRUNCATE beacon.notify_log, beacon.notify_deliveries, beacon.notify_jobs,"
	    " beacon.notify_destinations, beacon.notify_tokens, beacon.events,"
	    " beacon.recipients, beacon.messages CASCADE;"
	    "ALTER DATABASE beacon RESET DateStyle; ALTER DATABASE beacon RESET TimeZone");
	cfg.notify.hold = 0;
	cfg.notify.notify_days = 30;
	cfg.notify.notify_interval = 300;
	return 0;
}

/* destination - a destination of ann@example.org of KIND; its id */
static int destination(const char *kind)
{
	char s[512];

	snprintf(s, sizeof(s), "INSERT INTO beacon.notify_destinations (sender, kind, url, secret)"
	    " VALUES ('ann@example.org', '%s', '%s', repeat('ab', 32)) RETURNING id", kind,
	    strcmp(kind, "mail") ? "https://hooks.example.org/x" : "ann@example.org");
	return (int)sql_long(s);
}

/* message - message N of ann, sent SENT_AGO ago, with one recipient (token N) */
static void message(int n, const char *sent_ago)
{
	char s[1024];

	snprintf(s, sizeof(s), "INSERT INTO beacon.messages (id, message_id, sender, sender_key,"
	    " subject, sent_at) VALUES ('00000000-0000-0000-0000-%012d', '<m%d@example.org>',"
	    " 'ann@example.org', 'ann@example.org', 'Offer %d', now() - interval '%s');"
	    "INSERT INTO beacon.recipients (token_id, message, address, status, key_id, name)"
	    " VALUES ('00000000-0000-0000-0001-%012d', '00000000-0000-0000-0000-%012d',"
	    " 'bob@example.net', 'tracked', 1, 'Bob')", n, n, n, sent_ago, n, n);
	sql(s);
}

/* event - an open of token N at AT (an SQL expression), class human: a job and its
 * deliveries, made AGE old in the queue */
static void event(int n, const char *at, const char *age)
{
	char s[1024];

	snprintf(s, sizeof(s), "INSERT INTO beacon.events (at, kind, token_id, class)"
	    " VALUES (%s, 'open', '00000000-0000-0000-0001-%012d', 'human');"
	    "UPDATE beacon.notify_jobs SET created_at = now() - interval '%s'"
	    " WHERE token_id = '00000000-0000-0000-0001-%012d'", at, n, age, n);
	sql(s);
}

/* open_queue - a session of the notifier */
static struct queue *open_queue(void)
{
	char err[512];
	struct queue *q = queue_connect(&cfg, err, sizeof(err));

	if (!q)
		fail_msg("queue_connect: %s", err);
	return q;
}

/* test_claim_record - claimed once, leased, sent: state, attempts, log */
static void test_claim_record(void **state)
{
	struct queue *q = open_queue();
	struct batch b, again;
	char buf[64];

	(void)state;
	destination("webhook");
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	assert_null(b.items[0].drop);
	assert_non_null(b.items[0].claim);
	assert_string_equal(b.items[0].subject, "Offer 1");
	assert_int_equal(queue_claim_hooks(q, 10, &again), DB_OK);
	assert_int_equal(again.n, 0);	/* leased */
	batch_free(&again);
	/* the lease covers every round of the batch: 100 / 8 -> 13 rounds of 10 s + 60 */
	assert_int_equal(queue_lease_hooks(&cfg, 100), 13 * 10 + 60);
	b.items[0].outcome = ITEM_SENT;
	b.items[0].status = 204;
	b.items[0].latency_ms = 12;
	assert_int_equal(queue_record(q, &b), DB_OK);
	assert_int_equal(b.recorded, 1);
	batch_free(&b);
	assert_string_equal(sql_text("SELECT state || ' ' || attempts || ' ' || last_status"
	    " FROM beacon.notify_deliveries", buf, sizeof(buf)), "sent 1 204");
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_log WHERE attempt = 1"
	    " AND status = 204"), 1);
	queue_disconnect(q);
}

/* test_two_claims - rows another transaction locks are skipped; two sessions
 * share a backlog without overlap */
static void test_two_claims(void **state)
{
	struct queue *q1 = open_queue(), *q2 = open_queue();
	PGconn *locker = PQconnectdb(db_cluster.conninfo);
	struct batch a, b;

	(void)state;
	destination("webhook");
	destination("slack");
	for (int i = 1; i <= 5; i++) {
		message(i, "1 hour");
		event(i, "now() - interval '1 minute'", "1 minute");
	}
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_deliveries"), 10);
	/* another notifier in the middle of its claim holds three rows */
	PQclear(PQexec(locker, "BEGIN"));
	PQclear(PQexec(locker, "SELECT 1 FROM beacon.notify_deliveries ORDER BY job, destination"
	    " LIMIT 3 FOR UPDATE"));
	assert_int_equal(queue_claim_hooks(q1, 4, &a), DB_OK);
	assert_int_equal(a.n, 4);
	assert_int_equal(queue_claim_hooks(q2, 100, &b), DB_OK);
	assert_int_equal(b.n, 3);	/* not blocked, not the locked ones */
	for (size_t i = 0; i < a.n; i++)
		for (size_t j = 0; j < b.n; j++)
			assert_false(a.items[i].job == b.items[j].job &&
			    a.items[i].dest == b.items[j].dest);
	PQclear(PQexec(locker, "ROLLBACK"));
	PQfinish(locker);
	batch_free(&a);
	batch_free(&b);
	queue_disconnect(q1);
	queue_disconnect(q2);
}

/* test_lease_lost - a notifier past its lease records nothing over the new claim,
 * but its attempt is logged */
static void test_lease_lost(void **state)
{
	struct queue *q1 = open_queue(), *q2 = open_queue();
	struct batch a, b;
	char buf[64];

	(void)state;
	destination("webhook");
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q1, 10, &a), DB_OK);
	assert_int_equal(a.n, 1);
	sql("UPDATE beacon.notify_deliveries SET next_at = now() - interval '1 second'");
	assert_int_equal(queue_claim_hooks(q2, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	a.items[0].outcome = ITEM_SENT;
	a.items[0].status = 200;
	assert_int_equal(queue_record(q1, &a), DB_OK);
	assert_int_equal(a.recorded, 0);
	assert_string_equal(sql_text("SELECT state || ' ' || attempts FROM"
	    " beacon.notify_deliveries", buf, sizeof(buf)), "pending 0");
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_log"), 1);
	b.items[0].outcome = ITEM_RETRY;
	b.items[0].status = 503;
	snprintf(b.items[0].error, sizeof(b.items[0].error), "HTTP 503");
	assert_int_equal(queue_record(q2, &b), DB_OK);
	assert_int_equal(b.recorded, 1);
	assert_string_equal(sql_text("SELECT state || ' ' || attempts || ' ' || last_error FROM"
	    " beacon.notify_deliveries", buf, sizeof(buf)), "pending 1 HTTP 503");
	batch_free(&a);
	batch_free(&b);
	queue_disconnect(q1);
	queue_disconnect(q2);
}

/* test_record_later - outcomes kept when the session died are recorded through the
 * next session, under the same claim */
static void test_record_later(void **state)
{
	struct queue *q1 = open_queue(), *q2;
	struct batch b;
	char buf[64];

	(void)state;
	destination("webhook");
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q1, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	queue_disconnect(q1);	/* the session is lost before the record */
	b.items[0].outcome = ITEM_SENT;
	b.items[0].status = 200;
	q2 = open_queue();
	assert_int_equal(queue_record(q2, &b), DB_OK);
	assert_int_equal(b.recorded, 1);
	batch_free(&b);
	assert_string_equal(sql_text("SELECT state FROM beacon.notify_deliveries", buf,
	    sizeof(buf)), "sent");
	queue_disconnect(q2);
}

/* test_record_datestyle - the claim's mark does not depend on how the session
 * writes or reads timestamps */
static void test_record_datestyle(void **state)
{
	struct queue *q;
	struct batch b;
	char buf[64];

	(void)state;
	sql("ALTER DATABASE beacon SET DateStyle = 'Postgres, DMY';"
	    "ALTER DATABASE beacon SET TimeZone = 'Asia/Kolkata'");
	q = open_queue();
	destination("webhook");
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	b.items[0].outcome = ITEM_SENT;
	b.items[0].status = 200;
	assert_int_equal(queue_record(q, &b), DB_OK);
	assert_int_equal(b.recorded, 1);
	batch_free(&b);
	assert_string_equal(sql_text("SELECT state FROM beacon.notify_deliveries", buf,
	    sizeof(buf)), "sent");
	queue_disconnect(q);
}

/* test_retry_for - a failure past retry_for is final; before it, a retry later */
static void test_retry_for(void **state)
{
	struct queue *q = open_queue();
	struct batch b;
	char buf[128];

	(void)state;
	destination("webhook");
	message(1, "4 days");
	event(1, "now() - interval '3 days'", "3 days");	/* retry_for: 48 h */
	message(2, "1 hour");
	event(2, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 2);
	for (size_t i = 0; i < b.n; i++) {
		b.items[i].outcome = ITEM_RETRY;
		snprintf(b.items[i].error, sizeof(b.items[i].error), "timeout");
	}
	assert_int_equal(queue_record(q, &b), DB_OK);
	batch_free(&b);
	assert_string_equal(sql_text("SELECT string_agg(d.state || ' ' || d.attempts, ',' ORDER BY"
	    " r.token_id) FROM beacon.notify_deliveries d JOIN beacon.notify_jobs j ON j.id = d.job"
	    " JOIN beacon.recipients r ON r.token_id = j.token_id", buf, sizeof(buf)),
	    "failed 1,pending 1");
	/* the retry: about 30 s later (back-off of the first attempt, +-10 %) */
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_deliveries WHERE"
	    " state = 'pending' AND next_at BETWEEN now() + interval '25 s'"
	    " AND now() + interval '35 s'"), 1);
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_log"), 2);
	queue_disconnect(q);
}

/* test_hold_reclassified - a fresh event waits; a reclassified one is dropped */
static void test_hold_reclassified(void **state)
{
	struct queue *q = open_queue();
	struct batch b;
	char buf[128];

	(void)state;
	cfg.notify.hold = 10;
	destination("webhook");
	message(1, "1 hour");
	event(1, "now()", "0 s");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 0);	/* not yet: pixelsrv may still reclassify it */
	batch_free(&b);
	/* the click-burst rule ran: the event is a scanner's now */
	sql("UPDATE beacon.events SET class = 'scanner'");
	sql("UPDATE beacon.notify_jobs SET created_at = created_at - interval '11 s',"
	    " at = at - interval '11 s';"
	    "UPDATE beacon.events SET at = at - interval '11 s'");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	assert_non_null(b.items[0].drop);
	assert_string_equal(b.items[0].drop, "reclassified as scanner");
	assert_int_equal(b.items[0].outcome, ITEM_DROPPED);
	assert_int_equal(queue_record(q, &b), DB_OK);
	batch_free(&b);
	assert_string_equal(sql_text("SELECT state || ' ' || last_error FROM"
	    " beacon.notify_deliveries", buf, sizeof(buf)), "dropped reclassified as scanner");
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_log"), 0);
	queue_disconnect(q);
}

/* test_muted_meanwhile - the attempt made before the mute still has its log row */
static void test_muted_meanwhile(void **state)
{
	struct queue *q = open_queue();
	struct batch b;

	(void)state;
	destination("webhook");
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 1);
	/* beaconctl notify mute, while the request was in flight */
	sql("UPDATE beacon.messages SET muted = true;"
	    "UPDATE beacon.notify_deliveries SET state = 'dropped', last_error = 'muted'");
	b.items[0].outcome = ITEM_SENT;
	b.items[0].status = 200;
	assert_int_equal(queue_record(q, &b), DB_OK);
	batch_free(&b);
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_log WHERE status = 200"), 1);
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_deliveries"
	    " WHERE state = 'dropped'"), 1);
	queue_disconnect(q);
}

/* test_notify_days - the event's time against the message's window */
static void test_notify_days(void **state)
{
	struct queue *q = open_queue();
	struct batch b;

	(void)state;
	destination("webhook");
	message(1, "40 days");	/* an event in its window, its retry running late */
	event(1, "now() - interval '39 days'", "1 minute");
	message(2, "40 days");	/* an event after the window */
	event(2, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_claim_hooks(q, 10, &b), DB_OK);
	assert_int_equal(b.n, 2);
	for (size_t i = 0; i < b.n; i++) {
		if (!strcmp(b.items[i].subject, "Offer 1"))
			assert_null(b.items[i].drop);
		else
			assert_string_equal(b.items[i].drop, "past notify_days");
	}
	batch_free(&b);
	queue_disconnect(q);
}

/* test_digest_due - last_digest_at set with the record; the destination then waits;
 * a second notifier cannot take the lock */
static void test_digest_due(void **state)
{
	struct queue *q1 = open_queue(), *q2 = open_queue();
	int dest = destination("mail"), ids[8];
	struct batch b;
	size_t n;

	(void)state;
	message(1, "1 hour");
	event(1, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_mail_due(q1, ids, 8, &n), DB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], dest);
	assert_int_equal(queue_lock_mail(q1, dest), 1);
	assert_int_equal(queue_lock_mail(q2, dest), 0);
	assert_int_equal(queue_claim_mail(q1, dest, &b), DB_OK);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.digest, dest);
	b.items[0].outcome = ITEM_SENT;
	b.items[0].status = 250;
	assert_int_equal(queue_record(q1, &b), DB_OK);
	batch_free(&b);
	assert_int_equal(queue_unlock_mail(q1, dest), DB_OK);
	assert_int_equal(sql_long("SELECT count(*) FROM beacon.notify_destinations"
	    " WHERE last_digest_at > now() - interval '1 minute'"), 1);
	/* a new event: due again only after notify_interval */
	message(2, "1 hour");
	event(2, "now() - interval '1 minute'", "1 minute");
	assert_int_equal(queue_mail_due(q2, ids, 8, &n), DB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lock_mail(q2, dest), 1);
	assert_int_equal(queue_claim_mail(q2, dest, &b), DB_OK);
	assert_int_equal(b.n, 0);
	batch_free(&b);
	assert_int_equal(queue_unlock_mail(q2, dest), DB_OK);
	sql("UPDATE beacon.notify_destinations SET last_digest_at = now() - interval '301 s'");
	assert_int_equal(queue_mail_due(q2, ids, 8, &n), DB_OK);
	assert_int_equal(n, 1);
	queue_disconnect(q1);
	queue_disconnect(q2);
}

/* test_probe - the owner passes; a login without beacon_notify is told what to do */
static void test_probe(void **state)
{
	struct queue *q = open_queue();
	char err[512], *saved = cfg.database.conninfo, other[600];

	(void)state;
	assert_int_equal(queue_probe(q, err, sizeof(err)), 0);
	queue_disconnect(q);
	sql("DROP ROLE IF EXISTS nt_stranger; CREATE ROLE nt_stranger LOGIN;"
	    "GRANT CONNECT ON DATABASE beacon TO nt_stranger");
	snprintf(other, sizeof(other), "%s user=nt_stranger", saved);
	cfg.database.conninfo = other;
	q = open_queue();
	assert_int_equal(queue_probe(q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GRANT beacon_notify"));
	queue_disconnect(q);
	cfg.database.conninfo = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_claim_record, reset),
		cmocka_unit_test_setup(test_two_claims, reset),
		cmocka_unit_test_setup(test_lease_lost, reset),
		cmocka_unit_test_setup(test_record_later, reset),
		cmocka_unit_test_setup(test_record_datestyle, reset),
		cmocka_unit_test_setup(test_retry_for, reset),
		cmocka_unit_test_setup(test_hold_reclassified, reset),
		cmocka_unit_test_setup(test_muted_meanwhile, reset),
		cmocka_unit_test_setup(test_notify_days, reset),
		cmocka_unit_test_setup(test_digest_due, reset),
		cmocka_unit_test_setup(test_probe, reset),
	};

	return cmocka_run_group_tests(tests, group_up, group_down);
}
