/*
 * NAME
 *	rx.c - PCRE2 regexes with a literal prefilter, per-thread match state
 *
 * SYNOPSIS
 *	#include "rx.h"
 *
 * DESCRIPTION
 *	Regexes are compiled with PCRE2 and its JIT; each thread keeps its
 *	own match data, match context and JIT stack.  Most uap-core regexes
 *	cannot match most UAs: at load, the literals of each pattern give a
 *	prefilter (byte pairs every match must hold, see struct rx in rx.h),
 *	checked against a bitmap of the subject's byte pairs before PCRE2
 *	runs; it cuts a cold UA parse from ~1,200 regex runs to ~50.
 *
 *	The prefilter reader follows literals, escapes, one-letter classes
 *	such as [Ss], quantifiers, and plain or (?: groups with
 *	alternatives; a pattern with syntax it does not follow (options,
 *	verbs, \Q..\E) gets no prefilter, which is weaker, never wrong.
 */
#define _GNU_SOURCE

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx.h"

#define RX_OVEC 32		/* capture pairs per match; patterns may use 31 groups */
#define RX_MATCH_LIMIT 1000000	/* PCRE2 match limit per regex and subject */
#define RX_JIT_STACK (1024 * 1024)	/* largest JIT stack per thread */
#define RX_NEED 2048		/* prefilter entries gathered per pattern part */
#define RX_KEEP 8		/* prefilter clauses kept per regex */
#define RX_TERM 4		/* byte pairs in one term */

/* rx_need - the clauses gathered while reading (part of) one pattern */
struct rx_need {
	uint16_t pre[RX_NEED];		/* clauses, encoded as in struct rx */
	unsigned len;			/* entries used */
	unsigned ncl;			/* clauses */
	const uint64_t *common;		/* pairs found in everyday UAs */
};

/* rx_tls - per-thread PCRE2 state */
struct rx_tls {
	pcre2_match_data *md;		/* RX_OVEC pairs */
	pcre2_match_context *mctx;	/* match limit and JIT stack */
	pcre2_jit_stack *js;		/* JIT stack */
	uint64_t bits[RX_BITS];	/* byte pairs in the subject being matched */
};

static pthread_key_t rx_tls_key;
static pthread_once_t rx_tls_once = PTHREAD_ONCE_INIT;
static int rx_tls_keyok;
static __thread struct rx_tls *rx_tls_cur;

/* rx_tls_free - free one thread's PCRE2 state */
static void
rx_tls_free(void *p)
{
	struct rx_tls *t = p;

	if (t == NULL)
		return;
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	pcre2_jit_stack_free(t->js);
	free(t);
}

/* rx_tls_init - create the key that frees thread state at thread exit */
static void
rx_tls_init(void)
{
	rx_tls_keyok = pthread_key_create(&rx_tls_key, rx_tls_free) == 0;
}

/* rx_tls_get - this thread's match state, made on first use; NULL if out of memory */
struct rx_tls *
rx_tls_get(void)
{
	struct rx_tls *t;

	if (rx_tls_cur != NULL)
		return rx_tls_cur;
	pthread_once(&rx_tls_once, rx_tls_init);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->md = pcre2_match_data_create(RX_OVEC, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	t->js = pcre2_jit_stack_create(32 * 1024, RX_JIT_STACK, NULL);
	if (t->md == NULL || t->mctx == NULL) {
		rx_tls_free(t);
		return NULL;
	}
	pcre2_set_match_limit(t->mctx, RX_MATCH_LIMIT);
	if (t->js != NULL)
		pcre2_jit_stack_assign(t->mctx, NULL, t->js);
	if (rx_tls_keyok)
		pthread_setspecific(rx_tls_key, t);
	rx_tls_cur = t;
	return t;
}

/* rx_tls_release - free the calling thread's match state now */
void
rx_tls_release(void)
{
	if (rx_tls_cur == NULL)
		return;
	if (rx_tls_keyok)
		pthread_setspecific(rx_tls_key, NULL);
	rx_tls_free(rx_tls_cur);
	rx_tls_cur = NULL;
}

/* rx_seterr - format a load error into ERR (may be NULL) */
void
rx_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* rx_fold - ASCII lower case of byte C */
static unsigned
rx_fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* rx_pair - the folded byte pair at S */
static uint16_t
rx_pair(const unsigned char *s)
{
	return (uint16_t)(rx_fold(s[0]) << 8 | rx_fold(s[1]));
}

/* rx_weak - is pair B found in everyday UAs? */
static int
rx_weak(const uint64_t *common, uint16_t b)
{
	return (int)(common[b >> 6] >> (b & 63) & 1);
}

/* rx_clen - entries in the clause at Q */
static unsigned
rx_clen(const uint16_t *q)
{
	unsigned t, o = 1;

	for (t = 0; t < q[0]; t++)
		o += 1 + q[o];
	return o;
}

/* rx_score - how little the clause at Q filters: lower is better */
static unsigned
rx_score(const uint64_t *common, const uint16_t *q)
{
	unsigned t, i, o = 1, weak = 0, all;

	for (t = 0; t < q[0]; o += 1 + q[o], t++) {
		for (i = 0, all = 1; i < q[o]; i++)
			all &= (unsigned)rx_weak(common, q[o + 1 + i]);
		weak |= all;	/* a term everyday UAs hold: the clause rarely fails */
	}
	return weak * 10000 + q[0];
}

/* rx_add - append the clause of LEN entries at Q to L (dropped when full) */
static void
rx_add(struct rx_need *l, const uint16_t *q, unsigned len)
{
	unsigned c, o;

	if (len < 3 || l->len + len > RX_NEED)
		return;
	for (c = 0, o = 0; len == 3 && c < l->ncl; o += rx_clen(l->pre + o), c++)
		if (memcmp(l->pre + o, q, 3 * sizeof(*q)) == 0)
			return;	/* that pair is required already */
	memcpy(l->pre + l->len, q, len * sizeof(*q));
	l->len += len;
	l->ncl++;
}

/* rx_addrun - require each pair of the LEN literal bytes of RUN */
static void
rx_addrun(struct rx_need *l, const unsigned char *run, size_t len)
{
	uint16_t q[3] = { 1, 1, 0 };
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		q[2] = rx_pair(run + i);
		rx_add(l, q, 3);
	}
}

/* rx_best - offset of the clause of L that filters best; -1 if none */
static long
rx_best(const struct rx_need *l)
{
	unsigned c, o, s, best = UINT_MAX;
	long at = -1;

	for (c = 0, o = 0; c < l->ncl; o += rx_clen(l->pre + o), c++)
		if ((s = rx_score(l->common, l->pre + o)) < best) {
			best = s;
			at = (long)o;
		}
	return at;
}

/* rx_term - the terms one branch B requires, appended at OUT+*N; -1 if none */
static int
rx_term(const struct rx_need *b, uint16_t *out, unsigned *n, unsigned max)
{
	unsigned c, o, k = 0, pass, len;
	long at;

	/* one term: the branch's rarest required pairs, all of them */
	for (pass = 0; pass < 2; pass++)
		for (c = 0, o = 0; c < b->ncl; o += rx_clen(b->pre + o), c++)
			if (b->pre[o] == 1 && b->pre[o + 1] == 1 && k < RX_TERM &&
			    rx_weak(b->common, b->pre[o + 2]) == (int)pass) {
				if (*n + 2 + k > max)
					return -1;
				out[*n + 1 + k++] = b->pre[o + 2];
			}
	if (k > 0) {
		out[*n] = (uint16_t)k;
		*n += 1 + k;
		return 1;
	}
	/* none: every term of its best either-or clause */
	if ((at = rx_best(b)) < 0)
		return -1;
	len = rx_clen(b->pre + at) - 1;
	if (*n + len > max)
		return -1;
	memcpy(out + *n, b->pre + at + 1, len * sizeof(*out));
	*n += len;
	return (int)b->pre[at];
}

/* rx_skipclass - P at '[': the byte after the class's ']' */
static const char *
rx_skipclass(const char *p, const char *end)
{
	const char *q;

	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')
		p++;
	while (p < end && *p != ']') {
		if (*p == '\\' && p + 1 < end)
			p += 2;
		else if (*p == '[' && p + 1 < end && p[1] == ':' &&
		    (q = memmem(p, (size_t)(end - p), ":]", 2)) != NULL)
			p = q + 2;
		else
			p++;
	}
	return p < end ? p + 1 : end;
}

/* rx_scan - from P, the first ')' (or with BAR '|') not inside a group or class */
static const char *
rx_scan(const char *p, const char *end, int bar)
{
	int depth = 0;

	while (p < end) {
		if (*p == '\\')
			p = p + 1 < end ? p + 2 : end;
		else if (*p == '[')
			p = rx_skipclass(p, end);
		else {
			if (*p == '(')
				depth++;
			else if (*p == ')' && depth-- == 0)
				return p;
			else if (*p == '|' && bar && depth == 0)
				return p;
			p++;
		}
	}
	return end;
}

/* rx_quant - the quantifier at P: 0 none, 1 may be absent, 2 at least once; *NEXT past it */
static int
rx_quant(const char *p, const char *end, const char **next)
{
	const char *q;
	int kind = 0, min = 0, digits = 0;

	if (p < end && (*p == '?' || *p == '*'))
		kind = 1, p++;
	else if (p < end && *p == '+')
		kind = 2, p++;
	else if (p < end && *p == '{') {
		for (q = p + 1; q < end && *q >= '0' && *q <= '9'; q++, digits = 1)
			min = min < 1000 ? min * 10 + (*q - '0') : min;
		if (q < end && *q == ',')
			for (q++; q < end && *q >= '0' && *q <= '9'; q++)
				digits = 1;
		if (digits && q < end && *q == '}') {
			kind = min == 0 ? 1 : 2;
			p = q + 1;
		}
	}
	if (kind && p < end && (*p == '?' || *p == '+'))
		p++;
	*next = p;
	return kind;
}

static void rx_alt(struct rx_need *l, const char *p, const char *end);

/* rx_lits - add to L what every match of P..END (no '|' at its level) holds */
static void
rx_lits(struct rx_need *l, const char *p, const char *end)
{
	unsigned char run[64];
	const char *after, *close, *body;
	size_t rl = 0;
	int lit, q;

	while (p < end) {
		lit = -1;
		after = p + 1;
		if (*p == '\\') {
			if (p + 1 >= end || strchr("dDwWsSbBhHvV", p[1]) == NULL) {
				if (p + 1 >= end || (p[1] >= '0' && p[1] <= '9') ||
				    (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))
					break;	/* \x.., \Q, back references: stop here */
				lit = (unsigned char)p[1];
			}
			after = p + 2;
		} else if (*p == '[') {
			after = rx_skipclass(p, end);
			if (after - p == 4 && p[1] != '\\' && p[1] != '^' &&
			    rx_fold((unsigned char)p[1]) == rx_fold((unsigned char)p[2]))
				lit = (unsigned char)p[1];	/* [Ss] */
		} else if (*p == '(') {
			close = rx_scan(p + 1, end, 0);
			after = close < end ? close + 1 : end;
			q = rx_quant(after, end, &after);
			rx_addrun(l, run, rl);
			rl = 0;
			body = p + 1;	/* plain and (?: groups; not (?=, (?i) ... */
			if (body < close && *body == '?')
				body = body + 1 < close && body[1] == ':' ? body + 2 : NULL;
			if (body != NULL && q != 1)
				rx_alt(l, body, close);
			p = after;
			continue;
		} else if (*p == '|' || *p == ')')
			break;	/* not at this level (see rx_alt) */
		else if (strchr(".^${}?*+", *p) == NULL)
			lit = (unsigned char)*p;
		q = rx_quant(after, end, &after);
		if (lit < 0 || q == 1 || rl == sizeof(run)) {
			rx_addrun(l, run, rl);
			rl = 0;
		}
		if (lit >= 0 && q != 1) {
			run[rl++] = (unsigned char)lit;
			if (q == 2) {
				rx_addrun(l, run, rl);
				rl = 0;
			}
		}
		p = after;
	}
	rx_addrun(l, run, rl);
}

/* rx_alt - add to L what every match of the alternatives P..END holds */
static void
rx_alt(struct rx_need *l, const char *p, const char *end)
{
	struct rx_need *br;
	uint16_t *any;
	const char *bar = rx_scan(p, end, 1);
	unsigned n = 1, terms = 0;
	int k;

	if (bar == end) {
		rx_lits(l, p, end);
		return;
	}
	/* one clause: the terms of every branch, joined by "or" */
	br = malloc(sizeof(*br));
	any = malloc(RX_NEED * sizeof(*any));
	if (br == NULL || any == NULL)
		goto out;	/* no clause: a weaker filter, not a wrong one */
	for (;;) {
		memset(br, 0, sizeof(*br));
		br->common = l->common;
		rx_lits(br, p, bar);
		if ((k = rx_term(br, any, &n, RX_NEED)) < 0 || terms + (unsigned)k > 0xffff)
			goto out;	/* a branch that needs nothing: no clause */
		terms += (unsigned)k;
		if (bar == end)
			break;
		p = bar + 1;
		bar = rx_scan(p, end, 1);
	}
	any[0] = (uint16_t)terms;
	rx_add(l, any, n);
out:
	free(br);
	free(any);
}

/* rx_plain - is PAT free of syntax the prefilter reader does not follow? */
static int
rx_plain(const char *pat, size_t len)
{
	const char *p, *end = pat + len;

	for (p = pat; p + 1 < end; p++) {
		if (p[0] == '\\' && strchr("QEc", p[1]) != NULL && p[1] != '\0')
			return 0;	/* quoting, control escapes */
		if (p[0] == '(' && ((p[1] == '?' && (p + 2 >= end || p[2] != ':')) ||
		    p[1] == '*'))
			return 0;	/* options (?x), comments, verbs */
	}
	return 1;
}

/* rx_keep - give X the clauses of L that filter best, best first; -1 if out of memory */
static int
rx_keep(struct rx *x, struct rx_need *l)
{
	unsigned char taken[RX_NEED / 3 + 1] = { 0 };
	unsigned c, o, s, best, len, used = 0, pick = 0;
	long at;

	x->pre = NULL;
	x->ncl = 0;
	if (l->ncl == 0)
		return 0;
	if ((x->pre = malloc(l->len * sizeof(*x->pre))) == NULL)
		return -1;
	while (x->ncl < RX_KEEP && x->ncl < l->ncl) {
		best = UINT_MAX;
		at = -1;
		for (c = 0, o = 0; c < l->ncl; o += rx_clen(l->pre + o), c++)
			if (!taken[c] && (s = rx_score(l->common, l->pre + o)) < best) {
				best = s;
				at = (long)o;
				pick = c;
			}
		len = rx_clen(l->pre + at);
		memcpy(x->pre + used, l->pre + at, len * sizeof(*x->pre));
		used += len;
		x->ncl++;
		taken[pick] = 1;
	}
	return 0;
}

/* rx_compile - compile PAT for PATH:LINE into X with JIT; -1 with a message in ERR */
int
rx_compile(struct rx *x, const char *pat, size_t len, int caseless,
    const uint64_t *common, const char *path, unsigned long line, char *err,
    size_t errlen)
{
	struct rx_need *need;
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	uint32_t ncap = 0;
	int ec;

	x->re = pcre2_compile((PCRE2_SPTR)pat, len, caseless ? PCRE2_CASELESS : 0,
	    &ec, &off, NULL);
	if (x->re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		rx_seterr(err, errlen, "%s:%lu: regex: %s at offset %zu", path,
		    line, (char *)msg, (size_t)off);
		return -1;
	}
	pcre2_pattern_info(x->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
	if (ncap >= RX_OVEC) {
		rx_seterr(err, errlen, "%s:%lu: regex: %u capture groups (at most %d)",
		    path, line, ncap, RX_OVEC - 1);
		return -1;
	}
	/* without the JIT (unsupported CPU) pcre2_match interprets */
	(void)pcre2_jit_compile(x->re, PCRE2_JIT_COMPLETE);
	if ((need = calloc(1, sizeof(*need))) == NULL)
		goto oom;
	need->common = common;
	if (rx_plain(pat, len) && rx_scan(pat, pat + len, 0) == pat + len)
		rx_alt(need, pat, pat + len);
	ec = rx_keep(x, need);
	free(need);
	if (ec == 0)
		return 0;
oom:
	rx_seterr(err, errlen, "%s:%lu: out of memory", path, line);
	return -1;
}

/* rx_free - free what rx_compile put in X */
void
rx_free(struct rx *x)
{
	pcre2_code_free(x->re);
	free(x->pre);
}

/* rx_pairs - set the folded byte pairs of N bytes of S in BITS (RX_BITS words) */
void
rx_pairs(uint64_t *bits, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned b;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		b = rx_pair(u + i);
		bits[b >> 6] |= 1ULL << (b & 63);
	}
}

/* rx_prepare - note the byte pairs of N bytes of S in T for rx_match */
void
rx_prepare(struct rx_tls *t, const char *s, size_t n)
{
	rx_pairs(t->bits, s, n);
}

/* rx_unprepare - clear what rx_prepare noted for S */
void
rx_unprepare(struct rx_tls *t, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned b;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		b = rx_pair(u + i);
		t->bits[b >> 6] = 0;
	}
}

/* rx_match - run X over N bytes of S (prepared); capture pairs set, 0 if no match */
int
rx_match(const struct rx *x, const char *s, size_t n, struct rx_tls *t)
{
	const uint16_t *q = x->pre;
	unsigned c, nt, np, i;
	uint64_t any, all;
	int rc;

	for (c = 0; c < x->ncl; c++) {
		for (nt = *q++, any = 0; nt > 0; nt--, q += np) {
			for (np = *q++, i = 0, all = 1; i < np; i++)
				all &= t->bits[q[i] >> 6] >> (q[i] & 63);
			any |= all;
		}
		if (!(any & 1))
			return 0;	/* S lacks what every match holds */
	}
	rc = pcre2_match(x->re, (PCRE2_SPTR)s, n, 0, 0, t->md, t->mctx);
	return rc > 0 ? rc : 0;	/* errors such as the match limit: no match */
}

/* rx_group - capture group G of the last match (RC pairs) of S into P and LEN; 0 if unset */
int
rx_group(struct rx_tls *t, int rc, unsigned g, const char *s, const char **p,
    size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);

	if (g == 0 || (int)g >= rc || ov[2 * g] == PCRE2_UNSET)
		return 0;
	*p = s + ov[2 * g];
	*len = ov[2 * g + 1] - ov[2 * g];
	return 1;
}
