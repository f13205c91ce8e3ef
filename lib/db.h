/*
 * db.h - PostgreSQL connections the way every Beacon program opens them.
 *
 * The [database] keys give the libpq connection string, an optional
 * password file (refused if group or others may read it), the connect
 * timeout and the statement timeout, applied to every session.
 */
#ifndef BEACON_DB_H
#define BEACON_DB_H

#include <stddef.h>
#include <libpq-fe.h>

#include "cfg.h"

/* db_connect - open a session named APP; NULL with a message in ERR (host named) */
PGconn *db_connect(const struct beacon_cfg *cfg, const char *app, char *err, size_t errlen);
/* db_password_preload - read password_file once, before privileges are dropped;
 * later connections (reconnects as the unprivileged user) reuse it */
int db_password_preload(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* db_read_password - first line of PATH into BUF; -1 with ERR if unreadable or too open */
int db_read_password(const char *path, char *buf, size_t len, char *err, size_t errlen);
/* db_ok - did RES succeed (COMMAND_OK or TUPLES_OK)?  Logs the error with WHAT if not */
int db_ok(PGconn *conn, PGresult *res, const char *what);
/* db_now_us - monotonic microseconds (the same clock as g_get_monotonic_time) */
long long db_now_us(void);
/* db_wait - poll CONN's socket for EVENTS until DEADLINE (db_now_us); 0, or -1 on timeout */
int db_wait(PGconn *conn, short events, long long deadline);

#endif
