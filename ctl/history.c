/*
 * NAME
 *	history.c - beaconctl history: a recipient's or a message's events
 *
 * SYNOPSIS
 *	beaconctl history ADDRESS|MESSAGE-ID [--csv | --json]
 *
 * DESCRIPTION
 *	The argument names a message when a message has it as Message-ID
 *	(with or without the angle brackets) or as its id (uuid); otherwise
 *	it is a recipient address (any case).  Every event of every class
 *	is listed, newest first, in the viewer's time zone: the time, the
 *	recipient (for a message) or the subject (for an address), kind,
 *	class (with its reason in parentheses, and ", late" past
 *	count_window_days), place, device, OS, mail client (or browser for
 *	clicks and downloads) and the link followed ("(hidden link)" for
 *	link 0) or attachment fetched, with the bytes sent and whether the
 *	download was partial (a Range request or a transfer cut short):
 *	"price-list.pdf (117 kB, partial)".  A recipient's answer is an
 *	event of kind reply; for a message, the answers of people it was not
 *	sent to (beacon.replies without a recipient) are rows of kind reply
 *	without recipient, their detail "not a recipient" and the domain
 *	they came from.
 *
 *	Nothing matching the argument at all is EX_DATAERR; a recipient
 *	without events is an empty table.  The full report, with every
 *	column, is beaconctl report history -v address=... .  It only reads:
 *	on [database] read_conninfo's replica while it may be read
 *	(ctl_connect_read()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "output.h"
#include "token.h"

/* the columns after the second one, and the joins, of both queries */
#define HISTORY_COLS \
	"e.kind, e.class || coalesce(' (' || e.reason || ')', '') || " \
	"CASE WHEN e.late THEN ', late' ELSE '' END AS class, " \
	"nullif(concat_ws(', ', e.city, nullif(e.region, e.city), e.country), '') " \
	"AS place, " \
	"e.device, e.os, CASE WHEN e.kind = 'open' THEN e.client " \
	"ELSE coalesce(e.browser, e.client) END AS client, " \
	"CASE e.kind WHEN 'click' THEN CASE e.link_n WHEN 0 THEN '(hidden link)' " \
	"ELSE coalesce(l.url, '#' || e.link_n) END " \
	"WHEN 'download' THEN coalesce(a.name, '#' || e.attachment_id) || " \
	"coalesce(' (' || pg_size_pretty(e.bytes) || " \
	"CASE WHEN e.partial THEN ', partial' ELSE '' END || ')', " \
	"CASE WHEN e.partial THEN ' (partial)' ELSE '' END) END AS detail "
#define HISTORY_FROM \
	"FROM beacon.recipients r " \
	"JOIN beacon.messages m ON m.id = r.message " \
	"JOIN beacon.events e ON e.token_id = r.token_id " \
	"LEFT JOIN beacon.links l ON l.message = r.message AND l.n = e.link_n " \
	"LEFT JOIN beacon.attachments a ON a.message = r.message AND a.id = e.attachment_id "
#define HISTORY_AT "to_char(e.at, 'YYYY-MM-DD HH24:MI:SS') AS at, "

/* the messages named by $1 (Message-ID, <> optional) or $2 (id) */
#define HISTORY_MESSAGES \
	"(SELECT id FROM beacon.messages " \
	"WHERE message_id IN ($1, '<' || $1 || '>') OR id = $2::uuid) "

static const char history_by_message[] =
	"SELECT at, address, kind, class, place, device, os, client, detail FROM ("
	"SELECT e.at AS sort_at, e.link_n AS sort_link, e.attachment_id AS sort_attachment, "
	HISTORY_AT "r.address, " HISTORY_COLS HISTORY_FROM
	"WHERE m.id IN " HISTORY_MESSAGES
	"UNION ALL "
	/* the answers of people the message was not sent to */
	"SELECT y.at, NULL, NULL, to_char(y.at, 'YYYY-MM-DD HH24:MI:SS'), NULL, 'reply', "
	"NULL, NULL, NULL, NULL, NULL, "
	"'not a recipient' || coalesce(', ' || y.from_domain, '') "
	"FROM beacon.replies y WHERE y.token_id IS NULL AND y.message IN " HISTORY_MESSAGES
	") h ORDER BY sort_at DESC, address, kind, sort_link, sort_attachment";

static const char history_by_address[] =
	"SELECT " HISTORY_AT "m.subject, " HISTORY_COLS HISTORY_FROM
	"WHERE lower(r.address) = lower($1) "
	"ORDER BY e.at DESC, m.sent_at DESC, e.kind, e.link_n, e.attachment_id";

/* ctl_history - print the events of ARGV's address or message */
int ctl_history(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	enum out_format fmt = OUT_TABLE;
	uint8_t rid[TOKEN_RID_LEN];
	const char *params[2];
	PGresult *res;
	int ch, nfmt = 0, is_message;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C': fmt = OUT_CSV; nfmt++; break;
		case 'J': fmt = OUT_JSON; nfmt++; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");
	if (optind == argc)
		ctl_usage_error(c, "no ADDRESS or MESSAGE-ID given");
	if (argc - optind > 1)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	params[0] = argv[optind];
	if (!*params[0])
		ctl_usage_error(c, "empty ADDRESS or MESSAGE-ID");
	params[1] = token_uuid_rid(params[0], rid) == 0 ? params[0] : NULL;

	ctl_connect_read(c);
	res = ctl_exec(c, "history",
		       "SELECT EXISTS (SELECT 1 FROM beacon.messages "
		       "WHERE message_id IN ($1, '<' || $1 || '>') OR id = $2::uuid), "
		       "EXISTS (SELECT 1 FROM beacon.recipients "
		       "WHERE lower(address) = lower($1))", 2, params);
	is_message = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	if (!is_message && strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		PQclear(res);
		ctl_die(c, EX_DATAERR, "no message and no recipient '%s'", params[0]);
	}
	PQclear(res);
	if (is_message)
		res = ctl_exec(c, "history", history_by_message, 2, params);
	else
		res = ctl_exec(c, "history", history_by_address, 1, params);
	return ctl_print_result(c, res, fmt);
}
