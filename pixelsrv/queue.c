/*
 * NAME
 *	queue.c - file-backed lock-free MPSC ring of event records
 *
 * DESCRIPTION
 *	See queue.h.  The file is a 4096-byte header followed by the slots:
 *
 *	    header: "BEACONQ1", slot size (4), 0 (4), nslots (8),
 *	            enqueue position (8, own cache line at 64),
 *	            dequeue position (8, own cache line at 128),
 *	            in-flight end (8, at 192)
 *	    slot:   sequence (8), record length (4), 0 (4), record
 *
 *	Vyukov's sequence of slot i starts at i; to let a freshly truncated
 *	(all-zero) file be an empty ring, a slot stores its sequence minus
 *	i.  Position p (slot p mod nslots) is free for its producer when
 *	seq == p, published when seq == p + 1, and given back to the next
 *	lap with seq = p + nslots.
 *
 *	The positions only grow (64 bits), so the ring never needs a reset
 *	while running; queue_recover() truncates the file to empty it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "queue.h"

#define QUEUE_MAGIC "BEACONQ1"
#define QUEUE_HDR 4096

/* queue_hdr - the file's first page */
struct queue_hdr {
	char magic[8];			/* QUEUE_MAGIC */
	uint32_t slot_size;		/* QUEUE_SLOT_SIZE when written */
	uint32_t zero;			/* reserved */
	uint64_t nslots;		/* ring size, a power of two */
	char pad1[64 - 24];
	_Atomic uint64_t enq;		/* next position to claim */
	char pad2[64 - 8];
	_Atomic uint64_t deq;		/* next position to consume */
	char pad3[64 - 8];
	_Atomic uint64_t inflight;	/* positions below this may be stored already */
};

/* queue_slot - one record */
struct queue_slot {
	_Atomic uint64_t seq;		/* Vyukov sequence minus the slot index */
	uint32_t len;			/* record bytes */
	uint32_t zero;			/* reserved */
	uint8_t rec[QUEUE_REC_MAX];	/* the record */
};

_Static_assert(sizeof(struct queue_slot) == QUEUE_SLOT_SIZE, "slot size");
_Static_assert(sizeof(struct queue_hdr) <= QUEUE_HDR, "header size");

/* queue - a mapped ring and the consumer's wake-up */
struct queue {
	int fd;				/* the file */
	char *path;			/* its name, for messages */
	uint8_t *map;			/* mapping: header, then slots */
	size_t maplen;			/* bytes mapped */
	struct queue_hdr *hdr;		/* map as the header */
	struct queue_slot *slots;	/* map + QUEUE_HDR */
	uint64_t nslots;		/* slots in the current mapping */
	uint64_t mask;			/* nslots - 1 */
	uint64_t want_slots;		/* ring size asked for at open */
	int ready;			/* queue_recover() has run */
	pthread_mutex_t mu;		/* guards the consumer's sleep */
	pthread_cond_t cv;		/* the consumer sleeps on it */
	_Atomic int waiting;		/* the consumer sleeps for WANT records */
	_Atomic uint64_t want;		/* depth that wakes it */
	int woken;			/* queue_wake() was called */
};

/* queue_map - map the file at its current size as NSLOTS slots */
static int queue_map(struct queue *q, uint64_t nslots)
{
	q->maplen = QUEUE_HDR + (size_t)nslots * sizeof(struct queue_slot);
	q->map = mmap(NULL, q->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
	if (q->map == MAP_FAILED) {
		q->map = NULL;
		return -1;
	}
	q->hdr = (struct queue_hdr *)(void *)q->map;
	q->slots = (struct queue_slot *)(void *)(q->map + QUEUE_HDR);
	q->nslots = nslots;
	q->mask = nslots - 1;
	return 0;
}

/* queue_unmap - drop the mapping */
static void queue_unmap(struct queue *q)
{
	if (q->map)
		munmap(q->map, q->maplen);
	q->map = NULL;
}

/* queue_valid - does a file of SIZE bytes hold a ring header we can read? */
static uint64_t queue_valid(int fd, off_t size)
{
	struct queue_hdr h;
	uint64_t n;

	if (size < QUEUE_HDR || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, QUEUE_MAGIC, 8) != 0 || h.slot_size != QUEUE_SLOT_SIZE)
		return 0;
	n = h.nslots;
	if (n == 0 || n > QUEUE_MAX_SLOTS || (n & (n - 1)) != 0 ||
	    (uint64_t)size != QUEUE_HDR + n * sizeof(struct queue_slot))
		return 0;
	return n;
}

/* queue_open - open or create the ring file; the old ring stays mapped for recovery */
struct queue *queue_open(const char *path, size_t nslots, char *err, size_t errlen)
{
	struct queue *q;
	struct stat st;
	uint64_t n = 1, old;

	if (nslots > QUEUE_MAX_SLOTS)
		nslots = QUEUE_MAX_SLOTS;
	while (n < nslots)
		n <<= 1;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->path = strdup(path)) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->want_slots = n < 2 ? 2 : n;
	pthread_mutex_init(&q->mu, NULL);
	clock_cond_init(&q->cv);
	q->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (q->fd < 0 || fstat(q->fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot open event queue: %s", path, strerror(errno));
		queue_close(q);
		return NULL;
	}
	/* one process per queue file: two would overwrite each other's slots */
	if (flock(q->fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
		    "in use by another process (two servers on one spool_dir?)" : strerror(errno));
		queue_close(q);
		return NULL;
	}
	old = queue_valid(q->fd, st.st_size);
	if (old && queue_map(q, old) < 0) {
		snprintf(err, errlen, "%s: cannot map event queue: %s", path, strerror(errno));
		queue_close(q);
		return NULL;
	}
	return q;
}

/* queue_reset - truncate the file to an empty ring of want_slots and map it */
static int queue_reset(struct queue *q)
{
	struct queue_hdr h;
	off_t size = (off_t)(QUEUE_HDR + q->want_slots * sizeof(struct queue_slot));

	queue_unmap(q);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, QUEUE_MAGIC, 8);
	h.slot_size = QUEUE_SLOT_SIZE;
	h.nslots = q->want_slots;
	/* allocate every block now: a write to a hole of a mapped file on a full
	 * file system is a SIGBUS, not an error */
	if (ftruncate(q->fd, 0) < 0 || (errno = posix_fallocate(q->fd, 0, size)) != 0 ||
	    pwrite(q->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fdatasync(q->fd) < 0)
		return -1;
	return queue_map(q, q->want_slots);
}

/* queue_recover - hand over a crashed run's records, then start an empty ring */
long queue_recover(struct queue *q, queue_recover_fn fn, void *arg)
{
	long count = 0;

	if (q->map) {
		uint64_t deq = atomic_load(&q->hdr->deq), enq = atomic_load(&q->hdr->enq);
		uint64_t inflight = atomic_load(&q->hdr->inflight);
		if (enq - deq > q->nslots)	/* damaged header: look at one lap */
			deq = enq - q->nslots;
		for (uint64_t p = deq; p != enq; p++) {
			struct queue_slot *s = &q->slots[p & q->mask];
			uint64_t seq = atomic_load(&s->seq) + (p & q->mask);
			/* a claimed slot whose producer died before publishing is skipped */
			if (seq != p + 1 || s->len > QUEUE_REC_MAX)
				continue;
			if (fn(arg, s->rec, s->len, p < inflight) < 0)
				return -1;
			count++;
		}
	}
	if (queue_reset(q) < 0)
		return -1;
	q->ready = 1;
	return count;
}

/* queue_push - claim a position, copy the record, publish it */
int queue_push(struct queue *q, const void *rec, size_t len)
{
	struct queue_slot *s;
	uint64_t pos, seq;

	if (!q->ready || len > QUEUE_REC_MAX)
		return -1;
	pos = atomic_load_explicit(&q->hdr->enq, memory_order_relaxed);
	for (;;) {
		s = &q->slots[pos & q->mask];
		seq = atomic_load_explicit(&s->seq, memory_order_acquire) + (pos & q->mask);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak(&q->hdr->enq, &pos, pos + 1))
				break;
		} else if (dif < 0) {
			return -1;	/* full: the slot still holds last lap's record */
		} else {
			pos = atomic_load_explicit(&q->hdr->enq, memory_order_relaxed);
		}
	}
	memcpy(s->rec, rec, len);
	s->len = (uint32_t)len;
	atomic_store_explicit(&s->seq, pos + 1 - (pos & q->mask), memory_order_release);
	if (atomic_load(&q->waiting) &&
	    pos + 1 - atomic_load_explicit(&q->hdr->deq, memory_order_relaxed) >=
	    atomic_load_explicit(&q->want, memory_order_relaxed)) {
		pthread_mutex_lock(&q->mu);
		if (atomic_load(&q->waiting)) {
			atomic_store(&q->waiting, 0);
			pthread_cond_signal(&q->cv);
		}
		pthread_mutex_unlock(&q->mu);
	}
	return 0;
}

/* queue_peek - walk published records from the head without consuming them */
size_t queue_peek(struct queue *q, size_t max, queue_fn fn, void *arg)
{
	uint64_t deq = atomic_load_explicit(&q->hdr->deq, memory_order_relaxed);
	size_t n = 0;

	if (!q->ready)
		return 0;
	for (; n < max; n++) {
		uint64_t p = deq + n;
		struct queue_slot *s = &q->slots[p & q->mask];
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire) + (p & q->mask);
		if (seq != p + 1)
			break;
		if (fn)
			fn(arg, s->rec, s->len);
	}
	return n;
}

/* queue_inflight - the consumer is about to store the first N records */
void queue_inflight(struct queue *q, size_t n)
{
	atomic_store_explicit(&q->hdr->inflight,
	    atomic_load_explicit(&q->hdr->deq, memory_order_relaxed) + n, memory_order_release);
}

/* queue_release - give N slots back to the producers */
void queue_release(struct queue *q, size_t n)
{
	uint64_t deq = atomic_load_explicit(&q->hdr->deq, memory_order_relaxed);

	for (size_t i = 0; i < n; i++) {
		uint64_t p = deq + i;
		atomic_store_explicit(&q->slots[p & q->mask].seq,
		    p + q->nslots - (p & q->mask), memory_order_release);
	}
	atomic_store_explicit(&q->hdr->deq, deq + n, memory_order_release);
}

/* queue_depth - claimed minus released */
size_t queue_depth(const struct queue *q)
{
	if (!q->map)
		return 0;
	return (size_t)(atomic_load_explicit(&q->hdr->enq, memory_order_relaxed) -
	    atomic_load_explicit(&q->hdr->deq, memory_order_relaxed));
}

/* queue_capacity - slots in the ring */
size_t queue_capacity(const struct queue *q)
{
	return q->ready ? (size_t)q->nslots : (size_t)q->want_slots;
}

/* queue_wait - the consumer's sleep */
size_t queue_wait(struct queue *q, size_t want, long timeout_ms)
{
	size_t depth;

	if (want == 0)
		want = 1;
	pthread_mutex_lock(&q->mu);
	atomic_store(&q->want, want);
	atomic_store(&q->waiting, 1);
	depth = queue_depth(q);
	if (depth < want && !q->woken && timeout_ms > 0) {
		long long deadline = clock_after_ms(timeout_ms);

		while (atomic_load(&q->waiting) && !q->woken &&
		    clock_cond_wait(&q->cv, &q->mu, deadline) == 0)
			;
		depth = queue_depth(q);
	}
	atomic_store(&q->waiting, 0);
	q->woken = 0;
	pthread_mutex_unlock(&q->mu);
	return depth;
}

/* queue_wake - interrupt queue_wait */
void queue_wake(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->woken = 1;
	atomic_store(&q->waiting, 0);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* queue_close - unmap, close, free */
void queue_close(struct queue *q)
{
	if (!q)
		return;
	queue_unmap(q);
	if (q->fd >= 0)
		close(q->fd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->path);
	free(q);
}
