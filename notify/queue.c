/*
 * queue.c - claim due deliveries from PostgreSQL and record their
 * outcome (see queue.h).  Parameterized statements only, each on the
 * non-blocking session with a deadline (db.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "backoff.h"
#include "queue.h"

#define QUEUE_LEASE_EXTRA_S 60	/* a claim's lease: the requests' time plus this */

/* queue - the session and the keys it needs */
struct queue {
	PGconn *conn;			/* LISTENing session */
	const struct beacon_cfg *cfg;	/* [notify] and [database] */
};

/*
 * The claimed rows with everything a payload needs, the same columns for
 * webhooks and digests (c is the claim: job, destination, attempts, the
 * lease's end).  $3: notify_days (0: no limit), compared with the event's
 * time, so that a retry running late never drops it.  The last column says
 * why the delivery is dropped: the message muted, the destination
 * disabled, the event past the message's notify_days window, or the event
 * reclassified since it was queued (beacon-pixelsrv's click-burst and
 * honeypot rules turn earlier clicks into scanner after the COPY): the
 * stored event is looked up by notify_event_drop (016_notify_lookup.sql),
 * by token (events_token only, whatever the statistics say) and time (the
 * partition), and only human or proxy still notifies.
 */
#define QUEUE_SELECT \
	"SELECT c.job, c.destination, c.attempts, t.kind, t.url, t.secret, j.kind, j.class," \
	" to_char(j.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
	" m.id, m.message_id, m.subject, m.campaign," \
	" to_char(m.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
	" r.address, r.name, j.country, j.city, j.device, j.os, j.client, l.url, a.name," \
	" CASE WHEN m.muted THEN 'muted' WHEN NOT t.active THEN 'destination disabled'" \
	"  WHEN $3::int > 0 AND NOT m.pinned AND j.at > m.sent_at + $3::int * interval '1 day'" \
	"  THEN 'past notify_days'" \
	"  ELSE beacon.notify_event_drop(j.token_id, j.at, j.kind, j.link_n) END," \
	" (extract(epoch FROM c.next_at) * 1000000)::bigint" \
	" FROM c JOIN beacon.notify_jobs j ON j.id = c.job" \
	" JOIN beacon.notify_destinations t ON t.id = c.destination" \
	" JOIN beacon.messages m ON m.id = j.message" \
	" LEFT JOIN beacon.recipients r ON r.token_id = j.token_id" \
	" LEFT JOIN beacon.links l ON l.message = j.message AND l.n = j.link_n" \
	" LEFT JOIN beacon.attachments a ON a.message = j.message AND a.id = j.attachment_id" \
	" ORDER BY j.at, c.job"
enum { Q_JOB, Q_DEST, Q_ATTEMPTS, Q_DKIND, Q_URL, Q_SECRET, Q_KIND, Q_CLASS, Q_AT, Q_MSG,
       Q_MESSAGE_ID, Q_SUBJECT, Q_CAMPAIGN, Q_SENT_AT, Q_ADDRESS, Q_NAME, Q_COUNTRY, Q_CITY,
       Q_DEVICE, Q_OS, Q_CLIENT, Q_LINK, Q_FILE, Q_DROP, Q_CLAIM, Q_NCOLS };

/*
 * The claim: due rows, oldest first, skipping rows another notifier holds,
 * whose event (and job) is at least `hold` old; $1 how many, $2 the lease
 * in seconds, $4 the mail destination or NULL for every other kind (a
 * join on the destination's kind: webhooks and mail never wait for each
 * other), $5 hold, $6 notify_interval (a mail destination is claimed only
 * while its last digest is older).  The new next_at, the lease's end, is
 * the claim's mark: recording matches it, so a notifier whose lease ran out
 * and whose rows were claimed again records nothing over the new claim.
 * The mark travels as microseconds since the epoch, not as text, so that
 * it does not depend on the session's DateStyle and TimeZone (a zone
 * abbreviation such as IST would be read back as another offset).
 */
static const char queue_claim_sql[] =
	"WITH c AS (UPDATE beacon.notify_deliveries d"
	" SET next_at = now() + $2::int * interval '1 second'"
	" WHERE (d.job, d.destination) IN (SELECT q.job, q.destination"
	"  FROM beacon.notify_deliveries q JOIN beacon.notify_destinations t ON t.id = q.destination"
	"  JOIN beacon.notify_jobs j ON j.id = q.job"
	"  WHERE q.state = 'pending' AND q.next_at <= now()"
	"  AND j.at <= now() - $5::int * interval '1 second'"
	"  AND j.created_at <= now() - $5::int * interval '1 second'"
	"  AND CASE WHEN $4::int IS NULL THEN t.kind <> 'mail' ELSE q.destination = $4::int"
	"   AND (t.last_digest_at IS NULL OR t.last_digest_at <= now() - $6::int * interval '1 second')"
	"   END"
	"  ORDER BY q.next_at, q.job LIMIT $1::int FOR UPDATE OF q SKIP LOCKED)"
	" RETURNING d.job, d.destination, d.attempts, d.next_at) " QUEUE_SELECT;

/* queue_exec - run SQL with N text parameters before the statement deadline;
 * *RES (may be NULL) gets the answer or the failure */
static enum db_fault queue_exec(struct queue *q, const char *sql, int n, const char *const *params,
    PGresult **res, const char *what)
{
	long long deadline = clock_after_ms(db_timeout_ms(q->cfg, 30000, 1000));
	PGresult *r = NULL;
	enum db_fault f;
	int len;

	f = db_flush(q->conn, PQsendQueryParams(q->conn, sql, n, NULL, params, NULL, NULL, 0),
	    deadline);
	if (f == DB_OK)
		f = db_results(q->conn, deadline, &r);
	if (f != DB_OK) {
		const char *e = db_error(q->conn, r, &len);
		log_warnx("%s: %s: %.*s", what, f == DB_TIMEOUT ? "no answer in time" :
		    "database error", len, e);
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return f;
}

/* queue_connect - connect and LISTEN */
struct queue *queue_connect(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct queue *q;
	PGconn *conn;

	if (!(conn = db_connect(cfg, "beacon-notify", err, errlen)))
		return NULL;
	if (PQsetnonblocking(conn, 1) < 0) {
		snprintf(err, errlen, "cannot make the database session non-blocking");
		PQfinish(conn);
		return NULL;
	}
	if (!(q = calloc(1, sizeof(*q))))
		log_fatalx("out of memory");
	q->conn = conn;
	q->cfg = cfg;
	if (queue_exec(q, "LISTEN " QUEUE_CHANNEL, 0, NULL, NULL, "LISTEN") != DB_OK) {
		snprintf(err, errlen, "cannot LISTEN %s", QUEUE_CHANNEL);
		queue_disconnect(q);
		return NULL;
	}
	return q;
}

/*
 * queue_probe - touch, with WHERE false, every table and column the notifier
 * reads or writes: 0; -1 with ERR and a hint when one is missing or out of
 * reach (the schema not migrated, the login not a member of beacon_notify:
 * waiting will not help); -2 when the session failed otherwise
 */
int queue_probe(struct queue *q, char *err, size_t errlen)
{
	static const char *const sql[] = {
		("SELECT d.state, d.next_at, j.at, t.kind, t.last_digest_at, m.muted, m.pinned,"
		 " r.address, l.url, a.name, e.class"
		 " FROM beacon.notify_deliveries d, beacon.notify_jobs j,"
		 " beacon.notify_destinations t, beacon.messages m, beacon.recipients r,"
		 " beacon.links l, beacon.attachments a, beacon.events e WHERE false"),
		("SELECT beacon.notify_event_drop(NULL::uuid, NULL::timestamptz, NULL::text,"
		 " NULL::int) WHERE false"),
		"UPDATE beacon.notify_deliveries SET state = state WHERE false",
		"UPDATE beacon.notify_destinations SET last_digest_at = now() WHERE false",
		("INSERT INTO beacon.notify_log (job, destination, attempt)"
		 " SELECT 0, 0, 0 WHERE false"),
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		PGresult *res = NULL;
		enum db_fault f = queue_exec(q, sql[i], 0, NULL, &res, "checking the schema");
		int len;
		const char *e = db_error(q->conn, res, &len);

		if (f == DB_OK) {
			PQclear(res);
			continue;
		}
		if (db_sqlstate_is(res, "42") || db_sqlstate_is(res, "3F")) {
			snprintf(err, errlen, "the notify tables are out of reach: %.*s (run "
			    "'beaconctl migrate'; GRANT beacon_notify TO the login role)", len, e);
			PQclear(res);
			return -1;
		}
		snprintf(err, errlen, "checking the schema: %.*s", len, e);
		PQclear(res);
		return -2;
	}
	return 0;
}

/* queue_alive - the session is still up (a failure was the database's answer) */
int queue_alive(const struct queue *q)
{
	return PQstatus(q->conn) == CONNECTION_OK;
}

/* queue_disconnect - end the session */
void queue_disconnect(struct queue *q)
{
	if (!q)
		return;
	PQfinish(q->conn);
	free(q);
}

/* queue_idle - sleep on the socket until a notification, a signal or MS */
int queue_idle(struct queue *q, int ms)
{
	struct pollfd pfd = { PQsocket(q->conn), POLLIN, 0 };
	PGnotify *nt;
	int woke = 0;

	if (pfd.fd < 0)
		return -1;
	/* notifications that came with the last answers are already read */
	while ((nt = PQnotifies(q->conn)) != NULL)
		PQfreemem(nt), woke = 1;
	if (woke)
		return 0;
	if (poll(&pfd, 1, ms) < 0)
		return errno == EINTR ? 0 : -1;
	if (pfd.revents && !PQconsumeInput(q->conn))
		return -1;
	while ((nt = PQnotifies(q->conn)) != NULL)
		PQfreemem(nt);
	return PQstatus(q->conn) == CONNECTION_OK ? 0 : -1;
}

/* queue_val - a column of row I, NULL for SQL NULL */
static const char *queue_val(const PGresult *res, int i, int col)
{
	return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

/* queue_items - the claimed rows of RES into B */
static void queue_items(PGresult *res, struct batch *b)
{
	int rows = PQntuples(res);

	b->res = res;
	b->n = 0;
	b->items = NULL;
	if (rows <= 0)
		return;
	if (PQnfields(res) != Q_NCOLS)
		log_fatalx("claim: %d columns, expected %d", PQnfields(res), Q_NCOLS);
	if (!(b->items = calloc((size_t)rows, sizeof(*b->items))))
		log_fatalx("out of memory");
	for (int i = 0; i < rows; i++) {
		struct item *it = &b->items[i];

		it->job = strtoll(PQgetvalue(res, i, Q_JOB), NULL, 10);
		it->dest = atoi(PQgetvalue(res, i, Q_DEST));
		it->attempts = atoi(PQgetvalue(res, i, Q_ATTEMPTS));
		snprintf(it->id, sizeof(it->id), "%lld.%d", it->job, it->dest);
		it->dkind = queue_val(res, i, Q_DKIND);
		it->url = queue_val(res, i, Q_URL);
		it->secret = queue_val(res, i, Q_SECRET);
		it->kind = queue_val(res, i, Q_KIND);
		it->class = queue_val(res, i, Q_CLASS);
		it->at = queue_val(res, i, Q_AT);
		it->msg_uuid = queue_val(res, i, Q_MSG);
		it->message_id = queue_val(res, i, Q_MESSAGE_ID);
		it->subject = queue_val(res, i, Q_SUBJECT);
		it->campaign = queue_val(res, i, Q_CAMPAIGN);
		it->sent_at = queue_val(res, i, Q_SENT_AT);
		it->address = queue_val(res, i, Q_ADDRESS);
		it->name = queue_val(res, i, Q_NAME);
		it->country = queue_val(res, i, Q_COUNTRY);
		it->city = queue_val(res, i, Q_CITY);
		it->device = queue_val(res, i, Q_DEVICE);
		it->os = queue_val(res, i, Q_OS);
		it->client = queue_val(res, i, Q_CLIENT);
		it->link = queue_val(res, i, Q_LINK);
		it->file = queue_val(res, i, Q_FILE);
		it->drop = queue_val(res, i, Q_DROP);
		it->claim = queue_val(res, i, Q_CLAIM);
		it->outcome = it->drop ? ITEM_DROPPED : ITEM_RETRY;
		it->latency_ms = -1;
		b->n++;
	}
}

/* queue_claim - run the claim for DEST (NULL: every kind but mail) with a lease of
 * LEASE_S seconds */
static enum db_fault queue_claim(struct queue *q, long limit, long lease_s, const char *dest,
    struct batch *b)
{
	char lim[24], lease[24], days[24], hold[24], iv[24];
	const char *params[6] = { lim, lease, days, dest, hold, iv };
	PGresult *res = NULL;
	enum db_fault f;

	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 1);
	snprintf(lease, sizeof(lease), "%ld", lease_s);
	snprintf(days, sizeof(days), "%ld", q->cfg->notify.notify_days);
	snprintf(hold, sizeof(hold), "%ld", q->cfg->notify.hold);
	snprintf(iv, sizeof(iv), "%ld", q->cfg->notify.notify_interval);
	*b = (struct batch){ 0 };
	f = queue_exec(q, queue_claim_sql, 6, params, &res, "claiming deliveries");
	if (f != DB_OK) {
		PQclear(res);
		return f;
	}
	queue_items(res, b);
	return DB_OK;
}

/* queue_lease_hooks - the lease of a batch of LIMIT: as many rounds of `concurrency`
 * requests as it takes, each up to `timeout`, and a minute for the rest */
long queue_lease_hooks(const struct beacon_cfg *cfg, long limit)
{
	long conc = cfg->notify.concurrency > 0 ? cfg->notify.concurrency : 1;
	long rounds = (limit + conc - 1) / conc;

	return (rounds > 0 ? rounds : 1) * cfg->notify.timeout + QUEUE_LEASE_EXTRA_S;
}

/* queue_claim_hooks - due webhook, Slack and Mattermost deliveries */
enum db_fault queue_claim_hooks(struct queue *q, long limit, struct batch *b)
{
	return queue_claim(q, limit, queue_lease_hooks(q->cfg, limit), NULL, b);
}

/* queue_claim_mail - due deliveries of one mail destination: one mail, one timeout */
enum db_fault queue_claim_mail(struct queue *q, int dest, struct batch *b)
{
	char d[24];
	enum db_fault f;

	snprintf(d, sizeof(d), "%d", dest);
	f = queue_claim(q, QUEUE_DIGEST_MAX, q->cfg->notify.timeout + QUEUE_LEASE_EXTRA_S, d, b);
	b->digest = dest;
	return f;
}

/* queue_lock_mail - the session's advisory lock on mail destination DEST, so that
 * two notifiers never build a digest for it at once: 1 taken, 0 another session
 * holds it, -1 on failure */
int queue_lock_mail(struct queue *q, int dest)
{
	char d[24];
	const char *params[1] = { d };
	PGresult *res = NULL;
	int rc = -1;

	snprintf(d, sizeof(d), "%d", dest);
	if (queue_exec(q, "SELECT pg_try_advisory_lock(" QUEUE_LOCK_CLASS ", $1::int)", 1, params,
	    &res, "locking a digest") == DB_OK && PQntuples(res) == 1)
		rc = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

/* queue_unlock_mail - release it */
enum db_fault queue_unlock_mail(struct queue *q, int dest)
{
	char d[24];
	const char *params[1] = { d };

	snprintf(d, sizeof(d), "%d", dest);
	return queue_exec(q, "SELECT pg_advisory_unlock(" QUEUE_LOCK_CLASS ", $1::int)", 1, params,
	    NULL, "unlocking a digest");
}

/* queue_mail_due - mail destinations with due deliveries and no digest within the
 * interval: the pending rows (the due index) joined to their destination, whose
 * last_digest_at says when it last got one */
enum db_fault queue_mail_due(struct queue *q, int *ids, size_t max, size_t *n)
{
	static const char sql[] =
		"SELECT DISTINCT q.destination FROM beacon.notify_deliveries q"
		" JOIN beacon.notify_destinations t ON t.id = q.destination"
		" JOIN beacon.notify_jobs j ON j.id = q.job"
		" WHERE q.state = 'pending' AND q.next_at <= now() AND t.kind = 'mail'"
		" AND j.at <= now() - $3::int * interval '1 second'"
		" AND j.created_at <= now() - $3::int * interval '1 second'"
		" AND (t.last_digest_at IS NULL"
		"  OR t.last_digest_at <= now() - $1::int * interval '1 second')"
		" ORDER BY 1 LIMIT $2::int";
	char iv[24], lim[24], hold[24];
	const char *params[3] = { iv, lim, hold };
	PGresult *res = NULL;
	enum db_fault f;

	*n = 0;
	snprintf(iv, sizeof(iv), "%ld", q->cfg->notify.notify_interval);
	snprintf(lim, sizeof(lim), "%zu", max);
	snprintf(hold, sizeof(hold), "%ld", q->cfg->notify.hold);
	f = queue_exec(q, sql, 3, params, &res, "looking for due digests");
	if (f == DB_OK)
		for (int i = 0; i < PQntuples(res) && *n < max; i++)
			ids[(*n)++] = atoi(PQgetvalue(res, i, 0));
	PQclear(res);
	return f;
}

/* queue_arr_text - append S to a text[] literal (NULL: NULL) */
static void queue_arr_text(struct buf *a, const char *s)
{
	buf_add(a, a->len > 1 ? "," : "", a->len > 1);
	if (!s) {
		buf_adds(a, "NULL");
		return;
	}
	buf_add(a, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_add(a, "\\", 1);
		buf_add(a, s, 1);
	}
	buf_add(a, "\"", 1);
}

/* queue_arr_num - append N to an array literal, NULL when NUL is set */
static void queue_arr_num(struct buf *a, long long n, int null)
{
	buf_add(a, a->len > 1 ? "," : "", a->len > 1);
	if (null)
		buf_adds(a, "NULL");
	else
		buf_printf(a, "%lld", n);
}

/*
 * queue_record - every outcome of B in one statement: the deliveries still
 * under B's claim (state pending, next_at the claim's mark) get their new
 * state; every attempt made gets its notify_log row, even when the
 * delivery changed meanwhile (muted, or its lease lost); a digest that
 * went out sets its destination's last_digest_at, in the same
 * transaction.  B->recorded: how many deliveries were still B's.
 */
enum db_fault queue_record(struct queue *q, struct batch *b)
{
	static const char sql[] =
		"WITH r AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[],"
		"  $5::int[], $6::text[], $7::int[], $8::bigint[], $9::int[])"
		"  AS r(job, destination, outcome, status, latency_ms, error, delay_s, claim, attempt)),"
		" u AS (UPDATE beacon.notify_deliveries d SET"
		"  state = CASE WHEN r.outcome = 'sent' THEN 'sent'"
		"   WHEN r.outcome = 'dropped' THEN 'dropped'"
		"   WHEN r.outcome = 'unsent' THEN 'pending'"
		"   WHEN j.created_at + $10::int * interval '1 second' <= now() THEN 'failed'"
		"   ELSE 'pending' END,"
		"  attempts = d.attempts + CASE WHEN r.outcome IN ('sent', 'retry') THEN 1 ELSE 0 END,"
		"  next_at = CASE WHEN r.outcome = 'retry' THEN least("
		"   now() + r.delay_s * interval '1 second',"
		"   j.created_at + $10::int * interval '1 second') ELSE now() END,"
		"  last_status = CASE WHEN r.outcome IN ('sent', 'retry') THEN r.status"
		"   ELSE d.last_status END,"
		"  last_error = CASE WHEN r.outcome = 'unsent' THEN d.last_error ELSE r.error END,"
		"  latency_ms = CASE WHEN r.outcome IN ('sent', 'retry') THEN r.latency_ms"
		"   ELSE d.latency_ms END,"
		"  sent_at = CASE WHEN r.outcome = 'sent' THEN now() ELSE d.sent_at END"
		"  FROM r, beacon.notify_jobs j"
		"  WHERE d.job = r.job AND d.destination = r.destination AND j.id = r.job"
		"  AND d.state = 'pending'"
		"  AND (extract(epoch FROM d.next_at) * 1000000)::bigint = r.claim"
		"  RETURNING 1),"
		" g AS (UPDATE beacon.notify_destinations t SET last_digest_at = now()"
		"  WHERE t.id = $11::int AND EXISTS (SELECT 1 FROM r WHERE r.outcome = 'sent')),"
		" l AS (INSERT INTO beacon.notify_log (job, destination, attempt, status, latency_ms,"
		"  error) SELECT job, destination, attempt, status, latency_ms, error FROM r"
		"  WHERE outcome IN ('sent', 'retry'))"
		" SELECT count(*) FROM u";
	static const char *const names[] = { "sent", "retry", "dropped", "unsent" };
	struct buf a[9] = { { 0 } };
	const char *params[11];
	char retry[24], digest[24];
	PGresult *res = NULL;
	enum db_fault f;

	b->recorded = 0;
	if (b->n == 0)
		return DB_OK;
	for (int k = 0; k < 9; k++)
		buf_add(&a[k], "{", 1);
	for (size_t i = 0; i < b->n; i++) {
		const struct item *it = &b->items[i];
		int tried = it->outcome == ITEM_SENT || it->outcome == ITEM_RETRY;

		queue_arr_num(&a[0], it->job, 0);
		queue_arr_num(&a[1], it->dest, 0);
		queue_arr_text(&a[2], names[it->outcome]);
		queue_arr_num(&a[3], it->status, !tried || it->status <= 0);
		queue_arr_num(&a[4], it->latency_ms, !tried || it->latency_ms < 0);
		queue_arr_text(&a[5], it->outcome == ITEM_DROPPED ? it->drop :
		    it->error[0] ? it->error : NULL);
		queue_arr_num(&a[6], it->outcome == ITEM_RETRY ? backoff_s(it->attempts + 1) : 0, 0);
		queue_arr_text(&a[7], it->claim);
		queue_arr_num(&a[8], it->attempts + 1, 0);
	}
	for (int k = 0; k < 9; k++) {
		buf_add(&a[k], "}", 1);
		params[k] = buf_str(&a[k]);
	}
	snprintf(retry, sizeof(retry), "%ld", q->cfg->notify.retry_for);
	snprintf(digest, sizeof(digest), "%d", b->digest);
	params[9] = retry;
	params[10] = b->digest > 0 ? digest : NULL;
	f = queue_exec(q, sql, 11, params, &res, "recording deliveries");
	if (f == DB_OK && PQntuples(res) == 1)
		b->recorded = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (f == DB_OK && b->recorded < b->n)
		log_warnx("%zu of %zu deliveries changed while they were sent (muted, disabled "
		    "or claimed again after their lease): their attempts are logged only",
		    b->n - b->recorded, b->n);
	PQclear(res);
	for (int k = 0; k < 9; k++)
		buf_free(&a[k]);
	return f;
}

/* batch_free - release a batch */
void batch_free(struct batch *b)
{
	PQclear(b->res);
	free(b->items);
	*b = (struct batch){ 0 };
}
