# shellcheck shell=bash
# NAME
#	sendmail.sh - a private Sendmail instance relaying to smtp-sink, for tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/sendmail.sh"
#	SM_MILTER=unix:/path/milter.sock sm_start
#
# DESCRIPTION
#	Debian's Sendmail, without installing it: sendmail-bin, sendmail-base
#	and sendmail-cf are fetched once with apt-get download and unpacked
#	with dpkg -x under $BEACON_BUILD/sendmail (SM_ROOT), then every test
#	builds its own sendmail.cf from a private .mc with m4 and the
#	packages' cf tree. /etc/mail, the system queue and the system MTA
#	are never touched. Needs root, m4, liblockfile1 and libwrap0 (make
#	deps), and unshare(1): Sendmail sleeps 60 s before it reads its
#	config when the host name has no dot, so it runs in its own UTS and
#	mount namespace, named sm.beacon-test.example, with a private
#	/etc/hosts bound over the real one (where there is one: a minimal
#	root may have none, and the name alone is enough).
#
#	sm_start	start smtp-sink (sink.sh) and the private Sendmail:
#			a daemon on 127.0.0.1:$SM_SMTP_PORT (Name=MTA)
#			relaying every address to the sink (SMART_HOST and
#			MAIL_HUB), no DNS, a queue run every second. With
#			SM_MILTER set, the .mc includes
#			contrib/sendmail/beacon.mc as it ships (the test runs
#			the lines admins copy), with BEACON_SOCKET,
#			BEACON_FAILURE and BEACON_REINJECT_PORT defined:
#			beacon-milter on every daemon and the reinject daemon
#			(Name=beacon-reinject) on 127.0.0.1:$SM_REINJECT_PORT.
#			Registers sm_stop at exit.
#	sm_stop		stop Sendmail (its namespace, by unshare's PID) and
#			smtp-sink. No-op when already down. Sendmail logs to
#			syslog only (there is none here): the traffic log
#			$SM_LOG (sendmail -X: every SMTP command and reply,
#			in and out) is shown when the test failed.
#	sm_restart	stop and start again with the same ports, after a
#			test changed SM_FAILURE or SM_EXTRA_MC.
#	sm_queue_count	print how many messages the private queue holds.
#
#	Knobs read by sm_start:
#	SM_MILTER	beacon-milter's socket, Sendmail's form
#			(unix:/path or inet:port@host).
#	SM_FAILURE	"accept": BEACON_FAILURE defined empty (F=, deliver
#			untouched while the filter is down); otherwise
#			beacon.mc's default (F=T).
#	SM_REINJECT_FILTERS	BEACON_REINJECT_FILTERS (beacon.mc's default
#			when unset: beacon alone).
#	SM_EXTRA_MC	.mc lines placed after beacon.mc's, e.g. a DKIM
#			signer's INPUT_MAIL_FILTER (filters run in the order
#			they are defined).
#	SINK_OPTS	as in sink.sh.
#
#	Set after sm_start: SM_DIR SM_CF SM_QUEUE SM_LOG SM_SMTP_PORT
#	SM_REINJECT_PORT SM_PID (unshare's), and sink.sh's SINK_*.

if [ -n "${T_SM_LOADED:-}" ]; then
	return 0
fi
T_SM_LOADED=1

# shellcheck source=tests/lib/sink.sh
. "$BEACON_SRC/tests/lib/sink.sh"

SM_ROOT=${SM_ROOT:-$BEACON_BUILD/sendmail}
SM_DIR=
SM_PID=
SM_SMTP_PORT=
SM_REINJECT_PORT=
SM_HOST=sm.beacon-test.example

# sm_fetch_ - unpack Debian's sendmail packages under SM_ROOT once
sm_fetch_() {
	local dl
	[ -x "$SM_ROOT/usr/libexec/sendmail/sendmail" ] &&
		[ -r "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" ] && return 0
	command -v m4 >/dev/null || t_fail "m4 is not installed (make deps)"
	dl=$(mktemp -d "${TMPDIR:-/tmp}/beacon-sendmail-deb.XXXXXX")
	# apt downloads as root here (it warns that _apt cannot write the
	# directory); bounded, so an unreachable mirror fails the test in time
	if ! (cd "$dl" && timeout 120 apt-get download sendmail-bin sendmail-base sendmail-cf) \
		>"$dl/download.log" 2>&1; then
		cat "$dl/download.log" >&2
		rm -rf "$dl"
		t_fail "apt-get download of sendmail-bin sendmail-base sendmail-cf failed" \
			"(apt sources reachable? apt-get update)"
	fi
	rm -rf "$SM_ROOT.new"
	mkdir -p "$SM_ROOT.new"
	local deb
	for deb in "$dl"/*.deb; do
		dpkg -x "$deb" "$SM_ROOT.new" || { rm -rf "$dl"; t_fail "dpkg -x $deb failed"; }
	done
	rm -rf "$dl" "$SM_ROOT"
	mv "$SM_ROOT.new" "$SM_ROOT"
	if ldd "$SM_ROOT/usr/libexec/sendmail/sendmail" | grep 'not found' >&2; then
		t_fail "the unpacked sendmail lacks libraries (liblockfile1, libwrap0: make deps)"
	fi
}

# sm_write_mc_ - the private .mc: paths, the daemon, beacon.mc, the relay to the sink
sm_write_mc_() {
	{
		printf 'divert(-1)\n'
		printf 'dnl Private Sendmail instance for the Beacon end-to-end tests.\n'
		printf 'divert(0)dnl\n'
		printf "OSTYPE(\`linux')dnl\n"
		# paths under /tmp: Sendmail distrusts directories others may write
		printf "define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl\n"
		printf "define(\`QUEUE_DIR', \`%s')dnl\n" "$SM_QUEUE"
		printf "define(\`STATUS_FILE', \`%s/statistics')dnl\n" "$SM_DIR"
		printf "define(\`confPID_FILE', \`%s/sendmail.pid')dnl\n" "$SM_DIR"
		printf "define(\`ALIAS_FILE', \`%s/etc/aliases')dnl\n" "$SM_DIR"
		printf "define(\`confCW_FILE', \`-o %s/etc/local-host-names')dnl\n" "$SM_DIR"
		printf "define(\`confHELP_FILE', \`%s/etc/helpfile')dnl\n" "$SM_DIR"
		printf "define(\`confSERVICE_SWITCH_FILE', \`%s/etc/service.switch')dnl\n" "$SM_DIR"
		printf "define(\`confDELIVERY_MODE', \`background')dnl\n"
		printf "define(\`confTO_CONNECT', \`5s')dnl\n"
		printf "define(\`confTO_QUEUEWARN', \`0')dnl\n"
		printf "define(\`confMIN_QUEUE_AGE', \`0')dnl\n"
		printf "FEATURE(\`no_default_msa')dnl\n"
		printf "FEATURE(\`nocanonify')dnl\n"
		printf "FEATURE(\`accept_unresolvable_domains')dnl\n"
		printf "FEATURE(\`accept_unqualified_senders')dnl\n"
		printf "DAEMON_OPTIONS(\`Port=%s, Addr=127.0.0.1, Name=MTA')dnl\n" "$SM_SMTP_PORT"
		if [ -n "${SM_MILTER:-}" ]; then
			# what differs from beacon.mc's defaults, and nothing else:
			# the shipped defaults are what the cases run
			printf "define(\`BEACON_SOCKET', \`%s')dnl\n" "$SM_MILTER"
			printf "define(\`BEACON_REINJECT_PORT', \`%s')dnl\n" "$SM_REINJECT_PORT"
			[ "${SM_FAILURE:-}" != accept ] ||
				printf "define(\`BEACON_FAILURE', \`')dnl\n"
			[ -z "${SM_REINJECT_FILTERS:-}" ] ||
				printf "define(\`BEACON_REINJECT_FILTERS', \`%s')dnl\n" "$SM_REINJECT_FILTERS"
			printf "include(\`%s')dnl\n" "$BEACON_SRC/contrib/sendmail/beacon.mc"
		fi
		[ -z "${SM_EXTRA_MC:-}" ] || printf '%s\n' "$SM_EXTRA_MC"
		printf "define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl\n"
		printf "define(\`MAIL_HUB', \`relay:[127.0.0.1]')dnl\n"
		printf "define(\`RELAY_MAILER_ARGS', \`TCP \$h %s')dnl\n" "$SINK_PORT"
		printf "MAILER(\`smtp')dnl\n"
	} >"$SM_DIR/sendmail.mc"
}

# sm_write_cf_ - sendmail.cf from the .mc (m4 and the packages' cf tree)
sm_write_cf_() {
	local cf=$SM_ROOT/usr/share/sendmail/cf
	sm_write_mc_
	if ! m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$SM_DIR/sendmail.mc" \
		>"$SM_CF" 2>"$SM_DIR/m4.err" || [ -s "$SM_DIR/m4.err" ]; then
		cat "$SM_DIR/m4.err" >&2
		t_fail "m4 could not build sendmail.cf from $SM_DIR/sendmail.mc"
	fi
}

# sm_daemon_start_ - the daemon in its own UTS and mount namespace
sm_daemon_start_() {
	local seen=0
	[ -f "$SM_LOG" ] && seen=$(wc -l <"$SM_LOG")
	cat >"$SM_DIR/run.sh" <<-EOF
		#!/bin/bash
		# run.sh - Sendmail in this namespace: a dotted host name, a private /etc/hosts
		set -e
		hostname $SM_HOST
		if [ -e /etc/hosts ]; then
			mount --bind $SM_DIR/etc/hosts /etc/hosts
		fi
		exec $SM_ROOT/usr/libexec/sendmail/sendmail -C $SM_CF -bD -q1s -X $SM_LOG
	EOF
	# its own PID namespace too: when the daemon, its first process,
	# ends, the kernel ends the queue runners it forks every second and
	# their children (sm_stop_daemon_)
	unshare --uts --mount --propagation private --pid --fork --kill-child \
		bash "$SM_DIR/run.sh" </dev/null >>"$SM_DIR/sendmail.out" 2>&1 &
	SM_PID=$!
	export SM_PID
	if ! t_wait_until "{ t_port_listening $SM_SMTP_PORT &&
		{ [ -z '$SM_REINJECT_PORT' ] || t_port_listening '$SM_REINJECT_PORT'; }; } ||
		! t_pid_alive $SM_PID" 15 || ! t_pid_alive "$SM_PID"; then
		cat "$SM_DIR/sendmail.out" >&2
		t_port_listening "$SM_SMTP_PORT" ||
			t_fail "private Sendmail did not start on 127.0.0.1:$SM_SMTP_PORT"
		t_fail "private Sendmail has no reinject daemon on 127.0.0.1:$SM_REINJECT_PORT" \
			"(contrib/sendmail/beacon.mc's DAEMON_OPTIONS)"
	fi
}

# sm_start - start smtp-sink and the private Sendmail instance
sm_start() {
	[ "$(id -u)" = 0 ] || t_fail "a private Sendmail instance needs root"
	command -v unshare >/dev/null || t_fail "unshare (util-linux) is not installed"
	[ -z "$SM_DIR" ] || t_fail "sm_start called twice"
	sm_fetch_
	t_tmpdir >/dev/null
	SM_DIR=$T_DIR/sm
	SM_CF=$SM_DIR/sendmail.cf
	SM_QUEUE=$SM_DIR/queue
	SM_LOG=$SM_DIR/traffic.log
	mkdir -p "$SM_DIR/etc" "$SM_QUEUE"
	chmod 0700 "$SM_QUEUE"
	: >"$SM_DIR/etc/aliases"
	: >"$SM_DIR/etc/local-host-names"
	: >"$SM_DIR/etc/helpfile"
	printf 'hosts files\naliases files\n' >"$SM_DIR/etc/service.switch"
	printf '127.0.0.1 %s sm localhost\n::1 localhost\n' "$SM_HOST" >"$SM_DIR/etc/hosts"
	export SM_DIR SM_CF SM_QUEUE SM_LOG

	sink_start "$SM_DIR/sink"
	SM_SMTP_PORT=$(t_free_port)
	SM_REINJECT_PORT=
	[ -n "${SM_MILTER:-}" ] && SM_REINJECT_PORT=$(t_free_port)
	export SM_SMTP_PORT SM_REINJECT_PORT
	sm_write_cf_
	t_on_exit sm_stop
	sm_daemon_start_
}

# sm_stop_daemon_ - stop the namespace's first process, Sendmail (unshare's child):
# the kernel then kills the rest of its PID namespace, and unshare returns.
# (--kill-child alone does not do it: sendmail is set-group-ID, and exec
# of such a program clears the parent-death signal.)
sm_stop_daemon_() {
	local k
	[ -n "$SM_PID" ] || return 0
	for k in $(t_children "$SM_PID"); do
		t_kill_pid "$k" TERM 10
	done
	t_kill_pid "$SM_PID" TERM 10
	SM_PID=
}

# sm_stop - stop the private Sendmail and the sink
sm_stop() {
	sm_stop_daemon_
	if [ "${T_EXIT_RC:-0}" != 0 ] && [ -n "$SM_DIR" ]; then
		printf -- '--- %s (last 30 lines)\n' "$SM_LOG" >&2
		tail -n 30 "$SM_LOG" >&2 2>/dev/null || true
		cat "$SM_DIR/sendmail.out" >&2 2>/dev/null || true
	fi
	sink_stop
	return 0
}

# sm_restart - a new sendmail.cf from the knobs, the daemon again on the same ports
sm_restart() {
	sm_stop_daemon_
	sm_write_cf_
	sm_daemon_start_
}

# sm_queue_count - print the number of messages in the private queue
sm_queue_count() {
	find "$SM_QUEUE" -maxdepth 1 -type f -name 'qf*' | wc -l
}
