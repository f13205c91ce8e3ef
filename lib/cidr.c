/*
 * cidr.c - sets of IPv4/IPv6 prefixes: parse, flatten, binary search.
 *
 * DESCRIPTION
 *	Prefixes are collected as (first address, length, data) over a 128-bit
 *	address space in which IPv4 lives at ::ffff:0:0/96.  cidr_set_finish()
 *	sorts them (first address up, shorter prefix first, then insertion
 *	order), drops exact duplicates but the last, and sweeps them with a
 *	stack of open prefixes (CIDR prefixes either nest or are disjoint)
 *	into at most 2n+1 disjoint ranges, each carrying the data of the
 *	innermost prefix over it.  Lookups binary-search the range starts;
 *	the ranges over IPv4 are also kept as 32-bit arrays (a quarter of the
 *	memory to search), used for IPv4 and IPv4-mapped addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

typedef unsigned __int128 cidr_u128;

char cidr_nodata;

/* cidr_prefix - one prefix as added */
struct cidr_prefix {
	cidr_u128 first;	/* first address (host bits cleared) */
	cidr_u128 last;		/* last address */
	void *data;		/* user data, or CIDR_NODATA */
	size_t seq;		/* insertion order, for duplicates */
	unsigned char len;	/* prefix length over 128 bits */
};

/* cidr_set - prefixes while adding, ranges once finished */
struct cidr_set {
	struct cidr_prefix *pfx;	/* prefixes added (freed by finish) */
	size_t npfx;			/* how many */
	size_t cap;			/* room in pfx */
	size_t added;			/* prefixes ever added */
	cidr_u128 *start;		/* range starts, sorted */
	cidr_u128 *end;			/* range ends (inclusive) */
	void **data;			/* range data */
	size_t nrange;			/* how many ranges */
	uint32_t *start4;		/* the ranges inside ::ffff:0:0/96 ... */
	uint32_t *end4;			/* ... as IPv4 addresses */
	void **data4;			/* their data */
	size_t nrange4;			/* how many */
	int finished;			/* 1 after cidr_set_finish */
};

/* cidr_set_new - an empty set */
struct cidr_set *cidr_set_new(void)
{
	return calloc(1, sizeof(struct cidr_set));
}

/* cidr_mask - the network mask of a LEN-bit prefix */
static cidr_u128 cidr_mask(unsigned len)
{
	return len == 0 ? 0 : ~(cidr_u128)0 << (128 - len);
}

/* cidr_from_bytes - a 128-bit value from 16 big-endian bytes */
static cidr_u128 cidr_from_bytes(const unsigned char *b)
{
	cidr_u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | b[i];
	return v;
}

/* cidr_from_v4 - the IPv4-mapped 128-bit value of a network-order address */
static cidr_u128 cidr_from_v4(const struct in_addr *a)
{
	return (cidr_u128)0xffff << 32 | ntohl(a->s_addr);
}

/* cidr_key - the 128-bit value of SA; 0 or -1 for another family */
static int cidr_key(const struct sockaddr *sa, cidr_u128 *key)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		*key = cidr_from_v4(&sin->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		*key = cidr_from_bytes(sin6->sin6_addr.s6_addr);
		return 0;
	}
	return -1;
}

/* cidr_parse - PREFIX of LEN bytes into first address and length; 0 or -1 */
static int cidr_parse(const char *prefix, size_t len, cidr_u128 *first,
    unsigned *plen, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash, *p;
	size_t alen;
	unsigned n, max;
	unsigned char bytes[16];
	struct in_addr a4;
	int is6;

	while (len > 0 && (*prefix == ' ' || *prefix == '\t'))
		prefix++, len--;
	while (len > 0 && (prefix[len - 1] == ' ' || prefix[len - 1] == '\t'))
		len--;
	slash = memchr(prefix, '/', len);
	alen = slash ? (size_t)(slash - prefix) : len;
	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errlen, "not an IP prefix: \"%.*s\"",
		    (int)(len > 64 ? 64 : len), prefix);
		return -1;
	}
	memcpy(buf, prefix, alen);
	buf[alen] = '\0';
	is6 = memchr(buf, ':', alen) != NULL;
	if (is6 ? inet_pton(AF_INET6, buf, bytes) != 1
	    : inet_pton(AF_INET, buf, &a4) != 1) {
		snprintf(err, errlen, "not an IP address: \"%.*s\"",
		    (int)(len > 64 ? 64 : len), prefix);
		return -1;
	}
	max = is6 ? 128 : 32;
	n = max;
	if (slash) {
		p = slash + 1;
		if (p == prefix + len || prefix + len - p > 3)
			goto badlen;
		for (n = 0; p < prefix + len; p++) {
			if (*p < '0' || *p > '9')
				goto badlen;
			n = n * 10 + (unsigned)(*p - '0');
		}
		if (n > max || (slash[1] == '0' && prefix + len - slash > 2))
			goto badlen;
	}
	*first = is6 ? cidr_from_bytes(bytes) : cidr_from_v4(&a4);
	*plen = is6 ? n : n + 96;
	*first &= cidr_mask(*plen);
	return 0;
badlen:
	snprintf(err, errlen, "bad prefix length (0-%u) in \"%.*s\"", max,
	    (int)(len > 64 ? 64 : len), prefix);
	return -1;
}

/* cidr_check - is PREFIX a prefix cidr_set_add would take?  0, or -1 with ERR */
int cidr_check(const char *prefix, char *err, size_t errlen)
{
	cidr_u128 first;
	unsigned plen;

	return cidr_parse(prefix, strlen(prefix), &first, &plen, err, errlen);
}

/* cidr_set_addn - add a prefix given with its length */
int cidr_set_addn(struct cidr_set *s, const char *prefix, size_t len,
    void *data, char *err, size_t errlen)
{
	struct cidr_prefix *p;
	cidr_u128 first;
	unsigned plen;

	if (s->finished) {
		snprintf(err, errlen, "prefix set already finished");
		return -1;
	}
	if (cidr_parse(prefix, len, &first, &plen, err, errlen) < 0)
		return -1;
	if (s->npfx == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;

		p = realloc(s->pfx, ncap * sizeof(*p));
		if (p == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->pfx = p;
		s->cap = ncap;
	}
	p = &s->pfx[s->npfx++];
	p->first = first;
	p->last = first | ~cidr_mask(plen);
	p->len = (unsigned char)plen;
	p->data = data ? data : CIDR_NODATA;
	p->seq = s->added++;
	return 0;
}

/* cidr_set_add - add a NUL-terminated prefix */
int cidr_set_add(struct cidr_set *s, const char *prefix, void *data,
    char *err, size_t errlen)
{
	return cidr_set_addn(s, prefix, strlen(prefix), data, err, errlen);
}

/* cidr_prefix_cmp - qsort order: first address, shorter first, then seq */
static int cidr_prefix_cmp(const void *va, const void *vb)
{
	const struct cidr_prefix *a = va, *b = vb;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* cidr_emit - append range [from, to] with DATA, merging with a neighbour */
static void cidr_emit(struct cidr_set *s, cidr_u128 from, cidr_u128 to,
    void *data)
{
	size_t n = s->nrange;

	if (n > 0 && s->data[n - 1] == data && s->end[n - 1] + 1 == from) {
		s->end[n - 1] = to;
		return;
	}
	s->start[n] = from;
	s->end[n] = to;
	s->data[n] = data;
	s->nrange++;
}

/* cidr_finish_v4 - copy the ranges over IPv4 into 32-bit arrays; 0 or -1 */
static int cidr_finish_v4(struct cidr_set *s)
{
	const cidr_u128 lo4 = (cidr_u128)0xffff << 32, hi4 = lo4 | 0xffffffffu;
	size_t i, n = 0;

	for (i = 0; i < s->nrange; i++)
		if (s->end[i] >= lo4 && s->start[i] <= hi4)
			n++;
	s->start4 = malloc((n + 1) * sizeof(*s->start4));
	s->end4 = malloc((n + 1) * sizeof(*s->end4));
	s->data4 = malloc((n + 1) * sizeof(*s->data4));
	if (s->start4 == NULL || s->end4 == NULL || s->data4 == NULL)
		return -1;
	for (i = 0; i < s->nrange; i++) {
		if (s->end[i] < lo4 || s->start[i] > hi4)
			continue;
		s->start4[s->nrange4] = s->start[i] < lo4 ? 0 :
		    (uint32_t)(s->start[i] - lo4);
		s->end4[s->nrange4] = s->end[i] > hi4 ? 0xffffffffu :
		    (uint32_t)(s->end[i] - lo4);
		s->data4[s->nrange4++] = s->data[i];
	}
	return 0;
}

/* cidr_set_finish - sort, drop duplicates and flatten into ranges */
int cidr_set_finish(struct cidr_set *s)
{
	const struct cidr_prefix *stack[130];
	size_t i, j, depth = 0, cap;
	cidr_u128 cur = 0;
	int cur_end = 0;	/* 1 when cur ran past the last address */

	if (s->finished)
		return 0;
	if (s->start != NULL)
		return -1;	/* an earlier finish ran out of memory */
	if (s->npfx > 1)
		qsort(s->pfx, s->npfx, sizeof(*s->pfx), cidr_prefix_cmp);
	/* keep the last added of equal prefixes (they sort by seq) */
	for (i = j = 0; i < s->npfx; i++) {
		if (i + 1 < s->npfx && s->pfx[i + 1].first == s->pfx[i].first &&
		    s->pfx[i + 1].len == s->pfx[i].len)
			continue;
		s->pfx[j++] = s->pfx[i];
	}
	s->npfx = j;
	cap = 2 * s->npfx + 1;
	s->start = malloc(cap * sizeof(*s->start));
	s->end = malloc(cap * sizeof(*s->end));
	s->data = malloc(cap * sizeof(*s->data));
	if (s->start == NULL || s->end == NULL || s->data == NULL) {
		free(s->start), free(s->end), free(s->data);
		s->start = s->end = NULL;
		s->data = NULL;
		return -1;
	}
	for (i = 0; i < s->npfx; i++) {
		const struct cidr_prefix *p = &s->pfx[i];

		/* close every open prefix that ends before p */
		while (depth > 0 && stack[depth - 1]->last < p->first) {
			const struct cidr_prefix *top = stack[--depth];

			if (!cur_end && cur <= top->last)
				cidr_emit(s, cur, top->last, top->data);
			cur = top->last + 1;	/* top->last < p->first: no wrap */
		}
		/* the part of the enclosing prefix before p */
		if (depth > 0 && cur < p->first)
			cidr_emit(s, cur, p->first - 1, stack[depth - 1]->data);
		cur = p->first;
		cur_end = 0;
		stack[depth++] = p;	/* nesting depth <= 129 */
	}
	while (depth > 0) {
		const struct cidr_prefix *top = stack[--depth];

		if (!cur_end && cur <= top->last)
			cidr_emit(s, cur, top->last, top->data);
		if (top->last == ~(cidr_u128)0)
			cur_end = 1;
		else
			cur = top->last + 1;
	}
	if (cidr_finish_v4(s) < 0)
		return -1;
	free(s->pfx);
	s->pfx = NULL;
	s->npfx = s->cap = 0;
	s->finished = 1;
	return 0;
}

/* cidr_set_count - prefixes added so far */
size_t cidr_set_count(const struct cidr_set *s)
{
	return s->added;
}

/* cidr_lookup - data of the range holding KEY, or NULL */
static void *cidr_lookup(const struct cidr_set *s, cidr_u128 key)
{
	const cidr_u128 *base = s->start;
	size_t n = s->nrange, i;

	if (n == 0)
		return NULL;
	/* the last start <= key (branch-free halving) */
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	i = (size_t)(base - s->start);
	if (*base > key || key > s->end[i])
		return NULL;
	return s->data[i];
}

/* cidr_lookup4 - data of the IPv4 range holding host-order KEY, or NULL */
static void *cidr_lookup4(const struct cidr_set *s, uint32_t key)
{
	const uint32_t *base = s->start4;
	size_t n = s->nrange4, i;

	if (n == 0)
		return NULL;
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	i = (size_t)(base - s->start4);
	if (*base > key || key > s->end4[i])
		return NULL;
	return s->data4[i];
}

/* cidr_set_match - data of the most specific prefix holding SA */
void *cidr_set_match(const struct cidr_set *s, const struct sockaddr *sa)
{
	cidr_u128 key;

	if (s == NULL || !s->finished)
		return NULL;
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		return cidr_lookup4(s, ntohl(sin->sin_addr.s_addr));
	}
	if (cidr_key(sa, &key) < 0)
		return NULL;
	if (key >> 32 == 0xffff)
		return cidr_lookup4(s, (uint32_t)key);
	return cidr_lookup(s, key);
}

/* cidr_set_match_str - data of the most specific prefix holding IP */
void *cidr_set_match_str(const struct cidr_set *s, const char *ip)
{
	unsigned char bytes[16];
	struct in_addr a4;

	if (s == NULL || !s->finished || ip == NULL)
		return NULL;
	if (strchr(ip, ':') != NULL) {
		cidr_u128 key;

		if (inet_pton(AF_INET6, ip, bytes) != 1)
			return NULL;
		key = cidr_from_bytes(bytes);
		if (key >> 32 == 0xffff)
			return cidr_lookup4(s, (uint32_t)key);
		return cidr_lookup(s, key);
	}
	if (inet_pton(AF_INET, ip, &a4) != 1)
		return NULL;
	return cidr_lookup4(s, ntohl(a4.s_addr));
}

/* cidr_addr_parse - see cidr.h */
int cidr_addr_parse(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip && inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (ip && inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	else
		return -1;
	return 0;
}

/* cidr_set_free - release the set */
void cidr_set_free(struct cidr_set *s)
{
	if (s == NULL)
		return;
	free(s->pfx);
	free(s->start);
	free(s->end);
	free(s->data);
	free(s->start4);
	free(s->end4);
	free(s->data4);
	free(s);
}

/* cidr_anonymize - write the /24 or /48 network of IN as text */
int cidr_anonymize(const struct sockaddr *in, char *out, size_t outlen)
{
	unsigned char b[16];
	struct in_addr a4;

	if (in == NULL || out == NULL)
		return -1;
	if (in->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)in;

		memcpy(b, sin6->sin6_addr.s6_addr, 16);
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\377\377", 12) == 0) {
			memcpy(&a4.s_addr, b + 12, 4);
			goto v4;
		}
		memset(b + 6, 0, 10);
		return inet_ntop(AF_INET6, b, out, (socklen_t)outlen) ? 0 : -1;
	}
	if (in->sa_family != AF_INET)
		return -1;
	a4 = ((const struct sockaddr_in *)(const void *)in)->sin_addr;	/* copy */
v4:
	a4.s_addr &= htonl(0xffffff00u);
	return inet_ntop(AF_INET, &a4, out, (socklen_t)outlen) ? 0 : -1;
}
