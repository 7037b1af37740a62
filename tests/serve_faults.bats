#!/usr/bin/env bats
# The fault matrix of copilot-serve's upstream: every fault the fake server
# can play on the Copilot API, tried on three kinds of client request sent
# through copilot-serve (the columns):
#
#   plain   POST /v1/chat/completions  "stream": false   (fake route chat)
#   stream  POST /v1/chat/completions  "stream": true    (fake route chat)
#   models  GET  /v1/models                              (fake route models)
#
# Each test is one fault (a row) and starts its own copilot-serve. Every cell
# asserts: the status the client gets (upstream errors relayed with their
# status and Retry-After; unreachable 502, timed out 504; a stream cut after
# it began ends the client's 200 stream with an SSE error event
# {"error":{...,"code":"upstream_error"}}); an OpenAI-style error body whose
# .error.message is one non-empty line wherever there is an error; an answer
# the upstream sent whole relayed byte for byte; no hang (curl gives up after
# $GUARD s, which fails the cell); exactly one log line for the request, with
# that status; no fake GitHub or Copilot token in the log or the answer; the
# server alive afterwards (GET /healthz 200, a normal chat request answered)
# and upstream_requests_in_flight back to 0. Hangs and stalls use the
# documented COPILOT_TIMEOUT=1. teardown (serve_teardown) wants a
# clean exit 0 on SIGTERM and no sanitizer report.
# teardown_file prints the matrix (fault x column -> ok/FAIL) on the TAP stream.

load helpers/common
load helpers/matrix
load helpers/serve

# The hang guard (curl -m), in seconds: far beyond the longest documented
# give-up time of a cell (COPILOT_TIMEOUT=1: about a second or two).
GUARD=60

COLUMNS=(plain stream models)

setup_file() {
  fake_start
  export MATRIX="$BATS_FILE_TMPDIR/matrix"
  : >"$MATRIX"
  # A loopback port where nothing listens: connections are refused.
  CLOSED_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export CLOSED_PORT
}

teardown_file() {
  fake_stop
  print_matrix "copilot-serve fault matrix (fault x column): ok = documented status and body," \
    "one log line, no token, no hang, alive and idle afterwards" fault "${COLUMNS[@]}" >&3
}

setup() {
  serve_setup
  FWD_PID=
}

teardown() {
  fwd_stop
  serve_teardown
}

# fwd_start: a small TCP forwarder on $CLOSED_PORT to the fake server, so
# that the refused row can check that the server serves again once its
# upstream is back. fwd_stop closes the port again.
fwd_start() {
  local ready="$BATS_TEST_TMPDIR/fwd.ready" i
  rm -f "$ready"
  python3 - "$CLOSED_PORT" "$FAKE_PORT" "$ready" </dev/null >/dev/null 2>&1 3>&- <<'EOF' &
import socket, sys, threading
lport, tport, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", lport))
s.listen(16)
open(ready, "w").close()
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
while True:
    c, _ = s.accept()
    u = socket.create_connection(("127.0.0.1", tport))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
EOF
  FWD_PID=$!
  for ((i = 0; i < 200; i++)); do
    [[ -e "$ready" ]] && return 0
    sleep 0.05
  done
  echo "the forwarder did not start" >&2
  return 1
}

fwd_stop() {
  [[ -n "${FWD_PID:-}" ]] || return 0
  kill "$FWD_PID" 2>/dev/null || true
  wait "$FWD_PID" 2>/dev/null || true
  FWD_PID=
}

nlog() { log_lines | wc -l; }

# send COLUMN OUT [BODY_FILE]: one client request; sets STATUS, SIZE,
# CURL_RC and writes OUT.head (and the body to BODY_FILE, default OUT.body).
send() {
  local col="$1" out="$2" body="${3:-$2.body}"
  local -a args
  case "$col" in
  plain) args=(-X POST -H 'Content-Type: application/json'
    --data-binary "$(chat_json hello false)" "$SERVE_URL/v1/chat/completions") ;;
  stream) args=(-N -X POST -H 'Content-Type: application/json'
    --data-binary "$(chat_json hello true)" "$SERVE_URL/v1/chat/completions") ;;
  models) args=("$SERVE_URL/v1/models") ;;
  esac
  local w
  CURL_RC=0
  w="$(curl -sS --noproxy '*' -m "$GUARD" -o "$body" -D "$out.head" \
    -w '%{http_code} %{size_download}' "${args[@]}" 2>"$out.curlerr")" || CURL_RC=$?
  STATUS="${w%% *}" SIZE="${w##* }"
}

# header FILE NAME: a header's value.
header() { sed -n "s/^$2: *\\(.*\\)\\r\$/\\1/Ip" "$1" | head -n1; }

# ---------------------------------------------------------------- the cases

# Fixed answers for the relay and drip cells, sent whole (or dripped) by the
# fake and expected byte for byte by the client.
PLAIN_BODY='{"id":"chatcmpl-fixed","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"slow but whole"}}]}'
STREAM_BODY=$'data: {"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"slow "}}]}\n\ndata: {"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"but whole"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
HTML_BODY='<html><body>Sign in to the guest Wi-Fi</body></html>'

# upstream_body FAULT COLUMN: the body the fake sends whole for the cells
# that relay it (empty, invalid, html, drip); nothing otherwise.
upstream_body() {
  case "$1:$2" in
  empty:*) printf '' ;;
  invalid:plain) printf '%s' '{"id": "chatcmpl' ;;
  invalid:stream) printf '%s' $'data: {"choices": [{"delta": \n\n' ;;
  invalid:models) printf '%s' '{"data": [{"id"' ;;
  html:*) printf '%s' "$HTML_BODY" ;;
  drip:plain) printf '%s' "$PLAIN_BODY" ;;
  drip:stream) printf '%s' "$STREAM_BODY" ;;
  esac
}

# fault_script FAULT COLUMN: the scripted answer (one JSON object, repeated
# forever), or nothing for a refused connection.
fault_script() {
  local f="$1" col="$2"
  case "$f" in
  refused) ;;
  reset) echo '{"reset": true}' ;;
  cut) echo '{"cut": 10}' ;;
  hang) echo '{"hang": true}' ;;
  500) echo '{"status": 500}' ;;
  502) echo '{"status": 502}' ;;
  503) echo '{"status": 503, "retry_after": 1}' ;;
  429) echo '{"status": 429, "retry_after": 1}' ;;
  # (through a pipe: "$(...)" would drop the trailing line ends)
  empty | invalid) upstream_body "$f" "$col" | jq -Rsc '{status: 200, body: .}' ;;
  html) jq -cn --arg b "$HTML_BODY" '{body: $b, content_type: "text/html; charset=utf-8"}' ;;
  big) echo '{"big_body": 100000000}' ;;
  drip)
    if [[ "$col" == models ]]; then
      echo '{"drip": 0.001}'  # the default list, compared with an undisturbed answer
    else
      upstream_body drip "$col" | jq -Rsc '{body: ., drip: 0.001}'
    fi
    ;;
  stall) echo '{"drip": 5}' ;;  # one byte, then 5 s of silence
  esac
}

# expected FAULT COLUMN: "STATUS KIND", KIND being what the body must be:
#   error     an OpenAI-style JSON error (retry: and Retry-After: 1 relayed)
#   sse_error the stream began, then ends with an SSE error event
#   relay     the upstream's body byte for byte, with its Content-Type
#   big       the upstream's 100 MB, relayed as it came (a stream is not buffered)
#   same      the same bytes as without the fault (drip)
expected() {
  local f="$1" col="$2"
  case "$f" in
  refused | reset) echo "502 error" ;;
  cut) if [[ "$col" == stream ]]; then echo "200 sse_error"; else echo "502 error"; fi ;;
  hang) echo "504 error" ;;
  stall) if [[ "$col" == stream ]]; then echo "200 sse_error"; else echo "504 error"; fi ;;
  500 | 502) echo "$f error" ;;
  503 | 429) echo "$f retry" ;;
  # A 200 is relayed unchanged (copilot-serve(1)); the model list, which the
  # server rewrites into OpenAI's shape, cannot be: a bad one is a 502.
  empty | invalid | html) if [[ "$col" == models ]]; then echo "502 error"; else echo "200 relay"; fi ;;
  # The buffered answer cap (ProxyOptions::max_answer, 64 MiB): 502 past it.
  big) if [[ "$col" == stream ]]; then echo "200 big"; else echo "502 error"; fi ;;
  drip) echo "200 same" ;;
  esac
}

# expected_code FAULT COLUMN: the .error.code copilot-serve itself answers
# with ("" where the upstream's own error is relayed): an upstream it could
# not reach or that timed out, or one whose answer was broken.
expected_code() {
  case "$1:$2" in
  refused:* | reset:* | hang:* | stall:plain | stall:models) echo upstream_unreachable ;;
  cut:plain | cut:models | big:plain | big:models) echo bad_upstream_answer ;;
  empty:models | invalid:models | html:models) echo bad_upstream_answer ;;
  esac
}

# sse_prefix FAULT: the bytes of the upstream's stream the client gets before
# the error event: its complete events only (issue 13: never half an event).
# The cut and the stall both break inside the first event ('data: {"ch',
# 'd'), so nothing comes before the error event.
sse_prefix() {
  case "$1" in
  cut | stall) printf '' ;;
  esac
}

# one_line_error FILE: .error.message is a non-empty string on one line.
one_line_error() {
  jq -e '(.error.message | type == "string" and length > 0 and (test("[\r\n]") | not))' "$1" >/dev/null 2>&1
}

# sse_error_ok FILE PREFIX: the stream starts with PREFIX and its last event
# is data: {"error":{"message": one line,...,"code":"upstream_error"}}.
sse_error_ok() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
prefix = sys.argv[2]
if not data.startswith(prefix):
    sys.exit("the stream does not start with the upstream's complete events %r: %r" % (prefix, data[:40]))
if not data.endswith("\n\n"):
    sys.exit("the stream does not end with a whole event: %r" % data[-60:])
events = [e for e in data.split("\n\n") if e.strip()]
last = events[-1] if events else ""
if not last.startswith("data: {"):
    sys.exit("the last event is not a data: {...} event: %r" % last[-200:])
try:
    doc = json.loads(last[len("data: "):])
    msg, code = doc["error"]["message"], doc["error"]["code"]
except (ValueError, KeyError, TypeError) as e:
    sys.exit("the last event is not an error event (%s): %r" % (e, last[-200:]))
if not isinstance(msg, str) or not msg or "\n" in msg or "\r" in msg:
    sys.exit("the error message is not one non-empty line: %r" % msg)
if code != "upstream_error":
    sys.exit("the error code is %r, not upstream_error" % code)
EOF
}

# ------------------------------------------------------- one cell of the matrix


# cell FAULT COLUMN: one request under one fault; records ok or FAIL and
# returns non-zero (with the reasons on stderr) when the cell fails.
cell() {
  local f="$1" col="$2" route=chat script want kind why=""
  [[ "$col" == models ]] && route=models
  read -r want kind <<<"$(expected "$f" "$col")"
  local out="$BATS_TEST_TMPDIR/$f.$col" body="$BATS_TEST_TMPDIR/$f.$col.body"
  [[ "$kind" == big ]] && body=/dev/null

  # For the drip cell of the model list: the undisturbed answer first.
  fake_ctl DELETE /_control/script >/dev/null
  if [[ "$f:$col" == drip:models ]]; then
    send models "$out.base"
    [[ "$STATUS" == 200 ]] || why+=" the undisturbed model list answered $STATUS;"
  fi

  script="$(fault_script "$f" "$col")"
  [[ -z "$script" ]] || fake_script "$route" "[${script%\}}, \"repeat\": -1}]"
  local before path_re
  before="$(nlog)"
  if [[ "$col" == models ]]; then path_re='GET /v1/models'; else path_re='POST /v1/chat/completions'; fi

  send "$col" "$out" "$body"

  # No hang, the right status.
  if [[ $CURL_RC -eq 28 ]]; then
    why+=" hung: no whole answer within ${GUARD}s;"
  elif [[ $CURL_RC -ne 0 ]]; then
    why+=" curl exit $CURL_RC ($(tr -d '\n' <"$out.curlerr"));"
  fi
  [[ "$STATUS" == "$want" ]] || why+=" status $STATUS, expected $want;"

  # The body.
  local ct
  ct="$(header "$out.head" Content-Type)"
  case "$kind" in
  error | retry)
    one_line_error "$body" || why+=" not an OpenAI-style error with a one-line .error.message: $(head -c 300 "$body" 2>/dev/null);"
    local code got_code
    code="$(expected_code "$f" "$col")"
    if [[ -n "$code" ]]; then
      got_code="$(jq -r '.error.code' "$body" 2>/dev/null)"
      [[ "$got_code" == "$code" ]] || why+=" error code '$got_code', expected $code;"
    fi
    [[ "$ct" == application/json* ]] || why+=" error Content-Type '$ct';"
    if [[ "$kind" == retry ]]; then
      [[ "$(header "$out.head" Retry-After)" == 1 ]] || why+=" Retry-After '$(header "$out.head" Retry-After)', expected 1 (relayed);"
    fi
    ;;
  sse_error)
    [[ "$ct" == text/event-stream* ]] || why+=" stream Content-Type '$ct';"
    local msg
    msg="$(sse_error_ok "$body" "$(sse_prefix "$f")" 2>&1)" || why+=" $msg;"
    ;;
  relay)
    cmp -s "$body" <(upstream_body "$f" "$col") || why+=" the body was not relayed unchanged: $(head -c 200 "$body" 2>/dev/null);"
    # The upstream's Content-Type is kept, for a stream too.
    if [[ "$f" == html ]]; then
      [[ "$ct" == text/html* ]] || why+=" Content-Type '$ct', expected the upstream's text/html;"
    fi
    ;;
  big)
    [[ "$SIZE" == 100000000 ]] || why+=" $SIZE bytes relayed of 100000000;"
    ;;
  same)
    if [[ "$col" == models ]]; then
      cmp -s "$body" "$out.base.body" || why+=" the dripped model list differs from the undisturbed one;"
    else
      cmp -s "$body" <(upstream_body drip "$col") || why+=" the dripped answer differs: $(head -c 200 "$body" 2>/dev/null);"
    fi
    ;;
  esac

  # Exactly one log line for the request, with the status the client got.
  # shellcheck disable=SC2016 # evaluated by eventually
  if ! eventually '[ "$(nlog)" -gt "$before" ]'; then
    why+=" no log line;"
  else
    local lines n
    lines="$(log_lines | tail -n +"$((before + 1))" | grep -v ' /healthz ' || true)"
    n="$(grep -c . <<<"$lines" || true)"
    if [[ "$n" != 1 ]]; then
      why+=" $n log lines for the request;"
    elif ! grep -Eq "^copilot-serve: 127\.0\.0\.1 $path_re .*status=$want " <<<"$lines"; then
      why+=" log line without status=$want: $lines;"
    elif [[ "$kind" == sse_error ]] && ! grep -q 'note="upstream cut off"' <<<"$lines"; then
      why+=" log line without note=\"upstream cut off\": $lines;"
    fi
  fi

  # No token anywhere the client or the log can see.
  if grep -qE 'ghu_|tid=fake' "$SERVE_ERR" "$out.head" 2>/dev/null ||
    { [[ "$body" != /dev/null ]] && grep -qE 'ghu_|tid=fake' "$body" 2>/dev/null; }; then
    why+=" a token was printed or answered;"
  fi

  # Alive and serving afterwards, nothing left in flight.
  fake_ctl DELETE /_control/script >/dev/null
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then
    why+=" copilot-serve died;"
  else
    # shellcheck disable=SC2016
    eventually '[ "$(upstream_in_flight)" = 0 ]' || why+=" upstream_requests_in_flight is $(upstream_in_flight), not 0;"
    local hs
    hs="$(curl -sS --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' "$SERVE_URL/healthz" 2>/dev/null)"
    [[ "$hs" == 200 ]] || why+=" /healthz answered '$hs' afterwards;"
    [[ "$f" == refused ]] && fwd_start
    local cs
    cs="$(curl -sS --noproxy '*' -m 30 -H 'Content-Type: application/json' \
      --data-binary "$(chat_json ping false)" -w ' %{http_code}' "$SERVE_URL/v1/chat/completions" 2>&1)"
    [[ "$f" == refused ]] && fwd_stop
    [[ "${cs##* }" == 200 && "$cs" == *'"You said: ping"'* ]] ||
      why+=" a normal chat request afterwards failed: $cs;"
  fi

  if [[ -z "$why" ]]; then
    record "$f" "$col" ok
    return 0
  fi
  record "$f" "$col" FAIL
  {
    echo "$f / $col: $why"
    tail -n 5 "$SERVE_ERR" | sed 's/^/    serve: /'
  } >&2
  return 1
}

# row FAULT [serve options]: one copilot-serve, every column under one fault.
row() {
  local f="$1" col failed=0
  shift
  serve_start "$@"
  for col in "${COLUMNS[@]}"; do
    cell "$f" "$col" || failed=1
  done
  return "$failed"
}

# ------------------------------------------------------------------- the rows

@test "refused upstream connection: 502 with an OpenAI error, and served again once it is back" {
  row refused --api-url "http://127.0.0.1:$CLOSED_PORT"
}

@test "upstream reset before the answer: 502" {
  row reset
}

@test "upstream closed mid-body: 502; a stream that began ends with an SSE error event" {
  row cut
}

@test "an upstream that never answers: 504 after COPILOT_TIMEOUT" {
  COPILOT_TIMEOUT=1 row hang
}

@test "upstream HTTP 500: relayed as 500 with an OpenAI error" {
  row 500
}

@test "upstream HTTP 502: relayed as 502 with an OpenAI error" {
  row 502
}

@test "upstream HTTP 503 with Retry-After: relayed with its Retry-After" {
  row 503
}

@test "upstream HTTP 429 with Retry-After: relayed with its Retry-After" {
  row 429
}

@test "an empty 200 body: relayed unchanged; the model list answers 502" {
  row empty
}

@test "invalid JSON in a 200: relayed unchanged; the model list answers 502" {
  row invalid
}

@test "an HTML page instead of JSON: relayed unchanged; the model list answers 502" {
  row html
}

@test "a 100 MB body: 502 past the buffered answer cap; a stream is relayed whole" {
  row big
}

@test "a slow drip of bytes: every answer arrives whole, the same bytes" {
  row drip
}

@test "an upstream that stalls mid-body: 504; a stream that began ends with an SSE error event" {
  COPILOT_TIMEOUT=1 row stall
}
