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
#include "cidr.h"
#include "hostport.h"

enum cfg_type { T_STR, T_INT, T_BOOL, T_SIZE, T_DUR, T_LIST, T_ENUM, T_CIDRS, T_ADDR, T_ADDRS,
		T_SOCKET };

/* the name of each type in -k output and in beacon.conf(5), by enum cfg_type */
static const char *const cfg_type_names[] = { "string", "integer", "boolean", "size", "duration",
					      "list", "enum", "cidr list", "address",
					      "address list", "socket" };

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
#define CFG_TY_CIDRS T_CIDRS, NULL
#define CFG_TY_ADDR T_ADDR, NULL
#define CFG_TY_ADDRS T_ADDRS, NULL
#define CFG_TY_SOCKET T_SOCKET, NULL
#define CFG_SECNAME_global ""
#define CFG_SECNAME_milter "milter"
#define CFG_SECNAME_pixelsrv "pixelsrv"
#define CFG_SECNAME_notify "notify"
#define CFG_SECNAME_web "web"
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

/* cfg_is_str - is a field of type T a char *? */
static int cfg_is_str(enum cfg_type t)
{
	return t == T_STR || t == T_ADDR || t == T_SOCKET;
}

/* cfg_is_list - is a field of type T a struct cfg_list? */
static int cfg_is_list(enum cfg_type t)
{
	return t == T_LIST || t == T_CIDRS || t == T_ADDRS;
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

/* cfg_set_num - INT, SIZE or DUR value V into F; 0, or -1 with WHY */
static int cfg_set_num(enum cfg_type t, void *f, const char *v, char *why, size_t whylen)
{
	static const long long size_mult[] = { 1024LL, 1024LL * 1024, 1024LL * 1024 * 1024 };
	static const long long dur_mult[] = { 1, 60, 3600, 86400 };
	long long n;

	if (t == T_SIZE) {
		if (cfg_parse_num(v, "kmg", size_mult, &n) < 0) {
			snprintf(why, whylen, "expected a size in bytes, optionally with k, m or g");
			return -1;
		}
		*(long long *)f = n;
		return 0;
	}
	if (t == T_DUR && (cfg_parse_num(v, "smhd", dur_mult, &n) < 0 || n > LONG_MAX)) {
		snprintf(why, whylen, "expected a duration in seconds, optionally with s, m, h or d");
		return -1;
	}
	if (t == T_INT && (cfg_parse_num(v, "", NULL, &n) < 0 || n > LONG_MAX)) {
		snprintf(why, whylen, "expected a whole number >= 0");
		return -1;
	}
	*(long *)f = (long)n;
	return 0;
}

/* cfg_set_bool - yes/no value V into F; 0, or -1 with WHY */
static int cfg_set_bool(int *f, const char *v, char *why, size_t whylen)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*f = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*f = 0;
	else {
		snprintf(why, whylen, "expected yes or no");
		return -1;
	}
	return 0;
}

/* cfg_set_enum - the index of V among VALUES ("a|b|c") into F; 0, or -1 with WHY */
static int cfg_set_enum(int *f, const char *values, const char *v, char *why, size_t whylen)
{
	size_t vl = strlen(v);
	int idx = 0;

	for (const char *p = values; *p; idx++) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && strncasecmp(p, v, l) == 0) {
			*f = idx;
			return 0;
		}
		p += l + (bar ? 1 : 0);
	}
	snprintf(why, whylen, "not one of the allowed values");
	return -1;
}

/* cfg_check_item - is V a good value (or list item) of type T?  0, or -1 with WHY */
static int cfg_check_item(enum cfg_type t, const char *v, char *why, size_t whylen)
{
	struct hostport hp;

	switch (t) {
	case T_CIDRS:
		return cidr_check(v, why, whylen);
	case T_ADDR:
		return hostport_parse(v, HOSTPORT_CONNECT, &hp, why, whylen);
	case T_ADDRS:
		return hostport_parse(v, HOSTPORT_BIND, &hp, why, whylen);
	case T_SOCKET:
		return hostport_parse(v, HOSTPORT_SOCKET, &hp, why, whylen);
	default:
		return 0;
	}
}

/* cfg_split - comma-separated V into *L (items trimmed, empty ones dropped),
 * each checked as type T; 0, or -1 with WHY and *L empty */
static int cfg_split(enum cfg_type t, const char *v, struct cfg_list *l, char *why,
		     size_t whylen)
{
	const char *p = v;

	*l = (struct cfg_list){ NULL, 0 };
	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		char *item = cfg_trim(p, len);
		char **nv = item ? realloc(l->v, (l->n + 1) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(item);
			cfg_list_clear(l);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		l->v = nv;
		p += len + (c ? 1 : 0);
		if (!*item) {
			free(item);
			continue;
		}
		l->v[l->n++] = item;
		if (cfg_check_item(t, item, why, whylen) < 0) {
			/* which item, when there are several (a CIDR's message names it) */
			if (t == T_ADDRS && strchr(v, ',')) {
				char *one = strdup(why);
				if (one)
					snprintf(why, whylen, "'%s': %s", item, one);
				free(one);
			}
			cfg_list_clear(l);
			return -1;
		}
	}
	return 0;
}

/* cfg_set - parse V into the field of D; 0, or -1 with a reason in WHY */
static int cfg_set(struct beacon_cfg *cfg, const struct cfg_desc *d, const char *v,
		   char *why, size_t whylen)
{
	void *f = cfg_field(cfg, d);

	if (cfg_is_str(d->type)) {
		char *s;
		if (cfg_check_item(d->type, v, why, whylen) < 0)
			return -1;
		if (!(s = strdup(v))) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		free(*(char **)f);
		*(char **)f = s;
		return 0;
	}
	if (cfg_is_list(d->type)) {
		struct cfg_list nl;
		if (cfg_split(d->type, v, &nl, why, whylen) < 0)
			return -1;
		cfg_list_clear(f);
		*(struct cfg_list *)f = nl;
		return 0;
	}
	if (d->type == T_BOOL)
		return cfg_set_bool(f, v, why, whylen);
	if (d->type == T_ENUM)
		return cfg_set_enum(f, d->values, v, why, whylen);
	return cfg_set_num(d->type, f, v, why, whylen);
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
	char why[320];

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
	if (cfg_set(st->cfg, d, value ? value : "", why, sizeof(why)) < 0) {
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
		char why[320];
		if (cfg_set(cfg, &cfg_table[i], cfg_table[i].def, why, sizeof(why)) < 0)
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
		if (cfg_is_str(cfg_table[i].type)) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (cfg_is_list(cfg_table[i].type)) {
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
		case T_STR: case T_ADDR: case T_SOCKET: fputs(*(char *const *)f, fp); break;
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
		case T_LIST: case T_CIDRS: case T_ADDRS: {
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
	for (size_t i = 0; i < CFG_NKEYS; i++)
		fprintf(fp, "%s\t%s\t%s\t%s\n", *cfg_table[i].section ? cfg_table[i].section : "global",
			cfg_table[i].name, cfg_type_names[cfg_table[i].type], cfg_table[i].def);
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
