#!/usr/bin/env python3
"""
NAME
	hostile.py - hostile HTTP clients for the beacon-pixelsrv tests

SYNOPSIS
	hostile.py slowloris HOST PORT CONNS TRICKLE_S HOLD_S INTERVAL_S
	hostile.py idle HOST PORT N HOLD_S READY_FILE
	hostile.py flood HOST PORT N CONNS
	hostile.py pipeline HOST PORT N
	hostile.py oversize HOST PORT
	hostile.py opens HOST PORT SECRET_FILE CONNS MAX SECONDS OUT

DESCRIPTION
	slowloris	CONNS connections trickle a request's headers one byte
			each every INTERVAL_S seconds for TRICKLE_S seconds, then
			go quiet for HOLD_S; prints "connections C closed_trickling
			A closed_quiet B answered D max_bytes M".
	idle		N connections that send nothing; once every connect is
			done READY_FILE gets "open refused"; they are held HOLD_S
			seconds; prints "open U refused R closed_by_server K".
	flood		N requests (forged opens, forged clicks, forged tokens
			of random key ids, junk paths) over CONNS keep-alive
			connections; prints "STATUS=COUNT ..." (STATUS+location
			for answers with a Location header, error for failures).
	pipeline	N forged opens written back to back on one connection
			before reading; prints "STATUS=COUNT ..." or "none".
	oversize	ten requests with a huge URL, header, header count,
			method or version; prints "case STATUS" per request
			(closed, junk or connect-failed when no status came).
	opens		opens with a new valid token each (signed with the last
			key of SECRET_FILE, see pxclient.py) over CONNS keep-alive
			connections until the server goes away, MAX requests or
			SECONDS pass; OUT gets the uuid of every open answered 200
			with the whole GIF; prints "sent N answered K".

	Every loop is bounded in count and time.
"""
import base64
import os
import random
import re
import selectors
import socket
import sys
import threading
import time

import pxclient


def status_of(data):
    """the HTTP status of an answer, or closed (nothing) or junk"""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return m.group(1).decode() if m else ("closed" if not data else "junk")


def recv_all(s, limit=1 << 20, timeout=10):
    """read until the end of a head, limit bytes, EOF or timeout"""
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


def read_answer(s, buf, body_len=None):
    """(head, body, what follows) of the next answer on keep-alive socket s,
    buf holding what was read before; the body is body_len bytes, or
    Content-Length's (0 without one); OSError if the peer closes first"""
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            raise OSError("closed")
        buf += c
    head, buf = buf.split(b"\r\n\r\n", 1)
    if body_len is None:
        m = re.search(rb"(?i)content-length: *(\d+)", head)
        body_len = int(m.group(1)) if m else 0
    while len(buf) < body_len:
        c = s.recv(65536)
        if not c:
            raise OSError("closed")
        buf += c
    return head, buf[:body_len], buf[body_len:]


def connect_nowait(host, port):
    """a non-blocking socket connecting to host:port, or None if refused"""
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return None
    return s


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
        s = connect_nowait(host, port)
        if s is None:
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
    """N connections that send nothing; see the usage above"""
    host, port, n, hold, ready = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), argv[4]
    socks, refused = [], 0
    t0 = time.monotonic()
    for k in range(n):
        if time.monotonic() - t0 > 60:
            break
        s = connect_nowait(host, port)
        if s is None:
            refused += 1
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
    """N forged opens, clicks and junk paths over CONNS connections"""
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
                    head, _, buf = read_answer(s, buf)
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
    """ten oversized requests, one a connection; prints "case STATUS" each"""
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
                head, body, buf = read_answer(s, buf, 43)
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


def main(argv):
    """run the subcommand argv[1] with the rest of argv"""
    cmds = {"slowloris": slowloris, "idle": idle, "flood": flood,
            "oversize": oversize, "opens": opens, "pipeline": pipeline}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    main(sys.argv)
