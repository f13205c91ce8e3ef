#!/bin/bash
# NAME
#	21_pixelsrv_classify.sh - who opened, from where, on what: stored exactly
#
# DESCRIPTION
#	Real mail-client User-Agent strings, each from a TEST-NET address of
#	the test GeoIP databases (sent as X-Forwarded-For by the trusted
#	127.0.0.1), must be stored with exactly the expected device, OS,
#	browser, mail client, country, region, city, location, ASN and class:
#	human clients with MaxMind's place, image proxies (Gmail, Yahoo) with
#	no place, Apple Private Relay addresses as prefetch with the relay
#	range's coarse place, internal_networks as internal.  A click is
#	enriched the same way.  Names longer than 64 bytes (an 89-byte
#	region in Latin and Thai script, a 106-byte city, a 154-byte AS
#	organisation) are stored byte for byte.  SIGHUP reopens the GeoIP databases; with
#	anonymize_ip the stored addresses are cut to /24 and /48.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
px_config 'internal_networks = 10.0.0.0/8, fd00::/8'
px_start

# address | User-Agent | expected row: ip|device|os|browser|client|country|region|city|lat|lon|asn|asn_org|class
cases=$T_DIR/cases
cat >"$cases" <<'EOF'
192.0.2.10|Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148|192.0.2.10|mobile|iOS 17|Mobile Safari UI/WKWebView|iOS Mail|FR|Île-de-France|Paris|48.8566|2.3522|64496|Example Paris Net|human
203.0.113.32|Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148|203.0.113.32|tablet|iOS 16|Mobile Safari UI/WKWebView|iOS Mail|US|New York|New York|40.7128|-74.006|64498|Example New York Net|human
198.51.100.20|Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)|198.51.100.20|desktop|Mac OS X 10.15|Apple Mail 605|Apple Mail|DE|Berlin|Berlin|52.52|13.405|64497|Example Berlin Net|human
203.0.113.30|Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)|203.0.113.30|desktop|Windows 10|Outlook 2016|Outlook|US|New York|New York|40.7128|-74.006|64498|Example New York Net|human
192.0.2.12|Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook 16.0.5422; ms-office; MSOffice 16)|192.0.2.12|desktop|Windows 10|Outlook 2016|Outlook|FR|Île-de-France|Paris|48.8566|2.3522|64496|Example Paris Net|human
2001:db8:1::7|Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0|2001:db8:1::7|desktop|Linux|Thunderbird 115|Thunderbird|JP|Tokyo|Tokyo|35.6762|139.6503|64499|Example Tokyo Net|human
198.51.100.21|Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36|198.51.100.21|desktop|Windows 10|Chrome 119|Webmail (Chrome)|DE|Berlin|Berlin|52.52|13.405|64497|Example Berlin Net|human
192.0.2.11|Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36|192.0.2.11|mobile|Android 13|Chrome Mobile WebView 119|Android mail app|FR|Île-de-France|Paris|48.8566|2.3522|64496|Example Paris Net|human
100.64.0.1|Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0|100.64.0.1|desktop|Mac OS X 10.15|Firefox 120|Webmail (Firefox)||||||||human
66.249.84.1|Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)|66.249.84.1||||Gmail image proxy||||||15169|GOOGLE|proxy
203.0.113.31|YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html|203.0.113.31||||Yahoo Mail proxy||||||64498|Example New York Net|proxy
172.224.226.5|Mozilla/5.0|172.224.226.5|||||US|US-NY|New York|||||prefetch
2a02:26f7:b3c8:4000::1|Mozilla/5.0|2a02:26f7:b3c8:4000::1|||||US|US-NY|New York|||||prefetch
10.1.2.3|Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.58|10.1.2.3|desktop|Windows 10|Edge 119|Webmail (Edge)||||||||internal
EOF

declare -A expect
n=0
while IFS='|' read -r addr ua want; do
	read -r tok uuid < <(px_mint_pair)
	expect[$uuid]=$want
	t_eq 200 "$(px_get "/o/$tok.gif" -H "User-Agent: $ua" -H "X-Forwarded-For: $addr")" \
		"open from $addr"
	n=$((n + 1))
done <"$cases"

# a click from the Paris iPhone: same enrichment, kind click, its link number
read -r ctok cuuid < <(px_mint_pair)
t_eq 302 "$(px_get "$(px_click "$ctok" 7 https://example.org/)" \
	-H 'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148' \
	-H 'X-Forwarded-For: 192.0.2.99')" "click from Paris"
n=$((n + 1))

# a network whose names are longer than 64 and 128 bytes (make-geoip.pl): stored whole
long_region="Krung Thêp Mahā Nakhon — กรุงเทพมหานคร Metropolitan Région"
long_city="Krung Thep Maha Nakhon Amon Rattanakosin Mahinthara Ayuthaya Mahadilok Phop Noppharat Ratchathani Burīrom"
long_org="Example Long Names Network of the Metropolitan Administration and the Provincial Electricity and Telecommunications Authorities of the Kingdom of Thailand"
read -r ltok luuid < <(px_mint_pair)
t_eq 200 "$(px_get "/o/$ltok.gif" -H 'X-Forwarded-For: 2001:db8:77::15')" "open from 2001:db8:77::15"
n=$((n + 1))

px_wait_rows "$n" 20 || t_fail "expected $n rows, have $(px_rows)"
t_eq "TH|89|106|154" "$(pg_query "SELECT country, octet_length(region), octet_length(city),
	octet_length(asn_org) FROM beacon.events WHERE token_id = '$luuid'")" "long names' lengths"
t_eq "$long_region|$long_city|$long_org" \
	"$(pg_query "SELECT region, city, asn_org FROM beacon.events WHERE token_id = '$luuid'")" \
	"long names stored byte for byte"
cols="ip, device, os, browser, client, country, region, city, latitude, longitude, asn, asn_org, class"
for uuid in "${!expect[@]}"; do
	t_eq "${expect[$uuid]}" \
		"$(pg_query "SELECT $cols FROM beacon.events WHERE token_id = '$uuid'")" "row of $uuid"
done
t_eq "click|7|192.0.2.99|mobile|iOS 17|iOS Mail|FR|Paris|human" \
	"$(pg_query "SELECT kind, link_n, ip, device, os, client, country, city, class
		FROM beacon.events WHERE token_id = '$cuuid'")" "stored click"
t_eq 0 "$(px_rows "device = '' OR client = '' OR city = ''")" "empty strings are stored as NULL"
t_eq "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0" \
	"$(pg_query "SELECT user_agent FROM beacon.events WHERE ip = '2001:db8:1::7'")" \
	"the raw User-Agent is kept"

# SIGHUP: the databases are reopened, the server keeps its answers right
kill -s HUP "$PX_PID"
t_wait_until "grep -q 'reopening the GeoIP databases' '$T_DIR/pixelsrv.log'" 10 ||
	t_fail "no SIGHUP line in the log"
read -r tok uuid < <(px_mint_pair)
t_eq 200 "$(px_get "/o/$tok.gif" -H 'X-Forwarded-For: 198.51.100.5')" "open after SIGHUP"
px_wait_rows $((n + 1)) 10 || t_fail "the open after SIGHUP was not stored"
t_eq "DE|Berlin" "$(pg_query "SELECT country, city FROM beacon.events WHERE token_id = '$uuid'")" \
	"geo after SIGHUP"
px_stop

# anonymize_ip: /24 and /48 are stored, the place still comes from the full address
px_config 'anonymize_ip = yes'
px_start
read -r tok4 uuid4 < <(px_mint_pair)
read -r tok6 uuid6 < <(px_mint_pair)
px_get "/o/$tok4.gif" -H 'X-Forwarded-For: 192.0.2.77' >/dev/null
px_get "/o/$tok6.gif" -H 'X-Forwarded-For: 2001:db8:1:2:3::9' >/dev/null
px_wait_rows $((n + 3)) 10 || t_fail "anonymized opens not stored"
t_eq "192.0.2.0|Paris" "$(pg_query "SELECT ip, city FROM beacon.events WHERE token_id = '$uuid4'")" \
	"anonymized IPv4"
t_eq "2001:db8:1::|Tokyo" "$(pg_query "SELECT ip, city FROM beacon.events WHERE token_id = '$uuid6'")" \
	"anonymized IPv6"
px_stop
t_ok "21_pixelsrv_classify"
