/*
 * NAME
 *	reclassify.c - beaconctl reclassify: run the class rules again over stored events
 *
 * SYNOPSIS
 *	beaconctl reclassify [--since DATE] [--message ID] [--dry-run]
 *
 * DESCRIPTION
 *	After machines.yaml, mail-clients.yaml, apple_relay_ranges,
 *	internal_networks or a timing key changed, the events already stored
 *	keep the class they were given.  reclassify reads them again (all of
 *	them, those at or after --since, or those of one message: its uuid or
 *	its Message-ID), runs the same per-event rules as beacon-pixelsrv's
 *	writer (pixelsrv/classify.c) over the stored fields — kind, link,
 *	address, User-Agent, AS number, the request flags kept in hints, and
 *	the message's sending time and client address — and writes the
 *	events whose class, reason or late flag changed.  Then it runs the
 *	rules that need other events (beacon.classify_followup) for every
 *	token it read.  It prints what moved, from which class to which and
 *	why.  A second run moves nothing: the rules are a function of the
 *	stored fields.
 *
 *	One session reads through a cursor (one snapshot); a second one
 *	writes, per batch of 1,000 changes, each batch committed: an
 *	interrupted run leaves every event with either its old class or its
 *	new one, and a new run finishes the work.  An event the writer
 *	changed meanwhile is left as the writer set it.
 *
 *	Classes set by the follow-up rules (honeypot-peer, click-burst) are
 *	kept when the per-event rules find nothing: the follow-up rules
 *	decide those.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cidr.h"
#include "classify.h"
#include "ctl.h"
#include "db.h"
#include "machines.h"
#include "relay.h"
#include "ua.h"

#define RC_FETCH 2000		/* rows per FETCH (RC_FETCH_SQL) */
#define RC_FETCH_SQL "FETCH 2000 FROM rc"
#define RC_BATCH 1000		/* changes per UPDATE transaction */
#define RC_FOLLOW 1000		/* tokens per classify_followup call */

/* the stored fields the rules read; the message by uuid or Message-ID ($2 '' = all) */
static const char rc_select_sql[] =
	"DECLARE rc NO SCROLL CURSOR FOR "
	"SELECT e.tableoid::regclass::text, e.ctid::text, e.token_id, "
	" (extract(epoch FROM e.at) * 1000000)::bigint, e.kind, coalesce(e.link_n, -1), "
	" coalesce(host(e.ip), ''), coalesce(e.user_agent, ''), coalesce(e.asn, 0), e.hints, "
	" e.class, coalesce(e.reason, ''), e.late, "
	" (extract(epoch FROM m.sent_at) * 1000000)::bigint, coalesce(host(m.client_ip), ''), "
	" m.id IS NOT NULL, "
	" e.kind = 'open' AND EXISTS (SELECT 1 FROM beacon.events h WHERE h.token_id = e.token_id AND h.at > e.at "
	"  AND h.class = 'human' AND h.kind IN ('open', 'click', 'download') "
	"  AND h.ip IS NOT DISTINCT FROM e.ip) "
	"FROM beacon.events e "
	"LEFT JOIN beacon.recipients r ON r.token_id = e.token_id "
	"LEFT JOIN beacon.messages m ON m.id = r.message "
	"WHERE e.kind IN ('open', 'click', 'download') AND e.at >= $1::timestamptz "
	"AND ($2 = '' OR m.id::text = lower($2) OR m.message_id = $2 "
	"     OR m.message_id = '<' || $2 || '>')";

/* rc_change - one event to write */
struct rc_change {
	char part[128];		/* its partition (regclass text) */
	char ctid[32];		/* its ctid in the snapshot */
	char old_cls[16];	/* its class when read: the UPDATE skips it if it changed */
	char cls[16];		/* new class */
	char reason[CLASSIFY_REASON_MAX];	/* new reason, "" for NULL */
	int late;		/* new late */
};

/* rc_move - one line of the summary: how many moved from one class (and reason) to another, and why */
struct rc_move {
	char from[16 + CLASSIFY_REASON_MAX + 3], to[16], reason[CLASSIFY_REASON_MAX];
	long n;
};

/* rc_state - one run */
struct rc_state {
	struct ctl *c;
	PGconn *w;			/* the writing session (NULL with --dry-run) */
	struct event_ctx ctx;		/* the rules */
	struct rc_change *ch;		/* changes not written yet */
	size_t nch;
	struct rc_move *mv;		/* the summary */
	size_t nmv;
	char (*tok)[TOKEN_UUID_LEN + 1];	/* tokens read, for the follow-up rules */
	size_t ntok, captok;
	long read, changed;		/* events read, events written */
};

/* rc_count - add one move to the summary */
static void rc_count(struct rc_state *s, const char *from, const char *to, const char *why,
    long n)
{
	size_t i;

	for (i = 0; i < s->nmv; i++)
		if (!strcmp(s->mv[i].from, from) && !strcmp(s->mv[i].to, to) &&
		    !strcmp(s->mv[i].reason, why))
			break;
	if (i == s->nmv) {
		struct rc_move *m = realloc(s->mv, (s->nmv + 1) * sizeof(*m));

		if (!m)
			ctl_die(s->c, EX_OSERR, "out of memory");
		s->mv = m;
		memset(&m[i], 0, sizeof(m[i]));
		snprintf(m[i].from, sizeof(m[i].from), "%s", from);
		snprintf(m[i].to, sizeof(m[i].to), "%s", to);
		snprintf(m[i].reason, sizeof(m[i].reason), "%s", why);
		s->nmv++;
	}
	s->mv[i].n += n;
}

/* rc_exec - a statement on the writing session; exits on failure */
static PGresult *rc_exec(struct rc_state *s, const char *sql, int n, const char *const *p)
{
	PGresult *res = PQexecParams(s->w, sql, n, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "beaconctl: reclassify: %s", PQerrorMessage(s->w));
		PQclear(res);
		PQexec(s->w, "ROLLBACK");
		ctl_exit(s->c, EX_SOFTWARE);
	}
	return res;
}

/* rc_flush - write the pending changes, grouped by partition and new values, one transaction */
static void rc_flush(struct rc_state *s)
{
	char *tids, late[2];
	size_t i, j, len;
	const char *p[5];

	if (s->nch == 0)
		return;
	if (!s->w) {
		s->nch = 0;
		return;
	}
	if (!(tids = malloc(s->nch * 34 + 3)))
		ctl_die(s->c, EX_OSERR, "out of memory");
	PQclear(rc_exec(s, "BEGIN", 0, NULL));
	for (i = 0; i < s->nch; i++) {
		struct rc_change *a = &s->ch[i];
		char sql[512];
		PGresult *res;

		if (!a->part[0])
			continue;	/* written with an earlier group */
		len = 0;
		tids[len++] = '{';
		for (j = i; j < s->nch; j++) {
			struct rc_change *b = &s->ch[j];

			if (!b->part[0] || strcmp(a->part, b->part) || strcmp(a->cls, b->cls) ||
			    strcmp(a->reason, b->reason) || a->late != b->late ||
			    strcmp(a->old_cls, b->old_cls))
				continue;
			len += (size_t)sprintf(tids + len, "%s\"%s\"", len > 1 ? "," : "", b->ctid);
			if (j != i)
				b->part[0] = '\0';
		}
		tids[len++] = '}';
		tids[len] = '\0';
		/* the row read, unless the writer changed its class since: then it is left */
		snprintf(sql, sizeof(sql), "UPDATE %s SET class = $1, reason = nullif($2, ''), "
		    "late = $3::boolean WHERE ctid = ANY ($4::tid[]) AND class = $5", a->part);
		snprintf(late, sizeof(late), "%c", a->late ? 't' : 'f');
		p[0] = a->cls;
		p[1] = a->reason;
		p[2] = late;
		p[3] = tids;
		p[4] = a->old_cls;
		res = rc_exec(s, sql, 5, p);
		s->changed += strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		a->part[0] = '\0';
	}
	PQclear(rc_exec(s, "COMMIT", 0, NULL));
	free(tids);
	s->nch = 0;
}

/* rc_tok_cmp - qsort order of the token strings */
static int rc_tok_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* rc_tok_uniq - sort the tokens read and keep each once */
static void rc_tok_uniq(struct rc_state *s)
{
	size_t i, j;

	if (s->ntok == 0)
		return;
	qsort(s->tok, s->ntok, sizeof(*s->tok), rc_tok_cmp);
	for (i = j = 0; i < s->ntok; i++)
		if (j == 0 || strcmp(s->tok[j - 1], s->tok[i]) != 0)
			memcpy(s->tok[j++], s->tok[i], sizeof(*s->tok));
	s->ntok = j;
}

/* rc_token - remember token T for the follow-up rules */
static void rc_token(struct rc_state *s, const char *t)
{
	if (s->ntok && strcmp(s->tok[s->ntok - 1], t) == 0)
		return;
	if (s->ntok == s->captok) {
		rc_tok_uniq(s);		/* full: one entry per token, not per event */
		if (s->captok == 0 || s->ntok > s->captok / 2) {	/* still half full: grow */
			size_t cap = s->captok ? s->captok * 2 : 1024;
			void *v = realloc(s->tok, cap * sizeof(*s->tok));

			if (!v)
				ctl_die(s->c, EX_OSERR, "out of memory");
			s->tok = v;
			s->captok = cap;
		}
	}
	snprintf(s->tok[s->ntok++], TOKEN_UUID_LEN + 1, "%s", t);
}

/* rc_addr - text address A into SS; the sockaddr, or NULL */
static const struct sockaddr *rc_addr(const char *a, struct sockaddr_storage *ss)
{
	return cidr_addr_parse(a, ss) == 0 ? (const struct sockaddr *)ss : NULL;
}

/* rc_row - run the rules over row R of RES; queue a change when the answer differs */
static void rc_row(struct rc_state *s, PGresult *res, int r)
{
	const char *kind = PQgetvalue(res, r, 4), *ua = PQgetvalue(res, r, 7);
	const char *cur = PQgetvalue(res, r, 10), *cur_reason = PQgetvalue(res, r, 11);
	int cur_late = strcmp(PQgetvalue(res, r, 12), "t") == 0;
	struct sockaddr_storage ss;
	struct classify_facts f;
	struct classify_in in;
	struct classify_out out;
	struct ua_info ui;
	const char *to;
	char from[sizeof(((struct rc_move *)0)->from)];
	long link = strtol(PQgetvalue(res, r, 5), NULL, 10);

	memset(&f, 0, sizeof(f));
	if (strcmp(PQgetvalue(res, r, 15), "t") == 0) {
		f.known = 1;
		f.sent_us = strtoll(PQgetvalue(res, r, 13), NULL, 10);
		f.has_sender = rc_addr(PQgetvalue(res, r, 14), &f.sender) != NULL;
	}
	if (s->ctx.ua)
		ua_parse(s->ctx.ua, ua, &ui);
	in = (struct classify_in){
		.kind = !strcmp(kind, "click") ? EVENT_CLICK :
			!strcmp(kind, "download") ? EVENT_DOWNLOAD : EVENT_OPEN,
		.link_n = link < 0 ? 1 : (uint32_t)link,
		.flags = (uint8_t)strtol(PQgetvalue(res, r, 9), NULL, 10),
		.sa = rc_addr(PQgetvalue(res, r, 6), &ss),
		.ua = s->ctx.ua ? &ui : NULL, .ua_raw = ua, .ua_len = strlen(ua),
		.asn = (uint32_t)strtoul(PQgetvalue(res, r, 8), NULL, 10),
		.at_us = strtoll(PQgetvalue(res, r, 3), NULL, 10),
		.facts = &f,
	};
	classify_event(&s->ctx, &in, &out);
	s->read++;
	rc_token(s, PQgetvalue(res, r, 2));
	if (!strcmp(out.reason, "datacenter-early") && !strcmp(PQgetvalue(res, r, 16), "t")) {
		out.cls = EVENT_HUMAN;	/* the reversal of classify_followup: a person came later */
		out.reason[0] = '\0';
	}
	to = event_class_str(out.cls);
	if ((!strcmp(cur_reason, "honeypot-peer") || !strcmp(cur_reason, "click-burst")) &&
	    (out.cls == EVENT_HUMAN || out.cls == EVENT_BOT ||
	    (out.cls == EVENT_PREFETCH && !strcmp(out.reason, "datacenter-early"))))
		return;		/* the follow-up rules own these: they would move them back */
	if (in.flags == 0 && !cur_reason[0] && out.cls == EVENT_HUMAN &&
	    (!strcmp(cur, "internal") || !strcmp(cur, "prefetch")))
		return;		/* stored before hints were: decided on the full address, now cut */
	if (!strcmp(cur, to) && !strcmp(cur_reason, out.reason) && cur_late == out.late)
		return;
	if (s->nch == RC_BATCH)
		rc_flush(s);
	struct rc_change *c = &s->ch[s->nch++];
	snprintf(c->part, sizeof(c->part), "%s", PQgetvalue(res, r, 0));
	snprintf(c->ctid, sizeof(c->ctid), "%s", PQgetvalue(res, r, 1));
	snprintf(c->cls, sizeof(c->cls), "%s", to);
	snprintf(c->reason, sizeof(c->reason), "%s", out.reason);
	snprintf(c->old_cls, sizeof(c->old_cls), "%s", cur);
	c->late = out.late;
	snprintf(from, sizeof(from), "%s%s%s%s", cur, *cur_reason ? "(" : "", cur_reason,
	    *cur_reason ? ")" : "");
	rc_count(s, from, to, cur_late != out.late ? (out.late ? "late" : "not late") : out.reason,
	    1);
}

/* rc_followup - beacon.classify_followup over every token read, once each, in slices */
static void rc_followup(struct rc_state *s, const char *burst)
{
	size_t i, j, len;
	char *arr;
	const char *p[2];

	if (!s->w || s->ntok == 0)
		return;
	rc_tok_uniq(s);
	if (!(arr = malloc(RC_FOLLOW * (TOKEN_UUID_LEN + 1) + 3)))
		ctl_die(s->c, EX_OSERR, "out of memory");
	for (i = 0; i < s->ntok; i += RC_FOLLOW) {
		PGresult *res;

		len = 0;
		arr[len++] = '{';
		for (j = i; j < s->ntok && j < i + RC_FOLLOW; j++)
			len += (size_t)sprintf(arr + len, "%s%s", j > i ? "," : "", s->tok[j]);
		arr[len++] = '}';
		arr[len] = '\0';
		p[0] = arr;
		p[1] = burst;
		res = rc_exec(s, "SELECT old_class, new_class, coalesce(reason, ''), n "
		    "FROM beacon.classify_followup($1::uuid[], $2::int)", 2, p);
		for (int r = 0; r < PQntuples(res); r++) {
			long n = strtol(PQgetvalue(res, r, 3), NULL, 10);

			rc_count(s, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
			    PQgetvalue(res, r, 2), n);
			s->changed += n;
		}
		PQclear(res);
	}
	free(arr);
}

/* rc_cidrs - the set of L (KEY names it in messages); NULL when L is empty */
static struct cidr_set *rc_cidrs(struct rc_state *s, const struct cfg_list *l, const char *key)
{
	struct cidr_set *set;
	char err[512];

	if (l->n == 0)
		return NULL;
	if (!(set = cidr_set_new()))
		ctl_die(s->c, EX_OSERR, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		if (cidr_set_add(set, l->v[i], NULL, err, sizeof(err)) < 0)
			ctl_die(s->c, EX_CONFIG, "[pixelsrv] %s: %s", key, err);
	if (cidr_set_finish(set) < 0)
		ctl_die(s->c, EX_OSERR, "out of memory");
	return set;
}

/* rc_rules - load the rule files the writer uses, from [pixelsrv] */
static void rc_rules(struct rc_state *s)
{
	const struct beacon_cfg *cfg = &s->c->cfg;
	char err[1024];

	s->ctx.scanner_click_s = (int)cfg->pixelsrv.scanner_click_seconds;
	s->ctx.machine_open_s = (int)cfg->pixelsrv.machine_open_seconds;
	s->ctx.count_window_days = (int)cfg->pixelsrv.count_window_days;
	if (!(s->ctx.ua = ua_open(cfg->pixelsrv.uap_regexes, cfg->pixelsrv.mail_clients, err,
	    sizeof(err))))
		ctl_die(s->c, EX_CONFIG, "[pixelsrv] User-Agent rules: %s", err);
	if (cfg->pixelsrv.machines && *cfg->pixelsrv.machines &&
	    !(s->ctx.machines = machines_load(cfg->pixelsrv.machines, err, sizeof(err))))
		ctl_die(s->c, EX_CONFIG, "[pixelsrv] machines: %s", err);
	if (cfg->pixelsrv.apple_relay_ranges && *cfg->pixelsrv.apple_relay_ranges &&
	    !(s->ctx.relay = relay_load(cfg->pixelsrv.apple_relay_ranges, err, sizeof(err))))
		ctl_die(s->c, EX_CONFIG, "[pixelsrv] apple_relay_ranges: %s", err);
	s->ctx.internal = rc_cidrs(s, &cfg->pixelsrv.internal_networks, "internal_networks");
	s->ctx.trusted = rc_cidrs(s, &cfg->pixelsrv.trusted_proxies, "trusted_proxies");
}

/* rc_free - what rc_rules and the run allocated */
static void rc_free(struct rc_state *s)
{
	ua_close(s->ctx.ua);
	machines_free((struct machines_db *)s->ctx.machines);
	relay_free((struct relay_db *)s->ctx.relay);
	cidr_set_free((struct cidr_set *)s->ctx.internal);
	cidr_set_free((struct cidr_set *)s->ctx.trusted);
	free(s->ch);
	free(s->mv);
	free(s->tok);
	if (s->w)
		PQfinish(s->w);
}

/* ctl_reclassify - see the top of the file */
int ctl_reclassify(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "message", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct rc_state s = { .c = c };
	const char *since = "-infinity", *message = "", *p[2];
	char err[1024], burst[16];
	int ch, dry = 0;
	long moved = 0;
	PGresult *res;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'm': message = optarg; break;
		case 'n': dry = 1; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error(c, "unexpected argument '%s'", argv[optind]);
	ctl_connect(c);
	p[0] = since;
	PQclear(ctl_exec(c, "reclassify --since", "SELECT $1::timestamptz", 1, p));
	rc_rules(&s);
	if (!(s.ch = calloc(RC_BATCH, sizeof(*s.ch))))
		ctl_die(c, EX_OSERR, "out of memory");
	if (!dry && !(s.w = db_connect(&c->cfg, "beaconctl", err, sizeof(err))))
		ctl_die(c, EX_UNAVAILABLE, "%s", err);
	ctl_cmd(c, "reclassify", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
	p[1] = message;
	ctl_cmd(c, "reclassify", rc_select_sql, 2, p);
	for (;;) {
		int n;

		res = ctl_exec(c, "reclassify", RC_FETCH_SQL, 0, NULL);
		n = PQntuples(res);
		for (int r = 0; r < n; r++)
			rc_row(&s, res, r);
		PQclear(res);
		if (n < RC_FETCH)
			break;
	}
	rc_flush(&s);	/* while the snapshot holds: no ctid read can be reused meanwhile */
	ctl_cmd(c, "reclassify", "COMMIT", 0, NULL);
	snprintf(burst, sizeof(burst), "%ld", c->cfg.pixelsrv.click_burst_seconds);
	rc_followup(&s, burst);

	printf("%-10s %-10s %-28s %s\n", "from", "to", "reason", dry ? "would move" : "moved");
	for (size_t i = 0; i < s.nmv; i++)
		printf("%-10s %-10s %-28s %ld\n", s.mv[i].from, s.mv[i].to,
		    s.mv[i].reason[0] ? s.mv[i].reason : "-", s.mv[i].n);
	for (size_t i = 0; i < s.nmv; i++)
		moved += s.mv[i].n;
	if (dry)
		printf("%ld events read, %ld would move (dry run: the follow-up rules not run)\n",
		    s.read, moved);
	else if (moved != s.changed)
		printf("%ld events read, %ld moved, %ld left as the pixel server changed them meanwhile\n",
		    s.read, s.changed, moved - s.changed);
	else
		printf("%ld events read, %ld moved\n", s.read, s.changed);
	rc_free(&s);
	return 0;
}
