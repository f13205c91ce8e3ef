/*
 * spool.c - the append-only record spool both daemons fall back to when
 * PostgreSQL is unavailable (see spool.h for the format and rules).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "spool.h"

/* spool - one spool: its paths and the append descriptor */
struct spool {
	pthread_mutex_t lock;	/* serialises appends and the rename */
	int fd;			/* DIR/NAME.spool, O_APPEND */
	char *path;		/* DIR/NAME.spool */
	char *replay;		/* DIR/NAME.replay */
	char *offpath;		/* DIR/NAME.replay.off */
	unsigned long long max;	/* cap of NAME.spool in bytes, 0: none */
	unsigned long long refused;	/* appends refused by the cap, ever */
	unsigned long long episode;	/* ... in the current episode (logged at its end) */
};

static const uint8_t spool_key[crypto_shorthash_KEYBYTES] = "beacon-spool-v1";

/* spool_checksum - SipHash of the first 8 header bytes and the payload */
static void spool_checksum(const uint8_t hdr8[8], const void *payload, size_t len, uint8_t out[8])
{
	uint8_t *tmp = malloc(8 + len);
	if (!tmp) {
		memset(out, 0, 8);
		return;
	}
	memcpy(tmp, hdr8, 8);
	if (len)
		memcpy(tmp + 8, payload, len);
	crypto_shorthash(out, tmp, 8 + len, spool_key);
	free(tmp);
}

/* spool_encode_header - magic, type, length and checksum */
void spool_encode_header(uint8_t hdr[SPOOL_HDR_LEN], uint8_t type, const void *payload, size_t len)
{
	hdr[0] = 'B';
	hdr[1] = 'S';
	hdr[2] = type;
	hdr[3] = 0;
	hdr[4] = (uint8_t)len;
	hdr[5] = (uint8_t)(len >> 8);
	hdr[6] = (uint8_t)(len >> 16);
	hdr[7] = (uint8_t)(len >> 24);
	spool_checksum(hdr, payload, len, hdr + 8);
}

/* spool_open - create the spool file if needed and open it for appending */
struct spool *spool_open(const char *dir, const char *name, char *err, size_t errlen)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (!sp || sodium_init() < 0) {
		snprintf(err, errlen, "out of memory");
		free(sp);
		return NULL;
	}
	pthread_mutex_init(&sp->lock, NULL);
	if (asprintf(&sp->path, "%s/%s.spool", dir, name) < 0 ||
	    asprintf(&sp->replay, "%s/%s.replay", dir, name) < 0 ||
	    asprintf(&sp->offpath, "%s/%s.replay.off", dir, name) < 0) {
		snprintf(err, errlen, "out of memory");
		spool_close(sp);
		return NULL;
	}
	sp->fd = open(sp->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		snprintf(err, errlen, "%s: cannot open spool: %s", sp->path, strerror(errno));
		sp->fd = -1;
		spool_close(sp);
		return NULL;
	}
	return sp;
}

/* spool_append - write header and payload with one writev */
int spool_append(struct spool *sp, uint8_t type, const void *data, size_t len, int sync)
{
	uint8_t hdr[SPOOL_HDR_LEN];
	struct iovec iov[2];
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (len > SPOOL_MAX_RECORD) {
		errno = EMSGSIZE;
		return -1;
	}
	spool_encode_header(hdr, type, data, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	pthread_mutex_lock(&sp->lock);
	if (fstat(sp->fd, &st) < 0) {
		pthread_mutex_unlock(&sp->lock);
		return -1;
	}
	if (sp->max && (unsigned long long)st.st_size + sizeof(hdr) + len > sp->max) {
		/* the cap: refuse the whole record, log once per episode */
		if (sp->episode++ == 0)
			log_warnx("spool %s reached its cap of %llu bytes: records past it are "
			    "refused and counted until it is replayed", sp->path, sp->max);
		sp->refused++;
		pthread_mutex_unlock(&sp->lock);
		errno = EFBIG;
		return -1;
	}
	n = writev(sp->fd, iov, 2);
	if (n != (ssize_t)(sizeof(hdr) + len)) {
		int e = n < 0 ? errno : ENOSPC;
		/* never leave a torn record in the middle of the file */
		if (ftruncate(sp->fd, st.st_size) < 0)
			log_warn("spool %s: cannot cut a partial record", sp->path);
		errno = e;
		rc = -1;
	} else if (sync && fdatasync(sp->fd) < 0) {
		rc = -1;
	}
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* spool_sync - flush appended records to disk */
int spool_sync(struct spool *sp)
{
	return fdatasync(sp->fd);
}

/* spool_has_pending - a replay file, or a non-empty spool file */
int spool_has_pending(struct spool *sp)
{
	struct stat st;
	if (stat(sp->replay, &st) == 0)
		return 1;
	return fstat(sp->fd, &st) == 0 && st.st_size > 0;
}

/* spool_parse - walk the records of a buffer */
long spool_parse(const uint8_t *buf, size_t len, spool_fn fn, void *arg, size_t *bad)
{
	size_t off = 0;

	while (len - off >= SPOOL_HDR_LEN) {
		const uint8_t *h = buf + off;
		uint8_t sum[8];
		size_t rl = (size_t)h[4] | (size_t)h[5] << 8 | (size_t)h[6] << 16 |
			    (size_t)h[7] << 24;
		if (h[0] != 'B' || h[1] != 'S' || h[3] != 0 || rl > SPOOL_MAX_RECORD) {
			*bad = off;
			return -1;
		}
		if (len - off - SPOOL_HDR_LEN < rl)
			break;	/* torn tail */
		spool_checksum(h, h + SPOOL_HDR_LEN, rl, sum);
		if (sodium_memcmp(sum, h + 8, 8) != 0) {
			*bad = off;
			return -1;
		}
		if (fn && fn(arg, h[2], h + SPOOL_HDR_LEN, rl) < 0)
			return (long)off;	/* stopped: caller keeps OFF */
		off += SPOOL_HDR_LEN + rl;
	}
	return (long)off;
}

/* spool_sync_dir - fsync the directory of PATH, so a rename in it survives a crash */
static void spool_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) :
			    strdup(".");
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd < 0 || fsync(fd) < 0)
		log_warn("spool %s: cannot sync its directory", path);
	if (fd >= 0)
		close(fd);
	free(dir);
}

/* spool_read_off - the saved replay offset, 0 if none */
static size_t spool_read_off(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long long v = 0;
	if (fp) {
		if (fscanf(fp, "%llu", &v) != 1)
			v = 0;
		fclose(fp);
	}
	return (size_t)v;
}

/* spool_write_off - save the replay offset atomically */
static int spool_write_off(const char *path, size_t off)
{
	char tmp[4096];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (!fp)
		return -1;
	fprintf(fp, "%zu\n", off);
	if (fflush(fp) != 0 || fdatasync(fileno(fp)) != 0) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return rename(tmp, path);
}

/* spool_replay_state - a callback wrapper that records progress */
struct spool_replay_state {
	spool_fn fn;		/* the caller's callback */
	spool_flush_fn flush;	/* batched replay: stores what fn queued; NULL: fn stores */
	size_t every;		/* batched replay: records per flush */
	size_t pending;		/* records queued since the last flush */
	void *arg;		/* their argument */
	long done;		/* records stored */
	const char *offpath;	/* where progress is saved */
	const uint8_t *start;	/* mapping start */
	const uint8_t *cur;	/* next record */
	int stopped;		/* the callback asked to stop */
};

/* spool_replay_flush - store the pending records (batched replay), then save the progress */
static int spool_replay_flush(struct spool_replay_state *rs)
{
	if (rs->flush && rs->pending) {
		if (rs->flush(rs->arg) < 0) {
			rs->stopped = 1;
			rs->pending = 0;
			return -1;
		}
		rs->done += (long)rs->pending;
		rs->pending = 0;
	}
	if (spool_write_off(rs->offpath, (size_t)(rs->cur - rs->start)) < 0)
		log_warn("cannot save spool progress in %s", rs->offpath);
	return 0;
}

/* spool_replay_one - store one record, then remember that it is done */
static int spool_replay_one(void *arg, uint8_t type, const void *data, size_t len)
{
	struct spool_replay_state *rs = arg;
	if (rs->fn(rs->arg, type, data, len) < 0) {
		rs->stopped = 1;
		return -1;
	}
	rs->cur = (const uint8_t *)data + len;
	if (rs->flush) {
		if (++rs->pending < rs->every)
			return 0;
		return spool_replay_flush(rs);
	}
	rs->done++;
	return spool_replay_flush(rs);
}

/* spool_replay - move .spool to .replay if needed, then replay it in order */
long spool_replay(struct spool *sp, spool_fn fn, void *arg)
{
	return spool_replay_batch(sp, fn, NULL, 1, arg);
}

/* spool_replay_batch - spool_replay with one flush (and one progress save) per EVERY records */
long spool_replay_batch(struct spool *sp, spool_fn fn, spool_flush_fn flush, size_t every,
			void *arg)
{
	struct spool_replay_state rs = { fn, flush, every ? every : 1, 0, arg, 0, sp->offpath,
					 NULL, NULL, 0 };
	long total = 0;

	for (int round = 0; round < 2; round++) {
		struct stat st;
		size_t off, bad = 0;
		uint8_t *map;
		long used;
		int fd;

		if (stat(sp->replay, &st) < 0) {
			/* nothing being replayed: take the current spool, if any */
			pthread_mutex_lock(&sp->lock);
			if (fstat(sp->fd, &st) < 0 || st.st_size == 0) {
				pthread_mutex_unlock(&sp->lock);
				return total;
			}
			int nfd = -1;
			if (rename(sp->path, sp->replay) == 0)
				nfd = open(sp->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			if (nfd < 0) {
				log_warn("spool %s: cannot rotate for replay", sp->path);
				pthread_mutex_unlock(&sp->lock);
				return -1;
			}
			fdatasync(sp->fd);
			close(sp->fd);
			sp->fd = nfd;
			/* the rename and the new file are entries of the directory */
			spool_sync_dir(sp->path);
			if (sp->episode)
				log_warnx("spool %s is below its cap again: %llu records were "
				    "refused while it was full", sp->path, sp->episode);
			sp->episode = 0;
			unlink(sp->offpath);
			pthread_mutex_unlock(&sp->lock);
		}
		fd = open(sp->replay, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			log_warn("spool %s: cannot open", sp->replay);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		off = spool_read_off(sp->offpath);
		if (st.st_size == 0 || off >= (size_t)st.st_size) {
			close(fd);
			unlink(sp->replay);
			unlink(sp->offpath);
			continue;
		}
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED) {
			log_warn("spool %s: cannot map", sp->replay);
			return -1;
		}
		rs.start = map;
		rs.cur = map + off;
		used = spool_parse(map + off, (size_t)st.st_size - off, spool_replay_one, &rs, &bad);
		/* records queued before the end of the file (or a corrupt record) are stored now */
		if (!rs.stopped && rs.pending)
			spool_replay_flush(&rs);
		rs.pending = 0;
		total += rs.done;
		rs.done = 0;
		if (used < 0) {
			log_warnx("spool %s: corrupt record at offset %zu; %zu bytes kept aside as %s.bad",
				  sp->replay, off + bad, (size_t)st.st_size - off - bad, sp->replay);
			munmap(map, (size_t)st.st_size);
			char badpath[4096];
			snprintf(badpath, sizeof(badpath), "%s.bad", sp->replay);
			rename(sp->replay, badpath);
			unlink(sp->offpath);
			continue;
		}
		munmap(map, (size_t)st.st_size);
		if (rs.stopped)
			return -1;
		if (off + (size_t)used < (size_t)st.st_size)
			log_warnx("spool %s: torn record at the end (a crash during append), skipped",
				  sp->replay);
		unlink(sp->replay);
		unlink(sp->offpath);
	}
	return total;
}

/* spool_set_max - set the cap */
void spool_set_max(struct spool *sp, unsigned long long max)
{
	pthread_mutex_lock(&sp->lock);
	sp->max = max;
	pthread_mutex_unlock(&sp->lock);
}

/* spool_refused - the cap's refusals so far */
unsigned long long spool_refused(struct spool *sp)
{
	unsigned long long n;

	pthread_mutex_lock(&sp->lock);
	n = sp->refused;
	pthread_mutex_unlock(&sp->lock);
	return n;
}

/* spool_expire - remove old kept-aside files (and an old NAME.spool when WHOLE) */
int spool_expire(struct spool *sp, long max_age, int whole)
{
	char bad[4096];
	struct stat st;
	time_t limit = time(NULL) - max_age;
	int n = 0;

	if (max_age <= 0)
		return 0;
	snprintf(bad, sizeof(bad), "%s.bad", sp->replay);
	if (lstat(bad, &st) == 0 && st.st_mtime < limit) {
		if (unlink(bad) == 0) {
			log_info("spool %s: removed, older than %ld s", bad, max_age);
			n++;
		} else {
			log_warn("spool %s: cannot remove", bad);
		}
	}
	if (!whole)
		return n;
	pthread_mutex_lock(&sp->lock);
	if (fstat(sp->fd, &st) == 0 && st.st_size > 0 && st.st_mtime < limit) {
		if (ftruncate(sp->fd, 0) == 0) {
			log_info("spool %s: %lld bytes unchanged for more than %ld s removed",
			    sp->path, (long long)st.st_size, max_age);
			n++;
		} else {
			log_warn("spool %s: cannot empty", sp->path);
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return n;
}

/* spool_close - close the file, free the paths */
void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	pthread_mutex_destroy(&sp->lock);
	free(sp->path);
	free(sp->replay);
	free(sp->offpath);
	free(sp);
}
