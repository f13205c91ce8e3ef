#!/bin/bash
# NAME
#	demo.sh - `make demo`: Beacon's whole pipeline, end to end, on this machine
#
# SYNOPSIS
#	make demo [KEEP=1]
#	BEACON_BUILD=build [KEEP=1] [DEMO_LOG=FILE] tests/demo/demo.sh
#
# DESCRIPTION
#	Starts, in a temporary directory and on loopback ports only, a
#	throwaway PostgreSQL cluster (schema by `beaconctl init`), demo GeoIP
#	databases, a private Postfix instance wired to beacon-milter
#	(smtpd_milters, plus the reinject smtpd without milters) relaying to
#	smtp-sink, beacon-pixelsrv and beacon-milter.  Sends the newsletter
#	of tests/demo/newsletter.eml with swaks to three recipients (To, Cc,
#	Bcc), shows the delivered copies side by side, plays the recipients'
#	mail clients against the pixel server with curl (iPhone Mail from
#	Paris, Outlook from Berlin, Gmail's image proxy, a link scanner's
#	pre-click from Microsoft's network, a person's click, an open from
#	an internal network, a download of the attachment the milter turned
#	into a button: attachments=link), and prints the campaign summary, each
#	recipient's history and a live line of `beaconctl watch`, all read
#	from the database.  A second scene gives the shop's two stores tracked
#	addresses (beaconctl inbound, [milter] inbound = yes), sends them six
#	leads (a marketplace, the shop's web form, a Gmail forward, the same
#	lead twice, a customer) and prints `beaconctl report inbound`.  Last,
#	the senders' dashboard: beacon-web on the demo's database, as a role
#	bound by row-level security, with a login for the newsletter's sender
#	(beaconctl web user add, a random password), checked by signing in
#	with curl (tests/lib/web.sh's wb_signin); the demo prints its URL,
#	and says it is stopped at the end (KEEP=1 keeps it).  Then stops
#	everything it started, by PID, and removes its directory.
#
#	The system's Postfix and PostgreSQL are neither used nor touched.
#	Needs root (a private Postfix instance does); the daemons run as
#	postfix and nobody.
#
#	Only the steps and their results go to the terminal; the output of
#	every command and, at the end, the daemons' logs go to DEMO_LOG
#	(default $BEACON_BUILD/demo.log), whose path is printed.
#
#	KEEP=1 leaves the stack running (the dashboard too: open the printed
#	URL in a browser on this machine) and prints how to reach it, the
#	dashboard's URL and login last; it writes DIR/demo.env (the
#	addresses, ports, PIDs, as shell variables) and DIR/stop.sh, which
#	stops it by PID and removes DIR.
#
# EXIT STATUS
#	0 when every step worked; 1 with a message naming the step otherwise.
set -Eeuo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${BEACON_BUILD:=$BEACON_SRC/build}"
# shellcheck source=../lib/common.sh
. "$BEACON_SRC/tests/lib/common.sh"
# shellcheck source=../lib/pg.sh
. "$BEACON_SRC/tests/lib/pg.sh"
# shellcheck source=../lib/postfix.sh
. "$BEACON_SRC/tests/lib/postfix.sh"
# shellcheck source=../lib/web.sh
. "$BEACON_SRC/tests/lib/web.sh"
T_NAME=demo.sh
DEMO=$BEACON_SRC/tests/demo
KEEP=${KEEP:-0}
NSTEPS=12
STEP=0
STEP_TITLE="start"
DEMO_ERR=
LOGS_COLLECTED=
MILTER_PID=
PX_PID=
WATCH_PID=
WEB_PID=

# --- output: fd 3 is the terminal, everything else goes to the log
LOG=${DEMO_LOG:-$BEACON_BUILD/demo.log}
if ! { mkdir -p "$(dirname "$LOG")" && : >"$LOG"; } 2>/dev/null; then
	LOG=${TMPDIR:-/tmp}/beacon-demo.log
	: >"$LOG"
fi
LOG=$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")
exec 3>&1 4>&2 1>>"$LOG" 2>&1

# say - print a line on the terminal
say() {
	printf '%s\n' "$*" >&3
}

# info - print an indented result line on the terminal
info() {
	if [ -n "$*" ]; then
		printf '      %s\n' "$*" >&3
	else
		printf '\n' >&3
	fi
}

# indent - copy stdin to the terminal, indented like info
indent() {
	sed 's/^\(.\)/      \1/' >&3
}

# step - start the next headed step
step() {
	STEP=$((STEP + 1))
	STEP_TITLE=$1
	say ""
	say "[$STEP/$NSTEPS] $1"
	printf '\n===== step %d/%d: %s (%s)\n' "$STEP" "$NSTEPS" "$1" "$(date '+%T')"
}

# die - fail the demo with a message for the person running it
die() {
	DEMO_ERR=$*
	printf 'FAIL: %s: %s\n' "$T_NAME" "$*"
	exit 1
}

# demo_err_ - ERR trap: remember which command failed
demo_err_() {
	[ -n "$DEMO_ERR" ] || DEMO_ERR="command failed (demo.sh line $1): $2"
}
trap 'demo_err_ "$LINENO" "$BASH_COMMAND"' ERR

# demo_finish_ - last exit action: on failure, say where and why
demo_finish_() {
	local why
	[ "${T_EXIT_RC:-0}" = 0 ] && return 0
	why=$(grep '^FAIL: ' "$LOG" | tail -n 1 | sed 's/^FAIL: [^:]*: //') || true
	[ -n "$why" ] || why=$DEMO_ERR
	[ -n "$why" ] || why="interrupted (exit status $T_EXIT_RC)"
	printf '\ndemo: FAILED in step %s/%s (%s):\n  %s\n  full log: %s\n' \
		"$STEP" "$NSTEPS" "$STEP_TITLE" "$why" "$LOG" >&4
}
t_on_exit demo_finish_

# collect_logs - append the daemons' logs to the demo log (once)
collect_logs() {
	local f
	[ -z "$LOGS_COLLECTED" ] || return 0
	LOGS_COLLECTED=1
	for f in "$T_DIR/logs/milter.log" "$T_DIR/logs/pixelsrv.log" "$T_DIR/logs/watch.err" \
		"$T_DIR/logs/web.log" \
		"${PF_LOG:-}" "$T_DIR/pf/smtp-sink.out" "${PG_LOG:-}"; do
		[ -n "$f" ] && [ -s "$f" ] || continue
		printf '\n===== %s\n' "$f"
		cat "$f"
	done >>"$LOG" 2>/dev/null
}

# bg - start a command in the background without the terminal's descriptors
bg() {
	"$@" 3>&- 4>&- </dev/null &
}

# ctl - run beaconctl with the demo configuration
ctl() {
	"$BEACON_BUILD/beaconctl" -c "$CONF" "$@"
}

# elapsed - seconds since the start, one decimal
elapsed() {
	local us=$(($(t_now_us) - START_US))
	printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

START_US=$(t_now_us)
say "Beacon demo: one newsletter, three recipients, their mail clients, the reports; then leads to two stores."
say "Everything runs on 127.0.0.1 from a temporary directory; system services are not touched."
say "Command output and daemon logs: $LOG"

# ----------------------------------------------------------------------------
step "Beacon's programs and the tools the demo drives"
[ "$(id -u)" = 0 ] ||
	die "run the demo as root (a private Postfix instance needs it; the daemons then drop to postfix and nobody)"
for prog in beacon-milter beacon-pixelsrv beaconctl beacon-web; do
	[ -x "$BEACON_BUILD/$prog" ] ||
		die "$BEACON_BUILD/$prog is not built: run make (the demo needs all four programs)"
done
for cmd in swaks curl perl python3 postconf smtp-sink script runuser; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed: run make deps"
done
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed in $PG_BIN: run make deps"
[ -r /usr/share/uap-core/regexes.yaml ] || die "uap-core is not installed: run make deps"
id postfix >/dev/null 2>&1 || die "no postfix user: run make deps"
info "beacon-milter, beacon-pixelsrv, beaconctl, beacon-web from $BEACON_BUILD"
info "$(postconf -d -h mail_version | sed 's/^/Postfix /'), $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /'), swaks $(swaks --version | awk '{ print $3; exit }'), curl $(curl --version | awk '{ print $2; exit }')"

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/beacon-demo.XXXXXX")
chmod 0755 "$T_DIR"
t_on_exit t_rm_tmpdir_
t_on_exit collect_logs
mkdir -p "$T_DIR/logs" "$T_DIR/mail"
info "working directory $T_DIR"

# ----------------------------------------------------------------------------
step "A throwaway PostgreSQL and Beacon's schema (beaconctl init)"
pg_start 3>&- 4>&-
CONF=$T_DIR/beacon.conf
# beaconctl needs only [database] now; the full file is written in step 5
printf '[database]\nconninfo = %s\nconnect_timeout = 2\n' "$BEACON_CONNINFO" >"$CONF"
ctl init || die "beaconctl init failed (its message is in the log)"
info "PostgreSQL $(pg_query 'SHOW server_version') on 127.0.0.1:$PGPORT, database beacon, data in $PG_DATA"
info "beaconctl init: $(pg_query 'SELECT count(*) FROM beacon.schema_migrations') migrations applied, tables: $(
	pg_query "SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'beacon' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		AND c.relname <> 'schema_migrations'")"

# ----------------------------------------------------------------------------
step "Demo GeoIP databases (documentation address ranges mapped to real cities)"
mkdir -p "$T_DIR/geoip"
perl "$BEACON_SRC/tests/fixtures/make-geoip.pl" "$T_DIR/geoip" ||
	die "tests/fixtures/make-geoip.pl could not write the GeoIP databases"
[ -s "$T_DIR/geoip/city.mmdb" ] && [ -s "$T_DIR/geoip/asn.mmdb" ] ||
	die "make-geoip.pl wrote no city.mmdb/asn.mmdb"
info "city.mmdb ($(stat -c %s "$T_DIR/geoip/city.mmdb") bytes), asn.mmdb ($(stat -c %s "$T_DIR/geoip/asn.mmdb") bytes), written by tests/fixtures/make-geoip.pl:"
info "  192.0.2.0/24 Paris FR, 198.51.100.0/24 Berlin DE, 203.0.113.0/24 New York US,"
info "  66.249.80.0/20 Mountain View US, AS15169 GOOGLE (where Gmail's image proxy fetches from)"

# ----------------------------------------------------------------------------
step "A private Postfix: smtpd -> beacon-milter, a reinject smtpd, relay to smtp-sink"
MILTER_DIR=$T_DIR/milter
mkdir -p "$MILTER_DIR"
chown postfix: "$MILTER_DIR"
MILTER_SOCK=$MILTER_DIR/milter.sock
PF_MILTER=unix:$MILTER_SOCK PF_REINJECT=1 pf_start 3>&- 4>&-
info "Postfix $(postconf -c "$PF_CONF" -h mail_version), configuration in $PF_CONF (not /etc/postfix)"
info "main.cf    smtpd_milters = $(postconf -c "$PF_CONF" -h smtpd_milters)"
info "           milter_default_action = $(postconf -c "$PF_CONF" -h milter_default_action) (mail flows even if the milter is down)"
info "           relayhost = $(postconf -c "$PF_CONF" -h relayhost) (smtp-sink: each delivered message lands in a file)"
postconf -c "$PF_CONF" -M "127.0.0.1:$PF_REINJECT_PORT/inet" | tr -s ' \t' ' ' | sed 's/ -o /\n  -o /g' |
	awk 'NR == 1 { print "master.cf  " $0; next } { print "           " $0 }' | indent
info "           (the reinject listener: no milters, takes back the per-recipient copies)"
info "smtpd on 127.0.0.1:$PF_SMTP_PORT, Postfix master pid $PF_MASTER_PID, smtp-sink pid $PF_SINK_PID"

# ----------------------------------------------------------------------------
step "beacon-pixelsrv and beacon-milter"
PX_PORT=$(t_free_port)
BASE_URL=http://127.0.0.1:$PX_PORT
WEB_PORT=$(t_free_port)
# beacon-web's own role (step 11): a member of beacon_web only, so that row-level security binds it
WEB_CONNINFO=${BEACON_CONNINFO/user=beacon /user=beacon_web_login }
(umask 077 && printf '1 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$T_DIR/secret")
mkdir -p "$T_DIR/pixelsrv"
sed -e "s|@BASE_URL@|$BASE_URL|g" -e "s|@DIR@|$T_DIR|g" -e "s|@SRC@|$BEACON_SRC|g" \
	-e "s|@PX_PORT@|$PX_PORT|g" -e "s|@REINJECT_PORT@|$PF_REINJECT_PORT|g" \
	-e "s|@CONNINFO@|$BEACON_CONNINFO|g" -e "s|@WEB_PORT@|$WEB_PORT|g" \
	-e "s|@WEB_CONNINFO@|$WEB_CONNINFO|g" "$DEMO/beacon.conf.in" >"$CONF"
"$BEACON_BUILD/beacon-pixelsrv" -n -c "$CONF" >"$T_DIR/logs/pixelsrv-n.out" 2>&1 ||
	die "beacon-pixelsrv -n rejects the demo configuration: $(tail -n 1 "$T_DIR/logs/pixelsrv-n.out")"
"$BEACON_BUILD/beacon-milter" -n -c "$CONF" >"$T_DIR/logs/milter-n.out" 2>&1 ||
	die "beacon-milter -n rejects the demo configuration: $(tail -n 1 "$T_DIR/logs/milter-n.out")"

bg "$BEACON_BUILD/beacon-pixelsrv" -f -c "$CONF" >>"$T_DIR/logs/pixelsrv.log" 2>&1
PX_PID=$!
t_on_exit 't_kill_pid "$PX_PID" TERM 20'
t_wait_until "t_port_listening $PX_PORT || ! t_pid_alive $PX_PID" 30 && t_pid_alive "$PX_PID" ||
	die "beacon-pixelsrv did not start: $(tail -n 1 "$T_DIR/logs/pixelsrv.log")"
gif=$(curl -s --max-time 5 -o "$T_DIR/p.gif" -w '%{http_code} %{content_type} %{size_download}' "$BASE_URL/p.gif") ||
	die "beacon-pixelsrv does not answer on $BASE_URL"
[ "$gif" = "200 image/gif 43" ] || die "GET $BASE_URL/p.gif answered '$gif', not a 43-byte GIF"
info "beacon-pixelsrv pid $PX_PID on $BASE_URL (user $(ps -o user= -p "$PX_PID")); GET /p.gif -> $gif bytes"

# the attachment store: the milter (postfix) writes it, pixelsrv (nobody) reads it through
# the group of its directories, set-group-ID so that what the milter writes in them is
# that group's; made here, all of them (t/ and 00..ff/), since a directory the milter
# makes itself gets its own group
mkdir -p "$T_DIR/attachments/t"
for i in $(seq 0 255); do printf '%s/attachments/%02x\n' "$T_DIR" "$i"; done | xargs mkdir
chown -R "postfix:$(id -gn nobody)" "$T_DIR/attachments"
find "$T_DIR/attachments" -type d -exec chmod 2750 {} +
bg "$BEACON_BUILD/beacon-milter" -f -c "$CONF" >>"$T_DIR/logs/milter.log" 2>&1
MILTER_PID=$!
t_on_exit 't_kill_pid "$MILTER_PID" TERM 20'
t_wait_until "[ -S '$MILTER_SOCK' ] || ! t_pid_alive $MILTER_PID" 30 && t_pid_alive "$MILTER_PID" ||
	die "beacon-milter did not start: $(tail -n 1 "$T_DIR/logs/milter.log")"
info "beacon-milter   pid $MILTER_PID on unix:$MILTER_SOCK (user $(ps -o user= -p "$MILTER_PID"))"
info "configuration   $CONF (from tests/demo/beacon.conf.in)"

# ----------------------------------------------------------------------------
step "Send the tagged newsletter with swaks: one sender, three recipients"
SENDER=news@shop.example
RCPTS=(ann@example.com bob@example.net cat@example.org)
ROLES=(To Cc Bcc)
MSGID="demo-$(date +%Y%m%d%H%M%S)-$$@shop.example"
SENT=$T_DIR/mail/sent.eml
grep -v '^#' "$DEMO/newsletter.eml" |
	sed -e "s|@BASE@|$BASE_URL|g" -e "s|@DATE@|$(LC_ALL=C date -R)|" -e "s|@MSGID@|$MSGID|" >"$SENT"
# swaks ends DATA with CRLF . CRLF itself: no trailing newline in the file
printf '%s' "$(cat "$SENT")" >"$SENT.swaks"
SEND_US=$(t_now_us)
swaks --server "127.0.0.1:$PF_SMTP_PORT" --timeout 20 --from "$SENDER" \
	--to "$(IFS=,; printf '%s' "${RCPTS[*]}")" --data "@$SENT.swaks" >"$T_DIR/logs/swaks.out" 2>&1 ||
	die "swaks could not send through 127.0.0.1:$PF_SMTP_PORT: $(grep -E '^ *<~\*? *[45]' "$T_DIR/logs/swaks.out" | tail -n 1)"
cat "$T_DIR/logs/swaks.out"
QID=$(sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T_DIR/logs/swaks.out" | tail -n 1)
[ -n "$QID" ] || die "swaks got no queue id from Postfix"
info "From: Beacon Shop <$SENDER>   Subject: $(sed -n 's/^Subject: //p' "$SENT")"
info "X-Beacon: $(sed -n 's/^X-Beacon: //p' "$SENT")"
info "HTML with the placeholder <img src=\"$BASE_URL/p.gif\">, 3 links, a mailto: link,"
info "an unsubscribe link, a text twin and price-list.pdf ($(stat -c %s "$SENT") bytes)"
info "envelope: MAIL FROM:<$SENDER> RCPT TO: ${RCPTS[0]} (To), ${RCPTS[1]} (Cc), ${RCPTS[2]} (Bcc: in no header)"
info "Postfix: 250 2.0.0 Ok: queued as $QID"

# rcpt_dump ADDRESS - the complete sink dump that has ADDRESS as an envelope recipient
rcpt_dump() {
	local f
	for f in $(pf_sink_files); do
		if pf_sink_rcpts "$f" | grep -ixF -- "$1" >/dev/null; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	return 1
}
# all_delivered - true once each recipient has a dump and the queue is empty
all_delivered() {
	local r
	for r in "${RCPTS[@]}"; do
		rcpt_dump "$r" >/dev/null || return 1
	done
	[ "$(pf_queue_count)" = 0 ]
}
t_wait_until all_delivered 30 ||
	die "the newsletter did not reach smtp-sink for every recipient within 30 s (queue: $(pf_queue_count); see the maillog in the log)"
{ grep -E "(^|[^0-9A-Za-z])$QID: " "$T_DIR/logs/milter.log" || true; } | sed 's/^.*beacon-milter[^:]*: //' |
	awk 'NR <= 4' | while IFS= read -r l; do info "beacon-milter: $l"; done
us=$(($(t_now_us) - SEND_US))
info "in smtp-sink $((us / 1000)) ms after swaks began: $(pf_sink_count) message file(s) for the 3 recipients"

# ----------------------------------------------------------------------------
step "The delivered copies, side by side"
copy_args=()
declare -A DUMP_ID
n=0
for i in "${!RCPTS[@]}"; do
	r=${RCPTS[i]}
	f=$(rcpt_dump "$r")
	if [ -z "${DUMP_ID[$f]:-}" ]; then
		n=$((n + 1))
		DUMP_ID[$f]=$n
		pf_sink_message "$f" >"$T_DIR/mail/delivered.$n.eml"
	fi
	k=${DUMP_ID[$f]}
	copy_args+=("$r|${ROLES[i]}|file $k, $(pf_sink_rcpts "$f" | wc -l) rcpt|$T_DIR/mail/delivered.$k.eml")
done
python3 "$DEMO/copies.py" "$BASE_URL" "$SENT" "$T_DIR/mail/urls.tsv" "${copy_args[@]}" >"$T_DIR/mail/copies.txt" ||
	die "the delivered copies are not what Beacon should deliver: $(tail -n 1 "$LOG")"
indent <"$T_DIR/mail/copies.txt"

declare -A TOKEN PIXEL
for r in "${RCPTS[@]}"; do
	TOKEN[$r]=$(awk -F'\t' -v r="$r" '$1 == r && $2 == "pixel" { print $3 }' "$T_DIR/mail/urls.tsv")
	PIXEL[$r]=$(awk -F'\t' -v r="$r" '$1 == r && $2 == "pixel" { print $4 }' "$T_DIR/mail/urls.tsv")
done
# click_url ADDRESS N - the click URL of link N in ADDRESS's copy
click_url() {
	awk -F'\t' -v r="$1" -v n="$2" '$1 == r && $2 == "link" && $3 == n { print $4 }' "$T_DIR/mail/urls.tsv"
}
# download_url ADDRESS N - the download URL of attachment N in ADDRESS's copy
download_url() {
	awk -F'\t' -v r="$1" -v n="$2" '$1 == r && $2 == "download" && $3 == n { print $4 }' "$T_DIR/mail/urls.tsv"
}
info ""
info "${RCPTS[0]}'s copy, in full:"
info "  pixel   ${PIXEL[${RCPTS[0]}]}"
info "  link 1  $(click_url "${RCPTS[0]}" 1)"
ntok=$(printf '%s\n' "${TOKEN[@]}" | sort -u | wc -l)
stored=$(pg_query "SELECT count(*)
	FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
	WHERE m.message_id IN ('<$MSGID>', '$MSGID')")
[ "$stored" = 3 ] || die "beacon-milter stored $stored recipient rows, not 3, for <$MSGID>"
info ""
[ "$ntok" = 3 ] || die "the three copies carry $ntok distinct tokens, not 3: per_recipient = split did not split the message"
info "Each recipient's copy carries its own token (per_recipient = split): every"
info "open and click below is attributed to the person who made it."

# ----------------------------------------------------------------------------
step "The recipients' mail clients fetch the pixel, follow a link, download the attachment"
UA_IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'
UA_OUTLOOK='Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)'
UA_GMAIL='Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'
UA_CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36'
CLICK_N=2
# the headers a browser sends when it follows a link; a click without them is a scanner's
BROWSER_HEADERS=(-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
	-H 'Accept-Language: en-GB,en;q=0.9')
# recipient | what plays it | User-Agent | client address | pixel or link number
PLAYS=(
	"${RCPTS[0]}|Mail on an iPhone|$UA_IPHONE|192.0.2.10|pixel"
	"${RCPTS[1]}|Outlook on Windows|$UA_OUTLOOK|198.51.100.20|pixel"
	"${RCPTS[2]}|Gmail's image proxy|$UA_GMAIL|66.249.84.1|pixel"
	"${RCPTS[1]}|Safe Links, at delivery|$UA_CHROME|40.93.12.34|$CLICK_N"
	"${RCPTS[1]}|Chrome (a link in Outlook)|$UA_CHROME|198.51.100.20|$CLICK_N"
	"${RCPTS[0]}|Outlook, office network|$UA_OUTLOOK|10.1.2.3|pixel"
	"${RCPTS[1]}|Chrome (download button)|$UA_CHROME|198.51.100.20|download 1"
)
SENT_AT=$(pg_query "SELECT extract(epoch FROM sent_at)::bigint FROM beacon.messages
	WHERE message_id IN ('<$MSGID>', '$MSGID')")

# start the live view before the first event
ctl watch --count 1 --timeout 20 >"$T_DIR/logs/watch.out" 2>"$T_DIR/logs/watch.err" 3>&- 4>&- &
WATCH_PID=$!
t_on_exit 't_kill_pid "$WATCH_PID" TERM 5'
t_wait_until "grep -qs 'listening on beacon_event' '$T_DIR/logs/watch.err' || ! t_pid_alive $WATCH_PID" 10 &&
	t_pid_alive "$WATCH_PID" || die "beaconctl watch did not start listening: $(cat "$T_DIR/logs/watch.err")"
info "beaconctl watch --count 1 runs in the background (pid $WATCH_PID), listening for live events."
info "Every request comes from 127.0.0.1, the trusted TLS proxy, with the client's address"
info "in X-Forwarded-For (trusted_proxies = 127.0.0.1; internal_networks = 10.0.0.0/8)."
info ""
printf '%-3s %-17s %-27s %-15s %-24s %s\n' "#" "recipient" "client" "from" "request" "answer" | indent
printf '%-3s %-17s %-27s %-15s %-24s %s\n' "--" "---------" "------" "----" "-------" "------" | indent
i=0
for play in "${PLAYS[@]}"; do
	i=$((i + 1))
	IFS='|' read -r who what ua addr target <<<"$play"
	if [ "$target" = pixel ]; then
		url=${PIXEL[$who]}
		req="GET /o/${TOKEN[$who]:0:6}...gif"
		fmt='%{http_code} %{content_type}, %{size_download} bytes'
	elif [ "${target% *}" = download ]; then
		url=$(download_url "$who" "${target#* }")
		[ -n "$url" ] || die "no download button ${target#* } in $who's copy"
		req="GET /d/${TOKEN[$who]:0:6}.../${target#* }/..."
		fmt='%{http_code} %{content_type}, %{size_download} bytes'
	else
		url=$(click_url "$who" "$target")
		[ -n "$url" ] || die "no link $target in $who's copy"
		# the person reads before clicking: past scanner_click_seconds (3 s here)
		case $what in Chrome*)
			while [ $(($(date +%s) - SENT_AT)) -lt 5 ]; do sleep 0.2; done ;;
		esac
		req="GET /c/${TOKEN[$who]:0:6}.../$target/..."
		fmt='%{http_code} -> %{redirect_url}'
	fi
	printf '\n$ curl -H "User-Agent: %s" -H "Accept: text/html,..." -H "Accept-Language: en-GB,en;q=0.9" -H "X-Forwarded-For: %s" %s\n' "$ua" "$addr" "$url"
	answer=$(curl -s --max-time 10 -o "$T_DIR/mail/fetched" -w "$fmt" -H "User-Agent: $ua" \
		"${BROWSER_HEADERS[@]}" -H "X-Forwarded-For: $addr" "$url") || die "curl $url failed"
	printf '%s\n' "$answer"
	case $target in
	pixel) [ "${answer%% *}" = 200 ] || die "the pixel of $who answered '$answer'" ;;
	download*)
		[ "${answer%% *}" = 200 ] || die "the download URL of $who answered '$answer'"
		name=$(awk -F'\t' -v r="$who" -v n="${target#* }" '$1 == r && $2 == "download" && $3 == n { print $5 }' \
			"$T_DIR/mail/urls.tsv")
		python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
sent = [p.get_payload(decode=True) for p in m.walk() if p.get_filename() == sys.argv[2]]
sys.exit(0 if sent and sent[0] == open(sys.argv[3], "rb").read() else 1)' "$SENT" "$name" "$T_DIR/mail/fetched" ||
			die "the file behind $who's download button is not the $name that was sent"
		answer="$answer, $name as sent"
		;;
	*) [ "${answer%% *}" = 302 ] || die "the click URL of $who answered '$answer'" ;;
	esac
	printf '%-3s %-17s %-27s %-15s %-24s %s\n' "$i" "$who" "$what" "$addr" "$req" "$answer" | indent
	if [ "$i" = 1 ]; then
		# the live line: watch prints the first event and exits
		t_wait_until "! t_pid_alive $WATCH_PID" 20 || die "beaconctl watch printed no event within 20 s"
		wrc=0
		wait "$WATCH_PID" || wrc=$?
		[ "$wrc" = 0 ] || die "beaconctl watch exited $wrc: $(tail -n 1 "$T_DIR/logs/watch.err")"
		[ "$(wc -l <"$T_DIR/logs/watch.out")" -ge 2 ] || die "beaconctl watch exited without printing the event"
	fi
done
NPLAYS=$i
t_wait_until "[ \"\$(pg_query 'SELECT count(*) FROM beacon.events' 2>/dev/null)\" = $NPLAYS ]" 20 ||
	die "beacon-pixelsrv stored $(pg_query 'SELECT count(*) FROM beacon.events') of the $NPLAYS events within 20 s"
info ""
info "beacon-pixelsrv stored all $NPLAYS events in beacon.events."
info ""
info "Live, from 'beaconctl watch' (started before request #1, it printed it as it came):"
sed 's/[[:space:]]*$//' "$T_DIR/logs/watch.out" | sed 's/^/  /' | indent

# ----------------------------------------------------------------------------
step "What the sender sees: beaconctl report and history"
CAMPAIGN=$(sed -n 's/^X-Beacon: .*campaign="\([^"]*\)".*/\1/p' "$SENT")
ctl report summary -v "campaign=$CAMPAIGN" -v by=campaign --csv >"$T_DIR/summary.csv" ||
	die "beaconctl report summary failed: $(tail -n 1 "$LOG")"
info "\$ beaconctl report summary -v campaign='$CAMPAIGN' -v by=campaign"
info "  (one column a line; opens count classes human and proxy, the rest are left out)"
python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
if len(rows) != 2:
    sys.exit("summary: expected one row, got %d" % (len(rows) - 1))
w = max(len(h) for h in rows[0])
for h, v in zip(*rows):
    print("  %s  %s" % (h.ljust(w), v if v != "" else "-"))
' "$T_DIR/summary.csv" >"$T_DIR/summary.txt" || die "the summary has not one row: $(tail -n 1 "$LOG")"
indent <"$T_DIR/summary.txt"
for r in "${RCPTS[@]}"; do
	info ""
	info "\$ beaconctl history $r"
	ctl history "$r" >"$T_DIR/history.$r.txt" || die "beaconctl history $r failed"
	sed 's/[[:space:]]*$//; s/^/  /' "$T_DIR/history.$r.txt" | indent
done

# ----------------------------------------------------------------------------
step "Leads to the stores' tracked addresses: beaconctl report inbound"
info "Each of the shop's two stores has a tracked address. beacon-milter on the MX"
info "([milter] inbound = yes) counts the mail they receive, per store and per source,"
info "and changes nothing in it; a forwarded lead counts for its original sender."
info ""
# shown ARGS - print and run one beaconctl command
shown() {
	local a line="\$ beaconctl"
	for a in "$@"; do
		case $a in
		*[' *']*) line="$line '$a'" ;;
		*) line="$line $a" ;;
		esac
	done
	info "$line"
	ctl "$@" || die "beaconctl $* failed: $(tail -n 1 "$LOG")"
}
shown inbound add leads-paris@shop.example 'Paris store' --owner 'Sophie Martin'
shown inbound add leads-berlin@shop.example 'Berlin store'
shown inbound source add domain marketplace.example Marketplace
shown inbound source add from 'webform@shop.example' 'shop website'
# the second address's NOTIFY: the milter's set holds both
t_wait_until "grep -q 'tracked inbound addresses: changed in the database, 2 addresses' '$T_DIR/logs/milter.log'" 10 ||
	die "beacon-milter did not reload the tracked addresses (NOTIFY beacon_inbound) within 10 s"
info "(beacon-milter reloaded its set of tracked addresses on the database's NOTIFY)"
info ""

# lead FILE MSGID FROM TO [CC] - a lead's headers; the body follows on stdin
lead() {
	{
		printf '%s\n' "From: $3" "To: $4"
		[ -z "${5:-}" ] || printf 'Cc: %s\n' "$5"
		printf '%s\n' "Date: $(LC_ALL=C date -R)" "Message-ID: <$2>" "MIME-Version: 1.0" \
			"Content-Type: text/plain; charset=utf-8" "Content-Transfer-Encoding: 8bit"
		cat
	} >"$1"
}
L=$T_DIR/mail/lead
lead "$L.1" "q-5521.$$@mail.marketplace.example" "Marketplace <questions@mail.marketplace.example>" \
	orders@shop.example leads-paris@shop.example <<-'EOF'
	Subject: A buyer asks about "Brass desk lamp"

	Hello, is the brass desk lamp still available in green? Pickup in Paris.
	EOF
lead "$L.2" "form-1187.$$@shop.example" "Shop website <webform@shop.example>" leads-berlin@shop.example <<-'EOF'
	Subject: Contact form: opening hours

	Name: Jonas Weber
	Message: Are you open on Saturday afternoon?
	EOF
lead "$L.3" "q-5530.$$@mail.marketplace.example" "Marketplace <questions@mail.marketplace.example>" \
	leads-berlin@shop.example <<-'EOF'
	Subject: A buyer asks about "Linen lampshade"

	Does the linen lampshade fit a E27 socket?
	EOF
lead "$L.4" "CAF0rw4rd$$@mail.gmail.com" "Lena Hoffmann <lena.hoffmann.shop@gmail.com>" \
	leads-paris@shop.example <<-'EOF'
	Subject: Fwd: Contact form: wholesale prices

	For the Paris store.

	---------- Forwarded message ---------
	From: Shop website <webform@shop.example>
	Date: Mon, Nov 30, 2026 at 6:12 PM
	Subject: Contact form: wholesale prices
	To: <lena.hoffmann.shop@gmail.com>


	Name: Camille Roux
	Message: Do you sell to hotels? We need 40 lamps.
	EOF
# lead 1 again, as orders@'s mailbox forwards it by itself: a header in front, the same Message-ID
{ printf 'X-Forwarded-For: orders@shop.example leads-paris@shop.example\n'; cat "$L.1"; } >"$L.5"
lead "$L.6" "20261130.$$@mail.example.net" "Bob Berger <bob@example.net>" leads-berlin@shop.example <<-'EOF'
	Subject: Gift voucher

	Hi, can I buy a gift voucher in the Berlin store?
	EOF
# send_lead N ENVELOPE_FROM RCPTS - swaks lead N; LEAD_QID[N]: its queue id
declare -A LEAD_QID
send_lead() {
	printf '%s' "$(cat "$L.$1")" >"$L.$1.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" --timeout 20 --from "$2" --to "$3" \
		--data "@$L.$1.swaks" >"$T_DIR/logs/swaks.lead.$1" 2>&1 ||
		die "swaks could not send lead $1: $(grep -E '^ *<~\*? *[45]' "$T_DIR/logs/swaks.lead.$1" | tail -n 1)"
	LEAD_QID[$1]=$(sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T_DIR/logs/swaks.lead.$1" | tail -n 1)
}
NDUMPS=$(pf_sink_count)
send_lead 1 bounce-5521@mail.marketplace.example orders@shop.example,leads-paris@shop.example
send_lead 2 webform@shop.example leads-berlin@shop.example
send_lead 3 bounce-5530@mail.marketplace.example leads-berlin@shop.example
send_lead 4 lena.hoffmann.shop@gmail.com leads-paris@shop.example
send_lead 5 orders+caf_=leads-paris=shop.example@shop.example leads-paris@shop.example
send_lead 6 bob@example.net leads-berlin@shop.example
t_wait_until "[ \$(pf_sink_count) -ge $((NDUMPS + 6)) ] && [ \$(pg_query 'SELECT count(*) FROM beacon.inbound') -ge 5 ]" 20 ||
	die "the six leads were not delivered and stored within 20 s ($(($(pf_sink_count) - NDUMPS)) delivered, $(pg_query 'SELECT count(*) FROM beacon.inbound') stored)"
# every lead reached the sink as it was sent (below the Received header Postfix adds)
same=0
for f in $(pf_sink_files | tail -n 6); do
	for i in 1 2 3 4 5 6; do
		if cmp -s "$L.$i" <(pf_sink_message "$f" | awk 'NR == 1 && /^Received: / { skip = 1; next }
			skip && /^[ \t]/ { next } { skip = 0; print }'); then
			same=$((same + 1))
			break
		fi
	done
done
[ "$same" = 6 ] || die "$((6 - same)) of the six leads were not delivered as they were sent"
printf '%-2s %-27s %-41s %s\n' "#" "to" "from" "stored in beacon.inbound" >"$T_DIR/leads.txt"
printf '%-2s %-27s %-41s %s\n' "--" "--" "----" "------------------------" >>"$T_DIR/leads.txt"
TO=("" "orders@, leads-paris@ (Cc)" "leads-berlin@" "leads-berlin@" "leads-paris@" "leads-paris@" "leads-berlin@")
for i in 1 2 3 4 5 6; do
	from=$(sed -n 's/^From: .*<\(.*\)>$/\1/p' "$L.$i" | head -n 1)
	case $i in
	4) from="$from, forwarding" ;;
	5) from="orders@'s mailbox, forwarding lead 1" ;;
	esac
	got=$(pg_query "SELECT string_agg(point_of_sale || ', ' || source || CASE WHEN forward THEN ' (a forward)'
		ELSE '' END, '; ') FROM beacon.inbound WHERE queue_id = '${LEAD_QID[$i]}'")
	[ -n "$got" ] || got="nothing: the same Message-ID counts once"
	printf '%-2s %-27s %-41s %s\n' "$i" "${TO[$i]}" "$from" "$got" >>"$T_DIR/leads.txt"
done
indent <"$T_DIR/leads.txt"
info ""
info "All six delivered byte for byte as they were sent; $(pg_query 'SELECT count(*) FROM beacon.inbound') leads stored."
info ""
info "\$ beaconctl report inbound"
ctl report inbound >"$T_DIR/inbound.txt" || die "beaconctl report inbound failed: $(tail -n 1 "$LOG")"
sed 's/[[:space:]]*$//; s/^/  /' "$T_DIR/inbound.txt" | indent

# ----------------------------------------------------------------------------
step "The senders' dashboard: beacon-web"
info "Each sender signs in and sees only their own mail: PostgreSQL's row-level security"
info "decides, for a role that is a member of beacon_web and nothing more."
info ""
pg_query "CREATE ROLE beacon_web_login LOGIN IN ROLE beacon_web" >/dev/null ||
	die "cannot create the database role beacon_web_login for beacon-web"
info "\$ psql -c 'CREATE ROLE beacon_web_login LOGIN IN ROLE beacon_web'"
mkdir -p "$T_DIR/web"
"$BEACON_BUILD/beacon-web" -t -c "$CONF" >"$T_DIR/logs/web-t.out" 2>&1 ||
	die "beacon-web -t refuses the demo configuration or its role: $(tail -n 1 "$T_DIR/logs/web-t.out")"
info "\$ beacon-web -t    (the role is bound by row-level security: accepted)"
WEB_USER=$SENDER
WEB_PASSWORD=$(od -An -tx1 -N9 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$WEB_PASSWORD" >"$T_DIR/web/password")
ctl web user add "$WEB_USER" --password-file "$T_DIR/web/password" ||
	die "beaconctl web user add $WEB_USER failed: $(tail -n 1 "$LOG")"
info "\$ beaconctl web user add $WEB_USER --password-file ...    (scope: the address itself)"
bg "$BEACON_BUILD/beacon-web" -f -c "$CONF" >>"$T_DIR/logs/web.log" 2>&1
WEB_PID=$!
t_on_exit 't_kill_pid "$WEB_PID" TERM 20'
WEB_URL=http://localhost:$WEB_PORT
t_wait_until "grep -q 'listening on' '$T_DIR/logs/web.log' || ! t_pid_alive $WEB_PID" 30 &&
	t_pid_alive "$WEB_PID" || die "beacon-web did not start: $(tail -n 1 "$T_DIR/logs/web.log")"
health=$(curl -s --max-time 5 "$WEB_URL/healthz") || die "beacon-web does not answer on $WEB_URL"
[ "$health" = ok ] || die "GET $WEB_URL/healthz answered '$health', not ok"
info "beacon-web pid $WEB_PID on 127.0.0.1:$WEB_PORT (user $(ps -o user= -p "$WEB_PID")); GET /healthz -> $health"
# sign in as a browser does (tests/lib/web.sh), read the messages page
JAR=$T_DIR/web/cookies
signin=$(wb_signin "$WEB_URL" "$JAR" "$WEB_USER" "$WEB_PASSWORD" /) ||
	die "GET $WEB_URL/login answered ${signin%% *}, not 200"
[ "$signin" = "303 $WEB_URL/" ] || die "signing in as $WEB_USER answered '$signin', not 303 to /"
curl -s --max-time 10 -b "$JAR" -o "$T_DIR/web/messages.csv" "$WEB_URL/?format=csv" ||
	die "GET $WEB_URL/?format=csv failed"
shown=$(python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
print("; ".join("%s: %s recipients, %s opened, %s clicked" % (r["subject"], r["recipients"], r["opened"],
	r["clicked"]) for r in rows) or "nothing")' "$T_DIR/web/messages.csv") ||
	die "the messages CSV of $WEB_USER is not CSV"
[ "$(($(wc -l <"$T_DIR/web/messages.csv") - 1))" = 1 ] ||
	die "the dashboard shows $WEB_USER $(($(wc -l <"$T_DIR/web/messages.csv") - 1)) messages, not the newsletter alone: $shown"
info "signed in as $WEB_USER with curl, the messages page lists $shown"
info ""
if [ "$KEEP" = 1 ]; then
	info "dashboard     $WEB_URL/  (it keeps running: its login is printed at the end)"
else
	info "dashboard     $WEB_URL/  (stopped at the end of the demo; make demo KEEP=1 keeps it"
	info "              running and prints a login to open it in a browser)"
fi

# ----------------------------------------------------------------------------
if [ "$KEEP" = 1 ]; then
	step "KEEP=1: the stack stays up"
	PG_PID=$(pg_pid)
	cat >"$T_DIR/demo.env" <<-EOF
		# demo.env - the Beacon demo stack left running by KEEP=1 (shell variables)
		DEMO_DIR=$T_DIR
		BEACON_CONF=$CONF
		BEACON_CONNINFO='$BEACON_CONNINFO'
		PGHOST=127.0.0.1 PGPORT=$PGPORT PGUSER=beacon PGDATABASE=beacon
		PIXELSRV_URL=$BASE_URL
		SMTP_PORT=$PF_SMTP_PORT REINJECT_PORT=$PF_REINJECT_PORT SINK_PORT=$PF_SINK_PORT
		SINK_DIR=$PF_SINK_DIR POSTFIX_CONF=$PF_CONF
		MESSAGE_ID='<$MSGID>' CAMPAIGN='$CAMPAIGN'
		PIXELSRV_PID=$PX_PID MILTER_PID=$MILTER_PID POSTFIX_MASTER_PID=$PF_MASTER_PID
		SINK_PID=$PF_SINK_PID POSTGRES_PID=$PG_PID
		WEB_URL=$WEB_URL WEB_USER=$WEB_USER WEB_PASSWORD_FILE=$T_DIR/web/password WEB_PID=$WEB_PID
	EOF
	cat >"$T_DIR/stop.sh" <<-EOF
		#!/bin/bash
		# stop.sh - stop the Beacon demo stack left running by KEEP=1, by PID, and remove $T_DIR
		set -u
		. "$BEACON_SRC/tests/lib/common.sh"
		T_NAME=stop.sh
		# runs NAME PID - true if PID is alive and still runs NAME (not a reused PID)
		runs() {
		    t_pid_alive "\$2" && tr '\\0' ' ' 2>/dev/null <"/proc/\$2/cmdline" | grep -q -- "\$1"
		}
		# stop NAME PID SIG - signal PID if it still runs NAME, wait for it
		stop() {
		    if runs "\$1" "\$2"; then
		        echo "stopping \$1 (pid \$2)"
		        t_kill_pid "\$2" "\$3" 20
		    fi
		}
		# libmilter notices SIGTERM only every few seconds: signal it first
		runs beacon-milter $MILTER_PID && kill -s TERM $MILTER_PID
		stop beacon-pixelsrv $PX_PID TERM
		stop beacon-web $WEB_PID TERM
		kids=
		if runs master $PF_MASTER_PID; then
		    for k in \$(t_children $PF_MASTER_PID); do
		        kids="\$kids \$k:\$(cat /proc/\$k/comm 2>/dev/null)"
		    done
		fi
		stop master $PF_MASTER_PID TERM
		for k in \$kids; do stop "\${k#*:}" "\${k%%:*}" TERM; done
		stop smtp-sink $PF_SINK_PID TERM
		stop beacon-milter $MILTER_PID TERM
		stop postgres $PG_PID INT
		rm -rf -- "$T_DIR"
		echo "removed $T_DIR"
	EOF
	chmod 755 "$T_DIR/stop.sh"
	info "pixel server  $BASE_URL  (e.g. curl -A 'any client' ${PIXEL[${RCPTS[0]}]})"
	info "Postfix       swaks --server 127.0.0.1:$PF_SMTP_PORT --from $SENDER --to someone@example.com \\"
	info "                    --data @$SENT.swaks      (delivered copies land in $PF_SINK_DIR)"
	info "beaconctl     $BEACON_BUILD/beaconctl -c $CONF history ${RCPTS[0]}"
	info "psql          psql '$BEACON_CONNINFO'"
	info "logs          $T_DIR/logs/milter.log, $T_DIR/logs/pixelsrv.log, $T_DIR/logs/web.log, $PF_LOG, $PG_LOG"
	info "pids          pixelsrv $PX_PID, milter $MILTER_PID, beacon-web $WEB_PID, postfix master $PF_MASTER_PID, smtp-sink $PF_SINK_PID, postgres $PG_PID"
	info "variables     $T_DIR/demo.env"
	info ""
	info "stop it all:  $T_DIR/stop.sh"
	# nothing may stop the stack now: empty the exit stack
	# shellcheck disable=SC2034 # common.sh's cleanup stack
	T_EXIT_CMDS=()
	say ""
	say "Demo done in $(elapsed) s; the stack keeps running (KEEP=1)."
	# the dashboard's login last, where the eye ends
	info ""
	info "dashboard     $WEB_URL/"
	info "sign in as    $WEB_USER"
	info "password      $WEB_PASSWORD"
	info "(a browser on this machine; from another one: ssh -L $WEB_PORT:127.0.0.1:$WEB_PORT this-host,"
	info " then the same URL; in production, behind TLS: contrib/nginx/beacon-web.conf)"
	exit 0
fi

step "Stop everything the demo started, by PID, and remove its files"
# libmilter notices SIGTERM only every few seconds: signal it first
kill -s TERM "$MILTER_PID" 2>/dev/null || true
t_kill_pid "$PX_PID" TERM 20
t_pid_alive "$PX_PID" && die "beacon-pixelsrv (pid $PX_PID) did not stop"
info "beacon-pixelsrv pid $PX_PID stopped"
t_kill_pid "$WEB_PID" TERM 20
t_pid_alive "$WEB_PID" && die "beacon-web (pid $WEB_PID) did not stop"
info "beacon-web pid $WEB_PID stopped"
master=$PF_MASTER_PID sink=$PF_SINK_PID
pf_stop 3>&- 4>&-
info "Postfix master pid $master and its children stopped, smtp-sink pid $sink stopped"
t_kill_pid "$MILTER_PID" TERM 20
t_pid_alive "$MILTER_PID" && die "beacon-milter (pid $MILTER_PID) did not stop"
info "beacon-milter pid $MILTER_PID stopped"
pgpid=$(pg_pid)
pg_stop 3>&- 4>&-
t_pid_alive "$pgpid" && die "PostgreSQL (pid $pgpid) did not stop"
info "PostgreSQL pid $pgpid stopped"
collect_logs
t_rm_tmpdir_
[ -e "$T_DIR" ] && die "could not remove $T_DIR"
info "removed $T_DIR; the daemons' logs were appended to $LOG"
say ""
say "Demo done in $(elapsed) s."
