/*
 * cidr.h - sets of IPv4/IPv6 prefixes with O(log n) lookup.
 *
 * SYNOPSIS
 *	struct cidr_set *s = cidr_set_new();
 *	cidr_set_add(s, "192.0.2.0/24", data, err, sizeof(err));
 *	cidr_set_finish(s);
 *	void *d = cidr_set_match(s, sa);	(NULL: no prefix holds sa)
 *	cidr_set_free(s);
 *
 * DESCRIPTION
 *	Every address is kept as 128 bits; an IPv4 address is stored as its
 *	IPv4-mapped IPv6 form (::ffff:a.b.c.d), so an IPv4 prefix also matches
 *	IPv4-mapped IPv6 peers.  cidr_set_finish() turns the prefixes, which
 *	may nest, into sorted disjoint ranges, each owned by the most specific
 *	prefix over it; a match is one binary search.  A finished set is
 *	read-only and may be matched from any number of threads.
 *
 *	Each prefix carries a user pointer; a prefix added with NULL data
 *	matches as CIDR_NODATA.  When the same prefix is added twice, the
 *	last one added wins.
 *
 * DIAGNOSTICS
 *	cidr_set_add() returns -1 with a message naming the bad input in err.
 */
#ifndef BEACON_CIDR_H
#define BEACON_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

struct cidr_set;

/* CIDR_NODATA - what a match on a prefix added with NULL data returns */
extern char cidr_nodata;
#define CIDR_NODATA ((void *)&cidr_nodata)

/* CIDR_ANON_LEN - room for the text of any anonymized address */
#define CIDR_ANON_LEN 46

/* cidr_set_new - an empty set; NULL when out of memory */
struct cidr_set *cidr_set_new(void);
/* cidr_set_add - add PREFIX ("a.b.c.d[/n]", "x:y::z[/n]") with DATA; 0 or -1 */
int cidr_set_add(struct cidr_set *s, const char *prefix, void *data,
    char *err, size_t errlen);
/* cidr_set_addn - cidr_set_add for a prefix of LEN bytes, not terminated */
int cidr_set_addn(struct cidr_set *s, const char *prefix, size_t len,
    void *data, char *err, size_t errlen);
/* cidr_check - parse PREFIX as cidr_set_add does, keep nothing; 0 or -1 */
int cidr_check(const char *prefix, char *err, size_t errlen);
/* cidr_set_finish - build the lookup ranges; no adds after; -1: ENOMEM, free it */
int cidr_set_finish(struct cidr_set *s);
/* cidr_set_count - number of prefixes added */
size_t cidr_set_count(const struct cidr_set *s);
/* cidr_set_match - data of the most specific prefix holding SA, or NULL */
void *cidr_set_match(const struct cidr_set *s, const struct sockaddr *sa);
/* cidr_set_match_str - cidr_set_match for an address in text; NULL if bad */
void *cidr_set_match_str(const struct cidr_set *s, const char *ip);
/* cidr_addr_parse - IP (IPv4 or IPv6 text, no prefix) into SS; 0, or -1 if it is none */
int cidr_addr_parse(const char *ip, struct sockaddr_storage *ss);
/* cidr_set_free - release the set (not the data pointers) */
void cidr_set_free(struct cidr_set *s);

/* cidr_anonymize - text of IN truncated to /24 (IPv4) or /48 (IPv6); 0 or -1 */
int cidr_anonymize(const struct sockaddr *in, char *out, size_t outlen);

#endif
