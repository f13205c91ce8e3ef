/*
 * fuzz_address.c - libFuzzer target for address_norm, address_norm_domain
 * and address_norm_pattern: the input, cut at its first NUL, is read as a
 * recipient address, a domain and a suppression pattern.  Nothing may
 * crash; a one form must fit ADDRESS_SIZE, hold no upper-case ASCII
 * letter, have a domain after its last '@', and be its own one form.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - OUT is a one form: short, lower case, stable under NORM */
static void fuzz_check(const char *out, int (*norm)(const char *, char *, size_t, const char **))
{
	char again[ADDRESS_SIZE];
	const char *why = NULL;

	if (strlen(out) >= ADDRESS_SIZE)
		abort();
	for (const char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (norm(out, again, sizeof(again), &why) != 0 || strcmp(out, again) != 0)
		abort();
}

/* LLVMFuzzerTestOneInput - normalise DATA three ways and check each result */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = strndup((const char *)data, size), out[ADDRESS_SIZE];
	const char *why = NULL;

	if (!in)
		return 0;
	if (address_norm(in, out, sizeof(out), &why) == 0) {
		if (!address_domain(out))
			abort();
		fuzz_check(out, address_norm);
	} else if (!why || out[0] != '\0') {
		abort();
	}
	if (address_norm_domain(in, out, sizeof(out), &why) == 0)
		fuzz_check(out, address_norm_domain);
	if (address_norm_pattern(in, out, sizeof(out), &why) == 0)
		fuzz_check(out, address_norm_pattern);
	free(in);
	return 0;
}
