#!/usr/bin/env python3
"""
NAME
	copies.py - the delivered copies of the demo newsletter, side by side

SYNOPSIS
	copies.py BASE_URL SENT_EML OUT_TSV ADDRESS|ROLE|DUMP_ID|DELIVERED_EML ...

DESCRIPTION
	Reads what smtp-sink received for each recipient (one DELIVERED_EML
	per recipient; several recipients may name the same file when Postfix
	delivered one copy to all of them) and compares it with SENT_EML,
	the message as swaks sent it.  Prints an aligned table, one column
	per recipient: the sink dump the copy is in, the headers that name
	the recipient (none for Bcc), whether the X-Beacon header is gone,
	the pixel, each click URL (tokens shortened), whether the mailto:
	and List-Unsubscribe links and the attachment are as sent (or, with
	attachments=link, the download button's URL on the copy's token).
	Then the link targets.

	Writes OUT_TSV, one line per recipient and URL, for demo.sh:
		ADDRESS <TAB> pixel <TAB> TOKEN <TAB> PIXEL_URL
		ADDRESS <TAB> link <TAB> N <TAB> CLICK_URL <TAB> TARGET
		ADDRESS <TAB> download <TAB> N <TAB> DOWNLOAD_URL <TAB> FILENAME
	Click URLs are <base>/c/<token>/<n>/<mac>?u=<base64url target>; the
	target shown is the u= value decoded.  Link 0 is the hidden link
	that only link scanners follow: shown on its own row, not a link.  Nothing here is computed from
	the secret: every token and URL is read from the delivered copies.

DIAGNOSTICS
	Exits 1 with a message when a copy has no pixel, still holds the
	placeholder, or when a click URL does not have the documented shape.
"""
import base64
import email
import email.policy
import re
import sys


def fail(msg):
    print("copies.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.compat32)


def parts(msg):
    """html text, attachments {name: decoded bytes} of a message"""
    html, att = "", {}
    for p in msg.walk():
        if p.is_multipart():
            continue
        if p.get_content_type() == "text/html":
            html += (p.get_payload(decode=True) or b"").decode("utf-8", "replace")
        elif p.get_filename():
            att[p.get_filename()] = p.get_payload(decode=True) or b""
    return html, att


def hrefs(html):
    return re.findall(r'<a\s[^>]*href="([^"]*)"', html, flags=re.I)


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode("utf-8", "replace")


def short(tok):
    return tok[:6] + "\u2026" + tok[-4:]


def main():
    if len(sys.argv) < 5:
        fail("usage: copies.py BASE_URL SENT_EML OUT_TSV ADDRESS|ROLE|DUMP_ID|EML ...")
    base, sent_path, tsv_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    sent_html, sent_att = parts(load(sent_path))
    sent_links = [h for h in hrefs(sent_html) if h.startswith(("http://", "https://"))]
    sent_other = [h for h in hrefs(sent_html) if not h.startswith(("http://", "https://"))]
    pixel_re = re.compile(re.escape(base) + r"/o/([A-Za-z0-9_-]+)\.gif")
    click_re = re.compile(re.escape(base) + r"/c/([A-Za-z0-9_-]+)/(\d+)/([A-Za-z0-9_-]+)\?u=([A-Za-z0-9_-]+)$")
    dl_re = re.compile(re.escape(base) + r"/d/([A-Za-z0-9_-]+)/(\d+)/([A-Za-z0-9_-]+)$")

    cols, tsv, targets = [], [], {}
    for arg in sys.argv[4:]:
        addr, role, dump, path = arg.split("|", 3)
        msg = load(path)
        html, att = parts(msg)
        if base + "/p.gif" in html:
            fail(f"{addr}: the placeholder is still in the delivered copy")
        m = pixel_re.search(html)
        if not m:
            fail(f"{addr}: no pixel {base}/o/<token>.gif in the delivered copy")
        tok = m.group(1)
        tsv.append(f"{addr}\tpixel\t{tok}\t{m.group(0)}")
        named = [h for h in ("To", "Cc", "Bcc")
                 if addr.lower() in " ".join(msg.get_all(h, [])).lower()]
        col = {"head": f"{addr} ({role})", "sink": dump,
               "in headers": ", ".join(named) or "no",
               "X-Beacon header": "removed" if msg.get("X-Beacon") is None else "STILL THERE",
               "pixel": f"/o/{short(tok)}.gif"}
        kept = []
        for h in hrefs(html):
            c = click_re.match(h)
            if c:
                n, target = int(c.group(2)), b64url_dec(c.group(4))
                if c.group(1) != tok:
                    fail(f"{addr}: link {n} is signed for another token than the pixel's")
                if n == 0:
                    col["hidden link"] = f"/c/{short(tok)}/0/\u2026"
                    continue
                targets[n] = target
                col[f"link {n}"] = f"/c/{short(tok)}/{n}/\u2026"
                tsv.append(f"{addr}\tlink\t{n}\t{h}\t{target}")
            else:
                kept.append(h)
        unchanged = [h for h in sent_links if h in kept] + [h for h in sent_other if h in kept]
        col["left as sent"] = ", ".join(
            "mailto:" if u.startswith("mailto:") else "unsubscribe" if "unsubscribe" in u else u
            for u in unchanged) or "-"
        downloads = {}
        for h in hrefs(html):
            d = dl_re.match(h)
            if d:
                if d.group(1) != tok:
                    fail(f"{addr}: download {d.group(2)} is signed for another token than the pixel's")
                downloads[int(d.group(2))] = h
        for i, (name, data) in enumerate(sent_att.items(), 1):
            if name in att:
                col[name] = "intact" if att[name] == data else "CHANGED"
            elif i in downloads:
                col[name] = f"/d/{short(tok)}/{i}/\u2026 (button)"
                tsv.append(f"{addr}\tdownload\t{i}\t{downloads[i]}\t{name}")
            else:
                fail(f"{addr}: {name} is neither in the copy nor behind a download link")
        cols.append(col)

    rows = ["sink", "in headers", "X-Beacon header", "pixel"]
    rows += [f"link {n}" for n in sorted(targets)]
    rows += ["hidden link"] if any("hidden link" in c for c in cols) else []
    rows += ["left as sent"] + list(sent_att)
    first = max(len(r) for r in rows) + 2
    widths = [max(len(c["head"]), *(len(c.get(r, "-")) for r in rows)) + 3 for c in cols]
    print(" " * first + "".join(c["head"].ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        label = "sink dump" if r == "sink" else r
        print(label.ljust(first) + "".join(c.get(r, "-").ljust(w) for c, w in zip(cols, widths)).rstrip())
    print()
    for n in sorted(targets):
        print(f"link {n} = {targets[n]}")
    with open(tsv_path, "w") as f:
        f.write("\n".join(tsv) + "\n")


main()
