/*
 * NAME
 *	private.c - refuse a file of secrets that group or others may access
 *
 * DESCRIPTION
 *	One check for every file holding a secret (the token secret, the
 *	database password, the TLS key): no permission bit for group or
 *	others, and an error that says how to fix it.
 */
#include <stdio.h>

#include "private.h"

/* private_check - see private.h */
int private_check(const struct stat *st, const char *path, const char *what, char *err,
    size_t errlen)
{
	if (!(st->st_mode & (S_IRWXG | S_IRWXO)))
		return 0;
	snprintf(err, errlen, "%s: %s is accessible by group or others (mode %04o); "
		 "run: chmod 600 %s", path, what, (unsigned)(st->st_mode & 07777), path);
	return -1;
}
