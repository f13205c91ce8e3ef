#!/usr/bin/env bash
# NAME
#	run_pgtap.sh - the pgTAP tests of Beacon's schema and reports
#
# SYNOPSIS
#	tests/sql/run_pgtap.sh [TEST.pg ...]
#
# DESCRIPTION
#	Starts a throwaway PostgreSQL (tests/lib/pg.sh), applies every
#	sql/schema/NNN_name.sql in order the way beaconctl migrate does (each
#	in one transaction, then its row in beacon.schema_migrations):
#	tests/sql/fixture.sql, rows of the 0.1 schema, is loaded once the
#	migrations of 0.1 (up to version 5) are in, before the later ones,
#	so that those run on a database holding 0.1 data (migrate.pg checks
#	what became of it); tests/sql/fixture_006.sql after the last.  Checks
#	that each could be applied again without error, creates
#	the pgtap extension and runs pg_prove on
#	tests/sql/*.pg (or on the files given), notify.pg last: it commits
#	and removes its own rows.  The reports write their CSV output under
#	the test's temporary directory, passed to the tests as :outdir.
#	Exit 0 when every test passes.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

command -v pg_prove >/dev/null || t_fail "pg_prove not found (Debian package postgresql-15-pgtap)"
cd "$BEACON_SRC"

# The migration files leave transactions and bookkeeping to the runner.
for f in sql/schema/[0-9][0-9][0-9]_*.sql; do
	if grep -Eiq '^[[:space:]]*(BEGIN|COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION)[[:space:]]*;' "$f"; then
		t_fail "$f controls its own transaction"
	fi
	if grep -Eiq 'INSERT[[:space:]]+INTO[[:space:]]+beacon\.schema_migrations' "$f"; then
		t_fail "$f records itself in beacon.schema_migrations"
	fi
done
t_ok "migration files leave BEGIN/COMMIT and schema_migrations to the runner"

# The server (another user) reads back the CSV files psql writes.
umask 022
pg_start
T_OUT=$T_DIR/out
mkdir -p "$T_OUT"

# the newest version of the schema fixture.sql is written for (0.1)
fixture_version=5
n=0
fixture=
for f in sql/schema/[0-9][0-9][0-9]_*.sql; do
	name=$(basename "$f" .sql)
	if [ -z "$fixture" ] && [ "$((10#${name%%_*}))" -gt "$fixture_version" ]; then
		pg_psql -f tests/sql/fixture.sql || t_fail "fixture did not load"
		fixture=loaded
	fi
	pg_psql -o /dev/null -v version="$((10#${name%%_*}))" -v name="$name" -v file="$f" <<-'EOF' ||
		BEGIN;
		\i :file
		INSERT INTO beacon.schema_migrations (version, name)
		VALUES (:version, :'name');
		COMMIT;
	EOF
		t_fail "migration $f failed"
	n=$((n + 1))
done
[ -n "$fixture" ] || pg_psql -f tests/sql/fixture.sql || t_fail "fixture did not load"
t_ok "$n migrations applied, fixture.sql (0.1 rows) loaded after version $fixture_version"

# Applying a file a second time does no harm (rolled back: a check only).
for f in sql/schema/[0-9][0-9][0-9]_*.sql; do
	pg_psql -o /dev/null -v file="$f" <<-'EOF' ||
		SET client_min_messages = warning;
		BEGIN;
		\i :file
		ROLLBACK;
	EOF
		t_fail "migration $f fails when applied again"
done
t_ok "every migration can be applied again"

pg_psql -c 'CREATE EXTENSION pgtap SCHEMA public' || t_fail "cannot create extension pgtap"
pg_psql -f tests/sql/fixture_006.sql || t_fail "fixture_006 did not load"
t_ok "fixture_006 loaded"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	for f in tests/sql/*.pg; do
		[ "$f" = tests/sql/notify.pg ] || tests+=("$f")
	done
	tests+=(tests/sql/notify.pg)
fi
# search_path without schema beacon: the reports name every table in full.
PGOPTIONS='-c search_path=public' timeout 240 pg_prove --dbname "$PGDATABASE" --set outdir="$T_OUT" "${tests[@]}" ||
	t_fail "pg_prove failed"
