#!/usr/bin/env python3
"""
NAME
	mknewsletter.py - write the HTML newsletter the Beacon benchmarks send

SYNOPSIS
	mknewsletter.py HTML_BYTES LINKS > message.eml

DESCRIPTION
	Prints a multipart/alternative message (LF line ends, as smtp-source
	-F wants them): a short text/plain part and a text/html part of about
	HTML_BYTES bytes of decoded HTML, quoted-printable encoded, in the
	table layout newsletter tools produce, with LINKS http(s) links
	(<a href>) spread through it, a mailto: link, a List-Unsubscribe
	target and a few images.  The header carries "X-Beacon: track" so
	beacon-milter tracks it, and From: news@example.com so opendkim
	signs it for example.com.  The output depends only on the arguments
	(fixed random seed): every run and every side of a comparison sends
	the same bytes.
"""
import quopri
import random
import sys

WORDS = ("spring collection offer member event garden city river studio "
         "weekend season report update story design travel market coffee "
         "library concert review guide morning evening harbour mountain "
         "recipe kitchen window summer winter letter reader friend museum "
         "festival workshop course lesson project community").split()


def sentence(rnd, n):
    w = [rnd.choice(WORDS) for _ in range(n)]
    return " ".join(w).capitalize() + "."


def paragraph(rnd, target):
    out = []
    size = 0
    while size < target:
        s = sentence(rnd, rnd.randint(6, 14))
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


def link(rnd, i):
    host = rnd.choice(["www.example.com", "shop.example.com", "blog.example.org"])
    path = "/".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 3)))
    return ("https://%s/%s?utm_source=newsletter&amp;utm_medium=email"
            "&amp;utm_campaign=spring&amp;id=%d" % (host, path, 1000 + i))


def html_body(rnd, size, nlinks):
    head = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Spring letter</title>\n"
        "<style type=\"text/css\">\n"
        "body { margin: 0; padding: 0; background: #f4f4f4; }\n"
        "table { border-collapse: collapse; }\n"
        "a { color: #1a73e8; text-decoration: none; }\n"
        ".button a { display: inline-block; padding: 12px 24px; background: #1a73e8;"
        " color: #ffffff; border-radius: 4px; }\n"
        "@media (max-width: 600px) { .col { width: 100% !important; } }\n"
        "</style>\n</head>\n"
        "<body style=\"margin:0;padding:0;background:#f4f4f4\">\n"
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\""
        " border=\"0\" bgcolor=\"#f4f4f4\">\n<tr><td align=\"center\">\n"
        "<table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\""
        " border=\"0\" bgcolor=\"#ffffff\" class=\"col\">\n"
        "<tr><td style=\"padding:24px\"><img src=\"https://cdn.example.com/img/logo.png\""
        " width=\"160\" height=\"40\" alt=\"Example\" style=\"display:block;border:0\"></td></tr>\n")
    tail = (
        "<tr><td style=\"padding:24px;font-family:Arial,sans-serif;font-size:12px;"
        "color:#777777\">You receive this letter because you subscribed at example.com. "
        "<a href=\"mailto:unsubscribe@example.com?subject=unsubscribe\">Unsubscribe by mail</a>"
        " or <a href=\"https://www.example.com/unsubscribe?u=4711\">unsubscribe here</a>.</td></tr>\n"
        "</table>\n</td></tr>\n</table>\n</body>\n</html>\n")
    # the unsubscribe link is one of the http(s) links
    nlinks = max(nlinks - 1, 0)
    budget = max(size - len(head) - len(tail), 0)
    blocks = max(nlinks, 1)
    per_block = budget // blocks
    parts = [head]
    for i in range(blocks):
        b = []
        b.append("<tr><td class=\"col\" style=\"padding:16px 24px;font-family:Arial,"
                 "sans-serif;font-size:15px;line-height:22px;color:#333333\">\n")
        if i % 4 == 0:
            b.append("<img src=\"https://cdn.example.com/img/story%d.jpg\" width=\"552\""
                     " height=\"200\" alt=\"\" style=\"display:block;border:0;width:100%%\">\n" % i)
        b.append("<h2 style=\"margin:12px 0;font-size:20px\">%s</h2>\n"
                 % sentence(rnd, 4)[:-1])
        frame = "".join(b)
        if i < nlinks:
            a = "<p class=\"button\"><a href=\"%s\" target=\"_blank\">Read more</a></p>\n" \
                % link(rnd, i)
        else:
            a = ""
        end = "</td></tr>\n"
        text = max(per_block - len(frame) - len(a) - len(end) - 8, 40)
        para = paragraph(rnd, text)
        parts.append(frame + "<p>" + para + "</p>\n" + a + end)
    parts.append(tail)
    html = "".join(parts)
    return html


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: mknewsletter.py HTML_BYTES LINKS\n")
        sys.exit(2)
    size, nlinks = int(sys.argv[1]), int(sys.argv[2])
    rnd = random.Random(20261123)
    html = html_body(rnd, size, nlinks)
    qp = quopri.encodestring(html.encode("utf-8")).decode("ascii")
    text = ("Spring letter\n\nRead this letter in a mail client that shows HTML,\n"
            "or online at https://www.example.com/letters/spring\n")
    boundary = "=_beacon_bench_7f3a9c"
    msg = (
        "From: Example News <news@example.com>\n"
        "To: Reader <reader@bench.example>\n"
        "Subject: Spring letter: what is new this season\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <spring-letter-2026@example.com>\n"
        "List-Unsubscribe: <https://www.example.com/unsubscribe?u=4711>,"
        " <mailto:unsubscribe@example.com?subject=unsubscribe>\n"
        "X-Beacon: track; clicks=yes; campaign=\"Spring letter\"\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"%s\"\n"
        "\n"
        "This is a multi-part message in MIME format.\n"
        "\n"
        "--%s\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "%s"
        "\n"
        "--%s\n"
        "Content-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "%s"
        "\n"
        "--%s--\n" % (boundary, boundary, text, boundary, qp, boundary))
    sys.stdout.write(msg)


if __name__ == "__main__":
    main()
