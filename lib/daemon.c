/*
 * daemon.c - option parsing, config loading and the -n check, pid file,
 * directories and the one checked privilege drop shared by beacon-milter,
 * beacon-pixelsrv and beaconctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "db.h"
#include "log.h"
#include "safedir.h"

/* beacon_options - the common options into *OPTS; exits on -h, -k, -V or a usage error */
static void beacon_options(int argc, char **argv, const struct beacon_prog *prog,
			   struct beacon_opts *opts)
{
	/* '+' stops at the first non-option so subcommands keep their own flags */
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->config = getenv("BEACON_CONFIG");
	if (!opts->config)
		opts->config = BEACON_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "+c:fndthkV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': opts->config = optarg; break;
		case 'f': opts->foreground = 1; break;
		case 'n': opts->check = 1; break;
		case 't': opts->check = opts->check_live = 1; break;
		case 'd': opts->debug = 1; break;
		case 'k': cfg_print_keys(stdout); exit(0);
		case 'V': printf("%s %s\n", prog->name, BEACON_VERSION); exit(0);
		case 'h': printf("usage: %s %s\n", prog->name, prog->usage); exit(0);
		default:
			fprintf(stderr, "usage: %s %s\n", prog->name, prog->usage);
			exit(EX_USAGE);
		}
	}
	opts->optind = optind;
}

/* beacon_init - common options, config, the -n check and logging */
void beacon_init(int argc, char **argv, const struct beacon_prog *prog,
		 struct beacon_opts *opts, struct beacon_cfg *cfg)
{
	beacon_init_live(argc, argv, prog, NULL, opts, cfg);
}

/* beacon_init_live - the same, with a -t check LIVE */
void beacon_init_live(int argc, char **argv, const struct beacon_prog *prog,
		      beacon_check_fn *live, struct beacon_opts *opts, struct beacon_cfg *cfg)
{
	char err[1024];
	int rc;

	beacon_options(argc, argv, prog, opts);
	log_init(prog->name, !prog->daemon || opts->foreground || opts->check, 0);
	log_set_debug(opts->debug);
	if (cfg_load(cfg, opts->config, err, sizeof(err)) < 0)
		log_fatal_status(EX_CONFIG, "%s", err);
	if (opts->check) {
		if (prog->check && (rc = prog->check(cfg, err, sizeof(err))) != 0)
			log_fatal_status(rc, "%s", err);
		if (opts->check_live && live && (rc = live(cfg, err, sizeof(err))) != 0)
			log_fatal_status(rc, "%s", err);
		cfg_dump(cfg, stdout);
		exit(0);
	}
	if (prog->daemon && !opts->foreground)
		log_init(prog->name, 0, log_facility_code(cfg->global.syslog_facility));
}

/* beacon_check_database - read password_file now: it must exist and be private */
int beacon_check_database(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	return db_password_preload(cfg, err, errlen) < 0 ? EX_CONFIG : 0;
}

/* daemon_detach - classic double-fork-free detach: fork, setsid, stdio to /dev/null */
void daemon_detach(int foreground)
{
	if (foreground)
		return;
	if (daemon(0, 0) < 0)
		log_fatal("cannot detach");
}

/* daemon_pidfile_what - what is at NAME in DFD, for a message: NULL if we may replace it */
static const char *daemon_pidfile_what(int dfd, const char *name, char *buf, size_t len)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	if (S_ISLNK(st.st_mode))
		return "a symbolic link";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_uid != geteuid()) {
		snprintf(buf, len, "owned by uid %u, not by us", (unsigned)st.st_uid);
		return buf;
	}
	return NULL;
}

/* daemon_pidfile - write the pid file: created anew (O_EXCL | O_NOFOLLOW) in a
 * directory reached without following planted links; an old one is removed
 * only if it is a regular file of ours */
void daemon_pidfile(const char *path)
{
	char dir[4096], err[1024], buf[64], why[64];
	const char *name, *what;
	struct stat dst;
	int dfd, fd, n;

	if (!path || !*path)
		return;
	if (!(name = safedir_split(path, dir, sizeof(dir))))
		log_fatal_status(EX_CONFIG, "pid file '%s' is not a file name", path);
	if ((dfd = safedir_open(dir, 0, NULL, err, sizeof(err))) < 0)
		log_fatal_status(EX_CANTCREAT, "cannot write pid file %s: %s", path, err);
	/* the write below is safe anywhere; what others may do to the file later is not */
	if (geteuid() == 0 && fstat(dfd, &dst) == 0 &&
	    (dst.st_uid != 0 || (dst.st_mode & (S_IWGRP | S_IWOTH))))
		log_warnx("pid file %s: users other than root may write %s (owner uid %u, mode "
			  "%04o), so they may change the pid in it later; use a root-owned "
			  "directory such as /run/beacon", path, dir, (unsigned)dst.st_uid,
			  (unsigned)(dst.st_mode & 07777));
	if ((what = daemon_pidfile_what(dfd, name, why, sizeof(why))) != NULL)
		log_fatal_status(EX_CANTCREAT, "pid file %s exists and is %s; refusing to "
				 "replace it", path, what);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		log_fatal_status(EX_CANTCREAT, "cannot remove the old pid file %s: %s", path,
				 strerror(errno));
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		log_fatal_status(EX_CANTCREAT, "cannot create pid file %s: %s", path,
				 strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fchmod(fd, 0644) < 0 || write(fd, buf, (size_t)n) != n || close(fd) < 0)
		log_fatal_status(EX_CANTCREAT, "cannot write pid file %s: %s", path,
				 strerror(errno));
	close(dfd);
}

/* daemon_prepare_dir - PATH (made with its parents if missing, no planted link
 * followed) as a descriptor; owned by USER if we are root, mode MODE */
int daemon_prepare_dir(const char *path, const char *user, unsigned mode, char *err,
		       size_t errlen)
{
	struct passwd *pw;
	int fd, saved;

	if ((fd = safedir_open(path, mode, NULL, err, errlen)) < 0)
		return -1;
	if (geteuid() == 0 && user && *user) {
		if (!(pw = getpwnam(user))) {
			snprintf(err, errlen, "%s: user '%s' does not exist", path, user);
			close(fd);
			errno = ENOENT;
			return -1;
		}
		if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
			goto fail;
	}
	if (fchmod(fd, (mode_t)mode) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	snprintf(err, errlen, "%s: %s", path, strerror(saved));
	close(fd);
	errno = saved;
	return -1;
}

/* daemon_check_user - as root, USER must name an existing non-root user */
int daemon_check_user(const char *user, const char *section, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (!user || !*user) {
		snprintf(err, errlen, "refusing to run as root: set 'user' in [%s]", section);
		return EX_CONFIG;
	}
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user '%s' (from [%s] user) does not exist", user, section);
		return EX_CONFIG;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "refusing to run as root: [%s] user is '%s'", section, user);
		return EX_CONFIG;
	}
	return 0;
}

/* daemon_block_signals - the signals main() waits for, blocked everywhere else */
void daemon_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, set, NULL)) != 0)
		log_fatal("pthread_sigmask");
	signal(SIGPIPE, SIG_IGN);
}

/* daemon_drop - become USER; a daemon never keeps running as root */
void daemon_drop(const char *user, const char *section)
{
	struct passwd *pw;

	char err[512];
	int rc;

	if (geteuid() != 0)
		return;
	if ((rc = daemon_check_user(user, section, err, sizeof(err))) != 0)
		log_fatal_status(rc, "%s", err);
	pw = getpwnam(user);
	if (!pw)
		log_fatal_status(EX_CONFIG, "user '%s' (from [%s] user) does not exist", user, section);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		log_fatal("initgroups(%s)", user);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		log_fatal("setresgid(%s)", user);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		log_fatal("setresuid(%s)", user);
	if (setuid(0) == 0 || geteuid() == 0)
		log_fatalx("privileges were not dropped");
}
