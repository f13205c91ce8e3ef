/*
 * NAME
 *	classify.c - the per-event rules: class and reason of one event
 *
 * DESCRIPTION
 *	See classify.h for the rules and their order.  Everything here is a
 *	pure function of its input and the loaded rule files: no I/O, no
 *	allocation, so the writer runs it per event and beaconctl reclassify
 *	gets the same answer from the stored fields.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "classify.h"
#include "machines.h"
#include "relay.h"
#include "ua.h"

#define US_PER_S 1000000LL

/* cls_set - decide CLS for REASON */
static void cls_set(struct classify_out *out, enum event_class cls, const char *reason)
{
	out->cls = cls;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

/* addr16 - the address bytes of SA into A (IPv4-mapped IPv6 unmapped); 4, 6, or 0 */
static int addr16(const struct sockaddr *sa, uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	if (memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		return 4;
	}
	return 6;
}

/* same_addr - is SA the submitting client's address?  Never for a cut address (a /24 or
 * /48 holds many people), a loopback submission (webmail, sendmail(1) on the MTA: the
 * sender's own address is unknown) or a request from a trusted proxy that named no client
 * (every request would look alike) */
static int same_addr(const struct event_ctx *ctx, const struct sockaddr *sa,
    const struct classify_facts *f, int cut)
{
	uint8_t a[16], b[16];
	int fa, fb;

	if (!sa || !f || !f->has_sender || cut)
		return 0;
	fa = addr16(sa, a);
	fb = addr16((const struct sockaddr *)&f->sender, b);
	if (!fa || fa != fb || memcmp(a, b, 16) != 0)
		return 0;
	if ((fb == 4 && b[0] == 127) ||
	    (fb == 6 && !memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16)))
		return 0;
	return !(ctx->trusted && cidr_set_match(ctx->trusted, sa));
}

/* since_sent - seconds from sending to the event, or -1 when unknown */
static double since_sent(const struct classify_in *in)
{
	if (!in->facts || !in->facts->known || in->facts->sent_us <= 0)
		return -1;
	if (in->at_us < in->facts->sent_us)
		return 0;	/* clocks of two machines: an event "before" sending is at once */
	return (double)(in->at_us - in->facts->sent_us) / US_PER_S;
}

/* follows_link - a click or a download: someone (or something) followed a link in the
 * message, so the rules for link scanners apply to both */
static int follows_link(int kind)
{
	return kind == EVENT_CLICK || kind == EVENT_DOWNLOAD;
}

/* classify_event - see classify.h */
void classify_event(const struct event_ctx *ctx, const struct classify_in *in,
    struct classify_out *out)
{
	int cut = (in->flags & EVENT_F_CUT) != 0;
	struct machines_hit hit = { NULL, 0 };
	double since = since_sent(in);

	memset(out, 0, sizeof(*out));
	out->cls = EVENT_HUMAN;
	if (ctx->count_window_days > 0 && since >= 0 &&
	    since > (double)ctx->count_window_days * 86400.0)
		out->late = 1;
	if (ctx->machines)
		machines_match(ctx->machines, in->kind, in->ua_raw, in->ua_len, in->sa, in->asn,
		    &hit);
	out->datacenter = hit.datacenter;

	if (in->kind == EVENT_CLICK && in->link_n == 0) {
		cls_set(out, EVENT_SCANNER, "honeypot");
	} else if (cut ? (in->flags & EVENT_F_INTERNAL) != 0 :
	    (in->sa && ctx->internal && cidr_set_match(ctx->internal, in->sa))) {
		cls_set(out, EVENT_INTERNAL, "internal-network");
	} else if (same_addr(ctx, in->sa, in->facts, cut)) {
		cls_set(out, EVENT_SENDER, "sender-address");
	} else if (in->flags & EVENT_F_HEAD) {
		cls_set(out, EVENT_SCANNER, "head-request");
	} else if (hit.rule) {
		char r[CLASSIFY_REASON_MAX];

		snprintf(r, sizeof(r), "list:%s", hit.rule->id);
		cls_set(out, hit.rule->cls == MACHINE_PROXY ? EVENT_PROXY :
		    hit.rule->cls == MACHINE_BOT ? EVENT_BOT :
		    hit.rule->cls == MACHINE_PREFETCH ? EVENT_PREFETCH : EVENT_SCANNER, r);
	} else if (in->ua && in->ua->proxy) {
		cls_set(out, EVENT_PROXY, "proxy-ua");
	} else if (cut ? (in->flags & EVENT_F_PREFETCH) != 0 :
	    (in->sa && ctx->relay && (out->relay = relay_match(ctx->relay, in->sa)) != NULL)) {
		cls_set(out, EVENT_PREFETCH, "apple-mpp");
	} else if (follows_link(in->kind) &&
	    (in->flags & (EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG))) {
		cls_set(out, EVENT_SCANNER, "no-browser-headers");
	} else if (follows_link(in->kind) && since >= 0 && since < ctx->scanner_click_s) {
		cls_set(out, EVENT_SCANNER, "early-click");
	} else if (in->kind == EVENT_OPEN && hit.datacenter && since >= 0 &&
	    since < ctx->machine_open_s) {
		cls_set(out, EVENT_PREFETCH, "datacenter-early");
	} else if (in->ua && strcmp(in->ua->device, "bot") == 0) {
		cls_set(out, EVENT_BOT, "bot-ua");
	}
}
