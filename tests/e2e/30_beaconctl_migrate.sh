#!/bin/bash
# NAME
#	30_beaconctl_migrate.sh - beaconctl init, migrate, maintain
#
# DESCRIPTION
#	Against a throwaway cluster: a command before init fails with
#	EX_CONFIG and a hint; migrate --status lists every file as pending;
#	init applies every sql/schema file and records (version, name);
#	migrate then applies nothing and changes nothing; a database newer
#	than the files is refused (EX_DATAERR) and left as it is; a failing
#	migration is rolled back with its file and line named, a good one
#	after it is applied; two files with one version are refused;
#	maintain creates the partitions ahead and drops one past
#	retention_days, and retention_days = 0 keeps everything.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
export TZ=UTC

t_tmpdir >/dev/null
pg_start

cat >"$T_DIR/beacon.conf" <<EOF
[database]
conninfo = $BEACON_CONNINFO
retention_days = 400
EOF

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}


# the migration files, as "version name" lines, and the newest version
files=$(cd "$BEACON_SRC/sql/schema" && ls -- [0-9]*_*.sql)
[ -n "$files" ] || t_fail "no files in sql/schema"
recorded=$(printf '%s\n' "$files" | sed -E 's/^0*([0-9]+)_(.*)\.sql$/\1 \2/')
nfiles=$(printf '%s\n' "$files" | wc -l)
latest=$(printf '%s\n' "$recorded" | tail -n 1 | cut -d' ' -f1)

# --- before init: no schema
t_run ctl suppress list
t_eq 78 "$RC" "a command before init exit"
t_eq "beaconctl:   is the schema installed and current? run: beaconctl migrate" \
	"$(printf '%s\n' "$ERR" | tail -n 1)" "a command before init hints at migrate"
t_run ctl migrate --status
t_eq 0 "$RC" "migrate --status before init exit"
t_eq "$nfiles" "$(printf '%s\n' "$OUT" | grep -c ' pending$')" "every file pending"

# --- init applies every file, in order, and records it
t_run ctl init
t_eq 0 "$RC" "init exit"
t_eq "$(printf 'applied %s\n' $files)
schema at version $latest ($nfiles migration$([ "$nfiles" = 1 ] || echo s) applied)" "$OUT" "init output"
t_eq "$recorded" "$(pg_query "SELECT version || ' ' || name FROM beacon.schema_migrations ORDER BY version")" \
	"schema_migrations rows"

# --- migrate twice is a no-op
snap="SELECT string_agg(version || name || applied_at, ',' ORDER BY version) FROM beacon.schema_migrations"
objs="SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'beacon'"
before=$(pg_query "$snap")
nobj=$(pg_query "$objs")
t_run ctl migrate
t_eq 0 "$RC" "migrate again exit"
t_eq "schema at version $latest, up to date" "$OUT" "migrate again output"
t_run ctl init
t_eq "0 schema at version $latest, up to date" "$RC $OUT" "init again"
t_eq "$before" "$(pg_query "$snap")" "schema_migrations unchanged"
t_eq "$nobj" "$(pg_query "$objs")" "schema objects unchanged"
t_run ctl migrate --status
t_eq 0 "$(printf '%s\n' "$OUT" | grep -c ' pending$' || true)" "nothing pending"
t_eq "($nfiles rows)" "$(printf '%s\n' "$OUT" | tail -n 1)" "migrate --status rows"

# --- refuses to go backwards
pg_query "INSERT INTO beacon.schema_migrations (version, name) VALUES (999999, 'future')" >/dev/null
t_run ctl migrate
t_eq 65 "$RC" "migrate on a newer database exit"
t_eq "beaconctl: error: migrate: the database schema is at version 999999, newer than the newest migration in $BEACON_SRC/sql/schema ($latest): refusing to go backwards" \
	"$ERR" "migrate on a newer database message"
t_eq "" "$OUT" "migrate on a newer database prints nothing"
t_eq "$((nfiles + 1))" "$(pg_query 'SELECT count(*) FROM beacon.schema_migrations')" "nothing recorded"
t_eq "$nobj" "$(pg_query "$objs")" "nothing created"
pg_query "DELETE FROM beacon.schema_migrations WHERE version = 999999" >/dev/null

# --- a failing migration is rolled back; the next good one applies
export BEACON_SQLDIR=$T_DIR/sql
mkdir -p "$BEACON_SQLDIR/schema"
cp "$BEACON_SRC"/sql/schema/*.sql "$BEACON_SQLDIR/schema/"
next=$((latest + 1))
bad=$(printf '%03d_broken.sql' "$next")
printf -- '-- broken on purpose\nCREATE TABLE beacon.t_broken (a int);\nSELECT nosuchcolumn FROM beacon.t_broken;\n' \
	>"$BEACON_SQLDIR/schema/$bad"
t_run ctl migrate
t_eq 65 "$RC" "failing migration exit"
t_eq "beaconctl: error: $BEACON_SQLDIR/schema/$bad, line 3: column \"nosuchcolumn\" does not exist
beaconctl: $bad rolled back: nothing of it was applied" "$ERR" "failing migration message"
t_eq "" "$(pg_query "SELECT to_regclass('beacon.t_broken')")" "failing migration left no table"
t_eq "$latest" "$(pg_query 'SELECT max(version) FROM beacon.schema_migrations')" "failing migration not recorded"
rm "$BEACON_SQLDIR/schema/$bad"
good=$(printf '%03d_extra_table.sql' "$next")
printf -- '-- a later migration\nCREATE TABLE beacon.t_extra (a int);\n' >"$BEACON_SQLDIR/schema/$good"
t_run ctl migrate
t_eq "0 applied $good
schema at version $next (1 migration applied)" "$RC $OUT" "next migration applied"
t_eq "$next extra_table" "$(pg_query "SELECT version || ' ' || name FROM beacon.schema_migrations WHERE version = $next")" \
	"next migration recorded"
t_run ctl migrate
t_eq "0 schema at version $next, up to date" "$RC $OUT" "then up to date"
cp "$BEACON_SQLDIR/schema/$good" "$BEACON_SQLDIR/schema/$(printf '%03d_twin.sql' "$next")"
t_run ctl migrate
t_eq 65 "$RC" "two files with one version exit"
rm -rf "$BEACON_SQLDIR"
export BEACON_SQLDIR=$T_DIR/nonexistent
t_run ctl migrate
t_eq 66 "$RC" "missing SQL directory exit"
unset BEACON_SQLDIR
pg_query "DROP TABLE beacon.t_extra; DELETE FROM beacon.schema_migrations WHERE version = $next" >/dev/null

# --- maintain: partitions ahead, retention
# partition names of this month .. +4 (UTC), and which of them exist now
month0=$(date -u +%Y-%m-01)
want_created=
for i in 0 1 2 3 4; do
	p=events_$(date -u -d "$month0 +$i month" +y%Ym%m)
	if [ -z "$(pg_query "SELECT to_regclass('beacon.$p')")" ]; then
		want_created+="created beacon.$p"$'\n'
	fi
done
ncreated=$(printf '%s' "$want_created" | grep -c . || true)
pg_psql -q <<'EOF'
CREATE TABLE beacon.events_y2020m01 PARTITION OF beacon.events
	FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-02-01 00:00:00+00');
INSERT INTO beacon.events (at, kind, token_id, class)
VALUES ('2020-01-15 12:00:00+00', 'open', '20000000-0000-4000-8000-000000000001', 'human');
EOF
t_run ctl maintain --months-ahead 4
t_eq 0 "$RC" "maintain exit"
t_eq "${want_created}dropped beacon.events_y2020m01
$ncreated partition$([ "$ncreated" = 1 ] || echo s) created, 1 dropped (retention 400 days)" "$OUT" "maintain output"
t_eq "" "$(pg_query "SELECT to_regclass('beacon.events_y2020m01')")" "old partition dropped"
t_eq "events_$(date -u -d "$month0 +4 month" +y%Ym%m)" \
	"$(pg_query "SELECT to_regclass('beacon.events_$(date -u -d "$month0 +4 month" +y%Ym%m)')::text" | sed 's/^beacon\.//')" \
	"partition 4 months ahead exists"
t_run ctl maintain --months-ahead 4
t_eq "0 0 partitions created, 0 dropped (retention 400 days)" "$RC $OUT" "maintain again does nothing"
sed 's/^retention_days = 400$/retention_days = 0/' "$T_DIR/beacon.conf" >"$T_DIR/keep.conf"
t_run env -u PGHOST "$CTL" -c "$T_DIR/keep.conf" maintain
t_eq "0 0 partitions created; retention off (retention_days = 0)" "$RC $OUT" "maintain with retention off"
t_run ctl maintain --months-ahead 121
t_eq 64 "$RC" "maintain --months-ahead 121 exit"
