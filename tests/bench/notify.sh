# NAME
#	notify.sh - the notifier benchmark: events/s through beacon-notify
#	to a webhook on loopback
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/notify.sh"
#	. "$BEACON_SRC/tests/bench/notify.sh"; bench_notify
#
# DESCRIPTION
#	One sender with one webhook destination, nginx's /hook/ on loopback
#	(the pixel section's nginx, one worker, "return 204" and a log of
#	every request's Beacon-Delivery id), one message with NT_RCPTS
#	recipients; events go into beacon.events by INSERT, so the
#	statement trigger queues one job and one delivery per event, as it
#	does for pixelsrv's COPY.  beacon-notify runs with its defaults
#	(concurrency 8, batch 100) as the beacon role, but for what a
#	webhook on loopback over http needs (allow_private_destinations,
#	allow_http) and a hold of NT_HOLD (1 s): the hold is a fixed wait for
#	pixelsrv's click-burst follow-up, which INSERTed events never get
#	(so the notifier's [pixelsrv] click_burst_seconds is 0 here), and it
#	is left out of the figures: the backlog starts once it has passed,
#	and end to end is counted from when an event became due (its job's
#	created_at, or its time if later, plus the hold).
#
#	backlog	NT_BACKLOG events are queued with the notifier stopped; then
#		it starts and the time until nothing is pending gives
#		deliveries/s (start-up included), with the CPU per delivery
#		of the notifier, of PostgreSQL (claims, state updates, log
#		rows) and of nginx's worker.
#	live	the notifier running, NT_LIVE_RATE events/s offered for
#		NT_LIVE_SECS seconds (one INSERT every 0.1 s from one psql),
#		then the drain: end-to-end latency (event row committed to
#		delivery committed as sent, sent_at - created_at) p50/p99,
#		and the HTTP latency the notifier logged (latency_ms).
#
#	Every run must end with every delivery sent, one notify_log row
#	each, and nginx having logged each Beacon-Delivery id exactly once
#	(none lost, none sent twice); else the section fails, also in QUICK.
#	At the end the destination is removed and the message leaves
#	notify_tokens, so sections after this one pay no notify cost.
#
#	BENCH_NOTIFY_EVENTS=N (default 0, opt-in): first store N other
#	events in the current month's partition, 20 per token (N / 20
#	tokens, none of them notifying), at times spread over the day
#	before, and ANALYZE it, so that both runs look their events up in a
#	large partition (a month of real traffic) instead of an empty one.
#	Its autovacuum is off for the section, so that no VACUUM
#	summarizes its BRIN ranges midway (as for the newest part of a
#	month autovacuum has not reached yet) and every run sees the same
#	table; the runs then delete only their own events.

NT_BENCH_SENDER=bench@notify.example
NT_BENCH_MSG=b0000000-0000-4000-8000-000000000001
NT_HOLD=1
NT_PRELOAD=${BENCH_NOTIFY_EVENTS:-0}

# ntb_setup - the destination on nginx's /hook/, the message and its recipients
ntb_setup() {
	pg_psql >/dev/null <<-EOF
		INSERT INTO beacon.notify_destinations (sender, kind, url, secret)
		VALUES ('$NT_BENCH_SENDER', 'webhook',
			'http://127.0.0.1:$PIX_NGINX_PORT/hook/bench', encode(sha256(random()::text::bytea), 'hex'));
		INSERT INTO beacon.messages (id, message_id, sender, subject, sent_at)
		VALUES ('$NT_BENCH_MSG', 'bench@notify.example', '$NT_BENCH_SENDER',
			'Notifier benchmark', now() - interval '1 hour');
		INSERT INTO beacon.recipients (token_id, message, address, status, key_id, name)
		SELECT ('c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, '$NT_BENCH_MSG',
		       'r' || i || '@example.com', 'tracked', 7, 'Recipient ' || i
		FROM generate_series(1, $NT_RCPTS) i;
	EOF
	[ "$(pg_query "SELECT notify FROM beacon.messages WHERE id = '$NT_BENCH_MSG'")" = t ] ||
		t_fail "notify: the bench message does not notify (messages_notify_default?)"
}

# ntb_events N - the INSERT of N counted events, spread over the recipients
ntb_events() {
	printf "INSERT INTO beacon.events (at, kind, token_id, class, country, city, device, os, client)
		SELECT now(), CASE WHEN i %% 4 = 0 THEN 'click' ELSE 'open' END,
		       ('c0000000-0000-4000-8000-' || lpad(to_hex(1 + i %% %s), 12, '0'))::uuid,
		       'human', 'DE', 'Berlin', 'desktop', 'Linux', 'Thunderbird'
		FROM generate_series(1, %s) i;\n" "$NT_RCPTS" "$1"
}

# ntb_pending - deliveries still pending
ntb_pending() {
	pg_query "SELECT count(*) FROM beacon.notify_deliveries WHERE state = 'pending'"
}

# ntb_check N - every one of the N deliveries sent, logged once, received once by nginx
ntb_check() {
	local n=$1 states logged hooks
	states=$(pg_query "SELECT string_agg(state || ' ' || c, ', ' ORDER BY state)
		FROM (SELECT state, count(*) c FROM beacon.notify_deliveries GROUP BY state) s")
	[ "$states" = "sent $n" ] || t_fail "notify: deliveries by state: $states (expected sent $n)"
	logged=$(pg_query "SELECT count(*) FROM beacon.notify_log WHERE status BETWEEN 200 AND 299")
	[ "$logged" = "$n" ] || t_fail "notify: $logged notify_log rows for $n deliveries"
	# nginx's buffered log: flushed within a second
	b_wait_until "[ \$(wc -l <'$T_DIR/nginx/nginx-hooks.log') -ge $n ]" 5 || true
	hooks=$(awk '$1 == "POST" && $2 == 204 { print $3 }' "$T_DIR/nginx/nginx-hooks.log" | sort | uniq -c |
		awk '{ n++; if ($1 > 1) d++ } END { printf "%d %d\n", n, d }')
	[ "$hooks" = "$n 0" ] ||
		t_fail "notify: nginx got ${hooks% *} distinct Beacon-Delivery ids for $n deliveries, ${hooks#* } more than once"
}

# ntb_reset - empty the queue, the log and nginx's hook log between runs
#	(with a preload: delete only the section's own events)
ntb_reset() {
	if [ "$NT_PRELOAD" -gt 0 ]; then
		pg_query "DELETE FROM beacon.events WHERE token_id IN
			(SELECT token_id FROM beacon.recipients WHERE message = '$NT_BENCH_MSG')" >/dev/null
		pg_query "TRUNCATE beacon.notify_jobs, beacon.notify_deliveries, beacon.notify_log" >/dev/null
	else
		pg_query "TRUNCATE beacon.events, beacon.notify_jobs, beacon.notify_deliveries, beacon.notify_log" >/dev/null
	fi
	: >"$T_DIR/nginx/nginx-hooks.log"
}

# ntb_part - the current month's events partition
ntb_part() {
	pg_query "SELECT 'beacon.events_' || to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')"
}

# ntb_preload N - N events of N / 20 other tokens in the current month's partition, then ANALYZE
ntb_preload() {
	local n=$1 part t0
	part=$(ntb_part)
	t0=$(t_now_us)
	pg_query "ALTER TABLE $part SET (autovacuum_enabled = off)" >/dev/null
	pg_psql >/dev/null <<-EOF || t_fail "notify: the preload of $n events failed"
		INSERT INTO beacon.events (at, kind, token_id, ip, user_agent, device, os, browser, client,
					   country, city, class)
		SELECT w.lo + (i - 1) * (w.hi - w.lo) / $n,
		       CASE WHEN i % 4 = 0 THEN 'click' ELSE 'open' END,
		       ('e0000000-0000-4000-8000-' ||
			lpad(to_hex((hashint4(i) & 2147483647) % greatest($n / 20, 1)), 12, '0'))::uuid,
		       '198.51.100.20', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)', 'mobile', 'iOS',
		       'Mobile Safari', 'Apple Mail', 'DE', 'Berlin', 'human'
		FROM (SELECT greatest(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
				      now() - interval '1 day') AS lo, now() - interval '1 minute' AS hi) w,
		     generate_series(1, $n) i;
		ANALYZE $part;
	EOF
	NTB_PRELOAD_DESC="$(b_fmt_int "$n") other events ($(b_fmt_int $((n / 20))) tokens) in $part, $(pg_query "SELECT pg_size_pretty(pg_total_relation_size('$part'))") with its indexes, stored in $(b_div $(($(t_now_us) - t0)) 1000000 %.0f) s and ANALYZEd, autovacuum off for the section"
	b_say "notify: preloaded $NTB_PRELOAD_DESC"
}

# ntb_pct P - the P-th percentile (0..1) of a numeric SQL expression over the sent deliveries
ntb_pct() {
	pg_query "SELECT round((percentile_cont($1) WITHIN GROUP (ORDER BY $2))::numeric, 1)
		FROM beacon.notify_deliveries d JOIN beacon.notify_jobs j ON j.id = d.job
		WHERE d.state = 'sent'"
}

# ntb_backlog - queue NT_BACKLOG events, start the notifier, time the drain
ntb_backlog() {
	local t0 t1 ti pg0 pg1 ng0 ng1 nt secs rate
	ntb_reset
	ntb_events "$NT_BACKLOG" >"$T_DIR/notify-backlog.sql"
	ti=$(t_now_us)
	pg_psql -f "$T_DIR/notify-backlog.sql" >/dev/null
	NTB_ENQ=$(b_div "$NT_BACKLOG" "$(b_div $(($(t_now_us) - ti)) 1000000 %.6f)" %.0f)
	[ "$(ntb_pending)" = "$NT_BACKLOG" ] || t_fail "notify: $(ntb_pending) deliveries queued for $NT_BACKLOG events"
	sleep "$NT_HOLD"	# the whole backlog due when the notifier starts
	pg0=$(b_ticks_tree "$(pg_pid)")
	ng0=$(b_ticks "$PIX_NGINX_WORKER")
	t0=$(t_now_us)
	nt_start
	B_PIDS[beacon-notify]=$NT_PID
	if ! b_wait_until '[ "$(ntb_pending)" = 0 ]' "$NT_DRAIN_MAX"; then
		tail -n 20 "$NT_LOG" >&2
		t_fail "notify: $(ntb_pending) of $NT_BACKLOG deliveries still pending after $NT_DRAIN_MAX s"
	fi
	t1=$(t_now_us)
	nt=$(b_ticks "$NT_PID")
	pg1=$(b_ticks_tree "$(pg_pid)")
	ng1=$(b_ticks "$PIX_NGINX_WORKER")
	ntb_check "$NT_BACKLOG"
	secs=$(b_div $((t1 - t0)) 1000000 %.2f)
	rate=$(b_div "$NT_BACKLOG" "$secs" %.0f)
	NTB_RATE=$rate
	NTB_ROWS+=("backlog|$(b_fmt_int "$NT_BACKLOG")|$secs|$(b_fmt_int "$rate")|$(b_div "$(b_us "$nt")" "$NT_BACKLOG" %.0f)|$(b_div "$(b_us $((pg1 - pg0)))" "$NT_BACKLOG" %.0f)|$(b_div "$(b_us $((ng1 - ng0)))" "$NT_BACKLOG" %.0f)|$(ntb_pct 0.5 d.latency_ms)|$(ntb_pct 0.99 d.latency_ms)|-|-")
	b_say "notify: backlog of $NT_BACKLOG events sent in $secs s: $rate/s"
}

# the end-to-end latency of a sent delivery in ms, from when its event was due
NTB_DUE_MS="extract(epoch FROM d.sent_at - greatest(j.created_at, j.at) - $NT_HOLD * interval '1 second') * 1000"

# ntb_live - offer NT_LIVE_RATE events/s for NT_LIVE_SECS s to the running notifier
ntb_live() {
	local per=$((NT_LIVE_RATE / 10)) steps=$((NT_LIVE_SECS * 10)) i n t0 t1 nt0 nt1 pg0 pg1 ng0 ng1 secs
	[ "$per" -ge 1 ] || per=1
	n=$((per * steps))
	ntb_reset
	{
		for ((i = 0; i < steps; i++)); do
			ntb_events "$per"
			echo "SELECT pg_sleep(0.1);"
		done
	} >"$T_DIR/notify-live.sql"
	nt0=$(b_ticks "$NT_PID")
	pg0=$(b_ticks_tree "$(pg_pid)")
	ng0=$(b_ticks "$PIX_NGINX_WORKER")
	t0=$(t_now_us)
	timeout $((NT_LIVE_SECS * 3 + 30)) "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$T_DIR/notify-live.sql" \
		>/dev/null || t_fail "notify: the live load failed"
	if ! b_wait_until '[ "$(ntb_pending)" = 0 ]' "$NT_DRAIN_MAX"; then
		tail -n 20 "$NT_LOG" >&2
		t_fail "notify: $(ntb_pending) of $n live deliveries still pending after $NT_DRAIN_MAX s"
	fi
	t1=$(t_now_us)
	nt1=$(b_ticks "$NT_PID")
	pg1=$(b_ticks_tree "$(pg_pid)")
	ng1=$(b_ticks "$PIX_NGINX_WORKER")
	ntb_check "$n"
	secs=$(b_div $((t1 - t0)) 1000000 %.2f)
	NTB_E2E_P99=$(ntb_pct 0.99 "$NTB_DUE_MS")
	NTB_ROWS+=("live, $NT_LIVE_RATE/s offered|$(b_fmt_int "$n")|$secs|$(b_fmt_int "$(b_div "$n" "$secs" %.0f)")|$(b_div "$(b_us $((nt1 - nt0)))" "$n" %.0f)|$(b_div "$(b_us $((pg1 - pg0)))" "$n" %.0f)|$(b_div "$(b_us $((ng1 - ng0)))" "$n" %.0f)|$(ntb_pct 0.5 d.latency_ms)|$(ntb_pct 0.99 d.latency_ms)|$(ntb_pct 0.5 "$NTB_DUE_MS")|$NTB_E2E_P99")
	b_say "notify: live $n events at $NT_LIVE_RATE/s offered, end-to-end p99 $NTB_E2E_P99 ms"
}

# bench_notify - the whole notifier section
bench_notify() {
	NTB_ROWS=()
	[ -x "$BEACON_BUILD/beacon-notify" ] || t_fail "no $BEACON_BUILD/beacon-notify (make first)"
	b_md "" "## Notifier" ""
	b_md "beacon-notify with its defaults (\`concurrency = 8\`, \`batch = 100\`), one webhook destination:" \
		"nginx's \`/hook/\` on loopback (the pixel section's worker, \`return 204\`, a log of each" \
		"Beacon-Delivery id).  Events INSERTed into \`beacon.events\` (the trigger queues one job and one" \
		"delivery each, as for pixelsrv's COPY).  backlog: $(b_fmt_int "$NT_BACKLOG") events queued with the" \
		"notifier stopped, then started: deliveries/s until nothing is pending, start-up included." \
		"live: $NT_LIVE_RATE events/s for $NT_LIVE_SECS s, one INSERT every 0.1 s, then the drain;" \
		"end to end = event due (committed, plus the \`hold\` of $NT_HOLD s for pixelsrv's click-burst" \
		"follow-up, a fixed wait left out) to delivery committed as sent.  CPU from \`/proc/PID/stat\`."
	[ -n "$PIX_NGINX_PID" ] || pix_nginx_start
	NTB_PRELOAD_DESC=
	if [ "$NT_PRELOAD" -gt 0 ]; then
		pg_query "TRUNCATE beacon.events" >/dev/null
		ntb_preload "$NT_PRELOAD"
		b_md "" "BENCH_NOTIFY_EVENTS: $NTB_PRELOAD_DESC; the runs delete only their own events."
	fi
	ntb_setup
	nt_config 'allow_private_destinations = yes' 'allow_http = yes' "hold = $NT_HOLD" \
		'[pixelsrv]' 'click_burst_seconds = 0'
	ntb_backlog
	ntb_live
	B_HWM[beacon-notify]=$(b_hwm "$NT_PID")
	nt_stop
	{
		echo "run|events|seconds|deliveries/s|notifier CPU µs/delivery|PostgreSQL CPU µs/delivery|nginx CPU µs/request|HTTP p50 ms|HTTP p99 ms|end-to-end p50 ms|end-to-end p99 ms"
		printf '%s\n' "${NTB_ROWS[@]}"
	} | b_table "Notifier: events/s from the queue to a webhook on loopback"
	b_md "" "Every run: each delivery sent once (nginx logged every Beacon-Delivery id exactly once)," \
		"one notify_log row each.  Queueing by the events trigger: $(b_fmt_int "$NTB_ENQ") events/s" \
		"(one INSERT of $(b_fmt_int "$NT_BACKLOG") rows, jobs and deliveries included)."
	b_goal "notifier deliveries/s to a loopback webhook (backlog)" 1000 "$NTB_RATE" ge \
		"$(printf '%s' "${NTB_ROWS[0]}" | awk -F'|' '{ printf "notifier %s µs + PostgreSQL %s µs + nginx %s µs CPU per delivery", $5, $6, $7 }'), on the same 2 cores"
	b_goal "notifier end-to-end p99 at $NT_LIVE_RATE events/s (ms)" 1000 "$NTB_E2E_P99" le \
		"the 1 s poll and LISTEN wake-up; HTTP p99 in the same run: $(printf '%s' "${NTB_ROWS[1]}" | cut -d'|' -f9) ms"
	# leave no notify cost to later sections
	pg_query "TRUNCATE beacon.events, beacon.notify_jobs, beacon.notify_deliveries, beacon.notify_log;
		DELETE FROM beacon.notify_destinations WHERE sender = '$NT_BENCH_SENDER';
		UPDATE beacon.messages SET notify = false WHERE id = '$NT_BENCH_MSG';
		DELETE FROM beacon.messages WHERE id = '$NT_BENCH_MSG'" >/dev/null
	[ "$NT_PRELOAD" -gt 0 ] && pg_query "ALTER TABLE $(ntb_part) RESET (autovacuum_enabled)" >/dev/null
	return 0
}
