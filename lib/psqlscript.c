/*
 * NAME
 *	psqlscript.c - read a psql report script into one parameterized statement
 *
 * DESCRIPTION
 *	See psqlscript.h.  The lexer follows psql's (psqlscan.l and
 *	psqlscanslash.l) for what reports use: quoted strings, E'' strings,
 *	quoted identifiers, dollar quotes, -- and nested block comments,
 *	"::", variables, parentheses (a ";" inside them ends nothing), and
 *	backslash commands that end at a newline or at the next unquoted
 *	backslash.  Conditional blocks are kept per file, as psql keeps
 *	them; text in an inactive block is lexed (so a quote still hides a
 *	backslash) but neither kept nor interpolated.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "psqlscript.h"

#define PSQLSCRIPT_MAX_IF 32		/* nested \if blocks in one file */
#define PSQLSCRIPT_MAX_DEPTH 8		/* nested \ir files */
#define PSQLSCRIPT_MAX_SIZE (1 << 20)	/* bytes in one file */
#define PSQLSCRIPT_MAX_ARGS 16		/* arguments of one backslash command */
#define PSQLSCRIPT_MAX_PRELOAD 64	/* files psqlscript_preload keeps */

/*
 * The files of the directory psqlscript_preload read, with their text:
 * written once before the program's threads start, read-only after, so
 * every thread may read them without a lock.
 */
static char *preload_dir;
static struct psqlscript_text {
	char *name;		/* the file's name in preload_dir */
	char *text;		/* its whole text, NUL-terminated */
} preload[PSQLSCRIPT_MAX_PRELOAD];
static size_t npreload;

/* psqlscript_if - the state of one \if block, as psql's conditional.h */
enum psqlscript_if {
	PSQLSCRIPT_IF_TRUE,		/* in the branch taken */
	PSQLSCRIPT_IF_FALSE,		/* no branch taken yet */
	PSQLSCRIPT_IF_IGNORED,		/* a branch was taken, or the block is inactive */
	PSQLSCRIPT_ELSE_TRUE,		/* in \else, taken */
	PSQLSCRIPT_ELSE_FALSE,		/* in \else, not taken */
};

/* psqlscript_file - the lexer's place in one file */
struct psqlscript_file {
	const char *path;		/* for messages and \ir */
	const char *start;		/* the file's text */
	const char *p;			/* the next byte */
	int line;			/* the line of p */
	int paren;			/* open parentheses */
	enum psqlscript_if cond[PSQLSCRIPT_MAX_IF];	/* open \if blocks */
	int ncond;			/* how many */
};

/* psqlscript_ident - may byte C be part of an identifier or variable name? */
static int psqlscript_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (c & 0x80);
}

/* psqlscript_blank - is C white space? */
static int psqlscript_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* psqlscript_fail - set s->err to "FILE:LINE: what"; returns -1 */
static int psqlscript_fail(struct psqlscript *s, const struct psqlscript_file *f,
			   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int psqlscript_fail(struct psqlscript *s, const struct psqlscript_file *f,
			   const char *fmt, ...)
{
	va_list ap;
	int n = f ? snprintf(s->err, sizeof(s->err), "%s:%d: ", f->path, f->line) : 0;

	if (n < 0 || (size_t)n >= sizeof(s->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* psqlscript_init - an empty script */
void psqlscript_init(struct psqlscript *s)
{
	memset(s, 0, sizeof(*s));
}

/* psqlscript_free - free everything S holds */
void psqlscript_free(struct psqlscript *s)
{
	for (size_t i = 0; i < s->nvars; i++) {
		free(s->names[i]);
		free(s->values[i]);
	}
	for (int i = 0; i < s->nparams; i++)
		free((char *)s->params[i]);
	for (size_t i = 0; i < s->nmap; i++) {
		free(s->map_from[i]);
		free(s->map_to[i]);
	}
	free(s->map_from);
	free(s->map_to);
	free(s->names);
	free(s->values);
	free(s->params);
	free(s->sql);
	memset(s, 0, sizeof(*s));
}

/* psqlscript_find - the index of variable NAME, or -1 */
static long psqlscript_find(const struct psqlscript *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->nvars; i++)
		if (strlen(s->names[i]) == len && memcmp(s->names[i], name, len) == 0)
			return (long)i;
	return -1;
}

/* psqlscript_get - a variable's value, or NULL */
const char *psqlscript_get(const struct psqlscript *s, const char *name)
{
	long i = psqlscript_find(s, name, strlen(name));
	return i < 0 ? NULL : s->values[i];
}

/* psqlscript_set - set (or replace) a variable */
int psqlscript_set(struct psqlscript *s, const char *name, const char *value)
{
	long i = psqlscript_find(s, name, strlen(name));
	char *v = strdup(value);

	if (!v)
		return -1;
	if (i >= 0) {
		free(s->values[i]);
		s->values[i] = v;
		return 0;
	}
	if (s->nvars == s->capvars) {
		size_t cap = s->capvars ? 2 * s->capvars : 16;
		char **nn = realloc(s->names, cap * sizeof(*nn));
		if (nn)
			s->names = nn;
		char **nv = nn ? realloc(s->values, cap * sizeof(*nv)) : NULL;
		if (!nv) {
			free(v);
			return -1;
		}
		s->values = nv;
		s->capvars = cap;
	}
	if (!(s->names[s->nvars] = strdup(name))) {
		free(v);
		return -1;
	}
	s->values[s->nvars++] = v;
	return 0;
}

/* psqlscript_unset - remove a variable, if set */
static void psqlscript_unset(struct psqlscript *s, const char *name)
{
	long i = psqlscript_find(s, name, strlen(name));

	if (i < 0)
		return;
	free(s->names[i]);
	free(s->values[i]);
	s->nvars--;
	s->names[i] = s->names[s->nvars];
	s->values[i] = s->values[s->nvars];
}

/* psqlscript_dotted - is NAME plain identifiers joined by single dots? */
static int psqlscript_dotted(const char *name)
{
	const char *p = name;

	for (;;) {
		size_t n = 0;
		if (*p >= '0' && *p <= '9')
			return 0;
		while (psqlscript_ident((unsigned char)p[n]) || (n > 0 && p[n] == '$'))
			n++;
		if (n == 0)
			return 0;
		p += n;
		if (*p == '\0')
			return 1;
		if (*p++ != '.')
			return 0;
	}
}

/* psqlscript_map - read relation FROM as TO (see psqlscript.h) */
int psqlscript_map(struct psqlscript *s, const char *from, const char *to)
{
	char **nf, **nt, *f, *t;

	if (!psqlscript_dotted(from) || !psqlscript_dotted(to)) {
		errno = EINVAL;
		return -1;
	}
	if (!(nf = realloc(s->map_from, (s->nmap + 1) * sizeof(*nf))))
		return -1;
	s->map_from = nf;
	if (!(nt = realloc(s->map_to, (s->nmap + 1) * sizeof(*nt))))
		return -1;
	s->map_to = nt;
	f = strdup(from);
	t = strdup(to);
	if (!f || !t) {
		free(f);
		free(t);
		return -1;
	}
	s->map_from[s->nmap] = f;
	s->map_to[s->nmap++] = t;
	return 0;
}

/* psqlscript_put - append N bytes to the statement; -1 on ENOMEM */
static int psqlscript_put(struct psqlscript *s, const char *b, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		char *ns;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (!(ns = realloc(s->sql, cap)))
			return -1;
		s->sql = ns;
		s->cap = cap;
	}
	memcpy(s->sql + s->len, b, n);
	s->len += n;
	s->sql[s->len] = '\0';
	return 0;
}

/* psqlscript_active - is the lexer in a branch that counts? */
static int psqlscript_active(const struct psqlscript_file *f)
{
	return f->ncond == 0 || f->cond[f->ncond - 1] == PSQLSCRIPT_IF_TRUE ||
	       f->cond[f->ncond - 1] == PSQLSCRIPT_ELSE_TRUE;
}

/* psqlscript_content - SQL text (not blanks, not comments) comes: one statement only */
static int psqlscript_content(struct psqlscript *s, const struct psqlscript_file *f)
{
	if (s->statements > 0)
		return psqlscript_fail(s, f, "more than one statement (a report is one query)");
	s->pending = 1;
	return 0;
}

/* psqlscript_emit - keep N bytes at the lexer's place (when active) and pass them */
static int psqlscript_emit(struct psqlscript *s, struct psqlscript_file *f, size_t n,
			   int content)
{
	if (psqlscript_active(f)) {
		if (content && psqlscript_content(s, f) < 0)
			return -1;
		if (psqlscript_put(s, f->p, n) < 0)
			return psqlscript_fail(s, f, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		f->line += f->p[i] == '\n';
	f->p += n;
	return 0;
}

/* psqlscript_bind - VALUE as the next parameter $N in the statement */
static int psqlscript_bind(struct psqlscript *s, const struct psqlscript_file *f,
			   const char *value)
{
	char num[24];
	int before = s->len && (psqlscript_ident((unsigned char)s->sql[s->len - 1]) ||
				s->sql[s->len - 1] == '$');
	int after = psqlscript_ident((unsigned char)*f->p) || *f->p == '$';

	if (psqlscript_content(s, f) < 0)
		return -1;
	if (s->nparams == s->capparams) {
		int cap = s->capparams ? 2 * s->capparams : 16;
		const char **np = realloc(s->params, (size_t)cap * sizeof(*np));
		if (!np)
			return psqlscript_fail(s, f, "out of memory");
		s->params = np;
		s->capparams = cap;
	}
	if (!(s->params[s->nparams] = strdup(value)))
		return psqlscript_fail(s, f, "out of memory");
	s->nparams++;
	snprintf(num, sizeof(num), "%s$%d%s", before ? " " : "", s->nparams, after ? " " : "");
	if (psqlscript_put(s, num, strlen(num)) < 0)
		return psqlscript_fail(s, f, "out of memory");
	return 0;
}

/* psqlscript_quoted - a string (ESC: E'', backslash escapes) or quoted identifier */
static int psqlscript_quoted(struct psqlscript *s, struct psqlscript_file *f, int esc)
{
	const char q = *f->p, *p = f->p + 1;

	for (;;) {
		if (!*p)
			return psqlscript_fail(s, f, "unterminated quoted %s",
					       q == '"' ? "identifier" : "string");
		if (esc && *p == '\\' && p[1]) {
			p += 2;
		} else if (*p == q) {
			if (p[1] != q)
				break;
			p += 2;
		} else {
			p++;
		}
	}
	return psqlscript_emit(s, f, (size_t)(p + 1 - f->p), 1);
}

/* psqlscript_comment - a -- comment to the end of the line, or a nested block comment */
static int psqlscript_comment(struct psqlscript *s, struct psqlscript_file *f)
{
	const char *p = f->p + 2;
	int depth = 1;

	if (f->p[0] == '-')
		return psqlscript_emit(s, f, strcspn(f->p, "\n"), 0);
	while (depth > 0) {
		if (!*p)
			return psqlscript_fail(s, f, "unterminated /* comment");
		if (p[0] == '/' && p[1] == '*')
			depth++, p += 2;
		else if (p[0] == '*' && p[1] == '/')
			depth--, p += 2;
		else
			p++;
	}
	return psqlscript_emit(s, f, (size_t)(p - f->p), 0);
}

/* psqlscript_dollar - a $tag$...$tag$ string, or a plain '$' */
static int psqlscript_dollar(struct psqlscript *s, struct psqlscript_file *f)
{
	const char *p = f->p, *q = p + 1, *end;
	size_t taglen;
	char tag[128];

	if (p > f->start && psqlscript_ident((unsigned char)p[-1]))
		return psqlscript_emit(s, f, 1, 1);
	if (*q >= '0' && *q <= '9') {
		if (!psqlscript_active(f))
			return psqlscript_emit(s, f, 1, 1);
		return psqlscript_fail(s, f, "$%c: a report may not use positional parameters "
				       "(use psql variables)", *q);
	}
	if (psqlscript_ident((unsigned char)*q))
		while (psqlscript_ident((unsigned char)*q))
			q++;
	taglen = (size_t)(q + 1 - p);
	if (*q != '$' || taglen >= sizeof(tag))
		return psqlscript_emit(s, f, 1, 1);
	memcpy(tag, p, taglen);
	tag[taglen] = '\0';
	end = strstr(q + 1, tag);
	if (!end)
		return psqlscript_fail(s, f, "unterminated dollar-quoted string %s", tag);
	return psqlscript_emit(s, f, (size_t)(end + taglen - p), 1);
}

/* psqlscript_varlen - the length of the variable name at P */
static size_t psqlscript_varlen(const char *p)
{
	size_t n = 0;

	while (psqlscript_ident((unsigned char)p[n]))
		n++;
	return n;
}

/* psqlscript_colon - "::", :'var', :"var", :{?var}, :var, or a plain ':' */
static int psqlscript_colon(struct psqlscript *s, struct psqlscript_file *f)
{
	const char *p = f->p, *name = p + 1, *value;
	size_t n, len;
	char form = p[1], var[128];

	if (form == ':')
		return psqlscript_emit(s, f, 2, 1);
	if (form == '\'' || form == '"')
		name = p + 2;
	else if (form == '{' && p[2] == '?')
		name = p + 3;
	else
		form = 0;
	n = psqlscript_varlen(name);
	len = (size_t)(name + n - p) + (form != 0);
	if (n == 0 || (form == '{' ? name[n] != '}' : form && name[n] != form))
		return psqlscript_emit(s, f, 1, 1);
	if (!psqlscript_active(f))
		return psqlscript_emit(s, f, len, 1);
	if (n >= sizeof(var))
		return psqlscript_fail(s, f, "variable name too long");
	memcpy(var, name, n);
	var[n] = '\0';
	value = psqlscript_get(s, var);
	if (form == '{') {
		f->p += len;
		value = value ? "TRUE" : "FALSE";
		if (psqlscript_content(s, f) < 0)
			return -1;
		if (psqlscript_put(s, value, strlen(value)) < 0)
			return psqlscript_fail(s, f, "out of memory");
		return 0;
	}
	if (form == '"')
		return psqlscript_fail(s, f, ":\"%s\": an identifier cannot be a parameter", var);
	if (!value && form)
		return psqlscript_fail(s, f, ":'%s': variable %s is not set", var, var);
	if (!value)
		return psqlscript_emit(s, f, len, 1);
	f->p += len;
	return psqlscript_bind(s, f, value);
}

/* psqlscript_escape - the byte a backslash escape in a quoted argument stands for */
static char psqlscript_escape(const char **pp)
{
	const char *p = *pp;
	int v = 0, i;

	switch (*p) {
	case 'n': *pp = p + 1; return '\n';
	case 't': *pp = p + 1; return '\t';
	case 'b': *pp = p + 1; return '\b';
	case 'r': *pp = p + 1; return '\r';
	case 'f': *pp = p + 1; return '\f';
	case 'x':
		for (i = 1; i <= 2 && p[i] && strchr("0123456789abcdefABCDEF", p[i]); i++)
			v = v * 16 + (p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
		if (i > 1) {
			*pp = p + i;
			return (char)v;
		}
		break;
	default:
		for (i = 0; i < 3 && p[i] >= '0' && p[i] <= '7'; i++)
			v = v * 8 + (p[i] - '0');
		if (i > 0) {
			*pp = p + i;
			return (char)v;
		}
	}
	*pp = p + 1;
	return *p;
}

/* psqlscript_argvar - interpolate :var or :{?var} at *PP into FP */
static int psqlscript_argvar(struct psqlscript *s, const struct psqlscript_file *f,
			     const char **pp, FILE *fp)
{
	const char *p = *pp, *name = p + 1 + (p[1] == '{' && p[2] == '?') * 2, *value;
	size_t n = psqlscript_varlen(name);
	char var[128];

	if (p[1] == '\'' || p[1] == '"')
		return psqlscript_fail(s, f, "%.2s...: only :var and :{?var} may stand in a "
				       "backslash command", p);
	if (n == 0 || n >= sizeof(var) || (name != p + 1 && name[n] != '}')) {
		fputc(':', fp);
		*pp = p + 1;
		return 0;
	}
	memcpy(var, name, n);
	var[n] = '\0';
	value = psqlscript_get(s, var);
	if (name != p + 1)
		fputs(value ? "TRUE" : "FALSE", fp);
	else if (value)
		fputs(value, fp);
	else
		fprintf(fp, ":%s", var);
	*pp = name + n + (name != p + 1);
	return 0;
}

/* psqlscript_arg - the next argument of a backslash command into *OUT
 * (malloc'd), NULL after the last */
static int psqlscript_arg(struct psqlscript *s, struct psqlscript_file *f, int eval, char **out)
{
	const char *p = f->p;
	size_t len;
	FILE *fp;
	int rc = 0;

	*out = NULL;
	while (*p && *p != '\n' && psqlscript_blank((unsigned char)*p))
		p++;
	f->p = p;
	if (!*p || *p == '\n' || *p == '\\')
		return 0;
	if (!(fp = open_memstream(out, &len)))
		return psqlscript_fail(s, f, "out of memory");
	while (rc == 0 && *p && !psqlscript_blank((unsigned char)*p) && *p != '\\') {
		if (*p == '\'') {
			for (p++; *p && *p != '\n' && !(*p == '\'' && p[1] != '\''); ) {
				if (*p == '\'')
					fputc('\'', fp), p += 2;
				else if (*p == '\\' && p[1] && p[1] != '\n')
					p++, fputc(psqlscript_escape(&p), fp);
				else
					fputc(*p++, fp);
			}
			if (*p != '\'')
				rc = psqlscript_fail(s, f, "unterminated quoted string");
			else
				p++;
		} else if (*p == '"') {
			size_t n = strcspn(p + 1, "\"\n");
			if (p[n + 1] != '"')
				rc = psqlscript_fail(s, f, "unterminated quoted identifier");
			else
				fwrite(p, 1, n + 2, fp), p += n + 2;
		} else if (*p == '`') {
			rc = psqlscript_fail(s, f, "`...`: beaconctl runs no shell commands");
		} else if (*p == ':' && eval) {
			rc = psqlscript_argvar(s, f, &p, fp);
		} else {
			fputc(*p++, fp);
		}
	}
	f->p = p;
	if (fclose(fp) != 0 && rc == 0)
		rc = psqlscript_fail(s, f, "out of memory");
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* psqlscript_bool - psql's boolean: true/false/yes/no (or a prefix), on/off, 1/0; -1 if none */
static int psqlscript_bool(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return -1;
	if (n <= 4 && strncasecmp(v, "true", n) == 0)
		return 1;
	if (n <= 5 && strncasecmp(v, "false", n) == 0)
		return 0;
	if (n <= 3 && strncasecmp(v, "yes", n) == 0)
		return 1;
	if (n <= 2 && strncasecmp(v, "no", n) == 0)
		return 0;
	if (n == 2 && strncasecmp(v, "on", n) == 0)
		return 1;
	if (n >= 2 && n <= 3 && strncasecmp(v, "off", n) == 0)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0)
		return *v == '1';
	return -1;
}

/* psqlscript_expr - the \if or \elif condition of ARGV; -1 (with s->err) if not a boolean */
static int psqlscript_expr(struct psqlscript *s, const struct psqlscript_file *f,
			   const char *cmd, int argc, char **argv)
{
	char expr[256] = "";
	size_t n = 0;
	int v;

	for (int i = 0; i < argc && n < sizeof(expr); i++)
		n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%s%s", i ? " " : "", argv[i]);
	v = psqlscript_bool(expr);
	if (v < 0)
		return psqlscript_fail(s, f, "\\%s: '%s' is not a boolean", cmd, expr);
	return v;
}

/* psqlscript_cond - \if, \elif, \else or \endif */
static int psqlscript_cond(struct psqlscript *s, struct psqlscript_file *f, const char *cmd,
			   int argc, char **argv)
{
	enum psqlscript_if *top = f->ncond ? &f->cond[f->ncond - 1] : NULL;
	int v;

	if (strcmp(cmd, "if") == 0) {
		if (f->ncond == PSQLSCRIPT_MAX_IF)
			return psqlscript_fail(s, f, "\\if blocks nested too deeply");
		v = psqlscript_active(f) ? psqlscript_expr(s, f, cmd, argc, argv) : 2;
		if (v < 0)
			return -1;
		f->cond[f->ncond++] = v == 2 ? PSQLSCRIPT_IF_IGNORED :
				      v ? PSQLSCRIPT_IF_TRUE : PSQLSCRIPT_IF_FALSE;
		return 0;
	}
	if (!top)
		return psqlscript_fail(s, f, "\\%s: no matching \\if", cmd);
	if (strcmp(cmd, "endif") == 0) {
		f->ncond--;
		return 0;
	}
	if (*top == PSQLSCRIPT_ELSE_TRUE || *top == PSQLSCRIPT_ELSE_FALSE)
		return psqlscript_fail(s, f, "\\%s: after \\else", cmd);
	if (strcmp(cmd, "else") == 0) {
		*top = *top == PSQLSCRIPT_IF_FALSE ? PSQLSCRIPT_ELSE_TRUE : PSQLSCRIPT_ELSE_FALSE;
		return 0;
	}
	if (*top == PSQLSCRIPT_IF_FALSE) {
		if ((v = psqlscript_expr(s, f, cmd, argc, argv)) < 0)
			return -1;
		*top = v ? PSQLSCRIPT_IF_TRUE : PSQLSCRIPT_IF_FALSE;
	} else {
		*top = PSQLSCRIPT_IF_IGNORED;
	}
	return 0;
}

/* psqlscript_include - \ir FILE: read FILE, relative to the file being read */
static int psqlscript_include(struct psqlscript *s, const struct psqlscript_file *f,
			      const char *file)
{
	const char *slash = strrchr(f->path, '/');
	char *path;
	int rc;

	if (s->pending)
		return psqlscript_fail(s, f, "\\ir inside a statement");
	/* only a file in the report's own directory: no value or path picks what runs */
	if (strchr(file, '/') || file[0] == '\0')
		return psqlscript_fail(s, f, "\\ir %s: only a file beside the report", file);
	if (!slash)
		path = strdup(file);
	else if (asprintf(&path, "%.*s/%s", (int)(slash - f->path), f->path, file) < 0)
		path = NULL;
	if (!path)
		return psqlscript_fail(s, f, "out of memory");
	rc = psqlscript_read(s, path);
	free(path);
	return rc;
}

/* psqlscript_do - run backslash command CMD with its arguments */
static int psqlscript_do(struct psqlscript *s, struct psqlscript_file *f, const char *cmd,
			 int argc, char **argv)
{
	int ir = strcmp(cmd, "ir") == 0 || strcmp(cmd, "include_relative") == 0;
	int set = strcmp(cmd, "set") == 0, unset = strcmp(cmd, "unset") == 0;
	char *value = NULL;
	size_t len;
	FILE *fp;

	if (strcmp(cmd, "if") == 0 || strcmp(cmd, "elif") == 0 || strcmp(cmd, "else") == 0 ||
	    strcmp(cmd, "endif") == 0)
		return psqlscript_cond(s, f, cmd, argc, argv);
	if (!ir && !set && !unset)
		return psqlscript_fail(s, f, "\\%s: not a command beaconctl runs (it runs \\ir, "
				       "\\if, \\elif, \\else, \\endif, \\set and \\unset)", cmd);
	if (!psqlscript_active(f))
		return 0;
	if (argc < 1)
		return psqlscript_fail(s, f, "\\%s: missing argument", cmd);
	if (ir)
		return psqlscript_include(s, f, argv[0]);
	if (psqlscript_varlen(argv[0]) != strlen(argv[0]))
		return psqlscript_fail(s, f, "\\%s: '%s' is not a variable name", cmd, argv[0]);
	if (unset) {
		psqlscript_unset(s, argv[0]);
		return 0;
	}
	if (!(fp = open_memstream(&value, &len)))
		return psqlscript_fail(s, f, "out of memory");
	for (int i = 1; i < argc; i++)
		fputs(argv[i], fp);
	if (fclose(fp) != 0 || psqlscript_set(s, argv[0], value) < 0) {
		free(value);
		return psqlscript_fail(s, f, "out of memory");
	}
	free(value);
	return 0;
}

/* psqlscript_meta - one backslash command at the lexer's place */
static int psqlscript_meta(struct psqlscript *s, struct psqlscript_file *f)
{
	char cmd[32], *argv[PSQLSCRIPT_MAX_ARGS];
	size_t n = strcspn(f->p + 1, " \t\r\n\f\v\\");
	int argc = 0, rc = 0, eval;

	if (n == 0 || n >= sizeof(cmd))
		return psqlscript_fail(s, f, "\\%.*s: not a command beaconctl runs", (int)n,
				       f->p + 1);
	memcpy(cmd, f->p + 1, n);
	cmd[n] = '\0';
	f->p += n + 1;
	/* arguments are interpolated only where psql would read them, and never
	 * in \ir: a variable's value must not choose the file that becomes SQL */
	eval = strcmp(cmd, "elif") == 0 ?
	       f->ncond && f->cond[f->ncond - 1] == PSQLSCRIPT_IF_FALSE : psqlscript_active(f);
	if (strcmp(cmd, "ir") == 0 || strcmp(cmd, "include_relative") == 0)
		eval = 0;
	for (;;) {
		char *arg;
		if (psqlscript_arg(s, f, eval, &arg) < 0) {
			rc = -1;
			break;
		}
		if (!arg)
			break;
		if (argc == PSQLSCRIPT_MAX_ARGS) {
			free(arg);
			rc = psqlscript_fail(s, f, "\\%s: too many arguments", cmd);
			break;
		}
		argv[argc++] = arg;
	}
	if (rc == 0)
		rc = psqlscript_do(s, f, cmd, argc, argv);
	/* the line ends the command: its newline is not SQL text */
	if (rc == 0 && *f->p == '\n') {
		f->p++;
		f->line++;
	}
	while (argc > 0)
		free(argv[--argc]);
	return rc;
}

/* psqlscript_plain - one byte of SQL: parentheses and ";" counted */
static int psqlscript_plain(struct psqlscript *s, struct psqlscript_file *f)
{
	char c = *f->p;

	if (c == '(')
		f->paren++;
	else if (c == ')' && f->paren > 0)
		f->paren--;
	else if (c == ';' && f->paren == 0 && psqlscript_active(f)) {
		if (psqlscript_emit(s, f, 1, 0) < 0)
			return -1;
		s->statements += s->pending;
		s->pending = 0;
		return 0;
	}
	return psqlscript_emit(s, f, 1, !psqlscript_blank((unsigned char)c));
}

/* psqlscript_mapped - the mapping of the whole name at the lexer's place, or -1 */
static long psqlscript_mapped(const struct psqlscript *s, const struct psqlscript_file *f)
{
	const char *p = f->p;

	if (p > f->start && (psqlscript_ident((unsigned char)p[-1]) || p[-1] == '.' ||
			     p[-1] == '$'))
		return -1;
	for (size_t i = 0; i < s->nmap; i++) {
		size_t n = strlen(s->map_from[i]);
		if (strncasecmp(p, s->map_from[i], n) == 0 &&
		    !psqlscript_ident((unsigned char)p[n]) && p[n] != '$')
			return (long)i;
	}
	return -1;
}

/* psqlscript_rename - the relation at the lexer's place (mapping I) as it is read */
static int psqlscript_rename(struct psqlscript *s, struct psqlscript_file *f, long i)
{
	const char *to = s->map_to[i];

	if (psqlscript_active(f)) {
		if (psqlscript_content(s, f) < 0)
			return -1;
		if (psqlscript_put(s, to, strlen(to)) < 0)
			return psqlscript_fail(s, f, "out of memory");
	}
	f->p += strlen(s->map_from[i]);
	return 0;
}

/* psqlscript_estring - does the quote at the lexer's place open an E'' string? */
static int psqlscript_estring(const struct psqlscript_file *f)
{
	const char *p = f->p;

	return p > f->start && (p[-1] == 'E' || p[-1] == 'e') &&
	       !(p - 1 > f->start && psqlscript_ident((unsigned char)p[-2]));
}

/* psqlscript_lex - the whole of file F */
static int psqlscript_lex(struct psqlscript *s, struct psqlscript_file *f)
{
	while (*f->p) {
		const char *p = f->p;
		long i;
		int rc;

		if (*p == '\\')
			rc = psqlscript_meta(s, f);
		else if (*p == '\'' || *p == '"')
			rc = psqlscript_quoted(s, f, *p == '\'' && psqlscript_estring(f));
		else if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*'))
			rc = psqlscript_comment(s, f);
		else if (*p == '$')
			rc = psqlscript_dollar(s, f);
		else if (*p == ':')
			rc = psqlscript_colon(s, f);
		else if (s->nmap && (i = psqlscript_mapped(s, f)) >= 0)
			rc = psqlscript_rename(s, f, i);
		else
			rc = psqlscript_plain(s, f);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* psqlscript_parse - read TEXT as the file PATH; at the top, one statement */
int psqlscript_parse(struct psqlscript *s, const char *path, const char *text)
{
	struct psqlscript_file f = { .path = path, .start = text, .p = text, .line = 1 };
	int rc;

	if (s->depth >= PSQLSCRIPT_MAX_DEPTH)
		return psqlscript_fail(s, NULL, "%s: \\ir nested too deeply", path);
	s->depth++;
	rc = psqlscript_lex(s, &f);
	s->depth--;
	if (rc < 0)
		return -1;
	if (f.ncond)
		return psqlscript_fail(s, &f, "end of file inside \\if (no \\endif)");
	/* psql sends what is left at the end of a file */
	s->statements += s->pending;
	s->pending = 0;
	if (s->depth == 0 && s->statements == 0)
		return psqlscript_fail(s, NULL, "%s: no SQL statement", path);
	return 0;
}

/* psqlscript_slurp - the whole text of the file at PATH into *TEXT (malloc'd,
 * NUL-terminated); 0, or -1 with why in ERR */
static int psqlscript_slurp(const char *path, char **text, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	size_t n;
	int bad;

	*text = NULL;
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!(*text = malloc(PSQLSCRIPT_MAX_SIZE + 1))) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(*text, 1, PSQLSCRIPT_MAX_SIZE + 1, fp);
	bad = ferror(fp);
	if (bad)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	fclose(fp);
	if (!bad && n > PSQLSCRIPT_MAX_SIZE) {
		snprintf(err, errlen, "%s: larger than 1 MB", path);
		bad = 1;
	}
	if (!bad) {
		(*text)[n] = '\0';
		if (memchr(*text, '\0', n)) {
			snprintf(err, errlen, "%s: holds a NUL byte", path);
			bad = 1;
		}
	}
	if (bad) {
		free(*text);
		*text = NULL;
		return -1;
	}
	{
		char *fit = realloc(*text, n + 1);	/* kept for the program's life by preload */

		if (fit)
			*text = fit;
	}
	return 0;
}

/* psqlscript_preloaded - the text preload holds for PATH; NULL with *IN set when
 * PATH is in preload_dir but was not there at start, *IN 0 when not in preload_dir */
static const char *psqlscript_preloaded(const char *path, int *in)
{
	size_t dl, i;

	*in = 0;
	if (!preload_dir)
		return NULL;
	dl = strlen(preload_dir);
	if (strncmp(path, preload_dir, dl) != 0 || path[dl] != '/' || strchr(path + dl + 1, '/'))
		return NULL;
	*in = 1;
	for (i = 0; i < npreload; i++)
		if (strcmp(preload[i].name, path + dl + 1) == 0)
			return preload[i].text;
	return NULL;
}

/* psqlscript_report_name - does NAME end in .sql or .psql (a report or an include)? */
static int psqlscript_report_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !strcmp(name + n - 4, ".sql")) || (n > 5 && !strcmp(name + n - 5, ".psql"));
}

/* psqlscript_preload - keep the text of every .sql and .psql file of DIR in memory */
int psqlscript_preload(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	char *path;
	int rc = 0;

	if (preload_dir) {
		if (d)
			closedir(d);
		if (strcmp(preload_dir, dir) == 0)
			return 0;		/* read already */
		snprintf(err, errlen, "%s: the files of %s are read already", dir, preload_dir);
		return -1;
	}
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!(preload_dir = strdup(dir))) {
		closedir(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !psqlscript_report_name(de->d_name))
			continue;		/* not a report nor a file one includes */
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);		/* a subdirectory, or gone meanwhile: not a report */
		} else if (npreload == PSQLSCRIPT_MAX_PRELOAD) {
			free(path);
			snprintf(err, errlen, "%s: more than %d files", dir, PSQLSCRIPT_MAX_PRELOAD);
			rc = -1;
		} else {
			rc = psqlscript_slurp(path, &preload[npreload].text, err, errlen);
			free(path);
			if (rc == 0 && !(preload[npreload].name = strdup(de->d_name))) {
				free(preload[npreload].text);
				snprintf(err, errlen, "out of memory");
				rc = -1;
			}
			if (rc == 0)
				npreload++;
		}
	}
	closedir(d);
	return rc;
}

/* psqlscript_read - read the file at PATH (or its preloaded text) and parse it */
int psqlscript_read(struct psqlscript *s, const char *path)
{
	const char *kept;
	char *text;
	int in, rc;

	if ((kept = psqlscript_preloaded(path, &in)))
		return psqlscript_parse(s, path, kept);
	if (in)
		return psqlscript_fail(s, NULL, "%s: not among the files read at start (restart to read a new file)", path);
	if (psqlscript_slurp(path, &text, s->err, sizeof(s->err)) < 0)
		return -1;
	rc = psqlscript_parse(s, path, text);
	free(text);
	return rc;
}
