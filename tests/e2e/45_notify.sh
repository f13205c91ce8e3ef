#!/bin/bash
# NAME
#	45_notify.sh - beacon-notify tells the sender: signed webhooks, chat,
#	retries, mute, pin and mail digests on the real stack
#
# DESCRIPTION
#	PostgreSQL, beacon-pixelsrv taking real opens and clicks over HTTP,
#	beacon-notify connected as a login role in beacon_notify, a webhook
#	receiver on loopback (tests/fixtures/webhook_receiver.py: it checks
#	every Beacon-Signature with the destination's secret and refuses stale
#	timestamps) and smtp-sink for the digests.  Destinations are added
#	with beaconctl notify add (--allow-http: the receiver is plain http;
#	the same sender, kind and URL twice is refused), before the messages
#	(the insert trigger turns notify on for their senders).  The notifier
#	allows loopback and http destinations, and holds every event 2 s
#	([notify] hold), longer than pixelsrv's click_burst_seconds (1 s).
#
#	- an open and a click of a message → exactly two signed, fresh
#	  deliveries with distinct Beacon-Delivery ids and the right payload;
#	  its scanner click and Apple prefetch → none; a sender without a
#	  destination → none; a chat destination → one {"text": ...} line;
#	  a redirect is not followed; the chat text is escaped for
#	  Mattermost (the address's < > and a zero-width space after its @);
#	- two clicks on both links of a message from one address within
#	  click_burst_seconds: queued as human when stored, turned into
#	  scanner by the writer's follow-up within the hold, and dropped by
#	  the notifier ("reclassified as scanner"), never sent;
#	- the receiver answers 503, then does not listen, then comes back:
#	  the retries are scheduled by the backoff (30 s, then 60 s, ±10 %),
#	  logged, sent with the same Beacon-Delivery id, and the delivery is
#	  accepted once and never sent again; a delivery whose event is older
#	  than retry_for is given up (failed);
#	- a muted message → no job at all; unmuted, it notifies again; a
#	  delivery still pending when its message is muted (by SQL, so the
#	  notifier and not beaconctl has to drop it) is dropped;
#	- a message older than notify_days is dropped unless pinned; a
#	  download's payload names the file;
#	- the notifier killed (SIGKILL) while a request is in flight: after a
#	  restart that delivery is sent again with the same Beacon-Delivery
#	  id (at least once; receivers dedupe on it); its lease is
#	  ceil(batch / concurrency) * timeout + 60 s from the claim;
#	- the address guard: a notifier with allow_private_destinations = no
#	  refuses the loopback hook at connect time, and the attempt's
#	  notify_log row says why;
#	- with the notifier down, events wait in the queue: on restart the
#	  mail destination gets one digest in smtp-sink with exactly the
#	  counted events, marked auto-generated and not for tracking (the tag
#	  header says no), Subject "Beacon: 3 events on your mail"; an event
#	  made within notify_interval of it waits for the next digest, which
#	  holds it and none of the earlier ones, says "Beacon: 1 event on
#	  your mail" and goes out no sooner than the interval after the first;
#	- beaconctl notify log shows the deliveries; mute of an unknown
#	  message exits 1.
#
#	The queue's clock is moved, not waited for: after a failed attempt
#	(or a claim whose answer never came back) the test checks next_at,
#	then sets it to now() so the 1 s poll takes the retry at once; an
#	event older than retry_for gets its job's created_at moved back.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/sink.sh"
. "$BEACON_SRC/tests/lib/notify.sh"

t_need_root "smtp-sink runs as postfix"
CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
export TZ=UTC

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config 'click_burst_seconds = 1'	# the notifier's hold must be longer
px_start
sink_start "$T_DIR/sink"
wh_start

cat >"$T_DIR/ctl.conf" <<EOF
[database]
conninfo = $BEACON_CONNINFO
EOF

# ctl - beaconctl on the test database, no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/ctl.conf" "$@"
}

# secret - 32 random bytes in hex
secret() {
	od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# the notifier runs as a login role granted beacon_notify only
pg_psql -c 'CREATE ROLE notifier LOGIN IN ROLE beacon_notify'
NT_CONNINFO=${BEACON_CONNINFO/user=beacon /user=notifier }
# nt_conf PRIVATE - the notifier's configuration: every destination is on
# loopback over http, so both are allowed (PRIVATE no: the address guard's
# default); events are held 2 s for the writer's click-burst follow-up (1 s)
nt_conf() {
	nt_config 'notify_interval = 3' 'timeout = 3' 'mail_from = beacon@notify.example' 'hold = 2' \
		"allow_private_destinations = $1" 'allow_http = yes' '[pixelsrv]' 'click_burst_seconds = 1'
}
nt_conf yes

# --- destinations: alice's webhook, a chat hook for @example.com, carol's digest
SA=$(secret)
t_run ctl notify add alice@example.org webhook "$WH_URL/alice" --secret "$SA" --allow-http
t_eq 0 "$RC" "notify add webhook exit: $ERR"
t_run ctl notify add @Example.COM mattermost "$WH_URL/chat" --allow-http
t_eq 0 "$RC" "notify add mattermost exit: $ERR"
SC=$(grep -oE '\b[0-9a-f]{64}\b' <<<"$OUT" | head -n 1)
[ -n "$SC" ] || t_fail "notify add printed no secret: $OUT"
t_eq "$SC" "$(pg_query "SELECT secret FROM beacon.notify_destinations WHERE sender = '@example.com'")" \
	"the printed secret is the stored one"
t_run ctl notify add carol@example.org mail carol@example.org
t_eq 0 "$RC" "notify add mail exit: $ERR"
SR=$(secret)
t_run ctl notify add rex@example.org webhook "$WH_URL/moved" --secret "$SR" --allow-http
t_eq 0 "$RC" "notify add, a hook that redirects: $ERR"
t_run ctl notify add alice@example.org webhook "$WH_URL/alice" --allow-http
t_eq 1 "$RC" "notify add of the same sender, kind and URL again exit"
SP=$(secret)
t_run ctl notify add pat@example.org webhook "$WH_URL/pat" --secret "$SP" --allow-http
t_eq 0 "$RC" "notify add, a hook for the address guard: $ERR"
wh_secret /pat "$SP"
wh_secret /alice "$SA"
wh_secret /chat "$SC"
wh_secret /moved "$SR" 307
SS=$(secret)
t_run ctl notify add sam@example.org webhook "$WH_URL/slow" --secret "$SS" --allow-http
t_eq 0 "$RC" "notify add, a slow hook: $ERR"
wh_secret /slow "$SS" 204 1.5
DA=$(pg_query "SELECT id FROM beacon.notify_destinations WHERE sender = 'alice@example.org'")
DM=$(pg_query "SELECT id FROM beacon.notify_destinations WHERE kind = 'mail'")

# --- messages and recipients, as beacon-milter writes them (sent an hour ago:
# a click then is no early scanner's); tokens minted for pixelsrv
# (one python3 for all: each start costs a second on a busy machine)
declare -A TOK UUID CLICK CLICK2
while read -r r tok uuid click click2; do
	TOK[$r]=$tok UUID[$r]=$uuid CLICK[$r]=$click CLICK2[$r]=$click2
done < <(python3 - "$PX_SECRET" <<'EOF'
import os, sys
sys.path.insert(0, os.path.join(os.environ["BEACON_SRC"], "tests", "lib"))
import pxclient
kid, key = pxclient.signing_key(sys.argv[1])
links = {"ann": "https://example.org/a", "dan": "https://example.org/d", "eve": "https://example.org/d",
         "oli": "https://example.org/b1"}
for r in "ann amy ben dot dan eve fay gus hal ivy kim lea max ned oli pam".split():
    rid = os.urandom(16)
    tok = pxclient.mint(kid, key, rid)
    click = pxclient.click_path(kid, key, tok, 1, links.get(r, "https://example.org/"))
    click2 = pxclient.click_path(kid, key, tok, 2, "https://example.org/b2")
    print(r, tok, pxclient.uuid_of(rid), click, click2)
EOF
)
[ ${#TOK[@]} = 16 ] || t_fail "could not mint the tokens"
msg() {	# msg N SENDER SUBJECT [SENT_AGO] - one message row, id 10000000-...-N
	printf "('10000000-0000-4000-8000-%012d', 'm%s@example.org', %s, '%s', 'c%s', now() - interval '%s')," \
		"$1" "$1" "$2" "$3" "$1" "${4:-1 hour}"
}
rcpt() { # rcpt NAME MESSAGE_N
	printf "('%s', '10000000-0000-4000-8000-%012d', '%s@example.com', 'tracked', 7, '%s', '%s Example')," \
		"${UUID[$1]}" "$2" "$1" "${TOK[$1]}" "${1^}"
}
mid() { printf '10000000-0000-4000-8000-%012d' "$1"; }
sql=$(
	echo "INSERT INTO beacon.messages (id, message_id, sender, subject, campaign, sent_at) VALUES"
	{
		msg 1 "'Alice@Example.org'" 'Spring letter'	# sender_key NULL: derived from sender
		msg 2 "'alice@example.org'" 'Muted letter'
		msg 3 "'bob@example.net'" 'No destination'
		msg 4 "'Dave@Example.com'" 'Chat letter'
		msg 5 "'alice@example.org'" 'Retry letter'
		msg 6 "'alice@example.org'" 'Muted while queued'
		msg 7 "'carol@example.org'" 'Digest letter'
		msg 8 "'alice@example.org'" 'Old letter' '40 days'
		msg 9 "'alice@example.org'" 'Old pinned letter' '40 days'
		msg 10 "'alice@example.org'" 'Given up letter'
		msg 11 "'rex@example.org'" 'Moved letter'
		msg 12 "'sam@example.org'" 'Slow letter'
		msg 13 "'alice@example.org'" 'Burst letter'
		msg 14 "'pat@example.org'" 'Guarded letter'
	} | sed '$ s/,$/;/'
	echo "INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token, name) VALUES"
	{
		rcpt ann 1
		rcpt amy 2
		rcpt ben 3
		rcpt dot 4
		rcpt fay 5
		rcpt gus 6
		rcpt dan 7
		rcpt eve 7
		rcpt kim 7
		rcpt hal 8
		rcpt ivy 9
		rcpt lea 10
		rcpt max 11
		rcpt ned 12
		rcpt oli 13
		rcpt pam 14
	} | sed '$ s/,$/;/'
	echo "INSERT INTO beacon.links (message, n, url) VALUES ('$(mid 1)', 1, 'https://example.org/a'), ('$(mid 7)', 1, 'https://example.org/d'),
		('$(mid 13)', 1, 'https://example.org/b1'), ('$(mid 13)', 2, 'https://example.org/b2');"
)
pg_psql -c "$sql"
t_eq "true true false true true true true true true true true true true true" "$(pg_query "SELECT string_agg(notify::text, ' ' ORDER BY id) FROM beacon.messages")" \
	"notify set by the senders' destinations (bob has none)"

# mute m2 by its Message-ID, pin m9 by its uuid; an unknown message changes nothing
t_run ctl notify mute m2@example.org
t_eq 0 "$RC" "notify mute by Message-ID exit: $ERR"
t_run ctl notify pin "$(mid 9)"
t_eq 0 "$RC" "notify pin by uuid exit: $ERR"
t_run ctl notify mute nobody@nowhere.example
t_eq 1 "$RC" "notify mute of an unknown message exit"
t_eq "2|true|false 9|false|true" "$(pg_query "SELECT string_agg(right(id::text, 1) || '|' || muted || '|' || pinned, ' ' ORDER BY id)
	FROM beacon.messages WHERE muted OR pinned")" "muted and pinned messages"

nt_start

# pixel hits as mail clients make them
UA_TB='Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0'
UA_FF='Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0'
UA_GP='Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'
open_() { # open_ RCPT [UA] [ADDRESS]
	t_eq 200 "$(px_get "/o/${TOK[$1]}.gif" -H "User-Agent: ${2:-$UA_TB}" -H "X-Forwarded-For: ${3:-198.51.100.20}")" \
		"open by $1"
}
click_() { # click_ RCPT [UA] - a click on the recipient's link 1
	t_eq 302 "$(px_get "${CLICK[$1]}" -H "User-Agent: ${2:-$UA_FF}" \
		-H 'X-Forwarded-For: 198.51.100.21')" "click by $1"
}
scanner_click() { # scanner_click RCPT - the same without browser headers
	t_eq 302 "$(px_get_raw "${CLICK[$1]}" -H "User-Agent: $UA_FF" \
		-H 'X-Forwarded-For: 203.0.113.30')" "scanner click by $1"
}
burst_() { # burst_ RCPT - both links of the recipient's copy clicked at once from one address
	t_eq "302 302" "$(px_get "${CLICK[$1]}" -H "User-Agent: $UA_FF" -H 'X-Forwarded-For: 198.51.100.22') $(
		px_get "${CLICK2[$1]}" -H "User-Agent: $UA_FF" -H 'X-Forwarded-For: 198.51.100.22')" \
		"clicks by $1 on both links"
}
deliveries() { # deliveries MESSAGE_N - "job.destination kind state" of its deliveries
	pg_query "SELECT j.id || '.' || d.destination || ' ' || j.kind || ' ' || d.state
		FROM beacon.notify_jobs j JOIN beacon.notify_deliveries d ON d.job = j.id
		WHERE j.message = '$(mid "$1")' ORDER BY j.id, d.destination"
}
requests_for() { # requests_for DELIVERY - requests the receiver logged with that id
	wh_count | awk -v d="$1" '$1 == d { print $3; f = 1 } END { if (!f) print 0 }'
}

# --- an open and a click → exactly two signed deliveries; scanner and prefetch → none
rows=$(px_rows)
open_ ann
click_ ann
scanner_click ann
open_ ann 'Mozilla/5.0' 172.224.226.5	# Apple Mail Privacy Protection
open_ ben				# bob has no destination
open_ amy				# muted
open_ dot				# the chat destination
burst_ oli				# stored as human, then turned into scanner by the writer
open_ max				# the hook that redirects (checked below)
px_wait_rows $((rows + 10)) 20 || t_fail "pixelsrv stored $(px_rows) rows, expected $((rows + 10))"
t_eq "human click
human open
prefetch open
scanner click" "$(pg_query "SELECT class || ' ' || kind FROM beacon.events WHERE token_id = '${UUID[ann]}' ORDER BY 1")" \
	"ann's four events as pixelsrv stored them"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.notify_jobs WHERE message IN ('$(mid 2)', '$(mid 3)')")" \
	"no job for the muted message or the sender without a destination"
# unmute: m2 notifies again (a new open by a recipient of it; while the
# events above are held, so that the waits overlap)
t_run ctl notify unmute "$(mid 2)"
t_eq 0 "$RC" "notify unmute exit: $ERR"
rows=$(px_rows)
open_ amy "$UA_FF" 198.51.100.21	# not a repeat of the muted open
px_wait_rows $((rows + 1)) 20 || t_fail "pixelsrv did not store amy's second open"
wh_wait_accepted 4 15 || t_fail "expected 4 accepted deliveries, receiver logged: $(wh_count)"
t_eq "open sent" "$(deliveries 2 | cut -d' ' -f2-)" "m2 notifies once unmuted"
mapfile -t D1 < <(deliveries 1)
t_eq 2 "${#D1[@]}" "deliveries queued for m1 (the open and the click only)"
t_eq "open sent click sent" "$(printf '%s\n' "${D1[@]}" | awk '{ printf "%s%s %s", (NR > 1 ? " " : ""), $2, $3 }')" \
	"m1's deliveries sent"
read -r DO _ <<<"${D1[0]}"
read -r DC _ <<<"${D1[1]}"
t_eq "1 1" "$(requests_for "$DO") $(requests_for "$DC")" "the receiver got each of m1's deliveries once"
t_eq "$DO $DC" "$(wh_count | awk -v a="$DO" -v c="$DC" '($1 == a || $1 == c) && $2 == 1 { printf "%s%s", (n++ ? " " : ""), $1 }')" \
	"and accepted both: signed with alice's secret, fresh timestamps"
t_eq "$DA $DA" "${DO#*.} ${DC#*.}" "Beacon-Delivery is <job>.<destination>"
DD=$(deliveries 4 | awk '{ print $1 }')
mapfile -t F < <(wh_field "$DO" '"|".join(str(x) for x in (b["type"], b["class"], b["id"], b["message"]["id"],
		b["message"]["message_id"], b["message"]["subject"], b["message"]["campaign"],
		b["recipient"]["address"], b["recipient"]["name"], b["place"]["country"], b["place"]["city"],
		b["device"]["client"], b["link"], b["at"].endswith("Z")))' \
	"$DC" '"|".join(str(x) for x in (b["type"], b["class"], b["link"], b["place"]["city"]))' \
	"$DD" '("keys: %s" % list(b) if list(b) != ["text"] else
		"more than one line: " + repr(b["text"]) if "\n" in b["text"] else b["text"])' \
	"$DO" 'open(sys.argv[1] + ".open", "wb").write(raw) and r["timestamp"] + " " + r["signature"]')
t_eq 4 "${#F[@]}" "payloads read"
# the shell recipe of beacon-notify(8) verifies the open's signature
read -r ts sig <<<"${F[3]}"
t_eq "$sig" "$({ printf '%s.' "$ts"; cat "$WH_LOG.open"; } |
	openssl dgst -sha256 -hmac "$SA" | sed 's/.* /v1=/')" "the man page's openssl recipe checks the signature"
t_eq "open|human|$DO|$(mid 1)|m1@example.org|Spring letter|c1|ann@example.com|Ann Example|DE|Berlin|Thunderbird|None|True" \
	"${F[0]}" "the open's payload"
t_eq "click|human|https://example.org/a|Berlin" "${F[1]}" "the click's payload"
grep -F "\"delivery\": \"$DO\"" "$WH_LOG" | grep -qF '"content_type": "application/json' ||
	t_fail "the webhook's Content-Type is not application/json: $(grep -F "\"delivery\": \"$DO\"" "$WH_LOG")"
t_ok "the webhook's Content-Type is application/json"
# the chat hook: one signed {"text": ...} line naming who, what and where
t_eq 1 "$(requests_for "$DD")" "one chat post for m4"
chat=${F[2]}
[[ $chat != "keys: "* && $chat != "more than one line: "* ]] || t_fail "the chat payload: $chat"
# Mattermost Markdown escaped: the address's < > get a backslash, its @ a
# zero-width space after it (no mention)
zwsp=$'\xe2\x80\x8b'
[[ $chat == "Dot Example \\<dot@${zwsp}example.com\\> opened \"Chat letter\" at "*" UTC in Berlin, DE on desktop (Linux, Thunderbird)" ]] ||
	t_fail "the chat text: $chat"
t_ok "chat text, escaped for Mattermost: $chat"
# the click burst: queued as the COPY stored it (human), reclassified by
# the writer's follow-up within the hold, dropped by the notifier unsent
t_wait_until "[ \"\$(px_rows \"token_id = '${UUID[oli]}' AND class = 'scanner'\")\" = 2 ]" 10 ||
	t_fail "oli's click burst not reclassified: $(pg_query "SELECT class FROM beacon.events WHERE token_id = '${UUID[oli]}'")"
t_ok "the writer's follow-up made oli's two clicks scanner"
nt_wait_state dropped 2 "j.message = '$(mid 13)'" 15 || t_fail "m13's deliveries not dropped: $(deliveries 13)"
t_eq "click human reclassified as scanner
click human reclassified as scanner" "$(pg_query "SELECT j.kind || ' ' || j.class || ' ' || d.last_error
	FROM beacon.notify_jobs j JOIN beacon.notify_deliveries d ON d.job = j.id
	WHERE j.message = '$(mid 13)' ORDER BY j.id")" "the burst's clicks were queued as human and dropped as reclassified"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.notify_log l JOIN beacon.notify_jobs j ON j.id = l.job
	WHERE j.message = '$(mid 13)'")" "no attempt for the burst's clicks"
t_eq 4 "$(grep -vc '"path": "/moved"' "$WH_LOG")" "the receiver got 4 requests in all but the redirecting hook's"

# --- a redirect is not followed: a failed attempt, the Location never asked for
nt_wait_state pending 1 "j.message = '$(mid 11)' AND d.attempts = 1" 15 ||
	t_fail "no attempt for m11: $(deliveries 11)"
DX=$(deliveries 11 | awk '{ print $1 }')
t_eq "307" "$(pg_query "SELECT last_status FROM beacon.notify_deliveries
	WHERE job || '.' || destination = '$DX'")" "a 307 is not a success"
t_eq '1 "path": "/moved"' "$(grep -cF "\"delivery\": \"$DX\"" "$WH_LOG") $(grep -F "\"delivery\": \"$DX\"" "$WH_LOG" |
	grep -o '"path": "[^"]*"')" "one request, to the hook itself: the redirect was not followed"
t_run ctl notify remove "${DX#*.}"
t_eq 0 "$RC" "notify remove exit: $ERR"
t_eq "" "$(deliveries 11)" "a removed destination's deliveries go with it"

# --- the receiver is down: 503, then not listening, then back
wh_down
rows=$(px_rows)
open_ fay
open_ lea
nt_wait_state pending 2 "j.message IN ('$(mid 5)', '$(mid 10)') AND d.attempts = 1" 15 ||
	t_fail "no first attempt for m5 and m10: $(deliveries 5) $(deliveries 10)"
DF=$(deliveries 5 | awk '{ print $1 }')
t_eq "1|503|pending" "$(pg_query "SELECT attempts || '|' || last_status || '|' || state
	FROM beacon.notify_deliveries WHERE job || '.' || destination = '$DF'")" "m5 after a 503"
t_eq "t" "$(pg_query "SELECT next_at - now() BETWEEN interval '20 s' AND interval '34 s'
	FROM beacon.notify_deliveries WHERE job || '.' || destination = '$DF'")" \
	"the first retry is due about 30 s later"
t_eq "1|503" "$(pg_query "SELECT attempt || '|' || status FROM beacon.notify_log
	WHERE job || '.' || destination = '$DF'")" "the 503 attempt is logged"
# m10's event is older than retry_for (48 h by default): its next failure is the last
pg_query "UPDATE beacon.notify_jobs SET created_at = now() - interval '49 hours' WHERE message = '$(mid 10)';
	UPDATE beacon.notify_deliveries d SET next_at = now() FROM beacon.notify_jobs j
	WHERE j.id = d.job AND j.message = '$(mid 10)'" >/dev/null
nt_wait_state failed 1 "j.message = '$(mid 10)'" 15 || t_fail "m10 not given up: $(deliveries 10)"
DL=$(deliveries 10 | awk '{ print $1 }')
t_eq "0 t" "$(wh_count | awk -v d="$DL" '$1 == d { print $2 }') $(pg_query "SELECT count(*) >= 1 FROM beacon.notify_log
	WHERE job || '.' || destination = '$DL'")" "a delivery past retry_for is given up: failed, never accepted, logged"
wh_stop
pg_query "UPDATE beacon.notify_deliveries SET next_at = now() WHERE job || '.' || destination = '$DF'" >/dev/null
nt_wait_state pending 1 "j.message = '$(mid 5)' AND d.attempts = 2" 15 ||
	t_fail "no second attempt for m5: $(deliveries 5)"
t_eq "t|t" "$(pg_query "SELECT coalesce(last_status, 0) NOT BETWEEN 200 AND 299 AND last_error IS NOT NULL,
	next_at - now() BETWEEN interval '45 s' AND interval '67 s'
	FROM beacon.notify_deliveries WHERE job || '.' || destination = '$DF'")" \
	"a refused connection is an error, the next retry about 60 s later"
wh_start
wh_up
pg_query "UPDATE beacon.notify_deliveries SET next_at = now() WHERE job || '.' || destination = '$DF'" >/dev/null
nt_wait_state sent 1 "j.message = '$(mid 5)'" 15 || t_fail "m5 not delivered after the receiver came back: $(deliveries 5)"
t_eq "$DF 1 2" "$(wh_count | grep "^$DF " || true)" \
	"the receiver saw m5's delivery twice (503, then accepted), with one id"
t_eq "1|503 2| 3|204" "$(pg_query "SELECT string_agg(attempt || '|' || coalesce(status::text, ''), ' ' ORDER BY attempt)
	FROM beacon.notify_log WHERE job || '.' || destination = '$DF'")" "three attempts logged"
t_eq "3|204|true|true" "$(pg_query "SELECT attempts || '|' || last_status || '|' || (sent_at IS NOT NULL) || '|' || (latency_ms >= 0)
	FROM beacon.notify_deliveries WHERE job || '.' || destination = '$DF'")" "m5 delivered on the third attempt"

# --- the notifier killed while a request is in flight: the receiver got it,
# the queue did not hear back; the lease keeps the delivery from being
# claimed again for ceil(batch / concurrency) * timeout + 60 s (13 * 3 + 60),
# which the test skips
open_ ned
t_wait_until "grep -q '\"path\": \"/slow\"' '$WH_LOG'" 15 || t_fail "the slow hook got nothing"
rows=$(px_rows)
open_ pam	# for the address guard below: held (2 s) past this notifier's end
t_kill_pid "$NT_PID" KILL
NT_PID=
DK=$(deliveries 12 | awk '{ print $1 }')
t_eq "pending 0" "$(pg_query "SELECT state || ' ' || attempts FROM beacon.notify_deliveries
	WHERE job || '.' || destination = '$DK'")" "the delivery in flight stays pending"
t_eq t "$(pg_query "SELECT next_at - now() BETWEEN interval '85 s' AND interval '99 s'
	FROM beacon.notify_deliveries WHERE job || '.' || destination = '$DK'")" \
	"its lease: ceil(batch / concurrency) * timeout + 60 s from the claim"

# --- the address guard: with allow_private_destinations = no (the default)
# a webhook on loopback is refused at connect time, the attempt logged
nt_conf no
px_wait_rows $((rows + 1)) 20 || t_fail "pixelsrv did not store pam's open"
before=$(wh_requests)
nt_start
nt_wait_state pending 1 "j.message = '$(mid 14)' AND d.attempts = 1" 15 ||
	t_fail "no attempt for m14: $(deliveries 14)"
nt_stop
t_eq "1||refused: 127.0.0.1 is in 127.0.0.0/8 (loopback) ([notify] allow_private_destinations = no)" \
	"$(pg_query "SELECT l.attempt || '|' || coalesce(l.status::text, '') || '|' || l.error
	FROM beacon.notify_log l JOIN beacon.notify_jobs j ON j.id = l.job WHERE j.message = '$(mid 14)'")" \
	"a private destination refused: the attempt's log row says why"
t_eq "$before" "$(wh_requests)" "the refused delivery never reached the receiver"
t_run ctl notify remove "$(pg_query "SELECT id FROM beacon.notify_destinations WHERE sender = 'pat@example.org'")"
t_eq 0 "$RC" "notify remove of the guarded hook: $ERR"
nt_conf yes
rows=$(px_rows)
open_ gus		# queued, then muted before it is sent
open_ hal		# 40 days old, not pinned
open_ ivy		# 40 days old, pinned
# a download, as pixelsrv's /d/ route records it (the attachment store is 18_attachments' and 19_pixelsrv_download's)
pg_psql -c "INSERT INTO beacon.attachments (message, id, name, content_type, size)
	VALUES ('$(mid 9)', 1, 'report.pdf', 'application/pdf', 1024)" \
	-c "INSERT INTO beacon.events (at, kind, token_id, attachment_id, class, country, city)
	VALUES (now(), 'download', '${UUID[ivy]}', 1, 'human', 'FR', 'Paris')"
open_ dan
open_ eve "$UA_GP" 66.249.84.1		# an image proxy: counted
click_ dan
scanner_click eve
px_wait_rows $((rows + 8)) 20 || t_fail "pixelsrv stored $(px_rows) rows, expected $((rows + 8))"
t_eq "3 pending" "$(deliveries 7 | awk '{ print $3 }' | uniq -c | awk '{ print $1, $2 }')" \
	"carol's three counted events wait in the queue"
# muted by another client than beaconctl (which also drops the pending
# deliveries itself): the notifier must drop them when it comes to them
pg_query "UPDATE beacon.messages SET muted = true WHERE message_id = 'm6@example.org'" >/dev/null
t_eq "pending" "$(deliveries 6 | cut -d' ' -f3)" "m6's delivery still pending once muted"
pg_query "UPDATE beacon.notify_deliveries SET next_at = now() WHERE job || '.' || destination = '$DK'" >/dev/null
# carol's three events past the hold (2 s) before the notifier starts, so
# that its first digest holds all three (else one goes now, two 3 s later)
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.notify_jobs j WHERE j.message = '$(mid 7)'
	AND greatest(j.at, j.created_at) <= now() - interval '2 seconds'\")\" = 3 ]" 5 ||
	t_fail "carol's events not past the hold: $(deliveries 7)"
before=$(wh_requests)
nt_start
nt_wait_state sent 2 "j.message = '$(mid 9)'" 15 || t_fail "the pinned old message was not delivered: $(deliveries 9)"
nt_wait_state sent 3 "j.message = '$(mid 7)'" 15 || t_fail "carol's digest not sent: $(deliveries 7)"
t_eq "dropped" "$(deliveries 6 | cut -d' ' -f3)" "a delivery pending when its message was muted is dropped"
t_eq "dropped" "$(deliveries 8 | cut -d' ' -f3)" "a message older than notify_days is dropped"
nt_wait_state sent 1 "j.message = '$(mid 12)'" 15 || t_fail "the delivery in flight at the kill was not sent again: $(deliveries 12)"
t_eq 3 "$(($(wh_requests) - before))" "three webhook requests after the restart (the pinned message's open and download, the one in flight)"
DW=$(deliveries 9 | awk '$2 == "download" { print $1 }')
grep -F "\"delivery\": \"$DW\"" "$WH_LOG" | grep -F '"type": "download"' | grep -F '"file": "report.pdf"' |
	grep -qF '"link": null' || t_fail "the download's payload: $(grep -F "\"delivery\": \"$DW\"" "$WH_LOG")"
t_ok "the download's payload names the file"
t_eq "$DK 2 2" "$(wh_count | grep "^$DK " || true)" \
	"the one in flight came again with its Beacon-Delivery id: at least once, the receiver dedupes"

# the digest: one mail to carol with dan's open and click and eve's proxied open
sink_wait_delivered 1 10 || t_fail "no digest in smtp-sink"
mapfile -t mails < <(sink_files)
# one more event, within notify_interval (3 s) of this digest: it must
# wait for the next one (checked below)
rows=$(px_rows)
open_ kim
t_eq 1 "${#mails[@]}" "one digest mail"
sink_message "${mails[0]}" >"$T_DIR/digest1"
t_eq "carol@example.org" "$(sink_rcpts "${mails[0]}")" "the digest's envelope recipient"
t_eq "beacon@notify.example" "$(sink_mail_from "${mails[0]}")" "the digest's envelope sender"
hdr() { awk -v h="$2:" 'tolower($1) == tolower(h) { sub(/^[^:]*: */, ""); print; exit } /^$/ { exit }' "$1"; }
t_eq "Beacon: 3 events on your mail" "$(hdr "$T_DIR/digest1" Subject)" "the digest's Subject"
t_eq "auto-generated" "$(hdr "$T_DIR/digest1" Auto-Submitted)" "the digest is Auto-Submitted"
t_eq "carol@example.org" "$(hdr "$T_DIR/digest1" To)" "the digest's To"
case $(hdr "$T_DIR/digest1" Content-Type) in
text/plain*charset=*[Uu][Tt][Ff]-8*) t_ok "the digest is text/plain UTF-8" ;;
*) t_fail "the digest's Content-Type: $(hdr "$T_DIR/digest1" Content-Type)" ;;
esac
tag=$(hdr "$T_DIR/digest1" X-Beacon)
case ${tag,,} in
no | off | none | 0 | no\;*) t_ok "the digest tells beacon-milter not to track it (X-Beacon: $tag)" ;;
*) t_fail "the digest would be tracked by beacon-milter: X-Beacon: '$tag'" ;;
esac
body=$(sed '1,/^$/d' "$T_DIR/digest1")
for want in dan@example.com eve@example.com Digest.letter https://example.org/d; do
	grep -q "$want" <<<"$body" || t_fail "the digest lacks $want: $body"
done
t_eq "2 1" "$(grep -c 'dan@example.com' <<<"$body") $(grep -c 'eve@example.com' <<<"$body")" \
	"two lines for dan (open, click), one for eve (the scanner click left out)"
t_eq 3 "$(pg_query "SELECT count(*) FROM beacon.notify_log l JOIN beacon.notify_jobs j ON j.id = l.job
	WHERE j.message = '$(mid 7)' AND l.destination = $DM AND l.status BETWEEN 200 AND 299")" \
	"one notify_log row per event of the digest, with the SMTP reply"

# the later event: the next digest holds it and nothing of the first, and
# goes out no sooner than the interval after it
px_wait_rows $((rows + 1)) 20 || t_fail "pixelsrv did not store kim's open"
sink_wait_delivered 2 15 || t_fail "no second digest"
sleep 0.5
mapfile -t mails < <(sink_files)
t_eq 2 "${#mails[@]}" "two digests in all"
sink_message "${mails[1]}" >"$T_DIR/digest2"
t_eq "Beacon: 1 event on your mail" "$(hdr "$T_DIR/digest2" Subject)" "the second digest's Subject, one event"
t_eq "0 0 1" "$(sed '1,/^$/d' "$T_DIR/digest2" | grep -c 'dan@example.com' || true) $(sed '1,/^$/d' "$T_DIR/digest2" |
	grep -c 'eve@example.com' || true) $(sed '1,/^$/d' "$T_DIR/digest2" | grep -c 'kim@example.com')" \
	"it holds kim's open, nothing of the first digest"
t_eq t "$(pg_query "SELECT max(d.sent_at) - min(d.sent_at) >= interval '2.9 s'
	FROM beacon.notify_deliveries d JOIN beacon.notify_jobs j ON j.id = d.job
	WHERE j.message = '$(mid 7)' AND d.state = 'sent'")" \
	"the second digest went out a notify_interval after the first"

# --- beaconctl notify log
t_run ctl notify log --message m1@example.org --csv
t_eq 0 "$RC" "notify log exit: $ERR"
t_eq "click,ann@example.com,sent,1,204
open,ann@example.com,sent,1,204" "$(sed 1d <<<"$OUT" | cut -d, -f5,7-10)" \
	"notify log lists m1's two deliveries: sent at the first attempt"

t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.notify_deliveries WHERE state = 'pending'")" \
	"nothing left pending"
t_eq 0 "$(awk -v k="$DK" '$2 > 1 && $1 != k' < <(wh_count) | wc -l)" "no other delivery accepted twice"
nt_stop
bc_no_sanitizer_() {
	if grep -E "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" >/dev/null; then
		grep -E -A 30 "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" | head -n 60 >&2
		t_fail "sanitizer report in $1"
	fi
}
bc_no_sanitizer_ "$NT_LOG"
t_ok "no sanitizer report from beacon-notify"
