/*
 * NAME
 *	webhook.h - POST a batch of deliveries to their webhooks with libcurl
 *
 * SYNOPSIS
 *	struct webhook *w = webhook_new(timeout_s, concurrency, allow_private, allow_http, proxy);
 *	webhook_send(w, items, n, &stop);	(fills each item's outcome)
 *	webhook_free(w);
 *
 * DESCRIPTION
 *	One libcurl multi handle runs up to `concurrency` requests at once
 *	and keeps the connections alive between batches.  Each request is a
 *	POST of payload_body() with Content-Type application/json and the
 *	headers Beacon-Delivery (<job>.<destination>), Beacon-Timestamp
 *	(Unix seconds) and Beacon-Signature (v1=..., sign.h); it may take
 *	`timeout` seconds in all, follows no redirect and speaks only https
 *	(and http when ALLOW_HTTP), directly or through PROXY when not ""
 *	(never through a proxy from the environment).  Unless
 *	ALLOW_PRIVATE, every socket is checked before it connects
 *	(netguard.h): a loopback, private or link-local address is refused
 *	whatever name led to it (through PROXY: the proxy's address only).  The
 *	answer's body is read and thrown away.  2xx is ITEM_SENT; anything
 *	else (another status, no answer, a refused connection or address)
 *	ITEM_RETRY with the reason in item.error.  Items with item.drop set
 *	are skipped.  Once *STOP is set no new request starts: the items not
 *	started are ITEM_UNSENT, those in flight finish (at most `timeout`).
 */
#ifndef NOTIFY_WEBHOOK_H
#define NOTIFY_WEBHOOK_H

#include <signal.h>
#include <stddef.h>

#include "item.h"

struct webhook;

/* webhook_new - a multi handle: TIMEOUT_S per request, CONCURRENCY at once; private
 * addresses and plain http allowed or not */
struct webhook *webhook_new(long timeout_s, long concurrency, int allow_private, int allow_http,
    const char *proxy);
/* webhook_send - send ITEMS (N) not dropped, each to its url, none started once *STOP
 * is set; their outcome filled */
void webhook_send(struct webhook *w, struct item *items, size_t n,
    const volatile sig_atomic_t *stop);
/* webhook_free - close every connection */
void webhook_free(struct webhook *w);

#endif
