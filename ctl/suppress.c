/*
 * NAME
 *	suppress.c - beaconctl suppress: addresses and domains never tracked
 *
 * SYNOPSIS
 *	beaconctl suppress add ADDRESS|@DOMAIN [--sender SENDER] [--reason TEXT]
 *	beaconctl suppress del ADDRESS|@DOMAIN [--sender SENDER]
 *	beaconctl suppress list [ADDRESS|@DOMAIN] [--sender SENDER] [--csv | --json]
 *
 * DESCRIPTION
 *	Edits beacon.suppressions.  Patterns are stored in the one form
 *	beacon-milter compares (address.h: no angle brackets or trailing
 *	dot, lower case, quotes only where needed, IDN domains as A-labels):
 *	'user@example.org' for one address, '@example.org' for a whole
 *	domain, whatever spelling was given.  add on a pattern
 *	already there keeps it (and replaces its reason when --reason is
 *	given).  del of a pattern that is not there is EX_DATAERR.  list
 *	shows every pattern, or with an argument the patterns that suppress
 *	it (the address itself and its domain).  del and list also find a
 *	row written before patterns had one form, by its old spelling.
 *
 *	A row is for every sender (sender '', what add writes without
 *	--sender) or for one envelope sender (what a one-click unsubscribe
 *	writes; add --sender writes one too, the sender in its one form).
 *	del without --sender removes the pattern for every sender and each
 *	sender; with it, that sender's row only.  list --sender shows the
 *	rows that suppress for that sender (its own and the every-sender
 *	ones).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "address.h"
#include "ctl.h"
#include "output.h"

/* suppress_pattern_norm - PATTERN ('local@domain' or '@domain') in its one form into OUT
 * (address.h); NULL, or why it has none */
static const char *suppress_pattern_norm(const char *p, char *out, size_t outlen)
{
	if (strlen(p) > 320)
		return "longer than 320 characters";
	return ctl_pattern_norm(p, out, outlen);
}

/* suppress_for - " for sender S" when S is one sender, else "" (static buffer) */
static const char *suppress_for(const char *sender)
{
	static char buf[ADDRESS_SIZE + 16];

	if (!sender || !*sender)
		return "";
	snprintf(buf, sizeof(buf), " for sender %s", sender);
	return buf;
}

/* suppress_add - insert PATTERN for SENDER ('' every sender), or refresh its reason */
static int suppress_add(struct ctl *c, const char *pattern, const char *sender,
			const char *reason)
{
	const char *params[3] = { pattern, reason, sender };
	PGresult *res;

	res = ctl_exec(c, "suppress add",
		       "INSERT INTO beacon.suppressions AS s (pattern, reason, sender, source) "
		       "VALUES (lower($1), $2, lower($3), 'admin') "
		       "ON CONFLICT (pattern, sender) DO UPDATE "
		       "SET reason = coalesce(EXCLUDED.reason, s.reason) "
		       "RETURNING s.pattern, (xmax = 0)", 3, params);
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		printf("added %s%s\n", PQgetvalue(res, 0, 0), suppress_for(sender));
	else
		printf("%s was already suppressed%s%s\n", PQgetvalue(res, 0, 0),
		       suppress_for(sender), reason ? "; reason updated" : "");
	PQclear(res);
	return 0;
}

/* suppress_del - delete PATTERN (in its one form, or as a row written before there was
 * one, RAW lower-cased), for SENDER only or (NULL) for every sender and each one;
 * EX_DATAERR if it was not there */
static int suppress_del(struct ctl *c, const char *pattern, const char *raw,
			const char *sender)
{
	const char *params[3] = { pattern, raw, sender };
	PGresult *res = ctl_exec(c, "suppress del",
				 "DELETE FROM beacon.suppressions WHERE (pattern = lower($1) "
				 "OR pattern = lower($2)) AND ($3::text IS NULL OR sender = lower($3)) "
				 "RETURNING pattern, sender", 3, params);
	int found = PQntuples(res) > 0;

	for (int i = 0; i < PQntuples(res); i++)
		printf("removed %s%s\n", PQgetvalue(res, i, 0), suppress_for(PQgetvalue(res, i, 1)));
	PQclear(res);
	if (!found)
		ctl_die(c, EX_DATAERR, "'%s' is not in the suppression list%s", pattern,
			suppress_for(sender));
	return 0;
}

/* suppress_list - every pattern, or those that match PATTERN (in its one form; RAW: as
 * given, for rows written before there was one) */
static int suppress_list(struct ctl *c, const char *pattern, const char *raw,
			 const char *sender, enum out_format fmt)
{
	char domain[ADDRESS_SIZE + 1];
	const char *params[4] = { pattern, NULL, raw, sender }, *dom = address_domain(pattern);
	PGresult *res;

	if (pattern && pattern[0] != '@' && dom) {
		snprintf(domain, sizeof(domain), "@%s", dom);
		params[1] = domain;
	}
	res = ctl_exec(c, "suppress list",
		       "SELECT pattern, reason, to_char(added_at, 'YYYY-MM-DD HH24:MI:SS') "
		       "AS added_at, sender, source FROM beacon.suppressions "
		       "WHERE ($1::text IS NULL "
		       "OR pattern = lower($1) OR pattern = lower($2) OR pattern = lower($3) "
		       "OR pattern = regexp_replace(lower($3), '^.*@', '@')) "
		       "AND ($4::text IS NULL OR sender IN ('', lower($4))) "
		       "ORDER BY pattern, sender", 4, params);
	return ctl_print_result(c, res, fmt);
}

/* ctl_suppress - add, del or list */
int ctl_suppress(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "sender", required_argument, NULL, 's' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	enum out_format fmt = OUT_TABLE;
	const char *reason = NULL, *verb, *pattern = NULL, *raw = NULL, *why;
	const char *sender = NULL;
	char key[ADDRESS_SIZE], skey[ADDRESS_SIZE];
	int ch, nfmt = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': reason = optarg; break;
		case 's': sender = optarg; break;
		case 'C': fmt = OUT_CSV; nfmt++; break;
		case 'J': fmt = OUT_JSON; nfmt++; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind == argc)
		ctl_usage_error(c, "expected add, del or list");
	verb = argv[optind++];
	if (optind < argc)
		pattern = argv[optind++];
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0 && strcmp(verb, "list") != 0)
		ctl_usage_error(c, "unknown action '%s' (add, del or list)", verb);
	if (strcmp(verb, "list") != 0 && !pattern)
		ctl_usage_error(c, "%s needs an ADDRESS or @DOMAIN", verb);
	if (pattern && (why = suppress_pattern_norm(pattern, key, sizeof(key))) != NULL)
		ctl_usage_error(c, "'%s': %s", pattern, why);
	if (pattern) {
		raw = pattern;
		pattern = key;
	}
	if (sender) {
		if (address_norm(sender, skey, sizeof(skey), &why) < 0)
			ctl_usage_error(c, "--sender '%s': %s", sender, why);
		sender = skey;
	}
	if (reason && strcmp(verb, "add") != 0)
		ctl_usage_error(c, "--reason goes with add");
	if (nfmt && strcmp(verb, "list") != 0)
		ctl_usage_error(c, "--csv and --json go with list");
	if (nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");

	ctl_connect(c);
	if (strcmp(verb, "add") == 0)
		return suppress_add(c, pattern, sender ? sender : "", reason);
	if (strcmp(verb, "del") == 0)
		return suppress_del(c, pattern, raw, sender);
	return suppress_list(c, pattern, raw, sender, fmt);
}
