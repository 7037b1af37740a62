#!/usr/bin/env bash
# Goal 1: copilot-token on a fresh cache (the hot path of every script and CI
# step) against `cat` of the same file (the floor: one process reading a small
# file) and `gh auth token` with GH_TOKEN set (what people use to print a token).
# Goals: median wall <= 1.5x cat, >= 30x faster than gh, peak RSS <= 2x cat's.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

write_cache 60
cache="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
# gh prints GH_TOKEN back: the same work, print a token that is at hand.
GH_TOKEN="gho_bench$(printf '%032d' 0)"
export GH_TOKEN

# The three must agree on what they print before their times mean anything.
[[ "$(copilot-token)" == "$(jq -r .token "$cache")" ]] || die "copilot-token does not print the cached token"
[[ "$(gh auth token)" == "$GH_TOKEN" ]] || die "gh auth token does not print GH_TOKEN"
[[ ! -e "$cache.lock" ]] || die "the fresh-cache path took the lock"
[[ "$(ctl GET '/_control/log?route=copilot_token' | jq .count)" == 0 ]] || die "the fresh path made a request"

runs="$(rounds 60)"
say "-- wall and CPU time, $runs rotated rounds"
paired token-time --runs "$runs" --warmup 3 \
  "cat=cat $cache" "token=copilot-token" "gh=gh auth token"
say "-- peak RSS (/usr/bin/time -f %M), $(rounds 20) rotated rounds"
paired token-rss --rss --runs "$(rounds 20)" --warmup 1 \
  "cat=cat $cache" "token=copilot-token" "gh=gh auth token"

# hyperfine, for a second opinion (its runs are not interleaved).
say "-- hyperfine (not interleaved; shown for reference)"
hyperfine -N --style basic --warmup 5 --runs "$runs" --export-json "$BENCH_OUT/token-hyperfine.json" \
  "cat $cache" "copilot-token" >&2 || say "hyperfine failed (ignored)"

cat_ms="$(get token-time cat median_wall_ms)"
tok_ms="$(get token-time token median_wall_ms)"
gh_ms="$(get token-time gh median_wall_ms)"
cat_kib="$(get token-rss cat median_rss_kib)"
tok_kib="$(get token-rss token median_rss_kib)"

r="$(calc "$tok_ms / $cat_ms")"
result 1 "fresh-cache copilot-token vs cat, median wall" "$(fmt "$r")× ($(fmt "$tok_ms" 2) vs $(fmt "$cat_ms" 2) ms)" \
  "≤ 1.5×" "$(verdict "$r <= 1.5")"
r="$(calc "$gh_ms / $tok_ms")"
result 1 "fresh-cache copilot-token vs gh auth token, median wall" "$(fmt "$r" 1)× faster ($(fmt "$gh_ms" 1) ms for gh)" \
  "≥ 30×" "$(verdict "$r >= 30")"
r="$(calc "$tok_kib / $cat_kib")"
result 1 "fresh-cache copilot-token vs cat, peak RSS" "$(fmt "$r")× ($(fmt "$tok_kib" 0) vs $(fmt "$cat_kib" 0) KiB)" \
  "≤ 2×" "$(verdict "$r <= 2")"
