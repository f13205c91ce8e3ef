/*
 * NAME
 *	split.h - what a per-recipient copy looks like: its text and the
 *	MAC'd header that marks it
 *
 * SYNOPSIS
 *	char *name = split_copy_header_name(cfg->milter.tag_header);
 *	char *value = split_copy_value(keys, msg_uuid, rcpts, n);
 *	GByteArray *text = split_copy_text(msg, cfg->milter.tag_header, edits, top_cte,
 *					   name, value, body);
 *	int forged;
 *	char *uuid = split_copy_check(keys, tag_header, msg, &forged);
 *
 * DESCRIPTION
 *	A copy carries every header of the original as the MTA handed them
 *	to the milter, in order, except the tag header, Bcc and Resent-Bcc
 *	(a recipient must not see who else got the message) and any copy
 *	header; the changes of EDITS and TOP_CTE are applied as the MTA
 *	applies them to the original, and the copy header comes first:
 *
 *	    X-Beacon-Copy: <message uuid>; <signature>
 *
 *	The name is the tag header's with "-Copy" appended.  The signature
 *	(token_sign, purpose 'r') covers the message uuid and the copy's
 *	envelope recipients, lower-cased, in order.  A message that carries
 *	one whose signature verifies for its own envelope recipients is a
 *	copy the milter made: it passes without a second rewrite.  One that
 *	does not verify is forged (or mangled) and is not trusted.
 */
#ifndef BEACON_SPLIT_H
#define BEACON_SPLIT_H

#include <stddef.h>

#include <glib.h>

#include "msgctx.h"
#include "token.h"

/* split_edit - one change to the top-level headers */
struct split_edit {
	char *name;	/* header name */
	int index;	/* which occurrence (1 = first); one past the last adds a header */
	char *value;	/* the new value; NULL deletes that occurrence */
};

/* split_edit_add - append an edit to EDITS (a GPtrArray made by split_edits_new) */
void split_edit_add(GPtrArray *edits, const char *name, int index, const char *value);
/* split_edits_new - an empty edit list that frees its edits */
GPtrArray *split_edits_new(void);

/* split_copy_header_name - TAG_HEADER "-Copy", g_free'd by the caller */
char *split_copy_header_name(const char *tag_header);
/* split_copy_value - "<uuid>; <signature>" for RCPTS[0..N), g_free; NULL without a key */
char *split_copy_value(const struct token_keys *k, const char *uuid, const char *const *rcpts,
		       size_t n);
/* split_copy_check - the message uuid of M's copy header when it verifies for M's
 * recipients (g_free), else NULL; *FORGED: a copy header was there but did not verify */
char *split_copy_check(const struct token_keys *k, const char *tag_header,
		       const struct msg_ctx *m, int *forged);
/* split_copy_text - the text of one copy (header block, blank line, BODY) */
GByteArray *split_copy_text(const struct msg_ctx *m, const char *tag_header,
			    const GPtrArray *edits, const char *top_cte, const char *copy_name,
			    const char *copy_value, const GByteArray *body);

#endif
