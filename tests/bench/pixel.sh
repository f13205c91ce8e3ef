# NAME
#	pixel.sh - the pixel-path benchmark: beacon-pixelsrv against nginx
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/pixel.sh"; bench_pixel
#
# DESCRIPTION
#	One nginx worker serving empty_gif with a buffered access log, and
#	beacon-pixelsrv with threads = 1, GeoIP, relay ranges and User-Agent
#	classification on, writing every open to PostgreSQL, both on
#	loopback, both idle while the other is loaded.  Each run is
#	wrk -t1 -c64 for PIX_SECS seconds with tests/bench/pixel.lua (the
#	same static request for both: one open pixel, an iPhone Mail
#	User-Agent, a forwarded address inside the run's GeoIP City
#	database (b_geo_db: BENCH_XFF); varied
#	clients are the ingest benchmark's job), keep-alive and then
#	Connection: close; the servers take turns (A B, then B A in the
#	next round) for PIX_ROUNDS rounds.  Then one run of PIX_LONG
#	seconds each, keep-alive, and (with perf, full run) a profile of
#	pixelsrv under one more keep-alive load.
#
#	After every pixelsrv run it waits until PostgreSQL holds one row per
#	open it answered (beacon_pixelsrv_requests_total, endpoint open,
#	status 200) and fails if the count differs, then empties the table
#	so every run starts alike.
#
#	Figures: requests/s, p50 and p99 latency from wrk, the server's CPU
#	per request from /proc/PID/stat (nginx: its worker; pixelsrv: the
#	whole process, and its HTTP and writer threads apart), PostgreSQL's
#	CPU per event, the time from the end of the load until the last row
#	was in PostgreSQL, and events the queue could not hold (spooled,
#	then replayed).

PIX_NGINX_PID=
PIX_NGINX_WORKER=
PIX_NGINX_PORT=
PIX_PATH=

# pix_nginx_start - nginx with one worker serving empty_gif
pix_nginx_start() {
	local dir=$T_DIR/nginx
	mkdir -p "$dir/nginx-tmp"
	PIX_NGINX_PORT=$(t_free_port)
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$PIX_NGINX_PORT|g" \
		"$BEACON_SRC/tests/bench/nginx.conf.in" >"$dir/nginx.conf"
	nginx -c "$dir/nginx.conf" -p "$dir" </dev/null >>"$dir/nginx.out" 2>&1 &
	PIX_NGINX_PID=$!
	t_on_exit "t_kill_pid $PIX_NGINX_PID QUIT 10"
	if ! t_wait_until "t_port_listening $PIX_NGINX_PORT || ! t_pid_alive $PIX_NGINX_PID" 10 ||
		! t_pid_alive "$PIX_NGINX_PID"; then
		cat "$dir/nginx.out" "$dir/nginx-error.log" >&2 2>/dev/null || true
		t_fail "nginx did not start"
	fi
	t_wait_until '[ -n "$(t_children $PIX_NGINX_PID)" ]' 5 || t_fail "nginx has no worker"
	PIX_NGINX_WORKER=$(t_children "$PIX_NGINX_PID" | head -n 1)
}

# pix_px_start - beacon-pixelsrv with one HTTP thread, logging to PostgreSQL
pix_px_start() {
	local user=
	[ "$(id -u)" = 0 ] && user=nobody
	cat >"$T_DIR/beacon.conf" <<-EOF
		base_url = $PX_URL
		secret_file = $PX_SECRET

		[pixelsrv]
		listen = 127.0.0.1:$PX_PORT
		user = $user
		pidfile = $T_DIR/pixelsrv.pid
		threads = 1
		spool_dir = $T_DIR/pxspool
		geoip_city_db = $B_CITY_DB
		geoip_asn_db = $T_DIR/geo/asn.mmdb
		mail_clients = $BEACON_SRC/pixelsrv/mail-clients.yaml
		machines = $BEACON_SRC/pixelsrv/machines.yaml
		apple_relay_ranges = $BEACON_SRC/tests/fixtures/apple-relay.csv
		trusted_proxies = 127.0.0.1
		# every answered open is a row, as nginx logs every request; wrk's
		# connections all come from one address
		repeat_window = 0
		token_event_limit = 0
		per_ip_connection_limit = 0
		# the download section's store (tests/bench/download.sh)
		attachment_dir = $T_DIR/attachments
		metrics_listen = 127.0.0.1:$PX_MPORT

		[database]
		conninfo = $BEACON_CONNINFO
	EOF
	px_start
	B_PIDS[pixelsrv]=$PX_PID
}

# pix_metric - a pixelsrv counter (0 when absent)
pix_metric() {
	local v
	v=$(curl -s --max-time 10 "http://127.0.0.1:$PX_MPORT/metrics" | awk -v n="$1" 'index($0, n) == 1 { print $NF; exit }')
	echo "${v:-0}"
}

# pix_answered - opens answered 200 so far
pix_answered() {
	pix_metric 'beacon_pixelsrv_requests_total{endpoint="open",status="200"}'
}

# pix_drained N - have N events been written (replayed ones included) with the queue empty?
pix_drained() {
	local m
	m=$(curl -s --max-time 10 "http://127.0.0.1:$PX_MPORT/metrics") || return 1
	awk -v want="$1" '
		/^beacon_pixelsrv_events_written_total / { w = $2 }
		/^beacon_pixelsrv_queue_depth / { d = $2 }
		END { exit !(w >= want && d == 0) }' <<<"$m"
}

# pix_show_state - pixelsrv's counters and log tail on stderr, after a failure
pix_show_state() {
	curl -s --max-time 10 "http://127.0.0.1:$PX_MPORT/metrics" | grep -E '^beacon_pixelsrv_(events|queue|db)' >&2 || true
	printf -- '--- %s (last 20 lines)\n' "$T_DIR/pixelsrv.log" >&2
	tail -n 20 "$T_DIR/pixelsrv.log" >&2 || true
}

# pix_wrk - one wrk run; prints the BENCH line
pix_wrk() {
	local port=$1 secs=$2 close=$3 out
	out=$(BENCH_PATH="$PIX_PATH" BENCH_CLOSE=$close timeout $((secs + 30)) \
		wrk -t1 -c64 -d"${secs}s" --timeout 5s -s "$BEACON_SRC/tests/bench/pixel.lua" \
		"http://127.0.0.1:$port/" 2>&1) || { printf '%s\n' "$out" >&2; t_fail "wrk failed"; }
	grep '^BENCH ' <<<"$out" || { printf '%s\n' "$out" >&2; t_fail "wrk printed no summary"; }
}

# pix_field - NAME=VALUE from a BENCH line
pix_field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

# pix_run - one load on one server; appends a result line to $T_DIR/pixel.runs
#	fields: server mode secs requests rps p50 p99 cpu_us_req http_us writer_us
#		pg_us_event drain_s spooled errors
pix_run() {
	local server=$1 mode=$2 secs=$3 close=0 port pid line req dur
	local t0 t1 pg0 pg1 a0 a1 sp0 sp1 th0 th1 http=- writer=- pgev=- drain=- spooled=- rows
	local start_drain errors
	[ "$mode" = close ] && close=1
	if [ "$server" = nginx ]; then
		port=$PIX_NGINX_PORT pid=$PIX_NGINX_WORKER
	else
		port=$PX_PORT pid=$PX_PID
		a0=$(pix_answered)
		sp0=$(pix_metric beacon_pixelsrv_events_spooled_total)
		th0=$(b_thread_ticks "$pid")
	fi
	pg0=$(b_ticks_tree "$(pg_pid)")
	t0=$(b_ticks "$pid")
	line=$(pix_wrk "$port" "$secs" "$close")
	t1=$(b_ticks "$pid")
	req=$(pix_field "$line" requests)
	dur=$(pix_field "$line" duration_us)
	errors=$(($(pix_field "$line" connect) + $(pix_field "$line" read) + $(pix_field "$line" write) +
		$(pix_field "$line" status) + $(pix_field "$line" timeout)))
	[ "$req" -gt 0 ] || t_fail "$server: wrk got no answer"
	if [ "$server" = pixelsrv ]; then
		th1=$(b_thread_ticks "$pid")
		start_drain=$(t_now_us)
		a1=$(pix_answered)
		[ "$((a1 - a0))" -ge "$req" ] ||
			t_fail "pixelsrv counted $((a1 - a0)) answered opens, wrk got $req answers"
		# every answered open must reach PostgreSQL: wait for the writer
		if ! b_wait_until "pix_drained $a1" "$PIX_DRAIN_MAX"; then
			pix_show_state
			t_fail "pixelsrv: events not all written $PIX_DRAIN_MAX s after the load ($a1 answered)"
		fi
		rows=$(pg_query 'SELECT count(*) FROM beacon.events')
		drain=$(awk -v a="$start_drain" -v b="$(t_now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
		pg1=$(b_ticks_tree "$(pg_pid)")
		[ "$rows" = "$((a1 - a0))" ] ||
			t_fail "pixelsrv: $rows event rows for $((a1 - a0)) answered opens"
		sp1=$(pix_metric beacon_pixelsrv_events_spooled_total)
		spooled=$((sp1 - sp0))
		http=$(pix_thread_us "$th0" "$th1" http "$req")
		writer=$(pix_thread_us "$th0" "$th1" writer "$req")
		pgev=$(b_div "$(b_us $((pg1 - pg0)))" "$rows" %.2f)
		pg_query 'TRUNCATE beacon.events' >/dev/null
		PIX_ROWS_TOTAL=$((PIX_ROWS_TOTAL + rows))
		PIX_ANSWERED_TOTAL=$((PIX_ANSWERED_TOTAL + a1 - a0))
	fi
	printf '%s %s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$server" "$mode" "$secs" "$req" \
		"$(b_div "$req" "$(b_div "$dur" 1000000 %.6f)" %.0f)" \
		"$(pix_field "$line" p50_us)" "$(pix_field "$line" p99_us)" \
		"$(b_div "$(b_us $((t1 - t0)))" "$req" %.2f)" "$http" "$writer" "$pgev" "$drain" \
		"$spooled" "$errors" >>"$T_DIR/pixel.runs"
	b_say "pixel: $server $mode ${secs}s: $req requests, $(tail -n 1 "$T_DIR/pixel.runs" | cut -d' ' -f5) req/s"
}

# pix_thread_us - CPU µs per request of pixelsrv's threads of one kind
#	KIND http: libmicrohttpd's threads (named MHD-*); writer: every
#	other thread but the main one (which only waits for signals).
pix_thread_us() {
	local before=$1 after=$2 kind=$3 req=$4
	awk -v kind="$kind" -v req="$req" -v hz="$B_CLK_TCK" -v main="$PX_PID" '
		FNR == NR { t0[$1] = $3; next }
		{
			if ($1 == main) next
			http = ($2 ~ /^MHD/)
			if ((kind == "http") == http) s += $3 - t0[$1]
		}
		END { printf "%.2f\n", s * 1e6 / hz / req }' \
		<(printf '%s\n' "$before") <(printf '%s\n' "$after")
}

# pix_col SERVER MODE SECS COLUMN - the values of one column of the matching runs
pix_col() {
	awk -v sv="$1" -v m="$2" -v s="$3" -v c="$4" '$1 == sv && $2 == m && $3 == s { print $c }' \
		"$T_DIR/pixel.runs"
}

# pix_summary - medians per server and mode into a table; sets PIX_<mode>_<secs>_{RPS,P99,DR}
pix_summary() {
	local mode secs server n_rps rps rounds rows=() http wr pg dr sp
	for secs in "$PIX_SECS" "$PIX_LONG"; do
		for mode in keepalive close; do
			[ "$secs" = "$PIX_LONG" ] && [ "$mode" = close ] && continue
			n_rps=$(b_median $(pix_col nginx "$mode" "$secs" 5))
			printf -v "PIX_N_${mode}_${secs}_RPS" '%s' "$n_rps"
			for server in nginx pixelsrv; do
				rps=$(b_median $(pix_col "$server" "$mode" "$secs" 5))
				rounds=$(pix_col "$server" "$mode" "$secs" 5 | wc -l)
				http=- wr=- pg=- dr=- sp=-
				if [ "$server" = pixelsrv ]; then
					http=$(b_median $(pix_col "$server" "$mode" "$secs" 9))
					wr=$(b_median $(pix_col "$server" "$mode" "$secs" 10))
					pg=$(b_median $(pix_col "$server" "$mode" "$secs" 11))
					dr=$(b_median $(pix_col "$server" "$mode" "$secs" 12))
					sp=$(b_median $(pix_col "$server" "$mode" "$secs" 13))
					printf -v "PIX_${mode}_${secs}_RPS" '%s' "$rps"
					printf -v "PIX_${mode}_${secs}_P99" '%s' \
						"$(b_median $(pix_col "$server" "$mode" "$secs" 7))"
					printf -v "PIX_${mode}_${secs}_DR" '%s' "$dr"
				fi
				rows+=("$server|$mode|${rounds}× ${secs} s|$(b_fmt_int "$rps")|$(b_ratio "$rps" "$n_rps")|$(b_median $(pix_col "$server" "$mode" "$secs" 6))|$(b_median $(pix_col "$server" "$mode" "$secs" 7))|$(b_median $(pix_col "$server" "$mode" "$secs" 8))|$http|$wr|$pg|$dr|$sp")
			done
		done
	done
	{
		echo "server|mode|runs|requests/s|vs nginx|p50 µs|p99 µs|CPU µs/req|HTTP thread µs/req|writer µs/req|PostgreSQL µs/event|drain s|spooled"
		printf '%s\n' "${rows[@]}"
	} | b_table "Pixel path: requests/s, latency and CPU (medians; ratio against nginx in the same rounds)"
}

# pix_profile - where pixelsrv spends its CPU under keep-alive load (perf, when installed)
pix_profile() {
	local data=$T_DIR/perf.pixelsrv.data a1 wp
	command -v perf >/dev/null || { b_md "" "(perf is not installed: no profile of pixelsrv.)"; return 0; }
	BENCH_PATH="$PIX_PATH" BENCH_CLOSE=0 timeout 60 wrk -t1 -c64 -d"${PIX_PROFILE_SECS}s" \
		-s "$BEACON_SRC/tests/bench/pixel.lua" "http://127.0.0.1:$PX_PORT/" >/dev/null 2>&1 &
	wp=$!
	sleep 0.5
	if ! timeout 60 perf record -F 999 -p "$PX_PID" -o "$data" -- sleep $((PIX_PROFILE_SECS - 1)) \
		>"$T_DIR/perf.out" 2>&1; then
		wait "$wp" || true
		b_md "" "(perf record failed here: $(tail -n 1 "$T_DIR/perf.out"))"
		return 0
	fi
	wait "$wp" || true
	a1=$(pix_answered)
	if ! b_wait_until "pix_drained $a1" "$PIX_DRAIN_MAX"; then
		pix_show_state
		t_fail "pixelsrv: events not written after the profile run"
	fi
	pg_query 'TRUNCATE beacon.events' >/dev/null
	{
		echo "share|thread|object|function"
		perf report -i "$data" --stdio --no-children --sort comm,dso,symbol 2>/dev/null |
			b_perf_rows 15
	} | b_table "Where beacon-pixelsrv spends its CPU under keep-alive load (perf record -F 999, ${PIX_PROFILE_SECS} s, flat)"
	PIX_HOT="perf: $(perf report -i "$data" --stdio --no-children --sort comm 2>/dev/null |
		awk '/^ *[0-9.]+%/ { printf "%s%s %s", (n++ ? ", " : ""), $2, $1 }'); top functions: $(
		perf report -i "$data" --stdio --no-children --sort comm,dso,symbol 2>/dev/null |
		b_perf_rows 4 | awk -F'|' '{ printf "%s%s %s (%s)", (n++ ? ", " : ""), $4, $1, $2 }')"
}

# bench_pixel - the whole pixel-path section
bench_pixel() {
	local r mode order tok
	b_md "" "## Pixel path" ""
	b_md "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), one worker, \`empty_gif\`, \`access_log ... buffer=64k\`;" \
		"beacon-pixelsrv \`threads = 1\` (+ its writer thread), GeoIP City+ASN, relay ranges," \
		"uap-core + mail-client rules, every open COPYed into \`beacon.events\` (real indexes and trigger)." \
		"Load: \`wrk -t1 -c64 -d${PIX_SECS}s --timeout 5s -s tests/bench/pixel.lua\` (one static request:" \
		"an open pixel, iPhone Mail User-Agent, X-Forwarded-For $BENCH_XFF, inside a network of the City database; keep-alive, then" \
		"\`BENCH_CLOSE=1\`: \`Connection: close\`), servers alternating, ${PIX_ROUNDS} round(s); then" \
		"one ${PIX_LONG} s keep-alive run each.  CPU from \`/proc/PID/stat\` (utime+stime)."
	PIX_ROWS_TOTAL=0 PIX_ANSWERED_TOTAL=0
	: >"$T_DIR/pixel.runs"
	pix_nginx_start
	pix_px_start
	tok=$(px_mint)
	PIX_PATH=/o/$tok.gif
	# one request each: both answer, the event reaches PostgreSQL
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://127.0.0.1:$PIX_NGINX_PORT/o/$tok.gif")" = 200 ] || t_fail "nginx does not answer"
	[ "$(px_get "/o/$tok.gif" -H "X-Forwarded-For: $BENCH_XFF")" = 200 ] || t_fail "pixelsrv does not answer"
	px_wait_rows 1 20 || t_fail "pixelsrv did not write the first event"
	# the load's address lies inside a network of the City database: every lookup walks its tree
	local place
	place=$(pg_query "SELECT concat_ws(', ', city, country) FROM beacon.events WHERE city IS NOT NULL")
	[ -n "$place" ] || t_fail "pixelsrv: $BENCH_XFF has no city in $B_CITY_DB"
	b_say "pixel: the load's address $BENCH_XFF is located in $place"
	pg_query 'TRUNCATE beacon.events' >/dev/null
	for ((r = 1; r <= PIX_ROUNDS; r++)); do
		order="nginx pixelsrv"
		[ $((r % 2)) = 0 ] && order="pixelsrv nginx"
		for mode in keepalive close; do
			for server in $order; do
				pix_run "$server" "$mode" "$PIX_SECS"
			done
		done
	done
	for server in $order; do
		pix_run "$server" keepalive "$PIX_LONG"
	done
	[ -z "$B_PROFILE" ] || pix_profile
	B_HWM[nginx worker]=$(b_hwm "$PIX_NGINX_WORKER")
	B_HWM[beacon-pixelsrv]=$(b_hwm "$PX_PID")
	pix_summary
	b_md "" "Every pixelsrv run: event rows in PostgreSQL after draining = opens answered" \
		"($(b_fmt_int "$PIX_ROWS_TOTAL") rows for $(b_fmt_int "$PIX_ANSWERED_TOTAL") answered opens over all runs)."
	# the figures the goals are judged on
	local ka=PIX_keepalive_${PIX_SECS}_RPS cl=PIX_close_${PIX_SECS}_RPS lg=PIX_keepalive_${PIX_LONG}_RPS
	local nka=PIX_N_keepalive_${PIX_SECS}_RPS ncl=PIX_N_close_${PIX_SECS}_RPS nlg=PIX_N_keepalive_${PIX_LONG}_RPS
	local p99=PIX_keepalive_${PIX_SECS}_P99 dr=PIX_keepalive_${PIX_LONG}_DR sustained
	# sustained: rows in PostgreSQL per second of load plus drain
	sustained=$(awk -v r="${!lg}" -v s="$PIX_LONG" -v d="${!dr}" 'BEGIN { printf "%.0f", r * s / (s + d) }')
	PIX_GOAL_KA=$(b_div "${!ka}" "${!nka}")
	PIX_GOAL_CL=$(b_div "${!cl}" "${!ncl}")
	PIX_GOAL_LONG=$(b_div "$sustained" "${!nlg}")
	PIX_GOAL_P99=$(b_div "${!p99}" 1000 %.3f)
	b_md "" "Over the ${PIX_LONG} s run, events reached PostgreSQL at $(b_fmt_int "$sustained")/s" \
		"(rows ÷ (load + drain time)): $(b_ratio "$sustained" "${!nlg}") of nginx's requests/s."
	local m bound
	for m in keepalive close; do
		printf -v "PIX_BOUND_$m" '%s' "CPU per request: pixelsrv HTTP thread $(b_median $(pix_col pixelsrv $m "$PIX_SECS" 9)) µs + writer $(b_median $(pix_col pixelsrv $m "$PIX_SECS" 10)) µs + PostgreSQL $(b_median $(pix_col pixelsrv $m "$PIX_SECS" 11)) µs, against nginx's worker $(b_median $(pix_col nginx $m "$PIX_SECS" 8)) µs, with wrk on the same 2 cores"
	done
	bound="${PIX_HOT:+$PIX_HOT; }"
	b_goal "pixelsrv/nginx keep-alive, ${PIX_SECS} s" 1.0 "$PIX_GOAL_KA" ge "$bound$PIX_BOUND_keepalive"
	b_goal "pixelsrv/nginx Connection: close, ${PIX_SECS} s" 1.0 "$PIX_GOAL_CL" ge "$PIX_BOUND_close"
	b_goal "pixelsrv/nginx ${PIX_LONG} s, every event in PostgreSQL" 0.8 "$PIX_GOAL_LONG" ge \
		"events reached PostgreSQL at $(b_fmt_int "$sustained")/s (drain ${!dr} s after the load)${ING_C:+; raw COPY of the same rows: $(b_fmt_int "$ING_C")/s}"
	b_goal "pixelsrv ${PIX_LONG} s: drain after the load (s)" 2.0 "${!dr}" le \
		"the writer stores at the rate PostgreSQL takes while wrk, the HTTP thread and PostgreSQL share 2 cores"
	b_goal "pixelsrv p99 keep-alive (ms)" 1.0 "$PIX_GOAL_P99" le \
		"nginx p99 in the same rounds: $(b_median $(pix_col nginx keepalive "$PIX_SECS" 7)) µs; the HTTP thread shares 2 cores with the writer, PostgreSQL and wrk"
}
