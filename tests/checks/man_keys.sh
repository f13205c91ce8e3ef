#!/bin/sh
# man_keys.sh - beacon.conf(5) documents exactly the keys of lib/cfg_keys.h,
# each with its type and default, in its section, and its Types list
# explains exactly the types the keys use (string, ..., cidr list,
# address, address list, socket).  The table is printed by
# `beacon-milter -k`.
set -eu
src="${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${BEACON_BUILD:-$src/build/asan}/beacon-milter"
man="$src/man/beacon.conf.5"
rc=0 n=0
keys=$("$bin" -k)
# the page's own list: "section<TAB>.It line"
documented=$(awk '/^\.Ss /{ sec=$2; if (sec ~ /^Shared/) sec="global"; gsub(/[\[\]]/, "", sec) }
	/^\.It Cm /{ print sec "\t" $0 }' "$man")
while IFS='	' read -r sec name type def; do
	n=$((n + 1))
	if [ -z "$def" ]; then want="default empty"; else
		case "$def" in *" "*) want="default Ql \"$def\"" ;; *) want="default Ql $def" ;; esac
	fi
	line="$sec	.It Cm $name Pq $type, $want"
	if ! printf '%s\n' "$documented" | grep -qxF "$line"; then
		echo "beacon.conf.5 lacks or misdescribes [$sec] $name ($type, $want)"
		rc=1
	fi
done <<EOK
$keys
EOK
count=$(printf '%s\n' "$documented" | grep -c . || true)
if [ "$count" -ne "$n" ]; then
	echo "beacon.conf.5 documents $count keys, the program knows $n"
	rc=1
fi
# the Types list (.It lines of the ".Ss Types" list) against the types in use
explained=$(awk '/^\.Ss Types/{ on=1; next } on && /^\.El/{ exit } on && /^\.It /{ sub(/^\.It /, ""); print }' "$man" | sort)
used=$(printf '%s\n' "$keys" | cut -f3 | sort -u)
if [ "$explained" != "$used" ]; then
	echo "beacon.conf.5 Types list: $(printf '%s\n' "$explained" | paste -sd, -)"
	echo "types the keys use:        $(printf '%s\n' "$used" | paste -sd, -)"
	rc=1
fi
[ $rc -eq 0 ] && echo "ok - $n keys documented with type and default, $(printf '%s\n' "$used" | grep -c .) types explained"
exit $rc
