#!/usr/bin/env python3
"""saslauth.py - a one-user Dovecot authentication server for the tests.

Usage: saslauth.py SOCKET USER PASSWORD

Speaks the server side of Dovecot's authentication protocol (version 1),
the one Postfix's smtpd_sasl_type = dovecot client uses, on the unix
socket SOCKET (mode 0666), for mechanism PLAIN only: USER with PASSWORD
succeeds, anything else fails.  Runs until killed; one thread per
connection.  Tests only: nothing here is meant for real credentials.
"""
import base64
import os
import socket
import sys
import threading


def serve(conn, user, password):
    """Handshake, then answer AUTH requests until the client goes."""
    f = conn.makefile('rwb', buffering=0)
    f.write(b'VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t%d\nCUID\t1\n'
            b'COOKIE\t0123456789abcdef0123456789abcdef\nDONE\n' % os.getpid())
    for line in f:
        parts = line.rstrip(b'\n').split(b'\t')
        if parts[0] != b'AUTH' or len(parts) < 3:
            continue
        rid = parts[1]
        resp = [p[5:] for p in parts[3:] if p.startswith(b'resp=')]
        if not resp:
            f.write(b'CONT\t%s\t\n' % rid)
            nxt = f.readline().rstrip(b'\n').split(b'\t')
            resp = [nxt[2] if len(nxt) > 2 else b'']
        try:
            _, authc, pw = base64.b64decode(resp[0]).split(b'\0')
        except ValueError:
            authc, pw = b'', b''
        if authc == user and pw == password:
            f.write(b'OK\t%s\tuser=%s\n' % (rid, authc))
        else:
            f.write(b'FAIL\t%s\tuser=%s\n' % (rid, authc))
    conn.close()


def main():
    path, user, password = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, user, password), daemon=True).start()


if __name__ == '__main__':
    main()
