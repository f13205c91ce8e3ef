#!/bin/bash
# NAME
#	39_beaconctl_notify.sh - beaconctl notify and the queue the events
#	trigger fills for beacon-notify
#
# DESCRIPTION
#	Against a throwaway cluster, schema by beaconctl init.  Messages and
#	recipients are written as beacon-milter writes them (one statement,
#	role beacon_milter), events as beacon-pixelsrv writes them (one COPY,
#	role beacon_pixelsrv).
#	1. notify add: a webhook for Shop@Sender.Example (stored lower case,
#	   a 64-digit secret printed), a slack destination for
#	   @sender.example --only-tagged with a given secret, a mail
#	   destination whose address defaults to the sender; bad kind, URL,
#	   secret: exit 64, nothing added.  list shows them, no secret.
#	2. New messages: shop@'s untagged one notifies (every message), an
#	   untagged one of news@sender.example does not (only tagged), a
#	   tagged one of news@ does, one of a sender without destination
#	   does not.
#	3. One COPY of events of every class and kind: exactly one job per
#	   counted event (human or proxy; open, click, download, and reply
#	   when the schema has it) with its fields, one delivery per active
#	   destination of the sender or its @domain; nothing for scanner,
#	   prefetch, sender, internal, unsubscribe, untagged news@.
#	4. mute MESSAGE-ID: its tokens leave notify_tokens at once, its
#	   pending deliveries are dropped, a new event queues nothing;
#	   unmute brings the tokens back and the next event is queued.
#	   An unknown MESSAGE, or destination ID: exit 1, nothing changed.
#	5. pin: list-messages lists the pinned message first; unpin: by
#	   date again.  disable: no delivery to it and no default notify;
#	   enable; remove: its deliveries go.  log --message lists the
#	   deliveries of one message.
#	6. Roles: beacon_notify reads jobs, updates deliveries, writes the
#	   log, and nothing more; beacon_reader does not see secrets.
#	7. forget of a recipient removes the jobs of its tokens; purge
#	   --older-than 0 removes the jobs (deliveries with them) and the
#	   log rows.
#	8. add: the same sender, kind and URL twice exits 1, one row; an
#	   http:// URL needs --allow-http; --secret-file FILE and - (standard
#	   input) store the secret they hold, a bad one exits 64.
#	   beacon_notify may set last_digest_at and lock a destination, not
#	   change its url.
#	9. A Message-ID of two senders' messages: mute and pin refuse it
#	   (exit 1, both listed, nothing changed); --sender picks one.
#	   notify_days: maintain takes the tokens of a message sent 40 days
#	   ago out of notify_tokens (its events queue nothing), pin brings
#	   them back, unpin and unmute take them out again.
#	10. Events stored before their recipient row: the recipient's insert
#	   queues the counted ones.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
export TZ=UTC

t_tmpdir >/dev/null
pg_start
printf '[database]\nconninfo = %s\n' "$BEACON_CONNINFO" >"$T_DIR/beacon.conf"

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$T_DIR/beacon.conf" "$@"
}
ctl init >/dev/null

# message N SENDER NOTIFY HOURS_AGO [MESSAGE-ID] - message uuid ...N with Message-ID
# <mN@sender.example> (or MESSAGE-ID) and two recipients (tokens ...N1, ...N2), written as
# beacon-milter writes them
message() {
	pg_psql <<EOF
SET ROLE beacon_milter;
WITH m AS (
 INSERT INTO beacon.messages (id, message_id, sender, subject, sent_at, notify, sender_key)
 VALUES ('00000000-0000-0000-0000-00000000000$1', '${5:-<m$1@sender.example>}', '$2', 'News $1',
	 now() - interval '$4 hours', $3, lower('$2')) ON CONFLICT DO NOTHING),
 r AS (
 INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
 SELECT t, '00000000-0000-0000-0000-00000000000$1', a, 'tracked', 1
 FROM unnest(ARRAY['10000000-0000-0000-0000-0000000000$11',
		   '10000000-0000-0000-0000-0000000000$12']::uuid[],
	     ARRAY['a$1@rcpt.example', 'b$1@rcpt.example']) AS x(t, a)
 ON CONFLICT (token_id) DO NOTHING)
SELECT 1;
EOF
}
MSG=00000000-0000-0000-0000-00000000000
TOK=10000000-0000-0000-0000-0000000000

# events LINE... - one COPY of tab-separated (kind token class) rows, as beacon-pixelsrv
events() {
	{
		echo "SET ROLE beacon_pixelsrv;"
		echo "COPY beacon.events (at, kind, token_id, link_n, class, country, city, device, os, client) FROM STDIN;"
		local kind tok class
		for l in "$@"; do
			read -r kind tok class <<<"$l"
			printf '%s\t%s\t%s\t%s\t%s\tDE\tBerlin\tDesktop\tLinux\tThunderbird\n' \
				"$(date -u +'%Y-%m-%d %H:%M:%S.%6N+00')" "$kind" "$TOK$tok" \
				"$([ "$kind" = click ] && echo 1 || echo '\N')" "$class"
		done
		echo '\.'
	} | pg_psql >/dev/null
}

# jobs - the jobs as "message-suffix kind class token-suffix" lines, in id order
jobs() {
	pg_query "SELECT right(message::text, 1) || ' ' || kind || ' ' || class || ' ' ||
		right(token_id::text, 2) FROM beacon.notify_jobs ORDER BY id"
}
# deliveries - "job-message-suffix kind destination state" lines
deliveries() {
	pg_query "SELECT right(j.message::text, 1) || ' ' || j.kind || ' ' || x.destination || ' ' ||
		x.state FROM beacon.notify_deliveries x JOIN beacon.notify_jobs j ON j.id = x.job
		ORDER BY x.job, x.destination"
}
lines() { printf '%s\n' "$@"; }

# 1. destinations
t_run ctl notify add Shop@Sender.Example webhook https://hooks.example/a
t_eq 0 "$RC" "notify add webhook exit"
grep -qx 'id 1' <<<"$OUT" || t_fail "add prints no 'id 1': $OUT"
grep -Eqx 'secret [0-9a-f]{64}' <<<"$OUT" || t_fail "add prints no 64-digit secret: $OUT"
SECRET1=$(sed -n 's/^secret //p' <<<"$OUT")
t_run ctl notify add @Sender.Example slack https://hooks.slack.example/T0/B0 --only-tagged \
	--secret "$(printf 'AB%.0s' {1..16})"
t_eq "$(printf 'id 2\nsecret %s' "$(printf 'ab%.0s' {1..16})")" "$OUT" "slack add output"
t_run ctl notify add other@else.example mail
t_eq 0 "$RC" "notify add mail exit"
for bad in "a@b.example fax https://x.example/" "a@b.example webhook ftp://x.example/" \
	"a@b.example webhook https://x.example/ --secret 12" "nodomain webhook https://x.example/" \
	"@b.example mail" "a@b.example slack"; do
	# shellcheck disable=SC2086
	t_run ctl notify add $bad
	t_eq 64 "$RC" "notify add $bad exit"
done
t_eq "1 shop@sender.example webhook https://hooks.example/a t
2 @sender.example slack https://hooks.slack.example/T0/B0 f abababababababababababababababab
3 other@else.example mail other@else.example t" \
	"$(pg_query "SELECT concat_ws(' ', id, sender, kind, url, every_message, secret)
		FROM beacon.notify_destinations ORDER BY id" | sed 's/ [0-9a-f]\{64\}$//')" \
	"destinations stored (mail secret drawn)"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.notify_destinations WHERE secret = '$SECRET1'")" \
	"the printed secret is the stored one"
t_run ctl notify list --json
t_eq 0 "$RC" "notify list exit"
grep -q '"sender": "@sender.example", "kind": "slack"' <<<"$OUT" || t_fail "list --json: $OUT"
grep -q "$SECRET1" <<<"$OUT" && t_fail "list shows a secret"
t_ok "list shows the destinations, not their secrets"

# 2. messages: 1 shop@ untagged, 2 news@ untagged, 3 news@ tagged, 4 nobody@, 5 other@
message 1 Shop@Sender.Example false 5 >/dev/null
message 2 news@sender.example false 4 >/dev/null
message 3 news@sender.example true 3 >/dev/null
message 4 nobody@else.example false 2 >/dev/null
message 5 other@else.example false 1 >/dev/null
t_eq "1 t
2 f
3 t
4 f
5 t" "$(pg_query "SELECT concat_ws(' ', right(id::text, 1), notify) FROM beacon.messages ORDER BY id")" \
	"messages.notify: every_message destinations, tagged ones"
t_eq "11 12 31 32 51 52" "$(pg_query "SELECT string_agg(right(token_id::text, 2), ' ' ORDER BY token_id)
	FROM beacon.notify_tokens")" "notify_tokens"

# 3. counted events only
REPLY=$(pg_query "SELECT count(*) FROM pg_constraint WHERE conrelid = 'beacon.events'::regclass
	AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''reply''%'")
evs=("open 11 human" "click 11 proxy" "open 11 scanner" "open 12 prefetch" "click 12 sender"
	"download 12 internal" "unsubscribe 11 human" "download 12 human" "open 21 human"
	"click 31 human" "open 41 human" "open 51 proxy")
[ "$REPLY" = 0 ] || evs+=("reply 32 human")
events "${evs[@]}"
want_jobs=("1 open human 11" "1 click proxy 11" "1 download human 12" "3 click human 31"
	"5 open proxy 51")
want_dlv=("1 open 1 pending" "1 open 2 pending" "1 click 1 pending" "1 click 2 pending"
	"1 download 1 pending" "1 download 2 pending" "3 click 2 pending" "5 open 3 pending")
if [ "$REPLY" != 0 ]; then
	want_jobs+=("3 reply human 32")
	want_dlv+=("3 reply 2 pending")
fi
t_eq "$(lines "${want_jobs[@]}")" "$(jobs)" "jobs: counted classes and kinds only (reply: $REPLY)"
t_eq "$(lines "${want_dlv[@]}")" "$(deliveries)" "one delivery per active destination"
t_eq "1 DE Berlin Desktop Linux Thunderbird" "$(pg_query "SELECT concat_ws(' ', link_n, country,
	city, device, os, client) FROM beacon.notify_jobs WHERE kind = 'click' AND message = '${MSG}1'")" \
	"a job copies the event's fields"

# 4. mute, unmute; unknown MESSAGE
flags() { pg_query "SELECT string_agg(concat_ws(':', right(id::text, 1), notify, muted, pinned), ' '
	ORDER BY id) FROM beacon.messages"; }
before=$(flags)
t_run ctl notify mute '<nosuch@sender.example>'
t_eq 1 "$RC" "mute of an unknown MESSAGE exit"
t_run ctl notify pin 00000000-0000-0000-0000-0000000000ff
t_eq 1 "$RC" "pin of an unknown uuid exit"
t_run ctl notify remove 99
t_eq 1 "$RC" "remove of an unknown ID exit"
t_eq "$before" "$(flags)" "nothing changed by the failures"
t_run ctl notify mute m1@sender.example
t_eq "muted ${MSG}1 <m1@sender.example>
6 pending deliveries dropped" "$OUT" "mute output"
t_eq "31 32 51 52" "$(pg_query "SELECT string_agg(right(token_id::text, 2), ' ' ORDER BY token_id)
	FROM beacon.notify_tokens")" "mute takes the tokens out of notify_tokens"
t_eq 6 "$(pg_query "SELECT count(*) FROM beacon.notify_deliveries x JOIN beacon.notify_jobs j
	ON j.id = x.job WHERE j.message = '${MSG}1' AND x.state = 'dropped'")" "mute drops the pending deliveries"
n=$(pg_query "SELECT count(*) FROM beacon.notify_jobs")
events "open 11 human" "click 12 human"
t_eq "$n" "$(pg_query "SELECT count(*) FROM beacon.notify_jobs")" "a muted message queues nothing"
t_run ctl notify mute "${MSG}1"
t_eq "already muted ${MSG}1 <m1@sender.example>
0 pending deliveries dropped" "$OUT" "mute again"
t_run ctl notify unmute '<m1@sender.example>'
t_eq "unmuted ${MSG}1 <m1@sender.example>" "$OUT" "unmute output"
t_eq "11 12 31 32 51 52" "$(pg_query "SELECT string_agg(right(token_id::text, 2), ' ' ORDER BY token_id)
	FROM beacon.notify_tokens")" "unmute brings the tokens back"
events "open 12 human"
t_eq "1 open human 12" "$(jobs | tail -n 1)" "after unmute the next event is queued"

# 5. pin, list-messages, disable, enable, remove, log
listed() { ctl notify list-messages --csv | sed 1d | cut -d, -f1 | sed 's/.*\(.\)$/\1/' | tr '\n' ' '; }
t_eq "5 3 1 " "$(listed)" "list-messages: the messages that notify, newest first"
t_run ctl notify pin m3@sender.example
t_eq "pinned ${MSG}3 <m3@sender.example>" "$OUT" "pin output"
t_eq "3 5 1 " "$(listed)" "a pinned message is listed first"
t_eq "3 " "$(ctl notify list-messages --sender news@sender.example --csv | sed 1d | cut -d, -f1 |
	sed 's/.*\(.\)$/\1/' | tr '\n' ' ')" "list-messages --sender"
ctl notify unpin "${MSG}3" >/dev/null
t_eq "5 3 1 " "$(listed)" "unpinned: by date again"
t_eq "disabled destination 1 (webhook for shop@sender.example)" "$(ctl notify disable 1)" "disable"
message 6 shop@sender.example false 0 >/dev/null
t_eq f "$(pg_query "SELECT notify FROM beacon.messages WHERE id = '${MSG}6'")" \
	"a disabled destination makes no message notify"
events "open 11 human"
t_eq "1 open 2 pending" "$(deliveries | tail -n 1)" "no delivery to a disabled destination"
ctl notify enable 1 >/dev/null
events "click 11 human"
t_eq "1 click 1 pending
1 click 2 pending" "$(deliveries | tail -n 2)" "enabled again"
t_run ctl notify log --message m5@sender.example --csv
t_eq 0 "$RC" "log --message exit"
t_eq "job,destination,dest_kind,message,kind,at,address,state,attempts,status,latency_ms,sent_at,next_at,error" \
	"$(head -n 1 <<<"$OUT")" "log columns"
t_eq "3,mail,${MSG}5,open,a5@rcpt.example,pending,0" "$(sed 1d <<<"$OUT" |
	cut -d, -f2-5,7-9)" "log --message: that message's delivery"
t_run ctl notify log --message nosuch@sender.example
t_eq 1 "$RC" "log of an unknown MESSAGE exit"
t_eq "removed destination 3 (mail for other@else.example)" "$(ctl notify remove 3)" "remove"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.notify_deliveries WHERE destination = 3")" \
	"a removed destination's deliveries go with it"

# 6. roles
asrole() { pg_psql -At -c "SET ROLE $1" -c "$2" 2>&1; }
asrole beacon_notify "SELECT count(*) FROM beacon.notify_jobs" >/dev/null ||
	t_fail "beacon_notify cannot read notify_jobs"
asrole beacon_notify "UPDATE beacon.notify_deliveries SET attempts = attempts WHERE false" >/dev/null ||
	t_fail "beacon_notify cannot update notify_deliveries"
asrole beacon_notify "INSERT INTO beacon.notify_log (job, destination, attempt) VALUES (1, 1, 1)" \
	>/dev/null || t_fail "beacon_notify cannot write notify_log"
for sql in "INSERT INTO beacon.notify_jobs (message, token_id, kind, class, at) VALUES ('${MSG}1', '${TOK}11', 'open', 'human', now())" \
	"UPDATE beacon.notify_destinations SET active = true" "SELECT ip FROM beacon.events" \
	"SELECT user_agent FROM beacon.events" "INSERT INTO beacon.events (at, kind, token_id, class) VALUES (now(), 'open', '${TOK}11', 'human')" \
	"DELETE FROM beacon.notify_log" "UPDATE beacon.messages SET muted = false"; do
	asrole beacon_notify "$sql" >/dev/null && t_fail "beacon_notify may: $sql"
done
asrole beacon_notify "SELECT token_id, at, kind, link_n, class FROM beacon.events LIMIT 1" >/dev/null ||
	t_fail "beacon_notify cannot read which event it announces and its class"
asrole beacon_reader "SELECT secret FROM beacon.notify_destinations" >/dev/null &&
	t_fail "beacon_reader reads the secrets"
asrole beacon_reader "SELECT id, sender, kind FROM beacon.notify_destinations" >/dev/null ||
	t_fail "beacon_reader cannot read the destinations"
t_ok "beacon_notify and beacon_reader have their rights, no more"

# 7. forget and retention
t_eq "beacon.notify_jobs.token_id 1" "$(pg_query "SELECT relation || ' ' || removed
	FROM beacon.forget('A5@rcpt.example') WHERE relation LIKE '%notify_jobs%'")" "forget removes the jobs of the address's tokens"
pg_psql -c "INSERT INTO beacon.notify_log (job, destination, attempt, at) VALUES (1, 1, 1, now() - interval '1 day')"
t_run ctl purge --older-than 0
t_eq 0 "$RC" "purge exit"
t_eq "0 0 0" "$(pg_query "SELECT (SELECT count(*) FROM beacon.notify_jobs) || ' ' ||
	(SELECT count(*) FROM beacon.notify_deliveries) || ' ' || (SELECT count(*) FROM beacon.notify_log)")" \
	"purge removes jobs, deliveries and log rows"

# 8. add: duplicates, http, --secret-file; last_digest_at
t_run ctl notify add shop@sender.example webhook https://hooks.example/b
t_eq 0 "$RC" "add of a new URL exit"
t_run ctl notify add SHOP@sender.example webhook https://hooks.example/b
t_eq 1 "$RC" "add of the same sender, kind and URL exit"
grep -q 'already: destination 4' <<<"$ERR" || t_fail "duplicate add names no destination: $ERR"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.notify_destinations
	WHERE url = 'https://hooks.example/b'")" "one row for the same destination"
t_run ctl notify add shop@sender.example webhook http://hooks.example/c
t_eq 64 "$RC" "add of an http:// URL without --allow-http exit"
grep -q -- '--allow-http' <<<"$ERR" || t_fail "the refusal names no --allow-http: $ERR"
printf '%s\n' "$(printf 'C0%.0s' {1..32})" >"$T_DIR/secret"
t_run ctl notify add shop@sender.example webhook http://hooks.example/c --allow-http \
	--secret-file "$T_DIR/secret"
t_eq "$(printf 'id 6\nsecret %s' "$(printf 'c0%.0s' {1..32})")" "$OUT" "--allow-http, --secret-file"
t_run ctl notify add shop@sender.example slack https://hooks.example/d --secret-file - \
	<<<"$(printf 'd1%.0s' {1..16})"
t_eq "$(printf 'id 7\nsecret %s' "$(printf 'd1%.0s' {1..16})")" "$OUT" "--secret-file - reads standard input"
t_eq "http://hooks.example/c $(printf 'c0%.0s' {1..32})
https://hooks.example/d $(printf 'd1%.0s' {1..16})" "$(pg_query "SELECT url || ' ' || secret
	FROM beacon.notify_destinations WHERE id IN (6, 7) ORDER BY id")" "the secrets of the files are stored"
echo 'xyz' >"$T_DIR/badsecret"
for bad in "--secret-file $T_DIR/badsecret" "--secret-file $T_DIR/secret --secret $(printf 'ab%.0s' {1..16})"; do
	# shellcheck disable=SC2086
	t_run ctl notify add shop@sender.example webhook https://hooks.example/e $bad
	t_eq 64 "$RC" "notify add $bad exit"
done
t_run ctl notify add shop@sender.example webhook https://hooks.example/e --secret-file "$T_DIR/nosuch"
t_eq 66 "$RC" "a missing --secret-file exit"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.notify_destinations WHERE url LIKE '%/e'")" \
	"nothing added by the failures"
ctl notify remove 6 >/dev/null
ctl notify remove 7 >/dev/null
asrole beacon_notify "BEGIN; SELECT id FROM beacon.notify_destinations WHERE id = 1 FOR UPDATE SKIP LOCKED;
	UPDATE beacon.notify_destinations SET last_digest_at = now() WHERE id = 1; COMMIT" >/dev/null ||
	t_fail "beacon_notify cannot lock a destination and set its last_digest_at"
asrole beacon_notify "UPDATE beacon.notify_destinations SET url = 'https://x.example/' WHERE id = 1" \
	>/dev/null && t_fail "beacon_notify may change a destination's url"
t_eq 1 "$(asrole beacon_reader "SELECT count(*) FROM beacon.notify_destinations
	WHERE last_digest_at IS NOT NULL")" "last_digest_at set and readable"

# 9. one Message-ID, two senders; notify_days
printf '[notify]\nnotify_days = 30\n' >>"$T_DIR/beacon.conf"
message 7 shop@sender.example false 960 '<dup@sender.example>' >/dev/null
message 8 other@else.example false 2 '<dup@sender.example>' >/dev/null
tokens() { pg_query "SELECT coalesce(string_agg(right(token_id::text, 2), ' ' ORDER BY token_id), '-')
	FROM beacon.notify_tokens"; }
t_eq "71 72" "$(tokens)" "message 7 notifies"
before=$(flags)
t_run ctl notify mute dup@sender.example
t_eq 1 "$RC" "mute of a Message-ID of two messages exit"
grep -q "names 2 messages" <<<"$ERR" && grep -q "${MSG}7 .*shop@sender.example" <<<"$ERR" &&
	grep -q "${MSG}8 .*other@else.example" <<<"$ERR" || t_fail "the two messages not listed: $ERR"
t_run ctl notify pin '<dup@sender.example>'
t_eq 1 "$RC" "pin of a Message-ID of two messages exit"
t_run ctl notify pin dup@sender.example --sender nobody@else.example
t_eq 1 "$RC" "pin of no message of that sender exit"
t_eq "$before" "$(flags)" "nothing changed by the refusals"
t_run ctl maintain
t_eq 0 "$RC" "maintain exit"
grep -qx '2 notify tokens of messages sent more than 30 days ago, not pinned, expired' <<<"$OUT" ||
	t_fail "maintain says nothing of the notify tokens: $OUT"
t_eq "-" "$(tokens)" "maintain: the tokens of a message past notify_days leave notify_tokens"
n=$(pg_query "SELECT count(*) FROM beacon.notify_jobs")
events "open 71 human"
t_eq "$n" "$(pg_query "SELECT count(*) FROM beacon.notify_jobs")" "past notify_days: nothing queued"
t_run ctl notify pin dup@sender.example --sender shop@sender.example
t_eq "pinned ${MSG}7 <dup@sender.example>" "$OUT" "pin --sender"
t_eq "71 72" "$(tokens)" "pin brings the tokens back"
events "click 72 human"
t_eq "7 click human 72" "$(jobs | tail -n 1)" "a pinned message queues again"
t_run ctl notify unpin dup@sender.example --sender @sender.example
t_eq "unpinned ${MSG}7 <dup@sender.example>
sent more than 30 days ago and not pinned: it notifies no more" "$OUT" "unpin of a message past notify_days"
t_eq "-" "$(tokens)" "unpin takes the tokens out"
ctl notify mute "${MSG}7" >/dev/null
ctl notify unmute "${MSG}7" >/dev/null
t_eq "-" "$(tokens)" "unmute of a message past notify_days brings no token back"
t_eq "7:t:f:f 8:f:f:f" "$(flags)" "flags after pin, unpin, mute, unmute"

# 10. events stored before their recipient row
pg_psql >/dev/null <<EOF
SET ROLE beacon_milter;
INSERT INTO beacon.messages (id, message_id, sender, subject, notify, sender_key)
VALUES ('${MSG}9', '<m9@sender.example>', 'shop@sender.example', 'Early', false, 'shop@sender.example');
EOF
events "open 91 human" "click 91 scanner" "open 92 prefetch"
pg_psql >/dev/null <<EOF
SET ROLE beacon_milter;
INSERT INTO beacon.recipients (token_id, message, address, status, key_id)
VALUES ('${TOK}91', '${MSG}9', 'a9@rcpt.example', 'tracked', 1),
       ('${TOK}92', '${MSG}9', 'b9@rcpt.example', 'tracked', 1);
EOF
t_eq "9 open human 91" "$(jobs | tail -n 1)" "the recipient's insert queues its earlier counted event"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.notify_jobs WHERE message = '${MSG}9'")" \
	"and only that one"
t_eq "1 pending,2 pending,4 pending" "$(pg_query "SELECT string_agg(x.destination || ' ' ||
	x.state, ',' ORDER BY x.destination)
	FROM beacon.notify_deliveries x JOIN beacon.notify_jobs j ON j.id = x.job
	WHERE j.message = '${MSG}9'")" "with its deliveries"
t_ok "$T_NAME"
