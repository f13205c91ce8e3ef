/*
 * NAME
 *	trust.c - who may ask beacon-milter to track
 *
 * DESCRIPTION
 *	See trust.h.  The networks are parsed once, at start-up, into a
 *	cidr_set (lib/cidr.h); the daemon names are compared as given,
 *	without regard to case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cidr.h"
#include "trust.h"

/* trust - what trust_decide compares against */
struct trust {
	struct cidr_set *networks;		/* trusted_networks */
	struct cidr_set *bounce_networks;	/* bounce_trusted_networks */
	const struct cfg_list *daemons;		/* trusted_daemons (the config's) */
};

/* trust_set - a finished set of the prefixes in NETS (KEY names them in ERR); NULL on error */
static struct cidr_set *trust_set(const struct cfg_list *nets, const char *key, char *err,
				  size_t errlen)
{
	struct cidr_set *s = cidr_set_new();
	char why[200];

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nets->n; i++) {
		if (cidr_set_add(s, nets->v[i], NULL, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", key, why);
			cidr_set_free(s);
			return NULL;
		}
	}
	if (cidr_set_finish(s) < 0) {
		snprintf(err, errlen, "out of memory");
		cidr_set_free(s);
		return NULL;
	}
	return s;
}

/* trust_new - build the network sets of trusted_networks and bounce_trusted_networks */
struct trust *trust_new(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct trust *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->daemons = &cfg->milter.trusted_daemons;
	if (!(t->networks = trust_set(&cfg->milter.trusted_networks, "trusted_networks", err,
				      errlen)) ||
	    !(t->bounce_networks = trust_set(&cfg->milter.bounce_trusted_networks,
					     "bounce_trusted_networks", err, errlen))) {
		trust_free(t);
		return NULL;
	}
	return t;
}

/* trust_free - the set and the struct */
void trust_free(struct trust *t)
{
	if (!t)
		return;
	cidr_set_free(t->networks);
	cidr_set_free(t->bounce_networks);
	free(t);
}

/* trust_daemon_listed - is NAME one of the trusted daemon names? */
static int trust_daemon_listed(const struct trust *t, const char *name)
{
	for (size_t i = 0; name && *name && i < t->daemons->n; i++)
		if (strcasecmp(t->daemons->v[i], name) == 0)
			return 1;
	return 0;
}

/* trust_decide - SASL login, then client address, then daemon name */
int trust_decide(const struct trust *t, const char *client_ip, const char *sasl_login,
		 const char *daemon_name, char *why, size_t whylen)
{
	const char *ip = client_ip && *client_ip ? client_ip : "unknown";
	const char *dn = daemon_name && *daemon_name ? daemon_name : "unknown";

	if (sasl_login && *sasl_login) {
		snprintf(why, whylen, "SASL login %s", sasl_login);
		return 1;
	}
	if (t && client_ip && *client_ip && cidr_set_match_str(t->networks, client_ip)) {
		snprintf(why, whylen, "client %s in trusted_networks", client_ip);
		return 1;
	}
	if (t && trust_daemon_listed(t, daemon_name)) {
		snprintf(why, whylen, "daemon %s in trusted_daemons", daemon_name);
		return 1;
	}
	snprintf(why, whylen, "client %s, no SASL login, daemon %s", ip, dn);
	return 0;
}

/* trust_bounce - may a bounce report from this client match rows it carries no token of? */
int trust_bounce(const struct trust *t, const char *client_ip, const char *sasl_login)
{
	/* a SASL login is a user, not the MTA's own bounce daemon */
	if (!t || (sasl_login && *sasl_login) || !client_ip || !*client_ip)
		return 0;
	return cidr_set_match_str(t->bounce_networks, client_ip) != NULL;
}
