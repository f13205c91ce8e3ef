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
#include <pwd.h>
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
	while ((c = getopt_long(argc, argv, "+c:fndhkV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': opts->config = optarg; break;
		case 'f': opts->foreground = 1; break;
		case 'n': opts->check = 1; break;
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

/* daemon_pidfile - write the pid file */
void daemon_pidfile(const char *path)
{
	FILE *fp;

	if (!path || !*path)
		return;
	fp = fopen(path, "w");
	if (!fp || fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0)
		log_fatal("cannot write pid file %s", path);
	chmod(path, 0644);
}

/* daemon_prepare_dir - create PATH and its parents; give it to USER */
int daemon_prepare_dir(const char *path, const char *user, unsigned mode)
{
	char buf[4096];
	struct passwd *pw;

	if (!path || !*path || strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	if (geteuid() == 0 && user && *user) {
		pw = getpwnam(user);
		if (!pw) {
			errno = ENOENT;
			return -1;
		}
		if (chown(buf, pw->pw_uid, pw->pw_gid) < 0)
			return -1;
	}
	return chmod(buf, (mode_t)mode);
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
