#!/bin/bash
# NAME
#	28_pixelsrv_limits.sh - one token cannot flood beacon.events or the
#	spool, and anonymize_ip leaves no full address on disk
#
# DESCRIPTION
#	1. 200 opens of one token from one address (defaults: repeat_window
#	   60 s): one row; the other 199 in
#	   beacon_pixelsrv_events_repeated_total and in one log line.
#	   150 clicks of one token on 150 links (token_event_limit 100):
#	   100 rows, 50 counted over the limit.
#	2. anonymize_ip = yes and spool_max_bytes = 10k.  *.bad files and a
#	   rejected.spool unchanged for longer than rejected_retention are
#	   removed at start, another file is kept.  Opens from a full IPv4
#	   address and an Apple relay /31 with the database up, then from a
#	   full IPv6 and IPv4 address and 500 more with PostgreSQL stopped:
#	   all answered, the same 20 opens again are counted as repeats and
#	   not spooled, events.spool stops below 10k, the cap is logged once
#	   and the rest is counted in beacon_pixelsrv_events_dropped_total;
#	   no file under spool_dir holds a full address (as bytes or text).
#	   When PostgreSQL is back every spooled event is replayed; the rows
#	   hold the /24 and /48, the relay open is still class prefetch.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_tmpdir >/dev/null
pg_start
pg_schema
px_setup
load() { python3 "$PX_PY" load 127.0.0.1 "$PX_PORT" "$1" -c 4 -H 'User-Agent: Thunderbird/115.0' "${@:2}"; }

# 1. repeats and the per-token cap, on the defaults
px_config 'batch_interval = 20'
px_start
read -r tok uuid < <(px_mint_pair)
for _ in $(seq 200); do echo "/o/$tok.gif"; done >"$T_DIR/same"
t_eq "200 200" "$(load "$T_DIR/same")" "200 opens of one token answered"
px_wait_rows 1 10 || t_fail "no row for the token"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_repeated_total)" = 199 ]' 10 ||
	t_fail "repeats counted: $(px_metric beacon_pixelsrv_events_repeated_total), expected 199"
sleep 0.5
t_eq 1 "$(px_rows "token_id = '$uuid'")" "one row for 200 opens of one token"
read -r tok2 uuid2 < <(px_mint_pair)
PYTHONPATH=$BEACON_SRC/tests/lib python3 -c '
import sys, pxclient as p
kid, key = p.signing_key(sys.argv[1])
for n in range(1, 151):
    print(p.click_path(kid, key, sys.argv[2], n, "https://example.org/%d" % n))
' "$PX_SECRET" "$tok2" >"$T_DIR/clicks"
t_eq "302 150" "$(load "$T_DIR/clicks")" "150 clicks answered"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_over_token_limit_total)" = 50 ]' 10 ||
	t_fail "over the limit: $(px_metric beacon_pixelsrv_events_over_token_limit_total), expected 50"
px_wait_rows 101 10 || true
t_eq 100 "$(px_rows "token_id = '$uuid2'")" "100 rows for 150 clicks of one token (token_event_limit)"
px_stop
grep -q "token $uuid: 199 repeated open events from 127.0.0.1" "$T_DIR/pixelsrv.log" ||
	t_fail "the repeats were not logged"
grep -q "token $uuid2: 50 events over the limit of 100" "$T_DIR/pixelsrv.log" ||
	t_fail "the events over the token limit were not logged"

# 2. and 3. one outage: anonymize_ip and the spool's cap; old kept-aside files expire at start
old=$(date -d '-2 hours' '+%Y%m%d%H%M')
for f in events.replay.bad rejected.replay.bad rejected.spool; do
	printf 'old records\n' >"$T_DIR/spool/$f"
	touch -t "$old" "$T_DIR/spool/$f"
done
printf 'fresh\n' >"$T_DIR/spool/events.replay.bad.new"
px_config 'batch_interval = 20' 'spool_max_bytes = 10k' 'anonymize_ip = yes' 'rejected_retention = 1h'
px_start
t_wait_until "[ ! -e '$T_DIR/spool/events.replay.bad' ]" 10 || t_fail "an old events.replay.bad was kept"
[ ! -e "$T_DIR/spool/rejected.replay.bad" ] || t_fail "an old rejected.replay.bad was kept"
[ ! -s "$T_DIR/spool/rejected.spool" ] || t_fail "an old rejected.spool was kept"
[ -e "$T_DIR/spool/events.replay.bad.new" ] || t_fail "a file that is no spool's was removed"
grep -q "events.replay.bad: removed, older than 3600 s" "$T_DIR/pixelsrv.log" || t_fail "removal not logged"
python3 "$PX_PY" opens "$PX_SECRET" 20 >"$T_DIR/anon"
python3 "$PX_PY" opens "$PX_SECRET" 20 >"$T_DIR/anon2"
python3 "$PX_PY" opens "$PX_SECRET" 500 >"$T_DIR/many"
rows0=$(px_rows)
t_eq "200 20" "$(load "$T_DIR/anon" -H 'X-Forwarded-For: 198.51.100.77')" "opens from 198.51.100.77"
read -r rtok ruuid < <(px_mint_pair)
# Mail Privacy Protection fetches with the User-Agent "Mozilla/5.0" (curl's own would be a bot's)
t_eq 200 "$(px_get "/o/$rtok.gif" -A 'Mozilla/5.0' -H 'X-Forwarded-For: 172.224.226.33')" \
	"an open from an Apple relay /31"
px_wait_rows $((rows0 + 21)) 10 || t_fail "rows with the database up"
pg_stop
t_eq "200 20" "$(load "$T_DIR/anon" -H 'X-Forwarded-For: 2001:db8:1234:5678::77')" "opens from 2001:db8:1234:5678::77 (database down)"
t_eq "200 20" "$(load "$T_DIR/anon2" -H 'X-Forwarded-For: 198.51.100.77')" "more opens from 198.51.100.77 (database down)"
t_eq "200 20" "$(load "$T_DIR/anon2" -H 'X-Forwarded-For: 198.51.100.77')" "the same 20 again (database down)"
t_wait_until '[ "$(px_metric beacon_pixelsrv_events_repeated_total)" = 20 ]' 10 ||
	t_fail "repeats in the outage: $(px_metric beacon_pixelsrv_events_repeated_total), expected 20"
t_ok "repeats during the outage counted, not spooled"
t_eq "200 500" "$(load "$T_DIR/many")" "500 more opens answered with the database down and the spool full"
t_wait_until '[ "$(px_metric beacon_pixelsrv_queue_depth)" = 0 ]' 20 || t_fail "queue not drained"
size=$(stat -c %s "$T_DIR/spool/events.spool")
[ "$size" -le 10240 ] || t_fail "events.spool is $size bytes, past the 10k cap"
spooled=$(px_metric beacon_pixelsrv_events_spooled_total)
dropped=$(px_metric beacon_pixelsrv_events_dropped_total)
[ "$spooled" -ge 40 ] && [ "$dropped" -gt 0 ] || t_fail "spooled $spooled, dropped $dropped"
t_eq 540 "$((spooled + dropped))" "every event spooled or counted dropped ($spooled + $dropped)"
t_eq 1 "$(grep -c 'reached its cap of 10240 bytes' "$T_DIR/pixelsrv.log")" "the cap logged once"
t_eq 200 "$(px_get /p.gif)" "still answering past the cap"
python3 - "$T_DIR/spool" <<'PY' || t_fail "a full client address is on disk"
import ipaddress, os, sys
needles = {}
for a in ("198.51.100.77", "2001:db8:1234:5678::77", "172.224.226.33"):
    needles[a + " (bytes)"] = ipaddress.ip_address(a).packed
    needles[a + " (text)"] = a.encode()
    if ":" not in a:
        needles[a + " (mapped)"] = ipaddress.IPv6Address("::ffff:" + a).packed
bad = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        data = open(os.path.join(root, f), "rb").read()
        for name, n in needles.items():
            if n in data:
                print(f"{os.path.join(root, f)}: holds {name}")
                bad = 1
sys.exit(bad)
PY
t_ok "no full client address under spool_dir (queue file, spools, leftovers)"
pg_restart
px_wait_rows $((rows0 + 21 + spooled)) 20 ||
	t_fail "after the restart: $(px_rows) rows, expected $((rows0 + 21 + spooled))"
t_wait_until "grep -q 'below its cap again: $dropped records were refused' '$T_DIR/pixelsrv.log'" 10 ||
	t_fail "the end of the cap episode was not logged"
t_eq 0 "$(px_metric beacon_pixelsrv_events_lost_total)" "nothing lost"
t_eq 40 "$(px_rows "ip = '198.51.100.0'")" "the IPv4 rows hold the /24"
t_eq 20 "$(px_rows "ip = '2001:db8:1234::'")" "the IPv6 rows hold the /48"
t_eq "prefetch|apple-mpp|172.224.226.0" "$(pg_query "SELECT class || '|' || reason || '|' || host(ip)
	FROM beacon.events WHERE token_id = '$ruuid'")" \
	"the relay open: class prefetch (apple-mpp) from the full address, /24 stored"
px_stop
t_ok "28_pixelsrv_limits"
