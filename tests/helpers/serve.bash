# Running copilot-serve in a Bats test (tests/copilot-serve.bats, serve_security.bats,
# tests/serve_faults.bats): one server per test on an ephemeral port, its
# stderr (the log) in $SERVE_ERR, its URL in $SERVE_URL.

# For setup(): the test's environment (common_setup), standard input from
# /dev/null (a server or client must never wait on Bats'), the GitHub token
# the library exchanges (valid on the fake) and the server's state variables.
serve_setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  SERVE_PID=
  SERVE_ERR="$BATS_TEST_TMPDIR/serve.err"
}

# Starts copilot-serve in the background (listening on $SERVE_LISTEN, default
# 127.0.0.1:0; standard input from $SERVE_STDIN, default /dev/null) and sets
# SERVE_URL and SERVE_PORT from its "listening on" line.
serve_start() {
  : >"$SERVE_ERR"
  copilot-serve --listen "${SERVE_LISTEN:-127.0.0.1:0}" "$@" \
    <"${SERVE_STDIN:-/dev/null}" >"$BATS_TEST_TMPDIR/serve.out" 2>"$SERVE_ERR" 3>&- &
  SERVE_PID=$!
  local i url
  for ((i = 0; i < 300; i++)); do
    url="$(sed -n 's|^copilot-serve: listening on \(http://[^ ]*\)$|\1|p' "$SERVE_ERR")"
    if [[ -n "$url" ]]; then
      # 0.0.0.0 is where it listens, not where to connect
      SERVE_URL="${url/0.0.0.0/127.0.0.1}"
      SERVE_PORT="${url##*:}"
      return 0
    fi
    if ! kill -0 "$SERVE_PID" 2>/dev/null; then
      echo "copilot-serve exited at startup:" >&2
      cat "$SERVE_ERR" >&2
      SERVE_PID=
      return 1
    fi
    sleep 0.05
  done
  echo "copilot-serve said no 'listening on' line within 15 s:" >&2
  cat "$SERVE_ERR" >&2
  return 1
}

# Stops it (SIGTERM, then SIGKILL after 10 s); sets SERVE_STATUS.
serve_stop() {
  local pid="${SERVE_PID:-}" i
  SERVE_PID=
  SERVE_STATUS=
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null
  SERVE_STATUS=$?
}

# For teardown(): stops a server the test left running. It must exit 0 on
# SIGTERM, and no run may have tripped a sanitizer (make check SANITIZE=1).
serve_teardown() {
  local running="${SERVE_PID:-}"
  serve_stop
  if [[ -f "$SERVE_ERR" ]] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SERVE_ERR"; then
    cat "$SERVE_ERR" >&2
    return 1
  fi
  if [[ -n "$running" && "$SERVE_STATUS" != 0 ]]; then
    echo "copilot-serve exited with $SERVE_STATUS on SIGTERM:" >&2
    cat "$SERVE_ERR" >&2
    return 1
  fi
}

# req METHOD PATH [curl args]: STATUS, BODY and the headers file $HDRS.
req() {
  local method="$1" path="$2"
  shift 2
  HDRS="$BATS_TEST_TMPDIR/headers"
  STATUS="$(curl -sS --noproxy '*' -m 30 -X "$method" -o "$BATS_TEST_TMPDIR/body" \
    -D "$HDRS" -w '%{http_code}' "$@" "$SERVE_URL$path")"
  BODY="$(cat "$BATS_TEST_TMPDIR/body")"
}

chat_json() {  # chat_json PROMPT [true|false]
  python3 -c 'import json, sys
print(json.dumps({"model": "gpt-4.1", "stream": sys.argv[2] == "true",
                  "messages": [{"role": "user", "content": sys.argv[1]}]}))' "$1" "${2:-false}"
}

# eventually 'SHELL CONDITION': waits up to 10 s for it to hold (evaluated
# afresh each time, so "$(...)" inside the quotes is re-run).
eventually() {
  local i
  for ((i = 0; i < 200; i++)); do
    eval "$1" && return 0
    sleep 0.05
  done
  eval "$1"
}

# The request log lines in $SERVE_ERR.
log_lines() { grep -E '^copilot-serve: [0-9a-f.:]+ [A-Z]+ ' "$SERVE_ERR" || true; }

# Exchanges with the upstream not yet finished, from /healthz.
upstream_in_flight() {
  curl -sS --noproxy '*' -m 10 "$SERVE_URL/healthz" | jq -r .upstream_requests_in_flight
}
