#!/bin/bash
# NAME
#	29_pixelsrv_haproxy.sh - contrib/haproxy/beacon-pixelsrv.cfg in front of beacon-pixelsrv
#
# DESCRIPTION
#	The contrib HAProxy sections, with only their ports, server address
#	and certificate changed, terminate TLS for beacon-pixelsrv
#	(trusted_proxies = 127.0.0.1, per_ip_connection_limit = 0 as the
#	file says).  An open through the front is stored with the client's
#	address; /metrics is 404 through the front, over TLS and plain HTTP
#	(its path and anything under it), while metrics_listen answers it.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

command -v haproxy >/dev/null || t_fail "haproxy is not installed (make deps)"
t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config 'per_ip_connection_limit = 0'
px_start

tls_port=$(t_free_port)
http_port=$(t_free_port)
hp=$T_DIR/haproxy
mkdir -p "$hp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$hp/key.pem" -out "$hp/cert.pem" \
	-days 2 -subj /CN=t.example.com >/dev/null 2>&1 || t_fail "openssl could not make a certificate"
cat "$hp/cert.pem" "$hp/key.pem" >"$hp/site.pem"
{
	printf 'global\n\tpidfile %s/haproxy.pid\n' "$hp"
	printf 'defaults\n\tmode http\n\ttimeout connect 2s\n\ttimeout client 10s\n'
	printf '\ttimeout server 10s\n'
	sed -e "s|^\tbind :443 ssl crt [^ ]*|\tbind 127.0.0.1:$tls_port ssl crt $hp/site.pem|" \
		-e "s|^\tbind :80$|\tbind 127.0.0.1:$http_port|" \
		-e '/bind :::/d' \
		-e "s|server pixelsrv1 127.0.0.1:8080|server pixelsrv1 127.0.0.1:$PX_PORT|" \
		"$BEACON_SRC/contrib/haproxy/beacon-pixelsrv.cfg"
} >"$hp/haproxy.cfg"
grep -q "127.0.0.1:$tls_port ssl" "$hp/haproxy.cfg" && grep -q "127.0.0.1:$http_port" "$hp/haproxy.cfg" &&
	grep -q "127.0.0.1:$PX_PORT" "$hp/haproxy.cfg" ||
	t_fail "the contrib file no longer has the lines this test adapts"
haproxy -c -f "$hp/haproxy.cfg" >"$hp/check.log" 2>&1 || {
	cat "$hp/check.log" >&2
	t_fail "haproxy rejects the contrib file"
}
haproxy -db -f "$hp/haproxy.cfg" >"$hp/out.log" 2>&1 &
hppid=$!
t_on_exit "t_kill_pid $hppid TERM 10"
t_wait_port "$tls_port" 10 || t_fail "haproxy did not start"

front=https://127.0.0.1:$tls_port
read -r tok uuid < <(px_mint_pair)
t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$front/o/$tok.gif")" \
	"open through haproxy"
t_wait_until "[ -n \"\$(pg_query \"SELECT ip FROM beacon.events WHERE token_id = '$uuid'\")\" ]" 10 ||
	t_fail "open through haproxy not stored"
t_eq 127.0.0.2 "$(pg_query "SELECT ip FROM beacon.events WHERE token_id = '$uuid'")" \
	"address through haproxy"
for p in /metrics /metrics/ /metrics/x; do
	t_eq 404 "$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$front$p")" \
		"$p through haproxy"
done
t_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/metrics")" \
	"/metrics over plain HTTP through haproxy"
t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' "$front/healthz")" "/healthz through haproxy"
[ -n "$(px_metric beacon_pixelsrv_events_queued_total)" ] ||
	t_fail "metrics_listen does not answer /metrics"
t_ok "metrics_listen answers /metrics"
t_kill_pid "$hppid" TERM 10
px_stop
t_ok "29_pixelsrv_haproxy"
