#!/bin/sh
# man_pages.sh - every manual page is mandoc -Tlint clean at warning level.
set -eu
cd "${BEACON_SRC:-$(dirname "$0")/../..}"
rc=0
for m in man/*.[578]; do
	out=$(mandoc -Tlint -W warning "$m" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out"
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "ok - $(ls man/*.[578] | wc -l) pages lint clean"
exit $rc
