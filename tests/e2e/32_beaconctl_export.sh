#!/bin/bash
# NAME
#	32_beaconctl_export.sh - beaconctl export and purge
#
# DESCRIPTION
#	Against a throwaway cluster with a fixture: export in the csv,
#	hubspot and salesforce formats (exact files, CRM headers, formula
#	defusing in every format and in report, history and suppress list
#	--csv, an event without a recipient row); --since and --class;
#	a download's bytes and partial in the csv format and in history;
#	--output never writes through a symbolic link, refuses an existing
#	file unless --force, and even then only replaces a file of ours with
#	no other link;
#	export --purge writes exactly what a plain export of the same
#	selection writes and deletes exactly those events, to a 0600 file
#	or to stdout, and leaves nothing behind; a write error deletes
#	nothing; purge --older-than (dry run first) deletes the old messages
#	with their recipients, links, attachments and events, and old
#	events, and nothing else.

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
[milter]
attachment_dir = $T_DIR/attachments
EOF

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}


# nev [WHERE] - events in the database
nev() {
	pg_query "SELECT count(*) FROM beacon.events ${1:+WHERE $1}"
}

t_run ctl init
t_eq 0 "$RC" "init exit"

pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, sender, subject, campaign, sent_at)
VALUES
('10000000-0000-4000-8000-000000000001', '<m1@example.org>', 'alice@example.org',
 '=HYPERLINK("http://x.example")', 'spring, 2026', '2026-01-05 09:00:00+00'),
('10000000-0000-4000-8000-000000000002', '<m2@example.net>', 'bob@example.net',
 'Invoice "42"', NULL, '2026-01-20 08:00:00+00');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001',
 'ann@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000102', '10000000-0000-4000-8000-000000000001',
 'ben@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002',
 'ann@example.com', 'tracked', 1);
INSERT INTO beacon.links (message, n, url)
VALUES ('10000000-0000-4000-8000-000000000001', 1, 'https://example.org/a?x=1,2');
INSERT INTO beacon.attachments (message, id, name)
VALUES ('10000000-0000-4000-8000-000000000001', 1, 'price-list.pdf');
INSERT INTO beacon.events (at, kind, token_id, link_n, attachment_id, ip, device, os,
	browser, client, country, region, city, class)
VALUES
('2026-01-05 09:00:30+00', 'click', '20000000-0000-4000-8000-000000000101', 1, NULL,
 '198.51.100.7', 'Other', 'Other', 'Other', NULL, 'US', 'Virginia', 'Ashburn', 'scanner'),
('2026-01-05 09:03:00.250+00', 'open', '20000000-0000-4000-8000-000000000101', NULL, NULL,
 '203.0.113.5', 'Desktop', 'Linux', NULL, 'Thunderbird', 'DE', 'Berlin', 'Berlin', 'human'),
('2026-01-05 09:06:00+00', 'download', '20000000-0000-4000-8000-000000000101', NULL, 1,
 '203.0.113.5', 'Desktop', 'Linux', 'Firefox', NULL, 'DE', 'Berlin', 'Berlin', 'human'),
('2026-01-06 07:00:00+00', 'open', '20000000-0000-4000-8000-000000000102', NULL, NULL,
 '66.249.84.1', NULL, NULL, NULL, 'Gmail', NULL, NULL, NULL, 'proxy'),
('2026-01-07 12:00:00+00', 'open', 'ffffffff-ffff-4fff-8fff-ffffffffffff', NULL, NULL,
 '203.0.113.99', 'Desktop', 'Linux', NULL, 'Thunderbird', 'NL', NULL, 'Amsterdam', 'human'),
('2026-01-20 08:05:00+00', 'open', '20000000-0000-4000-8000-000000000201', NULL, NULL,
 '203.0.113.9', 'iPhone', 'iOS', NULL, 'Apple Mail', 'DE', 'Hamburg', 'Hamburg', 'human');
UPDATE beacon.events SET bytes = 4096, partial = true WHERE kind = 'download';
EOF

# --- the three formats
t_run ctl export --format csv
t_eq 0 "$RC" "export csv exit"
t_eq 'at,kind,class,address,message_id,sender,campaign,subject,url,attachment,country,region,city,device,os,client,browser,ip,token_id,bytes,partial
2026-01-05T09:00:30Z,click,scanner,ann@example.com,<m1@example.org>,alice@example.org,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")","https://example.org/a?x=1,2",,US,Virginia,Ashburn,Other,Other,,Other,198.51.100.7,20000000-0000-4000-8000-000000000101,,
2026-01-05T09:03:00Z,open,human,ann@example.com,<m1@example.org>,alice@example.org,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,,DE,Berlin,Berlin,Desktop,Linux,Thunderbird,,203.0.113.5,20000000-0000-4000-8000-000000000101,,
2026-01-05T09:06:00Z,download,human,ann@example.com,<m1@example.org>,alice@example.org,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,price-list.pdf,DE,Berlin,Berlin,Desktop,Linux,,Firefox,203.0.113.5,20000000-0000-4000-8000-000000000101,4096,true
2026-01-06T07:00:00Z,open,proxy,ben@example.com,<m1@example.org>,alice@example.org,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,,,,,,,Gmail,,66.249.84.1,20000000-0000-4000-8000-000000000102,,
2026-01-07T12:00:00Z,open,human,,,,,,,,NL,,Amsterdam,Desktop,Linux,Thunderbird,,203.0.113.99,ffffffff-ffff-4fff-8fff-ffffffffffff,,
2026-01-20T08:05:00Z,open,human,ann@example.com,<m2@example.net>,bob@example.net,,"Invoice ""42""",,,DE,Hamburg,Hamburg,iPhone,iOS,Apple Mail,,203.0.113.9,20000000-0000-4000-8000-000000000201,,' \
	"$OUT" "export csv (formulas defused in Beacon's own format too)"
t_eq "beaconctl: exported 6 events" "$ERR" "export csv count"
t_run ctl history ann@example.com --csv
t_eq 0 "$RC" "history exit"
t_eq "download,price-list.pdf (4096 bytes, partial)" \
	"$(printf '%s\n' "$OUT" | python3 -c 'import csv, sys
print("\n".join(r[2] + "," + r[-1] for r in csv.reader(sys.stdin) if r[2] == "download"))')" \
	"history: a download's file name, bytes sent and partial"

t_run ctl export --format hubspot --since 2026-01-05T09:03:00Z
t_eq 0 "$RC" "export hubspot exit"
t_eq 'Email,Event Type,Event Date,Campaign,Email Subject,Link URL,City,Country/Region,Device Type,Event Class
ann@example.com,Opened,2026-01-05T09:03:00Z,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,Berlin,DE,Desktop,human
ann@example.com,Downloaded,2026-01-05T09:06:00Z,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,Berlin,DE,Desktop,human
ben@example.com,Opened,2026-01-06T07:00:00Z,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,,,,proxy
,Opened,2026-01-07T12:00:00Z,,,,Amsterdam,NL,Desktop,human
ann@example.com,Opened,2026-01-20T08:05:00Z,,"Invoice ""42""",,Hamburg,DE,iPhone,human' \
	"$OUT" "export hubspot --since (formulas defused)"

t_run ctl export --format salesforce --class scanner,proxy
t_eq 0 "$RC" "export salesforce exit"
t_eq 'Email,Event_Type__c,Event_Time__c,Campaign__c,Subject,Link_URL__c,City,Country,Device__c,Event_Class__c
ann@example.com,Clicked,2026-01-05T09:00:30.000Z,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")","https://example.org/a?x=1,2",Ashburn,US,Other,scanner
ben@example.com,Opened,2026-01-06T07:00:00.000Z,"spring, 2026","'"'"'=HYPERLINK(""http://x.example"")",,,,,proxy' \
	"$OUT" "export salesforce --class"
t_eq 6 "$(nev)" "plain exports delete nothing"

# --- an address and a subject a spreadsheet would run: defused in every CSV
pg_psql <<'EOF2'
INSERT INTO beacon.messages (id, message_id, sender, subject, sent_at)
VALUES ('10000000-0000-4000-8000-000000000003', '<m3@example.net>', '@evil.example',
 '-2+3', '2026-01-21 08:00:00+00');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
VALUES ('20000000-0000-4000-8000-000000000301', '10000000-0000-4000-8000-000000000003',
 '=cmd|''/C calc''!A0@example.com', 'tracked', 1);
INSERT INTO beacon.events (at, kind, token_id, class)
VALUES ('2026-01-21 08:05:00+00', 'open', '20000000-0000-4000-8000-000000000301', 'human');
EOF2
t_run ctl export --format csv --since 2026-01-21
t_eq 0 "$RC" "export csv of formula-like values exit"
t_eq 'at,kind,class,address,message_id,sender,campaign,subject,url,attachment,country,region,city,device,os,client,browser,ip,token_id,bytes,partial
2026-01-21T08:05:00Z,open,human,"'"'"'=cmd|'"'"'/C calc'"'"'!A0@example.com",<m3@example.net>,"'"'"'@evil.example",,"'"'"'-2+3",,,,,,,,,,,20000000-0000-4000-8000-000000000301,,' \
	"$OUT" "export csv: address, sender and subject defused"
addr="=cmd|'/C calc'!A0@example.com"
t_run ctl history "$addr" --csv
t_eq 0 "$RC" "history --csv exit"
case $OUT in
*",\"'-2+3\","*) t_ok "history --csv: the subject defused" ;;
*) printf '%s\n' "$OUT" >&2; t_fail "history --csv: the subject not defused" ;;
esac
printf '%s\n' "$OUT" | grep -q '^=' && t_fail "history --csv: a line starts with ="
printf '%s\n' "$OUT" | grep -q ',=' && t_fail "history --csv: a cell starts with ="
t_run ctl report search -v q=calc --csv
t_eq 0 "$RC" "report search --csv exit"
printf '%s\n' "$OUT" | grep -qE '(^|,)"?[-=+@]' && { printf '%s\n' "$OUT" >&2; t_fail "report search --csv: a cell starts with a formula character"; }
t_ok "report search --csv: no cell starts with a formula character"
pg_psql -c "DELETE FROM beacon.events WHERE token_id = '20000000-0000-4000-8000-000000000301';
	DELETE FROM beacon.recipients WHERE message = '10000000-0000-4000-8000-000000000003';
	DELETE FROM beacon.messages WHERE id = '10000000-0000-4000-8000-000000000003'" >/dev/null

# --- --output: never through a link, never over a file unless --force, and then only ours
printf 'root data\n' >"$T_DIR/victim"
chmod 0644 "$T_DIR/victim"
ln -s "$T_DIR/victim" "$T_DIR/link.csv"
# victim WHAT - the file behind the link is as it was
victim() {
	t_eq "root data" "$(cat "$T_DIR/victim")" "$1: the linked file's content"
	t_eq 644 "$(stat -c %a "$T_DIR/victim")" "$1: the linked file's mode"
}
for force in "" --force; do
	t_run ctl export --format csv --output "$T_DIR/link.csv" $force
	t_eq 73 "$RC" "export --output LINK $force exit"
	t_eq "beaconctl: error: export: $T_DIR/link.csv is a symbolic link; refusing to write through it" \
		"$ERR" "export --output LINK $force message"
	victim "export --output LINK $force"
done
t_run ctl export --format csv --output "$T_DIR/victim"
t_eq 73 "$RC" "export --output EXISTING exit"
t_eq "beaconctl: error: export: $T_DIR/victim exists; --force replaces it" "$ERR" "export --output EXISTING message"
victim "export --output EXISTING"
ln "$T_DIR/victim" "$T_DIR/hard.csv"
t_run ctl export --format csv --output "$T_DIR/hard.csv" --force
t_eq 73 "$RC" "export --output HARDLINK --force exit"
t_eq "beaconctl: error: export: $T_DIR/hard.csv has other hard links; refusing to replace it" \
	"$ERR" "export --output HARDLINK --force message"
victim "export --output HARDLINK --force"
if [ "$(id -u)" = 0 ]; then
	printf 'theirs\n' >"$T_DIR/theirs.csv"
	chown nobody "$T_DIR/theirs.csv"
	t_run ctl export --format csv --output "$T_DIR/theirs.csv" --force
	t_eq "beaconctl: error: export: $T_DIR/theirs.csv belongs to another user; refusing to replace it" \
		"$ERR" "export --output OTHERS --force message"
	t_eq theirs "$(cat "$T_DIR/theirs.csv")" "export --output OTHERS --force: untouched"
fi
printf 'an old export, longer than the new one %0500d\n' 0 >"$T_DIR/mine.csv"
chmod 0644 "$T_DIR/mine.csv"
t_run ctl export --format hubspot --since 2026-01-20 --output "$T_DIR/mine.csv" --force
t_eq 0 "$RC" "export --output MINE --force exit"
t_eq 'Email,Event Type,Event Date,Campaign,Email Subject,Link URL,City,Country/Region,Device Type,Event Class
ann@example.com,Opened,2026-01-20T08:05:00Z,,"Invoice ""42""",,Hamburg,DE,iPhone,human' \
	"$(cat "$T_DIR/mine.csv")" "export --output MINE --force: replaced, not appended"
t_eq 600 "$(stat -c %a "$T_DIR/mine.csv")" "export --output MINE --force: mode 0600"
rm -f "$T_DIR/link.csv" "$T_DIR/hard.csv" "$T_DIR/mine.csv"

# --- export --purge: exactly what a plain export gives, then gone
sel=(--format csv --since 2026-01-06 --class human,proxy)
t_run ctl export "${sel[@]}"
t_eq "beaconctl: exported 3 events" "$ERR" "selection size"
want=$OUT
t_run ctl export "${sel[@]}" --output "$T_DIR/purged.csv" --purge
t_eq 0 "$RC" "export --purge exit"
t_eq "" "$OUT" "export --output prints no rows"
t_eq "beaconctl: exported 3 events and deleted them" "$ERR" "export --purge message"
t_eq "$want" "$(cat "$T_DIR/purged.csv")" "export --purge wrote what export would"
t_eq 600 "$(stat -c %a "$T_DIR/purged.csv")" "export file mode"
t_eq 0 "$(nev "at >= '2026-01-06' AND class IN ('human', 'proxy')")" "purged selection is gone"
t_eq 3 "$(nev)" "the other events stay"
t_run ctl export "${sel[@]}"
t_eq "beaconctl: exported 0 events" "$ERR" "the selection is empty now"

# a failed write deletes nothing
t_run bash -c 'env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$0" -c "$1" export --format csv --purge >/dev/full' \
	"$CTL" "$T_DIR/beacon.conf"
t_eq 74 "$RC" "export --purge to a full device exit"
t_eq "beaconctl: error: export: writing standard output: No space left on device; nothing was deleted" \
	"$ERR" "export --purge to a full device message"
t_eq 3 "$(nev)" "a failed export --purge deletes nothing"

# everything, to stdout: nothing left behind
t_run ctl export --format hubspot
want=$OUT
t_run ctl export --format hubspot --purge
t_eq 0 "$RC" "export --purge (all) exit"
t_eq "$want" "$OUT" "export --purge (all) output"
t_eq 4 "$(printf '%s\n' "$OUT" | wc -l)" "header + 3 rows"
t_eq 0 "$(nev)" "export --purge leaves no event behind"
t_eq "2 3" "$(pg_query "SELECT (SELECT count(*) FROM beacon.messages) || ' ' || (SELECT count(*) FROM beacon.recipients)")" \
	"messages and recipients are not touched by export"

t_run ctl export --format csv --since notadate
t_eq 65 "$RC" "export --since notadate exit"
t_eq 'beaconctl: error: export: --since '"'"'notadate'"'"': invalid input syntax for type timestamp with time zone: "notadate"' \
	"$ERR" "export --since notadate message"

# --- purge --older-than
pg_psql <<'EOF'
DELETE FROM beacon.messages;
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('10000000-0000-4000-8000-000000000011', 'old@example.org', now() - interval '100 days'),
('10000000-0000-4000-8000-000000000012', 'new@example.org', now() - interval '10 days');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000001101', '10000000-0000-4000-8000-000000000011', 'a@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000001102', '10000000-0000-4000-8000-000000000011', 'b@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000001201', '10000000-0000-4000-8000-000000000012', 'c@example.com', 'tracked', 1);
INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000011', 1, 'https://example.org/1'),
('10000000-0000-4000-8000-000000000011', 2, 'https://example.org/2'),
('10000000-0000-4000-8000-000000000012', 1, 'https://example.org/3');
INSERT INTO beacon.attachments (message, id, name) VALUES
('10000000-0000-4000-8000-000000000011', 1, 'a.pdf');
INSERT INTO beacon.events (at, kind, token_id, class) VALUES
(now() - interval '99 days', 'open', '20000000-0000-4000-8000-000000001101', 'human'),
(now() - interval '5 days', 'open', '20000000-0000-4000-8000-000000001102', 'human'),
(now() - interval '40 days', 'open', 'ffffffff-ffff-4fff-8fff-ffffffffffff', 'human'),
(now() - interval '9 days', 'open', '20000000-0000-4000-8000-000000001201', 'human'),
(now() - interval '2 days', 'open', 'eeeeeeee-ffff-4fff-8fff-ffffffffffff', 'human');
EOF
counts="SELECT (SELECT count(*) FROM beacon.messages) || ' ' || (SELECT count(*) FROM beacon.recipients)
	|| ' ' || (SELECT count(*) FROM beacon.links) || ' ' || (SELECT count(*) FROM beacon.attachments)
	|| ' ' || (SELECT count(*) FROM beacon.events)"
t_eq "2 3 3 1 5" "$(pg_query "$counts")" "purge fixture"
t_run ctl purge --older-than 30 --dry-run
t_eq 0 "$RC" "purge --dry-run exit"
t_eq "would delete before" "$(printf '%s\n' "$OUT" | head -n 1 | cut -c1-19)" "purge --dry-run first line"
t_eq "messages     1
recipients   2
links        2
attachments  1
events       3
tombstoned   2
manifests    0
blobs        0 (0 bytes)" "$(printf '%s\n' "$OUT" | tail -n +2)" "purge --dry-run counts"
t_eq "2 3 3 1 5" "$(pg_query "$counts")" "purge --dry-run changes nothing"
t_run ctl purge --older-than 30
t_eq 0 "$RC" "purge exit"
t_eq "messages     1
recipients   2
links        2
attachments  1
events       3
tombstoned   2
manifests    0
blobs        0 (0 bytes)" "$(printf '%s\n' "$OUT" | tail -n +2)" "purge counts"
t_eq "1 1 1 0 2" "$(pg_query "$counts")" "purge leaves the new message and new events"
t_eq "new@example.org c@example.com" \
	"$(pg_query "SELECT m.sender || ' ' || r.address FROM beacon.messages m JOIN beacon.recipients r ON r.message = m.id")" \
	"the message left"
t_run ctl purge --older-than 30
t_eq "messages     0
recipients   0
links        0
attachments  0
events       0
tombstoned   0
manifests    0
blobs        0 (0 bytes)" "$(printf '%s\n' "$OUT" | tail -n +2)" "purge again deletes nothing"
