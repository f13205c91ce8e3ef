#!/bin/bash
# NAME
#	11_milter_miltertest.sh - beacon-milter through miltertest(8)
#
# DESCRIPTION
#	Runs tests/fixtures/miltertest/track.lua against two instances of the
#	milter under test, both with the database unreachable: one with
#	on_db_error = spool (tracked messages are changed and accepted, their
#	rows spooled), one with on_db_error = tempfail (tracked messages are
#	temp-failed, untagged ones pass).  The script checks negotiation,
#	body replacement, tag header removal, early accepts (DKIM, size),
#	that one connection carries many messages, and that a client that is
#	neither authenticated ({auth_authen}) nor in trusted_networks only
#	loses its tag headers.  Then the log lines and the
#	spool are checked, and the milter must stop on SIGTERM without a
#	sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"

t_tmpdir >/dev/null
command -v miltertest >/dev/null || t_fail "miltertest is not installed (make deps)"
MILTER=$BEACON_BUILD/beacon-milter
[ -x "$MILTER" ] || t_fail "no $MILTER (build first)"
RUN_AS=$(id -un)
[ "$RUN_AS" = root ] && RUN_AS=nobody
BASE=http://127.0.0.1:9
printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T_DIR/secret"
chmod 600 "$T_DIR/secret"
DEAD_PORT=$(t_free_port)

# start_milter NAME ON_DB_ERROR - start an instance; sets PID_NAME
start_milter() {
	local name=$1 mode=$2 dir=$T_DIR/$1
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown "$RUN_AS" "$dir"
	cat >"$dir/beacon.conf" <<-EOF
		base_url = $BASE
		secret_file = $T_DIR/secret
		[milter]
		socket = unix:$dir/milter.sock
		user = $RUN_AS
		pidfile = $dir/milter.pid
		spool_dir = $dir/spool
		max_message_size = 4k
		on_db_error = $mode
		[database]
		conninfo = host=127.0.0.1 port=$DEAD_PORT dbname=none user=none
		connect_timeout = 2
	EOF
	"$MILTER" -f -c "$dir/beacon.conf" >"$dir/log" 2>&1 &
	eval "PID_$name=$!"
	t_on_exit "t_kill_pid $! TERM 15"
	t_wait_file "$dir/milter.sock" 10 || { cat "$dir/log" >&2; t_fail "$name: no socket"; }
}

start_milter spool spool
start_milter tempfail tempfail

for mode in spool tempfail; do
	MILTER_SOCK=unix:$T_DIR/$mode/milter.sock MILTER_MODE=$mode PLACEHOLDER=$BASE/p.gif \
		miltertest -s "$BEACON_SRC/tests/fixtures/miltertest/track.lua" >"$T_DIR/mt.$mode" 2>&1 ||
		{ cat "$T_DIR/mt.$mode" "$T_DIR/$mode/log" >&2; t_fail "miltertest ($mode) failed"; }
	t_ok "miltertest: $mode"
done

log=$T_DIR/spool/log
for want in "Q1: tracked: 1 recipient (tracked), 1 link, message " \
	"Q1: database at 127.0.0.1: " "Q1: database unavailable" "(rows spooled)" "Q2: untouched: no tag" \
	"Q3: untouched: X-Beacon: no (tag header removed)" "Q4: untouched: already DKIM-signed" \
	"Q6: tracked: 1 recipient" "Q7: untouched: over max_message_size" "Q8: tracked: " \
	"U1: untouched: untrusted submission (client 192.0.2.10, no SASL login, daemon " \
	"U2: untouched: untrusted submission, no tag header"; do
	grep -qF -- "$want" "$log" || { cat "$log" >&2; t_fail "log line missing: $want"; }
done
t_ok "log lines carry the queue id and the decision"
grep -q "TF1: temp-failed: database unavailable (on_db_error = tempfail)" "$T_DIR/tempfail/log" ||
	{ cat "$T_DIR/tempfail/log" >&2; t_fail "no temp-fail log line"; }
t_ok "on_db_error = tempfail temp-fails tracked mail"
# Q1, Q6 and Q8 were tracked: three records in the spool
n=$(grep -c "(rows spooled)" "$log")
t_eq 3 "$n" "spooled messages"
[ -s "$T_DIR/spool/spool/milter.spool" ] || t_fail "spool file empty"

kill -TERM "$PID_spool" "$PID_tempfail"
t_wait_until "! t_pid_alive $PID_spool && ! t_pid_alive $PID_tempfail" 15 ||
	t_fail "milters did not stop on SIGTERM"
for mode in spool tempfail; do
	if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR/$mode/log" >/dev/null; then
		cat "$T_DIR/$mode/log" >&2
		t_fail "$mode: sanitizer report"
	fi
	[ -e "$T_DIR/$mode/milter.sock" ] && t_fail "$mode: socket left behind"
done
t_ok "stopped on SIGTERM, socket removed, no sanitizer report"
