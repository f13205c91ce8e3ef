/*
 * fuzz_html_rewrite.c - libFuzzer target for the HTML tokenizer and rewriter.
 *
 * DESCRIPTION
 *	Each input is an HTML part.  It is tokenized (the tokens must tile
 *	the input), rewritten three ways (pixel, placeholder and clicks on;
 *	literal URLs tracked with a callback that keeps some links; nothing
 *	asked for) and searched for the placeholder.  Beyond what the
 *	sanitizers catch it checks that
 *	- a rewrite with nothing asked for gives the input back byte for
 *	  byte unless the input holds "data-beacon",
 *	- html_has_placeholder() agrees with the placeholders the rewrite
 *	  replaced,
 *	- the pixel appears exactly when it was either placed or inserted,
 *	- the hidden link (asked for in the first rewrite) appears once.
 *
 *	Seeds: tests/fuzz/corpus/html_rewrite/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "html_rewrite.h"
#include "html_scan.h"

#define PH	"https://t.example/p.gif"
#define PXURL	"https://t.example/o/TOK.gif"
#define HPURL	"https://t.example/c/TOK/0/MAC?u=HIDDEN"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_sign - fixed link callback; ARG non-NULL keeps URLs of odd length */
static int fuzz_sign(void *arg, const char *url, GString *out)
{
	if (arg != NULL && strlen(url) % 2 == 1)
		return 0;
	g_string_append(out, "https://t.example/c/TOK/1/MAC?u=");
	g_string_append(out, url);
	return 1;
}

/* fuzz_tokens - the tokens of P must tile it */
static void fuzz_tokens(const char *p, size_t len)
{
	struct html_scan s;
	struct html_token t;
	size_t at = 0;

	html_scan_init(&s, p, len);
	while (html_scan_next(&s, &t)) {
		if (t.start != at || t.end < t.start || t.end > len)
			abort();
		at = t.end;
	}
	if (at != len)
		abort();
}

/* fuzz_has - do P[0..LEN) hold S, ASCII case-insensitively? */
static int fuzz_has(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= len; i++)
		if (g_ascii_strncasecmp(p + i, s, n) == 0)
			return 1;
	return 0;
}

/* LLVMFuzzerTestOneInput - one input through every entry point */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keep[] = { "https://x.example/unsub", NULL };
	const char *p = (const char *)data;
	struct html_rewrite_opts all = { .pixel_url = PXURL,
	    .placeholder_url = PH, .clicks = 1, .keep_urls = keep,
	    .link = fuzz_sign, .honeypot_url = HPURL };
	struct html_rewrite_opts literal = { .clicks = 1,
	    .track_literal_urls = 1, .link = fuzz_sign, .link_arg = &all };
	struct html_rewrite_opts none = { .link = fuzz_sign };
	struct html_rewrite_stats st;
	GString *out = g_string_new(NULL);
	int has;

	fuzz_tokens(p, size);
	has = html_has_placeholder(p, size, PH);

	if (html_rewrite(p, size, &all, out, &st) != 0)
		abort();
	if ((st.placeholders > 0) != has || (st.placeholders > 0) == st.pixel_inserted)
		abort();
	if (!fuzz_has(out->str, out->len, "<img src=\"" PXURL "\" width=\"1\""))
		abort();
	if (st.honeypots != 1 || !fuzz_has(out->str, out->len, "<a href=\"" HPURL "\" tabindex"))
		abort();

	g_string_truncate(out, 0);
	if (html_rewrite(p, size, &literal, out, &st) != 0 || st.pixel_inserted)
		abort();

	g_string_truncate(out, 0);
	if (html_rewrite(p, size, &none, out, &st) != 0)
		abort();
	if (!fuzz_has(p, size, "data-beacon") &&
	    (out->len != size || memcmp(out->str, p, size) != 0))
		abort();
	g_string_free(out, TRUE);
	return 0;
}
