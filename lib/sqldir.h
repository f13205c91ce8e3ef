/*
 * sqldir.h - where the SQL files (schema/ and reports/) are, for the
 * programs that run them: beaconctl and beacon-web (see sqldir.c)
 */
#ifndef BEACON_SQLDIR_H
#define BEACON_SQLDIR_H

#include <stddef.h>

/* beacon_sql_dir - the directory holding schema/ and reports/ into BUF
 * (LEN bytes); NULL if none is found */
const char *beacon_sql_dir(char *buf, size_t len);
/* beacon_static_dir - web/static of the source tree the program runs from, else
 * INSTALLED, into BUF (LEN bytes); NULL if it does not fit */
const char *beacon_static_dir(const char *installed, char *buf, size_t len);

#endif
