/*
 * NAME
 *	inbound.c - beaconctl inbound: the tracked addresses of points of sale
 *
 * SYNOPSIS
 *	beaconctl inbound add ADDRESS POINT_OF_SALE [--owner OWNER]
 *	beaconctl inbound remove ADDRESS
 *	beaconctl inbound disable|enable ADDRESS
 *	beaconctl inbound list [--csv | --json]
 *	beaconctl inbound import FILE.csv
 *	beaconctl inbound source ...		(inbound_sources.c)
 *
 * DESCRIPTION
 *	Edits beacon.tracked_inbound (sql/schema/011_inbound.sql): the
 *	addresses whose mail beacon-milter records on the MX, each with its
 *	point of sale and an optional owner.  Addresses are stored in the one
 *	form beacon-milter compares (address.h), whatever spelling was given.
 *	add of an address already there sets its point of sale (and its owner
 *	when --owner is given) and makes it active again.  remove of an
 *	address that is not there is EX_DATAERR; the leads it received stay
 *	in beacon.inbound, with their point of sale.  disable keeps an address
 *	(and its leads) but has beacon-milter record nothing more for it;
 *	enable undoes that.
 *
 *	import reads CSV lines "address,point_of_sale[,owner]" (RFC 4180
 *	quoting; an optional header line whose first field is "address";
 *	blank lines skipped; CRLF or LF) and adds each as add would, all in
 *	one transaction.  Every line is checked before anything is written: a
 *	line that is not right (not UTF-8, too few or too many fields, an
 *	address without one form, an empty point of sale, an address given
 *	twice) is EX_DATAERR naming the file and line, and nothing is
 *	changed.  The rows go in one statement (arrays of the columns), so a
 *	file of 100,000 lines is one round trip.
 *
 *	Every change notifies beacon-milter (NOTIFY beacon_inbound, by a
 *	trigger), which reloads its set of addresses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <glib.h>

#include "address.h"
#include "ctl.h"
#include "inbound.h"
#include "output.h"

#define INBOUND_FIELDS 3		/* address, point_of_sale, owner */
#define INBOUND_FIELD_MAX 1000		/* octets of a point of sale or an owner */

/* inbound_row - one line of an import */
struct inbound_row {
	char *address;		/* its one form */
	char *pos;		/* point of sale */
	char *owner;		/* NULL: none */
	long line;		/* where it was read */
};

/* inbound_norm - ADDRESS in its one form into OUT; NULL, or why it has none */
static const char *inbound_norm(const char *addr, char *out, size_t outlen)
{
	const char *why = NULL, *dom;

	if (!strchr(addr, '@'))
		return "expected user@domain";
	if (address_norm(addr, out, outlen, &why) < 0)
		return why;
	dom = address_domain(out);
	if (!dom || !strchr(dom, '.'))
		return "the domain after @ has no dot";
	return NULL;
}

/* inbound_text_ok - a point of sale or owner: UTF-8, no control characters, not too long */
static const char *inbound_text_ok(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return "not valid UTF-8";
	if (strlen(s) > INBOUND_FIELD_MAX)
		return "longer than 1000 characters";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return "control characters are not allowed";
	return NULL;
}

/* inbound_upsert - add ADDRESS (one form) for POS, or update it; 1 added, 0 updated */
static int inbound_upsert(struct ctl *c, const char *address, const char *pos,
			  const char *owner)
{
	const char *params[3] = { address, pos, owner };
	PGresult *res = ctl_exec(c, "inbound add",
				 "INSERT INTO beacon.tracked_inbound AS t (address, point_of_sale, owner) "
				 "VALUES ($1, $2, $3) ON CONFLICT (address) DO UPDATE "
				 "SET point_of_sale = EXCLUDED.point_of_sale, "
				 "owner = coalesce(EXCLUDED.owner, t.owner), active = true "
				 "RETURNING (xmax = 0)", 3, params);
	int added = strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return added;
}

/* inbound_add - beaconctl inbound add */
static int inbound_add(struct ctl *c, const char *address, const char *pos, const char *owner)
{
	ctl_connect(c);
	if (inbound_upsert(c, address, pos, owner))
		printf("added %s (%s)\n", address, pos);
	else
		printf("%s was tracked already; now %s\n", address, pos);
	return 0;
}

/* inbound_remove - beaconctl inbound remove; EX_DATAERR if not there */
static int inbound_remove(struct ctl *c, const char *address)
{
	PGresult *res;
	int found;

	ctl_connect(c);
	res = ctl_exec(c, "inbound remove", "DELETE FROM beacon.tracked_inbound "
		       "WHERE address = $1 RETURNING point_of_sale", 1, &address);
	found = PQntuples(res) > 0;
	if (found)
		printf("removed %s (%s)\n", address, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!found)
		ctl_die(c, EX_DATAERR, "'%s' is not a tracked inbound address", address);
	return 0;
}

/* inbound_set_active - beaconctl inbound enable (ACTIVE 1) or disable (0);
 * EX_DATAERR if the address is not there */
static int inbound_set_active(struct ctl *c, const char *address, int active)
{
	const char *params[2] = { address, active ? "t" : "f" };
	const char *verb = active ? "enabled" : "disabled";
	PGresult *res;
	int found;

	ctl_connect(c);
	res = ctl_exec(c, active ? "inbound enable" : "inbound disable",
		       "UPDATE beacon.tracked_inbound AS t SET active = $2::boolean "
		       "FROM (SELECT address, active FROM beacon.tracked_inbound "
		       "WHERE address = $1 FOR UPDATE) AS o WHERE t.address = o.address "
		       "RETURNING t.point_of_sale, o.active = $2::boolean", 2, params);
	found = PQntuples(res) > 0;
	if (found && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		printf("%s was %s already (%s)\n", address, verb, PQgetvalue(res, 0, 0));
	else if (found)
		printf("%s %s (%s)\n", verb, address, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!found)
		ctl_die(c, EX_DATAERR, "'%s' is not a tracked inbound address", address);
	return 0;
}

/* inbound_list - beaconctl inbound list */
static int inbound_list(struct ctl *c, enum out_format fmt)
{
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "inbound list",
		       "SELECT address, point_of_sale, owner, active, "
		       "to_char(added_at, 'YYYY-MM-DD HH24:MI:SS') AS added_at "
		       "FROM beacon.tracked_inbound ORDER BY point_of_sale, address", 0, NULL);
	return ctl_print_result(c, res, fmt);
}

/* inbound_csv_split - split LINE (no line end) into at most MAX fields, in place,
 * RFC 4180 quoting; the number of fields, or -1 with *WHY */
static int inbound_csv_split(char *line, char **fields, int max, const char **why)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		if (n == max) {
			*why = "too many fields (expected address,point_of_sale[,owner])";
			return -1;
		}
		fields[n++] = w;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0') {
					*why = "a quoted field is not closed on its line";
					return -1;
				}
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			if (*r != ',' && *r != '\0') {
				*why = "text after a quoted field";
				return -1;
			}
		} else {
			while (*r != ',' && *r != '\0') {
				if (*r == '"') {
					*why = "a quote inside an unquoted field";
					return -1;
				}
				*w++ = *r++;
			}
		}
		if (*r == '\0') {
			*w = '\0';
			return n;
		}
		*w++ = '\0';
		r++;
	}
}

/* inbound_free_rows - release N rows */
static void inbound_free_rows(struct inbound_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].address);
		free(rows[i].pos);
		free(rows[i].owner);
	}
	free(rows);
}

/* inbound_read - every row of FILE into *ROWS (*N); exits with the file and line
 * of the first line that is not right */
static void inbound_read(struct ctl *c, const char *file, struct inbound_row **rows, size_t *n)
{
	char *line = NULL, *fields[INBOUND_FIELDS], key[ADDRESS_SIZE];
	const char *why = NULL, *what = NULL;
	size_t cap = 0, len = 0, vcap = 0;
	struct inbound_row *v = NULL;
	long lineno = 0;
	ssize_t got;
	GHashTable *seen;	/* address (of v) -> its index + 1 */
	FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");

	if (!fp)
		ctl_die(c, EX_NOINPUT, "%s: %s", file, strerror(errno));
	seen = g_hash_table_new(g_str_hash, g_str_equal);
	while ((got = getline(&line, &cap, fp)) >= 0) {
		char *s = line;
		int nf;

		lineno++;
		while (got > 0 && (s[got - 1] == '\n' || s[got - 1] == '\r'))
			s[--got] = '\0';
		if (lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;		/* a spreadsheet's byte order mark */
		if (strlen(s) != (size_t)(got - (s - line))) {
			why = "a NUL byte";
			break;
		}
		if (!g_utf8_validate(s, -1, NULL)) {
			why = "not valid UTF-8";
			break;
		}
		if (s[strspn(s, " \t")] == '\0')
			continue;
		if ((nf = inbound_csv_split(s, fields, INBOUND_FIELDS, &why)) < 0)
			break;
		for (int i = 0; i < nf; i++) {	/* blanks around a field go */
			char *e = fields[i] + strlen(fields[i]);
			while (e > fields[i] && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			fields[i] += strspn(fields[i], " \t");
		}
		if (lineno == 1 && strcasecmp(fields[0], "address") == 0)
			continue;	/* the header */
		if (nf < 2) {
			why = "expected address,point_of_sale[,owner]";
			break;
		}
		if ((what = inbound_norm(fields[0], key, sizeof(key))) != NULL) {
			why = "the address";
			break;
		}
		if (fields[1][0] == '\0') {
			why = "the point of sale is empty";
			break;
		}
		if ((what = inbound_text_ok(fields[1])) != NULL) {
			why = "the point of sale";
			break;
		}
		if (nf > 2 && (what = inbound_text_ok(fields[2])) != NULL) {
			why = "the owner";
			break;
		}
		if (g_hash_table_contains(seen, key)) {
			long first = v[GPOINTER_TO_SIZE(g_hash_table_lookup(seen, key)) - 1].line;
			if (fp != stdin)
				fclose(fp);
			free(line);
			g_hash_table_destroy(seen);
			inbound_free_rows(v, len);
			ctl_die(c, EX_DATAERR, "%s, line %ld: %s is on line %ld already; "
				"nothing imported", file, lineno, key, first);
		}
		if (len == vcap) {	/* doubling: a large file is not copied over and over */
			size_t ncap = vcap ? 2 * vcap : 64;
			struct inbound_row *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				why = "out of memory";
				break;
			}
			v = nv;
			vcap = ncap;
		}
		v[len].address = strdup(key);
		v[len].pos = strdup(fields[1]);
		v[len].owner = nf > 2 && fields[2][0] ? strdup(fields[2]) : NULL;
		v[len].line = lineno;
		if (!v[len].address || !v[len].pos || (nf > 2 && fields[2][0] && !v[len].owner)) {
			len++;
			why = "out of memory";
			break;
		}
		g_hash_table_insert(seen, v[len].address, GSIZE_TO_POINTER(len + 1));
		len++;
	}
	g_hash_table_destroy(seen);
	if (!why && ferror(fp))
		why = strerror(errno);
	if (fp != stdin)
		fclose(fp);
	free(line);
	if (why) {
		inbound_free_rows(v, len);
		if (what)
			ctl_die(c, EX_DATAERR, "%s, line %ld: %s: %s; nothing imported", file,
				lineno, why, what);
		ctl_die(c, EX_DATAERR, "%s, line %ld: %s; nothing imported", file, lineno, why);
	}
	*rows = v;
	*n = len;
}

/* inbound_array_add - append S (NULL: a NULL element) to the PostgreSQL array
 * literal A (its '{' written already) */
static void inbound_array_add(GString *a, const char *s)
{
	if (a->len > 1)
		g_string_append_c(a, ',');
	if (!s) {
		g_string_append(a, "NULL");
		return;
	}
	g_string_append_c(a, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			g_string_append_c(a, '\\');
		g_string_append_c(a, *s);
	}
	g_string_append_c(a, '"');
}

/* inbound_import - beaconctl inbound import: every row of FILE, or none, in one
 * statement */
static int inbound_import(struct ctl *c, const char *file)
{
	struct inbound_row *rows = NULL;
	size_t n = 0, added;
	GString *col[3];
	const char *params[3];
	PGresult *res;

	inbound_read(c, file, &rows, &n);
	for (int k = 0; k < 3; k++)
		col[k] = g_string_new("{");
	for (size_t i = 0; i < n; i++) {
		inbound_array_add(col[0], rows[i].address);
		inbound_array_add(col[1], rows[i].pos);
		inbound_array_add(col[2], rows[i].owner);
	}
	for (int k = 0; k < 3; k++) {
		g_string_append_c(col[k], '}');
		params[k] = col[k]->str;
	}
	inbound_free_rows(rows, n);
	ctl_connect(c);
	ctl_cmd(c, "inbound import", "BEGIN", 0, NULL);
	ctl_cmd(c, "inbound import", "SET LOCAL statement_timeout = 0", 0, NULL);	/* a big file */
	res = ctl_exec(c, "inbound import",
		       "WITH u AS (INSERT INTO beacon.tracked_inbound AS t "
		       "(address, point_of_sale, owner) "
		       "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
		       "ON CONFLICT (address) DO UPDATE "
		       "SET point_of_sale = EXCLUDED.point_of_sale, "
		       "owner = coalesce(EXCLUDED.owner, t.owner), active = true "
		       "RETURNING (xmax = 0) AS added) "
		       "SELECT count(*) FILTER (WHERE added) FROM u", 3, params);
	added = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ctl_cmd(c, "inbound import", "COMMIT", 0, NULL);
	for (int k = 0; k < 3; k++)
		g_string_free(col[k], TRUE);
	printf("imported %zu address%s: %zu added, %zu updated\n", n, n == 1 ? "" : "es",
	       added, n - added);
	return 0;
}

/* ctl_inbound - add, remove, list, import, source */
int ctl_inbound(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "priority", required_argument, NULL, 'p' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct inbound_opts o = { .fmt = OUT_TABLE };
	char key[ADDRESS_SIZE];
	const char *verb, *why;
	int ch, nfmt = 0, nargs;
	char **args;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': o.owner = optarg; break;
		case 'p': o.priority = optarg; break;
		case 'C': o.fmt = OUT_CSV; nfmt++; break;
		case 'J': o.fmt = OUT_JSON; nfmt++; break;
		default: ctl_option_error(c, ch, argv);
		}
	}
	if (nfmt > 1)
		ctl_usage_error(c, "--csv and --json exclude each other");
	if (optind == argc)
		ctl_usage_error(c, "expected add, remove, disable, enable, list, import or source");
	verb = argv[optind++];
	args = argv + optind;
	nargs = argc - optind;
	if (strcmp(verb, "source") == 0)
		return inbound_source(c, nargs, args, &o, nfmt);
	if (o.priority)
		ctl_usage_error(c, "--priority goes with source add");
	if (nfmt && strcmp(verb, "list") != 0)
		ctl_usage_error(c, "--csv and --json go with list");
	if (o.owner && strcmp(verb, "add") != 0)
		ctl_usage_error(c, "--owner goes with add");

	if (strcmp(verb, "add") == 0) {
		if (nargs < 2)
			ctl_usage_error(c, "add needs ADDRESS and POINT_OF_SALE");
		if (nargs > 2)
			ctl_usage_error(c, "unexpected argument '%s'", args[2]);
		if ((why = inbound_norm(args[0], key, sizeof(key))) != NULL)
			ctl_usage_error(c, "'%s': %s", args[0], why);
		if (args[1][0] == '\0')
			ctl_usage_error(c, "the point of sale is empty");
		if ((why = inbound_text_ok(args[1])) != NULL ||
		    (o.owner && (why = inbound_text_ok(o.owner)) != NULL))
			ctl_usage_error(c, "%s", why);
		return inbound_add(c, key, args[1], o.owner && *o.owner ? o.owner : NULL);
	}
	if (strcmp(verb, "remove") == 0 || strcmp(verb, "disable") == 0 ||
	    strcmp(verb, "enable") == 0) {
		if (nargs < 1)
			ctl_usage_error(c, "%s needs an ADDRESS", verb);
		if (nargs > 1)
			ctl_usage_error(c, "unexpected argument '%s'", args[1]);
		if ((why = inbound_norm(args[0], key, sizeof(key))) != NULL)
			ctl_usage_error(c, "'%s': %s", args[0], why);
		if (verb[0] == 'r')
			return inbound_remove(c, key);
		return inbound_set_active(c, key, verb[0] == 'e');
	}
	if (strcmp(verb, "list") == 0) {
		if (nargs > 0)
			ctl_usage_error(c, "unexpected argument '%s'", args[0]);
		return inbound_list(c, o.fmt);
	}
	if (strcmp(verb, "import") == 0) {
		if (nargs < 1)
			ctl_usage_error(c, "import needs a FILE (- for standard input)");
		if (nargs > 1)
			ctl_usage_error(c, "unexpected argument '%s'", args[1]);
		return inbound_import(c, args[0]);
	}
	ctl_usage_error(c, "unknown action '%s' (add, remove, disable, enable, list, import or "
			"source)", verb);
}
