/*
 * NAME
 *	forget.c - beaconctl forget: remove one recipient address everywhere
 *
 * SYNOPSIS
 *	beaconctl forget ADDRESS [--suppress]
 *
 * DESCRIPTION
 *	ADDRESS is taken in its one form (address.h).  The stored
 *	spellings that map to it (rows written before addresses had one
 *	form, an IDN domain in U-labels) are found by a trigram search on
 *	the local part and the domain (in A-labels and in U-labels, any
 *	case: beacon.forget_spellings()) and kept when they normalise to
 *	the same form.  Then
 *	beacon.forget() (sql/schema/009_forget.sql) removes, in one
 *	transaction, the recipients rows, their events and tokens (which
 *	are tombstoned: a later hit stores nothing), the messages no other
 *	recipient shares, the suppressions of the address (with --suppress
 *	one row for every sender stays: a suppression needs the address)
 *	and the rows of any other table of schema beacon naming the address
 *	or one of its tokens.  After the commit, once the event writes in
 *	flight are done (a SHARE lock on events, taken and released), the
 *	events of those tokens written meanwhile are swept.
 *
 *	Prints the rows removed per table; a second run prints zeros.  The
 *	syslog line says "1 address" and the counts, never the address.
 *
 *	beacon-milter's spool: rows it spooled while the database was down
 *	are written when it replays them, and then the replayed file is
 *	removed.  Records not yet replayed may hold the address: when the
 *	configured [milter] spool_dir holds any (milter.spool not empty,
 *	milter.replay or milter.replay.bad), forget says so and exits
 *	EX_TEMPFAIL after doing its work: run it again once the spool is
 *	replayed.  A spool file that cannot be examined (EACCES: beaconctl
 *	not in the milter's group) exits EX_TEMPFAIL too; a spool_dir that
 *	does not exist (the milter on another host) counts as empty: the
 *	operator checks that host's spool (beaconctl(8)).  beacon-pixelsrv's ring and spool hold tokens, never
 *	addresses; their replay stores nothing for a tombstoned token.
 *
 *	Stored attachments: after the commit forget_attachment_files()
 *	removes from [milter] attachment_dir the manifests of the tokens
 *	just tombstoned and the blobs they named that no other live
 *	manifest or attachments row names, without waiting for their
 *	expiry (attach_files.c), and prints how many.  A file that cannot
 *	be removed is a warning and exit status EX_IOERR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>

#include "address.h"
#include "attach_files.h"
#include "ctl.h"

/* forget_split - the local part of NORM (without quotes and backslashes) into LOCAL, and
 * its domain as written and, when it holds A-labels, in U-labels into DOM and UDOM
 * (UDOM empty when there is no other form) */
static void forget_split(const char *norm, char *local, size_t locallen, char *dom,
			 size_t domlen, char *udom, size_t udomlen)
{
	const char *at = strrchr(norm, '@');
	size_t n = 0, end = at ? (size_t)(at - norm) : strlen(norm);
	char *u = NULL;

	for (size_t i = 0; i < end && n + 1 < locallen; i++)
		if (norm[i] != '"' && norm[i] != '\\')
			local[n++] = norm[i];
	local[n] = '\0';
	snprintf(dom, domlen, "%s", at ? at + 1 : "");
	udom[0] = '\0';
	if (strcasestr(dom, "xn--") && idn2_to_unicode_8z8z(dom, &u, 0) == IDN2_OK &&
	    strcmp(u, dom) != 0)
		snprintf(udom, udomlen, "%s", u);
	idn2_free(u);
}

/* forget_spellings - the stored spellings of KEY, newline-separated (malloc'd): the
 * candidates beacon.forget_spellings() finds by local part and domain (A- and
 * U-labels), kept when they normalise to KEY */
static char *forget_spellings(struct ctl *c, const char *key)
{
	char local[ADDRESS_SIZE], dom[ADDRESS_SIZE], udom[4 * ADDRESS_SIZE], norm[ADDRESS_SIZE];
	const char *params[3], *why;
	size_t len = 0;
	char *list = NULL;
	FILE *fp = open_memstream(&list, &len);
	PGresult *res;

	if (!fp)
		ctl_die(c, EX_OSERR, "out of memory");
	forget_split(key, local, sizeof(local), dom, sizeof(dom), udom, sizeof(udom));
	params[0] = local;
	params[1] = dom;
	params[2] = udom[0] ? udom : NULL;
	res = ctl_exec(c, "forget", "SELECT s FROM beacon.forget_spellings($1, ARRAY[$2, $3]) AS s",
		       3, params);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *s = PQgetvalue(res, i, 0);
		if (strcmp(s, key) != 0 && address_norm(s, norm, sizeof(norm), &why) == 0 &&
		    strcmp(norm, key) == 0)
			fprintf(fp, "%s\n", s);
	}
	PQclear(res);
	if (fclose(fp) != 0)
		ctl_die(c, EX_OSERR, "out of memory");
	return list;
}

/* forget_spool_pending - does the milter's spool hold records not yet replayed? */
static int forget_spool_pending(const struct ctl *c)
{
	static const char *const names[] = { "milter.spool", "milter.replay", "milter.replay.bad" };
	const char *dir = c->cfg.milter.spool_dir;
	int pending = 0;

	if (!dir || !*dir)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0) {
			if (st.st_size > 0) {
				fprintf(stderr, "beaconctl: warning: %s holds %lld bytes beacon-milter "
					"has not replayed; they may hold the address: run forget "
					"again once it is replayed\n", path, (long long)st.st_size);
				pending = 1;
			}
		} else if (errno != ENOENT) {
			/* not in the milter's group, say: what it holds is unknown, and
			 * a replay of it may bring the address back */
			fprintf(stderr, "beaconctl: warning: %s: %s: cannot tell whether "
				"beacon-milter's spool holds the address: run forget again "
				"as a user who may read %s\n", path, strerror(errno), dir);
			pending = 1;
		}
	}
	return pending;
}

/* forget_attachment_files - after the commit (the tokens are tombstoned): remove
 * their manifests and the blobs no one else references; what was removed into P */
static void forget_attachment_files(struct ctl *c, struct attach_plan *p)
{
	attach_files_plan(c, ATTACH_FORGET, p);
	attach_files_apply(c, p);
}

/* ctl_forget - beaconctl forget ADDRESS [--suppress] */
int ctl_forget(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "suppress", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char key[ADDRESS_SIZE], since[64], *spellings, summary[1024];
	const char *params[3], *why = NULL, *addr;
	int ch, keep = 0, pending;
	size_t used = 0;
	long long swept, total = 0;
	struct attach_plan files;
	PGresult *res;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (ch != 's')
			ctl_option_error(c, ch, argv);
		keep = 1;
	}
	if (optind >= argc)
		ctl_usage_error(c, "an address is required");
	if (optind + 1 < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	addr = argv[optind];
	if (!strchr(addr, '@') || addr[0] == '@')
		ctl_usage_error(c, "expected one address, user@domain");
	if (address_norm(addr, key, sizeof(key), &why) < 0) {
		/* beacon-milter stored such a recipient as given (printable UTF-8) */
		if (strlen(addr) >= sizeof(key))
			ctl_die(c, EX_DATAERR, "the address is too long (%s)", why);
		fprintf(stderr, "beaconctl: warning: the address has no one form (%s): "
			"matching it as written, in any case\n", why);
		snprintf(key, sizeof(key), "%s", addr);
	}

	ctl_connect(c);
	ctl_cmd(c, "forget", "BEGIN", 0, NULL);
	ctl_cmd(c, "forget", "SET LOCAL statement_timeout = 0", 0, NULL);
	res = ctl_exec(c, "forget", "SELECT now()", 0, NULL);
	snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	spellings = forget_spellings(c, key);
	params[0] = key;
	params[1] = spellings;
	params[2] = keep ? "true" : "false";
	res = ctl_exec(c, "forget",
		       "SELECT relation, removed FROM beacon.forget($1, "
		       "string_to_array(rtrim($2, E'\\n'), E'\\n'), $3::boolean)", 3, params);
	free(spellings);
	ctl_cmd(c, "forget", "COMMIT", 0, NULL);
	swept = purge_sweep(c, since);
	forget_attachment_files(c, &files);

	printf("forgot 1 address%s:\n", keep ? " (its suppression kept)" : "");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *rel = PQgetvalue(res, i, 0);
		long long n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		if (strcmp(rel, "events") == 0)
			n += swept;
		if (strcmp(rel, "purged_tokens") == 0) {
			printf("%-32s %lld\n", "tokens tombstoned", n);
			continue;
		}
		printf("%-32s %lld\n", rel, n);
		total += n;
		if (used < sizeof(summary))
			used += (size_t)snprintf(summary + used, sizeof(summary) - used, " %s=%lld",
						 rel, n);
	}
	PQclear(res);
	printf("%-32s %ld\n%-32s %ld\n", "attachment manifests", files.manifests,
	       "attachment files", files.blobs);
	if (used < sizeof(summary))
		snprintf(summary + used, sizeof(summary) - used, " manifests=%ld files=%ld",
			 files.manifests, files.blobs);
	openlog("beaconctl", LOG_PID, log_facility_code(c->cfg.global.syslog_facility));
	syslog(LOG_NOTICE, "forget: 1 address%s, %lld rows removed:%s",
	       keep ? " (suppression kept)" : "", total, summary);
	closelog();

	pending = forget_spool_pending(c);
	attach_files_free(&files);
	if (files.failed)
		return EX_IOERR;
	return pending ? EX_TEMPFAIL : 0;
}
