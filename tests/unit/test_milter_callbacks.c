/*
 * test_milter_callbacks.c - unit tests of the steps of milter/callbacks.c
 * that need no MTA: the negotiation of actions and steps, the client
 * address, end of headers (the header check end of message makes
 * again) and how a message ends (reply and log line).
 *
 * DESCRIPTION
 *	Messages are built the way the callbacks fill them.  For each one
 *	end of headers must agree with end of message: what end of headers
 *	passes at once, end of message would have left untouched for the
 *	same reason; what it lets skip its body (a copy, "X-Beacon: no"),
 *	end of message finishes without it.  The end of a message is the
 *	failure policy's reply for what track_message_with() decided and
 *	whether the MTA took the changes, and its log line is the one the
 *	end-to-end tests look for.  No libmilter function is called.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "callbacks.h"
#include "cfg.h"
#include "log.h"
#include "split.h"
#include "token.h"

#define BASE "https://t.example"
#define UUID "0b5c1d1e-9a6f-4f4e-8c38-0d0f4a4d2c11"

static struct beacon_cfg cfg;
static struct token_keys *keys;
static struct milter_env env;

/* build - a message to RCPTS with HEADERS ("Name: value\n"), headers counted against MAX */
static struct conn_ctx *build(const char *rcpts, const char *headers, long long max)
{
	struct conn_ctx *cc = conn_new();
	char **r = g_strsplit(rcpts, ",", -1);
	char **h = g_strsplit(headers, "\n", -1);

	msg_begin(cc, "<s@example.com>", NULL);
	cc->msg->trusted = 1;	/* a trusted submission (trust.h) */
	msg_set_queue_id(cc->msg, "QCB");
	for (int i = 0; r[i]; i++)
		msg_add_rcpt(cc->msg, r[i], NULL);
	for (int i = 0; h[i] && h[i][0]; i++) {
		char *colon = strchr(h[i], ':');
		char *name = g_strndup(h[i], (gsize)(colon - h[i]));
		msg_add_header(cc->msg, name, colon + 2, max);
		g_free(name);
	}
	g_strfreev(r);
	g_strfreev(h);
	return cc;
}

/* capture_begin - stderr (the log) into a temporary file; the saved descriptor */
static int capture_begin(FILE **tmp)
{
	int saved;

	fflush(stderr);
	saved = dup(2);
	*tmp = tmpfile();
	assert_non_null(*tmp);
	dup2(fileno(*tmp), 2);
	return saved;
}

/* capture_end - stderr back; what was logged (g_free) */
static char *capture_end(FILE *tmp, int saved)
{
	char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return g_strdup(buf);
}

/* test_agree - actions and steps asked for, and what the connection notes */
static void test_agree(void **state)
{
	const unsigned long all = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT |
				  SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	const unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP |
				    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR;
	struct conn_ctx *c = conn_new();
	unsigned long pf0 = 0, pf1 = 0;
	(void)state;

	/* no body or header changes: refused */
	assert_int_equal(callbacks_agree(c, all & ~SMFIF_CHGBODY, steps, &pf0, &pf1), -1);
	assert_int_equal(callbacks_agree(c, all & ~SMFIF_CHGHDRS, steps, &pf0, &pf1), -1);
	/* everything offered: only what is used is taken */
	assert_int_equal(callbacks_agree(c, all, steps | SMFIP_NOCONNECT | SMFIP_NOBODY, &pf0, &pf1),
			 0);
	assert_int_equal(pf0, SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
	assert_int_equal(pf1, steps);
	assert_true(c->can_delrcpt);
	assert_true(c->can_skip);
	assert_int_equal(c->nr_flags, SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR);
	/* an old MTA: no recipient removal (tokens are shared), no skip, a reply to every step */
	assert_int_equal(callbacks_agree(c, SMFIF_CHGBODY | SMFIF_CHGHDRS, 0, &pf0, &pf1), 0);
	assert_int_equal(pf0, SMFIF_CHGBODY | SMFIF_CHGHDRS);
	assert_int_equal(pf1, 0);
	assert_false(c->can_delrcpt);
	assert_false(c->can_skip);
	assert_int_equal(c->nr_flags, 0);
	conn_free(c);
}

/* test_client_ip - IPv4, IPv6, and neither */
static void test_client_ip(void **state)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char *s;
	(void)state;

	inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	s = callbacks_client_ip((struct sockaddr *)&v4);
	assert_string_equal(s, "192.0.2.7");
	g_free(s);
	s = callbacks_client_ip((struct sockaddr *)&v6);
	assert_string_equal(s, "2001:db8::1");
	g_free(s);
	assert_null(callbacks_client_ip((struct sockaddr *)&un));
	assert_null(callbacks_client_ip(NULL));
}

/* eoh_case - one message at end of headers and at end of message */
struct eoh_case {
	const char *name;		/* what it shows */
	const char *rcpts;		/* comma-separated recipients */
	const char *headers;		/* "Name: value\n" lines; COPY is replaced by a copy header */
	long long max;			/* max_message_size for the headers, 0 none */
	int rc;				/* callbacks_end_headers: 0 read on, -1 accept now */
	const char *why;		/* its reason (rc -1) */
	int skip_body;			/* the body is not needed */
	enum track_verdict verdict;	/* what end of message decides */
	const char *reason;		/* its reason (substring), or NULL */
	int remove_tag;			/* the tag header goes */
};

#define HDRS "From: s@example.com\nTo: a@x.example\nSubject: t\n" \
	"Content-Type: text/html; charset=utf-8\n"
#define HTML "<html><body><a href=\"https://shop.example/a\">a</a></body></html>\r\n"

static const struct eoh_case eoh_cases[] = {
	{ "tagged", "a@x.example", HDRS "X-Beacon: track\n", 0, 0, NULL, 0, TRACK_REWRITTEN,
	  NULL, 1 },
	{ "untagged", "a@x.example", HDRS, 0, 0, NULL, 0, TRACK_UNTOUCHED, "no tag", 0 },
	{ "DKIM-signed", "a@x.example", "DKIM-Signature: v=1; d=example.com\n" HDRS
	  "X-Beacon: track\n", 0, -1, "already DKIM-signed", 0, TRACK_UNTOUCHED,
	  "already DKIM-signed", 0 },
	{ "multipart/signed", "a@x.example", "X-Beacon: track\nContent-Type: multipart/signed; "
	  "protocol=\"application/pgp-signature\"; boundary=b\n", 0, -1, "multipart/signed", 0,
	  TRACK_UNTOUCHED, "multipart/signed", 0 },
	{ "tag says no", "a@x.example", HDRS "X-Beacon: no\n", 0, 0, NULL, 1, TRACK_UNTOUCHED,
	  "X-Beacon: no", 1 },
	{ "headers over the limit", "a@x.example", HDRS "X-Beacon: track\n", 40, -1,
	  "over max_message_size", 0, TRACK_UNTOUCHED, "over max_message_size", 0 },
	{ "a copy", "a@x.example", "COPY\n" HDRS, 0, 0, NULL, 1, TRACK_COPY,
	  "copy of message " UUID, 0 },
	{ "a copy for someone else", "z@x.example", "COPY\n" HDRS, 0, 0, NULL, 0, TRACK_UNTOUCHED,
	  "no tag", 0 },
};

/* run_eoh_case - end of headers, then (with the body unless skipped) end of message */
static void run_eoh_case(const struct eoh_case *c)
{
	const char *rc1[] = { "a@x.example" };
	char *value = split_copy_value(keys, UUID, rc1, 1);
	char *copy = g_strdup_printf("X-Beacon-Copy: %s", value);
	char *headers = g_strdup(c->headers);
	struct conn_ctx *cc;
	struct track_out out;
	const char *why = NULL;
	int rc;

	if (g_str_has_prefix(headers, "COPY")) {
		char *h = g_strconcat(copy, headers + 4, NULL);
		g_free(headers);
		headers = h;
	}
	cc = build(c->rcpts, headers, c->max);
	cc->msg->via_reinject = 1;	/* copies are trusted only from the reinject listener */
	rc = callbacks_end_headers(&env, cc->msg, &why);
	if (rc != c->rc || cc->msg->skip_body != c->skip_body)
		fail_msg("%s: end of headers %d (%s), skip_body %d", c->name, rc, why ? why : "",
			 cc->msg->skip_body);
	if (c->why && (!why || strcmp(why, c->why) != 0))
		fail_msg("%s: reason \"%s\"", c->name, why ? why : "(none)");
	/* end of message on the same message */
	if (!cc->msg->skip_body)
		msg_add_body(cc->msg, (const unsigned char *)HTML, strlen(HTML), c->max);
	track_message(&env, cc->msg, NULL, &out);
	if (out.verdict != c->verdict || out.remove_tag != c->remove_tag)
		fail_msg("%s: end of message %d, remove_tag %d (%s)", c->name, out.verdict,
			 out.remove_tag, out.reason);
	if (c->reason && !strstr(out.reason, c->reason))
		fail_msg("%s: reason \"%s\"", c->name, out.reason);
	/* what end of headers accepts at once, end of message leaves alone for the same reason */
	if (rc < 0)
		assert_string_equal(out.reason, why);
	track_out_clear(&out);
	conn_free(cc);
	g_free(headers);
	g_free(copy);
	g_free(value);
}

/* test_end_headers - the table */
static void test_end_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(eoh_cases) / sizeof(eoh_cases[0]); i++)
		run_eoh_case(&eoh_cases[i]);
}

/* test_untrusted - an untrusted client: passed at end of headers without a tag header;
 * with one, its body is skipped and end of message only removes the tag headers, with one
 * log line naming the client */
static void test_untrusted(void **state)
{
	struct conn_ctx *cc = build("a@x.example", HDRS, 0);
	struct track_out out;
	const char *why = NULL;
	char *log;
	FILE *tmp;
	int saved;
	(void)state;

	cc->client_ip = g_strdup("192.0.2.7");
	cc->daemon_name = g_strdup("mx");
	callbacks_trust(&env, cc, cc->msg);
	assert_false(cc->msg->trusted);
	assert_int_equal(callbacks_end_headers(&env, cc->msg, &why), -1);
	assert_string_equal(why, "untrusted submission, no tag header");
	conn_free(cc);

	cc = build("a@x.example", HDRS "X-Beacon: track\nX-Beacon: no\n", 0);
	cc->client_ip = g_strdup("192.0.2.7");
	callbacks_trust(&env, cc, cc->msg);
	assert_int_equal(callbacks_end_headers(&env, cc->msg, &why), 0);
	assert_true(cc->msg->skip_body);
	track_message(&env, cc->msg, cc->client_ip, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_int_equal(out.remove_tag, 1);
	assert_null(out.body);
	assert_null(out.edits);
	saved = capture_begin(&tmp);
	assert_int_equal(callbacks_outcome(&env, cc->msg, &out, 0), SMFIS_ACCEPT);
	log = capture_end(tmp, saved);
	assert_non_null(strstr(log, "QCB: untouched: untrusted submission (client 192.0.2.7, no "
				    "SASL login, daemon unknown) (tag header removed)\n"));
	g_free(log);
	track_out_clear(&out);

	/* the same client after SMTP AUTH, and on a listed daemon */
	g_free(cc->msg->sasl_login);
	cc->msg->sasl_login = g_strdup("alice");
	callbacks_trust(&env, cc, cc->msg);
	assert_true(cc->msg->trusted);
	assert_string_equal(cc->msg->trust_why, "SASL login alice");
	conn_free(cc);
}

/* outcome_case - how a message ends */
struct outcome_case {
	int on_db_error;		/* CFG_DBERR_* */
	enum track_verdict verdict;	/* what track_message_with() decided */
	enum policy_cause cause;	/* the failure behind it */
	const char *reason;		/* its reason */
	int remove_tag;			/* the tag header goes */
	int copies;			/* copies handed over */
	int applied;			/* 0: the MTA took the changes, -1: it refused one */
	sfsistat reply;			/* expected */
	const char *line;		/* expected in the log */
};

static const struct outcome_case outcome_cases[] = {
	{ CFG_DBERR_SPOOL, TRACK_REWRITTEN, POLICY_NONE, "", 1, 0, 0, SMFIS_ACCEPT,
	  "QCB: tracked: 1 recipient (tracked), 2 links, message " UUID "\n" },
	{ CFG_DBERR_SPOOL, TRACK_REWRITTEN, POLICY_NONE, "", 1, 0, -1, SMFIS_TEMPFAIL,
	  "QCB: the MTA refused a change: temp-failed\n" },
	{ CFG_DBERR_SPOOL, TRACK_REWRITTEN, POLICY_NONE, "", 1, 3, -1, SMFIS_ACCEPT,
	  "QCB: the MTA refused a change after 3 copies left: delivered as the MTA has it\n" },
	{ CFG_DBERR_SPOOL, TRACK_TEMPFAIL, POLICY_REINJECT,
	  "re-injection failed, nothing sent: 127.0.0.1:1: connect", 0, 0, 0, SMFIS_TEMPFAIL,
	  "QCB: temp-failed: re-injection failed, nothing sent: 127.0.0.1:1: connect\n" },
	{ CFG_DBERR_TEMPFAIL, TRACK_TEMPFAIL, POLICY_DB_DOWN,
	  "database unavailable (on_db_error = tempfail)", 0, 0, 0, SMFIS_TEMPFAIL,
	  "QCB: temp-failed: database unavailable (on_db_error = tempfail)\n" },
	{ CFG_DBERR_ACCEPT, TRACK_UNTOUCHED, POLICY_ROWS_LOST,
	  "database unavailable: delivered untracked", 1, 0, 0, SMFIS_ACCEPT,
	  "QCB: untouched: database unavailable: delivered untracked (tag header removed)\n" },
	{ CFG_DBERR_SPOOL, TRACK_UNTOUCHED, POLICY_NONE, "no tag", 0, 0, 0, SMFIS_ACCEPT,
	  "QCB: untouched: no tag\n" },
	{ CFG_DBERR_SPOOL, TRACK_COPY, POLICY_NONE, "copy of message " UUID, 0, 0, 0, SMFIS_ACCEPT,
	  "QCB: untouched: copy of message " UUID " (copy header removed)\n" },
};

/* test_outcome - the reply and the log line */
static void test_outcome(void **state)
{
	struct conn_ctx *cc = build("a@x.example", HDRS, 0);
	(void)state;

	for (size_t i = 0; i < sizeof(outcome_cases) / sizeof(outcome_cases[0]); i++) {
		const struct outcome_case *c = &outcome_cases[i];
		struct track_out out;
		FILE *tmp;
		char *log;
		int saved;
		sfsistat reply;

		memset(&out, 0, sizeof(out));
		out.verdict = c->verdict;
		out.cause = c->cause;
		g_strlcpy(out.reason, c->reason, sizeof(out.reason));
		out.remove_tag = c->remove_tag;
		out.copies = c->copies;
		out.tracked = 1;
		out.links = 2;
		g_strlcpy(out.mode, "tracked", sizeof(out.mode));
		g_strlcpy(out.msg_uuid, UUID, sizeof(out.msg_uuid));
		cfg.milter.on_db_error = c->on_db_error;
		saved = capture_begin(&tmp);
		reply = callbacks_outcome(&env, cc->msg, &out, c->applied);
		log = capture_end(tmp, saved);
		if (reply != c->reply || !strstr(log, c->line))
			fail_msg("case %zu: reply %d, logged \"%s\"", i, reply, log);
		g_free(log);
	}
	cfg.milter.on_db_error = CFG_DBERR_SPOOL;
	conn_free(cc);
}

/* track_then_end - track CC's message, check the verdict and cause, then how it ends */
static void track_then_end(struct conn_ctx *cc, enum track_verdict verdict,
			   enum policy_cause cause, sfsistat reply, const char *line)
{
	struct track_out out;
	FILE *tmp;
	char *log;
	int saved;

	track_message(&env, cc->msg, NULL, &out);
	assert_int_equal(out.verdict, verdict);
	assert_int_equal(out.cause, cause);
	saved = capture_begin(&tmp);
	assert_int_equal(callbacks_outcome(&env, cc->msg, &out, 0), reply);
	log = capture_end(tmp, saved);
	if (!strstr(log, line))
		fail_msg("logged \"%s\", not \"%s\"", log, line);
	g_free(log);
	track_out_clear(&out);
}

/* test_outcome_of_track - what track_message_with() decides gets the reply it implies */
static void test_outcome_of_track(void **state)
{
	struct conn_ctx *cc = build("a@x.example,b@x.example", HDRS "X-Beacon: track\n", 0);
	(void)state;

	msg_end_headers(cc->msg);
	msg_add_body(cc->msg, (const unsigned char *)HTML, strlen(HTML), 0);
	/* two recipients, a split, nothing listening for the copy: temp-failed */
	free(cfg.milter.reinject);
	cfg.milter.reinject = strdup("127.0.0.1:1");
	track_then_end(cc, TRACK_TEMPFAIL, POLICY_REINJECT, SMFIS_TEMPFAIL,
		       "QCB: temp-failed: re-injection failed, nothing sent: ");
	/* shared tokens: tracked and accepted */
	cfg.milter.per_recipient = CFG_PER_RCPT_SHARED;
	track_then_end(cc, TRACK_REWRITTEN, POLICY_NONE, SMFIS_ACCEPT,
		       "QCB: tracked: 2 recipients (shared), 1 link, message ");
	cfg.milter.per_recipient = CFG_PER_RCPT_SPLIT;
	conn_free(cc);
}

/* main - configuration and keys */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),
		cmocka_unit_test(test_client_ip),
		cmocka_unit_test(test_end_headers),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_outcome_of_track),
	};
	uint8_t key[TOKEN_KEY_LEN];
	struct trust *trust;
	char err[256];
	int rc;

	g_mime_init();
	assert_int_equal(token_init(), 0);
	log_init("test_milter_callbacks", 1, 0);
	cfg_defaults(&cfg);
	free(cfg.global.base_url);
	cfg.global.base_url = strdup(BASE);
	keys = token_keys_new();
	memset(key, 9, sizeof(key));
	token_keys_add(keys, 4, key);
	trust = trust_new(&cfg, err, sizeof(err));
	assert_non_null(trust);
	env = (struct milter_env){ &cfg, keys, BASE "/p.gif", NULL, trust, NULL, NULL };
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	trust_free(trust);
	token_keys_free(keys);
	cfg_free(&cfg);
	g_mime_shutdown();
	return rc;
}
