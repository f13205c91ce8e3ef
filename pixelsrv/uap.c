/*
 * NAME
 *	uap.c - uap-core regexes.yaml: loader and matcher
 *
 * SYNOPSIS
 *	#include "uap.h"
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
 *	is "Other".  Output strings are valid UTF-8 without control
 *	characters.
 *
 *	The YAML helpers here also read Beacon's mail-client rules (ua.c),
 *	which use the same dialect.
 *
 * DIAGNOSTICS
 *	uap_load() reports an unreadable file, a YAML error or a regex that
 *	does not compile as "FILE:LINE: problem" in its ERR buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uap.h"

#define UAP_NFIELD 5		/* result fields of one uap parser */

/* uap_kind - how one parser list of regexes.yaml fills its fields */
struct uap_kind {
	const char *list;		/* top-level key in regexes.yaml */
	const char *key[UAP_NFIELD];	/* replacement key of each field */
	int group[UAP_NFIELD];		/* default capture group, 0: none */
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

/* uap_rule - one compiled uap-core parser */
struct uap_rule {
	struct rx rx;			/* its regex */
	char *rep[UAP_NFIELD];		/* replacement per field; NULL: default group */
};

/* uap_clean - copy N bytes of SRC to DST as valid UTF-8 without controls */
void
uap_clean(char *dst, size_t dstlen, const char *src, size_t n)
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
/* uap_yload - parse PATH into DOC; its root node, or NULL with a message in ERR */
yaml_node_t *
uap_yload(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_node_t *root;
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "rb")) == NULL) {
		rx_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		fclose(fp);
		rx_seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_file(&p, fp);
	ok = yaml_parser_load(&p, doc);
	if (!ok)
		rx_seterr(err, errlen, "%s:%lu: %s", path,
		    (unsigned long)p.problem_mark.line + 1,
		    p.problem ? p.problem : "YAML error");
	yaml_parser_delete(&p);
	fclose(fp);
	if (!ok)
		return NULL;
	if ((root = yaml_document_get_root_node(doc)) == NULL ||
	    root->type != YAML_MAPPING_NODE) {
		rx_seterr(err, errlen, "%s: not a YAML mapping", path);
		yaml_document_delete(doc);
		return NULL;
	}
	return root;
}

/* uap_ystr - the text of scalar node N, or NULL */
const char *
uap_ystr(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* uap_yline - the 1-based line where node N starts */
unsigned long
uap_yline(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* uap_yget - the value of KEY in mapping MAP, or NULL */
yaml_node_t *
uap_yget(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;
	const char *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		k = uap_ystr(yaml_document_get_node(doc, pr->key));
		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* uap_yseq - the sequence of KEY in ROOT as an array of nodes; -1 with ERR */
long
uap_yseq(yaml_document_t *doc, const yaml_node_t *root, const char *key,
    yaml_node_item_t **items, const char *path, char *err, size_t errlen)
{
	yaml_node_t *seq = uap_yget(doc, root, key);

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE) {
		rx_seterr(err, errlen, "%s: no list \"%s\"", path, key);
		return -1;
	}
	*items = seq->data.sequence.items.start;
	return seq->data.sequence.items.top - seq->data.sequence.items.start;
}

/* uap_ycaseless - is regex_flag of mapping M "i"?  -1 with ERR if invalid */
int
uap_ycaseless(yaml_document_t *doc, const yaml_node_t *m, const char *path,
    char *err, size_t errlen)
{
	yaml_node_t *f = uap_yget(doc, m, "regex_flag");
	const char *v = uap_ystr(f);

	if (f == NULL)
		return 0;
	if (v != NULL && strcmp(v, "i") == 0)
		return 1;
	rx_seterr(err, errlen, "%s:%lu: regex_flag must be 'i'", path, uap_yline(f));
	return -1;
}

/* uap_load - read and compile regexes.yaml at PATH into U; -1 with ERR (free U either way) */
int
uap_load(struct uap_db *u, const char *path, const uint64_t *common,
    char *err, size_t errlen)
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

	if ((root = uap_yload(path, &doc, err, errlen)) == NULL)
		return -1;
	for (kind = 0; kind < UAP_KINDS; kind++) {
		k = &uap_kinds[kind];
		if ((n = uap_yseq(&doc, root, k->list, &items, path, err, errlen)) < 0)
			goto out;
		if ((u->rule[kind] = calloc((size_t)n + 1, sizeof(*r))) == NULL) {
			rx_seterr(err, errlen, "%s: out of memory", path);
			goto out;
		}
		for (i = 0; i < n; i++) {
			m = yaml_document_get_node(&doc, items[i]);
			r = &u->rule[kind][i];
			u->n[kind] = (size_t)i + 1;
			if ((pat = uap_ystr(v = uap_yget(&doc, m, "regex"))) == NULL) {
				rx_seterr(err, errlen, "%s:%lu: %s entry without regex",
				    path, m ? uap_yline(m) : 0UL, k->list);
				goto out;
			}
			if ((ci = uap_ycaseless(&doc, m, path, err, errlen)) < 0)
				goto out;
			if (rx_compile(&r->rx, pat, v->data.scalar.length, ci,
			    common, path, uap_yline(v), err, errlen) < 0)
				goto out;
			for (f = 0; f < k->nfield; f++) {
				v = uap_yget(&doc, m, k->key[f]);
				if (v == NULL)
					continue;
				if (uap_ystr(v) == NULL ||
				    (r->rep[f] = strdup(uap_ystr(v))) == NULL) {
					rx_seterr(err, errlen, "%s:%lu: bad %s", path,
					    uap_yline(v), k->key[f]);
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

/* uap_free - free what uap_load put in U */
void
uap_free(struct uap_db *u)
{
	size_t i, f;
	int kind;

	for (kind = 0; kind < UAP_KINDS; kind++) {
		for (i = 0; i < u->n[kind]; i++) {
			rx_free(&u->rule[kind][i].rx);
			for (f = 0; f < UAP_NFIELD; f++)
				free(u->rule[kind][i].rep[f]);
		}
		free(u->rule[kind]);
		u->rule[kind] = NULL;
		u->n[kind] = 0;
	}
}

/* uap_field - field F of rule R after a match of S: replacement or default group */
static void
uap_field(const struct uap_rule *r, const struct uap_kind *k, size_t f,
    const char *s, int rc, struct rx_tls *t, char *dst)
{
	char buf[2 * UA_MAXLEN];
	const char *rep = r->rep[f], *p, *end;
	size_t o = 0, len, b = 0;

	*dst = '\0';
	if (rep == NULL) {
		if (rx_group(t, rc, (unsigned)k->group[f], s, &p, &len))
			uap_clean(dst, UA_FIELD, p, len);
		return;
	}
	while (*rep != '\0' && o < sizeof(buf)) {
		if (rep[0] == '$' && rep[1] >= '0' && rep[1] <= '9') {
			if (rx_group(t, rc, (unsigned)(rep[1] - '0'), s, &p, &len)) {
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
	uap_clean(dst, UA_FIELD, buf + b, (size_t)(end - (buf + b)));
}

/* uap_run - first matching rule of KIND over S into FIELDS; "Other" if none */
static void
uap_run(const struct uap_db *u, int kind, const char *s, size_t n,
    struct rx_tls *t, char *fields[])
{
	const struct uap_kind *k = &uap_kinds[kind];
	const struct uap_rule *r;
	size_t i, f;
	int rc;

	for (f = 0; f < k->nfield; f++)
		*fields[f] = '\0';
	for (i = 0; i < u->n[kind]; i++) {
		r = &u->rule[kind][i];
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
void
uap_parse(const struct uap_db *u, const char *s, size_t n, struct rx_tls *t,
    struct ua_uap *out)
{
	char *fua[] = { out->family, out->major, out->minor, out->patch,
	    out->patch_minor };
	char *fos[] = { out->os, out->os_major, out->os_minor, out->os_patch,
	    out->os_patch_minor };
	char *fdev[] = { out->device, out->brand, out->model };

	uap_run(u, UAP_UA, s, n, t, fua);
	uap_run(u, UAP_OS, s, n, t, fos);
	uap_run(u, UAP_DEV, s, n, t, fdev);
}
