#!/bin/bash
# NAME
#	15_engagement.sh - honest engagement end to end: of everything that
#	fetches a tracked message's pixel and links, only the person counts
#
# DESCRIPTION
#	PostgreSQL, Postfix (smtpd_milters -> beacon-milter -> smtp-sink) and
#	beacon-pixelsrv with the shipped machines.yaml (a copy, byte for
#	byte), the test GeoIP databases (40.92.0.0/15 is AS8075),
#	apple_relay_ranges = tests/fixtures/apple-relay.csv, trusted_proxies
#	127.0.0.1 (each request names its client in X-Forwarded-For) and
#	scanner_click_seconds = 3.
#
#	The sender's office client 198.51.100.7 (Postfix XCLIENT from the
#	test, the milter trusting only that address) submits one tagged HTML
#	message with three links to one external recipient: tracked, its
#	client address stored as messages.client_ip.  From the delivered copy
#	the test takes the pixel, the three click URLs and the hidden link 0,
#	then plays, each client from its own address, with its own headers:
#	  1. Safe Links pre-click at once from Microsoft EOP (40.93.x.x,
#	     desktop Chrome, browser headers): scanner, list:ms-defender-safelinks;
#	  2. a scanner faking Chrome with browser headers: a click on link 1,
#	     the hidden link 0 (answered 204), a click on link 2: scanner,
#	     honeypot for link 0, honeypot-peer for both clicks (the earlier
#	     one reclassified after the hit);
#	  3. a HEAD on a click URL: scanner, head-request;
#	  4. the sender's own preview from 198.51.100.7: sender, sender-address;
#	  5. Apple Mail Privacy Protection (172.224.226.5, "Mozilla/5.0"):
#	     prefetch, apple-mpp;
#	  6. the person: an open in Apple Mail, then, past
#	     scanner_click_seconds, a click in Safari: human, no reason;
#	  7. a scanner saying curl: a click on link 3 (a bot's per event), then
#	     the hidden link: the click becomes scanner, honeypot-peer, and
#	     reclassify later leaves it so.
#	Every row's class and reason are asserted; the summary report counts
#	opened 1, opens 1, clicked 1, clicks 1 and leaves out 1 prefetch, 7
#	scanner and 1 sender event; as many rows as requests, none repeated.
#	Then a rule naming the person's address for clicks is added to the
#	machines file beacon-pixelsrv and beaconctl read: `beaconctl
#	reclassify --message` moves exactly the person's click (its printed
#	line and its row), a second run moves nothing; after SIGHUP
#	beacon-pixelsrv stores a new click from that address with the
#	rule's class.  The logs of beacon-pixelsrv and beacon-milter hold no
#	sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"

OFFICE=198.51.100.7		# the sender's client (XCLIENT), messages.client_ip
EOP=40.93.7.21			# Microsoft Exchange Online Protection (Safe Links)
SCANNER=192.0.2.66		# a link scanner that fakes a browser
BOTSCAN=192.0.2.67		# a link scanner that says it is curl
HEADER=192.0.2.80		# a link checker sending HEAD
MPP=172.224.226.5		# iCloud Private Relay egress (apple-relay.csv)
PERSON=203.0.113.50		# the recipient at home

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
APPLE_MAIL='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)'
SAFARI='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'
OUTLOOK='Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)'
# what Chrome, Safari and Apple Mail send beside the User-Agent
CHROME_NAV=(-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
	-H 'Accept-Language: en-US,en;q=0.9' -H 'Accept-Encoding: gzip, deflate, br'
	-H 'Upgrade-Insecure-Requests: 1' -H 'Sec-Fetch-Site: none' -H 'Sec-Fetch-Mode: navigate'
	-H 'Sec-Fetch-User: ?1' -H 'Sec-Fetch-Dest: document'
	-H 'sec-ch-ua: "Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"'
	-H 'sec-ch-ua-mobile: ?0' -H 'sec-ch-ua-platform: "Windows"')
SAFARI_NAV=(-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
	-H 'Accept-Language: en-GB,en;q=0.9' -H 'Accept-Encoding: gzip, deflate, br'
	-H 'Sec-Fetch-Site: none' -H 'Sec-Fetch-Mode: navigate' -H 'Sec-Fetch-Dest: document')
MAIL_IMG=(-H 'Accept: image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5'
	-H 'Accept-Language: en-GB,en;q=0.9' -H 'Accept-Encoding: gzip, deflate')

# --- PostgreSQL; beacon-pixelsrv on a copy of the shipped machines file
pg_start
pg_schema
px_setup
PX_MACHINES=$T_DIR/machines.yaml
cp "$BEACON_SRC/pixelsrv/machines.yaml" "$PX_MACHINES"
px_config 'scanner_click_seconds = 3'
px_start

# --- beacon-milter on the pixel server's base URL and secret; trusts the office only
cp "$PX_SECRET" "$T_DIR/milter.secret"
BC_BASE=$PX_URL
bc_milter_config '[milter]' 'per_recipient = shared' "trusted_networks = $OFFICE/32"
bc_milter_start

# --- Postfix: the test may speak for the office client (XCLIENT), which relays
PF_EXTRA_MAINCF="smtpd_authorized_xclient_hosts = 127.0.0.1
mynetworks = 127.0.0.0/8 $OFFICE/32" \
PF_MILTER=unix:$BC_MSOCK pf_start

# --- one tagged HTML message with three links, from the office
cat >"$T_DIR/in.eml" <<'EOF'
From: Sales <sales@sender.example>
To: Rita Reader <rita@remote.example>
Subject: Spring offers
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <engagement-15@sender.example>
X-Beacon: track; campaign="spring"
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 7bit

<html><body><p>Hello Rita,</p>
<p><a href="https://shop.example/spring">Spring</a>
<a href="https://shop.example/summer">Summer</a>
<a href="https://shop.example/terms">Terms</a></p></body></html>
EOF
swaks --server "127.0.0.1:$PF_SMTP_PORT" --xclient-addr "$OFFICE" --xclient-name mail.sender.example \
	--from sales@sender.example --to rita@remote.example --data "@$T_DIR/in.eml" \
	--silent 2 >"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" >&2; t_fail "submission refused"; }
pf_wait_delivered 1 15 || { tail -n 20 "$BC_MLOG" >&2; t_fail "not delivered"; }
MSG=$(pg_query "SELECT id FROM beacon.messages WHERE message_id = 'engagement-15@sender.example'")
[ -n "$MSG" ] || { tail -n 20 "$BC_MLOG" >&2; t_fail "the message was not tracked"; }
t_eq "$OFFICE|3" "$(pg_query "SELECT host(client_ip) || '|' || (SELECT count(*) FROM beacon.links
	WHERE message = '$MSG' AND n > 0) FROM beacon.messages WHERE id = '$MSG'")" \
	"the messages row holds the office client (XCLIENT) and three links"
SENT_US=$(pg_query "SELECT (extract(epoch FROM sent_at) * 1000000)::bigint FROM beacon.messages
	WHERE id = '$MSG'")

# --- the URLs of the delivered copy
pf_sink_message "$(pf_sink_files | head -n 1)" >"$T_DIR/out.eml"
PIXEL=$(grep -o "$PX_URL/o/[A-Za-z0-9_-]*\.gif" "$T_DIR/out.eml" | head -n 1)
[ -n "$PIXEL" ] || { cat "$T_DIR/out.eml" >&2; t_fail "no pixel in the delivered copy"; }
TOKEN=${PIXEL##*/o/}
TOKEN=${TOKEN%.gif}
for n in 0 1 2 3; do
	u=$(grep -o "$PX_URL/c/$TOKEN/$n/[A-Za-z0-9_-]*?u=[A-Za-z0-9_-]*" "$T_DIR/out.eml" | sort -u)
	[ "$(printf '%s\n' "$u" | grep -c .)" = 1 ] || t_fail "link $n: '$u' in the delivered copy"
	declare "LINK$n=${u#"$PX_URL"}"
done
t_ok "delivered: the pixel, links 1 to 3 and the hidden link 0 of token $TOKEN"
PIXEL=${PIXEL#"$PX_URL"}
TOKEN_ID=$(pg_query "SELECT token_id FROM beacon.recipients WHERE message = '$MSG'")

# hit WHAT EXPECTED ADDR PATH CURL-ARGS... - one request from ADDR; its status must be EXPECTED
REQUESTS=0
hit() {
	local what=$1 want=$2 addr=$3 path=$4
	shift 4
	t_eq "$want" "$(px_get_raw "$path" -H "X-Forwarded-For: $addr" "$@")" "$what from $addr: status"
	REQUESTS=$((REQUESTS + 1))
}

# rows - "addr kind link class reason" of the message's events, in time order
rows() {
	pg_query "SELECT host(ip) || ' ' || kind || ' ' || coalesce(link_n::text, '-') || ' ' ||
		class || ' ' || coalesce(reason, '-') FROM beacon.events WHERE token_id = '$TOKEN_ID'
		ORDER BY at, kind, link_n"
}

# wait_rows EXPECTED WHAT - wait until rows prints EXPECTED (the follow-up rules run
# after each stored batch), then assert it
wait_rows() {
	local rows_want=$1
	# shellcheck disable=SC2016 # t_wait_until evaluates it
	t_wait_until '[ "$(rows)" = "$rows_want" ]' 15 || true
	t_eq "$rows_want" "$(rows)" "$2"
}

# --- 1-5: the machines, the sender and the person's open, within seconds of delivery
hit "Safe Links pre-click" 302 "$EOP" "$LINK1" -A "$CHROME" "${CHROME_NAV[@]}"
hit "HEAD on link 1" 302 "$HEADER" "$LINK1" -I -A "$CHROME" "${CHROME_NAV[@]}"
hit "sender's preview" 200 "$OFFICE" "$PIXEL" -A "$OUTLOOK" "${MAIL_IMG[@]}"
hit "MPP prefetch" 200 "$MPP" "$PIXEL" -A 'Mozilla/5.0' "${MAIL_IMG[@]}"
hit "the person's open" 200 "$PERSON" "$PIXEL" -A "$APPLE_MAIL" "${MAIL_IMG[@]}"
# --- past scanner_click_seconds: the scanner's clicks around its honeypot hit, the person's click
t_wait_until "[ \$(t_now_us) -gt $((SENT_US + 3500000)) ]" 10
hit "scanner click on link 1" 302 "$SCANNER" "$LINK1" -A "$CHROME" "${CHROME_NAV[@]}"
hit "scanner on the hidden link" 204 "$SCANNER" "$LINK0" -A "$CHROME" "${CHROME_NAV[@]}"
hit "scanner click on link 2" 302 "$SCANNER" "$LINK2" -A "$CHROME" "${CHROME_NAV[@]}"
hit "the person's click" 302 "$PERSON" "$LINK1" -A "$SAFARI" "${SAFARI_NAV[@]}"
# a scanner the rules call a bot per event (curl): the follow-up makes it a scanner, and
# reclassify must leave it so
hit "a curl scanner's click on link 3" 302 "$BOTSCAN" "$LINK3" -A 'curl/8.5.0'
hit "the curl scanner on the hidden link" 204 "$BOTSCAN" "$LINK0" -A 'curl/8.5.0'

px_wait_rows "$REQUESTS" 15 || t_fail "$REQUESTS requests, $(px_rows) rows"
wait_rows "$EOP click 1 scanner list:ms-defender-safelinks
$HEADER click 1 scanner head-request
$OFFICE open - sender sender-address
$MPP open - prefetch apple-mpp
$PERSON open - human -
$SCANNER click 1 scanner honeypot-peer
$SCANNER click 0 scanner honeypot
$SCANNER click 2 scanner honeypot-peer
$PERSON click 1 human -
$BOTSCAN click 3 scanner honeypot-peer
$BOTSCAN click 0 scanner honeypot" "every event's class and reason"
t_eq "8075|8|0|0" "$(pg_query "SELECT (SELECT asn FROM beacon.events WHERE ip = '$EOP') || '|' ||
	(SELECT hints FROM beacon.events WHERE ip = '$HEADER') || '|' ||
	(SELECT hints FROM beacon.events WHERE ip = '$PERSON' AND kind = 'click') || '|' ||
	(SELECT count(*) FROM beacon.events WHERE late)")" \
	"EOP's AS number, the HEAD's hints, the person's click with browser headers, nothing late"
t_eq "$REQUESTS|0|0" "$(px_rows)|$(px_metric beacon_pixelsrv_events_repeated_total)|$(
	px_metric beacon_pixelsrv_events_over_token_limit_total)" \
	"one row per request ($REQUESTS), none repeated or over the token limit"

# --- the summary report counts the person only
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD \
		"$BEACON_BUILD/beaconctl" -c "$T_DIR/beacon.conf" "$@"
}
summary() {
	t_run ctl report summary -v "message=$MSG" --json
	[ "$RC" = 0 ] || t_fail "report summary: $ERR"
	printf '%s' "$OUT" | python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
print(" ".join("%s=%s" % (k, r[k]) for k in ("recipients", "opened", "opens", "clicked", "clicks",
	"left_out_human", "left_out_proxy", "left_out_prefetch", "left_out_scanner",
	"left_out_internal", "left_out_sender", "left_out_bot")))'
}
t_eq "recipients=1 opened=1 opens=1 clicked=1 clicks=1 left_out_human=0 left_out_proxy=0 left_out_prefetch=1 left_out_scanner=7 left_out_internal=0 left_out_sender=1 left_out_bot=0" \
	"$(summary)" "beaconctl report summary counts exactly the person"

# --- reclassify: the person's address turns out to be a scanner for clicks
cat >>"$PX_MACHINES" <<'EOF'

  - id: test-reader-gateway
    name: 'A gateway in front of one reader, found after the fact'
    class: scanner
    kinds: [click]
    networks: ['203.0.113.50/32']
    source: 'https://example.org/gateway-ranges'
EOF
t_run ctl reclassify --message "$MSG"
t_eq 0 "$RC" "beaconctl reclassify exit ($ERR)"
t_eq "$(printf '%-10s %-10s %-28s %s\n%-10s %-10s %-28s %s\n%s' from to reason moved \
	human scanner list:test-reader-gateway 1 "$REQUESTS events read, 1 moved")" "$OUT" \
	"reclassify prints the one move"
wait_rows "$EOP click 1 scanner list:ms-defender-safelinks
$HEADER click 1 scanner head-request
$OFFICE open - sender sender-address
$MPP open - prefetch apple-mpp
$PERSON open - human -
$SCANNER click 1 scanner honeypot-peer
$SCANNER click 0 scanner honeypot
$SCANNER click 2 scanner honeypot-peer
$PERSON click 1 scanner list:test-reader-gateway
$BOTSCAN click 3 scanner honeypot-peer
$BOTSCAN click 0 scanner honeypot" "reclassify moved exactly the person's click"
t_run ctl reclassify --message "$MSG"
t_eq "0|$(printf '%-10s %-10s %-28s %s\n%s' from to reason moved "$REQUESTS events read, 0 moved")" \
	"$RC|$OUT" "a second reclassify moves nothing"
t_eq "recipients=1 opened=1 opens=1 clicked=0 clicks=0 left_out_human=0 left_out_proxy=0 left_out_prefetch=1 left_out_scanner=8 left_out_internal=0 left_out_sender=1 left_out_bot=0" \
	"$(summary)" "the summary after reclassify: the click left out as a scanner's"

# --- SIGHUP: beacon-pixelsrv rereads the machines file; a new click from there is a scanner's
kill -s HUP "$PX_PID"
t_wait_until "grep -q 'SIGHUP: [0-9]* rules from $PX_MACHINES' '$T_DIR/pixelsrv.log'" 10 ||
	{ tail -n 5 "$T_DIR/pixelsrv.log" >&2; t_fail "no SIGHUP line for the machines file"; }
hit "the person's click after SIGHUP" 302 "$PERSON" "$LINK3" -A "$SAFARI" "${SAFARI_NAV[@]}"
px_wait_rows "$REQUESTS" 15 || t_fail "$REQUESTS requests, $(px_rows) rows"
t_wait_until "[ \"\$(rows | tail -n 1)\" = '$PERSON click 3 scanner list:test-reader-gateway' ]" 10 || true
t_eq "$PERSON click 3 scanner list:test-reader-gateway" "$(rows | tail -n 1)" \
	"after SIGHUP the new rule classifies a new click"

px_stop
bc_no_sanitizer "$T_DIR/pixelsrv.log"
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"
t_ok "15_engagement"
