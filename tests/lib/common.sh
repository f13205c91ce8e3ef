# shellcheck shell=bash
# NAME
#	common.sh - shared helpers for the Beacon end-to-end shell tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#
# DESCRIPTION
#	Sourced by every tests/e2e and tests/sql script. Safe under
#	"set -euo pipefail". Provides:
#
#	BEACON_SRC	repo root (derived from this file's location if unset)
#	BEACON_BUILD	build dir whose binaries the tests run
#			(default $BEACON_SRC/build/asan)
#	T_NAME		the running test's name (basename of $0)
#
#	t_tmpdir	create T_DIR (once per test), a fresh 0755 directory
#			under ${TMPDIR:-/tmp}; removed at exit unless KEEP=1.
#			Call it in the test's own shell, not inside $(...).
#	t_on_exit CMD	push CMD on the cleanup stack; the stack runs in
#			reverse order from one EXIT trap (INT, TERM and HUP
#			exit, so it runs then too), each CMD in a subshell so
#			one failing does not stop the rest. T_EXIT_RC holds
#			the test's exit status meanwhile (pg_stop and pf_stop
#			print their server logs when it is not 0).
#	t_free_port	print a free TCP port on 127.0.0.1, never the same
#			twice within one test (needs T_DIR for that memory).
#	t_port_listening PORT	true if something listens on PORT (TCP).
#	t_wait_port PORT [TIMEOUT_S]	wait until PORT listens (default 10 s).
#	t_wait_file PATH [TIMEOUT_S]	wait until PATH exists (default 10 s).
#	t_wait_until 'COND' TIMEOUT_S	wait until the shell condition holds.
#			All three poll every 0.05 s and return 1 on timeout.
#	t_fail MSG	print "FAIL: $T_NAME: MSG" to stderr and exit 1
#			(inside $(...) it ends only that subshell).
#	t_ok MSG	print "ok - MSG".
#	t_eq EXPECTED ACTUAL WHAT	t_fail unless the strings are equal,
#			t_ok "WHAT = 'EXPECTED'" when they are.
#	t_pid_alive PID	true if PID exists and is not a zombie.
#	t_children PID	print the PIDs of PID's children.
#	t_kill_pid PID [SIG] [TIMEOUT_S]	signal a process we started
#			(default TERM; CONT follows so a stopped one acts on
#			it), wait for it (default 10 s), then KILL.
#	t_stop_daemon NAME PID LOG [TIMEOUT_S]	SIGTERM a daemon we started in
#			the background, wait for it (default 20 s), fail (its
#			LOG printed) when it ignores the signal or exits other
#			than 0.
#	t_as_user USER CMD...	run CMD as USER when root, as is otherwise.
#	t_now_us	print the wall clock in microseconds.
#	t_run CMD...	run CMD with set -e off: OUT, ERR and RC hold its
#			stdout, stderr and exit status (files in T_DIR).

# Guard against being sourced twice.
if [ -n "${T_COMMON_LOADED:-}" ]; then
	return 0
fi
T_COMMON_LOADED=1

if [ -z "${BEACON_SRC:-}" ]; then
	BEACON_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
export BEACON_SRC
: "${BEACON_BUILD:=$BEACON_SRC/build/asan}"
export BEACON_BUILD

T_NAME=$(basename "${0:-test}")
T_DIR=
T_EXIT_RC=0
T_EXIT_CMDS=()
T_TRAP_SET=

# t_now_us - print the wall clock in microseconds
t_now_us() {
	local t=${EPOCHREALTIME//[.,]/}
	printf '%s\n' "$t"
}

# t_fail - report a failure of the running test and exit 1
# t_need_root WHY - these tests need root (Postfix, mounts): not root is a failure, never a silent skip
t_need_root() {
	[ "$(id -u)" = 0 ] || t_fail "needs root ($*); run make check as root"
}

t_fail() {
	printf 'FAIL: %s: %s\n' "$T_NAME" "$*" >&2
	exit 1
}

# t_ok - report one passed check
t_ok() {
	printf 'ok - %s\n' "$*"
}

# t_eq - fail unless EXPECTED equals ACTUAL (exact string compare)
t_eq() {
	local expected=$1 actual=$2 what=${3:-value}
	if [ "$expected" != "$actual" ]; then
		t_fail "$what: expected '$expected', got '$actual'"
	fi
	t_ok "$what = '$expected'"
}

# t_run_exit_cmds_ - run the cleanup stack in reverse order (EXIT trap)
t_run_exit_cmds_() {
	T_EXIT_RC=$?
	local i
	set +e
	trap - EXIT INT TERM HUP
	for ((i = ${#T_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		(eval "${T_EXIT_CMDS[i]}") ||
			printf '%s: cleanup failed: %s\n' "$T_NAME" "${T_EXIT_CMDS[i]}" >&2
	done
	exit "$T_EXIT_RC"
}

# t_on_exit - push a command on the cleanup stack run at exit
t_on_exit() {
	if [ "${BASHPID:-$$}" != "$$" ]; then
		t_fail "t_on_exit called in a subshell: '$*' would never run"
	fi
	T_EXIT_CMDS+=("$*")
	if [ -z "$T_TRAP_SET" ]; then
		trap t_run_exit_cmds_ EXIT
		trap 'exit 129' HUP
		trap 'exit 130' INT
		trap 'exit 143' TERM
		T_TRAP_SET=1
	fi
}

# t_rm_tmpdir_ - remove T_DIR, or tell where it is kept (KEEP=1)
t_rm_tmpdir_() {
	[ -n "$T_DIR" ] && [ -d "$T_DIR" ] || return 0
	if [ "${KEEP:-0}" = 1 ]; then
		printf '%s: kept %s\n' "$T_NAME" "$T_DIR" >&2
	else
		rm -rf -- "$T_DIR"
	fi
}

# t_tmpdir - create T_DIR once for this test and print its path
t_tmpdir() {
	if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
		printf '%s\n' "$T_DIR"
		return 0
	fi
	if [ "${BASHPID:-$$}" != "$$" ]; then
		t_fail "call t_tmpdir in the test's shell before using \$(t_tmpdir)"
	fi
	T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/beacon-test.XXXXXX") ||
		t_fail "mktemp failed under ${TMPDIR:-/tmp}"
	chmod 0755 "$T_DIR"
	t_on_exit t_rm_tmpdir_
	printf '%s\n' "$T_DIR"
}

# t_port_listening - true if a TCP socket listens on PORT (any address)
t_port_listening() {
	local hex
	hex=$(printf '%04X' "$1")
	# /proc/net/tcp{,6}: "sl local_address rem_address st ..."; 0A = LISTEN
	awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# t_probe_port_ - bind 127.0.0.1:0, print the port the kernel chose
t_probe_port_() {
	if command -v perl >/dev/null 2>&1; then
		perl -MSocket -e '
			socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
			bind($s, pack_sockaddr_in(0, inet_aton("127.0.0.1")))
				or die "bind: $!";
			my ($p) = unpack_sockaddr_in(getsockname($s));
			print "$p\n";'
	else
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
	fi
}

# t_free_port - print a free 127.0.0.1 TCP port not handed out before
t_free_port() {
	local port i reg=
	[ -n "$T_DIR" ] && [ -d "$T_DIR" ] && reg=$T_DIR/.ports
	for ((i = 0; i < 50; i++)); do
		port=$(t_probe_port_) || t_fail "t_free_port: cannot bind 127.0.0.1:0"
		if [ -n "$reg" ] && grep -qx "$port" "$reg" 2>/dev/null; then
			continue
		fi
		t_port_listening "$port" && continue
		[ -n "$reg" ] && printf '%s\n' "$port" >>"$reg"
		printf '%s\n' "$port"
		return 0
	done
	t_fail "t_free_port: no unused port after 50 tries"
}

# t_wait_until - poll a shell condition every 0.05 s for TIMEOUT_S seconds
t_wait_until() {
	local cond=$1 timeout=${2:-10} whole frac='' deadline n max
	whole=${timeout%%.*}
	[[ $timeout == *.* ]] && frac=${timeout#*.}
	frac=${frac}000000
	deadline=$(($(t_now_us) + 10#${whole:-0} * 1000000 + 10#${frac:0:6}))
	max=$(((10#${whole:-0} + 1) * 20 + 20))
	for ((n = 0; n < max; n++)); do
		if eval "$cond"; then
			return 0
		fi
		[ "$(t_now_us)" -ge "$deadline" ] && break
		sleep 0.05
	done
	eval "$cond"
}

# t_wait_port - wait until something listens on TCP PORT
t_wait_port() {
	t_wait_until "t_port_listening $1" "${2:-10}"
}

# t_wait_file - wait until PATH exists
t_wait_file() {
	local q
	printf -v q '%q' "$1"
	t_wait_until "[ -e $q ]" "${2:-10}"
}

# t_pid_alive - true if PID exists and is not a zombie
t_pid_alive() {
	local pid=$1 stat
	[ -n "$pid" ] || return 1
	read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

# t_children - print the PIDs whose parent is PID
t_children() {
	local f stat
	for f in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$f" || continue
		stat=${stat##*) }
		stat=${stat#* }
		if [ "${stat%% *}" = "$1" ]; then
			f=${f#/proc/}
			printf '%s\n' "${f%/stat}"
		fi
	done
}

# t_kill_pid - signal a process we started, wait for it, KILL on timeout
t_kill_pid() {
	local pid=$1 sig=${2:-TERM} timeout=${3:-10}
	[ -n "$pid" ] || return 0
	if t_pid_alive "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		# A stopped process acts on the signal only once continued.
		kill -s CONT "$pid" 2>/dev/null || true
		if ! t_wait_until "! t_pid_alive $pid" "$timeout"; then
			printf '%s: pid %s ignored SIG%s for %ss, sending KILL\n' \
				"$T_NAME" "$pid" "$sig" "$timeout" >&2
			kill -s KILL "$pid" 2>/dev/null || true
			t_wait_until "! t_pid_alive $pid" 5 || true
		fi
	fi
	# Reap it if it is our own child; a no-op otherwise.
	t_pid_alive "$pid" || wait "$pid" 2>/dev/null || true
	return 0
}

# t_stop_daemon - SIGTERM daemon NAME (PID, our child), wait, fail unless it exited 0
t_stop_daemon() {
	local name=$1 pid=$2 log=$3 timeout=${4:-20} rc=0
	[ -n "$pid" ] || return 0
	kill -s TERM "$pid" 2>/dev/null || true
	t_wait_until "! t_pid_alive $pid" "$timeout" || {
		cat "$log" >&2
		t_fail "$name ignored SIGTERM for $timeout s"
	}
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$log" >&2
		t_fail "$name exited with status $rc"
	fi
}

# t_as_user - run a command as USER when root, unchanged otherwise
t_as_user() {
	local user=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

# t_run - run CMD...; OUT, ERR and RC hold its stdout, stderr and status
t_run() {
	set +e
	"$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
	set -e
	OUT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
}
