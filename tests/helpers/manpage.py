#!/usr/bin/env python3
"""Reads the project's documents for tests/docs.bats and tests/man_examples.bats.

    manpage.py exit-table ERRORS_H          the exit-code table: CODE<TAB>NAME<TAB>MEANING
    manpage.py check-exit ERRORS_H DOC [--all]
                                            check the exit statuses DOC lists (a man page's
                                            EXIT STATUS, or README.md's "Exit status" table)
                                            against the table; --all: DOC must list every code
    manpage.py examples PAGE                the EXAMPLES of PAGE as JSON
    manpage.py test-names PAGE...           the names tests/man_examples.bats gives the examples,
                                            one "@test" line each
    manpage.py example PAGE N DIR           write example N (1-based) of PAGE into DIR:
                                            example.sh, setup.sh, mode ("run", "skip" or
                                            "until-stopped"), reason, title

The rules, which the documents follow:

Exit statuses. A man page lists them in its EXIT STATUS section as `.TP` entries whose tag is
the code (`.B 66`), or as tbl rows (`CODE<TAB>text`); README.md as a Markdown table under a
heading "Exit status" (`| 66 | text |`). Every code listed must be in the table of
lib/util/errors.h, and its text must start with the table's meaning (case aside), followed by
nothing or by ":", ";", ",", "." or " (" and the page's own details.

Examples. In a page's EXAMPLES section, every `.nf` ... `.fi` block is one example: a shell
script, its lines taken as written (roff escapes such as \\- and \\e undone, the common indent
removed). The text before a block is its title. Roff comments between the previous block and
this one say how the test runs it:
    .\\" example: skip REASON         not run (it needs a real account, a browser, a display
                                     or a program the tests do not have): the test is skipped
                                     with REASON
    .\\" example: setup COMMAND       a shell command run before the example (more may follow)
    .\\" example: until-stopped       a server: it must still be running after a few seconds,
                                     then it is stopped with SIGTERM
Any other `.\\" example:` comment is an error, so that a typo cannot skip an example.
"""
import json
import os
import re
import sys

ESCAPES = [
    ("\\(aq", "'"), ("\\(dq", '"'), ("\\(lq", '"'), ("\\(rq", '"'), ("\\(em", "\u2014"),
    ("\\(en", "\u2013"), ("\\(bu", "\u2022"), ("\\(co", "\u00a9"), ("\\&", ""), ("\\ ", " "),
    ("\\-", "-"), ("\\e", "\\"), ("\\~", " "), ("\\|", ""), ("\\^", ""),
]
FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")


def unescape(text):
    text = FONT.sub("", text)
    out, i = [], 0
    while i < len(text):
        for esc, rep in ESCAPES:
            if text.startswith(esc, i):
                out.append(rep)
                i += len(esc)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def macro_args(rest):
    """Splits a macro's arguments as roff does: blanks separate, "..." quotes."""
    args, cur, i, quoted, have = [], [], 0, False, False
    while i < len(rest):
        c = rest[i]
        if c == "\\" and i + 1 < len(rest):
            cur.append(rest[i:i + 2])
            i += 2
            have = True
            continue
        if quoted:
            if c == '"':
                if rest[i + 1:i + 2] == '"':
                    cur.append('"')
                    i += 2
                    continue
                quoted = False
            else:
                cur.append(c)
        elif c == '"' and not cur:
            quoted, have = True, True
        elif c in " \t":
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


def render_line(line):
    """The text a source line contributes, or None for a request without text."""
    if line.startswith('.\\"') or line.startswith("'\\\"") or line == ".":
        return None
    if line.startswith("."):
        name, _, rest = line[1:].partition(" ")
        if name in ("B", "I", "SM", "SB"):
            return unescape(" ".join(macro_args(rest)))
        if name in ("BR", "RB", "IR", "RI", "BI", "IB"):
            return unescape("".join(macro_args(rest)))
        return None
    return unescape(line)


def sections(path):
    """{section name: [source lines]} of a man page."""
    out, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith(".SH"):
                cur = " ".join(macro_args(line[3:].strip()))
                out[cur] = []
            elif cur is not None:
                out[cur].append(line)
    return out


def exit_table(errors_h):
    with open(errors_h, encoding="utf-8") as f:
        text = f.read()
    start = text.index("#define COPILOT_EXIT_CODES(X)")
    end = text.index("\n\n", start)
    rows = re.findall(r'X\((\w+),\s*(\d+),\s*"((?:[^"\\]|\\.)*)"\)', text[start:end])
    if not rows:
        sys.exit("manpage.py: no X(name, code, \"meaning\") rows in " + errors_h)
    return [(int(code), name, meaning) for name, code, meaning in rows]


def man_exit_entries(path):
    """[(code, text)] of a man page's EXIT STATUS."""
    secs = sections(path)
    if "EXIT STATUS" not in secs:
        return None
    entries, lines, i = [], secs["EXIT STATUS"], 0
    cur = None
    in_tbl = False
    while i < len(lines):
        line = lines[i]
        if line.startswith(".TS"):
            in_tbl = True
            i += 1
            while i < len(lines) and not lines[i].rstrip().endswith("."):
                i += 1  # the format lines end with "."
        elif line.startswith(".TE"):
            in_tbl = False
        elif in_tbl:
            code, _, text = line.partition("\t")
            entries.append([code.strip(), unescape(text)])
        elif line.startswith(".TP"):
            i += 1
            tag = render_line(lines[i]) if i < len(lines) else None
            cur = [(tag or "").strip(), ""]
            entries.append(cur)
        elif line.startswith((".PP", ".P", ".LP", ".SS")):
            cur = None
        elif cur is not None:
            text = render_line(line)
            if text is not None:
                cur[1] = (cur[1] + " " + text).strip()
        i += 1
    return [(code, " ".join(text.split())) for code, text in entries]


def readme_exit_entries(path):
    """[(code, text)] of README.md's table under the heading "Exit status"."""
    entries, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                inside = line.lstrip("#").strip().lower().startswith("exit status")
            elif inside and line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 2 and re.fullmatch(r"\d+", cells[0]):
                    entries.append((cells[0], " ".join(cells[1].replace("`", "").split())))
    return entries


def agrees(text, meaning):
    t, m = text.lower(), meaning.lower()
    if not t.startswith(m):
        return False
    rest = t[len(m):]
    return rest == "" or rest[0] in ":;,." or rest.startswith(" (")


def check_exit(errors_h, doc, want_all):
    table = {code: meaning for code, _, meaning in exit_table(errors_h)}
    entries = readme_exit_entries(doc) if doc.endswith(".md") else man_exit_entries(doc)
    name = os.path.basename(doc)
    if not entries:
        print("%s: no exit statuses found (EXIT STATUS section / \"Exit status\" table)" % name)
        return 1
    bad, seen = 0, set()
    for code, text in entries:
        if not re.fullmatch(r"\d+", code):
            print("%s: exit status entry %r is not a number" % (name, code))
            bad += 1
            continue
        c = int(code)
        if c in seen:
            print("%s: exit status %d is listed twice" % (name, c))
            bad += 1
        seen.add(c)
        if c not in table:
            print("%s: exit status %d is not in the table of lib/util/errors.h" % (name, c))
            bad += 1
        elif not agrees(text, table[c]):
            print("%s: exit status %d says %r; the table's meaning is %r" % (name, c, text, table[c]))
            bad += 1
    if want_all:
        for c in sorted(set(table) - seen):
            print("%s: exit status %d (%s) is missing" % (name, c, table[c]))
            bad += 1
    return 1 if bad else 0


def examples(path):
    secs = sections(path)
    lines = secs.get("EXAMPLES", [])
    out, title, marks, block = [], [], [], None
    for line in lines:
        if block is not None:
            if line.startswith(".fi"):
                body = [unescape(l) for l in block]
                indent = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
                mode, reason, setup = "run", "", []
                for kind, arg in marks:
                    if kind == "skip":
                        mode, reason = "skip", arg
                    elif kind == "setup":
                        setup.append(arg)
                    elif kind == "until-stopped":
                        mode = "until-stopped"
                out.append({"n": len(out) + 1, "title": " ".join(" ".join(title).split()).rstrip(":"),
                            "script": "\n".join(l[indent:] for l in body).strip("\n") + "\n",
                            "mode": mode, "reason": reason, "setup": setup})
                title, marks, block = [], [], None
            else:
                block.append(line)
            continue
        m = re.match(r'^\.\\"\s*example:\s*(\S+)\s*(.*)$', line)
        if m:
            kind, arg = m.group(1), m.group(2).strip()
            if kind not in ("skip", "setup", "until-stopped") or (kind != "until-stopped" and not arg):
                sys.exit("%s: bad marker %r (example: skip REASON | setup COMMAND | until-stopped)"
                         % (path, line))
            marks.append((kind, unescape(arg)))
        elif line.startswith(".nf"):
            block = []
        else:
            text = render_line(line)
            if text:
                title.append(text)
    if block is not None:
        sys.exit("%s: EXAMPLES has a .nf without its .fi" % path)
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "exit-table":
        for code, name, meaning in exit_table(argv[1]):
            print("%d\t%s\t%s" % (code, name, meaning))
        return 0
    if len(argv) >= 3 and argv[0] == "check-exit":
        return check_exit(argv[1], argv[2], "--all" in argv[3:])
    if len(argv) == 2 and argv[0] == "examples":
        print(json.dumps(examples(argv[1]), indent=1))
        return 0
    if len(argv) >= 2 and argv[0] == "test-names":
        for page in argv[1:]:
            base = os.path.basename(page)
            name = "%s(%s)" % tuple(base.rsplit(".", 1))
            for ex in examples(page):
                print('@test "%s example %d: %s" { run_example; }' % (name, ex["n"], ex["title"]))
        return 0
    if len(argv) == 4 and argv[0] == "example":
        exs = examples(argv[1])
        n = int(argv[2])
        if not 1 <= n <= len(exs):
            sys.exit("%s has %d examples, not %d" % (argv[1], len(exs), n))
        ex, d = exs[n - 1], argv[3]
        for name, text in (("example.sh", ex["script"]), ("setup.sh", "".join(s + "\n" for s in ex["setup"])),
                           ("mode", ex["mode"] + "\n"), ("reason", ex["reason"] + "\n"),
                           ("title", ex["title"] + "\n")):
            with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
