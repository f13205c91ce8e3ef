#!/bin/bash
# NAME
#	80_demo.sh - `make demo` runs, and what it prints is what happened
#
# DESCRIPTION
#	Runs tests/demo/demo.sh three times with the binaries of BEACON_BUILD:
#
#	1. KEEP=1: exit 0, the twelve headed steps, nothing on stderr.  With the
#	   stack still up, checks the printed output against the database the
#	   demo leaves and against the scenario it plays: the pixel tokens
#	   shown per recipient are the delivered ones the recipients rows
#	   hold; beacon.events holds exactly the seven events played (kind,
#	   class, city, client, link, token; the download with the file's
#	   bytes, complete) and nothing else; every number of
#	   the printed campaign summary equals the one computed from the
#	   scenario and the tokens (opened = distinct tokens that saw a
#	   counted event, ...) and the one beaconctl prints now; each printed
#	   history is what beaconctl history prints now, with as many rows as
#	   events were played with that recipient's token; the live watch
#	   line is the first event (iPhone Mail, Paris).  The inbound scene
#	   stored exactly the five leads it sent (its sixth mail is the first
#	   again: counted once), each with its store and source (the Gmail
#	   forward with its original sender's), as printed for each mail; the
#	   printed inbound report is what beaconctl prints now, and holds the
#	   scenario's numbers.  The printed dashboard login signs in at the
#	   printed URL (tests/lib/web.sh's wb_signin), whose messages CSV is
#	   the newsletter alone; the URL and login are the last lines printed.
#	   Then the printed stop.sh stops every PID of demo.env and removes
#	   the directory.
#	2. Plain run: exit 0; no dashboard login printed, but that the
#	   dashboard stops at the end; every PID it printed as stopped is
#	   gone, its directory is removed, the daemons' logs are in the log
#	   file, and no sanitizer report is in it.
#	3. A build whose beacon-pixelsrv refuses its configuration: exit 1,
#	   a message naming step 5 on stderr, PostgreSQL, Postfix and
#	   smtp-sink (started before) stopped, the directory removed.
set -Eeuo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/web.sh"

trap 't_fail "line $LINENO: $BASH_COMMAND: failed"' ERR
t_need_root "Postfix"
for p in beacon-milter beacon-pixelsrv beaconctl beacon-web; do
	[ -x "$BEACON_BUILD/$p" ] || t_fail "no $BEACON_BUILD/$p (build first)"
done
t_tmpdir >/dev/null
DEMO=$BEACON_SRC/tests/demo/demo.sh
CTL=$BEACON_BUILD/beaconctl
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# run_demo NAME [VAR=VALUE...] - run the demo; RC, OUT (stdout file), ERR (stderr file)
run_demo() {
	local name=$1
	shift
	OUT=$T_DIR/$name.out
	ERR=$T_DIR/$name.err
	RC=0
	env "$@" DEMO_LOG="$T_DIR/$name.log" "$DEMO" >"$OUT" 2>"$ERR" || RC=$?
	# the terminal lines without their indentation and trailing blanks
	P=$T_DIR/$name.txt
	sed 's/^      //; s/[[:space:]]*$//' "$OUT" >"$P"
}

# show_failure NAME - print a run's output and the end of its log
show_failure() {
	cat "$T_DIR/$1.out" "$T_DIR/$1.err" >&2
	printf -- '--- %s (last 40 lines)\n' "$T_DIR/$1.log" >&2
	tail -n 40 "$T_DIR/$1.log" >&2 || true
}

# section FIRST_LINE - the printed lines from FIRST_LINE to the next blank line
section() {
	awk -v first="$1" '$0 == first { on = 1 } on && $0 == "" { on = 0; done = 1 } on && !done' "$P"
}

# field NAME - a value of the printed summary ("  name  value")
field() {
	awk -v n="$1" '$1 == n && NF == 2 && !done { print $2; done = 1 }' "$P"
}

# uuid_of TOKEN - the recipient id inside a token, as a uuid
uuid_of() {
	python3 -c 'import base64, sys, uuid
t = sys.argv[1]
print(uuid.UUID(bytes=base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))[1:17]))' "$1"
}

# psql_demo SQL - one query against the database the demo left running
psql_demo() {
	"$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 "$BEACON_CONNINFO" -c "$1"
}

# --- 1. KEEP=1, checked against the database it leaves
run_demo keep KEEP=1
envfile=$(sed -n 's/^variables  *\(.*demo\.env\)$/\1/p' "$P")
if [ -n "$envfile" ] && [ -r "$envfile" ]; then
	# shellcheck disable=SC1090 # written by the demo
	. "$envfile"
	t_on_exit 'if [ -x "$DEMO_DIR/stop.sh" ]; then "$DEMO_DIR/stop.sh" >/dev/null; fi'
fi
[ "$RC" = 0 ] || { show_failure keep; t_fail "KEEP=1 demo exited $RC"; }
t_ok "KEEP=1 demo exited 0"
[ -n "$envfile" ] || t_fail "KEEP=1 printed no demo.env path"
t_eq "" "$(cat "$ERR")" "KEEP=1 stderr"
t_eq "$(seq 1 12 | sed 's|.*|[&/12]|')" "$(grep -o '^\[[0-9]*/12\]' "$P")" "the twelve step headers in order"
t_eq "[12/12] KEEP=1: the stack stays up" "$(grep '^\[12/12\]' "$P")" "last step of KEEP=1"
t_eq "stop it all:  $DEMO_DIR/stop.sh" "$(grep '^stop it all:' "$P")" "stop command printed"
for pid in "$PIXELSRV_PID" "$MILTER_PID" "$POSTFIX_MASTER_PID" "$SINK_PID" "$POSTGRES_PID" "$WEB_PID"; do
	t_pid_alive "$pid" || t_fail "pid $pid of demo.env is not running after KEEP=1"
done
t_ok "KEEP=1 left the six processes running"
t_eq 1 "$(psql_demo "SELECT count(*) FROM beacon.messages")" "messages"
t_eq "Demo newsletter|news@shop.example|true|true|3|1" \
	"$(psql_demo "SELECT campaign || '|' || sender || '|' || clicks || '|' || notify || '|' ||
		recipients || '|' || (message_id IN ('$MESSAGE_ID', btrim('$MESSAGE_ID', '<>')))::int
		FROM beacon.messages")" "the message row"

# the tokens: what the recipients rows hold, and what the demo printed
declare -A TOK UUID
ann_tok=$(grep -A1 -xF "ann@example.com's copy, in full:" "$P" | sed -n 's|^  pixel   .*/o/\(.*\)\.gif$|\1|p')
[ ${#ann_tok} = 36 ] || t_fail "no full pixel URL of ann@example.com printed"
t_eq "1" "$(psql_demo "SELECT count(*) FROM beacon.recipients WHERE address = 'ann@example.com'
	AND token = '$ann_tok'")" "ann's printed token is her recipients row's"
# short TOKEN - the shortened form the copies table prints
short() { printf '/o/%s…%s.gif' "${1:0:6}" "${1: -4}"; }
row="pixel"
for r in ann@example.com bob@example.net cat@example.org; do
	TOK[$r]=$(psql_demo "SELECT token FROM beacon.recipients WHERE address = '$r'")
	[ ${#TOK[$r]} = 36 ] || t_fail "no token for $r in beacon.recipients"
	UUID[$r]=$(uuid_of "${TOK[$r]}")
	row="$row $(short "${TOK[$r]}")"
done
t_eq "$row" "$(grep '^pixel  ' "$P" | tr -s ' ')" "copies table: each recipient's pixel token"
t_eq "in headers To Cc no" "$(grep '^in headers  ' "$P" | tr -s ' ')" "copies table: the Bcc recipient is in no header"
ntok=$(printf '%s\n' "${TOK[@]}" | sort -u | wc -l)
t_ok "$ntok distinct token(s) for 3 recipients"
if [ "$ntok" = 1 ]; then
	grep -q '^NOTE: the three copies do not carry one token each (1 distinct)' "$P" ||
		t_fail "shared tokens without the NOTE saying so"
	t_eq "ann@example.com  shared
bob@example.net  shared
cat@example.org  shared" "$(sed -n 's/^  \([a-z]*@[a-z.]*  [a-z]*\)$/\1/p' "$P")" "NOTE lists the shared rows"
	t_ok "the shared token is said so"
else
	grep -q '^NOTE' "$P" && t_fail "NOTE printed although each copy has its own token"
fi

# the events: exactly the seven played, in order; Safe Links' pre-click is a scanner's
t_eq "${UUID[ann@example.com]}|open|human|Paris|iOS Mail|
${UUID[bob@example.net]}|open|human|Berlin|Outlook|
${UUID[cat@example.org]}|open|proxy||Gmail image proxy|
${UUID[bob@example.net]}|click|scanner||Chrome 119|2
${UUID[bob@example.net]}|click|human|Berlin|Chrome 119|2
${UUID[ann@example.com]}|open|internal||Outlook|
${UUID[bob@example.net]}|download|human|Berlin|Chrome 119|1" \
	"$(psql_demo "SELECT token_id || '|' || kind || '|' || class || '|' || coalesce(city, '') || '|' ||
		coalesce(CASE WHEN kind IN ('click', 'download') THEN browser ELSE client END, '') || '|' ||
		coalesce(link_n::text, attachment_id::text, '') FROM beacon.events ORDER BY at")" \
	"beacon.events: the seven events played (client; browser for the clicks and the download)"
t_eq "1 $(stat -c %s "$DEMO_DIR/mail/fetched") false" \
	"$(psql_demo "SELECT count(*) || ' ' || min(bytes) || ' ' || bool_or(partial) FROM beacon.events
		WHERE kind = 'download'")" "the download row: the file's bytes, complete"
t_eq "192.0.2.10 198.51.100.20 66.249.84.1 40.93.12.34 198.51.100.20 10.1.2.3 198.51.100.20" \
	"$(psql_demo "SELECT string_agg(host(ip), ' ' ORDER BY at) FROM beacon.events")" \
	"client addresses from X-Forwarded-For"

# the summary: computed from the scenario and the tokens, and as beaconctl gives it now
opened=$(printf '%s\n' "${UUID[ann@example.com]}" "${UUID[bob@example.net]}" "${UUID[cat@example.org]}" |
	sort -u | wc -l)
pct() { python3 -c 'import sys; from decimal import Decimal, ROUND_HALF_UP
print((Decimal(100) * int(sys.argv[1]) / int(sys.argv[2])).quantize(Decimal("0.1"), ROUND_HALF_UP))' "$1" "$2"; }
expect="messages=1
recipients=3
excluded_recipients=0
opened=$opened
open_rate=$(pct "$opened" 3)
opens=3
clicked=1
clicks=1
click_to_open=$(pct 1 "$opened")
downloaded=1
downloads=1
left_out_human=0
left_out_proxy=0
left_out_prefetch=0
left_out_scanner=1
left_out_internal=1
left_out_sender=0"
got=
for f in messages recipients excluded_recipients opened open_rate opens clicked clicks \
	click_to_open downloaded downloads left_out_human left_out_proxy left_out_prefetch left_out_scanner \
	left_out_internal left_out_sender; do
	v=$(field "$f")
	got="$got$f=$v
"
done
t_eq "$expect" "${got%?}" "printed summary = the scenario's numbers"
t_eq "campaign  Demo newsletter" "$(grep '^  campaign ' "$P" | sed 's/^  campaign  */campaign  /')" \
	"printed summary: campaign"
now=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BEACON_CONF" report summary \
	-v "campaign=Demo newsletter" -v by=campaign --csv |
	python3 -c 'import csv, sys
rows = list(csv.reader(sys.stdin))
print("\n".join("  %s  %s" % (h, v or "-") for h, v in zip(*rows)))')
t_eq "$(printf '%s\n' "$now" | tr -s ' ')" \
	"$(section '$ beaconctl report summary -v campaign='"'"'Demo newsletter'"'"' -v by=campaign' |
		sed -n '3,$p' | tr -s ' ')" "printed summary = beaconctl report summary now"

# the histories: as beaconctl prints them now, one row per event of the recipient's token
for r in ann@example.com bob@example.net cat@example.org; do
	want=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BEACON_CONF" history "$r" |
		sed 's/[[:space:]]*$//; s/^/  /')
	t_eq "$want" "$(section "\$ beaconctl history $r" | sed 1d)" "printed history of $r"
	rowid=$(psql_demo "SELECT token_id FROM beacon.recipients WHERE address = '$r'")
	n=0
	for u in "${UUID[ann@example.com]}" "${UUID[bob@example.net]}" "${UUID[cat@example.org]}" \
		"${UUID[bob@example.net]}" "${UUID[bob@example.net]}" "${UUID[ann@example.com]}" \
		"${UUID[bob@example.net]}"; do
		[ "$u" = "$rowid" ] && n=$((n + 1))
	done
	[ "$n" = 1 ] && s=row || s=rows
	t_eq "  ($n $s)" "$(section "\$ beaconctl history $r" | tail -n 1)" "history rows of $r"
done

# the live line: the first event, as it came
live=$(grep -A2 "^Live, from 'beaconctl watch'" "$P" | sed -n 3p)
[[ $live =~ ^\ \ [0-9-]+\ [0-9:]+\ +open\ +human\ +ann@example\.com\ +news@shop\.example\ +Paris,\ FR\ +iOS\ Mail$ ]] ||
	t_fail "live watch line: '$live'"
t_ok "live watch line: the iPhone open from Paris"

# the inbound scene: the five leads stored (the sixth mail is lead 1 again), each printed
t_eq "leads-paris@shop.example|Paris store|Sophie Martin|Marketplace|mail.marketplace.example|false
leads-berlin@shop.example|Berlin store||shop website|shop.example|false
leads-berlin@shop.example|Berlin store||Marketplace|mail.marketplace.example|false
leads-paris@shop.example|Paris store|Sophie Martin|shop website|shop.example|true
leads-berlin@shop.example|Berlin store||other|example.net|false" \
	"$(psql_demo "SELECT address || '|' || point_of_sale || '|' || coalesce(owner, '') || '|' || source
		|| '|' || sender_domain || '|' || forward FROM beacon.inbound ORDER BY at, id")" \
	"beacon.inbound: the five leads, the forward counted for its original sender"
t_eq "Paris store, Marketplace
Berlin store, shop website
Berlin store, Marketplace
Paris store, shop website (a forward)
nothing: the same Message-ID counts once
Berlin store, other" "$(awk '/^#  to  / { on = 1; next } on && $0 == "" { exit } on' "$P" | sed -n '2,$p' |
	sed 's/.*  //')" "the leads table: what each mail stored"
day=$(psql_demo "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
t_eq "period,point_of_sale,source,leads,previous,change,change_pct,complete
$day,Berlin store,Marketplace,1,0,1,,f
$day,Berlin store,other,1,0,1,,f
$day,Berlin store,shop website,1,0,1,,f
$day,Paris store,Marketplace,1,0,1,,f
$day,Paris store,shop website,1,0,1,,f" \
	"$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BEACON_CONF" report inbound --csv |
		tr -d '\r')" "beaconctl report inbound: the scenario's numbers"
want=$(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BEACON_CONF" report inbound |
	sed 's/[[:space:]]*$//; s/^/  /')
t_eq "$want" "$(section '$ beaconctl report inbound' | sed 1d)" "printed inbound report = beaconctl report inbound now"

# the dashboard: the printed login signs in at the printed URL; the sender sees the newsletter
url=$(sed -n 's/^dashboard  *\(http:[^ ]*\)$/\1/p' "$P")
user=$(sed -n 's/^sign in as  *//p' "$P")
pw=$(sed -n 's/^password  *//p' "$P")
t_eq "$WEB_URL/|news@shop.example|$(cat "$WEB_PASSWORD_FILE")" "$url|$user|$pw" "printed dashboard URL, login and password"
t_eq "dashboard     $WEB_URL/|sign in as    news@shop.example|password      $pw" \
	"$(grep -v '^$' "$P" | tail -n 5 | head -n 3 | paste -sd'|')" \
	"KEEP=1: the dashboard's login is the last thing printed"
t_eq "dashboard     $WEB_URL/  (it keeps running: its login is printed at the end)|1" \
	"$(grep '^dashboard  .*(' "$P")|$(grep -c '^password  ' "$P")" \
	"KEEP=1: step 11 says the login comes at the end, where it is printed once"
t_eq "303 $url" "$(wb_signin "${url%/}" "$T_DIR/jar" "$user" "$pw")" "signing in with the printed login"
t_eq "Demo newsletter|3" "$(curl -s --max-time 10 -b "$T_DIR/jar" "$url?format=csv" |
	python3 -c 'import csv, sys
print("\n".join("%s|%s" % (r["campaign"], r["recipients"]) for r in csv.DictReader(sys.stdin)))')" \
	"the dashboard's messages: the newsletter alone"

# stop.sh: every PID gone, the directory removed
"$DEMO_DIR/stop.sh" >"$T_DIR/stop.out" 2>&1 || { cat "$T_DIR/stop.out" >&2; t_fail "stop.sh failed"; }
for pid in "$PIXELSRV_PID" "$MILTER_PID" "$POSTFIX_MASTER_PID" "$SINK_PID" "$POSTGRES_PID" "$WEB_PID"; do
	t_pid_alive "$pid" && t_fail "pid $pid still runs after stop.sh"
done
[ -e "$DEMO_DIR" ] && t_fail "stop.sh left $DEMO_DIR"
t_ok "stop.sh stopped the six processes and removed $DEMO_DIR"

# --- 2. the plain run cleans up after itself
run_demo plain
[ "$RC" = 0 ] || { show_failure plain; t_fail "demo exited $RC"; }
t_eq "" "$(cat "$ERR")" "plain run stderr"
t_eq "1|0" "$(grep -c '^dashboard     http://localhost:[0-9]*/  (stopped at the end of the demo; make demo KEEP=1 keeps it$' "$P")|$(grep -c '^password  ' "$P")" \
	"plain run: the dashboard is said to stop at the end, and no login is printed for it"
dir=$(sed -n 's/^working directory //p' "$P")
[ -n "$dir" ] || t_fail "no working directory printed"
[ -e "$dir" ] && t_fail "the demo left $dir"
pids=$(sed -n 's/^beacon-pixelsrv pid \([0-9]*\) stopped$/\1/p; s/^beacon-milter pid \([0-9]*\) stopped$/\1/p;
	s/^beacon-web pid \([0-9]*\) stopped$/\1/p;
	s/^PostgreSQL pid \([0-9]*\) stopped$/\1/p; s/^Postfix master pid \([0-9]*\) and its children stopped, smtp-sink pid \([0-9]*\) stopped$/\1 \2/p' "$P")
t_eq 6 "$(printf '%s\n' $pids | wc -l)" "PIDs reported stopped"
for pid in $pids; do
	t_pid_alive "$pid" && t_fail "pid $pid still runs after the demo"
done
t_ok "every process the demo started is gone, $dir removed"
for f in logs/milter.log logs/pixelsrv.log logs/web.log pf/maillog pg/postgresql.log; do
	grep -qxF "===== $dir/$f" "$T_DIR/plain.log" || t_fail "$f not appended to the demo log"
done
t_ok "daemon logs appended to the demo log"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR/plain.log" >&2; then
	t_fail "sanitizer report in the demo log"
fi
t_ok "no sanitizer report"
t_eq "$(P=$T_DIR/keep.txt; field opened)|$(P=$T_DIR/keep.txt; field opens)|$(P=$T_DIR/keep.txt; field clicks)" \
	"$(field opened)|$(field opens)|$(field clicks)" "plain run: the same opened, opens, clicks as the KEEP=1 run"

# --- 3. a failing step: clear message, everything started before is stopped
mkdir -p "$T_DIR/badbuild"
ln -s "$BEACON_BUILD/beacon-milter" "$BEACON_BUILD/beaconctl" "$BEACON_BUILD/beacon-web" "$T_DIR/badbuild/"
printf '#!/bin/sh\necho "beacon-pixelsrv: bad configuration (test)" >&2\nexit 78\n' >"$T_DIR/badbuild/beacon-pixelsrv"
chmod 755 "$T_DIR/badbuild/beacon-pixelsrv"
run_demo bad BEACON_BUILD="$T_DIR/badbuild"
t_eq 1 "$RC" "failing demo exit status"
t_eq "
demo: FAILED in step 5/12 (beacon-pixelsrv and beacon-milter):
  beacon-pixelsrv -n rejects the demo configuration: beacon-pixelsrv: bad configuration (test)
  full log: $T_DIR/bad.log" "$(cat "$ERR")" "failing demo message"
dir=$(sed -n 's/^working directory //p' "$P")
[ -n "$dir" ] && [ ! -e "$dir" ] || t_fail "failing demo left its directory '$dir'"
read -r master sink < <(sed -n 's/^smtpd on .*, Postfix master pid \([0-9]*\), smtp-sink pid \([0-9]*\)$/\1 \2/p' "$P")
[ -n "$sink" ] || t_fail "no Postfix PIDs printed"
t_pid_alive "$master" && t_fail "Postfix master $master survived the failed demo"
t_pid_alive "$sink" && t_fail "smtp-sink $sink survived the failed demo"
for f in /proc/[0-9]*/cmdline; do
	c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
	[[ $c == *"$dir/"* ]] && t_fail "a process of $dir survived the failed demo: $c"
done
t_ok "the failed demo stopped what it had started and removed $dir"
t_ok "80_demo"
