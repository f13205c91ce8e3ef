#!/usr/bin/python3
"""
NAME
	browser.py - drive headless Chromium over the DevTools protocol for the
	beacon-web browser tests

SYNOPSIS
	browser.py run SCENARIO [--shots DIR] [--timeout S] [--log FILE] [--keep-going]

	import browser
	b = browser.Browser(timeout=10)
	b.viewport(1366, 768); b.navigate("http://localhost:8090/login")
	b.type("input[name=user]", "ann@example.org"); b.key("Enter", nav=True)
	b.eval("document.title"); b.screenshot("/tmp/x.png"); b.close()

DESCRIPTION
	Starts Debian's Chromium as "chromium --headless=new --no-sandbox
	--disable-gpu --user-data-dir=TMP --remote-debugging-port=0
	about:blank" in a session of its own, reads the port it chose from
	TMP/DevToolsActivePort, attaches to the page target over a WebSocket
	(python3-websocket) and speaks the protocol: Page.navigate and the load
	event, Runtime.evaluate, Input.* for real mouse clicks and typing,
	Emulation.setDeviceMetricsOverride and Page.captureScreenshot.  Every
	wait is bounded; close() asks Chromium to quit, then signals its PID and
	its session's process group (the renderers it started), and removes TMP.
	Interpreter: Debian's /usr/bin/python3, where python3-websocket lives.

	run executes a scenario file, one command a line (words split as a
	shell does, with quotes; blank lines and lines starting with # are
	skipped), and prints "ok - LINE" for each.  The first command that
	fails prints "FAIL: browser: SCENARIO:N: LINE: why", the page's address
	and text, saves DIR/failure.png (with --shots) and exits 1; with
	--keep-going (or BEACON_BROWSER_KEEP_GOING=1 in the environment: to
	see every check an old version of the pages fails) it goes on with the
	next line and exits 1 at the end.

	viewport W H [mobile]	lay pages out at W x H CSS pixels (mobile: as a
			phone, honouring <meta name=viewport>), scale 1
	open URL		load URL, wait for its load event
	reload			load the page again, wait for its load event
	follow SEL		click SEL with the mouse, wait for the page it loads
	click SEL		click SEL with the mouse (no page load expected)
	type SEL TEXT		focus SEL, select what it holds, type TEXT
	key KEY [nav]		press KEY (Enter, Tab, Escape) in the focused
			element; with nav, wait for the page it loads
	wait SEL [S]		wait until SEL matches an element
	until EXPR [S]		wait until the JavaScript EXPR is truthy
	eq VALUE EXPR		String(EXPR) equals VALUE (a promise: its value)
	match REGEX EXPR	String(EXPR) matches the Python REGEX (search)
	status N		the last loaded document's HTTP status was N
	path P			location.pathname + location.search is P
	present TEXT		the page's HTML holds TEXT
	absent TEXT		the page's HTML does not hold TEXT
	noerrors		no script error, console error or refused
			resource (a Content-Security-Policy violation, a
			404 script) since the last page load
	shot FILE		PNG of the viewport; a taller page a screen at a
			time (scrolled, never resized) in FILE-2.png ... (at
			most six screens)
	fetch URL FILE		fetch URL from the page, with its cookies; FILE
			gets the body, FILE.meta "STATUS CONTENT-TYPE"
	fetchhref SEL FILE	the same for the href of SEL
	stream SUBSTR [S]	wait until a response whose URL holds SUBSTR
			began (an EventSource connected)
	sh COMMAND		run COMMAND with bash; fail unless it exits 0
	include FILE		run the commands of FILE here (written by an
			earlier sh: expectations computed mid-scenario)
	tz ZONE			the page's time zone (an IANA name)
	print EXPR		print String(EXPR)
	sleep S			sleep S seconds (at most 10)

	S defaults to --timeout (10 s).
"""
import base64
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

CHROMIUM = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"]


class BrowserError(Exception):
    """a command that did not do what was asked, with the reason"""


class Browser:
    """one headless Chromium and its single page"""

    def __init__(self, timeout=10.0, log=None):
        self.timeout = timeout
        self.tmp = tempfile.mkdtemp(prefix="beacon-chromium.")
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.events = []        # protocol events not yet looked at
        self.errors = []        # script errors, console errors, refused loads since the last load
        self.doc_status = None  # HTTP status of the last main document
        self.doc_url = None
        self.streams = []       # URLs of the responses seen (for "stream")
        exe = next((p for p in CHROMIUM if os.access(p, os.X_OK)), None)
        if exe is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise BrowserError("no Chromium (apt-get install chromium)")
        self.logf = open(log, "ab") if log else subprocess.DEVNULL
        try:
            self._start(exe)
        except BaseException:
            self.close()
            raise

    # --- process and connection

    def _start(self, exe):
        """launch Chromium, read its port, attach to the page target"""
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + self.tmp, "--remote-debugging-port=0",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--mute-audio", "--password-store=basic", "--use-mock-keychain",
                "--force-color-profile=srgb", "--lang=en-GB", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf, start_new_session=True)
        portfile = os.path.join(self.tmp, "DevToolsActivePort")
        deadline = time.monotonic() + max(self.timeout, 20)
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError("chromium exited with status %d at start" % self.proc.returncode)
            try:
                with open(portfile) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    port = int(first)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        if port is None:
            raise BrowserError("chromium wrote no DevToolsActivePort within %ds" % max(self.timeout, 20))
        url = None
        while time.monotonic() < deadline and url is None:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                targets = json.load(r)
            url = next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)
            if url is None:
                time.sleep(0.05)
        if url is None:
            raise BrowserError("chromium shows no page target")
        self.ws = websocket.create_connection(url, timeout=self.timeout, suppress_origin=True)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable")
        self.call("Page.setLifecycleEventsEnabled", enabled=True)

    def close(self):
        """quit Chromium (by its PID, then its process group), remove its profile"""
        if self.ws is not None:
            try:
                self.ws.settimeout(2)
                self.ws.send(json.dumps({"id": 0, "method": "Browser.close"}))
            except Exception:
                pass
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            # helpers it left (zygote, renderers): its own session, whose id is its PID
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc = None
        if self.logf is not subprocess.DEVNULL:
            self.logf.close()
            self.logf = subprocess.DEVNULL
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- protocol

    def _recv(self, deadline):
        """read one protocol message before DEADLINE (monotonic), None on timeout"""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        self.ws.settimeout(left)
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        msg = json.loads(raw)
        if "method" in msg:
            self._note(msg)
        return msg

    def _note(self, ev):
        """keep what the commands ask about from an event"""
        m, p = ev["method"], ev.get("params", {})
        if m == "Network.responseReceived":
            self.streams.append(p["response"]["url"])
            if p.get("type") == "Document" and p.get("frameId") == self.frame:
                self.doc_status = p["response"]["status"]
                self.doc_url = p["response"]["url"]
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            if p.get("type") != "Document" or p.get("blockedReason"):
                self.errors.append("load failed (%s %s)" % (p.get("type"),
                                   p.get("blockedReason") or p.get("errorText")))
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("script error: %s" % (d.get("exception", {}).get("description")
                                                      or d.get("text")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            # the browser's own favicon request and the status of the page itself are no page error
            if e.get("source") == "network" and (e.get("url", "").endswith("/favicon.ico")
                                                 or e.get("url") == self.doc_url):
                self.events.append(ev)
                return
            self.errors.append("%s: %s%s" % (e.get("source"), e.get("text"),
                                              " (%s)" % e["url"] if e.get("url") else ""))
        self.events.append(ev)
        if len(self.events) > 5000:
            del self.events[:1000]

    frame = None

    def call(self, method, timeout=None, **params):
        """send one command, return its result (events meanwhile are kept)"""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._recv(deadline)
            if msg is None:
                raise BrowserError("%s: no answer within %ss" % (method, timeout or self.timeout))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"].get("message")))
                return msg.get("result", {})

    def wait_event(self, method, pred=lambda p: True, timeout=None):
        """wait for an event METHOD whose params satisfy PRED, return them"""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self.events):
                if ev["method"] == method and pred(ev.get("params", {})):
                    del self.events[:i + 1]
                    return ev.get("params", {})
            self.events.clear()
            if self._recv(deadline) is None:
                raise BrowserError("no %s within %ss" % (method, timeout or self.timeout))

    def pump(self, seconds):
        """read events for SECONDS"""
        deadline = time.monotonic() + seconds
        while self._recv(deadline) is not None:
            pass

    # --- pages

    def _main_frame(self):
        if self.frame is None:
            self.frame = self.call("Page.getFrameTree")["frameTree"]["frame"]["id"]
        return self.frame

    def _expect_load(self):
        """forget events and errors of the page being left"""
        self._main_frame()
        self.events.clear()
        self.errors = []
        self.doc_status = None

    def _wait_load(self, what, timeout=None):
        """wait for the main frame's load event after a navigation began"""
        try:
            self.wait_event("Page.lifecycleEvent",
                            lambda p: p.get("name") == "load" and p.get("frameId") == self.frame,
                            timeout)
        except BrowserError:
            raise BrowserError("%s: no page load within %ss" % (what, timeout or self.timeout))
        # the load event can come a little before the responseReceived of a cached page
        if self.doc_status is None:
            self.pump(0.05)

    def navigate(self, url, timeout=None):
        """load URL and wait for its load event; returns the document's HTTP status"""
        self._expect_load()
        r = self.call("Page.navigate", url=url, timeout=timeout)
        if r.get("errorText"):
            raise BrowserError("open %s: %s" % (url, r["errorText"]))
        self._wait_load("open " + url, timeout)
        return self.doc_status

    def reload(self, timeout=None):
        """load the page again and wait for its load event; returns the document's HTTP status"""
        self._expect_load()
        self.call("Page.reload", timeout=timeout, ignoreCache=True)
        self._wait_load("reload", timeout)
        return self.doc_status

    def eval(self, expr, timeout=None):
        """the value of the JavaScript EXPR (promises awaited), as JSON gives it"""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expr,
                      returnByValue=True, awaitPromise=True, userGesture=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError("%s: %s" % (expr, d.get("exception", {}).get("description")
                                           or d.get("text")))
        return r["result"].get("value")

    def until(self, expr, timeout=None, what=None):
        """poll the JavaScript EXPR every 50 ms until it is truthy; returns it"""
        deadline = time.monotonic() + (timeout or self.timeout)
        last = None
        while True:
            try:
                v = self.eval(expr)
                if v:
                    return v
            except BrowserError as e:
                last = e
            if time.monotonic() >= deadline:
                raise BrowserError("%s not true within %ss%s" % (what or expr, timeout or self.timeout,
                                                                   " (%s)" % last if last else ""))
            self.pump(0.05)

    def wait(self, sel, timeout=None):
        """wait until SEL matches an element"""
        return self.until("document.querySelector(%s) !== null" % json.dumps(sel), timeout,
                          "an element %s" % sel)

    def _center(self, sel):
        """scroll SEL into view, return the middle of its box"""
        r = self.eval("""(() => { const e = document.querySelector(%s);
            if (!e) return null; e.scrollIntoView({block: 'center', inline: 'center'});
            const b = e.getBoundingClientRect();
            return [b.left + b.width / 2, b.top + b.height / 2, b.width, b.height]; })()"""
                      % json.dumps(sel))
        if r is None:
            raise BrowserError("no element %s" % sel)
        if r[2] <= 0 or r[3] <= 0:
            raise BrowserError("%s is not visible (%gx%g)" % (sel, r[2], r[3]))
        return r[0], r[1]

    def click(self, sel, nav=False, timeout=None):
        """click the middle of SEL with the left button; with NAV wait for the page it loads"""
        x, y = self._center(sel)
        hit = self.eval("""(() => { const e = document.querySelector(%s),
            h = document.elementFromPoint(%f, %f); return h !== null && (e === h || e.contains(h)); })()"""
                        % (json.dumps(sel), x, y))
        if not hit:
            raise BrowserError("%s is covered by another element" % sel)
        if nav:
            self._expect_load()
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=0 if kind == "mouseMoved" else 1)
        if nav:
            self._wait_load("click " + sel, timeout)

    def type(self, sel, text):
        """focus SEL, select its content, type TEXT as keyboard input"""
        ok = self.eval("""(() => { const e = document.querySelector(%s); if (!e) return false;
            e.focus(); if (e.select) e.select(); return document.activeElement === e; })()"""
                       % json.dumps(sel))
        if not ok:
            raise BrowserError("cannot focus %s" % sel)
        self.call("Input.insertText", text=text)

    KEYS = {"Enter": (13, "\r"), "Tab": (9, ""), "Escape": (27, "")}

    def key(self, name, nav=False, timeout=None):
        """press and release KEY; with NAV wait for the page it loads"""
        if name not in self.KEYS:
            raise BrowserError("unknown key %s (known: %s)" % (name, ", ".join(self.KEYS)))
        code, text = self.KEYS[name]
        if nav:
            self._expect_load()
        down = dict(type="keyDown", key=name, code=name, windowsVirtualKeyCode=code,
                    nativeVirtualKeyCode=code)
        if text:
            down["text"] = text
        self.call("Input.dispatchKeyEvent", **down)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=name,
                  windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)
        if nav:
            self._wait_load("key " + name, timeout)

    def viewport(self, width, height, mobile=False):
        """lay the page out at WIDTH x HEIGHT CSS pixels, scale 1"""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)
        self.call("Emulation.setTouchEmulationEnabled", enabled=mobile)

    def screenshot(self, path, max_screens=6):
        """PNG of the viewport to PATH; a taller page scrolled a screen at a time into PATH-2.png,
        PATH-3.png ... (at most MAX_SCREENS): the page keeps its size, nothing is laid out again.
        Returns the files written."""
        h = self.eval("innerHeight")
        total = self.eval("document.documentElement.scrollHeight")
        n = min(max_screens, max(1, -(-total // h)))
        files = []
        for i in range(n):
            self.eval("""new Promise(r => { scrollTo(0, %d);
                requestAnimationFrame(() => requestAnimationFrame(r)); })""" % (i * h))
            r = self.call("Page.captureScreenshot", timeout=max(self.timeout, 20), format="png")
            f = path if i == 0 else "%s-%d.png" % (path[:-4] if path.endswith(".png") else path, i + 1)
            with open(f, "wb") as out:
                out.write(base64.b64decode(r["data"]))
            files.append(f)
        self.eval("scrollTo(0, 0)")
        return files

    def fetch(self, url):
        """fetch URL from the page with its cookies: (status, content-type, body text)"""
        r = self.eval("""fetch(%s, {credentials: 'same-origin'}).then(async r =>
            [r.status, r.headers.get('content-type') || '', await r.text()])""" % json.dumps(url))
        return r[0], r[1], r[2]

    def wait_stream(self, sub, timeout=None):
        """wait until a response whose URL holds SUB began"""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not any(sub in u for u in self.streams):
            if self._recv(deadline) is None and time.monotonic() >= deadline:
                raise BrowserError("no response from a URL holding %s within %ss"
                                   % (sub, timeout or self.timeout))


# --- scenario files

def _secs(args, i, default):
    return float(args[i]) if len(args) > i else default


def _str(expr):
    """JavaScript: String() of EXPR's value, a promise's once settled"""
    return "(async () => String(await (%s)))()" % expr


def run_line(b, args, shots_timeout):
    """run one scenario command; returns what to print after "ok - " or raises"""
    cmd, a = args[0], args[1:]
    t = shots_timeout
    if cmd == "viewport":
        b.viewport(int(a[0]), int(a[1]), len(a) > 2 and a[2] == "mobile")
    elif cmd == "open":
        st = b.navigate(a[0])
        return "open %s (%s)" % (a[0], st)
    elif cmd == "reload":
        b.reload()
    elif cmd == "follow":
        b.click(a[0], nav=True)
        return "follow %s -> %s (%s)" % (a[0], b.eval("location.pathname + location.search"),
                                         b.doc_status)
    elif cmd == "click":
        b.click(a[0])
    elif cmd == "type":
        b.type(a[0], a[1])
    elif cmd == "key":
        b.key(a[0], nav=len(a) > 1 and a[1] == "nav")
        if len(a) > 1:
            return "key %s -> %s (%s)" % (a[0], b.eval("location.pathname + location.search"),
                                          b.doc_status)
    elif cmd == "wait":
        b.wait(a[0], _secs(a, 1, t))
    elif cmd == "until":
        b.until(a[0], _secs(a, 1, t))
    elif cmd in ("eq", "match"):
        v = b.eval(_str(a[1]))
        if cmd == "eq" and v != a[0]:
            raise BrowserError("%s is %r, expected %r" % (a[1], v, a[0]))
        if cmd == "match" and not re.search(a[0], v):
            raise BrowserError("%s is %r, does not match %r" % (a[1], v, a[0]))
        return "%s = %r" % (a[1], v) if cmd == "eq" else "%s = %r matches %r" % (a[1], v, a[0])
    elif cmd == "status":
        if str(b.doc_status) != a[0]:
            raise BrowserError("the document's status is %s, expected %s" % (b.doc_status, a[0]))
    elif cmd == "path":
        p = b.eval("location.pathname + location.search")
        if p != a[0]:
            raise BrowserError("at %s, expected %s" % (p, a[0]))
    elif cmd in ("present", "absent"):
        html = b.eval("document.documentElement.outerHTML")
        if (a[0] in html) != (cmd == "present"):
            raise BrowserError("%r is %s the page" % (a[0], "not in" if cmd == "present" else "in"))
    elif cmd == "noerrors":
        b.pump(0.1)
        if b.errors:
            raise BrowserError("; ".join(b.errors[:5]))
    elif cmd == "shot":
        return "shot %s" % " ".join(b.screenshot(a[0]))
    elif cmd in ("fetch", "fetchhref"):
        url = a[0] if cmd == "fetch" else b.eval(
            "(e => e ? e.href : null)(document.querySelector(%s))" % json.dumps(a[0]))
        if not url:
            raise BrowserError("no element %s with an href" % a[0])
        st, ctype, body = b.fetch(url)
        with open(a[1], "w", newline="") as f:
            f.write(body)
        with open(a[1] + ".meta", "w") as f:
            f.write("%s %s\n" % (st, ctype))
        return "%s %s: %s %s, %d characters" % (cmd, a[0], st, ctype, len(body))
    elif cmd == "stream":
        b.wait_stream(a[0], _secs(a, 1, t))
    elif cmd == "sh":
        r = subprocess.run(["bash", "-c", a[0]], timeout=60)
        if r.returncode != 0:
            raise BrowserError("exit status %d" % r.returncode)
    elif cmd == "tz":
        b.call("Emulation.setTimezoneOverride", timezoneId=a[0])
    elif cmd == "print":
        print(b.eval(_str(a[0])), flush=True)
    elif cmd == "sleep":
        b.pump(min(float(a[0]), 10))
    else:
        raise BrowserError("unknown command")
    return None


def run(path, shots=None, timeout=10.0, log=None, keep_going=False):
    """run the scenario file PATH; 0 when every line passed, 1 otherwise"""
    def lines_of(p):
        with open(p) as f:
            return [(os.path.basename(p), n, line) for n, line in enumerate(f.read().splitlines(), 1)]
    todo = lines_of(path)
    failed = 0
    b = Browser(timeout=timeout, log=log)
    try:
        while todo:
            where, n, line = todo.pop(0)
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            t0 = time.monotonic()
            try:
                args = shlex.split(line)
                if args[0] == "include":
                    todo[0:0] = lines_of(args[1])
                    said = "include %s (%d lines)" % (args[1], len(lines_of(args[1])))
                else:
                    said = run_line(b, args, timeout)
            except (BrowserError, IndexError, ValueError, OSError, subprocess.TimeoutExpired,
                    websocket.WebSocketException) as e:
                print("FAIL: browser: %s:%d: %s: %s" % (where, n, line.strip(), e),
                      file=sys.stderr, flush=True)
                try:
                    print("  at %s (status %s)\n  page text: %s" % (
                        b.eval("location.href"), b.doc_status,
                        b.eval("document.body ? document.body.innerText : ''")[:1500]
                        .replace("\n", " | ")), file=sys.stderr)
                    if b.errors:
                        print("  page errors: %s" % "; ".join(b.errors[:5]), file=sys.stderr)
                    if shots:
                        b.screenshot(os.path.join(shots, "failure.png"), 1)
                        print("  screenshot: %s" % os.path.join(shots, "failure.png"), file=sys.stderr)
                except Exception as e2:
                    print("  (no page state: %s)" % e2, file=sys.stderr)
                failed = 1
                if keep_going:
                    continue
                return 1
            said = said or line.strip()
            if len(said) > 300:
                said = said[:300] + "..."
            print("ok - %s (%d ms)" % (said, (time.monotonic() - t0) * 1000), flush=True)
    finally:
        b.close()
    return failed


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="browser.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario file")
    r.add_argument("scenario")
    r.add_argument("--shots", help="directory for failure.png")
    r.add_argument("--timeout", type=float, default=10.0, help="seconds each wait may take")
    r.add_argument("--log", help="file for Chromium's own output")
    r.add_argument("--keep-going", action="store_true",
                   default=os.environ.get("BEACON_BROWSER_KEEP_GOING") == "1",
                   help="after a failed line, go on with the next")
    o = ap.parse_args(argv)
    try:
        return run(o.scenario, o.shots, o.timeout, o.log, o.keep_going)
    except BrowserError as e:
        print("FAIL: browser: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
