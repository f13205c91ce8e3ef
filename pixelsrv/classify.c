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

/* same_addr - is SA the submitting client's address?  Cut to /24 or /48 when CUT */
static int same_addr(const struct sockaddr *sa, const struct classify_facts *f, int cut)
{
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	uint8_t fa, fb;

	if (!sa || !f || !f->has_sender)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		fa = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		fa = 6;
	} else
		return 0;
	if (f->sender.ss_family == AF_INET) {
		memcpy(b, &((const struct sockaddr_in *)&f->sender)->sin_addr, 4);
		fb = 4;
	} else if (f->sender.ss_family == AF_INET6) {
		memcpy(b, &((const struct sockaddr_in6 *)&f->sender)->sin6_addr, 16);
		fb = 6;
	} else
		return 0;
	if (fa != fb)
		return 0;
	/* a local submission (webmail, sendmail(1) on the MTA) says nothing of the
	 * sender's own address; and behind a front missing from trusted_proxies every
	 * request would come from loopback too */
	if ((fb == 4 && b[0] == 127) ||
	    (fb == 6 && !memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16)) ||
	    (fb == 6 && !memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f", 13)))
		return 0;
	if (cut)
		event_cut_addr(fb, b);
	return memcmp(a, b, 16) == 0;
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
	} else if (same_addr(in->sa, in->facts, cut)) {
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
	} else if (in->kind == EVENT_CLICK &&
	    (in->flags & (EVENT_F_NO_ACCEPT | EVENT_F_NO_LANG))) {
		cls_set(out, EVENT_SCANNER, "no-browser-headers");
	} else if (in->kind == EVENT_CLICK && since >= 0 && since < ctx->scanner_click_s) {
		cls_set(out, EVENT_SCANNER, "early-click");
	} else if (in->kind == EVENT_OPEN && hit.datacenter && since >= 0 &&
	    since < ctx->machine_open_s) {
		cls_set(out, EVENT_PREFETCH, "datacenter-early");
	} else if (in->ua && strcmp(in->ua->device, "bot") == 0) {
		cls_set(out, EVENT_BOT, "bot-ua");
	}
}
