# shellcheck shell=bash
# NAME
#	web.sh - run beacon-web in the end-to-end tests and talk to it with curl
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	. "$BEACON_SRC/tests/lib/web.sh"
#	pg_start; pg_schema
#	wb_role				# login role "web" IN ROLE beacon_web
#	wb_config 'login_attempts = 3'	# [web] lines added
#	wb_start
#	wb_user ann@example.org 'a long password'
#	wb_login ann 'ann@example.org' 'a long password'	# prints the status
#	wb_get ann /api/v1/messages	# prints the status; body in $WB_BODY
#	wb_stop
#
# DESCRIPTION
#	wb_role		create the login role "web" IN ROLE beacon_web (what
#			beacon-web must run as) and set WB_CONNINFO to it.
#	wb_config [LINE...]	write $WB_CONF: [web] on 127.0.0.1:$WB_PORT
#			(a free port), user nobody when root, no pid file,
#			then LINEs; [database] on $WB_CONNINFO (default
#			$BEACON_CONNINFO) with connect_timeout 2.  WB_URL is
#			http://localhost:$WB_PORT: browsers and curl send
#			Secure cookies to localhost over plain http.
#	wb_start	start $BEACON_BUILD/beacon-web -f -c $WB_CONF in the
#			background (WB_PID, log $WB_LOG appended), wait until
#			this start logs "listening on"; stopped at exit.
#	wb_stop		SIGTERM, wait, fail unless it exited 0 (t_stop_daemon).
#	wb_ctl ARGS...	beaconctl on the test database (as the superuser
#			"beacon", no PG* environment).
#	wb_user NAME PASSWORD [ARGS...]	beaconctl web user add NAME with
#			PASSWORD (from a file) and ARGS (--admin, --scope S).
#	wb_token NAME	print a new API token of user NAME.
#	wb_signin URL JARFILE USER PASSWORD [NEXT [CURL ARGS...]]	sign in
#			as a browser does: GET URL/login into the cookie jar
#			JARFILE, POST the form with the csrf of its
#			__Host-beacon_login cookie; print the POST's "STATUS
#			LOCATION" (headers into $WB_HEAD, body into $WB_BODY
#			when they are set); 1 when GET /login is not 200.
#			The one sign-in of the tests and the demo.
#	wb_login JAR USER PASSWORD [NEXT] [CURL ARGS...]	wb_signin to
#			$WB_URL with the jar $T_DIR/JAR.jar; print the status.
#	wb_get JAR PATH [CURL ARGS...]	GET PATH with the jar's cookies
#			(JAR "-": none); print the status; the body is in
#			$WB_BODY, the headers in $WB_HEAD.
#	wb_post JAR PATH DATA [CURL ARGS...]	POST the urlencoded DATA
#			the same way.
#	wb_cookie JAR NAME	print the value of cookie NAME in the jar.
#	wb_csrf JAR	print the CSRF token of the jar's session (read from
#			beacon.web_sessions by the SHA-256 of the cookie).
#	WB_SESSION, WB_LOGIN	the cookies' names (__Host-beacon_session,
#			__Host-beacon_login).
#	wb_header NAME	print the value of response header NAME in $WB_HEAD
#			(the last one of that name, CR stripped).
#	wb_cookie_line NAME	print the Set-Cookie line of NAME in $WB_HEAD.

if [ -n "${T_WEB_LOADED:-}" ]; then
	return 0
fi
T_WEB_LOADED=1

WB_PID=
WB_PORT=
WB_URL=
WB_CONF=
WB_LOG=
WB_BODY=
WB_HEAD=
WB_CONNINFO=
WB_SESSION=__Host-beacon_session
WB_LOGIN=__Host-beacon_login

# wb_role - the login role beacon-web runs as: a member of beacon_web only
wb_role() {
	pg_psql -c 'CREATE ROLE web LOGIN IN ROLE beacon_web' >/dev/null ||
		t_fail "cannot create the role web"
	WB_CONNINFO=${BEACON_CONNINFO/user=beacon /user=web }
	export WB_CONNINFO
}

# wb_show_log_ - at exit of a failed test, the tail of beacon-web's log
wb_show_log_() {
	[ "${T_EXIT_RC:-0}" != 0 ] && [ -n "$WB_LOG" ] && [ -r "$WB_LOG" ] || return 0
	printf -- '--- %s (last 30 lines)\n' "$WB_LOG" >&2
	tail -n 30 "$WB_LOG" >&2
}

# wb_config - write beacon-web's beacon.conf
wb_config() {
	local l user=
	t_tmpdir >/dev/null
	[ -n "$WB_LOG" ] || t_on_exit wb_show_log_
	[ "$(id -u)" = 0 ] && user=nobody
	WB_CONF=$T_DIR/web.conf
	WB_LOG=$T_DIR/web.log
	WB_BODY=$T_DIR/web.body
	WB_HEAD=$T_DIR/web.head
	[ -n "$WB_PORT" ] || WB_PORT=$(t_free_port)
	WB_URL=http://localhost:$WB_PORT
	{
		printf '[web]\nlisten = 127.0.0.1:%s\nuser = %s\npidfile =\n' "$WB_PORT" "$user"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
		printf '\n[database]\nconninfo = %s\nconnect_timeout = 2\n' \
			"${WB_CONNINFO:-${BEACON_CONNINFO:-dbname=beacon}}"
	} >"$WB_CONF"
	export WB_CONF WB_LOG WB_URL WB_PORT
}

# wb_start - run beacon-web in the foreground, in the background
wb_start() {
	local bin=$BEACON_BUILD/beacon-web lines=0
	[ -x "$bin" ] || t_fail "no $bin (make first)"
	[ -n "$WB_CONF" ] || t_fail "wb_start before wb_config"
	[ -f "$WB_LOG" ] && lines=$(wc -l <"$WB_LOG")
	"$bin" -f -c "$WB_CONF" >>"$WB_LOG" 2>&1 &
	WB_PID=$!
	t_on_exit "t_kill_pid $WB_PID TERM 15"
	if ! t_wait_until "tail -n +$((lines + 1)) '$WB_LOG' | grep -q 'listening on' ||
		! t_pid_alive $WB_PID" 20 || ! t_pid_alive "$WB_PID"; then
		cat "$WB_LOG" >&2
		t_fail "beacon-web did not start"
	fi
}

# wb_stop - SIGTERM beacon-web and check it exited 0
wb_stop() {
	t_stop_daemon beacon-web "$WB_PID" "$WB_LOG"
	WB_PID=
}

# wb_ctl - beaconctl on the test database as its owner
wb_ctl() {
	[ -f "$T_DIR/ctl.conf" ] ||
		printf '[database]\nconninfo = %s\n' "$BEACON_CONNINFO" >"$T_DIR/ctl.conf"
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD \
		"$BEACON_BUILD/beaconctl" -c "$T_DIR/ctl.conf" "$@"
}

# wb_user - a beacon-web user with a password
wb_user() {
	local name=$1 pw=$2
	shift 2
	(umask 077 && printf '%s\n' "$pw" >"$T_DIR/pw")
	wb_ctl web user add "$name" --password-file "$T_DIR/pw" "$@" >/dev/null ||
		t_fail "beaconctl web user add $name failed"
}

# wb_token - a new API token of user NAME
wb_token() {
	wb_ctl web token add "$1" --name "test" | grep -oE 'bw_[A-Za-z0-9_-]{43}' | head -n 1
}

# wb_curl_ - curl with the jar (JAR "-": none), headers to WB_HEAD, body to WB_BODY
wb_curl_() {
	local jar=$1
	shift
	local j=()
	[ "$jar" = - ] || j=(-b "$T_DIR/$jar.jar" -c "$T_DIR/$jar.jar")
	curl -s --max-time 20 "${j[@]}" -D "$WB_HEAD" -o "$WB_BODY" -w '%{http_code}' "$@"
}

# wb_get - GET PATH, print the status
wb_get() {
	local jar=$1 path=$2
	shift 2
	wb_curl_ "$jar" "$@" "$WB_URL$path"
}

# wb_post - POST DATA (urlencoded) to PATH, print the status
wb_post() {
	local jar=$1 path=$2 data=$3
	shift 3
	wb_curl_ "$jar" --data-raw "$data" "$@" "$WB_URL$path"
}

# wb_cookie - a cookie's value in the jar
wb_cookie() {
	awk -v n="$2" '$6 == n { v = $7 } END { print v }' "$T_DIR/$1.jar" 2>/dev/null
}

# wb_csrf - the CSRF token of the jar's session
wb_csrf() {
	local c
	c=$(wb_cookie "$1" "$WB_SESSION")
	pg_query "SELECT csrf FROM beacon.web_sessions WHERE id = sha256(convert_to('$c', 'UTF8'))"
}

# wb_urlenc - S percent-encoded for a form
wb_urlenc() {
	local LC_ALL=C s=$1 i c out=
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9._~-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c"; out+=$c ;;
		esac
	done
	printf '%s\n' "$out"
}

# wb_signin - GET URL/login, then POST the form with its csrf; print "STATUS LOCATION"
wb_signin() {
	local url=$1 jar=$2 user=$3 pw=$4 next=${5:-} code csrf
	shift 4
	[ $# -gt 0 ] && shift
	code=$(curl -s --max-time 10 -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' "$@" \
		"$url/login") || code=000
	if [ "$code" != 200 ]; then
		printf '%s -\n' "$code"
		return 1
	fi
	csrf=$(awk -v n="$WB_LOGIN" '$6 == n { v = $7 } END { print v }' "$jar")
	curl -s --max-time 20 -b "$jar" -c "$jar" -D "${WB_HEAD:-/dev/null}" \
		-o "${WB_BODY:-/dev/null}" -w '%{http_code} %{redirect_url}\n' \
		--data-urlencode "user=$user" --data-urlencode "password=$pw" \
		--data-urlencode "csrf=$csrf" --data-urlencode "next=$next" "$@" "$url/login"
}

# wb_login - wb_signin to WB_URL with the jar JAR; print the POST's status
wb_login() {
	local jar=$1 user=$2 pw=$3 next=${4:-} out
	shift 3
	[ $# -gt 0 ] && shift
	out=$(wb_signin "$WB_URL" "$T_DIR/$jar.jar" "$user" "$pw" "$next" "$@") ||
		t_fail "GET /login answered ${out%% *}, not 200"
	printf '%s\n' "${out%% *}"
}

# wb_header - a response header's value
wb_header() {
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" -F': ' '
		{ sub(/\r$/, "") } tolower($1) == n { sub(/^[^:]*: /, ""); v = $0 } END { print v }' "$WB_HEAD"
}

# wb_cookie_line - the Set-Cookie line of cookie NAME
wb_cookie_line() {
	tr -d '\r' <"$WB_HEAD" | grep -i "^set-cookie: $1=" | sed 's/^[Ss]et-[Cc]ookie: //' | tail -n 1
}
