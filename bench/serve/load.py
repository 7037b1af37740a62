#!/usr/bin/env python3
"""A small closed-loop load generator for copilot-serve's benchmark.

    load.py URL --concurrency N --duration SECONDS [--stream] [--token TOKEN]
            [--new-connection] [--read-delay MS] [--prompt TEXT]

N client processes (not threads: the GIL would make the client the
bottleneck) each keep one HTTP/1.1 connection (or open a new one per request
with --new-connection) and send POST chat completions back to back for the
duration. With --token the request carries the Copilot headers, for direct
requests to the fake server. --read-delay makes stream readers slow: 16 KiB,
then a pause, for the bounded-buffering measurement.

Prints one JSON object: ok, errors, rps, bytes, and latency percentiles in
milliseconds (whole answer; ttfb = time to the first body byte).
Python 3 standard library only.
"""

import argparse
import http.client
import json
import multiprocessing as mp
import sys
import time
import urllib.parse


def worker(args, start_at, end_at, q):
    u = urllib.parse.urlsplit(args.url)
    body = json.dumps({"model": "gpt-4.1", "stream": args.stream,
                       "messages": [{"role": "user", "content": args.prompt}]}).encode()
    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = "Bearer " + args.token
        headers["Editor-Version"] = "vscode/1.104.3"
    conn = None
    lat, ttfb = [], []
    errors = 0
    nbytes = 0
    while time.time() < start_at:
        time.sleep(0.0005)
    while time.time() < end_at:
        t0 = time.perf_counter()
        try:
            if conn is None or args.new_connection:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            conn.request("POST", u.path, body, headers)
            r = conn.getresponse()
            first = r.read(1)
            t1 = time.perf_counter()
            n = len(first)
            if args.read_delay > 0:
                while True:
                    piece = r.read(16384)
                    if not piece:
                        break
                    n += len(piece)
                    time.sleep(args.read_delay / 1000.0)
            else:
                n += len(r.read())
            t2 = time.perf_counter()
            if r.status != 200 or n == 0:
                errors += 1
            else:
                lat.append(t2 - t0)
                ttfb.append(t1 - t0)
                nbytes += n
            if args.new_connection or r.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.01)
    if conn is not None:
        conn.close()
    q.put((lat, ttfb, errors, nbytes))


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return round(s[k] * 1000.0, 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--concurrency", "-c", type=int, default=1)
    ap.add_argument("--duration", "-d", type=float, default=5.0)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--token")
    ap.add_argument("--new-connection", action="store_true")
    ap.add_argument("--read-delay", type=float, default=0.0, help="ms between 16 KiB reads")
    ap.add_argument("--prompt", default="hello benchmark")
    args = ap.parse_args()

    q = mp.Queue()
    start_at = time.time() + 0.3 + 0.02 * args.concurrency  # every process is up by then
    end_at = start_at + args.duration
    procs = [mp.Process(target=worker, args=(args, start_at, end_at, q), daemon=True)
             for _ in range(args.concurrency)]
    for p in procs:
        p.start()
    lat, ttfb = [], []
    errors = nbytes = 0
    for _ in procs:
        l, t, e, b = q.get()
        lat += l
        ttfb += t
        errors += e
        nbytes += b
    for p in procs:
        p.join()
    print(json.dumps({
        "url": args.url, "concurrency": args.concurrency, "stream": args.stream,
        "new_connection": args.new_connection, "duration_s": args.duration,
        "ok": len(lat), "errors": errors, "rps": round(len(lat) / args.duration, 1),
        "bytes": nbytes,
        "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
        "ttfb_p50_ms": pct(ttfb, 50),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
