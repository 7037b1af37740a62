#!/usr/bin/env bats
# The fault matrix: every network step of every tool against every fault
# the fake server can play. Each test is one fault (a row) tried on the six
# steps (the columns):
#
#   device_code  copilot-login              POST /login/device/code
#   poll         copilot-login --poll --once POST /login/oauth/access_token
#   user         copilot-login --with-token  GET /user (only a warning when it fails)
#   exchange     copilot-token (stale cache) GET /copilot_internal/v2/token
#   models       copilot-chat --list-models  GET /models
#   chat         copilot-chat PROMPT         POST /chat/completions (stream)
#
# Every cell asserts: the documented exit code; on failure exactly one line
# on stderr, naming the cause; no death by a signal; no hang (a guard kills
# the tool after $GUARD seconds, which fails the cell); the auth file, the
# token cache, the model list and the pending login byte-identical to before
# a failure, or replaced whole by a valid new document after a success (a
# new login removes the token cache, as documented); no temp file left.
# Hangs use the documented COPILOT_TIMEOUT (copilot-utils(7)).
# teardown_file prints the matrix (case x step -> ok/FAIL) on the TAP stream.

load helpers/common
load helpers/matrix
load helpers/state

# The hang guard, in seconds: far beyond the worst documented give-up time of
# any cell. With COPILOT_TIMEOUT=1 the documented bound is about 4 x 1 + 4 s.
GUARD=90
GUARD_TIMEOUT=30

setup_file() {
  fake_start
  export MATRIX="$BATS_FILE_TMPDIR/matrix"
  : >"$MATRIX"
  mkdir -p "$BATS_FILE_TMPDIR/stderr"
  # A loopback port where nothing listens: connections are refused.
  CLOSED_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export CLOSED_PORT
}

teardown_file() {
  fake_stop
  print_matrix "fault matrix (case x step): ok = documented exit code, one-line cause on stderr," \
    "no signal, no hang, files intact or replaced whole" case "${STEPS[@]}" >&3
}

setup() {
  common_setup
  exec </dev/null
  # One Copilot token for the whole row: the cells do not reset the server.
  MINTED="$(fake_mint '{"ttl": 1800}')"
}

STEPS=(device_code poll user exchange models chat)

# ---------------------------------------------------------------- the cases

# route_of STEP: the fake server's route the step talks to.
route_of() {
  case "$1" in
  device_code) echo device_code ;;
  poll) echo access_token ;;
  user) echo user ;;
  exchange) echo copilot_token ;;
  models) echo models ;;
  chat) echo chat ;;
  esac
}

# url_var_of STEP: the base-URL variable that points the step at the fake.
url_var_of() {
  case "$1" in
  device_code | poll) echo COPILOT_GITHUB_URL ;;
  user | exchange) echo COPILOT_GITHUB_API_URL ;;
  models | chat) echo COPILOT_API_URL ;;
  esac
}

# wrong_shape STEP: valid JSON that is not what the step expects.
wrong_shape() {
  case "$1" in
  device_code) echo '{"body": {"device_code": 5, "user_code": [], "verification_uri": null}}' ;;
  poll) echo '{"body": {"access_token": {"value": "ghu_x"}, "token_type": "bearer"}}' ;;
  user) echo '{"body": {"login": 42, "id": 1}}' ;;
  exchange) echo '{"body": {"token": "tid=1;exp=2:ab", "expires_at": "soon", "refresh_in": 1500}}' ;;
  models) echo '{"body": {"data": {"id": "gpt-4.1"}, "object": "list"}}' ;;
  chat) echo '{"body": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":42}}]}\n\ndata: [DONE]\n\n"}' ;;
  esac
}

# fault_script CASE STEP: the scripted answer (one JSON object, repeated
# forever), or nothing for a refused connection.
fault_script() {
  case "$1" in
  refused) ;;
  reset) echo '{"reset": true}' ;;
  cut) echo '{"cut": 10}' ;;
  hang) echo '{"hang": true}' ;;
  500) echo '{"status": 500}' ;;
  502) echo '{"status": 502}' ;;
  503) echo '{"status": 503, "retry_after": 1}' ;;
  429) echo '{"status": 429, "retry_after": 1}' ;;
  empty) echo '{"status": 200, "body": ""}' ;;
  invalid)
    if [[ "$2" == chat ]]; then
      echo '{"body": "data: {\"choices\": [{\"delta\": \n\n"}'
    else
      echo '{"body": "{\"token\": \"tid=1;exp=2"}'
    fi
    ;;
  shape) wrong_shape "$2" ;;
  ctype) echo '{"body": "<html><body>Sign in to the guest Wi-Fi</body></html>", "content_type": "text/html; charset=utf-8"}' ;;
  big) echo '{"big_body": 100000000}' ;;
  drip) echo '{"drip": 0.001}' ;;
  stall) echo '{"drip": 5}' ;;
  esac
}

# expected_exit CASE STEP
expected_exit() {
  local c="$1" step="$2"
  [[ "$step" == user || "$c" == drip ]] && { echo 0; return; }
  case "$c" in
  refused | reset | hang | 429) echo 75 ;;
  stall) if [[ "$step" == chat ]]; then echo 76; else echo 75; fi ;;
  500 | 502 | 503) echo 69 ;;
  *) echo 76 ;;
  esac
}

# cause_re CASE: what the one stderr line must say.
cause_re() {
  case "$1" in
  refused) echo "cannot reach 127\.0\.0\.1: .*(Connection refused|Couldn't connect|Failed to connect)" ;;
  reset) echo "cannot reach 127\.0\.0\.1: .*[Rr]eset" ;;
  cut) echo "closed before the answer was complete" ;;
  hang | stall) echo "timed out" ;;
  500 | 502 | 503 | 429) echo "HTTP $1|\($1\)" ;;
  empty) echo "empty" ;;
  invalid) echo "not valid JSON" ;;
  shape) echo "field '[a-z_]+' must be|expected \{\"data\"" ;;
  ctype) echo "not valid JSON|not an event stream \(Content-Type: text/html" ;;
  big) echo "larger than [0-9]+ bytes" ;;
  esac
}

# ------------------------------------------------------- one cell of the matrix

# sandbox STEP: fresh HOME and XDG dirs for one step of the current test,
# holding an old login, a token cache (stale for the exchange step), a model
# list and, for the poll step, a pending login.
sandbox() {
  local step="$1" d="$BATS_TEST_TMPDIR/$1"
  export HOME="$d/home" XDG_CONFIG_HOME="$d/config" XDG_CACHE_HOME="$d/cache"
  AUTH="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  MODELS="$XDG_CACHE_HOME/copilot-utils/models.txt"
  PENDING="$d/pending.json"
  mkdir -p "$HOME" "${AUTH%/*}" "${CACHE%/*}"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "${AUTH%/*}" "$XDG_CACHE_HOME/copilot-utils" "${CACHE%/*}"
  fake_auth_json >"$AUTH"
  local age=10
  [[ "$step" == exchange ]] && age=1490
  jq -c --argjson age "$age" '{host: "github.com", token, expires_at, refresh_in: 1500,
      fetched_at: ((now | floor) - $age), api_url: "https://api.individual.githubcopilot.com",
      sku}' <<<"$MINTED" >"$CACHE"
  printf 'gpt-4.1\ngpt-4o\n' >"$MODELS"
  chmod 600 "$AUTH" "$CACHE" "$MODELS"
  rm -f "$PENDING"
  if [[ "$step" == poll ]]; then
    copilot-login --start >"$PENDING" 2>/dev/null
    chmod 600 "$PENDING"
  fi
}

# snapshot FILE...: "sha256 path" or "absent path" per file.
snapshot() {
  local f
  for f in "$@"; do
    if [[ -e "$f" ]]; then sha256sum "$f"; else echo "absent  $f"; fi
  done
}

# files_intact SUCCEEDED STEP BEFORE: every file is as it was, or (after a
# success) a whole valid new document; prints what is wrong.
files_intact() {
  local succeeded="$1" step="$2" before="$3" kind f line bad=""
  for pair in "auth:$AUTH" "token:$CACHE" "models:$MODELS" "pending:$PENDING"; do
    kind="${pair%%:*}" f="${pair#*:}"
    line="$(grep -F "  $f" <<<"$before")"
    [[ "$(snapshot "$f")" == "$line" ]] && continue
    if [[ "$succeeded" != 1 ]]; then
      bad+=" ${f##*/} changed after a failure;"
    elif [[ ! -e "$f" ]]; then
      # A new login removes the cached token of the previous one (copilot-login(1)).
      [[ "$kind" == token && "$step" =~ ^(device_code|poll|user)$ ]] || bad+=" ${f##*/} vanished;"
    elif ! valid_doc "$kind" "$f"; then
      bad+=" ${f##*/} is not a valid $kind document;"
    elif [[ "$(stat -c %a "$f")" != 600 ]]; then
      bad+=" ${f##*/} has mode $(stat -c %a "$f");"
    fi
  done
  local temps
  temps="$(temp_files "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME")"
  [[ -z "$temps" ]] || bad+=" temp files left: $temps;"
  printf '%s' "$bad"
}

# cell CASE STEP: runs one step under one fault; records ok or FAIL and
# returns non-zero (with the reasons on stderr) when the cell fails.
cell() {
  local c="$1" step="$2" route url_var script want cause
  route="$(route_of "$step")"
  url_var="$(url_var_of "$step")"
  want="$(expected_exit "$c" "$step")"
  cause="$(cause_re "$c")"

  fake_ctl DELETE /_control/script >/dev/null
  fake_config '{"interval": 1}'
  sandbox "$step"
  local before
  before="$(snapshot "$AUTH" "$CACHE" "$MODELS" "$PENDING")"

  local -a envs=() cmd
  script="$(fault_script "$c" "$step")"
  if [[ "$c" == refused ]]; then
    envs+=("$url_var=http://127.0.0.1:$CLOSED_PORT${!url_var#"$FAKE_URL"}")
  else
    fake_script "$route" "[${script%\}}, \"repeat\": -1}]"
  fi
  local guard=$GUARD
  if [[ "$c" == hang || "$c" == stall ]]; then
    envs+=(COPILOT_TIMEOUT=1)
    guard=$GUARD_TIMEOUT
  fi

  local stdin=/dev/null
  case "$step" in
  device_code) cmd=(copilot-login) ;;
  poll) cmd=(copilot-login --poll --once "$PENDING") ;;
  user)
    cmd=(copilot-login --quiet --with-token --no-verify)
    stdin="$BATS_TEST_TMPDIR/user.stdin"
    echo ghu_fake_valid >"$stdin"
    ;;
  exchange) cmd=(copilot-token) ;;
  models) cmd=(copilot-chat --list-models) ;;
  chat) cmd=(copilot-chat hello) ;;
  esac

  local out="$BATS_TEST_TMPDIR/$step.out" err="$BATS_FILE_TMPDIR/stderr/$c.$step"
  local status=0
  env "${envs[@]}" timeout -s KILL "$guard" "${cmd[@]}" <"$stdin" >"$out" 2>"$err" || status=$?

  local why="" nlines
  nlines="$(wc -l <"$err")"
  if [[ $status -eq 137 ]]; then
    why+=" hung: killed by the ${guard}s guard;"
  elif [[ $status -ge 128 ]]; then
    why+=" died by signal $((status - 128));"
  fi
  [[ "$status" == "$want" ]] || why+=" exit $status, expected $want;"
  if [[ "$c" == drip ]]; then
    if grep -q 'warning\|error' "$err"; then why+=" a warning or error on stderr;"; fi
  elif [[ "$step" == user ]]; then
    # The login is stored; the failed lookup is the one warning (--quiet).
    [[ $nlines -eq 1 ]] || why+=" $nlines stderr lines, expected 1;"
    grep -Eq "^copilot-login: warning: could not look up the GitHub user: .*($cause)" "$err" ||
      why+=" stderr does not name the cause /$cause/;"
  else
    [[ $nlines -eq 1 ]] || why+=" $nlines stderr lines, expected 1;"
    grep -Eq "^copilot-(login|token|chat): .*($cause)" "$err" ||
      why+=" stderr does not name the cause /$cause/;"
  fi
  local succeeded=0
  [[ $status -eq 0 ]] && succeeded=1
  why+="$(files_intact "$succeeded" "$step" "$before")"

  if [[ -z "$why" ]]; then
    record "$c" "$step" "ok"
    return 0
  fi
  record "$c" "$step" "FAIL"
  {
    echo "$c / $step (${cmd[*]}):$why"
    sed 's/^/    stderr: /' "$err"
  } >&2
  return 1
}

# row CASE: every step under one fault; fails if any cell failed.
row() {
  local step failed=0
  for step in "${STEPS[@]}"; do
    cell "$1" "$step" || failed=1
  done
  return "$failed"
}

# ------------------------------------------------------------------- the rows

@test "refused connection: every step exits 75 naming the refusal and keeps the files (user lookup: a warning)" {
  row refused
}

@test "connection reset before the answer: exit 75 naming the reset, files kept" {
  row reset
}

@test "connection closed mid-body: exit 76, the answer was incomplete, files kept" {
  row cut
}

@test "a server that accepts and never answers: exit 75 after COPILOT_TIMEOUT, files kept" {
  row hang
}

@test "HTTP 500 on every try: exit 69 after the retries, files kept" {
  row 500
}

@test "HTTP 502 on every try: exit 69 after the retries, files kept" {
  row 502
}

@test "HTTP 503 with Retry-After on every try: exit 69 after the retries, files kept" {
  row 503
}

@test "HTTP 429 with Retry-After on every try: exit 75 after the retries, files kept" {
  row 429
}

@test "an empty 200 body: exit 76 saying it is empty, files kept" {
  row empty
}

@test "invalid JSON: exit 76 saying it is not valid JSON, files kept" {
  row invalid
}

@test "valid JSON of the wrong shape: exit 76 naming the field, files kept" {
  row shape
}

@test "an HTML page instead of JSON or an event stream: exit 76, files kept" {
  row ctype
}

@test "a 100 MB body: exit 76 at the size cap without reading it all, files kept" {
  row big
}

@test "a slow drip of bytes: every step still succeeds and writes whole files" {
  row drip
}

@test "a server that stalls mid-body: exit 75 (a stream: 76) after COPILOT_TIMEOUT, files kept" {
  row stall
}

@test "a poll loop that keeps failing until the code expires names the failure, exit 75" {
  sandbox device_code
  fake_config '{"interval": 1, "expires_in": 3}'
  fake_script access_token '[{"status": 503, "repeat": -1}]'
  before="$(snapshot "$AUTH" "$CACHE")"
  run --separate-stderr -75 timeout -s KILL "$GUARD" copilot-login --quiet
  assert_equal "${#stderr_lines[@]}" 3  # the code, the URL, the error
  assert_regex "${stderr_lines[2]}" "^copilot-login: the device code expired while polling failed \(github.com answered HTTP 503\)"
  assert_equal "$(snapshot "$AUTH" "$CACHE")" "$before"
}

@test "a server that never answers: the whole operation gives up at the deadline, not after tries x timeout (issue 13)" {
  sandbox exchange
  fake_script copilot_token '[{"hang": true, "repeat": -1}]'
  # 4 tries of 3 s plus the waits would be over 12 s; the deadline is 3 s.
  SECONDS=0
  COPILOT_TIMEOUT=3 run --separate-stderr -75 timeout -s KILL "$GUARD" copilot-token --refresh
  took=$SECONDS
  assert_regex "$stderr" "gave up after 3 s"
  (( took < 8 )) || fail "took $took s"
}

@test "an invalid COPILOT_TIMEOUT is a usage error before any request" {
  sandbox exchange
  for v in 0 -1 abc 1.5 86401 99999999999999999999; do
    COPILOT_TIMEOUT="$v" run --separate-stderr -64 copilot-token
    assert_regex "$stderr" "COPILOT_TIMEOUT must be a whole number of seconds"
  done
  assert_equal "$(fake_count copilot_token)" 0
}

@test "no fault case printed a GitHub token, a Copilot token or a device code on stderr" {
  [[ -n "$(ls "$BATS_FILE_TMPDIR/stderr")" ]]
  run grep -rlE 'ghu_fake|gho_|tid=fake|fake_device_code' "$BATS_FILE_TMPDIR/stderr"
  assert_failure 1
  assert_output ""
}
