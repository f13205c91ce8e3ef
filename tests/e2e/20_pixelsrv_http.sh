#!/bin/bash
# NAME
#	20_pixelsrv_http.sh - beacon-pixelsrv's HTTP surface against a real database
#
# DESCRIPTION
#	The pixel is the exact 43-byte GIF with the no-cache headers; a valid
#	open is one row (curl's, class bot); a HEAD gets the headers only and is one open row
#	too (its class is the writer's to decide); /p.gif and forged or
#	mangled tokens get the GIF and no row; a signed click is a 302 to its
#	target and one row, a HEAD of it too; the honeypot link (link 0) is a
#	204 without Location and one click row with link_n 0; changing u=, n,
#	the token or the MAC gives 404 and never a Location;
#	/healthz, /metrics, 404 and 405 answer as documented (/metrics only
#	on metrics_listen, 404 on the public listener from any peer); oversized and
#	malformed requests get 4xx; keep-alive connections are reused.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config
px_start

# --- the pixel -------------------------------------------------------------
read -r tok uuid < <(px_mint_pair)
curl -s -D "$T_DIR/h" -o "$T_DIR/gif" "$PX_URL/o/$tok.gif" || t_fail "GET pixel"
t_eq "47494638396101000100800100000000ffffff21f90401000000002c00000000010001000002024401003b" \
	"$(od -An -tx1 -v "$T_DIR/gif" | tr -d ' \n')" "pixel bytes"
hdr() { grep -i "^$1:" "$T_DIR/h" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
t_eq "HTTP/1.1 200 OK" "$(head -n 1 "$T_DIR/h" | tr -d '\r')" "pixel status line"
t_eq "image/gif" "$(hdr Content-Type)" "pixel Content-Type"
t_eq "43" "$(hdr Content-Length)" "pixel Content-Length"
t_eq "no-store, no-cache, must-revalidate, private" "$(hdr Cache-Control)" "pixel Cache-Control"
t_eq "no-cache" "$(hdr Pragma)" "pixel Pragma"
t_eq "0" "$(hdr Expires)" "pixel Expires"
px_wait_rows 1 10 || t_fail "the open was not stored"
# curl's own User-Agent is an HTTP library's: stored, as a bot's (machines.yaml http-library)
t_eq "open|$uuid|127.0.0.1|bot|list:http-library" \
	"$(pg_query "SELECT kind, token_id, ip, class, reason FROM beacon.events")" "stored open"

# HEAD: the headers, no body, and an open row each (a link checker, for the writer); from
# other addresses, as the same event from the same address is a repeat (repeat_window)
t_eq "200" "$(px_get "/o/$tok.gif" -I --interface 127.0.0.2)" "HEAD pixel"
t_eq "0" "$(curl -s -I --interface 127.0.0.3 "$PX_URL/o/$tok.gif" | wc -c |
	awk '{print ($1 > 0 && $1 < 400) ? 0 : 1}')" "HEAD answered with headers only"
px_wait_rows 3 10 || t_fail "the HEAD requests were not stored"
t_eq "3|$uuid" "$(pg_query "SELECT count(*), min(token_id::text) FROM beacon.events
	WHERE kind = 'open'")" "stored opens after two HEADs"
# the placeholder pixel: GIF, no event
t_eq "200" "$(px_get /p.gif)" "/p.gif"
t_eq "43" "$(curl -s "$PX_URL/p.gif" | wc -c | tr -d ' ')" "/p.gif body length"

# forged and mangled tokens: the GIF all the same, no event
raw=${tok:0:35}
last=${tok:35:1}
[ "$last" = A ] && other=B || other=A
other_secret=$T_DIR/other-secret
(umask 077 && printf '7 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$other_secret")
forged=$(python3 "$PX_PY" mint "$other_secret")
forged=${forged%% *}
unknown_key=$(python3 - "$tok" <<'EOF'
import base64, sys
t = sys.argv[1]
raw = bytearray(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
raw[0] = 9  # a key id that is not loaded
print(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())
EOF
)
for bad in "$raw$other" "$forged" "$unknown_key" "${tok:0:35}" "${tok}A" "%%%%" "$tok/x"; do
	t_eq "200" "$(px_get "/o/$bad.gif")" "forged token '$bad' still gets the GIF"
done
t_eq "43" "$(curl -s "$PX_URL/o/${raw}${other}.gif" | wc -c | tr -d ' ')" "forged token body"

# --- clicks ----------------------------------------------------------------
target='https://shop.example.org/spring?utm=letter&x=1'
click=$(px_click "$tok" 3 "$target")
curl -s -D "$T_DIR/h" -o /dev/null "$PX_URL$click" || t_fail "GET click"
t_eq "HTTP/1.1 302 Found" "$(head -n 1 "$T_DIR/h" | tr -d '\r')" "click status"
t_eq "$target" "$(hdr Location)" "click Location"
t_eq "4" "$(px_wait_rows 4 10 && px_rows)" "rows after the click"
t_eq "click|3|$uuid" \
	"$(pg_query "SELECT kind, link_n, token_id FROM beacon.events WHERE kind = 'click'")" \
	"stored click"
t_eq "302" "$(px_get "$click" -I --interface 127.0.0.2)" "HEAD click answers"
px_wait_rows 5 10 || t_fail "the HEAD click was not stored"
t_eq "2" "$(px_rows "kind = 'click' AND link_n = 3")" "HEAD click stored as a click of link 3"

# the honeypot link (link 0, target the server's own base): recorded, never a redirect
honey=$(px_click "$tok" 0 "$PX_URL")
curl -s -D "$T_DIR/h" -o "$T_DIR/body" "$PX_URL$honey" || t_fail "GET honeypot link"
t_eq "HTTP/1.1 204 No Content" "$(head -n 1 "$T_DIR/h" | tr -d '\r')" "honeypot status"
t_eq "" "$(hdr Location)" "honeypot: no Location"
t_eq "0" "$(wc -c <"$T_DIR/body" | tr -d ' ')" "honeypot: no body"
px_wait_rows 6 10 || t_fail "the honeypot click was not stored"
t_eq "click|0|$uuid" "$(pg_query "SELECT kind, link_n, token_id FROM beacon.events
	WHERE link_n = 0 AND kind = 'click'")" "stored honeypot click"

# open-redirect attempts: every changed part is 404 without a Location
read -r tok2 _ < <(px_mint_pair)
evil=$(printf 'https://evil.example.net/' | base64 -w0 | tr '+/' '-_' | tr -d '=')
mac=$(printf '%s' "$click" | cut -d/ -f5 | cut -d'?' -f1)
[ "${mac:13:1}" = A ] && badmac=${mac:0:13}B || badmac=${mac:0:13}A
u=${click#*\?u=}
attempts=(
	"/c/$tok/3/$mac?u=$evil"		# changed target
	"/c/$tok/4/$mac?u=$u"			# changed link number
	"/c/$tok/03/$mac?u=$u"			# same number written otherwise
	"/c/$tok2/3/$mac?u=$u"			# another valid token
	"/c/$raw$other/3/$mac?u=$u"		# mangled token
	"/c/$tok/3/$badmac?u=$u"		# changed MAC
	"/c/$tok/3/$mac"			# no target
	"/c/$tok/3/$mac?u="			# empty target
	"/c/$tok/3/$mac?x=$u"			# target under another name
	"/c/$tok/3/$mac/x?u=$u"			# extra segment
	"/c/$tok/3?u=$u"			# missing MAC
	"/c/$tok/3/$mac?u=$u%3D%3D%3D"		# padded target
)
for a in "${attempts[@]}"; do
	curl -s -D "$T_DIR/h" -o /dev/null "$PX_URL$a"
	t_eq "HTTP/1.1 404 Not Found" "$(head -n 1 "$T_DIR/h" | tr -d '\r')" "redirect attempt $a"
	[ -z "$(hdr Location)" ] || t_fail "a Location header on $a"
done

# --- the other endpoints -------------------------------------------------------
t_eq "ok" "$(curl -s "$PX_URL/healthz")" "/healthz body"
t_eq "200" "$(px_get /healthz)" "/healthz status"
for p in / /nope /o /index.html "/d/$tok/1" /p.gif/x /metrics/x; do
	t_eq "404" "$(px_get "$p")" "GET $p"
done
t_eq "405" "$(px_get "/o/$tok.gif" -X POST -d x=1)" "POST pixel"
t_eq "405" "$(px_get /healthz -X DELETE)" "DELETE /healthz"
t_eq "GET, HEAD" "$(curl -s -D - -o /dev/null -X PUT "$PX_URL/p.gif" | grep -i '^Allow:' |
	cut -d' ' -f2- | tr -d '\r')" "405 Allow header"

# oversized and malformed requests: 4xx from the server, no event
long=$(head -c 40000 /dev/zero | tr '\0' a)
t_eq "414" "$(px_get "/o/$long.gif")" "40 KB request line"
t_eq "431" "$(px_get "/p.gif" -H "X-Big: $long")" "40 KB header"
raw_status() {
	python3 - "$PX_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
try:
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print(data.split(b"\r\n")[0].decode("latin-1").split(" ")[1] if data else "closed")
EOF
}
t_eq "400" "$(raw_status 'GET /p.gif HTTP/1.1\r\n\r\n')" "HTTP/1.1 without Host"
t_eq "400" "$(raw_status 'GET /p.gif HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')" "header without colon"
t_eq "505" "$(raw_status 'GET /p.gif HTTP/7.0\r\nHost: x\r\n\r\n')" "unknown HTTP version"

# keep-alive: the second request reuses the first connection
t_eq "1 0 0" "$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' \
	"$PX_URL/p.gif" "$PX_URL/healthz" "$PX_URL/p.gif" | sed 's/ $//')" "keep-alive reuse"

# --- metrics -------------------------------------------------------------------
# /metrics only on metrics_listen (loopback): never on the public listener, from any peer
t_eq "404" "$(px_get /metrics)" "/metrics on the public listener (127.0.0.1)"
t_eq "404" "$(px_get /metrics --interface 127.0.0.2)" "/metrics on the public listener (127.0.0.2)"
t_eq "404" "$(px_get /metrics -H 'X-Forwarded-For: 127.0.0.1')" \
	"/metrics on the public listener with a loopback X-Forwarded-For"
murl=http://127.0.0.1:$PX_MPORT
t_eq "200 text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 10 "$murl/metrics")" \
	"/metrics on metrics_listen"
t_eq "200" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$murl/healthz")" \
	"/healthz on metrics_listen"
t_eq "404" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$murl/o/$(px_mint).gif")" \
	"no pixel endpoint on metrics_listen"
t_eq "6" "$(px_metric 'beacon_pixelsrv_events_queued_total')" "events queued"
t_eq "6" "$(px_metric 'beacon_pixelsrv_events_written_total')" "events written"
t_eq "0" "$(px_metric 'beacon_pixelsrv_events_lost_total')" "events lost"
t_eq "1" "$(px_metric 'beacon_pixelsrv_db_up')" "db up"
t_eq "21" "$(px_metric 'beacon_pixelsrv_invalid_tokens_total')" "invalid tokens counted: 8 pixels, 12 clicks, 1 download"
t_eq "2" "$(px_metric 'beacon_pixelsrv_requests_total{endpoint="click",status="302"}')" \
	"clicks answered 302"
t_eq "1" "$(px_metric 'beacon_pixelsrv_requests_total{endpoint="click",status="204"}')" \
	"honeypot clicks answered 204"

px_stop
t_eq "6" "$(px_rows)" "rows at the end: 3 opens (2 HEAD), 3 clicks (1 HEAD, 1 honeypot)"
t_ok "20_pixelsrv_http"
