#!/bin/bash
# NAME
#	17_bounces.sh - bounces of tracked messages end to end: private Postfix
#	with the milter on smtpd and on its own bounces
#	(internal_mail_filter_classes = bounce), a throwaway PostgreSQL
#
# DESCRIPTION
#	One PostgreSQL, one beacon-milter ([milter] bounces = yes,
#	suppression_refresh = 1), one Postfix relaying to smtp-sink, and a
#	second smtp-sink that refuses every RCPT with a 5xx (the domain
#	dead.example is routed there by transport_maps):
#
#	1. a tracked message to gone@dead.example: Postfix's own bounce goes
#	   through the milter and is delivered to the sender byte for byte
#	   as the milter saw it; exactly one bounces row for the recipient's
#	   token, hard, status 5.3.0 (listed in bounce_suppress_status here),
#	   one events row of kind bounce, and the suppression (sender '',
#	   source bounce);
#	2. a remote MTA's RFC 3464 report (null sender, by SMTP) for another
#	   tracked recipient, the returned message's headers only: found by
#	   Message-ID and address; its row hard 5.1.1 and the suppression;
#	   the same report sent again adds nothing;
#	3. a delay report (4.4.1) whose returned message has no Message-ID
#	   but the recipient's pixel: found by the token; a soft row, no
#	   suppression;
#	4. the next tagged message to the address of case 2 gets no token
#	   (no pixel, untouched: no trackable recipient);
#	5. a remote report of a 5.7.1 policy refusal: recorded hard 5.7.1,
#	   no suppression (the address is not dead);
#	6. forged reports from a client that is not trusted (XCLIENT
#	   192.0.2.66, which Postfix accepts mail for sender.example from)
#	   about a message split to amy and bob: one naming bob with only the
#	   Message-ID, one carrying amy's own pixel and naming bob: no bounces
#	   row, no suppression; the first logs "names rows it carries no token
#	   of: ignored" (the milter cannot tell the second's address is not
#	   amy's: the database drops it; its line says "untrusted client");
#	   and the first one again from 127.0.0.2, which may ask for tracking
#	   (trusted_networks) but is not in bounce_trusted_networks (only
#	   127.0.0.1 here, where Postfix's own bounces come from): ignored too.
#	The milter's log must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"

pg_start
pg_schema

DUMPDIR=$T_DIR/dsn-seen
mkdir -p "$DUMPDIR"
chown postfix: "$DUMPDIR"
export BEACON_TEST_DSN_DIR=$DUMPDIR

# the sink that refuses every recipient, for dead.example
DEAD_PORT=$(t_free_port)
mkdir -p "$T_DIR/dead"
smtp-sink -u postfix -f RCPT "127.0.0.1:$DEAD_PORT" 16 </dev/null >"$T_DIR/dead.out" 2>&1 &
DEAD_PID=$!
t_on_exit "t_kill_pid $DEAD_PID TERM 5"
t_wait_port "$DEAD_PORT" 5 || t_fail "refusing smtp-sink not listening"

# the milter's paths first (Postfix needs its socket), its reinject port once Postfix has one
bc_milter_config
PF_MILTER=unix:$BC_MSOCK
# the test speaks for an untrusted client by XCLIENT; sender.example is a domain this MX
# takes mail for from anybody
PF_EXTRA_MAINCF="transport_maps = inline:{ dead.example=smtp:[127.0.0.1]:$DEAD_PORT }
internal_mail_filter_classes = bounce
smtpd_authorized_xclient_hosts = 127.0.0.1
relay_domains = sender.example
smtpd_relay_restrictions = permit_mynetworks, permit_auth_destination, reject"
PF_REINJECT=1 pf_start
# the refusing smtp-sink's status is 5.3.0, which is no dead address by default: listed here,
# with 5.1.1 of case 2 (and not 5.7.1, case 5)
bc_milter_config '[milter]' 'bounces = yes' 'suppression_refresh = 1' 'per_recipient = split' \
	"reinject = inet:$PF_REINJECT_PORT@127.0.0.1" 'bounce_suppress_status = 5.1.*, 5.3.0' \
	'bounce_trusted_networks = 127.0.0.1/32'
bc_milter_start

NSEEN=0
# deliveries N - wait for N more sink dumps; DUMPS: their paths
deliveries() {
	pf_wait_delivered $((NSEEN + $1)) 10 ||
		{ tail -n 20 "$BC_MLOG" >&2; pf_show_log_; t_fail "not $1 more deliveries in 10 s"; }
	mapfile -t DUMPS < <(pf_sink_files | tail -n "+$((NSEEN + 1))")
	NSEEN=$((NSEEN + $1))
}

# send FROM TO FILE - swaks FILE by SMTP
send() {
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from "$1" --to "$2" --data "@$3" \
		--silent 2 >"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" >&2; t_fail "swaks $3"; }
}

# tracked FILE ID TO - a tagged HTML message
tracked() {
	printf '%s\n' "From: News <news@sender.example>" "To: $3" "Subject: Letter $2" \
		"Date: Mon, 23 Nov 2026 10:00:00 +0000" "Message-ID: <$2@sender.example>" \
		"X-Beacon: track" "MIME-Version: 1.0" "Content-Type: text/html; charset=utf-8" "" \
		"<html><body><p>Hello</p></body></html>" >"$1"
}

# bounces TOKEN_ID - "hard|status" of the token's bounces rows, one a line
bounces() {
	pg_query "SELECT hard || '|' || status FROM beacon.bounces WHERE token_id = '$1' ORDER BY at"
}

# token_id ADDR - the token_id of ADDR's newest recipients row
token_id() {
	pg_query "SELECT r.token_id FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
		WHERE r.address = '$1' ORDER BY m.sent_at DESC LIMIT 1"
}

# suppression ADDR - "sender|source" of ADDR's suppressions
suppression() {
	pg_query "SELECT sender || '|' || source FROM beacon.suppressions WHERE pattern = '$1'"
}

# --- 1. Postfix's own bounce through the milter
tracked "$T_DIR/m1.eml" b1 gone@dead.example
send news@sender.example gone@dead.example "$T_DIR/m1.eml"
deliveries 1
d=${DUMPS[0]}
t_eq "" "$(pf_sink_mail_from "$d")" "1: the bounce's envelope sender"
t_eq news@sender.example "$(pf_sink_rcpts "$d")" "1: the bounce's recipient"
pf_sink_message "$d" | grep -q '^Content-Type: multipart/report; report-type=delivery-status;' ||
	t_fail "1: not a report"
t1=$(token_id gone@dead.example)
[ -n "$t1" ] || t_fail "1: no recipients row for gone@dead.example"
t_wait_until "[ -n \"\$(bounces $t1)\" ]" 5 || { tail "$BC_MLOG" >&2; t_fail "1: no bounces row"; }
b=$(bounces "$t1")
case $b in
true\|5.*.*) t_ok "1: one hard bounce with status ${b#*|}" ;;
*) t_fail "1: bounces rows: $b" ;;
esac
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.bounces")" "1: bounces rows"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.events WHERE kind = 'bounce' AND token_id = '$t1'")" \
	"1: bounce events"
t_eq "|bounce" "$(suppression gone@dead.example)" "1: suppression (every sender, source bounce)"
seen=$(ls "$DUMPDIR")
[ "$(printf '%s\n' "$seen" | wc -l)" = 1 ] || t_fail "1: the milter saw $(printf '%s\n' "$seen" | wc -l) reports"
# delivered_report - the delivered report without the Received: header Postfix adds in
# front and never shows a milter
delivered_report() {
	pf_sink_message "$d" | awk 'NR == 1 && /^Received: by mx\.beacon-test\.example/ { skip = 1; next }
		skip && /^[ \t]/ { next } { skip = 0; print }'
}
if ! cmp -s <(tr -d '\r' <"$DUMPDIR/$seen") <(delivered_report); then
	diff <(tr -d '\r' <"$DUMPDIR/$seen") <(delivered_report) | head -n 20 >&2
	t_fail "1: the report delivered is not what the milter saw"
fi
t_ok "1: the report delivered byte for byte as the milter saw it"
grep -q "delivery status notification (rfc3464): 1 hard, 0 soft bounce, 1 dead, returned message found, token verified, recorded" "$BC_MLOG" ||
	{ tail -n 5 "$BC_MLOG" >&2; t_fail "1: no log line"; }

# --- 2. a remote report by SMTP (null sender), the returned headers only
tracked "$T_DIR/m2.eml" b2 ann@remote.example
send news@sender.example ann@remote.example "$T_DIR/m2.eml"
deliveries 1
t2=$(token_id ann@remote.example)
cat >"$T_DIR/dsn2.eml" <<'EOF'
From: Mail Delivery Subsystem <mailer-daemon@mx.remote.example>
To: news@sender.example
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-2@mx.remote.example>
Date: Mon, 23 Nov 2026 10:05:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r2"

--r2
Content-Type: text/plain

The mailbox of ann@remote.example no longer exists.

--r2
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example

Final-Recipient: rfc822; ann@remote.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist

--r2
Content-Type: text/rfc822-headers

From: News <news@sender.example>
To: ann@remote.example
Subject: Letter b2
Message-ID: <b2@sender.example>

--r2--
EOF
send '<>' news@sender.example "$T_DIR/dsn2.eml"
deliveries 1
t_wait_until "[ -n \"\$(bounces $t2)\" ]" 5 || { tail "$BC_MLOG" >&2; t_fail "2: no bounces row"; }
t_eq "true|5.1.1" "$(bounces "$t2")" "2: remote report: hard 5.1.1"
t_eq "|bounce" "$(suppression ann@remote.example)" "2: suppression"
send '<>' news@sender.example "$T_DIR/dsn2.eml"
deliveries 1
t_eq "true|5.1.1" "$(bounces "$t2")" "2: the same report again adds nothing"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.events WHERE kind = 'bounce' AND token_id = '$t2'")" \
	"2: bounce events"

# --- 3. a delay report found by the token of the returned message's pixel
tracked "$T_DIR/m3.eml" b3 slow@remote.example
send news@sender.example slow@remote.example "$T_DIR/m3.eml"
deliveries 1
pixel=$(pf_sink_message "${DUMPS[0]}" | grep -o "$BC_BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1)
[ -n "$pixel" ] || t_fail "3: no pixel in the tracked message"
t3=$(token_id slow@remote.example)
cat >"$T_DIR/dsn3.eml" <<EOF
From: postmaster@relay.remote.example
To: news@sender.example
Subject: Delayed Mail (still being retried)
Message-ID: <dsn-3@relay.remote.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r3"

--r3
Content-Type: text/plain

Delivery is delayed.

--r3
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.remote.example

Final-Recipient: rfc822; slow@elsewhere.example
Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; 421 4.4.1 Connection timed out

--r3
Content-Type: message/rfc822

From: News <news@sender.example>
To: slow@remote.example
Subject: Letter b3
Content-Type: text/html

<html><body><img src="$pixel"></body></html>

--r3--
EOF
send '<>' news@sender.example "$T_DIR/dsn3.eml"
deliveries 1
t_wait_until "[ -n \"\$(bounces $t3)\" ]" 5 || { tail "$BC_MLOG" >&2; t_fail "3: no bounces row"; }
t_eq "false|4.4.1" "$(bounces "$t3")" "3: delay report found by the token: soft 4.4.1"
t_eq "" "$(suppression slow@remote.example)" "3: no suppression for a soft bounce"

# --- 4. the hard-bounced address of case 2 gets no token any more
sleep 1.2	# suppression_refresh
tracked "$T_DIR/m4.eml" b4 ann@remote.example
send news@sender.example ann@remote.example "$T_DIR/m4.eml"
deliveries 1
if pf_sink_message "${DUMPS[0]}" | grep -q "$BC_BASE/o/"; then
	t_fail "4: the suppressed address got a pixel"
fi
t_eq 1 "$(grep -c 'untouched: no trackable recipient' "$BC_MLOG")" "4: the milter left it untracked"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.messages WHERE message_id = 'b4@sender.example'")" \
	"4: no rows for it"

# report FILE MID ADDR STATUS [RETURNED] - a remote RFC 3464 report about ADDR (STATUS) of
# the message MID; RETURNED: the returned message (message/rfc822), else its headers only
report() {
	{
		printf '%s\n' "From: Mail Delivery Subsystem <mailer-daemon@mx.remote.example>" \
			"To: news@sender.example" "Subject: Delivery Status Notification (Failure)" \
			"Message-ID: <dsn-$(basename "$1" .eml)@mx.remote.example>" "MIME-Version: 1.0" \
			'Content-Type: multipart/report; report-type=delivery-status; boundary="rr"' "" \
			"--rr" "Content-Type: text/plain" "" "Not delivered." "" \
			"--rr" "Content-Type: message/delivery-status" "" \
			"Reporting-MTA: dns; mx.remote.example" "" "Final-Recipient: rfc822; $3" \
			"Action: failed" "Status: $4" "Diagnostic-Code: smtp; 550 $4 refused" "" "--rr"
		if [ -n "${5:-}" ]; then
			printf '%s\n' "Content-Type: message/rfc822" "" "From: News <news@sender.example>" \
				"To: $3" "Content-Type: text/html" "" "$5" ""
		else
			printf '%s\n' "Content-Type: text/rfc822-headers" "" \
				"From: News <news@sender.example>" "To: $3" "Message-ID: <$2@sender.example>" ""
		fi
		printf '%s\n' "--rr--"
	} >"$1"
}

# --- 5. a policy refusal (5.7.1): recorded hard, the address stays tracked
tracked "$T_DIR/m5.eml" b5 pol@remote.example
send news@sender.example pol@remote.example "$T_DIR/m5.eml"
deliveries 1
t5=$(token_id pol@remote.example)
report "$T_DIR/dsn5.eml" b5 pol@remote.example 5.7.1
send '<>' news@sender.example "$T_DIR/dsn5.eml"
deliveries 1
t_wait_until "[ -n \"\$(bounces $t5)\" ]" 5 || { tail "$BC_MLOG" >&2; t_fail "5: no bounces row"; }
t_eq "true|5.7.1" "$(bounces "$t5")" "5: a 5.7.1 report: hard 5.7.1"
t_eq "" "$(suppression pol@remote.example)" "5: no suppression for a policy refusal"
grep -q "1 hard, 0 soft bounce, 0 dead, returned message found" "$BC_MLOG" ||
	{ tail -n 5 "$BC_MLOG" >&2; t_fail "5: not logged as 0 dead"; }

# --- 6. forged reports from an untrusted client about amy's co-recipient bob
printf '%s\n' "From: News <news@sender.example>" "To: amy@remote.example, bob@remote.example" \
	"Subject: Letter b6" "Date: Mon, 23 Nov 2026 10:00:00 +0000" "Message-ID: <b6@sender.example>" \
	"X-Beacon: track" "MIME-Version: 1.0" "Content-Type: text/html; charset=utf-8" "" \
	"<html><body><p>Hello both</p></body></html>" >"$T_DIR/m6.eml"
swaks --server "127.0.0.1:$PF_SMTP_PORT" --from news@sender.example \
	--to amy@remote.example,bob@remote.example --data "@$T_DIR/m6.eml" --silent 2 \
	>"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" >&2; t_fail "swaks m6"; }
deliveries 2
amy_pixel=
for f in "${DUMPS[@]}"; do
	[ "$(pf_sink_rcpts "$f")" = amy@remote.example ] &&
		amy_pixel=$(pf_sink_message "$f" | grep -o "$BC_BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1)
done
[ -n "$amy_pixel" ] || t_fail "6: no pixel in amy's copy"
t6=$(token_id bob@remote.example)
[ -n "$t6" ] || t_fail "6: no recipients row for bob"
nb=$(pg_query "SELECT count(*) FROM beacon.bounces")
nlog=$(grep -c "bounce report from a client outside bounce_trusted_networks names rows it carries no token of: ignored" "$BC_MLOG" || true)
# forged FILE [ADDR] - send FILE with the null sender as the client ADDR (192.0.2.66)
forged() {
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --xclient-addr "${2:-192.0.2.66}" \
		--xclient-name mx.forger.example --from '<>' --to news@sender.example --data "@$1" \
		--silent 2 >"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" >&2; t_fail "swaks $1"; }
}
report "$T_DIR/dsn6a.eml" b6 bob@remote.example 5.1.1
forged "$T_DIR/dsn6a.eml"
deliveries 1
report "$T_DIR/dsn6b.eml" b6 bob@remote.example 5.1.1 "<html><body><img src=\"$amy_pixel\"></body></html>"
forged "$T_DIR/dsn6b.eml"
deliveries 1
# 127.0.0.2 is in trusted_networks (it may ask for tracking) but not in
# bounce_trusted_networks: its hearsay about bob counts no more than the Internet's
report "$T_DIR/dsn6c.eml" b6 bob@remote.example 5.1.1
forged "$T_DIR/dsn6c.eml" 127.0.0.2
deliveries 1
t_wait_until "[ \$(grep -c 'untouched: delivery status notification' \"\$BC_MLOG\") -ge 8 ]" 5 ||
	{ tail -n 5 "$BC_MLOG" >&2; t_fail "6: the milter did not see both reports"; }
sleep 0.5	# the store's write of a report that should not be there
t_eq "$nb" "$(pg_query "SELECT count(*) FROM beacon.bounces")" "6: no bounces row from a forged report"
t_eq "" "$(bounces "$t6")" "6: none for bob"
t_eq "" "$(suppression bob@remote.example)" "6: bob not suppressed"
t_eq "" "$(suppression amy@remote.example)" "6: amy not suppressed"
t_eq $((nlog + 2)) "$(grep -c "bounce report from a client outside bounce_trusted_networks names rows it carries no token of: ignored" "$BC_MLOG")" \
	"6: the two reports without a token (from 192.0.2.66 and 127.0.0.2) logged as ignored"
grep -q "token verified, untrusted client: its own token's row only, recorded" "$BC_MLOG" ||
	{ tail -n 5 "$BC_MLOG" >&2; t_fail "6: the report with amy's token not logged as untrusted"; }

bc_no_sanitizer "$BC_MLOG"
