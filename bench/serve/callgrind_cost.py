#!/usr/bin/env python3
"""What a callgrind profile says a request cost, per request.

    callgrind_cost.py FILE REQUESTS

Reads a callgrind output file (one dump, taken after the warm-up) and prints
one JSON object: the user-space instructions per request in all and by
shared object (their own instructions, not those of what they call), and the
calls per request to malloc, free, realloc, calloc and operator new.
Instruction counts do not move with the load of a shared machine, which CPU
time does by a third within minutes (bench/serve/README.md).
"""
import json
import re
import sys
from collections import Counter

ALLOCATORS = ("malloc", "free", "realloc", "calloc", "operator new(unsigned long)")


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    if requests <= 0:
        sys.exit("callgrind_cost.py: no requests")
    # Callgrind compresses names: "(7) name" defines id 7, "(7)" refers to it.
    # Objects and functions have id spaces of their own.
    names = {"ob": {}, "fn": {}}

    def name(kind, text):
        m = re.match(r"\((\d+)\)(?: (.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    obj = callee = None
    after_calls = False  # the cost line after calls= is the call's, not the function's own
    own = Counter()
    calls = Counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("ob="):
                obj = name("ob", line[3:])
            elif line.startswith("cob="):
                name("ob", line[4:])
            elif line.startswith("fn="):
                name("fn", line[3:])
            elif line.startswith("cfn="):
                callee = name("fn", line[4:])
            elif line.startswith("calls="):
                calls[callee] += int(line[6:].split()[0])
                after_calls = True
            elif line[0].isdigit() or line[0] in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                if after_calls:
                    after_calls = False
                    continue
                own[(obj or "?").rsplit("/", 1)[-1]] += int(parts[1])
    total = sum(own.values())
    out = {
        "requests": requests,
        "instructions": round(total / requests),
        "by_object": {o: round(v / requests) for o, v in own.most_common() if v / requests >= 100},
        "calls": {a: round(calls[a] / requests, 1) for a in ALLOCATORS},
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
