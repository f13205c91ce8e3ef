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

#define QUEUE_LEASE_EXTRA_S 60	/* a claim's lease: timeout plus this */

/* queue - the session and the keys it needs */
struct queue {
	PGconn *conn;			/* LISTENing session */
	const struct beacon_cfg *cfg;	/* [notify] and [database] */
};

/*
 * The claimed rows with everything a payload needs, the same columns for
 * webhooks and digests (c is the claim: job, destination, attempts).
 * $3: notify_days (0: no limit).
 */
#define QUEUE_SELECT \
	"SELECT c.job, c.destination, c.attempts, t.kind, t.url, t.secret, j.kind, j.class," \
	" to_char(j.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
	" m.id, m.message_id, m.subject, m.campaign," \
	" to_char(m.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')," \
	" r.address, r.name, j.country, j.city, j.device, j.os, j.client, l.url, a.name," \
	" CASE WHEN m.muted THEN 'muted' WHEN NOT t.active THEN 'destination disabled'" \
	"  WHEN $3::int > 0 AND NOT m.pinned AND m.sent_at < now() - $3::int * interval '1 day'" \
	"  THEN 'past notify_days' END" \
	" FROM c JOIN beacon.notify_jobs j ON j.id = c.job" \
	" JOIN beacon.notify_destinations t ON t.id = c.destination" \
	" JOIN beacon.messages m ON m.id = j.message" \
	" LEFT JOIN beacon.recipients r ON r.token_id = j.token_id" \
	" LEFT JOIN beacon.links l ON l.message = j.message AND l.n = j.link_n" \
	" LEFT JOIN beacon.attachments a ON a.message = j.message AND a.id = j.attachment_id" \
	" ORDER BY j.at, c.job"
enum { Q_JOB, Q_DEST, Q_ATTEMPTS, Q_DKIND, Q_URL, Q_SECRET, Q_KIND, Q_CLASS, Q_AT, Q_MSG,
       Q_MESSAGE_ID, Q_SUBJECT, Q_CAMPAIGN, Q_SENT_AT, Q_ADDRESS, Q_NAME, Q_COUNTRY, Q_CITY,
       Q_DEVICE, Q_OS, Q_CLIENT, Q_LINK, Q_FILE, Q_DROP, Q_NCOLS };

/* the claim: due rows, oldest first, skipping rows another notifier holds; $1 how many,
 * $2 the lease in seconds; $4 the mail destination or NULL for every other kind */
static const char queue_claim_sql[] =
	"WITH c AS (UPDATE beacon.notify_deliveries d"
	" SET next_at = now() + $2::int * interval '1 second'"
	" WHERE (d.job, d.destination) IN (SELECT q.job, q.destination"
	"  FROM beacon.notify_deliveries q JOIN beacon.notify_destinations t ON t.id = q.destination"
	"  WHERE q.state = 'pending' AND q.next_at <= now()"
	"  AND CASE WHEN $4::int IS NULL THEN t.kind <> 'mail' ELSE q.destination = $4::int END"
	"  ORDER BY q.next_at, q.job LIMIT $1::int FOR UPDATE OF q SKIP LOCKED)"
	" RETURNING d.job, d.destination, d.attempts) " QUEUE_SELECT;

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

/* queue_open - connect and LISTEN */
struct queue *queue_open(const struct beacon_cfg *cfg, char *err, size_t errlen)
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
		queue_close(q);
		return NULL;
	}
	return q;
}

/* queue_close - end the session */
void queue_close(struct queue *q)
{
	if (!q)
		return;
	PQfinish(q->conn);
	free(q);
}

/* queue_wait - sleep on the socket until a notification, a signal or MS */
int queue_wait(struct queue *q, int ms)
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
		it->outcome = it->drop ? ITEM_DROPPED : ITEM_RETRY;
		it->latency_ms = -1;
		b->n++;
	}
}

/* queue_claim - run the claim for DEST (NULL: every kind but mail) */
static enum db_fault queue_claim(struct queue *q, long limit, const char *dest, struct batch *b)
{
	char lim[24], lease[24], days[24];
	const char *params[4] = { lim, lease, days, dest };
	PGresult *res = NULL;
	enum db_fault f;

	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 1);
	snprintf(lease, sizeof(lease), "%ld", q->cfg->notify.timeout + QUEUE_LEASE_EXTRA_S);
	snprintf(days, sizeof(days), "%ld", q->cfg->notify.notify_days);
	*b = (struct batch){ 0 };
	f = queue_exec(q, queue_claim_sql, 4, params, &res, "claiming deliveries");
	if (f != DB_OK) {
		PQclear(res);
		return f;
	}
	queue_items(res, b);
	return DB_OK;
}

/* queue_claim_hooks - due webhook, Slack and Mattermost deliveries */
enum db_fault queue_claim_hooks(struct queue *q, long limit, struct batch *b)
{
	return queue_claim(q, limit, NULL, b);
}

/* queue_claim_mail - due deliveries of one mail destination */
enum db_fault queue_claim_mail(struct queue *q, int dest, struct batch *b)
{
	char d[24];

	snprintf(d, sizeof(d), "%d", dest);
	return queue_claim(q, QUEUE_DIGEST_MAX, d, b);
}

/* queue_mail_due - mail destinations with due deliveries and no digest within the interval */
enum db_fault queue_mail_due(struct queue *q, int *ids, size_t max, size_t *n)
{
	static const char sql[] =
		"SELECT t.id FROM beacon.notify_destinations t WHERE t.kind = 'mail'"
		" AND EXISTS (SELECT 1 FROM beacon.notify_deliveries q WHERE q.destination = t.id"
		"  AND q.state = 'pending' AND q.next_at <= now())"
		" AND NOT EXISTS (SELECT 1 FROM beacon.notify_deliveries s WHERE s.destination = t.id"
		"  AND s.state = 'sent' AND s.sent_at > now() - $1::int * interval '1 second')"
		" ORDER BY t.id LIMIT $2::int";
	char iv[24], lim[24];
	const char *params[2] = { iv, lim };
	PGresult *res = NULL;
	enum db_fault f;

	*n = 0;
	snprintf(iv, sizeof(iv), "%ld", q->cfg->notify.notify_interval);
	snprintf(lim, sizeof(lim), "%zu", max);
	f = queue_exec(q, sql, 2, params, &res, "looking for due digests");
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

/* queue_record - every outcome and log row of B in one statement */
enum db_fault queue_record(struct queue *q, struct batch *b)
{
	static const char sql[] =
		"WITH r AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[],"
		"  $5::int[], $6::text[], $7::int[])"
		"  AS r(job, destination, outcome, status, latency_ms, error, delay_s)),"
		" u AS (UPDATE beacon.notify_deliveries d SET"
		"  state = CASE WHEN r.outcome = 'sent' THEN 'sent'"
		"   WHEN r.outcome = 'dropped' THEN 'dropped'"
		"   WHEN j.created_at + $8::int * interval '1 second' <= now() THEN 'failed'"
		"   ELSE 'pending' END,"
		"  attempts = d.attempts + CASE WHEN r.outcome = 'dropped' THEN 0 ELSE 1 END,"
		"  next_at = CASE WHEN r.outcome = 'retry' THEN least("
		"   now() + r.delay_s * interval '1 second',"
		"   j.created_at + $8::int * interval '1 second') ELSE now() END,"
		"  last_status = CASE WHEN r.outcome = 'dropped' THEN d.last_status ELSE r.status END,"
		"  last_error = r.error,"
		"  latency_ms = CASE WHEN r.outcome = 'dropped' THEN d.latency_ms ELSE r.latency_ms END,"
		"  sent_at = CASE WHEN r.outcome = 'sent' THEN now() ELSE d.sent_at END"
		"  FROM r, beacon.notify_jobs j"
		"  WHERE d.job = r.job AND d.destination = r.destination AND j.id = r.job"
		"  AND d.state = 'pending'"
		"  RETURNING d.job, d.destination, d.attempts, r.outcome, r.status, r.latency_ms, r.error)"
		" INSERT INTO beacon.notify_log (job, destination, attempt, status, latency_ms, error)"
		" SELECT job, destination, attempts, status, latency_ms, error FROM u"
		" WHERE outcome <> 'dropped'";
	static const char *const names[] = { "sent", "retry", "dropped" };
	struct buf a[7] = { { 0 } };
	const char *params[8];
	char retry[24];
	enum db_fault f;

	if (b->n == 0)
		return DB_OK;
	for (int k = 0; k < 7; k++)
		buf_add(&a[k], "{", 1);
	for (size_t i = 0; i < b->n; i++) {
		const struct item *it = &b->items[i];

		queue_arr_num(&a[0], it->job, 0);
		queue_arr_num(&a[1], it->dest, 0);
		queue_arr_text(&a[2], names[it->outcome]);
		queue_arr_num(&a[3], it->status, it->status <= 0);
		queue_arr_num(&a[4], it->latency_ms, it->latency_ms < 0);
		queue_arr_text(&a[5], it->outcome == ITEM_DROPPED ? it->drop :
		    it->error[0] ? it->error : NULL);
		queue_arr_num(&a[6], it->outcome == ITEM_RETRY ? backoff_s(it->attempts + 1) : 0, 0);
	}
	for (int k = 0; k < 7; k++) {
		buf_add(&a[k], "}", 1);
		params[k] = buf_str(&a[k]);
	}
	snprintf(retry, sizeof(retry), "%ld", q->cfg->notify.retry_for);
	params[7] = retry;
	f = queue_exec(q, sql, 8, params, NULL, "recording deliveries");
	for (int k = 0; k < 7; k++)
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
