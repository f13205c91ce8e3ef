/*
 * NAME
 *	uap.h - uap-core regexes.yaml: loader and matcher
 *
 * SYNOPSIS
 *	#include "uap.h"
 *
 * DESCRIPTION
 *	uap_load() reads and compiles the user_agent_parsers, os_parsers
 *	and device_parsers of uap-core's regexes.yaml; uap_parse() gives
 *	the uap-core result for a UA as a struct ua_uap (ua.h).
 *
 *	Beacon's mail-client rules share the YAML dialect of regexes.yaml
 *	(regex, regex_flag: 'i'); their loader in ua.c reads them with the
 *	uap_y* helpers below, and cleans its output with uap_clean().
 *
 * DIAGNOSTICS
 *	Load errors are "FILE:LINE: problem" in the caller's ERR buffer.
 */
#ifndef BEACON_UAP_H
#define BEACON_UAP_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "rx.h"
#include "ua.h"

enum { UAP_UA, UAP_OS, UAP_DEV, UAP_KINDS };	/* the three parser lists */

struct uap_rule;			/* one compiled parser (uap.c) */

/* uap_db - the parsers of one regexes.yaml */
struct uap_db {
	struct uap_rule *rule[UAP_KINDS];	/* parsers, in file order */
	size_t n[UAP_KINDS];			/* how many of each */
};

/* uap_load - read and compile regexes.yaml at PATH into U; -1 with ERR (free U either way) */
int uap_load(struct uap_db *u, const char *path, const uint64_t *common,
    char *err, size_t errlen);
/* uap_free - free what uap_load put in U */
void uap_free(struct uap_db *u);
/* uap_parse - the uap-core result for N bytes of S (prepared in T) */
void uap_parse(const struct uap_db *u, const char *s, size_t n,
    struct rx_tls *t, struct ua_uap *out);

/* uap_clean - copy N bytes of SRC to DST as valid UTF-8 without controls */
void uap_clean(char *dst, size_t dstlen, const char *src, size_t n);

/* uap_yload - parse PATH into DOC; its root node, or NULL with a message in ERR */
yaml_node_t *uap_yload(const char *path, yaml_document_t *doc, char *err,
    size_t errlen);
/* uap_ystr - the text of scalar node N, or NULL */
const char *uap_ystr(const yaml_node_t *n);
/* uap_yline - the 1-based line where node N starts */
unsigned long uap_yline(const yaml_node_t *n);
/* uap_yget - the value of KEY in mapping MAP, or NULL */
yaml_node_t *uap_yget(yaml_document_t *doc, const yaml_node_t *map,
    const char *key);
/* uap_yseq - the sequence of KEY in ROOT as an array of nodes; -1 with ERR */
long uap_yseq(yaml_document_t *doc, const yaml_node_t *root, const char *key,
    yaml_node_item_t **items, const char *path, char *err, size_t errlen);
/* uap_ycaseless - is regex_flag of mapping M "i"?  -1 with ERR if invalid */
int uap_ycaseless(yaml_document_t *doc, const yaml_node_t *m,
    const char *path, char *err, size_t errlen);

#endif
