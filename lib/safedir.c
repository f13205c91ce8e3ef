/*
 * safedir.c - walk to a directory as root, component by component,
 * following a symbolic link only where no one else could have put it
 * (see safedir.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safedir.h"

#define SAFEDIR_DEPTH 16	/* nested symbolic links followed at most */
#define SAFEDIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* safedir_trusted - may a link owned by LUID in the directory DST be followed */
static int safedir_trusted(const struct stat *dst, uid_t luid)
{
	uid_t me = geteuid();

	if (dst->st_uid != 0 && dst->st_uid != me)
		return 0;
	if (!(dst->st_mode & (S_IWGRP | S_IWOTH)))
		return 1;
	/* sticky (like /tmp): others may add names, but not replace ours */
	return (dst->st_mode & S_ISVTX) && (luid == 0 || luid == me);
}

/* safedir_link - open the directory a link NAME in FD points to, if FD is trusted */
static int safedir_link(int fd, const char *name, const char *shown, unsigned mode,
			int *created, int depth, char *err, size_t errlen);

/* safedir_walk - open PATH from AT (-1: from "/" or the working directory) */
static int safedir_walk(int at, const char *path, unsigned mode, int *created, int depth,
			char *err, size_t errlen)
{
	char buf[PATH_MAX], *comp, *next;
	int fd, nfd, last, saved;

	if (!*path || strlen(path) >= sizeof(buf)) {
		errno = *path ? ENAMETOOLONG : ENOENT;
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	strcpy(buf, path);
	if (path[0] == '/')
		fd = open("/", SAFEDIR_FLAGS);
	else if (at >= 0)
		fd = fcntl(at, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(".", SAFEDIR_FLAGS);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (comp = buf; *comp == '/'; comp++)
		;
	while (*comp) {
		next = strchr(comp, '/');
		if (next) {
			*next++ = '\0';
			while (*next == '/')
				next++;
		} else {
			next = comp + strlen(comp);
		}
		last = *next == '\0';
		if (strcmp(comp, ".") == 0) {
			comp = next;
			continue;
		}
		nfd = openat(fd, comp, SAFEDIR_FLAGS);
		if (nfd < 0 && errno == ENOENT && mode) {
			if (mkdirat(fd, comp, last ? (mode_t)mode : 0755) == 0) {
				if (last && created)
					*created = 1;
			} else if (errno != EEXIST) {
				saved = errno;
				snprintf(err, errlen, "cannot create %s: %s", path, strerror(saved));
				close(fd);
				errno = saved;
				return -1;
			}
			nfd = openat(fd, comp, SAFEDIR_FLAGS);
		}
		if (nfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			/* the shown name: PATH up to and including this component */
			char shown[PATH_MAX];

			snprintf(shown, sizeof(shown), "%.*s", (int)(comp - buf + strlen(comp)), path);
			nfd = safedir_link(fd, comp, shown, last ? mode : mode ? 0755 : 0,
					   last ? created : NULL, depth, err, errlen);
			if (nfd < 0) {
				saved = errno;
				close(fd);
				errno = saved;
				return -1;
			}
		} else if (nfd < 0) {
			saved = errno;
			snprintf(err, errlen, "%.*s: %s", (int)(comp - buf + strlen(comp)), path,
				 strerror(saved));
			close(fd);
			errno = saved;
			return -1;
		}
		close(fd);
		fd = nfd;
		comp = next;
	}
	return fd;
}

static int safedir_link(int fd, const char *name, const char *shown, unsigned mode,
			int *created, int depth, char *err, size_t errlen)
{
	char target[PATH_MAX];
	struct stat lst, dst;
	ssize_t n;

	if (fstatat(fd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0 || fstat(fd, &dst) < 0) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return -1;
	}
	if (!S_ISLNK(lst.st_mode)) {
		errno = ENOTDIR;
		snprintf(err, errlen, "%s: not a directory", shown);
		return -1;
	}
	if (!safedir_trusted(&dst, lst.st_uid)) {
		errno = ELOOP;
		snprintf(err, errlen, "%s is a symbolic link in a directory others than root may "
			 "write (owner uid %u, mode %04o); refusing to follow it", shown,
			 (unsigned)dst.st_uid, (unsigned)(dst.st_mode & 07777));
		return -1;
	}
	if (depth >= SAFEDIR_DEPTH) {
		errno = ELOOP;
		snprintf(err, errlen, "%s: too many levels of symbolic links", shown);
		return -1;
	}
	if ((n = readlinkat(fd, name, target, sizeof(target) - 1)) < 0) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return -1;
	}
	target[n] = '\0';
	return safedir_walk(fd, target, mode, created, depth + 1, err, errlen);
}

int safedir_open(const char *path, unsigned mode, int *created, char *err, size_t errlen)
{
	if (created)
		*created = 0;
	return safedir_walk(-1, path ? path : "", mode, created, 0, err, errlen);
}

const char *safedir_split(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		if (!*path || dirlen < 2)
			return NULL;
		strcpy(dir, ".");
		return path;
	}
	if (!slash[1])
		return NULL;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= dirlen)
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return slash + 1;
}
