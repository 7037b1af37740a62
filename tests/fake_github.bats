#!/usr/bin/env bats
# The fake GitHub server's contract (tests/fake-github/server.py, README.md there):
# its command line, the control API (/_control/*) and each of its calls, each
# scripted fault, each request-log field, and the strictness the tool suites lean
# on (the fake refuses what the real services refuse). What the tools do with the
# default answers is tested in their own suites. Also the shared harness
# (tests/helpers/common.bash). Observed from outside with curl.

# shellcheck disable=SC2016,SC2119,SC2120
load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  B="$BATS_TEST_TMPDIR/body"
  HDR="$BATS_TEST_TMPDIR/headers"
  EXTRA_PID=
  EV='vscode/1.104.3'
}

teardown() {
  if [[ -n "${EXTRA_PID:-}" ]]; then
    kill -KILL "$EXTRA_PID" 2>/dev/null || true
    wait "$EXTRA_PID" 2>/dev/null || true
  fi
}

# req [curl args...] URL: body -> $B, headers -> $HDR, prints the HTTP status.
req() {
  curl -sS --noproxy '*' -m 10 -o "$B" -D "$HDR" -w '%{http_code}' "$@"
}

# header NAME: value of a response header from the last req (CR stripped).
header() {
  grep -i "^$1:" "$HDR" | head -n1 | cut -d: -f2- | sed -e 's/^ *//' -e 's/\r$//'
}

# refuses STATUS TEXT [curl args...] URL: the answer has STATUS and its body contains TEXT.
refuses() {
  local want="$1" text="$2" got
  shift 2
  got="$(req "$@")"
  if [[ "$got" != "$want" || "$(cat "$B")" != *"$text"* ]]; then
    echo "refuses: curl $* answered $got $(cat "$B"); want $want with: $text" >&2
    return 1
  fi
}

now_ms() { date +%s%3N; }

device_code() { # prints the device code JSON; extra args go to curl
  curl -sS --noproxy '*' -m 10 -H 'Accept: application/json' \
    -d client_id=Iv1.b507a08c87ecfe98 -d scope=read:user "$@" "$FAKE_URL/login/device/code"
}

poll() { # poll DEVICE_CODE [curl args]: prints status, body in $B
  local dc="$1"
  shift
  req -H 'Accept: application/json' -d client_id=Iv1.b507a08c87ecfe98 -d "device_code=$dc" \
    -d grant_type=urn:ietf:params:oauth:grant-type:device_code "$@" \
    "$FAKE_URL/login/oauth/access_token"
}

exchange() { # exchange GITHUB_TOKEN [curl args]: prints status, body in $B
  local tok="$1"
  shift
  req -H "Authorization: token $tok" -H "Editor-Version: $EV" "$@" \
    "$FAKE_URL/api/copilot_internal/v2/token"
}

chat() { # chat TOKEN JSON [curl args]: prints status, body in $B
  local tok="$1" json="$2"
  shift 2
  req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" \
    -H 'Content-Type: application/json' --data-binary "$json" "$@" "$FAKE_URL/chat/completions"
}

STREAM_REQ='{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"hi"}]}'
PLAIN_REQ='{"model":"gpt-4.1","messages":[{"role":"user","content":"hello there"}]}'

# chunk CONTENT: the content-delta event JSON for chatcmpl-fake1 (created normalised to T)
chunk() {
  printf '{"id":"chatcmpl-fake1","object":"chat.completion.chunk","created":T,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"%s"}}]}' "$1"
}
finish_chunk() {
  printf '{"id":"chatcmpl-fake1","object":"chat.completion.chunk","created":T,"model":"gpt-4.1","choices":[{"index":0,"delta":{},"finish_reason":"%s"}]}' "${1:-stop}"
}
normalise() { LC_ALL=C sed -E 's/"created":[0-9]{6,}/"created":T/g' "$1"; }

# ---------------------------------------------------------------- command line and process

@test "the server prints its port first, writes the port file and listens on 127.0.0.1 only" {
  python3 "$FAKE_SERVER" --port-file "$BATS_TEST_TMPDIR/port" \
    </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  EXTRA_PID=$!
  for _ in $(seq 100); do [[ -s "$BATS_TEST_TMPDIR/port" ]] && break; sleep 0.05; done
  port="$(cat "$BATS_TEST_TMPDIR/port")"
  assert_regex "$port" '^[0-9]+$'
  assert_not_equal "$port" "$FAKE_PORT"
  run head -n1 "$BATS_TEST_TMPDIR/out"
  assert_output "$port"
  run python3 - "$port" <<'EOF'
import sys
port = "%04X" % int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        local, state = l.split()[1], l.split()[3]
        if local.endswith(":" + port) and state == "0A":
            print(local)
EOF
  assert_output "0100007F:$(printf '%04X' "$port")"
}

@test "SIGTERM stops the server cleanly with exit status 0 and nothing on stderr" {
  python3 "$FAKE_SERVER" --port-file "$BATS_TEST_TMPDIR/port" \
    </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  EXTRA_PID=$!
  for _ in $(seq 100); do [[ -s "$BATS_TEST_TMPDIR/port" ]] && break; sleep 0.05; done
  curl -sS --noproxy '*' -o /dev/null "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/api/user"
  kill -TERM "$EXTRA_PID"
  rc=0
  wait "$EXTRA_PID" || rc=$?
  EXTRA_PID=
  assert_equal "$rc" 0
  run cat "$BATS_TEST_TMPDIR/err"
  assert_output ''
}

@test "POST /_control/shutdown stops the server" {
  python3 "$FAKE_SERVER" --port-file "$BATS_TEST_TMPDIR/port" \
    </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  EXTRA_PID=$!
  for _ in $(seq 100); do [[ -s "$BATS_TEST_TMPDIR/port" ]] && break; sleep 0.05; done
  run curl -sS --noproxy '*' -X POST "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/_control/shutdown"
  assert_output '{"ok":true}'
  rc=0
  wait "$EXTRA_PID" || rc=$?
  EXTRA_PID=
  assert_equal "$rc" 0
}

@test "--watch-pid makes the server exit when the watched process is gone" {
  sleep 0.5 &
  watched=$!
  python3 "$FAKE_SERVER" --port-file "$BATS_TEST_TMPDIR/port" --watch-pid "$watched" \
    </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  EXTRA_PID=$!
  wait "$watched"
  for _ in $(seq 60); do kill -0 "$EXTRA_PID" 2>/dev/null || break; sleep 0.05; done
  run kill -0 "$EXTRA_PID"
  assert_failure
}

@test "fake_start fails cleanly, leaving no process, when the server cannot start" {
  run env -u FAKE_PID FAKE_PYTHON=false BATS_FILE_TMPDIR="$BATS_TEST_TMPDIR" \
    bash -c 'source "$REPO/tests/helpers/common.bash"; fake_start; echo "rc=$? pid=[$FAKE_PID]"'
  assert_line --partial 'fake_start: the fake server exited at startup'
  assert_line 'rc=1 pid=[]'
}

@test "a chunked or Expect: 100-continue request body is read whole" {
  run req -H 'Transfer-Encoding: chunked' -H 'Accept: application/json' \
    -d client_id=chunked -d scope=s "$FAKE_URL/login/device/code"
  assert_output 200
  assert_equal "$(fake_last device_code '["body"]')" 'client_id=chunked&scope=s'
  run req -H 'Expect: 100-continue' -H 'Accept: application/json' \
    -d client_id=expect "$FAKE_URL/login/device/code"
  assert_output 200
  assert_equal "$(fake_last device_code '["body"]')" 'client_id=expect'
}

@test "each request on a kept-alive connection is answered from its own body" {
  tok="$(fake_copilot_token)"
  local h=(-H "Authorization: Bearer $tok" -H "Editor-Version: $EV" -H 'Content-Type: application/json')
  # curl --next sends the second request on the connection of the first
  run -0 curl -sS --noproxy '*' -m 10 "${h[@]}" -o "$BATS_TEST_TMPDIR/a" \
    --data-binary '{"model":"gpt-4.1","messages":[{"role":"user","content":"first"}]}' \
    "$FAKE_URL/chat/completions" --next "${h[@]}" -o "$BATS_TEST_TMPDIR/b" \
    --data-binary '{"model":"gpt-4.1","messages":[{"role":"user","content":"second"}]}' \
    "$FAKE_URL/chat/completions"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/a" '["choices"][0]["message"]["content"]')" "You said: first"
  assert_equal "$(json_get "$BATS_TEST_TMPDIR/b" '["choices"][0]["message"]["content"]')" "You said: second"
  # the same connection: one client port for both
  assert_equal "$(fake_log chat | jq '[.requests[].peer_port] | unique | length')" 1
}

# ---------------------------------------------------------------- routes and strictness

@test "every route answers at each of its paths, and HEAD wherever GET does" {
  tok="$(fake_copilot_token)"
  for p in /user /api/user /api/v3/user; do
    run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL$p"
    assert_output 200
    assert_equal "$(json_get "$B" '["login"]')" octocat
  done
  run req -H 'Authorization: Bearer ghu_fake_valid' "$FAKE_URL/api/user"
  assert_output 200
  for p in /copilot_internal/v2/token /api/copilot_internal/v2/token /api/v3/copilot_internal/v2/token; do
    run req -H 'Authorization: Bearer ghu_fake_valid' -H "Editor-Version: $EV" "$FAKE_URL$p"
    assert_output 200
  done
  for p in /models /v1/models; do
    run req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" "$FAKE_URL$p"
    assert_output 200
    assert_equal "$(json_get "$B" '["object"]')" list
  done
  for p in /chat/completions /v1/chat/completions; do
    run req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" --data-binary "$PLAIN_REQ" "$FAKE_URL$p"
    assert_output 200
    assert_equal "$(json_get "$B" '["choices"][0]["message"]["content"]')" "You said: hello there"
  done
  for p in /embeddings /v1/embeddings; do
    run req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" --data-binary '{"input":"a"}' "$FAKE_URL$p"
    assert_output 200
  done
  run req "$FAKE_URL/login/device"
  assert_output 200
  assert_equal "$(header Content-Type)" 'text/html; charset=utf-8'
  # HEAD: the GET's status and headers (its Content-Length too), and no body
  run python3 - "$FAKE_PORT" <<'EOF2'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HEAD /api/user HTTP/1.1\r\nHost: x\r\nAuthorization: token ghu_fake_valid\r\n"
          b"Connection: close\r\n\r\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
head, _, body = out.partition(b"\r\n\r\n")
length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
print(head.split(b"\r\n")[0].decode(), int(length[0].split(b":")[1]) > 100, len(body))
EOF2
  assert_output 'HTTP/1.1 200 OK True 0'
  run bash -c "curl -sS --noproxy '*' '$FAKE_URL/_control/log' | jq -c '[.requests[].route] | group_by(.) | map([.[0], length])'"
  assert_output '[["chat",2],["copilot_token",3],["device_page",1],["embeddings",2],["models",2],["user",5]]'
}

@test "an unknown path answers 404 and is logged with a null route" {
  run req "$FAKE_URL/no/such/thing?x=1"
  assert_output 404
  assert_equal "$(json_get "$B" '["message"]')" "Not Found"
  run fake_log
  assert_equal "$(echo "$output" | json_get - '["requests"][0]["route"]')" null
  assert_equal "$(echo "$output" | json_get - '["requests"][0]["path"]')" /no/such/thing
  assert_equal "$(echo "$output" | json_get - '["requests"][0]["query"]')" x=1
  assert_equal "$(echo "$output" | json_get - '["requests"][0]["status"]')" 404
}

@test "the GitHub routes refuse what GitHub refuses" {
  dc="$(device_code | json_get - '["device_code"]')"
  local j=(-H 'Accept: application/json') g=grant_type=urn:ietf:params:oauth:grant-type:device_code
  refuses 400 '"error":"incorrect_client_credentials"' "${j[@]}" -d scope=read:user "$FAKE_URL/login/device/code"
  refuses 200 '"error":"incorrect_client_credentials"' "${j[@]}" -d "device_code=$dc" -d $g \
    "$FAKE_URL/login/oauth/access_token"
  refuses 200 '"error":"unsupported_grant_type"' "${j[@]}" -d client_id=Iv1.b507a08c87ecfe98 \
    -d "device_code=$dc" -d grant_type=password "$FAKE_URL/login/oauth/access_token"
  refuses 200 '"error":"incorrect_device_code","error_description":"The device_code provided is not valid.","error_uri":"https://docs.github.com/developers/apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow"}' \
    "${j[@]}" -d client_id=Iv1.b507a08c87ecfe98 -d device_code=nope -d $g "$FAKE_URL/login/oauth/access_token"
  refuses 200 '"error":"incorrect_client_credentials"' "${j[@]}" -d client_id=other \
    -d "device_code=$dc" -d $g "$FAKE_URL/login/oauth/access_token"
  refuses 401 '{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}' \
    -H 'Authorization: token ghu_fake_bogus' "$FAKE_URL/api/user"
  refuses 401 '"message":"Bad credentials"' "$FAKE_URL/api/user"
  refuses 400 '"message":"Editor-Version header is required"' -H 'Authorization: token ghu_fake_valid' \
    "$FAKE_URL/api/copilot_internal/v2/token"
  refuses 401 '"message":"Bad credentials"' -H "Editor-Version: $EV" -H 'Authorization: token ghu_fake_nope' \
    "$FAKE_URL/api/copilot_internal/v2/token"
  refuses 401 '"message":"Bad credentials"' -H "Editor-Version: $EV" "$FAKE_URL/api/copilot_internal/v2/token"
  refuses 405 '{"message":"Method Not Allowed","documentation_url":"https://docs.github.com/rest"}' \
    -X POST "$FAKE_URL/api/user"
  assert_equal "$(fake_last user '["route"]')" user
}

@test "the Copilot routes refuse what the Copilot API refuses" {
  tok="$(fake_copilot_token)"
  local h=(-H "Authorization: Bearer $tok" -H "Editor-Version: $EV")
  refuses 400 '{"error":{"message":"missing Editor-Version header","code":"bad_request"}}' \
    -H "Authorization: Bearer $tok" --data-binary "$PLAIN_REQ" "$FAKE_URL/chat/completions"
  refuses 400 '"code":"bad_request"' -H "Authorization: Bearer $tok" "$FAKE_URL/models"
  refuses 401 'unauthorized: invalid token' -H "Editor-Version: $EV" \
    -H 'Authorization: Bearer tid=fake1;exp=9999999999:abc' --data-binary "$PLAIN_REQ" "$FAKE_URL/chat/completions"
  refuses 401 'unauthorized: invalid token' -H "Editor-Version: $EV" --data-binary "$PLAIN_REQ" \
    "$FAKE_URL/chat/completions"
  refuses 401 'unauthorized: invalid token' -H "Editor-Version: $EV" -H "Authorization: token $tok" \
    "$FAKE_URL/models"
  refuses 401 'unauthorized: token expired' -H "Editor-Version: $EV" \
    -H "Authorization: Bearer $(fake_copilot_token 0)" --data-binary "$PLAIN_REQ" "$FAKE_URL/chat/completions"
  assert_equal "$(header Content-Type)" 'text/plain; charset=utf-8'
  assert_equal "$(cat "$B")" 'unauthorized: token expired'
  refuses 400 '{"error":{"message":"invalid JSON body","code":"bad_request"}}' "${h[@]}" \
    --data-binary '{"model":' "$FAKE_URL/chat/completions"
  refuses 400 '"message":"messages must be a non-empty array","code":"bad_request"' "${h[@]}" \
    --data-binary '{"model":"gpt-4.1"}' "$FAKE_URL/chat/completions"
  refuses 400 '{"error":{"message":"The requested model is not supported.","code":"model_not_supported","param":"model","type":"invalid_request_error"}}' \
    "${h[@]}" --data-binary '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}' "$FAKE_URL/chat/completions"
  refuses 400 '"code":"model_not_supported"' "${h[@]}" \
    --data-binary '{"model":"text-embedding-3-small","messages":[{"role":"user","content":"x"}]}' "$FAKE_URL/chat/completions"
  refuses 400 '"message":"input must be a string or an array of strings"' "${h[@]}" \
    --data-binary '{"input":[]}' "$FAKE_URL/embeddings"
  refuses 400 '"code":"model_not_supported"' "${h[@]}" --data-binary '{"model":"gpt-4.1","input":"a"}' \
    "$FAKE_URL/embeddings"
  refuses 405 '{"error":{"message":"Method Not Allowed","code":"error"}}' "${h[@]}" "$FAKE_URL/chat/completions"
  assert_equal "$(fake_count chat)" 9
}

# ---------------------------------------------------------------- the GitHub side: device flow

@test "the OAuth routes answer form-encoded unless Accept asks for JSON" {
  run req -d client_id=Iv1.b507a08c87ecfe98 -d scope=read:user "$FAKE_URL/login/device/code"
  assert_output 200
  assert_equal "$(header Content-Type)" 'application/x-www-form-urlencoded; charset=utf-8'
  run cat "$B"
  assert_output --regexp '^device_code=fake_device_code_[^&]+&user_code=[A-Z]{4}-[0-9]{4}&verification_uri=http%3A%2F%2F127.0.0.1%3A[0-9]+%2Flogin%2Fdevice&expires_in=900&interval=5$'
  dc="$(sed -E 's/^device_code=([^&]+)&.*/\1/' "$B")"
  run req -d client_id=Iv1.b507a08c87ecfe98 -d "device_code=$dc" \
    -d grant_type=urn:ietf:params:oauth:grant-type:device_code "$FAKE_URL/login/oauth/access_token"
  assert_output 200
  assert_equal "$(cat "$B")" 'access_token=ghu_fake_1&token_type=bearer&scope=read%3Auser'
  run poll "$dc"
  assert_equal "$(cat "$B")" '{"access_token":"ghu_fake_1","token_type":"bearer","scope":"read:user"}'
}

@test "the access token endpoint accepts a JSON body" {
  dc="$(device_code | json_get - '["device_code"]')"
  run req -H 'Accept: application/json' -H 'Content-Type: application/json' \
    --data-binary "{\"client_id\":\"Iv1.b507a08c87ecfe98\",\"device_code\":\"$dc\",\"grant_type\":\"urn:ietf:params:oauth:grant-type:device_code\"}" \
    "$FAKE_URL/login/oauth/access_token"
  assert_output 200
  assert_equal "$(json_get "$B" '["access_token"]')" ghu_fake_1
}

@test "config interval and expires_in appear in the device code answer" {
  fake_config '{"interval": 1, "expires_in": 42}'
  run device_code
  assert_equal "$(json_get - '["interval"]' <<<"$output")" 1
  assert_equal "$(json_get - '["expires_in"]' <<<"$output")" 42
}

@test "manual approval stays authorization_pending until approved" {
  fake_config '{"approval": "manual"}'
  json="$(device_code)"
  dc="$(json_get - '["device_code"]' <<<"$json")"
  uc="$(json_get - '["user_code"]' <<<"$json")"
  run poll "$dc"
  assert_output 200
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
  assert_equal "$(fake_state | json_get - "[\"device_codes\"][\"$dc\"][\"status\"]")" pending
  run fake_approve "$uc"
  assert_success
  run poll "$dc"
  assert_equal "$(json_get "$B" '["access_token"]')" ghu_fake_1
}

@test "approving with no pending code answers 404" {
  run curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' -X POST -d '{"all":true}' \
    "$FAKE_URL/_control/approve"
  assert_output 404
}

@test "deny makes the poll answer access_denied" {
  fake_config '{"approval": "manual"}'
  dc="$(device_code | json_get - '["device_code"]')"
  fake_deny
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" access_denied
}

@test "a device code past its expires_in gets expired_token" {
  fake_config '{"expires_in": 1, "approval": "manual"}'
  dc="$(device_code | json_get - '["device_code"]')"
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
  sleep 1.1
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" expired_token
}

@test "oauth_error_status 400 sends device flow errors with status 400" {
  fake_config '{"oauth_error_status": 400, "approval": "manual"}'
  dc="$(device_code | json_get - '["device_code"]')"
  run poll "$dc"
  assert_output 400
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
}

@test "enforce_interval answers slow_down to polls faster than the interval" {
  fake_config '{"enforce_interval": true, "approval": "manual", "interval": 5}'
  dc="$(device_code | json_get - '["device_code"]')"
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" slow_down
  assert_equal "$(json_get "$B" '["interval"]')" 10
}

@test "config user changes the login" {
  fake_config '{"user": "hubot"}'
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  assert_equal "$(json_get "$B" '["login"]')" hubot
}

# ---------------------------------------------------------------- the GitHub side: the exchange

@test "config sku, refresh_in, token_ttl and api_endpoint shape the envelope and the token" {
  fake_config '{"sku": "copilot_enterprise_seat", "refresh_in": 60, "token_ttl": 120,
                "api_endpoint": "https://api.enterprise.githubcopilot.com"}'
  before="$(date +%s)"
  exchange ghu_fake_valid
  assert_equal "$(json_get "$B" '["sku"]')" copilot_enterprise_seat
  assert_equal "$(json_get "$B" '["refresh_in"]')" 60
  assert_equal "$(json_get "$B" '["endpoints"]["api"]')" https://api.enterprise.githubcopilot.com
  exp="$(json_get "$B" '["expires_at"]')"
  (( exp >= before + 120 && exp <= before + 122 ))
  run json_get "$B" '["token"]'
  assert_output --regexp "^tid=fake1;exp=$exp;sku=copilot_enterprise_seat;proxy-ep=proxy.individual.githubcopilot.com;.*8kp=1:[0-9a-f]{64}$"
}

@test "config github_tokens replaces the default valid token" {
  fake_config '{"github_tokens": ["ghu_fake_other"]}'
  run exchange ghu_fake_valid
  assert_output 401
  run exchange ghu_fake_other
  assert_output 200
}

@test "no_copilot_tokens get the 403 no_copilot_access answer" {
  fake_config '{"no_copilot_tokens": ["ghu_fake_nocop"]}'
  run exchange ghu_fake_nocop
  assert_output 403
  assert_equal "$(json_get "$B" '["error_details"]["notification_id"]')" no_copilot_access
  assert_equal "$(json_get "$B" '["error_details"]["url"]')" https://github.com/features/copilot
  assert_regex "$(json_get "$B" '["error_details"]["message"]')" '^You do not have access to GitHub Copilot'
  run req -H 'Authorization: token ghu_fake_nocop' "$FAKE_URL/api/user"
  assert_output 200
}

@test "unusable_tokens get 404 Not Found from the exchange" {
  fake_config '{"unusable_tokens": ["gho_fake_ghcli"]}'
  run exchange gho_fake_ghcli
  assert_output 404
  assert_equal "$(json_get "$B" '["message"]')" "Not Found"
}

@test "token_ttl 1 makes an exchanged token expire after a second" {
  fake_config '{"token_ttl": 1}'
  exchange ghu_fake_valid
  tok="$(json_get "$B" '["token"]')"
  run chat "$tok" "$PLAIN_REQ"
  assert_output 200
  sleep 1.1
  run chat "$tok" "$PLAIN_REQ"
  assert_output 401
  assert_equal "$(cat "$B")" 'unauthorized: token expired'
}

# ---------------------------------------------------------------- the Copilot side

@test "config models replaces the list and strings expand to chat models" {
  fake_config '{"models": ["my-model"]}'
  tok="$(fake_copilot_token)"
  req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" "$FAKE_URL/models"
  assert_equal "$(json_get "$B" '["data"][0]["id"]')" my-model
  assert_equal "$(json_get "$B" '["data"][0]["capabilities"]["type"]')" chat
  run chat "$tok" '{"model":"my-model","messages":[{"role":"user","content":"x"}]}'
  assert_output 200
  run chat "$tok" "$PLAIN_REQ"
  assert_output 400
}

@test "the default models carry supported_endpoints, capabilities, billing and policy" {
  tok="$(fake_copilot_token)"
  req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" "$FAKE_URL/models"
  assert_equal "$(jq -r '[.data[].id] | join(" ")' "$B")" \
    "gpt-4.1 gpt-4o gpt-4o-mini gpt-5-mini claude-sonnet-4 o3-mini gpt-5-codex claude-sonnet-4.5 claude-3.5-sonnet text-embedding-3-small"
  m() { jq -c --arg id "$1" ".data[] | select(.id == \$id) | $2" "$B"; }
  assert_equal "$(m gpt-4o .supported_endpoints)" null
  assert_equal "$(m gpt-5-mini .supported_endpoints)" '["/chat/completions","/responses"]'
  assert_equal "$(m gpt-5-codex .supported_endpoints)" '["/responses"]'
  assert_equal "$(m claude-sonnet-4.5 .supported_endpoints)" '["/chat/completions","/v1/messages"]'
  assert_equal "$(m claude-3.5-sonnet .supported_endpoints)" '["/chat/completions"]'
  assert_equal "$(m gpt-5-codex '[.preview, .billing, .policy.state, .vendor, .capabilities.supports.reasoning_effort]')" \
    '[true,{"is_premium":true,"multiplier":1},"enabled","OpenAI",["low","medium","high"]]'
  assert_equal "$(m gpt-5-mini '.capabilities | [.family, .type, .limits.max_context_window_tokens, .limits.max_prompt_tokens, .limits.max_output_tokens, .supports.streaming, .supports.tool_calls, .supports.vision]')" \
    '["gpt-5-mini","chat",264000,128000,64000,true,true,true]'
  assert_equal "$(m gpt-4.1 '[.billing, .model_picker_enabled, .preview]')" '[{"is_premium":false,"multiplier":0},true,false]'
  assert_equal "$(m o3-mini .billing.multiplier)" 0.33
  assert_equal "$(m text-embedding-3-small '[.billing, .policy, .capabilities.type]')" '[null,null,"embeddings"]'
}

@test "a model asked on an endpoint it lacks answers 400 unsupported_api_for_model" {
  tok="$(fake_copilot_token)"
  run chat "$tok" '{"model":"gpt-5-codex","messages":[{"role":"user","content":"x"}]}'
  assert_output 400
  assert_equal "$(cat "$B")" '{"error":{"message":"model \"gpt-5-codex\" is not accessible via the /chat/completions endpoint","code":"unsupported_api_for_model","param":"model","type":"invalid_request_error"}}'
  # the models that list /chat/completions, or no endpoints at all, take it
  for m in gpt-4o gpt-5-mini claude-sonnet-4.5 claude-3.5-sonnet; do
    run chat "$tok" '{"model":"'"$m"'","messages":[{"role":"user","content":"x"}]}'
    assert_output 200
  done
  # an unknown model stays model_not_supported
  run chat "$tok" '{"model":"gpt-99","messages":[{"role":"user","content":"x"}]}'
  assert_output 400
  assert_equal "$(jq -r .error.code "$B")" model_not_supported
}

@test "a non-stream chat echoes the last user message with usage" {
  tok="$(fake_copilot_token)"
  run chat "$tok" '{"model":"gpt-4.1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"second one"}]}]}'
  assert_output 200
  assert_equal "$(json_get "$B" '["object"]')" chat.completion
  assert_equal "$(json_get "$B" '["id"]')" chatcmpl-fake1
  assert_equal "$(json_get "$B" '["choices"][0]["message"]["content"]')" "You said: second one"
  assert_equal "$(json_get "$B" '["choices"][0]["finish_reason"]')" stop
  assert_equal "$(json_get "$B" '["usage"]["completion_tokens"]')" 4
  assert_equal "$(json_get "$B" '["usage"]["total_tokens"]')" 10
  run chat "$tok" "$PLAIN_REQ"
  assert_equal "$(fake_count chat)" 2
}

@test "config reply overrides the reply text" {
  fake_config '{"reply": "fixed answer"}'
  run chat "$(fake_copilot_token)" "$PLAIN_REQ"
  assert_equal "$(json_get "$B" '["choices"][0]["message"]["content"]')" "fixed answer"
}

@test "embeddings answer an OpenAI-shaped list of small vectors" {
  tok="$(fake_copilot_token)"
  run req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" \
    --data-binary '{"model":"text-embedding-3-small","input":["a","b"]}' "$FAKE_URL/v1/embeddings"
  assert_output 200
  assert_equal "$(json_get "$B" '["object"]')" list
  assert_equal "$(json_get "$B" '["data"][1]["index"]')" 1
  run python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"][0]["embedding"]))' "$B"
  assert_output 8
  run req -H "Authorization: Bearer $tok" -H "Editor-Version: $EV" \
    --data-binary '{"model":"gpt-4.1","input":"a"}' "$FAKE_URL/embeddings"
  assert_output 400
  run req -H "Editor-Version: $EV" --data-binary '{"input":"a"}' "$FAKE_URL/embeddings"
  assert_output 401
}

# ---------------------------------------------------------------- scripted answers: fields

@test "scripted errors are consumed in order with repeat, interval, then the default answer" {
  fake_script access_token '[{"error": "authorization_pending", "repeat": 2},
                             {"error": "slow_down", "interval": 10, "error_description": "calm down"}]'
  dc="$(device_code | json_get - '["device_code"]')"
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
  run poll "$dc"
  assert_equal "$(json_get "$B" '["error"]')" authorization_pending
  run poll "$dc"
  assert_output 200
  assert_equal "$(json_get "$B" '["error"]')" slow_down
  assert_equal "$(json_get "$B" '["interval"]')" 10
  assert_equal "$(json_get "$B" '["error_description"]')" "calm down"
  run poll "$dc"
  assert_equal "$(json_get "$B" '["access_token"]')" ghu_fake_1
  assert_equal "$(fake_count access_token)" 4
}

@test "a scripted error takes its status and error_uri from the response" {
  fake_script access_token '[{"error": "device_flow_disabled", "status": 400, "error_uri": "https://example.invalid/why"}]'
  run poll whatever
  assert_output 400
  assert_equal "$(json_get "$B" '["error"]')" device_flow_disabled
  assert_equal "$(json_get "$B" '["error_uri"]')" https://example.invalid/why
}

@test "a scripted status, JSON body, headers, content_type and retry_after are sent" {
  fake_script copilot_token '[{"status": 429, "body": {"message": "slow"}, "retry_after": 7,
                               "headers": {"X-Fake": "yes"}, "content_type": "application/vnd.fake+json"}]'
  run exchange ghu_fake_valid
  assert_output 429
  assert_equal "$(cat "$B")" '{"message":"slow"}'
  assert_equal "$(header Retry-After)" 7
  assert_equal "$(header X-Fake)" yes
  assert_equal "$(header Content-Type)" application/vnd.fake+json
  run exchange ghu_fake_valid
  assert_output 200
}

@test "retry_after may be an HTTP date string" {
  fake_script models '[{"status": 503, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}]'
  run req "$FAKE_URL/models"
  assert_output 503
  assert_equal "$(header Retry-After)" 'Wed, 21 Oct 2015 07:28:00 GMT'
}

@test "a scripted string body is sent raw" {
  fake_script user '[{"body": "{\"login\": truncated", "status": 200}]'
  run req "$FAKE_URL/api/user"
  assert_output 200
  assert_equal "$(cat "$B")" '{"login": truncated'
}

@test "a scripted error status without body gets a body in the route's style" {
  fake_script chat '[{"status": 402}]'
  fake_script copilot_token '[{"status": 500}]'
  run chat "$(fake_copilot_token)" "$PLAIN_REQ"
  assert_output 402
  assert_equal "$(cat "$B")" '{"error":{"message":"Payment Required","code":"quota_exceeded"}}'
  run exchange ghu_fake_valid
  assert_output 500
  assert_equal "$(cat "$B")" '{"message":"Internal Server Error","documentation_url":"https://docs.github.com/rest"}'
}

@test "a scripted success status without body keeps the default answer" {
  fake_script user '[{"status": 203, "headers": {"X-RateLimit-Remaining": "0"}}]'
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  assert_output 203
  assert_equal "$(json_get "$B" '["login"]')" octocat
  assert_equal "$(header X-RateLimit-Remaining)" 0
}

@test "repeat N answers N times, then the default answer returns" {
  fake_script copilot_token '[{"status": 500, "repeat": 2}]'
  run exchange ghu_fake_valid
  assert_output 500
  run exchange ghu_fake_valid
  assert_output 500
  run exchange ghu_fake_valid
  assert_output 200
}

@test "repeat -1 answers forever" {
  fake_script copilot_token '[{"status": 502, "repeat": -1}]'
  for _ in 1 2 3 4; do
    run exchange ghu_fake_valid
    assert_output 502
  done
}

@test "scripts queue FIFO across several calls" {
  fake_script user '[{"status": 500}]'
  fake_script user '[{"status": 502}, {"status": 503}]'
  run req "$FAKE_URL/api/user"
  assert_output 500
  run req "$FAKE_URL/api/user"
  assert_output 502
  run req "$FAKE_URL/api/user"
  assert_output 503
  run req "$FAKE_URL/api/user"
  assert_output 401
}

# ---------------------------------------------------------------- scripted answers: faults on the wire

@test "delay answers after the given seconds" {
  fake_script user '[{"delay": 0.6}]'
  t0=$(now_ms)
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  t1=$(now_ms)
  assert_output 200
  (( t1 - t0 >= 550 && t1 - t0 < 3000 ))
}

@test "hang never answers, so curl -m 1 times out" {
  fake_script user '[{"hang": true}]'
  t0=$(now_ms)
  run curl -sS --noproxy '*' -m 1 "$FAKE_URL/api/user"
  t1=$(now_ms)
  assert_equal "$status" 28
  (( t1 - t0 >= 900 && t1 - t0 < 3000 ))
  assert_equal "$(fake_last user '["status"]')" null
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  assert_output 200
}

@test "reset closes the connection with a TCP RST and no answer" {
  fake_script chat '[{"reset": true}]'
  run curl -sS --noproxy '*' -m 5 -H "Editor-Version: $EV" -d '{}' "$FAKE_URL/chat/completions"
  assert_equal "$status" 56
  assert_output --partial 'Connection reset by peer'
  assert_equal "$(fake_count chat)" 1
}

@test "cut sends the full Content-Length but only N bytes of body" {
  fake_script user '[{"cut": 10}]'
  run curl -sS --noproxy '*' -m 5 -o "$B" -D "$HDR" -H 'Authorization: token ghu_fake_valid' \
    "$FAKE_URL/api/user"
  assert_equal "$status" 18
  run wc -c <"$B"
  assert_output 10
  assert_equal "$(cat "$B")" '{"login":"'
  (( $(header Content-Length) > 100 ))
}

@test "cut on a stream stops mid-stream without the final chunk" {
  fake_script chat '[{"cut": 30}]'
  run chat "$(fake_copilot_token)" "$STREAM_REQ"
  assert_equal "$status" 18
  run wc -c <"$B"
  assert_output 30
}

@test "drip sends the body one byte at a time" {
  fake_script user '[{"body": "0123456789", "drip": 0.05}]'
  t0=$(now_ms)
  run req "$FAKE_URL/api/user"
  t1=$(now_ms)
  assert_output 200
  assert_equal "$(cat "$B")" 0123456789
  (( t1 - t0 >= 450 && t1 - t0 < 3000 ))
}

@test "big_body sends exactly N bytes with a Content-Length" {
  fake_script models '[{"big_body": 5242880}]'
  run req "$FAKE_URL/models"
  assert_output 200
  assert_equal "$(header Content-Length)" 5242880
  run wc -c <"$B"
  assert_output 5242880
  run head -c 12 "$B"
  assert_output '{"filler": "'
}

@test "chunked forces chunked transfer encoding" {
  fake_script user '[{"body": {"a": 1}, "chunked": true}]'
  run req "$FAKE_URL/api/user"
  assert_equal "$(header Transfer-Encoding)" chunked
  assert_equal "$(cat "$B")" '{"a":1}'
}

# ---------------------------------------------------------------- scripted answers: the chat stream

@test "a default stream has the empty first chunk, word deltas, finish, usage and DONE" {
  run chat "$(fake_copilot_token)" \
    '{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"one two three"}]}'
  assert_output 200
  assert_equal "$(header Content-Type)" text/event-stream
  assert_equal "$(header Transfer-Encoding)" chunked
  run python3 - "$B" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read().decode()
assert raw.endswith("\n\n"), raw
events = [e[len("data: "):] for e in raw[:-2].split("\n\n")]
assert events[-1] == "[DONE]", events[-1]
objs = [json.loads(e) for e in events[:-1]]
print(objs[0]["choices"], "prompt_filter_results" in objs[0])
print("|".join(o["choices"][0]["delta"]["content"] for o in objs[1:-2]))
print(objs[-2]["choices"][0]["finish_reason"], objs[-2]["choices"][0]["delta"])
print(objs[-1]["choices"], objs[-1]["usage"])
EOF
  assert_success
  assert_line -n 0 "[] True"
  assert_line -n 1 "You said: |one two |three"
  assert_line -n 2 "stop {}"
  assert_line -n 3 "[] {'prompt_tokens': 3, 'completion_tokens': 5, 'total_tokens': 8}"
}

@test "stream chunks, no_empty_first and no_usage give exactly these bytes" {
  fake_script chat '[{"stream": {"chunks": ["Hel", "lo"], "no_empty_first": true, "no_usage": true}}]'
  run chat "$(fake_copilot_token)" "$STREAM_REQ"
  assert_output 200
  printf 'data: %s\n\ndata: %s\n\ndata: %s\n\ndata: [DONE]\n\n' \
    "$(chunk Hel)" "$(chunk lo)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream crlf uses CRLF line ends" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "crlf": true}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  printf 'data: %s\r\n\r\ndata: %s\r\n\r\ndata: [DONE]\r\n\r\n' \
    "$(chunk a)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream cr uses bare CR line ends" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "cr": true}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  printf 'data: %s\r\rdata: %s\r\rdata: [DONE]\r\r' \
    "$(chunk a)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream bom starts the body with a UTF-8 BOM" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "bom": true}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  printf '\xef\xbb\xbfdata: %s\n\ndata: %s\n\ndata: [DONE]\n\n' \
    "$(chunk a)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream comments put a keep-alive comment before every event" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "comments": true}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  printf ': keep-alive\n\ndata: %s\n\n: keep-alive\n\ndata: %s\n\n: keep-alive\n\ndata: [DONE]\n\n' \
    "$(chunk a)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream no_done ends the stream cleanly without DONE" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "no_done": true}}]'
  run chat "$(fake_copilot_token)" "$STREAM_REQ"
  assert_success
  assert_output 200
  printf 'data: %s\n\ndata: %s\n\n' "$(chunk a)" "$(finish_chunk)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream error_after sends an error event after N chunks and stops" {
  fake_script chat '[{"stream": {"chunks": ["a", "b", "c"], "no_empty_first": true, "error_after": 2,
                                  "error_message": "quota gone", "error_code": "quota_exceeded"}}]'
  run chat "$(fake_copilot_token)" "$STREAM_REQ"
  assert_output 200
  printf 'data: %s\n\ndata: %s\n\ndata: {"error":{"message":"quota gone","code":"quota_exceeded"}}\n\n' \
    "$(chunk a)" "$(chunk b)" >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream finish_reason changes the final chunk" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "finish_reason": "length"}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  printf 'data: %s\n\ndata: %s\n\ndata: [DONE]\n\n' "$(chunk a)" "$(finish_chunk length)" \
    >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
}

@test "stream split writes the same bytes in HTTP chunks of that size" {
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "split": 50}}]'
  tok="$(fake_copilot_token)"
  chat "$tok" "$STREAM_REQ"
  printf 'data: %s\n\ndata: %s\n\ndata: [DONE]\n\n' "$(chunk a)" "$(finish_chunk)" \
    >"$BATS_TEST_TMPDIR/expected"
  normalise "$B" >"$BATS_TEST_TMPDIR/got"
  run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  assert_success
  # the raw chunked framing shows pieces of at most 50 (0x32) bytes
  fake_script chat '[{"stream": {"chunks": ["a"], "no_empty_first": true, "no_usage": true, "split": 50}}]'
  chat "$tok" "$STREAM_REQ" --raw
  run python3 - "$B" <<'EOF2'
import sys
raw, sizes, pos = open(sys.argv[1], "rb").read(), [], 0
while True:
    eol = raw.index(b"\r\n", pos)
    n = int(raw[pos:eol], 16)
    sizes.append(n)
    pos = eol + 2 + n + 2
    if n == 0:
        break
print(max(sizes), len(sizes) >= 6, sizes.count(50) >= 4, pos == len(raw))
EOF2
  assert_output '50 True True True'
}

@test "one_write sends a stream's head and whole body in one write" {
  fake_script chat '[{"stream": {"chunks": ["a", "b", "c"]}, "one_write": true}]'
  tok="$(fake_copilot_token)"
  # The first read that finds anything finds it all: the head, every
  # event and the last chunk (written separately, the head comes alone).
  run python3 - "${FAKE_URL#http://}" "$tok" "$STREAM_REQ" <<'EOF2'
import select, socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)))
body = sys.argv[3].encode()
s.sendall(b"POST /chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() +
          b"\r\nEditor-Version: vscode/1.104.3\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
select.select([s], [], [], 10)
first = s.recv(1 << 20)
print(first.startswith(b"HTTP/1.1 200"), b"data: [DONE]" in first, first.endswith(b"\r\n0\r\n\r\n"))
EOF2
  assert_output 'True True True'
  run fake_ctl POST /_control/script '{"route": "chat", "responses": [{"one_write": true, "split": 5}]}'
  assert_failure
  assert_output --partial 'one_write goes without drip, split and cut'
}

@test "stream repeat_chunk with count sends that many identical deltas" {
  fake_script chat '[{"stream": {"repeat_chunk": "xyz", "count": 5000, "no_empty_first": true, "no_usage": true}}]'
  chat "$(fake_copilot_token)" "$STREAM_REQ"
  run grep -c '"delta":{"content":"xyz"}' "$B"
  assert_output 5000
  one=$(( $(chunk xyz | wc -c) + 8 ))
  fin=$(( $(finish_chunk | wc -c) + 8 ))
  total=$(( 5000 * one + fin + 14 ))
  assert_equal "$(normalise "$B" | wc -c)" "$total"
}

@test "a non-stream chat joins scripted stream chunks into the message" {
  fake_script chat '[{"stream": {"chunks": ["Hel", "lo"]}}]'
  chat "$(fake_copilot_token)" "$PLAIN_REQ"
  assert_equal "$(json_get "$B" '["choices"][0]["message"]["content"]')" Hello
}

@test "a string body on a stream request is sent raw as text/event-stream" {
  fake_script chat '[{"body": "data: {not json}\n\n"}]'
  run chat "$(fake_copilot_token)" "$STREAM_REQ"
  assert_output 200
  assert_equal "$(header Content-Type)" text/event-stream
  assert_equal "$(cat "$B")" 'data: {not json}'
}

# ---------------------------------------------------------------- the control API

@test "GET /_control/ping answers ok and the port" {
  run fake_ctl GET /_control/ping
  assert_output "{\"ok\":true,\"port\":$FAKE_PORT}"
}

@test "reset clears the log, scripts, config and issued tokens" {
  fake_config '{"user": "hubot"}'
  fake_script user '[{"status": 500}]'
  dc="$(device_code | json_get - '["device_code"]')"
  poll "$dc"
  fake_reset
  assert_equal "$(fake_count device_code)" 0
  run req -H 'Authorization: token ghu_fake_1' "$FAKE_URL/api/user"
  assert_output 401
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  assert_output 200
  assert_equal "$(json_get "$B" '["login"]')" octocat
}

@test "GET /_control/config answers the config that POST merged into" {
  run fake_ctl POST /_control/config '{"user": "hubot", "interval": 2}'
  assert_success
  assert_equal "$(json_get - '["user"]' <<<"$output")" hubot
  json="$(fake_ctl GET /_control/config)"
  assert_equal "$(json_get - '["user"]' <<<"$json")" hubot
  assert_equal "$(json_get - '["interval"]' <<<"$json")" 2
  assert_equal "$(json_get - '["approval"]' <<<"$json")" auto
  assert_equal "$(json_get - '["github_tokens"]' <<<"$json")" '["ghu_fake_valid"]'
}

@test "DELETE /_control/script empties every queue" {
  fake_script user '[{"status": 500, "repeat": -1}]'
  fake_script copilot_token '[{"status": 502}]'
  run fake_ctl DELETE /_control/script
  assert_output '{"ok":true}'
  assert_equal "$(fake_state | json_get - '["scripts"]')" '{}'
  run req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  assert_output 200
  run exchange ghu_fake_valid
  assert_output 200
}

@test "state shows config, pending device codes, issued tokens and queued scripts" {
  fake_config '{"approval": "manual"}'
  fake_script chat '[{"status": 500, "repeat": 3}]'
  dc="$(device_code | json_get - '["device_code"]')"
  fake_copilot_token 60 >/dev/null
  json="$(fake_state)"
  assert_equal "$(json_get - '["config"]["approval"]' <<<"$json")" manual
  assert_equal "$(json_get - "[\"device_codes\"][\"$dc\"][\"status\"]" <<<"$json")" pending
  assert_equal "$(json_get - '["scripts"]["chat"][0]["remaining"]' <<<"$json")" 3
  run python3 -c 'import json,sys; d=json.load(sys.stdin)["copilot_tokens"]; print(len(d), [v["expired"] for v in d.values()])' <<<"$json"
  assert_output '1 [False]'
}

@test "mint issues a usable Copilot token with the requested ttl" {
  before="$(date +%s)"
  json="$(fake_mint '{"ttl": 300}')"
  exp="$(json_get - '["expires_at"]' <<<"$json")"
  (( exp >= before + 300 && exp <= before + 302 ))
  run chat "$(json_get - '["token"]' <<<"$json")" "$PLAIN_REQ"
  assert_output 200
  assert_equal "$(fake_count copilot_token)" 0
}

@test "POST /_control/expire expires issued Copilot tokens, one or all" {
  tok1="$(fake_copilot_token)"
  tok2="$(fake_copilot_token)"
  run fake_ctl POST /_control/expire "{\"copilot_token\": \"$tok1\"}"
  assert_output '{"expired":1}'
  run chat "$tok1" "$PLAIN_REQ"
  assert_output 401
  assert_equal "$(cat "$B")" 'unauthorized: token expired'
  run chat "$tok2" "$PLAIN_REQ"
  assert_output 200
  run fake_ctl POST /_control/expire '{}'
  assert_output '{"expired":2}'
  run chat "$tok2" "$PLAIN_REQ"
  assert_output 401
  run fake_ctl POST /_control/expire '{"copilot_token": "tid=nope"}'
  assert_failure
  assert_output --partial 'no such copilot token'
}

@test "POST /_control/revoke makes a GitHub token 401" {
  fake_config '{"no_copilot_tokens": ["ghu_fake_nocop"]}'
  run fake_ctl POST /_control/revoke '{"github_token": "ghu_fake_valid"}'
  assert_output '{"revoked":"ghu_fake_valid"}'
  run exchange ghu_fake_valid
  assert_output 401
  run fake_ctl POST /_control/revoke '{"github_token": "ghu_fake_nocop"}'
  assert_success
  run req -H 'Authorization: token ghu_fake_nocop' "$FAKE_URL/api/user"
  assert_output 401
  run fake_ctl POST /_control/revoke '{"github_token": "ghu_fake_valid"}'
  assert_failure
  assert_output --partial 'no such github token'
}

@test "bad control input is refused with 400 and a reason" {
  run curl -sS --noproxy '*' -w '\n%{http_code}' -X POST -d '{"intervall": 1}' "$FAKE_URL/_control/config"
  assert_line -n 1 400
  assert_line -n 0 --partial "unknown config key 'intervall'"
  run curl -sS --noproxy '*' -w '\n%{http_code}' -X POST \
    -d '{"route": "chat", "responses": [{"stauts": 500}]}' "$FAKE_URL/_control/script"
  assert_line -n 1 400
  assert_line -n 0 --partial 'unknown response field(s): stauts'
  run curl -sS --noproxy '*' -w '\n%{http_code}' -X POST \
    -d '{"route": "chats", "responses": []}' "$FAKE_URL/_control/script"
  assert_line -n 1 400
  run curl -sS --noproxy '*' -w '\n%{http_code}' -X POST -d '{"approval": "maybe"}' "$FAKE_URL/_control/config"
  assert_line -n 1 400
}

# ---------------------------------------------------------------- the request log

@test "the log records seq, method, path, query, lowercase headers, body, route, time, status, script and peer port" {
  before="$(date +%s)"
  fake_script device_code '[{"status": 201}]'
  req -X POST -H 'X-Request-Id: 1234' -H 'Accept: application/json' -d 'client_id=c&scope=s' \
    "$FAKE_URL/login/device/code?foo=bar"
  req -H 'Authorization: token ghu_fake_valid' "$FAKE_URL/api/user"
  json="$(fake_log)"
  e='["requests"][0]'
  assert_equal "$(json_get - "${e}[\"seq\"]" <<<"$json")" 1
  assert_equal "$(json_get - "${e}[\"method\"]" <<<"$json")" POST
  assert_equal "$(json_get - "${e}[\"path\"]" <<<"$json")" /login/device/code
  assert_equal "$(json_get - "${e}[\"query\"]" <<<"$json")" foo=bar
  assert_equal "$(json_get - "${e}[\"headers\"][\"x-request-id\"]" <<<"$json")" 1234
  assert_equal "$(json_get - "${e}[\"body\"]" <<<"$json")" 'client_id=c&scope=s'
  assert_equal "$(json_get - "${e}[\"route\"]" <<<"$json")" device_code
  assert_equal "$(json_get - "${e}[\"status\"]" <<<"$json")" 201
  assert_equal "$(json_get - "${e}[\"script\"]" <<<"$json")" '{"status":201}'
  t="$(json_get - "${e}[\"time\"]" <<<"$json")"
  (( ${t%.*} >= before ))
  assert_regex "$(json_get - "${e}[\"peer_port\"]" <<<"$json")" '^[0-9]+$'
  e='["requests"][1]'
  assert_equal "$(json_get - "${e}[\"seq\"]" <<<"$json")" 2
  assert_equal "$(json_get - "${e}[\"script\"]" <<<"$json")" null
  assert_equal "$(json_get - "${e}[\"query\"]" <<<"$json")" ''
  assert_equal "$(json_get - '["count"]' <<<"$json")" 2
}

@test "the log filters by route and DELETE clears it" {
  req "$FAKE_URL/api/user"
  req "$FAKE_URL/models"
  req "$FAKE_URL/models"
  assert_equal "$(fake_count models)" 2
  assert_equal "$(fake_count user)" 1
  assert_equal "$(fake_log | json_get - '["count"]')" 3
  fake_ctl DELETE /_control/log
  assert_equal "$(fake_log | json_get - '["count"]')" 0
}

@test "control requests are not logged" {
  fake_state >/dev/null
  fake_config '{}' >/dev/null
  assert_equal "$(fake_log | json_get - '["count"]')" 0
}

# ---------------------------------------------------------------- the harness (tests/helpers/common.bash)

@test "common_setup isolates HOME and XDG dirs and clears token variables" {
  assert_equal "$HOME" "$BATS_TEST_TMPDIR/home"
  assert_dir_exists "$HOME"
  for v in XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_RUNTIME_DIR; do
    assert_regex "${!v}" "^$BATS_TEST_TMPDIR/"
    assert_dir_exists "${!v}"
  done
  for v in GITHUB_COPILOT_TOKEN GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_MODEL GH_TOKEN GITHUB_TOKEN; do
    assert_equal "${!v-unset}" unset
  done
  assert_equal "$COPILOT_GITHUB_URL" "$FAKE_URL"
  assert_equal "$COPILOT_GITHUB_API_URL" "$FAKE_URL/api"
  assert_equal "$COPILOT_API_URL" "$FAKE_URL"
  assert_equal "$NO_COLOR" 1
  assert_equal "${PATH%%:*}" "${COPILOT_UTILS_BIN:-$REPO/bin}"
  assert_file_exists "$REPO/tests/fake-github/server.py"
}

@test "json_get prints strings raw, other values as JSON, and fails on a missing key" {
  for impl in jq python; do
    export JSON_GET_IMPL=$impl
    run json_get - '["a"][1]["b"]' <<<'{"a": [0, {"b": "x y"}]}'
    assert_output 'x y'
    run json_get - '["a"]' <<<'{"a": {"b": [1, true, null]}, "c": 2}'
    assert_output '{"b":[1,true,null]}'
    run json_get - '["a"]["b"][-1]' <<<'{"a": {"b": [1, true, null]}}'
    assert_output 'null'
    run json_get - <<<'[1]'
    assert_output '[1]'
    printf '%s\n' '{"k&\\": "v"}' >"$BATS_TEST_TMPDIR/j.json"
    run json_get "$BATS_TEST_TMPDIR/j.json" '["k&\\"]'
    assert_output v
    run json_get - '["nope"]' <<<'{"a": 1}'
    assert_failure
    assert_output --partial 'not found'
    run json_get - '["a"][5]' <<<'{"a": [1]}'
    assert_failure
  done
}

@test "fake_token_json and fake_auth_json print the ARCHITECTURE.md documents" {
  json="$(fake_token_json 100)"
  assert_equal "$(json_get - '["host"]' <<<"$json")" github.com
  assert_equal "$(json_get - '["api_url"]' <<<"$json")" "$FAKE_URL"
  run chat "$(json_get - '["token"]' <<<"$json")" "$PLAIN_REQ"
  assert_output 200
  json="$(fake_auth_json)"
  assert_equal "$(json_get - '["oauth_token"]' <<<"$json")" ghu_fake_valid
  run exchange "$(json_get - '["oauth_token"]' <<<"$json")"
  assert_output 200
}

# ---------------------------------------------------------------- Responses, Messages, quota

# post PATH JSON [curl args]: a Copilot POST with a fresh token; status printed, body in $B
post() {
  local path="$1" json="$2"
  shift 2
  [[ -n "${TOK:-}" ]] || TOK="$(fake_copilot_token)"
  req -H "Authorization: Bearer $TOK" -H "Editor-Version: $EV" \
    -H 'Content-Type: application/json' --data-binary "$json" "$@" "$FAKE_URL$path"
}

# events: the "type" of each data line of the SSE body in $B, one line
events() { sed -n 's/^data: //p' "$B" | jq -r .type | paste -sd' '; }

@test "POST /responses answers a response object with output_text and usage" {
  TOK=
  for p in /responses /v1/responses; do
    run post "$p" '{"model":"gpt-5-codex","input":"hello there","instructions":"be brief","max_output_tokens":64}'
    assert_output 200
  done
  assert_equal "$(jq -c '[.id, .object, .status, .model, .instructions, .max_output_tokens]' "$B")" \
    '["resp_fake2","response","completed","gpt-5-codex","be brief",64]'
  assert_equal "$(jq -c .output "$B")" \
    '[{"id":"msg_fake2_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"You said: hello there"}]}]'
  assert_equal "$(jq -c .usage "$B")" \
    '{"input_tokens":4,"input_tokens_details":{"cached_tokens":0},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":8}'
  # an item list: the last user message is echoed; gpt-5-mini takes /responses too
  run post /responses '{"model":"gpt-5-mini","input":[{"role":"developer","content":"x"},{"type":"message","role":"user","content":[{"type":"input_text","text":"one"},{"type":"input_image","image_url":"data:image/png;base64,AA=="}]}]}'
  assert_output 200
  assert_equal "$(jq -r '.output[0].content[0].text' "$B")" "You said: one"
  assert_equal "$(fake_count responses)" 3
}

@test "a streamed /responses sends the real event sequence with sequence numbers" {
  run post /responses '{"model":"gpt-5-codex","input":"hi there you","stream":true}'
  assert_output 200
  [[ "$(header Content-Type)" == text/event-stream* ]]
  assert_equal "$(events)" "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed"
  assert_equal "$(grep '^event: ' "$B" | cut -c8- | paste -sd' ')" "$(events)"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r .sequence_number | paste -sd' ')" "0 1 2 3 4 5 6 7 8 9 10"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.type == "response.output_text.delta") | .delta' | paste -sd'|')" "You said: |hi there |you"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "response.created") | .response | [.status, .output, .usage]')" '["in_progress",[],null]'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "response.completed") | .response | [.status, .output[0].content[0].text, .usage.output_tokens]')" '["completed","You said: hi there you",5]'
  run grep -c '\[DONE\]' "$B"
  assert_output 0
}

@test "/responses gives reasoning items and summary events when reasoning is asked" {
  run post /responses '{"model":"gpt-5-mini","input":"hi","reasoning":{"effort":"low","summary":"auto"},"include":["reasoning.encrypted_content"]}'
  assert_output 200
  assert_equal "$(jq -c '.output[0]' "$B")" '{"id":"rs_fake1_0","type":"reasoning","summary":[{"type":"summary_text","text":"Thinking about how to answer."}],"encrypted_content":"fake-encrypted-rs_fake1_0"}'
  assert_equal "$(jq -c '[.output[1].type, .usage.output_tokens_details.reasoning_tokens, .reasoning]' "$B")" '["message",5,{"effort":"low","summary":"auto"}]'
  # effort alone: a reasoning item without summary
  run post /responses '{"model":"gpt-5-mini","input":"hi","reasoning":{"effort":"high"},"stream":true}'
  assert_equal "$(events)" "response.created response.in_progress response.output_item.added response.output_item.done response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed"
  run post /responses '{"model":"gpt-5-mini","input":"hi","reasoning":{"summary":"detailed"},"stream":true}'
  [[ "$(events)" == "response.created response.in_progress response.output_item.added response.reasoning_summary_part.added response.reasoning_summary_text.delta response.reasoning_summary_text.delta response.reasoning_summary_text.delta response.reasoning_summary_text.done response.reasoning_summary_part.done response.output_item.done response.output_item.added "* ]]
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.type == "response.reasoning_summary_text.delta") | .delta' | paste -sd'|')" "Thinking a|bout how t|o answer."
}

@test "a scripted function call on /responses, streamed and not, and its output accepted back" {
  fake_script responses '[{"stream": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}, "repeat": 2}]'
  local tools='"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]'
  run post /responses '{"model":"gpt-5-codex","input":"weather?",'"$tools"'}'
  assert_output 200
  assert_equal "$(jq -c .output "$B")" '[{"id":"fc_fake1_0","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_fake1_0","name":"get_weather"}]'
  run post /responses '{"model":"gpt-5-codex","input":"weather?","stream":true,'"$tools"'}'
  assert_equal "$(events)" "response.created response.in_progress response.output_item.added response.function_call_arguments.delta response.function_call_arguments.delta response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done response.completed"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.type == "response.function_call_arguments.delta") | .delta' | paste -sd '')" '{"city":"Paris"}'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "response.output_item.added") | .item')" '{"id":"fc_fake2_0","type":"function_call","status":"in_progress","arguments":"","call_id":"call_fake2_0","name":"get_weather"}'
  # the round trip: call -> output -> the final answer
  run post /responses '{"model":"gpt-5-codex",'"$tools"',"input":[{"role":"user","content":"weather?"},{"type":"function_call","call_id":"call_fake2_0","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_fake2_0","output":"sunny"}]}'
  assert_output 200
  assert_equal "$(jq -r '.output[0].content[0].text' "$B")" "You said: weather?"
  # text and a call together, with the scripted id
  fake_script responses '[{"stream": {"chunks": ["Let me look."], "tool_calls": [{"id": "call_X", "name": "f", "arguments": "{}"}]}}]'
  run post /responses '{"model":"gpt-5-codex","input":"x"}'
  assert_equal "$(jq -c '[.output[] | .type] + [.output[1].call_id]' "$B")" '["message","function_call","call_X"]'
}

@test "/responses refuses what the real one refuses" {
  r() { # r JSON CODE TEXT
    run post /responses "$1"
    assert_output 400
    assert_equal "$(jq -r .error.code "$B")" "$2"
    [[ "$(jq -r .error.message "$B")" == *"$3"* ]] || { cat "$B"; return 1; }
  }
  r '{"input":"x"}' missing_required_parameter "Missing required parameter: 'model'."
  r '{"model":"gpt-99","input":"x"}' model_not_supported "The requested model is not supported."
  r '{"model":"gpt-4o","input":"x"}' unsupported_api_for_model "model gpt-4o is not supported via Responses API."
  r '{"model":"claude-sonnet-4.5","input":"x"}' unsupported_api_for_model "not supported via Responses API"
  r '{"model":"gpt-5-codex"}' missing_required_parameter "Missing required parameter: 'input'."
  r '{"model":"gpt-5-codex","input":{"a":1}}' invalid_type "Invalid type for 'input'"
  r '{"model":"gpt-5-codex","input":"x","service_tier":"auto"}' unsupported_parameter "Unsupported parameter: 'service_tier'."
  r '{"model":"gpt-5-codex","input":"x","messages":[]}' unknown_parameter "Unknown parameter: 'messages'."
  r '{"model":"gpt-5-codex","input":[{"role":"tool","content":"x"}]}' invalid_value "Invalid value: 'tool'"
  r '{"model":"gpt-5-codex","input":[{"role":"user","content":[{"type":"text","text":"x"}]}]}' invalid_value "Invalid value: 'text'"
  r '{"model":"gpt-5-codex","input":[{"type":"function_call_output","call_id":"call_1","output":"x"}]}' bad_request "No tool call found for function call output with call_id call_1."
  r '{"model":"gpt-5-codex","input":"x","tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}' missing_required_parameter "Missing required parameter: 'tools[0].name'."
  r '{"model":"gpt-5-codex","input":"x","tools":[{"type":"web_search"}]}' invalid_value "Invalid value: 'web_search'"
  r '{"model":"gpt-5-codex","input":"x","tool_choice":"any"}' invalid_value "Invalid value: 'any'"
  r '{"model":"gpt-5-codex","input":"x","max_output_tokens":5}' integer_below_min_value "Expected a value >= 16, but got 5 instead."
  r '{"model":"gpt-5-codex","input":"x","reasoning":{"effort":"extreme"}}' invalid_value "Invalid value: 'extreme'"
  fake_config '{"models": [{"id":"plain","object":"model","capabilities":{"type":"chat","supports":{}},"supported_endpoints":["/responses"]}]}'
  r '{"model":"plain","input":"x","reasoning":{"effort":"low"}}' unsupported_parameter "'reasoning.effort' is not supported with this model."
  fake_config '{"models": []}'
  r '{"model":"gpt-5-codex","input":"x"}' model_not_supported "not supported"
  fake_ctl POST /_control/reset >/dev/null
  TOK=
  r '{"model":"gpt-5-codex","input":"x","stream":"yes"}' invalid_type "Invalid type for 'stream'"
  r '{"model":"gpt-5-codex","input":"x","previous_response_id":"resp_1"}' previous_response_not_found "Previous response with id 'resp_1' not found."
  r '{"model":"gpt-5-codex","input":"x","background":true}' unsupported_parameter "'background'"
  assert_equal "$(jq -c '.error | [.param, .type]' "$B")" '["background","invalid_request_error"]'
  run post /responses 'not json'
  assert_output 400
  assert_equal "$(jq -r .error.code "$B")" bad_request
}

@test "scripted faults on /responses: response.failed, an error event, a cut, a bare status" {
  fake_script responses '[{"stream": {"chunks": ["a", "b", "c"], "error_after": 2, "error_code": "rate_limited", "error_message": "slow down"}},
    {"stream": {"chunks": ["a", "b"], "error_after": 1, "error_event": "error"}},
    {"cut": 40}, {"status": 429, "retry_after": 2}, {"body": "event: response.created\ndata: {broken\n\n"}]'
  local s='{"model":"gpt-5-codex","input":"x","stream":true}'
  run post /responses "$s"
  assert_equal "$(events)" "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.failed"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "response.failed") | [.sequence_number, .response.status, .response.error]')" '[6,"failed",{"code":"rate_limited","message":"slow down"}]'
  run post /responses "$s"
  assert_equal "$(sed -n 's/^data: //p' "$B" | tail -n1)" '{"type":"error","sequence_number":5,"code":"server_error","message":"fake mid-stream error","param":null}'
  assert_equal "$(grep '^event: ' "$B" | tail -n1 | tr -d '\r')" "event: error"
  run post /responses "$s"
  assert_output --partial "curl: (18)"
  run post /responses "$s"
  assert_output 429
  assert_equal "$(cat "$B")" '{"error":{"message":"Too Many Requests","code":"rate_limited"}}'
  assert_equal "$(header Retry-After)" 2
  run post /responses "$s"
  assert_output 200
  [[ "$(header Content-Type)" == text/event-stream* ]]
  # finish_reason length: incomplete
  fake_script responses '[{"stream": {"finish_reason": "length"}}]'
  run post /responses '{"model":"gpt-5-codex","input":"x"}'
  assert_equal "$(jq -c '[.status, .incomplete_details]' "$B")" '["incomplete",{"reason":"max_output_tokens"}]'
}

@test "POST /v1/messages answers an Anthropic message, streamed and not" {
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi there"}]}' -H 'anthropic-version: 2023-06-01'
  assert_output 200
  assert_equal "$(cat "$B")" '{"id":"msg_fake1","type":"message","role":"assistant","model":"claude-sonnet-4.5","content":[{"type":"text","text":"You said: hi there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4,"service_tier":"standard"}}'
  run post '/v1/messages?beta=true' '{"model":"claude-sonnet-4","max_tokens":100,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}]}'
  assert_output 200
  [[ "$(header Content-Type)" == text/event-stream* ]]
  assert_equal "$(events)" "message_start content_block_start ping content_block_delta content_block_delta content_block_stop message_delta message_stop"
  assert_equal "$(grep '^event: ' "$B" | cut -c8- | paste -sd' ')" "$(events)"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "content_block_delta") | .delta')" "$(printf '%s\n' '{"type":"text_delta","text":"You said: "}' '{"type":"text_delta","text":"hi there"}')"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "message_start") | .message | [.id, .content, .stop_reason, .usage.output_tokens]')" '["msg_fake2",[],null,1]'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "message_delta")')" '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}'
  assert_equal "$(fake_last messages '["query"]')" "beta=true"
}

@test "/v1/messages: thinking blocks, scripted tool_use streamed and not, the tool_result round trip" {
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}'
  assert_equal "$(jq -c '.content[0]' "$B")" '{"type":"thinking","thinking":"Thinking about how to answer.","signature":"fake-signature"}'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":2048,"stream":true,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"hi"}]}'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.index == 0 and .type == "content_block_delta") | .delta.type' | paste -sd' ')" "thinking_delta thinking_delta thinking_delta signature_delta"
  fake_script messages '[{"stream": {"tool_calls": [{"name": "Bash", "arguments": {"command": "ls"}}]}, "repeat": 2}]'
  local tools='"tools":[{"name":"Bash","description":"run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}]'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":100,'"$tools"',"messages":[{"role":"user","content":"list"}]}'
  assert_equal "$(jq -c '[.content, .stop_reason]' "$B")" '[[{"type":"tool_use","id":"toolu_fake3_0","name":"Bash","input":{"command":"ls"}}],"tool_use"]'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":100,"stream":true,'"$tools"',"messages":[{"role":"user","content":"list"}]}'
  assert_equal "$(events)" "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -c 'select(.type == "content_block_start") | .content_block')" '{"type":"tool_use","id":"toolu_fake4_0","name":"Bash","input":{}}'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.type == "content_block_delta") | .delta | select(.type == "input_json_delta") | .partial_json' | paste -sd '')" '{"command":"ls"}'
  assert_equal "$(sed -n 's/^data: //p' "$B" | jq -r 'select(.type == "message_delta") | .delta.stop_reason')" tool_use
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":100,'"$tools"',"messages":[{"role":"user","content":"list"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_fake4_0","name":"Bash","input":{"command":"ls"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_fake4_0","content":[{"type":"text","text":"a.txt"}],"is_error":false}]}]}'
  assert_output 200
  assert_equal "$(jq -c '[.content[0].type, .stop_reason]' "$B")" '["text","end_turn"]'
  fake_script messages '[{"stream": {"cached_tokens": 7, "finish_reason": "length"}}]'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":100,"messages":[{"role":"user","content":"x"}]}'
  assert_equal "$(jq -c '[.usage.cache_read_input_tokens, .stop_reason]' "$B")" '[7,"max_tokens"]'
}

@test "/v1/messages refuses in Anthropic's shape what Anthropic refuses; other models get unsupported_api_for_model" {
  r() { # r JSON TEXT [curl args]
    local json="$1" text="$2"
    shift 2
    run post /v1/messages "$json" "$@"
    assert_output 400
    assert_equal "$(jq -c '[.type, .error.type]' "$B")" '["error","invalid_request_error"]'
    [[ "$(jq -r .error.message "$B")" == *"$text"* ]] || { cat "$B"; return 1; }
  }
  local u='"messages":[{"role":"user","content":"x"}]'
  r '{"model":"claude-sonnet-4.5",'"$u"'}' "max_tokens: Field required"
  r '{"model":"claude-sonnet-4.5","max_tokens":0,'"$u"'}' "max_tokens"
  r '{"model":"claude-sonnet-4.5","max_tokens":10}' "messages: Field required"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[]}' "messages"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"system","content":"x"}]}' 'Unexpected role "system"'
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"tool","content":"x"}]}' "messages.0.role: Input should be 'user' or 'assistant'"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}' "messages.0.content.0.type"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"',"context_management":{}}' "context_management: Extra inputs are not permitted"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"',"tools":[{"name":"f","parameters":{"type":"object"}}]}' "tools.0.custom.input_schema: Field required"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"',"tool_choice":{"type":"required"}}' "tool_choice"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"',"tool_choice":{"type":"tool","name":"f"}}' "tool 'f' not found"
  r '{"model":"claude-sonnet-4.5","max_tokens":2000,'"$u"',"thinking":{"type":"enabled","budget_tokens":100}}' "budget_tokens"
  r '{"model":"claude-sonnet-4.5","max_tokens":1500,'"$u"',"thinking":{"type":"enabled","budget_tokens":2000}}' "must be greater than"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"',"temperature":1.5}' "temperature"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"no result"}]}' '`tool_use` ids were found without `tool_result` blocks immediately after: t1.'
  r '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t9","content":"x"}]}]}' 'unexpected `tool_use_id` found in `tool_result` blocks: t9.'
  r 'not json' "There was an error parsing the body of your request."
  fake_config '{"require_anthropic_version": true, "anthropic_betas": ["interleaved-thinking-2025-05-14"]}'
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"'}' "anthropic-version: header is required"
  r '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"'}' 'Unexpected value(s) `context-1m-2025-08-07` for the `anthropic-beta` header.' \
    -H 'anthropic-version: 2023-06-01' -H 'anthropic-beta: interleaved-thinking-2025-05-14,context-1m-2025-08-07'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":10,'"$u"'}' -H 'anthropic-version: 2023-06-01' -H 'anthropic-beta: interleaved-thinking-2025-05-14'
  assert_output 200
  # the endpoint check is Copilot's, in Copilot's shape
  run post /v1/messages '{"model":"claude-3.5-sonnet","max_tokens":10,'"$u"'}'
  assert_output 400
  assert_equal "$(cat "$B")" '{"error":{"message":"model claude-3.5-sonnet is not supported via Messages API.","code":"unsupported_api_for_model","param":"model","type":"invalid_request_error"}}'
  run post /v1/messages '{"model":"gpt-5-codex","max_tokens":10,'"$u"'}'
  assert_equal "$(jq -r .error.code "$B")" unsupported_api_for_model
  run post /v1/messages '{"model":"claude-opus-9","max_tokens":10,'"$u"'}'
  assert_equal "$(jq -r .error.code "$B")" model_not_supported
}

@test "scripted faults on /v1/messages: Anthropic-shaped statuses, an error event mid-stream, a cut" {
  local u='{"model":"claude-sonnet-4.5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"a b c d e f"}]}'
  fake_script messages '[{"status": 529}, {"status": 429, "retry_after": 5}, {"status": 401}, {"stream": {"error_after": 1}}, {"cut": 30}]'
  run post /v1/messages "$u"
  assert_output 529
  assert_equal "$(cat "$B")" '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
  run post /v1/messages "$u"
  assert_output 429
  assert_equal "$(jq -r .error.type "$B")" rate_limit_error
  assert_equal "$(header Retry-After)" 5
  run post /v1/messages "$u"
  assert_equal "$(jq -r .error.type "$B")" authentication_error
  run post /v1/messages "$u"
  assert_output 200
  assert_equal "$(events)" "message_start content_block_start ping content_block_delta error"
  assert_equal "$(sed -n 's/^data: //p' "$B" | tail -n1)" '{"type":"error","error":{"type":"overloaded_error","message":"fake mid-stream error"}}'
  run post /v1/messages "$u"
  assert_output --partial "curl: (18)"
  # a wrong method answers in the route's style too
  run req -X GET -H "Authorization: Bearer $TOK" -H "Editor-Version: $EV" "$FAKE_URL/v1/messages"
  assert_output 405
  assert_equal "$(jq -r .type "$B")" error
}

@test "the log records endpoint, model, X-Initiator, Copilot-Vision-Request and the anthropic headers" {
  run post /responses '{"model":"gpt-5-codex","input":"x"}' -H 'X-Initiator: agent' -H 'Copilot-Vision-Request: true'
  run post /v1/messages '{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":"x"}]}' \
    -H 'anthropic-version: 2023-06-01' -H 'anthropic-beta: a-1' -H 'anthropic-beta: b-2'
  run chat "$TOK" "$PLAIN_REQ"
  pick='{endpoint, model, initiator, vision, anthropic_version, anthropic_beta}'
  assert_equal "$(fake_log responses | jq -c ".requests[0] | $pick")" '{"endpoint":"/responses","model":"gpt-5-codex","initiator":"agent","vision":"true","anthropic_version":null,"anthropic_beta":null}'
  assert_equal "$(fake_log messages | jq -c ".requests[0] | $pick")" '{"endpoint":"/v1/messages","model":"claude-sonnet-4.5","initiator":null,"vision":null,"anthropic_version":"2023-06-01","anthropic_beta":"a-1, b-2"}'
  assert_equal "$(fake_log chat | jq -c ".requests[0] | [.endpoint, .model]")" '["/chat/completions","gpt-4.1"]'
  assert_equal "$(fake_log copilot_token | jq -c ".requests[0] | $pick")" '{"endpoint":null,"model":null,"initiator":null,"vision":null,"anthropic_version":null,"anthropic_beta":null}'
}

@test "chat, responses and messages answers carry the quota headers" {
  for call in "/chat/completions $PLAIN_REQ" '/responses {"model":"gpt-5-mini","input":"x"}' \
    '/v1/messages {"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":"x"}]}'; do
    run post "${call%% *}" "${call#* }" -H 'X-Initiator: agent'
    assert_output 200
    assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=300&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-31T00%3A00%3A00Z'
    assert_equal "$(header x-quota-snapshot-premium_models)" 'ent=300&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-31T00%3A00%3A00Z'
    assert_equal "$(header x-quota-snapshot-chat)" 'ent=-1&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-31T00%3A00%3A00Z'
    assert_equal "$(header x-usage-ratelimit-session)" 'ent=0&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-01T06%3A00%3A00Z'
    assert_equal "$(header x-usage-ratelimit-weekly)" 'ent=0&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-07T00%3A00%3A00Z'
  done
  # streams too; refusals and scripted bodies do not
  run post /chat/completions "$STREAM_REQ"
  [[ -n "$(header x-quota-snapshot-chat)" ]]
  run post /responses '{"model":"gpt-4o","input":"x"}'
  assert_output 400
  assert_equal "$(header x-quota-snapshot-chat)" ""
  # scriptable: values, a malformed string, left out
  fake_config '{"quota_snapshots": {"premium_interactions": {"ent": 300, "rem": 87.5, "rst": "2026-12-31T00:00:00Z"}, "chat": "garbage;;", "premium_models": null},
                "ratelimits": {"weekly": {"rem": 5.7, "rst": "2026-12-07T00:00:00Z"}}}'
  run post /chat/completions "$PLAIN_REQ" -H 'X-Initiator: agent'
  assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=300&ov=0.0&ovPerm=false&rem=87.5&rst=2026-12-31T00%3A00%3A00Z'
  assert_equal "$(header x-quota-snapshot-chat)" 'garbage;;'
  assert_equal "$(header x-quota-snapshot-premium_models)" ''
  assert_equal "$(header x-usage-ratelimit-weekly)" 'ent=0&ov=0.0&ovPerm=false&rem=5.7&rst=2026-12-07T00%3A00%3A00Z'
  assert_equal "$(header x-usage-ratelimit-session)" ''
  run fake_ctl POST /_control/config '{"quota_snapshots": {"chat": {"rem": "lots"}}}'
  assert_failure
}

@test "user-initiated requests on premium models count against the premium quota; 402 when none is left" {
  fake_config '{"quota_snapshots": {"premium_interactions": {"ent": 2, "rem": 100.0, "rst": "2026-12-31T00:00:00Z"}}}'
  local m='{"model":"claude-sonnet-4.5","max_tokens":10,"messages":[{"role":"user","content":"x"}]}'
  # not premium, or agent-initiated: free
  run post /chat/completions "$PLAIN_REQ" -H 'X-Initiator: user'
  run post /v1/messages "$m" -H 'X-Initiator: agent'
  assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=2&ov=0.0&ovPerm=false&rem=100.0&rst=2026-12-31T00%3A00%3A00Z'
  assert_equal "$(fake_state | jq .premium_used)" 0
  run post /v1/messages "$m" -H 'X-Initiator: user'
  assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=2&ov=0.0&ovPerm=false&rem=50.0&rst=2026-12-31T00%3A00%3A00Z'
  run post /responses '{"model":"gpt-5-codex","input":"x"}'      # no X-Initiator: billed as the user's
  assert_output 200
  assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=2&ov=0.0&ovPerm=false&rem=0.0&rst=2026-12-31T00%3A00%3A00Z'
  assert_equal "$(fake_state | jq .premium_used)" 2
  run post /v1/messages "$m" -H 'X-Initiator: user'
  assert_output 402
  assert_equal "$(cat "$B")" '{"error":{"message":"You have no premium requests left this month.","code":"quota_exceeded"}}'
  run post /v1/messages "$m" -H 'X-Initiator: agent'
  assert_output 200
  # overage permitted: served, counted in ov
  fake_config '{"quota_snapshots": {"premium_interactions": {"ent": 2, "rem": 100.0, "ovPerm": true}}}'
  run post /chat/completions '{"model":"o3-mini","messages":[{"role":"user","content":"x"}]}'
  assert_output 200
  assert_equal "$(header x-quota-snapshot-premium_interactions)" 'ent=2&ov=0.33&ovPerm=true&rem=0.0&rst='
}

@test "scripted tool_calls and cached_tokens shape chat answers too" {
  fake_script chat '[{"stream": {"tool_calls": [{"name": "f", "arguments": {"a": 1}}], "cached_tokens": 3}, "repeat": 2}]'
  run post /chat/completions "$PLAIN_REQ"
  assert_equal "$(jq -c '.choices[0] | [.finish_reason, .message]' "$B")" '["tool_calls",{"role":"assistant","content":null,"tool_calls":[{"id":"call_fake1_0","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}]'
  assert_equal "$(jq -c .usage.prompt_tokens_details "$B")" '{"cached_tokens":3}'
  run post /chat/completions "$STREAM_REQ"
  assert_equal "$(sed -n 's/^data: //p' "$B" | grep -v DONE | jq -c 'select(.choices[0].delta.tool_calls) | .choices[0].delta.tool_calls[0]' | head -n2)" \
    "$(printf '%s\n' '{"index":0,"id":"call_fake2_0","type":"function","function":{"name":"f","arguments":""}}' '{"index":0,"function":{"arguments":"{\"a"}}')"
  assert_equal "$(sed -n 's/^data: //p' "$B" | grep -v DONE | jq -r 'select(.choices[0].finish_reason) | .choices[0].finish_reason')" tool_calls
  run fake_ctl POST /_control/script '{"route": "chat", "responses": [{"stream": {"tool_calls": [{"arguments": {}}]}}]}'
  assert_failure
}
