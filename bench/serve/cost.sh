#!/usr/bin/env bash
# Goal "proxycost" (issue 14): what one relayed request costs copilot-serve
# and nginx, in figures a busy shared machine does not move:
#   * user-space instructions per request, in all and by shared object
#     (callgrind), and the calls to the allocator: nginx runs as one process
#     (no master, one worker) so that callgrind can follow it;
#   * system calls per request (perf stat on the syscalls tracepoints), when
#     perf can read them here (the kernel's perf_event_paranoid, root).
# One fake upstream (upstream.js), wrk at 8 connections, plain and streamed;
# counters zeroed after a warm-up. Run by bench/run.sh (BENCH_*, lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
HERE="$BENCH_DIR/serve"
for cmd in node nginx wrk valgrind callgrind_control; do
  command -v "$cmd" >/dev/null || die "needs $cmd: run make bench-deps"
done
NGINX="$(command -v nginx)"
T="$BENCH_TMP/cost"
mkdir -p "$T"
# shellcheck source=bench/serve/common.sh
. "$HERE/common.sh"  # PIDS: every process started here, stopped on exit
LOAD_S=5
[[ -n "${BENCH_QUICK:-}" ]] && LOAD_S=3

start_upstream "$T/up"
UP="http://127.0.0.1:$UP_PORT"

# wrk_count URL MODE SECONDS CONNS: the requests wrk completed.
wrk_count() {
  local out
  out="$(WRK_STREAM=$([[ $2 == stream ]] && echo 1 || echo 0) timeout $(($3 + 30)) \
    wrk -t2 -c"$4" -d"$3s" --timeout 10s -s "$HERE/post.lua" "$1/v1/chat/completions" 2>&1)" ||
    die "wrk failed on $1: $out"
  printf '%s\n' "$out" >>"$T/wrk.log"
  grep -q 'Non-2xx' <<<"$out" && die "wrk saw errors on $1: $out"
  sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out"
}

# callgrind_cost WHO MODE URL PID OUT: after a warm-up, zero PID's counters,
# load it for LOAD_S, dump them; prints callgrind_cost.py's JSON.
callgrind_cost() {
  local who="$1" mode="$2" url="$3" pid="$4" out="$5" n
  wrk_count "$url" "$mode" 2 8 >/dev/null
  sleep 0.3
  callgrind_control -z "$pid" >/dev/null 2>&1
  n="$(wrk_count "$url" "$mode" "$LOAD_S" 8)"
  sleep 0.5  # the requests wrk left at its end are over
  callgrind_control --dump="$who-$mode" "$pid" >/dev/null 2>&1
  local f
  for _ in $(seq 100); do
    f="$(ls -t "$out".* 2>/dev/null | head -1 || true)"
    [[ -n "$f" ]] && grep -q '^totals:\|^summary:' "$f" 2>/dev/null && break
    sleep 0.1
  done
  [[ -n "$f" ]] || die "no callgrind dump for $who"
  python3 "$HERE/callgrind_cost.py" "$f" "$n"
  rm -f "$f"
}

CG=(valgrind --tool=callgrind)
: >"$T/cost.jsonl"

# --- copilot-serve under callgrind
BENCH_SERVE_WRAP="${CG[*]} --log-file=$T/serve-vg.log --callgrind-out-file=$T/serve.cg" \
  serve_start "$T/serve" --quiet
for mode in plain stream; do
  j="$(callgrind_cost serve "$mode" "$SERVE_URL" "$SERVE_PID" "$T/serve.cg")"
  say "  serve $mode: $j"
  echo "{\"who\":\"serve\",\"mode\":\"$mode\",\"cost\":$j}" >>"$T/cost.jsonl"
done
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true

# --- nginx under callgrind: one process
NGINX_PORT="$(free_port)"
nginx_conf "$T/nginx" "$UP_PORT" "$NGINX_PORT" single
"${CG[@]}" --log-file="$T/nginx-vg.log" --callgrind-out-file="$T/nginx.cg" \
  "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" </dev/null >/dev/null 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
for _ in $(seq 600); do curl -s -o /dev/null --noproxy '*' -m 1 "http://127.0.0.1:$NGINX_PORT/" && break; sleep 0.05; done
for mode in plain stream; do
  j="$(callgrind_cost nginx "$mode" "http://127.0.0.1:$NGINX_PORT" "$NGINX_PID" "$T/nginx.cg")"
  say "  nginx $mode: $j"
  echo "{\"who\":\"nginx\",\"mode\":\"$mode\",\"cost\":$j}" >>"$T/cost.jsonl"
done
kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true

# --- system calls per request, natively, if perf may count them here
if command -v perf >/dev/null && perf stat -e 'syscalls:sys_enter_write' -o /dev/null -- true 2>/dev/null; then
  serve_start "$T/serve-native" --quiet
  port2="$(free_port)"
  nginx_conf "$T/nginx2" "$UP_PORT" "$port2" single
  "$NGINX" -p "$T/nginx2" -c "$T/nginx2/nginx.conf" -e "$T/nginx2/logs/error.log" </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
  N2=$!
  wait_port "$port2" || die "nginx did not start"
  for mode in plain stream; do
    for who in serve nginx; do
      if [[ $who == serve ]]; then url="$SERVE_URL" pid="$SERVE_PID"; else url="http://127.0.0.1:$port2" pid="$N2"; fi
      wrk_count "$url" "$mode" 1 8 >/dev/null
      perf stat -e 'syscalls:sys_enter_*' -x, -o "$T/perf-$who-$mode.csv" -p "$pid" -- sleep 4 &
      ps=$!
      sleep 0.3
      n="$(wrk_count "$url" "$mode" 3 8)"
      wait "$ps" || true
      calls="$(awk -F, '$1 ~ /^[0-9]+$/ {s += $1} END {print s + 0}' "$T/perf-$who-$mode.csv")"
      say "  $who $mode: $calls system calls, $n requests"
      echo "{\"who\":\"$who\",\"mode\":\"$mode\",\"syscalls\":$calls,\"requests\":$n}" >>"$T/cost.jsonl"
    done
  done
else
  say "-- perf cannot count system calls here: no system-call rows"
fi
cp "$T/cost.jsonl" "$BENCH_OUT/proxycost.jsonl"

python3 - "$T/cost.jsonl" <<'PY' >"$T/rows.tsv"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cost = {(r["who"], r["mode"]): r["cost"] for r in rows if "cost" in r}
sysc = {(r["who"], r["mode"]): r["syscalls"] / r["requests"] for r in rows if "syscalls" in r}
alloc = lambda c: c["calls"]["malloc"] + c["calls"]["calloc"] + c["calls"]["realloc"]
for mode in ("plain", "stream"):
    s, n = cost[("serve", mode)], cost[("nginx", mode)]
    objs = ", ".join(f"{o} {v / 1000:.0f}k" for o, v in list(s["by_object"].items())[:5])
    print("\t".join([f"{mode}, 8 connections: user-space instructions per request, copilot-serve / nginx",
                     f"{s['instructions'] / n['instructions']:.1f}× ({s['instructions'] / 1000:.0f}k vs {n['instructions'] / 1000:.0f}k; copilot-serve's by object: {objs})",
                     "reported", "-"]))
    print("\t".join([f"{mode}, 8 connections: allocations per request (malloc, calloc, realloc; operator new is malloc's caller)",
                     f"copilot-serve {alloc(s):.0f} (operator new {s['calls']['operator new(unsigned long)']:.0f} of them), nginx {alloc(n):.0f}",
                     "reported", "-"]))
    if ("serve", mode) in sysc:
        print("\t".join([f"{mode}, 8 connections: system calls per request, copilot-serve / nginx",
                         f"{sysc[('serve', mode)]:.1f} vs {sysc[('nginx', mode)]:.1f}", "reported", "-"]))
PY
while IFS=$'\t' read -r what figure target met; do
  result 14 "$what" "$figure" "$target" "$met"
done <"$T/rows.tsv"
