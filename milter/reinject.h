/*
 * NAME
 *	reinject.h - hand personalised copies of a message to an SMTP
 *	listener without milters
 *
 * SYNOPSIS
 *	struct reinject *r = reinject_open("inet:10026@127.0.0.1", 20, err, sizeof(err));
 *	struct reinject_msg msg = { sender, mail_args, rcpts, nrcpts, text };
 *	switch (reinject_send(r, &msg, err, sizeof(err))) { ... }
 *	reinject_close(r);
 *
 * DESCRIPTION
 *	One SMTP session carries every copy of one message: the greeting,
 *	EHLO, then per copy MAIL FROM, one RCPT TO per recipient, DATA with
 *	the text dot-stuffed and every line ended with CRLF, and the final
 *	dot.  QUIT ends the session.  Every wait (connect, each reply, each
 *	write) is bounded by the timeout given to reinject_open().
 *
 *	MAIL FROM carries what the copy needs of the original's arguments:
 *	SIZE (the copy's size) when the listener announces SIZE,
 *	BODY=8BITMIME when the original said so or the copy holds 8-bit
 *	octets, SMTPUTF8 when the original said so or an envelope address is
 *	not ASCII (the copy is refused when the listener does not announce
 *	SMTPUTF8), and RET and ENVID when the listener announces DSN.
 *	RCPT TO carries NOTIFY and ORCPT of that recipient when the listener
 *	announces DSN.  Other arguments (AUTH, ...) are not passed on.  When
 *	the listener announces XFORWARD (Postfix: smtpd_authorized_xforward_
 *	hosts), each transaction starts with what is known of the original
 *	client (name, address, HELO) and the original queue id, so the MTA's
 *	log ties each copy to the original.
 *
 *	The listener is written "inet:PORT@HOST" (as the milter socket) or
 *	"HOST:PORT", "[V6ADDR]:PORT".
 *
 * DIAGNOSTICS
 *	reinject_open() returns NULL with a reason in ERR when the listener
 *	cannot be reached or does not greet with 2xx.  reinject_send()
 *	returns REINJECT_REFUSED when the listener answered 4xx or 5xx (the
 *	transaction was reset, the session may carry the next copy) and
 *	REINJECT_BROKEN when the session failed (timeout, closed, garbage);
 *	ERR then holds the command and the reply.
 */
#ifndef BEACON_REINJECT_H
#define BEACON_REINJECT_H

#include <stddef.h>

#include <glib.h>

#define REINJECT_TIMEOUT_S 20	/* default bound of each wait, seconds */

struct reinject;

/* reinject_rcpt - one envelope recipient of a copy */
struct reinject_rcpt {
	const char *addr;		/* address without <> */
	char *const *args;		/* the original RCPT arguments, NULL-terminated or NULL */
};

/* reinject_msg - one copy */
struct reinject_msg {
	const char *sender;		/* envelope sender without <> ("" for <>) */
	char *const *mail_args;		/* the original MAIL FROM arguments, or NULL */
	const struct reinject_rcpt *rcpts;	/* its recipients */
	size_t nrcpts;			/* how many (at least one) */
	const GByteArray *text;		/* header block, blank line, body (CRLF or LF) */
	const char *client_name;	/* XFORWARD NAME: the original client's host name, or NULL */
	const char *client_addr;	/* XFORWARD ADDR: its address, or NULL */
	const char *helo;		/* XFORWARD HELO: its HELO/EHLO argument, or NULL */
	const char *ident;		/* XFORWARD IDENT: the original queue id, or NULL */
};

/* reinject_rc - how one copy went */
enum reinject_rc {
	REINJECT_OK,		/* the listener took it (250 after the final dot) */
	REINJECT_REFUSED,	/* 4xx/5xx reply: the copy was not taken */
	REINJECT_BROKEN,	/* the session failed: the copy was not taken, close it */
};

/* reinject_parse - split SPEC into HOST (g_free) and PORT; 0, or -1 with ERR */
int reinject_parse(const char *spec, char **host, guint16 *port, char *err, size_t errlen);
/* reinject_open - connect to SPEC, read the greeting, say EHLO; NULL with ERR */
struct reinject *reinject_open(const char *spec, unsigned timeout_s, char *err, size_t errlen);
/* reinject_send - hand over one copy */
enum reinject_rc reinject_send(struct reinject *r, const struct reinject_msg *msg, char *err,
			       size_t errlen);
/* reinject_last_dot_us - when (clock_now_us) the last copy's data and final dot were written:
 * from then on the listener may have queued it */
long long reinject_last_dot_us(const struct reinject *r);
/* reinject_close - QUIT (if the session still works) and free; NULL is fine */
void reinject_close(struct reinject *r);
/* reinject_dot_stuff - TEXT with CRLF line ends and leading dots doubled, ending
 * in CRLF; appended to OUT; returns the octets of the unstuffed CRLF text */
size_t reinject_dot_stuff(GByteArray *out, const guint8 *text, size_t len);

#endif
