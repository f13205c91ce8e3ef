/*
 * NAME
 *	auth.c - sign-in, sessions, API tokens, sign-out (see auth.h)
 *
 * DESCRIPTION
 *	A password check costs crypto_pwhash_MEMLIMIT_INTERACTIVE bytes
 *	(64 MiB) for a moment: at most AUTH_VERIFY_SLOTS run at once, the
 *	other sign-ins wait their turn (at most POOL_WAIT_MS, then 503), so
 *	that a burst of attempts cannot take the machine's memory.
 *
 *	A sign-in holds no database session while it waits for or runs the
 *	check: it reads the user, gives the session back, checks the
 *	password, then takes one again to write the outcome.  It counts as
 *	an attempt of its client address from before the check (throttle.h),
 *	so that parallel attempts cannot outrun login_rate.  Every refusal
 *	writes once (the failure count of a wrong password; a statement
 *	that changes nothing otherwise), so that the reply takes the same
 *	time whatever the reason.
 *
 *	The writes (session rows, failure counts, lockouts) go through
 *	their own short statements outside the request's read-only
 *	transaction.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "auth.h"
#include "clock.h"
#include "form.h"
#include "log.h"
#include "pages.h"
#include "pool.h"
#include "server.h"
#include "throttle.h"

#define AUTH_VERIFY_SLOTS 2		/* password checks at once */
#define AUTH_RATE_WINDOW_S 600		/* login_rate counts failures over this */
#define AUTH_HASH_HEX (2 + 2 * crypto_hash_sha256_BYTES + 1)	/* "\x" + hex + NUL */
#define AUTH_NAME_MAX 255		/* longest user name */
#define AUTH_REFUSED "wrong user name or password, or too many failed attempts: " \
	"wait and try again"

/* auth - what sign-in keeps */
struct auth {
	const struct beacon_cfg *cfg;		/* [web] keys */
	struct pool *pool;			/* database sessions */
	char dummy[crypto_pwhash_STRBYTES];	/* hash checked for a user who does not exist */
	sem_t verify;				/* AUTH_VERIFY_SLOTS password checks */
	struct throttle *rate;			/* failures per client address */
};

/* auth_random - 32 random bytes, base64url */
void auth_random(char out[AUTH_SECRET_LEN + 1])
{
	unsigned char b[32];

	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, AUTH_SECRET_LEN + 1, b, sizeof(b),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof(b));
}

/* auth_is_secret - AUTH_SECRET_LEN base64url characters? */
static int auth_is_secret(const char *s)
{
	return s && strlen(s) == AUTH_SECRET_LEN &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    AUTH_SECRET_LEN;
}

/* auth_hash - SHA-256 of S as a bytea literal ("\x" and hex) */
static void auth_hash(const char *s, char out[AUTH_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, AUTH_HASH_HEX - 2, h, sizeof(h));
}

/* auth_new - the dummy hash, the verify slots, the rate table */
struct auth *auth_new(const struct beacon_cfg *cfg, struct pool *pool)
{
	struct auth *a = calloc(1, sizeof(*a));
	char pw[AUTH_SECRET_LEN + 1];

	if (!a)
		log_fatalx("out of memory");
	a->cfg = cfg;
	a->pool = pool;
	auth_random(pw);
	if (crypto_pwhash_str(a->dummy, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		log_fatalx("cannot hash a password (out of memory?)");
	sem_init(&a->verify, 0, AUTH_VERIFY_SLOTS);
	a->rate = throttle_new(cfg->web.login_rate > 0 ? (unsigned)cfg->web.login_rate : 0,
	    AUTH_RATE_WINDOW_S);
	return a;
}

/* auth_free - release it */
void auth_free(struct auth *a)
{
	if (!a)
		return;
	sem_destroy(&a->verify);
	throttle_free(a->rate);
	free(a);
}

/* auth_user - columns 0..2 of RES's first row (id, name, admin) into *U */
static void auth_user(const PGresult *res, struct web_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(u->name, sizeof(u->name), "%s", PQgetvalue(res, 0, 1));
	u->admin = !strcmp(PQgetvalue(res, 0, 2), "t");
}

/* auth_lookup - run SQL (one row: id, name, admin[, csrf]) with V: 1 with *U, 0, -1 */
static int auth_lookup(struct auth *a, PGconn *c, const char *sql, int n, const char *const *v,
    struct web_user *u, char *csrf)
{
	PGresult *res;
	int rc;

	if (pool_exec(a->pool, c, sql, n, v, &res) != DB_OK) {
		db_ok(c, res, "looking up the session");
		PQclear(res);
		return -1;
	}
	rc = PQntuples(res) == 1;
	if (rc) {
		auth_user(res, u);
		if (csrf)
			snprintf(csrf, AUTH_SECRET_LEN + 1, "%s", PQgetvalue(res, 0, 3));
	}
	PQclear(res);
	return rc;
}

/* auth_session - a live session of an active user; its last request is now */
int auth_session(struct auth *a, PGconn *c, const char *cookie, struct web_user *u,
    char csrf[AUTH_SECRET_LEN + 1])
{
	static const char sql[] =
	    "UPDATE beacon.web_sessions s SET last_seen = now()"
	    " FROM beacon.web_users u"
	    " WHERE s.id = $1::bytea AND u.id = s.user_id AND u.active"
	    " AND s.expires_at > now()"
	    " AND coalesce(s.last_seen, s.created_at) > now() - make_interval(secs => $2::float8)"
	    " RETURNING u.id, u.name, u.admin, s.csrf";
	char id[AUTH_HASH_HEX], idle[32];
	const char *v[2] = { id, idle };

	if (!auth_is_secret(cookie))
		return 0;
	auth_hash(cookie, id);
	snprintf(idle, sizeof(idle), "%ld", a->cfg->web.session_idle);
	return auth_lookup(a, c, sql, 2, v, u, csrf);
}

/* auth_bearer - a live token of an active user; its last use is now */
int auth_bearer(struct auth *a, PGconn *c, const char *token, struct web_user *u)
{
	static const char sql[] =
	    "UPDATE beacon.web_tokens t SET last_used = now()"
	    " FROM beacon.web_users u"
	    " WHERE t.id = $1::bytea AND u.id = t.user_id AND u.active"
	    " AND (t.expires_at IS NULL OR t.expires_at > now())"
	    " RETURNING u.id, u.name, u.admin";
	char id[AUTH_HASH_HEX];
	const char *v[1] = { id };

	if (!token || strncmp(token, "bw_", 3) != 0 || !auth_is_secret(token + 3))
		return 0;
	auth_hash(token, id);
	return auth_lookup(a, c, sql, 1, v, u, NULL);
}

/* auth_login_form - the pre-session cookie (kept, or a new one), then the form */
int auth_login_form(struct auth *a, struct web_req *r)
{
	const char *have = web_cookie(r, RESPOND_LOGIN);
	char token[AUTH_SECRET_LEN + 1];

	if (auth_is_secret(have)) {
		web_set_csrf(r, have);
	} else {
		auth_random(token);
		web_set_cookie(r, RESPOND_LOGIN, token, -1);
		web_set_csrf(r, token);
	}
	return page_login(r, NULL);
}

/* auth_name - the name as beaconctl web user add stores it, into OUT: blanks trimmed;
 * sasl:LOGIN as typed; an address or @domain in its one form (address.h: lower case,
 * IDNA A-labels, no trailing dot); else lower case.  "" when too long */
static void auth_name(const char *in, char out[AUTH_NAME_MAX + 1])
{
	char typed[AUTH_NAME_MAX + 1], norm[ADDRESS_SIZE];
	const char *why;
	size_t n;

	while (in && isspace((unsigned char)*in))
		in++;
	n = in ? strlen(in) : 0;
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	if (n > AUTH_NAME_MAX)
		n = 0;
	memcpy(typed, in ? in : "", n);
	typed[n] = '\0';
	if (n >= 5 && !strncasecmp(typed, "sasl:", 5)) {
		snprintf(out, AUTH_NAME_MAX + 1, "sasl:%s", typed + 5);
		return;
	}
	if (strchr(typed, '@') && address_norm_pattern(typed, norm, sizeof(norm), &why) == 0 &&
	    (n = strlen(norm)) <= AUTH_NAME_MAX) {
		memcpy(out, norm, n + 1);
		return;
	}
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)typed[i]);
}

/* auth_log_name - NAME for a log line: control and non-ASCII bytes as '?' */
static void auth_log_name(const char *name, char out[AUTH_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; name[i] && i < AUTH_NAME_MAX; i++)
		out[i] = (unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f ?
		    '?' : name[i];
	out[i] = '\0';
}

/* auth_verify - PASSWORD against HASH, at most AUTH_VERIFY_SLOTS at once: 1 if it matches,
 * 0 if not, -1 when no check could start within POOL_WAIT_MS */
static int auth_verify(struct auth *a, const char *hash, const char *password)
{
	long long deadline = clock_after_ms(POOL_WAIT_MS);
	struct timespec ts = { (time_t)(deadline / 1000000), (long)(deadline % 1000000) * 1000 };
	int ok;

	while (sem_clockwait(&a->verify, CLOCK_MONOTONIC, &ts) < 0)
		if (errno != EINTR)
			return -1;
	ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	sem_post(&a->verify);
	return ok;
}

/* auth_failed - count a failure of user ID (0: none) in the database, towards its lockout */
static void auth_failed(struct auth *a, PGconn *c, const char *id)
{
	static const char sql[] =
	    "UPDATE beacon.web_users SET"
	    " failed_logins = CASE WHEN $2::int > 0 AND failed_logins + 1 >= $2::int THEN 0"
	    "  ELSE failed_logins + 1 END,"
	    " locked_until = CASE WHEN $2::int > 0 AND failed_logins + 1 >= $2::int"
	    "  THEN now() + make_interval(secs => $3::float8) ELSE locked_until END"
	    " WHERE id = $1::bigint";
	char attempts[32], lockout[32];
	const char *v[3] = { id, attempts, lockout };
	PGresult *res;

	snprintf(attempts, sizeof(attempts), "%ld", a->cfg->web.login_attempts);
	snprintf(lockout, sizeof(lockout), "%ld", a->cfg->web.login_lockout);
	if (pool_exec(a->pool, c, sql, 3, v, &res) != DB_OK)
		db_ok(c, res, "counting a failed sign-in");
	PQclear(res);
}

/* auth_start - the new session in one transaction: the user's failures forgotten, the
 * request's old session gone, the new one stored; 0, or -1 */
static int auth_start(struct auth *a, PGconn *c, struct web_req *r, const char *uid,
    const char *session, const char *csrf)
{
	char id[AUTH_HASH_HEX], old[AUTH_HASH_HEX], ttl[32];
	const char *oldc = web_cookie(r, RESPOND_SESSION);
	const char *vu[1] = { uid }, *vo[1] = { old };
	const char *vs[5] = { id, uid, csrf, ttl, strcmp(r->client_ip, "-") ? r->client_ip : NULL };
	PGresult *res = NULL;
	int ok;

	auth_hash(session, id);
	snprintf(ttl, sizeof(ttl), "%ld", a->cfg->web.session_ttl);
	ok = pool_exec(a->pool, c, "BEGIN", 0, NULL, NULL) == DB_OK &&
	    pool_exec(a->pool, c, "UPDATE beacon.web_users SET failed_logins = 0,"
		" locked_until = NULL, last_login = now() WHERE id = $1::bigint", 1, vu,
		&res) == DB_OK;
	if (ok && auth_is_secret(oldc)) {
		auth_hash(oldc, old);
		PQclear(res);
		ok = pool_exec(a->pool, c, "DELETE FROM beacon.web_sessions WHERE id = $1::bytea",
		    1, vo, &res) == DB_OK;
	}
	if (ok) {
		PQclear(res);
		ok = pool_exec(a->pool, c, "INSERT INTO beacon.web_sessions"
		    " (id, user_id, csrf, expires_at, last_seen, ip) VALUES ($1::bytea, $2::bigint,"
		    " $3, now() + make_interval(secs => $4::float8), now(), $5::inet)", 5, vs,
		    &res) == DB_OK;
	}
	if (ok) {
		PQclear(res);
		ok = pool_exec(a->pool, c, "COMMIT", 0, NULL, &res) == DB_OK;
	}
	if (!ok)
		db_ok(c, res, "starting a session");
	PQclear(res);
	return ok ? 0 : -1;
}

/* auth_refuse - a refused sign-in: the one write of a refusal (the failure counted when
 * ID is a user's whose password was wrong, "0": a statement that changes nothing), the
 * attempt ended as a failure, logged, the form again with a message */
static int auth_refuse(struct auth *a, struct web_req *r, const char *name, const char *id,
    const char *why)
{
	char shown[AUTH_NAME_MAX + 1];
	PGconn *c = pool_get(a->pool, POOL_WAIT_MS);

	if (c)
		auth_failed(a, c, id);
	else
		log_warnx("POST /login: no database session free to count a failure ip=%s",
		    r->client_ip);
	pool_put(a->pool, c);
	throttle_end(a->rate, r->client_ip, 1);
	auth_log_name(name, shown);
	log_info("login failed user=%s ip=%s reason=%s", *shown ? shown : "-", r->client_ip, why);
	return page_login(r, AUTH_REFUSED);
}

/* auth_busy - no database session or password check to be had: 503, the attempt not
 * counted as a failure */
static int auth_busy(struct auth *a, struct web_req *r, const char *what)
{
	throttle_end(a->rate, r->client_ip, 0);
	log_warnx("POST /login: %s ip=%s", what, r->client_ip);
	return web_error(r, 503, "the server is busy or the database unreachable; try again");
}

/* auth_account - what the sign-in reads of a user: copied, so that the database
 * session goes back before the password check */
struct auth_account {
	int found;				/* the name is a user's */
	char id[32];				/* beacon.web_users.id */
	struct web_user user;			/* id, name, admin */
	int active, locked;			/* may sign in at all? */
	char hash[crypto_pwhash_STRBYTES];	/* the password's hash ("": none usable) */
};

/* auth_read - user NAME into *ACC on a pooled session given back at once: 0, -1 */
static int auth_read(struct auth *a, const char *name, struct auth_account *acc)
{
	static const char sql[] =
	    "SELECT id, name, admin, active, password, coalesce(locked_until > now(), false)"
	    " FROM beacon.web_users WHERE name = $1";
	const char *v[1] = { name };
	PGresult *res;
	PGconn *c;
	int rc = -1;

	memset(acc, 0, sizeof(*acc));
	if (!(c = pool_get(a->pool, POOL_WAIT_MS)))
		return -1;
	/* the link lost before this first statement: once more on a new session */
	if (pool_exec(a->pool, c, sql, 1, v, &res) != DB_OK && pool_lost(c) &&
	    (c = pool_renew(a->pool, c, POOL_WAIT_MS)) != NULL) {
		PQclear(res);
		pool_exec(a->pool, c, sql, 1, v, &res);
	}
	if (c && db_ok(c, res, "looking up a user")) {
		rc = 0;
		if ((acc->found = PQntuples(res) == 1)) {
			auth_user(res, &acc->user);
			snprintf(acc->id, sizeof(acc->id), "%s", PQgetvalue(res, 0, 0));
			acc->active = !strcmp(PQgetvalue(res, 0, 3), "t");
			acc->locked = !strcmp(PQgetvalue(res, 0, 5), "t");
			if (strlen(PQgetvalue(res, 0, 4)) < sizeof(acc->hash))
				snprintf(acc->hash, sizeof(acc->hash), "%s", PQgetvalue(res, 0, 4));
		}
	}
	PQclear(res);
	pool_put(a->pool, c);
	return rc;
}

/* auth_login - POST /login */
int auth_login(struct auth *a, struct web_req *r)
{
	const char *form = web_cookie(r, RESPOND_LOGIN), *pw = web_form(r, "password");
	const char *next = web_form(r, "next"), *why;
	char name[AUTH_NAME_MAX + 1], shown[AUTH_NAME_MAX + 1];
	char session[AUTH_SECRET_LEN + 1], csrf[AUTH_SECRET_LEN + 1];
	struct auth_account acc;
	PGconn *c;
	int ok;

	auth_name(web_form(r, "user"), name);
	auth_log_name(name, shown);
	if (!auth_is_secret(form) || !web_csrf_ok(r, form)) {
		log_info("login failed user=%s ip=%s reason=csrf", *shown ? shown : "-",
		    r->client_ip);
		return web_error(r, 403, "the sign-in form has expired: reload it and try again");
	}
	web_set_csrf(r, form);
	if (!throttle_begin(a->rate, r->client_ip)) {
		log_info("login failed user=%s ip=%s reason=rate-limit", *shown ? shown : "-",
		    r->client_ip);
		return web_error(r, 429, "too many failed sign-ins from your address: wait a few "
		    "minutes");
	}
	if (auth_read(a, name, &acc) < 0)
		return auth_busy(a, r, "no database session to read the user");
	/* the same work whether the user exists or not */
	ok = auth_verify(a, acc.found && acc.hash[0] ? acc.hash : a->dummy, pw ? pw : "");
	sodium_memzero(acc.hash, sizeof(acc.hash));
	if (ok < 0)
		return auth_busy(a, r, "no password check could start within 5 s");
	why = !acc.found ? "unknown-user" : !acc.active ? "disabled" : acc.locked ? "locked" :
	    !ok ? "bad-password" : NULL;
	if (why)
		return auth_refuse(a, r, name, !strcmp(why, "bad-password") ? acc.id : "0", why);
	auth_random(session);
	auth_random(csrf);
	ok = (c = pool_get(a->pool, POOL_WAIT_MS)) != NULL &&
	    auth_start(a, c, r, acc.id, session, csrf) == 0;
	pool_put(a->pool, c);
	sodium_memzero(csrf, sizeof(csrf));
	if (!ok) {
		sodium_memzero(session, sizeof(session));
		return auth_busy(a, r, "no database session to start the session");
	}
	throttle_end(a->rate, r->client_ip, 0);
	web_set_cookie(r, RESPOND_SESSION, session, -1);
	web_set_cookie(r, RESPOND_LOGIN, "", 0);
	sodium_memzero(session, sizeof(session));
	web_set_user(r, &acc.user);
	log_info("login ok user=%s ip=%s", shown, r->client_ip);
	return web_redirect(r, next && form_local_path(next) && strncmp(next, "/login", 6) ?
	    next : "/");
}

/* auth_logout - the session's row deleted, its cookie too */
int auth_logout(struct auth *a, struct web_req *r)
{
	const char *cookie = web_cookie(r, RESPOND_SESSION), *v[1];
	char id[AUTH_HASH_HEX];
	PGresult *res;
	PGconn *c;

	if (!(c = pool_get(a->pool, POOL_WAIT_MS))) {
		log_warnx("POST /logout: 503: no database session free within 5 s user=%s ip=%s",
		    r->user ? r->user->name : "-", r->client_ip);
		return web_error(r, 503, "the database is busy or unreachable; try again");
	}
	auth_hash(cookie ? cookie : "", id);
	v[0] = id;
	if (pool_exec(a->pool, c, "DELETE FROM beacon.web_sessions WHERE id = $1::bytea", 1, v,
	    &res) != DB_OK) {
		db_ok(c, res, "ending a session");
		PQclear(res);
		pool_put(a->pool, c);
		return web_error(r, 503, "the database is unreachable; try again");
	}
	PQclear(res);
	pool_put(a->pool, c);
	web_set_cookie(r, RESPOND_SESSION, "", 0);
	log_info("logout user=%s ip=%s", r->user ? r->user->name : "-", r->client_ip);
	return web_redirect(r, "/login");
}
