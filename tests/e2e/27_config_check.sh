#!/bin/bash
# NAME
#	27_config_check.sh - -n checks everything start-up checks
#
# DESCRIPTION
#	`beacon-pixelsrv -n` and `beacon-milter -n` run the same check as
#	start-up (one function each: check_config/check_load in
#	pixelsrv/check.c, milter_check/milter_setup in milter/main.c).  For
#	each bad configuration below, -n exits 78 (EX_CONFIG) with a message
#	naming the key, and starting the daemon (-f) exits 78 with the same
#	message before it binds anything:
#	  trusted_proxies = 10.0.0.0/33		(pixelsrv; a cidr list)
#	  listen = 127.0.0.1:99999		(pixelsrv; an address list)
#	  reinject = inet:x@			(milter; an address)
#	  socket = 127.0.0.1:8891		(milter; not a libmilter socket)
#	  a missing secret_file			(both)
#	  a secret_file of mode 0644		(both)
#	  a missing mail_clients file		(pixelsrv)
#	  tls_cert without tls_key		(pixelsrv)
#	  node_name = px/1, or 64 bytes long	(pixelsrv; a node name)
#	  no node_name and a host name that is no node name (pixelsrv)
#	A good configuration passes -n for both daemons and beaconctl, prints
#	the keys, and passes while another process holds the listen port
#	(-n binds nothing).  beaconctl -n does not need the secret file (only
#	`token inspect` reads it) but does check the database password file.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
px_setup
px_config
user=
[ "$(id -u)" = 0 ] && user=nobody
cat >>"$T_DIR/beacon.conf" <<EOC

[milter]
user = $user
socket = unix:$T_DIR/milter/milter.sock
pidfile = $T_DIR/milter/milter.pid
spool_dir = $T_DIR/milter/spool
reinject = inet:$(t_free_port)@127.0.0.1
EOC
GOOD=$T_DIR/beacon.conf
BAD=$T_DIR/bad.conf

# run_prog PROG ARGS... - RC, OUT (stdout), ERR (stderr) of one run
run_prog() {
	local prog=$1
	shift
	RC=0
	timeout 20 "$BEACON_BUILD/$prog" "$@" >"$T_DIR/out" 2>"$T_DIR/err" || RC=$?
	OUT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
}

# refused PROG PATTERN WHAT - -n and start-up refuse bad.conf alike: 78, PATTERN, same message
refused() {
	local prog=$1 pattern=$2 what=$3 check
	run_prog "$prog" -n -c "$BAD"
	t_eq 78 "$RC" "$prog -n: $what: exit status"
	grep -q -- "$pattern" <<<"$ERR" || { printf '%s\n' "$ERR" >&2; t_fail "$prog -n: $what: no '$pattern'"; }
	[ -z "$OUT" ] || t_fail "$prog -n: $what: printed the configuration anyway"
	check=$(grep -- "$pattern" <<<"$ERR")
	run_prog "$prog" -f -c "$BAD"
	t_eq 78 "$RC" "$prog start-up: $what: exit status"
	grep -qxF -- "$check" <<<"$ERR" ||
		{ printf '%s\n' "$ERR" >&2; t_fail "$prog start-up: $what: not the message of -n: $check"; }
}

# bad SED-SCRIPT - bad.conf is the good one edited
bad() { sed "$1" "$GOOD" >"$BAD"; }

# --- a good configuration passes, while something else holds the port
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$PX_PORT" &
holder=$!
t_on_exit "kill $holder 2>/dev/null || true"
t_wait_port "$PX_PORT" 10 || t_fail "the port holder did not listen"
for prog in beacon-pixelsrv beacon-milter beaconctl; do
	run_prog "$prog" -n -c "$GOOD"
	[ "$RC" = 0 ] || { printf '%s\n' "$ERR" >&2; t_fail "$prog -n on the good configuration exited $RC"; }
	grep -qxF "listen = 127.0.0.1:$PX_PORT" <<<"$OUT" || t_fail "$prog -n printed no listen key"
done
t_ok "-n passes on a good configuration (pixelsrv with its port taken)"
kill "$holder" 2>/dev/null || true

# --- typed keys: refused when the file is read
bad "s|^trusted_proxies = .*|trusted_proxies = 10.0.0.0/33|"
refused beacon-pixelsrv "bad value '10.0.0.0/33' for key 'trusted_proxies'" "trusted_proxies /33"
bad "s|^listen = .*|listen = 127.0.0.1:99999|"
refused beacon-pixelsrv "bad value '127.0.0.1:99999' for key 'listen'" "listen port 99999"
bad "s|^reinject = .*|reinject = inet:x@|"
refused beacon-milter "bad value 'inet:x@' for key 'reinject'" "reinject inet:x@"
bad "s|^socket = .*|socket = 127.0.0.1:8891|"
refused beacon-milter "bad value '127.0.0.1:8891' for key 'socket'" "socket host:port"

# --- the program's own check: files the keys name
for prog in beacon-pixelsrv beacon-milter; do
	bad "s|^secret_file = .*|secret_file = $T_DIR/no-such-secret|"
	refused "$prog" "$T_DIR/no-such-secret: cannot read secret file" "missing secret_file"
	cp "$PX_SECRET" "$T_DIR/open-secret"
	chmod 644 "$T_DIR/open-secret"
	bad "s|^secret_file = .*|secret_file = $T_DIR/open-secret|"
	refused "$prog" "$T_DIR/open-secret: secret file is accessible by group or others (mode 0644)" \
		"secret_file mode 0644"
done
bad "s|^mail_clients = .*|mail_clients = $T_DIR/no-such-rules.yaml|"
refused beacon-pixelsrv "\[pixelsrv\] mail_clients: $T_DIR/no-such-rules.yaml" "missing mail_clients"
bad "/^\[pixelsrv\]/a tls_cert = $PX_SECRET"
refused beacon-pixelsrv "\[pixelsrv\] tls_cert is set but tls_key is not" "tls_cert without tls_key"
bad "/^\[pixelsrv\]/a node_name = px/1"
refused beacon-pixelsrv "\[pixelsrv\] node_name 'px/1' is not a node name: 1 to 63 bytes" "node_name px/1"
long=$(printf 'n%.0s' {1..64})
bad "/^\[pixelsrv\]/a node_name = $long"
refused beacon-pixelsrv "\[pixelsrv\] node_name '$long' is not a node name" "node_name of 64 bytes"
bad "/^\[pixelsrv\]/a node_name = ${long:1}"
run_prog beacon-pixelsrv -n -c "$BAD"
t_eq 0 "$RC" "beacon-pixelsrv -n with a node_name of 63 bytes"
# the default is the host name: refused when it is no node name
if [ "$(id -u)" = 0 ]; then
	RC=0
	unshare --uts sh -c 'printf "mx 1" >/proc/sys/kernel/hostname && exec "$0" -n -c "$1"' \
		"$BEACON_BUILD/beacon-pixelsrv" "$GOOD" >"$T_DIR/out" 2>"$T_DIR/err" || RC=$?
	t_eq 78 "$RC" "beacon-pixelsrv -n on a host named 'mx 1' without node_name"
	grep -q "node_name is empty and the host name 'mx 1' is not a node name" "$T_DIR/err" ||
		{ cat "$T_DIR/err" >&2; t_fail "no message about the host name"; }
fi

# --- beaconctl: no secret needed, the password file is checked
bad "s|^secret_file = .*|secret_file = $T_DIR/no-such-secret|"
run_prog beaconctl -n -c "$BAD"
t_eq 0 "$RC" "beaconctl -n without the secret file"
printf 'pw\n' >"$T_DIR/open.pw"
chmod 644 "$T_DIR/open.pw"
{ cat "$GOOD"; printf '[database]\npassword_file = %s\n' "$T_DIR/open.pw"; } >"$BAD"
for prog in beaconctl beacon-pixelsrv beacon-milter; do
	run_prog "$prog" -n -c "$BAD"
	t_eq 78 "$RC" "$prog -n with a 0644 password_file"
	grep -q "$T_DIR/open.pw: password file is accessible by group or others" <<<"$ERR" ||
		{ printf '%s\n' "$ERR" >&2; t_fail "$prog -n: no password file message"; }
done
t_ok "27_config_check"
