#!/usr/bin/env bats
# copilot-serve's Anthropic Messages routes against the fake (ARCHITECTURE.md,
# "Wire APIs"): passthrough byte for byte for a model that takes /v1/messages
# (anthropic-version kept, anthropic-beta filtered, fields Copilot refuses
# dropped), Messages -> Chat and Messages -> Chat -> Responses translated
# (whole and streamed, each event type, tool_use round trips, images,
# thinking), X-Initiator across the round trip, errors in Anthropic's shape
# per status, a stream that breaks, pings, model names, count_tokens.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() { serve_setup; }

teardown() { serve_teardown; }

# msg PATH JSON [curl args]: an Anthropic-style POST; STATUS, BODY, $HDRS as req.
msg() {
  local path="$1" body="$2"
  shift 2
  req POST "$path" -H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
    -d "$body" "$@"
}

# messages_json MODEL TEXT [stream]: a one-turn Messages request.
messages_json() {
  jq -cn --arg m "$1" --arg t "$2" --argjson s "${3:-false}" \
    '{model: $m, max_tokens: 256, stream: $s, messages: [{role: "user", content: $t}]}'
}

# The events of the SSE stream in $BODY, one a line: "NAME DATA".
events() {
  python3 -c 'import sys
name, data = "-", []
for line in sys.stdin.read().split("\n"):
    if line == "":
        if data:
            print(name, "\n".join(data))
        name, data = "-", []
    elif line.startswith("event: "):
        name = line[7:]
    elif line.startswith("data: "):
        data.append(line[6:])' <<<"$BODY"
}
event_names() { events | cut -d' ' -f1 | paste -sd' ' -; }
# Every event's name equals its data's "type".
names_match_types() { events | python3 -c 'import json, sys
for l in sys.stdin:
    n, d = l.rstrip("\n").split(" ", 1)
    assert json.loads(d)["type"] == n, l'; }
# The text of a Messages stream: its text_delta pieces joined.
stream_text() {
  events | python3 -c 'import json, sys
out = []
for l in sys.stdin:
    d = json.loads(l.split(" ", 1)[1])
    if d.get("type") == "content_block_delta" and d["delta"].get("type") == "text_delta":
        out.append(d["delta"]["text"])
print("".join(out))'
}
header_value() { sed -n "s/^$1: *\\([^;]*\\).*\\r\$/\\1/Ip" "$HDRS" | head -n1; }
fake_field() { fake_log "$1" | jq -r --arg f "$2" '.requests[][$f] // "null"'; }

# --- passthrough ----------------------------------------------------------------------

@test "a native Messages stream passes through byte for byte" {
  local sse='event: message_start
data: {"type":"message_start","message":{"id":"msg_x","type":"message","role":"assistant","model":"claude-sonnet-4.5","content":[],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"gr\u00fc\u00df"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}

event: message_stop
data: {"type":"message_stop"}

'
  fake_script messages "$(jq -cn --arg b "$sse" '[{body: $b, content_type: "text/event-stream"}]')"
  serve_start
  msg '/v1/messages?beta=true' "$(messages_json claude-sonnet-4.5 hi true)"
  assert_equal "$STATUS" "200"
  cmp <(printf '%s' "$sse") "$BATS_TEST_TMPDIR/body"
  assert_equal "$(fake_count chat)" "0"
  eventually 'log_lines | grep -q "POST /v1/messages model=claude-sonnet-4.5 stream api=messages upstream=/v1/messages passthrough initiator=user status=200"'
}

@test "a passed-through Messages request keeps anthropic-version, the known betas, and loses the fields Copilot refuses" {
  serve_start
  local body='{"model":"claude-sonnet-4.5","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"context_management":{"edits":[]},"output_config":{"effort":"low"}}'
  msg /v1/messages "$body" -H 'anthropic-beta: interleaved-thinking-2025-05-14, files-api-2025-04-14,fine-grained-tool-streaming-2025-05-14'
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.type + " " + .content[0].text' <<<"$BODY")" "message You said: hi"
  assert_equal "$(fake_last messages '["anthropic_version"]')" "2023-06-01"
  assert_equal "$(fake_last messages '["anthropic_beta"]')" "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
  assert_equal "$(fake_last messages '["body"]' | jq -c 'keys')" '["max_tokens","messages","model"]'
  eventually 'log_lines | grep -q "POST /v1/messages .* passthrough .* dropped=context_management,output_config"'
  # a request without such fields goes on as it came, byte for byte
  body='{"model":"claude-sonnet-4.5", "max_tokens":64,"messages":[{"role":"user","content":"same"}]}'
  msg /v1/messages "$body"
  assert_equal "$(fake_last messages '["body"]')" "$body"
}

# --- Messages -> Chat -------------------------------------------------------------------

@test "a Messages request for a Chat-only model is translated, whole" {
  serve_start
  msg /v1/messages '{"model":"claude-3.5-sonnet","max_tokens":100,"system":[{"type":"text","text":"be kind"}],"messages":[{"role":"user","content":"hello"}],"stop_sequences":["END"],"temperature":0.2}'
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.type' <<<"$BODY")" "message"
  assert_equal "$(jq -r '.role' <<<"$BODY")" "assistant"
  assert_equal "$(jq -r '.model' <<<"$BODY")" "claude-3.5-sonnet"
  assert_equal "$(jq -c '.content' <<<"$BODY")" '[{"type":"text","text":"You said: hello"}]'
  assert_equal "$(jq -r '.stop_reason' <<<"$BODY")" "end_turn"
  [[ "$(jq -r '.usage.output_tokens' <<<"$BODY")" -gt 0 ]]
  assert_equal "$(fake_count messages)" "0"
  assert_equal "$(fake_last chat '["body"]' | jq -c '[.messages[0].role, .messages[0].content, .stop, .max_tokens]')" '["system","be kind",["END"],100]'
}

@test "a Messages stream for a Chat-only model has every event type, in order" {
  serve_start
  msg /v1/messages "$(messages_json claude-3.5-sonnet 'stream me please' true)"
  assert_equal "$STATUS" "200"
  assert_equal "$(header_value Content-Type)" "text/event-stream"
  local names
  names="$(event_names)"
  [[ "$names" == "message_start content_block_start content_block_delta"* ]]
  [[ "$names" == *"content_block_stop message_delta message_stop" ]]
  names_match_types
  assert_equal "$(stream_text)" "You said: stream me please"
  assert_equal "$(events | grep '^message_delta ' | cut -d' ' -f2- | jq -r '.delta.stop_reason')" "end_turn"
  [[ "$(events | grep '^message_delta ' | cut -d' ' -f2- | jq '.usage.output_tokens')" -gt 0 ]]
  eventually 'log_lines | grep -q "POST /v1/messages model=claude-3.5-sonnet stream api=messages upstream=/chat/completions translated initiator=user status=200 .*input_tokens=[0-9]* output_tokens=[0-9]*"'
}

@test "a tool_use round trip through Chat: tool_use, tool_result, text; X-Initiator user then agent" {
  fake_script chat '[{"stream": {"tool_calls": [{"name": "Bash", "arguments": {"command": "ls"}, "id": "call_b1"}]}}]'
  serve_start
  local tools='[{"name":"Bash","description":"run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}]'
  msg /v1/messages "{\"model\":\"claude-3.5-sonnet\",\"max_tokens\":200,\"stream\":true,\"tools\":$tools,\"messages\":[{\"role\":\"user\",\"content\":\"list\"}]}"
  assert_equal "$STATUS" "200"
  assert_equal "$(events | grep '^content_block_start ' | cut -d' ' -f2- | jq -c 'select(.content_block.type == "tool_use") | .content_block | {id, name}')" '{"id":"call_b1","name":"Bash"}'
  assert_equal "$(events | grep '^content_block_delta ' | cut -d' ' -f2- | jq -r 'select(.delta.type == "input_json_delta") | .delta.partial_json' | paste -sd '' -)" '{"command":"ls"}'
  assert_equal "$(events | grep '^message_delta ' | cut -d' ' -f2- | jq -r '.delta.stop_reason')" "tool_use"
  local msgs='[{"role":"user","content":"list"},{"role":"assistant","content":[{"type":"tool_use","id":"call_b1","name":"Bash","input":{"command":"ls"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_b1","content":[{"type":"text","text":"a.txt"}]}]}]'
  msg /v1/messages "{\"model\":\"claude-3.5-sonnet\",\"max_tokens\":200,\"tools\":$tools,\"messages\":$msgs}"
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.content[0].text' <<<"$BODY")" "You said: list"
  assert_equal "$(fake_last chat '["body"]' | jq -c '[.messages[] | .role]')" '["user","assistant","tool"]'
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[2].tool_call_id + "=" + .messages[2].content')" "call_b1=a.txt"
  assert_equal "$(fake_field chat initiator | paste -sd' ' -)" "user agent"
}

@test "an image block goes to a Chat model as image_url, with Copilot-Vision-Request" {
  serve_start
  msg /v1/messages '{"model":"claude-3.5-sonnet","max_tokens":50,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"what?"}]}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last chat '["vision"]')" "true"
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[0].content[0].image_url.url')" "data:image/png;base64,iVBORw0KGgo="
}

@test "thinking blocks of earlier turns are dropped on the way to Chat" {
  serve_start
  msg /v1/messages '{"model":"claude-3.5-sonnet","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"b"}]},{"role":"user","content":"c"}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last chat '["body"]' | jq -c '[.messages[] | .content]')" '["a","b","c"]'
  eventually 'log_lines | grep -q "translated .*dropped=.*thinking"'
}

@test "a translated Messages stream whose upstream fails ends with an error event" {
  fake_script chat '[{"stream": {"error_after": 1}}]'
  serve_start
  msg /v1/messages "$(messages_json claude-3.5-sonnet 'one two three four' true)"
  assert_equal "$STATUS" "200"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "error"
  assert_equal "$(events | tail -n1 | cut -d' ' -f2- | jq -r '.type + " " + (.error.type | type)')" "error string"
  ! event_names | grep -q message_stop
}

@test "a translated Messages stream whose upstream is cut ends with an error event" {
  fake_script chat '[{"cut": 250}]'
  serve_start
  msg /v1/messages "$(messages_json claude-3.5-sonnet 'one two three four five six seven' true)"
  assert_equal "$STATUS" "200"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "error"
  assert_equal "$(events | tail -n1 | cut -d' ' -f2- | jq -r '.error.type')" "api_error"
}

@test "a silent upstream gets the client ping events (--ping-interval)" {
  fake_script chat '[{"stream": {"chunks": ["a", "b"], "no_empty_first": true}, "drip": 0.02}]'
  serve_start --ping-interval 1
  msg /v1/messages "$(messages_json claude-3.5-sonnet x true)"
  assert_equal "$STATUS" "200"
  [[ "$(event_names)" == "message_start "*"ping"*"message_stop" ]]
  assert_equal "$(stream_text)" "ab"
}

# --- Messages -> Chat -> Responses ----------------------------------------------------

@test "a Messages request for a Responses-only model goes through Chat to /responses, whole" {
  serve_start
  msg /v1/messages "$(messages_json gpt-5-codex 'hi codex')"
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -c '[.type, .content[0].text, .stop_reason]' <<<"$BODY")" '["message","You said: hi codex","end_turn"]'
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_last responses '["endpoint"]')" "/responses"
}

@test "a Messages stream for a Responses-only model has every event type, in order" {
  serve_start
  msg /v1/messages "$(messages_json gpt-5-codex 'stream codex' true)"
  assert_equal "$STATUS" "200"
  [[ "$(event_names)" == "message_start content_block_start content_block_delta"*"content_block_stop message_delta message_stop" ]]
  names_match_types
  assert_equal "$(stream_text)" "You said: stream codex"
  eventually 'log_lines | grep -q "POST /v1/messages model=gpt-5-codex stream api=messages upstream=/responses translated"'
}

@test "a tool_use round trip through Responses, streamed; X-Initiator user then agent" {
  fake_script responses '[{"stream": {"tool_calls": [{"name": "Read", "arguments": {"path": "a"}, "id": "call_r1"}]}}]'
  serve_start
  local tools='[{"name":"Read","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}}]'
  msg /v1/messages "{\"model\":\"gpt-5-codex\",\"max_tokens\":200,\"stream\":true,\"tools\":$tools,\"messages\":[{\"role\":\"user\",\"content\":\"read a\"}]}"
  assert_equal "$(events | grep '^content_block_start ' | cut -d' ' -f2- | jq -r 'select(.content_block.type == "tool_use") | .content_block.name')" "Read"
  assert_equal "$(events | grep '^content_block_delta ' | cut -d' ' -f2- | jq -r 'select(.delta.type == "input_json_delta") | .delta.partial_json' | paste -sd '' -)" '{"path":"a"}'
  assert_equal "$(events | grep '^message_delta ' | cut -d' ' -f2- | jq -r '.delta.stop_reason')" "tool_use"
  local id
  id="$(events | grep '^content_block_start ' | cut -d' ' -f2- | jq -r 'select(.content_block.type == "tool_use") | .content_block.id')"
  local msgs
  msgs="$(jq -cn --arg id "$id" '[{role:"user",content:"read a"},{role:"assistant",content:[{type:"tool_use",id:$id,name:"Read",input:{path:"a"}}]},{role:"user",content:[{type:"tool_result",tool_use_id:$id,content:"file text",is_error:false}]}]')"
  msg /v1/messages "{\"model\":\"gpt-5-codex\",\"max_tokens\":200,\"stream\":true,\"tools\":$tools,\"messages\":$msgs}"
  assert_equal "$(stream_text)" "You said: read a"
  assert_equal "$(fake_last responses '["body"]' | jq -c '[.input[] | .type // "message"]')" '["message","function_call","function_call_output"]'
  assert_equal "$(fake_field responses initiator | paste -sd' ' -)" "user agent"
}

@test "an image block goes through Chat to a Responses-only model as input_image, with Copilot-Vision-Request" {
  serve_start
  msg /v1/messages '{"model":"gpt-5-codex","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last responses '["vision"]')" "true"
  assert_equal "$(fake_last responses '["body"]' | jq -r '[.input[0].content[] | select(.type == "input_image") | .image_url] | .[0]')" "https://example.com/a.png"
}

@test "a translated Messages stream through Responses whose upstream fails ends with an error event" {
  fake_script responses '[{"stream": {"error_after": 1}}]'
  serve_start
  msg /v1/messages "$(messages_json gpt-5-codex 'one two three four' true)"
  assert_equal "$STATUS" "200"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "error"
}

# --- errors in Anthropic's shape ------------------------------------------------------

# anthropic_error STATUS TYPE: the last answer is that error, in Anthropic's shape.
anthropic_error() {
  assert_equal "$STATUS" "$1"
  assert_equal "$(jq -r '.type' <<<"$BODY")" "error"
  assert_equal "$(jq -r '.error.type' <<<"$BODY")" "$2"
  [[ -n "$(jq -r '.error.message' <<<"$BODY")" ]]
}

@test "a missing or wrong key is a 401 authentication_error; x-api-key and Bearer both work" {
  local key="$BATS_TEST_TMPDIR/key"
  (umask 077 && echo "sk-anthropic-style-key-123" >"$key")
  serve_start --api-key-file "$key"
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)"
  anthropic_error 401 authentication_error
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)" -H 'x-api-key: wrong-key-wrong-key'
  anthropic_error 401 authentication_error
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)" -H 'x-api-key: sk-anthropic-style-key-123'
  assert_equal "$STATUS" "200"
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)" -H 'Authorization: Bearer sk-anthropic-style-key-123'
  assert_equal "$STATUS" "200"
  # an OpenAI client may use x-api-key too; its errors stay OpenAI's
  req POST /v1/chat/completions -d '{}' -H 'x-api-key: nope'
  assert_equal "$STATUS" "401"
  assert_equal "$(jq -r '.error.type' <<<"$BODY")" "authentication_error"
  assert_equal "$(jq -r '.type' <<<"$BODY")" "null"
}

@test "an unknown model is a 404 not_found_error listing close matches" {
  serve_start
  msg /v1/messages "$(messages_json claude-sonet-4.5 hi)"
  anthropic_error 404 not_found_error
  [[ "$(jq -r '.error.message' <<<"$BODY")" == *"claude-sonnet-4.5"* ]]
  assert_equal "$(fake_count messages)" "0"
}

@test "an unknown path under /v1/messages is a 404 in Anthropic's shape, a wrong method 405" {
  serve_start
  msg /v1/messages/batches '{}'
  anthropic_error 404 not_found_error
  req GET /v1/messages
  anthropic_error 405 invalid_request_error
}

@test "a body over --max-body is a 413 request_too_large" {
  serve_start --max-body 1K
  msg /v1/messages "$(messages_json claude-sonnet-4.5 "$(head -c 3000 /dev/zero | tr '\0' x)")"
  anthropic_error 413 request_too_large
}

@test "an untranslatable field is a 400 invalid_request_error naming it" {
  serve_start
  msg /v1/messages '{"model":"claude-3.5-sonnet","max_tokens":10,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}'
  anthropic_error 400 invalid_request_error
  [[ "$(jq -r '.error.message' <<<"$BODY")" == *"tools[0]"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "upstream errors are converted to Anthropic's shape with their status; 429 keeps retry-after" {
  fake_script chat '[{"status": 429, "retry_after": 4}, {"status": 500}, {"status": 529}, {"status": 404}]'
  serve_start
  msg /v1/messages "$(messages_json claude-3.5-sonnet hi)"
  anthropic_error 429 rate_limit_error
  assert_equal "$(header_value Retry-After)" "4"
  msg /v1/messages "$(messages_json claude-3.5-sonnet hi)"
  anthropic_error 500 api_error
  msg /v1/messages "$(messages_json claude-3.5-sonnet hi)"
  anthropic_error 529 overloaded_error
  msg /v1/messages "$(messages_json claude-3.5-sonnet hi)"
  anthropic_error 404 not_found_error
}

@test "an upstream error on a passthrough stays Anthropic's own" {
  fake_script messages '[{"status": 529}]'
  serve_start
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)"
  anthropic_error 529 overloaded_error
}

@test "while the login is pending a Messages client gets a 503 in Anthropic's shape" {
  unset GITHUB_COPILOT_TOKEN
  fake_config '{"approval": "manual", "interval": 1}'
  serve_start
  msg /v1/messages "$(messages_json claude-sonnet-4.5 hi)"
  anthropic_error 503 api_error
}

# --- model names, count_tokens --------------------------------------------------------

@test "Anthropic model names are mapped to the catalogue's ids, and the mapping logged" {
  serve_start
  msg /v1/messages "$(messages_json claude-sonnet-4-5-20250929 hi)"
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last messages '["model"]')" "claude-sonnet-4.5"
  # the answer names the model the client asked for
  assert_equal "$(jq -r '.model' <<<"$BODY")" "claude-sonnet-4.5"
  eventually 'log_lines | grep -q "POST /v1/messages model=claude-sonnet-4.5 asked=claude-sonnet-4-5-20250929 api=messages upstream=/v1/messages passthrough"'
}

@test "--model-map sends a name upstream as another model" {
  serve_start --model-map claude-haiku-4-5=gpt-4.1 --model-map other=x
  msg /v1/messages "$(messages_json claude-haiku-4-5 mapped)"
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last chat '["model"]')" "gpt-4.1"
  assert_equal "$(jq -r '.content[0].text' <<<"$BODY")" "You said: mapped"
  assert_equal "$(jq -r '.model' <<<"$BODY")" "claude-haiku-4-5"
  eventually 'log_lines | grep -q "model=gpt-4.1 asked=claude-haiku-4-5 api=messages upstream=/chat/completions translated"'
}

@test "--model-map needs FROM=TO" {
  run -64 copilot-serve --model-map nothing
  [[ "$output" == *"--model-map"* ]]
}

@test "count_tokens answers an estimate here, without an upstream request" {
  serve_start
  msg /v1/messages/count_tokens '{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"one two three four five six seven eight nine ten"}]}'
  assert_equal "$STATUS" "200"
  local n
  n="$(jq -r '.input_tokens' <<<"$BODY")"
  [[ "$n" -ge 10 ]]
  assert_equal "$(jq -c 'keys' <<<"$BODY")" '["input_tokens"]'
  assert_equal "$(fake_count messages)" "0"
  assert_equal "$(fake_count chat)" "0"
  # a longer conversation counts more
  msg /v1/messages/count_tokens "{\"model\":\"claude-sonnet-4.5\",\"system\":\"$(printf 'word %.0s' {1..200})\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"
  [[ "$(jq -r '.input_tokens' <<<"$BODY")" -gt "$n" ]]
  msg /v1/messages/count_tokens '{"model":"claude-sonnet-4.5"}'
  anthropic_error 400 invalid_request_error
}

@test "a translated stream cut at the end of --grace ends with Anthropic's error event" {
  fake_script chat '[{"stream": {"repeat_chunk": "x", "count": 100000}, "drip": 0.001}]'
  serve_start --grace 1
  curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/got" -H 'Content-Type: application/json' \
    --data-binary "$(messages_json claude-3.5-sonnet x true)" "$SERVE_URL/v1/messages" 2>/dev/null 3>&- &
  local client=$!
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ] && [ "$(wc -c <"$BATS_TEST_TMPDIR/got")" -gt 400 ]'
  local pid=$SERVE_PID status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  wait "$client" || true
  BODY="$(cat "$BATS_TEST_TMPDIR/got")"
  assert_equal "$(event_names | tr ' ' '\n' | head -n1)" "message_start"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "error"
  assert_equal "$(events | tail -n1 | cut -d' ' -f2- | jq -r '.type + " " + .error.type')" "error api_error"
}
