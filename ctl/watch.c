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
 *	for that line before it makes events.  A payload holds ids only
 *	(any role that can connect may LISTEN): the notifications that have
 *	arrived are read together with one SELECT that finds each event by
 *	(token_id, at, kind) with its recipient, message and link, under the
 *	rights of the session (beacon_reader's are enough).  The server also
 *	applies --sender (an address, any case, or @domain) and turns the
 *	time into the viewer's zone; a payload naming no stored event prints
 *	nothing.  --json prints one JSON object per event with the keys
 *	token_id, message, address, sender, kind, at, link_n, class,
 *	country, city, client.
 *
 *	Stops after --count events, after --timeout seconds, or on SIGINT or
 *	SIGTERM; exit 0, except EX_TEMPFAIL when the timeout came before
 *	--count events did, and EX_UNAVAILABLE when the session is lost.
 *	A payload that is not JSON is reported and skipped.
 *
 *	watch always runs on the primary, never on read_conninfo's replica:
 *	a hot standby cannot LISTEN, and the events are the primary's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "ctl.h"
#include "output.h"


/* the events of the payloads ($1, a text[]), in payload order, those that pass
 * --sender ($2): the columns of the line, then the JSON object of --json */
static const char watch_sql[] =
	"SELECT to_char(e.at, 'YYYY-MM-DD HH24:MI:SS'), e.kind, e.class, r.address, m.sender, "
	"concat_ws(', ', e.city, e.country), e.client, "
	"CASE WHEN e.kind = 'click' THEN coalesce(l.url, '#' || e.link_n) END, "
	"json_build_object('token_id', e.token_id, 'message', m.id, 'address', r.address, "
	"'sender', m.sender, 'kind', e.kind, 'at', to_char(e.at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'link_n', e.link_n, 'class', e.class, "
	"'country', e.country, 'city', e.city, 'client', e.client)::text "
	"FROM unnest($1::text[]) WITH ORDINALITY AS p(payload, i) "
	"CROSS JOIN LATERAL json_to_record(p.payload::json) AS x(token_id uuid, at timestamptz, "
	"kind text) "
	"JOIN LATERAL (SELECT * FROM beacon.events v WHERE v.token_id = x.token_id "
	"AND v.at = x.at AND v.kind = x.kind LIMIT 1) e ON true "
	"JOIN beacon.recipients r ON r.token_id = e.token_id "
	"JOIN beacon.messages m ON m.id = r.message "
	"LEFT JOIN beacon.links l ON l.message = m.id AND l.n = e.link_n "
	"WHERE $2::text IS NULL OR lower(m.sender) = lower($2) "
	"OR (left($2, 1) = '@' AND right(lower(m.sender), length($2)) = lower($2)) "
	"ORDER BY p.i";

#define WATCH_BATCH 1000	/* notifications read by one SELECT at most */
#define WATCH_JSON_COL 8	/* the --json column of watch_sql */

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

/* watch_array - append V to the array literal *A (length *LEN, room *CAP) as one
 * quoted element; -1 when out of memory */
static int watch_array(char **a, size_t *len, size_t *cap, const char *v)
{
	size_t need = *len + 2 * strlen(v) + 6;	/* , "" and room for } and NUL */

	if (need > *cap) {
		size_t ncap = need * 2;
		char *na = realloc(*a, ncap);
		if (!na)
			return -1;
		*a = na;
		*cap = ncap;
	}
	(*a)[*len] = *len ? ',' : '{';
	(*len)++;
	(*a)[(*len)++] = '"';
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			(*a)[(*len)++] = '\\';
		(*a)[(*len)++] = *v;
	}
	(*a)[(*len)++] = '"';
	(*a)[*len] = '\0';
	return 0;
}

/* watch_query - the details of the N payloads in V; NULL (warned) when the server
 * refused them, exits when the session is lost */
static PGresult *watch_query(struct ctl *c, PGnotify **v, int n, const char *sender)
{
	char *arr = NULL;
	size_t len = 0, cap = 0;
	const char *params[2];
	PGresult *res;

	for (int i = 0; i < n; i++) {
		if (watch_array(&arr, &len, &cap, v[i]->extra) < 0) {
			free(arr);
			ctl_die(c, EX_OSERR, "out of memory");
		}
	}
	arr[len++] = '}';
	arr[len] = '\0';
	params[0] = arr;
	params[1] = sender;
	res = PQexecParams(c->conn, watch_sql, 2, NULL, params, NULL, NULL, 0);
	free(arr);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	if (PQstatus(c->conn) != CONNECTION_OK)
		ctl_pg_die(c, res, "watch");
	if (n == 1)
		fprintf(stderr, "beaconctl: warning: watch: payload skipped: %s",
			PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

/* watch_print - print the rows of RES, at most LEFT of them (0: all); how many */
static long watch_print(PGresult *res, long left, int json)
{
	const char *v[WATCH_NCOLS];
	long shown = 0;

	for (int r = 0; r < PQntuples(res) && (!left || shown < left); r++, shown++) {
		if (json) {
			fputs(PQgetvalue(res, r, WATCH_JSON_COL), stdout);
			fputc('\n', stdout);
			continue;
		}
		for (int i = 0; i < WATCH_NCOLS; i++)
			v[i] = PQgetisnull(res, r, i) ? "" : PQgetvalue(res, r, i);
		watch_line(v);
	}
	fflush(stdout);
	return shown;
}

/* watch_batch - print the events of the N notifications in V (freed), at most LEFT
 * (0: all); a refused batch (a payload that is not JSON) is read one by one; how
 * many were printed */
static long watch_batch(struct ctl *c, PGnotify **v, int n, const char *sender, long left,
			int json)
{
	PGresult *res = watch_query(c, v, n, sender);
	long shown = 0;

	if (res) {
		shown = watch_print(res, left, json);
		PQclear(res);
	} else if (n > 1) {
		for (int i = 0; i < n && (!left || shown < left); i++) {
			if ((res = watch_query(c, v + i, 1, sender))) {
				shown += watch_print(res, left ? left - shown : 0, json);
				PQclear(res);
			}
		}
	}
	for (int i = 0; i < n; i++)
		PQfreemem(v[i]);
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
	int ch, json = 0, nb;
	struct sigaction sa;
	PGnotify *n, *batch[WATCH_BATCH];

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
		/* a query reads what arrived meanwhile: ask again until none is left */
		do {
			nb = 0;
			while (nb < WATCH_BATCH && (n = PQnotifies(c->conn)) != NULL)
				batch[nb++] = n;
			if (nb)
				seen += watch_batch(c, batch, nb, sender, count ? count - seen : 0,
						    json);
		} while (nb > 0 && (!count || seen < count));
	}
	if (count && seen < count && !watch_stop) {
		fprintf(stderr, "beaconctl: watch: %ld of %ld events before the %ld s timeout\n",
			seen, count, timeout);
		return EX_TEMPFAIL;
	}
	return 0;
}
