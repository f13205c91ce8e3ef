#!/bin/bash
# NAME
#	run.sh - the README's quick start and the Debian package, each on a
#	fresh Debian 12 root (make check-fresh; .ci/run runs it)
#
# SYNOPSIS
#	tests/fresh/run.sh [quickstart] [deb]	(both when none is named)
#
# DESCRIPTION
#	A minimal Debian 12 root is made once with mmdebstrap from this
#	machine's own apt sources (only git, make and ca-certificates added,
#	as a new user's machine would have), then copied for each part:
#
#	quickstart	the checkout is cloned into the root (uncommitted
#			changes of tracked and new files copied over the clone,
#			so a developer tests what they are about to commit), and
#			`make demo` then `make check` run there as root, one
#			invocation each, exactly as the README says.  FRESH_CHECK=0
#			runs only `make demo`; FRESH_T=PATTERN runs only the
#			tests whose name contains PATTERN (make check T=).  When
#			make check fails, its test logs are copied to
#			build/fresh/quickstart-test-logs/.
#	deb		with Postfix installed first, build/deb/beacon_VERSION_amd64.deb
#			(make deb) is installed with `apt-get install ./beacon_*.deb`,
#			apt resolving its dependencies; postinst made the user, the
#			directories (the socket's in Postfix's chroot too) and a
#			0600 key; the shipped configuration passes `beacon-milter -n`,
#			`beacon-pixelsrv -n`, `beacon-notify -n` and `beacon-web -n`,
#			`beaconctl --version` runs, beacon-web's pages and Chart.js are there,
#			`systemd-analyze verify` accepts the units; a reinstall
#			keeps the admin's edit of beacon.conf and the key; `dpkg -r`
#			removes the programs and keeps the configuration, `dpkg -P`
#			removes the configuration and the key and keeps the admin's
#			spooled data; installing again (the user exists) works.
#
#	The parts run at the same time, each in its own copy of the root.
#	Everything runs in private mount and PID namespaces: /proc, /sys and
#	/dev are bound into the roots there, so the mounts vanish with them
#	and every process the roots started is killed with them, even if
#	this script is killed.  The roots are removed at exit
#	(rm --one-file-system), whatever happened; a work dir left by a run
#	killed with SIGKILL is swept by the next run (its lock is free).
#	Each command in a root has a time limit (FRESH_TIMEOUT, 2400 s).  A
#	policy-rc.d in each root keeps the packages apt installs (PostgreSQL,
#	Postfix, nginx) from starting system services.  Logs: build/fresh/*.log.
#	Space: about 4 GB under FRESH_DIR while it runs.
#
#	Needs root and mmdebstrap (make check-fresh installs it).
#	KEEP=1 keeps the roots under $FRESH_DIR (default /var/tmp) for a look;
#	FRESH_DEB=FILE tests another .deb than build/deb's.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(quickstart deb)
logs=$src/build/fresh
mkdir -p "$logs"

fail() {
	printf 'FAIL: fresh: %s\n' "$*" >&2
	exit 1
}
ok() {
	printf 'ok - %s\n' "$*"
}
[ "$(id -u)" = 0 ] || fail "needs root (chroot, mounts, apt in the roots)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (contrib/deps.sh fresh installs it)"

# Re-run inside private mount and PID namespaces: every mount made below
# and every process started in a root die with them.
if [ -z "${FRESH_IN_NS:-}" ]; then
	FRESH_IN_NS=1 exec unshare --mount --propagation private --pid --fork \
		--kill-child --mount-proc "$0" "${parts[@]}"
fi

top=${FRESH_DIR:-/var/tmp}
# sweep the work dirs of runs that were killed: nobody holds their lock
for old in "$top"/beacon-fresh.*; do
	[ -f "$old/.lock" ] || continue
	if flock -n "$old/.lock" true; then
		echo "removing $old, left by a killed run" >&2
		rm -rf --one-file-system "$old"
	fi
done
work=$(mktemp -d "$top/beacon-fresh.XXXXXX")
# .lock appears only once held, so a sweep never takes a starting run's dir
exec 9>"$work/.lock.new"
flock -n 9 || fail "cannot lock $work/.lock.new"
mv "$work/.lock.new" "$work/.lock"

# cleanup - unmount what is mounted under the work dir, then remove it
# without ever crossing into another file system
cleanup() {
	local rc=$? m
	set +e
	findmnt -rn -o TARGET | grep -F "$work/" | sort -r |
		while IFS= read -r m; do
			umount -l "$(printf '%b' "$m")" 2>/dev/null
		done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $work" >&2
	else
		rm -rf --one-file-system "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# in_root ROOT CMD - run CMD (a shell command) as root inside ROOT, with a
# clean environment (but the machine's proxy settings) and a time limit
in_root() {
	local root=$1 v proxy=()
	shift
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		[ -n "${!v:-}" ] && proxy+=("$v=${!v}")
	done
	timeout --kill-after=30 "${FRESH_TIMEOUT:-2400}" \
		chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		"${proxy[@]}" /bin/sh -c "$*"
}

# new_root NAME - a copy of the base root with /proc, /sys and /dev bound
new_root() {
	local root=$work/$1 d
	cp -a "$work/base" "$root"
	# the root is a mount point, as / is on a real machine (unshare
	# --propagation, used by the tests, needs it)
	mount --bind "$root" "$root"
	for d in proc sys dev; do
		mount --rbind "/$d" "$root/$d"
		mount --make-rslave "$root/$d"
	done
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	printf '#!/bin/sh\n# fresh test: no service starts inside this root\nexit 101\n' \
		>"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	printf '%s\n' "$root"
}

# timed LOG CMD... - run CMD with its output in LOG; print the seconds
timed() {
	local log=$1 start rc
	shift
	start=$SECONDS
	"$@" >"$log" 2>&1 && rc=0 || rc=$?
	printf '%s' $((SECONDS - start))
	return $rc
}

# the base root: what `mmdebstrap --variant=minbase` makes, plus git and make
sources=/etc/apt/sources.list.d/debian.sources
[ -r "$sources" ] || sources=/etc/apt/sources.list
# (force-unsafe-io: dpkg skips its fsyncs in this throwaway root, as in
# Debian's container images; nothing else differs from a fresh install)
secs=$(timed "$logs/mmdebstrap.log" mmdebstrap --variant=minbase --dpkgopt=force-unsafe-io \
	--include=git,make,ca-certificates bookworm "$work/base" "$sources") ||
	{ tail -n 20 "$logs/mmdebstrap.log" >&2; fail "mmdebstrap failed (log $logs/mmdebstrap.log)"; }
ok "fresh Debian 12 root made by mmdebstrap in ${secs}s"

# failed_tests LOG - what tests/run.sh printed for each failing test (the
# end of its log), at most 80 lines each: the roots and their logs are
# gone when the run ends, and the summary's tail names the tests only
failed_tests() {
	awk '/^FAIL  /{on=1; n=0} /^PASS  /{on=0} on && n++ < 80' "$1"
}

# quickstart: make demo, then make check, in a root that has only git and make
quickstart() {
	local root tree
	root=$(new_root quickstart)
	tree=$root/root/beacon
	git clone -q --no-hardlinks "$src" "$tree"
	if [ -n "$(git -C "$src" status --porcelain --untracked-files=normal)" ]; then
		echo "note: the working tree has uncommitted changes: testing them" >&2
		(cd "$src" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			tar --null -T - -cf -) | tar -C "$tree" -xf -
	fi
	if in_root "$root" 'command -v gcc || command -v pkg-config || command -v postconf' >/dev/null; then
		fail "the fresh root already has build tools or Postfix: it is not fresh"
	fi

	secs=$(timed "$logs/quickstart-demo.log" in_root "$root" 'cd /root/beacon && make demo') ||
		{ tail -n 30 "$logs/quickstart-demo.log" >&2; fail "make demo failed on a fresh root after ${secs}s (log $logs/quickstart-demo.log)"; }
	grep -q 'Demo done' "$logs/quickstart-demo.log" ||
		fail "make demo exited 0 but did not say 'Demo done' (log $logs/quickstart-demo.log)"
	ok "make demo passed on the fresh root in one invocation (${secs}s, packages included)"

	[ "${FRESH_CHECK:-1}" = 1 ] || return 0
	secs=$(timed "$logs/quickstart-check.log" in_root "$root" "cd /root/beacon && make check${FRESH_T:+ T=$(printf %q "$FRESH_T")}") ||
		{ failed_tests "$logs/quickstart-check.log" >&2; tail -n 12 "$logs/quickstart-check.log" >&2
		  rm -rf "$logs/quickstart-test-logs"; cp -r "$tree/build/asan/test-logs" "$logs/quickstart-test-logs" 2>/dev/null || true
		  fail "make check failed on the fresh root after ${secs}s (log $logs/quickstart-check.log)"; }
	grep -Eq '^== [0-9]+ passed, 0 failed' "$logs/quickstart-check.log" ||
		fail "make check exited 0 without its summary line (log $logs/quickstart-check.log)"
	ok "make check passed on the fresh root in one invocation (${secs}s): $(grep -E '^== [0-9]+ passed' "$logs/quickstart-check.log")"
}

# deb: apt installs the package and its dependencies; remove and purge
deb() {
	local root deb version log=$logs/deb.log
	deb=${FRESH_DEB:-$(ls "$src"/build/deb/beacon_*_amd64.deb 2>/dev/null | head -n 1)}
	[ -n "$deb" ] && [ -r "$deb" ] || fail "no build/deb/beacon_*_amd64.deb: run make deb first"
	version=$(dpkg-deb -f "$deb" Version)
	root=$(new_root deb)
	cp "$deb" "$root/root/"
	: >"$log"
	run() {	# run CMD in the root, its output in the log
		echo "# $*" >>"$log"
		in_root "$root" "$*" >>"$log" 2>&1
	}
	# Postfix first, as on a mail server: postinst makes the socket directory
	run "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections &&
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix" ||
		{ tail -n 30 "$log" >&2; fail "cannot install postfix in the root (log $log)"; }
	run "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/${deb##*/}" ||
		{ tail -n 30 "$log" >&2; fail "apt-get install ./${deb##*/} failed (log $log)"; }
	run "dpkg-query -W -f='\${Status} \${Version}' beacon | grep -qx 'install ok installed $version'" ||
		fail "beacon $version is not installed after apt-get install"
	ok "apt-get install ./${deb##*/} installed beacon $version and its dependencies"

	run 'id beacon && [ -d /var/spool/beacon ] && [ "$(stat -c %U /var/spool/beacon)" = beacon ]' ||
		fail "postinst did not create the beacon user and its spool directory"
	run '[ "$(stat -c %a:%U /etc/beacon/secret)" = 600:root ] && grep -Eqx "1 [0-9a-f]{64}" /etc/beacon/secret' ||
		fail "postinst did not write a 0600 token key to /etc/beacon/secret"
	run '[ "$(stat -c %U:%G:%a /var/spool/postfix/beacon)" = beacon:postfix:750 ]' ||
		fail "postinst did not make /var/spool/postfix/beacon (beacon:postfix 0750)"
	ok "postinst made the beacon user, /var/spool/beacon, the socket directory and a 0600 token key"

	run 'beacon-milter -n >/dev/null' || fail "beacon-milter -n refuses the shipped /etc/beacon/beacon.conf (log $log)"
	run 'beacon-pixelsrv -n >/dev/null' || fail "beacon-pixelsrv -n refuses the shipped /etc/beacon/beacon.conf (log $log)"
	run 'beacon-notify -n >/dev/null' || fail "beacon-notify -n refuses the shipped /etc/beacon/beacon.conf (log $log)"
	run 'beacon-web -n >/dev/null' || fail "beacon-web -n refuses the shipped /etc/beacon/beacon.conf (log $log)"
	run '[ -r /usr/share/beacon/web/beacon.css ] && [ -r /usr/share/beacon/web/live.js ] &&
		[ -r /usr/share/javascript/chart.js/chart.min.js ]' ||
		fail "beacon-web's static files or Debian's Chart.js are missing"
	run 'beacon-pixelsrv -n | grep -qx "mail_clients = /usr/share/beacon/mail-clients.yaml"' ||
		fail "the shipped configuration does not name the packaged mail-client rules"
	run '[ -r /usr/share/beacon/mail-clients.yaml ] && [ -r /usr/share/uap-core/regexes.yaml ]' ||
		fail "the rule files the shipped configuration names are missing"
	ok "beacon-milter -n, beacon-pixelsrv -n, beacon-notify -n and beacon-web -n accept the shipped configuration"
	run "beaconctl --version | grep -q '${version%%-*}'" || fail "beaconctl --version failed (log $log)"
	ok "beaconctl --version: $(in_root "$root" 'beaconctl --version' 2>&1 | head -n 1)"
	run 'ls /usr/share/beacon/sql/schema/*.sql >/dev/null && ls /usr/share/beacon/sql/reports/*.sql >/dev/null' ||
		fail "the SQL migrations or reports are not installed"
	run 'for p in beacon-milter.8 beacon-pixelsrv.8 beacon-notify.8 beacon-web.8 beaconctl.8 beacon.conf.5 beacon-reports.7; do
		f=$(ls /usr/share/man/man*/$p.gz) || exit 1; done' || fail "a manual page is missing"

	# systemd is not part of the fresh root: add it to verify the units
	run "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd" ||
		fail "cannot install systemd in the root to verify the units (log $log)"
	run 'SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no /lib/systemd/system/beacon-milter.service /lib/systemd/system/beacon-pixelsrv.service /lib/systemd/system/beacon-notify.service /lib/systemd/system/beacon-web.service' ||
		{ tail -n 20 "$log" >&2; fail "systemd-analyze verify refuses the units (log $log)"; }
	ok "systemd-analyze verify accepts the units of beacon-milter, beacon-pixelsrv, beacon-notify and beacon-web"

	# a reinstall keeps the admin's edit and the key
	run 'sed -i "s|^base_url = .*|base_url = https://edited.example|" /etc/beacon/beacon.conf &&
		md5sum /etc/beacon/secret >/root/secret.md5' || fail "cannot edit beacon.conf"
	run "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall /root/${deb##*/}" ||
		{ tail -n 30 "$log" >&2; fail "the reinstall failed (log $log)"; }
	run 'grep -qx "base_url = https://edited.example" /etc/beacon/beacon.conf && md5sum -c --quiet /root/secret.md5' ||
		fail "a reinstall lost the admin's edit of beacon.conf or changed the key"
	ok "a reinstall kept the edited beacon.conf and the key"

	# the admin's data: an event spooled while the database was down
	run 'install -d -o beacon -g beacon /var/spool/beacon/pixelsrv && echo data >/var/spool/beacon/pixelsrv/admin-data' ||
		fail "cannot write a spool file"
	run 'dpkg -r beacon' || fail "dpkg -r beacon failed (log $log)"
	run '! [ -e /usr/sbin/beacon-milter ] && ! [ -e /usr/sbin/beaconctl ] && ! [ -e /usr/share/beacon ] && ! [ -e /lib/systemd/system/beacon-milter.service ]' ||
		fail "dpkg -r left programs, data files or units behind"
	run '[ -e /etc/beacon/beacon.conf ] && [ -e /etc/beacon/secret ]' ||
		fail "dpkg -r removed the configuration (only a purge may)"
	ok "dpkg -r removed the programs and kept the configuration"
	run 'dpkg -P beacon' || fail "dpkg -P beacon failed (log $log)"
	run '! [ -e /etc/beacon ] && ! dpkg-query -W beacon 2>/dev/null | grep -q .' ||
		fail "dpkg -P left /etc/beacon or the package's record behind"
	run '[ "$(cat /var/spool/beacon/pixelsrv/admin-data)" = data ]' ||
		fail "dpkg -P removed the admin's spooled data"
	ok "dpkg -P removed the configuration and the key, kept the spooled data"

	# installed again after a purge: the beacon user is already there
	run "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/${deb##*/} && beacon-milter -n >/dev/null &&
		[ -s /etc/beacon/secret ] && ! md5sum -c --quiet /root/secret.md5 2>/dev/null" ||
		{ tail -n 30 "$log" >&2; fail "installing again after a purge failed, or kept the old key (log $log)"; }
	run 'dpkg -P beacon' || fail "the second dpkg -P failed (log $log)"
	ok "installed again after the purge (existing user, new key), and purged"
}

# The parts run side by side (the package's part is mostly apt and dpkg
# waiting on the mirror and the disk); each prints its own lines.
pids=()
for p in "${parts[@]}"; do
	case "$p" in
	quickstart | deb) ;;
	*) fail "unknown part '$p' (quickstart, deb)" ;;
	esac
	"$p" &
	pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do
	wait "$pid" || rc=1
done
[ $rc -eq 0 ] || fail "a part failed (above)"
echo "== fresh: ${parts[*]} passed"
