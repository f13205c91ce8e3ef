/*
 * test_lib_spool_replay.c - unit tests of spool_replay_batch(), the batched
 * replay beacon-pixelsrv's writer uses: flushes every N records and at the
 * end of a file, progress saved only after a flush, and a failed flush
 * replayed again from the last saved batch (nothing lost, nothing twice).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "spool.h"

/* sink - a pretend database: queued records, stored records */
struct sink {
	int queued[64];		/* numbers queued since the last flush */
	int nq;			/* how many */
	int stored[256];	/* numbers stored, in order */
	int ns;			/* how many */
	int flushes;		/* successful flushes */
	int fail_flush;		/* fail the flush with this number (1-based), 0: never */
	int calls;		/* flush calls */
};

/* sink_add - spool_fn: queue one record */
static int sink_add(void *arg, uint8_t type, const void *data, size_t len)
{
	struct sink *s = arg;
	int v;
	assert_int_equal(type, 'E');
	assert_int_equal(len, sizeof(v));
	memcpy(&v, data, sizeof(v));
	assert_true(s->nq < 64);
	s->queued[s->nq++] = v;
	return 0;
}

/* sink_flush - spool_flush_fn: store the queued records, or fail */
static int sink_flush(void *arg)
{
	struct sink *s = arg;
	if (++s->calls == s->fail_flush) {
		s->nq = 0;
		return -1;
	}
	for (int i = 0; i < s->nq; i++)
		s->stored[s->ns++] = s->queued[i];
	s->nq = 0;
	s->flushes++;
	return 0;
}

/* append_n - spool records FROM..FROM+N-1 */
static void append_n(struct spool *sp, int from, int n)
{
	for (int i = from; i < from + n; i++)
		assert_int_equal(spool_append(sp, 'E', &i, sizeof(i), 0), 0);
	assert_int_equal(spool_sync(sp), 0);
}

/* test_batches - 10 records in batches of 4: flushes of 4, 4, 2 */
static void test_batches(void **state)
{
	char dir[] = "/tmp/beacon-replay-XXXXXX", err[256], cmd[64];
	struct sink s = { .nq = 0 };
	struct spool *sp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, "events", err, sizeof(err));
	assert_non_null(sp);
	append_n(sp, 0, 10);
	assert_int_equal(spool_replay_batch(sp, sink_add, sink_flush, 4, &s), 10);
	assert_int_equal(s.flushes, 3);
	assert_int_equal(s.ns, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(s.stored[i], i);
	assert_false(spool_has_pending(sp));
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* test_failed_flush - the failed batch is replayed again, the earlier one is not */
static void test_failed_flush(void **state)
{
	char dir[] = "/tmp/beacon-replay-XXXXXX", err[256], cmd[64];
	struct sink s = { .nq = 0 };
	struct spool *sp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, "events", err, sizeof(err));
	assert_non_null(sp);
	append_n(sp, 0, 10);
	s.fail_flush = 2;	/* records 4..7 fail */
	assert_int_equal(spool_replay_batch(sp, sink_add, sink_flush, 4, &s), -1);
	assert_int_equal(s.ns, 4);
	assert_true(spool_has_pending(sp));
	append_n(sp, 10, 3);	/* written while the database was away */
	s.fail_flush = 0;
	assert_int_equal(spool_replay_batch(sp, sink_add, sink_flush, 4, &s), 9);
	assert_int_equal(s.ns, 13);
	for (int i = 0; i < 13; i++)
		assert_int_equal(s.stored[i], i);
	assert_false(spool_has_pending(sp));
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* test_failed_last_flush - a failure at the end of the file keeps that batch */
static void test_failed_last_flush(void **state)
{
	char dir[] = "/tmp/beacon-replay-XXXXXX", err[256], cmd[64];
	struct sink s = { .nq = 0 };
	struct spool *sp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sp = spool_open(dir, "events", err, sizeof(err));
	assert_non_null(sp);
	append_n(sp, 0, 6);
	s.fail_flush = 2;	/* the end-of-file flush of 4, 5 */
	assert_int_equal(spool_replay_batch(sp, sink_add, sink_flush, 4, &s), -1);
	assert_int_equal(s.ns, 4);
	s.fail_flush = 0;
	s.calls = 0;
	assert_int_equal(spool_replay_batch(sp, sink_add, sink_flush, 4, &s), 2);
	assert_int_equal(s.ns, 6);
	assert_int_equal(s.stored[4], 4);
	assert_int_equal(s.stored[5], 5);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_failed_flush),
		cmocka_unit_test(test_failed_last_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
