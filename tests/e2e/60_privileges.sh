#!/bin/bash
# NAME
#	60_privileges.sh - both daemons drop root, guard their secrets and
#	files, and the click endpoint is never an open redirect
#
# DESCRIPTION
#	1. Started as root without `user`, or with user = root, each daemon
#	   refuses with its exact message and a non-zero status and leaves
#	   no process behind.
#	2. A secret_file group or others may read (0644, 0640, 0604) is
#	   refused by both with exit status 78 and the message naming the
#	   mode and the fix.
#	3. Both daemons started with umask 000: beacon-milter runs as
#	   postfix, beacon-pixelsrv as nobody (real, effective, saved and
#	   file-system uid and gid, the user's groups only, no capabilities,
#	   /proc/PID/status); the milter socket is 0660, the spool
#	   directories 0700 and every spool and queue file 0600, all owned by
#	   the daemon's user.
#	4. Tampered click URLs (changed target, link number, token, MAC;
#	   extra or missing parts; duplicated or non-canonical u=; CRLF in
#	   the target; a foreign Host) get 404 and no Location; variants
#	   that decode to the very URL that was signed may redirect, but
#	   only to the signed target.
#	5. The database password_file: a file group or others may read is
#	   refused at start-up (status 78) by both daemons, like the secret
#	   file; a root-only (0600) password file keeps working after the
#	   drop, so the milter stores rows and pixelsrv reconnects after a
#	   database restart.  Every failure of this part is listed before the
#	   test fails.
#	6. Throughout, the milter connects as a login role in beacon_milter
#	   and pixelsrv as one in beacon_pixelsrv (db_conninfo): their rows
#	   and events land, neither logs a refused statement, and as
#	   pixelsrv's role reading recipients or messages, or dropping a
#	   table, is refused.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "privilege drop"
MILTER=$BEACON_BUILD/beacon-milter
PIXELSRV=$BEACON_BUILD/beacon-pixelsrv

pg_start
pg_schema
# each daemon as its own login role, a member of the group role of 005_roles.sql
pg_psql -c 'CREATE ROLE t_milter LOGIN IN ROLE beacon_milter' \
	-c 'CREATE ROLE t_pixelsrv LOGIN IN ROLE beacon_pixelsrv'
bc_milter_config 'statement_timeout = 1000'
sed -i "/^\[milter\]/a db_conninfo = ${BEACON_CONNINFO/user=beacon /user=t_milter }" "$BC_MCONF"
px_setup
px_config "db_conninfo = ${BEACON_CONNINFO/user=beacon /user=t_pixelsrv }"

# refuse DAEMON CONF STATUS MESSAGE WHAT - DAEMON exits STATUS, saying MESSAGE
# (MESSAGE is "program: text"; the log level between them is not checked)
refuse() {
	local daemon=$1 conf=$2 want=$3 msg=$4 what=$5 rc=0 pid
	timeout 20 "$daemon" -f -c "$conf" >"$T_DIR/refuse.out" 2>&1 &
	pid=$!
	wait "$pid" || rc=$?
	[ "$rc" != 124 ] || t_fail "$what: still running after 20 s"
	sed -E 's/^(beacon-[a-z]+): [a-z]+: /\1: /' "$T_DIR/refuse.out" | grep -qxF -- "$msg" || {
		cat "$T_DIR/refuse.out" >&2
		t_fail "$what: no line '$msg'"
	}
	t_eq "$want" "$rc" "$what: exit status, with '$msg'"
}

# --- 1. root without user, and user = root ---------------------------------------
sed '/^user = /d' "$BC_MCONF" >"$T_DIR/m-nouser.conf"
refuse "$MILTER" "$T_DIR/m-nouser.conf" 78 \
	"beacon-milter: refusing to run as root: set 'user' in [milter]" "1: milter without user"
sed 's/^user = .*/user = root/' "$BC_MCONF" >"$T_DIR/m-root.conf"
refuse "$MILTER" "$T_DIR/m-root.conf" 78 \
	"beacon-milter: refusing to run as root: [milter] user is 'root'" "1: milter with user = root"
sed '/^user = /d' "$T_DIR/beacon.conf" >"$T_DIR/p-nouser.conf"
refuse "$PIXELSRV" "$T_DIR/p-nouser.conf" 78 \
	"beacon-pixelsrv: refusing to run as root: set 'user' in [pixelsrv]" "1: pixelsrv without user"
sed 's/^user = .*/user = root/' "$T_DIR/beacon.conf" >"$T_DIR/p-root.conf"
refuse "$PIXELSRV" "$T_DIR/p-root.conf" 78 \
	"beacon-pixelsrv: refusing to run as root: [pixelsrv] user is 'root'" "1: pixelsrv with user = root"
t_port_listening "$PX_PORT" && t_fail "1: something still listens on $PX_PORT"

# --- 2. secret files others may read ----------------------------------------------
for mode in 0644 0640 0604; do
	cp "$T_DIR/milter.secret" "$T_DIR/open.secret"
	chmod "$mode" "$T_DIR/open.secret"
	for d in milter pixelsrv; do
		if [ $d = milter ]; then conf=$BC_MCONF; bin=$MILTER; else conf=$T_DIR/beacon.conf; bin=$PIXELSRV; fi
		sed "s|^secret_file = .*|secret_file = $T_DIR/open.secret|" "$conf" >"$T_DIR/open.conf"
		refuse "$bin" "$T_DIR/open.conf" 78 \
			"beacon-$d: $T_DIR/open.secret: secret file is accessible by group or others (mode $mode); run: chmod 600 $T_DIR/open.secret" \
			"2: $d with a $mode secret file"
	done
done

# --- 3. running daemons: identity and file modes (started with umask 000) -------------
old_umask=$(umask)
umask 000
bc_milter_start
px_start
umask "$old_umask"
t_wait_file "$T_DIR/spool/events.queue" 10 || t_fail "3: no event queue file"

# ids PID USER - the process runs as USER with USER's groups and no capabilities
ids() {
	local pid=$1 user=$2 uid gid
	uid=$(id -u "$user")
	gid=$(id -g "$user")
	t_eq "$uid $uid $uid $uid" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")" \
		"3: $user: Uid (real, effective, saved, fs)"
	t_eq "$gid $gid $gid $gid" "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")" \
		"3: $user: Gid"
	t_eq "$(id -G "$user" | tr ' ' '\n' | sort -n | xargs)" \
		"$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$pid/status" | tr ' ' '\n' | sed '/^$/d' | sort -n | xargs)" \
		"3: $user: supplementary groups"
	t_eq 0000000000000000 "$(bc_proc "$pid" CapEff)" "3: $user: effective capabilities"
	t_eq 0000000000000000 "$(bc_proc "$pid" CapPrm)" "3: $user: permitted capabilities"
}
ids "$BC_MPID" postfix
ids "$PX_PID" nobody

# mode PATH WANT - octal mode, owner and type of PATH
mode() {
	t_eq "$2" "$(stat -c '%a %U %F' "$1")" "3: $(basename "$1")"
}
mode "$BC_MSOCK" "660 postfix socket"
mode "$BC_MDIR/spool" "700 postfix directory"
mode "$BC_MDIR/spool/milter.spool" "600 postfix regular empty file"
mode "$T_DIR/spool" "700 nobody directory"
mode "$T_DIR/spool/events.queue" "600 nobody regular file"
mode "$T_DIR/spool/events.spool" "600 nobody regular empty file"
mode "$T_DIR/spool/rejected.spool" "600 nobody regular empty file"
for f in "$BC_MDIR"/spool/* "$T_DIR"/spool/*; do
	[ $(($(stat -c '0%a' "$f") & 077)) = 0 ] || t_fail "3: $f is open to group or others"
done
t_ok "3: no spool file open to group or others"

# --- 4. the click endpoint is never an open redirect ---------------------------------
read -r tok _ < <(px_mint_pair)
read -r tok2 _ < <(px_mint_pair)
target='https://shop.example.org/spring?utm=letter&x=1'
click=$(px_click "$tok" 3 "$target")
mac=$(printf '%s' "$click" | cut -d/ -f5 | cut -d'?' -f1)
u=${click#*\?u=}
other=$(px_click "$tok" 4 'https://evil.example.net/')
omac=$(printf '%s' "$other" | cut -d/ -f5 | cut -d'?' -f1)
ou=${other#*\?u=}
b64() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
evil=$(b64 'https://evil.example.net/')
crlf=$(b64 "$target"$'\r\nLocation: https://evil.example.net/')
# the signed target with its last base64 character changed in the unused low bits
last=${u: -1}
alt=$(python3 -c 'import sys; a="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"; i=a.index(sys.argv[1]); print(a[i ^ 1])' "$last")
nc_u=${u:0:${#u}-1}$alt
# a different character than the one it replaces (a MAC's last character
# carries only 2 bits: A, Q, g or w), so the "mangled" value really differs
other_char() { [ "$1" = A ] && echo Q || echo A; }
tflip=$(other_char "${tok: -1}")
mflip=$(other_char "${mac: -1}")
tampered=(
	"/c/$tok/3/$mac?u=$evil"		# another target
	"/c/$tok/3/$mac?u=$ou"			# another signed target
	"/c/$tok/4/$mac?u=$u"			# another link number
	"/c/$tok/4/$omac?u=$u"			# another link's MAC
	"/c/$tok/3/$omac?u=$ou"			# MAC of link 4 under number 3
	"/c/$tok2/3/$mac?u=$u"			# another token
	"/c/${tok:0:35}$tflip/3/$mac?u=$u"	# mangled token
	"/c/${tok,,}/3/$mac?u=$u"		# token in lower case
	"/c/$tok/3/${mac:0:13}$mflip?u=$u"	# mangled MAC
	"/c/$tok/3/$mac=?u=$u"			# padded MAC
	"/c/$tok/3/$mac?u=$u="			# padded target
	"/c/$tok/3/$mac?u=$nc_u"		# non-canonical base64 target
	"/c/$tok/3/$mac?u=$crlf"		# CRLF in the target
	"/c/$tok/03/$mac?u=$u"			# leading zero
	"/c/$tok/+3/$mac?u=$u"			# sign
	"/c/$tok/3.0/$mac?u=$u"			# not an integer
	"/c/$tok/4294967299/$mac?u=$u"		# 2^32 + 3
	"/c/$tok/3/$mac/?u=$u"			# trailing slash
	"/c/$tok/3/$mac/x?u=$u"			# extra segment
	"/c//$tok/3/$mac?u=$u"			# empty segment
	"/c/$tok/3?u=$u"			# no MAC
	"/c/$tok/3/$mac"			# no target
	"/c/$tok/3/$mac?u="			# empty target
	"/c/$tok/3/$mac?target=$u"		# target under another name
	"/o/$tok/3/$mac?u=$u"			# click under the open path
	"/C/$tok/3/$mac?u=$u"			# upper-case endpoint
)
for a in "${tampered[@]}"; do
	curl -s -D "$T_DIR/h" -o /dev/null --max-time 10 "$PX_URL$a" || t_fail "4: GET $a"
	status=$(head -n 1 "$T_DIR/h" | tr -d '\r')
	case $a in
	/o/*) want="HTTP/1.1 200 OK" ;;		# the open path always answers the GIF
	*) want="HTTP/1.1 404 Not Found" ;;
	esac
	[ "$status" = "$want" ] || t_fail "4: $a: '$status', expected '$want'"
	grep -qi '^Location:' "$T_DIR/h" && t_fail "4: $a: a Location header"
done
t_ok "4: ${#tampered[@]} tampered click URLs: 404 (or the GIF), never a Location"
same=(
	"$click"				# the signed URL itself
	"/c/$tok/3/$mac?u=$u&u=$evil"		# the signed target first, a forged one after
	"/c/$tok/3/$mac?u=$evil&u=$u"		# a forged target first, the signed one after
	"/c/$tok/%33/$mac?u=$u"			# link number percent-encoded
	"/c/$tok/3/$mac?x=1&u=$u"		# another parameter before it
)
for a in "${same[@]}"; do
	curl -s -D "$T_DIR/h" -o /dev/null --max-time 10 -H 'Host: evil.example.net' "$PX_URL$a" ||
		t_fail "4: GET $a"
	loc=$(grep -i '^Location:' "$T_DIR/h" | cut -d' ' -f2- | tr -d '\r' || true)
	[ -z "$loc" ] || [ "$loc" = "$target" ] || t_fail "4: $a redirects to '$loc'"
done
t_ok "4: equivalent spellings redirect only to the signed target, whatever the Host"
t_eq 0 "$(px_rows "kind = 'click' AND link_n <> 3")" "4: clicks stored for a link number never signed"

# --- 5. the database password file ------------------------------------------------------
BAD=()
# bad WHAT - note a failure of part 5
bad() { printf 'FAIL (part 5): %s\n' "$*" >&2; BAD+=("$*"); }

printf 'not-the-password\n' >"$T_DIR/open.pw"
chmod 0644 "$T_DIR/open.pw"
for d in milter pixelsrv; do
	if [ $d = milter ]; then conf=$BC_MCONF; bin=$MILTER; else conf=$T_DIR/beacon.conf; bin=$PIXELSRV; fi
	{ cat "$conf"; printf 'password_file = %s\n' "$T_DIR/open.pw"; } >"$T_DIR/pw.conf"
	sed -i "s|^listen = .*|listen = 127.0.0.1:$(t_free_port)|; s|^socket = .*|socket = unix:$T_DIR/pw.sock|;
		s|^spool_dir = .*|spool_dir = $T_DIR/pw-spool-$d|; s|^pidfile = .*|pidfile = $T_DIR/pw.pid|" "$T_DIR/pw.conf"
	rc=0
	timeout -k 1 4 "$bin" -f -c "$T_DIR/pw.conf" >"$T_DIR/pw.out" 2>&1 || rc=$?
	if [ "$rc" = 78 ] && grep -q "password file is accessible by group or others" "$T_DIR/pw.out"; then
		t_ok "5: $d refuses a 0644 password_file (78)"
	else
		bad "$d with a 0644 password_file: exit status $rc (124 or 137: still running after 4 s), expected 78 and 'password file is accessible by group or others'; it said: $(head -c 300 "$T_DIR/pw.out" | tr '\n' ' ')"
	fi
done

# a root-only password file (trust authentication: the password itself is not checked)
printf 'secret\n' >"$T_DIR/root.pw"
chmod 0600 "$T_DIR/root.pw"
t_kill_pid "$BC_MPID" TERM 15
printf 'password_file = %s\n' "$T_DIR/root.pw" >>"$BC_MCONF"
bc_milter_start
PF_MILTER=unix:$BC_MSOCK pf_start
bc_send 1 p -c 1 >"$T_DIR/send.p"
pf_wait_delivered 1 20 || t_fail "5: the message was not delivered"
if t_wait_until "[ \"\$(pg_query \"SELECT count(*) FROM beacon.recipients WHERE address = 'p0@remote.example'\")\" = 1 ]" 10; then
	t_ok "5: milter with a root-only password_file stores its rows"
	MSESSIONS=$(pg_query "SELECT string_agg(DISTINCT usename || ':' || split_part(application_name, ' ', 1), ' ')
		FROM pg_stat_activity WHERE application_name LIKE 'beacon-milter%'")
else
	bad "milter with a root-only (0600) password_file: no row after 10 s; its log: $(grep -m1 'password' "$BC_MLOG" || true)"
fi

px_stop
printf 'password_file = %s\n' "$T_DIR/root.pw" >>"$T_DIR/beacon.conf"
px_start
read -r t1 u1 < <(px_mint_pair)
t_eq 200 "$(px_get "/o/$t1.gif")" "5: pixelsrv with a root-only password_file answers"
t_wait_until "[ \"\$(px_rows \"token_id = '$u1'\")\" = 1 ]" 10 || t_fail "5: first open not written"
pg_restart
read -r t2 u2 < <(px_mint_pair)
t_eq 200 "$(px_get "/o/$t2.gif")" "5: open after a database restart answered"
if t_wait_until "[ \"\$(px_rows \"token_id = '$u2'\" 2>/dev/null)\" = 1 ]" 15; then
	t_ok "5: pixelsrv reconnects after a database restart with a root-only password_file"
else
	bad "pixelsrv with a root-only (0600) password_file does not reconnect after a database restart; its log: $(grep -m1 'password' "$T_DIR/pixelsrv.log" || true)"
fi
SESSIONS=$(pg_query "SELECT string_agg(DISTINCT usename || ':' || split_part(application_name, ' ', 1), ' ')
	FROM pg_stat_activity WHERE application_name LIKE 'beacon-%'")
px_stop
t_kill_pid "$BC_MPID" TERM 15
bc_no_sanitizer "$BC_MLOG"
bc_no_sanitizer "$T_DIR/pixelsrv.log"
[ ${#BAD[@]} = 0 ] || t_fail "part 5: ${#BAD[@]} failure(s): $(printf '%s; ' "${BAD[@]}")"

# --- 6. the daemons' database roles ----------------------------------------------------
t_eq "t_milter:beacon-milter t_pixelsrv:beacon-pixelsrv" "${MSESSIONS:-} $SESSIONS" \
	"6: each daemon's sessions run as its own role"
for log in "$BC_MLOG" "$T_DIR/pixelsrv.log"; do
	if grep -Ei 'permission denied|cannot check for events' "$log"; then
		t_fail "6: a statement was refused to the daemon's role ($log)"
	fi
done
t_ok "6: neither daemon had a statement refused"
t_eq "1 1" "$(pg_query "SELECT count(*) FROM beacon.recipients WHERE address = 'p0@remote.example'") $(px_rows "token_id = '$u2'")" \
	"6: the milter's rows and pixelsrv's events landed under their roles"
for sql in 'SELECT address FROM beacon.recipients' 'SELECT sender FROM beacon.messages' \
	'DROP TABLE beacon.events' 'ALTER TABLE beacon.events DROP COLUMN city'; do
	t_run "$PG_BIN/psql" -X -q -U t_pixelsrv -c "$sql"
	case "$RC $ERR" in
	"1 "*'permission denied'* | "1 "*'must be owner'*) t_ok "6: as pixelsrv's role, refused: $sql" ;;
	*) t_fail "6: as pixelsrv's role, $sql: exit $RC, $ERR" ;;
	esac
done
t_ok "60_privileges"
