#!/bin/bash
# NAME
#	50_hostile_http.sh - beacon-pixelsrv under slowloris, oversized
#	requests and a flood of forged tokens: 4xx or the plain GIF, no event
#	stored, memory bounded, valid requests still answered
#
# DESCRIPTION
#	One server: connection_limit 256, connection_timeout 2 s,
#	header_timeout 2 s, the default per_ip_connection_limit (64), one HTTP
#	thread, started with an open-file soft limit (1024) below the hard
#	one (4096): it raises the soft limit to the hard one.  Its RSS high-water mark (VmHWM, /proc/PID/status) noted after
#	a warm-up.  Between and during the attacks a valid open (a new token
#	each time, from 127.0.0.2) must be answered 200 within 2 s; at the
#	end beacon.events holds exactly those opens and nothing else.
#
#	1. slowloris below the limit: 150 connections trickle one header
#	   byte each every 0.25 s for 5 s, then go quiet: valid opens are
#	   answered meanwhile, and the server closes every quiet connection
#	   within connection_timeout + 2 s.
#	2. oversized requests: 100 KB and 1 MB request lines, 100 KB query,
#	   header, User-Agent, Cookie and X-Forwarded-For values, 5,000
#	   headers, a 100 KB method or version: each gets a 4xx, or the
#	   connection is closed once the server stopped reading (1 MB line).
#	3. a flood of 20,000 requests with random tokens, forged click URLs,
#	   tokens of unknown key ids and junk paths over 8 keep-alive
#	   connections: opens get the GIF, clicks 404, never a Location; the
#	   invalid-token counter counts them all.  Then 5,000 forged opens
#	   pipelined on one connection before a byte is read: 5,000 GIFs.
#	4. slowloris at the limit: 300 trickling connections from 127.0.0.1
#	   (more than connection_limit; the default per_ip_connection_limit
#	   turns most away) while a valid open comes from 127.0.0.2: it must
#	   still be answered within 5 s.
#	5. header_timeout: 5 connections trickle a request head one byte
#	   every 0.25 s for 4 s (each byte restarts connection_timeout): the
#	   server closes all 5 within 3 s, while they still trickle; none is
#	   answered, and the header-timeout counter counts them.
#	VmHWM may grow by at most 64 MB over the warm-up figure (ASan's
#	quarantine is capped at 16 MB for the server, so freed memory does
#	not count as growth).
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"
ulimit -n 4096
ulimit -Sn 1024
pg_start
pg_schema
px_setup
px_config 'connection_limit = 256' 'connection_timeout = 2' 'header_timeout = 2'
px_start
t_eq "4096 4096" "$(awk '$1 == "Max" && $2 == "open" { print $4, $5 }' "/proc/$PX_PID/limits")" \
	"the server raised its open-file soft limit to the hard limit"

VALID=0
# valid WHAT [LIMIT_S] - one open with a new token from 127.0.0.2, answered 200 in time
valid() {
	local what=$1 limit=${2:-2} tok out code secs
	tok=$(px_mint)
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time "$((limit + 5))" \
		--interface 127.0.0.2 "$PX_URL/o/$tok.gif" || true)
	code=${out%% *}
	secs=${out#* }
	[ "$code" = 200 ] || t_fail "$what: a valid open got '$code' after ${secs}s"
	awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s <= l) }' ||
		t_fail "$what: a valid open took ${secs}s (limit ${limit}s)"
	VALID=$((VALID + 1))
	t_ok "$what: valid open answered in ${secs}s"
}

# warm-up, then the memory baseline
python3 "$PX_PY" opens "$PX_SECRET" 500 >"$T_DIR/warm"
t_eq "200 500" "$(python3 "$PX_PY" load 127.0.0.1 "$PX_PORT" "$T_DIR/warm" -c 8)" "warm-up opens"
VALID=500
hwm0=$(bc_proc "$PX_PID" VmHWM)
t_ok "VmHWM after the warm-up: $hwm0 kB"

# --- 1. slowloris below the limit --------------------------------------------------
bc_hostile slowloris 127.0.0.1 "$PX_PORT" 150 5 4 0.25 >"$T_DIR/slow1" &
slow=$!
t_on_exit "t_kill_pid $slow TERM 5"
sleep 1
valid "1: slowloris"
sleep 2
valid "1: slowloris"
wait "$slow" || t_fail "1: the slowloris client failed"
read -r _ conns _ during _ quiet _ answered _ _ <"$T_DIR/slow1"
t_eq 150 "$conns" "1: slowloris connections opened"
t_eq 150 "$((during + quiet))" "1: slowloris connections closed by the server once quiet"
t_eq 0 "$answered" "1: slowloris connections answered"
valid "1: after slowloris"

# --- 2. oversized requests ------------------------------------------------------------
bc_hostile oversize 127.0.0.1 "$PX_PORT" >"$T_DIR/oversize"
cat "$T_DIR/oversize"
while read -r name status; do
	case $name:$status in
	*:4[0-9][0-9]) t_ok "2: $name answered $status" ;;
	url-1m:closed) t_ok "2: $name: connection closed after the server stopped reading" ;;
	*) t_fail "2: $name answered '$status', expected a 4xx" ;;
	esac
done <"$T_DIR/oversize"
t_eq 10 "$(wc -l <"$T_DIR/oversize")" "2: oversized cases run"
t_pid_alive "$PX_PID" || t_fail "2: the server died"
valid "2: after oversized requests"

# --- 3. flood of forged tokens -------------------------------------------------------
inv0=$(px_metric beacon_pixelsrv_invalid_tokens_total)
t_eq "200=15000 404=5000" "$(bc_hostile flood 127.0.0.1 "$PX_PORT" 20000 8)" \
	"3: flood of 20,000 forged requests: GIF or 404, no Location"
t_eq 20000 "$(($(px_metric beacon_pixelsrv_invalid_tokens_total) - inv0))" "3: invalid tokens counted"
valid "3: after the flood"
t_eq "200=5000" "$(bc_hostile pipeline 127.0.0.1 "$PX_PORT" 5000)" \
	"3: 5,000 forged opens pipelined on one connection, each answered"
t_eq 25000 "$(($(px_metric beacon_pixelsrv_invalid_tokens_total) - inv0))" "3: invalid tokens counted"
valid "3: after the pipelined requests"

sleep 1
t_eq "$VALID" "$(px_rows)" "events stored: only the valid opens"
hwm1=$(bc_proc "$PX_PID" VmHWM)
t_ok "VmHWM after attacks 1-3: $hwm1 kB (+$((hwm1 - hwm0)) kB)"
[ $((hwm1 - hwm0)) -le 65536 ] || t_fail "VmHWM grew by $((hwm1 - hwm0)) kB"

# --- 4. slowloris holding every connection slot ---------------------------------------
bc_hostile slowloris 127.0.0.1 "$PX_PORT" 300 8 4 0.25 >"$T_DIR/slow2" &
slow=$!
t_on_exit "t_kill_pid $slow TERM 5"
sleep 2
valid "4: slowloris beyond connection_limit" 5
wait "$slow" || true
valid "4: after slowloris"

# --- 5. a request head trickled for longer than header_timeout --------------------------
ht0=$(px_metric beacon_pixelsrv_header_timeouts_total)
bc_hostile slowloris 127.0.0.1 "$PX_PORT" 5 4 1 0.25 >"$T_DIR/slow3"
read -r _ conns _ during _ quiet _ answered _ sent <"$T_DIR/slow3"
t_eq "5 5 0" "$conns $during $answered" "5: trickling connections opened, closed while trickling, answered"
# one byte each 0.25 s: 12 bytes is 3 s, header_timeout plus a second
[ "$sent" -le 12 ] || t_fail "5: a trickling head was read for $sent bytes (over 3 s)"
t_ok "5: closed after at most $sent bytes (0.25 s each)"
t_eq 5 "$(($(px_metric beacon_pixelsrv_header_timeouts_total) - ht0))" "5: header timeouts counted"
valid "5: after the trickling heads"
px_stop
t_eq "$VALID" "$(px_rows)" "events stored at the end: only the valid opens"
bc_no_sanitizer "$T_DIR/pixelsrv.log"
