#!/usr/bin/env python3
"""A raw HTTP/1.x client for tests/serve_security.bats: the bytes sent are
exactly the ones given (no Host added, none fixed up), so that a test can send
what curl will not: an empty Host, a bad request line, a head that arrives one
line at a time.

    raw_http.py [--port N] [--addr A] [--unix PATH] [--source A] [--timeout S] send
        Sends standard input as it is and reads one answer. Prints one JSON
        line: {"status": 400 or null, "version", "reason", "headers": {name
        lower-cased: value, repeats joined by ", "}, "body" (UTF-8, bad bytes
        replaced), "bytes": how many came in all, "closed": whether the server
        closed the connection, "error": an OSError's name or null}. status is
        null when no status line came (closed, reset or timed out first).

    raw_http.py [...] slow INTERVAL MAX [PATH]
        Slowloris: sends "GET PATH HTTP/1.1", then "Host: ADDR", then an
        "X-Slow-N: 1" line, one line every INTERVAL seconds, never the blank
        line, until the server closes (or resets) the connection or MAX seconds
        pass. Prints one JSON line: {"closed": bool, "after": seconds from the
        first byte sent to the close, "lines": lines sent, "bytes": bytes the
        server sent, "head": the first 200 of them}.
"""

import argparse
import json
import select
import socket
import sys
import time


def connect(a):
    if a.unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        s.connect(a.unix)
        return s
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    if a.source:
        s.bind((a.source, 0))
    s.connect((a.addr, a.port))
    return s


def read_answer(s):
    """One answer: the head, then Content-Length bytes, a chunked body, or
    everything until the server closes."""
    got, closed, error = b"", False, None

    def more():
        nonlocal got, closed, error
        if closed or error:
            return False
        try:
            b = s.recv(65536)
        except OSError as e:
            error = type(e).__name__
            return False
        if not b:
            closed = True
            return False
        got += b
        return True

    while b"\r\n\r\n" not in got:
        if not more():
            break
    head, sep, body = got.partition(b"\r\n\r\n")
    status = version = reason = None
    headers = {}
    if sep:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            version, status = parts[0], int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(got) - len(head) - 4 < n and more():
                pass
            body = got[len(head) + 4:len(head) + 4 + n]
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while not got.endswith(b"0\r\n\r\n") and more():
                pass
            raw, body = got[len(head) + 4:], b""
            while raw:
                size, _, rest = raw.partition(b"\r\n")
                n = int(size.split(b";")[0] or b"0", 16)
                if n == 0:
                    break
                body += rest[:n]
                raw = rest[n + 2:]
        else:
            while more():
                pass
            body = got[len(head) + 4:]
    return {"status": status, "version": version, "reason": reason, "headers": headers,
            "body": body.decode("utf-8", "replace") if sep else got.decode("utf-8", "replace"),
            "bytes": len(got), "closed": closed, "error": error}


def send(a):
    s = connect(a)
    data = sys.stdin.buffer.read()
    try:
        s.sendall(data)
    except OSError as e:
        print(json.dumps({"status": None, "version": None, "reason": None, "headers": {},
                          "body": "", "bytes": 0, "closed": True, "error": type(e).__name__}))
        return
    print(json.dumps(read_answer(s)), flush=True)
    if a.again_after is not None:
        time.sleep(a.again_after)
        try:
            s.sendall(data)
        except OSError as e:
            print(json.dumps({"status": None, "version": None, "reason": None, "headers": {},
                              "body": "", "bytes": 0, "closed": True,
                              "error": type(e).__name__}))
            return
        print(json.dumps(read_answer(s)))


def slow(a):
    s = connect(a)
    s.setblocking(False)
    lines = ["GET %s HTTP/1.1\r\n" % a.path, "Host: %s\r\n" % a.addr]
    start = time.monotonic()
    sent, got, closed, after = 0, b"", False, None
    next_at = start
    while time.monotonic() - start < a.max:
        now = time.monotonic()
        if now >= next_at:
            line = lines[sent] if sent < len(lines) else "X-Slow-%d: 1\r\n" % sent
            try:
                s.send(line.encode())
            except OSError:
                closed = True
                break
            sent += 1
            next_at += a.interval
        r, _, _ = select.select([s], [], [], max(0.0, min(next_at, start + a.max) - time.monotonic()))
        if r:
            try:
                b = s.recv(65536)
            except OSError:
                closed = True
                break
            if not b:
                closed = True
                break
            got += b
    if closed:
        after = round(time.monotonic() - start, 2)
    print(json.dumps({"closed": closed, "after": after, "lines": sent, "bytes": len(got),
                      "head": got[:200].decode("latin-1")}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--unix")
    p.add_argument("--source")
    p.add_argument("--timeout", type=float, default=10.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    sd = sub.add_parser("send")
    sd.add_argument("--again-after", type=float)
    sp = sub.add_parser("slow")
    sp.add_argument("interval", type=float)
    sp.add_argument("max", type=float)
    sp.add_argument("path", nargs="?", default="/healthz")
    a = p.parse_args()
    {"send": send, "slow": slow}[a.cmd](a)


if __name__ == "__main__":
    main()
