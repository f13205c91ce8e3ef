/*
 * NAME
 *	address.c - one form for every mail address a rule compares
 *
 * DESCRIPTION
 *	See address.h.  The local part is read as a quoted string or as
 *	raw octets up to the one '@' outside quotes, decoded as UTF-8 and
 *	lower-cased with towlower_l() in the C.UTF-8 locale (what
 *	PostgreSQL's lower() does per character in a UTF-8 database with
 *	the libc provider).  The domain goes through libidn2 only when it
 *	has a non-ASCII octet or an A-label; a plain ASCII domain is
 *	lower-cased here, so that libidn2's stricter label rules (no "--"
 *	in the third and fourth place) do not refuse a domain that is in
 *	use.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include <idn2.h>

#include "address.h"

static locale_t address_utf8;			/* C.UTF-8, or (locale_t)0 */
static pthread_once_t address_once = PTHREAD_ONCE_INIT;	/* opens it once */

/* address_locale_open - the locale for Unicode lower case */
static void address_locale_open(void)
{
	address_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* address_utf8_get - decode one UTF-8 character at *P (advanced); the code point or -1 */
static long address_utf8_get(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;
	long c = s[0], min;
	int n;

	if (c < 0x80)
		n = 0, min = 0;
	else if ((c & 0xe0) == 0xc0)
		n = 1, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 2, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 3, c &= 0x07, min = 0x10000;
	else
		return -1;
	if (end - s < n + 1)
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*p = s + n + 1;
	return c;
}

/* address_utf8_put - encode C at OUT (4 octets room); octets written */
static int address_utf8_put(long c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* address_lower - lower-case the UTF-8 text IN (LEN octets) into OUT (4 * LEN + 1); its
 * length, or -1 (not UTF-8, or a control character) */
static long address_lower(const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + len;
	long n = 0, c, l;

	pthread_once(&address_once, address_locale_open);
	while (p < end) {
		if ((c = address_utf8_get(&p, end)) < 0 || c < 0x20 || c == 0x7f ||
		    (c >= 0x80 && c < 0xa0))
			return -1;
		if (c < 0x80)
			l = c >= 'A' && c <= 'Z' ? c + 32 : c;
		else
			l = address_utf8 ? (long)towlower_l((wint_t)c, address_utf8) : c;
		if (l <= 0 || l > 0x10ffff)
			l = c;
		n += address_utf8_put(l, out + n);
	}
	out[n] = '\0';
	return n;
}

/* address_atext - may C stand unquoted in a dot-atom (RFC 5322 atext, RFC 6531 UTF-8)? */
static int address_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* address_dot_atom - is S a dot-atom: atext runs joined by single dots? */
static int address_dot_atom(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int run = 0;

	for (; *p; p++) {
		if (*p == '.') {
			if (run == 0)
				return 0;
			run = 0;
		} else if (address_atext(*p)) {
			run++;
		} else {
			return 0;
		}
	}
	return run > 0;
}

/* address_ascii_domain - lower-case the ASCII domain D (LEN octets) into OUT; 0 or -1 */
static int address_ascii_domain(const char *d, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (d[i] >= 'A' && d[i] <= 'Z') ? (char)(d[i] + 32) : d[i];
	out[len] = '\0';
	return 0;
}

/* address_has_alabel - does the ASCII domain D hold a label starting "xn--"? */
static int address_has_alabel(const char *d, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if ((i == 0 || d[i - 1] == '.') && strncasecmp(d + i, "xn--", 4) == 0)
			return 1;
	return 0;
}

/* address_labels_ok - labels of 1..63 octets of [a-z0-9_-], at most 253 octets in all */
static const char *address_labels_ok(const char *d)
{
	size_t label = 0, n = strlen(d);

	if (n == 0)
		return "empty domain";
	if (n > ADDRESS_DOMAIN_MAX)
		return "domain longer than 253 octets";
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return "empty label in the domain";
			if (label > 63)
				return "domain label longer than 63 octets";
			if (*p == '\0')
				return NULL;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
			   *p == '_') {
			label++;
		} else {
			return "character not allowed in a domain";
		}
	}
}

/* address_literal - a domain literal "[...]", lower-cased; 0 or -1 */
static int address_literal(const char *d, size_t len, char *out, size_t outlen,
			   const char **why)
{
	if (len < 3 || d[len - 1] != ']' || len + 1 > outlen || len > ADDRESS_DOMAIN_MAX) {
		*why = "bad domain literal";
		return -1;
	}
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\') {
			*why = "bad domain literal";
			return -1;
		}
	}
	address_ascii_domain(d, len, out);
	return 0;
}

/* address_domain_core - the domain D (LEN octets, no prefix) into OUT; 0 or -1 */
static int address_domain_core(const char *d, size_t len, char *out, size_t outlen,
			       const char **why)
{
	char buf[ADDRESS_INPUT_MAX + 1];
	char *idn = NULL;
	int ascii = 1, rc;

	if (len > 0 && d[0] == '[')
		return address_literal(d, len, out, outlen, why);
	if (len > 0 && d[len - 1] == '.')
		len--;		/* the root: "example.org." is example.org */
	if (len == 0) {
		*why = "empty domain";
		return -1;
	}
	if (len > ADDRESS_INPUT_MAX) {
		*why = "domain too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in the domain";
			return -1;
		}
		if (c >= 0x80)
			ascii = 0;
	}
	if (ascii && !address_has_alabel(d, len)) {
		address_ascii_domain(d, len, buf);
	} else {
		memcpy(buf, d, len);
		buf[len] = '\0';
		rc = idn2_lookup_u8((const uint8_t *)buf, (uint8_t **)&idn,
				    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK || strlen(idn) > ADDRESS_DOMAIN_MAX) {
			*why = rc != IDN2_OK ? "not a valid internationalised domain" :
			       "domain longer than 253 octets";
			idn2_free(idn);
			return -1;
		}
		strcpy(buf, idn);
		idn2_free(idn);
	}
	if ((*why = address_labels_ok(buf)) != NULL)
		return -1;
	if (strlen(buf) + 1 > outlen) {
		*why = "no room for the address";
		return -1;
	}
	strcpy(out, buf);
	return 0;
}

/* address_local - the local part L (LEN octets, quotes and all) as its one form into OUT */
static int address_local(const char *l, size_t len, char *out, size_t outlen, const char **why)
{
	char raw[ADDRESS_INPUT_MAX + 1], low[4 * ADDRESS_INPUT_MAX + 1];
	size_t n = 0, o = 0;
	long ll;

	if (len > 0 && l[0] == '"') {
		if (len < 2 || l[len - 1] != '"') {
			*why = "bad quoted local part";
			return -1;
		}
		for (size_t i = 1; i < len - 1; i++) {
			if (l[i] == '"' || (l[i] == '\\' && i + 1 >= len - 1)) {
				*why = "bad quoted local part";
				return -1;
			}
			if (l[i] == '\\')
				i++;
			raw[n++] = l[i];
		}
		if (n == 0) {
			*why = "empty local part";
			return -1;
		}
	} else {
		if (len == 0) {
			*why = "empty local part";
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			if (strchr("\"\\<>()[],;: \t", l[i])) {
				*why = "a special character in an unquoted local part";
				return -1;
			}
			raw[n++] = l[i];
		}
	}
	if (n > ADDRESS_LOCAL_MAX) {
		*why = "local part longer than 64 octets";
		return -1;
	}
	if ((ll = address_lower(raw, n, low)) < 0) {
		*why = "control character or invalid UTF-8 in the local part";
		return -1;
	}
	if ((size_t)ll > ADDRESS_LOCAL_MAX) {
		*why = "local part longer than 64 octets";
		return -1;
	}
	if (address_dot_atom(low)) {
		if ((size_t)ll + 1 > outlen)
			goto room;
		memcpy(out, low, (size_t)ll + 1);
		return (int)ll;
	}
	if (outlen < 3)
		goto room;
	out[o++] = '"';
	for (long i = 0; i < ll; i++) {
		if (o + 4 > outlen)
			goto room;
		if (low[i] == '"' || low[i] == '\\')
			out[o++] = '\\';
		out[o++] = low[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return (int)o;
room:
	*why = "no room for the address";
	return -1;
}

/* address_unbracket - see address.h */
const char *address_unbracket(const char *s, size_t *len)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	*len = n;
	return s;
}

/* address_norm - the one form of ADDR into OUT */
int address_norm(const char *addr, char *out, size_t outlen, const char **why)
{
	const char *why0, *s = addr ? addr : "", *at = NULL;
	size_t n;
	int inq = 0, ln;

	if (!why)
		why = &why0;
	if (outlen > 0)
		out[0] = '\0';
	if (strnlen(s, ADDRESS_INPUT_MAX + 1) > ADDRESS_INPUT_MAX) {
		*why = "longer than 1024 octets";
		return -1;
	}
	s = address_unbracket(s, &n);
	if (n > 0 && s[0] == '@') {	/* a source route: "@relay1,@relay2:user@domain" */
		const char *colon = memchr(s, ':', n);
		if (!colon) {
			*why = "empty local part";
			return -1;
		}
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (inq && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			inq = !inq;
		else if (!inq && s[i] == '@') {
			if (at) {
				*why = "more than one @";
				return -1;
			}
			at = s + i;
		}
	}
	if (!at) {
		*why = n ? "no @" : "empty address";
		return -1;
	}
	if ((ln = address_local(s, (size_t)(at - s), out, outlen, why)) < 0)
		return -1;
	if ((size_t)ln + 2 > outlen) {
		*why = "no room for the address";
		return -1;
	}
	out[ln] = '@';
	if (address_domain_core(at + 1, n - (size_t)(at + 1 - s), out + ln + 1,
				outlen - (size_t)ln - 1, why) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* address_norm_domain - DOM with its "@" or "." prefix kept */
int address_norm_domain(const char *dom, char *out, size_t outlen, const char **why)
{
	const char *why0, *d = dom ? dom : "";
	size_t p = 0, n;

	if (!why)
		why = &why0;
	if (outlen < 2) {
		*why = "no room for the domain";
		return -1;
	}
	while (*d == ' ' || *d == '\t')
		d++;
	n = strnlen(d, ADDRESS_INPUT_MAX + 1);
	while (n > 0 && (d[n - 1] == ' ' || d[n - 1] == '\t'))
		n--;
	if (n > 0 && (d[0] == '@' || d[0] == '.')) {
		out[p++] = d[0];
		d++;
		n--;
	}
	if (address_domain_core(d, n, out + p, outlen - p, why) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* address_norm_pattern - "@domain" or an address */
int address_norm_pattern(const char *pattern, char *out, size_t outlen, const char **why)
{
	const char *p = pattern ? pattern : "";

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '@' && strchr(p + 1, '@') == NULL && strchr(p, ':') == NULL)
		return address_norm_domain(p, out, outlen, why);
	return address_norm(p, out, outlen, why);
}

/* address_domain - the part after the last '@' of a normalised address */
const char *address_domain(const char *norm)
{
	const char *at = norm ? strrchr(norm, '@') : NULL;

	return at && at[1] ? at + 1 : NULL;
}
