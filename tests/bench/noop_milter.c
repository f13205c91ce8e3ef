/*
 * NAME
 *	noop_milter.c - a libmilter filter that does nothing, the floor of
 *	the mail-path benchmark
 *
 * SYNOPSIS
 *	noop_milter SOCKET [PIDFILE]
 *
 * DESCRIPTION
 *	Holds the same conversation with the MTA as beacon-milter and does
 *	no work: the same callbacks (connect, MAIL, RCPT, each header, end
 *	of headers, every body chunk, end of message), the same protocol
 *	steps left out and the same "no reply" steps agreed, the same
 *	macros asked for, and SMFIS_ACCEPT at end of message.  What it
 *	costs is what any filter that reads the whole message pays for the
 *	milter protocol alone.  SOCKET is a libmilter address
 *	(unix:/path, inet:port@127.0.0.1).  On a TCP socket it behaves like
 *	a stock filter: no TCP_NODELAY, no TCP_QUICKACK.
 *
 *	Built by tests/bench/run.sh with
 *	cc -O2 noop_milter.c $(pkg-config --cflags --libs milter) -lpthread.
 *
 * DIAGNOSTICS
 *	Exits 1 when the socket cannot be opened, 0 after SIGTERM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static unsigned long noop_nr;	/* the SMFIP_NR_* steps agreed */

/* noop_reply - CONTINUE, or NOREPLY when the MTA agreed not to wait */
static sfsistat noop_reply(unsigned long flag)
{
	return (noop_nr & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* noop_negotiate - agree on what beacon-milter agrees on */
static sfsistat noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			       unsigned long f2, unsigned long f3, unsigned long *pf0,
			       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_CHGBODY | SMFIF_CHGHDRS;
	const unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP |
				    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR;

	(void)f2;
	(void)f3;
	*pf0 = (f0 & need) | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	noop_nr = *pf1 & (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR);
	if (*pf0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOH, (char *)"i");
		smfi_setsymlist(ctx, SMFIM_EOM, (char *)"i");
	}
	return SMFIS_CONTINUE;
}

/* noop_connect - nothing to do */
static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return noop_reply(SMFIP_NR_CONN);
}

/* noop_envfrom - nothing to do */
static sfsistat noop_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return noop_reply(SMFIP_NR_MAIL);
}

/* noop_envrcpt - nothing to do */
static sfsistat noop_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return noop_reply(SMFIP_NR_RCPT);
}

/* noop_header - nothing to do */
static sfsistat noop_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return noop_reply(SMFIP_NR_HDR);
}

/* noop_eoh - nothing to do */
static sfsistat noop_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* noop_body - read every chunk, keep nothing */
static sfsistat noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

/* noop_eom - accept unchanged */
static sfsistat noop_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

/* noop_abort - nothing to do */
static sfsistat noop_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* noop_close - nothing to do */
static sfsistat noop_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc noop_desc = {
	.xxfi_name = (char *)"bench-noop",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGBODY | SMFIF_CHGHDRS,
	.xxfi_connect = noop_connect,
	.xxfi_envfrom = noop_envfrom,
	.xxfi_envrcpt = noop_envrcpt,
	.xxfi_header = noop_header,
	.xxfi_eoh = noop_eoh,
	.xxfi_body = noop_body,
	.xxfi_eom = noop_eom,
	.xxfi_abort = noop_abort,
	.xxfi_close = noop_close,
	.xxfi_negotiate = noop_negotiate,
};

/* main - open SOCKET, write PIDFILE, serve until SIGTERM */
int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: noop_milter SOCKET [PIDFILE]\n");
		return 2;
	}
	if (strncmp(argv[1], "unix:", 5) == 0)
		unlink(argv[1] + 5);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(noop_desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "noop_milter: cannot open %s\n", argv[1]);
		return 1;
	}
	if (argc == 3) {
		FILE *fp = fopen(argv[2], "w");
		if (!fp || fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0) {
			fprintf(stderr, "noop_milter: cannot write %s\n", argv[2]);
			return 1;
		}
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
