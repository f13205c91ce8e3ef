#!/bin/sh
# deps.sh - install, idempotently, every Debian package Beacon's build,
# demo, tests and benchmarks need.  Runs `apt-get update` once and installs
# only what is missing.  As non-root it prints the command to run instead.
#
#	deps.sh		build, demo, tests, benchmarks (make deps)
#	deps.sh deb	what `make deb` needs besides: debhelper, lintian
#	deps.sh fresh	what `make check-fresh` needs besides: mmdebstrap
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libmilter-dev libgmime-3.0-dev libpq-dev libmaxminddb-dev libmicrohttpd-dev
libsodium-dev libinih-dev libyaml-dev libpcre2-dev uap-core libcmocka-dev
postgresql postgresql-client postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
postfix swaks miltertest libmaxmind-db-writer-perl
curl wrk nginx-light mandoc opendkim opendkim-tools valgrind linux-perf
python3 perl procps iproute2 util-linux bsdutils debconf"
case "${1:-}" in
"") ;;
deb)	PKGS="$PKGS debhelper dpkg-dev fakeroot lintian" ;;
fresh)	PKGS="$PKGS debhelper dpkg-dev fakeroot lintian mmdebstrap" ;;
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
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root:" >&2
	echo "  echo 'postfix postfix/main_mailer_type select No configuration' | sudo debconf-set-selections" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
# Postfix must not configure or start a system mail service.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
