/*
 * NAME
 *	machines.h - requests made by machines: the rules of machines.yaml
 *
 * SYNOPSIS
 *	struct machines_db *m = machines_load(path, err, sizeof(err));
 *	struct machines_hit hit;
 *	machines_match(m, EVENT_CLICK, ua, ua_len, sa, asn, &hit);
 *	machines_free(m);
 *
 * DESCRIPTION
 *	machines.yaml names the security scanners, image proxies, bots and
 *	hosting networks whose requests are no person's: each rule has an id,
 *	a name, a class (scanner, proxy, bot, prefetch or datacenter), the kinds of
 *	event it applies to, and what to match: a User-Agent regex (and an
 *	"unless" regex), AS numbers, networks.  Each rule also names the
 *	public source it was written from.  The format is in the file's own
 *	header comment.
 *
 *	A rule holds for an event when the event's kind is one of its kinds,
 *	its ua regex matches (when it has one) and its unless regex does not,
 *	and, when it lists networks or AS numbers, the address is in one of
 *	the networks or the address's AS number is listed.  machines_match()
 *	reports the first rule of class scanner, proxy or bot that holds, in
 *	file order, and separately whether any datacenter rule holds.
 *
 *	One set of every network and one sorted array of every AS number
 *	listed answer first whether any network rule can hold: most requests
 *	come from networks no rule lists and cost two binary searches.
 *
 * DIAGNOSTICS
 *	machines_load() refuses unknown keys, rules without a source or
 *	without anything to match, duplicate ids, bad regexes and bad
 *	networks, naming the file and line.
 */
#ifndef BEACON_PIXELSRV_MACHINES_H
#define BEACON_PIXELSRV_MACHINES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* machine_class - what a rule says the request is */
enum machine_class {
	MACHINE_SCANNER,	/* a security gateway following links */
	MACHINE_PROXY,		/* a mail provider's image proxy */
	MACHINE_BOT,		/* a generic automated client */
	MACHINE_PREFETCH,	/* a provider fetching images before anyone reads */
	MACHINE_DATACENTER,	/* a hosting network: only for the timing rules */
};

/* machine_rule - one rule of machines.yaml, as loaded */
struct machine_rule {
	char *id;		/* [a-z0-9-]+: the reason is "list:<id>" */
	char *name;		/* who it is */
	char *source;		/* the public page it came from */
	enum machine_class cls;	/* its class */
	unsigned kinds;		/* bit (1 << event kind) for each kind it applies to */
	unsigned long line;	/* line in the file */
	void *priv;		/* regexes and networks (machines.c) */
};

struct machines_db;

/* machines_hit - what machines_match found */
struct machines_hit {
	const struct machine_rule *rule;	/* the first scanner/proxy/bot rule that holds, or NULL */
	int datacenter;				/* a datacenter rule holds */
};

/* machines_load - read PATH; NULL with a message in ERR */
struct machines_db *machines_load(const char *path, char *err, size_t errlen);
/* machines_count - rules loaded */
size_t machines_count(const struct machines_db *m);
/* machines_match - the rules that hold for an event of KIND from SA (may be NULL) with AS ASN (0: unknown) and User-Agent UA[0..N) */
void machines_match(const struct machines_db *m, int kind, const char *ua, size_t n,
    const struct sockaddr *sa, uint32_t asn, struct machines_hit *out);
/* machine_class_str - "scanner", "proxy", "bot", "datacenter" */
const char *machine_class_str(enum machine_class c);
void machines_free(struct machines_db *m);

#endif
