#!/usr/bin/env python3
"""First-token latency of a streaming client (issue 14).

    firsttoken.py --rounds N NAME=COMMAND...

This script is the server: for each round and command (rotated), it starts
COMMAND (a shell string, with $BENCH_FT_URL set to its own 127.0.0.1 URL)
with stdout on a pipe, answers its one POST with an SSE head and one event,
notes the time the event's send() returned, then waits 200 ms before the
remaining events and `data: [DONE]`. The figure is the time from that send()
to the first byte on the command's stdout: what the client adds to a token
that arrived on its own (buffering across events would add the 200 ms).
Prints JSON: per command, the median and max in ms, and the samples.
"""
import argparse, json, os, select, socket, statistics, subprocess, sys, threading, time

EVENT = (b'data: {"choices":[{"index":0,"delta":{"content":"word "}}],'
         b'"created":1764000000,"id":"c1","model":"gpt-4.1"}\n\n')
LAST = (b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
        b'"created":1764000000,"id":"c1","model":"gpt-4.1"}\n\ndata: [DONE]\n\n')


def one(cmd, lsock, port):
    env = dict(os.environ, BENCH_FT_URL="http://127.0.0.1:%d" % port)
    p = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    sent = {}

    def serve():
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        while len(body) < n:
            body += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        time.sleep(0.01)  # the head on its own, as a real upstream's first token comes later
        conn.sendall(EVENT)
        sent["t"] = time.perf_counter()
        time.sleep(0.2)
        conn.sendall(EVENT * 10 + LAST)
        conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    fd = p.stdout.fileno()
    first = None
    deadline = time.time() + 10
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            chunk = os.read(fd, 65536)
            if first is None and chunk:
                first = time.perf_counter()
            if not chunk:
                break
    p.wait(timeout=10)
    th.join(timeout=5)
    if first is None or "t" not in sent:
        raise SystemExit("firsttoken.py: %r printed nothing" % cmd)
    return (first - sent["t"]) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("commands", nargs="+")
    a = ap.parse_args()
    cmds = [c.split("=", 1) for c in a.commands]
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(15)
    port = lsock.getsockname()[1]
    samples = {n: [] for n, _ in cmds}
    for r in range(a.rounds + 1):
        k = len(cmds)
        for i in range(k):
            name, cmd = cmds[(i + r) % k]
            ms = one(cmd, lsock, port)
            if r:  # round 0 warms up
                samples[name].append(ms)
    print(json.dumps({n: {"median_ms": statistics.median(s), "max_ms": max(s), "samples": s}
                      for n, s in samples.items()}))


if __name__ == "__main__":
    sys.exit(main())
