#!/bin/bash
# NAME
#	33_beaconctl_watch.sh - beaconctl watch receives events as they happen
#
# DESCRIPTION
#	Starts beaconctl watch against a throwaway cluster, waits for its
#	header line (printed once it LISTENs), then inserts events: the
#	watcher prints exactly the events of notify messages from the
#	--sender it was given, one line each, and exits after --count.
#	Also: --json prints the events as JSON, a @domain filter, --timeout
#	before --count events exits 75, SIGTERM ends it with 0, bad options
#	exit 64.  The watcher connects as a login role in beacon_reader: a
#	NOTIFY payload holds ids only and watch reads the details itself.  A
#	role granted nothing cannot connect; given CONNECT alone it may
#	LISTEN but hears no address, sender or place.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
command -v python3 >/dev/null || t_fail "python3 is needed to read JSON"
export TZ=UTC

t_tmpdir >/dev/null
pg_start

cat >"$T_DIR/beacon.conf" <<EOF
[database]
conninfo = $BEACON_CONNINFO
EOF

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}


# watch.conf: the same database as the login role "watcher", a member of beacon_reader
sed "s/user=beacon /user=watcher /" "$T_DIR/beacon.conf" >"$T_DIR/watch.conf"

# watch_start NAME ARGS... - start beaconctl watch in the background, wait until it says it listens
watch_start() {
	local name=$1
	shift
	# env execs beaconctl: $! is beaconctl itself, not a subshell
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/watch.conf" watch "$@" \
		>"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	WPID=$!
	t_on_exit "t_kill_pid $WPID"
	t_wait_until "grep -qs 'listening on beacon_event' '$T_DIR/$name.err' || ! t_pid_alive $WPID" 10 ||
		t_fail "watch $name did not start listening"
	t_pid_alive "$WPID" || t_fail "watch $name exited: $(cat "$T_DIR/$name.err")"
}

# watch_end - wait (bounded) for the watcher to exit; WRC holds its status
watch_end() {
	t_wait_until "! t_pid_alive $WPID" 10 || t_fail "watch did not exit: $(cat "$T_DIR"/*.out "$T_DIR"/*.err)"
	set +e
	wait "$WPID"
	WRC=$?
	set -e
}

t_run ctl init
t_eq 0 "$RC" "init exit"
pg_psql -c 'CREATE ROLE watcher LOGIN IN ROLE beacon_reader' -c 'CREATE ROLE outsider LOGIN'
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, sender, subject, notify) VALUES
('10000000-0000-4000-8000-000000000001', 'Alice@Example.org', 'Spring letter', true),
('10000000-0000-4000-8000-000000000002', 'bob@example.net', 'Invoice', true),
('10000000-0000-4000-8000-000000000003', 'alice@example.org', 'Quiet', false);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001', 'ann@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002', 'ben@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000301', '10000000-0000-4000-8000-000000000003', 'cat@example.com', 'tracked', 1);
INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000001', 1, 'https://example.org/a');
EOF

# --- one watcher for alice: bob's event and the quiet message's do not show
watch_start alice --sender alice@example.org --count 2 --timeout 20
t_eq "at                   kind      class     address                       sender                        place                   client          link" \
	"$(cat "$T_DIR/alice.out")" "watch header once listening"
pg_psql <<'EOF'
INSERT INTO beacon.events (at, kind, token_id, class, country, city, client) VALUES
('2026-01-05 10:00:00+00', 'open', '20000000-0000-4000-8000-000000000201', 'human', 'FR', 'Paris', 'Outlook'),
('2026-01-05 10:00:01+00', 'open', '20000000-0000-4000-8000-000000000301', 'human', 'FR', 'Paris', 'Outlook');
INSERT INTO beacon.events (at, kind, token_id, class, country, city, client) VALUES
('2026-01-05 10:00:02+00', 'open', '20000000-0000-4000-8000-000000000101', 'human', 'DE', 'Berlin', 'Thunderbird');
INSERT INTO beacon.events (at, kind, token_id, link_n, class, country, city, browser) VALUES
('2026-01-05 10:00:03+00', 'click', '20000000-0000-4000-8000-000000000101', 1, 'human', 'DE', 'Berlin', 'Firefox');
EOF
watch_end
t_eq 0 "$WRC" "watch --count 2 exit"
t_eq "at                   kind      class     address                       sender                        place                   client          link
2026-01-05 10:00:02  open      human     ann@example.com               Alice@Example.org             Berlin, DE              Thunderbird
2026-01-05 10:00:03  click     human     ann@example.com               Alice@Example.org             Berlin, DE                              https://example.org/a" \
	"$(cat "$T_DIR/alice.out")" "watch printed alice's two events"
t_eq "beaconctl: watch: listening on beacon_event" "$(cat "$T_DIR/alice.err")" "watch's stderr"

# --- --json and a @domain filter (any case)
watch_start net --sender @EXAMPLE.NET --json --count 1 --timeout 20
t_eq "" "$(cat "$T_DIR/net.out")" "watch --json prints no header"
pg_query "INSERT INTO beacon.events (at, kind, token_id, class) VALUES
	('2026-01-05 11:00:00+00', 'open', '20000000-0000-4000-8000-000000000101', 'human'),
	('2026-01-05 11:00:01+00', 'open', '20000000-0000-4000-8000-000000000201', 'proxy')" >/dev/null
t_wait_until "[ -s '$T_DIR/net.out' ]" 10 || t_fail "no payload from watch --json"
watch_end
t_eq 0 "$WRC" "watch --json exit"
t_eq "1 ben@example.com bob@example.net open proxy 2026-01-05T11:00:01" "$(python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
p = json.loads(lines[0])
print(len(lines), p["address"], p["sender"], p["kind"], p["class"], p["at"][:19])' "$T_DIR/net.out")" \
	"watch --json payload"

# --- a role granted nothing cannot connect; with CONNECT alone it may LISTEN, and hears ids only
t_run "$PG_BIN/psql" -X -U outsider -c 'LISTEN beacon_event'
t_eq 2 "$RC" "outsider's psql exit"
case $ERR in
*'permission denied for database "beacon"'*) t_ok "a role granted nothing cannot connect" ;;
*) t_fail "outsider connected, or failed otherwise: $ERR" ;;
esac
pg_query 'GRANT CONNECT ON DATABASE beacon TO outsider' >/dev/null
"$PG_BIN/psql" -X -q -U outsider >"$T_DIR/outsider.out" 2>&1 <<EOF
LISTEN beacon_event;
\\! "$PG_BIN/psql" -X -q -U beacon -c "INSERT INTO beacon.events (at, kind, token_id, class, country, city, client, ip) VALUES ('2026-01-05 12:00:00+00', 'open', '20000000-0000-4000-8000-000000000101', 'human', 'DE', 'Berlin', 'Thunderbird', '198.51.100.7')"
SELECT 1;
EOF
grep -q 'Asynchronous notification "beacon_event"' "$T_DIR/outsider.out" ||
	t_fail "the outsider heard nothing: $(cat "$T_DIR/outsider.out")"
t_ok "a role with CONNECT alone hears beacon_event"
if grep -Eq 'ann@|Alice|Berlin|Thunderbird|198\.51' "$T_DIR/outsider.out"; then
	t_fail "the outsider learnt personal data: $(grep Asynchronous "$T_DIR/outsider.out")"
fi
t_ok "and learns no address, sender, place, client or IP"

# --- a timeout before --count events
t_run ctl watch --count 1 --timeout 1
t_eq 75 "$RC" "watch timeout exit"
t_eq "beaconctl: watch: listening on beacon_event
beaconctl: watch: 0 of 1 events before the 1 s timeout" "$ERR" "watch timeout message"

# --- SIGTERM ends it cleanly
watch_start term
kill -TERM "$WPID"
watch_end
t_eq 0 "$WRC" "watch after SIGTERM exit"

# --- bad options
t_run ctl watch --count 0
t_eq 64 "$RC" "watch --count 0 exit"
t_eq "beaconctl: watch: --count '0': expected a number of events, 1 or more" \
	"$(printf '%s\n' "$ERR" | head -n 1)" "watch --count 0 message"
t_run ctl watch --timeout soon
t_eq 64 "$RC" "watch --timeout soon exit"
t_run ctl watch --sender nobody
t_eq 64 "$RC" "watch --sender without @ exit"
t_run ctl watch extra
t_eq 64 "$RC" "watch with an argument exit"
