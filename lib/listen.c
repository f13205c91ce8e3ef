/*
 * listen.c - listening sockets from beacon.conf(5) listen addresses (see listen.h)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"
#include "listen.h"

/* listen_split - SPEC into HOST (empty for any) and PORT; 0, or -1 + ERR */
static int listen_split(const char *spec, char host[HOSTPORT_HOST_MAX], char port[16],
    char *err, size_t errlen)
{
	struct hostport hp;
	char why[128];

	if (hostport_parse(spec, HOSTPORT_BIND, &hp, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "listen %s: %s", spec, why);
		return -1;
	}
	memcpy(host, hp.host, strlen(hp.host) + 1);
	snprintf(port, 16, "%u", hp.port);
	return 0;
}

/* listen_check - is SPEC well-formed? */
int listen_check(const char *spec, char *err, size_t errlen)
{
	char host[HOSTPORT_HOST_MAX], port[16];

	return listen_split(spec, host, port, err, errlen);
}

/* listen_socket - one listening socket for SPEC; the fd, or -1 + ERR */
int listen_socket(const char *spec, char *err, size_t errlen)
{
	char host[HOSTPORT_HOST_MAX], port[16];
	const char *h = host;
	struct addrinfo hints, *ai = NULL, *a;
	int fd = -1, rc, any = 0, on = 1, off = 0;

	if (listen_split(spec, host, port, err, errlen) < 0)
		return -1;
	if (host[0] == '\0') {
		any = 1;
		h = NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
	rc = getaddrinfo(h, port, &hints, &ai);
	if (rc != 0 && any) {
		hints.ai_family = AF_INET;	/* a kernel without IPv6 */
		rc = getaddrinfo(h, port, &hints, &ai);
	}
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (a->ai_family == AF_INET6) {
			/* "*" and "[::]" take IPv4 too (dual stack); other addresses only themselves */
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(void *)a->ai_addr;
			int dual = any || IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &off : &on, sizeof(on));
		}
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0)
		snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* listen_port - the port FD is bound to */
int listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}
