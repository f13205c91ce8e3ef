#!/bin/bash
# NAME
#	distribution.sh - the schema and the reports stay ready for Citus
#
# DESCRIPTION
#	Migrates a throwaway PostgreSQL (plain, no Citus) with sql/schema
#	and runs tests/lib/distcheck.py on it: every table of schema beacon
#	is placed by sql/citus/001_distribute.sql (distributed by a column,
#	reference or local), every unique index of a distributed table holds
#	its distribution column (every partition of events included: a
#	unique index made on one monthly partition is caught, which the
#	check shows on one), every foreign key, trigger and row-level
#	security policy Citus cannot keep is dropped there, and, with the
#	monthly partitions of events dropped, every join between distributed
#	tables in the plans of sql/reports/*.sql is on the distribution
#	column (token_id).  distcheck.py says how it reads the plans and what
#	it cannot see (the programs' own statements and the plpgsql
#	functions are not planned).  Then it runs sql/citus/001_distribute.sql
#	itself on that database, Citus's functions replaced by stubs that
#	refuse, as Citus does, a table with triggers or with a policy holding
#	a subquery: the file runs to its end on the current schema (the
#	triggers, policies and foreign keys it names exist, no table is left
#	out).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

[ -s "$BEACON_SRC/sql/citus/001_distribute.sql" ] || t_fail "no sql/citus/001_distribute.sql"
pg_start
pg_schema
distcheck() { PG_BIN=$PG_BIN python3 "$BEACON_SRC/tests/lib/distcheck.py" "$@" "$BEACON_SRC"; }
# tables, keys, foreign keys, triggers and policies, every partition of events there
month=$(pg_query "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'beacon.events'::regclass AND c.relname <> 'events_default'
	ORDER BY 1 LIMIT 1")
[ -n "$month" ] || t_fail "the migrated schema has no monthly partition of events"
distcheck -v --catalog || t_fail "the schema is not ready for the Citus layout of sql/citus/001_distribute.sql"
t_ok "schema beacon holds to sql/citus/001_distribute.sql (partitions included)"
# a unique index of one monthly partition without token_id is seen
pg_query "CREATE UNIQUE INDEX t_month_only ON beacon.$month (at, kind)" >/dev/null
if distcheck --catalog >"$T_DIR/month.out"; then
	t_fail "a unique index of beacon.$month without token_id passed the check"
fi
grep -q "keys: .*t_month_only of distributed beacon.events lacks its distribution column token_id" \
	"$T_DIR/month.out" || t_fail "the check did not name t_month_only: $(cat "$T_DIR/month.out")"
pg_query "DROP INDEX beacon.t_month_only" >/dev/null
t_ok "a unique index of beacon.$month alone without token_id is caught"

# the reports: events keeps its DEFAULT partition only, so that each scan of
# it is one plan node under the query's alias (an Append over partitions
# hides the alias)
pg_query "SELECT format('DROP TABLE beacon.%I;', c.relname) FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'beacon.events'::regclass AND c.relname <> 'events_default'" | pg_psql
pg_psql -c 'ANALYZE' >/dev/null
distcheck -v --reports || t_fail "a report is not ready for the Citus layout of sql/citus/001_distribute.sql"
t_ok "sql/reports holds to sql/citus/001_distribute.sql"

# The layout runs to its end on this schema, Citus's functions stood in for
# by stubs that record each table as Citus would and refuse, as Citus does,
# a distributed or reference table that still has triggers, and any Citus
# table with a row-level security policy holding a subquery (Citus's
# ErrorIfUnsupportedPolicy: "Subqueries are not supported in policies on
# distributed tables"): what the file must drop first.
pg_psql -o /dev/null <<-'EOSQL' || t_fail "cannot create the Citus stubs"
	CREATE TABLE public.pg_dist_partition (logicalrelid regclass PRIMARY KEY,
		partmethod "char", partkey text, repmodel "char");
	CREATE FUNCTION public.citus_stub_place(t regclass, m "char", k text, r "char")
	RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		IF m <> 'n' OR r = 't' THEN
			IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t AND NOT tgisinternal) THEN
				RAISE EXCEPTION 'cannot distribute relation "%" because it has triggers', t;
			END IF;
		END IF;
		IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t
			   AND (coalesce(polqual::text, '') LIKE '%{SUBLINK %'
				OR coalesce(polwithcheck::text, '') LIKE '%{SUBLINK %')) THEN
			RAISE EXCEPTION 'cannot create policy on "%": Subqueries are not supported in policies on distributed tables', t;
		END IF;
		INSERT INTO public.pg_dist_partition VALUES (t, m, k, r);
	END $$;
	CREATE FUNCTION public.create_reference_table(t regclass) RETURNS void
		LANGUAGE sql AS $$ SELECT public.citus_stub_place(t, 'n', NULL, 't') $$;
	CREATE FUNCTION public.create_distributed_table(t regclass, col text,
		colocate_with text DEFAULT 'default') RETURNS void
		LANGUAGE sql AS $$ SELECT public.citus_stub_place(t, 'h', col, 's') $$;
	CREATE FUNCTION public.citus_add_local_table_to_metadata(t regclass) RETURNS void
		LANGUAGE sql AS $$ SELECT public.citus_stub_place(t, 'n', NULL, 's') $$;
	CREATE FUNCTION public.truncate_local_data_after_distributing_table(t regclass)
		RETURNS void LANGUAGE sql AS $$ SELECT $$;
EOSQL
# the stub refuses a policy with a subquery
if pg_psql -o /dev/null 2>"$T_DIR/stub.err" <<-'EOSQL'; then
	BEGIN;
	CREATE TABLE public.t_pol (id int);
	ALTER TABLE public.t_pol ENABLE ROW LEVEL SECURITY;
	CREATE POLICY t_pol ON public.t_pol USING (EXISTS (SELECT 1 FROM public.t_pol p WHERE p.id = 0));
	SELECT public.create_reference_table('public.t_pol');
	ROLLBACK;
EOSQL
	t_fail "the Citus stub took a table whose policy has a subquery"
fi
grep -q 'Subqueries are not supported in policies' "$T_DIR/stub.err" ||
	t_fail "the stub refused t_pol for another reason: $(cat "$T_DIR/stub.err")"
PGOPTIONS='-c search_path=public,pg_catalog' pg_psql -o /dev/null \
	-f "$BEACON_SRC/sql/citus/001_distribute.sql" ||
	t_fail "sql/citus/001_distribute.sql does not run to its end on this schema (Citus stubbed)"
n=$(pg_query "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
	AND connamespace = 'beacon'::regnamespace")
t_ok "sql/citus/001_distribute.sql runs to its end with Citus stubbed ($n foreign keys back)"
