#!/bin/bash
# NAME
#	42_fault_pixelsrv_kill.sh - beacon-pixelsrv SIGKILLed under load: every
#	event it answered is in PostgreSQL after the restart, once
#
# DESCRIPTION
#	Eight keep-alive clients send opens, each with a new token, to a
#	two-thread server with a working database and the default writer
#	(batch_interval 50 ms): events are being COPYed while others wait in
#	the queue file.  The server is SIGKILLed mid-load.  The clients note
#	the recipient id of every open answered 200 with the whole GIF.  The
#	server is started again on the same spool_dir: it finds the killed
#	run's queue file, moves what is left to the spool and writes it.
#	Then every answered event is a row, no token is stored twice (a
#	batch committed just before the kill is not written again), and no
#	row exists for an open that was never sent.  The killed run had no
#	node_name (the host name); the restart is named "after-kill": every
#	row, those written from the recovered queue file included, names
#	the host, the node that answered it.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config 'threads = 2'
px_start

bc_hostile opens 127.0.0.1 "$PX_PORT" "$PX_SECRET" 8 400000 60 "$T_DIR/answered" \
	>"$T_DIR/opens.out" &
client=$!
t_on_exit "t_kill_pid $client TERM 5"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_queued_total)" -gt 3000 ]' 30 ||
	t_fail "the load did not start"
t_wait_until '[ "$(px_rows)" -gt 1000 ]' 10 || t_fail "the writer wrote nothing under load"
kill -s KILL "$PX_PID"
t_wait_until "! t_pid_alive $PX_PID" 10 || t_fail "SIGKILL did not stop the server"
wait "$PX_PID" 2>/dev/null || true
wait "$client" || t_fail "the load client failed"
read -r _ sent _ answered <"$T_DIR/opens.out"
t_eq "$answered" "$(wc -l <"$T_DIR/answered")" "answered opens listed"
before=$(px_rows)
[ "$answered" -gt 3000 ] || t_fail "only $answered opens answered before the kill"
[ "$before" -lt "$answered" ] || t_fail "all $answered rows were written before the kill: nothing to recover"
t_ok "SIGKILL after $answered answered opens ($sent sent); $before rows written before it"

host=$(cat /proc/sys/kernel/hostname)
printf '[pixelsrv]\nnode_name = after-kill\n' >>"$T_DIR/beacon.conf"
px_start
t_wait_until '[ "$(px_rows)" -ge '"$answered"' ]' 60 ||
	t_fail "after the restart: $(px_rows) rows, $answered answered"
sleep 1		# a late duplicate would show now
pg_psql -c 'CREATE TABLE answered (token_id uuid)' \
	-c "\\copy answered FROM '$T_DIR/answered'"
t_eq 0 "$(pg_query 'SELECT count(*) FROM answered a WHERE NOT EXISTS
	(SELECT 1 FROM beacon.events e WHERE e.token_id = a.token_id)')" \
	"answered opens missing from beacon.events"
t_eq 0 "$(pg_query 'SELECT count(*) FROM (SELECT token_id FROM beacon.events
	GROUP BY 1 HAVING count(*) > 1) d')" "tokens stored twice"
rows=$(px_rows)
[ "$rows" -le "$sent" ] || t_fail "$rows rows for $sent opens sent"
t_ok "$rows rows: the $answered answered opens and $((rows - answered)) queued but not answered in time"
recovered=$(px_metric beacon_pixelsrv_events_recovered_total)
t_ok "$recovered events recovered from the killed run's queue file"
t_eq "$rows" "$(px_rows "node = '$host'")" "rows naming the node that answered them ($host)"
t_eq 0 "$(px_metric beacon_pixelsrv_events_lost_total)" "events lost"
px_stop
bc_no_sanitizer "$T_DIR/pixelsrv.log"
