#!/bin/bash
# NAME
#	19_pixelsrv_download.sh - beacon-pixelsrv serves stored attachments (/d/)
#
# DESCRIPTION
#	A store written by hand as beacon-milter writes it (blobs under
#	<dir>/<aa>/<sha256>, the recipient's manifest <dir>/t/<rid-hex>,
#	mode 0640, group-readable by the server's group) and download URLs
#	signed by tests/lib/pxclient.py (independent of lib/token.c).  Over
#	loopback HTTP with curl: a GET is the byte-identical file (SHA-256)
#	with Content-Type, Content-Length, Accept-Ranges, nosniff and
#	Content-Disposition (ASCII fallback and filename*=UTF-8'' of a UTF-8
#	name); HEAD gets the headers only; Range bytes=a-b and bytes=-n are
#	206 with the exact bytes and Content-Range; a range past the end is
#	416; several ranges get the whole file; an HTML attachment is
#	application/octet-stream with nosniff; an expired URL (or a manifest
#	line past its own expiry) is 410 with a page that reflects nothing
#	of the request; a forged signature, another attachment number under
#	the same signature and a blob missing from the store are 404 (the
#	last logged; a valid link whose manifest is gone is logged once per
#	minute, not per request); with download_limit = 1 a second download
#	while a slow one is being sent is 503 with Retry-After, counted in
#	/metrics; a transfer the client cuts short is partial with no bytes
#	(bytes are those of an answer sent whole).  Every 200 and 206 is one
#	download row with attachment_id, bytes and partial exact (none for
#	404, 410, 416, 503), and downloads follow the click rules (HEAD, no
#	browser headers).  Started again with only [milter] attachment_dir
#	set, the server reads that store, and says loudly at start when the
#	store exists but cannot be read.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup

# --- the store, as beacon-milter writes it ------------------------------------
att=$T_DIR/att
mkdir -p "$att/t"
now=$(date +%s)
rid=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
# blob - store FILE under its SHA-256, print the hash
blob() {
	local sha
	sha=$(sha256sum "$1" | cut -d' ' -f1)
	mkdir -p "$att/${sha:0:2}"
	cp "$1" "$att/${sha:0:2}/$sha"
	printf '%s\n' "$sha"
}
head -c 200000 /dev/urandom >"$T_DIR/report.pdf"
printf '<html><script>alert(document.cookie)</script></html>\n' >"$T_DIR/page.html"
truncate -s 24M "$T_DIR/big.bin"	# larger than the loopback socket buffers
pdf=$(blob "$T_DIR/report.pdf")
html=$(blob "$T_DIR/page.html")
big=$(blob "$T_DIR/big.bin")
html_size=$(stat -c %s "$T_DIR/page.html")
gone=$(printf '%064d' 7)	# listed, never stored
{
	printf '1\t%s\t200000\t%s\tapplication/pdf\tR%%C3%%A9sum%%C3%%A9%%202024%%20%%E2%%82%%AC.pdf\n' \
		"$pdf" "$((now + 3600))"
	printf '2\t%s\t%s\t0\ttext/html\tpage.html\n' "$html" "$html_size"
	printf '3\t%s\t10\t0\ttext/plain\tgone.txt\n' "$gone"
	printf '4\t%s\t200000\t1\tapplication/pdf\told.pdf\n' "$pdf"
	printf '5\t%s\t25165824\t0\tapplication/octet-stream\tbig.bin\n' "$big"
} >"$att/t/$rid"
# the milter's files: 0640, its directories 0750, readable by the server's group
find "$att" -type d -exec chmod 0750 {} +
find "$att" -type f -exec chmod 0640 {} +
[ "$(id -u)" = 0 ] && chgrp -R "$(id -gn nobody)" "$att"

px_config "attachment_dir = $att" "download_limit = 1"
px_start

read -r tok uuid < <(px_mint_pair "$rid")
exp=$((now + 3600))
d1=$(px_dl "$tok" 1 "$exp")
hdr() { grep -i "^$1:" "$T_DIR/h" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
rows=0

# --- the whole file -----------------------------------------------------------
code=$(curl -s -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' "$PX_URL$d1")
t_eq 200 "$code" "GET of a download"
t_eq "$pdf" "$(sha256sum "$T_DIR/got" | cut -d' ' -f1)" "downloaded file SHA-256"
t_eq "application/pdf" "$(hdr Content-Type)" "Content-Type"
t_eq "200000" "$(hdr Content-Length)" "Content-Length"
t_eq "bytes" "$(hdr Accept-Ranges)" "Accept-Ranges"
t_eq "nosniff" "$(hdr X-Content-Type-Options)" "X-Content-Type-Options"
t_eq "attachment; filename=\"R_sum_ 2024 _.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024%20%E2%82%AC.pdf" \
	"$(hdr Content-Disposition)" "Content-Disposition of a UTF-8 name"
rows=$((rows + 1))

# --- HEAD: the same headers, no body ------------------------------------------
got=$(curl -s -I -D "$T_DIR/h" -o /dev/null -w '%{size_download}' "$PX_URL$d1")
t_eq "HTTP/1.1 200 OK" "$(head -n 1 "$T_DIR/h" | tr -d '\r')" "HEAD status"
t_eq "200000" "$(hdr Content-Length)" "HEAD Content-Length"
t_eq "application/pdf" "$(hdr Content-Type)" "HEAD Content-Type"
t_eq "nosniff" "$(hdr X-Content-Type-Options)" "HEAD nosniff"
t_eq 0 "$got" "HEAD has no body"
rows=$((rows + 1))

# --- ranges -------------------------------------------------------------------
code=$(curl -s -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' -H 'Range: bytes=100-199' "$PX_URL$d1")
t_eq 206 "$code" "Range bytes=100-199"
t_eq "bytes 100-199/200000" "$(hdr Content-Range)" "Content-Range of bytes=100-199"
t_eq "$(tail -c +101 "$T_DIR/report.pdf" | head -c 100 | sha256sum)" "$(sha256sum <"$T_DIR/got")" \
	"bytes 100-199 exact"
rows=$((rows + 1))
code=$(curl -s -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' -H 'Range: bytes=-10' "$PX_URL$d1")
t_eq 206 "$code" "Range bytes=-10"
t_eq "bytes 199990-199999/200000" "$(hdr Content-Range)" "Content-Range of bytes=-10"
t_eq "$(tail -c 10 "$T_DIR/report.pdf" | sha256sum)" "$(sha256sum <"$T_DIR/got")" "last 10 bytes exact"
rows=$((rows + 1))
code=$(curl -s -D "$T_DIR/h" -o /dev/null -w '%{http_code}' -H 'Range: bytes=200000-' "$PX_URL$d1")
t_eq 416 "$code" "Range past the end"
t_eq "bytes */200000" "$(hdr Content-Range)" "Content-Range of a 416"
code=$(curl -s -o "$T_DIR/got" -w '%{http_code}' -H 'Range: bytes=0-1,5-6' "$PX_URL$d1")
t_eq 200 "$code" "several ranges: the whole file"
t_eq "$pdf" "$(sha256sum "$T_DIR/got" | cut -d' ' -f1)" "several ranges: whole file SHA-256"
rows=$((rows + 1))

# --- active content: never served as itself ------------------------------------
code=$(curl -s -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' \
	-A 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' \
	"$PX_URL$(px_dl "$tok" 2 "$exp")")
t_eq 200 "$code" "GET of an HTML attachment"
t_eq "application/octet-stream" "$(hdr Content-Type)" "HTML served as application/octet-stream"
t_eq "nosniff" "$(hdr X-Content-Type-Options)" "HTML served with nosniff"
cmp -s "$T_DIR/got" "$T_DIR/page.html" || t_fail "HTML attachment not byte-identical"
rows=$((rows + 1))

# --- refused: expired, forged, missing ------------------------------------------
old=$(px_dl "$tok" 1 $((now - 10)))
code=$(curl -s -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' "$PX_URL$old")
t_eq 410 "$code" "expired download URL"
grep -q 'This download link has expired' "$T_DIR/got" || t_fail "410 page text"
grep -q "$tok" "$T_DIR/got" && t_fail "the 410 page reflects the token"
t_eq "text/html; charset=utf-8" "$(hdr Content-Type)" "410 page Content-Type"
t_eq 410 "$(px_get "$(px_dl "$tok" 4 "$exp")")" "manifest line past its own expiry"
sig=${d1##*/}
[ "${sig:20:1}" = A ] && o=B || o=A
t_eq 404 "$(px_get "${d1%/*}/${sig:0:20}$o${sig:21}")" "forged signature"
t_eq 404 "$(px_get "/d/$tok/2/$sig")" "another attachment under the signature of 1"
t_eq 404 "$(px_get "${d1%/*}/${sig}x")" "signature one character longer"
t_eq 404 "$(px_get "$(px_dl "$tok" 3 "$exp")")" "blob missing from the store"
grep -q "download of token $uuid: attachment 3: .*No such file" "$T_DIR/pixelsrv.log" ||
	t_fail "missing blob not logged"
t_eq 404 "$(px_get "$(px_dl "$tok" 9 "$exp")")" "attachment not in the manifest"
# a valid link whose manifest was purged: one line, however often it is asked for
read -r tok2 uuid2 < <(px_mint_pair b0b1b2b3b4b5b6b7b8b9babbbcbdbebf)
for i in 1 2 3; do
	t_eq 404 "$(px_get "$(px_dl "$tok2" 1 "$exp")")" "purged manifest, request $i"
done
t_eq 1 "$(grep -c "download of token $uuid2: manifest" "$T_DIR/pixelsrv.log")" \
	"a purged manifest is logged once, not per request"

# --- download_limit = 1, and a transfer cut short --------------------------------
# a slow reader holds the one download; a second one is refused with 503
curl -s -o "$T_DIR/slow" --limit-rate 200k --max-time 20 "$PX_URL$(px_dl "$tok" 5 "$exp")" &
slow=$!
t_on_exit "t_kill_pid $slow TERM 5"
t_wait_until '[ -s "$T_DIR/slow" ]' 10 || t_fail "the slow download did not start"
code=$(curl -s -D "$T_DIR/h" -o /dev/null -w '%{http_code}' --max-time 10 "$PX_URL$d1")
t_eq 503 "$code" "a second download over download_limit"
t_eq 10 "$(hdr Retry-After)" "Retry-After of a 503"
curl -s "http://127.0.0.1:$PX_MPORT/metrics" | grep -qx 'beacon_pixelsrv_downloads_busy_total 1' ||
	t_fail "the 503 is not counted in /metrics"
kill -s TERM "$slow"	# the client goes away mid-transfer
wait "$slow" || true
rows=$((rows + 1))
# its slot is free again once the server saw it go
t_wait_until '[ "$(px_get "$d1")" = 200 ]' 10 || t_fail "download_limit not released"
rows=$((rows + 1))

# --- one row per 200/206, bytes and partial exact ------------------------------
px_wait_rows "$rows" 15 || t_fail "expected $rows download rows, have $(px_rows)"
t_eq "1|200000|f|list:http-library
1|0|f|head-request
1|100|t|list:http-library
1|10|t|list:http-library
1|200000|f|list:http-library
2|$html_size|f|no-browser-headers
5||t|list:http-library
1|200000|f|list:http-library" \
	"$(pg_query "SELECT attachment_id, bytes, partial, reason FROM beacon.events
		WHERE kind = 'download' AND token_id = '$uuid' ORDER BY at")" "download rows"
t_eq "$rows" "$(px_rows)" "no row but downloads"
px_stop

# --- [pixelsrv] attachment_dir unset: beacon-milter's; an unreadable store is said loudly
chmod 0 "$att/t"
px_config "" "[milter]" "attachment_dir = $att"
px_start
grep -q "attachment_dir $att CANNOT BE READ .*$att/t: Permission denied" "$T_DIR/pixelsrv.log" ||
	t_fail "an unreadable store is not reported at start"
chmod 0750 "$att/t"
t_eq 200 "$(px_get "$d1")" "download from [milter] attachment_dir"
px_stop
t_ok "downloads served and recorded"
