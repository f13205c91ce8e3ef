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
 *	A stream runs in its connection's thread: for each batch it takes
 *	a pooled session, reads its own user's events of that batch through
 *	beacon.web_events in a read-only transaction as that user (the
 *	row-level security decides, as for the pages), and writes one
 *	"event: beacon" with the event's JSON (the API's event object) per
 *	row; with nothing to say for LIVE_PING_S it writes ": ping".  A
 *	stream more than LIVE_RING batches behind skips the oldest (said
 *	in the log).  At most [web] live_clients streams at once (503
 *	beyond); live_stop() ends them all.
 */
#ifndef BEACON_WEB_LIVE_H
#define BEACON_WEB_LIVE_H

#include "cfg.h"
#include "web.h"

#define LIVE_CHANNEL "beacon_batch"	/* the NOTIFY channel */
#define LIVE_RING 256			/* batches kept for streams that lag */
#define LIVE_PING_S 15			/* a comment line this often on a quiet stream */
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
