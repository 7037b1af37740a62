#!/usr/bin/env bats
# copilot-serve and what requests cost (issue 17, "Quota from the answers
# themselves"; ARCHITECTURE.md, "Usage and quota"): the multiplier and the
# spend on each log line, /healthz's latest quota snapshot, GET /usage,
# --budget (429 in the client's shape), --ledger (one whole JSON line per
# request, 20 at once), malformed quota headers.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() { serve_setup; }

teardown() { serve_teardown; }

# chat MODEL [stream]: POST /v1/chat/completions; STATUS, BODY.
chat() {
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"stream\":${2:-false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}
# responses MODEL: POST /v1/responses.
responses() {
  req POST /v1/responses -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"input\":\"hi\"}"
}
# messages MODEL [stream]: POST /v1/messages.
messages() {
  req POST /v1/messages -H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
    -d "{\"model\":\"$1\",\"max_tokens\":50,\"stream\":${2:-false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}
usage() { req GET /usage; assert_equal "$STATUS" 200; }

@test "each log line gains the model's multiplier and what the request spent" {
  serve_start
  chat claude-sonnet-4.5
  assert_equal "$STATUS" 200
  chat gpt-4.1
  assert_equal "$STATUS" 200
  chat o3-mini
  assert_equal "$STATUS" 200
  eventually '[[ "$(log_lines | wc -l)" -ge 3 ]]'
  run log_lines
  [[ "${lines[0]}" == *" model=claude-sonnet-4.5 "*" status=200 "*" multiplier=1 premium=1" ]]
  [[ "${lines[1]}" == *" model=gpt-4.1 "*" multiplier=0 premium=0" ]]
  [[ "${lines[2]}" == *" model=o3-mini "*" multiplier=0.33 premium=0.33" ]]
}

@test "an agent's turn and a refused request spend nothing; the multiplier is still shown" {
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}'
  assert_equal "$STATUS" 200
  fake_script chat '[{"status": 500}]'
  chat claude-sonnet-4.5
  assert_equal "$STATUS" 500
  eventually '[[ "$(log_lines | wc -l)" -ge 2 ]]'
  run log_lines
  [[ "${lines[0]}" == *" initiator=agent status=200 "*" multiplier=1 premium=0" ]]
  [[ "${lines[1]}" == *" status=500 "*" multiplier=1 premium=0"* ]]
  usage
  assert_equal "$(json_get - '["total"]["premium"]' <<<"$BODY")" "0"
  assert_equal "$(json_get - '["total"]["requests"]' <<<"$BODY")" "2"
}

@test "/healthz reports the latest quota snapshot the answers carried" {
  serve_start
  req GET /healthz
  assert_equal "$STATUS" 200
  assert_equal "$(json_get - '["quota"]' <<<"$BODY")" '{"quotas":{},"session":null,"weekly":null}'
  chat claude-sonnet-4.5
  chat claude-sonnet-4.5 true
  assert_equal "$STATUS" 200
  req GET /healthz
  # two premium requests on 300: 298 left, as the second answer's headers say
  assert_equal "$(printf '%.2f' "$(json_get - '["quota"]["quotas"]["premium_interactions"]["remaining"]' <<<"$BODY")")" "298.00"
  assert_equal "$(json_get - '["quota"]["quotas"]["premium_interactions"]["entitlement"]' <<<"$BODY")" "300"
  assert_equal "$(json_get - '["quota"]["quotas"]["chat"]["unlimited"]' <<<"$BODY")" "true"
  assert_equal "$(json_get - '["quota"]["weekly"]["reset_date"]' <<<"$BODY")" "2026-12-07T00:00:00Z"
  assert_equal "$(json_get - '["status"]' <<<"$BODY")" "ok"
}

@test "GET /usage: requests, tokens and premium per model and per client API since start" {
  serve_start
  usage
  assert_equal "$(json_get - '["total"]' <<<"$BODY")" '{"requests":0,"tokens":{"input":0,"output":0,"cached":0,"reasoning":0},"premium":0}'
  assert_equal "$(json_get - '["budget"]' <<<"$BODY")" "null"
  assert_equal "$(json_get - '["ledger"]' <<<"$BODY")" "null"
  chat claude-sonnet-4.5
  chat gpt-4.1
  responses gpt-5-codex
  messages claude-sonnet-4.5
  assert_equal "$STATUS" 200
  messages gpt-4.1
  assert_equal "$STATUS" 200
  usage
  assert_equal "$(json_get - '["total"]["requests"]' <<<"$BODY")" "5"
  assert_equal "$(json_get - '["total"]["premium"]' <<<"$BODY")" "3"
  assert_equal "$(json_get - '["by_model"]["claude-sonnet-4.5"]["requests"]' <<<"$BODY")" "2"
  assert_equal "$(json_get - '["by_model"]["claude-sonnet-4.5"]["premium"]' <<<"$BODY")" "2"
  assert_equal "$(json_get - '["by_model"]["gpt-4.1"]["requests"]' <<<"$BODY")" "2"
  assert_equal "$(json_get - '["by_model"]["gpt-4.1"]["premium"]' <<<"$BODY")" "0"
  assert_equal "$(json_get - '["by_model"]["gpt-5-codex"]["tokens"]["output"]' <<<"$BODY")" "3"
  assert_equal "$(json_get - '["by_client_api"]["chat"]["requests"]' <<<"$BODY")" "2"
  assert_equal "$(json_get - '["by_client_api"]["chat"]["tokens"]' <<<"$BODY")" '{"input":2,"output":6,"cached":0,"reasoning":0}'
  assert_equal "$(json_get - '["by_client_api"]["responses"]["premium"]' <<<"$BODY")" "1"
  assert_equal "$(json_get - '["by_client_api"]["messages"]["requests"]' <<<"$BODY")" "2"
  assert_equal "$(json_get - '["quota"]["quotas"]["premium_models"]["remaining"]' <<<"$BODY")" "297"
  # /usage and /healthz are not counted; the fake agrees on what was spent
  usage
  assert_equal "$(json_get - '["total"]["requests"]' <<<"$BODY")" "5"
  assert_equal "$(fake_state | json_get - '["premium_used"]')" "3"
}

@test "a passed-through stream's own usage events are counted: Chat, Responses and Messages" {
  # Not translated, so not parsed: copilot-serve reads only the events that
  # carry usage (serve/stream_usage). What each stream said is what is counted.
  serve_start
  fake_script chat '[{"stream": {"cached_tokens": 2}}]'
  chat gpt-4.1 true
  assert_equal "$STATUS" 200
  local u chat_in chat_out
  u="$(sed -n 's/^data: //p' <<<"$BODY" | jq -cR 'fromjson? | select(.usage? != null) | .usage')"
  chat_in="$(jq -r .prompt_tokens <<<"$u")" chat_out="$(jq -r .completion_tokens <<<"$u")"
  [[ "$chat_in" -gt 0 && "$chat_out" -gt 0 ]] || fail "the fake's usage chunk: $u"

  fake_script responses '[{"stream": {"cached_tokens": 3}}]'
  req POST /v1/responses -H 'Content-Type: application/json' \
    -d '{"model":"gpt-5-codex","input":"hi","stream":true}'
  assert_equal "$STATUS" 200
  local r_in r_out
  u="$(sed -n 's/^data: //p' <<<"$BODY" | jq -cR 'fromjson? | select(.type == "response.completed") | .response.usage')"
  r_in="$(jq -r .input_tokens <<<"$u")" r_out="$(jq -r .output_tokens <<<"$u")"
  [[ "$r_in" -gt 0 && "$r_out" -gt 0 ]] || fail "the fake's response.completed usage: $u"

  fake_script messages '[{"stream": {"cached_tokens": 4}}]'
  messages claude-sonnet-4.5 true
  assert_equal "$STATUS" 200
  local m_in m_out
  m_in="$(sed -n 's/^data: //p' <<<"$BODY" | jq -rR 'fromjson? | select(.type == "message_start") | .message.usage.input_tokens')"
  m_out="$(sed -n 's/^data: //p' <<<"$BODY" | jq -rR 'fromjson? | select(.type == "message_delta") | .usage.output_tokens')"
  [[ "$m_in" -gt 0 && "$m_out" -gt 0 ]] || fail "the fake's message_start/message_delta: $m_in $m_out"

  eventually '[[ "$(log_lines | wc -l)" -ge 3 ]]'
  run log_lines
  [[ "${lines[0]}" == *" stream api=chat upstream=/chat/completions passthrough "*" input_tokens=$chat_in output_tokens=$chat_out "* ]] ||
    fail "chat: ${lines[0]}"
  [[ "${lines[1]}" == *" stream api=responses upstream=/responses passthrough "*" input_tokens=$r_in output_tokens=$r_out "* ]] ||
    fail "responses: ${lines[1]}"
  # Anthropic's input_tokens leave the cache reads out; copilot-serve counts every input token.
  [[ "${lines[2]}" == *" stream api=messages upstream=/v1/messages passthrough "*" input_tokens=$((m_in + 4)) output_tokens=$m_out "* ]] ||
    fail "messages: ${lines[2]}"
  usage
  assert_equal "$(json_get - '["by_model"]["gpt-4.1"]["tokens"]' <<<"$BODY")" "{\"input\":$chat_in,\"output\":$chat_out,\"cached\":2,\"reasoning\":0}"
  assert_equal "$(json_get - '["by_model"]["gpt-5-codex"]["tokens"]["cached"]' <<<"$BODY")" "3"
  assert_equal "$(json_get - '["by_model"]["claude-sonnet-4.5"]["tokens"]' <<<"$BODY")" "{\"input\":$((m_in + 4)),\"output\":$m_out,\"cached\":4,\"reasoning\":0}"
}

@test "GET /usage wants the API key like every route; POST is 405" {
  echo "sekret-key-1234567890" >"$BATS_TEST_TMPDIR/key"
  chmod 600 "$BATS_TEST_TMPDIR/key"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  req GET /usage
  assert_equal "$STATUS" 401
  req GET /usage -H 'Authorization: Bearer sekret-key-1234567890'
  assert_equal "$STATUS" 200
  req POST /usage -H 'Authorization: Bearer sekret-key-1234567890'
  assert_equal "$STATUS" 405
}

@test "--budget: premium models refused with 429 in OpenAI's shape once spent; free models still served" {
  serve_start --budget 2
  chat claude-sonnet-4.5
  assert_equal "$STATUS" 200
  responses gpt-5-codex
  assert_equal "$STATUS" 200
  chat claude-sonnet-4.5
  assert_equal "$STATUS" 429
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "budget_exceeded"
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == "the budget of 2 premium requests since start is spent (2 spent)"* ]]
  responses gpt-5-codex
  assert_equal "$STATUS" 429
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == *"budget of 2 premium requests"* ]]
  chat claude-sonnet-4.5 true
  assert_equal "$STATUS" 429
  [[ "$BODY" == *budget_exceeded* ]]
  chat gpt-4.1
  assert_equal "$STATUS" 200
  # nothing more went upstream for the premium model
  assert_equal "$(fake_state | json_get - '["premium_used"]')" "2"
  usage
  assert_equal "$(json_get - '["budget"]' <<<"$BODY")" '{"premium":2,"spent":2,"left":0}'
  eventually '[[ "$(log_lines | grep -c "status=429")" -ge 3 ]]'
  log_lines | grep 'status=429' | grep -q 'note="budget spent"'
}

@test "--budget: refused in Anthropic's shape on /v1/messages, streamed or not" {
  serve_start --budget 0.5
  messages claude-sonnet-4.5
  assert_equal "$STATUS" 200
  messages claude-sonnet-4.5
  assert_equal "$STATUS" 429
  assert_equal "$(json_get - '["type"]' <<<"$BODY")" "error"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "rate_limit_error"
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == "the budget of 0.5 premium requests since start is spent (1 spent)"* ]]
  messages claude-sonnet-4.5 true
  assert_equal "$STATUS" 429
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "rate_limit_error"
  messages gpt-4.1
  assert_equal "$STATUS" 200
}

@test "--budget 0 serves no premium model at all; a bad --budget is a usage error" {
  serve_start --budget 0
  chat o3-mini
  assert_equal "$STATUS" 429
  chat gpt-4o
  assert_equal "$STATUS" 200
  assert_equal "$(fake_count chat)" "1"
  serve_stop
  for bad in -1 abc 1e3 1. .5 12345678901; do
    run --separate-stderr copilot-serve --listen 127.0.0.1:0 --budget "$bad"
    assert_equal "$status" 64
    assert_equal "$stderr" "copilot-serve: --budget needs a number of premium requests (such as 50 or 12.5), not '$bad' (see --help)"
  done
}

@test "--ledger: one JSON line per request, what it cost, never a prompt or a token" {
  L="$BATS_TEST_TMPDIR/ledger.jsonl"
  serve_start --ledger "$L"
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"SECRET-PROMPT-TEXT"}]}'
  assert_equal "$STATUS" 200
  messages gpt-4.1 true
  fake_script responses '[{"status": 503}]'
  responses gpt-5-codex
  assert_equal "$STATUS" 503
  req GET /v1/models
  eventually '[[ -f "$L" && "$(wc -l <"$L")" -ge 3 ]]'
  assert_equal "$(stat -c %a "$L")" "600"
  assert_equal "$(wc -l <"$L")" "3"
  python3 - "$L" <<'PY'
import json, sys, re
lines = open(sys.argv[1]).read().splitlines()
docs = [json.loads(l) for l in lines]
keys = ["time", "client_api", "upstream_endpoint", "model", "initiator", "tokens", "multiplier", "premium", "status"]
for d in docs:
    assert list(d) == keys, d
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]), d
a, b, c = docs
assert (a["client_api"], a["upstream_endpoint"], a["model"], a["initiator"], a["multiplier"], a["premium"], a["status"]) == ("chat", "/chat/completions", "claude-sonnet-4.5", "user", 1, 1, 200), a
assert a["tokens"] == {"input": 1, "output": 3, "cached": 0, "reasoning": 0}, a
assert (b["client_api"], b["upstream_endpoint"], b["model"], b["multiplier"], b["premium"]) == ("messages", "/chat/completions", "gpt-4.1", 0, 0), b
assert (c["client_api"], c["status"], c["premium"], c["multiplier"]) == ("responses", 503, 0, 1), c
PY
  run grep -c -e SECRET-PROMPT-TEXT -e ghu_fake -e 'tid=' -e 'You said' "$L"
  assert_output "0"
}

@test "--ledger under 20 concurrent requests: 20 lines, every one whole JSON" {
  L="$BATS_TEST_TMPDIR/ledger.jsonl"
  serve_start --ledger "$L"
  local i pids=()
  for ((i = 0; i < 20; i++)); do
    if ((i % 2)); then m=claude-sonnet-4.5; else m=gpt-4.1; fi
    curl -sS --noproxy '*' -m 30 -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"model\":\"$m\",\"stream\":$( ((i % 4 < 2)) && echo true || echo false),\"messages\":[{\"role\":\"user\",\"content\":\"n$i\"}]}" \
      "$SERVE_URL/v1/chat/completions" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  eventually '[[ "$(wc -l <"$L")" -ge 20 ]]'
  python3 - "$L" <<'PY'
import json, sys
data = open(sys.argv[1]).read()
assert data.endswith("\n")
lines = data.split("\n")[:-1]
assert len(lines) == 20, len(lines)
docs = [json.loads(l) for l in lines]
assert sum(d["premium"] for d in docs) == 10, docs
assert sorted(d["model"] for d in docs) == ["claude-sonnet-4.5"] * 10 + ["gpt-4.1"] * 10
assert all(d["status"] == 200 for d in docs)
PY
  usage
  assert_equal "$(json_get - '["total"]["requests"]' <<<"$BODY")" "20"
  assert_equal "$(json_get - '["total"]["premium"]' <<<"$BODY")" "10"
  assert_equal "$(json_get - '["ledger"]' <<<"$BODY")" "$L"
}

@test "--ledger appends to what is there; one that cannot be opened stops the start" {
  L="$BATS_TEST_TMPDIR/ledger.jsonl"
  echo '{"old":"line"}' >"$L"
  serve_start --ledger "$L"
  chat gpt-4.1
  eventually '[[ "$(wc -l <"$L")" -ge 2 ]]'
  assert_equal "$(head -1 "$L")" '{"old":"line"}'
  serve_stop
  run --separate-stderr copilot-serve --listen 127.0.0.1:0 --ledger "$BATS_TEST_TMPDIR/no/such/dir/l"
  assert_equal "$status" 74
  [[ "$stderr" == *"$BATS_TEST_TMPDIR/no/such/dir/l"* ]]
  mkdir "$BATS_TEST_TMPDIR/d"
  run --separate-stderr copilot-serve --listen 127.0.0.1:0 --ledger "$BATS_TEST_TMPDIR/d"
  assert_equal "$status" 74
}

@test "malformed quota headers are ignored: the answer goes on, a note only with --verbose" {
  fake_config '{"quota_snapshots":{"premium_interactions":"garbage","premium_models":{"ent":300,"rem":50.0},"chat":"ent=1&ent=2"},"ratelimits":{"session":"rem=abc","weekly":null}}'
  serve_start
  chat claude-sonnet-4.5
  assert_equal "$STATUS" 200
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: hi"
  req GET /healthz
  assert_equal "$(json_get - '["quota"]["quotas"]' <<<"$BODY" | jq -c 'keys')" '["premium_models"]'
  assert_equal "$(json_get - '["quota"]["session"]' <<<"$BODY")" "null"
  ! grep -q 'ignored header' "$SERVE_ERR"
  serve_stop
  serve_start --verbose
  messages claude-sonnet-4.5 true
  assert_equal "$STATUS" 200
  eventually 'grep -q "ignored header x-quota-snapshot-premium_interactions" "$SERVE_ERR"'
  grep -q 'ignored header x-quota-snapshot-chat' "$SERVE_ERR"
  grep -q 'ignored header x-usage-ratelimit-session' "$SERVE_ERR"
  ! grep -q garbage "$SERVE_ERR"
}
