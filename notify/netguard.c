/*
 * netguard.c - refuse connections to loopback, private, link-local and
 * other non-public addresses (see netguard.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netguard.h"

/* netguard_v4_range - the name of the non-public range holding A (host order), or NULL */
static const char *netguard_v4_range(uint32_t a)
{
	static const struct { uint32_t net; int bits; const char *name; } r[] = {
		{ 0x00000000, 8, "0.0.0.0/8 (this network)" },
		{ 0x0a000000, 8, "10.0.0.0/8 (private)" },
		{ 0x64400000, 10, "100.64.0.0/10 (carrier-grade NAT)" },
		{ 0x7f000000, 8, "127.0.0.0/8 (loopback)" },
		{ 0xa9fe0000, 16, "169.254.0.0/16 (link-local)" },
		{ 0xac100000, 12, "172.16.0.0/12 (private)" },
		{ 0xc0000000, 24, "192.0.0.0/24 (protocol assignments)" },
		{ 0xc0000200, 24, "192.0.2.0/24 (documentation)" },
		{ 0xc0a80000, 16, "192.168.0.0/16 (private)" },
		{ 0xc6120000, 15, "198.18.0.0/15 (benchmarking)" },
		{ 0xc6336400, 24, "198.51.100.0/24 (documentation)" },
		{ 0xcb007100, 24, "203.0.113.0/24 (documentation)" },
		{ 0xe0000000, 4, "224.0.0.0/4 (multicast)" },
		{ 0xf0000000, 4, "240.0.0.0/4 (reserved, broadcast)" },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((a >> (32 - r[i].bits)) == (r[i].net >> (32 - r[i].bits)))
			return r[i].name;
	return NULL;
}

/* netguard_v4_at - the IPv4 address in the 4 bytes at P, host order */
static uint32_t netguard_v4_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* netguard_v6_range - the non-public range holding the IPv6 address P, or NULL;
 * *V4 the IPv4 address it carries when it carries one */
static const char *netguard_v6_range(const unsigned char *p, int *has_v4, uint32_t *v4)
{
	static const unsigned char zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff },
		nat64[12] = { 0x00, 0x64, 0xff, 0x9b },
		nat64_local[6] = { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 };

	*has_v4 = 0;
	if (!memcmp(p, zero, 16))
		return ":: (unspecified)";
	if (!memcmp(p, zero, 15) && p[15] == 1)
		return "::1 (loopback)";
	if (!memcmp(p, mapped, 12) || !memcmp(p, zero, 12) || !memcmp(p, nat64, 12) ||
	    !memcmp(p, nat64_local, 6)) {
		*has_v4 = 1;
		*v4 = netguard_v4_at(p + 12);
		return NULL;
	}
	if (p[0] == 0x20 && p[1] == 0x02) {
		*has_v4 = 1;
		*v4 = netguard_v4_at(p + 2);
		return NULL;
	}
	if ((p[0] & 0xfe) == 0xfc)
		return "fc00::/7 (unique local)";
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0x80)
		return "fe80::/10 (link-local)";
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0)
		return "fec0::/10 (site-local)";
	if (p[0] == 0xff)
		return "ff00::/8 (multicast)";
	if (p[0] == 0x20 && p[1] == 0x01 && p[2] == 0x0d && p[3] == 0xb8)
		return "2001:db8::/32 (documentation)";
	return NULL;
}

/* netguard_public - public unicast, or why not */
int netguard_public(const struct sockaddr *sa, socklen_t len, char *why, size_t whylen)
{
	char text[INET6_ADDRSTRLEN] = "?";
	const char *range = NULL;
	int has_v4 = 0;
	uint32_t v4 = 0;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
		has_v4 = 1;
		v4 = ntohl(s4->sin_addr.s_addr);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
		range = netguard_v6_range(s6->sin6_addr.s6_addr, &has_v4, &v4);
	} else {
		snprintf(why, whylen, "address family %d is not IPv4 or IPv6", sa->sa_family);
		return 0;
	}
	if (!range && has_v4)
		range = netguard_v4_range(v4);
	if (!range)
		return 1;
	snprintf(why, whylen, "%s is in %s", text, range);
	return 0;
}
