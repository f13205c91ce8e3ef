#!/bin/bash
# NAME
#	44_replica.sh - beaconctl reads a real streaming replica, and the
#	primary when the replica is too far behind or down
#
# DESCRIPTION
#	A throwaway primary and a hot standby made from it with
#	pg_basebackup -R, streaming over loopback.  With [database]
#	read_conninfo naming the standby:
#	- the standby lets role beacon in with its password only: every
#	  read of it logs in with read_password_file (a wrong one: the
#	  primary is read, the warning says it cannot connect to the replica);
#	- init goes to the primary; report summary, history and export read
#	  the standby ("read from replica 127.0.0.1:PORT (lag N.N s)" on
#	  stderr) and the summary equals psql's run of the file on the primary;
#	- an idle primary: the replica's last transaction is older than
#	  read_max_lag = 1, but it has replayed all the primary wrote: it is
#	  read, lag 0.0 s;
#	- the primary's walsender SIGSTOPped (the WAL receiver still says
#	  streaming) and a message written on the primary: with
#	  read_max_lag = 2 the primary is read (new numbers), not the
#	  replica that has replayed all it received;
#	- replay paused (pg_wal_replay_pause()) and more mail and events
#	  written on the primary: with read_max_lag = 1 the commands fall
#	  back to the primary (a warning says how far behind the replica is)
#	  and show the new numbers; with read_max_lag = 3600, and with 0
#	  (never fall back for lag), they read the standby and show the old
#	  numbers, which proves they really read it; export --purge deletes on
#	  the primary whatever read_max_lag says;
#	- the standby stopped: the primary is read, the warning says it
#	  cannot connect to the replica; a report file that writes is refused
#	  there (the session is read-only); both stopped: exit 69 naming both;
#	- beaconctl -n refuses an unreadable read_password_file (78).

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
export TZ=UTC

t_tmpdir >/dev/null
pg_start
# role beacon's password, copied to the replica by pg_basebackup
RPW=replica-pw-44
pg_query "ALTER ROLE beacon PASSWORD '$RPW'" >/dev/null
pg_replica_start
RPORT=$PG_REPLICA_PORT
t_eq t "$(pg_replica_query 'SELECT pg_is_in_recovery()')" "the replica is a standby"
# the replica lets beacon in with its password only (the primary still trusts it)
hba=$PG_REPLICA_DATA/pg_hba.conf
{ printf 'host all beacon 127.0.0.1/32 scram-sha-256\n'; cat "$hba"; } >"$T_DIR/hba"
cat "$T_DIR/hba" >"$hba"
pg_replica_query 'SELECT pg_reload_conf()' >/dev/null
t_wait_until '! pg_replica_query "SELECT 1" >/dev/null 2>&1' 10 ||
	t_fail "the replica still lets beacon in without a password"
export PGPASSWORD=$RPW	# for psql; ctl unsets it
t_eq t "$(pg_replica_query 'SELECT pg_is_in_recovery()')" "beacon logs in to the replica with its password"
umask 077
printf '%s\n' "$RPW" >"$T_DIR/replica.pw"
printf 'not-%s\n' "$RPW" >"$T_DIR/wrong.pw"
umask 022

# conf MAX_LAG [PASSWORD_FILE] - beacon.conf reading the replica with read_max_lag MAX_LAG
conf() {
	cat >"$T_DIR/beacon.conf" <<-EOF
		[database]
		conninfo = $BEACON_CONNINFO
		read_conninfo = host=127.0.0.1 port=$RPORT dbname=beacon user=beacon
		read_password_file = ${2:-$T_DIR/replica.pw}
		read_max_lag = $1
	EOF
}

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}

# primary_summary - psql's run of summary.sql (by=all) on the primary
primary_summary() {
	pg_psql --csv -v by=all -v tz=UTC -f "$BEACON_SRC/sql/reports/summary.sql"
}

# from_replica - assert ERR says the replica was read, and no fallback
from_replica() {
	if ! printf '%s\n' "$ERR" | grep -Eqx "beaconctl: read from replica 127\.0\.0\.1:$RPORT \(lag [0-9]+\.[0-9] s\)"; then
		t_fail "$1: no 'read from replica 127.0.0.1:$RPORT (lag N.N s)' line: $ERR"
	fi
	if printf '%s\n' "$ERR" | grep -q 'reading from the primary'; then
		t_fail "$1: fell back to the primary: $ERR"
	fi
	t_ok "$1: read from the replica"
}

# from_primary WHY_REGEX - assert ERR has the fallback warning, and no replica line
from_primary() {
	if ! printf '%s\n' "$ERR" | grep -Eqx "beaconctl: warning: $2: reading from the primary"; then
		t_fail "$1: no fallback warning matching '$2': $ERR"
	fi
	if printf '%s\n' "$ERR" | grep -q 'read from replica'; then
		t_fail "$1: says it read the replica: $ERR"
	fi
	t_ok "$1: read from the primary, warning given"
}

# --- -n: the replica's password file is checked like the primary's
conf 30 "$T_DIR/no-such-file"
t_run "$CTL" -c "$T_DIR/beacon.conf" -n
t_eq 78 "$RC" "-n with an unreadable read_password_file exit"
t_eq 1 "$(printf '%s\n' "$ERR" | grep -c "no-such-file: cannot read password file")" \
	"-n names the read_password_file"

conf 30
t_run ctl init
t_eq 0 "$RC" "init exit (on the primary)"
t_eq 0 "$(printf '%s\n' "$ERR" | grep -c 'replica')" "init does not touch the replica"

pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, queue_id, sender, subject, campaign, sent_at, recipients)
VALUES ('10000000-0000-4000-8000-000000000001', '<m1@example.org>', '4QAA1', 'alice@example.org',
	'Spring letter', 'spring', '2026-01-05 09:00:00+00', 2);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001', 'ann@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000000102', '10000000-0000-4000-8000-000000000001', 'ben@example.com', 'tracked', 1);
INSERT INTO beacon.events (at, kind, token_id, link_n, class) VALUES
('2026-01-05 09:03:00+00', 'open', '20000000-0000-4000-8000-000000000101', NULL, 'human'),
('2026-01-05 09:04:00+00', 'click', '20000000-0000-4000-8000-000000000101', 1, 'human'),
('2026-01-05 09:05:00+00', 'click', '20000000-0000-4000-8000-000000000102', 1, 'scanner');
EOF
pg_replica_wait

# --- the replica, caught up: same numbers as the primary, the lag shown
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary from the replica exit"
from_replica "report summary"
OLD=$(primary_summary)
t_eq "$OLD" "$OUT" "report summary from the replica equals psql's on the primary"
# columns 5, 6, 10, 12, 14: messages, recipients, opened, opens, clicks
t_eq "1,2,1,1,1" "$(printf '%s\n' "$OUT" | sed -n 2p | cut -d, -f5,6,10,12,14)" \
	"summary from the replica: messages, recipients, opened, opens, clicks"
t_run ctl history ann@example.com --csv
t_eq 0 "$RC" "history from the replica exit"
from_replica "history"
t_eq 3 "$(printf '%s\n' "$OUT" | wc -l)" "history: header + 2 events"
t_run ctl export --format csv
t_eq 0 "$RC" "export from the replica exit"
from_replica "export"
t_eq "beaconctl: exported 3 events" "$(printf '%s\n' "$ERR" | grep exported)" "export: 3 events"

# --- the replica's password is read_password_file's: a wrong one, the primary
conf 30 "$T_DIR/wrong.pw"
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary, wrong read_password_file, exit"
from_primary "report summary, wrong read_password_file" \
	"cannot connect to the replica \(database at 127\.0\.0\.1: .*password authentication failed for user \"beacon\"\)"
t_eq "$OLD" "$OUT" "report summary, wrong read_password_file: the primary's numbers"

# --- an idle primary: the replica's last transaction is old, yet it has it all
conf 1
pg_replica_wait
t_wait_until '[ "$(pg_replica_query "SELECT now() - pg_last_xact_replay_timestamp() > interval '\''1.5 s'\''")" = t ]' 10 ||
	t_fail "the replica's last replayed commit is not 1.5 s old"
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary, idle primary, exit"
from_replica "report summary, idle primary"
t_eq 1 "$(printf '%s\n' "$ERR" | grep -c '(lag 0\.0 s)$')" "idle primary: the replica's lag is 0.0 s"
t_eq "$OLD" "$OUT" "report summary, idle primary: the same numbers"

# --- the primary's walsender stopped: the replica has replayed all it received,
# its WAL receiver still says streaming, and it lacks what the primary wrote since
ws=$(pg_query "SELECT pid FROM pg_stat_replication")
[[ $ws =~ ^[0-9]+$ ]] || t_fail "not one walsender on the primary: '$ws'"
kill -s STOP "$ws"
t_on_exit "kill -s CONT $ws 2>/dev/null || true"
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, queue_id, sender, subject, campaign, sent_at, recipients)
VALUES ('10000000-0000-4000-8000-000000000003', '<m3@example.org>', '4QAA3', 'alice@example.org',
	'Autumn letter', 'autumn', '2026-01-20 09:00:00+00', 0);
EOF
WSNEW=$(primary_summary)
[ "$WSNEW" != "$OLD" ] || t_fail "the new message did not change the primary's summary"
conf 2
t_wait_until '[ "$(pg_replica_query "SELECT now() - pg_last_xact_replay_timestamp() > interval '\''2.5 s'\''")" = t ]' 10 ||
	t_fail "the replica's last replayed commit is not 2.5 s old"
t_eq "streaming true 1" "$(pg_replica_query "SELECT w.status || ' ' || (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()) ||
	' ' || (SELECT count(*) FROM beacon.messages) FROM pg_stat_wal_receiver w")" \
	"walsender stopped: the replica streams, has replayed all it received, lacks the message"
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary, walsender stopped, exit"
from_primary "report summary, walsender stopped" \
	"replica 127\.0\.0\.1:$RPORT is [0-9]+\.[0-9] s behind \(read_max_lag 2 s\)"
t_eq "$WSNEW" "$OUT" "report summary, walsender stopped: the primary's new numbers"
kill -s CONT "$ws"
pg_replica_wait
OLD=$WSNEW

# --- replay paused, more written on the primary
pg_replica_query 'SELECT pg_wal_replay_pause()' >/dev/null
t_wait_until '[ "$(pg_replica_query "SELECT pg_get_wal_replay_pause_state()")" = paused ]' 10 ||
	t_fail "replay did not pause"
pg_psql <<'EOF'
INSERT INTO beacon.messages (id, message_id, queue_id, sender, subject, campaign, sent_at, recipients)
VALUES ('10000000-0000-4000-8000-000000000002', '<m2@example.org>', '4QAA2', 'alice@example.org',
	'Summer letter', 'summer', '2026-02-05 09:00:00+00', 1);
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002', 'cat@example.com', 'tracked', 1);
INSERT INTO beacon.events (at, kind, token_id, class) VALUES
('2026-02-05 09:03:00+00', 'open', '20000000-0000-4000-8000-000000000201', 'human'),
('2026-02-05 10:03:00+00', 'open', '20000000-0000-4000-8000-000000000201', 'human');
EOF
pg_replica_wait received
t_eq "t" "$(pg_replica_query "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")" \
	"the replica holds WAL it has not replayed"
# the lag is the age of the last replayed commit: let it pass 1 s
t_wait_until '[ "$(pg_replica_query "SELECT now() - pg_last_xact_replay_timestamp() > interval '\''1.5 s'\''")" = t ]' 10 ||
	t_fail "the replica's last replayed commit is not 1.5 s old"
NEW=$(primary_summary)
[ "$NEW" != "$OLD" ] || t_fail "the new rows did not change the primary's summary"

# read_max_lag 1: too far behind, the primary is read
conf 1
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary, replica behind, exit"
from_primary "report summary, replica behind" \
	"replica 127\.0\.0\.1:$RPORT is [0-9]+\.[0-9] s behind \(read_max_lag 1 s\)"
t_eq "$NEW" "$OUT" "report summary, replica behind: the primary's new numbers"
t_run ctl history cat@example.com --csv
t_eq 0 "$RC" "history of the new recipient, replica behind, exit"
from_primary "history, replica behind" "replica 127\.0\.0\.1:$RPORT is [0-9.]+ s behind \(read_max_lag 1 s\)"
t_run ctl export --format csv
from_primary "export, replica behind" "replica 127\.0\.0\.1:$RPORT is [0-9.]+ s behind \(read_max_lag 1 s\)"
t_eq "beaconctl: exported 5 events" "$(printf '%s\n' "$ERR" | grep exported)" "export, replica behind: 5 events"

# read_max_lag 3600, and 0 (never for lag): the stale replica is read
for lag in 3600 0; do
	conf "$lag"
	t_run ctl report summary -v by=all --csv
	t_eq 0 "$RC" "report summary, read_max_lag $lag, exit"
	from_replica "report summary, read_max_lag $lag"
	t_eq "$OLD" "$OUT" "report summary, read_max_lag $lag: the replica's old numbers"
	shown=$(printf '%s\n' "$ERR" | sed -n 's/.*(lag \([0-9.]*\) s)$/\1/p')
	t_eq 1 "$(awk -v l="$shown" 'BEGIN { print (l >= 1.5) }')" "read_max_lag $lag: lag shown ($shown s) >= 1.5 s"
done
t_run ctl history cat@example.com
t_eq 65 "$RC" "history of the new recipient on the stale replica exit"
from_replica "history, stale replica"
t_run ctl export --format csv
from_replica "export, stale replica"
t_eq "beaconctl: exported 3 events" "$(printf '%s\n' "$ERR" | grep exported)" "export, stale replica: 3 events"

# export --purge deletes: always the primary
conf 3600
t_run ctl export --format csv --class scanner --purge
t_eq 0 "$RC" "export --purge exit"
t_eq 0 "$(printf '%s\n' "$ERR" | grep -c 'replica')" "export --purge does not read the replica"
t_eq "beaconctl: exported 1 event and deleted them" "$ERR" "export --purge message"
t_eq 0 "$(pg_query "SELECT count(*) FROM beacon.events WHERE class = 'scanner'")" \
	"export --purge deleted on the primary"

# --- the replica stopped: the primary, with a clear warning
pg_replica_stop
conf 30
NEW=$(primary_summary)
t_run ctl report summary -v by=all --csv
t_eq 0 "$RC" "report summary, replica down, exit"
from_primary "report summary, replica down" \
	"cannot connect to the replica \(database at 127\.0\.0\.1: connection to server at \"127\.0\.0\.1\", port $RPORT failed: Connection refused\)"
t_eq "$NEW" "$OUT" "report summary, replica down: the primary's numbers"

# a report that writes: refused on the primary's read-only session
mkdir -p "$T_DIR/sql/reports"
printf -- '-- write.sql - deletes: never run by a read session\nDELETE FROM beacon.events;\n' \
	>"$T_DIR/sql/reports/write.sql"
n=$(pg_query 'SELECT count(*) FROM beacon.events')
BEACON_SQLDIR=$T_DIR/sql t_run ctl report write
[ "$RC" != 0 ] || t_fail "a report that deletes exits 0 on the read session"
from_primary "report write, replica down" "cannot connect to the replica \(.*\)"
t_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'cannot execute DELETE in a read-only transaction')" \
	"the write is refused: read-only transaction"
t_eq "$n" "$(pg_query 'SELECT count(*) FROM beacon.events')" "no event deleted"

# --- both down: 69, naming both
pg_stop
t_run ctl report summary -v by=all --csv
t_eq 69 "$RC" "report summary, both down, exit"
t_eq 1 "$(printf '%s\n' "$ERR" | grep -c "^beaconctl: error: report: database at 127.0.0.1: .*port $PGPORT failed: .*; and cannot connect to the replica (.*port $RPORT failed: .*)$")" \
	"both down: the error names the primary and the replica"
