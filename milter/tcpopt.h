/*
 * NAME
 *	tcpopt.h - keep libmilter on TCP from stalling on Nagle and delayed ACKs
 *
 * SYNOPSIS
 *	int sd = tcpopt_ctx_socket(ctx);	(at connect; -1 unless TCP)
 *	tcpopt_nodelay(sd);
 *	tcpopt_quickack(sd);			(again in every callback)
 *
 * DESCRIPTION
 *	Over inet sockets a stock libmilter filter answers small commands
 *	with small writes, and the MTA sends small commands back to back:
 *	Nagle on one side and delayed ACKs on the other add ~40 ms to every
 *	message.  TCP_NODELAY on the filter's socket and TCP_QUICKACK
 *	re-armed after each command the filter reads (Linux clears it by
 *	itself) remove the stall.
 *
 *	libmilter does not expose the socket.  Its context structure
 *	(struct smfi_str in libmilter.h) has begun with the thread id and the
 *	socket descriptor since sendmail 8.10; tcpopt_ctx_socket() reads that
 *	descriptor and uses it only if it is a connected TCP stream socket,
 *	so a different layout costs the speed-up, never correctness.
 */
#ifndef BEACON_TCPOPT_H
#define BEACON_TCPOPT_H

#include <libmilter/mfapi.h>

/* tcpopt_ctx_socket - the MTA connection's descriptor if it is TCP, else -1 */
int tcpopt_ctx_socket(SMFICTX *ctx);
/* tcpopt_nodelay - set TCP_NODELAY on SD (no-op for -1) */
void tcpopt_nodelay(int sd);
/* tcpopt_quickack - (re-)arm TCP_QUICKACK on SD (no-op for -1) */
void tcpopt_quickack(int sd);

#endif
