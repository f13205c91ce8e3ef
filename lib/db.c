/*
 * db.c - open PostgreSQL sessions with the configured timeouts and
 * password file; run statements on them within a deadline and tell what
 * a failure means (see db.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "private.h"

/* db_read_password - read a private password file */
int db_read_password(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		snprintf(err, errlen, "%s: cannot read password file: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) < 0) {
		snprintf(err, errlen, "%s: cannot read password file: %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	if (private_check(&st, path, "password file", err, errlen) < 0) {
		fclose(fp);
		return -1;
	}
	if (!fgets(buf, (int)len, fp))
		buf[0] = '\0';
	fclose(fp);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static enum db_program db_program;	/* set once by db_use() */

/* db_use - the program this process is: its own connection keys win */
void db_use(enum db_program p)
{
	db_program = p;
}

/* db_pick - the program's value of a key when set, else the [database] one */
static const char *db_pick(const char *milter, const char *pixelsrv, const char *notify,
			   const char *web, const char *database)
{
	const char *own = db_program == DB_MILTER ? milter :
			  db_program == DB_PIXELSRV ? pixelsrv :
			  db_program == DB_NOTIFY ? notify :
			  db_program == DB_WEB ? web : NULL;

	return own && *own ? own : database;
}

/* db_conninfo - the connection string this program uses */
static const char *db_conninfo(const struct beacon_cfg *cfg)
{
	return db_pick(cfg->milter.db_conninfo, cfg->pixelsrv.db_conninfo, cfg->notify.db_conninfo,
		       cfg->web.db_conninfo, cfg->database.conninfo);
}

/* db_password_file - the password file this program uses (NULL or empty: none) */
static const char *db_password_file(const struct beacon_cfg *cfg)
{
	return db_pick(cfg->milter.db_password_file, cfg->pixelsrv.db_password_file,
		       cfg->notify.db_password_file, cfg->web.db_password_file,
		       cfg->database.password_file);
}

static pthread_mutex_t db_pw_lock = PTHREAD_MUTEX_INITIALIZER;

/* db_pw_slot - one password file's line, read once */
struct db_pw_slot {
	char path[4096];	/* the file ("": a free slot) */
	char pw[512];		/* its first line */
};
/* the program's password file, and the read replica's (lib/dbread.c) */
static struct db_pw_slot db_pw[2];

/* db_password_load - PATH's line, read once and kept; copied into OUT (may be NULL) */
int db_password_load(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	struct db_pw_slot *slot = NULL;
	char pw[512];
	int rc = 0;

	pthread_mutex_lock(&db_pw_lock);
	for (size_t i = 0; i < sizeof(db_pw) / sizeof(db_pw[0]) && !slot; i++)
		if (!db_pw[i].path[0] || strcmp(db_pw[i].path, path) == 0)
			slot = &db_pw[i];
	if (slot && slot->path[0]) {
		memcpy(pw, slot->pw, sizeof(pw));
	} else if ((rc = db_read_password(path, pw, sizeof(pw), err, errlen)) == 0 && slot &&
		   strlen(path) < sizeof(slot->path)) {
		memcpy(slot->pw, pw, sizeof(pw));
		snprintf(slot->path, sizeof(slot->path), "%s", path);
	}
	pthread_mutex_unlock(&db_pw_lock);
	if (rc == 0 && out)
		snprintf(out, outlen, "%s", pw);
	memset(pw, 0, sizeof(pw));
	return rc;
}

/* db_password_preload - read password_file now (before dropping privileges) */
int db_password_preload(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const char *path = db_password_file(cfg);

	return path && *path ? db_password_load(path, NULL, 0, err, errlen) : 0;
}

/* db_connect - connect to the program's database */
PGconn *db_connect(const struct beacon_cfg *cfg, const char *app, char *err, size_t errlen)
{
	return db_connect_to(cfg, db_conninfo(cfg), db_password_file(cfg), app, err, errlen);
}

/* db_connect_to - connect to CONNINFO with timeouts; the error names the host */
PGconn *db_connect_to(const struct beacon_cfg *cfg, const char *conninfo,
		      const char *password_file, const char *app, char *err, size_t errlen)
{
	char pw[512] = "", timeout[32], options[64];
	const char *keys[6], *vals[6];
	int n = 0;
	PGconn *conn;

	if (password_file && *password_file &&
	    db_password_load(password_file, pw, sizeof(pw), err, errlen) < 0)
		return NULL;
	snprintf(timeout, sizeof(timeout), "%ld",
		 cfg->database.connect_timeout > 0 ? cfg->database.connect_timeout : 5);
	snprintf(options, sizeof(options), "-c statement_timeout=%ld",
		 cfg->database.statement_timeout);
	keys[n] = "dbname"; vals[n++] = conninfo;
	keys[n] = "connect_timeout"; vals[n++] = timeout;
	keys[n] = "options"; vals[n++] = options;
	keys[n] = "application_name"; vals[n++] = app;
	if (pw[0]) {
		keys[n] = "password";
		vals[n++] = pw;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	memset(pw, 0, sizeof(pw));
	if (!conn) {
		snprintf(err, errlen, "database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *host = PQhost(conn);
		snprintf(err, errlen, "database %s%s: %s", host ? "at " : "", host ? host : "",
			 PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* db_ok - check a result; log what failed */
int db_ok(PGconn *conn, PGresult *res, const char *what)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *msg;
	int len;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
		return 1;
	msg = db_error(conn, res, &len);
	log_warnx("database %s: %s: %.*s", PQhost(conn) ? PQhost(conn) : "", what, len, msg);
	return 0;
}

/* db_error - the error text of RES, else CONN's, and the length of its first line */
const char *db_error(PGconn *conn, const PGresult *res, int *len)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";

	if (!*msg)
		msg = conn ? PQerrorMessage(conn) : "no session";
	*len = (int)strcspn(msg, "\n");
	return msg;
}

/* db_timeout_ms - statement_timeout and a margin; UNBOUNDED_MS instead when it
 * sets no usable bound (0, or 10 minutes and over) */
int db_timeout_ms(const struct beacon_cfg *cfg, int unbounded_ms, int margin_ms)
{
	long st = cfg->database.statement_timeout;

	return (int)(st > 0 && st < 600000 ? st : unbounded_ms) + margin_ms;
}

/* db_wait - poll CONN's socket for EVENTS until DEADLINE (clock_now_us); 0, or -1 on timeout */
int db_wait(PGconn *conn, short events, long long deadline)
{
	struct pollfd pfd = { PQsocket(conn), events, 0 };

	for (;;) {
		int ms = clock_left_ms(deadline), rc;
		if (ms == 0 || pfd.fd < 0)
			return -1;
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* db_flush - push out what QUEUED put in libpq's buffer, reading input meanwhile */
enum db_fault db_flush(PGconn *conn, int queued, long long deadline)
{
	int f;

	if (queued != 1)
		return DB_DOWN;
	while ((f = PQflush(conn)) == 1) {
		/* the server may block on its own output until we read it */
		if (db_wait(conn, POLLOUT | POLLIN, deadline) < 0)
			return DB_TIMEOUT;
		if (!PQconsumeInput(conn))
			return DB_DOWN;
	}
	return f == 0 ? DB_OK : DB_DOWN;
}

/* db_result - PQgetResult without blocking past DEADLINE */
PGresult *db_result(PGconn *conn, long long deadline, enum db_fault *fault)
{
	*fault = DB_OK;
	while (PQisBusy(conn)) {
		if (db_wait(conn, POLLIN, deadline) < 0) {
			*fault = DB_TIMEOUT;
			return NULL;
		}
		if (!PQconsumeInput(conn)) {
			*fault = DB_DOWN;
			return NULL;
		}
	}
	return PQgetResult(conn);
}

/* db_result_failed - did RES fail?  (a COPY result is a success: data goes next) */
static int db_result_failed(const PGresult *res)
{
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		return 0;
	default:
		return 1;
	}
}

/* db_is_copy - does RES start a COPY?  (PQgetResult returns it again until it is done) */
static int db_is_copy(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

/* db_results - read results until the end (or a COPY); the first failure decides */
enum db_fault db_results(PGconn *conn, long long deadline, PGresult **keep)
{
	enum db_fault rc = DB_OK, io;
	PGresult *res, *kept = NULL;

	while ((res = db_result(conn, deadline, &io)) != NULL) {
		int failed = db_result_failed(res), copy = db_is_copy(res);
		if (failed && rc == DB_OK) {
			rc = db_classify(conn, res);
			PQclear(kept);
			kept = res;
		} else if (!kept) {
			kept = res;
		} else {
			PQclear(res);
		}
		if (copy)
			break;
	}
	if (io != DB_OK)
		rc = io;
	else if (rc == DB_OK && PQstatus(conn) != CONNECTION_OK)
		rc = DB_DOWN;
	if (keep)
		*keep = kept;
	else
		PQclear(kept);
	return rc;
}

/* db_classify - data errors (classes 22, 23, and 54: a value over a program limit, such
 * as an index row too big, fails again on every retry) on a live session, or trouble */
enum db_fault db_classify(PGconn *conn, const PGresult *res)
{
	if (!conn || PQstatus(conn) != CONNECTION_OK)
		return DB_DOWN;
	if (db_sqlstate_is(res, "22") || db_sqlstate_is(res, "23") || db_sqlstate_is(res, "54"))
		return DB_DATA;
	return DB_DOWN;
}

/* db_sqlstate - the SQLSTATE field of RES */
const char *db_sqlstate(const PGresult *res)
{
	return res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
}

/* db_sqlstate_is - does RES's SQLSTATE start with PREFIX? */
int db_sqlstate_is(const PGresult *res, const char *prefix)
{
	const char *st = db_sqlstate(res);

	return st && strncmp(st, prefix, strlen(prefix)) == 0;
}
