#!/bin/bash
# NAME
#	13_milter_mta.sh - the milter's cases on a real Postfix and a real Sendmail
#
# DESCRIPTION
#	One case list, run against each MTA in turn (tests/lib/mta.sh), each
#	configured with the lines contrib/ ships (contrib/postfix/main.cf and
#	master.cf, contrib/sendmail/beacon.mc), beacon-milter with
#	per_recipient = split, opendkim signing after it on the main and the
#	reinject listener, one PostgreSQL:
#	1. a tagged message is tracked: the delivered pixel carries the
#	   token of the recipient's row, the tag header is gone.
#	2. an untagged message is delivered byte for byte (below the MTA's
#	   own Received header).
#	3. To, Cc and Bcc recipients with DSN parameters: one copy each,
#	   each with one recipient, its own token (its row's), its NOTIFY,
#	   ORCPT, ENVID and RET kept, no copy header, the Bcc address in no
#	   header, and a DKIM signature that verifies (and fails once the
#	   body is altered).
#	4. PostgreSQL stopped: delivered tracked at once, the rows spooled,
#	   replayed when it is back.
#	5. beacon-milter killed, tempfail (as contrib ships): the client gets
#	   4xx and nothing is delivered; once the milter is back, the retry
#	   is delivered tracked.
#	6. beacon-milter killed, accept (Postfix milter_default_action =
#	   accept, Sendmail F=): delivered untouched (Postfix also removes
#	   the tag header at delivery; Sendmail cannot).
#	7. no reinject listener where the milter sends the copies: a
#	   message to two recipients gets 4xx and nothing is delivered;
#	   with the listener back, the retry is delivered, one copy each.
#	The Sendmail daemon runs beacon.mc's defaults except the socket and
#	the reinject port (F=T, the reinject daemon's filters "beacon;dkim"
#	as beacon-milter(8) shows them with a signer).
#	MTAS="postfix sendmail" (default) names the MTAs to run, each in a
#	run of this script of its own (its own PostgreSQL, signer, MTA).
set -euo pipefail
if [ -z "${MTA_ONE:-}" ]; then
	failed=
	for mta in ${MTAS:-postfix sendmail}; do
		echo "=== $mta"
		MTA_ONE=$mta "$0" || failed="$failed $mta"
	done
	[ -z "$failed" ] || { echo "FAIL: $(basename "$0"): cases failed on:$failed" >&2; exit 1; }
	echo "ok - every case passed on: ${MTAS:-postfix sendmail}"
	exit 0
fi
. "$(dirname "$0")/../lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/mta.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"
. "$BEACON_SRC/tests/lib/dkim.sh"

t_need_root "Postfix and Sendmail"
t_tmpdir >/dev/null

pg_start
pg_schema
dkim_start sender.example mta

# --- messages and helpers
BC_BASE=http://127.0.0.1:$(t_free_port)
# message FILE ID TAG - a multipart/alternative letter, Message-ID <ID@sender.example>
message() {
	{
		printf 'From: Sender <sender@sender.example>\n'
		printf 'To: Ann <ann@remote.example>\nCc: carl@remote.example\n'
		printf 'Subject: Spring letter %s\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n' "$2"
		printf 'Message-ID: <%s@sender.example>\nMIME-Version: 1.0\n' "$2"
		[ -z "$3" ] || printf 'X-Beacon: %s\n' "$3"
		printf 'Content-Type: multipart/alternative; boundary="b1"\n\n'
		printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\n'
		printf 'Spring is here. See https://shop.example/spring\n\n'
		printf -- '--b1\nContent-Type: text/html; charset=utf-8\n\n'
		printf '<html><body><p>Spring is <b>here</b>.</p>\n'
		printf '<p><a href="https://shop.example/spring">See the letter</a></p>\n'
		printf '</body></html>\n\n--b1--\n'
	} >"$1"
}

cat >"$T_DIR/submit.py" <<'EOF'
# submit.py PORT FILE MAIL_OPTS RCPT[|OPTS]... - one SMTP transaction, DSN
# parameters as given; exit 0 when the message is accepted, 75 on a 4xx
# anywhere, 1 otherwise (the reply on stderr)
import smtplib, sys
port, path, mopts, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4:]
data = open(path, 'rb').read().replace(b'\n', b'\r\n')
def out(code, msg):
    sys.stderr.write('%s %s\n' % (code, msg))
    sys.exit(75 if 400 <= code < 500 else 1)
try:
    s = smtplib.SMTP('127.0.0.1', port, timeout=30, local_hostname='client.example')
    code, msg = s.ehlo('client.example')
    if code != 250: out(code, msg)
    code, msg = s.mail('sender@sender.example', mopts)
    if code != 250: out(code, msg)
    for r in rcpts:
        addr, _, opts = r.partition('|')
        code, msg = s.rcpt(addr, opts.split())
        if code != 250: out(code, msg)
    code, msg = s.data(data)
    if code != 250: out(code, msg)
    s.quit()
except smtplib.SMTPServerDisconnected as e:
    out(421, str(e))
except smtplib.SMTPResponseException as e:
    out(e.smtp_code, e.smtp_error)
EOF

# submit FILE MAIL_OPTS RCPT[|OPTS]... - submit to the MTA; RC holds submit.py's status
submit() {
	local file=$1 mopts=$2
	shift 2
	RC=0
	python3 "$T_DIR/submit.py" "$MTA_SMTP_PORT" "$file" "$mopts" "$@" \
		2>"$T_DIR/submit.err" || RC=$?
}

# wait_deliveries N - wait until N more messages than before reached the sink
NDONE=0
wait_deliveries() {
	sink_wait_delivered $((NDONE + $1)) 15 ||
		{ mta_show_log; tail -n 20 "$BC_MLOG" >&2; t_fail "$CASE: $((NDONE + $1)) deliveries expected, $(sink_count) seen"; }
	NDONE=$((NDONE + $1))
}

# dump_for RCPT - the newest dump for RCPT
dump_for() {
	local f
	for f in $(sink_files | tac); do
		if sink_rcpts "$f" | grep -qxF "$1"; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	t_fail "$CASE: nothing delivered to $1"
}

# delivered [--all] RCPT - the message delivered to RCPT without the headers
# the MTAs put on top: Received, and with --all the signer's DKIM-Signature
delivered() {
	local all=0
	[ "$1" != --all ] || { all=1; shift; }
	sink_message "$(dump_for "$1")" | awk -v all="$all" '
		top && /^[ \t]/ { if (!skip) print; next }
		top && /^Received:/ { skip = 1; next }
		top && all && /^DKIM-Signature:/ { skip = 1; next }
		top && /^DKIM-Signature:/ { skip = 0; print; next }
		{ top = 0; print }' top=1
}

# token_of FILE - the pixel's token in FILE (quoted-printable soft breaks joined)
token_of() {
	sed -e ':a' -e '/=$/{N;s/=\n//;ba' -e '}' "$1" | sed 's/=3D/=/g' |
		grep -o "$BC_BASE/o/[A-Za-z0-9_-]*\.gif" | head -n 1 | sed 's#.*/o/##; s#\.gif$##'
}

# row_token ID RCPT - the token recorded for RCPT of message <ID@sender.example>
row_token() {
	pg_query "SELECT r.token FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
		WHERE m.message_id = '$1@sender.example' AND r.address = '$2'"
}

# --- the cases, for one MTA
run_cases() {
	local mta=$1 id f tok rc out
	MTA_MILTER=unix:$T_DIR/milter/milter.sock MTA_DKIM=unix:$DKIM_SOCK mta_start "$mta"
	bc_milter_config "[milter]" "per_recipient = split" "reinject = inet:$MTA_REINJECT_PORT@127.0.0.1" \
		"trusted_networks = 127.0.0.1/32"
	bc_milter_start
	NDONE=0

	CASE="$mta 1"
	id=tracked-$mta
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "" ann@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 1
	delivered ann@remote.example >"$T_DIR/$id.out"
	tok=$(token_of "$T_DIR/$id.out")
	[ ${#tok} = 36 ] || { cat "$T_DIR/$id.out" >&2; t_fail "$CASE: no pixel in the delivered message"; }
	t_wait_until "[ \"\$(row_token $id ann@remote.example)\" = '$tok' ]" 10 ||
		t_fail "$CASE: the row of ann@remote.example does not hold the delivered token $tok"
	! grep -qi '^X-Beacon' "$T_DIR/$id.out" || t_fail "$CASE: a Beacon header was delivered"
	t_ok "$CASE: tracked; the delivered pixel is the row's token"

	CASE="$mta 2"
	id=plain-$mta
	message "$T_DIR/$id.eml" "$id" ""
	submit "$T_DIR/$id.eml" "" ann@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 1
	delivered --all ann@remote.example >"$T_DIR/$id.out"
	cmp -s "$T_DIR/$id.eml" "$T_DIR/$id.out" ||
		{ diff "$T_DIR/$id.eml" "$T_DIR/$id.out" >&2; t_fail "$CASE: the untagged message changed"; }
	t_ok "$CASE: untagged, delivered byte for byte"

	CASE="$mta 3"
	id=split-$mta
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "RET=HDRS ENVID=env-$mta" \
		"ann@remote.example|NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ann.orig@remote.example" \
		"carl@remote.example|NOTIFY=NEVER" \
		"bea@hidden.example|NOTIFY=DELAY,FAILURE ORCPT=rfc822;bea.orig@hidden.example"
	[ "$RC" = 0 ] || t_fail "$CASE: not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 3
	local toks="" a args notify orcpt
	for a in ann@remote.example carl@remote.example bea@hidden.example; do
		f=$(dump_for "$a")
		t_eq "$a" "$(sink_rcpts "$f")" "$CASE: the copy for $a has only that recipient"
		args=$(sink_rcpt_args "$f")
		case $a in
		ann*) notify=FAILURE,SUCCESS orcpt=ann.orig@remote.example ;;
		carl*) notify=NEVER orcpt= ;;
		bea*) notify=DELAY,FAILURE orcpt=bea.orig@hidden.example ;;
		esac
		t_eq "$notify" "$(sed -n 's/.* NOTIFY=\([A-Z,]*\).*/\1/p' <<<"$args" | tr , '\n' | sort | paste -sd,)" \
			"$CASE: NOTIFY of $a"
		[ -z "$orcpt" ] || grep -q " ORCPT=rfc822;$orcpt\\b" <<<"$args" ||
			t_fail "$CASE: ORCPT of $a lost: $args"
		grep -q " ENVID=env-$mta\\b" "$f" && grep -q '^X-Mail-Args: .* RET=HDRS' "$f" ||
			t_fail "$CASE: ENVID or RET lost for $a: $(grep '^X-Mail-Args' "$f")"
		delivered "$a" >"$T_DIR/$id.$a.out"
		tok=$(token_of "$T_DIR/$id.$a.out")
		[ ${#tok} = 36 ] || t_fail "$CASE: no pixel for $a"
		t_wait_until "[ \"\$(row_token $id $a)\" = '$tok' ]" 10 ||
			t_fail "$CASE: the row of $a does not hold its delivered token $tok"
		! grep -qi '^X-Beacon' "$T_DIR/$id.$a.out" || t_fail "$CASE: a Beacon header reached $a"
		! grep -qi 'bea@hidden\|bea.orig' <(sed '/^$/q' "$T_DIR/$id.$a.out") ||
			t_fail "$CASE: the Bcc address is in a header of $a's copy"
		t_eq 1 "$(grep -c '^DKIM-Signature:' "$T_DIR/$id.$a.out")" "$CASE: DKIM signatures on $a's copy"
		dkim_verify "$T_DIR/$id.$a.out" || t_fail "$CASE: the DKIM signature of $a's copy does not verify"
		toks="$toks $tok"
	done
	t_eq 3 "$(tr ' ' '\n' <<<"$toks" | sed '/^$/d' | sort -u | wc -l)" "$CASE: distinct tokens"
	sed 's/Spring is <b>here<\/b>/Spring is <b>gone<\/b>/' "$T_DIR/$id.carl@remote.example.out" \
		>"$T_DIR/$id.altered"
	! cmp -s "$T_DIR/$id.altered" "$T_DIR/$id.carl@remote.example.out" || t_fail "$CASE: nothing altered"
	! dkim_verify "$T_DIR/$id.altered" >/dev/null 2>&1 || t_fail "$CASE: an altered copy verifies"
	t_ok "$CASE: one copy a recipient, own token, DSN parameters kept, DKIM verifies"

	CASE="$mta 4"
	id=outage-$mta
	local spooled
	spooled=$(grep -c '(rows spooled)' "$BC_MLOG" || true)
	pg_stop
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "" ann@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: not accepted with PostgreSQL down: $(cat "$T_DIR/submit.err")"
	wait_deliveries 1
	delivered ann@remote.example >"$T_DIR/$id.out"
	tok=$(token_of "$T_DIR/$id.out")
	[ ${#tok} = 36 ] || t_fail "$CASE: delivered untracked with PostgreSQL down"
	[ "$(grep -c '(rows spooled)' "$BC_MLOG")" -gt "$spooled" ] || t_fail "$CASE: rows not spooled"
	pg_restart
	t_wait_until "[ \"\$(row_token $id ann@remote.example 2>/dev/null)\" = '$tok' ]" 20 ||
		t_fail "$CASE: the spooled rows did not reach PostgreSQL"
	t_ok "$CASE: PostgreSQL down: delivered tracked, rows spooled and replayed"

	CASE="$mta 5"
	id=down-$mta
	bc_milter_kill
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "" ann@remote.example
	t_eq 75 "$RC" "$CASE: submission while the milter is down (75: a 4xx reply, $(cat "$T_DIR/submit.err"))"
	sleep 1
	t_eq "$NDONE" "$(sink_count)" "$CASE: deliveries while the milter is down"
	t_eq 0 "$(mta_queue_count)" "$CASE: messages queued while the milter is down"
	bc_milter_start
	submit "$T_DIR/$id.eml" "" ann@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: the retry was not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 1
	delivered ann@remote.example >"$T_DIR/$id.out"
	tok=$(token_of "$T_DIR/$id.out")
	[ ${#tok} = 36 ] || t_fail "$CASE: the retry was delivered untracked"
	t_ok "$CASE: milter down, tempfail: 4xx, then the retry tracked"

	CASE="$mta 6"
	id=untouched-$mta
	mta_set_failure accept
	bc_milter_kill
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "" ann@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 1
	delivered --all ann@remote.example >"$T_DIR/$id.out"
	if mta_strips_tag; then
		grep -v '^X-Beacon: ' "$T_DIR/$id.eml" >"$T_DIR/$id.want"
	else
		cp "$T_DIR/$id.eml" "$T_DIR/$id.want"
	fi
	cmp -s "$T_DIR/$id.want" "$T_DIR/$id.out" ||
		{ diff "$T_DIR/$id.want" "$T_DIR/$id.out" >&2; t_fail "$CASE: not delivered untouched"; }
	t_ok "$CASE: milter down, accept: delivered untouched"
	mta_set_failure tempfail
	bc_milter_start

	CASE="$mta 7"
	id=noreinject-$mta
	bc_milter_kill
	bc_milter_config "[milter]" "per_recipient = split" \
		"reinject = inet:$(t_free_port)@127.0.0.1" "trusted_networks = 127.0.0.1/32"
	bc_milter_start
	message "$T_DIR/$id.eml" "$id" track
	submit "$T_DIR/$id.eml" "" ann@remote.example carl@remote.example
	t_eq 75 "$RC" "$CASE: two recipients, no reinject listener (75: a 4xx reply, $(cat "$T_DIR/submit.err"))"
	sleep 1
	t_eq "$NDONE" "$(sink_count)" "$CASE: deliveries without a reinject listener"
	t_eq 0 "$(mta_queue_count)" "$CASE: messages queued without a reinject listener"
	bc_milter_kill
	bc_milter_config "[milter]" "per_recipient = split" \
		"reinject = inet:$MTA_REINJECT_PORT@127.0.0.1" "trusted_networks = 127.0.0.1/32"
	bc_milter_start
	submit "$T_DIR/$id.eml" "" ann@remote.example carl@remote.example
	[ "$RC" = 0 ] || t_fail "$CASE: the retry was not accepted: $(cat "$T_DIR/submit.err")"
	wait_deliveries 2
	for a in ann@remote.example carl@remote.example; do
		delivered "$a" >"$T_DIR/$id.$a.out"
		tok=$(token_of "$T_DIR/$id.$a.out")
		t_wait_until "[ \"\$(row_token $id $a)\" = '$tok' ]" 10 ||
			t_fail "$CASE: the row of $a does not hold its delivered token '$tok'"
	done
	t_ok "$CASE: no reinject listener: 4xx, nothing delivered; the retry tracked, one copy each"
	bc_no_sanitizer "$BC_MLOG"
}

run_cases "$MTA_ONE"
