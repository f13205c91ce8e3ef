/*
 * fuzz_spool.c - libFuzzer target for the spool record reader: any bytes
 * (a damaged spool file) are walked without reading out of bounds, and
 * the consumed length never passes the end.
 */
#include <stdint.h>
#include <stdlib.h>

#include "spool.h"

/* count - a callback that only counts */
static int count(void *arg, uint8_t type, const void *data, size_t len)
{
	(void)type;
	(void)data;
	*(size_t *)arg += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - walk DATA as spool records */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0, bad = 0;
	long used = spool_parse(data, size, count, &total, &bad);
	if (used > (long)size || (used < 0 && bad >= size) || total > size)
		abort();
	return 0;
}
