/*
 * NAME
 *	reinject.c - a small SMTP client for the per-recipient copies
 *
 * DESCRIPTION
 *	See reinject.h.  The connection is a GIO socket with its timeout
 *	set, so every connect, read and write is bounded; replies are read
 *	through a fixed buffer, so a reply line longer than
 *	REINJECT_LINE_MAX breaks the session instead of growing memory.
 *	Commands are sent one at a time (no pipelining): the listener is
 *	local and a copy costs four round trips.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gio/gio.h>

#include "clock.h"
#include "hostport.h"
#include "reinject.h"

#define REINJECT_LINE_MAX 2048	/* longest reply line accepted */
#define REINJECT_LINES_MAX 200	/* most lines of one reply */

/* reinject_ext - ESMTP extensions the listener announced */
enum reinject_ext {
	EXT_SIZE = 1,		/* SIZE */
	EXT_8BITMIME = 2,	/* 8BITMIME */
	EXT_SMTPUTF8 = 4,	/* SMTPUTF8 */
	EXT_DSN = 8,		/* DSN */
	EXT_XFORWARD = 16,	/* XFORWARD (Postfix) */
};

/* reinject - one session */
struct reinject {
	GSocketClient *client;		/* made the connection */
	GSocketConnection *conn;	/* the connection */
	GInputStream *in;		/* its input (not owned) */
	GOutputStream *out;		/* its output (not owned) */
	char buf[REINJECT_LINE_MAX + 1];	/* unread input */
	size_t have;			/* octets in buf */
	unsigned ext;			/* enum reinject_ext bits */
	int broken;			/* an I/O error happened: no QUIT */
	long long dot_us;		/* when the last copy's final dot was written (clock_now_us) */
	char *peer;			/* host:port, for messages */
};

/* reinject_reply - one reply */
struct reinject_reply {
	int code;			/* three-digit code, 0 if none */
	char text[256];			/* the last line, for messages */
};

/* reinject_parse - "inet:PORT@HOST", "inet6:PORT@HOST", "HOST:PORT" or "[V6]:PORT"
 * (lib/hostport.c); HOST is g_malloc'd */
int reinject_parse(const char *spec, char **host, guint16 *port, char *err, size_t errlen)
{
	struct hostport hp;
	char why[128];

	*host = NULL;
	if (hostport_parse(spec ? spec : "", HOSTPORT_CONNECT, &hp, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "reinject '%s': %s", spec ? spec : "", why);
		return -1;
	}
	*host = g_strdup(hp.host);
	*port = (guint16)hp.port;
	return 0;
}

/* reinject_fail - the session is unusable: remember, describe */
static enum reinject_rc reinject_fail(struct reinject *r, GError *gerr, const char *what,
				      char *err, size_t errlen)
{
	r->broken = 1;
	snprintf(err, errlen, "%s: %s: %s", r->peer, what, gerr ? gerr->message : "connection closed");
	if (gerr)
		g_error_free(gerr);
	return REINJECT_BROKEN;
}

/* reinject_line - read one line (without CR LF) into LINE; 0, or -1 with *GERR */
static int reinject_line(struct reinject *r, char line[REINJECT_LINE_MAX + 1], GError **gerr)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->have);
		gssize n;

		if (nl) {
			size_t len = (size_t)(nl - r->buf);
			memcpy(line, r->buf, len);
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			r->have -= (size_t)(nl - r->buf) + 1;
			memmove(r->buf, nl + 1, r->have);
			return 0;
		}
		if (r->have >= REINJECT_LINE_MAX) {
			g_set_error(gerr, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "reply line too long");
			return -1;
		}
		n = g_input_stream_read(r->in, r->buf + r->have, REINJECT_LINE_MAX - r->have, NULL, gerr);
		if (n <= 0) {
			if (n == 0)
				g_set_error(gerr, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "connection closed");
			return -1;
		}
		r->have += (size_t)n;
	}
}

/* reinject_read - read one reply (all its lines); EHLO: note the extensions; 0 or -1 */
static int reinject_read(struct reinject *r, struct reinject_reply *rep, int ehlo, GError **gerr)
{
	char line[REINJECT_LINE_MAX + 1];

	for (int i = 0; i < REINJECT_LINES_MAX; i++) {
		if (reinject_line(r, line, gerr) < 0)
			return -1;
		if (strlen(line) < 3 || !g_ascii_isdigit(line[0]) || !g_ascii_isdigit(line[1]) ||
		    !g_ascii_isdigit(line[2]) || (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			g_set_error(gerr, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not an SMTP reply: %.60s",
				    line);
			return -1;
		}
		rep->code = atoi(line);
		g_strlcpy(rep->text, line, sizeof(rep->text));
		if (ehlo && i > 0) {
			const char *kw = line + 4;
			size_t kl = strcspn(kw, " ");
			if (kl == 4 && g_ascii_strncasecmp(kw, "SIZE", 4) == 0)
				r->ext |= EXT_SIZE;
			else if (kl == 8 && g_ascii_strncasecmp(kw, "8BITMIME", 8) == 0)
				r->ext |= EXT_8BITMIME;
			else if (kl == 8 && g_ascii_strncasecmp(kw, "SMTPUTF8", 8) == 0)
				r->ext |= EXT_SMTPUTF8;
			else if (kl == 3 && g_ascii_strncasecmp(kw, "DSN", 3) == 0)
				r->ext |= EXT_DSN;
			else if (kl == 8 && g_ascii_strncasecmp(kw, "XFORWARD", 8) == 0)
				r->ext |= EXT_XFORWARD;
		}
		if (line[3] != '-')
			return 0;
	}
	g_set_error(gerr, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "reply of more than %d lines",
		    REINJECT_LINES_MAX);
	return -1;
}

/* reinject_write - write LEN octets of P; 0, or -1 with *GERR */
static int reinject_write(struct reinject *r, const void *p, size_t len, GError **gerr)
{
	gsize done;

	return g_output_stream_write_all(r->out, p, len, &done, NULL, gerr) ? 0 : -1;
}

/* reinject_cmd - send CMD CRLF and read the reply; 0, or -1 with *GERR */
static int reinject_cmd(struct reinject *r, const char *cmd, struct reinject_reply *rep, int ehlo,
			GError **gerr)
{
	GString *s = g_string_new(cmd);
	int rc;

	g_string_append(s, "\r\n");
	rc = reinject_write(r, s->str, s->len, gerr);
	g_string_free(s, TRUE);
	return rc < 0 ? -1 : reinject_read(r, rep, ehlo, gerr);
}

/* reinject_open - connect, greeting, EHLO (HELO if EHLO is refused) */
struct reinject *reinject_open(const char *spec, unsigned timeout_s, char *err, size_t errlen)
{
	struct reinject *r;
	struct reinject_reply rep;
	GSocketConnectable *addr;
	GError *gerr = NULL;
	char *host, *cmd;
	guint16 port;

	if (reinject_parse(spec, &host, &port, err, errlen) < 0)
		return NULL;
	r = g_new0(struct reinject, 1);
	r->peer = strchr(host, ':') ? g_strdup_printf("[%s]:%u", host, port) :
				      g_strdup_printf("%s:%u", host, port);
	r->client = g_socket_client_new();
	g_socket_client_set_timeout(r->client, timeout_s ? timeout_s : REINJECT_TIMEOUT_S);
	addr = g_network_address_new(host, port);
	g_free(host);
	r->conn = g_socket_client_connect(r->client, addr, NULL, &gerr);
	g_object_unref(addr);
	if (!r->conn) {
		reinject_fail(r, gerr, "connect", err, errlen);
		reinject_close(r);
		return NULL;
	}
	/* the last segment of a copy must not wait for an acknowledgement */
	g_socket_set_option(g_socket_connection_get_socket(r->conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	r->in = g_io_stream_get_input_stream(G_IO_STREAM(r->conn));
	r->out = g_io_stream_get_output_stream(G_IO_STREAM(r->conn));
	if (reinject_read(r, &rep, 0, &gerr) < 0) {
		reinject_fail(r, gerr, "greeting", err, errlen);
		reinject_close(r);
		return NULL;
	}
	if (rep.code / 100 != 2) {
		snprintf(err, errlen, "%s: greeting: %s", r->peer, rep.text);
		reinject_close(r);
		return NULL;
	}
	cmd = g_strdup_printf("EHLO %s", g_get_host_name());
	if (reinject_cmd(r, cmd, &rep, 1, &gerr) == 0 && rep.code / 100 != 2) {
		r->ext = 0;
		cmd[0] = 'H';	/* HELO */
		reinject_cmd(r, cmd, &rep, 0, &gerr);
	}
	g_free(cmd);
	if (gerr || rep.code / 100 != 2) {
		if (gerr)
			reinject_fail(r, gerr, "EHLO", err, errlen);
		else
			snprintf(err, errlen, "%s: HELO: %s", r->peer, rep.text);
		reinject_close(r);
		return NULL;
	}
	return r;
}

/* reinject_dot_stuff - CRLF line ends, leading dots doubled, ends in CRLF */
size_t reinject_dot_stuff(GByteArray *out, const guint8 *text, size_t len)
{
	size_t plain = 0, start = 0;

	while (start < len) {
		const guint8 *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len, l = end - start;

		if (l > 0 && text[end - 1] == '\r')
			l--;
		if (text[start] == '.' && l > 0)
			g_byte_array_append(out, (const guint8 *)".", 1);
		g_byte_array_append(out, text + start, (guint)l);
		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
		plain += l + 2;
		start = end + 1;
	}
	return plain;
}

/* reinject_arg - the argument "NAME=..." (NAME ending in '=') or the keyword NAME in ARGS
 * (case-insensitive), or NULL */
static const char *reinject_arg(char *const *args, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; args && args[i]; i++)
		if (g_ascii_strncasecmp(args[i], name, n) == 0 &&
		    (name[n - 1] == '=' || args[i][n] == '\0'))
			return args[i];
	return NULL;
}

/* reinject_ascii - is S ASCII only? */
static int reinject_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* reinject_8bit - does P[0..LEN) hold an octet over 127? */
static int reinject_8bit(const guint8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x80)
			return 1;
	return 0;
}

/* reinject_clean - may S go on a command line (no CR or LF)? */
static int reinject_clean(const char *s)
{
	return s && strpbrk(s, "\r\n") == NULL;
}

/* reinject_envelope_ok - no envelope field could break a command line */
static int reinject_envelope_ok(const struct reinject_msg *msg)
{
	if (!reinject_clean(msg->sender))
		return 0;
	for (size_t i = 0; msg->mail_args && msg->mail_args[i]; i++)
		if (!reinject_clean(msg->mail_args[i]))
			return 0;
	for (size_t i = 0; i < msg->nrcpts; i++) {
		if (!reinject_clean(msg->rcpts[i].addr))
			return 0;
		for (size_t j = 0; msg->rcpts[i].args && msg->rcpts[i].args[j]; j++)
			if (!reinject_clean(msg->rcpts[i].args[j]))
				return 0;
	}
	return 1;
}

/* reinject_refused - reset the transaction after a refusal; the refusal described */
static enum reinject_rc reinject_refused(struct reinject *r, const char *cmd,
					 const struct reinject_reply *rep, char *err, size_t errlen)
{
	struct reinject_reply rs;
	GError *gerr = NULL;

	snprintf(err, errlen, "%s: %.80s: %s", r->peer, cmd, rep->text);
	if (reinject_cmd(r, "RSET", &rs, 0, &gerr) < 0) {
		r->broken = 1;
		g_error_free(gerr);
	}
	return REINJECT_REFUSED;
}

/* reinject_mail_cmd - MAIL FROM with the arguments the copy needs; NULL with ERR if impossible */
static char *reinject_mail_cmd(const struct reinject *r, const struct reinject_msg *msg,
			       size_t size, int eight_bit, char *err, size_t errlen)
{
	GString *c = g_string_new(NULL);
	const char *a;
	int utf8 = reinject_arg(msg->mail_args, "SMTPUTF8") != NULL || !reinject_ascii(msg->sender);

	for (size_t i = 0; i < msg->nrcpts; i++)
		utf8 |= !reinject_ascii(msg->rcpts[i].addr);
	if (utf8 && !(r->ext & EXT_SMTPUTF8)) {
		snprintf(err, errlen, "%s: the copy needs SMTPUTF8, which the listener lacks", r->peer);
		g_string_free(c, TRUE);
		return NULL;
	}
	g_string_printf(c, "MAIL FROM:<%s>", msg->sender);
	if (r->ext & EXT_SIZE)
		g_string_append_printf(c, " SIZE=%zu", size);
	a = reinject_arg(msg->mail_args, "BODY=");
	if ((r->ext & EXT_8BITMIME) &&
	    (eight_bit || (a && g_ascii_strcasecmp(a + 5, "8BITMIME") == 0)))
		g_string_append(c, " BODY=8BITMIME");
	if (utf8)
		g_string_append(c, " SMTPUTF8");
	if (r->ext & EXT_DSN) {
		if ((a = reinject_arg(msg->mail_args, "RET=")) != NULL)
			g_string_append_printf(c, " %s", a);
		if ((a = reinject_arg(msg->mail_args, "ENVID=")) != NULL)
			g_string_append_printf(c, " %s", a);
	}
	return g_string_free(c, FALSE);
}

/* reinject_xtext - append S as xtext (RFC 3461): "+" and "=", blanks, controls as +XX */
static void reinject_xtext(GString *c, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
			g_string_append_printf(c, "+%02X", *p);
		else
			g_string_append_c(c, (char)*p);
	}
}

/* reinject_xforward_cmd - XFORWARD with what is known of the original client, or NULL */
static char *reinject_xforward_cmd(const struct reinject *r, const struct reinject_msg *msg)
{
	const char *names[] = { "NAME", "ADDR", "HELO", "IDENT" };
	const char *vals[] = { msg->client_name, msg->client_addr, msg->helo, msg->ident };
	GString *c = g_string_new("XFORWARD");
	int n = 0;

	if (!(r->ext & EXT_XFORWARD)) {
		g_string_free(c, TRUE);
		return NULL;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (!vals[i] || !*vals[i])
			continue;
		g_string_append_printf(c, " %s=", names[i]);
		reinject_xtext(c, vals[i]);
		n++;
	}
	if (n == 0) {
		g_string_free(c, TRUE);
		return NULL;
	}
	return g_string_free(c, FALSE);
}

/* reinject_rcpt_cmd - RCPT TO with NOTIFY and ORCPT when the listener knows DSN */
static char *reinject_rcpt_cmd(const struct reinject *r, const struct reinject_rcpt *rc)
{
	GString *c = g_string_new(NULL);
	const char *a;

	g_string_printf(c, "RCPT TO:<%s>", rc->addr);
	if (r->ext & EXT_DSN) {
		if ((a = reinject_arg(rc->args, "NOTIFY=")) != NULL)
			g_string_append_printf(c, " %s", a);
		if ((a = reinject_arg(rc->args, "ORCPT=")) != NULL)
			g_string_append_printf(c, " %s", a);
	}
	return g_string_free(c, FALSE);
}

/* reinject_send - MAIL, RCPT..., DATA, text, dot */
enum reinject_rc reinject_send(struct reinject *r, const struct reinject_msg *msg, char *err,
			       size_t errlen)
{
	struct reinject_reply rep;
	GByteArray *data;
	GError *gerr = NULL;
	enum reinject_rc rc;
	size_t size;
	char *cmd, *xf;

	if (r->broken) {
		snprintf(err, errlen, "%s: session already failed", r->peer);
		return REINJECT_BROKEN;
	}
	if (msg->nrcpts == 0 || !reinject_envelope_ok(msg)) {
		snprintf(err, errlen, "%s: no recipient, or a line break in the envelope", r->peer);
		return REINJECT_REFUSED;
	}
	data = g_byte_array_sized_new(msg->text->len + msg->text->len / 32 + 8);
	size = reinject_dot_stuff(data, msg->text->data, msg->text->len);
	g_byte_array_append(data, (const guint8 *)".\r\n", 3);
	cmd = reinject_mail_cmd(r, msg, size, reinject_8bit(msg->text->data, msg->text->len),
				err, errlen);
	if (!cmd) {
		g_byte_array_free(data, TRUE);
		return REINJECT_REFUSED;
	}
	rc = REINJECT_OK;
	xf = reinject_xforward_cmd(r, msg);
	/* XFORWARD only names the client: a refusal of it is no reason to drop the copy */
	if (xf && reinject_cmd(r, xf, &rep, 0, &gerr) < 0)
		rc = reinject_fail(r, gerr, "XFORWARD", err, errlen);
	g_free(xf);
	if (rc == REINJECT_OK) {
		if (reinject_cmd(r, cmd, &rep, 0, &gerr) < 0)
			rc = reinject_fail(r, gerr, "MAIL FROM", err, errlen);
		else if (rep.code / 100 != 2)
			rc = reinject_refused(r, cmd, &rep, err, errlen);
	}
	for (size_t i = 0; rc == REINJECT_OK && i < msg->nrcpts; i++) {
		g_free(cmd);
		cmd = reinject_rcpt_cmd(r, &msg->rcpts[i]);
		if (reinject_cmd(r, cmd, &rep, 0, &gerr) < 0)
			rc = reinject_fail(r, gerr, "RCPT TO", err, errlen);
		else if (rep.code / 100 != 2)
			rc = reinject_refused(r, cmd, &rep, err, errlen);
	}
	if (rc == REINJECT_OK) {
		if (reinject_cmd(r, "DATA", &rep, 0, &gerr) < 0)
			rc = reinject_fail(r, gerr, "DATA", err, errlen);
		else if (rep.code != 354)
			rc = reinject_refused(r, "DATA", &rep, err, errlen);
	}
	if (rc == REINJECT_OK) {
		r->dot_us = clock_now_us();
		if (reinject_write(r, data->data, data->len, &gerr) < 0 ||
		    reinject_read(r, &rep, 0, &gerr) < 0)
			rc = reinject_fail(r, gerr, "end of data", err, errlen);
		else if (rep.code / 100 != 2) {
			snprintf(err, errlen, "%s: end of data: %s", r->peer, rep.text);
			rc = REINJECT_REFUSED;
		}
	}
	g_free(cmd);
	g_byte_array_free(data, TRUE);
	return rc;
}

/* reinject_last_dot_us - when the final dot of the last copy was written */
long long reinject_last_dot_us(const struct reinject *r)
{
	return r ? r->dot_us : 0;
}

/* reinject_close - QUIT if the session still works, then free */
void reinject_close(struct reinject *r)
{
	struct reinject_reply rep;
	GError *gerr = NULL;

	if (!r)
		return;
	if (r->conn && !r->broken && reinject_cmd(r, "QUIT", &rep, 0, &gerr) < 0)
		g_error_free(gerr);
	if (r->conn) {
		g_io_stream_close(G_IO_STREAM(r->conn), NULL, NULL);
		g_object_unref(r->conn);
	}
	g_object_unref(r->client);
	g_free(r->peer);
	g_free(r);
}
