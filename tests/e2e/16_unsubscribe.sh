#!/bin/bash
# NAME
#	16_unsubscribe.sh - one-click unsubscribe end to end: swaks -> private
#	Postfix -> beacon-milter (split) -> smtp-sink; beacon-pixelsrv's /u/;
#	suppressions in a throwaway PostgreSQL
#
# DESCRIPTION
#	One PostgreSQL, one Postfix (with the reinject smtpd), one
#	beacon-milter (per_recipient = split, suppression_refresh one hour:
#	only the database's NOTIFY can make it reload in time;
#	unsubscribe = @rules.example; unsubscribe_mailto set) and one
#	beacon-pixelsrv on base_url serve every case:
#
#	1. "X-Beacon: track; unsubscribe=yes" to ann and bob: each delivery
#	   carries List-Unsubscribe with its own recipient's token
#	   (<base/u/TOKEN/MAC>, then the mailto:) and
#	   List-Unsubscribe-Post: List-Unsubscribe=One-Click;
#	2. a GET of ann's URL: 200, an HTML page with a POST form that
#	   holds nothing of the request; a HEAD: 200; a POST without the
#	   one-click field: 400; one over 2 KB: 413; a GET and a POST with a
#	   wrong MAC: 404;
#	   none of them stores an event or a suppression; a POST whose MAC
#	   is wrong, or whose Content-Length is over 2 KB, is answered
#	   before any body is sent (404, 413); a PUT to /u/ is 405 with
#	   Allow: GET, HEAD, POST;
#	3. ann's pixel is fetched once: the token's cap (token_event_limit
#	   1) is reached; the one-click POST (RFC 8058 body) is still
#	   stored: 200, the page says the mail stops, one unsubscribe event
#	   of ann's token, one suppression (ann, sender, source
#	   unsubscribe); a second POST (multipart/form-data; repeat_window
#	   off, so that it is stored and the writer calls the function again):
#	   still one suppression;
#	4. the milter, not restarted, reloads on NOTIFY: a message of that
#	   sender to ann alone is discarded (logged); the next one, from its
#	   BATV form in upper case, to ann and bob is not delivered to ann
#	   (row suppressed, one log line with the count) and tracks bob;
#	   messages.sender_key holds the sender without its BATV tag;
#	5. another sender (news@rules.example, given List-Unsubscribe by the
#	   [milter] unsubscribe rule without a tag parameter) to ann: tracked,
#	   with her List-Unsubscribe; a message with its own
#	   List-Unsubscribe keeps it and gets no second one;
#	6. beaconctl suppress --sender: list, add and del for one sender;
#	7. beacon.unsubscribe() missing (renamed, as before 007): bob's POST
#	   is answered, its event waits in the spool (not stored, not in
#	   rejected.spool); the function back: event and suppression;
#	8. the milter restarted with unsubscribe_action = untrack: ann gets
#	   that sender's mail again, untracked.
#	The logs must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
MILTER=$BEACON_BUILD/beacon-milter
CTL=$BEACON_BUILD/beaconctl
[ -x "$MILTER" ] || t_fail "no $MILTER (build first)"

pg_start
pg_schema

MDIR=$T_DIR/milter
mkdir -p "$MDIR"
chown postfix: "$MDIR"
PF_MILTER=unix:$MDIR/milter.sock PF_REINJECT=1 pf_start

BASE=http://127.0.0.1:$(t_free_port)
printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T_DIR/secret"
chmod 600 "$T_DIR/secret"
cat >"$T_DIR/beacon.conf" <<EOF
base_url = $BASE
secret_file = $T_DIR/secret

[milter]
socket = unix:$MDIR/milter.sock
user = postfix
pidfile = $MDIR/milter.pid
spool_dir = $MDIR/spool
per_recipient = split
reinject = inet:$PF_REINJECT_PORT@127.0.0.1
suppression_refresh = 3600
unsubscribe = @rules.example
unsubscribe_mailto = unsub@sender.example

[database]
conninfo = $BEACON_CONNINFO
connect_timeout = 2
statement_timeout = 1000
EOF
MLOG=$T_DIR/milter.log
"$MILTER" -f -c "$T_DIR/beacon.conf" >"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_until "grep -q 'listening on' '$MLOG'" 10 || { cat "$MLOG" >&2; t_fail "milter not listening"; }

# beacon-pixelsrv on base_url, with the milter's secret
PXDIR=$T_DIR/px
mkdir -p "$PXDIR"
cat >"$PXDIR/beacon.conf" <<EOF
base_url = $BASE
secret_file = $T_DIR/secret

[pixelsrv]
listen = 127.0.0.1:${BASE##*:}
metrics_listen = 127.0.0.1:$(t_free_port)
user = $( [ "$(id -u)" = 0 ] && echo nobody)
pidfile = $PXDIR/pixelsrv.pid
threads = 1
spool_dir = $PXDIR/spool
mail_clients = $BEACON_SRC/pixelsrv/mail-clients.yaml
machines = $BEACON_SRC/pixelsrv/machines.yaml
batch_interval = 50
repeat_window = 60
token_event_limit = 1

[database]
conninfo = $BEACON_CONNINFO
connect_timeout = 2
EOF
PX_PORT=${BASE##*:}
T_DIR=$PXDIR px_start
[ "$PX_PORT" = "${BASE##*:}" ] || t_fail "beacon-pixelsrv not on base_url's port"

NSEEN=0
# submit FROM FILE RCPTS - swaks FILE from FROM to the comma-separated RCPTS
submit() {
	printf '%s' "$(cat "$2")" >"$2.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from "$1" --to "$3" \
		--data "@$2.swaks" --silent 2 >"$T_DIR/swaks.out" 2>&1 ||
		{ cat "$T_DIR/swaks.out" >&2; t_fail "$2 refused"; }
}
# deliveries N - wait for N more sink dumps; DUMPS: their paths
deliveries() {
	pf_wait_delivered $((NSEEN + $1)) 10 ||
		{ tail -n 20 "$MLOG" >&2; t_fail "not $1 more deliveries in 10 s"; }
	sleep 0.2
	[ "$(pf_sink_count)" = $((NSEEN + $1)) ] ||
		t_fail "$(($(pf_sink_count) - NSEEN)) deliveries, expected $1"
	mapfile -t DUMPS < <(pf_sink_files | tail -n "+$((NSEEN + 1))")
	NSEEN=$((NSEEN + $1))
}
# dump_for ADDR - the one new dump delivered to ADDR
dump_for() {
	local d found=
	for d in "${DUMPS[@]}"; do
		if pf_sink_rcpts "$d" | grep -qxF "$1"; then
			[ -z "$found" ] || t_fail "$1 delivered twice"
			found=$d
		fi
	done
	[ -n "$found" ] || t_fail "$1 not delivered"
	printf '%s\n' "$found"
}
# token_in DUMP - the pixel token of a delivered message ("" without)
token_in() {
	pf_sink_message "$1" | grep -o "$BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1 |
		sed 's#.*/o/##; s#\.gif$##' || true
}
# header DUMP NAME - every NAME header of the delivery, unfolded, one a line
header() {
	pf_sink_message "$1" | sed '/^\r\?$/q' | tr -d '\r' |
		awk -v n="$(tr 'A-Z' 'a-z' <<<"$2")" '
			/^[ \t]/ { if (on) v = v " " substr($0, 2); next }
			{ if (on) print v; on = 0 }
			{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
				on = 1; v = substr($0, i + 2) } }
			END { if (on) print v }'
}
# row ADDR - "status|token" of ADDR's newest recipients row
row() {
	pg_query "SELECT r.status || '|' || coalesce(r.token, '') FROM beacon.recipients r
		JOIN beacon.messages m ON m.id = r.message WHERE r.address = '$1'
		ORDER BY m.sent_at DESC LIMIT 1"
}
# message FILE ID TAG [EXTRA HEADER] - an HTML message
message() {
	{
		printf 'From: <news@sender.example>\nTo: ann@remote.example\n'
		printf 'Subject: Letter %s\nMessage-ID: <%s@sender.example>\n' "$2" "$2"
		[ -n "$3" ] && printf 'X-Beacon: %s\n' "$3"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
		printf 'MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n'
		printf '<html><body><p>Hello</p><a href="https://shop.example/a">a</a></body></html>\n'
	} >"$1"
}
sup_count() { pg_query "SELECT count(*) FROM beacon.suppressions"; }

# --- 1. two recipients, each with its own URL
message "$T_DIR/m1.eml" one "track; unsubscribe=yes"
submit sender@sender.example "$T_DIR/m1.eml" ann@remote.example,bob@remote.example
deliveries 2
declare -A URL=()
for a in ann@remote.example bob@remote.example; do
	d=$(dump_for "$a")
	tok=$(token_in "$d")
	[ ${#tok} = 36 ] || t_fail "1: no token delivered to $a"
	t_eq "tracked|$tok" "$(row "$a")" "1: $a's row holds the delivered token"
	lu=$(header "$d" List-Unsubscribe)
	[[ "$lu" =~ ^\<($BASE/u/$tok/[A-Za-z0-9_-]{14})\>,\ \<mailto:unsub@sender\.example\?subject=unsubscribe\>$ ]] ||
		t_fail "1: List-Unsubscribe delivered to $a is '$lu', not for token $tok"
	URL[$a]=${BASH_REMATCH[1]}
	t_eq "List-Unsubscribe=One-Click" "$(header "$d" List-Unsubscribe-Post)" \
		"1: List-Unsubscribe-Post delivered to $a"
done
[ "${URL[ann@remote.example]}" != "${URL[bob@remote.example]}" ] || t_fail "1: one URL for both"
t_ok "1: each copy carries its own recipient's List-Unsubscribe URL and the one-click header"
ANN_URL=${URL[ann@remote.example]}
ANN_TOK=$(token_in "$(dump_for ann@remote.example)")
ANN_ID=$(pg_query "SELECT token_id FROM beacon.recipients WHERE token = '$ANN_TOK'")

# --- 2. what does not unsubscribe
curl -s -o "$T_DIR/page.html" -D "$T_DIR/page.hdr" -w '%{http_code}' --max-time 10 \
	"$ANN_URL" >"$T_DIR/code" || true
t_eq 200 "$(cat "$T_DIR/code")" "2: GET of the URL"
grep -q '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">' \
	"$T_DIR/page.html" || t_fail "2: the page has no one-click POST form"
grep -q "$ANN_TOK\|remote.example\|/u/" "$T_DIR/page.html" && t_fail "2: the page reflects the request"
grep -qi "^Content-Security-Policy: default-src 'none'" "$T_DIR/page.hdr" || t_fail "2: no CSP"
grep -qi '^Cache-Control: no-store' "$T_DIR/page.hdr" || t_fail "2: the page may be cached"
t_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -I "$ANN_URL")" "2: HEAD of the URL"
t_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d 'List-Unsubscribe=Yes' "$ANN_URL")" \
	"2: a POST without the one-click field"
t_eq 413 "$(head -c 3000 /dev/zero | tr '\0' a | curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	--data-binary @- "$ANN_URL")" "2: a POST body over 2 KB"
mac=${ANN_URL##*/}
bad="${ANN_URL%/*}/${mac:0:5}$( [ "${mac:5:1}" = A ] && echo B || echo A)${mac:6}"
t_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$bad")" "2: GET with a wrong MAC"
t_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d 'List-Unsubscribe=One-Click' "$bad")" \
	"2: POST with a wrong MAC"
t_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d 'List-Unsubscribe=One-Click' \
	"$BASE/u/$ANN_TOK")" "2: POST without a MAC"
# raw_post PATH LENGTH - the status line of a POST head announcing LENGTH bytes, none sent
raw_post() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"
	printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %s\r\n\r\n' \
		"$1" "$2" >&3
	IFS= read -r -t 3 line <&3 || line=none
	exec 3<&-
	printf '%s\n' "${line%$'\r'}" | cut -d' ' -f2
}
t_eq 404 "$(raw_post "${bad#$BASE}" 100000)" "2: a POST with a wrong MAC is refused before its body"
t_eq 413 "$(raw_post "${ANN_URL#$BASE}" 3000)" "2: a POST announcing over 2 KB is refused before its body"
curl -s -o /dev/null -D "$T_DIR/put.hdr" -X PUT --max-time 10 "$ANN_URL" || true
grep -q '^HTTP/1.1 405' "$T_DIR/put.hdr" && grep -qi '^Allow: GET, HEAD, POST' "$T_DIR/put.hdr" ||
	t_fail "2: PUT to /u/: $(tr -d '\r' <"$T_DIR/put.hdr" | tr '\n' ' ')"
sleep 0.3	# several writer batches (batch_interval 50 ms)
t_eq "0|0" "$(px_rows "kind = 'unsubscribe'")|$(sup_count)" "2: events|suppressions after GET, HEAD and bad POSTs"

# --- 3. the token's cap (token_event_limit = 1) is used up by an open first
curl -s -o /dev/null --max-time 10 "$BASE/o/$ANN_TOK.gif"
t_wait_until "[ \"\$(px_rows \"kind = 'open'\")\" = 1 ]" 10 || t_fail "3: the open is not stored"

# --- 3. the one-click POST, twice
t_eq 200 "$(curl -s -o "$T_DIR/done.html" -w '%{http_code}' --max-time 10 \
	-H 'Content-Type: application/x-www-form-urlencoded' -d 'List-Unsubscribe=One-Click' "$ANN_URL")" \
	"3: the one-click POST"
grep -q 'You are unsubscribed' "$T_DIR/done.html" || t_fail "3: no done page"
grep -q 'will no longer be delivered to you' "$T_DIR/done.html" || t_fail "3: the page does not say the mail stops"
t_wait_until '[ "$(sup_count)" = 1 ]' 10 || t_fail "3: no suppression after the POST"
t_eq "ann@remote.example|sender@sender.example|unsubscribe" \
	"$(pg_query "SELECT pattern || '|' || sender || '|' || source FROM beacon.suppressions")" \
	"3: the suppression (pattern|sender|source)"
t_wait_until "[ \"\$(px_rows \"kind = 'unsubscribe'\")\" = 1 ]" 10 || t_fail "3: no unsubscribe event"
t_eq "$ANN_ID" "$(pg_query "SELECT token_id FROM beacon.events WHERE kind = 'unsubscribe'")" \
	"3: the event is ann's token's"
# multipart/form-data, as some providers send it
t_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -F 'List-Unsubscribe=One-Click' "$ANN_URL")" \
	"3: a second POST (multipart/form-data)"
t_wait_until "grep -q 'unsubscribe of token $ANN_ID: already suppressed' '$PXDIR/pixelsrv.log'" 10 ||
	t_fail "3: the second POST did not reach the writer"
t_eq 1 "$(sup_count)" "3: still one suppression after the second POST"

# --- 4. no restart: the milter reloads on NOTIFY
t_wait_until "grep -q 'suppression list: changed in the database, 1 patterns' '$MLOG'" 10 ||
	{ tail -n 5 "$MLOG" >&2; t_fail "4: the milter did not reload on NOTIFY"; }
message "$T_DIR/m2a.eml" twoa "track; unsubscribe=yes"
submit sender@sender.example "$T_DIR/m2a.eml" ann@remote.example
t_wait_until "grep -q '1 recipient unsubscribed from this sender: removed; no recipient left, the message is discarded' '$MLOG'" 10 ||
	{ tail -n 5 "$MLOG" >&2; t_fail "4: the message to ann alone is not discarded"; }
message "$T_DIR/m2.eml" two "track; unsubscribe=yes"
submit prvs=0123abcdef=SENDER@Sender.Example "$T_DIR/m2.eml" ann@remote.example,bob@remote.example
deliveries 1	# bob's only: neither message reached ann
# bob left in his copy, ann is removed: the original is left with nobody
t_wait_until "[ \$(grep -c ': 1 recipient unsubscribed from this sender: removed' '$MLOG') = 2 ]" 10 ||
	t_fail "4: no log line for the recipient removed"
grep 'unsubscribed from this sender' "$MLOG" | grep -q 'ann@' && t_fail "4: the log names the address"
t_eq "suppressed|" "$(row ann@remote.example)" "4: ann's row"
t_eq "sender@sender.example" "$(pg_query "SELECT sender_key FROM beacon.messages
	WHERE sender LIKE 'prvs=%'")" "4: messages.sender_key without BATV, lower case"
d=$(dump_for bob@remote.example)
tok=$(token_in "$d")
[ ${#tok} = 36 ] || t_fail "4: bob not tracked"
t_eq "tracked|$tok" "$(row bob@remote.example)" "4: bob's row"
header "$d" List-Unsubscribe | grep -q "^<$BASE/u/$tok/" || t_fail "4: bob's List-Unsubscribe"
BOB_URL=$(header "$d" List-Unsubscribe | sed 's/^<\([^>]*\)>.*/\1/')
BOB_TOK=$tok
t_pid_alive "$MPID" || t_fail "4: the milter is not the one started"

# --- 5. another sender: tracked; the [milter] unsubscribe rule; the message's own header
message "$T_DIR/m3.eml" three "track"
submit news@rules.example "$T_DIR/m3.eml" ann@remote.example
deliveries 1
d=$(dump_for ann@remote.example)
tok=$(token_in "$d")
t_eq "tracked|$tok" "$(row ann@remote.example)" "5: ann tracked for another sender"
header "$d" List-Unsubscribe | grep -q "^<$BASE/u/$tok/[A-Za-z0-9_-]*>, <mailto:" ||
	t_fail "5: no List-Unsubscribe from the [milter] unsubscribe rule"
message "$T_DIR/m4.eml" four "track; unsubscribe=yes" "List-Unsubscribe: <https://list.example/leave>"
submit news@rules.example "$T_DIR/m4.eml" ann@remote.example
deliveries 1
d=$(dump_for ann@remote.example)
[ ${#tok} = 36 ] && [ "$(token_in "$d")" != "" ] || t_fail "5: the message with its own header not tracked"
t_eq "<https://list.example/leave>|" "$(header "$d" List-Unsubscribe | tr '\n' ' ' | sed 's/ $//')|$(header "$d" List-Unsubscribe-Post)" \
	"5: its own List-Unsubscribe kept, none added"

# --- 6. beaconctl suppress --sender
out=$("$CTL" -c "$T_DIR/beacon.conf" suppress list --csv --sender Sender@Sender.Example.)
grep -q '^ann@remote.example,one-click unsubscribe,.*,sender@sender.example,unsubscribe$' <<<"$out" ||
	t_fail "6: suppress list --sender: $out"
t_eq "added cat@remote.example for sender news@rules.example" \
	"$("$CTL" -c "$T_DIR/beacon.conf" suppress add CAT@remote.example --sender News@Rules.Example)" \
	"6: suppress add --sender"
t_eq "removed ann@remote.example for sender sender@sender.example" \
	"$("$CTL" -c "$T_DIR/beacon.conf" suppress del ann@remote.example --sender sender@sender.example)" \
	"6: suppress del --sender"
t_eq "cat@remote.example|news@rules.example|admin" \
	"$(pg_query "SELECT pattern || '|' || sender || '|' || source FROM beacon.suppressions")" \
	"6: suppressions left"
t_wait_until "grep -c 'suppression list: changed in the database' '$MLOG' | grep -qx '[3-9]'" 10 ||
	t_fail "6: the milter did not reload after beaconctl"

# --- 7. a refused beacon.unsubscribe(): the batch waits in the spool, nothing is rejected
# as on a schema before 007: the function is not there (42883)
pg_query "ALTER FUNCTION beacon.unsubscribe(uuid) RENAME TO unsubscribe_away" >/dev/null
BOB_ID=$(pg_query "SELECT token_id FROM beacon.recipients WHERE token = '$BOB_TOK'")
t_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d 'List-Unsubscribe=One-Click' "$BOB_URL")" \
	"7: bob's POST while the function is missing"
t_wait_until "grep -q 'beacon.unsubscribe() refused (42883' '$PXDIR/pixelsrv.log'" 10 ||
	t_fail "7: the refusal is not logged"
sleep 0.3
t_eq "0|0" "$(px_rows "kind = 'unsubscribe' AND token_id = '$BOB_ID'")|$(pg_query "SELECT count(*)
	FROM beacon.suppressions WHERE pattern = 'bob@remote.example'")" "7: no event, no suppression yet"
[ ! -s "$PXDIR/spool/rejected.spool" ] || t_fail "7: the event went to rejected.spool"
pg_query "ALTER FUNCTION beacon.unsubscribe_away(uuid) RENAME TO unsubscribe" >/dev/null
t_wait_until "[ \"\$(px_rows \"kind = 'unsubscribe' AND token_id = '$BOB_ID'\")\" = 1 ]" 15 ||
	t_fail "7: the spooled event is not replayed once the function is back"
t_eq "bob@remote.example|sender@sender.example|unsubscribe" \
	"$(pg_query "SELECT pattern || '|' || sender || '|' || source FROM beacon.suppressions
		WHERE pattern = 'bob@remote.example'")" "7: and its suppression"

# --- 8. unsubscribe_action = untrack: ann gets the mail, untracked
t_kill_pid "$MPID" TERM 15
sed -i 's/^\[milter\]$/[milter]\nunsubscribe_action = untrack/' "$T_DIR/beacon.conf"
pg_query "INSERT INTO beacon.suppressions (pattern, sender, source)
	VALUES ('ann@remote.example', 'sender@sender.example', 'unsubscribe')" >/dev/null
: >"$MLOG"
"$MILTER" -f -c "$T_DIR/beacon.conf" >>"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_until "grep -q 'listening on' '$MLOG'" 10 || t_fail "8: milter not listening"
message "$T_DIR/m5.eml" five "track; unsubscribe=yes"
submit sender@sender.example "$T_DIR/m5.eml" ann@remote.example
deliveries 1
d=$(dump_for ann@remote.example)
t_eq "|" "$(token_in "$d")|$(header "$d" List-Unsubscribe)" "8: untrack: ann's delivery has no token, no List-Unsubscribe"

if grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$MLOG" "$PXDIR/pixelsrv.log" >&2; then
	t_fail "sanitizer report"
fi
t_ok "16_unsubscribe"
