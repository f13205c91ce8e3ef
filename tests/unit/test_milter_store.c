/*
 * test_milter_store.c - unit tests of the milter's rows (milter/record.c),
 * their SQL parameters (milter/store_sql.c) and the failover of the store
 * (milter/store.c) when PostgreSQL cannot be reached.
 *
 * DESCRIPTION
 *	A record survives the spool encoding exactly and invalid UTF-8 is
 *	made valid on the way in; a damaged payload is refused.  Array
 *	parameters are quoted and escaped.  With the database on a port
 *	nobody listens on, on_db_error = spool spools at once (and the spool
 *	holds the record), accept and tempfail report the failure; none of
 *	them waits for a timeout.
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
#include <glib/gstdio.h>

#include "record.h"
#include "store.h"
#include "store_sql.h"
#include "cfg.h"
#include "clock.h"
#include "spool.h"
#include "thread.h"
#include "token.h"

/* sample - a record with two recipients and two links */
static struct msg_record *sample(void)
{
	struct msg_record *r = record_new();

	record_set(&r->message_id, "m1@example.com");
	record_set(&r->queue_id, "ABC123");
	record_set(&r->sender, "s@example.com");
	record_set(&r->subject, "caf\xe9 \xc3\xa9");	/* invalid, then valid UTF-8 */
	record_set(&r->campaign, "spring");
	record_set(&r->client_ip, "192.0.2.7");
	r->clicks = 1;
	r->recipients = 3;
	r->size = 12345;
	record_add_rcpt(r, "00112233-4455-6677-8899-aabbccddeeff", "a@example.org", "shared", 2,
			"TOKENTOKEN", "Ann");
	record_add_rcpt(r, "ffeeddcc-bbaa-9988-7766-554433221100", "b@corp.example", "internal", 0,
			"", "");
	record_add_link(r, 1, "https://shop.example/a?x=1&y=\"2\"");
	record_add_link(r, 2, "https://shop.example/b");
	return r;
}

/* same_record - field by field */
static void same_record(const struct msg_record *a, const struct msg_record *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->message_id, b->message_id);
	assert_string_equal(a->queue_id, b->queue_id);
	assert_string_equal(a->sender, b->sender);
	assert_string_equal(a->sasl_login, b->sasl_login);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->campaign, b->campaign);
	assert_string_equal(a->thread_root, b->thread_root);
	assert_string_equal(a->client_ip, b->client_ip);
	assert_int_equal(a->sent_at, b->sent_at);
	assert_int_equal(a->clicks, b->clicks);
	assert_int_equal(a->notify, b->notify);
	assert_int_equal(a->recipients, b->recipients);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->rcpts->len, b->rcpts->len);
	for (guint i = 0; i < a->rcpts->len; i++) {
		const struct rec_rcpt *x = &g_array_index(a->rcpts, struct rec_rcpt, i);
		const struct rec_rcpt *y = &g_array_index(b->rcpts, struct rec_rcpt, i);
		assert_string_equal(x->token_id, y->token_id);
		assert_string_equal(x->address, y->address);
		assert_string_equal(x->status, y->status);
		assert_int_equal(x->key_id, y->key_id);
		assert_string_equal(x->token, y->token);
		assert_string_equal(x->name, y->name);
	}
	assert_int_equal(a->links->len, b->links->len);
	for (guint i = 0; i < a->links->len; i++) {
		assert_int_equal(g_array_index(a->links, struct rec_link, i).n,
				 g_array_index(b->links, struct rec_link, i).n);
		assert_string_equal(g_array_index(a->links, struct rec_link, i).url,
				    g_array_index(b->links, struct rec_link, i).url);
	}
}

/* test_record_roundtrip - encode, decode, compare; invalid UTF-8 repaired */
static void test_record_roundtrip(void **state)
{
	struct msg_record *r = sample(), *back;
	GBytes *b = record_encode(r);
	gsize len;
	const guint8 *d = g_bytes_get_data(b, &len);
	(void)state;

	assert_true(g_utf8_validate(r->subject, -1, NULL));
	assert_true(strstr(r->subject, "\xc3\xa9") != NULL);
	assert_int_equal(strlen(r->id), TOKEN_UUID_LEN);
	back = record_decode(d, len);
	assert_non_null(back);
	same_record(r, back);
	record_free(back);

	/* damaged copies are refused or read as a well-formed record, never half-read */
	guint8 *bad = g_memdup2(d, len);
	assert_null(record_decode(bad, len / 2));
	assert_null(record_decode("", 0));
	bad[len - 1] ^= 0xff;
	back = record_decode(bad, len);
	record_free(back);
	g_free(bad);
	g_bytes_unref(b);
	record_free(r);
}

/* test_record_atts - a record with attachments rows spools under its own type and comes back
 * whole; one without keeps the old type, so older spools still replay */
static void test_record_atts(void **state)
{
	struct msg_record *r = sample(), *back;
	GBytes *b;
	gsize len;
	const guint8 *d;
	(void)state;

	assert_int_equal(record_spool_type(r), RECORD_SPOOL_TYPE);
	record_add_att(r, 1, "Q3 report.pdf", "application/pdf", 142, 1802592000, "93e3");
	record_add_att(r, 2, "Zahlen f\xc3\xbcr.zip", "application/zip", 132, 1802592000, "03ec");
	assert_int_equal(record_spool_type(r), RECORD_ATT_SPOOL_TYPE);
	b = record_encode(r);
	d = g_bytes_get_data(b, &len);
	assert_null(record_decode(d, len));	/* not the old type */
	assert_null(record_decode_type('X', d, len));
	back = record_decode_type(RECORD_ATT_SPOOL_TYPE, d, len);
	assert_non_null(back);
	same_record(r, back);
	assert_int_equal(back->atts->len, 2);
	for (guint i = 0; i < 2; i++) {
		const struct rec_att *x = &g_array_index(r->atts, struct rec_att, i);
		const struct rec_att *y = &g_array_index(back->atts, struct rec_att, i);
		assert_int_equal(x->n, y->n);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->content_type, y->content_type);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->expires_at, y->expires_at);
		assert_string_equal(x->storage_ref, y->storage_ref);
	}
	record_free(back);
	g_bytes_unref(b);
	record_free(r);
}

/* test_record_thread - a record with a thread root spools under its own type, with or
 * without attachments rows, and comes back whole; the other types cannot read it */
static void test_record_thread(void **state)
{
	struct msg_record *r = sample(), *back;
	GBytes *b;
	gsize len;
	const guint8 *d;
	(void)state;

	record_set(&r->thread_root, "first.1@example.org");
	assert_int_equal(record_spool_type(r), RECORD_THREAD_SPOOL_TYPE);
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			record_add_att(r, 1, "a.pdf", "application/pdf", 142, 1802592000, "93e3");
		b = record_encode(r);
		d = g_bytes_get_data(b, &len);
		assert_null(record_decode(d, len));
		assert_null(record_decode_type(RECORD_ATT_SPOOL_TYPE, d, len));
		back = record_decode_type(RECORD_THREAD_SPOOL_TYPE, d, len);
		assert_non_null(back);
		same_record(r, back);
		assert_int_equal(back->atts->len, (guint)pass);
		record_free(back);
		g_bytes_unref(b);
	}
	record_free(r);
}

/* test_thread_root - the first id of References, else of In-Reply-To; none over 250 octets */
static void test_thread_root(void **state)
{
	char *r, big[300];
	(void)state;

	r = thread_root("<a.1@x.org> <b.2@x.org>\r\n <c.3@x.org>", "<c.3@x.org>");
	assert_string_equal(r, "a.1@x.org");
	g_free(r);
	r = thread_root(NULL, "<c.3@x.org> (comment)");
	assert_string_equal(r, "c.3@x.org");
	g_free(r);
	r = thread_root("garbage without brackets", "<c.3@x.org>");	/* no id there */
	assert_string_equal(r, "c.3@x.org");
	g_free(r);
	assert_null(thread_root(NULL, NULL));
	assert_null(thread_root("", ""));
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	memcpy(big + 280, "@x.org>", 8);
	assert_null(thread_root(big, NULL));
	r = thread_root(big, "<d.4@x.org>");
	assert_string_equal(r, "d.4@x.org");
	g_free(r);
}

/* test_sql_array - quoting of array parameters */
static void test_sql_array(void **state)
{
	const char *v[] = { "plain", "with \"quote\"", "back\\slash", "", "a,b{c}" };
	GString *s = g_string_new(NULL);
	(void)state;

	store_sql_array(s, v, 5);
	assert_string_equal(s->str, "{\"plain\",\"with \\\"quote\\\"\",\"back\\\\slash\",\"\",\"a,b{c}\"}");
	g_string_truncate(s, 0);
	store_sql_array(s, v, 0);
	assert_string_equal(s->str, "{}");
	g_string_free(s, TRUE);
}

/* replay_check - spool_fn: each record is the sample with its id */
static int replay_check(void *arg, uint8_t type, const void *data, size_t len)
{
	struct msg_record *want = arg, *got = record_decode(data, len);

	assert_int_equal(type, RECORD_SPOOL_TYPE);
	assert_non_null(got);
	same_record(want, got);
	record_free(got);
	return 0;
}

/* store_with - a store on an unreachable database with ON_DB_ERROR */
static struct store *store_with(struct beacon_cfg *cfg, const char *dir, int on_db_error)
{
	char err[256];
	struct store *st;

	cfg_defaults(cfg);
	free(cfg->database.conninfo);
	cfg->database.conninfo = strdup("host=127.0.0.1 port=1 dbname=none user=none");
	cfg->database.connect_timeout = 2;
	free(cfg->milter.spool_dir);
	cfg->milter.spool_dir = strdup(dir);
	cfg->milter.on_db_error = on_db_error;
	st = store_new(cfg, err, sizeof(err));
	if (!st)
		fail_msg("store_new: %s", err);
	return st;
}

/* test_store_down - spool, accept and tempfail with the database down */
static void test_store_down(void **state)
{
	char *dir = g_dir_make_tmp("beacon-store-XXXXXX", NULL);
	struct beacon_cfg cfg;
	struct msg_record *r = sample();
	struct store *st;
	struct spool *sp;
	char err[256];
	long long t0;
	(void)state;

	st = store_with(&cfg, dir, CFG_DBERR_SPOOL);
	assert_true(store_is_up(st));
	t0 = clock_now_us();
	assert_int_equal(store_put(st, r, "Q1"), STORE_SPOOLED);
	assert_false(store_is_up(st));
	assert_int_equal(store_put(st, r, "Q2"), STORE_SPOOLED);
	assert_true(clock_now_us() - t0 < 1500000);
	assert_int_equal(store_replay_now(st), -1);	/* still down */
	store_stop(st);
	cfg_free(&cfg);

	sp = spool_open(dir, "milter", err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_replay(sp, replay_check, r), 2);
	spool_close(sp);

	for (int mode = CFG_DBERR_ACCEPT; mode <= CFG_DBERR_TEMPFAIL; mode++) {
		st = store_with(&cfg, dir, mode);
		assert_int_equal(store_put(st, r, "Q3"), STORE_FAILED);
		assert_int_equal(store_put(st, r, "Q4"), STORE_FAILED);
		store_stop(st);
		cfg_free(&cfg);
	}
	sp = spool_open(dir, "milter", err, sizeof(err));
	assert_false(spool_has_pending(sp));
	spool_close(sp);

	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	record_free(r);
}

/* main - run the tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_atts),
		cmocka_unit_test(test_record_thread),
		cmocka_unit_test(test_thread_root),
		cmocka_unit_test(test_sql_array),
		cmocka_unit_test(test_store_down),
	};

	assert_int_equal(token_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
