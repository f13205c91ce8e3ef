/*
 * listen.h - the listening TCP sockets of the HTTP daemons (beacon-pixelsrv,
 * beacon-web), made from the listen addresses of beacon.conf(5)
 *
 * SYNOPSIS
 *	if (listen_check("127.0.0.1:8090", err, sizeof(err)) < 0) ...
 *	int fd = listen_socket("*:8090", err, sizeof(err));
 *	int port = listen_port(fd);
 *
 * DESCRIPTION
 *	An address is one of lib/hostport.h's HOSTPORT_BIND forms.  "*" (or
 *	an empty host) and "[::]" listen on every address, IPv4 included
 *	(dual stack, IPv4 alone on a kernel without IPv6); any other address
 *	only on itself.  The socket is non-blocking, close-on-exec, has
 *	SO_REUSEADDR and a backlog of 4096.
 *
 * DIAGNOSTICS
 *	-1 with the address and the reason in ERR.
 */
#ifndef BEACON_LISTEN_H
#define BEACON_LISTEN_H

#include <stddef.h>

/* listen_check - is SPEC a listen address?  0, or -1 with ERR */
int listen_check(const char *spec, char *err, size_t errlen);
/* listen_socket - a bound, listening socket for SPEC; the descriptor, or -1 with ERR */
int listen_socket(const char *spec, char *err, size_t errlen);
/* listen_port - the local port of socket FD, or -1 */
int listen_port(int fd);

#endif
