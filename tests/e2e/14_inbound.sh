#!/bin/bash
# NAME
#	14_inbound.sh - leads to tracked addresses and replies to tracked mail,
#	end to end: swaks (as Internet hosts, by XCLIENT) -> private Postfix ->
#	beacon-milter ([milter] inbound = yes) -> smtp-sink; a throwaway
#	PostgreSQL
#
# DESCRIPTION
#	One PostgreSQL, one Postfix (the MX for immo-durand.example and
#	sender.example, with the reinject smtpd, and contrib's beacon_inbound
#	as its virtual_alias_maps, named as contrib/postfix/main.cf names it:
#	the tracked addresses' mail goes on to the points of sale's mailboxes),
#	one beacon-milter (inbound = yes, inbound_refresh one hour: only the
#	database's NOTIFY can make it see a new address in time;
#	per_recipient = split; the agent's Gmail address is one of its
#	inbound_forwarders). An estate agency tracks leads-paris@ (point
#	of sale "Paris 11e", owner Sophie Bernard, added before the milter
#	starts) and leads-lyon@ (point of sale "Lyon Part-Dieu", added by
#	beaconctl in another spelling while the milter runs: stored in its one
#	form, the milter reloads); contact@ is not tracked. Sources are rules
#	of beacon.inbound_sources, added by beaconctl: a domain rule that must
#	not match by a bare suffix (portail.example, priority 10), a From rule
#	on Gmail (priority 50: a forward parsed wrong would take it), the two
#	portals (domain immoportail.example, List-Id
#	leads.habitatdirect.example), the agency's web form (From glob) and a
#	Reply-To rule that loses on priority. The mails are
#	tests/fixtures/inbound/, sent by the portals' and Google's hosts
#	(XCLIENT):
#
#	1. an ImmoPortail lead to contact@ and, in Cc, leads-paris@; an
#	   HabitatDirect lead (List-Id) first to contact@ alone (its To header
#	   names leads-lyon@: no row, the envelope counts); the agent's Gmail
#	   forward below, but from a stranger's Gmail (no known forwarder:
#	   his own From counts) to leads-lyon@; the HabitatDirect lead to
#	   leads-lyon@ in upper case; a lead of the agency's web form
#	   forwarded by the agent from Gmail ("---------- Forwarded message
#	   ---------", quoted-printable, In-Reply-To the form mail) to
#	   leads-paris@; the ImmoPortail lead forwarded by the agent as an
#	   attachment (message/rfc822: its Message-ID is the lead's) to
#	   leads-paris@; the ImmoPortail lead again, as contact@'s mailbox
#	   forwards it by itself (same Message-ID, a few headers in front) to
#	   leads-paris@: every delivery is byte for byte what was sent (below
#	   Postfix's own Received header, which names its queue id) and
#	   reaches the point of sale's mailbox; each message's inbound and
#	   reply log lines (spooled); once the spool is written (about a
#	   second later), beacon.inbound holds exactly four rows (point of
#	   sale, owner, source from the original sender, sender domain, its
#	   own decoded subject and Message-ID (without <>), its size as sent
#	   (CRLF), forward, queue id, arrival time): the stranger's forward
#	   is no forward (source Gmail, gmail.com), the lead in Cc, forwarded
#	   as attachment and forwarded again counts once; no event, no message
#	   row, no reply;
#	2. beaconctl report inbound --csv (days): two ImmoPortail leads of
#	   the day before and one of two days before for Lyon from a sender no
#	   rule names (source other) are stored through beacon.inbound_mail as
#	   the milter stores them; every row exact: leads, previous day, change
#	   and change in %, the day after Lyon's last lead (the drop); and
#	   --latest 1: the newest lead of each point of sale, every column;
#	3. replies: a tracked message without a Message-ID, submitted from
#	   the trusted network to ann and bob, gets one (Postfix's cleanup
#	   adds it before the milters see the message): the same in both
#	   copies and in beacon.messages; ann's out-of-office answer
#	   (Auto-Submitted: auto-replied, In-Reply-To the letter); ann's reply
#	   (In-Reply-To, References, From in another case) from her MX is
#	   delivered byte for byte; sent again (her MTA retried); bob's answer
#	   without the header chain; a colleague's answer (References through
#	   ann's forward); the sender's own follow-up in the thread: exactly
#	   two beacon.replies rows (ann's with her token, the colleague's
#	   without), one events row (kind reply, class human, ann's token, the
#	   reply's time); beaconctl report summary: no open seen, yet ann
#	   engaged (opened 1), replied 1, reply rate 50.0, 2 replies (the
#	   out-of-office answer is none);
#	   beaconctl history: ann's reply row exactly, nothing for bob.
#	The milter's log must hold no sanitizer report.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
export TZ=UTC
FIX=$BEACON_SRC/tests/fixtures/inbound
CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build first)"

pg_start
pg_schema

# the milter's paths first (Postfix needs its socket), its reinject port once Postfix has one;
# the test speaks for Internet hosts by XCLIENT: the agency's and the sender's domains are
# ones this MX takes mail for from anybody
bc_milter_config
PF_MILTER=unix:$BC_MSOCK
# contrib's table takes the tracked addresses' mail on to the points of sale's mailboxes, named
# as contrib/postfix/main.cf names it
mkdir -p "$T_DIR/pf/etc"
cp "$BEACON_SRC/contrib/postfix/beacon_inbound" "$T_DIR/pf/etc/"
valias=$(sed -n 's#^\#\(virtual_alias_maps = texthash:\)/etc/postfix/\(beacon_inbound\)$#\1'"$T_DIR"'/pf/etc/\2#p' \
	"$BEACON_SRC/contrib/postfix/main.cf")
[ -n "$valias" ] || t_fail "no virtual_alias_maps line for beacon_inbound in contrib/postfix/main.cf"
PF_EXTRA_MAINCF="smtpd_authorized_xclient_hosts = 127.0.0.1
relay_domains = immo-durand.example, sender.example
smtpd_relay_restrictions = permit_mynetworks, permit_auth_destination, reject
$valias"
PF_REINJECT=1 pf_start
# the agent who forwards leads from his Gmail is a known forwarder: his forwards name the
# original sender
bc_milter_config '[milter]' 'inbound = yes' 'inbound_refresh = 3600' 'per_recipient = split' \
	"reinject = inet:$PF_REINJECT_PORT@127.0.0.1" 'trusted_networks = 127.0.0.1/32' \
	'inbound_forwarders = marc.durand.immo@gmail.com'

# ctl ARGS - beaconctl with the milter's beacon.conf, no PG* variable
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$BC_MCONF" "$@"
}
# ctl_ok ARGS - beaconctl that must succeed
ctl_ok() {
	ctl "$@" >"$T_DIR/ctl.out" 2>&1 || { cat "$T_DIR/ctl.out" >&2; t_fail "beaconctl $*"; }
}

ctl_ok inbound add leads-paris@immo-durand.example 'Paris 11e' --owner 'Sophie Bernard'
ctl_ok inbound source add domain portail.example 'bare suffix' --priority 10
ctl_ok inbound source add from '*@gmail.com' 'Gmail' --priority 50
ctl_ok inbound source add domain immoportail.example ImmoPortail
ctl_ok inbound source add list_id leads.habitatdirect.example HabitatDirect
ctl_ok inbound source add from 'contact-form*@immo-durand.example' 'site web'
ctl_ok inbound source add reply_to '*@orange.example' 'particulier' --priority 200
bc_milter_start
# added while the milter runs, in another spelling: beaconctl stores the one form, NOTIFY
# makes the milter reload
ctl_ok inbound add '<LEADS-Lyon@Immo-Durand.Example.>' 'Lyon Part-Dieu'
t_eq "leads-lyon@immo-durand.example|Lyon Part-Dieu||true
leads-paris@immo-durand.example|Paris 11e|Sophie Bernard|true" \
	"$(pg_query "SELECT address || '|' || point_of_sale || '|' || coalesce(owner, '') || '|' || active
		FROM beacon.tracked_inbound ORDER BY address")" "tracked addresses, in their one form"
t_wait_until "[ \$(grep -c 'tracked inbound addresses: changed in the database, 2 addresses' '$BC_MLOG') -ge 1 ]" 10 ||
	{ tail -n 5 "$BC_MLOG" >&2; t_fail "the milter did not reload the tracked addresses on NOTIFY"; }

NSEEN=0
# deliveries N - wait for exactly N more sink dumps; DUMPS: their paths
deliveries() {
	pf_wait_delivered $((NSEEN + $1)) 10 ||
		{ tail -n 20 "$BC_MLOG" >&2; t_fail "not $1 more deliveries in 10 s"; }
	mapfile -t DUMPS < <(pf_sink_files | tail -n "+$((NSEEN + 1))")
	NSEEN=$((NSEEN + $1))
}

# dump_of QID - the sink dump of the message Postfix queued as QID (its Received header)
dump_of() {
	local f
	for f in $(pf_sink_files); do
		if awk 'NR > 1 && /^[^ \t]/ { exit } { print }' <(pf_sink_message "$f") |
			grep -q "^	by mx\.beacon-test\.example (Postfix) with E\?SMTP id $1\(;\|\$\)"; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	t_fail "no delivery of $1"
}

# send FILE FROM RCPTS [CLIENT_ADDR CLIENT_NAME] - swaks FILE by SMTP to the comma-separated
# RCPTS, as the Internet host CLIENT (XCLIENT) when given; QID: Postfix's queue id
send() {
	local -a xclient=()
	[ -n "${4:-}" ] && xclient=(--xclient-addr "$4" --xclient-name "$5")
	# swaks ends DATA with CRLF . CRLF itself: no trailing newline in the file
	printf '%s' "$(cat "$1")" >"$T_DIR/data.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" "${xclient[@]}" --from "$2" --to "$3" \
		--data "@$T_DIR/data.swaks" >"$T_DIR/swaks.out" 2>&1 ||
		{ cat "$T_DIR/swaks.out" >&2; t_fail "swaks $1"; }
	# swaks marks a server line "<-" ("<~" over TLS)
	QID=$(sed -n 's/^<[-~] *250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\)\r*$/\1/p' "$T_DIR/swaks.out" | tail -n 1)
	[ -n "$QID" ] || { cat "$T_DIR/swaks.out" >&2; t_fail "no queue id for $1"; }
}

# identical DUMP FILE QID WHAT - the delivery is FILE byte for byte below Postfix's own header
identical() {
	local got=$T_DIR/delivered.eml
	pf_sink_message "$1" >"$got"
	awk 'NR > 1 && /^[^ \t]/ { exit } { print }' "$got" >"$got.top"
	grep -q "^	by mx\.beacon-test\.example (Postfix) with E\?SMTP id $3\(;\|\$\)" "$got.top" ||
		{ cat "$got.top" >&2; t_fail "$4: no Received header of Postfix's on top"; }
	# the rest: the message as sent
	awk 'NR == 1 { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' "$got" >"$got.rest"
	if ! cmp -s "$2" "$got.rest"; then
		diff "$2" "$got.rest" >"$got.diff" || true
		head -n 20 "$got.diff" >&2
		t_fail "$4: the delivered message is not what was sent"
	fi
	t_ok "$4: delivered byte for byte as sent"
}

# logged QID WHAT LINE... - wait until the milter logged every LINE for message QID; then its
# "inbound:" and "reply to" lines are exactly LINEs (logged at the end of the message, when
# the record is in the spool: its rows come later, see drained)
logged() {
	local q=$1 what=$2 l
	shift 2
	for l in "$@"; do
		t_wait_until "grep -qxF 'beacon-milter: info: $q: $l' '$BC_MLOG'" 10 ||
			{ grep " $q: " "$BC_MLOG" >&2; t_fail "$what: the milter did not log '$l'"; }
	done
	t_eq "$(printf '%s\n' "$@")" "$(sed -n "s/^beacon-milter: info: $q: \(\(inbound:\|reply to \).*\)/\1/p" "$BC_MLOG")" \
		"$what: the milter's inbound and reply lines"
}

# replayed - how many spooled records the milter's background writer has written so far
replayed() {
	sed -n 's/^beacon-milter: info: spool: \([0-9]*\) messages\{0,1\} replayed into the database$/\1/p' \
		"$BC_MLOG" | awk '{ n += $1 } END { print n + 0 }'
}

# drained WHAT - wait until every record the milter logged as spooled is written to the
# database (inbound and reply rows come about a second after their message, in order)
drained() {
	local n
	n=$(grep -c ': spooled$' "$BC_MLOG" || true)
	t_wait_until "[ \$(replayed) -ge $n ]" 10 ||
		{ tail -n 20 "$BC_MLOG" >&2; t_fail "$1: $(replayed) of the $n spooled records written in 10 s"; }
}

# size FILE - the size of FILE as the client sends it over SMTP (CRLF line ends)
size() {
	sed 's/$/\r/' "$1" | wc -c
}

# inbound_rows - the rows of beacon.inbound, oldest first, one a line
inbound_rows() {
	pg_query "SELECT address || '|' || point_of_sale || '|' || coalesce(owner, '-') || '|' || source
		|| '|' || coalesce(sender_domain, '-') || '|' || coalesce(subject, '-') || '|'
		|| coalesce(message_id, '-') || '|' || coalesce(size::text, '-') || '|' || forward
		|| '|' || coalesce(queue_id, '-') FROM beacon.inbound ORDER BY at, id"
}

T0=$(pg_query "SELECT now()")

# --- 1. two portals and a forward to two tracked addresses and one untracked
send "$FIX/immoportail.eml" bounce-9817264@bounces.immoportail.example \
	contact@immo-durand.example,leads-paris@immo-durand.example 203.0.113.25 mta-out12.immoportail.example
Q_IMMO=$QID

send "$FIX/habitatdirect.eml" bounces+lead-88213@em.habitatdirect.example \
	contact@immo-durand.example 198.51.100.7 smtp-relay.em.habitatdirect.example
Q_HAB0=$QID

# the same Gmail forward from a stranger, who is no known forwarder: anybody can write a
# "Forwarded message" block naming any sender, so the stranger's own From counts
# (its own From header only: the forwarded block's From line stays)
sed '0,/^From: /s/^From: .*/From: Paul Stranger <stranger@gmail.com>/; s/^To: leads-paris@/To: leads-lyon@/' \
	"$FIX/gmail-forward.eml" >"$T_DIR/stranger.eml"
send "$T_DIR/stranger.eml" stranger@gmail.com leads-lyon@immo-durand.example \
	209.85.218.99 mail-ej1-f99.google.com
Q_STR=$QID

send "$FIX/habitatdirect.eml" bounces+lead-88213@em.habitatdirect.example \
	Leads-Lyon@IMMO-DURAND.example 198.51.100.7 smtp-relay.em.habitatdirect.example
Q_HAB=$QID

send "$FIX/gmail-forward.eml" marc.durand.immo@gmail.com leads-paris@immo-durand.example \
	209.85.218.41 mail-ej1-f41.google.com
Q_FWD=$QID

# the agent forwards the ImmoPortail lead from Gmail again, as an attachment (message/rfc822):
# it names the lead's own Message-ID, the same as the copy in Cc
{
	printf '%s\n' "MIME-Version: 1.0" "From: Marc Durand <marc.durand.immo@gmail.com>" \
		"Date: Thu, 3 Dec 2026 09:20:05 +0100" \
		"Message-ID: <CAHn8qW3r5Tm0pLx2Vb7Nc9Yd4sK1uEo6jQwFhA8cG2wXy5Z=pQe@mail.gmail.com>" \
		"Subject: Fwd: Nouveau contact pour votre annonce =?UTF-8?Q?r=C3=A9f=2E?= P11-2043" \
		"To: leads-paris@immo-durand.example" \
		'Content-Type: multipart/mixed; boundary="0000000000007c1e4a060d2b6f35"' "" \
		"--0000000000007c1e4a060d2b6f35" 'Content-Type: text/plain; charset="UTF-8"' "" \
		"Pour Sophie, le contact en PJ." "Marc" "" \
		"--0000000000007c1e4a060d2b6f35" \
		'Content-Type: message/rfc822; name="Nouveau contact pour votre annonce.eml"' \
		'Content-Disposition: attachment; filename="Nouveau contact pour votre annonce.eml"' ""
	cat "$FIX/immoportail.eml"
	printf '%s\n' "--0000000000007c1e4a060d2b6f35--"
} >"$T_DIR/rfc822-forward.eml"
send "$T_DIR/rfc822-forward.eml" marc.durand.immo@gmail.com leads-paris@immo-durand.example \
	209.85.218.41 mail-ej1-f41.google.com
Q_ATT=$QID

# contact@'s mailbox forwards every mail to leads-paris@ by itself: the same message, a
# few headers in front, the same Message-ID
{
	printf '%s\n' "X-Forwarded-Encrypted: i=1; AJvYcCX3o0mPq7Lk2Vb9Xc4Zn8Rt1Yw6Hj0Gf5Ds3Ae=" \
		"X-Forwarded-To: leads-paris@immo-durand.example" \
		"X-Forwarded-For: contact@immo-durand.example leads-paris@immo-durand.example" \
		"Delivered-To: contact@immo-durand.example" \
		"Received: by 2002:a05:7208:4213:b0:8b:5e0c:2a1d with SMTP id v19csp2204151rbf;" \
		"        Wed, 2 Dec 2026 09:41:09 -0800 (PST)"
	cat "$FIX/immoportail.eml"
} >"$T_DIR/autoforward.eml"
send "$T_DIR/autoforward.eml" contact+caf_=leads-paris=immo-durand.example@immo-durand.example \
	leads-paris@immo-durand.example 209.85.128.53 mail-wm1-f53.google.com
Q_DUP=$QID
deliveries 7
d=$(dump_of "$Q_IMMO")
t_eq "contact@immo-durand.example
paris@immo-durand.example" "$(pf_sink_rcpts "$d")" \
	"1: ImmoPortail lead: one delivery, leads-paris@'s to the point of sale's mailbox (contrib's beacon_inbound)"
identical "$d" "$FIX/immoportail.eml" "$Q_IMMO" "1: ImmoPortail lead"
d=$(dump_of "$Q_HAB0")
t_eq contact@immo-durand.example "$(pf_sink_rcpts "$d")" "1: HabitatDirect lead to contact@ alone"
identical "$d" "$FIX/habitatdirect.eml" "$Q_HAB0" "1: HabitatDirect lead to contact@ alone"
d=$(dump_of "$Q_STR")
t_eq lyon@immo-durand.example "$(pf_sink_rcpts "$d")" "1: the stranger's forward: to Lyon's mailbox"
identical "$d" "$T_DIR/stranger.eml" "$Q_STR" "1: the stranger's forward"
d=$(dump_of "$Q_HAB")
t_eq lyon@immo-durand.example "$(pf_sink_rcpts "$d")" "1: HabitatDirect lead: to Lyon's mailbox"
identical "$d" "$FIX/habitatdirect.eml" "$Q_HAB" "1: HabitatDirect lead to leads-lyon@"
d=$(dump_of "$Q_FWD")
t_eq paris@immo-durand.example "$(pf_sink_rcpts "$d")" "1: Gmail forward: to Paris's mailbox"
identical "$d" "$FIX/gmail-forward.eml" "$Q_FWD" "1: Gmail forward of the web form's lead"
d=$(dump_of "$Q_ATT")
t_eq paris@immo-durand.example "$(pf_sink_rcpts "$d")" "1: the lead forwarded as attachment: to Paris's mailbox"
identical "$d" "$T_DIR/rfc822-forward.eml" "$Q_ATT" "1: the ImmoPortail lead forwarded as attachment"
d=$(dump_of "$Q_DUP")
t_eq paris@immo-durand.example "$(pf_sink_rcpts "$d")" "1: the lead forwarded again: to Paris's mailbox"
identical "$d" "$T_DIR/autoforward.eml" "$Q_DUP" "1: the same lead forwarded by contact@'s mailbox"

logged "$Q_IMMO" "1: ImmoPortail lead" "inbound: 1 tracked address, from mail.immoportail.example: spooled"
logged "$Q_STR" "1: the stranger's forward (its In-Reply-To names the form mail)" \
	"inbound: 1 tracked address, from gmail.com: spooled" "reply to 1 Message-ID: spooled"
logged "$Q_HAB" "1: HabitatDirect lead" "inbound: 1 tracked address, from habitatdirect.example: spooled"
logged "$Q_FWD" "1: Gmail forward (its In-Reply-To names the form mail)" \
	"inbound: 1 tracked address, from immo-durand.example (forwarded): spooled" "reply to 1 Message-ID: spooled"
logged "$Q_ATT" "1: the lead forwarded as attachment" \
	"inbound: 1 tracked address, from mail.immoportail.example (forwarded): spooled"
logged "$Q_DUP" "1: the same lead again" "inbound: 1 tracked address, from mail.immoportail.example: spooled"
logged "$Q_HAB0" "1: HabitatDirect lead to contact@ alone"
drained 1
t_eq "leads-paris@immo-durand.example|Paris 11e|Sophie Bernard|ImmoPortail|mail.immoportail.example|Nouveau contact pour votre annonce réf. P11-2043|20261202174107.8f3a2c91e4b5@mail.immoportail.example|$(size "$FIX/immoportail.eml")|false|$Q_IMMO
leads-lyon@immo-durand.example|Lyon Part-Dieu|-|Gmail|gmail.com|Fwd: Demande d'estimation - Maison Vincennes|CAHn8qW1x+7pQz3bV6nRk2Yd0sT9uEo4jLmFhA5cG8wXy1Z=kKw@mail.gmail.com|$(size "$T_DIR/stranger.eml")|false|$Q_STR
leads-lyon@immo-durand.example|Lyon Part-Dieu|-|HabitatDirect|habitatdirect.example|Demande de visite – T3 Lyon 3e (réf. L3-118)|lead.88213.1796284971.a41c7e@em.habitatdirect.example|$(size "$FIX/habitatdirect.eml")|false|$Q_HAB
leads-paris@immo-durand.example|Paris 11e|Sophie Bernard|site web|immo-durand.example|Fwd: Demande d'estimation - Maison Vincennes|CAHn8qW1x+7pQz3bV6nRk2Yd0sT9uEo4jLmFhA5cG8wXy1Z=kKw@mail.gmail.com|$(size "$FIX/gmail-forward.eml")|true|$Q_FWD" \
	"$(inbound_rows)" "1: beacon.inbound, exactly (the stranger's forward counted as his own mail, the lead in Cc, forwarded as attachment and forwarded again counted once)"
t_eq 4 "$(pg_query "SELECT count(*) FROM beacon.inbound WHERE at >= '$T0' AND at <= now()")" \
	"1: each row's time is its arrival"
t_eq "0|0|0" "$(pg_query "SELECT (SELECT count(*) FROM beacon.events) || '|' ||
	(SELECT count(*) FROM beacon.messages) || '|' || (SELECT count(*) FROM beacon.replies)")" \
	"1: no event, no tracked message, no reply from the leads"

# --- 2. the inbound report: volumes per point of sale and source, the previous day, the latest
# stored as the milter stores them: two ImmoPortail leads of the day before, and a lead for
# Lyon two days before from a sender no rule names (source other)
old_lead() {
	t_eq 1 "$(pg_query "SELECT beacon.inbound_mail(now() - interval '$1 day', ARRAY['$2'], '$3',
		'$4', '$5', NULL, NULL, 'Ancien contact', 2000, false, 'OLD$1')")" \
		"2: a lead of $1 day(s) before stored by beacon.inbound_mail"
}
old_lead 1 leads-paris@immo-durand.example old-1@mail.immoportail.example mail.immoportail.example \
	no-reply@mail.immoportail.example
old_lead 1 leads-paris@immo-durand.example old-2@mail.immoportail.example mail.immoportail.example \
	no-reply@mail.immoportail.example
old_lead 2 leads-lyon@immo-durand.example old-3@particulier.example particulier.example \
	jean@particulier.example
D0=$(date -u +%F)
D1=$(date -u -d "$D0 - 1 day" +%F)
D2=$(date -u -d "$D0 - 2 days" +%F)
ctl report inbound --csv >"$T_DIR/report.csv" 2>"$T_DIR/report.err" ||
	{ cat "$T_DIR/report.err" >&2; t_fail "2: beaconctl report inbound"; }
t_eq "period,point_of_sale,source,leads,previous,change,change_pct,complete
$D2,Lyon Part-Dieu,other,1,0,1,,t
$D1,Lyon Part-Dieu,other,0,1,-1,-100.0,t
$D1,Paris 11e,ImmoPortail,2,0,2,,t
$D0,Lyon Part-Dieu,Gmail,1,0,1,,f
$D0,Lyon Part-Dieu,HabitatDirect,1,0,1,,f
$D0,Paris 11e,ImmoPortail,1,2,-1,-50.0,f
$D0,Paris 11e,site web,1,0,1,,f" \
	"$(tr -d '\r' <"$T_DIR/report.csv")" "2: beaconctl report inbound --csv (days, with the drops)"
ctl report inbound --latest 1 --csv >"$T_DIR/latest.csv" 2>"$T_DIR/report.err" ||
	{ cat "$T_DIR/report.err" >&2; t_fail "2: beaconctl report inbound --latest 1"; }
at() {
	pg_query "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM beacon.inbound
		WHERE queue_id = '$1'"
}
t_eq "point_of_sale,at,source,sender_domain,subject,forward,address,owner,message_id
Lyon Part-Dieu,$(at "$Q_HAB"),HabitatDirect,habitatdirect.example,Demande de visite – T3 Lyon 3e (réf. L3-118),f,leads-lyon@immo-durand.example,,lead.88213.1796284971.a41c7e@em.habitatdirect.example
Paris 11e,$(at "$Q_FWD"),site web,immo-durand.example,Fwd: Demande d'estimation - Maison Vincennes,t,leads-paris@immo-durand.example,Sophie Bernard,CAHn8qW1x+7pQz3bV6nRk2Yd0sT9uEo4jLmFhA5cG8wXy1Z=kKw@mail.gmail.com" \
	"$(tr -d '\r' <"$T_DIR/latest.csv")" "2: beaconctl report inbound --latest 1: the newest lead of each point of sale"

# --- 3. replies to a tracked message
printf '%s\n' "From: Beacon News <news@sender.example>" "To: ann@remote.example, bob@remote.example" \
	"Subject: Spring letter" "Date: Mon, 30 Nov 2026 10:00:00 +0000" "X-Beacon: track" \
	"MIME-Version: 1.0" "Content-Type: text/html; charset=utf-8" "" \
	"<html><body><p>Spring is here.</p></body></html>" >"$T_DIR/letter.eml"
send "$T_DIR/letter.eml" news@sender.example ann@remote.example,bob@remote.example
Q_LETTER=$QID
deliveries 2
MIDS=$(for d in "${DUMPS[@]}"; do pf_sink_message "$d" | grep -i '^Message-ID:'; done | sort -u)
t_eq 1 "$(printf '%s\n' "$MIDS" | wc -l)" "3: both copies carry one and the same Message-ID"
MID=$(printf '%s\n' "$MIDS" | sed -n 's/^Message-ID: *<\([^>]*\)>$/\1/ip')
[ -n "$MID" ] || t_fail "3: no Message-ID in the copies ($MIDS)"
# Postfix's cleanup adds the missing Message-ID (its time and queue id) before the milters see
# the message, whatever the client: the milter tracks the message under it
[[ $MID =~ ^[0-9]{14}\.$Q_LETTER@mx\.beacon-test\.example$ ]] ||
	t_fail "3: the copies' Message-ID <$MID> is not the one Postfix adds"
t_ok "3: the copies carry the Message-ID Postfix added, <$MID>"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.messages WHERE btrim(message_id, '<>') = '$MID'")" \
	"3: the added Message-ID is the one stored"
MSG=$(pg_query "SELECT id FROM beacon.messages WHERE btrim(message_id, '<>') = '$MID'")
token_id() {
	pg_query "SELECT token_id FROM beacon.recipients WHERE message = '$MSG' AND address = '$1'"
}
T_ANN=$(token_id ann@remote.example)
T_BOB=$(token_id bob@remote.example)
{ [ -n "$T_ANN" ] && [ -n "$T_BOB" ]; } || t_fail "3: no recipients rows for ann and bob"

# reply FILE FROM MSGID IRT REFS - an answer to the letter (no In-Reply-To/References when empty)
reply() {
	{
		printf '%s\n' "From: $2" "To: Beacon News <news@sender.example>" "Subject: Re: Spring letter" \
			"Date: Mon, 30 Nov 2026 11:00:00 +0100" "Message-ID: <$3>"
		[ -z "$4" ] || printf 'In-Reply-To: %s\n' "$4"
		[ -z "$5" ] || printf 'References: %s\n' "$5"
		printf '%s\n' "MIME-Version: 1.0" "Content-Type: text/plain; charset=utf-8" \
			"Content-Transfer-Encoding: 8bit" "" "Merci, je passe samedi." "" \
			"Le lun. 30 nov. 2026 à 10:00, Beacon News <news@sender.example> a écrit :" \
			"> Spring is here."
	} >"$1"
}
# ann's mailbox answers first by itself (out of office, RFC 3834): no reply
reply "$T_DIR/r-ooo.eml" "Ann <ann@remote.example>" r-ooo@mail.remote.example "<$MID>" "<$MID>"
sed -i 's/^Subject: .*/Subject: Absence : Re: Spring letter/; /^Message-ID: /a Auto-Submitted: auto-replied' \
	"$T_DIR/r-ooo.eml"
send "$T_DIR/r-ooo.eml" ann@remote.example news@sender.example 192.0.2.30 mx.remote.example
Q_OOO=$QID
reply "$T_DIR/r-ann.eml" "Ann <Ann@Remote.Example>" r-ann@mail.remote.example "<$MID>" "<$MID>"
send "$T_DIR/r-ann.eml" ann@remote.example news@sender.example 192.0.2.30 mx.remote.example
Q_ANN=$QID
# the same reply again (her MTA timed out after DATA and sent it once more)
send "$T_DIR/r-ann.eml" ann@remote.example news@sender.example 192.0.2.30 mx.remote.example
Q_ANN2=$QID
reply "$T_DIR/r-bob.eml" "bob@remote.example" r-bob@mail.remote.example "" ""
send "$T_DIR/r-bob.eml" bob@remote.example news@sender.example 192.0.2.31 mx2.remote.example
Q_BOB=$QID
reply "$T_DIR/r-carol.eml" "Carol <carol@remote.example>" r-carol@mail.remote.example \
	"<fwd-ann@mail.remote.example>" "<$MID> <fwd-ann@mail.remote.example>"
send "$T_DIR/r-carol.eml" carol@remote.example news@sender.example 192.0.2.30 mx.remote.example
Q_CAROL=$QID
reply "$T_DIR/r-news.eml" "Beacon News <news@sender.example>" r-news@sender.example "<$MID>" "<$MID>"
sed -i 's/^To: .*/To: ann@remote.example/' "$T_DIR/r-news.eml"
send "$T_DIR/r-news.eml" news@sender.example ann@remote.example
Q_NEWS=$QID
deliveries 6
identical "$(dump_of "$Q_ANN")" "$T_DIR/r-ann.eml" "$Q_ANN" "3: ann's reply"
logged "$Q_ANN" "3: ann's reply" "reply to 1 Message-ID: spooled"
logged "$Q_ANN2" "3: ann's reply again" "reply to 1 Message-ID: spooled"
logged "$Q_CAROL" "3: carol's reply" "reply to 2 Message-IDs: spooled"
logged "$Q_NEWS" "3: the sender's follow-up" "reply to 1 Message-ID: spooled"
logged "$Q_BOB" "3: bob's answer without the header chain"
logged "$Q_OOO" "3: ann's out-of-office answer (Auto-Submitted)"
drained 3
t_eq "$T_ANN|r-ann@mail.remote.example|remote.example
-|r-carol@mail.remote.example|remote.example" \
	"$(pg_query "SELECT coalesce(token_id::text, '-') || '|' || reply_message_id || '|'
		|| coalesce(from_domain, '-') FROM beacon.replies WHERE message = '$MSG' ORDER BY at")" \
	"3: beacon.replies: ann's reply with her token (once), carol's without a token"
t_eq 2 "$(pg_query "SELECT count(*) FROM beacon.replies")" "3: no other replies row (none for ann's out-of-office answer)"
t_eq "$T_ANN|reply|human" \
	"$(pg_query "SELECT token_id || '|' || kind || '|' || class FROM beacon.events")" \
	"3: beacon.events: one reply event, ann's"
t_eq 1 "$(pg_query "SELECT count(*) FROM beacon.events e JOIN beacon.replies r USING (token_id)
	WHERE e.at = r.at")" "3: the event's time is the reply's"
t_eq 7 "$(pg_query "SELECT count(*) FROM beacon.inbound")" "3: replies are no leads (4 leads by mail, 3 stored in 2)"

ctl report summary -v "message_id=$MID" --csv >"$T_DIR/summary.csv" ||
	t_fail "3: beaconctl report summary"
summary=$(python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
print(len(rows), *(rows[0][k] for k in ("recipients", "opens", "opened", "replied", "reply_rate",
	"replies")))' "$T_DIR/summary.csv")
t_eq "1 2 0 1 1 50.0 2" "$summary" \
	"3: summary: 2 recipients, no open seen, yet 1 engaged (the reply), replied 1, reply rate 50.0, 2 replies"
HIST_HEAD=at,subject,kind,class,place,device,os,client,detail
t_eq "$HIST_HEAD
$(pg_query "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM beacon.replies
	WHERE token_id = '$T_ANN'"),Spring letter,reply,human,,,,," \
	"$(ctl history ann@remote.example --csv | tr -d '\r')" "3: beaconctl history of ann: her reply"
t_eq "$HIST_HEAD" "$(ctl history bob@remote.example --csv | tr -d '\r')" "3: beaconctl history of bob: nothing"


bc_no_sanitizer "$BC_MLOG"
