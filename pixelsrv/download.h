/*
 * NAME
 *	download.h - serving a stored attachment: manifest, Range, headers
 *
 * SYNOPSIS
 *	n = download_parse_n(rt.n, rt.n_len);
 *	st = download_open(attachment_dir, tok.rid, n, &e, &fd, why, sizeof(why));
 *	r = download_response(fd, &e, range, if_range, &status, &bytes);
 *
 * DESCRIPTION
 *	beacon-milter keeps each attachment it takes out of a message once,
 *	by content, in attachment_dir, and one manifest per recipient:
 *
 *	    <dir>/<aa>/<sha256hex>	the content (aa: its first two hex digits)
 *	    <dir>/t/<rid-hex>		lines "n TAB sha256hex TAB size TAB
 *					expires_unix TAB content-type TAB filename"
 *
 *	(rid-hex: the token's recipient id, 32 lower-case hex digits; the
 *	filename percent-encoded UTF-8).  download_open() opens the manifest
 *	of RID (O_NOFOLLOW, a regular file of at most DOWNLOAD_MANIFEST_MAX
 *	bytes, read whole), takes the first well-formed line whose number is
 *	N (a line that breaks a rule below is skipped), then opens its blob
 *	(O_NOFOLLOW, a regular file whose size is the manifest's).  No part
 *	of either path comes from the request but the verified recipient id
 *	and N.  A line is well-formed when it has exactly six fields and
 *	    n        decimal 1..999999, no leading zero
 *	    sha256   64 lower-case hex digits
 *	    size     decimal, at most 2^53, no leading zero
 *	    expires  decimal unix seconds (0: no expiry of its own)
 *	    type     1..DOWNLOAD_TYPE_MAX printable ASCII bytes, or empty;
 *	             anything else reads as empty (application/octet-stream)
 *	    filename percent-encoded bytes (every '%' followed by two hex
 *	             digits), at most DOWNLOAD_NAME_MAX bytes decoded; decoded
 *	             it must be valid UTF-8, else the name is dropped
 *	             ("attachment-<n>" is served).  Control characters (C0,
 *	             DEL, C1), bidirectional overrides, '/' and '\' become
 *	             '_'.
 *
 *	download_range() reads a Range header (RFC 9110 14.2) against SIZE:
 *	one range "bytes=a-b", "bytes=a-" or "bytes=-n" (unit in any case,
 *	blanks around the range) is DOWNLOAD_PART with the first byte and
 *	length, clamped to the file; one that starts at or after the end
 *	(or "-0", or any range of an empty file) is DOWNLOAD_UNSATISFIABLE;
 *	no header, another unit, a malformed one, or several ranges is
 *	DOWNLOAD_WHOLE (the whole file, 200).  Numbers saturate: no
 *	overflow, whatever their length.
 *
 *	download_type() is the Content-Type to send: the manifest's, unless
 *	it is empty or active content a browser would run or render in the
 *	server's origin (a subtype naming html, svg, script, xsl or flash;
 *	xml, xml-... and ...+xml; text/css, text/cache-manifest; every
 *	multipart and message type) or not a well-formed type/subtype -- then
 *	application/octet-stream.
 *	download_disposition() writes "attachment; filename="<ascii>";
 *	filename*=UTF-8''<pct>" (RFC 6266, RFC 8187): the ASCII fallback
 *	with every non-ASCII character, quote, backslash, percent and
 *	control character as '_'.
 *
 *	download_response() builds the libmicrohttpd response: the file
 *	descriptor itself (sendfile; the file is never read into memory)
 *	for the whole file (200) or the range (206, Content-Range), or a
 *	short 416 whose Content-Range gives only the size; the headers
 *	Content-Type, Content-Disposition, X-Content-Type-Options: nosniff,
 *	Accept-Ranges: bytes, ETag (the content's SHA-256: If-Range with
 *	another value gets the whole file), Cache-Control: private,
 *	no-store, a sandboxing Content-Security-Policy and Referrer-Policy;
 *	Content-Length is libmicrohttpd's.  It takes FD in every case.
 *
 *	download_conn_budget() shares the open-file limit NOFILE: RESERVE
 *	descriptors are kept aside, each allowed download (DL_LIMIT; 0: no
 *	limit, any connection may be one) holds a second descriptor (its
 *	file) besides its connection's; it returns the most connections
 *	each of NLISTEN listeners may take (at least 1).
 *
 *	download_log_due() rate-limits a log line: true (and *LAST set to
 *	NOW) when PERIOD seconds have passed since *LAST, false otherwise;
 *	threads race on *LAST with a compare-and-swap, one of them wins.
 *
 *	download_store_check() is the start-up check of the store: 0 when
 *	DIR/t (or DIR, while t does not exist) is a directory the process
 *	may list and search, 1 when DIR does not exist (yet), -1 with the
 *	reason in WHY when it exists but cannot be read.
 */
#ifndef BEACON_DOWNLOAD_H
#define BEACON_DOWNLOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "attach_format.h"
#include "token.h"

#define DOWNLOAD_MANIFEST_MAX ATTACH_MANIFEST_MAX	/* largest manifest read (attach_format.h) */
#define DOWNLOAD_N_MAX 999999u			/* largest attachment number */
#define DOWNLOAD_NAME_MAX 255			/* filename bytes (decoded) */
#define DOWNLOAD_TYPE_MAX 127			/* content-type bytes */
#define DOWNLOAD_SIZE_MAX (1ULL << 53)		/* largest size in a manifest */
/* "attachment; filename=\"...\"; filename*=UTF-8''..." of the longest name */
#define DOWNLOAD_DISP_MAX (64 + DOWNLOAD_NAME_MAX + 3 * DOWNLOAD_NAME_MAX)
#define DOWNLOAD_OCTET "application/octet-stream"

/* download_entry - one manifest line */
struct download_entry {
	unsigned n;				/* attachment number */
	char sha256[65];			/* content hash, lower-case hex */
	uint64_t size;				/* bytes */
	uint64_t expires;			/* unix seconds, 0: none */
	char type[DOWNLOAD_TYPE_MAX + 1];	/* Content-Type as stored, "" if unusable */
	char name[DOWNLOAD_NAME_MAX + 1];	/* decoded, sanitised UTF-8, "" if none */
};

/* download_range_kind - what a Range header asks for */
enum download_range_kind {
	DOWNLOAD_WHOLE,			/* no usable Range: 200, the whole file */
	DOWNLOAD_PART,			/* one satisfiable range: 206 */
	DOWNLOAD_UNSATISFIABLE,		/* 416 */
};

/* download_status - what download_open() found */
enum download_status {
	DOWNLOAD_FOUND,			/* *FD is the blob */
	DOWNLOAD_NO_MANIFEST,		/* no manifest for the recipient (or unreadable) */
	DOWNLOAD_NO_ENTRY,		/* the manifest has no usable line N */
	DOWNLOAD_NO_BLOB,		/* the blob is missing or not a regular file */
	DOWNLOAD_BAD_SIZE,		/* the blob's size is not the manifest's */
};

struct MHD_Response;

/* download_parse_n - attachment number S[0..LEN): 1..DOWNLOAD_N_MAX, no leading zero; 0 if not */
unsigned download_parse_n(const char *s, size_t len);
/* download_range - Range header HDR (may be NULL) against SIZE into *FIRST, *LEN */
enum download_range_kind download_range(const char *hdr, uint64_t size, uint64_t *first,
    uint64_t *len);
/* download_manifest_find - the first well-formed line numbered N of BUF[0..LEN) into *E; 0 or -1 */
int download_manifest_find(const char *buf, size_t len, unsigned n, struct download_entry *e);
/* download_type - the Content-Type to send for a manifest's TYPE */
const char *download_type(const char *type);
/* download_disposition - the Content-Disposition of NAME ("" : attachment-N) into OUT
 * (DOWNLOAD_DISP_MAX bytes); its length */
size_t download_disposition(const char *name, unsigned n, char *out, size_t cap);
/* download_open - the blob of attachment N of recipient RID under DIR into *E and *FD;
 * DOWNLOAD_FOUND, or why not with a line for the log in WHY */
enum download_status download_open(const char *dir, const uint8_t rid[TOKEN_RID_LEN], unsigned n,
    struct download_entry *e, int *fd, char *why, size_t whylen);
/* download_response - the response for FD (taken in every case) holding E; RANGE and IF_RANGE
 * the request's headers (NULL: none; a HEAD passes NULL); *STATUS, *BYTES: its status and
 * body bytes; NULL when out of memory */
struct MHD_Response *download_response(int fd, const struct download_entry *e, const char *range,
    const char *if_range, unsigned *status, uint64_t *bytes);

/* download_conn_budget - connections per listener that NOFILE descriptors hold (see above) */
unsigned download_conn_budget(uint64_t nofile, unsigned reserve, unsigned dl_limit,
    unsigned nlisten);
/* download_log_due - has PERIOD passed since *LAST?  If so *LAST = NOW */
int download_log_due(_Atomic int64_t *last, int64_t now, int64_t period);
/* download_store_check - can the store DIR be read?  0, 1 (absent) or -1 + WHY */
int download_store_check(const char *dir, char *why, size_t whylen);

/* the page of an expired link (410): static, nothing from the request */
extern const char download_page_gone[];

#endif
