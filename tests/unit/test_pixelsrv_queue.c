/*
 * test_pixelsrv_queue.c - unit tests of the file-backed event queue: order,
 * full ring, many laps, several producers at once, recovery of a crashed
 * run's records (published ones only, in order, the in-flight ones flagged),
 * a change of size, the
 * file lock, and the consumer's wait.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "queue.h"

/* collected - records a queue_fn saw */
struct collected {
	uint32_t v[4096];	/* first 4 bytes of each record */
	int unsure[4096];	/* recovery's flag for each */
	size_t n;		/* how many */
	int fail;		/* queue_fn returns -1 */
};

/* collect - queue_fn: keep the record's number */
static int collect(void *arg, const uint8_t *rec, size_t len)
{
	struct collected *c = arg;
	if (c->fail)
		return -1;
	assert_true(len >= 4);
	assert_true(c->n < 4096);
	memcpy(&c->v[c->n++], rec, 4);
	return 0;
}

/* recollect - queue_recover_fn: keep the record's number and flag */
static int recollect(void *arg, const uint8_t *rec, size_t len, int unsure)
{
	struct collected *c = arg;
	if (c->fail)
		return -1;
	c->unsure[c->n] = unsure;
	return collect(arg, rec, len);
}

/* tmp_path - a fresh queue file path */
static void tmp_path(char *buf, size_t len)
{
	static int seq;
	snprintf(buf, len, "/tmp/beacon-queue-%ld-%d", (long)getpid(), seq++);
	unlink(buf);
}

/* open_empty - open and initialise a queue of N slots */
static struct queue *open_empty(const char *path, size_t n)
{
	char err[256];
	struct queue *q = queue_open(path, n, err, sizeof(err));
	if (!q)
		fail_msg("queue_open: %s", err);
	assert_int_equal(queue_recover(q, recollect, &(struct collected){ .n = 0 }), 0);
	return q;
}

/* push_n - push records numbered FROM..FROM+N-1 */
static void push_n(struct queue *q, uint32_t from, uint32_t n)
{
	for (uint32_t i = from; i < from + n; i++)
		assert_int_equal(queue_push(q, &i, sizeof(i)), 0);
}

/* test_order_and_full - FIFO, -1 when full, slots reused after release */
static void test_order_and_full(void **state)
{
	char path[128];
	struct collected c = { .n = 0 };
	struct queue *q;
	uint32_t x = 99;
	uint8_t big[QUEUE_REC_MAX + 1] = { 0 };

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 5);	/* rounded up to 8 */
	assert_int_equal(queue_capacity(q), 8);
	push_n(q, 0, 8);
	assert_int_equal(queue_push(q, &x, sizeof(x)), -1);
	assert_int_equal(queue_push(q, big, sizeof(big)), -1);
	assert_int_equal(queue_depth(q), 8);
	assert_int_equal(queue_peek(q, 3, collect, &c), 3);
	assert_int_equal(queue_push(q, &x, sizeof(x)), -1);	/* peeked is not released */
	queue_release(q, 3);
	assert_int_equal(queue_depth(q), 5);
	push_n(q, 8, 3);
	assert_int_equal(queue_peek(q, 100, collect, &c), 8);
	queue_release(q, 8);
	assert_int_equal(c.n, 11);
	for (uint32_t i = 0; i < 11; i++)
		assert_int_equal(c.v[i], i);
	assert_int_equal(queue_depth(q), 0);
	queue_close(q);
	unlink(path);
}

/* test_laps - thousands of records through a small ring keep their order */
static void test_laps(void **state)
{
	char path[128];
	struct queue *q;
	uint32_t next = 0, expect = 0;

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 16);
	for (int round = 0; round < 1000; round++) {
		struct collected c = { .n = 0 };
		uint32_t k = (uint32_t)(round % 16) + 1;
		push_n(q, next, k);
		next += k;
		size_t n = queue_peek(q, 16, collect, &c);
		assert_int_equal(n, k);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(c.v[i], expect++);
		queue_release(q, n);
	}
	queue_close(q);
	unlink(path);
}

/* producer - one thread's records: (thread << 24) | i */
struct producer {
	struct queue *q;	/* where to push */
	uint32_t id;		/* thread number */
	uint32_t n;		/* records to push */
	uint32_t full;		/* pushes refused (ring full), retried */
};

/* producer_main - push N records, retrying while full */
static void *producer_main(void *arg)
{
	struct producer *p = arg;
	for (uint32_t i = 0; i < p->n; i++) {
		uint32_t v = p->id << 24 | i;
		int tries = 0;
		while (queue_push(p->q, &v, sizeof(v)) < 0) {
			p->full++;
			if (++tries > 10000000)
				return NULL;
			sched_yield();
		}
	}
	return NULL;
}

/* mp_check - consumer side: per producer, numbers come in order */
struct mp_check {
	uint32_t next[4];	/* next number expected per producer */
	uint64_t total;		/* records seen */
};

/* mp_collect - queue_fn of the multi-producer test */
static int mp_collect(void *arg, const uint8_t *rec, size_t len)
{
	struct mp_check *m = arg;
	uint32_t v;
	assert_int_equal(len, 4);
	memcpy(&v, rec, 4);
	assert_true((v >> 24) < 4);
	assert_int_equal(v & 0xffffff, m->next[v >> 24]);
	m->next[v >> 24]++;
	m->total++;
	return 0;
}

/* test_producers - four threads at once into a 64-slot ring */
static void test_producers(void **state)
{
	char path[128];
	struct queue *q;
	struct producer p[4];
	pthread_t t[4];
	struct mp_check m = { { 0 }, 0 };
	const uint32_t per = 50000;

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 64);
	for (uint32_t i = 0; i < 4; i++) {
		p[i] = (struct producer){ q, i, per, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, producer_main, &p[i]), 0);
	}
	for (long spins = 0; m.total < 4 * per && spins < 100000000; spins++) {
		size_t n = queue_peek(q, 32, mp_collect, &m);
		if (n)
			queue_release(q, n);
		else
			sched_yield();
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(m.total, 4 * per);
	for (int i = 0; i < 4; i++)
		assert_int_equal(m.next[i], per);
	queue_close(q);
	unlink(path);
}

/* test_recover - a run that stopped without consuming leaves its records */
static void test_recover(void **state)
{
	char path[128], err[256];
	struct collected c = { .n = 0 };
	struct queue *q;
	FILE *fp;
	uint64_t enq;

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 8);
	push_n(q, 0, 6);
	assert_int_equal(queue_peek(q, 2, collect, &c), 2);
	queue_release(q, 2);		/* 0 and 1 were stored */
	assert_int_equal(queue_peek(q, 2, collect, &c), 2);	/* 2, 3 peeked ... */
	queue_inflight(q, 2);		/* ... and being stored */
	queue_close(q);			/* "crash": 2..5 stay in the file */

	/* a producer that claimed a position and died before publishing it */
	fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 64, SEEK_SET), 0);
	assert_int_equal(fread(&enq, 8, 1, fp), 1);
	assert_int_equal(enq, 6);
	enq++;
	assert_int_equal(fseek(fp, 64, SEEK_SET), 0);
	assert_int_equal(fwrite(&enq, 8, 1, fp), 1);
	fclose(fp);

	/* reopened with another size: recovered in order, then the new size */
	q = queue_open(path, 32, err, sizeof(err));
	assert_non_null(q);
	c.n = 0;
	c.fail = 1;
	assert_int_equal(queue_recover(q, recollect, &c), -1);	/* nothing discarded */
	c.fail = 0;
	assert_int_equal(queue_recover(q, recollect, &c), 4);
	assert_int_equal(c.n, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(c.v[i], 2 + i);
		assert_int_equal(c.unsure[i], i < 2);	/* the in-flight ones */
	}
	assert_int_equal(queue_capacity(q), 32);
	assert_int_equal(queue_depth(q), 0);
	push_n(q, 100, 32);
	queue_close(q);

	/* and a clean file has nothing more than what was left */
	q = queue_open(path, 32, err, sizeof(err));
	assert_non_null(q);
	c.n = 0;
	assert_int_equal(queue_recover(q, recollect, &c), 32);
	assert_int_equal(c.unsure[0], 0);	/* the in-flight mark did not survive the reset */
	assert_int_equal(c.v[0], 100);
	assert_int_equal(c.v[31], 131);
	queue_close(q);
	unlink(path);
}

/* test_garbage_file - a file that is not a queue is replaced, not read */
static void test_garbage_file(void **state)
{
	char path[128], err[256];
	struct collected c = { .n = 0 };
	struct queue *q;
	FILE *fp;

	(void)state;
	tmp_path(path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 10000; i++)
		fputs("garbage!", fp);
	fclose(fp);
	q = queue_open(path, 4, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(queue_recover(q, recollect, &c), 0);
	push_n(q, 0, 4);
	queue_close(q);
	unlink(path);
}

/* test_locked - a second open of the same file is refused while the first holds it */
static void test_locked(void **state)
{
	char path[128], err[256];
	struct queue *q, *q2;

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 4);
	q2 = queue_open(path, 4, err, sizeof(err));
	assert_null(q2);
	assert_non_null(strstr(err, "in use by another process"));
	queue_close(q);
	q2 = queue_open(path, 4, err, sizeof(err));
	assert_non_null(q2);
	queue_close(q2);
	unlink(path);
}

/* waker - push WANT records after a short delay */
static void *waker(void *arg)
{
	struct queue *q = arg;
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	push_n(q, 0, 4);
	return NULL;
}

/* ms_since - milliseconds since T0 */
static long ms_since(long long t0)
{
	return (long)((clock_now_us() - t0) / 1000);
}

/* test_wait - times out when short, wakes when WANT arrive, and on queue_wake */
static void test_wait(void **state)
{
	char path[128];
	struct queue *q;
	long long t0;
	pthread_t t;

	(void)state;
	tmp_path(path, sizeof(path));
	q = open_empty(path, 16);
	t0 = clock_now_us();
	assert_int_equal(queue_wait(q, 4, 100), 0);
	assert_true(ms_since(t0) >= 90);

	t0 = clock_now_us();
	assert_int_equal(pthread_create(&t, NULL, waker, q), 0);
	assert_int_equal(queue_wait(q, 4, 5000), 4);
	assert_true(ms_since(t0) < 2500);
	pthread_join(t, NULL);

	queue_wake(q);
	t0 = clock_now_us();
	queue_wait(q, 100, 5000);
	assert_true(ms_since(t0) < 1000);
	queue_close(q);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_full),
		cmocka_unit_test(test_laps),
		cmocka_unit_test(test_producers),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_garbage_file),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
