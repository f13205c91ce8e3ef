# NAME
#	download.sh - the download-path benchmark: beacon-pixelsrv against nginx
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/download.sh"; bench_download
#
# DESCRIPTION
#	A store as beacon-milter writes it (attachment_dir with a 1 MiB and
#	a 10 MiB blob of random bytes, <aa>/<sha256>, and one recipient's
#	manifest t/<rid-hex> naming them as attachments 1 and 2), served
#	two ways on loopback, each idle while the other is loaded:
#	beacon-pixelsrv (threads = 1, the pixel section's configuration
#	with [pixelsrv] attachment_dir) answering the signed
#	/d/<token>/<n>/<sig> URL -- signature, manifest, blob opened
#	O_NOFOLLOW, sendfile, a download event COPYed to PostgreSQL -- and
#	the same nginx worker as the pixel section (sendfile on) sending
#	the same file, hard-linked under its /files/.  Each run is
#	wrk -t1 -c$DL_CONNS, keep-alive, for DL_SECS seconds with
#	tests/bench/pixel.lua (the same request line and headers for
#	both); the servers take turns (A B, then B A) for DL_ROUNDS rounds,
#	per file size.
#
#	After every pixelsrv run it waits until PostgreSQL holds one row
#	per download it answered (beacon_pixelsrv_requests_total, endpoint
#	download, status 200), each of the file's attachment number, complete
#	with bytes = its size, or partial with at most that or none (one per
#	connection: the transfers wrk cuts when its time is up), and fails
#	otherwise; then empties the table.
#
#	Figures: MB/s (10^6 bytes of body per second: requests x size /
#	duration), requests/s, p50 and p99 latency, CPU per request of the
#	server, and pixelsrv/nginx as a ratio.  Needs beacon-pixelsrv with
#	the /d/ route (a build that has none fails the section).

DL_CONNS=${DL_CONNS:-8}
DL_RID=0d0a0d0a0d0a0d0a0d0a0d0a0d0a0d0a
DL_SIZES="1 10"

# dl_store - the blobs and the manifest in $T_DIR/attachments, the same files under nginx's /files/
dl_store() {
	local att=$T_DIR/attachments files=$T_DIR/nginx/files mb sha n=0
	mkdir -p "$att/t" "$files"
	: >"$att/t/$DL_RID"
	for mb in $DL_SIZES; do
		n=$((n + 1))
		head -c $((mb * 1048576)) /dev/urandom >"$T_DIR/blob.tmp"
		sha=$(sha256sum "$T_DIR/blob.tmp" | cut -c1-64)
		mkdir -p "$att/${sha:0:2}"
		mv "$T_DIR/blob.tmp" "$att/${sha:0:2}/$sha"
		ln "$att/${sha:0:2}/$sha" "$files/$sha"
		printf '%s\t%s\t%s\t0\tapplication/pdf\treport-%smb.pdf\n' "$n" "$sha" \
			$((mb * 1048576)) "$mb" >>"$att/t/$DL_RID"
		printf -v "DL_SHA_$mb" '%s' "$sha"
		printf -v "DL_N_$mb" '%s' "$n"
	done
	# both servers run as nobody when the benchmark runs as root
	chmod -R a+rX "$att" "$T_DIR/nginx"
	chmod a+x "$T_DIR"
}

# dl_answered - downloads answered 200 so far
dl_answered() {
	pix_metric 'beacon_pixelsrv_requests_total{endpoint="download",status="200"}'
}

# dl_run SERVER MB - one load; appends "server mb secs requests rps mbps p50 p99 cpu_us errors"
dl_run() {
	local server=$1 mb=$2 port pid line req dur t0 t1 a0 a1 rows errors size path all good cut
	local sha_var=DL_SHA_$mb n_var=DL_N_$mb
	size=$((mb * 1048576))
	if [ "$server" = nginx ]; then
		port=$PIX_NGINX_PORT pid=$PIX_NGINX_WORKER path=/files/${!sha_var}
	else
		local p_var=DL_PATH_$mb
		port=$PX_PORT pid=$PX_PID path=${!p_var}
		a0=$(dl_answered)
	fi
	t0=$(b_ticks "$pid")
	line=$(BENCH_PATH="$path" BENCH_CLOSE=0 timeout $((DL_SECS + 60)) \
		wrk -t1 -c"$DL_CONNS" -d"${DL_SECS}s" --timeout 30s -s "$BEACON_SRC/tests/bench/pixel.lua" \
		"http://127.0.0.1:$port/" 2>&1) || { printf '%s\n' "$line" >&2; t_fail "wrk failed"; }
	t1=$(b_ticks "$pid")
	line=$(grep '^BENCH ' <<<"$line") || t_fail "wrk printed no summary"
	req=$(pix_field "$line" requests)
	dur=$(pix_field "$line" duration_us)
	errors=$(($(pix_field "$line" connect) + $(pix_field "$line" read) + $(pix_field "$line" write) +
		$(pix_field "$line" status) + $(pix_field "$line" timeout)))
	[ "$req" -gt 0 ] || t_fail "$server: wrk got no answer for ${mb} MiB"
	[ "$errors" = 0 ] || t_fail "$server: $errors errors downloading ${mb} MiB"
	if [ "$server" = pixelsrv ]; then
		a1=$(dl_answered)
		[ "$((a1 - a0))" -ge "$req" ] ||
			t_fail "pixelsrv counted $((a1 - a0)) answered downloads, wrk got $req answers"
		if ! b_wait_until "[ \"\$(pg_query 'SELECT count(*) FROM beacon.events')\" -ge $((a1 - a0)) ]" \
			"$PIX_DRAIN_MAX"; then
			pix_show_state
			t_fail "pixelsrv: download events not all written $PIX_DRAIN_MAX s after the load"
		fi
		# the transfers wrk cuts when its time is up are partial rows: at most one a connection
		rows=$(pg_query "SELECT count(*) || ' ' || count(*) FILTER (WHERE kind = 'download'
			AND attachment_id = ${!n_var} AND (bytes = $size AND NOT partial
			OR partial AND (bytes IS NULL OR bytes <= $size))) || ' ' || count(*) FILTER (WHERE partial)
			FROM beacon.events")
		read -r all good cut <<<"$rows"
		[ "$all" = "$((a1 - a0))" ] && [ "$good" = "$all" ] && [ "$cut" -le "$DL_CONNS" ] ||
			t_fail "pixelsrv: ${mb} MiB: $all event rows for $((a1 - a0)) downloads answered, $good of them downloads of the file with their bytes, $cut partial (at most $DL_CONNS cut by wrk's end)"
		DL_PARTIAL_TOTAL=$((DL_PARTIAL_TOTAL + cut))
		pg_query 'TRUNCATE beacon.events' >/dev/null
		DL_ROWS_TOTAL=$((DL_ROWS_TOTAL + a1 - a0))
	fi
	printf '%s %s %s %s %s %s %s %s %s\n' "$server" "$mb" "$DL_SECS" "$req" \
		"$(b_div "$req" "$(b_div "$dur" 1000000 %.6f)" %.1f)" \
		"$(b_div "$((req * size))" "$dur" %.1f)" \
		"$(pix_field "$line" p50_us)" "$(pix_field "$line" p99_us)" \
		"$(b_div "$(b_us $((t1 - t0)))" "$req" %.1f)" >>"$T_DIR/download.runs"
	b_say "download: $server ${mb} MiB: $req downloads, $(tail -n 1 "$T_DIR/download.runs" | cut -d' ' -f6) MB/s"
}

# dl_col SERVER MB COLUMN - one column of the matching runs
dl_col() {
	awk -v sv="$1" -v mb="$2" -v c="$3" '$1 == sv && $2 == mb { print $c }' "$T_DIR/download.runs"
}

# bench_download - the whole download-path section
bench_download() {
	local r mb server order rows=() n_mbps mbps p
	DL_PARTIAL_TOTAL=0
	b_md "" "## Download path" ""
	b_md "A 1 MiB and a 10 MiB file of random bytes stored as beacon-milter stores them" \
		"(\`<aa>/<sha256>\` + the recipient's manifest), served by beacon-pixelsrv \`threads = 1\` through" \
		"the signed \`/d/<token>/<n>/<sig>\` URL (signature, manifest, \`O_NOFOLLOW\` open, sendfile, one" \
		"\`download\` event COPYed to PostgreSQL per request) and by the pixel section's nginx worker" \
		"(\`sendfile on\`) as a static file, the same inode.  Load: \`wrk -t1 -c${DL_CONNS} -d${DL_SECS}s\`," \
		"keep-alive, servers alternating, ${DL_ROUNDS} round(s) per size.  MB/s = 10⁶ bytes of body per second."
	DL_ROWS_TOTAL=0
	: >"$T_DIR/download.runs"
	[ -n "$PIX_NGINX_PID" ] || pix_nginx_start
	[ -n "${PX_PID:-}" ] || pix_px_start
	dl_store
	for mb in $DL_SIZES; do
		local n_var=DL_N_$mb
		p=$("$B_BIN/dlurl_mint" "$PX_SECRET" "$DL_RID" $(($(date +%s) + 86400)) "${!n_var}") ||
			t_fail "dlurl_mint failed"
		printf -v "DL_PATH_$mb" '%s' "$p"
		# one request each: both answer with the same bytes
		local sha_var=DL_SHA_$mb
		[ "$(curl -s --max-time 30 "http://127.0.0.1:$PX_PORT$p" | sha256sum | cut -c1-64)" = "${!sha_var}" ] ||
			t_fail "pixelsrv does not serve the ${mb} MiB file ($(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PX_PORT$p"))"
		[ "$(curl -s --max-time 30 "http://127.0.0.1:$PIX_NGINX_PORT/files/${!sha_var}" | sha256sum | cut -c1-64)" = "${!sha_var}" ] ||
			t_fail "nginx does not serve the ${mb} MiB file"
	done
	b_wait_until "[ \"\$(pg_query 'SELECT count(*) FROM beacon.events')\" -ge 2 ]" 20 ||
		t_fail "pixelsrv did not write the first download events"
	pg_query 'TRUNCATE beacon.events' >/dev/null
	for ((r = 1; r <= DL_ROUNDS; r++)); do
		order="nginx pixelsrv"
		[ $((r % 2)) = 0 ] && order="pixelsrv nginx"
		for mb in $DL_SIZES; do
			for server in $order; do
				dl_run "$server" "$mb"
			done
		done
	done
	for mb in $DL_SIZES; do
		n_mbps=$(b_median $(dl_col nginx "$mb" 6))
		for server in nginx pixelsrv; do
			mbps=$(b_median $(dl_col "$server" "$mb" 6))
			rows+=("$server|${mb} MiB|$(dl_col "$server" "$mb" 4 | wc -l)× ${DL_SECS} s|$(b_fmt_int "$mbps")|$(b_ratio "$mbps" "$n_mbps")|$(b_median $(dl_col "$server" "$mb" 5))|$(b_median $(dl_col "$server" "$mb" 7))|$(b_median $(dl_col "$server" "$mb" 8))|$(b_median $(dl_col "$server" "$mb" 9))")
			[ "$server" = pixelsrv ] && printf -v "DL_GOAL_$mb" '%s' "$(b_div "$mbps" "$n_mbps")"
		done
	done
	{
		echo "server|file|runs|MB/s|vs nginx|requests/s|p50 µs|p99 µs|CPU µs/req"
		printf '%s\n' "${rows[@]}"
	} | b_table "Download path: MB/s, latency and CPU (medians; ratio against nginx in the same rounds)"
	b_md "" "Every pixelsrv run: one \`download\` row per download answered, complete with bytes = the" \
		"file's size, or partial (the transfers in flight when wrk stopped): $(b_fmt_int "$DL_ROWS_TOTAL") rows" \
		"over all runs, $DL_PARTIAL_TOTAL partial."
	for mb in $DL_SIZES; do
		local g=DL_GOAL_$mb
		b_goal "pixelsrv/nginx download MB/s, ${mb} MiB" 0.8 "${!g}" ge \
			"both send with sendfile from the page cache; pixelsrv adds the signature, the manifest read and an event per request, with wrk on the same 2 cores"
	done
}
