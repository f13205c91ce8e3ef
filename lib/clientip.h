/*
 * clientip.h - the address of the client behind trusted proxies.
 *
 * SYNOPSIS
 *	struct sockaddr_storage ip;
 *	clientip_resolve(peer, xff, forwarded, trusted, &ip);
 *
 * DESCRIPTION
 *	The client is the socket peer, unless the peer is in TRUSTED
 *	(trusted_proxies).  Then the forwarding header is walked from right
 *	to left (the right-most entry is the one the trusted peer wrote),
 *	skipping trusted addresses, and the right-most untrusted address is
 *	the client.  When every entry is trusted, the left-most one is.
 *
 *	XFF is the X-Forwarded-For value (several headers joined with ",");
 *	entries are addresses, optionally "a.b.c.d:port", "[v6]" or
 *	"[v6]:port".  FORWARDED is the RFC 7239 Forwarded value; its for=
 *	parameters are read (token or quoted-string, IPv6 in brackets,
 *	optional port).  When both are given, X-Forwarded-For is used: a
 *	front that sets Forwarded must drop any X-Forwarded-For it is sent,
 *	or the caller passes NULL for the header the front does not write.
 *
 *	Anything the walk cannot believe stops it, and the last address
 *	that was believed is the answer: a malformed entry, an empty entry,
 *	"unknown", an obfuscated identifier ("_hidden"), an element with no
 *	for=, or more than CLIENTIP_MAX_HOPS entries.  An obfuscated or
 *	unknown node is never returned, and nothing to its left is trusted,
 *	since that node's own trust cannot be known.
 *
 *	The answer is always AF_INET or AF_INET6; IPv4-mapped IPv6 addresses
 *	are given as AF_INET.  The port is the peer's port, the port an
 *	entry carried, or 0.
 *
 * DIAGNOSTICS
 *	clientip_resolve() returns CLIENTIP_PEER or CLIENTIP_FORWARDED, or
 *	-1 (out zeroed) when the peer is not AF_INET/AF_INET6.
 */
#ifndef BEACON_CLIENTIP_H
#define BEACON_CLIENTIP_H

#include <sys/socket.h>

#include "cidr.h"

#define CLIENTIP_PEER 0		/* the answer is the socket peer */
#define CLIENTIP_FORWARDED 1	/* the answer came from a header */
#define CLIENTIP_MAX_HOPS 32	/* right-most entries looked at */

/* clientip_resolve - the client address of a request into *out */
int clientip_resolve(const struct sockaddr *peer, const char *xff,
    const char *forwarded, const struct cidr_set *trusted,
    struct sockaddr_storage *out);

/* clientip_parse - one address "ip", "ip:port", "[v6]", "[v6]:port"; 0 or -1 */
int clientip_parse(const char *s, size_t len, struct sockaddr_storage *out);

#endif
