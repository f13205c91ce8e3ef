#!/bin/bash
# NAME
#	90_bench_quick.sh - the benchmarks still run (make bench QUICK=1)
#
# DESCRIPTION
#	Runs tests/bench/run.sh in its QUICK smoke mode against
#	$BEACON_BUILD, so the benchmark scripts cannot rot: every section
#	starts its daemons, pushes a short load through them and checks
#	what must hold whatever the speed (messages delivered and tracked,
#	one event row per answered request, the rewrite applied).  It
#	asserts no figure: the sanitizer build is slow.  The report goes to
#	$BEACON_BUILD/bench/BENCHMARKS-quick.md, never over BENCHMARKS.md.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"

report=$BEACON_BUILD/bench/BENCHMARKS-quick.md
rm -f "$report"
QUICK=1 BEACON_BUILD=$BEACON_BUILD BENCH_REPORT=$report \
	timeout --kill-after=10 540 "$BEACON_SRC/tests/bench/run.sh" ||
	t_fail "tests/bench/run.sh QUICK=1 failed (exit $?)"
[ -s "$report" ] || t_fail "no report at $report"
for section in '## Rewrite cost' '## Ingest' '## Pixel path' '## Download path' '## Mail path' '## Notifier' '## Storage' '## Goals'; do
	grep -q "^$section" "$report" || t_fail "report lacks '$section'"
done
t_ok "QUICK benchmark run completed, report at $report"
