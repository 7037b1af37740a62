#!/usr/bin/env python3
"""Fake github.com + api.github.com + Copilot API server for copilot-utils tests.

Python 3 standard library only.  Binds 127.0.0.1 only.  See README.md next to
this file for the routes, the control API (/_control/...) and every knob; the
package fake/ holds one module per concern (README.md, "Layout").

    python3 tests/fake-github/server.py [--port N] [--port-file FILE]
                                        [--watch-pid PID] [--verbose]

The first line of stdout is the port number.
"""

import argparse
import os
import signal
import sys
import threading

# The tree stays clean (no __pycache__ beside the sources), whoever runs the fake.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake.handler import Handler, QuietServer  # noqa: E402
from fake.state import STOP  # noqa: E402


def watch_pid(pid, server):
    while not STOP.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        STOP.wait(0.5)
    if not STOP.is_set():
        STOP.set()
        server.shutdown()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake GitHub/Copilot server for tests.")
    ap.add_argument("--port", type=int, default=0, help="port (default 0 = ephemeral)")
    ap.add_argument("--port-file", help="also write the port number to this file")
    ap.add_argument("--watch-pid", type=int,
                    help="exit when this process no longer exists (stray-server guard)")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = ap.parse_args(argv)

    server = QuietServer(("127.0.0.1", args.port), Handler)
    server.verbose = args.verbose
    port = server.server_address[1]

    def on_signal(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.port_file:
        tmp = args.port_file + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    if args.watch_pid:
        threading.Thread(target=watch_pid, args=(args.watch_pid, server), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        STOP.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
