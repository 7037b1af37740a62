#!/usr/bin/env bats
# The option tables (cmd/options/*.opts) as the one source: the committed man
# OPTIONS sections and completions are what the generator makes of them;
# --help, man, bash, zsh and fish agree for every tool; the parser's rules
# (no value for a flag, "did you mean", straight quotes, cut values,
# meaningless combinations); the completions treat files as data.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/serve

TOOLS=(copilot-login copilot-token copilot-chat copilot-serve copilot-usage)

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  unset GITHUB_COPILOT_TOKEN
  BIN="${COPILOT_UTILS_BIN:-$REPO/bin}"
}

teardown() { serve_teardown; }

# ------------------------------------------------------------ one source

@test "the committed man OPTIONS and completions are what gen.py makes of the tables" {
  out="$BATS_TEST_TMPDIR/gen"
  run python3 "$REPO/cmd/options/gen.py" write --out "$out"
  assert_success
  for f in completions/bash/copilot-utils completions/zsh/_copilot-utils \
           completions/fish/copilot-utils.fish man/copilot-{login,token,chat,serve}.1; do
    run diff -u "$REPO/$f" "$out/$f"
    assert_success "$f differs from its table: run make options"
  done
  # Nothing else lists options: no other completion file exists.
  run find "$REPO/completions" -type f
  assert_equal "$(printf '%s\n' "$output" | sed "s|$REPO/||" | sort | tr '\n' ' ')" \
    "completions/bash/copilot-utils completions/fish/copilot-utils.fish completions/zsh/_copilot-utils "
}

@test "each tool's --help is its table's (the build generates it)" {
  for t in "${TOOLS[@]}"; do
    run -0 python3 "$REPO/cmd/options/gen.py" help "$REPO/cmd/options/$t.opts"
    want="$output"
    run -0 --separate-stderr "$BIN/$t" --help
    assert_equal "$output" "$want"
  done
}

@test "--help, the man page OPTIONS, bash, zsh and fish agree on every option of every tool" {
  for t in "${TOOLS[@]}"; do
    run python3 "$REPO/tests/helpers/options_agree.py" "$t" "$BIN" "$REPO"
    assert_success
    assert_output --regexp "^$t: [0-9]+ options compared"
  done
}

@test "the agreement check catches a drifted description, a lost option and a lost argument" {
  copy="$BATS_TEST_TMPDIR/repo"
  mkdir -p "$copy"
  cp -r "$REPO/man" "$REPO/completions" "$copy/"
  sed -i "s/'never read standard input (for an open, silent pipe)'/'never read stdin'/" \
    "$copy/completions/fish/copilot-utils.fish"
  run python3 "$REPO/tests/helpers/options_agree.py" copilot-token "$BIN" "$copy"
  assert_failure
  assert_output --partial "--no-stdin: --help says 'never read standard input (for an open, silent pipe)', fish 'never read stdin'"

  cp "$REPO/completions/fish/copilot-utils.fish" "$copy/completions/fish/"
  sed -i 's/ --no-login\( \|$\)/\1/' "$copy/completions/bash/copilot-utils"
  run python3 "$REPO/tests/helpers/options_agree.py" copilot-serve "$BIN" "$copy"
  assert_failure
  assert_output --partial "bash: options differ from --help: only in --help ['no-login']"

  sed -i 's/^\\fB\\-\\-grace\\fR \\fISECONDS\\fR$/\\fB\\-\\-grace\\fR/' "$copy/man/copilot-serve.1"
  run python3 "$REPO/tests/helpers/options_agree.py" copilot-serve "$BIN" "$copy"
  assert_failure
  assert_output --partial "--grace: --help says"
}

@test "every tool has -v/--verbose, -q/--quiet, -h/--help and --version, in one help style" {
  for t in "${TOOLS[@]}"; do
    run -0 "$BIN/$t" --help
    assert_line --index 0 --regexp "^usage: $t "
    assert_line --regexp '^  -v, --verbose +[a-z]'
    assert_line --regexp '^  -q, --quiet +[a-z]'
    assert_line --regexp '^  -h, --help +show this help and exit$'
    assert_line --regexp '^      --version +show the version and exit$'
    # Every option line is "  -X, --name" or "      --name": one column for names.
    refute_line --regexp '^  --[a-z]'
    refute_line --regexp '^ {0,1}-'
  done
}

@test "copilot-utils(7) lists the common options as every tool has them" {
  section="$(sed -n '/^\.SH COMMON OPTIONS/,/^\.SH [^C]/p' "$REPO/man/copilot-utils.7")"
  for o in '\-v ", " \-\-verbose' '\-q ", " \-\-quiet' '\-h ", " \-\-help' '.B \-\-version' \
           '\-\-auth " FILE" "\fR|\fP" \-'; do
    [[ "$section" == *"$o"* ]] || { echo "copilot-utils(7) COMMON OPTIONS lacks $o"; return 1; }
  done
  # --auth FILE|- is the same in every tool that takes it.
  run -0 "$BIN/copilot-token" --help
  token_auth="$(grep -A1 -e '^      --auth FILE|-' <<<"$output")"
  assert_regex "$token_auth" "read the GitHub auth state from FILE \(- = standard"
  run -0 "$BIN/copilot-serve" --help
  assert_equal "$(grep -A1 -e '^      --auth FILE|-' <<<"$output")" "$token_auth"
}

# ------------------------------------------------------------ the parser

@test "a boolean flag given a value is a usage error (64) in every tool" {
  run --separate-stderr -64 "$BIN/copilot-token" --refresh=false
  assert_equal "$stderr" "copilot-token: option '--refresh' takes no value (given '--refresh=false') (see --help)"
  for t in "${TOOLS[@]}"; do
    run --separate-stderr -64 "$BIN/$t" --quiet=no
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "^$t: option '--quiet' takes no value"
  done
  assert_equal "$(fake_count token)" "0"
}

@test "a mistyped option gets a did-you-mean, with its dashes and straight quotes, on one line" {
  local -A typo=([copilot-token]=refrsh:refresh [copilot-chat]=modle:model
                 [copilot-login]=stauts:status [copilot-serve]=listn:listen
                 [copilot-usage]=chek:check)
  for t in "${TOOLS[@]}"; do
    bad="${typo[$t]%%:*}" good="${typo[$t]#*:}"
    run --separate-stderr -64 "$BIN/$t" "--$bad"
    assert_output ""
    assert_equal "$stderr" "$t: unknown option '--$bad'; did you mean '--$good'? (see --help)"
  done
  run --separate-stderr -64 "$BIN/copilot-token" --zzzzzz
  assert_equal "$stderr" "copilot-token: unknown option '--zzzzzz' (see --help)"
  run --separate-stderr -64 "$BIN/copilot-chat" -x hi
  assert_equal "$stderr" "copilot-chat: unknown option '-x' (see --help)"
  run --separate-stderr -64 "$BIN/copilot-serve" -listen
  assert_equal "$stderr" "copilot-serve: unknown option '-l'; did you mean '--listen'? (see --help)"
  [[ "$stderr" != *$'\u2018'* && "$stderr" != *$'\u2019'* ]]
}

@test "a forgotten value is named, not taken from the next option" {
  run --separate-stderr -64 "$BIN/copilot-token" --host --json
  assert_equal "$stderr" "copilot-token: option '--host' needs a value, not '--json' (see --help)"
  run --separate-stderr -64 "$BIN/copilot-chat" -m
  assert_equal "$stderr" "copilot-chat: option '-m' needs a value (see --help)"
}

@test "a 120 KB option value is not repeated whole in an error" {
  big="$(head -c 120000 /dev/zero | tr '\0' x)"
  run --separate-stderr -64 "$BIN/copilot-token" --min-ttl "$big"
  assert_regex "$stderr" "^copilot-token: --min-ttl needs a number of seconds, not 'x{64}\.\.\.' \(see --help\)$"
  run --separate-stderr -64 "$BIN/copilot-serve" --listen "$big"
  assert_equal "${#stderr_lines[@]}" 1
  (( ${#stderr} < 1100 ))
  # The server's answer names the model; the error line repeats it cut.
  GITHUB_COPILOT_TOKEN=ghu_fake_valid run --separate-stderr "$BIN/copilot-chat" --no-stdin -m "$big" hi
  assert_failure
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "xxxxxxxx"
  (( ${#stderr} < 1100 ))
  run --separate-stderr -64 "$BIN/copilot-token" "--$big"
  (( ${#stderr} < 200 ))
}

@test "a control character in a value is not echoed to the terminal" {
  run --separate-stderr -64 "$BIN/copilot-token" --format $'\e[31mred'
  assert_equal "$stderr" "copilot-token: --format must be token, json, env or header, not '?[31mred' (see --help)"
}

@test "meaningless flag combinations are usage errors" {
  run --separate-stderr -64 "$BIN/copilot-token" --watch --json
  assert_regex "$stderr" "--watch prints no token; it takes no --format or --json"
  run --separate-stderr -64 "$BIN/copilot-token" --watch --format env
  run --separate-stderr -64 "$BIN/copilot-token" --exec --format json -- true
  assert_regex "$stderr" "--exec prints no token"
  run --separate-stderr -64 "$BIN/copilot-token" --check --format token
  assert_regex "$stderr" "--check prints a summary, not --format token"
  printf '%s\n' "$(fake_auth_json)" >"$BATS_TEST_TMPDIR/auth.json"
  run --separate-stderr -64 "$BIN/copilot-serve" --auth "$BATS_TEST_TMPDIR/auth.json" --no-login
  assert_regex "$stderr" "--no-login goes without --auth"
  for t in "${TOOLS[@]}"; do
    run --separate-stderr -64 "$BIN/$t" -q -v
    assert_equal "$stderr" "$t: --quiet and --verbose exclude each other (see --help)"
    run --separate-stderr -64 "$BIN/$t" -vq
    assert_equal "$stderr" "$t: --quiet and --verbose exclude each other (see --help)"
  done
  assert_equal "$(fake_count token)" "0"
}

@test "copilot-chat and copilot-serve take -v and -q like the others" {
  run --separate-stderr -64 "$BIN/copilot-chat" -q --all
  assert_equal "$stderr" "copilot-chat: --all goes with --list-models (see --help)"
  run --separate-stderr -64 "$BIN/copilot-serve" -v --grace x
  assert_regex "$stderr" "^copilot-serve: --grace needs a whole number"
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  run --separate-stderr -0 "$BIN/copilot-chat" -v --no-stdin hi
  assert_output "You said: hi"
  assert_regex "$stderr" "Copilot token from"
}

@test "copilot-serve --auth - reads the auth document from standard input, once" {
  unset GITHUB_COPILOT_TOKEN
  printf '%s\n' "$(fake_auth_json)" >"$BATS_TEST_TMPDIR/auth.json"
  SERVE_STDIN="$BATS_TEST_TMPDIR/auth.json" serve_start --auth -
  run -0 curl -sS --noproxy '*' -m 30 -H 'Content-Type: application/json' \
    -d "$(chat_json "from stdin")" "$SERVE_URL/v1/chat/completions"
  assert_output --partial "You said: from stdin"
  serve_stop
  # Nothing on standard input is an error before it listens.
  run --separate-stderr -65 timeout 20 "$BIN/copilot-serve" --listen 127.0.0.1:0 --auth - </dev/null
  assert_regex "$stderr" "--auth -: nothing on standard input"
}

# ------------------------------------------------------------ completions

# A model cache a hostile server could have written (copilot-chat --list-models).
hostile_models() {
  mkdir -p "$XDG_CACHE_HOME/copilot-utils"
  printf '%s\n' 'gpt-4.1' "\$(touch $BATS_TEST_TMPDIR/pwned-dollar)" \
    "\`touch $BATS_TEST_TMPDIR/pwned-backtick\`" 'gpt-4o-mini' "(touch $BATS_TEST_TMPDIR/pwned-fish)" \
    'a;touch x' >"$XDG_CACHE_HOME/copilot-utils/models.txt"
}

# bash_complete TOOL WORD...: what bash's completion offers for the last WORD,
# driven the way readline drives it (complete -p, COMP_WORDS, COMP_CWORD).
bash_complete() {
  bash -c 'source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    spec=$(complete -p "$1") || exit 1
    fn=${spec#*-F }; fn=${fn%% *}
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$REPO/completions/bash/copilot-utils" "$@"
}

@test "bash completion of --model treats the model cache as data, never as code" {
  hostile_models
  run -0 bash_complete copilot-chat -m ''
  assert_equal "$output" $'gpt-4.1\ngpt-4o-mini'
  run -0 bash_complete copilot-chat --model=gpt-4o
  assert_output "gpt-4o-mini"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-dollar"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-backtick"
}

@test "bash completion of --host and --profile treats file names as data" {
  mkdir -p "$XDG_CONFIG_HOME/copilot-utils/auth"
  touch "$XDG_CONFIG_HOME/copilot-utils/auth/ghe.example.com@work.json" \
        "$XDG_CONFIG_HOME/copilot-utils/auth/\$(touch pwned-name).json" \
        "$XDG_CONFIG_HOME/copilot-utils/auth/github.com@\`touch pwned-name\`.json"
  cd "$BATS_TEST_TMPDIR"
  run -0 bash_complete copilot-token --host ''
  assert_equal "$output" $'github.com\nghe.example.com'
  run -0 bash_complete copilot-serve --profile ''
  assert_output "work"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-name"
}

@test "bash completion offers each tool's options and values from its table" {
  run -0 bash_complete copilot-token --f
  assert_output "--format"
  run -0 bash_complete copilot-token --format ''
  assert_equal "$output" $'token\njson\nenv\nheader'
  run -0 bash_complete copilot-chat -
  assert_line -- "-v"
  assert_line -- "--quiet"
  run -0 bash_complete copilot-serve --li
  assert_output "--listen"
  run -0 bash_complete copilot-login --poll --o
  assert_equal "$output" $'--output\n--open\n--once'
}

# zsh_complete LINE: what zsh's completion system offers after LINE + TAB
# (compinit and _arguments for real, on a pseudo-terminal), sorted, once each.
zsh_complete() {
  TMPDIR="$BATS_TEST_TMPDIR" timeout 30 zsh -f "$REPO/tests/helpers/zsh_complete.zsh" \
    "$REPO/completions/zsh" "$1" | sed '/^$/d' | sort -u
}

@test "zsh completion of --model treats the model cache as data, never as code" {
  hostile_models
  cd "$BATS_TEST_TMPDIR"
  run -0 zsh_complete 'copilot-chat -m '
  assert_equal "$output" $'gpt-4.1\ngpt-4o-mini'
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-dollar"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-backtick"
}

# help_longs TOOL: the long options its --help lists, sorted.
help_longs() {
  "$BIN/$1" --help | grep -oE '^  (-[A-Za-z], |    )--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort
}

@test "what zsh and fish themselves offer after TOOL -- is every long option of --help" {
  for t in "${TOOLS[@]}"; do
    want="$(help_longs "$t")"
    run -0 zsh_complete "$t --"
    assert_equal "$(grep -- '^--.' <<<"$output")" "$want"
    run -0 fish --no-config -c 'source $argv[1]; complete -C "$argv[2] --"' \
      "$REPO/completions/fish/copilot-utils.fish" "$t"
    # fish hides what "needs" another option (--all, --once, --json of copilot-login).
    got="$(cut -f1 <<<"$output" | sort)"
    missing="$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')"
    case $t in
      copilot-login) assert_equal "$missing" "--json --once " ;;
      copilot-chat) assert_equal "$missing" "--all " ;;
      copilot-usage) assert_equal "$missing" "--min-remaining " ;;
      *) assert_equal "$missing" "" ;;
    esac
    assert_equal "$(comm -13 <(echo "$want") <(echo "$got"))" ""
  done
}

@test "zsh completion offers each tool's options and values from its table" {
  run -0 zsh_complete 'copilot-token --format '
  assert_equal "$output" $'env\nheader\njson\ntoken'
  run -0 zsh_complete 'copilot-login --st'
  assert_equal "$output" $'--start\n--status'
  run -0 zsh_complete 'copilot-serve --listen '
  assert_line '127.0.0.1:4141'
}

@test "fish completion of --model treats the model cache as data, never as code" {
  hostile_models
  run -0 fish --no-config -c 'source $argv[1]; complete -C "copilot-chat -m "' \
    "$REPO/completions/fish/copilot-utils.fish"
  assert_equal "$(printf '%s\n' "$output" | cut -f1)" $'gpt-4.1\ngpt-4o-mini'
  run -0 fish --no-config -c 'source $argv[1]; complete -C "copilot-token --format "' \
    "$REPO/completions/fish/copilot-utils.fish"
  assert_equal "$(printf '%s\n' "$output" | cut -f1 | sort | tr '\n' ' ')" "env header json token "
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-dollar"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-backtick"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned-fish"
}
