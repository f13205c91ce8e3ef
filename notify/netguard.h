/*
 * netguard.h - is an address one a sender's webhook may make the
 * notifier connect to?
 *
 * SYNOPSIS
 *	if (!netguard_public(sa, len, why, sizeof(why))) refuse;
 *
 * DESCRIPTION
 *	A destination URL is written by whoever may add destinations; the
 *	notifier must not become a way to reach the machine's own services
 *	or its private network (SSRF).  netguard_public refuses, unless
 *	[notify] allow_private_destinations is set (the caller decides),
 *	every address that is not public unicast: IPv4 0/8, 10/8,
 *	100.64/10 (carrier-grade NAT), 127/8, 169.254/16 (link-local, cloud
 *	metadata), 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16,
 *	198.18/15, 198.51.100/24, 203.0.113/24, 224/4 and 240/4; IPv6 ::,
 *	::1, fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10,
 *	ff00::/8, 2001:db8::/32, and the IPv4 inside ::ffff:0:0/96
 *	(mapped), ::/96 (compatible), 64:ff9b::/96 (NAT64), 64:ff9b:1::/48
 *	(local-use NAT64, the IPv4 in the last 4 bytes) and 2002::/16
 *	(6to4), judged as IPv4.  It is applied to the socket libcurl is
 *	about to connect, after name resolution, so a name that resolves
 *	(or later re-resolves) to such an address is refused as well.
 */
#ifndef NOTIFY_NETGUARD_H
#define NOTIFY_NETGUARD_H

#include <stddef.h>
#include <sys/socket.h>

/* netguard_public - 1 when SA (LEN bytes) is a public unicast address; else 0 with
 * WHY naming the address and the range */
int netguard_public(const struct sockaddr *sa, socklen_t len, char *why, size_t whylen);

#endif
