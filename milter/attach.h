/*
 * NAME
 *	attach.h - which parts of a message are attachments to turn into
 *	download links, and what each recipient sees in their place
 *
 * SYNOPSIS
 *	struct mime_doc *d = mime_doc_parse(...);	(fills d->atts)
 *	int n = attach_plan(d, min_size);		(decides, decodes, hashes)
 *	char *html = attach_html(d, keys, base_url, token, expiry);
 *	char *text = attach_text(d, keys, base_url, token, expiry);
 *
 * DESCRIPTION
 *	mime_doc_parse() calls attach_consider() for every part it walks.
 *	A part is a candidate when it is not a multipart and
 *	- its Content-Disposition is "attachment" (or another value but
 *	  "inline": RFC 2183 treats an unknown one as attachment), or
 *	- it has no Content-Disposition and its type is neither text nor
 *	  message (a bare application/pdf, an image without disposition),
 *	and it is not a text/html or text/plain part mime_parse rewrites
 *	(attach_body_text: no disposition "attachment"), and its
 *	Content-Transfer-Encoding is 7bit, 8bit, binary, base64 or
 *	quoted-printable (absent: 7bit); an x-uuencode part, or one in an
 *	unknown encoding, stays in the message.
 *	The parse fails before any candidate counts when the message holds a
 *	signed or encrypted part: such a message keeps its attachments.
 *
 *	attach_plan() then keeps in the message every candidate whose
 *	Content-ID the HTML names with a cid: URL (an inline image), and
 *	every one that decodes to fewer than MIN_SIZE octets; the rest are
 *	taken: numbered 1.. in body order, decoded, hashed (SHA-256).  When
 *	every part of a nested multipart would be taken, that multipart goes
 *	as a whole (a multipart with no part is not valid MIME).
 *
 *	A part's span to cut runs from the start of its delimiter line to the
 *	start of the next delimiter line, so the bytes around it, CRLF
 *	included, stay as they are.  A part whose delimiter lines cannot be
 *	found exactly stays in the message.
 *
 *	The names shown come from the message (filename, or the type's
 *	name parameter), decoded by GMime (RFC 2231, RFC 2047) and
 *	sanitised: the last path component only, valid UTF-8, no control
 *	characters, at most ATTACH_NAME_MAX octets, never empty
 *	("attachment-N").  The content type is "type/subtype" in lower case
 *	when both are RFC 2045 tokens, else application/octet-stream.
 *
 *	attach_html() is the download block for one recipient: per taken
 *	part its name (HTML-escaped, non-ASCII as character references, so
 *	the block is ASCII whatever the part's charset), size, type and a
 *	table-based button with a solid background (bgcolor and inline
 *	styles: drawn by Outlook's Word renderer, legible when a client
 *	inverts colours for dark mode) linking to the recipient's signed
 *	download URL, and the date the link stops working.  attach_text() is
 *	one line per taken part for the text/plain parts:
 *	"Download NAME (SIZE): URL".
 */
#ifndef BEACON_ATTACH_H
#define BEACON_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "token.h"

#define ATTACH_NAME_MAX 200	/* octets of a shown file name */

struct mime_doc;

/* mime_att - one candidate attachment part */
struct mime_att {
	size_t cut_start, cut_end;	/* the part with its delimiter line (body offsets) */
	size_t data_start, data_end;	/* its encoded content (body offsets) */
	int enc;			/* GMimeContentEncoding of the content */
	char *name;			/* sanitised file name (UTF-8) */
	char *ctype;			/* type/subtype, lower case */
	char *cid;			/* Content-ID without <>, or NULL */
	int container;			/* index in doc->containers of its multipart */
	int taken;			/* attach_plan: moved out of the message */
	int n;				/* its number in the download URLs (taken ones), 1.. */
	GByteArray *data;		/* decoded content (taken ones) */
	char sha256[65];		/* hex SHA-256 of data (taken ones) */
};

/* mime_container - one multipart of the message */
struct mime_container {
	size_t cut_start, cut_end;	/* its own span as a part of its parent, if any */
	int parent;			/* index of the multipart holding it, -1 for the top */
	int children;			/* how many parts it has */
	int located;			/* cut_* are known */
	int taken;			/* every part it has is taken: it goes as a whole */
};

/* attach_consider - mime_parse's hook: record PART (a GMimeObject) of PARENT if it is a
 * candidate, or a multipart as a container */
void attach_consider(struct mime_doc *d, void *parent, void *part, GHashTable *index);
/* attach_body_text - is PART (a GMimeObject) a text/html or text/plain leaf whose
 * Content-Disposition is not "attachment": a part mime_parse rewrites, never a candidate */
int attach_body_text(void *part);
/* attach_cids - collect the cid: references of HTML[0..LEN) into CIDS (g_free'd strings) */
void attach_cids(GPtrArray *cids, const guint8 *html, size_t len);
/* attach_plan - decide which candidates are taken; how many (their data decoded, hashed) */
int attach_plan(struct mime_doc *d, long long min_size);
/* attach_free - GDestroyNotify for struct mime_att */
void attach_free(gpointer p);

/* attach_size_str - SIZE for people ("512 bytes", "12.4 KB", "3.0 MB"), g_free'd */
char *attach_size_str(long long size);
/* attach_html - the download block of TOKEN for every taken part (ASCII), g_free'd; NULL
 * if a URL cannot be signed */
char *attach_html(const struct mime_doc *d, const struct token_keys *keys, const char *base_url,
		  const char *token, uint64_t expiry);
/* attach_text - one line per taken part, UTF-8, each ending in "\n" (mime_doc_render converts
 * them to each text part's charset and line ending), g_free'd; NULL if a URL cannot be signed */
char *attach_text(const struct mime_doc *d, const struct token_keys *keys, const char *base_url,
		  const char *token, uint64_t expiry);

#endif
