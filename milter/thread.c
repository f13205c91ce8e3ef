/*
 * thread.c - the conversation an outgoing message continues (see thread.h)
 */
#include <string.h>

#include <gmime/gmime.h>

#include "inbound.h"
#include "thread.h"

/* thread_first - the first Message-ID of header value V, bare; NULL if none or unusable */
static char *thread_first(const char *v)
{
	GMimeReferences *l = v ? g_mime_references_parse(NULL, v) : NULL;
	const char *id = l && g_mime_references_length(l) > 0 ?
			 g_mime_references_get_message_id(l, 0) : NULL;
	char *out = NULL;

	if (id && *id && strlen(id) <= INBOUND_ID_MAX && g_utf8_validate(id, -1, NULL))
		out = g_strdup(id);
	if (l)
		g_mime_references_free(l);
	return out;
}

/* thread_root - the first id of References, else of In-Reply-To */
char *thread_root(const char *references, const char *in_reply_to)
{
	char *root = thread_first(references);

	return root ? root : thread_first(in_reply_to);
}
