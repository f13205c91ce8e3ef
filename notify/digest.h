/*
 * NAME
 *	digest.h - the digest mail of a mail destination, sent by SMTP
 *
 * SYNOPSIS
 *	struct digest_conf dc = { smtp_url, mail_from, tag_header, timeout_s };
 *	digest_send(&dc, items, n);	(one mail for the items not dropped)
 *
 * DESCRIPTION
 *	The deliveries of one mail destination (queue_claim_mail(), at most
 *	QUEUE_DIGEST_MAX, oldest first) become one text/plain UTF-8 mail to
 *	the destination's address: Subject "Beacon: N events on your mail",
 *	one line per event (payload_line()), From mail_from.  It is never
 *	tracked itself: it carries "<tag_header>: no", which beacon-milter
 *	obeys before every other rule (milter/track.h, step 2), and
 *	Auto-Submitted: auto-generated (RFC 3834), so that autoresponders
 *	stay silent.
 *
 *	libcurl speaks SMTP to smtp_url (normally the local MTA), with the
 *	timeout in all.  Accepted: every item ITEM_SENT with the SMTP status;
 *	refused or unreachable: ITEM_RETRY with the reason.
 */
#ifndef NOTIFY_DIGEST_H
#define NOTIFY_DIGEST_H

#include <stddef.h>

#include "buf.h"
#include "item.h"

/* digest_conf - where and how digests go */
struct digest_conf {
	const char *smtp_url;	/* smtp://host:port */
	const char *from;	/* envelope sender and From */
	const char *tag_header;	/* [milter] tag_header: "<it>: no" keeps the mail untracked */
	long timeout_s;		/* the whole SMTP transaction */
};

/* digest_message - the mail (CRLF lines, headers and body) for ITEMS (N) not dropped,
 * to TO; returns how many events it lists */
size_t digest_message(struct buf *m, const struct digest_conf *dc, const char *to,
    const struct item *items, size_t n);
/* digest_send - one mail for ITEMS not dropped, to their url; outcome filled */
void digest_send(const struct digest_conf *dc, struct item *items, size_t n);

#endif
