/*
 * fuzz_forward.c - libFuzzer target for the forward parser of
 * beacon-milter (milter/forward.c).  The input is a whole message, and
 * also an HTML text.  Whatever it is, the parse must end without a
 * sanitizer report; a forward must name its form and a form only a
 * forward; every address found must be in its one form (normalising it
 * again changes nothing); every string must be valid UTF-8.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "address.h"
#include "forward.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerInitialize - GMime once */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	return 0;
}

/* check_addr - NULL, or an address in its one form */
static void check_addr(const char *a)
{
	char key[ADDRESS_SIZE];

	if (a && (address_norm(a, key, sizeof(key), NULL) < 0 || strcmp(a, key) != 0))
		abort();
}

/* check_text - NULL, or valid UTF-8 */
static void check_text(const char *s)
{
	if (s && !g_utf8_validate(s, -1, NULL))
		abort();
}

/* LLVMFuzzerTestOneInput - parse one message and one HTML text, check what came out */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forward_orig o;
	char *t;

	if (forward_parse((const char *)data, size, &o) == 0) {
		if ((o.forward != 0) != (o.how != NULL))
			abort();
		check_addr(o.from);
		check_addr(o.reply_to);
		check_text(o.list_id);
		check_text(o.subject);
		check_text(o.message_id);
		/* only a forward as attachment has the original's Message-ID */
		if (o.message_id && (!o.how || strcmp(o.how, "rfc822") != 0))
			abort();
		forward_orig_clear(&o);
	}
	if (forward_parse_own((const char *)data, size, &o) == 0) {
		if (o.forward || o.how || o.message_id)
			abort();
		check_addr(o.from);
		forward_orig_clear(&o);
	}
	t = forward_html_text((const char *)data, size);
	check_text(t);
	g_free(t);
	return 0;
}
