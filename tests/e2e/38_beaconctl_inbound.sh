#!/bin/bash
# NAME
#	38_beaconctl_inbound.sh - tracked inbound addresses, leads, replies, their reports
#
# DESCRIPTION
#	Against a throwaway cluster with the schema:
#	beaconctl inbound add/remove/list keep tracked addresses in their one
#	form and NOTIFY beacon_inbound; import of a CSV file adds every line
#	or, for a file with a bad line, nothing (the error names the line);
#	source add/list/remove keep the rules.  beacon.inbound_mail(), called
#	as beacon-milter calls it, writes one row per active tracked
#	recipient with the source of the first matching rule (subdomains,
#	case-insensitive globs, priorities, a rule changed between two calls)
#	and nothing for an untracked or inactive one; a second call (a spool
#	replay, or the same Message-ID in copy and forwarded) adds nothing.
#	The inbound reports (per day, week and month with the previous
#	period and the change; the latest leads) give exact rows, the same
#	through beaconctl as through psql.  beacon.reply() records a reply
#	of a recipient (replies row + 'reply' event of their token), of a
#	colleague (no token, no event), ignores the sender answering their
#	own thread and a reply naming no tracked message, answers the newest
#	tracked message of the chain, and is idempotent; summary counts
#	replied, reply_rate, replies and a reply as engagement without an
#	open; history shows the reply.  purge deletes old inbound rows.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
command -v python3 >/dev/null || t_fail "python3 is needed to read JSON"
export TZ=UTC PGTZ=UTC

t_tmpdir >/dev/null
pg_start
printf '[database]\nconninfo = %s\n' "$BEACON_CONNINFO" >"$T_DIR/beacon.conf"

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u PGTZ "$CTL" \
		-c "$T_DIR/beacon.conf" "$@"
}

t_run ctl init
t_eq 0 "$RC" "init exit"

TRACKED="SELECT address || '|' || point_of_sale || '|' || coalesce(owner, '-') || '|' || active
	FROM beacon.tracked_inbound ORDER BY address"

# --- inbound add / remove / list
t_run ctl inbound add '<Lyon@Agence.EXAMPLE.>' Lyon --owner 'Ann Archer'
t_eq "0 added lyon@agence.example (Lyon)" "$RC $OUT" "add: the address in its one form"
t_run ctl inbound add lyon@agence.example 'Lyon Part-Dieu'
t_eq "0 lyon@agence.example was tracked already; now Lyon Part-Dieu" "$RC $OUT" "add again updates"
t_eq "lyon@agence.example|Lyon Part-Dieu|Ann Archer|true" "$(pg_query "$TRACKED")" \
	"add again keeps the owner"
t_run ctl inbound add not-an-address Lyon
t_eq 64 "$RC" "add of a bad address exit"
t_eq "beaconctl: inbound: 'not-an-address': expected user@domain" "$(head -n 1 <<<"$ERR")" \
	"add of a bad address message"
t_run ctl inbound add paris@agence.example ''
t_eq 64 "$RC" "add with an empty point of sale exit"
t_run ctl inbound list --owner x
t_eq 64 "$RC" "list --owner exit"
notified=$(pg_psql -At <<'EOF' 2>&1
LISTEN beacon_inbound;
INSERT INTO beacon.tracked_inbound (address, point_of_sale) VALUES ('tmp@agence.example', 'Tmp');
DELETE FROM beacon.tracked_inbound WHERE address = 'nobody@agence.example';
DELETE FROM beacon.tracked_inbound WHERE address = 'tmp@agence.example';
EOF
)
t_eq 2 "$(grep -c 'notification "beacon_inbound"' <<<"$notified")" \
	"a change notifies beacon_inbound, a statement that changes nothing does not"

# --- import: all or nothing, errors name the line
printf '\xef\xbb\xbfAddress,Point_of_sale,Owner\r\nParis@Agence.example,Paris,\r\n\r\n"nice@agence.example","Nice, Port",Bea\r\nlyon@agence.example,Lyon\r\n' \
	>"$T_DIR/good.csv"
t_run ctl inbound import "$T_DIR/good.csv"
t_eq "0 imported 3 addresses: 2 added, 1 updated" "$RC $OUT" "import of a good file"
want="lyon@agence.example|Lyon|Ann Archer|true
nice@agence.example|Nice, Port|Bea|true
paris@agence.example|Paris|-|true"
t_eq "$want" "$(pg_query "$TRACKED")" "import: rows exact"
printf 'rennes@agence.example,Rennes\nbrest@agence.example,Brest\nbad@@agence,Oops\n' >"$T_DIR/bad.csv"
t_run ctl inbound import "$T_DIR/bad.csv"
t_eq 65 "$RC" "import of a bad address exit"
t_eq "beaconctl: error: inbound: $T_DIR/bad.csv, line 3: the address: "* \
	"$(sed 's/address: .*/address: */' <<<"$ERR")" "import names the bad line"
t_eq "$want" "$(pg_query "$TRACKED")" "a bad import changes nothing"
printf 'rennes@agence.example,Rennes\nrennes@AGENCE.example,Rennes 2\n' >"$T_DIR/dup.csv"
t_run ctl inbound import "$T_DIR/dup.csv"
t_eq "65 beaconctl: error: inbound: $T_DIR/dup.csv, line 2: rennes@agence.example is on line 1 already; nothing imported" \
	"$RC $ERR" "import refuses an address given twice"
printf 'rennes@agence.example,Rennes\nbrest@agence.example\n' >"$T_DIR/short.csv"
t_run ctl inbound import "$T_DIR/short.csv"
t_eq "65 beaconctl: error: inbound: $T_DIR/short.csv, line 2: expected address,point_of_sale[,owner]; nothing imported" \
	"$RC $ERR" "import refuses a line without point of sale"
printf 'rennes@agence.example,"Rennes\n' >"$T_DIR/quote.csv"
t_run ctl inbound import "$T_DIR/quote.csv"
t_eq "65 beaconctl: error: inbound: $T_DIR/quote.csv, line 1: a quoted field is not closed on its line; nothing imported" \
	"$RC $ERR" "import refuses an open quote"
t_run ctl inbound import "$T_DIR/none.csv"
t_eq 66 "$RC" "import of a missing file exit"
t_eq "$want" "$(pg_query "$TRACKED")" "refused imports change nothing"

t_run ctl inbound list --csv
t_eq "0 address,point_of_sale,owner,active,added_at
lyon@agence.example,Lyon,Ann Archer,t,X
nice@agence.example,\"Nice, Port\",Bea,t,X
paris@agence.example,Paris,,t,X" "$RC $(sed -E 's/,[0-9]{4}-[0-9-]+ [0-9:]+$/,X/' <<<"$OUT")" \
	"list --csv"
t_run ctl inbound remove NICE@agence.example
t_eq "0 removed nice@agence.example (Nice, Port)" "$RC $OUT" "remove"
t_run ctl inbound remove nice@agence.example
t_eq "65 beaconctl: error: inbound: 'nice@agence.example' is not a tracked inbound address" \
	"$RC $ERR" "remove of an address not there"

# --- source rules
t_run ctl inbound source add domain '@SeLoger.example.' SeLoger
t_eq "0 added rule 1: domain seloger.example -> SeLoger (priority 100)" "$RC $OUT" "source add domain"
t_run ctl inbound source add from '*@leboncoin.example' Leboncoin --priority 50
t_eq "0 added rule 2: from *@leboncoin.example -> Leboncoin (priority 50)" "$RC $OUT" "source add from"
t_run ctl inbound source add list_id 'leads.*.example' 'Portal list'
t_eq 0 "$RC" "source add list_id"
t_run ctl inbound source add reply_to 'lead-?@site.example' 'Web site' --priority 10
t_eq 0 "$RC" "source add reply_to"
t_run ctl inbound source add domain 'temp.example' Temp
t_eq 0 "$RC" "source add (to remove)"
t_run ctl inbound source add domain '*.example' All
t_eq 64 "$RC" "a domain rule is not a glob"
t_run ctl inbound source add subject x y
t_eq 64 "$RC" "source add of an unknown field"
t_run ctl inbound source remove 5
t_eq "0 removed rule 5: domain temp.example -> Temp" "$RC $OUT" "source remove"
t_run ctl inbound source remove 5
t_eq 65 "$RC" "source remove of a rule not there"
t_run ctl inbound source list --csv
t_eq "0 id,priority,field,pattern,source
4,10,reply_to,lead-?@site.example,Web site
2,50,from,*@leboncoin.example,Leboncoin
1,100,domain,seloger.example,SeLoger
3,100,list_id,leads.*.example,Portal list" "$RC $OUT" "source list: in the order they are tried"

t_run ctl inbound source test domain Mail.SeLoger.example. from No-Reply@mail.seloger.example
t_eq "0 rule 1: domain seloger.example -> SeLoger (priority 100)" "$RC $OUT" \
	"source test: a subdomain matches its domain rule"
t_run ctl inbound source test from contact@leboncoin.example reply_to lead-7@site.example \
	domain leboncoin.example
t_eq "0 rule 4: reply_to lead-?@site.example -> Web site (priority 10)" "$RC $OUT" \
	"source test: the rule of lowest priority"
t_run ctl inbound source test list_id '<leads.paris.example>'
t_eq "0 rule 3: list_id leads.*.example -> Portal list (priority 100)" "$RC $OUT" "source test: List-Id"
t_run ctl inbound source test domain elsewhere.example
t_eq "0 no rule matches: source other" "$RC $OUT" "source test: no rule"
t_run ctl inbound source test from
t_eq 64 "$RC" "source test without a value"

# --- inbound_mail(): as beacon-milter calls it
# im AT ADDRS MID DOMAIN FROM REPLY_TO LIST_ID SUBJECT SIZE FORWARD QUEUE_ID
im() {
	pg_query "SELECT beacon.inbound_mail('$1', '$2', NULLIF('$3', ''), NULLIF('$4', ''),
		NULLIF('$5', ''), NULLIF('$6', ''), NULLIF('$7', ''), '$8', $9, ${10}, '${11}')"
}
ROWS="SELECT to_char(at, 'MM-DD HH24:MI') || '|' || address || '|' || point_of_sale || '|' ||
	coalesce(owner, '-') || '|' || source || '|' || coalesce(sender_domain, '-') || '|' ||
	coalesce(subject, '-') || '|' || coalesce(message_id, '-') || '|' || size || '|' || forward
	|| '|' || queue_id FROM beacon.inbound ORDER BY at, address"
t_eq 2 "$(im '2026-01-05 09:00+00' '{lyon@agence.example,paris@agence.example,other@agence.example}' \
	'<a1@mail.seloger.example>' mail.SeLoger.example no-reply@mail.seloger.example '' '' \
	'Flat in Lyon' 2000 false Q1)" "a portal's mail to two tracked and one untracked: 2 rows"
t_eq 0 "$(im '2026-01-05 09:00+00' '{lyon@agence.example,paris@agence.example,other@agence.example}' \
	'<a1@mail.seloger.example>' mail.SeLoger.example no-reply@mail.seloger.example '' '' \
	'Flat in Lyon' 2000 false Q1)" "the same call again (a spool replay): no row"
t_eq 0 "$(im '2026-01-05 09:30+00' '{lyon@agence.example}' 'a1@mail.seloger.example' \
	mail.seloger.example no-reply@mail.seloger.example '' '' 'Fwd: Flat in Lyon' 2500 true Q2)" \
	"the same Message-ID forwarded to an address it reached already: no row"
t_eq 1 "$(im '2026-01-05 11:00+00' '{lyon@agence.example}' 'b1@lbc.example' lbc.example \
	Contact@LeBonCoin.EXAMPLE 'lead-7@site.example' '' 'House' 3000 false Q3)" \
	"From and Reply-To rules both match: the lower priority (Reply-To) wins"
t_eq 1 "$(im '2026-01-06 08:00+00' '{lyon@agence.example}' 'b2@lbc.example' lbc.example \
	Contact@LeBonCoin.EXAMPLE '' '' 'House 2' 3000 true Q4)" "a forwarded lead from a From rule"
t_eq 1 "$(im '2026-01-06 10:00+00' '{paris@agence.example}' 'c1@x.example' x.example \
	a@x.example '' '<Leads.Paris.Example>' 'Listed' 100 false Q5)" "a List-Id rule"
t_eq 1 "$(im '2026-01-06 12:00+00' '{paris@agence.example}' '' friend.example \
	a@friend.example '' '' 'No id' 50 false Q6)" "a message without Message-ID"
t_eq 0 "$(im '2026-01-06 12:00+00' '{paris@agence.example}' '' friend.example \
	a@friend.example '' '' 'No id' 50 false Q6)" "without Message-ID, replayed: no row"
t_run ctl inbound disable PARIS@agence.example
t_eq "0 disabled paris@agence.example (Paris)" "$RC $OUT" "disable"
t_run ctl inbound disable paris@agence.example
t_eq "0 paris@agence.example was disabled already (Paris)" "$RC $OUT" "disable again"
t_run ctl inbound enable nobody@agence.example
t_eq "65 beaconctl: error: inbound: 'nobody@agence.example' is not a tracked inbound address" \
	"$RC $ERR" "enable of an address not there"
t_eq "paris@agence.example|Paris|-|false" "$(pg_query "$TRACKED" | grep '^paris')" \
	"disable keeps the row, inactive"
t_eq 0 "$(im '2026-01-06 13:00+00' '{paris@agence.example}' 'd1@seloger.example' seloger.example \
	a@seloger.example '' '' 'Inactive' 10 false Q7)" "an inactive address records nothing"
t_run ctl inbound enable paris@agence.example
t_eq "0 enabled paris@agence.example (Paris)" "$RC $OUT" "enable"
t_run ctl inbound source add domain friend.example Friends --priority 1
t_eq 1 "$(im '2026-01-13 09:00+00' '{paris@agence.example}' 'e1@friend.example' friend.example \
	a@friend.example '' '' 'Rule changed' 10 false Q8)" "a rule added between two messages applies to the next"
t_eq "01-05 09:00|lyon@agence.example|Lyon|Ann Archer|SeLoger|mail.seloger.example|Flat in Lyon|a1@mail.seloger.example|2000|false|Q1
01-05 09:00|paris@agence.example|Paris|-|SeLoger|mail.seloger.example|Flat in Lyon|a1@mail.seloger.example|2000|false|Q1
01-05 11:00|lyon@agence.example|Lyon|Ann Archer|Web site|lbc.example|House|b1@lbc.example|3000|false|Q3
01-06 08:00|lyon@agence.example|Lyon|Ann Archer|Leboncoin|lbc.example|House 2|b2@lbc.example|3000|true|Q4
01-06 10:00|paris@agence.example|Paris|-|Portal list|x.example|Listed|c1@x.example|100|false|Q5
01-06 12:00|paris@agence.example|Paris|-|other|friend.example|No id|-|50|false|Q6
01-13 09:00|paris@agence.example|Paris|-|Friends|friend.example|Rule changed|e1@friend.example|10|false|Q8" \
	"$(pg_query "$ROWS")" "inbound rows exact"
t_eq "t f f t f" "$(pg_query "SELECT concat_ws(' ',
	has_function_privilege('beacon_milter', 'beacon.inbound_mail(timestamptz, text[], text, text,
		text, text, text, text, bigint, boolean, text)', 'EXECUTE'),
	has_function_privilege('beacon_reader', 'beacon.inbound_mail(timestamptz, text[], text, text,
		text, text, text, text, bigint, boolean, text)', 'EXECUTE'),
	has_table_privilege('beacon_milter', 'beacon.inbound', 'SELECT'),
	has_table_privilege('beacon_milter', 'beacon.tracked_inbound', 'SELECT'),
	has_table_privilege('beacon_milter', 'beacon.tracked_inbound', 'INSERT'))")" \
	"beacon_milter: EXECUTE inbound_mail, SELECT tracked_inbound only"

# --- the inbound reports
both() {
	local name=$1
	shift
	t_run ctl report "$name" "$@" --csv
	[ "$RC" = 0 ] || t_fail "report $name $*: $ERR"
	local pv=() a
	for a in "$@"; do
		[ "$a" = -v ] || pv+=(-v "$a")
	done
	t_eq "$(pg_psql --csv "${pv[@]}" -v tz=UTC -f "$BEACON_SRC/sql/reports/$name.sql")" "$OUT" \
		"report $name $*: beaconctl = psql"
}
both inbound
t_eq "period,point_of_sale,source,leads,previous,change,change_pct,complete
2026-01-05,Lyon,SeLoger,1,0,1,,t
2026-01-05,Lyon,Web site,1,0,1,,t
2026-01-05,Paris,SeLoger,1,0,1,,t
2026-01-06,Lyon,Leboncoin,1,0,1,,t
2026-01-06,Lyon,SeLoger,0,1,-1,-100.0,t
2026-01-06,Lyon,Web site,0,1,-1,-100.0,t
2026-01-06,Paris,Portal list,1,0,1,,t
2026-01-06,Paris,SeLoger,0,1,-1,-100.0,t
2026-01-06,Paris,other,1,0,1,,t
2026-01-07,Lyon,Leboncoin,0,1,-1,-100.0,t
2026-01-07,Paris,Portal list,0,1,-1,-100.0,t
2026-01-07,Paris,other,0,1,-1,-100.0,t
2026-01-13,Paris,Friends,1,0,1,,t
2026-01-14,Paris,Friends,0,1,-1,-100.0,t" "$OUT" "report inbound: per day, with the drop after"
im '2026-01-12 08:00+00' '{lyon@agence.example}' 'a2@seloger.example' seloger.example \
	x@seloger.example '' '' 'Second week' 10 false Q9 >/dev/null
im '2026-01-13 08:00+00' '{lyon@agence.example}' 'a3@seloger.example' seloger.example \
	x@seloger.example '' '' 'Second week' 10 false Q10 >/dev/null
im '2026-01-14 08:00+00' '{lyon@agence.example}' 'a4@seloger.example' seloger.example \
	x@seloger.example '' '' 'Second week' 10 false Q11 >/dev/null
t_run ctl report inbound --period week -v point_of_sale=Lyon --csv
t_eq "0 period,point_of_sale,source,leads,previous,change,change_pct,complete
2026-01-05,Lyon,Leboncoin,1,0,1,,t
2026-01-05,Lyon,SeLoger,1,0,1,,t
2026-01-05,Lyon,Web site,1,0,1,,t
2026-01-12,Lyon,Leboncoin,0,1,-1,-100.0,t
2026-01-12,Lyon,SeLoger,3,1,2,200.0,t
2026-01-12,Lyon,Web site,0,1,-1,-100.0,t
2026-01-19,Lyon,SeLoger,0,3,-3,-100.0,t" "$RC $OUT" "report inbound --period week: weeks from Monday, the change"
both inbound -v period=week -v point_of_sale=Lyon
t_run ctl report inbound --period month -v since=2026-01-10 -v until=2026-02-01 --json
t_eq "0 7 10 2026-01-01 Lyon Leboncoin 1 0 int" "$RC $(python3 -c 'import json, sys
r = json.load(sys.stdin)
print(len(r), sum(x["leads"] for x in r), r[0]["period"], r[0]["point_of_sale"], r[0]["source"],
      r[0]["leads"], r[0]["previous"], type(r[0]["leads"]).__name__)' <<<"$OUT")" \
	"report inbound --period month --json: the whole month (since rounds down), numbers"
t_run ctl report inbound --period month -v tz=Asia/Tokyo -v until=2026-02-01 --csv
t_eq "0 2026-01-01 2026-01-01" "$RC $(cut -d, -f1 <<<"$OUT" | sed 1d | sort -u | tr '\n' ' ')2026-01-01" \
	"report inbound -v tz=Asia/Tokyo -v until=2026-02-01: until is in tz, February is left out"
t_run ctl report inbound --period fortnight
t_eq 64 "$RC" "--period fortnight exit"
t_run ctl report inbound -v period=fortnight
t_eq "65 beaconctl: error: report inbound: period must be day, week or month, not 'fortnight'" \
	"$RC $ERR" "-v period=fortnight: the server's refusal"
t_run ctl report summary --period day
t_eq 64 "$RC" "--period goes with report inbound only"
t_run ctl report inbound --latest 2 --csv
t_eq "0 point_of_sale,at,source,sender_domain,subject,forward,address,owner,message_id
Lyon,2026-01-14 08:00:00,SeLoger,seloger.example,Second week,f,lyon@agence.example,Ann Archer,a4@seloger.example
Lyon,2026-01-13 08:00:00,SeLoger,seloger.example,Second week,f,lyon@agence.example,Ann Archer,a3@seloger.example
Paris,2026-01-13 09:00:00,Friends,friend.example,Rule changed,f,paris@agence.example,,e1@friend.example
Paris,2026-01-06 12:00:00,other,friend.example,No id,f,paris@agence.example,," "$RC $OUT" \
	"report inbound --latest 2: the two newest leads per point of sale"
both inbound_latest -v latest=3 -v source=SeLoger
t_run ctl report inbound --latest 0
t_eq 64 "$RC" "--latest 0 exit"

# --- replies
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, sender, sender_key, subject, sent_at, recipients)
VALUES
('10000000-0000-4000-8000-000000000001', '<m1@shop.example>', 'Alice@Shop.example',
 'alice@shop.example', 'Offer', '2026-01-05 09:00+00', 3),
('10000000-0000-4000-8000-000000000002', '<m2@shop.example>', 'alice@shop.example',
 'alice@shop.example', 'Offer, again', '2026-01-08 09:00+00', 1),
('10000000-0000-4000-8000-000000000003', 'm3@shop.example', 'prvs=1234=bob@shop.example',
 NULL, 'Bare id', '2026-01-09 09:00+00', 1);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001',
 'Ann@Example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000102', '10000000-0000-4000-8000-000000000001',
 'ben@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000103', '10000000-0000-4000-8000-000000000001',
 'eve@shop.example', 'internal', 1),
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002',
 'ann@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000301', '10000000-0000-4000-8000-000000000003',
 'cat@example.com', 'tracked', 1);
INSERT INTO beacon.events (at, kind, token_id, class) VALUES
('2026-01-05 10:00+00', 'open', '20000000-0000-4000-8000-000000000102', 'human');
EOF
# rp AT REFS FROM REPLY_ID
rp() {
	pg_query "SELECT beacon.reply('$1', '$2', '$3', '$4', 'QR')"
}
REPLIES="SELECT right(message::text, 1) || '|' || coalesce(right(token_id::text, 3), '-') || '|' ||
	to_char(at, 'MM-DD HH24:MI') || '|' || reply_message_id || '|' || coalesce(from_domain, '-')
	FROM beacon.replies ORDER BY at, message"
REPLY_EVENTS="SELECT right(token_id::text, 3) || '|' || to_char(at, 'MM-DD HH24:MI') || '|' || class
	FROM beacon.events WHERE kind = 'reply' ORDER BY at"
t_eq 1 "$(rp '2026-01-06 08:00+00' '{m1@shop.example}' '{ann@example.com,ann@example.com}' '<r1@example.com>')" \
	"a recipient's reply: one row"
t_eq 0 "$(rp '2026-01-06 08:00+00' '{m1@shop.example}' '{ann@example.com,ann@example.com}' 'r1@example.com')" \
	"the same reply again: nothing"
t_eq 1 "$(rp '2026-01-06 09:00+00' '{r1@example.com,m1@shop.example}' '{carl@example.com,bounce@example.com}' 'r2@example.com')" \
	"a colleague's reply further down the thread: one row, no recipient"
t_eq 0 "$(rp '2026-01-06 10:00+00' '{m1@shop.example}' '{alice@shop.example,alice@shop.example}' 'r3@shop.example')" \
	"the sender writing in their own thread: nothing"
t_eq 0 "$(rp '2026-01-06 11:00+00' '{unknown@example.com}' '{ann@example.com}' 'r4@example.com')" \
	"a reply naming no tracked message: nothing"
t_eq 0 "$(rp '2026-01-06 11:00+00' '{}' '{ann@example.com}' 'r5@example.com')" \
	"a message without In-Reply-To or References: nothing"
t_eq 1 "$(rp '2026-01-09 08:00+00' '{m2@shop.example,m1@shop.example}' '{ann@example.com}' 'r6@example.com')" \
	"a reply to the newest tracked message answers it, not the older one"
t_eq 1 "$(rp '2026-01-10 08:00+00' '{<m3@shop.example>}' '{cat@example.com}' 'r7@example.com')" \
	"a Message-ID stored without <> is found"
t_eq 0 "$(rp '2026-01-10 09:00+00' '{m3@shop.example}' '{bob@shop.example}' 'r8@shop.example')" \
	"the BATV-tagged sender of an older row is the sender too"
t_eq 1 "$(rp '2026-01-11 08:00+00' '{m3@shop.example}' '{cat@example.com}' '')" \
	"a reply without Message-ID: one row, named by its queue id"
t_eq 0 "$(rp '2026-01-11 08:00+00' '{m3@shop.example}' '{cat@example.com}' '')" \
	"a reply without Message-ID, replayed: nothing"
t_eq "1|101|01-06 08:00|r1@example.com|example.com
1|-|01-06 09:00|r2@example.com|example.com
2|201|01-09 08:00|r6@example.com|example.com
3|301|01-10 08:00|r7@example.com|example.com
3|301|01-11 08:00|queue:QR|example.com" "$(pg_query "$REPLIES")" "replies rows exact"
t_eq "101|01-06 08:00|human
201|01-09 08:00|human
301|01-10 08:00|human
301|01-11 08:00|human" "$(pg_query "$REPLY_EVENTS")" "one reply event per recipient's reply, none for the colleague"
t_eq "t f" "$(pg_query "SELECT concat_ws(' ',
	has_function_privilege('beacon_milter', 'beacon.reply(timestamptz, text[], text[], text, text)', 'EXECUTE'),
	has_table_privilege('beacon_milter', 'beacon.replies', 'SELECT'))")" \
	"beacon_milter: EXECUTE reply, no SELECT on replies"

t_run ctl report summary -v message=10000000-0000-4000-8000-000000000001 --json
t_eq "0 recipients=2 opened=2 opens=1 replied=1 reply_rate=50.0 replies=2" "$RC $(python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
print(" ".join("%s=%s" % (k, r[k]) for k in ("recipients", "opened", "opens", "replied", "reply_rate", "replies")))' <<<"$OUT")" \
	"summary: the reply counts as engagement without an open; replied, reply_rate, replies"
t_run ctl report summary -v message=10000000-0000-4000-8000-000000000001 -v classes=proxy --json
t_eq "0 opened=1 replied=1 left_out_human=1" "$RC $(python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
print(" ".join("%s=%s" % (k, r[k]) for k in ("opened", "replied", "left_out_human")))' <<<"$OUT")" \
	"summary: a reply counts whatever classes says; the human open is left out"
both summary -v by=all
t_run ctl report never_opened -v message=10000000-0000-4000-8000-000000000001 -v classes=proxy --csv
t_eq "0 ben@example.com" "$RC $(sed 1d <<<"$OUT" | cut -d, -f4)" \
	"never_opened: who answered has opened; ben's human open is left out with classes=proxy"
t_run ctl history ann@example.com --csv
t_eq "0 at,subject,kind,class,place,device,os,client,detail
2026-01-09 08:00:00,\"Offer, again\",reply,human,,,,,
2026-01-06 08:00:00,Offer,reply,human,,,,," "$RC $OUT" "history shows the replies"
t_run ctl history m1@shop.example --csv
t_eq "0 at,address,kind,class,place,device,os,client,detail
2026-01-06 09:00:00,,reply,,,,,,\"not a recipient, example.com\"
2026-01-06 08:00:00,Ann@Example.com,reply,human,,,,,
2026-01-05 10:00:00,ben@example.com,open,human,,,,," "$RC $OUT" \
	"history of a message: the recipient's reply, and the colleague's without recipient"
both history -v message_id=m1@shop.example
t_eq "reply||1" "$(sed -n 2p <<<"$OUT" | cut -d, -f2,4,5 | sed 's/,/|/g; s/10000000-0000-4000-8000-00000000000//')" \
	"report history of a message: the colleague's reply, without address"
both history -v address=ann@example.com -v message_id=m1@shop.example
t_eq 2 "$(wc -l <<<"$OUT")" "report history of an address: no colleague's reply"

# --- purge takes old inbound rows
pg_query "SELECT beacon.inbound_mail(now() - interval '40 days', '{lyon@agence.example}', 'old@x.example',
	'x.example', NULL, NULL, NULL, 'Old', 1, false, 'QO');
	SELECT beacon.inbound_mail(now() - interval '1 day', '{lyon@agence.example}', 'new@x.example',
	'x.example', NULL, NULL, NULL, 'New', 1, false, 'QN')" >/dev/null
t_run ctl purge --older-than 30
t_eq 0 "$RC" "purge exit"
t_eq "inbound      11" "$(grep '^inbound' <<<"$OUT")" "purge prints the inbound leads deleted (the 10 of January too)"
t_eq "1|0|1" "$(pg_query "SELECT count(*) || '|' ||
	count(*) FILTER (WHERE message_id = 'old@x.example') || '|' ||
	count(*) FILTER (WHERE message_id = 'new@x.example') FROM beacon.inbound")" \
	"purge deletes the inbound rows older than its cutoff, keeps the newer"
t_eq "0|0" "$(pg_query "SELECT (SELECT count(*) FROM beacon.replies) || '|' ||
	(SELECT count(*) FROM beacon.events WHERE kind = 'reply')")" \
	"purge takes the replies with their messages"
pg_query "SELECT beacon.inbound_mail(now() - interval '500 days', '{lyon@agence.example}',
	'older@x.example', 'x.example', NULL, NULL, NULL, 'Older', 1, false, 'QOO')" >/dev/null
t_run ctl maintain
t_eq 0 "$RC" "maintain exit"
t_eq "purged 1 inbound lead received before" "$(grep -o '^purged 1 inbound lead received before' <<<"$OUT")" \
	"maintain prints the inbound leads purged (retention_days 400)"

# --- import: a large file in one statement, invalid UTF-8 named by its line
printf 'lead-%d@bulk.example,Bulk %d,Owner %d\n' $(seq 1 100000 | sed 'p;p') >"$T_DIR/big.csv"
t0=$(date +%s)
t_run timeout 20 env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u PGTZ "$CTL" \
	-c "$T_DIR/beacon.conf" inbound import "$T_DIR/big.csv"
t_eq "0 imported 100000 addresses: 100000 added, 0 updated" "$RC $OUT" "import of 100000 lines"
t_ok "import of 100000 lines took $(( $(date +%s) - t0 )) s (bound 20 s)"
t_eq "100000 Bulk 99999|Owner 99999" "$(pg_query "SELECT count(*) FILTER (WHERE address LIKE '%@bulk.example')
	|| ' ' || max(point_of_sale || '|' || owner) FILTER (WHERE address = 'lead-99999@bulk.example')
	FROM beacon.tracked_inbound")" "import of 100000 lines: the rows"
printf 'a@utf.example,Lyon \xc3\xa9\nb@utf.example,Caf\xe9,x\n' >"$T_DIR/latin1.csv"
t_run ctl inbound import "$T_DIR/latin1.csv"
t_eq "65 beaconctl: error: inbound: $T_DIR/latin1.csv, line 2: not valid UTF-8; nothing imported" \
	"$RC $ERR" "import refuses invalid UTF-8, naming the line"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.tracked_inbound WHERE address LIKE '%@utf.example'")" \
	"a refused import adds nothing"
printf 'q@utf.example,"Say ""hi"" \\ there",\n' >"$T_DIR/quotes.csv"
t_run ctl inbound import "$T_DIR/quotes.csv"
t_eq "0 Say \"hi\" \\ there" "$RC $(pg_query "SELECT point_of_sale FROM beacon.tracked_inbound
	WHERE address = 'q@utf.example'")" "import: quotes and backslashes arrive as written"

