#!/bin/bash
# NAME
#	10_milter_track.sh - beacon-milter end to end: swaks -> private Postfix
#	with smtpd_milters -> smtp-sink, rows in a throwaway PostgreSQL
#
# DESCRIPTION
#	One PostgreSQL, one Postfix (with the reinject smtpd and the
#	smtp_header_checks lines of contrib/postfix/main.cf) and one
#	beacon-milter (the build under test, run as user postfix on a unix
#	socket, per_recipient = shared; 12_milter_split.sh covers the
#	split) serve every case:
#
#	1. a tagged multipart/mixed message (text + quoted-printable HTML
#	   with the placeholder + PDF attachment) to two recipients: the
#	   tag header and the placeholder are gone, the pixel's token is the
#	   one both recipient rows hold (status shared), every http(s) link
#	   is a click URL signed for that token with a links row, one
#	   hidden link 0 for the token (no links row) points at base_url,
#	   mailto: and the List-Unsubscribe target stay, the text part, the
#	   attachment and every byte outside the HTML part are identical;
#	   the messages row has the campaign, sender and queue id;
#	2. an untagged message is delivered byte for byte as sent;
#	3. a base64 HTML message marked only by the placeholder, one
#	   recipient: tracked (status tracked), pixel where the placeholder was;
#	   it answers a thread (In-Reply-To, References): messages.thread_root
#	   is the first id of its References (case 1's is NULL: it starts one);
#	4. a tagged message already carrying DKIM-Signature: the milter
#	   passes it byte for byte; contrib's smtp_header_checks remove the
#	   tag header at delivery, nothing else changes;
#	5. "X-Beacon: no": only the tag header is removed;
#	6. an internal recipient beside an external one: internal row
#	   without token; the external one tracked on a re-injected copy,
#	   the internal one gets the original as sent (tag header removed);
#	7. PostgreSQL stopped: the tagged message is delivered at once,
#	   tracked, its rows spooled; they appear once PostgreSQL is back,
#	   with the thread root its In-Reply-To names (a spool record of its
#	   own type);
#	8. PostgreSQL hanging (SIGSTOP) under a pooled session: the message
#	   waits at most about statement_timeout + 1 s, is delivered tracked,
#	   and its rows appear once PostgreSQL resumes;
#	9. a sendmail(1) submission (non_smtpd_milters) is tracked too;
#	10. who may ask for tracking (trusted_networks = 127.0.0.1/32,
#	   trusted_daemons = beacon-submit): a client connecting from
#	   127.0.0.2 with two tag headers, the placeholder and an
#	   https://evil.example/phish link gets its message delivered as
#	   sent but for the tag headers (no pixel, the link unchanged), no
#	   messages row, one log line with the queue id; the same message
#	   from 127.0.0.1 is tracked (the link becomes a signed click URL);
#	   from 127.0.0.2 on a second smtpd whose milter_macro_daemon_name
#	   is beacon-submit it is tracked; from 127.0.0.2 after SASL AUTH
#	   (smtpd_sasl_type = dovecot, served by tests/lib/saslauth.py) it
#	   is tracked, with the login on the messages row;
#	11. with the milter stopped a tagged message is delivered
#	   untracked and, through contrib's smtp_header_checks, without the
#	   tag header or a forged copy header (every tracked case above shows that the milter still
#	   sees the tag: the strip runs at delivery).
#	The milter's log must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
MILTER=$BEACON_BUILD/beacon-milter
[ -x "$MILTER" ] || t_fail "no $MILTER (build first)"

# --- PostgreSQL with the schema
pg_start
pg_schema

# --- SASL for case 10: a one-user Dovecot authentication server
SASL_SOCK=$T_DIR/sasl-auth
python3 "$BEACON_SRC/tests/lib/saslauth.py" "$SASL_SOCK" alice opensesame \
	>"$T_DIR/saslauth.log" 2>&1 &
SASL_PID=$!
t_on_exit "t_kill_pid $SASL_PID TERM 5"
t_wait_file "$SASL_SOCK" 15 || { cat "$T_DIR/saslauth.log" >&2; t_fail "no SASL socket"; }

# --- Postfix, with the reinject smtpd (no milters) for the copies, SASL on
# the main smtpd and a second smtpd named beacon-submit for the milter
MDIR=$T_DIR/milter
SUBMIT_PORT=$(t_free_port)
# contrib's tag-header strip at delivery, its table in the private config
STRIP=$(sed -n 's#^\(smtp\|lmtp\)_header_checks = regexp:/etc/postfix/#&#p' \
	"$BEACON_SRC/contrib/postfix/main.cf" | sed "s#/etc/postfix/#$T_DIR/pf/etc/#")
PF_EXTRA_MAINCF="smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $SASL_SOCK
$STRIP" \
PF_EXTRA_MASTERCF="127.0.0.1:$SUBMIT_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submit
  -o milter_macro_daemon_name=beacon-submit" \
PF_MILTER=unix:$MDIR/milter.sock PF_REINJECT=1 pf_start
t_wait_port "$SUBMIT_PORT" 10 || t_fail "the beacon-submit smtpd is not listening"
cp "$BEACON_SRC/contrib/postfix/beacon_header_checks" "$PF_CONF/"

# --- beacon-milter
mkdir -p "$MDIR"
chown postfix: "$MDIR"
BASE=http://127.0.0.1:$(t_free_port)
PLACEHOLDER=$BASE/p.gif
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
internal_domains = corp.example
max_message_size = 1m
per_recipient = shared
reinject = inet:$PF_REINJECT_PORT@127.0.0.1
trusted_networks = 127.0.0.1/32
trusted_daemons = beacon-submit

[database]
conninfo = $BEACON_CONNINFO
connect_timeout = 2
statement_timeout = 1000
EOF
MLOG=$T_DIR/milter.log
"$MILTER" -f -d -c "$T_DIR/beacon.conf" >"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_file "$MDIR/milter.sock" 10 || { cat "$MLOG" >&2; t_fail "milter socket not created"; }

# --- helpers
cat >"$T_DIR/mime.py" <<'EOF'
# mime.py - what the test needs from a message: decoded HTML, raw leaf parts
import email, email.policy, hashlib, re, sys
def load(path):
    data = open(path, 'rb').read()
    return email.message_from_bytes(data, policy=email.policy.compat32)
def html(path):
    out = b''
    for p in load(path).walk():
        if p.get_content_type() == 'text/html' and not p.is_multipart():
            out += p.get_payload(decode=True) or b''
    sys.stdout.write(out.decode('utf-8', 'replace'))
def leaves(path):
    for p in load(path).walk():
        if p.is_multipart() or p.get_content_type() == 'text/html':
            continue
        raw = p.get_payload(decode=False).encode('utf-8', 'surrogateescape')
        print(p.get_content_type(), hashlib.sha256(raw).hexdigest(), len(raw))
def outside(path):
    # the message with the content of each text/html part cut out
    data = open(path, 'rb').read()
    for p in load(path).walk():
        if p.get_content_type() == 'text/html' and not p.is_multipart():
            raw = p.get_payload(decode=False).encode('utf-8', 'surrogateescape')
            i = data.find(raw)
            if raw and i >= 0:
                data = data[:i] + b'<<HTML>>' + data[i + len(raw):]
    sys.stdout.buffer.write(data)
{'html': html, 'leaves': leaves, 'outside': outside}[sys.argv[1]](sys.argv[2])
EOF
mime() { python3 "$T_DIR/mime.py" "$@"; }

NSENT=0
# send FILE RCPT[,RCPT] - submit FILE, wait for its delivery; OUT: the delivered message
send() {
	local file=$1 rcpts=$2 dump
	# swaks ends the data with CRLF . CRLF itself: give it the file without
	# its last line end, or the message would grow an empty last line
	printf '%s' "$(cat "$file")" >"$file.swaks"
	# SEND_OPTS: more swaks options (the source address, AUTH, another port)
	# shellcheck disable=SC2086
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example --to "$rcpts" \
		--data "@$file.swaks" --silent 2 ${SEND_OPTS:-} >"$T_DIR/swaks.out" 2>&1 ||
		{ cat "$T_DIR/swaks.out" >&2; t_fail "swaks could not submit $file"; }
	NSENT=$((NSENT + 1))
	pf_wait_delivered "$NSENT" "${WAIT:-10}" ||
		{ tail -n 20 "$MLOG" >&2; t_fail "$file not delivered in ${WAIT:-10} s"; }
	dump=$(pf_sink_files | sed -n "${NSENT}p")
	# without Postfix's own Received: header (the first header, with its folds)
	pf_sink_message "$dump" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
		skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/out.$NSENT.eml"
	OUT=$T_DIR/out.$NSENT.eml
}

# token_of FILE - the token of the pixel in FILE's HTML
token_of() {
	mime html "$1" | grep -o "$BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1 |
		sed 's#.*/o/##; s#\.gif$##'
}

# variant ID - in1.eml with Message-ID <ID@sender.example>, written to $T_DIR/ID.eml
variant() {
	sed "s/^Message-ID: .*/Message-ID: <$1@sender.example>/" "$T_DIR/in1.eml" >"$T_DIR/$1.eml"
}

# --- 1. tagged multipart message, two recipients
cat >"$T_DIR/in1.eml" <<'EOF'
From: Sender <sender@sender.example>
To: Ann <ann@remote.example>, bob@remote.example
Subject: Spring newsletter
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <spring-1@sender.example>
X-Beacon: track; campaign="Spring letter"; notify=yes
List-Unsubscribe: <https://shop.example/unsub?u=1>, <mailto:unsub@shop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

This is a multi-part message in MIME format.
--MIX
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Spring is here: https://shop.example/spring
--ALT
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>Spring is here: <a href=3D"https://shop.example/spring?a=3D1&amp;=
b=3D2">shop</a></p>
<p><A HREF=3D"https://shop.example/(sale)">sale</A> <a href=3D"mailto:x@shop.ex=
ample">mail</a> <a href=3D"#top">top</a></p>
<p><a href=3D"https://shop.example/unsub?u=3D1">unsubscribe</a></p>
<img src=3D"PLACEHOLDER" width=3D"1" height=3D"1" alt=3D"">
</body></html>
--ALT--

--MIX
Content-Type: application/pdf; name="offer.pdf"
Content-Disposition: attachment; filename="offer.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl
Y29kZT4+CnN0cmVhbQp4nDPQM1Qo5ypUMFAw0DMwslAwtTTVMzJSsLY2AAAS7gL4CmVuZHN0cmVh
--MIX--
EOF
sed -i "s#PLACEHOLDER#$PLACEHOLDER#" "$T_DIR/in1.eml"
send "$T_DIR/in1.eml" ann@remote.example,bob@remote.example; out=$OUT
grep -qi '^X-Beacon:' "$out" && t_fail "1: tag header delivered"
t_ok "1: tag header removed"
mime html "$out" | grep -qF "$PLACEHOLDER" && t_fail "1: placeholder delivered"
t_ok "1: placeholder gone"
tok=$(token_of "$out")
[ ${#tok} = 36 ] || t_fail "1: no pixel token in the delivered HTML"
t_eq "shared|$tok
shared|$tok" "$(pg_query "SELECT status || '|' || token FROM beacon.recipients
	WHERE address IN ('ann@remote.example', 'bob@remote.example') ORDER BY address")" \
	"1: recipient rows hold the delivered token"
t_eq "Ann" "$(pg_query "SELECT name FROM beacon.recipients WHERE address = 'ann@remote.example'")" \
	"1: display name from To"
t_eq "1" "$(pg_query "SELECT count(*) FROM beacon.recipients r JOIN beacon.messages m
	ON m.id = r.message WHERE r.token_id::text = '$(
	python3 -c 'import base64,sys,uuid; t=sys.argv[1]; b=base64.urlsafe_b64decode(t+"="*(-len(t)%4)); print(uuid.UUID(bytes=b[1:17]))' "$tok")'")" \
	"1: the token's recipient id is a recipients row"
t_eq "Spring letter|sender@sender.example|true|true|2|spring-1@sender.example|Spring newsletter" \
	"$(pg_query "SELECT campaign || '|' || sender || '|' || clicks || '|' || notify || '|' ||
	recipients || '|' || message_id || '|' || subject FROM beacon.messages")" "1: message row"
qid=$(pg_query "SELECT queue_id FROM beacon.messages")
grep -q "$qid: tracked: 2 recipients (shared), 2 links" "$MLOG" || t_fail "1: no log line for $qid"
t_ok "1: log line '$qid: tracked: 2 recipients (shared), 2 links'"
t_eq "1|https://shop.example/spring?a=1&b=2
2|https://shop.example/(sale)" "$(pg_query "SELECT n || '|' || url FROM beacon.links ORDER BY n")" \
	"1: links rows, entity-decoded"
html=$(mime html "$out")
n=$(grep -o "$BASE/c/$tok/[12]/[A-Za-z0-9_-]*?u=[A-Za-z0-9_-]*" <<<"$html" | wc -l)
t_eq 2 "$n" "1: click URLs signed for the token"
b64=$(printf '%s' "$BASE" | base64 -w0 | tr '+/' '-_' | tr -d '=')
t_eq "$BASE/c/$tok/0/?u=$b64" "$(grep -o "$BASE/c/[A-Za-z0-9_-]*/0/[A-Za-z0-9_-]*?u=[A-Za-z0-9_-]*" \
	<<<"$html" | sed 's#/0/[A-Za-z0-9_-]*?#/0/?#')" "1: one hidden link 0 for the token, to the base URL"
grep -qF '<span style="display:none;mso-hide:all" aria-hidden="true"><a href="'"$BASE/c/$tok/0/" <<<"$html" ||
	t_fail "1: the hidden link is not in its hidden wrapper"
for keep in 'href="mailto:x@shop.example"' 'href="#top"' 'href="https://shop.example/unsub?u=1"'; do
	grep -qF "$keep" <<<"$html" || t_fail "1: $keep was changed"
done
t_ok "1: mailto, fragment and List-Unsubscribe links kept"
t_eq "$(mime leaves "$T_DIR/in1.eml")" "$(mime leaves "$out")" "1: text part and attachment identical"
diff <(mime outside "$T_DIR/in1.eml" | grep -v '^X-Beacon:') <(mime outside "$out") >/dev/null ||
	t_fail "1: bytes outside the HTML part changed"
t_ok "1: every byte outside the HTML part identical"
awk 'length($0) > 998 { exit 1 }' "$out" || t_fail "1: line over 998 octets"

# --- 2. untagged message: byte for byte
cat >"$T_DIR/in2.eml" <<'EOF'
From: sender@sender.example
To: carl@remote.example
Subject: plain business
Date: Mon, 23 Nov 2026 10:01:00 +0000
Message-ID: <plain-2@sender.example>
MIME-Version: 1.0
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

<html><body><a href="https://shop.example/x">x</a></body></html>
EOF
send "$T_DIR/in2.eml" carl@remote.example; out=$OUT
cmp -s "$T_DIR/in2.eml" "$out" || { diff "$T_DIR/in2.eml" "$out" >&2 || true; t_fail "2: untagged message changed"; }
t_ok "2: untagged message byte-identical"
grep -q ": untouched: no tag" "$MLOG" || t_fail "2: no 'untouched: no tag' log line"

# --- 3. placeholder only, base64 HTML, one recipient
html3="<html><body><p>Hello D&uuml;rer</p><img src=\"$PLACEHOLDER\"><a href=\"https://shop.example/d\">d</a></body></html>"
{
	printf 'From: sender@sender.example\nTo: dora@remote.example\nSubject: hi\n'
	printf 'Date: Mon, 23 Nov 2026 10:02:00 +0000\nMessage-ID: <b64-3@sender.example>\n'
	printf 'In-Reply-To: <dora-2@remote.example>\n'
	printf 'References: <spring-1@sender.example>\n <dora-2@remote.example>\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n'
	printf '%s' "$html3" | base64 -w 76
} >"$T_DIR/in3.eml"
send "$T_DIR/in3.eml" dora@remote.example; out=$OUT
tok=$(token_of "$out")
t_eq "tracked|$tok" "$(pg_query "SELECT status || '|' || token FROM beacon.recipients
	WHERE address = 'dora@remote.example'")" "3: placeholder-only message tracked"
grep -q '^Content-Transfer-Encoding: base64$' "$out" || t_fail "3: transfer encoding changed"
mime html "$out" | grep -qF "<p>Hello D&uuml;rer</p><img src=\"$BASE/o/$tok.gif\" width=\"1\"" ||
	t_fail "3: pixel not where the placeholder was"
t_ok "3: base64 kept, pixel in the placeholder's place"
t_eq "b64-3@sender.example|spring-1@sender.example
spring-1@sender.example|" "$(pg_query "SELECT message_id || '|' || coalesce(thread_root, '')
	FROM beacon.messages WHERE message_id IN ('b64-3@sender.example', 'spring-1@sender.example')
	ORDER BY 1")" "3: thread root: the first id of References; none for a message starting a thread"

# --- 4. DKIM-signed: byte for byte from the milter; the tag header goes at delivery
sed 's/^Message-ID: .*/Message-ID: <dkim-4@sender.example>/' "$T_DIR/in1.eml" |
	sed '1i DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=s1; h=from:to; bh=x; b=y' \
	>"$T_DIR/in4.eml"
send "$T_DIR/in4.eml" erin@remote.example; out=$OUT
grep -v '^X-Beacon:' "$T_DIR/in4.eml" | cmp -s - "$out" ||
	{ diff <(grep -v '^X-Beacon:' "$T_DIR/in4.eml") "$out" >&2 || true;
	  t_fail "4: the DKIM-signed message kept its tag header or changed otherwise"; }
t_ok "4: DKIM-signed message byte-identical but for the tag header (smtp_header_checks)"
grep -q ": untouched: already DKIM-signed" "$MLOG" || t_fail "4: no log line"

# --- 5. X-Beacon: no
sed 's/^X-Beacon: .*/X-Beacon: no/; s/^Message-ID: .*/Message-ID: <no-5@sender.example>/' \
	"$T_DIR/in1.eml" >"$T_DIR/in5.eml"
send "$T_DIR/in5.eml" fred@remote.example; out=$OUT
grep -v '^X-Beacon:' "$T_DIR/in5.eml" | cmp -s - "$out" || t_fail "5: more than the tag header changed"
t_ok "5: 'X-Beacon: no' removes only the header"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.recipients WHERE address = 'fred@remote.example'")" \
	"5: no rows"

# --- 6. internal and external recipient: a copy for the external one
variant int-6
printf '%s' "$(cat "$T_DIR/int-6.eml")" >"$T_DIR/int-6.eml.swaks"
swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example \
	--to gina@corp.example,hank@remote.example --data "@$T_DIR/int-6.eml.swaks" --silent 2 ||
	t_fail "6: not accepted"
NSENT=$((NSENT + 2))
pf_wait_delivered "$NSENT" 10 || t_fail "6: not delivered twice"
for d in $(pf_sink_files | tail -n 2); do
	case $(pf_sink_rcpts "$d") in
	gina@corp.example) dg=$d ;;
	hank@remote.example) dh=$d ;;
	*) t_fail "6: a delivery to $(pf_sink_rcpts "$d" | tr '\n' ' ')" ;;
	esac
done
tok=$(token_of "$dh")
t_eq "internal|
tracked|$tok" "$(pg_query "SELECT status || '|' || coalesce(token, '') FROM beacon.recipients
	WHERE address IN ('gina@corp.example', 'hank@remote.example') ORDER BY address")" \
	"6: internal recipient without token, external one tracked"
pf_sink_message "$dg" | awk 'NR == 1 && /^Received:/ { skip = 1; next }
	skip && /^[ \t]/ { next } { skip = 0; print }' >"$T_DIR/out.int-6.eml"
grep -v '^X-Beacon:' "$T_DIR/int-6.eml" | cmp -s - "$T_DIR/out.int-6.eml" ||
	t_fail "6: the internal recipient's message was changed"
t_ok "6: the internal recipient gets the message as sent"

# outage N WHAT RCPT HEAL - with the database out (WHAT), a tagged message to
# RCPT is delivered tracked within 6 s with its rows spooled; after HEAL the
# rows must reach PostgreSQL
outage() {
	local n=$1 what=$2 rcpt=$3 heal=$4 t0 dt tok spooled
	spooled=$(grep -c "(rows spooled)" "$MLOG" || true)
	variant "outage-$n"
	[ -z "${IRT:-}" ] || sed -i "/^Message-ID:/a In-Reply-To: $IRT" "$T_DIR/outage-$n.eml"
	t0=$(t_now_us)
	WAIT=10 send "$T_DIR/outage-$n.eml" "$rcpt"
	dt=$((($(t_now_us) - t0) / 1000))
	tok=$(token_of "$OUT")
	[ ${#tok} = 36 ] || t_fail "$n: delivered untracked with $what"
	t_ok "$n: delivered tracked in $dt ms with $what"
	[ "$dt" -lt 6000 ] || t_fail "$n: delivery took $dt ms"
	[ "$(grep -c "(rows spooled)" "$MLOG")" -gt "$spooled" ] || t_fail "$n: rows were not spooled"
	$heal
	t_wait_until "[ \"\$(pg_query \"SELECT token FROM beacon.recipients WHERE address = '$rcpt'\" 2>/dev/null)\" = '$tok' ]" 20 ||
		t_fail "$n: spooled rows did not reach PostgreSQL"
	t_ok "$n: spooled rows replayed after $heal"
}

# --- 7. PostgreSQL down: delivered at once, rows later
pg_stop
IRT="<ivan-0@remote.example>" outage 7 "PostgreSQL stopped" ivan@remote.example pg_restart
t_eq "ivan-0@remote.example" "$(pg_query "SELECT thread_root FROM beacon.messages
	WHERE message_id = 'outage-7@sender.example'")" "7: the spooled message kept its thread root"

# --- 8. PostgreSQL hanging (SIGSTOP) under a pooled session: bounded wait, then spool
variant warm-8
send "$T_DIR/warm-8.eml" judy@remote.example
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.recipients WHERE address = 'judy@remote.example'\")\" = 1 ]" 5 ||
	t_fail "8: rows of the warm-up message missing"
pg_pause
outage 8 "PostgreSQL hanging (statement_timeout 1 s)" kurt@remote.example pg_resume
# --- 9. sendmail(1) submission: through pickup, cleanup and non_smtpd_milters
variant local-9
pf_sendmail -f sender@sender.example lena@remote.example <"$T_DIR/local-9.eml"
NSENT=$((NSENT + 1))
pf_wait_delivered "$NSENT" 10 || t_fail "9: sendmail(1) submission not delivered"
tok=$(token_of "$(pf_sink_files | sed -n "${NSENT}p")")
t_eq "tracked|$tok" "$(pg_query "SELECT status || '|' || token FROM beacon.recipients
	WHERE address = 'lena@remote.example'")" "9: sendmail(1) submission tracked"

# --- 10. who may ask for tracking
sed -e 's/^Message-ID: .*/Message-ID: <untrusted-10@sender.example>/' \
	-e 's#^X-Beacon: .*#&\nX-Beacon: track; clicks=yes#' \
	-e 's#https://shop.example/(sale)#https://evil.example/phish#' "$T_DIR/in1.eml" >"$T_DIR/in10.eml"
SEND_OPTS="--local-interface 127.0.0.2" send "$T_DIR/in10.eml" mia@remote.example; out=$OUT
[ "$(grep -c '^X-Beacon:' "$T_DIR/in10.eml")" = 2 ] || t_fail "10: the test message lost a tag header"
grep -v '^X-Beacon:' "$T_DIR/in10.eml" | cmp -s - "$out" ||
	{ diff <(grep -v '^X-Beacon:' "$T_DIR/in10.eml") "$out" >&2 || true;
	  t_fail "10: more than the tag headers changed for an untrusted client"; }
t_ok "10: untrusted client (127.0.0.2): the tag headers removed, nothing else changed"
mime html "$out" | grep -qF "$PLACEHOLDER" || t_fail "10: the placeholder was replaced"
mime html "$out" | grep -q "$BASE/[oc]/" && t_fail "10: a pixel or a click URL was delivered"
mime html "$out" | grep -qF 'https://evil.example/phish' || t_fail "10: the evil link was changed"
t_ok "10: no pixel, the evil link unchanged"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.messages WHERE message_id = 'untrusted-10@sender.example'")" \
	"10: no messages row for the untrusted client"
n=$(grep -c ': untouched: untrusted submission (client 127.0.0.2, no SASL login, daemon mx.beacon-test.example) (tag header removed)' "$MLOG" || true)
t_eq 1 "$n" "10: one log line"
grep -q '^beacon-milter: info: [0-9A-Za-z]\{6,\}: untouched: untrusted submission (client 127.0.0.2' "$MLOG" ||
	t_fail "10: the log line has no queue id"

# the same message from the trusted address: tracked, the evil link signed
sed 's/^Message-ID: .*/Message-ID: <trusted-10@sender.example>/' "$T_DIR/in10.eml" >"$T_DIR/in10t.eml"
send "$T_DIR/in10t.eml" nils@remote.example; out=$OUT
tok=$(token_of "$out")
[ ${#tok} = 36 ] || t_fail "10: the trusted client's message was not tracked"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.links l JOIN beacon.messages m ON m.id = l.message
	WHERE m.message_id = 'trusted-10@sender.example' AND l.url = 'https://evil.example/phish'")" \
	"10: trusted client (127.0.0.1): tracked, its links signed"

# a listed daemon name: 127.0.0.2 on the beacon-submit smtpd
sed 's/^Message-ID: .*/Message-ID: <daemon-10@sender.example>/' "$T_DIR/in10.eml" >"$T_DIR/in10d.eml"
SEND_OPTS="--local-interface 127.0.0.2 --server 127.0.0.1:$SUBMIT_PORT" \
	send "$T_DIR/in10d.eml" olga@remote.example; out=$OUT
tok=$(token_of "$out")
[ ${#tok} = 36 ] || t_fail "10: the message on the trusted daemon was not tracked"
t_eq "tracked|$tok" "$(pg_query "SELECT status || '|' || token FROM beacon.recipients
	WHERE address = 'olga@remote.example'")" "10: trusted daemon (beacon-submit): tracked"

# a SASL-authenticated session from 127.0.0.2
sed 's/^Message-ID: .*/Message-ID: <sasl-10@sender.example>/' "$T_DIR/in10.eml" >"$T_DIR/in10s.eml"
SEND_OPTS="--local-interface 127.0.0.2 --auth PLAIN --auth-user alice --auth-password opensesame" \
	send "$T_DIR/in10s.eml" pia@remote.example; out=$OUT
tok=$(token_of "$out")
[ ${#tok} = 36 ] || t_fail "10: the SASL-authenticated message was not tracked"
t_eq "alice|tracked|$tok" "$(pg_query "SELECT m.sasl_login || '|' || r.status || '|' || r.token
	FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
	WHERE r.address = 'pia@remote.example'")" "10: SASL-authenticated client: tracked, login recorded"

t_eq 10 "$(pg_query "SELECT count(*) FROM beacon.messages")" "messages rows: one per tracked message"
t_eq 0 "$(pg_query "SELECT count(*) FROM (SELECT message, n FROM beacon.links GROUP BY 1, 2 HAVING count(*) > 1) d")" \
	"no duplicate rows after replays"

# --- 11. the milter stopped: contrib's smtp_header_checks still remove the tag header
t_kill_pid "$MPID" TERM 15
variant down-11
sed -i '1i X-Beacon-Copy: 00000000-0000-0000-0000-000000000000; forgedforgedfor' "$T_DIR/down-11.eml"
send "$T_DIR/down-11.eml" tara@remote.example; out=$OUT
grep -qi '^X-Beacon:' "$out" && t_fail "11: the tag header reached the sink with the milter down"
grep -qi '^X-Beacon-Copy:' "$out" && t_fail "11: a forged copy header reached the sink with the milter down"
mime html "$out" | grep -q "$BASE/o/" && t_fail "11: tracked with the milter down?"
t_ok "11: milter stopped: delivered untracked, without the tag header or a forged copy header"

# --- the milter ends cleanly, without sanitizer reports
t_kill_pid "$MPID" TERM 15
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$MLOG" >/dev/null; then
	cat "$MLOG" >&2
	t_fail "sanitizer report in the milter log"
fi
t_ok "no sanitizer report"
