# shellcheck shell=bash
# NAME
#	sink.sh - smtp-sink as the far end of a test MTA: one dump file a message
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/sink.sh"
#	sink_start DIR
#
# DESCRIPTION
#	The private Postfix (postfix.sh) and the private Sendmail
#	(sendmail.sh) both relay every message to one smtp-sink; the tests
#	read what it received here.
#
#	sink_start DIR	start Postfix's smtp-sink on a free loopback port,
#			dumping each message to its own file in DIR (created,
#			owned by postfix). Registers sink_stop at exit.
#			SINK_OPTS: extra smtp-sink options (shell words), e.g.
#			"-r RCPT" to refuse a recipient.
#	sink_stop	stop smtp-sink by PID; no-op when already down.
#	sink_files	list the complete dumps, oldest first (by completion
#			time). A dump holds smtp-sink's envelope headers
#			(X-Mail-Args: <from> PARAMS, one X-Rcpt-Args: <rcpt>
#			PARAMS per RCPT, then a Received: line) and the
#			message as received, with LF line ends, plus an empty
#			last line.
#	sink_mail_from FILE	print the envelope sender of a dump.
#	sink_rcpts FILE	print its envelope recipients, one a line.
#	sink_rcpt_args FILE	print its X-Rcpt-Args lines as they are (the
#			recipient and its DSN parameters).
#	sink_message FILE	print the message alone, as received (without
#			smtp-sink's lines; LF line ends).
#	sink_count	print how many complete dumps there are.
#	sink_wait_delivered N [TIMEOUT_S]	wait (default 10 s) until at
#			least N dumps are complete; returns 1 on timeout.
#
#	Set by sink_start: SINK_DIR SINK_PORT SINK_PID.

if [ -n "${T_SINK_LOADED:-}" ]; then
	return 0
fi
T_SINK_LOADED=1

SINK_DIR=
SINK_PORT=
SINK_PID=

# sink_start - start smtp-sink on a free port, one dump file a message
sink_start() {
	local -a opts=()
	[ -z "$SINK_PID" ] || t_fail "sink_start called twice"
	SINK_DIR=$1
	mkdir -p "$SINK_DIR"
	chown postfix "$SINK_DIR"
	SINK_PORT=$(t_free_port)
	[ -n "${SINK_OPTS:-}" ] && eval "opts=($SINK_OPTS)"
	smtp-sink -u postfix -d "$SINK_DIR/%Y%m%d-%H%M%S." "${opts[@]}" \
		"127.0.0.1:$SINK_PORT" 64 </dev/null >>"$SINK_DIR.out" 2>&1 &
	SINK_PID=$!
	disown "$SINK_PID" 2>/dev/null || true
	export SINK_DIR SINK_PORT SINK_PID
	t_on_exit "SINK_PID='$SINK_PID' sink_stop"	# this sink, even after another starts
	if ! t_wait_until "t_port_listening $SINK_PORT || ! t_pid_alive $SINK_PID" 5 ||
		! t_pid_alive "$SINK_PID"; then
		cat "$SINK_DIR.out" >&2
		t_fail "smtp-sink did not start on 127.0.0.1:$SINK_PORT"
	fi
}

# sink_stop - stop smtp-sink by PID
sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	t_kill_pid "$SINK_PID" TERM 5
	SINK_PID=
}

# sink_open_ - print the files smtp-sink still has open
sink_open_() {
	local fd
	[ -n "$SINK_PID" ] && t_pid_alive "$SINK_PID" || return 0
	for fd in /proc/"$SINK_PID"/fd/*; do
		readlink "$fd" 2>/dev/null || true
	done
}

# sink_files - list complete sink dumps, oldest first
sink_files() {
	local open f
	[ -n "$SINK_DIR" ] || t_fail "sink_files before sink_start"
	open=$(sink_open_)
	find "$SINK_DIR" -type f -size +0 -printf '%T@ %p\n' | sort -n -k1,1 -k2 |
		while read -r _ f; do
			# A dump still open is a transaction in progress.
			if [ -z "$open" ] || ! grep -qxF -- "$f" <<<"$open"; then
				printf '%s\n' "$f"
			fi
		done
}

# sink_mail_from - print the envelope sender of a sink dump
sink_mail_from() {
	sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$1"
}

# sink_rcpts - print the envelope recipients of a sink dump, one a line
sink_rcpts() {
	sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$1"
}

# sink_rcpt_args - print the X-Rcpt-Args lines of a sink dump
sink_rcpt_args() {
	sed -n 's/^X-Rcpt-Args: //p' "$1"
}

# sink_message - print the message of a sink dump without smtp-sink's lines
sink_message() {
	# smtp-sink writes X-Client-*, X-Helo-Args, X-Mail-Args, X-Rcpt-Args,
	# a three-line Received: before the message and an empty line after.
	awk '
		!body && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): / { next }
		!body && /^Received: / && !seen { seen = 1; rcvd = 1; next }
		rcvd && /^[ \t]/ { next }
		{ body = 1; rcvd = 0; if (n++) print prev; prev = $0 }
	' "$1"
}

# sink_count - print the number of complete sink dumps
sink_count() {
	sink_files | wc -l
}

# sink_wait_delivered - wait until at least N complete dumps are in the sink
sink_wait_delivered() {
	t_wait_until "[ \$(sink_count) -ge $1 ]" "${2:-10}"
}
