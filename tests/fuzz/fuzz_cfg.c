/*
 * fuzz_cfg.c - libFuzzer target for the beacon.conf(5) reader: the input
 * is a config file (through a memfd); loading must either succeed or
 * fail with a message naming file and line, and never leak or crash.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - load DATA as a config file */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct beacon_cfg cfg;
	char path[64], err[1024];

	if (fd < 0)
		fd = memfd_create("fuzz-cfg", 0);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (cfg_load(&cfg, path, err, sizeof(err)) < 0 && strncmp(err, path, strlen(path)) != 0)
		abort();
	cfg_free(&cfg);
	return 0;
}
