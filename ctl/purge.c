/*
 * NAME
 *	purge.c - beaconctl purge: delete old messages and events
 *
 * SYNOPSIS
 *	beaconctl purge --older-than DAYS [--dry-run]
 *
 * DESCRIPTION
 *	In one transaction, with cutoff = now() - DAYS days,
 *	beacon.purge_before(cutoff) (sql/schema/009_forget.sql) deletes
 *	every event older than the cutoff and every event of a message sent
 *	before it, then those messages, whose recipients, links and
 *	attachment records go with them (ON DELETE CASCADE), and tombstones
 *	their tokens: a later hit on one (or a spool replayed late) stores
 *	nothing.  After the commit purge_sweep() removes the events a pixel
 *	server's COPY had in flight meanwhile.  Prints what it deleted, per
 *	table, and the tokens tombstoned.  --dry-run prints the same counts
 *	and rolls back.
 *
 *	Then the files of linked attachments no live message needs go from
 *	[milter] attachment_dir (attach_files.c): the manifests of the
 *	tokens tombstoned or wholly expired, and the blobs nothing live
 *	names once their own expiry has passed.  They are chosen in the
 *	transaction (--dry-run counts them and removes none) and removed
 *	after the commit; a file that cannot be removed is a warning and
 *	exit status EX_IOERR once the rest is done.
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
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "attach_files.h"
#include "ctl.h"

/* purge_sweep - after a commit that tombstoned tokens: wait for the event writes
 * in flight (a SHARE lock on events, taken and released), then delete the events
 * they brought for the tokens tombstoned at SINCE or later; how many */
long long purge_sweep(struct ctl *c, const char *since)
{
	PGresult *res;
	long long n;

	ctl_cmd(c, "sweep", "BEGIN", 0, NULL);
	ctl_cmd(c, "sweep", "SET LOCAL statement_timeout = 0", 0, NULL);
	ctl_cmd(c, "sweep", "LOCK TABLE beacon.events IN SHARE MODE", 0, NULL);
	ctl_cmd(c, "sweep", "COMMIT", 0, NULL);
	ctl_cmd(c, "sweep", "BEGIN", 0, NULL);
	ctl_cmd(c, "sweep", "SET LOCAL statement_timeout = 0", 0, NULL);
	res = ctl_exec(c, "sweep", "SELECT beacon.sweep_purged($1::timestamptz)", 1, &since);
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ctl_cmd(c, "sweep", "COMMIT", 0, NULL);
	return n;
}

/* purge_before - beacon.purge_before(CUTOFF) in the open transaction: the rows
 * removed per table into N (PURGE_ order), the tombstones added into N[PURGE_TOMB] */
void purge_before(struct ctl *c, const char *cutoff, long long n[PURGE_NCOUNTS])
{
	static const char *const names[PURGE_NCOUNTS] = {
		"messages", "recipients", "links", "attachments", "events", "purged_tokens",
		"inbound",
	};
	PGresult *res = ctl_exec(c, "purge", "SELECT relation, removed FROM "
				 "beacon.purge_before($1::timestamptz)", 1, &cutoff);

	memset(n, 0, sizeof(long long) * PURGE_NCOUNTS);
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < PURGE_NCOUNTS; k++)
			if (strcmp(PQgetvalue(res, i, 0), names[k]) == 0)
				n[k] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	PQclear(res);
}

/* ctl_purge - delete what is older than --older-than days */
int ctl_purge(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *days = NULL, *params[1];
	char cutoff[64], since[64];
	long long n[PURGE_NCOUNTS];
	struct attach_plan files;
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
	res = ctl_exec(c, "purge", "SELECT now() - make_interval(days => $1::int), now()",
		       1, params);
	snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
	snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	purge_before(c, cutoff, n);
	attach_files_plan(c, ATTACH_RETENTION, &files);
	if (dry) {
		ctl_cmd(c, "purge", "ROLLBACK", 0, NULL);
	} else {
		ctl_cmd(c, "purge", "COMMIT", 0, NULL);
		/* the files first: their lock, which holds back mail with attachments, goes
		 * before the sweep's wait for event writes */
		attach_files_apply(c, &files);
		if (n[PURGE_TOMB] > 0)
			n[PURGE_EVENTS] += purge_sweep(c, since);
	}
	printf("%s before %s:\n", dry ? "would delete" : "deleted", cutoff);
	printf("messages     %lld\nrecipients   %lld\nlinks        %lld\nattachments  %lld\n"
	       "events       %lld\ntombstoned   %lld\n", n[PURGE_MESSAGES], n[PURGE_RECIPIENTS],
	       n[PURGE_LINKS], n[PURGE_ATTACHMENTS], n[PURGE_EVENTS], n[PURGE_TOMB]);
	if (n[PURGE_INBOUND] > 0)
		printf("inbound      %lld\n", n[PURGE_INBOUND]);
	printf("manifests    %ld\nblobs        %ld (%lld bytes)\n", files.manifests,
	       files.blobs, files.bytes);
	if (files.temps > 0)
		printf("temporary    %ld\n", files.temps);
	attach_files_free(&files);
	return files.failed ? EX_IOERR : 0;
}
