/*
 * NAME
 *	tagging.h - which messages and recipients beacon-milter tracks
 *
 * SYNOPSIS
 *	struct xbeacon xb;
 *	xbeacon_parse("track; clicks=no; campaign=\"Spring letter\"", &xb);
 *	tagging_sender_rule(&cfg->milter.track_senders, sender, sasl_login);
 *	tagging_is_internal(&cfg->milter.internal_domains, rcpt);
 *	tagging_signed_type("multipart", "signed");
 *
 * DESCRIPTION
 *	The tag header (X-Beacon by default) holds a keyword and parameters
 *	separated by semicolons:
 *
 *	    track; clicks=yes; notify=no; campaign="Spring letter"; attachments=link;
 *	    unsubscribe=yes
 *
 *	The keyword is track (also yes, on, 1) or no (also off, none, 0); a
 *	header that starts with a parameter, or is empty, means track.
 *	Values are tokens or double-quoted strings with backslash escapes;
 *	booleans are yes/no, true/false, on/off, 1/0.  Unknown parameters
 *	and further bare words are ignored (noted in `ignored`).  A header
 *	that cannot be read (an unterminated quote, a parameter without a
 *	name, a bad boolean) tracks with every parameter at its default,
 *	unless it starts with no.  An RFC 2047 encoded campaign is decoded;
 *	it is cut to 200 octets of valid UTF-8.
 *
 *	Sender rules (track_senders) are "user@domain", "@domain" or
 *	"sasl:login"; addresses and domains, the rules' and the sender's,
 *	are compared in their one form (address.h: case, trailing dot,
 *	quotes, IDNA), logins without regard to case; a rule starting with
 *	"!" is an exception: it stops the other rules from tracking that
 *	sender (an explicit tag header still does).  Internal domains match a
 *	recipient's domain exactly ("example.com", "@example.com") or any of
 *	its subdomains (".example.com"), both in their one form; an address
 *	that has none (address_norm refuses it) is not internal.
 */
#ifndef BEACON_TAGGING_H
#define BEACON_TAGGING_H

#include "cfg.h"

#define XB_CAMPAIGN_MAX 200	/* octets kept of a campaign name */

/* xbeacon_mode - what the tag header asks for */
enum xbeacon_mode {
	XB_NONE = 0,		/* no tag header */
	XB_TRACK,		/* track */
	XB_NO,			/* never track */
};

/* xbeacon - the parsed tag header */
struct xbeacon {
	enum xbeacon_mode mode;	/* the keyword */
	int clicks;		/* clicks=: 1/0, -1 not given */
	int notify;		/* notify=: 1/0, -1 not given */
	int attachments;	/* attachments=: CFG_ATT_KEEP/LINK, -1 not given */
	int unsubscribe;	/* unsubscribe=: 1/0, -1 not given */
	char *campaign;		/* campaign= (UTF-8), or NULL */
	int malformed;		/* could not be read: parameters are defaults */
	int ignored;		/* unknown parameters or words skipped */
	char why[80];		/* what was malformed, for the log */
};

/* xbeacon_parse - parse a tag header VALUE (NULL: no header) into *XB; 0, or -1 if malformed */
int xbeacon_parse(const char *value, struct xbeacon *xb);
/* xbeacon_clear - free what xbeacon_parse allocated */
void xbeacon_clear(struct xbeacon *xb);

/* tagging_sender_rule - 1: a rule tracks this sender, -1: an exception matches, 0: no rule */
int tagging_sender_rule(const struct cfg_list *rules, const char *sender, const char *sasl_login);
/* tagging_unsubscribe_rule - does [milter] unsubscribe (RULES: sender rules as
 * track_senders, "*" for every sender) give this sender's messages List-Unsubscribe? */
int tagging_unsubscribe_rule(const struct cfg_list *rules, const char *sender,
			     const char *sasl_login);
/* tagging_is_internal - is the domain of ADDR one of DOMAINS? */
int tagging_is_internal(const struct cfg_list *domains, const char *addr);
/* tagging_signed_type - is TYPE/SUBTYPE a signed or encrypted MIME type? */
int tagging_signed_type(const char *type, const char *subtype);
/* tagging_header_exclusion - why headers forbid any change (DKIM, signed type), or NULL */
const char *tagging_header_exclusion(const char *content_type, int has_dkim_signature);
/* tagging_keep_urls - the URLs of a List-Unsubscribe VALUE, NULL-terminated (g_strfreev) */
char **tagging_keep_urls(const char *value);

#endif
