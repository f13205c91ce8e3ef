/*
 * NAME
 *	malloc_tune.c - glibc malloc thresholds for a message-at-a-time daemon
 *
 * DESCRIPTION
 *	See malloc_tune.h.  mallopt() is glibc's; under a sanitizer its
 *	allocator ignores the call, which is harmless.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_tune.h"

/* malloc_tune - see malloc_tune.h */
int malloc_tune(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (t && strstr(t, "glibc.malloc."))
		return 0;
	/* M_MMAP_THRESHOLD first: setting either also stops glibc's own adjusting of both */
	mallopt(M_MMAP_THRESHOLD, MALLOC_TUNE_MMAP);
	mallopt(M_TRIM_THRESHOLD, MALLOC_TUNE_TRIM);
	return 1;
}
