#!/usr/bin/env bats
# copilot-serve against the fake GitHub server: each route with and without
# /v1, streams relayed byte for byte, the token refreshed on schedule and on a
# 401, the device flow while nobody is logged in, client keys, limits,
# concurrent streams, clients that leave, upstreams that die, and draining on
# SIGTERM. Every test starts its own server on an ephemeral port and reads
# the port from its "listening on" line.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  serve_setup
  BG_PIDS=()
}

teardown() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  serve_teardown
}

# raw_head PATH: a HEAD request over a plain socket, so that nothing hides a
# body the server might send after the head. Prints the head (CRLFs as LFs,
# without the blank line) and then "body bytes: N", N being what came after
# the head before the server closed the connection.
raw_head() {
  python3 - "$SERVE_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(("HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
head, _, rest = got.partition(b"\r\n\r\n")
print(head.decode().replace("\r\n", "\n"))
print("body bytes: %d" % len(rest))
EOF
}

# The value of a response header from the last req.
header() { sed -n "s/^$1: *\\(.*\\)\\r\$/\\1/Ip" "$HDRS" | head -n1; }

# The text of an SSE chat stream on stdin: the content deltas joined.
stream_text() {
  python3 -c 'import json, sys
out = []
for line in sys.stdin.read().split("\n"):
    if line.startswith("data: ") and line != "data: [DONE]":
        for c in json.loads(line[6:]).get("choices", []):
            out.append(c.get("delta", {}).get("content") or "")
print("".join(out))'
}

# Whether a stream file ends with the [DONE] event.
ends_with_done() { tail -c 14 "$1" | cmp -s - <(printf 'data: [DONE]\n\n'); }

# Established TCP connections from the server process to the fake server.
upstream_connections() {
  python3 - "$SERVE_PID" "$FAKE_PORT" <<'EOF'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
n = 0
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if int(f[2].split(":")[1], 16) == port and f[3] == "01" and f[9] in inodes:
            n += 1
print(n)
EOF
}

# --- command line -------------------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
  run --separate-stderr copilot-serve --help
  assert_success
  assert_output --partial "usage: copilot-serve"
  assert_output --partial "--api-key-file FILE"
  assert_equal "$stderr" ""
}

@test "--version prints the version" {
  run --separate-stderr copilot-serve --version
  assert_success
  assert_output --regexp '^copilot-serve [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "a malformed --listen is a usage error" {
  run --separate-stderr -64 copilot-serve --listen 4141
  assert_output ""
  [[ "$stderr" == *"--listen 4141: expected ADDR:PORT"* ]]
}

@test "a non-loopback --listen without --api-key-file is refused" {
  run --separate-stderr -64 copilot-serve --listen 0.0.0.0:0
  [[ "$stderr" == *"not a loopback address"*"--api-key-file"* ]]
}

@test "without a login and with --no-login it exits 66" {
  unset GITHUB_COPILOT_TOKEN
  run --separate-stderr -66 copilot-serve --listen 127.0.0.1:0 --no-login
  [[ "$stderr" == *"not logged in to github.com"* ]]
  assert_equal "$(fake_count device_code)" "0"
}

@test "a revoked GitHub token fails at startup with 77" {
  export GITHUB_COPILOT_TOKEN=ghu_fake_revoked
  run --separate-stderr -77 copilot-serve --listen 127.0.0.1:0
  [[ "$stderr" == *"GitHub token is invalid or revoked"* ]]
  [[ "$stderr" != *ghu_fake_revoked* ]]
}

@test "a port in use is reported with exit 69" {
  serve_start
  run --separate-stderr -69 copilot-serve --listen "127.0.0.1:$SERVE_PORT"
  [[ "$stderr" == *"cannot listen on 127.0.0.1:$SERVE_PORT"* ]]
}

@test "it listens on an ephemeral port, says where, and stops on SIGTERM with 0" {
  serve_start
  [[ "$SERVE_URL" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
  [[ "$SERVE_PORT" != 0 ]]
  assert_equal "$(cat "$BATS_TEST_TMPDIR/serve.out")" ""
  serve_stop
  assert_equal "$SERVE_STATUS" "0"
  grep -q '^copilot-serve: SIGTERM: not accepting connections' "$SERVE_ERR"
  grep -q '^copilot-serve: stopped$' "$SERVE_ERR"
}

# --- routes -------------------------------------------------------------------

@test "POST /v1/chat/completions relays a non-streamed answer" {
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json "hello there")"
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["object"]' <<<"$BODY")" "chat.completion"
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: hello there"
  assert_equal "$(json_get - '["usage"]["total_tokens"]' <<<"$BODY")" "6"
  [[ "$(header Content-Type)" == application/json* ]]
  # the upstream saw the request as the client sent it, at its own path
  assert_equal "$(fake_last chat '["path"]')" "/chat/completions"
  assert_equal "$(fake_last chat '["body"]')" "$(chat_json "hello there")"
}

@test "POST /chat/completions without /v1 works the same" {
  serve_start
  req POST /chat/completions -H 'Content-Type: application/json' -d "$(chat_json "no prefix")"
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: no prefix"
}

@test "the upstream gets the Copilot token and headers, never the client's Authorization" {
  serve_start
  req POST /v1/chat/completions -H 'Authorization: Bearer sk-client-secret' -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "200"
  local h
  h="$(fake_last chat '["headers"]')"
  [[ "$(json_get - '["authorization"]' <<<"$h")" == "Bearer tid=fake1;"* ]]
  assert_equal "$(json_get - '["editor-version"]' <<<"$h")" "vscode/1.104.3"
  assert_equal "$(json_get - '["copilot-integration-id"]' <<<"$h")" "vscode-chat"
  assert_equal "$(json_get - '["openai-intent"]' <<<"$h")" "conversation-panel"
  [[ "$(json_get - '["x-request-id"]' <<<"$h")" =~ ^[0-9a-f-]{36}$ ]]
  run fake_log
  refute_output --partial "sk-client-secret"
}

@test "a streamed answer is relayed in order with the same bytes the upstream sent" {
  # A hand-written stream with a comment, CRLF line ends, a multi-byte
  # character, written in 7-byte pieces: whatever the reads look like, the
  # client gets exactly these bytes.
  local sse
  sse=$'data: {"id":"x","choices":[{"index":0,"delta":{"content":"h\xc3\xa9llo"}}]}\r\n\r\n: keep-alive\n\ndata: {"id":"x","choices":[{"index":0,"delta":{"content":" w\xe2\x82\xacrld"}}]}\n\ndata: [DONE]\n\n'
  printf '%s' "$sse" >"$BATS_TEST_TMPDIR/expected"
  fake_script chat "[{\"body\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1], encoding="utf-8", newline="").read()))' "$BATS_TEST_TMPDIR/expected"), \"split\": 7}]"
  serve_start
  curl -sS -N --noproxy '*' -m 30 -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json "stream please" true)" "$SERVE_URL/v1/chat/completions"
  cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
  grep -qi '^content-type: text/event-stream' "$BATS_TEST_TMPDIR/h"
  grep -qi '^transfer-encoding: chunked' "$BATS_TEST_TMPDIR/h"
}

@test "a stream that came whole before its head went out is sent in one piece, with its length" {
  # The split stream above is still arriving when its head goes out: it
  # is relayed chunked, event by event. This one is read all at once.
  fake_script chat '[{"stream": {"chunks": ["one ", "two"]}, "one_write": true}]'
  serve_start
  curl -sS -N --noproxy '*' -m 30 -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json "x" true)" "$SERVE_URL/v1/chat/completions"
  assert_equal "$(stream_text <"$BATS_TEST_TMPDIR/got")" "one two"
  ends_with_done "$BATS_TEST_TMPDIR/got"
  local len
  len=$(wc -c <"$BATS_TEST_TMPDIR/got")
  grep -qi "^content-length: $len"$'\r$' "$BATS_TEST_TMPDIR/h"
  run ! grep -qi '^transfer-encoding' "$BATS_TEST_TMPDIR/h"
  grep -qi '^content-type: text/event-stream' "$BATS_TEST_TMPDIR/h"
  grep -qi '^x-accel-buffering: no' "$BATS_TEST_TMPDIR/h"
  # logged as the stream it is, with its bytes and the usage its events gave
  eventually '[ "$(log_lines | wc -l)" -eq 1 ]'
  run log_lines
  assert_output --regexp " stream api=chat .* status=200 bytes=$len ms=[0-9.]+ input_tokens=[0-9]+ output_tokens=[0-9]+ multiplier=0 premium=0$"
}

@test "a generated stream comes out as it does straight from the upstream" {
  fake_config '{"reply": "one two three four five six seven eight nine ten eleven twelve"}'
  serve_start
  curl -sS -N --noproxy '*' -m 30 -o "$BATS_TEST_TMPDIR/proxied" \
    -H 'Content-Type: application/json' -d "$(chat_json "x" true)" "$SERVE_URL/chat/completions"
  curl -sS -N --noproxy '*' -m 30 -o "$BATS_TEST_TMPDIR/direct" \
    -H "Authorization: Bearer $(fake_copilot_token)" -H 'Editor-Version: vscode/1.104.3' \
    -H 'Content-Type: application/json' -d "$(chat_json "x" true)" "$FAKE_URL/chat/completions"
  # only the clock and the request counter differ between the two
  local norm='s/"created":[0-9]+/"created":T/g; s/chatcmpl-fake[0-9]+/chatcmpl-fakeN/g'
  diff <(sed -E "$norm" "$BATS_TEST_TMPDIR/direct") <(sed -E "$norm" "$BATS_TEST_TMPDIR/proxied")
  assert_equal "$(stream_text <"$BATS_TEST_TMPDIR/proxied")" "one two three four five six seven eight nine ten eleven twelve"
  ends_with_done "$BATS_TEST_TMPDIR/proxied"
}

@test "GET /v1/models answers OpenAI's list shape with Copilot's models" {
  serve_start
  req GET /v1/models
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["object"]' <<<"$BODY")" "list"
  local ids
  ids="$(python3 -c 'import json, sys
d = json.load(sys.stdin)
assert all(m["object"] == "model" and "owned_by" in m and "created" in m for m in d["data"])
print(" ".join(m["id"] for m in d["data"]))' <<<"$BODY")"
  assert_equal "$ids" "gpt-4.1 gpt-4o gpt-4o-mini gpt-5-mini claude-sonnet-4 o3-mini gpt-5-codex claude-sonnet-4.5 claude-3.5-sonnet text-embedding-3-small"
  assert_equal "$(json_get - '["data"][0]["owned_by"]' <<<"$BODY")" "Azure OpenAI"
  assert_equal "$(fake_last models '["path"]')" "/models"
}

@test "GET /models without /v1 works the same" {
  serve_start
  req GET /models
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["data"][0]["id"]' <<<"$BODY")" "gpt-4.1"
}

@test "GET /v1/models/{id} and /models/{id} answer that one entry of the list" {
  serve_start
  req GET /v1/models
  local want
  want="$(jq -cS '.data[] | select(.id == "claude-sonnet-4")' <<<"$BODY")"
  [[ -n "$want" ]]
  for path in /v1/models/claude-sonnet-4 /models/claude-sonnet-4; do
    req GET "$path"
    assert_equal "$STATUS" "200"
    [[ "$(header Content-Type)" == application/json* ]]
    # the entry exactly as the list has it, in OpenAI's shape
    assert_equal "$(jq -cS . <<<"$BODY")" "$want"
    assert_equal "$(json_get - '["id"]' <<<"$BODY")" "claude-sonnet-4"
    assert_equal "$(json_get - '["object"]' <<<"$BODY")" "model"
    assert_equal "$(json_get - '["owned_by"]' <<<"$BODY")" "Anthropic"
    assert_equal "$(json_get - '["created"]' <<<"$BODY")" "0"
    assert_equal "$(json_get - '["capabilities"]["family"]' <<<"$BODY")" "claude-sonnet-4"
  done
  # Copilot has no /models/{id}: each lookup is one GET of the upstream list
  assert_equal "$(fake_count models)" "3"
  assert_equal "$(fake_log models | jq -c '[.requests[] | [.method, .path]] | unique')" '[["GET","/models"]]'
  eventually '[ "$(log_lines | grep -c " GET /models/claude-sonnet-4 model=claude-sonnet-4 status=200 ")" -eq 1 ]'
}

@test "model ids may hold ':', '/', '.' and percent-escapes" {
  fake_config '{"models": ["ft:gpt-4o:org:x", "org/model.v2", "gpt-4.1"]}'
  serve_start
  for path in /v1/models/ft:gpt-4o:org:x /v1/models/ft%3Agpt-4o%3Aorg%3Ax /models/ft:gpt-4o:org:x; do
    req GET "$path"
    assert_equal "$STATUS" "200"
    assert_equal "$(json_get - '["id"]' <<<"$BODY")" "ft:gpt-4o:org:x"
    assert_equal "$(json_get - '["owned_by"]' <<<"$BODY")" "Fake"
  done
  # everything after /models/ is the id, slashes included
  for path in /v1/models/org/model.v2 /v1/models/org%2Fmodel.v2; do
    req GET "$path"
    assert_equal "$STATUS" "200"
    assert_equal "$(json_get - '["id"]' <<<"$BODY")" "org/model.v2"
  done
  req GET /v1/models/org
  assert_equal "$STATUS" "404"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "model_not_found"
  # the query string is not part of the id
  req GET '/v1/models/gpt-4.1?whatever=1'
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["id"]' <<<"$BODY")" "gpt-4.1"
}

@test "an unknown model id gets 404 with an OpenAI-style body naming it" {
  serve_start
  for prefix in /v1 ""; do
    req GET "$prefix/models/gpt-99"
    assert_equal "$STATUS" "404"
    [[ "$(header Content-Type)" == application/json* ]]
    assert_equal "$(jq -c . <<<"$BODY")" '{"error":{"message":"the model '\''gpt-99'\'' does not exist; GET /v1/models lists the models there are","type":"invalid_request_error","param":null,"code":"model_not_found"}}'
  done
  # what the client sent is shortened and cleared before it is echoed
  req GET "/v1/models/bad%0A%22id%22$(printf 'z%.0s' {1..200})"
  assert_equal "$STATUS" "404"
  local msg
  msg="$(json_get - '["error"]["message"]' <<<"$BODY")"
  [[ "$msg" == "the model 'bad??id?zzz"*"zzz...' does not exist; GET /v1/models lists the models there are" ]]
  [[ "$msg" != *$'\n'* && "$msg" != *'"'* ]]
  # each was a lookup in the list the upstream sent
  assert_equal "$(fake_count models)" "3"
  eventually '[ "$(log_lines | grep -c " GET /v1/models/gpt-99 model=gpt-99 status=404 bytes=[0-9]* ms=[0-9.]* note=\"model_not_found\"$")" -eq 1 ]'
  # "/models/" without an id is no route at all
  req GET /v1/models/
  assert_equal "$STATUS" "404"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "unknown_route"
  assert_equal "$(fake_count models)" "3"
}

@test "GET /v1/models/{id} relays upstream errors as GET /v1/models does" {
  fake_script models '[{"status": 429, "retry_after": 3}, {"status": 500, "body": "oops, upstream broke", "content_type": "text/plain"}, {"body": {"data": "not a list"}}]'
  serve_start
  req GET /v1/models/gpt-4.1
  assert_equal "$STATUS" "429"
  assert_equal "$(header Retry-After)" "3"
  # the upstream's own {"error":{...}}, relayed as it is
  assert_equal "$(jq -c . <<<"$BODY")" '{"error":{"message":"Too Many Requests","code":"rate_limited"}}'
  req GET /v1/models/gpt-4.1
  assert_equal "$STATUS" "500"
  assert_equal "$(json_get - '["error"]["message"]' <<<"$BODY")" "oops, upstream broke"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "server_error"
  req GET /v1/models/gpt-4.1
  assert_equal "$STATUS" "502"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "bad_upstream_answer"
  assert_equal "$(fake_count models)" "3"
}

@test "HEAD on /models, /models/{id} and /healthz: 200, the headers, no body" {
  serve_start
  local path len
  for path in /v1/models /models /v1/models/gpt-4o /models/gpt-4o; do
    req GET "$path"
    assert_equal "$STATUS" "200"
    len="$(wc -c <"$BATS_TEST_TMPDIR/body")"
    run --separate-stderr raw_head "$path"
    assert_success
    assert_line --index 0 "HTTP/1.1 200 OK"
    assert_line --regexp '^Content-Type: application/json'
    # the length of the body a GET gets, and none of its bytes
    assert_line "Content-Length: $len"
    assert_line --index -1 "body bytes: 0"
  done
  # the upstream got GETs (a HEAD is answered from a GET of the list)
  assert_equal "$(fake_count models)" "8"
  assert_equal "$(fake_log models | jq -c '[.requests[].method] | unique')" '["GET"]'
  for path in /healthz /v1/healthz; do
    run --separate-stderr raw_head "$path"
    assert_success
    assert_line --index 0 "HTTP/1.1 200 OK"
    assert_line --regexp '^Content-Type: application/json'
    assert_line --regexp '^Content-Length: [1-9][0-9]*$'
    assert_line --index -1 "body bytes: 0"
  done
  eventually '[ "$(log_lines | grep -c " HEAD /healthz model=- status=200 ")" -eq 1 ]'
  eventually '[ "$(log_lines | grep -c " HEAD /v1/models/gpt-4o model=gpt-4o status=200 ")" -eq 1 ]'
}

@test "POST /v1/embeddings and /embeddings relay the vectors" {
  serve_start
  local direct
  direct="$(curl -sS --noproxy '*' -H "Authorization: Bearer $(fake_copilot_token)" \
    -H 'Editor-Version: vscode/1.104.3' -H 'Content-Type: application/json' -d '{"input":"hello"}' "$FAKE_URL/embeddings")"
  for path in /v1/embeddings /embeddings; do
    req POST "$path" -H 'Content-Type: application/json' -d '{"input":"hello"}'
    assert_equal "$STATUS" "200"
    assert_equal "$BODY" "$direct"
  done
  assert_equal "$(fake_last embeddings '["path"]')" "/embeddings"
}

@test "GET /healthz reports the login state and token expiry without secrets" {
  serve_start
  req GET /healthz
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["status"]' <<<"$BODY")" "ok"
  assert_equal "$(json_get - '["token_ready"]' <<<"$BODY")" "true"
  local exp
  exp="$(fake_state | python3 -c 'import json, sys
print(list(json.load(sys.stdin)["copilot_tokens"].values())[0]["expires_at"])')"
  assert_equal "$(json_get - '["token_expires_at"]' <<<"$BODY")" "$exp"
  [[ "$BODY" != *tid=* && "$BODY" != *ghu_* ]]
  req GET /v1/healthz
  assert_equal "$STATUS" "200"
  # no upstream request for a health check
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_count models)" "0"
}

@test "the 404 hint, --help and the man page list the same routes" {
  serve_start
  req GET /v1/nowhere
  assert_equal "$STATUS" "404"
  hint="$(json_get - '["error"]["message"]' <<<"$BODY")"
  hint="${hint#*(try }"
  hint="${hint%)}"
  help="$(copilot-serve --help | sed -n '/^Routes/,/^$/p' | tr '\n' ' ' |
    sed 's/^Routes (also without \/v1): //; s/[. ]*$//; s/  */ /g')"
  assert_equal "$help" "$hint"
  # the ROUTES section of copilot-serve(1): one .B/.BI tag per route
  man="$(sed -n '/^\.SH ROUTES/,/^\.SH /p' "$REPO/man/copilot-serve.1" |
    sed -n '/^\.TP/{n;p}' | sed 's/^\.BI\{0,1\} //; s/"//g; s/ ID$/ID/' | paste -sd, - | sed 's/,/, /g')"
  assert_equal "$man" "$hint"
}

@test "unknown routes get 404 and wrong methods 405, both OpenAI-style" {
  serve_start
  req GET /v1/completions
  assert_equal "$STATUS" "404"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "invalid_request_error"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "unknown_route"
  req GET /v1/chat/completions
  assert_equal "$STATUS" "405"
  assert_equal "$(header Allow)" "POST"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "method_not_allowed"
  req POST /v1/models -H 'Content-Type: application/json' -d '{}'
  assert_equal "$STATUS" "405"
  assert_equal "$(header Allow)" "GET, HEAD"
  for path in /v1/models/gpt-4.1 /models/gpt-4.1; do
    req DELETE "$path"
    assert_equal "$STATUS" "405"
    assert_equal "$(header Allow)" "GET, HEAD"
    assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "method_not_allowed"
  done
  assert_equal "$(fake_count chat)" "0"
  assert_equal "$(fake_count models)" "0"
}

@test "a body that is not a JSON object gets 400 without reaching the upstream" {
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d 'not json'
  assert_equal "$STATUS" "400"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "invalid_json"
  assert_equal "$(fake_count chat)" "0"
}

@test "a body with a duplicate key gets 400 invalid_json without reaching the upstream" {
  # The proxy reads the first "model"/"stream", an upstream may act on the last.
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4.1","stream":false,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
  assert_equal "$STATUS" "400"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "invalid_json"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "invalid_request_error"
  [[ "$(json_get - '["error"]["message"]' <<<"$BODY")" == *"duplicate key 'stream'"* ]]
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"hi","content":"ho"}]}'
  assert_equal "$STATUS" "400"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "invalid_json"
  assert_equal "$(fake_count chat)" "0"
}

# --- upstream errors ---------------------------------------------------------------

@test "upstream errors are relayed with their status, Retry-After and an OpenAI-style body" {
  fake_script chat '[{"status": 429, "retry_after": 7}]'
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "429"
  assert_equal "$(header Retry-After)" "7"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "rate_limited"
  # (the chat request fetched the model catalogue: one GET /models so far)
  fake_script models '[{"status": 500, "body": "oops, upstream broke", "content_type": "text/plain"}]'
  req GET /v1/models
  assert_equal "$STATUS" "500"
  assert_equal "$(json_get - '["error"]["message"]' <<<"$BODY")" "oops, upstream broke"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "server_error"
  # relayed, not retried: the client decides
  assert_equal "$(fake_count chat)" "1"
  assert_equal "$(fake_count models)" "2"
}

@test "a model the upstream does not support is relayed as its 400" {
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"gpt-99","messages":[{"role":"user","content":"x"}]}'
  assert_equal "$STATUS" "400"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "model_not_supported"
}

@test "an upstream that dies mid-stream ends the client's stream with an SSE error event" {
  fake_script chat '[{"stream": {"chunks": ["one ", "two ", "three"], "no_empty_first": true}, "cut": 200}]'
  serve_start
  curl -sS -N --noproxy '*' -m 30 -o "$BATS_TEST_TMPDIR/got" -w '%{http_code}' \
    -H 'Content-Type: application/json' -d "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" >"$BATS_TEST_TMPDIR/code"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" "200"
  # the first 200 bytes as the upstream sent them, then the error event on its own
  local got last
  got="$(cat "$BATS_TEST_TMPDIR/got")"
  [[ "$got" == 'data: {"id":"chatcmpl-fake1"'* ]]
  last="$(tail -n 2 "$BATS_TEST_TMPDIR/got" | head -n 1)"
  [[ "$last" == "data: "* ]]
  assert_equal "$(json_get - '["error"]["code"]' <<<"${last#data: }")" "upstream_error"
  [[ "$(json_get - '["error"]["message"]' <<<"${last#data: }")" == *"broke in the middle of the answer"* ]]
  [[ "$(tail -c 2 "$BATS_TEST_TMPDIR/got" | od -An -c | tr -d ' ')" == '\n\n' ]]
  eventually 'grep -q "note=\"upstream cut off\"" "$SERVE_ERR"'
}

# --- the token ------------------------------------------------------------------------

@test "the token is refreshed on the service's schedule (refresh_in - 60 s)" {
  # a cached token (as copilot-token leaves it: bound to GITHUB_COPILOT_TOKEN,
  # copilot-utils(5) "credential") that is due in 2 s
  cached="$(fake_mint '{"ttl": 1800}' | CACHE_="$XDG_CACHE_HOME/copilot-utils/token/github.com.json" python3 -c '
import hashlib, hmac, json, os, sys, time
e = json.load(sys.stdin)
salt = "00" * 16
mac = hmac.new(salt.encode(), os.environ["GITHUB_COPILOT_TOKEN"].encode(), hashlib.sha256).hexdigest()
path = os.environ["CACHE_"]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
doc = {"host": "github.com", "token": e["token"], "expires_at": e["expires_at"], "refresh_in": 1500,
       "fetched_at": int(time.time()) - 1438, "api_url": "https://api.individual.githubcopilot.com",
       "sku": e["sku"], "credential": "hmac-sha256:" + salt + ":" + mac, "given": True}
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, (json.dumps(doc) + "\n").encode())
print(e["token"])')"
  serve_start
  assert_equal "$(fake_count copilot_token)" "0"
  req GET /healthz
  due="$(json_get - '["token_refresh_at"]' <<<"$BODY")"
  (( due - $(date +%s) <= 3 ))
  eventually '[ "$(fake_count copilot_token)" -ge 1 ]'
  assert_equal "$(fake_count copilot_token)" "1"
  # requests now go out with the new token
  refresh_at() { req GET /healthz; json_get - '["token_refresh_at"]' <<<"$BODY"; }
  eventually '[ "$(refresh_at)" -gt "$due" ]'
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "200"
  [[ "$(fake_last chat '["headers"]["authorization"]')" != "Bearer $cached" ]]
}

@test "a token due at once (refresh_in 61) is kept for 60 s, not refreshed every second" {
  fake_config '{"refresh_in": 61}'
  serve_start
  assert_equal "$(fake_count copilot_token)" "1"
  req GET /healthz
  (( $(json_get - '["token_refresh_at"]' <<<"$BODY") - $(date +%s) >= 55 ))
  sleep 3
  assert_equal "$(fake_count copilot_token)" "1"
}

@test "a token the upstream calls expired is refreshed once and the request retried" {
  serve_start
  assert_equal "$(fake_count copilot_token)" "1"
  fake_ctl POST /_control/expire '{}' >/dev/null
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json "after expiry")"
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$BODY")" "You said: after expiry"
  assert_equal "$(fake_count copilot_token)" "2"
  assert_equal "$(fake_count chat)" "2"
  fake_log chat | python3 -c 'import json, sys
r = json.load(sys.stdin)["requests"]
assert r[0]["status"] == 401 and r[1]["status"] == 200, r
assert r[0]["headers"]["authorization"].startswith("Bearer tid=fake1;")
assert r[1]["headers"]["authorization"].startswith("Bearer tid=fake2;")'
}

@test "a stream is retried with a fresh token after a 401 too" {
  fake_script chat '[{"status": 401, "body": "unauthorized: token expired\n", "content_type": "text/plain"}]'
  serve_start
  curl -sS -N --noproxy '*' -m 30 -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json "streamed retry" true)" "$SERVE_URL/v1/chat/completions"
  assert_equal "$(stream_text <"$BATS_TEST_TMPDIR/got")" "You said: streamed retry"
  assert_equal "$(fake_count copilot_token)" "2"
}

@test "a second 401 is relayed to the client after one refresh" {
  fake_script chat '[{"status": 401, "body": "unauthorized: token expired\n", "content_type": "text/plain", "repeat": 2}]'
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "401"
  assert_equal "$(json_get - '["error"]["message"]' <<<"$BODY")" "unauthorized: token expired"
  assert_equal "$(json_get - '["error"]["type"]' <<<"$BODY")" "authentication_error"
  assert_equal "$(fake_count copilot_token)" "2"
  assert_equal "$(fake_count chat)" "2"
}

@test "without a login it runs the device flow, answers 503 meanwhile, then serves" {
  unset GITHUB_COPILOT_TOKEN
  fake_config '{"approval": "manual", "interval": 1}'
  serve_start
  eventually 'grep -q "to log in to GitHub, enter code" "$SERVE_ERR"'
  local code
  code="$(sed -n 's/^copilot-serve: to log in to GitHub, enter code \([A-Z0-9-]*\) at .*/\1/p' "$SERVE_ERR")"
  [[ "$code" =~ ^[A-Z]{4}-[0-9]{4}$ ]]
  grep -q "enter code $code at $FAKE_URL/login/device\$" "$SERVE_ERR"

  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "503"
  assert_equal "$(json_get - '["error"]["message"]' <<<"$BODY")" \
    "waiting for GitHub login: enter $code at $FAKE_URL/login/device"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "login_required"
  assert_equal "$(header Retry-After)" "5"
  req GET /healthz
  assert_equal "$(json_get - '["status"]' <<<"$BODY")" "waiting_for_login"
  assert_equal "$(json_get - '["user_code"]' <<<"$BODY")" "$code"
  assert_equal "$(fake_count chat)" "0"

  fake_approve "$code"
  eventually '[ "$(curl -s --noproxy "*" -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" -d "$(chat_json hi)" "$SERVE_URL/v1/chat/completions")" = 200 ]'
  # stored like copilot-login stores it
  local auth="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  assert_file_exists "$auth"
  assert_equal "$(stat -c %a "$auth")" "600"
  assert_equal "$(json_get "$auth" '["oauth_token"]')" "ghu_fake_1"
  assert_equal "$(json_get "$auth" '["user"]')" "octocat"
  grep -q '^copilot-serve: Logged in to github.com as octocat' "$SERVE_ERR"
  run grep -c 'ghu_fake_1' "$SERVE_ERR"
  assert_output "0"
}

# --- clients -------------------------------------------------------------------------

@test "with --api-key-file a client must send the key" {
  printf 'sk-local-test-key\n' >"$BATS_TEST_TMPDIR/key"
  chmod 600 "$BATS_TEST_TMPDIR/key"
  serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "401"
  assert_equal "$(header WWW-Authenticate)" "Bearer"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "invalid_api_key"
  req POST /v1/chat/completions -H 'Authorization: Bearer sk-local-test-kez' -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "401"
  req GET /healthz
  assert_equal "$STATUS" "401"
  assert_equal "$(fake_count chat)" "0"
  req POST /v1/chat/completions -H 'Authorization: Bearer sk-local-test-key' -H 'Content-Type: application/json' -d "$(chat_json hi)"
  assert_equal "$STATUS" "200"
  [[ "$(fake_last chat '["headers"]["authorization"]')" == "Bearer tid=fake1;"* ]]
  run fake_log
  refute_output --partial "sk-local-test-key"
  run grep -c 'sk-local-test' "$SERVE_ERR"
  assert_output "0"
}

@test "a key file readable by others is refused (74)" {
  printf 'sk-local-test-key-0123456789\n' >"$BATS_TEST_TMPDIR/key"
  chmod 644 "$BATS_TEST_TMPDIR/key"
  run --separate-stderr copilot-serve --listen 127.0.0.1:0 --api-key-file "$BATS_TEST_TMPDIR/key"
  assert_failure 74
  [[ "$stderr" == *"permissions 0644 on $BATS_TEST_TMPDIR/key are too open"* ]]
  [[ "$stderr" != *"sk-local-test-key"* ]]
}

@test "a non-loopback --listen with a key warns and serves clients that have the key" {
  printf 'sk-local-test-key\n' >"$BATS_TEST_TMPDIR/key"
  chmod 600 "$BATS_TEST_TMPDIR/key"
  SERVE_LISTEN=0.0.0.0:0 serve_start --api-key-file "$BATS_TEST_TMPDIR/key"
  grep -q '^copilot-serve: listening on http://0.0.0.0:' "$SERVE_ERR"
  grep -q 'warning: listening on a non-loopback address' "$SERVE_ERR"
  req GET /v1/models -H 'Authorization: Bearer sk-local-test-key'
  assert_equal "$STATUS" "200"
  req GET /v1/models
  assert_equal "$STATUS" "401"
}

@test "a body past --max-body gets 413 and never reaches the upstream" {
  serve_start --max-body 1K
  python3 -c 'import json; print(json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x" * 2000}]}))' >"$BATS_TEST_TMPDIR/big"
  req POST /v1/chat/completions -H 'Content-Type: application/json' --data-binary @"$BATS_TEST_TMPDIR/big"
  assert_equal "$STATUS" "413"
  assert_equal "$(json_get - '["error"]["code"]' <<<"$BODY")" "request_too_large"
  # no Content-Length (chunked upload): counted as it arrives
  req POST /v1/chat/completions -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary @"$BATS_TEST_TMPDIR/big"
  assert_equal "$STATUS" "413"
  # exactly the cap is fine
  python3 -c 'import json
b = {"model": "gpt-4.1", "messages": [{"role": "user", "content": ""}]}
pad = 1024 - len(json.dumps(b))
b["messages"][0]["content"] = "y" * pad
s = json.dumps(b); assert len(s) == 1024
print(s, end="")' >"$BATS_TEST_TMPDIR/exact"
  req POST /v1/chat/completions -H 'Content-Type: application/json' --data-binary @"$BATS_TEST_TMPDIR/exact"
  assert_equal "$STATUS" "200"
  assert_equal "$(fake_count chat)" "1"
}

@test "the default body cap is 16 MiB" {
  serve_start
  head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/huge"
  req POST /v1/chat/completions -H 'Content-Type: application/json' --data-binary @"$BATS_TEST_TMPDIR/huge"
  assert_equal "$STATUS" "413"
  assert_equal "$(fake_count chat)" "0"
}

@test "--max-connections: a connection past the limit is closed unanswered, and served once one ends" {
  serve_start --max-connections 2 --verbose
  # two idle connections take both places until "release" exists
  python3 - "$SERVE_PORT" "$BATS_TEST_TMPDIR" <<'EOF' 3>&- &
import os, socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
open(os.path.join(d, "held"), "w").close()
for _ in range(1200):  # 60 s at most, should the test die
    if os.path.exists(os.path.join(d, "release")):
        break
    time.sleep(0.05)
for s in held:
    s.close()
EOF
  BG_PIDS=($!)
  eventually '[ -e "$BATS_TEST_TMPDIR/held" ]'
  # the kernel completes the handshake, libmicrohttpd accepts and closes at
  # once: end of file before a single byte
  run --separate-stderr python3 - "$SERVE_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
print(repr(s.recv(1)))
EOF
  assert_success
  assert_output "b''"
  # curl's request races the close: an empty reply (52), or a reset (56)
  # when the request was still unread in the socket that was closed
  run --separate-stderr curl -sS --noproxy '*' -m 30 -o /dev/null -w '%{http_code}' "$SERVE_URL/healthz"
  [[ "$status" == 52 || "$status" == 56 ]]
  assert_output "000"
  [[ "$stderr" == *"Empty reply from server"* || "$stderr" == *"Connection reset by peer"* ]]
  # --verbose names the cause; neither attempt became a request: no request line
  eventually '[ "$(grep -c "^copilot-serve: closing a connection from 127.0.0.1: --max-connections (2) reached$" "$SERVE_ERR")" -eq 2 ]'
  assert_equal "$(log_lines)" ""
  # once the held connections are gone, clients are served again
  touch "$BATS_TEST_TMPDIR/release"
  eventually '[ "$(curl -s --noproxy "*" -m 5 -o /dev/null -w "%{http_code}" "$SERVE_URL/healthz")" = 200 ]'
  req GET /v1/models/gpt-4.1
  assert_equal "$STATUS" "200"
  assert_equal "$(json_get - '["id"]' <<<"$BODY")" "gpt-4.1"
}

@test "20 concurrent streams all complete" {
  # each stream written in 64-byte pieces with pauses, so that they overlap
  fake_script chat '[{"stream": {"split": 64}, "repeat": 20}]'
  serve_start
  local i pids=()
  for i in $(seq 1 20); do
    curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/s$i" \
      -H 'Content-Type: application/json' -d "$(chat_json "stream number $i" true)" "$SERVE_URL/v1/chat/completions" 3>&- &
    pids+=($!)
  done
  BG_PIDS=("${pids[@]}")
  for i in "${!pids[@]}"; do wait "${pids[$i]}"; done
  for i in $(seq 1 20); do
    assert_equal "$(stream_text <"$BATS_TEST_TMPDIR/s$i")" "You said: stream number $i"
    ends_with_done "$BATS_TEST_TMPDIR/s$i"
  done
  assert_equal "$(fake_count chat)" "20"
  eventually '[ "$(log_lines | grep -c " stream api=chat .* status=200 ")" -eq 20 ]'
}

@test "requests on one client connection reuse one upstream connection" {
  serve_start
  # three requests on one kept-alive client connection
  run -0 curl -sS --noproxy '*' -m 10 -o /dev/null -o /dev/null -o /dev/null \
    -H 'Content-Type: application/json' -d "$(chat_json x)" "$SERVE_URL/v1/chat/completions" "$SERVE_URL/v1/chat/completions" \
    "$SERVE_URL/v1/chat/completions"
  fake_log chat >"$BATS_TEST_TMPDIR/log.json"
  assert_equal "$(jq '.requests | length' "$BATS_TEST_TMPDIR/log.json")" "3"
  # one client port upstream: the connection was kept, not opened per request
  assert_equal "$(jq '[.requests[].peer_port] | unique | length' "$BATS_TEST_TMPDIR/log.json")" "1"
  assert_equal "$(jq '[.requests[].status] | unique' -c "$BATS_TEST_TMPDIR/log.json")" "[200]"
}

@test "a client that disconnects mid-stream frees the upstream connection" {
  # a stream that would drip for minutes
  fake_script chat '[{"stream": {"repeat_chunk": "x", "count": 100000}, "drip": 0.001}]'
  serve_start
  # connections kept open for reuse (the token exchange's) are not the stream's
  local kept
  kept="$(upstream_connections)"
  curl -sS -N --noproxy '*' -m 2 -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- &
  local client=$!
  BG_PIDS=("$client")
  # streaming: bytes reach the client while the upstream is still sending
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ]'
  assert_equal "$(upstream_connections)" "$((kept + 1))"
  assert_equal "$(upstream_in_flight)" "1"
  wait "$client" || true  # curl gives up after 2 s (exit 28)
  head -c 6 "$BATS_TEST_TMPDIR/got" | grep -q '^data: '
  # an aborted transfer's connection is closed, not kept for reuse
  eventually '[ "$(upstream_connections)" = "$kept" ]'
  eventually '[ "$(upstream_in_flight)" = 0 ]'
  eventually 'grep -q " stream .*status=200 .*note=\"client closed\"" "$SERVE_ERR"'
}

@test "a client that stops reading holds its stream's upstream back: memory stays bounded, --idle-timeout ends it" {
  # 40 MB on offer, far more than the socket buffers on the way can take
  local rep
  rep="$(printf 'x%.0s' {1..1000})"
  fake_script chat "[{\"stream\": {\"repeat_chunk\": \"$rep\", \"count\": 40000}}]"
  serve_start --idle-timeout 3
  local idle_kb
  idle_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status")"
  python3 - "$SERVE_PORT" "$BATS_TEST_TMPDIR" <<'PY' 3>&- &
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect(("127.0.0.1", int(sys.argv[1])))
body = b'{"model":"gpt-4.1","messages":[{"role":"user","content":"x"}],"stream":true}'
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.recv(4096)
open(os.path.join(sys.argv[2], "reading"), "w").close()
time.sleep(30)  # and reads nothing more
PY
  BG_PIDS=($!)
  eventually '[ -e "$BATS_TEST_TMPDIR/reading" ]'
  sleep 1.5
  # paused, not buffered: the queue's 64 KiB and libcurl's buffer, not 40 MB
  local hwm
  hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status")"
  (( hwm - idle_kb < 16384 )) || fail "copilot-serve grew by $((hwm - idle_kb)) KiB"
  # the client that reads nothing is closed by --idle-timeout, and its upstream let go
  eventually 'log_lines | grep -q " stream .*note=\"idle timeout\""'
  eventually '[ "$(upstream_in_flight)" = 0 ]'
}

@test "a client that leaves before the answer begins is logged as 499 and frees the upstream" {
  fake_script chat '[{"delay": 2}]'
  serve_start
  local kept
  kept="$(upstream_connections)"
  run curl -sS --noproxy '*' -m 0.5 -H 'Content-Type: application/json' -d "$(chat_json "slow" true)" "$SERVE_URL/v1/chat/completions"
  assert_failure 28
  eventually 'grep -q " stream .*status=499 .*note=\"client closed\"" "$SERVE_ERR"'
  # once the delayed answer begins, the upstream transfer sees nobody wants it
  eventually '[ "$(upstream_in_flight)" = 0 ]'
  eventually '[ "$(upstream_connections)" = "$kept" ]'
}

@test "SIGTERM stops accepting, lets a stream in flight finish, and exits 0" {
  fake_config '{"reply": "a b c d e f g h i j k l m n o p q r s t u v w x y z"}'
  fake_script chat '[{"stream": {"split": 16}}]'
  serve_start
  curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 3>&- &
  local client=$!
  BG_PIDS=("$client")
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ]'
  local pid=$SERVE_PID
  kill -TERM "$pid"
  # no new connections
  eventually '! curl -s --noproxy "*" -m 2 -o /dev/null "$SERVE_URL/healthz"'
  wait "$client"
  assert_equal "$(stream_text <"$BATS_TEST_TMPDIR/got")" "a b c d e f g h i j k l m n o p q r s t u v w x y z"
  ends_with_done "$BATS_TEST_TMPDIR/got"
  local status=0
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  grep -q '^copilot-serve: SIGTERM: not accepting connections; waiting up to 10 s for 1 request in flight$' "$SERVE_ERR"
  grep -q '^copilot-serve: stopped$' "$SERVE_ERR"
}

@test "a stream longer than --grace is cut at the end of the grace period" {
  fake_script chat '[{"stream": {"repeat_chunk": "x", "count": 100000}, "drip": 0.001}]'
  serve_start --grace 1
  curl -sS -N --noproxy '*' -m 60 -o "$BATS_TEST_TMPDIR/got" \
    -H 'Content-Type: application/json' -d "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- &
  local client=$!
  BG_PIDS=("$client")
  eventually '[ -s "$BATS_TEST_TMPDIR/got" ]'
  local pid=$SERVE_PID status=0
  kill -INT "$pid"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  wait "$client" || true
  run -1 ends_with_done "$BATS_TEST_TMPDIR/got"
  grep -q '^copilot-serve: SIGINT: not accepting connections; waiting up to 1 s for 1 request in flight$' "$SERVE_ERR"
  grep -q 'warning: stopping with 1 request unfinished' "$SERVE_ERR"
}

@test "an upstream that never answers is let go at shutdown: the server stops cleanly" {
  fake_script chat '[{"hang": true, "repeat": 2}]'
  serve_start --grace 0
  # one buffered answer, one stream
  curl -sS --noproxy '*' -m 30 -o /dev/null -H 'Content-Type: application/json' -d "$(chat_json x)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- &
  BG_PIDS=($!)
  curl -sS -N --noproxy '*' -m 30 -o /dev/null -H 'Content-Type: application/json' -d "$(chat_json y true)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- &
  BG_PIDS+=($!)
  eventually '[ "$(fake_count chat)" = 2 ]'
  assert_equal "$(upstream_in_flight)" "2"
  local pid=$SERVE_PID status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  # The silent transfer was cancelled, not abandoned to _Exit.
  run ! grep -q 'still open' "$SERVE_ERR"
  grep -q '^copilot-serve: stopped$' "$SERVE_ERR"
}

@test "a silent upstream stream whose client left is let go before shutdown" {
  fake_script chat '[{"hang": true}]'
  serve_start --grace 0
  curl -sS -N --noproxy '*' -m 1 -o /dev/null -H 'Content-Type: application/json' -d "$(chat_json x true)" "$SERVE_URL/v1/chat/completions" 2>/dev/null 3>&- || true
  eventually 'grep -q "POST /v1/chat/completions .*status=499" "$SERVE_ERR"'
  # the upstream has sent nothing, yet its transfer is cancelled (the hang
  # lasts as long as the fake server does)
  eventually '[ "$(upstream_in_flight)" = 0 ]'
  local pid=$SERVE_PID status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  SERVE_PID=
  assert_equal "$status" "0"
  run ! grep -q 'still open' "$SERVE_ERR"
  grep -q '^copilot-serve: stopped$' "$SERVE_ERR"
}

# --- the log ----------------------------------------------------------------------------

@test "one log line per request, without prompts or tokens" {
  serve_start
  req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$(chat_json "purple-elephant-42")"
  curl -sS -N --noproxy '*' -o /dev/null -H 'Content-Type: application/json' -d "$(chat_json "purple-elephant-43" true)" "$SERVE_URL/chat/completions"
  req GET /v1/models
  req GET /v1/nothing
  eventually '[ "$(log_lines | wc -l)" -eq 4 ]'
  run log_lines
  assert_line --index 0 --regexp '^copilot-serve: 127\.0\.0\.1 POST /v1/chat/completions model=gpt-4\.1 api=chat upstream=/chat/completions passthrough initiator=user status=200 bytes=[0-9]+ ms=[0-9]+\.[0-9] input_tokens=[0-9]+ output_tokens=[0-9]+ multiplier=0 premium=0$'
  assert_line --index 1 --regexp '^copilot-serve: 127\.0\.0\.1 POST /chat/completions model=gpt-4\.1 stream api=chat upstream=/chat/completions passthrough initiator=user status=200 bytes=[0-9]+ ms=[0-9.]+ input_tokens=[0-9]+ output_tokens=[0-9]+ multiplier=0 premium=0$'
  assert_line --index 2 --regexp '^copilot-serve: 127\.0\.0\.1 GET /v1/models model=- status=200 bytes=[0-9]+ ms=[0-9.]+$'
  assert_line --index 3 --regexp '^copilot-serve: 127\.0\.0\.1 GET /v1/nothing model=- status=404 bytes=[0-9]+ ms=[0-9.]+ note="unknown_route"$'
  run cat "$SERVE_ERR"
  refute_output --partial "purple-elephant"
  refute_output --partial "tid="
  refute_output --partial "ghu_"
}

@test "--quiet keeps only what people must see" {
  serve_start --quiet
  req GET /v1/models
  assert_equal "$STATUS" "200"
  serve_stop
  assert_equal "$(log_lines)" ""
  grep -q '^copilot-serve: listening on ' "$SERVE_ERR"
}
