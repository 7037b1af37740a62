#!/usr/bin/env bats
# OpenAI's Codex CLI (`@openai/codex`, tests/agents/, installed by
# `make agents-deps`) run offline through copilot-serve to the fake
# (ARCHITECTURE.md, "Wire APIs"): `codex exec` with a model provider at
# copilot-serve's /v1 (wire_api "responses"; Codex 0.171 refuses "chat" when
# it loads its config, so there is nothing of it to test). On gpt-5-codex
# (Responses upstream, passed through): one plain turn; one turn where the
# fake calls its shell tool (exec_command), the command runs in the workdir
# and its output comes back in the next request. On gpt-4.1 (Chat only): one
# plain turn through the Responses -> Chat translation. A wrong key: 401
# from copilot-serve, nothing upstream. Every run is traced: its only
# network connection is to copilot-serve on 127.0.0.1.

load helpers/common
load helpers/serve

CODEX="$REPO/tests/agents/node_modules/.bin/codex"
KEY="sk-codex-key-0123456789"

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  [[ -x "$CODEX" ]] || {
    echo "Codex is not installed: make agents-deps (npm ci --prefix tests/agents)" >&2
    return 1
  }
  command -v strace >/dev/null || { echo "strace is missing: make deps" >&2; return 1; }
  (umask 077 && echo "$KEY" >"$BATS_TEST_TMPDIR/key")
  WORK="$BATS_TEST_TMPDIR/work"
  mkdir -p "$WORK"
  fake_config '{"reply": "All done."}'
}

teardown() { serve_teardown; }

# codex_config: $CODEX_HOME/config.toml with copilot-serve as the provider
# (after serve_start, which sets SERVE_URL).
codex_config() {
  export CODEX_HOME="$BATS_TEST_TMPDIR/codex-home"
  mkdir -p "$CODEX_HOME"
  cat >"$CODEX_HOME/config.toml" <<TOML
model_provider = "copilot-serve"
check_for_update_on_startup = false
# a hosted tool, which Chat (gpt-4.1) cannot take
web_search = "disabled"

[model_providers.copilot-serve]
name = "copilot-serve"
base_url = "$SERVE_URL/v1"
env_key = "COPILOT_SERVE_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false
remote_plugin = false
apps = false
in_app_updates = false
api_key_model_discovery = false

# its sub-agent tools come as a "namespace" tool, which Chat cannot take
[agents]
enabled = false

[analytics]
enabled = false

[feedback]
enabled = false
TOML
}

# codex_exec PROMPT [ARGS...]: `codex exec` in $WORK with nothing of this
# environment but PATH, HOME and CODEX_HOME, under strace (connect calls in
# $TRACE), the key $CODEX_KEY (default: the server's); its stdout in $OUT,
# stderr in $ERR, exit status in $CODEX_STATUS.
codex_exec() {
  local prompt="$1"
  shift
  TRACE="$BATS_TEST_TMPDIR/codex.trace"
  CODEX_STATUS=0
  (cd "$WORK" && env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$HOME" SHELL=/bin/bash \
    CODEX_HOME="$CODEX_HOME" TMPDIR="$BATS_TEST_TMPDIR" COPILOT_SERVE_KEY="${CODEX_KEY:-$KEY}" \
    timeout 120 strace -f -qq -e trace=connect -o "$TRACE" \
    "$CODEX" exec --skip-git-repo-check --ephemeral --color never "$@" "$prompt" \
    >"$BATS_TEST_TMPDIR/codex.out" 2>"$BATS_TEST_TMPDIR/codex.err") ||
    CODEX_STATUS=$?
  OUT="$(cat "$BATS_TEST_TMPDIR/codex.out")"
  ERR="$(cat "$BATS_TEST_TMPDIR/codex.err")"
  if [[ "$CODEX_STATUS" != 0 && -z "${CODEX_KEY:-}" ]]; then
    echo "codex exited $CODEX_STATUS: $OUT $ERR" >&2
    cat "$SERVE_ERR" >&2
  fi
}

# Every IP connection in $TRACE went to copilot-serve (unix sockets are local).
only_loopback() {
  python3 - "$TRACE" "$SERVE_PORT" <<'PY'
import re, sys
trace, port = sys.argv[1], sys.argv[2]
ip = [l.strip() for l in open(trace, encoding="latin-1") if re.search(r"AF_INET6?\b", l)]
want = 'sin_port=htons(%s), sin_addr=inet_addr("127.0.0.1")' % port
bad = [l for l in ip if want not in l]
if not ip or bad:
    sys.exit("connections beyond copilot-serve:\n" + "\n".join(bad or ["(none at all)"]))
PY
}

fake_fields() { fake_log "$1" | jq -r --arg f "$2" '[.requests[][$f] // "null"] | join(" ")'; }
fake_body() { fake_log "$1" | jq -r --argjson n "$2" '.requests[$n].body'; }

@test "Codex: one plain turn on a Responses model, nothing but loopback" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  codex_config
  codex_exec "say hello" -m gpt-5-codex
  assert_equal "$CODEX_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count responses) $(fake_count chat)" "1 0"
  assert_equal "$(fake_fields responses initiator)" "user"
  # what Copilot refuses was left out; Codex's function tools went on
  local body
  body="$(fake_body responses 0)"
  assert_equal "$(jq -r 'has("client_metadata")' <<<"$body")" "false"
  assert_equal "$(jq -r '[.tools[] | select(.type != "function")] | length' <<<"$body")" "0"
  assert_equal "$(jq -r '[.tools[].name] | index("exec_command") != null' <<<"$body")" "true"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-5-codex stream api=responses upstream=/responses passthrough initiator=user status=200 .*dropped=client_metadata"'
}

@test "Codex: its shell tool runs in the workdir on a Responses model, the output goes back in the next request" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  codex_config
  local seed="seed-$RANDOM$RANDOM"
  printf '%s\n' "$seed" >"$WORK/seed.txt"
  # the first answer calls exec_command (Codex's shell tool, whose one
  # required argument is cmd); the second is the default "All done."
  fake_script responses '[{"stream": {"tool_calls": [{"name": "exec_command", "id": "call_codex_1",
    "arguments": {"cmd": "echo written-by-codex > out.txt && cat seed.txt"}}]}}]'
  # no sandbox: Codex's (bubblewrap) needs user namespaces, which a CI
  # runner may forbid; the command is the test's own, in its temp dir
  codex_exec "read seed.txt" -m gpt-5-codex --dangerously-bypass-approvals-and-sandbox
  assert_equal "$CODEX_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(cat "$WORK/out.txt")" "written-by-codex"
  assert_equal "$(fake_count responses) $(fake_count chat)" "2 0"
  assert_equal "$(fake_fields responses initiator)" "user agent"
  local first second
  first="$(fake_body responses 0)"
  assert_equal "$(jq -r '.tools[] | select(.name == "exec_command") | .parameters.required | join(",")' <<<"$first")" "cmd"
  # the call, as Codex read it from the relayed stream, then its output
  second="$(fake_body responses 1)"
  assert_equal "$(jq -r '[.input[] | select(.type == "function_call") | .call_id, .name] | join(" ")' <<<"$second")" \
    "call_codex_1 exec_command"
  assert_equal "$(jq -r '[.input[] | select(.type == "function_call_output") | .call_id] | join(" ")' <<<"$second")" \
    "call_codex_1"
  jq -r '.input[] | select(.type == "function_call_output") | .output' <<<"$second" | grep -qx "$seed"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-5-codex stream api=responses upstream=/responses passthrough initiator=agent status=200 "'
  log_lines | grep -q "POST /v1/responses model=gpt-5-codex stream api=responses upstream=/responses passthrough initiator=user status=200 "
  assert_equal "$(log_lines | grep -c ' POST ')" 2
}

@test "Codex: a plain turn on a Chat-only model goes to /chat/completions through the translation" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  codex_config
  codex_exec "say hello" -m gpt-4.1
  assert_equal "$CODEX_STATUS" 0
  assert_equal "$OUT" "All done."
  only_loopback
  assert_equal "$(fake_count responses) $(fake_count chat)" "0 1"
  assert_equal "$(fake_fields chat initiator)" "user"
  # the Chat shape: the prompt as the last user message, Codex's tools as
  # Chat function tools
  local body
  body="$(fake_body chat 0)"
  assert_equal "$(jq -r '.messages[-1] | "\(.role): \(.content)"' <<<"$body")" "user: say hello"
  assert_equal "$(jq -r '[.tools[].function.name] | index("exec_command") != null' <<<"$body")" "true"
  assert_equal "$(jq -r 'has("client_metadata") or has("input")' <<<"$body")" "false"
  eventually 'log_lines | grep -q "POST /v1/responses model=gpt-4.1 stream api=responses upstream=/chat/completions translated initiator=user status=200 "'
}

@test "Codex: a wrong key gets copilot-serve's 401, and nothing goes upstream" {
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  codex_config
  CODEX_KEY="sk-wrong-codex-key-42" codex_exec "say hello" -m gpt-5-codex
  assert_not_equal "$CODEX_STATUS" 0
  # Codex shows the status and copilot-serve's message
  grep -q "unexpected status 401 Unauthorized: missing or wrong API key" <<<"$ERR"
  only_loopback
  assert_equal "$(fake_count responses) $(fake_count chat)" "0 0"
  eventually 'log_lines | grep -q "POST /v1/responses model=- status=401 .*note=\"invalid_api_key\""'
  run -1 grep -q "sk-wrong-codex-key-42" "$SERVE_ERR"
}
