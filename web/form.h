/*
 * NAME
 *	form.h - what beacon-web reads from a request's own bytes: an
 *	urlencoded form, the local path a sign-in returns to, the host an
 *	Origin or Referer names
 *
 * SYNOPSIS
 *	struct form f;
 *	form_parse(&f, body, len);
 *	const char *v = form_get(&f, "csrf");
 *	form_free(&f);
 *
 * DESCRIPTION
 *	form_parse() reads application/x-www-form-urlencoded text: pairs
 *	separated by '&', name and value by the first '=', '+' a space,
 *	%HH a byte (libmicrohttpd's MHD_http_unescape).  A pair without '='
 *	has the empty value; empty pairs are skipped; at most FORM_MAX_PAIRS
 *	are kept.  A name or value whose decoding holds a NUL byte ends
 *	there.  form_get() gives the first value of a name.
 *
 *	form_local_path() tells whether a `next` parameter is a path on this
 *	site: it starts with one '/', not "//" or "/\" (which browsers take
 *	for another host), and holds no backslash, control character,
 *	space or non-ASCII byte.
 *
 *	form_origin_host() takes the host[:port] out of an Origin value
 *	(scheme://host[:port]) or a Referer URL (scheme://host[:port]/...),
 *	lower-cased; the userinfo of a Referer is refused.
 */
#ifndef BEACON_WEB_FORM_H
#define BEACON_WEB_FORM_H

#include <stddef.h>

#define FORM_MAX_PAIRS 64	/* pairs kept of one form */

/* form - the decoded pairs of one form */
struct form {
	char *name[FORM_MAX_PAIRS];	/* decoded names, pointing into mem */
	char *value[FORM_MAX_PAIRS];	/* decoded values, pointing into mem */
	size_t n;			/* pairs kept */
	char *mem;			/* one copy of the text, decoded in place */
};

/* form_parse - decode LEN bytes of S into *F (form_free it); 0, or -1 out of memory */
int form_parse(struct form *f, const char *s, size_t len);
/* form_get - the first value of NAME, or NULL */
const char *form_get(const struct form *f, const char *name);
/* form_free - release what form_parse kept */
void form_free(struct form *f);
/* form_local_path - is S a path on this site (see above)?  1 or 0 */
int form_local_path(const char *s);
/* form_origin_host - the host[:port] of an Origin or Referer value S into HOST
 * (LEN bytes), lower case; 0, or -1 when S names none */
int form_origin_host(const char *s, char *host, size_t len);

#endif
