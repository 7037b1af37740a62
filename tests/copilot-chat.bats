#!/usr/bin/env bats
# copilot-chat against the fake Copilot API: prompts from arguments, stdin and
# --messages; streamed and non-streamed answers; the SSE edge cases the server
# can produce; errors and retries with their exit codes; --list-models; and
# manners in a pipeline.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  # An open stdin of the test runner must never look like a piped prompt.
  exec </dev/null
  # The library exchanges this GitHub token (valid on the fake) when it needs a Copilot token.
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  OUT="$BATS_TEST_TMPDIR/out"
  ERR="$BATS_TEST_TMPDIR/err"
}

# The last chat request's JSON body, or a field of it.
last_body() { fake_last chat '["body"]' | json_get - "${1:-}"; }

# A token document for --token-file, minted by the fake server.
token_file() {
  local f="$BATS_TEST_TMPDIR/token.json"
  fake_token_json "$@" >"$f"
  chmod 600 "$f"  # a token file is read only when private (74 otherwise)
  echo "$f"
}

@test "a prompt from the arguments streams the answer to stdout" {
  run --separate-stderr copilot-chat hello world
  assert_success
  assert_output "You said: hello world"
  assert_equal "$stderr" ""
  assert_equal "$(last_body '["stream"]')" "true"
  assert_equal "$(last_body '["messages"]')" '[{"role":"user","content":"hello world"}]'
}

@test "the chat request carries every Copilot header" {
  run copilot-chat hi
  assert_success
  local h
  h="$(fake_last chat '["headers"]')"
  [[ "$(json_get - '["authorization"]' <<<"$h")" == "Bearer tid="* ]]
  assert_equal "$(json_get - '["copilot-integration-id"]' <<<"$h")" "vscode-chat"
  assert_equal "$(json_get - '["editor-version"]' <<<"$h")" "vscode/1.104.3"
  assert_equal "$(json_get - '["editor-plugin-version"]' <<<"$h")" "copilot-chat/0.26.7"
  assert_equal "$(json_get - '["user-agent"]' <<<"$h")" "GitHubCopilotChat/0.26.7"
  assert_equal "$(json_get - '["openai-intent"]' <<<"$h")" "conversation-panel"
  assert_equal "$(json_get - '["x-github-api-version"]' <<<"$h")" "2025-04-01"
  assert_equal "$(json_get - '["x-initiator"]' <<<"$h")" "user"
  assert_equal "$(json_get - '["content-type"]' <<<"$h")" "application/json"
  [[ "$(json_get - '["x-request-id"]' <<<"$h")" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
}

@test "every request gets a fresh X-Request-Id" {
  run copilot-chat one
  assert_success
  run copilot-chat two
  assert_success
  local ids
  ids="$(fake_log chat | json_get - '["requests"]' | python3 -c '
import json, sys
print(len({r["headers"]["x-request-id"] for r in json.load(sys.stdin)}))')"
  assert_equal "$ids" "2"
}

@test "the prompt comes from stdin when there are no arguments" {
  run --separate-stderr copilot-chat <<<"from stdin"
  assert_success
  assert_output "You said: from stdin"
  # stdin goes as it is, final newline included
  assert_equal "$(last_body '["messages"]')" '[{"role":"user","content":"from stdin\n"}]'
}

@test "with arguments and piped stdin the argument is the instruction and stdin follows after a blank line" {
  printf 'line 1\nline 2\n' >"$BATS_TEST_TMPDIR/ctx"
  run copilot-chat review this <"$BATS_TEST_TMPDIR/ctx"
  assert_success
  assert_equal "$(last_body '["messages"][0]["content"]')" $'review this\n\nline 1\nline 2'
}

@test "--no-stdin leaves a piped stdin unread" {
  run bash -c 'echo context | copilot-chat --no-stdin just this'
  assert_success
  assert_output "You said: just this"
}

@test "without a prompt and without stdin it is a usage error" {
  run -64 --separate-stderr copilot-chat
  assert_output ""
  [[ "$stderr" == "copilot-chat: no prompt"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "an empty piped stdin is no prompt" {
  run -64 bash -c ': | copilot-chat'
  assert_equal "$(fake_count chat)" "0"
}

@test "--system and --messages go before the prompt" {
  cat >"$BATS_TEST_TMPDIR/conv.json" <<'EOF'
[{"role": "user", "content": "what is 2+2?"},
 {"role": "assistant", "content": "4"}]
EOF
  run copilot-chat --system "be brief" --messages "$BATS_TEST_TMPDIR/conv.json" and 3+3
  assert_success
  assert_equal "$(last_body '["messages"]')" \
    '[{"role":"system","content":"be brief"},{"role":"user","content":"what is 2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"and 3+3"}]'
}

@test "--messages - reads a whole conversation from stdin without a prompt" {
  run --separate-stderr copilot-chat --messages - <<<'[{"role":"user","content":"multi-turn"}]'
  assert_success
  assert_output "You said: multi-turn"
  assert_equal "$(last_body '["messages"]')" '[{"role":"user","content":"multi-turn"}]'
}

@test "a malformed --messages document is refused before any request" {
  run -65 --separate-stderr copilot-chat --messages - <<<'{"role":"user"}'
  [[ "$stderr" == *"expected a JSON array"* ]]
  run -65 --separate-stderr copilot-chat --messages - <<<'[{"content":"x"}]'
  [[ "$stderr" == *"message 1: field 'role'"* ]]
  run -65 --separate-stderr copilot-chat --messages - <<<'[{"role":'
  [[ "$stderr" == *"not valid JSON"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "--model, --temperature and --max-tokens go into the request" {
  run copilot-chat --model gpt-4o --temperature 0.2 --max-tokens 50 hi
  assert_success
  assert_equal "$(last_body '["model"]')" "gpt-4o"
  assert_equal "$(last_body '["temperature"]')" "0.2"
  assert_equal "$(last_body '["max_tokens"]')" "50"
}

@test "the model defaults to COPILOT_MODEL, else gpt-4.1" {
  run copilot-chat hi
  assert_equal "$(last_body '["model"]')" "gpt-4.1"
  COPILOT_MODEL=claude-sonnet-4 run copilot-chat hi
  assert_success
  assert_equal "$(last_body '["model"]')" "claude-sonnet-4"
}

@test "bad flag values are usage errors" {
  run -64 copilot-chat --temperature 3 hi
  run -64 copilot-chat --temperature warm hi
  run -64 copilot-chat --max-tokens 0 hi
  run -64 copilot-chat --no-such-flag hi
  run -64 copilot-chat --all hi
  run -64 copilot-chat --token-file - --messages - hi
  assert_equal "$(fake_count chat)" "0"
}

@test "--no-stream makes one non-streaming request" {
  run --separate-stderr copilot-chat --no-stream hello
  assert_success
  assert_output "You said: hello"
  assert_equal "$(last_body '["stream"]')" "false"
  assert_equal "$(fake_count chat)" "1"
}

@test "--json of a streamed answer has the shape of the non-streamed object" {
  fake_config '{"reply": "The answer is 42.\nIndeed."}'
  copilot-chat --json hi >"$BATS_TEST_TMPDIR/streamed.json"
  copilot-chat --json --no-stream hi >"$BATS_TEST_TMPDIR/plain.json"
  run python3 - "$BATS_TEST_TMPDIR/streamed.json" "$BATS_TEST_TMPDIR/plain.json" <<'EOF'
import json, sys
s, p = (json.load(open(f)) for f in sys.argv[1:3])
assert s["object"] == p["object"] == "chat.completion", (s["object"], p["object"])
assert s["model"] == p["model"], (s["model"], p["model"])
assert s["id"].startswith("chatcmpl-") and isinstance(s["created"], int)
assert s["choices"][0]["message"] == p["choices"][0]["message"], (s["choices"], p["choices"])
assert s["choices"][0]["finish_reason"] == p["choices"][0]["finish_reason"] == "stop"
assert s["choices"][0]["index"] == 0
assert set(s["usage"]) == set(p["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
print("same shape")
EOF
  assert_success
  assert_output "same shape"
  # one line of JSON each
  assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/streamed.json")" "1"
}

@test "--usage prints token counts on stderr" {
  run --separate-stderr copilot-chat --usage hello there
  assert_success
  assert_output "You said: hello there"
  [[ "$(sed -n 1p <<<"$stderr")" =~ ^copilot-chat:\ tokens:\ [0-9]+\ prompt\ \([0-9]+\ cached\)\ \+\ [0-9]+\ completion\ \([0-9]+\ reasoning\)\ =\ [0-9]+\ total$ ]]
}

@test "a CRLF stream split into 7-byte pieces keeps multi-byte UTF-8 whole" {
  # (every split of every edge case is in the parser's unit tests; this is the wire)
  fake_script chat '[{"stream": {"crlf": true, "split": 7, "no_empty_first": true, "chunks": ["h\u00e9llo ", "w\u00f6rld ", "\u4e16\u754c \ud83c\udf89"]}}]'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "héllo wörld 世界 🎉"
  assert_equal "$stderr" ""
}

@test "a CR-only stream with a BOM, comments and 5-byte reads comes out whole" {
  fake_script chat '[{"stream": {"cr": true, "bom": true, "comments": true, "split": 5, "no_empty_first": true, "chunks": ["one ", "two\n", "\u00e9"]}}]'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output $'one two\né'
}

@test "an answer without a final newline gets one and one that has it gets no second" {
  fake_script chat '[{"stream": {"chunks": ["no newline"]}}, {"stream": {"chunks": ["has one\n"]}}]'
  copilot-chat hi >"$OUT"
  assert_equal "$(od -An -c "$OUT" | tr -d ' \n')" 'nonewline\n'
  copilot-chat hi >"$OUT"
  assert_equal "$(od -An -c "$OUT" | tr -d ' \n')" 'hasone\n'
}

@test "a stream that ends without [DONE] keeps the text and exits 76" {
  fake_script chat '[{"stream": {"chunks": ["partial ", "answer"], "no_done": true}}]'
  run -76 --separate-stderr copilot-chat hi
  assert_output "partial answer"
  assert_equal "$stderr" "copilot-chat: the answer stream ended before [DONE]: it may be incomplete"
}

@test "a stream cut off mid-way keeps the text so far and exits 76" {
  fake_script chat '[{"stream": {"chunks": ["first ", "second ", "third"]}, "cut": 700}]'
  run -76 --separate-stderr copilot-chat hi
  [[ "$output" == "first"* ]]
  [[ "$stderr" == "copilot-chat: the answer was cut off"* ]]
  [[ $(wc -l <<<"$stderr") -eq 1 ]]
}

@test "a mid-stream error is reported after the text so far with exit 76" {
  fake_script chat '[{"stream": {"chunks": ["before ", "after"], "error_after": 1, "error_message": "upstream broke"}}]'
  run -76 --separate-stderr copilot-chat hi
  assert_output "before "
  assert_equal "$stderr" "copilot-chat: the server reported an error in the middle of the answer: upstream broke (server_error)"
}

@test "a mid-stream error takes its exit code from its error code" {
  fake_script chat '[{"stream": {"error_after": 0, "error_code": "rate_limited"}}]'
  run -75 copilot-chat hi
  fake_script chat '[{"stream": {"error_after": 0, "error_code": "quota_exceeded"}}]'
  run -77 copilot-chat hi
}

@test "a token the service rejects is refreshed once, visible in the request log" {
  run copilot-chat first
  assert_success
  assert_equal "$(fake_count copilot_token)" "1"
  # the cached token still looks fresh to the client, but the service expired it
  fake_ctl POST /_control/expire '{}' >/dev/null
  run --separate-stderr copilot-chat second
  assert_success
  assert_output "You said: second"
  assert_equal "$(fake_count copilot_token)" "2"
  assert_equal "$(fake_count chat)" "3"
  assert_equal "$(fake_log chat | json_get - '["requests"][1]["status"]')" "401"
}

@test "a token that is still rejected after the refresh exits 77" {
  fake_script chat '[{"status": 401, "repeat": 2}]'
  run -77 --separate-stderr copilot-chat hi
  assert_output ""
  [[ "$stderr" == *"refused a freshly refreshed token (HTTP 401)"* ]]
  assert_equal "$(fake_count chat)" "2"
}

@test "a token from --token-file is used and never refreshed: 401 exits 77 with a hint" {
  local f
  f="$(token_file)"
  unset GITHUB_COPILOT_TOKEN
  run --separate-stderr copilot-chat --token-file "$f" hi
  assert_success
  assert_output "You said: hi"
  fake_script chat '[{"status": 401}]'
  run -77 --separate-stderr copilot-chat --token-file "$f" hi
  [[ "$stderr" == *"refused the token from --token-file $f (HTTP 401)"*"copilot-token"* ]]
  assert_equal "$(fake_count chat)" "2"
  assert_equal "$(fake_count copilot_token)" "0"
}

@test "--token-file - reads copilot-token's document from stdin" {
  unset GITHUB_COPILOT_TOKEN
  fake_token_json >"$BATS_TEST_TMPDIR/doc"
  run --separate-stderr copilot-chat --token-file - hi <"$BATS_TEST_TMPDIR/doc"
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count copilot_token)" "0"
}

@test "COPILOT_TOKEN holds a bare token" {
  unset GITHUB_COPILOT_TOKEN
  COPILOT_TOKEN="$(fake_copilot_token)" run --separate-stderr copilot-chat hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count copilot_token)" "0"
}

@test "an expired token document is refused before any request" {
  unset GITHUB_COPILOT_TOKEN
  fake_token_json | python3 -c 'import json,sys; d=json.load(sys.stdin); d["expires_at"]=1000; print(json.dumps(d))' \
    >"$BATS_TEST_TMPDIR/old.json"
  chmod 600 "$BATS_TEST_TMPDIR/old.json"
  run -77 --separate-stderr copilot-chat --token-file "$BATS_TEST_TMPDIR/old.json" hi
  [[ "$stderr" == *"expired"*"copilot-token"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "a GitHub token given as the Copilot token is refused with a hint and not shown" {
  COPILOT_TOKEN=ghu_secret_value_123 run -65 --separate-stderr copilot-chat hi
  [[ "$stderr" == *"GitHub token, not a Copilot token"* ]]
  [[ "$stderr" != *"secret_value"* ]]
}

@test "the login stored by copilot-login is used; one readable by others is refused (74)" {
  unset GITHUB_COPILOT_TOKEN
  local auth="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  mkdir -p "${auth%/*}"
  fake_auth_json >"$auth"
  chmod 644 "$auth"
  run --separate-stderr copilot-chat hi
  assert_failure 74
  [[ "$stderr" == *"permissions 0644 on $auth are too open"*"run: chmod 600 $auth"* ]]
  assert_equal "$(fake_count copilot_token)" "0"
  chmod 600 "$auth"
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count copilot_token)" "1"
  # the token cache is fresh now: no exchange, so no look at the auth file either
  rm "$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  run --separate-stderr copilot-chat --quiet hi
  assert_success
  assert_equal "$stderr" ""
}

@test "without any login it exits 66" {
  unset GITHUB_COPILOT_TOKEN
  run -66 --separate-stderr copilot-chat hi
  [[ "$stderr" == *"not logged in"*"copilot-login"* ]]
}

@test "--api-url overrides COPILOT_API_URL" {
  local real="$COPILOT_API_URL"
  export COPILOT_API_URL="http://127.0.0.1:9"
  run --separate-stderr copilot-chat --api-url "$real/" hi
  assert_success
  assert_output "You said: hi"
}

@test "plain http to a host that is not loopback is refused" {
  run -64 --separate-stderr copilot-chat --api-url http://example.com hi
  [[ "$stderr" == *"only allowed to loopback"* ]]
}

@test "400 model_not_supported names the models that /models offers" {
  run -64 --separate-stderr copilot-chat --model no-such-model hi
  assert_output ""
  [[ "$stderr" == "copilot-chat: model 'no-such-model' is not supported"* ]]
  [[ "$stderr" == *"available: gpt-4.1, gpt-4o"* ]]
  [[ "$stderr" != *"text-embedding"* ]]
  assert_equal "$(fake_count models)" "1"
}

@test "402 quota_exceeded exits 77 with a clear message" {
  fake_script chat '[{"status": 402}]'
  run -77 --separate-stderr copilot-chat hi
  [[ "$stderr" == "copilot-chat: Copilot quota exceeded (HTTP 402)"* ]]
}

@test "429 with Retry-After is waited for and retried" {
  fake_script chat '[{"status": 429, "retry_after": 1}]'
  local start=$SECONDS
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count chat)" "2"
  # a loose lower bound: the client waited for Retry-After
  (( SECONDS - start >= 1 ))
}

@test "429 on every try gives up after 3 retries with exit 75" {
  fake_script chat '[{"status": 429, "retry_after": 0, "repeat": 4}]'
  run -75 --separate-stderr copilot-chat hi
  [[ "$stderr" == "copilot-chat: rate limited (HTTP 429)"* ]]
  assert_equal "$(fake_count chat)" "4"
}

@test "a 5xx before the answer starts is retried, and after the retries exits 69" {
  fake_script chat '[{"status": 502, "retry_after": 0}]'
  run copilot-chat hi
  assert_success
  assert_equal "$(fake_count chat)" "2"
  fake_script chat '[{"status": 503, "retry_after": 0, "repeat": 4}]'
  run -69 copilot-chat hi
}

@test "a reset connection before the first byte is retried" {
  fake_script chat '[{"reset": true}]'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "You said: hi"
  assert_equal "$(fake_count chat)" "2"
}

@test "a stream is never retried once its first byte arrived" {
  fake_script chat '[{"stream": {"chunks": ["a ", "b"]}, "cut": 400}]'
  run -76 copilot-chat hi
  assert_equal "$(fake_count chat)" "1"
}

@test "a server that ignores stream:true and sends one JSON object still works" {
  fake_script chat '[{"body": {"id": "x1", "object": "chat.completion", "created": 1, "model": "gpt-4.1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "plain json"}, "finish_reason": "stop"}]}}]'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "plain json"
}

@test "a non-streamed answer that carries an error is reported by its code" {
  fake_script chat '[{"body": {"error": {"message": "over the limit", "code": "quota_exceeded"}}}]'
  run -77 --separate-stderr copilot-chat --no-stream hi
  assert_output ""
  assert_equal "$stderr" "copilot-chat: the server reported an error instead of an answer: over the limit (quota_exceeded)"
}

@test "an answer cut off at the token limit says so on stderr" {
  fake_script chat '[{"stream": {"chunks": ["cut"], "finish_reason": "length"}}]'
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "cut"
  assert_equal "$stderr" "copilot-chat: warning: the answer was cut off at the token limit (finish_reason: length)"
}

@test "--list-models prints one chat model id per line, --all adds embeddings last" {
  run --separate-stderr copilot-chat --list-models
  assert_success
  assert_equal "${lines[0]}" "gpt-4.1"
  assert_equal "${#lines[@]}" "9"
  refute_output --partial "text-embedding"
  run --separate-stderr copilot-chat --list-models --all
  assert_success
  assert_equal "${#lines[@]}" "10"
  assert_equal "${lines[9]}" "text-embedding-3-small"
}

@test "--list-models --json prints the server's list" {
  run --separate-stderr copilot-chat --list-models --json
  assert_success
  assert_equal "$(json_get - '["object"]' <<<"$output")" "list"
  assert_equal "$(json_get - '["data"][9]["id"]' <<<"$output")" "text-embedding-3-small"
}

@test "--list-models on a terminal prints a table" {
  run script -qec "copilot-chat --list-models" /dev/null
  assert_success
  [[ "${lines[0]}" =~ ^ID\ +VENDOR\ +ENDPOINTS\ +CONTEXT\ +OUTPUT\ +PREMIUM\ +PREVIEW\ +PICKER ]]
  [[ "$output" =~ gpt-4o-mini\ +Azure\ OpenAI\ +chat\ +128000\ +4096\ +-\ +no\ +no ]]
  [[ "$output" =~ gpt-4\.1\ +Azure\ OpenAI\ +chat\ +128000\ +16384\ +-\ +no\ +yes ]]
  [[ "$output" =~ gpt-5-mini\ +Azure\ OpenAI\ +chat,responses\ +264000\ +64000\ +-\ +no\ +yes ]]
  [[ "$output" =~ gpt-5-codex\ +OpenAI\ +responses\ +400000\ +128000\ +1x\ +yes\ +yes ]]
  [[ "$output" =~ o3-mini\ +Azure\ OpenAI\ +chat\ +200000\ +100000\ +0\.33x\ +no ]]
  [[ "$output" =~ claude-sonnet-4\ +Anthropic\ +chat,messages\  ]]
}

@test "--list-models caches the chat model ids for shell completion" {
  run copilot-chat --list-models --all
  assert_success
  local cache="$XDG_CACHE_HOME/copilot-utils/models.txt"
  assert_file_exists "$cache"
  assert_equal "$(head -n1 "$cache")" "gpt-4.1"
  assert_equal "$(wc -l <"$cache")" "9"
  assert_equal "$(stat -c %a "$cache")" "600"
  run grep -c embedding "$cache"
  assert_output "0"
}

@test "piped into head -c 5 it ends quietly" {
  fake_script chat '[{"stream": {"chunks": ["0123456789\n"], "repeat_chunk": "a long answer line\n", "count": 200000}}]'
  run bash -c 'set -o pipefail; copilot-chat hi 2>"$1" | head -c 5' _ "$ERR"
  assert_success
  assert_output "01234"
  assert_equal "$(cat "$ERR")" ""
}

@test "Ctrl-C ends it with 130" {
  # a slow stream: one byte every 50 ms
  fake_script chat '[{"stream": {"no_empty_first": true}, "drip": 0.05}]'
  run bash -c 'set -m
    copilot-chat hi >/dev/null 2>&1 &
    pid=$!
    started() { curl -s --noproxy "*" "$FAKE_URL/_control/log?route=chat" | grep -q "\"count\":1"; }
    for _ in $(seq 200); do started && break; sleep 0.05; done
    started || exit 99  # the request never reached the server
    kill -INT "$pid"
    wait "$pid"'
  assert_failure 130
}

@test "invalid UTF-8 on stdin is refused with 65" {
  printf 'bad \xff byte' >"$BATS_TEST_TMPDIR/bad"
  run -65 --separate-stderr copilot-chat <"$BATS_TEST_TMPDIR/bad"
  [[ "$stderr" == *"standard input is not valid UTF-8"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "stdin larger than 8 MiB is refused with 65" {
  head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/big"
  run -65 --separate-stderr copilot-chat summarise <"$BATS_TEST_TMPDIR/big"
  [[ "$stderr" == *"standard input is larger than"* ]]
  assert_equal "$(fake_count chat)" "0"
}

@test "the Copilot token never appears in --verbose output" {
  run --separate-stderr copilot-chat --verbose hi
  assert_success
  local tok
  tok="$(fake_state | python3 -c 'import json,sys; print(list(json.load(sys.stdin)["copilot_tokens"])[0])')"
  [[ "$stderr" != *"$tok"* ]]
  [[ "$stderr" == *"POST $FAKE_URL/chat/completions"* ]]
}

@test "a 50 MB answer streams with flat memory" {
  [[ -x /usr/bin/time ]] || fail "needs /usr/bin/time (make deps installs it)"
  # Under ASan freed memory sits in a quarantine; keep it small so RSS tells.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
  local line
  line="$(printf '%099d' 0)\\n"  # 100 bytes a chunk
  fake_script chat "[{\"stream\": {\"chunks\": [], \"repeat_chunk\": \"$line\", \"count\": 10000}},
                     {\"stream\": {\"chunks\": [], \"repeat_chunk\": \"$line\", \"count\": 500000}}]"
  /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/small" copilot-chat hi >"$OUT"
  assert_equal "$(stat -c %s "$OUT")" "1000000"
  /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/big" copilot-chat hi >"$OUT"
  assert_equal "$(stat -c %s "$OUT")" "50000000"
  local small big
  small="$(tail -n1 "$BATS_TEST_TMPDIR/small")"
  big="$(tail -n1 "$BATS_TEST_TMPDIR/big")"
  echo "max RSS: 1 MB answer ${small} KiB, 50 MB answer ${big} KiB"
  # 50 times the answer, less than 8 MiB more memory
  (( big - small < 8192 ))
}

@test "the README pipeline login | token | chat works without a stored login" {
  unset GITHUB_COPILOT_TOKEN
  fake_config '{"interval": 1}' >/dev/null
  # Exactly the line README.md shows.
  run --separate-stderr bash -c 'set -o pipefail
    copilot-login --output - | copilot-token --json | copilot-chat --token-file - "hello"'
  assert_success
  assert_output "You said: hello"
  # One exchange verifies the login, one makes the token chat uses.
  assert_equal "$(fake_count copilot_token)" "2"
  assert_file_not_exists "$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
}

# Issue 13: streamed tool_calls were dropped silently, in --json and in plain mode.
@test "streamed tool_calls are in --json's assembled completion" {
  fake_script chat '[{"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}, {"id": "call_2", "name": "now", "arguments": {}}]}}]'
  run --separate-stderr copilot-chat --json weather
  assert_success
  assert_equal "$(json_get - '["choices"][0]["finish_reason"]' <<<"$output")" "tool_calls"
  assert_equal "$(json_get - '["choices"][0]["message"]["tool_calls"]' <<<"$output")" '[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]'
}

@test "tool_calls in plain mode: a note on stderr naming them (streamed and not)" {
  fake_script chat '[{"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}}, {"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}}]'
  run --separate-stderr copilot-chat weather
  assert_success
  assert_output ""
  assert_equal "$stderr" "copilot-chat: warning: the answer asks to call 1 tool (get_weather), not shown as text; --json prints the calls"
  run --separate-stderr copilot-chat --no-stream weather
  assert_success
  assert_equal "$stderr" "copilot-chat: warning: the answer asks to call 1 tool (get_weather), not shown as text; --json prints the calls"
}
