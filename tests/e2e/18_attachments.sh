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
#	2. attachment_dir made unwritable: the same kind of message to two
#	   recipients is delivered once, unchanged with its attachments
#	   (byte for byte below the Received header, tag header included),
#	   no manifest is added, no row written, and the milter's log names
#	   the queue id and why.
#	The milter's log must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"

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
BASE=http://127.0.0.1:$(t_free_port)
printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T_DIR/secret"
chmod 600 "$T_DIR/secret"
cat >"$T_DIR/beacon.conf" <<EOF
base_url = $BASE
secret_file = $T_DIR/secret

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
"$MILTER" -f -c "$T_DIR/beacon.conf" >"$MLOG" 2>&1 &
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
declare -A toks=() rids=()
for a in $three; do
	d=
	for x in "${DUMPS[@]}"; do pf_sink_rcpts "$x" | grep -qxF "$a" && d=$x; done
	[ -n "$d" ] || t_fail "1: $a not delivered"
	[ "$(pf_sink_rcpts "$d" | wc -l)" = 1 ] || t_fail "1: $a shares a delivery"
	out=$(check_copy "$d") || t_fail "1: delivery to $a: $out"
	read -r tok rid <<<"$out"
	toks[$a]=$tok
	rids[$tok]=$rid
done
[ "${#rids[@]}" = 3 ] || t_fail "1: tokens not distinct: ${toks[*]}"
t_ok "1: three copies, no attachment part, each with buttons and text lines on its own token"
pdf=$(sha256sum "$FIX/q3.pdf" | cut -c1-64)
zip=$(sha256sum "$FIX/numbers.zip" | cut -c1-64)
t_eq "$(printf '%s\n' "${pdf:0:2}/$pdf" "${zip:0:2}/$zip" | sort | tr '\n' ' ')" \
	"$(cd "$ADIR" && find . -type f ! -path './t/*' | sed 's#^\./##' | sort | tr '\n' ' ')" \
	"1: the store holds each file once, under its SHA-256"
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
	"$FIX/two_files.eml" >"$T_DIR/in2.eml"
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
t_eq 2 "$(pg_query "SELECT count(*) FROM beacon.attachments")" "2: no attachments row added"
line=$(grep ": attachments = link: 2 attachments not stored in $ADIR: .*Permission denied; the message goes out as it came" "$MLOG") ||
	{ tail -n 5 "$MLOG" >&2; t_fail "2: no log line with the reason"; }
qid=$(sed -n 's/.* \([0-9A-Za-z]\{6,\}\): attachments = link: .*/\1/p' <<<"$line")
grep -q "postfix/smtpd.*: $qid: client=" "$PF_LOG" || t_fail "2: log line without the queue id: $line"
t_ok "2: the log names the queue id and why"

! grep -q "Sanitizer" "$MLOG" || { cat "$MLOG" >&2; t_fail "sanitizer report in the milter log"; }
t_ok "18_attachments"
