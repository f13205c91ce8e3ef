/*
 * private.h - refuse a file of secrets that group or others may access
 */
#ifndef BEACON_PRIVATE_H
#define BEACON_PRIVATE_H

#include <stddef.h>
#include <sys/stat.h>

/* private_check - 0 when ST (of PATH, a WHAT such as "secret file") has no
 * group or other bits; else -1 and ERR naming the mode and the chmod to run */
int private_check(const struct stat *st, const char *path, const char *what, char *err,
    size_t errlen);

#endif
