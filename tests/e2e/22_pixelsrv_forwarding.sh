#!/bin/bash
# NAME
#	22_pixelsrv_forwarding.sh - X-Forwarded-For and Forwarded, trusted or not
#
# DESCRIPTION
#	trusted_proxies = 127.0.0.1.  Requests from 127.0.0.1 have their
#	client address taken from the right-most untrusted entry of
#	X-Forwarded-For (several headers joined) or of Forwarded; an entry
#	that cannot be believed stops the walk.  The same headers sent from
#	127.0.0.2, which is not trusted, are ignored: the peer is stored.
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

n=0
# check_ip FROM EXPECTED_IP CURL_ARGS... - one open from FROM, its stored address
check_ip() {
	local from=$1 want=$2 tok uuid
	shift 2
	read -r tok uuid < <(px_mint_pair)
	t_eq 200 "$(px_get "/o/$tok.gif" --interface "$from" "$@")" "open from $from $*"
	n=$((n + 1))
	px_wait_rows "$n" 10 || t_fail "open not stored"
	t_eq "$want" "$(pg_query "SELECT ip FROM beacon.events WHERE token_id = '$uuid'")" \
		"address for $from $*"
}

# trusted peer
check_ip 127.0.0.1 127.0.0.1
check_ip 127.0.0.1 192.0.2.5 -H 'X-Forwarded-For: 192.0.2.5'
check_ip 127.0.0.1 192.0.2.5 -H 'X-Forwarded-For: 198.51.100.1, 192.0.2.5'
check_ip 127.0.0.1 192.0.2.5 -H 'X-Forwarded-For: 198.51.100.1, 192.0.2.5, 127.0.0.1'
check_ip 127.0.0.1 192.0.2.77 -H 'X-Forwarded-For: 203.0.113.1' -H 'X-Forwarded-For: 192.0.2.77'
check_ip 127.0.0.1 2001:db8:1::9 -H 'X-Forwarded-For: [2001:db8:1::9]:4711'
check_ip 127.0.0.1 192.0.2.8 -H 'X-Forwarded-For: 192.0.2.8:1234'
check_ip 127.0.0.1 198.51.100.9 -H 'Forwarded: for=198.51.100.9;proto=https'
check_ip 127.0.0.1 2001:db8:1::10 -H 'Forwarded: for="[2001:db8:1::10]:443", for=127.0.0.1'
check_ip 127.0.0.1 127.0.0.1 -H 'X-Forwarded-For: not-an-address'
check_ip 127.0.0.1 127.0.0.1 -H 'X-Forwarded-For: 192.0.2.5, unknown'
check_ip 127.0.0.1 127.0.0.1 -H 'Forwarded: for=_hidden'
# untrusted peer: every header is ignored
check_ip 127.0.0.2 127.0.0.2
check_ip 127.0.0.2 127.0.0.2 -H 'X-Forwarded-For: 192.0.2.5'
check_ip 127.0.0.2 127.0.0.2 -H 'Forwarded: for=198.51.100.9'
check_ip 127.0.0.2 127.0.0.2 -H 'X-Forwarded-For: 192.0.2.5' -H 'Forwarded: for=198.51.100.9'

# a forwarded address gets its place; the untrusted one does not
t_eq "FR|Paris" "$(pg_query "SELECT DISTINCT country, city FROM beacon.events WHERE ip = '192.0.2.5'")" \
	"place of a forwarded address"
px_stop
t_eq "$n" "$(px_rows)" "one row per request"
t_ok "22_pixelsrv_forwarding"
