/*
 * NAME
 *	ua.h - user-agent classification for beacon-pixelsrv
 *
 * DESCRIPTION
 *	ua_open() loads uap-core's regexes.yaml (user_agent_parsers,
 *	os_parsers, device_parsers) and Beacon's mail-client rules
 *	(pixelsrv/mail-clients.yaml), compiled with PCRE2 and its JIT.
 *	ua_parse() turns a User-Agent header into a device type, an OS, a
 *	browser and a mail client, and says whether the request came from a
 *	known image proxy.  Results are cached by the whole (truncated) UA
 *	string; ua_parse() may be called from any number of threads at once.
 *	Headers longer than UA_MAXLEN bytes are classified by their first
 *	UA_MAXLEN bytes.
 */
#ifndef BEACON_UA_H
#define BEACON_UA_H

#include <stddef.h>

#define UA_MAXLEN 512	/* bytes of a UA used for matching and caching */

/* ua_info - what an event records about the client */
struct ua_info {
	char device[16];	/* desktop|mobile|tablet|bot|"" */
	char os[64];		/* "iOS 17", "Windows 10", "" */
	char browser[64];	/* "Mobile Safari 17", "Outlook 2016", "" */
	char client[64];	/* mail client: "Apple Mail", "iOS Mail", "Outlook", "Gmail image proxy", "Webmail (Chrome)", "" */
	int proxy;		/* 1: a known image proxy (class proxy; geo must be left empty) */
};

struct ua_db;

/* ua_open - load uap-core regexes and mail-client rules; NULL with a message in ERR */
struct ua_db *ua_open(const char *regexes_yaml, const char *mail_clients_yaml, char *err, size_t errlen);
/* ua_parse - classify UA (may be NULL/empty) into *OUT; thread-safe, results cached */
void ua_parse(struct ua_db *db, const char *ua, struct ua_info *out);
/* ua_close - free DB; no ua_parse() on it may be running */
void ua_close(struct ua_db *db);

#define UA_FIELD 256	/* size of each ua_uap field (longer values are cut) */

/* ua_uap - the raw uap-core result; "" where uap-core gives null */
struct ua_uap {
	char family[UA_FIELD];		/* user_agent_parsers: family ("Other" if none) */
	char major[UA_FIELD];		/* v1 */
	char minor[UA_FIELD];		/* v2 */
	char patch[UA_FIELD];		/* v3 */
	char patch_minor[UA_FIELD];	/* v4 */
	char os[UA_FIELD];		/* os_parsers: family ("Other" if none) */
	char os_major[UA_FIELD];	/* os v1 */
	char os_minor[UA_FIELD];	/* os v2 */
	char os_patch[UA_FIELD];	/* os v3 */
	char os_patch_minor[UA_FIELD];	/* os v4 */
	char device[UA_FIELD];		/* device_parsers: family ("Other" if none) */
	char brand[UA_FIELD];		/* device brand */
	char model[UA_FIELD];		/* device model */
};

/* ua_parse_uap - run the uap-core parsers alone on UA (uncached) */
void ua_parse_uap(struct ua_db *db, const char *ua, struct ua_uap *out);

#endif
