#!/bin/bash
# NAME
#	26_pixelsrv_nginx.sh - contrib/nginx/beacon-pixelsrv.conf in front of beacon-pixelsrv
#
# DESCRIPTION
#	The contrib nginx file, with only its ports, upstream and certificate
#	paths changed, terminates TLS for beacon-pixelsrv (trusted_proxies =
#	127.0.0.1).  A client on 127.0.0.2 is stored as 127.0.0.2 even when
#	it sends its own X-Forwarded-For or Forwarded; clicks redirect
#	through the front; plain HTTP serves pixels and sends the rest to
#	HTTPS; /metrics is 404 through the front.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

command -v nginx >/dev/null || t_fail "nginx is not installed (make deps)"
t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config
px_start

tls_port=$(t_free_port)
http_port=$(t_free_port)
ng=$T_DIR/nginx
mkdir -p "$ng"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ng/key.pem" -out "$ng/cert.pem" \
	-days 2 -subj /CN=t.example.com >/dev/null 2>&1 || t_fail "openssl could not make a certificate"
sed -e "s|^\tlisten 443 ssl http2;|\tlisten 127.0.0.1:$tls_port ssl http2;|" \
	-e "s|^\tlisten 80;|\tlisten 127.0.0.1:$http_port;|" \
	-e '/listen \[::\]/d' \
	-e "s|server 127.0.0.1:8080;|server 127.0.0.1:$PX_PORT;|" \
	-e "s|/etc/letsencrypt/live/t.example.com/fullchain.pem|$ng/cert.pem|" \
	-e "s|/etc/letsencrypt/live/t.example.com/privkey.pem|$ng/key.pem|" \
	"$BEACON_SRC/contrib/nginx/beacon-pixelsrv.conf" >"$ng/site.conf"
grep -q "127.0.0.1:$tls_port" "$ng/site.conf" && grep -q "127.0.0.1:$PX_PORT" "$ng/site.conf" ||
	t_fail "the contrib file no longer has the lines this test adapts"
cat >"$ng/nginx.conf" <<EOF
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log;
events { worker_connections 256; }
http {
	client_body_temp_path $ng/body;
	proxy_temp_path $ng/proxy;
	fastcgi_temp_path $ng/fastcgi;
	uwsgi_temp_path $ng/uwsgi;
	scgi_temp_path $ng/scgi;
	include $ng/site.conf;
}
EOF
nginx -t -p "$ng" -c "$ng/nginx.conf" >"$ng/test.log" 2>&1 || {
	cat "$ng/test.log" >&2
	t_fail "nginx rejects the contrib file"
}
nginx -p "$ng" -c "$ng/nginx.conf" -g 'daemon off;' >"$ng/out.log" 2>&1 &
ngpid=$!
t_on_exit "t_kill_pid $ngpid QUIT 10"
t_wait_port "$tls_port" 10 || t_fail "nginx did not start"

front=https://127.0.0.1:$tls_port
check() {
	local want=$1 tok uuid
	shift
	read -r tok uuid < <(px_mint_pair)
	t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$@" \
		"$front/o/$tok.gif")" "open through nginx $*"
	t_wait_until "[ -n \"\$(pg_query \"SELECT ip FROM beacon.events WHERE token_id = '$uuid'\")\" ]" 10 ||
		t_fail "open through nginx not stored"
	t_eq "$want" "$(pg_query "SELECT ip FROM beacon.events WHERE token_id = '$uuid'")" \
		"address through nginx $*"
}
check 127.0.0.2
check 127.0.0.2 -H 'X-Forwarded-For: 192.0.2.1'
check 127.0.0.2 -H 'Forwarded: for=198.51.100.1'

read -r tok _ < <(px_mint_pair)
click=$(px_click "$tok" 1 'https://example.org/x')
t_eq "302 https://example.org/x" \
	"$(curl -sk -o /dev/null -w '%{http_code} %{redirect_url}' "$front$click")" "click through nginx"
t_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/o/$tok.gif")" \
	"pixel over plain HTTP"
t_eq 301 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port$click")" \
	"click over plain HTTP goes to HTTPS"
# /metrics is not reachable through the front, over TLS or plain HTTP
t_eq 404 "$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$front/metrics")" \
	"/metrics through nginx"
t_eq 301 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/metrics")" \
	"/metrics over plain HTTP goes to HTTPS, where it is 404"
t_eq 200 "$(curl -sk -o /dev/null -w '%{http_code}' "$front/healthz")" "/healthz through nginx"
t_kill_pid "$ngpid" QUIT 10
px_stop
t_ok "26_pixelsrv_nginx"
