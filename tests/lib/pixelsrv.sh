# NAME
#	pixelsrv.sh - run beacon-pixelsrv in the end-to-end tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	. "$BEACON_SRC/tests/lib/pixelsrv.sh"
#	pg_start; pg_schema
#	px_setup			# secret, GeoIP databases, port
#	px_config 'anonymize_ip = no'	# [pixelsrv] lines added to the defaults
#	px_start
#	tok=$(px_mint); px_get "/o/$tok.gif"
#	px_stop
#
# DESCRIPTION
#	px_setup	T_DIR, a secret file (mode 0600, key id 7), the test
#			GeoIP databases (tests/fixtures/make-geoip.pl, or a
#			copy of $BEACON_FIXTURES/*.mmdb) in $T_DIR/geo,
#			PX_PORT (free), PX_URL, PX_MPORT (free: metrics_listen).
#	PX_HOME		where px_config, px_start and px_stop keep a server's
#			beacon.conf, pixelsrv.log, pid file and spool (default
#			$T_DIR): several servers, one directory each.
#	px_config LINE...	write $PX_HOME/beacon.conf ([pixelsrv] on
#			127.0.0.1:PX_PORT, metrics_listen 127.0.0.1:PX_MPORT,
#			user nobody when root, spool in
#			$PX_HOME/spool, trusted_proxies 127.0.0.1, one thread,
#			batch_interval 50) plus LINEs in [pixelsrv].  The
#			machines file is $PX_MACHINES when set, else the
#			shipped pixelsrv/machines.yaml.
#	px_start	start $BEACON_BUILD/beacon-pixelsrv -f in the
#			background (PX_PID, log in $PX_HOME/pixelsrv.log),
#			wait until it listens; stopped at exit.  When another
#			test took PX_PORT first, it moves to a new port
#			(PX_PORT, PX_URL and the config follow), at most twice.
#	px_stop		SIGTERM, wait (t_kill_pid), fail if the exit status
#			is not 0.
#	px_mint [RID_HEX]	print a valid token (key id 7 of the secret).
#	px_mint_pair [RID_HEX]	print "TOKEN UUID" (the uuid is the token_id
#			stored in beacon.events).
#	px_click TOKEN N URL	print a signed click path.
#	px_dl TOKEN N EXPIRY	print a signed download path (attachment N,
#			EXPIRY unix seconds).
#	px_get PATH [curl args]	print "STATUS" of a GET of PATH.
#	px_rows [WHERE]	print the number of beacon.events rows.
#	px_wait_rows N [TIMEOUT]	wait until beacon.events has N rows.
#	px_metric NAME	print a /metrics sample value (first match), from
#			the metrics listener.

PX_PORT=
PX_MPORT=
PX_URL=
PX_PID=
PX_SECRET=
PX_PY=$BEACON_SRC/tests/lib/pxclient.py

# px_setup - secret file, GeoIP databases, port
px_setup() {
	t_tmpdir >/dev/null
	PX_SECRET=$T_DIR/secret
	(umask 077 && printf '7 %s\n' \
		"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$PX_SECRET")
	mkdir -p "$T_DIR/geo"
	if [ -n "${BEACON_FIXTURES:-}" ] && [ -s "$BEACON_FIXTURES/city.mmdb" ] &&
		[ -s "$BEACON_FIXTURES/asn.mmdb" ]; then
		cp "$BEACON_FIXTURES/city.mmdb" "$BEACON_FIXTURES/asn.mmdb" "$T_DIR/geo/"
	else
		perl "$BEACON_SRC/tests/fixtures/make-geoip.pl" "$T_DIR/geo" ||
			t_fail "make-geoip.pl failed"
	fi
	PX_PORT=$(t_free_port)
	PX_MPORT=$(t_free_port)
	PX_URL=http://127.0.0.1:$PX_PORT
	export PX_PORT PX_MPORT PX_URL PX_SECRET
}

# px_config - write beacon.conf with extra [pixelsrv] lines
px_config() {
	local user= home=${PX_HOME:-$T_DIR}
	[ "$(id -u)" = 0 ] && user=nobody
	mkdir -p "$home"
	{
		printf 'base_url = %s\nsecret_file = %s\n\n' "$PX_URL" "$PX_SECRET"
		printf '[pixelsrv]\n'
		printf 'listen = 127.0.0.1:%s\n' "$PX_PORT"
		printf 'metrics_listen = 127.0.0.1:%s\n' "$PX_MPORT"
		printf 'user = %s\n' "$user"
		printf 'pidfile = %s/pixelsrv.pid\n' "$home"
		printf 'threads = 1\n'
		printf 'spool_dir = %s/spool\n' "$home"
		printf 'geoip_city_db = %s/geo/city.mmdb\n' "$T_DIR"
		printf 'geoip_asn_db = %s/geo/asn.mmdb\n' "$T_DIR"
		printf 'mail_clients = %s/pixelsrv/mail-clients.yaml\n' "$BEACON_SRC"
		printf 'machines = %s\n' "${PX_MACHINES:-$BEACON_SRC/pixelsrv/machines.yaml}"
		printf 'apple_relay_ranges = %s/tests/fixtures/apple-relay.csv\n' "$BEACON_SRC"
		printf 'trusted_proxies = 127.0.0.1\n'
		printf 'batch_interval = 50\n'
		local l
		for l in "$@"; do
			printf '%s\n' "$l"
		done
		printf '\n[database]\nconninfo = %s\n' "${BEACON_CONNINFO:-dbname=beacon}"
		printf 'connect_timeout = 2\n'
	} >"$home/beacon.conf"
}

# px_start - run the server in the foreground, in the background
px_start() {
	local try lines old home=${PX_HOME:-$T_DIR}
	[ -x "$BEACON_BUILD/beacon-pixelsrv" ] ||
		t_fail "no $BEACON_BUILD/beacon-pixelsrv (make first)"
	for try in 1 2 3; do
		lines=0
		[ -f "$home/pixelsrv.log" ] && lines=$(wc -l <"$home/pixelsrv.log")
		"$BEACON_BUILD/beacon-pixelsrv" -f -c "$home/beacon.conf" \
			>>"$home/pixelsrv.log" 2>&1 &
		PX_PID=$!
		t_on_exit "t_kill_pid $PX_PID TERM 20"
		# ready when this start logged its "listening on" line (the port alone
		# could be another process's)
		if t_wait_until "tail -n +$((lines + 1)) '$home/pixelsrv.log' |
			grep -q 'listening on' || ! t_pid_alive $PX_PID" 20 &&
			t_pid_alive "$PX_PID" && t_port_listening "$PX_PORT"; then
			return 0
		fi
		# another test took the port between t_free_port and the bind: a new one
		tail -n +"$((lines + 1))" "$home/pixelsrv.log" | grep -q 'Address already in use' ||
			break
		old=$PX_PORT
		PX_PORT=$(t_free_port)
		PX_URL=http://127.0.0.1:$PX_PORT
		sed -i -e "s/127\.0\.0\.1:$old\b/127.0.0.1:$PX_PORT/g" "$home/beacon.conf"
		old=$PX_MPORT
		PX_MPORT=$(t_free_port)
		sed -i -e "s/^metrics_listen = 127\.0\.0\.1:$old\b/metrics_listen = 127.0.0.1:$PX_MPORT/" \
			"$home/beacon.conf"
	done
	cat "$home/pixelsrv.log" >&2
	t_fail "beacon-pixelsrv did not start"
}

# px_stop - SIGTERM the server and check it exited 0
px_stop() {
	local rc=0
	[ -n "$PX_PID" ] || return 0
	kill -s TERM "$PX_PID" 2>/dev/null || true
	t_wait_until "! t_pid_alive $PX_PID" 30 || {
		cat "${PX_HOME:-$T_DIR}/pixelsrv.log" >&2
		t_fail "beacon-pixelsrv ignored SIGTERM for 30 s"
	}
	wait "$PX_PID" || rc=$?
	PX_PID=
	if [ "$rc" != 0 ]; then
		cat "${PX_HOME:-$T_DIR}/pixelsrv.log" >&2
		t_fail "beacon-pixelsrv exited with status $rc"
	fi
}

# px_mint - print a token valid under the test secret
px_mint() {
	python3 "$PX_PY" mint "$PX_SECRET" "$@" | cut -d' ' -f1
}

# px_mint_pair - print "TOKEN UUID"
px_mint_pair() {
	python3 "$PX_PY" mint "$PX_SECRET" "$@"
}

# px_click - print a signed click path for TOKEN, N and URL
px_click() {
	python3 "$PX_PY" click "$PX_SECRET" "$1" "$2" "$3"
}

# px_dl - print a signed download path for TOKEN, N and EXPIRY
px_dl() {
	python3 "$PX_PY" dl "$PX_SECRET" "$1" "$2" "$3"
}

# px_get - GET PATH as a browser does (Accept, Accept-Language), print the status code:
# a click without them is a scanner's (classify.h)
px_get() {
	local path=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' \
		-H 'Accept-Language: en-GB,en;q=0.9' "$@" "$PX_URL$path"
}

# px_get_raw - GET PATH with curl's own headers only, print the status code
px_get_raw() {
	local path=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$PX_URL$path"
}

# px_rows - count beacon.events rows, optionally with a WHERE clause
px_rows() {
	pg_query "SELECT count(*) FROM beacon.events ${1:+WHERE $1}"
}

# px_wait_rows - wait until beacon.events holds N rows
px_wait_rows() {
	t_wait_until "[ \"\$(px_rows 2>/dev/null)\" = $1 ]" "${2:-20}"
}

# px_metric - the value of the first /metrics sample starting with NAME
px_metric() {
	# awk reads to the end: leaving early makes curl fail (exit 23) under pipefail
	curl -s --max-time 10 "http://127.0.0.1:$PX_MPORT/metrics" |
		awk -v n="$1" '!done && index($0, n) == 1 { print $NF; done = 1 }'
}
