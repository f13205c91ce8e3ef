/*
 * NAME
 *	rewrite_bench.c - CPU cost of beacon-milter's end-of-message work on
 *	one message, without an MTA or a database
 *
 * SYNOPSIS
 *	rewrite_bench SECRET_FILE MESSAGE ITERATIONS
 *
 * DESCRIPTION
 *	Sets glibc's malloc thresholds as beacon-milter does (malloc_tune.h),
 *	then builds the milter's message context from MESSAGE (a file with LF or
 *	CRLF line ends) the way the callbacks do: one recipient, each header,
 *	the body as CRLF chunks of 64 KB.  Then runs track_message(), the
 *	whole end-of-message decision (MIME parse, token, pixel, every link
 *	signed, re-encoding; the store left out), ITERATIONS times.
 *
 *	With ITERATIONS 1 it is what valgrind --tool=callgrind
 *	--toggle-collect=track_message counts.  With more, the first three
 *	calls warm the caches and the rest are timed in 9 batches on the
 *	thread's CPU clock; it prints one line:
 *
 *	  bytes=N html_links=L verdict=rewritten us_median=X us_min=Y
 *
 *	where us_* are CPU microseconds per message (median and fastest
 *	batch).
 *
 * DIAGNOSTICS
 *	Exits 1 when the message is not rewritten (the rewrite is broken or
 *	the message is not one it tracks), 2 on a usage or file error.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "cfg.h"
#include "malloc_tune.h"
#include "msgctx.h"
#include "token.h"
#include "track.h"

#define RB_CHUNK 65535	/* libmilter's body chunk size (MILTER_CHUNK_SIZE) */
#define RB_BATCHES 9	/* timed batches */

/* rb_cpu_us - this thread's CPU time in microseconds */
static double rb_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* rb_cmp - qsort order of doubles */
static int rb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* rb_load - MESSAGE into a message context, as the milter callbacks build it */
static struct conn_ctx *rb_load(const char *path, size_t *bytes)
{
	struct conn_ctx *c = conn_new();
	GByteArray *body = g_byte_array_new();
	gchar *text = NULL;
	gsize len = 0;
	char *p, *end, *line_end, *name = NULL;
	GString *value = g_string_new(NULL);

	if (!g_file_get_contents(path, &text, &len, NULL)) {
		fprintf(stderr, "rewrite_bench: cannot read %s\n", path);
		exit(2);
	}
	*bytes = len;
	msg_begin(c, "<news@example.com>", NULL);
	c->msg->trusted = 1;	/* a trusted submission */
	msg_add_rcpt(c->msg, "<reader@bench.example>", NULL);
	p = text;
	end = text + len;
	/* the header block: one name/value pair per field, folds kept */
	while (p < end) {
		char *line = p, *colon;
		size_t l;

		line_end = memchr(p, '\n', (size_t)(end - p));
		if (!line_end)
			line_end = end;
		p = line_end < end ? line_end + 1 : end;
		l = (size_t)(line_end - line);
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l > 0 && (line[0] == ' ' || line[0] == '\t') && name) {
			g_string_append(value, "\n");
			g_string_append_len(value, line, (gssize)l);
			continue;
		}
		if (name) {
			msg_add_header(c->msg, name, value->str, 0);
			g_free(name);
			name = NULL;
		}
		if (l == 0)
			break;
		if (!(colon = memchr(line, ':', l))) {
			fprintf(stderr, "rewrite_bench: %s: bad header line\n", path);
			exit(2);
		}
		name = g_strndup(line, (gsize)(colon - line));
		for (colon++; colon < line + l && *colon == ' '; colon++)
			;
		g_string_assign(value, "");
		g_string_append_len(value, colon, (gssize)(line + l - colon));
	}
	if (name) {
		msg_add_header(c->msg, name, value->str, 0);
		g_free(name);
	}
	msg_end_headers(c->msg);
	/* the body, CRLF line ends as it travels over SMTP */
	for (; p < end; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			g_byte_array_append(body, (const guint8 *)"\r", 1);
		g_byte_array_append(body, (const guint8 *)p, 1);
	}
	for (size_t off = 0; off < body->len; off += RB_CHUNK) {
		size_t n = body->len - off < RB_CHUNK ? body->len - off : RB_CHUNK;
		msg_add_body(c->msg, body->data + off, n, 0);
	}
	g_byte_array_free(body, TRUE);
	g_string_free(value, TRUE);
	g_free(text);
	return c;
}

/* main - load, run track_message, report */
int main(int argc, char **argv)
{
	struct beacon_cfg cfg;
	struct token_keys *keys;
	struct milter_env env;
	struct track_out out;
	struct conn_ctx *c;
	double t[RB_BATCHES];
	char err[512], *placeholder;
	size_t bytes;
	long iters;
	int links = -1, verdict = -1;

	if (argc != 4 || (iters = strtol(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: rewrite_bench SECRET_FILE MESSAGE ITERATIONS\n");
		return 2;
	}
	malloc_tune();
	if (token_init() < 0)
		return 2;
	keys = token_keys_load(argv[1], err, sizeof(err));
	if (!keys) {
		fprintf(stderr, "rewrite_bench: %s\n", err);
		return 2;
	}
	g_mime_init();
	cfg_defaults(&cfg);
	placeholder = cfg_placeholder_url(&cfg);
	env = (struct milter_env){ &cfg, keys, placeholder, NULL, NULL, NULL, NULL };
	c = rb_load(argv[2], &bytes);

	if (iters == 1) {
		track_message(&env, c->msg, "127.0.0.1", &out);
		verdict = out.verdict;
		links = out.links;
		track_out_clear(&out);
	} else {
		long per = iters > RB_BATCHES + 3 ? (iters - 3) / RB_BATCHES : 1;
		for (int i = 0; i < 3; i++) {
			track_message(&env, c->msg, "127.0.0.1", &out);
			verdict = out.verdict;
			links = out.links;
			track_out_clear(&out);
		}
		for (int b = 0; b < RB_BATCHES; b++) {
			double t0 = rb_cpu_us();
			for (long i = 0; i < per; i++) {
				track_message(&env, c->msg, "127.0.0.1", &out);
				track_out_clear(&out);
			}
			t[b] = (rb_cpu_us() - t0) / (double)per;
		}
		qsort(t, RB_BATCHES, sizeof(t[0]), rb_cmp);
	}
	if (verdict != TRACK_REWRITTEN) {
		fprintf(stderr, "rewrite_bench: %s was not rewritten (verdict %d)\n", argv[2],
			verdict);
		return 1;
	}
	if (iters == 1)
		printf("bytes=%zu html_links=%d verdict=rewritten\n", bytes, links);
	else
		printf("bytes=%zu html_links=%d verdict=rewritten us_median=%.2f us_min=%.2f\n",
		       bytes, links, t[RB_BATCHES / 2], t[0]);
	msg_reset(c);
	conn_free(c);
	free(placeholder);
	cfg_free(&cfg);
	token_keys_free(keys);
	g_mime_shutdown();
	return 0;
}
