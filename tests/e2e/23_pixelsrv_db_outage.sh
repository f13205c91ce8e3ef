#!/bin/bash
# NAME
#	23_pixelsrv_db_outage.sh - no event lost or doubled while PostgreSQL is away
#
# DESCRIPTION
#	1. 10,000 opens, each with its own token, over keep-alive
#	   connections; PostgreSQL is stopped after the first 5,000 and
#	   started again after the last: every request is answered, and once
#	   the database is back beacon.events holds exactly 10,000 rows, one
#	   per token.
#	2. A queue of 16 events and PostgreSQL paused (SIGSTOP) mid-load:
#	   COPYs hang until their deadline, the request path spills into the
#	   spool; after SIGCONT exactly the 2,000 new rows arrive, even for
#	   the COPY the paused server may have committed after the writer
#	   gave up on it.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config 'batch_size = 500' 'batch_interval = 20'
px_start

python3 "$PX_PY" opens "$PX_SECRET" 10000 >"$T_DIR/paths"
head -n 5000 "$T_DIR/paths" >"$T_DIR/first"
tail -n 5000 "$T_DIR/paths" >"$T_DIR/second"
load() { python3 "$PX_PY" load 127.0.0.1 "$PX_PORT" "$1" -c 4 -H 'User-Agent: Thunderbird/115.0'; }

t_eq "200 5000" "$(load "$T_DIR/first")" "first 5,000 answered"
pg_stop
t_eq "200 5000" "$(load "$T_DIR/second")" "5,000 answered with the database stopped"
t_wait_until '[ "$(px_metric beacon_pixelsrv_db_up)" = 0 ]' 10 || t_fail "db_up stayed 1"
t_wait_until '[ "$(px_metric beacon_pixelsrv_queue_depth)" = 0 ]' 20 ||
	t_fail "the queue was not emptied into the spool"
spooled=$(px_metric beacon_pixelsrv_events_spooled_total)
[ "$spooled" -gt 0 ] || t_fail "nothing was spooled while the database was down"
t_ok "$spooled events spooled while the database was down"
pg_restart
px_wait_rows 10000 60 || t_fail "after the restart: $(px_rows) rows, expected 10000"
sleep 1
t_eq 10000 "$(px_rows)" "exactly 10,000 rows"
t_eq 10000 "$(pg_query 'SELECT count(DISTINCT token_id) FROM beacon.events')" "one row per token"
t_eq 0 "$(px_metric beacon_pixelsrv_events_lost_total)" "nothing lost"
t_eq 1 "$(px_metric beacon_pixelsrv_db_up)" "db_up again"
grep -q 'database unavailable' "$T_DIR/pixelsrv.log" || t_fail "the outage was not logged"
grep -q 'database is back' "$T_DIR/pixelsrv.log" || t_fail "the recovery was not logged"
px_stop

# 2. paused database, tiny queue: the request path spills into the spool
px_config 'queue_size = 16' 'batch_size = 8' 'batch_interval = 5'
sed -i 's/^connect_timeout = .*/connect_timeout = 1/' "$T_DIR/beacon.conf"
printf 'statement_timeout = 500\n' >>"$T_DIR/beacon.conf"
px_start
python3 "$PX_PY" opens "$PX_SECRET" 2000 >"$T_DIR/paths2"
head -n 200 "$T_DIR/paths2" >"$T_DIR/p2a"
tail -n 1800 "$T_DIR/paths2" >"$T_DIR/p2b"
t_eq "200 200" "$(load "$T_DIR/p2a")" "200 answered before the pause"
pg_pause
t_eq "200 1800" "$(load "$T_DIR/p2b")" "1,800 answered with the database paused"
[ "$(px_metric beacon_pixelsrv_events_spooled_total)" -gt 0 ] ||
	t_fail "a full queue did not spill into the spool"
sleep 4		# let at least one COPY pass its deadline against the paused server
pg_resume
px_wait_rows 12000 60 || t_fail "after the pause: $(px_rows) rows, expected 12000"
sleep 1
t_eq 12000 "$(px_rows)" "exactly 12,000 rows after the pause"
t_eq 12000 "$(pg_query 'SELECT count(DISTINCT token_id) FROM beacon.events')" \
	"no event twice after the pause"
t_eq 0 "$(px_metric beacon_pixelsrv_events_lost_total)" "nothing lost in the pause"
px_stop
t_eq 12000 "$(px_rows)" "rows after the stop"
t_ok "23_pixelsrv_db_outage"
