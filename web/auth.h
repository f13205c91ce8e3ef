/*
 * NAME
 *	auth.h - who a request is: sign-in, sessions, API tokens, sign-out
 *
 * DESCRIPTION
 *	Passwords are libsodium crypto_pwhash_str hashes (Argon2id) in
 *	beacon.web_users; a user name that does not exist is checked
 *	against a dummy hash, and every refusal writes once, so that a
 *	refusal costs the same work whether the user exists or not.
 *
 *	A session is 32 random bytes, base64url, in the cookie
 *	__Host-beacon_session (HttpOnly; Secure; SameSite=Strict; Path=/);
 *	the database keeps only its SHA-256 (beacon.web_sessions.id), with the
 *	session's CSRF token (32 random bytes, base64url) that every POST
 *	must carry in its csrf field.  Each sign-in makes a new session
 *	(the one the request carried, if any, is deleted: no fixation); a
 *	session ends at sign-out (its row deleted), session_ttl after
 *	sign-in, or session_idle after its last request.
 *
 *	The sign-in form is protected by a pre-session cookie
 *	__Host-beacon_login (random) that the form echoes in its csrf field.  Refusals: a
 *	client address (an IPv6 /64) whose failed sign-ins in 10 minutes and
 *	sign-ins being checked reach login_rate gets 429 before any work
 *	(throttle.h); a user with login_attempts failures in a row
 *	is locked for login_lockout (beacon.web_users.locked_until; a
 *	correct password is refused meanwhile).  Every attempt is logged:
 *	"login ok user=... ip=..." or "login failed user=... ip=...
 *	reason=..." (unknown-user, bad-password, locked, disabled,
 *	rate-limit, csrf); never the password.
 *
 *	API tokens: "Authorization: Bearer bw_..." whose SHA-256 is a live
 *	row of beacon.web_tokens of an active user.
 */
#ifndef BEACON_WEB_AUTH_H
#define BEACON_WEB_AUTH_H

#include <libpq-fe.h>

#include "cfg.h"
#include "web.h"

#define AUTH_SECRET_LEN 43	/* base64url of 32 random bytes, no padding */

struct auth;
struct pool;

/* auth_new - the sign-in state (dummy hash, rate limit table) */
struct auth *auth_new(const struct beacon_cfg *cfg, struct pool *pool);
/* auth_free - release it */
void auth_free(struct auth *a);
/* auth_session - the user of session cookie COOKIE on session C (its last request
 * noted): 1 with *U and CSRF filled, 0 when it is no live session, -1 on a database error */
int auth_session(struct auth *a, PGconn *c, const char *cookie, struct web_user *u,
    char csrf[AUTH_SECRET_LEN + 1]);
/* auth_bearer - the user of API token TOKEN on C: 1 with *U, 0 none, -1 database error */
int auth_bearer(struct auth *a, PGconn *c, const char *token, struct web_user *u);
/* auth_login_form - GET /login: the pre-session cookie and the form */
int auth_login_form(struct auth *a, struct web_req *r);
/* auth_login - POST /login: check, sign in, 303 to next (a local path) or / */
int auth_login(struct auth *a, struct web_req *r);
/* auth_logout - POST /logout (signed in, CSRF checked): delete the session, 303 to /login */
int auth_logout(struct auth *a, struct web_req *r);
/* auth_random - 32 random bytes as base64url (AUTH_SECRET_LEN characters) into OUT */
void auth_random(char out[AUTH_SECRET_LEN + 1]);

#endif
