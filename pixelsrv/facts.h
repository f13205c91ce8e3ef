/*
 * NAME
 *	facts.h - what the database knows of the messages behind a batch of events
 *
 * SYNOPSIS
 *	struct facts_cache *fc = facts_new();
 *	facts_begin(fc);			(a new batch)
 *	facts_want(fc, rid);			(each event of the batch)
 *	rc = facts_fetch(fc, conn, deadline);	(one query for what the cache lacks)
 *	const struct classify_facts *f = facts_get(fc, rid);
 *	facts_follow(fc, rid);			(events the follow-up rules must see)
 *	rc = facts_followup(fc, conn, burst_s, deadline);
 *	facts_free(fc);
 *
 * DESCRIPTION
 *	The timing and sender rules need, per event, when its message left
 *	and from which client address.  beacon-pixelsrv's writer asks for
 *	them once per batch, for the recipient ids the cache does not hold,
 *	through beacon.recipient_facts(); never on the request path.  Entries
 *	are kept a few minutes (the facts of a message never change; whether
 *	it has a honeypot hit may), unknown tokens for half a minute.
 *
 *	After a batch is stored, facts_followup() hands the recipient ids of
 *	the events that may change other events' classes (clicks, honeypot
 *	hits, opens from hosting networks, anything of a message within ten
 *	minutes of a honeypot hit on it) to beacon.classify_followup(), which
 *	runs the rules that need more than one event.
 *
 * DIAGNOSTICS
 *	facts_fetch() and facts_followup() return 0; 1 when the database
 *	refused the query (function missing, no privilege: logged, no query
 *	for a minute, the events are stored with the per-event rules that need
 *	no facts) or it failed this time (a deadlock, a statement timeout:
 *	logged; the follow-up keeps its ids for the next call); or -1 when
 *	the session failed (the caller drops it).
 */
#ifndef BEACON_PIXELSRV_FACTS_H
#define BEACON_PIXELSRV_FACTS_H

#include <libpq-fe.h>
#include <stdint.h>

#include "classify.h"
#include "token.h"

struct facts_cache;

/* facts_new - an empty cache; NULL if out of memory */
struct facts_cache *facts_new(void);
/* facts_begin - a new batch: forget the ids of the last one */
void facts_begin(struct facts_cache *fc);
/* facts_want - RID's facts are needed by the next facts_fetch() */
void facts_want(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN]);
/* facts_fetch - look up the wanted ids the cache lacks; 0, 1 (refused) or -1 (session failed) */
int facts_fetch(struct facts_cache *fc, PGconn *conn, long long deadline);
/* facts_get - RID's facts (valid until the next facts_begin), or NULL when unknown */
const struct classify_facts *facts_get(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN]);
/* facts_marked - may an event of RID at AT_US be a marked scanner's: within the
 * honeypot-peer window of a hit on its message (in the database, or stored by this writer)? */
int facts_marked(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN], int64_t at_us);
/* facts_mark_hit - a honeypot hit of RID at AT_US is being stored: its message is marked */
void facts_mark_hit(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN], int64_t at_us);
/* facts_follow - RID's message goes to the next facts_followup() */
void facts_follow(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN]);
/* facts_followup - run beacon.classify_followup() for the followed ids; 0, 1 or -1 */
int facts_followup(struct facts_cache *fc, PGconn *conn, int burst_s, long long deadline);
void facts_free(struct facts_cache *fc);

#endif
