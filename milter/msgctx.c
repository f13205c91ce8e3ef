/*
 * NAME
 *	msgctx.c - per-connection and per-message state of beacon-milter
 *
 * DESCRIPTION
 *	Collects what the libmilter callbacks hand over (envelope, headers,
 *	body chunks) into one msg_ctx, and frees it from exactly one place,
 *	msg_reset().  See msgctx.h.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "msgctx.h"

/* msg_rcpt_free - GDestroyNotify for a struct msg_rcpt */
static void msg_rcpt_free(gpointer p)
{
	struct msg_rcpt *r = p;

	g_free(r->addr);
	g_free(r->key);
	g_free(r->stored);
	g_strfreev(r->args);
	g_free(r);
}

/* msg_header_free - GDestroyNotify for a struct msg_header */
static void msg_header_free(gpointer p)
{
	struct msg_header *h = p;

	g_free(h->name);
	g_free(h->value);
	g_free(h);
}

/* conn_new - an empty connection context */
struct conn_ctx *conn_new(void)
{
	struct conn_ctx *c = g_new0(struct conn_ctx, 1);

	c->sd = -1;
	return c;
}

/* conn_free - release the connection and its message */
void conn_free(struct conn_ctx *c)
{
	if (!c)
		return;
	msg_reset(c);
	g_free(c->hostname);
	g_free(c->client_ip);
	g_free(c->daemon_name);
	g_free(c);
}

/* msg_strip_angles - "<a@b>" -> "a@b" (also trims blanks) */
char *msg_strip_angles(const char *addr)
{
	size_t n;
	const char *s = address_unbracket(addr ? addr : "", &n);

	return g_strndup(s, n);
}

/* msg_begin - a fresh message for MAIL FROM */
int msg_begin(struct conn_ctx *c, const char *sender, char **args)
{
	struct msg_ctx *m;

	msg_reset(c);
	m = g_new0(struct msg_ctx, 1);
	m->sender = msg_strip_angles(sender);
	m->mail_args = args ? g_strdupv(args) : NULL;
	m->rcpts = g_ptr_array_new_with_free_func(msg_rcpt_free);
	m->headers = g_ptr_array_new_with_free_func(msg_header_free);
	m->text = g_byte_array_new();
	c->msg = m;
	return 0;
}

/* msg_reset - free the current message; every exit path of a message ends here */
void msg_reset(struct conn_ctx *c)
{
	struct msg_ctx *m = c ? c->msg : NULL;

	if (!m)
		return;
	g_free(m->queue_id);
	g_free(m->sender);
	g_strfreev(m->mail_args);
	g_free(m->sasl_login);
	g_free(m->trust_why);
	g_ptr_array_free(m->rcpts, TRUE);
	g_ptr_array_free(m->headers, TRUE);
	if (m->text)
		g_byte_array_free(m->text, TRUE);
	if (m->inbound)
		g_ptr_array_free(m->inbound, TRUE);
	g_free(m);
	c->msg = NULL;
}

/* msg_add_rcpt - one envelope recipient, as given and in its one form */
void msg_add_rcpt(struct msg_ctx *m, const char *rcpt, char **args)
{
	struct msg_rcpt *r = g_new0(struct msg_rcpt, 1);
	char key[ADDRESS_SIZE];

	r->addr = msg_strip_angles(rcpt);
	if (address_norm(r->addr, key, sizeof(key), &r->key_why) == 0) {
		r->key = g_strdup(key);
		r->stored = g_strdup(key);
	} else {
		r->stored = g_utf8_make_valid(r->addr, -1);
		for (char *p = r->stored; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	r->args = args ? g_strdupv(args) : NULL;
	g_ptr_array_add(m->rcpts, r);
}

/* msg_drop_text - the message is too large: stop buffering */
static void msg_drop_text(struct msg_ctx *m)
{
	m->oversize = 1;
	if (m->text) {
		g_byte_array_free(m->text, TRUE);
		m->text = NULL;
	}
}

/* msg_add_header - keep one header in order */
void msg_add_header(struct msg_ctx *m, const char *name, const char *value, long long max)
{
	struct msg_header *h;

	m->size += strlen(name) + strlen(value) + 4;
	if (max > 0 && m->size > (unsigned long long)max)
		msg_drop_text(m);
	if (m->oversize)
		return;
	h = g_new(struct msg_header, 1);
	h->name = g_strdup(name);
	h->value = g_strdup(value);
	g_ptr_array_add(m->headers, h);
}

/* msg_append_crlf - append S with every bare LF turned into CRLF */
static void msg_append_crlf(GByteArray *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			g_byte_array_append(b, (const guint8 *)"\r", 1);
		g_byte_array_append(b, (const guint8 *)p, 1);
	}
}

/* msg_end_headers - rebuild the header block the parser will read */
int msg_end_headers(struct msg_ctx *m)
{
	m->headers_done = 1;
	if (m->oversize)
		return -1;
	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		g_byte_array_append(m->text, (const guint8 *)h->name, (guint)strlen(h->name));
		g_byte_array_append(m->text, (const guint8 *)": ", 2);
		msg_append_crlf(m->text, h->value);
		g_byte_array_append(m->text, (const guint8 *)"\r\n", 2);
	}
	g_byte_array_append(m->text, (const guint8 *)"\r\n", 2);
	m->body_off = m->text->len;
	return 0;
}

/* msg_add_body - buffer a body chunk until the size limit */
int msg_add_body(struct msg_ctx *m, const unsigned char *p, size_t len, long long max)
{
	m->size += len;
	if (max > 0 && m->size > (unsigned long long)max)
		msg_drop_text(m);
	if (m->oversize || !m->text)
		return -1;
	if (len > G_MAXUINT - m->text->len) {
		msg_drop_text(m);
		return -1;
	}
	g_byte_array_append(m->text, p, (guint)len);
	return 0;
}

/* msg_add_body_head - the chunk's first octets while text is under KEEP; the rest counted */
void msg_add_body_head(struct msg_ctx *m, const unsigned char *p, size_t len, size_t keep)
{
	size_t n = 0;

	m->size += len;
	if (m->text && m->text->len < keep)
		n = MIN(len, keep - m->text->len);
	if (n)
		g_byte_array_append(m->text, p, (guint)n);
	m->text_cut += len - n;
}

/* msg_set_queue_id - first non-empty queue id wins */
void msg_set_queue_id(struct msg_ctx *m, const char *qid)
{
	if (m && !m->queue_id && qid && *qid)
		m->queue_id = g_strdup(qid);
}

/* msg_qid - queue id or NOQUEUE, for log lines */
const char *msg_qid(const struct msg_ctx *m)
{
	return m && m->queue_id ? m->queue_id : "NOQUEUE";
}

/* msg_header_get - first header called NAME */
const char *msg_header_get(const struct msg_ctx *m, const char *name)
{
	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	}
	return NULL;
}

/* msg_header_count - number of headers called NAME */
int msg_header_count(const struct msg_ctx *m, const char *name)
{
	int n = 0;

	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		if (strcasecmp(h->name, name) == 0)
			n++;
	}
	return n;
}

/* msg_body - the body as received */
const unsigned char *msg_body(const struct msg_ctx *m, size_t *len)
{
	if (!m->text || m->text->len < m->body_off) {
		*len = 0;
		return (const unsigned char *)"";
	}
	*len = m->text->len - m->body_off;
	return m->text->data + m->body_off;
}
