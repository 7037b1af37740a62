#!/usr/bin/env bats
# copilot-chat --usage (issue 17, "Quota from the answers themselves"):
# tokens (prompt, completion, cached, reasoning), the model's premium
# multiplier from the catalogue, the premium quota from the answer's
# x-quota-snapshot-* headers; --json's copilot_usage; malformed headers.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
}

@test "--usage on Chat: tokens, the multiplier, the premium quota after the answer" {
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --usage hello
  assert_success
  assert_output "You said: hello"
  assert_equal "$(sed -n 1p <<<"$stderr")" "copilot-chat: tokens: 1 prompt (0 cached) + 3 completion (0 reasoning) = 4 total"
  assert_equal "$(sed -n 2p <<<"$stderr")" "copilot-chat: premium multiplier: 1x"
  # the fake counts this request: 300 * 100% - 1 = 299 left
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: 299 of 300 (99.7%), resets 2026-12-31T00:00:00Z"
  assert_equal "$(wc -l <<<"$stderr")" "3"
}

@test "--usage streamed and not say the same; a free model costs 0x" {
  run --separate-stderr copilot-chat --usage hi
  assert_success
  assert_equal "$(sed -n 2p <<<"$stderr")" "copilot-chat: premium multiplier: 0x"
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: 300 of 300 (100%), resets 2026-12-31T00:00:00Z"
  streamed=$stderr
  run --separate-stderr copilot-chat --no-stream --usage hi
  assert_success
  assert_equal "$stderr" "$streamed"
}

@test "--usage reads a fractional multiplier from the catalogue" {
  run --separate-stderr copilot-chat -m o3-mini --usage hi
  assert_success
  assert_equal "$(sed -n 2p <<<"$stderr")" "copilot-chat: premium multiplier: 0.33x"
  assert_equal "$(fake_state | json_get - '["premium_used"]')" "0.33"
}

@test "--usage on the Responses path (a Responses-only model), streamed and not" {
  run -0 copilot-chat --list-models
  run --separate-stderr copilot-chat -m gpt-5-codex --usage hello
  assert_success
  assert_output "You said: hello"
  [[ "$(sed -n 1p <<<"$stderr")" =~ ^copilot-chat:\ tokens:\ [0-9]+\ prompt\ \([0-9]+\ cached\)\ \+\ [0-9]+\ completion\ \([0-9]+\ reasoning\)\ =\ [0-9]+\ total$ ]]
  assert_equal "$(sed -n 2p <<<"$stderr")" "copilot-chat: premium multiplier: 1x"
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: 299 of 300 (99.7%), resets 2026-12-31T00:00:00Z"
  run --separate-stderr copilot-chat -m gpt-5-codex --no-stream --usage hello
  assert_success
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: 298 of 300 (99.3%), resets 2026-12-31T00:00:00Z"
}

@test "--usage shows cached and reasoning tokens (Chat)" {
  fake_script chat '[{"body": {"id":"c1","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":12}}}}]'
  run --separate-stderr copilot-chat --no-stream --usage hi
  assert_success
  assert_output "ok"
  assert_equal "$(sed -n 1p <<<"$stderr")" "copilot-chat: tokens: 50 prompt (40 cached) + 20 completion (12 reasoning) = 70 total"
  # a scripted body carries no quota headers
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: not reported by the server"
}

@test "--usage shows cached and reasoning tokens (Responses)" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"body": {"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"gpt-5-codex","output":[{"type":"message","id":"m1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[]}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":8},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":16}}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex --no-stream --usage hi
  assert_success
  assert_output "ok"
  assert_equal "$(sed -n 1p <<<"$stderr")" "copilot-chat: tokens: 9 prompt (8 cached) + 7 completion (5 reasoning) = 16 total"
}

@test "--usage: unlimited premium quota" {
  fake_config '{"quota_snapshots":{"premium_interactions":{"ent":-1,"rem":100.0}}}'
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --usage hi
  assert_success
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: unlimited"
}

@test "--usage: premium_models when there is no premium_interactions header" {
  fake_config '{"quota_snapshots":{"premium_models":{"ent":50,"rem":50.0,"rst":"2027-01-01T00:00:00Z"}}}'
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --usage hi
  assert_success
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: 24 of 50 (48%), resets 2027-01-01T00:00:00Z"
}

@test "a malformed quota header is ignored: no error, a note only with --verbose" {
  fake_config '{"quota_snapshots":{"premium_interactions":"garbage","chat":"ent=1&ent=2"}}'
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --usage hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(sed -n 3p <<<"$stderr")" "copilot-chat: premium requests left: not reported by the server"
  [[ "$stderr" != *garbage* && "$stderr" != *ignored* ]]
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --usage --verbose hi
  assert_success
  assert_output "You said: hi"
  [[ "$stderr" == *"ignored header x-quota-snapshot-premium_interactions"* ]]
  [[ "$stderr" == *"ignored header x-quota-snapshot-chat"* ]]
}

@test "a malformed header without --usage changes nothing" {
  fake_config '{"quota_snapshots":{"premium_interactions":"%zz"},"ratelimits":{"session":"rem=abc"}}'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$stderr" ""
}

@test "--json --usage: the same under copilot_usage, nothing on stderr" {
  run --separate-stderr copilot-chat -m claude-sonnet-4.5 --json --usage hi
  assert_success
  assert_equal "$stderr" ""
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$output")" "You said: hi"
  assert_equal "$(json_get - '["copilot_usage"]["tokens"]' <<<"$output")" '{"prompt":1,"completion":3,"total":4,"cached":0,"reasoning":0}'
  assert_equal "$(json_get - '["copilot_usage"]["multiplier"]' <<<"$output")" "1"
  assert_equal "$(json_get - '["copilot_usage"]["quota"]["quotas"]["premium_interactions"]["remaining"]' <<<"$output")" "299.0001"
  assert_equal "$(json_get - '["copilot_usage"]["quota"]["quotas"]["chat"]["unlimited"]' <<<"$output")" "true"
  assert_equal "$(json_get - '["copilot_usage"]["quota"]["session"]["reset_date"]' <<<"$output")" "2026-12-01T06:00:00Z"
}

@test "--json --usage on the Responses path: the response object gains copilot_usage" {
  run -0 copilot-chat --list-models
  run --separate-stderr copilot-chat -m gpt-5-codex --json --usage hi
  assert_success
  assert_equal "$(json_get - '["object"]' <<<"$output")" "response"
  assert_equal "$(json_get - '["copilot_usage"]["multiplier"]' <<<"$output")" "1"
  assert_equal "$(json_get - '["copilot_usage"]["quota"]["quotas"]["premium_models"]["remaining"]' <<<"$output")" "299.0001"
}

@test "--json without --usage has no copilot_usage" {
  run --separate-stderr copilot-chat --json hi
  assert_success
  [[ "$output" != *copilot_usage* ]]
}

@test "--usage with a model the cached catalogue does not know: multiplier unknown" {
  fake_config '{"models":["gpt-4.1"]}'
  run -0 copilot-chat --list-models
  fake_config '{"models":["gpt-4.1","odd-model"]}'
  run --separate-stderr copilot-chat -m odd-model --usage hi
  assert_success
  assert_equal "$(sed -n 2p <<<"$stderr")" "copilot-chat: premium multiplier: unknown"
  run --separate-stderr copilot-chat -m odd-model --json --usage hi
  assert_equal "$(json_get - '["copilot_usage"]["multiplier"]' <<<"$output")" "null"
}
