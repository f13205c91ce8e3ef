/*
 * NAME
 *	watch.c - beaconctl watch: events as they happen
 *
 * SYNOPSIS
 *	beaconctl watch [--sender ADDRESS|@DOMAIN] [--count N]
 *			[--timeout SECONDS] [--json]
 *
 * DESCRIPTION
 *	LISTENs on the channel beacon_event (sent for events of messages
 *	with notify on, see sql/schema) and prints one line per event under
 *	a header line.  Once the LISTEN is in place it says so on stderr
 *	("beaconctl: watch: listening on beacon_event"), so a script can wait
 *	for that line before it makes events.  The JSON payload is read by
 *	the server itself (json_to_record, the payload a parameter), which
 *	also applies --sender (an address, any case, or @domain), turns the
 *	time into the viewer's zone and finds the URL of a clicked link.
 *	--json prints each matching payload as it came, one per line.
 *
 *	Stops after --count events, after --timeout seconds, or on SIGINT or
 *	SIGTERM; exit 0, except EX_TEMPFAIL when the timeout came before
 *	--count events did, and EX_UNAVAILABLE when the session is lost.
 *	A payload that is not JSON is reported and skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "ctl.h"
#include "output.h"


/* one row per payload that passes --sender; no row when it does not */
static const char watch_sql[] =
	"SELECT to_char(x.at::timestamptz, 'YYYY-MM-DD HH24:MI:SS'), x.kind, x.class, "
	"x.address, x.sender, concat_ws(', ', x.city, x.country), x.client, "
	"CASE WHEN x.kind = 'click' THEN coalesce(l.url, '#' || x.link_n) END "
	"FROM json_to_record($1::json) AS x(at text, kind text, class text, address text, "
	"sender text, city text, country text, client text, link_n int, message uuid) "
	"LEFT JOIN beacon.links l ON l.message = x.message AND l.n = x.link_n "
	"WHERE $2::text IS NULL OR lower(x.sender) = lower($2) "
	"OR (left($2, 1) = '@' AND right(lower(x.sender), length($2)) = lower($2))";

/* column widths of the line (the last column is not padded) */
static const int watch_width[] = { 19, 8, 8, 28, 28, 22, 14, 0 };
static const char *const watch_head[] = {
	"at", "kind", "class", "address", "sender", "place", "client", "link",
};
#define WATCH_NCOLS (int)(sizeof(watch_width) / sizeof(watch_width[0]))

static volatile sig_atomic_t watch_stop;	/* SIGINT or SIGTERM seen */

/* watch_signal - ask the loop to stop */
static void watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* watch_line - print one row: columns padded, two spaces apart */
static void watch_line(const char *const *v)
{
	int end = WATCH_NCOLS - 1;

	/* no trailing blanks when the last columns are empty */
	while (end > 0 && !*v[end])
		end--;
	for (int i = 0; i <= end; i++) {
		out_text(stdout, v[i], i == end ? 0 : watch_width[i], 0);
		if (i != end)
			fputs("  ", stdout);
	}
	fputc('\n', stdout);
}

/* watch_event - print N's payload if it passes the filter, free N; 1 if printed */
static int watch_event(struct ctl *c, PGnotify *n, const char *sender, int json)
{
	const char *payload = n->extra, *params[2] = { payload, sender };
	const char *v[WATCH_NCOLS];
	PGresult *res = PQexecParams(c->conn, watch_sql, 2, NULL, params, NULL, NULL, 0);
	int shown = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQfreemem(n);
		if (PQstatus(c->conn) != CONNECTION_OK)
			ctl_pg_die(c, res, "watch");
		fprintf(stderr, "beaconctl: warning: watch: payload skipped: %s",
			PQresultErrorMessage(res));
		PQclear(res);
		return 0;
	}
	if (PQntuples(res) == 1) {
		if (json) {
			fputs(payload, stdout);
			fputc('\n', stdout);
		} else {
			for (int i = 0; i < WATCH_NCOLS; i++)
				v[i] = PQgetisnull(res, 0, i) ? "" : PQgetvalue(res, 0, i);
			watch_line(v);
		}
		fflush(stdout);
		shown = 1;
	}
	PQclear(res);
	PQfreemem(n);
	return shown;
}

/* ctl_watch - LISTEN and print until count, timeout or a signal */
int ctl_watch(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sender = NULL;
	long count = 0, timeout = 0, seen = 0;
	long long deadline = 0;
	int ch, json = 0;
	struct sigaction sa;
	PGnotify *n;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sender = optarg;
			if (!*sender || strchr(sender, '@') == NULL)
				ctl_usage_error(c, "--sender '%s': expected an address "
					  "or @domain", optarg);
			break;
		case 'n':
			if (ctl_parse_long(optarg, 1, 1000000000L, &count) < 0)
				ctl_usage_error(c, "--count '%s': expected a number "
					  "of events, 1 or more", optarg);
			break;
		case 't':
			if (ctl_parse_long(optarg, 1, 31536000L, &timeout) < 0)
				ctl_usage_error(c, "--timeout '%s': expected seconds, "
					  "1 to 31536000", optarg);
			break;
		case 'J': json = 1; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ctl_connect(c);
	ctl_cmd(c, "listen", "LISTEN beacon_event", 0, NULL);
	if (!json)
		watch_line(watch_head);
	fflush(stdout);
	fprintf(stderr, "beaconctl: watch: listening on beacon_event\n");
	if (timeout)
		deadline = clock_after_ms(timeout * 1000LL);

	while (!watch_stop && (!count || seen < count)) {
		struct pollfd pfd = { .fd = PQsocket(c->conn), .events = POLLIN };
		int wait_ms = -1, r;

		if (deadline) {
			int left = clock_left_ms(deadline);
			if (left == 0)
				break;
			wait_ms = left > 60000 ? 60000 : left;
		}
		r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno != EINTR)
			ctl_die(c, EX_OSERR, "poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		if (!PQconsumeInput(c->conn))
			ctl_die(c, EX_UNAVAILABLE, "lost the database session: %.*s",
				(int)strcspn(PQerrorMessage(c->conn), "\n"),
				PQerrorMessage(c->conn));
		while ((!count || seen < count) && (n = PQnotifies(c->conn)) != NULL) {
			seen += watch_event(c, n, sender, json);
		}
	}
	if (count && seen < count && !watch_stop) {
		fprintf(stderr, "beaconctl: watch: %ld of %ld events before the %ld s timeout\n",
			seen, count, timeout);
		return EX_TEMPFAIL;
	}
	return 0;
}
