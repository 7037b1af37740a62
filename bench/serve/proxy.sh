#!/usr/bin/env bash
# Goal "proxy" (issue 14): copilot-serve at the cost of nginx. One fast fake
# upstream (upstream.js), four ways to reach it, the same wrk load on each:
#   direct   wrk straight to the upstream
#   nginx    nginx-light proxy_pass, upstream keepalive 64, buffering off
#   serve    copilot-serve (the build under test)
#   capi     copilot-api 0.7.0 (npm), its hosts rewritten to the upstream
# at 8, 64 and 256 connections, plain and streamed, in rounds that rotate the
# order of the four. Then 1,000 concurrent slow streams through a fresh
# copilot-serve. Every process started here runs on 127.0.0.1 and is stopped
# by the EXIT trap; every load is bounded by wrk's -d and timeouts.
# Run by bench/run.sh (which sets BENCH_* and sources lib.sh's helpers).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
HERE="$BENCH_DIR/serve"
for cmd in node nginx wrk; do command -v "$cmd" >/dev/null || die "needs $cmd: run make bench-deps"; done
NGINX="$(command -v nginx)"

T="$BENCH_TMP/proxy"
mkdir -p "$T"
# shellcheck source=bench/serve/common.sh
. "$HERE/common.sh"  # PIDS: every process started here, stopped on exit

DURATION=3 ROUNDS=3
[[ -n "${BENCH_QUICK:-}" ]] && DURATION=2 ROUNDS=1
read -ra CONNS <<<"${BENCH_PROXY_CONNS:-8 64 256}"
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_upstream "$T/up"
MAIN_UP_PID=$UP_PID
UP="http://127.0.0.1:$UP_PORT"

# --- nginx
NGINX_PORT="$(free_port)"
nginx_conf "$T/nginx" "$UP_PORT" "$NGINX_PORT"
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
NGINX_PID=$!
wait_port "$NGINX_PORT" || die "nginx did not start: $(cat "$T/nginx/logs/error.log")"

serve_start "$T/serve"
MAIN_SERVE_PID=$SERVE_PID MAIN_SERVE_URL=$SERVE_URL

# --- copilot-api, if installed (npm ci --prefix bench).
CAPI_URL=""
if [[ -f "$BENCH_DIR/node_modules/copilot-api/dist/main.js" ]]; then
  bash "$HERE/copilot-api.sh" "$UP" "$T/capi"
  CAPI_PORT="$(free_port)"
  HOME="$T/capi/home" NO_PROXY='*' no_proxy='*' node "$T/capi/main.mjs" start --port "$CAPI_PORT" \
    </dev/null >"$T/capi/out" 2>&1 &
  PIDS+=($!)
  CAPI_PID=$!
  for _ in $(seq 300); do grep -q 'Listening on' "$T/capi/out" && break; sleep 0.05; done
  grep -q 'Listening on' "$T/capi/out" || die "copilot-api did not start: $(tail -5 "$T/capi/out")"
  CAPI_URL="http://127.0.0.1:$CAPI_PORT"
else
  say "-- copilot-api is not installed (npm ci --prefix bench): its column stays empty"
fi

declare -A URL=([direct]="$UP" [nginx]="http://127.0.0.1:$NGINX_PORT" [serve]="$MAIN_SERVE_URL")
TARGETS=(direct nginx serve)
[[ -n "$CAPI_URL" ]] && URL[capi]="$CAPI_URL" && TARGETS+=(capi)

# Same answer everywhere before any figure means anything.
for t in "${TARGETS[@]}"; do
  out="$(curl -sS --noproxy '*' -m 10 -H 'Content-Type: application/json' \
    --data-binary '{"model":"gpt-4.1","messages":[{"role":"user","content":"x"}],"stream":true}' "${URL[$t]}/v1/chat/completions")"
  [[ "$out" == *"data: [DONE]"* && "$(grep -c '"word "' <<<"$out")" -eq 6 ]] || die "$t does not relay the stream: ${out:0:200}"
  out="$(curl -sS --noproxy '*' -m 10 -H 'Content-Type: application/json' \
    --data-binary '{"model":"gpt-4.1","messages":[{"role":"user","content":"x"}]}' "${URL[$t]}/v1/chat/completions")"
  [[ "$out" == *'"finish_reason":"stop"'* ]] || die "$t does not relay the completion: ${out:0:200}"
done

# cpu_ticks PID...: utime + stime of the processes (fields 14 and 15 of stat).
cpu_ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$s"; }
pids_of() {  # TARGET: the processes whose CPU counts for it
  case "$1" in
    serve) echo "$MAIN_SERVE_PID" ;;
    nginx) pgrep -P "$NGINX_PID" | tr '\n' ' ' ;;
    capi) echo "$CAPI_PID" ;;
    direct) echo "$MAIN_UP_PID" ;;
  esac
}
TCK="$(getconf CLK_TCK)"

# wrk_run MODE CONNS TARGET ROUND: one load, one JSON line in $T/wrk.jsonl.
wrk_run() {
  local mode="$1" c="$2" t="$3" r="$4" out c0 c1
  local -a pids
  read -ra pids <<<"$(pids_of "$t")"
  c0="$(cpu_ticks "${pids[@]}")"
  out="$(WRK_STREAM=$([[ $mode == stream ]] && echo 1 || echo 0) timeout $((DURATION + 30)) \
    wrk -t2 -c"$c" -d"${DURATION}s" --timeout 10s --latency -s "$HERE/post.lua" "${URL[$t]}/v1/chat/completions" 2>&1)" ||
    die "wrk failed on $t: $out"
  c1="$(cpu_ticks "${pids[@]}")"
  printf '%s\n' "$out" >>"$T/wrk.log"
  WRK_OUT="$out" python3 - "$mode" "$c" "$t" "$r" "$c0" "$c1" "$TCK" <<'EOF' >>"$T/wrk.jsonl"
import json, os, re, sys
mode, c, t, r, c0, c1, tck = sys.argv[1:]
out = os.environ["WRK_OUT"]
def ms(v, unit): return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
m = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
n = int(re.search(r"(\d+) requests in", out).group(1))
bad = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
errs = bad + (sum(int(x) for x in se.groups()) if se else 0)
cpu_us = (int(c1) - int(c0)) * 1e6 / int(tck)
print(json.dumps({"mode": mode, "conns": int(c), "target": t, "round": int(r),
  "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
  "p50_ms": ms(*m.groups()) if m else None, "requests": n, "errors": errs,
  "cpu_us_per_request": round(cpu_us / n, 1) if n else None}))
EOF
  say "  $mode c=$c $t #$r: $(tail -1 "$T/wrk.jsonl")"
}

: >"$T/wrk.jsonl"
say "-- wrk -t2 -d${DURATION}s --latency, $ROUNDS rotated round(s) per cell; targets: ${TARGETS[*]}"
for mode in plain stream; do
  for c in "${CONNS[@]}"; do
    for ((r = 0; r < ROUNDS; r++)); do
      n=${#TARGETS[@]}
      for ((i = 0; i < n; i++)); do wrk_run "$mode" "$c" "${TARGETS[(i + r) % n]}" "$r"; done
    done
  done
done
HWM="$(awk '/^VmHWM/ {print $2}' "/proc/$MAIN_SERVE_PID/status")"
CAPI_HWM=""
[[ -n "$CAPI_URL" ]] && CAPI_HWM="$(awk '/^VmHWM/ {print $2}' "/proc/$CAPI_PID/status")"
cp "$T/wrk.jsonl" "$BENCH_OUT/proxy-wrk.jsonl"
cp "$T/wrk.log" "$BENCH_OUT/proxy-wrk.log"

# --- 1,000 concurrent slow streams: a second upstream spacing 20 events
# 100 ms apart (2 s a stream), a fresh copilot-serve, one client process.
NSLOW="${BENCH_SLOW_STREAMS:-1000}"
start_upstream "$T/slowup" --slow-ms 100 --chunks 20
UP_SAVE="$UP"; UP="http://127.0.0.1:$UP_PORT"
serve_start "$T/serve-slow" --quiet
UP="$UP_SAVE"
say "-- $NSLOW concurrent slow streams (20 events, 100 ms apart) through a fresh copilot-serve"
SLOW_IDLE="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status")"
slow="$(timeout 90 node "$HERE/streams.js" "$SERVE_URL/v1/chat/completions" "$NSLOW" 60)" || die "streams.js failed"
SLOW_HWM="$(awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status")"
say "  slow streams: $slow; copilot-serve idle ${SLOW_IDLE} KiB, VmHWM ${SLOW_HWM} KiB"
echo "$slow" >"$BENCH_OUT/proxy-slow.json"

# --- the rows: medians over rounds; ratios are medians of per-round ratios.
python3 - "$T/wrk.jsonl" "$HWM" "${CAPI_HWM:-0}" "$slow" "$SLOW_HWM" "$NSLOW" <<'EOF' >"$T/rows.tsv"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hwm, capi_hwm, slow, slow_hwm, nslow = int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
med = statistics.median
cell = {}
for r in rows:
    cell.setdefault((r["mode"], r["conns"]), {}).setdefault(r["target"], {})[r["round"]] = r
def out(what, figure, target, met):
    print("\t".join([what, figure, target, met]))
for (mode, c), t in cell.items():
    s, n = t["serve"], t["nginx"]
    rounds = sorted(set(s) & set(n))
    ratio = med([s[i]["rps"] / n[i]["rps"] for i in rounds])
    errs = sum(x["errors"] for tt in t.values() for x in tt.values())
    out(f"{mode}, {c} connections: copilot-serve / nginx requests/s",
        f"{ratio:.2f}× ({med([x['rps'] for x in s.values()]):.0f} vs {med([x['rps'] for x in n.values()]):.0f}; "
        f"direct {med([x['rps'] for x in t['direct'].values()]):.0f}"
        + (f"; copilot-api {med([x['rps'] for x in t['capi'].values()]):.0f}" if "capi" in t else "")
        + f"; {errs} errors)", "≥ 0.9×", "yes" if ratio >= 0.9 else "no")
    if "capi" in t:
        a = t["capi"]
        cr = med([s[i]["rps"] / a[i]["rps"] for i in sorted(set(s) & set(a)) if a[i]["rps"]] or [0])
        out(f"{mode}, {c} connections: copilot-serve / copilot-api requests/s", f"{cr:.1f}×", "≥ 20×",
            "yes" if cr >= 20 else "no")
    cpu = med([x["cpu_us_per_request"] for x in s.values()])
    ncpu = med([x["cpu_us_per_request"] for x in n.values()])
    lim = 50 if mode == "plain" else 80
    out(f"{mode}, {c} connections: copilot-serve CPU per request", f"{cpu:.0f} µs (nginx workers {ncpu:.0f} µs)",
        f"≤ {lim} µs", "yes" if cpu <= lim else "no")
    if c == 8:
        d = t["direct"]
        added = med([s[i]["p50_ms"] - d[i]["p50_ms"] for i in sorted(set(s) & set(d))])
        nadd = med([n[i]["p50_ms"] - d[i]["p50_ms"] for i in sorted(set(n) & set(d))])
        out(f"{mode}, 8 connections: added p50 latency (copilot-serve − direct)",
            f"{added:+.3f} ms (p50 {med([x['p50_ms'] for x in s.values()]):.3f} vs {med([x['p50_ms'] for x in d.values()]):.3f}; nginx {nadd:+.3f})",
            "< 0.5 ms", "yes" if added < 0.5 else "no")
out("peak RSS of copilot-serve over every wrk load", f"{hwm/1024:.1f} MiB"
    + (f" (copilot-api {capi_hwm/1024:.0f} MiB)" if capi_hwm else ""), "reported", "-")
ok = slow["done"] == nslow and slow["errors"] == 0
out(f"{nslow} concurrent slow streams: every stream completed", f"{slow['done']} of {nslow} ({slow['errors']} errors, {slow['seconds']:.1f} s)",
    "all", "yes" if ok else "no")
out(f"{nslow} concurrent slow streams: peak RSS (VmHWM) of copilot-serve", f"{slow_hwm/1024:.1f} MiB", "≤ 64 MiB",
    "yes" if slow_hwm <= 64 * 1024 else "no")
EOF
while IFS=$'\t' read -r what figure target met; do
  result 14 "$what" "$figure" "$target" "$met"
done <"$T/rows.tsv"
