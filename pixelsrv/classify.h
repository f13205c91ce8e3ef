/*
 * NAME
 *	classify.h - who was behind an open, click or download: the rules
 *
 * SYNOPSIS
 *	struct classify_in in = { .kind = ..., .facts = &facts, ... };
 *	struct classify_out out;
 *	classify_event(&ctx, &in, &out);
 *
 * DESCRIPTION
 *	One function decides the class of an event and why, from what the
 *	request path recorded (kind, link number, address, User-Agent, the
 *	request flags: HEAD, no Accept, no Accept-Language), what the writer
 *	looked up (the parsed User-Agent, the AS number) and what the
 *	database knows of the message (when it left, from which client
 *	address).  beacon-pixelsrv's writer runs it on each event before the
 *	row is stored; `beaconctl reclassify` runs it again over stored rows
 *	when the rules or the data files change.  The first rule that holds
 *	decides:
 *
 *	  honeypot           scanner   a click on link 0, the hidden link
 *	  internal-network   internal  the address is in internal_networks
 *	  sender-address     sender    the address submitted the message (not
 *	                               for a cut address, a loopback submission or
 *	                               a trusted proxy that named no client)
 *	  head-request       scanner   an HTTP HEAD
 *	  list:<id>          (rule's)  a scanner, proxy or bot rule of machines.yaml
 *	  proxy-ua           proxy     a mail-clients.yaml proxy rule (Gmail, Yahoo)
 *	  apple-mpp          prefetch  an Apple Private Relay egress address
 *	  no-browser-headers scanner   a click or download without Accept or
 *	                               Accept-Language
 *	  early-click        scanner   a click or download within
 *	                               scanner_click_seconds of sending
 *	  datacenter-early   prefetch  an open from a hosting network within
 *	                               machine_open_seconds of sending
 *	  bot-ua             bot       a crawler or HTTP library User-Agent
 *	  (none)             human
 *
 *	Independently, an event more than count_window_days after sending is
 *	late.  Rules that need other events (honeypot-peer, click-burst, the
 *	reversal of datacenter-early) run in SQL: beacon.classify_followup().
 */
#ifndef BEACON_PIXELSRV_CLASSIFY_H
#define BEACON_PIXELSRV_CLASSIFY_H

#include <stdint.h>
#include <sys/socket.h>

#include "event.h"

#define CLASSIFY_REASON_MAX 40	/* "list:" + a 32-byte id + NUL, with room */

/* classify_facts - what the database knows of the message an event is about */
struct classify_facts {
	int known;			/* 0: the token's row was not found (or not asked) */
	int64_t sent_us;		/* when the message left (end of body), µs since the epoch */
	int has_sender;			/* sender holds the submitting client's address */
	struct sockaddr_storage sender;	/* beacon.messages.client_ip */
};

/* classify_in - one event, as the rules see it */
struct classify_in {
	int kind;				/* enum event_kind */
	uint32_t link_n;			/* clicks: link number, 0 = the hidden link */
	uint8_t flags;				/* EVENT_F_* */
	const struct sockaddr *sa;		/* the address (cut when EVENT_F_CUT); NULL if none */
	const struct ua_info *ua;		/* the parsed User-Agent; NULL if not parsed */
	const char *ua_raw;			/* the User-Agent bytes */
	size_t ua_len;
	uint32_t asn;				/* AS number, 0 if unknown */
	int64_t at_us;				/* when, µs since the epoch */
	const struct classify_facts *facts;	/* NULL: none */
};

/* classify_out - the decision */
struct classify_out {
	enum event_class cls;			/* the class */
	char reason[CLASSIFY_REASON_MAX];	/* "" for a plain human */
	int late;				/* more than count_window_days after sending */
	int datacenter;				/* a machines.yaml datacenter rule holds */
	const struct relay_entry *relay;	/* apple-mpp: the relay range (its coarse place) */
};

/* classify_event - run the rules of CTX over IN into OUT */
void classify_event(const struct event_ctx *ctx, const struct classify_in *in,
    struct classify_out *out);

#endif
