#!/usr/bin/env bash
# bench/serve/run.sh — copilot-serve's figures (issue 8): requests per second
# and added latency at 1, 8 and 32 concurrent clients, streamed and not,
# through copilot-serve versus straight to the fake server (the floor), and
# the server's memory under 32 streams. Method and results: README.md here.
#
# Each cell is measured in rounds that alternate the floor and copilot-serve,
# so that a machine whose load drifts (a shared one) biases neither; the
# table shows medians over the rounds, and the added latency and the
# throughput ratio are medians of the per-round (paired) differences.
#
# Environment: BENCH_BIN (the tools; default: the repository's bin/),
# BENCH_OUT (default build/bench/serve), BENCH_QUICK=1 (3 rounds of 1 s
# instead of 5 of 2 s), BENCH_SERVE_CONC (default "1 8 32").
# Prints a Markdown table on stdout (also $BENCH_OUT/table.md); every raw
# figure goes to $BENCH_OUT/results.jsonl.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="$(cd "${BENCH_BIN:-$REPO/bin}" && pwd)"
OUT="${BENCH_OUT:-$REPO/build/bench/serve}"
DURATION=2 ROUNDS=5
[[ -n "${BENCH_QUICK:-}" ]] && DURATION=1 ROUNDS=3
CONC=(${BENCH_SERVE_CONC:-1 8 32})
# BENCH_SERVE_PIN=1 (the default on 2 CPUs or more): the fake server and the
# load run on CPU 0, copilot-serve on CPU 1. The real upstream is a remote
# service whose CPU copilot-serve never takes; on a shared CPU every cycle
# the proxy spends would be taken from the fake upstream and the clients,
# and the ratio would measure that contention instead of what the hop adds.
# BENCH_SERVE_PIN=0 shares every CPU (reported as such).
PIN="${BENCH_SERVE_PIN:-}"
if [[ -z "$PIN" ]]; then
  PIN=0
  [[ "$(nproc)" -ge 2 ]] && command -v taskset >/dev/null && PIN=1
fi
PIN_LOAD=() PIN_SERVE=()
[[ "$PIN" == 1 ]] && PIN_LOAD=(taskset -c 0) PIN_SERVE=(taskset -c 1)

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-serve: $*"; exit 1; }
for cmd in python3 curl; do command -v "$cmd" >/dev/null || die "needs $cmd"; done
[[ -x "$BIN/copilot-serve" ]] || die "no $BIN/copilot-serve: run make"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
: >"$OUT/results.jsonl"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/copilot-bench-serve.XXXXXX")"
FAKE_PID= SERVE_PID=
cleanup() {
  [[ -n "$SERVE_PID" ]] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/.config" XDG_CACHE_HOME="$TMP/home/.cache"
mkdir -p "$HOME"
unset GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_TIMEOUT
export GITHUB_COPILOT_TOKEN=ghu_fake_valid  # valid on the fake server
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
# A copy, so that a rebuild in the tree during the run cannot swap the binary.
cp "$BIN/copilot-serve" "$TMP/copilot-serve"

"${PIN_LOAD[@]}" python3 "$REPO/tests/fake-github/server.py" --port-file "$TMP/port" --watch-pid $$ \
  </dev/null >/dev/null 2>"$TMP/fake.err" &
FAKE_PID=$!
for _ in $(seq 100); do [[ -s "$TMP/port" ]] && break; sleep 0.05; done
[[ -s "$TMP/port" ]] || die "the fake server did not start"
FAKE_URL="http://127.0.0.1:$(cat "$TMP/port")"
export COPILOT_GITHUB_URL="$FAKE_URL" COPILOT_GITHUB_API_URL="$FAKE_URL/api" COPILOT_API_URL="$FAKE_URL"

ctl() {
  curl -sS --fail-with-body --noproxy '*' -m 30 -X "$1" -H 'Content-Type: application/json' \
    --data-binary "${3:-{\}}" "$FAKE_URL$2"
}
TOKEN="$(ctl POST /_control/mint '{"ttl": 7200}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
ctl POST /_control/config '{"token_ttl": 7200}' >/dev/null

serve_start() {
  "${PIN_SERVE[@]}" "$TMP/copilot-serve" --listen 127.0.0.1:0 "$@" </dev/null 2>"$TMP/serve.err" &
  SERVE_PID=$!
  local url=""
  for _ in $(seq 200); do
    url="$(sed -n 's|^copilot-serve: listening on \(http://.*\)$|\1|p' "$TMP/serve.err")"
    [[ -n "$url" ]] && break
    sleep 0.05
  done
  [[ -n "$url" ]] || { cat "$TMP/serve.err" >&2; die "copilot-serve did not start"; }
  SERVE_URL="$url"
}
serve_stop() {
  kill -TERM "$SERVE_PID" && wait "$SERVE_PID" || true
  SERVE_PID=
}

# load LABEL TARGET ROUND URL ARGS...: one measurement, its JSON kept with a label.
load() {
  local label="$1" target="$2" round="$3" url="$4"
  shift 4
  local json cpu0 cpu1
  cpu0="$(serve_cpu_ticks)"
  json="$("${PIN_LOAD[@]}" python3 "$HERE/load.py" "$url" --duration "$DURATION" "$@")"
  cpu1="$(serve_cpu_ticks)"
  say "  $label $target #$round: $json"
  python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d["label"] = sys.argv[2]; d["target"] = sys.argv[3]; d["round"] = int(sys.argv[4])
# copilot-serve CPU time (user + system) during the round, per request it answered
if d["target"] == "serve" and d["ok"]:
    d["serve_cpu_us_per_request"] = round((int(sys.argv[6]) - int(sys.argv[5])) * 1e6 / int(sys.argv[7]) / d["ok"], 1)
print(json.dumps(d))' "$json" "$label" "$target" "$round" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" >>"$OUT/results.jsonl"
}
# utime + stime of copilot-serve, in clock ticks (fields 14 and 15 of stat;
# the command name in field 2 has no spaces).
serve_cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }

pinning="every process shares every CPU"
[[ "$PIN" == 1 ]] && pinning="fake server and load on CPU 0, copilot-serve on CPU 1"
say "bench-serve: fake server $FAKE_URL, $ROUNDS rounds of $DURATION s per cell, $(nproc) CPUs ($pinning), load average $(cut -d' ' -f1-3 /proc/loadavg)"
serve_start
say "bench-serve: copilot-serve $SERVE_URL"
# the log lines go to a file, as they would to a journal
for mode in plain stream; do
  flag=()
  [[ $mode == stream ]] && flag=(--stream)
  for c in "${CONC[@]}"; do
    label="$mode c=$c"
    for ((r = 1; r <= ROUNDS; r++)); do
      load "$label" direct-newconn "$r" "$FAKE_URL/v1/chat/completions" -c "$c" --token "$TOKEN" --new-connection "${flag[@]}"
      load "$label" serve "$r" "$SERVE_URL/v1/chat/completions" -c "$c" "${flag[@]}"
      load "$label" direct "$r" "$FAKE_URL/v1/chat/completions" -c "$c" --token "$TOKEN" "${flag[@]}"
    done
  done
done
serve_stop

# Memory: a fresh server, 32 long streams (about 1 MB each) read at full
# speed, then 32 read slowly (bounded buffering: the upstream is held back).
rss_run() {
  local label="$1"
  shift
  serve_start --quiet
  local idle
  idle="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status")"
  ctl POST /_control/script '{"route": "chat", "responses": [{"stream": {"repeat_chunk": "'"$(printf 'x%.0s' $(seq 100))"'", "count": 6000}, "repeat": -1}]}' >/dev/null
  "${PIN_LOAD[@]}" python3 "$HERE/load.py" "$SERVE_URL/v1/chat/completions" -c 32 --duration 5 --stream "$@" >"$TMP/rss.json" &
  local lp=$! peak=0 v
  while kill -0 "$lp" 2>/dev/null; do
    v="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status" 2>/dev/null || echo 0)"
    [[ "$v" -gt "$peak" ]] && peak="$v"
    sleep 0.05
  done
  wait "$lp"
  local hwm
  hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status")"
  ctl DELETE /_control/script >/dev/null
  serve_stop
  say "  rss $label: idle ${idle} KiB, sampled peak ${peak} KiB, VmHWM ${hwm} KiB; $(cat "$TMP/rss.json")"
  python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d.update(label="rss " + sys.argv[2], target="serve", round=1, rss_idle_kib=int(sys.argv[3]), rss_peak_kib=int(sys.argv[4]), vmhwm_kib=int(sys.argv[5]))
print(json.dumps(d))' "$(cat "$TMP/rss.json")" "$label" "$idle" "$peak" "$hwm" >>"$OUT/results.jsonl"
}
say "bench-serve: memory under 32 streams"
rss_run "32 streams, fast readers"
rss_run "32 streams, slow readers" --read-delay 20

python3 - "$OUT/results.jsonl" <<'EOF' | tee "$OUT/table.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cells = {}
for r in rows:
    cells.setdefault(r["label"], {}).setdefault(r["target"], {})[r["round"]] = r
med = statistics.median
# The floor is a direct request on a kept-alive connection, the best a
# client can do without copilot-serve (which itself keeps its upstream
# connections open). A direct request on a new connection per request is
# shown too.
print("| load | floor rps | serve rps | serve/floor | floor p50 ms | serve p50 ms | added p50 ms | serve CPU µs/request | new-connection direct rps / p50 ms | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, c in cells.items():
    if label.startswith("rss"):
        continue
    f, s, k = c["direct"], c["serve"], c["direct-newconn"]
    rounds = sorted(set(f) & set(s))
    ratio = med([s[i]["rps"] / f[i]["rps"] for i in rounds if f[i]["rps"]])
    added = med([s[i]["p50_ms"] - f[i]["p50_ms"] for i in rounds
                 if s[i]["p50_ms"] is not None and f[i]["p50_ms"] is not None])
    errors = sum(x["errors"] for t in (f, s, k) for x in t.values())
    cpu = [x["serve_cpu_us_per_request"] for x in s.values() if "serve_cpu_us_per_request" in x]
    print("| %s | %.0f | %.0f | %.0f%% | %.2f | %.2f | %+.2f | %s | %.0f / %.2f | %d |" % (
        label, med([x["rps"] for x in f.values()]), med([x["rps"] for x in s.values()]),
        100 * ratio, med([x["p50_ms"] for x in f.values()]), med([x["p50_ms"] for x in s.values()]),
        added, "%.0f" % med(cpu) if cpu else "-",
        med([x["rps"] for x in k.values()]), med([x["p50_ms"] for x in k.values()]), errors))
print()
print("| memory | idle RSS | peak RSS (sampled) | VmHWM | streams done | errors |")
print("|---|---:|---:|---:|---:|---:|")
for label, c in cells.items():
    if not label.startswith("rss"):
        continue
    s = c["serve"][1]
    print("| %s | %.1f MiB | %.1f MiB | %.1f MiB | %d | %d |" % (
        label[4:], s["rss_idle_kib"] / 1024, s["rss_peak_kib"] / 1024, s["vmhwm_kib"] / 1024,
        s["ok"], s["errors"]))
EOF
