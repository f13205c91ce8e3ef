/*
 * NAME
 *	main.c - beacon-notify: start-up, the delivery loop, shutdown
 *
 * SYNOPSIS
 *	beacon-notify [-c FILE] [-f] [-n | -t] [-d]
 *
 * DESCRIPTION
 *	Checks the [notify] keys (the same check -n runs), reads the
 *	password file, detaches, writes the pid file, drops to `user`, then
 *	loops: claim a batch of due webhook and chat deliveries, drop those
 *	of muted or expired messages, send the others (webhook.h), record
 *	every outcome (queue.h); then, at most once a second, the digests
 *	that are due (digest.h); then, unless the batch was full, sleep until a NOTIFY on
 *	beacon_event or one second.  A lost database session is opened again
 *	with growing pauses (1 s to 30 s); nothing is lost meanwhile, the
 *	queue is in the database.
 *
 *	SIGTERM and SIGINT stop it after the batch in flight is recorded
 *	(at most `timeout` seconds); SIGHUP is ignored.
 *
 * DIAGNOSTICS
 *	Exit status 0 after a clean stop, 78 (EX_CONFIG) for a bad
 *	configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>

#include "cfg.h"
#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "digest.h"
#include "log.h"
#include "queue.h"
#include "webhook.h"

#define NT_POLL_MS 1000		/* look for due retries this often */
#define NT_RECONNECT_MAX_S 30	/* longest pause between connection attempts */
#define NT_MIN_RETRY_FOR 86400	/* retry_for may not be shorter than a day */
#define NT_MAIL_DUE_MAX 64	/* digest destinations handled per round */

static volatile sig_atomic_t nt_stop;	/* the signal that asks us to stop, or 0 */

/* nt_on_signal - SIGTERM, SIGINT: stop after the batch in flight */
static void nt_on_signal(int sig)
{
	nt_stop = sig;
}

/* nt_signals - handlers without SA_RESTART, so that a wait ends at once */
static void nt_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nt_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

/* nt_check - the [notify] keys that must make sense, and the password file */
static int nt_check(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const struct { const char *name; long v; long min; } nums[] = {
		{ "timeout", cfg->notify.timeout, 1 },
		{ "concurrency", cfg->notify.concurrency, 1 },
		{ "batch", cfg->notify.batch, 1 },
		{ "notify_interval", cfg->notify.notify_interval, 1 },
		{ "retry_for", cfg->notify.retry_for, NT_MIN_RETRY_FOR },
	};
	const char *u = cfg->notify.smtp_url, *f = cfg->notify.mail_from;
	int rc;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (nums[i].v < nums[i].min) {
			snprintf(err, errlen, "[notify] %s is %ld, at least %ld", nums[i].name,
			    nums[i].v, nums[i].min);
			return EX_CONFIG;
		}
	if (strncmp(u, "smtp://", 7) != 0 && strncmp(u, "smtps://", 8) != 0) {
		snprintf(err, errlen, "[notify] smtp_url '%s' is not an smtp:// or smtps:// URL", u);
		return EX_CONFIG;
	}
	if (*f && (!strchr(f, '@') || strpbrk(f, " \t\r\n<>\"") != NULL)) {
		snprintf(err, errlen, "[notify] mail_from '%s' is not a plain address "
		    "(local@domain)", f);
		return EX_CONFIG;
	}
	if ((rc = daemon_check_user(cfg->notify.user, "notify", err, errlen)) != 0)
		return rc;
	return beacon_check_database(cfg, err, errlen);
}

/* nt_mail_from - mail_from, or beacon@<host name> */
static void nt_mail_from(const struct beacon_cfg *cfg, char *out, size_t len)
{
	char host[256];

	if (*cfg->notify.mail_from) {
		snprintf(out, len, "%s", cfg->notify.mail_from);
		return;
	}
	if (gethostname(host, sizeof(host)) < 0 || !*host)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "beacon@%s", host);
}

/* nt_log_drops - say which deliveries of B are dropped, and why */
static void nt_log_drops(const struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].outcome == ITEM_DROPPED)
			log_info("%s: %s %s dropped: %s", b->items[i].id, b->items[i].dkind,
			    b->items[i].kind, b->items[i].drop);
}

/* nt_hooks - one batch of webhook and chat deliveries: its size, or -1 when the
 * database failed */
static long nt_hooks(struct queue *q, struct webhook *w, long limit)
{
	struct batch b;
	long n;

	if (queue_claim_hooks(q, limit, &b) != DB_OK)
		return -1;
	n = (long)b.n;
	if (n > 0) {
		nt_log_drops(&b);
		webhook_send(w, b.items, b.n);
		if (queue_record(q, &b) != DB_OK)
			n = -1;
	}
	batch_free(&b);
	return n;
}

/* nt_digests - the digest mails that are due: 0, or -1 when the database failed */
static int nt_digests(struct queue *q, const struct digest_conf *dc)
{
	int ids[NT_MAIL_DUE_MAX];
	size_t n;

	if (queue_mail_due(q, ids, NT_MAIL_DUE_MAX, &n) != DB_OK)
		return -1;
	for (size_t i = 0; i < n && !nt_stop; i++) {
		struct batch b;
		int rc = 0;

		if (queue_claim_mail(q, ids[i], &b) != DB_OK)
			return -1;
		if (b.n > 0) {
			nt_log_drops(&b);
			digest_send(dc, b.items, b.n);
			rc = queue_record(q, &b) == DB_OK ? 0 : -1;
		}
		batch_free(&b);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* nt_run - deliver until a signal; the session is opened (again) as needed */
static void nt_run(const struct beacon_cfg *cfg, const struct digest_conf *dc)
{
	struct webhook *w = webhook_new(cfg->notify.timeout, cfg->notify.concurrency);
	struct queue *q = NULL;
	long long digests_at = 0;	/* when the digests were last looked at */
	int pause = 1;
	char err[1024];

	while (!nt_stop) {
		long n;

		if (!q) {
			if (!(q = queue_open(cfg, err, sizeof(err)))) {
				log_warnx("%s; trying again in %d s", err, pause);
				sleep((unsigned)pause);
				pause = pause * 2 > NT_RECONNECT_MAX_S ? NT_RECONNECT_MAX_S : pause * 2;
				continue;
			}
			log_info("connected, listening on %s", QUEUE_CHANNEL);
			pause = 1;
		}
		n = nt_hooks(q, w, cfg->notify.batch);
		/* once a second, not after every batch of a backlog */
		if (n >= 0 && clock_now_ms() - digests_at >= NT_POLL_MS) {
			digests_at = clock_now_ms();
			if (nt_digests(q, dc) < 0)
				n = -1;
		}
		if (n < 0 || (n < cfg->notify.batch && !nt_stop && queue_wait(q, NT_POLL_MS) < 0)) {
			log_warnx("database session lost; opening a new one");
			queue_close(q);
			q = NULL;
		}
	}
	queue_close(q);
	webhook_free(w);
}

/* nt_args - -t is -n, as in other daemons' "check the configuration" */
static void nt_args(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (!strcmp(argv[i], "-t"))
			argv[i][1] = 'n';
}

/* main - start, deliver until SIGTERM, exit */
int main(int argc, char **argv)
{
	static const struct beacon_prog prog = {
		"beacon-notify", "[-c FILE] [-f] [-n | -t] [-d]", 1, nt_check
	};
	struct beacon_opts opts;
	struct beacon_cfg cfg;
	struct digest_conf dc;
	char err[1024], from[512];
	int rc;

	nt_args(argc, argv);
	db_use(DB_NOTIFY);
	beacon_init(argc, argv, &prog, &opts, &cfg);
	if ((rc = nt_check(&cfg, err, sizeof(err))) != 0)
		log_fatal_status(rc, "%s", err);
	if (sodium_init() < 0)
		log_fatalx("libsodium cannot start");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_fatalx("libcurl cannot start");
	nt_mail_from(&cfg, from, sizeof(from));
	dc = (struct digest_conf){ cfg.notify.smtp_url, from, cfg.milter.tag_header,
				   cfg.notify.timeout };
	daemon_detach(opts.foreground);
	daemon_pidfile(cfg.notify.pidfile);
	daemon_drop(cfg.notify.user, "notify");
	nt_signals();
	log_info("started: batch %ld, %ld requests at once, digests through %s from %s",
	    cfg.notify.batch, cfg.notify.concurrency, cfg.notify.smtp_url, from);
	nt_run(&cfg, &dc);
	log_info("signal %d: stopped", (int)nt_stop);
	if (*cfg.notify.pidfile)
		unlink(cfg.notify.pidfile);
	curl_global_cleanup();
	cfg_free(&cfg);
	return 0;
}
