#!/usr/bin/env bats
# copilot-chat --schema (issue 18): the schema sent as response_format
# (Chat) or text.format (Responses), the answer checked locally and printed
# as the JSON alone, exit 76 for an answer that is not JSON or does not match.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  export COPILOT_CHAT_SAVE=0
  SCHEMA='{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}'
}

reply() { fake_config "$(jq -cn --arg r "$1" '{reply: $r}')"; }

@test "a matching answer: sent as response_format, printed as the JSON alone" {
  reply '{"name": "Ada",  "age": 36}'
  run -0 --separate-stderr copilot-chat --schema "$SCHEMA" who
  assert_output '{"name":"Ada","age":36}'
  assert_equal "$stderr" ""
  assert_equal "$(fake_last chat '["body"]' | json_get - '["response_format"]')" \
    "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"answer\",\"schema\":$SCHEMA}}"
}

@test "a fenced answer is taken out of its fence; @FILE reads the schema" {
  printf '%s' "$SCHEMA" >"$BATS_TEST_TMPDIR/s.json"
  reply $'```json\n{"name":"Bob","age":7}\n```'
  run -0 copilot-chat --schema "@$BATS_TEST_TMPDIR/s.json" who
  assert_output '{"name":"Bob","age":7}'
}

@test "an answer that does not match: exit 76 naming the place, nothing on stdout" {
  reply '{"name": "Ada", "age": "old"}'
  run -76 --separate-stderr copilot-chat --schema "$SCHEMA" who
  assert_output ""
  assert_equal "$stderr" "copilot-chat: the answer does not match --schema: at /age: keyword 'type'"
  reply '{"name": "Ada"}'
  run -76 --separate-stderr copilot-chat --schema "$SCHEMA" who
  assert_equal "$stderr" "copilot-chat: the answer does not match --schema: at the top: keyword 'required'"
}

@test "an answer that is not JSON: exit 76" {
  reply 'Sure! Here is the JSON you asked for.'
  run -76 --separate-stderr copilot-chat --schema "$SCHEMA" who
  assert_output ""
  [[ "$stderr" == "copilot-chat: the answer is not JSON ("*"), not what --schema asks for" ]]
}

@test "a Responses model: the schema goes as text.format" {
  reply '{"name": "Ada", "age": 36}'
  run -0 copilot-chat -m gpt-5-codex --schema "$SCHEMA" who
  assert_output '{"name":"Ada","age":36}'
  assert_equal "$(fake_last responses '["body"]' | json_get - '["text"]')" \
    "{\"format\":{\"type\":\"json_schema\",\"name\":\"answer\",\"schema\":$SCHEMA}}"
}

@test "--json prints the completion object after the same check" {
  reply '{"name": "Ada", "age": 36}'
  run -0 copilot-chat --json --schema "$SCHEMA" who
  assert_equal "$(jq -r '.choices[0].message.content' <<<"$output")" '{"name": "Ada", "age": 36}'
  reply '[]'
  run -76 copilot-chat --json --schema "$SCHEMA" who
}

@test "a schema that is not a JSON object, is not JSON, nests too deep or is missing: refused before any request" {
  run -65 copilot-chat --schema '[1]' who
  assert_output "copilot-chat: --schema: a JSON Schema must be a JSON object"
  run -65 copilot-chat --schema '{"type":' who
  run -65 copilot-chat --schema "$(printf '{"a":%.0s' {1..70})1$(printf '}%.0s' {1..70})" who
  assert_output --partial "nested deeper than 64 levels"
  run -64 copilot-chat --schema @/nonexistent/s.json who
  assert_equal "$(fake_count chat)" "0"
}
