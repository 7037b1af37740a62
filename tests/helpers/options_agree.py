#!/usr/bin/env python3
"""Checks that a tool's --help, its man page's OPTIONS and its bash, zsh and
fish completions list the same options: names, short forms, whether and
which argument, and (help, zsh, fish) the same one-line description.

Each is read the way its reader sees it (the binary's output, the roff
source, the shells' own view of the completions), never from the option
table, so this fails when any of them drifts from the others.

usage: options_agree.py TOOL BINDIR REPO
"""
import re
import shlex
import subprocess
import sys


def from_help(text):
    opts, last, col = {}, None, None
    head = re.compile(r"^  (?:-([A-Za-z]), |    )--([a-z][a-z0-9-]*)(?: ([^ ].*?))?(?:  +(\S.*))?$")
    in_options = False
    for line in text.split("\n"):
        m = head.match(line)
        if m:
            in_options = True
            short, name, arg, desc = m.groups()
            last = opts[name] = {"short": short, "arg": arg, "desc": desc or ""}
            if desc:
                col = line.index(desc)
            continue
        if in_options and last is not None and line.startswith(" " * 8) and line.strip():
            last["desc"] = (last["desc"] + " " + line.strip()).strip()
            continue
        if in_options and not line.strip():
            last = None
    return opts


def roff_plain(s):
    s = re.sub(r"\\f[BIRP]", "", s)
    return s.replace("\\-", "-").replace('"', "")


def from_man(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    b = lines.index(".SH OPTIONS")
    e = next(i for i in range(b + 1, len(lines)) if lines[i].startswith(".SH "))
    opts = {}
    for i in range(b, e):
        if lines[i] == ".TP":
            head = roff_plain(lines[i + 1])
            m = re.match(r"^(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: (.+))?$", head)
            if not m:
                sys.exit("%s: cannot read the option header %r" % (path, lines[i + 1]))
            opts[m.group(2)] = {"short": m.group(1), "arg": m.group(3)}
    return opts


def from_bash(tool, path):
    out = subprocess.run(["bash", "-c", 'source "$1"; _copilot_utils_spec "$2" && printf "%s\\n" "${spec[@]}"',
                          "bash", path, tool], capture_output=True, text=True, check=True).stdout
    opts, shorts = {}, {}
    for item in out.split():
        name, eq, _ = item.partition("=")
        if name.startswith("--"):
            opts[name[2:]] = {"takes": bool(eq)}
        else:
            shorts[name[1:]] = bool(eq)
    return opts, shorts


def from_fish(tool, path):
    """What fish itself says is registered (`complete -c TOOL`), not the file."""
    out = subprocess.run(["fish", "--no-config", "-c", 'source $argv[1]; complete -c $argv[2]', path, tool],
                         capture_output=True, text=True, check=True).stdout
    opts, shorts = {}, {}
    for line in out.split("\n"):
        words = shlex.split(line)
        flags = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-l", "-s", "-d")}
        takes = any(w in ("--exclusive", "--force-files", "-x", "-r", "--require-parameter") for w in words)
        entry = {"desc": flags.get("-d", ""), "takes": takes, "short": None}
        if "-l" in flags:
            opts[flags["-l"]] = entry
        elif "-s" in flags:
            shorts[flags["-s"]] = entry
    # fish lists -s and -l apart: a short form is the one with the same description.
    for s, e in shorts.items():
        for o in opts.values():
            if o["desc"] == e["desc"] and o["takes"] == e["takes"]:
                o["short"] = s
    return opts


def from_zsh(tool, path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^    %s\)\n(.*?) ;;$" % re.escape(tool), text, re.S | re.M)
    if not m:
        sys.exit("%s: no case for %s" % (path, tool))
    opts = {}
    for line in m.group(1).split("\n"):
        line = line.strip().rstrip("\\").strip()
        # One spec is one shell word (quotes and {-x,--xx} braces).
        words = "".join(shlex.split(line))
        n = re.search(r"--([a-z][a-z0-9-]*)(=?)(?:,|\[|\})", words)
        if not n:
            continue
        short = re.search(r"\{-([A-Za-z])\+?,", words)
        d = re.search(r"\[((?:[^\]\\]|\\.)*)\]", words[n.end() - 1:])
        desc = re.sub(r"\\(.)", r"\1", d.group(1)) if d else ""
        takes = bool(n.group(2)) or bool(short and "+" in words.split(",")[0])
        opts[n.group(1)] = {"short": short.group(1) if short else None, "desc": desc, "takes": takes}
    return opts


def main():
    tool, bindir, repo = sys.argv[1:4]
    helptext = subprocess.run([bindir + "/" + tool, "--help"], capture_output=True, text=True, check=True).stdout
    h = from_help(helptext)
    man = from_man("%s/man/%s.1" % (repo, tool))
    bash, bash_shorts = from_bash(tool, repo + "/completions/bash/copilot-utils")
    fish = from_fish(tool, repo + "/completions/fish/copilot-utils.fish")
    zsh = from_zsh(tool, repo + "/completions/zsh/_copilot-utils")
    errors = []
    if len(h) < 4:
        errors.append("--help lists only %d options" % len(h))
    for what, other in (("man page", man), ("bash", bash), ("fish", fish), ("zsh", zsh)):
        if set(other) != set(h):
            errors.append("%s: options differ from --help: only in --help %s, only in %s %s" % (
                what, sorted(set(h) - set(other)), what, sorted(set(other) - set(h))))
    for name, o in h.items():
        takes = o["arg"] is not None and not o["arg"].startswith(("[", "--"))
        if name in man and man[name] != {"short": o["short"], "arg": o["arg"]}:
            errors.append("--%s: --help says %s, the man page %s" % (name, o, man[name]))
        for what, other in (("bash", bash), ("fish", fish), ("zsh", zsh)):
            if name in other and other[name]["takes"] != takes:
                errors.append("--%s: %s %s a value" % (name, what, "takes" if other[name]["takes"] else "takes no"))
        for what, other in (("fish", fish), ("zsh", zsh)):
            if name in other and other[name]["short"] != o["short"]:
                errors.append("--%s: short form -%s in --help, %s in %s" % (name, o["short"], other[name]["short"], what))
            if name in other and other[name]["desc"] != o["desc"]:
                errors.append("--%s: --help says %r, %s %r" % (name, o["desc"], what, other[name]["desc"]))
        if o["short"] and bash_shorts.get(o["short"]) != takes:
            errors.append("-%s: bash does not complete it as --%s" % (o["short"], name))
    for e in errors:
        print("%s: %s" % (tool, e))
    print("%s: %d options compared across --help, man, bash, zsh, fish" % (tool, len(h)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
