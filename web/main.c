/*
 * NAME
 *	main.c - beacon-web: the senders' pages and JSON API; start-up,
 *	signals, shutdown
 *
 * SYNOPSIS
 *	beacon-web [-c FILE] [-f] [-n | -t] [-d]
 *
 * DESCRIPTION
 *	Start-up: read the configuration and check the [web] keys (what -n
 *	checks: their ranges, static_dir a directory, the report files of
 *	sql/reports read into memory (see data_reports_load); a chartjs that cannot
 *	be read and a listen address off loopback are warned about), read
 *	the password file, bind the listening sockets, detach,
 *	write the pid file, then open a first database session and check
 *	its role (what -t checks besides): a superuser, a role with
 *	BYPASSRLS, the owner of beacon.messages, a role that is not a
 *	member of beacon_web, or a database without migration 014 stop it
 *	with EX_CONFIG; an unreachable database does not (/healthz says
 *	503 until it answers).  The same for [web] read_conninfo's role; a
 *	replica that cannot be read now is only warned of (the pages read
 *	the primary meanwhile).  Read the static files into memory (like
 *	the report files, before the drop: a checkout under /root cannot be
 *	read after it).  Then drop to `user`, make the password
 *	check's dummy hash, start the live events listener and the HTTP
 *	server.  SIGTERM and SIGINT end the live streams, then the
 *	connections, and exit 0; SIGHUP is ignored.
 *
 * DIAGNOSTICS
 *	Exit status 0 after a clean stop, 78 (EX_CONFIG) for a bad
 *	configuration or database role, 71 (EX_OSERR) when a socket or
 *	thread cannot be had.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "cfg.h"
#include "daemon.h"
#include "data.h"
#include "db.h"
#include "hostport.h"
#include "listen.h"
#include "live.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "static.h"
#include "sqldir.h"

#define WEB_MAX_THREADS 4096	/* most connections at once */
#define WEB_MAX_DB 256		/* most database sessions */

/* web_loopback - does listen address SPEC listen on loopback only? */
static int web_loopback(const char *spec)
{
	struct hostport hp;
	unsigned char a[16];
	char why[256];

	if (hostport_parse(spec, HOSTPORT_BIND, &hp, why, sizeof(why)) < 0 || !hp.host[0])
		return 0;
	if (!strcmp(hp.host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, hp.host, a) == 1)
		return a[0] == 127;
	return inet_pton(AF_INET6, hp.host, a) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a);
}

/* web_static_dir - static_dir; left at its default, the source tree's web/static
 * when the program runs from one */
static const char *web_static_dir(const struct beacon_cfg *cfg, char *buf, size_t len)
{
	const char *d = cfg->web.static_dir;

	if (!strcmp(d, BEACON_DATADIR "/web") && beacon_static_dir(d, buf, len))
		d = buf;
	return d;
}

/* web_check_files - static_dir must be a directory (the pages' style sheet and scripts:
 * EX_CONFIG with ERR), the report files are read (data_reports_load); a chartjs that cannot be read only costs the summary its charts,
 * and a listen address off loopback only the browsers' sign-ins (warnings) */
static int web_check_files(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	char dir[4096], reports_err[512];
	const char *d = web_static_dir(cfg, dir, sizeof(dir));
	struct stat st;

	if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "[web] static_dir %s: %s: the pages would have no style "
		    "sheet nor scripts (make install puts them in %s/web)", d,
		    stat(d, &st) < 0 ? strerror(errno) : "not a directory", BEACON_DATADIR);
		return EX_CONFIG;
	}
	/* read now, as root: the checkout may be root's only, and -n checks them too */
	if (data_reports_load(reports_err, sizeof(reports_err)) < 0) {
		snprintf(err, errlen, "the summary's report files: %s", reports_err);
		return EX_CONFIG;
	}
	if (access(cfg->web.chartjs, R_OK) < 0)
		log_warnx("[web] chartjs %s cannot be read (%s): the summary has no charts; "
		    "install libjs-chart.js or set chartjs", cfg->web.chartjs, strerror(errno));
	for (size_t i = 0; i < cfg->web.listen.n; i++)
		if (!web_loopback(cfg->web.listen.v[i]))
			log_warnx("[web] listen %s is not on loopback: beacon-web speaks plain "
			    "HTTP and its cookies are Secure, so a browser reaching it over http:// "
			    "(but at localhost) never sends them back and every sign-in ends on "
			    "the form again; put a TLS front before it "
			    "(contrib/nginx/beacon-web.conf) and listen on 127.0.0.1",
			    cfg->web.listen.v[i]);
	return 0;
}

/* web_check - the [web] keys that must make sense, the files, and the password file */
static int web_check(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const struct { const char *name; long v, min, max; } nums[] = {
		{ "threads", cfg->web.threads, 2, WEB_MAX_THREADS },
		{ "live_clients", cfg->web.live_clients, 0, cfg->web.threads - 1 },
		{ "db_connections", cfg->web.db_connections, 1, WEB_MAX_DB },
		{ "session_ttl", cfg->web.session_ttl, 60, 366L * 86400 },
		{ "session_idle", cfg->web.session_idle, 60, 366L * 86400 },
		{ "login_attempts", cfg->web.login_attempts, 0, 1000000 },
		{ "login_lockout", cfg->web.login_lockout, 0, 366L * 86400 },
		{ "login_rate", cfg->web.login_rate, 0, 1000000 },
		{ "statement_timeout", cfg->web.statement_timeout, 1, 3600 },
	};
	int rc;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (nums[i].v < nums[i].min || nums[i].v > nums[i].max) {
			snprintf(err, errlen, "[web] %s is %ld, it must be %ld to %ld%s",
			    nums[i].name, nums[i].v, nums[i].min, nums[i].max,
			    !strcmp(nums[i].name, "live_clients") ?
			    " (fewer than threads: the pages need a thread too)" : "");
			return EX_CONFIG;
		}
	if (cfg->web.listen.n == 0) {
		snprintf(err, errlen, "[web] listen: give at least one address");
		return EX_CONFIG;
	}
	for (size_t i = 0; i < cfg->web.listen.n; i++)
		if (listen_check(cfg->web.listen.v[i], err, errlen) < 0)
			return EX_CONFIG;
	if ((rc = daemon_check_user(cfg->web.user, "web", err, errlen)) != 0 ||
	    (rc = web_check_files(cfg, err, errlen)) != 0 ||
	    (rc = beacon_check_database(cfg, err, errlen)) != 0)
		return rc;
	/* the replica's password file, read now like the primary's */
	if (*cfg->web.read_conninfo && *pool_read_password_file(cfg) &&
	    db_password_load(pool_read_password_file(cfg), NULL, 0, err, errlen) < 0)
		return EX_CONFIG;
	return 0;
}

/* web_check_replica - [web] read_conninfo's role: EX_CONFIG with ERR when pool_check
 * refuses it; a replica that cannot be read now (down, behind) is only warned of */
static int web_check_replica(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct dbread_info info;
	char line[1024];
	int refused;
	PGconn *c;

	if (!*cfg->web.read_conninfo)
		return 0;
	c = pool_connect_replica(cfg, cfg->web.statement_timeout * 1000L, &info, &refused);
	if (c) {
		dbread_describe(&info, line, sizeof(line));
		log_info("[web] read_conninfo: the pages and the API %s", line);
		PQfinish(c);
		return 0;
	}
	if (refused) {
		snprintf(err, errlen, "[web] read_conninfo: %s", info.fallback);
		return EX_CONFIG;
	}
	log_warnx("[web] read_conninfo: %s: the pages and the API read the primary meanwhile",
	    info.fallback);
	return 0;
}

/* web_check_db - -t: a session of the configured role that beacon-web may use, and the
 * replica's */
static int web_check_db(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	int refused;
	PGconn *c = pool_connect(cfg, &refused, err, errlen);

	if (!c)
		return refused ? EX_CONFIG : EX_UNAVAILABLE;
	PQfinish(c);
	return web_check_replica(cfg, err, errlen);
}

/* web_first_session - the role checks at start: a refusal is fatal, an outage is not */
static void web_first_session(const struct beacon_cfg *cfg)
{
	char err[1024];
	int refused;
	PGconn *c = pool_connect(cfg, &refused, err, sizeof(err));

	if (c)
		PQfinish(c);
	else if (refused)
		log_fatal_status(EX_CONFIG, "%s", err);
	else
		log_warnx("%s; the pages answer 503 until the database is reachable", err);
	if (web_check_replica(cfg, err, sizeof(err)) != 0)
		log_fatal_status(EX_CONFIG, "%s", err);
}

/* web_wait - until SIGTERM or SIGINT (returned); SIGHUP is noted and ignored */
static int web_wait(const sigset_t *set)
{
	int sig;

	for (;;) {
		if ((errno = sigwait(set, &sig)) != 0)
			log_fatal("sigwait");
		if (sig != SIGHUP)
			return sig;
		log_info("SIGHUP ignored: restart beacon-web to read the configuration again");
	}
}

/* main - start, serve until SIGTERM, stop */
int main(int argc, char **argv)
{
	static const struct beacon_prog prog = {
		"beacon-web", "[-c FILE] [-f] [-n | -t] [-d]", 1, web_check
	};
	struct beacon_opts opts;
	struct beacon_cfg cfg;
	struct web_ctx ctx;
	struct server *srv;
	char err[1024], dir[4096];
	sigset_t set;
	int rc, sig;

	db_use(DB_WEB);
	if (sodium_init() < 0) {
		fputs("beacon-web: libsodium cannot start\n", stderr);
		return EX_SOFTWARE;
	}
	beacon_init_live(argc, argv, &prog, web_check_db, &opts, &cfg);
	if ((rc = web_check(&cfg, err, sizeof(err))) != 0)
		log_fatal_status(rc, "%s", err);
	if (!(srv = server_bind(&cfg, err, sizeof(err))))
		log_fatal_status(EX_OSERR, "%s", err);
	daemon_detach(opts.foreground);
	daemon_pidfile(cfg.web.pidfile);
	web_first_session(&cfg);
	ctx = (struct web_ctx){ .cfg = &cfg, .static_dir = web_static_dir(&cfg, dir, sizeof(dir)) };
	/* before the drop: the files may be readable by root only (a checkout under /root) */
	static_load(ctx.static_dir, cfg.web.chartjs);
	daemon_drop(cfg.web.user, "web");

	daemon_block_signals(&set);
	ctx.pool = pool_new(&cfg, (unsigned)cfg.web.db_connections, POOL_PRIMARY);
	ctx.read = pool_new(&cfg, (unsigned)cfg.web.db_connections, POOL_READ);
	ctx.auth = auth_new(&cfg, ctx.pool);
	ctx.live = live_start(&cfg, ctx.pool);
	if (server_start(srv, &ctx, err, sizeof(err)) < 0)
		log_fatal_status(EX_OSERR, "%s", err);
	log_info("listening on %s%s (port %d), %ld connections at once, %ld database sessions "
	    "for sign-in and %ld for the pages%s, static files from %s", cfg.web.listen.v[0],
	    cfg.web.listen.n > 1 ? " and more" : "", server_port(srv), cfg.web.threads,
	    cfg.web.db_connections, cfg.web.db_connections,
	    *cfg.web.read_conninfo ? " (on the replica while it is close enough)" : "",
	    ctx.static_dir);

	sig = web_wait(&set);
	log_info("signal %d: stopping", sig);
	live_stop(ctx.live);
	server_stop(srv);
	live_free(ctx.live);
	auth_free(ctx.auth);
	pool_free(ctx.read);
	pool_free(ctx.pool);
	if (*cfg.web.pidfile)
		unlink(cfg.web.pidfile);
	log_info("stopped");
	cfg_free(&cfg);
	return 0;
}
