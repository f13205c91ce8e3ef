#!/bin/bash
# NAME
#	41_fault_milter_kill.sh - beacon-milter SIGKILLed mid-stream: Postfix
#	delivers every message, untouched once the filter is gone
#
# DESCRIPTION
#	120 tagged messages flow over 4 SMTP sessions; the milter is
#	SIGKILLed after about 30 deliveries.  With milter_default_action =
#	accept (set here for this first part only: contrib/ tells Postfix
#	tempfail), every message is accepted and
#	delivered exactly once: either tracked (pixel token = the stored
#	recipient row's token) or byte for byte as submitted (the X-Beacon
#	header still in it); nothing stays queued or deferred.  At most the
#	messages in flight at the kill may have rows without a tracked
#	delivery (the milter wrote them, Postfix never got its reply).  A
#	new milter started over the socket the killed one left behind
#	tracks mail again.
#
#	Then the split, with milter_default_action = tempfail (as contrib/
#	tells Postfix for per_recipient = split) and a reinject smtpd:
#	KILLS times a message to two recipients is submitted, the milter
#	stops itself right after the copy for the second recipient is queued
#	and remembered (BEACON_TEST_STOP_AFTER_COPY), before the original is
#	answered, and is SIGKILLed there; the client sees 451, the milter is
#	restarted and the client sends the same message again, which is
#	accepted.  Every recipient gets exactly one delivery, every delivered
#	token has exactly one recipient row and every row's token was
#	delivered.
#
#	Not covered: the kill lands after the copy's id was synced to the
#	copy log (the safe side).  A kill between the copy's final dot and
#	that sync (the window in which the copy is sent twice) is not
#	tested; the test only measures that window (median and widest gap
#	between the final dot and the fdatasync, printed) and cannot fail
#	because of it.
#
#	Then a message WITHOUT a Message-ID, killed the same way: Postfix
#	adds a Message-Id holding the queue id (a new one per try), so the
#	milter logs that the split is not retry-safe, uses random ids and
#	does not consult the copy log; every recipient gets it at least
#	once (the copy twice at most), and every delivered token has its
#	row.  Last, a message carrying 30,000
#	X-Beacon-Copy headers to two recipients is accepted at once, no
#	header edited, and each recipient gets it exactly once.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
N=120
CONNS=4

pg_start
pg_schema
bc_milter_config 'statement_timeout = 1000'
bc_milter_start
PF_MILTER=unix:$BC_MSOCK pf_start

bc_send "$N" m -c "$CONNS" --delay-ms 30 -o "$T_DIR/sent.m" >"$T_DIR/send.m" &
sender=$!
t_on_exit "t_kill_pid $sender TERM 5"
t_wait_until "[ \$(find '$PF_SINK_DIR' -type f | wc -l) -ge 30 ]" 60 ||
	t_fail "not even 30 delivered in 60 s"
at_kill=$(find "$PF_SINK_DIR" -type f | wc -l)
bc_milter_kill
t_ok "beacon-milter SIGKILLed after $at_kill of $N deliveries"
wait "$sender" || t_fail "the SMTP client failed"
t_eq "accepted $N of $N" "$(cut -d, -f1 "$T_DIR/send.m")" "every message accepted (none temp-failed)"
pf_wait_delivered "$N" 60 || t_fail "$(pf_sink_count) of $N delivered"
sleep 1		# a message delivered twice would show now
bc_sink_scan >"$T_DIR/scan.m"
t_eq "$N" "$(wc -l <"$T_DIR/scan.m")" "deliveries"
t_eq "$N" "$(cut -d' ' -f1 "$T_DIR/scan.m" | sort -u | grep -c '^m[0-9]*@remote.example$')" \
	"each message delivered exactly once"
t_eq 0 "$(pf_queue_count)" "messages left in the Postfix queue"
tracked=$(awk '$2 != "-"' "$T_DIR/scan.m" | wc -l)
untouched=$(awk '$2 == "-" && $3 == "identical"' "$T_DIR/scan.m" | wc -l)
t_eq "$N" "$((tracked + untouched))" "deliveries tracked ($tracked) or byte-identical ($untouched)"
[ "$tracked" -ge 20 ] || t_fail "only $tracked tracked before the kill"
# (messages the milter had finished but Postfix had not yet delivered at
# the kill are tracked too: half of the rest is a safe floor)
[ "$untouched" -ge $(((N - at_kill) / 2)) ] ||
	t_fail "only $untouched delivered untouched after the kill"
grep -qF "warning: milter unix:$BC_MSOCK: " "$PF_LOG" ||
	t_fail "Postfix did not log losing the milter"
t_ok "Postfix logged the lost milter and applied milter_default_action = accept"

# tracked deliveries have their row, with their token, once
pg_query "SELECT address || ' ' || token FROM beacon.recipients WHERE address LIKE 'm%'" |
	sort >"$T_DIR/db.m"
awk '$2 != "-" { print $1, $2 }' "$T_DIR/scan.m" | sort >"$T_DIR/want.m"
missing=$(comm -23 "$T_DIR/want.m" "$T_DIR/db.m" | wc -l)
t_eq 0 "$missing" "tracked deliveries without their recipient row"
t_eq "$(wc -l <"$T_DIR/db.m")" "$(cut -d' ' -f1 "$T_DIR/db.m" | sort -u | wc -l)" \
	"recipient rows, each address once"
extra=$(($(wc -l <"$T_DIR/db.m") - tracked))
[ "$extra" -le "$CONNS" ] || t_fail "$extra rows of messages that were not delivered tracked"
t_ok "$extra rows of messages in flight at the kill (at most $CONNS)"
bc_no_sanitizer "$BC_MLOG"

# a new milter takes over the stale socket and tracks again
bc_milter_start
bc_send 10 r -c 2 -o "$T_DIR/sent.r" >"$T_DIR/send.r"
t_eq "accepted 10 of 10" "$(cut -d, -f1 "$T_DIR/send.r")" "after the restart: accepted"
pf_wait_delivered $((N + 10)) 30 || t_fail "after the restart: not delivered"
bc_sink_scan | awk '$1 ~ /^r/' >"$T_DIR/scan.r"
t_eq 0 "$(awk '$2 == "-"' "$T_DIR/scan.r" | wc -l)" "after the restart: messages untracked"
t_eq 10 "$(pg_query "SELECT count(*) FROM beacon.recipients WHERE address LIKE 'r%'")" \
	"after the restart: recipient rows"
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"

# --- the split: killed after a copy left, before the original was answered
KILLS=10
RPORT=$(t_free_port)
printf '%s\n' "127.0.0.1:$RPORT inet n - n - - smtpd" "  -o syslog_name=postfix/reinject" \
	"  -o smtpd_milters=" "  -o non_smtpd_milters=" "  -o content_filter=" >>"$PF_CONF/master.cf"
sed -i 's/^milter_default_action = .*/milter_default_action = tempfail/' "$PF_CONF/main.cf"
pf_reload
t_wait_port "$RPORT" 10 || t_fail "reinject smtpd not listening on $RPORT"
bc_milter_config 'statement_timeout = 1000' '[milter]' "reinject = inet:$RPORT@127.0.0.1"
export BEACON_TEST_STOP_AFTER_COPY=1
BC_MILTER_ARGS=-d

# split_msg I - a tagged HTML message to k<I>a and k<I>b
split_msg() {
	printf 'From: sender@sender.example\nTo: k%sa@remote.example, k%sb@remote.example\n' "$1" "$1"
	printf 'Subject: kill %s\nMessage-ID: <kill-%s@sender.example>\nX-Beacon: track\n' "$1" "$1"
	printf 'Date: Sat, 05 Dec 2026 10:00:00 +0000\n'	# else the MTA adds a new one per try
	printf 'MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n'
	printf '<html><body><p>Kill %s</p><a href="https://shop.example/k">k</a></body></html>\n' "$1"
}
# split_send I - submit message I; swaks' status
split_send() {
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example \
		--to "k$1a@remote.example,k$1b@remote.example" --data "@$T_DIR/kill.$1" \
		--silent 2 >"$T_DIR/kill.$1.out" 2>&1
}
base=$(pf_sink_count)
started=$SECONDS
bc_milter_start
for i in $(seq 1 "$KILLS"); do
	split_msg "$i" >"$T_DIR/kill.$i"
	split_send "$i" &
	client=$!
	t_wait_until "[ \"\$(awk '{ print \$3 }' /proc/$BC_MPID/stat 2>/dev/null)\" = T ]" 20 ||
		{ tail -n 20 "$BC_MLOG" >&2; t_fail "kill $i: the milter did not stop after the copy"; }
	bc_milter_kill
	if wait "$client"; then
		t_fail "kill $i: accepted although the milter died before answering"
	fi
	grep -q "<\*\* *451" "$T_DIR/kill.$i.out" || { cat "$T_DIR/kill.$i.out" >&2; t_fail "kill $i: no 451"; }
	bc_milter_start
	split_send "$i" || { cat "$T_DIR/kill.$i.out" >&2; t_fail "kill $i: the retry was refused"; }
done
t_ok "$KILLS times killed after the copy left: the client got 451, its retry 250 ($((SECONDS - started)) s)"
pf_wait_delivered $((base + 2 * KILLS)) 30 || t_fail "split: $(($(pf_sink_count) - base)) of $((2 * KILLS)) delivered"
sleep 1		# a second delivery would show now
bc_sink_scan | awk '$1 ~ /^k[0-9]+[ab]@/' | sort >"$T_DIR/scan.k"
t_eq "$((2 * KILLS))" "$(wc -l <"$T_DIR/scan.k")" "split: deliveries"
t_eq "$((2 * KILLS))" "$(cut -d' ' -f1 "$T_DIR/scan.k" | sort -u | wc -l)" \
	"split: recipients delivered (each exactly once)"
t_eq 0 "$(awk '$2 == "-"' "$T_DIR/scan.k" | wc -l)" "split: deliveries without a token"
pg_query "SELECT address || ' ' || coalesce(token, '-') FROM beacon.recipients
	WHERE address ~ '^k[0-9]+[ab]@'" | sort >"$T_DIR/db.k"
awk '{ print $1, $2 }' "$T_DIR/scan.k" >"$T_DIR/want.k"
diff "$T_DIR/want.k" "$T_DIR/db.k" >&2 ||
	t_fail "split: the rows are not exactly one per delivered token"
t_ok "split: one row per delivered token, no row for a token never delivered"
t_eq 0 "$(pf_queue_count)" "split: messages left in the queue"
sed -n 's/.*: copy [0-9]* remembered \([0-9]*\) us after its final dot.*/\1/p' "$BC_MLOG" |
	sort -n >"$T_DIR/window"
[ "$(wc -l <"$T_DIR/window")" = "$KILLS" ] || t_fail "split: not $KILLS copy windows measured"
t_ok "split: window between a copy's final dot and its id on disk: median $(sed -n "$((KILLS / 2))p" "$T_DIR/window") us, widest $(tail -n 1 "$T_DIR/window") us"
bc_no_sanitizer "$BC_MLOG"

# --- no Message-ID: the MTA adds one per try, so a retry is a new message: never lost
nomsg=$T_DIR/kill.nomsgid
split_msg nomsgid | sed '/^Message-ID:/d' >"$nomsg"
sed -i 's/\bk\(nomsgid[ab]\)@/\1@/g' "$nomsg"
nomsg_send() {
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example \
		--to "nomsgida@remote.example,nomsgidb@remote.example" --data "@$nomsg" \
		--silent 2 >"$nomsg.out" 2>&1
}
nbase=$(pf_sink_count)
nomsg_send &
client=$!
t_wait_until "[ \"\$(awk '{ print \$3 }' /proc/$BC_MPID/stat 2>/dev/null)\" = T ]" 20 ||
	{ tail -n 20 "$BC_MLOG" >&2; t_fail "no Message-ID: the milter did not stop after the copy"; }
bc_milter_kill
wait "$client" && t_fail "no Message-ID: accepted although the milter died before answering"
# the retry sends its copy again (new ids): this milter must not stop after it
BEACON_TEST_STOP_AFTER_COPY=0 bc_milter_start
nomsg_send || { cat "$nomsg.out" >&2; t_fail "no Message-ID: the retry was refused"; }
pf_wait_delivered $((nbase + 2)) 30 || t_fail "no Message-ID: not delivered"
sleep 1		# a second copy would show now
bc_sink_scan | awk '$1 ~ /^nomsgid[ab]@/' | sort >"$T_DIR/scan.n"
for r in nomsgida nomsgidb; do
	n=$(grep -c "^$r@" "$T_DIR/scan.n" || true)
	[ "$n" -ge 1 ] || t_fail "no Message-ID: $r lost (retried after a kill)"
	[ "$n" -le 2 ] || t_fail "no Message-ID: $r delivered $n times"
done
t_eq 0 "$(awk '$2 == "-"' "$T_DIR/scan.n" | wc -l)" "no Message-ID: deliveries without a token"
pg_query "SELECT token FROM beacon.recipients WHERE address ~ '^nomsgid[ab]@'" | sort >"$T_DIR/db.n"
t_eq "" "$(awk '{ print $2 }' "$T_DIR/scan.n" | sort | comm -23 - "$T_DIR/db.n")" \
	"no Message-ID: delivered tokens without their row"
grep -q ": split not retry-safe (" "$BC_MLOG" ||
	t_fail "no Message-ID: the log does not say the split is not retry-safe"
t_ok "no Message-ID, killed after the copy: every recipient delivered ($(wc -l <"$T_DIR/scan.n") deliveries for 2), logged: $(sed -n 's/.*: split not retry-safe (\(.*\)): a retry .*/\1/p' "$BC_MLOG" | sort -u | tr '\n' ';')"
bc_no_sanitizer "$BC_MLOG"

# --- 30,000 forged copy headers: accepted once, nothing edited, one delivery each
unset BEACON_TEST_STOP_AFTER_COPY
bc_milter_kill
bc_milter_start
hbase=$(pf_sink_count)
python3 - "$PF_SMTP_PORT" <<'PY' || t_fail "the message with 30,000 copy headers was not accepted"
import smtplib, sys
hdrs = ''.join('X-Beacon-Copy: 0b5c1d1e-9a6f-4f4e-8c38-0d0f4a4d2c11; AAAAAAAAAAAAAA%d\r\n' % i
               for i in range(30000))
msg = ('From: evil@sender.example\r\nTo: h1@remote.example, h2@remote.example\r\n'
       'Subject: headers\r\nMessage-ID: <headers@sender.example>\r\nX-Beacon: track\r\n' + hdrs +
       'MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<html><body>hi</body></html>\r\n')
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=60)
s.sendmail('evil@sender.example', ['h1@remote.example', 'h2@remote.example'], msg)
s.quit()
PY
pf_wait_delivered $((hbase + 1)) 30 || t_fail "headers: not delivered"
sleep 1
t_eq "h1@remote.example h2@remote.example" \
	"$(for f in $(pf_sink_files); do pf_sink_rcpts "$f"; done | grep '^h[12]@' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"headers: each recipient delivered exactly once"
grep -q ": untouched: more than 20 tag and copy headers" "$BC_MLOG" ||
	t_fail "headers: no log line for the message passed untouched"
grep -qi "panic\|too many reverse jump" "$PF_LOG" && t_fail "headers: Postfix's cleanup failed"
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"
