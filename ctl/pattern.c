/*
 * NAME
 *	pattern.c - beaconctl's check of an address-or-domain pattern
 *
 * DESCRIPTION
 *	suppress and notify take 'user@domain' or '@domain' from the command
 *	line; ctl_pattern_norm() refuses controls and commas, wants an '@'
 *	and a dotted domain, and writes the one form beacon-milter compares
 *	(address_norm_pattern, address.h).
 */
#include <string.h>

#include "address.h"
#include "ctl.h"

/* ctl_pattern_norm - P in its one form into OUT; NULL, or why it has none */
const char *ctl_pattern_norm(const char *p, char *out, size_t outlen)
{
	const char *why = NULL, *dom;

	for (const unsigned char *s = (const unsigned char *)p; *s; s++)
		if (*s < ' ' || *s == 0x7f || *s == ',')
			return "controls and , are not allowed";
	if (!strchr(p, '@'))
		return "expected user@domain or @domain (or, for beaconctl web, sasl:LOGIN)";
	if (address_norm_pattern(p, out, outlen, &why) < 0)
		return why;
	dom = out[0] == '@' ? out + 1 : address_domain(out);
	if (!dom || !strchr(dom, '.'))
		return "the domain after @ has no dot";
	return NULL;
}
