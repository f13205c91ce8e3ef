/*
 * NAME
 *	store_sql.h - the one statement that writes a message's rows
 *
 * SYNOPSIS
 *	if (store_sql_prepare(conn) == 0)
 *		rc = store_sql_write(conn, record, timeout_ms);
 *
 * DESCRIPTION
 *	store_sql_prepare() prepares, once per session, an INSERT of the
 *	beacon.messages row with data-modifying CTEs that insert the
 *	recipients, links and attachments rows from array parameters: one statement, one
 *	transaction, one round trip, ON CONFLICT DO NOTHING everywhere.
 *	store_sql_write() runs it without blocking past TIMEOUT_MS
 *	(db_flush() and db_results(), see db.h), so a database that stopped
 *	answering (even one whose server cannot enforce statement_timeout)
 *	costs at most that.  The bounces, inbound mail and replies are one
 *	call each of a function of the schema (store_sql_bounce,
 *	store_sql_inbound, store_sql_reply), bounded the same way.
 */
#ifndef BEACON_STORE_SQL_H
#define BEACON_STORE_SQL_H

#include <libpq-fe.h>

#include "bounce.h"
#include "db.h"
#include "inbound_record.h"
#include "record.h"

/* store_sql_rc - how a write ended (the enum db_fault of the statement) */
enum store_sql_rc {
	STORE_SQL_OK = DB_OK,		/* committed */
	STORE_SQL_DATA = DB_DATA,	/* refused for its data (SQLSTATE classes 22 and 23): retrying will not help */
	STORE_SQL_DOWN = DB_DOWN,	/* connection or server trouble: drop the session */
	STORE_SQL_TIMEOUT = DB_TIMEOUT,	/* no answer in time: drop the session, do not wait again */
};

/* store_sql_prepare - prepare the statement on CONN; 0 or -1 (logged) */
int store_sql_prepare(PGconn *conn);
/* store_sql_write - write REC on CONN within TIMEOUT_MS; failures are logged after WHO */
enum store_sql_rc store_sql_write(PGconn *conn, const struct msg_record *rec, int timeout_ms,
				  const char *who);
/* store_sql_bounce - write the bounces of report B on CONN within TIMEOUT_MS (one call of
 * beacon.bounce, not prepared); failures are logged after WHO */
enum store_sql_rc store_sql_bounce(PGconn *conn, const struct bounce_record *b, int timeout_ms,
				   const char *who);
/* store_sql_inbound - one call of beacon.inbound_mail for R on CONN within TIMEOUT_MS (not
 * prepared); failures are logged after WHO */
enum store_sql_rc store_sql_inbound(PGconn *conn, const struct inbound_record *r, int timeout_ms,
				   const char *who);
/* store_sql_reply - one call of beacon.reply for R, the same way */
enum store_sql_rc store_sql_reply(PGconn *conn, const struct reply_record *r, int timeout_ms,
				  const char *who);
/* store_sql_array - append the text form of a PostgreSQL array of N strings to OUT */
void store_sql_array(GString *out, const char *const *v, size_t n);
/* store_sql_inbound_ready - 1 when CONN's role may call beacon.inbound_mail() and
 * beacon.reply(); 0 when one is missing or not granted, -1 when it cannot tell (ERR says) */
int store_sql_inbound_ready(PGconn *conn, char *err, size_t errlen);

#endif
