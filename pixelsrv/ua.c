/*
 * NAME
 *	ua.c - User-Agent classification: uap-core, mail-client rules, cache
 *
 * SYNOPSIS
 *	#include "ua.h"
 *
 * DESCRIPTION
 *	Implements the uap-core specification over its regexes.yaml: each of
 *	user_agent_parsers, os_parsers and device_parsers is an ordered list
 *	whose first matching regex (case-insensitive with regex_flag: 'i')
 *	gives the result.  A field with a *_replacement takes the
 *	replacement, with $1..$9 replaced by the capture groups (an unset
 *	group gives ""), trimmed, and empty meaning none; a field without
 *	one takes its default capture group (UA and OS: family $1, versions
 *	$2..$5; device: family and model $1, no brand).  A missing family
 *	is "Other".
 *
 *	From that come the device type, "OS major", "browser major", and the
 *	mail client: the first rule of mail-clients.yaml whose conditions
 *	all hold (regex matches, unless-regex does not, uap browser and OS
 *	family in the lists).  A rule of class proxy marks the request as an
 *	image proxy and leaves device, OS and browser empty: its UA describes
 *	the proxy, not the reader.
 *
 *	Regexes are compiled with PCRE2 and its JIT; each thread keeps its
 *	own match data, match context and JIT stack.  Most uap-core regexes
 *	cannot match most UAs: at load, the literals of each pattern give a
 *	prefilter (byte pairs every match must hold, see struct rx), checked
 *	against a bitmap of the UA's byte pairs before PCRE2 runs; it cuts a
 *	cold parse from ~1,200 regex runs to ~50.  Results are kept in a
 *	fixed-size direct-mapped cache keyed by the whole UA (first
 *	UA_MAXLEN bytes), one mutex per slot, never held while matching.
 *	Output strings are valid UTF-8 without control characters.
 *
 * DIAGNOSTICS
 *	ua_open() reports an unreadable file, a YAML error or a regex that
 *	does not compile as "FILE:LINE: problem" in its ERR buffer.
 */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ua.h"

#define UA_OVEC 32		/* capture pairs per match; patterns may use 31 groups */
#define UA_CACHE_SLOTS 4096	/* cache entries, a power of two */
#define UA_MATCH_LIMIT 1000000	/* PCRE2 match limit per regex and UA */
#define UA_JIT_STACK (1024 * 1024)	/* largest JIT stack per thread */
#define UA_NFIELD 5		/* result fields of one uap parser */
#define RX_NEED 2048		/* prefilter entries gathered per pattern part */
#define RX_KEEP 8		/* prefilter clauses kept per regex */
#define RX_TERM 4		/* byte pairs in one term */

enum { UAP_UA, UAP_OS, UAP_DEV, UAP_KINDS };

/* uap_kind - how one parser list of regexes.yaml fills its fields */
struct uap_kind {
	const char *list;		/* top-level key in regexes.yaml */
	const char *key[UA_NFIELD];	/* replacement key of each field */
	int group[UA_NFIELD];		/* default capture group, 0: none */
	size_t nfield;			/* fields used */
};

static const struct uap_kind uap_kinds[UAP_KINDS] = {
	{ "user_agent_parsers", { "family_replacement", "v1_replacement",
	    "v2_replacement", "v3_replacement", "v4_replacement" },
	    { 1, 2, 3, 4, 5 }, 5 },
	{ "os_parsers", { "os_replacement", "os_v1_replacement",
	    "os_v2_replacement", "os_v3_replacement", "os_v4_replacement" },
	    { 1, 2, 3, 4, 5 }, 5 },
	{ "device_parsers", { "device_replacement", "brand_replacement",
	    "model_replacement" }, { 1, 0, 1 }, 3 },
};

/*
 * rx - a compiled regex and its prefilter.  The prefilter is read from
 * the pattern's literals: clauses, each a list of terms, each a list of
 * byte pairs (ASCII lower case).  Every match holds all pairs of at least
 * one term of every clause, so a UA failing a clause is not handed to
 * PCRE2.  Encoding: per clause, the term count; per term, the pair count
 * and the pairs.
 */
struct rx {
	pcre2_code *re;			/* the regex; NULL: none */
	uint16_t *pre;			/* the clauses; NULL: none */
	unsigned ncl;			/* clauses */
};

/* rx_need - the clauses gathered while reading (part of) one pattern */
struct rx_need {
	uint16_t pre[RX_NEED];		/* clauses, encoded as in struct rx */
	unsigned len;			/* entries used */
	unsigned ncl;			/* clauses */
	const uint64_t *common;		/* pairs found in everyday UAs */
};

/* uap_rule - one compiled uap-core parser */
struct uap_rule {
	struct rx rx;			/* its regex */
	char *rep[UA_NFIELD];		/* replacement per field; NULL: default group */
};

/* mc_rule - one mail-client rule */
struct mc_rule {
	char *client;			/* name to report; "$browser" is the uap family */
	struct rx re;			/* must match; re.re NULL: no condition */
	struct rx unless;		/* must not match; unless.re NULL: no condition */
	char **browser;			/* uap UA family must be one of these */
	size_t nbrowser;		/* 0: no condition */
	char **os;			/* uap OS family must be one of these */
	size_t nos;			/* 0: no condition */
	int proxy;			/* class proxy */
	char device[16];		/* device type when uap-core gives none; "" */
};

/* ua_slot - one cache entry */
struct ua_slot {
	pthread_mutex_t lock;		/* guards the fields below */
	uint64_t hash;			/* hash of key; 0: empty */
	size_t len;			/* bytes in key */
	char key[UA_MAXLEN];		/* the UA, not NUL-terminated */
	struct ua_info info;		/* its classification */
};

/* ua_db - everything ua_open() loaded */
struct ua_db {
	struct uap_rule *uap[UAP_KINDS];	/* parsers, in file order */
	size_t nuap[UAP_KINDS];		/* how many of each */
	struct mc_rule *mc;		/* mail-client rules, in file order */
	size_t nmc;			/* how many */
	struct ua_slot *cache;		/* UA_CACHE_SLOTS entries */
	uint64_t *common;		/* while loading: pairs of everyday UAs */
};

/* ua_tls - per-thread PCRE2 state */
struct ua_tls {
	pcre2_match_data *md;		/* UA_OVEC pairs */
	pcre2_match_context *mctx;	/* match limit and JIT stack */
	pcre2_jit_stack *js;		/* JIT stack */
	uint64_t bits[65536 / 64];	/* byte pairs in the UA being parsed */
};

static pthread_key_t ua_tls_key;
static pthread_once_t ua_tls_once = PTHREAD_ONCE_INIT;
static int ua_tls_keyok;
static __thread struct ua_tls *ua_tls_cur;

/* ua_tls_free - free one thread's PCRE2 state */
static void
ua_tls_free(void *p)
{
	struct ua_tls *t = p;

	if (t == NULL)
		return;
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	pcre2_jit_stack_free(t->js);
	free(t);
}

/* ua_tls_init - create the key that frees thread state at thread exit */
static void
ua_tls_init(void)
{
	ua_tls_keyok = pthread_key_create(&ua_tls_key, ua_tls_free) == 0;
}

/* ua_tls_get - this thread's PCRE2 state, made on first use; NULL if out of memory */
static struct ua_tls *
ua_tls_get(void)
{
	struct ua_tls *t;

	if (ua_tls_cur != NULL)
		return ua_tls_cur;
	pthread_once(&ua_tls_once, ua_tls_init);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->md = pcre2_match_data_create(UA_OVEC, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	t->js = pcre2_jit_stack_create(32 * 1024, UA_JIT_STACK, NULL);
	if (t->md == NULL || t->mctx == NULL) {
		ua_tls_free(t);
		return NULL;
	}
	pcre2_set_match_limit(t->mctx, UA_MATCH_LIMIT);
	if (t->js != NULL)
		pcre2_jit_stack_assign(t->mctx, NULL, t->js);
	if (ua_tls_keyok)
		pthread_setspecific(ua_tls_key, t);
	ua_tls_cur = t;
	return t;
}

/* ua_tls_release - free the calling thread's state now */
static void
ua_tls_release(void)
{
	if (ua_tls_cur == NULL)
		return;
	if (ua_tls_keyok)
		pthread_setspecific(ua_tls_key, NULL);
	ua_tls_free(ua_tls_cur);
	ua_tls_cur = NULL;
}

/* seterr - format a message into ERR */
static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* copy_clean - copy N bytes of SRC to DST as valid UTF-8 without controls */
static void
copy_clean(char *dst, size_t dstlen, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k, len;
	unsigned char c;

	while (i < n) {
		c = s[i];
		len = 1;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		if (len > 1) {
			/* continuation bytes, overlongs, surrogates, > U+10FFFF */
			int ok = i + len <= n;
			for (k = 1; ok && k < len; k++)
				ok = (s[i + k] & 0xc0) == 0x80;
			if (ok && c == 0xe0 && s[i + 1] < 0xa0)
				ok = 0;
			if (ok && c == 0xed && s[i + 1] > 0x9f)
				ok = 0;
			if (ok && c == 0xf0 && s[i + 1] < 0x90)
				ok = 0;
			if (ok && c == 0xf4 && s[i + 1] > 0x8f)
				ok = 0;
			if (!ok)
				len = 1;
		}
		if (o + len >= dstlen)
			break;
		if (len > 1)
			memcpy(dst + o, s + i, len);
		else
			dst[o] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		o += len;
		i += len;
	}
	if (dstlen > 0)
		dst[o] = '\0';
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
static int
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
		seterr(err, errlen, "%s:%lu: regex: %s at offset %zu", path,
		    line, (char *)msg, (size_t)off);
		return -1;
	}
	pcre2_pattern_info(x->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
	if (ncap >= UA_OVEC) {
		seterr(err, errlen, "%s:%lu: regex: %u capture groups (at most %d)",
		    path, line, ncap, UA_OVEC - 1);
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
	seterr(err, errlen, "%s:%lu: out of memory", path, line);
	return -1;
}

/* rx_prepare - note the bigrams of N bytes of S in T for rx_match */
static void
rx_prepare(struct ua_tls *t, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned b;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		b = rx_pair(u + i);
		t->bits[b >> 6] |= 1ULL << (b & 63);
	}
}

/* rx_unprepare - clear what rx_prepare noted for S */
static void
rx_unprepare(struct ua_tls *t, const char *s, size_t n)
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
static int
rx_match(const struct rx *x, const char *s, size_t n, struct ua_tls *t)
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

/* yload - parse PATH into DOC; its root node, or NULL with a message in ERR */
static yaml_node_t *
yload(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_node_t *root;
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "rb")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		fclose(fp);
		seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_file(&p, fp);
	ok = yaml_parser_load(&p, doc);
	if (!ok)
		seterr(err, errlen, "%s:%lu: %s", path,
		    (unsigned long)p.problem_mark.line + 1,
		    p.problem ? p.problem : "YAML error");
	yaml_parser_delete(&p);
	fclose(fp);
	if (!ok)
		return NULL;
	if ((root = yaml_document_get_root_node(doc)) == NULL ||
	    root->type != YAML_MAPPING_NODE) {
		seterr(err, errlen, "%s: not a YAML mapping", path);
		yaml_document_delete(doc);
		return NULL;
	}
	return root;
}

/* ystr - the text of scalar node N, or NULL */
static const char *
ystr(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* yline - the 1-based line where node N starts */
static unsigned long
yline(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* yget - the value of KEY in mapping MAP, or NULL */
static yaml_node_t *
yget(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;
	const char *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		k = ystr(yaml_document_get_node(doc, pr->key));
		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* yseq - the sequence of KEY in ROOT as an array of nodes; -1 with ERR */
static long
yseq(yaml_document_t *doc, const yaml_node_t *root, const char *key,
    yaml_node_item_t **items, const char *path, char *err, size_t errlen)
{
	yaml_node_t *seq = yget(doc, root, key);

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE) {
		seterr(err, errlen, "%s: no list \"%s\"", path, key);
		return -1;
	}
	*items = seq->data.sequence.items.start;
	return seq->data.sequence.items.top - seq->data.sequence.items.start;
}

/* caseless_flag - is regex_flag of mapping M "i"?  -1 with ERR if invalid */
static int
caseless_flag(yaml_document_t *doc, const yaml_node_t *m, const char *path,
    char *err, size_t errlen)
{
	yaml_node_t *f = yget(doc, m, "regex_flag");
	const char *v = ystr(f);

	if (f == NULL)
		return 0;
	if (v != NULL && strcmp(v, "i") == 0)
		return 1;
	seterr(err, errlen, "%s:%lu: regex_flag must be 'i'", path, yline(f));
	return -1;
}

/* uap_load - read and compile regexes.yaml into DB; -1 with ERR */
static int
uap_load(struct ua_db *db, const char *path, char *err, size_t errlen)
{
	yaml_document_t doc;
	yaml_node_item_t *items;
	yaml_node_t *root, *m, *v;
	const struct uap_kind *k;
	struct uap_rule *r;
	const char *pat;
	long n, i;
	size_t f;
	int kind, ci, rc = -1;

	if ((root = yload(path, &doc, err, errlen)) == NULL)
		return -1;
	for (kind = 0; kind < UAP_KINDS; kind++) {
		k = &uap_kinds[kind];
		if ((n = yseq(&doc, root, k->list, &items, path, err, errlen)) < 0)
			goto out;
		if ((db->uap[kind] = calloc((size_t)n + 1, sizeof(*r))) == NULL) {
			seterr(err, errlen, "%s: out of memory", path);
			goto out;
		}
		for (i = 0; i < n; i++) {
			m = yaml_document_get_node(&doc, items[i]);
			r = &db->uap[kind][i];
			db->nuap[kind] = (size_t)i + 1;
			if ((pat = ystr(v = yget(&doc, m, "regex"))) == NULL) {
				seterr(err, errlen, "%s:%lu: %s entry without regex",
				    path, m ? yline(m) : 0UL, k->list);
				goto out;
			}
			if ((ci = caseless_flag(&doc, m, path, err, errlen)) < 0)
				goto out;
			if (rx_compile(&r->rx, pat, v->data.scalar.length, ci,
			    db->common, path, yline(v), err, errlen) < 0)
				goto out;
			for (f = 0; f < k->nfield; f++) {
				v = yget(&doc, m, k->key[f]);
				if (v == NULL)
					continue;
				if (ystr(v) == NULL || (r->rep[f] = strdup(ystr(v))) == NULL) {
					seterr(err, errlen, "%s:%lu: bad %s", path,
					    yline(v), k->key[f]);
					goto out;
				}
			}
		}
	}
	rc = 0;
out:
	yaml_document_delete(&doc);
	return rc;
}

/* strlist - a scalar or a sequence of scalars as a string array; -1 with ERR */
static int
strlist(yaml_document_t *doc, yaml_node_t *v, char ***list, size_t *n,
    const char *path, char *err, size_t errlen)
{
	yaml_node_item_t *it;
	size_t cnt = 1, i;

	if (v->type == YAML_SEQUENCE_NODE)
		cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (cnt == 0) {
		seterr(err, errlen, "%s:%lu: empty list", path, yline(v));
		return -1;
	}
	if ((*list = calloc(cnt + 1, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < cnt; i++) {
		yaml_node_t *s = v;
		if (v->type == YAML_SEQUENCE_NODE) {
			it = v->data.sequence.items.start + i;
			s = yaml_document_get_node(doc, *it);
		}
		if (ystr(s) == NULL) {
			seterr(err, errlen, "%s:%lu: expected a name or a list of names",
			    path, yline(v));
			return -1;
		}
		if (((*list)[i] = strdup(ystr(s))) == NULL)
			goto oom;
		*n = i + 1;
	}
	return 0;
oom:
	seterr(err, errlen, "%s: out of memory", path);
	return -1;
}

/* mc_load_rule - read one mail-client rule from mapping M; -1 with ERR */
static int
mc_load_rule(yaml_document_t *doc, yaml_node_t *m, struct mc_rule *r,
    const uint64_t *common, const char *path, char *err, size_t errlen)
{
	static const char *const keys[] = { "client", "regex", "unless",
	    "regex_flag", "browser", "os", "class", "device" };
	yaml_node_pair_t *pr;
	yaml_node_t *v;
	const char *k;
	size_t i;
	int ci;

	if (m == NULL || m->type != YAML_MAPPING_NODE) {
		seterr(err, errlen, "%s:%lu: a rule must be a mapping", path,
		    m ? yline(m) : 0UL);
		return -1;
	}
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		k = ystr(yaml_document_get_node(doc, pr->key));
		for (i = 0; k != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (k == NULL || i == sizeof(keys) / sizeof(keys[0])) {
			seterr(err, errlen, "%s:%lu: unknown key \"%s\"", path,
			    yline(m), k ? k : "?");
			return -1;
		}
	}
	if ((k = ystr(yget(doc, m, "client"))) == NULL || *k == '\0') {
		seterr(err, errlen, "%s:%lu: rule without client", path, yline(m));
		return -1;
	}
	if ((r->client = strdup(k)) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((ci = caseless_flag(doc, m, path, err, errlen)) < 0)
		return -1;
	if ((v = yget(doc, m, "regex")) != NULL) {
		if (ystr(v) == NULL || rx_compile(&r->re, ystr(v),
		    v->data.scalar.length, ci, common, path, yline(v), err, errlen) < 0)
			goto badre;
	}
	if ((v = yget(doc, m, "unless")) != NULL) {
		if (ystr(v) == NULL || rx_compile(&r->unless, ystr(v),
		    v->data.scalar.length, ci, common, path, yline(v), err, errlen) < 0)
			goto badre;
	}
	if ((v = yget(doc, m, "browser")) != NULL &&
	    strlist(doc, v, &r->browser, &r->nbrowser, path, err, errlen) < 0)
		return -1;
	if ((v = yget(doc, m, "os")) != NULL &&
	    strlist(doc, v, &r->os, &r->nos, path, err, errlen) < 0)
		return -1;
	if ((v = yget(doc, m, "class")) != NULL) {
		if ((k = ystr(v)) == NULL || strcmp(k, "proxy") != 0) {
			seterr(err, errlen, "%s:%lu: class must be proxy", path, yline(v));
			return -1;
		}
		r->proxy = 1;
	}
	if ((v = yget(doc, m, "device")) != NULL) {
		k = ystr(v);
		if (k == NULL || (strcmp(k, "desktop") != 0 && strcmp(k, "mobile") != 0 &&
		    strcmp(k, "tablet") != 0 && strcmp(k, "bot") != 0)) {
			seterr(err, errlen, "%s:%lu: device must be desktop, mobile, "
			    "tablet or bot", path, yline(v));
			return -1;
		}
		snprintf(r->device, sizeof(r->device), "%s", k);
	}
	if (r->re.re == NULL && r->nbrowser == 0 && r->nos == 0) {
		seterr(err, errlen, "%s:%lu: rule \"%s\" has no regex, browser or os",
		    path, yline(m), r->client);
		return -1;
	}
	return 0;
badre:
	if (ystr(v) == NULL)
		seterr(err, errlen, "%s:%lu: regex must be a string", path, yline(v));
	return -1;
}

/* mc_load - read the mail-client rules of PATH into DB; -1 with ERR */
static int
mc_load(struct ua_db *db, const char *path, char *err, size_t errlen)
{
	yaml_document_t doc;
	yaml_node_item_t *items;
	yaml_node_t *root;
	long n, i;
	int rc = -1;

	if ((root = yload(path, &doc, err, errlen)) == NULL)
		return -1;
	if ((n = yseq(&doc, root, "mail_clients", &items, path, err, errlen)) < 0)
		goto out;
	if ((db->mc = calloc((size_t)n + 1, sizeof(*db->mc))) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (i = 0; i < n; i++) {
		db->nmc = (size_t)i + 1;
		if (mc_load_rule(&doc, yaml_document_get_node(&doc, items[i]),
		    &db->mc[i], db->common, path, err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	yaml_document_delete(&doc);
	return rc;
}

/* everyday UAs: their byte pairs make poor prefilters */
static const char *const ua_everyday[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
	    "like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/"
	    "605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, "
	    "like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
	    "(KHTML, like Gecko)",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
};

/* ua_common - set the byte pairs of the everyday UAs in BITS */
static void
ua_common(uint64_t *bits)
{
	const unsigned char *s;
	uint16_t b;
	size_t i, k;

	for (k = 0; k < sizeof(ua_everyday) / sizeof(ua_everyday[0]); k++) {
		s = (const unsigned char *)ua_everyday[k];
		for (i = 0; s[i] != '\0' && s[i + 1] != '\0'; i++) {
			b = rx_pair(s + i);
			bits[b >> 6] |= 1ULL << (b & 63);
		}
	}
}

/* ua_open - load uap-core regexes and mail-client rules; NULL with a message in ERR */
struct ua_db *
ua_open(const char *regexes_yaml, const char *mail_clients_yaml, char *err,
    size_t errlen)
{
	struct ua_db *db;
	size_t i;

	if (regexes_yaml == NULL || mail_clients_yaml == NULL) {
		seterr(err, errlen, "ua_open: no file given");
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->cache = calloc(UA_CACHE_SLOTS, sizeof(*db->cache))) == NULL ||
	    (db->common = calloc(65536 / 64, sizeof(uint64_t))) == NULL) {
		if (db != NULL)
			free(db->cache);
		free(db);
		seterr(err, errlen, "ua_open: out of memory");
		return NULL;
	}
	ua_common(db->common);
	for (i = 0; i < UA_CACHE_SLOTS; i++)
		pthread_mutex_init(&db->cache[i].lock, NULL);
	if (uap_load(db, regexes_yaml, err, errlen) < 0 ||
	    mc_load(db, mail_clients_yaml, err, errlen) < 0) {
		ua_close(db);
		return NULL;
	}
	free(db->common);
	db->common = NULL;
	return db;
}

/* strv_free - free a NULL-terminated string array */
static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ua_close - free DB; no ua_parse() on it may be running */
void
ua_close(struct ua_db *db)
{
	size_t i, f;
	int kind;

	if (db == NULL)
		return;
	for (kind = 0; kind < UAP_KINDS; kind++) {
		for (i = 0; i < db->nuap[kind]; i++) {
			pcre2_code_free(db->uap[kind][i].rx.re);
			free(db->uap[kind][i].rx.pre);
			for (f = 0; f < UA_NFIELD; f++)
				free(db->uap[kind][i].rep[f]);
		}
		free(db->uap[kind]);
	}
	for (i = 0; i < db->nmc; i++) {
		free(db->mc[i].client);
		pcre2_code_free(db->mc[i].re.re);
		pcre2_code_free(db->mc[i].unless.re);
		free(db->mc[i].re.pre);
		free(db->mc[i].unless.pre);
		strv_free(db->mc[i].browser);
		strv_free(db->mc[i].os);
	}
	free(db->mc);
	if (db->cache != NULL)
		for (i = 0; i < UA_CACHE_SLOTS; i++)
			pthread_mutex_destroy(&db->cache[i].lock);
	free(db->cache);
	free(db->common);
	free(db);
	ua_tls_release();
}

/* uap_group - capture group G of the last match (RC pairs) into P and LEN; 0 if unset */
static int
uap_group(struct ua_tls *t, int rc, unsigned g, const char *s, const char **p,
    size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);

	if (g == 0 || (int)g >= rc || ov[2 * g] == PCRE2_UNSET)
		return 0;
	*p = s + ov[2 * g];
	*len = ov[2 * g + 1] - ov[2 * g];
	return 1;
}

/* uap_field - field F of rule R after a match of S: replacement or default group */
static void
uap_field(const struct uap_rule *r, const struct uap_kind *k, size_t f,
    const char *s, int rc, struct ua_tls *t, char *dst)
{
	char buf[2 * UA_MAXLEN];
	const char *rep = r->rep[f], *p, *end;
	size_t o = 0, len, b = 0;

	*dst = '\0';
	if (rep == NULL) {
		if (uap_group(t, rc, (unsigned)k->group[f], s, &p, &len))
			copy_clean(dst, UA_FIELD, p, len);
		return;
	}
	while (*rep != '\0' && o < sizeof(buf)) {
		if (rep[0] == '$' && rep[1] >= '0' && rep[1] <= '9') {
			if (uap_group(t, rc, (unsigned)(rep[1] - '0'), s, &p, &len)) {
				if (len > sizeof(buf) - o)
					len = sizeof(buf) - o;
				memcpy(buf + o, p, len);
				o += len;
			}
			rep += 2;
		} else
			buf[o++] = *rep++;
	}
	end = buf + o;
	while (b < o && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n' || buf[b] == '\r'))
		b++;
	while (end > buf + b && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	copy_clean(dst, UA_FIELD, buf + b, (size_t)(end - (buf + b)));
}

/* uap_run - first matching rule of KIND over S into FIELDS; "Other" if none */
static void
uap_run(const struct ua_db *db, int kind, const char *s, size_t n,
    struct ua_tls *t, char *fields[])
{
	const struct uap_kind *k = &uap_kinds[kind];
	const struct uap_rule *r;
	size_t i, f;
	int rc;

	for (f = 0; f < k->nfield; f++)
		*fields[f] = '\0';
	for (i = 0; i < db->nuap[kind]; i++) {
		r = &db->uap[kind][i];
		if ((rc = rx_match(&r->rx, s, n, t)) > 0) {
			for (f = 0; f < k->nfield; f++)
				uap_field(r, k, f, s, rc, t, fields[f]);
			break;
		}
	}
	if (*fields[0] == '\0')
		strcpy(fields[0], "Other");
}

/* uap_parse - the uap-core result for N bytes of S (prepared in T) */
static void
uap_parse(const struct ua_db *db, const char *s, size_t n, struct ua_tls *t,
    struct ua_uap *u)
{
	char *fua[] = { u->family, u->major, u->minor, u->patch, u->patch_minor };
	char *fos[] = { u->os, u->os_major, u->os_minor, u->os_patch, u->os_patch_minor };
	char *fdev[] = { u->device, u->brand, u->model };

	uap_run(db, UAP_UA, s, n, t, fua);
	uap_run(db, UAP_OS, s, n, t, fos);
	uap_run(db, UAP_DEV, s, n, t, fdev);
}

/* ua_parse_uap - run the uap-core parsers alone on UA (uncached) */
void
ua_parse_uap(struct ua_db *db, const char *ua, struct ua_uap *out)
{
	struct ua_tls *t = ua_tls_get();
	size_t n;

	memset(out, 0, sizeof(*out));
	if (db == NULL || ua == NULL || t == NULL) {
		strcpy(out->family, "Other");
		strcpy(out->os, "Other");
		strcpy(out->device, "Other");
		return;
	}
	n = strnlen(ua, UA_MAXLEN);
	rx_prepare(t, ua, n);
	uap_parse(db, ua, n, t, out);
	rx_unprepare(t, ua, n);
}

/* in_list - is S one of the NULL-terminated names of L? */
static int
in_list(const char *s, const char *const *l)
{
	for (; *l != NULL; l++)
		if (strcmp(s, *l) == 0)
			return 1;
	return 0;
}

/* has - does N bytes of S contain the string W? */
static int
has(const char *s, size_t n, const char *w)
{
	return memmem(s, n, w, strlen(w)) != NULL;
}

static const char *const os_desktop[] = { "Windows", "Mac OS X", "Mac OS",
	"Linux", "Ubuntu", "Kubuntu", "Xubuntu", "Lubuntu", "Linux Mint",
	"Debian", "Fedora", "Red Hat", "CentOS", "SUSE", "openSUSE", "Gentoo",
	"Mandriva", "Slackware", "Arch Linux", "Chrome OS", "ChromeOS",
	"FreeBSD", "OpenBSD", "NetBSD", "DragonFly BSD", "BSD", "Solaris",
	"Haiku", "BeOS", "OS/2", NULL };
static const char *const os_mobile[] = { "iOS", "Windows Phone",
	"Windows Mobile", "Windows CE", "Symbian OS", "Symbian^3",
	"Symbian^3 Anna", "Symbian^3 Belle", "Firefox OS", "KaiOS",
	"BlackBerry OS", "Nokia Series 40", "Nokia Series 30 Plus", "Brew MP",
	"BREW", "Bada", "Sailfish", "MeeGo", "Maemo", "webOS", "WatchOS",
	"Tizen", NULL };
static const char *const os_tablet[] = { "BlackBerry Tablet OS", "WeTab",
	"Kindle", NULL };
static const char *const dev_mobile[] = { "iPhone", "iPod", "iPod Touch",
	"Generic Smartphone", "Generic Feature Phone", "Apple Watch", NULL };

/* ua_devtype - desktop, mobile, tablet, bot or "" from the uap result and S */
static const char *
ua_devtype(const struct ua_uap *u, const char *s, size_t n)
{
	const char *d = u->device;

	if (strcmp(d, "Spider") == 0 || strcmp(u->family, "Spider") == 0)
		return "bot";
	if (strcmp(d, "iPad") == 0 || strncmp(d, "Kindle", 6) == 0 ||
	    strstr(d, "Tablet") != NULL || strstr(d, "TouchPad") != NULL ||
	    strstr(d, "Playbook") != NULL || in_list(u->os, os_tablet))
		return "tablet";
	if (in_list(d, dev_mobile))
		return "mobile";
	if (strcmp(u->os, "Android") == 0)	/* Android tablets drop "Mobile" */
		return has(s, n, "Mobile") ? "mobile" : "tablet";
	if (in_list(u->os, os_mobile))
		return "mobile";
	if (in_list(u->os, os_desktop) || strcmp(d, "Mac") == 0)
		return "desktop";
	return "";
}

/* ua_join - "A B" (or "A" when B is empty) into DST as clean UTF-8 */
static void
ua_join(char *dst, size_t dstlen, const char *a, const char *b)
{
	char buf[3 * UA_FIELD];
	int len;

	len = snprintf(buf, sizeof(buf), "%s%s%s", a, *b ? " " : "", b);
	copy_clean(dst, dstlen, buf, len < 0 ? 0 : (size_t)len);
}

/* mc_names - does NAME appear in the N names of V? (no condition if N is 0) */
static int
mc_names(char *const *v, size_t n, const char *name)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

/* mc_apply - the first mail-client rule that holds for S and U, into OUT */
static void
mc_apply(const struct ua_db *db, const char *s, size_t n, struct ua_tls *t,
    const struct ua_uap *u, struct ua_info *out)
{
	const struct mc_rule *r;
	const char *at;
	char buf[3 * UA_FIELD];
	size_t i;

	for (i = 0; i < db->nmc; i++) {
		r = &db->mc[i];
		if (!mc_names(r->browser, r->nbrowser, u->family) ||
		    !mc_names(r->os, r->nos, u->os))
			continue;
		if (r->re.re != NULL && !rx_match(&r->re, s, n, t))
			continue;
		if (r->unless.re != NULL && rx_match(&r->unless, s, n, t))
			continue;
		if ((at = strstr(r->client, "$browser")) != NULL)
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - r->client),
			    r->client, u->family, at + strlen("$browser"));
		else
			snprintf(buf, sizeof(buf), "%s", r->client);
		copy_clean(out->client, sizeof(out->client), buf, strlen(buf));
		if (r->proxy) {
			out->proxy = 1;
			out->device[0] = out->os[0] = out->browser[0] = '\0';
		} else if (out->device[0] == '\0')
			memcpy(out->device, r->device, sizeof(out->device));
		return;
	}
}

/* ua_classify - the full classification of N bytes of S; -1 without thread state */
static int
ua_classify(const struct ua_db *db, const char *s, size_t n, struct ua_info *out)
{
	struct ua_tls *t = ua_tls_get();
	struct ua_uap u;
	char ver[2 * UA_FIELD + 1];

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return -1;
	memset(&u, 0, sizeof(u));
	rx_prepare(t, s, n);
	uap_parse(db, s, n, t, &u);
	snprintf(out->device, sizeof(out->device), "%s", ua_devtype(&u, s, n));
	if (strcmp(u.os, "Other") != 0) {
		if (strcmp(u.os, "Mac OS X") == 0 && strcmp(u.os_major, "10") == 0 &&
		    *u.os_minor)
			snprintf(ver, sizeof(ver), "%s.%s", u.os_major, u.os_minor);
		else
			snprintf(ver, sizeof(ver), "%s", u.os_major);
		ua_join(out->os, sizeof(out->os), u.os, ver);
	}
	if (strcmp(u.family, "Other") != 0)
		ua_join(out->browser, sizeof(out->browser), u.family, u.major);
	mc_apply(db, s, n, t, &u, out);
	rx_unprepare(t, s, n);
	return 0;
}

/* ua_hash - 64-bit hash of N bytes of S, never 0 */
static uint64_t
ua_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h | 1;
}

/* ua_parse - classify UA (may be NULL/empty) into *OUT; thread-safe, results cached */
void
ua_parse(struct ua_db *db, const char *ua, struct ua_info *out)
{
	struct ua_slot *sl;
	uint64_t h;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (db == NULL || ua == NULL || *ua == '\0')
		return;
	n = strnlen(ua, UA_MAXLEN);
	h = ua_hash(ua, n);
	sl = &db->cache[h & (UA_CACHE_SLOTS - 1)];
	pthread_mutex_lock(&sl->lock);
	if (sl->hash == h && sl->len == n && memcmp(sl->key, ua, n) == 0) {
		*out = sl->info;
		pthread_mutex_unlock(&sl->lock);
		return;
	}
	pthread_mutex_unlock(&sl->lock);
	if (ua_classify(db, ua, n, out) < 0)
		return;		/* out of memory: empty, not cached */
	pthread_mutex_lock(&sl->lock);
	sl->hash = h;
	sl->len = n;
	memcpy(sl->key, ua, n);
	sl->info = *out;
	pthread_mutex_unlock(&sl->lock);
}
