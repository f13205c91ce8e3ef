/*
 * form.c - urlencoded forms, local paths, Origin hosts (see form.h)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "form.h"

/* form_decode - S in place: '+' to space, then %HH; cut at a decoded NUL */
static void form_decode(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(s);
}

/* form_parse - split on '&' and '=', decode each part in place */
int form_parse(struct form *f, const char *s, size_t len)
{
	char *p, *end;

	memset(f, 0, sizeof(*f));
	if (!(f->mem = malloc(len + 1)))
		return -1;
	memcpy(f->mem, s, len);
	f->mem[len] = '\0';
	end = f->mem + strlen(f->mem);	/* a NUL in the body ends it */
	for (p = f->mem; p < end && f->n < FORM_MAX_PAIRS;) {
		char *amp = strchr(p, '&'), *eq;

		if (!amp)
			amp = end;
		*amp = '\0';
		if (*p) {
			eq = strchr(p, '=');
			if (eq)
				*eq = '\0';
			form_decode(p);
			f->name[f->n] = p;
			f->value[f->n] = eq ? eq + 1 : amp;
			if (eq)
				form_decode(eq + 1);
			f->n++;
		}
		p = amp + 1;
	}
	return 0;
}

/* form_get - first value of NAME */
const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->name[i], name))
			return f->value[i];
	return NULL;
}

/* form_free - release the decoded copy */
void form_free(struct form *f)
{
	free(f->mem);
	memset(f, 0, sizeof(*f));
}

/* form_local_path - a path of this site, nothing a browser would take for another host */
int form_local_path(const char *s)
{
	if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '\\')
			return 0;
	return 1;
}

/* form_origin_host - "scheme://host[:port]" of S, lower case, into HOST */
int form_origin_host(const char *s, char *host, size_t len)
{
	const char *p = s ? strstr(s, "://") : NULL, *h;
	size_t n;

	if (!p || p == s || len == 0)
		return -1;
	for (const char *q = s; q < p; q++)
		if (!isalpha((unsigned char)*q))
			return -1;
	h = p + 3;
	n = strcspn(h, "/?#");
	if (n == 0 || n >= len || memchr(h, '@', n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c <= ' ' || c >= 0x7f || c == '\\')
			return -1;
		host[i] = (char)tolower(c);
	}
	host[n] = '\0';
	return 0;
}
