#!/bin/bash
# NAME
#	run.sh - Beacon's side-by-side benchmarks (make bench)
#
# SYNOPSIS
#	BEACON_BUILD=build [QUICK=1] [BENCH_ONLY="rewrite ingest pixel download mail notify storage"]
#	    [BENCH_PROFILE=1|""] [BENCH_REPORT=FILE] [BENCH_GEO_PROD=0|1]
#	    [BENCH_NOTIFY_EVENTS=N] tests/bench/run.sh
#
# DESCRIPTION
#	Measures Beacon against what operators already run, in one run on
#	this machine, all traffic on loopback:
#
#	rewrite	beacon-milter's end-of-message work by message size
#		(callgrind instructions and CPU µs), tests/bench/rewrite.sh
#	ingest	pixelsrv's writer, queue → PostgreSQL, against raw COPY,
#		tests/bench/ingest.sh
#	pixel	beacon-pixelsrv against nginx empty_gif under wrk,
#		tests/bench/pixel.sh
#	download  beacon-pixelsrv's /d/ against nginx sending the same
#		file (1 MiB, 10 MiB), MB/s, tests/bench/download.sh
#	mail	messages/s through a private Postfix with no milter, a no-op
#		milter, beacon-milter and opendkim, tests/bench/mail.sh
#	notify	events/s through beacon-notify to a webhook on loopback
#		(nginx answering 204), backlog and live, tests/bench/notify.sh
#	storage	bytes on disk per event, per message and per recipient, and
#		a month's events partition at 1 M / 100 M / 1 B events,
#		tests/bench/storage.sh (messages: those the mail section wrote)
#
#	and the peak resident memory of every daemon.  It builds what it
#	needs into $BEACON_BUILD/bench (the no-op filter, the rewrite and
#	ingest drivers linked with the build's module archives, the test
#	messages), starts a throwaway PostgreSQL (fsync on), and prints
#	padded markdown tables as it goes.  The report, with the commands,
#	the machine, the date, every figure and the goals met or missed,
#	goes to $BEACON_SRC/BENCHMARKS.md (QUICK: $BEACON_BUILD/bench/
#	BENCHMARKS-quick.md; BENCH_ONLY with some sections:
#	$BEACON_BUILD/bench/BENCHMARKS-SECTIONS.md; BENCH_REPORT overrides).
#
#	The full run's GeoIP City database is of production size and shape
#	(tests/bench/make-geoip-prod.pl: about 3.8 million networks over
#	IPv4 and IPv6, like GeoLite2-City), generated on first use and
#	cached in $BEACON_BUILD/bench/geo-prod; QUICK uses the few networks
#	of the test fixture.  BENCH_GEO_PROD=1 or 0 picks one or the other
#	in either mode.  The report names the database used.
#
#	BENCH_NOTIFY_EVENTS=N stores N other events in beacon.events before
#	the notifier's section, which then runs against a large partition
#	(tests/bench/notify.sh).
#
#	With perf installed, the full run also profiles pixelsrv and
#	beacon-milter under load (one extra run each, not counted in the
#	figures) and names their hot spots; BENCH_PROFILE=1 turns that on in
#	a QUICK run, BENCH_PROFILE= off in a full one.
#
#	QUICK=1 is a smoke run for make check (well under a minute): short
#	loads, one round, small counts.  It fails only when something is
#	broken (a process does not start, a message is not delivered or
#	not tracked, event rows differ from answered requests), never
#	because a figure is low.  The full run takes about ten minutes.
#
#	Every process it starts is stopped by PID at exit; every load and
#	every wait is bounded in time.
#
# DIAGNOSTICS
#	Exit status 0 when every section ran, 1 (with "FAIL: ..." on
#	stderr) otherwise.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/dkim.sh"
. "$BEACON_SRC/tests/lib/notify.sh"
. "$BEACON_SRC/tests/bench/lib.sh"
. "$BEACON_SRC/tests/bench/rewrite.sh"
. "$BEACON_SRC/tests/bench/ingest.sh"
. "$BEACON_SRC/tests/bench/pixel.sh"
. "$BEACON_SRC/tests/bench/download.sh"
. "$BEACON_SRC/tests/bench/mail.sh"
. "$BEACON_SRC/tests/bench/notify.sh"
. "$BEACON_SRC/tests/bench/storage.sh"

QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
BENCH_ONLY=${BENCH_ONLY:-rewrite ingest pixel download mail notify storage}
B_BIN=$BEACON_BUILD/bench
declare -A B_HWM=() B_PIDS=()
# sanitizer builds are smoke-tested here; leak reports are the unit and e2e tests' job
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

if [ -n "$QUICK" ]; then
	PIX_SECS=1 PIX_ROUNDS=1 PIX_LONG=2 PIX_DRAIN_MAX=60 PIX_PROFILE_SECS=2
	DL_SECS=1 DL_ROUNDS=1
	ING_N=5000 ING_ROUNDS=1 ING_GEO_N=20000
	MAIL_N=16 MAIL_N10=4 MAIL_N_SLOW=8 MAIL_ROUNDS=1 MAIL_WAIT_MAX=60
	RW_ITER_KB=200
	NT_RCPTS=50 NT_BACKLOG=300 NT_LIVE_RATE=100 NT_LIVE_SECS=2 NT_DRAIN_MAX=60
	B_PROFILE=${BENCH_PROFILE:-}
	B_REPORT_FINAL=${BENCH_REPORT:-$B_BIN/BENCHMARKS-quick.md}
else
	PIX_SECS=10 PIX_ROUNDS=3 PIX_LONG=60 PIX_DRAIN_MAX=300 PIX_PROFILE_SECS=6
	DL_SECS=10 DL_ROUNDS=3
	ING_N=200000 ING_ROUNDS=3 ING_GEO_N=2000000
	MAIL_N=2000 MAIL_N10=200 MAIL_N_SLOW=200 MAIL_ROUNDS=3 MAIL_WAIT_MAX=300
	RW_ITER_KB=15000
	NT_RCPTS=1000 NT_BACKLOG=20000 NT_LIVE_RATE=500 NT_LIVE_SECS=20 NT_DRAIN_MAX=300
	B_PROFILE=${BENCH_PROFILE-1}
	B_REPORT_FINAL=${BENCH_REPORT:-$BEACON_SRC/BENCHMARKS.md}
	# some sections only: their report must not replace the whole one
	[ "$BENCH_ONLY" = "rewrite ingest pixel download mail notify storage" ] ||
		B_REPORT_FINAL=${BENCH_REPORT:-$B_BIN/BENCHMARKS-${BENCH_ONLY// /-}.md}
fi

# b_need - fail unless every command exists
b_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || t_fail "$c is not installed (make deps)"
	done
}

# b_build - the no-op filter and the two drivers, against this build's archives
b_build() {
	local pkgs="gmime-3.0 milter libpq libmaxminddb libmicrohttpd libsodium inih libidn2 yaml-0.1 libpcre2-8"
	local cflags="-std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes"
	local a
	mkdir -p "$B_BIN"
	# the drivers link with the module archives, which "make all" does
	# not refresh: bring them up to date for the default build (make
	# check's "tests" target does it for build/asan)
	if [ "$(cd "$BEACON_BUILD" 2>/dev/null && pwd -P)" = "$(cd "$BEACON_SRC" && pwd -P)/build" ]; then
		make -s -C "$BEACON_SRC" BUILD=build build/libbeacon.a build/milter/modules.a \
			build/pixelsrv/modules.a >&2 || t_fail "cannot build the module archives"
	fi
	for a in libbeacon.a milter/modules.a pixelsrv/modules.a; do
		[ -s "$BEACON_BUILD/$a" ] || t_fail "no $BEACON_BUILD/$a (make tests builds it)"
	done
	for a in beacon-milter beacon-pixelsrv; do
		[ -x "$BEACON_BUILD/$a" ] || t_fail "no $BEACON_BUILD/$a (make first)"
	done
	B_SANITIZED=
	B_SANFLAGS=
	# (grep reads all of nm's output: with pipefail, grep -q could make nm die of SIGPIPE)
	if nm "$BEACON_BUILD/libbeacon.a" 2>/dev/null | grep -c '__asan_' >/dev/null; then
		B_SANITIZED=1
		B_SANFLAGS="-fsanitize=address,undefined"
	fi
	# shellcheck disable=SC2086
	cc $cflags -o "$B_BIN/noop_milter" "$BEACON_SRC/tests/bench/noop_milter.c" \
		$(pkg-config --cflags --libs milter) -lpthread ||
		t_fail "cannot build noop_milter"
	# shellcheck disable=SC2086
	cc $cflags $B_SANFLAGS -I"$BEACON_SRC/lib" -I"$BEACON_SRC/milter" $(pkg-config --cflags $pkgs) \
		-o "$B_BIN/rewrite_bench" "$BEACON_SRC/tests/bench/rewrite_bench.c" \
		-Wl,--start-group "$BEACON_BUILD/milter/modules.a" "$BEACON_BUILD/libbeacon.a" -Wl,--end-group \
		$(pkg-config --libs $pkgs) -lpthread -lm || t_fail "cannot build rewrite_bench"
	# shellcheck disable=SC2086
	cc $cflags $B_SANFLAGS -I"$BEACON_SRC/lib" -I"$BEACON_SRC/pixelsrv" $(pkg-config --cflags $pkgs) \
		-o "$B_BIN/ingest_bench" "$BEACON_SRC/tests/bench/ingest_bench.c" \
		-Wl,--start-group "$BEACON_BUILD/pixelsrv/modules.a" "$BEACON_BUILD/libbeacon.a" -Wl,--end-group \
		$(pkg-config --libs $pkgs) -lpthread -lm || t_fail "cannot build ingest_bench"
	# shellcheck disable=SC2086
	cc $cflags $B_SANFLAGS -I"$BEACON_SRC/lib" $(pkg-config --cflags $pkgs) \
		-o "$B_BIN/dlurl_mint" "$BEACON_SRC/tests/bench/dlurl_mint.c" \
		"$BEACON_BUILD/libbeacon.a" $(pkg-config --libs $pkgs) -lpthread -lm ||
		t_fail "cannot build dlurl_mint"
	"$BEACON_SRC/tests/bench/mknewsletter.py" 28672 20 >"$B_BIN/newsletter-28k.eml"
}

# b_machine - the machine and software lines of the report
b_machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	printf '%s\n' "- date: $(date -u '+%Y-%m-%d %H:%M UTC')" \
		"- machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"  $(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)" \
		"- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows as noise)" \
		"- Beacon $(sed -n 's/^VERSION *:= *//p' "$BEACON_SRC/Makefile")$(git -C "$BEACON_SRC" rev-parse --short HEAD 2>/dev/null | sed 's/^/ (commit /; s/$/)/'), build: $BEACON_BUILD${B_SANITIZED:+ (sanitizers on)}" \
		"- GeoIP City database: ${B_GEO_DESC:-none}; ASN database: the test fixture" \
		"- PostgreSQL $("$PG_BIN/postgres" -V | awk '{ print $3 }'), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'), mode: ${QUICK:+QUICK (smoke run: figures are not meaningful)}${QUICK:-full}"
}

# b_finish - goals and memory tables, then the report file
b_finish() {
	local k final=$T_DIR/final.md
	if [ ${#B_HWM[@]} -gt 0 ]; then
		{
			echo "process|peak RSS (VmHWM)"
			for k in "${!B_HWM[@]}"; do
				echo "$k|$(b_fmt_int "${B_HWM[$k]}") KiB"
			done | sort
		} | b_table "Peak resident memory of each daemon after the loads above"
	fi
	{
		echo "# Beacon benchmarks"
		echo
		echo "Generated by \`make bench\` (tests/bench/run.sh); do not edit: run it again."
		echo
		b_machine
		echo
		echo "Commands: \`make bench\` (full, ~10 minutes), \`make bench QUICK=1\` (smoke run, also part of"
		echo "\`make check\` through tests/e2e/90_bench_quick.sh).  Every load runs on loopback, every"
		echo "process is started and stopped by PID, and the two sides of each comparison take"
		echo "turns so drift of the machine hits both."
		echo
		echo "## Goals"
		echo
		{
			echo "goal|target|measured|verdict|what bounds it (measured)"
			printf '%s\n' "${B_GOALS[@]}"
		} | B_REPORT=/dev/null b_table ""
		echo
		# what was tried where a goal is missed: kept by hand, for the full report
		if [ -z "$QUICK" ] && [ -s "$BEACON_SRC/tests/bench/tried.md" ]; then
			cat "$BEACON_SRC/tests/bench/tried.md"
			echo
		fi
		cat "$B_REPORT"
	} >"$final"
	mkdir -p "$(dirname "$B_REPORT_FINAL")"
	cp "$final" "$B_REPORT_FINAL"
	printf '\n## Goals\n\n'
	{
		echo "goal|target|measured|verdict|what bounds it (measured)"
		printf '%s\n' "${B_GOALS[@]}"
	} | B_REPORT=/dev/null b_table ""
	b_say "report written to $B_REPORT_FINAL"
}

b_need cc pkg-config nginx wrk curl smtp-source smtp-sink postconf opendkim opendkim-genkey \
	python3 perl setpriv script
t_tmpdir >/dev/null
B_REPORT=$T_DIR/sections.md
: >"$B_REPORT"
b_build
b_say "build: $BEACON_BUILD${B_SANITIZED:+ (sanitizers on)}, ${QUICK:+QUICK }run, sections: $BENCH_ONLY"

PG_FSYNC=on
PG_EXTRA_CONF="shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min"
pg_start
pg_schema
pg_query 'SELECT beacon.ensure_partitions()' >/dev/null
px_setup
b_geo_db
b_say "GeoIP City database: $B_GEO_DESC"

for section in $BENCH_ONLY; do
	t_section=$(t_now_us)
	case $section in
	rewrite) bench_rewrite ;;
	ingest) bench_ingest ;;
	pixel) bench_pixel ;;
	download) bench_download ;;
	mail) bench_mail ;;
	notify) bench_notify ;;
	storage) bench_storage ;;
	*) t_fail "unknown section '$section' in BENCH_ONLY" ;;
	esac
	b_say "$section: $((($(t_now_us) - t_section) / 1000000)) s"
done
case " $BENCH_ONLY " in
*" pixel "* | *" download "*) px_stop ;;
esac
case " $BENCH_ONLY " in
*" mail "*) ml_stop_filters ;;
esac
b_finish
