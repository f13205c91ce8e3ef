/*
 * NAME
 *	dsn.h - recognise a delivery status notification and read what it
 *	says about each recipient
 *
 * SYNOPSIS
 *	struct dsn d;
 *	if (dsn_parse(text, len, "https://t.example.com", &d) == 0) {
 *		for (guint i = 0; i < d.rcpts->len; i++) ... d.rcpts->pdata[i] ...
 *		dsn_clear(&d);
 *	}
 *
 * DESCRIPTION
 *	dsn_parse() reads a whole message (headers and body) with GMime and
 *	touches nothing else: no I/O, no database, no configuration.  It
 *	knows these forms:
 *
 *	DSN_FORM_RFC3464  multipart/report; report-type=delivery-status
 *	    (RFC 3464/6522; the message/global-* types of RFC 6533 too),
 *	    found at the top or one multipart level down.  One dsn_rcpt per
 *	    per-recipient group of the message/delivery-status part, with
 *	    Final-Recipient, Original-Recipient, Action, Status and
 *	    Diagnostic-Code.  The returned message is the message/rfc822
 *	    (or text/rfc822-headers) part.  Postfix, Sendmail, Exim 4.8x and
 *	    later, Gmail, Microsoft 365 and Yahoo send this form.
 *	DSN_FORM_QMAIL    "Hi. This is the qmail-send program at ..." and
 *	    the qmail-derived text of old Yahoo bounces ("Sorry, we were
 *	    unable to deliver your message to the following address."):
 *	    one "<address>:" paragraph per recipient; the returned message
 *	    follows "--- Below this line is a copy of the message." (or
 *	    "--- Enclosed are the original headers of the message.").
 *	DSN_FORM_EXIM     Exim's plain text "This message was created
 *	    automatically by mail delivery software." for failures ("The
 *	    following address(es) failed:") and delays ("has not yet been
 *	    delivered"): an indented address line per recipient, its
 *	    reason indented deeper; the returned message follows "------
 *	    This is a copy of the message, including all the headers.".
 *	DSN_FORM_EXCHANGE the text of Exchange 2003/2007 and old Hotmail
 *	    non-delivery reports ("Your message did not reach some or all
 *	    of the intended recipients." / "Delivery has failed to these
 *	    recipients or groups:"): the addresses in the recipient list,
 *	    the status from "#5.1.1" or "5.1.1"; the returned message is an
 *	    attached message/rfc822 part.
 *
 *	For each recipient: the address in its one form (address.h) or
 *	NULL when it has none, the Action word ("failed", "delayed", ... ;
 *	a text form says "failed" or "delayed"), the status code d.d.d
 *	(from Status, else the first enhanced code in the diagnostic, else
 *	from a three-digit SMTP reply code: 5xx is 5.0.0, 4xx 4.0.0, else
 *	5.0.0 for failed and 4.0.0 for delayed), the diagnostic text
 *	(unfolded, at most DSN_DIAG_MAX octets of valid UTF-8) and whether
 *	it is a bounce (failed or delayed) and a hard one: a status of class
 *	5, or a failure without a valid status.  A failure with a 4.x.x
 *	status (the MTA gave up after its queue lifetime) is a soft bounce.
 *	Whether the address is dead is not the parser's call (bounce.c
 *	decides from the status); status_reported says whether the status
 *	is one the report gave (Status, or an enhanced code in its text) or
 *	one made up here (x.0.0 from a reply code or from nothing), which
 *	never says the address is dead.  Recipients with Action
 *	delivered, relayed or expanded are listed with bounce = 0.
 *
 *	From the returned message (or its headers): its Message-ID without
 *	<>, and the tokens of Beacon URLs under URL_BASE found in its
 *	List-Unsubscribe header or in its decoded text parts: the pixel
 *	URL_BASE/o/TOKEN.gif, a click URL URL_BASE/c/TOKEN/..., a download
 *	URL_BASE/d/TOKEN/... and an unsubscribe URL URL_BASE/u/TOKEN/...
 *	(at most DSN_MAX_TOKENS distinct ones, not verified here: the caller
 *	checks their MAC).  URL_BASE NULL or "" looks for none.
 *
 *	Limits: at most DSN_MAX_RCPTS recipients; anything beyond is
 *	ignored.  Input of any bytes is safe (a libFuzzer target holds it).
 */
#ifndef BEACON_DSN_H
#define BEACON_DSN_H

#include <stddef.h>

#include <glib.h>

#define DSN_MAX_RCPTS 100	/* recipients read from one report */
#define DSN_MAX_TOKENS 8	/* tokens kept from the returned message */
#define DSN_DIAG_MAX 512	/* octets of diagnostic text kept */
#define DSN_STATUS_MAX 16	/* "5.123.123" and its NUL, with room */

/* dsn_form - which kind of report it was */
enum dsn_form {
	DSN_FORM_NONE,		/* not a delivery status notification */
	DSN_FORM_RFC3464,	/* multipart/report; report-type=delivery-status */
	DSN_FORM_QMAIL,		/* qmail-send and old Yahoo text */
	DSN_FORM_EXIM,		/* Exim's text bounce or delay warning */
	DSN_FORM_EXCHANGE,	/* Exchange / old Hotmail text report */
};

/* dsn_rcpt - what the report says about one recipient */
struct dsn_rcpt {
	char *final;		/* Final-Recipient (or the text form's address), one form; or NULL */
	char *original;		/* Original-Recipient, one form; or NULL */
	char *action;		/* lower-case Action word, never NULL */
	char status[DSN_STATUS_MAX];	/* "5.1.1" ("" only when not a bounce) */
	char *diagnostic;	/* Diagnostic-Code text (or the text form's reason), never NULL */
	int bounce;		/* failed or delayed */
	int hard;		/* a permanent failure (class 5): it did not arrive */
	int status_reported;	/* the status is the report's own (a Status field or an
				 * enhanced code in its text), not derived from a bare
				 * reply code nor supplied for a failure without one */
};

/* dsn - one parsed report */
struct dsn {
	enum dsn_form form;	/* what kind it was */
	char *reporting_mta;	/* Reporting-MTA value, or NULL */
	GPtrArray *rcpts;	/* struct dsn_rcpt *, in report order */
	char *message_id;	/* the returned message's Message-ID without <>, or NULL */
	GPtrArray *tokens;	/* char *: Beacon tokens found in the returned message */
};

/* dsn_parse - read TEXT[0..LEN) into D: 0 when it is a report with at least one
 * recipient (D to be cleared), -1 when it is not (D left empty) */
int dsn_parse(const char *text, size_t len, const char *url_base, struct dsn *d);
/* dsn_clear - free what dsn_parse put in D */
void dsn_clear(struct dsn *d);
/* dsn_form_name - "rfc3464", "qmail", "exim", "exchange" or "none" */
const char *dsn_form_name(enum dsn_form f);

#endif
