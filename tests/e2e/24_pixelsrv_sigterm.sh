#!/bin/bash
# NAME
#	24_pixelsrv_sigterm.sh - stopping under load, and crashing, lose nothing
#
# DESCRIPTION
#	1. Eight keep-alive clients hammer one pixel URL on a two-thread
#	   server; SIGTERM arrives mid-load.  The server exits 0, and
#	   beacon.events holds exactly as many rows as the clients got
#	   complete answers.
#	2. Events wait in the queue (a long batch_interval) when the server
#	   is killed with SIGKILL; the next start finds them in the queue
#	   file, spools them and writes every one.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
# one token hammered: every answered request must be a row, so no repeat counting
px_config 'threads = 2' 'repeat_window = 0'
px_start

tok=$(px_mint)
python3 "$PX_PY" until-killed 127.0.0.1 "$PX_PORT" "/o/$tok.gif" -c 8 --max 400000 --seconds 60 \
	>"$T_DIR/answered" &
client=$!
t_on_exit "t_kill_pid $client TERM 5"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_queued_total)" -gt 2000 ]' 30 ||
	t_fail "the load did not start"
sleep 1
px_stop		# SIGTERM under load; fails unless the exit status is 0
wait "$client" || t_fail "the load client failed"
answered=$(awk '$1 == "answered" { print $2 }' "$T_DIR/answered")
[ "${answered:-0}" -gt 2000 ] || t_fail "only ${answered:-0} requests answered"
t_eq "$answered" "$(px_rows)" "rows equal answered requests ($answered)"
grep -q 'stopped: .* 0 lost' "$T_DIR/pixelsrv.log" || t_fail "no clean stop line"

# 2. SIGKILL with events still queued: the queue file brings them back
pg_psql -c 'TRUNCATE beacon.events'
px_config 'batch_size = 100000' 'batch_interval = 600000'
px_start
python3 "$PX_PY" opens "$PX_SECRET" 2000 >"$T_DIR/paths"
t_eq "200 2000" "$(python3 "$PX_PY" load 127.0.0.1 "$PX_PORT" "$T_DIR/paths" -c 4)" \
	"2,000 answered"
t_eq 2000 "$(px_metric beacon_pixelsrv_queue_depth)" "all 2,000 wait in the queue"
t_eq 0 "$(px_rows)" "none written yet"
kill -s KILL "$PX_PID"
t_wait_until "! t_pid_alive $PX_PID" 10 || t_fail "SIGKILL did not stop the server"
wait "$PX_PID" 2>/dev/null || true
px_config
px_start
px_wait_rows 2000 30 || t_fail "after the crash: $(px_rows) rows, expected 2000"
sleep 1
t_eq 2000 "$(px_rows)" "exactly the 2,000 queued events"
t_eq 2000 "$(pg_query 'SELECT count(DISTINCT token_id) FROM beacon.events')" "each once"
t_eq 2000 "$(px_metric beacon_pixelsrv_events_recovered_total)" "recovered counter"
grep -q '2000 events of a run that did not stop cleanly' "$T_DIR/pixelsrv.log" ||
	t_fail "no recovery line in the log"
px_stop
t_ok "24_pixelsrv_sigterm"
