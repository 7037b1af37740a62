#!/usr/bin/env bash
# The streaming chat as people write it in a shell: curl, sed and jq.
# The baseline of goal 3 (bench/chat.sh), for the same URL, headers and body
# as copilot-chat: BENCH_CHAT_URL, BENCH_CHAT_TOKEN, BENCH_CHAT_BODY (a file).
# jq fails on the final "data: [DONE]" line, as it does for everyone who runs
# this; the text before it is complete.
curl -sN -H "Authorization: Bearer $BENCH_CHAT_TOKEN" -H 'Editor-Version: vscode/1.104.3' \
  -H 'Content-Type: application/json' --data-binary @"$BENCH_CHAT_BODY" "$BENCH_CHAT_URL" |
  sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty'
