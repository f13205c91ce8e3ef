/*
 * NAME
 *	tagging.c - the tag header, sender rules, internal domains and the
 *	signed-message exclusions of beacon-milter
 *
 * DESCRIPTION
 *	Pure functions over strings (see tagging.h for the rules they
 *	implement); the callbacks and the end-of-message code decide with
 *	them.  Nothing here allocates beyond its results or keeps state.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "address.h"
#include "log.h"
#include "tagging.h"

/* tagging_cursor - a position in the header value being parsed */
struct tagging_cursor {
	const char *p;		/* next byte */
};

/* tagging_skip_ws - skip blanks and folding line breaks */
static void tagging_skip_ws(struct tagging_cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

/* tagging_is_tchar - may this byte appear in an unquoted word? */
static int tagging_is_tchar(char ch)
{
	return ch && !strchr(" \t\r\n;=\"", ch);
}

/* tagging_word - read an unquoted word into a new string (NULL if none) */
static char *tagging_word(struct tagging_cursor *c)
{
	const char *s = c->p;

	while (tagging_is_tchar(*c->p))
		c->p++;
	return c->p > s ? g_strndup(s, (gsize)(c->p - s)) : NULL;
}

/* tagging_quoted - read a "quoted string" with \ escapes; NULL if unterminated */
static char *tagging_quoted(struct tagging_cursor *c)
{
	GString *s = g_string_new(NULL);

	c->p++;	/* opening quote */
	for (;;) {
		char ch = *c->p;
		if (ch == '\0') {
			g_string_free(s, TRUE);
			return NULL;
		}
		c->p++;
		if (ch == '"')
			break;
		if (ch == '\\' && *c->p) {
			ch = *c->p;
			c->p++;
		}
		if (ch == '\r' || ch == '\n')
			continue;	/* unfold */
		g_string_append_c(s, ch);
	}
	return g_string_free(s, FALSE);
}

/* tagging_bool - read a boolean word; 1, 0, or -1 if it is none */
static int tagging_bool(const char *v)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* tagging_keyword - the leading keyword: XB_TRACK, XB_NO, or XB_NONE if not one */
static enum xbeacon_mode tagging_keyword(const char *w)
{
	static const char *track[] = { "track", "yes", "on", "1" }, *no[] = { "no", "off", "none", "0" };

	for (size_t i = 0; i < G_N_ELEMENTS(track); i++) {
		if (strcasecmp(w, track[i]) == 0)
			return XB_TRACK;
		if (strcasecmp(w, no[i]) == 0)
			return XB_NO;
	}
	return XB_NONE;
}

/* tagging_campaign - decode, validate and cut a campaign name */
static char *tagging_campaign(const char *raw)
{
	char *dec = strstr(raw, "=?") ? g_mime_utils_header_decode_text(NULL, raw) : g_strdup(raw);
	char *valid = g_utf8_make_valid(dec, -1);
	const char *end;

	g_free(dec);
	if (strlen(valid) > XB_CAMPAIGN_MAX) {
		end = valid + XB_CAMPAIGN_MAX;
		/* back to a character boundary */
		while (end > valid && ((unsigned char)*end & 0xC0) == 0x80)
			end--;
		valid[end - valid] = '\0';
	}
	return valid;
}

/* tagging_fail - mark the header malformed: every parameter back to its default */
static int tagging_fail(struct xbeacon *xb, const char *why, char *key, char *val)
{
	enum xbeacon_mode mode = xb->mode == XB_NO ? XB_NO : XB_TRACK;

	g_free(key);
	g_free(val);
	xbeacon_clear(xb);
	xb->mode = mode;
	xb->malformed = 1;
	g_strlcpy(xb->why, why, sizeof(xb->why));
	return -1;
}

/* tagging_param - apply KEY=VAL; 0, or -1 on a bad value */
static int tagging_param(struct xbeacon *xb, const char *key, const char *val)
{
	int b;

	if (strcasecmp(key, "clicks") == 0 || strcasecmp(key, "notify") == 0 ||
	    strcasecmp(key, "unsubscribe") == 0) {
		if ((b = tagging_bool(val)) < 0)
			return -1;
		*(strcasecmp(key, "clicks") == 0 ? &xb->clicks :
		  strcasecmp(key, "notify") == 0 ? &xb->notify : &xb->unsubscribe) = b;
	} else if (strcasecmp(key, "campaign") == 0) {
		g_free(xb->campaign);
		xb->campaign = tagging_campaign(val);
	} else if (strcasecmp(key, "attachments") == 0) {
		if (strcasecmp(val, "link") == 0)
			xb->attachments = CFG_ATT_LINK;
		else if (strcasecmp(val, "keep") == 0)
			xb->attachments = CFG_ATT_KEEP;
		else
			return -1;
	} else {
		log_debug("tag header: unknown parameter '%s' ignored", key);
		xb->ignored++;
	}
	return 0;
}

/* xbeacon_parse - read the tag header */
int xbeacon_parse(const char *value, struct xbeacon *xb)
{
	struct tagging_cursor c;
	int first = 1;

	memset(xb, 0, sizeof(*xb));
	xb->clicks = xb->notify = xb->attachments = xb->unsubscribe = -1;
	if (!value)
		return 0;
	xb->mode = XB_TRACK;
	c.p = value;
	for (;;) {
		char *key = NULL, *val = NULL;

		tagging_skip_ws(&c);
		if (*c.p == '\0')
			break;
		if (*c.p == ';') {
			c.p++;
			first = 0;
			continue;
		}
		if (*c.p == '"')
			return tagging_fail(xb, "quoted string where a name belongs", NULL, NULL);
		key = tagging_word(&c);
		if (!key)
			return tagging_fail(xb, "parameter without a name", NULL, NULL);
		tagging_skip_ws(&c);
		if (*c.p != '=') {
			/* a bare word: the keyword if it comes first */
			enum xbeacon_mode k = first ? tagging_keyword(key) : XB_NONE;
			if (k != XB_NONE) {
				xb->mode = k;
			} else {
				log_debug("tag header: word '%s' ignored", key);
				xb->ignored++;
			}
			g_free(key);
		} else {
			c.p++;
			tagging_skip_ws(&c);
			val = *c.p == '"' ? tagging_quoted(&c) : tagging_word(&c);
			if (!val)
				return tagging_fail(xb, *c.p ? "bad value" : "unterminated value",
						    key, NULL);
			if (tagging_param(xb, key, val) < 0) {
				char why[80];
				snprintf(why, sizeof(why), "bad value for %.30s", key);
				return tagging_fail(xb, why, key, val);
			}
			g_free(key);
			g_free(val);
		}
		first = 0;
		tagging_skip_ws(&c);
		if (*c.p && *c.p != ';')
			return tagging_fail(xb, "missing ';'", NULL, NULL);
	}
	return 0;
}

/* xbeacon_clear - release the campaign, reset to "no header" */
void xbeacon_clear(struct xbeacon *xb)
{
	g_free(xb->campaign);
	memset(xb, 0, sizeof(*xb));
	xb->clicks = xb->notify = xb->attachments = xb->unsubscribe = -1;
}

/* tagging_rule_matches - does one rule (without '!') match the normalised SENDER (or NULL)? */
static int tagging_rule_matches(const char *rule, const char *sender, const char *sasl)
{
	char key[ADDRESS_SIZE];
	const char *dom = address_domain(sender);

	if (strncasecmp(rule, "sasl:", 5) == 0)
		return sasl && *sasl && strcasecmp(rule + 5, sasl) == 0;
	if (rule[0] == '@')
		return dom && address_norm_domain(rule + 1, key, sizeof(key), NULL) == 0 &&
		       strcmp(key, dom) == 0;
	return sender && address_norm(rule, key, sizeof(key), NULL) == 0 && strcmp(key, sender) == 0;
}

/* tagging_sender_rule - exceptions first, then the rules; addresses in their one form */
int tagging_sender_rule(const struct cfg_list *rules, const char *sender, const char *sasl_login)
{
	char key[ADDRESS_SIZE];
	const char *k = sender && address_norm(sender, key, sizeof(key), NULL) == 0 ? key : NULL;
	int hit = 0;

	for (size_t i = 0; rules && i < rules->n; i++) {
		const char *r = rules->v[i];
		if (r[0] == '!') {
			if (tagging_rule_matches(r + 1, k, sasl_login))
				return -1;
		} else if (!hit && tagging_rule_matches(r, k, sasl_login)) {
			hit = 1;
		}
	}
	return hit;
}

/* tagging_unsubscribe_rule - an exception says no; "*" or a rule that matches, yes */
int tagging_unsubscribe_rule(const struct cfg_list *rules, const char *sender,
			     const char *sasl_login)
{
	int rule = tagging_sender_rule(rules, sender, sasl_login);

	if (rule != 0)
		return rule > 0;
	for (size_t i = 0; rules && i < rules->n; i++)
		if (strcmp(rules->v[i], "*") == 0)
			return 1;
	return 0;
}

/* tagging_is_internal - exact domain, "@domain", or ".domain" for subdomains, in their one
 * form (address.h) */
int tagging_is_internal(const struct cfg_list *domains, const char *addr)
{
	char key[ADDRESS_SIZE], d[ADDRESS_SIZE];
	const char *dom;
	size_t dl;

	if (!addr || address_norm(addr, key, sizeof(key), NULL) < 0 ||
	    (dom = address_domain(key)) == NULL)
		return 0;
	dl = strlen(dom);
	for (size_t i = 0; domains && i < domains->n; i++) {
		const char *p = d;
		size_t l;
		if (address_norm_domain(domains->v[i], d, sizeof(d), NULL) < 0)
			continue;
		if (p[0] == '@')
			p++;
		if (p[0] == '.') {
			l = strlen(p);
			if (dl > l && strcmp(dom + dl - l, p) == 0)
				return 1;
		} else if (strcmp(dom, p) == 0) {
			return 1;
		}
	}
	return 0;
}

/* tagging_signed_type - S/MIME and PGP/MIME types that must not be touched */
int tagging_signed_type(const char *type, const char *subtype)
{
	if (!type || !subtype)
		return 0;
	if (strcasecmp(type, "multipart") == 0)
		return strcasecmp(subtype, "signed") == 0 || strcasecmp(subtype, "encrypted") == 0;
	if (strcasecmp(type, "application") == 0)
		return strcasecmp(subtype, "pkcs7-mime") == 0 ||
		       strcasecmp(subtype, "x-pkcs7-mime") == 0 ||
		       strcasecmp(subtype, "pkcs7-signature") == 0 ||
		       strcasecmp(subtype, "x-pkcs7-signature") == 0 ||
		       strcasecmp(subtype, "pgp-encrypted") == 0 ||
		       strcasecmp(subtype, "pgp-signature") == 0;
	return 0;
}

/* tagging_header_exclusion - DKIM-signed or signed/encrypted at the top */
const char *tagging_header_exclusion(const char *content_type, int has_dkim_signature)
{
	static const char *reasons[] = { "multipart/signed", "multipart/encrypted", "S/MIME or PGP" };
	GMimeContentType *ct;
	const char *why = NULL;

	if (has_dkim_signature)
		return "already DKIM-signed";
	/* every such subtype holds one of these words: a header without any is
	 * not parsed (most of them: a GMime parse costs 35 k instructions) */
	if (!content_type || (!strcasestr(content_type, "signed") &&
			      !strcasestr(content_type, "encrypted") &&
			      !strcasestr(content_type, "pkcs7") && !strcasestr(content_type, "pgp")))
		return NULL;
	ct = g_mime_content_type_parse(NULL, content_type);
	if (!ct)
		return NULL;
	if (tagging_signed_type(g_mime_content_type_get_media_type(ct),
				g_mime_content_type_get_media_subtype(ct))) {
		const char *sub = g_mime_content_type_get_media_subtype(ct);
		why = strcasecmp(sub, "signed") == 0 ? reasons[0] :
		      strcasecmp(sub, "encrypted") == 0 ? reasons[1] : reasons[2];
	}
	g_object_unref(ct);
	return why;
}

/* tagging_keep_urls - every <...> of a List-Unsubscribe value */
char **tagging_keep_urls(const char *value)
{
	GPtrArray *a = g_ptr_array_new();
	const char *p = value;

	while (p && (p = strchr(p, '<')) != NULL) {
		const char *e = strchr(p + 1, '>');
		if (!e)
			break;
		/* "<a <b>": the target is the innermost bracket pair */
		p = memrchr(p, '<', (size_t)(e - p));
		char *u = g_strndup(p + 1, (gsize)(e - p - 1));
		/* folded values may break inside the brackets */
		char *w = u, *r = u;
		for (; *r; r++)
			if (*r != '\r' && *r != '\n' && *r != ' ' && *r != '\t')
				*w++ = *r;
		*w = '\0';
		g_ptr_array_add(a, u);
		p = e + 1;
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}
