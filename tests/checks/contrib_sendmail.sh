#!/bin/sh
# contrib_sendmail.sh - contrib/sendmail/beacon.mc with nothing defined
# expands to exactly the two lines beacon-milter(8) shows, and its reinject
# daemon listens where contrib/beacon.conf's reinject points: the defaults
# an admin includes are the documented ones (the end-to-end tests define
# only the socket and the port).
set -eu
src="${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
mc="$src/contrib/sendmail/beacon.mc"
man="$src/man/beacon-milter.8"
command -v m4 >/dev/null || { echo "FAIL: m4 is not installed (make deps)" >&2; exit 1; }
# m4 of the file alone: the two macro calls, not expanded (no cf.m4), on one line
got=$(m4 "$mc" | sed 's/)DAEMON_OPTIONS(/)\nDAEMON_OPTIONS(/')
# the page's block after "With nothing defined", without m4's quotes
want=$(awk '/^With nothing defined/ { f = 1; next } f && /^\.Bd/ { next } f && /^\.Ed/ { exit } f' "$man" |
	tr -d "\`'")
if [ "$got" != "$want" ]; then
	printf 'FAIL: beacon.mc expands to\n%s\nbut beacon-milter(8) shows\n%s\n' "$got" "$want" >&2
	exit 1
fi
echo "ok - beacon.mc's defaults are the lines beacon-milter(8) shows"
port=$(printf '%s\n' "$got" | sed -n 's/^DAEMON_OPTIONS(Port=\([0-9]*\), Addr=\([^,]*\),.*/\2:\1/p')
conf=$(sed -n 's/^reinject = inet:\([0-9]*\)@\(.*\)/\2:\1/p' "$src/contrib/beacon.conf")
if [ -z "$port" ] || [ "$port" != "$conf" ]; then
	echo "FAIL: beacon.mc's reinject daemon listens on '$port', contrib/beacon.conf's reinject is '$conf'" >&2
	exit 1
fi
echo "ok - beacon.mc's reinject daemon is contrib/beacon.conf's reinject ($port)"
