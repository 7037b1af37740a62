#!/usr/bin/env bats
# copilot-chat on the model's own wire API (issue 15): the model catalogue
# and its cache, a Responses-only model (gpt-5-codex on the fake) streamed
# and not, --json, usage, errors mid-stream, --api, --reasoning-effort; and
# the model ids a hostile server could send (issue 13).

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  CAT="$XDG_CACHE_HOME/copilot-utils/catalogue/github.com.json"
}

resp_body() { fake_last responses '["body"]' | json_get - "${1:-}"; }

@test "a Responses-only model: the first call learns the catalogue and goes to /responses" {
  run --separate-stderr copilot-chat -m gpt-5-codex hello there
  assert_success
  assert_output "You said: hello there"
  assert_equal "$stderr" ""
  # one refused chat request (400 unsupported_api_for_model), /models once, then /responses
  assert_equal "$(fake_count chat)" "1"
  assert_equal "$(fake_last chat '["status"]')" "400"
  assert_equal "$(fake_count models)" "1"
  assert_equal "$(fake_count responses)" "1"
  assert_equal "$(resp_body '["stream"]')" "true"
  assert_equal "$(resp_body '["store"]')" "false"
  assert_equal "$(resp_body '["input"]')" '[{"type":"message","role":"user","content":"hello there"}]'
}

@test "with the catalogue cached the request goes to /responses at once" {
  run -0 copilot-chat --list-models
  run --separate-stderr copilot-chat -m gpt-5-codex hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_count models)" "1"
  assert_equal "$(fake_count responses)" "1"
}

@test "the catalogue cache is 0600 in a 0700 directory and names the API it is for" {
  run -0 copilot-chat -m gpt-5-codex hi
  assert_file_exists "$CAT"
  assert_equal "$(stat -c %a "$CAT")" "600"
  assert_equal "$(stat -c %a "$(dirname "$CAT")")" "700"
  assert_equal "$(json_get "$CAT" '["api_url"]')" "$COPILOT_API_URL"
  [[ "$(json_get "$CAT" '["models"]["data"]')" == *'"gpt-5-codex"'* ]]
}

@test "a stale catalogue is refreshed on unsupported_api_for_model and the request retried once" {
  mkdir -p "$(dirname "$CAT")" && chmod 700 "$(dirname "$CAT")"
  # a fresh cache that (wrongly) says gpt-5-codex takes Chat
  printf '{"api_url":"%s","fetched_at":%s,"models":{"data":[{"id":"gpt-5-codex"}]}}\n' \
    "$COPILOT_API_URL" "$(date +%s)" >"$CAT"
  chmod 600 "$CAT"
  run --separate-stderr copilot-chat -v -m gpt-5-codex hi
  assert_success
  assert_output "You said: hi"
  [[ "$stderr" == *"unsupported_api_for_model"* ]]
  assert_equal "$(fake_count chat)" "1"
  assert_equal "$(fake_count models)" "1"
  assert_equal "$(fake_count responses)" "1"
  [[ "$(cat "$CAT")" == *'"/responses"'* ]]
  assert_equal "$(stat -c %a "$CAT")" "600"
}

@test "a catalogue older than an hour is not used" {
  run -0 copilot-chat --list-models
  python3 - "$CAT" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d["fetched_at"] -= 3600
open(p, "w").write(json.dumps(d))
PY
  run -0 copilot-chat -m gpt-5-codex hi
  assert_equal "$(fake_count chat)" "1"      # went to Chat first: the cache was stale
  assert_equal "$(fake_count models)" "2"
}

@test "a catalogue file with loose permissions is ignored and rewritten" {
  run -0 copilot-chat --list-models
  chmod 644 "$CAT"
  run -0 copilot-chat -m gpt-5-codex hi
  assert_equal "$(fake_count chat)" "1"
  assert_equal "$(stat -c %a "$CAT")" "600"
}

@test "an unknown model still goes to Chat and gets model_not_supported (64)" {
  run --separate-stderr copilot-chat -m no-such-model hi
  assert_failure 64
  [[ "$stderr" == *"model 'no-such-model' is not supported"*"available:"*"gpt-5-codex"* ]]
  assert_equal "$(fake_count responses)" "0"
  assert_equal "$(fake_count models)" "1"
}

@test "Responses --no-stream prints the text; --json the response object" {
  run -0 copilot-chat --list-models
  run --separate-stderr copilot-chat -m gpt-5-codex --no-stream hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(resp_body '["stream"]')" "false"
  run --separate-stderr copilot-chat -m gpt-5-codex --no-stream --json hi
  assert_success
  assert_equal "$(json_get - '["object"]' <<<"$output")" "response"
  assert_equal "$(json_get - '["status"]' <<<"$output")" "completed"
  assert_equal "$(json_get - '["output"][0]["content"][0]["text"]' <<<"$output")" "You said: hi"
}

@test "Responses streamed --json prints the response of response.completed" {
  run -0 copilot-chat --list-models
  run --separate-stderr copilot-chat -m gpt-5-codex --json hi there
  assert_success
  assert_equal "${#lines[@]}" "1"
  assert_equal "$(json_get - '["object"]' <<<"$output")" "response"
  assert_equal "$(json_get - '["id"]' <<<"$output")" "resp_fake1"
  assert_equal "$(json_get - '["output"][0]["content"][0]["text"]' <<<"$output")" "You said: hi there"
}

@test "Responses --usage comes from response.completed" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"chunks": ["a", "b"]}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex --usage hello
  assert_success
  assert_output "ab"
  [[ "$(sed -n 1p <<<"$stderr")" =~ ^copilot-chat:\ tokens:\ [0-9]+\ prompt\ \([0-9]+\ cached\)\ \+\ [0-9]+\ completion\ \([0-9]+\ reasoning\)\ =\ [0-9]+\ total$ ]]
}

@test "Responses: the text streams as it arrives (pieces in order)" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"chunks": ["h\u00e9llo ", "w\u00f6rld"], "split": 7, "crlf": true}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex hi
  assert_success
  assert_output "héllo wörld"
}

@test "Responses: response.failed mid-stream keeps the text and exits by its code" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"chunks": ["one ", "two ", "three"], "error_after": 2, "error_code": "rate_limited", "error_message": "slow down"}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex hi
  assert_failure 75
  assert_output "one two "
  assert_equal "$stderr" "copilot-chat: the server reported an error in the middle of the answer: slow down (rate_limited)"
}

@test "Responses: an error event mid-stream is an error (server_error: 76)" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"chunks": ["x ", "y"], "error_after": 1, "error_event": "error"}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex hi
  assert_failure 76
  assert_output "x "
  [[ "$stderr" == *"in the middle of the answer: fake mid-stream error (server_error)" ]]
}

@test "Responses: a stream cut before response.completed is a protocol error (76)" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"body": "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"half\"}\n\n", "content_type": "text/event-stream"}]'
  run --separate-stderr copilot-chat -m gpt-5-codex hi
  assert_failure 76
  assert_output "half"
  [[ "$stderr" == *"ended before response.completed"* ]]
}

@test "Responses: max_output_tokens reached warns like finish_reason length" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"chunks": ["cut"], "finish_reason": "length"}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex --max-tokens 16 hi
  assert_success
  assert_output "cut"
  assert_equal "$(resp_body '["max_output_tokens"]')" "16"
  [[ "$stderr" == *"cut off at the token limit"* ]]
}

@test "--system and --messages become Responses input items" {
  run -0 copilot-chat --list-models
  printf '%s' '[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]' >"$BATS_TEST_TMPDIR/m.json"
  run --separate-stderr copilot-chat -m gpt-5-codex -s "be brief" --messages "$BATS_TEST_TMPDIR/m.json" go on
  assert_success
  assert_equal "$(resp_body '["input"]')" '[{"type":"message","role":"system","content":"be brief"},{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:image/png;base64,AA=="}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"42"},{"type":"message","role":"user","content":"go on"}]'
}

@test "--api responses sends to /responses without asking /models" {
  run --separate-stderr copilot-chat --api responses -m gpt-5-mini hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count models)" "0"
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_count responses)" "1"
}

@test "--api chat keeps a Responses-only model on Chat (and its error: 76)" {
  run --separate-stderr copilot-chat --api chat -m gpt-5-codex hi
  assert_failure 76
  [[ "$stderr" == *"unsupported_api_for_model"* ]]
  assert_equal "$(fake_count models)" "0"
  assert_equal "$(fake_count responses)" "0"
}

@test "--api messages is a usage error for now; an unknown --api too" {
  run --separate-stderr copilot-chat --api messages hi
  assert_failure 64
  [[ "$stderr" == *"--api messages (the Anthropic Messages API) is not supported yet"* ]]
  run --separate-stderr copilot-chat --api soap hi
  assert_failure 64
  assert_equal "$stderr" "copilot-chat: --api needs chat, responses or messages, not 'soap' (see --help)"
  assert_equal "$(fake_count chat)" "0"
}

@test "--reasoning-effort goes as reasoning.effort to a Responses model" {
  run --separate-stderr copilot-chat -m gpt-5-codex --reasoning-effort high hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$stderr" ""
  assert_equal "$(resp_body '["reasoning"]')" '{"effort":"high"}'
  assert_equal "$(fake_count chat)" "0"  # the catalogue was fetched first, for the effort
}

@test "--reasoning-effort goes as reasoning_effort on Chat where the model takes it" {
  run --separate-stderr copilot-chat -m gpt-5-mini --reasoning-effort low hi
  assert_success
  assert_equal "$(fake_last chat '["body"]' | json_get - '["reasoning_effort"]')" "low"
}

@test "--reasoning-effort on a model without it: a warning, sent without it" {
  run --separate-stderr copilot-chat -m gpt-4.1 --reasoning-effort medium hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$stderr" "copilot-chat: warning: model gpt-4.1 does not take --reasoning-effort medium (it takes none); sent without it"
  assert_equal "$(fake_last chat '["body"]' | json_get - '["reasoning_effort"]' 2>/dev/null || echo absent)" "absent"
  run --separate-stderr copilot-chat -q -m gpt-4.1 --reasoning-effort medium hi
  assert_equal "$stderr" ""
  run --separate-stderr copilot-chat --reasoning-effort max hi
  assert_failure 64
}

@test "--verbose shows the reasoning summary on stderr, never on stdout" {
  run --separate-stderr copilot-chat -v -m gpt-5-codex --reasoning-effort low hi
  assert_success
  assert_output "You said: hi"
  [[ "$stderr" == *"copilot-chat: reasoning: Thinking about how to answer."* ]]
  assert_equal "$(resp_body '["reasoning"]')" '{"effort":"low","summary":"auto"}'
  run --separate-stderr copilot-chat -m gpt-5-codex --reasoning-effort low hi
  [[ "$stderr" != *"reasoning:"* ]]
}

@test "--list-models --json prints every field of the catalogue" {
  run --separate-stderr copilot-chat --list-models --json
  assert_success
  python3 -c '
import json, sys
d = {m["id"]: m for m in json.load(sys.stdin)["data"]}
c = d["gpt-5-codex"]
assert c["supported_endpoints"] == ["/responses"], c
assert c["billing"] == {"is_premium": True, "multiplier": 1}, c
assert c["capabilities"]["supports"]["reasoning_effort"] == ["low", "medium", "high"]
assert c["preview"] is True
' <<<"$output"
}

# --- tool calls are never dropped silently (issue 13) ------------------------------

@test "Responses: function calls are noted in plain mode and are in --json" {
  run -0 copilot-chat --list-models
  fake_script responses '[{"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}}, {"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}}]'
  run --separate-stderr copilot-chat -m gpt-5-codex weather
  assert_success
  assert_output ""
  assert_equal "$stderr" "copilot-chat: warning: the answer asks to call 1 tool (get_weather), not shown as text; --json prints the calls"
  run --separate-stderr copilot-chat -m gpt-5-codex --json weather
  assert_success
  assert_equal "$(json_get - '["output"][0]["type"]' <<<"$output")" "function_call"
  assert_equal "$(json_get - '["output"][0]["arguments"]' <<<"$output")" '{"city":"Paris"}'
}

# --- hostile model ids (issue 13) ------------------------------------------------

hostile_catalogue() {
  fake_config '{"models": [{"id": "gpt-4.1"}, {"id": "x$(touch pwned)"}, {"id": "a`id`b"}, {"id": "red\u001b[31mX"}, {"id": "bell\u0007"}, {"id": "two words"}, {"id": "'"$(printf 'm%.0s' {1..129})"'"}, {"id": "ok/model:1@v+2_b.c-d"}]}'
}

@test "model ids outside the safe set never reach models.txt, the catalogue or the terminal" {
  hostile_catalogue
  run --separate-stderr copilot-chat -v --list-models
  assert_success
  assert_equal "$output" "gpt-4.1
ok/model:1@v+2_b.c-d"
  [[ "$stderr" == *"dropped an entry whose id is not a plain model id: 'red?[31mX'"* ]]
  [[ "$stderr" != *$'\e'* ]]
  [[ "$stderr" != *$'\a'* ]]
  assert_equal "$(cat "$XDG_CACHE_HOME/copilot-utils/models.txt")" "gpt-4.1
ok/model:1@v+2_b.c-d"
  run grep -c 'touch\|`\|words\|mmmm' "$CAT"
  assert_output "0"
}

@test "the --list-models table shows no escape sequence from a server" {
  hostile_catalogue
  run script -qec "copilot-chat --list-models" /dev/null
  assert_success
  [[ "$output" != *"[31m"* ]]
  [[ "$output" == *"ok/model:1@v+2_b.c-d"* ]]
}

@test "a model_not_supported error lists only safe ids and echoes -m without controls" {
  hostile_catalogue
  run --separate-stderr copilot-chat -m $'gone\e[2J' hi
  assert_failure 64
  [[ "$stderr" == *"model 'gone?[2J' is not supported"* ]]
  [[ "$stderr" == *"available: gpt-4.1, ok/model:1@v+2_b.c-d"* ]]
  [[ "$stderr" != *$'\e'* ]]
  [[ "$stderr" != *touch* ]]
}
