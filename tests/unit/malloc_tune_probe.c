/*
 * malloc_tune_probe.c - what glibc's malloc does with and without
 * malloc_tune(), for test_lib_malloc_tune.  Built without sanitizers
 * (whose allocators are not glibc's), so that make check's test, itself
 * built with them, still sees glibc at work.
 *
 *	malloc_tune_probe tune	exit status: malloc_tune()'s answer under
 *				the environment it was given
 *	malloc_tune_probe heap 0|1
 *				1: tune first.  Exit status bits: 1, a 4 MiB
 *				block got a mapping of its own; 2, a thread
 *				that freed 768 KiB (64 KiB blocks) faulted
 *				the pages in again for its next 768 KiB.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "malloc_tune.h"

#define PROBE_BLOCKS 12
#define PROBE_BLOCK (64 * 1024)

static char *volatile probe_sink;	/* the blocks escape: the compiler may not drop them */

/* probe_round - one "message": allocate and touch the blocks, free them */
static void probe_round(void)
{
	char *b[PROBE_BLOCKS];

	for (int i = 0; i < PROBE_BLOCKS; i++) {
		b[i] = malloc(PROBE_BLOCK);
		if (!b[i])
			abort();
		memset(b[i], 1, PROBE_BLOCK);
		probe_sink = b[i];
	}
	for (int i = PROBE_BLOCKS - 1; i >= 0; i--)
		free(b[i]);
}

/* probe_thread - two rounds on one thread's arena; the minor faults of the second */
static void *probe_thread(void *arg)
{
	struct rusage a, b;

	probe_round();
	getrusage(RUSAGE_THREAD, &a);
	probe_round();
	getrusage(RUSAGE_THREAD, &b);
	*(long *)arg = b.ru_minflt - a.ru_minflt;
	return NULL;
}

int main(int argc, char **argv)
{
	int r = 0;
	long faults = 0;
	size_t before;
	pthread_t t;

	if (argc == 2 && strcmp(argv[1], "tune") == 0)
		return malloc_tune();
	if (argc != 3 || strcmp(argv[1], "heap") != 0)
		return 100;
	if (strcmp(argv[2], "1") == 0)
		malloc_tune();
	/* the thread first: freeing a mapped block would make glibc raise its thresholds */
	if (pthread_create(&t, NULL, probe_thread, &faults) != 0 || pthread_join(t, NULL) != 0)
		return 102;
	if (faults >= PROBE_BLOCKS * PROBE_BLOCK / sysconf(_SC_PAGESIZE) / 2)
		r |= 2;
	before = mallinfo2().hblks;
	probe_sink = malloc(4 * 1024 * 1024);
	memset(probe_sink, 1, 4 * 1024 * 1024);
	if (mallinfo2().hblks > before)
		r |= 1;
	free(probe_sink);
	return r;
}
