/*
 * NAME
 *	live.h - live events: one LISTEN on beacon_batch, Server-Sent
 *	Events to the signed-in streams (GET /live/stream, /api/v1/stream)
 *
 * DESCRIPTION
 *	A thread holds its own database session (checked as the pool's
 *	are), LISTENs on beacon_batch and opens it again after a failure,
 *	waiting 1 s, then twice as long each time up to LIVE_BACKOFF_MAX_S.
 *	The trigger on beacon.events sends one notification per statement
 *	(a COPY batch of beacon-pixelsrv): {"xid", "from", "to", "n"}.
 *	Each is kept in a ring of LIVE_RING and wakes the streams.
 *
 *	A stream runs in its connection's thread.  Each batch is read once
 *	per user, by the first of the user's streams to reach it, for all of
 *	them: a pooled session, a read-only transaction as that user, first
 *	the check of every one of the user's streams' credentials (the
 *	SHA-256 of the session cookie or the API token it was opened with:
 *	the session neither ended, expired nor idle past session_idle, the
 *	token neither revoked nor expired, the user active), then, if one
 *	still holds, the batch's events through beacon.web_events (the
 *	row-level security decides, as for the pages).  Each becomes an
 *	"event: beacon" with the event's JSON (the API's event object).
 *	A stream whose credential is gone gets "event: end" (data: its
 *	reason) and ends, giving back its place; with nothing to say for
 *	LIVE_PING_S a stream checks its own credential and writes ": ping".
 *	A stream more than LIVE_RING batches behind skips the oldest (said
 *	in the log).  At most [web] live_clients streams at once (503
 *	beyond), LIVE_USER_STREAMS of one user (429 beyond); live_stop()
 *	ends them all.
 */
#ifndef BEACON_WEB_LIVE_H
#define BEACON_WEB_LIVE_H

#include "cfg.h"
#include "web.h"

#define LIVE_CHANNEL "beacon_batch"	/* the NOTIFY channel */
#define LIVE_RING 256			/* batches kept for streams that lag */
#define LIVE_PING_S 15			/* a comment line this often on a quiet stream */
#define LIVE_USER_STREAMS 4		/* streams of one user at once (429 beyond) */
#define LIVE_BACKOFF_MAX_S 30		/* longest wait before the listener connects again */

struct live;
struct pool;

/* live_start - the listener thread */
struct live *live_start(const struct beacon_cfg *cfg, struct pool *pool);
/* live_stop - end every stream and the listener (joined) */
void live_stop(struct live *l);
/* live_free - release it, after live_stop and after the streams' connections ended */
void live_free(struct live *l);
/* live_stream - answer R (signed in) with the stream of its user's events */
int live_stream(struct live *l, struct web_req *r);

#endif
