/*
 * throttle.c - sign-in attempts per client address (see throttle.h)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "log.h"
#include "throttle.h"

/* throttle_slot - one address (an IPv6 /64) */
struct throttle_slot {
	uint64_t key;		/* SipHash of the address; 0: free */
	long long first;	/* its window's start, monotonic seconds */
	unsigned count;		/* failures in the window */
	unsigned inflight;	/* attempts begun, not ended */
};

/* throttle - the table */
struct throttle {
	pthread_mutex_t lock;				/* slots */
	unsigned limit;					/* failures allowed */
	long long window;				/* seconds */
	unsigned char hkey[crypto_shorthash_KEYBYTES];	/* random SipHash key */
	struct throttle_slot slots[THROTTLE_SLOTS];	/* the addresses */
};

/* throttle_new - an empty table */
struct throttle *throttle_new(unsigned limit, unsigned window_s)
{
	struct throttle *t = calloc(1, sizeof(*t));

	if (!t)
		log_fatalx("out of memory");
	pthread_mutex_init(&t->lock, NULL);
	t->limit = limit;
	t->window = window_s;
	crypto_shorthash_keygen(t->hkey);
	return t;
}

/* throttle_free - release the table */
void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* throttle_key - the hash of IP, of its /64 for an IPv6 address; never 0 */
static uint64_t throttle_key(const struct throttle *t, const char *ip)
{
	unsigned char h[crypto_shorthash_BYTES], a[16], net[9] = { '6' };
	uint64_t key;

	if (inet_pton(AF_INET6, ip, a) == 1 && !IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		memcpy(net + 1, a, 8);	/* "6" and the /64: no IPv4 text looks so */
		crypto_shorthash(h, net, sizeof(net), t->hkey);
	} else {
		crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), t->hkey);
	}
	memcpy(&key, h, sizeof(key));
	return key | 1;	/* never 0, the mark of a free slot */
}

/* throttle_live - does S hold an address still (failures in the window, or attempts)? */
static int throttle_live(const struct throttle *t, const struct throttle_slot *s, long long now)
{
	return s->key && (s->inflight || now - s->first < t->window);
}

/* throttle_find - IP's slot (made when MAKE), under the lock; NULL when absent */
static struct throttle_slot *throttle_find(struct throttle *t, const char *ip, int make)
{
	struct throttle_slot *oldest = NULL;
	long long now = clock_now_ms() / 1000;
	uint64_t key = throttle_key(t, ip);

	for (unsigned i = 0; i < THROTTLE_PROBE; i++) {
		struct throttle_slot *s = &t->slots[(key + i) % THROTTLE_SLOTS];
		int live = throttle_live(t, s, now);

		if (live && s->key == key) {
			if (now - s->first >= t->window) {
				/* kept for its attempts in flight: a new window */
				s->first = now;
				s->count = 0;
			}
			return s;
		}
		if (!live)
			s->key = 0;
		if (!oldest || !s->key || (oldest->key && s->first < oldest->first))
			oldest = s;
	}
	if (!make)
		return NULL;
	*oldest = (struct throttle_slot){ key, now, 0, 0 };
	return oldest;
}

/* throttle_over - S's failures and attempts reach the limit */
static int throttle_over(const struct throttle *t, const struct throttle_slot *s)
{
	return s && s->count + s->inflight >= t->limit;
}

/* throttle_begin - one more attempt in flight, unless over the limit */
int throttle_begin(struct throttle *t, const char *ip)
{
	struct throttle_slot *s;
	int ok;

	if (!t->limit)
		return 1;
	pthread_mutex_lock(&t->lock);
	s = throttle_find(t, ip, 1);
	ok = !throttle_over(t, s);
	if (ok)
		s->inflight++;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

/* throttle_end - the attempt is over; a failure counts */
void throttle_end(struct throttle *t, const char *ip, int failed)
{
	struct throttle_slot *s;

	if (!t->limit)
		return;
	pthread_mutex_lock(&t->lock);
	/* evicted meanwhile: a failure still counts, in a new slot */
	s = throttle_find(t, ip, failed);
	if (s && s->inflight)
		s->inflight--;
	if (s && failed)
		s->count++;
	pthread_mutex_unlock(&t->lock);
}

/* throttle_blocked - the limit reached */
int throttle_blocked(struct throttle *t, const char *ip)
{
	int blocked;

	if (!t->limit)
		return 0;
	pthread_mutex_lock(&t->lock);
	blocked = throttle_over(t, throttle_find(t, ip, 0));
	pthread_mutex_unlock(&t->lock);
	return blocked;
}
