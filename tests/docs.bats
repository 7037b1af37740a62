#!/usr/bin/env bats
# The documents agree with the code's exit-code table (lib/util/errors.h,
# COPILOT_EXIT_CODES): README.md and every man page list only codes of the
# table, each with the table's meaning first; README.md and copilot-utils(7)
# list all of them. The rules are in tests/helpers/manpage.py. ARCHITECTURE.md
# names every lib module. copilot-serve(1) lists the fields a passthrough
# keeps as lib/serve/wire_route keeps them.

setup() {
  REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
  MANPAGE="$REPO/tests/helpers/manpage.py"
  ERRORS_H="$REPO/lib/util/errors.h"
}

check_exit() {
  run python3 "$MANPAGE" check-exit "$ERRORS_H" "$@"
  if [[ $status -ne 0 ]]; then
    echo "$output"
    return 1
  fi
  [[ -z "$output" ]]
}

@test "the exit-code table in lib/util/errors.h is what the enum is made of" {
  run python3 "$MANPAGE" exit-table "$ERRORS_H"
  [[ $status -eq 0 ]]
  # The codes every tool and document relies on, each with a meaning.
  local code
  for code in 0 1 64 65 66 69 74 75 76 77 130; do
    [[ "$output" =~ (^|$'\n')$code$'\t'[a-z_]+$'\t'[^$'\n']+ ]] || {
      echo "code $code missing from the table: $output"
      return 1
    }
  done
  grep -q 'COPILOT_EXIT_CODES(COPILOT_EXIT_ENUM)' "$ERRORS_H"
}

@test "README.md lists every exit code of the table with its meaning" {
  check_exit "$REPO/README.md" --all
}

@test "copilot-utils(7) lists every exit code of the table with its meaning" {
  check_exit "$REPO/man/copilot-utils.7" --all
}

@test "each tool's man page lists only codes of the table, with its meaning" {
  local page failed=0 n=0
  for page in "$REPO"/man/*.1; do
    n=$((n + 1))
    check_exit "$page" || failed=1
  done
  [[ $n -ge 4 ]]
  [[ $failed -eq 0 ]]
}

@test "the check sees a wrong meaning, an unknown code and a missing code" {
  local page="$BATS_TEST_TMPDIR/bad.1"
  sed 's/^Usage error/Temporary failure/' "$REPO/man/copilot-token.1" >"$page"
  run python3 "$MANPAGE" check-exit "$ERRORS_H" "$page"
  [[ $status -eq 1 && "$output" == *"exit status 64 says"* ]]
  printf '.SH EXIT STATUS\n.TP\n.B 0\nSuccess.\n.TP\n.B 3\nSomething else.\n' >"$page"
  run python3 "$MANPAGE" check-exit "$ERRORS_H" "$page" --all
  [[ $status -eq 1 && "$output" == *"exit status 3 is not in the table"* ]]
  [[ "$output" == *"exit status 130 (interrupted) is missing"* ]]
}

@test "ARCHITECTURE.md names every lib module, and every section the code cites" {
  local missing=() m
  for m in $(cd "$REPO/lib" && ls */*.h | sed 's/\.h$//'); do
    grep -q "\`$m\`\|\`${m%/*}/[a-z_]*\`, \`$m\`" "$REPO/ARCHITECTURE.md" || missing+=("$m")
  done
  [ ${#missing[@]} -eq 0 ] || { echo "not in ARCHITECTURE.md's module map: ${missing[*]}"; return 1; }
  # Comments cite sections by name: ARCHITECTURE.md, "the path of a token".
  local cited
  while IFS= read -r cited; do
    grep -qi "^## $cited\$" "$REPO/ARCHITECTURE.md" || missing+=("$cited")
  done < <(grep -rhoE 'ARCHITECTURE\.md, "[^"]+"' "$REPO/lib" "$REPO/cmd" | sed -E 's/.*"([^"]+)"/\1/' | sort -u)
  [ ${#missing[@]} -eq 0 ] || { echo "cited but not a section of ARCHITECTURE.md: ${missing[*]}"; return 1; }
}

@test "copilot-serve(1) lists the fields a passthrough keeps as serve/wire_route keeps them" {
  # Each list follows a `.\" kept-fields API` line of the page, up to its
  # line with "and"; the code's are kResponsesFields and kMessagesFields.
  run python3 - "$REPO/man/copilot-serve.1" "$REPO/lib/serve/wire_route.cc" <<'PY'
import re, sys
page, code = open(sys.argv[1]).read(), open(sys.argv[2]).read()
bad = []
for api, array in (("responses", "kResponsesFields"), ("messages", "kMessagesFields")):
    m = re.search(r'constexpr const char\* ' + array + r'\[\] = \{(.*?)\};', code, re.S)
    want = re.findall(r'"([a-z_]+)"', m.group(1)) if m else []
    words = []
    for line in page.split('.\\" kept-fields ' + api, 1)[1].split("\n")[1:]:
        words += re.findall(r"[a-z_]+", line.replace(" and ", ", "))
        if " and " in line:  # the list's last line: "..., X and Y" then , or .
            break
    if not want or sorted(want) != sorted(words):
        bad.append("%s: code %s, page %s" % (api, sorted(want), sorted(words)))
sys.exit("\n".join(bad) if bad else 0)
PY
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
}
