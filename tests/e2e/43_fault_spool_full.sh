#!/bin/bash
# NAME
#	43_fault_spool_full.sh - spool disk full: mail still delivered, pixels
#	still answered, a clear log line and metric, and recovery once space
#	is back
#
# DESCRIPTION
#	Each daemon's spool_dir is on its own small tmpfs mounted inside
#	T_DIR (unmounted at exit) and filled up with a filler file.
#
#	beacon-milter, PostgreSQL stopped, spool full: tagged messages are
#	delivered at once, untracked (nothing could be recorded, so no
#	token may go out), with "cannot spool message ...: No space left on
#	device" and "untouched: database unavailable" in the log.  Once the
#	filler is gone a message is tracked and spooled again, and its rows
#	reach PostgreSQL when it is back.
#
#	beacon-pixelsrv, queue file and spool on a full tmpfs: a server
#	that cannot allocate its queue file refuses to start (71) naming
#	the file and ENOSPC; a running one goes on: with the
#	database up every open is answered and written (the queue file is
#	allocated when the ring is made: a sparse file would
#	take a SIGBUS at the first write into a hole); with the database
#	stopped too every open is still answered, the events that cannot be
#	spooled are counted in beacon_pixelsrv_events_lost_total and logged
#	("event lost: cannot append to the spool"); once space and database
#	are back, new events are written again.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix and mount"

# fill DIR - take every free block of the file system under DIR
fill() {
	dd if=/dev/zero of="$1/filler" bs=4k status=none 2>/dev/null || true
	t_eq 0 "$(df --output=avail -k "$1" | tail -n 1 | tr -d ' ')" "free kB on $(basename "$1")"
}

pg_start
pg_schema

# --- beacon-milter ---------------------------------------------------------------
bc_mount_tmpfs "$T_DIR/mspool" 256k
bc_milter_config 'statement_timeout = 1000'
sed -i "s|^spool_dir = .*|spool_dir = $T_DIR/mspool/spool|" "$BC_MCONF"
bc_milter_start
PF_MILTER=unix:$BC_MSOCK pf_start
fill "$T_DIR/mspool"
pg_stop

t0=$(t_now_us)
bc_send 3 f -c 1 -o "$T_DIR/sent.f" >"$T_DIR/send.f"
dt=$((($(t_now_us) - t0) / 1000))
t_eq "accepted 3 of 3" "$(cut -d, -f1 "$T_DIR/send.f")" "milter: accepted with the spool full"
pf_wait_delivered 3 20 || t_fail "milter: not delivered with the spool full"
t_ok "milter: 3 messages through in $dt ms with database down and spool full"
bc_sink_scan >"$T_DIR/scan.f"
t_eq 3 "$(awk '$2 == "-"' "$T_DIR/scan.f" | wc -l)" "milter: delivered untracked (no token without a record)"
for f in $(pf_sink_files); do
	grep -q '^<html><body><p>Letter [0-9]* to f[0-9]*@remote.example' "$f" ||
		t_fail "milter: body of $f damaged"
done
n=$(grep -c 'cannot spool message .*No space left on device' "$BC_MLOG" || true)
t_eq 3 "$n" "milter: 'cannot spool message ...: No space left on device' lines"
n=$(grep -c ': untouched: database unavailable: delivered untracked' "$BC_MLOG" || true)
t_eq 3 "$n" "milter: 'untouched: database unavailable: delivered untracked' lines"
t_eq 0 "$(stat -c %s "$T_DIR/mspool/spool/milter.spool")" "milter: no torn record left in the spool"

rm -f "$T_DIR/mspool/filler"
bc_send 1 g -c 1 >"$T_DIR/send.g"
pf_wait_delivered 4 20 || t_fail "milter: not delivered after the space came back"
tok=$(bc_sink_scan | awk '$1 == "g0@remote.example" { print $2 }')
{ [ -n "$tok" ] && [ "$tok" != - ]; } || t_fail "milter: untracked after the space came back"
t_ok "milter: tracked and spooled again once space is back"
pg_restart
t_wait_until "[ \"\$(pg_query \"SELECT token FROM beacon.recipients WHERE address = 'g0@remote.example'\" 2>/dev/null)\" = '$tok' ]" 30 ||
	t_fail "milter: the spooled row did not reach PostgreSQL"
t_ok "milter: the spooled row reached PostgreSQL"
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"

# --- beacon-pixelsrv -------------------------------------------------------------
bc_mount_tmpfs "$T_DIR/pspool" 8m
px_setup
# a queue larger than the load: overflow into the (full) spool is another matter
px_config 'queue_size = 8192' 'batch_size = 100' 'batch_interval = 20'
sed -i "s|^spool_dir = .*|spool_dir = $T_DIR/pspool/spool|" "$T_DIR/beacon.conf"
px_start
fill "$T_DIR/pspool"
# a second server whose queue file cannot be allocated refuses to start
sed "s|^spool_dir = .*|spool_dir = $T_DIR/pspool/spool2|; s|^listen = .*|listen = 127.0.0.1:$(t_free_port)|;
	s|^pidfile = .*|pidfile = $T_DIR/pixelsrv2.pid|; /^metrics_listen/d" "$T_DIR/beacon.conf" >"$T_DIR/full.conf"
rc=0
# (a fatal exit leaves the start-up's allocations to the kernel: no leak check,
# or LeakSanitizer's status would replace the server's)
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
	timeout -k 1 20 "$BEACON_BUILD/beacon-pixelsrv" -f -c "$T_DIR/full.conf" >"$T_DIR/full.out" 2>&1 || rc=$?
t_eq 71 "$rc" "pixelsrv: start-up on a full disk: exit status"
grep -q 'events.queue: .*No space left on device' "$T_DIR/full.out" ||
	{ cat "$T_DIR/full.out" >&2; t_fail "pixelsrv: no clear message for a queue file that cannot be allocated"; }
t_ok "pixelsrv: start-up on a full disk says why: $(grep -o 'events.queue: .*' "$T_DIR/full.out")"
load() { python3 "$PX_PY" load 127.0.0.1 "$PX_PORT" "$1" -c 4; }

python3 "$PX_PY" opens "$PX_SECRET" 3000 >"$T_DIR/paths.up"
t_eq "200 3000" "$(load "$T_DIR/paths.up")" "pixelsrv: 3,000 opens answered, database up, disk full"
t_pid_alive "$PX_PID" || { tail -n 20 "$T_DIR/pixelsrv.log" >&2; t_fail "pixelsrv died"; }
px_wait_rows 3000 30 || t_fail "pixelsrv: $(px_rows) rows of 3000 with the disk full"
t_ok "pixelsrv: all 3,000 written"

pg_stop
python3 "$PX_PY" opens "$PX_SECRET" 500 >"$T_DIR/paths.down"
t_eq "200 500" "$(load "$T_DIR/paths.down")" "pixelsrv: 500 opens answered, database down, disk full"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_lost_total)" -gt 0 ]' 20 ||
	t_fail "pixelsrv: no event counted lost"
t_wait_until '[ "$(px_metric beacon_pixelsrv_queue_depth)" = 0 ]' 20 ||
	t_fail "pixelsrv: the queue was not emptied"
lost=$(px_metric beacon_pixelsrv_events_lost_total)
spooled=$(px_metric beacon_pixelsrv_events_spooled_total)
t_eq 500 "$((lost + spooled))" "pixelsrv: lost ($lost) + spooled ($spooled) events"
grep -q 'event lost: cannot append to the spool' "$T_DIR/pixelsrv.log" ||
	t_fail "pixelsrv: no 'event lost' log line"
t_ok "pixelsrv: 'event lost: cannot append to the spool' logged"

rm -f "$T_DIR/pspool/filler"
pg_restart
read -r tok uuid < <(px_mint_pair)
t_eq 200 "$(px_get "/o/$tok.gif")" "pixelsrv: open after space and database are back"
t_wait_until "[ \"\$(px_rows \"token_id = '$uuid'\")\" = 1 ]" 30 ||
	t_fail "pixelsrv: the new open was not written"
t_ok "pixelsrv: writing again"
px_stop
bc_no_sanitizer "$T_DIR/pixelsrv.log"
