/*
 * NAME
 *	inbound.c - the inbound and reply records of a received message
 *
 * DESCRIPTION
 *	See inbound.h.  Headers are read with GMime's parsers (address
 *	lists, Message-IDs, References); the original sender comes from
 *	forward.c.  The message's text is read, never written.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "address.h"
#include "forward.h"
#include "inbound.h"
#include "inbound_set.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "tagging.h"
#include "track.h"

/* inbound_head - the tracked recipients, once each, in RCPT order */
void inbound_head(const struct milter_env *env, struct msg_ctx *m)
{
	struct inbound_list *l;

	if (!env->cfg->milter.inbound || !env->inbound || m->inbound)
		return;
	m->maybe_reply = msg_header_count(m, "In-Reply-To") > 0 ||
			 msg_header_count(m, "References") > 0;
	l = inbound_set_get(env->inbound);
	for (guint i = 0; i < m->rcpts->len; i++) {
		const struct msg_rcpt *r = g_ptr_array_index(m->rcpts, i);
		int dup = 0;
		if (!inbound_list_has(l, r->key))
			continue;
		for (guint j = 0; m->inbound && j < m->inbound->len && !dup; j++)
			dup = strcmp(g_ptr_array_index(m->inbound, j), r->key) == 0;
		if (dup)
			continue;
		if (!m->inbound)
			m->inbound = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(m->inbound, g_strdup(r->key));
	}
	inbound_list_unref(l);
}

/* inbound_text - M's text for GMime: the message as received, or, once it grew over the
 * size limit (no text kept), its header block alone; *OWN tells whether to free it */
static GByteArray *inbound_text(const struct msg_ctx *m, int *own)
{
	GByteArray *b;

	*own = 0;
	if (m->text && m->headers_done)
		return m->text;
	*own = 1;
	b = g_byte_array_new();
	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		g_byte_array_append(b, (const guint8 *)h->name, (guint)strlen(h->name));
		g_byte_array_append(b, (const guint8 *)": ", 2);
		g_byte_array_append(b, (const guint8 *)h->value, (guint)strlen(h->value));
		g_byte_array_append(b, (const guint8 *)"\r\n", 2);
	}
	g_byte_array_append(b, (const guint8 *)"\r\n", 2);
	return b;
}

/* inbound_message_id - the Message-ID in header value V without <> (g_free), or NULL; one
 * over INBOUND_ID_MAX octets counts as none (the database could not index it) */
static char *inbound_message_id(const char *v)
{
	char *id = v ? g_mime_utils_decode_message_id(v) : NULL;

	if (id && (!*id || strlen(id) > INBOUND_ID_MAX || !g_utf8_validate(id, -1, NULL))) {
		g_free(id);
		id = NULL;
	}
	return id;
}

/* inbound_cut - S cut to INBOUND_TEXT_MAX characters (in place; S is valid UTF-8), or NULL */
static char *inbound_cut(char *s)
{
	if (s && g_utf8_strlen(s, INBOUND_TEXT_MAX * 4 + 4) > INBOUND_TEXT_MAX)
		*g_utf8_offset_to_pointer(s, INBOUND_TEXT_MAX) = '\0';
	return s;
}

/* inbound_forwarder - may the sender of M, whose From is FROM (one form, or NULL), name
 * the original sender of a lead?  SASL, a trusted client, an internal domain or a rule of
 * [milter] inbound_forwarders */
int inbound_forwarder(const struct beacon_cfg *cfg, const struct msg_ctx *m, const char *from)
{
	char key[ADDRESS_SIZE];
	const char *who = from;

	if (m->trusted || (m->sasl_login && *m->sasl_login))
		return 1;
	if (!who && address_norm(m->sender, key, sizeof(key), NULL) == 0)
		who = key;
	if (!who)
		return 0;
	return tagging_is_internal(&cfg->milter.internal_domains, who) ||
	       tagging_sender_rule(&cfg->milter.inbound_forwarders, who, NULL) == 1;
}

/* inbound_record_of - the arguments of beacon.inbound_mail() */
struct inbound_record *inbound_record_of(const struct beacon_cfg *cfg, const struct msg_ctx *m,
					 const char *from)
{
	struct inbound_record *r;
	struct forward_orig o;
	GByteArray *text;
	char key[ADDRESS_SIZE], *mid, *subject;
	const char *dom = NULL;
	int own, rc;

	if (!m->inbound || m->inbound->len == 0)
		return NULL;
	r = inbound_record_new();
	for (guint i = 0; i < m->inbound->len; i++)
		g_ptr_array_add(r->addresses, g_strdup(g_ptr_array_index(m->inbound, i)));
	text = inbound_text(m, &own);
	/* anybody can write a forward: only a known forwarder's names the original sender */
	if (inbound_forwarder(cfg, m, from))
		rc = forward_parse((const char *)text->data, text->len, &o);
	else
		rc = forward_parse_own((const char *)text->data, text->len, &o);
	if (rc < 0)
		memset(&o, 0, sizeof(o));
	if (own)
		g_byte_array_free(text, TRUE);
	if (o.from)
		dom = address_domain(o.from);
	else if (!o.forward && address_norm(m->sender, key, sizeof(key), NULL) == 0)
		dom = address_domain(key);
	record_set(&r->sender_domain, dom);
	record_set(&r->from, o.from);
	record_set(&r->reply_to, o.reply_to);
	record_set(&r->list_id, inbound_cut(o.list_id));
	subject = msg_header_get(m, "Subject") ?
		  g_mime_utils_header_decode_text(NULL, msg_header_get(m, "Subject")) : NULL;
	if (subject && !g_utf8_validate(subject, -1, NULL)) {
		char *v = g_utf8_make_valid(subject, -1);
		g_free(subject);
		subject = v;
	}
	record_set(&r->subject, subject ? inbound_cut(g_strstrip(subject)) : NULL);
	g_free(subject);
	r->forward = o.forward;
	/* a forward as attachment carries the original's Message-ID: the lead it forwards
	 * and a copy of it count once */
	mid = o.message_id && strlen(o.message_id) <= INBOUND_ID_MAX ? g_strdup(o.message_id) :
	      inbound_message_id(msg_header_get(m, "Message-ID"));
	record_set(&r->message_id, mid);
	g_free(mid);
	record_set(&r->queue_id, m->queue_id);
	/* the message as the client sent it (CRLF), when it was kept; else as counted */
	r->size = (int64_t)(m->text && m->headers_done ? m->text->len + m->text_cut : m->size);
	forward_orig_clear(&o);
	return r;
}

/* inbound_add_ref - append ID to REFS unless it is there, REFS is full or ID is over
 * INBOUND_ID_MAX octets (no Message-ID Beacon sends is) */
static void inbound_add_ref(GPtrArray *refs, const char *id)
{
	if (!id || !*id || refs->len >= REPLY_MAX_REFS || strlen(id) > INBOUND_ID_MAX ||
	    !g_utf8_validate(id, -1, NULL))
		return;
	for (guint i = 0; i < refs->len; i++)
		if (strcmp(g_ptr_array_index(refs, i), id) == 0)
			return;
	g_ptr_array_add(refs, g_strdup(id));
}

/* inbound_add_refs - the Message-IDs of M's header NAME, the last first when NEWEST_LAST */
static void inbound_add_refs(GPtrArray *refs, const struct msg_ctx *m, const char *name,
			     int newest_last)
{
	const char *v = msg_header_get(m, name);
	GMimeReferences *l = v ? g_mime_references_parse(NULL, v) : NULL;
	int n = l ? g_mime_references_length(l) : 0;

	for (int i = 0; i < n; i++)
		inbound_add_ref(refs, g_mime_references_get_message_id(l, newest_last ? n - 1 - i : i));
	if (l)
		g_mime_references_free(l);
}

/* inbound_automatic - why M is an automatic answer (RFC 3834: vacation, out of office, a
 * list's or a robot's mail), or NULL for a person's */
const char *inbound_automatic(const struct msg_ctx *m)
{
	static const char *const prec[] = { "auto_reply", "bulk", "junk", "list" };
	const char *v;

	if (!m->sender || !*m->sender)
		return "null sender";
	if ((v = msg_header_get(m, "Auto-Submitted")) != NULL) {
		char *w = g_strstrip(g_strdup(v));
		/* "no", perhaps with parameters or a comment */
		int person = g_ascii_strncasecmp(w, "no", 2) == 0 &&
			     (w[2] == '\0' || w[2] == ';' || w[2] == ' ' || w[2] == '\t' ||
			      w[2] == '(');
		g_free(w);
		if (!person)
			return "Auto-Submitted";
	}
	if (msg_header_count(m, "X-Autoreply") > 0)
		return "X-Autoreply";
	if (msg_header_count(m, "X-Autorespond") > 0)
		return "X-Autorespond";
	if ((v = msg_header_get(m, "Precedence")) != NULL) {
		char *w = g_strstrip(g_strdup(v));
		int hit = 0;
		for (size_t i = 0; i < G_N_ELEMENTS(prec) && !hit; i++)
			hit = g_ascii_strcasecmp(w, prec[i]) == 0;
		g_free(w);
		if (hit)
			return "Precedence";
	}
	return NULL;
}

/* inbound_reply_of - the arguments of beacon.reply() */
struct reply_record *inbound_reply_of(const struct msg_ctx *m, const char *from)
{
	struct reply_record *r;
	char key[ADDRESS_SIZE], *mid;

	if (inbound_automatic(m))
		return NULL;
	r = reply_record_new();
	inbound_add_refs(r->refs, m, "In-Reply-To", 0);
	/* References lists the thread oldest first */
	inbound_add_refs(r->refs, m, "References", 1);
	if (r->refs->len == 0) {
		reply_record_free(r);
		return NULL;
	}
	/* none: the database tells a replay by the queue id */
	mid = inbound_message_id(msg_header_get(m, "Message-ID"));
	record_set(&r->message_id, mid);
	g_free(mid);
	if (from)
		g_ptr_array_add(r->from, g_strdup(from));
	if (address_norm(m->sender, key, sizeof(key), NULL) == 0 &&
	    (!from || strcmp(from, key) != 0))
		g_ptr_array_add(r->from, g_strdup(key));
	record_set(&r->queue_id, m->queue_id);
	return r;
}

/* inbound_stored - what became of a record, for the log line */
static const char *inbound_stored(enum store_result rc)
{
	return rc == STORE_OK ? "stored" : rc == STORE_SPOOLED ? "spooled" : "lost";
}

/* inbound_pending - has M something for inbound_message() with REPLY set? */
int inbound_pending(const struct milter_env *env, const struct msg_ctx *m)
{
	return env->cfg->milter.inbound && ((m->inbound && m->inbound->len) || m->maybe_reply);
}

/* inbound_message - write both records, one log line each */
void inbound_message(const struct milter_env *env, const struct msg_ctx *m, int reply)
{
	struct inbound_record *in;
	struct reply_record *y;
	enum store_result rc;

	char *from;

	if (!env->cfg->milter.inbound)
		return;
	if (!(m->inbound && m->inbound->len) && !(reply && m->maybe_reply))
		return;
	/* the From address, read once for both records */
	from = forward_header_addr(msg_header_get(m, "From"));
	if ((in = inbound_record_of(env->cfg, m, from)) != NULL) {
		char line[256];
		rc = env->store ? store_put_inbound(env->store, in, msg_qid(m)) : STORE_OK;
		snprintf(line, sizeof(line), "inbound: %u tracked address%s, from %s%s",
			 in->addresses->len, in->addresses->len == 1 ? "" : "es",
			 *in->sender_domain ? in->sender_domain : "an unknown domain",
			 in->forward ? " (forwarded)" : "");
		if (rc == STORE_FAILED)
			log_warnx("%s: %s: rows lost", msg_qid(m), line);
		else
			log_info("%s: %s: %s", msg_qid(m), line, inbound_stored(rc));
		inbound_record_free(in);
	}
	if (reply && m->maybe_reply && (y = inbound_reply_of(m, from)) != NULL) {
		rc = env->store ? store_put_reply(env->store, y, msg_qid(m)) : STORE_OK;
		if (rc == STORE_FAILED)
			log_warnx("%s: reply to %u Message-ID%s: rows lost", msg_qid(m),
				  y->refs->len, y->refs->len == 1 ? "" : "s");
		else
			log_info("%s: reply to %u Message-ID%s: %s", msg_qid(m), y->refs->len,
				 y->refs->len == 1 ? "" : "s", inbound_stored(rc));
		reply_record_free(y);
	}
	g_free(from);
}
