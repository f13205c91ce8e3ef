/*
 * NAME
 *	static.h - GET /static/<name>: the pages' CSS, JavaScript and Chart.js
 *
 * DESCRIPTION
 *	<name> is a plain file name ([A-Za-z0-9._-], not starting with a
 *	dot, no "..") of static_dir with one of the known suffixes (.css,
 *	.js, .svg, .png, .ico, .woff2, .txt), served with that suffix's
 *	fixed content type and Cache-Control: max-age=3600; anything else,
 *	a directory or a file that is not there is 404.  chart.min.js is
 *	the [web] chartjs file (Debian's libjs-chart.js) when the directory
 *	has none of that name.
 *
 *	static_load() reads those files into memory at start, before the
 *	privileges are dropped (the checkout may sit under /root, the
 *	files may be 0640): from then on a request never touches the file
 *	system and a file added later is not served until a restart.
 *	Without static_load() the files are opened per request.
 */
#ifndef BEACON_WEB_STATIC_H
#define BEACON_WEB_STATIC_H

#include "web.h"

/* static_type - the content type of file NAME, or NULL when it is not served */
const char *static_type(const char *name);
/* static_load - read the served files of DIR and CHARTJS; how many were kept */
int static_load(const char *dir, const char *chartjs);
/* static_serve - answer GET /static/NAME from DIR (CHARTJS for chart.min.js) */
int static_serve(struct web_req *r, const char *name, const char *dir, const char *chartjs);

#endif
