/*
 * cfg.h - beacon.conf(5) reader.
 *
 * One table (cfg_keys.h) defines every key.  cfg_load() fills a struct
 * beacon_cfg with the defaults, then reads FILE with libinih; an unreadable
 * file, an unknown section or key, or a bad value is an error naming the
 * file, the line and the key, and nothing is changed.
 */
#ifndef BEACON_CFG_H
#define BEACON_CFG_H

#include <stddef.h>
#include <stdio.h>
#include "cfg_keys.h"

/* cfg_list - a comma-separated list value */
struct cfg_list {
	char **v;	/* the items, trimmed, never empty strings */
	size_t n;	/* how many */
};

#define CFG_T_STR char *
#define CFG_T_INT long
#define CFG_T_BOOL int
#define CFG_T_SIZE long long
#define CFG_T_DUR long
#define CFG_T_LIST struct cfg_list
#define CFG_T_ENUM(values) int
#define CFG_T_CIDRS struct cfg_list
#define CFG_T_ADDR char *
#define CFG_T_ADDRS struct cfg_list
#define CFG_T_SOCKET char *
#define CFG_FIELD(sec, name, type, def, help) CFG_T_##type name;

/* beacon_cfg - every key, by section */
struct beacon_cfg {
	struct { CFG_GLOBAL_KEYS(CFG_FIELD) } global;
	struct { CFG_MILTER_KEYS(CFG_FIELD) } milter;
	struct { CFG_PIXELSRV_KEYS(CFG_FIELD) } pixelsrv;
	struct { CFG_NOTIFY_KEYS(CFG_FIELD) } notify;
	struct { CFG_WEB_KEYS(CFG_FIELD) } web;
	struct { CFG_DATABASE_KEYS(CFG_FIELD) } database;
	char *path;	/* the file it was read from */
};

/* enum values, in the order of their ENUM("...") string */
enum { CFG_PER_RCPT_SPLIT, CFG_PER_RCPT_SHARED };
enum { CFG_DBERR_SPOOL, CFG_DBERR_ACCEPT, CFG_DBERR_TEMPFAIL };
enum { CFG_ATT_KEEP, CFG_ATT_LINK };
enum { CFG_UNSUB_DROP, CFG_UNSUB_UNTRACK };

/* cfg_load - read PATH into *cfg; 0, or -1 with a message in err */
int cfg_load(struct beacon_cfg *cfg, const char *path, char *err, size_t errlen);
/* cfg_defaults - fill *cfg with every default (no file) */
void cfg_defaults(struct beacon_cfg *cfg);
/* cfg_free - release what cfg_load allocated */
void cfg_free(struct beacon_cfg *cfg);
/* cfg_dump - print every key with its value (the -n check) */
void cfg_dump(const struct beacon_cfg *cfg, FILE *fp);
/* cfg_placeholder_url - placeholder_url, or <base_url>/p.gif; caller frees */
char *cfg_placeholder_url(const struct beacon_cfg *cfg);
/* cfg_list_has - is S (case-insensitively) an item of L? */
int cfg_list_has(const struct cfg_list *l, const char *s);
/* cfg_print_keys - section, key, type, default per line (manual check) */
void cfg_print_keys(FILE *fp);

#endif
