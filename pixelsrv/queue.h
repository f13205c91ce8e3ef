/*
 * NAME
 *	queue.h - the bounded event queue between the request path and the writer
 *
 * SYNOPSIS
 *	struct queue *q = queue_open(path, nslots, err, sizeof(err));
 *	queue_recover(q, fn, arg);		(before any push: a crash's leftovers)
 *	queue_push(q, rec, len);		(any thread; -1 when full)
 *	n = queue_peek(q, max, fn, arg);	(the one consumer)
 *	queue_release(q, n);			(after the records are stored)
 *	queue_wait(q, want, timeout_ms);
 *	queue_close(q);
 *
 * DESCRIPTION
 *	A multi-producer, single-consumer ring of NSLOTS fixed-size slots
 *	(QUEUE_REC_MAX bytes of record each), after D. Vyukov's bounded
 *	queue: a producer claims a position with one compare-and-swap and
 *	publishes the slot with a release store of its sequence number; no
 *	lock is taken and nothing is allocated.  The ring lives in a file
 *	mapped MAP_SHARED, so the records of a crashed process are still in
 *	the page cache: queue_recover() hands every published, unreleased
 *	record to a callback in order (the caller spools them) and empties
 *	the ring.  Records are released only after the consumer stored them;
 *	before it starts storing some, the consumer notes how many with
 *	queue_inflight() (a store into the mapping, no system call), and
 *	recovery flags those records "unsure": they may have been stored
 *	just before the crash, and the caller checks before storing them
 *	again.
 *
 *	The file is locked (flock) while open: a second process using the
 *	same file is refused.  Its blocks are allocated when the ring is
 *	set up, so a full file system later cannot fault a producer.
 *
 *	queue_wait() sleeps until WANT records are queued, the timeout
 *	passes or queue_wake() is called; producers signal the sleeping
 *	consumer only when the depth reaches WANT.
 */
#ifndef BEACON_QUEUE_H
#define BEACON_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_SLOT_SIZE 640	/* bytes per slot, header included */
#define QUEUE_REC_MAX (QUEUE_SLOT_SIZE - 16)	/* largest record */
#define QUEUE_MAX_SLOTS (1u << 24)	/* upper bound of nslots */

struct queue;

/* queue_fn - receives one record */
typedef int (*queue_fn)(void *arg, const uint8_t *rec, size_t len);
/* queue_recover_fn - receives one record of a previous run; UNSURE: it was being stored */
typedef int (*queue_recover_fn)(void *arg, const uint8_t *rec, size_t len, int unsure);

/* queue_open - map PATH as a ring of NSLOTS slots (rounded up to a power of two) */
struct queue *queue_open(const char *path, size_t nslots, char *err, size_t errlen);
/* queue_recover - FN on each record a previous process left, in order; the count, or -1 if FN failed (nothing is discarded then) */
long queue_recover(struct queue *q, queue_recover_fn fn, void *arg);
/* queue_push - append one record; 0, or -1 when the ring is full */
int queue_push(struct queue *q, const void *rec, size_t len);
/* queue_peek - FN on up to MAX published records from the head, in order, without removing them; how many */
size_t queue_peek(struct queue *q, size_t max, queue_fn fn, void *arg);
/* queue_inflight - note in the file that the first N records are being stored now */
void queue_inflight(struct queue *q, size_t n);
/* queue_release - remove the N records last peeked */
void queue_release(struct queue *q, size_t n);
/* queue_depth - records claimed and not yet released */
size_t queue_depth(const struct queue *q);
/* queue_capacity - number of slots */
size_t queue_capacity(const struct queue *q);
/* queue_wait - sleep until WANT records are queued, TIMEOUT_MS passes or queue_wake(); the depth */
size_t queue_wait(struct queue *q, size_t want, long timeout_ms);
/* queue_wake - end the consumer's queue_wait now */
void queue_wake(struct queue *q);
/* queue_close - unmap and close (records stay in the file) */
void queue_close(struct queue *q);

#endif
