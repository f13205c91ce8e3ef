/*
 * NAME
 *	download.c - a stored attachment: its manifest line, Range, headers, response
 *
 * DESCRIPTION
 *	See download.h.  Everything but download_open() and
 *	download_response() is a pure function of its arguments, so the
 *	unit tests and the fuzz target reach every rule.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "download.h"

const char download_page_gone[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>Link expired</title></head>\n"
	"<body style=\"font-family: sans-serif; max-width: 36em; margin: 3em auto; padding: 0 1em\">\n"
	"<h1>This download link has expired</h1>\n"
	"<p>The file is no longer available from this link. If you still need it, "
	"please ask the sender to send it again.</p>\n</body></html>\n";

/* dl_digits - decimal S[0..LEN) into *V, saturating at UINT64_MAX; 0, or -1 if not all digits */
static int dl_digits(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
	}
	*v = x;
	return 0;
}

/* dl_canon - decimal S[0..LEN) with no leading zero (but "0") and at most MAX; 0 or -1 */
static int dl_canon(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0') || dl_digits(s, len, v) < 0)
		return -1;
	return *v <= max ? 0 : -1;
}

/* download_parse_n - the attachment number of a path */
unsigned download_parse_n(const char *s, size_t len)
{
	uint64_t v;

	if (!s || dl_canon(s, len, DOWNLOAD_N_MAX, &v) < 0 || v == 0)
		return 0;
	return (unsigned)v;
}

/* dl_blank - a space or tab */
static int dl_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* download_range - one byte range of RFC 9110, or the whole file */
enum download_range_kind download_range(const char *hdr, uint64_t size, uint64_t *first,
    uint64_t *len)
{
	const char *p, *end, *dash;
	uint64_t a, b;

	*first = 0;
	*len = size;
	if (!hdr || strncasecmp(hdr, "bytes=", 6) != 0)
		return DOWNLOAD_WHOLE;
	p = hdr + 6;
	end = p + strlen(p);
	while (p < end && dl_blank(*p))
		p++;
	while (end > p && dl_blank(end[-1]))
		end--;
	if (memchr(p, ',', (size_t)(end - p)))
		return DOWNLOAD_WHOLE;	/* several ranges: the whole file, one part */
	dash = memchr(p, '-', (size_t)(end - p));
	if (!dash)
		return DOWNLOAD_WHOLE;
	if (dash == p) {
		/* bytes=-n: the last n bytes */
		if (dl_digits(dash + 1, (size_t)(end - dash - 1), &b) < 0)
			return DOWNLOAD_WHOLE;
		if (b == 0 || size == 0)
			return DOWNLOAD_UNSATISFIABLE;
		if (b > size)
			b = size;
		*first = size - b;
		*len = b;
		return DOWNLOAD_PART;
	}
	if (dl_digits(p, (size_t)(dash - p), &a) < 0)
		return DOWNLOAD_WHOLE;
	if (dash + 1 == end) {
		b = UINT64_MAX;	/* bytes=a-: to the end */
	} else if (dl_digits(dash + 1, (size_t)(end - dash - 1), &b) < 0 || b < a) {
		return DOWNLOAD_WHOLE;
	}
	if (a >= size)
		return DOWNLOAD_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	*first = a;
	*len = b - a + 1;
	return DOWNLOAD_PART;
}

/* dl_hexval - value of hex digit C, or -1 */
static int dl_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* dl_utf8 - length of the valid UTF-8 sequence at S (N bytes left) and its code point; 0 if invalid */
static size_t dl_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, v = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

/* dl_unsafe - a code point never kept in a filename: controls, separators, bidi overrides */
static int dl_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == '/' || cp == '\\' ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/* dl_name - percent-decode S[0..LEN) into OUT and sanitise it; 0, or -1 (OUT "") if unusable */
static int dl_name(const char *s, size_t len, char out[DOWNLOAD_NAME_MAX + 1])
{
	unsigned char raw[DOWNLOAD_NAME_MAX];
	size_t n = 0, o = 0, i;
	int dots = 1;

	out[0] = '\0';
	for (i = 0; i < len; i++) {
		int hi, lo;
		if (n == sizeof(raw))
			return -1;
		if (s[i] != '%') {
			raw[n++] = (unsigned char)s[i];
			continue;
		}
		if (i + 2 >= len || (hi = dl_hexval(s[i + 1])) < 0 || (lo = dl_hexval(s[i + 2])) < 0)
			return -1;
		raw[n++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	for (i = 0; i < n;) {
		uint32_t cp;
		size_t l = dl_utf8(raw + i, n - i, &cp);
		if (l == 0)
			return -1;
		if (dl_unsafe(cp)) {
			out[o++] = '_';
		} else {
			memcpy(out + o, raw + i, l);
			o += l;
		}
		if (cp != '.')
			dots = 0;
		i += l;
	}
	out[o] = '\0';
	if (o == 0 || dots) {
		out[0] = '\0';	/* "", ".", "..": no name */
		return -1;
	}
	return 0;
}

/* dl_field - the next TAB-separated field of LINE[*POS..LEN) into *F, *FLEN; 0, or -1 at the end */
static int dl_field(const char *line, size_t len, size_t *pos, const char **f, size_t *flen)
{
	const char *tab;

	if (*pos > len)
		return -1;
	*f = line + *pos;
	tab = memchr(*f, '\t', len - *pos);
	*flen = tab ? (size_t)(tab - *f) : len - *pos;
	*pos += *flen + 1;
	return 0;
}

/* dl_type_ok - printable ASCII, at most DOWNLOAD_TYPE_MAX bytes */
static int dl_type_ok(const char *s, size_t len)
{
	if (len > DOWNLOAD_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* dl_line - parse one manifest line into *E; 0, or -1 if it breaks a rule */
static int dl_line(const char *line, size_t len, struct download_entry *e)
{
	const char *f[6];
	size_t fl[6], pos = 0;
	uint64_t v;

	for (int i = 0; i < 6; i++)
		if (dl_field(line, len, &pos, &f[i], &fl[i]) < 0)
			return -1;
	if (pos <= len)
		return -1;	/* a seventh field */
	if (dl_canon(f[0], fl[0], DOWNLOAD_N_MAX, &v) < 0 || v == 0)
		return -1;
	e->n = (unsigned)v;
	if (fl[1] != 64)
		return -1;
	for (size_t i = 0; i < 64; i++)
		if (!((f[1][i] >= '0' && f[1][i] <= '9') || (f[1][i] >= 'a' && f[1][i] <= 'f')))
			return -1;
	memcpy(e->sha256, f[1], 64);
	e->sha256[64] = '\0';
	if (dl_canon(f[2], fl[2], DOWNLOAD_SIZE_MAX, &e->size) < 0 ||
	    dl_canon(f[3], fl[3], UINT64_MAX, &e->expires) < 0)
		return -1;
	e->type[0] = '\0';
	if (dl_type_ok(f[4], fl[4])) {
		memcpy(e->type, f[4], fl[4]);
		e->type[fl[4]] = '\0';
	}
	dl_name(f[5], fl[5], e->name);
	return 0;
}

/* download_manifest_find - the first usable line N */
int download_manifest_find(const char *buf, size_t len, unsigned n, struct download_entry *e)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		if (dl_line(buf + pos, l, e) == 0 && e->n == n)
			return 0;
		pos += l + 1;
	}
	memset(e, 0, sizeof(*e));
	return -1;
}

/* dl_type_is - does the media type M[0..LEN) equal S? */
static int dl_type_is(const char *m, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(m, s, len) == 0;
}

/* dl_contains - does M[0..LEN) contain S, in any case? */
static int dl_contains(const char *m, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(m + i, s, n) == 0)
			return 1;
	return 0;
}

/* download_type - the stored type unless active or malformed */
const char *download_type(const char *type)
{
	const char *m = type, *slash, *end, *sub;
	size_t len, slen;

	while (*m == ' ' || *m == '\t')
		m++;
	end = m + strcspn(m, ";");
	while (end > m && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - m);
	slash = memchr(m, '/', len);
	if (len == 0 || !slash || slash == m || slash == end - 1)
		return DOWNLOAD_OCTET;
	for (const char *p = m; p < end; p++)
		if (!(*p == '/' || *p == '.' || *p == '+' || *p == '-' || *p == '_' ||
		      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return DOWNLOAD_OCTET;
	if (memchr(slash + 1, '/', (size_t)(end - slash - 1)))
		return DOWNLOAD_OCTET;
	sub = slash + 1;
	slen = (size_t)(end - sub);
	if (dl_contains(sub, slen, "html") || dl_contains(sub, slen, "svg") ||
	    dl_contains(sub, slen, "script") || dl_contains(sub, slen, "xsl") ||
	    dl_contains(sub, slen, "flash") || dl_type_is(sub, slen, "xml") ||
	    (slen >= 4 && strncasecmp(end - 4, "+xml", 4) == 0) ||
	    (slen >= 4 && strncasecmp(sub, "xml-", 4) == 0) ||
	    dl_type_is(m, len, "text/css") || dl_type_is(m, len, "text/cache-manifest") ||
	    (len >= 10 && strncasecmp(m, "multipart/", 10) == 0) ||
	    (len >= 8 && strncasecmp(m, "message/", 8) == 0))
		return DOWNLOAD_OCTET;
	return type;
}

/* dl_attr_char - RFC 8187 attr-char: sent as is in filename*= */
static int dl_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr("!#$&+-.^_`|~", c));
}

/* download_disposition - attachment with an ASCII fallback and the UTF-8 name */
size_t download_disposition(const char *name, unsigned n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	char fallback[32];
	const unsigned char *u;
	size_t o = 0, len, i;

	if (cap < DOWNLOAD_DISP_MAX) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	if (!name || !*name) {
		snprintf(fallback, sizeof(fallback), "attachment-%u", n);
		name = fallback;
	}
	len = strnlen(name, DOWNLOAD_NAME_MAX);
	u = (const unsigned char *)name;
	o += (size_t)snprintf(out, cap, "attachment; filename=\"");
	for (i = 0; i < len;) {
		uint32_t cp;
		size_t l = dl_utf8(u + i, len - i, &cp);
		if (l == 0)
			l = 1, cp = 0xfffd;
		out[o++] = cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\' && cp != '%' ?
		    (char)cp : '_';
		i += l;
	}
	o += (size_t)snprintf(out + o, cap - o, "\"; filename*=UTF-8''");
	for (i = 0; i < len; i++) {
		if (dl_attr_char(u[i])) {
			out[o++] = (char)u[i];
		} else {
			out[o++] = '%';
			out[o++] = hex[u[i] >> 4];
			out[o++] = hex[u[i] & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* download_open - manifest, line, blob */
enum download_status download_open(const char *dir, const uint8_t rid[TOKEN_RID_LEN], unsigned n,
    struct download_entry *e, int *fd, char *why, size_t whylen)
{
	static const char hex[] = "0123456789abcdef";
	char path[4096], ridhex[TOKEN_RID_LEN * 2 + 1], *buf;
	struct stat st;
	ssize_t got;
	size_t have = 0;
	int mfd, bfd;

	*fd = -1;
	for (int i = 0; i < TOKEN_RID_LEN; i++) {
		ridhex[2 * i] = hex[rid[i] >> 4];
		ridhex[2 * i + 1] = hex[rid[i] & 15];
	}
	ridhex[TOKEN_RID_LEN * 2] = '\0';
	if (!dir || !*dir || (size_t)snprintf(path, sizeof(path), "%s/t/%s", dir, ridhex) >=
	    sizeof(path)) {
		snprintf(why, whylen, "attachment_dir is not set or too long");
		return DOWNLOAD_NO_MANIFEST;
	}
	mfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (mfd < 0 || fstat(mfd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > DOWNLOAD_MANIFEST_MAX) {
		snprintf(why, whylen, "manifest %s: %s", path, mfd < 0 ? strerror(errno) :
		    "not a regular file, or larger than 256 KiB");
		if (mfd >= 0)
			close(mfd);
		return DOWNLOAD_NO_MANIFEST;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(mfd);
		snprintf(why, whylen, "manifest %s: out of memory", path);
		return DOWNLOAD_NO_MANIFEST;
	}
	while (have < (size_t)st.st_size &&
	    (got = read(mfd, buf + have, (size_t)st.st_size - have)) > 0)
		have += (size_t)got;
	close(mfd);
	if (download_manifest_find(buf, have, n, e) < 0) {
		free(buf);
		snprintf(why, whylen, "manifest %s: no usable line for attachment %u", path, n);
		return DOWNLOAD_NO_ENTRY;
	}
	free(buf);
	snprintf(path, sizeof(path), "%s/%.2s/%s", dir, e->sha256, e->sha256);
	bfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (bfd < 0 || fstat(bfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "attachment %u: %s: %s", n, path,
		    bfd < 0 ? strerror(errno) : "not a regular file");
		if (bfd >= 0)
			close(bfd);
		return DOWNLOAD_NO_BLOB;
	}
	if ((uint64_t)st.st_size != e->size) {
		snprintf(why, whylen, "attachment %u: %s has %jd bytes, the manifest says %" PRIu64,
		    n, path, (intmax_t)st.st_size, e->size);
		close(bfd);
		return DOWNLOAD_BAD_SIZE;
	}
	*fd = bfd;
	return DOWNLOAD_FOUND;
}

/* dl_headers - the headers every answer for a file carries; 0 or -1 */
static int dl_headers(struct MHD_Response *r, const struct download_entry *e)
{
	char disp[DOWNLOAD_DISP_MAX], etag[68];

	download_disposition(e->name, e->n, disp, sizeof(disp));
	snprintf(etag, sizeof(etag), "\"%s\"", e->sha256);
	return MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, download_type(e->type)) ==
		MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp) == MHD_YES &&
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") == MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag) == MHD_YES &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-store") ==
		MHD_YES &&
	    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; sandbox") ==
		MHD_YES &&
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") == MHD_YES ? 0 : -1;
}

/* download_response - the file, a range of it, or 416 */
struct MHD_Response *download_response(int fd, const struct download_entry *e, const char *range,
    const char *if_range, unsigned *status, uint64_t *bytes)
{
	static const char unsat[] = "range not satisfiable\n";
	char cr[80], etag[68];
	struct MHD_Response *r;
	uint64_t first, len;
	enum download_range_kind k;

	snprintf(etag, sizeof(etag), "\"%s\"", e->sha256);
	/* If-Range with another validator (a date, an old ETag): the whole file */
	if (if_range && strcmp(if_range, etag) != 0)
		range = NULL;
	k = download_range(range, e->size, &first, &len);
	if (k == DOWNLOAD_UNSATISFIABLE) {
		close(fd);
		r = MHD_create_response_from_buffer(sizeof(unsat) - 1, (void *)unsat,
		    MHD_RESPMEM_PERSISTENT);
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, e->size);
		if (!r || MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr) != MHD_YES ||
		    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
			"text/plain; charset=utf-8") != MHD_YES ||
		    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") != MHD_YES) {
			if (r)
				MHD_destroy_response(r);
			return NULL;
		}
		*status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
		*bytes = sizeof(unsat) - 1;
		return r;
	}
	r = MHD_create_response_from_fd_at_offset64(len, fd, first);
	if (!r) {
		close(fd);
		return NULL;
	}
	if (dl_headers(r, e) < 0) {
		MHD_destroy_response(r);	/* closes fd */
		return NULL;
	}
	if (k == DOWNLOAD_PART) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first,
		    first + len - 1, e->size);
		if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr) != MHD_YES) {
			MHD_destroy_response(r);
			return NULL;
		}
		*status = MHD_HTTP_PARTIAL_CONTENT;
	} else {
		*status = MHD_HTTP_OK;
	}
	*bytes = len;
	return r;
}

/* download_conn_budget - connections per listener that NOFILE descriptors hold */
unsigned download_conn_budget(uint64_t nofile, unsigned reserve, unsigned dl_limit,
    unsigned nlisten)
{
	uint64_t room = nofile > reserve ? nofile - reserve : 0, each;

	if (nlisten == 0)
		nlisten = 1;
	if (dl_limit == 0) {
		/* every connection may be a download: two descriptors each */
		each = room / 2 / nlisten;
	} else {
		/* the downloads' files come first, then one per connection */
		room = room > dl_limit ? room - dl_limit : 0;
		each = room / nlisten;
	}
	if (each < 1)
		return 1;
	return each > UINT32_MAX ? UINT32_MAX : (unsigned)each;
}

/* download_log_due - has PERIOD passed since *LAST?  If so *LAST = NOW */
int download_log_due(_Atomic int64_t *last, int64_t now, int64_t period)
{
	int64_t was = atomic_load_explicit(last, memory_order_relaxed);

	if (was && now >= was && now - was < period)
		return 0;
	return atomic_compare_exchange_strong(last, &was, now);
}

/* download_store_check - can the store DIR be read?  0, 1 (absent) or -1 + WHY */
int download_store_check(const char *dir, char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	const char *p = path;
	int fd;

	if (snprintf(path, sizeof(path), "%s/t", dir) >= (int)sizeof(path)) {
		snprintf(why, whylen, "%s: path too long", dir);
		return -1;
	}
	if (stat(dir, &st) < 0 && errno == ENOENT)
		return 1;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		p = dir;	/* no manifest yet: the directory it will be made in */
	/* listing needs read access, opening a manifest search access */
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    faccessat(fd, ".", X_OK, AT_EACCESS) < 0) {
		snprintf(why, whylen, "%s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
