#!/bin/bash
# NAME
#	48_web_browser.sh - beacon-web in a real browser: a sender signs in,
#	searches, opens a message, watches a live event arrive, downloads a
#	CSV, reads the summary and signs out, and never sees another sender's
#	mail
#
# DESCRIPTION
#	The real stack on loopback: PostgreSQL, Postfix with beacon-milter
#	(per_recipient = split, the reinject smtpd, inbound = yes for
#	replies), beacon-pixelsrv, beacon-web; headless Chromium driven over
#	the DevTools protocol (tests/lib/browser.py).
#
#	Mail, all through Postfix and the milter (swaks):
#	  A1 ann@sender.example "Spring letter" (campaign Spring) to rita, sam
#	     and tom@remote.example (three copies, three tokens);
#	  B1 bob@sender.example "Zanzibar merger" (campaign Spring) to rita;
#	  A2 ann "Spring letter: the prices" (Spring, In-Reply-To A1) to rita;
#	  A3 ann "Autumn preview" (campaign Autumn) to uma@remote.example;
#	  rita's answer to A2 from the Internet (XCLIENT), recorded as a reply.
#	Events, real requests to beacon-pixelsrv: rita opens A1 in iPhone Mail
#	(Paris) and Outlook (New York) and clicks its link; sam's copy of A1 is fetched by
#	Gmail's image proxy; Apple Mail Privacy Protection prefetches uma's
#	A3; rita opens bob's B1 three times.
#
#	In the browser (Chromium's time zone Europe/Paris), as
#	ann@sender.example (beacon-web user, scope her address):
#	 1. /conversations sends to the sign-in form with next=; a wrong
#	    password is answered 401 with the error shown; the right one
#	    lands on /conversations; script cannot read the session cookie.
#	 2. live: the page opens with ann's events so far, newest first, none
#	    of bob's; then a pixel hit on bob's B1, one on sam's copy of A1
#	    (Outlook, Berlin) and Apple's prefetch of uma's A3: within 5 s
#	    exactly two new rows on top, uma's prefetch (not counted, why in
#	    words, the reason's code in a title) and sam's open (human), each
#	    with its subject linked to its message, nothing of bob's.
#	 3. messages: exactly A3, A2, A1 newest first with their recipients,
#	    opened and clicked counts (1 1 3, 0 1 2, 0 0 1), "3 messages";
#	    search "rita" gives A2 and A1, "Autumn" A3, words in no message
#	    none; the CSV link's file has exactly those three rows and counts.
#	    On the phone each message is a card: its subject and counts on
#	    the screen, not beyond its right edge.
#	 4. message A1 (followed from the list): 3 recipients, 2 opened, 1
#	    clicked; rita and sam opened, tom did not; five events newest
#	    first (sam's live open on top), the proxy one marked; on the
#	    phone the events' time, kind, class and recipient on the screen;
#	    A3: the prefetches greyed (struck through), "prefetch", "not
#	    counted"; A2, opened only by rita's reply: 1 opened, the reply.
#	 5. conversations: two threads, A1 and A2 with rita's reply, and A3;
#	    one opened.
#	 6. summary, campaign Spring typed in its filter form: every cell of
#	    #summary equals `beaconctl report summary --csv` for the same
#	    filter, zone and ann's address (bob's B1 is in the campaign too:
#	    a leak changes the counts); an empty identity (message, subject)
#	    and a "left out" of a counted class or of 0 not shown; the chart
#	    of six slots at least, a slot's opens and clicks bars touching.
#	 7. bob's message by its URL: the 404 page saying so, and the API
#	    answers 404 to ann's session; his subject is in none of ann's
#	    pages, her CSV or the API's list.
#	 8. sign out (the button says so): / goes to the sign-in page.
#	Every page loads without a script error or a Content-Security-Policy
#	refusal, and nothing sticks out sideways at 1366x768 nor on a 390x844
#	phone (tables scroll in their box), nor after the summary's window
#	is narrowed.  Screenshots of every page at both sizes (taller pages
#	a screen at a time) go to $BEACON_BUILD/test-logs/web-shots/.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"
. "$BEACON_SRC/tests/lib/web.sh"

t_tmpdir >/dev/null
t_need_root "Postfix"
command -v chromium >/dev/null || t_fail "chromium is not installed (make deps)"
/usr/bin/python3 -c 'import websocket' 2>/dev/null || t_fail "python3-websocket is not installed (make deps)"
SHOTS=$BEACON_BUILD/test-logs/web-shots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# --- PostgreSQL, beacon-pixelsrv (clicks are never a scanner's by their speed here, and every
# request is a row: no repeat is held back)
pg_start
pg_schema
px_setup
px_config 'scanner_click_seconds = 0' 'repeat_window = 0'
px_start

# --- beacon-milter on the pixel server's secret and URL; Postfix takes ann's and bob's mail
# from 127.0.0.1 and, for sender.example, the Internet's (XCLIENT) on the same smtpd
cp "$PX_SECRET" "$T_DIR/milter.secret"
BC_BASE=$PX_URL
bc_milter_config
PF_EXTRA_MAINCF="smtpd_authorized_xclient_hosts = 127.0.0.1
relay_domains = sender.example
smtpd_relay_restrictions = permit_mynetworks, permit_auth_destination, reject" \
	PF_MILTER=unix:$BC_MSOCK PF_REINJECT=1 pf_start
bc_milter_config '[milter]' 'per_recipient = split' "reinject = inet:$PF_REINJECT_PORT@127.0.0.1" \
	'trusted_networks = 127.0.0.1/32' 'inbound = yes'
bc_milter_start

# --- the mail
NSENT=0
# send FILE FROM RCPTS [CLIENT_ADDR] - swaks FILE to the comma-separated RCPTS (as the Internet
# host CLIENT_ADDR when given); NSENT counts the copies the sink is to get
send() {
	local -a xclient=()
	local n
	[ -n "${4:-}" ] && xclient=(--xclient-addr "$4" --xclient-name mx.remote.example)
	# swaks ends DATA with CRLF . CRLF itself: no trailing newline in the file
	printf '%s' "$(cat "$1")" >"$1.swaks"
	swaks --server "127.0.0.1:$PF_SMTP_PORT" "${xclient[@]}" --from "$2" --to "$3" \
		--data "@$1.swaks" >"$1.out" 2>&1 || { cat "$1.out" >&2; t_fail "swaks $1"; }
	n=$(tr ',' '\n' <<<"$3" | wc -l)
	NSENT=$((NSENT + n))
}
# letter FILE FROM ID SUBJECT CAMPAIGN TO [IN_REPLY_TO] - a tagged HTML letter with one link
letter() {
	{
		printf '%s\n' "From: $2" "To: $6" "Subject: $4" "Date: $(LC_ALL=C date -R)" \
			"Message-ID: <$3@sender.example>" "X-Beacon: track; campaign=\"$5\""
		[ -z "${7:-}" ] || printf '%s\n' "In-Reply-To: <$7@sender.example>" "References: <$7@sender.example>"
		printf '%s\n' "MIME-Version: 1.0" "Content-Type: text/html; charset=utf-8" "" \
			"<html><body><p>$4</p><p><a href=\"https://shop.example/$3\">Read more</a></p></body></html>"
	} >"$1"
}
letter "$T_DIR/a1.eml" "Ann <ann@sender.example>" a1 "Spring letter" Spring \
	"Rita Reader <rita@remote.example>, sam@remote.example, tom@remote.example"
send "$T_DIR/a1.eml" ann@sender.example rita@remote.example,sam@remote.example,tom@remote.example
letter "$T_DIR/b1.eml" "Bob <bob@sender.example>" b1 "Zanzibar merger" Spring "Rita Reader <rita@remote.example>"
send "$T_DIR/b1.eml" bob@sender.example rita@remote.example
letter "$T_DIR/a2.eml" "Ann <ann@sender.example>" a2 "Spring letter: the prices" Spring \
	"Rita Reader <rita@remote.example>" a1
send "$T_DIR/a2.eml" ann@sender.example rita@remote.example
letter "$T_DIR/a3.eml" "Ann <ann@sender.example>" a3 "Autumn preview" Autumn "uma@remote.example"
send "$T_DIR/a3.eml" ann@sender.example uma@remote.example
# a reply finds its message only once the message's row is there
t_wait_until "[ \"\$(pg_query 'SELECT count(*) FROM beacon.messages')\" = 4 ]" 15 ||
	{ tail -n 20 "$BC_MLOG" >&2; t_fail "the four letters are not all in the database"; }
{
	printf '%s\n' "From: Rita Reader <rita@remote.example>" "To: Ann <ann@sender.example>" \
		"Subject: Re: Spring letter: the prices" "Date: $(LC_ALL=C date -R)" \
		"Message-ID: <r1@mail.remote.example>" "In-Reply-To: <a2@sender.example>" \
		"References: <a1@sender.example> <a2@sender.example>" "MIME-Version: 1.0" \
		"Content-Type: text/plain; charset=utf-8" "" "Thank you, I will come on Saturday."
} >"$T_DIR/r1.eml"
send "$T_DIR/r1.eml" rita@remote.example ann@sender.example 192.0.2.30
pf_wait_delivered "$NSENT" 15 || { tail -n 20 "$BC_MLOG" >&2; t_fail "not all $NSENT copies delivered"; }

# msg ID - the messages.id of <ID@sender.example>
msg() {
	pg_query "SELECT id FROM beacon.messages WHERE btrim(message_id, '<>') = '$1@sender.example'"
}
# token ID RCPT - the token of RCPT's copy of <ID@sender.example>
token() {
	pg_query "SELECT r.token FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message
		WHERE btrim(m.message_id, '<>') = '$1@sender.example' AND r.address = '$2'"
}
t_wait_until "[ \"\$(pg_query 'SELECT count(*) FROM beacon.replies')\" = 1 ] &&
	[ \"\$(pg_query 'SELECT count(*) FROM beacon.recipients')\" = 6 ]" 15 ||
	{ tail -n 20 "$BC_MLOG" >&2; t_fail "the four letters and the reply are not all in the database"; }
A1=$(msg a1) A2=$(msg a2) A3=$(msg a3) B1=$(msg b1)
t_ok "stored: A1 $A1, A2 $A2, A3 $A3, B1 $B1 and rita's reply"

# --- the events, through beacon-pixelsrv (its trusted proxy names the client)
IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'
OUTLOOK='Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)'
GMAIL='Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'
CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
NEVENTS=0
# hit PATH UA CLIENT - one request as CLIENT's mail client or browser; 200 or 302 expected
hit() {
	local code
	code=$(px_get "$1" -A "$2" -H "X-Forwarded-For: $3")
	case $code in 200 | 302) ;; *) t_fail "GET $1 answered $code" ;; esac
	NEVENTS=$((NEVENTS + 1))
}
RITA_A1=$(token a1 rita@remote.example)
hit "/o/$RITA_A1.gif" "$IPHONE" 192.0.2.10
hit "/o/$RITA_A1.gif" "$OUTLOOK" 203.0.113.7
hit "$(px_click "$RITA_A1" 1 https://shop.example/a1)" "$CHROME" 192.0.2.10
hit "/o/$(token a1 sam@remote.example).gif" "$GMAIL" 66.249.84.1
hit "/o/$(token a3 uma@remote.example).gif" "Mozilla/5.0" 172.224.226.5
for i in 1 2 3; do
	hit "/o/$(token b1 rita@remote.example).gif" "$IPHONE" 192.0.2.10
done
# rita's reply is an event too
px_wait_rows $((NEVENTS + 1)) 15 || t_fail "beacon-pixelsrv stored $(px_rows) of $((NEVENTS + 1)) events"
t_eq "human human human proxy prefetch" \
	"$(pg_query "SELECT string_agg(e.class, ' ' ORDER BY e.at) FROM beacon.events e
		JOIN beacon.recipients r ON r.token_id = e.token_id WHERE r.message IN ('$A1', '$A3')")" \
	"classes of the events of A1 and A3"

# --- beacon-web as a member of beacon_web, and ann's account (her address is her scope)
wb_role
wb_config
wb_start
PASSWORD=correct-horse-battery-staple
wb_user ann@sender.example "$PASSWORD"
URL=$WB_URL

# --- what the browser's scenario runs (sh): bash functions in its environment
SAM_A1=$(token a1 sam@remote.example)
RITA_B1=$(token b1 rita@remote.example)
UMA_A3=$(token a3 uma@remote.example)
# live_hits - while the live page is open: rita opens bob's B1, sam opens ann's A1 in Outlook,
# then Apple's relay fetches uma's A3
live_hits() {
	[ "$(px_get "/o/$RITA_B1.gif" -A "$IPHONE" -H 'X-Forwarded-For: 192.0.2.10')" = 200 ] &&
		[ "$(px_get "/o/$SAM_A1.gif" -A "$OUTLOOK" -H 'X-Forwarded-For: 198.51.100.20')" = 200 ] &&
		sleep 0.3 &&
		[ "$(px_get "/o/$UMA_A3.gif" -A "Mozilla/5.0" -H 'X-Forwarded-For: 172.224.226.5')" = 200 ]
}
# ann's events before the live page opens, newest first, as it orders them: how many, their kinds
LIVE_BEFORE=$(pg_query "SELECT count(*) || '|' || string_agg(e.kind, ' ' ORDER BY e.at DESC, e.kind, r.address)
	FROM beacon.events e JOIN beacon.recipients r ON r.token_id = e.token_id
	WHERE r.message IN ('$A1', '$A2', '$A3')")
# summary_expect FILE - scenario lines: each #summary cell is beaconctl's value for campaign Spring
summary_expect() {
	wb_ctl report summary \
		-v campaign=Spring -v sender=ann@sender.example -v by=all -v tz=Europe/Paris --csv >"$T_DIR/summary.csv"
	/usr/bin/python3 - "$T_DIR/summary.csv" >"$1" <<-'EOF'
		import csv, shlex, sys
		rows = list(csv.DictReader(open(sys.argv[1], newline="")))
		if len(rows) != 1:
		    sys.exit("beaconctl report summary: %d rows, expected 1" % len(rows))
		# the page shows a NULL as a dash; it leaves out an empty identity, and the events
		# left out of a class that is counted (human, proxy) or when there are none
		for k, v in rows[0].items():
		    if (not v and k in ("message", "campaign", "subject")) or \
		       (k.startswith("left_out_") and (k[9:] in ("human", "proxy") or v == "0")):
		        print("eq 0 \"document.querySelectorAll('#summary td[data-k=%s]').length\"" % k)
		        continue
		    js = "document.querySelector('#summary td[data-k=%s]').textContent.trim()" % k
		    print("eq %s \"%s\"" % (shlex.quote(v or "\u2013"), js))
	EOF
}

export -f live_hits px_get summary_expect wb_ctl
export PX_URL RITA_B1 SAM_A1 UMA_A3 IPHONE OUTLOOK T_DIR BEACON_BUILD
# hrefs JS-SELECTOR - JavaScript: the /m/ links under the selector, space-separated
hrefs() {
	printf "[...document.querySelectorAll('%s a')].map(a => a.getAttribute('href')).filter(h => h.startsWith('/m/')).join(' ')" "$1"
}
# texts JS-SELECTOR - JavaScript: the trimmed texts of the elements, space-separated
texts() {
	printf "[...document.querySelectorAll('%s')].map(e => e.textContent.trim()).join(' ')" "$1"
}
# fits - JavaScript: the elements that stick out of the viewport's width once the page has
# settled (two frames and 0.2 s: charts size themselves), as tag#id.class; tables inside a
# .scroll box may (they scroll sideways), nothing else
fits() {
	printf '%s' "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 200))))" \
		".then(() => [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll') &&" \
		" e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName.toLowerCase() +" \
		" (e.id ? '#' + e.id : '') + (typeof e.className == 'string' && e.className.trim() ?" \
		" '.' + e.className.trim().split(/ +/).join('.') : '')).join(' '))"
}
# shots NAME [keep] - nothing sticks out at 1366x768, screenshot; the same loaded on a 390x844
# phone (keep: the page as it is, laid out again, not reloaded: the live rows stay)
shots() {
	printf '%s\n' "eq '' \"$(fits)\"" "shot $SHOTS/$1-1366x768.png" "viewport 390 844 mobile"
	[ "${2:-}" = keep ] || printf '%s\n' reload
	printf '%s\n' "eq '' \"$(fits)\"" "shot $SHOTS/$1-390x844.png" "viewport 1366 768"
}
# phone_sees JS-SELECTOR - on a 390x844 phone, the page loaded again: every element of the
# selector is shown and inside the screen's width (not cut by a table's box), then back to 1366x768
phone_sees() {
	printf '%s\n' "viewport 390 844 mobile" reload \
		"eq '' \"[...document.querySelectorAll('$1')].filter(e => (r => r.width == 0 || r.left < 0 || r.right > innerWidth + 1)(e.getBoundingClientRect())).map(e => e.tagName.toLowerCase() + '.' + e.className.split(' ').join('.') + (e.dataset.k ? '[' + e.dataset.k + ']' : '')).join(' ')\"" \
		"eq false \"[...document.querySelectorAll('$1')].length == 0\"" \
		"viewport 1366 768"
}
# the threads' messages, each thread's sorted and joined by commas, the threads sorted
THREADS=$(printf '%s\n' "$(printf '%s\n' "/m/$A1" "/m/$A2" | LC_ALL=C sort | paste -sd,)" "/m/$A3" |
	LC_ALL=C sort | paste -sd' ')
cat >"$T_DIR/scenario" <<EOF
# the viewer is in Paris: times shown and dates typed are Paris's
tz Europe/Paris
viewport 1366 768

# 1. sign in: a page asked for sends to the form, a wrong password is refused, the right one
# lands on the page asked for
open $URL/conversations
match '^/login\?next=(%2F|/)conversations$' "location.pathname + location.search"
wait "form#login input[name=user]"
noerrors
$(shots login)
type "form#login input[name=user]" ann@sender.example
type "form#login input[name=password]" wrong-password-here
key Enter nav
status 401
path /login
wait "#login-error"
absent 'Spring letter'
type "form#login input[name=user]" ann@sender.example
type "form#login input[name=password]" "$PASSWORD"
key Enter nav
status 200
path /conversations
eq false "document.cookie.includes('beacon_session')"

# 2. live: ann's events so far; then rita opens bob's B1, sam opens ann's A1, Apple fetches
# uma's A3: two new rows, uma's and sam's
follow "nav a[href='/live']"
path /live
until "document.getElementById('live-status').dataset.state == 'live'"
noerrors
eq "${LIVE_BEFORE%%|*}" "document.querySelectorAll('#live-events tr.event').length"
eq "${LIVE_BEFORE#*|}" "$(texts '#live-events tr.event td.kind')"
eq 0 "document.querySelectorAll('#live-events tr.event.new').length"
absent Zanzibar
match "^Connected at " "document.getElementById('live-status').textContent"
$(shots live-start keep)
sh live_hits
wait "#live-events tr.event.new" 5
until "document.querySelectorAll('#live-events tr.event.new').length >= 2" 5
sleep 0.5
eq 2 "document.querySelectorAll('#live-events tr.event.new').length"
eq $((${LIVE_BEFORE%%|*} + 2)) "document.querySelectorAll('#live-events tr.event').length"
eq "new new" "[...document.querySelectorAll('#live-events tr.event')].slice(0, 2).map(tr => tr.classList.contains('new') ? 'new' : 'old').join(' ')"
eq "uma@remote.example sam@remote.example" "$(texts '#live-events tr.event.new td.addr')"
eq sam@remote.example "document.querySelector('#live-events tr.event.new:not(.uncounted) td.addr').textContent"
eq "open human" "$(texts '#live-events tr.event.new:not(.uncounted) td.kind, #live-events tr.event.new:not(.uncounted) td.class')"
eq "Autumn preview|Spring letter" "[...document.querySelectorAll('#live-events tr.event.new td.subject')].map(e => e.textContent).join('|')"
eq "/m/$A3 /m/$A1" "$(hrefs '#live-events tr.event.new')"
eq "open prefetch" "$(texts '#live-events tr.event.new.uncounted td.kind, #live-events tr.event.new.uncounted td.class .cls')"
eq "not counted: Apple Mail Privacy Protection loaded the images; not an open" "document.querySelector('#live-events tr.event.new.uncounted td.class .why').textContent"
eq apple-mpp "document.querySelector('#live-events tr.event.new.uncounted td.class .why').title"
match "^Connected · 2 new events" "document.getElementById('live-status').textContent"
absent Zanzibar
$(shots live keep)

# 3. messages: ann's three, newest first, their counts; search; the CSV
follow "nav a[href='/']"
noerrors
eq "/m/$A3 /m/$A2 /m/$A1" "$(hrefs 'table#messages tr.message')"
eq "1 1 3" "$(texts 'table#messages tr.message td[data-k=recipients]')"
eq "0 1 2" "$(texts 'table#messages tr.message td[data-k=opened]')"
eq "0 0 1" "$(texts 'table#messages tr.message td[data-k=clicked]')"
eq "3 messages" "document.getElementById('messages-count').textContent"
absent Zanzibar
$(shots messages)
$(phone_sees 'table#messages tr.message td.subject, table#messages tr.message td[data-k=recipients], table#messages tr.message td[data-k=opened], table#messages tr.message td[data-k=clicked]')
fetchhref "a.csv" $T_DIR/messages.csv
type "#search input[name=q]" rita
key Enter nav
eq "/m/$A2 /m/$A1" "$(hrefs 'table#messages tr.message')"
type "#search input[name=q]" Autumn
key Enter nav
eq "/m/$A3" "$(hrefs 'table#messages tr.message')"
absent Zanzibar
type "#search input[name=q]" "words in no message"
key Enter nav
eq "" "$(hrefs 'table#messages tr.message')"
eq "No message matches." "document.getElementById('messages-count').textContent"
$(shots messages-empty)

# 4. message A1: figures, recipients, five events newest first (the live open on top)
follow "nav a[href='/']"
follow "table#messages a[href='/m/$A1']"
path /m/$A1
noerrors
eq "3 2 1" "$(texts '#message-figures [data-k=recipients], #message-figures [data-k=opened], #message-figures [data-k=clicked]')"
eq "rita@remote.example=yes sam@remote.example=yes tom@remote.example=–" "[...document.querySelectorAll('table#recipients tr.recipient')].map(tr => tr.querySelector('td.addr').firstChild.textContent.trim() + '=' + tr.querySelector('td[data-k=opened]').textContent.trim()).sort().join(' ')"
match "Rita Reader" "document.querySelector('table#recipients').textContent"
eq 5 "document.querySelectorAll('table#events tr.event').length"
eq "open open click open open" "$(texts 'table#events tr.event td.kind')"
eq "human proxy human human human" "$(texts 'table#events tr.event td.class .cls')"
eq "sam@remote.example sam@remote.example rita@remote.example rita@remote.example rita@remote.example" "$(texts 'table#events tr.event td.addr')"
eq 0 "document.querySelectorAll('table#events tr.event.uncounted').length"
absent Zanzibar
$(shots message)
$(phone_sees 'table#events tr.event td.time, table#events tr.event td.kind, table#events tr.event td.class, table#events tr.event td.addr, table#recipients tr.recipient td.addr, table#recipients td.yn.yes')
# A3: its two prefetches (the second on the live page) greyed and said so
open $URL/m/$A3
eq "2 2" "document.querySelectorAll('table#events tr.event.uncounted').length + ' ' + document.querySelectorAll('table#events tr.event').length"
eq prefetch "document.querySelector('table#events tr.event td.class .cls').textContent"
match "^not counted" "document.querySelector('table#events tr.event td.class .why').textContent"
eq true "(s => s.color != getComputedStyle(document.body).color && s.textDecorationLine == 'line-through')(getComputedStyle(document.querySelector('table#events tr.event.uncounted td.kind')))"
$(shots message-uncounted)
# A2: rita answered it and did nothing else: opened by her reply
open $URL/m/$A2
eq "1 1" "$(texts '#message-figures [data-k=recipients], #message-figures [data-k=opened]')"
eq reply "$(texts 'table#events tr.event td.kind')"
eq "yes yes" "$(texts 'table#recipients tr.recipient td[data-k=opened], table#recipients tr.recipient td[data-k=replied]')"
match "opened, clicked or replied" "document.getElementById('opened-note').textContent"
$(shots message-reply)

# 5. conversations: A1 and A2 with rita's reply in one thread, A3 alone
follow "nav a[href='/conversations']"
noerrors
eq 2 "document.querySelectorAll('#conversations details.thread').length"
eq "$THREADS" "[...document.querySelectorAll('#conversations details.thread')].map(d => [...d.querySelectorAll('li.item.message a')].map(a => a.getAttribute('href')).filter(h => h.startsWith('/m/')).sort().join(',')).sort().join(' ')"
eq 1 "document.querySelectorAll('#conversations li.item.reply').length"
match rita@remote.example "document.querySelector('#conversations li.item.reply').textContent"
absent Zanzibar
$(shots conversations)
click "#conversations details.thread summary"
eq true "document.querySelector('#conversations details.thread').open"
$(shots conversations-open keep)

# 6. summary of campaign Spring, through the filter form: beaconctl's figures
follow "nav a[href='/summary']"
noerrors
type "#summary-filters input[name=campaign]" Spring
follow "#summary-filters button[type=submit]"
match "[?&]campaign=Spring(&|\$)" "location.search"
match "[?&]tz=Europe%2FParis(&|\$)" "location.search"
noerrors
wait "#summary td[data-k=opened]"
sh "summary_expect $T_DIR/summary.sc"
include $T_DIR/summary.sc
absent Zanzibar
eq true "JSON.parse(document.getElementById('chart-data').textContent).labels.length >= 6"
eq true "(c => { const d = c.data.datasets, a = c.getDatasetMeta(0).data, b = c.getDatasetMeta(1).data; const i = d[0].data.findIndex((v, k) => v > 0 && d[1].data[k] > 0); return i >= 0 && Math.abs((b[i].x - b[i].width / 2) - (a[i].x + a[i].width / 2)) < 1.5; })(Chart.getChart('chart-time'))"
$(shots summary)
# a narrower window after the page loaded: the charts follow
viewport 1280 768
eq '' "$(fits)"
viewport 1366 768

# 7. bob's message by its address: not found, nothing of it
open $URL/m/$B1
status 404
absent Zanzibar
present "This message does not exist or is not one of yours."
$(shots notfound)
fetch $URL/api/v1/messages/$B1 $T_DIR/api-b1.json
fetch $URL/api/v1/messages $T_DIR/api-list.json

# 8. sign out: / is the sign-in page again
open $URL/
eq "Sign out" "document.querySelector('form#logout button').textContent"
follow "form#logout button"
match ^/login "location.pathname"
open $URL/
path /login
EOF
start=$(t_now_us)
/usr/bin/python3 "$BEACON_SRC/tests/lib/browser.py" run "$T_DIR/scenario" --shots "$SHOTS" \
	--log "$T_DIR/chromium.log" || { tail -n 20 "$WB_LOG" >&2; t_fail "the browser scenario failed"; }
t_ok "browser scenario: $((($(t_now_us) - start) / 1000)) ms"

# --- what the browser fetched
/usr/bin/python3 - "$T_DIR/messages.csv" "$A1" "$A2" "$A3" <<'EOF' || t_fail "the messages CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
got = [(r["id"], r["subject"], r["recipients"], r["opened"], r["clicked"]) for r in rows]
want = [(sys.argv[4], "Autumn preview", "1", "0", "0"), (sys.argv[3], "Spring letter: the prices", "1", "1", "0"),
        (sys.argv[2], "Spring letter", "3", "2", "1")]
if got != want:
    sys.exit("CSV rows %r, expected %r" % (got, want))
print("ok - the messages CSV: %r" % (got,))
EOF
! grep -q Zanzibar "$T_DIR/messages.csv" "$T_DIR/api-list.json" || t_fail "bob's subject in ann's CSV or API list"
# the live page's silence about bob was not for want of his event
t_eq "4 2" "$(pg_query "SELECT count(*) FILTER (WHERE r.message = '$B1') || ' ' ||
	count(*) FILTER (WHERE r.token = '$SAM_A1') FROM beacon.events e
	JOIN beacon.recipients r ON r.token_id = e.token_id")" "events of bob's B1, of sam's copy of A1"
t_eq "404" "$(cut -d' ' -f1 "$T_DIR/api-b1.json.meta")" "API: bob's message with ann's session"
! grep -q Zanzibar "$T_DIR/api-b1.json" || t_fail "bob's subject in the API's answer"
t_ok "bob's message: in none of ann's answers"
for page in login live-start live messages messages-empty message message-uncounted message-reply \
	conversations conversations-open summary notfound; do
	for size in 1366x768 390x844; do
		[ -s "$SHOTS/$page-$size.png" ] || t_fail "no screenshot $SHOTS/$page-$size.png"
	done
done
t_ok "screenshots in $SHOTS: $(cd "$SHOTS" && printf '%s ' ./*.png | sed 's#\./##g')"
bc_no_sanitizer "$WB_LOG"
bc_no_sanitizer "$BC_MLOG"
bc_no_sanitizer "$T_DIR/pixelsrv.log"
