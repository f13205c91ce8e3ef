/*
 * test_milter_track_split.c - unit tests of one token per recipient: the split
 * of milter/track.c with its copies handed to a real SMTP listener on
 * 127.0.0.1 (smtp_fake.h), the copy header, the failure rules,
 * excluded recipients, per_recipient = shared and plain_to_html; ids
 * that a retry would not repeat; a forged copy header kept to end of
 * message (callbacks_end_headers) so that it is removed.
 *
 * DESCRIPTION
 *	Each case builds the message context the way the callbacks do, runs
 *	track_message_with() and checks what the MTA would be told (verdict,
 *	recipients to remove, new body, header edits) and what the listener
 *	received: one transaction per copy in recipient order over one
 *	session, the original's headers without Bcc and the tag header, the
 *	copy header first and verifying for that copy's recipients, and a
 *	pixel and click URLs signed for a token of its own.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "track.h"
#include "callbacks.h"
#include "cfg.h"
#include "record.h"
#include "smtp_fake.h"
#include "spool.h"
#include "token.h"

#define BASE "https://t.example"

static struct beacon_cfg cfg;
static struct token_keys *keys;
static struct milter_env env;

#define HDRS "From: Sender <s@example.com>\nTo: Ann <a@x.example>, b@x.example\n" \
	"Cc: c@x.example\nBcc: d@x.example\nSubject: split\nMessage-ID: <m1@example.com>\n" \
	"X-Beacon: track; campaign=spring\nContent-Type: text/html; charset=utf-8\n"
#define HTML "<html><body><a href=\"https://shop.example/a\">a</a> " \
	"<a href=\"https://shop.example/b\">b</a></body></html>\n"
#define RCPTS5 "a@x.example,b@x.example,c@x.example,d@x.example,e@x.example"

/* build - a message context as the callbacks would fill it */
static struct conn_ctx *build(const char *rcpts, const char *headers, const char *body)
{
	struct conn_ctx *cc = conn_new();
	char **r = g_strsplit(rcpts, ",", -1);
	char **h = g_strsplit(headers, "\n", -1);
	GString *b = g_string_new(NULL);
	char *notify[] = { "NOTIFY=SUCCESS", NULL };

	msg_begin(cc, "<s@example.com>", NULL);
	cc->msg->trusted = 1;	/* a trusted submission (trust.h) */
	msg_set_queue_id(cc->msg, "QSPLIT");
	for (int i = 0; r[i]; i++)
		msg_add_rcpt(cc->msg, r[i], notify);
	for (int i = 0; h[i] && h[i][0]; i++) {
		char *colon = strchr(h[i], ':');
		char *name = g_strndup(h[i], (gsize)(colon - h[i]));
		msg_add_header(cc->msg, name, colon + 2, 0);
		g_free(name);
	}
	msg_end_headers(cc->msg);
	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			g_string_append_c(b, '\r');
		g_string_append_c(b, *p);
	}
	msg_add_body(cc->msg, (const unsigned char *)b->str, b->len, 0);
	g_strfreev(r);
	g_strfreev(h);
	g_string_free(b, TRUE);
	return cc;
}

/* from_text - a message context from a copy's TEXT (CRLF), to the recipients RCPTS */
static struct conn_ctx *from_text(const GByteArray *text, const char *rcpts)
{
	char *s = g_strndup((const char *)text->data, text->len), *body = strstr(s, "\r\n\r\n");
	GString *h = g_string_new(NULL);
	struct conn_ctx *cc;
	char **lines;

	*body = '\0';
	lines = g_strsplit(s, "\r\n", -1);
	for (int i = 0; lines[i]; i++)
		g_string_append_printf(h, "%s%s", i && (lines[i][0] == ' ' || lines[i][0] == '\t') ?
				       "" : "\n", lines[i]);
	/* folded lines were joined above: good enough for these headers */
	cc = build(rcpts, h->str + 1, "");
	g_strfreev(lines);
	g_string_free(h, TRUE);
	g_free(s);
	return cc;
}

/* pixel_token - the token of the pixel in TEXT (malloc'd 36 characters), checked */
static char *pixel_token(const guint8 *data, size_t len)
{
	char *s = g_strndup((const char *)data, len), *p = strstr(s, BASE "/o/"), *tok;
	struct token t;

	if (!p)
		fail_msg("no pixel in %s", s);
	tok = g_strndup(p + strlen(BASE "/o/"), TOKEN_STR_LEN);
	assert_int_equal(token_parse(keys, tok, TOKEN_STR_LEN, &t), TOKEN_OK);
	assert_memory_equal(p + strlen(BASE "/o/") + TOKEN_STR_LEN, ".gif", 4);
	/* both links, numbered 1 and 2, signed for this token */
	for (int n = 1; n <= 2; n++) {
		char *want = g_strdup_printf(BASE "/c/%s/%d/", tok, n);
		if (!strstr(s, want))
			fail_msg("no click URL %s in %s", want, s);
		g_free(want);
	}
	assert_null(strstr(s, "href=\"https://shop.example/"));
	g_free(s);
	return tok;
}

/* delrcpts - the recipients to remove, comma-separated */
static char *delrcpts(const struct track_out *out)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; out->delrcpts && i < out->delrcpts->len; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "",
				       (char *)g_ptr_array_index(out->delrcpts, i));
	return g_string_free(s, FALSE);
}

/* run - track M with a listener F and the given options */
static void run(struct conn_ctx *cc, struct smtp_fake *f, int can_delrcpt, struct suppress *sup,
		struct track_out *out)
{
	struct track_opts o = { can_delrcpt, sup, NULL, NULL, "client.example", 0 };

	free(cfg.milter.reinject);
	cfg.milter.reinject = strdup(f ? f->spec : "127.0.0.1:1");
	track_message_with(&env, cc->msg, "192.0.2.1", &o, out);
}

/* test_split_all - five recipients, four copies, five tokens */
static void test_split_all(void **state)
{
	struct smtp_fake *f = fake_start("SIZE 100000000\n8BITMIME\nDSN");
	struct conn_ctx *cc = build(RCPTS5, HDRS, HTML);
	GHashTable *tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	static const char *to[] = { "b", "c", "d", "e" };
	struct track_out out;
	char *s;
	(void)state;

	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 4);
	assert_int_equal(out.tracked, 5);
	assert_int_equal(out.links, 2);
	assert_int_equal(out.remove_tag, 1);
	assert_string_equal(out.mode, "split: 4 copies");
	s = delrcpts(&out);
	assert_string_equal(s, "<b@x.example>,<c@x.example>,<d@x.example>,<e@x.example>");
	g_free(s);
	assert_non_null(out.body);
	g_hash_table_add(tokens, pixel_token(out.body->data, out.body->len));
	assert_int_equal(fake_count(f), 4);
	assert_int_equal(f->sessions, 1);
	for (int i = 0; i < 4; i++) {
		struct fake_txn *t = g_ptr_array_index(f->txns, i);
		char *want = g_strdup_printf("MAIL FROM:<s@example.com> SIZE=%u", t->text->len);
		char *rcpt = g_strdup_printf("RCPT TO:<%s@x.example> NOTIFY=SUCCESS", to[i]);
		char *addr = g_strdup_printf("%s@x.example", to[i]);
		char *hdr = g_strdup_printf("X-Beacon-Copy: %s; ", out.msg_uuid);
		struct conn_ctx *back;
		struct track_out o2;

		assert_string_equal(t->mail, want);
		assert_int_equal(t->rcpts->len, 1);
		assert_string_equal(g_ptr_array_index(t->rcpts, 0), rcpt);
		/* the copy header first; the original's headers but Bcc and the tag */
		assert_memory_equal(t->text->data, hdr, strlen(hdr));
		assert_null(fake_header(t->text, "Bcc"));
		assert_null(fake_header(t->text, "X-Beacon"));
		s = fake_header(t->text, "To");
		assert_string_equal(s, "Ann <a@x.example>, b@x.example");
		g_free(s);
		s = fake_header(t->text, "Cc");
		assert_string_equal(s, "c@x.example");
		g_free(s);
		s = fake_header(t->text, "Message-ID");
		assert_string_equal(s, "<m1@example.com>");
		g_free(s);
		/* a token of its own */
		s = pixel_token(t->text->data, t->text->len);
		if (!g_hash_table_add(tokens, s))
			fail_msg("copy %d: token used twice", i);
		/* through the milter again: recognised, only its header removed */
		back = from_text(t->text, addr);
		/* from any connection but the reinject listener it is no copy: header removed */
		track_message(&env, back->msg, NULL, &o2);
		assert_int_equal(o2.verdict, TRACK_UNTOUCHED);
		assert_string_equal(o2.reason, "no tag");
		assert_int_equal(o2.remove_copy, 1);
		track_out_clear(&o2);
		back->msg->via_reinject = 1;
		track_message(&env, back->msg, NULL, &o2);
		assert_int_equal(o2.verdict, TRACK_COPY);
		assert_string_equal(o2.msg_uuid, out.msg_uuid);
		assert_null(o2.body);
		assert_int_equal(o2.edits->len, 1);
		assert_string_equal(((struct split_edit *)g_ptr_array_index(o2.edits, 0))->name,
				    "X-Beacon-Copy");
		assert_null(((struct split_edit *)g_ptr_array_index(o2.edits, 0))->value);
		track_out_clear(&o2);
		conn_free(back);
		/* the same header for another recipient is forged: a normal (untagged) message */
		back = from_text(t->text, "z@x.example");
		back->msg->via_reinject = 1;
		track_message(&env, back->msg, NULL, &o2);
		assert_int_equal(o2.verdict, TRACK_UNTOUCHED);
		assert_string_equal(o2.reason, "no tag");
		track_out_clear(&o2);
		conn_free(back);
		g_free(want);
		g_free(rcpt);
		g_free(addr);
		g_free(hdr);
	}
	assert_int_equal(g_hash_table_size(tokens), 5);
	track_out_clear(&out);
	g_hash_table_destroy(tokens);
	conn_free(cc);
	fake_stop(f);
}

/* test_split_retry - the same message again (a retry after a crash or a temp-fail): the same
 * message id and tokens; a copy in the copy log is not sent again and its recipient leaves
 * the original as before; a copy not yet sent is sent */
static void test_split_retry(void **state)
{
	char *dir = g_dir_make_tmp("beacon-split-XXXXXX", NULL), *cmd, err[256];
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build("a@x.example,b@x.example,c@x.example", HDRS, HTML);
	struct milter_env saved = env;
	struct track_out out, again;
	char *s;
	(void)state;

	env.copies = copylog_open(dir, err, sizeof(err));
	assert_non_null(env.copies);
	f->refuse_nth = 2;	/* c's copy is refused the first time */
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.copies, 1);
	assert_int_equal(fake_count(f), 1);
	f->refuse_nth = 0;
	run(cc, f, 1, NULL, &again);
	assert_int_equal(again.verdict, TRACK_REWRITTEN);
	assert_string_equal(again.msg_uuid, out.msg_uuid);
	assert_int_equal(again.copies, 2);
	assert_int_equal(again.resent, 1);
	assert_string_equal(again.mode, "split: 2 copies, 1 sent before");
	/* only c's copy went out this time; b and c leave the original */
	assert_int_equal(fake_count(f), 2);
	s = delrcpts(&again);
	assert_string_equal(s, "<b@x.example>,<c@x.example>");
	g_free(s);
	/* the original is rewritten for a with the same token both times */
	assert_int_equal(out.body->len, again.body->len);
	assert_memory_equal(out.body->data, again.body->data, out.body->len);
	track_out_clear(&out);
	track_out_clear(&again);
	copylog_close(env.copies);
	env = saved;
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	conn_free(cc);
	fake_stop(f);
}

/* test_split_not_retry_safe - messages a retry would not repeat (the Message-ID holds the queue
 * id, as the one the MTA adds per try; no Message-ID; two of them) get random ids and the copy
 * log is neither read nor written: the same message twice sends every copy twice, and no
 * recipient is ever dropped from the original without a copy */
static void test_split_not_retry_safe(void **state)
{
	static const char *const msgids[] = {
		"Message-ID: <20261205203843.QSPLIT@mx.example>\n",
		"",
		"Message-ID: <one@example.com>\nMessage-ID: <two@example.com>\n",
	};
	char *dir = g_dir_make_tmp("beacon-split-XXXXXX", NULL), *cmd, err[256];
	struct milter_env saved = env;
	(void)state;

	env.copies = copylog_open(dir, err, sizeof(err));
	assert_non_null(env.copies);
	for (size_t k = 0; k < G_N_ELEMENTS(msgids); k++) {
		GString *hdrs = g_string_new(HDRS);
		struct smtp_fake *f = fake_start("");
		struct conn_ctx *cc;
		struct track_out out, again;
		char *s;

		g_string_replace(hdrs, "Message-ID: <m1@example.com>\n", msgids[k], 1);
		cc = build("a@x.example,b@x.example,c@x.example", hdrs->str, HTML);
		run(cc, f, 1, NULL, &out);
		run(cc, f, 1, NULL, &again);
		assert_int_equal(out.verdict, TRACK_REWRITTEN);
		assert_int_equal(again.verdict, TRACK_REWRITTEN);
		assert_int_equal(out.copies, 2);
		assert_int_equal(again.copies, 2);
		assert_int_equal(again.resent, 0);
		assert_string_equal(again.mode, "split: 2 copies");
		/* both times every copy went out: a duplicate, never a loss */
		assert_int_equal(fake_count(f), 4);
		s = delrcpts(&again);
		assert_string_equal(s, "<b@x.example>,<c@x.example>");
		g_free(s);
		/* random ids: another message id each time */
		assert_string_not_equal(out.msg_uuid, again.msg_uuid);
		track_out_clear(&out);
		track_out_clear(&again);
		conn_free(cc);
		fake_stop(f);
		g_string_free(hdrs, TRUE);
	}
	/* nothing was remembered for them */
	assert_int_equal(copylog_size(env.copies), 0);
	copylog_close(env.copies);
	env = saved;
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* head_only - a message context up to end of headers, as the callbacks fill it */
static struct conn_ctx *head_only(int trusted, const char *headers)
{
	struct conn_ctx *cc = conn_new();
	char **h = g_strsplit(headers, "\n", -1);

	msg_begin(cc, "<evil@example.net>", NULL);
	cc->msg->trusted = trusted;
	msg_set_queue_id(cc->msg, "QFORGED");
	msg_add_rcpt(cc->msg, "a@x.example", NULL);
	for (int i = 0; h[i] && h[i][0]; i++) {
		char *colon = strchr(h[i], ':');
		char *name = g_strndup(h[i], (gsize)(colon - h[i]));
		msg_add_header(cc->msg, name, colon + 2, 0);
		g_free(name);
	}
	g_strfreev(h);
	return cc;
}

/* test_forged_copy_no_early_pass - a forged copy header keeps the message to end of message,
 * which removes it: untrusted without a tag header, or signed; without one, the early pass */
static void test_forged_copy_no_early_pass(void **state)
{
	static const struct {
		int trusted;
		const char *headers;
		int early;
	} cases[] = {
		{ 0, "X-Beacon-Copy: 0b5c1d1e-9a6f-4f4e-8c38-0d0f4a4d2c11; AAAA\nSubject: x\n", 0 },
		{ 1, "DKIM-Signature: v=1\nX-Beacon-Copy: 0b5c1d1e; AAAA\nSubject: x\n", 0 },
		{ 0, "Subject: x\n", 1 },
		{ 1, "DKIM-Signature: v=1\nSubject: x\n", 1 },
	};
	(void)state;

	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
		struct conn_ctx *cc = head_only(cases[k].trusted, cases[k].headers);
		struct track_out out;
		const char *why = NULL;

		if (cases[k].early) {
			assert_int_equal(callbacks_end_headers(&env, cc->msg, &why), -1);
			assert_non_null(why);
		} else {
			assert_int_equal(callbacks_end_headers(&env, cc->msg, &why), 0);
			assert_int_equal(cc->msg->skip_body, 1);
			/* end of message: untouched, the copy header removed */
			track_message(&env, cc->msg, NULL, &out);
			assert_int_equal(out.verdict, TRACK_UNTOUCHED);
			assert_int_equal(out.remove_copy, 1);
			track_out_clear(&out);
		}
		conn_free(cc);
	}
}

/* test_split_refused - the third copy is refused: no further copy, the rest share the original */
static void test_split_refused(void **state)
{
	struct smtp_fake *f = fake_start("DSN");
	struct conn_ctx *cc = build(RCPTS5, HDRS, HTML);
	struct track_out out;
	char *s;
	(void)state;

	f->refuse_nth = 3;
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 2);
	assert_int_equal(out.tracked, 5);
	assert_string_equal(out.mode, "split: 2 of 4 copies, 3 sharing the original");
	s = delrcpts(&out);
	assert_string_equal(s, "<b@x.example>,<c@x.example>");
	g_free(s);
	assert_non_null(out.body);
	assert_int_equal(fake_count(f), 2);
	/* the refused transaction was the last one tried */
	assert_int_equal(f->ntxn, 3);
	track_out_clear(&out);
	conn_free(cc);
	fake_stop(f);
}

/* test_split_first_fails - the first copy refused, or nothing listening: temp-fail */
static void test_split_first_fails(void **state)
{
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build(RCPTS5, HDRS, HTML);
	struct track_out out;
	(void)state;

	f->refuse_rcpt = "b@x.example";
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_TEMPFAIL);
	assert_non_null(strstr(out.reason, "re-injection failed, nothing sent: "));
	assert_non_null(strstr(out.reason, "550 5.1.1"));
	assert_null(out.body);
	assert_null(out.delrcpts);
	assert_null(out.edits);
	assert_int_equal(out.copies, 0);
	assert_int_equal(fake_count(f), 0);
	track_out_clear(&out);
	fake_stop(f);

	run(cc, NULL, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_TEMPFAIL);
	assert_non_null(strstr(out.reason, "127.0.0.1:1: connect"));
	track_out_clear(&out);
	conn_free(cc);
}

/* test_split_excluded - internal and suppressed recipients keep the untouched original */
static void test_split_excluded(void **state)
{
	static const char *pat[] = { "S@X.example", "@optout.example" };
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build("a@x.example,i@corp.example,s@x.example,o@optout.example,"
				    "b@x.example", HDRS, HTML);
	struct suppress *sup = suppress_new(&cfg);
	struct track_out out;
	char *s;
	(void)state;

	suppress_set(sup, suppress_list_new(pat, 2));
	run(cc, f, 1, sup, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 2);
	assert_int_equal(out.tracked, 2);
	assert_int_equal(out.internal, 1);
	assert_int_equal(out.suppressed, 2);
	assert_string_equal(out.mode, "split: 2 copies, original untouched");
	assert_null(out.body);
	assert_null(out.top_cte);
	assert_int_equal(out.remove_tag, 1);
	s = delrcpts(&out);
	assert_string_equal(s, "<a@x.example>,<b@x.example>");
	g_free(s);
	assert_int_equal(fake_count(f), 2);
	track_out_clear(&out);
	fake_stop(f);

	/* the second copy refused: b stays on the untouched original, untracked */
	f = fake_start("");
	f->refuse_nth = 2;
	run(cc, f, 1, sup, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 1);
	assert_int_equal(out.tracked, 1);
	assert_string_equal(out.mode, "split: 1 of 2 copies, original untouched");
	assert_null(out.body);
	s = delrcpts(&out);
	assert_string_equal(s, "<a@x.example>");
	g_free(s);
	track_out_clear(&out);
	fake_stop(f);

	/* without recipient removal, suppressed recipients leave the message untracked */
	run(cc, NULL, 0, sup, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_non_null(strstr(out.reason, "suppressed recipients cannot be left out"));
	assert_int_equal(out.remove_tag, 1);
	track_out_clear(&out);

	/* everybody excluded: nothing to track */
	conn_free(cc);
	cc = build("i@corp.example,s@x.example", HDRS, HTML);
	run(cc, NULL, 1, sup, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_string_equal(out.reason, "no trackable recipient");
	track_out_clear(&out);
	conn_free(cc);
	suppress_stop(sup);
}

/* test_shared - per_recipient = shared; and an MTA that cannot remove recipients */
static void test_shared(void **state)
{
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build("a@x.example,b@x.example,a@X.example", HDRS, HTML);
	struct track_out out;
	struct fake_txn *t;
	char *tok, *s;
	(void)state;

	cfg.milter.per_recipient = CFG_PER_RCPT_SHARED;
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 0);
	assert_int_equal(out.tracked, 2);
	assert_string_equal(out.mode, "shared");
	assert_null(out.delrcpts);
	tok = pixel_token(out.body->data, out.body->len);
	g_free(tok);
	track_out_clear(&out);
	conn_free(cc);

	/* with an internal recipient: one copy for both tracked ones */
	cc = build("a@x.example,i@corp.example,b@x.example", HDRS, HTML);
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 1);
	assert_int_equal(out.tracked, 2);
	assert_string_equal(out.mode, "shared: 1 copy, original untouched");
	assert_null(out.body);
	s = delrcpts(&out);
	assert_string_equal(s, "<a@x.example>,<b@x.example>");
	g_free(s);
	assert_int_equal(fake_count(f), 1);
	t = g_ptr_array_index(f->txns, 0);
	assert_int_equal(t->rcpts->len, 2);
	track_out_clear(&out);
	conn_free(cc);
	cfg.milter.per_recipient = CFG_PER_RCPT_SPLIT;

	/* split configured, but the MTA cannot remove recipients: one shared token */
	cc = build("a@x.example,b@x.example", HDRS, HTML);
	run(cc, f, 0, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 0);
	assert_string_equal(out.mode, "shared");
	track_out_clear(&out);
	conn_free(cc);
	assert_int_equal(fake_count(f), 1);
	fake_stop(f);
}

/* test_duplicate - a recipient given twice gets one copy */
static void test_duplicate(void **state)
{
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build("a@x.example,b@x.example,B@x.example", HDRS, HTML);
	struct track_out out;
	char *s;
	(void)state;

	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.copies, 1);
	assert_int_equal(out.tracked, 2);
	s = delrcpts(&out);
	assert_string_equal(s, "<b@x.example>");
	g_free(s);
	assert_int_equal(fake_count(f), 1);
	track_out_clear(&out);
	conn_free(cc);
	fake_stop(f);
}

/* test_forged_tagged - a copy header signed for someone else is not trusted: the tagged
 * message is tracked and the header removed */
static void test_forged_tagged(void **state)
{
	const char *other[] = { "other@x.example" };
	char *v = split_copy_value(keys, "0b5c1d1e-9a6f-4f4e-8c38-0d0f4a4d2c11", other, 1);
	char *hdrs = g_strdup_printf("X-Beacon-Copy: %s\n%s", v, HDRS);
	struct conn_ctx *cc = build("a@x.example", hdrs, HTML);
	struct track_out out;
	int forged;
	(void)state;

	cc->msg->via_reinject = 1;
	assert_null(split_copy_check(keys, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 1);
	run(cc, NULL, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_string_equal(out.mode, "tracked");
	assert_null(out.edits);
	assert_int_equal(out.remove_copy, 1);
	track_out_clear(&out);
	conn_free(cc);
	g_free(hdrs);
	g_free(v);
}

/* test_plain_to_html - a text-only message gets its HTML twin, in the original and the copies */
static void test_plain_to_html(void **state)
{
	struct smtp_fake *f = fake_start("");
	const char *hdrs = "From: s@example.com\nTo: a@x.example, b@x.example\nSubject: text\n"
			   "Message-ID: <text@example.com>\n"
			   "X-Beacon: track\nContent-Type: text/plain; charset=utf-8\n"
			   "Content-Transfer-Encoding: 7bit\n";
	const char *text = "Hello <you> & all,\n\nsee https://shop.example/a.\n"
			   "And https://shop.example/b\n";
	struct conn_ctx *cc = build("a@x.example", hdrs, text);
	struct track_out out;
	struct split_edit *e;
	struct fake_txn *t;
	char *s, *tok;
	(void)state;

	/* off: a text-only message is not tracked */
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_string_equal(out.reason, "no text/html part");
	track_out_clear(&out);

	cfg.milter.plain_to_html = 1;
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.links, 2);
	assert_non_null(out.edits);
	/* Content-Type changed, the 7bit CTE removed, MIME-Version added */
	assert_int_equal(out.edits->len, 3);
	e = g_ptr_array_index(out.edits, 0);
	assert_string_equal(e->name, "Content-Type");
	assert_int_equal(e->index, 1);
	assert_true(g_str_has_prefix(e->value, "multipart/alternative; boundary=\"=_beacon_"));
	e = g_ptr_array_index(out.edits, 1);
	assert_string_equal(e->name, "Content-Transfer-Encoding");
	assert_null(e->value);
	e = g_ptr_array_index(out.edits, 2);
	assert_string_equal(e->name, "MIME-Version");
	assert_string_equal(e->value, "1.0");
	s = g_strndup((const char *)out.body->data, out.body->len);
	/* the text part keeps its bytes; the twin is escaped, with line breaks and links */
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=utf-8\r\n"
			       "Content-Transfer-Encoding: 7bit\r\n\r\nHello <you> & all,\r\n\r\n"
			       "see https://shop.example/a.\r\n"));
	assert_non_null(strstr(s, "Content-Type: text/html; charset=utf-8\r\n"
			       "Content-Transfer-Encoding: quoted-printable\r\n"));
	g_free(s);
	tok = pixel_token(out.body->data, out.body->len);
	g_free(tok);
	track_out_clear(&out);
	conn_free(cc);

	/* split: the copy carries the same header changes */
	cc = build("a@x.example,b@x.example", hdrs, text);
	run(cc, f, 1, NULL, &out);
	assert_int_equal(out.copies, 1);
	t = g_ptr_array_index(f->txns, 0);
	s = fake_header(t->text, "Content-Type");
	assert_true(g_str_has_prefix(s, "multipart/alternative; boundary="));
	g_free(s);
	assert_null(fake_header(t->text, "Content-Transfer-Encoding"));
	s = fake_header(t->text, "MIME-Version");
	assert_string_equal(s, "1.0");
	g_free(s);
	tok = pixel_token(t->text->data, t->text->len);
	g_free(tok);
	track_out_clear(&out);
	conn_free(cc);
	cfg.milter.plain_to_html = 0;
	fake_stop(f);
}

/* added_mid_check - spool_fn: the spooled message rows hold the Message-ID in ARG */
static int added_mid_check(void *arg, uint8_t type, const void *data, size_t len)
{
	struct msg_record *r = record_decode_type(type, data, len);

	assert_non_null(r);
	assert_string_equal(r->message_id, arg);
	record_free(r);
	return 0;
}

/* test_added_message_id - a tracked message without a Message-ID gets one, "<random@host>":
 * an edit that adds it to the original, the same header in every copy, the same in its rows;
 * a message with one keeps it */
static void test_added_message_id(void **state)
{
	char *dir = g_dir_make_tmp("beacon-split-XXXXXX", NULL), *cmd, err[256], *s, *mid;
	GString *hdrs = g_string_new(HDRS);
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc;
	struct milter_env denv = env;
	struct track_out out;
	struct split_edit *e = NULL;
	struct spool *sp;
	char *conninfo = cfg.database.conninfo, *spool_dir = cfg.milter.spool_dir;
	(void)state;

	g_string_replace(hdrs, "Message-ID: <m1@example.com>\n", "", 1);
	cc = build("a@x.example,b@x.example,c@x.example", hdrs->str, HTML);
	/* the rows go to the spool (no database here), where they can be read back */
	cfg.database.conninfo = g_strdup("host=127.0.0.1 port=1 dbname=none user=none");
	cfg.database.connect_timeout = 2;
	cfg.milter.spool_dir = dir;
	cfg.milter.on_db_error = CFG_DBERR_SPOOL;
	denv.store = store_new(&cfg, err, sizeof(err));
	assert_non_null(denv.store);
	free(cfg.milter.reinject);
	cfg.milter.reinject = strdup(f->spec);
	track_message(&denv, cc->msg, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	assert_int_equal(out.copies, 2);
	assert_non_null(out.edits);
	for (guint i = 0; i < out.edits->len && !e; i++) {
		e = g_ptr_array_index(out.edits, i);
		if (strcmp(e->name, "Message-ID") != 0)
			e = NULL;
	}
	assert_non_null(e);
	assert_int_equal(e->index, 1);	/* one past the last: added */
	assert_true(g_str_has_prefix(e->value, "<") && g_str_has_suffix(e->value, ">"));
	assert_non_null(strchr(e->value, '@'));
	assert_int_equal(strcspn(e->value + 1, "@"), 32);	/* 128 random bits in hex */
	for (int i = 0; i < 2; i++) {
		s = fake_header(((struct fake_txn *)g_ptr_array_index(f->txns, i))->text, "Message-ID");
		assert_non_null(s);
		assert_string_equal(s, e->value);
		g_free(s);
	}
	mid = g_strndup(e->value + 1, strlen(e->value) - 2);
	track_out_clear(&out);
	store_stop(denv.store);
	sp = spool_open(dir, "milter", err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_replay(sp, added_mid_check, mid), 1);
	spool_close(sp);
	g_free(mid);
	conn_free(cc);
	g_string_free(hdrs, TRUE);

	/* with a Message-ID: none added */
	cc = build("a@x.example", HDRS, HTML);
	run(cc, NULL, 1, NULL, &out);
	assert_int_equal(out.verdict, TRACK_REWRITTEN);
	for (guint i = 0; out.edits && i < out.edits->len; i++)
		assert_string_not_equal(((struct split_edit *)g_ptr_array_index(out.edits, i))->name,
					"Message-ID");
	track_out_clear(&out);
	conn_free(cc);

	g_free(cfg.database.conninfo);
	cfg.database.conninfo = conninfo;
	cfg.milter.spool_dir = spool_dir;
	fake_stop(f);
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

/* test_split_db_down - the database and the copies: the rows are written (or spooled) before
 * any copy leaves; when they cannot be, the policy applies and no copy leaves */
static void test_split_db_down(void **state)
{
	char *dir = g_dir_make_tmp("beacon-split-XXXXXX", NULL), *cmd, err[256];
	struct smtp_fake *f = fake_start("");
	struct conn_ctx *cc = build("a@x.example,b@x.example", HDRS, HTML);
	struct milter_env denv = env;
	struct track_out out;
	char *conninfo = cfg.database.conninfo, *spool_dir = cfg.milter.spool_dir;
	(void)state;

	cfg.database.conninfo = g_strdup("host=127.0.0.1 port=1 dbname=none user=none");
	cfg.database.connect_timeout = 2;
	cfg.milter.spool_dir = dir;
	for (int mode = CFG_DBERR_SPOOL; mode <= CFG_DBERR_TEMPFAIL; mode++) {
		int before = fake_count(f);

		cfg.milter.on_db_error = mode;
		denv.store = store_new(&cfg, err, sizeof(err));
		assert_non_null(denv.store);
		/* believed up: the write fails first; a copy goes only once the rows are spooled */
		free(cfg.milter.reinject);
		cfg.milter.reinject = strdup(f->spec);
		track_message(&denv, cc->msg, NULL, &out);
		if (mode == CFG_DBERR_SPOOL) {
			assert_int_equal(out.verdict, TRACK_REWRITTEN);
			assert_int_equal(out.spooled, 1);
			assert_int_equal(out.copies, 1);
			assert_non_null(out.body);
			assert_int_equal(fake_count(f), before + 1);
		} else {
			/* the rows are lost: no copy leaves, the policy decides */
			assert_int_equal(out.verdict,
					 mode == CFG_DBERR_ACCEPT ? TRACK_UNTOUCHED : TRACK_TEMPFAIL);
			assert_int_equal(out.copies, 0);
			assert_int_equal(fake_count(f), before);
			before--;	/* no copy left: one fewer than the counts below */
		}
		track_out_clear(&out);
		/* known down now */
		track_message(&denv, cc->msg, NULL, &out);
		switch (mode) {
		case CFG_DBERR_SPOOL:
			assert_int_equal(out.verdict, TRACK_REWRITTEN);
			assert_int_equal(out.copies, 1);
			assert_int_equal(out.spooled, 1);
			assert_int_equal(fake_count(f), before + 2);
			break;
		case CFG_DBERR_ACCEPT:
			assert_int_equal(out.verdict, TRACK_UNTOUCHED);
			assert_string_equal(out.reason, "database unavailable: delivered untracked");
			assert_int_equal(fake_count(f), before + 1);
			break;
		case CFG_DBERR_TEMPFAIL:
			assert_int_equal(out.verdict, TRACK_TEMPFAIL);
			assert_string_equal(out.reason, "database unavailable (on_db_error = tempfail)");
			assert_int_equal(fake_count(f), before + 1);
			break;
		}
		assert_int_equal(out.verdict == TRACK_REWRITTEN, out.delrcpts != NULL);
		track_out_clear(&out);
		store_stop(denv.store);
	}
	g_free(cfg.database.conninfo);
	cfg.database.conninfo = conninfo;
	cfg.milter.spool_dir = spool_dir;
	cfg.milter.on_db_error = CFG_DBERR_SPOOL;
	cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	conn_free(cc);
	fake_stop(f);
}

/* test_copy_header - token_sign under rotation; what does not verify */
static void test_copy_header(void **state)
{
	const char *rc2[] = { "A@x.example", "b@x.example" }, *rc1[] = { "a@x.example" };
	const char *uuid = "0b5c1d1e-9a6f-4f4e-8c38-0d0f4a4d2c11";
	struct token_keys *rot = token_keys_new();
	uint8_t k4[TOKEN_KEY_LEN], k5[TOKEN_KEY_LEN];
	char sig[TOKEN_SIG_STR_LEN + 1], *v, *hdrs, *u;
	struct conn_ctx *cc;
	int forged;
	(void)state;

	memset(k4, 9, sizeof(k4));	/* the key the tests sign with */
	memset(k5, 5, sizeof(k5));
	token_keys_add(rot, 4, k4);
	token_keys_add(rot, 5, k5);
	/* reserved purposes and a missing key are refused */
	assert_int_equal(token_sign(keys, 't', "x", 1, sig), -1);
	assert_int_equal(token_sign(keys, 'c', "x", 1, sig), -1);
	assert_int_equal(token_sign(NULL, 'r', "x", 1, sig), -1);
	assert_int_equal(token_sign(keys, 'r', "x", 1, sig), 0);
	assert_int_equal(strlen(sig), TOKEN_SIG_STR_LEN);
	assert_int_equal(token_sign_check(keys, 'r', "x", 1, sig, strlen(sig)), TOKEN_OK);
	assert_int_equal(token_sign_check(keys, 's', "x", 1, sig, strlen(sig)), TOKEN_BAD_MAC);
	assert_int_equal(token_sign_check(keys, 'r', "y", 1, sig, strlen(sig)), TOKEN_BAD_MAC);
	assert_int_equal(token_sign_check(keys, 'r', "x", 1, sig, 14), TOKEN_MALFORMED);
	/* a copy header for two recipients, made under key 4, verifies after rotation to 5;
	 * the envelope's case does not matter, its order and members do */
	v = split_copy_value(keys, uuid, rc2, 2);
	hdrs = g_strdup_printf("X-Beacon-Copy: %s\n%s", v, HDRS);
	cc = build("a@x.example,B@X.example", hdrs, HTML);
	u = split_copy_check(rot, "X-Beacon", cc->msg, &forged);
	assert_non_null(u);
	assert_string_equal(u, uuid);
	assert_int_equal(forged, 0);
	g_free(u);
	conn_free(cc);
	cc = build("b@x.example,a@x.example", hdrs, HTML);
	assert_null(split_copy_check(rot, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 1);
	conn_free(cc);
	cc = build("a@x.example", hdrs, HTML);
	assert_null(split_copy_check(rot, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 1);
	conn_free(cc);
	g_free(hdrs);
	g_free(v);
	/* the uuid is signed too; an unknown key id is not trusted */
	v = split_copy_value(keys, uuid, rc1, 1);
	v[0] = v[0] == '0' ? '1' : '0';
	hdrs = g_strdup_printf("X-Beacon-Copy: %s\n%s", v, HDRS);
	cc = build("a@x.example", hdrs, HTML);
	assert_null(split_copy_check(keys, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 1);
	conn_free(cc);
	g_free(hdrs);
	g_free(v);
	token_keys_free(rot);
	rot = token_keys_new();
	token_keys_add(rot, 5, k5);
	v = split_copy_value(keys, uuid, rc1, 1);
	hdrs = g_strdup_printf("X-Beacon-Copy: %s\n%s", v, HDRS);
	cc = build("a@x.example", hdrs, HTML);
	assert_null(split_copy_check(rot, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 1);
	/* no copy header: neither a copy nor forged */
	conn_free(cc);
	cc = build("a@x.example", HDRS, HTML);
	assert_null(split_copy_check(keys, "X-Beacon", cc->msg, &forged));
	assert_int_equal(forged, 0);
	conn_free(cc);
	g_free(hdrs);
	g_free(v);
	token_keys_free(rot);
}

/* main - configuration and keys */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_all),
		cmocka_unit_test(test_split_refused),
		cmocka_unit_test(test_split_first_fails),
		cmocka_unit_test(test_split_excluded),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_forged_tagged),
		cmocka_unit_test(test_plain_to_html),
		cmocka_unit_test(test_split_db_down),
		cmocka_unit_test(test_added_message_id),
		cmocka_unit_test(test_copy_header),
		cmocka_unit_test(test_split_retry),
		cmocka_unit_test(test_split_not_retry_safe),
		cmocka_unit_test(test_forged_copy_no_early_pass),
	};
	static char *internal[] = { "corp.example", NULL };
	uint8_t key[TOKEN_KEY_LEN];
	int rc;

	g_mime_init();
	assert_int_equal(token_init(), 0);
	cfg_defaults(&cfg);
	free(cfg.global.base_url);
	cfg.global.base_url = strdup(BASE);
	cfg.milter.internal_domains = (struct cfg_list){ internal, 1 };
	keys = token_keys_new();
	memset(key, 9, sizeof(key));
	token_keys_add(keys, 4, key);
	env = (struct milter_env){ &cfg, keys, BASE "/p.gif", NULL, NULL, NULL, NULL };
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cfg.milter.internal_domains = (struct cfg_list){ NULL, 0 };
	cfg_free(&cfg);
	token_keys_free(keys);
	g_mime_shutdown();
	return rc;
}
