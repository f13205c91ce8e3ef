/*
 * static.c - the pages' static files (see static.h)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server.h"
#include "static.h"

#define STATIC_CACHE "max-age=3600"
#define STATIC_NAME_MAX 128

/* static_types - the suffixes served and their content types */
static const struct { const char *suffix, *type; } static_types[] = {
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
};

/* static_type - a plain file name with a known suffix: its type */
const char *static_type(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > STATIC_NAME_MAX || name[0] == '.' || strstr(name, "..") ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return NULL;
	for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++) {
		size_t l = strlen(static_types[i].suffix);
		if (n > l && !strcmp(name + n - l, static_types[i].suffix))
			return static_types[i].type;
	}
	return NULL;
}

/* static_open - a regular file, read-only; -1 if it is none */
static int static_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* static_serve - the file, or 404 */
int static_serve(struct web_req *r, const char *name, const char *dir, const char *chartjs)
{
	const char *type = static_type(name);
	struct MHD_Response *resp;
	char path[4096];
	struct stat st;
	int fd = -1;

	if (type && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path))
		fd = static_open(path);
	if (fd < 0 && type && !strcmp(name, "chart.min.js") && chartjs && *chartjs)
		fd = static_open(chartjs);
	if (fd < 0)
		return web_error(r, 404, "not found");
	if (fstat(fd, &st) < 0 || !(resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd))) {
		close(fd);
		return web_error(r, 500, "cannot read the file");
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		MHD_destroy_response(resp);
		return -1;
	}
	return web_send_response(r, 200, resp, STATIC_CACHE);
}
