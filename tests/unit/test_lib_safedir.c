/*
 * test_lib_safedir.c - unit tests of lib/safedir.c, the walk a daemon
 * does as root to its directories: which symbolic links it follows (in a
 * directory only root or we may write, or a sticky one with our link)
 * and which it refuses (in a directory others may write), creation of
 * missing components, and the split of a file name from its directory.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "safedir.h"

static char root[256];	/* a fresh directory for each test */

/* at - ROOT/REL into a static buffer */
static const char *at(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
	return buf[i];
}

/* dir - mkdir ROOT/REL with MODE (chmod: no umask) */
static void dir(const char *rel, mode_t mode)
{
	assert_int_equal(0, mkdir(at(rel), 0700));
	assert_int_equal(0, chmod(at(rel), mode));
}

/* same - FD is the directory at ROOT/REL */
static void same(int fd, const char *rel)
{
	struct stat a, b;

	assert_true(fd >= 0);
	assert_int_equal(0, fstat(fd, &a));
	assert_int_equal(0, stat(at(rel), &b));
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
}

/* setup - ROOT: a new private directory */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/safedir.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		return -1;
	return chmod(root, 0755);
}

/* teardown - remove ROOT */
static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* test_plain - a directory without links opens; a missing one is created only with a mode */
static void test_plain(void **state)
{
	char err[512];
	int created, fd;
	struct stat st;

	(void)state;
	umask(022);
	dir("a", 0755);
	same(safedir_open(at("a"), 0, NULL, err, sizeof(err)), "a");
	same(safedir_open(at("a/./"), 0, NULL, err, sizeof(err)), "a");
	assert_int_equal(-1, safedir_open(at("a/b/c"), 0, NULL, err, sizeof(err)));
	assert_int_equal(ENOENT, errno);
	assert_non_null(strstr(err, "/a/b: No such file"));
	fd = safedir_open(at("a/b/c"), 0711, &created, err, sizeof(err));
	assert_int_equal(1, created);
	same(fd, "a/b/c");
	assert_int_equal(0, stat(at("a/b/c"), &st));
	assert_int_equal(0711, st.st_mode & 0777);
	fd = safedir_open(at("a/b/c"), 0711, &created, err, sizeof(err));
	assert_int_equal(0, created);
	same(fd, "a/b/c");
	/* a file where a directory should be */
	close(open(at("a/f"), O_CREAT | O_WRONLY, 0600));
	assert_int_equal(-1, safedir_open(at("a/f/x"), 0700, NULL, err, sizeof(err)));
	assert_int_equal(ENOTDIR, errno);
	assert_non_null(strstr(err, "/a/f: not a directory"));
}

/* test_links - followed where only we may have put them, refused elsewhere */
static void test_links(void **state)
{
	char err[512];

	(void)state;
	dir("target", 0755);
	dir("safe", 0755);
	dir("open", 0777);
	dir("sticky", 01777);
	assert_int_equal(0, symlink(at("target"), at("safe/abs")));
	assert_int_equal(0, symlink("../target", at("safe/rel")));
	assert_int_equal(0, symlink(at("target"), at("open/l")));
	assert_int_equal(0, symlink(at("target"), at("sticky/l")));
	assert_int_equal(0, symlink(at("open/l"), at("safe/via-open")));
	assert_int_equal(0, symlink("loop", at("safe/loop")));

	same(safedir_open(at("safe/abs"), 0, NULL, err, sizeof(err)), "target");
	same(safedir_open(at("safe/rel"), 0, NULL, err, sizeof(err)), "target");
	same(safedir_open(at("sticky/l"), 0, NULL, err, sizeof(err)), "target");

	/* in a directory others may write: refused, naming the link */
	assert_int_equal(-1, safedir_open(at("open/l"), 0700, NULL, err, sizeof(err)));
	assert_int_equal(ELOOP, errno);
	assert_non_null(strstr(err, "/open/l is a symbolic link in a directory others than root "
				    "may write"));
	assert_non_null(strstr(err, "mode 0777"));
	/* also as a parent, and when reached through a trusted link */
	assert_int_equal(-1, safedir_open(at("open/l/sub"), 0700, NULL, err, sizeof(err)));
	assert_int_equal(ELOOP, errno);
	assert_int_equal(-1, safedir_open(at("safe/via-open"), 0700, NULL, err, sizeof(err)));
	assert_int_equal(ELOOP, errno);
	assert_non_null(strstr(err, "/open/l is a symbolic link"));
	/* nothing was created behind the refused links */
	assert_int_equal(-1, access(at("target/sub"), F_OK));
	/* a loop ends */
	assert_int_equal(-1, safedir_open(at("safe/loop"), 0, NULL, err, sizeof(err)));
	assert_int_equal(ELOOP, errno);
	assert_non_null(strstr(err, "too many levels"));
}

/* test_sticky_other - in a sticky directory, a link someone else owns is refused */
static void test_sticky_other(void **state)
{
	char err[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	dir("target", 0755);
	dir("sticky", 01777);
	assert_int_equal(0, symlink(at("target"), at("sticky/l")));
	assert_int_equal(0, lchown(at("sticky/l"), 65534, 65534));
	assert_int_equal(-1, safedir_open(at("sticky/l"), 0, NULL, err, sizeof(err)));
	assert_int_equal(ELOOP, errno);
	/* a directory owned by another user is not trusted either, whatever its mode */
	dir("theirs", 0755);
	assert_int_equal(0, chown(at("theirs"), 65534, 65534));
	assert_int_equal(0, symlink(at("target"), at("theirs/l")));
	assert_int_equal(-1, safedir_open(at("theirs/l"), 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "owner uid 65534, mode 0755"));
}

/* test_split - a file name and its directory */
static void test_split(void **state)
{
	static const struct {
		const char *path, *dir, *name;
	} t[] = {
		{ "/run/beacon/milter.pid", "/run/beacon", "milter.pid" },
		{ "/x.pid", "/", "x.pid" },
		{ "x.pid", ".", "x.pid" },
		{ "a/b", "a", "b" },
		{ "/run/beacon/", NULL, NULL },
		{ "", NULL, NULL },
	};
	char d[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *name = safedir_split(t[i].path, d, sizeof(d));

		if (!t[i].name) {
			assert_null(name);
			continue;
		}
		assert_string_equal(t[i].name, name);
		assert_string_equal(t[i].dir, d);
	}
	assert_null(safedir_split("/a-long-directory-name/x", d, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_other, setup, teardown),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
