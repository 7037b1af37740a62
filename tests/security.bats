#!/usr/bin/env bats
# Security: file modes re-checked on every write, the ssh-style warning for
# an auth file others can read, no secret in the argv of a started process
# or on stderr (even with --verbose), the URL policy (plain http only to
# loopback, refused before any connection; untrusted endpoints.api ignored),
# TLS against a local HTTPS server with a self-signed certificate, and
# hostile standard input (100 MB, non-UTF-8, deeply nested JSON).

load helpers/common
load helpers/state

setup_file() {
  fake_start
  # A self-signed certificate for 127.0.0.1, and one for another name, each
  # served by a TLS relay in front of the fake server.
  TLS_DIR="$BATS_FILE_TMPDIR/tls"
  export TLS_DIR
  mkdir -p "$TLS_DIR"
  command -v openssl >/dev/null || return 0  # the TLS tests say so and skip
  local name
  for name in good wrong; do
    local subj=/CN=127.0.0.1 san="subjectAltName=IP:127.0.0.1,DNS:localhost"
    [[ "$name" == wrong ]] && subj=/CN=wrong.example san="subjectAltName=DNS:wrong.example"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -keyout "$TLS_DIR/$name.key" -out "$TLS_DIR/$name.pem" -subj "$subj" -addext "$san" \
      >/dev/null 2>&1
    python3 "$REPO/tests/helpers/tls_proxy.py" --cert "$TLS_DIR/$name.pem" --key "$TLS_DIR/$name.key" \
      --upstream "$FAKE_PORT" --port-file "$TLS_DIR/$name.port" --watch-pid "$$" \
      </dev/null >"$TLS_DIR/$name.out" 2>"$TLS_DIR/$name.err" 3>&- &
    echo $! >"$TLS_DIR/$name.pid"
  done
  for name in good wrong; do
    for _ in $(seq 100); do [[ -s "$TLS_DIR/$name.port" ]] && break; sleep 0.05; done
  done
}

need_tls() {
  [[ -s "$TLS_DIR/good.port" && -s "$TLS_DIR/wrong.port" ]] ||
    skip "openssl is not installed (make deps installs it)"
}

teardown_file() {
  local name
  for name in good wrong; do
    [[ -s "$TLS_DIR/$name.pid" ]] && kill "$(cat "$TLS_DIR/$name.pid")" 2>/dev/null
  done
  fake_stop
}

setup() {
  common_setup
  exec </dev/null
  AUTH_DIR="$XDG_CONFIG_HOME/copilot-utils/auth"
  AUTH="$AUTH_DIR/github.com.json"
  CACHE_DIR="$XDG_CACHE_HOME/copilot-utils/token"
  CACHE="$CACHE_DIR/github.com.json"
  OUT="$BATS_TEST_TMPDIR/out"
  mkdir -p "$OUT"
}

store_auth() {
  mkdir -p "$AUTH_DIR"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "$AUTH_DIR"
  fake_auth_json "${1:-ghu_fake_valid}" >"$AUTH"
  chmod 600 "$AUTH"
}

# fresh_cache [API_URL]: a cached token the fake accepts, fresh for 25 minutes.
fresh_cache() {
  mkdir -p "$CACHE_DIR"
  chmod 700 "$XDG_CACHE_HOME/copilot-utils" "$CACHE_DIR"
  fake_mint '{"ttl": 1800}' | jq -c --arg api "${1:-https://api.individual.githubcopilot.com}" \
    '{host: "github.com", token, expires_at, refresh_in: 1500, fetched_at: (now | floor),
      api_url: $api, sku}' >"$CACHE"
  chmod 600 "$CACHE"
}

mode() { stat -c %a "$1"; }

# The secrets the fake server has handed out so far: GitHub tokens, whole
# Copilot tokens and their MACs, device codes; one a line.
secrets() {
  fake_state | jq -r '(.github_tokens | keys[]), (.copilot_tokens | keys[] | ., split(":")[-1]),
                      (.device_codes | keys[])'
  echo ghu_fake_valid
}

# no_secret_in FILE...: none of the secrets appears in the files.
no_secret_in() {
  local list="$BATS_TEST_TMPDIR/secrets"
  secrets | sort -u | grep -v '^$' >"$list"
  [[ -s "$list" ]] || { echo "no secrets known to look for" >&2; return 1; }
  if grep -F -f "$list" "$@" >&2; then
    echo "a secret appears above" >&2
    return 1
  fi
}

# ----------------------------------------------------------------- file modes

@test "every write puts the auth file back to 0600 and its directory to 0700, whatever the umask" {
  store_auth
  chmod 755 "$AUTH_DIR"
  chmod 644 "$AUTH"
  umask 000
  run -0 copilot-login --quiet --with-token <<<"ghu_fake_valid"
  assert_equal "$(mode "$AUTH_DIR")" 700
  assert_equal "$(mode "$AUTH")" 600
  chmod 777 "$AUTH_DIR"
  fake_config '{"interval": 1}'
  run -0 copilot-login --quiet
  assert_equal "$(mode "$AUTH_DIR")" 700
  assert_equal "$(mode "$AUTH")" 600
}

@test "every refresh puts the token cache back to 0600 and its directory to 0700" {
  store_auth
  fresh_cache
  chmod 755 "$CACHE_DIR"
  chmod 644 "$CACHE"
  umask 000
  run -0 copilot-token --refresh
  assert_equal "$(mode "$CACHE_DIR")" 700
  assert_equal "$(mode "$CACHE")" 600
  assert_equal "$(mode "$CACHE.lock")" 600
}

@test "the model list cache and its directory get 0600 and 0700 on every write" {
  fresh_cache
  chmod 755 "$XDG_CACHE_HOME/copilot-utils"
  printf 'old\n' >"$XDG_CACHE_HOME/copilot-utils/models.txt"
  chmod 644 "$XDG_CACHE_HOME/copilot-utils/models.txt"
  umask 000
  run -0 copilot-chat --list-models
  assert_equal "$(mode "$XDG_CACHE_HOME/copilot-utils")" 700
  assert_equal "$(mode "$XDG_CACHE_HOME/copilot-utils/models.txt")" 600
}

@test "--output FILE and a pending login rewritten after slow_down are 0600 whatever the umask" {
  umask 000
  run -0 copilot-login --quiet --no-verify --with-token --output "$OUT/auth.json" <<<"ghu_fake_valid"
  assert_equal "$(mode "$OUT/auth.json")" 600
  copilot-login --start >"$OUT/pending.json" 2>/dev/null
  chmod 644 "$OUT/pending.json"
  fake_script access_token '[{"error": "slow_down", "interval": 9}]'
  # a pending login others can read is refused, not rewritten
  run -74 copilot-login --poll --once "$OUT/pending.json"
  assert_equal "$(mode "$OUT/pending.json")" 644
  chmod 600 "$OUT/pending.json"
  run -75 copilot-login --poll --once "$OUT/pending.json"
  assert_equal "$(json_get "$OUT/pending.json" '["interval"]')" 9
  assert_equal "$(mode "$OUT/pending.json")" 600
}

@test "an auth file readable by others is refused (74) by every tool that reads it, nothing written" {
  store_auth
  chmod 644 "$AUTH"
  run --separate-stderr copilot-token
  assert_failure 74
  assert_regex "$stderr" "permissions 0644 on $AUTH are too open.*run: chmod 600 $AUTH"
  [ ! -e "$CACHE" ]
  chmod 640 "$AUTH"
  run --separate-stderr copilot-chat hello
  assert_failure 74
  assert_regex "$stderr" "permissions 0640 on $AUTH are too open"
  run --separate-stderr copilot-login --status
  assert_failure  # --status lists it as unreadable (65) with the reason
  assert_output --partial "permissions 0640 on $AUTH are too open"
  cp "$AUTH" "$OUT/auth.json"
  chmod 604 "$OUT/auth.json"
  run --separate-stderr copilot-token --refresh --auth "$OUT/auth.json"
  assert_failure 74
  assert_regex "$stderr" "permissions 0604 on $OUT/auth.json are too open"
  [ ! -e "$CACHE" ]
  assert_equal "$(fake_count copilot_token)" "0"
  chmod 600 "$AUTH"
  run --separate-stderr -0 copilot-token --refresh
  assert_equal "$stderr" ""
}

@test "a token cache owned by another uid is refused (74) and left alone" {
  store_auth
  fresh_cache
  chown 65534 "$CACHE"
  local before; before="$(cat "$CACHE")"
  run --separate-stderr copilot-token
  assert_failure 74
  assert_regex "$stderr" "$CACHE is owned by uid 65534"
  assert_equal "$(cat "$CACHE")" "$before"
  assert_equal "$(stat -c %u "$CACHE")" 65534
  assert_equal "$(fake_count copilot_token)" "0"
}

@test "a symlinked auth file is refused (74), its target neither read nor written" {
  store_auth
  mv "$AUTH" "$OUT/real.json"
  ln -s "$OUT/real.json" "$AUTH"
  run --separate-stderr copilot-token
  assert_failure 74
  assert_regex "$stderr" "$AUTH is a symbolic link"
  [ -L "$AUTH" ]
  [ ! -e "$CACHE" ]
  assert_equal "$(fake_count copilot_token)" "0"
}

# --------------------------------------------------------------- no secrets

@test "processes the tools start never get a secret in argv (all execve calls traced)" {
  command -v strace >/dev/null || fail "strace is not installed (make deps installs it)"
  store_auth
  mkdir -p "$OUT/bin"
  printf '#!/bin/sh\nexit 0\n' >"$OUT/bin/xdg-open"
  chmod +x "$OUT/bin/xdg-open"
  fake_config '{"interval": 1}'
  # LeakSanitizer cannot run under ptrace; the sanitizer build is otherwise unchanged.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  PATH="$OUT/bin:$PATH" DISPLAY=:99 strace -f -qq -s 100000 -e trace=execve -o "$OUT/login.trace" \
    copilot-login --open --verbose 2>"$OUT/login.err"
  strace -f -qq -s 100000 -e trace=execve -o "$OUT/exec.trace" \
    copilot-token --verbose --exec -- sh -c 'test -n "$COPILOT_TOKEN"' 2>"$OUT/exec.err"
  strace -f -qq -s 100000 -e trace=execve -o "$OUT/chat.trace" \
    copilot-chat --verbose hello >/dev/null 2>"$OUT/chat.err"
  # The traces did see the child processes...
  grep -q 'execve("[^"]*xdg-open", \["xdg-open", "http' "$OUT/login.trace"
  grep -q 'execve("[^"]*sh", \["sh", "-c"' "$OUT/exec.trace"
  # ...and no secret in any argv (the environment is not traced).
  no_secret_in "$OUT"/*.trace "$OUT"/*.err
}

@test "a child of --exec and xdg-open see no secret in their own command line" {
  store_auth
  mkdir -p "$OUT/bin"
  printf '#!/bin/sh\ntr "\\0" " " </proc/$$/cmdline >"%s/xdg-open.argv"\n' "$OUT" >"$OUT/bin/xdg-open"
  chmod +x "$OUT/bin/xdg-open"
  fake_config '{"interval": 1}'
  PATH="$OUT/bin:$PATH" DISPLAY=:99 run -0 copilot-login --open --quiet
  for _ in $(seq 40); do [[ -s "$OUT/xdg-open.argv" ]] && break; sleep 0.05; done
  assert_regex "$(cat "$OUT/xdg-open.argv")" "^/bin/sh $OUT/bin/xdg-open http://127.0.0.1:[0-9]+/login/device $"
  run -0 copilot-token --exec -- sh -c 'tr "\0" " " </proc/$$/cmdline >"$1/child.argv"; tr "\0" " " </proc/$PPID/cmdline >"$1/parent.argv"' sh "$OUT"
  no_secret_in "$OUT"/*.argv
}

@test "no secret reaches stderr in a --verbose run of every mode, including errors that echo tokens" {
  fake_config '{"interval": 1}'
  err="$OUT/stderr"
  v() { "$@" >>"$OUT/stdout" 2>>"$err" || true; }
  # copilot-login: every mode, and an OAuth error that echoes the device code.
  v copilot-login --verbose
  v copilot-login --verbose --start
  copilot-login --start >"$OUT/pending.json" 2>>"$err"
  dc="$(json_get "$OUT/pending.json" '["device_code"]')"
  fake_script access_token "[{\"error\": \"incorrect_device_code\", \"error_description\": \"unknown code $dc\"}]"
  v copilot-login --verbose --poll --once "$OUT/pending.json"
  v copilot-login --verbose --poll "$OUT/pending.json"
  v copilot-login --verbose --with-token <<<"ghu_fake_valid"
  v copilot-login --verbose --status
  v copilot-login --verbose --status --json
  # copilot-token: exchange, cache hit, every format, --check, and a server
  # that echoes the GitHub token in an error.
  v copilot-token --verbose --refresh
  v copilot-token --verbose
  v copilot-token --verbose --json
  v copilot-token --verbose --format env
  v copilot-token --verbose --format header
  v copilot-token --verbose --check
  copilot-token --json | v copilot-token --verbose --check --json
  fake_script copilot_token '[{"status": 403, "body": {"message": "token ghu_fake_valid is not allowed", "error_details": {"message": "ghu_fake_valid has no Copilot", "notification_id": "no_copilot_access"}}}]'
  v copilot-token --verbose --refresh
  fake_script copilot_token '[{"status": 418, "body": "teapot says ghu_fake_valid"}]'
  v copilot-token --verbose --refresh
  v copilot-token --verbose --exec -- true
  # copilot-chat: a chat, a forced refresh after a 401, the model list, and
  # errors that echo the Copilot token (before and in the middle of a stream).
  v copilot-chat --verbose hello
  v copilot-chat --verbose --no-stream hello
  v copilot-chat --verbose --list-models
  fake_script chat '[{"status": 401}]'
  v copilot-chat --verbose hello
  tok="$(json_get "$CACHE" '["token"]')"
  fake_script chat "[{\"status\": 400, \"body\": {\"error\": {\"message\": \"bad token $tok\", \"code\": \"bad_request\"}}}]"
  v copilot-chat --verbose hello
  fake_script chat "[{\"stream\": {\"chunks\": [\"a\"], \"error_after\": 1, \"error_message\": \"token $tok leaked\"}}]"
  v copilot-chat --verbose hello
  fake_script chat "[{\"body\": \"event: error\\ndata: {\\\"error\\\": {\\\"message\\\": \\\"$tok\\\"}}\\n\\n\"}]"
  v copilot-chat --verbose hello
  copilot-token --json >"$OUT/token.json"
  v copilot-chat --verbose --token-file "$OUT/token.json" hello
  COPILOT_TOKEN="$tok" v copilot-chat --verbose hello
  v copilot-login --verbose --logout
  # Something happened, and none of it shows a secret.
  [[ "$(wc -l <"$err")" -gt 40 ]]
  grep -q 'ghu_\*\*\*\*' "$err"
  grep -q 'tid=\*\*\*\*' "$err"
  no_secret_in "$err"
}

# ---------------------------------------------------------------- URL policy

@test "plain http to a host that is not loopback is refused with 64 before any connection, by every tool" {
  store_auth
  fresh_cache
  urls=(http://evil.example http://127.0.0.1.evil.example http://localhost.evil.example
    http://0x7f000001 http://2130706433 http://127.1 "http://[::ffff:127.0.0.1]"
    "http://evil.example#@127.0.0.1" "http://127.0.0.1:80@evil.example" "http://evil.example\\@127.0.0.1"
    "HTTP://EVIL.EXAMPLE" "ftp://127.0.0.1" "file:///etc/passwd")
  for u in "${urls[@]}"; do
    COPILOT_GITHUB_URL="$u" LD_DEBUG=files run --separate-stderr -64 copilot-login --start
    assert_regex "$stderr" "copilot-login: (refusing to connect to|unsupported URL)"
    refute_regex "$stderr" "file=libcurl"
    COPILOT_GITHUB_API_URL="$u" LD_DEBUG=files run --separate-stderr -64 copilot-token --refresh
    assert_regex "$stderr" "copilot-token: (refusing to connect to|unsupported URL)"
    refute_regex "$stderr" "file=libcurl"
    LD_DEBUG=files run --separate-stderr -64 copilot-chat --api-url "$u" hello
    assert_regex "$stderr" "copilot-chat: (refusing to connect to|unsupported URL)"
    refute_regex "$stderr" "file=libcurl"
    COPILOT_API_URL="$u" run --separate-stderr -64 copilot-chat --list-models
  done
  # Nothing reached the fake server either, and the cache is untouched.
  assert_equal "$(fake_log | json_get - '["count"]')" 0
  valid_doc token "$CACHE"
}

@test "a verification_uri that is plain http to another host is refused, not shown or opened" {
  fake_script device_code '[{"body": {"device_code": "dc1", "user_code": "ABCD-1234", "verification_uri": "http://evil.example/login", "expires_in": 900, "interval": 1}}]'
  run --separate-stderr -76 copilot-login --open
  assert_regex "$stderr" "verification_uri' is not usable \(refusing to connect to http://evil.example/login"
  refute_regex "$stderr" "First copy your one-time code"
}

@test "an endpoints.api that is not https under .githubcopilot.com is ignored for the default" {
  store_auth
  unset COPILOT_API_URL
  for api in http://api.individual.githubcopilot.com https://evil.example https://githubcopilot.com.evil.example \
    https://evil-githubcopilot.com "https://api.githubcopilot.com@evil.example" \
    "https://evil.example/.githubcopilot.com" "https://evil.example?.githubcopilot.com" \
    "https://evil.example#.githubcopilot.com" "ftp://x.githubcopilot.com" ""; do
    fake_config "{\"api_endpoint\": \"$api\"}"
    run -0 copilot-token --refresh --json
    assert_equal "$(json_get - '["api_url"]' <<<"$output")" "https://api.githubcopilot.com"
    run -0 copilot-token --format env
    assert_line "export COPILOT_API_URL='https://api.githubcopilot.com'"
  done
  # A trusted one is kept.
  fake_config '{"api_endpoint": "https://api.business.githubcopilot.com"}'
  run -0 copilot-token --refresh --json
  assert_equal "$(json_get - '["api_url"]' <<<"$output")" "https://api.business.githubcopilot.com"
}

@test "copilot-chat sends to the default API, not to an untrusted api_url in the cache or a token file" {
  # Any https connection goes to a proxy that refuses: nothing leaves the host.
  store_auth
  unset COPILOT_API_URL
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export HTTPS_PROXY="http://127.0.0.1:$port" https_proxy="http://127.0.0.1:$port"
  fresh_cache https://evil.example
  run --separate-stderr -75 copilot-chat --verbose hello
  assert_regex "$stderr" "POST https://api.githubcopilot.com/chat/completions"
  assert_regex "${stderr_lines[-1]}" "^copilot-chat: cannot reach api.githubcopilot.com: "
  refute_regex "$stderr" "evil.example"
  jq -c '.api_url = "http://api.githubcopilot.com"' "$CACHE" >"$OUT/token.json"
  chmod 600 "$OUT/token.json"  # a token file is read only when private
  run --separate-stderr -75 copilot-chat --verbose --token-file "$OUT/token.json" hello
  assert_regex "$stderr" "warning: --token-file .*: ignoring api_url http://api.githubcopilot.com"
  assert_regex "$stderr" "POST https://api.githubcopilot.com/chat/completions"
}

# ----------------------------------------------------------------------- TLS

@test "TLS: a self-signed server is refused by every tool with 75 naming the certificate, before any request" {
  need_tls
  store_auth
  fresh_cache
  unset SSL_CERT_FILE CURL_CA_BUNDLE
  before="$(sha256sum <"$CACHE")"
  https="https://127.0.0.1:$(cat "$TLS_DIR/good.port")"
  COPILOT_GITHUB_URL="$https" run --separate-stderr -75 copilot-login --start
  assert_regex "$stderr" "^copilot-login: cannot reach 127.0.0.1: SSL certificate problem: self.signed certificate$"
  COPILOT_GITHUB_API_URL="$https/api" run --separate-stderr -75 copilot-token --refresh
  assert_regex "$stderr" "^copilot-token: cannot reach 127.0.0.1: SSL certificate problem: self.signed certificate$"
  run --separate-stderr -75 copilot-chat --api-url "$https" hello
  assert_regex "$stderr" "^copilot-chat: cannot reach 127.0.0.1: SSL certificate problem: self.signed certificate$"
  assert_equal "$(fake_log | json_get - '["count"]')" 0
  assert_equal "$(sha256sum <"$CACHE")" "$before"
}

@test "TLS: SSL_CERT_FILE or CURL_CA_BUNDLE naming the certificate makes every tool accept it" {
  need_tls
  store_auth
  unset SSL_CERT_FILE CURL_CA_BUNDLE
  https="https://127.0.0.1:$(cat "$TLS_DIR/good.port")"
  for var in SSL_CERT_FILE CURL_CA_BUNDLE; do
    export "$var=$TLS_DIR/good.pem"
    COPILOT_GITHUB_URL="$https" run --separate-stderr -0 copilot-login --start
    json_get - '["device_code"]' <<<"$output" >/dev/null
    COPILOT_GITHUB_API_URL="$https/api" run -0 copilot-token --refresh
    assert_output "$(json_get "$CACHE" '["token"]')"
    run -0 copilot-chat --api-url "$https" hello
    assert_output "You said: hello"
    run -0 copilot-chat --api-url "https://localhost:$(cat "$TLS_DIR/good.port")" --list-models
    unset "$var"
  done
  assert_equal "$(fake_count copilot_token)" 2
  assert_equal "$(fake_count chat)" 2
}

@test "TLS: a trusted certificate for another host name is still refused" {
  need_tls
  store_auth
  unset SSL_CERT_FILE
  export CURL_CA_BUNDLE="$TLS_DIR/wrong.pem"
  COPILOT_GITHUB_API_URL="https://127.0.0.1:$(cat "$TLS_DIR/wrong.port")/api" \
    run --separate-stderr -75 copilot-token --refresh
  assert_regex "$stderr" "^copilot-token: cannot reach 127.0.0.1: .*(certificate|subject name).*'127.0.0.1'"
  assert_equal "$(fake_count copilot_token)" 0
}

# ------------------------------------------------------------ hostile stdin

# measure KB_FILE CMD... < input: runs CMD under /usr/bin/time, the peak RSS
# (KiB) in KB_FILE. The bound asserted is loose: sanitizer builds need more.
MAX_RSS_KB=400000

measure() {
  local kb="$1"
  shift
  /usr/bin/time -f %M -o "$kb" "$@"
}

# The last line of time's output (it may add "Command exited with ...").
peak_kb() { tail -n 1 "$OUT/kb"; }

@test "100 MB on stdin is refused at each reader's cap with 65 and bounded memory" {
  store_auth  # and no cache: plain copilot-token then reads auth state from stdin
  [[ -x /usr/bin/time ]] || fail "/usr/bin/time is not installed (make deps installs it)"
  for cmd in "copilot-token --auth -" "copilot-token" "copilot-token --check" \
    "copilot-login --poll" "copilot-login --with-token" "copilot-chat" \
    "copilot-chat --messages - hi" "copilot-chat --token-file - hi"; do
    # shellcheck disable=SC2086 # word splitting of the command is intended
    run --separate-stderr bash -c "head -c 100000000 /dev/zero | tr '\\0' x | /usr/bin/time -f %M -o '$OUT/kb' $cmd"
    assert_equal "$status" 65
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "standard input( \(.*\))? is larger than [0-9]+ bytes$"
    (($(peak_kb) < MAX_RSS_KB)) || fail "$cmd: peak RSS $(peak_kb) KiB"
    echo "# 100 MB stdin: $cmd -> 65, peak RSS $(peak_kb) KiB" >&3
  done
}

@test "non-UTF-8 bytes on stdin are refused with 65 naming standard input" {
  store_auth
  printf '{"host": "github.com", "oauth_token": "ghu_\xff\xfe"}' >"$OUT/auth"
  run --separate-stderr -65 copilot-token --auth - <"$OUT/auth"
  assert_regex "$stderr" "^copilot-token: standard input: not valid JSON \(Invalid encoding in string"
  printf 'review this \xc3\x28 please' >"$OUT/prompt"
  run --separate-stderr -65 copilot-chat <"$OUT/prompt"
  assert_regex "$stderr" "^copilot-chat: standard input is not valid UTF-8 text \(byte 12\)$"
  printf '[{"role": "user", "content": "\xed\xa0\x80"}]' >"$OUT/messages"
  run --separate-stderr -65 copilot-chat --messages - <"$OUT/messages"
  assert_regex "$stderr" "^copilot-chat: --messages -: not valid JSON"
  printf '{"host": "github.com", "client_id": "x", "device_code": "\xff", "expires_at": 9999999999}' >"$OUT/pending"
  run --separate-stderr -65 copilot-login --poll <"$OUT/pending"
  assert_regex "$stderr" "^copilot-login: pending login on standard input: not valid JSON"
  printf 'tid=1;exp=9999999999;\xff:ab' >"$OUT/token"
  run --separate-stderr -65 copilot-token --check <"$OUT/token"
  assert_regex "$stderr" "^copilot-token: standard input"
  run --separate-stderr -65 copilot-login --with-token <"$OUT/token"
  assert_regex "$stderr" "^copilot-login: --with-token: standard input must hold exactly one token$"
  run --separate-stderr -65 copilot-chat --token-file - hi <"$OUT/token"
  assert_regex "$stderr" "not a Copilot token"
}

@test "deeply nested JSON on stdin is refused with 65 and bounded memory, never a crash" {
  [[ -x /usr/bin/time ]] || fail "/usr/bin/time is not installed (make deps installs it)"
  head -c 1000000 /dev/zero | tr '\0' '[' >"$OUT/deep1m"
  head -c 8000000 /dev/zero | tr '\0' '{' >"$OUT/deep8m"
  for cmd in "copilot-token --auth -" "copilot-token --check" "copilot-login --poll" \
    "copilot-chat --token-file - hi"; do
    # shellcheck disable=SC2086
    run --separate-stderr measure "$OUT/kb" $cmd <"$OUT/deep1m"
    assert_equal "$status" 65
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "(standard input|pending login on standard input|--token-file - \(standard input\)): (JSON nested deeper than [0-9]+ levels|not a Copilot token)"
    (($(peak_kb) < MAX_RSS_KB)) || fail "$cmd: peak RSS $(peak_kb) KiB"
    echo "# 1 MB of [ on stdin: $cmd -> 65, peak RSS $(peak_kb) KiB" >&3
  done
  run --separate-stderr measure "$OUT/kb" copilot-chat --messages - hi <"$OUT/deep8m"
  assert_equal "$status" 65
  assert_regex "$stderr" "^copilot-chat: --messages -: JSON nested deeper than [0-9]+ levels"
  (($(peak_kb) < MAX_RSS_KB)) || fail "--messages: peak RSS $(peak_kb) KiB"
  echo "# 8 MB of { on stdin: copilot-chat --messages - -> 65, peak RSS $(peak_kb) KiB" >&3
}

@test "a valid --messages document 200000 levels deep is built without recursion" {
  # Not logged in: the body is built (the malformed-input check comes first),
  # then the missing login ends the run with 66 instead of a crash.
  python3 -c 'import sys; n = 200000; sys.stdout.write("[{\"role\": \"user\", \"content\": " + "[" * n + "]" * n + "}]")' >"$OUT/deep"
  run --separate-stderr -66 copilot-chat --messages - <"$OUT/deep"
  assert_regex "$stderr" "^copilot-chat: not logged in to github.com"
}
