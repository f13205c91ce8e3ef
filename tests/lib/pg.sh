# shellcheck shell=bash
# NAME
#	pg.sh - a throwaway PostgreSQL 15 cluster for the Beacon shell tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	pg_start
#
# DESCRIPTION
#	The cluster lives in $T_DIR/pg (data, socket, log) and listens on
#	127.0.0.1 only, on a free port. As root it runs as the "postgres"
#	system user (initdb refuses root); otherwise as the caller.
#
#	pg_start	initdb, start (bounded wait), create role "beacon"
#			(superuser) and database "beacon", export PGHOST
#			PGPORT PGUSER PGDATABASE BEACON_CONNINFO, register
#			pg_stop at exit.
#	pg_stop		fast shutdown (KILL after 10 s); no-op when down.
#	pg_kill		SIGKILL the postmaster and its children (a crash of
#			the server) and wait until they are gone.
#	pg_restart	start again on the same data dir and port (after
#			pg_stop or pg_kill; stops it first if it runs).
#	pg_pause	SIGSTOP the postmaster and its children; connections
#			are still accepted by the kernel and then hang.
#	pg_resume	SIGCONT what pg_pause stopped.
#	pg_psql ARGS...	psql -X -q -v ON_ERROR_STOP=1 ARGS against "beacon".
#	pg_query SQL	print the result rows unaligned, no headers (-At).
#	pg_pid		print the postmaster PID (empty when down).
#	pg_replica_start	a streaming replica of the running cluster:
#			pg_basebackup -R over loopback into $PG_DIR/replica,
#			a hot standby on another free port; sets
#			PG_REPLICA_PORT, PG_REPLICA_DATA, PG_REPLICA_LOG;
#			registers pg_replica_stop at exit.
#	pg_replica_stop	fast shutdown of the replica; no-op when down.
#	pg_replica_query SQL	pg_query against the replica.
#	pg_replica_wait [received]	wait (10 s at most) until the replica
#			has replayed (or only received) all the WAL the
#			primary has written so far.
#
#	Knobs read by pg_start: PG_FSYNC=on (default off), PG_EXTRA_CONF
#	(lines appended to postgresql.conf), PG_BIN (default
#	/usr/lib/postgresql/15/bin).
#	Set after pg_start: PG_DIR, PG_DATA, PG_LOG, PGPORT.

if [ -n "${T_PG_LOADED:-}" ]; then
	return 0
fi
T_PG_LOADED=1

: "${PG_BIN:=/usr/lib/postgresql/15/bin}"
PG_DIR=
PG_DATA=
PG_LOG=
PG_USER_OS=
PG_PAUSED_PIDS=

# pg_run_ - run a server-side command as the cluster's OS user
pg_run_() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PG_USER_OS" -- "$@"
	else
		"$@"
	fi
}

# pg_exec_ - exec a command as the cluster's OS user, without a fork
pg_exec_() {
	if [ "$(id -u)" = 0 ]; then
		exec setpriv --reuid="$PG_USER_OS" --regid="$PG_USER_OS" \
			--init-groups -- "$@"
	fi
	exec "$@"
}

# pg_pid - print the postmaster PID if it is running
pg_pid() {
	local pid
	[ -n "$PG_DATA" ] && [ -r "$PG_DATA/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 0
	if t_pid_alive "$pid"; then
		printf '%s\n' "$pid"
	fi
}

# pg_show_log_ - print the server log's tail to stderr
pg_show_log_() {
	[ -n "$PG_LOG" ] && [ -r "$PG_LOG" ] || return 0
	printf -- '--- %s (last 30 lines)\n' "$PG_LOG" >&2
	tail -n 30 "$PG_LOG" >&2
}

# pg_server_start_ [DATA LOG PORT] - start the postmaster on DATA (default
# PG_DATA, PG_LOG, PGPORT), wait until it serves
pg_server_start_() {
	local pid data=${1:-$PG_DATA} log=${2:-$PG_LOG} port=${3:-$PGPORT}
	# The postmaster is this shell's child, so it is reaped the moment it
	# dies and its PID never lingers in postmaster.pid as a zombie.
	(pg_exec_ "$PG_BIN/postgres" -D "$data") </dev/null >>"$log" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	if ! t_wait_until "! t_pid_alive $pid ||
		$PG_BIN/pg_isready -q -h 127.0.0.1 -p $port -U postgres -d postgres -t 1" 15 ||
		! t_pid_alive "$pid"; then
		PG_LOG=$log pg_show_log_
		t_fail "PostgreSQL did not start on 127.0.0.1:$port"
	fi
}

# pg_start - create and start the throwaway cluster with role/db "beacon"
pg_start() {
	local sockdir loc
	[ -x "$PG_BIN/initdb" ] || t_fail "no PostgreSQL at $PG_BIN"
	[ -z "$PG_DIR" ] || t_fail "pg_start called twice (use pg_restart)"
	t_tmpdir >/dev/null
	PG_DIR=$T_DIR/pg
	PG_DATA=$PG_DIR/data
	PG_LOG=$PG_DIR/postgresql.log
	sockdir=$PG_DIR/run
	mkdir -p "$PG_DIR" "$sockdir"
	if [ "$(id -u)" = 0 ]; then
		PG_USER_OS=postgres
		chown "$PG_USER_OS" "$PG_DIR" "$sockdir"
		runuser -u "$PG_USER_OS" -- test -w "$PG_DIR" ||
			t_fail "user $PG_USER_OS cannot reach $PG_DIR (parent not searchable?)"
	else
		PG_USER_OS=$(id -un)
	fi
	PGPORT=$(t_free_port)
	export PGPORT

	loc=C.UTF-8
	locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || loc=C
	if ! pg_run_ "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust \
		--no-sync --no-instructions -E UTF8 --locale="$loc" \
		>"$PG_DIR/initdb.out" 2>&1; then
		cat "$PG_DIR/initdb.out" >&2
		t_fail "initdb failed"
	fi
	# A socket path over 107 bytes cannot be bound: TCP only then.
	[ ${#sockdir} -gt 90 ] && sockdir=
	cat >>"$PG_DATA/postgresql.conf" <<-EOF

		# Beacon test cluster
		listen_addresses = '127.0.0.1'
		port = $PGPORT
		unix_socket_directories = '$sockdir'
		fsync = ${PG_FSYNC:-off}
		full_page_writes = ${PG_FSYNC:-off}
		logging_collector = off
		log_line_prefix = '%m [%p] %q%u@%d '
		lc_messages = 'C'
		${PG_EXTRA_CONF:-}
	EOF
	t_on_exit pg_stop
	pg_server_start_

	PGHOST=127.0.0.1
	PGUSER=postgres
	PGDATABASE=postgres
	export PGHOST PGUSER PGDATABASE
	unset PGSERVICE PGSERVICEFILE PGPASSWORD PGOPTIONS PGHOSTADDR
	pg_psql -c 'CREATE ROLE beacon LOGIN SUPERUSER' \
		-c 'CREATE DATABASE beacon OWNER beacon' ||
		t_fail "cannot create role/database beacon"
	PGUSER=beacon
	PGDATABASE=beacon
	BEACON_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=beacon user=beacon connect_timeout=2"
	export PGUSER PGDATABASE BEACON_CONNINFO PG_DIR PG_DATA PG_LOG
}

# pg_stop - fast shutdown of the cluster, KILL if it hangs
pg_stop() {
	local pid
	pg_resume
	pid=$(pg_pid)
	if [ -n "$pid" ]; then
		# SIGINT is PostgreSQL's fast shutdown.
		t_kill_pid "$pid" INT 10
	fi
	if [ "${T_EXIT_RC:-0}" != 0 ]; then
		pg_show_log_
	fi
	return 0
}

# pg_kill - SIGKILL the postmaster like a crash and wait for its children
pg_kill() {
	local pid kids k
	pid=$(pg_pid)
	[ -n "$pid" ] || return 0
	kids=$(t_children "$pid")
	kill -s KILL "$pid" 2>/dev/null || true
	t_wait_until "! t_pid_alive $pid" 5 || t_fail "postmaster $pid survived KILL"
	PG_PAUSED_PIDS=
	# The whole server goes down, as on a crash of its host: children
	# left behind would keep the shared memory busy on restart.
	for k in $kids; do
		kill -s KILL "$k" 2>/dev/null || true
	done
	for k in $kids; do
		t_wait_until "! t_pid_alive $k" 5 || t_fail "pg child $k survived KILL"
	done
	return 0
}

# pg_restart - start the cluster again on the same data dir and port
pg_restart() {
	[ -n "$PG_DATA" ] || t_fail "pg_restart before pg_start"
	pg_stop
	pg_server_start_
}

# pg_pause - SIGSTOP the postmaster and all its children
pg_pause() {
	local pid
	pid=$(pg_pid)
	[ -n "$pid" ] || t_fail "pg_pause: PostgreSQL is not running"
	kill -s STOP "$pid"
	PG_PAUSED_PIDS="$pid $(t_children "$pid" | tr '\n' ' ')"
	# shellcheck disable=SC2086 # a list of PIDs
	kill -s STOP $PG_PAUSED_PIDS 2>/dev/null || true
}

# pg_resume - SIGCONT what pg_pause stopped
pg_resume() {
	[ -n "$PG_PAUSED_PIDS" ] || return 0
	# shellcheck disable=SC2086 # a list of PIDs
	kill -s CONT $PG_PAUSED_PIDS 2>/dev/null || true
	PG_PAUSED_PIDS=
}

# pg_psql - run psql against the test cluster, stopping at the first error
pg_psql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# pg_query - run one SQL string, print rows unaligned without headers
pg_query() {
	pg_psql -At -c "$1"
}

# pg_schema - apply every migration in sql/schema, in order, each in one transaction
pg_schema() {
	local f
	for f in "$BEACON_SRC"/sql/schema/[0-9]*.sql; do
		pg_psql -1 -f "$f" >/dev/null || t_fail "schema $f does not apply"
	done
}

PG_REPLICA_PORT=
PG_REPLICA_DATA=
PG_REPLICA_LOG=

# pg_replica_start - a hot standby streaming from the test cluster
pg_replica_start() {
	[ -n "$PG_DATA" ] || t_fail "pg_replica_start before pg_start"
	[ -z "$PG_REPLICA_DATA" ] || t_fail "pg_replica_start called twice"
	PG_REPLICA_DATA=$PG_DIR/replica
	PG_REPLICA_LOG=$PG_DIR/replica.log
	PG_REPLICA_PORT=$(t_free_port)
	# initdb's pg_hba.conf lets loopback replication connections in;
	# -c fast: no wait for a spread checkpoint, -R: standby.signal and
	# primary_conninfo written for us
	if ! pg_run_ "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres \
		-D "$PG_REPLICA_DATA" -R -X stream -c fast --no-sync \
		>"$PG_DIR/basebackup.out" 2>&1; then
		cat "$PG_DIR/basebackup.out" >&2
		t_fail "pg_basebackup failed"
	fi
	# the copied postgresql.conf names the primary's port: later lines win
	cat >>"$PG_REPLICA_DATA/postgresql.conf" <<-EOF

		# Beacon test replica
		port = $PG_REPLICA_PORT
		unix_socket_directories = ''
		hot_standby = on
		wal_receiver_status_interval = 1s
	EOF
	t_on_exit pg_replica_stop
	pg_server_start_ "$PG_REPLICA_DATA" "$PG_REPLICA_LOG" "$PG_REPLICA_PORT"
	export PG_REPLICA_PORT PG_REPLICA_DATA PG_REPLICA_LOG
}

# pg_replica_pid - print the replica's postmaster PID if it is running
pg_replica_pid() {
	PG_DATA=$PG_REPLICA_DATA pg_pid
}

# pg_replica_stop - fast shutdown of the replica, KILL if it hangs
pg_replica_stop() {
	local pid
	pid=$(pg_replica_pid)
	if [ -n "$pid" ]; then
		t_kill_pid "$pid" INT 10
	fi
	if [ "${T_EXIT_RC:-0}" != 0 ] && [ -n "$PG_REPLICA_LOG" ]; then
		PG_LOG=$PG_REPLICA_LOG pg_show_log_
	fi
	return 0
}

# pg_replica_query - one SQL string against the replica, rows unaligned
pg_replica_query() {
	PGPORT=$PG_REPLICA_PORT pg_psql -At -c "$1"
}

# pg_replica_wait [received] - until the replica replayed (or received) the primary's WAL
pg_replica_wait() {
	local lsn fn=pg_last_wal_replay_lsn
	[ "${1:-}" = received ] && fn=pg_last_wal_receive_lsn
	lsn=$(pg_query "SELECT pg_current_wal_lsn()")
	t_wait_until "[ \"\$(pg_replica_query \"SELECT $fn() >= '$lsn'::pg_lsn\")\" = t ]" 10 ||
		t_fail "the replica did not reach the primary's WAL position $lsn ($fn)"
}
