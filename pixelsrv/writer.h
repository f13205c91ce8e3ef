/*
 * NAME
 *	writer.h - the thread that moves events from the queue to PostgreSQL
 *
 * SYNOPSIS
 *	struct writer *w = writer_start(&conf, conn, err, sizeof(err));
 *	writer_overflow(w, rec, len);	(request path, when the queue is full)
 *	writer_stop(w);			(drains the queue, then returns)
 *
 * DESCRIPTION
 *	One thread takes up to batch_size events from the queue, waiting at
 *	most batch_interval milliseconds for a full batch, enriches them
 *	(event_enrich) and COPYs them into beacon.events in one statement.
 *	Every database call runs with a deadline (statement_timeout plus a
 *	margin) in libpq's non-blocking mode, so a hung server cannot hold
 *	the writer forever.
 *
 *	When the database is down, slow or refuses the statement, the batch
 *	is appended to the spool (events.spool in spool_dir, one fsync per
 *	batch) and the writer reconnects with a back-off (250 ms doubling to
 *	5 s).  Once connected it replays the spool in order, in batches,
 *	saving its progress after each committed batch, before taking new
 *	events.  A batch refused for its data (SQLSTATE class 22 or 23) is
 *	retried row by row; a row the database still refuses goes to
 *	rejected.spool with a log line, not back into the replay.
 *
 *	writer_stop() returns once every queued event is written or spooled.
 *	Nothing is dropped silently: an event that cannot even be spooled is
 *	counted in beacon_pixelsrv_events_lost_total and logged.
 */
#ifndef BEACON_WRITER_H
#define BEACON_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "event.h"
#include "queue.h"
#include "spool.h"

/* writer_conf - what the writer works with (all owned by the caller) */
struct writer_conf {
	const struct beacon_cfg *cfg;	/* [database] keys, batch_size, batch_interval */
	struct queue *queue;		/* where the request path puts events */
	struct spool *spool;		/* events.spool: database down, queue full */
	struct spool *rejected;		/* rejected.spool: rows the database refused */
	const struct event_ctx *ctx;	/* enrichment (copied; machines is replaced by writer_set_machines) */
	struct machines_db *machines;	/* machines.yaml, or NULL: the writer's from now on */
};

struct writer;

/* writer_start - start the thread; CONN (may be NULL) becomes the writer's; NULL + ERR on failure */
struct writer *writer_start(const struct writer_conf *conf, PGconn *conn, char *err,
    size_t errlen);
/* writer_overflow - spool one encoded event the queue had no room for; 0, or -1 (counted lost) */
int writer_overflow(struct writer *w, const uint8_t *rec, size_t len);
/* writer_db_up - does the writer hold a working session? */
int writer_db_up(const struct writer *w);
/* writer_set_machines - M (may be NULL) replaces the machines rules from the next batch on; the writer frees it */
void writer_set_machines(struct writer *w, struct machines_db *m);
/* writer_stop - write or spool everything queued, stop the thread, free W */
void writer_stop(struct writer *w);
/* writer_spool_record - append one encoded event to SP (no fsync); 0 or -1, counted either way */
int writer_spool_record(struct spool *sp, const uint8_t *rec, size_t len);

#endif
