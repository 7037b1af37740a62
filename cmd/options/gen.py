#!/usr/bin/env python3
"""Generates everything that lists a tool's options from its table.

cmd/options/TOOL.opts is the one source (format: cmd/options/README). From it:

  gen.py header TOOL.opts OUT.h   the C++ table and --help text (build tree)
  gen.py write [--out DIR]        the OPTIONS section of man/TOOL.1 (between
                                  its marker comments) and the bash, zsh and
                                  fish completions, into DIR (default: the
                                  source tree; `make options`)

tests/options.bats regenerates into a temporary DIR and fails on any
difference, the way curl's test1478 checks its generated option docs.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = ["copilot-login", "copilot-token", "copilot-chat", "copilot-serve", "copilot-usage"]
KINDS = {"file", "file-or-stdin", "host", "profile", "model", "conversation", "text", "words"}
OPERANDS = {"none", "prompt", "poll-file", "command"}
MAN_BEGIN = r'.\" BEGIN OPTIONS: generated from cmd/options/{tool}.opts by cmd/options/gen.py; edit there'
MAN_END = r'.\" END OPTIONS'
WIDTH = 79


class Option:
    def __init__(self, short, name, arg):
        self.short = short      # "v" or None
        self.name = name        # "verbose"
        self.arg = arg          # "FILE|-" or None for a flag
        self.help = None
        self.complete = None    # (kind, [words])
        self.shown = None       # what follows the name in help and man, for a flag
        self.excludes = []
        self.needs = []
        self.man = []

    def names(self):
        n = ("-" + self.short + ", " if self.short else "    ") + "--" + self.name
        tail = self.arg or self.shown
        return n + (" " + tail if tail else "")


class Table:
    def __init__(self, tool):
        self.tool = tool
        self.usage = []
        self.epilog = []
        self.operands = "none"
        self.options = []


def fail(where, msg):
    sys.exit("%s: %s" % (where, msg))


def parse(path):
    tool = os.path.basename(path)[: -len(".opts")]
    t = Table(tool)
    section = None
    opt = None
    in_man = False
    for no, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        where = "%s:%d" % (path, no)
        if line.startswith("%"):
            in_man = False
            word, _, rest = line[1:].partition(" ")
            if word == "option":
                m = re.fullmatch(r"(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: (\S+))?", rest)
                if not m:
                    fail(where, "expected '%option [-X, ]--name [ARG]'")
                opt = Option(*m.groups())
                if any(o.name == opt.name or (opt.short and o.short == opt.short) for o in t.options):
                    fail(where, "--%s given twice" % opt.name)
                t.options.append(opt)
                section = "option"
            elif word in ("usage", "epilog"):
                section, opt = word, None
            elif word == "operands":
                if rest not in OPERANDS:
                    fail(where, "operands: one of " + ", ".join(sorted(OPERANDS)))
                t.operands, section, opt = rest, None, None
            else:
                fail(where, "unknown section %" + word)
            continue
        if section in ("usage", "epilog"):
            getattr(t, section).append(line)
        elif section == "option":
            if in_man:
                opt.man.append(line)
                continue
            if not line.strip() or line.startswith("#"):
                continue
            key, _, val = line.partition(":")
            val = val.strip()
            if key == "help":
                opt.help = val
            elif key == "complete":
                kind, *words = val.split()
                if kind not in KINDS or (kind == "words") != bool(words):
                    fail(where, "complete: one of %s (words W1 W2 ...)" % ", ".join(sorted(KINDS)))
                for w in words:
                    if not re.fullmatch(r"[A-Za-z0-9._:/@+\[\]-]+", w):
                        fail(where, "a completion word must be plain: " + w)
                opt.complete = (kind, words)
            elif key == "shown":
                opt.shown = val
            elif key == "excludes":
                opt.excludes = val.split()
            elif key == "needs":
                opt.needs = val.split()
            elif key == "man":
                in_man = True
            else:
                fail(where, "unknown key " + key)
        elif line.strip() and not line.startswith("#"):
            fail(where, "text outside a section")
    names = {"--" + o.name for o in t.options}
    for o in t.options:
        where = "%s: --%s" % (path, o.name)
        while o.man and not o.man[-1].strip():
            o.man.pop()
        if any(not line.strip() for line in o.man):
            fail(where, "a blank line in man: text (roff prints it)")
        if not o.help:
            fail(where, "no help:")
        if "\\" in o.help or len(o.help) > 100:
            fail(where, "help: one plain line of at most 100 characters")
        if not o.man or not "".join(o.man).strip():
            fail(where, "no man: text")
        if o.arg and not o.complete:
            o.complete = ("text", [])
        if not o.arg and o.complete:
            fail(where, "complete: is for options that take a value")
        for n in o.excludes + o.needs:
            if n not in names:
                fail(where, "unknown option " + n)
    while t.usage and not t.usage[-1].strip():
        t.usage.pop()
    while t.epilog and not t.epilog[-1].strip():
        t.epilog.pop()
    while t.epilog and not t.epilog[0].strip():
        t.epilog.pop(0)
    return t


def load_all():
    return [parse(os.path.join(HERE, tool + ".opts")) for tool in TOOLS]


# --- --help and the C++ header ---------------------------------------------

def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = line + " " + word if line else word
    return lines + [line]


def help_text(t):
    out = list(t.usage) + [""]
    col = min(max(len(o.names()) for o in t.options), 24) + 4
    for o in t.options:
        head = "  " + o.names()
        body = wrap(o.help, WIDTH - col)
        if len(head) + 2 > col:
            out.append(head)
        else:
            out.append(head.ljust(col) + body.pop(0))
        out.extend(" " * col + b for b in body)
    if t.epilog:
        out += [""] + t.epilog
    return "\n".join(out) + "\n"


def c_string(s):
    s = s.replace("\\", "\\\\").replace('"', '\\"')
    parts = s.split("\n")
    return "\n    ".join('"%s\\n"' % p for p in parts[:-1]) + ('\n    "%s"' % parts[-1] if parts[-1] else "")


def header(t, src):
    operands = {"none": "none", "prompt": "words", "poll-file": "words", "command": "command"}
    rows = "\n".join(
        '    {"%s", %s, %s},' % (o.name, "'%s'" % o.short if o.short else "0", "true" if o.arg else "false")
        for o in t.options)
    return (
        "// Generated by cmd/options/gen.py from %s: edit that file.\n"
        "#pragma once\n\n#include \"options.h\"\n\nnamespace {\n\n"
        "constexpr tool::Option kOptionList[] = {\n%s\n};\n\n"
        "constexpr tool::OptionTable kOptions = {\n"
        "    kOptionList, sizeof kOptionList / sizeof kOptionList[0], tool::Operands::%s,\n"
        "    %s};\n\n}  // namespace\n" % (src, rows, operands[t.operands], c_string(help_text(t))))


# --- man page OPTIONS ------------------------------------------------------

def roff_dash(s):
    return s.replace("-", "\\-")


def roff_arg(arg):
    """FILE|- -> \\fIFILE\\fR|\\fB\\-\\fR: metavariables in italics, literals bold."""
    out = []
    for tok in re.findall(r"[A-Z][A-Z_]*|[a-z0-9-]+|.", arg):
        if re.fullmatch(r"[A-Z][A-Z_]*", tok):
            out.append("\\fI%s\\fR" % tok)
        elif re.fullmatch(r"[a-z0-9-]+", tok):
            out.append("\\fB%s\\fR" % roff_dash(tok))
        else:
            out.append(tok)
    return "".join(out)


def man_options(t):
    out = [MAN_BEGIN.format(tool=t.tool)]
    for o in t.options:
        head = ("\\fB\\-%s\\fR, " % o.short if o.short else "") + "\\fB\\-\\-%s\\fR" % roff_dash(o.name)
        tail = o.arg or o.shown
        if tail:
            head += " " + roff_arg(tail)
        out += [".TP", head] + o.man
    out.append(MAN_END)
    return out


def man_page(t, text, path):
    lines = text.split("\n")
    begin = MAN_BEGIN.format(tool=t.tool)
    try:
        b = lines.index(begin)
        e = lines.index(MAN_END, b)
    except ValueError:
        fail(path, "no OPTIONS markers (%s ... %s)" % (begin, MAN_END))
    return "\n".join(lines[:b] + man_options(t) + lines[e + 1:])


# --- completions -----------------------------------------------------------

def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def bash(tables):
    specs = []
    for t in tables:
        items = []
        for o in t.options:
            for n in (["-" + o.short] if o.short else []) + ["--" + o.name]:
                if o.arg:
                    kind, words = o.complete
                    items.append(n + "=" + kind + (":" + ",".join(words) if words else ""))
                else:
                    items.append(n)
        lines, line = [], "        spec=("
        for it in items:
            q = sh_quote(it) if re.search(r"[^A-Za-z0-9=:,._/@+-]", it) else it
            if len(line) + len(q) + 1 > 92:
                lines.append(line)
                line = "              " + q
            else:
                line += ("" if line.endswith("(") else " ") + q
        lines.append(line + ")")
        specs.append("    %s)\n%s\n        operands=%s ;;" % (t.tool, "\n".join(lines), t.operands))
    return BASH_TEMPLATE.replace("@TOOLS@", " ".join(TOOLS)).replace("@SPECS@", "\n".join(specs))


def zsh_help(s):
    return s.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def zsh_action(o):
    kind, words = o.complete
    return {
        "file": "_files", "file-or-stdin": "_copilot_utils_file_or_stdin", "host": "_copilot_utils_hosts",
        "profile": "_copilot_utils_profiles", "model": "_copilot_utils_models",
        "conversation": "_copilot_utils_conversations", "text": " ",
        "words": "(%s)" % " ".join(re.sub(r"([:\[\]])", r"\\\1", w) for w in words),
    }[kind]


def zsh(tables):
    cases = []
    for t in tables:
        specs = []
        for o in t.options:
            excl = o.excludes[:]
            if o.name in ("help", "version"):
                excl = ["-", "*"]
            elif o.short:
                excl = ["-" + o.short, "--" + o.name] + excl
            shorts = {"--" + x.name: "-" + x.short for x in t.options if x.short}
            excl = [y for x in excl for y in ([x, shorts[x]] if x in shorts and x != "--" + o.name else [x])]
            prefix = "(%s)" % " ".join(excl) if excl else ""
            desc = "[%s]" % zsh_help(o.help)
            value = (":%s:%s" % (o.arg.lower().replace(":", "\\:"), zsh_action(o))) if o.arg else ""
            if o.short:
                names = "{-%s%s,--%s%s}" % (o.short, "+" if o.arg else "", o.name, "=" if o.arg else "")
                specs.append(sh_quote(prefix) + names + sh_quote(desc + value))
            else:
                specs.append(sh_quote(prefix + "--" + o.name + ("=" if o.arg else "") + desc + value))
        specs.append({"none": None, "prompt": "'*:prompt: '", "poll-file": "'*:pending login file:_files'",
                      "command": "'*::command:_normal'"}[t.operands])
        body = " \\\n        ".join(s for s in specs if s)
        cases.append("    %s)\n      _arguments -s -S \\\n        %s ;;" % (t.tool, body))
    return ZSH_TEMPLATE.replace("@TOOLS@", " ".join(TOOLS)).replace("@CASES@", "\n".join(cases))


def fish_quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(tables):
    out = []
    for t in tables:
        out.append("\ncomplete -c %s -f" % t.tool)
        for o in t.options:
            parts = ["complete -c", t.tool]
            conds = []
            if o.needs:
                conds.append("__fish_seen_argument " + " ".join("-l " + n[2:] for n in o.needs))
            if o.excludes:
                conds.append("not __fish_seen_argument " + " ".join("-l " + n[2:] for n in o.excludes))
            if conds:
                parts += ["-n", fish_quote("; and ".join(conds))]
            if o.short:
                parts += ["-s", o.short]
            parts += ["-l", o.name]
            if o.arg:
                kind, words = o.complete
                parts += {
                    "file": ["-r", "-F"], "file-or-stdin": ["-r", "-F", "-a", "-"],
                    "host": ["-x", "-a", "'(__copilot_utils_stored host)'"],
                    "profile": ["-x", "-a", "'(__copilot_utils_stored profile)'"],
                    "model": ["-x", "-a", "'(__copilot_utils_models)'"],
                    "conversation": ["-x", "-a", "'(__copilot_utils_conversations)'"], "text": ["-x"],
                    "words": ["-x", "-a", fish_quote(" ".join(words))],
                }[kind]
            parts += ["-d", fish_quote(o.help)]
            out.append(" ".join(parts))
        if t.operands == "command":
            out.append("complete -c %s -n 'contains -- -- (commandline -opc)' -x "
                       "-a '(__copilot_utils_exec_command)'" % t.tool)
        elif t.operands == "poll-file":
            out.append("complete -c %s -n '__fish_seen_argument -l poll' -F" % t.tool)
    return FISH_TEMPLATE.replace("@TOOLS@", ", ".join(TOOLS)) + "\n".join(out) + "\n"


def write_all(out_dir):
    tables = load_all()
    files = {
        "completions/bash/copilot-utils": bash(tables),
        "completions/zsh/_copilot-utils": zsh(tables),
        "completions/fish/copilot-utils.fish": fish(tables),
    }
    for t in tables:
        rel = "man/%s.1" % t.tool
        files[rel] = man_page(t, open(os.path.join(ROOT, rel), encoding="utf-8").read(), rel)
    for rel, text in files.items():
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def main(argv):
    if len(argv) == 4 and argv[1] == "header":
        text = header(parse(argv[2]), os.path.relpath(argv[2], ROOT))
        tmp = argv[3] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, argv[3])
    elif len(argv) in (2, 4) and argv[1] == "write" and (len(argv) == 2 or argv[2] == "--out"):
        write_all(argv[3] if len(argv) == 4 else ROOT)
    elif len(argv) == 3 and argv[1] == "help":
        sys.stdout.write(help_text(parse(argv[2])))
    else:
        sys.exit(__doc__)


BASH_TEMPLATE = r'''# bash completion for @TOOLS@           -*- shell-script -*-
# Generated by cmd/options/gen.py from cmd/options/*.opts: edit those, then
# run `make options`. One file for the four tools (installed under each name).

# The options of a tool: "--name" (a flag) or "--name=KIND" (a value: file,
# file-or-stdin, host, profile, model, conversation, text, words:A,B,...), and what its
# operands are (none, prompt, poll-file, or a command after "--").
_copilot_utils_spec() {
    case $1 in
@SPECS@
    *) return 1 ;;
    esac
}

# Files and the model cache are data, never code: words are only ever
# compared and copied (no compgen -W, which expands $(...) and `...`), and a
# word that is not plain is never offered.
_copilot_utils_plain() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$ ]]; }

# Offers the words that start with $cur, once each: _offer for the table's
# own words, _add for words read from files (only the plain ones).
_copilot_utils_offer() {
    local w
    for w in "$@"; do
        [[ $w == "$cur"* && " ${COMPREPLY[*]} " != *" $w "* ]] && COMPREPLY+=("$w")
    done
}

_copilot_utils_add() {
    local w
    for w in "$@"; do
        _copilot_utils_plain "$w" && _copilot_utils_offer "$w"
    done
}

# Hosts ($1 = host) or profiles ($1 = profile) of the stored logins.
_copilot_utils_stored() {
    local dir="$HOME/.config/copilot-utils/auth" f name
    [[ ${XDG_CONFIG_HOME:-} == /* ]] && dir="$XDG_CONFIG_HOME/copilot-utils/auth"
    for f in "$dir"/*.json; do
        [[ -e $f ]] || continue
        name=${f##*/}
        name=${name%.json}
        if [[ $1 == host ]]; then
            _copilot_utils_add "${name%%@*}"
        elif [[ $name == *@* ]]; then
            _copilot_utils_add "${name#*@}"
        fi
    done
}

# The model ids cached by the last `copilot-chat --list-models` (see
# copilot-chat(1) FILES); the default model without a cache. Never the network.
_copilot_utils_models() {
    local cache="$HOME/.cache/copilot-utils/models.txt" lines
    [[ ${XDG_CACHE_HOME:-} == /* ]] && cache="$XDG_CACHE_HOME/copilot-utils/models.txt"
    if [[ -r $cache ]]; then
        mapfile -t lines <"$cache"
        _copilot_utils_add "${lines[@]}"
    else
        _copilot_utils_offer gpt-4.1
    fi
}

# The ids of the saved conversations: the first field of `copilot-chat
# --history` (it reads the database only, never the network), each one
# checked plain like a word read from a file.
_copilot_utils_conversations() {
    local id rest
    while IFS=$'\t' read -r id rest; do
        _copilot_utils_add "$id"
    done < <(command copilot-chat --history </dev/null 2>/dev/null)
}

_copilot_utils_files() {
    local f
    while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$cur")
    compopt -o filenames 2>/dev/null
}

# Completes the value of an option of kind $1.
_copilot_utils_value() {
    local words
    case $1 in
        file) _copilot_utils_files ;;
        file-or-stdin) _copilot_utils_files; _copilot_utils_offer - ;;
        host) _copilot_utils_offer github.com; _copilot_utils_stored host ;;
        profile) _copilot_utils_stored profile ;;
        model) _copilot_utils_models ;;
        conversation) _copilot_utils_conversations ;;
        words:*) IFS=, read -ra words <<<"${1#words:}"; _copilot_utils_offer "${words[@]}" ;;
    esac
}

_copilot_utils() {
    local cur prev item i spec operands
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    _copilot_utils_spec "${1##*/}" || return 0

    # After "--": the command of copilot-token --exec, or the prompt.
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -- ]] || continue
        if [[ $operands == command ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            else
                while IFS= read -r item; do COMPREPLY+=("$item"); done < <(compgen -c -- "$cur")
            fi
        fi
        return 0
    done

    # --name=VALUE: bash splits the word at "=".
    if [[ $prev == = && COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi
    for item in "${spec[@]}"; do
        if [[ $item == "$prev="* ]]; then
            _copilot_utils_value "${item#*=}"
            return 0
        fi
    done

    if [[ $cur != -* && $operands == poll-file ]]; then
        for ((i = 1; i < COMP_CWORD; i++)); do
            if [[ ${COMP_WORDS[i]} == --poll ]]; then
                _copilot_utils_value file-or-stdin
                return 0
            fi
        done
    fi
    [[ $cur == -* || $operands == none || $operands == command ]] || return 0
    for item in "${spec[@]}"; do
        _copilot_utils_offer "${item%%=*}"
    done
    [[ $operands == none ]] || _copilot_utils_offer --
}

complete -F _copilot_utils @TOOLS@
'''

ZSH_TEMPLATE = r'''#compdef @TOOLS@
# zsh completion for @TOOLS@.
# Generated by cmd/options/gen.py from cmd/options/*.opts: edit those, then
# run `make options`.

# Files and the model cache are data, never code: names are read as lines,
# and only plain ones (letters, digits, ._:/@+-) are offered.
_copilot_utils_plain() {
  local w
  for w in "$@"; do
    [[ $w =~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' ]] && print -r -- "$w"
  done
}

# Hosts ($1 = host) or profiles ($1 = profile) of the stored logins.
_copilot_utils_stored() {
  local dir=$HOME/.config/copilot-utils/auth
  [[ ${XDG_CONFIG_HOME:-} == /* ]] && dir=$XDG_CONFIG_HOME/copilot-utils/auth
  local -a names
  names=( $dir/*.json(N:t:r) )
  if [[ $1 == host ]]; then
    _copilot_utils_plain ${(u)names%%@*}
  else
    _copilot_utils_plain ${(u)${(M)names:#*@*}#*@}
  fi
}

_copilot_utils_hosts() {
  local -a hosts
  hosts=(github.com ${(f)"$(_copilot_utils_stored host)"})
  compadd -a hosts
}

_copilot_utils_profiles() {
  local -a profiles
  profiles=(${(f)"$(_copilot_utils_stored profile)"})
  compadd -a profiles
}

# The model ids cached by the last `copilot-chat --list-models` (see
# copilot-chat(1) FILES); the default model without a cache. Never the network.
_copilot_utils_models() {
  local cache=$HOME/.cache/copilot-utils/models.txt
  [[ ${XDG_CACHE_HOME:-} == /* ]] && cache=$XDG_CACHE_HOME/copilot-utils/models.txt
  local -a models
  if [[ -r $cache ]]; then
    models=(${(f)"$(_copilot_utils_plain ${(f)"$(<$cache)"})"})
  else
    models=(gpt-4.1)
  fi
  compadd -a models
}

# The ids of the saved conversations: the first field of `copilot-chat
# --history` (the database only, never the network), each one checked plain.
_copilot_utils_conversations() {
  local -a lines ids
  lines=(${(f)"$(command copilot-chat --history </dev/null 2>/dev/null)"})
  ids=(${(f)"$(_copilot_utils_plain ${lines%%$'\t'*})"})
  compadd -a ids
}

_copilot_utils_file_or_stdin() {
  compadd - -
  _files
}

_copilot_utils() {
  case $service in
@CASES@
  esac
}

_copilot_utils "$@"
'''

FISH_TEMPLATE = r'''# fish completion for @TOOLS@.
# Generated by cmd/options/gen.py from cmd/options/*.opts: edit those, then
# run `make options`. One file for the four tools (installed under each name).

# Files and the model cache are data, never code: names are read as lines,
# and only plain ones (letters, digits, ._:/@+-) are offered.
function __copilot_utils_plain
    string match -r -- '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' $argv
end

# Hosts ($what = host, with github.com) or profiles of the stored logins.
function __copilot_utils_stored --argument-names what
    set -l dir "$HOME/.config/copilot-utils/auth"
    if string match -q '/*' -- "$XDG_CONFIG_HOME"
        set dir "$XDG_CONFIG_HOME/copilot-utils/auth"
    end
    set -l names
    for f in $dir/*.json
        set -a names (string replace -r '\.json$' '' -- (basename -- $f))
    end
    if test "$what" = host
        __copilot_utils_plain github.com (string replace -r '@.*' '' -- $names) | sort -u
    else
        __copilot_utils_plain (string replace -rf '^[^@]*@' '' -- $names) | sort -u
    end
end

# The model ids cached by the last `copilot-chat --list-models` (see
# copilot-chat(1) FILES); the default model without a cache. Never the network.
function __copilot_utils_models
    set -l cache "$HOME/.cache/copilot-utils/models.txt"
    if string match -q '/*' -- "$XDG_CACHE_HOME"
        set cache "$XDG_CACHE_HOME/copilot-utils/models.txt"
    end
    if test -r $cache
        __copilot_utils_plain (string split -- \n (cat -- $cache))
    else
        echo gpt-4.1
    end
end

# The ids of the saved conversations: the first field of `copilot-chat
# --history` (the database only, never the network), each one checked plain.
function __copilot_utils_conversations
    __copilot_utils_plain (command copilot-chat --history </dev/null 2>/dev/null | string replace -r -- '\t.*' '')
end

# The command line after "--", for copilot-token --exec.
function __copilot_utils_exec_command
    set -l tokens (commandline -opc) (commandline -ct)
    set -l at (contains -i -- -- $tokens)
    and complete -C (string join ' ' -- $tokens[(math $at + 1)..-1])
end
'''

if __name__ == "__main__":
    main(sys.argv)
