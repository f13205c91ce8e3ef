/*
 * test_milter_track.c - unit tests of the end-of-message decision
 * (milter/track.c over milter/msgctx.c), without an MTA or a database,
 * with per_recipient = shared (test_milter_track_split.c covers the split and
 * excluded recipients beside tracked ones).
 *
 * DESCRIPTION
 *	Each case builds a message context the way the callbacks do
 *	(envelope, headers one by one, body in chunks), runs
 *	track_message() and checks the verdict, the reason, whether the tag
 *	header is to be removed, and for rewritten messages that the pixel
 *	carries a token that verifies under the key and that every click URL
 *	verifies for that token with links numbered from 1, but for one
 *	hidden link numbered 0 to the base URL after the pixel, when clicks
 *	are tracked.
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
#include <gmime/gmime.h>

#include "track.h"
#include "cfg.h"
#include "token.h"

#define BASE "https://t.example"

static struct beacon_cfg cfg;
static struct token_keys *keys;
static struct milter_env env;

/* track_case - one message and the decision it must get */
struct track_case {
	const char *name;	/* what it shows */
	const char *sender;	/* envelope sender */
	const char *sasl;	/* {auth_authen} or NULL */
	const char *rcpts;	/* comma-separated recipients */
	const char *headers;	/* "Name: value\n" lines */
	const char *body;	/* body with \n line ends (sent as CRLF) */
	enum track_verdict verdict;	/* expected */
	const char *reason;	/* substring of the reason (untouched) */
	int remove_tag;		/* expected */
	int tracked, internal, links;	/* expected counts (rewritten) */
};

#define HTML_HDRS "From: s@example.com\nTo: r@example.org\nSubject: t\nContent-Type: text/html; charset=utf-8\n"
#define HTML "<html><body><a href=\"https://shop.example/a\">a</a> <a href=\"https://shop.example/b\">b</a></body></html>\n"
#define PH_HTML "<p><img src=\"" BASE "/p.gif\"></p>\n"

static const struct track_case cases[] = {
	{ "untagged", "s@example.com", NULL, "r@example.org", HTML_HDRS, HTML,
	  TRACK_UNTOUCHED, "no tag", 0, 0, 0, 0 },
	{ "tagged, two recipients", "s@example.com", NULL, "r@example.org,q@example.net",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_REWRITTEN, NULL, 1, 2, 0, 2 },
	{ "tag says no", "s@example.com", NULL, "r@example.org", HTML_HDRS "X-Beacon: no\n", HTML,
	  TRACK_UNTOUCHED, "X-Beacon: no", 1, 0, 0, 0 },
	{ "DKIM-signed", "s@example.com", NULL, "r@example.org",
	  "DKIM-Signature: v=1; d=example.com\n" HTML_HDRS "X-Beacon: track\n", HTML,
	  TRACK_UNTOUCHED, "DKIM", 0, 0, 0, 0 },
	{ "internal only", "s@example.com", NULL, "a@corp.example,b@corp.example",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_UNTOUCHED, "no trackable recipient", 1, 0, 0, 0 },
	{ "internal, other spellings", "s@example.com", NULL, "a@corp.example.,<B@CORP.Example.>",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_UNTOUCHED, "no trackable recipient", 1, 0, 0, 0 },
	{ "no one form: never tracked", "s@example.com", NULL, "a@example.org..,\"b@example.org,@x.example",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_UNTOUCHED, "no trackable recipient", 1, 0, 0, 0 },
	{ "one mailbox spelled twice", "s@example.com", NULL, "r@example.org,<R@Example.ORG.>",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_REWRITTEN, NULL, 1, 1, 0, 2 },
	{ "sender rule, trailing dot", "NEWS@Letters.Example.", NULL, "r@example.org", HTML_HDRS, HTML,
	  TRACK_REWRITTEN, NULL, 0, 1, 0, 2 },
	{ "placeholder only", "s@example.com", NULL, "r@example.org", HTML_HDRS, PH_HTML HTML,
	  TRACK_REWRITTEN, NULL, 0, 1, 0, 2 },
	{ "sender rule", "news@letters.example", NULL, "r@example.org", HTML_HDRS, HTML,
	  TRACK_REWRITTEN, NULL, 0, 1, 0, 2 },
	{ "sasl rule", "x@example.com", "mkt", "r@example.org", HTML_HDRS, HTML,
	  TRACK_REWRITTEN, NULL, 0, 1, 0, 2 },
	{ "sender exception", "ceo@letters.example", NULL, "r@example.org", HTML_HDRS, HTML,
	  TRACK_UNTOUCHED, "excepted", 0, 0, 0, 0 },
	{ "exception, tagged anyway", "ceo@letters.example", NULL, "r@example.org",
	  HTML_HDRS "X-Beacon: track\n", HTML, TRACK_REWRITTEN, NULL, 1, 1, 0, 2 },
	{ "clicks=no", "s@example.com", NULL, "r@example.org",
	  HTML_HDRS "X-Beacon: track; clicks=no\n", HTML, TRACK_REWRITTEN, NULL, 1, 1, 0, 0 },
	{ "text only", "s@example.com", NULL, "r@example.org",
	  "From: s@example.com\nX-Beacon: track\nContent-Type: text/plain\n", "plain\n",
	  TRACK_UNTOUCHED, "no text/html part", 1, 0, 0, 0 },
	{ "nested signed", "s@example.com", NULL, "r@example.org",
	  "X-Beacon: track\nContent-Type: multipart/mixed; boundary=o\n",
	  "--o\nContent-Type: multipart/signed; boundary=s\n\n--s\nContent-Type: text/html\n\n"
	  HTML "--s\nContent-Type: application/pgp-signature\n\nsig\n--s--\n--o--\n",
	  TRACK_UNTOUCHED, "multipart/signed", 0, 0, 0, 0 },
	{ "malformed tag tracks", "s@example.com", NULL, "r@example.org",
	  HTML_HDRS "X-Beacon: track; clicks=sometimes\n", HTML, TRACK_REWRITTEN, NULL, 1, 1, 0, 2 },
	{ "folded headers", "s@example.com", NULL, "r@example.org",
	  "From: s@example.com\nContent-Type: text/html;\n\tcharset=utf-8\nX-Beacon: track;\n campaign=x\n",
	  HTML, TRACK_REWRITTEN, NULL, 1, 1, 0, 2 },
};

/* untrusted_cases - the same rules for a submission that may not ask for tracking: only
 * the tag headers go (client, login and daemon as callbacks_trust would note them) */
static const struct track_case untrusted_cases[] = {
	{ "untrusted, tagged", "s@example.com", NULL, "r@example.org",
	  HTML_HDRS "X-Beacon: track\nX-Beacon: track\n", PH_HTML HTML, TRACK_UNTOUCHED,
	  "untrusted submission (client 203.0.113.9", 1, 0, 0, 0 },
	{ "untrusted, placeholder only", "s@example.com", NULL, "r@example.org", HTML_HDRS,
	  PH_HTML HTML, TRACK_UNTOUCHED, "untrusted submission", 0, 0, 0, 0 },
	{ "untrusted, sender rule", "news@letters.example", NULL, "r@example.org", HTML_HDRS,
	  HTML, TRACK_UNTOUCHED, "untrusted submission", 0, 0, 0, 0 },
	{ "untrusted, tag says no", "s@example.com", NULL, "r@example.org",
	  HTML_HDRS "X-Beacon: no\n", HTML, TRACK_UNTOUCHED, "untrusted submission", 1, 0, 0, 0 },
	{ "untrusted, DKIM-signed and tagged", "s@example.com", NULL, "r@example.org",
	  "DKIM-Signature: v=1; d=example.com\n" HTML_HDRS "X-Beacon: track\n", HTML,
	  TRACK_UNTOUCHED, "untrusted submission", 1, 0, 0, 0 },
};

/* build - a message context as the callbacks would fill it */
static struct conn_ctx *build(const struct track_case *c, long long max)
{
	struct conn_ctx *cc = conn_new();
	char **r = g_strsplit(c->rcpts, ",", -1);
	char **h = g_strsplit(c->headers, "\n", -1);
	GString *body = g_string_new(NULL);

	msg_begin(cc, c->sender, NULL);
	cc->msg->trusted = 1;	/* a trusted submission (trust.h) */
	if (c->sasl)
		cc->msg->sasl_login = g_strdup(c->sasl);
	for (int i = 0; r[i]; i++)
		msg_add_rcpt(cc->msg, r[i], NULL);
	/* headers: a line starting with a blank continues the previous one */
	for (int i = 0; h[i] && h[i][0]; i++) {
		GString *v = g_string_new(strchr(h[i], ':') + 2);
		char *name = g_strndup(h[i], (gsize)(strchr(h[i], ':') - h[i]));
		while (h[i + 1] && (h[i + 1][0] == ' ' || h[i + 1][0] == '\t'))
			g_string_append_printf(v, "\n%s", h[++i]);
		msg_add_header(cc->msg, name, v->str, max);
		g_free(name);
		g_string_free(v, TRUE);
	}
	msg_end_headers(cc->msg);
	for (const char *p = c->body; *p; p++) {
		if (*p == '\n')
			g_string_append_c(body, '\r');
		g_string_append_c(body, *p);
	}
	/* in chunks of 7 octets, as an MTA may split them anywhere */
	for (size_t off = 0; off < body->len; off += 7)
		msg_add_body(cc->msg, (const unsigned char *)body->str + off,
			     MIN((size_t)7, body->len - off), max);
	g_strfreev(r);
	g_strfreev(h);
	g_string_free(body, TRUE);
	return cc;
}

/* HIDDEN - what the hidden link starts with */
#define HIDDEN "<span style=\"display:none;mso-hide:all\" aria-hidden=\"true\"><a href=\""

/* check_urls - the pixel token verifies; click URLs verify for it, numbered 1.., and with
 * clicks on one hidden link 0 to the base URL follows the pixel */
static void check_urls(const struct track_case *c, const GByteArray *body)
{
	char *s = g_strndup((const char *)body->data, body->len);
	char *px = strstr(s, BASE "/o/"), *p;
	struct token tok;
	int n = 0, hidden = 0;

	if (!px)
		fail_msg("%s: no pixel in %s", c->name, s);
	px += strlen(BASE "/o/");
	assert_int_equal(token_parse(keys, px, TOKEN_STR_LEN, &tok), TOKEN_OK);
	assert_memory_equal(px + TOKEN_STR_LEN, ".gif", 4);
	for (p = s; (p = strstr(p, BASE "/c/")) != NULL; ) {
		char *t = p + strlen(BASE "/c/"), *ns, *mac, *u, *end;
		struct token ct;
		unsigned ln;
		char *url = NULL;

		ns = strchr(t, '/');
		mac = strchr(ns + 1, '/');
		u = strstr(mac, "?u=");
		end = u + 3 + strcspn(u + 3, "\"");
		assert_memory_equal(t, px, TOKEN_STR_LEN);
		assert_int_equal(clickurl_check(keys, t, (size_t)(ns - t), ns + 1,
						(size_t)(mac - ns - 1), mac + 1, (size_t)(u - mac - 1),
						u + 3, (size_t)(end - u - 3), &ct, &ln, &url), TOKEN_OK);
		if (ln == 0) {
			assert_string_equal(url, BASE);
			assert_true(p > px);
			assert_true(p - s >= (ptrdiff_t)strlen(HIDDEN));
			assert_memory_equal(p - strlen(HIDDEN), HIDDEN, strlen(HIDDEN));
			assert_string_equal(end, "\" tabindex=\"-1\" aria-hidden=\"true\" "
			    "style=\"display:none;mso-hide:all\"></a></span></body></html>\r\n");
			hidden++;
			free(url);
			p = end;
			continue;
		}
		assert_int_equal(ln, (unsigned)++n);
		assert_string_equal(url, n == 1 ? "https://shop.example/a" : "https://shop.example/b");
		free(url);
		p = end;
	}
	assert_int_equal(n, c->links);
	assert_int_equal(hidden, strstr(c->headers, "clicks=no") ? 0 : 1);
	g_free(s);
}

/* run_case - decide about C's message, TRUSTED or not, and check the decision */
static void run_case(const struct track_case *c, int trusted)
{
	{
		struct conn_ctx *cc = build(c, cfg.milter.max_message_size);
		struct track_out out;

		cc->msg->trusted = trusted;
		if (!trusted)
			cc->msg->trust_why = g_strdup("client 203.0.113.9, no SASL login, daemon mx");

		track_message(&env, cc->msg, "192.0.2.1", &out);
		if (out.verdict != c->verdict || out.remove_tag != c->remove_tag ||
		    (c->reason && !strstr(out.reason, c->reason)))
			fail_msg("%s: verdict %d remove_tag %d reason '%s'", c->name, out.verdict,
				 out.remove_tag, out.reason);
		if (c->verdict == TRACK_REWRITTEN) {
			assert_non_null(out.body);
			assert_int_equal(out.tracked, c->tracked);
			assert_int_equal(out.internal, c->internal);
			assert_int_equal(out.links, c->links);
			assert_int_equal(strlen(out.msg_uuid), TOKEN_UUID_LEN);
			check_urls(c, out.body);
		} else {
			assert_null(out.body);
		}
		track_out_clear(&out);
		conn_free(cc);
	}
}

/* test_cases - the table */
static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		run_case(&cases[i], 1);
}

/* test_untrusted - nothing an untrusted submission carries asks for tracking */
static void test_untrusted(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(untrusted_cases); i++)
		run_case(&untrusted_cases[i], 0);
}

/* test_oversize - past max_message_size the message is left alone */
static void test_oversize(void **state)
{
	struct track_case c = cases[1];
	struct conn_ctx *cc = build(&c, 100);
	struct track_out out;
	(void)state;

	assert_true(cc->msg->oversize);
	assert_null(cc->msg->text);
	track_message(&env, cc->msg, NULL, &out);
	assert_int_equal(out.verdict, TRACK_UNTOUCHED);
	assert_string_equal(out.reason, "over max_message_size");
	assert_int_equal(out.remove_tag, 0);
	track_out_clear(&out);
	msg_reset(cc);
	msg_reset(cc);		/* twice is harmless */
	conn_free(cc);
}

/* test_msgctx - envelope and headers as kept */
static void test_msgctx(void **state)
{
	struct conn_ctx *cc = conn_new();
	char *args[] = { "NOTIFY=SUCCESS", "ORCPT=rfc822;a@b.example", NULL };
	size_t len;
	(void)state;

	msg_begin(cc, " <s@example.com> ", NULL);
	assert_string_equal(cc->msg->sender, "s@example.com");
	msg_add_rcpt(cc->msg, "<a@b.example>", args);
	assert_string_equal(((struct msg_rcpt *)g_ptr_array_index(cc->msg->rcpts, 0))->args[1],
			    "ORCPT=rfc822;a@b.example");
	msg_add_header(cc->msg, "Subject", "folded\n\tline", 0);
	msg_add_header(cc->msg, "x-beacon", "track", 0);
	msg_add_header(cc->msg, "X-Beacon", "no", 0);
	assert_int_equal(msg_header_count(cc->msg, "X-BEACON"), 2);
	assert_string_equal(msg_header_get(cc->msg, "X-Beacon"), "track");
	assert_int_equal(msg_end_headers(cc->msg), 0);
	msg_add_body(cc->msg, (const unsigned char *)"hi\r\n", 4, 0);
	assert_string_equal(msg_qid(cc->msg), "NOQUEUE");
	msg_set_queue_id(cc->msg, "ABC123");
	msg_set_queue_id(cc->msg, "OTHER");
	assert_string_equal(msg_qid(cc->msg), "ABC123");
	assert_memory_equal(msg_body(cc->msg, &len), "hi\r\n", 4);
	assert_int_equal(len, 4);
	assert_int_equal(cc->msg->body_off, strlen("Subject: folded\r\n\tline\r\nx-beacon: track\r\n"
						   "X-Beacon: no\r\n\r\n"));
	assert_memory_equal(cc->msg->text->data, "Subject: folded\r\n\tline\r\n", 24);
	conn_free(cc);
}

/* main - configuration and keys for every case */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_msgctx),
	};
	static char *senders[] = { "@letters.example", "sasl:mkt", "!ceo@letters.example", NULL };
	static char *internal[] = { "corp.example", NULL };
	uint8_t key[TOKEN_KEY_LEN];
	int rc;

	g_mime_init();
	assert_int_equal(token_init(), 0);
	cfg_defaults(&cfg);
	free(cfg.global.base_url);
	cfg.global.base_url = strdup(BASE);
	cfg.milter.track_senders = (struct cfg_list){ senders, 3 };
	cfg.milter.internal_domains = (struct cfg_list){ internal, 1 };
	cfg.milter.per_recipient = CFG_PER_RCPT_SHARED;
	keys = token_keys_new();
	memset(key, 7, sizeof(key));
	token_keys_add(keys, 3, key);
	env = (struct milter_env){ &cfg, keys, BASE "/p.gif", NULL, NULL, NULL, NULL };
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cfg.milter.track_senders = (struct cfg_list){ NULL, 0 };
	cfg.milter.internal_domains = (struct cfg_list){ NULL, 0 };
	cfg_free(&cfg);
	token_keys_free(keys);
	g_mime_shutdown();
	return rc;
}
