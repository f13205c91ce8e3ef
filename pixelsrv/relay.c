/*
 * relay.c - load the iCloud Private Relay egress CSV into a cidr_set.
 *
 * DESCRIPTION
 *	The file (about 300,000 lines, 12 MB) is read in one go and cut in
 *	place.  Distinct (country, region, city) triples are stored once in
 *	an array, found through a glibc hsearch_r table keyed on the line's
 *	own bytes; each prefix carries its triple's index + 1 as the
 *	cidr_set data, so the array may grow while loading.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cidr.h"
#include "relay.h"

#define RELAY_MAX_FILE (512L * 1024 * 1024)	/* refuse bigger files */

/* relay_db - the ranges and their locations */
struct relay_db {
	struct cidr_set *set;		/* prefixes -> index + 1 into loc */
	struct relay_entry *loc;	/* distinct locations */
	size_t nloc;			/* how many */
	size_t caploc;			/* room in loc */
	size_t nranges;			/* lines loaded */
};

/* relay_span - one field of a line */
struct relay_span {
	char *p;	/* first byte */
	size_t len;	/* bytes */
};

/* relay_trim - strip spaces and tabs from both ends of a span */
static void relay_trim(struct relay_span *s)
{
	while (s->len > 0 && (*s->p == ' ' || *s->p == '\t'))
		s->p++, s->len--;
	while (s->len > 0 && (s->p[s->len - 1] == ' ' || s->p[s->len - 1] == '\t'))
		s->len--;
}

/* relay_copy - copy a UTF-8 span into DST, cut at a character boundary (relay_check bounds it) */
static void relay_copy(char *dst, size_t dstlen, const struct relay_span *s)
{
	size_t len = s->len;

	if (len >= dstlen) {
		len = dstlen - 1;
		while (len > 0 && ((unsigned char)s->p[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, s->p, len);
	dst[len] = '\0';
}

/* relay_read - the whole file at PATH, NUL-terminated; NULL with err */
static char *relay_read(const char *path, size_t *size, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RELAY_MAX_FILE) {
		snprintf(err, errlen, "%s: %s", path, !S_ISREG(st.st_mode) ?
		    "not a regular file" : "file too large");
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;	/* shrank while reading: use what is there */
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*size = got;
	return buf;
}

/* relay_add_loc - the index of a location, adding it if new; -1 on ENOMEM */
static long relay_add_loc(struct relay_db *r, struct hsearch_data *h,
    char *key, const struct relay_span *f)
{
	ENTRY item, *found;
	struct relay_entry *e;

	item.key = key;
	item.data = NULL;
	if (hsearch_r(item, ENTER, &found, h) == 0)
		return -1;
	if (found->data != NULL)
		return (long)((uintptr_t)found->data - 1);
	if (r->nloc == r->caploc) {
		size_t ncap = r->caploc ? r->caploc * 2 : 256;

		e = realloc(r->loc, ncap * sizeof(*e));
		if (e == NULL)
			return -1;
		r->loc = e;
		r->caploc = ncap;
	}
	e = &r->loc[r->nloc];
	if ((e->city = strndup(f[3].p, f[3].len)) == NULL)
		return -1;
	relay_copy(e->country, sizeof(e->country), &f[1]);
	relay_copy(e->region, sizeof(e->region), &f[2]);
	found->data = (void *)(uintptr_t)(r->nloc + 1);
	return (long)r->nloc++;
}

/* relay_check - why fields F cannot be used, or NULL */
static const char *relay_check(const struct relay_span *f)
{
	size_t i;

	if (f[1].len != 0 && f[1].len != 2)
		return "country is not a two-letter code";
	for (i = 0; i < f[1].len; i++)
		if ((f[1].p[i] < 'A' || f[1].p[i] > 'Z') &&
		    (f[1].p[i] < 'a' || f[1].p[i] > 'z'))
			return "country is not a two-letter code";
	if (f[2].len >= sizeof(((struct relay_entry *)0)->region))
		return "region code too long";
	if (f[3].len >= GEO_NAME_MAX)
		return "city name too long";
	for (i = 0; i < 4; i++)
		if (memchr(f[i].p, '"', f[i].len) != NULL)
			return "quoted fields are not supported";
	return NULL;
}

/* relay_parse - load every line of BUF into R; lines skipped, or -1 */
static long relay_parse(struct relay_db *r, char *buf, size_t size,
    struct hsearch_data *h, char *first, size_t firstlen)
{
	char *p = buf, *end = buf + size, *eol;
	char lerr[160];
	long skipped = 0, lineno = 0, loc;
	const char *why;

	for (; p < end; p = eol + 1) {
		struct relay_span f[4];
		char *q;
		int i;

		lineno++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		q = eol;
		if (q > p && q[-1] == '\r')
			q--;
		/* split into up to four fields; what follows is ignored */
		for (i = 0; i < 4; i++) {
			char *c = memchr(p, ',', (size_t)(q - p));

			f[i].p = p;
			f[i].len = (size_t)((c ? c : q) - p);
			p = c ? c + 1 : q;
		}
		for (i = 0; i < 4; i++)
			relay_trim(&f[i]);
		if (f[0].len == 0 || f[0].p[0] == '#')
			continue;	/* blank or comment */
		why = relay_check(f);
		if (why == NULL) {
			/* the key: "country,region,city" in the line itself */
			f[3].p[f[3].len] = '\0';
			loc = relay_add_loc(r, h, f[1].p, f);
			if (loc < 0)
				return -1;
			if (cidr_set_addn(r->set, f[0].p, f[0].len,
			    (void *)(uintptr_t)(loc + 1), lerr, sizeof(lerr)) == 0) {
				r->nranges++;
				continue;
			}
			why = lerr;
		}
		if (skipped++ == 0)
			snprintf(first, firstlen, "line %ld: %s", lineno, why);
	}
	return skipped;
}

/* relay_load - read the CSV at PATH */
struct relay_db *relay_load(const char *path, char *err, size_t errlen)
{
	struct hsearch_data h;
	struct relay_db *r;
	char first[256] = "";
	char *buf, *p;
	size_t size, lines = 1;
	long skipped;

	err[0] = '\0';
	buf = relay_read(path, &size, err, errlen);
	if (buf == NULL)
		return NULL;
	for (p = buf; (p = memchr(p, '\n', size - (size_t)(p - buf))); p++)
		lines++;
	r = calloc(1, sizeof(*r));
	memset(&h, 0, sizeof(h));
	if (r == NULL || (r->set = cidr_set_new()) == NULL ||
	    hcreate_r(lines + 1, &h) == 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(buf);
		relay_free(r);
		return NULL;
	}
	skipped = relay_parse(r, buf, size, &h, first, sizeof(first));
	hdestroy_r(&h);
	free(buf);
	if (skipped < 0 || cidr_set_finish(r->set) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		relay_free(r);
		return NULL;
	}
	if (r->nranges == 0) {
		snprintf(err, errlen, "%s: no usable range%s%s", path,
		    skipped ? ", " : "", first);
		relay_free(r);
		return NULL;
	}
	if (skipped > 0)
		snprintf(err, errlen, "%s: %ld line%s skipped, first at %s",
		    path, skipped, skipped == 1 ? "" : "s", first);
	return r;
}

/* relay_match - the location of the range holding SA */
const struct relay_entry *relay_match(const struct relay_db *r,
    const struct sockaddr *sa)
{
	void *d;

	if (r == NULL)
		return NULL;
	d = cidr_set_match(r->set, sa);
	if (d == NULL)
		return NULL;
	return &r->loc[(uintptr_t)d - 1];
}

/* relay_count - ranges loaded */
size_t relay_count(const struct relay_db *r)
{
	return r ? r->nranges : 0;
}

/* relay_free - release the database */
void relay_free(struct relay_db *r)
{
	if (r == NULL)
		return;
	cidr_set_free(r->set);
	for (size_t i = 0; i < r->nloc; i++)
		free(r->loc[i].city);
	free(r->loc);
	free(r);
}
