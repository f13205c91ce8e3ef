#!/bin/bash
# run.sh - run every Beacon test: C unit tests, SQL tests, end-to-end tests,
# manual checks and short fuzz runs.  `make check` calls it after building
# the ASan+UBSan tree; `tests/run.sh PATTERN` runs only the tests whose
# name contains PATTERN.  Each test's output goes to a log file; a failing
# test prints the end of its log.  Exit status: 0 only if every test passed.
#
# CHECK_JOBS tests run at once (default 2): most of a test's time is spent
# waiting on PostgreSQL, Postfix or a timer, and each test has its own
# directory, servers and ports (t_free_port), so two side by side take
# little more than one.  A test whose header has the line "# Runs alone."
# (a benchmark, a timing-sensitive fault) runs after the others, by itself.
# Results are printed as tests end.
set -u

export BEACON_SRC="${BEACON_SRC:-$(cd "$(dirname "$0")/.." && pwd)}"
export BEACON_BUILD="${BEACON_BUILD:-$BEACON_SRC/build/asan}"
export BEACON_FIXTURES="${BEACON_FIXTURES:-$BEACON_BUILD/fixtures}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$BEACON_SRC/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export FUZZ_SECONDS="${CHECK_FUZZ_SECONDS:-5}"
pattern="${1:-}"
jobs="${CHECK_JOBS:-2}"
case "$jobs" in ''|*[!0-9]*|0) echo "CHECK_JOBS must be a positive number, not '$jobs'" >&2; exit 64 ;; esac
logdir="$BEACON_BUILD/test-logs"
mkdir -p "$logdir" "$BEACON_FIXTURES"
cd "$BEACON_SRC" || exit 1

pass=0 fail=0 failed=()
declare -A running=()	# pid -> test name, of the tests running in the background
alone=()		# "limit name command..." of the tests that run by themselves

# run_one - run one test command with a time limit, log its output
run_one() {
	local name="$1" limit="$2"; shift 2
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return 0
	local log="$logdir/${name//\//_}.log" start end rc
	start=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s.%N)
	local secs; secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS  %-48s %6ss\n' "$name" "$secs"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL  %-48s %6ss  (exit %d, log %s)\n' "$name" "$secs" "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/      | /'
	fi
}

# result_of - the file a background test writes its result lines to
result_of() { printf '%s/%s.result' "$logdir" "${1//\//_}"; }

# reap - wait for one background test to end, print its result, count it
reap() {
	local pid name res
	wait -n -p pid "${!running[@]}"
	name=${running[$pid]}
	unset "running[$pid]"
	res=$(result_of "$name")
	cat "$res"
	if [ "$(head -c 4 "$res")" = PASS ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$name")
	fi
	rm -f "$res"
}

# run_bg - run_one in the background once fewer than $jobs tests run
run_bg() {
	local name="$1"
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return 0
	while [ ${#running[@]} -ge "$jobs" ]; do reap; done
	run_one "$@" >"$(result_of "$name")" 2>&1 &
	running[$!]=$name
}

# run_all - wait for every background test
run_all() { while [ ${#running[@]} -gt 0 ]; do reap; done; }

# fixtures the tests share: GeoIP databases written by libmaxmind-db-writer-perl,
# again when the script changed since they were written
if [ -f tests/fixtures/make-geoip.pl ] && { [ ! -s "$BEACON_FIXTURES/city.mmdb" ] ||
	[ ! -s "$BEACON_FIXTURES/asn.mmdb" ] ||
	[ tests/fixtures/make-geoip.pl -nt "$BEACON_FIXTURES/asn.mmdb" ]; }; then
	perl tests/fixtures/make-geoip.pl "$BEACON_FIXTURES" >"$logdir/fixtures.log" 2>&1 ||
		{ echo "cannot write GeoIP fixtures: see $logdir/fixtures.log"; exit 1; }
fi

echo "== unit tests ($BEACON_BUILD)"
for t in "$BEACON_BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	run_bg "unit/$(basename "$t")" 120 "$t"
done
run_all

echo "== checks"
for t in tests/checks/*.sh; do
	[ -x "$t" ] && run_bg "checks/$(basename "$t" .sh)" 120 "$t"
done
run_all

echo "== SQL tests"
for t in tests/sql/*.sh; do
	[ -x "$t" ] && run_bg "sql/$(basename "$t" .sh)" 300 "$t"
done
run_all

echo "== end-to-end tests"
for t in tests/e2e/*.sh; do
	[ -x "$t" ] || continue
	if head -n 40 "$t" | grep -qx '# Runs alone\.'; then
		alone+=("$t")
	else
		run_bg "e2e/$(basename "$t" .sh)" 600 "$t"
	fi
done
run_all
for t in "${alone[@]}"; do
	run_one "e2e/$(basename "$t" .sh)" 600 "$t"
done

if [ -n "${BEACON_FUZZ:-}" ] && [ -x tests/fuzz/run.sh ]; then
	echo "== fuzz targets (${FUZZ_SECONDS}s each)"
	run_one "fuzz/all" 900 tests/fuzz/run.sh
fi

echo "== $pass passed, $fail failed"
if [ $fail -ne 0 ]; then
	printf '   failed: %s\n' "${failed[@]}"
	exit 1
fi
[ $pass -gt 0 ] || { echo "no test matched '$pattern'"; exit 1; }
exit 0
