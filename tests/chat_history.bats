#!/usr/bin/env bats
# copilot-chat's saved conversations (issue 18): the SQLite database
# (store/chats), -c/--continue and --conversation sending the earlier turns,
# trimming at the context window, --no-save, --history/--show/--forget, the
# round trip through --messages, parallel writers, and the databases that
# must be refused untouched (locked, damaged, newer schema).

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  DB="$XDG_DATA_HOME/copilot-utils/chats.db"
}

chat_messages() { fake_last chat '["body"]' | json_get - '["messages"]'; }
db() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join(map(str,r)) for r in c.execute(sys.argv[2])))' "$DB" "$1"; }

@test "an exchange is saved by default: 0600 in a 0700 directory, WAL, the turn's fields" {
  run -0 copilot-chat hello there
  assert_output "You said: hello there"
  assert_file_exists "$DB"
  assert_equal "$(stat -c %a "$DB")" "600"
  assert_equal "$(stat -c %a "$(dirname "$DB")")" "700"
  assert_equal "$(db 'PRAGMA journal_mode')" "wal"
  assert_equal "$(db 'PRAGMA user_version')" "1"
  assert_equal "$(db 'SELECT model, api, messages, answer FROM turns')" \
    'gpt-4.1|chat|[{"role":"user","content":"hello there"}]|{"role":"assistant","content":"You said: hello there"}'
  assert_equal "$(db 'SELECT count(*), title FROM conversations')" "1|hello there"
}

@test "usage is saved with the turn" {
  run -0 copilot-chat --no-stream hi
  run -0 db 'SELECT prompt_tokens IS NOT NULL, total_tokens > 0 FROM turns'
  assert_output "1|1"
}

@test "--no-save and COPILOT_CHAT_SAVE=0 leave no trace" {
  run -0 copilot-chat --no-save hello
  assert_output "You said: hello"
  run -0 env COPILOT_CHAT_SAVE=0 copilot-chat hello
  assert_file_not_exists "$DB"
  assert_equal "$(find "$XDG_DATA_HOME" -mindepth 1 | wc -l)" "0"
}

@test "-c sends the previous turns as messages and adds to the same conversation" {
  run -0 copilot-chat -s "be brief" first question
  run -0 copilot-chat -c second question
  assert_output "You said: second question"
  assert_equal "$(chat_messages)" \
    '[{"role":"system","content":"be brief"},{"role":"user","content":"first question"},{"role":"assistant","content":"You said: first question"},{"role":"user","content":"second question"}]'
  assert_equal "$(db 'SELECT count(*) FROM conversations')" "1"
  assert_equal "$(db 'SELECT count(*) FROM turns')" "2"
  run -0 copilot-chat --continue third
  [[ "$(chat_messages)" == *'"You said: second question"},{"role":"user","content":"third"}]' ]]
}

@test "--conversation ID continues that one, not the latest" {
  run -0 copilot-chat alpha
  local first; first="$(db 'SELECT id FROM conversations')"
  run -0 copilot-chat beta
  run -0 copilot-chat --conversation "$first" gamma
  assert_equal "$(chat_messages)" \
    '[{"role":"user","content":"alpha"},{"role":"assistant","content":"You said: alpha"},{"role":"user","content":"gamma"}]'
  assert_equal "$(db "SELECT count(*) FROM turns WHERE conversation = '$first'")" "2"
  run -0 copilot-chat -c delta
  [[ "$(chat_messages)" == *'"content":"gamma"},{"role":"assistant","content":"You said: gamma"},{"role":"user","content":"delta"}]' ]]
}

@test "an unknown or malformed conversation id, and -c with nothing saved, are usage errors" {
  run -64 copilot-chat -c hello
  assert_output "copilot-chat: no saved conversation to continue"
  assert_file_not_exists "$DB"
  run -0 copilot-chat hi
  run -64 --separate-stderr copilot-chat --conversation abc123abc123 hello
  assert_equal "$stderr" "copilot-chat: no conversation abc123abc123 (copilot-chat --history lists them)"
  run -64 copilot-chat --conversation '../x' hello
  assert_output --partial "not a conversation id"
  assert_equal "$(fake_count chat)" "1"
}

@test "the history is trimmed from the oldest turns to fit the context window, with a note" {
  # a model whose prompt may hold 60 tokens (~240 bytes)
  fake_config '{"models": [{"id": "tiny", "name": "Tiny", "vendor": "x", "object": "model",
    "capabilities": {"type": "chat", "limits": {"max_context_window_tokens": 100,
    "max_output_tokens": 40, "max_prompt_tokens": 60}, "supports": {"streaming": true}}}]}'
  run -0 copilot-chat --list-models
  run -0 copilot-chat -m tiny -s "sys" "first question, a long one that takes some room"
  run -0 copilot-chat -m tiny -c "second question, a long one that takes some room"
  run -0 --separate-stderr copilot-chat -m tiny -c third
  assert_output "You said: third"
  assert_equal "$stderr" "copilot-chat: warning: left out the 1 oldest of 2 turns of conversation $(db 'SELECT id FROM conversations') to fit the context window of tiny (60 tokens)"
  # the system message of the dropped turn stays
  assert_equal "$(chat_messages)" \
    '[{"role":"system","content":"sys"},{"role":"user","content":"second question, a long one that takes some room"},{"role":"assistant","content":"You said: second question, a long one that takes some room"},{"role":"user","content":"third"}]'
  # everything stays saved
  assert_equal "$(db 'SELECT count(*) FROM turns')" "3"
}

@test "--history lists conversations newest first; N limits them; nothing saved lists nothing" {
  run -0 copilot-chat --history
  assert_output ""
  assert_file_not_exists "$DB"
  run -0 copilot-chat "first one"$'\n'"second line"
  run -0 copilot-chat -m gpt-4o "another"
  run -0 copilot-chat --history
  assert_equal "${#lines[@]}" "2"
  [[ "${lines[0]}" =~ ^[0-9a-f]{12}$'\t'[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}$'\t'gpt-4o$'\t'another$ ]]
  [[ "${lines[1]}" == *$'\t'gpt-4.1$'\t'"first one" ]]
  run -0 copilot-chat --history 1
  assert_equal "${#lines[@]}" "1"
  run -64 copilot-chat --history foo
}

@test "--show prints a conversation; --show --json pipes into --messages" {
  run -0 copilot-chat -s "be brief" hello
  run -0 copilot-chat -c again
  local id; id="$(db 'SELECT id FROM conversations')"
  run -0 copilot-chat --show "$id"
  assert_output "$(printf 'system:\nbe brief\n\nuser:\nhello\n\nassistant:\nYou said: hello\n\nuser:\nagain\n\nassistant:\nYou said: again\n')"
  run -0 copilot-chat --show "$id" --json
  assert_equal "$(jq -c length <<<"$output")" "5"
  copilot-chat --show "$id" --json | copilot-chat --no-save --messages - "and now"
  assert_equal "$(chat_messages)" \
    '[{"role":"system","content":"be brief"},{"role":"user","content":"hello"},{"role":"assistant","content":"You said: hello"},{"role":"user","content":"again"},{"role":"assistant","content":"You said: again"},{"role":"user","content":"and now"}]'
}

@test "tool calls are kept in the history and sent again" {
  fake_script chat '[{"stream": {"tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}]}}]'
  run -0 copilot-chat -q weather in Oslo
  run -0 copilot-chat -c thanks
  [[ "$(chat_messages)" == *'{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}'* ]]
  run -0 copilot-chat --show "$(db 'SELECT id FROM conversations')"
  assert_output --partial '[tool call get_weather {"city":"Oslo"}]'
}

@test "--forget deletes a conversation and its turns" {
  run -0 copilot-chat one
  run -0 copilot-chat two
  local id; id="$(db 'SELECT id FROM conversations ORDER BY created LIMIT 1')"
  run -0 copilot-chat --forget "$id"
  assert_equal "$(db "SELECT count(*) FROM turns WHERE conversation = '$id'")" "0"
  assert_equal "$(db 'SELECT count(*) FROM conversations')" "1"
  run -64 copilot-chat --forget "$id"
  assert_output --partial "no conversation $id"
  run -64 copilot-chat --show "$id"
}

@test "10 parallel copilot-chat processes saving into one database: every row there" {
  run -0 copilot-chat warm up
  local i pids=()
  for i in $(seq 1 10); do
    copilot-chat "question $i" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 1 10); do assert_equal "$(cat "$BATS_TEST_TMPDIR/out.$i")" "You said: question $i"; done
  assert_equal "$(db 'SELECT count(*) FROM turns')" "11"
  assert_equal "$(db 'SELECT count(*) FROM conversations')" "11"
  assert_equal "$(db 'PRAGMA integrity_check')" "ok"
  for i in $(seq 1 10); do
    assert_equal "$(db "SELECT count(*) FROM turns WHERE messages LIKE '%\"question $i\"%'")" "1"
  done
}

@test "10 parallel first writers create the database once and lose nothing" {
  local i pids=()
  for i in $(seq 1 10); do
    copilot-chat "q$i" >/dev/null 2>"$BATS_TEST_TMPDIR/err.$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 1 10); do assert_equal "$(cat "$BATS_TEST_TMPDIR/err.$i")" ""; done
  assert_equal "$(db 'SELECT count(*) FROM turns')" "10"
  assert_equal "$(db 'PRAGMA integrity_check')" "ok"
}

@test "a damaged database: a one-line error, no request, the file unchanged" {
  mkdir -p -m 700 "$(dirname "$DB")"
  head -c 4096 /dev/urandom >"$DB"
  chmod 600 "$DB"
  local before; before="$(sha256sum "$DB")"
  run -65 --separate-stderr copilot-chat hello
  assert_equal "$stderr" "copilot-chat: the conversation database $DB is damaged or not an SQLite database (file is not a database); it was left as it is"
  assert_equal "$(sha256sum "$DB")" "$before"
  assert_equal "$(fake_count chat)" "0"
  run -65 copilot-chat --history
  assert_equal "$(sha256sum "$DB")" "$before"
  # --no-save does not open it
  run -0 copilot-chat --no-save hello
}

@test "a database from a newer schema: an error, the file unchanged" {
  run -0 copilot-chat hello
  db 'PRAGMA user_version = 7' >/dev/null
  local before; before="$(sha256sum "$DB")"
  run -65 --separate-stderr copilot-chat -c again
  assert_equal "$stderr" "copilot-chat: the conversation database $DB has schema version 7, newer than this copilot-chat knows (1); it was left as it is"
  assert_equal "$(sha256sum "$DB")" "$before"
  assert_equal "$(fake_count chat)" "1"
}

@test "a database locked by another writer: exit 75 after the busy timeout, nothing lost" {
  run -0 copilot-chat hello
  python3 - "$DB" "$BATS_TEST_TMPDIR/locked" <<'PY' &
import sqlite3, sys, time, pathlib
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
pathlib.Path(sys.argv[2]).touch()
time.sleep(8)
c.execute("ROLLBACK")
PY
  local holder=$!
  while [[ ! -e "$BATS_TEST_TMPDIR/locked" ]]; do sleep 0.05; done
  run -75 --separate-stderr copilot-chat again
  assert_equal "$stderr" "copilot-chat: the conversation database $DB is locked by another process (waited 5 s); try again, or --no-save"
  wait "$holder"
  assert_equal "$(db 'SELECT count(*) FROM turns')" "1"
}

# Completion of conversation ids (--conversation, --show, --forget): the ids
# --history prints, each checked plain; a hostile row is data, never code.
hostile_conversations() {
  run -0 copilot-chat first
  run -0 copilot-chat second
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO conversations (id, created, updated, title) VALUES (?, 1, 1, ?)", (sys.argv[2], "x")); c.commit()' \
    "$DB" '$(touch '"$BATS_TEST_TMPDIR"'/pwned)'
  IDS=$(db 'SELECT id FROM conversations WHERE id NOT LIKE "$%" ORDER BY id')
}

@test "bash, zsh and fish complete the saved conversation ids, and only plain ones" {
  hostile_conversations
  cd "$BATS_TEST_TMPDIR"
  run -0 bash -c 'source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _copilot_utils "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$REPO/completions/bash/copilot-utils" copilot-chat --show ''
  assert_equal "$(sort <<<"$output")" "$IDS"
  run -0 bash -c 'source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _copilot_utils "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$REPO/completions/bash/copilot-utils" copilot-chat --conversation="${IDS:0:12}"
  assert_output "${IDS:0:12}"
  run -0 bash -c 'TMPDIR="$1" timeout 30 zsh -f "$2" "$3" "copilot-chat --forget " | sed "/^$/d" | sort -u' \
    bash "$BATS_TEST_TMPDIR" "$REPO/tests/helpers/zsh_complete.zsh" "$REPO/completions/zsh"
  assert_equal "$output" "$IDS"
  run -0 fish --no-config -c 'source $argv[1]; complete -C "copilot-chat --show "' \
    "$REPO/completions/fish/copilot-utils.fish"
  assert_equal "$(printf '%s\n' "$output" | cut -f1 | sort)" "$IDS"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned"
}
