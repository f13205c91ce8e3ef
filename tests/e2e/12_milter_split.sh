#!/bin/bash
# NAME
#	12_milter_split.sh - one token per recipient end to end: swaks ->
#	private Postfix with smtpd_milters -> beacon-milter, copies re-injected
#	through a second smtpd without milters -> smtp-sink; rows in a
#	throwaway PostgreSQL
#
# DESCRIPTION
#	One PostgreSQL, one Postfix and one beacon-milter (per_recipient =
#	split, suppression_refresh = 1) serve every case:
#
#	1. the reinject listener is down: a message to two recipients is
#	   temp-failed (451), nothing is delivered, queued or recorded; once
#	   the listener runs (master.cf + postfix reload) the same message
#	   is accepted and both recipients get their own token;
#	2. five recipients (2 To, 1 Cc, 2 Bcc, the submitted message even
#	   carrying a Bcc: header): five deliveries, one recipient each,
#	   five distinct tokens, each the one of that recipient's
#	   PostgreSQL row (status tracked, one messages row); every copy
#	   keeps the original's headers; no Bcc address appears in a header
#	   of any delivery but that recipient's own Received trace;
#	   each delivery holds exactly one hidden link (link 0, aria-hidden,
#	   display:none) signed for that recipient's token with the base URL
#	   as target, and no links row for it; beacon-pixelsrv, started on
#	   base_url with the milter's secret, answers each 204 and stores
#	   one click of link 0 per recipient token;
#	3. an internal recipient beside a tracked one: delivered byte for
#	   byte as sent but for the tag header; row internal without token;
#	4. suppressed recipients (one address added while the milter runs,
#	   one domain loaded at start): delivered untouched, rows
#	   suppressed, the tracked one gets its token;
#	5. a reinject listener that refuses the third copy (a
#	   check_recipient_access map on the reinject smtpd): each of the
#	   five recipients is delivered exactly once; the two first copies
#	   have their own tokens, the three recipients left share the
#	   original's token (rows shared);
#	6. DSN: MAIL FROM with RET and ENVID, per-recipient NOTIFY and
#	   ORCPT: what smtp-sink sees for every recipient, on the original
#	   and on the copies, is what the client sent; the reinject smtpd
#	   logs the original client and queue id of each copy (XFORWARD);
#	7. the reinject smtpd running the milter as well, its header strip
#	   off: the milter recognises its copies by the listener they come
#	   in on ({daemon_name} beacon-reinject) and their header, removes
#	   it and passes them; three recipients, three tokens;
#	8. plain_to_html: a text-only message without MIME-Version, two
#	   recipients: each delivery is multipart/alternative (one
#	   MIME-Version header), the text part as sent, the HTML twin
#	   escaped with the recipient's own pixel and a click URL for the
#	   link; the messages row keeps the subject and Message-ID;
#	9. other spellings of excluded addresses: after `beaconctl suppress
#	   add cat@example.org` (and '@Bücher.Example.' for a domain),
#	   <cat@example.org.>, <CAT@Example.ORG>, <info@XN--BCHER-KVA.example.>
#	   and the internal <gina9@corp.example.> get the message as sent, no
#	   pixel, rows suppressed or internal in their one form without
#	   token; the tracked recipient beside them gets a copy;
#	10. the reinject smtpd as contrib/postfix/master.cf ships it takes
#	   mail from the milter's address only: a client on 127.0.0.2 is
#	   not offered XFORWARD, its XFORWARD is refused, and so is its
#	   recipient;
#	11. a replayed copy: a copy delivered with its valid copy header (the
#	    reinject listener's strip off) is sent again by its recipient on
#	    the normal port with a new body and "X-Beacon: track": the copy
#	    header is removed and the message tracked like any other (it used
#	    to pass untouched).
#	The milter's log must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
MILTER=$BEACON_BUILD/beacon-milter
[ -x "$MILTER" ] || t_fail "no $MILTER (build first)"

# --- PostgreSQL with the schema; a domain suppressed before the milter starts
pg_start
pg_schema
pg_psql -c "INSERT INTO beacon.suppressions (pattern, reason) VALUES ('@optout.example', 'test')"

# --- beacon-milter
MDIR=$T_DIR/milter
mkdir -p "$MDIR"
chown postfix: "$MDIR"
BASE=http://127.0.0.1:$(t_free_port)
RPORT=$(t_free_port)
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
internal_domains = corp.example
per_recipient = split
reinject = inet:$RPORT@127.0.0.1
suppression_refresh = 1
plain_to_html = yes

[database]
conninfo = $BEACON_CONNINFO
connect_timeout = 2
statement_timeout = 1000
EOF
MLOG=$T_DIR/milter.log
"$MILTER" -f -c "$T_DIR/beacon.conf" >"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_file "$MDIR/milter.sock" 10 || { cat "$MLOG" >&2; t_fail "milter socket not created"; }
t_wait_until "grep -q 'listening on' '$MLOG'" 10 || { cat "$MLOG" >&2; t_fail "milter not listening"; }
grep -q "suppression list: 1 patterns" "$MLOG" || t_fail "suppression list not loaded at start"

# --- Postfix; the reinject smtpd comes later (case 1)
PF_MILTER=unix:$MDIR/milter.sock pf_start

# --- helpers
NSEEN=0		# sink dumps already looked at

# submit FILE RCPTS - swaks FILE to the comma-separated RCPTS; its status, output in swaks.out
submit() {
	printf '%s' "$(cat "$1")" >"$1.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example --to "$2" \
		--data "@$1.swaks" --silent 2 >"$T_DIR/swaks.out" 2>&1
}

# deliveries N - wait for N more sink dumps; DUMPS: their paths
deliveries() {
	pf_wait_delivered $((NSEEN + $1)) 10 ||
		{ tail -n 20 "$MLOG" >&2; t_fail "not $1 more deliveries in 10 s"; }
	sleep 0.3	# nothing more may come
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

# token_in DUMP - the pixel token of a delivered message
token_in() {
	pf_sink_message "$1" | grep -o "$BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1 |
		sed 's#.*/o/##; s#\.gif$##'
}

# headers_of DUMP - the delivered message's header block
headers_of() {
	pf_sink_message "$1" | sed '/^$/q'
}

# row ADDR - "status|token" of ADDR's newest recipients row (ADDR in any case)
row() {
	pg_query "SELECT r.status || '|' || coalesce(r.token, '') FROM beacon.recipients r
		JOIN beacon.messages m ON m.id = r.message WHERE lower(r.address) = lower('$1')
		ORDER BY m.sent_at DESC LIMIT 1"
}

# message FILE ID TO CC [BCC] - a tagged HTML message with two links
message() {
	{
		printf 'From: Sender <sender@sender.example>\nTo: %s\n' "$3"
		[ -n "$4" ] && printf 'Cc: %s\n' "$4"
		[ -n "${5:-}" ] && printf 'Bcc: %s\n' "$5"
		printf 'Subject: Split %s\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n' "$2"
		printf 'Message-ID: <%s@sender.example>\nX-Beacon: track; campaign="split %s"\n' "$2" "$2"
		printf 'MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n'
		printf 'Content-Transfer-Encoding: 7bit\n\n'
		printf '<html><body><p>Hello</p><a href="https://shop.example/a">a</a>\n'
		printf '<a href="https://shop.example/b">b</a></body></html>\n'
	} >"$1"
}

# --- 1. reinject down: temp-fail, nothing delivered; then up: success on retry
message "$T_DIR/in1.eml" down-1 "ann@remote.example" "bob@remote.example"
if submit "$T_DIR/in1.eml" ann@remote.example,bob@remote.example; then
	t_fail "1: accepted with the reinject listener down"
fi
grep -q "<\*\* *451 4.7.1" "$T_DIR/swaks.out" || { cat "$T_DIR/swaks.out" >&2; t_fail "1: no 451 at end of data"; }
t_ok "1: temp-failed (451) with the reinject listener down"
grep -q ": temp-failed: re-injection failed, nothing sent: 127.0.0.1:$RPORT: connect" "$MLOG" ||
	{ tail -n 5 "$MLOG" >&2; t_fail "1: no temp-fail log line"; }
sleep 1
t_eq 0 "$(pf_sink_count)" "1: deliveries while down"
t_eq 0 "$(pf_queue_count)" "1: messages queued while down"
# the rows are written before any copy would leave; the retry finds the same ones
t_eq "1|2" "$(pg_query "SELECT count(DISTINCT m.id) || '|' || count(*) FROM beacon.messages m
	JOIN beacon.recipients r ON r.message = m.id")" "1: rows (messages|recipients) while down"
# the reinject smtpd of contrib/postfix/master.cf, refusing one address (case 5)
sed -n '/^127.0.0.1:10026 /,$p' "$BEACON_SRC/contrib/postfix/master.cf" |
	sed "s/^127.0.0.1:10026 /127.0.0.1:$RPORT /" |
	sed 's/^  -o smtpd_recipient_restrictions=.*/  -o { smtpd_recipient_restrictions = check_recipient_access inline:{ refused3@remote.example=REJECT }, permit_mynetworks, reject }/' \
	>>"$PF_CONF/master.cf"
grep -q "^127.0.0.1:$RPORT inet" "$PF_CONF/master.cf" || t_fail "1: no reinject service from contrib"
pf_reload
t_wait_port "$RPORT" 10 || t_fail "1: reinject smtpd not listening on $RPORT"
submit "$T_DIR/in1.eml" ann@remote.example,bob@remote.example ||
	{ cat "$T_DIR/swaks.out" >&2; t_fail "1: retry refused"; }
deliveries 2
ta=$(token_in "$(dump_for ann@remote.example)")
tb=$(token_in "$(dump_for bob@remote.example)")
[ ${#ta} = 36 ] && [ ${#tb} = 36 ] && [ "$ta" != "$tb" ] || t_fail "1: tokens '$ta' '$tb'"
t_eq "tracked|$ta tracked|$tb" "$(row ann@remote.example) $(row bob@remote.example)" \
	"1: after the retry each recipient has its own token"
t_eq "1|2" "$(pg_query "SELECT count(DISTINCT m.id) || '|' || count(*) FROM beacon.messages m
	JOIN beacon.recipients r ON r.message = m.id")" "1: the retry wrote no second set of rows"

# --- 2. five recipients: 2 To, 1 Cc, 2 Bcc
five="ann2@remote.example bob2@remote.example carl@remote.example dora@remote.example erin@remote.example"
message "$T_DIR/in2.eml" five-2 "Ann <ann2@remote.example>, bob2@remote.example" \
	"carl@remote.example" "dora@remote.example, erin@remote.example"
submit "$T_DIR/in2.eml" "$(tr ' ' ',' <<<"$five")" || { cat "$T_DIR/swaks.out" >&2; t_fail "2: refused"; }
deliveries 5
declare -A seen=()
for a in $five; do
	d=$(dump_for "$a")
	t_eq "$a" "$(pf_sink_rcpts "$d")" "2: the delivery to $a has one recipient"
	tok=$(token_in "$d")
	[ ${#tok} = 36 ] || t_fail "2: no token in the delivery to $a"
	[ -z "${seen[$tok]:-}" ] || t_fail "2: $a has the token of ${seen[$tok]}"
	seen[$tok]=$a
	t_eq "tracked|$tok" "$(row "$a")" "2: $a's row holds the token delivered to $a"
	headers_of "$d" | grep -v '^X-Beacon-Copy:' |
		grep -E '^(From|To|Cc|Subject|Message-ID|Date|MIME-Version|Content-Type):' >"$T_DIR/h.$a"
	for b in dora@remote.example erin@remote.example; do
		if [ "$b" = "$a" ]; then
			# her own copy names her only in the Received trace ("for <...>")
			headers_of "$d" | awk '/^[^ \t]/ { rcvd = /^Received:/ } !rcvd' | grep -qF "$b" &&
				t_fail "2: $b outside the Received trace of her own copy"
		else
			headers_of "$d" | grep -qF "$b" && t_fail "2: Bcc address $b in a header delivered to $a"
		fi
	done
	headers_of "$d" | grep -qi '^Bcc:' && t_fail "2: Bcc header delivered to $a"
	headers_of "$d" | grep -qi '^X-Beacon:' && t_fail "2: tag header delivered to $a"
done
t_ok "2: five deliveries, five distinct tokens, no Bcc address in another's headers"
for a in $five; do
	cmp -s "$T_DIR/h.ann2@remote.example" "$T_DIR/h.$a" ||
		{ diff "$T_DIR/h.ann2@remote.example" "$T_DIR/h.$a" >&2; t_fail "2: $a's headers differ"; }
done
t_ok "2: every copy keeps the original's headers"
for a in $five; do
	headers_of "$(dump_for "$a")" | grep -qi '^X-Beacon-Copy:' && t_fail "2: copy header delivered to $a"
done
t_ok "2: the reinject listener's cleanup removed the copy header (none delivered)"
t_eq 1 "$(pg_query "SELECT count(DISTINCT r.message) FROM beacon.recipients r
	JOIN beacon.messages m ON m.id = r.message WHERE m.message_id = 'five-2@sender.example'")" \
	"2: one messages row for the five"
t_eq "5|5" "$(pg_query "SELECT count(*) || '|' || count(DISTINCT token) FROM beacon.recipients r
	JOIN beacon.messages m ON m.id = r.message WHERE m.message_id = 'five-2@sender.example'")" \
	"2: five rows, five tokens"
t_eq "1|https://shop.example/a 2|https://shop.example/b" "$(pg_query "SELECT string_agg(n || '|' || url, ' '
	ORDER BY n) FROM beacon.links l JOIN beacon.messages m ON m.id = l.message
	WHERE m.message_id = 'five-2@sender.example'")" "2: links rows once"
grep -q ": tracked: 5 recipients (split: 4 copies), 2 links, message " "$MLOG" ||
	t_fail "2: no log line 'tracked: 5 recipients (split: 4 copies)'"

# --- 2b. the hidden link: one per delivery, signed as link 0 for that recipient's token with
# the base URL as target, hidden from readers; beacon-pixelsrv on base_url (same secret and
# database) records it as a click of link 0 of that token and answers 204
PXDIR=$T_DIR/px
mkdir -p "$PXDIR"
printf 'base_url = %s\nsecret_file = %s\n\n[pixelsrv]\nlisten = 127.0.0.1:%s\n' \
	"$BASE" "$T_DIR/secret" "${BASE##*:}" >"$PXDIR/beacon.conf"
printf 'metrics_listen = 127.0.0.1:%s\nuser = %s\npidfile = %s/pixelsrv.pid\nthreads = 1\n' \
	"$(t_free_port)" "$( [ "$(id -u)" = 0 ] && echo nobody)" "$PXDIR" >>"$PXDIR/beacon.conf"
printf 'spool_dir = %s/spool\nmail_clients = %s/pixelsrv/mail-clients.yaml\nmachines = %s/pixelsrv/machines.yaml\nbatch_interval = 50\n' \
	"$PXDIR" "$BEACON_SRC" "$BEACON_SRC" >>"$PXDIR/beacon.conf"
printf '\n[database]\nconninfo = %s\nconnect_timeout = 2\n' "$BEACON_CONNINFO" >>"$PXDIR/beacon.conf"
PX_PORT=${BASE##*:}
T_DIR=$PXDIR px_start
[ "$PX_PORT" = "${BASE##*:}" ] || t_fail "2b: beacon-pixelsrv not on base_url's port"
hidden_re="<span style=\"display:none;mso-hide:all\" aria-hidden=\"true\"><a href=\"$BASE/c/[A-Za-z0-9_-]*/0/[A-Za-z0-9_-]*?u=[A-Za-z0-9_-]*\" tabindex=\"-1\" aria-hidden=\"true\" style=\"display:none;mso-hide:all\"></a></span>"
base_b64=$(printf '%s' "$BASE" | base64 -w0 | tr '+/' '-_' | tr -d '=')
for a in $five; do
	d=$(dump_for "$a")
	tok=$(token_in "$d")
	t_eq 1 "$(pf_sink_message "$d" | grep -o "$BASE/c/[A-Za-z0-9_-]*/0/" | wc -l)" \
		"2b: one link 0 in the delivery to $a"
	hp=$(pf_sink_message "$d" | grep -o "$hidden_re" | grep -o "$BASE/c/[^\"]*")
	[ -n "$hp" ] || { pf_sink_message "$d" >&2; t_fail "2b: no hidden link delivered to $a"; }
	t_eq "$BASE/c/$tok/0/ ?u=$base_b64" "$(sed 's#/0/[A-Za-z0-9_-]*?#/0/ ?#' <<<"$hp")" \
		"2b: $a's hidden link is signed for $a's token, to the base URL"
	t_eq 204 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$hp")" \
		"2b: beacon-pixelsrv answers $a's hidden link 204"
done
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.events WHERE link_n = 0\")\" = 5 ]" 10 ||
	t_fail "2b: the hidden link clicks were not stored"
t_eq "5|5|5" "$(pg_query "SELECT count(*) || '|' || count(DISTINCT e.token_id) || '|' ||
	count(*) FILTER (WHERE e.kind = 'click') FROM beacon.events e JOIN beacon.recipients r
	ON r.token_id = e.token_id WHERE e.link_n = 0 AND r.address IN ('$(sed "s/ /','/g" <<<"$five")')")" \
	"2b: five clicks of link 0, one on each recipient's token"
T_DIR=$PXDIR px_stop

# --- 3. an internal recipient: untouched
message "$T_DIR/in3.eml" internal-3 "ann3@remote.example, gina@corp.example" ""
submit "$T_DIR/in3.eml" ann3@remote.example,gina@corp.example || t_fail "3: refused"
deliveries 2
pf_sink_message "$(dump_for gina@corp.example)" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
	skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/out3.eml"
grep -v '^X-Beacon:' "$T_DIR/in3.eml" | cmp -s - "$T_DIR/out3.eml" ||
	{ diff "$T_DIR/in3.eml" "$T_DIR/out3.eml" >&2; t_fail "3: internal delivery changed"; }
t_ok "3: internal recipient delivered as sent (only the tag header removed)"
tok=$(token_in "$(dump_for ann3@remote.example)")
t_eq "internal| tracked|$tok" "$(row gina@corp.example) $(row ann3@remote.example)" \
	"3: rows internal without token, tracked"

# --- 4. suppressed recipients: one added now (picked up within suppression_refresh), one domain
pg_psql -c "INSERT INTO beacon.suppressions (pattern) VALUES ('sam@remote.example')"
sleep 2
message "$T_DIR/in4.eml" suppressed-4 "ann4@remote.example, Sam <SAM@remote.example>, opal@optout.example" ""
submit "$T_DIR/in4.eml" ann4@remote.example,SAM@remote.example,opal@optout.example || t_fail "4: refused"
deliveries 2
ds=$(dump_for SAM@remote.example)
[ "$ds" = "$(dump_for opal@optout.example)" ] || t_fail "4: suppressed recipients not on the original"
pf_sink_message "$ds" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
	skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/out4.eml"
grep -v '^X-Beacon:' "$T_DIR/in4.eml" | cmp -s - "$T_DIR/out4.eml" ||
	{ diff "$T_DIR/in4.eml" "$T_DIR/out4.eml" >&2; t_fail "4: suppressed delivery changed"; }
t_ok "4: suppressed recipients delivered as sent"
tok=$(token_in "$(dump_for ann4@remote.example)")
t_eq "suppressed| suppressed| tracked|$tok" \
	"$(row SAM@remote.example) $(row opal@optout.example) $(row ann4@remote.example)" \
	"4: rows suppressed without token, tracked"

# --- 5. the reinject listener refuses the third copy
rcpts5="r1@remote.example r2@remote.example r3@remote.example refused3@remote.example r5@remote.example"
message "$T_DIR/in5.eml" refused-5 "$(sed 's/ /, /g' <<<"$rcpts5")" ""
submit "$T_DIR/in5.eml" "$(tr ' ' ',' <<<"$rcpts5")" || t_fail "5: refused"
deliveries 3
t_eq "r1@remote.example
r2@remote.example
r3@remote.example
r5@remote.example
refused3@remote.example" "$(for d in "${DUMPS[@]}"; do pf_sink_rcpts "$d"; done | sort)" \
	"5: every recipient delivered exactly once"
t1=$(token_in "$(dump_for r1@remote.example)")
[ "$(dump_for r1@remote.example)" = "$(dump_for refused3@remote.example)" ] &&
	[ "$(dump_for r1@remote.example)" = "$(dump_for r5@remote.example)" ] ||
	t_fail "5: the recipients left are not on the original"
t2=$(token_in "$(dump_for r2@remote.example)")
t3=$(token_in "$(dump_for r3@remote.example)")
t_eq "shared|$t1 tracked|$t2 tracked|$t3 shared|$t1 shared|$t1" \
	"$(for a in $rcpts5; do printf '%s ' "$(row "$a")"; done | sed 's/ $//')" \
	"5: two own tokens, three recipients share the original's"
[ "$t1" != "$t2" ] && [ "$t2" != "$t3" ] && [ "$t1" != "$t3" ] || t_fail "5: tokens not distinct"
grep -q "copy 3 of 4 not re-injected (.*refused3@remote.example.*): the other recipients stay on the original with its token" "$MLOG" ||
	t_fail "5: no log line for the refused copy"
grep -q ": tracked: 5 recipients (split: 2 of 4 copies, 3 sharing the original)" "$MLOG" ||
	t_fail "5: no summary log line"

# --- 6. DSN parameters: the client's, on the original and on the copies
cat >"$T_DIR/dsn.py" <<'EOF'
import smtplib, sys
port, path = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP('127.0.0.1', port, timeout=10, local_hostname='client.example')
s.ehlo('client.example')
code, _ = s.mail('sender@sender.example', ['RET=HDRS', 'ENVID=env-6+2Bx'])
assert code == 250, code
for rcpt, opts in [('dsn1@remote.example', ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;orig1@remote.example']),
                   ('dsn2@remote.example', ['NOTIFY=NEVER']),
                   ('dsn3@remote.example', ['NOTIFY=DELAY,FAILURE', 'ORCPT=rfc822;orig3@remote.example'])]:
    code, _ = s.rcpt(rcpt, opts)
    assert code == 250, (rcpt, code)
code, msg = s.data(open(path, 'rb').read())
assert code == 250, (code, msg)
s.quit()
EOF
message "$T_DIR/in6.eml" dsn-6 "dsn1@remote.example, dsn2@remote.example, dsn3@remote.example" ""
python3 "$T_DIR/dsn.py" "$PF_SMTP_PORT" "$T_DIR/in6.eml" || t_fail "6: DSN submission failed"
deliveries 3
# smtp-sink shows them as Postfix relays them: ENVID before RET, ORCPT before NOTIFY
# (Postfix adds ORCPT=rfc822;<rcpt> where the client gave none, and orders NOTIFY)
for a in dsn1 dsn2 dsn3; do
	t_eq "<sender@sender.example> ENVID=env-6+2Bx RET=HDRS" \
		"$(sed -n 's/^X-Mail-Args: //p' "$(dump_for $a@remote.example)")" \
		"6: MAIL FROM arguments delivered to $a"
done
t_eq "<dsn1@remote.example> ORCPT=rfc822;orig1@remote.example NOTIFY=SUCCESS,FAILURE" \
	"$(sed -n 's/^X-Rcpt-Args: //p' "$(dump_for dsn1@remote.example)")" "6: RCPT arguments (original)"
t_eq "<dsn2@remote.example> ORCPT=rfc822;dsn2@remote.example NOTIFY=NEVER" \
	"$(sed -n 's/^X-Rcpt-Args: //p' "$(dump_for dsn2@remote.example)")" "6: RCPT arguments (copy)"
t_eq "<dsn3@remote.example> ORCPT=rfc822;orig3@remote.example NOTIFY=FAILURE,DELAY" \
	"$(sed -n 's/^X-Rcpt-Args: //p' "$(dump_for dsn3@remote.example)")" "6: RCPT arguments (copy)"

# the reinject smtpd logs the original client and queue id of each copy (XFORWARD)
qid6=$(sed -n 's/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<dsn-6@sender.example>.*/\1/p' "$PF_LOG" | head -n 1)
t_eq 2 "$(grep -c "postfix/reinject/smtpd.*: client=localhost\[127.0.0.1\], orig_queue_id=$qid6, orig_client=localhost\[127.0.0.1\]" "$PF_LOG")" \
	"6: copies logged with the original's queue id $qid6 and client"

# --- 7. a reinject listener that runs the milter too: it passes its own copies
sed -i "s#^  -o smtpd_milters=\$#  -o smtpd_milters=unix:$MDIR/milter.sock#" "$PF_CONF/master.cf"
sed -i 's#^  -o { header_checks = regexp:.*#  -o header_checks=#' "$PF_CONF/master.cf"
grep -q '^  -o header_checks=$' "$PF_CONF/master.cf" || t_fail "7: header strip not found in master.cf"
pf_reload
sleep 0.5
message "$T_DIR/in7.eml" loop-7 "l1@remote.example, l2@remote.example, l3@remote.example" ""
submit "$T_DIR/in7.eml" l1@remote.example,l2@remote.example,l3@remote.example || t_fail "7: refused"
deliveries 3
declare -A seen7=()
for a in l1 l2 l3; do
	d=$(dump_for $a@remote.example)
	headers_of "$d" | grep -q '^X-Beacon-Copy:' && t_fail "7: copy header delivered to $a"
	tok=$(token_in "$d")
	[ ${#tok} = 36 ] && [ -z "${seen7[$tok]:-}" ] || t_fail "7: token of $a"
	seen7[$tok]=1
	t_eq "tracked|$tok" "$(row $a@remote.example)" "7: $a's own token"
done
t_eq 2 "$(grep -c ": untouched: copy of message [0-9a-f-]* (copy header removed)" "$MLOG")" \
	"7: the milter recognised both copies and removed their header"

# --- 8. plain_to_html: a text-only message gets an HTML twin, per recipient
{
	printf 'From: sender@sender.example\nTo: p1@remote.example, p2@remote.example\n'
	printf 'Subject: Plain 8\nMessage-ID: <plain-8@sender.example>\nX-Beacon: track\n'
	printf 'Content-Type: text/plain; charset=us-ascii\n\n'
	printf 'Hello <you> & all,\nsee https://shop.example/spring.\n'
} >"$T_DIR/in8.eml"
submit "$T_DIR/in8.eml" p1@remote.example,p2@remote.example || t_fail "8: refused"
deliveries 2
cat >"$T_DIR/parts.py" <<'PY'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.compat32)
print(m.get_content_type(), len(m.get_all('MIME-Version') or []))
for p in m.walk():
    if not p.is_multipart():
        print(p.get_content_type(), repr(p.get_payload(decode=True).decode()))
PY
for a in p1 p2; do
	pf_sink_message "$(dump_for $a@remote.example)" >"$T_DIR/out8.$a"
	python3 "$T_DIR/parts.py" "$T_DIR/out8.$a" >"$T_DIR/parts8.$a"
	t_eq "multipart/alternative 1" "$(sed -n 1p "$T_DIR/parts8.$a")" "8: $a gets multipart/alternative"
	t_eq "text/plain 'Hello <you> & all,\\nsee https://shop.example/spring.\\n'" \
		"$(sed -n 2p "$T_DIR/parts8.$a")" "8: $a's text part as sent"
	tok=$(grep -o "$BASE/o/[A-Za-z0-9_-]*\.gif" "$T_DIR/parts8.$a" | sed 's#.*/o/##; s#\.gif$##')
	t_eq "tracked|$tok" "$(row $a@remote.example)" "8: $a's twin holds $a's pixel"
	grep -q "Hello &lt;you&gt; &amp; all,<br>.*see <a href=\"$BASE/c/$tok/1/" "$T_DIR/parts8.$a" ||
		{ cat "$T_DIR/parts8.$a" >&2; t_fail "8: $a's twin is not the escaped text with a click URL"; }
	t_eq 1 "$(grep -o "aria-hidden=\"true\"><a href=\"$BASE/c/$tok/0/" "$T_DIR/parts8.$a" | wc -l)" \
		"8: $a's twin holds one hidden link for $a's token, the text part none"
done
t_eq "Plain 8|plain-8@sender.example" "$(pg_query "SELECT subject || '|' || message_id
	FROM beacon.messages WHERE message_id = 'plain-8@sender.example'")" \
	"8: the messages row has the subject and the Message-ID"

# --- 9. other spellings of a suppressed or internal address: a trailing dot, upper case,
# an A-label in upper case; the patterns added with beaconctl in other spellings still
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD \
		"$BEACON_BUILD/beaconctl" -c "$T_DIR/beacon.conf" "$@"
}
t_run ctl suppress add cat@example.org
t_eq "0 added cat@example.org" "$RC $OUT" "9: beaconctl suppress add cat@example.org"
t_run ctl suppress add $'@B\xc3\xbccher.Example.'
t_eq "0 added @xn--bcher-kva.example" "$RC $OUT" "9: beaconctl suppress add an IDN domain as A-labels"
t_run ctl suppress add '<"Cat"@Example.ORG.>'
t_eq "0 cat@example.org was already suppressed" "$RC $OUT" "9: another spelling is the same pattern"
t_run ctl suppress list CAT@example.org.
t_eq "cat@example.org" "$(printf '%s\n' "$OUT" | sed -n 3p | awk '{ print $1 }')" "9: suppress list finds it by another spelling"
sleep 1.5	# suppression_refresh = 1
# excluded9 N ID RCPTS - send message ID to RCPTS; N deliveries; the excluded ones (all but
# the last) get the message as sent, without a token; the last is tracked
excluded9() {
	local n=$1 id=$2 rcpts=$3 last d
	last=${rcpts##*,}
	message "$T_DIR/$id.eml" "$id" "$last" ""
	submit "$T_DIR/$id.eml" "$rcpts" || { cat "$T_DIR/swaks.out" >&2; t_fail "9: $id refused"; }
	deliveries "$n"
	for d in "${DUMPS[@]}"; do
		pf_sink_rcpts "$d" | grep -qxF "$last" && continue
		pf_sink_message "$d" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
			skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/$id.out"
		grep -v '^X-Beacon:' "$T_DIR/$id.eml" | cmp -s - "$T_DIR/$id.out" ||
			{ diff "$T_DIR/$id.eml" "$T_DIR/$id.out" >&2; t_fail "9: $id: $(pf_sink_rcpts "$d" | tr '\n' ' ')got a changed message"; }
		grep -q "$BASE/o/" "$T_DIR/$id.out" && t_fail "9: $id: a pixel delivered to $(pf_sink_rcpts "$d")"
	done
	tok=$(token_in "$(dump_for "$last")")
	[ ${#tok} = 36 ] || t_fail "9: $id: $last not tracked"
}
# rows9 ID - "address|status|token" of message ID's rows
rows9() {
	pg_query "SELECT string_agg(r.address || '|' || r.status || '|' || coalesce(r.token, ''), ' '
		ORDER BY r.address) FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
		WHERE m.message_id = '$1@sender.example'"
}
excluded9 2 dot-9 "cat@example.org.,CAT@Example.ORG,info@XN--BCHER-KVA.example.,gina9@corp.example.,Gina9@CORP.Example,ann9@remote.example"
t_ok "9: <cat@example.org.>, <CAT@Example.ORG>, <info@XN--BCHER-KVA.example.>, <gina9@corp.example.>, <Gina9@CORP.Example> delivered as sent, no pixel"
t_eq "ann9@remote.example|tracked|$tok cat@example.org|suppressed| gina9@corp.example|internal| info@xn--bcher-kva.example|suppressed|" \
	"$(rows9 dot-9)" "9: rows suppressed and internal, no token, one per mailbox, in their one form"
# --- 10. the reinject smtpd refuses every client but the milter's address
python3 - "$RPORT" >"$T_DIR/reinject9.out" 2>&1 <<'PY' || { cat "$T_DIR/reinject9.out" >&2; t_fail "10: no session from 127.0.0.2"; }
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), source_address=('127.0.0.2', 0), timeout=10)
s.ehlo('outsider.example')
print('xforward offered' if s.has_extn('xforward') else 'no xforward')
print('XFORWARD', s.docmd('XFORWARD', 'ADDR=192.0.2.66 NAME=forged.example')[0])
print('MAIL', s.docmd('MAIL', 'FROM:<x@outsider.example>')[0])
print('RCPT', s.docmd('RCPT', 'TO:<victim@remote.example>')[0])
s.quit()
PY
grep -qx 'no xforward' "$T_DIR/reinject9.out" || { cat "$T_DIR/reinject9.out" >&2; t_fail "10: XFORWARD offered to 127.0.0.2"; }
grep -q '^XFORWARD 5' "$T_DIR/reinject9.out" || { cat "$T_DIR/reinject9.out" >&2; t_fail "10: XFORWARD from 127.0.0.2 accepted"; }
grep -q '^RCPT 5' "$T_DIR/reinject9.out" || { cat "$T_DIR/reinject9.out" >&2; t_fail "10: a recipient from 127.0.0.2 accepted"; }
t_ok "10: reinject smtpd: 127.0.0.2 gets no XFORWARD and no recipient ($(tr '\n' ' ' <"$T_DIR/reinject9.out"))"

# --- 11. a copy sent again by its recipient, on the normal port, with a new body and a tag
sed -i "s#^  -o smtpd_milters=unix:$MDIR/milter.sock\$#  -o smtpd_milters=#" "$PF_CONF/master.cf"
pf_reload
sleep 0.5
message "$T_DIR/in10.eml" replay-10 "v1@remote.example, v2@remote.example" ""
submit "$T_DIR/in10.eml" v1@remote.example,v2@remote.example || t_fail "11: refused"
deliveries 2
pf_sink_message "$(dump_for v2@remote.example)" >"$T_DIR/copy10.eml"
grep -q "^X-Beacon-Copy: [0-9a-f-]\{36\}; [A-Za-z0-9_-]\{15\}\$" "$T_DIR/copy10.eml" ||
	t_fail "11: the copy was not delivered with its copy header"
{
	sed '/^$/q' "$T_DIR/copy10.eml" | awk '/^[^ \t]/ { rcvd = /^Received:/ } !rcvd && !/^$/'
	printf 'X-Beacon: track\n\n'
	printf '<html><body><p>Changed</p><a href="https://evil.example/phish">pay</a></body></html>\n'
} >"$T_DIR/replay10.eml"
submit "$T_DIR/replay10.eml" v2@remote.example || t_fail "11: replay refused"
deliveries 1
d=$(dump_for v2@remote.example)
headers_of "$d" | grep -qi '^X-Beacon-Copy:' && t_fail "11: the replayed copy header was delivered"
tok=$(token_in "$d" || true)
[ ${#tok} = 36 ] || { pf_sink_message "$d" >&2; t_fail "11: the replayed copy passed untracked"; }
pf_sink_message "$d" | grep -q "evil.example/phish\"" &&
	t_fail "11: the replayed link went out as it was"
t_eq "tracked|$tok" "$(row v2@remote.example)" "11: the replay is a new tracked message for v2"
grep -q ": X-Beacon-Copy header not from the reinject listener: removed, treated as a new message" "$MLOG" ||
	t_fail "11: no log line for the replayed copy header"
t_ok "11: a replayed copy header is removed and the message processed as any other"

# --- the milter ends cleanly, without sanitizer reports
t_kill_pid "$MPID" TERM 15
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MLOG" >/dev/null; then
	cat "$MLOG" >&2
	t_fail "sanitizer report in the milter log"
fi
t_ok "no sanitizer report"
