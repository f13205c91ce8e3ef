/*
 * NAME
 *	web.c - beaconctl web: beacon-web's sender accounts and API tokens
 *
 * SYNOPSIS
 *	beaconctl web user add NAME [--admin] [--scope S]... [--password-file FILE|-]
 *	beaconctl web user passwd NAME [--password-file FILE|-]
 *	beaconctl web user list [--csv | --json]
 *	beaconctl web user remove|disable|enable|unlock NAME
 *	beaconctl web token add NAME --name LABEL [--expires DAYS]
 *	beaconctl web token list [NAME] [--csv | --json]
 *	beaconctl web token revoke ID-PREFIX
 *
 * DESCRIPTION
 *	Edits beacon.web_users, web_scopes, web_sessions and web_tokens
 *	(sql/schema/014_web.sql).  NAME, what the user types at login, and
 *	each scope S are an address (user@example.org), a domain
 *	(@example.org), both stored in the one form beacon-milter stores as
 *	messages.sender_key (address.h), or sasl:LOGIN (the SASL login as
 *	given).  add gives the user the scope NAME and each --scope;
 *	--admin sees every sender.
 *
 *	The password comes from --password-file (its first line; - for
 *	standard input), else from standard input when it is not a
 *	terminal, else from the terminal, asked twice with echo off.  It
 *	has at least WEB_PASSWORD_MIN characters; it is stored as
 *	crypto_pwhash_str (Argon2id, libsodium's interactive limits), never
 *	as itself.  passwd also clears a lockout and ends the user's
 *	sessions; disable ends them too (a disabled user neither signs in
 *	nor sees anything); unlock clears the lockout of failed logins.
 *
 *	token add draws 32 random bytes and prints the bearer token, "bw_"
 *	and their base64url (43 characters), once: the database keeps its
 *	SHA-256 only (of the whole token, "bw_" included), whose first 16
 *	hex digits are the token's ID in list and revoke.  --expires DAYS:
 *	refused after that many days; without it the token does not expire.
 *
 *	Exit status 1 for an unknown NAME or token, a NAME that exists
 *	already, or an ID-PREFIX that names several tokens (they are
 *	listed); EX_DATAERR for a password refused; the rest as every
 *	beaconctl command (ctl.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "address.h"
#include "ctl.h"
#include "output.h"

#define WEB_NOT_FOUND 1			/* exit status: unknown, existing or ambiguous */
#define WEB_PASSWORD_MIN 12		/* characters in a password, at least */
#define WEB_PASSWORD_MAX 1024		/* bytes in a password, at most */
#define WEB_SCOPES_MAX 64		/* --scope options in one add */
#define WEB_LOGIN_MAX 255		/* bytes of a SASL login */
#define WEB_TOKEN_BYTES 32		/* random bytes in a bearer token */
#define WEB_TOKEN_PREFIX "bw_"		/* what every bearer token starts with */
#define WEB_ID_HEX 16			/* hex digits of a token's ID shown */
#define WEB_LABEL_MAX 200		/* bytes of a token's --name */
#define WEB_STR_(x) #x
#define WEB_STR(x) WEB_STR_(x)		/* a number as a string literal */

/* web_opts - the options of one web run */
struct web_opts {
	int admin;			/* --admin */
	const char *scopes[WEB_SCOPES_MAX];	/* --scope, as given */
	int nscopes;			/* how many */
	const char *password_file;	/* --password-file */
	const char *label;		/* --name */
	const char *expires;		/* --expires */
	enum out_format fmt;		/* --csv, --json */
	int nfmt;			/* how many of --csv, --json */
};

/* web_name - NAME (address, @domain or sasl:LOGIN) in its stored form into OUT;
 * NULL, or why it has none */
static const char *web_name(const char *name, char *out, size_t outlen)
{
	if (strncasecmp(name, "sasl:", 5) == 0) {
		const char *login = name + 5;
		size_t n = strlen(login);

		if (n == 0)
			return "sasl: needs a login after it";
		if (n > WEB_LOGIN_MAX)
			return "the SASL login is too long";
		for (const unsigned char *s = (const unsigned char *)login; *s; s++)
			if (*s <= ' ' || *s == 0x7f)
				return "blanks and controls are not allowed in a SASL login";
		if (n + 6 > outlen)
			return "too long";
		snprintf(out, outlen, "sasl:%s", login);
		return NULL;
	}
	return ctl_pattern_norm(name, out, outlen);
}

/* web_chars - the characters (UTF-8 code points) of S */
static size_t web_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* web_line - the first line of FP into BUF (no line end); 0, 1 if it is longer than
 * the buffer allows, -1 on a read error or nothing at all */
static int web_line(FILE *fp, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, fp))
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == len - 1 && !feof(fp))
		return 1;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

/* web_prompt - ask for a password on the terminal (standard input) with echo off */
static int web_prompt(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int rc, echo_off;

	fputs(prompt, stderr);
	fflush(stderr);
	echo_off = tcgetattr(STDIN_FILENO, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	rc = web_line(stdin, buf, len);
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	return rc;
}

/* web_password - the new password of NAME (see the top) into BUF; exits on refusal */
static void web_password(struct ctl *c, const char *name, const char *file, char *buf,
			 size_t len)
{
	char again[WEB_PASSWORD_MAX + 2], prompt[300];
	const char *from = file ? file : "standard input";
	int rc;

	if (file && strcmp(file, "-") != 0) {
		FILE *fp = fopen(file, "r");
		if (!fp)
			ctl_die(c, EX_NOINPUT, "--password-file %s: %m", file);
		rc = web_line(fp, buf, len);
		fclose(fp);
	} else if (file || !isatty(STDIN_FILENO)) {
		rc = web_line(stdin, buf, len);
	} else {
		snprintf(prompt, sizeof(prompt), "password for %s: ", name);
		rc = web_prompt(prompt, buf, len);
		if (rc == 0) {
			rc = web_prompt("the same password again: ", again, sizeof(again));
			if (rc == 0 && strcmp(buf, again) != 0) {
				sodium_memzero(again, sizeof(again));
				sodium_memzero(buf, len);
				ctl_die(c, EX_DATAERR, "the two passwords differ; nothing changed");
			}
			sodium_memzero(again, sizeof(again));
		}
		from = "the terminal";
	}
	if (rc < 0) {
		sodium_memzero(buf, len);
		ctl_die(c, EX_DATAERR, "no password on %s", from);
	}
	if (rc > 0 || strlen(buf) > WEB_PASSWORD_MAX) {
		sodium_memzero(buf, len);
		ctl_die(c, EX_DATAERR, "the password on %s is longer than %d bytes", from,
			WEB_PASSWORD_MAX);
	}
	if (web_chars(buf) < WEB_PASSWORD_MIN) {
		sodium_memzero(buf, len);
		ctl_die(c, EX_DATAERR, "the password on %s has fewer than %d characters", from,
			WEB_PASSWORD_MIN);
	}
}

/* web_hash - PASSWORD (cleared then) as crypto_pwhash_str into HASH; exits on failure */
static void web_hash(struct ctl *c, char *password, size_t len,
		     char hash[crypto_pwhash_STRBYTES])
{
	int rc;

	if (sodium_init() < 0)
		ctl_die(c, EX_SOFTWARE, "libsodium cannot start");
	rc = crypto_pwhash_str(hash, password, strlen(password),
			       crypto_pwhash_OPSLIMIT_INTERACTIVE,
			       crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sodium_memzero(password, len);
	if (rc != 0)
		ctl_die(c, EX_OSERR, "cannot hash the password (out of memory)");
}

/* web_user_id - the id of web user NAME into ID, or exit 1; in the open session */
static void web_user_id(struct ctl *c, const char *name, char *id, size_t idlen)
{
	const char *params[1] = { name };
	PGresult *res = ctl_exec(c, "web", "SELECT id FROM beacon.web_users WHERE name = $1",
				 1, params);

	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_rollback(c);
		ctl_die(c, WEB_NOT_FOUND, "no web user %s", name);
	}
	snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* web_end_sessions - delete the sessions of user ID; how many */
static long long web_end_sessions(struct ctl *c, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = ctl_exec(c, "web", "WITH d AS (DELETE FROM beacon.web_sessions "
				 "WHERE user_id = $1::bigint RETURNING 1) "
				 "SELECT count(*) FROM d", 1, params);
	long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

	PQclear(res);
	return n;
}

/* web_user_add - user NAME with the scope NAME and SCOPES (stored forms) */
static int web_user_add(struct ctl *c, const char *name, char scopes[][ADDRESS_SIZE],
			int nscopes, const struct web_opts *o)
{
	char password[WEB_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES], id[24];
	const char *params[3] = { name };
	PGresult *res;

	/* before the password is asked for */
	ctl_connect(c);
	res = ctl_exec(c, "web user add", "SELECT 1 FROM beacon.web_users WHERE name = $1",
		       1, params);
	if (PQntuples(res) > 0) {
		PQclear(res);
		ctl_die(c, WEB_NOT_FOUND, "web user %s exists already", name);
	}
	PQclear(res);
	web_password(c, name, o->password_file, password, sizeof(password));
	web_hash(c, password, sizeof(password), hash);
	params[1] = hash;
	params[2] = o->admin ? "true" : "false";
	ctl_cmd(c, "web user add", "BEGIN", 0, NULL);
	res = ctl_exec(c, "web user add",
		       "INSERT INTO beacon.web_users (name, password, admin) "
		       "VALUES ($1, $2, $3::boolean) ON CONFLICT (name) DO NOTHING RETURNING id",
		       3, params);
	sodium_memzero(hash, sizeof(hash));
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_rollback(c);
		ctl_die(c, WEB_NOT_FOUND, "web user %s exists already", name);
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	params[0] = id;
	for (int i = -1; i < nscopes; i++) {
		params[1] = i < 0 ? name : scopes[i];
		ctl_cmd(c, "web user add", "INSERT INTO beacon.web_scopes (user_id, scope) "
			"VALUES ($1::bigint, $2) ON CONFLICT DO NOTHING", 2, params);
	}
	ctl_cmd(c, "web user add", "COMMIT", 0, NULL);
	printf("added web user %s (id %s%s), sees %s", name, id, o->admin ? ", admin" : "",
	       o->admin ? "every sender" : name);
	for (int i = 0; !o->admin && i < nscopes; i++)
		printf(" %s", scopes[i]);
	putchar('\n');
	return 0;
}

/* web_user_passwd - a new password for NAME; clears the lockout, ends the sessions */
static int web_user_passwd(struct ctl *c, const char *name, const struct web_opts *o)
{
	char password[WEB_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES], id[24];
	const char *params[2];
	long long ended;

	ctl_connect(c);
	web_user_id(c, name, id, sizeof(id));
	web_password(c, name, o->password_file, password, sizeof(password));
	web_hash(c, password, sizeof(password), hash);
	params[0] = id;
	params[1] = hash;
	ctl_cmd(c, "web user passwd", "BEGIN", 0, NULL);
	ctl_cmd(c, "web user passwd", "UPDATE beacon.web_users SET password = $2, "
		"failed_logins = 0, locked_until = NULL WHERE id = $1::bigint", 2, params);
	sodium_memzero(hash, sizeof(hash));
	ended = web_end_sessions(c, id);
	ctl_cmd(c, "web user passwd", "COMMIT", 0, NULL);
	printf("new password for web user %s; %lld session%s ended\n", name, ended,
	       ended == 1 ? "" : "s");
	return 0;
}

/* web_user_set - remove, disable, enable or unlock user NAME */
static int web_user_set(struct ctl *c, const char *verb, const char *name)
{
	const char *params[1] = { name };
	const char *sql =
		strcmp(verb, "remove") == 0 ?
		"DELETE FROM beacon.web_users WHERE name = $1 RETURNING id" :
		strcmp(verb, "disable") == 0 ?
		"UPDATE beacon.web_users SET active = false WHERE name = $1 RETURNING id" :
		strcmp(verb, "enable") == 0 ?
		"UPDATE beacon.web_users SET active = true WHERE name = $1 RETURNING id" :
		"UPDATE beacon.web_users SET failed_logins = 0, locked_until = NULL "
		"WHERE name = $1 RETURNING id";
	long long ended = 0;
	PGresult *res;
	char id[24];

	ctl_connect(c);
	ctl_cmd(c, "web user", "BEGIN", 0, NULL);
	res = ctl_exec(c, "web user", sql, 1, params);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_rollback(c);
		ctl_die(c, WEB_NOT_FOUND, "no web user %s", name);
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (strcmp(verb, "disable") == 0)
		ended = web_end_sessions(c, id);
	ctl_cmd(c, "web user", "COMMIT", 0, NULL);
	if (strcmp(verb, "remove") == 0)
		printf("removed web user %s, with its sessions and tokens\n", name);
	else if (strcmp(verb, "disable") == 0)
		printf("disabled web user %s; %lld session%s ended\n", name, ended,
		       ended == 1 ? "" : "s");
	else
		printf("%s web user %s\n", strcmp(verb, "enable") == 0 ? "enabled" : "unlocked",
		       name);
	return 0;
}

/* web_user_list - every user with its scopes, sessions and tokens */
static int web_user_list(struct ctl *c, enum out_format fmt)
{
	ctl_connect(c);
	return ctl_print_result(c, ctl_exec(c, "web user list",
		"SELECT u.id, u.name, u.admin, u.active, "
		"(SELECT string_agg(s.scope, ' ' ORDER BY s.scope) FROM beacon.web_scopes s "
		" WHERE s.user_id = u.id) AS scopes, "
		"to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at, "
		"to_char(u.last_login, 'YYYY-MM-DD HH24:MI:SS') AS last_login, "
		"u.failed_logins, "
		"CASE WHEN u.locked_until > now() "
		" THEN to_char(u.locked_until, 'YYYY-MM-DD HH24:MI:SS') END AS locked_until, "
		"(SELECT count(*) FROM beacon.web_sessions x "
		" WHERE x.user_id = u.id AND x.expires_at > now()) AS sessions, "
		"(SELECT count(*) FROM beacon.web_tokens t WHERE t.user_id = u.id) AS tokens "
		"FROM beacon.web_users u ORDER BY u.name", 0, NULL), fmt);
}

/* web_token_add - a bearer token for user NAME, printed once */
static int web_token_add(struct ctl *c, const char *name, const struct web_opts *o)
{
	unsigned char raw[WEB_TOKEN_BYTES], sum[crypto_hash_sha256_BYTES];
	char token[sizeof(WEB_TOKEN_PREFIX) - 1 +
		   sodium_base64_ENCODED_LEN(WEB_TOKEN_BYTES,
					     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char hex[2 + 2 * crypto_hash_sha256_BYTES + 1];
	const char *params[4];
	PGresult *res;

	if (sodium_init() < 0)
		ctl_die(c, EX_SOFTWARE, "libsodium cannot start");
	randombytes_buf(raw, sizeof(raw));
	memcpy(token, WEB_TOKEN_PREFIX, sizeof(WEB_TOKEN_PREFIX) - 1);
	sodium_bin2base64(token + sizeof(WEB_TOKEN_PREFIX) - 1,
			  sizeof(token) - (sizeof(WEB_TOKEN_PREFIX) - 1), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	crypto_hash_sha256(sum, (const unsigned char *)token, strlen(token));
	memcpy(hex, "\\x", 2);
	sodium_bin2hex(hex + 2, sizeof(hex) - 2, sum, sizeof(sum));
	params[0] = name;
	params[1] = hex;
	params[2] = o->label;
	params[3] = o->expires;
	ctl_connect(c);
	res = ctl_exec(c, "web token add",
		       "INSERT INTO beacon.web_tokens (id, user_id, name, expires_at) "
		       "SELECT $2::bytea, u.id, $3, "
		       "now() + make_interval(days => $4::int) "
		       "FROM beacon.web_users u WHERE u.name = $1 "
		       "RETURNING to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS')", 4, params);
	if (PQntuples(res) == 0) {
		PQclear(res);
		sodium_memzero(token, sizeof(token));
		ctl_die(c, WEB_NOT_FOUND, "no web user %s", name);
	}
	printf("id %.*s\ntoken %s\nexpires %s\n", WEB_ID_HEX, hex + 2, token,
	       PQgetisnull(res, 0, 0) ? "never" : PQgetvalue(res, 0, 0));
	PQclear(res);
	sodium_memzero(token, sizeof(token));
	return 0;
}

/* web_token_list - the tokens, of user NAME when given (exit 1 if there is none) */
static int web_token_list(struct ctl *c, const char *name, enum out_format fmt)
{
	const char *params[1] = { name };
	char id[24];

	ctl_connect(c);
	if (name)
		web_user_id(c, name, id, sizeof(id));
	return ctl_print_result(c, ctl_exec(c, "web token list",
		"SELECT left(encode(t.id, 'hex'), " WEB_STR(WEB_ID_HEX) ") AS id, "
		"u.name AS user, t.name, "
		"to_char(t.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at, "
		"to_char(t.last_used, 'YYYY-MM-DD HH24:MI:SS') AS last_used, "
		"to_char(t.expires_at, 'YYYY-MM-DD HH24:MI:SS') AS expires_at, "
		"coalesce(t.expires_at <= now(), false) AS expired "
		"FROM beacon.web_tokens t JOIN beacon.web_users u ON u.id = t.user_id "
		"WHERE $1::text IS NULL OR u.name = $1 "
		"ORDER BY u.name, t.created_at, t.id", 1, params), fmt);
}

/* web_token_revoke - delete the one token whose ID starts with PREFIX */
static int web_token_revoke(struct ctl *c, const char *prefix)
{
	const char *params[1] = { prefix };
	PGresult *res;
	int n;

	ctl_connect(c);
	ctl_cmd(c, "web token revoke", "BEGIN", 0, NULL);
	res = ctl_exec(c, "web token revoke",
		       "SELECT left(encode(t.id, 'hex'), " WEB_STR(WEB_ID_HEX) "), u.name, t.name "
		       "FROM beacon.web_tokens t JOIN beacon.web_users u ON u.id = t.user_id "
		       "WHERE encode(t.id, 'hex') LIKE $1 || '%' ORDER BY 1 FOR UPDATE OF t",
		       1, params);
	n = PQntuples(res);
	if (n != 1) {
		if (n == 0) {
			PQclear(res);
			ctl_rollback(c);
			ctl_die(c, WEB_NOT_FOUND, "no web token %s", prefix);
		}
		fprintf(stderr, "beaconctl: error: '%s' names %d tokens; give more of the ID:\n",
			prefix, n);
		for (int i = 0; i < n; i++)
			fprintf(stderr, "  %s  %s  %s\n", PQgetvalue(res, i, 0),
				PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		PQclear(res);
		ctl_rollback(c);
		ctl_exit(c, WEB_NOT_FOUND);
	}
	printf("revoked web token %s (%s of %s)\n", PQgetvalue(res, 0, 0),
	       PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1));
	PQclear(res);
	ctl_cmd(c, "web token revoke", "DELETE FROM beacon.web_tokens "
		"WHERE encode(id, 'hex') LIKE $1 || '%'", 1, params);
	ctl_cmd(c, "web token revoke", "COMMIT", 0, NULL);
	return 0;
}

/* web_want - exit with a usage error unless MIN to MAX arguments follow VERB */
static void web_want(struct ctl *c, const char *verb, int left, int min, int max,
		     const char *what)
{
	if (left < min)
		ctl_usage_error(c, "%s needs %s", verb, what);
	if (left > max)
		ctl_usage_error(c, "%s: too many arguments", verb);
}

/* web_only - exit with a usage error if option OPT (given) goes with none of VERBS */
static void web_only(struct ctl *c, int given, const char *opt, const char *verb,
		     const char *verbs)
{
	size_t n = strlen(verb);

	if (!given)
		return;
	for (const char *p = verbs; *p; p += strlen(p) + 1)
		if (strlen(p) == n && strcmp(p, verb) == 0)
			return;
	ctl_usage_error(c, "%s does not go with %s", opt, verb);
}

/* web_user - the user verbs */
static int web_user(struct ctl *c, const char *verb, int left, char **args,
		    const struct web_opts *o)
{
	static char scopes[WEB_SCOPES_MAX][ADDRESS_SIZE];
	char name[ADDRESS_SIZE];
	const char *why;

	web_only(c, o->admin || o->nscopes, "--admin and --scope", verb, "add\0");
	web_only(c, o->password_file != NULL, "--password-file", verb, "add\0passwd\0");
	web_only(c, o->nfmt, "--csv and --json", verb, "list\0");
	web_only(c, o->label || o->expires, "--name and --expires", verb, "");
	if (strcmp(verb, "list") == 0) {
		web_want(c, verb, left, 0, 0, "");
		return web_user_list(c, o->fmt);
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "passwd") != 0 &&
	    strcmp(verb, "remove") != 0 && strcmp(verb, "disable") != 0 &&
	    strcmp(verb, "enable") != 0 && strcmp(verb, "unlock") != 0)
		ctl_usage_error(c, "unknown action 'user %s'", verb);
	web_want(c, verb, left, 1, 1, "a NAME (address, @domain or sasl:LOGIN)");
	if ((why = web_name(args[0], name, sizeof(name))) != NULL)
		ctl_usage_error(c, "'%s': %s", args[0], why);
	if (strcmp(verb, "add") == 0) {
		for (int i = 0; i < o->nscopes; i++)
			if ((why = web_name(o->scopes[i], scopes[i], sizeof(scopes[i]))) != NULL)
				ctl_usage_error(c, "--scope '%s': %s", o->scopes[i], why);
		return web_user_add(c, name, scopes, o->nscopes, o);
	}
	if (strcmp(verb, "passwd") == 0)
		return web_user_passwd(c, name, o);
	return web_user_set(c, verb, name);
}

/* web_token - the token verbs */
static int web_token(struct ctl *c, const char *verb, int left, char **args,
		     const struct web_opts *o)
{
	char name[ADDRESS_SIZE];
	const char *why;

	web_only(c, o->admin || o->nscopes || o->password_file,
		 "--admin, --scope and --password-file", verb, "");
	web_only(c, o->label || o->expires, "--name and --expires", verb, "add\0");
	web_only(c, o->nfmt, "--csv and --json", verb, "list\0");
	if (strcmp(verb, "revoke") == 0) {
		size_t n;

		web_want(c, verb, left, 1, 1, "a token ID (or the start of one)");
		n = strlen(args[0]);
		if (n < 6 || n > 64 || strspn(args[0], "0123456789abcdefABCDEF") != n)
			ctl_usage_error(c, "'%s': expected 6 to 64 hex digits of a token ID",
					args[0]);
		for (char *p = args[0]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return web_token_revoke(c, args[0]);
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0)
		ctl_usage_error(c, "unknown action 'token %s'", verb);
	web_want(c, verb, left, strcmp(verb, "add") == 0, 1,
		 "a NAME (address, @domain or sasl:LOGIN)");
	if (left && (why = web_name(args[0], name, sizeof(name))) != NULL)
		ctl_usage_error(c, "'%s': %s", args[0], why);
	if (strcmp(verb, "list") == 0)
		return web_token_list(c, left ? name : NULL, o->fmt);
	if (!o->label)
		ctl_usage_error(c, "token add needs --name LABEL");
	return web_token_add(c, name, o);
}

/* ctl_web - user add|passwd|list|remove|disable|enable|unlock, token add|list|revoke */
int ctl_web(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "admin", no_argument, NULL, 'a' },
		{ "scope", required_argument, NULL, 's' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "expires", required_argument, NULL, 'e' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct web_opts o = { .fmt = OUT_TABLE };
	const char *noun, *verb;
	long days;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.admin = 1; break;
		case 's':
			if (o.nscopes == WEB_SCOPES_MAX)
				ctl_usage_error(c, "more than %d --scope", WEB_SCOPES_MAX);
			o.scopes[o.nscopes++] = optarg;
			break;
		case 'p':
			if (!*optarg)
				ctl_usage_error(c, "--password-file: empty FILE");
			o.password_file = optarg;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > WEB_LABEL_MAX)
				ctl_usage_error(c, "--name: expected 1 to %d bytes", WEB_LABEL_MAX);
			for (const unsigned char *s = (const unsigned char *)optarg; *s; s++)
				if (*s < ' ' || *s == 0x7f)
					ctl_usage_error(c, "--name: controls are not allowed");
			o.label = optarg;
			break;
		case 'e':
			if (ctl_parse_long(optarg, 1, 3650, &days) < 0)
				ctl_usage_error(c, "--expires '%s': expected 1 to 3650 days", optarg);
			o.expires = optarg;
			break;
		case 'C': o.fmt = OUT_CSV; o.nfmt++; break;
		case 'J': o.fmt = OUT_JSON; o.nfmt++; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (o.nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");
	if (argc - optind < 2)
		ctl_usage_error(c, "expected user or token and an action");
	noun = argv[optind];
	verb = argv[optind + 1];
	optind += 2;
	if (strcmp(noun, "user") == 0)
		return web_user(c, verb, argc - optind, argv + optind, &o);
	if (strcmp(noun, "token") == 0)
		return web_token(c, verb, argc - optind, argv + optind, &o);
	ctl_usage_error(c, "expected user or token, not '%s'", noun);
}
