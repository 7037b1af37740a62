#!/usr/bin/env bats
# copilot-token against the fake GitHub server: exchange, cache and its
# refresh rule, parallel callers, errors and exit codes, output formats,
# --check, --watch, --exec, and where the GitHub token comes from.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  # The files the tests write by hand hold secrets: the tools read them only
  # when private (0600), so they are made as a careful user makes them.
  umask 077
  # An open stdin of the test runner must never look like piped auth.
  exec </dev/null
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  AUTH="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  BG_PID=
}

teardown() {
  if [[ -n "${BG_PID:-}" ]]; then
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
}

# The stored login for github.com, valid on the fake server.
store_auth() {
  mkdir -p "${AUTH%/*}"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "${AUTH%/*}"
  fake_auth_json "${1:-ghu_fake_valid}" >"$AUTH"
  chmod 600 "$AUTH"
}

# write_cache AGE REFRESH_IN TTL [HOST]: a cache holding a token minted by the
# fake server AGE seconds ago (fetched_at), valid for TTL more seconds.
# Prints the token.
write_cache() {
  local age="$1" refresh_in="$2" ttl="$3" host="${4:-github.com}"
  mkdir -p "${CACHE%/*}"
  fake_mint "{\"ttl\": $ttl}" | AGE="$age" RI="$refresh_in" HOST_="$host" CACHE_="$CACHE" python3 -c '
import json, os, sys, time
e = json.load(sys.stdin)
doc = {"host": os.environ["HOST_"], "token": e["token"], "expires_at": e["expires_at"],
       "refresh_in": int(os.environ["RI"]), "fetched_at": int(time.time()) - int(os.environ["AGE"]),
       "api_url": "https://api.individual.githubcopilot.com", "sku": e["sku"]}
open(os.environ["CACHE_"], "w").write(json.dumps(doc) + "\n")
print(e["token"])'
  chmod 600 "$CACHE"
}

# wait_exit PID: waits up to 5 s for PID to end; fails if it is still running.
wait_exit() {
  for _ in $(seq 50); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

cached_token() { json_get "$CACHE" '["token"]'; }
exchanges() { fake_count copilot_token; }

# ------------------------------------------------------------------ the cache

@test "a fresh cached token is printed without any request to the server or any login" {
  tok="$(write_cache 10 1500 1800)"
  run --separate-stderr copilot-token
  assert_success
  assert_output "$tok"
  assert_equal "$stderr" ""
  assert_equal "$(exchanges)" 0
}

@test "the fresh-cache path takes no lock and never loads libcurl" {
  write_cache 10 1500 1800 >/dev/null
  LD_DEBUG=files copilot-token 2>"$BATS_TEST_TMPDIR/ld.log" >/dev/null
  run grep -c "file=libcurl" "$BATS_TEST_TMPDIR/ld.log"
  assert_output 0
  assert_file_not_exists "$CACHE.lock"
  store_auth
  LD_DEBUG=files copilot-token --refresh 2>"$BATS_TEST_TMPDIR/ld.log" >/dev/null
  run grep -c "file=libcurl" "$BATS_TEST_TMPDIR/ld.log"
  refute_output 0
  assert_file_exists "$CACHE.lock"
}

@test "a cached token just younger than refresh_in - 60 s is still fresh" {
  tok="$(write_cache 1430 1500 1800)"
  run -0 copilot-token
  assert_output "$tok"
  assert_equal "$(exchanges)" 0
}

@test "a cache older than refresh_in - 60 s is refreshed with one exchange" {
  store_auth
  old="$(write_cache 1450 1500 1800)"
  run --separate-stderr copilot-token
  assert_success
  refute_output "$old"
  assert_output "$(cached_token)"
  assert_equal "$(exchanges)" 1
  assert_equal "$(fake_last copilot_token '["headers"]["authorization"]')" "token ghu_fake_valid"
  assert_equal "$(fake_last copilot_token '["path"]')" "/api/copilot_internal/v2/token"
  run -0 copilot-token
  assert_equal "$(exchanges)" 1
}

@test "a missing cache is filled by one exchange and then used" {
  store_auth
  run -0 copilot-token
  first="$output"
  run -0 copilot-token
  assert_output "$first"
  assert_equal "$(exchanges)" 1
  assert_equal "$(json_get "$CACHE" '["host"]')" "github.com"
  assert_equal "$(json_get "$CACHE" '["refresh_in"]')" 1500
}

@test "the exchange sends the editor headers and asks for JSON" {
  store_auth
  run -0 copilot-token
  assert_equal "$(fake_last copilot_token '["method"]')" GET
  assert_equal "$(fake_last copilot_token '["headers"]["editor-version"]')" "vscode/1.104.3"
  assert_equal "$(fake_last copilot_token '["headers"]["editor-plugin-version"]')" "copilot-chat/0.26.7"
  assert_equal "$(fake_last copilot_token '["headers"]["user-agent"]')" "GitHubCopilotChat/0.26.7"
  assert_equal "$(fake_last copilot_token '["headers"]["accept"]')" "application/json"
}

@test "a cached token valid for less than --min-ttl is refreshed" {
  store_auth
  old="$(write_cache 10 1500 200)"
  run -0 copilot-token
  refute_output "$old"
  assert_equal "$(exchanges)" 1
}

@test "--min-ttl below the remaining validity keeps the cached token" {
  store_auth
  old="$(write_cache 10 1500 200)"
  run -0 copilot-token --min-ttl 100
  assert_output "$old"
  assert_equal "$(exchanges)" 0
  run -0 copilot-token --min-ttl 250
  refute_output "$old"
  assert_equal "$(exchanges)" 1
}

@test "--min-ttl must be a number of seconds" {
  run --separate-stderr -64 copilot-token --min-ttl soon
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "--min-ttl"
}

@test "--refresh exchanges even when the cache is fresh and rewrites it" {
  store_auth
  old="$(write_cache 10 1500 1800)"
  run -0 copilot-token --refresh
  refute_output "$old"
  assert_output "$(cached_token)"
  assert_equal "$(exchanges)" 1
}

@test "--no-cache neither reads nor writes the cache" {
  store_auth
  write_cache 10 1500 1800 >/dev/null
  before="$(cat "$CACHE")"
  run -0 copilot-token --no-cache
  refute_output "$(cached_token)"
  assert_equal "$(exchanges)" 1
  assert_equal "$(cat "$CACHE")" "$before"
  rm -f "$CACHE"
  run -0 copilot-token --no-cache
  assert_file_not_exists "$CACHE"
  assert_equal "$(exchanges)" 2
}

@test "50 parallel calls on a stale cache make exactly one exchange and print the same token" {
  store_auth
  write_cache 1490 1500 1800 >/dev/null
  # A slow answer keeps the first exchange open while the others queue.
  fake_script copilot_token '[{"delay": 0.5}]'
  d="$BATS_TEST_TMPDIR/par"
  mkdir -p "$d"
  pids=()
  for i in $(seq 50); do
    copilot-token >"$d/out.$i" 2>"$d/err.$i" 3>&- &
    pids+=($!)
  done
  fails=0
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  assert_equal "$fails" 0
  assert_equal "$(exchanges)" 1
  assert_equal "$(cat "$d"/out.* | sort -u | wc -l)" 1
  assert_equal "$(cat "$d"/out.* | wc -l)" 50
  assert_equal "$(sort -u "$d"/out.*)" "$(cached_token)"
  assert_equal "$(cat "$d"/err.*)" ""
}

@test "a cache that is not JSON is replaced with a warning" {
  store_auth
  mkdir -p "${CACHE%/*}"
  printf 'not json{' >"$CACHE"
  run --separate-stderr copilot-token
  assert_success
  assert_output "$(cached_token)"
  assert_equal "$(exchanges)" 1
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-token: warning: token cache .*github.com.json: not valid JSON.*replacing it$"
}

@test "a cache with a mistyped field is replaced with a warning naming the field" {
  store_auth
  mkdir -p "${CACHE%/*}"
  printf '{"host":"github.com","token":"tid=1;exp=2:x","expires_at":"later","refresh_in":1500,"fetched_at":1}\n' >"$CACHE"
  run --separate-stderr -0 copilot-token
  assert_equal "$(exchanges)" 1
  assert_regex "$stderr" "warning: .*field 'expires_at' must be an integer; replacing it"
  assert_equal "$(json_get "$CACHE" '["token"]')" "$output"
}

@test "a cache for another host is treated as corrupt and replaced" {
  store_auth
  write_cache 10 1500 1800 ghe.example.com >/dev/null
  run --separate-stderr -0 copilot-token
  assert_equal "$(exchanges)" 1
  assert_regex "$stderr" "warning: .*host 'ghe.example.com' does not match 'github.com'"
  assert_equal "$(json_get "$CACHE" '["host"]')" "github.com"
}

@test "cache and lock files are 0600 in 0700 directories whatever the umask" {
  store_auth
  umask 000
  run -0 copilot-token
  assert_equal "$(stat -c %a "$CACHE")" 600
  assert_equal "$(stat -c %a "$CACHE.lock")" 600
  assert_equal "$(stat -c %a "${CACHE%/*}")" 700
  assert_equal "$(stat -c %a "$XDG_CACHE_HOME/copilot-utils")" 700
}

@test "a group-writable cache directory is put back to 0700" {
  store_auth
  mkdir -p "${CACHE%/*}"
  chmod 777 "${CACHE%/*}"
  run -0 copilot-token
  assert_equal "$(stat -c %a "${CACHE%/*}")" 700
}

@test "--profile keeps its own cache file" {
  store_auth
  mkdir -p "$XDG_CONFIG_HOME/copilot-utils/auth"
  fake_auth_json >"$XDG_CONFIG_HOME/copilot-utils/auth/github.com@work.json"
  run -0 copilot-token --profile work
  assert_file_exists "$XDG_CACHE_HOME/copilot-utils/token/github.com@work.json"
  assert_file_not_exists "$CACHE"
}

# ------------------------------------------------------------------ errors

@test "no GitHub token anywhere exits 66 with one line" {
  run --separate-stderr -66 copilot-token
  assert_output ""
  assert_equal "$stderr" "copilot-token: not logged in to github.com; run copilot-login"
  assert_equal "$(exchanges)" 0
}

@test "a revoked GitHub token exits 77 and does not show the token" {
  export GITHUB_COPILOT_TOKEN=ghu_revoked_secret_123
  run --separate-stderr -77 copilot-token
  assert_output ""
  assert_equal "$stderr" "copilot-token: GitHub token is invalid or revoked; run copilot-login"
  assert_file_not_exists "$CACHE"
}

@test "an account without Copilot exits 77 with the service's message and notification id" {
  fake_config '{"no_copilot_tokens": ["ghu_fake_nocop"]}'
  export GITHUB_COPILOT_TOKEN=ghu_fake_nocop
  run --separate-stderr -77 copilot-token
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "You do not have access to GitHub Copilot. You are currently logged in as octocat."
  assert_regex "$stderr" "\(no_copilot_access\)"
  refute_regex "$stderr" "ghu_fake_nocop"
}

@test "a GitHub token that cannot be used for Copilot exits 77 and says why" {
  fake_config '{"unusable_tokens": ["ghu_fake_gh_cli"]}'
  export GITHUB_COPILOT_TOKEN=ghu_fake_gh_cli
  run --separate-stderr -77 copilot-token
  assert_equal "$stderr" "copilot-token: this GitHub token cannot be used for Copilot (tokens from \`gh auth token\` do not work)"
}

@test "429 is retried and then exits 75" {
  store_auth
  fake_script copilot_token '[{"status": 429, "retry_after": 0, "repeat": -1}]'
  run --separate-stderr -75 copilot-token
  assert_regex "$stderr" "429"
  [ "$(exchanges)" -ge 2 ]
  assert_file_not_exists "$CACHE"
}

@test "5xx is retried and then exits 69" {
  store_auth
  fake_script copilot_token '[{"status": 500, "retry_after": 0, "repeat": -1}]'
  run --separate-stderr -69 copilot-token
  assert_regex "$stderr" "unavailable \(HTTP 500\)"
  [ "$(exchanges)" -ge 2 ]
}

@test "a 502 followed by a good answer succeeds after one retry, reported with --verbose" {
  store_auth
  fake_script copilot_token '[{"status": 502, "retry_after": 0}]'
  run --separate-stderr -0 copilot-token --verbose
  assert_output "$(cached_token)"
  assert_equal "$(exchanges)" 2
  assert_regex "$stderr" "retry 1 in 0 ms: HTTP 502"
}

@test "an unreachable server exits 75" {
  store_auth
  export COPILOT_GITHUB_API_URL=http://127.0.0.1:9
  run --separate-stderr -75 copilot-token
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
}

@test "an answer that is not JSON exits 76" {
  store_auth
  fake_script copilot_token '[{"body": "<html>hello</html>"}]'
  run --separate-stderr -76 copilot-token
  assert_regex "$stderr" "token answer: not valid JSON"
  assert_file_not_exists "$CACHE"
}

@test "an answer without expires_at exits 76 naming the field" {
  store_auth
  fake_script copilot_token '[{"body": {"token": "tid=1;exp=2:abc", "refresh_in": 1500}}]'
  run --separate-stderr -76 copilot-token
  assert_regex "$stderr" "field 'expires_at' is missing"
}

@test "server text that echoes the GitHub token is masked" {
  store_auth
  fake_script copilot_token '[{"status": 418, "body": "{\"message\": \"teapot for ghu_fake_valid\"}"}]'
  run --separate-stderr -76 copilot-token
  refute_regex "$stderr" "ghu_fake_valid"
  assert_regex "$stderr" "ghu_\*\*\*\*"
}

@test "an unknown flag is a usage error of one line" {
  run --separate-stderr -64 copilot-token --bogus
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-token: .*bogus"
}

@test "an unknown --format is a usage error" {
  run --separate-stderr -64 copilot-token --format yaml
  assert_regex "$stderr" "--format must be token, json, env or header"
}

@test "--help goes to stdout and --version prints the version" {
  run --separate-stderr -0 copilot-token --help
  assert_regex "$output" "^usage: copilot-token"
  assert_equal "$stderr" ""
  run -0 copilot-token --version
  assert_regex "$output" "^copilot-token [0-9]+\.[0-9]+\.[0-9]+$"
}

# ------------------------------------------------------------------ output formats

@test "--format token prints the bare token and a newline" {
  store_auth
  run -0 copilot-token --format token
  assert_output "$(cached_token)"
  assert_equal "$(copilot-token | od -An -c | tr -d ' \n' | tail -c 2)" '\n'
}

@test "--json prints the token document" {
  store_auth
  run -0 copilot-token --json
  doc="$output"
  assert_equal "$(json_get - '["host"]' <<<"$doc")" github.com
  assert_equal "$(json_get - '["token"]' <<<"$doc")" "$(cached_token)"
  assert_equal "$(json_get - '["refresh_in"]' <<<"$doc")" 1500
  assert_equal "$(json_get - '["api_url"]' <<<"$doc")" "https://api.individual.githubcopilot.com"
  assert_equal "$(json_get - '["sku"]' <<<"$doc")" free_limited_copilot
  exp="$(json_get - '["expires_at"]' <<<"$doc")"
  fetched="$(json_get - '["fetched_at"]' <<<"$doc")"
  [ "$((exp - fetched))" -ge 1790 ]
  run -0 copilot-token --format json
  assert_output "$doc"
}

@test "an untrusted endpoints.api is replaced by the default API URL" {
  store_auth
  fake_config '{"api_endpoint": "https://evil.example.com"}'
  run -0 copilot-token --json
  assert_equal "$(json_get - '["api_url"]' <<<"$output")" "https://api.githubcopilot.com"
}

@test "--format env is evaluated by sh into COPILOT_TOKEN, COPILOT_API_URL and the expiry" {
  store_auth
  run -0 sh -c 'eval "$(copilot-token --format env)" && printf "%s|%s|%s" "$COPILOT_TOKEN" "$COPILOT_API_URL" "$COPILOT_TOKEN_EXPIRES_AT"'
  assert_output "$(cached_token)|$FAKE_URL|$(json_get "$CACHE" '["expires_at"]')"
}

@test "--format env without COPILOT_API_URL exports the token's API URL" {
  store_auth
  unset COPILOT_API_URL
  run -0 sh -c 'eval "$(copilot-token --format env)" && printf "%s" "$COPILOT_API_URL"'
  assert_output "https://api.individual.githubcopilot.com"
}

@test "--format env quotes values so that eval runs nothing" {
  store_auth
  export COPILOT_API_URL="http://x/'\$(touch $BATS_TEST_TMPDIR/pwned)'\`touch $BATS_TEST_TMPDIR/pwned\`"
  run -0 sh -c 'eval "$(copilot-token --format env)" && printf "%s" "$COPILOT_API_URL"'
  assert_output "$COPILOT_API_URL"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned"
}

@test "--format header prints an Authorization header" {
  store_auth
  run -0 copilot-token --format header
  assert_output "Authorization: Bearer $(cached_token)"
}

@test "--json and --format env conflict" {
  run --separate-stderr -64 copilot-token --json --format env
}

# ------------------------------------------------------------------ --check

@test "--check on a valid cache exits 0 and describes the token on stderr only" {
  tok="$(write_cache 10 1500 1800)"
  run --separate-stderr -0 copilot-token --check
  assert_output ""
  assert_regex "$stderr" "^copilot-token: valid for (29|30) min [0-9]+ s \(until [0-9-]+ [0-9:]+ UTC\); tid=fake[0-9]+ sku=free_limited_copilot exp=[0-9]+$"
  refute_regex "$stderr" "${tok##*:}"
  assert_equal "$(exchanges)" 0
}

@test "--check --json prints a summary with validity, expiry, sku and fields" {
  write_cache 10 1500 1800 >/dev/null
  run --separate-stderr -0 copilot-token --check --json
  assert_equal "$(json_get - '["valid"]' <<<"$output")" true
  assert_equal "$(json_get - '["expires_at"]' <<<"$output")" "$(json_get "$CACHE" '["expires_at"]')"
  in="$(json_get - '["expires_in"]' <<<"$output")"
  [ "$in" -gt 1700 ] && [ "$in" -le 1800 ]
  assert_equal "$(json_get - '["sku"]' <<<"$output")" free_limited_copilot
  assert_equal "$(json_get - '["fields"]["exp"]' <<<"$output")" "$(json_get "$CACHE" '["expires_at"]')"
  assert_regex "$(json_get - '["fields"]["tid"]' <<<"$output")" "^fake[0-9]+$"
  refute_regex "$output" "$(cached_token | cut -d: -f2)"
}

@test "--check exits 1 for a token valid for less than --min-ttl, 0 with a smaller --min-ttl" {
  write_cache 10 1500 200 >/dev/null
  run --separate-stderr -1 copilot-token --check
  assert_regex "$stderr" "expires in 3 min [0-9]+ s .*sooner than the minimum of 300 s"
  run -0 copilot-token --check --min-ttl 100
  run --separate-stderr -1 copilot-token --check --min-ttl 600 --json
  assert_equal "$(json_get - '["valid"]' <<<"$output")" false
}

@test "--check exits 1 for an expired token" {
  write_cache 100 1500 -50 >/dev/null
  run --separate-stderr -1 copilot-token --check
  assert_regex "$stderr" "expired [0-9]+ s ago"
}

@test "the man page's CI line refreshes a token that expires within ten minutes" {
  store_auth
  old="$(write_cache 10 1500 500)"
  run -0 sh -c 'copilot-token --check --min-ttl 600 2>/dev/null || copilot-token --refresh'
  refute_output "$old"
  assert_output "$(cached_token)"
  assert_equal "$(exchanges)" 1
  run -0 sh -c 'copilot-token --check --min-ttl 600 2>/dev/null || copilot-token --refresh'
  assert_output ""
  assert_equal "$(exchanges)" 1
}

@test "--check without any token exits 66" {
  run --separate-stderr -66 copilot-token --check
  assert_regex "$stderr" "no Copilot token for github.com"
}

@test "--check reads a token document piped from copilot-token --json" {
  store_auth
  run --separate-stderr -0 sh -c 'copilot-token --json | copilot-token --check --json --min-ttl 600'
  assert_equal "$(json_get - '["valid"]' <<<"$output")" true
  assert_equal "$(json_get - '["source"]' <<<"$output")" "standard input"
  assert_equal "$(json_get - '["host"]' <<<"$output")" github.com
}

@test "--check reads a bare token string on stdin from its exp= field" {
  tok="$(fake_copilot_token 1200)"
  run --separate-stderr -0 copilot-token --check <<<"$tok"
  assert_regex "$stderr" "valid for (19|20) min"
  run -1 copilot-token --check --min-ttl 1500 <<<"$tok"
  short="$(fake_copilot_token 60)"
  run -1 copilot-token --check <<<"$short"
  assert_equal "$(exchanges)" 0
}

@test "--check on garbage exits 65" {
  run --separate-stderr -65 copilot-token --check <<<"hello world"
  assert_regex "$stderr" "standard input: not a Copilot token \(expected copilot-token.s JSON document or a bare token\)"
  run --separate-stderr -65 copilot-token --check <<<"just-a-word"
  assert_regex "$stderr" "no exp= field"
  run --separate-stderr -65 copilot-token --check <<<'{"host": "github.com"}'
  assert_regex "$stderr" "field 'token' is missing"
}

@test "--check --no-stdin ignores stdin and looks at the cache" {
  write_cache 10 1500 1800 >/dev/null
  run -0 copilot-token --check --no-stdin <<<"garbage"
}

# ------------------------------------------------------------------ --watch

@test "--watch refreshes on the service's schedule, logs each refresh and stops on SIGTERM" {
  store_auth
  write_cache 1438 1500 1800 >/dev/null  # due in 2 s (refresh_in - 60)
  log="$BATS_TEST_TMPDIR/watch.log"
  copilot-token --watch 2>"$log" 3>&- &
  BG_PID=$!
  for _ in $(seq 100); do
    [ "$(exchanges)" -ge 1 ] && grep -q "new token" "$log" && break
    sleep 0.1
  done
  assert_equal "$(exchanges)" 1
  kill -TERM "$BG_PID"
  wait_exit "$BG_PID"
  run wait "$BG_PID"
  assert_success
  BG_PID=
  run cat "$log"
  assert_regex "${lines[0]}" "^copilot-token: cached token for github.com valid for (29 min 5[89]|30 min [01]) s; next refresh in [12] s$"
  assert_regex "${lines[1]}" "^copilot-token: new token for github.com valid for (29 min 5[89]|30 min [01]) s; next refresh in 2[34] min [0-9]+ s$"
  assert_regex "${lines[-1]}" "^copilot-token: stopped$"
  refute_regex "$output" "tid="
  refute_regex "$output" "ghu_fake_valid"
}

@test "--watch keeps a token due at once (refresh_in 61) for 60 s instead of exchanging every second" {
  store_auth
  fake_config '{"refresh_in": 61}'
  log="$BATS_TEST_TMPDIR/watch.log"
  copilot-token --watch 2>"$log" 3>&- &
  BG_PID=$!
  for _ in $(seq 50); do
    grep -q "new token" "$log" && break
    sleep 0.1
  done
  sleep 2.5
  assert_equal "$(exchanges)" 1
  kill -TERM "$BG_PID"
  wait_exit "$BG_PID"
  BG_PID=
  run cat "$log"
  assert_regex "${lines[0]}" "^copilot-token: new token for github.com valid for .*; next refresh in (59 s|1 min 0 s)$"
}

@test "--watch with a fresh cache waits without requests and stops on SIGINT with status 0" {
  write_cache 10 1500 1800 >/dev/null
  log="$BATS_TEST_TMPDIR/watch.log"
  copilot-token --watch 2>"$log" 3>&- &
  BG_PID=$!
  for _ in $(seq 50); do
    grep -q "cached token" "$log" && break
    sleep 0.1
  done
  kill -INT "$BG_PID"
  wait_exit "$BG_PID"
  run wait "$BG_PID"
  assert_success
  BG_PID=
  assert_equal "$(exchanges)" 0
  run cat "$log"
  assert_regex "${lines[0]}" "^copilot-token: cached token for github.com valid for (29|30) min [0-9]+ s; next refresh in 2[34] min [0-9]+ s$"
  assert_regex "${lines[-1]}" "stopped$"
}

@test "--watch backs off after a failed refresh and then retries" {
  store_auth
  fake_script copilot_token '[{"status": 503, "retry_after": 0, "repeat": 4}]'
  log="$BATS_TEST_TMPDIR/watch.log"
  copilot-token --watch 2>"$log" 3>&- &
  BG_PID=$!
  for _ in $(seq 150); do
    [ -s "$CACHE" ] && break
    sleep 0.1
  done
  kill -TERM "$BG_PID"
  wait_exit "$BG_PID"
  run wait "$BG_PID"
  assert_success
  BG_PID=
  assert_file_exists "$CACHE"
  assert_equal "$(exchanges)" 5
  gap="$(fake_log copilot_token | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(int(r[4]["time"] - r[3]["time"]))')"
  [ "$gap" -ge 4 ]
  run cat "$log"
  assert_regex "${lines[0]}" "^copilot-token: refresh failed: .*unavailable \(HTTP 503\).*; retrying in 5 s$"
  assert_regex "${lines[1]}" "^copilot-token: new token for github.com valid for"
}

@test "--watch exits 77 at once when the GitHub token is revoked" {
  export GITHUB_COPILOT_TOKEN=ghu_revoked
  run --separate-stderr -77 copilot-token --watch
  assert_regex "$stderr" "invalid or revoked"
}

@test "--watch cannot be combined with --no-cache" {
  run -64 copilot-token --watch --no-cache
}

# ------------------------------------------------------------------ --exec

@test "--exec passes the token in the environment and not in argv" {
  store_auth
  out="$BATS_TEST_TMPDIR/exec"
  mkdir -p "$out"
  run -0 copilot-token --exec -- sh -c 'printf %s "$COPILOT_TOKEN" >"$1/token"; printf %s "$COPILOT_API_URL" >"$1/api"; tr "\0" " " </proc/$$/cmdline >"$1/child"; tr "\0" " " </proc/$PPID/cmdline >"$1/parent"' sh "$out"
  tok="$(cached_token)"
  assert_equal "$(cat "$out/token")" "$tok"
  assert_equal "$(cat "$out/api")" "$FAKE_URL"
  assert_regex "$(cat "$out/parent")" "^copilot-token --exec -- sh"
  refute_regex "$(cat "$out/child")" "tid="
  refute_regex "$(cat "$out/parent")" "tid="
}

@test "--exec exits with the command's status" {
  write_cache 10 1500 1800 >/dev/null
  run -7 copilot-token --exec -- sh -c 'exit 7'
  run -0 copilot-token --exec -- true
  run -143 copilot-token --exec -- sh -c 'kill -TERM $$'
  run --separate-stderr -127 copilot-token --exec -- no-such-command-here
  assert_regex "$stderr" "cannot run no-such-command-here"
}

@test "--exec passes SIGTERM on to the command and exits with its status" {
  write_cache 10 1500 1800 >/dev/null
  d="$BATS_TEST_TMPDIR"
  copilot-token --exec -- sh -c 'trap "echo got TERM >\"$1/term\"; exit 3" TERM; : >"$1/ready"; while :; do sleep 0.1; done' sh "$d" 3>&- &
  BG_PID=$!
  for _ in $(seq 50); do
    [ -e "$d/ready" ] && break
    sleep 0.1
  done
  assert_file_exists "$d/ready"
  kill -TERM "$BG_PID"
  wait_exit "$BG_PID"
  run wait "$BG_PID"
  assert_equal "$status" 3
  BG_PID=
  assert_equal "$(cat "$d/term")" "got TERM"
}

@test "--exec leaves standard input to the command" {
  write_cache 10 1500 1800 >/dev/null
  run -0 copilot-token --exec -- cat <<<"for the command"
  assert_output "for the command"
}

@test "--exec without a command is a usage error" {
  run -64 copilot-token --exec
  run -64 copilot-token -- true
}

# ------------------------------------------------------------------ GitHub token sources

@test "auth state piped on stdin is used for the exchange" {
  run --separate-stderr -0 sh -c "printf '%s\n' '$(fake_auth_json)' | copilot-token"
  assert_output "$(cached_token)"
  assert_equal "$(fake_last copilot_token '["headers"]["authorization"]')" "token ghu_fake_valid"
}

@test "copilot-login --output - | copilot-token exchanges the new login without files" {
  fake_config '{"interval": 1}'
  run --separate-stderr -0 sh -c 'copilot-login --output - 2>/dev/null | copilot-token --no-cache --json'
  assert_equal "$(json_get - '["host"]' <<<"$output")" github.com
  assert_regex "$(fake_last copilot_token '["headers"]["authorization"]')" "^token ghu_fake_[0-9]+$"
  assert_file_not_exists "$CACHE"
}

@test "the stdin auth pipeline feeds --json into --check" {
  auth="$(fake_auth_json)"
  run --separate-stderr -0 sh -c "printf '%s\n' '$auth' | copilot-token --json | copilot-token --check --json"
  assert_equal "$(json_get - '["valid"]' <<<"$output")" true
}

@test "--no-stdin ignores piped auth state" {
  run --separate-stderr -66 sh -c "printf '%s\n' '$(fake_auth_json)' | copilot-token --no-stdin"
}

@test "malformed auth state on stdin exits 65" {
  run --separate-stderr -65 sh -c 'echo "{not json" | copilot-token'
  assert_regex "$stderr" "standard input"
}

@test "--auth FILE and --auth - name the auth state" {
  fake_auth_json >"$BATS_TEST_TMPDIR/auth.json"
  chmod 600 "$BATS_TEST_TMPDIR/auth.json"
  run -0 copilot-token --no-cache --auth "$BATS_TEST_TMPDIR/auth.json"
  run -0 sh -c "copilot-token --no-cache --auth - <'$BATS_TEST_TMPDIR/auth.json'"
  assert_equal "$(exchanges)" 2
}

@test "piped auth state wins over GITHUB_COPILOT_TOKEN" {
  export GITHUB_COPILOT_TOKEN=ghu_revoked
  run -0 sh -c "printf '%s\n' '$(fake_auth_json)' | copilot-token"
  assert_equal "$(fake_last copilot_token '["headers"]["authorization"]')" "token ghu_fake_valid"
}

@test "GITHUB_COPILOT_TOKEN wins over the stored login" {
  store_auth ghu_revoked
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  run -0 copilot-token
}

@test "an empty pipe on stdin means nothing was piped" {
  store_auth
  run -0 sh -c 'printf "" | copilot-token'
  assert_output "$(cached_token)"
}

@test "auth state for another host is refused with a hint" {
  run --separate-stderr -64 sh -c "printf '%s' '{\"host\":\"ghe.example.com\",\"oauth_token\":\"ghu_fake_valid\"}' | copilot-token"
  assert_regex "$stderr" "add --host ghe.example.com"
}

@test "-v and -q are short for --verbose and --quiet" {
  mkdir -p "${CACHE%/*}"
  printf 'junk' >"$CACHE"
  store_auth
  run --separate-stderr -0 copilot-token -q
  assert_equal "$stderr" ""
  run --separate-stderr -0 copilot-token -v
  assert_regex "$stderr" "cache hit"
}

@test "--verbose names the token source and cache use but never a token" {
  store_auth
  run --separate-stderr -0 copilot-token --verbose
  assert_regex "$stderr" "GitHub token from auth file $AUTH"
  assert_regex "$stderr" "cache miss"
  refute_regex "$stderr" "ghu_fake_valid"
  refute_regex "$stderr" "tid="
  run --separate-stderr -0 copilot-token --verbose
  assert_regex "$stderr" "cache hit"
  refute_regex "$stderr" "GitHub token from"
}
