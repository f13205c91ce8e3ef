/*
 * NAME
 *	facts.c - per-message facts for the writer's rules, and the follow-up call
 *
 * DESCRIPTION
 *	See facts.h.  The cache is direct-mapped on the recipient id (random
 *	bytes: its first four spread well); a collision replaces the older
 *	entry, which costs one more lookup later.  The ids of the current
 *	batch are answered from their own table (batch, sorted by id at
 *	facts_fetch), filled from the cache or from the query: two tokens of
 *	one batch that share a cache entry both keep their facts.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "clock.h"
#include "db.h"
#include "facts.h"
#include "log.h"

#define FACTS_SLOTS 16384		/* cache entries (a power of two) */
#define FACTS_TTL_MS 300000		/* a known token's facts are asked again after this */
#define FACTS_UNMARKED_TTL_MS 60000	/* ... or this without a honeypot hit, so a new one is seen */
#define FACTS_UNKNOWN_TTL_MS 30000	/* an unknown token is asked again after this */
#define FACTS_REFUSED_MS 60000		/* after a refusal, no query for this long */
#define FACTS_FOLLOW_KEEP 100000	/* ids kept for the next follow-up after a failed one */
#define FACTS_RETRY_MS 5000		/* after a failure (a timeout, a deadlock), no query for this long */

#define FACTS_MARKS 4096		/* messages remembered as marked (a power of two) */

#define FACTS_MARK_WINDOW_US 600000000LL	/* honeypot-peer's window in classify_followup */

#define FACTS_SQL "SELECT token_id, (extract(epoch FROM sent_at) * 1000000)::bigint, " \
	"host(client_ip), marked, message, " \
	"coalesce((extract(epoch FROM marked_until) * 1000000)::bigint, 0) " \
	"FROM beacon.recipient_facts($1::uuid[])"
#define FOLLOWUP_SQL "SELECT old_class, new_class, coalesce(reason, ''), n " \
	"FROM beacon.classify_followup($1::uuid[], $2::int)"

/* facts_slot - one cached token */
struct facts_slot {
	uint8_t rid[TOKEN_RID_LEN];	/* the token's recipient id */
	uint8_t message[TOKEN_RID_LEN];	/* its message's id */
	long long until;		/* clock_now_ms() when it must be asked again; 0: empty */
	int marked;			/* its message has a honeypot hit */
	int64_t marked_until_us;	/* an event after this is no marked scanner's (0: none) */
	struct classify_facts f;	/* f.known 0: no such token */
};

/* rid_list - a growing list of recipient ids */
struct rid_list {
	uint8_t (*v)[TOKEN_RID_LEN];
	size_t n, cap;
};

/* facts_mark - a message this writer saw a honeypot hit for */
struct facts_mark {
	uint8_t message[TOKEN_RID_LEN];	/* the message's id */
	int64_t until_us;		/* the hit's time + the window; 0: empty */
};

/* facts_cache - see facts.h */
struct facts_cache {
	struct facts_slot *slot;	/* FACTS_SLOTS entries */
	struct facts_mark *mark;	/* FACTS_MARKS entries, direct-mapped like slot */
	struct facts_slot *batch;	/* the current batch's ids (until 0: not known yet) */
	size_t nbatch, capbatch;
	struct rid_list want;		/* ids to look up */
	struct rid_list follow;		/* ids for the follow-up rules */
	long long fetch_off;		/* no recipient_facts query before this (refused, failed) */
	long long follow_off;		/* no classify_followup call before this (refused, failed) */
};

/* slot_of - the cache entry for RID */
static struct facts_slot *slot_of(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	uint32_t h = (uint32_t)rid[0] | (uint32_t)rid[1] << 8 | (uint32_t)rid[2] << 16 |
	    (uint32_t)rid[3] << 24;

	return &fc->slot[h & (FACTS_SLOTS - 1)];
}

/* fresh - the entry for RID, when it holds RID and has not expired */
static struct facts_slot *fresh(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	struct facts_slot *s = slot_of(fc, rid);

	if (s->until == 0 || memcmp(s->rid, rid, TOKEN_RID_LEN) != 0 || s->until < clock_now_ms())
		return NULL;
	return s;
}

/* list_add - append RID to L */
static void list_add(struct rid_list *l, const uint8_t rid[TOKEN_RID_LEN])
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			log_fatalx("out of memory for %zu recipient ids", cap);
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], rid, TOKEN_RID_LEN);
}

/* list_array - L as a PostgreSQL uuid[] literal (malloc'd) */
static char *list_array(const struct rid_list *l)
{
	char *a = malloc(l->n * (TOKEN_UUID_LEN + 1) + 3), *p = a;

	if (!a)
		log_fatalx("out of memory");
	*p++ = '{';
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			*p++ = ',';
		token_rid_uuid(l->v[i], p);
		p += TOKEN_UUID_LEN;
	}
	*p++ = '}';
	*p = '\0';
	return a;
}

/* fa_missing - does RES say the schema lacks the function or the role may not run it? */
static int fa_missing(const PGresult *res)
{
	static const char *const states[] = { "42883", "42P01", "42501", "3F000", "42703" };

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (db_sqlstate_is(res, states[i]))
			return 1;
	return 0;
}

/* fa_query - run SQL with PARAMS; 0 with *RES, 1 refused for good (logged, paused),
 * 2 failed this time (a deadlock, a timeout: logged, tried again with the next batch),
 * -1 session failed */
static int fa_query(PGconn *conn, const char *sql, int n, const char *const *params,
    long long deadline, long long *off, PGresult **res)
{
	enum db_fault f;
	int len;

	*res = NULL;
	f = db_flush(conn, PQsendQueryParams(conn, sql, n, NULL, params, NULL, NULL, 0), deadline);
	if (f == DB_OK)
		f = db_results(conn, deadline, res);
	if (f == DB_OK && PQresultStatus(*res) == PGRES_TUPLES_OK)
		return 0;
	if (f != DB_TIMEOUT && *res && PQstatus(conn) == CONNECTION_OK) {
		const char *msg = db_error(conn, *res, &len);
		const char *fn = strstr(sql, "followup") ? "beacon.classify_followup()" :
		    "beacon.recipient_facts()";
		int missing = fa_missing(*res);

		if (missing)
			log_warnx("event classes: %s refused (%.*s); events are stored with the "
			    "rules that need no message facts; run beaconctl migrate, then "
			    "beaconctl reclassify", fn, len, msg);
		else
			log_warnx("event classes: %s failed (%s: %.*s); tried again with the "
			    "next batch", fn, db_sqlstate(*res) ? db_sqlstate(*res) : "?", len, msg);
		PQclear(*res);
		*res = NULL;
		*off = clock_now_ms() + (missing ? FACTS_REFUSED_MS : FACTS_RETRY_MS);
		return missing ? 1 : 2;
	}
	PQclear(*res);
	*res = NULL;
	return -1;
}

/* facts_new - see facts.h */
struct facts_cache *facts_new(void)
{
	struct facts_cache *fc = calloc(1, sizeof(*fc));

	if (fc && (!(fc->slot = calloc(FACTS_SLOTS, sizeof(*fc->slot))) ||
	    !(fc->mark = calloc(FACTS_MARKS, sizeof(*fc->mark))))) {
		free(fc->slot);
		free(fc);
		return NULL;
	}
	return fc;
}

/* slot_cmp - qsort/bsearch order of slots (and of a bare id as the key) by id */
static int slot_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TOKEN_RID_LEN);	/* rid is the first member */
}

/* in_batch - RID's entry in the current batch, or NULL */
static struct facts_slot *in_batch(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	return fc->nbatch ? bsearch(rid, fc->batch, fc->nbatch, sizeof(*fc->batch), slot_cmp) :
	    NULL;
}

/* entry - RID's facts: from the batch, else from the cache if fresh; NULL if none */
static struct facts_slot *entry(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	struct facts_slot *s = in_batch(fc, rid);

	return s && s->until ? s : s ? NULL : fresh(fc, rid);
}

/* facts_begin - see facts.h */
void facts_begin(struct facts_cache *fc)
{
	fc->nbatch = 0;
	fc->want.n = 0;
}

/* facts_want - see facts.h */
void facts_want(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	struct facts_slot *c = fresh(fc, rid), *b;

	if (fc->nbatch == fc->capbatch) {
		size_t cap = fc->capbatch ? fc->capbatch * 2 : 256;
		void *v = realloc(fc->batch, cap * sizeof(*fc->batch));

		if (!v)
			log_fatalx("out of memory for %zu recipient ids", cap);
		fc->batch = v;
		fc->capbatch = cap;
	}
	b = &fc->batch[fc->nbatch++];
	if (c) {
		*b = *c;
		return;
	}
	memset(b, 0, sizeof(*b));
	memcpy(b->rid, rid, TOKEN_RID_LEN);
	list_add(&fc->want, rid);
}

/* fa_store - one row of recipient_facts into the cache */
static void fa_store(struct facts_cache *fc, PGresult *res, int r, long long now)
{
	uint8_t rid[TOKEN_RID_LEN];
	struct facts_slot *s, *b;
	const char *ip;

	if (token_uuid_rid(PQgetvalue(res, r, 0), rid) < 0)
		return;
	s = slot_of(fc, rid);
	memset(s, 0, sizeof(*s));
	memcpy(s->rid, rid, TOKEN_RID_LEN);
	s->f.known = 1;
	s->f.sent_us = PQgetisnull(res, r, 1) ? 0 : strtoll(PQgetvalue(res, r, 1), NULL, 10);
	ip = PQgetisnull(res, r, 2) ? "" : PQgetvalue(res, r, 2);
	s->f.has_sender = cidr_addr_parse(ip, &s->f.sender) == 0;
	s->marked = strcmp(PQgetvalue(res, r, 3), "t") == 0;
	if (token_uuid_rid(PQgetvalue(res, r, 4), s->message) < 0)
		memset(s->message, 0, sizeof(s->message));
	s->marked_until_us = strtoll(PQgetvalue(res, r, 5), NULL, 10);
	s->until = now + (s->marked ? FACTS_TTL_MS : FACTS_UNMARKED_TTL_MS);
	/* every entry of the batch with this id (the batch is sorted: they are adjacent) */
	if ((b = in_batch(fc, rid)) != NULL) {
		while (b > fc->batch && memcmp(b[-1].rid, rid, TOKEN_RID_LEN) == 0)
			b--;
		for (; b < fc->batch + fc->nbatch && memcmp(b->rid, rid, TOKEN_RID_LEN) == 0; b++)
			*b = *s;
	}
}

/* facts_fetch - see facts.h */
int facts_fetch(struct facts_cache *fc, PGconn *conn, long long deadline)
{
	long long now = clock_now_ms();
	PGresult *res;
	char *arr;
	const char *params[1];
	int rc;

	if (fc->nbatch)
		qsort(fc->batch, fc->nbatch, sizeof(*fc->batch), slot_cmp);
	if (fc->want.n == 0)
		return 0;
	if (now < fc->fetch_off) {
		fc->want.n = 0;
		return 1;	/* the pending entries stay unknown */
	}
	params[0] = arr = list_array(&fc->want);
	rc = fa_query(conn, FACTS_SQL, 1, params, deadline, &fc->fetch_off, &res);
	free(arr);
	if (rc == 0) {
		/* what the answer leaves out is no token of any message: asked again later */
		for (size_t i = 0; i < fc->want.n; i++) {
			struct facts_slot *s = slot_of(fc, fc->want.v[i]);

			memset(s, 0, sizeof(*s));
			memcpy(s->rid, fc->want.v[i], TOKEN_RID_LEN);
			s->until = now + FACTS_UNKNOWN_TTL_MS;
		}
		for (int r = 0; r < PQntuples(res); r++)
			fa_store(fc, res, r, now);
		for (size_t i = 0; i < fc->nbatch; i++)
			if (fc->batch[i].until == 0)
				fc->batch[i].until = now + FACTS_UNKNOWN_TTL_MS;	/* known 0 */
	}
	PQclear(res);
	fc->want.n = 0;
	return rc;
}

/* facts_get - see facts.h */
const struct classify_facts *facts_get(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	struct facts_slot *s = entry(fc, rid);

	return s && s->f.known ? &s->f : NULL;
}

/* mark_of - the marked-message entry for MESSAGE */
static struct facts_mark *mark_of(struct facts_cache *fc, const uint8_t message[TOKEN_RID_LEN])
{
	uint32_t h = (uint32_t)message[0] | (uint32_t)message[1] << 8 |
	    (uint32_t)message[2] << 16 | (uint32_t)message[3] << 24;

	return &fc->mark[h & (FACTS_MARKS - 1)];
}

/* facts_marked - see facts.h */
int facts_marked(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN], int64_t at_us)
{
	struct facts_slot *s = entry(fc, rid);
	struct facts_mark *k;

	if (!s || !s->f.known)
		return 0;
	if (s->marked && at_us <= s->marked_until_us)
		return 1;
	k = mark_of(fc, s->message);
	return at_us <= k->until_us && memcmp(k->message, s->message, TOKEN_RID_LEN) == 0;
}

/* facts_mark_hit - see facts.h */
void facts_mark_hit(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN], int64_t at_us)
{
	struct facts_slot *s = entry(fc, rid);
	struct facts_mark *k;

	if (!s || !s->f.known)
		return;
	k = mark_of(fc, s->message);
	if (memcmp(k->message, s->message, TOKEN_RID_LEN) != 0 ||
	    k->until_us < at_us + FACTS_MARK_WINDOW_US) {
		memcpy(k->message, s->message, TOKEN_RID_LEN);
		k->until_us = at_us + FACTS_MARK_WINDOW_US;
	}
}

/* facts_follow - see facts.h */
void facts_follow(struct facts_cache *fc, const uint8_t rid[TOKEN_RID_LEN])
{
	list_add(&fc->follow, rid);
}

/* facts_followup - see facts.h */
int facts_followup(struct facts_cache *fc, PGconn *conn, int burst_s, long long deadline)
{
	char burst[16], *arr;
	const char *params[2];
	PGresult *res;
	int rc;

	if (fc->follow.n == 0)
		return 0;
	if (clock_now_ms() < fc->follow_off) {
		/* paused: the ids wait for the next call, up to a bound */
		if (fc->follow.n > FACTS_FOLLOW_KEEP) {
			log_warnx("event classes: %zu recipient ids left to beaconctl reclassify",
			    fc->follow.n);
			fc->follow.n = 0;
		}
		return 1;
	}
	snprintf(burst, sizeof(burst), "%d", burst_s);
	params[0] = arr = list_array(&fc->follow);
	params[1] = burst;
	rc = fa_query(conn, FOLLOWUP_SQL, 2, params, deadline, &fc->follow_off, &res);
	free(arr);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++)
		log_info("reclassified %s events from %s to %s%s%s", PQgetvalue(res, r, 3),
		    PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
		    *PQgetvalue(res, r, 2) ? ": " : "", PQgetvalue(res, r, 2));
	PQclear(res);
	if (rc == 2 && fc->follow.n <= FACTS_FOLLOW_KEEP)
		return 1;	/* kept for the next call, with the next batch's ids */
	if (rc == 2)
		log_warnx("event classes: %zu recipient ids left to beaconctl reclassify",
		    fc->follow.n);
	fc->follow.n = 0;
	return rc == 2 ? 1 : rc;
}

/* facts_free - see facts.h */
void facts_free(struct facts_cache *fc)
{
	if (!fc)
		return;
	free(fc->want.v);
	free(fc->batch);
	free(fc->follow.v);
	free(fc->slot);
	free(fc->mark);
	free(fc);
}
