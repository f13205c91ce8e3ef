/*
 * NAME
 *	plain2html.h - give a text-only message an HTML twin (plain_to_html)
 *
 * SYNOPSIS
 *	char why[128];
 *	struct plain2html *p = plain2html_convert(msg, why, sizeof(why));
 *	... mime_doc_parse(p->text, p->body_off, ...) finds the HTML part ...
 *	plain2html_free(p);
 *
 * DESCRIPTION
 *	A message whose top-level type is text/plain (or that has no
 *	Content-Type) becomes multipart/alternative: the first part is the
 *	original text, its Content-Type and Content-Transfer-Encoding moved
 *	into the part and its body bytes kept as they are; the second is
 *	text/html in UTF-8, quoted-printable.  The HTML holds the text
 *	decoded (base64 and quoted-printable undone, the charset converted
 *	to UTF-8, format=flowed lines joined), with & < > " escaped, every
 *	line break kept as <br>, runs of blanks kept with &nbsp;, and every
 *	http:// and https:// URL made a link.  The caller then treats it as
 *	any HTML part: the pixel goes before </body>, the links become click
 *	URLs.
 *
 *	The top-level header changes the MTA must apply are returned beside
 *	the new message: the new Content-Type, the top-level
 *	Content-Transfer-Encoding (8bit when the text was 8bit or binary,
 *	else removed) and MIME-Version when it was missing.
 *
 * DIAGNOSTICS
 *	plain2html_convert() returns NULL with a reason in WHY when the
 *	message is not text-only (another top-level type, an attachment) or
 *	its text is in a transfer encoding it does not know.
 */
#ifndef BEACON_PLAIN2HTML_H
#define BEACON_PLAIN2HTML_H

#include <stddef.h>

#include <glib.h>

#include "msgctx.h"

/* plain2html - the converted message */
struct plain2html {
	GByteArray *text;	/* header block, blank line, new body */
	size_t body_off;	/* where the body starts in text */
	char *content_type;	/* new top-level Content-Type value */
	char *cte;		/* new top-level Content-Transfer-Encoding, NULL: remove it */
	int add_mime_version;	/* MIME-Version: 1.0 must be added */
};

/* plain2html_convert - M as multipart/alternative with an HTML twin; NULL with WHY */
struct plain2html *plain2html_convert(const struct msg_ctx *m, char *why, size_t whylen);
/* plain2html_free - release a conversion (NULL is fine) */
void plain2html_free(struct plain2html *p);
/* plain2html_html - the HTML document for UTF-8 TEXT[0..LEN); FLOWED/DELSP: RFC 3676 */
GString *plain2html_html(const char *text, size_t len, int flowed, int delsp);

#endif
