/*
 * fuzz_dsn.c - libFuzzer target for the delivery status notification
 * parser of beacon-milter (milter/dsn.c).  The input is a whole message.
 * Whatever it is, the parse must end without a sanitizer report, and a
 * report it accepts must hold at least one and at most DSN_MAX_RCPTS
 * recipients, each with an action, a status that is empty only when the
 * recipient is no bounce, a hard bounce only among bounces, a diagnostic
 * of valid UTF-8 within DSN_DIAG_MAX octets, and at most DSN_MAX_TOKENS
 * tokens of 36 characters.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "dsn.h"

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

/* LLVMFuzzerTestOneInput - parse one message, check what came out */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsn d;

	if (dsn_parse((const char *)data, size, "https://t.example.com", &d) < 0)
		return 0;
	if (d.rcpts->len == 0 || d.rcpts->len > DSN_MAX_RCPTS || d.tokens->len > DSN_MAX_TOKENS)
		abort();
	for (guint i = 0; i < d.rcpts->len; i++) {
		const struct dsn_rcpt *r = d.rcpts->pdata[i];
		if (!r->action || !r->diagnostic || strlen(r->diagnostic) > DSN_DIAG_MAX ||
		    !g_utf8_validate(r->diagnostic, -1, NULL) || (r->bounce && !r->status[0]) ||
		    (r->hard && !r->bounce))
			abort();
	}
	for (guint i = 0; i < d.tokens->len; i++)
		if (strlen(d.tokens->pdata[i]) != 36)
			abort();
	dsn_clear(&d);
	return 0;
}
