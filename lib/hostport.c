/*
 * hostport.c - parse host:port, [v6]:port, inet:port@host and unix:/path
 * addresses (see hostport.h).  No name is looked up: the syntax alone
 * is checked, so a config check needs neither DNS nor the network.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "hostport.h"

/* hostport_shape - WHY = the forms FLAGS allow; returns -1 */
static int hostport_shape(unsigned flags, char *why, size_t whylen)
{
	const char *forms[6];
	size_t n = 0, len;

	if (flags & HOSTPORT_PLAIN) {
		forms[n++] = "host:port";
		forms[n++] = "[v6]:port";
		if (flags & HOSTPORT_ANY)
			forms[n++] = "*:port";
	}
	if (flags & HOSTPORT_INET_AT) {
		forms[n++] = "inet:port@host";
		forms[n++] = "inet6:port@host";
	}
	if (flags & HOSTPORT_UNIX)
		forms[n++] = "unix:/path";
	snprintf(why, whylen, "expected");
	for (size_t i = 0; i < n; i++) {
		len = strlen(why);
		snprintf(why + len, whylen - len, "%s%s", i == 0 ? " " : i + 1 == n ? " or " : ", ",
			 forms[i]);
	}
	return -1;
}

/* hostport_port - LEN bytes of TEXT as a port; 0, or -1 with WHY */
static int hostport_port(const char *text, size_t len, unsigned flags, unsigned *port,
			 char *why, size_t whylen)
{
	unsigned min = flags & HOSTPORT_PORT0 ? 0 : 1, n = 0;
	size_t i;

	for (i = 0; i < len && i < 6 && text[i] >= '0' && text[i] <= '9'; i++)
		n = n * 10 + (unsigned)(text[i] - '0');
	if (len == 0 || i != len || len > 5 || n < min || n > 65535) {
		snprintf(why, whylen, "the port must be a number from %u to 65535", min);
		return -1;
	}
	*port = n;
	return 0;
}

/* hostport_host - LEN bytes of TEXT (brackets stripped) as the host; 0, or -1 with WHY */
static int hostport_host(const char *text, size_t len, unsigned flags, int colon_ok,
			 struct hostport *out, char *why, size_t whylen)
{
	char v6[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	int bracketed = 0;

	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
		colon_ok = bracketed = 1;
	}
	/* a bare IPv6 address before the last colon ("::1:8080") is taken as it was */
	if (!colon_ok && (flags & HOSTPORT_BARE_V6) && len < sizeof(v6) && memchr(text, ':', len)) {
		memcpy(v6, text, len);
		v6[len] = '\0';
		colon_ok = inet_pton(AF_INET6, v6, &a6) == 1;
	}
	if ((len == 0 || (len == 1 && text[0] == '*')) && (flags & HOSTPORT_ANY) && !bracketed) {
		out->host[0] = '\0';
		return 0;
	}
	if (len == 0) {
		snprintf(why, whylen, "no host");
		return -1;
	}
	if (len >= sizeof(out->host)) {
		snprintf(why, whylen, "the host is longer than %zu characters", sizeof(out->host) - 1);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (strchr(" /@[]*,", text[i]) || (unsigned char)text[i] < 0x20 ||
		    (text[i] == ':' && !colon_ok)) {
			if (text[i] == ':')
				snprintf(why, whylen, "an IPv6 address needs brackets: [v6]:port");
			else if ((unsigned char)text[i] < 0x20)
				snprintf(why, whylen, "a control character in the host");
			else
				snprintf(why, whylen, "bad character '%c' in the host", text[i]);
			return -1;
		}
	}
	memcpy(out->host, text, len);
	out->host[len] = '\0';
	return 0;
}

/* hostport_inet_at - libmilter's "PORT@HOST" or "PORT" (after "inet:") */
static int hostport_inet_at(const char *p, unsigned flags, struct hostport *out, char *why,
			    size_t whylen)
{
	const char *at = strchr(p, '@');

	if (!at && !(flags & HOSTPORT_ANY)) {
		snprintf(why, whylen, "expected inet:port@host");
		return -1;
	}
	if (hostport_port(p, at ? (size_t)(at - p) : strlen(p), flags, &out->port, why, whylen) < 0)
		return -1;
	/* a host written after '@' must be one: "any" is only "inet:port" */
	return at ? hostport_host(at + 1, strlen(at + 1), flags & ~(unsigned)HOSTPORT_ANY, 1, out,
				  why, whylen) : 0;
}

/* hostport_plain - "HOST:PORT" or "[V6]:PORT" */
static int hostport_plain(const char *spec, unsigned flags, struct hostport *out, char *why,
			  size_t whylen)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			return hostport_shape(flags, why, whylen);
		colon = close + 1;
	} else if (!(colon = strrchr(spec, ':'))) {
		return hostport_shape(flags, why, whylen);
	}
	if (hostport_host(spec, (size_t)(colon - spec), flags, 0, out, why, whylen) < 0)
		return -1;
	return hostport_port(colon + 1, strlen(colon + 1), flags, &out->port, why, whylen);
}

/* hostport_parse - one address in a form FLAGS allow */
int hostport_parse(const char *spec, unsigned flags, struct hostport *out, char *why,
		   size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec) {
		snprintf(why, whylen, "empty");
		return -1;
	}
	const char *path = !strncmp(spec, "unix:", 5) ? spec + 5 :
			   !strncmp(spec, "local:", 6) ? spec + 6 :
			   spec[0] == '/' ? spec : NULL;
	if (path && !(flags & HOSTPORT_UNIX))
		return hostport_shape(flags, why, whylen);
	if (path) {
		if (!*path) {
			snprintf(why, whylen, "no socket path");
			return -1;
		}
		out->path = path;
		return 0;
	}
	if (!strncmp(spec, "inet:", 5) || !strncmp(spec, "inet6:", 6)) {
		if (!(flags & HOSTPORT_INET_AT))
			return hostport_shape(flags, why, whylen);
		return hostport_inet_at(strchr(spec, ':') + 1, flags, out, why, whylen);
	}
	if (!(flags & HOSTPORT_PLAIN))
		return hostport_shape(flags, why, whylen);
	return hostport_plain(spec, flags, out, why, whylen);
}
