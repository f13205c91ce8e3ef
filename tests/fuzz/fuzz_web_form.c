/*
 * fuzz_web_form.c - libFuzzer target for what beacon-web reads from a
 * request's own bytes.
 *
 * Each input is taken
 *   1. as an urlencoded form body (form_parse): every pair kept must be
 *      a NUL-terminated name and value inside the decoded copy, no longer
 *      than the input, at most FORM_MAX_PAIRS of them, and form_get() of
 *      each name must find a pair;
 *   2. each value as the `next` of a sign-in (form_local_path): a path
 *      it accepts starts with one '/' and holds only printable ASCII
 *      without a backslash;
 *   3. each value as an Origin or Referer (form_origin_host): a host it
 *      gives is lower case printable ASCII without '/', '@' or a blank;
 *   4. each value as a /static/ name (static_type) and a CSV cell
 *      (csv_cell): a cell quoted or not, quotes inside always doubled.
 *
 * Build: make fuzz-build (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "form.h"
#include "static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_value - the checks of 2 to 4 on one decoded value */
static void fuzz_check_value(const char *v)
{
	char host[256];
	struct buf b = { 0 };
	size_t quotes = 0;

	if (form_local_path(v)) {
		if (v[0] != '/' || v[1] == '/' || v[1] == '\\' || strchr(v, '\\'))
			abort();
		for (const unsigned char *p = (const unsigned char *)v; *p; p++)
			if (*p <= ' ' || *p >= 0x7f)
				abort();
	}
	if (form_origin_host(v, host, sizeof(host)) == 0) {
		if (!*host || strpbrk(host, "/@ \t\r\n?#\\"))
			abort();
		for (const unsigned char *p = (const unsigned char *)host; *p; p++)
			if (*p < ' ' || *p >= 0x7f || isupper(*p))
				abort();
	}
	if (static_type(v) && (v[0] == '.' || strchr(v, '/') || strstr(v, "..")))
		abort();
	csv_cell(&b, v);
	for (const char *p = v; *p; p++)
		quotes += *p == '"';
	/* every quote of the value doubled, plus the two around a quoted cell */
	size_t out = 0;
	for (const char *p = buf_str(&b); *p; p++)
		out += *p == '"';
	if (out != 2 * quotes && out != 2 * quotes + 2)
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;

	if (form_parse(&f, (const char *)data, size) < 0)
		return 0;
	if (f.n > FORM_MAX_PAIRS)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		size_t nl = strlen(f.name[i]), vl = strlen(f.value[i]);
		if (f.name[i] < f.mem || f.name[i] + nl > f.mem + size ||
		    f.value[i] < f.mem || f.value[i] + vl > f.mem + size ||
		    form_get(&f, f.name[i]) == NULL)
			abort();
		fuzz_check_value(f.value[i]);
	}
	form_free(&f);
	return 0;
}
