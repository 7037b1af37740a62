#!/usr/bin/env bash
# Goal 4: device-flow timing. copilot-login polls the fake server, which
# answers authorization_pending a few times (and once slow_down) before
# granting; from the server's request log (arrival times), every gap between
# the device-code request and the first poll, and between polls, is compared
# with the interval in force: each must lie in [interval, interval + 0.25 s].
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

# name, config interval, scripted access_token answers before the grant
scenarios=(
  "interval-1|1|[{\"error\": \"authorization_pending\", \"repeat\": 5}]"
  "interval-2|2|[{\"error\": \"authorization_pending\", \"repeat\": 3}]"
  "slow-down-to-2|1|[{\"error\": \"authorization_pending\"}, {\"error\": \"slow_down\", \"interval\": 2}, {\"error\": \"authorization_pending\", \"repeat\": 2}]"
)

: >"$BENCH_OUT/login-gaps.jsonl"
for s in "${scenarios[@]}"; do
  IFS='|' read -r name interval answers <<<"$s"
  fake_reset
  ctl POST /_control/config "{\"interval\": $interval}" >/dev/null
  ctl POST /_control/script "{\"route\": \"access_token\", \"responses\": $answers}" >/dev/null
  copilot-login --no-verify --quiet --output - </dev/null >"$BENCH_TMP/login.out" 2>"$BENCH_TMP/login.err" ||
    die "copilot-login failed in $name: $(cat "$BENCH_TMP/login.err")"
  jq -e '.oauth_token | startswith("ghu_fake_")' "$BENCH_TMP/login.out" >/dev/null || die "$name: no login"
  # The interval in force for each poll: the asked one, then whatever a
  # slow_down answer carried (the client raises it to that, or by 5 s).
  ctl GET /_control/log | jq -c --arg name "$name" --argjson interval "$interval" '
    [.requests[] | select(.route == "device_code" or .route == "access_token")] as $r
    | reduce range(1; $r | length) as $i ({iv: $interval, out: []};
        .out += [{scenario: $name, poll: $i, interval: .iv, gap: ($r[$i].time - $r[$i - 1].time)}]
        | if ($r[$i].script.error? // "") == "slow_down"
          then .iv = (if ($r[$i].script.interval // 0) > .iv then $r[$i].script.interval else .iv + 5 end)
          else . end)
    | .out[]' >>"$BENCH_OUT/login-gaps.jsonl"
done

jq -r '"   \(.scenario) poll \(.poll): gap \(.gap * 1000 | round) ms, interval \(.interval) s"' \
  "$BENCH_OUT/login-gaps.jsonl" >&2
read -r count lo hi < <(jq -rs '[.[] | .gap - .interval] | "\(length) \(min) \(max)"' "$BENCH_OUT/login-gaps.jsonl")
result 4 "device flow: poll gaps minus the interval in force (intervals 1 s, 2 s, slow_down)" \
  "$count gaps, $(fmt "$(calc "$lo * 1000")" 0) to $(fmt "$(calc "$hi * 1000")" 0) ms over the interval" \
  "each in [0, +250 ms]" "$(verdict "$lo >= 0 && $hi <= 0.25")"
