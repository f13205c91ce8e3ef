/*
 * NAME
 *	export.c - beaconctl export: events as CSV for a CRM import
 *
 * SYNOPSIS
 *	beaconctl export --format csv|hubspot|salesforce [--since WHEN]
 *			 [--class LIST] [--output FILE [--force]] [--purge]
 *
 * DESCRIPTION
 *	One row per event (every kind; every class unless --class narrows
 *	them), oldest first, with the recipient's address, the message's
 *	Message-ID, sender, campaign and subject, the link URL of a click,
 *	the attachment of a download (in csv with the bytes sent and
 *	whether it was partial), the place and the device.  Events
 *	whose token has no recipients row yet are exported too, with an
 *	empty address.  WHEN is any timestamp PostgreSQL reads
 *	(2026-01-01, '2026-01-01 12:00+01', yesterday); rows with at >= WHEN.
 *
 *	  csv         Beacon's own columns, times in UTC (ISO 8601); bytes
 *		      and partial (true/false) are empty but for downloads
 *	  hubspot     HubSpot import headers: Email, Event Type, Event Date,
 *		      Campaign, Email Subject, Link URL, City,
 *		      Country/Region, Device Type, Event Class
 *	  salesforce  Salesforce field names: Email, Event_Type__c,
 *		      Event_Time__c (yyyy-MM-ddTHH:mm:ss.SSSZ), Campaign__c,
 *		      Subject, Link_URL__c, City, Country, Device__c,
 *		      Event_Class__c
 *
 *	In the CRM formats the event type reads Opened, Clicked, Downloaded
 *	or Inbound.  In every format a value starting with = + - @ TAB or CR
 *	is prefixed with ' so a spreadsheet never evaluates it (subjects,
 *	addresses and URLs come from outside).
 *
 *	--purge deletes exactly the exported events: the rows come from one
 *	DELETE ... RETURNING statement, streamed (single-row mode) to the
 *	output, and the transaction commits only once every row is written
 *	(and, with --output, the file is fsync'd).  A failed write rolls
 *	back: nothing is deleted.  --output creates FILE with mode 0600,
 *	never through a symbolic link, and refuses an existing FILE unless
 *	--force; even then only a regular file of ours with no other hard
 *	link is replaced (or a FIFO or device written).  A regular FILE is
 *	removed again if the export fails.  "exported N events" (and
 *	"deleted N") goes to stderr.
 *
 *	Without --purge the export only reads: on [database] read_conninfo's
 *	replica while it may be read (ctl_connect_read()); --purge always
 *	runs on the primary.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "output.h"

/* the rows to export: an event selection, or the same one deleted */
#define EXPORT_WHERE \
	"WHERE ($1::timestamptz IS NULL OR e.at >= $1::timestamptz) " \
	"AND ($2::text IS NULL OR e.class = ANY (string_to_array($2::text, ',')))"
#define EXPORT_BODY \
	"SELECT to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " \
	"ev.kind, ev.class, r.address, m.message_id, m.sender, m.campaign, m.subject, " \
	"l.url, a.name, ev.country, ev.region, ev.city, ev.device, ev.os, ev.client, " \
	"ev.browser, host(ev.ip), ev.token_id, ev.bytes, " \
	"CASE WHEN ev.kind = 'download' THEN ev.partial::text END " \
	"FROM ev " \
	"LEFT JOIN beacon.recipients r ON r.token_id = ev.token_id " \
	"LEFT JOIN beacon.messages m ON m.id = r.message " \
	"LEFT JOIN beacon.links l ON l.message = r.message AND l.n = ev.link_n " \
	"LEFT JOIN beacon.attachments a ON a.message = r.message AND a.id = ev.attachment_id " \
	"ORDER BY ev.at, ev.token_id, ev.kind, ev.link_n, ev.attachment_id"

static const char export_select[] =
	"WITH ev AS (SELECT e.* FROM beacon.events e " EXPORT_WHERE ") " EXPORT_BODY;
static const char export_delete[] =
	"WITH ev AS (DELETE FROM beacon.events e " EXPORT_WHERE " RETURNING e.*) " EXPORT_BODY;

/* the columns of EXPORT_BODY */
enum {
	X_AT, X_AT_MS, X_KIND, X_CLASS, X_ADDRESS, X_MESSAGE_ID, X_SENDER, X_CAMPAIGN,
	X_SUBJECT, X_URL, X_ATTACHMENT, X_COUNTRY, X_REGION, X_CITY, X_DEVICE, X_OS,
	X_CLIENT, X_BROWSER, X_IP, X_TOKEN_ID, X_BYTES, X_PARTIAL,
	X_EVENT_TYPE /* computed */
};

/* export_format - header names and the column each comes from */
struct export_format {
	const char *name;		/* --format value */
	const char *head[23];		/* header names, NULL-terminated */
	int col[23];			/* X_ column per header */
};

static const struct export_format export_formats[] = {
	{ "csv",
	  { "at", "kind", "class", "address", "message_id", "sender", "campaign",
	    "subject", "url", "attachment", "country", "region", "city", "device",
	    "os", "client", "browser", "ip", "token_id", "bytes", "partial", NULL },
	  { X_AT, X_KIND, X_CLASS, X_ADDRESS, X_MESSAGE_ID, X_SENDER, X_CAMPAIGN,
	    X_SUBJECT, X_URL, X_ATTACHMENT, X_COUNTRY, X_REGION, X_CITY, X_DEVICE,
	    X_OS, X_CLIENT, X_BROWSER, X_IP, X_TOKEN_ID, X_BYTES, X_PARTIAL } },
	{ "hubspot",
	  { "Email", "Event Type", "Event Date", "Campaign", "Email Subject", "Link URL",
	    "City", "Country/Region", "Device Type", "Event Class", NULL },
	  { X_ADDRESS, X_EVENT_TYPE, X_AT, X_CAMPAIGN, X_SUBJECT, X_URL, X_CITY,
	    X_COUNTRY, X_DEVICE, X_CLASS } },
	{ "salesforce",
	  { "Email", "Event_Type__c", "Event_Time__c", "Campaign__c", "Subject",
	    "Link_URL__c", "City", "Country", "Device__c", "Event_Class__c", NULL },
	  { X_ADDRESS, X_EVENT_TYPE, X_AT_MS, X_CAMPAIGN, X_SUBJECT, X_URL, X_CITY,
	    X_COUNTRY, X_DEVICE, X_CLASS } },
};

#define EXPORT_NFORMATS (sizeof(export_formats) / sizeof(export_formats[0]))

/* export_bad_class - the length of the first unknown class in LIST (at *BAD), 0 if none */
static int export_bad_class(const char *list, const char **bad)
{
	static const char *const known[] = {
		"human", "proxy", "prefetch", "scanner", "internal", "sender",
	};
	const char *p = list;

	for (;;) {
		size_t len = strcspn(p, ","), i;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i]) == len && strncmp(known[i], p, len) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			*bad = p;
			return len ? (int)len : -1;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* export_event_type - the CRM word for KIND */
static const char *export_event_type(const char *kind)
{
	if (strcmp(kind, "open") == 0)
		return "Opened";
	if (strcmp(kind, "click") == 0)
		return "Clicked";
	if (strcmp(kind, "download") == 0)
		return "Downloaded";
	if (strcmp(kind, "inbound") == 0)
		return "Inbound";
	return kind;
}

/* export_row - one CSV line of F from row 0 of RES (or the header if RES is NULL) */
static void export_row(FILE *fp, const struct export_format *f, const PGresult *res)
{
	for (int i = 0; f->head[i]; i++) {
		const char *v;
		if (i)
			fputc(',', fp);
		if (!res) {
			out_csv_field(fp, f->head[i], 0);
			continue;
		}
		if (f->col[i] == X_EVENT_TYPE)
			v = export_event_type(PQgetvalue(res, 0, X_KIND));
		else
			v = PQgetisnull(res, 0, f->col[i]) ? NULL : PQgetvalue(res, 0, f->col[i]);
		out_csv_field(fp, v, 1);
	}
	fputc('\n', fp);
}

static int export_regular;	/* --output is a regular file: remove it on failure */

/* export_abandon - roll back, remove a half-written regular FILE, exit */
static void export_abandon(struct ctl *c, FILE *fp, const char *file, int code,
			   const char *why)
{
	ctl_rollback(c);
	if (file) {
		if (fp)
			fclose(fp);
		if (export_regular)
			unlink(file);
	}
	ctl_die(c, code, "%s; nothing was deleted", why);
}

/* export_opts - what the command line asked for */
struct export_opts {
	const struct export_format *f;	/* --format */
	const char *params[2];		/* $1 --since, $2 --class; NULL: any */
	const char *file;		/* --output; NULL: standard output */
	int purge;			/* --purge */
	int force;			/* --force: --output may replace a file of ours */
};

/* export_options - the command line into O; a usage error exits */
static void export_options(struct ctl *c, int argc, char **argv, struct export_opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "class", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "purge", no_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bad;
	int ch, n;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			for (size_t i = 0; i < EXPORT_NFORMATS; i++)
				if (strcmp(export_formats[i].name, optarg) == 0)
					o->f = &export_formats[i];
			if (!o->f)
				ctl_usage_error(c, "unknown format '%s'", optarg);
			break;
		case 's':
			if (!*optarg)
				ctl_usage_error(c, "--since needs a date");
			o->params[0] = optarg;
			break;
		case 'k':
			if ((n = export_bad_class(optarg, &bad)) != 0)
				ctl_usage_error(c, "--class: unknown class '%.*s' (a comma list "
						"of human, proxy, prefetch, scanner, internal, "
						"sender)", n < 0 ? 0 : n, bad);
			o->params[1] = optarg;
			break;
		case 'o': o->file = optarg; break;
		case 'P': o->purge = 1; break;
		case 'F': o->force = 1; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!o->f)
		ctl_usage_error(c, "--format is required");
}

/* export_check_since - a --since the server cannot read fails here, before anything is written */
static void export_check_since(struct ctl *c, const char *since)
{
	PGresult *res = PQexecParams(c->conn, "SELECT $1::timestamptz", 1, NULL, &since,
				     NULL, NULL, 0);
	const char *m;
	char why[512];

	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		return;
	}
	m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(why, sizeof(why), "--since '%s': %s", since, m ? m : "invalid");
	PQclear(res);
	ctl_rollback(c);
	ctl_die(c, EX_DATAERR, "%s", why);
}

/* export_open - standard output, or FILE, never through a symbolic link: created
 * (O_EXCL) with mode 0600; with FORCE an existing FIFO or device is written, and an
 * existing regular file replaced only if it is ours and has no other link */
static FILE *export_open(struct ctl *c, const char *file, int force)
{
	struct stat st;
	char why[512];
	FILE *fp;
	int fd;

	if (!file)
		return stdout;
	fd = open(file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? 0 : O_EXCL), 0600);
	if (fd < 0) {
		if (errno == ELOOP || (errno == EEXIST && lstat(file, &st) == 0 &&
				       S_ISLNK(st.st_mode)))
			snprintf(why, sizeof(why), "%s is a symbolic link; refusing to write "
				 "through it", file);
		else if (errno == EEXIST)
			snprintf(why, sizeof(why), "%s exists; --force replaces it", file);
		else
			snprintf(why, sizeof(why), "%s: %s", file, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, sizeof(why), "%s: %s", file, strerror(errno));
		goto fail_fd;
	}
	if (S_ISREG(st.st_mode) && (st.st_uid != geteuid() || st.st_nlink != 1)) {
		snprintf(why, sizeof(why), "%s %s; refusing to replace it", file,
			 st.st_nlink != 1 ? "has other hard links" : "belongs to another user");
		goto fail_fd;
	}
	/* truncated only now that it is known to be ours alone */
	if (S_ISREG(st.st_mode) && (ftruncate(fd, 0) < 0 || fchmod(fd, 0600) < 0)) {
		snprintf(why, sizeof(why), "%s: %s", file, strerror(errno));
		goto fail_fd;
	}
	if (!(fp = fdopen(fd, "w"))) {
		snprintf(why, sizeof(why), "%s: %s", file, strerror(errno));
		goto fail_fd;
	}
	export_regular = S_ISREG(st.st_mode);
	return fp;
fail_fd:
	close(fd);
fail:
	ctl_rollback(c);
	ctl_die(c, EX_CANTCREAT, "%s", why);
}

/* export_stream - run the SELECT (or DELETE) row by row into FP; the rows written */
static long export_stream(struct ctl *c, FILE *fp, const struct export_opts *o)
{
	char why[512];
	long rows = 0;
	PGresult *res;

	if (!PQsendQueryParams(c->conn, o->purge ? export_delete : export_select, 2, NULL,
			       o->params, NULL, NULL, 0) || !PQsetSingleRowMode(c->conn)) {
		snprintf(why, sizeof(why), "export: %.*s",
			 (int)strcspn(PQerrorMessage(c->conn), "\n"), PQerrorMessage(c->conn));
		export_abandon(c, fp, o->file, EX_UNAVAILABLE, why);
	}
	export_row(fp, o->f, NULL);
	while ((res = PQgetResult(c->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			export_row(fp, o->f, res);
			rows++;
		} else if (st != PGRES_TUPLES_OK) {
			const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			int code = ctl_pg_code(c->conn, res);
			snprintf(why, sizeof(why), "export: %s", m ? m : PQerrorMessage(c->conn));
			PQclear(res);
			while ((res = PQgetResult(c->conn)) != NULL)
				PQclear(res);
			export_abandon(c, fp, o->file, code, why);
		}
		PQclear(res);
	}
	return rows;
}

/* export_close - flush FP (and fsync a regular FILE) and close it; a failure abandons */
static void export_close(struct ctl *c, FILE *fp, const char *file)
{
	char why[512];

	if (fflush(fp) != 0 || ferror(fp) || (export_regular && fsync(fileno(fp)) != 0)) {
		snprintf(why, sizeof(why), "writing %s: %s", file ? file : "standard output",
			 strerror(errno));
		export_abandon(c, fp, file, EX_IOERR, why);
	}
	if (file && fclose(fp) != 0) {
		snprintf(why, sizeof(why), "writing %s: %s", file, strerror(errno));
		export_abandon(c, NULL, file, EX_IOERR, why);
	}
}

/* ctl_export - stream the selected events as CSV; with --purge delete them */
int ctl_export(struct ctl *c, int argc, char **argv)
{
	struct export_opts o;
	long rows;
	FILE *fp;

	export_options(c, argc, argv, &o);
	/* --purge deletes: the primary; a plain export reads the replica if it may */
	if (o.purge)
		ctl_connect(c);
	else
		ctl_connect_read(c);
	ctl_cmd(c, "export", "BEGIN", 0, NULL);
	ctl_cmd(c, "export", "SET LOCAL statement_timeout = 0", 0, NULL);
	if (o.params[0])
		export_check_since(c, o.params[0]);
	fp = export_open(c, o.file, o.force);
	rows = export_stream(c, fp, &o);
	export_close(c, fp, o.file);
	ctl_cmd(c, "export commit", "COMMIT", 0, NULL);
	fprintf(stderr, "beaconctl: exported %ld event%s%s\n", rows, rows == 1 ? "" : "s",
		o.purge ? " and deleted them" : "");
	return 0;
}
