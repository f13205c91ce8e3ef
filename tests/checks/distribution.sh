#!/bin/bash
# NAME
#	distribution.sh - the schema and the reports stay ready for Citus
#
# DESCRIPTION
#	Migrates a throwaway PostgreSQL (plain, no Citus) with sql/schema
#	and runs tests/lib/distcheck.py on it: every table of schema beacon
#	is placed by sql/citus/001_distribute.sql (distributed by a column,
#	reference or local), every unique index of a distributed table holds
#	its distribution column, every foreign key and trigger Citus cannot
#	keep is dropped there, and every join between distributed tables in
#	the plans of sql/reports/*.sql is on the distribution column
#	(token_id).  distcheck.py says how it reads the plans and what it
#	cannot see.  Then it runs sql/citus/001_distribute.sql itself on
#	that database, Citus's functions replaced by stubs: the file runs
#	to its end on the current schema (the triggers and foreign keys it
#	names exist, no table is left out).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

[ -s "$BEACON_SRC/sql/citus/001_distribute.sql" ] || t_fail "no sql/citus/001_distribute.sql"
pg_start
pg_schema
# events keeps its DEFAULT partition only: each scan of it is then one plan
# node under the query's alias (an Append over partitions hides the alias)
pg_query "SELECT format('DROP TABLE beacon.%I;', c.relname) FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'beacon.events'::regclass AND c.relname <> 'events_default'" | pg_psql
pg_psql -c 'ANALYZE' >/dev/null
PG_BIN=$PG_BIN python3 "$BEACON_SRC/tests/lib/distcheck.py" -v "$BEACON_SRC" ||
	t_fail "the schema or a report is not ready for the Citus layout of sql/citus/001_distribute.sql"
t_ok "schema beacon and sql/reports hold to sql/citus/001_distribute.sql"

# The layout runs to its end on this schema, Citus's functions stood in for
# by stubs that record each table as Citus would and refuse, as Citus does,
# a table that still has triggers (what the file must drop first).
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
PGOPTIONS='-c search_path=public,pg_catalog' pg_psql -o /dev/null \
	-f "$BEACON_SRC/sql/citus/001_distribute.sql" ||
	t_fail "sql/citus/001_distribute.sql does not run to its end on this schema (Citus stubbed)"
n=$(pg_query "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
	AND connamespace = 'beacon'::regnamespace")
t_ok "sql/citus/001_distribute.sql runs to its end with Citus stubbed ($n foreign keys back)"
