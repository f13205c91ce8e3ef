/*
 * test_lib_malloc_tune.c - unit tests of lib/malloc_tune.c, through
 * malloc_tune_probe (built next to this test without sanitizers, so that
 * glibc's malloc is at work even when this test runs under ASan): an
 * operator's setting of either threshold wins over malloc_tune(), each
 * on its own; once tuned a 4 MiB block comes from the heap and a thread
 * that freed 768 KiB gets the same pages back without faulting them in,
 * where glibc's defaults map the one and give back the other (the
 * untuned probe shows it, so the test can fail).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "malloc_tune.h"

static char mt_probe_path[PATH_MAX];	/* malloc_tune_probe, next to this program */

/* mt_run - the probe's exit status for ARG1 ARG2 with GLIBC_TUNABLES T and VAR=VAL */
static int mt_run(const char *arg1, const char *arg2, const char *t, const char *var,
		  const char *val)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		/* nothing of this process's environment: only what the case sets */
		char tunables[256], other[256];
		char *envp[3] = { NULL, NULL, NULL };
		int k = 0;

		if (t && snprintf(tunables, sizeof(tunables), "GLIBC_TUNABLES=%s", t) > 0)
			envp[k++] = tunables;
		if (var && snprintf(other, sizeof(other), "%s=%s", var, val) > 0)
			envp[k++] = other;
		char *argv[] = { (char *)"malloc_tune_probe", (char *)arg1, (char *)arg2, NULL };

		execve(mt_probe_path, argv, envp);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* test_operator_wins - each threshold the environment sets is left alone */
static void test_operator_wins(void **state)
{
	const int both = MALLOC_TUNE_SET_MMAP | MALLOC_TUNE_SET_TRIM;

	(void)state;
	assert_int_equal(mt_run("tune", NULL, NULL, NULL, NULL), both);
	assert_int_equal(mt_run("tune", NULL, "glibc.malloc.arena_max=2", NULL, NULL), both);
	assert_int_equal(mt_run("tune", NULL, "glibc.malloc.trim_threshold=131072", NULL, NULL),
			 MALLOC_TUNE_SET_MMAP);
	assert_int_equal(mt_run("tune", NULL, "glibc.pthread.rseq=0:glibc.malloc.mmap_threshold=65536",
				NULL, NULL),
			 MALLOC_TUNE_SET_TRIM);
	/* glibc reads only NAME=value entries: these set nothing */
	assert_int_equal(mt_run("tune", NULL, "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold",
				NULL, NULL),
			 both);
	assert_int_equal(mt_run("tune", NULL, "x.glibc.malloc.trim_threshold=1", NULL, NULL), both);
	assert_int_equal(mt_run("tune", NULL, NULL, "MALLOC_TRIM_THRESHOLD_", "131072"),
			 MALLOC_TUNE_SET_MMAP);
	assert_int_equal(mt_run("tune", NULL, NULL, "MALLOC_MMAP_THRESHOLD_", "131072"),
			 MALLOC_TUNE_SET_TRIM);
}

/* test_heap_kept - defaults: the block mapped, the pages given back; tuned: neither */
static void test_heap_kept(void **state)
{
	(void)state;
	assert_int_equal(mt_run("heap", "0", NULL, NULL, NULL), 3);
	assert_int_equal(mt_run("heap", "1", NULL, NULL, NULL), 0);
	/* the operator's own trim threshold of 128 KiB: given back again, the block still not mapped */
	assert_int_equal(mt_run("heap", "1", NULL, "MALLOC_TRIM_THRESHOLD_", "131072"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operator_wins),
		cmocka_unit_test(test_heap_kept),
	};
	ssize_t n = readlink("/proc/self/exe", mt_probe_path, sizeof(mt_probe_path) - 1);

	if (n <= 0 || (size_t)n + sizeof("/malloc_tune_probe") > sizeof(mt_probe_path)) {
		fprintf(stderr, "test_lib_malloc_tune: cannot find its own path\n");
		return 1;
	}
	mt_probe_path[n] = '\0';
	strcpy(strrchr(mt_probe_path, '/'), "/malloc_tune_probe");	/* an absolute path */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
