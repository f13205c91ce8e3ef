#!/bin/bash
# NAME
#	70_make_install.sh - make install into a staging root, and the installed
#	programs running from where it put them, with nothing of the source tree
#
# DESCRIPTION
#	1. `make install` with PREFIX=/opt/beacon, SYSCONFDIR=/opt/beacon/etc,
#	   UNITDIR=/opt/beacon/lib/systemd/system and DESTDIR=$T_DIR/stage
#	   (its own BUILD directory in $T_DIR, no sanitizers) installs the
#	   five programs, beacon-web's static files, every manual page,
#	   every sql/schema, sql/reports and sql/citus file,
#	   mail-clients.yaml, the postfix, sendmail, nginx and haproxy
#	   examples, the systemd units and etc/beacon.conf;
#	   no installed text file names /usr/local or the source tree, every
#	   /opt/beacon/share/beacon path the installed files name exists, and
#	   the units start the installed programs on the installed config.
#	2. In a private mount namespace (nothing on the host changes) a tmpfs
#	   on /opt holds /opt/beacon bound to the stage, and empty tmpfs hide
#	   the source tree and /usr/local.  The installed beacon.conf, edited
#	   as an admin would (base_url, secret, sockets, spools, users, GeoIP,
#	   conninfo, reinject port; mail_clients as installed), is the
#	   programs' compiled-in default: beaconctl init applies the
#	   installed migrations (from /opt/beacon/share/beacon/sql), the
#	   -n dumps show the edits, beacon-pixelsrv and beacon-milter run
#	   from /opt/beacon/sbin with no -c and no environment; a tagged
#	   message through a private Postfix gets one token per recipient,
#	   an open of one of them is stored with the mail client and the
#	   place, beaconctl reports and history read it back, and both
#	   daemons stop on SIGTERM with status 0 and no warning logged.
#	   Outside the namespace the installed beaconctl finds no SQL.
#	3. Every installed manual page renders with man -l (MANWIDTH=80,
#	   groff warnings on) and passes mandoc -T lint, with nothing on
#	   stderr.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "mount namespace, Postfix"
case "$T_DIR/" in
"$BEACON_SRC"/*) t_fail "T_DIR $T_DIR is inside the source tree: set TMPDIR elsewhere" ;;
esac

PREFIX=/opt/beacon
STAGE=$T_DIR/stage
ROOT=$STAGE$PREFIX
DATA=$PREFIX/share/beacon
CONF=$ROOT/etc/beacon.conf

# === 1. make install into the stage ==========================================
# (none of an enclosing make's MAKEFLAGS, e.g. make check SANITIZER=...)
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	make -C "$BEACON_SRC" -j"$(nproc)" BUILD="$T_DIR/build" SANITIZER= PREFIX="$PREFIX" \
	SYSCONFDIR="$PREFIX/etc" UNITDIR="$PREFIX/lib/systemd/system" \
	DESTDIR="$STAGE" install >"$T_DIR/make.log" 2>&1 ||
	{ tail -n 40 "$T_DIR/make.log" >&2; t_fail "make install failed"; }
t_ok "make install into $STAGE"

for p in beacon-milter beacon-pixelsrv beacon-notify beaconctl beacon-web; do
	[ -f "$ROOT/sbin/$p" ] && [ -x "$ROOT/sbin/$p" ] || t_fail "no executable sbin/$p"
done
t_ok "the five programs in $PREFIX/sbin"

# installed as: "source stage-path" (identical copies)
same() {
	[ -f "$2" ] || t_fail "$1 not installed as ${2#"$STAGE"}"
	cmp -s "$1" "$2" || t_fail "${2#"$STAGE"} differs from $1"
}
n=0
for f in "$BEACON_SRC"/sql/schema/*.sql; do
	same "$f" "$ROOT/share/beacon/sql/schema/${f##*/}"; n=$((n + 1))
done
[ "$n" -gt 0 ] || t_fail "no sql/schema files in the source tree"
t_eq "$n" "$(find "$ROOT/share/beacon/sql/schema" -name '*.sql' | wc -l)" "installed migrations"
# beacon-web's static_dir by default (beacon-web -n refuses a missing one)
n=0
for f in "$BEACON_SRC"/web/static/*; do
	same "$f" "$ROOT/share/beacon/web/${f##*/}"; n=$((n + 1))
done
[ "$n" -gt 0 ] || t_fail "no web/static files in the source tree"
t_ok "$n web/static files in $DATA/web, beacon-web's default static_dir"
n=0
for f in "$BEACON_SRC"/sql/reports/*.sql "$BEACON_SRC"/sql/reports/*.psql; do
	same "$f" "$ROOT/share/beacon/sql/reports/${f##*/}"; n=$((n + 1))
done
t_eq "$n" "$(find "$ROOT/share/beacon/sql/reports" -type f | wc -l)" "installed report files"
same "$BEACON_SRC/sql/citus/001_distribute.sql" "$ROOT/share/beacon/sql/citus/001_distribute.sql"
same "$BEACON_SRC/pixelsrv/mail-clients.yaml" "$ROOT/share/beacon/mail-clients.yaml"
for d in postfix sendmail nginx haproxy; do
	[ -d "$ROOT/share/beacon/contrib/$d" ] || t_fail "no share/beacon/contrib/$d"
	diff -r "$BEACON_SRC/contrib/$d" "$ROOT/share/beacon/contrib/$d" >&2 ||
		t_fail "share/beacon/contrib/$d differs from contrib/$d"
done
t_ok "mail-clients.yaml and contrib/{postfix,sendmail,nginx,haproxy} in $DATA"

NMAN=0
for m in "$BEACON_SRC"/man/*.[578]; do
	f=$ROOT/share/man/man${m##*.}/${m##*/}
	[ -s "$f" ] || t_fail "man page ${m##*/} not installed as ${f#"$STAGE"}"
	NMAN=$((NMAN + 1))
done
[ "$NMAN" -ge 5 ] || t_fail "only $NMAN man pages in the source tree"
for s in 5 7 8; do
	[ -n "$(ls "$ROOT/share/man/man$s")" ] || t_fail "share/man/man$s is empty"
done
t_ok "$NMAN man pages in share/man/man5, man7, man8"

for u in "$BEACON_SRC"/contrib/systemd/*.service; do
	[ -s "$ROOT/lib/systemd/system/${u##*/}" ] || t_fail "unit ${u##*/} not installed"
done
for u in beacon-milter beacon-pixelsrv beacon-notify; do
	f=$ROOT/lib/systemd/system/$u.service
	[ -s "$f" ] || t_fail "no $u.service"
	t_eq "$PREFIX/sbin/$u -c $PREFIX/etc/beacon.conf" \
		"$(sed -n 's/^ExecStart=//p' "$f")" "$u.service ExecStart"
done
[ -s "$CONF" ] || t_fail "no etc/beacon.conf"
t_eq 644 "$(stat -c %a "$CONF")" "etc/beacon.conf mode"
t_eq "$DATA/mail-clients.yaml" "$(sed -n 's/^mail_clients = //p' "$CONF")" \
	"installed config's mail_clients"

# no installed text file names /usr/local or the source tree
bad=$(grep -rIl -e /usr/local -e "$BEACON_SRC" "$STAGE" || true)
[ -z "$bad" ] || { grep -rIn -e /usr/local -e "$BEACON_SRC" "$STAGE" >&2 || true
	t_fail "installed files name /usr/local or the source tree: ${bad//$'\n'/ }"; }
t_ok "no installed text file names /usr/local or $BEACON_SRC"
# nor do the programs carry the default prefix's paths
for p in "$ROOT"/sbin/*; do
	if grep -aq -e /usr/local/share/beacon -e /usr/local/sbin -e /etc/beacon/beacon.conf "$p"; then
		t_fail "${p##*/} has a compiled-in /usr/local or /etc/beacon/beacon.conf path"
	fi
done
t_ok "no compiled-in /usr/local or /etc/beacon/beacon.conf path in the programs"
# the compiled-in defaults of path keys follow the install paths, as the
# installed beacon.conf(5) says they do
keys=$("$ROOT/sbin/beacon-milter" -k)
t_eq "$PREFIX/etc/secret" "$(printf '%s\n' "$keys" | awk -F'\t' '$2 == "secret_file" { print $4 }')" \
	"installed beacon-milter -k: secret_file default"
t_eq "$DATA/mail-clients.yaml" "$(printf '%s\n' "$keys" | awk -F'\t' '$2 == "mail_clients" { print $4 }')" \
	"installed beacon-milter -k: mail_clients default"
grep -q "secret_file Pq string, default Ql $PREFIX/etc/secret\$" "$STAGE$PREFIX/share/man/man5/beacon.conf.5" ||
	t_fail "the installed beacon.conf(5) does not give $PREFIX/etc/secret as secret_file's default"
# every data path the installed files name is installed
n=0
while read -r p; do
	p=${p%.}
	[ -e "$STAGE$p" ] || t_fail "an installed file names $p, which is not installed"
	n=$((n + 1))
done < <(grep -rIoh "${DATA}[A-Za-z0-9_./-]*" "$STAGE" | sort -u)
[ "$n" -gt 0 ] || t_fail "no installed file names $DATA"
t_ok "the $n paths under $DATA named by the installed files exist"

# === 2. the installed programs, run from /opt/beacon in a private namespace ====
pg_start
px_setup
MDIR=$T_DIR/milter
PXDIR=$T_DIR/px
mkdir -p "$MDIR" "$PXDIR" "$T_DIR/run"	# run: root-owned, as /run/beacon
chown postfix: "$MDIR"
PF_MILTER=unix:$MDIR/milter.sock PF_REINJECT=1 pf_start

# the admin's edits: each must change exactly the key it names
cp "$CONF" "$T_DIR/beacon.conf.installed"
sed -i \
	-e "s|^base_url = .*|base_url = $PX_URL|" \
	-e "s|^secret_file = .*|secret_file = $PX_SECRET|" \
	-e "/^\[milter\]/,/^\[/{
		s|^socket = .*|socket = unix:$MDIR/milter.sock|
		s|^user = .*|user = postfix|
		s|^pidfile = .*|pidfile = $T_DIR/run/milter.pid|
		s|^spool_dir = .*|spool_dir = $MDIR/spool|
		s|^reinject = .*|reinject = inet:$PF_REINJECT_PORT@127.0.0.1|
	}" \
	-e "/^\[pixelsrv\]/,/^\[/{
		s|^listen = .*|listen = 127.0.0.1:$PX_PORT|
		s|^user = .*|user = nobody|
		s|^pidfile = .*|pidfile = $T_DIR/run/pixelsrv.pid|
		s|^spool_dir = .*|spool_dir = $PXDIR/spool|
		s|^geoip_city_db = .*|geoip_city_db = $T_DIR/geo/city.mmdb|
		s|^geoip_asn_db = .*|geoip_asn_db = $T_DIR/geo/asn.mmdb|
	}" \
	-e "/^\[database\]/,/^\[/{
		s|^conninfo = .*|conninfo = $BEACON_CONNINFO|
	}" "$CONF"
t_eq 14 "$(diff "$T_DIR/beacon.conf.installed" "$CONF" | grep -c '^>' || true)" \
	"lines the admin changed in the installed beacon.conf"

# the namespace: its first process holds it (and its mounts) until the exit
# handler kills it; every command runs in it through nsenter, so each daemon
# is this shell's own child and is stopped by PID
opt_before=$(ls -A /opt | tr '\n' ' ')
cat >"$T_DIR/ns.sh" <<EOF
#!/bin/sh
set -e
mount -t tmpfs -o mode=0755,size=1m beacon-opt /opt
mkdir /opt/beacon
mount --bind '$ROOT' /opt/beacon
mount -t tmpfs -o mode=0755,size=1m,ro beacon-nosrc '$BEACON_SRC'
mount -t tmpfs -o mode=0755,size=1m,ro beacon-nolocal /usr/local
echo ready >'$T_DIR/ns.ready'
exec sleep infinity
EOF
(cd / && exec unshare --mount --propagation private sh "$T_DIR/ns.sh") >"$T_DIR/ns.log" 2>&1 </dev/null &
NS_PID=$!
t_on_exit "t_kill_pid $NS_PID TERM 5"
t_wait_until "[ -e '$T_DIR/ns.ready' ] || ! t_pid_alive $NS_PID" 10 && t_pid_alive "$NS_PID" ||
	{ cat "$T_DIR/ns.log" >&2; t_fail "the mount namespace did not come up"; }

# NS CMD... - run CMD in the namespace from /, with an empty environment
# (no BEACON_*, PG* or sanitizer variables) and the holder's root (a chroot
# when make check runs in one); nsenter, env and sh exec, so a
# simple command "${NS[@]}" CMD & leaves $! the PID of CMD itself
NS=(nsenter --target "$NS_PID" --mount --root --wd -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
	LANG=C.UTF-8 sh -c 'cd / && exec "$@"' sh)
ns() { "${NS[@]}" "$@"; }

ns test -x $PREFIX/sbin/beaconctl || t_fail "$PREFIX/sbin/beaconctl not seen in the namespace"
ns test ! -e "$BEACON_SRC/Makefile" || t_fail "the source tree is visible in the namespace"
ns test ! -e /usr/local/share || t_fail "/usr/local is visible in the namespace"
[ ! -e "$BEACON_SRC/Makefile" ] && t_fail "the namespace hid the source tree on the host"
t_ok "namespace: $PREFIX is the stage; the source tree and /usr/local are hidden"

# the installed beaconctl: init from the installed SQL
t_run ns $PREFIX/sbin/beaconctl -d init
[ "$RC" = 0 ] || { printf '%s\n%s\n' "$OUT" "$ERR" >&2; t_fail "beaconctl init exited $RC"; }
grep -qxF "beaconctl: debug: migrations from $DATA/sql/schema" "$T_DIR/err" ||
	{ cat "$T_DIR/err" >&2; t_fail "beaconctl init did not take the migrations from $DATA/sql/schema"; }
t_ok "beaconctl init took the migrations from $DATA/sql/schema"
files=$(cd "$BEACON_SRC/sql/schema" && ls -- [0-9]*_*.sql)
t_eq "$(printf '%s\n' "$files" | sed -E 's/^0*([0-9]+)_(.*)\.sql$/\1 \2/')" \
	"$(pg_query "SELECT version || ' ' || name FROM beacon.schema_migrations ORDER BY version")" \
	"schema_migrations after the installed init"
t_run ns $PREFIX/sbin/beaconctl migrate
t_eq 0 "$RC" "beaconctl migrate again"

# the -n dumps: the installed, edited config is the compiled-in default
dump() { awk -v want="$1" '/^\[/ { sec = substr($0, 2, length($0) - 2); next }
	{ k = $1; sub(/^[^=]*= ?/, ""); if ((sec == "" ? "global" : sec) "." k == want) print }'; }
for p in beacon-milter beacon-pixelsrv beaconctl; do
	t_run ns $PREFIX/sbin/$p -n
	[ "$RC" = 0 ] || { cat "$T_DIR/err" >&2; t_fail "$p -n exited $RC"; }
	for kv in "global.base_url=$PX_URL" "global.secret_file=$PX_SECRET" \
		"milter.socket=unix:$MDIR/milter.sock" "milter.user=postfix" \
		"milter.reinject=inet:$PF_REINJECT_PORT@127.0.0.1" \
		"pixelsrv.listen=127.0.0.1:$PX_PORT" "pixelsrv.user=nobody" \
		"pixelsrv.geoip_city_db=$T_DIR/geo/city.mmdb" \
		"pixelsrv.mail_clients=$DATA/mail-clients.yaml" "database.conninfo=$BEACON_CONNINFO"; do
		[ "$(dump "${kv%%=*}" <"$T_DIR/out")" = "${kv#*=}" ] ||
			t_fail "$p -n: ${kv%%=*} is '$(dump "${kv%%=*}" <"$T_DIR/out")', not '${kv#*=}'"
	done
done
t_ok "-n of the three programs: the edited $PREFIX/etc/beacon.conf, without -c"

# beacon-pixelsrv from /opt/beacon/sbin, default config
PXLOG=$T_DIR/pixelsrv.log
"${NS[@]}" $PREFIX/sbin/beacon-pixelsrv -f >"$PXLOG" 2>&1 &
PX_PID=$!
t_on_exit "t_kill_pid $PX_PID TERM 20"
t_wait_until "grep -q 'listening on' '$PXLOG' || ! t_pid_alive $PX_PID" 20 &&
	t_pid_alive "$PX_PID" && t_port_listening "$PX_PORT" ||
	{ cat "$PXLOG" >&2; t_fail "the installed beacon-pixelsrv did not start"; }
t_eq "$PREFIX/sbin/beacon-pixelsrv" "$(ns readlink "/proc/$PX_PID/exe")" "beacon-pixelsrv's executable"
t_eq "$(id -u nobody)" "$(bc_proc "$PX_PID" Uid)" "beacon-pixelsrv runs as nobody"

# beacon-milter from /opt/beacon/sbin, default config
MLOG=$T_DIR/milter.log
"${NS[@]}" $PREFIX/sbin/beacon-milter -f >"$MLOG" 2>&1 &
MPID=$!
t_on_exit "t_kill_pid $MPID TERM 15"
t_wait_until "grep -q ': listening on ' '$MLOG' || ! t_pid_alive $MPID" 15 &&
	t_pid_alive "$MPID" && [ -S "$MDIR/milter.sock" ] ||
	{ cat "$MLOG" >&2; t_fail "the installed beacon-milter did not start on $MDIR/milter.sock"; }
t_eq "$PREFIX/sbin/beacon-milter" "$(ns readlink "/proc/$MPID/exe")" "beacon-milter's executable"
t_eq "$(id -u postfix)" "$(bc_proc "$MPID" Uid)" "beacon-milter runs as postfix"
for pid in "$PX_PID" "$MPID"; do
	ns cat "/proc/$pid/maps" >"$T_DIR/maps" || t_fail "cannot read the maps of pid $pid"
	grep -qF "$PREFIX/sbin/beacon-" "$T_DIR/maps" || t_fail "pid $pid maps no program of $PREFIX/sbin"
	grep -F "$BEACON_SRC" "$T_DIR/maps" >&2 && t_fail "pid $pid maps a file of the source tree"
done
t_ok "both daemons run from $PREFIX/sbin, nothing of the source tree mapped"

# a tagged message to two recipients through the private Postfix
cat >"$T_DIR/in.eml" <<EOF
From: Sender <sender@sender.example>
To: ann@remote.example, bob@remote.example
Subject: installed
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <install-1@sender.example>
X-Beacon: track; campaign="install"
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 7bit

<html><body><p>Hello</p><p><a href="https://shop.example/x">x</a></p>
<img src="$PX_URL/p.gif" width="1" height="1" alt=""></body></html>
EOF
printf '%s' "$(cat "$T_DIR/in.eml")" >"$T_DIR/in.swaks"
swaks --server "127.0.0.1:$PF_SMTP_PORT" --from sender@sender.example \
	--to ann@remote.example,bob@remote.example --data "@$T_DIR/in.swaks" --silent 2 \
	>"$T_DIR/swaks.out" 2>&1 || { cat "$T_DIR/swaks.out" "$MLOG" >&2; t_fail "swaks: not accepted"; }
pf_wait_delivered 2 20 || { cat "$MLOG" >&2; t_fail "the two copies were not delivered"; }
declare -A tok
for d in $(pf_sink_files); do
	r=$(pf_sink_rcpts "$d")
	tok[$r]=$(pf_sink_message "$d" | python3 -c '
import email, sys
m = email.message_from_bytes(sys.stdin.buffer.read())
for p in m.walk():
    if p.get_content_type() == "text/html":
        sys.stdout.write((p.get_payload(decode=True) or b"").decode("utf-8", "replace"))
' | grep -o "$PX_URL/o/[A-Za-z0-9_-]*\.gif" | sed 's#.*/o/##; s#\.gif$##' | head -n 1)
	[ ${#tok[$r]} = 36 ] || t_fail "no pixel token in the copy to $r"
done
[ "${tok[ann@remote.example]}" != "${tok[bob@remote.example]}" ] ||
	t_fail "ann and bob got the same token"
t_eq "ann@remote.example|tracked|${tok[ann@remote.example]}
bob@remote.example|tracked|${tok[bob@remote.example]}" \
	"$(pg_query "SELECT address || '|' || status || '|' || token FROM beacon.recipients ORDER BY address")" \
	"one token per recipient, stored by the installed milter"

# ann opens it in Apple Mail in Berlin: place from the GeoIP files, client
# from the installed mail-clients.yaml
t_eq 200 "$(px_get "/o/${tok[ann@remote.example]}.gif" -H 'X-Forwarded-For: 198.51.100.20' \
	-H 'User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)')" \
	"GET ann's pixel"
px_wait_rows 1 20 || { cat "$PXLOG" >&2; t_fail "the open was not stored"; }
t_eq "open|ann@remote.example|198.51.100.20|Apple Mail|Berlin|human" \
	"$(pg_query "SELECT e.kind || '|' || r.address || '|' || host(e.ip) || '|' || e.client || '|' ||
		e.city || '|' || e.class FROM beacon.events e JOIN beacon.recipients r USING (token_id)")" \
	"the open stored by the installed beacon-pixelsrv"

# the installed reports and history read it back
t_run ns $PREFIX/sbin/beaconctl report summary -v by=all --csv
[ "$RC" = 0 ] || { printf '%s\n%s\n' "$OUT" "$ERR" >&2; t_fail "beaconctl report summary exited $RC"; }
t_eq "2|1" "$(printf '%s\n' "$OUT" | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
print("%s|%s" % (rows[0]["recipients"], rows[0]["opened"]))')" \
	"installed report summary: recipients|opened"
t_run ns $PREFIX/sbin/beaconctl report nosuchreport
t_eq "beaconctl: report: no report 'nosuchreport' in $DATA/sql/reports (beaconctl report lists them)" \
	"$(head -n 1 "$T_DIR/err")" "beaconctl report looks in $DATA/sql/reports"
t_run ns $PREFIX/sbin/beaconctl history ann@remote.example
[ "$RC" = 0 ] && grep -q 'installed .* open .*human .*Berlin' <<<"$OUT" ||
	{ printf '%s\n%s\n' "$OUT" "$ERR" >&2; t_fail "beaconctl history does not show ann's open"; }
t_ok "beaconctl history shows ann's open"

# both daemons stop on SIGTERM with status 0
for d in "pixelsrv $PX_PID $PXLOG" "milter $MPID $MLOG"; do
	read -r name pid log <<<"$d"
	kill -s TERM "$pid"
	t_wait_until "! t_pid_alive $pid" 30 || { cat "$log" >&2; t_fail "beacon-$name ignored SIGTERM"; }
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { cat "$log" >&2; t_fail "beacon-$name exited $rc on SIGTERM"; }
	if grep -E ': (warning|error|crit|alert|emerg): ' "$log" >&2; then
		t_fail "beacon-$name logged the warnings above"
	fi
	t_ok "beacon-$name stopped on SIGTERM with status 0, no warning logged"
done
grep -q 'stopped: 1 events written, 0 spooled, 0 lost' "$PXLOG" ||
	{ cat "$PXLOG" >&2; t_fail "beacon-pixelsrv's last line is not 'stopped: 1 events written'"; }

# outside the namespace nothing changed, and the installed beaconctl has
# nowhere to take SQL from: it does not fall back on the source tree
t_eq "$opt_before" "$(ls -A /opt | tr '\n' ' ')" "/opt on the host unchanged"
if [ ! -e $PREFIX ]; then
	t_run env -u BEACON_SQLDIR "$ROOT/sbin/beaconctl" -c "$CONF" migrate --status
	t_eq 66 "$RC" "the installed beaconctl outside the namespace: exit"
	grep -qF "in $DATA/sql)" "$T_DIR/err" ||
		{ cat "$T_DIR/err" >&2; t_fail "outside the namespace beaconctl did not look in $DATA/sql"; }
fi

# === 3. the installed manual pages render without a warning ===================
n=0
for f in "$ROOT"/share/man/man[578]/*; do
	set +e
	MANWIDTH=80 MAN_KEEP_STDERR=1 MANROFFOPT=-ww man -l "$f" >"$T_DIR/man.out" 2>"$T_DIR/man.err"
	rc=$?
	set -e
	[ "$rc" = 0 ] && [ ! -s "$T_DIR/man.err" ] && [ -s "$T_DIR/man.out" ] ||
		{ cat "$T_DIR/man.err" >&2; t_fail "man -l ${f#"$STAGE"}: status $rc, warnings above"; }
	out=$(mandoc -T lint -W warning "$f" 2>&1) || true
	[ -z "$out" ] || { printf '%s\n' "$out" >&2; t_fail "mandoc -T lint ${f#"$STAGE"}"; }
	n=$((n + 1))
done
t_eq "$NMAN" "$n" "installed man pages rendered by man -l and mandoc-lint clean"

t_ok "70_make_install"
