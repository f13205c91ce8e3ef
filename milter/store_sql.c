/*
 * NAME
 *	store_sql.c - write one message's rows in one bounded round trip
 *
 * DESCRIPTION
 *	See store_sql.h.  Values travel as statement parameters; the arrays
 *	are in PostgreSQL's array input syntax with every element quoted and
 *	escaped, which is data, never SQL.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "address.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store_sql.h"
#include "suppress.h"

#define STORE_SQL_NAME "beacon_milter_put"
#define STORE_SQL_NPARAMS 29

static const char store_sql_text[] =
	"WITH m AS ("
	" INSERT INTO beacon.messages (id, message_id, queue_id, sender, sasl_login, subject,"
	"  campaign, sent_at, client_ip, clicks, notify, recipients, size, sender_key, thread_root)"
	" VALUES ($1::uuid, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''),"
	"  NULLIF($6, ''), NULLIF($7, ''),"
	"  'epoch'::timestamptz + $8::bigint * interval '1 microsecond',"
	"  NULLIF($9, '')::inet, $10::boolean, $11::boolean, $12::int, $13::bigint,"
	"  NULLIF($28, ''), NULLIF($29, ''))"
	" ON CONFLICT DO NOTHING),"
	" r AS ("
	" INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token, name)"
	" SELECT t, $1::uuid, a, s, k, NULLIF(tk, ''), NULLIF(nm, '')"
	" FROM unnest($14::uuid[], $15::text[], $16::text[], $17::smallint[], $18::text[],"
	"  $19::text[]) AS x(t, a, s, k, tk, nm)"
	/* the rows of a split are written before its copies leave; when a copy then fails
	 * the message's rows are written again with the recipients left on the original */
	" ON CONFLICT (token_id) DO UPDATE SET status = EXCLUDED.status,"
	"  key_id = EXCLUDED.key_id, token = EXCLUDED.token"
	"  WHERE recipients.message = EXCLUDED.message),"
	" l AS ("
	" INSERT INTO beacon.links (message, n, url)"
	" SELECT $1::uuid, n, u FROM unnest($20::int[], $21::text[]) AS y(n, u)"
	" ON CONFLICT DO NOTHING),"
	" a AS ("
	" INSERT INTO beacon.attachments (message, id, name, content_type, size, expires_at,"
	"  storage_ref)"
	" SELECT $1::uuid, n, nm, ct, sz, 'epoch'::timestamptz + ex * interval '1 second', sr"
	" FROM unnest($22::int[], $23::text[], $24::text[], $25::bigint[], $26::bigint[],"
	"  $27::text[]) AS z(n, nm, ct, sz, ex, sr)"
	" ON CONFLICT DO NOTHING)"
	" SELECT 1";

/* store_sql_prepare - prepare the insert once per session */
int store_sql_prepare(PGconn *conn)
{
	PGresult *res = PQprepare(conn, STORE_SQL_NAME, store_sql_text, STORE_SQL_NPARAMS, NULL);
	int ok = db_ok(conn, res, "prepare");

	PQclear(res);
	if (ok && PQsetnonblocking(conn, 1) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* store_sql_array - {"a","b"} with \ and " escaped */
void store_sql_array(GString *out, const char *const *v, size_t n)
{
	g_string_append_c(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			g_string_append_c(out, ',');
		g_string_append_c(out, '"');
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(out, '\\');
			g_string_append_c(out, *p);
		}
		g_string_append_c(out, '"');
	}
	g_string_append_c(out, '}');
}

/* store_sql_wait - after a send that ended in F, read every result within DEADLINE; a
 * failure is logged after WHO and WHAT */
static enum store_sql_rc store_sql_wait(PGconn *conn, enum db_fault f, long long deadline,
					const char *who, const char *what)
{
	PGresult *res = NULL;
	const char *msg;
	int len;

	if (f == DB_OK)
		f = db_results(conn, deadline, &res);
	if (f == DB_TIMEOUT) {
		log_warnx("%s: database: no answer in time", who);
	} else if (f != DB_OK) {
		msg = db_error(conn, res, &len);
		log_warnx("%s: database %s: %s: %.*s", who, PQhost(conn) ? PQhost(conn) : "", what,
			  len, msg);
	}
	PQclear(res);
	return (enum store_sql_rc)f;
}

/* store_sql_run - send the prepared statement, read every result within the deadline;
 * a failure is logged after WHO */
static enum store_sql_rc store_sql_run(PGconn *conn, const char *const *vals, long long deadline,
				       const char *who)
{
	return store_sql_wait(conn, db_flush(conn, PQsendQueryPrepared(conn, STORE_SQL_NAME,
			STORE_SQL_NPARAMS, vals, NULL, NULL, 0), deadline), deadline, who,
			"insert message");
}

/* store_sql_write - one message: build the parameters, run the statement */
enum store_sql_rc store_sql_write(PGconn *conn, const struct msg_record *rec, int timeout_ms,
				  const char *who)
{
	const char *vals[STORE_SQL_NPARAMS];
	char sent[32], nrcpt[16], size[32], skey[ADDRESS_SIZE];
	GString *arr[14];
	GPtrArray *col[14];
	enum store_sql_rc rc;
	guint nr = rec->rcpts->len, nl = rec->links->len, na = rec->atts->len;

	snprintf(sent, sizeof(sent), "%" G_GINT64_FORMAT, (gint64)rec->sent_at);
	snprintf(nrcpt, sizeof(nrcpt), "%d", rec->recipients);
	snprintf(size, sizeof(size), "%" G_GINT64_FORMAT, (gint64)rec->size);
	vals[0] = rec->id;
	vals[1] = rec->message_id;
	vals[2] = rec->queue_id;
	vals[3] = rec->sender;
	vals[4] = rec->sasl_login;
	vals[5] = rec->subject;
	vals[6] = rec->campaign;
	vals[7] = sent;
	vals[8] = rec->client_ip;
	vals[9] = rec->clicks ? "true" : "false";
	vals[10] = rec->notify ? "true" : "false";
	vals[11] = nrcpt;
	vals[12] = size;
	/* the sender as the suppression list compares it (beacon.unsubscribe() scopes by it) */
	if (suppress_sender_key(rec->sender, skey, sizeof(skey)) < 0)
		skey[0] = '\0';
	vals[27] = skey;
	vals[28] = rec->thread_root;
	for (int c = 0; c < 14; c++)
		col[c] = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < nr; i++) {
		const struct rec_rcpt *x = &g_array_index(rec->rcpts, struct rec_rcpt, i);
		g_ptr_array_add(col[0], g_strdup(x->token_id));
		g_ptr_array_add(col[1], g_strdup(x->address));
		g_ptr_array_add(col[2], g_strdup(x->status));
		g_ptr_array_add(col[3], g_strdup_printf("%u", x->key_id));
		g_ptr_array_add(col[4], g_strdup(x->token));
		g_ptr_array_add(col[5], g_strdup(x->name));
	}
	for (guint i = 0; i < nl; i++) {
		const struct rec_link *l = &g_array_index(rec->links, struct rec_link, i);
		g_ptr_array_add(col[6], g_strdup_printf("%d", l->n));
		g_ptr_array_add(col[7], g_strdup(l->url));
	}
	for (guint i = 0; i < na; i++) {
		const struct rec_att *a = &g_array_index(rec->atts, struct rec_att, i);
		g_ptr_array_add(col[8], g_strdup_printf("%d", a->n));
		g_ptr_array_add(col[9], g_strdup(a->name));
		g_ptr_array_add(col[10], g_strdup(a->content_type));
		g_ptr_array_add(col[11], g_strdup_printf("%" G_GINT64_FORMAT, (gint64)a->size));
		g_ptr_array_add(col[12], g_strdup_printf("%" G_GINT64_FORMAT, (gint64)a->expires_at));
		g_ptr_array_add(col[13], g_strdup(a->storage_ref));
	}
	for (int c = 0; c < 14; c++) {
		arr[c] = g_string_new(NULL);
		store_sql_array(arr[c], (const char *const *)col[c]->pdata, col[c]->len);
		vals[13 + c] = arr[c]->str;
	}
	rc = store_sql_run(conn, vals, clock_after_ms(timeout_ms), who);
	for (int c = 0; c < 14; c++) {
		g_string_free(arr[c], TRUE);
		g_ptr_array_free(col[c], TRUE);
	}
	return rc;
}

/* store_sql_call - run TEXT (a call of a beacon function, not prepared, so that a database
 * without the function leaves the other statements working: the call fails and waits in the
 * spool) with N parameters VALS within TIMEOUT_MS; a failure is logged after WHO and WHAT */
static enum store_sql_rc store_sql_call(PGconn *conn, const char *text, int n,
					const char *const *vals, int timeout_ms, const char *who,
					const char *what)
{
	long long deadline = clock_after_ms(timeout_ms);

	return store_sql_wait(conn, db_flush(conn, PQsendQueryParams(conn, text, n, NULL, vals,
								     NULL, NULL, 0), deadline),
			      deadline, who, what);
}

/* the bounces of one report: beacon.bounce (008_bounces.sql) finds each recipient's row (by
 * Message-ID only for a report from a trusted client) and writes its bounce, event and, for a
 * dead address, suppression; it answers nothing; not prepared, so that a database without it
 * leaves the messages' statement working (the call fails and waits in the spool) */
static const char store_sql_bounce_text[] =
	"SELECT beacon.bounce($1::uuid, 'epoch'::timestamptz + $2::bigint * interval '1 microsecond',"
	" NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, '')::uuid, $6::boolean, $7::text[],"
	" $8::text[], $9::text[], $10::boolean[], $11::boolean[], $12::text[])";
#define STORE_SQL_BOUNCE_NPARAMS 12
#define STORE_SQL_BOUNCE_NCOLS 6

/* store_sql_bounce - one report: build the parameters, run the call */
enum store_sql_rc store_sql_bounce(PGconn *conn, const struct bounce_record *b, int timeout_ms,
				   const char *who)
{
	const char *vals[STORE_SQL_BOUNCE_NPARAMS];
	char at[32];
	GString *arr[STORE_SQL_BOUNCE_NCOLS];
	GPtrArray *col[STORE_SQL_BOUNCE_NCOLS];
	enum store_sql_rc f;

	snprintf(at, sizeof(at), "%" G_GINT64_FORMAT, (gint64)b->at);
	vals[0] = b->id;
	vals[1] = at;
	vals[2] = b->dsn_message_id;
	vals[3] = b->message_id;
	vals[4] = b->token_id;
	vals[5] = b->trusted ? "true" : "false";
	for (int c = 0; c < STORE_SQL_BOUNCE_NCOLS; c++)
		col[c] = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < b->rcpts->len; i++) {
		const struct bounce_rcpt *r = &g_array_index(b->rcpts, struct bounce_rcpt, i);
		g_ptr_array_add(col[0], g_strdup(r->original));
		g_ptr_array_add(col[1], g_strdup(r->final));
		g_ptr_array_add(col[2], g_strdup(r->status));
		g_ptr_array_add(col[3], g_strdup(r->hard ? "t" : "f"));
		g_ptr_array_add(col[4], g_strdup(r->dead ? "t" : "f"));
		g_ptr_array_add(col[5], g_strdup(r->diagnostic));
	}
	for (int c = 0; c < STORE_SQL_BOUNCE_NCOLS; c++) {
		arr[c] = g_string_new(NULL);
		store_sql_array(arr[c], (const char *const *)col[c]->pdata, col[c]->len);
		vals[6 + c] = arr[c]->str;
	}
	f = store_sql_call(conn, store_sql_bounce_text, STORE_SQL_BOUNCE_NPARAMS, vals, timeout_ms,
			   who, "record bounces");
	for (int c = 0; c < STORE_SQL_BOUNCE_NCOLS; c++) {
		g_string_free(arr[c], TRUE);
		g_ptr_array_free(col[c], TRUE);
	}
	return f;
}

/* STORE_SQL_AT - microseconds since the epoch as a timestamptz expression of parameter N */
#define STORE_SQL_AT(n) "'epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond'"

/* beacon.inbound_mail (011_inbound.sql): one row per active tracked address, its source
 * from the rules; answers the rows inserted */
static const char store_sql_inbound_text[] =
	"SELECT beacon.inbound_mail(" STORE_SQL_AT(1) ", $2::text[], NULLIF($3, ''),"
	" NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''), NULLIF($8, ''),"
	" $9::bigint, $10::boolean, NULLIF($11, ''))";

/* store_sql_inbound - one received message to tracked addresses */
enum store_sql_rc store_sql_inbound(PGconn *conn, const struct inbound_record *r, int timeout_ms,
				   const char *who)
{
	char at[32], size[32];
	GString *addrs = g_string_new(NULL);
	const char *vals[11];
	enum store_sql_rc rc;

	snprintf(at, sizeof(at), "%" G_GINT64_FORMAT, (gint64)r->at);
	snprintf(size, sizeof(size), "%" G_GINT64_FORMAT, (gint64)r->size);
	store_sql_array(addrs, (const char *const *)r->addresses->pdata, r->addresses->len);
	vals[0] = at;
	vals[1] = addrs->str;
	vals[2] = r->message_id;
	vals[3] = r->sender_domain;
	vals[4] = r->from;
	vals[5] = r->reply_to;
	vals[6] = r->list_id;
	vals[7] = r->subject;
	vals[8] = size;
	vals[9] = r->forward ? "true" : "false";
	vals[10] = r->queue_id;
	rc = store_sql_call(conn, store_sql_inbound_text, 11, vals, timeout_ms, who,
			    "record inbound mail");
	g_string_free(addrs, TRUE);
	return rc;
}

/* beacon.reply (012_replies.sql): the tracked messages REFS name, the recipient among FROM */
static const char store_sql_reply_text[] =
	"SELECT beacon.reply(" STORE_SQL_AT(1) ", $2::text[], $3::text[], $4, NULLIF($5, ''))";

/* store_sql_reply - one reply */
enum store_sql_rc store_sql_reply(PGconn *conn, const struct reply_record *r, int timeout_ms,
				  const char *who)
{
	char at[32];
	GString *refs = g_string_new(NULL), *from = g_string_new(NULL);
	const char *vals[5];
	enum store_sql_rc rc;

	snprintf(at, sizeof(at), "%" G_GINT64_FORMAT, (gint64)r->at);
	store_sql_array(refs, (const char *const *)r->refs->pdata, r->refs->len);
	store_sql_array(from, (const char *const *)r->from->pdata, r->from->len);
	vals[0] = at;
	vals[1] = refs->str;
	vals[2] = from->str;
	vals[3] = r->message_id;
	vals[4] = r->queue_id;
	rc = store_sql_call(conn, store_sql_reply_text, 5, vals, timeout_ms, who, "record reply");
	g_string_free(refs, TRUE);
	g_string_free(from, TRUE);
	return rc;
}

/* the functions [milter] inbound calls, and whether this role may call them */
static const char store_sql_inbound_ready_text[] =
	"SELECT f, CASE WHEN to_regprocedure(f) IS NULL THEN 'missing'"
	" WHEN NOT has_function_privilege(to_regprocedure(f), 'EXECUTE') THEN 'not granted'"
	" ELSE '' END"
	" FROM unnest(ARRAY['beacon.inbound_mail(timestamptz, text[], text, text, text, text,"
	" text, text, bigint, boolean, text)',"
	" 'beacon.reply(timestamptz, text[], text[], text, text)']) AS f";

/* store_sql_inbound_ready - can CONN's role call them? */
int store_sql_inbound_ready(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, store_sql_inbound_ready_text);
	int rc = 1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "cannot look up the inbound functions: %s",
			 PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res) && rc == 1; i++) {
		if (!*PQgetvalue(res, i, 1))
			continue;
		snprintf(err, errlen, "[milter] inbound = yes needs %s, which is %s for this "
			 "role (schema 011/012 missing or not granted: run beaconctl migrate)",
			 PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		rc = 0;
	}
	PQclear(res);
	return rc;
}
