/*
 * NAME
 *	attach_store.c - content-addressed attachment files and per-recipient
 *	manifests, written atomically
 *
 * DESCRIPTION
 *	See attach_store.h.  Every file goes through attach_store_file():
 *	a temporary name from mkostemp in the final directory, the bytes,
 *	fchmod, fsync, rename, fsync of the directory; so a crash leaves
 *	either the old file, the new one or a stray temporary, never a torn
 *	file under the final name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <sodium.h>

#include "attach.h"
#include "attach_format.h"
#include "log.h"
#include "attach_store.h"

#define ATTACH_FILE_MODE 0640	/* group: the pixel server's */
#define ATTACH_DIR_MODE 0750
#define ATTACH_LOCK_WAIT_MS 5000	/* longest wait for beaconctl's exclusive lock */

/* attach_undo - the files one message added */
struct attach_undo {
	GPtrArray *paths;	/* char *: manifests to remove if the message is not rewritten */
};

/* attach_store_dir - make PATH a directory (0750) if it is not one; 0 or -1 with WHY */
static int attach_store_dir(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (mkdir(path, ATTACH_DIR_MODE) == 0) {
		/* the umask may have taken the group's bits: chmod only then, since chmod
		 * drops the set-group-ID bit a new directory inherits (a store shared
		 * through its group) unless the milter's user is in that group */
		if (lstat(path, &st) < 0 || ((st.st_mode & 07777 & ~S_ISGID) != ATTACH_DIR_MODE &&
		    chmod(path, ATTACH_DIR_MODE | (st.st_mode & S_ISGID)) < 0)) {
			snprintf(why, whylen, "chmod %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(why, whylen, "mkdir %s: %s", path, errno == EEXIST ? "not a directory" :
		 strerror(errno));
	return -1;
}

/* attach_store_sync_dir - fsync the directory DIR */
static int attach_store_sync_dir(const char *dir, char *why, size_t whylen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		snprintf(why, whylen, "fsync %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* attach_store_file - write DATA[0..LEN) as DIR/NAME atomically; 0 or -1 with WHY */
static int attach_store_file(const char *dir, const char *name, const void *data, size_t len,
			     char *why, size_t whylen)
{
	char *tmp = g_strdup_printf("%s/.tmp.XXXXXX", dir), *final = g_strdup_printf("%s/%s", dir, name);
	const char *p = data;
	size_t left = len;
	int fd = mkostemp(tmp, O_CLOEXEC), rc = -1;

	if (fd < 0) {
		snprintf(why, whylen, "create in %s: %s", dir, strerror(errno));
		goto out;
	}
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "write %s: %s", tmp, n < 0 ? strerror(errno) : "no progress");
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, ATTACH_FILE_MODE) < 0 || fsync(fd) < 0) {
		snprintf(why, whylen, "sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(why, whylen, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		snprintf(why, whylen, "rename to %s: %s", final, strerror(errno));
		goto fail;
	}
	rc = attach_store_sync_dir(dir, why, whylen);
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	g_free(tmp);
	g_free(final);
	return rc;
}

/* attach_store_pct - RFC 3986 unreserved characters kept, every other octet %XX */
char *attach_store_pct(const char *name)
{
	GString *s = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			g_string_append_c(s, (char)*p);
		else
			g_string_append_printf(s, "%%%02X", *p);
	}
	return g_string_free(s, FALSE);
}

/* attach_store_blob - the content of A, written unless a file of its name and size is there */
static int attach_store_blob(const char *dir, const struct mime_att *a, char *why, size_t whylen)
{
	char sub[3] = { a->sha256[0], a->sha256[1], 0 };
	char *d = g_build_filename(dir, sub, NULL), *path = g_build_filename(d, a->sha256, NULL);
	struct stat st;
	int rc = 0;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (guint64)st.st_size == a->data->len) {
		/* the same content, already stored: its time is now, so that beaconctl's
		 * retention (a blob's expiry runs from its mtime) keeps it for this message;
		 * a file whose time cannot be renewed may be removed too soon: a failure */
		if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(why, whylen, "cannot renew the time of %s: %s", path, strerror(errno));
			rc = -1;
		}
		goto out;
	}
	/* never removed again: another message may already name it (beaconctl purge removes
	 * content no message names) */
	if (attach_store_dir(d, why, whylen) < 0 ||
	    attach_store_file(d, a->sha256, a->data->data, a->data->len, why, whylen) < 0)
		rc = -1;
out:
	g_free(path);
	g_free(d);
	return rc;
}

/* attach_store_manifest - the lines of every taken attachment of D */
static GString *attach_store_manifest(const struct mime_doc *d, uint64_t expiry)
{
	GString *m = g_string_new(NULL);

	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		char *name;

		if (!a->taken)
			continue;
		name = attach_store_pct(a->name);
		g_string_append_printf(m, "%d\t%s\t%u\t%llu\t%s\t%s\n", a->n, a->sha256,
				       a->data->len, (unsigned long long)expiry, a->ctype, name);
		g_free(name);
	}
	return m;
}

/* attach_store_lock - DIR/.lock open (made 0640 if missing, never through a symbolic link)
 * and share-locked, waiting at most ATTACH_LOCK_WAIT_MS for beaconctl; its fd or -1 with WHY */
static int attach_store_lock(const char *dir, char *why, size_t whylen)
{
	char *path = g_build_filename(dir, ATTACH_LOCK_NAME, NULL);
	int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, ATTACH_LOCK_MODE);
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	if (fd < 0) {
		snprintf(why, whylen, "open %s: %s", path, strerror(errno));
		g_free(path);
		return -1;
	}
	for (int waited = 0; flock(fd, LOCK_SH | LOCK_NB) < 0; waited += 50) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= ATTACH_LOCK_WAIT_MS) {
			snprintf(why, whylen, "lock %s: %s", path, errno == EWOULDBLOCK ?
				 "held by beaconctl too long" : strerror(errno));
			close(fd);
			g_free(path);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	g_free(path);
	return fd;
}

/* attach_store_space - does DIR's filesystem keep MIN_FREE octets free once D's content and
 * NRIDS manifests of MLEN octets are written?  0, or -1 with WHY; MIN_FREE 0: not checked */
static int attach_store_space(const char *dir, const struct mime_doc *d, int nrids, size_t mlen,
			      long long min_free, char *why, size_t whylen)
{
	unsigned long long need = (unsigned long long)nrids * mlen, avail;
	struct statvfs sv;

	if (min_free <= 0)
		return 0;
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		if (a->taken)
			need += a->data->len;
	}
	if (statvfs(dir, &sv) < 0) {
		snprintf(why, whylen, "statvfs %s: %s", dir, strerror(errno));
		return -1;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (avail < need || avail - need < (unsigned long long)min_free) {
		snprintf(why, whylen, "%llu octets free in %s, %llu needed and attachment_min_free "
			 "is %lld", avail, dir, need, min_free);
		return -1;
	}
	return 0;
}

/* attach_store_recheck - is every content file of D still there (a beaconctl that took no
 * lock may have removed one)?  0, or -1 with WHY */
static int attach_store_recheck(const char *dir, const struct mime_doc *d, char *why,
				size_t whylen)
{
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		char sub[3] = { a->sha256[0], a->sha256[1], 0 }, *path;
		struct stat st;
		int ok;

		if (!a->taken)
			continue;
		path = g_build_filename(dir, sub, a->sha256, NULL);
		ok = lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		     (guint64)st.st_size == a->data->len;
		if (!ok)
			snprintf(why, whylen, "%s went away while the manifests were written", path);
		g_free(path);
		if (!ok)
			return -1;
	}
	return 0;
}

/* attach_store_put - content files first, then the manifests, under the store's shared lock;
 * undone on any failure */
int attach_store_put(const char *dir, const struct mime_doc *d,
		     const uint8_t (*rids)[TOKEN_RID_LEN], int nrids, uint64_t expiry,
		     long long min_free, struct attach_undo **undo, char *why, size_t whylen)
{
	struct attach_undo *u = g_new0(struct attach_undo, 1);
	char *tdir = g_build_filename(dir, "t", NULL);
	GString *m = NULL;
	int rc = -1, lock = -1;

	u->paths = g_ptr_array_new_with_free_func(g_free);
	*undo = NULL;
	if (attach_store_dir(dir, why, whylen) < 0)
		goto out;
	m = attach_store_manifest(d, expiry);
	if (m->len > ATTACH_MANIFEST_MAX) {
		snprintf(why, whylen, "a manifest of %zu octets, more than the %d beacon-pixelsrv "
			 "reads", m->len, ATTACH_MANIFEST_MAX);
		goto out;
	}
	if (attach_store_space(dir, d, nrids, m->len, min_free, why, whylen) < 0 ||
	    (lock = attach_store_lock(dir, why, whylen)) < 0)
		goto out;
	for (guint i = 0; i < d->atts->len; i++) {
		const struct mime_att *a = g_ptr_array_index(d->atts, i);
		if (a->taken && attach_store_blob(dir, a, why, whylen) < 0)
			goto out;
	}
	if (attach_store_dir(tdir, why, whylen) < 0)
		goto out;
	for (int i = 0; i < nrids; i++) {
		char hex[2 * TOKEN_RID_LEN + 1];
		sodium_bin2hex(hex, sizeof(hex), rids[i], TOKEN_RID_LEN);
		if (attach_store_file(tdir, hex, m->str, m->len, why, whylen) < 0)
			goto out;
		g_ptr_array_add(u->paths, g_build_filename(tdir, hex, NULL));
	}
	if (attach_store_recheck(dir, d, why, whylen) < 0)
		goto out;
	rc = 0;
	*undo = u;
	u = NULL;
out:
	if (lock >= 0)
		close(lock);	/* releases the lock */
	if (m)
		g_string_free(m, TRUE);
	g_free(tdir);
	attach_store_finish(u, 0);
	return rc;
}

/* attach_store_finish - keep or remove the files, free U */
void attach_store_finish(struct attach_undo *u, int keep)
{
	if (!u)
		return;
	for (guint i = u->paths->len; !keep && i > 0; i--)
		unlink(g_ptr_array_index(u->paths, i - 1));
	g_ptr_array_free(u->paths, TRUE);
	g_free(u);
}
