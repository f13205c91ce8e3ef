/*
 * thread.h - which conversation an outgoing message belongs to
 *
 *	char *root = thread_root(msg_header_get(m, "References"),
 *				 msg_header_get(m, "In-Reply-To"));
 *
 * thread_root() returns the bare Message-ID (no <>) of the conversation's
 * first message, as the message itself names it: the first id of
 * References (RFC 5322 lists the thread oldest first), else the first id
 * of In-Reply-To.  NULL when the message names none (it starts a
 * conversation: its own Message-ID is the root) or when the id is over
 * INBOUND_ID_MAX octets or not UTF-8 (the database could not index it).
 * beacon-web groups messages into conversations by it.  g_free the result.
 */
#ifndef BEACON_THREAD_H
#define BEACON_THREAD_H

char *thread_root(const char *references, const char *in_reply_to);

#endif
