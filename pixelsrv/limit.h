/*
 * NAME
 *	limit.h - repeated events of one token, counted instead of stored
 *
 * SYNOPSIS
 *	struct limit *l = limit_new(window_s, token_max);
 *	if (limit_check(l, &ev)) store it; else it was counted;
 *	limit_sweep(l, now_us);		(now and then: logs ended episodes)
 *	limit_free(l);			(logs what is still open)
 *
 * DESCRIPTION
 *	The writer thread asks limit_check() about every live event before
 *	it stores or spools it (never the request path, never the
 *	database).  The first event of a (token, kind, link or attachment,
 *	client address, request flags: HEAD, no Accept, no Accept-Language)
 *	is stored; the same event again within WINDOW
 *	seconds of that first one (by the events' own times) is a repeat:
 *	counted in beacon_pixelsrv_events_repeated_total, not stored (never
 *	a download: each request is a row of its own, with its bytes).  A
 *	token may store at most TOKEN_MAX events per window, whatever their
 *	kind and address; more are counted in
 *	beacon_pixelsrv_events_over_token_limit_total.  When an episode
 *	with counted events ends (its window passed, its slot was taken for
 *	another key, or the server stops) one log line gives the token, the
 *	kind, the address and the number counted: every request is either a
 *	row, a counter increment and a log line, or a spooled record.
 *
 *	Memory is fixed: two open-addressed tables of LIMIT_SLOTS entries
 *	(event keys and tokens), keyed by SipHash under a random key so a
 *	client cannot choose colliding keys.  A key probes LIMIT_PROBE
 *	slots; when all of them hold live keys the oldest is evicted (its
 *	episode logged) and counted in beacon_pixelsrv_limit_evictions_total:
 *	an evicted key's next event is stored again, so eviction can only
 *	store more, never lose.  Replayed spool records are not checked:
 *	they were checked when they were live.
 */
#ifndef BEACON_LIMIT_H
#define BEACON_LIMIT_H

#include <stdint.h>

#include "event.h"

#define LIMIT_SLOTS 32768	/* entries per table, a power of two */
#define LIMIT_PROBE 8		/* slots a key may use */

struct limit;

/* limit_new - WINDOW_S seconds (0: off), TOKEN_MAX stored events per token and window (0: no cap) */
struct limit *limit_new(long window_s, unsigned token_max);
/* limit_check - 1: store EV; 0: counted as a repeat or over the token's cap */
int limit_check(struct limit *l, const struct event_raw *ev);
/* limit_sweep - log and forget the episodes whose window ended before NOW_US */
void limit_sweep(struct limit *l, int64_t now_us);
/* limit_free - log every open episode, free L */
void limit_free(struct limit *l);

#endif
