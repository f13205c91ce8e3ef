# shellcheck shell=bash
# NAME
#	beacon.sh - beacon-milter, mail streams, hostile clients and process
#	checks for the fault, hostile-input and privilege tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	. "$BEACON_SRC/tests/lib/postfix.sh"
#	. "$BEACON_SRC/tests/lib/beacon.sh"
#	pg_start; pg_schema
#	bc_milter_config 'statement_timeout = 1000'	# [database] lines
#	bc_milter_start; PF_MILTER=unix:$BC_MSOCK pf_start
#	bc_send 200 m -c 4 -o "$T_DIR/sent"
#	bc_sink_scan >"$T_DIR/delivered"
#
# DESCRIPTION
#	bc_secret FILE [KID]	write a 0600 secret file (one random key).
#	bc_milter_config [LINE...]	write $BC_MCONF: [milter] on the unix
#			socket $BC_MSOCK, user postfix, spool in $BC_MDIR/spool,
#			base_url $BC_BASE, [database] on $BEACON_CONNINFO with
#			connect_timeout 2; LINEs are appended verbatim (a line
#			"[section]" starts that section again).  BC_MNAME
#			(default milter) names the directory $T_DIR/NAME, the
#			config NAME.conf and the log NAME.log: a second milter
#			gets its own (the secret $T_DIR/milter.secret is shared).
#	bc_milter_start	start $BEACON_BUILD/beacon-milter -f on $BC_MCONF
#			(and $BC_MILTER_ARGS, e.g. -d)
#			(BC_MPID, log $BC_MLOG appended), wait for its
#			"listening on" line and the socket; stopped at exit.
#	bc_milter_kill	SIGKILL the milter and reap it.
#	bc_send N PREFIX [-c CONNS] [-o FILE] [--first I] [--delay-ms D]
#			submit N tagged HTML messages over SMTP to Postfix
#			(recipient PREFIX<i>@remote.example, Message-ID
#			<PREFIX<i>@sender.example>), CONNS sessions; FILE gets
#			"i rcpt code ms" per message; prints "accepted K of N,
#			max MS ms".  A session that fails is reopened once per
#			message; nothing is retried after a 250
#			(tests/lib/mailstream.py send).
#	bc_sink_scan	one line per complete sink dump: "rcpt token state",
#			token "-" when no pixel, state "identical" when the
#			message is byte for byte what bc_send submitted (apart
#			from the Received: headers Postfix added), else "changed"
#			(tests/lib/mailstream.py sink).
#	bc_hostile ARGS	run the hostile HTTP client tests/lib/hostile.py:
#			slowloris, idle, flood, pipeline, oversize, opens (unique-token
#			opens until the server dies; OUT gets the uuid of
#			every answered one).
#	bc_proc PID FIELD	a /proc/PID/status field's first value
#			(VmRSS, VmHWM in kB; Uid, Gid: the real uid).
#	bc_no_sanitizer LOG	fail if LOG holds a sanitizer report.
#	bc_mount_tmpfs DIR SIZE	mount a tmpfs of SIZE on DIR (created),
#			unmounted at exit.
#
#	Every client loop is bounded in count and time; everything is on
#	127.0.0.1.

if [ -n "${T_BEACON_LOADED:-}" ]; then
	return 0
fi
T_BEACON_LOADED=1

BC_MPID=
BC_MDIR=
BC_MSOCK=
BC_MCONF=
BC_MLOG=
BC_BASE=
BC_MAIL_PY=$BEACON_SRC/tests/lib/mailstream.py
BC_HOSTILE_PY=$BEACON_SRC/tests/lib/hostile.py

# bc_secret - write a private secret file with one random key
bc_secret() {
	(umask 077 && printf '%s %s\n' "${2:-1}" \
		"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$1")
}

# bc_milter_config - write the milter's beacon.conf
bc_milter_config() {
	local l
	t_tmpdir >/dev/null
	BC_MDIR=$T_DIR/${BC_MNAME:-milter}
	BC_MSOCK=$BC_MDIR/milter.sock
	BC_MCONF=$T_DIR/${BC_MNAME:-milter}.conf
	BC_MLOG=$T_DIR/${BC_MNAME:-milter}.log
	[ -n "$BC_BASE" ] || BC_BASE=http://127.0.0.1:$(t_free_port)
	mkdir -p "$BC_MDIR"
	chown postfix: "$BC_MDIR"
	[ -s "$T_DIR/milter.secret" ] || bc_secret "$T_DIR/milter.secret" 1
	{
		printf 'base_url = %s\nsecret_file = %s\n\n' "$BC_BASE" "$T_DIR/milter.secret"
		printf '[milter]\nsocket = unix:%s\nuser = postfix\n' "$BC_MSOCK"
		printf 'pidfile = %s/milter.pid\nspool_dir = %s/spool\n' "$BC_MDIR" "$BC_MDIR"
		printf '\n'
		printf '[database]\nconninfo = %s\nconnect_timeout = 2\n' \
			"${BEACON_CONNINFO:-dbname=beacon}"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$BC_MCONF"
	export BC_MDIR BC_MSOCK BC_MCONF BC_MLOG BC_BASE
}

# bc_milter_start - run the milter under test in the background
bc_milter_start() {
	local milter=$BEACON_BUILD/beacon-milter
	[ -x "$milter" ] || t_fail "no $milter (build first)"
	[ -n "$BC_MCONF" ] || t_fail "bc_milter_start before bc_milter_config"
	local seen
	# a socket a killed milter left behind is the new one's to replace:
	# wait for the new "listening" line, not for the file
	seen=$(grep -c ': listening on ' "$BC_MLOG" 2>/dev/null || true)
	# shellcheck disable=SC2086 # BC_MILTER_ARGS: words
	"$milter" -f -c "$BC_MCONF" ${BC_MILTER_ARGS:-} >>"$BC_MLOG" 2>&1 &
	BC_MPID=$!
	t_on_exit "t_kill_pid $BC_MPID TERM 15"
	if ! t_wait_until "[ \$(grep -c ': listening on ' '$BC_MLOG') -gt ${seen:-0} ] ||
		! t_pid_alive $BC_MPID" 15 || ! t_pid_alive "$BC_MPID" || [ ! -S "$BC_MSOCK" ]; then
		cat "$BC_MLOG" >&2
		t_fail "beacon-milter did not start listening on $BC_MSOCK"
	fi
}

# bc_milter_kill - SIGKILL the milter and reap it
bc_milter_kill() {
	[ -n "$BC_MPID" ] || return 0
	kill -s KILL "$BC_MPID" 2>/dev/null || true
	t_wait_until "! t_pid_alive $BC_MPID" 5 || t_fail "milter $BC_MPID survived SIGKILL"
	wait "$BC_MPID" 2>/dev/null || true
	BC_MPID=
}

# bc_no_sanitizer - fail if LOG holds a sanitizer report
bc_no_sanitizer() {
	if grep -E "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" >/dev/null; then
		grep -E -A 30 "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" | head -n 60 >&2
		t_fail "sanitizer report in $1"
	fi
	t_ok "no sanitizer report in $(basename "$1")"
}

# bc_proc - first value of FIELD in /proc/PID/status
bc_proc() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"
}

# bc_mount_tmpfs - a small tmpfs on DIR, unmounted at exit
bc_mount_tmpfs() {
	local dir=$1 size=$2
	mkdir -p "$dir"
	mount -t tmpfs -o "size=$size,mode=0755" beacon-test "$dir" ||
		t_fail "cannot mount a tmpfs on $dir"
	t_on_exit "umount -l '$dir'"
}

# bc_send - submit N tagged messages to the private Postfix
bc_send() {
	local n=$1 prefix=$2
	shift 2
	python3 "$BC_MAIL_PY" send 127.0.0.1 "$PF_SMTP_PORT" "$n" "$prefix" "$BC_BASE" "$@"
}

# bc_sink_scan - rcpt, token and state of every complete sink dump
bc_sink_scan() {
	pf_sink_files | python3 "$BC_MAIL_PY" sink "$BC_BASE"
}

# bc_hostile - run one hostile HTTP client command
bc_hostile() {
	python3 "$BC_HOSTILE_PY" "$@"
}
