/*
 * test_lib_malloc_tune.c - unit tests of lib/malloc_tune.c: an operator's
 * GLIBC_TUNABLES for malloc wins, and once tuned a 512 KiB block comes
 * from the heap (no mapping of its own) and a freed 768 KiB top of the
 * heap is kept, where glibc's defaults map the one and give back the
 * other (checked in a child that is not tuned, so the test can fail).
 * Under AddressSanitizer, whose allocator is not glibc's, only the
 * first part runs.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "malloc_tune.h"

#if defined(__SANITIZE_ADDRESS__)
#define MT_GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_GLIBC_MALLOC 0
#endif
#endif
#ifndef MT_GLIBC_MALLOC
#define MT_GLIBC_MALLOC 1
#endif

/* mt_tune_with - malloc_tune()'s answer with GLIBC_TUNABLES set to T (NULL: unset),
 * asked in a child so that this process keeps glibc's defaults */
static int mt_tune_with(const char *t)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (t)
			setenv("GLIBC_TUNABLES", t, 1);
		else
			unsetenv("GLIBC_TUNABLES");
		_exit(malloc_tune());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* test_tunables_win - a glibc.malloc tunable in the environment: nothing changed */
static void test_tunables_win(void **state)
{
	(void)state;
	assert_int_equal(mt_tune_with("glibc.malloc.trim_threshold=65536"), 0);
	assert_int_equal(mt_tune_with("glibc.pthread.rseq=0:glibc.malloc.arena_max=2"), 0);
	assert_int_equal(mt_tune_with("glibc.pthread.rseq=0"), 1);
	assert_int_equal(mt_tune_with(NULL), 1);
}

static char *volatile mt_sink;	/* the blocks escape: the compiler may not drop them */

/* mt_probe_run - bit 0: a 512 KiB block was mapped; bit 1: a freed heap top
 * (768 KiB freed in 64 KiB blocks) was given back.  Run in a fresh process
 * (--probe), so that nothing this one allocated has moved glibc's own
 * thresholds. */

static int mt_probe_run(int tune)
{
	int r = 0;
	size_t before;
	char *big, *top[12];

	if (tune)
		malloc_tune();
	before = mallinfo2().hblks;
	big = malloc(512 * 1024);
	memset(big, 1, 512 * 1024);
	mt_sink = big;
	if (mallinfo2().hblks > before)
		r |= 1;
	/* 12 blocks of 64 KiB, each under glibc's default mmap threshold, freed together */
	for (int i = 0; i < 12; i++) {
		top[i] = malloc(64 * 1024);
		memset(top[i], 1, 64 * 1024);
		mt_sink = top[i];
	}
	for (int i = 11; i >= 0; i--)
		free(top[i]);
	if (mallinfo2().keepcost < 512 * 1024)
		r |= 2;
	free(big);
	return r;
}

/* mt_probe - mt_probe_run(TUNE) in a new image of this program */
static int mt_probe(int tune)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		unsetenv("GLIBC_TUNABLES");
		execl("/proc/self/exe", "test_lib_malloc_tune", "--probe", tune ? "1" : "0",
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* test_heap_kept - tuned: no mapping, the top kept; defaults: mapped, given back */
static void test_heap_kept(void **state)
{
	(void)state;
	if (!MT_GLIBC_MALLOC)
		skip();
	assert_int_equal(mt_probe(0), 3);
	assert_int_equal(mt_probe(1), 0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--probe") == 0)
		return mt_probe_run(strcmp(argv[2], "1") == 0);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tunables_win),
		cmocka_unit_test(test_heap_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
