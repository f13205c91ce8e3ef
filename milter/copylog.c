/*
 * NAME
 *	copylog.c - the remembered copy ids, in memory and in an
 *	append-only synced file
 *
 * DESCRIPTION
 *	See copylog.h.  A GHashTable of ids (hex text) to the time they were
 *	added, under one mutex; the file is written with O_APPEND, one
 *	write(2) per line followed by fdatasync(2).  A compaction writes the
 *	live ids to DIR/copies.log.new, fsyncs it, renames it over
 *	copies.log and keeps appending to it (the fd it was written
 *	through), so the live ids are never absent from disk and no append
 *	can go to a file already replaced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "copylog.h"
#include "log.h"

#define COPYLOG_HEX (COPYLOG_ID_LEN * 2)	/* characters of an id in hex */

/* copylog - the remembered ids */
struct copylog {
	pthread_mutex_t lock;	/* guards everything below */
	GHashTable *ids;	/* hex id -> GSIZE_TO_POINTER(unix time added) */
	long long oldest;	/* the oldest time in ids, 0 when empty */
	int fd;			/* DIR/copies.log, O_APPEND */
	char *path;		/* its path, for messages */
	char *dir;		/* its directory, synced after a rename */
	long long (*now)(void);	/* the clock (tests), or NULL: time(NULL) */
};

/* copylog_now - the time for CL */
static long long copylog_now(const struct copylog *cl)
{
	return cl->now ? cl->now() : (long long)time(NULL);
}

/* copylog_hex - ID as lower-case hex */
static void copylog_hex(const uint8_t id[COPYLOG_ID_LEN], char out[COPYLOG_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < COPYLOG_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[COPYLOG_HEX] = '\0';
}

/* copylog_expired - is an id added AT forgotten at NOW? */
static int copylog_expired(long long at, long long now)
{
	return at + COPYLOG_TTL_S < now;
}

/* copylog_load - the live lines of the file into CL's table; 0 or -1 */
static int copylog_load(struct copylog *cl, long long now)
{
	char *text = NULL, **lines;
	gsize len;
	GError *gerr = NULL;

	if (!g_file_get_contents(cl->path, &text, &len, &gerr)) {
		int missing = g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT);
		g_error_free(gerr);
		return missing ? 0 : -1;
	}
	lines = g_strsplit(text, "\n", -1);
	/* the part after the last newline is a torn write: not a line */
	for (guint i = 0; lines[i] && lines[i + 1]; i++) {
		char id[COPYLOG_HEX + 1];
		long long at;

		if (sscanf(lines[i], "%32[0-9a-f] %lld", id, &at) != 2 || strlen(id) != COPYLOG_HEX ||
		    at <= 0 || copylog_expired(at, now) || g_hash_table_contains(cl->ids, id))
			continue;
		g_hash_table_insert(cl->ids, g_strdup(id), GSIZE_TO_POINTER((gsize)at));
	}
	g_strfreev(lines);
	g_free(text);
	return 0;
}

/* copylog_drop - g_hash_table_foreach_remove: is the id expired at *NOW? */
static gboolean copylog_drop(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	return copylog_expired((long long)GPOINTER_TO_SIZE(value), *(const long long *)now);
}

/* copylog_write_all - write LEN bytes of BUF to FD; 0, or -1 (errno) */
static int copylog_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* copylog_compact - forget the ids expired at NOW, then write the live ones to a new file that
 * replaces the old one and takes its place for appending; 0, or -1 with ERR (the table is
 * compacted all the same; the old file stays, and with it the appends) */
static int copylog_compact(struct copylog *cl, long long now, char *err, size_t errlen)
{
	GString *live = g_string_new(NULL);
	char *tmp = g_strconcat(cl->path, ".new", NULL);
	GHashTableIter it;
	gpointer key, value;
	int fd = -1, dfd, rc = -1;

	g_hash_table_foreach_remove(cl->ids, copylog_drop, &now);
	cl->oldest = 0;
	g_hash_table_iter_init(&it, cl->ids);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		long long at = (long long)GPOINTER_TO_SIZE(value);
		g_string_append_printf(live, "%s %lld\n", (const char *)key, at);
		if (cl->oldest == 0 || at < cl->oldest)
			cl->oldest = at;
	}
	if (unlink(tmp) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove: %s", tmp, g_strerror(errno));
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || copylog_write_all(fd, live->str, live->len) < 0 || fsync(fd) < 0 ||
	    rename(tmp, cl->path) < 0) {
		snprintf(err, errlen, "%s: cannot rewrite: %s", cl->path, g_strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		goto done;
	}
	/* the rename itself is durable too (else a crash could bring back the old file: it
	 * holds every live id as well, so that is only a bigger file) */
	dfd = open(cl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = fd;
	rc = 0;
done:
	g_string_free(live, TRUE);
	g_free(tmp);
	return rc;
}

/* copylog_open - load, compact, keep the new file open for appending */
struct copylog *copylog_open(const char *dir, char *err, size_t errlen)
{
	struct copylog *cl = g_new0(struct copylog, 1);

	cl->path = g_build_filename(dir, "copies.log", NULL);
	cl->dir = g_strdup(dir);
	cl->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	cl->fd = -1;
	pthread_mutex_init(&cl->lock, NULL);
	if (copylog_load(cl, copylog_now(cl)) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", cl->path, g_strerror(errno));
		goto fail;
	}
	if (copylog_compact(cl, copylog_now(cl), err, errlen) < 0)
		goto fail;
	return cl;
fail:
	copylog_close(cl);
	return NULL;
}

/* copylog_sent_at - the time the id was added, if it is still remembered */
long long copylog_sent_at(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN])
{
	char hex[COPYLOG_HEX + 1];
	gpointer value;
	long long at = 0;

	copylog_hex(id, hex);
	pthread_mutex_lock(&cl->lock);
	if (g_hash_table_lookup_extended(cl->ids, hex, NULL, &value)) {
		at = (long long)GPOINTER_TO_SIZE(value);
		if (copylog_expired(at, copylog_now(cl)))
			at = 0;
	}
	pthread_mutex_unlock(&cl->lock);
	return at;
}

/* copylog_has - look the id up */
int copylog_has(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN])
{
	return copylog_sent_at(cl, id) > 0;
}

/* copylog_add - append and sync, remember in memory, compact when the oldest id is overdue */
int copylog_add(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN])
{
	char hex[COPYLOG_HEX + 1], line[COPYLOG_HEX + 32], err[512];
	struct stat st;
	long long now;
	ssize_t w;
	int n, rc = 0, saved = 0, have_size;

	copylog_hex(id, hex);
	pthread_mutex_lock(&cl->lock);
	now = copylog_now(cl);
	n = snprintf(line, sizeof(line), "%s %lld\n", hex, now);
	have_size = fstat(cl->fd, &st) == 0;
	w = write(cl->fd, line, (size_t)n);
	if (w != n) {
		/* a short write sets no errno: on a regular file it means the disk is full */
		saved = w < 0 ? errno : ENOSPC;
		rc = -1;
		/* cut the torn line off, so the next line does not run into it */
		if (w > 0 && have_size && ftruncate(cl->fd, st.st_size) < 0)
			log_warn("%s: cannot cut off a torn line", cl->path);
	} else if (fdatasync(cl->fd) < 0) {
		saved = errno;
		rc = -1;
	}
	/* remembered in memory even when the disk failed: this process will not send it again */
	g_hash_table_insert(cl->ids, g_strdup(hex), GSIZE_TO_POINTER((gsize)now));
	if (cl->oldest == 0 || now < cl->oldest)
		cl->oldest = now;
	if (copylog_expired(cl->oldest + COPYLOG_COMPACT_S, now) &&
	    copylog_compact(cl, now, err, sizeof(err)) < 0)
		log_warnx("%s (expired copy ids forgotten, the file keeps them until it is "
			  "rewritten)", err);
	pthread_mutex_unlock(&cl->lock);
	errno = saved;
	return rc;
}

/* copylog_size - how many ids */
unsigned copylog_size(struct copylog *cl)
{
	unsigned n;

	pthread_mutex_lock(&cl->lock);
	n = g_hash_table_size(cl->ids);
	pthread_mutex_unlock(&cl->lock);
	return n;
}

/* copylog_set_clock - tests: another clock */
void copylog_set_clock(struct copylog *cl, long long (*now)(void))
{
	pthread_mutex_lock(&cl->lock);
	cl->now = now;
	pthread_mutex_unlock(&cl->lock);
}

/* copylog_close - close the file, free the table */
void copylog_close(struct copylog *cl)
{
	if (!cl)
		return;
	if (cl->fd >= 0)
		close(cl->fd);
	g_hash_table_destroy(cl->ids);
	pthread_mutex_destroy(&cl->lock);
	g_free(cl->path);
	g_free(cl->dir);
	g_free(cl);
}
