#!/usr/bin/env bats
# Claude Code itself (`@anthropic-ai/claude-code`, tests/agents/, installed by
# `make agents-deps`) run offline through copilot-serve to the fake
# (ARCHITECTURE.md, "Wire APIs"): `claude -p` with ANTHROPIC_BASE_URL at
# copilot-serve, one plain turn and one turn where the fake asks for its Bash
# tool and the command's output comes back in the next request, on a model
# that takes Messages upstream and on a Chat-only one, and a wrong key.
# Every run is traced: its only network connection is to copilot-serve on
# 127.0.0.1.

load helpers/common
load helpers/serve

CLAUDE="$REPO/tests/agents/node_modules/.bin/claude"
KEY="sk-claude-code-key-0123456789"

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  [[ -x "$CLAUDE" ]] || {
    echo "Claude Code is not installed: make agents-deps (npm ci --prefix tests/agents)" >&2
    return 1
  }
  command -v strace >/dev/null || { echo "strace is missing: make deps" >&2; return 1; }
  (umask 077 && echo "$KEY" >"$BATS_TEST_TMPDIR/key")
  WORK="$BATS_TEST_TMPDIR/work"
  mkdir -p "$WORK"
  # the fake's default reply would echo Claude Code's whole prompt back
  fake_config '{"reply": "All done."}'
}

teardown() { serve_teardown; }

# claude_p PROMPT [ARGS...]: `claude -p` in $WORK with nothing of this
# environment but PATH and HOME, under strace (connect calls in $TRACE), the
# key $CLAUDE_KEY (default: the server's), no retries (a failure shows at
# once instead of after its backoff); its stdout in $OUT, stderr in $ERR,
# exit status in $CLAUDE_STATUS.
claude_p() {
  local prompt="$1"
  shift
  TRACE="$BATS_TEST_TMPDIR/claude.trace"
  CLAUDE_STATUS=0
  (cd "$WORK" && env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" SHELL=/bin/bash \
    TMPDIR="$BATS_TEST_TMPDIR" ANTHROPIC_BASE_URL="$SERVE_URL" ANTHROPIC_API_KEY="${CLAUDE_KEY:-$KEY}" \
    DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_MAX_RETRIES=0 \
    timeout 120 strace -f -qq -e trace=connect -o "$TRACE" \
    "$CLAUDE" -p "$prompt" "$@" >"$BATS_TEST_TMPDIR/claude.out" 2>"$BATS_TEST_TMPDIR/claude.err") ||
    CLAUDE_STATUS=$?
  OUT="$(cat "$BATS_TEST_TMPDIR/claude.out")"
  ERR="$(cat "$BATS_TEST_TMPDIR/claude.err")"
  if [[ "$CLAUDE_STATUS" != 0 && -z "${CLAUDE_KEY:-}" ]]; then
    echo "claude exited $CLAUDE_STATUS: $OUT $ERR" >&2
    cat "$SERVE_ERR" >&2
  fi
}

# Every IP connection in $TRACE went to copilot-serve (unix sockets, e.g. nscd, are local).
only_loopback() {
  python3 - "$TRACE" "$SERVE_PORT" <<'EOF'
import re, sys
trace, port = sys.argv[1], sys.argv[2]
ip = [l.strip() for l in open(trace, encoding="latin-1") if re.search(r"AF_INET6?\b", l)]
want = 'sin_port=htons(%s), sin_addr=inet_addr("127.0.0.1")' % port
bad = [l for l in ip if want not in l]
if not ip or bad:
    sys.exit("connections beyond copilot-serve:\n" + "\n".join(bad or ["(none at all)"]))
EOF
}

# The fake's log entries for ROUTE, one field a line, joined by spaces.
fake_fields() { fake_log "$1" | jq -r --arg f "$2" '[.requests[][$f] // "null"] | join(" ")'; }
# The body of the Nth (0-based) request to ROUTE.
fake_body() { fake_log "$1" | jq -r --argjson n "$2" '.requests[$n].body'; }

# The fake's answer that runs Claude Code's Bash tool: the shell computes 42
# and writes a file, which needs the permission --allowedTools gives.
BASH_CALL='{"stream": {"chunks": ["Running it."], "tool_calls": [{"name": "Bash", "arguments": {"command": "echo bash-said-$((6*7)) | tee said.txt", "description": "Write a number"}}]}}'

@test "Claude Code: one plain turn on a native Messages model, passed through, nothing but loopback" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  claude_p "say hello" --model claude-sonnet-4-5-20250929
  assert_equal "$CLAUDE_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count messages) $(fake_count chat)" "1 0"
  assert_equal "$(fake_fields messages model)" "claude-sonnet-4.5"
  assert_equal "$(fake_fields messages initiator)" "user"
  assert_equal "$(fake_fields messages anthropic_version)" "2023-06-01"
  # what Claude Code sends and Copilot takes went on: its tools, thinking, the
  # cache_control marks, the claude-code beta filtered out
  local body
  body="$(fake_body messages 0)"
  assert_equal "$(jq -r '[.tools[].name] | index("Bash") != null' <<<"$body")" "true"
  assert_equal "$(jq -r '.thinking.type' <<<"$body")" "enabled"
  assert_equal "$(jq -r '.stream' <<<"$body")" "true"
  [[ "$(fake_fields messages anthropic_beta)" != *claude-code-20250219* ]]
  eventually 'log_lines | grep -q "POST /v1/messages model=claude-sonnet-4.5 asked=claude-sonnet-4-5-20250929 stream api=messages upstream=/v1/messages passthrough initiator=user status=200 .*dropped=.*context_management"'
}

@test "Claude Code: the fake asks for Bash on a native Messages model; its output comes back as the agent" {
  fake_script messages "[$BASH_CALL]"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  claude_p "run the command" --model claude-sonnet-4.5 --allowedTools Bash
  assert_equal "$CLAUDE_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count messages)" "2"
  assert_equal "$(fake_fields messages initiator)" "user agent"
  # the first request has no tool_result; the second answers the tool_use with the command's output
  assert_equal "$(fake_body messages 0 | jq '[.messages[].content | arrays | .[] | select(.type == "tool_result")] | length')" "0"
  local body
  body="$(fake_body messages 1)"
  assert_equal "$(jq -r '.messages[-2].content[] | select(.type == "tool_use") | .name' <<<"$body")" "Bash"
  assert_equal "$(jq -r '.messages[-1].content[0].type' <<<"$body")" "tool_result"
  assert_equal "$(jq -r '.messages[-1].content[0].tool_use_id == (.messages[-2].content[] | select(.type == "tool_use") | .id)' <<<"$body")" "true"
  assert_equal "$(jq -r '.messages[-1].content[0].is_error' <<<"$body")" "false"
  assert_equal "$(cat "$WORK/said.txt")" "bash-said-42"
  [[ "$(jq -r '.messages[-1].content[0].content | if type == "string" then . else map(.text) | join("") end' <<<"$body")" == bash-said-42* ]]
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=claude-sonnet-4.5 stream api=messages upstream=/v1/messages passthrough initiator=agent status=200")" -eq 1 ]'
}

@test "Claude Code: one plain turn on a Chat-only model, translated" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  claude_p "say hello" --model claude-3.5-sonnet
  assert_equal "$CLAUDE_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count chat) $(fake_count messages)" "1 0"
  assert_equal "$(fake_fields chat initiator)" "user"
  assert_equal "$(fake_body chat 0 | jq -r '.messages[0].role + " " + (.stream | tostring)')" "system true"
  eventually 'log_lines | grep -q "POST /v1/messages model=claude-3.5-sonnet stream api=messages upstream=/chat/completions translated initiator=user status=200"'
}

@test "Claude Code: the fake asks for Bash on a Chat-only model; its output comes back as a tool message" {
  fake_script chat "[$BASH_CALL]"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  claude_p "run the command" --model claude-3.5-sonnet --allowedTools Bash
  assert_equal "$CLAUDE_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count chat) $(fake_count messages)" "2 0"
  assert_equal "$(fake_fields chat initiator)" "user agent"
  local body
  body="$(fake_body chat 1)"
  assert_equal "$(jq -c '[.messages[].role]' <<<"$body")" '["system","user","assistant","tool"]'
  assert_equal "$(jq -r '.messages[2].tool_calls[0].function.name' <<<"$body")" "Bash"
  assert_equal "$(jq -r '.messages[3].tool_call_id == .messages[2].tool_calls[0].id' <<<"$body")" "true"
  assert_equal "$(cat "$WORK/said.txt")" "bash-said-42"
  [[ "$(jq -r '.messages[3].content | if type == "string" then . else map(.text) | join("") end' <<<"$body")" == bash-said-42* ]]
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=claude-3.5-sonnet stream api=messages upstream=/chat/completions translated")" -eq 2 ]'
}

@test "Claude Code with a wrong key: copilot-serve's 401 is an invalid API key to it, nothing goes upstream" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  CLAUDE_KEY=sk-not-the-servers-key claude_p "say hello" --model claude-sonnet-4.5
  assert_equal "$CLAUDE_STATUS" 1
  [[ "$OUT$ERR" == *"Invalid API key"* ]]
  only_loopback
  assert_equal "$(fake_count messages) $(fake_count chat)" "0 0"
  eventually 'log_lines | grep -q "POST /v1/messages .*status=401 .*invalid_api_key"'
}

@test "Claude Code on a model it does not know (gpt-5-codex): its system turns and Bash's output reach /responses" {
  # For an id it does not know Claude Code sends a second, mid-conversation
  # system turn (role "system" inside messages).
  fake_script responses "[$BASH_CALL]"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  claude_p "run the command" --model gpt-5-codex --allowedTools Bash
  assert_equal "$CLAUDE_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count responses) $(fake_count chat) $(fake_count messages)" "2 0 0"
  assert_equal "$(fake_fields responses initiator)" "user agent"
  assert_equal "$(cat "$WORK/said.txt")" "bash-said-42"
  local body
  body="$(fake_body responses 1)"
  assert_equal "$(jq -r '[.input[] | select(.type == "function_call_output") | .output] | length' <<<"$body")" "1"
  [[ "$(jq -r '.input[] | select(.type == "function_call_output") | .output' <<<"$body")" == bash-said-42* ]]
  eventually '[ "$(log_lines | grep -c "POST /v1/messages model=gpt-5-codex stream api=messages upstream=/responses translated")" -eq 2 ]'
}
