# NAME
#	rewrite.sh - the rewrite-cost benchmark: beacon-milter's end-of-message
#	work on one message, by size
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/bench/rewrite.sh"; bench_rewrite
#
# DESCRIPTION
#	For newsletters of 10 KB, 28 KB (the mail-path message), 100 KB and
#	1 MB of HTML (links in the same proportion: 20 per 28 KB), runs
#	$B_BIN/rewrite_bench, which calls track_message() (MIME parse,
#	token, pixel, every link signed, re-encoding) the way the milter's
#	end-of-message callback does, without MTA and database:
#
#	- under valgrind --tool=callgrind --toggle-collect=track_message,
#	  once: instructions per message and per KB, which do not depend
#	  on the machine's load (skipped for a sanitizer build, which
#	  valgrind cannot run);
#	- natively, RW_ITER_KB/KB times: CPU µs per message (median of 9
#	  batches on the thread's CPU clock).
#
#	Then names the hot spots of the 28 KB message (callgrind, self
#	cost).  The goal: under 50 µs for the 28 KB newsletter, and a cost
#	per KB that stays flat as the message grows.

# bench_rewrite - the whole rewrite-cost section
bench_rewrite() {
	local kb links f out us ins per rows=() base_per='' cg=1 n
	RW_INSN_28=- RW_INSN_1024=-
	b_md "" "## Rewrite cost (beacon-milter end of message, no MTA, no database)" ""
	if [ -n "$B_SANITIZED" ]; then
		cg=
		b_md "Sanitizer build: callgrind skipped (valgrind cannot run ASan binaries); native timing only."
	elif ! command -v valgrind >/dev/null; then
		cg=
		b_md "valgrind is not installed: callgrind skipped."
	fi
	b_md "\`rewrite_bench SECRET MESSAGE N\` (tests/bench/rewrite_bench.c) runs \`track_message()\`:" \
		"MIME parse (GMime), token, pixel, link signing, re-encoding (quoted-printable here)." \
		"Instructions: \`valgrind --tool=callgrind --toggle-collect=track_message rewrite_bench ... 1\`;" \
		"CPU µs: median of 9 timed batches on the thread CPU clock."
	for kb in 10 28 100 1024; do
		f=$B_BIN/newsletter-${kb}k.eml
		links=$(((kb * 20 + 27) / 28))
		[ -s "$f" ] || "$BEACON_SRC/tests/bench/mknewsletter.py" $((kb * 1024)) "$links" >"$f"
		n=$((RW_ITER_KB / kb))
		[ "$n" -lt 12 ] && n=12
		out=$(timeout 600 "$B_BIN/rewrite_bench" "$PX_SECRET" "$f" "$n") ||
			t_fail "rewrite_bench failed on ${kb} KB"
		us=$(sed -n 's/.*us_median=\([^ ]*\).*/\1/p' <<<"$out")
		ins=-
		per=-
		if [ -n "$cg" ]; then
			timeout 600 valgrind --tool=callgrind --toggle-collect=track_message \
				--callgrind-out-file="$T_DIR/callgrind.$kb.out" \
				"$B_BIN/rewrite_bench" "$PX_SECRET" "$f" 1 >"$T_DIR/callgrind.$kb.log" 2>&1 ||
				{ cat "$T_DIR/callgrind.$kb.log" >&2; t_fail "callgrind run failed on ${kb} KB"; }
			ins=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$T_DIR/callgrind.$kb.log")
			[ -n "$ins" ] || t_fail "callgrind counted nothing on ${kb} KB"
			per=$((ins / kb))
			[ -z "$base_per" ] && base_per=$per
		fi
		[ "$kb" = 28 ] && RW_US_28=$us RW_INS_28=$(b_fmt_int "$ins") RW_INSN_28=$ins
		[ "$kb" = 1024 ] && RW_INSN_1024=$ins
		rows+=("${kb} KB|$(wc -c <"$f")|$(sed -n 's/.*html_links=\([^ ]*\).*/\1/p' <<<"$out")|$(b_fmt_int "$ins")|$(b_fmt_int "$per")|$(b_ratio "$per" "${base_per:--}")|$us|$(b_div "$us" "$kb")")
		b_say "rewrite: ${kb} KB: ${us} µs, ${ins} instructions"
	done
	{
		echo "HTML|message bytes|links signed|instructions|instructions/KB|per KB vs 10 KB|CPU µs/message|CPU µs/KB"
		printf '%s\n' "${rows[@]}"
	} | b_table "Rewrite cost by message size"
	if [ -n "$cg" ] && command -v callgrind_annotate >/dev/null; then
		{
			echo "self cost|share|function"
			callgrind_annotate "$T_DIR/callgrind.28.out" 2>/dev/null |
				sed -n '/file:function/,$p' | sed 1,2d |
				awk 'n < 12 && match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
					head = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
					ir = head; sub(/\(.*/, "", ir); gsub(/[ ,]/, "", ir)
					pct = head; sub(/^[^(]*\( */, "", pct); sub(/\).*/, "", pct)
					lib = ""
					if (match(rest, / \[[^]]*\]$/)) {
						lib = substr(rest, RSTART + 2, RLENGTH - 3); sub(/^.*\//, "", lib)
						rest = substr(rest, 1, RSTART - 1)
					}
					file = rest; sub(/:[^:]*$/, "", file); sub(/^.*\//, "", file)
					fn = rest; sub(/^.*:/, "", fn)
					if (fn ~ /^0x/) fn = "(inside " lib ")"
					else if (file == "???") fn = fn " (" lib ")"
					else fn = fn " (" file ")"
					printf "%s|%s|%s\n", ir, pct, fn; n++ }'
		} | b_table "Hot spots of the 28 KB newsletter (callgrind, instructions spent in the function itself)"
	fi
	RW_HOT=
	if [ -n "$cg" ] && command -v callgrind_annotate >/dev/null; then
		RW_HOT=$(callgrind_annotate --inclusive=yes "$T_DIR/callgrind.28.out" 2>/dev/null |
			awk 'match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
				pct = substr($0, 1, RLENGTH); sub(/^[^(]*\( */, "", pct); sub(/\).*/, "", pct)
				rest = substr($0, RLENGTH + 1); sub(/ \[.*$/, "", rest); fn = rest; sub(/^.*:/, "", fn)
				if (fn ~ /^(mime_doc_parse|mime_doc_render|mime_encode|html_rewrite|g_mime_encoding_flush|clickurl_make|track_link|mime_url_normalize)$/ && !seen[fn]++)
					printf "%s%s %s", (n++ ? ", " : ""), fn, pct }')
		RW_HOT="callgrind, inclusive share of the 28 KB rewrite: $RW_HOT; ${RW_INS_28} instructions"
	fi
	b_goal "rewrite of the 28 KB newsletter (µs CPU)" 50 "$RW_US_28" le "$RW_HOT"
	b_goal "rewrite of the 28 KB newsletter (instructions)" 500000 "$RW_INSN_28" le "$RW_HOT"
	b_goal "rewrite of 1 MB ÷ rewrite of 28 KB (instructions)" 40 \
		"$(b_div "$RW_INSN_1024" "$RW_INSN_28" %.1f)" le \
		"1 MB is 36.6 times the 28 KB HTML, so 40 allows 9% above linear; see Rewrite cost by message size"
}
