/*
 * NAME
 *	copylog.h - which per-recipient copies already left, so a retried
 *	or re-submitted message does not send them again
 *
 * SYNOPSIS
 *	struct copylog *cl = copylog_open(spool_dir, err, sizeof(err));
 *	if (!copylog_has(cl, id)) { ... send the copy ...; copylog_add(cl, id); }
 *	copylog_close(cl);
 *
 * DESCRIPTION
 *	A copy id (COPYLOG_ID_LEN bytes) is derived by track.c from the
 *	message (a keyed digest of its sender, headers and body) and the
 *	copy's recipient: the same message submitted again has the same copy
 *	ids.  copylog_add() appends the id to DIR/copies.log and syncs it
 *	(fdatasync) before it returns, so an id once added survives a crash
 *	of the milter.  The file is one line per copy, "<hex id> <unix
 *	time>"; a torn last line (a crash during the write) is ignored.
 *	Ids older than COPYLOG_TTL_S are forgotten: copylog_has() no longer
 *	finds them, and the file and the table are compacted (rewritten with
 *	the live ids only: temporary file, fsync, rename) when the file is
 *	opened and, while the milter runs, by copylog_add() once the oldest
 *	id is COPYLOG_COMPACT_S past its expiry (the clients' and Postfix's
 *	own retries give up within five days by default).
 *
 *	Every function is safe to call from several threads.
 */
#ifndef BEACON_COPYLOG_H
#define BEACON_COPYLOG_H

#include <stddef.h>
#include <stdint.h>

#define COPYLOG_ID_LEN 16		/* bytes of a copy id */
#define COPYLOG_TTL_S (7 * 86400)	/* how long a copy id is remembered */
#define COPYLOG_COMPACT_S 3600		/* expired ids linger at most this long */

struct copylog;

/* copylog_open - load DIR/copies.log (created 0600), forgetting expired ids; NULL with ERR */
struct copylog *copylog_open(const char *dir, char *err, size_t errlen);
/* copylog_has - was the copy ID sent already? */
int copylog_has(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN]);
/* copylog_sent_at - when the copy ID was sent (unix time), or 0 when it was not */
long long copylog_sent_at(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN]);
/* copylog_add - remember ID, synced to disk, and compact when due; 0, or -1 (errno) when it
 * could not be written */
int copylog_add(struct copylog *cl, const uint8_t id[COPYLOG_ID_LEN]);
/* copylog_size - ids in the table (expired ones included until the next compaction) */
unsigned copylog_size(struct copylog *cl);
/* copylog_set_clock - tests only: NOW replaces time(NULL) (NULL: time(NULL) again) */
void copylog_set_clock(struct copylog *cl, long long (*now)(void));
/* copylog_close - close and free; NULL is fine */
void copylog_close(struct copylog *cl);

#endif
