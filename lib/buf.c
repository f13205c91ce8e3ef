/*
 * buf.c - a growable byte buffer (see buf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* buf_grow - room for N more bytes and the NUL */
static void buf_grow(struct buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->len + n + 1 <= b->cap)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		log_fatalx("out of memory (%zu bytes)", cap);
	b->p = p;
	b->cap = cap;
}

/* buf_add - append LEN bytes of S */
void buf_add(struct buf *b, const void *s, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* buf_adds - append the string S */
void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* buf_printf - append a formatted string */
void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_fatalx("buf_printf: bad format %s", fmt);
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* buf_str - the text so far */
const char *buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}

/* buf_reset - empty it, keep the memory */
void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* buf_free - release the memory */
void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){ 0 };
}
