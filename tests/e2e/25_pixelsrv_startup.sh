#!/bin/bash
# NAME
#	25_pixelsrv_startup.sh - listen addresses, built-in TLS, start-up failures
#
# DESCRIPTION
#	Two listen addresses (127.0.0.1 and [::1]) with built-in TLS from a
#	root-only key: both answer over HTTPS after the server dropped to
#	`user`, and each stores its own client address.  TLS 1.0 and 1.1,
#	static-RSA, DHE and CBC suites are refused (openssl s_client); TLS
#	1.2 with ECDHE and AES-GCM or ChaCha20, and TLS 1.3, are accepted.
#	A tls_key that group or others may read (0644, 0640) is refused at
#	start (78).  Under an open-file limit of 600 the default
#	connection_limit is lowered to fit, with a log line.  A missing GeoIP
#	City database is a start-up warning and empty places, not a crash.
#	Bad configurations exit with sysexits codes and a message naming the
#	problem: unknown key (78), an address that cannot be bound (71), a
#	malformed listen value (78), a secret file others may read (78), a
#	bad trusted_proxies prefix (78), a second server on the same
#	spool_dir (71), root without a usable `user` (78).
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
port6=$(t_free_port)

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" \
	-days 2 -subj /CN=localhost >/dev/null 2>&1 || t_fail "openssl could not make a certificate"
chmod 600 "$T_DIR/key.pem"

# expect_fail STATUS PATTERN - bad.conf makes the server exit with STATUS, saying PATTERN
# (a server that starts instead is stopped after 20 s: status 124)
expect_fail() {
	local want=$1 pattern=$2 rc=0
	timeout -k 5 20 "$BEACON_BUILD/beacon-pixelsrv" -f -c "$T_DIR/bad.conf" >"$T_DIR/bad.log" 2>&1 ||
		rc=$?
	t_eq "$want" "$rc" "exit status ($pattern)"
	grep -q -- "$pattern" "$T_DIR/bad.log" || {
		cat "$T_DIR/bad.log" >&2
		t_fail "no '$pattern' in the message"
	}
}

px_config "tls_cert = $T_DIR/cert.pem" "tls_key = $T_DIR/key.pem" \
	"geoip_city_db = $T_DIR/geo/missing.mmdb"
sed -i "s/^listen = .*/listen = 127.0.0.1:$PX_PORT, [::1]:$port6/" "$T_DIR/beacon.conf"
px_start
t_wait_port "$port6" 10 || t_fail "nothing listens on [::1]:$port6"
grep -q 'missing.mmdb' "$T_DIR/pixelsrv.log" || t_fail "no warning about the missing City database"

read -r tok4 uuid4 < <(px_mint_pair)
read -r tok6 uuid6 < <(px_mint_pair)
t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PX_PORT/o/$tok4.gif" \
	-H 'X-Forwarded-For: 192.0.2.10')" "HTTPS on 127.0.0.1"
t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' "https://[::1]:$port6/o/$tok6.gif")" \
	"HTTPS on [::1]"
t_eq 43 "$(curl -sk "https://[::1]:$port6/p.gif" | wc -c | tr -d ' ')" "GIF over TLS"
# tls WANT ARGS - an openssl handshake with ARGS is WANT (ok: completed, refused: not)
tls() {
	local want=$1 got=refused out
	shift
	out=$(openssl s_client -connect "127.0.0.1:$PX_PORT" -servername localhost "$@" \
		</dev/null 2>&1) && grep -q ', Cipher is [A-Z]' <<<"$out" && got=ok
	t_eq "$want" "$got" "TLS handshake $*"
}
tls refused -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
tls refused -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
tls refused -tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'
tls refused -tls1_2 -cipher 'AES128-GCM-SHA256:AES256-GCM-SHA384'
tls refused -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA'
tls refused -tls1_2 -cipher 'DHE-RSA-AES128-GCM-SHA256'
tls ok -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256'
tls ok -tls1_2 -cipher 'ECDHE-RSA-CHACHA20-POLY1305'
tls ok -tls1_3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PX_PORT/p.gif" || true)
[ "$code" != 200 ] || t_fail "plain HTTP answered on the TLS port"
px_wait_rows 2 10 || t_fail "TLS opens not stored"
t_eq "192.0.2.10||||64496" \
	"$(pg_query "SELECT ip, country, region, city, asn FROM beacon.events WHERE token_id = '$uuid4'")" \
	"no City database: empty place, ASN still there"
t_eq "::1" "$(pg_query "SELECT ip FROM beacon.events WHERE token_id = '$uuid6'")" \
	"IPv6 peer stored"
if [ "$(id -u)" = 0 ]; then
	t_eq nobody "$(ps -o user= -p "$PX_PID" | tr -d ' ')" "running as the configured user"
fi
# a second server on the same spool_dir is refused
other=$(t_free_port)
sed -e "s/^listen = .*/listen = 127.0.0.1:$other/" -e '/^tls_/d' -e '/^metrics_listen/d' \
	"$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 71 "in use by another process"
t_eq "$PX_PID" "$(cat "$T_DIR/pixelsrv.pid")" "the refused server left the pid file alone"
px_stop

# -n: check and print the configuration
out=$("$BEACON_BUILD/beacon-pixelsrv" -n -c "$T_DIR/beacon.conf") || t_fail "-n failed"
grep -q "^batch_size" <<<"$out" || grep -q "batch_size" <<<"$out" || t_fail "-n printed no keys"

# an open-file limit too small for connection_limit (10000 by default): lowered to fit
# (600 - 272 reserved - 64 for the files of download_limit's downloads, over the two
# listen addresses), and the log says so
(ulimit -n 600 && exec timeout -k 5 3 "$BEACON_BUILD/beacon-pixelsrv" -f -c "$T_DIR/beacon.conf") \
	>"$T_DIR/small.log" 2>&1 || true
grep -q 'connection_limit 10000 lowered to 132: the open-file limit is 600' "$T_DIR/small.log" || {
	cat "$T_DIR/small.log" >&2
	t_fail "no line saying connection_limit was lowered to the open-file limit"
}
t_ok "connection_limit lowered to the open-file limit, and logged"

# start-up failures: status and message
sed 's/^threads = 1/thread = 1/' "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 78 "thread"
sed "s/^listen = .*/listen = 192.0.2.1:$PX_PORT/" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 71 "192.0.2.1:$PX_PORT"
sed "s/^listen = .*/listen = localhost/" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 78 "expected host:port"
cp "$PX_SECRET" "$T_DIR/open-secret"
chmod 644 "$T_DIR/open-secret"
sed "s|^secret_file = .*|secret_file = $T_DIR/open-secret|" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 78 "group or others"
cp "$T_DIR/key.pem" "$T_DIR/open-key.pem"
chmod 644 "$T_DIR/open-key.pem"
sed "s|^tls_key = .*|tls_key = $T_DIR/open-key.pem|" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 78 "tls_key: $T_DIR/open-key.pem: private key is accessible by group or others (mode 0644)"
chmod 640 "$T_DIR/open-key.pem"
expect_fail 78 "tls_key: .*(mode 0640); run: chmod 600"
sed "s|^trusted_proxies = .*|trusted_proxies = 10.0.0.0/33|" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
expect_fail 78 "trusted_proxies"
if [ "$(id -u)" = 0 ]; then
	sed "s|^user = .*|user = |" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
	expect_fail 78 "refusing to run as root"
	sed "s|^user = .*|user = no-such-user-beacon|" "$T_DIR/beacon.conf" >"$T_DIR/bad.conf"
	expect_fail 78 "does not exist"
fi
t_ok "25_pixelsrv_startup"
