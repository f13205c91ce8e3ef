# NAME
#	storage.sh - the storage benchmark: bytes on disk per event, per
#	message and per recipient, and the size of a month's partition
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/storage.sh"; bench_storage
#
# DESCRIPTION
#	Events: pixelsrv's writer (ingest_bench -m writer, as the ingest
#	section runs it) stores ING_N events; their rows, enriched as in
#	production, are then stored again with a token of their own each
#	(the benchmark's 64 recipients would let the index on token_id
#	shrink by deduplication: one token per event is its largest size),
#	by one INSERT into the emptied beacon.events.  Bytes per event =
#	growth of every partition (heap, indexes, TOAST, free space and
#	visibility maps, after VACUUM) / rows.
#
#	Messages: the rows beacon-milter wrote in the mail section (its
#	newsletter: 20 links; the runs of one recipient send one message
#	again and again, stored once; those of ten have no Message-ID and
#	are split into copies, each message stored with its 10 recipients),
#	measured against empty tables with the same columns and indexes
#	(CREATE TABLE ... (LIKE ... INCLUDING ALL)), all after VACUUM:
#	bytes per message = messages + links + attachments, bytes per
#	recipient = recipients.  Without the mail section there are no
#	such rows and no figure.
#
#	Then the size of one month's partition of beacon.events for 1 M,
#	100 M and 1 B events a month: bytes per event times events.

# st_size - bytes on disk of a table (all its partitions), and of its indexes
st_size() {
	pg_query "WITH t AS (SELECT relid FROM pg_partition_tree('$1') WHERE isleaf
			   UNION SELECT '$1'::regclass WHERE NOT EXISTS
				(SELECT 1 FROM pg_partition_tree('$1')))
		  SELECT coalesce(sum(pg_total_relation_size(relid)), 0) || ' ' ||
			 coalesce(sum(pg_indexes_size(relid)), 0) FROM t"
}

# st_vacuum - VACUUM the tables named, so that free space and visibility maps exist
st_vacuum() {
	local IFS=,
	pg_psql -c "VACUUM (ANALYZE) $*" >/dev/null
}

# st_human - bytes as "1.2 GB" (powers of 1000)
st_human() {
	awk -v b="$1" 'BEGIN {
		if (b == "-" || b == "") { print "-"; exit }
		split("B kB MB GB TB PB", u, " "); i = 1
		while (b >= 1000 && i < 6) { b /= 1000; i++ }
		printf (i == 1 ? "%d %s\n" : "%.1f %s\n"), b, u[i] }'
}

# bench_storage - the whole storage section
bench_storage() {
	local s0 s1 rows ev ev_idx t m r n n_msg n_rcpt n_split msg_b=0 msg_i=0 rcpt_b=0 rcpt_i=0 sz
	b_md "" "## Storage: bytes on disk" ""
	mkdir -p "$T_DIR/ingest"
	chown nobody "$T_DIR/ingest" 2>/dev/null || true
	pg_psql -c 'CREATE SCHEMA IF NOT EXISTS bench' \
		-c 'CREATE TABLE IF NOT EXISTS bench.events_bare (LIKE beacon.events)' \
		-c 'CREATE TABLE IF NOT EXISTS bench.events_idx (LIKE beacon.events)' >/dev/null

	# events: the writer's rows, each with a token of its own
	ing_run writer >/dev/null
	pg_psql -c 'CREATE TABLE bench.events_rows AS SELECT * FROM beacon.events' \
		-c 'UPDATE bench.events_rows SET token_id = gen_random_uuid()' \
		-c 'TRUNCATE beacon.events' >/dev/null
	st_vacuum beacon.events
	s0=$(st_size beacon.events)
	pg_psql -c 'INSERT INTO beacon.events SELECT * FROM bench.events_rows' >/dev/null
	st_vacuum beacon.events
	s1=$(st_size beacon.events)
	rows=$(pg_query 'SELECT count(*) FROM beacon.events')
	[ "$rows" = "$ING_N" ] || t_fail "storage: $rows event rows for $ING_N events"
	ev=$(b_div "$((${s1% *} - ${s0% *}))" "$rows" %.0f)
	ev_idx=$(b_div "$((${s1#* } - ${s0#* }))" "$rows" %.0f)
	pg_psql -c 'TRUNCATE beacon.events' -c 'DROP TABLE bench.events_rows' >/dev/null

	# messages and recipients: beacon-milter's rows against empty twins
	n_msg=$(pg_query 'SELECT count(*) FROM beacon.messages')
	n_rcpt=$(pg_query 'SELECT count(*) FROM beacon.recipients')
	n_split=$(pg_query 'SELECT count(*) FROM beacon.messages WHERE recipients > 1')
	if [ "$n_msg" -gt 0 ] && [ "$n_rcpt" -gt 0 ]; then
		for t in messages links attachments recipients; do
			pg_psql -c "CREATE TABLE bench.empty_$t (LIKE beacon.$t INCLUDING ALL)" >/dev/null
		done
		st_vacuum beacon.messages beacon.links beacon.attachments beacon.recipients \
			bench.empty_messages bench.empty_links bench.empty_attachments bench.empty_recipients
		for t in messages links attachments recipients; do
			s1=$(st_size "beacon.$t") s0=$(st_size "bench.empty_$t")
			sz=$((${s1% *} - ${s0% *}))
			if [ "$t" = recipients ]; then
				rcpt_b=$sz rcpt_i=$((${s1#* } - ${s0#* }))
			else
				msg_b=$((msg_b + sz)) msg_i=$((msg_i + ${s1#* } - ${s0#* }))
			fi
			pg_psql -c "DROP TABLE bench.empty_$t" >/dev/null
		done
		m=$(b_div "$msg_b" "$n_msg" %.0f) r=$(b_div "$rcpt_b" "$n_rcpt" %.0f)
		ST_MSG_IDX=$(b_div "$msg_i" "$n_msg" %.0f) ST_RCPT_IDX=$(b_div "$rcpt_i" "$n_rcpt" %.0f)
	else
		m=- r=- ST_MSG_IDX=- ST_RCPT_IDX=- n_msg=0 n_rcpt=0
	fi
	ST_EVENT=$ev ST_MSG=$m ST_RCPT=$r

	local msgs="Messages: none stored (the mail section did not run), no figure."
	[ "$n_msg" -gt 0 ] &&
		msgs="Messages: the rows beacon-milter wrote in the mail section ($n_msg messages of the 28 KB
newsletter with 20 links, $n_split of them with 10 recipients split into copies; $n_rcpt
recipients), against empty tables with the same indexes."
	b_md "Events: pixelsrv's writer stored $ING_N events (\`ingest_bench -m writer\`), which were then" \
		"stored again, each with a token of its own, by one INSERT into the emptied \`beacon.events\`." \
		"$msgs" "Bytes: heap, indexes, TOAST, free space and visibility maps" \
		"(\`pg_total_relation_size\`, every partition), after VACUUM."
	{
		echo "row|rows|bytes/row|of which indexes"
		echo "event (beacon.events)|$(b_fmt_int "$rows")|$ev|$ev_idx"
		echo "message (messages, links, attachments)|$(b_fmt_int "$n_msg")|$m|$ST_MSG_IDX"
		echo "recipient (recipients)|$(b_fmt_int "$n_rcpt")|$r|$ST_RCPT_IDX"
	} | b_table "Storage: bytes on disk per row"
	{
		echo "events a month|partition size"
		for n in 1000000 100000000 1000000000; do
			echo "$(b_fmt_int "$n")|$(st_human "$(awk -v e="$ev" -v n="$n" 'BEGIN { print (e == "-") ? "-" : e * n }')")"
		done
	} | b_table "Storage: one month's partition of beacon.events (bytes per event × events)"
}
