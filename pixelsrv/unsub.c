/*
 * NAME
 *	unsub.c - reading the one-click unsubscribe form; the pages
 *
 * DESCRIPTION
 *	See unsub.h.  Both form encodings are read in place: a urlencoded
 *	field is decoded into a small buffer only when its length could be
 *	the one wanted; a multipart body is split on its boundary (from the
 *	Content-Type, quoted or not) and each part's Content-Disposition
 *	name compared.
 */
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "unsub.h"

#define UNSUB_NAME "List-Unsubscribe"
#define UNSUB_VALUE "One-Click"
#define UNSUB_FIELD_MAX 64	/* a decoded name or value longer than this is not ours */
#define UNSUB_BOUNDARY_MAX 70	/* RFC 2046 */

#define UNSUB_HEAD(title) \
	"<!DOCTYPE html>\n" \
	"<html lang=\"en\"><head><meta charset=\"utf-8\">" \
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" \
	"<meta name=\"robots\" content=\"noindex\"><title>" title "</title></head>\n"
#define UNSUB_FORM \
	"<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" " \
	"value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>\n"

/* unsubscribe_action = drop: the mail service stops delivering that sender's mail */
static const char unsub_confirm_drop[] =
	UNSUB_HEAD("Unsubscribe")
	"<body><h1>Unsubscribe</h1>\n"
	"<p>Stop receiving messages from this sender through this mail service?</p>\n"
	UNSUB_FORM
	"</body></html>\n";

static const char unsub_done_drop[] =
	UNSUB_HEAD("Unsubscribed")
	"<body><h1>You are unsubscribed</h1>\n"
	"<p>Messages this sender sends through this mail service will no longer be "
	"delivered to you.</p>\n"
	"</body></html>\n";

/* unsubscribe_action = untrack: the mail still comes, without tracking */
static const char unsub_confirm_untrack[] =
	UNSUB_HEAD("Unsubscribe")
	"<body><h1>Unsubscribe</h1>\n"
	"<p>Stop the tracking of messages from this sender (opens and clicks)? "
	"This does not stop the messages themselves: to stop them, ask the sender.</p>\n"
	UNSUB_FORM
	"</body></html>\n";

static const char unsub_done_untrack[] =
	UNSUB_HEAD("Unsubscribed")
	"<body><h1>Tracking stopped</h1>\n"
	"<p>Messages from this sender will no longer be tracked for you. They may still "
	"be delivered: to stop them, ask the sender.</p>\n"
	"</body></html>\n";

/* unsub_page_confirm_for - the confirmation page for ACTION */
const char *unsub_page_confirm_for(int action)
{
	return action == CFG_UNSUB_UNTRACK ? unsub_confirm_untrack : unsub_confirm_drop;
}

/* unsub_page_done_for - the done page for ACTION */
const char *unsub_page_done_for(int action)
{
	return action == CFG_UNSUB_UNTRACK ? unsub_done_untrack : unsub_done_drop;
}

const char unsub_page_bad[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\n"
	"<body><h1>Nothing was changed</h1>\n"
	"<p>The request did not ask to unsubscribe. Use the button of the unsubscribe page.</p>\n"
	"</body></html>\n";

/* unsub_hex - value of hex digit C, or -1 */
static int unsub_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* unsub_is - does the urlencoded S[0..N), decoded, equal WANT? */
static int unsub_is(const char *s, size_t n, const char *want)
{
	char dec[UNSUB_FIELD_MAX];
	size_t k = 0, wlen = strlen(want);

	if (n > 3 * UNSUB_FIELD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return 0;
			hi = unsub_hex(s[i + 1]);
			lo = unsub_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return 0;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (k == sizeof(dec))
			return 0;
		dec[k++] = c;
	}
	return k == wlen && memcmp(dec, want, wlen) == 0;
}

/* unsub_urlencoded - a field List-Unsubscribe=One-Click among the &-separated pairs */
static int unsub_urlencoded(const char *b, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *p = b + i, *amp = memchr(p, '&', len - i), *eq;
		size_t n = amp ? (size_t)(amp - p) : len - i;

		eq = memchr(p, '=', n);
		if (eq && unsub_is(p, (size_t)(eq - p), UNSUB_NAME) &&
		    unsub_is(eq + 1, n - (size_t)(eq - p) - 1, UNSUB_VALUE))
			return 1;
		i += n + 1;
	}
	return 0;
}

/* unsub_param - the value of parameter NAME (case-insensitive) of a header value H[0..N)
 * into OUT (unquoted); its length, or -1 */
static long unsub_param(const char *h, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		const char *semi = memchr(h + i, ';', n - i);
		size_t j;
		if (!semi)
			return -1;
		i = (size_t)(semi - h) + 1;
		while (i < n && (h[i] == ' ' || h[i] == '\t'))
			i++;
		if (n - i <= nl || strncasecmp(h + i, name, nl) != 0 || h[i + nl] != '=')
			continue;
		i += nl + 1;
		j = 0;
		if (i < n && h[i] == '"') {
			for (i++; i < n && h[i] != '"'; i++) {
				if (h[i] == '\\' && i + 1 < n)
					i++;
				if (j + 1 >= outlen)
					return -1;
				out[j++] = h[i];
			}
			if (i >= n)
				return -1;
		} else {
			for (; i < n && h[i] != ';' && h[i] != ' ' && h[i] != '\t' && h[i] != '\r' &&
			     h[i] != '\n'; i++) {
				if (j + 1 >= outlen)
					return -1;
				out[j++] = h[i];
			}
		}
		out[j] = '\0';
		return (long)j;
	}
	return -1;
}

/* unsub_find - the first S[0..SN) in H[0..N), or NULL */
static const char *unsub_find(const char *h, size_t n, const char *s, size_t sn)
{
	if (sn == 0 || n < sn)
		return NULL;
	for (size_t i = 0; i + sn <= n; i++)
		if (h[i] == s[0] && memcmp(h + i, s, sn) == 0)
			return h + i;
	return NULL;
}

/* unsub_part - is the multipart part P[0..N) (headers, blank line, value) our field? */
static int unsub_part(const char *p, size_t n)
{
	const char *end = unsub_find(p, n, "\r\n\r\n", 4), *v;
	char name[UNSUB_FIELD_MAX];
	size_t hl, vl, i = 0;
	int ours = 0;

	if (!end)
		return 0;
	hl = (size_t)(end - p);
	while (i < hl) {
		const char *line = p + i, *crlf = unsub_find(line, hl - i, "\r\n", 2);
		size_t ll = crlf ? (size_t)(crlf - line) : hl - i;
		static const char cd[] = "Content-Disposition:";
		if (ll > sizeof(cd) - 1 && strncasecmp(line, cd, sizeof(cd) - 1) == 0 &&
		    unsub_param(line, ll, "name", name, sizeof(name)) >= 0 &&
		    strcmp(name, UNSUB_NAME) == 0)
			ours = 1;
		i += ll + 2;
	}
	if (!ours)
		return 0;
	v = end + 4;
	vl = n - (size_t)(v - p);
	if (vl >= 2 && v[vl - 2] == '\r' && v[vl - 1] == '\n')
		vl -= 2;
	return vl == strlen(UNSUB_VALUE) && memcmp(v, UNSUB_VALUE, vl) == 0;
}

/* unsub_multipart - a part named List-Unsubscribe with the value One-Click */
static int unsub_multipart(const char *type, const char *b, size_t len)
{
	char bd[UNSUB_BOUNDARY_MAX + 5];
	long bl;
	const char *p, *next;

	bd[0] = '-';
	bd[1] = '-';
	bl = unsub_param(type, strlen(type), "boundary", bd + 2, sizeof(bd) - 2);
	if (bl <= 0 || bl > UNSUB_BOUNDARY_MAX)
		return 0;
	bl += 2;
	p = unsub_find(b, len, bd, (size_t)bl);
	while (p) {
		p += bl;
		if ((size_t)(b + len - p) >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* the closing delimiter */
		if ((size_t)(b + len - p) < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		p += 2;
		/* the next delimiter is CRLF "--boundary"; its CRLF belongs to it */
		next = unsub_find(p, (size_t)(b + len - p), bd, (size_t)bl);
		if (!next)
			return 0;
		if (unsub_part(p, (size_t)(next - p)))
			return 1;
		p = next;
	}
	return 0;
}

/* unsub_one_click - the form of RFC 8058 in either encoding */
int unsub_one_click(const char *type, const char *body, size_t len)
{
	static const char ue[] = "application/x-www-form-urlencoded", mp[] = "multipart/form-data";
	size_t tl;

	if (!body || len > UNSUB_BODY_MAX)
		return 0;
	/* no Content-Type: read as urlencoded, what curl and most clients send */
	if (!type)
		return unsub_urlencoded(body, len);
	tl = strcspn(type, "; \t");
	if (tl == sizeof(ue) - 1 && strncasecmp(type, ue, tl) == 0)
		return unsub_urlencoded(body, len);
	if (tl == sizeof(mp) - 1 && strncasecmp(type, mp, tl) == 0)
		return unsub_multipart(type, body, len);
	return 0;
}
