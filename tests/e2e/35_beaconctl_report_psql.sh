#!/bin/bash
# NAME
#	35_beaconctl_report_psql.sh - beaconctl report and psql give the same output
#
# DESCRIPTION
#	The report files stay psql scripts; beaconctl runs them through libpq
#	(lib/psqlscript.c, no psql).  On the pgTAP fixture plus messages of
#	campaigns "2024" and 'Acme "Q1", 2026' and none, with tabs, newlines,
#	quotes, commas and backslashes in their text, every report of
#	sql/reports runs with each set of variables below both ways, psql -X
#	--csv -v ... -f FILE and beaconctl report NAME -v ... --csv, and the
#	outputs must be the same bytes.  A
#	report written for this test, using the psql syntax beaconctl reads
#	(\ir, \if/\elif/\else, \set, :'var', :var, :{?var}, quotes, dollar
#	quotes, nested comments, casts, an array slice), runs both ways too.
#	A failing statement fails both ways with the server's message.
#	--json keeps a text column's "2024" a string and counts numbers.  A
#	:var whose value is SQL stays a value: it fails to cast and drops
#	nothing.  beaconctl needs no psql: it runs with an empty PATH.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
command -v python3 >/dev/null || t_fail "python3 is needed to read JSON"
export TZ=UTC PGTZ=UTC

t_tmpdir >/dev/null
SQLDIR=
pg_start
printf '[database]\nconninfo = %s\n' "$BEACON_CONNINFO" >"$T_DIR/beacon.conf"

# ctl - run beaconctl with beacon.conf (and $SQLDIR as BEACON_SQLDIR, if set),
# no PG* environment and no psql on PATH
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGTZ -u BEACON_SQLDIR PATH=/nonexistent \
		${SQLDIR:+BEACON_SQLDIR=$SQLDIR} "$CTL" -c "$T_DIR/beacon.conf" "$@"
}


# vargs SET - the -v arguments of a variable set ("-" none, else A=B|C=D)
vargs() {
	VARGS=()
	[ "$1" = - ] && return 0
	local kv a
	IFS='|' read -ra kv <<<"$1"
	for a in "${kv[@]}"; do
		VARGS+=(-v "$a")
	done
}

# both SQLDIR SET NAME... - the reports NAME... with the variable SET, all
# through one psql and each through beaconctl --csv: the same bytes, exit 0
both() {
	local dir=$1 set=$2 r files=()
	shift 2
	vargs "$set"
	for r in "$@"; do
		files+=(-f "$dir/reports/$r.sql")
	done
	pg_psql --csv "${VARGS[@]}" "${files[@]}" >"$T_DIR/want" 2>"$T_DIR/psql.err" ||
		t_fail "psql $* with $set: $(cat "$T_DIR/psql.err")"
	: >"$T_DIR/got"
	SQLDIR=$dir
	for r in "$@"; do
		t_run ctl report "$r" "${VARGS[@]}" --csv
		[ "$RC $ERR" = "0 " ] || t_fail "beaconctl report $r with $set: exit $RC: $ERR"
		cat "$T_DIR/out" >>"$T_DIR/got"
	done
	SQLDIR=
	if ! cmp -s "$T_DIR/want" "$T_DIR/got"; then
		diff "$T_DIR/want" "$T_DIR/got" | head -n 20 >&2 || true
		t_fail "$* with $set: beaconctl's CSV differs from psql's (diff above: < psql, > beaconctl)"
	fi
	t_ok "$* with $set: beaconctl --csv = psql --csv ($(wc -l <"$T_DIR/got") lines)"
}

t_run ctl init
t_eq 0 "$RC" "init exit"

# the pgTAP fixture (every class, an inbound event, an event without its
# recipient, suppressed and internal recipients), and messages whose text
# a CSV reader or a type guesser gets wrong
pg_psql -f "$BEACON_SRC/tests/sql/fixture.sql" >/dev/null
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, queue_id, sender, subject, campaign, sent_at,
	notify, recipients)
VALUES
('10000000-0000-4000-8000-000000000004', '<m4@example.org>', '4QAA4', 'Carol@Example.COM',
 'Year in review, 2024', '2024', '2026-01-06 10:00:00+00', false, 3),
('10000000-0000-4000-8000-000000000005', '<m5@example.org>', '4QAA5', 'carol@example.com',
 E'Tab\there, "quoted"\nand a second line', 'Acme "Q1", 2026', '2026-01-07 11:30:00+00',
 false, 2),
('10000000-0000-4000-8000-000000000006', '<m6@example.org>', '4QAA6', 'alice@example.org',
 'C:\reports\2024', NULL, '2026-01-08 12:00:00+00', false, 1);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token, name)
VALUES
('20000000-0000-4000-8000-000000000401', '10000000-0000-4000-8000-000000000004',
 'ann@example.com', 'tracked', 1, 'tok-0401', 'Archer, Ann'),
('20000000-0000-4000-8000-000000000402', '10000000-0000-4000-8000-000000000004',
 'ivy@example.org', 'tracked', 1, 'tok-0402', NULL),
('20000000-0000-4000-8000-000000000403', '10000000-0000-4000-8000-000000000004',
 'eve@corp.example', 'internal', 1, NULL, NULL),
('20000000-0000-4000-8000-000000000501', '10000000-0000-4000-8000-000000000005',
 'jo@example.net', 'tracked', 1, 'tok-0501', 'Jo "J" Jones'),
('20000000-0000-4000-8000-000000000502', '10000000-0000-4000-8000-000000000005',
 'kim@example.net', 'shared', 1, 'tok-0502', NULL),
('20000000-0000-4000-8000-000000000601', '10000000-0000-4000-8000-000000000006',
 'ann@example.com', 'tracked', 1, 'tok-0601', NULL);
INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000004', 1, 'https://example.org/2024?x=1,2'),
('10000000-0000-4000-8000-000000000005', 1, 'https://example.org/q1?a="b"');
INSERT INTO beacon.attachments (message, id, name, content_type, size)
VALUES ('10000000-0000-4000-8000-000000000005', 1, 'price list, 2026.pdf', 'application/pdf', 1200);
INSERT INTO beacon.events (at, kind, token_id, link_n, attachment_id, ip, device, os,
	browser, client, country, region, city, class)
VALUES
('2026-01-06 10:00:05+00', 'open', '20000000-0000-4000-8000-000000000402', NULL, NULL,
 '172.224.226.1', NULL, NULL, NULL, NULL, 'US', NULL, NULL, 'prefetch'),
('2026-01-06 10:20:00+00', 'open', '20000000-0000-4000-8000-000000000401', NULL, NULL,
 '203.0.113.9', 'iPhone', 'iOS', NULL, 'Apple Mail', 'DE', 'Hamburg', 'Hamburg', 'human'),
('2026-01-06 10:21:00+00', 'click', '20000000-0000-4000-8000-000000000401', 1, NULL,
 '203.0.113.9', 'iPhone', 'iOS', 'Mobile Safari', NULL, 'DE', 'Hamburg', 'Hamburg', 'human'),
('2026-01-07 12:00:00+00', 'open', '20000000-0000-4000-8000-000000000501', NULL, NULL,
 '192.0.2.44', 'Desktop', 'Mac OS X', NULL, 'Apple Mail', 'FR', 'Île-de-France', 'Paris', 'human'),
('2026-01-07 12:01:00+00', 'download', '20000000-0000-4000-8000-000000000501', NULL, 1,
 '192.0.2.44', 'Desktop', 'Mac OS X', 'Safari', NULL, 'FR', 'Île-de-France', 'Paris', 'human'),
('2026-01-09 08:00:00+00', 'open', '20000000-0000-4000-8000-000000000502', NULL, NULL,
 '192.0.2.80', 'Desktop', 'Windows', NULL, E'Out\tlook, "new"', 'GB', 'England', 'London', 'human'),
('2026-01-08 23:30:00+00', 'open', '20000000-0000-4000-8000-000000000601', NULL, NULL,
 '203.0.113.5', 'Desktop', 'Linux', NULL, 'Thunderbird', 'DE', 'Berlin', 'Berlin', 'human');
EOF

# the variable sets: one a line, "-" for none, assignments separated by |;
# a report ignores the variables it does not use
SETS='-
campaign=2024|by=campaign
campaign=Acme "Q1", 2026|q="Q1",
by=all|classes=human,proxy,prefetch,scanner,internal,sender|q=%|limit=2
sender=CAROL@example.com|tz=Asia/Tokyo|message_id=m5@example.org
message=10000000-0000-4000-8000-000000000001|address=ANN@example.com
since=2026-01-02|until=2026-01-08|address=ANN@example.com|q=2024
campaign=x'"'"' OR '"'"'1'"'"'='"'"'1|q=x'"'"' OR '"'"'1'"'"'='"'"'1'

# --- every report, every set: the same bytes both ways
reports=()
for f in "$BEACON_SRC"/sql/reports/*.sql; do
	reports+=("$(basename "$f" .sql)")
done
[ "${#reports[@]}" -ge 9 ] || t_fail "only ${#reports[@]} reports found"
while IFS= read -r set; do
	both "$BEACON_SRC/sql" "$set" "${reports[@]}"
done <<<"$SETS"

# --- the psql syntax beaconctl reads, in a report of its own beside copies of the real ones
mkdir -p "$T_DIR/sql/reports"
cp "$BEACON_SRC"/sql/reports/* "$T_DIR/sql/reports/"
cat >"$T_DIR/sql/reports/features.sql" <<'EOF'
-- NAME
--	features.sql - the psql syntax beaconctl reads (35_beaconctl_report_psql.sh)
\ir _defaults.psql
\if :{?limit} \else \set limit 3 \endif
\set greeting 'it''s' ' a \x41' test
\if :{?nothing}
\set greeting 'never'
\elif false
\set greeting 'never either'
\else
\set tail :greeting '!'
\endif
SELECT g AS n,
       :'greeting'::text AS greeting, :'tail'::text AS tail,
       :'campaign'::text AS campaign, length(:'campaign') AS len,
       ':''campaign''' AS quoted, E'\\:campaign \'' AS estring,
       $$ :'campaign' $$ AS dollar, $q$ :campaign; $q$ AS tagged,
       /* :'campaign' /* nested; */ */ (ARRAY[10, 20, 30, 40])[2:3] AS slice,
       :{?campaign} AS has_campaign, :{?nothing} AS has_nothing,
       "g"::text AS ident, g::numeric / 4 AS quarter, -- :'campaign';
       g % 2 = 0 AS even
FROM generate_series(1, 10) AS g
WHERE :'since'::timestamptz < now()
ORDER BY g
LIMIT :limit;
EOF
while IFS= read -r set; do
	both "$T_DIR/sql" "$set" features
done <<<'-
campaign=2024
campaign=Acme "Q1", 2026|limit=5
since=2026-01-01|limit=0'

# --- a failing statement: both fail, with the same server message
set +e
pg_psql --csv -v since=garbage -f "$BEACON_SRC/sql/reports/summary.sql" >/dev/null 2>"$T_DIR/psql.err"
rc=$?
set -e
t_eq 3 "$rc" "psql summary since=garbage exit"
t_run ctl report summary -v since=garbage --csv
t_eq 65 "$RC" "beaconctl summary since=garbage exit"
t_eq 1 "$(grep -c 'invalid input syntax for type timestamp with time zone: "garbage"' "$T_DIR/psql.err")" \
	"psql's message"
t_eq 'beaconctl: error: report summary: invalid input syntax for type timestamp with time zone: "garbage"' \
	"$ERR" "beaconctl's message"

# --- a :var is a value, never SQL (psql would paste this one: not run through psql)
events=$(pg_query 'SELECT count(*) FROM beacon.events')
SQLDIR=$T_DIR/sql
t_run ctl report features -v 'limit=1; DROP TABLE beacon.events' --csv
t_eq 65 "$RC" "report with SQL in a :var: exit"
t_eq 'beaconctl: error: report features: invalid input syntax for type bigint: "1; DROP TABLE beacon.events"' \
	"$ERR" "report with SQL in a :var: a bad value"
t_eq "$events" "$(pg_query 'SELECT count(*) FROM beacon.events')" "report with SQL in a :var: nothing dropped"

# --- a file beaconctl cannot run as psql would: named with its line, nothing run
printf '\\ir _defaults.psql\nSELECT 1;\n\\gset\n' >"$T_DIR/sql/reports/gset.sql"
t_run ctl report gset
t_eq "65 beaconctl: error: report: $T_DIR/sql/reports/gset.sql:3: \\gset: not a command beaconctl runs (it runs \\ir, \\if, \\elif, \\else, \\endif, \\set and \\unset)" \
	"$RC $ERR" "report with a psql command beaconctl does not run"
t_eq "" "$OUT" "report with a psql command beaconctl does not run: no output"
SQLDIR=

# --- JSON: types from the columns, not from the values
# json_fields ARGS... - beaconctl report ARGS --json, then one line per row:
# the repr of each named field and the type names of the numeric ones
json_fields() {
	t_run ctl report "$@" --json
	[ "$RC" = 0 ] || t_fail "report $* --json: exit $RC: $ERR"
	printf '%s' "$OUT" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(repr(r["campaign"]), type(r["campaign"]).__name__, type(r["recipients"]).__name__,
          type(r["message"]).__name__ if r.get("message") is not None else "-")'
}
t_eq "'2024' str int -" "$(json_fields summary -v campaign=2024 -v by=campaign)" \
	"summary by campaign 2024: the campaign a string, counts numbers"
t_eq "'2024' str int str" "$(json_fields search -v q=review)" \
	"search: campaign 2024 a string, recipients a number, message a string"
t_eq "'Acme \"Q1\", 2026' str int str" "$(json_fields summary -v 'campaign=Acme "Q1", 2026')" \
	"summary of a campaign with a quote and a comma"
t_run ctl report summary -v campaign=2024 --json
t_eq "50.0 True" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
r = json.load(sys.stdin)[0]
print(r["open_rate"], r["subject"] == "Year in review, 2024")')" "summary 2024: open_rate a number, subject exact"
t_run ctl report summary -v message=10000000-0000-4000-8000-000000000005 --json
t_eq "'Tab\\there, \"quoted\"\\nand a second line'" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(repr(json.load(sys.stdin)[0]["subject"]))')" "summary: tab and newline kept in JSON"

# --- the table escapes what is stored; the same row as CSV keeps it
t_run ctl report devices -v message=10000000-0000-4000-8000-000000000005
t_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^Desktop  Windows   Out\\tlook, "new"  ')" \
	"devices table: the tab shown as \\t"
