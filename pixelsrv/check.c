/*
 * NAME
 *	check.c - beacon-pixelsrv's configuration check: one loader for
 *	start-up and -n
 *
 * DESCRIPTION
 *	See check.h.  Messages name the key: "[pixelsrv] mail_clients: ...";
 *	those of the secret file and the user keep the wording the loaders
 *	give them (they name the file and the [pixelsrv] user).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <microhttpd.h>

#include "check.h"
#include "cidr.h"
#include "daemon.h"
#include "geo.h"
#include "http.h"
#include "log.h"
#include "machines.h"
#include "private.h"
#include "relay.h"
#include "token.h"
#include "ua.h"

/* check_geo_warn - geo_open/geo_reload/geo_lookup warnings into the log */
static void check_geo_warn(void *arg, const char *msg)
{
	log_warnx("%s", msg);
}

/* check_cidrs - the prefix set of list KEY into *OUT (NULL when empty) */
static int check_cidrs(const struct cfg_list *l, const char *key, struct cidr_set **out,
		       char *err, size_t errlen)
{
	char why[256];

	if (l->n == 0)
		return 0;
	if (!(*out = cidr_set_new()))
		goto oom;
	for (size_t i = 0; i < l->n; i++) {
		if (cidr_set_add(*out, l->v[i], NULL, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "[pixelsrv] %s: %s", key, why);
			return EX_CONFIG;
		}
	}
	if (cidr_set_finish(*out) < 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "[pixelsrv] %s: out of memory", key);
	return EX_OSERR;
}

/* check_ua - the User-Agent rules; the message names the key of the file at fault */
static int check_ua(const struct beacon_cfg *cfg, struct check_res *r, char *err, size_t errlen)
{
	const char *mc = cfg->pixelsrv.mail_clients;
	size_t n = strlen(mc);
	char why[768];

	if ((r->ua = ua_open(cfg->pixelsrv.uap_regexes, mc, why, sizeof(why))) != NULL)
		return 0;
	/* ua_open's messages start with "PATH:" */
	snprintf(err, errlen, "[pixelsrv] %s: %s",
		 n > 0 && strncmp(why, mc, n) == 0 && why[n] == ':' ? "mail_clients" : "uap_regexes",
		 why);
	return EX_CONFIG;
}

/* check_relay - the Apple relay ranges, if set; a file that does not load is a warning */
static void check_relay(const struct beacon_cfg *cfg, struct check_res *r)
{
	const char *path = cfg->pixelsrv.apple_relay_ranges;
	char why[512] = "";

	if (!path || !*path)
		return;
	r->relay = relay_load(path, why, sizeof(why));
	if (!r->relay)
		log_warnx("apple_relay_ranges: %s; no event will be classed prefetch", why);
	else if (why[0])
		log_warnx("apple_relay_ranges: %s", why);
}

/* check_file - KEY names a readable, non-empty regular file; only the owner's if SECRET */
static int check_file(const char *key, const char *path, int secret, char *err, size_t errlen)
{
	struct stat st;
	char why[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "[pixelsrv] %s: %s: cannot read: %s", key, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		snprintf(err, errlen, "[pixelsrv] %s: %s: empty or not a file", key, path);
	} else if (secret && private_check(&st, path, "private key", why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[pixelsrv] %s: %s", key, why);
	} else {
		close(fd);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return EX_CONFIG;
}

/* check_tls - with tls_cert set: TLS built in, tls_key set, both files readable */
static int check_tls(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	const char *cert = cfg->pixelsrv.tls_cert, *key = cfg->pixelsrv.tls_key;
	int rc;

	if (!cert || !*cert)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "[pixelsrv] tls_cert is set but libmicrohttpd was built without TLS");
		return EX_CONFIG;
	}
	if (!key || !*key) {
		snprintf(err, errlen, "[pixelsrv] tls_cert is set but tls_key is not");
		return EX_CONFIG;
	}
	if ((rc = check_file("tls_cert", cert, 0, err, errlen)) != 0)
		return rc;
	return check_file("tls_key", key, 1, err, errlen);
}

/* check_node_name - see check.h */
int check_node_name(const char *name, const char *host, char out[EVENT_NODE_MAX + 1],
    char *msg, size_t msglen)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	size_t n;

	if (msglen)
		msg[0] = '\0';
	if (name && *name) {
		n = strlen(name);
		if (n > EVENT_NODE_MAX || strspn(name, ok) != n) {
			snprintf(msg, msglen, "[pixelsrv] node_name '%.80s' is not a node name: 1 to "
			    "%d bytes of letters, digits, '.', '_' and '-'", name, EVENT_NODE_MAX);
			return EX_CONFIG;
		}
		memcpy(out, name, n + 1);
		return 0;
	}
	if (!host || !*host) {
		snprintf(msg, msglen, "[pixelsrv] node_name is empty and so is the host name: "
		    "set node_name");
		return EX_CONFIG;
	}
	/* the host name as far as it goes, each byte a name may not hold made '-' */
	for (n = 0; host[n] && n < EVENT_NODE_MAX; n++)
		out[n] = strchr(ok, host[n]) ? host[n] : '-';
	out[n] = '\0';
	if (host[n] || strspn(host, ok) != n)
		snprintf(msg, msglen, "[pixelsrv] node_name is empty and the host name '%.80s%s' is "
		    "not a node name (1 to %d bytes of letters, digits, '.', '_' and '-'): this "
		    "node is named '%s'; set node_name to choose", host, strlen(host) > 80 ?
		    "..." : "", EVENT_NODE_MAX, out);
	return 0;
}

/* check_node - node_name, or one made of the host name when it is empty, into OUT */
static int check_node(const struct beacon_cfg *cfg, char out[EVENT_NODE_MAX + 1], char *err,
    size_t errlen)
{
	const char *name = cfg->pixelsrv.node_name;
	char host[HOST_NAME_MAX + 2] = "", msg[512];
	int rc;

	if (!name || !*name) {
		if (gethostname(host, sizeof(host)) < 0) {
			snprintf(err, errlen, "[pixelsrv] node_name is empty and the host name cannot be "
			    "read (%s): set node_name", strerror(errno));
			return EX_CONFIG;
		}
		host[sizeof(host) - 1] = '\0';
	}
	rc = check_node_name(name, host, out, msg, sizeof(msg));
	if (rc != 0)
		snprintf(err, errlen, "%s", msg);
	else if (msg[0])
		log_warnx("%s", msg);
	return rc;
}

/* check_machines - see check.h */
int check_machines(const struct beacon_cfg *cfg, struct machines_db **out, char *err,
    size_t errlen)
{
	const char *path = cfg->pixelsrv.machines;
	char why[768];

	*out = NULL;
	if (!path || !*path)
		return 0;
	if ((*out = machines_load(path, why, sizeof(why))) != NULL)
		return 0;
	snprintf(err, errlen, "[pixelsrv] machines: %s", why);
	return EX_CONFIG;
}

/* check_load - user, node name, keys, rules, databases, ranges, sets, addresses, TLS and password files */
int check_load(const struct beacon_cfg *cfg, struct check_res *r, char *err, size_t errlen)
{
	int rc;

	memset(r, 0, sizeof(*r));
	/* refuse a root run before reading anything */
	if ((rc = daemon_check_user(cfg->pixelsrv.user, "pixelsrv", err, errlen)) != 0 ||
	    (rc = check_node(cfg, r->node, err, errlen)) != 0)
		return rc;
	if (!(r->keys = token_keys_load(cfg->global.secret_file, err, errlen)))
		return EX_CONFIG;
	if ((rc = check_ua(cfg, r, err, errlen)) != 0 ||
	    (rc = check_machines(cfg, &r->machines, err, errlen)) != 0)
		goto fail;
	if (!(r->geo = geo_open(cfg->pixelsrv.geoip_city_db, cfg->pixelsrv.geoip_asn_db,
				check_geo_warn, NULL))) {
		snprintf(err, errlen, "GeoIP: out of memory");
		rc = EX_OSERR;
		goto fail;
	}
	check_relay(cfg, r);
	if ((rc = check_cidrs(&cfg->pixelsrv.trusted_proxies, "trusted_proxies", &r->trusted,
			      err, errlen)) != 0 ||
	    (rc = check_cidrs(&cfg->pixelsrv.internal_networks, "internal_networks", &r->internal,
			      err, errlen)) != 0)
		goto fail;
	if (http_check_listen(cfg, err, errlen) < 0) {
		rc = EX_CONFIG;
		goto fail;
	}
	if ((rc = check_tls(cfg, err, errlen)) != 0 ||
	    (rc = beacon_check_database(cfg, err, errlen)) != 0)
		goto fail;
	return 0;
fail:
	check_free(r);
	return rc;
}

/* check_free - release every loaded part */
void check_free(struct check_res *r)
{
	machines_free(r->machines);
	relay_free(r->relay);
	cidr_set_free(r->trusted);
	cidr_set_free(r->internal);
	geo_close(r->geo);
	ua_close(r->ua);
	token_keys_free(r->keys);
	memset(r, 0, sizeof(*r));
}

/* check_config - load everything and let it go: the -n check */
int check_config(const struct beacon_cfg *cfg, char *err, size_t errlen)
{
	struct check_res r;
	int rc = check_load(cfg, &r, err, errlen);

	if (rc == 0)
		check_free(&r);
	return rc;
}
