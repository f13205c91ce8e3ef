/*
 * NAME
 *	queue.h - the durable delivery queue in PostgreSQL, as beacon-notify
 *	uses it
 *
 * SYNOPSIS
 *	struct queue *q = queue_connect(cfg, err, sizeof(err));
 *	struct batch b;
 *	queue_claim_hooks(q, cfg->notify.batch, &b);
 *	... send b.items, or drop those with item.drop set ...
 *	queue_record(q, &b);
 *	batch_free(&b);
 *	queue_idle(q, 1000);
 *
 * DESCRIPTION
 *	The database triggers (sql/schema/013_notify.sql) queue one
 *	notify_deliveries row (state pending) per counted event and active
 *	destination, and NOTIFY beacon_event; the session LISTENs to that
 *	channel to wake up, and looks for due retries every second anyway.
 *
 *	Claiming takes the due pending rows (next_at <= now(), oldest
 *	first, FOR UPDATE SKIP LOCKED so that two notifiers never take the
 *	same row, only events at least `hold` seconds old so that
 *	pixelsrv's reclassification is seen) and moves their next_at a
 *	lease ahead (as many rounds of `concurrency` requests as the batch
 *	needs, times `timeout`, plus 60 s; one timeout plus 60 s for a
 *	digest); that next_at is the claim's mark, which recording matches:
 *	a late notifier cannot record over a newer claim.  The claim
 *	commits at once, no transaction stays open while the
 *	receivers answer, and a notifier that dies before it records the
 *	answer leaves the rows to be taken again when the lease runs out,
 *	with the same Beacon-Delivery id (at least once: receivers dedupe
 *	on the id).
 *
 *	Recording is one statement (so one transaction) per batch: each
 *	delivery's state (sent; pending with next_at from backoff.h; failed
 *	once retry_for from the job's created_at has passed; dropped),
 *	attempts, last_status, last_error, latency_ms, sent_at, and one
 *	notify_log row per attempt made (none for a drop), even when the
 *	delivery changed meanwhile; a digest sent sets its destination's
 *	last_digest_at in the same transaction.
 *
 *	A claimed delivery is dropped instead of sent when its message is
 *	muted, when it is not pinned and the event came more than
 *	notify_days after it was sent, when its destination was disabled,
 *	or when the stored event is no longer of class human or proxy.
 */
#ifndef NOTIFY_QUEUE_H
#define NOTIFY_QUEUE_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "item.h"

#define QUEUE_CHANNEL "beacon_event"	/* the channel the event triggers notify */
#define QUEUE_DIGEST_MAX 200		/* most events in one digest mail */
#define QUEUE_LOCK_CLASS "1852797940"	/* advisory lock key space of digests ("notd") */

struct queue;

/* batch - deliveries claimed together */
struct batch {
	PGresult *res;		/* the claim's answer: the items' strings point into it */
	struct item *items;	/* one per row */
	size_t n;		/* how many */
	int digest;		/* the mail destination of a digest batch, else 0 */
	size_t recorded;	/* after queue_record: the deliveries still under this claim */
};

/* queue_connect - connect, LISTEN beacon_event; NULL with ERR (host named) */
struct queue *queue_connect(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* queue_probe - every table and column the notifier needs is there and allowed: 0;
 * -1 with ERR (a hint to migrate or grant) when not; -2 when the session failed */
int queue_probe(struct queue *q, char *err, size_t errlen);
/* queue_alive - the session is up: a failure was a database error, not a lost session */
int queue_alive(const struct queue *q);
/* queue_disconnect - end the session */
void queue_disconnect(struct queue *q);
/* queue_idle - wait up to MS for a notification (or a signal); 0, or -1 when the
 * session broke */
int queue_idle(struct queue *q, int ms);
/* queue_lease_hooks - the lease of a webhook batch of LIMIT deliveries, in seconds */
long queue_lease_hooks(const struct beacon_cfg *cfg, long limit);
/* queue_claim_hooks - claim up to LIMIT due webhook, Slack and Mattermost deliveries */
enum db_fault queue_claim_hooks(struct queue *q, long limit, struct batch *b);
/* queue_mail_due - the mail destinations with due deliveries whose last digest is
 * older than notify_interval: up to MAX ids into IDS, their count in *N */
enum db_fault queue_mail_due(struct queue *q, int *ids, size_t max, size_t *n);
/* queue_claim_mail - claim the due deliveries of mail destination DEST, oldest first,
 * at most QUEUE_DIGEST_MAX */
enum db_fault queue_claim_mail(struct queue *q, int dest, struct batch *b);
/* queue_lock_mail - take the session's advisory lock on mail destination DEST: 1,
 * 0 when another notifier holds it, -1 on failure */
int queue_lock_mail(struct queue *q, int dest);
/* queue_unlock_mail - release it */
enum db_fault queue_unlock_mail(struct queue *q, int dest);
/* queue_record - write every item's outcome and its notify_log row, in one transaction */
enum db_fault queue_record(struct queue *q, struct batch *b);
/* batch_free - release a batch */
void batch_free(struct batch *b);

#endif
