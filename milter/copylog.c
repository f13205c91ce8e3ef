/*
 * NAME
 *	copylog.c - the remembered copy ids, in memory and in an
 *	append-only synced file
 *
 * DESCRIPTION
 *	See copylog.h.  A GHashTable of ids (hex text) to the time they were
 *	added, under one mutex; the file is written with O_APPEND, one
 *	write(2) per line followed by fdatasync(2).  Opening rewrites the
 *	file through a temporary file and rename(2), so the live ids are
 *	never absent from disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "copylog.h"

#define COPYLOG_HEX (COPYLOG_ID_LEN * 2)	/* characters of an id in hex */

/* copylog - the remembered ids */
struct copylog {
	pthread_mutex_t lock;	/* guards ids and fd */
	GHashTable *ids;	/* hex id -> GINT_TO_POINTER(unused) */
	int fd;			/* DIR/copies.log, O_APPEND */
	char *path;		/* its path, for messages */
};

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

/* copylog_load - the live lines of the file at PATH into IDS and LIVE; 0 or -1 */
static int copylog_load(const char *path, GHashTable *ids, GString *live)
{
	long long now = (long long)time(NULL);
	char *text = NULL, **lines;
	gsize len;
	GError *gerr = NULL;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
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
		    at + COPYLOG_TTL_S < now || g_hash_table_contains(ids, id))
			continue;
		g_hash_table_add(ids, g_strdup(id));
		g_string_append_printf(live, "%s %lld\n", id, at);
	}
	g_strfreev(lines);
	g_free(text);
	return 0;
}

/* copylog_open - load, compact, open for appending */
struct copylog *copylog_open(const char *dir, char *err, size_t errlen)
{
	struct copylog *cl = g_new0(struct copylog, 1);
	GString *live = g_string_new(NULL);
	char *tmp;
	GError *gerr = NULL;

	cl->path = g_build_filename(dir, "copies.log", NULL);
	cl->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	cl->fd = -1;
	pthread_mutex_init(&cl->lock, NULL);
	if (copylog_load(cl->path, cl->ids, live) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", cl->path, g_strerror(errno));
		goto fail;
	}
	tmp = g_strconcat(cl->path, ".new", NULL);
	/* g_file_set_contents syncs the new file before it renames it over the old one */
	if (!g_file_set_contents_full(tmp, live->str, (gssize)live->len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &gerr) ||
	    rename(tmp, cl->path) < 0) {
		snprintf(err, errlen, "%s: cannot rewrite: %s", cl->path,
			 gerr ? gerr->message : g_strerror(errno));
		if (gerr)
			g_error_free(gerr);
		unlink(tmp);
		g_free(tmp);
		goto fail;
	}
	g_free(tmp);
	cl->fd = open(cl->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (cl->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", cl->path, g_strerror(errno));
		goto fail;
	}
	g_string_free(live, TRUE);
	return cl;
fail:
	g_string_free(live, TRUE);
	copylog_close(cl);
	return NULL;
}

/* copylog_has - look the id up */
int copylog_has(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN])
{
	char hex[COPYLOG_HEX + 1];
	int has;

	copylog_hex(id, hex);
	pthread_mutex_lock(&cl->lock);
	has = g_hash_table_contains(cl->ids, hex);
	pthread_mutex_unlock(&cl->lock);
	return has;
}

/* copylog_add - append and sync, then remember in memory */
int copylog_add(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN])
{
	char hex[COPYLOG_HEX + 1], line[COPYLOG_HEX + 32];
	int n, rc = 0, saved = 0;

	copylog_hex(id, hex);
	n = snprintf(line, sizeof(line), "%s %lld\n", hex, (long long)time(NULL));
	pthread_mutex_lock(&cl->lock);
	if (write(cl->fd, line, (size_t)n) != n || fdatasync(cl->fd) < 0) {
		saved = errno ? errno : EIO;
		rc = -1;
	}
	/* remembered in memory even when the disk failed: this process will not send it again */
	g_hash_table_add(cl->ids, g_strdup(hex));
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
	g_free(cl);
}
