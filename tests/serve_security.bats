#!/usr/bin/env bats
# copilot-serve against hostile pages, clients and neighbours: the
# copilot-serve findings of issue 13, written before the fixes (every test
# here fails on the build that had the findings). Black-box: the binary, the
# fake GitHub server and raw sockets (tests/helpers/raw_http.py).
#
# Errors are OpenAI-style, {"error":{"message","type","code"}} with
# Content-Type application/json; "type" follows copilot-serve's mapping from
# the status (403 permission_error, >= 500 server_error, else
# invalid_request_error). The codes this suite fixes:
#   host_not_allowed            403  Host is not ours (DNS rebinding)
#   origin_not_allowed          403  Origin not on --allow-origin (browsers)
#   unsupported_media_type      415  a POST body that is not application/json
#   (libmicrohttpd's own 400, 414, 431 and 505 stay HTML: see below)
#   model_not_found             404  (exists) a model id with control bytes
#   upstream_error              SSE  (exists) the upstream cut a stream
#   shutting_down               SSE  a stream cut at the end of --grace
#
# Finding (issue 13)                          -> test(s) below
# High 2, Host (DNS rebinding)                -> "a Host that is not ours ... served",
#   403 and not 421: 421 Misdirected Request
#   means "this connection cannot answer for     "a missing or empty Host ...",
#   that origin, try another one" (RFC 9110      "--allow-host adds names ...",
#   15.5.20) and clients may retry it; this is   "listening on 0.0.0.0 ..."
#   a refusal, and hardened servers (Jupyter,
#   Vite, ollama) answer 403 for it.
#   With a wildcard listen address (0.0.0.0) any IP-literal Host is the
#   listen address: DNS rebinding needs a name, and the key guards the rest.
# High 2, Origin (browsers)                   -> "any Origin is refused ...",
#                                                "--allow-origin lets exactly ...",
#                                                "a preflight from an origin not allowed ...",
#                                                "a preflight from an allowed origin ..."
# High 2, 415 for non-JSON bodies             -> "a POST body that is not application/json ..."
# High 2, --listen unix:PATH, 0600            -> "--listen unix:PATH serves ...",
#   a PATH in the way: exit 64 (usage: the       "--listen unix:PATH refuses ..."
#   argument names something that cannot be
#   used; nothing was tried), the file kept.
#   No Host check on the socket (no browser
#   reaches one); the Origin check holds.
# High 2, SECURITY in copilot-serve(1)        -> "copilot-serve(1) has a SECURITY section ..."
# Medium 7, slowloris: --header-timeout       -> "a request head still incomplete ...",
#   SECONDS (default 10), a total deadline       "an idle kept-alive connection ...",
#   for a request head from its first byte;      "--max-connections-per-client ...",
#   --max-connections-per-client N (default      "by default one client address ...",
#   32: half of --max-connections' 64, so one    "--help lists the new options ..."
#   address cannot take them all, yet 20
#   parallel streams from one client still
#   work). Both close over-limit connections
#   unanswered, as --max-connections does.
# Low, libmicrohttpd's HTML error pages       -> "libmicrohttpd's own errors ..." (not fixed:
#   libmicrohttpd 0.9 sends them from compiled-in HTML before any callback;
#   the test holds what must: status, close, nothing upstream, documented)
# Low, /v1/models/gpt-4o%00junk               -> "a model id with control bytes ..."
# Low, SIGHUP kills copilot-serve             -> "SIGHUP stops gracefully ..."
# Low, --api-key-file with a 1-byte key       -> "an --api-key-file key shorter than 16 bytes ..."
#   refused (exit 65, one line), not a warning: a short key on a
#   non-loopback address can be guessed, and a warning scrolls away.
# Low, a cut stream reaches the client as a   -> "an upstream stream cut mid-event ...",
#   half event; past --grace no error event      "a stream cut at the end of --grace ..."
# Low, core dumps hold the Copilot token      -> "copilot-serve's process is not dumpable"
#   (checked as the kernel shows it: the files under /proc/PID of a process
#   that is not dumpable belong to root, whoever runs it; so the server runs
#   as nobody there and /proc/PID/environ must be root's)

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  BG_PIDS=()
  RAW_HTTP="$BATS_TEST_DIRNAME/helpers/raw_http.py"
}

teardown() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  serve_teardown
}

# json_req PATH JSON [curl args]: a POST of JSON, as OpenAI clients send it.
json_req() {
  local path="$1" body="$2"
  shift 2
  req POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# The value of a response header from the last req (first one).
header() { sed -n "s/^$1: *\\(.*\\)\\r\$/\\1/Ip" "$HDRS" | head -n1; }

# Response header names of the last req starting with Access-Control-, one a line.
cors_headers() { sed -n 's/^\(access-control-[^:]*\):.*/\1/Ip' "$HDRS"; }

# error_body_is BODY CODE TYPE: BODY is {"error":{"message":<non-empty>,"type":TYPE,"code":CODE}}.
error_body_is() {
  local verdict
  verdict="$(jq -r --arg c "$2" --arg t "$3" 'if (.error | type) == "object"
      and (.error.message | type) == "string" and (.error.message | length) > 0
      and .error.type == $t and .error.code == $c then "ok" else "no" end' <<<"$1" 2>/dev/null)"
  [[ "$verdict" == ok ]] || fail "expected {\"error\":{\"message\":…,\"type\":\"$3\",\"code\":\"$2\"}}, got: ${1:0:400}"
}

# assert_error STATUS CODE TYPE: the last req got that OpenAI-style error as JSON.
assert_error() {
  [[ "$STATUS" == "$1" ]] || fail "expected status $1, got $STATUS: ${BODY:0:400}"
  [[ "$(header Content-Type)" == application/json* ]] || fail "Content-Type: '$(header Content-Type)' for: ${BODY:0:200}"
  error_body_is "$BODY" "$2" "$3"
}

# raw [raw_http.py options] send|slow ...: a raw socket client to the server
# (see tests/helpers/raw_http.py), the request bytes on stdin.
raw() { python3 "$RAW_HTTP" --port "$SERVE_PORT" "$@"; }

# assert_raw_error JSON STATUS CODE TYPE: a raw answer that is that error as JSON.
assert_raw_error() {
  local got="$1"
  [[ "$(jq -r .status <<<"$got")" == "$2" ]] || fail "expected status $2, got: ${got:0:600}"
  [[ "$(jq -r '.headers["content-type"] // ""' <<<"$got")" == application/json* ]] ||
    fail "not application/json: ${got:0:600}"
  error_body_is "$(jq -r .body <<<"$got")" "$3" "$4"
}

# How many requests reached the fake upstream, every route.
upstream_count() { fake_log | jq .count; }

# serve_start_unix PATH [args]: copilot-serve on a Unix socket; waits for
# its "listening on unix:PATH" line.
serve_start_unix() {
  local path="$1" i
  shift
  : >"$SERVE_ERR"
  copilot-serve --listen "unix:$path" "$@" </dev/null >"$BATS_TEST_TMPDIR/serve.out" 2>"$SERVE_ERR" 3>&- &
  SERVE_PID=$!
  for ((i = 0; i < 300; i++)); do
    grep -qxF "copilot-serve: listening on unix:$path" "$SERVE_ERR" && return 0
    if ! kill -0 "$SERVE_PID" 2>/dev/null; then
      echo "copilot-serve exited at startup:" >&2
      cat "$SERVE_ERR" >&2
      SERVE_PID=
      return 1
    fi
    sleep 0.05
  done
  echo "copilot-serve said no 'listening on unix:$path' line within 15 s:" >&2
  cat "$SERVE_ERR" >&2
  return 1
}

# hold_connections N [SOURCE]: opens N idle TCP connections to the server
# (from SOURCE, default 127.0.0.1) in the background and keeps them until
# $BATS_TEST_TMPDIR/release exists; $BATS_TEST_TMPDIR/held once they are open.
hold_connections() {
  python3 - "$SERVE_PORT" "$BATS_TEST_TMPDIR" "$1" "${2:-127.0.0.1}" <<'EOF' 3>&- &
import os, socket, sys, time
port, d, n, src = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
held = []
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    held.append(s)
open(os.path.join(d, "held"), "w").close()
for _ in range(1200):  # 60 s at most, should the test die
    if os.path.exists(os.path.join(d, "release")):
        break
    time.sleep(0.05)
for s in held:
    s.close()
EOF
  BG_PIDS+=($!)
  eventually '[ -e "$BATS_TEST_TMPDIR/held" ]'
  # libmicrohttpd takes them in the order they came
  sleep 0.5
}

# The text of --help for one option, its lines joined by single spaces
# and without the indent: "--header-timeout SECONDS a request head ...".
help_entry() {
  copilot-serve --help | awk -v opt="$1" '
    { line = $0; sub(/^ *(-[a-zA-Z], )?/, "", line) }
    !on && index(line, opt " ") == 1 { on = 1; out = line; next }
    on && /^                    / { sub(/^ +/, ""); out = out " " $0; next }
    on { exit }
    END { gsub(/  +/, " ", out); print out }'
}

# --- Host: DNS rebinding ------------------------------------------------------

@test "a Host that is not ours gets 403 host_not_allowed and reaches nothing upstream; loopback and localhost are served" {
  serve_start
  local base host path
  base="$(upstream_count)"
  for host in evil.example "evil.example:$SERVE_PORT" "localhost.evil.example:$SERVE_PORT" \
    "127.0.0.1.evil.example:$SERVE_PORT" "192.0.2.10:$SERVE_PORT" "127.0.0.1@evil.example"; do
    json_req /v1/chat/completions "$(chat_json hi)" -H "Host: $host"
    assert_error 403 host_not_allowed permission_error
    # a rebound page may read nothing either
    for path in /v1/models /v1/models/gpt-4o /healthz; do
      req GET "$path" -H "Host: $host"
      assert_error 403 host_not_allowed permission_error
    done
  done
  assert_equal "$(upstream_count)" "$base"
  assert_equal "$(fake_count chat)" "0"
  eventually '[ "$(log_lines | grep -c " GET /v1/models model=- status=403 .*note=\"host_not_allowed\"$")" -eq 6 ]'
  # loopback addresses and localhost, with or without the port, in any case
  for host in "127.0.0.1:$SERVE_PORT" 127.0.0.1 "localhost:$SERVE_PORT" localhost \
    "LocalHost:$SERVE_PORT" "[::1]:$SERVE_PORT" "[::1]"; do
    json_req /v1/chat/completions "$(chat_json "via $host")" -H "Host: $host"
    [[ "$STATUS" == 200 ]] || fail "Host: $host got $STATUS: $BODY"
    assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: via $host"
    req GET /v1/models -H "Host: $host"
    assert_equal "$STATUS" "200"
  done
  assert_equal "$(fake_count chat)" "7"
}

@test "a missing or empty Host is refused with 403 host_not_allowed (HTTP/1.1 and HTTP/1.0)" {
  serve_start
  local base got
  base="$(upstream_count)"
  # curl -H 'Host:' sends no Host at all
  req GET /v1/models -H 'Host:'
  assert_error 403 host_not_allowed permission_error
  json_req /v1/chat/completions "$(chat_json hi)" -H 'Host:'
  assert_error 403 host_not_allowed permission_error
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n' | raw send)"
  assert_raw_error "$got" 403 host_not_allowed permission_error
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n' | raw send)"
  assert_raw_error "$got" 403 host_not_allowed permission_error
  got="$(printf 'GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n' | raw send)"
  assert_raw_error "$got" 403 host_not_allowed permission_error
  got="$(printf 'GET /v1/models HTTP/1.0\r\n\r\n' | raw send)"
  assert_raw_error "$got" 403 host_not_allowed permission_error
  assert_equal "$(upstream_count)" "$base"
}

@test "--allow-host adds names to the accepted Hosts (repeatable), and no others" {
  serve_start --allow-host copilot.internal --allow-host proxy.lan.example
  local host
  for host in "copilot.internal:$SERVE_PORT" copilot.internal "proxy.lan.example:$SERVE_PORT" \
    "localhost:$SERVE_PORT"; do
    req GET /v1/models -H "Host: $host"
    [[ "$STATUS" == 200 ]] || fail "Host: $host got $STATUS: $BODY"
  done
  local base
  base="$(upstream_count)"
  for host in "evil.example:$SERVE_PORT" "copilot.internal.evil.example:$SERVE_PORT" \
    "x.copilot.internal:$SERVE_PORT" "lan.example:$SERVE_PORT"; do
    req GET /v1/models -H "Host: $host"
    assert_error 403 host_not_allowed permission_error
  done
  assert_equal "$(upstream_count)" "$base"
}

@test "listening on 0.0.0.0 with a key accepts the listen address and IP literals as Host, and still refuses names" {
  printf 'sk-local-test-key\n' >"$BATS_TEST_TMPDIR/key"
  chmod 600 "$BATS_TEST_TMPDIR/key"
  SERVE_LISTEN=0.0.0.0:0 serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  local host
  for host in "0.0.0.0:$SERVE_PORT" "192.0.2.10:$SERVE_PORT" "127.0.0.1:$SERVE_PORT" "localhost:$SERVE_PORT"; do
    req GET /v1/models -H "Host: $host" -H 'Authorization: Bearer sk-local-test-key'
    [[ "$STATUS" == 200 ]] || fail "Host: $host got $STATUS: $BODY"
  done
  local base
  base="$(upstream_count)"
  # the Host is checked before the key: a rebound page has no key, and one
  # that has it still gets 403
  req GET /v1/models -H "Host: evil.example:$SERVE_PORT" -H 'Authorization: Bearer sk-local-test-key'
  assert_error 403 host_not_allowed permission_error
  req GET /v1/models -H "Host: evil.example:$SERVE_PORT"
  assert_error 403 host_not_allowed permission_error
  assert_equal "$(upstream_count)" "$base"
}

# --- Origin: browsers -----------------------------------------------------------

@test "any Origin is refused with 403 origin_not_allowed by default, even the server's own" {
  serve_start
  local base origin path
  base="$(upstream_count)"
  for origin in http://evil.example null "http://127.0.0.1:$SERVE_PORT" "http://localhost:$SERVE_PORT"; do
    json_req /v1/chat/completions "$(chat_json hi)" -H "Origin: $origin"
    assert_error 403 origin_not_allowed permission_error
    assert_equal "$(cors_headers)" ""
    # the simple request a page sends without a preflight
    # (the Origin is checked first: the body is not even read)
    req POST /v1/chat/completions -H "Origin: $origin" -H 'Content-Type: text/plain' --data-binary "$(chat_json hi)"
    assert_error 403 origin_not_allowed permission_error
    for path in /v1/models /healthz; do
      req GET "$path" -H "Origin: $origin"
      assert_error 403 origin_not_allowed permission_error
      assert_equal "$(cors_headers)" ""
    done
  done
  assert_equal "$(upstream_count)" "$base"
  assert_equal "$(fake_count chat)" "0"
}

@test "--allow-origin lets exactly the origins given (repeatable) and echoes them, never '*'" {
  serve_start --allow-origin http://app.example --allow-origin "http://localhost:5173"
  local origin
  for origin in http://app.example http://localhost:5173; do
    json_req /v1/chat/completions "$(chat_json "from $origin")" -H "Origin: $origin"
    assert_equal "$STATUS" "200"
    assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: from $origin"
    assert_equal "$(header Access-Control-Allow-Origin)" "$origin"
    [[ ",$(header Vary | tr -d ' ')," == *,Origin,* ]] || fail "Vary: '$(header Vary)' lacks Origin"
    req GET /v1/models -H "Origin: $origin"
    assert_equal "$STATUS" "200"
    assert_equal "$(header Access-Control-Allow-Origin)" "$origin"
  done
  assert_equal "$(fake_count chat)" "2"
  # near misses are other origins
  local base
  base="$(upstream_count)"
  for origin in https://app.example http://app.example:8080 http://app.example.evil.example \
    http://evil.example http://localhost:5174 null; do
    json_req /v1/chat/completions "$(chat_json hi)" -H "Origin: $origin"
    assert_error 403 origin_not_allowed permission_error
    assert_equal "$(cors_headers)" ""
  done
  assert_equal "$(upstream_count)" "$base"
  run grep -ci '^access-control-allow-origin: \*' "$HDRS"
  assert_output "0"
}

@test "a preflight from an origin not allowed is refused with 403 and grants nothing" {
  serve_start --allow-origin http://app.example
  local base path
  base="$(upstream_count)"
  for path in /v1/chat/completions /v1/models /healthz; do
    req OPTIONS "$path" -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' \
      -H 'Access-Control-Request-Headers: authorization, content-type'
    assert_error 403 origin_not_allowed permission_error
    assert_equal "$(cors_headers)" ""
  done
  assert_equal "$(upstream_count)" "$base"
}

@test "a preflight from an allowed origin gets 204 granting POST with Authorization and Content-Type to that origin" {
  serve_start --allow-origin http://app.example
  local base
  base="$(upstream_count)"
  req OPTIONS /v1/chat/completions -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization, content-type'
  assert_equal "$STATUS" "204"
  assert_equal "$BODY" ""
  assert_equal "$(header Access-Control-Allow-Origin)" "http://app.example"
  [[ ",$(header Access-Control-Allow-Methods | tr -d ' ')," == *,POST,* ]] ||
    fail "Access-Control-Allow-Methods: '$(header Access-Control-Allow-Methods)'"
  local h
  h=",$(header Access-Control-Allow-Headers | tr -d ' ' | tr 'A-Z' 'a-z'),"
  [[ "$h" == *,authorization,* && "$h" == *,content-type,* ]] || fail "Access-Control-Allow-Headers: '$h'"
  [[ ",$(header Vary | tr -d ' ')," == *,Origin,* ]] || fail "Vary: '$(header Vary)' lacks Origin"
  assert_equal "$(upstream_count)" "$base"
}

# --- request bodies -------------------------------------------------------------

@test "a POST body that is not application/json gets 415 unsupported_media_type and never reaches the upstream" {
  serve_start
  local base ct path
  base="$(upstream_count)"
  for path in /v1/chat/completions /v1/embeddings; do
    for ct in text/plain 'text/plain; charset=utf-8' application/x-www-form-urlencoded \
      'multipart/form-data; boundary=x' application/jsonx text/json; do
      req POST "$path" -H "Content-Type: $ct" --data-binary "$(chat_json hi)"
      assert_error 415 unsupported_media_type invalid_request_error
    done
    # no Content-Type at all (curl -d would add the form type; -H 'Content-Type:' drops it)
    req POST "$path" -H 'Content-Type:' --data-binary "$(chat_json hi)"
    assert_error 415 unsupported_media_type invalid_request_error
  done
  assert_equal "$(upstream_count)" "$base"
  # the JSON media type with parameters, in any case, is fine
  for ct in application/json 'application/json; charset=utf-8' 'Application/JSON;charset=UTF-8'; do
    req POST /v1/chat/completions -H "Content-Type: $ct" --data-binary "$(chat_json "as $ct")"
    [[ "$STATUS" == 200 ]] || fail "Content-Type: $ct got $STATUS: $BODY"
    assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: as $ct"
  done
  req POST /v1/embeddings -H 'Content-Type: application/json; charset=utf-8' --data-binary '{"input": "x"}'
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_count chat)" "3"
  assert_equal "$(fake_count embeddings)" "1"
}

# --- Unix socket ----------------------------------------------------------------

@test "--listen unix:PATH serves on a Unix socket of mode 0600 whatever the umask, and removes it at stop" {
  local sock="$BATS_TEST_TMPDIR/copilot.sock"
  umask 000
  serve_start_unix "$sock"
  [[ -S "$sock" ]] || fail "$sock is not a socket"
  assert_equal "$(stat -c %a "$sock")" "600"
  assert_equal "$(stat -c %u "$sock")" "$(id -u)"
  # no TCP port: a loopback listen is every local user, a 0600 socket is not
  run ! grep -q 'listening on http' "$SERVE_ERR"
  run --separate-stderr curl -sS --noproxy '*' -m 30 --unix-socket "$sock" http://localhost/v1/models
  assert_success
  assert_equal "$(json_get - '["data"][0]["id"]' <<<"$output")" "gpt-4.1"
  run --separate-stderr curl -sS --noproxy '*' -m 30 --unix-socket "$sock" -H 'Content-Type: application/json' \
    --data-binary "$(chat_json "over a socket")" http://localhost/v1/chat/completions
  assert_success
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$output")" "You said: over a socket"
  # no Host check there: no browser reaches a Unix socket, so no page can
  # rebind a name to it, and clients put any name in the URL
  run --separate-stderr curl -sS --noproxy '*' -m 30 --unix-socket "$sock" -o /dev/null -w '%{http_code}' \
    -H 'Host: evil.example' http://localhost/v1/models
  assert_output "200"
  run --separate-stderr curl -sS --noproxy '*' -m 30 --unix-socket "$sock" -o /dev/null -w '%{http_code}' \
    -H 'Host:' http://localhost/v1/models
  assert_output "200"
  # (the Origin check holds: it is about who asks, not where)
  run --separate-stderr curl -sS --noproxy '*' -m 30 --unix-socket "$sock" -o /dev/null -w '%{http_code}' \
    -H 'Origin: http://evil.example' http://localhost/v1/models
  assert_output "403"
  serve_stop
  assert_equal "$SERVE_STATUS" "0"
  [[ ! -e "$sock" ]] || fail "$sock is still there after the stop"
}

@test "--listen unix:PATH refuses a PATH that exists and is not a socket with 64, and leaves it alone" {
  printf 'precious\n' >"$BATS_TEST_TMPDIR/file"
  run --separate-stderr -64 timeout 10 copilot-serve --listen "unix:$BATS_TEST_TMPDIR/file"
  assert_output ""
  [[ "$stderr" == *"--listen unix:$BATS_TEST_TMPDIR/file"*"not a socket"* ]] || fail "stderr: $stderr"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/file")" "precious"
  mkdir "$BATS_TEST_TMPDIR/dir"
  run --separate-stderr -64 timeout 10 copilot-serve --listen "unix:$BATS_TEST_TMPDIR/dir"
  [[ "$stderr" == *"not a socket"* ]] || fail "stderr: $stderr"
  [[ -d "$BATS_TEST_TMPDIR/dir" ]]
  # refused before the token exchange
  assert_equal "$(fake_count copilot_token)" "0"
}

# --- slow clients ------------------------------------------------------------------

@test "a request head still incomplete after --header-timeout is closed unanswered, though each line beats --idle-timeout" {
  serve_start --header-timeout 3 --idle-timeout 5
  # one header line every 2 s: never idle for 5 s, never done either
  run -0 raw slow 2 12
  local got="$output"
  [[ "$(jq -r .closed <<<"$got")" == true ]] || fail "still open after 12 s: $got"
  jq -e '.after >= 2.5 and .after <= 6.5 and .bytes == 0' <<<"$got" >/dev/null ||
    fail "expected a close 3 s after the first byte, with nothing sent: $got"
  # others are served meanwhile and after
  req GET /healthz
  assert_equal "$STATUS" "200"
}

@test "an idle kept-alive connection is governed by --idle-timeout, not by --header-timeout" {
  serve_start --header-timeout 2 --idle-timeout 10
  # the second request comes 3 s after the first answer, on the same connection
  run -0 raw --timeout 15 send --again-after 3 < <(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert_equal "${#lines[@]}" "2"
  assert_equal "$(jq -r .status <<<"${lines[0]}")" "200"
  assert_equal "$(jq -r .status <<<"${lines[1]}")" "200"
}

@test "--max-connections-per-client: connections over it from one address are closed unanswered while another address is served" {
  serve_start --max-connections-per-client 2
  hold_connections 2
  local got
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' | raw send)"
  jq -e '.status == null and .bytes == 0' <<<"$got" >/dev/null || fail "a third connection from 127.0.0.1 was answered: $got"
  # 127.0.0.2 is loopback too, and another client address
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' | raw --source 127.0.0.2 send)"
  assert_equal "$(jq -r .status <<<"$got")" "200"
  touch "$BATS_TEST_TMPDIR/release"
  eventually '[ "$(curl -s --noproxy "*" -m 5 -o /dev/null -w "%{http_code}" "$SERVE_URL/healthz")" = 200 ]'
}

@test "by default one client address gets at most 32 connections, and another is still served" {
  serve_start
  hold_connections 32
  local got
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' | raw send)"
  jq -e '.status == null and .bytes == 0' <<<"$got" >/dev/null || fail "a 33rd connection from 127.0.0.1 was answered: $got"
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' | raw --source 127.0.0.2 send)"
  assert_equal "$(jq -r .status <<<"$got")" "200"
  touch "$BATS_TEST_TMPDIR/release"
}

@test "--help lists the new options with their defaults" {
  run -0 help_entry --header-timeout
  [[ "$output" == "--header-timeout SECONDS "* && "$output" == *"default 10"* ]] || fail "--help entry: '$output'"
  run -0 help_entry --max-connections-per-client
  [[ "$output" == "--max-connections-per-client N "* && "$output" == *"default 32"* ]] || fail "--help entry: '$output'"
  run -0 help_entry --allow-host
  [[ "$output" == "--allow-host NAME "*"repeatable"* ]] || fail "--help entry: '$output'"
  run -0 help_entry --allow-origin
  [[ "$output" == "--allow-origin ORIGIN "*"repeatable"* ]] || fail "--help entry: '$output'"
  run -0 help_entry --listen
  [[ "$output" == *"unix:PATH"* ]] || fail "--help entry: '$output'"
}

@test "copilot-serve(1) has a SECURITY section naming Host, Origin, --allow-host, --allow-origin, unix:PATH and --api-key-file" {
  local man="$REPO/man/copilot-serve.1" sec
  [[ -f "$man" ]]
  # the section's source, roff's \- read as -
  sec="$(awk '/^\.SH /{on = ($0 ~ /^\.SH "?SECURITY"?$/); next} on' "$man" | sed 's/\\-/-/g')"
  [[ -n "$sec" ]] || fail "no .SH SECURITY in $man"
  local word
  for word in Host Origin allow-host allow-origin unix: api-key-file 0600 415; do
    [[ "$sec" == *"$word"* ]] || fail "the SECURITY section does not mention $word"
  done
}

# --- libmicrohttpd's own answers -------------------------------------------------------

@test "libmicrohttpd's own errors (400, 414, 431, 505) have the right status, close, reach nothing upstream, and are documented" {
  # Not OpenAI-style JSON: libmicrohttpd 0.9 answers these from compiled-in
  # HTML before any callback of ours runs, and has no option to replace
  # them (copilot-serve(1), SECURITY, "Malformed HTTP"). What must hold does.
  serve_start
  local base got line v
  base="$(upstream_count)"
  raw_closed() {
    [[ "$(jq -r .status <<<"$1")" == "$2" ]] || fail "expected status $2, got: ${1:0:600}"
    [[ "$(jq -r '.headers.connection // ""' <<<"$1")" == close ]] || fail "no Connection: close: ${1:0:600}"
  }
  for line in 'GET /healthz HTTP/1.1 extra' 'GET /healthz HTTZ/1.1'; do
    got="$(printf '%s\r\nHost: 127.0.0.1\r\n\r\n' "$line" | raw send)"
    raw_closed "$got" 400
  done
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n' | raw send)"
  raw_closed "$got" 400
  for v in 2.0 3.0; do
    got="$(printf 'POST /v1/chat/completions HTTP/%s\r\nHost: 127.0.0.1\r\n\r\n' "$v" | raw send)"
    raw_closed "$got" 505
  done
  got="$( { printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: '; head -c 100000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } | raw send)"
  raw_closed "$got" 431
  got="$( { printf 'GET /'; head -c 100000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'; } | raw send)"
  raw_closed "$got" 414
  assert_equal "$(upstream_count)" "$base"
  # The limit is the 32 KiB a connection has (copilot-serve(1)): a head of
  # 30,000 bytes is still read, one of 40,000 is not.
  local big
  big="$(head -c 30000 /dev/zero | tr '\0' a)"
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\nConnection: close\r\n\r\n' "$big" | raw send)"
  [[ "$(jq -r .status <<<"$got")" == 200 ]] || fail "a 30,000-byte header: ${got:0:300}"
  big="$(head -c 40000 /dev/zero | tr '\0' a)"
  got="$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n' "$big" | raw send)"
  raw_closed "$got" 431
  local sec
  sec="$(awk '/^\.SH /{on = ($0 ~ /^\.SH "?SECURITY"?$/); next} on' "$REPO/man/copilot-serve.1")"
  for v in 400 414 431 505 libmicrohttpd; do
    [[ "$sec" == *"$v"* ]] || fail "SECURITY does not mention $v"
  done
}

# --- model ids ----------------------------------------------------------------------

@test "a model id with control bytes after decoding is 404 model_not_found, never the entry before them" {
  serve_start
  local id
  for id in 'gpt-4o%00junk' 'gpt-4o%00' 'gpt-4o%0Ajunk' 'gpt-4o%0D%0A' 'gpt-4o%09' 'gpt-4o%7F' '%1Bgpt-4o' 'gpt-4o%1B%5B31m'; do
    req GET "/v1/models/$id"
    assert_error 404 model_not_found invalid_request_error
    [[ "$BODY" != *'"id":"gpt-4o"'* ]] || fail "/v1/models/$id answered the gpt-4o entry"
    # nothing raw is echoed
    [[ "$(json_get - '["error"]["message"]' <<<"$BODY" | LC_ALL=C tr -d '[:print:]')" == "" ]] ||
      fail "control bytes in: $BODY"
  done
  # control bytes show as '?', as relay's other messages do
  req GET '/v1/models/gpt-4o%00junk'
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == "the model 'gpt-4o?junk' does not exist"* ]] || fail "$BODY"
  # a %25 is a '%', not the start of another escape
  req GET '/v1/models/gpt-4o%2500'
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == "the model 'gpt-4o%00' does not exist"* ]] || fail "$BODY"
  req GET /v1/models/gpt-4o
  assert_equal "$STATUS" "200"
}

# --- signals -----------------------------------------------------------------------

@test "SIGHUP stops gracefully like SIGTERM: the stream in flight finishes, exit 0, stopped" {
  fake_config '{"reply": "a b c d e f g h i j k l m n o p q r s t u v w x y z"}'
  fake_script chat '[{"stream": {"split": 16}}]'
  serve_start
  curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/got" -H 'Content-Type: application/json' \
    --data-binary "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 3>&- &
  local client=$!
  BG_PIDS=("$client")
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ]'
  local pid=$SERVE_PID status=0
  kill -HUP "$pid"
  wait "$client"
  tail -c 14 "$BATS_TEST_TMPDIR/got" | cmp -s - <(printf 'data: [DONE]\n\n') || fail "the stream did not end with [DONE]"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  grep -q '^copilot-serve: SIGHUP: not accepting connections; waiting up to 10 s for 1 request in flight$' "$SERVE_ERR"
  grep -q '^copilot-serve: stopped$' "$SERVE_ERR"
}

# --- the API key ----------------------------------------------------------------------

@test "an --api-key-file key shorter than 16 bytes is refused at start with 65 and one line that does not show it" {
  local key
  for key in x short-key-15byt; do
    printf '%s\n' "$key" >"$BATS_TEST_TMPDIR/key"
    chmod 600 "$BATS_TEST_TMPDIR/key"
    # (bounded: a server that takes the key serves until stopped)
    run --separate-stderr -65 timeout 10 copilot-serve --listen 127.0.0.1:0 --api-key-file "$BATS_TEST_TMPDIR/key"
    assert_output ""
    assert_equal "$(printf '%s\n' "$stderr" | wc -l)" "1"
    [[ "$stderr" == "copilot-serve: "*"--api-key-file $BATS_TEST_TMPDIR/key"*"16"* ]] || fail "stderr: $stderr"
    # (a 1-byte key could be any letter of the message: only the long one is looked for)
    [[ ${#key} -lt 8 || "$stderr" != *"$key"* ]] || fail "the key is shown: $stderr"
  done
  assert_equal "$(fake_count copilot_token)" "0"
  # 16 bytes (the newline is not part of it) is enough
  printf 'sixteen-byte-key\n' >"$BATS_TEST_TMPDIR/key"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  req GET /v1/models -H 'Authorization: Bearer sixteen-byte-key'
  assert_equal "$STATUS" "200"
}

# --- cut streams -------------------------------------------------------------------------

# cut_stream_case BODY CUT EXPECTED: the upstream sends BODY (a raw SSE
# stream, chunked) cut after CUT bytes; the client must get exactly EXPECTED
# (the complete events before the cut) and then one SSE error event with
# code upstream_error.
cut_stream_case() {
  local body="$1" cut="$2" expected="$3"
  fake_script chat "[{\"body\": $(printf '%s' "$body" | jq -Rs .), \"chunked\": true, \"cut\": $cut}]"
  curl -sS -N --noproxy '*' -m 30 -o "$BATS_TEST_TMPDIR/got" -H 'Content-Type: application/json' \
    --data-binary "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" || true
  printf '%s' "$expected" >"$BATS_TEST_TMPDIR/expected"
  run python3 - "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/expected" <<'EOF'
import json, re, sys
got, want = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
if not got.startswith(want):
    sys.exit("does not start with the complete events %r: %r" % (want, got))
rest = got[len(want):]
m = re.fullmatch(rb"data: (\{[^\r\n]*\})\n\n", rest)
if not m:
    sys.exit("after the complete events %r, not exactly one error event: %r" % (want, rest))
e = json.loads(m.group(1))["error"]
if e.get("code") != "upstream_error" or e.get("type") != "server_error":
    sys.exit("not an upstream_error event: %r" % rest)
EOF
  [[ "$status" == 0 ]] || fail "cut at $cut: $output"
}

@test "an upstream stream cut mid-event reaches the client as its complete events and then an SSE error event" {
  serve_start
  local e1='data: {"id":"x","choices":[{"index":0,"delta":{"content":"one"}}]}'
  local e2='data: {"id":"x","choices":[{"index":0,"delta":{"content":"two"}}]}'
  local lf="$e1"$'\n\n'"$e2"$'\n\n''data: [DONE]'$'\n\n'
  local n1=$((${#e1} + 2)) n2=$((${#e2} + 2))
  cut_stream_case "$lf" $((n1 + n2)) "$e1"$'\n\n'"$e2"$'\n\n'  # on a boundary: both
  cut_stream_case "$lf" $((n1 + 10)) "$e1"$'\n\n'           # in the middle of a line
  cut_stream_case "$lf" $((n1 + ${#e2} + 1)) "$e1"$'\n\n'   # its line ended, not the event
  cut_stream_case "$lf" $((${#e1} + 1)) ""                  # nothing complete yet
  cut_stream_case "$lf" 10 ""
  # CRLF line ends: an event ends with a blank line all the same
  local crlf="$e1"$'\r\n\r\n'"$e2"$'\r\n\r\n''data: [DONE]'$'\r\n\r\n'
  cut_stream_case "$crlf" $((${#e1} + 4 + 10)) "$e1"$'\r\n\r\n'
  cut_stream_case "$crlf" $((${#e1} + 4 + ${#e2} + 2)) "$e1"$'\r\n\r\n'
  eventually '[ "$(grep -c "note=\"upstream cut off\"" "$SERVE_ERR")" -eq 7 ]'
}

@test "a stream cut at the end of --grace ends on an event boundary with an SSE error event" {
  fake_script chat '[{"stream": {"repeat_chunk": "x", "count": 100000}, "drip": 0.001}]'
  serve_start --grace 1
  curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/got" -H 'Content-Type: application/json' \
    --data-binary "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- &
  local client=$!
  BG_PIDS=("$client")
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ] && [ "$(wc -c <"$BATS_TEST_TMPDIR/got")" -gt 400 ]'
  local pid=$SERVE_PID status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  wait "$client" || true
  run python3 - "$BATS_TEST_TMPDIR/got" <<'EOF'
import json, sys
got = open(sys.argv[1], "rb").read()
if not got.endswith(b"\n\n"):
    sys.exit("does not end with a blank line: ...%r" % got[-200:])
events = got[:-2].split(b"\n\n")
last = events.pop()
if not last.startswith(b"data: "):
    sys.exit("the last event is not data: %r" % last)
e = json.loads(last[6:]).get("error") or {}
if e.get("code") != "shutting_down" or e.get("type") != "server_error" or not e.get("message"):
    sys.exit("the last event is not a shutting_down error: %r" % last)
if not events:
    sys.exit("no event before the error")
for ev in events:
    if not ev.startswith(b"data: "):
        sys.exit("a half or odd event before the error: %r" % ev[:200])
    json.loads(ev[6:])
EOF
  [[ "$status" == 0 ]] || fail "$output"
}

# --- core dumps --------------------------------------------------------------------

@test "copilot-serve's process is not dumpable" {
  # Run as nobody: the kernel gives the files under /proc/PID of a process
  # that is not dumpable to root, and to the process's user otherwise.
  local d="$BATS_TEST_TMPDIR/nobody" dir
  mkdir -p "$d/home" "$d/xdg/config" "$d/xdg/cache" "$d/xdg/state" "$d/xdg/data" "$d/xdg/runtime"
  chown -R 65534:65534 "$d"
  # nobody must reach its directory (search permission only)
  dir="$BATS_TEST_TMPDIR"
  while [[ "$dir" != / && "$dir" != "${TMPDIR:-/tmp}" ]]; do
    chmod o+x "$dir"
    dir="$(dirname "$dir")"
  done
  local bin
  bin="$(command -v copilot-serve)"
  : >"$SERVE_ERR"
  HOME="$d/home" XDG_CONFIG_HOME="$d/xdg/config" XDG_CACHE_HOME="$d/xdg/cache" \
    XDG_STATE_HOME="$d/xdg/state" XDG_DATA_HOME="$d/xdg/data" XDG_RUNTIME_DIR="$d/xdg/runtime" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" --listen 127.0.0.1:0 \
    </dev/null >"$BATS_TEST_TMPDIR/serve.out" 2>"$SERVE_ERR" 3>&- &
  SERVE_PID=$!
  eventually 'grep -q "^copilot-serve: listening on http://" "$SERVE_ERR"'
  # the precondition: it runs as nobody (setpriv execs, same pid)
  assert_equal "$(awk '/^Uid:/ {print $2}' "/proc/$SERVE_PID/status")" "65534"
  local f
  for f in environ mem maps; do
    assert_equal "$(stat -c %U "/proc/$SERVE_PID/$f")" "root"
  done
}
