/*
 * test_lib_spool.c - unit tests of the append-only spool: order, resume after
 * a failed callback without duplicates, records appended during replay,
 * a torn tail, a corrupt record, the parser on hand-made buffers, the size
 * cap and the expiry of kept-aside files; the directory synced after the
 * rename that starts a replay.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "spool.h"

#include <sys/syscall.h>

static int dir_syncs;	/* fsync() calls on a directory */

/* fsync - counts the calls on a directory, then the system call (this program's
 * definition is the one the spool links to) */
int fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		dir_syncs++;
	return (int)syscall(SYS_fsync, fd);
}

/* seen - what the replay callback collected */
struct seen {
	char got[64][32];	/* payloads, in order */
	int n;			/* how many */
	int fail_at;		/* fail when n reaches this (-1: never) */
	struct spool *sp;	/* append into this during replay, once */
};

/* collect - replay callback: remember the payload, maybe fail */
static int collect(void *arg, uint8_t type, const void *data, size_t len)
{
	struct seen *s = arg;
	if (s->n == s->fail_at)
		return -1;
	assert_int_equal(type, 'e');
	assert_true(len < sizeof(s->got[0]));
	memcpy(s->got[s->n], data, len);
	s->got[s->n][len] = '\0';
	s->n++;
	if (s->sp) {
		assert_int_equal(spool_append(s->sp, 'e', "late", 4, 1), 0);
		s->sp = NULL;
	}
	return 0;
}

/* mkdir_tmp - a fresh directory */
static char *mkdir_tmp(void)
{
	char *d = strdup("/tmp/beacon-spool-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

/* rm_tmp - remove the directory and its files */
static void rm_tmp(char *d)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static void test_order_and_resume(void **state)
{
	char *dir = mkdir_tmp(), err[256], buf[16];
	struct spool *sp = spool_open(dir, "events", err, sizeof(err));
	struct seen s = { .fail_at = -1 };

	assert_non_null(sp);
	assert_false(spool_has_pending(sp));
	for (int i = 0; i < 10; i++) {
		int l = snprintf(buf, sizeof(buf), "r%d", i);
		assert_int_equal(spool_append(sp, 'e', buf, (size_t)l, i == 9), 0);
	}
	assert_true(spool_has_pending(sp));
	/* the callback fails at the 4th record: 3 done, stop */
	s.fail_at = 3;
	dir_syncs = 0;
	assert_int_equal(spool_replay(sp, collect, &s), -1);
	assert_int_equal(s.n, 3);
	/* the spool was renamed for the replay and made anew: its directory was synced */
	assert_int_equal(dir_syncs, 1);
	assert_true(spool_has_pending(sp));
	/* resume: the rest, in order, no duplicates; one record appended meanwhile */
	s.fail_at = -1;
	s.sp = sp;
	assert_int_equal(spool_replay(sp, collect, &s), 8);
	assert_int_equal(s.n, 11);
	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "r%d", i);
		assert_string_equal(s.got[i], buf);
	}
	assert_string_equal(s.got[10], "late");
	assert_false(spool_has_pending(sp));
	assert_int_equal(spool_replay(sp, collect, &s), 0);
	spool_close(sp);

	/* reopen: nothing left */
	sp = spool_open(dir, "events", err, sizeof(err));
	assert_false(spool_has_pending(sp));
	spool_close(sp);
	rm_tmp(dir);
}

static void test_torn_tail(void **state)
{
	char *dir = mkdir_tmp(), err[256], path[256];
	struct spool *sp = spool_open(dir, "m", err, sizeof(err));
	struct seen s = { .fail_at = -1 };

	assert_int_equal(spool_append(sp, 'e', "one", 3, 0), 0);
	assert_int_equal(spool_append(sp, 'e', "two", 3, 1), 0);
	/* a crash during append: half a record at the end */
	snprintf(path, sizeof(path), "%s/m.spool", dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "BSe\0\x10\0\0\0abc", 11), 11);
	close(fd);
	assert_int_equal(spool_replay(sp, collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.got[1], "two");
	assert_false(spool_has_pending(sp));
	spool_close(sp);
	rm_tmp(dir);
}

static void test_corrupt(void **state)
{
	char *dir = mkdir_tmp(), err[256], path[256];
	struct spool *sp = spool_open(dir, "m", err, sizeof(err));
	struct seen s = { .fail_at = -1 };
	struct stat st;

	assert_int_equal(spool_append(sp, 'e', "one", 3, 0), 0);
	assert_int_equal(spool_append(sp, 'e', "two", 3, 0), 0);
	assert_int_equal(spool_append(sp, 'e', "six", 3, 1), 0);
	/* flip a payload byte of the second record */
	snprintf(path, sizeof(path), "%s/m.spool", dir);
	int fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, SPOOL_HDR_LEN + 3 + SPOOL_HDR_LEN), 1);
	close(fd);
	assert_int_equal(spool_replay(sp, collect, &s), 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.got[0], "one");
	/* the rest is kept aside, not lost and not replayed out of order */
	snprintf(path, sizeof(path), "%s/m.replay.bad", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_false(spool_has_pending(sp));
	spool_close(sp);
	rm_tmp(dir);
}

static void test_parse(void **state)
{
	uint8_t buf[64];
	size_t bad = 0;
	spool_encode_header(buf, 'e', "abc", 3);
	memcpy(buf + SPOOL_HDR_LEN, "abc", 3);
	assert_int_equal(spool_parse(buf, SPOOL_HDR_LEN + 3, NULL, NULL, &bad), SPOOL_HDR_LEN + 3);
	assert_int_equal(spool_parse(buf, SPOOL_HDR_LEN + 2, NULL, NULL, &bad), 0);
	assert_int_equal(spool_parse(buf, 5, NULL, NULL, &bad), 0);
	buf[0] = 'X';
	assert_int_equal(spool_parse(buf, SPOOL_HDR_LEN + 3, NULL, NULL, &bad), -1);
	assert_int_equal(bad, 0);
}

/* test_cap - past spool_set_max an append writes nothing and fails with EFBIG; a replay
 * (rotation) ends the episode */
static void test_cap(void **state)
{
	char *d = mkdir_tmp(), err[256], path[512];
	struct spool *sp = spool_open(d, "c", err, sizeof(err));
	struct seen s = { .fail_at = -1 };
	struct stat st;
	int ok = 0;

	(void)state;
	assert_non_null(sp);
	spool_set_max(sp, 100);	/* four records of 16 + 8 bytes */
	for (int i = 0; i < 10; i++) {
		errno = 0;
		if (spool_append(sp, 'e', "12345678", 8, 0) == 0)
			ok++;
		else
			assert_int_equal(errno, EFBIG);
	}
	assert_int_equal(ok, 4);
	assert_int_equal(spool_refused(sp), 6);
	snprintf(path, sizeof(path), "%s/c.spool", d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 96);
	assert_int_equal(spool_replay(sp, collect, &s), 4);
	assert_int_equal(spool_append(sp, 'e', "12345678", 8, 0), 0);
	spool_close(sp);
	rm_tmp(d);
}

/* test_expire - .bad files and a whole spool older than the limit go, fresh ones stay */
static void test_expire(void **state)
{
	char *d = mkdir_tmp(), err[256], bad[512], path[512];
	struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	struct spool *sp = spool_open(d, "r", err, sizeof(err));
	struct stat st;
	FILE *fp;

	(void)state;
	assert_non_null(sp);
	snprintf(bad, sizeof(bad), "%s/r.replay.bad", d);
	snprintf(path, sizeof(path), "%s/r.spool", d);
	assert_non_null(fp = fopen(bad, "w"));
	fclose(fp);
	assert_int_equal(spool_append(sp, 'e', "x", 1, 1), 0);
	assert_int_equal(spool_expire(sp, 3600, 1), 0);	/* both fresh */
	assert_int_equal(utimensat(AT_FDCWD, bad, old, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(spool_expire(sp, 3600, 0), 1);	/* the .bad only */
	assert_int_equal(access(bad, F_OK), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(spool_expire(sp, 3600, 1), 1);	/* now the spool too */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(spool_expire(sp, 0, 1), 0);		/* 0: never */
	spool_close(sp);
	rm_tmp(d);
}

static void test_unwritable(void **state)
{
	char err[256];
	assert_null(spool_open("/nonexistent/dir", "m", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/dir/m.spool: cannot open spool: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_resume),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_unwritable),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
