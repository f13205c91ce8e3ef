#!/bin/bash
# NAME
#	47_web_http.sh - beacon-web over real HTTP on the real stack: sign-in,
#	sessions, CSRF, lockout, rate limit, API tokens, isolation by the
#	database, live events after a real pixel hit, static files, healthz,
#	the database role it refuses, reading off a streaming replica
#
# DESCRIPTION
#	PostgreSQL with every migration, beacon-pixelsrv for real opens, and
#	beacon-web connected as a login role that is only in beacon_web
#	(db_connections 1, so that holding a session shows).  The users are
#	made with beaconctl web (ann@example.org and bob@example.net see
#	their own mail, carl@example.org none), their messages with SQL as
#	beacon-milter stores them.  curl speaks to http://localhost (Secure
#	cookies go to localhost over http); trusted_proxies is 127.0.0.1, so
#	each part of the test has its own client address (X-Forwarded-For)
#	for the per-address rate limit.
#
#	- beaconctl web user add with a name of none of the three forms says
#	  which it takes, sasl:LOGIN included;
#	- every answer has the security headers and Cache-Control no-store;
#	  GET /login sets __Host-beacon_login (Path=/; HttpOnly; Secure;
#	  SameSite=Strict); a POST /login without its token, or from another
#	  Origin, is 403; a wrong password and an unknown user are 401 and
#	  logged with their reason (never the password); the right one is
#	  303 to next, with __Host-beacon_session (same attributes) whose
#	  SHA-256 is the one row of ann in web_sessions, and the failure
#	  count reset; the same session under the name without __Host- (which
#	  a sibling host could plant) is not taken;
#	- a page without a session is 303 to /login?next=; the API without
#	  one 401 JSON with WWW-Authenticate; a wrong bearer token 401;
#	- bob's message id through ann's session and ann's token: the page
#	  and the API answer 404 (the page in the site's frame, saying the
#	  message does not exist or is not hers; bob's own token gets it),
#	  the list holds ann's message and not bob's;
#	- the API stream (ann's token): after real pixel hits on bob's and
#	  ann's tokens, exactly one "event: beacon" arrives, with ann's token;
#	- POST /logout without the CSRF token, or from another Origin: 403
#	  and the session lives; with it: 303 to /login, the cookie cleared,
#	  the row gone, the old cookie sends / to /login again;
#	- lockout: login_attempts (2) wrong passwords lock carl; the right
#	  password is then refused (reason=locked);
#	- rate limit: login_rate (3) failures from one address, then 429
#	  even with the right password, while another address still signs in
#	  (and a next naming another host sends it to /); 12 parallel
#	  sign-ins from one address get 3 password checks and 9 429s; during
#	  24 parallel sign-ins from 24 addresses a signed-in page is answered
#	  within 2.5 s (the checks hold no database session); three failures
#	  from one IPv6 /64 block another address of it, not the next /64;
#	- a name typed as beaconctl was given it (Zoe@Bücher.example.) signs
#	  in: the same normalisation (IDNA, case, trailing dot);
#	- a form announced longer than 16 KiB is 413 at once (its body never
#	  awaited), a chunked one past 16 KiB has its connection closed at
#	  once, and said in the log;
#	- static files: a file of static_dir with its type and max-age=3600,
#	  chart.min.js from [web] chartjs, 404 for .., a directory, an unknown
#	  suffix and a missing file; 405 with Allow for GET /logout;
#	- X-Forwarded-For from a peer outside trusted_proxies is not believed
#	  and logged once; contrib/beacon.conf trusts 127.0.0.1;
#	- behind contrib/nginx/beacon-web.conf (TLS on another port than
#	  443): a sign-in whose Origin carries that port is accepted, the
#	  log names the client's address (not nginx's), the live stream
#	  opens at once (not buffered);
#	- a session idle for longer than session_idle, or past session_ttl,
#	  sends its page to /login;
#	- -n: a missing static_dir is 78 and named, so are a missing SQL
#	  directory and a missing report file; an unreadable chartjs and
#	  a listen address off loopback are warnings;
#	- -t refuses a superuser, a BYPASSRLS role and a role outside
#	  beacon_web (exit 78, saying which); a start as the BYPASSRLS role
#	  exits 78 too;
#	- PostgreSQL restarted: /healthz and a page answer 200 at once (the
#	  pooled sessions it ended are not handed out);
#	- a streaming replica (pg_basebackup over loopback) in [web]
#	  read_conninfo: -t refuses a superuser there; /healthz says the
#	  pages read it, and its lag; replay paused and ann's second letter on
#	  the primary: under read_max_lag 8 the page shows the replica's
#	  figures (one letter) while a new session is written on the primary
#	  only; once the lag passes 8 s the pooled session's next check moves
#	  the pages and the API to the primary (both letters), /healthz and
#	  the log say why; with read_max_lag 3600 (a restart) the replica is
#	  read again, /healthz showing its lag;
#	- [web] statement_timeout: with [database]'s 1 s, a page waiting 6 s
#	  on a lock is answered 200; meanwhile another page finds no read
#	  session (db_connections 1): 503, logged with its path and user;
#	- /healthz is 200 "ok", 503 once PostgreSQL is down.
set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/web.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config
px_start
wb_role
mkdir -p "$T_DIR/static/dir.css"
printf 'body { color: black }\n' >"$T_DIR/static/t.css"
printf 'not served\n' >"$T_DIR/static/t.exe"
CHARTJS=/usr/share/javascript/chart.js/chart.min.js
[ -r "$CHARTJS" ] || t_fail "no $CHARTJS (libjs-chart.js: make deps)"
WB_LINES=('login_attempts = 2' 'login_lockout = 1h' 'login_rate = 3' 'live_clients = 2'
	'threads = 40' 'db_connections = 1' 'trusted_proxies = 127.0.0.1' "static_dir = $T_DIR/static"
	"chartjs = $CHARTJS")
wb_config "${WB_LINES[@]}"
wb_start

PW_ANN='ann has a long password'
PW_BOB='bob has a long password'
wb_user ann@example.org "$PW_ANN"
wb_user bob@example.net "$PW_BOB"
wb_user carl@example.org 'carl has a long password'
# a name that is none of the three forms: the error names all three (beacon-web(8)'s setup)
t_run wb_ctl web user add admin --admin
t_eq 64 "$RC" "beaconctl web user add admin (no address, domain or sasl:)"
grep -q "beaconctl: web: 'admin': expected user@domain or @domain (or, for beaconctl web, sasl:LOGIN)" <<<"$ERR" ||
	t_fail "the error does not name sasl:LOGIN: $ERR"
TOK_ANN=$(wb_token ann@example.org)
TOK_BOB=$(wb_token bob@example.net)
[ ${#TOK_ANN} = 46 ] && [ ${#TOK_BOB} = 46 ] || t_fail "beaconctl web token add printed no token"

# one message each, as beacon-milter stores them, with a pixel token per recipient
{ read -r PXA UA; read -r PXB UB; } < <(python3 - "$PX_SECRET" <<'EOF'
import os, sys
sys.path.insert(0, os.path.join(os.environ["BEACON_SRC"], "tests", "lib"))
import pxclient
kid, key = pxclient.signing_key(sys.argv[1])
for _ in range(2):
    rid = os.urandom(16)
    print(pxclient.mint(kid, key, rid), pxclient.uuid_of(rid))
EOF
)
MA=20000000-0000-4000-8000-00000000000a
MB=20000000-0000-4000-8000-00000000000b
pg_psql -c "INSERT INTO beacon.messages (id, message_id, sender, sender_key, subject, sent_at)
	VALUES ('$MA', '<a@example.org>', 'ann@example.org', 'ann@example.org', 'Letter from Ann',
		now() - interval '1 hour'),
	       ('$MB', '<b@example.net>', 'bob@example.net', 'bob@example.net', 'Letter from Bob',
		now() - interval '1 hour')" \
	-c "INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token)
	VALUES ('$UA', '$MA', 'rita@example.com', 'tracked', 7, '$PXA'),
	       ('$UB', '$MB', 'ruth@example.com', 'tracked', 7, '$PXB')" >/dev/null

# --- headers, the sign-in form and its refusals ------------------------------
t_eq 200 "$(wb_get - /healthz)" "GET /healthz"
t_eq "ok" "$(cat "$WB_BODY")" "/healthz body"
t_eq "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" \
	"$(wb_header Content-Security-Policy)" "Content-Security-Policy"
t_eq "nosniff|same-origin|DENY|no-store" "$(wb_header X-Content-Type-Options)|$(wb_header Referrer-Policy)|$(wb_header X-Frame-Options)|$(wb_header Cache-Control)" \
	"security headers and Cache-Control"
XFF=(-H 'X-Forwarded-For: 192.0.2.1')
t_eq 200 "$(wb_get ann /login "${XFF[@]}")" "GET /login"
LOGIN=$(wb_cookie ann "$WB_LOGIN")
[ ${#LOGIN} = 43 ] || t_fail "no $WB_LOGIN cookie: '$LOGIN'"
t_eq "$WB_LOGIN=$LOGIN; Path=/; HttpOnly; Secure; SameSite=Strict" "$(wb_cookie_line "$WB_LOGIN")" \
	"$WB_LOGIN cookie attributes"
t_eq "no-store" "$(wb_header Cache-Control)" "the sign-in form is not cached"
FORM="user=ann%40example.org&password=$(wb_urlenc "$PW_ANN")&next=%2Fsummary"
t_eq 403 "$(wb_post ann /login "$FORM" "${XFF[@]}")" "POST /login without the form token"
t_eq 403 "$(wb_post ann /login "$FORM&csrf=$LOGIN" "${XFF[@]}" -H "Origin: http://evil.example")" \
	"POST /login from another Origin"
t_eq 403 "$(wb_post ann /login "$FORM&csrf=$LOGIN" "${XFF[@]}" -H "Referer: http://evil.example/x")" \
	"POST /login with another site as Referer"
t_eq 401 "$(wb_post ann /login "user=ann%40example.org&password=wrong+password+here&csrf=$LOGIN" "${XFF[@]}")" \
	"POST /login, wrong password"
t_eq 1 "$(pg_query "SELECT failed_logins FROM beacon.web_users WHERE name = 'ann@example.org'")" \
	"ann's failure counted"
t_eq 401 "$(wb_post ann /login "user=nobody%40example.org&password=wrong+password+here&csrf=$LOGIN" "${XFF[@]}" -H "Origin: $WB_URL")" \
	"POST /login, unknown user (same Origin)"
grep -q 'login failed user=ann@example.org ip=192.0.2.1 reason=bad-password' "$WB_LOG" ||
	t_fail "no 'login failed ... reason=bad-password' line"
grep -q 'login failed user=nobody@example.org ip=192.0.2.1 reason=unknown-user' "$WB_LOG" ||
	t_fail "no 'login failed ... reason=unknown-user' line"
grep -q 'login failed user=ann@example.org ip=192.0.2.1 reason=csrf' "$WB_LOG" ||
	t_fail "no 'login failed ... reason=csrf' line"
! grep -q 'wrong password here\|wrong+password' "$WB_LOG" || t_fail "a password is in the log"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.web_sessions")" "no session after the refusals"

# --- signed in ---------------------------------------------------------------
t_eq 303 "$(wb_post ann /login "$FORM&csrf=$LOGIN" "${XFF[@]}" -H "Origin: $WB_URL")" "POST /login, right password"
t_eq "/summary" "$(wb_header Location)" "sign-in goes to next"
SESSION=$(wb_cookie ann "$WB_SESSION")
[ ${#SESSION} = 43 ] || t_fail "no $WB_SESSION cookie: '$SESSION'"
t_eq "$WB_SESSION=$SESSION; Path=/; HttpOnly; Secure; SameSite=Strict" \
	"$(wb_cookie_line "$WB_SESSION")" "$WB_SESSION cookie attributes"
t_eq "1|ann@example.org|192.0.2.1|0" "$(pg_query "SELECT count(*), min(u.name), host(min(s.ip)),
	min(u.failed_logins) FROM beacon.web_sessions s JOIN beacon.web_users u ON u.id = s.user_id
	WHERE s.id = sha256(convert_to('$SESSION', 'UTF8'))")" "ann's session row, by the cookie's SHA-256"
grep -q 'login ok user=ann@example.org ip=192.0.2.1' "$WB_LOG" || t_fail "no 'login ok' line"
t_eq 200 "$(wb_get - / -H "Cookie: $WB_SESSION=$SESSION")" "the session cookie sent back"
t_eq 303 "$(wb_get - / -H "Cookie: beacon_session=$SESSION")" \
	"the session under a name without __Host- (a sibling host can plant that one)"

# --- who sees what -----------------------------------------------------------
t_eq 303 "$(wb_get - "/m/$MA?x=1")" "a page without a session"
t_eq "/login?next=%2Fm%2F$MA%3Fx%3D1" "$(wb_header Location)" "to the sign-in form, with next"
t_eq 401 "$(wb_get - /api/v1/messages)" "the API without a session"
t_eq 'Bearer realm="beacon"|{"error":"sign in or send Authorization: Bearer <token>"}' \
	"$(wb_header WWW-Authenticate)|$(cat "$WB_BODY")" "401 JSON and WWW-Authenticate"
t_eq 401 "$(wb_get - /api/v1/messages -H "Authorization: Bearer bw_${TOK_ANN:4}x")" "a wrong token"
t_eq 200 "$(wb_get ann "/m/$MA")" "ann's message page with ann's session"
grep -q "Letter from Ann" "$WB_BODY" || t_fail "ann's page lacks her subject"
t_eq 404 "$(wb_get ann "/m/$MB")" "bob's message page with ann's session"
! grep -q "Letter from Bob" "$WB_BODY" || t_fail "the 404 page shows bob's message"
grep -q '<form id="logout"' "$WB_BODY" &&
	grep -q '<p id="error">This message does not exist or is not one of yours.</p>' "$WB_BODY" ||
	t_fail "the 404 page is not in the site's frame with its reason: $(cat "$WB_BODY")"
t_ok "the 404 page: the site's frame (sign-out form), 'does not exist or is not one of yours'"
t_eq 404 "$(wb_get ann "/api/v1/messages/$MB")" "bob's message in the API with ann's session"
t_eq 404 "$(wb_get - "/api/v1/messages/$MB" -H "Authorization: Bearer $TOK_ANN")" \
	"bob's message in the API with ann's token"
t_eq 404 "$(wb_get - "/api/v1/messages/$MB/events" -H "Authorization: Bearer $TOK_ANN")" \
	"bob's message's events with ann's token"
t_eq 200 "$(wb_get - "/api/v1/messages/$MB" -H "Authorization: Bearer $TOK_BOB")" \
	"bob's message with bob's token"
t_eq 200 "$(wb_get - /api/v1/messages -H "Authorization: Bearer $TOK_ANN")" "the API list with ann's token"
grep -q "$MA" "$WB_BODY" && ! grep -q "$MB" "$WB_BODY" ||
	t_fail "ann's list is not exactly hers: $(cat "$WB_BODY")"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.web_tokens WHERE last_used IS NOT NULL AND
	user_id = (SELECT id FROM beacon.web_users WHERE name = 'ann@example.org')")" \
	"ann's token's last use noted"

# --- live events after real pixel hits ---------------------------------------
curl -s -N --max-time 30 -H "Authorization: Bearer $TOK_ANN" "$WB_URL/api/v1/stream" \
	>"$T_DIR/stream" 2>/dev/null &
SSE=$!
t_on_exit "kill $SSE 2>/dev/null; wait $SSE 2>/dev/null || true"
t_wait_until "grep -q '^: stream' '$T_DIR/stream'" 10 || t_fail "the stream did not open"
curl -s -N --max-time 30 -H "Authorization: Bearer $TOK_BOB" "$WB_URL/api/v1/stream" \
	>"$T_DIR/stream2" 2>/dev/null &
SSE2=$!
t_on_exit "kill $SSE2 2>/dev/null; wait $SSE2 2>/dev/null || true"
t_wait_until "grep -q '^: stream' '$T_DIR/stream2'" 10 || t_fail "the second stream did not open"
t_eq 503 "$(wb_get - /api/v1/stream -H "Authorization: Bearer $TOK_BOB")" \
	"a third stream over live_clients (2)"
kill "$SSE2" 2>/dev/null || true
t_eq 200 "$(px_get "/o/$PXB.gif")" "bob's pixel"
t_eq 200 "$(px_get "/o/$PXA.gif")" "ann's pixel"
px_wait_rows 2 10 || t_fail "the opens were not stored"
t_wait_until "grep -q '^event: beacon' '$T_DIR/stream'" 15 || t_fail "no live event: $(cat "$T_DIR/stream")"
sleep 0.5	# bob's event, had it come, with it
t_eq 1 "$(grep -c '^event: beacon' "$T_DIR/stream")" "one live event"
EV=$(grep '^data: ' "$T_DIR/stream")
jq -e --arg t "$UA" --arg m "$MA" '.token_id == $t and .kind == "open" and .message == $m and
	.recipient == "rita@example.com"' <<<"${EV#data: }" >/dev/null ||
	t_fail "the live event is not ann's open: $EV"
t_ok "the live event is ann's open"
kill "$SSE" 2>/dev/null || true

# --- sign-out ----------------------------------------------------------------
CSRF=$(wb_csrf ann)
[ ${#CSRF} = 43 ] || t_fail "no CSRF token for ann's session"
t_eq 403 "$(wb_post ann /logout "x=1")" "POST /logout without the CSRF token"
t_eq 403 "$(wb_post ann /logout "csrf=$CSRF" -H "Origin: http://evil.example")" \
	"POST /logout from another Origin"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.web_sessions")" "the session lives on"
t_eq 405 "$(wb_get ann /logout)" "GET /logout"
t_eq "POST" "$(wb_header Allow)" "GET /logout: Allow"
t_eq 303 "$(wb_post ann /logout "csrf=$CSRF" -H "Origin: $WB_URL")" "POST /logout"
t_eq "/login" "$(wb_header Location)" "sign-out goes to the sign-in form"
t_eq "$WB_SESSION=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0" \
	"$(wb_cookie_line "$WB_SESSION")" "the session cookie cleared"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.web_sessions")" "the session row gone"
t_eq 303 "$(wb_get - / -H "Cookie: $WB_SESSION=$SESSION")" "the old cookie after sign-out"
t_eq "/login" "$(wb_header Location)" "the old cookie goes to the sign-in form"

# --- lockout and rate limit ---------------------------------------------------
CX=(-H 'X-Forwarded-For: 192.0.2.2')
t_eq 401 "$(wb_login carl carl@example.org 'wrong wrong wrong' '' "${CX[@]}")" "carl, wrong password 1"
t_eq 401 "$(wb_login carl carl@example.org 'wrong wrong wrong' '' "${CX[@]}")" "carl, wrong password 2"
t_eq t "$(pg_query "SELECT locked_until > now() + interval '50 minutes' FROM beacon.web_users
	WHERE name = 'carl@example.org'")" "carl locked for login_lockout"
t_eq 401 "$(wb_login carl carl@example.org 'carl has a long password' '' -H 'X-Forwarded-For: 192.0.2.3')" \
	"carl locked: the right password refused"
grep -q 'login failed user=carl@example.org ip=192.0.2.3 reason=locked' "$WB_LOG" ||
	t_fail "no 'reason=locked' line"
t_eq 401 "$(wb_login carl carl@example.org 'wrong again wrong' '' "${CX[@]}")" "third failure from 192.0.2.2"
t_eq 429 "$(wb_login carl bob@example.net "$PW_BOB" '' "${CX[@]}")" "192.0.2.2 rate-limited, right password"
grep -q 'login failed user=bob@example.net ip=192.0.2.2 reason=rate-limit' "$WB_LOG" ||
	t_fail "no 'reason=rate-limit' line"
t_eq 303 "$(wb_login bob bob@example.net "$PW_BOB" //evil.example -H 'X-Forwarded-For: 192.0.2.4')" \
	"bob from another address"
t_eq "/" "$(wb_header Location)" "a next that is not a local path goes to /"

# a burst of parallel sign-ins from one address: login_rate password checks, the rest 429
# (an attempt counts from before its check, not only once it failed)
[ "$(wb_get burst /login)" = 200 ] || t_fail "GET /login for the burst"
BL=$(wb_cookie burst "$WB_LOGIN")
# burst FILE N XFF - N parallel wrong sign-ins of dora (unknown) from XFF (%d: 1..N)
burst() {
	local i xff pids=()
	for ((i = 1; i <= $2; i++)); do
		# shellcheck disable=SC2059 # the format is the argument
		printf -v xff "$3" "$i"
		curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' -H "Cookie: $WB_LOGIN=$BL" \
			-H "X-Forwarded-For: $xff" --data-raw "user=dora%40example.org&password=wrong+$i&csrf=$BL" \
			"$WB_URL/login" >>"$1" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
burst "$T_DIR/burst1" 12 192.0.2.9
t_eq "3 401|9 429" "$(sort "$T_DIR/burst1" | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? "|" : ""), $1, $2 }')" \
	"12 parallel sign-ins from one address with login_rate 3: 3 checked, 9 refused 429"
t_eq 3 "$(grep -c 'login failed user=dora@example.org ip=192.0.2.9 reason=unknown-user' "$WB_LOG")" \
	"3 password checks logged for that address"

# a burst from many addresses holds no database session while the passwords are checked
# (db_connections 1): a signed-in page is answered meanwhile, not after the burst
burst "$T_DIR/burst2" 24 198.51.100.%d &
BURST=$!
t_wait_until "grep -q 'ip=198\\.51\\.100\\.' '$WB_LOG'" 10 ||
	t_fail "the second burst did not start"
t0=$(t_now_us)
t_eq 200 "$(wb_get bob /)" "a page of bob during a burst of 24 sign-ins"
ms=$((($(t_now_us) - t0) / 1000))
[ "$ms" -lt 2500 ] || t_fail "the page took $ms ms during the burst (the sign-ins held the database)"
t_ok "the page took $ms ms during the burst"
wait "$BURST"

# an IPv6 client counts by its /64
for a in 1 2 3; do
	t_eq 401 "$(wb_login v6 dora@example.org 'wrong wrong wrong' '' -H "X-Forwarded-For: 2001:db8:5:6::$a")" \
		"a wrong sign-in from 2001:db8:5:6::$a"
done
t_eq 429 "$(wb_login v6 bob@example.net "$PW_BOB" '' -H 'X-Forwarded-For: 2001:db8:5:6:ff::99')" \
	"another address of that /64 after login_rate failures"
t_eq 303 "$(wb_login v6b bob@example.net "$PW_BOB" '' -H 'X-Forwarded-For: 2001:db8:5:7::1')" \
	"an address of the next /64"

# the name normalised as beaconctl stores it: IDNA, case, the trailing dot
wb_user 'Zoe@Bücher.example.' 'zoe has a long password'
t_eq zoe@xn--bcher-kva.example "$(pg_query "SELECT name FROM beacon.web_users WHERE name LIKE 'zoe@%'")" \
	"beaconctl stores Zoe@Bücher.example. in its one form"
t_eq 303 "$(wb_login zoe 'Zoe@Bücher.example.' 'zoe has a long password' '' -H 'X-Forwarded-For: 192.0.2.10')" \
	"Zoe signs in with the name as she typed it to beaconctl"

# --- an oversized form is refused before its body is read ----------------------
# big_form MODE - POST /login announcing 99999999999 bytes (MODE length) or sending a
# 20 KiB chunked body without its end (MODE chunked); print the first line of the
# answer ("closed": the connection was closed, "timeout": nothing within 5 s)
big_form() {
	python3 - "$WB_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
head = b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
try:
    if sys.argv[2] == "length":
        s.sendall(head + b"Content-Length: 99999999999\r\n\r\nuser=x")
    else:
        s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(5):
            s.sendall(b"1000\r\n" + b"a" * 4096 + b"\r\n")
    data = s.recv(200)
    print(data.split(b"\r\n")[0].decode() if data else "closed")
except socket.timeout:
    print("timeout")
except (ConnectionResetError, BrokenPipeError):
    print("closed")
EOF
}
t_eq "HTTP/1.1 413 Content Too Large" "$(big_form length)" \
	"a form announced longer than 16 KiB: 413 at once, its body not awaited"
t_eq closed "$(big_form chunked)" "a chunked form past 16 KiB: the connection closed at once"
grep -q 'POST /login: the form is longer than 16384 bytes: connection closed ip=127.0.0.1' "$WB_LOG" ||
	t_fail "no log line for the chunked form cut off"

# --- static files --------------------------------------------------------------
t_eq 200 "$(wb_get - /static/t.css)" "a static file"
t_eq "text/css; charset=utf-8|max-age=3600" "$(wb_header Content-Type)|$(wb_header Cache-Control)" \
	"its type and cache policy"
t_eq 200 "$(wb_get - /static/chart.min.js)" "chart.min.js from chartjs"
cmp -s "$WB_BODY" "$CHARTJS" || t_fail "chart.min.js is not the chartjs file"
for p in /static/../web.conf /static/..%2fweb.conf /static/%2e%2e/web.conf /static/dir.css \
	/static/t.exe /static/none.css /static/ /static/.t.css; do
	t_eq 404 "$(wb_get - "$p" --path-as-is)" "GET $p"
done

# --- X-Forwarded-For from a peer outside trusted_proxies: not believed, said once --
for i in 1 2; do
	t_eq 200 "$(wb_get - /healthz --interface 127.0.0.5 -H 'X-Forwarded-For: 203.0.113.7')" \
		"X-Forwarded-For from 127.0.0.5 (untrusted), request $i"
done
t_eq 1 "$(grep -c 'X-Forwarded-For from 127.0.0.5, which is not in \[web\] trusted_proxies' "$WB_LOG")" \
	"the untrusted X-Forwarded-For is logged once"
t_eq 2 "$(grep -c 'GET /healthz 200 user=- ip=127.0.0.5 ' "$WB_LOG")" "the client is the peer"
t_eq 127.0.0.1 "$(awk '/^\[/ { sec = $0 } sec == "[web]" && /^trusted_proxies *=/ {
	sub(/^[^=]*= */, ""); print }' "$BEACON_SRC/contrib/beacon.conf")" \
	"contrib/beacon.conf believes the TLS front on loopback (contrib/nginx)"

# --- behind contrib/nginx/beacon-web.conf ---------------------------------------
ng=$T_DIR/nginx
tls_port=$(t_free_port)
mkdir -p "$ng"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ng/key.pem" -out "$ng/cert.pem" \
	-days 2 -subj /CN=localhost >/dev/null 2>&1 || t_fail "openssl could not make a certificate"
sed -e "s|^\tlisten 443 ssl http2;|\tlisten 127.0.0.1:$tls_port ssl http2;|" \
	-e '/listen \[::\]/d' -e '/^\tlisten 80;/d' \
	-e "s|server 127.0.0.1:8090;|server 127.0.0.1:$WB_PORT;|" \
	-e "s|/etc/letsencrypt/live/beacon.example.com/fullchain.pem|$ng/cert.pem|" \
	-e "s|/etc/letsencrypt/live/beacon.example.com/privkey.pem|$ng/key.pem|" \
	"$BEACON_SRC/contrib/nginx/beacon-web.conf" >"$ng/site.conf"
grep -q "127.0.0.1:$tls_port" "$ng/site.conf" && grep -q "127.0.0.1:$WB_PORT" "$ng/site.conf" ||
	t_fail "the contrib file no longer has the lines this test adapts"
cat >"$ng/nginx.conf" <<EOF
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $ng/body;
	proxy_temp_path $ng/proxy;
	fastcgi_temp_path $ng/fastcgi;
	uwsgi_temp_path $ng/uwsgi;
	scgi_temp_path $ng/scgi;
	include $ng/site.conf;
}
EOF
nginx -p "$ng" -c "$ng/nginx.conf" -g 'daemon off;' >"$ng/out.log" 2>&1 &
NGPID=$!
t_on_exit "t_kill_pid $NGPID QUIT 10"
t_wait_port "$tls_port" 10 || t_fail "nginx did not start: $(cat "$ng/out.log" "$ng/error.log")"
DIRECT=$WB_URL
WB_URL=https://localhost:$tls_port
NG=(-k --interface 127.0.0.5)
t_eq 303 "$(wb_login dan bob@example.net "$PW_BOB" /conversations "${NG[@]}" -H "Origin: $WB_URL")" \
	"sign-in through nginx on port $tls_port, Origin with that port"
t_eq "/conversations" "$(wb_header Location)" "through nginx: to next"
grep -q 'login ok user=bob@example.net ip=127.0.0.5' "$WB_LOG" ||
	t_fail "the client address behind nginx is not 127.0.0.5"
t_eq 200 "$(wb_get dan /conversations "${NG[@]}")" "a page through nginx, with its session"
curl -sk -N --max-time 20 -b "$T_DIR/dan.jar" "$WB_URL/live/stream" >"$T_DIR/ngstream" 2>/dev/null &
NGSSE=$!
t_on_exit "kill $NGSSE 2>/dev/null; wait $NGSSE 2>/dev/null || true"
t_wait_until "grep -q '^: stream' '$T_DIR/ngstream'" 10 ||
	t_fail "the live stream is buffered by nginx"
kill "$NGSSE" 2>/dev/null || true
t_ok "the live stream opens through nginx at once"
WB_URL=$DIRECT

# --- sessions end: session_idle after the last request, session_ttl after sign-in --
pg_psql -c "UPDATE beacon.web_sessions SET last_seen = now() - interval '2 hours 1 minute'
	WHERE id = sha256(convert_to('$(wb_cookie dan "$WB_SESSION")', 'UTF8'))" >/dev/null
t_eq 303 "$(wb_get dan /conversations)" "a session idle longer than session_idle"
pg_psql -c "UPDATE beacon.web_sessions SET expires_at = now() - interval '1 second'
	WHERE id = sha256(convert_to('$(wb_cookie bob "$WB_SESSION")', 'UTF8'))" >/dev/null
t_eq 303 "$(wb_get bob /conversations)" "a session past session_ttl"

# --- -n checks the files and the listen address ----------------------------------
sed -e "s|^static_dir = .*|static_dir = $T_DIR/no-such-dir|" "$WB_CONF" >"$T_DIR/n.conf"
t_run "$BEACON_BUILD/beacon-web" -n -c "$T_DIR/n.conf"
t_eq 78 "$RC" "-n with a static_dir that does not exist"
grep -q "static_dir $T_DIR/no-such-dir: No such file or directory" <<<"$ERR" ||
	t_fail "-n does not name the missing static_dir: $ERR"
mkdir -p "$T_DIR/noreports/sql/reports"
BEACON_SQLDIR=$T_DIR/noreports/sql t_run "$BEACON_BUILD/beacon-web" -n -c "$WB_CONF"
t_eq 78 "$RC" "-n with an SQL directory without the report files"
grep -q "the summary's report files: .*/reports/summary.sql: No such file or directory" <<<"$ERR" ||
	t_fail "-n does not name the missing summary.sql: $ERR"
BEACON_SQLDIR=$T_DIR/no-such-sql t_run "$BEACON_BUILD/beacon-web" -n -c "$WB_CONF"
t_eq 78 "$RC" "-n with no SQL directory"
grep -q "the summary's report files: no SQL directory" <<<"$ERR" ||
	t_fail "-n does not say the report files are missing: $ERR"
sed -e "s|^chartjs = .*|chartjs = $T_DIR/no-chart.js|" -e "s|^listen = .*|listen = 0.0.0.0:$WB_PORT|" \
	"$WB_CONF" >"$T_DIR/n.conf"
t_run "$BEACON_BUILD/beacon-web" -n -c "$T_DIR/n.conf"
t_eq 0 "$RC" "-n with an unreadable chartjs and a listen address off loopback"
grep -q "warning: \[web\] chartjs $T_DIR/no-chart.js cannot be read" <<<"$ERR" ||
	t_fail "-n does not warn of the unreadable chartjs: $ERR"
grep -q "warning: \[web\] listen 0.0.0.0:$WB_PORT is not on loopback" <<<"$ERR" ||
	t_fail "-n does not warn of a listen address off loopback: $ERR"
t_eq 0 "$(grep -c 'warning' <<<"$("$BEACON_BUILD/beacon-web" -n -c "$WB_CONF" 2>&1)")" \
	"-n on the test's own configuration: no warning"

# --- the roles it refuses ----------------------------------------------------
pg_psql -c 'CREATE ROLE bypass LOGIN BYPASSRLS IN ROLE beacon_web' -c 'CREATE ROLE outsider LOGIN' \
	-c 'GRANT CONNECT ON DATABASE beacon TO outsider' >/dev/null
for r in "beacon:is a superuser" "bypass:has BYPASSRLS" "outsider:is not a member of beacon_web"; do
	sed "s/^conninfo = .*/conninfo = ${BEACON_CONNINFO/user=beacon /user=${r%%:*} }/" "$WB_CONF" \
		>"$T_DIR/role.conf"
	t_run "$BEACON_BUILD/beacon-web" -t -c "$T_DIR/role.conf"
	t_eq 78 "$RC" "-t as ${r%%:*}"
	grep -q "database role ${r%%:*} ${r#*:}" <<<"$ERR" || t_fail "-t as ${r%%:*}: $ERR"
done
sed -i "s/^listen = .*/listen = 127.0.0.1:$(t_free_port)/" "$T_DIR/role.conf"
sed -i "s/user=outsider /user=bypass /" "$T_DIR/role.conf"
t_run timeout 20 "$BEACON_BUILD/beacon-web" -f -c "$T_DIR/role.conf"
t_eq 78 "$RC" "a start as the BYPASSRLS role"
grep -q "database role bypass has BYPASSRLS" <<<"$ERR" || t_fail "the refusal does not say why: $ERR"

# --- PostgreSQL restarted: the pooled sessions it ended are not handed out -------
t_eq 200 "$(wb_get zoe /)" "a page before PostgreSQL restarts (its sessions pooled)"
pg_restart
t_eq 200 "$(wb_get - /healthz)" "/healthz at once after the restart"
t_eq 200 "$(wb_get zoe /)" "a signed-in page at once after the restart"
grep -q 'a pooled database session was ended by the server' "$WB_LOG" ||
	t_fail "no log line for the pooled sessions the restart ended"

# --- reading off the primary: [web] read_conninfo, a streaming replica -------------
pg_replica_start
RPORT=$PG_REPLICA_PORT
READ="read_conninfo = host=127.0.0.1 port=$RPORT dbname=beacon user=web connect_timeout=2"
# web_restart MAX_LAG - beacon-web again, reading the replica under read_max_lag MAX_LAG;
# its own statement_timeout (30 s) is not the 1 s of [database]
web_restart() {
	wb_stop
	wb_config "${WB_LINES[@]}" "$READ" '[database]' "read_max_lag = $1" 'statement_timeout = 1000'
	wb_start
}
# ann_sees - the subjects of ann's messages on the messages page, as a list
ann_sees() {
	[ "$(wb_get ann2 /)" = 200 ] || t_fail "ann's messages page did not answer 200"
	grep -o 'Letter[^<]*from Ann' "$WB_BODY" | sort | paste -sd, -
}
# -t refuses a replica role that row-level security does not bind, as the primary's
sed "s|^read_conninfo = .*|read_conninfo = host=127.0.0.1 port=$RPORT dbname=beacon user=beacon|" \
	"$WB_CONF" >"$T_DIR/role.conf"
grep -q '^read_conninfo' "$T_DIR/role.conf" || printf '[web]\n%s\n' \
	"read_conninfo = host=127.0.0.1 port=$RPORT dbname=beacon user=beacon" >>"$T_DIR/role.conf"
t_run "$BEACON_BUILD/beacon-web" -t -c "$T_DIR/role.conf"
t_eq 78 "$RC" "-t with a superuser in read_conninfo"
grep -q "\[web\] read_conninfo: replica 127.0.0.1:$RPORT: database role beacon is a superuser" <<<"$ERR" ||
	t_fail "-t does not say why the replica's role is refused: $ERR"

pg_replica_wait
web_restart 8
grep -q "\[web\] read_conninfo: the pages and the API read from replica 127.0.0.1:$RPORT (lag" "$WB_LOG" ||
	t_fail "the start does not say the pages read the replica"
t_eq 303 "$(wb_login ann2 ann@example.org "$PW_ANN" '' -H 'X-Forwarded-For: 192.0.2.20')" \
	"sign-in with a replica to read (the session written on the primary)"
t_eq 200 "$(wb_get - /healthz)" "/healthz with the replica"
paste -sd'|' "$WB_BODY" | grep -Eqx "ok\|read from replica 127\.0\.0\.1:$RPORT \(lag [0-9]+\.[0-9] s\)" ||
	t_fail "/healthz does not say the pages read the replica: $(cat "$WB_BODY")"
t_ok "/healthz says the pages read the replica: $(sed -n 2p "$WB_BODY")"
t_eq "Letter from Ann" "$(ann_sees)" "ann's messages read from the replica"
# a commit the replica replays, then replay paused and ann's second letter on the primary
pg_psql -c "UPDATE beacon.messages SET campaign = 'spring' WHERE id = '$MA'" >/dev/null
pg_replica_wait
pg_replica_query 'SELECT pg_wal_replay_pause()' >/dev/null
t_wait_until '[ "$(pg_replica_query "SELECT pg_get_wal_replay_pause_state()")" = paused ]' 10 ||
	t_fail "replay did not pause"
pg_psql -c "INSERT INTO beacon.messages (id, message_id, sender, sender_key, subject, sent_at)
	VALUES ('20000000-0000-4000-8000-0000000000a2', '<a2@example.org>', 'ann@example.org',
		'ann@example.org', 'Letter two from Ann', now())" >/dev/null
pg_replica_wait received
t_eq "Letter from Ann" "$(ann_sees)" \
	"replay paused, lag under read_max_lag (8 s): the page shows the replica's figures"
t_eq 303 "$(wb_login ann3 ann@example.org "$PW_ANN" '' -H 'X-Forwarded-For: 192.0.2.20')" \
	"sign-in while the replica is behind"
t_eq "1|0" "$(pg_query "SELECT count(*) FROM beacon.web_sessions WHERE id = sha256(convert_to('$(wb_cookie ann3 "$WB_SESSION")', 'UTF8'))")|$(pg_replica_query "SELECT count(*) FROM beacon.web_sessions WHERE id = sha256(convert_to('$(wb_cookie ann3 "$WB_SESSION")', 'UTF8'))")" \
	"the new session is on the primary (and not yet on the paused replica)"
# the lag passes read_max_lag: at its next check (10 s at most) the pooled read session
# is dropped and the pages read the primary
t_wait_until '[ "$(ann_sees)" = "Letter from Ann,Letter two from Ann" ]' 25 ||
	t_fail "the pages still read the replica 25 s after its replay paused: $(ann_sees)"
t_ok "lag over read_max_lag: the page shows the primary's figures"
t_eq 200 "$(wb_get - /healthz)" "/healthz, the replica behind"
sed -n 2p "$WB_BODY" | grep -Eqx "read from the primary: replica 127\.0\.0\.1:$RPORT is [0-9]+\.[0-9] s behind \(read_max_lag 8 s\)" ||
	t_fail "/healthz does not say the pages read the primary and why: $(cat "$WB_BODY")"
grep -q "replica 127.0.0.1:$RPORT is [0-9.]* s behind (read_max_lag 8 s): the pages and the API read the primary" "$WB_LOG" ||
	t_fail "no log line when the reads moved to the primary"
t_eq 1 "$(wb_get - /api/v1/messages -H "Authorization: Bearer $TOK_ANN" >/dev/null;
	grep -o 'Letter two from Ann' "$WB_BODY" | wc -l)" "the API reads the primary too"

# [web] statement_timeout (30 s), not [database]'s 1 s: a page waiting 6 s on a lock is
# answered; meanwhile (db_connections 1) another page finds no read session: 503, logged
# with its path and user
pg_psql -c "BEGIN; LOCK TABLE beacon.messages IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" \
	>/dev/null &
LOCKER=$!
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_locks WHERE relation = 'beacon.messages'::regclass AND mode = 'AccessExclusiveLock' AND granted\")\" = 1 ]" 10 ||
	t_fail "the lock was not taken"
t0=$(t_now_us)
cp "$T_DIR/ann2.jar" "$T_DIR/slow.jar"
WB_BODY=$T_DIR/slow.body WB_HEAD=$T_DIR/slow.head wb_get slow / >"$T_DIR/slow.code" &
SLOW=$!
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'beacon-web' AND wait_event_type = 'Lock'\")\" = 1 ]" 10 ||
	t_fail "the page did not wait on the lock"
t_eq 503 "$(wb_get ann2 /conversations)" "another page while the one read session waits"
grep -q "GET /conversations: 503: no read session free within 5 s user=ann@example.org ip=127.0.0.1" "$WB_LOG" ||
	t_fail "the 503 is not logged with its path and user"
wait "$SLOW" "$LOCKER"
ms=$((($(t_now_us) - t0) / 1000))
t_eq 200 "$(cat "$T_DIR/slow.code")" "the page that waited on the lock"
[ "$ms" -ge 4000 ] || t_fail "the page took $ms ms: it did not wait on the lock"
t_ok "it waited $ms ms, past [database] statement_timeout (1 s), within [web]'s (30 s)"

# read_max_lag 3600: the replica, behind, is read again
web_restart 3600
t_eq 303 "$(wb_login ann2 ann@example.org "$PW_ANN" '' -H 'X-Forwarded-For: 192.0.2.21')" \
	"sign-in after the restart"
t_eq "Letter from Ann" "$(ann_sees)" "read_max_lag 3600: the page shows the paused replica's figures"
t_eq 200 "$(wb_get - /healthz)" "/healthz, read_max_lag 3600"
lag=$(sed -n "s/^read from replica 127\.0\.0\.1:$RPORT (lag \([0-9.]*\) s)\$/\1/p" "$WB_BODY")
[ -n "$lag" ] && awk -v l="$lag" 'BEGIN { exit !(l >= 8) }' ||
	t_fail "/healthz does not show the replica and its lag: $(cat "$WB_BODY")"
t_ok "/healthz: read from the replica, lag $lag s"
pg_replica_query 'SELECT pg_wal_replay_resume()' >/dev/null

# --- healthz with the database down, then a clean stop --------------------------
pg_stop
t_eq 503 "$(wb_get - /healthz)" "/healthz with PostgreSQL down"
wb_stop
