#!/bin/bash
# run.sh - run every libFuzzer target in $BEACON_FUZZ/tests/fuzz for
# FUZZ_SECONDS each, from its seed corpus in tests/fuzz/corpus/NAME/.
# New inputs go to a scratch corpus, so the committed seeds stay small.
# A crash fails the run and leaves the reproducer in $BEACON_FUZZ/crashes/.
set -u
src="${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${BEACON_FUZZ:-$src/build/fuzz}/tests/fuzz"
secs="${FUZZ_SECONDS:-60}"
out="${BEACON_FUZZ:-$src/build/fuzz}"
mkdir -p "$out/crashes" "$out/corpus"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
export BEACON_SRC="$src"
rc=0 n=0
for f in "$bin"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f"); name=${name#fuzz_}
	seeds="$src/tests/fuzz/corpus/$name"
	scratch="$out/corpus/$name"
	mkdir -p "$scratch"
	n=$((n + 1))
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$name-" "$scratch" $( [ -d "$seeds" ] && echo "$seeds" ) \
		>"$out/fuzz_$name.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz_$name.log" | grep -o '[0-9]*$')
		echo "ok   $name: ${runs:-?} runs in ${secs}s"
	else
		echo "FAIL $name: see $out/fuzz_$name.log"
		tail -n 40 "$out/fuzz_$name.log"
		rc=1
	fi
done
[ $n -gt 0 ] || { echo "no fuzz targets built in $bin"; exit 1; }
exit $rc
