#!/bin/bash
# NAME
#	52_web_data.sh - what beacon-web's pages and JSON API say about a
#	sender's mail: the figures of the reports, search, pagination, events
#	and their classes, threads, CSV, bad filters
#
# DESCRIPTION
#	PostgreSQL with every migration; beacon-web as a login role in
#	beacon_web only; ann's messages (and one of bob's) written with SQL as
#	beacon-milter stores them, with events of every class.  curl speaks
#	to http://localhost as ann (her session cookie).
#
#	- the summary (API and the page's CSV) holds the numbers of
#	  `beaconctl report summary` for ann's mail, and those of the report
#	  files run by psql (by all, by message, a campaign; clicks, devices,
#	  geo), read from report files only root can read (beacon-web loads
#	  them before it drops to nobody); since/until are days of tz (a message sent 23:30 UTC is the
#	  next day in Europe/Berlin, as for psql in that zone); the chart's
#	  timeline sums to the summary's opens and clicks;
#	- /api/v1/messages: ann's three messages newest first, with their
#	  counted recipients (a proxy open counts, a prefetch and a honeypot
#	  click do not), walked two at a time with the cursor; q finds a
#	  recipient's name and address in any case, campaign filters;
#	- a message's events: newest first, uncounted ones marked with their
#	  reason and why in a sender's words (a rule of machines.yaml by its
#	  name), the link and the file named, the place in one text, the
#	  subject; the page greys them, keeps the reason's code in a title,
#	  shows seconds and the zone, and counts the classes= asked for;
#	- the summary page: no empty identity rows, the events left out only
#	  for the classes not counted and not 0, rates "of delivered"; its
#	  chart has six slots at least and the ten clients with most opens;
#	- the Live page holds the user's last 20 events (not another's);
#	- conversations: the messages of a thread together with the answers
#	  (a recipient's, and one of someone it was not sent to), newest
#	  activity first;
#	- HTML escapes a subject; the CSV neutralises a formula in it;
#	- a bad date, zone, limit or table is 400 naming the parameter;
#	- a client name holding </script> and <!-- stays JSON text in the
#	  summary's chart block; the summary API's sent_at is UTC ISO 8601
#	  (its CSV the report's local time of tz);
#	- a CSV cut at 100 000 rows ends with a row that says so, and the
#	  message page says what its CSV holds;
#	- live streams (cookie and token): after sign-out, token revoke and
#	  beaconctl web user disable, an event inserted then does not reach
#	  theirs, which get "event: end" and close, while a live token's
#	  stream gets it; a user's fifth stream is 429 while another user's
#	  opens; a batch is read once per user, not per stream (the
#	  server's statement log);
#	- PostgreSQL stopped (SIGSTOP) under a request waiting for a lock,
#	  statement_timeout 3 s: 504 within 6.5 s, not when the server
#	  wakes, and the next request works.
set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/web.sh"

command -v jq >/dev/null || t_fail "no jq (make deps)"
t_tmpdir >/dev/null
pg_start
pg_schema
wb_role
wb_config
# The report files readable by root only, as in a checkout under /root:
# beacon-web must read them before it drops to nobody, or the summary fails.
if [ "$(id -u)" = 0 ]; then
	mkdir -m 0700 "$T_DIR/rootonly"
	cp -r "$BEACON_SRC/sql" "$T_DIR/rootonly/sql"
	export BEACON_SQLDIR=$T_DIR/rootonly/sql
else
	echo "# not root: beacon-web drops no privilege, the root-only report files are not tried"
fi
wb_start
PW='ann has a long password'
wb_user ann@example.org "$PW"

M1=30000000-0000-4000-8000-000000000001
M2=30000000-0000-4000-8000-000000000002
M3=30000000-0000-4000-8000-000000000003
MB=30000000-0000-4000-8000-0000000000b0
pg_psql <<EOF >/dev/null
INSERT INTO beacon.messages (id, message_id, sender, sender_key, subject, campaign, sent_at,
	thread_root)
VALUES
('$M1', '<m1@example.org>', 'ann@example.org', 'ann@example.org', 'Spring letter',
 'spring', '2026-03-10 23:30:00+00', NULL),
('$M2', '<m2@example.org>', 'ann@example.org', 'ann@example.org',
 '=HYPERLINK("x")<script>alert(1)</script>', 'spring', '2026-03-12 10:00:00+00',
 'm3@example.org'),
('$M3', '<m3@example.org>', 'ann@example.org', 'ann@example.org', 'Offer', NULL,
 '2026-03-09 08:00:00+00', NULL),
('$MB', '<mb@example.net>', 'bob@example.net', 'bob@example.net', 'Bob''s plan', 'spring',
 '2026-03-11 12:00:00+00', NULL);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id, name) VALUES
('40000000-0000-4000-8000-000000000011', '$M1', 'carol@example.com', 'tracked', 1, 'Carol Jones'),
('40000000-0000-4000-8000-000000000012', '$M1', 'dave@example.com', 'tracked', 1, NULL),
('40000000-0000-4000-8000-000000000013', '$M1', 'eve@example.org', 'internal', 1, NULL),
('40000000-0000-4000-8000-000000000021', '$M2', 'Erin@Example.com', 'tracked', 1, NULL),
('40000000-0000-4000-8000-000000000031', '$M3', 'frank@example.com', 'tracked', 1, 'Frank'),
('40000000-0000-4000-8000-0000000000b1', '$MB', 'zed@example.com', 'tracked', 1, 'Carol Zed');
INSERT INTO beacon.links (message, n, url) VALUES
('$M1', 0, 'https://t.example/hidden'), ('$M1', 1, 'https://example.org/spring'),
('$M1', 2, 'https://example.org/shop');
INSERT INTO beacon.attachments (message, id, name, content_type, size)
VALUES ('$M1', 1, 'catalogue.pdf', 'application/pdf', 1200);
INSERT INTO beacon.events (at, kind, token_id, link_n, attachment_id, device, os, client,
	country, region, city, class, reason) VALUES
('2026-03-10 23:30:05+00', 'click', '40000000-0000-4000-8000-000000000011', 0, NULL, NULL, NULL,
 NULL, 'US', NULL, NULL, 'scanner', 'honeypot'),
('2026-03-11 08:00:00+00', 'open', '40000000-0000-4000-8000-000000000011', NULL, NULL, 'Desktop',
 'Windows', 'Outlook', 'DE', 'Berlin', 'Berlin', 'human', NULL),
('2026-03-11 08:01:00+00', 'click', '40000000-0000-4000-8000-000000000011', 1, NULL, 'Desktop',
 'Windows', 'Outlook', 'DE', 'Berlin', 'Berlin', 'human', NULL),
('2026-03-11 08:02:00+00', 'download', '40000000-0000-4000-8000-000000000011', NULL, 1,
 'Desktop', 'Windows', 'Outlook', 'DE', 'Berlin', 'Berlin', 'human', NULL),
('2026-03-10 23:31:00+00', 'open', '40000000-0000-4000-8000-000000000012', NULL, NULL, NULL, NULL,
 'Apple Mail', 'US', 'California', NULL, 'prefetch', 'apple-mpp'),
('2026-03-11 09:00:00+00', 'open', '40000000-0000-4000-8000-000000000012', NULL, NULL, NULL, NULL,
 'Gmail', NULL, NULL, NULL, 'proxy', 'proxy-ua'),
('2026-03-09 08:30:00+00', 'open', '40000000-0000-4000-8000-000000000031', NULL, NULL, 'Phone',
 'iOS', 'Apple Mail', 'GB', 'England', 'London', 'human', NULL),
('2026-03-09 10:00:00+00', 'reply', '40000000-0000-4000-8000-000000000031', NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, 'human', NULL),
('2026-03-11 13:00:00+00', 'open', '40000000-0000-4000-8000-0000000000b1', NULL, NULL, 'Desktop',
 'Linux', 'Thunderbird', 'NL', NULL, 'Amsterdam', 'human', NULL);
INSERT INTO beacon.replies (message, token_id, at, reply_message_id, from_domain) VALUES
('$M3', '40000000-0000-4000-8000-000000000031', '2026-03-09 10:00:00+00', 'r1@example.com',
 'example.com'),
('$M3', NULL, '2026-03-13 11:00:00+00', 'r2@example.net', 'example.net');
EOF
t_eq 303 "$(wb_login ann ann@example.org "$PW")" "ann signs in"

# api - GET PATH as ann; the body in $WB_BODY, fail unless STATUS (200)
api() {
	local st
	st=$(wb_get ann "$1")
	[ "$st" = "${2:-200}" ] || t_fail "GET $1: status $st, expected ${2:-200}: $(head -c 300 "$WB_BODY")"
}
# csvnorm [plain] - a CSV with each cell unquoted, "|" between cells (the writers
# quote an empty first cell differently); plain: without the ' that beacon-web
# and beaconctl put before a formula and psql does not
csvnorm() {
	python3 -c 'import csv, re, sys
plain = len(sys.argv) > 1
for row in csv.reader(sys.stdin):
    print("|".join(re.sub(r"^\x27(?=[-=+@\t\r])", "", c) if plain else c for c in row))' "$@"
}
# report - sql/reports/NAME.sql for ann's own mail as psql runs it (the
# reference reader of the report files), CSV, normalised; the zone is $TZ
report() {
	local name=$1
	shift
	PGTZ=$TZ pg_psql --csv -v sender=ann@example.org -v tz="$TZ" "$@" \
		-f "$BEACON_SRC/sql/reports/$name.sql" | csvnorm plain
}

# --- the reports' figures ----------------------------------------------------
export TZ=UTC
api "/api/v1/summary?format=csv"
t_eq "$(wb_ctl report summary -v sender=ann@example.org -v by=all --csv | csvnorm)" \
	"$(csvnorm <"$WB_BODY")" "summary, all of ann's mail (API CSV), as beaconctl report prints it"
t_eq "$(report summary -v by=all)" "$(csvnorm <"$WB_BODY")" "the same as psql -f summary.sql"
api "/api/v1/summary"
t_eq "3|4|4|3|1|1|1|1|1" "$(jq -r '.items[0] | [.messages, .recipients, .delivered, .opened,
	.clicked, .downloaded, .replied, .left_out_prefetch, .left_out_scanner] | join("|")' "$WB_BODY")" \
	"summary JSON: counted opens include the proxy, not the prefetch or the honeypot"
t_eq 200 "$(wb_get ann "/summary?by=message&format=csv&table=summary")" "the page's summary CSV by message"
t_eq "$(report summary -v by=message)" "$(csvnorm plain <"$WB_BODY")" "summary by message (page CSV)"
api "/api/v1/summary?campaign=spring&format=csv"
t_eq "$(report summary -v by=all -v campaign=spring)" "$(csvnorm <"$WB_BODY")" \
	"summary of campaign spring: bob's message in it left out"
for t in clicks devices geo; do
	api "/api/v1/summary?table=$t&format=csv"
	t_eq "$(report "$t")" "$(csvnorm <"$WB_BODY")" "report $t"
done
api "/api/v1/summary?table=timeline"
t_eq "3|1" "$(jq -r '[([.items[].opens] | add), ([.items[].clicks] | add)] | join("|")' "$WB_BODY")" \
	"the timeline sums to the summary's opens and clicks"
t_eq "day|2026-03-09" "$(jq -r '.items[0] | [.unit, .slot] | join("|")' "$WB_BODY")" \
	"the timeline's unit and first slot"
t_eq 6 "$(jq -r '.items | length' "$WB_BODY")" "three days of events: six slots, the last three empty"
api "/api/v1/summary?since=2026-03-11&until=2026-03-11&tz=Europe/Berlin&format=csv"
t_eq "$(TZ=Europe/Berlin report summary -v by=all -v since=2026-03-11 -v until=2026-03-12)" \
	"$(csvnorm <"$WB_BODY")" "one day of Europe/Berlin as psql in that zone"
api "/api/v1/summary?since=2026-03-11&until=2026-03-11&tz=Europe/Berlin"
t_eq 1 "$(jq -r '.items[0].messages' "$WB_BODY")" "23:30 UTC on the 10th is the 11th in Berlin"
api "/api/v1/summary?since=2026-03-11&until=2026-03-11"
t_eq 0 "$(jq -r '.items | length' "$WB_BODY")" "and not the 11th in UTC"

# --- messages: list, counts, cursor, search ------------------------------------
api "/api/v1/messages"
t_eq "$M2 $M1 $M3" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "ann's messages newest first, not bob's"
t_eq "2|2|1|1|2026-03-11T08:00:00.000Z|2026-03-11T09:00:00.000Z" \
	"$(jq -r '.items[1] | [.recipients, .opened, .clicked, .downloaded, .first_activity,
	.last_activity] | join("|")' "$WB_BODY")" "the spring letter's counts and activity"
t_eq "number|null" "$(jq -r '"\(.items[1].opened | type)|\(.items[0].first_activity)"' "$WB_BODY")" \
	"numbers are numbers, no activity is null"
api "/api/v1/messages?limit=2"
NEXT=$(jq -r '.next' "$WB_BODY")
t_eq "$M2 $M1" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "the first two"
api "/api/v1/messages?limit=2&cursor=$NEXT"
t_eq "$M3|null" "$(jq -r '[([.items[].id] | join(" ")), (.next // "null")] | join("|")' "$WB_BODY")" \
	"the cursor gives the rest, then no next"
api "/api/v1/messages?q=CAROL%20jones"
t_eq "$M1" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "q finds a recipient's name"
api "/api/v1/messages?q=carol"
t_eq "$M1" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "q=carol: not bob's Carol Zed"
api "/api/v1/messages?q=erin@example"
t_eq "$M2" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "q finds an address in any case"
api "/api/v1/messages?q=100%25"
t_eq 0 "$(jq -r '.items | length' "$WB_BODY")" "% in q is a literal"
api "/api/v1/messages?campaign=spring&since=2026-03-11&tz=Europe/Berlin"
t_eq "$M2 $M1" "$(jq -r '[.items[].id] | join(" ")' "$WB_BODY")" "campaign and a day in Berlin"

# --- one message's events ------------------------------------------------------
api "/api/v1/messages/$M1/events"
t_eq 6 "$(jq -r '.items | length' "$WB_BODY")" "the spring letter's six events"
t_eq "open proxy true -|download human true catalogue.pdf|click human true https://example.org/spring|open human true -" \
	"$(jq -r '.items[:4][] | "\(.kind) \(.class) \(.counted) \(.link // .attachment // "-")"' \
	"$WB_BODY" | paste -sd'|')" "newest first, with the file and the link"
t_eq "prefetch false apple-mpp|scanner false honeypot" \
	"$(jq -r '.items[4:][] | "\(.class) \(.counted) \(.reason)"' "$WB_BODY" | paste -sd'|')" \
	"uncounted events marked, with their reason"
t_eq "Berlin, DE|Spring letter|-" "$(jq -r '.items[1] | [.place, .subject, (.why // "-")] | join("|")' "$WB_BODY")" \
	"an event's place in one text (the city that names its region once), its subject, no why for a person"
t_eq "Apple Mail Privacy Protection loaded the images; not an open" "$(jq -r '.items[4].why' "$WB_BODY")" \
	"why in a sender's words, not the administrator's (no configuration key)"
t_eq "Gmail|null" "$(jq -r '.items[0] | "\(.client)|\(.place)"' "$WB_BODY")" "a proxy's open: no place"
api "/api/v1/messages/$M1"
t_eq "dave@example.com true false|carol@example.com true true|eve@example.org false false" \
	"$(jq -r '.recipient_list[] | "\(.address) \(.opened) \(.clicked)"' "$WB_BODY" | paste -sd'|')" \
	"the recipients, latest activity first, the internal one last"
t_eq 200 "$(wb_get ann "/m/$M1")" "the message page"
t_eq "6 2" "$(grep -c '<tr class="event' "$WB_BODY") $(grep -c '<tr class="event uncounted' "$WB_BODY")" \
	"six tr.event, two greyed"
t_eq "1 0" "$(grep -c '<span class="why" title="apple-mpp"><b>not counted</b>: Apple Mail Privacy Protection loaded the images; not an open</span>' "$WB_BODY") $(grep -c '<code>' "$WB_BODY")" \
	"the page: why in words, the reason's code in a title"
t_eq "1 6" "$(grep -c '<th>Time (<span class="tz">UTC</span>)</th>' "$WB_BODY") $(grep -c '<time datetime="[^"]*" data-sec>2026-03-1[01] [0-9:]\{8\} UTC</time>' "$WB_BODY")" \
	"the events' times to the second, the zone named"
t_eq 200 "$(wb_get ann "/m/$M1?classes=human")" "the message page counting human events only"
t_eq "3 1" "$(grep -c '<tr class="event uncounted' "$WB_BODY") $(grep -o '<span class="v" data-k="opened">[0-9]*' "$WB_BODY" | sed 's/.*>//')" \
	"classes=human: the proxy open greyed too, one recipient opened"
api "/api/v1/messages/$M3/events"
t_eq "reply null example.net|reply frank@example.com null|open frank@example.com null" \
	"$(jq -r '.items[] | "\(.kind) \(.recipient) \(.from_domain)"' "$WB_BODY" | paste -sd'|')" \
	"an answer of someone it was not sent to is a reply too"
api "/api/v1/messages/$MB/events" 404

# --- conversations -----------------------------------------------------------
t_eq 200 "$(wb_get ann /conversations)" "the conversations page"
t_eq 2 "$(grep -c '<details class="thread"' "$WB_BODY")" "two threads"
t_eq "Offer|Spring letter" "$(grep -o '<summary><span class="subject">[^<]*' "$WB_BODY" |
	sed 's/.*>//' | paste -sd'|')" "the thread with the latest answer first, named by its first message"
t_eq 1 "$(grep -c 'Reply from frank@example.com' "$WB_BODY")" "frank's answer in the thread"
t_eq 1 "$(grep -c 'Reply from someone at example.net' "$WB_BODY")" "the other answer in the thread"
t_eq 200 "$(wb_get ann "/conversations?format=csv")" "conversations CSV"
t_eq 5 "$(csvnorm <"$WB_BODY" | tail -n +2 | wc -l)" "conversations CSV: three messages and two replies, a row each"

# --- escaping, CSV, bad filters ------------------------------------------------
t_eq 200 "$(wb_get ann /)" "the messages page"
t_eq 1 "$(grep -c '<p class="count" id="messages-count">3 messages</p>' "$WB_BODY")" "the count: 3 messages"
t_eq "3 0 1" "$(grep -c '<tr class="message">' "$WB_BODY") $(grep -c '<script>alert' "$WB_BODY") $(grep -c '&lt;script&gt;alert(1)&lt;/script&gt;' "$WB_BODY")" \
	"three rows, the subject's markup escaped"
t_eq 200 "$(wb_get ann "/?q=spring&format=csv")" "the messages CSV with the search"
t_eq 3 "$(csvnorm <"$WB_BODY" | wc -l)" "a header and the two spring messages"
t_eq "'=HYPERLINK(\"x\")<script>alert(1)</script>" "$(csvnorm <"$WB_BODY" | sed -n 2p | cut -d'|' -f3)" \
	"a formula in a cell gets a leading '"
api "/api/v1/messages?since=2026-02-30" 400
t_eq 1 "$(jq -r '.error' "$WB_BODY" | grep -c '^since')" "a day that does not exist: 400 naming since"
api "/api/v1/messages?since=2026-03-01&tz=Nowhere/Atlantis" 400
t_eq 1 "$(jq -r '.error' "$WB_BODY" | grep -c 'TimeZone')" "an unknown zone: 400 from the server's check"
api "/api/v1/messages?limit=501" 400
api "/api/v1/summary?table=secrets" 400
api "/api/v1/summary?by=sender" 400
t_eq 400 "$(wb_get ann "/summary?classes=human,robots")" "the page refuses an unknown class too"

# --- the summary page --------------------------------------------------------
t_eq 200 "$(wb_get ann /summary)" "the summary page"
t_eq "0 0 0 1 1" "$(for k in message left_out_human left_out_proxy; do grep -c "data-k=\"$k\"" "$WB_BODY"; done | paste -sd' ') $(grep -c '<th>prefetch</th><td class="n" data-k="left_out_prefetch">1</td>' "$WB_BODY") $(grep -c '<th>scanner</th><td class="n" data-k="left_out_scanner">1</td>' "$WB_BODY")" \
	"the figures: no empty message row, nothing left out of the counted classes, the prefetch and the scanner under Not counted"
t_eq "1 1" "$(grep -c '% of delivered</span>' "$WB_BODY") $(grep -c 'Open rate (% of delivered)' "$WB_BODY")" \
	"the rates say of what"

# --- later events: the clients chart, a rule of machines.yaml, the Live page --
# C01..C10 two opens each on one device; Zmail three, one on each of three
# devices: devices.sql's rows (most opens first) hold Zmail's after the ten
# others, its sum is the largest
pg_psql <<EOF >/dev/null
INSERT INTO beacon.events (at, kind, token_id, device, os, client, class)
SELECT now() - interval '1 hour' + i * interval '1 second', 'open',
	'40000000-0000-4000-8000-000000000021'::uuid, 'Desktop', 'Windows',
	format('C%s', lpad(((i + 1) / 2)::text, 2, '0')), 'human'
FROM generate_series(1, 20) i
UNION ALL
SELECT now() - interval '30 minutes' + i * interval '1 second', 'open',
	'40000000-0000-4000-8000-000000000021'::uuid, format('x%s', i), 'Other', 'Zmail', 'human'
FROM generate_series(1, 3) i;
INSERT INTO beacon.events (at, kind, token_id, link_n, class, reason) VALUES
(now() - interval '1 minute', 'click', '40000000-0000-4000-8000-000000000021', 1, 'scanner',
 'list:acme-linkcheck'),
(now(), 'open', '40000000-0000-4000-8000-0000000000b1', NULL, 'human', NULL);
EOF
# json_block ID - the JSON of the page's <script type="application/json" id=ID>
json_block() {
	python3 -c 'import json, re, sys
m = re.search(r"<script type=\"application/json\" id=\"%s\">(.*?)</script>" % sys.argv[2], open(sys.argv[1]).read(), re.S)
print(json.dumps(json.loads(m.group(1))))' "$WB_BODY" "$1"
}
t_eq 200 "$(wb_get ann "/summary?message=$M2")" "the summary of the message opened in 13 clients"
t_eq "Zmail C01 C02 C03 C04 C05 C06 C07 C08 C09|3 2 2 2 2 2 2 2 2 2" \
	"$(json_block chart-data | jq -r '"\(.clients.labels | join(" "))|\(.clients.opens | map(tostring) | join(" "))"')" \
	"the clients chart: the ten with most opens, summed over devices"
api "/api/v1/messages/$M2/events?limit=1"
t_eq "scanner|false|list:acme-linkcheck|the rule \"acme-linkcheck\" of the list of known machines matched" \
	"$(jq -r '.items[0] | [.class, .counted, .reason, .why] | join("|")' "$WB_BODY")" "a rule of machines.yaml named in why"
t_eq 200 "$(wb_get ann /live)" "the Live page"
t_eq "20|$M2|click|list:acme-linkcheck" "$(json_block live-recent | jq -r '"\(length)|\([.[].message] | unique | join(" "))|\(.[0].kind)|\(.[0].reason)"')" \
	"the Live page's first rows: ann's last 20 events, newest first, not bob's newer one"

# --- hostile text in the summary's chart block ---------------------------------
# a client name that would end the <script type="application/json"> block, or
# open a comment in it, is JSON text there: the block ends at its own </script>
pg_psql <<EOF >/dev/null
INSERT INTO beacon.events (at, kind, token_id, device, os, client, class)
SELECT now() - interval '10 minutes' + i * interval '1 second', 'open',
	'40000000-0000-4000-8000-000000000021', 'Desktop', 'Windows',
	'</script><!--<script>alert(1)//', 'human'
FROM generate_series(1, 5) i;
EOF
t_eq 200 "$(wb_get ann "/summary?message=$M2")" "the summary of a message opened in a hostile client"
t_eq "</script><!--<script>alert(1)//" "$(python3 -c 'import json, sys
page = open(sys.argv[1]).read()
start = page.index("<script type=\"application/json\" id=\"chart-data\">")
start = page.index(">", start) + 1
block = page[start:page.lower().index("</script", start)]
if "<!--" in block or "<script" in block.lower():
    sys.exit("the block holds markup: " + block[:200])
print(json.loads(block)["clients"]["labels"][0])' "$WB_BODY")" \
	"the chart block: the hostile name is JSON text, no </script> nor <!-- before the block's end"

# --- the summary's times in the API ---------------------------------------------
api "/api/v1/summary?by=message&tz=Europe/Berlin"
t_eq "2026-03-09T08:00:00.000Z 2026-03-10T23:30:00.000Z 2026-03-12T10:00:00.000Z" \
	"$(jq -r '[.items[].sent_at] | join(" ")' "$WB_BODY")" "summary JSON: sent_at in UTC ISO 8601"
api "/api/v1/summary?by=message&tz=Europe/Berlin&format=csv"
t_eq "2026-03-11 00:30:00" "$(csvnorm <"$WB_BODY" | awk -F'|' -v m="$M1" '$1 == m { print $4 }')" \
	"summary CSV: sent_at as beaconctl report prints it, in tz"

# beacon-web again, with [web] statement_timeout 30 s (the pages' read sessions) (the CSV below reads 100 000
# events) and its statements in the server's log (to count the live batch reads)
wb_stop
pg_psql -c "ALTER ROLE web SET log_statement = 'all'" >/dev/null
printf '\n[web]\nstatement_timeout = 30\n' >>"$WB_CONF"
wb_start

# --- a CSV cut at DATA_CSV_MAX rows says so ---------------------------------------
pg_psql <<EOF >/dev/null
INSERT INTO beacon.events (at, kind, token_id, class)
SELECT timestamptz '2026-03-09 12:00:00+00' + i * interval '1 millisecond', 'open',
	'40000000-0000-4000-8000-000000000031', 'human'
FROM generate_series(1, 100001) i;
ANALYZE beacon.events;
EOF
t_eq 200 "$(wb_get ann "/m/$M3?format=csv&table=events")" "the events CSV of a message with 100 003 events"
t_eq "100001|(cut: the first 100000 rows only; narrow the filters, such as since and until, for the rest)" \
	"$(python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print("%d|%s" % (len(rows) - 1, rows[-1][0] if len(rows[-1]) == 1 else "no cut row: " + ",".join(rows[-1])))' "$WB_BODY")" \
	"100 000 rows after the header, then a row that says the CSV was cut"
t_eq 200 "$(wb_get ann "/m/$M3")" "its page"
t_eq "0 1" "$(grep -c 'has them all' "$WB_BODY") $(grep -c '<p class="note">The newest 1000 events. The CSV has up to 100000, newest first, and says so in its last row when there are more.</p>' "$WB_BODY")" \
	"the page says what the CSV holds"
pg_psql -c "DELETE FROM beacon.events WHERE token_id = '40000000-0000-4000-8000-000000000031'
	AND at > '2026-03-09 12:00:00+00' AND at < '2026-03-09 13:00:00+00'" >/dev/null

# --- live streams: they end with their session or token; four of a user ---------
wb_user bob@example.net "$PW"
wb_user ops@example.org "$PW" --admin
T1=$(wb_token ann@example.org)
T2=$(wb_token ann@example.org)
TO=$(wb_token ops@example.org)
TB=$(wb_token bob@example.net)
t_eq 303 "$(wb_login ann2 ann@example.org "$PW")" "ann signs in on a second browser"
declare -A SSE=()
# stream NAME CURL-ARGS... - a live stream read into $T_DIR/NAME.sse by a curl
# in the background (its pid in SSE[NAME]); fail unless it opens within 10 s
stream() {
	local name=$1
	shift
	curl -s -N --max-time 60 "$@" >"$T_DIR/$name.sse" 2>/dev/null &
	SSE[$name]=$!
	t_on_exit "t_kill_pid ${SSE[$name]} TERM 5"
	t_wait_until "grep -q '^: stream' '$T_DIR/$name.sse'" 10 ||
		t_fail "the live stream $name did not open: $(cat "$T_DIR/$name.sse")"
}
# open_event - a new counted open of ann's spring letter, as the pixel server stores it
open_event() {
	pg_psql -c "INSERT INTO beacon.events (at, kind, token_id, class, client)
		VALUES (now(), 'open', '40000000-0000-4000-8000-000000000011', 'human', 'Live')" >/dev/null
}
stream cookie -b "$T_DIR/ann2.jar" "$WB_URL/live/stream"
stream token -H "Authorization: Bearer $T1" "$WB_URL/api/v1/stream"
stream keep -H "Authorization: Bearer $T2" "$WB_URL/api/v1/stream"
stream admin -H "Authorization: Bearer $TO" "$WB_URL/api/v1/stream"
t_eq 303 "$(wb_post ann2 /logout "csrf=$(wb_csrf ann2)")" "ann signs out on the second browser"
wb_ctl web token revoke "$(printf %s "$T1" | sha256sum | cut -c1-16)" >/dev/null
wb_ctl web user disable ops@example.org >/dev/null
open_event
t_wait_until "grep -q '^event: beacon' '$T_DIR/keep.sse'" 15 ||
	t_fail "no live event on ann's other token's stream: $(cat "$T_DIR/keep.sse")"
t_ok "the stream of ann's live token gets the open"
t_wait_until "! t_pid_alive ${SSE[cookie]} && ! t_pid_alive ${SSE[token]} &&
	! t_pid_alive ${SSE[admin]}" 10 || true
for n in cookie token admin; do
	t_eq "0 1 closed" "$(grep -c '^event: beacon' "$T_DIR/$n.sse") $(grep -c '^event: end' "$T_DIR/$n.sse") $(t_pid_alive "${SSE[$n]}" && echo open || echo closed)" \
		"the $n stream (signed out, revoked, disabled): no event after that, an end, closed"
done

# a user's fifth stream is refused, another user's opens; a batch is read once
# for all of a user's streams
stream ann2 -H "Authorization: Bearer $T2" "$WB_URL/api/v1/stream"
stream ann3 -b "$T_DIR/ann.jar" "$WB_URL/live/stream"
stream ann4 -b "$T_DIR/ann.jar" "$WB_URL/live/stream"
t_eq 429 "$(wb_get - /api/v1/stream -H "Authorization: Bearer $T2" --max-time 3)" \
	"a fifth stream of ann refused"
t_eq 1 "$(jq -r '.error' "$WB_BODY" | grep -c 'you have 4 live streams open already')" \
	"the refusal says why"
stream bob -H "Authorization: Bearer $TB" "$WB_URL/api/v1/stream"
t_ok "bob's stream opens meanwhile"
mark=$(wc -c <"$PG_LOG")
open_event
for n in keep ann2 ann3 ann4; do
	want=1
	[ "$n" = keep ] && want=2
	t_wait_until "[ \$(grep -c '^event: beacon' '$T_DIR/$n.sse') -ge $want ]" 15 ||
		t_fail "the open did not reach the stream $n: $(cat "$T_DIR/$n.sse")"
done
t_ok "each of ann's four streams gets the open"
# reads - the batch reads in the server's log since the mark
reads() { tail -c +$((mark + 1)) "$PG_LOG" | grep -c 'e.xmin = (\$1::json' || true; }
t_wait_until "[ \$(reads) -ge 2 ]" 5 || true
sleep 1
t_eq "2 0" "$(reads) $(grep -c '^event: beacon' "$T_DIR/bob.sse")" \
	"two reads of the batch for five streams of two users (bob's finds nothing of ann's)"
for n in keep ann2 ann3 ann4 bob; do
	t_kill_pid "${SSE[$n]}" TERM 5
done

# --- PostgreSQL stops answering under a request ----------------------------------
wb_stop
sed -i 's/^statement_timeout = 30$/statement_timeout = 3/' "$WB_CONF"
wb_start
# a lock holds the request's statement in the server; then the server stops
# (SIGSTOP): the answer comes after statement_timeout and the margin, not when
# the server wakes up, and the next request works again
pg_psql -c "BEGIN; LOCK TABLE beacon.recipients IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT" \
	>/dev/null &
LOCKER=$!
t_on_exit "t_kill_pid $LOCKER TERM 5"
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_locks WHERE relation = 'beacon.recipients'::regclass AND granted AND mode = 'AccessExclusiveLock'\")\" = 1 ]" 10 ||
	t_fail "the lock was not taken"
curl -s -o /dev/null -b "$T_DIR/ann.jar" -w '%{http_code} %{time_total}\n' --max-time 30 \
	"$WB_URL/api/v1/messages" >"$T_DIR/stalled" &
STALLED=$!
t_on_exit "t_kill_pid $STALLED TERM 5"
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'web' AND wait_event_type = 'Lock'\")\" = 1 ]" 3 ||
	t_fail "the request's statement did not wait for the lock"
pg_pause
t_wait_until "! t_pid_alive $STALLED" 10 || true
pg_resume
t_wait_until "! t_pid_alive $STALLED" 30 || true
read -r st secs <"$T_DIR/stalled"
t_eq "504 yes" "$st $(awk -v s="$secs" 'BEGIN { print (s < 6.5 ? "yes" : "no (" s " s)") }')" \
	"the request answers 504 within statement_timeout (3 s), the margin and some slack"
t_eq 1 "$(grep -c 'GET /api/v1/messages user=ann@example.org: the database did not answer within statement_timeout and a margin: the session is dropped' "$WB_LOG")" \
	"the log says why"
wait "$LOCKER" || true
t_eq 200 "$(wb_get ann /api/v1/messages)" "the next request works"
t_eq 3 "$(jq -r '.items | length' "$WB_BODY")" "with ann's three messages"
wb_stop
