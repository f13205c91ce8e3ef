#!/bin/bash
# NAME
#	36_beaconctl_forget.sh - beaconctl forget leaves no trace of an
#	address; purged messages leave no rows and their tokens store nothing
#
# DESCRIPTION
#	PostgreSQL, beacon-pixelsrv, Postfix (smtpd_milters -> beacon-milter,
#	per_recipient = split through a reinject smtpd -> smtp-sink).
#	1. M1, tagged, to Forget.Me@Remote.Example and keep@remote.example:
#	   two copies, two tokens.  Both pixels and Forget.Me's click are hit.
#	2. PostgreSQL stopped: M2 to forget.me alone; its rows go to the
#	   milter's spool; hits on both of forget.me's pixels go to the pixel
#	   server's spool.  The milter is killed before PostgreSQL comes
#	   back, so its spool stays (the grep below finds the address in it:
#	   the search works); the pixel server replays its events (M2's
#	   open is kept although its token has no row yet).
#	3. `beaconctl forget FORGET.ME@remote.example.`: exit 75 and a
#	   warning naming the milter's unreplayed spool; M1's rows of the
#	   address are gone, keep@'s untouched.  The milter restarts and
#	   replays; a second forget removes M2 (message, link, recipient,
#	   events), exit 0, and prints its counts.
#	4. No trace: a full pg_dump, the milter's and the pixel server's
#	   spool directories (spool, replay and ring files, copies.log) and
#	   both daemons' logs hold the address in no case variant.  (The
#	   Postfix queue, maillog and the sink's dumps are the MTA's, not
#	   Beacon's.)  The syslog line and the output name no address.
#	   A third forget prints zeros.  A hit on a forgotten token answers
#	   200 with the GIF and stores nothing.
#	   4b. Stored a_b@x, axb@x, a%b@x, "A_B"@X., a_b@y, a_b@Bücher:
#	   forget a_b@x removes its two spellings only; forget
#	   a_b@xn--bcher-kva finds the U-label spelling.
#	   4c. A milter spool forget may not search (root without
#	   CAP_DAC_OVERRIDE, the spool 0700 postfix's): exit 75, not 0.
#	   4d. A writer's INSERT of an event for a token, its trigger run
#	   before forget tombstones that token and its commit after: forget
#	   waits for it (SHARE lock on events) and sweeps the event.
#	5. Retention: purge --older-than 0 removes M1 with keep@'s events,
#	   recipient and links; a pixel hit on its token afterwards answers
#	   200 GIF and stores nothing.  maintain --batch 2 (retention_days
#	   400) removes 5 messages sent 495 to 500 days ago (one with a
#	   recent event) in 3 transactions and drops a 2020 partition; a
#	   message 300 days old stays.  While a held row of the third oldest
#	   stops it in its second batch, the first batch is committed and an
#	   event INSERT (lock_timeout 3 s) goes through.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
WHO=forget.me@remote.example

pg_start
pg_schema
px_setup
px_config 'repeat_window = 0'
px_start

cp "$PX_SECRET" "$T_DIR/milter.secret"
BC_BASE=$PX_URL
PF_REINJECT=1 PF_MILTER=unix:$T_DIR/milter/milter.sock pf_start
bc_milter_config '[milter]' 'per_recipient = split' "reinject = inet:$PF_REINJECT_PORT@127.0.0.1"
bc_milter_start

# ctl - beaconctl on the milter's beacon.conf (its [milter] spool_dir), no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BC_MCONF" "$@"
}

# send ID RCPT... - one tagged HTML message with one link
send() {
	local id=$1 to
	shift
	to=$(IFS=,; echo "$*")
	printf '%s\r\n' "From: Shop <shop@sender.example>" "To: $to" "Subject: News $id" \
		"Message-ID: <$id@sender.example>" "X-Beacon: track" "MIME-Version: 1.0" \
		"Content-Type: text/html; charset=utf-8" "" \
		"<html><body><p>Hello</p><a href=\"https://shop.example/$id\">Shop</a></body></html>" \
		>"$T_DIR/$id.eml"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --from shop@sender.example --to "$to" \
		--data "@$T_DIR/$id.eml" --silent 2 >"$T_DIR/swaks.out" 2>&1 ||
		{ cat "$T_DIR/swaks.out" >&2; t_fail "$id refused"; }
}

# urls ID RCPT - "PIXEL CLICK" paths of the copy of ID delivered to RCPT
urls() {
	local f
	for f in $(pf_sink_files); do
		pf_sink_rcpts "$f" | grep -qix "<\?$2>\?" || continue
		pf_sink_message "$f" | grep -q "^Message-ID: <$1@" || continue
		pf_sink_message "$f" >"$T_DIR/copy.eml"
		printf '%s %s\n' "$(grep -o "/o/[A-Za-z0-9_-]*\.gif" "$T_DIR/copy.eml" | head -n 1)" \
			"$(grep -o "/c/[A-Za-z0-9_-]*/1/[A-Za-z0-9_-]*?u=[A-Za-z0-9_-]*" "$T_DIR/copy.eml" |
			head -n 1)"
		return 0
	done
	t_fail "no copy of $1 for $2"
}

# gif PATH - "STATUS CONTENT-TYPE" of a GET
gif() {
	curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 10 \
		-H 'User-Agent: Mozilla/5.0 Thunderbird/115.0' -H 'Accept: image/*' \
		-H 'Accept-Language: en' "$PX_URL$1"
}

# tok_of PIXEL - the token_id (uuid) inside a pixel path: the 16 bytes after the key id
tok_of() {
	local t h
	t=$(basename "$1" .gif | tr '_-' '/+')
	while [ $((${#t} % 4)) != 0 ]; do t+="="; done
	h=$(printf '%s' "$t" | base64 -d | od -An -tx1 -j1 -N16 | tr -d ' \n')
	printf '%s-%s-%s-%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:12:4}" "${h:16:4}" "${h:20:12}"
}

# trace - files of Beacon's that hold the address in any case, one a line
trace() {
	grep -ril -- "$WHO" "$BC_MDIR" "$T_DIR/spool" "$BC_MLOG" "$T_DIR/pixelsrv.log" \
		"$T_DIR/forget.out" 2>/dev/null || true
}

# --- 1. M1 to two recipients, one in capitals -------------------------------------
send m1 Forget.Me@Remote.Example keep@remote.example
pf_wait_delivered 2 20 || { tail -n 20 "$BC_MLOG" >&2; t_fail "m1: two copies not delivered"; }
read -r PIX_A1 CLICK_A1 <<<"$(urls m1 Forget.Me@Remote.Example)"
read -r PIX_K1 _ <<<"$(urls m1 keep@remote.example)"
TOK_A1=$(tok_of "$PIX_A1")
TOK_K1=$(tok_of "$PIX_K1")
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.recipients WHERE token_id IN
	('$TOK_A1', '$TOK_K1')\")\" = 2 ]" 10 || t_fail "m1: recipients rows not stored"
t_eq "$WHO" "$(pg_query "SELECT address FROM beacon.recipients WHERE token_id = '$TOK_A1'")" \
	"m1: the milter stores the address in its one form"
t_eq "200 image/gif" "$(gif "$PIX_A1")" "m1: forget.me's open"
t_eq "302" "$(px_get "$CLICK_A1")" "m1: forget.me's click"
t_eq "200 image/gif" "$(gif "$PIX_K1")" "m1: keep's open"
px_wait_rows 3 || t_fail "m1: $(px_rows) events stored of 3"

# --- 2. database down: both daemons spool ----------------------------------------
pg_stop
send m2 "$WHO"
pf_wait_delivered 3 20 || { tail -n 20 "$BC_MLOG" >&2; t_fail "m2 not delivered"; }
read -r PIX_A2 _ <<<"$(urls m2 "$WHO")"
TOK_A2=$(tok_of "$PIX_A2")
t_eq "200 image/gif" "$(gif "$PIX_A2")" "m2: open with the database down"
t_eq "200 image/gif" "$(gif "$PIX_A1")" "m1: forget.me's second open with the database down"
grep -q "(rows spooled)" "$BC_MLOG" || t_fail "m2: the milter did not spool its rows"
bc_milter_kill
[ -n "$(trace | grep "$BC_MDIR/spool/")" ] ||
	t_fail "the address is not found in the milter's unreplayed spool: the search is blind"
t_ok "the search finds the address in the milter's unreplayed spool"
pg_restart
px_wait_rows 5 20 || t_fail "the pixel server's spool: $(px_rows) events of 5 after the restart"
t_eq 1 "$(px_rows "token_id = '$TOK_A2'")" "m2's open is kept before its token has a row"

# --- 3. forget while the milter's spool waits, then again after its replay ---------
t_run ctl forget FORGET.ME@remote.example.
cp "$T_DIR/out" "$T_DIR/forget.out"
t_eq 75 "$RC" "forget with the milter's spool pending: exit"
case $ERR in
*"$BC_MDIR/spool/milter.spool holds "*" run forget again once it is replayed"*) t_ok "forget names the pending spool" ;;
*) t_fail "forget with a pending spool said: $ERR" ;;
esac
t_eq "events 3|recipients 1|messages 0|suppressions 0" \
	"$(printf '%s\n' "$OUT" | awk '$1 ~ /^(recipients|events|messages|suppressions)$/ { printf "%s%s %s", s, $1, $2; s = "|" }')" \
	"first forget: m1's recipient of the address and its 3 events; m1 stays"
t_eq "0|0" "$(pg_query "SELECT (SELECT count(*) FROM beacon.recipients WHERE lower(address) = '$WHO')
	|| '|' || (SELECT count(*) FROM beacon.events WHERE token_id = '$TOK_A1')")" \
	"no row of forget.me's that the database holds is left"
t_eq "1|1|1" "$(pg_query "SELECT (SELECT count(*) FROM beacon.recipients WHERE token_id = '$TOK_K1')
	|| '|' || (SELECT count(*) FROM beacon.events WHERE token_id = '$TOK_K1') || '|' ||
	(SELECT count(*) FROM beacon.links l JOIN beacon.messages m ON m.id = l.message
	 WHERE m.message_id = 'm1@sender.example')")" "keep@'s recipient, event and m1's link stay"

bc_milter_start
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.recipients WHERE token_id = '$TOK_A2'\")\" = 1 ]" 15 ||
	t_fail "the milter did not replay m2's rows"
t_run ctl forget "$WHO"
t_eq 0 "$RC" "forget after the replay: exit"
t_eq "events 1;links 1;recipients 1;messages 1;" \
	"$(printf '%s\n' "$OUT" | awk '$1 ~ /^(events|recipients|messages|links)$/ { printf "%s %s;", $1, $2 }')" \
	"second forget: m2's open, recipient, message and link"
cat "$T_DIR/out" >>"$T_DIR/forget.out"

# --- 4. no trace anywhere ------------------------------------------------------------
pg_run_ "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PGPORT" -U beacon beacon >"$T_DIR/dump.sql" ||
	t_fail "pg_dump failed"
[ -s "$T_DIR/dump.sql" ] && grep -q "keep@remote.example" "$T_DIR/dump.sql" ||
	t_fail "the dump does not even hold keep@remote.example"
t_eq "" "$(grep -i -- "$WHO" "$T_DIR/dump.sql" | head -n 3)" "pg_dump holds the address in no case"
t_eq "" "$(trace)" "no spool, ring or log file of Beacon's holds the address"
t_eq "" "$(ls "$BC_MDIR/spool" | grep -v '^milter\.spool$\|^copies\.log$' || true)" \
	"the milter's spool directory holds no replay file"
t_run ctl forget "$WHO"
t_eq 0 "$RC" "third forget: exit"
t_eq "" "$(printf '%s\n' "$OUT" | tail -n +2 | awk '$NF != 0')" "third forget: every count is 0"
t_eq "200 image/gif" "$(gif "$PIX_A1")" "a forgotten token's pixel still answers"
t_eq "200 image/gif" "$(gif "$PIX_K1")" "keep's pixel, a marker after it"
t_wait_until "[ \"\$(px_rows \"token_id = '$TOK_K1'\")\" = 2 ]" 10 || t_fail "keep's second open not stored"
t_eq 0 "$(px_rows "token_id IN ('$TOK_A1', '$TOK_A2')")" "the forgotten token's hit stored nothing"

# --- 4b. spellings: the search is bounded by the domain; LIKE's characters are literal ------
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('36000000-0000-4000-8000-0000000000b0', 'shop@sender.example', now());
INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
SELECT ('36000000-0000-4000-8000-0000000000b' || n)::uuid, '36000000-0000-4000-8000-0000000000b0',
       a, 'tracked', 7
FROM unnest(ARRAY['a_b@x.example', 'axb@x.example', 'a%b@x.example', '"A_B"@X.Example.',
		  'a_b@y.example', 'a_b@Bücher.Example']) WITH ORDINALITY AS t(a, n);
EOF
t_run ctl forget a_b@x.example
t_eq "0|recipients 2" "$RC|$(printf '%s\n' "$OUT" | awk '$1 == "recipients" { print $1, $2 }')" \
	"forget a_b@x.example: exit 0, two spellings of it"
t_eq "a%b@x.example|a_b@Bücher.Example|a_b@y.example|axb@x.example" \
	"$(pg_query "SELECT string_agg(address, '|' ORDER BY address COLLATE \"C\") FROM beacon.recipients
	WHERE message = '36000000-0000-4000-8000-0000000000b0'")" \
	"forget a_b@x.example leaves axb@, a%b@ and a_b@ of other domains"
t_run ctl forget a_b@xn--bcher-kva.example
t_eq "0|recipients 1" "$RC|$(printf '%s\n' "$OUT" | awk '$1 == "recipients" { print $1, $2 }')" \
	"forget of an A-label domain finds the spelling stored in U-labels"

# --- 4c. a milter spool forget cannot examine: exit 75, not 0 --------------------------
spool_mode=$(stat -c %a "$BC_MDIR/spool")
chmod 0700 "$BC_MDIR/spool"
# root without CAP_DAC_OVERRIDE/READ_SEARCH: the postfix-owned spool is closed to it
t_run setpriv --bounding-set=-dac_override,-dac_read_search -- \
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BC_MCONF" forget nobody@remote.example
chmod "$spool_mode" "$BC_MDIR/spool"
t_eq 75 "$RC" "forget that cannot examine the milter's spool: exit"
case $ERR in
*"$BC_MDIR/spool/milter.spool: Permission denied: cannot tell whether"*) t_ok "forget says it cannot examine the spool" ;;
*) t_fail "forget with an unreadable spool said: $ERR" ;;
esac

# --- 4d. the sweep: an event a writer had in flight while forget committed ---------------
RACE=36000000-0000-4000-8000-0000000000c1
pg_psql <<EOF
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('36000000-0000-4000-8000-0000000000c0', 'shop@sender.example', now());
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('$RACE', '36000000-0000-4000-8000-0000000000c0', 'race@remote.example', 'tracked', 7);
EOF
mkfifo "$T_DIR/writer.fifo"
pg_psql -At <"$T_DIR/writer.fifo" >"$T_DIR/writer.out" 2>&1 &
WRITER=$!
exec 9>"$T_DIR/writer.fifo"
# the writer's INSERT runs its trigger before the tombstone exists, and commits after it
printf '%s\n' "BEGIN;" "INSERT INTO beacon.events (at, kind, token_id, class)
	VALUES (now(), 'open', '$RACE', 'human');" "SELECT 'inserted';" >&9
t_wait_until "grep -q inserted '$T_DIR/writer.out'" 10 || t_fail "the writer's INSERT: $(cat "$T_DIR/writer.out")"
ctl forget race@remote.example >"$T_DIR/race.out" 2>"$T_DIR/race.err" &
FORGET=$!
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_locks WHERE NOT granted
	AND relation = 'beacon.events'::regclass AND mode = 'ShareLock'\")\" = 1 ]" 10 ||
	t_fail "forget does not wait for the writer's transaction: $(cat "$T_DIR/race.err")"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.purged_tokens WHERE token_id = '$RACE'")" \
	"the tombstone is committed while the writer's event is in flight"
printf '%s\n' "COMMIT;" >&9
exec 9>&-
wait "$WRITER" || t_fail "the writer failed: $(cat "$T_DIR/writer.out")"
set +e; wait "$FORGET"; RC=$?; set -e
t_eq "0|events 1" "$RC|$(awk '$1 == "events" { print $1, $2 }' "$T_DIR/race.out")" \
	"forget with a writer in flight: exit 0, the swept event counted"
t_eq 0 "$(px_rows "token_id = '$RACE'")" "the event written meanwhile is swept"

# --- 5. retention: purge and maintain leave nothing, and store nothing later -------------
t_run ctl purge --older-than 0
t_eq 0 "$RC" "purge exit"
t_eq "0|0|0|0" "$(pg_query "SELECT (SELECT count(*) FROM beacon.messages WHERE message_id = 'm1@sender.example')
	|| '|' || (SELECT count(*) FROM beacon.recipients WHERE token_id = '$TOK_K1')
	|| '|' || (SELECT count(*) FROM beacon.links) || '|' ||
	(SELECT count(*) FROM beacon.events WHERE token_id = '$TOK_K1')")" \
	"purge: no message, recipient, link or event of m1 is left"
t_eq "200 image/gif" "$(gif "$PIX_K1")" "purged token: the pixel answers"
t_eq "302" "$(px_get "$(urls m1 keep@remote.example | cut -d' ' -f2)")" "purged token: the click redirects"
read -r tok tid <<<"$(px_mint_pair)"
t_eq "200 image/gif" "$(gif "/o/$tok.gif")" "an unknown token's open, a marker after them"
t_wait_until "[ \"\$(px_rows \"token_id = '$tid'\")\" = 1 ]" 10 || t_fail "the marker was not stored"
t_eq 0 "$(px_rows "token_id = '$TOK_K1'")" "purge: the purged token's hits stored nothing"

pg_psql -q <<'EOF'
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('36000000-0000-4000-8000-000000000001', 'shop@sender.example', now() - interval '500 days');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('36000000-0000-4000-8000-0000000000a1', '36000000-0000-4000-8000-000000000001',
 'old@remote.example', 'tracked', 7);
INSERT INTO beacon.events (at, kind, token_id, class) VALUES
(now() - interval '1 day', 'open', '36000000-0000-4000-8000-0000000000a1', 'human');
EOF
# four more past retention (2.5 batches of 2 in all), one inside it, and an old
# partition for maintain to drop (ACCESS EXCLUSIVE on events until its commit)
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, sender, sent_at)
SELECT ('36000000-0000-4000-8000-00000000000' || i)::uuid, 'shop@sender.example',
       now() - make_interval(days => 500 - i)
FROM generate_series(2, 6) AS i;
UPDATE beacon.messages SET sent_at = now() - interval '300 days'
WHERE id = '36000000-0000-4000-8000-000000000006';
INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
SELECT ('36000000-0000-4000-8000-0000000000a' || i)::uuid,
       ('36000000-0000-4000-8000-00000000000' || i)::uuid, 'old' || i || '@remote.example',
       'tracked', 7
FROM generate_series(2, 6) AS i;
CREATE TABLE beacon.events_y2020m01 PARTITION OF beacon.events
	FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-02-01 00:00:00+00');
EOF
# a bounce holding the third oldest message's row: maintain waits for it in its second batch
mkfifo "$T_DIR/holder.fifo"
pg_psql -At <"$T_DIR/holder.fifo" >"$T_DIR/holder.out" 2>&1 &
HOLDER=$!
exec 9>"$T_DIR/holder.fifo"
printf '%s\n' "BEGIN;" "SELECT 'held' FROM beacon.messages
	WHERE id = '36000000-0000-4000-8000-000000000003' FOR UPDATE;" >&9
t_wait_until "grep -q held '$T_DIR/holder.out'" 10 || t_fail "the holder: $(cat "$T_DIR/holder.out")"
ctl maintain --batch 2 >"$T_DIR/maintain.out" 2>"$T_DIR/maintain.err" &
MAINTAIN=$!
t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM pg_locks WHERE NOT granted\")\" -ge 1 ]" 10 ||
	t_fail "maintain does not wait for the held row: $(cat "$T_DIR/maintain.err")"
t_eq "3|1" "$(pg_query "SET lock_timeout = '3s';
	INSERT INTO beacon.events (at, kind, token_id, class) VALUES (now(), 'open', '$tid', 'human');
	SELECT (SELECT count(*) FROM beacon.messages WHERE sent_at < now() - interval '400 days')
	|| '|' || (SELECT count(*) FROM beacon.events WHERE token_id = '$tid') - 1")" \
	"while maintain waits in its second batch: the first is committed, and an event is written"
printf '%s\n' "COMMIT;" >&9
exec 9>&-
wait "$HOLDER" || t_fail "the holder failed: $(cat "$T_DIR/holder.out")"
set +e; wait "$MAINTAIN"; RC=$?; set -e
OUT=$(cat "$T_DIR/maintain.out")
t_eq 0 "$RC" "maintain exit"
case $OUT in
*"purged 5 messages sent before "*": 5 recipients, 0 links, 0 attachments, 1 events; 5 tokens tombstoned (3 transactions of at most 2 messages)"*)
	t_ok "maintain purges the 5 messages past retention_days in 3 batches" ;;
*) t_fail "maintain said: $OUT" ;;
esac
case $OUT in
*"dropped beacon.events_y2020m01"*) t_ok "maintain drops the old partition" ;;
*) t_fail "maintain did not drop the old partition: $OUT" ;;
esac
t_eq "36000000-0000-4000-8000-000000000006|old6@remote.example" \
	"$(pg_query "SELECT m.id || '|' || r.address FROM beacon.messages m JOIN beacon.recipients r
	ON r.message = m.id WHERE m.id::text LIKE '36000000-0000-4000-8000-00000000000_'")" \
	"maintain keeps the message inside retention_days, and only it"
t_eq "0|0|0|1" "$(pg_query "SELECT (SELECT count(*) FROM beacon.messages WHERE id = '36000000-0000-4000-8000-000000000001')
	|| '|' || (SELECT count(*) FROM beacon.recipients WHERE address = 'old@remote.example')
	|| '|' || (SELECT count(*) FROM beacon.events WHERE token_id = '36000000-0000-4000-8000-0000000000a1')
	|| '|' || (SELECT count(*) FROM beacon.purged_tokens WHERE token_id = '36000000-0000-4000-8000-0000000000a1')")" \
	"maintain: no message, recipient or event of it left; its token tombstoned"

px_stop
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"
bc_no_sanitizer "$T_DIR/pixelsrv.log"
