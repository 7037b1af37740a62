#!/usr/bin/env bats
# copilot-chat -i (issue 18), driven through a pseudo-terminal
# (tests/helpers/pty_chat.py) against the fake: a question and its streamed
# answer, the slash commands and their Tab completion, Ctrl-C during an answer,
# Ctrl-D, what is saved, the line history file, and the rendering on a
# terminal against piped output.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  DB="$XDG_DATA_HOME/copilot-utils/chats.db"
  HIST="$XDG_STATE_HOME/copilot-utils/chat_history"
}

# pty STEPS [pty_chat.py options] -- copilot-chat ARGS: the session's terminal in $output.
pty() { run python3 "$REPO/tests/helpers/pty_chat.py" "$@"; }
db() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join(map(str,r)) for r in c.execute(sys.argv[2])))' "$DB" "$1"; }
chat_messages() { fake_last chat '["body"]' | json_get - '["messages"]'; }

@test "a question, its answer streamed, Ctrl-D ends with 0 and the conversation is saved" {
  pty '[{"expect":"> "},{"send":"hello there\r"},{"expect":"You said: hello there\r\n"},
        {"expect":"> "},{"send":"and again\r"},{"expect":"You said: and again"},{"expect":"> "},{"send":"\u0004"}]' \
      -- copilot-chat
  assert_success
  assert_output --partial "/help lists the commands, Ctrl-D ends"
  assert_equal "$(db 'SELECT count(*) FROM conversations')" "1"
  assert_equal "$(db 'SELECT count(*) FROM turns')" "2"
  # the second question went with the first turn
  assert_equal "$(chat_messages)" \
    '[{"role":"user","content":"hello there"},{"role":"assistant","content":"You said: hello there"},{"role":"user","content":"and again"}]'
}

@test "-i: the same with a pipe on standard input refused: -i takes no prompt" {
  run -64 --separate-stderr copilot-chat -i hello
  assert_equal "$stderr" "copilot-chat: -i takes no prompt: type it at the prompt (see --help)"
  run -64 --separate-stderr copilot-chat -i --json </dev/null
  assert_regex "$stderr" "^copilot-chat: -i cannot go with --messages"
}

@test "with a prompt or piped input the one-shot mode stays" {
  run -0 copilot-chat hi </dev/null
  assert_output "You said: hi"
}

@test "/model, /system: the next request carries them" {
  pty '[{"expect":"> "},{"send":"/model claude-sonnet-4\r"},{"expect":"model: claude-sonnet-4"},
        {"expect":"> "},{"send":"/system be brief\r"},{"expect":"sent with the next question"},
        {"expect":"> "},{"send":"hi\r"},{"expect":"You said: hi"},{"expect":"> "},{"send":"\u0004"}]' \
      -- copilot-chat
  assert_success
  assert_equal "$(fake_last chat '["body"]' | json_get - '["model"]')" "claude-sonnet-4"
  assert_equal "$(chat_messages)" '[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]'
  pty '[{"expect":"> "},{"send":"/model\r"},{"expect":"/model needs a model id"},{"expect":"> "},{"send":"\u0004"}]' \
      -- copilot-chat
  assert_success
}

@test "/clear starts a new conversation: the next request has no history" {
  pty '[{"expect":"> "},{"send":"one\r"},{"expect":"You said: one"},{"expect":"> "},
        {"send":"/clear\r"},{"expect":"a new conversation"},{"expect":"> "},
        {"send":"two\r"},{"expect":"You said: two"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_equal "$(chat_messages)" '[{"role":"user","content":"two"}]'
  assert_equal "$(db 'SELECT count(*) FROM conversations')" "2"
}

@test "--no-save writes nothing, not even the line history; /save then saves the turns so far" {
  pty '[{"expect":"> "},{"send":"one\r"},{"expect":"You said: one"},{"expect":"> "},{"send":"\u0004"}]' \
      -- copilot-chat --no-save
  assert_success
  assert_equal "$(find "$XDG_DATA_HOME" "$XDG_STATE_HOME" -mindepth 1 | wc -l)" "0"
  pty '[{"expect":"> "},{"send":"one\r"},{"expect":"You said: one"},{"expect":"> "},
        {"send":"/save\r"},{"expect":"saved as conversation [0-9a-f]{12}"},{"expect":"> "},
        {"send":"two\r"},{"expect":"You said: two"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat --no-save
  assert_success
  assert_equal "$(db 'SELECT count(*) FROM turns')" "2"
  assert_equal "$(db 'SELECT title FROM conversations')" "one"
}

@test "-c continues the latest conversation in the interactive mode" {
  run -0 copilot-chat first question </dev/null
  pty '[{"expect":"> "},{"send":"next\r"},{"expect":"You said: next"},{"expect":"> "},{"send":"\u0004"}]' \
      -- copilot-chat -c
  assert_success
  assert_equal "$(chat_messages)" \
    '[{"role":"user","content":"first question"},{"role":"assistant","content":"You said: first question"},{"role":"user","content":"next"}]'
  assert_equal "$(db 'SELECT count(*) FROM conversations')|$(db 'SELECT count(*) FROM turns')" "1|2"
}

@test "an unknown command is a one-line note and the session goes on" {
  pty '[{"expect":"> "},{"send":"/frobnicate now\r"},{"expect":"unknown command .?/frobnicate.? \\(/help lists them\\)"},
        {"expect":"> "},{"send":"/help\r"},{"expect":"/clear"},{"expect":"> "},
        {"send":"still here\r"},{"expect":"You said: still here"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_equal "$(fake_count chat)" "1"
}

@test "Ctrl-C during an answer cancels it, not the session; the cancelled turn is not kept" {
  fake_script chat '[{"drip": 0.01}]'
  pty '[{"expect":"> "},{"send":"slow one\r"},{"expect":"You"},{"send":"\u0003"},
        {"expect":"answer cancelled"},{"expect":"> "},
        {"send":"quick one\r"},{"expect":"You said: quick one"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  refute_output --partial "You said: slow one"
  assert_equal "$(fake_count chat)" "2"
  assert_equal "$(chat_messages)" '[{"role":"user","content":"quick one"}]'
  assert_equal "$(db 'SELECT count(*) FROM turns')" "1"
}

@test "Ctrl-C at the prompt gives a new prompt" {
  pty '[{"expect":"> "},{"send":"half a li"},{"expect":"half a li"},{"send":"\u0003"},{"expect":"> "},
        {"send":"whole\r"},{"expect":"You said: whole"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_equal "$(chat_messages)" '[{"role":"user","content":"whole"}]'
}

@test "the line history is kept in XDG_STATE_HOME, 0600 in 0700" {
  pty '[{"expect":"> "},{"send":"remember me\r"},{"expect":"You said"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_file_exists "$HIST"
  assert_equal "$(stat -c %a "$HIST")" "600"
  assert_equal "$(stat -c %a "$(dirname "$HIST")")" "700"
  run grep -c "remember" "$HIST"
  assert_output "1"
  # the up arrow brings it back
  pty '[{"expect":"> "},{"send":"\u001b[A\r"},{"expect":"You said: remember me"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
}

@test "on a terminal without NO_COLOR a code block is coloured and prose wrapped; piped, the raw bytes" {
  fake_config '{"reply": "alpha beta gamma delta epsilon zeta eta theta iota kappa\n```\ncode here\n```\n"}'
  unset NO_COLOR
  export TERM=xterm
  pty --cols 30 '[{"expect":"> "},{"send":"x\r"},{"expect":"code here"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_output --partial $'\e[36mcode here\e[0m'
  assert_output --partial $'alpha beta gamma delta epsilon\r\nzeta'
  pty --stdout "$BATS_TEST_TMPDIR/out" '[{"expect":"> "},{"send":"x\r"},{"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf 'alpha beta gamma delta epsilon zeta eta theta iota kappa\n```\ncode here\n```')"
  export NO_COLOR=1
  pty --cols 30 '[{"expect":"> "},{"send":"x\r"},{"expect":"```\r\n> "},{"send":"\u0004"}]' -- copilot-chat
  refute_output --partial $'\e[36m'
  assert_output --partial "alpha beta gamma delta epsilon zeta"
}

@test "Tab completes a command, then the model of /model among the catalogue's chat models" {
  pty '[{"expect":"> "},{"send":"/mo\t"},{"expect":"del"},{"send":"o3\t"},{"expect":"-mini"},
        {"send":"\r"},{"expect":"model: o3-mini"},{"expect":"> "},
        {"send":"/model gpt-4o\t"},{"expect":"gpt-4o  gpt-4o-mini\r?\n"},{"send":"\u0015"},
        {"send":"/model text-emb\t"},{"sleep":0.3},{"send":"\u0015hi\r"},{"expect":"You said: hi"},
        {"expect":"> "},{"send":"\u0004"}]' -- copilot-chat
  assert_success
  # the session's model was the completed one; the embeddings model was never offered
  assert_equal "$(fake_last chat '["body"]' | json_get - '["model"]')" "o3-mini"
  refute_output --partial "text-embedding-3-small"
}
