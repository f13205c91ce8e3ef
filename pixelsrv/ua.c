/*
 * NAME
 *	ua.c - User-Agent classification: mail-client rules, device, cache
 *
 * SYNOPSIS
 *	#include "ua.h"
 *
 * DESCRIPTION
 *	ua_open() loads uap-core's regexes.yaml (uap.c) and Beacon's
 *	mail-client rules (pixelsrv/mail-clients.yaml).  From the uap-core
 *	result come the device type, "OS major", "browser major", and the
 *	mail client: the first rule of mail-clients.yaml whose conditions
 *	all hold (regex matches, unless-regex does not, uap browser and OS
 *	family in the lists).  A rule of class proxy marks the request as an
 *	image proxy and leaves device, OS and browser empty: its UA describes
 *	the proxy, not the reader.
 *
 *	Results are kept in a fixed-size direct-mapped cache keyed by the
 *	whole UA (first UA_MAXLEN bytes), one mutex per slot, never held
 *	while matching (rx.c keeps the per-thread match state).  Output
 *	strings are valid UTF-8 without control characters.
 *
 * DIAGNOSTICS
 *	ua_open() reports an unreadable file, a YAML error or a regex that
 *	does not compile as "FILE:LINE: problem" in its ERR buffer.
 */
#define _GNU_SOURCE

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rx.h"
#include "uap.h"
#include "ua.h"

#define UA_CACHE_SLOTS 4096	/* cache entries, a power of two */

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
	struct uap_db uap;		/* uap-core parsers */
	struct mc_rule *mc;		/* mail-client rules, in file order */
	size_t nmc;			/* how many */
	struct ua_slot *cache;		/* UA_CACHE_SLOTS entries */
	uint64_t *common;		/* while loading: pairs of everyday UAs */
};

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
		rx_seterr(err, errlen, "%s:%lu: empty list", path, uap_yline(v));
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
		if (uap_ystr(s) == NULL) {
			rx_seterr(err, errlen, "%s:%lu: expected a name or a list of names",
			    path, uap_yline(v));
			return -1;
		}
		if (((*list)[i] = strdup(uap_ystr(s))) == NULL)
			goto oom;
		*n = i + 1;
	}
	return 0;
oom:
	rx_seterr(err, errlen, "%s: out of memory", path);
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
		rx_seterr(err, errlen, "%s:%lu: a rule must be a mapping", path,
		    m ? uap_yline(m) : 0UL);
		return -1;
	}
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		k = uap_ystr(yaml_document_get_node(doc, pr->key));
		for (i = 0; k != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (k == NULL || i == sizeof(keys) / sizeof(keys[0])) {
			rx_seterr(err, errlen, "%s:%lu: unknown key \"%s\"", path,
			    uap_yline(m), k ? k : "?");
			return -1;
		}
	}
	if ((k = uap_ystr(uap_yget(doc, m, "client"))) == NULL || *k == '\0') {
		rx_seterr(err, errlen, "%s:%lu: rule without client", path, uap_yline(m));
		return -1;
	}
	if ((r->client = strdup(k)) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((ci = uap_ycaseless(doc, m, path, err, errlen)) < 0)
		return -1;
	if ((v = uap_yget(doc, m, "regex")) != NULL) {
		if (uap_ystr(v) == NULL || rx_compile(&r->re, uap_ystr(v),
		    v->data.scalar.length, ci, common, path, uap_yline(v), err, errlen) < 0)
			goto badre;
	}
	if ((v = uap_yget(doc, m, "unless")) != NULL) {
		if (uap_ystr(v) == NULL || rx_compile(&r->unless, uap_ystr(v),
		    v->data.scalar.length, ci, common, path, uap_yline(v), err, errlen) < 0)
			goto badre;
	}
	if ((v = uap_yget(doc, m, "browser")) != NULL &&
	    strlist(doc, v, &r->browser, &r->nbrowser, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, m, "os")) != NULL &&
	    strlist(doc, v, &r->os, &r->nos, path, err, errlen) < 0)
		return -1;
	if ((v = uap_yget(doc, m, "class")) != NULL) {
		if ((k = uap_ystr(v)) == NULL || strcmp(k, "proxy") != 0) {
			rx_seterr(err, errlen, "%s:%lu: class must be proxy", path, uap_yline(v));
			return -1;
		}
		r->proxy = 1;
	}
	if ((v = uap_yget(doc, m, "device")) != NULL) {
		k = uap_ystr(v);
		if (k == NULL || (strcmp(k, "desktop") != 0 && strcmp(k, "mobile") != 0 &&
		    strcmp(k, "tablet") != 0 && strcmp(k, "bot") != 0)) {
			rx_seterr(err, errlen, "%s:%lu: device must be desktop, mobile, "
			    "tablet or bot", path, uap_yline(v));
			return -1;
		}
		snprintf(r->device, sizeof(r->device), "%s", k);
	}
	if (r->re.re == NULL && r->nbrowser == 0 && r->nos == 0) {
		rx_seterr(err, errlen, "%s:%lu: rule \"%s\" has no regex, browser or os",
		    path, uap_yline(m), r->client);
		return -1;
	}
	return 0;
badre:
	if (uap_ystr(v) == NULL)
		rx_seterr(err, errlen, "%s:%lu: regex must be a string", path, uap_yline(v));
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

	if ((root = uap_yload(path, &doc, err, errlen)) == NULL)
		return -1;
	if ((n = uap_yseq(&doc, root, "mail_clients", &items, path, err, errlen)) < 0)
		goto out;
	if ((db->mc = calloc((size_t)n + 1, sizeof(*db->mc))) == NULL) {
		rx_seterr(err, errlen, "%s: out of memory", path);
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
	size_t k;

	for (k = 0; k < sizeof(ua_everyday) / sizeof(ua_everyday[0]); k++)
		rx_pairs(bits, ua_everyday[k], strlen(ua_everyday[k]));
}

/* ua_open - load uap-core regexes and mail-client rules; NULL with a message in ERR */
struct ua_db *
ua_open(const char *regexes_yaml, const char *mail_clients_yaml, char *err,
    size_t errlen)
{
	struct ua_db *db;
	size_t i;

	if (regexes_yaml == NULL || mail_clients_yaml == NULL) {
		rx_seterr(err, errlen, "ua_open: no file given");
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->cache = calloc(UA_CACHE_SLOTS, sizeof(*db->cache))) == NULL ||
	    (db->common = calloc(RX_BITS, sizeof(uint64_t))) == NULL) {
		if (db != NULL)
			free(db->cache);
		free(db);
		rx_seterr(err, errlen, "ua_open: out of memory");
		return NULL;
	}
	ua_common(db->common);
	for (i = 0; i < UA_CACHE_SLOTS; i++)
		pthread_mutex_init(&db->cache[i].lock, NULL);
	if (uap_load(&db->uap, regexes_yaml, db->common, err, errlen) < 0 ||
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
	size_t i;

	if (db == NULL)
		return;
	uap_free(&db->uap);
	for (i = 0; i < db->nmc; i++) {
		free(db->mc[i].client);
		rx_free(&db->mc[i].re);
		rx_free(&db->mc[i].unless);
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
	rx_tls_release();
}

/* ua_parse_uap - run the uap-core parsers alone on UA (uncached) */
void
ua_parse_uap(struct ua_db *db, const char *ua, struct ua_uap *out)
{
	struct rx_tls *t = rx_tls_get();
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
	uap_parse(&db->uap, ua, n, t, out);
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
	uap_clean(dst, dstlen, buf, len < 0 ? 0 : (size_t)len);
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
mc_apply(const struct ua_db *db, const char *s, size_t n, struct rx_tls *t,
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
		uap_clean(out->client, sizeof(out->client), buf, strlen(buf));
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
	struct rx_tls *t = rx_tls_get();
	struct ua_uap u;
	char ver[2 * UA_FIELD + 1];

	memset(out, 0, sizeof(*out));
	if (t == NULL)
		return -1;
	memset(&u, 0, sizeof(u));
	rx_prepare(t, s, n);
	uap_parse(&db->uap, s, n, t, &u);
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
