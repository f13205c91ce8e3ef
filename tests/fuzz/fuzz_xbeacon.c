/*
 * fuzz_xbeacon.c - libFuzzer target for the tag header and the other
 * header values beacon-milter reads (milter/tagging.c): X-Beacon
 * parameters, List-Unsubscribe targets, Content-Type exclusions and
 * track_senders matching.  The input is one header value.  Whatever it
 * is, the result must be consistent: a known mode, a campaign of valid
 * UTF-8 within 200 octets, defaults when the header is malformed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "tagging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse DATA as a header value */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = g_strndup((const char *)data, size);
	char *rules[] = { v, "@example.com", "!boss@example.com", NULL };
	struct cfg_list l = { rules, 3 };
	static int ready;
	struct xbeacon xb;
	char **urls;
	int rc;

	if (!ready) {
		g_mime_init();	/* RFC 2047 decoding, content types */
		ready = 1;
	}
	rc = xbeacon_parse(v, &xb);

	if (xb.mode != XB_TRACK && xb.mode != XB_NO)
		abort();
	if ((rc < 0) != (xb.malformed != 0))
		abort();
	if (xb.malformed && (xb.clicks != -1 || xb.notify != -1 || xb.attachments != -1 ||
			     xb.campaign || !xb.why[0]))
		abort();
	if (xb.campaign && (strlen(xb.campaign) > XB_CAMPAIGN_MAX ||
			    !g_utf8_validate(xb.campaign, -1, NULL)))
		abort();
	xbeacon_clear(&xb);
	urls = tagging_keep_urls(v);
	for (char **u = urls; *u; u++)
		if (strpbrk(*u, "\r\n<>"))
			abort();
	g_strfreev(urls);
	(void)tagging_header_exclusion(v, 0);
	(void)tagging_sender_rule(&l, v, v);
	(void)tagging_is_internal(&l, v);
	g_free(v);
	return 0;
}
