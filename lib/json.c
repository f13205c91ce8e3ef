/*
 * json.c - the JSON string escaper shared by beaconctl's output,
 * beacon-notify's payloads and beacon-web's API (see json.h).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"

#define JSON_FFFD "\xef\xbf\xbd"	/* U+FFFD REPLACEMENT CHARACTER in UTF-8 */

/* json_utf8 - one UTF-8 sequence: its length, or 0 */
size_t json_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* json_string - quote and escape S */
void json_string(const char *s, json_put_fn *put, void *arg)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t n, len;
	unsigned cp;

	if (!s) {
		put(arg, "null", 4);
		return;
	}
	n = strlen(s);
	put(arg, "\"", 1);
	while (n > 0) {
		if (!(len = json_utf8(p, n, &cp))) {
			put(arg, JSON_FFFD, 3);
			p++, n--;
			continue;
		}
		switch (cp) {
		case '"': put(arg, "\\\"", 2); break;
		case '\\': put(arg, "\\\\", 2); break;
		case '\b': put(arg, "\\b", 2); break;
		case '\f': put(arg, "\\f", 2); break;
		case '\n': put(arg, "\\n", 2); break;
		case '\r': put(arg, "\\r", 2); break;
		case '\t': put(arg, "\\t", 2); break;
		default:
			if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029) {
				snprintf(esc, sizeof(esc), "\\u%04x", cp);
				put(arg, esc, 6);
			} else {
				put(arg, (const char *)p, len);
			}
		}
		p += len, n -= len;
	}
	put(arg, "\"", 1);
}

/* json_buf_put - append to a struct buf */
void json_buf_put(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
}
