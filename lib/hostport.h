/*
 * hostport.h - the one parser of the network addresses beacon.conf(5)
 * names: where pixelsrv listens, where the milter listens, where split
 * copies are re-injected.
 *
 * SYNOPSIS
 *	struct hostport hp;
 *	if (hostport_parse("inet:10026@127.0.0.1", HOSTPORT_CONNECT, &hp,
 *	    why, sizeof(why)) < 0) ...
 *	hp.host: "127.0.0.1", hp.port: 10026
 *
 * DESCRIPTION
 *	The forms, each allowed by a flag:
 *	  host:port, [v6address]:port	HOSTPORT_PLAIN (a v6 address needs
 *					the brackets)
 *	  inet:port@host, inet6:port@host  HOSTPORT_INET_AT (libmilter's form;
 *					the host may be a bare v6 address)
 *	  unix:/path, local:/path, /path   HOSTPORT_UNIX (hp.path is set)
 *	HOSTPORT_ANY lets the host be "*" or empty ("*:80", ":80",
 *	"inet:8891"; not "[]:80"): every address, hp.host "".
 *	HOSTPORT_BARE_V6 takes "::1:80" as [::1]:80 when the part before the
 *	last colon is an IPv6 address.  HOSTPORT_PORT0 allows port
 *	0 (the kernel picks one).  A port is 1 to 5 digits, at most 65535.
 *	The kinds of key combine them: HOSTPORT_CONNECT (reinject),
 *	HOSTPORT_BIND (pixelsrv listen), HOSTPORT_SOCKET (milter socket).
 *
 * DIAGNOSTICS
 *	hostport_parse() returns -1 with the reason (not the address) in WHY.
 */
#ifndef BEACON_HOSTPORT_H
#define BEACON_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_HOST_MAX 256	/* room for a host name or address */

/* hostport flags: the forms an address may take */
enum {
	HOSTPORT_PLAIN = 1,	/* host:port, [v6]:port */
	HOSTPORT_INET_AT = 2,	/* inet:port@host, inet6:port@host */
	HOSTPORT_UNIX = 4,	/* unix:/path, local:/path, /path */
	HOSTPORT_ANY = 8,	/* the host may be "*", empty or left out */
	HOSTPORT_PORT0 = 16,	/* port 0 allowed */
	HOSTPORT_BARE_V6 = 32,	/* "::1:80": an IPv6 address without brackets before
				 * the last colon (what listen always took) */
};
#define HOSTPORT_CONNECT (HOSTPORT_PLAIN | HOSTPORT_INET_AT)
#define HOSTPORT_BIND (HOSTPORT_PLAIN | HOSTPORT_ANY | HOSTPORT_PORT0 | HOSTPORT_BARE_V6)
#define HOSTPORT_SOCKET (HOSTPORT_INET_AT | HOSTPORT_UNIX | HOSTPORT_ANY)

/* hostport - one parsed address */
struct hostport {
	char host[HOSTPORT_HOST_MAX];	/* name or address without brackets; "" for any */
	unsigned port;			/* 0 to 65535 (0 also for a unix socket) */
	const char *path;		/* a unix socket's path inside the spec, or NULL */
};

/* hostport_parse - SPEC in one of the forms FLAGS allow into *OUT; 0, or -1 with WHY */
int hostport_parse(const char *spec, unsigned flags, struct hostport *out, char *why,
		   size_t whylen);

#endif
