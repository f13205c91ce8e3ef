/*
 * NAME
 *	forward.h - who originally sent a received message: recognise the
 *	forwards mail clients make
 *
 * SYNOPSIS
 *	struct forward_orig o;
 *	forward_parse(text, len, &o);
 *	... o.forward, o.how, o.from, o.reply_to, o.list_id, o.subject ...
 *	forward_orig_clear(&o);
 *
 * DESCRIPTION
 *	A lead that reaches a tracked inbound address is counted for its
 *	original sender (the portal, the website form), also when somebody
 *	forwarded it there.  forward_parse() reads a whole message (header
 *	block and body, as received) with GMime and, in this order, takes
 *	the first of:
 *
 *	1. Resent-From (a redirect, RFC 5322 3.6.6): the message's own From,
 *	   Reply-To and List-Id are the original's (how "resent");
 *	2. a message/rfc822 part (forward as attachment: Outlook, Gmail,
 *	   Thunderbird): that message's From, Reply-To, List-Id and Subject
 *	   (how "rfc822"), and its Message-ID;
 *	3. an inline forward block in the first text/plain part, else in the
 *	   first text/html part (as text: tags become line breaks, entities
 *	   decoded; <hr> is a separator line), each decoded from its
 *	   transfer encoding and charset, quote marks ("> ") ignored:
 *	   - "---------- Forwarded message ---------" (Gmail; how "gmail"),
 *	   - "Begin forwarded message:" (Apple Mail; how "apple"),
 *	   - "-----Original Message-----" (Outlook on Windows; how "outlook"),
 *	   - a line of at least 20 underscores, or an <hr> (Outlook on the
 *	     web and the new Outlook; how "owa"), or, in the HTML part only,
 *	     a block that starts with From: and has Sent: (Outlook on
 *	     Windows in HTML; how "outlook"),
 *	   followed within a few lines by a "From:" line with an address
 *	   (Name <a@b>, Name [mailto:a@b], or a@b); Reply-To: and Subject:
 *	   lines of the block are read too.  The Outlook and OWA forms also
 *	   introduce quoted replies: they count only when the message's
 *	   Subject does not start with a reply prefix (Re:, AW:, SV:, Antw:)
 *	   unless it also has a forward one (Fw:, Fwd:, TR:, WG:).
 *
 *	When none matches, the message is not a forward and the fields are
 *	its own.  Addresses are in their one form (address.h), NULL when
 *	absent or without one; the List-Id without its <>.  Nothing is
 *	read beyond the buffer; the work is linear in its size.
 */
#ifndef BEACON_FORWARD_H
#define BEACON_FORWARD_H

#include <stddef.h>

/* forward_orig - the original sender of a message */
struct forward_orig {
	int forward;		/* the message forwards another */
	const char *how;	/* which form (static; see above), or NULL */
	char *from;		/* the original From address, one form, or NULL */
	char *reply_to;		/* the original Reply-To address, one form, or NULL */
	char *list_id;		/* the original List-Id without <>, or NULL */
	char *subject;		/* the original Subject (the message's own when not a forward), or NULL */
	char *message_id;	/* the original's Message-ID without <> (rfc822 only), or NULL */
};

/* forward_parse - read the message TEXT[0..LEN) into O; 0, or -1 when GMime cannot parse
 * it at all (O then empty) */
int forward_parse(const char *text, size_t len, struct forward_orig *o);
/* forward_parse_own - as forward_parse, but O holds the message's own fields: a forward
 * from a sender not known to forward is not believed */
int forward_parse_own(const char *text, size_t len, struct forward_orig *o);
/* forward_header_addr - the first mailbox of the address header value V in its one form
 * (g_free), or NULL */
char *forward_header_addr(const char *v);
/* forward_orig_clear - free what forward_parse put in O */
void forward_orig_clear(struct forward_orig *o);
/* forward_html_text - the text of HTML[0..LEN) as forward_parse reads it (g_free) */
char *forward_html_text(const char *html, size_t len);

#endif
