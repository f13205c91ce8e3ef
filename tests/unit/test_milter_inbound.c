/*
 * test_milter_inbound.c - milter/inbound.c, inbound_set.c and the inbound and reply
 * records, against a throwaway PostgreSQL with the Beacon schema.
 *
 * DESCRIPTION
 *	A forwarded lead (tests/fixtures/forward/gmail.eml) to one tracked
 *	and one untracked recipient: end of headers keeps its body although
 *	the header check would pass it, the record names only the tracked
 *	address and, from a known forwarder only, the original sender.  A
 *	forward as attachment counts by the forwarded Message-ID; a long
 *	Subject and List-Id are cut; a large lead keeps 256 KB of text and
 *	its whole size.  A reply's record lists In-Reply-To then References
 *	newest first; automatic answers have none; one without Message-ID
 *	has one with an empty Message-ID.  Both records survive the spool.
 *	Then the real stack: the set loads beacon.tracked_inbound and
 *	follows a change within a second or two (NOTIFY beacon_inbound, the
 *	machinery of the suppression list); the store spools the lead and
 *	the reply (whatever the database's state and on_db_error, without
 *	marking it down) and its replay, or its thread within a second,
 *	writes them through beacon.inbound_mail() (one row, the source from
 *	a rule, once only when written again) and beacon.reply() (one
 *	replies row and one reply event for the recipient's token).  The
 *	start-up check names a missing or ungranted inbound function.
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
#include <glib.h>
#include <gmime/gmime.h>
#include <libpq-fe.h>

#include "callbacks.h"
#include "cfg.h"
#include "clock.h"
#include "inbound.h"
#include "inbound_record.h"
#include "inbound_set.h"
#include "msgctx.h"
#include "record.h"
#include "store.h"
#include "store_sql.h"
#include "track.h"

#include "db_throwaway.h"

#define LEAD "lyon@leads.beacon.example"

/* fixture - a fixture's text */
static char *fixture(const char *name, gsize *len)
{
	const char *src = getenv("BEACON_SRC");
	char *path = g_strdup_printf("%s/tests/fixtures/forward/%s.eml", src ? src : ".", name);
	char *data = NULL;

	if (!g_file_get_contents(path, &data, len, NULL))
		fail_msg("cannot read %s", path);
	g_free(path);
	return data;
}

/* crlf_extra - the line ends of TEXT: what CRLF adds to its length */
static gsize crlf_extra(const char *text)
{
	gsize n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* feed_head - the envelope and the headers of TEXT (LF line ends) into C, as the callbacks
 * hand them over; the body of TEXT is returned */
static const char *feed_head(struct conn_ctx *c, const char *sender, const char *const *rcpts,
			     const char *text)
{
	const char *body = strstr(text, "\n\n");
	char **lines, *hdrs;

	msg_begin(c, sender, NULL);
	msg_set_queue_id(c->msg, "QIN");
	for (; *rcpts; rcpts++)
		msg_add_rcpt(c->msg, *rcpts, NULL);
	assert_non_null(body);
	hdrs = g_strndup(text, (gsize)(body - text));
	lines = g_strsplit(hdrs, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *colon;
		GString *v;
		if (!**l || **l == ' ' || **l == '\t')
			continue;
		colon = strchr(*l, ':');
		assert_non_null(colon);
		v = g_string_new(colon[1] == ' ' ? colon + 2 : colon + 1);
		/* folded lines join the value, folds kept as the MTA gives them */
		for (char **k = l + 1; *k && (**k == ' ' || **k == '\t'); k++)
			g_string_append_printf(v, "\r\n%s", *k);
		*colon = '\0';
		msg_add_header(c->msg, *l, v->str, 1 << 20);
		g_string_free(v, TRUE);
	}
	g_strfreev(lines);
	g_free(hdrs);
	return body + 2;
}

/* feed_body - BODY (LF line ends) into C with CRLF */
static void feed_body(struct conn_ctx *c, const char *body)
{
	GString *b = g_string_new(NULL);

	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			g_string_append_c(b, '\r');
		g_string_append_c(b, *p);
	}
	assert_int_equal(msg_add_body(c->msg, (const unsigned char *)b->str, b->len, 1 << 20), 0);
	g_string_free(b, TRUE);
}

static struct beacon_cfg cfg;		/* defaults, inbound = yes */
static struct milter_env env;		/* no store, no trust: nobody may ask for tracking */

/* forwarders - [milter] inbound_forwarders = LIST (one item, or "" for none) */
static void forwarders(const char *list)
{
	for (size_t i = 0; i < cfg.milter.inbound_forwarders.n; i++)
		free(cfg.milter.inbound_forwarders.v[i]);
	free(cfg.milter.inbound_forwarders.v);
	cfg.milter.inbound_forwarders.v = NULL;
	cfg.milter.inbound_forwarders.n = 0;
	if (*list) {
		cfg.milter.inbound_forwarders.v = calloc(1, sizeof(char *));
		cfg.milter.inbound_forwarders.v[0] = strdup(list);
		cfg.milter.inbound_forwarders.n = 1;
	}
}

/* env_with - ENV with a set of the N addresses ADDRS (inbound_set_stop it) */
static struct inbound_set *env_with(const char *const *addrs, size_t n)
{
	struct inbound_set *s = inbound_set_new(&cfg);

	inbound_set_set(s, inbound_list_new(addrs, n));
	env = (struct milter_env){ &cfg, NULL, "https://t.example.com/p.gif", NULL, NULL, NULL, s };
	return s;
}

/* test_lead - a forwarded lead to a tracked and an untracked address */
static void test_lead(void **state)
{
	static const char *const tracked[] = { "LYON@Leads.Beacon.Example", "bordeaux@leads.beacon.example" };
	static const char *const rcpts[] = { "<lyon@leads.beacon.example>", "<someone@else.example>",
					     "<Lyon@LEADS.beacon.example>", NULL };
	static const char *const others[] = { "<someone@else.example>", NULL };
	struct inbound_set *s = env_with(tracked, 2);
	struct conn_ctx *c = conn_new();
	gsize len;
	char *text = fixture("gmail", &len);
	const char *body = feed_head(c, "paul.martin@gmail.example", rcpts, text);
	const char *why = NULL;
	struct inbound_record *r, *back;
	GBytes *b;
	(void)state;

	/* the header check alone would pass it (not a trusted submission): the body is read */
	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), 0);
	assert_non_null(c->msg->inbound_only);
	assert_int_equal(c->msg->skip_body, 0);
	assert_non_null(c->msg->inbound);
	assert_int_equal(c->msg->inbound->len, 1);
	assert_string_equal(g_ptr_array_index(c->msg->inbound, 0), LEAD);
	assert_int_equal(c->msg->maybe_reply, 0);
	feed_body(c, body);

	/* a forward from anybody is not believed: the forwarder is the sender */
	r = inbound_record_of(&cfg, c->msg, "paul.martin@gmail.example");
	assert_non_null(r);
	assert_false(r->forward);
	assert_string_equal(r->from, "paul.martin@gmail.example");
	assert_string_equal(r->sender_domain, "gmail.example");
	inbound_record_free(r);
	/* from a known forwarder (a rule, as internal_domains, SASL or a trusted client) */
	assert_int_equal(inbound_forwarder(&cfg, c->msg, "paul.martin@gmail.example"), 0);
	forwarders("@gmail.example");
	assert_int_equal(inbound_forwarder(&cfg, c->msg, "paul.martin@gmail.example"), 1);
	assert_int_equal(inbound_forwarder(&cfg, c->msg, "paul.martin@evil.example"), 0);
	forwarders("");
	c->msg->trusted = 1;
	assert_int_equal(inbound_forwarder(&cfg, c->msg, "paul.martin@evil.example"), 1);
	r = inbound_record_of(&cfg, c->msg, "paul.martin@gmail.example");
	c->msg->trusted = 0;
	assert_non_null(r);
	assert_int_equal(r->addresses->len, 1);
	assert_string_equal(g_ptr_array_index(r->addresses, 0), LEAD);
	assert_true(r->forward);
	assert_string_equal(r->from, "contact-pro@leads.seloger.example");
	assert_string_equal(r->sender_domain, "leads.seloger.example");
	assert_string_equal(r->reply_to, "");
	assert_string_equal(r->list_id, "");
	assert_string_equal(r->subject, "Fwd: Nouveau contact pour votre annonce 123456");
	assert_string_equal(r->message_id, "CAHx3=Q1kZr8mW+9c6_f2vVd0Yw@mail.gmail.com");
	assert_string_equal(r->queue_id, "QIN");
	/* the fixture as SMTP carries it: CRLF line ends */
	assert_int_equal(r->size, len + crlf_extra(text));

	/* the spool form */
	b = inbound_record_encode(r);
	back = inbound_record_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	assert_non_null(back);
	assert_int_equal(back->at, r->at);
	assert_int_equal(back->addresses->len, 1);
	assert_string_equal(g_ptr_array_index(back->addresses, 0), LEAD);
	assert_string_equal(back->from, r->from);
	assert_string_equal(back->subject, r->subject);
	assert_string_equal(back->message_id, r->message_id);
	assert_int_equal(back->size, r->size);
	assert_int_equal(back->forward, 1);
	assert_null(reply_record_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b)));
	g_bytes_unref(b);
	inbound_record_free(back);
	inbound_record_free(r);
	msg_reset(c);

	/* no tracked recipient: passed at end of headers, nothing to record */
	feed_head(c, "paul.martin@gmail.example", others, text);
	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), -1);
	assert_null(c->msg->inbound);
	assert_null(inbound_record_of(&cfg, c->msg, NULL));
	conn_free(c);
	g_free(text);
	inbound_set_stop(s);
}

/* test_lead_rfc822 - a forward as attachment counts by the forwarded message's Message-ID
 * (a copy of it to the same address counts once); a long Subject and List-Id are cut */
static void test_lead_rfc822(void **state)
{
	static const char *const tracked[] = { "bordeaux@leads.beacon.example" };
	static const char *const rcpts[] = { "<bordeaux@leads.beacon.example>", NULL };
	struct inbound_set *s = env_with(tracked, 1);
	struct conn_ctx *c = conn_new();
	gsize len;
	char *text = fixture("rfc822", &len), *t;
	const char *why = NULL, *body = feed_head(c, "marie.leroy@agence-martin.example", rcpts,
						  text);
	struct inbound_record *r;
	GString *big = g_string_new(NULL);
	(void)state;

	callbacks_end_headers(&env, c->msg, &why);
	feed_body(c, body);
	c->msg->trusted = 1;
	r = inbound_record_of(&cfg, c->msg, "marie.leroy@agence-martin.example");
	assert_non_null(r);
	assert_true(r->forward);
	assert_string_equal(r->from, "estimation@mailer.meilleursagents.example");
	assert_string_equal(r->message_id, "est-889900@mailer.meilleursagents.example");
	inbound_record_free(r);
	/* not believed: its own */
	c->msg->trusted = 0;
	r = inbound_record_of(&cfg, c->msg, "marie.leroy@agence-martin.example");
	assert_false(r->forward);
	assert_string_equal(r->message_id, "a1b2c3d4e5@agence-martin.example");
	inbound_record_free(r);
	msg_reset(c);

	/* a Subject and a List-Id of 3000 characters (two octets each): 998 kept */
	for (int i = 0; i < 3000; i++)
		g_string_append(big, "\xc3\xa9");
	t = g_strdup_printf("From: a@portal.example\nSubject: %s\nList-Id: <%s>\n"
			    "Content-Type: text/plain\n\nhello\n", big->str, big->str);
	body = feed_head(c, "a@portal.example", rcpts, t);
	callbacks_end_headers(&env, c->msg, &why);
	feed_body(c, body);
	r = inbound_record_of(&cfg, c->msg, "a@portal.example");
	assert_non_null(r);
	assert_int_equal(g_utf8_strlen(r->subject, -1), INBOUND_TEXT_MAX);
	assert_int_equal(strlen(r->subject), 2 * INBOUND_TEXT_MAX);
	assert_int_equal(g_utf8_strlen(r->list_id, -1), INBOUND_TEXT_MAX);
	inbound_record_free(r);
	g_free(t);
	g_string_free(big, TRUE);
	conn_free(c);
	g_free(text);
	inbound_set_stop(s);
}

/* test_lead_big - a lead read only to record it keeps INBOUND_TEXT_KEEP octets of its text
 * (the forward block is at its beginning) and counts its whole size */
static void test_lead_big(void **state)
{
	static const char *const tracked[] = { LEAD };
	static const char *const rcpts[] = { "<" LEAD ">", NULL };
	struct inbound_set *s = env_with(tracked, 1);
	struct conn_ctx *c = conn_new();
	gsize len;
	char *text = fixture("gmail", &len);
	const char *why = NULL, *body = feed_head(c, "paul.martin@gmail.example", rcpts, text);
	GString *crlf = g_string_new(NULL);
	static unsigned char pad[64 << 10];
	struct inbound_record *r;
	size_t total;
	(void)state;

	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), 0);
	assert_non_null(c->msg->inbound_only);
	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			g_string_append_c(crlf, '\r');
		g_string_append_c(crlf, *p);
	}
	msg_add_body_head(c->msg, (const unsigned char *)crlf->str, crlf->len, INBOUND_TEXT_KEEP);
	memset(pad, 'x', sizeof(pad));
	for (int i = 0; i < 64; i++)	/* 4 MB more */
		msg_add_body_head(c->msg, pad, sizeof(pad), INBOUND_TEXT_KEEP);
	total = c->msg->body_off + crlf->len + 64 * sizeof(pad);
	assert_int_equal(c->msg->text->len, INBOUND_TEXT_KEEP);
	c->msg->trusted = 1;
	r = inbound_record_of(&cfg, c->msg, "paul.martin@gmail.example");
	assert_non_null(r);
	assert_true(r->forward);
	assert_string_equal(r->from, "contact-pro@leads.seloger.example");
	assert_int_equal(r->size, total);
	inbound_record_free(r);
	g_string_free(crlf, TRUE);
	conn_free(c);
	g_free(text);
	inbound_set_stop(s);
}

/* REPLY - a reply to a tracked message, its thread in References oldest first */
#define REPLY "From: Anna <A@X.Example>\n" \
	"To: sales@shop.example\n" \
	"Subject: Re: offer\n" \
	"Message-ID: <reply-1@x.example>\n" \
	"In-Reply-To: <offer-2@shop.example>\n" \
	"References: <offer-1@shop.example>\n <offer-2@shop.example>\n" \
	"Content-Type: text/plain\n\nYes please.\n"

/* test_reply - the reply record: In-Reply-To, then References newest first, each once */
static void test_reply(void **state)
{
	static const char *const rcpts[] = { "<sales@shop.example>", NULL };
	struct inbound_set *s = env_with(NULL, 0);
	struct conn_ctx *c = conn_new();
	const char *why = NULL, *body = feed_head(c, "bounces+a=x.example@mailer.x.example", rcpts,
						  REPLY);
	struct reply_record *r, *back;
	GBytes *b;
	(void)state;

	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), -1);
	assert_int_equal(c->msg->maybe_reply, 1);
	feed_body(c, body);
	r = inbound_reply_of(c->msg, "a@x.example");
	assert_non_null(r);
	assert_int_equal(r->refs->len, 2);
	assert_string_equal(g_ptr_array_index(r->refs, 0), "offer-2@shop.example");
	assert_string_equal(g_ptr_array_index(r->refs, 1), "offer-1@shop.example");
	assert_int_equal(r->from->len, 2);
	assert_string_equal(g_ptr_array_index(r->from, 0), "a@x.example");
	assert_string_equal(g_ptr_array_index(r->from, 1), "bounces+a=x.example@mailer.x.example");
	assert_string_equal(r->message_id, "reply-1@x.example");
	b = reply_record_encode(r);
	back = reply_record_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	assert_non_null(back);
	assert_int_equal(back->refs->len, 2);
	assert_string_equal(g_ptr_array_index(back->refs, 1), "offer-1@shop.example");
	assert_string_equal(g_ptr_array_index(back->from, 0), "a@x.example");
	assert_string_equal(back->message_id, "reply-1@x.example");
	assert_null(inbound_record_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b)));
	g_bytes_unref(b);
	reply_record_free(back);
	reply_record_free(r);
	msg_reset(c);

	/* no Message-ID of its own: recorded, the database tells a replay by the queue id */
	{
		char *t = g_strdup(REPLY);
		char *mid = strstr(t, "Message-ID:");
		mid[0] = 'X';
		feed_head(c, "a@x.example", rcpts, t);
		r = inbound_reply_of(c->msg, "a@x.example");
		assert_non_null(r);
		assert_string_equal(r->message_id, "");
		assert_string_equal(r->queue_id, "QIN");
		reply_record_free(r);
		msg_reset(c);
		g_free(t);
	}
	/* automatic answers (RFC 3834) are no replies; Auto-Submitted: no is a person's */
	{
		static const char *const autos[] = {
			"Auto-Submitted: auto-replied\n", "Auto-Submitted: auto-generated; x=y\n",
			"X-Autoreply: yes\n", "X-Autorespond: yes\n", "Precedence: bulk\n",
			"Precedence: Auto_Reply\n", "Precedence: junk\n", "Precedence: list\n",
		};
		for (size_t i = 0; i < G_N_ELEMENTS(autos); i++) {
			char *t = g_strconcat(autos[i], REPLY, NULL);
			feed_head(c, "a@x.example", rcpts, t);
			if (inbound_reply_of(c->msg, "a@x.example"))
				fail_msg("%s: recorded as a reply", autos[i]);
			msg_reset(c);
			g_free(t);
		}
		feed_head(c, "", rcpts, REPLY);
		assert_null(inbound_reply_of(c->msg, "a@x.example"));
		msg_reset(c);
		{
			char *t = g_strconcat("Auto-Submitted: no\nPrecedence: first-class\n", REPLY,
					      NULL);
			feed_head(c, "a@x.example", rcpts, t);
			r = inbound_reply_of(c->msg, "a@x.example");
			assert_non_null(r);
			reply_record_free(r);
			g_free(t);
		}
	}
	conn_free(c);
	inbound_set_stop(s);
}

/* db_exec - run SQL on the throwaway cluster, answer the first value (g_free) */
static char *db_exec(const char *sql)
{
	PGconn *c = PQconnectdb(db_cluster.conninfo);
	PGresult *res = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return v;
}

/* db_is - the first value of SQL is WANT */
static void db_is(const char *sql, const char *want)
{
	char *v = db_exec(sql);

	if (!v || strcmp(v, want) != 0)
		fail_msg("%s: want %s, got %s", sql, want, v ? v : "(null)");
	g_free(v);
}

/* wait_for - the first value of SQL becomes WANT within 5 s */
static void wait_for(const char *sql, const char *want)
{
	long long until = clock_now_ms() + 5000;
	char *v = NULL;

	while (clock_now_ms() < until) {
		g_free(v);
		v = db_exec(sql);
		if (v && strcmp(v, want) == 0)
			break;
		g_usleep(100000);
	}
	if (!v || strcmp(v, want) != 0)
		fail_msg("%s: want %s within 5 s, got %s", sql, want, v ? v : "(null)");
	g_free(v);
}

/* test_db_set - the set loads the table and follows a change (NOTIFY beacon_inbound) */
static void test_db_set(void **state)
{
	struct beacon_cfg c;
	struct inbound_set *s;
	struct inbound_list *l;
	long long until;
	int seen = 0;
	(void)state;

	g_free(db_exec("INSERT INTO beacon.tracked_inbound (address, point_of_sale) VALUES "
		       "('lyon@leads.beacon.example', 'Lyon'), "
		       "('old@leads.beacon.example', 'Old')"));
	g_free(db_exec("UPDATE beacon.tracked_inbound SET active = false "
		       "WHERE address = 'old@leads.beacon.example'"));
	cfg_defaults(&c);
	free(c.database.conninfo);
	c.database.conninfo = strdup(db_cluster.conninfo);
	c.milter.inbound_refresh = 60;
	s = inbound_set_new(&c);
	assert_int_equal(inbound_set_start(s), 0);
	l = inbound_set_get(s);
	assert_int_equal(inbound_list_size(l), 1);
	assert_true(inbound_list_has(l, LEAD));
	assert_false(inbound_list_has(l, "old@leads.beacon.example"));
	inbound_list_unref(l);
	g_free(db_exec("INSERT INTO beacon.tracked_inbound (address, point_of_sale) VALUES "
		       "('bordeaux@leads.beacon.example', 'Bordeaux')"));
	/* the timed reload is a minute away: only the notification brings it this soon */
	until = clock_now_ms() + 5000;
	while (!seen && clock_now_ms() < until) {
		l = inbound_set_get(s);
		seen = inbound_list_has(l, "bordeaux@leads.beacon.example");
		inbound_list_unref(l);
		if (!seen)
			g_usleep(50000);
	}
	assert_true(seen);
	inbound_set_stop(s);
	cfg_free(&c);
}

/* store_on - a store with spool in DIR on CONNINFO */
static struct store *store_on(struct beacon_cfg *c, const char *dir, const char *conninfo)
{
	char err[256];
	struct store *st;

	cfg_defaults(c);
	free(c->database.conninfo);
	c->database.conninfo = strdup(conninfo);
	free(c->milter.spool_dir);
	c->milter.spool_dir = strdup(dir);
	c->database.connect_timeout = 2;
	st = store_new(c, err, sizeof(err));
	if (!st)
		fail_msg("store_new: %s", err);
	return st;
}

/* lead - the record of the Gmail fixture to LEAD */
static struct inbound_record *lead(void)
{
	static const char *const tracked[] = { LEAD };
	static const char *const rcpts[] = { "<" LEAD ">", NULL };
	struct inbound_set *s = env_with(tracked, 1);
	struct conn_ctx *c = conn_new();
	gsize len;
	char *text = fixture("gmail", &len);
	const char *why, *body = feed_head(c, "paul.martin@gmail.example", rcpts, text);
	struct inbound_record *r;

	callbacks_end_headers(&env, c->msg, &why);
	feed_body(c, body);
	c->msg->trusted = 1;	/* the forward is believed */
	r = inbound_record_of(&cfg, c->msg, "paul.martin@gmail.example");
	conn_free(c);
	g_free(text);
	inbound_set_stop(s);
	return r;
}

/* reply - the record of REPLY */
static struct reply_record *reply(void)
{
	static const char *const rcpts[] = { "<sales@shop.example>", NULL };
	struct inbound_set *s = env_with(NULL, 0);
	struct conn_ctx *c = conn_new();
	const char *why, *body = feed_head(c, "a@x.example", rcpts, REPLY);
	struct reply_record *r;

	callbacks_end_headers(&env, c->msg, &why);
	feed_body(c, body);
	r = inbound_reply_of(c->msg, "a@x.example");
	conn_free(c);
	inbound_set_stop(s);
	return r;
}

/* offer - the rows of the tracked message offer-2@shop.example to a@x.example (token) and
 * b@x.example */
static struct msg_record *offer(void)
{
	struct msg_record *r = record_new();

	record_set(&r->message_id, "offer-2@shop.example");
	record_set(&r->sender, "sales@shop.example");
	record_set(&r->queue_id, "QOFFER");
	r->recipients = 2;
	record_add_rcpt(r, "11111111-2222-4333-8444-555555555555", "a@x.example", "tracked", 1,
			"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob", "Anna");
	record_add_rcpt(r, "11111111-2222-4333-8444-666666666666", "b@x.example", "tracked", 1,
			"ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5_", "");
	return r;
}

/* test_db_store - the lead and the reply written through the schema's functions, once;
 * with the database down, spooled and replayed */
static void test_db_store(void **state)
{
	char *dir = g_dir_make_tmp("beacon-inbound-XXXXXX", NULL);
	struct inbound_record *in = lead();
	struct reply_record *y = reply();
	struct msg_record *m = offer();
	struct beacon_cfg c;
	struct store *st;
	char *cmd;
	(void)state;

	g_free(db_exec("INSERT INTO beacon.inbound_sources (field, pattern, source) VALUES "
		       "('domain', 'seloger.example', 'SeLoger')"));
	st = store_on(&c, dir, db_cluster.conninfo);
	assert_int_equal(store_put(st, m, "QOFFER"), STORE_OK);
	/* received mail never waits for the database: spooled, written by the replay */
	assert_int_equal(store_put_inbound(st, in, "QIN"), STORE_SPOOLED);
	assert_int_equal(store_put_inbound(st, in, "QIN"), STORE_SPOOLED);
	db_is("SELECT count(*) FROM beacon.inbound", "0");
	assert_int_equal(store_replay_now(st), 2);
	db_is("SELECT count(*) FROM beacon.inbound", "1");
	db_is("SELECT address || ' ' || point_of_sale || ' ' || source || ' ' || sender_domain "
	      "|| ' ' || forward || ' ' || message_id || ' ' || queue_id FROM beacon.inbound",
	      LEAD " Lyon SeLoger leads.seloger.example true "
	      "CAHx3=Q1kZr8mW+9c6_f2vVd0Yw@mail.gmail.com QIN");
	/* the background thread writes them within about a second */
	assert_int_equal(store_start(st), 0);
	assert_int_equal(store_put_reply(st, y, "QREPLY"), STORE_SPOOLED);
	assert_int_equal(store_put_reply(st, y, "QREPLY"), STORE_SPOOLED);
	wait_for("SELECT count(*) || ' ' || min(token_id::text) FROM beacon.replies",
		 "1 11111111-2222-4333-8444-555555555555");
	db_is("SELECT count(*) FROM beacon.events WHERE kind = 'reply' AND "
	      "token_id = '11111111-2222-4333-8444-555555555555'", "1");
	store_stop(st);
	cfg_free(&c);

	/* the database unreachable and on_db_error = tempfail: still spooled, and the store
	 * stays up for the tracked messages (it was never asked) */
	st = store_on(&c, dir, "host=127.0.0.1 port=1 dbname=none user=none");
	c.milter.on_db_error = CFG_DBERR_TEMPFAIL;
	assert_int_equal(store_put_inbound(st, in, "QIN"), STORE_SPOOLED);
	assert_int_equal(store_put_reply(st, y, "QREPLY"), STORE_SPOOLED);
	assert_true(store_is_up(st));
	store_stop(st);
	cfg_free(&c);
	st = store_on(&c, dir, db_cluster.conninfo);
	assert_int_equal(store_replay_now(st), 2);
	store_stop(st);
	cfg_free(&c);

	/* the database down: spooled; a store on the same spool replays them */
	g_free(db_exec("DELETE FROM beacon.inbound"));
	g_free(db_exec("DELETE FROM beacon.replies"));
	g_free(db_exec("DELETE FROM beacon.events WHERE kind = 'reply'"));
	st = store_on(&c, dir, "host=127.0.0.1 port=1 dbname=none user=none");
	assert_int_equal(store_put_inbound(st, in, "QIN"), STORE_SPOOLED);
	assert_int_equal(store_put_reply(st, y, "QREPLY"), STORE_SPOOLED);
	store_stop(st);
	cfg_free(&c);
	db_is("SELECT count(*) FROM beacon.inbound", "0");
	st = store_on(&c, dir, db_cluster.conninfo);
	assert_int_equal(store_replay_now(st), 2);
	store_stop(st);
	cfg_free(&c);
	db_is("SELECT count(*) FROM beacon.inbound WHERE source = 'SeLoger'", "1");
	db_is("SELECT count(*) FROM beacon.replies", "1");
	/* and its event, once */
	db_is("SELECT count(*) FROM beacon.events WHERE kind = 'reply' AND "
	      "token_id = '11111111-2222-4333-8444-555555555555'", "1");

	inbound_record_free(in);
	reply_record_free(y);
	record_free(m);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_db_long_id - an 8 kB Message-ID or reference counts as none, in the milter and in the
 * database (an index entry could not hold it): the lead is stored by its queue id, the reply
 * by its short reference; a record the database still refuses for a program limit (54000)
 * is logged and skipped, and the records behind it in the spool are written */
static void test_db_long_id(void **state)
{
	static const char *const tracked[] = { LEAD };
	static const char *const rcpts[] = { "<" LEAD ">", NULL };
	char *dir = g_dir_make_tmp("beacon-inbound-XXXXXX", NULL);
	struct inbound_set *s = env_with(tracked, 1);
	struct conn_ctx *c = conn_new();
	GString *big = g_string_new(NULL);
	struct inbound_record *in;
	struct reply_record *y;
	struct beacon_cfg bc;
	struct store *st;
	const char *why, *body;
	char *text, *cmd;
	(void)state;

	/* random hex: the database cannot compress it under the index limit */
	while (big->len < 8000)
		g_string_append_printf(big, "%08x", g_random_int());
	text = g_strdup_printf("From: Anna <a@x.example>\nTo: " LEAD "\nSubject: long\n"
			       "Message-ID: <%s@x.example>\nIn-Reply-To: <%s@x.example>\n"
			       "References: <offer-2@shop.example>\n\nHi\n", big->str, big->str);
	body = feed_head(c, "a@x.example", rcpts, text);
	callbacks_end_headers(&env, c->msg, &why);
	feed_body(c, body);
	in = inbound_record_of(&cfg, c->msg, "a@x.example");
	assert_non_null(in);
	assert_string_equal(in->message_id, "");
	y = inbound_reply_of(c->msg, "a@x.example");
	assert_non_null(y);
	assert_int_equal(y->refs->len, 1);
	assert_string_equal(g_ptr_array_index(y->refs, 0), "offer-2@shop.example");
	assert_string_equal(y->message_id, "");

	st = store_on(&bc, dir, db_cluster.conninfo);
	assert_int_equal(store_put_inbound(st, in, "QIN"), STORE_SPOOLED);
	assert_int_equal(store_put_reply(st, y, "QIN"), STORE_SPOOLED);
	/* the same, as an older milter would send them: the database drops the long ids */
	record_set(&in->message_id, big->str);
	record_set(&in->queue_id, "QRAW");
	record_set(&y->message_id, big->str);
	record_set(&y->queue_id, "QRAW");
	g_ptr_array_insert(y->refs, 0, g_strdup(big->str));
	assert_int_equal(store_put_inbound(st, in, "QRAW"), STORE_SPOOLED);
	assert_int_equal(store_put_reply(st, y, "QRAW"), STORE_SPOOLED);
	assert_int_equal(store_replay_now(st), 4);
	db_is("SELECT count(*) FROM beacon.inbound WHERE message_id IS NULL AND "
	      "queue_id IN ('QIN', 'QRAW')", "2");
	db_is("SELECT count(*) FROM beacon.replies WHERE reply_message_id IN "
	      "('queue:QIN', 'queue:QRAW')", "2");

	/* a record refused for a program limit is skipped; the one behind it is written */
	g_free(db_exec("CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS "
		       "$$BEGIN RAISE EXCEPTION 'index row too big' USING ERRCODE = '54000'; END$$; "
		       "CREATE TRIGGER refuse BEFORE INSERT ON beacon.inbound FOR EACH ROW "
		       "WHEN (NEW.subject = 'refused') EXECUTE FUNCTION public.refuse()"));
	record_set(&in->message_id, "refused@x.example");
	record_set(&in->subject, "refused");
	assert_int_equal(store_put_inbound(st, in, "QREF1"), STORE_SPOOLED);
	record_set(&in->message_id, "after@x.example");
	record_set(&in->subject, "after");
	assert_int_equal(store_put_inbound(st, in, "QREF2"), STORE_SPOOLED);
	assert_int_equal(store_replay_now(st), 2);
	assert_int_equal(store_replay_now(st), 0);
	db_is("SELECT count(*) FROM beacon.inbound WHERE message_id = 'after@x.example'", "1");
	db_is("SELECT count(*) FROM beacon.inbound WHERE subject = 'refused'", "0");
	g_free(db_exec("DROP TRIGGER refuse ON beacon.inbound; DROP FUNCTION public.refuse()"));
	store_stop(st);
	cfg_free(&bc);

	inbound_record_free(in);
	reply_record_free(y);
	conn_free(c);
	inbound_set_stop(s);
	g_free(text);
	g_string_free(big, TRUE);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_db_abort - a reply the header check passes is recorded at end of message, not at end
 * of headers: aborted after end of headers (or rejected later), it leaves no row */
static void test_db_abort(void **state)
{
	static const char *const rcpts[] = { "<sales@shop.example>", NULL };
	char *dir = g_dir_make_tmp("beacon-inbound-XXXXXX", NULL);
	struct inbound_set *s = env_with(NULL, 0);
	struct conn_ctx *c = conn_new();
	struct beacon_cfg bc;
	const char *why = NULL;
	char *text = g_strdup(REPLY), *cmd;
	(void)state;

	memcpy(strstr(text, "reply-1@"), "reply-7@", 8);
	env.store = store_on(&bc, dir, db_cluster.conninfo);
	feed_head(c, "a@x.example", rcpts, text);
	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), -1);
	/* not accepted yet: the body is skipped */
	assert_int_equal(callbacks_pass(&env, c, why), SMFIS_CONTINUE);
	assert_non_null(c->msg);
	assert_int_equal(c->msg->skip_body, 1);
	msg_reset(c);	/* xxfi_abort */
	assert_int_equal(callbacks_record_only(&env, c), 0);
	assert_int_equal(store_replay_now(env.store), 0);
	db_is("SELECT count(*) FROM beacon.replies WHERE reply_message_id = 'reply-7@x.example'",
	      "0");
	/* the same message delivered: recorded at its end */
	feed_head(c, "a@x.example", rcpts, text);
	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), -1);
	assert_int_equal(callbacks_pass(&env, c, why), SMFIS_CONTINUE);
	assert_int_equal(callbacks_record_only(&env, c), 1);
	assert_null(c->msg);
	assert_int_equal(store_replay_now(env.store), 1);
	db_is("SELECT count(*) FROM beacon.replies WHERE reply_message_id = 'reply-7@x.example'",
	      "1");
	/* nothing to record: accepted at once */
	feed_head(c, "", rcpts, "From: a@x.example\nSubject: hi\n\nHi\n");
	assert_int_equal(callbacks_end_headers(&env, c->msg, &why), -1);
	assert_int_not_equal(callbacks_pass(&env, c, why), SMFIS_CONTINUE);
	assert_null(c->msg);

	store_stop(env.store);
	env.store = NULL;
	cfg_free(&bc);
	conn_free(c);
	inbound_set_stop(s);
	g_free(text);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_db_ready - the start-up check of [milter] inbound: the functions there and granted;
 * one missing, or not granted to the role, is named with the remedy */
static void test_db_ready(void **state)
{
	PGconn *c = PQconnectdb(db_cluster.conninfo);
	char err[512];
	(void)state;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_int_equal(store_sql_inbound_ready(c, err, sizeof(err)), 1);
	g_free(db_exec("ALTER FUNCTION beacon.reply(timestamptz, text[], text[], text, text) "
		       "RENAME TO reply_away"));
	assert_int_equal(store_sql_inbound_ready(c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "beacon.reply("));
	assert_non_null(strstr(err, "missing"));
	assert_non_null(strstr(err, "beaconctl migrate"));
	g_free(db_exec("ALTER FUNCTION beacon.reply_away(timestamptz, text[], text[], text, text) "
		       "RENAME TO reply"));
	PQclear(PQexec(c, "CREATE ROLE beacon_nogrant; GRANT USAGE ON SCHEMA beacon TO "
		       "beacon_nogrant; SET ROLE beacon_nogrant"));
	assert_int_equal(store_sql_inbound_ready(c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "beacon.inbound_mail("));
	assert_non_null(strstr(err, "not granted"));
	PQfinish(c);
}

/* main - the tests without a database, then those with one */
int main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_lead),
		cmocka_unit_test(test_lead_rfc822),
		cmocka_unit_test(test_lead_big),
		cmocka_unit_test(test_reply),
	};
	const struct CMUnitTest db[] = {
		cmocka_unit_test(test_db_set),
		cmocka_unit_test(test_db_store),
		cmocka_unit_test(test_db_long_id),
		cmocka_unit_test(test_db_abort),
		cmocka_unit_test(test_db_ready),
	};
	int rc;

	g_mime_init();
	cfg_defaults(&cfg);
	cfg.milter.inbound = 1;
	rc = cmocka_run_group_tests_name("inbound", plain, NULL, NULL);
	if (rc == 0)
		rc = cmocka_run_group_tests_name("inbound_db", db, db_cluster_up_schema,
						 db_cluster_down);
	cfg_free(&cfg);
	g_mime_shutdown();
	return rc;
}
