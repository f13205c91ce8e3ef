/*
 * NAME
 *	limit.c - per-token and per-address repeat counting for the writer
 *
 * DESCRIPTION
 *	See limit.h.  Only the writer thread calls these functions: no lock.
 *	An entry is live while its window (start + window) has not passed
 *	the newest event time seen; a stale or empty slot is free.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "limit.h"
#include "log.h"
#include "metrics.h"
#include "token.h"

/* limit_entry - one key's episode */
struct limit_entry {
	uint64_t key;			/* SipHash of the key, 0: empty */
	int64_t start_us;		/* time of the first event of the episode */
	uint32_t stored;		/* events stored in the episode */
	uint32_t counted;		/* events counted, not stored */
	uint8_t rid[TOKEN_RID_LEN];	/* the token, for the log line */
	uint8_t kind;			/* event kind (0 in the token table) */
	uint8_t family;			/* address family */
	uint8_t addr[16];		/* the address as queued */
};

/* limit - the two tables */
struct limit {
	int64_t window_us;		/* episode length, 0: off */
	unsigned token_max;		/* stored events per token and window, 0: no cap */
	int64_t newest_us;		/* newest event time seen */
	uint8_t key[crypto_shorthash_KEYBYTES];	/* random SipHash key */
	struct limit_entry *ev;		/* (token, kind, link, address, request flags) episodes */
	struct limit_entry *tok;	/* token episodes */
};

/* limit_new - allocate both tables */
struct limit *limit_new(long window_s, unsigned token_max)
{
	struct limit *l = calloc(1, sizeof(*l));

	if (!l || sodium_init() < 0)
		goto fail;
	l->window_us = (int64_t)window_s * 1000000;
	l->token_max = token_max;
	randombytes_buf(l->key, sizeof(l->key));
	l->ev = calloc(LIMIT_SLOTS, sizeof(*l->ev));
	l->tok = calloc(LIMIT_SLOTS, sizeof(*l->tok));
	if (!l->ev || !l->tok)
		goto fail;
	return l;
fail:
	if (l) {
		free(l->ev);
		free(l->tok);
	}
	free(l);
	return NULL;
}

/* limit_hash - SipHash of BUF, never 0 */
static uint64_t limit_hash(const struct limit *l, const uint8_t *buf, size_t len)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, buf, len, l->key);
	return h ? h : 1;
}

/* limit_log - one line for an episode that counted events */
static void limit_log(const struct limit *l, const struct limit_entry *e, int token)
{
	char uuid[TOKEN_UUID_LEN + 1], ip[INET6_ADDRSTRLEN] = "unknown address";

	if (!e->key || !e->counted)
		return;
	token_rid_uuid(e->rid, uuid);
	if (token) {
		log_warnx("token %s: %u events over the limit of %u per %lld s counted, not "
		    "stored", uuid, e->counted, l->token_max, (long long)(l->window_us / 1000000));
		return;
	}
	if (e->family)
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, ip, sizeof(ip));
	log_info("token %s: %u repeated %s events from %s within %lld s counted, not stored",
	    uuid, e->counted, event_kind_str(e->kind), ip, (long long)(l->window_us / 1000000));
}

/* limit_find - KEY's live entry in TABLE, or a free (or evicted) slot for it, reset */
static struct limit_entry *limit_find(struct limit *l, struct limit_entry *table, uint64_t key,
    int token, int *fresh)
{
	struct limit_entry *free_slot = NULL, *oldest = NULL;

	for (unsigned i = 0; i < LIMIT_PROBE; i++) {
		struct limit_entry *e = &table[(key + i) & (LIMIT_SLOTS - 1)];
		int live = e->key && l->newest_us - e->start_us < l->window_us;
		if (e->key == key && live) {
			*fresh = 0;
			return e;
		}
		if (e->key == key || !live) {
			if (!free_slot || e->key == key)
				free_slot = e;
		} else if (!oldest || e->start_us < oldest->start_us) {
			oldest = e;
		}
	}
	if (!free_slot) {
		free_slot = oldest;
		metrics_add(METRICS_LIMIT_EVICTIONS, 1);
	}
	limit_log(l, free_slot, token);	/* the episode it held ends now */
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->key = key;
	*fresh = 1;
	return free_slot;
}

/* limit_check - the writer's question about one live event */
int limit_check(struct limit *l, const struct event_raw *ev)
{
	uint8_t k[TOKEN_RID_LEN + 2 + 8 + 16 + 1];
	struct limit_entry *e, *t;
	int fresh, tfresh;

	if (!l || l->window_us <= 0)
		return 1;
	if (ev->at_us > l->newest_us)
		l->newest_us = ev->at_us;
	memcpy(k, ev->rid, TOKEN_RID_LEN);
	k[16] = ev->kind;
	k[17] = ev->family;
	memcpy(k + 18, &ev->link_n, 4);
	memcpy(k + 22, &ev->attachment_id, 4);
	memcpy(k + 26, ev->addr, 16);
	/* a gateway's HEAD and a person's GET behind one address are two events */
	k[42] = ev->flags & EVENT_F_REQUEST;
	/* each download request is its own row (a resumed download is several requests whose
	 * bytes add up): only the token's cap below holds them */
	if (ev->kind != EVENT_DOWNLOAD) {
		e = limit_find(l, l->ev, limit_hash(l, k, sizeof(k)), 0, &fresh);
		if (!fresh) {
			e->counted++;
			metrics_add(METRICS_EVENTS_REPEATED, 1);
			return 0;
		}
		e->start_us = ev->at_us;
		memcpy(e->rid, ev->rid, TOKEN_RID_LEN);
		e->kind = ev->kind;
		e->family = ev->family;
		memcpy(e->addr, ev->addr, 16);
	}
	if (l->token_max == 0)
		return 1;
	t = limit_find(l, l->tok, limit_hash(l, ev->rid, TOKEN_RID_LEN), 1, &tfresh);
	if (tfresh) {
		t->start_us = ev->at_us;
		memcpy(t->rid, ev->rid, TOKEN_RID_LEN);
	}
	if (t->stored >= l->token_max) {
		t->counted++;
		metrics_add(METRICS_EVENTS_OVER_LIMIT, 1);
		return 0;
	}
	t->stored++;
	return 1;
}

/* limit_sweep_table - end the episodes of TABLE whose window passed */
static void limit_sweep_table(struct limit *l, struct limit_entry *table, int64_t now_us,
    int token)
{
	for (size_t i = 0; i < LIMIT_SLOTS; i++) {
		struct limit_entry *e = &table[i];
		if (e->key && e->counted && now_us - e->start_us >= l->window_us) {
			limit_log(l, e, token);
			e->counted = 0;
		}
	}
}

/* limit_sweep - log ended episodes (their entries stay until reused: the window still holds) */
void limit_sweep(struct limit *l, int64_t now_us)
{
	if (!l || l->window_us <= 0)
		return;
	limit_sweep_table(l, l->ev, now_us, 0);
	limit_sweep_table(l, l->tok, now_us, 1);
}

/* limit_free - log what is open, free */
void limit_free(struct limit *l)
{
	if (!l)
		return;
	limit_sweep_table(l, l->ev, INT64_MAX / 2, 0);
	limit_sweep_table(l, l->tok, INT64_MAX / 2, 1);
	free(l->ev);
	free(l->tok);
	free(l);
}
