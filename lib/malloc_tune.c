/*
 * NAME
 *	malloc_tune.c - glibc malloc thresholds for a message-at-a-time daemon
 *
 * DESCRIPTION
 *	See malloc_tune.h.  Under a sanitizer, whose allocator is not
 *	glibc's, mallopt() does nothing and nothing is reported set.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "malloc_tune.h"

#ifdef __GLIBC__
#include <malloc.h>

/* malloc_tune_tunable - GLIBC_TUNABLES holds the entry NAME=value, as glibc reads it
 * (entries separated by ':'; one without '=' is ignored) */
static int malloc_tune_tunable(const char *name)
{
	const char *t = getenv("GLIBC_TUNABLES");
	size_t n = strlen(name);

	for (const char *p = t; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return 1;
	return 0;
}

/* malloc_tune_operator - the environment sets this threshold (tunable NAME or VAR) */
static int malloc_tune_operator(const char *name, const char *var)
{
	return getenv(var) != NULL || malloc_tune_tunable(name);
}

/* malloc_tune - see malloc_tune.h */
int malloc_tune(void)
{
	int set = 0;

	if (!malloc_tune_operator("glibc.malloc.mmap_threshold", "MALLOC_MMAP_THRESHOLD_") &&
	    mallopt(M_MMAP_THRESHOLD, MALLOC_TUNE_MMAP) == 1)
		set |= MALLOC_TUNE_SET_MMAP;
	if (!malloc_tune_operator("glibc.malloc.trim_threshold", "MALLOC_TRIM_THRESHOLD_") &&
	    mallopt(M_TRIM_THRESHOLD, MALLOC_TUNE_TRIM) == 1)
		set |= MALLOC_TUNE_SET_TRIM;
	return set;
}
#else
/* malloc_tune - another C library: nothing to do */
int malloc_tune(void)
{
	return 0;
}
#endif
