/*
 * NAME
 *	mime_rewrite.h - find the text/html parts of a message and rewrite
 *	them in place, leaving every other byte as it came
 *
 * SYNOPSIS
 *	char why[128];
 *	struct mime_doc *d = mime_doc_parse(text, body_off, why, sizeof(why));
 *	if (d && mime_doc_has_placeholder(d, url)) ...
 *	struct mime_render r;
 *	if (mime_doc_render(d, &opts, &r, why, sizeof(why)) == 0)
 *		... r.body is the new body, r.top_cte a header change or NULL ...
 *	mime_render_clear(&r);
 *	mime_doc_free(d);
 *
 * DESCRIPTION
 *	mime_doc_parse() reads the whole message TEXT (header block, blank
 *	line, body from BODY_OFF) with GMime, only to locate things: the byte
 *	span of the encoded content of every text/html part that is not an
 *	attachment, wherever it sits in the multipart tree (HTML inside an
 *	attached message/rfc822 is left alone), its Content-Transfer-Encoding
 *	and charset, and the decoded HTML.  It also takes the Subject, the
 *	Message-ID and the display names of To/Cc for the database, the
 *	text/plain parts that are not attachments (located the same way; one
 *	in an encoding or charset that cannot be rewritten is left out, not a
 *	reason to leave the message alone), the candidate attachments and the
 *	cid: URLs of the HTML (attach.h).
 *
 *	mime_doc_render() runs html_rewrite() on each located part and
 *	splices the re-encoded result into a copy of the body: base64 and
 *	quoted-printable parts are encoded again the same way; 7bit, 8bit
 *	and binary parts keep their bytes, and a line the rewrite made longer
 *	than 998 octets is broken before a blank (the break is white space to
 *	HTML).  Only a line with no blank to break at turns that part into
 *	quoted-printable, its Content-Transfer-Encoding header rewritten in
 *	the part (or, for a single-part message, reported in top_cte for the
 *	caller to change).  The line ending of each part (CRLF or LF) is
 *	kept, and so is whether its content ended with one.  Charsets are
 *	kept: the HTML is rewritten as bytes, which is exact for every
 *	charset that keeps ASCII as ASCII; link URLs holding other bytes are
 *	converted from the part's charset to UTF-8 and percent-encoded before
 *	the link callback sees them.
 *
 *	After attach_plan() took attachments out, mime_doc_render() also cuts
 *	those parts (attach.h says which bytes), inserts o->download_html in
 *	each HTML part (html_rewrite.h) and appends o->download_text to each
 *	text/plain part after an empty line, converted to the part's charset
 *	(characters it lacks become '?') and line ending; a 7bit part that
 *	then holds 8-bit octets becomes quoted-printable.
 *
 * DIAGNOSTICS
 *	Both return NULL / -1 with a reason in WHY, and the caller passes the
 *	message untouched: the message cannot be parsed; a part is signed or
 *	encrypted (multipart/signed, multipart/encrypted, S/MIME, PGP/MIME,
 *	inline PGP); an HTML part has an encoding other than 7bit, 8bit,
 *	binary, base64 or quoted-printable, or a charset that is not
 *	ASCII-compatible (UTF-16, UTF-32, UTF-7); html_rewrite() failed.
 */
#ifndef BEACON_MIME_REWRITE_H
#define BEACON_MIME_REWRITE_H

#include <stddef.h>

#include <glib.h>

#include "html_rewrite.h"

#define MIME_LINE_MAX 998	/* octets per line, without the line ending (RFC 5322) */

/* mime_html - one text/html part that will be rewritten */
struct mime_html {
	size_t start, end;	/* encoded content span, body offsets */
	int top;		/* the part is the message itself (no part headers in the body) */
	size_t hdr_start;	/* first byte of the part's headers (body offset) */
	size_t cte_start, cte_end;	/* its Content-Transfer-Encoding line incl. the line end;
					 * cte_start == cte_end: no such header */
	int enc;		/* GMimeContentEncoding of the content */
	char *charset;		/* charset parameter, or NULL */
	const char *eol;	/* "\r\n" or "\n", as the part uses */
	int ends_eol;		/* the span ends with a line ending */
	GByteArray *html;	/* decoded content */
};

/* mime_doc - what mime_doc_parse found */
struct mime_doc {
	const GByteArray *text;	/* the message (not owned) */
	size_t body_off;	/* where its body starts */
	GPtrArray *parts;	/* struct mime_html *, in body order */
	char *subject;		/* decoded Subject (UTF-8), or NULL */
	char *message_id;	/* Message-ID without <>, or NULL */
	GHashTable *names;	/* address in its one form (address.h) -> display name, To and Cc */
	GPtrArray *texts;	/* struct mime_html *: the text/plain parts that are no attachment */
	GPtrArray *atts;	/* struct mime_att * (attach.h): candidate attachments, body order */
	GArray *containers;	/* struct mime_container (attach.h): the multiparts, walk order */
	GPtrArray *cids;	/* char *: cid: URLs the HTML parts name */
	int ntaken;		/* attachments attach_plan() took out */
};

/* mime_render - a rewritten body */
struct mime_render {
	GByteArray *body;	/* the new body */
	char *top_cte;		/* new Content-Transfer-Encoding of the message, or NULL */
	struct html_rewrite_stats st;	/* summed over the parts */
};

/* mime_doc_parse - locate the HTML parts of TEXT; NULL with WHY if it must stay untouched */
struct mime_doc *mime_doc_parse(const GByteArray *text, size_t body_off, char *why, size_t whylen);
#define MIME_PARSE_TEXTS 1	/* mime_doc_parse_with: locate the text/plain parts too */
/* mime_doc_parse_with - the same; the text/plain parts (doc->texts) only with MIME_PARSE_TEXTS,
 * which attachments = link needs and mime_doc_parse() sets */
struct mime_doc *mime_doc_parse_with(const GByteArray *text, size_t body_off, int flags,
				     char *why, size_t whylen);
/* mime_doc_free - release a parsed message */
void mime_doc_free(struct mime_doc *d);
/* mime_doc_has_placeholder - does any HTML part hold the placeholder <img>? */
int mime_doc_has_placeholder(const struct mime_doc *d, const char *url);
/* mime_doc_render - rewrite every HTML part with O into R; 0, or -1 with WHY */
int mime_doc_render(const struct mime_doc *d, const struct html_rewrite_opts *o,
		    struct mime_render *r, char *why, size_t whylen);
/* mime_render_clear - release a rendered body */
void mime_render_clear(struct mime_render *r);

/* mime_fold_lines - break lines over MAX octets before a blank (the first line
 * after COL octets already on it); 0, or -1 if one cannot be */
int mime_fold_lines(GString *s, const char *eol, size_t max, size_t col);
/* mime_url_normalize - URL as UTF-8 with non-ASCII, blanks and controls %-encoded; malloc'd */
char *mime_url_normalize(const char *url, const char *charset);

#endif
