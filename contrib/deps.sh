#!/bin/sh
# deps.sh - install, idempotently, the Debian packages Beacon's build,
# demo, tests, benchmarks and packaging need.  Runs `apt-get update` once
# and installs only what is missing.  As non-root it prints the command to
# run instead.
#
#	deps.sh		build, demo, tests, benchmarks (make deps)
#	deps.sh deb	the build and the packaging tools only (make deb)
#	deps.sh fresh	everything, and mmdebstrap (make check-fresh)
#
# Packages are installed without starting their services (PostgreSQL's
# main cluster, nginx, haproxy, opendkim): Beacon's demo and tests start their own
# servers on loopback ports and use none of the system's.  Debian still
# enables those services for the next boot, as it does for any install.
set -eu

BUILD_PKGS="build-essential pkg-config
libmilter-dev libgmime-3.0-dev libpq-dev libmaxminddb-dev libmicrohttpd-dev
libsodium-dev libinih-dev libyaml-dev libpcre2-dev libidn2-dev libcurl4-openssl-dev"
TEST_PKGS="clang libclang-rt-14-dev uap-core libcmocka-dev
postgresql postgresql-client postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
postfix swaks miltertest libmaxmind-db-writer-perl
curl wrk nginx-light haproxy mandoc man-db opendkim opendkim-tools valgrind linux-perf
python3 perl procps iproute2 util-linux bsdutils debconf
libjs-chart.js chromium python3-websocket fonts-dejavu-core jq
m4 liblockfile1 libwrap0 libdb5.3 libldap-2.5-0 libnsl2 libsasl2-2 libssl3"
DEB_PKGS="debhelper dpkg-dev fakeroot lintian"

case "${1:-}" in
"")	PKGS="$BUILD_PKGS $TEST_PKGS" ;;
deb)	PKGS="$BUILD_PKGS $DEB_PKGS" ;;
fresh)	PKGS="$BUILD_PKGS $TEST_PKGS $DEB_PKGS mmdebstrap" ;;
*)	echo "usage: deps.sh [deb|fresh]" >&2; exit 64 ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: every package is installed"
	exit 0
fi
case " $missing " in
*" postfix "*) preseed=1 ;;
*) preseed= ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root:" >&2
	[ -n "$preseed" ] &&
		echo "  echo 'postfix postfix/main_mailer_type select No configuration' | sudo debconf-set-selections" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
# Postfix must not configure or start a system mail service.
[ -n "$preseed" ] &&
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
# No service starts while installing: a policy-rc.d for the duration,
# unless the admin already has one.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	trap 'rm -f "$policy"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	printf '#!/bin/sh\n# written by Beacon'"'"'s contrib/deps.sh while it installs packages\nexit 101\n' >"$policy"
	chmod 755 "$policy"
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
