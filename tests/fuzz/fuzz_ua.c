/*
 * fuzz_ua.c - libFuzzer target for User-Agent classification.
 *
 * ua_open() loads uap-core's regexes.yaml ($UAP_REGEXES, default
 * /usr/share/uap-core/regexes.yaml) and $BEACON_SRC/pixelsrv/mail-clients.yaml
 * once; each input, as a NUL-terminated string, goes through ua_parse()
 * twice (cold, then from the cache) and ua_parse_uap().  Every result
 * field must be NUL-terminated valid UTF-8 without control characters,
 * the device one of the five values, and the cached answer the same.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined
 *	tests/fuzz/fuzz_ua.c pixelsrv/ua.c pixelsrv/uap.c pixelsrv/rx.c
 *	$(pkg-config --cflags --libs yaml-0.1 libpcre2-8) -lpthread
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ua_db *fuzz_db;

/* fuzz_open - load the regexes and rules once, or abort */
static void fuzz_open(void)
{
	const char *r = getenv("UAP_REGEXES"), *src = getenv("BEACON_SRC");
	char rules[4096], err[512];

	snprintf(rules, sizeof(rules), "%s/pixelsrv/mail-clients.yaml",
	    src && *src ? src : ".");
	fuzz_db = ua_open(r && *r ? r : "/usr/share/uap-core/regexes.yaml",
	    rules, err, sizeof(err));
	if (fuzz_db == NULL) {
		fprintf(stderr, "fuzz_ua: %s\n", err);
		abort();
	}
}

/* fuzz_clean - abort unless the LEN bytes of S hold a clean UTF-8 string */
static void fuzz_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, n;

	if (memchr(s, '\0', len) == NULL)
		abort();
	while (u[i] != '\0') {
		if (u[i] < 0x20 || u[i] == 0x7f)
			abort();
		n = u[i] < 0x80 ? 1 : u[i] >= 0xc2 && u[i] <= 0xdf ? 2 :
		    u[i] >= 0xe0 && u[i] <= 0xef ? 3 : u[i] >= 0xf0 && u[i] <= 0xf4 ? 4 : 0;
		if (n == 0)
			abort();
		for (k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				abort();
		i += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const devices[] = { "", "desktop", "mobile",
	    "tablet", "bot" };
	struct ua_info a, b;
	struct ua_uap u;
	char *s;
	size_t i;

	if (fuzz_db == NULL)
		fuzz_open();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ua_parse(fuzz_db, s, &a);
	ua_parse(fuzz_db, s, &b);
	ua_parse_uap(fuzz_db, s, &u);
	free(s);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	fuzz_clean(a.device, sizeof(a.device));
	fuzz_clean(a.os, sizeof(a.os));
	fuzz_clean(a.browser, sizeof(a.browser));
	fuzz_clean(a.client, sizeof(a.client));
	for (i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (strcmp(a.device, devices[i]) == 0)
			break;
	if (i == sizeof(devices) / sizeof(devices[0]) || (a.proxy != 0 && a.proxy != 1))
		abort();
	if (a.proxy && (a.device[0] || a.os[0] || a.browser[0] || !a.client[0]))
		abort();
	fuzz_clean(u.family, sizeof(u.family));
	fuzz_clean(u.os, sizeof(u.os));
	fuzz_clean(u.device, sizeof(u.device));
	fuzz_clean(u.model, sizeof(u.model));
	if (!u.family[0] || !u.os[0] || !u.device[0])
		abort();
	return 0;
}
