#!/usr/bin/env bats
# The `@anthropic-ai/sdk` npm client against copilot-serve and the fake
# (ARCHITECTURE.md, "Wire APIs"): messages.create, messages.stream,
# messages.countTokens and a tool_use round trip on a model that takes
# Messages upstream (passed through), on a Chat-only one and on a
# Responses-only one (translated), and the SDK's own error classes for a 429
# and a wrong x-api-key. The client is tests/clients/anthropic_sdk.mjs
# (installed by `make node-deps`); Claude Code itself is tests/claude_code.bats.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  [[ -d "$REPO/tests/node_modules/@anthropic-ai/sdk" ]] || {
    echo "tests/node_modules is missing the Anthropic SDK: make node-deps" >&2
    return 1
  }
  KEY_FILE="$BATS_TEST_TMPDIR/key"
  (umask 077 && echo "sk-serve-clients-key-0123456789" >"$KEY_FILE")
}

teardown() { serve_teardown; }

# sdk MODEL STEP...: runs the client through copilot-serve with the right key.
sdk() {
  ANTHROPIC_BASE_URL="$SERVE_URL" ANTHROPIC_API_KEY="sk-serve-clients-key-0123456789" \
    node "$REPO/tests/clients/anthropic_sdk.mjs" "$@"
}

# The fake's log entries for ROUTE, one field a line.
fake_field() { fake_log "$1" | jq -r --arg f "$2" '.requests[][$f] // "null"'; }

# The tool_use answer the fake gives when scripted so.
TOOL_CALL='{"stream": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}}'

@test "the Anthropic SDK on a native Messages model: create, stream, countTokens, tool round trip (passed through)" {
  serve_start --api-key-file "$KEY_FILE"
  # create and stream take the default answer; then the round trip, twice
  fake_script messages "[{\"repeat\": 2}, $TOOL_CALL, {}, $TOOL_CALL, {}]"
  run -0 sdk claude-sonnet-4.5 create stream count tools tools-stream
  assert_line --index 0 '{"step":"create","type":"message","role":"assistant","text":"You said: whole claude-sonnet-4.5","stop_reason":"end_turn","usage":true}'
  assert_line --index 1 '{"step":"stream","text":"You said: streamed claude-sonnet-4.5","final":"You said: streamed claude-sonnet-4.5","stop_reason":"end_turn","events":"content_block_delta,content_block_start,content_block_stop,message_delta,message_start,message_stop","usage":true}'
  assert_line --index 2 '{"step":"count","positive":true}'
  assert_line --index 3 '{"step":"tools","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: sunny, 21 C in Paris"}'
  assert_line --index 4 '{"step":"tools-stream","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: sunny, 21 C in Paris"}'
  # every request went to /v1/messages as it came; the tool_result turns as the agent
  assert_equal "$(fake_count chat) $(fake_count responses) $(fake_count messages)" "0 0 6"
  assert_equal "$(fake_field messages initiator | paste -sd' ')" "user user user agent user agent"
  assert_equal "$(fake_last messages '["body"]' | jq -r '.messages[2].content[0].type')" "tool_result"
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=claude-sonnet-4.5 .*passthrough")" -eq 6 ]'
  eventually 'log_lines | grep -q "POST /v1/messages/count_tokens"'
}

@test "the Anthropic SDK on a Chat-only model: create, stream, countTokens, tool round trip (translated)" {
  serve_start --api-key-file "$KEY_FILE"
  fake_script chat "[{\"repeat\": 2}, $TOOL_CALL, {}, $TOOL_CALL, {}]"
  run -0 sdk claude-3.5-sonnet create stream count tools tools-stream
  assert_line --index 0 '{"step":"create","type":"message","role":"assistant","text":"You said: whole claude-3.5-sonnet","stop_reason":"end_turn","usage":true}'
  assert_line --index 1 '{"step":"stream","text":"You said: streamed claude-3.5-sonnet","final":"You said: streamed claude-3.5-sonnet","stop_reason":"end_turn","events":"content_block_delta,content_block_start,content_block_stop,message_delta,message_start,message_stop","usage":true}'
  assert_line --index 2 '{"step":"count","positive":true}'
  assert_line --index 3 '{"step":"tools","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: What is the weather in Paris?"}'
  assert_line --index 4 '{"step":"tools-stream","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: What is the weather in Paris?"}'
  assert_equal "$(fake_count chat) $(fake_count responses) $(fake_count messages)" "6 0 0"
  assert_equal "$(fake_field chat initiator | paste -sd' ')" "user user user agent user agent"
  # the tool_result reached Chat as a tool message answering the call
  assert_equal "$(fake_last chat '["body"]' | jq -c '[.messages[] | .role]')" '["user","assistant","tool"]'
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[2].content')" "sunny, 21 C in Paris"
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=claude-3.5-sonnet .*upstream=/chat/completions translated")" -eq 6 ]'
}

@test "the Anthropic SDK on a Responses-only model: create, stream, countTokens, tool round trip (through Chat to Responses)" {
  serve_start --api-key-file "$KEY_FILE"
  fake_script responses "[{\"repeat\": 2}, $TOOL_CALL, {}, $TOOL_CALL, {}]"
  run -0 sdk gpt-5-codex create stream count tools tools-stream
  assert_line --index 0 '{"step":"create","type":"message","role":"assistant","text":"You said: whole gpt-5-codex","stop_reason":"end_turn","usage":true}'
  assert_line --index 1 '{"step":"stream","text":"You said: streamed gpt-5-codex","final":"You said: streamed gpt-5-codex","stop_reason":"end_turn","events":"content_block_delta,content_block_start,content_block_stop,message_delta,message_start,message_stop","usage":true}'
  assert_line --index 2 '{"step":"count","positive":true}'
  assert_line --index 3 '{"step":"tools","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: What is the weather in Paris?"}'
  assert_line --index 4 '{"step":"tools-stream","first":"tool_use","name":"get_weather","input":{"city":"Paris"},"idOk":true,"second":"end_turn","text":"You said: What is the weather in Paris?"}'
  assert_equal "$(fake_count chat) $(fake_count responses) $(fake_count messages)" "0 6 0"
  assert_equal "$(fake_field responses initiator | paste -sd' ')" "user user user agent user agent"
  assert_equal "$(fake_last responses '["body"]' | jq -r '[.input[] | .type // .role] | join(",")')" "message,function_call,function_call_output"
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=gpt-5-codex .*upstream=/responses translated")" -eq 6 ]'
}

@test "the Anthropic SDK's error classes: a 429 is a RateLimitError, a wrong x-api-key an AuthenticationError" {
  serve_start --api-key-file "$KEY_FILE"
  fake_script messages '[{"status": 429, "retry_after": 7}]'
  fake_script chat '[{"status": 429, "retry_after": 7}]'
  run -0 sdk claude-sonnet-4.5 ratelimit auth
  assert_line --index 0 '{"step":"ratelimit","error":"RateLimitError","status":429,"type":"rate_limit_error"}'
  assert_line --index 1 '{"step":"auth","error":"AuthenticationError","status":401,"type":"authentication_error"}'
  run -0 sdk claude-3.5-sonnet ratelimit
  assert_line --index 0 '{"step":"ratelimit","error":"RateLimitError","status":429,"type":"rate_limit_error"}'
  # retries disabled: one upstream request each; the wrong key never went upstream
  assert_equal "$(fake_count messages) $(fake_count chat)" "1 1"
}
