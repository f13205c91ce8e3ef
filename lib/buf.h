/*
 * buf.h - a growable byte buffer, always NUL-terminated, for the texts
 * the programs build (JSON, chat lines, digest mails, pages).
 *
 * Out of memory is fatal (log_fatalx): a daemon that cannot allocate a
 * few kilobytes has nothing better to do.
 */
#ifndef BEACON_BUF_H
#define BEACON_BUF_H

#include <stddef.h>

#include "log.h"

/* buf - the bytes and their length */
struct buf {
	char *p;	/* the bytes, p[len] == '\0' (NULL until the first append) */
	size_t len;	/* bytes used, not counting the NUL */
	size_t cap;	/* bytes allocated */
};

/* buf_add - append LEN bytes of S */
void buf_add(struct buf *b, const void *s, size_t len);
/* buf_adds - append the string S */
void buf_adds(struct buf *b, const char *s);
/* buf_printf - append a formatted string */
void buf_printf(struct buf *b, const char *fmt, ...) LOG_PRINTF(2, 3);
/* buf_str - the text so far ("" when empty) */
const char *buf_str(const struct buf *b);
/* buf_reset - empty it, keep the memory */
void buf_reset(struct buf *b);
/* buf_free - release the memory */
void buf_free(struct buf *b);

#endif
