#!/usr/bin/env bash
# bench/run.sh — the benchmarks of copilot-utils against what people would
# otherwise use, each measured against its baseline in the same run. See
# bench/README.md for the method. `make bench` runs it.
#
#   bench/run.sh [GOAL...]      GOAL: token exchange chat login parallel proxy proxycost chatcost (default: all)
#
# Environment: BENCH_BIN (the tools; default: the repository's bin/),
# BENCH_OUT (results; default build/bench), BENCH_QUICK=1 (10 rounds each).
# Prints the table of results on stdout (also $BENCH_OUT/table.md); progress
# and every raw figure go to stderr (also $BENCH_OUT/log.txt).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_BIN="$(cd "${BENCH_BIN:-$REPO/bin}" && pwd)"
BENCH_OUT="${BENCH_OUT:-$REPO/build/bench}"
mkdir -p "$BENCH_OUT"
BENCH_OUT="$(cd "$BENCH_OUT" && pwd)"
export BENCH_DIR BENCH_BIN BENCH_OUT BENCH_QUICK="${BENCH_QUICK:-}"
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

all_goals=(token exchange chat login parallel proxy proxycost chatcost)
goals=("$@")
[[ ${#goals[@]} -gt 0 ]] || goals=("${all_goals[@]}")
for g in "${goals[@]}"; do
  [[ " ${all_goals[*]} " == *" $g "* ]] || die "unknown goal '$g' (one of: ${all_goals[*]})"
done

needs=(python3 curl jq /usr/bin/time)
[[ " ${goals[*]} " == *" token "* || " ${goals[*]} " == *" exchange "* ]] && needs+=(gh hyperfine)
[[ " ${goals[*]} " == *" proxy"* || " ${goals[*]} " == *" chatcost "* ]] && needs+=(node)
[[ " ${goals[*]} " == *" proxy"* ]] && needs+=(nginx wrk)
[[ " ${goals[*]} " == *" proxycost "* ]] && needs+=(valgrind)
for cmd in "${needs[@]}"; do
  command -v "$cmd" >/dev/null || die "needs $cmd: run make bench-deps"
done
for t in copilot-token copilot-chat copilot-login; do
  [[ -x "$BENCH_BIN/$t" ]] || die "no $BENCH_BIN/$t: run make"
done

# Everything the tools read or write lives in a scratch directory: no real
# login, cache or proxy can take part.
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/copilot-bench.XXXXXX")"
export BENCH_TMP
FAKE_PID=
cleanup() {
  [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export HOME="$BENCH_TMP/home" XDG_CONFIG_HOME="$BENCH_TMP/home/.config"
export XDG_CACHE_HOME="$BENCH_TMP/home/.cache" XDG_DATA_HOME="$BENCH_TMP/home/.local/share"
export XDG_STATE_HOME="$BENCH_TMP/home/.local/state"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
unset GITHUB_COPILOT_TOKEN GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_MODEL GITHUB_TOKEN GH_TOKEN \
  XDG_RUNTIME_DIR
export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1" NO_COLOR=1
export GH_NO_UPDATE_NOTIFIER=1
# A snapshot of the tools: a rebuild in the tree during the run (other people's
# `make`) must not swap binaries between rounds.
mkdir -p "$BENCH_TMP/bin"
cp "$BENCH_BIN"/copilot-token "$BENCH_BIN"/copilot-chat "$BENCH_BIN"/copilot-login "$BENCH_TMP/bin/"
[[ -x "$BENCH_BIN/copilot-serve" ]] && cp "$BENCH_BIN/copilot-serve" "$BENCH_TMP/bin/"
BUILD_FROM="$BENCH_BIN"
BENCH_BIN="$BENCH_TMP/bin"
export PATH="$BENCH_BIN:$PATH"

python3 "$REPO/tests/fake-github/server.py" --port 0 --port-file "$BENCH_TMP/port" \
  --watch-pid $$ </dev/null >"$BENCH_TMP/fake.out" 2>"$BENCH_TMP/fake.err" &
FAKE_PID=$!
for _ in $(seq 200); do [[ -s "$BENCH_TMP/port" ]] && break; sleep 0.05; done
[[ -s "$BENCH_TMP/port" ]] || die "the fake server did not start: $(cat "$BENCH_TMP/fake.err")"
FAKE_URL="http://127.0.0.1:$(cat "$BENCH_TMP/port")"
export FAKE_URL
export COPILOT_GITHUB_URL="$FAKE_URL" COPILOT_GITHUB_API_URL="$FAKE_URL/api" COPILOT_API_URL="$FAKE_URL"

# The build under test: whether the tools carry the two start-up costs the
# README discusses (a shared libstdc++, cxxopts' std::regex).
build_note() {
  local t="$BENCH_BIN/copilot-token" stdcxx regex
  if ldd "$t" | grep 'libstdc++' >/dev/null; then stdcxx="shared libstdc++"; else stdcxx="static libstdc++"; fi
  if nm -C "$t" 2>/dev/null | grep basic_regex >/dev/null; then regex="cxxopts with std::regex"
  else regex="cxxopts without std::regex"; fi
  echo "$stdcxx, $regex"
}

: >"$BENCH_OUT/results.jsonl"
exec 2> >(tee "$BENCH_OUT/log.txt" >&2)
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "== copilot-utils benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $LOAD_BEFORE"
say "   tools: $BUILD_FROM ($(build_note)); fake server $FAKE_URL"

for g in "${goals[@]}"; do
  say ""
  say "== $g"
  fake_reset
  case "$g" in
    proxy) bash "$BENCH_DIR/serve/proxy.sh" ;;  # issue 14: copilot-serve vs nginx, copilot-api
    proxycost) bash "$BENCH_DIR/serve/cost.sh" ;;  # issue 14: instructions and system calls a request
    *) bash "$BENCH_DIR/$g.sh" ;;
  esac
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

{
  echo "copilot-utils benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')) — load average $LOAD_BEFORE before, $LOAD_AFTER after"
  echo "tools: $(build_note)${BENCH_QUICK:+ — BENCH_QUICK: 10 rounds each}"
  echo
  jq -rs '
    "| # | what | measured | goal | met |",
    "|---|---|---|---|---|",
    (.[] | map_values(if type == "string" then gsub("\\|"; "\\|") else . end) | "| \(.goal) | \(.what) | \(.figure)\(if .note != "" then " (" + .note + ")" else "" end) | \(.target) | \(if .met == "yes" then "met" elif .met == "no" then "**not met**" else "—" end) |")
  ' "$BENCH_OUT/results.jsonl"
} | tee "$BENCH_OUT/table.md"
