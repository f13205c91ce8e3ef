#!/usr/bin/env python3
"""
NAME
	pxclient.py - tokens, click URLs and HTTP load for the beacon-pixelsrv tests

SYNOPSIS
	pxclient.py mint SECRET_FILE [RID_HEX]	 print "TOKEN UUID"
	pxclient.py click SECRET_FILE TOKEN N URL	 print "/c/TOKEN/N/MAC?u=B64"
	pxclient.py dl SECRET_FILE TOKEN N EXPIRY	 print "/d/TOKEN/N/SIG"
	pxclient.py opens SECRET_FILE N		 print N pixel paths, each a new token
	pxclient.py load HOST PORT PATHS_FILE [-c CONNS] [-H 'Name: value']...
	pxclient.py until-killed HOST PORT PATH [-c CONNS] [--max N] [--seconds S]

DESCRIPTION
	Computes tokens independently of Beacon's C code, from the format in
	lib/token.h: base64url (no padding) of key id (1) || recipient id (16)
	|| MAC (10), the MAC being the first 10 bytes of keyed BLAKE2b-128 over
	b"t" || key id || recipient id.  A click MAC is BLAKE2b-128 keyed the
	same way over b"c" || the 27 token bytes || n (4 bytes, big-endian) ||
	the target URL, cut to 10 bytes; the target travels base64url-encoded
	in u=.  A download signature is base64url of the expiry (8 bytes,
	big-endian unix seconds) followed by the whole 16-byte BLAKE2b-128,
	keyed the same way, over b"d" || the 27 token bytes || n (4 bytes,
	big-endian) || the expiry.  The last key of the secret file signs.

	load sends every path of PATHS_FILE (one a line) over CONNS keep-alive
	connections and prints "status count" lines.  until-killed sends PATH
	over CONNS connections until the server goes away (or --max requests,
	or --seconds pass) and prints the number of complete 2xx/3xx answers
	as "answered N".  Every loop is bounded.
"""
import base64
import hashlib
import http.client
import os
import sys
import threading
import time


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def signing_key(path):
    kid, key = None, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            i, h = line.split()
            kid, key = int(i), bytes.fromhex(h)
    return kid, key


def mint(kid, key, rid):
    raw = bytes([kid]) + rid
    mac = hashlib.blake2b(b"t" + raw, key=key, digest_size=16).digest()[:10]
    return b64url(raw + mac)


def uuid_of(rid):
    h = rid.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def click_path(kid, key, token, n, url):
    raw = b64url_dec(token)
    k = key
    mac = hashlib.blake2b(b"c" + raw + n.to_bytes(4, "big") + url.encode(),
                          key=k, digest_size=16).digest()[:10]
    return f"/c/{token}/{n}/{b64url(mac)}?u={b64url(url.encode())}"


def dl_path(key, token, n, expiry):
    raw = b64url_dec(token)
    exp = expiry.to_bytes(8, "big")
    mac = hashlib.blake2b(b"d" + raw + n.to_bytes(4, "big") + exp,
                          key=key, digest_size=16).digest()
    return f"/d/{token}/{n}/{b64url(exp + mac)}"


def parse_headers(args):
    hdrs, rest, conns, extra = {}, [], 4, {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-H":
            name, value = args[i + 1].split(":", 1)
            hdrs[name.strip()] = value.strip()
            i += 2
        elif a == "-c":
            conns = int(args[i + 1])
            i += 2
        elif a.startswith("--"):
            extra[a[2:]] = args[i + 1]
            i += 2
        else:
            rest.append(a)
            i += 1
    return hdrs, rest, conns, extra


def load(host, port, paths, conns, hdrs):
    counts, lock = {}, threading.Lock()
    chunks = [paths[i::conns] for i in range(conns)]

    def run(chunk):
        c = http.client.HTTPConnection(host, port, timeout=10)
        local = {}
        for p in chunk:
            # no retry: a retried request could be counted twice by the server
            try:
                c.request("GET", p, headers=hdrs)
                r = c.getresponse()
                r.read()
                local[r.status] = local.get(r.status, 0) + 1
            except (OSError, http.client.HTTPException):
                c.close()
                c = http.client.HTTPConnection(host, port, timeout=10)
                local["error"] = local.get("error", 0) + 1
        c.close()
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v

    ts = [threading.Thread(target=run, args=(ch,)) for ch in chunks if ch]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in sorted(counts, key=str):
        print(k, counts[k])


def until_killed(host, port, path, conns, hdrs, max_req, seconds):
    answered, lock = [0], threading.Lock()
    deadline = time.monotonic() + seconds
    per = max_req // conns + 1

    def run():
        n = 0
        c = http.client.HTTPConnection(host, port, timeout=10)
        try:
            for _ in range(per):
                if time.monotonic() > deadline:
                    break
                c.request("GET", path, headers=hdrs)
                r = c.getresponse()
                body = r.read()
                if 200 <= r.status < 400 and len(body) == int(r.getheader("Content-Length", len(body))):
                    n += 1
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    c = http.client.HTTPConnection(host, port, timeout=10)
        except (OSError, http.client.HTTPException):
            pass
        c.close()
        with lock:
            answered[0] += n

    ts = [threading.Thread(target=run) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("answered", answered[0])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "mint":
        kid, key = signing_key(argv[2])
        rid = bytes.fromhex(argv[3]) if len(argv) > 3 else os.urandom(16)
        print(mint(kid, key, rid), uuid_of(rid))
    elif cmd == "click":
        kid, key = signing_key(argv[2])
        raw = b64url_dec(argv[3])
        # a click URL is signed with the key that signed its token
        key_for = key
        if raw[0] != kid:
            with open(argv[2]) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 2 and int(p[0]) == raw[0]:
                        key_for = bytes.fromhex(p[1])
        print(click_path(kid, key_for, argv[3], int(argv[4]), argv[5]))
    elif cmd == "dl":
        kid, key = signing_key(argv[2])
        print(dl_path(key, argv[3], int(argv[4]), int(argv[5])))
    elif cmd == "opens":
        kid, key = signing_key(argv[2])
        out = []
        for _ in range(int(argv[3])):
            out.append(f"/o/{mint(kid, key, os.urandom(16))}.gif")
        print("\n".join(out))
    elif cmd == "load":
        hdrs, rest, conns, _ = parse_headers(argv[2:])
        host, port, pfile = rest[0], int(rest[1]), rest[2]
        with open(pfile) as f:
            paths = [l.rstrip("\n") for l in f if l.strip()]
        load(host, port, paths, conns, hdrs)
    elif cmd == "until-killed":
        hdrs, rest, conns, extra = parse_headers(argv[2:])
        until_killed(rest[0], int(rest[1]), rest[2], conns, hdrs,
                     int(extra.get("max", "1000000")), float(extra.get("seconds", "60")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
