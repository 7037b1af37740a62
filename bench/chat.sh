#!/usr/bin/env bash
# Goal 3: streaming chat. The fake server sends a long SSE answer; compared:
#   chat      copilot-chat > /dev/null
#   curl      curl -sN of the same URL, headers and body (the transport floor)
#   pipeline  curl -sN … | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty'
#             (bench/baseline/chat-pipeline.sh)
# Goals, for the 50 MB answer: CPU time <= 2x curl's, >= 20x less than the
# pipeline's; peak RSS <= 16 MiB, and the same for 5 MB and 50 MB answers.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# Deltas of 5 bytes, as a model streams them: ~151 bytes an event, so
# 340,000 events make 50 MB (the issue's "~500k chunks" assumed ~100-byte
# events; Copilot's envelope alone is ~145 bytes).
delta="word "
declare -A events=([5MB]=34000 [50MB]=340000)

export COPILOT_TOKEN BENCH_CHAT_TOKEN BENCH_CHAT_URL="$FAKE_URL/chat/completions"
export BENCH_CHAT_BODY="$BENCH_TMP/chat-body.json"
COPILOT_TOKEN="$(mint 7200)"
BENCH_CHAT_TOKEN="$COPILOT_TOKEN"
# What copilot-chat sends for `copilot-chat bench` (checked below against the request log).
printf '%s' '{"model":"gpt-4.1","messages":[{"role":"user","content":"bench"}],"stream":true,"stream_options":{"include_usage":true}}' \
  >"$BENCH_CHAT_BODY"
curl_cmd="$(printf '%q ' curl -sN -H "Authorization: Bearer $COPILOT_TOKEN" -H 'Editor-Version: vscode/1.104.3' \
  -H 'Content-Type: application/json' --data-binary "@$BENCH_CHAT_BODY" "$BENCH_CHAT_URL")"
pipeline="$BENCH_DIR/baseline/chat-pipeline.sh"

declare -A cpu_chat cpu_curl cpu_pipe rss_chat
for size in 5MB 50MB; do
  n="${events[$size]}"
  ctl DELETE /_control/script >/dev/null
  ctl POST /_control/script "{\"route\": \"chat\", \"responses\": [{\"stream\": {\"repeat_chunk\": \"$delta\", \"count\": $n}, \"repeat\": -1}]}" >/dev/null

  # The three must deliver the same answer before their costs mean anything.
  copilot-chat bench >"$BENCH_TMP/chat.out"
  [[ "$(ctl GET '/_control/log?route=chat' | jq -r '.requests[-1].body')" == "$(cat "$BENCH_CHAT_BODY")" ]] ||
    die "the curl baselines would not send copilot-chat's request body"
  bytes="$(eval "$curl_cmd" | wc -c)"
  set +e
  "$pipeline" >"$BENCH_TMP/pipe.out" 2>"$BENCH_TMP/pipe.err"
  pipe_status=$?
  set -e
  printf '\n' >>"$BENCH_TMP/pipe.out"  # copilot-chat ends the answer with a newline
  cmp -s "$BENCH_TMP/chat.out" "$BENCH_TMP/pipe.out" || die "copilot-chat and the pipeline print different text"
  [[ "$(stat -c %s "$BENCH_TMP/chat.out")" -eq $((n * ${#delta} + 1)) ]] || die "the answer is not $n deltas"
  say "-- $size answer: $bytes bytes of SSE, $n deltas; the pipeline exits $pipe_status ($(head -c 80 "$BENCH_TMP/pipe.err"))"

  if [[ $size == 50MB ]]; then runs="$(rounds 10)"; else runs="$(rounds 20)"; fi
  say "-- wall and CPU time, $runs rotated rounds"
  paired "chat-$size-time" --runs "$runs" --warmup 1 --ok "pipeline=0,$pipe_status" \
    "curl=$curl_cmd" "chat=copilot-chat bench" "pipeline=$pipeline"
  say "-- peak RSS (/usr/bin/time -f %M), $(rounds 10) rotated rounds"
  paired "chat-$size-rss" --rss --runs "$(rounds 10)" --warmup 1 "curl=$curl_cmd" "chat=copilot-chat bench"

  cpu_chat[$size]="$(get "chat-$size-time" chat median_cpu_ms)"
  cpu_curl[$size]="$(get "chat-$size-time" curl median_cpu_ms)"
  cpu_pipe[$size]="$(get "chat-$size-time" pipeline median_cpu_ms)"
  rss_chat[$size]="$(get "chat-$size-rss" chat median_rss_kib)"
  # The goals are set for the 50 MB answer; at 5 MB start-up weighs more, shown for reference.
  mb="$(fmt "$(calc "$bytes / 1000000")" 1)"
  r="$(calc "${cpu_chat[$size]} / ${cpu_curl[$size]}")"
  if [[ $size == 50MB ]]; then target="≤ 2×" met="$(verdict "$r <= 2")"; else target="(50 MB: ≤ 2×)" met=-; fi
  result 3 "$size stream ($mb MB, $n events): copilot-chat vs curl -sN, median CPU" \
    "$(fmt "$r")× ($(fmt "${cpu_chat[$size]}" 1) vs $(fmt "${cpu_curl[$size]}" 1) ms)" "$target" "$met"
  r="$(calc "${cpu_pipe[$size]} / ${cpu_chat[$size]}")"
  if [[ $size == 50MB ]]; then target="≥ 20×" met="$(verdict "$r >= 20")"; else target="(50 MB: ≥ 20×)" met=-; fi
  result 3 "$size stream: copilot-chat vs curl | sed | jq, median CPU" \
    "$(fmt "$r" 1)× less ($(fmt "${cpu_pipe[$size]}" 0) ms for the pipeline)" "$target" "$met"
done
ctl DELETE /_control/script >/dev/null

small="${rss_chat[5MB]}" big="${rss_chat[50MB]}"
# "The same": within 1 MiB, which is what a few hundred pages of allocator
# and kernel noise amount to; a buffered 50 MB answer would be 45 MiB more.
result 3 "peak RSS of copilot-chat, 5 MB and 50 MB answers" \
  "$(fmt "$(calc "$small / 1024")" 1) and $(fmt "$(calc "$big / 1024")" 1) MiB" \
  "≤ 16 MiB, equal within 1 MiB" "$(verdict "$small <= 16384 && $big <= 16384 && $big - $small <= 1024 && $small - $big <= 1024")"
