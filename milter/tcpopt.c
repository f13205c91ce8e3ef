/*
 * NAME
 *	tcpopt.c - TCP_NODELAY and TCP_QUICKACK on libmilter's MTA sockets
 *
 * DESCRIPTION
 *	See tcpopt.h.  Measured on loopback with smtp-source and smtp-sink
 *	(DESIGN.md): 89 messages/s with a stock filter on inet, 631 with both
 *	options set on the filter's side.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include "tcpopt.h"

/* tcpopt_ctx_head - the first fields of libmilter's struct smfi_str */
struct tcpopt_ctx_head {
	pthread_t id;	/* ctx_id: the session's thread */
	int sd;		/* ctx_sd: the MTA socket */
};

/* tcpopt_ctx_socket - read ctx_sd, keep it only if it is a connected TCP socket */
int tcpopt_ctx_socket(SMFICTX *ctx)
{
	const struct tcpopt_ctx_head *h = (const void *)ctx;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0, proto = 0;
	socklen_t tl = sizeof(type), pl = sizeof(proto);

	if (!ctx || h->sd < 0)
		return -1;
	if (getsockopt(h->sd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return -1;
	if (getsockopt(h->sd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) < 0 || proto != IPPROTO_TCP)
		return -1;
	if (getpeername(h->sd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -1;
	return h->sd;
}

/* tcpopt_nodelay - no Nagle on our replies */
void tcpopt_nodelay(int sd)
{
	int on = 1;

	if (sd >= 0)
		(void)setsockopt(sd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* tcpopt_quickack - ACK the MTA's commands at once */
void tcpopt_quickack(int sd)
{
	int on = 1;

	if (sd >= 0)
		(void)setsockopt(sd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}
