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
 *	loops: record the outcomes a failed recording left, claim a batch of
 *	due webhook and chat deliveries, drop those of muted, expired or
 *	reclassified events, send the others (webhook.h), record every
 *	outcome (queue.h); then, at most once a second, the digests that are
 *	due (digest.h); then, unless the batch was full, sleep until a
 *	NOTIFY on beacon_event or one second.  Each new session is probed
 *	first: missing tables or grants exit 78 with the fix.  A lost
 *	session is opened again and a refused statement tried again on the
 *	live one, both with growing pauses (1 s to 30 s); nothing is lost
 *	meanwhile, the queue is in the database.
 *
 *	SIGTERM and SIGINT stop it: no new request starts, the requests in
 *	flight finish (at most `timeout` seconds), the untried deliveries
 *	go back to the queue, and every outcome is recorded; SIGHUP is
 *	ignored.
 *
 * DIAGNOSTICS
 *	Exit status 0 after a clean stop, 78 (EX_CONFIG) for a bad
 *	configuration or a database without the notify schema or grants.
 */
#include <errno.h>
#include <limits.h>
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
#define NT_MAX_BATCH 10000	/* most deliveries claimed at once */
#define NT_MAX_CONCURRENCY 256	/* most requests in flight */

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
	const struct { const char *name; long v; long min, max; } nums[] = {
		{ "timeout", cfg->notify.timeout, 1, 3600 },
		{ "concurrency", cfg->notify.concurrency, 1, NT_MAX_CONCURRENCY },
		{ "batch", cfg->notify.batch, 1, NT_MAX_BATCH },
		{ "notify_interval", cfg->notify.notify_interval, 1, LONG_MAX },
		{ "notify_days", cfg->notify.notify_days, 0, 36500 },
		{ "retry_for", cfg->notify.retry_for, NT_MIN_RETRY_FOR, LONG_MAX },
		{ "hold", cfg->notify.hold, 0, 3600 },
	};
	const char *u = cfg->notify.smtp_url, *f = cfg->notify.mail_from;
	int rc;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (nums[i].v < nums[i].min) {
			snprintf(err, errlen, "[notify] %s is %ld, at least %ld", nums[i].name,
			    nums[i].v, nums[i].min);
			return EX_CONFIG;
		} else if (nums[i].v > nums[i].max) {
			snprintf(err, errlen, "[notify] %s is %ld, at most %ld", nums[i].name,
			    nums[i].v, nums[i].max);
			return EX_CONFIG;
		}
	/* a click burst reclassifies earlier clicks: they must still be held */
	if (cfg->pixelsrv.click_burst_seconds > 0 &&
	    cfg->notify.hold <= cfg->pixelsrv.click_burst_seconds) {
		snprintf(err, errlen, "[notify] hold is %ld, it must be longer than [pixelsrv] "
		    "click_burst_seconds (%ld)", cfg->notify.hold, cfg->pixelsrv.click_burst_seconds);
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

/* nt_record - record B; when that fails keep it in *HELD (outcomes are not thrown
 * away: they are recorded once the session is back, before anything is claimed) */
static int nt_record(struct queue *q, struct batch *b, struct batch *held)
{
	enum db_fault f = queue_record(q, b);

	if (f == DB_OK) {
		batch_free(b);
		return 0;
	}
	if (f == DB_DATA) {	/* refused for its values: keeping it would block the queue */
		log_warnx("%zu outcomes refused by the database, not kept: those deliveries "
		    "are sent again when their lease ends", b->n);
		batch_free(b);
		return 0;
	}
	log_warnx("%zu outcomes kept until they can be recorded", b->n);
	*held = *b;
	*b = (struct batch){ 0 };
	return -1;
}

/* nt_hooks - one batch of webhook and chat deliveries: its size, or -1 when the
 * database failed */
static long nt_hooks(struct queue *q, struct webhook *w, long limit, struct batch *held)
{
	struct batch b;
	long n;

	if (queue_claim_hooks(q, limit, &b) != DB_OK)
		return -1;
	n = (long)b.n;
	if (n == 0) {
		batch_free(&b);
		return 0;
	}
	nt_log_drops(&b);
	webhook_send(w, b.items, b.n, &nt_stop);
	return nt_record(q, &b, held) < 0 ? -1 : n;
}

/* nt_digest - the digest of mail destination DEST, under the session's lock on it
 * (another notifier holding it: skipped): 0, or -1 when the database failed */
static int nt_digest(struct queue *q, const struct digest_conf *dc, int dest,
    struct batch *held)
{
	struct batch b;
	int rc, locked = queue_lock_mail(q, dest);

	if (locked <= 0)
		return locked;
	if (queue_claim_mail(q, dest, &b) != DB_OK) {
		queue_unlock_mail(q, dest);
		return -1;
	}
	if (b.n > 0) {
		nt_log_drops(&b);
		digest_send(dc, b.items, b.n);
	}
	rc = nt_record(q, &b, held);
	batch_free(&b);
	if (queue_unlock_mail(q, dest) != DB_OK)
		return -1;
	return rc;
}

/* nt_digests - the digest mails that are due: 0, or -1 when the database failed */
static int nt_digests(struct queue *q, const struct digest_conf *dc, struct batch *held)
{
	int ids[NT_MAIL_DUE_MAX];
	size_t n;

	if (queue_mail_due(q, ids, NT_MAIL_DUE_MAX, &n) != DB_OK)
		return -1;
	for (size_t i = 0; i < n && !nt_stop; i++)
		if (nt_digest(q, dc, ids[i], held) < 0)
			return -1;
	return 0;
}

/* nt_round - record what is held, then a batch of webhooks and, at most once a
 * second, the digests: the batch's size, or -1 when the database failed */
static long nt_round(struct queue *q, struct webhook *w, const struct beacon_cfg *cfg,
    const struct digest_conf *dc, struct batch *held, long long *digests_at)
{
	long n;

	if (held->n > 0) {
		struct batch b = *held;

		*held = (struct batch){ 0 };
		if (nt_record(q, &b, held) < 0)
			return -1;
		log_info("kept outcomes recorded");
	}
	if (nt_stop)
		return 0;
	if ((n = nt_hooks(q, w, cfg->notify.batch, held)) < 0)
		return -1;
	/* once a second, not after every batch of a backlog */
	if (!nt_stop && clock_now_ms() - *digests_at >= NT_POLL_MS) {
		*digests_at = clock_now_ms();
		if (nt_digests(q, dc, held) < 0)
			return -1;
	}
	return n;
}

/* nt_pause - sleep S seconds (a signal ends it) and double S up to the limit */
static void nt_pause(int *s)
{
	sleep((unsigned)*s);
	*s = *s * 2 > NT_RECONNECT_MAX_S ? NT_RECONNECT_MAX_S : *s * 2;
}

/* nt_open - a session whose tables are all within reach; NULL to try again later;
 * exits EX_CONFIG when the schema or the grants are missing (waiting will not help) */
static struct queue *nt_open(const struct beacon_cfg *cfg, int *pause)
{
	struct queue *q;
	char err[1024];
	int rc;

	if (!(q = queue_connect(cfg, err, sizeof(err)))) {
		log_warnx("%s; trying again in %d s", err, *pause);
		nt_pause(pause);
		return NULL;
	}
	if ((rc = queue_probe(q, err, sizeof(err))) == -1)
		log_fatal_status(EX_CONFIG, "%s", err);
	if (rc < 0) {
		log_warnx("%s; trying again in %d s", err, *pause);
		queue_disconnect(q);
		nt_pause(pause);
		return NULL;
	}
	log_info("connected, listening on %s", QUEUE_CHANNEL);
	return q;
}

/* nt_run - deliver until a signal.  A lost session is opened again; a database
 * error on a live session (a statement refused) is retried on it; both with
 * growing pauses, 1 s to 30 s. */
static void nt_run(const struct beacon_cfg *cfg, const struct digest_conf *dc)
{
	struct webhook *w = webhook_new(cfg->notify.timeout, cfg->notify.concurrency,
	    cfg->notify.allow_private_destinations, cfg->notify.allow_http, cfg->notify.proxy);
	struct batch held = { 0 };	/* outcomes not recorded yet */
	struct queue *q = NULL;
	long long digests_at = 0;	/* when the digests were last looked at */
	int pause = 1;

	while (!nt_stop) {
		long n;

		if (!q && !(q = nt_open(cfg, &pause)))
			continue;
		n = nt_round(q, w, cfg, dc, &held, &digests_at);
		if (n < 0 && queue_alive(q)) {
			log_warnx("database error; trying again in %d s", pause);
			nt_pause(&pause);
			continue;
		}
		if (n >= 0)
			pause = 1;
		if (n < 0 || (n < cfg->notify.batch && !nt_stop && queue_idle(q, NT_POLL_MS) < 0)) {
			log_warnx("database session lost; opening a new one");
			queue_disconnect(q);
			q = NULL;
		}
	}
	if (held.n > 0 && q && queue_record(q, &held) != DB_OK)
		log_warnx("%zu outcomes not recorded: those deliveries are sent again when "
		    "their lease ends", held.n);
	batch_free(&held);
	queue_disconnect(q);
	webhook_free(w);
}

/* nt_args - -t is -n, as in other daemons' "check the configuration": a 't' in an
 * option cluster (-t, -ft) becomes 'n'; the argument of -c (-c FILE, -cFILE) and
 * what follows "--" or the first operand are left alone */
static void nt_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0' || !strcmp(a, "--"))
			return;
		if (a[1] == '-')
			continue;	/* --help, --version */
		for (char *p = a + 1; *p; p++) {
			if (*p == 'c') {
				i += p[1] == '\0';	/* -c FILE: skip FILE */
				break;
			}
			if (*p == 't')
				*p = 'n';
		}
	}
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
