/*
 * NAME
 *	machines.c - load and match the rules of machines.yaml
 *
 * DESCRIPTION
 *	See machines.h.  Regexes go through rx.c like the mail-client rules
 *	(PCRE2 with JIT and a byte-pair prefilter), always caseless.  Each
 *	rule with networks keeps its own cidr_set; the union of all of them
 *	(anynet) and the sorted union of every AS number (anyasn) say first
 *	whether the per-rule sets need to be asked at all.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cidr.h"
#include "event.h"
#include "machines.h"
#include "rx.h"
#include "uap.h"

#define MACHINES_KIND_ALL ((1u << EVENT_OPEN) | (1u << EVENT_CLICK) | (1u << EVENT_DOWNLOAD))

/* machine_priv - what a rule matches with */
struct machine_priv {
	struct rx ua;			/* ua regex, .re NULL if none */
	struct rx unless;		/* unless regex, .re NULL if none */
	struct cidr_set *nets;		/* networks, NULL if none */
	uint32_t *asn;			/* AS numbers, sorted */
	size_t nasn;
};

/* machines_db - the loaded file */
struct machines_db {
	struct machine_rule *r;		/* rules in file order */
	size_t n;
	struct cidr_set *anynet;	/* every rule's networks */
	uint32_t *anyasn;		/* every rule's AS numbers, sorted, unique */
	size_t nanyasn;
	uint64_t *common;		/* rx prefilter scoring (all zero: no pair is weak) */
};

/* u32_cmp - qsort/bsearch order of AS numbers */
static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* u32_has - is V in the sorted array A[0..N)? */
static int u32_has(const uint32_t *a, size_t n, uint32_t v)
{
	return n && bsearch(&v, a, n, sizeof(*a), u32_cmp) != NULL;
}

/* machine_class_str - the class's word in machines.yaml */
const char *machine_class_str(enum machine_class c)
{
	switch (c) {
	case MACHINE_SCANNER:
		return "scanner";
	case MACHINE_PROXY:
		return "proxy";
	case MACHINE_BOT:
		return "bot";
	case MACHINE_PREFETCH:
		return "prefetch";
	case MACHINE_DATACENTER:
		return "datacenter";
	}
	return "?";
}

/* ml_strdup - copy the scalar V into *DST; -1 with ERR if V is no non-empty string */
static int ml_strdup(const yaml_node_t *v, char **dst, const char *what, const char *path,
    unsigned long line, char *err, size_t errlen)
{
	const char *s = uap_ystr(v);

	if (s == NULL || *s == '\0') {
		rx_seterr(err, errlen, "%s:%lu: rule without %s", path, line, what);
		return -1;
	}
	if ((*dst = strdup(s)) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* ml_items - the items of V (a sequence, or one scalar) into *ITEMS; count, or -1 */
static long ml_items(yaml_document_t *doc, yaml_node_t *v, yaml_node_t ***items)
{
	long n, i;

	if (v->type == YAML_SCALAR_NODE) {
		if ((*items = malloc(sizeof(**items))) == NULL)
			return -1;
		(*items)[0] = v;
		return 1;
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return -1;
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if ((*items = calloc((size_t)n + 1, sizeof(**items))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		(*items)[i] = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
	return n;
}

/* ml_kinds - the kinds list V into *KINDS; -1 with ERR */
static int ml_kinds(yaml_document_t *doc, yaml_node_t *v, unsigned *kinds, const char *path,
    char *err, size_t errlen)
{
	yaml_node_t **it = NULL;
	const char *s;
	long n, i;

	*kinds = 0;
	if ((n = ml_items(doc, v, &it)) <= 0)
		goto bad;
	for (i = 0; i < n; i++) {
		if ((s = uap_ystr(it[i])) == NULL)
			goto bad;
		if (strcmp(s, "open") == 0)
			*kinds |= 1u << EVENT_OPEN;
		else if (strcmp(s, "click") == 0)
			*kinds |= 1u << EVENT_CLICK;
		else if (strcmp(s, "download") == 0)
			*kinds |= 1u << EVENT_DOWNLOAD;
		else
			goto bad;
	}
	free(it);
	return 0;
bad:
	free(it);
	rx_seterr(err, errlen, "%s:%lu: kinds must list open, click or download", path,
	    uap_yline(v));
	return -1;
}

/* ml_asn - the asn list V into P; -1 with ERR */
static int ml_asn(yaml_document_t *doc, yaml_node_t *v, struct machine_priv *p,
    const char *path, char *err, size_t errlen)
{
	yaml_node_t **it = NULL;
	const char *s;
	char *end;
	unsigned long a;
	long n, i;

	if ((n = ml_items(doc, v, &it)) <= 0 ||
	    (p->asn = calloc((size_t)n, sizeof(*p->asn))) == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		s = uap_ystr(it[i]);
		if (s == NULL || *s == '\0')
			goto bad;
		if (strncasecmp(s, "AS", 2) == 0)
			s += 2;
		errno = 0;
		a = strtoul(s, &end, 10);
		if (!isdigit((unsigned char)*s) || *end || errno || a == 0 || a > UINT32_MAX)
			goto bad;
		p->asn[i] = (uint32_t)a;
	}
	p->nasn = (size_t)n;
	qsort(p->asn, p->nasn, sizeof(*p->asn), u32_cmp);
	free(it);
	return 0;
bad:
	free(it);
	rx_seterr(err, errlen, "%s:%lu: asn must list AS numbers (1 to 4294967295)", path,
	    uap_yline(v));
	return -1;
}

/* ml_nets - the networks list V into P and ANY; -1 with ERR */
static int ml_nets(yaml_document_t *doc, yaml_node_t *v, struct machine_priv *p,
    struct cidr_set *any, const char *path, char *err, size_t errlen)
{
	yaml_node_t **it = NULL;
	char e[256];
	const char *s;
	long n, i;

	if ((n = ml_items(doc, v, &it)) <= 0) {
		free(it);
		rx_seterr(err, errlen, "%s:%lu: networks must list prefixes", path, uap_yline(v));
		return -1;
	}
	if ((p->nets = cidr_set_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if ((s = uap_ystr(it[i])) == NULL ||
		    cidr_set_add(p->nets, s, CIDR_NODATA, e, sizeof(e)) < 0 ||
		    cidr_set_add(any, s, CIDR_NODATA, e, sizeof(e)) < 0) {
			rx_seterr(err, errlen, "%s:%lu: network \"%s\": %s", path,
			    uap_yline(it[i]), s ? s : "?", s ? e : "not a string");
			free(it);
			return -1;
		}
	}
	free(it);
	if (cidr_set_finish(p->nets) < 0)
		goto oom;
	return 0;
oom:
	free(it);
	rx_seterr(err, errlen, "%s: out of memory", path);
	return -1;
}

/* ml_regex - compile the regex V into X; -1 with ERR */
static int ml_regex(const struct machines_db *m, yaml_node_t *v, struct rx *x,
    const char *path, char *err, size_t errlen)
{
	const char *s = uap_ystr(v);

	if (s == NULL || *s == '\0') {
		rx_seterr(err, errlen, "%s:%lu: a regex must be a non-empty string", path,
		    uap_yline(v));
		return -1;
	}
	return rx_compile(x, s, v->data.scalar.length, 1, m->common, path, uap_yline(v),
	    err, errlen);
}

/* ml_rule - one rule from mapping Y into R; -1 with ERR */
static int ml_rule(struct machines_db *m, yaml_document_t *doc, yaml_node_t *y,
    struct machine_rule *r, const char *path, char *err, size_t errlen)
{
	static const char *const keys[] = { "id", "name", "class", "kinds", "ua",
	    "unless", "asn", "networks", "source" };
	struct machine_priv *p;
	yaml_node_pair_t *pr;
	yaml_node_t *v;
	const char *k;
	size_t i;

	if (y == NULL || y->type != YAML_MAPPING_NODE) {
		rx_seterr(err, errlen, "%s:%lu: a rule must be a mapping", path,
		    y ? uap_yline(y) : 0UL);
		return -1;
	}
	r->line = uap_yline(y);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	r->priv = p;
	for (pr = y->data.mapping.pairs.start; pr < y->data.mapping.pairs.top; pr++) {
		k = uap_ystr(yaml_document_get_node(doc, pr->key));
		for (i = 0; k != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (k == NULL || i == sizeof(keys) / sizeof(keys[0])) {
			rx_seterr(err, errlen, "%s:%lu: unknown key \"%s\"", path, r->line,
			    k ? k : "?");
			return -1;
		}
	}
	if (ml_strdup(uap_yget(doc, y, "id"), &r->id, "id", path, r->line, err, errlen) < 0)
		return -1;
	for (k = r->id; *k; k++)
		if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '-')) {
			rx_seterr(err, errlen, "%s:%lu: id \"%s\": only a-z, 0-9 and -", path,
			    r->line, r->id);
			return -1;
		}
	if (strlen(r->id) > 32) {
		rx_seterr(err, errlen, "%s:%lu: id \"%s\" is longer than 32", path, r->line, r->id);
		return -1;
	}
	if (ml_strdup(uap_yget(doc, y, "name"), &r->name, "name", path, r->line, err, errlen) < 0 ||
	    ml_strdup(uap_yget(doc, y, "source"), &r->source, "source", path, r->line, err,
	    errlen) < 0)
		return -1;
	k = uap_ystr(uap_yget(doc, y, "class"));
	if (k && strcmp(k, "scanner") == 0)
		r->cls = MACHINE_SCANNER;
	else if (k && strcmp(k, "proxy") == 0)
		r->cls = MACHINE_PROXY;
	else if (k && strcmp(k, "bot") == 0)
		r->cls = MACHINE_BOT;
	else if (k && strcmp(k, "prefetch") == 0)
		r->cls = MACHINE_PREFETCH;
	else if (k && strcmp(k, "datacenter") == 0)
		r->cls = MACHINE_DATACENTER;
	else {
		rx_seterr(err, errlen, "%s:%lu: class must be scanner, proxy, bot, prefetch or "
		    "datacenter",
		    path, r->line);
		return -1;
	}
	r->kinds = MACHINES_KIND_ALL;
	if ((v = uap_yget(doc, y, "kinds")) != NULL &&
	    ml_kinds(doc, v, &r->kinds, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, y, "ua")) != NULL && ml_regex(m, v, &p->ua, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, y, "unless")) != NULL &&
	    ml_regex(m, v, &p->unless, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, y, "asn")) != NULL && ml_asn(doc, v, p, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, y, "networks")) != NULL &&
	    ml_nets(doc, v, p, m->anynet, path, err, errlen) < 0)
		return -1;
	if (p->ua.re == NULL && p->nets == NULL && p->nasn == 0) {
		rx_seterr(err, errlen, "%s:%lu: rule \"%s\" has no ua, asn or networks", path,
		    r->line, r->id);
		return -1;
	}
	return 0;
}

/* ml_union_asn - every rule's AS numbers into M->anyasn, sorted and unique; -1 if out of memory */
static int ml_union_asn(struct machines_db *m)
{
	const struct machine_priv *p;
	size_t i, j, n = 0;

	for (i = 0; i < m->n; i++)
		n += ((const struct machine_priv *)m->r[i].priv)->nasn;
	if (n == 0)
		return 0;
	if ((m->anyasn = malloc(n * sizeof(*m->anyasn))) == NULL)
		return -1;
	for (i = 0; i < m->n; i++) {
		p = m->r[i].priv;
		for (j = 0; j < p->nasn; j++)
			m->anyasn[m->nanyasn++] = p->asn[j];
	}
	qsort(m->anyasn, m->nanyasn, sizeof(*m->anyasn), u32_cmp);
	for (i = j = 0; i < m->nanyasn; i++)
		if (j == 0 || m->anyasn[j - 1] != m->anyasn[i])
			m->anyasn[j++] = m->anyasn[i];
	m->nanyasn = j;
	return 0;
}

/* machines_load - read PATH; NULL with a message in ERR */
struct machines_db *machines_load(const char *path, char *err, size_t errlen)
{
	struct machines_db *m;
	yaml_document_t doc;
	yaml_node_item_t *items;
	yaml_node_t *root;
	long n, i;
	size_t j;

	if (path == NULL || *path == '\0') {
		rx_seterr(err, errlen, "machines: no file given");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->common = calloc(RX_BITS, sizeof(uint64_t))) == NULL ||
	    (m->anynet = cidr_set_new()) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		machines_free(m);
		return NULL;
	}
	if ((root = uap_yload(path, &doc, err, errlen)) == NULL) {
		machines_free(m);
		return NULL;
	}
	if ((n = uap_yseq(&doc, root, "machines", &items, path, err, errlen)) < 0)
		goto fail;
	if ((m->r = calloc((size_t)n + 1, sizeof(*m->r))) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		m->n = (size_t)i + 1;
		if (ml_rule(m, &doc, yaml_document_get_node(&doc, items[i]), &m->r[i], path,
		    err, errlen) < 0)
			goto fail;
		for (j = 0; j < (size_t)i; j++)
			if (strcmp(m->r[j].id, m->r[i].id) == 0) {
				rx_seterr(err, errlen, "%s:%lu: id \"%s\" is taken (line %lu)",
				    path, m->r[i].line, m->r[i].id, m->r[j].line);
				goto fail;
			}
	}
	if (cidr_set_finish(m->anynet) < 0 || ml_union_asn(m) < 0) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	yaml_document_delete(&doc);
	return m;
fail:
	yaml_document_delete(&doc);
	machines_free(m);
	return NULL;
}

/* machines_count - rules loaded */
size_t machines_count(const struct machines_db *m)
{
	return m ? m->n : 0;
}

/* machines_match - see machines.h */
void machines_match(const struct machines_db *m, int kind, const char *ua, size_t n,
    const struct sockaddr *sa, uint32_t asn, struct machines_hit *out)
{
	struct rx_tls *t = NULL;
	int innet, inasn, prepared = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (m == NULL || m->n == 0)
		return;
	innet = sa && cidr_set_count(m->anynet) && cidr_set_match(m->anynet, sa) != NULL;
	inasn = asn && u32_has(m->anyasn, m->nanyasn, asn);
	for (i = 0; i < m->n; i++) {
		const struct machine_rule *r = &m->r[i];
		const struct machine_priv *p = r->priv;

		if (!(r->kinds & (1u << kind)))
			continue;
		if (r->cls == MACHINE_DATACENTER ? out->datacenter : out->rule != NULL)
			continue;
		if (p->nets || p->nasn) {
			int net = innet && p->nets && cidr_set_match(p->nets, sa) != NULL;
			int as = inasn && u32_has(p->asn, p->nasn, asn);

			if (!net && !as)
				continue;
		}
		if (p->ua.re || p->unless.re) {
			if (!prepared) {
				if ((t = rx_tls_get()) == NULL)
					return;
				rx_prepare(t, ua, n);
				prepared = 1;
			}
			if (p->ua.re && !rx_match(&p->ua, ua, n, t))
				continue;
			if (p->unless.re && rx_match(&p->unless, ua, n, t))
				continue;
		}
		if (r->cls == MACHINE_DATACENTER)
			out->datacenter = 1;
		else
			out->rule = r;
		if (out->rule && out->datacenter)
			break;
	}
	if (prepared)
		rx_unprepare(t, ua, n);
}

/* machines_free - release M and its rules */
void machines_free(struct machines_db *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		struct machine_priv *p = m->r[i].priv;

		free(m->r[i].id);
		free(m->r[i].name);
		free(m->r[i].source);
		if (p) {
			rx_free(&p->ua);
			rx_free(&p->unless);
			cidr_set_free(p->nets);
			free(p->asn);
			free(p);
		}
	}
	free(m->r);
	free(m->anyasn);
	cidr_set_free(m->anynet);
	free(m->common);
	free(m);
}
