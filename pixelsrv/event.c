/*
 * NAME
 *	event.c - event records: encoding, classification, COPY text
 *
 * DESCRIPTION
 *	See event.h.  The encoding (version 3, little-endian):
 *
 *	    0 version (3)   1 kind   2 family (0/4/6)   3 flags (EVENT_F_*)
 *	    4 link_n (4)    8 attachment_id (4)   12 at_us (8, signed)
 *	   20 rid (16)     36 addr (16)   52 ua_len (2)
 *	   54 bytes (8, signed, -1: none)   62 partial (0/1)
 *	   63 node_len (1, at most EVENT_NODE_MAX)   64 node (node_len)
 *	   64 + node_len: ua (ua_len)
 *
 *	Version 2 (written before records named their node) has no node_len
 *	and no node: its User-Agent starts at 63.  Version 1 (written before
 *	downloads were served) has no bytes and partial either: its
 *	User-Agent starts at 54; it decodes with bytes -1 and partial 0.
 *	Both decode with node_len 0.  Only downloads carry bytes and partial;
 *	the encoder writes -1 and 0 for every other kind.
 *
 *	Classification order: internal, proxy, prefetch, human.  A proxy's
 *	address is the provider's, so its place is left empty (its network,
 *	the ASN, is kept: it is true).  A prefetch keeps the relay range's
 *	country, region and city and no coordinates.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#include "classify.h"
#include "event.h"

#define EVENT_VERSION 3

/* the context event_encode() cuts addresses with (event_cut_start), NULL: it does not */
static const struct event_ctx *_Atomic event_cut_ctx;

/* the node event_encode() names (event_node_start): set before the threads start */
static char event_node_name[EVENT_NODE_MAX];
static size_t event_node_len;

/* event_put32 - store V little-endian at P */
static void event_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* event_get32 - load a little-endian 32-bit value from P */
static uint32_t event_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* event_set_addr - keep the address bytes and family of SA */
void event_set_addr(struct event_raw *ev, const struct sockaddr *sa)
{
	memset(ev->addr, 0, sizeof(ev->addr));
	ev->family = 0;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(ev->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		ev->family = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(ev->addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		ev->family = 6;
	}
}

/* event_get_addr - rebuild a sockaddr from the stored address */
int event_get_addr(const struct event_raw *ev, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ev->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ev->addr, 4);
		return 0;
	}
	if (ev->family == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ev->addr, 16);
		return 0;
	}
	return -1;
}

/* event_set_ua - keep the first EVENT_UA_MAX bytes of the User-Agent */
void event_set_ua(struct event_raw *ev, const char *ua)
{
	size_t n = ua ? strnlen(ua, EVENT_UA_MAX) : 0;

	if (n)
		memcpy(ev->ua, ua, n);
	ev->ua_len = (uint16_t)n;
}

/* event_cut_start - remember the request path's anonymize setting and address sets */
void event_cut_start(const struct event_ctx *ctx)
{
	atomic_store(&event_cut_ctx, ctx && ctx->anonymize ? ctx : NULL);
}

/* event_node_start - remember the name event_encode() writes into every record */
void event_node_start(const char *node)
{
	event_node_len = node ? strnlen(node, EVENT_NODE_MAX) : 0;
	memcpy(event_node_name, node ? node : "", event_node_len);
}

/* event_cut_addr - keep the /24 of an IPv4 (or IPv4-mapped) address, the /48 of an IPv6 one */
void event_cut_addr(uint8_t family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (family == 4)
		memset(addr + 3, 0, 13);
	else if (family == 6 && memcmp(addr, mapped, 12) == 0)
		addr[15] = 0;
	else if (family == 6)
		memset(addr + 6, 0, 10);
}

/* event_cut - with anonymize_ip: the flags of the full address, then cut it in BUF's copy */
static uint8_t event_cut(const struct event_raw *ev, uint8_t addr[16])
{
	const struct event_ctx *ctx = atomic_load_explicit(&event_cut_ctx, memory_order_relaxed);
	struct sockaddr_storage ss;
	uint8_t flags = EVENT_F_CUT;

	if (!ctx || event_get_addr(ev, &ss) < 0)
		return 0;
	if (ctx->internal && cidr_set_match(ctx->internal, (const struct sockaddr *)&ss))
		flags |= EVENT_F_INTERNAL;
	if (ctx->relay && relay_match(ctx->relay, (const struct sockaddr *)&ss))
		flags |= EVENT_F_PREFETCH;
	event_cut_addr(ev->family, addr);
	return flags;
}

/* event_encode - the version 3 layout, naming this process's node */
size_t event_encode(const struct event_raw *ev, uint8_t *buf)
{
	uint64_t at = (uint64_t)ev->at_us;
	size_t node_len = event_node_len;
	size_t ua_room = EVENT_REC_MAX - EVENT_HDR_LEN - node_len;
	size_t ua_len = ev->ua_len > EVENT_UA_MAX ? EVENT_UA_MAX : ev->ua_len;

	/* the record fits a queue slot: a long node name leaves less to the User-Agent */
	if (ua_len > ua_room)
		ua_len = ua_room;

	buf[0] = EVENT_VERSION;
	buf[1] = ev->kind;
	buf[2] = ev->family;
	event_put32(buf + 4, ev->link_n);
	event_put32(buf + 8, ev->attachment_id);
	event_put32(buf + 12, (uint32_t)at);
	event_put32(buf + 16, (uint32_t)(at >> 32));
	memcpy(buf + 20, ev->rid, TOKEN_RID_LEN);
	memcpy(buf + 36, ev->addr, 16);
	/* the address bits before the record reaches any file, the request's as they came */
	buf[3] = (uint8_t)(event_cut(ev, buf + 36) | (ev->flags & EVENT_F_REQUEST));
	buf[52] = (uint8_t)ua_len;
	buf[53] = (uint8_t)(ua_len >> 8);
	if (ev->kind == EVENT_DOWNLOAD) {
		uint64_t b = (uint64_t)(ev->bytes < 0 ? -1 : ev->bytes);
		event_put32(buf + 54, (uint32_t)b);
		event_put32(buf + 58, (uint32_t)(b >> 32));
		buf[62] = ev->partial ? 1 : 0;
	} else {
		memset(buf + 54, 0xff, 8);
		buf[62] = 0;
	}
	buf[63] = (uint8_t)node_len;
	memcpy(buf + EVENT_HDR_LEN, event_node_name, node_len);
	memcpy(buf + EVENT_HDR_LEN + node_len, ev->ua, ua_len);
	return EVENT_HDR_LEN + node_len + ua_len;
}

/* event_decode - check and unpack the version 3 layout, or version 2 (no node) or 1 (no
 * bytes, partial, node) */
int event_decode(const uint8_t *buf, size_t len, struct event_raw *ev)
{
	size_t ua_len, hdr, node_len = 0;

	if (len < EVENT_HDR_LEN_V1 || buf[0] < 1 || buf[0] > EVENT_VERSION ||
	    buf[1] < EVENT_OPEN || buf[1] > EVENT_UNSUBSCRIBE ||
	    (buf[2] != 0 && buf[2] != 4 && buf[2] != 6))
		return -1;
	hdr = buf[0] == 1 ? EVENT_HDR_LEN_V1 : buf[0] == 2 ? EVENT_HDR_LEN_V2 : EVENT_HDR_LEN;
	if (len < hdr)
		return -1;
	if (buf[0] >= 3) {
		node_len = buf[63];
		if (node_len > EVENT_NODE_MAX)
			return -1;
	}
	ua_len = (size_t)buf[52] | (size_t)buf[53] << 8;
	if (ua_len > EVENT_UA_MAX || len != hdr + node_len + ua_len)
		return -1;
	if (buf[0] >= 2) {
		uint64_t b = (uint64_t)event_get32(buf + 54) | (uint64_t)event_get32(buf + 58) << 32;
		if (buf[62] > 1)
			return -1;
		ev->bytes = (int64_t)b < 0 ? -1 : (int64_t)b;
		ev->partial = buf[62];
	} else {
		ev->bytes = -1;
		ev->partial = 0;
	}
	ev->kind = buf[1];
	ev->family = buf[2];
	ev->flags = buf[3] & EVENT_F_ALL;
	ev->link_n = event_get32(buf + 4);
	ev->attachment_id = event_get32(buf + 8);
	ev->at_us = (int64_t)((uint64_t)event_get32(buf + 12) |
	    (uint64_t)event_get32(buf + 16) << 32);
	memcpy(ev->rid, buf + 20, TOKEN_RID_LEN);
	memcpy(ev->addr, buf + 36, 16);
	ev->node_len = (uint16_t)node_len;
	memcpy(ev->node, buf + hdr, node_len);
	ev->ua_len = (uint16_t)ua_len;
	memcpy(ev->ua, buf + hdr + node_len, ua_len);
	return 0;
}

/* event_enrich - class, address text, User-Agent and place of one event */
void event_enrich(const struct event_ctx *ctx, const struct event_raw *ev,
    const struct classify_facts *facts, struct event_row *row)
{
	char ua[EVENT_UA_MAX + 1];
	struct sockaddr_storage ss;
	const struct sockaddr *sa = NULL;
	struct classify_in in;
	struct classify_out out;

	memset(row, 0, sizeof(*row));
	row->raw = ev;
	if (event_get_addr(ev, &ss) == 0) {
		sa = (const struct sockaddr *)&ss;
		if (ctx->anonymize || (ev->flags & EVENT_F_CUT)) {
			if (cidr_anonymize(sa, row->ip, sizeof(row->ip)) < 0)
				row->ip[0] = '\0';
		} else {
			inet_ntop(ev->family == 4 ? AF_INET : AF_INET6, ev->addr,
			    row->ip, sizeof(row->ip));
		}
	}
	memcpy(ua, ev->ua, ev->ua_len);
	ua[ev->ua_len] = '\0';
	if (ctx->ua)
		ua_parse(ctx->ua, ua, &row->ua);
	if (sa && ctx->geo)
		geo_lookup(ctx->geo, sa, &row->geo);

	in = (struct classify_in){ .kind = ev->kind, .link_n = ev->link_n, .flags = ev->flags,
				   .sa = sa, .ua = ctx->ua ? &row->ua : NULL, .ua_raw = ua,
				   .ua_len = ev->ua_len, .asn = row->geo.asn, .at_us = ev->at_us,
				   .facts = facts };
	classify_event(ctx, &in, &out);
	row->cls = out.cls;
	memcpy(row->reason, out.reason, sizeof(row->reason));
	row->late = out.late;
	row->datacenter = out.datacenter;

	if (row->cls == EVENT_PROXY) {
		/* the proxy's place and User-Agent are not the reader's: never a false city
		 * or device (a machines.yaml proxy rule, like a mail-clients.yaml one) */
		row->geo.country[0] = row->geo.region[0] = row->geo.city[0] = '\0';
		row->geo.has_location = 0;
		row->ua.device[0] = row->ua.os[0] = row->ua.browser[0] = '\0';
	} else if (row->cls == EVENT_PREFETCH && !out.relay) {
		/* a cut address may sit in another relay range than the full one did,
		 * and a hosting network's place is not the reader's: no place rather
		 * than a false one */
		row->geo.country[0] = row->geo.region[0] = row->geo.city[0] = '\0';
		row->geo.has_location = 0;
	} else if (row->cls == EVENT_PREFETCH) {
		snprintf(row->geo.country, sizeof(row->geo.country), "%s", out.relay->country);
		snprintf(row->geo.region, sizeof(row->geo.region), "%s", out.relay->region);
		snprintf(row->geo.city, sizeof(row->geo.city), "%s", out.relay->city);
		row->geo.has_location = 0;
	}
}

/* copy_out - output cursor of event_copy_row */
struct copy_out {
	char *p;	/* next byte */
	char *end;	/* end of the buffer */
	int full;	/* ran out of room */
};

/* copy_byte - append one byte */
static void copy_byte(struct copy_out *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
	else
		o->full = 1;
}

/* copy_raw - append N bytes unescaped */
static void copy_raw(struct copy_out *o, const char *s, size_t n)
{
	if ((size_t)(o->end - o->p) < n) {
		o->full = 1;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

/* event_utf8_len - length of the valid UTF-8 sequence at S (N bytes left), 0 if invalid */
size_t event_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* copy_text - append S[0..N) as a COPY text value: escaped, valid UTF-8; \N if empty */
static void copy_text(struct copy_out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];

	if (n == 0) {
		copy_raw(o, "\\N", 2);
		return;
	}
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t l;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			/* a run of printable ASCII goes out as it is, in one copy */
			for (l = i + 1; l < n && u[l] >= 0x20 && u[l] < 0x7f && u[l] != '\\'; l++)
				;
			copy_raw(o, s + i, l - i);
			i = l;
		} else if (c == '\\') {
			copy_raw(o, "\\\\", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\%03o", c);
			copy_raw(o, esc, 4);
			i++;
		} else if (c < 0x80) {
			copy_byte(o, (char)c);
			i++;
		} else if ((l = event_utf8_len(u + i, n - i)) != 0) {
			copy_raw(o, s + i, l);
			i += l;
		} else {
			copy_raw(o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			i++;
		}
	}
}

/* copy_str - append a NUL-terminated string value */
static void copy_str(struct copy_out *o, const char *s)
{
	copy_text(o, s, strlen(s));
}

/* copy_fmt - append a formatted number or word (no escaping needed) */
__attribute__((format(printf, 2, 3)))
static void copy_fmt(struct copy_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p, (size_t)(o->end - o->p), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= o->end - o->p) {
		o->full = 1;
		return;
	}
	o->p += n;
}

/* copy_uint - append V in decimal, zero-padded to WIDTH digits (printf's %0*llu,
 * without its cost: this runs for several columns of every row) */
static void copy_uint(struct copy_out *o, unsigned long long v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width && n < (int)sizeof(tmp))
		tmp[sizeof(tmp) - 1 - n++] = '0';
	copy_raw(o, tmp + sizeof(tmp) - n, (size_t)n);
}

/* copy_at - append AT_US as "YYYY-MM-DD HH:MM:SS.UUUUUU+00"; the calendar fields of the
 * last second seen are kept per thread (the rows of a batch share few seconds) */
static void copy_at(struct copy_out *o, int64_t at_us)
{
	static __thread time_t last_secs;
	static __thread int have_tm;		/* last_tm holds last_secs's fields */
	static __thread struct tm last_tm;
	time_t secs = (time_t)(at_us / 1000000);
	long usec = (long)(at_us % 1000000);
	struct tm *tm = &last_tm;

	if (usec < 0) {
		usec += 1000000;
		secs--;
	}
	if (!have_tm || secs != last_secs) {
		if (!gmtime_r(&secs, &last_tm)) {
			have_tm = 0;
			o->full = 1;
			return;
		}
		last_secs = secs;
		have_tm = 1;
	}
	if (tm->tm_year + 1900 < 0 || tm->tm_year + 1900 > 9999 || o->end - o->p < 29) {
		copy_fmt(o, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm->tm_year + 1900,
		    tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, usec);
		return;
	}
	copy_uint(o, (unsigned)(tm->tm_year + 1900), 4);
	copy_byte(o, '-');
	copy_uint(o, (unsigned)(tm->tm_mon + 1), 2);
	copy_byte(o, '-');
	copy_uint(o, (unsigned)tm->tm_mday, 2);
	copy_byte(o, ' ');
	copy_uint(o, (unsigned)tm->tm_hour, 2);
	copy_byte(o, ':');
	copy_uint(o, (unsigned)tm->tm_min, 2);
	copy_byte(o, ':');
	copy_uint(o, (unsigned)tm->tm_sec, 2);
	copy_byte(o, '.');
	copy_uint(o, (unsigned long)usec, 6);
	copy_raw(o, "+00", 3);
}

/* event_copy_row - one line of COPY text in EVENT_COPY_TEXT_SQL column order */
int event_copy_row(const struct event_row *row, char *dst, size_t cap)
{
	const struct event_raw *ev = row->raw;
	struct copy_out o = { dst, dst + cap, 0 };
	char uuid[TOKEN_UUID_LEN + 1];

	copy_at(&o, ev->at_us);
	copy_byte(&o, '\t');
	copy_str(&o, event_kind_str(ev->kind));
	copy_byte(&o, '\t');
	token_rid_uuid(ev->rid, uuid);
	copy_raw(&o, uuid, TOKEN_UUID_LEN);
	copy_byte(&o, '\t');
	if (ev->kind == EVENT_CLICK) {
		copy_uint(&o, (unsigned)ev->link_n, 1);
		copy_raw(&o, "\t\\N\t", 4);
	} else if (ev->kind == EVENT_DOWNLOAD) {
		copy_raw(&o, "\\N\t", 3);
		copy_uint(&o, (unsigned)ev->attachment_id, 1);
		copy_byte(&o, '\t');
	} else
		copy_raw(&o, "\\N\t\\N\t", 6);
	copy_str(&o, row->ip);
	copy_byte(&o, '\t');
	copy_text(&o, ev->ua, ev->ua_len);
	copy_byte(&o, '\t');
	copy_str(&o, row->ua.device);
	copy_byte(&o, '\t');
	copy_str(&o, row->ua.os);
	copy_byte(&o, '\t');
	copy_str(&o, row->ua.browser);
	copy_byte(&o, '\t');
	copy_str(&o, row->ua.client);
	copy_byte(&o, '\t');
	copy_str(&o, row->geo.country);
	copy_byte(&o, '\t');
	copy_str(&o, row->geo.region);
	copy_byte(&o, '\t');
	copy_str(&o, row->geo.city);
	copy_byte(&o, '\t');
	if (row->geo.has_location)
		copy_fmt(&o, "%.15g\t%.15g\t", row->geo.latitude, row->geo.longitude);
	else
		copy_raw(&o, "\\N\t\\N\t", 6);
	if (row->geo.asn)
		copy_fmt(&o, "%u\t", (unsigned)row->geo.asn);
	else
		copy_raw(&o, "\\N\t", 3);
	copy_str(&o, row->geo.asn_org);
	copy_byte(&o, '\t');
	copy_str(&o, event_class_str(row->cls));
	copy_byte(&o, '\t');
	if (row->reason[0])
		copy_str(&o, row->reason);
	else
		copy_raw(&o, "\\N", 2);
	copy_byte(&o, '\t');
	copy_uint(&o, (unsigned)ev->flags, 1);
	copy_raw(&o, row->late ? "\tt\t" : "\tf\t", 3);
	if (ev->kind == EVENT_DOWNLOAD && ev->bytes >= 0) {
		copy_uint(&o, (unsigned long long)ev->bytes, 1);
		copy_raw(&o, ev->partial ? "\tt\t" : "\tf\t", 3);
	} else {
		copy_raw(&o, ev->kind == EVENT_DOWNLOAD && ev->partial ? "\\N\tt\t" : "\\N\tf\t", 5);
	}
	copy_text(&o, ev->node, ev->node_len);	/* \N for a record that names none */
	copy_byte(&o, '\n');
	return o.full ? -1 : (int)(o.p - dst);
}

/* event_kind_str - the kind column's word */
const char *event_kind_str(int kind)
{
	switch (kind) {
	case EVENT_OPEN: return "open";
	case EVENT_CLICK: return "click";
	case EVENT_DOWNLOAD: return "download";
	case EVENT_UNSUBSCRIBE: return "unsubscribe";
	}
	return "open";
}

/* event_class_str - the class column's word */
const char *event_class_str(enum event_class cls)
{
	switch (cls) {
	case EVENT_HUMAN: return "human";
	case EVENT_PROXY: return "proxy";
	case EVENT_PREFETCH: return "prefetch";
	case EVENT_SCANNER: return "scanner";
	case EVENT_INTERNAL: return "internal";
	case EVENT_SENDER: return "sender";
	case EVENT_BOT: return "bot";
	}
	return "human";
}
