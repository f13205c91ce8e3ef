/*
 * NAME
 *	store.h - write the rows of tracked messages to PostgreSQL, or to
 *	the spool while it is unavailable
 *
 * SYNOPSIS
 *	struct store *st = store_new(cfg, err, sizeof(err));
 *	store_start(st);
 *	switch (store_put(st, record, queue_id)) { ... }
 *	switch (store_put_bounce(st, bounce, queue_id)) { ... }
 *	switch (store_put_inbound(st, inbound, queue_id)) { ... }
 *	switch (store_put_reply(st, reply, queue_id)) { ... }
 *	store_stop(st);
 *
 * DESCRIPTION
 *	store_put() writes one message (messages, recipients, links and attachments rows)
 *	in one statement, hence one transaction, with parameters only, over
 *	a pool of at most db_pool_size connections.  Every wait is bounded:
 *	for a free connection and for the answer, statement_timeout (plus a
 *	second for the network); a connection takes at most connect_timeout.
 *	Rows are inserted with ON CONFLICT DO NOTHING, so writing a record
 *	twice (a replay after a lost answer) changes nothing.
 *	store_put_bounce() writes the bounces of one delivery status
 *	notification (bounce.h) with one call of beacon.bounce() under the
 *	same rules, pool and spool (record type BOUNCE_SPOOL_TYPE);
 *	store_put_inbound() and store_put_reply() keep a received message's
 *	rows for one call of beacon.inbound_mail() or beacon.reply()
 *	(inbound_record.h; record types INBOUND_SPOOL_TYPE and
 *	REPLY_SPOOL_TYPE): they never wait for the database, whatever its
 *	state and on_db_error, but append the record (fsync'd) to the spool
 *	and answer STORE_SPOOLED (STORE_FAILED when the spool fails); the
 *	background thread writes them within about a second.  Mail from
 *	outside thus never holds a pool connection, and a slow database
 *	there never marks the store down for the tracked messages, whose
 *	store_put() still writes directly while the database is up.
 *
 *	When the database fails or is too slow, the store is marked down and
 *	later messages do not wait for it at all.  When the failure policy
 *	says to spool (policy.h: on_db_error = spool) the record is appended
 *	(fsync'd) to spool_dir/milter.spool and store_put() answers
 *	STORE_SPOOLED; otherwise, or when even the spool fails, it answers
 *	STORE_FAILED and the caller applies the policy (POLICY_ROWS_LOST).
 *
 *	A background thread started by store_start() checks once a second
 *	(backing off to 5 s while the database stays down): it replays the
 *	spool in order with its own connection and marks the store up again.
 *	A record the database refuses for its data (SQLSTATE class 22 or 23)
 *	is logged and skipped; any other failure stops the replay until the
 *	next try.
 */
#ifndef BEACON_STORE_H
#define BEACON_STORE_H

#include <stddef.h>

#include "bounce.h"
#include "cfg.h"
#include "inbound_record.h"
#include "record.h"

/* how long the milter waits for one statement: statement_timeout plus
 * STORE_MARGIN_MS, or STORE_UNBOUNDED_MS plus it when statement_timeout sets
 * no bound (0, or 10 minutes and over): mail waits meanwhile */
#define STORE_UNBOUNDED_MS 5000
#define STORE_MARGIN_MS 1000

struct store;

/* store_result - what became of one record */
enum store_result {
	STORE_OK,	/* in the database */
	STORE_SPOOLED,	/* in the spool, replayed later */
	STORE_FAILED,	/* neither: the caller applies the failure policy */
};

/* store_new - open the spool (created 0600); NULL with ERR */
struct store *store_new(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* store_start - start the replay thread; 0 or -1 */
int store_start(struct store *st);
/* store_put - write REC; QID is for log lines */
enum store_result store_put(struct store *st, const struct msg_record *rec, const char *qid);
/* store_put_bounce - write the bounces of one report B (bounce.h) the same way */
enum store_result store_put_bounce(struct store *st, const struct bounce_record *b,
				   const char *qid);
/* store_put_inbound - write the inbound rows of received message R the same way */
enum store_result store_put_inbound(struct store *st, const struct inbound_record *r,
				    const char *qid);
/* store_put_reply - write the reply rows of R the same way */
enum store_result store_put_reply(struct store *st, const struct reply_record *r, const char *qid);
/* store_replay_now - replay the spool once, now, in the caller's thread; records replayed or -1 */
long store_replay_now(struct store *st);
/* store_is_up - is the database believed reachable? */
int store_is_up(struct store *st);
/* store_stop - stop the thread, close connections and the spool, free */
void store_stop(struct store *st);

#endif
