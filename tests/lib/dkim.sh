# shellcheck shell=bash
# NAME
#	dkim.sh - a private opendkim signer and an offline DKIM check, for tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/dkim.sh"
#	dkim_start example.com test
#	# Postfix: smtpd_milters = ..., unix:$DKIM_SOCK
#	# Sendmail: S=unix:$DKIM_SOCK in the signer's INPUT_MAIL_FILTER
#	pf_sink_message "$dump" >"$T_DIR/m.eml"; dkim_verify "$T_DIR/m.eml"
#
# DESCRIPTION
#	Debian's opendkim (opendkim, opendkim-tools), nothing of /etc/opendkim*
#	used.  Needs root (the signer runs as user opendkim).
#
#	dkim_start DOMAIN SELECTOR	make a fresh 2048-bit key for
#			SELECTOR._domainkey.DOMAIN (opendkim-genkey) and start
#			opendkim -f signing mail whose From: is in DOMAIN:
#			  Mode s, InternalHosts 127.0.0.1 (the client that
#			  submits and the milter's own reinject connection are
#			  both loopback: mail from there is signed, never
#			  verified), Canonicalization $DKIM_CANON (default
#			  simple/simple, opendkim's own: the strictest, any
#			  byte changed after signing breaks it), rsa-sha256,
#			  no syslog
#			  (opendkim's stderr goes to $DKIM_LOG).
#			Waits until the socket exists.  Registers at exit:
#			KILL (libmilter takes ~5 s to leave on TERM; a signer
#			has nothing to flush), its log printed if the test
#			failed, removal of $DKIM_DIR.  One signer per test: it
#			serves every MTA of the test.
#	dkim_verify FILE	exit 0 iff the message in FILE (LF or CRLF line
#			ends, e.g. as pf_sink_message prints it) carries a
#			DKIM-Signature with d=DOMAIN and every such signature
#			verifies against the key dkim_start made; otherwise
#			print why (not signed, no signature of DOMAIN, opendkim's
#			failure reason) and return 1.  No DNS: opendkim's test
#			mode (-t) in verify mode, the public key given by
#			TestPublicKeys.  (opendkim-testmsg cannot do it: it
#			verifies only against keys in DNS.)
#
#	Set after dkim_start: DKIM_DOMAIN DKIM_SELECTOR DKIM_DIR DKIM_SOCK
#	(the unix socket's path, without "unix:") DKIM_PID DKIM_LOG
#	DKIM_PUBKEY (the DNS TXT record's text, "v=DKIM1; ... p=...").
#
#	Traps: opendkim refuses a configuration or key file below a
#	directory other users may write (/tmp, and so T_DIR): everything
#	lives in a fresh 0755 directory under /run (DKIM_BASE to change),
#	the socket in a subdirectory of user opendkim's.
#	The key must belong to the UserID (opendkim) and be 0600.

if [ -n "${T_DKIM_LOADED:-}" ]; then
	return 0
fi
T_DKIM_LOADED=1

DKIM_DOMAIN=
DKIM_SELECTOR=
DKIM_DIR=
DKIM_SOCK=
DKIM_PID=
DKIM_LOG=
DKIM_PUBKEY=

# dkim_stop_ - KILL the signer (at exit); its log when the test failed
dkim_stop_() {
	[ -n "$DKIM_PID" ] || return 0
	t_kill_pid "$DKIM_PID" KILL 5
	DKIM_PID=
	if [ "${T_EXIT_RC:-0}" != 0 ] && [ -s "$DKIM_LOG" ]; then
		printf -- '--- %s\n' "$DKIM_LOG" >&2
		tail -n 30 "$DKIM_LOG" >&2
	fi
	return 0
}

# dkim_start DOMAIN SELECTOR - a fresh key and opendkim signing for DOMAIN
dkim_start() {
	local domain=$1 sel=$2 d
	[ -z "$DKIM_PID" ] || t_fail "dkim_start: a signer runs already (pid $DKIM_PID)"
	[ "$(id -u)" = 0 ] || t_fail "dkim_start needs root (opendkim runs as user opendkim)"
	d=$(mktemp -d "${DKIM_BASE:-/run}/beacon-test-dkim.XXXXXX") ||
		t_fail "dkim_start: mktemp under ${DKIM_BASE:-/run} failed"
	t_on_exit "rm -rf '$d'"
	chmod 0755 "$d"
	mkdir "$d/sock"
	opendkim-genkey -b 2048 -d "$domain" -s "$sel" -D "$d" ||
		t_fail "dkim_start: opendkim-genkey failed"
	chown opendkim:opendkim "$d/sock" "$d/$sel.private"
	chmod 0600 "$d/$sel.private"
	# sel.txt is a zone file line: the record is the quoted strings, joined
	DKIM_PUBKEY=$(sed -n 's/[^"]*"\([^"]*\)"[^"]*/\1/gp' "$d/$sel.txt" | tr -d '\n')
	case $DKIM_PUBKEY in
	v=DKIM1*p=?*) ;;
	*) t_fail "dkim_start: no public key in $d/$sel.txt" ;;
	esac
	printf '%s._domainkey.%s %s\n' "$sel" "$domain" "$DKIM_PUBKEY" >"$d/public.keys"
	cat >"$d/sign.conf" <<-EOF
		# opendkim for the Beacon tests: sign mail from $domain (tests/lib/dkim.sh)
		Syslog			no
		Mode			s
		Domain			$domain
		Selector		$sel
		KeyFile			$d/$sel.private
		Socket			local:$d/sock/opendkim.sock
		UserID			opendkim:opendkim
		UMask			0000
		Canonicalization	${DKIM_CANON:-simple/simple}
		SignatureAlgorithm	rsa-sha256
		InternalHosts		127.0.0.1
	EOF
	cat >"$d/verify.conf" <<-EOF
		# opendkim -t for the Beacon tests: verify with the key above, no DNS
		Syslog			no
		Mode			v
		TestPublicKeys		$d/public.keys
	EOF
	DKIM_DOMAIN=$domain DKIM_SELECTOR=$sel DKIM_DIR=$d
	DKIM_SOCK=$d/sock/opendkim.sock DKIM_LOG=$d/opendkim.log
	opendkim -f -x "$d/sign.conf" </dev/null >>"$DKIM_LOG" 2>&1 &
	DKIM_PID=$!
	disown "$DKIM_PID"	# no "Killed" notice from bash when it goes
	t_on_exit dkim_stop_
	if ! t_wait_until "[ -S '$DKIM_SOCK' ] || ! t_pid_alive $DKIM_PID" 10 ||
		! t_pid_alive "$DKIM_PID"; then
		cat "$DKIM_LOG" >&2
		t_fail "dkim_start: opendkim did not start"
	fi
	export DKIM_DOMAIN DKIM_SELECTOR DKIM_DIR DKIM_SOCK DKIM_PID DKIM_LOG DKIM_PUBKEY
}

# dkim_verify FILE - 0 iff FILE's DKIM signatures of DKIM_DOMAIN verify, else why
dkim_verify() {
	local f=$1 out res
	[ -n "$DKIM_DIR" ] || t_fail "dkim_verify before dkim_start"
	[ -r "$f" ] || { echo "dkim_verify: cannot read $f"; return 1; }
	# -vv prints the Authentication-Results header opendkim would add
	# ("### INSHEADER: ... hvalue='...'"), one "dkim=RESULT ... header.d=D"
	# per signature checked, and the verdict on the first signature.
	out=$(opendkim -x "$DKIM_DIR/verify.conf" -t "$f" -vv 2>&1) || {
		printf 'dkim_verify: opendkim -t failed: %s\n' "$out"
		return 1
	}
	res=$(printf '%s\n' "$out" | tr '\n' ' ' | tr ';' '\n' |
		sed -n "s/^[[:space:]]*dkim=\([a-z]*\) .*header\.d=\([^ ]*\).*/\1 \2/p")
	# the results for DKIM_DOMAIN (its dots are not a pattern)
	res=$(awk -v d="$DKIM_DOMAIN" 'tolower($2) == tolower(d)' <<<"$res")
	if [ -z "$res" ]; then
		printf 'dkim_verify: %s: no DKIM signature of %s (%s)\n' "$f" "$DKIM_DOMAIN" \
			"$(printf '%s\n' "$out" | sed -n 's/^opendkim: [^:]*: //p' | grep -v 'mlfi_' | tr '\n' ' ' | sed 's/ $//')"
		return 1
	fi
	if grep -qvi '^pass ' <<<"$res"; then
		printf 'dkim_verify: %s: %s\n' "$f" \
			"$(printf '%s\n' "$out" | grep -E 'dkim=|verification' | grep -vi 'dkim=pass' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')"
		return 1
	fi
	return 0
}
