/*
 * NAME
 *	payload.h - what beacon-notify sends: the webhook JSON, the one-line
 *	chat text (Slack and Mattermost incoming webhooks) and the digest
 *	mail's lines
 *
 * SYNOPSIS
 *	struct buf b = { 0 };
 *	payload_body(&b, item);		(JSON for the item's destination kind)
 *	payload_json_string(&b, "He said \"hi\"\n");
 *
 * DESCRIPTION
 *	The JSON is written by hand with one string escaper: quotes,
 *	backslashes, every control character (U+0000 to U+001F and U+007F)
 *	and U+2028/U+2029 are escaped; a byte sequence that is not UTF-8
 *	(a subject stored from a broken header) becomes U+FFFD, one per bad
 *	byte, so the body is always valid JSON in valid UTF-8.  A NULL string
 *	is null.
 *
 *	The generic webhook body ("webhook" destinations):
 *
 *	    {"id": "<job>.<destination>", "type": "open", "at": "...Z",
 *	     "class": "human",
 *	     "message": {"id", "message_id", "subject", "campaign", "sent_at"},
 *	     "recipient": {"address", "name"}, "place": {"country", "city"},
 *	     "device": {"device", "os", "client"}, "link": url or null,
 *	     "file": name or null}
 *
 *	Slack and Mattermost get {"text": "<line>"} with the line of
 *	payload_line(): who, what, when, where, on what device; for Slack
 *	&, < and > are written &amp; &lt; &gt; (Slack reads <...> as a
 *	link or a mention).
 */
#ifndef NOTIFY_PAYLOAD_H
#define NOTIFY_PAYLOAD_H

#include "buf.h"
#include "item.h"

/* payload_json_string - append S as a JSON string (null when S is NULL) */
void payload_json_string(struct buf *b, const char *s);
/* payload_clean - append S as one line of valid UTF-8: control characters become
 * spaces, bad bytes U+FFFD, at most MAX bytes of S read (0: all) */
void payload_clean(struct buf *b, const char *s, size_t max);
/* payload_webhook - the generic JSON body of IT */
void payload_webhook(struct buf *b, const struct item *it);
/* payload_line - one line of plain text: who, what, when, where, device */
void payload_line(struct buf *b, const struct item *it);
/* payload_chat - {"text": payload_line} for Slack (& < > as entities, Slack's
 * escaping) and Mattermost (as it is) */
void payload_chat(struct buf *b, const struct item *it);
/* payload_body - the body for IT's destination kind: payload_chat or payload_webhook */
void payload_body(struct buf *b, const struct item *it);

#endif
