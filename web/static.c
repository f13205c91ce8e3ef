/*
 * static.c - the pages' static files (see static.h)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "server.h"
#include "static.h"

#define STATIC_CACHE "max-age=3600"
#define STATIC_NAME_MAX 128
#define STATIC_FILES_MAX 64			/* files kept in memory */
#define STATIC_FILE_MAX (4 * 1024 * 1024)	/* octets of one file */

/* static_file - one file read at start */
struct static_file {
	char name[STATIC_NAME_MAX + 1];
	const char *type;
	char *data;
	size_t len;
};

/* the files static_load() read: written once before the server starts, read-only after */
static struct static_file static_files[STATIC_FILES_MAX];
static size_t static_nfiles;
static int static_loaded;

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

/* static_read - the whole regular file PATH (at most STATIC_FILE_MAX octets) into *DATA;
 * 0, or -1 */
static int static_read(const char *path, char **data, size_t *len)
{
	int fd = static_open(path);
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size > STATIC_FILE_MAX ||
	    !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return -1;
	}
	*data = buf;
	*len = got;
	return 0;
}

/* static_keep - read file NAME at PATH into the table; 0, or -1 */
static int static_keep(const char *name, const char *path)
{
	struct static_file *f;

	if (static_nfiles >= STATIC_FILES_MAX)
		return -1;
	f = &static_files[static_nfiles];
	if (static_read(path, &f->data, &f->len) < 0)
		return -1;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = static_type(name);
	static_nfiles++;
	return 0;
}

/* static_load - read the served files of DIR and CHARTJS once, before the privileges are
 * dropped: a source tree under /root or a 0640 file stays servable, and a request never
 * touches the file system */
int static_load(const char *dir, const char *chartjs)
{
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);
	int have_chart = 0;

	static_loaded = 1;
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (!static_type(e->d_name) ||
			    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
				continue;
			if (static_keep(e->d_name, path) < 0) {
				log_warnx("static_dir: cannot keep %s (over %d files or %d octets, or "
				    "unreadable)", path, STATIC_FILES_MAX, STATIC_FILE_MAX);
				continue;
			}
			have_chart |= !strcmp(e->d_name, "chart.min.js");
		}
		closedir(d);
	}
	if (!have_chart && chartjs && *chartjs && static_keep("chart.min.js", chartjs) < 0)
		log_warnx("chartjs %s cannot be read: the summary has no charts", chartjs);
	return (int)static_nfiles;
}

/* static_find - the kept file NAME, or NULL */
static const struct static_file *static_find(const char *name)
{
	for (size_t i = 0; i < static_nfiles; i++)
		if (!strcmp(static_files[i].name, name))
			return &static_files[i];
	return NULL;
}

/* static_serve - the file, or 404 */
int static_serve(struct web_req *r, const char *name, const char *dir, const char *chartjs)
{
	const char *type = static_type(name);
	const struct static_file *f;
	struct MHD_Response *resp;
	char path[4096];
	struct stat st;
	int fd = -1;

	if (static_loaded) {
		if (!type || !(f = static_find(name)))
			return web_error(r, 404, "not found");
		resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return web_error(r, 500, "cannot answer");
		if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type) != MHD_YES) {
			MHD_destroy_response(resp);
			return -1;
		}
		return web_send_response(r, 200, resp, STATIC_CACHE);
	}
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
