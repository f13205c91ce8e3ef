# shellcheck shell=bash
# NAME
#	postfix.sh - a private Postfix instance relaying to smtp-sink, for tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/postfix.sh"
#	pf_start
#
# DESCRIPTION
#	Everything lives in $T_DIR/pf: config (etc/), queue (queue/), data
#	(data/), the maillog and the sink dumps. /etc/postfix and the system
#	queue are never touched and the system Postfix is never started.
#	Needs root (postfix(1) refuses anyone else).
#
#	pf_start	start smtp-sink (sink.sh) on a free loopback port,
#			dumping each message to its own file in $PF_SINK_DIR, then the
#			private Postfix: smtpd on 127.0.0.1:$PF_SMTP_PORT,
#			relaying every domain to the sink, no local delivery,
#			no DNS, 1 s queue timers. Registers pf_stop at exit.
#	pf_stop		stop Postfix (master by PID, then its children) and
#			smtp-sink (by PID). No-op when already down.
#	pf_sink_*	sink.sh's sink_* readers, under these names:
#	pf_sink_files	list the complete sink dumps, oldest first (by
#			completion time). A dump holds smtp-sink's envelope
#			headers (X-Mail-Args: <from> PARAMS, one X-Rcpt-Args:
#			<rcpt> PARAMS per RCPT, then a Received: line) and the
#			message as received, with LF line ends, plus an empty
#			last line.
#	pf_sink_mail_from FILE	print the envelope sender of a dump.
#	pf_sink_rcpts FILE	print its envelope recipients, one a line.
#	pf_sink_message FILE	print the message alone, as received (without
#			smtp-sink's lines; LF line ends).
#	pf_sink_count	print how many complete dumps there are.
#	pf_wait_delivered N [TIMEOUT_S]	wait (default 10 s) until at least
#			N dumps are complete; returns 1 on timeout.
#	pf_flush	postqueue -f for the private instance.
#	pf_queue_count	print how many messages the private queue holds
#			(maildrop, incoming, active, deferred, hold, and
#			corrupt: a file qmgr saved there is never delivered).
#	pf_log		print the private maillog's path.
#	pf_reload	postfix reload after editing $PF_CONF/main.cf or
#			master.cf (backdates them first, see pf_cool_config_).
#	pf_sendmail ARGS...	sendmail(1) submission into the private
#			instance (goes through pickup and non_smtpd_milters).
#
#	pf_new NAME	forget the running instance's names (PF_*, the
#			sink's SINK_*) so that pf_start starts another one in
#			$T_DIR/NAME; the first one is still stopped at exit.
#			Keep what the test needs of it (PF_SMTP_PORT,
#			PF_SINK_DIR) before.
#
#	Knobs read by pf_start:
#	PF_MILTER	smtpd_milters and non_smtpd_milters value (with
#			milter_default_action = accept, milter_protocol = 6).
#	PF_REINJECT=1	a second smtpd on 127.0.0.1:$PF_REINJECT_PORT with
#			no milters and no content filter.
#	PF_SINK_OPTS	extra smtp-sink options (shell words), e.g. "-r RCPT".
#	PF_EXTRA_MAINCF	main.cf lines; each replaces the entry it names.
#	PF_EXTRA_MASTERCF	master.cf lines, appended as they are (e.g. a
#			second smtpd with its own -o options).
#
#	Set after pf_start: PF_DIR PF_CONF PF_QUEUE PF_DATA PF_LOG
#	PF_SINK_DIR PF_SINK_PORT PF_SINK_PID PF_SMTP_PORT PF_REINJECT_PORT
#	PF_MASTER_PID.

if [ -n "${T_PF_LOADED:-}" ]; then
	return 0
fi
T_PF_LOADED=1

# shellcheck source=tests/lib/sink.sh
. "$BEACON_SRC/tests/lib/sink.sh"

PF_DIR=
PF_CONF=
PF_QUEUE=
PF_LOG=
PF_SINK_DIR=
PF_SINK_PID=
PF_MASTER_PID=

# pf_master_pid_ - print the running master's PID from its pid file
pf_master_pid_() {
	local pid
	[ -n "$PF_QUEUE" ] && [ -r "$PF_QUEUE/pid/master.pid" ] || return 0
	read -r pid 2>/dev/null <"$PF_QUEUE/pid/master.pid" || return 0
	if t_pid_alive "$pid"; then
		printf '%s\n' "$pid"
	fi
}

# pf_show_log_ - print the maillog's tail to stderr
pf_show_log_() {
	[ -n "$PF_LOG" ] && [ -r "$PF_LOG" ] || return 0
	printf -- '--- %s (last 30 lines)\n' "$PF_LOG" >&2
	tail -n 30 "$PF_LOG" >&2
	# a fault seconds before the end (a daemon throttled after "bad
	# command startup", a queue file saved to corrupt) is what explains
	# a late or lost delivery: every such line, and the queues' contents
	printf -- '--- %s: warning, fatal and panic lines (first 60)\n' "$PF_LOG" >&2
	grep -E ': (warning|fatal|panic): ' "$PF_LOG" | grep -v ': milter unix:' | head -n 60 >&2 || true
	if [ -n "$PF_QUEUE" ]; then
		printf -- '--- queue files left (deferred, hold, corrupt, active, incoming)\n' >&2
		(cd "$PF_QUEUE" && find deferred hold corrupt active incoming defer bounce \
			-type f 2>/dev/null | head -n 40) >&2 || true
	fi
}

# pf_start_sink_ - the sink (sink.sh) in $PF_DIR/sink, its names as PF_SINK_*
pf_start_sink_() {
	SINK_OPTS=${PF_SINK_OPTS:-} sink_start "$PF_DIR/sink"
	PF_SINK_DIR=$SINK_DIR PF_SINK_PORT=$SINK_PORT PF_SINK_PID=$SINK_PID
}

# pf_write_maincf_ - write the private main.cf from scratch
pf_write_maincf_() {
	cat >"$PF_CONF/main.cf" <<-EOF
		# Private Postfix instance for the Beacon end-to-end tests.
		compatibility_level = 3.6
		queue_directory = $PF_QUEUE
		data_directory = $PF_DATA
		mail_owner = postfix
		setgid_group = postdrop
		maillog_file = $PF_LOG
		maillog_file_prefixes = $PF_DIR

		myhostname = mx.beacon-test.example
		mydomain = beacon-test.example
		myorigin = \$myhostname
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8 [::1]/128

		# No local delivery: every address is remote and goes to the sink.
		mydestination =
		local_recipient_maps =
		local_transport = error:5.1.1 local delivery is disabled
		alias_maps =
		alias_database =
		relay_domains =
		smtpd_relay_restrictions = permit_mynetworks, reject
		relayhost = [127.0.0.1]:$PF_SINK_PORT
		default_transport = smtp
		relay_transport = smtp

		# No DNS.
		smtp_host_lookup = native
		smtp_dns_support_level = disabled
		lmtp_host_lookup = native

		# Quick queue.
		queue_run_delay = 1s
		minimal_backoff_time = 1s
		maximal_backoff_time = 2s
		delay_warning_time = 0h
		smtp_connect_timeout = 5s
		smtpd_error_sleep_time = 0
		in_flow_delay = 0
		smtputf8_enable = yes
		biff = no
		smtp_tls_security_level = none
		smtpd_tls_security_level = none
	EOF
	if [ -n "${PF_MILTER:-}" ]; then
		cat >>"$PF_CONF/main.cf" <<-EOF

			smtpd_milters = $PF_MILTER
			non_smtpd_milters = $PF_MILTER
			milter_default_action = accept
			milter_protocol = 6
			milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
		EOF
	fi
	if [ -n "${PF_EXTRA_MAINCF:-}" ]; then
		# Drop the entries the extra lines redefine: Postfix warns
		# about every duplicate, in every program it runs.
		printf '%s\n' "$PF_EXTRA_MAINCF" >"$PF_CONF/extra.cf"
		awk '
			FNR == NR {
				if (match($0, /^[A-Za-z0-9_]+[ \t]*=/)) {
					n = $0; sub(/[ \t]*=.*/, "", n); redef[n] = 1
				}
				next
			}
			{ n = $0; sub(/[ \t]*=.*/, "", n) }
			!(n in redef)
		' "$PF_CONF/extra.cf" "$PF_CONF/main.cf" >"$PF_CONF/main.cf.new"
		cat "$PF_CONF/extra.cf" >>"$PF_CONF/main.cf.new"
		mv "$PF_CONF/main.cf.new" "$PF_CONF/main.cf"
		rm -f "$PF_CONF/extra.cf"
	fi
}

# pf_write_mastercf_ - master.cf from the package template, chroot off
pf_write_mastercf_() {
	local tpl=/usr/share/postfix/master.cf.dist
	[ -r "$tpl" ] || tpl=/etc/postfix/master.cf
	[ -r "$tpl" ] || t_fail "no master.cf template (postfix installed?)"
	# Drop the public smtpd and the pipe(8) services (users that do not
	# exist here), turn chroot off everywhere. postconf -M/-F would do
	# the same at 0.25 s a call.
	awk '
		/^[ \t]/ { if (!skip) print; next }
		/^#/ || NF < 8 { skip = 0; print; next }
		{
			skip = ($1 == "smtp" && $2 == "inet") ||
				$1 ~ /^(maildrop|uucp|ifmail|bsmtp|scalemail-backend|mailman)$/
			if (skip) next
			if ($1 == "postlog") postlog = 1
			$5 = "n"
			print
		}
		END {
			if (!postlog)
				print "postlog unix-dgram n - n - 1 postlogd"
		}
	' "$tpl" >"$PF_CONF/master.cf"
	printf '127.0.0.1:%s inet n - n - - smtpd\n' "$PF_SMTP_PORT" \
		>>"$PF_CONF/master.cf"
	if [ "${PF_REINJECT:-0}" = 1 ]; then
		printf '%s\n' "127.0.0.1:$PF_REINJECT_PORT inet n - n - - smtpd" \
			"  -o syslog_name=postfix/reinject" \
			"  -o smtpd_milters=" "  -o non_smtpd_milters=" \
			"  -o content_filter=" >>"$PF_CONF/master.cf"
	fi
	if [ -n "${PF_EXTRA_MASTERCF:-}" ]; then
		printf '%s\n' "$PF_EXTRA_MASTERCF" >>"$PF_CONF/master.cf"
	fi
}

# pf_cool_config_ - backdate main.cf and master.cf by 10 s
pf_cool_config_() {
	# Every Postfix program waits (300 ms steps) until main.cf is at
	# least 2 s old, so a fresh file would cost 2 s per process start.
	touch -d "@$(($(date +%s) - 10))" "$PF_CONF/main.cf" "$PF_CONF/master.cf"
}

# pf_make_queue_ - create the queue tree as postfix-files says; true if done
pf_make_queue_() {
	local files=/etc/postfix/postfix-files path type owner group mode _ d
	[ -r "$files" ] || return 1
	# shellcheck disable=SC2016 # postfix-files holds literal $names
	while IFS=: read -r path type owner group mode _; do
		case $path in
		'$queue_directory/'*) ;;
		*) continue ;;
		esac
		[ "$type" = d ] || continue
		d=$PF_QUEUE/${path#\$queue_directory/}
		[ "$owner" = '$mail_owner' ] && owner=postfix
		[ "$group" = '$setgid_group' ] && group=postdrop
		[ "$group" = - ] && group=
		mkdir -p "$d"
		chown "$owner${group:+:$group}" "$d"
		chmod "$mode" "$d"
	done <"$files"
	[ -d "$PF_QUEUE/maildrop" ] && [ -d "$PF_QUEUE/pid" ]
}

# pf_start - start smtp-sink and the private Postfix instance
pf_start() {
	[ "$(id -u)" = 0 ] || t_fail "a private Postfix instance needs root"
	if ! command -v postconf >/dev/null || ! command -v smtp-sink >/dev/null; then
		t_fail "postfix (postconf, smtp-sink) is not installed"
	fi
	[ -z "$PF_DIR" ] || t_fail "pf_start called twice (pf_new starts another instance)"
	t_tmpdir >/dev/null
	PF_DIR=$T_DIR/${PF_NAME:-pf}
	PF_CONF=$PF_DIR/etc
	PF_QUEUE=$PF_DIR/queue
	PF_DATA=$PF_DIR/data
	PF_LOG=$PF_DIR/maillog
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DATA"
	chmod 0755 "$PF_QUEUE"
	chown postfix "$PF_DATA"
	chmod 0700 "$PF_DATA"
	export PF_DIR PF_CONF PF_QUEUE PF_DATA PF_LOG

	pf_start_sink_
	PF_SMTP_PORT=$(t_free_port)
	PF_REINJECT_PORT=
	[ "${PF_REINJECT:-0}" = 1 ] && PF_REINJECT_PORT=$(t_free_port)
	export PF_SINK_DIR PF_SINK_PORT PF_SINK_PID PF_SMTP_PORT PF_REINJECT_PORT
	pf_write_maincf_
	pf_write_mastercf_
	pf_cool_config_

	# this instance's names, whatever pf_new changes later
	t_on_exit "PF_QUEUE='$PF_QUEUE' PF_LOG='$PF_LOG' SINK_PID='$SINK_PID' pf_stop"
	# With the queue tree made here, "postfix start" may skip its
	# integrity checks (post-install, postsuper): 0.1 s instead of 1-2 s.
	if pf_make_queue_; then
		touch "$PF_QUEUE/quick-start"
	fi
	# postfix(1) reports errors only to a terminal or the maillog.
	if ! script -qec "postfix -c '$PF_CONF' start" /dev/null \
		</dev/null >"$PF_DIR/postfix-start.out" 2>&1; then
		cat "$PF_DIR/postfix-start.out" >&2
		pf_show_log_
		t_fail "private Postfix did not start"
	fi
	PF_MASTER_PID=$(pf_master_pid_)
	[ -n "$PF_MASTER_PID" ] || { pf_show_log_; t_fail "no Postfix master running"; }
	export PF_MASTER_PID
	t_wait_port "$PF_SMTP_PORT" 10 ||
		{ pf_show_log_; t_fail "Postfix smtpd not listening on $PF_SMTP_PORT"; }
	if [ -n "$PF_REINJECT_PORT" ]; then
		t_wait_port "$PF_REINJECT_PORT" 10 ||
			{ pf_show_log_; t_fail "reinject smtpd not listening on $PF_REINJECT_PORT"; }
	fi
}

# pf_stop - stop the private Postfix (master and children), then the sink
pf_stop() {
	local pid kids k
	pid=$(pf_master_pid_)
	if [ -n "$pid" ]; then
		kids=$(t_children "$pid")
		# The master passes SIGTERM on to its children and exits.
		t_kill_pid "$pid" TERM 10
		for k in $kids; do
			t_kill_pid "$k" TERM 5
		done
	fi
	if [ "${T_EXIT_RC:-0}" != 0 ]; then
		pf_show_log_
	fi
	sink_stop
	return 0
}

# pf_new - let pf_start start another instance in $T_DIR/NAME
pf_new() {
	PF_NAME=$1
	PF_DIR= PF_CONF= PF_QUEUE= PF_DATA= PF_LOG= PF_MASTER_PID=
	PF_SMTP_PORT= PF_REINJECT_PORT= PF_SINK_DIR= PF_SINK_PORT= PF_SINK_PID=
	SINK_DIR= SINK_PORT= SINK_PID=
}

# pf_sink_* - the sink's readers (sink.sh), under the names the tests know
pf_sink_files() { sink_files; }
pf_sink_mail_from() { sink_mail_from "$1"; }
pf_sink_rcpts() { sink_rcpts "$1"; }
pf_sink_message() { sink_message "$1"; }
pf_sink_count() { sink_count; }
pf_wait_delivered() { sink_wait_delivered "$@"; }

# pf_flush - attempt delivery of everything queued in the private instance
pf_flush() {
	postqueue -c "$PF_CONF" -f
}

# pf_queue_count - print the number of messages in the private queue
pf_queue_count() {
	local d n=0 f
	for d in maildrop incoming active deferred hold corrupt; do
		[ -d "$PF_QUEUE/$d" ] || continue
		f=$(find "$PF_QUEUE/$d" -type f | wc -l)
		n=$((n + f))
	done
	printf '%s\n' "$n"
}

# pf_log - print the path of the private maillog
pf_log() {
	printf '%s\n' "$PF_LOG"
}

# pf_reload - re-read main.cf/master.cf after a test edited them
pf_reload() {
	pf_cool_config_
	postfix -c "$PF_CONF" reload >/dev/null 2>&1 ||
		{ pf_show_log_; t_fail "postfix reload failed"; }
}

# pf_sendmail - submit a message with sendmail(1) to the private instance
pf_sendmail() {
	/usr/sbin/sendmail -C "$PF_CONF" "$@"
}
