/*
 * NAME
 *	main.c - beacon-pixelsrv: start-up, signals, shutdown
 *
 * SYNOPSIS
 *	beacon-pixelsrv [-c FILE] [-f] [-n] [-d]
 *
 * DESCRIPTION
 *	Order of start-up: read the configuration and everything that may
 *	need root with check_load() (the loader -n runs too: secret file,
 *	User-Agent rules, GeoIP databases, relay ranges, address sets, TLS
 *	files, password file), bind the listening sockets, lock spool_dir
 *	(one server per spool), detach, write the pid file, open the first
 *	database session, drop to `user`, open the event queue file and the
 *	spool in spool_dir (handing any events a crashed run left in the
 *	queue file to the spool), then start the writer and the HTTP
 *	daemons.  Every thread starts with SIGTERM, SIGINT and SIGHUP
 *	blocked; the main thread takes them with sigwait(): SIGHUP reopens
 *	the GeoIP databases and rereads the machines file (a file that no
 *	longer loads keeps the rules in use, with an error), SIGTERM and SIGINT stop accepting, drain the
 *	connections, write (or spool) every queued event and exit 0.
 *
 * DIAGNOSTICS
 *	Exit status 0 after a clean stop, 78 (EX_CONFIG) for a bad
 *	configuration, secret file, rule file or network list, 71
 *	(EX_OSERR) when a socket, file or thread cannot be had.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "check.h"
#include "daemon.h"
#include "db.h"
#include "download.h"
#include "event.h"
#include "geo.h"
#include "http.h"
#include "log.h"
#include "machines.h"
#include "metrics.h"
#include "queue.h"
#include "spool.h"
#include "writer.h"

#define PX_DRAIN_MS 2000	/* longest wait for in-flight requests at shutdown */

/* px_files - what the server opened in spool_dir */
struct px_files {
	int lockfd;		/* spool_dir, flock'ed for the life of the process */
	struct spool *spool;	/* events.spool */
	struct spool *rejected;	/* rejected.spool */
	struct queue *queue;	/* events.queue */
};

/* px_recover_one - queue_recover_fn: a crashed run's event into the spool */
static int px_recover_one(void *arg, const uint8_t *rec, size_t len, int unsure)
{
	return spool_append(arg, unsure ? EVENT_SPOOL_UNSURE : EVENT_SPOOL_TYPE, rec, len, 0);
}

/* px_nofile - raise the open-file limit to its hard limit: one descriptor per connection
 * (http_bind() lowers connection_limit when even that is too small, and says so) */
static void px_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warnx("cannot raise the open-file limit to %ju: %s", (uintmax_t)rl.rlim_max,
		    strerror(errno));
}

/* px_bind - as root: the listening sockets and TLS files, then spool_dir, created and locked */
static struct http *px_bind(const struct beacon_cfg *cfg, struct px_files *f)
{
	const char *dir = cfg->pixelsrv.spool_dir;
	struct http *http;
	char err[1024];

	if (!(http = http_bind(cfg, err, sizeof(err))))
		log_fatal_status(EX_OSERR, "%s", err);
	/* reached without following a planted link; chown and chmod through the
	 * descriptor, held for the life of the process (it survives the detach)
	 * and locked: one server per spool */
	if ((f->lockfd = daemon_prepare_dir(dir, cfg->pixelsrv.user, 0700, err, sizeof(err))) < 0)
		log_fatal_status(EX_OSERR, "spool_dir: %s", err);
	if (flock(f->lockfd, LOCK_EX | LOCK_NB) < 0)
		log_fatal_status(EX_OSERR, "spool_dir %s: %s", dir, errno == EWOULDBLOCK ?
		    "in use by another process (two servers on one spool_dir?)" : strerror(errno));
	return http;
}

/* px_open_queue - as the user: the spools and the queue file, a crashed run's events spooled */
static void px_open_queue(const struct beacon_cfg *cfg, struct px_files *f)
{
	const char *dir = cfg->pixelsrv.spool_dir;
	char err[1024], qpath[4096];
	long n;

	if (!(f->spool = spool_open(dir, "events", err, sizeof(err))) ||
	    !(f->rejected = spool_open(dir, "rejected", err, sizeof(err))))
		log_fatal_status(EX_OSERR, "%s", err);
	snprintf(qpath, sizeof(qpath), "%s/events.queue", dir);
	if (!(f->queue = queue_open(qpath, (size_t)(cfg->pixelsrv.queue_size > 0 ?
	    cfg->pixelsrv.queue_size : 1), err, sizeof(err))))
		log_fatal_status(EX_OSERR, "%s", err);
	if ((n = queue_recover(f->queue, px_recover_one, f->spool)) < 0 || spool_sync(f->spool) < 0)
		log_fatal_status(EX_OSERR, "%s: cannot move the last run's events to the spool, or "
		    "allocate %zu bytes for the queue: %s", qpath,
		    (size_t)4096 + queue_capacity(f->queue) * QUEUE_SLOT_SIZE, strerror(errno));
	if (n > 0) {
		metrics_add(METRICS_EVENTS_RECOVERED, (uint64_t)n);
		log_warnx("%s: %ld events of a run that did not stop cleanly moved to the spool",
		    qpath, n);
	}
}

/* px_schema_check - say loudly when the schema lacks the columns the COPY names: every
 * event waits in the spool (up to spool_max_bytes) until `beaconctl migrate`; the pixels
 * and redirects are served all the same (a package upgrade restarts the server first) */
static void px_schema_check(PGconn *conn)
{
	PGresult *res = PQexec(conn, "SELECT to_regclass('beacon.events') IS NULL OR "
	    "(SELECT count(*) FROM pg_catalog.pg_attribute "
	    " WHERE attrelid = to_regclass('beacon.events') AND NOT attisdropped "
	    " AND attname IN ('reason', 'hints', 'late', 'node')) = 4");

	/* no schema at all yet: the events wait in the spool, as during an outage */
	if (PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		log_warnx("the database schema is older than this beacon-pixelsrv (beacon.events "
		    "lacks some of the reason, hints, late and node columns): events wait in the "
		    "spool until beaconctl migrate has run");
	}
	PQclear(res);
}

/* px_attachment_dir - where /d/ reads the store: [pixelsrv] attachment_dir, or when it is
 * empty (the default) beacon-milter's.  As the server's user, say loudly when the store
 * exists but cannot be read (every download link would be 404); not fatal: the store
 * may be made or fixed later, each request opens it afresh */
static const char *px_attachment_dir(const struct beacon_cfg *cfg)
{
	const char *dir = cfg->pixelsrv.attachment_dir && *cfg->pixelsrv.attachment_dir ?
	    cfg->pixelsrv.attachment_dir : cfg->milter.attachment_dir;
	char why[4200];

	switch (download_store_check(dir, why, sizeof(why))) {
	case 0:
		break;
	case 1:
		log_info("attachment_dir %s does not exist (yet): download links are 404 until "
		    "beacon-milter stores attachments there", dir);
		break;
	default:
		log_warnx("attachment_dir %s CANNOT BE READ by this server (%s): every download "
		    "link will be 404; put this server's user in the group of beacon-milter's "
		    "store (directories 0750, files 0640) or fix attachment_dir", dir, why);
		break;
	}
	return dir;
}

/* px_wait - take signals until SIGTERM or SIGINT (returned); SIGHUP reopens GeoIP
 * and rereads the machines file */
static int px_wait(const sigset_t *set, const struct beacon_cfg *cfg, struct geo_db *geo,
    struct writer *writer)
{
	struct machines_db *m;
	char err[1024];
	int sig;

	for (;;) {
		if ((errno = sigwait(set, &sig)) != 0)
			log_fatal("sigwait");
		if (sig != SIGHUP)
			return sig;
		log_info("SIGHUP: reopening the GeoIP databases");
		if (geo_reload(geo) < 0)
			log_warnx("a GeoIP database kept its previous version");
		if (check_machines(cfg, &m, err, sizeof(err)) != 0) {
			log_warnx("%s; the rules loaded before stay in use", err);
		} else {
			if (m)
				log_info("SIGHUP: %zu rules from %s", machines_count(m),
				    cfg->pixelsrv.machines);
			writer_set_machines(writer, m);
		}
	}
}

/* px_close - after the writer stopped: files, pid file, everything loaded */
static void px_close(const struct beacon_cfg *cfg, struct px_files *f, struct check_res *r)
{
	log_info("stopped: %llu events written, %llu spooled, %llu lost",
	    (unsigned long long)metrics_get(METRICS_EVENTS_WRITTEN),
	    (unsigned long long)metrics_get(METRICS_EVENTS_SPOOLED),
	    (unsigned long long)metrics_get(METRICS_EVENTS_LOST));
	queue_close(f->queue);
	spool_close(f->spool);
	spool_close(f->rejected);
	if (cfg->pixelsrv.pidfile && *cfg->pixelsrv.pidfile)
		unlink(cfg->pixelsrv.pidfile);
	check_free(r);
	close(f->lockfd);
}

/* main - start, serve until SIGTERM, drain, exit */
int main(int argc, char **argv)
{
	static const struct beacon_prog prog = {
		"beacon-pixelsrv", "[-c FILE] [-f] [-n] [-d]", 1, check_config
	};
	struct beacon_opts opts;
	struct beacon_cfg cfg;
	struct check_res r;
	struct px_files f;
	struct http *http;
	struct writer *writer;
	struct event_ctx ctx;
	struct writer_conf wc;
	struct http_conf hc;
	PGconn *conn;
	sigset_t set;
	char err[1024];
	int rc, sig;

	db_use(DB_PIXELSRV);
	beacon_init(argc, argv, &prog, &opts, &cfg);
	/* what may need root: keys, rules, databases, password file, sockets, TLS files */
	if ((rc = check_load(&cfg, &r, err, sizeof(err))) != 0)
		log_fatal_status(rc, "%s", err);
	event_node_start(r.node);	/* every record names this node */
	px_nofile();
	http = px_bind(&cfg, &f);
	daemon_detach(opts.foreground);
	daemon_pidfile(cfg.pixelsrv.pidfile);
	conn = db_connect(&cfg, "beacon-pixelsrv", err, sizeof(err));
	if (!conn)
		log_warnx("%s; events go to the spool until it is reachable", err);
	else
		px_schema_check(conn);
	daemon_drop(cfg.pixelsrv.user, "pixelsrv");
	px_open_queue(&cfg, &f);

	daemon_block_signals(&set);
	ctx = (struct event_ctx){ .ua = r.ua, .geo = r.geo, .relay = r.relay,
				  .internal = r.internal, .trusted = r.trusted,
				  .anonymize = cfg.pixelsrv.anonymize_ip,
				  .scanner_click_s = (int)cfg.pixelsrv.scanner_click_seconds,
				  .machine_open_s = (int)cfg.pixelsrv.machine_open_seconds,
				  .count_window_days = (int)cfg.pixelsrv.count_window_days };
	wc = (struct writer_conf){ .cfg = &cfg, .queue = f.queue, .spool = f.spool,
				   .rejected = f.rejected, .ctx = &ctx, .machines = r.machines };
	if (!(writer = writer_start(&wc, conn, err, sizeof(err))))
		log_fatal_status(EX_OSERR, "%s", err);
	r.machines = NULL;	/* the writer's now */
	hc = (struct http_conf){ .keys = r.keys, .trusted = r.trusted, .queue = f.queue,
				 .writer = writer, .attachment_dir = px_attachment_dir(&cfg),
				 .node = r.node };
	if (http_start(http, &hc, err, sizeof(err)) < 0)
		log_fatal_status(EX_OSERR, "%s", err);
	log_info("listening on %s%s (port %d) as node %s, queue of %zu events, database %s",
	    cfg.pixelsrv.listen.v[0], cfg.pixelsrv.listen.n > 1 ? " and more" : "",
	    http_port(http), r.node, queue_capacity(f.queue),
	    writer_db_up(writer) ? "connected" : "down");

	sig = px_wait(&set, &cfg, r.geo, writer);
	log_info("signal %d: draining", sig);
	http_stop(http, PX_DRAIN_MS);
	writer_stop(writer);
	px_close(&cfg, &f, &r);
	cfg_free(&cfg);
	return 0;
}
