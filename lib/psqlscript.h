/*
 * NAME
 *	psqlscript.h - read a psql report script into one parameterized statement
 *
 * SYNOPSIS
 *	struct psqlscript s;
 *	psqlscript_init(&s);
 *	psqlscript_set(&s, "campaign", "spring");	   (psql -v campaign=spring)
 *	if (psqlscript_read(&s, "sql/reports/summary.sql") < 0)
 *		... s.err ...
 *	PQexecParams(conn, s.sql, s.nparams, NULL, s.params, NULL, NULL, 0);
 *	psqlscript_free(&s);
 *
 * DESCRIPTION
 *	The files in sql/reports/ are psql scripts, runnable with psql -v
 *	VAR=VALUE -f FILE.  beaconctl runs them through libpq instead: this
 *	module reads a script the way psql's lexer does and keeps the
 *	meaning, but a variable's value never becomes SQL text:
 *
 *	  :'var'   a string literal in psql; here a parameter $N whose
 *		   value is the variable's (type left to the server, as a
 *		   quoted literal's is).  Each occurrence is its own $N.
 *	  :var     pasted as it is by psql; here a parameter $N too, so it
 *		   may only stand where a value goes (LIMIT :limit), never
 *		   for SQL syntax.  An unset :var stays text, as in psql
 *		   (an array slice a[1:n]).
 *	  :{?var}  TRUE or FALSE, as in psql.
 *	  :"var"   an identifier: refused (no parameter can stand there).
 *
 *	Nothing is replaced inside quoted strings ('...', E'...'), quoted
 *	identifiers, dollar quotes, comments, or in "::".  A :'var' or :"var"
 *	whose variable is unset is an error (psql would send it to the
 *	server as a syntax error); so is a $N already in the file.
 *
 *	The psql commands a report may use, anywhere outside quotes, several
 *	on a line:
 *
 *	  \ir FILE, \include_relative FILE   read FILE (relative to the
 *		   directory of the file being read) here
 *	  \if EXPR, \elif EXPR, \else, \endif   conditional blocks, per
 *		   file as in psql; EXPR is a boolean after interpolation
 *		   (true, false, yes, no, on, off, 1, 0, or a unique prefix)
 *	  \set NAME [VALUE...]   the values concatenated ('quoted' with
 *		   psql's escapes, or bare); \unset NAME
 *
 *	Any other backslash command (\i, \g, \gset, \copy, `shell`, ...) is
 *	an error.  A script is one statement: text after the first
 *	statement's ";" other than blanks and comments is an error, as is a
 *	file with no statement at all.
 *
 *	psqlscript_map(&s, "beacon.events", "beacon.web_events") reads the
 *	relation beacon.events as beacon.web_events (beacon-web runs the
 *	reports over the view of what its user may see).  A name is replaced
 *	where it stands as SQL text, outside quotes, quoted identifiers,
 *	comments and dollar quotes, as a whole name: written as given (any
 *	case, no blanks around its dots), not a part of a longer one
 *	(beacon.events_default, x.beacon.events) nor quoted ("beacon".events);
 *	followed by a "." (beacon.events.at) it is the same relation and is
 *	replaced too.  A spelling it misses names the original relation,
 *	which a role meant to see only the mapped one should not be able to
 *	read: the query then fails rather than shows too much.
 */
#ifndef BEACON_CTL_PSQLSCRIPT_H
#define BEACON_CTL_PSQLSCRIPT_H

#include <stddef.h>

/* psqlscript - the variables going in, the statement coming out */
struct psqlscript {
	char **names;		/* variable names */
	char **values;		/* their values */
	size_t nvars;		/* variables set */
	size_t capvars;		/* slots in names and values */
	char *sql;		/* the statement, variables as $1..$n; NUL-terminated */
	size_t len;		/* bytes in sql */
	size_t cap;		/* bytes allocated for sql */
	const char **params;	/* the values of $1..$n (owned: copies) */
	int nparams;		/* n */
	int capparams;		/* slots in params */
	int statements;		/* statements finished so far */
	int pending;		/* the current statement has SQL text */
	int depth;		/* \ir nesting of the file being read */
	char **map_from;	/* relations read as another (psqlscript_map) */
	char **map_to;		/* what each is read as */
	size_t nmap;		/* how many */
	char err[512];		/* why psqlscript_read failed: FILE:LINE: what */
};

/* psqlscript_init - no variables, no statement */
void psqlscript_init(struct psqlscript *s);
/* psqlscript_set - set variable NAME to VALUE (as psql -v NAME=VALUE); -1 on ENOMEM */
int psqlscript_set(struct psqlscript *s, const char *name, const char *value);
/* psqlscript_get - the value of variable NAME, or NULL if unset */
const char *psqlscript_get(const struct psqlscript *s, const char *name);
/* psqlscript_map - read relation FROM ("schema.name") as TO from now on; -1 on
 * ENOMEM or a FROM or TO that is not dotted plain identifiers */
int psqlscript_map(struct psqlscript *s, const char *from, const char *to);
/* psqlscript_read - read the script at PATH; 0, or -1 with s->err */
int psqlscript_read(struct psqlscript *s, const char *path);
/* psqlscript_preload - read every .sql and .psql file of DIR (not its
 * subdirectories) now, and later reads of DIR/NAME from memory, never from the
 * disk: a program that drops its privileges calls it before, when the files may
 * be root's only.  For one directory (called again with it, nothing is done),
 * before threads start.  0, or -1 with why in ERR */
int psqlscript_preload(const char *dir, char *err, size_t errlen);
/* psqlscript_parse - read TEXT as the script at PATH (\ir is relative to it); 0 or -1 */
int psqlscript_parse(struct psqlscript *s, const char *path, const char *text);
/* psqlscript_free - free the variables, the mappings, the statement and its parameters */
void psqlscript_free(struct psqlscript *s);

#endif
