/*
 * html_scan.c - HTML tokenizer over byte spans, attribute walk, entities.
 *
 * DESCRIPTION
 *	The token boundaries follow the tokenization chapter of the HTML
 *	standard, reduced to what a rewriter needs to know: where each tag,
 *	comment, declaration and raw-text body begins and ends.  Text runs
 *	are found with memchr() on '<', comment ends with memchr() on '-',
 *	quoted attribute values with memchr() on the quote, so a document is
 *	read about once.  The scanner never allocates.
 *
 *	Where the standard and XHTML disagree the choice is the one that
 *	leaves more bytes alone: "<![CDATA[" runs to "]]>".
 */
#include <string.h>

#include "html_scan.h"

/* character classes, one table lookup per byte in the hot loops */
#define HC_WS		0x01	/* HTML whitespace */
#define HC_NAME_END	0x02	/* ends an attribute name: ws / > = */
#define HC_TAG_END	0x04	/* ends a tag name: ws / > */
#define HC_VAL_END	0x08	/* ends an unquoted value: ws > */

/* html_class - HC_* bits of each byte */
static const unsigned char html_class[256] = {
	['\t'] = HC_WS | HC_NAME_END | HC_TAG_END | HC_VAL_END,
	['\n'] = HC_WS | HC_NAME_END | HC_TAG_END | HC_VAL_END,
	['\f'] = HC_WS | HC_NAME_END | HC_TAG_END | HC_VAL_END,
	['\r'] = HC_WS | HC_NAME_END | HC_TAG_END | HC_VAL_END,
	[' '] = HC_WS | HC_NAME_END | HC_TAG_END | HC_VAL_END,
	['/'] = HC_NAME_END | HC_TAG_END,
	['>'] = HC_NAME_END | HC_TAG_END | HC_VAL_END,
	['='] = HC_NAME_END,
};

/* html_is - does byte C have class bits BITS? */
#define html_is(c, bits) (html_class[(unsigned char)(c)] & (bits))

/* html_is_ws - HTML whitespace (after newline normalisation) */
static int html_is_ws(unsigned char c)
{
	return html_is(c, HC_WS);
}

/* html_is_alpha - ASCII letter */
static int html_is_alpha(unsigned char c)
{
	c |= 0x20;
	return c >= 'a' && c <= 'z';
}

/* html_is_alnum - ASCII letter or digit */
static int html_is_alnum(unsigned char c)
{
	return html_is_alpha(c) || (c >= '0' && c <= '9');
}

/* html_lower - ASCII lower case */
static unsigned char html_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* html_name_is - ASCII case-insensitive compare with a lower-case name */
int html_name_is(const char *p, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (name[i] == '\0' || html_lower(p[i]) != (unsigned char)name[i])
			return 0;
	return name[len] == '\0';
}

/* html_raw_names - elements whose body is raw text (no tags inside) */
static const char *const html_raw_names[] = {
	"script", "style", "title", "textarea", "xmp", "iframe", "noembed",
	"noframes", "plaintext", NULL
};

/* html_scan_init - start scanning P[0..LEN) */
void html_scan_init(struct html_scan *s, const char *p, size_t len)
{
	s->p = p;
	s->len = len;
	s->pos = 0;
	s->raw_len = 0;
}

/* html_attr_begin - start a walk over the attributes from offset POS */
void html_attr_begin(struct html_attr_iter *it, const char *p, size_t len,
    size_t pos)
{
	it->p = p;
	it->len = len;
	it->pos = pos;
	it->close = len;
	it->self_closing = 0;
	it->broken = 0;
}

/* html_attr_step - the next attribute into A; 0 at the tag's end */
static inline __attribute__((always_inline)) int
html_attr_step(struct html_attr_iter *it, struct html_attr *a)
{
	const char *p = it->p, *q;
	size_t len = it->len, i = it->pos, after;

	for (;;) {
		a->lead = i;
		while (i < len && html_is_ws(p[i]))
			i++;
		if (i >= len)
			goto broken;
		if (p[i] == '>') {
			it->close = i;
			it->pos = i;
			return 0;
		}
		if (p[i] != '/')
			break;
		if (i + 1 < len && p[i + 1] == '>') {
			it->self_closing = 1;
			it->close = i + 1;
			it->pos = i + 1;
			return 0;
		}
		i++;
	}
	/* the name; a leading '=' belongs to it */
	a->name = i++;
	while (i < len && !html_is(p[i], HC_NAME_END))
		i++;
	a->name_len = i - a->name;
	a->end = i;
	a->has_value = 0;
	a->quote = 0;
	a->value = a->vstart = i;
	a->value_len = 0;
	after = i;
	while (i < len && html_is_ws(p[i]))
		i++;
	if (i >= len || p[i] != '=') {
		/* no value: the whitespace goes with the next attribute */
		it->pos = after;
		return 1;
	}
	i++;
	while (i < len && html_is_ws(p[i]))
		i++;
	if (i >= len)
		goto broken;
	a->has_value = 1;
	a->vstart = i;
	if (p[i] == '"' || p[i] == '\'') {
		a->quote = p[i];
		q = memchr(p + i + 1, p[i], len - i - 1);
		if (q == NULL)
			goto broken;
		a->value = i + 1;
		a->value_len = (size_t)(q - p) - a->value;
		i = (size_t)(q - p) + 1;
	} else {
		a->value = i;
		while (i < len && !html_is(p[i], HC_VAL_END))
			i++;
		a->value_len = i - a->value;
	}
	a->end = i;
	it->pos = i;
	return 1;
broken:
	it->broken = 1;
	it->pos = len;
	it->close = len;
	return 0;
}

/* html_attr_next - the next attribute into A; 0 at the tag's end */
int html_attr_next(struct html_attr_iter *it, struct html_attr *a)
{
	return html_attr_step(it, a);
}

/* html_tag_attr - the first attribute named NAME (lower case) of tag T */
int html_tag_attr(const char *p, size_t len, const struct html_token *t,
    const char *name, struct html_attr *a)
{
	struct html_attr_iter it;

	html_attr_begin(&it, p, t->end < len ? t->end : len, t->attrs);
	while (html_attr_next(&it, a))
		if (html_name_is(p + a->name, a->name_len, name))
			return 1;
	return 0;
}

/* html_until - a token of TYPE from T->start up to and including the
 * first '>' at or after FROM, or to the end (then open) */
static int html_until(struct html_scan *s, struct html_token *t,
    enum html_tok type, size_t from)
{
	const char *q = NULL;

	if (from < s->len)
		q = memchr(s->p + from, '>', s->len - from);
	t->type = type;
	if (q != NULL) {
		t->end = (size_t)(q - s->p) + 1;
	} else {
		t->end = s->len;
		t->open = 1;
	}
	s->pos = t->end;
	return 1;
}

/* html_scan_comment - "<!--" at T->start: up to "-->", "--!>", or the
 * abrupt "<!-->" and "<!--->" */
static int html_scan_comment(struct html_scan *s, struct html_token *t)
{
	const char *p = s->p, *q;
	size_t len = s->len, i = t->start + 4;

	t->type = HTML_TOK_COMMENT;
	if (i < len && p[i] == '>') {
		t->end = i + 1;
	} else if (i + 1 < len && p[i] == '-' && p[i + 1] == '>') {
		t->end = i + 2;
	} else {
		t->end = len;
		t->open = 1;
		while (i < len && (q = memchr(p + i, '-', len - i)) != NULL) {
			i = (size_t)(q - p);
			if (i + 2 < len && p[i + 1] == '-' && p[i + 2] == '>') {
				t->end = i + 3;
				t->open = 0;
				break;
			}
			if (i + 3 < len && p[i + 1] == '-' && p[i + 2] == '!' &&
			    p[i + 3] == '>') {
				t->end = i + 4;
				t->open = 0;
				break;
			}
			i++;
		}
	}
	s->pos = t->end;
	return 1;
}

/* html_scan_cdata - "<![CDATA[" at T->start: up to "]]>" */
static int html_scan_cdata(struct html_scan *s, struct html_token *t)
{
	const char *p = s->p, *q;
	size_t len = s->len, i = t->start + 9;

	t->type = HTML_TOK_CDATA;
	t->end = len;
	t->open = 1;
	while (i < len && (q = memchr(p + i, ']', len - i)) != NULL) {
		i = (size_t)(q - p);
		if (i + 2 < len && p[i + 1] == ']' && p[i + 2] == '>') {
			t->end = i + 3;
			t->open = 0;
			break;
		}
		i++;
	}
	s->pos = t->end;
	return 1;
}

/* html_scan_tag - a start or end tag whose name begins at NAME */
static int html_scan_tag(struct html_scan *s, struct html_token *t,
    enum html_tok type, size_t name)
{
	const char *p = s->p;
	size_t len = s->len, i = name, n;
	struct html_attr_iter it;
	struct html_attr a;

	while (i < len && !html_is(p[i], HC_TAG_END))
		i++;
	t->name = name;
	t->name_len = i - name;
	t->attrs = i;
	html_attr_begin(&it, p, len, i);
	while (html_attr_step(&it, &a))
		;
	if (it.broken) {
		t->type = HTML_TOK_BROKEN;
		t->end = len;
		s->pos = len;
		return 1;
	}
	t->type = type;
	t->end = it.close + 1;
	t->self_closing = it.self_closing;
	s->pos = t->end;
	if (type == HTML_TOK_START && t->name_len >= 3 &&
	    t->name_len < sizeof(s->raw) && memchr("sStTxXiInNpP", p[name], 12) != NULL) {
		for (n = 0; html_raw_names[n] != NULL; n++) {
			if (html_name_is(p + name, t->name_len, html_raw_names[n])) {
				memcpy(s->raw, html_raw_names[n], t->name_len + 1);
				s->raw_len = t->name_len;
				break;
			}
		}
	}
	return 1;
}

/* html_scan_raw - the body of a raw-text element, up to its end tag */
static int html_scan_raw(struct html_scan *s, struct html_token *t)
{
	const char *p = s->p, *q;
	size_t len = s->len, i = s->pos, n = s->raw_len, end = len;

	t->type = HTML_TOK_RAWTEXT;
	t->open = 1;
	if (!html_name_is(s->raw, n, "plaintext")) {
		while (i < len && (q = memchr(p + i, '<', len - i)) != NULL) {
			i = (size_t)(q - p);
			if (i + 2 + n < len && p[i + 1] == '/' &&
			    html_name_is(p + i + 2, n, s->raw) &&
			    (html_is_ws(p[i + 2 + n]) || p[i + 2 + n] == '/' ||
			    p[i + 2 + n] == '>')) {
				end = i;
				t->open = 0;
				break;
			}
			i++;
		}
	}
	s->raw_len = 0;
	t->end = end;
	s->pos = end;
	return 1;
}

/* html_markup_at - does the '<' at I open markup (not text)? */
static int html_markup_at(const char *p, size_t len, size_t i)
{
	unsigned char c;

	if (i + 1 >= len)
		return 0;
	c = p[i + 1];
	if (html_is_alpha(c) || c == '!' || c == '?')
		return 1;
	return c == '/' && i + 2 < len;
}

/* html_scan_markup - the markup that begins with the '<' at T->start */
static int html_scan_markup(struct html_scan *s, struct html_token *t)
{
	const char *p = s->p;
	size_t len = s->len, i = t->start;
	unsigned char c = p[i + 1];

	if (html_is_alpha(c))
		return html_scan_tag(s, t, HTML_TOK_START, i + 1);
	if (c == '/') {
		c = p[i + 2];
		if (html_is_alpha(c))
			return html_scan_tag(s, t, HTML_TOK_END, i + 2);
		return html_until(s, t, HTML_TOK_BOGUS, i + 2);
	}
	if (c == '?')
		return html_until(s, t, HTML_TOK_BOGUS, i + 1);
	/* "<!" */
	if (i + 3 < len && p[i + 2] == '-' && p[i + 3] == '-')
		return html_scan_comment(s, t);
	if (len - i >= 9 && memcmp(p + i, "<![CDATA[", 9) == 0)
		return html_scan_cdata(s, t);
	return html_until(s, t, HTML_TOK_DECL, i + 2);
}

/* html_scan_next - the next token into T; 0 at the end of the input */
int html_scan_next(struct html_scan *s, struct html_token *t)
{
	const char *p = s->p, *q;
	size_t len = s->len, i = s->pos;

	memset(t, 0, sizeof(*t));
	t->start = i;
	if (s->raw_len > 0) {
		html_scan_raw(s, t);
		if (t->end > t->start || t->open)
			return 1;
		memset(t, 0, sizeof(*t));
		t->start = i;
	}
	if (i >= len)
		return 0;
	if (p[i] == '<' && html_markup_at(p, len, i))
		return html_scan_markup(s, t);
	t->type = HTML_TOK_TEXT;
	t->end = len;
	for (i++; i < len && (q = memchr(p + i, '<', len - i)) != NULL; i++) {
		i = (size_t)(q - p);
		if (html_markup_at(p, len, i)) {
			t->end = i;
			break;
		}
	}
	s->pos = t->end;
	return 1;
}

/* html_entity - a named character reference */
struct html_entity {
	const char *name;	/* without '&' and ';' */
	unsigned char len;	/* its length */
	unsigned cp;		/* code point */
	int legacy;		/* may appear without ';' */
};

/* html_entities - the references mail HTML uses, and those that can
 * hide URL syntax (&colon; &sol; &quest; &equals; ...) */
static const struct html_entity html_entities[] = {
	{ "amp", 3, '&', 1 }, { "AMP", 3, '&', 1 }, { "lt", 2, '<', 1 },
	{ "LT", 2, '<', 1 }, { "gt", 2, '>', 1 }, { "GT", 2, '>', 1 },
	{ "quot", 4, '"', 1 }, { "QUOT", 4, '"', 1 }, { "apos", 4, '\'', 0 },
	{ "nbsp", 4, 0xa0, 1 }, { "copy", 4, 0xa9, 1 }, { "COPY", 4, 0xa9, 1 },
	{ "reg", 3, 0xae, 1 }, { "REG", 3, 0xae, 1 }, { "shy", 3, 0xad, 1 },
	{ "laquo", 5, 0xab, 1 }, { "raquo", 5, 0xbb, 1 }, { "middot", 6, 0xb7, 1 },
	{ "times", 5, 0xd7, 1 }, { "euro", 4, 0x20ac, 0 }, { "trade", 5, 0x2122, 0 },
	{ "hellip", 6, 0x2026, 0 }, { "ndash", 5, 0x2013, 0 },
	{ "mdash", 5, 0x2014, 0 }, { "lsquo", 5, 0x2018, 0 },
	{ "rsquo", 5, 0x2019, 0 }, { "ldquo", 5, 0x201c, 0 },
	{ "rdquo", 5, 0x201d, 0 }, { "bull", 4, 0x2022, 0 }, { "zwnj", 4, 0x200c, 0 },
	{ "zwj", 3, 0x200d, 0 }, { "ensp", 4, 0x2002, 0 }, { "emsp", 4, 0x2003, 0 },
	{ "thinsp", 6, 0x2009, 0 }, { "Tab", 3, '\t', 0 }, { "NewLine", 7, '\n', 0 },
	{ "excl", 4, '!', 0 }, { "num", 3, '#', 0 }, { "dollar", 6, '$', 0 },
	{ "percnt", 6, '%', 0 }, { "lpar", 4, '(', 0 }, { "rpar", 4, ')', 0 },
	{ "ast", 3, '*', 0 }, { "plus", 4, '+', 0 }, { "comma", 5, ',', 0 },
	{ "period", 6, '.', 0 }, { "sol", 3, '/', 0 }, { "colon", 5, ':', 0 },
	{ "semi", 4, ';', 0 }, { "equals", 6, '=', 0 }, { "quest", 5, '?', 0 },
	{ "commat", 6, '@', 0 }, { "lsqb", 4, '[', 0 }, { "bsol", 4, '\\', 0 },
	{ "rsqb", 4, ']', 0 }, { "lowbar", 6, '_', 0 }, { "grave", 5, '`', 0 },
	{ "lcub", 4, '{', 0 }, { "verbar", 6, '|', 0 }, { "rcub", 4, '}', 0 },
	{ NULL, 0, 0, 0 }
};

/* html_cp1252 - what numeric references 0x80..0x9f stand for */
static const unsigned short html_cp1252[32] = {
	0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178
};

/* html_hexval - value of a hex digit, or -1 */
static int html_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* html_numeric - "&#..." at P[*I]; the code point, or -1 (no digits) */
static long html_numeric(const char *p, size_t len, size_t *i)
{
	size_t j = *i + 2;
	int base = 10, d, digits = 0;
	unsigned long v = 0;

	if (j < len && (p[j] == 'x' || p[j] == 'X')) {
		base = 16;
		j++;
	}
	for (; j < len; j++) {
		d = html_hexval(p[j]);
		if (d < 0 || d >= base)
			break;
		if (v <= 0x10ffff)
			v = v * base + d;
		digits++;
	}
	if (digits == 0)
		return -1;
	if (j < len && p[j] == ';')
		j++;
	*i = j;
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0xfffd;
	if (v >= 0x80 && v <= 0x9f)
		return html_cp1252[v - 0x80];
	return (long)v;
}

/* html_named - "&name" at P[*I]; the code point, or -1 (not decoded) */
static long html_named(const char *p, size_t len, size_t *i, int in_attr)
{
	const struct html_entity *e, *best = NULL;
	size_t j = *i + 1, n, k, blen = 0;

	while (j < len && j - *i <= 32 && html_is_alnum(p[j]))
		j++;
	n = j - *i - 1;
	if (n == 0)
		return -1;
	if (j < len && p[j] == ';') {
		for (e = html_entities; e->name != NULL; e++) {
			if (e->len == n && memcmp(e->name, p + *i + 1, n) == 0) {
				*i = j + 1;
				return e->cp;
			}
		}
	}
	/* without ';': the longest legacy name that prefixes the run */
	for (e = html_entities; e->name != NULL; e++) {
		k = e->len;
		if (e->legacy && k <= n && k > blen &&
		    memcmp(e->name, p + *i + 1, k) == 0) {
			best = e;
			blen = k;
		}
	}
	if (best == NULL)
		return -1;
	k = *i + 1 + blen;
	if (in_attr && k < len && (html_is_alnum(p[k]) || p[k] == '='))
		return -1;
	*i = k;
	return best->cp;
}

/* html_decode_char - decode one character at P[*I]: an entity's code
 * point, or -1 for a plain byte (in *BYTE); advances *I */
long html_decode_char(const char *p, size_t len, size_t *i, int in_attr,
    unsigned char *byte)
{
	long cp = -1;

	*byte = p[*i];
	if (p[*i] == '&' && *i + 1 < len) {
		if (p[*i + 1] == '#')
			cp = html_numeric(p, len, i);
		else
			cp = html_named(p, len, i, in_attr);
		if (cp >= 0)
			return cp;
	}
	(*i)++;
	return -1;
}

/* html_put_utf8 - append code point CP as UTF-8 */
void html_put_utf8(GString *out, unsigned long cp)
{
	char buf[6];

	g_string_append_len(out, buf, g_unichar_to_utf8((gunichar)cp, buf));
}

/* html_decode - append P[0..LEN) entity-decoded to OUT */
void html_decode(GString *out, const char *p, size_t len, int in_attr)
{
	const char *q;
	size_t i = 0, j;
	unsigned char b;
	long cp;

	while (i < len) {
		q = memchr(p + i, '&', len - i);
		j = q != NULL ? (size_t)(q - p) : len;
		g_string_append_len(out, p + i, j - i);
		i = j;
		if (i >= len)
			break;
		cp = html_decode_char(p, len, &i, in_attr, &b);
		if (cp >= 0)
			html_put_utf8(out, cp);
		else
			g_string_append_c(out, b);
	}
}
