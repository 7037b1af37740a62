# bench/lib.sh — helpers shared by the benchmark scripts (sourced, not run).
#
# bench/run.sh sets the environment every script relies on:
#   BENCH_DIR   this directory          BENCH_BIN  the tools under test
#   BENCH_OUT   where results go        BENCH_TMP  scratch, HOME and XDG_* live here
#   FAKE_URL    the fake server         BENCH_QUICK=1  every loop at its minimum (10 rounds)

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# rounds DEFAULT: the number of paired rounds, 10 with BENCH_QUICK=1 (the
# issue's minimum), else DEFAULT.
rounds() { if [[ -n "${BENCH_QUICK:-}" ]]; then echo 10; else echo "$1"; fi; }

# ctl METHOD PATH [JSON]: a call to the fake server's control API.
ctl() {
  local args=(-sS --fail-with-body --noproxy '*' -m 30 -X "$1")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$FAKE_URL$2" || die "control call $1 $2 failed"
}

fake_reset() { ctl POST /_control/reset '{}' >/dev/null; }

# mint TTL: a Copilot token issued by the fake server without any tool.
mint() { ctl POST /_control/mint "{\"ttl\": ${1:-3600}}" | jq -r .token; }

# write_cache AGE: the token cache of the tools, holding a freshly minted
# token fetched AGE seconds ago (1500 s refresh_in: fresh below 1440).
write_cache() {
  local age="$1" dir="$XDG_CACHE_HOME/copilot-utils/token"
  mkdir -p "$dir" && chmod 700 "$XDG_CACHE_HOME/copilot-utils" "$dir"
  ctl POST /_control/mint '{"ttl": 3600}' | jq -c --argjson age "$age" \
    '{host: "github.com", token, expires_at, refresh_in: 1500, fetched_at: (now - $age | floor),
      api_url: "https://api.individual.githubcopilot.com", sku}' >"$dir/github.com.json"
  chmod 600 "$dir/github.com.json"
  rm -f "$dir/github.com.json.lock"
}

# paired NAME ARGS...: bench/paired.py with its JSON kept as $BENCH_OUT/NAME.json.
paired() {
  local name="$1"
  shift
  python3 "$BENCH_DIR/paired.py" --json "$BENCH_OUT/$name.json" "$@" >&2 || die "$name: a command failed"
}

# get NAME COMMAND FIELD: a number from a paired.py result.
get() { jq -r --arg c "$2" ".commands[\$c].$3" "$BENCH_OUT/$1.json"; }

# calc EXPR: floating point arithmetic (awk), e.g. calc '1.5 / 3'.
calc() { awk "BEGIN { print $1 }"; }
# fmt X DIGITS: X rounded.
fmt() { awk -v x="$1" -v d="${2:-2}" 'BEGIN { printf "%.*f", d, x }'; }
# holds EXPR: exit 0 if the awk condition is true.
holds() { awk "BEGIN { exit !($1) }"; }

# result GOAL WHAT FIGURE TARGET MET [NOTE]: one row of the final table;
# MET is yes, no, or - for a figure shown for reference only.
result() {
  jq -nc --arg goal "$1" --arg what "$2" --arg figure "$3" --arg target "$4" \
    --arg met "$5" --arg note "${6:-}" \
    '{goal: $goal, what: $what, figure: $figure, target: $target, met: $met, note: $note}' \
    >>"$BENCH_OUT/results.jsonl"
  local v
  case "$5" in yes) v=met ;; no) v="NOT MET" ;; *) v="for reference" ;; esac
  say "  => goal $1, $2: $3 (target $4): $v"
}

# verdict EXPR: "yes" if the awk condition holds, else "no".
verdict() { if holds "$1"; then echo yes; else echo no; fi; }
