/*
 * NAME
 *	suppress.h - the suppression list (beacon.suppressions), cached
 *
 * SYNOPSIS
 *	struct suppress *s = suppress_new(cfg);
 *	suppress_start(s);
 *	struct suppress_list *l = suppress_get(s);	(once per message)
 *	if (suppress_list_has_from(l, rcpt, sender)) ...
 *	suppress_list_unref(l);
 *	suppress_stop(s);
 *
 * DESCRIPTION
 *	Recipients on the suppression list (no consent, opted out) get a
 *	message untouched and no token.  The list holds addresses
 *	("user@example.org") and domains ("@example.org", that domain
 *	exactly), as beaconctl suppress writes them.  Patterns and the
 *	addresses looked up are compared in their one form (address.h), so
 *	"<CAT@Example.ORG.>" and "\"cat\"@example.org" are on the list
 *	when cat@example.org is; an address that has no one form counts as
 *	suppressed.
 *
 *	A row holds for every sender (sender '') or for one envelope sender
 *	(a one-click unsubscribe): then only that sender's messages leave
 *	the recipient untracked, or, for a recipient's own unsubscribe
 *	(source 'unsubscribe') with [milter] unsubscribe_action = drop, not
 *	sent to at all (track.c).  The sender is compared by its key: its
 *	one form without a BATV tag (prvs=TAG=user@dom is user@dom), which
 *	beacon-milter also stores as messages.sender_key for
 *	beacon.unsubscribe().
 *
 *	Mail never waits for the database here (the cache is dbcache.h's):
 *	suppress_get() only takes a reference to the list in memory.  suppress_start() loads the list
 *	once, bounded by connect_timeout and statement_timeout, then starts
 *	a thread that reloads it every suppression_refresh seconds (0: never
 *	again, and no thread) and, in between, whenever the database says
 *	the list changed: the thread keeps a session that LISTENs on
 *	beacon_suppressions (007_unsubscribe.sql sends it on every change)
 *	and reloads through it, at most once a second.  A lost session is
 *	opened again at the next
 *	reload; meanwhile the timed reloads go on.  When a reload fails the
 *	last list stays in use; the first failure and the recovery are
 *	logged.  On a schema older than 007 (no sender column) every row
 *	holds for every sender.
 */
#ifndef BEACON_SUPPRESS_H
#define BEACON_SUPPRESS_H

#include <stddef.h>

#include "cfg.h"

struct suppress;
struct suppress_list;

/* suppress_new - a cache with an empty list; nothing is loaded yet */
struct suppress *suppress_new(const struct beacon_cfg *cfg);
/* suppress_start - load now (bounded), then start the refresh thread; 0, or -1 (no thread) */
int suppress_start(struct suppress *s);
/* suppress_reload - load the list now in the caller's thread; patterns loaded, or -1
 * (the old list kept) */
long suppress_reload(struct suppress *s);
/* suppress_stop - stop the thread and free (NULL is fine) */
void suppress_stop(struct suppress *s);

/* suppress_get - the current list, referenced; NULL when S is NULL */
struct suppress_list *suppress_get(struct suppress *s);
/* suppress_set - replace the current list with L (the cache takes the reference) */
void suppress_set(struct suppress *s, struct suppress_list *l);

/* suppress_list_new - a list of N patterns for every sender (normalised here) */
struct suppress_list *suppress_list_new(const char *const *patterns, size_t n);
/* suppress_list_new_from - the same, SENDERS[i] the sender of PATTERNS[i] ("" or NULL:
 * every sender) */
struct suppress_list *suppress_list_new_from(const char *const *patterns,
					     const char *const *senders, size_t n);
/* suppress_list_new_src - the same, SOURCES[i] the source of row i ("unsubscribe" marks
 * a recipient's own unsubscribe; NULL: all "admin") */
struct suppress_list *suppress_list_new_src(const char *const *patterns,
					    const char *const *senders,
					    const char *const *sources, size_t n);
/* suppress_list_unsubscribed - has ADDR itself (not its domain) a row of source
 * unsubscribe for SENDER? (what [milter] unsubscribe_action = drop removes) */
int suppress_list_unsubscribed(const struct suppress_list *l, const char *addr,
			       const char *sender);
/* suppress_sender_key - SENDER in its one form, a BATV tag ("prvs=TAG=") removed, into
 * KEY[LEN] (ADDRESS_SIZE): the key of a sender-scoped row, stored as messages.sender_key;
 * 0, or -1 when SENDER is empty or has no one form */
int suppress_sender_key(const char *sender, char *key, size_t len);
/* suppress_list_has - is ADDR, or its domain, on L for every sender? (NULL L: no; no one
 * form: yes) */
int suppress_list_has(const struct suppress_list *l, const char *addr);
/* suppress_list_has_from - the same, or for SENDER (NULL: none) */
int suppress_list_has_from(const struct suppress_list *l, const char *addr, const char *sender);
/* suppress_list_size - patterns on L */
size_t suppress_list_size(const struct suppress_list *l);
/* suppress_list_unref - drop a reference (NULL is fine) */
void suppress_list_unref(struct suppress_list *l);

#endif
