/*
 * NAME
 *	main.c - beacon-pixelsrv: start-up, signals, shutdown
 *
 * SYNOPSIS
 *	beacon-pixelsrv [-c FILE] [-f] [-n] [-d]
 *
 * DESCRIPTION
 *	Order of start-up: read the configuration and everything that may
 *	need root (secret file, TLS files, listening sockets, the first
 *	database session), load the User-Agent rules, GeoIP databases and
 *	relay ranges, lock spool_dir (one server per spool), detach, write
 *	the pid file, drop to `user`, open the event queue file and the
 *	spool in spool_dir (handing any events a crashed run left in the
 *	queue file to the spool), then start the writer and the HTTP
 *	daemons.  Every thread starts with SIGTERM,
 *	SIGINT and SIGHUP blocked; the main thread takes them with
 *	sigwait(): SIGHUP reopens the GeoIP databases, SIGTERM and SIGINT
 *	stop accepting, drain the connections, write (or spool) every
 *	queued event and exit 0.
 *
 * DIAGNOSTICS
 *	Exit status 0 after a clean stop, 78 (EX_CONFIG) for a bad
 *	configuration, secret file, rule file or network list, 71
 *	(EX_OSERR) when a socket, file or thread cannot be had.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "cidr.h"
#include "daemon.h"
#include "db.h"
#include "event.h"
#include "geo.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "relay.h"
#include "spool.h"
#include "token.h"
#include "ua.h"
#include "writer.h"

#define PX_DRAIN_MS 2000	/* longest wait for in-flight requests at shutdown */

/* px_die - log and exit with a sysexits(3) code */
__attribute__((format(printf, 2, 3), noreturn))
static void px_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(code);
}

/* px_geo_warn - geo_open/geo_reload warnings into the log */
static void px_geo_warn(void *arg, const char *msg)
{
	log_warnx("%s", msg);
}

/* px_cidrs - a set from a list key; exits on a bad prefix */
static struct cidr_set *px_cidrs(const struct cfg_list *l, const char *key)
{
	struct cidr_set *s;
	char err[256];

	if (l->n == 0)
		return NULL;
	if (!(s = cidr_set_new()))
		px_die(EX_OSERR, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		if (cidr_set_add(s, l->v[i], NULL, err, sizeof(err)) < 0)
			px_die(EX_CONFIG, "[pixelsrv] %s: %s", key, err);
	if (cidr_set_finish(s) < 0)
		px_die(EX_OSERR, "[pixelsrv] %s: out of memory", key);
	return s;
}

/* px_recover_one - queue_recover_fn: a crashed run's event into the spool */
static int px_recover_one(void *arg, const uint8_t *rec, size_t len, int unsure)
{
	return spool_append(arg, unsure ? EVENT_SPOOL_UNSURE : EVENT_SPOOL_TYPE, rec, len, 0);
}

/* px_signals - block the signals main() waits for, in this and every later thread */
static void px_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, set, NULL)) != 0)
		log_fatal("pthread_sigmask");
	signal(SIGPIPE, SIG_IGN);
}

/* main - start, serve until SIGTERM, drain, exit */
int main(int argc, char **argv)
{
	struct beacon_opts opts;
	struct beacon_cfg cfg;
	struct token_keys *keys;
	struct ua_db *ua;
	struct geo_db *geo;
	struct relay_db *relay = NULL;
	struct cidr_set *trusted, *internal;
	struct http *http;
	struct spool *spool, *rejected;
	struct queue *queue;
	struct writer *writer;
	struct event_ctx ctx;
	struct writer_conf wc;
	struct http_conf hc;
	PGconn *conn;
	sigset_t set;
	char err[1024], qpath[4096];
	const char *user;
	long n;
	int sig, lockfd;

	beacon_start(argc, argv, "beacon-pixelsrv", "[-c FILE] [-f] [-n] [-d]", 1, &opts, &cfg);
	user = cfg.pixelsrv.user;
	/* refuse a root run before binding anything */
	daemon_check_user(user, "pixelsrv");

	/* what may need root: keys, rules, databases, sockets, TLS files */
	if (!(keys = token_keys_load(cfg.global.secret_file, err, sizeof(err))))
		px_die(EX_CONFIG, "%s", err);
	if (!(ua = ua_open(cfg.pixelsrv.uap_regexes, cfg.pixelsrv.mail_clients, err, sizeof(err))))
		px_die(EX_CONFIG, "%s", err);
	if (!(geo = geo_open(cfg.pixelsrv.geoip_city_db, cfg.pixelsrv.geoip_asn_db,
	    px_geo_warn, NULL)))
		px_die(EX_OSERR, "out of memory");
	if (cfg.pixelsrv.apple_relay_ranges && *cfg.pixelsrv.apple_relay_ranges) {
		err[0] = '\0';
		relay = relay_load(cfg.pixelsrv.apple_relay_ranges, err, sizeof(err));
		if (!relay)
			log_warnx("apple_relay_ranges: %s; no event will be classed prefetch", err);
		else if (err[0])
			log_warnx("apple_relay_ranges: %s", err);
	}
	trusted = px_cidrs(&cfg.pixelsrv.trusted_proxies, "trusted_proxies");
	internal = px_cidrs(&cfg.pixelsrv.internal_networks, "internal_networks");
	if (http_check_listen(&cfg, err, sizeof(err)) < 0)
		px_die(EX_CONFIG, "%s", err);
	if (!(http = http_bind(&cfg, err, sizeof(err))))
		px_die(EX_OSERR, "%s", err);
	if (daemon_prepare_dir(cfg.pixelsrv.spool_dir, user, 0700) < 0)
		px_die(EX_OSERR, "spool_dir %s: %s", cfg.pixelsrv.spool_dir, strerror(errno));
	/* held for the life of the process (the fd survives the detach): one server per spool */
	if ((lockfd = open(cfg.pixelsrv.spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(lockfd, LOCK_EX | LOCK_NB) < 0)
		px_die(EX_OSERR, "spool_dir %s: %s", cfg.pixelsrv.spool_dir,
		    errno == EWOULDBLOCK ? "in use by another process (two servers on one spool_dir?)" :
		    strerror(errno));

	/* the password file is private to root: read it before dropping privileges */
	if (db_password_preload(&cfg, err, sizeof(err)) < 0)
		px_die(EX_CONFIG, "%s", err);
	daemon_detach(opts.foreground);
	daemon_pidfile(cfg.pixelsrv.pidfile);
	conn = db_connect(&cfg, "beacon-pixelsrv", err, sizeof(err));
	if (!conn)
		log_warnx("%s; events go to the spool until it is reachable", err);
	daemon_drop(user, "pixelsrv");

	/* as the unprivileged user: the queue file and the spools */
	if (!(spool = spool_open(cfg.pixelsrv.spool_dir, "events", err, sizeof(err))) ||
	    !(rejected = spool_open(cfg.pixelsrv.spool_dir, "rejected", err, sizeof(err))))
		px_die(EX_OSERR, "%s", err);
	snprintf(qpath, sizeof(qpath), "%s/events.queue", cfg.pixelsrv.spool_dir);
	if (!(queue = queue_open(qpath, (size_t)(cfg.pixelsrv.queue_size > 0 ?
	    cfg.pixelsrv.queue_size : 1), err, sizeof(err))))
		px_die(EX_OSERR, "%s", err);
	if ((n = queue_recover(queue, px_recover_one, spool)) < 0 || spool_sync(spool) < 0)
		px_die(EX_OSERR, "%s: cannot move the last run's events to the spool, or "
		    "allocate %zu bytes for the queue: %s", qpath,
		    (size_t)4096 + queue_capacity(queue) * QUEUE_SLOT_SIZE, strerror(errno));
	if (n > 0) {
		metrics_add(METRICS_EVENTS_RECOVERED, (uint64_t)n);
		log_warnx("%s: %ld events of a run that did not stop cleanly moved to the spool",
		    qpath, n);
	}

	px_signals(&set);
	ctx.ua = ua;
	ctx.geo = geo;
	ctx.relay = relay;
	ctx.internal = internal;
	ctx.anonymize = cfg.pixelsrv.anonymize_ip;
	wc.cfg = &cfg;
	wc.queue = queue;
	wc.spool = spool;
	wc.rejected = rejected;
	wc.ctx = &ctx;
	if (!(writer = writer_start(&wc, conn, err, sizeof(err))))
		px_die(EX_OSERR, "%s", err);
	hc.keys = keys;
	hc.trusted = trusted;
	hc.queue = queue;
	hc.writer = writer;
	if (http_start(http, &hc, err, sizeof(err)) < 0)
		px_die(EX_OSERR, "%s", err);
	log_info("listening on %s%s (port %d), queue of %zu events, database %s",
	    cfg.pixelsrv.listen.v[0], cfg.pixelsrv.listen.n > 1 ? " and more" : "",
	    http_port(http), queue_capacity(queue), writer_db_up(writer) ? "connected" : "down");

	for (;;) {
		if ((errno = sigwait(&set, &sig)) != 0)
			log_fatal("sigwait");
		if (sig == SIGHUP) {
			log_info("SIGHUP: reopening the GeoIP databases");
			if (geo_reload(geo) < 0)
				log_warnx("a GeoIP database kept its previous version");
			continue;
		}
		break;
	}
	log_info("signal %d: draining", sig);
	http_stop(http, PX_DRAIN_MS);
	writer_stop(writer);
	log_info("stopped: %llu events written, %llu spooled, %llu lost",
	    (unsigned long long)metrics_get(METRICS_EVENTS_WRITTEN),
	    (unsigned long long)metrics_get(METRICS_EVENTS_SPOOLED),
	    (unsigned long long)metrics_get(METRICS_EVENTS_LOST));
	queue_close(queue);
	spool_close(spool);
	spool_close(rejected);
	if (cfg.pixelsrv.pidfile && *cfg.pixelsrv.pidfile)
		unlink(cfg.pixelsrv.pidfile);
	relay_free(relay);
	cidr_set_free(trusted);
	cidr_set_free(internal);
	geo_close(geo);
	ua_close(ua);
	token_keys_free(keys);
	cfg_free(&cfg);
	close(lockfd);
	return 0;
}
