/*
 * throttle.c - failed sign-ins per client address (see throttle.h)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "log.h"
#include "throttle.h"

/* throttle_slot - one address */
struct throttle_slot {
	uint64_t key;		/* SipHash of the address; 0: free */
	long long first;	/* its window's start, monotonic seconds */
	unsigned count;		/* failures in the window */
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

/* throttle_find - IP's slot (made when MAKE), under the lock; NULL when absent */
static struct throttle_slot *throttle_find(struct throttle *t, const char *ip, int make)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct throttle_slot *oldest = NULL;
	long long now = clock_now_ms() / 1000;
	uint64_t key;

	crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), t->hkey);
	memcpy(&key, h, sizeof(key));
	key |= 1;	/* never 0, the mark of a free slot */
	for (unsigned i = 0; i < THROTTLE_PROBE; i++) {
		struct throttle_slot *s = &t->slots[(key + i) % THROTTLE_SLOTS];
		int live = s->key && now - s->first < t->window;

		if (live && s->key == key)
			return s;
		if (!live)
			s->key = 0;
		if (!oldest || !s->key || (oldest->key && s->first < oldest->first))
			oldest = s;
	}
	if (!make)
		return NULL;
	*oldest = (struct throttle_slot){ key, now, 0 };
	return oldest;
}

/* throttle_blocked - LIMIT failures in the window */
int throttle_blocked(struct throttle *t, const char *ip)
{
	struct throttle_slot *s;
	int blocked;

	if (!t->limit)
		return 0;
	pthread_mutex_lock(&t->lock);
	s = throttle_find(t, ip, 0);
	blocked = s && s->count >= t->limit;
	pthread_mutex_unlock(&t->lock);
	return blocked;
}

/* throttle_fail - one more failure */
void throttle_fail(struct throttle *t, const char *ip)
{
	if (!t->limit)
		return;
	pthread_mutex_lock(&t->lock);
	throttle_find(t, ip, 1)->count++;
	pthread_mutex_unlock(&t->lock);
}
