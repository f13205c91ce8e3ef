/*
 * NAME
 *	notify.c - beaconctl notify: where a sender's notifications go, mute and pin
 *
 * SYNOPSIS
 *	beaconctl notify add SENDER|@DOMAIN KIND [URL] [--secret HEX | --secret-file FILE|-]
 *		[--only-tagged] [--allow-http]
 *	beaconctl notify list [SENDER|@DOMAIN] [--csv | --json]
 *	beaconctl notify remove|enable|disable ID
 *	beaconctl notify mute|unmute|pin|unpin MESSAGE [--sender SENDER|@DOMAIN]
 *	beaconctl notify list-messages [--sender SENDER|@DOMAIN] [--limit N] [--csv | --json]
 *	beaconctl notify log [--message MESSAGE] [--limit N] [--csv | --json]
 *
 * DESCRIPTION
 *	Edits beacon.notify_destinations (sql/schema/013_notify.sql), which
 *	beacon-notify delivers to, and the muted and pinned flags of
 *	beacon.messages.  SENDER is stored in the one form beacon-milter
 *	stores as messages.sender_key (address.h), '@domain' for every sender
 *	of a domain.  KIND is webhook, slack, mattermost (URL an https URL,
 *	or http with --allow-http) or mail (URL an address, by default
 *	SENDER itself).  add draws a secret of 32 random bytes unless
 *	--secret (seen by ps) or --secret-file (a file, or - for standard
 *	input) gives one, and prints the destination's id and its secret:
 *	the only time the secret is shown.  --only-tagged: only messages
 *	tagged notify=yes notify, not every message of the sender.  The same
 *	SENDER, KIND and URL twice is an error (exit 1).
 *
 *	MESSAGE is a message's id (uuid) or its Message-ID, with or without
 *	the angle brackets; --sender keeps the messages of that sender (or
 *	domain).  A Message-ID that names several messages is an error
 *	(exit 1, they are listed), as is an unknown MESSAGE or ID; nothing
 *	changes.  mute also drops, at once, the deliveries of the message
 *	still pending.  unmute and unpin of a message sent more than
 *	[notify] notify_days ago and not pinned take its tokens out of
 *	notify_tokens again (beacon.notify_expire), as beaconctl maintain
 *	does every day.
 *
 *	list-messages: the messages that notify, pinned first, then the
 *	newest.  log: the deliveries, newest job first, with their state,
 *	attempts, last status and latency.
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

#include "address.h"
#include "ctl.h"
#include "output.h"
#include "token.h"

#define NOTIFY_NOT_FOUND 1		/* exit status for an unknown ID or MESSAGE */
#define NOTIFY_SECRET_BYTES 32		/* what add draws */
#define NOTIFY_URL_MAX 2048		/* longest URL accepted */
#define NOTIFY_SECRET_HEX_MAX 128	/* most hex digits a given secret may have */

/* notify_opts - the options of one notify run */
struct notify_opts {
	const char *secret;		/* --secret or --secret-file, lower-cased */
	const char *secret_file;	/* --secret-file, - for standard input */
	int allow_http;			/* --allow-http */
	const char *sender;		/* --sender, normalised */
	const char *message;		/* --message */
	const char *limit;		/* --limit */
	int only_tagged;		/* --only-tagged */
	enum out_format fmt;		/* --csv, --json */
	int nfmt;			/* how many of --csv, --json */
};

/* notify_url_ok - is URL an https URL (or http when ALLOW_HTTP) without blanks or
 * controls? */
static int notify_url_ok(const char *url, int allow_http)
{
	size_t skip;

	if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else if (allow_http && strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (strlen(url) > NOTIFY_URL_MAX || !url[skip] || url[skip] == '/')
		return 0;
	for (const unsigned char *s = (const unsigned char *)url; *s; s++)
		if (*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* notify_secret_ok - HEX: 32 to 128 hex digits, an even number; lower-cased into OUT */
static int notify_secret_ok(const char *hex, char *out, size_t outlen)
{
	size_t n = strlen(hex);

	if (n < 32 || n > 128 || n % 2 || n >= outlen)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && !isxdigit((unsigned char)hex[i]))
			return 0;
		out[i] = (char)tolower((unsigned char)hex[i]);
	}
	return 1;
}

/* notify_secret_read - the secret in FILE (- for standard input), one line of hex,
 * lower-cased into OUT; exits with a usage or I/O error */
static void notify_secret_read(struct ctl *c, const char *file, char *out, size_t outlen)
{
	char buf[NOTIFY_SECRET_HEX_MAX + 8];
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	size_t n;
	int more;

	if (!f)
		ctl_die(c, EX_NOINPUT, "--secret-file %s: %m", file);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	more = n == sizeof(buf) - 1 && fgetc(f) != EOF;
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		ctl_die(c, EX_IOERR, "--secret-file %s: read error", file);
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (more || !notify_secret_ok(buf, out, outlen)) {
		sodium_memzero(buf, sizeof(buf));
		ctl_usage_error(c, "--secret-file %s: expected one line of 32 to 128 hex digits "
				"(an even number)", file);
	}
	sodium_memzero(buf, sizeof(buf));
}

/* notify_add - a destination for SENDER; prints its id and secret */
static int notify_add(struct ctl *c, const char *sender, const char *kind, const char *url,
		      const struct notify_opts *o)
{
	unsigned char raw[NOTIFY_SECRET_BYTES];
	char hex[2 * NOTIFY_SECRET_BYTES + 1];
	const char *params[5];
	PGresult *res;

	if (!o->secret) {
		if (sodium_init() < 0)
			ctl_die(c, EX_SOFTWARE, "libsodium cannot start");
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		sodium_memzero(raw, sizeof(raw));
	}
	params[0] = sender;
	params[1] = kind;
	params[2] = url;
	params[3] = o->secret ? o->secret : hex;
	params[4] = o->only_tagged ? "false" : "true";
	ctl_connect(c);
	res = ctl_exec(c, "notify add",
		       "WITH i AS (INSERT INTO beacon.notify_destinations (sender, kind, url, "
		       "secret, every_message) VALUES ($1, $2, $3, $4, $5::boolean) "
		       "ON CONFLICT (sender, kind, url) DO NOTHING RETURNING id) "
		       "SELECT id, true FROM i UNION ALL "
		       "SELECT id, false FROM beacon.notify_destinations "
		       "WHERE sender = $1 AND kind = $2 AND url = $3", 5, params);
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		char id[24];

		snprintf(id, sizeof(id), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
		PQclear(res);
		sodium_memzero(hex, sizeof(hex));
		ctl_die(c, NOTIFY_NOT_FOUND, "%s has a %s destination %s already: destination %s",
			sender, kind, url, id);
	}
	printf("id %s\nsecret %s\n", PQgetvalue(res, 0, 0), params[3]);
	PQclear(res);
	sodium_memzero(hex, sizeof(hex));
	return 0;
}

/* notify_list - the destinations, of SENDER (and its domain) when given */
static int notify_list(struct ctl *c, const char *sender, enum out_format fmt)
{
	const char *params[1] = { sender };

	ctl_connect(c);
	return ctl_print_result(c, ctl_exec(c, "notify list",
		"SELECT d.id, d.sender, d.kind, d.url, "
		"CASE WHEN d.every_message THEN 'every' ELSE 'tagged' END AS messages, "
		"d.active, "
		"(SELECT count(*) FROM beacon.notify_deliveries x "
		" WHERE x.destination = d.id AND x.state = 'pending') AS pending, "
		"(SELECT count(*) FROM beacon.notify_deliveries x "
		" WHERE x.destination = d.id AND x.state = 'failed') AS failed, "
		"to_char(d.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at "
		"FROM beacon.notify_destinations d "
		"WHERE $1::text IS NULL OR d.sender IN ($1, regexp_replace($1, '^.*@', '@')) "
		"ORDER BY d.sender, d.id", 1, params), fmt);
}

/* notify_destination - remove, enable or disable destination ID; exit 1 if none */
static int notify_destination(struct ctl *c, const char *verb, const char *id)
{
	const char *params[1] = { id };
	const char *sql = strcmp(verb, "remove") == 0 ?
		"DELETE FROM beacon.notify_destinations WHERE id = $1::int "
		"RETURNING id, kind, sender" :
		strcmp(verb, "enable") == 0 ?
		"UPDATE beacon.notify_destinations SET active = true WHERE id = $1::int "
		"RETURNING id, kind, sender" :
		"UPDATE beacon.notify_destinations SET active = false WHERE id = $1::int "
		"RETURNING id, kind, sender";
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "notify", sql, 1, params);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_die(c, NOTIFY_NOT_FOUND, "no destination %s", id);
	}
	printf("%s destination %s (%s for %s)\n",
	       strcmp(verb, "remove") == 0 ? "removed" :
	       strcmp(verb, "enable") == 0 ? "enabled" : "disabled",
	       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

/* the rows of MESSAGE: $1 the Message-ID (with or without <>), $2 the id or NULL */
#define NOTIFY_MESSAGE_WHERE \
	"(message_id IN ($1, '<' || $1 || '>') OR id = $2::uuid)"

/* notify_flag - set muted or pinned (after VERB) of the one message MESSAGE names
 * (of SENDER when given) to on or off, in one transaction: mute drops its pending
 * deliveries; unmute and unpin of a message past notify_days take its tokens out of
 * notify_tokens again.  Exit 1, nothing changed, if MESSAGE names none or several */
static int notify_flag(struct ctl *c, const char *verb, const char *message,
		       const char *sender)
{
	static const char find_sql[] =
		"SELECT id, coalesce(sender_key, sender), "
		"to_char(sent_at, 'YYYY-MM-DD HH24:MI:SS'), coalesce(subject, '') "
		"FROM beacon.messages WHERE " NOTIFY_MESSAGE_WHERE
		" AND ($3::text IS NULL OR $3 = ANY (beacon.notify_sender_keys(sender_key, sender))) "
		"ORDER BY sent_at, id FOR UPDATE";
	static const char mute_sql[] =
		"WITH u AS (UPDATE beacon.messages m SET muted = $2::boolean "
		"  WHERE m.id = $1::uuid RETURNING m.id), "
		"d AS (UPDATE beacon.notify_deliveries x SET state = 'dropped', "
		"  last_error = 'muted' FROM beacon.notify_jobs j "
		"  WHERE $2::boolean AND x.state = 'pending' AND j.id = x.job "
		"  AND j.message IN (SELECT id FROM u) RETURNING 1) "
		"SELECT m.message_id, m.muted = $2::boolean, (SELECT count(*) FROM d) "
		"FROM beacon.messages m WHERE m.id = $1::uuid";
	static const char pin_sql[] =
		"WITH u AS (UPDATE beacon.messages m SET pinned = $2::boolean "
		"  WHERE m.id = $1::uuid RETURNING m.id) "
		"SELECT m.message_id, m.pinned = $2::boolean, 0 "
		"FROM beacon.messages m WHERE m.id = $1::uuid";
	int mute = strstr(verb, "mute") != NULL, on = strncmp(verb, "un", 2) != 0;
	const char *done = mute ? (on ? "muted" : "unmuted") : (on ? "pinned" : "unpinned");
	uint8_t rid[TOKEN_RID_LEN];
	const char *params[3];
	char id[40], days[24];
	long long dropped, expired = 0;
	PGresult *res;

	params[0] = message;
	params[1] = token_uuid_rid(message, rid) == 0 ? message : NULL;
	params[2] = sender;
	ctl_connect(c);
	ctl_cmd(c, "notify", "BEGIN", 0, NULL);
	res = ctl_exec(c, "notify", find_sql, 3, params);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_rollback(c);
		ctl_die(c, NOTIFY_NOT_FOUND, "no message '%s'%s%s", message,
			sender ? " of " : "", sender ? sender : "");
	}
	if (PQntuples(res) > 1) {
		int n = PQntuples(res);

		fprintf(stderr, "beaconctl: error: '%s' names %d messages; give its id%s:\n",
			message, n, sender ? "" : " or --sender");
		for (int i = 0; i < n; i++)
			fprintf(stderr, "  %s  %s  %s  %s\n", PQgetvalue(res, i, 0),
				PQgetvalue(res, i, 2), PQgetvalue(res, i, 1), PQgetvalue(res, i, 3));
		PQclear(res);
		ctl_rollback(c);
		ctl_exit(c, NOTIFY_NOT_FOUND);
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	/* the flag as it was decides "already"; the statement reads it before its update */
	params[0] = id;
	params[1] = on ? "true" : "false";
	res = ctl_exec(c, "notify", mute ? mute_sql : pin_sql, 2, params);
	printf("%s%s %s%s%s\n", strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? "already " : "",
	       done, id, PQgetisnull(res, 0, 0) ? "" : " ",
	       PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	dropped = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	if (!on && c->cfg.notify.notify_days > 0) {
		snprintf(days, sizeof(days), "%ld", (long)c->cfg.notify.notify_days);
		params[0] = days;
		params[1] = id;
		res = ctl_exec(c, "notify_expire",
			       "SELECT beacon.notify_expire($1::int, $2::uuid)", 2, params);
		expired = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	ctl_cmd(c, "notify", "COMMIT", 0, NULL);
	if (mute && on)
		printf("%lld pending deliver%s dropped\n", dropped, dropped == 1 ? "y" : "ies");
	if (expired > 0)
		printf("sent more than %s days ago and not pinned: it notifies no more\n", days);
	return 0;
}

/* notify_log - the deliveries, newest job first, of MESSAGE when given (exit 1 if
 * there is no such message) */
static int notify_log(struct ctl *c, const struct notify_opts *o)
{
	uint8_t rid[TOKEN_RID_LEN];
	const char *params[3] = { o->message, NULL, o->limit ? o->limit : "50" };
	PGresult *res;

	if (o->message && token_uuid_rid(o->message, rid) == 0)
		params[1] = o->message;
	ctl_connect(c);
	if (o->message) {
		res = ctl_exec(c, "notify log", "SELECT EXISTS (SELECT 1 FROM beacon.messages "
			       "WHERE " NOTIFY_MESSAGE_WHERE ")", 2, params);
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			PQclear(res);
			ctl_die(c, NOTIFY_NOT_FOUND, "no message '%s'", o->message);
		}
		PQclear(res);
	}
	return ctl_print_result(c, ctl_exec(c, "notify log",
		"SELECT x.job, x.destination, d.kind AS dest_kind, j.message, j.kind, "
		"to_char(j.at, 'YYYY-MM-DD HH24:MI:SS') AS at, r.address, x.state, x.attempts, "
		"x.last_status AS status, x.latency_ms, "
		"to_char(x.sent_at, 'YYYY-MM-DD HH24:MI:SS') AS sent_at, "
		"CASE WHEN x.state = 'pending' THEN to_char(x.next_at, 'YYYY-MM-DD HH24:MI:SS') "
		"END AS next_at, x.last_error AS error "
		"FROM beacon.notify_deliveries x "
		"JOIN beacon.notify_jobs j ON j.id = x.job "
		"JOIN beacon.notify_destinations d ON d.id = x.destination "
		"LEFT JOIN beacon.recipients r ON r.token_id = j.token_id "
		"WHERE $1::text IS NULL OR j.message IN (SELECT id FROM beacon.messages "
		"WHERE " NOTIFY_MESSAGE_WHERE ") "
		"ORDER BY x.job DESC, x.destination LIMIT $3::int", 3, params), o->fmt);
}

/* notify_list_messages - the messages that notify, pinned first, then the newest */
static int notify_list_messages(struct ctl *c, const struct notify_opts *o)
{
	const char *params[2] = { o->sender, o->limit ? o->limit : "50" };

	ctl_connect(c);
	return ctl_print_result(c, ctl_exec(c, "notify list-messages",
		"SELECT m.id, to_char(m.sent_at, 'YYYY-MM-DD HH24:MI:SS') AS sent_at, "
		"coalesce(m.sender_key, m.sender) AS sender, m.subject, m.message_id, "
		"m.pinned, m.muted "
		"FROM beacon.messages m WHERE m.notify AND ($1::text IS NULL "
		"OR $1 = ANY (beacon.notify_sender_keys(m.sender_key, m.sender))) "
		"ORDER BY m.pinned DESC, m.sent_at DESC, m.id LIMIT $2::int", 2, params), o->fmt);
}

/* notify_want - exit with a usage error unless ARGC - OPTIND == N arguments follow VERB */
static void notify_want(struct ctl *c, const char *verb, int left, int min, int max,
			const char *what)
{
	if (left < min)
		ctl_usage_error(c, "%s needs %s", verb, what);
	if (left > max)
		ctl_usage_error(c, "%s: too many arguments", verb);
}

/* ctl_notify - add, list, remove, enable, disable, mute, unmute, pin, unpin,
 * list-messages, log */
int ctl_notify(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "secret", required_argument, NULL, 's' },
		{ "secret-file", required_argument, NULL, 'F' },
		{ "allow-http", no_argument, NULL, 'H' },
		{ "only-tagged", no_argument, NULL, 't' },
		{ "sender", required_argument, NULL, 'S' },
		{ "message", required_argument, NULL, 'm' },
		{ "limit", required_argument, NULL, 'l' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct notify_opts o = { .fmt = OUT_TABLE };
	char key[ADDRESS_SIZE], skey[ADDRESS_SIZE], mail[ADDRESS_SIZE];
	char secret[NOTIFY_SECRET_HEX_MAX + 1];
	const char *verb, *why;
	char **args;
	long n;
	int ch, left;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!notify_secret_ok(optarg, secret, sizeof(secret)))
				ctl_usage_error(c, "--secret: expected 32 to 128 hex digits "
						"(an even number)");
			o.secret = secret;
			break;
		case 'F': o.secret_file = optarg; break;
		case 'H': o.allow_http = 1; break;
		case 't': o.only_tagged = 1; break;
		case 'S':
			if ((why = ctl_pattern_norm(optarg, skey, sizeof(skey))) != NULL)
				ctl_usage_error(c, "--sender '%s': %s", optarg, why);
			o.sender = skey;
			break;
		case 'm':
			if (!*optarg)
				ctl_usage_error(c, "--message: empty MESSAGE");
			o.message = optarg;
			break;
		case 'l':
			if (ctl_parse_long(optarg, 1, 100000, &n) < 0)
				ctl_usage_error(c, "--limit '%s': expected 1 to 100000", optarg);
			o.limit = optarg;
			break;
		case 'C': o.fmt = OUT_CSV; o.nfmt++; break;
		case 'J': o.fmt = OUT_JSON; o.nfmt++; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind == argc)
		ctl_usage_error(c, "expected add, list, remove, enable, disable, mute, unmute, "
				"pin, unpin, list-messages or log");
	verb = argv[optind++];
	args = argv + optind;
	left = argc - optind;
	if (o.nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");
	if (o.nfmt && strcmp(verb, "list") != 0 && strcmp(verb, "list-messages") != 0 &&
	    strcmp(verb, "log") != 0)
		ctl_usage_error(c, "--csv and --json go with list, list-messages and log");
	if ((o.secret || o.secret_file || o.only_tagged || o.allow_http) &&
	    strcmp(verb, "add") != 0)
		ctl_usage_error(c, "--secret, --secret-file, --only-tagged and --allow-http "
				"go with add");
	if (o.secret && o.secret_file)
		ctl_usage_error(c, "--secret and --secret-file exclude each other");
	if (o.sender && strcmp(verb, "list-messages") != 0 && strcmp(verb, "mute") != 0 &&
	    strcmp(verb, "unmute") != 0 && strcmp(verb, "pin") != 0 &&
	    strcmp(verb, "unpin") != 0)
		ctl_usage_error(c, "--sender goes with list-messages, mute, unmute, pin and unpin");
	if (o.message && strcmp(verb, "log") != 0)
		ctl_usage_error(c, "--message goes with log");
	if (o.limit && strcmp(verb, "log") != 0 && strcmp(verb, "list-messages") != 0)
		ctl_usage_error(c, "--limit goes with log and list-messages");

	if (strcmp(verb, "add") == 0) {
		const char *url;

		notify_want(c, verb, left, 2, 3, "SENDER, KIND and URL");
		if ((why = ctl_pattern_norm(args[0], key, sizeof(key))) != NULL)
			ctl_usage_error(c, "'%s': %s", args[0], why);
		if (strcmp(args[1], "webhook") != 0 && strcmp(args[1], "slack") != 0 &&
		    strcmp(args[1], "mattermost") != 0 && strcmp(args[1], "mail") != 0)
			ctl_usage_error(c, "unknown KIND '%s' (webhook, slack, mattermost or mail)",
					args[1]);
		url = left > 2 ? args[2] : NULL;
		if (strcmp(args[1], "mail") == 0) {
			if (!url && key[0] == '@')
				ctl_usage_error(c, "a mail destination of %s needs an address", key);
			if (url && address_norm(url, mail, sizeof(mail), &why) < 0)
				ctl_usage_error(c, "mail address '%s': %s", url, why);
			url = url ? mail : key;
		} else if (!url) {
			ctl_usage_error(c, "a %s destination needs a URL", args[1]);
		} else if (!notify_url_ok(url, o.allow_http)) {
			ctl_usage_error(c, "'%s': expected an https:// URL%s without blanks, at "
					"most %d characters", url, o.allow_http ? " or http://" :
					" (http:// with --allow-http)", NOTIFY_URL_MAX);
		}
		if (o.secret_file) {
			notify_secret_read(c, o.secret_file, secret, sizeof(secret));
			o.secret = secret;
		}
		return notify_add(c, key, args[1], url, &o);
	}
	if (strcmp(verb, "list") == 0) {
		notify_want(c, verb, left, 0, 1, "");
		if (left && (why = ctl_pattern_norm(args[0], key, sizeof(key))) != NULL)
			ctl_usage_error(c, "'%s': %s", args[0], why);
		return notify_list(c, left ? key : NULL, o.fmt);
	}
	if (strcmp(verb, "remove") == 0 || strcmp(verb, "enable") == 0 ||
	    strcmp(verb, "disable") == 0) {
		notify_want(c, verb, left, 1, 1, "a destination ID");
		if (ctl_parse_long(args[0], 1, 2147483647, &n) < 0)
			ctl_usage_error(c, "'%s': expected a destination ID", args[0]);
		return notify_destination(c, verb, args[0]);
	}
	if (strcmp(verb, "mute") == 0 || strcmp(verb, "unmute") == 0 ||
	    strcmp(verb, "pin") == 0 || strcmp(verb, "unpin") == 0) {
		notify_want(c, verb, left, 1, 1, "a MESSAGE (id or Message-ID)");
		if (!*args[0])
			ctl_usage_error(c, "empty MESSAGE");
		return notify_flag(c, verb, args[0], o.sender);
	}
	if (strcmp(verb, "list-messages") == 0) {
		notify_want(c, verb, left, 0, 0, "");
		return notify_list_messages(c, &o);
	}
	if (strcmp(verb, "log") == 0) {
		notify_want(c, verb, left, 0, 0, "");
		return notify_log(c, &o);
	}
	ctl_usage_error(c, "unknown action '%s'", verb);
}
