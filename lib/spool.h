/*
 * spool.h - append-only, checksummed, fsync'd record files.
 *
 * When the database is down, the milter (message rows) and the pixel
 * server (events) append records to DIR/NAME.spool.  A replayer renames
 * that file to DIR/NAME.replay (new records go to a fresh .spool), feeds
 * each record in order to a callback that writes it to the database, and
 * keeps the offset of the last record done in DIR/NAME.replay.off, so a
 * restart resumes where it stopped.  Records:
 *
 *     "BS" | type (1) | 0 (1) | length (4, LE) | checksum (8) | payload
 *
 * The checksum is SipHash-2-4 (libsodium crypto_shorthash) of the header's
 * first 8 bytes and the payload, under a fixed key: it detects torn writes,
 * it is not a MAC.  A torn record at the end of a file (a crash during
 * append) is reported and skipped; a bad checksum elsewhere stops the
 * replay of that file so nothing is replayed out of order; the rest of the
 * file is kept aside as NAME.replay.bad.
 *
 * A spool may have a size cap (spool_set_max): an append that would take
 * NAME.spool past it fails with EFBIG and writes nothing; the first such
 * refusal of an episode is logged once, and the episode ends (logged with
 * the number refused) when the file is rotated for replay.  spool_expire()
 * removes NAME.replay.bad files, and optionally NAME.spool itself, whose
 * last change is older than a limit: kept-aside records must not keep
 * personal data forever.
 */
#ifndef BEACON_SPOOL_H
#define BEACON_SPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_HDR_LEN 16
#define SPOOL_MAX_RECORD (16u * 1024 * 1024)

struct spool;

/* spool_open - open (create, mode 0600) DIR/NAME.spool for appending */
struct spool *spool_open(const char *dir, const char *name, char *err, size_t errlen);
/* spool_append - one record; SYNC: fdatasync before returning; -1 and errno on failure */
int spool_append(struct spool *sp, uint8_t type, const void *data, size_t len, int sync);
/* spool_sync - fdatasync the current file */
int spool_sync(struct spool *sp);
/* spool_has_pending - is there anything to replay (a .replay or non-empty .spool)? */
int spool_has_pending(struct spool *sp);
/* spool_fn - replay callback; return 0 when the record is safely stored, -1 to stop */
typedef int (*spool_fn)(void *arg, uint8_t type, const void *data, size_t len);
/* spool_replay - replay every pending record in order; the number replayed, or -1 if FN stopped */
long spool_replay(struct spool *sp, spool_fn fn, void *arg);
/* spool_flush_fn - make every record FN accepted since the last flush durable; 0, or -1 (they are replayed again later) */
typedef int (*spool_flush_fn)(void *arg);
/* spool_replay_batch - spool_replay for batched writers: FN only queues a record,
 * FLUSH stores the queued ones every EVERY records and at the end of each file;
 * progress is saved after each successful FLUSH.  The number stored, or -1 if FN or FLUSH stopped */
long spool_replay_batch(struct spool *sp, spool_fn fn, spool_flush_fn flush, size_t every,
			void *arg);
/* spool_set_max - cap NAME.spool at MAX bytes (0: no cap); appends past it fail with EFBIG */
void spool_set_max(struct spool *sp, unsigned long long max);
/* spool_refused - appends refused by the cap since the spool was opened */
unsigned long long spool_refused(struct spool *sp);
/* spool_expire - remove NAME.replay.bad, and NAME.spool too when WHOLE, if unchanged for
 * MAX_AGE seconds (0: never); the number of files removed or emptied */
int spool_expire(struct spool *sp, long max_age, int whole);
/* spool_close - close (records stay on disk) */
void spool_close(struct spool *sp);

/* spool_parse - walk records in BUF[0..LEN): FN per record; bytes consumed
 * (a torn tail is left unconsumed); -1 on a corrupt record, with *BAD at its offset */
long spool_parse(const uint8_t *buf, size_t len, spool_fn fn, void *arg, size_t *bad);
/* spool_encode_header - fill HDR for a record of TYPE and PAYLOAD */
void spool_encode_header(uint8_t hdr[SPOOL_HDR_LEN], uint8_t type, const void *payload, size_t len);

#endif
