/*
 * NAME
 *	maintain.c - beaconctl maintain: event partitions and retention
 *
 * SYNOPSIS
 *	beaconctl maintain [--months-ahead N] [--batch N]
 *
 * DESCRIPTION
 *	In one transaction, committed before anything else is done:
 *	beacon.ensure_partitions(N) creates the monthly partitions of
 *	beacon.events from this month to N months ahead (default 2), then
 *	beacon.apply_retention(retention_days) drops the partitions wholly
 *	older than [database] retention_days and deletes older rows from
 *	the default partition.  Dropping a partition locks all of events
 *	(ACCESS EXCLUSIVE) until that commit, which is why nothing slow
 *	shares that transaction.
 *
 *	Then beacon.purge_before(cutoff, batch) deletes the messages sent
 *	before the cutoff with everything of theirs (recipients, links,
 *	attachment records, events of their tokens, however recent) and
 *	tombstones their tokens, as beaconctl purge does, but --batch
 *	messages at a time (default 1000), oldest first, one transaction
 *	each: a pixel server's COPY never waits for it (a DELETE does not
 *	lock the table against inserts), and beacon-milter's bounce() on a
 *	message being purged waits at most one batch.  A run that is
 *	stopped keeps the batches committed; the next run goes on.  Then,
 *	in a transaction of its own, beacon.expire_tombstones() drops the
 *	tombstones older than tombstone_days, and purge_sweep() the events
 *	written meanwhile for the new tombstones.  In that last transaction,
 *	before the tombstones expire, the files of linked attachments no
 *	live message needs are chosen (attach_files.c: manifests of
 *	tombstoned or wholly expired tokens, blobs nothing live names past
 *	their own expiry), whatever retention_days says, and removed after
 *	its commit (a failure is a warning and exit status EX_IOERR).
 *	retention_days = 0 keeps everything, tombstone_days = 0 every
 *	tombstone.  With [notify] notify_days above 0, the tokens of the
 *	messages not pinned sent longer ago leave notify_tokens
 *	(beacon.notify_expire): their events queue no notification more.
 *	The sessions of beacon-web past their expires_at are deleted.
 *	Prints each partition created or dropped, a line for the messages
 *	purged, one for the files removed, one for the tombstones expired,
 *	one for the notify tokens expired and one for the web sessions
 *	removed when there are any, and a summary line.  Meant for a daily
 *	timer.
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

/* messages purged per transaction unless --batch says otherwise */
#define MAINTAIN_BATCH 1000

/* maintain_purge - beacon.purge_before(CUTOFF, BATCH) in transactions of BATCH
 * messages until none is left: the rows removed per table added into N (PURGE_
 * order); how many transactions */
static int maintain_purge(struct ctl *c, const char *cutoff, long batch,
			  long long n[PURGE_NCOUNTS])
{
	static const char *const names[PURGE_NCOUNTS] = {
		"messages", "recipients", "links", "attachments", "events", "purged_tokens",
		"inbound",
	};
	char nbatch[24];
	const char *params[2] = { cutoff, nbatch };
	long long got;
	int batches = 0;

	snprintf(nbatch, sizeof(nbatch), "%ld", batch);
	memset(n, 0, sizeof(long long) * PURGE_NCOUNTS);
	do {
		PGresult *res;

		ctl_cmd(c, "maintain", "BEGIN", 0, NULL);
		ctl_cmd(c, "maintain", "SET LOCAL statement_timeout = 0", 0, NULL);
		res = ctl_exec(c, "purge_before", "SELECT relation, removed FROM "
			       "beacon.purge_before($1::timestamptz, $2::int)", 2, params);
		got = 0;
		for (int i = 0; i < PQntuples(res); i++)
			for (int k = 0; k < PURGE_NCOUNTS; k++)
				if (strcmp(PQgetvalue(res, i, 0), names[k]) == 0) {
					long long v = strtoll(PQgetvalue(res, i, 1), NULL, 10);
					n[k] += v;
					if (k == PURGE_MESSAGES)
						got = v;
				}
		PQclear(res);
		ctl_cmd(c, "maintain", "COMMIT", 0, NULL);
		batches++;
	} while (got >= batch);
	return batches;
}

/* ctl_maintain - ensure partitions, apply retention, purge in batches */
int ctl_maintain(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "months-ahead", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *param;
	char months[24] = "2", days[24], cutoff[64] = "", since[64] = "";
	long long n[PURGE_NCOUNTS] = { 0 }, expired = 0, unnotified = 0, sessions;
	struct attach_plan files;
	long v, batch = MAINTAIN_BATCH;
	int ch, created, dropped = 0, batches = 0;
	PGresult *res;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (ctl_parse_long(optarg, 0, 120, &v) < 0)
				ctl_usage_error(c, "--months-ahead '%s': expected 0 to 120",
					  optarg);
			snprintf(months, sizeof(months), "%ld", v);
			break;
		case 'b':
			if (ctl_parse_long(optarg, 1, 1000000, &batch) < 0)
				ctl_usage_error(c, "--batch '%s': expected 1 to 1000000 messages",
					  optarg);
			break;
		default:
			ctl_option_error(c, ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);

	/* partitions: dropping one locks all of events until this commit */
	ctl_connect(c);
	ctl_cmd(c, "maintain", "BEGIN", 0, NULL);
	ctl_cmd(c, "maintain", "SET LOCAL statement_timeout = 0", 0, NULL);
	param = months;
	res = ctl_exec(c, "ensure_partitions",
		       "SELECT p FROM beacon.ensure_partitions($1::int) AS p", 1, &param);
	created = PQntuples(res);
	for (int i = 0; i < created; i++)
		printf("created beacon.%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	if (c->cfg.database.retention_days > 0) {
		snprintf(days, sizeof(days), "%ld", c->cfg.database.retention_days);
		param = days;
		res = ctl_exec(c, "apply_retention",
			       "SELECT p FROM beacon.apply_retention($1::int) AS p", 1, &param);
		dropped = PQntuples(res);
		for (int i = 0; i < dropped; i++)
			printf("dropped beacon.%s\n", PQgetvalue(res, i, 0));
		PQclear(res);
		res = ctl_exec(c, "purge_before", "SELECT now() - make_interval(days => $1::int), "
			       "now()", 1, &param);
		snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
		snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
	}
	ctl_cmd(c, "maintain", "COMMIT", 0, NULL);
	fflush(stdout);

	/* messages past retention: batch by batch, each committed */
	if (c->cfg.database.retention_days > 0)
		batches = maintain_purge(c, cutoff, batch, n);
	/* the attachment files to remove, chosen while the tombstones still name them */
	ctl_cmd(c, "maintain", "BEGIN", 0, NULL);
	ctl_cmd(c, "maintain", "SET LOCAL statement_timeout = 0", 0, NULL);
	attach_files_plan(c, ATTACH_RETENTION, &files);
	if (c->cfg.database.tombstone_days > 0) {
		snprintf(days, sizeof(days), "%ld", c->cfg.database.tombstone_days);
		param = days;
		res = ctl_exec(c, "expire_tombstones", "SELECT beacon.expire_tombstones($1::int)",
			       1, &param);
		expired = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	ctl_cmd(c, "maintain", "COMMIT", 0, NULL);
	/* messages past [notify] notify_days and not pinned stop notifying */
	if (c->cfg.notify.notify_days > 0) {
		snprintf(days, sizeof(days), "%ld", (long)c->cfg.notify.notify_days);
		param = days;
		res = ctl_exec(c, "notify_expire", "SELECT beacon.notify_expire($1::int)",
			       1, &param);
		unnotified = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	/* beacon-web's sessions past their end */
	res = ctl_exec(c, "web_sessions", "WITH d AS (DELETE FROM beacon.web_sessions "
		       "WHERE expires_at < now() RETURNING 1) SELECT count(*) FROM d", 0, NULL);
	sessions = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* the files first: their lock, which holds back mail with attachments, goes before
	 * the sweep's wait for event writes */
	attach_files_apply(c, &files);
	if (n[PURGE_TOMB] > 0)
		n[PURGE_EVENTS] += purge_sweep(c, since);
	if (n[PURGE_MESSAGES] > 0 || n[PURGE_EVENTS] > 0)
		printf("purged %lld message%s sent before %s: %lld recipients, %lld links, "
		       "%lld attachments, %lld events; %lld tokens tombstoned "
		       "(%d transaction%s of at most %ld messages)\n",
		       n[PURGE_MESSAGES], n[PURGE_MESSAGES] == 1 ? "" : "s", cutoff,
		       n[PURGE_RECIPIENTS], n[PURGE_LINKS], n[PURGE_ATTACHMENTS], n[PURGE_EVENTS],
		       n[PURGE_TOMB], batches, batches == 1 ? "" : "s", batch);
	if (n[PURGE_INBOUND] > 0)
		printf("purged %lld inbound lead%s received before %s\n", n[PURGE_INBOUND],
		       n[PURGE_INBOUND] == 1 ? "" : "s", cutoff);
	if (files.manifests > 0 || files.blobs > 0)
		printf("removed %ld attachment manifest%s and %ld file%s (%lld bytes) from %s\n",
		       files.manifests, files.manifests == 1 ? "" : "s", files.blobs,
		       files.blobs == 1 ? "" : "s", files.bytes, c->cfg.milter.attachment_dir);
	if (files.temps > 0)
		printf("removed %ld temporary file%s a crash left in %s\n", files.temps,
		       files.temps == 1 ? "" : "s", c->cfg.milter.attachment_dir);
	if (expired > 0)
		printf("expired %lld tombstone%s older than %ld days\n", expired,
		       expired == 1 ? "" : "s", c->cfg.database.tombstone_days);
	if (unnotified > 0)
		printf("%lld notify token%s of messages sent more than %ld days ago, not "
		       "pinned, expired\n", unnotified, unnotified == 1 ? "" : "s",
		       (long)c->cfg.notify.notify_days);
	if (sessions > 0)
		printf("removed %lld expired web session%s\n", sessions, sessions == 1 ? "" : "s");
	if (c->cfg.database.retention_days > 0)
		printf("%d partition%s created, %d dropped (retention %ld days)\n", created,
		       created == 1 ? "" : "s", dropped, c->cfg.database.retention_days);
	else
		printf("%d partition%s created; retention off (retention_days = 0)\n", created,
		       created == 1 ? "" : "s");
	v = files.failed;
	attach_files_free(&files);
	return v ? EX_IOERR : 0;
}
