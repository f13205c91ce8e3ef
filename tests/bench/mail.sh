# NAME
#	mail.sh - the mail-path benchmark: messages/s through a private
#	Postfix with no milter, a no-op milter, beacon-milter and opendkim
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/mail.sh"; bench_mail
#
# DESCRIPTION
#	One private Postfix (tests/lib/postfix.sh) with one smtpd listener
#	per configuration, each with its own smtpd_milters and
#	milter_default_action = tempfail (a filter that fails shows as
#	mail not delivered, never as a fast run without the filter):
#
#	  none        no milter
#	  noop        the no-op filter (tests/bench/noop_milter.c), unix socket
#	  beacon      beacon-milter, unix socket
#	  dkim        Debian's opendkim signing with a fresh 2048-bit key, unix
#	              socket (tests/lib/dkim.sh)
#	  beacon-inet beacon-milter on inet 127.0.0.1
#	  noop-inet   the no-op filter on inet 127.0.0.1 (a stock filter:
#	              no TCP_NODELAY, no TCP_QUICKACK)
#	  noop-10     the no-op filter, 10 recipients a message
#	  beacon-10   beacon-milter, 10 recipients a message (split)
#
#	Mail for bench.example goes to a counting smtp-sink; anything else
#	to the harness's dumping sink.  First one probe message per
#	configuration goes to the dumping sink and is checked (no-op: as
#	sent; beacon: pixel, click URLs, tag header gone; opendkim:
#	DKIM-Signature that verifies), which also warms every path up.  Then, for
#	MAIL_ROUNDS rounds, each configuration in turn (the order reversed
#	every other round) gets
#	  smtp-source -s 4 -m N [-r 10] -F newsletter-28k.eml
#	and the run lasts until the queue is empty; its end is the time the
#	last message left the active queue.  Every run must deliver all its
#	messages; beacon runs must log one "tracked" line per message.
#
#	Figures: messages/s and deliveries/s, ratios, CPU per message of
#	the filter, of Postfix (all its processes) and of PostgreSQL, and
#	how busy the machine was.  With perf (full run), one more beacon
#	run is profiled to name beacon-milter's hot spots.

declare -A ML_PORT ML_SPEC ML_RCPTS ML_N ML_LABEL ML_PID ML_COPIES
ML_ORDER=(none noop beacon dkim beacon-inet noop-inet noop-10 beacon-10)
ML_FAST_PORT=
ML_FAST_PID=
ML_HOT=
ML_DIR=

# ml_fast_sink - a counting smtp-sink for bench.example (no dumps)
ml_fast_sink() {
	ML_FAST_PORT=$(t_free_port)
	smtp-sink -u postfix -c "127.0.0.1:$ML_FAST_PORT" 256 </dev/null >"$ML_DIR/fastsink.out" 2>&1 &
	ML_FAST_PID=$!
	t_on_exit "t_kill_pid $ML_FAST_PID TERM 5"
	if ! t_wait_until "t_port_listening $ML_FAST_PORT || ! t_pid_alive $ML_FAST_PID" 5 ||
		! t_pid_alive "$ML_FAST_PID"; then
		t_fail "counting smtp-sink did not start"
	fi
}

# ml_fast_count - messages the counting sink received so far
ml_fast_count() {
	local v
	v=$(tail -c 80 "$ML_DIR/fastsink.out" | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1)
	echo "${v:-0}"
}

# ml_beacon_start NAME SOCKET - one beacon-milter with its own config
ml_beacon_start() {
	local name=$1 socket=$2 conf=$ML_DIR/$1.conf pid
	cat >"$conf" <<-EOF
		base_url = https://t.bench.example
		secret_file = $PX_SECRET

		[milter]
		socket = $socket
		user = postfix
		pidfile = $ML_DIR/$name.pid
		spool_dir = $ML_DIR/$name-spool
		per_recipient = split
		reinject = inet:$PF_REINJECT_PORT@127.0.0.1

		[database]
		conninfo = $BEACON_CONNINFO
	EOF
	"$BEACON_BUILD/beacon-milter" -f -c "$conf" </dev/null >>"$ML_DIR/$name.log" 2>&1 &
	pid=$!
	ML_PID[$name]=$pid
	t_on_exit "t_kill_pid $pid TERM 15"
}

# ml_noop_start NAME SOCKET - the no-op filter, as user postfix
ml_noop_start() {
	local name=$1 socket=$2 pid
	setpriv --reuid=postfix --regid=postfix --init-groups -- \
		"$B_BIN/noop_milter" "$socket" </dev/null >>"$ML_DIR/$name.log" 2>&1 &
	pid=$!
	ML_PID[$name]=$pid
	t_on_exit "t_kill_pid $pid TERM 15"
}

# ml_wait_filters - every filter listens (socket file or TCP port)
ml_wait_filters() {
	local name spec what
	for name in noop beacon dkim beacon-inet noop-inet; do
		spec=${ML_SPEC[$name]}
		case $spec in
		unix:*) what="[ -S ${spec#unix:} ]" ;;
		inet:*) what="t_port_listening ${spec##*:}" ;;
		esac
		if ! t_wait_until "$what || ! t_pid_alive ${ML_PID[$name]}" 20 ||
			! t_pid_alive "${ML_PID[$name]}"; then
			cat "$ML_DIR/$name.log" >&2 2>/dev/null || true
			t_fail "filter $name did not start"
		fi
	done
}

# ml_listeners - one smtpd per configuration in the private master.cf, reload
ml_listeners() {
	local name
	for name in "${ML_ORDER[@]}"; do
		ML_PORT[$name]=$(t_free_port)
		printf '%s\n' "127.0.0.1:${ML_PORT[$name]} inet n - n - - smtpd" \
			"  -o syslog_name=postfix-bench/$name" \
			"  -o smtpd_milters=${ML_SPEC[$name]}" \
			"  -o milter_default_action=tempfail" >>"$PF_CONF/master.cf"
	done
	script -qec "postfix -c '$PF_CONF' reload" /dev/null </dev/null >"$ML_DIR/reload.out" 2>&1 ||
		{ cat "$ML_DIR/reload.out" >&2; t_fail "postfix reload failed"; }
	for name in "${ML_ORDER[@]}"; do
		t_wait_port "${ML_PORT[$name]}" 10 || t_fail "smtpd for $name not listening"
	done
}

# ml_source NAME N RCPT DOMAIN - smtp-source into NAME's listener
ml_source() {
	local name=$1 n=$2 rcpt=$3 dom=$4 err=$ML_DIR/smtp-source.err msg=$B_BIN/newsletter-28k.eml
	# smtp-source sends one file again and again: with several recipients
	# beacon-milter would rightly take each repeat of one Message-ID to the
	# same recipients for a retry of a message whose copies already left
	# (beacon-milter(8), split) and send no copies.  Without a Message-ID,
	# Postfix gives each message its own (random ids, no copy log).
	[ "$rcpt" -gt 1 ] && msg=$B_BIN/newsletter-28k-nomsgid.eml
	if ! timeout 600 smtp-source -s 4 -m "$n" -r "$rcpt" -M bench-client.example \
		-f news@example.com -t "reader@$dom" -F "$msg" \
		"127.0.0.1:${ML_PORT[$name]}" </dev/null >"$err" 2>&1 || [ -s "$err" ]; then
		cat "$err" >&2
		pf_show_log_
		t_fail "smtp-source into $name failed"
	fi
}

# ml_queue_empty - true when the private queue holds no message
ml_queue_empty() {
	[ -z "$(find "$PF_QUEUE/maildrop" "$PF_QUEUE/incoming" "$PF_QUEUE/active" \
		"$PF_QUEUE/deferred" "$PF_QUEUE/hold" -type f -print -quit 2>/dev/null)" ]
}

# ml_decode - a dump's message with quoted-printable soft breaks joined
ml_decode() {
	pf_sink_message "$1" | perl -pe 's/=\r?\n$//; s/=3D/=/g'
}

# ml_probe NAME - one message to the dumping sink through NAME, checked
ml_probe() {
	local name=$1 before after f n=0 toks
	local rc=${ML_RCPTS[$name]}
	before=$(pf_sink_count)
	ml_source "$name" 1 "$rc" probe.example
	b_wait_until 'ml_queue_empty' 60 || t_fail "probe through $name not delivered"
	# the sink may still be writing the last dump
	b_wait_until "[ \$(pf_sink_count) -gt $before ]" 10 || t_fail "probe through $name not in the sink"
	sleep 0.2
	after=$(pf_sink_count)
	ML_COPIES[$name]=$((after - before))
	toks=
	for f in $(pf_sink_files | tail -n $((after - before))); do
		n=$((n + 1))
		ml_decode "$f" >"$ML_DIR/probe-$name-$n.eml"
		case $name in
		none | noop | noop-inet | noop-10)
			grep -q '^X-Beacon: track' "$ML_DIR/probe-$name-$n.eml" ||
				t_fail "$name changed the message (tag header gone)"
			grep -q 't.bench.example/o/' "$ML_DIR/probe-$name-$n.eml" &&
				t_fail "$name: message has a pixel"
			;;
		beacon | beacon-inet | beacon-10)
			grep -q '^X-Beacon:' "$ML_DIR/probe-$name-$n.eml" &&
				t_fail "$name: tag header not removed ($ML_DIR/probe-$name-$n.eml)"
			grep -q 'src="https://t.bench.example/o/' "$ML_DIR/probe-$name-$n.eml" ||
				t_fail "$name: no pixel in the message ($ML_DIR/probe-$name-$n.eml)"
			[ "$(grep -o 'href="https://t.bench.example/c/[^/"]*/[1-9][0-9]*/' "$ML_DIR/probe-$name-$n.eml" | wc -l)" = 19 ] ||
				t_fail "$name: not 19 click URLs in the message ($ML_DIR/probe-$name-$n.eml)"
			[ "$(grep -o 'href="https://t.bench.example/c/[^/"]*/0/' "$ML_DIR/probe-$name-$n.eml" | wc -l)" = 1 ] ||
				t_fail "$name: not one hidden link in the message ($ML_DIR/probe-$name-$n.eml)"
			toks="$toks $(grep -o 't.bench.example/o/[A-Za-z0-9_-]*' "$ML_DIR/probe-$name-$n.eml" | head -n 1)"
			;;
		dkim)
			pf_sink_message "$f" >"$ML_DIR/probe-$name-$n.raw"
			dkim_verify "$ML_DIR/probe-$name-$n.raw" ||
				t_fail "opendkim did not sign the message, or its signature does not verify"
			;;
		esac
	done
	if [ -n "$toks" ]; then
		ML_TOKENS[$name]=$(printf '%s\n' $toks | sort -u | wc -l)
	fi
}

# ml_tracked NAME - "tracked" lines in NAME's log
ml_tracked() {
	grep -c ': tracked: ' "$ML_DIR/$1.log" 2>/dev/null || true
}

# ml_run NAME - one timed run; appends a result line to $ML_DIR/runs
#	fields: name msgs deliveries seconds msg_s filter_us postfix_us pg_us busy
ml_run() {
	local name=$1
	local n=${ML_N[$name]} rc=${ML_RCPTS[$name]} pid=${ML_PID[$name]:-}
	local c0 c1 f0=0 f1=0 p0 p1 g0 g1 tr0='' tr1 t0 tend secs expect s0 s1
	c0=$(ml_fast_count)
	[ -n "$pid" ] && f0=$(b_ticks "$pid")
	[ -n "$pid" ] && case $name in beacon*) tr0=$(ml_tracked "$name") ;; esac
	p0=$(b_ticks_tree "$PF_MASTER_PID")
	g0=$(b_ticks_tree "$(pg_pid)")
	s0=$(b_cpu_stat)
	t0=$(t_now_us)
	ml_source "$name" "$n" "$rc" bench.example
	b_wait_until 'ml_queue_empty' "$MAIL_WAIT_MAX" ||
		t_fail "$name: queue not empty $MAIL_WAIT_MAX s after the run ($(pf_queue_count) left)"
	tend=$(stat -c '%.6Y' "$PF_QUEUE/active")
	tend=${tend/./}
	s1=$(b_cpu_stat)
	[ -n "$pid" ] && f1=$(b_ticks "$pid")
	p1=$(b_ticks_tree "$PF_MASTER_PID")
	g1=$(b_ticks_tree "$(pg_pid)")
	# deliveries: one per message, or one per split copy
	expect=$((n * ${ML_COPIES[$name]:-1}))
	b_wait_until "[ \$((\$(ml_fast_count) - $c0)) -ge $expect ]" 10 ||
		t_fail "$name: the sink got $(($(ml_fast_count) - c0)) of $expect deliveries"
	c1=$(ml_fast_count)
	if [ -n "$tr0" ]; then
		tr1=$(ml_tracked "$name")
		[ $((tr1 - tr0)) -ge "$n" ] ||
			t_fail "$name: $((tr1 - tr0)) messages tracked of $n sent"
	fi
	secs=$(awk -v a="$t0" -v b="$tend" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
	printf '%s %s %s %s %s %s %s %s %s\n' "$name" "$n" $((c1 - c0)) "$secs" \
		"$(b_div "$n" "$secs" %.1f)" \
		"$(b_div "$(b_us $((f1 - f0)))" "$n" %.0f)" \
		"$(b_div "$(b_us $((p1 - p0)))" "$n" %.0f)" \
		"$(b_div "$(b_us $((g1 - g0)))" "$n" %.0f)" "$(b_busy "$s0" "$s1" | tr -d %)" >>"$ML_DIR/runs"
	b_say "mail: $name: $n messages in ${secs} s, $(b_div "$n" "$secs" %.0f) msg/s"
}

# ml_profile - where beacon-milter spends its CPU during one more 1-recipient run (perf)
ml_profile() {
	local data=$ML_DIR/perf.milter.data pid=${ML_PID[beacon]} pp
	command -v perf >/dev/null || { b_md "" "(perf is not installed: no profile of beacon-milter.)"; return 0; }
	perf record -F 999 -p "$pid" -o "$data" >"$ML_DIR/perf.out" 2>&1 &
	pp=$!
	t_on_exit "t_kill_pid $pp INT 10"
	sleep 0.5
	ml_source beacon "$MAIL_N" 1 bench.example
	b_wait_until 'ml_queue_empty' "$MAIL_WAIT_MAX" || t_fail "beacon: queue not empty after the profile run"
	t_kill_pid "$pp" INT 20
	[ -s "$data" ] || { b_md "" "(perf record failed here: $(tail -n 1 "$ML_DIR/perf.out"))"; return 0; }
	{
		echo "share|thread|object|function"
		perf report -i "$data" --stdio --no-children --sort comm,dso,symbol 2>/dev/null | b_perf_rows 15
	} | b_table "Where beacon-milter spends its CPU, ${MAIL_N} messages of 1 recipient (perf record -F 999, flat)"
	local by_obj by_fn
	by_obj=$(perf report -i "$data" --stdio --no-children --sort dso 2>/dev/null |
		awk '/^ *[0-9.]+%/ && n < 6 { printf "%s%s %s", (n++ ? ", " : ""), $2, $1 }')
	by_fn=$(perf report -i "$data" --stdio --no-children --sort comm,dso,symbol 2>/dev/null |
		b_perf_rows 200 | awk -F'|' '$3 !~ /kernel/ && n < 5 { printf "%s%s %s", (n++ ? ", " : ""), $4, $1 }')
	ML_HOT="perf of beacon-milter by object: $by_obj; top user-space functions: $by_fn"
}

# ml_med NAME COLUMN - median of one column of NAME's runs
ml_med() {
	b_median $(awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$ML_DIR/runs")
}

# bench_mail - the whole mail-path section
bench_mail() {
	local r name order k
	declare -gA ML_TOKENS=()
	ML_DIR=$T_DIR/mail
	mkdir -p "$ML_DIR"
	chown postfix "$ML_DIR"
	: >"$ML_DIR/runs"
	b_md "" "## Mail path" ""
	[ -s "$B_BIN/newsletter-28k.eml" ] ||
		"$BEACON_SRC/tests/bench/mknewsletter.py" 28672 20 >"$B_BIN/newsletter-28k.eml"
	grep -v '^Message-ID: ' "$B_BIN/newsletter-28k.eml" >"$B_BIN/newsletter-28k-nomsgid.eml"

	PF_REINJECT=1
	PF_EXTRA_MAINCF="transport_maps = inline:{ bench.example=smtp:[127.0.0.1]:@FAST@ }"
	ml_fast_sink
	PF_EXTRA_MAINCF=${PF_EXTRA_MAINCF/@FAST@/$ML_FAST_PORT}
	pf_start
	b_md "Postfix $(postconf -c "$PF_CONF" -h mail_version) (private instance, tests/lib/postfix.sh), opendkim" \
		"$(opendkim -V 2>&1 | sed -n 's/.*Filter v\([^ ]*\).*/\1/p;q'), message: tests/bench/mknewsletter.py 28672 20" \
		"($(wc -c <"$B_BIN/newsletter-28k.eml") bytes, multipart/alternative, 28 KB HTML quoted-printable, 20 links)." \
		"Load: \`smtp-source -s 4 -m N [-r 10] -F newsletter-28k.eml\` → smtpd (+ filter) → queue →" \
		"smtp → \`smtp-sink -c\`; a run ends when the last message left the queue." \
		"Configurations take turns, ${MAIL_ROUNDS} round(s); beacon-milter writes its rows to PostgreSQL" \
		"(fsync ${PG_FSYNC:-off}) and re-injects split copies through a second smtpd without milters."

	ML_SPEC[none]=
	ML_SPEC[noop]=unix:$ML_DIR/noop.sock
	ML_SPEC[beacon]=unix:$ML_DIR/beacon.sock
	k=$(t_free_port)
	ML_SPEC[beacon-inet]=inet:127.0.0.1:$k
	ml_beacon_start beacon "${ML_SPEC[beacon]}"
	ml_beacon_start beacon-inet "inet:$k@127.0.0.1"
	ml_noop_start noop "${ML_SPEC[noop]}"
	k=$(t_free_port)
	ML_SPEC[noop-inet]=inet:127.0.0.1:$k
	ml_noop_start noop-inet "inet:$k@127.0.0.1"
	# relaxed/simple, as the figures in BENCHMARKS.md were measured with
	DKIM_CANON=relaxed/simple dkim_start example.com bench
	ML_SPEC[dkim]=unix:$DKIM_SOCK
	ML_PID[dkim]=$DKIM_PID
	ML_SPEC[noop-10]=${ML_SPEC[noop]}
	ML_SPEC[beacon-10]=${ML_SPEC[beacon]}
	ML_PID[noop-10]=${ML_PID[noop]}
	ML_PID[beacon-10]=${ML_PID[beacon]}
	ML_LABEL=([none]="no milter" [noop]="no-op milter, unix" [beacon]="beacon-milter, unix"
		[dkim]="opendkim signing, unix" [beacon-inet]="beacon-milter, inet 127.0.0.1"
		[noop-inet]="no-op milter, inet (stock)" [noop-10]="no-op milter, unix, 10 rcpt"
		[beacon-10]="beacon-milter, unix, 10 rcpt split")
	for name in "${ML_ORDER[@]}"; do
		ML_RCPTS[$name]=1
		ML_N[$name]=$MAIL_N
	done
	ML_RCPTS[noop-10]=10 ML_RCPTS[beacon-10]=10
	ML_N[noop-10]=$MAIL_N10 ML_N[beacon-10]=$MAIL_N10 ML_N[noop-inet]=$MAIL_N_SLOW
	ml_wait_filters
	ml_listeners

	for name in "${ML_ORDER[@]}"; do
		ml_probe "$name"
	done
	for ((r = 1; r <= MAIL_ROUNDS; r++)); do
		order=("${ML_ORDER[@]}")
		if [ $((r % 2)) = 0 ]; then
			order=()
			for ((k = ${#ML_ORDER[@]} - 1; k >= 0; k--)); do
				order+=("${ML_ORDER[k]}")
			done
		fi
		for name in "${order[@]}"; do
			ml_run "$name"
		done
	done
	[ -z "$B_PROFILE" ] || ml_profile
	B_HWM[beacon-milter (unix)]=$(b_hwm "${ML_PID[beacon]}")
	B_HWM[beacon-milter (inet)]=$(b_hwm "${ML_PID[beacon-inet]}")
	B_HWM[no-op milter]=$(b_hwm "${ML_PID[noop]}")
	B_HWM[opendkim]=$(b_hwm "${ML_PID[dkim]}")

	local none noop beacon dkim binet b10 n10
	none=$(ml_med none 5) noop=$(ml_med noop 5) beacon=$(ml_med beacon 5) dkim=$(ml_med dkim 5)
	binet=$(ml_med beacon-inet 5) b10=$(ml_med beacon-10 5) n10=$(ml_med noop-10 5)
	{
		echo "configuration|messages/run|deliveries/message|messages/s|deliveries/s|vs no milter|vs no-op|filter CPU µs/msg|Postfix CPU µs/msg|PostgreSQL CPU µs/msg|machine CPU busy"
		for name in "${ML_ORDER[@]}"; do
			local ms ref=$noop dpm
			ms=$(ml_med "$name" 5)
			dpm=$(b_div "$(ml_med "$name" 3)" "${ML_N[$name]}" %.0f)
			[ "${ML_RCPTS[$name]}" = 10 ] && ref=$n10
			echo "${ML_LABEL[$name]}|${ML_N[$name]}|$dpm|$ms|$(awk -v a="$ms" -v b="$dpm" 'BEGIN { printf "%.0f", a * b }')|$(b_ratio "$ms" "$none")|$(b_ratio "$ms" "$ref")|$(ml_med "$name" 6)|$(ml_med "$name" 7)|$(ml_med "$name" 8)|$(ml_med "$name" 9)%"
		done
	} | b_table "Mail path: messages/s (medians of ${MAIL_ROUNDS}; 10-recipient rows compared with the no-op filter at 10 recipients)"
	{
		echo "comparison|ratio"
		echo "no-op milter / no milter|$(b_ratio "$noop" "$none")"
		echo "opendkim / no milter|$(b_ratio "$dkim" "$none")"
		echo "beacon-milter / no-op milter (1 rcpt)|$(b_ratio "$beacon" "$noop")"
		echo "beacon-milter / opendkim (1 rcpt)|$(b_ratio "$beacon" "$dkim")"
		echo "beacon-milter inet / unix|$(b_ratio "$binet" "$beacon")"
		echo "no-op milter inet (stock) / unix|$(b_ratio "$(ml_med noop-inet 5)" "$noop")"
		echo "beacon-milter / no-op milter (10 rcpt)|$(b_ratio "$b10" "$n10")"
	} | b_table "Mail path ratios"
	local split="split into ${ML_COPIES[beacon-10]} copies, ${ML_TOKENS[beacon-10]:-0} distinct tokens"
	[ "${ML_COPIES[beacon-10]}" = 1 ] && split="not split: one delivery with one shared token (per_recipient = split has no effect yet)"
	b_md "" "Probe of every configuration checked first: no-op and no milter deliver the message as sent;" \
		"beacon-milter delivers it with the pixel, 19 click URLs and the hidden link (the List-Unsubscribe link kept) and" \
		"without the tag header; opendkim adds a DKIM-Signature for example.com that verifies." \
		"A 10-recipient message through beacon-milter: $split."
	local cpu
	cpu="both cores $(ml_med beacon 9)% busy during the beacon runs; CPU per message: beacon-milter $(ml_med beacon 6) µs and PostgreSQL $(ml_med beacon 8) µs (its rows, one commit), no-op filter $(ml_med noop 6) µs, opendkim $(ml_med dkim 6) µs; Postfix $(ml_med beacon 7) µs with beacon, $(ml_med noop 7) µs with the no-op filter"
	cpu="$cpu${ML_HOT:+; $ML_HOT}"
	b_goal "beacon-milter / no-op milter, 1 rcpt" 0.95 "$(b_div "$beacon" "$noop")" ge "$cpu"
	b_goal "beacon-milter / opendkim, 1 rcpt" 1.5 "$(b_div "$beacon" "$dkim")" ge "$cpu"
	local d10
	d10=$(awk -v m="$b10" -v d="$(b_div "$(ml_med beacon-10 3)" "${ML_N[beacon-10]}" %.0f)" 'BEGIN {
		if (m == "-" || d == "-" || m == "" || d == "") print "-"; else printf "%.1f", m * d }')
	b_goal "beacon-milter split, 10 rcpt: deliveries/s ÷ no-op filter's, 1 rcpt" 0.95 \
		"$(b_div "$d10" "$noop")" ge \
		"$d10 deliveries/s against the no-op filter's $noop; per message: beacon-milter $(ml_med beacon-10 6) µs, Postfix $(ml_med beacon-10 7) µs (the original and its 10 copies), PostgreSQL $(ml_med beacon-10 8) µs"
	b_goal "beacon-milter inet / unix" 0.9 "$(b_div "$binet" "$beacon")" ge \
		"CPU per message: beacon-milter $(ml_med beacon-inet 6) µs on inet, $(ml_med beacon 6) µs on unix; stock filter on inet: $(b_ratio "$(ml_med noop-inet 5)" "$noop") of unix"
}

# ml_stop_filters - SIGTERM every filter at once, then wait (libmilter takes ~5 s)
ml_stop_filters() {
	local name pid
	for name in noop beacon dkim beacon-inet noop-inet; do
		pid=${ML_PID[$name]:-}
		if [ -n "$pid" ]; then
			kill -s TERM "$pid" 2>/dev/null || true
		fi
	done
	for name in noop beacon dkim beacon-inet noop-inet; do
		pid=${ML_PID[$name]:-}
		[ -n "$pid" ] && t_kill_pid "$pid" TERM 15
	done
	return 0
}
