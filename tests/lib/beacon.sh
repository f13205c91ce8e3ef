# shellcheck shell=bash
# NAME
#	beacon.sh - beacon-milter, mail streams, hostile clients and process
#	checks for the fault, hostile-input and privilege tests
#
# SYNOPSIS
#	. "$BEACON_SRC/tests/lib/common.sh"
#	. "$BEACON_SRC/tests/lib/pg.sh"
#	. "$BEACON_SRC/tests/lib/postfix.sh"
#	. "$BEACON_SRC/tests/lib/beacon.sh"
#	pg_start; pg_schema
#	bc_milter_config 'statement_timeout = 1000'	# [database] lines
#	bc_milter_start; PF_MILTER=unix:$BC_MSOCK pf_start
#	bc_send 200 m -c 4 -o "$T_DIR/sent"
#	bc_sink_scan >"$T_DIR/delivered"
#
# DESCRIPTION
#	bc_secret FILE [KID]	write a 0600 secret file (one random key).
#	bc_milter_config [LINE...]	write $BC_MCONF: [milter] on the unix
#			socket $BC_MSOCK, user postfix, spool in $BC_MDIR/spool,
#			base_url $BC_BASE, [database] on $BEACON_CONNINFO with
#			connect_timeout 2; LINEs are appended verbatim (a line
#			"[section]" starts that section again).
#	bc_milter_start	start $BEACON_BUILD/beacon-milter -f on $BC_MCONF
#			(BC_MPID, log $BC_MLOG appended), wait for its
#			"listening on" line and the socket; stopped at exit.
#	bc_milter_kill	SIGKILL the milter and reap it.
#	bc_send N PREFIX [-c CONNS] [-o FILE] [--first I] [--delay-ms D]
#			submit N tagged HTML messages over SMTP to Postfix
#			(recipient PREFIX<i>@remote.example, Message-ID
#			<PREFIX<i>@sender.example>), CONNS sessions; FILE gets
#			"i rcpt code ms" per message; prints "accepted K of N,
#			max MS ms".  A session that fails is reopened once per
#			message; nothing is retried after a 250.
#	bc_sink_scan	one line per complete sink dump: "rcpt token state",
#			token "-" when no pixel, state "identical" when the
#			message is byte for byte what bc_send submitted (apart
#			from the Received: headers Postfix added), else "changed".
#	bc_hostile ARGS	run the hostile HTTP client (see bc_py_ below):
#			slowloris, idle, flood, pipeline, oversize, opens (unique-token
#			opens until the server dies; OUT gets the uuid of
#			every answered one).
#	bc_proc PID FIELD	a /proc/PID/status field's first value
#			(VmRSS, VmHWM in kB; Uid, Gid: the real uid).
#	bc_no_sanitizer LOG	fail if LOG holds a sanitizer report.
#	bc_mount_tmpfs DIR SIZE	mount a tmpfs of SIZE on DIR (created),
#			unmounted at exit.
#
#	Every client loop is bounded in count and time; everything is on
#	127.0.0.1.

if [ -n "${T_BEACON_LOADED:-}" ]; then
	return 0
fi
T_BEACON_LOADED=1

BC_MPID=
BC_MDIR=
BC_MSOCK=
BC_MCONF=
BC_MLOG=
BC_BASE=
BC_PY=

# bc_secret - write a private secret file with one random key
bc_secret() {
	(umask 077 && printf '%s %s\n' "${2:-1}" \
		"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$1")
}

# bc_milter_config - write the milter's beacon.conf
bc_milter_config() {
	local l
	t_tmpdir >/dev/null
	BC_MDIR=$T_DIR/milter
	BC_MSOCK=$BC_MDIR/milter.sock
	BC_MCONF=$T_DIR/milter.conf
	BC_MLOG=$T_DIR/milter.log
	[ -n "$BC_BASE" ] || BC_BASE=http://127.0.0.1:$(t_free_port)
	mkdir -p "$BC_MDIR"
	chown postfix: "$BC_MDIR"
	[ -s "$T_DIR/milter.secret" ] || bc_secret "$T_DIR/milter.secret" 1
	{
		printf 'base_url = %s\nsecret_file = %s\n\n' "$BC_BASE" "$T_DIR/milter.secret"
		printf '[milter]\nsocket = unix:%s\nuser = postfix\n' "$BC_MSOCK"
		printf 'pidfile = %s/milter.pid\nspool_dir = %s/spool\n' "$BC_MDIR" "$BC_MDIR"
		printf '\n'
		printf '[database]\nconninfo = %s\nconnect_timeout = 2\n' \
			"${BEACON_CONNINFO:-dbname=beacon}"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$BC_MCONF"
	export BC_MDIR BC_MSOCK BC_MCONF BC_MLOG BC_BASE
}

# bc_milter_start - run the milter under test in the background
bc_milter_start() {
	local milter=$BEACON_BUILD/beacon-milter
	[ -x "$milter" ] || t_fail "no $milter (build first)"
	[ -n "$BC_MCONF" ] || t_fail "bc_milter_start before bc_milter_config"
	local seen
	# a socket a killed milter left behind is the new one's to replace:
	# wait for the new "listening" line, not for the file
	seen=$(grep -c ': listening on ' "$BC_MLOG" 2>/dev/null || true)
	"$milter" -f -c "$BC_MCONF" >>"$BC_MLOG" 2>&1 &
	BC_MPID=$!
	t_on_exit "t_kill_pid $BC_MPID TERM 15"
	if ! t_wait_until "[ \$(grep -c ': listening on ' '$BC_MLOG') -gt ${seen:-0} ] ||
		! t_pid_alive $BC_MPID" 15 || ! t_pid_alive "$BC_MPID" || [ ! -S "$BC_MSOCK" ]; then
		cat "$BC_MLOG" >&2
		t_fail "beacon-milter did not start listening on $BC_MSOCK"
	fi
}

# bc_milter_kill - SIGKILL the milter and reap it
bc_milter_kill() {
	[ -n "$BC_MPID" ] || return 0
	kill -s KILL "$BC_MPID" 2>/dev/null || true
	t_wait_until "! t_pid_alive $BC_MPID" 5 || t_fail "milter $BC_MPID survived SIGKILL"
	wait "$BC_MPID" 2>/dev/null || true
	BC_MPID=
}

# bc_no_sanitizer - fail if LOG holds a sanitizer report
bc_no_sanitizer() {
	if grep -E "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" >/dev/null; then
		grep -E -A 30 "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1" | head -n 60 >&2
		t_fail "sanitizer report in $1"
	fi
	t_ok "no sanitizer report in $(basename "$1")"
}

# bc_proc - first value of FIELD in /proc/PID/status
bc_proc() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"
}

# bc_mount_tmpfs - a small tmpfs on DIR, unmounted at exit
bc_mount_tmpfs() {
	local dir=$1 size=$2
	mkdir -p "$dir"
	mount -t tmpfs -o "size=$size,mode=0755" beacon-test "$dir" ||
		t_fail "cannot mount a tmpfs on $dir"
	t_on_exit "umount -l '$dir'"
}

# bc_py_ - write the Python client once per test, set BC_PY
bc_py_() {
	[ -n "$BC_PY" ] && [ -s "$BC_PY" ] && return 0
	t_tmpdir >/dev/null
	BC_PY=$T_DIR/bc.py
	cat >"$BC_PY" <<'PYEOF'
"""bc.py - mail streams and hostile HTTP clients for the Beacon tests.

send HOST PORT N PREFIX BASE [-c C] [-o FILE] [--first I] [--delay-ms D]
sink BASE            < list of sink dumps (pf_sink_files)
slowloris HOST PORT CONNS TRICKLE_S HOLD_S INTERVAL_S
idle HOST PORT N HOLD_S READY_FILE
flood HOST PORT N CONNS
oversize HOST PORT
pipeline HOST PORT N
opens HOST PORT SECRET CONNS MAX SECONDS OUT
"""
import base64, os, random, re, selectors, smtplib, socket, sys, threading, time

def message(prefix, i, base):
    rcpt = "%s%d@remote.example" % (prefix, i)
    body = ("<html><body><p>Letter %d to %s</p>"
            "<p><a href=\"https://shop.example/item/%d?x=1\">item</a></p>"
            "<img src=\"%s/p.gif\" width=\"1\" height=\"1\" alt=\"\">"
            "</body></html>" % (i, rcpt, i, base))
    msg = ("From: Sender <sender@sender.example>\n"
           "To: <%s>\n"
           "Subject: letter %d\n"
           "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
           "Message-ID: <%s%d@sender.example>\n"
           "X-Beacon: track; campaign=\"fault\"\n"
           "MIME-Version: 1.0\n"
           "Content-Type: text/html; charset=utf-8\n"
           "Content-Transfer-Encoding: 7bit\n"
           "\n%s\n" % (rcpt, i, prefix, i, body))
    return rcpt, msg

def send(argv):
    host, port, n, prefix, base = argv[0], int(argv[1]), int(argv[2]), argv[3], argv[4]
    conns, out, first, delay = 4, None, 0, 0.0
    a = argv[5:]
    while a:
        if a[0] == "-c": conns = int(a[1])
        elif a[0] == "-o": out = a[1]
        elif a[0] == "--first": first = int(a[1])
        elif a[0] == "--delay-ms": delay = int(a[1]) / 1000.0
        else: sys.exit("send: unknown option " + a[0])
        a = a[2:]
    idx = list(range(first, first + n))
    results, lock = [], threading.Lock()
    deadline = time.monotonic() + 300

    def run(chunk):
        s = None
        for i in chunk:
            if time.monotonic() > deadline:
                break
            rcpt, msg = message(prefix, i, base)
            code, ms = "fail", 0
            for attempt in range(2):
                try:
                    if s is None:
                        s = smtplib.SMTP(host, port, timeout=60)
                        s.ehlo("client.example")
                    t0 = time.monotonic()
                    s.sendmail("sender@sender.example", [rcpt], msg.replace("\n", "\r\n").encode())
                    ms = int((time.monotonic() - t0) * 1000)
                    code = "250"
                    break
                except smtplib.SMTPResponseException as e:
                    code = str(e.smtp_code)
                    try: s.rset()
                    except Exception:
                        s = None
                    break
                except (OSError, smtplib.SMTPException) as e:
                    # the session broke before an answer: nothing was queued
                    s = None
                    code = "error"
            with lock:
                results.append((i, rcpt, code, ms))
            if delay:
                time.sleep(delay)
        if s is not None:
            try: s.quit()
            except Exception: pass

    ts = [threading.Thread(target=run, args=(idx[k::conns],)) for k in range(conns)]
    for t in ts: t.start()
    for t in ts: t.join()
    results.sort()
    if out:
        with open(out, "w") as f:
            for r in results:
                f.write("%d %s %s %d\n" % r)
    ok = [r for r in results if r[2] == "250"]
    print("accepted %d of %d, max %d ms" % (len(ok), n, max([r[3] for r in ok] or [0])))

def sink(argv):
    base = argv[0]
    tok_re = re.compile(re.escape(base) + r"/o/([A-Za-z0-9_-]+)\.gif")
    for path in sys.stdin.read().split():
        data = open(path, "rb").read().decode("utf-8", "replace").split("\n")
        i = 0
        # smtp-sink's envelope lines, then its own Received: header
        while i < len(data) and re.match(r"X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): ", data[i]):
            i += 1
        rcpts = []
        for l in data[:i]:
            m = re.match(r"X-Rcpt-Args: <([^>]*)>", l)
            if m: rcpts.append(m.group(1))
        # every Received: header at the top (smtp-sink's and Postfix's)
        while i < len(data) and data[i].startswith("Received: "):
            i += 1
            while i < len(data) and data[i][:1] in (" ", "\t"):
                i += 1
        msg = "\n".join(data[i:])
        while msg.endswith("\n\n"):
            msg = msg[:-1]
        m = tok_re.search(msg)
        rcpt = rcpts[0] if rcpts else "?"
        state = "changed"
        mm = re.match(r"([a-z]+?)(\d+)@remote\.example$", rcpt)
        if mm:
            _, sent = message(mm.group(1), int(mm.group(2)), base)
            if msg == sent or msg == sent + "\n":
                state = "identical"
        print(rcpt, m.group(1) if m else "-", state)

def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return m.group(1).decode() if m else ("closed" if not data else "junk")

def recv_all(s, limit=1 << 20, timeout=10):
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < limit:
            c = s.recv(65536)
            if not c:
                break
            data += c
            if b"\r\n\r\n" in data:
                break
    except OSError:
        pass
    return data

def slowloris(argv):
    """CONNS connections send a request's headers one byte per connection
    every INTERVAL seconds for TRICKLE seconds (never finishing them), then
    go quiet for HOLD seconds; prints how many the server closed (or
    answered) in each phase"""
    host, port, conns, trickle, hold, interval = (argv[0], int(argv[1]), int(argv[2]),
                                                  float(argv[3]), float(argv[4]), float(argv[5]))
    req = b"GET /p.gif HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"s" * 100000
    sel = selectors.DefaultSelector()
    socks = []  # [socket, bytes sent, (status, when) or None]
    for k in range(conns):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append([s, 0, None])
        sel.register(s, selectors.EVENT_READ, len(socks) - 1)
    t0 = time.monotonic()
    def poll(timeout):
        for key, _ in sel.select(timeout=timeout):
            st = socks[key.data]
            try:
                d = st[0].recv(4096)
            except OSError:
                d = b""
            st[2] = (status_of(d), time.monotonic() - t0)
            sel.unregister(st[0])
    rounds = 0
    while time.monotonic() - t0 < trickle and rounds < 100000:
        rounds += 1
        for st in socks:
            if st[2] is None:
                try:
                    st[0].send(req[st[1]:st[1] + 1])
                    st[1] += 1
                except BlockingIOError:
                    pass   # still connecting (backlog): try next round
                except OSError:
                    st[2] = ("closed", time.monotonic() - t0)
                    try: sel.unregister(st[0])
                    except (KeyError, ValueError): pass
        r0 = time.monotonic()
        while time.monotonic() - r0 < interval:
            poll(interval)
    during = sum(1 for st in socks if st[2])
    t1 = time.monotonic()
    while time.monotonic() - t1 < hold and sum(1 for st in socks if st[2]) < len(socks):
        poll(0.2)
    after = sum(1 for st in socks if st[2]) - during
    answered = sum(1 for st in socks if st[2] and st[2][0] not in ("closed",))
    print("connections %d closed_trickling %d closed_quiet %d answered %d max_bytes %d" %
          (len(socks), during, after, answered, max([st[1] for st in socks] or [0])))
    for st in socks:
        st[0].close()

def idle(argv):
    host, port, n, hold, ready = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), argv[4]
    socks, refused = [], 0
    t0 = time.monotonic()
    for k in range(n):
        if time.monotonic() - t0 > 60:
            break
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
            s.close()
            continue
        socks.append(s)
    # wait until every connect finished (bounded)
    sel = selectors.DefaultSelector()
    for k, s in enumerate(socks):
        sel.register(s, selectors.EVENT_WRITE, k)
    pending, up = set(range(len(socks))), 0
    while pending and time.monotonic() - t0 < 60:
        for key, _ in sel.select(timeout=1):
            s = socks[key.data]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                up += 1
            sel.unregister(s)
            pending.discard(key.data)
    with open(ready + ".tmp", "w") as f:
        f.write("%d %d\n" % (up, refused))
    os.rename(ready + ".tmp", ready)
    # hold them; count the ones the server closes
    for k, s in enumerate(socks):
        try:
            sel.register(s, selectors.EVENT_READ, k)
        except (KeyError, ValueError, OSError):
            pass
    closed, t1 = set(), time.monotonic()
    while time.monotonic() - t1 < hold and len(closed) < len(socks):
        for key, _ in sel.select(timeout=0.5):
            try:
                d = socks[key.data].recv(64)
            except OSError:
                d = b""
            closed.add(key.data)
            sel.unregister(socks[key.data])
    print("open %d refused %d closed_by_server %d" % (up, refused, len(closed)))
    for s in socks:
        s.close()

def flood(argv):
    host, port, n, conns = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rnd = random.Random(8)
    def path(k):
        tok = "".join(rnd.choice(alphabet) for _ in range(36))
        kind = k % 4
        if kind == 0:
            return "/o/%s.gif" % tok
        if kind == 1:
            mac = "".join(rnd.choice(alphabet) for _ in range(14))
            u = base64.urlsafe_b64encode(b"https://evil.example/%d" % k).rstrip(b"=").decode()
            return "/c/%s/%d/%s?u=%s" % (tok, k % 50, mac, u)
        if kind == 2:
            # a valid-looking token of another key id
            raw = bytes([rnd.randrange(256)]) + os.urandom(26)
            return "/o/%s.gif" % base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return "/o/%s" % "".join(rnd.choice(alphabet + "%.~") for _ in range(rnd.randrange(1, 80)))
    paths = [path(k) for k in range(n)]
    counts, lock = {}, threading.Lock()
    deadline = time.monotonic() + 120
    def run(chunk):
        s, local, buf = None, {}, b""
        for p in chunk:
            if time.monotonic() > deadline:
                break
            for attempt in range(2):
                try:
                    if s is None:
                        s = socket.create_connection((host, port), timeout=10)
                        buf = b""
                    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: flood\r\n\r\n" % p).encode())
                    while b"\r\n\r\n" not in buf:
                        c = s.recv(65536)
                        if not c:
                            raise OSError("closed")
                        buf += c
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    m = re.search(rb"(?i)content-length: *(\d+)", head)
                    ln = int(m.group(1)) if m else 0
                    while len(buf) < ln:
                        c = s.recv(65536)
                        if not c:
                            raise OSError("closed")
                        buf += c
                    buf = buf[ln:]
                    st = status_of(head)
                    if re.search(rb"(?i)\r\nlocation:", head):
                        st += "+location"
                    local[st] = local.get(st, 0) + 1
                    break
                except OSError:
                    if s: s.close()
                    s = None
                    if attempt == 1:
                        local["error"] = local.get("error", 0) + 1
        if s: s.close()
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v
    ts = [threading.Thread(target=run, args=(paths[k::conns],)) for k in range(conns)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(" ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)))

def pipeline(argv):
    """N forged-token opens written back to back on one connection before
    reading anything; prints the status counts of the answers read back"""
    host, port, n = argv[0], int(argv[1]), int(argv[2])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rnd = random.Random(9)
    reqs = b"".join(("GET /o/%s.gif HTTP/1.1\r\nHost: x\r\n\r\n" %
                     "".join(rnd.choice(alphabet) for _ in range(36))).encode() for _ in range(n))
    s = socket.create_connection((host, port), timeout=20)
    counts, buf, got = {}, b"", 0
    def reader():
        nonlocal buf, got
        deadline = time.monotonic() + 60
        while got < n and time.monotonic() < deadline:
            try:
                c = s.recv(1 << 16)
            except OSError:
                break
            if not c:
                break
            buf += c
            while True:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    break
                head = buf[:i]
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                ln = int(m.group(1)) if m else 0
                if len(buf) < i + 4 + ln:
                    break
                st = status_of(head)
                counts[st] = counts.get(st, 0) + 1
                got += 1
                buf = buf[i + 4 + ln:]
    t = threading.Thread(target=reader)
    t.start()
    try:
        s.sendall(reqs)
    except OSError:
        pass
    t.join()
    s.close()
    print(" ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)) or "none")

def oversize(argv):
    host, port = argv[0], int(argv[1])
    big = b"a" * 100000
    cases = [
        ("url-100k", b"GET /o/" + big + b".gif HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("url-1m", b"GET /" + b"b" * 1000000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("query-100k", b"GET /p.gif?" + big + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("header-100k", b"GET /p.gif HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n"),
        ("ua-100k", b"GET /p.gif HTTP/1.1\r\nHost: x\r\nUser-Agent: " + big + b"\r\n\r\n"),
        ("headers-5000", b"GET /p.gif HTTP/1.1\r\nHost: x\r\n" +
            b"".join(b"X-H%d: %s\r\n" % (k, b"v" * 20) for k in range(5000)) + b"\r\n"),
        ("xff-100k", b"GET /p.gif HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " +
            b", ".join([b"192.0.2.1"] * 9000) + b"\r\n\r\n"),
        ("method-100k", b"G" * 100000 + b" /p.gif HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("version-100k", b"GET /p.gif HTTP/" + b"1" * 100000 + b"\r\nHost: x\r\n\r\n"),
        ("cookie-100k", b"GET /p.gif HTTP/1.1\r\nHost: x\r\nCookie: " + big + b"\r\n\r\n"),
    ]
    for name, req in cases:
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError:
            print(name, "connect-failed")
            continue
        try:
            s.sendall(req)
        except OSError:
            pass   # the server may close while we still send: read what it said
        d = recv_all(s)
        s.close()
        print(name, status_of(d))

def opens(argv):
    """unique-token opens over CONNS keep-alive connections until the server
    goes away, MAX requests or SECONDS; OUT gets the recipient id (uuid) of
    every open answered 200 with the whole GIF"""
    host, port, secret, conns, mx, secs, out = (argv[0], int(argv[1]), argv[2], int(argv[3]),
                                                int(argv[4]), float(argv[5]), argv[6])
    sys.path.insert(0, os.path.join(os.environ["BEACON_SRC"], "tests", "lib"))
    import pxclient
    kid, key = pxclient.signing_key(secret)
    answered, tried, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + secs
    def run():
        mine, n = [], 0
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError:
            return
        buf = b""
        try:
            while n < mx // conns + 1 and time.monotonic() < deadline:
                rid = os.urandom(16)
                tok = pxclient.mint(kid, key, rid)
                n += 1
                s.sendall(("GET /o/%s.gif HTTP/1.1\r\nHost: x\r\nUser-Agent: Thunderbird/115.0\r\n\r\n" % tok).encode())
                while b"\r\n\r\n" not in buf:
                    c = s.recv(65536)
                    if not c:
                        raise OSError("closed")
                    buf += c
                head, buf = buf.split(b"\r\n\r\n", 1)
                while len(buf) < 43:
                    c = s.recv(65536)
                    if not c:
                        raise OSError("closed")
                    buf += c
                body, buf = buf[:43], buf[43:]
                if status_of(head) == "200" and body.startswith(b"GIF89a"):
                    mine.append(pxclient.uuid_of(rid))
        except OSError:
            pass
        s.close()
        with lock:
            answered.extend(mine)
            tried[0] += n
    ts = [threading.Thread(target=run) for _ in range(conns)]
    for t in ts: t.start()
    for t in ts: t.join()
    with open(out, "w") as f:
        f.write("".join(u + "\n" for u in answered))
    print("sent %d answered %d" % (tried[0], len(answered)))

if __name__ == "__main__":
    cmd = sys.argv[1]
    {"send": send, "sink": sink, "slowloris": slowloris, "idle": idle, "flood": flood,
     "oversize": oversize, "opens": opens, "pipeline": pipeline}[cmd](sys.argv[2:])
PYEOF
}

# bc_send - submit N tagged messages to the private Postfix
bc_send() {
	local n=$1 prefix=$2
	shift 2
	bc_py_
	python3 "$BC_PY" send 127.0.0.1 "$PF_SMTP_PORT" "$n" "$prefix" "$BC_BASE" "$@"
}

# bc_sink_scan - rcpt, token and state of every complete sink dump
bc_sink_scan() {
	bc_py_
	pf_sink_files | python3 "$BC_PY" sink "$BC_BASE"
}

# bc_hostile - run one hostile HTTP client command
bc_hostile() {
	bc_py_
	python3 "$BC_PY" "$@"
}
