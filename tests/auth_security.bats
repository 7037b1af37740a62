#!/usr/bin/env bats
# The credential findings of issue 13's adversarial review (tests/RELIABILITY.md,
# "Adversarial review"): a cache entry bound to the GitHub credential it was
# minted from, the Copilot token sent only to Copilot hosts and loopback, a
# logout racing a refresh, one rule for reading standard input, and a stale
# COPILOT_TOKEN from `eval "$(copilot-token --format env)"`.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  umask 077
  exec </dev/null
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  AUTH="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  # A second GitHub account the fake server knows.
  fake_config '{"github_tokens": ["ghu_fake_valid", "ghu_fake_other"]}'
  BG_PID=
}

teardown() {
  if [[ -n "${BG_PID:-}" ]]; then
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
}

store_auth() {
  mkdir -p "${AUTH%/*}"
  fake_auth_json "${1:-ghu_fake_valid}" >"$AUTH"
}

# minted_from TOKEN: the GitHub token the fake server minted this Copilot token for.
minted_from() {
  fake_state | json_get - "[\"copilot_tokens\"][\"$1\"][\"github_token\"]"
}

# ---------------------------------------------------------- the cache's binding

@test "an explicit credential never gets the fresh cache entry of another login" {
  store_auth
  mine="$(copilot-token)"
  assert_equal "$(minted_from "$mine")" ghu_fake_valid
  # The entry carries a keyed hash of its GitHub token, never the token.
  run -0 jq -r .credential "$CACHE"
  assert_output --regexp '^hmac-sha256:[0-9a-f]{32}:[0-9a-f]{64}$'
  run grep -c ghu_fake "$CACHE"
  assert_output 0
  # GITHUB_COPILOT_TOKEN of another account: a new exchange, its own token.
  run -0 env GITHUB_COPILOT_TOKEN=ghu_fake_other copilot-token
  refute_output "$mine"
  assert_equal "$(minted_from "$output")" ghu_fake_other
  # --auth FILE of another account, and its auth state piped.
  fake_auth_json ghu_fake_other >"$BATS_TEST_TMPDIR/other.json"
  run -0 copilot-token --auth "$BATS_TEST_TMPDIR/other.json"
  assert_equal "$(minted_from "$output")" ghu_fake_other
  run -0 copilot-token <"$BATS_TEST_TMPDIR/other.json"
  assert_equal "$(minted_from "$output")" ghu_fake_other
  # The stored login's fresh entry was left alone, and is still its own.
  assert_equal "$(jq -r .token "$CACHE")" "$mine"
  before="$(fake_count copilot_token)"
  run -0 copilot-token
  assert_output "$mine"
  assert_equal "$(fake_count copilot_token)" "$before"
}

@test "the README pipeline copilot-login --output - | copilot-token --json shows the new login's token" {
  store_auth
  mine="$(copilot-token)"
  run -0 bash -c 'echo ghu_fake_other | copilot-login --with-token --output - --quiet | copilot-token --json'
  new="$(jq -r .token <<<"$output")"
  [[ "$new" != "$mine" ]]
  assert_equal "$(minted_from "$new")" ghu_fake_other
  refute_output --partial credential
}

@test "the stored login given explicitly keeps using its entry; a given token's entry is not the stored login's" {
  store_auth
  mine="$(copilot-token)"
  before="$(fake_count copilot_token)"
  run -0 copilot-token --auth "$AUTH"
  assert_output "$mine"
  run -0 env GITHUB_COPILOT_TOKEN=ghu_fake_valid copilot-token
  assert_output "$mine"
  assert_equal "$(fake_count copilot_token)" "$before"
  # With no stored login, an entry minted from GITHUB_COPILOT_TOKEN serves
  # that token only: copilot.vim's login gets its own.
  rm "$AUTH" "$CACHE"
  env_tok="$(GITHUB_COPILOT_TOKEN=ghu_fake_other copilot-token)"
  assert_equal "$(jq -r .given "$CACHE")" true
  run -0 env GITHUB_COPILOT_TOKEN=ghu_fake_other copilot-token
  assert_output "$env_tok"
  mkdir -p "$XDG_CONFIG_HOME/github-copilot"
  echo '{"github.com:Iv1.b507a08c87ecfe98": {"oauth_token": "ghu_fake_valid"}}' \
    >"$XDG_CONFIG_HOME/github-copilot/apps.json"
  run -0 copilot-token
  refute_output "$env_tok"
  assert_equal "$(minted_from "$output")" ghu_fake_valid
}

@test "an entry without a binding (an older version's) is never given to an explicit credential" {
  store_auth
  mkdir -p "${CACHE%/*}"
  fake_mint '{"github_token": "ghu_fake_valid", "ttl": 3600}' | jq -c \
    '{host: "github.com", token, expires_at, refresh_in: 1500, fetched_at: (now | floor),
      api_url: "https://api.individual.githubcopilot.com", sku}' >"$CACHE"
  old="$(jq -r .token "$CACHE")"
  run -0 copilot-token
  assert_output "$old"
  run -0 env GITHUB_COPILOT_TOKEN=ghu_fake_other copilot-token
  assert_equal "$(minted_from "$output")" ghu_fake_other
}

@test "the fresh path without an explicit credential loads no libcrypto and reads no auth file" {
  store_auth
  copilot-token >/dev/null
  echo '{not json' >"$AUTH"
  LD_DEBUG=files copilot-token >/dev/null 2>"$BATS_TEST_TMPDIR/ld.log"
  run grep -c 'file=libcrypto' "$BATS_TEST_TMPDIR/ld.log"
  assert_output 0
  # An explicit credential costs the hash: libcrypto, and still no exchange.
  before="$(fake_count copilot_token)"
  fake_auth_json >"$BATS_TEST_TMPDIR/same.json"
  LD_DEBUG=files copilot-token --auth "$BATS_TEST_TMPDIR/same.json" >/dev/null 2>"$BATS_TEST_TMPDIR/ld.log"
  grep -q 'file=libcrypto' "$BATS_TEST_TMPDIR/ld.log"
  assert_equal "$(fake_count copilot_token)" "$before"
}

# ---------------------------------------------------------- logout and a refresh

@test "copilot-login --logout during a refresh leaves no working token" {
  store_auth
  fake_script copilot_token '[{"delay": 2}]'
  copilot-token --refresh >"$BATS_TEST_TMPDIR/out" 2>&1 &
  BG_PID=$!
  # The refresh holds the lock while it waits for the slow exchange.
  for _ in $(seq 50); do
    [[ "$(fake_count copilot_token)" -ge 1 ]] && break
    sleep 0.1
  done
  run -0 copilot-login --logout
  wait "$BG_PID" || true
  BG_PID=
  assert_file_not_exists "$AUTH"
  assert_file_not_exists "$CACHE"
  run -66 copilot-token
}

# ---------------------------------------------------------- standard input

@test "whether copilot-token reads standard input does not depend on the cache: a while-read loop fails at once" {
  store_auth
  copilot-token >/dev/null  # a fresh cache
  printf 'one\ntwo\n' >"$BATS_TEST_TMPDIR/lines"
  run -65 bash -c 'while read -r l; do copilot-token >/dev/null || exit $?; done <"$1"' _ "$BATS_TEST_TMPDIR/lines"
  assert_output --partial "use --no-stdin or </dev/null"
  # The loop form the man page shows.
  run -0 bash -c 'n=0; while read -r l; do copilot-token --no-stdin >/dev/null && n=$((n+1)); done <"$1"; echo $n' _ "$BATS_TEST_TMPDIR/lines"
  assert_output 2
  run -0 bash -c 'n=0; while read -r l; do copilot-token </dev/null >/dev/null && n=$((n+1)); done <"$1"; echo $n' _ "$BATS_TEST_TMPDIR/lines"
  assert_output 2
  # The same on a stale cache: the rule is the arguments and the kind of stdin.
  jq '.fetched_at = 0' "$CACHE" >"$CACHE.new" && mv "$CACHE.new" "$CACHE"
  run -65 bash -c 'while read -r l; do copilot-token >/dev/null || exit $?; done <"$1"' _ "$BATS_TEST_TMPDIR/lines"
}

# ---------------------------------------------------------- where the Copilot token goes

@test "an empty COPILOT_TOKEN is no key: copilot-chat sends no Authorization header" {
  store_auth
  copilot-token >/dev/null
  fake_script chat '[{"status": 200}]'
  COPILOT_TOKEN= copilot-chat --api-url "$FAKE_URL" hi >/dev/null 2>&1 || true
  run -0 fake_last chat '["headers"]'
  refute_output --partial authorization
  # Unset: the cache's token, to a loopback --api-url (the documented override).
  copilot-chat --api-url "$FAKE_URL" hi >/dev/null 2>&1 || true
  run -0 fake_last chat '["headers"]["authorization"]'
  assert_output "Bearer $(jq -r .token "$CACHE")"
}

@test "copilot-serve refuses an --api-url that is not a Copilot host or loopback" {
  store_auth
  run -64 timeout 10 copilot-serve --listen 127.0.0.1:0 --api-url https://llm.example.com/v1
  assert_output --partial "not a Copilot API host"
  assert_equal "$(fake_count copilot_token)" 0
}

# ---------------------------------------------------------- a stale COPILOT_TOKEN

@test "after eval of --format env, an expired COPILOT_TOKEN with a stored login falls back to the cache" {
  store_auth
  eval "$(copilot-token --format env)"
  fake_ctl POST /_control/expire "{\"copilot_token\": \"$COPILOT_TOKEN\"}" >/dev/null
  # The env token's own expiry says it is stale: an hour ago.
  stale="$(fake_mint '{"ttl": 1}' | jq -r .token | sed -E 's/exp=[0-9]+/exp=1000000000/')"
  export COPILOT_TOKEN="$stale"
  rm "$CACHE"
  fake_script chat '[{"stream": {"chunks": ["ok"]}}]'
  run --separate-stderr copilot-chat --api-url "$FAKE_URL" hi
  assert_success
  assert_output ok
  assert_equal "$(grep -c 'COPILOT_TOKEN expired' <<<"$stderr")" 1
  # Without a stored login it stays the error it was.
  rm "$AUTH"
  run -77 copilot-chat --api-url "$FAKE_URL" hi
  assert_output --partial "COPILOT_TOKEN expired"
}

# ---------------------------------------------------------- the small ones

@test "copilot-login --start --output FILE writes the pending login 0600, whatever the umask" {
  umask 022
  run -0 copilot-login --start --quiet --output "$BATS_TEST_TMPDIR/pending.json"
  assert_output ""
  assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/pending.json")" 600
  run -0 jq -r .device_code "$BATS_TEST_TMPDIR/pending.json"
  refute_output ""
  # /dev/stdout is written in place, like -.
  run -0 copilot-login --start --quiet --output /dev/stdout
  assert_equal "$(jq -r .host <<<"$output")" github.com
  run -0 bash -c 'echo ghu_fake_valid | copilot-login --with-token --quiet --output /dev/stdout'
  assert_equal "$(jq -r .oauth_token <<<"$output")" ghu_fake_valid
  assert_file_not_exists "$AUTH"
  assert_file_exists /dev/stdout
}

@test "--with-token drops a UTF-8 BOM and names an auth JSON document" {
  printf '\xef\xbb\xbfghu_fake_valid\r\n' >"$BATS_TEST_TMPDIR/bom"
  run -0 copilot-login --with-token --quiet <"$BATS_TEST_TMPDIR/bom"
  assert_equal "$(jq -r .oauth_token "$AUTH")" ghu_fake_valid
  fake_auth_json >"$BATS_TEST_TMPDIR/doc.json"
  run -65 copilot-login --with-token <"$BATS_TEST_TMPDIR/doc.json"
  assert_output --partial "holds a JSON document, not a token"
}

@test "a --profile login says the profile" {
  run --separate-stderr -0 bash -c 'echo ghu_fake_valid | copilot-login --with-token --profile work'
  assert_equal "$(grep -c 'Logged in to github.com (profile work)' <<<"$stderr")" 1
}

@test "an auth file whose host differs from its name says so, not --host" {
  store_auth
  jq -c '.host = "acme.ghe.com"' "$AUTH" >"$AUTH.new" && mv "$AUTH.new" "$AUTH"
  run -65 copilot-token
  assert_output --partial "is named for github.com but holds a login for acme.ghe.com"
  refute_output --partial "add --host"
}

@test "--check --no-cache with nothing piped does not claim it read standard input" {
  run -66 copilot-token --check --no-cache </dev/null
  assert_output --partial "none was piped"
  refute_output --partial "on standard input;"
}
