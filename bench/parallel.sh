#!/usr/bin/env bash
# Goal 5: 100 concurrent copilot-token on a stale cache: the wall time of the
# whole burst (first start .. last exit) and the number of exchanges the
# server saw, which must be exactly 1 every time. For scale, the same burst
# on a fresh cache (no exchange, no lock) runs in the same rounds.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

export GITHUB_COPILOT_TOKEN=ghu_fake_valid
n=100
rounds_n="$(rounds 10)"
: >"$BENCH_OUT/parallel.jsonl"
for ((i = 0; i < rounds_n; i++)); do
  for kind in stale fresh; do  # alternating
    if [[ $kind == stale ]]; then write_cache 3000; else write_cache 60; fi
    ctl DELETE /_control/log >/dev/null
    burst="$(python3 "$BENCH_DIR/burst.py" "$n" "$BENCH_TMP/burst" copilot-token)"
    exchanges="$(ctl GET '/_control/log?route=copilot_token' | jq .count)"
    echo "$burst" | jq -c --arg kind "$kind" --argjson ex "$exchanges" '. + {kind: $kind, exchanges: $ex}' \
      | tee -a "$BENCH_OUT/parallel.jsonl" >&2
  done
done

read -r stale_ms fresh_ms ex_min ex_max bad < <(jq -rs '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  ([.[] | select(.kind == "stale") | .wall_ms] | median) as $s
  | ([.[] | select(.kind == "fresh") | .wall_ms] | median) as $f
  | [.[] | select(.kind == "stale") | .exchanges] as $ex
  | ([.[] | select(.failed > 0 or .distinct_outputs != 1 or .stderr_bytes > 0
                  or (.kind == "fresh" and .exchanges != 0))] | length) as $bad
  | "\($s) \($f) \($ex | min) \($ex | max) \($bad)"' "$BENCH_OUT/parallel.jsonl")
[[ "$bad" -eq 0 ]] || say "   $bad bursts had a failure, differing tokens or messages on stderr"
result 5 "$n concurrent copilot-token on a stale cache: exchanges per burst ($rounds_n bursts)" \
  "$( [[ $ex_min == "$ex_max" ]] && echo "$ex_min" || echo "$ex_min to $ex_max")" "exactly 1" \
  "$(verdict "$ex_min == 1 && $ex_max == 1 && $bad == 0")"
result 5 "$n concurrent copilot-token on a stale cache: median wall of a burst" \
  "$(fmt "$stale_ms" 0) ms (fresh cache: $(fmt "$fresh_ms" 0) ms)" "reported" -
