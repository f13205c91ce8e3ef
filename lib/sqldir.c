/*
 * NAME
 *	sqldir.c - find the SQL files beaconctl and beacon-web run
 *
 * DESCRIPTION
 *	The directory holding schema/ (migrations) and reports/ is, first
 *	found wins:
 *	  1. $BEACON_SQLDIR;
 *	  2. the sql/ directory of the source tree the binary was built in:
 *	     the program's own directory or one of its three parents holding
 *	     both sql/schema and ctl/main.c (build/beaconctl and
 *	     build/asan/beacon-web in a checkout);
 *	  3. BEACON_DATADIR/sql, where make install puts them.
 *	beacon-web's pages' static files are found the same way: the source
 *	tree's web/static, else the installed directory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqldir.h"

/* sqldir_is_dir - is PATH a directory? */
static int sqldir_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* sqldir_source_tree - does DIR look like the Beacon source tree? */
static int sqldir_source_tree(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/sql/schema", dir) >= sizeof(path) ||
	    !sqldir_is_dir(path))
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/ctl/main.c", dir) >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* sqldir_checkout - the source tree the running binary was built in (its own
 * directory or one of its three parents) into ROOT; 0, or -1 if it runs from none */
static int sqldir_checkout(char *root, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 4 && (slash = strrchr(exe, '/')) && slash != exe; up++) {
		*slash = '\0';
		if (sqldir_source_tree(exe))
			return (size_t)snprintf(root, len, "%s", exe) >= len ? -1 : 0;
	}
	return -1;
}

/* beacon_sql_dir - the SQL directory into BUF (LEN bytes), or NULL */
const char *beacon_sql_dir(char *buf, size_t len)
{
	const char *env = getenv("BEACON_SQLDIR");
	char root[PATH_MAX];

	if (env && *env) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len || !sqldir_is_dir(buf))
			return NULL;
		return buf;
	}
	if (sqldir_checkout(root, sizeof(root)) == 0)
		return (size_t)snprintf(buf, len, "%s/sql", root) >= len ? NULL : buf;
	if ((size_t)snprintf(buf, len, "%s/sql", BEACON_DATADIR) >= len || !sqldir_is_dir(buf))
		return NULL;
	return buf;
}

/* beacon_static_dir - web/static of the source tree the binary runs from, else
 * INSTALLED, into BUF */
const char *beacon_static_dir(const char *installed, char *buf, size_t len)
{
	char root[PATH_MAX];

	if (sqldir_checkout(root, sizeof(root)) == 0 &&
	    (size_t)snprintf(buf, len, "%s/web/static", root) < len && sqldir_is_dir(buf))
		return buf;
	return (size_t)snprintf(buf, len, "%s", installed) >= len ? NULL : buf;
}
