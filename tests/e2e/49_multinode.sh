#!/bin/bash
# NAME
#	49_multinode.sh - two MTAs and three pixel servers behind HAProxy,
#	one PostgreSQL: a node killed under load loses and doubles nothing
#
# DESCRIPTION
#	Two private Postfix instances, each with its own beacon-milter (one
#	secret), relay tagged mail to smtp-sink; three beacon-pixelsrv nodes
#	(node_name px1, px2, px3) sit behind Debian's haproxy running
#	contrib/haproxy/beacon-pixelsrv-nodes.cfg as it is, its addresses,
#	ports, check interval, log and admin socket from the environment.
#	px2 holds its events in its queue file (a batch_interval longer than
#	the test), so its SIGKILL leaves them all there.
#	1. Mail through both MTAs is delivered tracked: one pixel token per
#	   message, no token and no message twice in the database.
#	2. A paced load of opens and clicks over the delivered URLs goes
#	   through HAProxy over TLS, each request marked by its number (in
#	   its User-Agent and its query).  Mid-load px2 is SIGKILLed:
#	   HAProxy's /healthz checks take it out (its admin socket says DOWN,
#	   its log too); px2 starts again on the same spool_dir and is taken
#	   back (UP), and answers again.  The nodes then stop (SIGTERM: drain).
#	3. Every request answered 200 or 302 is exactly one row of
#	   beacon.events; no request is two rows; a row of a request not
#	   answered (the kill cut it) is a request that was sent.
#	4. Each row's node is the server HAProxy's log names for that
#	   request; per node, the rows match its /metrics: the opens and
#	   clicks it answered, and for px2 also the events its queue file
#	   gave back after the restart (beacon_pixelsrv_events_recovered_total,
#	   at least one).  Each node's /metrics names it (beacon_node_info).
#	Loopback only; the load is bounded in requests and in time.
set -euo pipefail
. "${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"
. "$BEACON_SRC/tests/lib/postfix.sh"
. "$BEACON_SRC/tests/lib/beacon.sh"
. "$BEACON_SRC/tests/lib/pixelsrv.sh"

t_need_root "private Postfix instances"
command -v haproxy >/dev/null || t_fail "haproxy is not installed (make deps)"
t_tmpdir >/dev/null
NMAIL=12	# messages per MTA
T0=$(t_now_us)
# at WHAT - say how far the test is, in seconds since it started
at() { printf '# %s s: %s\n' "$((($(t_now_us) - T0) / 1000000))" "$*"; }

cat >"$T_DIR/load.py" <<'EOF'
# load.py urls SINK_DUMP... - the pixel and click paths of the dumps: "o PATH" / "c PATH"
#	(not the honeypot link 0), and "t TOKEN" per pixel
# load.py run HOST PORT PATHS RATE SECONDS STOPFILE OUT - GET the paths in turn over TLS
#	keep-alive connections, RATE requests a second, until STOPFILE exists or SECONDS
#	pass; request i carries "r=i" in its query and its User-Agent; OUT gets "i status"
# load.py stat SOCKET - "SERVER STATUS" per node, from HAProxy's admin socket (UP, DOWN, ...)
# load.py info SOCKET FIELD - a field of HAProxy's "show info" (DroppedLogs, ...)
# load.py wait SOCKET SECONDS SERVER=STATUS... - poll until every SERVER has its STATUS; exit 1
#	if SECONDS pass first
import http.client, re, socket, ssl, sys, threading, time

def urls(files):
    for f in files:
        text = open(f, errors="replace").read()
        for tok in re.findall(r'/o/([A-Za-z0-9_-]+)\.gif', text):
            print("t " + tok)
            print("o /o/%s.gif" % tok)
        for p, n in re.findall(r'(/c/[A-Za-z0-9_-]+/([0-9]+)/[A-Za-z0-9_-]+\?u=[A-Za-z0-9_-]*)', text):
            if n != "0":    # link 0 is the honeypot no person sees (answered 204)
                print("c " + p)

def run(host, port, paths_file, rate, seconds, stopfile, out):
    paths = [l.split(" ", 1)[1].strip() for l in open(paths_file) if l[:2] in ("o ", "c ")]
    ctx = ssl._create_unverified_context()
    lock, res = threading.Lock(), []
    nxt = [0]
    t0 = time.monotonic()
    end = t0 + seconds
    def stop():
        try:
            open(stopfile).close()
            return True
        except OSError:
            return time.monotonic() > end
    def worker():
        conn = None
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if stop():
                break
            p = paths[i % len(paths)]
            p += ("&" if "?" in p else "?") + "r=%d" % i
            status = "err"
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
                conn.request("GET", p, headers={
                    "User-Agent": "beacon-e2e-49 r=%d" % i,
                    "Accept": "text/html,image/*;q=0.9,*/*;q=0.8",
                    "Accept-Language": "en-GB,en;q=0.9"})
                r = conn.getresponse()
                r.read()
                status = str(r.status)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                res.append((i, status))
        if conn is not None:
            conn.close()
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    with open(out, "w") as f:
        for i, s in sorted(res):
            f.write("%d %s\n" % (i, s))

def ask(path, command):
    """HAProxy's answer to one admin socket command, "" when it cannot be had"""
    data = b""
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
    except OSError:
        return ""
    return data.decode()

def stat(path):
    """{server: status} of the nodes of backend beacon_pixelsrv"""
    out = {}
    for line in ask(path, "show stat").splitlines():
        f = line.split(",")
        if len(f) > 17 and f[0] == "beacon_pixelsrv" and f[1] not in ("FRONTEND", "BACKEND"):
            out[f[1]] = f[17]
    return out

def wait(path, seconds, wants):
    want = dict(w.split("=", 1) for w in wants)
    end = time.monotonic() + seconds
    while True:
        have = stat(path)
        if all(have.get(k) == v for k, v in want.items()):
            return 0
        if time.monotonic() > end:
            print(" ".join("%s %s" % kv for kv in sorted(have.items())))
            return 1
        time.sleep(0.05)

cmd = sys.argv[1]
if cmd == "urls":
    urls(sys.argv[2:])
elif cmd == "run":
    a = sys.argv[2:]
    run(a[0], int(a[1]), a[2], float(a[3]), float(a[4]), a[5], a[6])
elif cmd == "stat":
    for k, v in sorted(stat(sys.argv[2]).items()):
        print(k, v)
elif cmd == "info":
    for line in ask(sys.argv[2], "show info").splitlines():
        if line.startswith(sys.argv[3] + ":"):
            print(line.split(":", 1)[1].strip())
elif cmd == "wait":
    sys.exit(wait(sys.argv[2], float(sys.argv[3]), sys.argv[4:]))
EOF
load() { python3 "$T_DIR/load.py" "$@"; }

at "start"
# --- PostgreSQL, the TLS front's ports, two MTAs each with its milter
pg_start
pg_schema
https_port=$(t_free_port)
http_port=$(t_free_port)
BC_BASE=https://127.0.0.1:$https_port
declare -A mta_port mta_sink mta_sinkpid milter_pid
for m in 1 2; do
	[ "$m" = 1 ] || pf_new "pf$m"
	BC_MNAME=milter$m bc_milter_config
	bc_milter_start
	milter_pid[$m]=$BC_MPID
	PF_NAME=pf$m PF_MILTER=unix:$BC_MSOCK pf_start
	mta_port[$m]=$PF_SMTP_PORT mta_sink[$m]=$PF_SINK_DIR mta_sinkpid[$m]=$PF_SINK_PID
done

at "MTAs up"
# --- three pixel servers, one secret with the milters
px_setup
PX_SECRET=$T_DIR/milter.secret
declare -A px_port px_mport px_pid
for n in 1 2 3; do
	PX_HOME=$T_DIR/px$n PX_PORT=$(t_free_port) PX_MPORT=$(t_free_port)
	extra='batch_interval = 200'
	# px2 keeps what it answers in its queue file until it stops: the kill leaves it all there
	[ "$n" = 2 ] && extra='batch_interval = 600000'
	px_config "node_name = px$n" 'per_ip_connection_limit = 0' 'repeat_window = 0' \
		'queue_size = 8192' 'batch_size = 100000' "$extra"
	px_start
	px_port[$n]=$PX_PORT px_mport[$n]=$PX_MPORT px_pid[$n]=$PX_PID
done

at "pixel servers up"
# --- HAProxy with the contrib file as it is
hp=$T_DIR/haproxy
mkdir -p "$hp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$hp/key.pem" -out "$hp/cert.pem" -subj /CN=t.example.com >/dev/null 2>&1 ||
	t_fail "openssl could not make a certificate"
cat "$hp/cert.pem" "$hp/key.pem" >"$hp/site.pem"
export BEACON_HTTPS_BIND=127.0.0.1:$https_port BEACON_HTTP_BIND=127.0.0.1:$http_port
export BEACON_TLS_CERT=$hp/site.pem BEACON_CHECK_INTER=200ms BEACON_HAPROXY_STATS=$hp/admin.sock
export BEACON_HAPROXY_LOG=stdout BEACON_HAPROXY_LOG_FORMAT=raw
export BEACON_PX1=127.0.0.1:${px_port[1]} BEACON_PX2=127.0.0.1:${px_port[2]} BEACON_PX3=127.0.0.1:${px_port[3]}
cfg=$BEACON_SRC/contrib/haproxy/beacon-pixelsrv-nodes.cfg
haproxy -c -f "$cfg" >"$hp/check.log" 2>&1 || { cat "$hp/check.log" >&2; t_fail "haproxy rejects $cfg"; }
# one CPU, so one thread: HAProxy drops a log line rather than wait when two threads
# write to one file at once, and the test reads every request's line
taskset -c 0 haproxy -db -f "$cfg" >"$hp/log" 2>"$hp/err" &
hppid=$!
t_on_exit "t_kill_pid $hppid TERM 10"
t_wait_port "$https_port" 10 || { cat "$hp/err" >&2; t_fail "haproxy did not start"; }
# hp_wait SECONDS SERVER=STATUS... - until HAProxy's admin socket says so
hp_wait() { load wait "$hp/admin.sock" "$@" >"$hp/status" || t_fail "haproxy: $(cat "$hp/status"), not ${*:2}"; }
hp_wait 10 px1=UP px2=UP px3=UP
t_ok "haproxy runs the contrib file ($(load info "$hp/admin.sock" Nbthread) thread); px1, px2, px3 UP"

at "haproxy up"
# --- 1. mail through both MTAs
PF_SMTP_PORT=${mta_port[1]} bc_send "$NMAIL" m1- -c 4 >"$T_DIR/send1.out" &
send1=$!
PF_SMTP_PORT=${mta_port[2]} bc_send "$NMAIL" m2- -c 4 >"$T_DIR/send2.out"
wait "$send1" || true
for m in 1 2; do
	grep -q "^accepted $NMAIL of $NMAIL" "$T_DIR/send$m.out" ||
		t_fail "MTA $m: $(cat "$T_DIR/send$m.out")"
done
for m in 1 2; do
	SINK_DIR=${mta_sink[$m]} SINK_PID=${mta_sinkpid[$m]} sink_wait_delivered "$NMAIL" 30 ||
		t_fail "MTA $m delivered $(SINK_DIR=${mta_sink[$m]} sink_count) of $NMAIL"
	SINK_DIR=${mta_sink[$m]} SINK_PID=${mta_sinkpid[$m]} sink_files >"$T_DIR/dumps$m"
done
# shellcheck disable=SC2046 # one argument a dump file
load urls $(cat "$T_DIR/dumps1" "$T_DIR/dumps2") >"$T_DIR/urls"
t_eq $((2 * NMAIL)) "$(grep -c '^t ' "$T_DIR/urls")" "pixel tokens delivered through both MTAs"
t_eq $((2 * NMAIL)) "$(grep '^t ' "$T_DIR/urls" | sort -u | wc -l)" "distinct pixel tokens"
t_eq $((2 * NMAIL)) "$(grep -c '^c ' "$T_DIR/urls")" "click URLs delivered"
t_eq "$((2 * NMAIL)) $((2 * NMAIL))" "$(pg_query "SELECT count(*) || ' ' || count(DISTINCT message_id)
	FROM beacon.messages")" "messages stored, each once"
grep '^t ' "$T_DIR/urls" | cut -c3- >"$T_DIR/tokens"
pg_psql -c 'CREATE TABLE public.t_tokens (token text)' -c "\\copy public.t_tokens FROM '$T_DIR/tokens'"
t_eq "$((2 * NMAIL)) $((2 * NMAIL)) $((2 * NMAIL))" "$(pg_query "SELECT count(*) || ' ' ||
	count(DISTINCT r.token_id) || ' ' || count(DISTINCT t.token) FROM beacon.recipients r
	JOIN public.t_tokens t ON t.token = r.token")" "each delivered token is one recipient row"
t_eq "$((2 * NMAIL))" "$(pg_query 'SELECT count(*) FROM beacon.recipients')" "recipient rows"

# the milters are done: libmilter takes seconds to notice SIGTERM, let them go meanwhile
kill -s TERM "${milter_pid[1]}" "${milter_pid[2]}"
at "mail checked"
# --- 2. the load; px2 killed, taken out, started again, taken back
rm -f "$T_DIR/stop"
load run 127.0.0.1 "$https_port" "$T_DIR/urls" 300 40 "$T_DIR/stop" "$T_DIR/answers" &
client=$!
t_on_exit "t_kill_pid $client TERM 5"
t_wait_until "[ \"\$(PX_MPORT=${px_mport[2]} px_metric beacon_pixelsrv_events_queued_total)\" -ge 100 ]" 15 ||
	t_fail "px2 got no share of the load"
kill -s KILL "${px_pid[2]}"
t_wait_until "! t_pid_alive ${px_pid[2]}" 5 || t_fail "px2 survived SIGKILL"
wait "${px_pid[2]}" 2>/dev/null || true
hp_wait 10 px2=DOWN
t_ok "px2 killed; haproxy's checks took it out (DOWN)"
PX_HOME=$T_DIR/px2 PX_PORT=${px_port[2]} PX_MPORT=${px_mport[2]}
px_start
px_pid[2]=$PX_PID
[ "$PX_PORT" = "${px_port[2]}" ] || t_fail "px2 came back on another port"
hp_wait 10 px2=UP
t_ok "px2 started again on its spool_dir; haproxy took it back (UP)"
t_wait_until "[ \"\$(PX_MPORT=${px_mport[2]} px_metric beacon_pixelsrv_events_queued_total)\" -ge 50 ]" 15 ||
	t_fail "px2 answers nothing after its restart"
touch "$T_DIR/stop"
wait "$client" || t_fail "the load client failed"
t_eq 0 "$(load info "$hp/admin.sock" DroppedLogs)" "log lines haproxy dropped"
grep -q 'Server beacon_pixelsrv/px2 is DOWN' "$hp/log" && grep -q 'Server beacon_pixelsrv/px2 is UP' "$hp/log" ||
	t_fail "haproxy's log does not show px2 DOWN then UP"
t_ok "haproxy's log shows px2 DOWN and UP"
sent=$(wc -l <"$T_DIR/answers")
answered=$(grep -c ' \(200\|302\)$' "$T_DIR/answers" || true)
[ "$answered" -gt 500 ] || t_fail "only $answered of $sent requests answered"
t_ok "$answered of $sent requests answered 200 or 302"

# each node's /metrics before it stops: its name, what it answered, what it recovered
for n in 1 2 3; do
	curl -s --max-time 5 "http://127.0.0.1:${px_mport[$n]}/metrics" >"$T_DIR/metrics$n"
	grep -qx "beacon_node_info{node=\"px$n\"} 1" "$T_DIR/metrics$n" ||
		t_fail "px$n's /metrics does not name it"
done
t_ok "each node's /metrics names it (beacon_node_info)"
# drain all three at once (px_stop checks each exit status)
kill -s TERM "${px_pid[1]}" "${px_pid[2]}" "${px_pid[3]}"
for n in 1 2 3; do
	PX_HOME=$T_DIR/px$n PX_PID=${px_pid[$n]} px_stop
done

at "load done, nodes stopped"
# --- 3. every answered request is one row, none twice
awk '{ print $1 "\t" $2 }' "$T_DIR/answers" >"$T_DIR/answers.tsv"
# HAProxy's word on each request: the node it went to, and the status
sed -n 's|.* beacon_pixelsrv/\(px[0-9]\) [^ ]* \(-\{0,1\}[0-9]*\) .*"GET [^ ]*[?&]r=\([0-9]*\) HTTP.*|\3\t\1\t\2|p' \
	"$hp/log" >"$T_DIR/routed.tsv"
pg_psql -c 'CREATE TABLE public.t_sent (r int PRIMARY KEY, status text)' \
	-c "\\copy public.t_sent FROM '$T_DIR/answers.tsv'" \
	-c 'CREATE TABLE public.t_routed (r int, node text, status int)' \
	-c "\\copy public.t_routed FROM '$T_DIR/routed.tsv'" \
	-c "CREATE TABLE public.t_rows AS SELECT substr(user_agent, 17)::int AS r, node, kind, token_id
		FROM beacon.events WHERE user_agent LIKE 'beacon-e2e-49 r=%'"
# every figure in one query: psql starts are dear on a busy machine
read -r one twice unsent events loadrows unknown extra logged disagree wrongnode nonode \
	rows1 rows2 rows3 <<<"$(pg_query "SELECT concat_ws(' ',
	(SELECT count(*) FROM public.t_sent s WHERE s.status IN ('200', '302')
		AND (SELECT count(*) FROM public.t_rows w WHERE w.r = s.r) = 1),
	(SELECT count(*) FROM (SELECT r FROM public.t_rows GROUP BY r HAVING count(*) > 1) d),
	(SELECT count(*) FROM public.t_rows w WHERE NOT EXISTS (SELECT 1 FROM public.t_sent s WHERE s.r = w.r)),
	(SELECT count(*) FROM beacon.events),
	(SELECT count(*) FROM public.t_rows),
	(SELECT count(*) FROM public.t_rows w WHERE NOT EXISTS
		(SELECT 1 FROM beacon.recipients r WHERE r.token_id = w.token_id)),
	(SELECT count(*) FROM public.t_rows w JOIN public.t_sent s USING (r) WHERE s.status NOT IN ('200', '302')),
	(SELECT count(*) FROM public.t_routed WHERE status IN (200, 302)),
	(SELECT count(*) FROM public.t_sent s JOIN public.t_routed h USING (r)
		WHERE s.status IN ('200', '302') AND h.status::text <> s.status),
	(SELECT count(*) FROM public.t_rows w JOIN public.t_routed h USING (r)
		WHERE h.status IN (200, 302) AND w.node IS DISTINCT FROM h.node),
	(SELECT count(*) FROM beacon.events WHERE node IS NULL),
	(SELECT count(*) FROM beacon.events WHERE node = 'px1'),
	(SELECT count(*) FROM beacon.events WHERE node = 'px2'),
	(SELECT count(*) FROM beacon.events WHERE node = 'px3'))")"
t_eq "$answered" "$one" "answered requests that are exactly one row"
t_eq 0 "$twice" "requests stored twice"
t_eq 0 "$unsent" "rows of requests never sent"
t_eq "$events" "$loadrows" "every event is one of the load's"
t_eq 0 "$unknown" "events of unknown tokens"
t_ok "$extra rows of requests the kill cut short (logged by px2, not answered)"

# --- 4. the node of each row is the one that answered it
if [ "$answered" != "$logged" ]; then
	for r in $(pg_query "SELECT r FROM public.t_sent WHERE status IN ('200', '302') EXCEPT
		SELECT r FROM public.t_routed WHERE status IN (200, 302) LIMIT 5"); do
		echo "request $r: client $(grep "^$r " "$T_DIR/answers"); haproxy:" >&2
		grep "[?&]r=$r HTTP" "$hp/log" >&2 || true
	done
fi
t_eq "$answered" "$logged" "answered requests in haproxy's log"
t_eq 0 "$disagree" "statuses haproxy and the client disagree on"
t_eq 0 "$wrongnode" "rows whose node did not answer them"
t_eq 0 "$nonode" "events without a node"
declare -A rows=([1]=$rows1 [2]=$rows2 [3]=$rows3)
# metric NAME FILE - a sample's value, 0 when the series is absent
metric() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$2"; }
for n in 1 2 3; do
	m=$T_DIR/metrics$n
	want=$(($(metric 'beacon_pixelsrv_requests_total{endpoint="open",status="200"}' "$m") +
		$(metric 'beacon_pixelsrv_requests_total{endpoint="click",status="302"}' "$m")))
	rec=$(metric beacon_pixelsrv_events_recovered_total "$m")
	if [ "$n" = 2 ]; then
		[ "$rec" -ge 1 ] || t_fail "px2 recovered nothing from its queue file"
		want=$((want + rec))
	fi
	[ "$want" -gt 0 ] || t_fail "px$n answered nothing"
	t_eq "$want" "${rows[$n]}" "px$n's rows (answered after its last start + recovered $rec)"
done
for n in 1 2 3; do
	bc_no_sanitizer "$T_DIR/px$n/pixelsrv.log"
done
t_ok "49_multinode"
