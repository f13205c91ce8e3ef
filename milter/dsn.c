/*
 * NAME
 *	dsn.c - read delivery status notifications (RFC 3464 and the text
 *	forms of qmail, Exim and Exchange)
 *
 * DESCRIPTION
 *	See dsn.h.  GMime finds the parts and decodes them; what is read
 *	by hand is only what GMime has no parser for: the field groups of a
 *	message/delivery-status part (header syntax, groups separated by
 *	blank lines) and the fixed sentences of the text forms.  Every
 *	string kept is valid UTF-8 and bounded.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "address.h"
#include "dsn.h"

#define DSN_GROUP_MAX 64	/* fields read from one group */
#define DSN_ADDR_WORD_MAX 512	/* longest word taken for an address in a text form */

/* dsn_field - one unfolded field of a delivery-status group */
struct dsn_field {
	char *name;	/* field name */
	GString *value;	/* value, continuation lines joined by one space */
};

/* dsn_text_form - the sentences that recognise one text form */
struct dsn_text_form {
	enum dsn_form form;		/* which */
	const char *const *signs;	/* any of these in the text */
};

static const char *const dsn_qmail_signs[] = {
	"This is the qmail-send program",
	"I'm afraid I wasn't able to deliver your message to the following addresses",
	"Sorry, we were unable to deliver your message to the following address",
	"Unable to deliver message to the following address",
	NULL,
};
static const char *const dsn_exim_signs[] = {
	"This message was created automatically by mail delivery software",
	NULL,
};
static const char *const dsn_exchange_signs[] = {
	"Your message did not reach some or all of the intended recipients",
	"Delivery has failed to these recipients or groups",
	"The following recipient(s) cannot be reached",
	"The following recipient(s) could not be reached",
	NULL,
};
static const struct dsn_text_form dsn_text_forms[] = {
	{ DSN_FORM_QMAIL, dsn_qmail_signs },
	{ DSN_FORM_EXIM, dsn_exim_signs },
	{ DSN_FORM_EXCHANGE, dsn_exchange_signs },
};

/* where a text form's copy of the returned message (or its headers) starts */
static const char *const dsn_copy_marks[] = {
	"--- Below this line is a copy of the message.",
	"--- Enclosed are the original headers of the message.",
	"------ This is a copy of the message, including all the headers.",
	"------ This is a copy of the message's headers.",
	"Original message headers:",
	NULL,
};

/* dsn_form_name - a word for F */
const char *dsn_form_name(enum dsn_form f)
{
	switch (f) {
	case DSN_FORM_RFC3464:
		return "rfc3464";
	case DSN_FORM_QMAIL:
		return "qmail";
	case DSN_FORM_EXIM:
		return "exim";
	case DSN_FORM_EXCHANGE:
		return "exchange";
	case DSN_FORM_NONE:
		break;
	}
	return "none";
}

/* dsn_rcpt_free - GDestroyNotify for struct dsn_rcpt */
static void dsn_rcpt_free(gpointer p)
{
	struct dsn_rcpt *r = p;

	g_free(r->final);
	g_free(r->original);
	g_free(r->action);
	g_free(r->diagnostic);
	g_free(r);
}

/* dsn_clear - free everything; D is empty afterwards */
void dsn_clear(struct dsn *d)
{
	if (d->rcpts)
		g_ptr_array_free(d->rcpts, TRUE);
	if (d->tokens)
		g_ptr_array_free(d->tokens, TRUE);
	g_free(d->reporting_mta);
	g_free(d->message_id);
	memset(d, 0, sizeof(*d));
}

/* dsn_utf8 - a valid UTF-8 copy of S[0..LEN) without control characters but tab, at most
 * MAX octets (cut on a character boundary), blanks around it trimmed */
static char *dsn_utf8(const char *s, size_t len, size_t max)
{
	char *v = g_utf8_make_valid(s, (gssize)len);
	char *end;

	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	g_strstrip(v);
	if (strlen(v) > max) {
		end = g_utf8_find_prev_char(v, v + max + 1);
		if (end)
			*end = '\0';
	}
	return v;
}

/* dsn_part_bytes - the decoded content of leaf part P, in an allocation of exactly its
 * length (no NUL after it, no slack: a read past the end is one a sanitizer sees) */
static GByteArray *dsn_part_bytes(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *src, *out;

	if (w)
		g_mime_data_wrapper_write_to_stream(w, mem);
	src = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (src && src->len)
		out = g_byte_array_new_take(g_memdup2(src->data, src->len), src->len);
	else
		out = g_byte_array_new();
	g_object_unref(mem);
	return out;
}

/* dsn_parse_message - a GMime message from BUF[0..LEN), or NULL */
static GMimeMessage *dsn_parse_message(const char *buf, size_t len)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(buf, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(st);
	return msg;
}

/* dsn_type_is - is OBJ's content type TYPE/SUBTYPE? */
static int dsn_type_is(GMimeObject *obj, const char *type, const char *subtype)
{
	GMimeContentType *ct = obj ? g_mime_object_get_content_type(obj) : NULL;

	return ct && g_mime_content_type_is_type(ct, type, subtype);
}

/* dsn_is_b64url - a token character? */
static int dsn_is_b64url(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* dsn_add_token - keep TOKEN (TOKEN_STR_LEN characters) once */
static void dsn_add_token(struct dsn *d, const char *tok, size_t len)
{
	if (d->tokens->len >= DSN_MAX_TOKENS)
		return;
	for (guint i = 0; i < d->tokens->len; i++)
		if (strlen(d->tokens->pdata[i]) == len &&
		    memcmp(d->tokens->pdata[i], tok, len) == 0)
			return;
	g_ptr_array_add(d->tokens, g_strndup(tok, len));
}

/* dsn_scan_tokens - the tokens of BASE/o/T.gif, BASE/c/T/, BASE/d/T/, BASE/u/T/ in S[0..N) */
static void dsn_scan_tokens(struct dsn *d, const char *s, size_t n, const char *base)
{
	size_t blen = base ? strlen(base) : 0;
	const char *p, *end;
	const size_t tlen = 36;	/* TOKEN_STR_LEN */

	if (!blen || !s || n == 0)
		return;
	p = s;
	end = s + n;
	while (p < end && (p = memmem(p, (size_t)(end - p), base, blen)) != NULL) {
		const char *t = p + blen + 3;
		size_t k = 0;

		p += blen;
		if (end - p < 3 + (ptrdiff_t)tlen + 1 || p[0] != '/' || p[2] != '/' ||
		    !strchr("ocdu", p[1]))
			continue;
		while (k < tlen && dsn_is_b64url((unsigned char)t[k]))
			k++;
		if (k != tlen || dsn_is_b64url((unsigned char)t[tlen]))
			continue;
		if (p[1] == 'o' ? (end - t < (ptrdiff_t)tlen + 4 || memcmp(t + tlen, ".gif", 4) != 0)
				: t[tlen] != '/')
			continue;
		dsn_add_token(d, t, tlen);
	}
}

/* dsn_returned_part - GMime foreach: scan the decoded text parts for tokens */
static void dsn_returned_part(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	void **a = arg;
	GByteArray *b;

	(void)parent;
	if (!GMIME_IS_PART(part) || !dsn_type_is(part, "text", "*"))
		return;
	b = dsn_part_bytes(GMIME_PART(part));
	dsn_scan_tokens(a[0], (const char *)b->data, b->len, a[1]);
	g_byte_array_free(b, TRUE);
}

/* dsn_returned - the Message-ID and tokens of the returned message MSG */
static void dsn_returned(struct dsn *d, GMimeMessage *msg, const char *base)
{
	const char *mid = g_mime_message_get_message_id(msg);
	const char *lu = g_mime_object_get_header(GMIME_OBJECT(msg), "List-Unsubscribe");
	void *arg[2] = { d, (void *)base };

	if (mid && *mid && !d->message_id)
		d->message_id = dsn_utf8(mid, strlen(mid), 998);
	if (lu)
		dsn_scan_tokens(d, lu, strlen(lu), base);
	g_mime_message_foreach(msg, dsn_returned_part, arg);
}

/* dsn_returned_text - the returned message (or headers) in BUF[0..LEN) */
static void dsn_returned_text(struct dsn *d, const char *buf, size_t len, const char *base)
{
	GMimeMessage *msg;

	while (len > 0 && (*buf == '\r' || *buf == '\n' || *buf == ' ' || *buf == '\t')) {
		buf++;
		len--;
	}
	if (len == 0 || !(msg = dsn_parse_message(buf, len)))
		return;
	dsn_returned(d, msg, base);
	g_object_unref(msg);
}

/* dsn_returned_object - the returned message from part OBJ: message/rfc822 (global) or
 * text/rfc822-headers (message/global-headers); 1 if it was one */
static int dsn_returned_object(struct dsn *d, GMimeObject *obj, const char *base)
{
	GByteArray *b;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (msg)
			dsn_returned(d, msg, base);
		return msg != NULL;
	}
	if (GMIME_IS_PART(obj) && (dsn_type_is(obj, "text", "rfc822-headers") ||
				   dsn_type_is(obj, "message", "global-headers") ||
				   dsn_type_is(obj, "message", "rfc822") ||
				   dsn_type_is(obj, "message", "global"))) {
		b = dsn_part_bytes(GMIME_PART(obj));
		dsn_returned_text(d, (const char *)b->data, b->len, base);
		g_byte_array_free(b, TRUE);
		return 1;
	}
	return 0;
}

/* dsn_find_returned - depth-first: the first returned message part under OBJ */
static int dsn_find_returned(struct dsn *d, GMimeObject *obj, const char *base, int depth)
{
	if (!obj || depth > 4)
		return 0;
	if (dsn_returned_object(d, obj, base))
		return 1;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			if (dsn_find_returned(d, g_mime_multipart_get_part(mp, i), base, depth + 1))
				return 1;
	}
	return 0;
}

/* dsn_status_ok - is S[0..LEN) a status code class.subject.detail? */
static int dsn_status_ok(const char *s, size_t len)
{
	size_t i = 0, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (n = 0; i < len && isdigit((unsigned char)s[i]) && n < 4; i++, n++)
			;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

/* dsn_status_in - the first enhanced status code in S (a 4 or 5 class): 2; else from the
 * first SMTP reply code (5xx: 5.0.0): 1; into OUT; 0 if none */
static int dsn_status_in(const char *s, char out[DSN_STATUS_MAX])
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		if ((s[i] != '4' && s[i] != '5') ||
		    (i > 0 && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.')))
			continue;
		while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.'))
			j++;
		if (j - i < DSN_STATUS_MAX && dsn_status_ok(s + i, j - i)) {
			memcpy(out, s + i, j - i);
			out[j - i] = '\0';
			return 2;
		}
	}
	for (size_t i = 0; i + 3 <= n; i++) {
		if ((s[i] != '4' && s[i] != '5') || !isdigit((unsigned char)s[i + 1]) ||
		    !isdigit((unsigned char)s[i + 2]) ||
		    (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.')) ||
		    (i + 3 < n && s[i + 3] != ' ' && s[i + 3] != '-'))
			continue;
		g_snprintf(out, DSN_STATUS_MAX, "%c.0.0", s[i]);
		return 1;
	}
	return 0;
}

/* dsn_norm - the one form of the address in S[0..LEN), or NULL */
static char *dsn_norm(const char *s, size_t len)
{
	char key[ADDRESS_SIZE], *raw;
	const char *why;
	int rc;

	if (len == 0 || len > ADDRESS_INPUT_MAX)
		return NULL;
	raw = g_strndup(s, len);
	rc = address_norm(raw, key, sizeof(key), &why);
	g_free(raw);
	return rc == 0 ? g_strdup(key) : NULL;
}

/* dsn_typed_addr - the address of a "type; address" value when the type is rfc822 or utf-8 */
static char *dsn_typed_addr(const char *v)
{
	const char *semi = v ? strchr(v, ';') : NULL;
	char *type;
	int ok;

	if (!semi)
		return NULL;
	type = g_strstrip(g_strndup(v, (size_t)(semi - v)));
	ok = g_ascii_strcasecmp(type, "rfc822") == 0 || g_ascii_strcasecmp(type, "utf-8") == 0;
	g_free(type);
	if (!ok)
		return NULL;
	semi++;
	return dsn_norm(semi, strlen(semi));
}

/* dsn_rcpt_finish - status, bounce and hard of R from its action and texts; STATUS the
 * Status field or NULL */
static void dsn_rcpt_finish(struct dsn_rcpt *r, const char *status)
{
	int failed = strcmp(r->action, "failed") == 0, found;
	size_t slen = 0;

	r->bounce = failed || strcmp(r->action, "delayed") == 0;
	if (status) {
		while (*status == ' ' || *status == '\t')
			status++;
		while (status[slen] && !isspace((unsigned char)status[slen]) && status[slen] != '(')
			slen++;
	}
	r->status_reported = 0;
	if (status && slen < DSN_STATUS_MAX && dsn_status_ok(status, slen)) {
		memcpy(r->status, status, slen);
		r->status[slen] = '\0';
		r->status_reported = 1;
	} else if (r->bounce && (found = dsn_status_in(r->diagnostic, r->status)) > 0) {
		r->status_reported = found == 2;
	} else {
		g_strlcpy(r->status, !r->bounce ? "" : failed ? "5.0.0" : "4.0.0", DSN_STATUS_MAX);
	}
	r->hard = failed && r->status[0] == '5';
}

/* dsn_rcpt_new - a recipient with ACTION and DIAGNOSTIC (S[0..LEN)) */
static struct dsn_rcpt *dsn_rcpt_new(const char *action, const char *diag, size_t len)
{
	struct dsn_rcpt *r = g_new0(struct dsn_rcpt, 1);

	r->action = g_ascii_strdown(action, -1);
	r->diagnostic = dsn_utf8(diag ? diag : "", diag ? len : 0, DSN_DIAG_MAX);
	return r;
}

/* dsn_field_get - the value of field NAME in group G, or NULL */
static const char *dsn_field_get(GPtrArray *g, const char *name)
{
	for (guint i = 0; i < g->len; i++) {
		struct dsn_field *f = g->pdata[i];
		if (g_ascii_strcasecmp(f->name, name) == 0)
			return f->value->str;
	}
	return NULL;
}

/* dsn_field_free - GDestroyNotify for struct dsn_field */
static void dsn_field_free(gpointer p)
{
	struct dsn_field *f = p;

	g_free(f->name);
	g_string_free(f->value, TRUE);
	g_free(f);
}

/* dsn_group_done - use one field group: the per-message fields or a recipient */
static void dsn_group_done(struct dsn *d, GPtrArray *g)
{
	const char *v, *action, *diag;
	struct dsn_rcpt *r;

	if (g->len == 0)
		return;
	if (!d->reporting_mta && (v = dsn_field_get(g, "Reporting-MTA")))
		d->reporting_mta = dsn_utf8(v, strlen(v), 255);
	v = dsn_field_get(g, "Final-Recipient");
	action = dsn_field_get(g, "Action");
	if (!v || !action || d->rcpts->len >= DSN_MAX_RCPTS)
		return;
	diag = dsn_field_get(g, "Diagnostic-Code");
	if (diag && strchr(diag, ';'))
		diag = strchr(diag, ';') + 1;
	{
		char *word = g_strndup(action, strcspn(action, " \t(;"));
		r = dsn_rcpt_new(word, diag, diag ? strlen(diag) : 0);
		g_free(word);
	}
	r->final = dsn_typed_addr(v);
	r->original = dsn_typed_addr(dsn_field_get(g, "Original-Recipient"));
	dsn_rcpt_finish(r, dsn_field_get(g, "Status"));
	g_ptr_array_add(d->rcpts, r);
}

/* dsn_status_groups - read the field groups of a delivery-status part S[0..N) */
static void dsn_status_groups(struct dsn *d, const char *s, size_t n)
{
	GPtrArray *g;
	const char *p, *end;
	struct dsn_field *last = NULL;

	if (!s || n == 0)
		return;
	g = g_ptr_array_new_with_free_func(dsn_field_free);
	p = s;
	end = s + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *colon;
		size_t len = (size_t)(le - p), lead = 0;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* the line is not NUL-terminated (nor is the part): count its blanks within it */
		while (lead < len && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead == len) {
			/* a blank line ends the group */
			dsn_group_done(d, g);
			g_ptr_array_set_size(g, 0);
			last = NULL;
		} else if (lead > 0 && last) {
			if (last->value->len < 4 * DSN_DIAG_MAX) {
				g_string_append_c(last->value, ' ');
				g_string_append_len(last->value, p + lead, (gssize)(len - lead));
			}
		} else if ((colon = memchr(p, ':', len)) != NULL && colon > p &&
			   g->len < DSN_GROUP_MAX) {
			last = g_new0(struct dsn_field, 1);
			last->name = g_strstrip(g_strndup(p, (size_t)(colon - p)));
			const char *v = colon + 1;
			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			last->value = g_string_new_len(v, (gssize)(len - (size_t)(v - p)));
			g_ptr_array_add(g, last);
		} else {
			last = NULL;
		}
		p = nl ? nl + 1 : end;
	}
	dsn_group_done(d, g);
	g_ptr_array_free(g, TRUE);
}

/* dsn_find_report - multipart/report; report-type=delivery-status at OBJ or one level down */
static GMimeMultipart *dsn_find_report(GMimeObject *obj, int depth)
{
	if (!obj || !GMIME_IS_MULTIPART(obj))
		return NULL;
	if (dsn_type_is(obj, "multipart", "report")) {
		const char *rt = g_mime_content_type_get_parameter(
			g_mime_object_get_content_type(obj), "report-type");
		if (rt && (g_ascii_strcasecmp(rt, "delivery-status") == 0 ||
			   g_ascii_strcasecmp(rt, "global-delivery-status") == 0))
			return GMIME_MULTIPART(obj);
	}
	if (depth < 1) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++) {
			GMimeMultipart *r = dsn_find_report(g_mime_multipart_get_part(mp, i), depth + 1);
			if (r)
				return r;
		}
	}
	return NULL;
}

/* dsn_rfc3464 - read the report MP into D */
static void dsn_rfc3464(struct dsn *d, GMimeMultipart *mp, const char *base)
{
	int n = g_mime_multipart_get_count(mp), status_done = 0;

	for (int i = 0; i < n; i++) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);
		if (!status_done && GMIME_IS_PART(part) &&
		    (dsn_type_is(part, "message", "delivery-status") ||
		     dsn_type_is(part, "message", "global-delivery-status"))) {
			GByteArray *b = dsn_part_bytes(GMIME_PART(part));
			dsn_status_groups(d, (const char *)b->data, b->len);
			g_byte_array_free(b, TRUE);
			status_done = 1;
		} else if (i > 0 && !d->message_id && d->tokens->len == 0) {
			dsn_returned_object(d, part, base);
		}
	}
}

/* dsn_main_text - the decoded first text/plain leaf under OBJ, or NULL */
static GByteArray *dsn_main_text(GMimeObject *obj, int depth)
{
	if (!obj || depth > 4)
		return NULL;
	if (GMIME_IS_PART(obj))
		return dsn_type_is(obj, "text", "plain") ? dsn_part_bytes(GMIME_PART(obj)) : NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++) {
			GByteArray *b = dsn_main_text(g_mime_multipart_get_part(mp, i), depth + 1);
			if (b)
				return b;
		}
	}
	return NULL;
}

/* dsn_lines - S split into lines without their line ends */
static char **dsn_lines(const char *s)
{
	char **v = g_strsplit(s, "\n", -1);

	for (char **l = v; *l; l++) {
		size_t n = strlen(*l);
		if (n > 0 && (*l)[n - 1] == '\r')
			(*l)[n - 1] = '\0';
	}
	return v;
}

/* dsn_blank - is line L empty or blanks only? */
static int dsn_blank(const char *l)
{
	return l[strspn(l, " \t")] == '\0';
}

/* dsn_addr_word - the one form of the first word of L holding an '@' (brackets, quotes,
 * "mailto:" and punctuation around it dropped), or NULL */
static char *dsn_addr_word(const char *l)
{
	char **w = g_strsplit_set(l, " \t", -1);
	char *out = NULL;

	for (char **p = w; *p && !out; p++) {
		char *s = *p;
		size_t n;
		if (!strchr(s, '@') || strlen(s) > DSN_ADDR_WORD_MAX)
			continue;
		if (g_ascii_strncasecmp(s, "mailto:", 7) == 0)
			s += 7;
		while (*s && strchr("<([\"'", *s))
			s++;
		n = strlen(s);
		while (n > 0 && strchr(">)]\"':;,.", s[n - 1]))
			n--;
		out = dsn_norm(s, n);
	}
	g_strfreev(w);
	return out;
}

/* dsn_text_rcpt - add a recipient ADDR (taken) with ACTION and the diagnostic DIAG */
static void dsn_text_rcpt(struct dsn *d, char *addr, const char *action, const GString *diag,
			  const char *fallback)
{
	struct dsn_rcpt *r;
	int found;

	if (!addr)
		return;
	if (d->rcpts->len >= DSN_MAX_RCPTS) {
		g_free(addr);
		return;
	}
	r = dsn_rcpt_new(action, diag->str, diag->len);
	r->final = addr;
	dsn_rcpt_finish(r, NULL);
	if (fallback && strcmp(r->status, "5.0.0") == 0 && !r->status_reported &&
	    (found = dsn_status_in(fallback, r->status)) > 0) {
		r->hard = r->status[0] == '5';
		r->status_reported = found == 2;
	}
	g_ptr_array_add(d->rcpts, r);
}

/* dsn_qmail - "<address>:" paragraphs, each a permanent failure */
static void dsn_qmail(struct dsn *d, char **lines)
{
	GString *diag = g_string_new(NULL);
	char *addr = NULL;

	for (char **l = lines; *l; l++) {
		size_t n = strlen(*l);
		if (addr && dsn_blank(*l)) {
			dsn_text_rcpt(d, addr, "failed", diag, NULL);
			addr = NULL;
		} else if (!addr && n > 3 && (*l)[0] == '<' && strcmp(*l + n - 2, ">:") == 0) {
			addr = dsn_norm(*l, n - 1);
			g_string_truncate(diag, 0);
		} else if (addr && diag->len < 4 * DSN_DIAG_MAX) {
			g_string_append_printf(diag, "%s%s", diag->len ? " " : "", g_strstrip(*l));
		}
	}
	if (addr)
		dsn_text_rcpt(d, addr, "failed", diag, NULL);
	g_string_free(diag, TRUE);
}

/* dsn_exim - two-space indented address lines, the reason indented deeper */
static void dsn_exim(struct dsn *d, char **lines, const char *text)
{
	const char *action = strstr(text, "has not yet been delivered") ? "delayed" : "failed";
	GString *diag = g_string_new(NULL);
	char *addr = NULL;

	for (char **l = lines; *l; l++) {
		const char *s = *l;
		if (s[0] == ' ' && s[1] == ' ' && s[2] && s[2] != ' ' && s[2] != '\t') {
			if (addr)
				dsn_text_rcpt(d, addr, action, diag, NULL);
			addr = dsn_addr_word(s);
			g_string_truncate(diag, 0);
		} else if (addr && s[0] == ' ' && s[1] == ' ' && s[2] == ' ') {
			if (diag->len < 4 * DSN_DIAG_MAX)
				g_string_append_printf(diag, "%s%s", diag->len ? " " : "",
						       s + strspn(s, " \t"));
		} else if (addr && !dsn_blank(s)) {
			dsn_text_rcpt(d, addr, action, diag, NULL);
			addr = NULL;
		}
	}
	if (addr)
		dsn_text_rcpt(d, addr, action, diag, NULL);
	g_string_free(diag, TRUE);
}

/* dsn_exchange - the paragraphs after the recipient list's heading: an address in a
 * paragraph's first line, the reason below; the status may be in the administrators'
 * section */
static void dsn_exchange(struct dsn *d, char **lines, const char *text)
{
	const char *admin = strstr(text, "Diagnostic information for administrators");
	GString *diag = g_string_new(NULL);
	char *addr = NULL;
	int in_list = 0, first = 1;

	for (char **l = lines; *l; l++) {
		const char *s = *l + strspn(*l, " \t");
		if (strstr(s, "Diagnostic information for administrators"))
			break;
		if (!in_list) {
			in_list = strstr(s, "cannot be reached") || strstr(s, "could not be reached") ||
				  strstr(s, "Delivery has failed to these recipients");
			continue;
		}
		if (dsn_blank(s)) {
			if (addr)
				dsn_text_rcpt(d, addr, "failed", diag, admin);
			addr = NULL;
			first = 1;
			continue;
		}
		if (first) {
			addr = dsn_addr_word(s);
			g_string_truncate(diag, 0);
			first = 0;
		} else if (addr && diag->len < 4 * DSN_DIAG_MAX) {
			g_string_append_printf(diag, "%s%s", diag->len ? " " : "", s);
		}
	}
	if (addr)
		dsn_text_rcpt(d, addr, "failed", diag, admin);
	g_string_free(diag, TRUE);
}

/* dsn_text - one of the text forms, from the main text of TOP; the returned message from
 * an attached part, else from the text after a copy mark */
static void dsn_text(struct dsn *d, GMimeObject *top, const char *base)
{
	GByteArray *b = dsn_main_text(top, 0);
	char *text, *mark = NULL, **lines, saved = 0;
	enum dsn_form form = DSN_FORM_NONE;

	if (!b)
		return;
	text = g_utf8_make_valid(b->len ? (const char *)b->data : "", (gssize)b->len);
	g_byte_array_free(b, TRUE);
	for (size_t i = 0; i < G_N_ELEMENTS(dsn_text_forms) && form == DSN_FORM_NONE; i++)
		for (const char *const *s = dsn_text_forms[i].signs; *s; s++)
			if (strstr(text, *s))
				form = dsn_text_forms[i].form;
	if (form == DSN_FORM_NONE) {
		g_free(text);
		return;
	}
	for (const char *const *m = dsn_copy_marks; *m; m++) {
		char *at = strstr(text, *m);
		if (at && (!mark || at < mark))
			mark = at;
	}
	if (mark) {
		saved = *mark;
		*mark = '\0';
	}
	lines = dsn_lines(text);
	if (form == DSN_FORM_QMAIL)
		dsn_qmail(d, lines);
	else if (form == DSN_FORM_EXIM)
		dsn_exim(d, lines, text);
	else
		dsn_exchange(d, lines, text);
	g_strfreev(lines);
	if (d->rcpts->len > 0) {
		d->form = form;
		if (!dsn_find_returned(d, top, base, 0) && mark) {
			const char *copy;
			/* the mark's NUL hid the rest: restore the byte, read past the mark's line */
			*mark = saved;
			copy = mark + strcspn(mark, "\n");
			dsn_returned_text(d, copy, strlen(copy), base);
		}
	}
	g_free(text);
}

/* dsn_parse - see dsn.h */
int dsn_parse(const char *text, size_t len, const char *url_base, struct dsn *d)
{
	GMimeMessage *msg;
	GMimeObject *top;
	GMimeMultipart *report;

	memset(d, 0, sizeof(*d));
	d->rcpts = g_ptr_array_new_with_free_func(dsn_rcpt_free);
	d->tokens = g_ptr_array_new_with_free_func(g_free);
	if (!text || !(msg = dsn_parse_message(text, len))) {
		dsn_clear(d);
		return -1;
	}
	top = g_mime_message_get_mime_part(msg);
	if ((report = dsn_find_report(top, 0)) != NULL) {
		dsn_rfc3464(d, report, url_base);
		if (d->rcpts->len > 0)
			d->form = DSN_FORM_RFC3464;
	} else {
		dsn_text(d, top, url_base);
	}
	g_object_unref(msg);
	if (d->form == DSN_FORM_NONE) {
		dsn_clear(d);
		return -1;
	}
	return 0;
}
