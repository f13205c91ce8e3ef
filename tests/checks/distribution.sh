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
#	cannot see.
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
