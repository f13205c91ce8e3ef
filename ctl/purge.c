/*
 * NAME
 *	purge.c - beaconctl purge: delete old messages and events
 *
 * SYNOPSIS
 *	beaconctl purge --older-than DAYS [--dry-run]
 *
 * DESCRIPTION
 *	In one transaction, with cutoff = now() - DAYS days: deletes every
 *	event older than the cutoff and every event of a message sent
 *	before it, then those messages, whose recipients, links and
 *	attachment records go with them (ON DELETE CASCADE).  Prints what
 *	it deleted, per table.  --dry-run prints the same counts and rolls
 *	back.  Files of linked attachments stay in attachment_dir.
 *
 *	beaconctl maintain drops whole event partitions past retention_days,
 *	which is cheaper; purge is for a deadline of one's own, and for the
 *	messages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"

/* what belongs to the messages sent before the cutoff, counted before it goes */
static const char purge_count_sql[] =
	"SELECT (SELECT count(*) FROM beacon.messages WHERE sent_at < $1::timestamptz), "
	"(SELECT count(*) FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message "
	" WHERE m.sent_at < $1::timestamptz), "
	"(SELECT count(*) FROM beacon.links l JOIN beacon.messages m ON m.id = l.message "
	" WHERE m.sent_at < $1::timestamptz), "
	"(SELECT count(*) FROM beacon.attachments a JOIN beacon.messages m ON m.id = a.message "
	" WHERE m.sent_at < $1::timestamptz)";

static const char purge_events_sql[] =
	"DELETE FROM beacon.events WHERE at < $1::timestamptz OR token_id IN "
	"(SELECT r.token_id FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message "
	" WHERE m.sent_at < $1::timestamptz)";

static const char purge_messages_sql[] =
	"DELETE FROM beacon.messages WHERE sent_at < $1::timestamptz";

/* ctl_purge - delete what is older than --older-than days */
int ctl_purge(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *days = NULL, *params[1];
	char cutoff[64], counts[4][24], events[24];
	long ndays;
	int ch, dry = 0;
	PGresult *res;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (ctl_parse_long(optarg, 0, 100000, &ndays) < 0)
				ctl_usage_error(c, "--older-than '%s': expected whole "
					  "days, 0 to 100000", optarg);
			days = optarg;
			break;
		case 'n': dry = 1; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!days)
		ctl_usage_error(c, "--older-than is required");

	ctl_connect(c);
	ctl_cmd(c, "purge", "BEGIN", 0, NULL);
	ctl_cmd(c, "purge", "SET LOCAL statement_timeout = 0", 0, NULL);
	params[0] = days;
	res = ctl_exec(c, "purge", "SELECT now() - make_interval(days => $1::int)", 1, params);
	snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	params[0] = cutoff;
	res = ctl_exec(c, "purge", purge_count_sql, 1, params);
	for (int i = 0; i < 4; i++)
		snprintf(counts[i], sizeof(counts[i]), "%s", PQgetvalue(res, 0, i));
	PQclear(res);
	res = ctl_exec(c, "purge events", purge_events_sql, 1, params);
	snprintf(events, sizeof(events), "%s", PQcmdTuples(res));
	PQclear(res);
	ctl_cmd(c, "purge messages", purge_messages_sql, 1, params);
	if (dry)
		ctl_cmd(c, "purge", "ROLLBACK", 0, NULL);
	else
		ctl_cmd(c, "purge", "COMMIT", 0, NULL);
	printf("%s before %s:\n", dry ? "would delete" : "deleted", cutoff);
	printf("messages     %s\nrecipients   %s\nlinks        %s\nattachments  %s\n"
	       "events       %s\n", counts[0], counts[1], counts[2], counts[3], events);
	return 0;
}
