/*
 * NAME
 *	forward.c - find the original sender of a forwarded message
 *
 * DESCRIPTION
 *	See forward.h.  GMime parses the message, decodes the parts and
 *	converts their charset; the inline blocks are found line by line in
 *	the decoded text, since no library knows the clients' forms.  HTML
 *	is turned into lines with the tokenizer of html_scan.h.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "address.h"
#include "forward.h"
#include "html_scan.h"

#define FORWARD_BLOCK_LINES 12	/* a forward block's From: comes within this many lines */
#define FORWARD_RULE_MIN 20	/* underscores in an OWA separator line */
#define FORWARD_MAX_TEXT (4u << 20)	/* octets of a part searched for a block */
#define FORWARD_LINE_MAX 998	/* longer lines are no header field (RFC 5322 2.1.1) */

/* forward_kind - the inline forms */
enum forward_kind {
	FWD_NONE,
	FWD_GMAIL,		/* ---------- Forwarded message --------- */
	FWD_APPLE,		/* Begin forwarded message: */
	FWD_OUTLOOK,		/* -----Original Message----- */
	FWD_OWA,		/* ____________________ or <hr> */
	FWD_FROM_SENT,		/* From: ... Sent: ... without a separator */
};

/* forward_kind_name - the how of KIND */
static const char *forward_kind_name(enum forward_kind k)
{
	switch (k) {
	case FWD_GMAIL:
		return "gmail";
	case FWD_APPLE:
		return "apple";
	case FWD_OWA:
		return "owa";
	case FWD_OUTLOOK:
	case FWD_FROM_SENT:
		return "outlook";
	default:
		return NULL;
	}
}

/* forward_norm - the one form of the address in S[0..LEN), g_free; NULL without one */
static char *forward_norm(const char *s, size_t len)
{
	char key[ADDRESS_SIZE];
	char *a;
	int rc;

	if (len == 0 || len >= ADDRESS_INPUT_MAX)
		return NULL;
	a = g_strndup(s, len);
	rc = address_norm(a, key, sizeof(key), NULL);
	g_free(a);
	return rc == 0 ? g_strdup(key) : NULL;
}

/* forward_list_addr - the first mailbox of L in its one form, g_free; NULL for none */
static char *forward_list_addr(InternetAddressList *l);

/* forward_header_addr - the first mailbox of an address header's VALUE (NULL: none) */
char *forward_header_addr(const char *value)
{
	InternetAddressList *l = value ? internet_address_list_parse(NULL, value) : NULL;
	char *a = forward_list_addr(l);

	if (l)
		g_object_unref(l);
	return a;
}

static char *forward_list_addr(InternetAddressList *l)
{
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		const char *a;
		if (INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		    (a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))) != NULL)
			return forward_norm(a, strlen(a));
	}
	return NULL;
}

/* forward_list_id - the List-Id value without <> and blanks, g_free; NULL for none */
static char *forward_list_id(GMimeObject *obj)
{
	const char *v = g_mime_object_get_header(obj, "List-Id");
	const char *lt, *gt;
	char *id;

	if (!v)
		return NULL;
	if ((lt = strrchr(v, '<')) && (gt = strchr(lt, '>')))
		id = g_strndup(lt + 1, (gsize)(gt - lt - 1));
	else
		id = g_strdup(v);
	g_strstrip(id);
	if (!*id || !g_utf8_validate(id, -1, NULL)) {
		g_free(id);
		return NULL;
	}
	return id;
}

/* forward_text - a valid UTF-8 copy of S (NULL: NULL), stripped */
static char *forward_text(const char *s)
{
	char *v;

	if (!s)
		return NULL;
	v = g_utf8_make_valid(s, -1);
	g_strstrip(v);
	return v;
}

/* forward_from_message - O's fields from the headers of MSG */
static void forward_from_message(struct forward_orig *o, GMimeMessage *msg)
{
	o->from = forward_list_addr(g_mime_message_get_from(msg));
	o->reply_to = forward_list_addr(g_mime_message_get_reply_to(msg));
	o->list_id = forward_list_id(GMIME_OBJECT(msg));
	o->subject = forward_text(g_mime_message_get_subject(msg));
}

/* forward_find_rfc822 - depth-first, the first message/rfc822 part under OBJ, or NULL */
static GMimeMessage *forward_find_rfc822(GMimeObject *obj, int depth)
{
	if (!obj || depth > 8)
		return NULL;
	if (GMIME_IS_MESSAGE_PART(obj))
		return g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++) {
			GMimeMessage *m = forward_find_rfc822(g_mime_multipart_get_part(mp, i),
							      depth + 1);
			if (m)
				return m;
		}
	}
	return NULL;
}

/* forward_find_text - depth-first, the first text/SUBTYPE leaf part under OBJ that is not
 * an attachment, or NULL; message/rfc822 parts are not entered */
static GMimePart *forward_find_text(GMimeObject *obj, const char *subtype, int depth)
{
	if (!obj || depth > 8)
		return NULL;
	if (GMIME_IS_PART(obj)) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
		if (ct && g_mime_content_type_is_type(ct, "text", subtype) &&
		    !(cd && g_mime_content_disposition_is_attachment(cd)))
			return GMIME_PART(obj);
		return NULL;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++) {
			GMimePart *p = forward_find_text(g_mime_multipart_get_part(mp, i), subtype,
							 depth + 1);
			if (p)
				return p;
		}
	}
	return NULL;
}

/* forward_part_text - the content of P decoded (transfer encoding, then charset to UTF-8),
 * at most FORWARD_MAX_TEXT octets, as valid UTF-8; g_free.  The decoded text is read from
 * a filter stream and never held beyond the limit, however large the part */
static char *forward_part_text(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(p), "charset");
	GByteArray *b = g_byte_array_new();
	GMimeStream *src, *filt;
	char buf[8192];
	ssize_t n;
	char *out;

	if (!w || !(src = g_mime_data_wrapper_get_stream(w))) {
		g_byte_array_free(b, TRUE);
		return g_strdup("");
	}
	g_mime_stream_reset(src);
	filt = g_mime_stream_filter_new(src);
	switch (g_mime_data_wrapper_get_encoding(w)) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
	case GMIME_CONTENT_ENCODING_UUENCODE: {
		GMimeFilter *f = g_mime_filter_basic_new(g_mime_data_wrapper_get_encoding(w), FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filt), f);
		g_object_unref(f);
		break;
	}
	default:
		break;
	}
	if (cs && g_ascii_strcasecmp(cs, "utf-8") != 0 && g_ascii_strcasecmp(cs, "us-ascii") != 0) {
		GMimeFilter *f = g_mime_filter_charset_new(cs, "UTF-8");
		if (f) {
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(filt), f);
			g_object_unref(f);
		}
	}
	while (b->len < FORWARD_MAX_TEXT &&
	       (n = g_mime_stream_read(filt, buf, MIN(sizeof(buf), FORWARD_MAX_TEXT - b->len))) > 0)
		g_byte_array_append(b, (const guint8 *)buf, (guint)n);
	out = g_utf8_make_valid(b->len ? (const char *)b->data : "", (gssize)b->len);
	g_object_unref(filt);
	g_byte_array_free(b, TRUE);
	return out;
}

/* forward_block_tag - is NAME[0..LEN) a block that starts and ends on a line of its own? */
static int forward_block_tag(const char *name, size_t len)
{
	static const char *const tags[] = { "p", "div", "tr", "li", "table", "blockquote",
					    "h1", "h2", "h3", "h4", "pre", "dt", "dd" };

	for (size_t i = 0; i < G_N_ELEMENTS(tags); i++)
		if (html_name_is(name, len, tags[i]))
			return 1;
	return 0;
}

/* forward_html_text - text nodes decoded with their blanks collapsed, a newline for each
 * block tag, a separator line of underscores for <hr> */
char *forward_html_text(const char *html, size_t len)
{
	GString *out = g_string_sized_new(len / 2 + 16);
	GString *t = g_string_new(NULL);
	struct html_scan s;
	struct html_token tok;
	int in_style = 0;

	html_scan_init(&s, html, MIN(len, (size_t)FORWARD_MAX_TEXT));
	while (html_scan_next(&s, &tok)) {
		const char *name = html + tok.name;
		if (tok.type == HTML_TOK_TEXT && !in_style) {
			g_string_truncate(t, 0);
			html_decode(t, html + tok.start, tok.end - tok.start, 0);
			for (const char *p = t->str; *p; p++) {
				int blank = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
				if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0) {
					blank = 1;	/* &nbsp; */
					p++;
				}
				if (!blank)
					g_string_append_c(out, *p);
				else if (out->len && out->str[out->len - 1] != ' ' &&
					 out->str[out->len - 1] != '\n')
					g_string_append_c(out, ' ');
			}
		} else if (tok.type == HTML_TOK_START && html_name_is(name, tok.name_len, "hr")) {
			g_string_append(out, "\n________________________________\n");
		} else if (tok.type == HTML_TOK_START && html_name_is(name, tok.name_len, "br")) {
			g_string_append_c(out, '\n');
		} else if ((tok.type == HTML_TOK_START || tok.type == HTML_TOK_END) &&
			   forward_block_tag(name, tok.name_len)) {
			/* the edge of a block ends a line, but makes no blank one */
			if (out->len && out->str[out->len - 1] != '\n')
				g_string_append_c(out, '\n');
		} else if (tok.type == HTML_TOK_START && (html_name_is(name, tok.name_len, "head") ||
							  html_name_is(name, tok.name_len, "title"))) {
			in_style = 1;
		} else if (tok.type == HTML_TOK_END && (html_name_is(name, tok.name_len, "head") ||
							html_name_is(name, tok.name_len, "title"))) {
			in_style = 0;
		}
	}
	g_string_free(t, TRUE);
	{
		char *v = g_utf8_make_valid(out->str, (gssize)out->len);
		g_string_free(out, TRUE);
		return v;
	}
}

/* forward_line_clean - LINE without quote marks ("> ") and blanks around it (in place) */
static char *forward_line_clean(char *line)
{
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p != '>')
			break;
		p++;
	}
	return g_strstrip(p);
}

/* forward_marker - the inline form a (clean) line opens, or FWD_NONE */
static enum forward_kind forward_marker(const char *l)
{
	size_t n = strlen(l), u = 0;

	if (strstr(l, "Forwarded message") && g_str_has_prefix(l, "-----"))
		return FWD_GMAIL;
	if (g_ascii_strncasecmp(l, "Begin forwarded message", 23) == 0)
		return FWD_APPLE;
	if (strcasestr(l, "Original Message") && g_str_has_prefix(l, "-----"))
		return FWD_OUTLOOK;
	while (u < n && l[u] == '_')
		u++;
	if (u >= FORWARD_RULE_MIN && u == n)
		return FWD_OWA;
	return FWD_NONE;
}

/* forward_field - the value of a "NAME:" line L (case-insensitive), or NULL */
static const char *forward_field(const char *l, const char *name)
{
	size_t n = strlen(name);

	if (g_ascii_strncasecmp(l, name, n) != 0)
		return NULL;
	l += n;
	while (*l == ' ' || *l == '\t')
		l++;
	if (*l != ':')
		return NULL;
	l++;
	while (*l == ' ' || *l == '\t')
		l++;
	return l;
}

/* forward_line_addr - the address of a From:/Reply-To: value: inside [mailto:...], inside
 * <...> holding an @, else the first word holding an @; one form, g_free; NULL for none */
static char *forward_line_addr(const char *v)
{
	const char *p, *q, *lt;
	static const char *const stop = " \t<>[](),;:\"'";

	if ((p = strcasestr(v, "mailto:")) != NULL) {
		p += 7;
		q = p + strcspn(p, "]> \t\"'?");
		return forward_norm(p, (size_t)(q - p));
	}
	/* each '<' looks for its '>' and its '@' only up to the next '<' (or the '>'): every
	 * octet is looked at a bounded number of times, however many '<' the line has */
	for (lt = strchr(v, '<'); lt; lt = q) {
		const char *gt, *at;
		q = strchr(lt + 1, '<');
		gt = q ? memchr(lt, '>', (size_t)(q - lt)) : strchr(lt, '>');
		if (!gt)
			continue;
		at = memchr(lt, '@', (size_t)(gt - lt));
		if (at)
			return forward_norm(lt + 1, (size_t)(gt - lt - 1));
	}
	if ((p = strchr(v, '@')) != NULL) {
		q = p;
		while (q > v && !strchr(stop, q[-1]))
			q--;
		p = p + 1 + strcspn(p + 1, stop);
		return forward_norm(q, (size_t)(p - q));
	}
	return NULL;
}

/* forward_block - read the header block starting at line FIRST of LINES (N lines) into O
 * as KIND; 1 when it has a From: address (and, for the forms Outlook also uses in replies
 * without a marker, a Sent:).  Lines before the first field are skipped; the block ends at
 * a blank line after it, or at a second From: */
static int forward_block(char **lines, size_t n, size_t first, enum forward_kind kind,
			 struct forward_orig *o)
{
	char *from = NULL, *reply = NULL, *subject = NULL;
	int sent = 0, seen = 0;
	const char *v;

	for (size_t j = first; j < n && j < first + FORWARD_BLOCK_LINES; j++) {
		char *l = forward_line_clean(lines[j]);
		if (strlen(l) > FORWARD_LINE_MAX) {
			if (seen)
				break;
			continue;
		}
		if ((v = forward_field(l, "From")) != NULL) {
			if (seen)
				break;
			from = forward_line_addr(v);
		} else if ((v = forward_field(l, "Reply-To")) != NULL) {
			if (!reply)
				reply = forward_line_addr(v);
		} else if ((v = forward_field(l, "Subject")) != NULL) {
			if (!subject)
				subject = forward_text(v);
		} else if (forward_field(l, "Sent")) {
			sent = 1;
		} else if (!*l && seen) {
			break;
		}
		seen = seen || from || reply || subject || sent;
	}
	if (!from || ((kind == FWD_OWA || kind == FWD_FROM_SENT) && !sent)) {
		g_free(from);
		g_free(reply);
		g_free(subject);
		return 0;
	}
	o->from = from;
	o->reply_to = reply;
	o->subject = subject;
	return 1;
}

/* forward_inline - the first inline forward block in TEXT into O; its kind, or FWD_NONE.
 * OUTLOOK_OK: the Outlook and OWA forms count (the message is not a reply); HTML: TEXT is
 * an HTML part's, where alone a From: ... Sent: block without a separator counts (in plain
 * text it is as likely a web form's own lines) */
static enum forward_kind forward_inline(const char *text, int outlook_ok, int html,
					struct forward_orig *o)
{
	char **lines = g_strsplit(text, "\n", -1);
	size_t n = g_strv_length(lines);
	enum forward_kind found = FWD_NONE;

	for (size_t i = 0; i < n && found == FWD_NONE; i++) {
		char *copy = g_strdup(lines[i]);
		const char *l = forward_line_clean(copy);
		enum forward_kind k = forward_marker(l);
		size_t first = i + 1;

		if (k == FWD_NONE && html && forward_field(l, "From")) {
			/* Outlook's HTML: a From: ... Sent: block with no line before it */
			k = FWD_FROM_SENT;
			first = i;
		}
		g_free(copy);
		if (k == FWD_NONE || ((k == FWD_OUTLOOK || k == FWD_OWA || k == FWD_FROM_SENT) &&
				      !outlook_ok))
			continue;
		if (forward_block(lines, n, first, k, o))
			found = k;
	}
	g_strfreev(lines);
	return found;
}

/* forward_prefix - does SUBJECT start with one of PREFIXES (each ending in ':'), after
 * other such prefixes and brackets? */
static int forward_prefix(const char *subject, const char *const *prefixes)
{
	static const char *const all[] = { "re", "aw", "sv", "antw", "fw", "fwd", "tr", "wg",
					   NULL };
	const char *p = subject;

	while (p && *p) {
		size_t w;
		int known = 0;
		while (*p == ' ' || *p == '\t' || *p == '[')
			p++;
		w = strcspn(p, ": \t");
		if (p[w] != ':')
			return 0;
		for (const char *const *x = prefixes; *x; x++)
			if (strlen(*x) == w && g_ascii_strncasecmp(p, *x, w) == 0)
				return 1;
		for (const char *const *x = all; *x; x++)
			if (strlen(*x) == w && g_ascii_strncasecmp(p, *x, w) == 0)
				known = 1;
		if (!known)
			return 0;
		p += w + 1;
	}
	return 0;
}

/* forward_is_reply - does SUBJECT say reply and not forward? */
static int forward_is_reply(const char *subject)
{
	static const char *const re[] = { "re", "aw", "sv", "antw", NULL };
	static const char *const fw[] = { "fw", "fwd", "tr", "wg", NULL };

	return subject && forward_prefix(subject, re) && !forward_prefix(subject, fw);
}

/* forward_message_id - MSG's Message-ID without <>, valid UTF-8, g_free; NULL for none */
static char *forward_message_id(GMimeMessage *msg)
{
	const char *id = g_mime_message_get_message_id(msg);

	return id && *id && g_utf8_validate(id, -1, NULL) ? g_strdup(id) : NULL;
}

/* forward_parse_with - the rules of forward.h in order; SEARCH: 0 for the message's own
 * fields alone */
static int forward_parse_with(const char *text, size_t len, int search, struct forward_orig *o)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *top;
	GMimeMessage *inner;
	GMimePart *part;
	const char *subject;
	int outlook_ok;

	memset(o, 0, sizeof(*o));
	g_object_unref(parser);
	g_object_unref(st);
	if (!msg)
		return -1;
	top = g_mime_message_get_mime_part(msg);
	subject = g_mime_message_get_subject(msg);
	outlook_ok = !forward_is_reply(subject);
	if (!search) {
		forward_from_message(o, msg);
	} else if (g_mime_object_get_header(GMIME_OBJECT(msg), "Resent-From")) {
		o->forward = 1;
		o->how = "resent";
		forward_from_message(o, msg);
	} else if ((inner = forward_find_rfc822(top, 0)) != NULL) {
		o->forward = 1;
		o->how = "rfc822";
		forward_from_message(o, inner);
		o->message_id = forward_message_id(inner);
	} else {
		enum forward_kind k = FWD_NONE;
		const char *types[2] = { "plain", "html" };
		for (int t = 0; t < 2 && k == FWD_NONE; t++) {
			char *body, *plain;
			if (!(part = forward_find_text(top, types[t], 0)))
				continue;
			body = forward_part_text(part);
			plain = t ? forward_html_text(body, strlen(body)) : body;
			k = forward_inline(plain, outlook_ok, t == 1, o);
			if (plain != body)
				g_free(plain);
			g_free(body);
		}
		if (k != FWD_NONE) {
			o->forward = 1;
			o->how = forward_kind_name(k);
			if (!o->subject)
				o->subject = forward_text(subject);
		} else {
			forward_from_message(o, msg);
		}
	}
	g_object_unref(msg);
	return 0;
}

/* forward_parse - every rule */
int forward_parse(const char *text, size_t len, struct forward_orig *o)
{
	return forward_parse_with(text, len, 1, o);
}

/* forward_parse_own - no rule */
int forward_parse_own(const char *text, size_t len, struct forward_orig *o)
{
	return forward_parse_with(text, len, 0, o);
}

/* forward_orig_clear - free the strings */
void forward_orig_clear(struct forward_orig *o)
{
	g_free(o->from);
	g_free(o->reply_to);
	g_free(o->list_id);
	g_free(o->subject);
	g_free(o->message_id);
	memset(o, 0, sizeof(*o));
}
