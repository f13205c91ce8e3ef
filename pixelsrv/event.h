/*
 * NAME
 *	event.h - open, click and download events of beacon-pixelsrv
 *
 * SYNOPSIS
 *	struct event_raw ev;		(filled on the request path)
 *	len = event_encode(&ev, buf);	(queue slot or spool record)
 *	event_decode(buf, len, &ev);
 *	event_enrich(&ctx, &ev, &row);	(writer thread: class, geo, UA)
 *	n = event_bin_row(&row, dst, cap);	(after event_bin_header(); then
 *					 event_bin_trailer())
 *
 * DESCRIPTION
 *	The request path records only what it saw: time, kind, recipient id,
 *	link number, client address and User-Agent (struct event_raw).  That
 *	record is what the in-memory queue and the spool hold, encoded in a
 *	fixed little-endian layout (version 1) so a spool written by one run
 *	is read by the next (version 2 adds what a download carried, its
 *	bytes and whether it was partial; version 1 records, which have
 *	neither, still decode; version 3 adds the node that answered, see
 *	below).  Besides, the request path notes in the flags
 *	how the request looked: a HEAD (EVENT_F_HEAD), no Accept header
 *	(EVENT_F_NO_ACCEPT), no Accept-Language header (EVENT_F_NO_LANG);
 *	records written before these bits existed read them as 0.
 *
 *	With anonymize_ip, the full address never reaches a file: once
 *	event_cut_start() has been called, event_encode() cuts the address
 *	to its /24 (IPv4) or /48 (IPv6) before writing the record, so the
 *	queue file, the spools, rejected.spool and their .bad leftovers hold
 *	only the cut address.  What the writer would have needed the full
 *	address for is decided there and kept in the record's flags (two
 *	binary searches, no allocation): whether internal_networks or
 *	apple_relay_ranges hold the full address.  The writer then classifies
 *	from the flags and looks up the GeoIP place of the cut address; a
 *	prefetch event keeps no place then (the cut address may fall in
 *	another relay range than the full one did: no place rather than a
 *	false one).
 *
 *	Every record names the node that answered the request: once
 *	event_node_start() has been called, event_encode() writes that name
 *	([pixelsrv] node_name) into the record, so the queue file, the spools
 *	and a replay on another machine or under another name keep the node
 *	that served the request.  Records of versions 1 and 2 have none: their
 *	node column is NULL.  The record must fit a queue slot
 *	(EVENT_REC_MAX): a name longer than EVENT_NODE_ROOM bytes shortens the
 *	User-Agent kept in the record by the excess.
 *
 *	The writer thread turns a raw event into a row (struct event_row):
 *	the class (internal for internal_networks, proxy for a known image
 *	proxy, prefetch for an Apple Private Relay egress address, human
 *	otherwise), the place (none for proxies, the relay range's coarse
 *	place for prefetch, MaxMind otherwise), the device, OS, browser and
 *	mail client, and the address as stored (truncated when anonymize_ip).
 *	event_bin_row() (event_bin.c) writes the row as one tuple of
 *	PostgreSQL's binary COPY for the columns in EVENT_COPY_SQL, the
 *	writer's format; event_copy_row() as one line of COPY text, the
 *	reference the binary rows are tested against.  Both make the
 *	User-Agent valid UTF-8 (invalid bytes become U+FFFD).
 */
#ifndef BEACON_EVENT_H
#define BEACON_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"
#include "geo.h"
#include "relay.h"
#include "token.h"
#include "ua.h"

#define EVENT_UA_MAX UA_MAXLEN	/* User-Agent bytes kept */
#define EVENT_NODE_MAX 63	/* bytes of a node name ([pixelsrv] node_name) */
#define EVENT_HDR_LEN 64	/* encoded bytes before the node name (version 3) */
#define EVENT_HDR_LEN_V2 63	/* bytes before the User-Agent in version 2 records */
#define EVENT_HDR_LEN_V1 54	/* the same in version 1 records */
#define EVENT_REC_MAX 624	/* largest encoding: a queue slot's record (QUEUE_REC_MAX) */
/* node bytes that leave the whole EVENT_UA_MAX to the User-Agent */
#define EVENT_NODE_ROOM (EVENT_REC_MAX - EVENT_HDR_LEN - EVENT_UA_MAX)
/* largest COPY line event_copy_row() writes: the User-Agent and the three
 * GeoIP names (GEO_NAME_MAX) each escaped at 4 bytes a byte, the rest; a binary
 * row of event_bin_row() (3 bytes a byte at most) is shorter */
#define EVENT_COPY_MAX 16384
#define EVENT_SPOOL_TYPE 'E'	/* spool record type of an encoded event */
#define EVENT_SPOOL_UNSURE 'U'	/* the same, for an event that may be stored already */

/* the columns of beacon.events a row of event_bin_row() or event_copy_row() holds */
#define EVENT_COPY_COLUMNS "at,kind,token_id,link_n,attachment_id,ip,user_agent,device,os," \
	"browser,client,country,region,city,latitude,longitude,asn,asn_org,class,reason,hints," \
	"late,bytes,partial,node"
/* the COPY statement the rows of event_bin_row() are for (the writer's) */
#define EVENT_COPY_SQL "COPY beacon.events (" EVENT_COPY_COLUMNS ") FROM STDIN (FORMAT binary)"
/* the same columns for the text lines of event_copy_row() */
#define EVENT_COPY_TEXT_SQL "COPY beacon.events (" EVENT_COPY_COLUMNS ") FROM STDIN"
#define EVENT_BIN_HEADER_LEN 19	/* bytes of event_bin_header() */
/* the types event_bin_row() sends, column by column (format_type() spelling): a binary
 * COPY needs exactly these, a text COPY anything that reads the text */
#define EVENT_BIN_TYPES "timestamp with time zone,text,uuid,integer,integer,inet,text,text," \
	"text,text,text,text,text,text,double precision,double precision,bigint,text,text," \
	"text,smallint,boolean,bigint,boolean,text"

/* event_kind - what the recipient did */
enum event_kind {
	EVENT_OPEN = 1,		/* fetched the pixel */
	EVENT_CLICK = 2,	/* followed a link */
	EVENT_DOWNLOAD = 3,	/* fetched an attachment */
	EVENT_UNSUBSCRIBE = 4,	/* POSTed the one-click unsubscribe (RFC 8058) */
};

/* event_raw.flags: the address was cut before it was queued, and what the full one matched */
#define EVENT_F_CUT 0x01	/* addr is the /24 or /48, not the client's address */
#define EVENT_F_INTERNAL 0x02	/* internal_networks held the full address */
#define EVENT_F_PREFETCH 0x04	/* apple_relay_ranges held the full address */
/* event_raw.flags: what the request looked like (set on the request path, kept as they come) */
#define EVENT_F_HEAD 0x08	/* an HTTP HEAD request (answered as a GET would be) */
#define EVENT_F_NO_ACCEPT 0x10	/* the request had no Accept header */
#define EVENT_F_NO_LANG 0x20	/* the request had no Accept-Language header */
#define EVENT_F_REQUEST (EVENT_F_HEAD | EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG)
#define EVENT_F_ALL (EVENT_F_CUT | EVENT_F_INTERNAL | EVENT_F_PREFETCH | EVENT_F_REQUEST)

/* event_class - who was behind the request (beacon.events.class) */
enum event_class {
	EVENT_HUMAN,		/* the recipient's own client */
	EVENT_PROXY,		/* a mail provider's image proxy */
	EVENT_PREFETCH,		/* Apple Mail Privacy Protection */
	EVENT_SCANNER,		/* a security gateway */
	EVENT_INTERNAL,		/* an office network */
	EVENT_SENDER,		/* the sending client itself */
	EVENT_BOT,		/* a crawler or HTTP library */
};

/* event_raw - what the request path records */
struct event_raw {
	int64_t at_us;			/* wall clock, microseconds since the epoch */
	uint8_t kind;			/* enum event_kind */
	uint8_t family;			/* 4, 6, or 0 when the address is unknown */
	uint8_t flags;			/* EVENT_F_*: the request bits set by the caller, the
					 * address bits by event_encode; event_decode reads all */
	uint16_t ua_len;		/* bytes of ua used */
	uint32_t link_n;		/* clicks: link number */
	uint32_t attachment_id;		/* downloads: attachment number */
	int64_t bytes;			/* downloads: body bytes the response carried (-1: none) */
	uint8_t partial;		/* downloads: a 206, or a transfer cut short */
	uint8_t rid[TOKEN_RID_LEN];	/* recipient id from the token */
	uint8_t addr[16];		/* client address, IPv4 in the first 4 bytes */
	uint16_t node_len;		/* bytes of node used; 0: not known (version 1, 2) */
	char node[EVENT_NODE_MAX];	/* the node that answered, not NUL-terminated (decode only) */
	char ua[EVENT_UA_MAX];		/* User-Agent, not NUL-terminated */
};

struct machines_db;
struct classify_facts;

/* event_ctx - what enrichment reads; every pointer may be NULL */
struct event_ctx {
	struct ua_db *ua;		/* uap-core + mail-client rules */
	struct geo_db *geo;		/* MaxMind City + ASN */
	const struct relay_db *relay;	/* apple_relay_ranges */
	const struct cidr_set *internal;	/* internal_networks */
	const struct cidr_set *trusted;	/* trusted_proxies (no sender match for them) */
	const struct machines_db *machines;	/* machines.yaml */
	int anonymize;			/* anonymize_ip */
	int scanner_click_s;		/* scanner_click_seconds */
	int machine_open_s;		/* machine_open_seconds */
	int count_window_days;		/* count_window_days, 0 = off */
};

/* event_row - one beacon.events row */
struct event_row {
	const struct event_raw *raw;	/* the event it was made from */
	enum event_class cls;		/* class column */
	char reason[40];		/* reason column, "" for NULL (classify.h) */
	int late;			/* late column */
	int datacenter;			/* a hosting network (for the follow-up rules) */
	char ip[CIDR_ANON_LEN];		/* address as stored, "" for NULL */
	struct ua_info ua;		/* device, os, browser, client */
	struct geo_info geo;		/* place and network */
};

/* event_set_addr - store SA (AF_INET/AF_INET6) in EV; family 0 for anything else */
void event_set_addr(struct event_raw *ev, const struct sockaddr *sa);
/* event_get_addr - EV's address as a sockaddr; -1 when it has none */
int event_get_addr(const struct event_raw *ev, struct sockaddr_storage *ss);
/* event_set_ua - copy at most EVENT_UA_MAX bytes of UA (may be NULL) */
void event_set_ua(struct event_raw *ev, const char *ua);
/* event_cut_start - from now on event_encode() cuts addresses when CTX->anonymize (CTX kept) */
void event_cut_start(const struct event_ctx *ctx);
/* event_node_start - from now on event_encode() names NODE (at most EVENT_NODE_MAX bytes, copied) */
void event_node_start(const char *node);
/* event_cut_addr - cut the address bytes ADDR of FAMILY (4, 6) to /24 or /48 in place */
void event_cut_addr(uint8_t family, uint8_t addr[16]);
/* event_encode - EV into BUF (EVENT_REC_MAX bytes); the length */
size_t event_encode(const struct event_raw *ev, uint8_t *buf);
/* event_decode - BUF[0..LEN) into EV; 0, or -1 if it is not an event record */
int event_decode(const uint8_t *buf, size_t len, struct event_raw *ev);
/* event_enrich - classify EV (FACTS of its message may be NULL) and look up its place and client into ROW */
void event_enrich(const struct event_ctx *ctx, const struct event_raw *ev,
    const struct classify_facts *facts, struct event_row *row);
/* event_copy_row - ROW as one COPY text line into DST; length, or -1 if CAP is too small
 * (the reference event_bin_row() is held to) */
int event_copy_row(const struct event_row *row, char *dst, size_t cap);
/* event_bin_header - the start of binary COPY data into DST (EVENT_BIN_HEADER_LEN bytes) */
size_t event_bin_header(char *dst);
/* event_bin_row - ROW as one binary COPY tuple into DST; length, or -1 if CAP is too small */
int event_bin_row(const struct event_row *row, char *dst, size_t cap);
/* event_bin_trailer - the end of binary COPY data into DST (2 bytes) */
size_t event_bin_trailer(char *dst);
/* event_utf8_len - length of the valid UTF-8 sequence at S (N bytes left), 0 if invalid */
size_t event_utf8_len(const unsigned char *s, size_t n);
/* event_kind_str - "open", "click", "download", "unsubscribe" */
const char *event_kind_str(int kind);
/* event_class_str - "human", "proxy", ... */
const char *event_class_str(enum event_class cls);

#endif
