/*
 * NAME
 *	address.h - one form for every mail address a rule compares
 *
 * SYNOPSIS
 *	char key[ADDRESS_SIZE];
 *	const char *why;
 *	if (address_norm("<CAT@Example.ORG.>", key, sizeof(key), &why) == 0)
 *		... key is "cat@example.org" ...
 *	address_norm_domain("Bücher.Example.", dom, sizeof(dom), &why);
 *	address_norm_pattern("@Shop.Example", pat, sizeof(pat), &why);
 *
 * DESCRIPTION
 *	Every rule that compares addresses (internal_domains, track_senders,
 *	the suppression list in beacon-milter and in beaconctl, the
 *	recipient address stored in beacon.recipients) compares the form
 *	made here, so that two spellings of one mailbox cannot be told
 *	apart by a rule:
 *
 *	- blanks around the address and one pair of angle brackets go; so
 *	  does an RFC 5321 source route ("@relay1,@relay2:");
 *	- the domain loses one trailing dot ("example.org." is
 *	  example.org); an empty label (".." or a leading dot, or two
 *	  trailing dots) is refused;
 *	- the domain is lower-cased; an internationalised domain, written
 *	  with U-labels or A-labels in any case, becomes its A-labels
 *	  (IDNA2008 with the UTS #46 non-transitional mapping, input NFC:
 *	  "Bücher.Example" and "XN--BCHER-KVA.example" are both
 *	  "xn--bcher-kva.example"); an A-label that does not decode is
 *	  refused.  A domain literal ("[192.0.2.1]", "[IPv6:…]") is kept,
 *	  lower-cased;
 *	- the local part is lower-cased too (ASCII, and other letters by
 *	  the Unicode simple mapping PostgreSQL's lower() uses): RFC 5321
 *	  lets a server treat "Cat" and "cat" as two mailboxes, but almost
 *	  none does, and for a suppression the safe error is to match more.
 *	  It is not Unicode-normalised;
 *	- a quoted local part is unquoted; it is written quoted again only
 *	  when it is not a dot-atom, with only '"' and '\' escaped:
 *	  "cat"@x is cat@x, "a b"@x stays "a b"@x, and the unquoted a..b@x
 *	  (which Postfix accepts) becomes "a..b"@x;
 *	- refused: an empty local part or domain, a local part over 64 or
 *	  a domain over 253 octets, control characters, bytes that are not
 *	  UTF-8, an unterminated quote, characters a domain cannot hold.
 *	  A caller treats an address it cannot normalise as one it must not
 *	  track.
 */
#ifndef BEACON_ADDRESS_H
#define BEACON_ADDRESS_H

#include <stddef.h>

#define ADDRESS_LOCAL_MAX 64		/* octets of a local part (RFC 5321) */
#define ADDRESS_DOMAIN_MAX 253		/* octets of a domain, without the trailing dot */
#define ADDRESS_INPUT_MAX 1024		/* longer input is refused before it is read */
/* the longest normalised address: a quoted local part of 64 octets, each escaped */
#define ADDRESS_SIZE (2 * ADDRESS_LOCAL_MAX + 2 + 1 + ADDRESS_DOMAIN_MAX + 1)

/* address_unbracket - S without surrounding blanks and one pair of angle brackets: the
 * start, and its length in *LEN (S itself is not changed) */
const char *address_unbracket(const char *s, size_t *len);

/* address_norm - the one form of ADDR into OUT (OUTLEN octets); 0, or -1 with *WHY (static) */
int address_norm(const char *addr, char *out, size_t outlen, const char **why);
/* address_norm_domain - the one form of a domain DOM ("@" or "." in front kept); 0 or -1 */
int address_norm_domain(const char *dom, char *out, size_t outlen, const char **why);
/* address_norm_pattern - a suppression pattern: an address, or "@domain"; 0 or -1 */
int address_norm_pattern(const char *pattern, char *out, size_t outlen, const char **why);
/* address_domain - the domain of a normalised address (after its last '@'), or NULL */
const char *address_domain(const char *norm);

#endif
