#!/usr/bin/env bats
# copilot-serve's OpenAI wire APIs against the fake (ARCHITECTURE.md, "Wire
# APIs"): Chat and Responses requests passed through when the model takes
# the client's API (byte for byte), translated when it does not (whole
# answers and streams, tool-call round trips, images), X-Initiator and
# Copilot-Vision-Request upstream, the model list with its endpoints, the
# 400 for what cannot be translated, a translated stream that breaks, and the
# `openai` npm client itself.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() { serve_setup; }

teardown() { serve_teardown; }

# post PATH JSON [curl args]: a JSON POST; STATUS, BODY, $HDRS as req.
post() {
  local path="$1" body="$2"
  shift 2
  req POST "$path" -H 'Content-Type: application/json' -d "$body" "$@"
}

# The events of the SSE stream in $BODY, one a line: "NAME DATA" (NAME "-" when none).
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

# The names of the events in $BODY, joined by spaces.
event_names() { events | cut -d' ' -f1 | paste -sd' ' -; }

# The text of a Responses stream in $BODY: its output_text deltas joined.
responses_text() {
  events | python3 -c 'import json, sys
print("".join(json.loads(l.split(" ", 1)[1]).get("delta", "") for l in sys.stdin
              if l.startswith("response.output_text.delta ")))'
}

# The text of a Chat stream in $BODY: its content deltas joined.
chat_text() {
  events | python3 -c 'import json, sys
out = []
for l in sys.stdin:
    d = l.split(" ", 1)[1].strip()
    if d != "[DONE]":
        for c in json.loads(d).get("choices", []):
            out.append(c.get("delta", {}).get("content") or "")
print("".join(out))'
}

# The fake's log entries for ROUTE, one field a line: fake_field ROUTE FIELD.
fake_field() { fake_log "$1" | jq -r --arg f "$2" '.requests[][$f] // "null"'; }

# --- the model list -------------------------------------------------------------------

@test "GET /v1/models lists every model with its supported_endpoints unchanged" {
  serve_start
  req GET /v1/models
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.object' <<<"$BODY")" "list"
  assert_equal "$(jq -c '.data[] | select(.id == "gpt-5-codex") | .supported_endpoints' <<<"$BODY")" '["/responses"]'
  assert_equal "$(jq -c '.data[] | select(.id == "claude-sonnet-4.5") | .supported_endpoints' <<<"$BODY")" '["/chat/completions","/v1/messages"]'
  # every entry the upstream has, with OpenAI's fields added
  assert_equal "$(jq '.data | length' <<<"$BODY")" "$(curl -sS --noproxy '*' "$FAKE_URL/models" -H "Authorization: Bearer $(fake_copilot_token)" -H 'Editor-Version: vscode/1.104.3' | jq '.data | length')"
  assert_equal "$(jq -r '[.data[] | .object == "model" and (.owned_by | type) == "string"] | all' <<<"$BODY")" "true"
}

# --- passthrough ----------------------------------------------------------------------

@test "a native Responses stream passes through byte for byte" {
  local sse='event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_x","object":"response","status":"in_progress","output":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"h\u00e9"}

event: response.completed
data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_x","object":"response","status":"completed","output":[],"usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2}}}

'
  fake_script responses "$(jq -cn --arg b "$sse" '[{body: $b, content_type: "text/event-stream"}]')"
  serve_start
  post /v1/responses '{"model":"gpt-5-codex","stream":true,"input":"hi"}'
  assert_equal "$STATUS" "200"
  cmp <(printf '%s' "$sse") "$BATS_TEST_TMPDIR/body"
  assert_equal "$(fake_field responses endpoint)" "/responses"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-5-codex stream api=responses upstream=/responses passthrough initiator=user status=200"'
}

@test "a Chat request for a model that takes Chat passes through unchanged" {
  serve_start
  local body='{"model":"gpt-4.1", "messages":[{"role":"user","content":"as sent"}],"temperature":0.5}'
  post /v1/chat/completions "$body"
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last chat '["body"]')" "$body"
  assert_equal "$(jq -r '.object' <<<"$BODY")" "chat.completion"
}

# --- Responses client, chat-only model ------------------------------------------------

@test "a Responses request on a chat-only model is translated, whole" {
  serve_start
  post /v1/responses '{"model":"gpt-4.1","instructions":"be brief","input":"hello there","max_output_tokens":100}'
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.object' <<<"$BODY")" "response"
  assert_equal "$(jq -r '.status' <<<"$BODY")" "completed"
  assert_equal "$(jq -r '.model' <<<"$BODY")" "gpt-4.1"
  assert_equal "$(jq -r '.output[0].content[0].text' <<<"$BODY")" "You said: hello there"
  [[ "$(jq -r '.usage.input_tokens' <<<"$BODY")" -gt 0 ]]
  # upstream: one Chat request, the instructions as a system message
  assert_equal "$(fake_count responses)" "0"
  assert_equal "$(fake_last chat '["endpoint"]')" "/chat/completions"
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[0].role + ":" + .messages[0].content')" "system:be brief"
  assert_equal "$(fake_last chat '["body"]' | jq -r '.max_tokens')" "100"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-4.1 api=responses upstream=/chat/completions translated initiator=user status=200 .* input_tokens=[0-9]* output_tokens=[0-9]*"'
}

@test "a Responses stream on a chat-only model is translated event by event" {
  serve_start
  post /v1/responses '{"model":"gpt-4.1","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"stream me"}]}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(header_value Content-Type)" "text/event-stream"
  local names
  names="$(event_names)"
  [[ "$names" == "response.created "* ]]
  [[ "$names" == *"response.output_item.added response.content_part.added response.output_text.delta"* ]]
  [[ "$names" == *"response.output_text.done response.content_part.done response.output_item.done response.completed" ]]
  assert_equal "$(responses_text)" "You said: stream me"
  # sequence_number counts every event from 0
  assert_equal "$(events | cut -d' ' -f2- | jq -s -c '[.[].sequence_number] == [range(length)]')" "true"
  [[ "$(events | tail -n1 | cut -d' ' -f2- | jq '.response.usage.output_tokens')" -gt 0 ]]
  assert_equal "$(fake_last chat '["body"]' | jq -r '.stream')" "true"
}

# header_value NAME: the value of a response header of the last req.
header_value() { sed -n "s/^$1: *\\([^;]*\\).*\\r\$/\\1/Ip" "$HDRS" | head -n1; }

@test "a Responses tool-call round trip on a chat-only model: call, output, answer; X-Initiator user then agent" {
  fake_script chat '[{"stream": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}]}}]'
  serve_start
  local tools='[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]'
  post /v1/responses "{\"model\":\"gpt-4.1\",\"input\":\"weather in Paris?\",\"tools\":$tools}"
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -c '[.output[] | select(.type == "function_call") | {call_id, name, arguments: (.arguments | fromjson)}]' <<<"$BODY")" \
    '[{"call_id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]'
  assert_equal "$(fake_last chat '["body"]' | jq -c '.tools[0].function.name')" '"get_weather"'
  # the tool's output goes back; the model answers
  local input='[{"role":"user","content":"weather in Paris?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_1","output":"sunny"}]'
  post /v1/responses "{\"model\":\"gpt-4.1\",\"input\":$input,\"tools\":$tools}"
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.output[-1].content[0].text' <<<"$BODY")" "You said: weather in Paris?"
  assert_equal "$(fake_last chat '["body"]' | jq -c '[.messages[] | .role]')" '["user","assistant","tool"]'
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[2].tool_call_id + "=" + .messages[2].content')" "call_1=sunny"
  assert_equal "$(fake_field chat initiator | paste -sd' ' -)" "user agent"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-4.1 api=responses upstream=/chat/completions translated initiator=agent status=200"'
}

@test "a streamed Responses tool call on a chat-only model comes as function_call events" {
  fake_script chat '[{"stream": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}}]'
  serve_start
  post /v1/responses '{"model":"gpt-4.1","stream":true,"input":"weather?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}'
  assert_equal "$STATUS" "200"
  [[ "$(event_names)" == *"response.function_call_arguments.delta"*"response.function_call_arguments.done"*"response.completed" ]]
  assert_equal "$(events | grep '^response.output_item.done ' | cut -d' ' -f2- | jq -r 'select(.item.type == "function_call") | .item.name + " " + .item.arguments')" 'get_weather {"city":"Oslo"}'
}

@test "an image in a Responses request goes to a Chat model as image_url, with Copilot-Vision-Request" {
  serve_start
  post /v1/responses '{"model":"gpt-4.1","input":[{"role":"user","content":[{"type":"input_text","text":"what is this?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last chat '["vision"]')" "true"
  assert_equal "$(fake_last chat '["body"]' | jq -r '.messages[-1].content[1].image_url.url')" "data:image/png;base64,iVBORw0KGgo="
  # without an image, no such header
  post /v1/responses '{"model":"gpt-4.1","input":"no image"}'
  assert_equal "$(fake_last chat '["vision"]')" "null"
}

@test "a Responses field that cannot be translated is a 400 in OpenAI's shape naming it" {
  serve_start
  post /v1/responses '{"model":"gpt-4.1","input":"search","tools":[{"type":"web_search"}]}'
  assert_equal "$STATUS" "400"
  assert_equal "$(jq -r '.error.type' <<<"$BODY")" "invalid_request_error"
  [[ "$(jq -r '.error.message' <<<"$BODY")" == *"tools[0].type"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "a translated Responses stream whose upstream fails ends with response.failed" {
  fake_script chat '[{"stream": {"error_after": 1}}]'
  serve_start
  post /v1/responses '{"model":"gpt-4.1","stream":true,"input":"one two three four"}'
  assert_equal "$STATUS" "200"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "response.failed"
  [[ "$(event_names)" != *"response.completed"* ]]
}

@test "a translated Responses stream whose upstream is cut ends with response.failed" {
  fake_script chat '[{"cut": 300}]'
  serve_start
  post /v1/responses '{"model":"gpt-4.1","stream":true,"input":"one two three four five six seven eight"}'
  assert_equal "$STATUS" "200"
  assert_equal "$(event_names | tr ' ' '\n' | tail -n1)" "response.failed"
  eventually 'log_lines | grep -q "POST /v1/responses .* translated .*note=\"upstream cut off\""'
}

# --- Chat client, Responses-only model ------------------------------------------------

@test "a Chat request for a Responses-only model is translated, whole" {
  serve_start
  post /v1/chat/completions '{"model":"gpt-5-codex","messages":[{"role":"system","content":"terse"},{"role":"user","content":"hi codex"}],"max_tokens":64}'
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.object' <<<"$BODY")" "chat.completion"
  assert_equal "$(jq -r '.choices[0].message.content' <<<"$BODY")" "You said: hi codex"
  assert_equal "$(jq -r '.choices[0].finish_reason' <<<"$BODY")" "stop"
  [[ "$(jq -r '.usage.completion_tokens' <<<"$BODY")" -gt 0 ]]
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_last responses '["body"]' | jq -r '.instructions // .input[0].content')" "terse"
  assert_equal "$(fake_last responses '["body"]' | jq -r '.max_output_tokens')" "64"
  assert_equal "$(fake_last responses '["body"]' | jq -r '.store')" "false"
}

@test "a Chat stream for a Responses-only model comes as chat.completion.chunk events and [DONE]" {
  serve_start
  post /v1/chat/completions '{"model":"gpt-5-codex","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream codex"}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(chat_text)" "You said: stream codex"
  assert_equal "$(events | tail -n1)" "- [DONE]"
  assert_equal "$(events | grep -v DONE | cut -d' ' -f2- | jq -r '.object' | sort -u)" "chat.completion.chunk"
  # the usage chunk asked for, before [DONE]
  [[ "$(events | tail -n2 | head -n1 | cut -d' ' -f2- | jq '.usage.completion_tokens')" -gt 0 ]]
}

@test "a Chat tool-call round trip on a Responses-only model, streamed; X-Initiator user then agent" {
  fake_script responses '[{"stream": {"tool_calls": [{"name": "run", "arguments": {"cmd": "ls"}, "id": "call_9"}]}}]'
  serve_start
  local tools='[{"type":"function","function":{"name":"run","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}}}]'
  post /v1/chat/completions "{\"model\":\"gpt-5-codex\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"list files\"}],\"tools\":$tools}"
  assert_equal "$STATUS" "200"
  local calls
  calls="$(events | grep -v DONE | cut -d' ' -f2- | jq -s -c '[.[].choices[]?.delta.tool_calls[]?]')"
  assert_equal "$(jq -r '[.[].function.arguments // ""] | join("")' <<<"$calls")" '{"cmd":"ls"}'
  assert_equal "$(jq -r '[.[].id // empty] | .[0]' <<<"$calls")" "call_9"
  assert_equal "$(events | grep -v DONE | cut -d' ' -f2- | jq -r '.choices[]?.finish_reason // empty')" "tool_calls"
  assert_equal "$(fake_last responses '["body"]' | jq -c '.tools[0] | {type, name}')" '{"type":"function","name":"run"}'
  local msgs='[{"role":"user","content":"list files"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"run","arguments":"{\"cmd\":\"ls\"}"}}]},{"role":"tool","tool_call_id":"call_9","content":"a.txt"}]'
  post /v1/chat/completions "{\"model\":\"gpt-5-codex\",\"stream\":true,\"messages\":$msgs,\"tools\":$tools}"
  assert_equal "$(chat_text)" "You said: list files"
  assert_equal "$(fake_last responses '["body"]' | jq -c '[.input[] | .type // "message"]')" '["message","function_call","function_call_output"]'
  assert_equal "$(fake_field responses initiator | paste -sd' ' -)" "user agent"
}

@test "a Chat request with an image for a Responses-only model sends input_image and the vision header" {
  serve_start
  post /v1/chat/completions '{"model":"gpt-5-codex","messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_last responses '["vision"]')" "true"
  assert_equal "$(fake_last responses '["body"]' | jq -r '.input[0].content[1].type + " " + .input[0].content[1].image_url')" "input_image https://example.com/cat.png"
}

@test "a translated Chat stream whose upstream fails ends with an error chunk and no [DONE]" {
  fake_script responses '[{"stream": {"error_after": 1}}]'
  serve_start
  post /v1/chat/completions '{"model":"gpt-5-codex","stream":true,"messages":[{"role":"user","content":"one two three four"}]}'
  assert_equal "$STATUS" "200"
  [[ "$(events | tail -n1 | cut -d' ' -f2- | jq -r '.error.message')" == *"fake mid-stream error"* ]]
  ! events | grep -q DONE
}

@test "an upstream error on a translated request comes back in the client's shape, Retry-After kept" {
  fake_script chat '[{"status": 429, "retry_after": 9}]'
  serve_start
  post /v1/responses '{"model":"gpt-4.1","input":"x"}'
  assert_equal "$STATUS" "429"
  assert_equal "$(header_value Retry-After)" "9"
  assert_equal "$(jq -r '.error.code' <<<"$BODY")" "rate_limited"
}

@test "a stale catalogue is fetched again after unsupported_api_for_model, and the request resent" {
  serve_start
  # the catalogue says gpt-5-codex takes Chat; the upstream says it does not
  mkdir -p "$XDG_CACHE_HOME/copilot-utils/catalogue"
  req GET /v1/models
  local stale
  stale="$(jq -c '{data: [.data[] | if .id == "gpt-5-codex" then .supported_endpoints = ["/chat/completions"] else . end]}' <<<"$BODY")"
  serve_stop
  local f
  f="$(ls "$XDG_CACHE_HOME"/copilot-utils/catalogue/*.json)"
  jq -c --argjson m "$stale" '.models = $m' "$f" >"$f.new" && chmod 600 "$f.new" && mv "$f.new" "$f"
  serve_start
  post /v1/chat/completions '{"model":"gpt-5-codex","messages":[{"role":"user","content":"reroute"}]}'
  assert_equal "$STATUS" "200"
  assert_equal "$(jq -r '.choices[0].message.content' <<<"$BODY")" "You said: reroute"
  assert_equal "$(fake_last chat '["status"]')" "400"
  assert_equal "$(fake_count responses)" "1"
}

# --- the openai npm client -------------------------------------------------------------

@test "the openai npm client: responses.create whole and streamed, chat.completions on gpt-5-codex" {
  [[ -d "$REPO/tests/node_modules/openai" ]] || {
    echo "tests/node_modules is missing: make node-deps (npm ci --prefix tests)" >&2
    return 1
  }
  serve_start
  # the last call's stream fails after one delta (the first five calls are not scripted)
  fake_script chat '[{"repeat": 2}, {"stream": {"error_after": 1}}]'
  run -0 env OPENAI_BASE_URL="$SERVE_URL/v1" node "$REPO/tests/clients/openai_responses.mjs"
  assert_line --index 0 '{"call":"responses","model":"gpt-4.1","text":"You said: whole gpt-4.1","status":"completed","usage":true}'
  assert_line --index 1 '{"call":"responses-stream","model":"gpt-4.1","text":"You said: streamed gpt-4.1","last":"response.completed"}'
  assert_line --index 2 '{"call":"responses","model":"gpt-5-codex","text":"You said: whole gpt-5-codex","status":"completed","usage":true}'
  assert_line --index 3 '{"call":"responses-stream","model":"gpt-5-codex","text":"You said: streamed gpt-5-codex","last":"response.completed"}'
  assert_line --index 4 '{"call":"chat","model":"gpt-5-codex","text":"You said: chat codex","finish":"stop"}'
  assert_line --index 5 '{"call":"chat-stream","model":"gpt-5-codex","text":"You said: chat stream codex"}'
  assert_line --index 6 '{"call":"responses-fail","last":"response.failed"}'
  # translated where the model needs it, passed through where it does not
  eventually '[ "$(log_lines | grep -c "POST /v1/responses model=gpt-4.1 .*upstream=/chat/completions translated")" -eq 3 ]'
  eventually '[ "$(log_lines | grep -c "POST /v1/responses model=gpt-5-codex .*upstream=/responses passthrough")" -eq 2 ]'
  eventually '[ "$(log_lines | grep -c "POST /v1/chat/completions model=gpt-5-codex .*upstream=/responses translated")" -eq 2 ]'
}
