/*
 * clientip.c - walk X-Forwarded-For / Forwarded from the right.
 *
 * DESCRIPTION
 *	Both headers are cut into entries first (the right-most
 *	CLIENTIP_MAX_HOPS of them; Forwarded is cut left to right because
 *	quoted strings may hold commas), then one walk takes entries from
 *	the right while they parse and are trusted.  No allocation: every
 *	buffer is on the stack.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "clientip.h"

/* clientip_span - one header entry */
struct clientip_span {
	const char *p;	/* first byte */
	size_t len;	/* bytes */
};

/* clientip_hdr - the entries of one header, left to right */
struct clientip_hdr {
	struct clientip_span e[CLIENTIP_MAX_HOPS];	/* ring of entries */
	size_t n;		/* entries seen (may exceed the ring) */
	int forwarded;		/* 1: RFC 7239 elements, 0: X-Forwarded-For */
};

/* clientip_ows - is C optional white space? */
static int clientip_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* clientip_trim - strip OWS from both ends of a span */
static struct clientip_span clientip_trim(const char *p, size_t len)
{
	struct clientip_span s;

	while (len > 0 && clientip_ows(*p))
		p++, len--;
	while (len > 0 && clientip_ows(p[len - 1]))
		len--;
	s.p = p;
	s.len = len;
	return s;
}

/* clientip_blank - is S NULL or only white space? */
static int clientip_blank(const char *s)
{
	if (s == NULL)
		return 1;
	while (clientip_ows(*s))
		s++;
	return *s == '\0';
}

/* clientip_store - make *out AF_INET/AF_INET6 from address bytes */
static void clientip_store(int af, const void *addr, unsigned port,
    struct sockaddr_storage *out)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(out, 0, sizeof(*out));
	if (af == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		af = AF_INET;
		addr = (const unsigned char *)addr + 12;
	}
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)out;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		memcpy(&sin6->sin6_addr, addr, 16);
	}
}

/* clientip_port - parse 1-5 digits up to 65535; the port or -1 */
static long clientip_port(const char *p, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

/* clientip_parse - one address with optional brackets and port */
int clientip_parse(const char *s, size_t len, struct sockaddr_storage *out)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	const char *colon, *close;
	size_t alen;
	long port = 0;
	int af;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		close = memchr(s, ']', len);
		if (close == NULL)
			return -1;
		alen = (size_t)(close - s) - 1;
		if (close + 1 < s + len) {
			if (close[1] != ':')
				return -1;
			port = clientip_port(close + 2,
			    len - (size_t)(close + 2 - s));
			if (port < 0)
				return -1;
		}
		s++;
		af = AF_INET6;
	} else {
		colon = memchr(s, ':', len);
		if (colon != NULL &&
		    memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL) {
			/* one colon: a.b.c.d:port */
			port = clientip_port(colon + 1,
			    len - (size_t)(colon + 1 - s));
			if (port < 0)
				return -1;
			alen = (size_t)(colon - s);
			af = AF_INET;
		} else {
			alen = len;
			af = colon ? AF_INET6 : AF_INET;
		}
	}
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return -1;
	clientip_store(af, addr, (unsigned)port, out);
	return 0;
}

/* clientip_push - remember one entry, keeping the right-most in the ring */
static void clientip_push(struct clientip_hdr *h, const char *p, size_t len)
{
	h->e[h->n % CLIENTIP_MAX_HOPS] = clientip_trim(p, len);
	h->n++;
}

/* clientip_split_xff - cut X-Forwarded-For at commas */
static void clientip_split_xff(struct clientip_hdr *h, const char *v)
{
	const char *start = v, *p;

	h->n = 0;
	h->forwarded = 0;
	for (p = v;; p++) {
		if (*p == ',' || *p == '\0') {
			clientip_push(h, start, (size_t)(p - start));
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
}

/* clientip_split_fwd - cut Forwarded at commas outside quoted strings */
static void clientip_split_fwd(struct clientip_hdr *h, const char *v)
{
	const char *start = v, *p;
	int quoted = 0;

	h->n = 0;
	h->forwarded = 1;
	for (p = v; *p != '\0'; p++) {
		if (quoted) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quoted = 0;
		} else if (*p == '"') {
			quoted = 1;
		} else if (*p == ',') {
			clientip_push(h, start, (size_t)(p - start));
			start = p + 1;
		}
	}
	/* an unterminated quote leaves a '"' in the entry: it will not parse */
	clientip_push(h, start, (size_t)(p - start));
}

/* clientip_fwd_value - the for= value of one element, unquoted; 0 or -1 */
static int clientip_fwd_value(struct clientip_span el, char *val, size_t vallen,
    size_t *outlen)
{
	const char *p = el.p, *end = el.p + el.len;
	int found = 0;

	while (p < end) {
		const char *name;
		size_t nlen, n = 0;
		int is_for;

		while (p < end && clientip_ows(*p))
			p++;
		if (p < end && *p == ';') {	/* empty pair */
			p++;
			continue;
		}
		if (p == end)
			break;
		name = p;
		while (p < end && *p != '=' && *p != ';' && !clientip_ows(*p))
			p++;
		nlen = (size_t)(p - name);
		if (p == end || *p != '=' || nlen == 0)
			return -1;
		p++;
		is_for = nlen == 3 && strncasecmp(name, "for", 3) == 0;
		if (is_for && found++)
			return -1;	/* two for= in one element */
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && ++p == end)
					return -1;
				if (is_for) {
					if (n + 1 >= vallen)
						return -1;
					val[n++] = *p;
				}
			}
			if (p == end)
				return -1;	/* no closing quote */
			p++;
		} else {
			const char *v = p;

			while (p < end && *p != ';' && !clientip_ows(*p)) {
				if (*p == '"')
					return -1;
				p++;
			}
			if (p == v)
				return -1;
			if (is_for) {
				if ((size_t)(p - v) >= vallen)
					return -1;
				memcpy(val, v, (size_t)(p - v));
				n = (size_t)(p - v);
			}
		}
		if (is_for)
			*outlen = n;
		while (p < end && clientip_ows(*p))
			p++;
		if (p < end && *p != ';')
			return -1;
		if (p < end)
			p++;
	}
	return found ? 0 : -1;
}

/* clientip_entry - the address of entry I (0 = left-most kept); 0 or -1 */
static int clientip_entry(const struct clientip_hdr *h, size_t i,
    struct sockaddr_storage *out)
{
	struct clientip_span el = h->e[i % CLIENTIP_MAX_HOPS];
	char val[INET6_ADDRSTRLEN + 16];
	size_t n = 0;

	if (!h->forwarded)
		return clientip_parse(el.p, el.len, out);
	if (clientip_fwd_value(el, val, sizeof(val), &n) < 0)
		return -1;
	/* "unknown" and obfuscated identifiers name nobody */
	if (n == 0 || val[0] == '_' ||
	    (n == 7 && strncasecmp(val, "unknown", 7) == 0))
		return -1;
	return clientip_parse(val, n, out);
}

/* clientip_resolve - the socket peer, or the right-most untrusted entry */
int clientip_resolve(const struct sockaddr *peer, const char *xff,
    const char *forwarded, const struct cidr_set *trusted,
    struct sockaddr_storage *out)
{
	struct clientip_hdr h;
	struct sockaddr_storage e;
	size_t i, low;
	int rc = CLIENTIP_PEER;

	memset(out, 0, sizeof(*out));
	if (peer == NULL)
		return -1;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)peer;

		clientip_store(AF_INET, &sin->sin_addr, ntohs(sin->sin_port), out);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)peer;

		clientip_store(AF_INET6, &sin6->sin6_addr,
		    ntohs(sin6->sin6_port), out);
	} else {
		return -1;
	}
	if (trusted == NULL ||
	    cidr_set_match(trusted, (const struct sockaddr *)out) == NULL)
		return CLIENTIP_PEER;
	if (!clientip_blank(xff))
		clientip_split_xff(&h, xff);
	else if (!clientip_blank(forwarded))
		clientip_split_fwd(&h, forwarded);
	else
		return CLIENTIP_PEER;
	low = h.n > CLIENTIP_MAX_HOPS ? h.n - CLIENTIP_MAX_HOPS : 0;
	for (i = h.n; i > low; i--) {
		if (clientip_entry(&h, i - 1, &e) < 0)
			break;	/* keep the last address believed */
		*out = e;
		rc = CLIENTIP_FORWARDED;
		if (cidr_set_match(trusted, (const struct sockaddr *)&e) == NULL)
			break;
	}
	return rc;
}
