#!/usr/bin/env python3
"""Starts N copies of one command at once and waits for all: the parallel-callers bench.

    burst.py N OUTDIR COMMAND [ARGS...]

Every copy is started with posix_spawn before the first is waited for; its
standard output goes to OUTDIR/out.I and its standard error to OUTDIR/err.I.
Prints one JSON object: wall_ms (first spawn .. last exit), failed (copies
that exited non-zero), distinct_outputs (different stdout contents),
stderr_bytes (all copies together).
"""
import json
import os
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    n, outdir, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    os.makedirs(outdir, exist_ok=True)
    fds, pids = [], []
    t0 = time.perf_counter()
    for i in range(n):
        fd_in = os.open(os.devnull, os.O_RDONLY)
        fd_out = os.open(os.path.join(outdir, "out.%d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(os.path.join(outdir, "err.%d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fds += [fd_in, fd_out, fd_err]
        actions = [(os.POSIX_SPAWN_DUP2, fd_in, 0), (os.POSIX_SPAWN_DUP2, fd_out, 1),
                   (os.POSIX_SPAWN_DUP2, fd_err, 2)]
        pids.append(os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions))
        # The descriptors are the children's now; closing ours keeps the parent under its limit.
        for fd in fds:
            os.close(fd)
        fds = []
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    wall = (time.perf_counter() - t0) * 1000.0
    outputs, err_bytes = set(), 0
    for i in range(n):
        with open(os.path.join(outdir, "out.%d" % i), "rb") as f:
            outputs.add(f.read())
        err_bytes += os.path.getsize(os.path.join(outdir, "err.%d" % i))
    print(json.dumps({"copies": n, "wall_ms": round(wall, 1), "failed": failed,
                      "distinct_outputs": len(outputs), "stderr_bytes": err_bytes}))


if __name__ == "__main__":
    main()
