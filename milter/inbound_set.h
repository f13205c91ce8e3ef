/*
 * NAME
 *	inbound_set.h - the tracked inbound addresses (beacon.tracked_inbound),
 *	cached
 *
 * SYNOPSIS
 *	struct inbound_set *s = inbound_set_new(cfg);
 *	inbound_set_start(s);
 *	struct inbound_list *l = inbound_set_get(s);	(once per message)
 *	if (inbound_list_has(l, rcpt_key)) ...
 *	inbound_list_unref(l);
 *	inbound_set_stop(s);
 *
 * DESCRIPTION
 *	With [milter] inbound = yes, mail to an active tracked address is
 *	recorded (inbound.h).  Which addresses are tracked is looked up in
 *	memory only: the set is a dbcache (dbcache.h) reloaded every
 *	[milter] inbound_refresh seconds and within a second of a change
 *	(011_inbound.sql sends NOTIFY beacon_inbound on every change of the
 *	table).  Addresses are compared in their one form (address.h); an
 *	address without one is never tracked.
 */
#ifndef BEACON_INBOUND_SET_H
#define BEACON_INBOUND_SET_H

#include <stddef.h>

#include "cfg.h"

struct inbound_set;
struct inbound_list;

/* inbound_set_new - a cache with an empty set; nothing is loaded yet */
struct inbound_set *inbound_set_new(const struct beacon_cfg *cfg);
/* inbound_set_start - load now (bounded), then start the refresh thread; 0, or -1 */
int inbound_set_start(struct inbound_set *s);
/* inbound_set_reload - load now in the caller's thread; addresses loaded, or -1 (the old set
 * kept) */
long inbound_set_reload(struct inbound_set *s);
/* inbound_set_stop - stop the thread and free (NULL is fine) */
void inbound_set_stop(struct inbound_set *s);
/* inbound_set_get - the current set, referenced; NULL when S is NULL */
struct inbound_list *inbound_set_get(struct inbound_set *s);
/* inbound_set_set - replace the current set with L (the cache takes the reference) */
void inbound_set_set(struct inbound_set *s, struct inbound_list *l);

/* inbound_list_new - a set of the N ADDRESSES (normalised here; those without a one form
 * left out) */
struct inbound_list *inbound_list_new(const char *const *addresses, size_t n);
/* inbound_list_has - is KEY (an address in its one form) in L? (NULL L or KEY: no) */
int inbound_list_has(const struct inbound_list *l, const char *key);
/* inbound_list_size - addresses in L */
size_t inbound_list_size(const struct inbound_list *l);
/* inbound_list_unref - drop a reference (NULL is fine) */
void inbound_list_unref(struct inbound_list *l);

#endif
