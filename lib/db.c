/*
 * db.c - open PostgreSQL sessions with the configured timeouts and
 * password file; one helper to check a result and log its error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "log.h"

/* db_read_password - read a private password file */
int db_read_password(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		snprintf(err, errlen, "%s: cannot read password file: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) < 0 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errlen, "%s: password file is accessible by group or others "
			 "(mode %04o); run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		fclose(fp);
		return -1;
	}
	if (!fgets(buf, (int)len, fp))
		buf[0] = '\0';
	fclose(fp);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static pthread_mutex_t db_pw_lock = PTHREAD_MUTEX_INITIALIZER;
static char db_pw[512];		/* the password file's line, read once */
static int db_pw_loaded;	/* db_pw holds it */

/* db_password_preload - read password_file now (before dropping privileges) */
int db_password_preload(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	int rc = 0;

	if (!cfg->database.password_file || !*cfg->database.password_file)
		return 0;
	pthread_mutex_lock(&db_pw_lock);
	if (!db_pw_loaded) {
		rc = db_read_password(cfg->database.password_file, db_pw, sizeof(db_pw), err, errlen);
		db_pw_loaded = rc == 0;
	}
	pthread_mutex_unlock(&db_pw_lock);
	return rc;
}

/* db_connect - connect with timeouts; the error names the host */
PGconn *db_connect(const struct beacon_cfg *cfg, const char *app, char *err, size_t errlen)
{
	char pw[512] = "", timeout[32], options[64];
	const char *keys[6], *vals[6];
	int n = 0;
	PGconn *conn;

	if (db_password_preload(cfg, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&db_pw_lock);
	memcpy(pw, db_pw, sizeof(pw));
	pthread_mutex_unlock(&db_pw_lock);
	snprintf(timeout, sizeof(timeout), "%ld",
		 cfg->database.connect_timeout > 0 ? cfg->database.connect_timeout : 5);
	snprintf(options, sizeof(options), "-c statement_timeout=%ld",
		 cfg->database.statement_timeout);
	keys[n] = "dbname"; vals[n++] = cfg->database.conninfo;
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
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
		return 1;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
	log_warnx("database %s: %s: %.*s", PQhost(conn) ? PQhost(conn) : "", what,
		  (int)strcspn(msg, "\n"), msg);
	return 0;
}

/* db_now_us - the monotonic clock in microseconds (the clock deadlines use) */
long long db_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* db_wait - poll CONN's socket for EVENTS until DEADLINE (db_now_us); 0, or -1 on timeout */
int db_wait(PGconn *conn, short events, long long deadline)
{
	struct pollfd pfd = { PQsocket(conn), events, 0 };

	for (;;) {
		long long left = deadline - db_now_us();
		int rc;
		if (left <= 0 || pfd.fd < 0)
			return -1;
		rc = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}
