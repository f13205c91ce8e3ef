/*
 * html_scan.h - an HTML tokenizer over byte spans.
 *
 * SYNOPSIS
 *	struct html_scan s;
 *	struct html_token t;
 *	html_scan_init(&s, buf, len);
 *	while (html_scan_next(&s, &t)) { ... buf[t.start .. t.end) ... }
 *
 *	struct html_attr_iter it;
 *	struct html_attr a;
 *	html_attr_begin(&it, buf, len, t.attrs);
 *	while (html_attr_next(&it, &a)) { ... }
 *
 * DESCRIPTION
 *	The scanner cuts a document into tokens that cover every byte once
 *	and in order: text, start and end tags, comments (conditional
 *	comments included), markup declarations (<!DOCTYPE>, <![if ...]>),
 *	CDATA sections, processing instructions and bogus comments, the raw
 *	bodies of script, style, title, textarea, xmp, iframe, noembed,
 *	noframes and plaintext, and a construct left open at the end of the
 *	input.  It follows the HTML tokenizer's rules for where each
 *	construct ends (quotes in attributes, "-->" and "--!>", "<!-->",
 *	the end tag of a raw-text element) and never decodes or copies:
 *	tokens are offsets into the caller's buffer, which may hold any
 *	bytes, NUL included.  Charsets are not interpreted; the document
 *	must be in an ASCII-compatible charset.
 *
 *	Attributes of a tag are read with html_attr_next(), one at a time,
 *	as name, value and the spans around them (the whitespace before the
 *	name, the quotes), so a caller can replace or cut exactly one.
 *
 *	html_decode() appends the entity-decoded form of a span (named
 *	entities of the common set, decimal and hex references), following
 *	the attribute-value rule for references without a semicolon.
 *
 *	Every function is linear in the bytes it looks at and reads nothing
 *	outside [0, len).
 */
#ifndef BEACON_HTML_SCAN_H
#define BEACON_HTML_SCAN_H

#include <stddef.h>

#include <glib.h>

/* html_tok - kinds of token */
enum html_tok {
	HTML_TOK_TEXT = 1,	/* character data, entities not decoded */
	HTML_TOK_START,		/* <name ...> */
	HTML_TOK_END,		/* </name ...> */
	HTML_TOK_COMMENT,	/* <!-- ... --> */
	HTML_TOK_DECL,		/* <!DOCTYPE ...>, <![if ...]>, other <!...> */
	HTML_TOK_CDATA,		/* <![CDATA[ ... ]]> */
	HTML_TOK_BOGUS,		/* <?...>, </ not followed by a letter */
	HTML_TOK_RAWTEXT,	/* body of a raw-text element (no tags inside) */
	HTML_TOK_BROKEN,	/* a tag cut off by the end of the input */
};

/* html_token - one token: byte offsets into the scanned buffer */
struct html_token {
	enum html_tok type;	/* what it is */
	size_t start;		/* first byte */
	size_t end;		/* one past the last byte */
	size_t name;		/* START/END: tag name */
	size_t name_len;	/* its length (0 for other kinds) */
	size_t attrs;		/* START/END: where the attribute list starts */
	int self_closing;	/* START: ends in "/>" */
	int open;		/* COMMENT/DECL/CDATA/BOGUS/RAWTEXT: no end before EOF */
};

/* html_scan - tokenizer state */
struct html_scan {
	const char *p;		/* the document */
	size_t len;		/* its length */
	size_t pos;		/* next byte to look at */
	char raw[12];		/* pending raw-text element name (lower case) */
	size_t raw_len;		/* its length; 0: in data */
};

/* html_attr - one attribute of a tag */
struct html_attr {
	size_t lead;		/* start of the whitespace before the name */
	size_t name;		/* name */
	size_t name_len;	/* its length */
	size_t value;		/* value, without quotes */
	size_t value_len;	/* its length */
	size_t vstart;		/* value with its quotes: first byte */
	size_t end;		/* one past the attribute (closing quote included) */
	char quote;		/* '"', '\'' or 0 (unquoted or no value) */
	int has_value;		/* 0: no "=" */
};

/* html_attr_iter - state of a walk over the attributes of one tag */
struct html_attr_iter {
	const char *p;		/* the document */
	size_t len;		/* its length */
	size_t pos;		/* next byte to look at */
	size_t close;		/* after the walk: offset of the closing '>' */
	int self_closing;	/* after the walk: tag ended in "/>" */
	int broken;		/* after the walk: input ended inside the tag */
};

/* html_scan_init - start scanning P[0..LEN) */
void html_scan_init(struct html_scan *s, const char *p, size_t len);

/* html_scan_next - the next token into T; 0 at the end of the input */
int html_scan_next(struct html_scan *s, struct html_token *t);

/* html_attr_begin - start a walk over the attributes from offset POS */
void html_attr_begin(struct html_attr_iter *it, const char *p, size_t len,
    size_t pos);

/* html_attr_next - the next attribute into A; 0 at the tag's end */
int html_attr_next(struct html_attr_iter *it, struct html_attr *a);

/* html_tag_attr - the first attribute named NAME (lower case) of tag T */
int html_tag_attr(const char *p, size_t len, const struct html_token *t,
    const char *name, struct html_attr *a);

/* html_name_is - do the LEN bytes at P equal NAME (lower case), ASCII
 * case-insensitively? */
int html_name_is(const char *p, size_t len, const char *name);

/* html_decode - append P[0..LEN) entity-decoded to OUT; IN_ATTR: apply
 * the attribute-value rule for named references without ';' */
void html_decode(GString *out, const char *p, size_t len, int in_attr);

/* html_decode_char - decode one character at P[*I] (P of LEN bytes), an
 * entity or a byte; returns the code point of an entity or -1 for a plain
 * byte (then *BYTE holds it); advances *I */
long html_decode_char(const char *p, size_t len, size_t *i, int in_attr,
    unsigned char *byte);

/* html_put_utf8 - append code point CP as UTF-8 */
void html_put_utf8(GString *out, unsigned long cp);

#endif
