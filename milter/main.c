/*
 * NAME
 *	main.c - beacon-milter start-up and shut-down
 *
 * SYNOPSIS
 *	beacon-milter [-c FILE] [-f] [-n] [-d]
 *
 * DESCRIPTION
 *	Reads beacon.conf(5), loads the token keys, creates the spool
 *	directory, opens the milter socket as root (a unix socket then gets
 *	the owner and group of its directory, mode 0660; no path is followed
 *	through a link the service user could plant, see lib/safedir.h),
 *	detaches, writes the pid
 *	file, drops privileges, opens the spool, starts the replay thread,
 *	loads the suppression list and starts its refresh thread, and hands
 *	over to libmilter.  SIGTERM, SIGINT and SIGHUP end
 *	smfi_main() (libmilter notices within about 5 s); the store is
 *	stopped and the socket removed.
 *
 * DIAGNOSTICS
 *	A bad configuration exits with EX_CONFIG (78) before anything else;
 *	a failure to start exits with EX_SOFTWARE (70) or EX_OSERR (71).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "callbacks.h"
#include "cfg.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "malloc_tune.h"
#include "safedir.h"
#include "copylog.h"
#include "store.h"
#include "store_sql.h"
#include "suppress.h"
#include "token.h"
#include "track.h"
#include "trust.h"

/* main_unix_path - the path of a unix:/local: socket spec, or NULL for inet */
static const char *main_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/* main_socket_open - as root: libmilter binds the unix socket PATH in a directory
 * reached without following planted links (created for USER if missing); only
 * a socket is removed first; the new socket gets mode 0660 from the umask at
 * bind and the owner and group of its directory (the [milter] user's where that
 * is root) through a descriptor of the very node bound, never through the name */
static void main_socket_open(const char *path, const char *user)
{
	struct passwd *pw = user && *user ? getpwnam(user) : NULL;
	char dir[4096], err[1024], proc[64];
	const char *name = safedir_split(path, dir, sizeof(dir));
	struct stat dst, st;
	int dfd, fd, created, rc;
	mode_t old;
	uid_t uid;
	gid_t gid;

	if (!name)
		log_fatal_status(EX_CONFIG, "socket '%s' is not a file name", path);
	if ((dfd = safedir_open(dir, 0755, &created, err, sizeof(err))) < 0)
		log_fatal_status(EX_OSERR, "socket directory: %s", err);
	if (created && geteuid() == 0 && pw && fchown(dfd, pw->pw_uid, pw->pw_gid) < 0)
		log_fatal("chown %s", dir);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode))
			log_fatal_status(EX_CANTCREAT, "%s exists and is %s; refusing to remove it",
					 path, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a socket");
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			log_fatal("cannot remove the old socket %s", path);
	}
	/* bind(2) never follows a link: a name planted since makes it fail */
	old = umask(0117);
	rc = smfi_opensocket(0);
	umask(old);
	if (rc != MI_SUCCESS)
		log_fatal_status(EX_OSERR, "cannot open milter socket %s", path);
	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
	    fstat(dfd, &dst) < 0)
		log_fatal_status(EX_OSERR, "%s: the socket just bound is gone or was replaced", path);
	uid = dst.st_uid != 0 || !pw ? dst.st_uid : pw->pw_uid;
	gid = dst.st_gid != 0 || !pw ? dst.st_gid : pw->pw_gid;
	if (geteuid() == 0 && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		log_fatal("chown %s", path);
	/* a default ACL may have overridden the umask: the node itself, by descriptor */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((st.st_mode & 07777) != 0660 && chmod(proc, 0660) < 0)
		log_fatal("chmod %s", path);
	close(fd);
	close(dfd);
}

/* milter_setup - what start-up needs from the config, and -n checks: the
 * user to run as, the token keys, the database password file (the socket
 * and reinject addresses are typed keys, checked when the file is read) */
static int milter_setup(const struct beacon_cfg *cfg, struct token_keys **keys, char *err,
			size_t errlen)
{
	int rc;

	*keys = NULL;
	if (token_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return EX_SOFTWARE;
	}
	/* refuse a root run before binding anything */
	if ((rc = daemon_check_user(cfg->milter.user, "milter", err, errlen)) != 0)
		return rc;
	if (!(*keys = token_keys_load(cfg->global.secret_file, err, errlen)))
		return EX_CONFIG;
	/* the password file is private to root: read it before dropping privileges */
	if ((rc = beacon_check_database(cfg, err, errlen)) != 0) {
		token_keys_free(*keys);
		*keys = NULL;
		return rc;
	}
	return 0;
}

/* milter_inbound_ready - with [milter] inbound = yes, the database has the functions it
 * calls and lets this role call them; 0, or EX_CONFIG with ERR.  A database that cannot be
 * reached is only a warning: the records wait in the spool */
static int milter_inbound_ready(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	char why[1024];
	PGconn *c;
	int ready;

	if (!cfg->milter.inbound)
		return 0;
	if (!(c = db_connect(cfg, "beacon-milter", why, sizeof(why)))) {
		log_warnx("cannot check the inbound functions now: %s", why);
		return 0;
	}
	ready = store_sql_inbound_ready(c, why, sizeof(why));
	PQfinish(c);
	if (ready < 0)
		log_warnx("%s", why);
	if (ready != 0)
		return 0;
	snprintf(err, errlen, "%s", why);
	return EX_CONFIG;
}

/* milter_check - beacon_check_fn for -n: milter_setup, then let go */
static int milter_check(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct token_keys *keys;
	int rc = milter_setup(cfg, &keys, err, errlen);

	token_keys_free(keys);
	if (rc == 0)
		rc = milter_inbound_ready(cfg, err, errlen);
	return rc;
}

/* milter_open - directories, the libmilter socket (as root), detach, pid file, drop */
static void milter_open(const struct beacon_cfg *cfg, const struct beacon_opts *opts,
			const char *upath)
{
	char err[1024];
	int fd;

	if ((fd = daemon_prepare_dir(cfg->milter.spool_dir, cfg->milter.user, 0700, err,
				     sizeof(err))) < 0)
		log_fatal_status(EX_OSERR, "cannot prepare spool directory: %s", err);
	close(fd);
	if (smfi_setconn(cfg->milter.socket) != MI_SUCCESS)
		log_fatal_status(EX_CONFIG, "bad socket '%s'", cfg->milter.socket);
	if (smfi_register(callbacks_desc) != MI_SUCCESS)
		log_fatalx("smfi_register failed");
	if (upath)
		main_socket_open(upath, cfg->milter.user);
	else if (smfi_opensocket(0) != MI_SUCCESS)
		log_fatal_status(EX_OSERR, "cannot open milter socket %s", cfg->milter.socket);
	daemon_detach(opts->foreground);
	daemon_pidfile(cfg->milter.pidfile);
	daemon_drop(cfg->milter.user, "milter");
}

/* milter_stop - after smfi_main: let sessions end, stop the threads, remove files */
static void milter_stop(const struct beacon_cfg *cfg, struct store *store,
			struct suppress *suppress, struct inbound_set *inbound, const char *upath)
{
	log_info("stopping");
	/* sessions run in their own threads: let them finish (bounded) */
	for (int i = 0; i < 200 && callbacks_sessions() > 0; i++)
		usleep(50000);
	if (callbacks_sessions() > 0)
		log_warnx("%d MTA connections still open at exit", callbacks_sessions());
	suppress_stop(suppress);
	inbound_set_stop(inbound);
	store_stop(store);
	if (upath)
		unlink(upath);
	if (cfg->milter.pidfile && *cfg->milter.pidfile && unlink(cfg->milter.pidfile) < 0 &&
	    errno != ENOENT)
		log_debug("cannot remove %s (it belongs to root)", cfg->milter.pidfile);
}

/* main - start, serve, stop */
int main(int argc, char **argv)
{
	static const struct beacon_prog prog = {
		"beacon-milter", "[-c FILE] [-f] [-n] [-d]", 1, milter_check
	};
	struct beacon_opts opts;
	struct beacon_cfg cfg;
	struct milter_env env;
	struct token_keys *keys;
	struct store *store;
	struct copylog *copies;
	struct suppress *suppress;
	struct inbound_set *inbound = NULL;
	struct trust *trust;
	const char *upath;
	char err[1024], *placeholder;
	sigset_t sigs;
	int rc;

	malloc_tune();
	db_use(DB_MILTER);
	beacon_init(argc, argv, &prog, &opts, &cfg);
	if ((rc = milter_setup(&cfg, &keys, err, sizeof(err))) != 0 ||
	    (rc = milter_inbound_ready(&cfg, err, sizeof(err))) != 0)
		log_fatal_status(rc, "%s", err);
	if (!(trust = trust_new(&cfg, err, sizeof(err))))
		log_fatal_status(EX_CONFIG, "%s", err);
	placeholder = cfg_placeholder_url(&cfg);
	if (!placeholder)
		log_fatalx("out of memory");
	upath = main_unix_path(cfg.milter.socket);
	g_mime_init();
	milter_open(&cfg, &opts, upath);

	store = store_new(&cfg, err, sizeof(err));
	if (!store)
		log_fatalx("%s", err);
	/* libmilter waits for these signals in its own thread; no other thread may take them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (store_start(store) < 0)
		log_fatal_status(EX_OSERR, "cannot start the store");
	suppress = suppress_new(&cfg);
	if (suppress_start(suppress) < 0)
		log_fatal_status(EX_OSERR, "cannot start the suppression list");
	if (cfg.milter.inbound) {
		inbound = inbound_set_new(&cfg);
		if (inbound_set_start(inbound) < 0)
			log_fatal_status(EX_OSERR, "cannot start the tracked inbound addresses");
	}
	copies = copylog_open(cfg.milter.spool_dir, err, sizeof(err));
	if (!copies)
		log_fatalx("%s", err);
	env = (struct milter_env){ &cfg, keys, placeholder, store, trust, copies, inbound };
	callbacks_init(&env, suppress, upath == NULL);
	log_info("listening on %s; per_recipient = %s, copies to %s", cfg.milter.socket,
		 cfg.milter.per_recipient == CFG_PER_RCPT_SPLIT ? "split" : "shared",
		 cfg.milter.reinject);

	rc = smfi_main();

	milter_stop(&cfg, store, suppress, inbound, upath);
	copylog_close(copies);
	token_keys_free(keys);
	trust_free(trust);
	free(placeholder);
	cfg_free(&cfg);
	g_mime_shutdown();
	return rc == MI_SUCCESS ? 0 : EX_SOFTWARE;
}
