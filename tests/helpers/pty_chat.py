#!/usr/bin/env python3
"""Drives an interactive program through a pseudo-terminal (tests/chat_interactive.bats).

usage: pty_chat.py [--stdout FILE] [--cols N] STEPS -- COMMAND [ARGS...]

STEPS is a JSON list run in order:
  {"send": "text"}     write the text to the terminal ("\\u0003" is Ctrl-C, "\\u0004" Ctrl-D)
  {"expect": "regex"}  wait (10 s at most) until the output since the last expect matches
  {"sleep": 0.2}       wait
The child's stdin and stderr are the terminal, and its stdout too unless
--stdout names a file. After the steps the child must end within 10 s. What
the terminal showed goes to stdout; the status is the child's (128+N for a
signal), 99 when an expect timed out (the output so far on stderr).
"""
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import fcntl
import time


def main():
    args = sys.argv[1:]
    stdout_file = None
    cols = 80
    while args and args[0].startswith("--") and args[0] != "--":
        if args[0] == "--stdout":
            stdout_file, args = args[1], args[2:]
        elif args[0] == "--cols":
            cols, args = int(args[1]), args[2:]
        else:
            sys.exit("pty_chat.py: unknown option " + args[0])
    steps = json.loads(args[0])
    assert args[1] == "--"
    command = args[2:]

    pid, fd = pty.fork()
    if pid == 0:
        if stdout_file:
            out = os.open(stdout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, 1)
        os.execvp(command[0], command)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))

    seen = b""
    mark = 0
    done = False

    def pump(timeout):
        nonlocal seen, done
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                done = True
            seen += data

    for step in steps:
        if "send" in step:
            os.write(fd, step["send"].encode())
        elif "sleep" in step:
            end = time.time() + step["sleep"]
            while time.time() < end and not done:
                pump(end - time.time())
        elif "expect" in step:
            pat = re.compile(step["expect"].encode(), re.S)
            end = time.time() + 10
            while True:
                m = pat.search(seen, mark)
                if m:
                    mark = m.end()
                    break
                if done or time.time() > end:
                    sys.stderr.write("pty_chat.py: no %r in:\n%s\n" % (step["expect"], seen.decode(errors="replace")))
                    os.kill(pid, 9)
                    sys.exit(99)
                pump(0.1)
    end = time.time() + 10
    status = None
    while time.time() < end:
        if not done:
            pump(0.1)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
        if done:
            time.sleep(0.05)
    if status is None:
        os.kill(pid, 9)
        sys.stderr.write("pty_chat.py: the program did not end:\n%s\n" % seen.decode(errors="replace"))
        sys.exit(99)
    while not done:
        pump(0.1)
        if not select.select([fd], [], [], 0)[0]:
            break
    sys.stdout.write(seen.decode(errors="replace"))
    sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
