/*
 * daemon.c - option parsing, config loading, pid file, directories and
 * the one checked privilege drop shared by beacon-milter, beacon-pixelsrv
 * and beaconctl.
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
#include "log.h"

/* beacon_start - common options, config and logging */
void beacon_start(int argc, char **argv, const char *prog, const char *usage,
		  int daemon, struct beacon_opts *opts, struct beacon_cfg *cfg)
{
	char err[1024];
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->config = getenv("BEACON_CONFIG");
	if (!opts->config)
		opts->config = BEACON_DEFAULT_CONFIG;
	/* '+' stops at the first non-option so subcommands keep their own flags */
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "+c:fndhkV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': opts->config = optarg; break;
		case 'f': opts->foreground = 1; break;
		case 'n': opts->check = 1; break;
		case 'd': opts->debug = 1; break;
		case 'k': cfg_print_keys(stdout); exit(0);
		case 'V': printf("%s %s\n", prog, BEACON_VERSION); exit(0);
		case 'h': printf("usage: %s %s\n", prog, usage); exit(0);
		default:
			fprintf(stderr, "usage: %s %s\n", prog, usage);
			exit(EX_USAGE);
		}
	}
	opts->optind = optind;
	log_init(prog, !daemon || opts->foreground || opts->check, 0);
	log_set_debug(opts->debug);
	if (cfg_load(cfg, opts->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(EX_CONFIG);
	}
	if (opts->check) {
		cfg_dump(cfg, stdout);
		exit(0);
	}
	if (daemon && !opts->foreground)
		log_init(prog, 0, log_facility_code(
			(const char *[]){ "mail", "daemon", "local0", "local1", "local2",
					  "local3", "local4", "local5", "local6",
					  "local7" }[cfg->global.syslog_facility]));
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

/* daemon_check_user - as root, USER must name an existing non-root user (exit EX_CONFIG) */
void daemon_check_user(const char *user, const char *section)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	log_set_exit(EX_CONFIG);
	if (!user || !*user)
		log_fatalx("refusing to run as root: set 'user' in [%s]", section);
	pw = getpwnam(user);
	if (!pw)
		log_fatalx("user '%s' (from [%s] user) does not exist", user, section);
	if (pw->pw_uid == 0)
		log_fatalx("refusing to run as root: [%s] user is '%s'", section, user);
	log_set_exit(EX_SOFTWARE);
}

/* daemon_drop - become USER; a daemon never keeps running as root */
void daemon_drop(const char *user, const char *section)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	daemon_check_user(user, section);
	pw = getpwnam(user);
	if (!pw)
		log_fatalx("user '%s' (from [%s] user) does not exist", user, section);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		log_fatal("initgroups(%s)", user);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		log_fatal("setresgid(%s)", user);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		log_fatal("setresuid(%s)", user);
	if (setuid(0) == 0 || geteuid() == 0)
		log_fatalx("privileges were not dropped");
}
