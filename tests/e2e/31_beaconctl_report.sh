#!/bin/bash
# NAME
#	31_beaconctl_report.sh - beaconctl report, history, token inspect, suppress
#
# DESCRIPTION
#	Against a throwaway cluster with the schema and a small fixture:
#	report lists the report files and runs them (through libpq, without
#	psql) to the same output as psql -v ... -f gives (CSV compared byte
#	for byte, JSON types and the aligned table asserted; every report
#	and more variables in 35_beaconctl_report_psql.sh), with the
#	viewer's time zone and bad variables refused, a failing statement
#	reported with the server's message; history of an address and of a
#	Message-ID in exact tables; token inspect of a valid, a forged, an
#	unknown-key and a malformed token; suppress add/del/list.  beaconctl
#	runs without any PG* variable: beacon.conf alone connects it.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
command -v python3 >/dev/null || t_fail "python3 is needed to compute tokens"
export TZ=UTC

t_tmpdir >/dev/null
pg_start

KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
printf '1 %s\n' "$KEY" >"$T_DIR/secret"
chmod 600 "$T_DIR/secret"
cat >"$T_DIR/beacon.conf" <<EOF
secret_file = $T_DIR/secret
[database]
conninfo = $BEACON_CONNINFO
EOF

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}


# mktoken KEYID KEYHEX UUID - a token as lib/token.c makes it
mktoken() {
	python3 - "$@" <<-'PY'
		import base64, hashlib, sys, uuid
		kid, key, rid = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), uuid.UUID(sys.argv[3]).bytes
		raw = bytes([kid]) + rid
		mac = hashlib.blake2b(b"t" + raw, digest_size=16, key=key).digest()[:10]
		print(base64.urlsafe_b64encode(raw + mac).decode().rstrip("="))
	PY
}

t_run ctl init
t_eq 0 "$RC" "init exit"

R1=20000000-0000-4000-8000-000000000101
TOK1=$(mktoken 1 "$KEY" "$R1")
t_eq 36 "${#TOK1}" "token length"

pg_psql -v tok="$TOK1" <<'EOF'
INSERT INTO beacon.messages (id, message_id, queue_id, sender, subject, campaign, sent_at,
	notify, recipients)
VALUES
('10000000-0000-4000-8000-000000000001', '<m1@example.org>', '4QAA1', 'alice@example.org',
 'Spring letter', 'spring', '2026-01-05 09:00:00+00', true, 3),
('10000000-0000-4000-8000-000000000002', '<m2@example.net>', '4QAA2', 'bob@example.net',
 'Invoice 42', NULL, '2026-01-20 08:00:00+00', false, 1);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token, name)
VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001',
 'ann@example.com', 'tracked', 1, :'tok', 'Ann Archer'),
('20000000-0000-4000-8000-000000000102', '10000000-0000-4000-8000-000000000001',
 'Ben@Example.com', 'tracked', 1, 'tok-0102', NULL),
('20000000-0000-4000-8000-000000000103', '10000000-0000-4000-8000-000000000001',
 'eve@corp.example', 'internal', 1, NULL, NULL),
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002',
 'ann@example.com', 'tracked', 1, 'tok-0201', NULL);
INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000001', 1, 'https://example.org/a'),
('10000000-0000-4000-8000-000000000001', 2, 'https://example.org/b');
INSERT INTO beacon.attachments (message, id, name, content_type, size)
VALUES ('10000000-0000-4000-8000-000000000001', 1, 'price-list.pdf', 'application/pdf', 1200);
INSERT INTO beacon.events (at, kind, token_id, link_n, attachment_id, ip, device, os,
	browser, client, country, region, city, class)
VALUES
('2026-01-05 09:00:30+00', 'click', '20000000-0000-4000-8000-000000000101', 2, NULL,
 '198.51.100.7', 'Other', 'Other', 'Other', NULL, 'US', 'Virginia', 'Ashburn', 'scanner'),
('2026-01-05 09:03:00+00', 'open', '20000000-0000-4000-8000-000000000101', NULL, NULL,
 '203.0.113.5', 'Desktop', 'Linux', NULL, 'Thunderbird', 'DE', 'Berlin', 'Berlin', 'human'),
('2026-01-05 09:05:00+00', 'click', '20000000-0000-4000-8000-000000000101', 1, NULL,
 '203.0.113.5', 'Desktop', 'Linux', 'Firefox', NULL, 'DE', 'Berlin', 'Berlin', 'human'),
('2026-01-05 09:06:00+00', 'download', '20000000-0000-4000-8000-000000000101', NULL, 1,
 '203.0.113.5', 'Desktop', 'Linux', 'Firefox', NULL, 'DE', 'Berlin', 'Berlin', 'human'),
('2026-01-06 07:00:00+00', 'open', '20000000-0000-4000-8000-000000000102', NULL, NULL,
 '66.249.84.1', NULL, NULL, NULL, 'Gmail', NULL, NULL, NULL, 'proxy'),
('2026-01-20 08:05:00+00', 'open', '20000000-0000-4000-8000-000000000201', NULL, NULL,
 '203.0.113.9', 'iPhone', 'iOS', NULL, 'Apple Mail', 'DE', 'Hamburg', 'Hamburg', 'human');
EOF

# --- report: the list is the files of sql/reports
t_run ctl report
t_eq 0 "$RC" "report (list) exit"
expected=$(cd "$BEACON_SRC/sql/reports" && ls -- *.sql | sed 's/\.sql$//')
t_eq "$expected" "$(printf '%s\n' "$OUT" | awk '{ print $1 }')" "report list names"
t_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^summary  *[a-z]')" "summary listed with its description"

# --- report: CSV identical to psql's own run of the file
for r in summary clicks geo devices never_opened; do
	t_run ctl report "$r" -v campaign=spring --csv
	t_eq 0 "$RC" "report $r --csv exit"
	want=$(pg_psql --csv -v campaign=spring -v tz=UTC -f "$BEACON_SRC/sql/reports/$r.sql")
	t_eq "$want" "$OUT" "report $r --csv equals psql's output"
done
t_run ctl report history -v address=ANN@example.com --csv
want=$(pg_psql --csv -v address=ANN@example.com -v tz=UTC -f "$BEACON_SRC/sql/reports/history.sql")
t_eq "$want" "$OUT" "report history --csv equals psql's output"
t_eq 6 "$(printf '%s\n' "$OUT" | wc -l)" "report history: header + 5 events"

# --- report --json: one object per row, numbers unquoted, NULL as null
t_run ctl report summary -v message=10000000-0000-4000-8000-000000000001 --json
t_eq 0 "$RC" "report summary --json exit"
t_eq "1 3 1 spring None" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
r = rows[0]
print(len(rows), r["recipients"] + r["excluded_recipients"], r["excluded_recipients"],
      r["campaign"], type(r["recipients"]).__name__ == "int" and None)')" \
	"report summary --json: rows, recipients, campaign, integer types"
t_run ctl report search -v q=nothing-matches-this --json
t_eq "[]" "$OUT" "report --json with no rows"

# --- report: the aligned table, and the viewer's time zone as tz
t_run ctl report search -v q=invoice
t_eq 0 "$RC" "report search exit"
t_eq "message                               sent_at              sender           subject     campaign  recipients  matched  events  left_out
------------------------------------  -------------------  ---------------  ----------  --------  ----------  -------  ------  --------
10000000-0000-4000-8000-000000000002  2026-01-20 08:00:00  bob@example.net  Invoice 42                     1  subject       1
(1 row)" "$OUT" "report search table"
t_run env TZ=Europe/Berlin "$CTL" -c "$T_DIR/beacon.conf" report search -v q=invoice --csv
t_eq "10000000-0000-4000-8000-000000000002,2026-01-20 09:00:00,bob@example.net,Invoice 42,,1,subject,1," \
	"$(printf '%s\n' "$OUT" | sed -n 2p)" "report: tz defaults to the viewer's zone"
t_run env TZ=Europe/Berlin "$CTL" -c "$T_DIR/beacon.conf" report search -v q=invoice -v tz=UTC --csv
t_eq "2026-01-20 08:00:00" "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d, -f2)" "report: -v tz wins"

# --- report: refused variables and names, failing scripts
t_run ctl report summary -v ON_ERROR_STOP=0
t_eq 64 "$RC" "report -v ON_ERROR_STOP exit"
t_eq "beaconctl: report: 'ON_ERROR_STOP=0': expected VAR=VALUE, VAR in lower-case letters, digits and _" \
	"$(printf '%s\n' "$ERR" | head -n 1)" "report -v ON_ERROR_STOP message"
t_run ctl report summary -v since
t_eq 64 "$RC" "report -v without = exit"
t_run ctl report ../schema/001_init
t_eq 64 "$RC" "report path name exit"
t_run ctl report nosuchreport
t_eq 64 "$RC" "unknown report exit"
t_eq "beaconctl: report: no report 'nosuchreport' in $BEACON_SRC/sql/reports (beaconctl report lists them)" \
	"$(printf '%s\n' "$ERR" | head -n 1)" "unknown report message"
t_run ctl report summary -v since=garbage
t_eq 65 "$RC" "report with a bad date exit"
t_eq 'beaconctl: error: report summary: invalid input syntax for type timestamp with time zone: "garbage"' \
	"$ERR" "report failure: the server's message, one line"
t_run ctl report summary --csv --json
t_eq 64 "$RC" "report --csv --json exit"

# --- history
t_run ctl history ANN@example.com
t_eq 0 "$RC" "history address exit"
t_eq "at                   subject        kind      class    place                  device   os     client       detail
-------------------  -------------  --------  -------  ---------------------  -------  -----  -----------  ---------------------
2026-01-20 08:05:00  Invoice 42     open      human    Hamburg, DE            iPhone   iOS    Apple Mail
2026-01-05 09:06:00  Spring letter  download  human    Berlin, DE             Desktop  Linux  Firefox      price-list.pdf
2026-01-05 09:05:00  Spring letter  click     human    Berlin, DE             Desktop  Linux  Firefox      https://example.org/a
2026-01-05 09:03:00  Spring letter  open      human    Berlin, DE             Desktop  Linux  Thunderbird
2026-01-05 09:00:30  Spring letter  click     scanner  Ashburn, Virginia, US  Other    Other  Other        https://example.org/b
(5 rows)" "$OUT" "history of an address"
t_run ctl history m1@example.org --csv
t_eq 0 "$RC" "history message exit"
t_eq "at,address,kind,class,place,device,os,client,detail
2026-01-06 07:00:00,Ben@Example.com,open,proxy,,,,Gmail,
2026-01-05 09:06:00,ann@example.com,download,human,\"Berlin, DE\",Desktop,Linux,Firefox,price-list.pdf
2026-01-05 09:05:00,ann@example.com,click,human,\"Berlin, DE\",Desktop,Linux,Firefox,https://example.org/a
2026-01-05 09:03:00,ann@example.com,open,human,\"Berlin, DE\",Desktop,Linux,Thunderbird,
2026-01-05 09:00:30,ann@example.com,click,scanner,\"Ashburn, Virginia, US\",Other,Other,Other,https://example.org/b" \
	"$OUT" "history of a Message-ID, without brackets, as CSV"
t_run ctl history '<m2@example.net>' --json
t_eq '[
{"at": "2026-01-20 08:05:00", "address": "ann@example.com", "kind": "open", "class": "human", "place": "Hamburg, DE", "device": "iPhone", "os": "iOS", "client": "Apple Mail", "detail": null}
]' "$OUT" "history of a Message-ID as JSON"
t_run ctl history eve@corp.example
t_eq 0 "$RC" "history of a recipient without events exit"
t_eq "(0 rows)" "$(printf '%s\n' "$OUT" | tail -n 1)" "history of a recipient without events"
t_run ctl history nobody@example.org
t_eq 65 "$RC" "history of an unknown address exit"
t_eq "beaconctl: error: history: no message and no recipient 'nobody@example.org'" "$ERR" \
	"history of an unknown address message"

# --- token inspect
t_run ctl token inspect "$TOK1"
t_eq 0 "$RC" "token inspect (valid) exit"
t_eq "key id      1
recipient   $R1
MAC         valid
address     ann@example.com
name        Ann Archer
status      tracked
message     10000000-0000-4000-8000-000000000001
message-id  <m1@example.org>
queue id    4QAA1
sender      alice@example.org
subject     Spring letter
campaign    spring
sent at     2026-01-05 09:00:00
notify      yes
events      click 2, download 1, open 1" "$OUT" "token inspect (valid)"
# the last MAC character changed: same key id and recipient, bad MAC
last=${TOK1: -1}
[ "$last" = A ] && bad=B || bad=A
t_run ctl token inspect "${TOK1%?}$bad"
t_eq 65 "$RC" "token inspect (bad MAC) exit"
t_eq "key id      1
recipient   $R1
MAC         bad MAC
address     ann@example.com" "$(printf '%s\n' "$OUT" | head -n 4)" "token inspect (bad MAC) still shows the row"
t_run ctl token inspect "$(mktoken 9 "$KEY" 20000000-0000-4000-8000-000000000999)"
t_eq 65 "$RC" "token inspect (unknown key) exit"
t_eq "key id      9
recipient   20000000-0000-4000-8000-000000000999
MAC         unknown key id
row         none: no recipient has this id (not written yet, or purged)" "$OUT" "token inspect (unknown key)"
t_run ctl token inspect "not-a-token"
t_eq 65 "$RC" "token inspect (malformed) exit"
t_eq "beaconctl: error: token: malformed token: expected 36 base64url characters (key id, recipient id, MAC)" \
	"$ERR" "token inspect (malformed) message"
t_eq "" "$OUT" "token inspect (malformed) prints nothing"
chmod 644 "$T_DIR/secret"
t_run ctl token inspect "$TOK1"
t_eq 78 "$RC" "token inspect with a readable secret file exit"
chmod 600 "$T_DIR/secret"

# --- suppress
t_run ctl suppress add Fay@OptOut.Example --reason "asked by phone"
t_eq "0 added fay@optout.example" "$RC $OUT" "suppress add lower-cases"
t_run ctl suppress add fay@optout.example
t_eq "0 fay@optout.example was already suppressed" "$RC $OUT" "suppress add twice"
t_run ctl suppress add @Corp.Example
t_eq "0 added @corp.example" "$RC $OUT" "suppress add a domain"
t_run ctl suppress add @corp.example --reason "no consent"
t_eq "0 @corp.example was already suppressed; reason updated" "$RC $OUT" "suppress add a new reason"
t_eq "@corp.example|no consent
fay@optout.example|asked by phone" "$(pg_query 'SELECT pattern, reason FROM beacon.suppressions ORDER BY pattern')" \
	"suppressions rows"
t_run ctl suppress list --csv
# a domain pattern starts with @, which a spreadsheet would evaluate: defused
t_eq "pattern,reason
\"'@corp.example\",no consent
fay@optout.example,asked by phone" "$(printf '%s\n' "$OUT" | cut -d, -f1,2)" "suppress list --csv"
t_run ctl suppress list EVE@corp.example
t_eq "@corp.example" "$(printf '%s\n' "$OUT" | sed -n 3p | awk '{ print $1 }')" "suppress list ADDRESS: its domain"
t_eq "(1 row)" "$(printf '%s\n' "$OUT" | tail -n 1)" "suppress list ADDRESS: one row"
t_run ctl suppress del FAY@optout.example
t_eq "0 removed fay@optout.example" "$RC $OUT" "suppress del"
t_run ctl suppress del fay@optout.example
t_eq 65 "$RC" "suppress del of a missing pattern exit"
t_eq "beaconctl: error: suppress: 'fay@optout.example' is not in the suppression list" "$ERR" \
	"suppress del of a missing pattern message"
t_run ctl suppress add optout.example
t_eq 64 "$RC" "suppress add without @ exit"
t_eq "@corp.example" "$(pg_query 'SELECT pattern FROM beacon.suppressions')" "suppressions left"

# --- a password: from password_file to beaconctl's session, which runs the
# reports too (the test's own psql uses PGPASSWORD)
pg_query "ALTER ROLE beacon PASSWORD 'Sesame-31'" >/dev/null
sed -i -E 's/^(host[[:space:]].*[[:space:]])trust[[:space:]]*$/\1scram-sha-256/' "$PG_DATA/pg_hba.conf"
pg_query "SELECT pg_reload_conf()" >/dev/null
export PGPASSWORD=Sesame-31
t_wait_until "! env -u PGPASSWORD $PG_BIN/psql -X -w -At -c 'SELECT 1' >/dev/null 2>&1" 10 ||
	t_fail "password authentication did not take effect"
t_run ctl report search -v q=invoice --csv
t_eq 69 "$RC" "report without the password exit"
printf 'Sesame-31\n' >"$T_DIR/pw"
chmod 600 "$T_DIR/pw"
printf 'password_file = %s\n' "$T_DIR/pw" >>"$T_DIR/beacon.conf"
t_run env -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" report search -v q=invoice --csv
t_eq 0 "$RC" "report with password_file exit"
t_eq "10000000-0000-4000-8000-000000000002,2026-01-20 08:00:00,bob@example.net,Invoice 42,,1,subject,1," \
	"$(printf '%s\n' "$OUT" | sed -n 2p)" "report with password_file: the report ran in that session"
t_run env -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" history ann@example.com --csv
t_eq "0 6" "$RC $(printf '%s\n' "$OUT" | wc -l)" "history with password_file"
