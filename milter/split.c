/*
 * NAME
 *	split.c - the copy header and the text of a per-recipient copy
 *
 * DESCRIPTION
 *	See split.h.  The signed data is the message uuid, a NUL, and each
 *	recipient lower-cased followed by a NUL, so no two recipient lists
 *	sign the same bytes.
 */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "split.h"

/* split_edit_free - GDestroyNotify for struct split_edit */
static void split_edit_free(gpointer p)
{
	struct split_edit *e = p;

	g_free(e->name);
	g_free(e->value);
	g_free(e);
}

/* split_edits_new - an empty list */
GPtrArray *split_edits_new(void)
{
	return g_ptr_array_new_with_free_func(split_edit_free);
}

/* split_edit_add - one more edit */
void split_edit_add(GPtrArray *edits, const char *name, int index, const char *value)
{
	struct split_edit *e = g_new(struct split_edit, 1);

	e->name = g_strdup(name);
	e->index = index;
	e->value = g_strdup(value);
	g_ptr_array_add(edits, e);
}

/* split_copy_header_name - "<tag header>-Copy" */
char *split_copy_header_name(const char *tag_header)
{
	return g_strconcat(tag_header, "-Copy", NULL);
}

/* split_signed - the bytes the signature covers */
static GString *split_signed(const char *uuid, const char *const *rcpts, size_t n)
{
	GString *s = g_string_new(uuid);

	g_string_append_c(s, '\0');
	for (size_t i = 0; i < n; i++) {
		char *low = g_ascii_strdown(rcpts[i], -1);
		g_string_append(s, low);
		g_string_append_c(s, '\0');
		g_free(low);
	}
	return s;
}

/* split_copy_value - uuid and signature */
char *split_copy_value(const struct token_keys *k, const char *uuid, const char *const *rcpts,
		       size_t n)
{
	GString *s = split_signed(uuid, rcpts, n);
	char sig[TOKEN_SIG_STR_LEN + 1];
	int rc = token_sign(k, 'r', s->str, s->len, sig);

	g_string_free(s, TRUE);
	return rc < 0 ? NULL : g_strdup_printf("%s; %s", uuid, sig);
}

/* split_copy_check - verify the first copy header against M's envelope */
char *split_copy_check(const struct token_keys *k, const char *tag_header,
		       const struct msg_ctx *m, int *forged)
{
	char *name = split_copy_header_name(tag_header), *uuid = NULL, **parts = NULL;
	const char *v = msg_header_get(m, name);
	uint8_t rid[TOKEN_RID_LEN];

	*forged = 0;
	g_free(name);
	if (!v)
		return NULL;
	*forged = 1;
	parts = g_strsplit(v, ";", 3);
	if (g_strv_length(parts) == 2) {
		const char **rcpts = g_new(const char *, m->rcpts->len + 1);
		char *u = g_strstrip(parts[0]), *sig = g_strstrip(parts[1]);
		GString *s;

		for (guint i = 0; i < m->rcpts->len; i++)
			rcpts[i] = ((const struct msg_rcpt *)g_ptr_array_index(m->rcpts, i))->addr;
		s = split_signed(u, rcpts, m->rcpts->len);
		if (m->rcpts->len > 0 && token_uuid_rid(u, rid) == 0 &&
		    token_sign_check(k, 'r', s->str, s->len, sig, strlen(sig)) == TOKEN_OK) {
			uuid = g_strdup(u);
			*forged = 0;
		}
		g_string_free(s, TRUE);
		g_free(rcpts);
	}
	g_strfreev(parts);
	return uuid;
}

/* split_append_header - "Name: value" CRLF, bare LFs in the value made CRLF */
static void split_append_header(GByteArray *b, const char *name, const char *value)
{
	g_byte_array_append(b, (const guint8 *)name, (guint)strlen(name));
	g_byte_array_append(b, (const guint8 *)": ", 2);
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			g_byte_array_append(b, (const guint8 *)"\r", 1);
		g_byte_array_append(b, (const guint8 *)p, 1);
	}
	g_byte_array_append(b, (const guint8 *)"\r\n", 2);
}

/* split_edit_for - the edit of occurrence IDX of NAME, or NULL */
static const struct split_edit *split_edit_for(const GPtrArray *edits, const char *name, int idx)
{
	for (guint i = 0; edits && i < edits->len; i++) {
		const struct split_edit *e = g_ptr_array_index(edits, i);
		if (e->index == idx && g_ascii_strcasecmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

/* split_copy_text - headers as the copy carries them, then the body */
GByteArray *split_copy_text(const struct msg_ctx *m, const char *tag_header,
			    const GPtrArray *edits, const char *top_cte, const char *copy_name,
			    const char *copy_value, const GByteArray *body)
{
	GByteArray *b = g_byte_array_sized_new(body->len + m->text->len / 2 + 1024);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int cte_done = 0;

	split_append_header(b, copy_name, copy_value);
	for (guint i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		char *low = g_ascii_strdown(h->name, -1);
		int idx = GPOINTER_TO_INT(g_hash_table_lookup(seen, low)) + 1;
		const struct split_edit *e;
		const char *value = h->value;

		g_hash_table_replace(seen, low, GINT_TO_POINTER(idx));
		if (g_ascii_strcasecmp(h->name, tag_header) == 0 ||
		    g_ascii_strcasecmp(h->name, copy_name) == 0 ||
		    g_ascii_strcasecmp(h->name, "Bcc") == 0 ||
		    g_ascii_strcasecmp(h->name, "Resent-Bcc") == 0)
			continue;
		if ((e = split_edit_for(edits, h->name, idx)) != NULL) {
			if (!e->value)
				continue;
			value = e->value;
		}
		if (top_cte && idx == 1 && g_ascii_strcasecmp(h->name, "Content-Transfer-Encoding") == 0) {
			value = top_cte;
			cte_done = 1;
		}
		split_append_header(b, h->name, value);
	}
	/* edits past the last occurrence add headers, as smfi_chgheader does */
	for (guint i = 0; edits && i < edits->len; i++) {
		const struct split_edit *e = g_ptr_array_index(edits, i);
		char *low = g_ascii_strdown(e->name, -1);
		int have = GPOINTER_TO_INT(g_hash_table_lookup(seen, low));

		if (e->value && e->index > have)
			split_append_header(b, e->name, e->value);
		g_free(low);
	}
	if (top_cte && !cte_done)
		split_append_header(b, "Content-Transfer-Encoding", top_cte);
	g_byte_array_append(b, (const guint8 *)"\r\n", 2);
	g_byte_array_append(b, body->data, body->len);
	g_hash_table_destroy(seen);
	return b;
}
