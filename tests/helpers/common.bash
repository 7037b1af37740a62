# tests/helpers/common.bash — the shared Bats harness for copilot-utils.
#
# Use it from a suite in tests/:
#
#     load helpers/common
#     setup_file()    { fake_start; }      # one fake GitHub server per .bats file
#     teardown_file() { fake_stop; }
#     setup()         { common_setup; }    # isolated HOME/XDG, env, server reset
#
# Variables (exported):
#   REPO            repository root (computed from this file's location)
#   FAKE_SERVER     path of tests/fake-github/server.py
#   FAKE_PID        pid of the fake server           (set by fake_start)
#   FAKE_PORT       its port                         (set by fake_start)
#   FAKE_URL        http://127.0.0.1:$FAKE_PORT      (set by fake_start)
#   FAKE_DIR        dir holding its port/stdout/stderr files (stderr is the place to
#                   look when the server misbehaves)
# Knobs read by fake_start:
#   FAKE_PYTHON     interpreter command, default "python3" (e.g. "python3 -X dev")
#   FAKE_VERBOSE=1  start the server with --verbose (one stderr line per request)
#
# Functions (on failure: non-zero status and a reason on stderr; fake_reset, fake_config,
# fake_script, fake_approve and fake_deny print nothing on success):
#   fake_start                     start the server (call in setup_file, not in a subshell)
#   fake_stop                      stop it (teardown_file); safe to call twice
#   common_setup                   per-test setup: see the function for the full list
#   fake_ctl METHOD PATH [JSON]    generic control call, e.g. fake_ctl GET /_control/state
#   fake_reset                     POST /_control/reset (common_setup does it already)
#   fake_config JSON               POST /_control/config, e.g. fake_config '{"approval":"manual"}'
#   fake_script ROUTE JSON_ARRAY   queue scripted answers, e.g.
#                                  fake_script access_token '[{"error":"authorization_pending","repeat":2}]'
#   fake_approve [USER_CODE]       approve a pending device code (all pending ones without an
#                                  argument); retries for up to 10 s until one is pending
#   fake_deny [USER_CODE]          same, but deny
#   fake_log [ROUTE]               print the request log JSON ({"requests": [...], "count": N})
#   fake_count ROUTE               print how many requests reached ROUTE
#   fake_last ROUTE [EXPR]         print the last logged request to ROUTE, or a field of it:
#                                  fake_last chat '["headers"]["editor-version"]'
#   fake_state                     print GET /_control/state
#   fake_mint [JSON]               mint a Copilot token, print the envelope JSON
#                                  (JSON: {"github_token": ..., "ttl": seconds})
#   fake_copilot_token [TTL]       mint one and print only the token string
#   fake_token_json [TTL]          print a Copilot token document (ARCHITECTURE.md format) for a
#                                  freshly minted token, with api_url = $FAKE_URL
#   fake_auth_json [GITHUB_TOKEN]  print an auth state document (ARCHITECTURE.md format), default
#                                  token ghu_fake_valid (valid on the fake by default)
#   json_get FILE|- [EXPR]         print a JSON value: EXPR is a chain of [..] subscripts,
#                                  e.g. json_get - '["requests"][0]["headers"]["editor-version"]'
#                                  Strings print raw, everything else as compact JSON.
#                                  A missing key/index exits 1.
#
# Route names: device_code access_token device_page user copilot_token models chat
# embeddings. Full reference: tests/fake-github/README.md.

COMMON_HELPERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$COMMON_HELPERS_DIR/../.." && pwd)"
FAKE_SERVER="$REPO/tests/fake-github/server.py"
export REPO FAKE_SERVER

# `run -N` / `run --separate-stderr` need this declared.
if declare -F bats_require_minimum_version >/dev/null; then
  bats_require_minimum_version 1.5.0
fi

common_load_libs() {
  [[ -n "${_COMMON_LIBS_LOADED:-}" ]] && return 0
  local lib
  for lib in bats-support bats-assert bats-file; do
    if declare -F bats_load_library >/dev/null; then
      BATS_LIB_PATH="${BATS_LIB_PATH:-/usr/lib/bats}" bats_load_library "$lib"
    else
      load "/usr/lib/bats/$lib/load"
    fi
  done
  _COMMON_LIBS_LOADED=1
}

# Load the assertion libraries as soon as the helper is loaded, so that they are
# also usable in setup_file.
if declare -F load >/dev/null; then
  common_load_libs
fi

# curl for control calls: never through a proxy, bounded in time.
_fake_curl() {
  curl -sS --noproxy '*' --connect-timeout 5 -m 30 "$@"
}

fake_start() {
  local base="${BATS_FILE_TMPDIR:-${BATS_RUN_TMPDIR:-}}"
  if [[ -z "$base" ]]; then
    base="$(mktemp -d "${TMPDIR:-/tmp}/fake-github.XXXXXX")" || return 1
  fi
  FAKE_DIR="$base/fake-github"
  mkdir -p "$FAKE_DIR" || return 1
  rm -f "$FAKE_DIR/port"

  # stdin from /dev/null, stdout/stderr to files and fd 3 (Bats' TAP channel) closed:
  # a background process holding any of Bats' fds makes bats wait forever.
  # --watch-pid: the server exits by itself if this Bats process dies.
  # shellcheck disable=SC2086 # FAKE_PYTHON may carry options, e.g. "python3 -X dev"
  ${FAKE_PYTHON:-python3} "$FAKE_SERVER" --port 0 --port-file "$FAKE_DIR/port" --watch-pid "$$" \
    ${FAKE_VERBOSE:+--verbose} </dev/null >"$FAKE_DIR/stdout" 2>"$FAKE_DIR/stderr" 3>&- &
  FAKE_PID=$!
  export FAKE_PID FAKE_DIR

  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s "$FAKE_DIR/port" ]] && break
    if ! kill -0 "$FAKE_PID" 2>/dev/null; then
      echo "fake_start: the fake server exited at startup:" >&2
      cat "$FAKE_DIR/stderr" >&2
      FAKE_PID=
      return 1
    fi
    sleep 0.05
  done
  if [[ ! -s "$FAKE_DIR/port" ]]; then
    echo "fake_start: the fake server wrote no port within 10 s" >&2
    fake_stop
    return 1
  fi
  FAKE_PORT="$(<"$FAKE_DIR/port")"
  FAKE_URL="http://127.0.0.1:$FAKE_PORT"
  export FAKE_PORT FAKE_URL

  for ((i = 0; i < 100; i++)); do
    if _fake_curl -o /dev/null -m 2 "$FAKE_URL/_control/ping" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "fake_start: the fake server does not answer on $FAKE_URL" >&2
  cat "$FAKE_DIR/stderr" >&2
  fake_stop
  return 1
}

fake_stop() {
  local pid="${FAKE_PID:-}" i
  FAKE_PID=
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# Per-test setup:
#  - HOME=$BATS_TEST_TMPDIR/home; XDG_{CONFIG,CACHE,DATA,STATE}_HOME and XDG_RUNTIME_DIR
#    under $BATS_TEST_TMPDIR/xdg (all created; runtime dir mode 0700)
#  - unsets GITHUB_COPILOT_TOKEN GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_MODEL GH_TOKEN
#    GITHUB_TOKEN
#  - COPILOT_GITHUB_URL=$FAKE_URL, COPILOT_GITHUB_API_URL=$FAKE_URL/api,
#    COPILOT_API_URL=$FAKE_URL, NO_COLOR=1, NO_PROXY/no_proxy for loopback
#    (without a running fake server the URLs point at 127.0.0.1:9, which refuses,
#    so that no test can ever reach the real GitHub)
#  - the built tools first on PATH: $COPILOT_UTILS_BIN (make check SANITIZE=1 sets it to build/san/bin), else $REPO/bin
#  - resets the fake server (log, scripts, config, tokens)
#  - loads bats-support, bats-assert, bats-file
common_setup() {
  common_load_libs
  export HOME="$BATS_TEST_TMPDIR/home"
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/xdg/config"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/xdg/cache"
  export XDG_DATA_HOME="$BATS_TEST_TMPDIR/xdg/data"
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg/state"
  export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg/runtime"
  mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" \
    "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
  chmod 0700 "$XDG_RUNTIME_DIR"
  unset GITHUB_COPILOT_TOKEN GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_MODEL GH_TOKEN GITHUB_TOKEN
  local url="${FAKE_URL:-http://127.0.0.1:9}"
  export COPILOT_GITHUB_URL="$url"
  export COPILOT_GITHUB_API_URL="$url/api"
  export COPILOT_API_URL="$url"
  export NO_COLOR=1
  export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
  export no_proxy="$NO_PROXY"
  export PATH="${COPILOT_UTILS_BIN:-$REPO/bin}:$PATH"
  if [[ -n "${FAKE_URL:-}" ]]; then
    fake_reset
  fi
}

fake_ctl() {
  local method="${1:?fake_ctl METHOD PATH [JSON]}" path="${2:?fake_ctl METHOD PATH [JSON]}"
  local url="${FAKE_URL:?fake_ctl: no fake server (call fake_start in setup_file)}$path"
  local args=(-X "$method" --fail-with-body)
  if [[ $# -ge 3 ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$3")
  fi
  local out rc
  out="$(_fake_curl "${args[@]}" "$url")"
  rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "fake_ctl $method $path failed (curl exit $rc): $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

fake_reset() { fake_ctl POST /_control/reset '{}' >/dev/null; }

fake_config() { fake_ctl POST /_control/config "${1:?fake_config JSON}" >/dev/null; }

fake_script() {
  local route="${1:?fake_script ROUTE JSON_ARRAY}" responses="${2:?fake_script ROUTE JSON_ARRAY}"
  fake_ctl POST /_control/script "{\"route\": \"$route\", \"responses\": $responses}" >/dev/null
}

_fake_decide() {
  local what="$1" code="${2:-}" body i
  if [[ -n "$code" ]]; then
    body="{\"user_code\": \"$code\"}"
  else
    body='{"all": true}'
  fi
  for ((i = 0; i < 200; i++)); do
    if _fake_curl -X POST --fail -o /dev/null -H 'Content-Type: application/json' \
      --data-binary "$body" "$FAKE_URL/_control/$what" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "fake_$what: no pending device code${code:+ $code} after 10 s" >&2
  return 1
}

fake_approve() { _fake_decide approve "${1:-}"; }
fake_deny() { _fake_decide deny "${1:-}"; }

fake_log() {
  if [[ -n "${1:-}" ]]; then
    fake_ctl GET "/_control/log?route=$1"
  else
    fake_ctl GET /_control/log
  fi
}

fake_count() {
  fake_log "${1:?fake_count ROUTE}" | json_get - '["count"]'
}

fake_last() {
  local route="${1:?fake_last ROUTE [EXPR]}"
  fake_log "$route" | json_get - "[\"requests\"][-1]${2:-}"
}

fake_state() { fake_ctl GET /_control/state; }

fake_mint() {
  local body="${1:-}"
  [[ -n "$body" ]] || body='{}'
  fake_ctl POST /_control/mint "$body"
}

fake_copilot_token() {
  local body='{}'
  [[ -n "${1:-}" ]] && body="{\"ttl\": $1}"
  fake_mint "$body" | json_get - '["token"]'
}

fake_token_json() {
  local body='{}'
  [[ -n "${1:-}" ]] && body="{\"ttl\": $1}"
  fake_mint "$body" | FAKE_URL="$FAKE_URL" python3 -c '
import json, os, sys, time
e = json.load(sys.stdin)
print(json.dumps({"host": "github.com", "token": e["token"], "expires_at": e["expires_at"],
                  "refresh_in": e["refresh_in"], "fetched_at": int(time.time()),
                  "api_url": os.environ["FAKE_URL"], "sku": e["sku"]}))'
}

fake_auth_json() {
  local tok="${1:-ghu_fake_valid}"
  printf '{"host": "github.com", "client_id": "Iv1.b507a08c87ecfe98", "oauth_token": "%s", "scope": "read:user", "user": "octocat", "created_at": %s}\n' \
    "$tok" "$(date +%s)"
}

# json_get uses jq when it is installed (fast: this is called a lot) and python3
# otherwise; JSON_GET_IMPL=python forces the python3 implementation.
# shellcheck disable=SC2016 # jq program, not shell
_JSON_GET_JQ='
def walk_path($p):
  reduce $p[] as $k ([true, .];
    if .[0] then
      .[1] as $v
      | if ($v | type) == "object" and ($k | type) == "string" and ($v | has($k)) then [true, $v[$k]]
        elif ($v | type) == "array" and ($k | type) == "number"
             and $k < ($v | length) and $k >= -($v | length) then [true, $v[$k]]
        else [false] end
    else . end);
if length != 1 then "json_get: expected one JSON document in " + $src + "\n" | halt_error(1)
else .[0] end
| (try ([path('
# shellcheck disable=SC2016
_JSON_GET_JQ_TAIL=')][0]) catch null) as $p
| if $p == null then [false] else walk_path($p) end
| if .[0] then .[1] | (if type == "string" then . else tojson end)
  else ("json_get: " + $expr + " not found in " + $src + "\n" | halt_error(1)) end
'

json_get() {
  local src="${1:?json_get FILE|- [EXPR]}" expr="${2:-}"
  local re='^(\[("([^"\\]|\\.)*"|-?[0-9]+)\])*$'
  if [[ "${JSON_GET_IMPL:-}" != python && "$expr" =~ $re ]] && command -v jq >/dev/null; then
    local prog="$_JSON_GET_JQ.$expr$_JSON_GET_JQ_TAIL"
    if [[ "$src" == - ]]; then
      jq -r -s --arg expr "$expr" --arg src "$src" "$prog"
    else
      jq -r -s --arg expr "$expr" --arg src "$src" "$prog" "$src"
    fi
    return
  fi
  python3 -c '
import ast, json, re, sys
src, expr = sys.argv[1], sys.argv[2]
try:
    doc = json.load(sys.stdin) if src == "-" else json.load(open(src, encoding="utf-8"))
except (OSError, ValueError) as e:
    sys.exit("json_get: cannot read JSON from %s: %s" % (src, e))
tok = re.compile(r"\s*\[\s*(\"(?:[^\"\\]|\\.)*\"|\x27(?:[^\x27\\]|\\.)*\x27|-?\d+)\s*\]")
pos, v = 0, doc
while pos < len(expr.rstrip()):
    m = tok.match(expr, pos)
    if not m:
        sys.exit("json_get: bad expression at %r (use [\"key\"][0]...)" % expr[pos:])
    key = ast.literal_eval(m.group(1))
    try:
        if isinstance(v, list) and not isinstance(key, int) or isinstance(v, dict) and not isinstance(key, str):
            raise TypeError
        v = v[key]
    except (KeyError, IndexError, TypeError):
        sys.exit("json_get: %s not found in %s" % (expr, src))
    pos = m.end()
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
' "$src" "$expr"
}
