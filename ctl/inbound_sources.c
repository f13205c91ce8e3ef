/*
 * NAME
 *	inbound_sources.c - beaconctl inbound source: the rules that name a lead's source
 *
 * SYNOPSIS
 *	beaconctl inbound source add FIELD PATTERN SOURCE [--priority N]
 *	beaconctl inbound source list [--csv | --json]
 *	beaconctl inbound source remove ID
 *	beaconctl inbound source test FIELD VALUE [FIELD VALUE]...
 *
 * DESCRIPTION
 *	Edits beacon.inbound_sources (sql/schema/011_inbound.sql).  FIELD is
 *	domain (the original sender's domain or a subdomain of it: PATTERN
 *	is a domain, stored in its one form, address.h), from, reply_to
 *	(the original From or Reply-To address) or list_id (the List-Id
 *	value without <>), the last three matched by PATTERN as a
 *	case-insensitive glob (* and ?).  The rule of lowest priority
 *	(default 100), then lowest id, that matches names the source.  add
 *	of a (FIELD, PATTERN) already there sets its source (and its
 *	priority when --priority is given) and prints its id.  remove of an
 *	id that is not there is EX_DATAERR.  beacon-milter's next message
 *	uses the rules as they are: nothing to reload.  test prints the rule
 *	that a message with the given values (the original sender's domain,
 *	From, Reply-To, List-Id) would match and the source it names, or
 *	that none does (source 'other'): what beacon.inbound_mail() would
 *	record, by the same function.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "address.h"
#include "ctl.h"
#include "inbound.h"
#include "output.h"

/* inbound_source_fields - the FIELD names, as the table's CHECK has them */
static const char *const inbound_source_fields[] = { "domain", "from", "reply_to", "list_id" };

/* inbound_source_text_ok - a pattern or source: not empty, no controls, not too long */
static const char *inbound_source_text_ok(const char *s)
{
	if (!*s)
		return "is empty";
	if (strlen(s) > 1000)
		return "is longer than 1000 characters";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return "holds control characters";
	return NULL;
}

/* inbound_source_add - add the rule (FIELD, PATTERN) -> SOURCE, or update it */
static int inbound_source_add(struct ctl *c, const char *field, const char *pattern,
			      const char *source, const char *priority)
{
	const char *params[4] = { field, pattern, source, priority };
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "inbound source add",
		       "INSERT INTO beacon.inbound_sources AS s (field, pattern, source, priority) "
		       "VALUES ($1, $2, $3, coalesce($4::int, 100)) "
		       "ON CONFLICT (field, pattern) DO UPDATE SET source = EXCLUDED.source, "
		       "priority = CASE WHEN $4 IS NULL THEN s.priority ELSE EXCLUDED.priority END "
		       "RETURNING s.id, s.priority, (xmax = 0)", 4, params);
	printf("%s rule %s: %s %s -> %s (priority %s)\n",
	       strcmp(PQgetvalue(res, 0, 2), "t") == 0 ? "added" : "updated",
	       PQgetvalue(res, 0, 0), field, pattern, source, PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

/* inbound_source_remove - remove the rule ID; EX_DATAERR if there is none */
static int inbound_source_remove(struct ctl *c, const char *id)
{
	PGresult *res;
	int found;

	ctl_connect(c);
	res = ctl_exec(c, "inbound source remove", "DELETE FROM beacon.inbound_sources "
		       "WHERE id = $1::int RETURNING field, pattern, source", 1, &id);
	found = PQntuples(res) > 0;
	if (found)
		printf("removed rule %s: %s %s -> %s\n", id, PQgetvalue(res, 0, 0),
		       PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	if (!found)
		ctl_die(c, EX_DATAERR, "no source rule %s", id);
	return 0;
}

/* inbound_source_test - the rule and source a message with VALUES (domain, from,
 * reply_to, list_id; NULL: none) would get */
static int inbound_source_test(struct ctl *c, const char *const values[4])
{
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "inbound source test",
		       "SELECT s.id, s.priority, s.field, s.pattern, s.source "
		       "FROM (SELECT beacon.inbound_source_rule($1, $2, $3, $4) AS id) r "
		       "LEFT JOIN beacon.inbound_sources s ON s.id = r.id", 4, values);
	if (PQgetisnull(res, 0, 0))
		printf("no rule matches: source other\n");
	else
		printf("rule %s: %s %s -> %s (priority %s)\n", PQgetvalue(res, 0, 0),
		       PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
		       PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

/* inbound_source_list - every rule, in the order they are tried */
static int inbound_source_list(struct ctl *c, enum out_format fmt)
{
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "inbound source list", "SELECT id, priority, field, pattern, source "
		       "FROM beacon.inbound_sources ORDER BY priority, id", 0, NULL);
	return ctl_print_result(c, res, fmt);
}

/* inbound_source - add, list or remove */
int inbound_source(struct ctl *c, int argc, char **argv, const struct inbound_opts *o,
		   int nfmt)
{
	char dom[ADDRESS_SIZE], addr[2][ADDRESS_SIZE];
	const char *values[4] = { NULL, NULL, NULL, NULL };
	const char *verb, *why, *field = NULL, *pattern;
	long v;

	if (o->owner)
		ctl_usage_error(c, "--owner goes with add, not with source");
	if (argc < 1)
		ctl_usage_error(c, "expected source add, list, remove or test");
	verb = argv[0];
	if (nfmt && strcmp(verb, "list") != 0)
		ctl_usage_error(c, "--csv and --json go with list");
	if (o->priority && strcmp(verb, "add") != 0)
		ctl_usage_error(c, "--priority goes with source add");

	if (strcmp(verb, "list") == 0) {
		if (argc > 1)
			ctl_usage_error(c, "unexpected argument '%s'", argv[1]);
		return inbound_source_list(c, o->fmt);
	}
	if (strcmp(verb, "remove") == 0) {
		if (argc < 2)
			ctl_usage_error(c, "source remove needs a rule ID (source list shows them)");
		if (argc > 2)
			ctl_usage_error(c, "unexpected argument '%s'", argv[2]);
		if (ctl_parse_long(argv[1], 1, 2147483647, &v) < 0)
			ctl_usage_error(c, "'%s' is not a rule id", argv[1]);
		return inbound_source_remove(c, argv[1]);
	}
	if (strcmp(verb, "test") == 0) {
		if (argc < 3)
			ctl_usage_error(c, "source test needs FIELD VALUE (domain, from, reply_to "
					"or list_id), one pair or more");
		for (int i = 1; i < argc; i += 2) {
			size_t k = 0;
			while (k < 4 && strcmp(argv[i], inbound_source_fields[k]) != 0)
				k++;
			if (k == 4)
				ctl_usage_error(c, "unknown FIELD '%s' (domain, from, reply_to or "
						"list_id)", argv[i]);
			if (i + 1 == argc)
				ctl_usage_error(c, "%s needs a VALUE", argv[i]);
			if (values[k])
				ctl_usage_error(c, "%s given twice", argv[i]);
			values[k] = argv[i + 1];
			if (k == 0) {
				const char *d = values[k] + (values[k][0] == '@' || values[k][0] == '.');
				if (address_norm_domain(d, dom, sizeof(dom), &why) < 0)
					ctl_usage_error(c, "'%s': %s", values[k], why);
				values[k] = dom;
			}
			if ((k == 1 || k == 2) &&
			    address_norm(values[k], addr[k - 1], sizeof(addr[k - 1]), &why) < 0)
				ctl_usage_error(c, "'%s': %s", values[k], why);
			if (k == 1 || k == 2)
				values[k] = addr[k - 1];
		}
		return inbound_source_test(c, values);
	}
	if (strcmp(verb, "add") != 0)
		ctl_usage_error(c, "unknown action 'source %s' (add, list, remove or test)", verb);
	if (argc < 4)
		ctl_usage_error(c, "source add needs FIELD PATTERN SOURCE");
	if (argc > 4)
		ctl_usage_error(c, "unexpected argument '%s'", argv[4]);
	for (size_t i = 0; i < sizeof(inbound_source_fields) / sizeof(*inbound_source_fields); i++)
		if (strcmp(argv[1], inbound_source_fields[i]) == 0)
			field = inbound_source_fields[i];
	if (!field)
		ctl_usage_error(c, "unknown FIELD '%s' (domain, from, reply_to or list_id)", argv[1]);
	pattern = argv[2];
	if ((why = inbound_source_text_ok(pattern)) != NULL)
		ctl_usage_error(c, "the pattern %s", why);
	if ((why = inbound_source_text_ok(argv[3])) != NULL)
		ctl_usage_error(c, "the source %s", why);
	if (o->priority && ctl_parse_long(o->priority, -1000000, 1000000, &v) < 0)
		ctl_usage_error(c, "--priority '%s': expected a whole number, -1000000 to "
				"1000000", o->priority);
	if (strcmp(field, "domain") == 0) {
		const char *p = pattern + (pattern[0] == '@' || pattern[0] == '.');
		if (strpbrk(p, "*?@"))
			ctl_usage_error(c, "'%s': a domain rule takes a domain (its subdomains "
					"match too), not a glob", pattern);
		if (address_norm_domain(p, dom, sizeof(dom), &why) < 0)
			ctl_usage_error(c, "'%s': %s", pattern, why);
		pattern = dom;
	}
	return inbound_source_add(c, field, pattern, argv[3], o->priority);
}
