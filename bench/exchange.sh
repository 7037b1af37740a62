#!/usr/bin/env bash
# Goal 2: the exchange (copilot-token --refresh against the fake server on
# loopback) against the same exchange as a shell script with curl and jq
# (bench/baseline/exchange-curl-jq.sh). Goal: <= 0.5x its wall time.
# copilot-token does more: it also takes the lock and writes the cache
# atomically with fsync; the script's `-o file` does not sync.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

export GITHUB_COPILOT_TOKEN=ghu_fake_valid
script="$BENCH_DIR/baseline/exchange-curl-jq.sh"
tok="$(copilot-token --refresh)"
base="$("$script")"
[[ "$tok" == tid=* && "$base" == tid=* && "$tok" != "$base" ]] || die "the two exchanges do not both print a new token"

runs="$(rounds 40)"
before="$(ctl GET '/_control/log?route=copilot_token' | jq .count)"
say "-- wall and CPU time, $runs rotated rounds"
paired exchange-time --runs "$runs" --warmup 3 "token=copilot-token --refresh" "curl_jq=$script"
after="$(ctl GET '/_control/log?route=copilot_token' | jq .count)"
# Each round must have been one real exchange per command.
[[ $((after - before)) -eq $((2 * (runs + 3))) ]] || die "expected $((2 * (runs + 3))) exchanges, the server saw $((after - before))"

say "-- hyperfine (not interleaved; shown for reference)"
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$BENCH_OUT/exchange-hyperfine.json" \
  "copilot-token --refresh" "$script" >&2 || say "hyperfine failed (ignored)"

tok_ms="$(get exchange-time token median_wall_ms)"
base_ms="$(get exchange-time curl_jq median_wall_ms)"
r="$(calc "$tok_ms / $base_ms")"
result 2 "exchange: copilot-token --refresh vs curl + jq script, median wall" \
  "$(fmt "$r")× ($(fmt "$tok_ms" 1) vs $(fmt "$base_ms" 1) ms)" "≤ 0.5×" "$(verdict "$r <= 0.5")"
