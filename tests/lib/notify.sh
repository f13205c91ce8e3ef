# shellcheck shell=bash
# NAME
#	notify.sh - run beacon-notify and a webhook receiver in the tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	. "$BEACON_SRC/tests/lib/notify.sh"
#	pg_start; pg_schema
#	wh_start				# the receiver, WH_PORT, WH_URL
#	wh_secret /alice "$secret"		# the path's signing secret
#	nt_config 'notify_interval = 1'		# [notify] lines added
#	nt_start
#	wh_wait_accepted 2 10; wh_count
#	nt_stop
#
# DESCRIPTION
#	wh_start [ARGS]	start tests/fixtures/webhook_receiver.py serve on a
#			free loopback port (WH_PORT, WH_URL, WH_PID), logging
#			every request as a JSON line to $WH_LOG, secrets from
#			$WH_SECRETS, answering 503 while $WH_DOWN exists;
#			ARGS go to the receiver (e.g. --status 200).  Waits
#			until it listens; stopped at exit.  Once WH_PORT is
#			set, a new wh_start reuses it (the receiver coming
#			back on the same address).
#	wh_stop		SIGTERM the receiver, wait for it.
#	wh_secret PATH HEX [STATUS [DELAY]]	let the receiver check requests
#			to PATH with HEX (and answer them STATUS, 3xx with a
#			Location, DELAY seconds after they are logged).
#	wh_down / wh_up	answer 503 to everything / answer normally again.
#	wh_count	"DELIVERY ACCEPTED TOTAL" per Beacon-Delivery id
#			(what webhook_receiver.py count prints, in awk).
#	wh_requests	number of requests logged so far.
#	wh_accepted	number of requests answered 2xx (good signature,
#			fresh timestamp).
#	wh_wait_accepted N [TIMEOUT_S]	wait until N were accepted.
#	wh_field DELIVERY EXPR...	print each Python EXPR over the body
#			(b: parsed, raw: its bytes; r: the whole log record) of
#			the last accepted request with its DELIVERY id, one a
#			line, e.g. 'b["message"]["subject"]' (pairs: one
#			python3 start for all).
#
#	nt_config [LINE...]	write $NT_CONF: [notify] with user nobody
#			(when root), pidfile in T_DIR, smtp_url on $SINK_PORT
#			when set, then LINEs, then [database] on
#			$NT_CONNINFO (default $BEACON_CONNINFO).
#	nt_start	start $BEACON_BUILD/beacon-notify -f -c $NT_CONF in
#			the background (NT_PID, log $NT_LOG appended), wait
#			until this start logs that it listens on beacon_event
#			(NT_READY_RE, an extended regex); stopped at exit.
#	nt_stop		SIGTERM, wait, fail unless it exited 0.
#	nt_deliveries [WHERE]	count beacon.notify_deliveries rows (d)
#			joined to their notify_jobs (j) matching WHERE.
#	nt_wait_state STATE N [WHERE] [TIMEOUT_S]	wait (default 15 s)
#			until N of those rows matching WHERE have STATE.

if [ -n "${T_NOTIFY_LOADED:-}" ]; then
	return 0
fi
T_NOTIFY_LOADED=1

WH_PY=$BEACON_SRC/tests/fixtures/webhook_receiver.py
WH_PID=
WH_PORT=
WH_URL=
WH_LOG=
WH_SECRETS=
WH_DOWN=
NT_PID=
NT_CONF=
NT_LOG=

# wh_start - start the webhook receiver on loopback
wh_start() {
	local ready
	t_tmpdir >/dev/null
	[ -z "$WH_PID" ] || t_fail "wh_start: the receiver already runs"
	WH_LOG=$T_DIR/webhooks.jsonl
	WH_SECRETS=$T_DIR/webhook.secrets
	WH_DOWN=$T_DIR/webhook.down
	ready=$T_DIR/webhook.ready
	touch "$WH_LOG" "$WH_SECRETS"
	[ -n "$WH_PORT" ] || WH_PORT=$(t_free_port)
	WH_URL=http://127.0.0.1:$WH_PORT
	rm -f "$ready"
	python3 "$WH_PY" serve --port "$WH_PORT" --secrets "$WH_SECRETS" --log "$WH_LOG" \
		--down-file "$WH_DOWN" --ready-file "$ready" "$@" \
		</dev/null >>"$T_DIR/webhook.out" 2>&1 &
	WH_PID=$!
	t_on_exit "t_kill_pid $WH_PID TERM 5"
	if ! t_wait_until "[ -s '$ready' ] || ! t_pid_alive $WH_PID" 15 || ! t_pid_alive "$WH_PID"; then
		cat "$T_DIR/webhook.out" >&2
		t_fail "webhook receiver did not start on 127.0.0.1:$WH_PORT"
	fi
	export WH_PORT WH_URL WH_LOG
}

# wh_stop - stop the receiver by PID
wh_stop() {
	[ -n "$WH_PID" ] || return 0
	t_kill_pid "$WH_PID" TERM 5
	WH_PID=
}

# wh_secret - the secret the receiver checks requests to PATH with (the status they get, the delay)
wh_secret() {
	printf '%s\n' "$*" >>"$WH_SECRETS"
}

# wh_down - answer 503 to every request
wh_down() {
	touch "$WH_DOWN"
}

# wh_up - answer normally again
wh_up() {
	rm -f "$WH_DOWN"
}

# wh_count - "DELIVERY ACCEPTED TOTAL" per Beacon-Delivery id
# (webhook_receiver.py count in awk: the tests poll it, a python3 start costs too much)
wh_count() {
	awk '{
		d = "-"
		if (match($0, /"delivery": "[^"]*"/))
			d = substr($0, RSTART + 13, RLENGTH - 14)
		tot[d]++
		if ($0 ~ /"sig_ok": true, "fresh": true, "status": 2[0-9][0-9],/)
			acc[d]++
	} END { for (d in tot) print d, acc[d] + 0, tot[d] }' "$WH_LOG" | sort
}

# wh_requests - requests logged so far
wh_requests() {
	wc -l <"$WH_LOG"
}

# wh_accepted - requests accepted (2xx, good signature, fresh timestamp)
wh_accepted() {
	awk '{ a += $2 } END { print a + 0 }' < <(wh_count)
}

# wh_wait_accepted - wait until N requests were accepted
wh_wait_accepted() {
	t_wait_until "[ \$(wh_accepted) -ge $1 ]" "${2:-10}"
}

# wh_field - Python expressions over the bodies of the last accepted requests with ids DELIVERY
wh_field() {
	python3 - "$WH_LOG" "$@" <<-'EOF'
		import base64, json, sys
		log, pairs = sys.argv[1], sys.argv[2:]
		last = {}
		for line in open(log, encoding="utf-8"):
		    r = json.loads(line)
		    if r["sig_ok"] and 200 <= r["status"] < 300:
		        last[r["delivery"]] = r
		for delivery, expr in zip(pairs[0::2], pairs[1::2]):
		    if delivery not in last:
		        sys.exit("no accepted request with Beacon-Delivery " + delivery)
		    r = last[delivery]
		    b, raw = r["body"], base64.b64decode(r["raw"])
		    v = eval(expr)
		    print("null" if v is None else v)
	EOF
}

# nt_config - write the notifier's beacon.conf
nt_config() {
	local l user=
	t_tmpdir >/dev/null
	[ "$(id -u)" = 0 ] && user=nobody
	NT_CONF=$T_DIR/notify.conf
	NT_LOG=$T_DIR/notify.log
	{
		printf '[notify]\n'
		printf 'user = %s\n' "$user"
		printf 'pidfile = %s/notify.pid\n' "$T_DIR"
		[ -n "${SINK_PORT:-}" ] && printf 'smtp_url = smtp://127.0.0.1:%s\n' "$SINK_PORT"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
		printf '\n[database]\nconninfo = %s\nconnect_timeout = 2\n' \
			"${NT_CONNINFO:-${BEACON_CONNINFO:-dbname=beacon}}"
	} >"$NT_CONF"
	export NT_CONF NT_LOG
}

# nt_ready_ - has the notifier's start since line L of its log said it listens?
nt_ready_() {
	tail -n +"$(($1 + 1))" "$NT_LOG" | grep -Eq "${NT_READY_RE:-listening on beacon_event}"
}

# nt_start - run beacon-notify in the foreground, in the background
nt_start() {
	local bin=$BEACON_BUILD/beacon-notify
	[ -x "$bin" ] || t_fail "no $bin (make first)"
	[ -n "$NT_CONF" ] || t_fail "nt_start before nt_config"
	local lines=0
	[ -f "$NT_LOG" ] && lines=$(wc -l <"$NT_LOG")
	"$bin" -f -c "$NT_CONF" >>"$NT_LOG" 2>&1 &
	NT_PID=$!
	t_on_exit "t_kill_pid $NT_PID TERM 15"
	if ! t_wait_until "nt_ready_ $lines || ! t_pid_alive $NT_PID" 15 || ! t_pid_alive "$NT_PID"; then
		cat "$NT_LOG" >&2
		t_fail "beacon-notify did not start listening on beacon_event"
	fi
}

# nt_stop - SIGTERM the notifier and check it exited 0
nt_stop() {
	local rc=0
	[ -n "$NT_PID" ] || return 0
	kill -s TERM "$NT_PID" 2>/dev/null || true
	t_wait_until "! t_pid_alive $NT_PID" 20 || {
		cat "$NT_LOG" >&2
		t_fail "beacon-notify ignored SIGTERM for 20 s"
	}
	wait "$NT_PID" || rc=$?
	NT_PID=
	if [ "$rc" != 0 ]; then
		cat "$NT_LOG" >&2
		t_fail "beacon-notify exited with status $rc"
	fi
}

# nt_deliveries - count notify_deliveries rows (d) of jobs (j) matching WHERE
nt_deliveries() {
	pg_query "SELECT count(*) FROM beacon.notify_deliveries d
		JOIN beacon.notify_jobs j ON j.id = d.job ${1:+WHERE $1}"
}

# nt_wait_state - wait until N deliveries matching WHERE have STATE
nt_wait_state() {
	local state=$1 n=$2 where=${3:-true} timeout=${4:-15}
	t_wait_until "[ \"\$(nt_deliveries \"d.state = '$state' AND ($where)\" 2>/dev/null)\" = $n ]" \
		"$timeout"
}
