#!/bin/bash
# NAME
#	41_fault_milter_kill.sh - beacon-milter SIGKILLed mid-stream: Postfix
#	delivers every message, untouched once the filter is gone
#
# DESCRIPTION
#	120 tagged messages flow over 4 SMTP sessions; the milter is
#	SIGKILLed after about 30 deliveries.  With milter_default_action =
#	accept (as contrib/ tells Postfix), every message is accepted and
#	delivered exactly once: either tracked (pixel token = the stored
#	recipient row's token) or byte for byte as submitted (the X-Beacon
#	header still in it); nothing stays queued or deferred.  At most the
#	messages in flight at the kill may have rows without a tracked
#	delivery (the milter wrote them, Postfix never got its reply).  A
#	new milter started over the socket the killed one left behind
#	tracks mail again.
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
