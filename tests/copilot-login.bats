#!/usr/bin/env bats
# copilot-login against the fake GitHub server: the device flow and its
# pacing rules (interval, slow_down, expiry, retries), every OAuth error,
# the split flow (--start / --poll), --with-token, --import, --status,
# --logout, file modes, stdout hygiene and Ctrl-C.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  # The files the tests write by hand hold secrets: the tools read them only
  # when private (0600), so they are made as a careful user makes them.
  umask 077
  unset DISPLAY WAYLAND_DISPLAY
  # An open stdin of the test runner must never look like piped input.
  exec </dev/null
  # A 1 s interval keeps the suite fast; the client has no speed-up knob.
  fake_config '{"interval": 1}' >/dev/null
  AUTH_DIR="$XDG_CONFIG_HOME/copilot-utils/auth"
  AUTH="$AUTH_DIR/github.com.json"
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  BG_PID=
}

teardown() {
  if [[ -n "${BG_PID:-}" ]]; then
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
}

# The times of the device-code request and of every poll, one per line.
request_times() {
  fake_log | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    if r["route"] in ("device_code", "access_token"):
        print("%s %.6f" % (r["route"], r["time"]))'
}

# The smallest gap between consecutive requests (device code, then polls).
min_gap() {
  request_times | awk 'NR > 1 { g = $2 - prev; if (min == "" || g < min) min = g } { prev = $2 }
                       END { printf "%.3f\n", min }'
}

# Succeeds if $1 >= $2 (decimal numbers).
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

polls() { fake_count access_token; }

no_auth_written() {
  assert_file_not_exists "$AUTH"
  [[ -z "$(ls -A "$AUTH_DIR" 2>/dev/null)" ]]
}

# ------------------------------------------------------------- the device flow

@test "a login shows the code and URL on stderr, stores the auth state and prints nothing on stdout" {
  run -0 --separate-stderr copilot-login
  assert_output ""
  [[ "$stderr" =~ "First copy your one-time code: "[A-Z]{4}-[0-9]{4} ]]
  assert_regex "$stderr" "Then open: $FAKE_URL/login/device"
  assert_regex "$stderr" "code expires in 15 minutes"
  assert_regex "$stderr" "Logged in to github.com as octocat \\(Copilot: free_limited_copilot\\)"
  assert_file_exists "$AUTH"
  [[ "$(json_get "$AUTH" '["oauth_token"]')" == ghu_fake_* ]]
  assert_equal "$(json_get "$AUTH" '["user"]')" "octocat"
  assert_equal "$(json_get "$AUTH" '["host"]')" "github.com"
  assert_equal "$(json_get "$AUTH" '["client_id"]')" "Iv1.b507a08c87ecfe98"
  assert_equal "$(json_get "$AUTH" '["scope"]')" "read:user"
  # the token never reaches stderr
  refute_regex "$stderr" "ghu_fake_[0-9]"
}

@test "a login followed by copilot-token makes one token exchange: the login's check fills the cache" {
  run -0 --separate-stderr copilot-login
  run -0 --separate-stderr copilot-token
  # exactly one /copilot_internal/v2/token request in the fake server's log
  assert_equal "$(fake_count copilot_token)" "1"
  assert_equal "$output" "$(json_get "$CACHE" '["token"]')"
  assert_equal "$(stat -c %a "$CACHE")" "600"
}

@test "a login replaces the cached token of the previous login with its own" {
  fake_config '{"github_tokens": ["ghu_fake_first", "ghu_fake_second", "ghu_fake_third"]}' >/dev/null
  run -0 copilot-login --with-token <<<"ghu_fake_first"
  first="$(json_get "$CACHE" '["token"]')"
  run -0 copilot-login --with-token <<<"ghu_fake_second"
  [[ "$(json_get "$CACHE" '["token"]')" != "$first" ]]
  assert_equal "$(fake_count copilot_token)" "2"
  run -0 copilot-token
  assert_equal "$(fake_count copilot_token)" "2"
  # --no-verify makes no exchange, so no token is cached: copilot-token makes the one exchange
  run -0 copilot-login --with-token --no-verify <<<"ghu_fake_third"
  assert_file_not_exists "$CACHE"
  run -0 copilot-token
  assert_equal "$(fake_count copilot_token)" "3"
}

@test "a login to --output FILE leaves the stored login's cache alone" {
  fake_config '{"github_tokens": ["ghu_fake_stored", "ghu_fake_other"]}' >/dev/null
  run -0 copilot-login --with-token <<<"ghu_fake_stored"
  cached="$(json_get "$CACHE" '["token"]')"
  run -0 copilot-login --with-token --output "$BATS_TEST_TMPDIR/other.json" <<<"ghu_fake_other"
  assert_equal "$(json_get "$CACHE" '["token"]')" "$cached"
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_fake_stored"
}

@test "the auth file is 0600 in a 0700 directory" {
  run -0 copilot-login --quiet
  assert_equal "$(stat -c %a "$AUTH")" "600"
  assert_equal "$(stat -c %a "$AUTH_DIR")" "700"
  assert_equal "$(stat -c %a "$XDG_CONFIG_HOME/copilot-utils")" "700"
}

@test "the requests carry the form body, Accept: application/json and the editor headers" {
  run -0 copilot-login --quiet --scope "read:user user:email"
  assert_equal "$(fake_last device_code '["method"]')" "POST"
  assert_equal "$(fake_last device_code '["body"]')" "client_id=Iv1.b507a08c87ecfe98&scope=read%3Auser%20user%3Aemail"
  assert_equal "$(fake_last device_code '["headers"]["accept"]')" "application/json"
  assert_equal "$(fake_last device_code '["headers"]["content-type"]')" "application/x-www-form-urlencoded"
  assert_equal "$(fake_last device_code '["headers"]["editor-version"]')" "vscode/1.104.3"
  body="$(fake_last access_token '["body"]')"
  assert_regex "$body" "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
  assert_regex "$body" "client_id=Iv1.b507a08c87ecfe98"
  assert_regex "$body" "device_code=fake_device_code_"
  assert_equal "$(fake_last access_token '["headers"]["accept"]')" "application/json"
  assert_equal "$(fake_last user '["headers"]["authorization"]')" "$(printf 'token %s' "$(json_get "$AUTH" '["oauth_token"]')")"
  assert_equal "$(fake_count copilot_token)" "1"
}

@test "pending three times then success, and no poll is ever closer than the interval" {
  fake_script access_token '[{"error": "authorization_pending", "repeat": 3}]'
  run -0 copilot-login --quiet
  assert_equal "$(polls)" "4"
  gap="$(min_gap)"
  at_least "$gap" 0.95 || fail "a poll came ${gap} s after the previous request (interval 1 s)"
  assert_file_exists "$AUTH"
}

@test "slow_down with a larger interval in the answer raises the interval to it for good" {
  fake_script access_token '[{"error": "slow_down", "interval": 2}, {"error": "authorization_pending"}]'
  run -0 --separate-stderr copilot-login --verbose
  assert_equal "$(polls)" "3"
  request_times | awk 'NR > 1 { print $2 - prev } { prev = $2 }' >"$BATS_TEST_TMPDIR/gaps"
  mapfile -t gaps <"$BATS_TEST_TMPDIR/gaps"
  at_least "${gaps[0]}" 0.95 || fail "first poll after ${gaps[0]} s"
  at_least "${gaps[1]}" 1.95 || fail "poll after slow_down came after ${gaps[1]} s, not 2"
  at_least "${gaps[2]}" 1.95 || fail "the raised interval did not stay: ${gaps[2]} s"
  assert_regex "$stderr" "slow down; polling every 2 s"
}

@test "slow_down without an interval adds five seconds" {
  fake_script access_token '[{"error": "slow_down"}]'
  run -0 copilot-login --quiet
  assert_equal "$(polls)" "2"
  gap="$(request_times | awk 'NR == 3 { print $2 - prev } { prev = $2 }')"
  at_least "$gap" 5.95 || fail "poll after slow_down came after $gap s, not 1 + 5"
}

@test "an expired_token answer stops with 75, says the code expired and writes nothing" {
  fake_script access_token '[{"error": "expired_token"}]'
  run -75 --separate-stderr copilot-login
  assert_output ""
  assert_regex "$stderr" "copilot-login: the device code expired"
  assert_equal "$(polls)" "1"
  no_auth_written
}

@test "the code's own lifetime ends the polling with 75 even if the server keeps saying pending" {
  fake_config '{"approval": "manual", "expires_in": 2}'
  run -75 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "the device code expired"
  [[ "$(polls)" -le 2 ]]
  no_auth_written
}

@test "a denied login stops with 77 and writes nothing" {
  fake_config '{"approval": "manual"}'
  ( sleep 1.5; fake_deny >/dev/null ) 3>&- &
  BG_PID=$!
  run -77 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "copilot-login: the login was denied \\(access_denied"
  no_auth_written
}

@test "incorrect_device_code stops with 76 and the server's description" {
  fake_script access_token '[{"error": "incorrect_device_code", "error_description": "No such code."}]'
  run -76 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "incorrect_device_code: No such code\\."
  no_auth_written
}

@test "incorrect_client_credentials stops with 77" {
  fake_script access_token '[{"error": "incorrect_client_credentials"}]'
  run -77 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "refused the client ID 'Iv1.b507a08c87ecfe98' \\(incorrect_client_credentials"
  no_auth_written
}

@test "unsupported_grant_type stops with 76" {
  fake_script access_token '[{"error": "unsupported_grant_type"}]'
  run -76 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "unsupported_grant_type"
  no_auth_written
}

@test "device_flow_disabled stops with 77" {
  fake_script access_token '[{"error": "device_flow_disabled"}]'
  run -77 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "device flow is disabled .*device_flow_disabled"
  no_auth_written
}

@test "an unknown error code stops with 76 and names it, on one line" {
  fake_script access_token '[{"error": "weird_thing", "error_description": "two\nlines"}]'
  run -76 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "login failed \\(weird_thing: two lines\\)"
  assert_equal "$(printf '%s\n' "$stderr" | grep -c 'copilot-login:')" "1"
}

@test "a device_flow_disabled answer to the device code request stops with 77" {
  fake_script device_code '[{"error": "device_flow_disabled", "status": 400}]'
  run -77 --separate-stderr copilot-login
  assert_regex "$stderr" "device flow is disabled"
  assert_equal "$(polls)" "0"
}

@test "errors in a 400 body work like errors in a 200 body" {
  fake_config '{"oauth_error_status": 400}'
  fake_script access_token '[{"error": "authorization_pending"}]'
  run -0 copilot-login --quiet
  assert_equal "$(polls)" "2"
  assert_equal "$(fake_log access_token | json_get - '["requests"][0]["status"]')" "400"
  fake_script access_token '[{"error": "access_denied"}]'
  run -77 copilot-login --quiet --profile other
}

@test "a 500 while polling is retried after a wait and the login still succeeds" {
  fake_script access_token '[{"status": 500}]'
  run -0 --separate-stderr copilot-login --verbose
  assert_equal "$(polls)" "2"
  gap="$(min_gap)"
  at_least "$gap" 0.95 || fail "the retry came after $gap s"
  assert_regex "$stderr" "HTTP 500; polling again in"
  assert_file_exists "$AUTH"
}

@test "a connection reset while polling is retried without losing the flow" {
  fake_script access_token '[{"reset": true}, {"error": "authorization_pending"}]'
  run -0 copilot-login --quiet
  assert_equal "$(polls)" "3"
  assert_file_exists "$AUTH"
}

@test "a truncated device-code answer fails with 76 and writes nothing" {
  # every attempt is cut short (a single cut is retried)
  fake_script device_code '[{"cut": 25, "repeat": -1}]'
  run -76 --separate-stderr copilot-login
  assert_output ""
  refute_regex "$stderr" "one-time code"
  assert_equal "$(polls)" "0"
  no_auth_written
}

@test "a device-code answer without user_code fails with 76 naming the field" {
  fake_script device_code '[{"body": {"device_code": "x", "verification_uri": "https://github.com/login/device", "expires_in": 900, "interval": 1}}]'
  run -76 --separate-stderr copilot-login
  assert_regex "$stderr" "device code answer from github.com: field 'user_code' is missing"
}

@test "a device-code answer whose verification_uri is not a web URL fails with 76" {
  fake_script device_code '[{"body": {"device_code": "x", "user_code": "ABCD-1234", "verification_uri": "file:///etc/passwd", "interval": 1}}]'
  run -76 --separate-stderr copilot-login
  assert_regex "$stderr" "field 'verification_uri' is not usable"
}

@test "a device-code answer that is not JSON fails with 76" {
  fake_script device_code '[{"body": "<html>oops</html>"}]'
  run -76 --separate-stderr copilot-login
  assert_regex "$stderr" "device code answer from github.com: not valid JSON"
}

@test "a malformed access-token answer fails with 76 and writes nothing" {
  fake_script access_token '[{"body": "{\"access_token\": \"ghu_x\", "}]'
  run -76 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "access token answer from github.com: not valid JSON"
  no_auth_written
}

@test "Ctrl-C while polling exits 130 and writes nothing" {
  fake_config '{"approval": "manual"}'
  copilot-login 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  BG_PID=$!
  for _ in $(seq 100); do [[ "$(polls)" -ge 1 ]] && break; sleep 0.05; done
  [[ "$(polls)" -ge 1 ]] || fail "no poll seen"
  kill -INT "$BG_PID"
  rc=0
  wait "$BG_PID" || rc=$?
  BG_PID=
  assert_equal "$rc" "130"
  grep -q "copilot-login: interrupted" "$BATS_TEST_TMPDIR/err"
  no_auth_written
}

# ---------------------------------------------------------- verification

@test "an account without Copilot gets the server's message and 77, and the token is still saved" {
  fake_script access_token '[{"body": {"access_token": "ghu_nocopilot", "token_type": "bearer", "scope": "read:user"}}]'
  fake_config '{"no_copilot_tokens": ["ghu_nocopilot"]}'
  run -77 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "You do not have access to GitHub Copilot"
  assert_regex "$stderr" "the GitHub token is valid and was saved to $AUTH, but this account has no Copilot access"
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_nocopilot"
  refute_regex "$stderr" "ghu_nocopilot"
}

@test "--no-verify skips the token exchange" {
  run -0 --separate-stderr copilot-login --no-verify
  assert_equal "$(fake_count copilot_token)" "0"
  assert_regex "$stderr" "Logged in to github.com as octocat \\(Copilot access not checked\\)"
}

@test "a failed user lookup is only a warning" {
  fake_script user '[{"status": 404}]'
  run -0 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "warning: could not look up the GitHub user"
  assert_equal "$(json_get "$AUTH" '["user"]')" ""
}

@test "a login whose Copilot check cannot be made is saved with a warning" {
  fake_script copilot_token '[{"status": 503, "retry_after": 0, "repeat": -1}]'
  run -0 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "warning: logged in, but Copilot access could not be checked"
  assert_file_exists "$AUTH"
}

@test "--with-token does not store a token it could not check" {
  fake_script copilot_token '[{"status": 503, "retry_after": 0, "repeat": -1}]'
  run -69 copilot-login --with-token --quiet <<<"ghu_fake_valid"
  no_auth_written
}

@test "a new login replaces the cached Copilot token of the previous one, or removes it with --no-verify" {
  mkdir -p "${CACHE%/*}"
  fake_token_json >"$CACHE"
  old="$(json_get "$CACHE" '["token"]')"
  run -0 copilot-login --quiet
  [[ "$(json_get "$CACHE" '["token"]')" != "$old" ]]
  assert_equal "$(fake_count copilot_token)" "1"
  fake_token_json >"$CACHE"
  run -0 copilot-login --quiet --no-verify
  assert_file_not_exists "$CACHE"
}

# -------------------------------------------------------------- output and flags

@test "--output - gives parseable JSON and nothing else on stdout, and stores no file" {
  run -0 --separate-stderr copilot-login --output -
  printf '%s\n' "$output" | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["oauth_token"].startswith("ghu_fake_"), d'
  assert_equal "$(printf '%s\n' "$output" | wc -l)" "1"
  assert_equal "$(json_get - '["user"]' <<<"$output")" "octocat"
  no_auth_written
}

@test "--output FILE writes the auth state there with mode 0600" {
  run -0 copilot-login --quiet --output "$BATS_TEST_TMPDIR/auth.json"
  assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/auth.json")" "600"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/auth.json" '["host"]')" "github.com"
  no_auth_written
}

@test "--quiet keeps the code and the URL but drops the other lines" {
  run -0 --separate-stderr copilot-login --quiet
  assert_regex "$stderr" "First copy your one-time code: "
  assert_regex "$stderr" "Then open: "
  refute_regex "$stderr" "expires in"
  refute_regex "$stderr" "Logged in"
}

@test "--profile and --host choose the auth file and the host recorded in it" {
  run -0 copilot-login --quiet --profile work
  assert_file_exists "$AUTH_DIR/github.com@work.json"
  run -0 copilot-login --quiet --host acme.ghe.com
  assert_equal "$(json_get "$AUTH_DIR/acme.ghe.com.json" '["host"]')" "acme.ghe.com"
  assert_file_not_exists "$AUTH"
}

@test "--client-id is sent and recorded" {
  run -0 copilot-login --quiet --client-id Iv1.other
  assert_regex "$(fake_last device_code '["body"]')" "client_id=Iv1.other"
  assert_equal "$(json_get "$AUTH" '["client_id"]')" "Iv1.other"
}

@test "--open runs xdg-open with the URI as one argument when there is a display" {
  mkdir -p "$BATS_TEST_TMPDIR/fakebin"
  printf '#!/bin/sh\nprintf "%%s\\n" "$#" "$@" >"%s/opened"\n' "$BATS_TEST_TMPDIR" \
    >"$BATS_TEST_TMPDIR/fakebin/xdg-open"
  chmod +x "$BATS_TEST_TMPDIR/fakebin/xdg-open"
  PATH="$BATS_TEST_TMPDIR/fakebin:$PATH" DISPLAY=:99 run -0 --separate-stderr copilot-login --open
  assert_output ""
  for _ in $(seq 40); do [[ -s "$BATS_TEST_TMPDIR/opened" ]] && break; sleep 0.05; done
  assert_equal "$(cat "$BATS_TEST_TMPDIR/opened")" "$(printf '1\n%s/login/device' "$FAKE_URL")"
}

@test "--open without a display opens nothing" {
  mkdir -p "$BATS_TEST_TMPDIR/fakebin"
  printf '#!/bin/sh\ntouch "%s/opened"\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/fakebin/xdg-open"
  chmod +x "$BATS_TEST_TMPDIR/fakebin/xdg-open"
  PATH="$BATS_TEST_TMPDIR/fakebin:$PATH" run -0 copilot-login --open --quiet
  sleep 0.2
  assert_file_not_exists "$BATS_TEST_TMPDIR/opened"
}

@test "--open warns but still logs in when xdg-open is missing" {
  bin="$(command -v copilot-login)"
  run -0 --separate-stderr env PATH=/nonexistent DISPLAY=:99 "$bin" --open --quiet
  assert_regex "$stderr" "warning: cannot run xdg-open"
  assert_file_exists "$AUTH"
}

@test "usage errors exit 64 and --help prints to stdout" {
  run -64 copilot-login --once
  run -64 copilot-login --start --status
  run -64 copilot-login --json
  run -64 copilot-login --status --output x
  run -64 copilot-login extra-argument
  run -64 copilot-login --profile ../x --status
  run -64 copilot-login --no-such-flag
  run -0 --separate-stderr copilot-login --help
  assert_regex "$output" "--with-token"
  assert_equal "$stderr" ""
  run -0 copilot-login --version
  assert_regex "$output" "^copilot-login [0-9]"
  assert_equal "$(fake_count device_code)" "0"
}

# -------------------------------------------------------------- the split flow

@test "--start prints the pending login with an absolute expires_at and nothing else on stdout" {
  before="$(date +%s)"
  run -0 --separate-stderr copilot-login --start
  printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/pending.json"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["host"]')" "github.com"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["client_id"]')" "Iv1.b507a08c87ecfe98"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["interval"]')" "1"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["verification_uri"]')" "$FAKE_URL/login/device"
  [[ "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["device_code"]')" == fake_device_code_* ]]
  exp="$(json_get "$BATS_TEST_TMPDIR/pending.json" '["expires_at"]')"
  [[ "$exp" -ge $((before + 900)) && "$exp" -le $(($(date +%s) + 900)) ]]
  assert_regex "$stderr" "First copy your one-time code"
  assert_equal "$(polls)" "0"
  no_auth_written
}

@test "--poll FILE finishes a started login and stores it" {
  copilot-login --start --quiet >"$BATS_TEST_TMPDIR/pending.json"
  run -0 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json"
  assert_output ""
  assert_regex "$stderr" "Logged in to github.com as octocat"
  assert_file_exists "$AUTH"
  assert_equal "$(polls)" "1"
}

@test "--poll reads the pending login from standard input" {
  copilot-login --start --quiet >"$BATS_TEST_TMPDIR/pending.json"
  run -0 copilot-login --poll --quiet --output - <"$BATS_TEST_TMPDIR/pending.json"
  assert_equal "$(json_get - '["host"]' <<<"$output")" "github.com"
}

@test "--poll --once exits 75 while pending and 0 with the auth state once approved" {
  fake_config '{"approval": "manual"}'
  copilot-login --start --quiet >"$BATS_TEST_TMPDIR/pending.json"
  run -75 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json" --once
  assert_regex "$stderr" "login still pending: enter code [A-Z]{4}-[0-9]{4} at"
  assert_equal "$(polls)" "1"
  no_auth_written
  fake_approve >/dev/null
  run -0 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json" --once --output -
  assert_equal "$(json_get - '["user"]' <<<"$output")" "octocat"
  assert_equal "$(polls)" "2"
}

@test "--poll --once keeps a slow_down in the pending file" {
  copilot-login --start --quiet >"$BATS_TEST_TMPDIR/pending.json"
  fake_script access_token '[{"error": "slow_down", "interval": 7}]'
  run -75 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json" --once
  assert_regex "$stderr" "wait 7 s before the next poll"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/pending.json" '["interval"]')" "7"
}

@test "--poll with an expired pending login exits 75 without polling" {
  printf '{"host": "github.com", "client_id": "Iv1.b507a08c87ecfe98", "device_code": "x", "user_code": "ABCD-1234", "verification_uri": "https://github.com/login/device", "interval": 5, "expires_at": %s}\n' \
    "$(($(date +%s) - 1))" >"$BATS_TEST_TMPDIR/pending.json"
  run -75 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json"
  assert_regex "$stderr" "expired"
  assert_equal "$(polls)" "0"
}

@test "--poll with a malformed pending login exits 65 naming the field" {
  printf '{"host": "github.com", "client_id": "c", "expires_at": 1}\n' >"$BATS_TEST_TMPDIR/pending.json"
  run -65 --separate-stderr copilot-login --poll "$BATS_TEST_TMPDIR/pending.json"
  assert_regex "$stderr" "field 'device_code' is missing"
  run -65 copilot-login --poll "$BATS_TEST_TMPDIR/missing.json"
}

# -------------------------------------------------------- tokens from elsewhere

@test "--with-token stores a valid token read from standard input, trimmed" {
  run -0 --separate-stderr copilot-login --with-token <<<"  ghu_fake_valid  "
  assert_output ""
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_fake_valid"
  assert_equal "$(json_get "$AUTH" '["user"]')" "octocat"
  assert_regex "$stderr" "Logged in to github.com as octocat \\(Copilot: "
  assert_equal "$(fake_count copilot_token)" "1"
  assert_equal "$(fake_count device_code)" "0"
  refute_regex "$stderr" "ghu_fake_valid"
}

@test "--with-token refuses a revoked token with 77 and stores nothing" {
  run -77 --separate-stderr copilot-login --with-token <<<"ghu_revoked"
  assert_regex "$stderr" "invalid or revoked"
  refute_regex "$stderr" "ghu_revoked"
  no_auth_written
}

@test "--with-token with a token without Copilot saves it, says so and exits 77" {
  fake_config '{"no_copilot_tokens": ["ghu_nocopilot"]}'
  run -77 --separate-stderr copilot-login --with-token <<<"ghu_nocopilot"
  assert_regex "$stderr" "no Copilot access"
  assert_regex "$stderr" "was saved to $AUTH"
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_nocopilot"
}

@test "--with-token needs a token on standard input" {
  run -64 copilot-login --with-token
  run -65 copilot-login --with-token <<<""
  run -65 copilot-login --with-token <<<"two tokens"
  no_auth_written
}

@test "--import takes the token from copilot.vim's apps.json" {
  mkdir -p "$XDG_CONFIG_HOME/github-copilot"
  printf '{"github.com:Iv1.b507a08c87ecfe98": {"user": "octocat", "oauth_token": "ghu_fake_valid", "githubAppId": "Iv1.b507a08c87ecfe98"}}\n' \
    >"$XDG_CONFIG_HOME/github-copilot/apps.json"
  run -0 --separate-stderr copilot-login --import
  assert_regex "$stderr" "apps.json"
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_fake_valid"
  assert_equal "$(stat -c %a "$AUTH")" "600"
}

@test "--import takes the token from copilot.lua's hosts.json" {
  mkdir -p "$XDG_CONFIG_HOME/github-copilot"
  printf '{"github.com": {"user": "octocat", "oauth_token": "ghu_fake_valid"}}\n' \
    >"$XDG_CONFIG_HOME/github-copilot/hosts.json"
  run -0 copilot-login --import --quiet
  assert_equal "$(json_get "$AUTH" '["oauth_token"]')" "ghu_fake_valid"
}

@test "--import without a copilot.vim token exits 66" {
  run -66 --separate-stderr copilot-login --import
  assert_regex "$stderr" "no copilot.vim/copilot.lua token for github.com"
  no_auth_written
}

# ------------------------------------------------------------ status and logout

@test "--status lists every stored login with its user and a masked token" {
  copilot-login --with-token --quiet <<<"ghu_fake_valid"
  copilot-login --with-token --quiet --profile work <<<"ghu_fake_valid"
  run -0 --separate-stderr copilot-login --status
  assert_line --index 0 --regexp '^\* github\.com +octocat +ghu_\*\*\*\*$'
  assert_line --index 1 --regexp '^  github\.com@work +octocat +ghu_\*\*\*\*$'
  refute_output --partial "ghu_fake_valid"
  run -0 copilot-login --status --profile work
  assert_line --index 1 --regexp '^\* github\.com@work'
}

@test "--status exits 66 when the selected login is missing" {
  copilot-login --with-token --quiet --profile work <<<"ghu_fake_valid"
  run -66 --separate-stderr copilot-login --status
  assert_regex "$stderr" "not logged in to github.com"
  assert_line --regexp '^  github\.com@work'
  rm -rf "$AUTH_DIR"
  run -66 --separate-stderr copilot-login --status
  assert_output ""
}

@test "--status --json describes the stored logins" {
  copilot-login --with-token --quiet <<<"ghu_fake_valid"
  run -0 copilot-login --status --json
  assert_equal "$(json_get - '["logged_in"]' <<<"$output")" "true"
  assert_equal "$(json_get - '["logins"][0]["user"]' <<<"$output")" "octocat"
  assert_equal "$(json_get - '["logins"][0]["token"]' <<<"$output")" 'ghu_****'
  run -66 --separate-stderr copilot-login --status --json --profile nobody
  assert_equal "$(json_get - '["logged_in"]' <<<"$output")" "false"
}

@test "--logout removes the auth state and the cached Copilot token" {
  copilot-login --with-token --quiet <<<"ghu_fake_valid"
  mkdir -p "${CACHE%/*}"
  fake_token_json >"$CACHE"
  run -0 --separate-stderr copilot-login --logout
  assert_regex "$stderr" "Logged out of github.com"
  assert_file_not_exists "$AUTH"
  assert_file_not_exists "$CACHE"
  run -66 copilot-login --logout
}

@test "--logout of one profile leaves the others alone" {
  copilot-login --with-token --quiet <<<"ghu_fake_valid"
  copilot-login --with-token --quiet --profile work <<<"ghu_fake_valid"
  run -0 copilot-login --logout --profile work --quiet
  assert_output ""
  assert_file_exists "$AUTH"
  assert_file_not_exists "$AUTH_DIR/github.com@work.json"
}

# ------------------------------------------- outputs that are not regular files

@test "--output to a character device writes in place: the device stays a 0666 device" {
  # a private node (the same device as /dev/null): a regression cannot hurt /dev
  local dev="$BATS_TEST_TMPDIR/null"
  mknod "$dev" c 1 3
  chmod 666 "$dev"
  run -0 --separate-stderr copilot-login --quiet --no-verify --with-token --output "$dev" <<<"ghu_fake_valid"
  [ -c "$dev" ]
  assert_equal "$(stat -c %a "$dev")" 666
  no_auth_written
}

@test "--output to a FIFO gets the document and the FIFO stays a FIFO" {
  local fifo="$BATS_TEST_TMPDIR/fifo"
  mkfifo -m 600 "$fifo"
  timeout 20 cat "$fifo" >"$BATS_TEST_TMPDIR/got" &  # bounded: a regression leaves no writer
  local reader=$!
  run -0 --separate-stderr copilot-login --quiet --no-verify --with-token --output "$fifo" <<<"ghu_fake_valid"
  wait "$reader"
  [ -p "$fifo" ]
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/got" '["oauth_token"]')" "ghu_fake_valid"
}

@test "an --output that cannot be written fails with 74 before any request" {
  mkdir "$BATS_TEST_TMPDIR/dir"
  run --separate-stderr copilot-login --output "$BATS_TEST_TMPDIR/dir"
  assert_failure 74
  [[ "$stderr" == *"$BATS_TEST_TMPDIR/dir"* ]]
  assert_equal "$(fake_count device_code)" "0"
  assert_equal "$(polls)" "0"
}

@test "--poll /dev/fd/0 --once after a slow_down reads the descriptor and rewrites nothing" {
  # /dev/fd/0 rather than /dev/stdin: a regression renaming over it fails
  # inside /proc instead of replacing the system's /dev/stdin
  copilot-login --start --quiet >"$BATS_TEST_TMPDIR/pending.json"
  cp "$BATS_TEST_TMPDIR/pending.json" "$BATS_TEST_TMPDIR/before.json"
  fake_script access_token '[{"error": "slow_down", "interval": 7}]'
  run -75 --separate-stderr copilot-login --poll /dev/fd/0 --once <"$BATS_TEST_TMPDIR/pending.json"
  assert_regex "$stderr" "wait 7 s before the next poll"
  cmp "$BATS_TEST_TMPDIR/pending.json" "$BATS_TEST_TMPDIR/before.json"
  [ -z "$(ls -A /dev/fd/ | grep -v '^[0-9]*$')" ]
}
