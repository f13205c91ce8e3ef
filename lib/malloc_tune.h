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
 *	the trim threshold gives it back to the kernel (madvise or munmap).
 *	It raises both, for the whole process, only after it frees a mapped
 *	block: to that block's size and twice that, up to 32 MiB and 64 MiB.
 *	A daemon whose messages need a few hundred KiB of smaller blocks
 *	never triggers that, so each thread's heap (libmilter starts a
 *	thread per connection) is trimmed after a message and faulted in
 *	again by the next.
 *
 *	malloc_tune() starts where glibc's own adjustment ends: requests
 *	under MALLOC_TUNE_MMAP (32 MiB, glibc's ceiling) come from the heap,
 *	and a heap keeps up to MALLOC_TUNE_TRIM (64 MiB) of free top.  A heap
 *	never keeps more than its busiest message needed, so the memory kept
 *	is at most, per malloc arena (glibc makes up to 8 per core, plus the
 *	main one), the most that one message used on it.
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
