#!/bin/bash
# NAME
#	40_fault_pg.sh - PostgreSQL killed or hanging while tracked mail flows
#	through Postfix and beacon-milter: no message lost, held or doubled
#
# DESCRIPTION
#	1. N tagged messages (one recipient each, 4 SMTP sessions) flow
#	   through the private Postfix and the milter; PostgreSQL is
#	   SIGKILLed (postmaster and backends, like a crash of its host)
#	   once a quarter of them are delivered.  Every message is accepted
#	   and delivered tracked; after PostgreSQL is back every recipient
#	   row is there exactly once, with the token the delivered pixel
#	   carries, and one messages row per message.
#	2. PostgreSQL SIGSTOPped: 40 more messages over 4 sessions.  None
#	   waits longer than the milter's bound (statement_timeout 1000 ms
#	   + 1 s for the round trip, or libpq's 2 s connect_timeout floor
#	   for a session opened against the hanging server) plus 1.5 s of
#	   margin for a loaded 2-core machine under ASan; all are delivered
#	   tracked, and their rows arrive exactly once after SIGCONT.
#
#	N is the issue's 1,000 by default: under ASan+UBSan on 2 cores the
#	milter takes 50-60 messages a second here, so the whole test runs in
#	about 40 s (PostgreSQL dies after ~250 deliveries and ~750 messages
#	have their rows spooled).  BEACON_FAULT_MESSAGES=N changes it (200
#	gives a ~20 s run on a slower machine).
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
N=${BEACON_FAULT_MESSAGES:-1000}
WAIT=$((60 + N / 5))

pg_start
pg_schema
bc_milter_config 'statement_timeout = 1000'
bc_milter_start
PF_MILTER=unix:$BC_MSOCK pf_start

# rows_for PREFIX - recipient rows whose address starts with PREFIX
rows_for() {
	pg_query "SELECT count(*) FROM beacon.recipients WHERE address LIKE '$1%@remote.example'"
}

# --- 1. SIGKILL while the stream flows ----------------------------------------
# a 20 ms pause after each message keeps the stream flowing for a few seconds
bc_send "$N" k -c 4 --delay-ms 20 -o "$T_DIR/sent.k" >"$T_DIR/send.k" &
sender=$!
t_on_exit "t_kill_pid $sender TERM 5"
# (counting the dump files is cheaper than pf_sink_count and close enough here)
t_wait_until "[ \$(find '$PF_SINK_DIR' -type f | wc -l) -ge $((N / 4)) ]" "$WAIT" ||
	t_fail "1: not even N/4 delivered in $WAIT s"
at_kill=$(find "$PF_SINK_DIR" -type f | wc -l)
pg_kill
t_ok "1: PostgreSQL SIGKILLed after $at_kill of $N deliveries"
wait "$sender" || t_fail "1: the SMTP client failed"
t_eq "accepted $N of $N" "$(cut -d, -f1 "$T_DIR/send.k")" "1: every message accepted"
pf_wait_delivered "$N" "$WAIT" || t_fail "1: $(pf_sink_count) of $N delivered in $WAIT s"
bc_sink_scan >"$T_DIR/scan.k"
t_eq "$N" "$(grep -c '^k[0-9]*@remote.example ' "$T_DIR/scan.k")" "1: every message delivered"
t_eq "$N" "$(cut -d' ' -f1 "$T_DIR/scan.k" | sort -u | grep -c '^k')" "1: each exactly once"
t_eq 0 "$(awk '$2 == "-"' "$T_DIR/scan.k" | wc -l)" "1: messages delivered untracked"
t_eq 0 "$(pf_queue_count)" "1: nothing left in the Postfix queue"
spooled=$(grep -c '(rows spooled)' "$BC_MLOG" || true)
[ "$spooled" -gt 0 ] || t_fail "1: no message had its rows spooled"
t_ok "1: $spooled messages had their rows spooled"

pg_restart
t_wait_until "[ \"\$(rows_for k 2>/dev/null)\" = $N ]" "$WAIT" ||
	t_fail "1: $(rows_for k) recipient rows of $N after the restart"
sleep 1		# a late duplicate would show now
t_eq "$N" "$(rows_for k)" "1: recipient rows after PostgreSQL came back"
t_eq "$N" "$(pg_query "SELECT count(DISTINCT address) FROM beacon.recipients
	WHERE address LIKE 'k%@remote.example'")" "1: one row per recipient"
t_eq "$N" "$(pg_query "SELECT count(*) FROM beacon.messages WHERE message_id LIKE 'k%@sender.example'")" \
	"1: one messages row per message"
pg_query "SELECT address || ' ' || token FROM beacon.recipients
	WHERE address LIKE 'k%@remote.example'" | sort >"$T_DIR/db.k"
awk '{ print $1, $2 }' "$T_DIR/scan.k" | sort >"$T_DIR/want.k"
diff "$T_DIR/want.k" "$T_DIR/db.k" >&2 || t_fail "1: stored tokens differ from the delivered pixels"
t_ok "1: every stored token is the one its delivered pixel carries"

# --- 2. SIGSTOP: bounded delay -------------------------------------------------
pg_pause
t0=$(t_now_us)
bc_send 40 s -c 4 -o "$T_DIR/sent.s" >"$T_DIR/send.s"
dt=$((($(t_now_us) - t0) / 1000))
read -r _ accepted _ _ _ maxms _ <"$T_DIR/send.s"
t_eq 40 "$accepted" "2: messages accepted with PostgreSQL stopped"
t_ok "2: 40 messages in $dt ms, the slowest transaction $maxms ms"
[ "$maxms" -le 3500 ] || t_fail "2: a message waited $maxms ms (bound 2000 ms + 1500 ms margin)"
pf_wait_delivered $((N + 40)) 30 || t_fail "2: not delivered with PostgreSQL stopped"
bc_sink_scan >"$T_DIR/scan.s"
t_eq 0 "$(awk '$1 ~ /^s/ && $2 == "-"' "$T_DIR/scan.s" | wc -l)" "2: messages delivered untracked"
pg_resume
t_wait_until "[ \"\$(rows_for s 2>/dev/null)\" = 40 ]" 40 ||
	t_fail "2: $(rows_for s) recipient rows of 40 after SIGCONT"
sleep 1
t_eq 40 "$(rows_for s)" "2: recipient rows after SIGCONT, each once"
t_eq "$((N + 40))" "$(pg_query "SELECT count(*) FROM beacon.messages")" "messages rows in all"

t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"
