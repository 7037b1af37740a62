#!/usr/bin/env bats
# Every example in the EXAMPLES section of every man page runs, against the fake server.
#
# How an example is taken from its page (every `.nf`/`.fi` block of EXAMPLES, and the
# `.\" example:` markers that skip one by name with a reason, give it a setup or mark it as
# a server): tests/helpers/manpage.py. How it runs and what it finds (its own network and
# fake server, a stored login, a few files): tests/helpers/man_example.bash.
#
# One test per example, named "PAGE example N: its title". After adding or changing an
# example, print the list with
#     python3 tests/helpers/manpage.py test-names man/*.[157]
# and put it at the end of this file; the first test fails while the two differ.

load helpers/common

setup_file() {
  # Private namespaces give each example its own loopback (copilot-serve's fixed
  # 127.0.0.1:4141 cannot collide, nothing reaches the internet) and reap what it leaves.
  if ! out="$(unshare -r -n -p -f --mount-proc true 2>&1)"; then
    echo "man_examples.bats needs user, network and pid namespaces (unshare -r -n -p -f --mount-proc): $out" >&2
    return 1
  fi
}

setup() { common_setup; }

MANPAGE="$REPO/tests/helpers/manpage.py"

# Runs the example that the test's name designates ("copilot-chat(1) example 3: ...").
run_example() {
  local re='^([a-z-]+)\(([0-9])\) example ([0-9]+): (.*)$'
  [[ "$BATS_TEST_DESCRIPTION" =~ $re ]] || {
    echo "test name '$BATS_TEST_DESCRIPTION' is not 'PAGE(SECTION) example N: TITLE'"
    return 1
  }
  local page="$REPO/man/${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" n="${BASH_REMATCH[3]}"
  local title="${BASH_REMATCH[4]}" dir="$BATS_TEST_TMPDIR/example"
  mkdir -p "$dir"
  python3 "$MANPAGE" example "$page" "$n" "$dir"
  if [[ "$(<"$dir/title")" != "$title" ]]; then
    echo "example $n of $page is now titled '$(<"$dir/title")': update the test names"
    return 1
  fi
  if [[ "$(<"$dir/mode")" == skip ]]; then
    skip "$(<"$dir/reason")"
  fi
  run unshare -r -n -p -f --mount-proc bash "$REPO/tests/helpers/man_example.bash" "$dir"
  if [[ $status -ne 0 ]]; then
    echo "this example of ${page#"$REPO"/} failed with status $status:"
    sed 's/^/    /' "$dir/example.sh"
    if [[ -s "$dir/setup.sh" ]]; then
      echo "after the setup in its page:"
      sed 's/^/    /' "$dir/setup.sh"
    fi
    echo "its output:"
    printf '%s\n' "$output" | sed 's/^/    /'
    return 1
  fi
}

@test "every example of every page has its test here" {
  local want have
  want="$(python3 "$MANPAGE" test-names "$REPO"/man/*.[157])"
  have="$(grep '^@test ".*) example [0-9]*: ' "$BATS_TEST_FILENAME")"
  [[ -n "$want" ]]
  diff <(printf '%s\n' "$want") <(printf '%s\n' "$have")
}

@test "copilot-chat(1) example 1: Ask a question" { run_example; }
@test "copilot-chat(1) example 2: Pipe a file in, with an instruction" { run_example; }
@test "copilot-chat(1) example 3: Multi-turn with --messages: keep the conversation in a file and add each answer to it" { run_example; }
@test "copilot-chat(1) example 4: A pipeline with copilot-token, for a token that a job got elsewhere" { run_example; }
@test "copilot-chat(1) example 5: List the models" { run_example; }
@test "copilot-chat(1) example 6: Another OpenAI-compatible server, with the key it expects" { run_example; }
@test "copilot-chat(1) example 7: In a loop that reads its own lines (standard input is otherwise the prompt)" { run_example; }
@test "copilot-chat(1) example 8: Only the first words" { run_example; }
@test "copilot-chat(1) example 9: A Responses-only model, thinking hard, its reasoning shown on standard error" { run_example; }
@test "copilot-chat(1) example 10: A conversation saved as it goes (see CONVERSATIONS)" { run_example; }
@test "copilot-chat(1) example 11: Attach a file to the question" { run_example; }
@test "copilot-chat(1) example 12: An interactive session (see INTERACTIVE), its lines piped here" { run_example; }
@test "copilot-login(1) example 1: Log in, and open the page in the browser when there is one" { run_example; }
@test "copilot-login(1) example 2: A second account on the same host" { run_example; }
@test "copilot-login(1) example 3: In CI, from a secret in the environment (printf is a shell builtin, so the secret appears in no command line)" { run_example; }
@test "copilot-login(1) example 4: No file at all: the auth state goes straight to copilot-token(1)" { run_example; }
@test "copilot-login(1) example 5: The split flow, for a service that logs in its users" { run_example; }
@test "copilot-login(1) example 6: Who is logged in" { run_example; }
@test "copilot-serve(1) example 1: Serve on the default address and use it from the OpenAI Python library" { run_example; }
@test "copilot-serve(1) example 2: With curl(1)" { run_example; }
@test "copilot-serve(1) example 3: For other machines on the network, with a key" { run_example; }
@test "copilot-serve(1) example 4: A free port, for a script (the address is on standard error once it listens)" { run_example; }
@test "copilot-serve(1) example 5: Is it logged in, and for how long?" { run_example; }
@test "copilot-token(1) example 1: Print a token, from the cache while it is fresh" { run_example; }
@test "copilot-token(1) example 2: In CI: make sure the cached token lasts the next ten minutes, else get a new one" { run_example; }
@test "copilot-token(1) example 3: Put the token in the current shell's environment" { run_example; }
@test "copilot-token(1) example 4: Call the API with curl(1), the token kept off its command line (which every local user can read)" { run_example; }
@test "copilot-token(1) example 5: Run a program with the token in its environment only" { run_example; }
@test "copilot-token(1) example 6: Log in and get a token in one pipeline, without files" { run_example; }
@test "copilot-token(1) example 7: Inspect a token that a script was given" { run_example; }
@test "copilot-token(1) example 8: Keep the cache fresh for a pool of jobs" { run_example; }
@test "copilot-usage(1) example 1: Show the plan and what is left" { run_example; }
@test "copilot-usage(1) example 2: In CI: go on only while a tenth of the premium requests is left" { run_example; }
@test "copilot-usage(1) example 3: Use the numbers in a shell script" { run_example; }
@test "copilot-usage(1) example 4: Read one number with jq(1)" { run_example; }
@test "copilot-utils(7) example 1: Log in and chat" { run_example; }
@test "copilot-utils(7) example 2: Review staged changes" { run_example; }
@test "copilot-utils(7) example 3: Two accounts" { run_example; }
@test "copilot-utils(7) example 4: Call the API with curl(1), the token kept off its command line (which every local user can read)" { run_example; }
