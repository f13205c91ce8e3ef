/*
 * NAME
 *	rx.h - PCRE2 regexes with a literal prefilter, per-thread match state
 *
 * SYNOPSIS
 *	#include "rx.h"
 *
 * DESCRIPTION
 *	rx_compile() compiles a pattern with PCRE2 and its JIT and reads a
 *	prefilter from its literals: byte pairs every match must hold.
 *	rx_match() checks them against the byte pairs of the subject, noted
 *	by rx_prepare(), before PCRE2 runs; most uap-core regexes cannot
 *	match most UAs, and the prefilter says so without running them.
 *	Each thread keeps its own match data, match context (match limit,
 *	JIT stack) and pair bitmap: rx_tls_get() makes them on first use,
 *	thread exit or rx_tls_release() frees them.
 *
 *	A bitmap of byte pairs found in everyday subjects (made with
 *	rx_pairs()) tells rx_compile() which pairs filter little; clauses
 *	made only of them are kept last, if at all.
 *
 * DIAGNOSTICS
 *	rx_compile() reports a regex that does not compile as
 *	"FILE:LINE: regex: problem" in its ERR buffer; rx_seterr() formats
 *	such messages for the loaders that use rx.
 */
#ifndef BEACON_RX_H
#define BEACON_RX_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#define RX_BITS (65536 / 64)	/* words in a bitmap of byte pairs */

/*
 * rx - a compiled regex and its prefilter.  The prefilter is read from
 * the pattern's literals: clauses, each a list of terms, each a list of
 * byte pairs (ASCII lower case).  Every match holds all pairs of at least
 * one term of every clause, so a subject failing a clause is not handed
 * to PCRE2.  Encoding: per clause, the term count; per term, the pair
 * count and the pairs.
 */
struct rx {
	pcre2_code *re;			/* the regex; NULL: none */
	uint16_t *pre;			/* the clauses; NULL: none */
	unsigned ncl;			/* clauses */
};

struct rx_tls;				/* one thread's match state */

/* rx_seterr - format a load error into ERR (may be NULL) */
void rx_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* rx_pairs - set the folded byte pairs of N bytes of S in BITS (RX_BITS words) */
void rx_pairs(uint64_t *bits, const char *s, size_t n);
/* rx_compile - compile PAT for PATH:LINE into X with JIT; -1 with a message in ERR */
int rx_compile(struct rx *x, const char *pat, size_t len, int caseless,
    const uint64_t *common, const char *path, unsigned long line, char *err,
    size_t errlen);
/* rx_free - free what rx_compile put in X */
void rx_free(struct rx *x);

/* rx_tls_get - this thread's match state, made on first use; NULL if out of memory */
struct rx_tls *rx_tls_get(void);
/* rx_tls_release - free the calling thread's match state now */
void rx_tls_release(void);
/* rx_prepare - note the byte pairs of N bytes of S in T for rx_match */
void rx_prepare(struct rx_tls *t, const char *s, size_t n);
/* rx_unprepare - clear what rx_prepare noted for S */
void rx_unprepare(struct rx_tls *t, const char *s, size_t n);
/* rx_match - run X over N bytes of S (prepared); capture pairs set, 0 if no match */
int rx_match(const struct rx *x, const char *s, size_t n, struct rx_tls *t);
/* rx_group - capture group G of the last match (RC pairs) of S into P and LEN; 0 if unset */
int rx_group(struct rx_tls *t, int rc, unsigned g, const char *s,
    const char **p, size_t *len);

#endif
