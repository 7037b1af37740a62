#!/usr/bin/env python3
"""Paired, alternating timing of commands: the measuring loop of bench/.

    paired.py [--runs N] [--warmup W] [--rss] [--ok NAME=CODES]... [--json FILE]
              NAME=COMMAND ...

Each round runs every command once, in a rotated order (A B C, then B C A,
then C A B, ...), so that a busy spell of a shared machine falls on all
commands alike instead of on whichever happened to run then. hyperfine runs
one command's runs back to back, which is why it is not used for the ratios.

Per run it records
  wall time  perf_counter around posix_spawn .. wait4
  CPU time   user + sys from wait4's rusage: the same counters as
             /usr/bin/time's %U and %S, at microsecond resolution, and
             including the children the command waited for (every stage
             of a `bash -c 'a | b | c'` pipeline)
With --rss, each command runs under `/usr/bin/time -f %M` instead and only
the peak RSS (KiB) is recorded. It cannot come from this process's wait4: a
child of Python carries Python's memory high-water mark through exec, so
the reading would be Python's size; /usr/bin/time is a small C parent.

COMMAND is split like a shell word list (shlex) and exec'd directly, without
a shell, so no figure holds a shell's start-up unless the command is itself
`bash -c '...'`. Standard input and output are /dev/null; standard error is
this process's.

Prints one line per command (name, median, p25, p75 of the wall time in ms,
median CPU ms; or median, p25, p75 of the peak RSS in KiB) and, with --json,
writes every sample and the medians. Exits 1 when a command fails: exit status
not 0, or not in the CODES given with --ok NAME=0,4.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time


def spawn_wait(argv):
    fd_in = os.open(os.devnull, os.O_RDONLY)
    fd_out = os.open(os.devnull, os.O_WRONLY)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, fd_in, 0), (os.POSIX_SPAWN_DUP2, fd_out, 1)]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
    finally:
        os.close(fd_in)
        os.close(fd_out)
    return os.waitstatus_to_exitcode(status), wall, ru


def run_time(argv):
    code, wall, ru = spawn_wait(argv)
    return code, {"wall_ms": wall * 1000.0, "cpu_ms": (ru.ru_utime + ru.ru_stime) * 1000.0}


def run_rss(argv, scratch):
    code, _, _ = spawn_wait(["/usr/bin/time", "-f", "%M", "-o", scratch] + argv)
    with open(scratch, encoding="utf-8") as f:
        # time(1) puts "Command exited with non-zero status N" first when N != 0.
        kib = int(f.read().split()[-1])
    return code, {"rss_kib": kib}


def spread(xs):
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return statistics.median(xs), q[0], q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="recorded rounds")
    ap.add_argument("--warmup", type=int, default=2, help="rounds run first and not recorded")
    ap.add_argument("--rss", action="store_true", help="record peak RSS through /usr/bin/time")
    ap.add_argument("--ok", action="append", default=[], metavar="NAME=CODES",
                    help="exit codes that count as success for NAME (default 0)")
    ap.add_argument("--json", help="write all samples and medians here")
    ap.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    a = ap.parse_args()
    if a.runs < 1 or a.warmup < 0:
        ap.error("--runs must be at least 1 and --warmup at least 0")

    cmds = []
    for spec in a.commands:
        name, sep, cmd = spec.partition("=")
        if not sep or not name or not cmd.strip():
            ap.error("expected NAME=COMMAND, got %r" % spec)
        argv = shlex.split(cmd)
        # Looked up once here, not by every spawn: the runner's own cost is
        # part of every figure, so it is kept as small as it can be.
        path = shutil.which(argv[0])
        if not path:
            ap.error("%s: command not found: %s" % (name, argv[0]))
        cmds.append((name, [os.path.abspath(path)] + argv[1:]))
    ok = {name: {0} for name, _ in cmds}
    for spec in a.ok:
        name, _, codes = spec.partition("=")
        if name not in ok:
            ap.error("--ok names no command: %r" % spec)
        ok[name] = {int(c) for c in codes.split(",")}

    fields = ["rss_kib"] if a.rss else ["wall_ms", "cpu_ms"]
    samples = {name: {f: [] for f in fields} for name, _ in cmds}
    fd, scratch = tempfile.mkstemp(prefix="paired-rss.")
    os.close(fd)
    try:
        for r in range(a.warmup + a.runs):
            for k in range(len(cmds)):
                name, argv = cmds[(r + k) % len(cmds)]
                code, got = run_rss(argv, scratch) if a.rss else run_time(argv)
                if code not in ok[name]:
                    sys.exit("paired.py: %s: %s exited with %d" % (name, shlex.join(argv), code))
                if r >= a.warmup:
                    for f in fields:
                        samples[name][f].append(got[f])
    finally:
        os.unlink(scratch)

    out = {"runs": a.runs, "warmup": a.warmup, "order": "rotated each round", "commands": {}}
    for name, argv in cmds:
        s = samples[name]
        entry = {"argv": argv}
        if a.rss:
            med, p25, p75 = spread(s["rss_kib"])
            entry.update(median_rss_kib=med, p25_rss_kib=p25, p75_rss_kib=p75)
            print("%-10s rss KiB  median %8.0f  p25 %8.0f  p75 %8.0f  (%d runs)"
                  % (name, med, p25, p75, a.runs))
        else:
            med, p25, p75 = spread(s["wall_ms"])
            cpu = statistics.median(s["cpu_ms"])
            entry.update(median_wall_ms=med, p25_wall_ms=p25, p75_wall_ms=p75, median_cpu_ms=cpu)
            print("%-10s wall ms  median %9.3f  p25 %9.3f  p75 %9.3f   cpu ms median %9.3f  (%d runs)"
                  % (name, med, p25, p75, cpu, a.runs))
        entry.update(s)
        out["commands"][name] = entry
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
