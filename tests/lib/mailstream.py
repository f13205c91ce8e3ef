#!/usr/bin/env python3
"""
NAME
	mailstream.py - tagged mail streams over SMTP, and what the sink got,
	for the Beacon fault and privilege tests

SYNOPSIS
	mailstream.py send HOST PORT N PREFIX BASE [-c CONNS] [-o FILE]
		[--first I] [--delay-ms D]
	mailstream.py sink BASE		< sink dump paths (pf_sink_files)

DESCRIPTION
	send submits N tagged HTML messages (numbers I .. I+N-1, I from
	--first, default 0) over CONNS SMTP sessions (default 4) to HOST:PORT,
	waiting D ms after each one.  Message i goes to PREFIX<i>@remote.example
	with Message-ID <PREFIX<i>@sender.example>, an "X-Beacon: track" header
	and a pixel image under BASE.  A session that breaks is reopened once
	per message; nothing is retried after an answer.  FILE gets
	"i rcpt code ms" per message (code 250, another SMTP code, "error" or
	"fail"); stdout gets "accepted K of N, max MS ms".  The whole run is
	bounded to 300 seconds.

	sink reads the paths of complete smtp-sink dumps on stdin and prints one
	line per dump: "rcpt token state", token "-" when the message holds no
	BASE/o/TOKEN.gif pixel, state "identical" when the message is byte for
	byte what send submitted (apart from the Received: headers at the top),
	else "changed".
"""
import re
import smtplib
import sys
import threading
import time


def message(prefix, i, base):
    """recipient and text (LF line ends) of message i of a stream"""
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
    """submit a tagged stream over SMTP; see the usage above"""
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
    """rcpt, token and state of every sink dump named on stdin"""
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


def main(argv):
    """run the subcommand argv[1] with the rest of argv"""
    cmds = {"send": send, "sink": sink}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    main(sys.argv)
