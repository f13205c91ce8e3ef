#!/bin/bash
# NAME
#	51_hostile_idle.sh - 10,000 idle connections to beacon-pixelsrv: memory
#	bounded, valid requests answered, every idle connection closed
#
# DESCRIPTION
#	connection_limit 10100, no per-IP limit (one client address opens
#	them all), connection_timeout 3 s, open-file limit
#	raised (to the hard limit, at most 32768) for the server and the client.  A client opens
#	10,000 connections on 127.0.0.1 and sends nothing.  While they are
#	open a valid open (a new token, from 127.0.0.2) is answered 200
#	within 2 s; the server's VmRSS grows by less than 16 kB per idle
#	connection (libmicrohttpd's per-connection memory limit) over the
#	figure before; within connection_timeout + 5 s the server has
#	closed all 10,000; afterwards a valid open is answered again and
#	beacon.events holds exactly the valid opens.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"
N=10000
# server and client each need N + a few hundred descriptors
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=32768
[ "$hard" -ge $((N + 1000)) ] || t_fail "the hard open-file limit ($hard) is below $((N + 1000))"
ulimit -n $((hard < 32768 ? hard : 32768)) || t_fail "cannot raise the open-file limit"
pg_start
pg_schema
px_setup
px_config 'connection_limit = 10100' 'per_ip_connection_limit = 0' 'connection_timeout = 3'
px_start

VALID=0
# valid WHAT - one open with a new token from 127.0.0.2, answered 200 within 2 s
valid() {
	local tok out
	tok=$(px_mint)
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 \
		--interface 127.0.0.2 "$PX_URL/o/$tok.gif" || true)
	[ "${out%% *}" = 200 ] || t_fail "$1: a valid open got '${out%% *}' after ${out#* }s"
	awk -v s="${out#* }" 'BEGIN { exit !(s <= 2) }' || t_fail "$1: a valid open took ${out#* }s"
	VALID=$((VALID + 1))
	t_ok "$1: valid open answered in ${out#* }s"
}

valid "before"
t_eq "$(ulimit -n)" "$(awk '$1 == "Max" && $2 == "open" { print $4 }' "/proc/$PX_PID/limits")" \
	"the server's open-file limit"
rss0=$(bc_proc "$PX_PID" VmRSS)
bc_hostile idle 127.0.0.1 "$PX_PORT" "$N" 15 "$T_DIR/ready" >"$T_DIR/idle" &
idle=$!
t_on_exit "t_kill_pid $idle TERM 5"
t_wait_file "$T_DIR/ready" 60 || t_fail "the idle client did not get its connections up"
t0=$(t_now_us)
read -r up refused <"$T_DIR/ready"
t_eq "$N 0" "$up $refused" "idle connections up, refused"
valid "with $N idle connections"
rss1=$(bc_proc "$PX_PID" VmRSS)
t_ok "VmRSS $rss0 kB before, $rss1 kB with $N idle connections (+$(((rss1 - rss0) * 1024 / N)) bytes each)"
[ $((rss1 - rss0)) -lt $((N * 16)) ] || t_fail "VmRSS grew by $((rss1 - rss0)) kB for $N idle connections"
wait "$idle" || t_fail "the idle client failed"
dt=$((($(t_now_us) - t0) / 1000))
read -r _ _ _ _ _ closed <"$T_DIR/idle"
t_eq "$N" "$closed" "idle connections closed by the server"
[ "$dt" -le 8000 ] || t_fail "closing the idle connections took $dt ms (timeout 3 s)"
t_ok "all closed within $dt ms of being up"
valid "after"
sleep 1
t_eq "$VALID" "$(px_rows)" "events stored: only the valid opens"
t_ok "VmHWM $(bc_proc "$PX_PID" VmHWM) kB at the end"
px_stop
bc_no_sanitizer "$T_DIR/pixelsrv.log"
