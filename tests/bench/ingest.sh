# NAME
#	ingest.sh - the ingest benchmark: events/s from pixelsrv's queue to
#	PostgreSQL against raw COPY of the same rows
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/ingest.sh"; bench_ingest
#
# DESCRIPTION
#	$B_BIN/ingest_bench (tests/bench/ingest_bench.c) runs pixelsrv's own
#	writer thread on ING_N events pre-loaded in its queue file (decode,
#	classification, GeoIP, User-Agent, binary COPY formatting, COPY batches of
#	1000 into beacon.events with the schema's indexes and triggers; rows
#	go out in chunks while the rest of the batch is formatted), and
#	in the other mode COPYs the writer's exact rows, formatted
#	beforehand, in the same batches from a plain libpq session.  Three
#	more runs COPY the same rows into tables with the same columns: one
#	partitioned like beacon.events with its indexes but no trigger, one
#	plain with the indexes, one bare (no index, partition
#	or trigger), to show what each part of the schema costs.  Tables
#	are emptied before every run; the five take turns
#	for ING_ROUNDS rounds after one untimed warm-up, and the row count
#	is checked after each.  With the production-size City database
#	(b_geo_db), the events' addresses in the GeoIP test networks are
#	replaced by addresses inside its networks (ingest_bench -A), and
#	\`ingest_bench -m geo\` times geo_lookup() alone, against it and
#	against the test fixture.

# ing_geo CITY_DB [ADDRS] - the result line of ingest_bench -m geo
ing_geo() {
	timeout 600 "$B_BIN/ingest_bench" -m geo -n "$ING_GEO_N" -g "$1" -a "$T_DIR/geo/asn.mmdb" ${2:+-A "$2"} ||
		t_fail "ingest_bench -m geo $1 failed"
}

# ing_run - one ingest_bench run; prints its result line
ing_run() {
	local mode=$1 table=${2:-} out pg0 pg1
	pg_query "TRUNCATE beacon.events, bench.events_bare, bench.events_idx, bench.events_part" >/dev/null
	pg_psql -c 'CHECKPOINT' >/dev/null
	pg0=$(b_ticks_tree "$(pg_pid)")
	out=$(timeout 600 "$B_BIN/ingest_bench" -m "$mode" ${table:+-t "$table"} -c "$BEACON_CONNINFO" \
		-d "$T_DIR/ingest" -n "$ING_N" -u /usr/share/uap-core/regexes.yaml \
		-M "$BEACON_SRC/pixelsrv/mail-clients.yaml" -g "$B_CITY_DB" ${B_GEO_ADDRS:+-A "$B_GEO_ADDRS"} \
		-a "$T_DIR/geo/asn.mmdb" -r "$BEACON_SRC/tests/fixtures/apple-relay.csv" -x "$BEACON_SRC/pixelsrv/machines.yaml") ||
		t_fail "ingest_bench -m $mode ${table} failed"
	pg1=$(b_ticks_tree "$(pg_pid)")
	local rows
	rows=$(pg_query "SELECT count(*) FROM ${table:-beacon.events}")
	[ "$rows" = "$ING_N" ] || t_fail "ingest $mode: $rows rows for $ING_N events"
	printf '%s pg_us_per_event=%s\n' "$out" "$(b_div "$(b_us $((pg1 - pg0)))" "$ING_N" %.2f)"
}

# ing_field - NAME=VALUE of a result line
ing_field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

# bench_ingest - the whole ingest section
bench_ingest() {
	local r w=() c=() b=() x=() p=() wl cl bl xl pl enrich=() w_cpu=() pg_w=() pg_c=() pg_b=() pg_x=() pg_p=() c_cpu=()
	b_md "" "## Ingest: pixelsrv's writer, queue → PostgreSQL" ""
	mkdir -p "$T_DIR/ingest"
	chown nobody "$T_DIR/ingest" 2>/dev/null || true
	pg_psql -c 'CREATE SCHEMA IF NOT EXISTS bench' \
		-c 'CREATE TABLE IF NOT EXISTS bench.events_bare (LIKE beacon.events)' \
		-c 'CREATE TABLE IF NOT EXISTS bench.events_idx (LIKE beacon.events)' \
		-c 'CREATE TABLE IF NOT EXISTS bench.events_part (LIKE beacon.events) PARTITION BY RANGE (at)' >/dev/null
	# the partitions beacon.events has, same names and bounds
	local part bound
	while IFS='|' read -r part bound; do
		[ -n "$part" ] || continue
		pg_query "CREATE TABLE IF NOT EXISTS bench.$part PARTITION OF bench.events_part $bound" </dev/null >/dev/null ||
			t_fail "cannot copy partition $part"
	done < <(pg_query "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'beacon.events'::regclass")
	# the indexes beacon.events has, whatever sql/schema makes them
	local def
	ING_IDX=
	while IFS= read -r def; do
		[ -n "$def" ] || continue
		pg_query "$(sed 's/^CREATE \(UNIQUE \)\{0,1\}INDEX [^ ]* ON \(ONLY \)\{0,1\}beacon\.events /CREATE \1INDEX ON bench.events_idx /' <<<"$def")" </dev/null >/dev/null ||
			t_fail "cannot copy index: $def"
		pg_query "$(sed 's/^CREATE \(UNIQUE \)\{0,1\}INDEX [^ ]* ON \(ONLY \)\{0,1\}beacon\.events /CREATE \1INDEX ON bench.events_part /' <<<"$def")" </dev/null >/dev/null ||
			t_fail "cannot copy index: $def"
		ING_IDX="${ING_IDX:+$ING_IDX, }$(sed 's/.* USING //' <<<"$def")"
	done < <(pg_query "SELECT indexdef FROM pg_indexes WHERE schemaname = 'beacon' AND tablename = 'events' ORDER BY indexname")
	ING_TRIG=$(pg_query "SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger
		WHERE tgrelid = 'beacon.events'::regclass AND NOT tgisinternal")
	b_md "\`ingest_bench -m writer\`: pixelsrv's writer thread (writer_start) on ${ING_N} events pre-loaded in" \
		"its queue file, batch_size 1000, into \`beacon.events\` (partitioned by month, indexes: $ING_IDX;" \
		"triggers: ${ING_TRIG:-none}).  \`-m copy\`: the writer's exact COPY rows," \
		"enriched and formatted beforehand, COPYed in the same batches from plain libpq; \`-t\`: the same" \
		"into \`bench.events_part\` (LIKE beacon.events, the same partitions and indexes, no trigger)," \
		"\`bench.events_idx\` (the same indexes, no partition, no trigger)" \
		"and \`bench.events_bare\` (no index either)." \
		"PostgreSQL: fsync ${PG_FSYNC:-off}; CPU from \`/proc\` of every PostgreSQL process."
	# warm-up: partitions, caches, the UA cache of a fresh process are alike in every run
	ing_run writer >/dev/null
	for ((r = 1; r <= ING_ROUNDS; r++)); do
		if [ $((r % 2)) = 1 ]; then
			wl=$(ing_run writer) cl=$(ing_run copy) pl=$(ing_run copy bench.events_part)
			xl=$(ing_run copy bench.events_idx) bl=$(ing_run copy bench.events_bare)
		else
			bl=$(ing_run copy bench.events_bare) xl=$(ing_run copy bench.events_idx)
			pl=$(ing_run copy bench.events_part) cl=$(ing_run copy) wl=$(ing_run writer)
		fi
		w+=("$(ing_field "$wl" events_per_s)") c+=("$(ing_field "$cl" events_per_s)")
		b+=("$(ing_field "$bl" events_per_s)") x+=("$(ing_field "$xl" events_per_s)")
		p+=("$(ing_field "$pl" events_per_s)") pg_p+=("$(ing_field "$pl" pg_us_per_event)")
		w_cpu+=("$(ing_field "$wl" cpu_us_per_event)") c_cpu+=("$(ing_field "$cl" cpu_us_per_event)")
		enrich+=("$(ing_field "$cl" enrich_us)")
		pg_w+=("$(ing_field "$wl" pg_us_per_event)") pg_c+=("$(ing_field "$cl" pg_us_per_event)")
		pg_b+=("$(ing_field "$bl" pg_us_per_event)") pg_x+=("$(ing_field "$xl" pg_us_per_event)")
		b_say "ingest round $r: writer ${w[-1]}/s, raw COPY ${c[-1]}/s, bare table ${b[-1]}/s"
	done
	ING_W=$(b_median "${w[@]}") ING_C=$(b_median "${c[@]}") ING_B=$(b_median "${b[@]}")
	ING_X=$(b_median "${x[@]}") ING_P=$(b_median "${p[@]}") ING_ENRICH=$(b_median "${enrich[@]}")
	ING_PG_W=$(b_median "${pg_w[@]}") ING_CPU_W=$(b_median "${w_cpu[@]}")
	{
		echo "path|events/s|vs raw COPY|client CPU µs/event|PostgreSQL CPU µs/event"
		echo "pixelsrv writer → beacon.events|$(b_fmt_int "$ING_W")|$(b_ratio "$ING_W" "$ING_C")|$(b_median "${w_cpu[@]}")|$(b_median "${pg_w[@]}")"
		echo "raw COPY → beacon.events|$(b_fmt_int "$ING_C")|1.00x|$(b_median "${c_cpu[@]}")|$(b_median "${pg_c[@]}")"
		echo "raw COPY → its partitions and indexes, no trigger|$(b_fmt_int "$ING_P")|$(b_ratio "$ING_P" "$ING_C")|$(b_median "${c_cpu[@]}")|$(b_median "${pg_p[@]}")"
		echo "raw COPY → table with its indexes|$(b_fmt_int "$ING_X")|$(b_ratio "$ING_X" "$ING_C")|$(b_median "${c_cpu[@]}")|$(b_median "${pg_x[@]}")"
		echo "raw COPY → bare table|$(b_fmt_int "$ING_B")|$(b_ratio "$ING_B" "$ING_C")|$(b_median "${c_cpu[@]}")|$(b_median "${pg_b[@]}")"
	} | b_table "Ingest, ${ING_N} events per run, medians of ${ING_ROUNDS}"
	b_md "" "Enrichment + COPY formatting alone (event_enrich + event_bin_row, one thread):" \
		"$ING_ENRICH µs CPU per event."
	# geo_lookup() alone: the run's City database, and the test fixture for scale
	local gl gf=
	gl=$(ing_geo "$B_CITY_DB" "$B_GEO_ADDRS")
	[ -n "$B_GEO_ADDRS" ] && gf=$(ing_geo "$T_DIR/geo/city.mmdb")
	ING_GEO_US=$(ing_field "$gl" us_per_lookup)
	local vs=
	[ -n "$gf" ] && vs="; $(ing_field "$gf" us_per_lookup) µs against the few networks of the test fixture
(the big database costs $(b_ratio "$ING_GEO_US" "$(ing_field "$gf" us_per_lookup)") as much)"
	b_md "" "\`geo_lookup()\` alone (\`ingest_bench -m geo\`: City + ASN, one thread, $(b_fmt_int "$ING_GEO_N") lookups over" \
		"the events' addresses, of which $(b_fmt_int "$(ing_field "$gl" country_hits)") found a country and" \
		"$(b_fmt_int "$(ing_field "$gl" city_hits)") a city): **$ING_GEO_US µs per call** against the run's City database$vs."
	b_goal "ingest, writer queue → PostgreSQL (events/s)" 300000 "$ING_W" ge \
		"GeoIP: ${ING_GEO_US} µs/lookup; PostgreSQL: raw COPY of the same rows (binary, as the writer) $(b_fmt_int "$ING_C")/s into beacon.events, $(b_fmt_int "$ING_P")/s into its partitions and indexes without the statement triggers (whose transition table also makes COPY insert row by row), $(b_fmt_int "$ING_X")/s into a plain table with its indexes, $(b_fmt_int "$ING_B")/s bare; the writer thread spends ${ING_CPU_W} µs CPU/event (enrichment $ING_ENRICH) and PostgreSQL ${ING_PG_W} µs/event, overlapped (rows go out in chunks while the rest of the batch is formatted)"
}
