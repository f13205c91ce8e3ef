#!/bin/bash
# NAME
#	18_attachments.sh - attachments = link end to end: swaks -> private
#	Postfix with smtpd_milters -> beacon-milter (split, copies through
#	the reinject smtpd) -> smtp-sink; files in attachment_dir, rows in a
#	throwaway PostgreSQL
#
# DESCRIPTION
#	1. a tagged message ("X-Beacon: track; attachments=link") with a
#	   PDF and a ZIP attachment (tests/fixtures/attach/two_files.eml) to
#	   three recipients: three deliveries, one recipient each; none holds
#	   an attachment part (the inline cid: logo stays); each HTML part
#	   has two download buttons whose URLs carry that recipient's own
#	   token (the pixel's) and attachment numbers 1 and 2; each text
#	   part has "Download <name> (<size>): <URL>" with the same URLs;
#	   attachment_dir holds exactly two content files, named by the
#	   SHA-256 of the original files (mode 0640), and three manifests,
#	   one per token (named by its recipient id), each naming both
#	   files; beacon.attachments holds exactly the two rows (number,
#	   name, type, size, SHA-256, expiry 30 days after sending);
#	2. attachment_dir made unwritable: the same kind of message, its PDF
#	   changed so that its content is not stored yet (the content file
#	   write itself must fail, not only the manifest's), to two
#	   recipients is delivered once, unchanged with its attachments
#	   (byte for byte below the Received header, tag header included),
#	   no manifest is added, no row written, and the milter's log names
#	   the queue id and why;
#	3. beacon-pixelsrv (same base_url and secret, attachment_dir the
#	   milter's store, running as the milter's user) serves the
#	   two download URLs of the second recipient's copy (the text part's
#	   lines carry the same URLs as the buttons): each file byte-identical
#	   (SHA-256) with its original name in Content-Disposition; a Range
#	   request is 206 with the exact bytes; a forged signature is 404 and
#	   an expired link 410; beacon.events holds exactly one download row
#	   per 200/206, on that recipient's token, with attachment_id, bytes
#	   and partial exact.
#	Neither log may hold a sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
MILTER=$BEACON_BUILD/beacon-milter
[ -x "$MILTER" ] || t_fail "no $MILTER (build first)"
FIX=$BEACON_SRC/tests/fixtures/attach

pg_start
pg_schema

# --- Postfix with a reinject smtpd, then beacon-milter pointed at it
MDIR=$T_DIR/milter
ADIR=$T_DIR/attachments
mkdir -p "$MDIR" "$ADIR"
chown postfix: "$MDIR" "$ADIR"
PF_MILTER=unix:$MDIR/milter.sock PF_REINJECT=1 pf_start
# beacon-pixelsrv first: the milter signs with its base URL and secret
px_setup
px_config "attachment_dir = $ADIR"
# the pixel server runs as the milter's user: the store's files (0640) are its own
sed -i 's/^user = .*/user = postfix/' "$T_DIR/beacon.conf"
px_start
BASE=$PX_URL
cat >"$T_DIR/milter.conf" <<EOF
base_url = $BASE
secret_file = $PX_SECRET

[milter]
socket = unix:$MDIR/milter.sock
user = postfix
pidfile = $MDIR/milter.pid
spool_dir = $MDIR/spool
per_recipient = split
reinject = inet:$PF_REINJECT_PORT@127.0.0.1
attachment_dir = $ADIR

[database]
conninfo = $BEACON_CONNINFO
connect_timeout = 2
statement_timeout = 1000
EOF
MLOG=$T_DIR/milter.log
"$MILTER" -f -c "$T_DIR/milter.conf" >"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_until "grep -q 'listening on' '$MLOG'" 10 || { cat "$MLOG" >&2; t_fail "milter not listening"; }
grep -q "this release keeps attachments" "$MLOG" && t_fail "start-up still says attachments are kept"

NSEEN=0
# deliveries N - wait for N more sink dumps; DUMPS: their paths
deliveries() {
	pf_wait_delivered $((NSEEN + $1)) 10 ||
		{ tail -n 20 "$MLOG" >&2; t_fail "not $1 more deliveries in 10 s"; }
	sleep 0.3	# nothing more may come
	[ "$(pf_sink_count)" = $((NSEEN + $1)) ] ||
		t_fail "$(($(pf_sink_count) - NSEEN)) deliveries, expected $1"
	mapfile -t DUMPS < <(pf_sink_files | tail -n "+$((NSEEN + 1))")
	NSEEN=$((NSEEN + $1))
}

# submit FILE RCPTS - swaks FILE (LF) to the comma-separated RCPTS
submit() {
	printf '%s' "$(cat "$1")" >"$T_DIR/data.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example --to "$2" \
		--data "@$T_DIR/data.swaks" --silent 2 >"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" >&2; t_fail "$1 refused"; }
}

# check_copy DUMP - "TOKEN RIDHEX" of a delivery after checking its parts and URLs
check_copy() {
	pf_sink_message "$1" >"$T_DIR/copy.eml"
	python3 - "$T_DIR/copy.eml" "$BASE" <<'PY'
import email, email.policy, re, sys, base64
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
base = sys.argv[2]
html = text = None
for p in msg.walk():
    if p.is_multipart():
        continue
    if p.get_content_disposition() == 'attachment' or p.get_content_type() in ('application/pdf', 'application/zip'):
        sys.exit('attachment part left: %s' % p.get_content_type())
    if p.get_content_type() == 'text/html':
        html = p.get_content()
    elif p.get_content_type() == 'text/plain':
        text = p.get_content()
if 'X-Beacon' in msg:
    sys.exit('tag header delivered')
if not msg.get_all('Content-ID') and not any(q.get('Content-ID') for q in msg.walk()):
    sys.exit('inline cid: image gone')
tok = re.search(re.escape(base) + r'/o/([A-Za-z0-9_-]{36})\.gif', html).group(1)
hrefs = re.findall(r'href="(' + re.escape(base) + r'/d/[^"]+)"', html)
want = [base + '/d/' + tok + '/%d/' % n for n in (1, 2)]
if len(hrefs) != 2 or not all(h.startswith(w) for h, w in zip(hrefs, want)):
    sys.exit('buttons: %r (token %s)' % (hrefs, tok))
if html.count('bgcolor="#1a56db"') != 2 or 'Zahlen f&#xFC;r &lt;dich&gt;.zip' not in html:
    sys.exit('download block not as made')
lines = ['Download Q3 report.pdf (142 bytes): ' + hrefs[0],
         'Download Zahlen f\u00fcr <dich>.zip (132 bytes): ' + hrefs[1]]
for l in lines:
    if l not in text.splitlines():
        sys.exit('text line missing: %r in %r' % (l, text))
raw = base64.urlsafe_b64decode(tok + '=' * (-len(tok) % 4))
print(tok, raw[1:17].hex())
PY
}

# --- 1. a PDF and a ZIP to three recipients
three="ann@remote.example bob@remote.example cat@remote.example"
submit "$FIX/two_files.eml" "$(tr ' ' ',' <<<"$three")"
deliveries 3
declare -A toks=() rids=() dumps=()
for a in $three; do
	d=
	for x in "${DUMPS[@]}"; do pf_sink_rcpts "$x" | grep -qxF "$a" && d=$x; done
	[ -n "$d" ] || t_fail "1: $a not delivered"
	[ "$(pf_sink_rcpts "$d" | wc -l)" = 1 ] || t_fail "1: $a shares a delivery"
	out=$(check_copy "$d") || t_fail "1: delivery to $a: $out"
	read -r tok rid <<<"$out"
	toks[$a]=$tok
	dumps[$a]=$d
	rids[$tok]=$rid
done
[ "${#rids[@]}" = 3 ] || t_fail "1: tokens not distinct: ${toks[*]}"
t_ok "1: three copies, no attachment part, each with buttons and text lines on its own token"
pdf=$(sha256sum "$FIX/q3.pdf" | cut -c1-64)
zip=$(sha256sum "$FIX/numbers.zip" | cut -c1-64)
t_eq "$(printf '%s\n' "${pdf:0:2}/$pdf" "${zip:0:2}/$zip" | sort | tr '\n' ' ')" \
	"$(cd "$ADIR" && find . -type f ! -path './t/*' ! -name .lock | sed 's#^\./##' | sort | tr '\n' ' ')" \
	"1: the store holds each file once, under its SHA-256"
t_eq 640 "$(stat -c %a "$ADIR/.lock")" "1: the store's lock file, 0640"
for f in "$ADIR/${pdf:0:2}/$pdf" "$ADIR/${zip:0:2}/$zip"; do
	t_eq 640 "$(stat -c %a "$f")" "1: mode of $(basename "$f")"
done
cmp -s "$ADIR/${pdf:0:2}/$pdf" "$FIX/q3.pdf" || t_fail "1: stored PDF differs"
t_eq "$(printf '%s\n' "${rids[@]}" | sort | tr '\n' ' ')" "$(ls "$ADIR/t" | sort | tr '\n' ' ')" \
	"1: one manifest per token, named by its recipient id"
for r in "${rids[@]}"; do
	cut -f1-3,5,6 "$ADIR/t/$r" >"$T_DIR/man"
	printf '1\t%s\t142\tapplication/pdf\tQ3%%20report.pdf\n2\t%s\t132\tapplication/zip\t%s\n' \
		"$pdf" "$zip" 'Zahlen%20f%C3%BCr%20%3Cdich%3E.zip' | cmp -s - "$T_DIR/man" ||
		{ cat "$ADIR/t/$r" >&2; t_fail "1: manifest $r"; }
done
t_ok "1: manifests name both files"
t_eq "1|Q3 report.pdf|application/pdf|142|$pdf|43200
2|Zahlen für <dich>.zip|application/zip|132|$zip|43200" \
	"$(pg_query "SELECT a.id || '|' || a.name || '|' || a.content_type || '|' || a.size || '|' ||
		a.storage_ref || '|' || round(extract(epoch FROM a.expires_at - m.sent_at) / 60)
		FROM beacon.attachments a JOIN beacon.messages m ON m.id = a.message ORDER BY a.id")" \
	"1: beacon.attachments rows (expiry 30 days = 43200 minutes after sending)"
t_eq 3 "$(pg_query "SELECT count(*) FROM beacon.recipients WHERE token IN
	('${toks[ann@remote.example]}', '${toks[bob@remote.example]}', '${toks[cat@remote.example]}')")" \
	"1: the three tokens are the recipients' rows"

# --- 2. an unwritable attachment_dir: delivered as it came
sed -e 's/attach-golden@/attach-full@/' -e 's/^Subject: .*/Subject: Store full/' \
	-e 's/^JVBERi0xLjQK/JVBERi0xLjUK/' "$FIX/two_files.eml" >"$T_DIR/in2.eml"
# the changed PDF (%PDF-1.5): new content, so its file has to be written
pdf2=$(python3 -c 'import email, sys, hashlib
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print(next(hashlib.sha256(p.get_payload(decode=True)).hexdigest() for p in m.walk()
	if p.get_content_type() == "application/pdf"))' "$T_DIR/in2.eml")
[ "$pdf2" != "$pdf" ] && [ ! -e "$ADIR/${pdf2:0:2}/$pdf2" ] || t_fail "2: the PDF is not new content"
chmod 0555 "$ADIR" "$ADIR"/*
submit "$T_DIR/in2.eml" dan@remote.example,eve@remote.example
deliveries 1
chmod 0750 "$ADIR" "$ADIR"/*
pf_sink_message "${DUMPS[0]}" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
	skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/out2.eml"
cmp -s "$T_DIR/in2.eml" "$T_DIR/out2.eml" ||
	{ diff "$T_DIR/in2.eml" "$T_DIR/out2.eml" | head -20 >&2; t_fail "2: delivery changed"; }
t_ok "2: unwritable store: delivered unchanged with its attachments"
t_eq 3 "$(ls "$ADIR/t" | wc -l)" "2: no manifest added"
[ ! -e "$ADIR/${pdf2:0:2}/$pdf2" ] || t_fail "2: the new PDF was stored"
t_eq 2 "$(pg_query "SELECT count(*) FROM beacon.attachments")" "2: no attachments row added"
line=$(grep ": attachments = link: 2 attachments not stored in $ADIR: \(mkdir\|create in\) $ADIR/${pdf2:0:2}.*Permission denied; the message goes out as it came" "$MLOG") ||
	{ tail -n 5 "$MLOG" >&2; t_fail "2: no log line with the reason"; }
qid=$(sed -n 's/.* \([0-9A-Za-z]\{6,\}\): attachments = link: .*/\1/p' <<<"$line")
grep -q "postfix/smtpd.*: $qid: client=" "$PF_LOG" || t_fail "2: log line without the queue id: $line"
t_ok "2: the log names the queue id and why"

# --- 3. the second recipient downloads through beacon-pixelsrv
pf_sink_message "${dumps[bob@remote.example]}" >"$T_DIR/bob.eml"
# the buttons' URLs, once each, after checking the text part has the same ones
urls=$(python3 - "$T_DIR/bob.eml" "$BASE" <<'PY'
import email, email.policy, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
d = re.escape(sys.argv[2]) + r'/d/[A-Za-z0-9_-]+/[0-9]+/[A-Za-z0-9_-]+'
html = msg.get_body(('html',)).get_content()
text = msg.get_body(('plain',)).get_content()
hrefs = re.findall(r'href="(' + d + ')"', html)
lines = re.findall(r'^Download .+ \([0-9]+ bytes\): (' + d + r')$', text, re.M)
if len(hrefs) != 2 or hrefs != lines:
    sys.exit('buttons %r, text lines %r' % (hrefs, lines))
print(' '.join(hrefs))
PY
) || t_fail "3: $urls"
read -r u1 u2 <<<"$urls"
tok=${toks[bob@remote.example]}
rid=${rids[$tok]}
uuid=${rid:0:8}-${rid:8:4}-${rid:12:4}-${rid:16:4}-${rid:20:12}
hdr() { grep -i "^$1:" "$T_DIR/h" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
# fetch URL [curl args] - print the status, body in $T_DIR/got, headers in $T_DIR/h
fetch() {
	local u=$1
	shift
	curl -s --max-time 10 -D "$T_DIR/h" -o "$T_DIR/got" -w '%{http_code}' "$@" "$u"
}
t_eq 200 "$(fetch "$u1")" "3: GET of the PDF's button"
t_eq "$pdf" "$(sha256sum "$T_DIR/got" | cut -c1-64)" "3: the PDF byte-identical"
t_eq "attachment; filename=\"Q3 report.pdf\"; filename*=UTF-8''Q3%20report.pdf" \
	"$(hdr Content-Disposition)" "3: the PDF's name"
t_eq 200 "$(fetch "$u2")" "3: GET of the ZIP's button"
t_eq "$zip" "$(sha256sum "$T_DIR/got" | cut -c1-64)" "3: the ZIP byte-identical"
t_eq "attachment; filename=\"Zahlen f_r <dich>.zip\"; filename*=UTF-8''Zahlen%20f%C3%BCr%20%3Cdich%3E.zip" \
	"$(hdr Content-Disposition)" "3: the ZIP's UTF-8 name"
t_eq 206 "$(fetch "$u1" -H 'Range: bytes=10-49')" "3: Range bytes=10-49 of the PDF"
t_eq "bytes 10-49/142" "$(hdr Content-Range)" "3: Content-Range"
t_eq "$(tail -c +11 "$FIX/q3.pdf" | head -c 40 | sha256sum)" "$(sha256sum <"$T_DIR/got")" \
	"3: bytes 10-49 exact"
# a signature is 32 base64url characters of 24 bytes, every one carrying 6
# bits: one changed in the MAC (after the expiry's 11) changes the MAC
sig=${u1##*/}
[ "${#sig}" = 32 ] || t_fail "3: signature $sig"
[ "${sig:20:1}" = A ] && o=B || o=A
t_eq 404 "$(fetch "${u1%/*}/${sig:0:20}$o${sig:21}")" "3: forged signature"
t_eq 410 "$(fetch "$PX_URL$(px_dl "$tok" 2 $(($(date +%s) - 60)))")" "3: expired link"
t_wait_until "[ \"\$(px_rows \"kind = 'download'\")\" -ge 3 ]" 10 ||
	t_fail "3: $(px_rows "kind = 'download'") download rows, expected 3"
sleep 0.2	# nothing more may come
t_eq "1|142|f
1|40|t
2|132|f" "$(pg_query "SELECT attachment_id, bytes, partial FROM beacon.events
		WHERE kind = 'download' AND token_id = '$uuid' ORDER BY attachment_id, partial")" \
	"3: one download row per 200/206 on bob's token"
t_eq 3 "$(px_rows "kind = 'download'")" "3: no other download row"
t_eq bob@remote.example "$(pg_query "SELECT address FROM beacon.recipients WHERE token_id = '$uuid'")" \
	"3: the rows' token is the recipient's"
px_stop

! grep -q "Sanitizer" "$MLOG" || { cat "$MLOG" >&2; t_fail "sanitizer report in the milter log"; }
! grep -q "Sanitizer" "$T_DIR/pixelsrv.log" || { cat "$T_DIR/pixelsrv.log" >&2; t_fail "sanitizer report in the pixel server's log"; }
t_ok "18_attachments"
