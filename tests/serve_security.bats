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
#   malformed_request           400  libmicrohttpd's "Request malformed"
#   uri_too_long                414  libmicrohttpd's "URI too long"
#   request_header_too_large    431  libmicrohttpd's "header too big"
#   http_version_not_supported  505  HTTP/2.0, HTTP/3.0 request lines
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
# Low, libmicrohttpd's HTML error pages       -> "libmicrohttpd's own errors ..."
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
  common_setup
  exec </dev/null
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

# The text of --help for one option: its line and the indented lines after it.
help_entry() {
  copilot-serve --help | awk -v opt="$1" '
    index($0, "  " opt) == 1 { on = 1; print; next }
    on && /^  -/ { exit }
    on && /^          / { print; next }
    on { exit }'
}

# --- Host: DNS rebinding ------------------------------------------------------





# --- Origin: browsers -----------------------------------------------------------





# --- request bodies -------------------------------------------------------------


# --- Unix socket ----------------------------------------------------------------



# --- slow clients ------------------------------------------------------------------







# --- libmicrohttpd's own answers -------------------------------------------------------


# --- model ids ----------------------------------------------------------------------


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
