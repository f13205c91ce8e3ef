/*
 * malloc_tune.h - let a message-at-a-time daemon keep the heap memory it
 * frees for the next message.
 *
 * SYNOPSIS
 *	malloc_tune();	(early in main, before the first connection thread)
 *
 * DESCRIPTION
 *	glibc's malloc starts with two thresholds of 128 KiB: a request that
 *	large gets a mapping of its own, and a heap whose free top passes
 *	the trim threshold gives it back to the kernel (brk for the main
 *	heap, madvise or munmap for a thread's).  It raises both, for the
 *	whole process, only after it frees a mapped block: to that block's
 *	size and twice that, up to 32 MiB and 64 MiB (on 64-bit systems).
 *	A daemon whose messages need a few hundred KiB of smaller blocks
 *	never triggers that, so its heaps are trimmed after a message and
 *	faulted in again by the next (libmilter starts a thread per
 *	connection, each on one of glibc's arenas).
 *
 *	malloc_tune() starts where glibc's own adjustment ends: requests
 *	under MALLOC_TUNE_MMAP (32 MiB) come from the heap, and a heap keeps
 *	up to MALLOC_TUNE_TRIM (64 MiB) of free top.  An arena then keeps
 *	what it held at its busiest (the messages it served at once, and the
 *	database sessions opened on its threads), with up to about 64 MiB of
 *	that free.  glibc makes at most 8 arenas per core, the main one
 *	included; glibc.malloc.arena_max=N caps what stays allocated while
 *	idle at about N x 64 MiB.  The figures are for 64-bit systems.
 *
 *	An operator's own setting of either threshold wins, given as a
 *	GLIBC_TUNABLES entry (glibc.malloc.trim_threshold,
 *	glibc.malloc.mmap_threshold) or the older MALLOC_TRIM_THRESHOLD_ and
 *	MALLOC_MMAP_THRESHOLD_: that threshold is left alone.  Other malloc
 *	tunables (arena_max, say) do not change what is done here.
 *
 *	Only beacon-milter calls it: the other daemons keep their threads
 *	for their whole life, and their heaps do not come and go.
 */
#ifndef BEACON_MALLOC_TUNE_H
#define BEACON_MALLOC_TUNE_H

#define MALLOC_TUNE_MMAP (32 * 1024 * 1024)	/* requests from here on are mapped */
#define MALLOC_TUNE_TRIM (64 * 1024 * 1024)	/* free heap top kept, bytes */

#define MALLOC_TUNE_SET_MMAP 1	/* malloc_tune() set the mmap threshold */
#define MALLOC_TUNE_SET_TRIM 2	/* malloc_tune() set the trim threshold */

/* malloc_tune - set the thresholds the operator did not; MALLOC_TUNE_SET_* of those set */
int malloc_tune(void);

#endif
