# NAME
#	lib.sh - measuring and reporting helpers of the Beacon benchmarks
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/lib.sh"
#
# DESCRIPTION
#	Sourced by tests/bench/run.sh after tests/lib/common.sh.
#
#	b_say MSG...		progress line on stderr ("bench: MSG").
#	b_ticks PID		utime+stime of PID (all its threads), clock ticks.
#	b_ticks_tree PID	the same summed over PID and its children, plus
#				what PID's reaped children used (cutime+cstime),
#				so children that exit between two samples count.
#	b_thread_ticks PID	"tid comm ticks" per thread of PID, one a line.
#	b_hwm PID		peak resident set (VmHWM) of PID in KiB.
#	b_cpu_stat		"busy total" jiffies of the whole machine (/proc/stat).
#	b_busy "A" "B"		percent of the machine's CPU busy between two
#				b_cpu_stat samples (100 = every core busy).
#	b_us TICKS		TICKS in microseconds.
#	b_median V...		median of the numbers (mean of the middle two).
#	b_div A B [FMT]		A/B with printf FMT (default %.2f); "-" if B is 0.
#	b_ratio A B		A/B as "0.95x"; "-" if B is 0 or missing.
#	b_pct_short V GOAL	how far V falls short of GOAL, "12%" (V < GOAL).
#	b_fmt_int N		N rounded, with thin groups ("215 431").
#	b_table TITLE		read "a|b|c" rows on stdin (first row: headings),
#				print a markdown table with padded columns
#				(numbers right-aligned) to the report and stdout.
#	b_md TEXT...		append TEXT lines to the report and stdout.
#	b_goal WHAT TARGET MEASURED OP [BOUND]	record one goal: OP is ge or le;
#				the goals table says met, or missed by N% and
#				BOUND (what the measurements say limits it).
#	b_wait_until COND TIMEOUT_S	t_wait_until, polling every 0.1 s.
#	b_perf_rows N		stdin: perf report --sort comm,dso,symbol; stdout:
#				its first N samples as share|thread|object|function.
#
#	B_REPORT is the markdown file being written; B_GOALS collects the
#	goal rows for the summary at its top.

B_CLK_TCK=$(getconf CLK_TCK)
B_GOALS=()

# b_say - progress on stderr
b_say() {
	printf 'bench: %s\n' "$*" >&2
}

# b_ticks - utime+stime of a process in clock ticks
b_ticks() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || { echo 0; return 0; }
	stat=${stat##*) }
	# after ") ": state(3) ... utime is field 14, stime 15 of the full line
	set -- $stat
	echo $((${12} + ${13}))
}

# b_ticks_tree - utime+stime of PID, its children and its reaped children
b_ticks_tree() {
	local sum pid stat
	[ -n "$1" ] || { echo 0; return 0; }
	read -r stat 2>/dev/null <"/proc/$1/stat" || { echo 0; return 0; }
	stat=${stat##*) }
	set -- "$1" $stat
	# shifted by one: utime stime cutime cstime are ${13} .. ${16}
	sum=$((${13} + ${14} + ${15} + ${16}))
	for pid in $(t_children "$1"); do
		sum=$((sum + $(b_ticks "$pid")))
	done
	echo "$sum"
}

# b_thread_ticks - "tid comm ticks" for each thread of PID
b_thread_ticks() {
	local f stat comm tid
	for f in /proc/"$1"/task/*/stat; do
		read -r stat 2>/dev/null <"$f" || continue
		tid=${stat%% *}
		comm=${stat#*(}
		comm=${comm%%) *}
		stat=${stat##*) }
		set -- $stat
		printf '%s %s %s\n' "$tid" "${comm// /_}" $((${12} + ${13}))
	done
}

# b_hwm - peak resident set size of PID in KiB
b_hwm() {
	awk '/^VmHWM:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null ||
		echo 0
}

# b_cpu_stat - busy and total jiffies of all cores
b_cpu_stat() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, t; exit }' /proc/stat
}

# b_busy - percent of the machine busy between two b_cpu_stat samples
b_busy() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		if (y[2] - x[2] <= 0) print "-"; else printf "%.0f%%\n", (y[1] - x[1]) * 100 / (y[2] - x[2]) }'
}

# b_us - clock ticks to microseconds
b_us() {
	echo $(($1 * 1000000 / B_CLK_TCK))
}

# b_median - median of the arguments
b_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# b_div - A/B formatted, "-" when B is zero or either is missing
b_div() {
	awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-";
		else printf f "\n", a / b }'
}

# b_ratio - A/B as "0.95x"
b_ratio() {
	local r
	r=$(b_div "$1" "$2" %.2f)
	[ "$r" = - ] && { echo -; return 0; }
	echo "${r}x"
}

# b_pct_short - how far V is below GOAL, in percent of GOAL
b_pct_short() {
	awk -v v="$1" -v g="$2" 'BEGIN { printf "%.0f%%\n", (g - v) * 100 / g }'
}

# b_fmt_int - integer with thin spaces between thousands
b_fmt_int() {
	awk -v n="$1" 'BEGIN {
		if (n == "-" || n == "") { print "-"; exit }
		s = sprintf("%.0f", n); neg = ""
		if (substr(s, 1, 1) == "-") { neg = "-"; s = substr(s, 2) }
		out = ""
		while (length(s) > 3) { out = " " substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
		print neg s out }'
}

# b_md - append lines to the report and show them
b_md() {
	printf '%s\n' "$@" | tee -a "$B_REPORT"
}

# b_table - a padded markdown table from "a|b|c" rows on stdin
b_table() {
	local title=$1
	{
		[ -n "$title" ] && printf '\n%s\n\n' "$title"
		awk -F'|' '
			# dw - display width of S (UTF-8: continuation bytes take no column)
			function dw(s,  t) { t = s; gsub(/[\200-\277]/, "", t); return length(t) }
			function pad(n,  p) { p = ""; while (n-- > 0) p = p " "; return p }
			{ n = NR; for (i = 1; i <= NF; i++) { c[n, i] = $i; if (dw($i) > w[i]) w[i] = dw($i) }
			  if (NF > nf) nf = NF }
			END {
				for (r = 1; r <= n; r++) {
					line = "|"
					for (i = 1; i <= nf; i++) {
						v = c[r, i]
						num = (r > 1 && v ~ /^[-+]?[0-9][0-9 .,]*(x|%|[a-zA-Z]*)?( [a-zA-Z]+)?$/)
						if (num) line = line " " pad(w[i] - dw(v)) v " |"
						else line = line " " v pad(w[i] - dw(v)) " |"
					}
					print line
					if (r == 1) {
						line = "|"
						for (i = 1; i <= nf; i++) line = line " " pad(w[i]) " |"
						gsub(/ /, "-", line); gsub(/-\|-/, " | ", line)
						sub(/^\|-/, "| ", line); sub(/-\|$/, " |", line)
						print line
					}
				}
			}'
	} | tee -a "$B_REPORT"
}

# b_goal - record one goal and whether the measurement meets it
b_goal() {
	local what=$1 target=$2 measured=$3 op=$4 bound=${5:-} verdict
	if [ "$measured" = - ] || [ -z "$measured" ]; then
		verdict="not measured"
	elif awk -v m="$measured" -v t="$target" -v op="$op" \
		'BEGIN { exit !((op == "ge" && m + 0 >= t + 0) || (op == "le" && m + 0 <= t + 0)) }'; then
		verdict="met"
	elif [ "$op" = ge ]; then
		verdict="missed by $(b_pct_short "$measured" "$target")"
	else
		verdict="missed by $(awk -v m="$measured" -v t="$target" 'BEGIN { printf "%.0f%%", (m - t) * 100 / t }')"
	fi
	[ "$verdict" = met ] && bound=
	B_GOALS+=("$what|$([ "$op" = ge ] && echo "≥" || echo "≤") $target|$measured|$verdict|$bound")
}

# b_perf_rows N - the first N lines of "perf report --sort comm,dso,symbol" as share|thread|object|function
b_perf_rows() {
	awk -v max="$1" '/^ *[0-9.]+%/ && n < max {
		pct = $1; comm = $2; dso = $3; $1 = $2 = $3 = ""
		sub(/^ *(\[[.k]\] *)?/, ""); sub(/( +-)+ *$/, "")
		printf "%s|%s|%s|%s\n", pct, comm, dso, $0; n++ }'
}

# b_wait_until - wait for a shell condition, polling every 0.1 s
b_wait_until() {
	local cond=$1 timeout=$2 deadline
	deadline=$(($(t_now_us) + timeout * 1000000))
	while ! eval "$cond"; do
		[ "$(t_now_us)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
	return 0
}

# b_geo_db - the City database of the run: B_CITY_DB, B_GEO_ADDRS (addresses inside
# its networks, "" for the test fixture), B_GEO_DESC (for the report), BENCH_XFF
# (pixel.lua's client address).  The full run uses a GeoLite2-City-sized database
# from tests/bench/make-geoip-prod.pl, built once into $B_BIN/geo-prod/<hash of
# the generator> (a changed generator builds a new one); QUICK keeps the test
# fixture of px_setup unless BENCH_GEO_PROD=1; BENCH_GEO_PROD=0 keeps it in a
# full run too (to compare).
b_geo_db() {
	local gen=$BEACON_SRC/tests/bench/make-geoip-prod.pl hash dir t0 mb
	local networks ipv4 ipv6 nodes records secs
	if [ "${BENCH_GEO_PROD:-${QUICK:+0}}" = 0 ]; then
		B_CITY_DB=$T_DIR/geo/city.mmdb B_GEO_ADDRS=
		export BENCH_XFF=198.51.100.20
		B_GEO_DESC="the test fixture (tests/fixtures/make-geoip.pl: a handful of networks, $(b_div "$(stat -c %s "$B_CITY_DB")" 1024 %.0f) KiB)"
		return 0
	fi
	hash=$(sha256sum "$gen" | cut -c1-16)
	dir=$B_BIN/geo-prod/$hash
	if [ ! -s "$dir/city.mmdb" ] || ! grep -q seconds= "$dir/info.txt" 2>/dev/null; then
		# an older generator's database is of no more use (about 100 MB each)
		rm -rf "$B_BIN/geo-prod"
		mkdir -p "$dir"
		b_say "generating the production-size GeoIP City database (once, a few minutes)"
		t0=$(t_now_us)
		timeout 3600 perl "$gen" "$dir" >&2 || t_fail "make-geoip-prod.pl failed"
		printf 'seconds=%s\n' "$((($(t_now_us) - t0) / 1000000))" >>"$dir/info.txt"
	fi
	B_CITY_DB=$dir/city.mmdb B_GEO_ADDRS=$dir/addrs.txt
	# info.txt: "networks=N ipv4=N ipv6=N nodes=N records=N places=N" then "seconds=N"
	networks=$(sed -n 's/.*networks=\([0-9]*\).*/\1/p' "$dir/info.txt")
	ipv4=$(sed -n 's/.*ipv4=\([0-9]*\).*/\1/p' "$dir/info.txt")
	ipv6=$(sed -n 's/.*ipv6=\([0-9]*\).*/\1/p' "$dir/info.txt")
	nodes=$(sed -n 's/.* nodes=\([0-9]*\).*/\1/p' "$dir/info.txt")
	records=$(sed -n 's/.* records=\([0-9]*\).*/\1/p' "$dir/info.txt")
	secs=$(sed -n 's/^seconds=\([0-9]*\).*/\1/p' "$dir/info.txt")
	mb=$(b_div "$(stat -c %s "$B_CITY_DB")" 1048576 %.1f)
	# wrk sends one static request: an address inside a network with a city
	local i
	BENCH_XFF=
	for ((i = 1000; i < 1100; i++)); do
		sed -n "${i}p" "$B_GEO_ADDRS" >"$T_DIR/xff"
		if "$B_BIN/ingest_bench" -m geo -n 1 -g "$B_CITY_DB" -A "$T_DIR/xff" | grep -q ' city_hits=1'; then
			BENCH_XFF=$(cat "$T_DIR/xff")
			break
		fi
	done
	[ -n "$BENCH_XFF" ] || t_fail "no address with a city in $B_GEO_ADDRS"
	export BENCH_XFF
	B_GEO_DESC="GeoLite2-City shaped, generated by tests/bench/make-geoip-prod.pl (record size 28):"
	B_GEO_DESC+=" $(b_fmt_int "$networks") networks ($(b_fmt_int "$ipv4") IPv4, $(b_fmt_int "$ipv6") IPv6),"
	B_GEO_DESC+=" $(b_fmt_int "$nodes") tree nodes, $(b_fmt_int "$records") records, $mb MB"
	B_GEO_DESC+=" (generated once in $secs s, cached in \$BEACON_BUILD/bench/geo-prod)"
}
