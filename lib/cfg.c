/*
 * cfg.c - read beacon.conf(5) with libinih into struct beacon_cfg.
 *
 * The key table in cfg_keys.h is expanded here into a descriptor array
 * (section, name, type, default, field offset); one generic setter parses
 * each value by type.  Defaults go through the same setter, so a default
 * that does not parse is caught by the unit tests.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "cfg.h"

enum cfg_type { T_STR, T_INT, T_BOOL, T_SIZE, T_DUR, T_LIST, T_ENUM };

/* cfg_desc - one key of the table */
struct cfg_desc {
	const char *section;	/* "" for global keys */
	const char *name;	/* key name */
	enum cfg_type type;	/* value type */
	const char *values;	/* ENUM: "a|b|c" */
	const char *def;	/* default, as text */
	const char *help;	/* one line of help */
	size_t off;		/* offset of the field in struct beacon_cfg */
};

#define CFG_TY_STR T_STR, NULL
#define CFG_TY_INT T_INT, NULL
#define CFG_TY_BOOL T_BOOL, NULL
#define CFG_TY_SIZE T_SIZE, NULL
#define CFG_TY_DUR T_DUR, NULL
#define CFG_TY_LIST T_LIST, NULL
#define CFG_TY_ENUM(v) T_ENUM, v
#define CFG_SECNAME_global ""
#define CFG_SECNAME_milter "milter"
#define CFG_SECNAME_pixelsrv "pixelsrv"
#define CFG_SECNAME_database "database"
#define CFG_DESC(sec, nm, type, def, help) \
	{ CFG_SECNAME_##sec, #nm, CFG_TY_##type, def, help, \
	  offsetof(struct beacon_cfg, sec.nm) },

static const struct cfg_desc cfg_table[] = { CFG_ALL_KEYS(CFG_DESC) };
#define CFG_NKEYS (sizeof(cfg_table) / sizeof(cfg_table[0]))

/* cfg_field - address of the field a descriptor names */
static void *cfg_field(struct beacon_cfg *cfg, const struct cfg_desc *d)
{
	return (char *)cfg + d->off;
}

/* cfg_list_clear - free a list value */
static void cfg_list_clear(struct cfg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* cfg_trim - copy S without leading/trailing blanks */
static char *cfg_trim(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	char *r = malloc(len + 1);
	if (r) {
		memcpy(r, s, len);
		r[len] = '\0';
	}
	return r;
}

/* cfg_parse_num - unsigned number with an optional unit suffix from UNITS */
static int cfg_parse_num(const char *v, const char *units, const long long *mult,
			 long long *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	long long m = 1;
	if (*end) {
		const char *u = strchr(units, tolower((unsigned char)*end));
		if (!u || end[1] != '\0')
			return -1;
		m = mult[u - units];
	}
	if (n > (unsigned long long)(LLONG_MAX / m))
		return -1;
	*out = (long long)n * m;
	return 0;
}

/* cfg_set - parse V into the field of D; 0, or -1 with a reason in WHY */
static int cfg_set(struct beacon_cfg *cfg, const struct cfg_desc *d, const char *v,
		   const char **why)
{
	static const long long size_mult[] = { 1024LL, 1024LL * 1024, 1024LL * 1024 * 1024 };
	static const long long dur_mult[] = { 1, 60, 3600, 86400 };
	void *f = cfg_field(cfg, d);
	long long n;

	switch (d->type) {
	case T_STR: {
		char *s = strdup(v);
		if (!s) {
			*why = "out of memory";
			return -1;
		}
		free(*(char **)f);
		*(char **)f = s;
		return 0;
	}
	case T_INT:
		if (cfg_parse_num(v, "", NULL, &n) < 0 || n > LONG_MAX) {
			*why = "expected a whole number >= 0";
			return -1;
		}
		*(long *)f = (long)n;
		return 0;
	case T_SIZE:
		if (cfg_parse_num(v, "kmg", size_mult, &n) < 0) {
			*why = "expected a size in bytes, optionally with k, m or g";
			return -1;
		}
		*(long long *)f = n;
		return 0;
	case T_DUR:
		if (cfg_parse_num(v, "smhd", dur_mult, &n) < 0 || n > LONG_MAX) {
			*why = "expected a duration in seconds, optionally with s, m, h or d";
			return -1;
		}
		*(long *)f = (long)n;
		return 0;
	case T_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		    !strcasecmp(v, "on") || !strcmp(v, "1"))
			*(int *)f = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
			 !strcasecmp(v, "off") || !strcmp(v, "0"))
			*(int *)f = 0;
		else {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case T_ENUM: {
		size_t vl = strlen(v);
		int idx = 0;
		for (const char *p = d->values; *p; idx++) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);
			if (l == vl && strncasecmp(p, v, l) == 0) {
				*(int *)f = idx;
				return 0;
			}
			p += l + (bar ? 1 : 0);
		}
		*why = "not one of the allowed values";
		return -1;
	}
	case T_LIST: {
		struct cfg_list nl = { NULL, 0 };
		const char *p = v;
		while (*p) {
			const char *c = strchr(p, ',');
			size_t l = c ? (size_t)(c - p) : strlen(p);
			char *item = cfg_trim(p, l);
			char **nv = item ? realloc(nl.v, (nl.n + 1) * sizeof(*nv)) : NULL;
			if (!nv) {
				free(item);
				cfg_list_clear(&nl);
				*why = "out of memory";
				return -1;
			}
			nl.v = nv;
			if (*item)
				nl.v[nl.n++] = item;
			else
				free(item);
			p += l + (c ? 1 : 0);
		}
		cfg_list_clear((struct cfg_list *)f);
		*(struct cfg_list *)f = nl;
		return 0;
	}
	}
	*why = "internal error: unknown type";
	return -1;
}

/* cfg_find - descriptor of SECTION/NAME, or NULL */
static const struct cfg_desc *cfg_find(const char *section, const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (!strcmp(cfg_table[i].section, section) &&
		    !strcmp(cfg_table[i].name, name))
			return &cfg_table[i];
	return NULL;
}

/* cfg_known_section - is SECTION one of ours? */
static int cfg_known_section(const char *section)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (!strcmp(cfg_table[i].section, section))
			return 1;
	return 0;
}

/* cfg_parse_state - what the inih handler needs */
struct cfg_parse_state {
	struct beacon_cfg *cfg;	/* being filled */
	char *err;		/* message buffer */
	size_t errlen;		/* its size */
	int failed;		/* handler reported an error */
};

/* cfg_handler - libinih callback: one key = value line */
static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse_state *st = user;
	const struct cfg_desc *d;
	const char *why = NULL;

	if (st->failed)
		return 0;
	if (!cfg_known_section(section)) {
		snprintf(st->err, st->errlen, "unknown section [%s] (key '%s')", section, name);
		st->failed = 1;
		return 0;
	}
	d = cfg_find(section, name);
	if (!d) {
		snprintf(st->err, st->errlen, "unknown key '%s'%s%s%s", name,
			 *section ? " in [" : "", section, *section ? "]" : "");
		st->failed = 1;
		return 0;
	}
	if (cfg_set(st->cfg, d, value ? value : "", &why) < 0) {
		snprintf(st->err, st->errlen, "bad value '%s' for key '%s': %s%s%s%s", value,
			 name, why, d->values ? " (" : "", d->values ? d->values : "",
			 d->values ? ")" : "");
		st->failed = 1;
		return 0;
	}
	return 1;
}

/* cfg_defaults - fill every field with its default */
void cfg_defaults(struct beacon_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const char *why;
		if (cfg_set(cfg, &cfg_table[i], cfg_table[i].def, &why) < 0)
			abort();	/* a bad default is a bug in cfg_keys.h */
	}
}

/* cfg_load - defaults, then PATH; on error *cfg holds only defaults */
int cfg_load(struct beacon_cfg *cfg, const char *path, char *err, size_t errlen)
{
	struct cfg_parse_state st = { cfg, NULL, 0, 0 };
	char why[512] = "";
	FILE *fp;
	int line;

	cfg_defaults(cfg);
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	st.err = why;
	st.errlen = sizeof(why);
	line = ini_parse_file(fp, cfg_handler, &st);
	fclose(fp);
	if (line != 0) {
		if (line < 0)
			snprintf(err, errlen, "%s: cannot read: out of memory", path);
		else if (st.failed)
			snprintf(err, errlen, "%s:%d: %s", path, line, why);
		else
			snprintf(err, errlen, "%s:%d: syntax error (expected 'key = value' or '[section]')",
				 path, line);
		cfg_free(cfg);
		cfg_defaults(cfg);
		return -1;
	}
	cfg->path = strdup(path);
	return 0;
}

/* cfg_free - release every string and list */
void cfg_free(struct beacon_cfg *cfg)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		void *f = cfg_field(cfg, &cfg_table[i]);
		if (cfg_table[i].type == T_STR) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (cfg_table[i].type == T_LIST) {
			cfg_list_clear(f);
		}
	}
	free(cfg->path);
	cfg->path = NULL;
}

/* cfg_dump - print every key = value, grouped by section */
void cfg_dump(const struct beacon_cfg *cfg, FILE *fp)
{
	const char *sec = NULL;
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		const void *f = (const char *)cfg + d->off;
		if (!sec || strcmp(sec, d->section)) {
			sec = d->section;
			if (*sec)
				fprintf(fp, "\n[%s]\n", sec);
		}
		fprintf(fp, "%s = ", d->name);
		switch (d->type) {
		case T_STR: fputs(*(char *const *)f, fp); break;
		case T_INT: case T_DUR: fprintf(fp, "%ld", *(const long *)f); break;
		case T_SIZE: fprintf(fp, "%lld", *(const long long *)f); break;
		case T_BOOL: fputs(*(const int *)f ? "yes" : "no", fp); break;
		case T_ENUM: {
			const char *p = d->values;
			for (int k = *(const int *)f; k > 0 && p; k--)
				p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
			fprintf(fp, "%.*s", p ? (int)strcspn(p, "|") : 0, p ? p : "");
			break;
		}
		case T_LIST: {
			const struct cfg_list *l = f;
			for (size_t k = 0; k < l->n; k++)
				fprintf(fp, "%s%s", k ? ", " : "", l->v[k]);
			break;
		}
		}
		fputc('\n', fp);
	}
}

/* cfg_print_keys - list section, key, type and default, one per line (for the manual check) */
void cfg_print_keys(FILE *fp)
{
	static const char *tn[] = { "string", "integer", "boolean", "size", "duration",
				    "list", "enum" };
	for (size_t i = 0; i < CFG_NKEYS; i++)
		fprintf(fp, "%s\t%s\t%s\t%s\n", *cfg_table[i].section ? cfg_table[i].section : "global",
			cfg_table[i].name, tn[cfg_table[i].type], cfg_table[i].def);
}

/* cfg_placeholder_url - placeholder_url or <base_url>/p.gif, malloc'd */
char *cfg_placeholder_url(const struct beacon_cfg *cfg)
{
	char *s;
	if (cfg->milter.placeholder_url && *cfg->milter.placeholder_url)
		return strdup(cfg->milter.placeholder_url);
	if (asprintf(&s, "%s/p.gif", cfg->global.base_url) < 0)
		return NULL;
	return s;
}

/* cfg_list_has - case-insensitive membership */
int cfg_list_has(const struct cfg_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i], s))
			return 1;
	return 0;
}
