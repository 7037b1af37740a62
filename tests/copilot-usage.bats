#!/usr/bin/env bats
# copilot-usage against the fake GitHub server (route copilot_user, config
# "usage"): the table, --json, --format env, --check with N and N%, unlimited
# quotas, every error status of the exchange and malformed answers.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  umask 077
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
}

usage_requests() { fake_count copilot_user; }

# The files copilot-usage could write: it writes none.
assert_nothing_written() {
  run find "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" -type f
  assert_output ""
}

# ------------------------------------------------------------------ output

@test "the table shows the plan, the sku, the reset date and one row per quota" {
  fake_config '{"usage": {"remaining": 286.5, "overage_count": 2, "overage_permitted": true}}'
  run --separate-stderr -0 copilot-usage
  assert_equal "$stderr" ""
  assert_line --index 0 "plan    individual"
  assert_line --index 1 "sku     monthly_subscriber_quota"
  assert_line --index 2 "resets  2027-01-01T00:00:00.000Z"
  assert_line --index 3 "QUOTA                 ENTITLEMENT  REMAINING  PERCENT  OVERAGE  PERMITTED"
  assert_line --index 4 "premium_interactions          300      286.5    95.5%        2  yes"
  assert_line --index 5 "chat                            -  unlimited        -        0  no"
  assert_line --index 6 "completions                     -  unlimited        -        0  no"
  assert_equal "${#lines[@]}" 7
  # The request: the GitHub token with the token scheme, and the editor headers.
  assert_equal "$(fake_last copilot_user '["headers"]["authorization"]')" "token ghu_fake_valid"
  [ -n "$(fake_last copilot_user '["headers"]["editor-version"]')" ]
  assert_nothing_written
}

@test "a quota the service adds is shown after the known ones" {
  fake_config '{"usage": {"quotas": {"agent_sessions": {"unlimited": false, "entitlement": 20, "remaining": 5}}}}'
  run --separate-stderr -0 copilot-usage
  assert_line --index 7 "agent_sessions                 20          5      25%        0  no"
  run -0 copilot-usage --format env
  assert_line "export COPILOT_AGENT_SESSIONS_REMAINING='5'"
}

@test "--json holds the document as it came and the normalised summary" {
  fake_config '{"usage": {"remaining": 12, "plan": "business", "sku": "copilot_for_business_seat"}}'
  run --separate-stderr -0 copilot-usage --json
  assert_equal "$stderr" ""
  assert_equal "${#lines[@]}" 1
  assert_equal "$(json_get - '["user"]["quota_snapshots"]["premium_interactions"]["quota_id"]' <<<"$output")" premium_interactions
  assert_equal "$(json_get - '["user"]["login"]' <<<"$output")" octocat
  assert_equal "$(json_get - '["summary"]["plan"]' <<<"$output")" business
  assert_equal "$(json_get - '["summary"]["sku"]' <<<"$output")" copilot_for_business_seat
  assert_equal "$(json_get - '["summary"]["reset_date"]' <<<"$output")" 2027-01-01T00:00:00.000Z
  assert_equal "$(json_get - '["summary"]["quotas"]["premium_interactions"]' <<<"$output")" \
    '{"unlimited":false,"entitlement":300,"remaining":12,"percent_remaining":4,"overage_count":0,"overage_permitted":false,"reset_date":"2027-01-01T00:00:00.000Z"}'
  assert_equal "$(json_get - '["summary"]["quotas"]["chat"]["unlimited"]' <<<"$output")" true
  # --format json is the same.
  run -0 copilot-usage --format json
  assert_equal "$(json_get - '["summary"]["plan"]' <<<"$output")" business
}

@test "an older answer with only quota_reset_date gives that date" {
  fake_config '{"usage": {"reset_date_utc": false}}'
  run -0 copilot-usage --json
  assert_equal "$(json_get - '["summary"]["reset_date"]' <<<"$output")" 2027-01-01
}

@test "--format env is shell code that sets the numbers" {
  fake_config '{"usage": {"remaining": 41.25, "reset_date": "2026-02-01T00:00:00Z"}}'
  run --separate-stderr -0 copilot-usage --format env
  assert_line "export COPILOT_PLAN='individual'"
  assert_line "export COPILOT_PREMIUM_REMAINING='41.25'"
  assert_line "export COPILOT_PREMIUM_ENTITLEMENT='300'"
  assert_line "export COPILOT_PREMIUM_UNLIMITED='0'"
  assert_line "export COPILOT_CHAT_UNLIMITED='1'"
  eval "$output"
  assert_equal "$COPILOT_PREMIUM_REMAINING" 41.25
  assert_equal "$COPILOT_QUOTA_RESET_DATE" 2026-02-01T00:00:00Z
  assert_equal "$COPILOT_PREMIUM_OVERAGE_PERMITTED" 0
}

@test "a value with a quote cannot break out of --format env" {
  fake_config "{\"usage\": {\"plan\": \"x'; touch \$BATS_TEST_TMPDIR/pwned; '\"}}"
  run -0 copilot-usage --format env
  eval "$output"
  assert_file_not_exists "$BATS_TEST_TMPDIR/pwned"
  assert_equal "$COPILOT_PLAN" "x'; touch \$BATS_TEST_TMPDIR/pwned; '"
}

# ------------------------------------------------------------------ --check

@test "--check passes with enough premium requests left, one line on stderr, nothing on stdout" {
  fake_config '{"usage": {"remaining": 50}}'
  run --separate-stderr -0 copilot-usage --check --min-remaining 50
  assert_output ""
  assert_equal "$stderr" "copilot-usage: premium requests: 50 of 300 left (16.7%), at least the 50 required; resets 2027-01-01T00:00:00.000Z"
}

@test "--check fails with 1 when fewer are left than N" {
  fake_config '{"usage": {"remaining": 49.5}}'
  run --separate-stderr -1 copilot-usage --check --min-remaining 50
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-usage: premium requests: 49.5 of 300 left \(16.5%\), fewer than the 50 required"
}

@test "--check with N% compares the percentage remaining" {
  fake_config '{"usage": {"remaining": 30}}'
  run --separate-stderr -0 copilot-usage --check --min-remaining 10%
  assert_regex "$stderr" "at least the 10% required"
  run --separate-stderr -1 copilot-usage --check --min-remaining 10.5%
  assert_regex "$stderr" "fewer than the 10.5% required"
}

@test "--check without --min-remaining asks for one request; none left fails" {
  fake_config '{"usage": {"remaining": 0}}'
  run --separate-stderr -1 copilot-usage --check
  assert_regex "$stderr" "0 of 300 left \(0%\), fewer than the 1 required"
  fake_config '{"usage": {"remaining": 1}}'
  run -0 copilot-usage --check
}

@test "an unlimited premium quota is always enough" {
  fake_config '{"usage": {"unlimited": true, "entitlement": 0, "remaining": 0}}'
  run --separate-stderr -0 copilot-usage --check --min-remaining 100%
  assert_equal "$stderr" "copilot-usage: premium requests: unlimited"
  run -0 copilot-usage
  assert_line --index 4 --regexp "^premium_interactions +- +unlimited +- "
  run -0 copilot-usage --format env
  assert_line "export COPILOT_PREMIUM_UNLIMITED='1'"
}

@test "--check with --json prints the document too; --quiet drops the line" {
  fake_config '{"usage": {"remaining": 3}}'
  run --separate-stderr -1 copilot-usage --check --min-remaining 5 --json --quiet
  assert_equal "$stderr" ""
  assert_equal "$(json_get - '["summary"]["quotas"]["premium_interactions"]["remaining"]' <<<"$output")" 3
}

@test "--check on an answer without a premium quota exits 76 and prints nothing" {
  fake_script copilot_user '[{"body": {"copilot_plan": "individual", "quota_snapshots": {}}}]'
  run --separate-stderr -76 copilot-usage --check --json
  assert_output ""
  assert_equal "$stderr" "copilot-usage: usage answer: no premium_interactions quota"
}

@test "bad --min-remaining values and flag combinations are usage errors" {
  local v
  for v in -1 abc 10%% 101% 1e3 '' 1. .5 1234567890; do
    run --separate-stderr -64 copilot-usage --check --min-remaining "$v"
    assert_regex "$stderr" "^copilot-usage: --min-remaining needs a number of requests or a percentage \(N%\), not '.*' \(see --help\)$"
  done
  run --separate-stderr -64 copilot-usage --min-remaining 5
  assert_equal "$stderr" "copilot-usage: --min-remaining goes with --check (see --help)"
  run --separate-stderr -64 copilot-usage --format yaml
  assert_equal "$stderr" "copilot-usage: --format must be table, json or env, not 'yaml' (see --help)"
  run --separate-stderr -64 copilot-usage --json --format env
  run --separate-stderr -64 copilot-usage extra
  assert_equal "$(usage_requests)" 0
}

# ------------------------------------------------------------------ the GitHub token

@test "the stored login, --profile and --auth - are the GitHub token's sources, as for copilot-token" {
  unset GITHUB_COPILOT_TOKEN
  mkdir -p "$XDG_CONFIG_HOME/copilot-utils/auth"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "$XDG_CONFIG_HOME/copilot-utils/auth"
  fake_config '{"github_tokens": ["ghu_fake_valid", "ghu_fake_work"]}'
  fake_auth_json ghu_fake_work >"$XDG_CONFIG_HOME/copilot-utils/auth/github.com@work.json"
  run -0 copilot-usage --profile work
  assert_equal "$(fake_last copilot_user '["headers"]["authorization"]')" "token ghu_fake_work"
  run -0 copilot-usage --auth - < <(fake_auth_json ghu_fake_valid)
  assert_equal "$(fake_last copilot_user '["headers"]["authorization"]')" "token ghu_fake_valid"
  run --separate-stderr -0 copilot-usage --verbose --auth - < <(fake_auth_json ghu_fake_valid)
  assert_regex "$stderr" "GitHub token from standard input \(ghu_\*\*\*\*"
  refute_regex "$stderr" "ghu_fake_valid"
}

@test "no GitHub token anywhere exits 66 with copilot-token's line" {
  unset GITHUB_COPILOT_TOKEN
  run --separate-stderr -66 copilot-usage
  assert_output ""
  assert_equal "$stderr" "copilot-usage: not logged in to github.com; run copilot-login"
  assert_equal "$(usage_requests)" 0
}

# ------------------------------------------------------------------ errors

@test "a revoked GitHub token (401) exits 77, one line, nothing written" {
  export GITHUB_COPILOT_TOKEN=ghu_revoked_secret_123
  run --separate-stderr -77 copilot-usage
  assert_output ""
  assert_equal "$stderr" "copilot-usage: GitHub token is invalid or revoked; run copilot-login"
  assert_nothing_written
}

@test "the fake refuses a Bearer GitHub token and a request without Editor-Version, as GitHub does" {
  run curl -s -o /dev/null -w '%{http_code}' -H 'Editor-Version: vscode/1.0' \
    -H 'Authorization: Bearer ghu_fake_valid' "$FAKE_URL/api/copilot_internal/user"
  assert_output 401
  run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: token ghu_fake_valid' \
    "$FAKE_URL/api/copilot_internal/user"
  assert_output 400
  run curl -s -o /dev/null -w '%{http_code}' -H 'Editor-Version: vscode/1.0' \
    -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/copilot_internal/user"
  assert_output 200
  run curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Editor-Version: vscode/1.0' \
    -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/copilot_internal/user"
  assert_output 405
}

@test "an account without Copilot (403) exits 77 with the service's message and notification id" {
  fake_config '{"no_copilot_tokens": ["ghu_fake_nocop"]}'
  export GITHUB_COPILOT_TOKEN=ghu_fake_nocop
  run --separate-stderr -77 copilot-usage
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-usage: no Copilot access \(403\): You do not have access to GitHub Copilot. You are currently logged in as octocat. \(no_copilot_access\)"
  refute_regex "$stderr" "ghu_fake_nocop"
}

@test "a GitHub token that cannot be used for Copilot (404) exits 77 and says why" {
  fake_config '{"unusable_tokens": ["ghu_fake_gh_cli"]}'
  export GITHUB_COPILOT_TOKEN=ghu_fake_gh_cli
  run --separate-stderr -77 copilot-usage
  assert_output ""
  assert_equal "$stderr" "copilot-usage: this GitHub token cannot be used for Copilot (tokens from \`gh auth token\` do not work)"
}

@test "429 is retried and then exits 75" {
  fake_script copilot_user '[{"status": 429, "retry_after": 0, "repeat": -1}]'
  run --separate-stderr -75 copilot-usage --check
  assert_output ""
  assert_equal "$stderr" "copilot-usage: the Copilot usage service is rate limiting requests (429); try again later"
  [ "$(usage_requests)" -ge 2 ]
}

@test "5xx is retried and then exits 69; a 502 then a good answer succeeds" {
  fake_script copilot_user '[{"status": 503, "retry_after": 0, "repeat": -1}]'
  run --separate-stderr -69 copilot-usage --json
  assert_output ""
  assert_equal "$stderr" "copilot-usage: the Copilot usage service is unavailable (HTTP 503); try again later"
  fake_ctl DELETE /_control/script >/dev/null
  fake_ctl DELETE /_control/log >/dev/null
  fake_script copilot_user '[{"status": 502, "retry_after": 0}]'
  run --separate-stderr -0 copilot-usage --verbose
  assert_regex "$stderr" "retry 1 in 0 ms: HTTP 502"
  assert_equal "$(usage_requests)" 2
}

@test "an unexpected status exits 76 and masks a token the server echoes" {
  fake_script copilot_user '[{"status": 418, "body": "{\"message\": \"teapot for ghu_fake_valid\"}"}]'
  run --separate-stderr -76 copilot-usage
  assert_output ""
  refute_regex "$stderr" "ghu_fake_valid"
  assert_regex "$stderr" "^copilot-usage: unexpected answer from the Copilot usage service: HTTP 418: .*ghu_\*\*\*\*"
}

@test "malformed answers exit 76 with one line naming the fault, and print nothing" {
  local body want
  while IFS='|' read -r body want; do
    fake_script copilot_user "[{\"body\": $body}]"
    run --separate-stderr -76 copilot-usage --format env </dev/null
    assert_output ""
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "^copilot-usage: usage answer: $want"
  done <<'EOF'
"<html>hello</html>"|not valid JSON
[1, 2]|
{"copilot_plan": 7}|field 'copilot_plan' must be a string
{"quota_snapshots": "lots"}|field 'quota_snapshots' must be an object
{"quota_snapshots": {"chat": 5}}|quota_snapshots.chat must be an object
{"quota_snapshots": {"chat": {"unlimited": "no"}}}|quota_snapshots.chat: field 'unlimited' must be true or false
{"quota_snapshots": {"premium_interactions": {"entitlement": 300, "remaining": "12"}}}|quota_snapshots.premium_interactions: field 'remaining' must be a number
{"quota_snapshots": {"premium_interactions": {"entitlement": 300}}}|quota_snapshots.premium_interactions: field 'remaining' is missing
"{\"copilot_plan\": \"a\", \"copilot_plan\": \"b\"}"|duplicate key 'copilot_plan'
EOF
}

@test "an answer cut short exits with the network's status and prints nothing" {
  fake_script copilot_user '[{"cut": 20, "repeat": -1}]'
  run --separate-stderr copilot-usage
  [ "$status" -eq 75 ] || [ "$status" -eq 76 ]
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
}
