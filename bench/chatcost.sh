#!/usr/bin/env bash
# Goal "chatcost" (issue 14): copilot-chat's stream at the cost of curl. A
# 10 MB answer of 100,000 chunks (~100 bytes each, bench/serve/upstream.js)
# read by copilot-chat > /dev/null, curl -sN, and the curl | sed | jq
# pipeline (bench/baseline/chat-pipeline.sh): CPU (user + sys, children
# included) and peak RSS in rotated rounds (paired.py); then the first-token
# latency of copilot-chat and curl (firsttoken.py: one event, 200 ms, the rest).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
command -v node >/dev/null || die "needs node: run make bench-deps"
T="$BENCH_TMP/chatcost"
mkdir -p "$T"
node "$BENCH_DIR/serve/upstream.js" --port-file "$T/port" --chunks 100000 --watch-pid $$ </dev/null >"$T/up.out" 2>&1 &
UPID=$!
trap 'kill "$UPID" 2>/dev/null; wait "$UPID" 2>/dev/null || true' EXIT
for _ in $(seq 200); do [[ -s "$T/port" ]] && break; sleep 0.05; done
[[ -s "$T/port" ]] || die "upstream.js did not start"
UP="http://127.0.0.1:$(cat "$T/port")"

export COPILOT_API_URL="$UP" COPILOT_TOKEN BENCH_CHAT_TOKEN BENCH_CHAT_URL="$UP/chat/completions"
export BENCH_CHAT_BODY="$T/body.json"
COPILOT_TOKEN="$(mint 7200)"  # a token copilot-chat accepts; the upstream accepts any
BENCH_CHAT_TOKEN="$COPILOT_TOKEN"
printf '%s' '{"model":"gpt-4.1","messages":[{"role":"user","content":"bench"}],"stream":true,"stream_options":{"include_usage":true}}' >"$BENCH_CHAT_BODY"
curl_cmd="$(printf '%q ' curl -sN -H "Authorization: Bearer $COPILOT_TOKEN" -H 'Editor-Version: vscode/1.104.3' \
  -H 'Content-Type: application/json' --data-binary "@$BENCH_CHAT_BODY" "$BENCH_CHAT_URL")"
pipeline="$BENCH_DIR/baseline/chat-pipeline.sh"

# Same answer first: 100,000 deltas of "word ".
copilot-chat --api-url "$UP" bench >"$T/chat.out"
bytes="$(eval "$curl_cmd" | wc -c)"
set +e; "$pipeline" >"$T/pipe.out" 2>/dev/null; pipe_status=$?; set -e
printf '\n' >>"$T/pipe.out"
cmp -s "$T/chat.out" "$T/pipe.out" || die "copilot-chat and the pipeline print different text"
[[ "$(stat -c %s "$T/chat.out")" -eq 500001 ]] || die "the answer is not 100,000 deltas"
say "-- 10 MB answer: $bytes bytes of SSE, 100000 deltas"

# BENCH_CHAT_BEFORE=/path/to/an/older/copilot-chat: that build runs in the same
# rotated rounds too ("before"), so a change is measured against its parent in
# one run; it is logged, not in the table.
before=()
if [[ -n "${BENCH_CHAT_BEFORE:-}" ]]; then
  cp "$BENCH_CHAT_BEFORE" "$T/copilot-chat-before"
  "$T/copilot-chat-before" --api-url "$UP" bench | cmp -s - "$T/chat.out" ||
    die "the copilot-chat of BENCH_CHAT_BEFORE prints a different answer"
  before=("before=$T/copilot-chat-before --api-url $UP bench")
fi
runs="$(rounds 20)"
# "chat" is the default, which saves the exchange (the 500 KB answer) in
# SQLite; "nosave" (--no-save) is the stream alone, what curl does.
nosave="nosave=copilot-chat --api-url $UP --no-save bench"
paired chatcost-time --runs "$runs" --warmup 1 --ok "pipeline=0,$pipe_status" \
  "curl=$curl_cmd" "chat=copilot-chat --api-url $UP bench" "$nosave" "pipeline=$pipeline" "${before[@]}"
paired chatcost-rss --rss --runs "$(rounds 10)" --warmup 1 --ok "pipeline=0,$pipe_status" \
  "curl=$curl_cmd" "chat=copilot-chat --api-url $UP bench" "$nosave" "pipeline=$pipeline"
c_chat="$(get chatcost-time chat median_cpu_ms)" c_curl="$(get chatcost-time curl median_cpu_ms)"
c_pipe="$(get chatcost-time pipeline median_cpu_ms)"
if [[ ${#before[@]} -gt 0 ]]; then
  c_before="$(get chatcost-time before median_cpu_ms)"
  say "  before (BENCH_CHAT_BEFORE): $(fmt "$c_before" 1) ms CPU, $(fmt "$(calc "$c_before / $c_curl")")× curl;" \
    "this build $(fmt "$c_chat" 1) ms, $(fmt "$(calc "$c_chat / $c_curl")")× curl"
fi
r_chat="$(get chatcost-rss chat median_rss_kib)" r_curl="$(get chatcost-rss curl median_rss_kib)"
mb="$(fmt "$(calc "$bytes / 1000000")" 1)"
r="$(calc "$c_chat / $c_curl")"
result 14 "$mb MB / 100k-chunk stream: copilot-chat CPU / curl -sN CPU" \
  "$(fmt "$r")× ($(fmt "$c_chat" 1) vs $(fmt "$c_curl" 1) ms)" "≤ 2×" "$(verdict "$r <= 2")"
r="$(calc "$c_pipe / $c_chat")"
result 14 "$mb MB stream: curl | sed | jq CPU / copilot-chat CPU" \
  "$(fmt "$r" 1)× ($(fmt "$c_pipe" 0) ms for the pipeline)" "≥ 20×" "$(verdict "$r >= 20")"
result 14 "$mb MB stream: peak RSS of copilot-chat" \
  "$(fmt "$(calc "$r_chat / 1024")" 1) MiB (curl $(fmt "$(calc "$r_curl / 1024")" 1) MiB)" "≤ 16 MiB" \
  "$(verdict "$r_chat <= 16384")"
c_nosave="$(get chatcost-time nosave median_cpu_ms)" r_nosave="$(get chatcost-rss nosave median_rss_kib)"
result 14 "$mb MB stream with --no-save (no SQLite write): copilot-chat CPU / curl -sN CPU, peak RSS" \
  "$(fmt "$(calc "$c_nosave / $c_curl")")× ($(fmt "$c_nosave" 1) ms), $(fmt "$(calc "$r_nosave / 1024")" 1) MiB" \
  "reported" "-"

say "-- first token: one event, 200 ms, the rest ($(rounds 20) rotated rounds)"
python3 "$BENCH_DIR/firsttoken.py" --rounds "$(rounds 20)" \
  'chat=copilot-chat --api-url "$BENCH_FT_URL" bench' \
  "curl=curl -sN -H 'Authorization: Bearer \$COPILOT_TOKEN' -H 'Content-Type: application/json' --data-binary @$BENCH_CHAT_BODY \"\$BENCH_FT_URL/chat/completions\"" \
  >"$BENCH_OUT/chatcost-firsttoken.json"
say "  $(jq -c 'map_values(del(.samples))' "$BENCH_OUT/chatcost-firsttoken.json")"
ft="$(jq -r .chat.median_ms "$BENCH_OUT/chatcost-firsttoken.json")"
ftc="$(jq -r .curl.median_ms "$BENCH_OUT/chatcost-firsttoken.json")"
ftmax="$(jq -r .chat.max_ms "$BENCH_OUT/chatcost-firsttoken.json")"
result 14 "first token on copilot-chat's stdout after its arrival (median; event then 200 ms)" \
  "$(fmt "$ft" 3) ms (max $(fmt "$ftmax" 2); curl $(fmt "$ftc" 3) ms)" "≤ 1 ms" "$(verdict "$ft <= 1")"
