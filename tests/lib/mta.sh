# shellcheck shell=bash
# NAME
#	mta.sh - one face for the private Postfix and the private Sendmail
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/mta.sh"
#	MTA_MILTER=unix:/path/milter.sock mta_start sendmail
#
# DESCRIPTION
#	The milter's end-to-end cases run against both MTAs from one list
#	(tests/e2e/13_milter_mta.sh); this is what differs between them,
#	each configured as contrib/ tells an admin to:
#
#	mta_start postfix|sendmail	start the MTA (postfix.sh or
#			sendmail.sh) and its smtp-sink (sink.sh). With
#			MTA_MILTER, beacon-milter filters the main listener
#			and a reinject listener takes the per-recipient
#			copies: Postfix's is contrib/postfix/master.cf's
#			service, Sendmail's contrib/sendmail/beacon.mc's
#			daemon. With MTA_DKIM (a signer's socket), that
#			filter runs after beacon-milter on both listeners.
#			MTA_FAILURE: what the MTA does while beacon-milter is
#			down: "tempfail" (the default, as contrib ships it)
#			or "accept" (deliver untouched: Postfix
#			milter_default_action = accept, Sendmail F=).
#	mta_set_failure tempfail|accept	change that on the running MTA
#			(Postfix reloads, Sendmail restarts on its ports).
#	mta_queue_count	print how many messages wait in its queue.
#	mta_show_log	print the end of its log to stderr.
#	mta_strips_tag	true if the MTA removes the tag header at delivery
#			(Postfix with contrib's smtp_header_checks; Sendmail
#			has no such table).
#
#	Set after mta_start: MTA_KIND MTA_SMTP_PORT MTA_REINJECT_PORT, and
#	sink.sh's SINK_* (the readers sink_files, sink_message, ...).

if [ -n "${T_MTA_LOADED:-}" ]; then
	return 0
fi
T_MTA_LOADED=1

# shellcheck source=tests/lib/postfix.sh
. "$BEACON_SRC/tests/lib/postfix.sh"
# shellcheck source=tests/lib/sendmail.sh
. "$BEACON_SRC/tests/lib/sendmail.sh"

MTA_KIND=
MTA_SMTP_PORT=
MTA_REINJECT_PORT=

# mta_pf_reinject_ - contrib's reinject service and its cleanup, on PORT, DKIM in its milters
mta_pf_reinject_() {
	local port=$1
	sed -n '/^127.0.0.1:10026 /,$p' "$BEACON_SRC/contrib/postfix/master.cf" |
		sed "s/^127.0.0.1:10026 /127.0.0.1:$port /" |
		sed "s#^  -o smtpd_milters=\$#  -o smtpd_milters=${MTA_DKIM:-}#"
}

# mta_start_postfix_ - the private Postfix with contrib's lines
mta_start_postfix_() {
	local strip port milters=${MTA_MILTER:-}
	strip=$(sed -n 's#^\(smtp\|lmtp\)_header_checks = regexp:/etc/postfix/#&#p' \
		"$BEACON_SRC/contrib/postfix/main.cf" | sed "s#/etc/postfix/#$T_DIR/pf/etc/#")
	[ -n "${MTA_DKIM:-}" ] && milters="$milters $MTA_DKIM"
	port=
	[ -n "$milters" ] && port=$(t_free_port)
	# the table main.cf names, in place before any smtp(8) starts
	mkdir -p "$T_DIR/pf/etc"
	cp "$BEACON_SRC/contrib/postfix/beacon_header_checks" "$T_DIR/pf/etc/"
	PF_MILTER=$milters PF_REINJECT=0 \
		PF_EXTRA_MAINCF="$strip
milter_default_action = ${MTA_FAILURE:-tempfail}" \
		PF_EXTRA_MASTERCF="$([ -n "$port" ] && mta_pf_reinject_ "$port")" \
		pf_start
	MTA_SMTP_PORT=$PF_SMTP_PORT MTA_REINJECT_PORT=$port
	if [ -n "$port" ]; then
		t_wait_port "$port" 10 || { pf_show_log_; t_fail "the reinject smtpd is not listening"; }
	fi
}

# mta_start_sendmail_ - the private Sendmail with contrib's beacon.mc
mta_start_sendmail_() {
	# globals, not a prefix: sm_restart reads them again
	SM_MILTER=${MTA_MILTER:-} SM_EXTRA_MC= SM_REINJECT_FILTERS= SM_FAILURE=${MTA_FAILURE:-}
	if [ -n "${MTA_DKIM:-}" ]; then
		# as beacon-milter(8) shows it: the signer after Beacon, on the reinject daemon too
		SM_EXTRA_MC="INPUT_MAIL_FILTER(\`dkim', \`S=$MTA_DKIM, F=T')dnl"
		SM_REINJECT_FILTERS="beacon;dkim"
	fi
	sm_start
	MTA_SMTP_PORT=$SM_SMTP_PORT MTA_REINJECT_PORT=$SM_REINJECT_PORT
}

# mta_start - start the named MTA with the knobs above
mta_start() {
	[ -z "$MTA_KIND" ] || t_fail "mta_start called twice"
	MTA_KIND=$1
	case $MTA_KIND in
	postfix) mta_start_postfix_ ;;
	sendmail) mta_start_sendmail_ ;;
	*) t_fail "mta_start: no MTA named '$MTA_KIND'" ;;
	esac
	export MTA_KIND MTA_SMTP_PORT MTA_REINJECT_PORT
}

# mta_set_failure - tempfail or accept while the milter is down
mta_set_failure() {
	MTA_FAILURE=$1
	case $MTA_KIND in
	postfix)
		sed -i "s/^milter_default_action = .*/milter_default_action = $1/" "$PF_CONF/main.cf"
		grep -q "^milter_default_action = $1\$" "$PF_CONF/main.cf" ||
			t_fail "milter_default_action not set in main.cf"
		pf_reload
		;;
	sendmail)
		SM_FAILURE=$1
		sm_restart
		;;
	esac
}

# mta_queue_count - messages waiting in the MTA's queue
mta_queue_count() {
	case $MTA_KIND in
	postfix) pf_queue_count ;;
	sendmail) sm_queue_count ;;
	esac
}

# mta_show_log - the end of the MTA's log, to stderr
mta_show_log() {
	case $MTA_KIND in
	postfix) tail -n 40 "$PF_LOG" >&2 ;;
	sendmail) tail -n 40 "$SM_LOG" >&2 ;;
	esac
}

# mta_strips_tag - does the MTA remove the tag header at delivery?
mta_strips_tag() {
	[ "$MTA_KIND" = postfix ]
}
