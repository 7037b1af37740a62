#!/usr/bin/env bash
# make demo: the whole login -> token -> chat path against the bundled fake
# GitHub server, with a scripted "user" who approves the device code.
# Nothing here touches your real ~/.config or the network: HOME and XDG_*
# point into a temporary directory and every URL is 127.0.0.1.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${COPILOT_UTILS_BIN:-$repo/bin}"
export PATH="$bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/copilot-demo.XXXXXX")"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$HOME"
unset GITHUB_COPILOT_TOKEN GH_COPILOT_TOKEN COPILOT_TOKEN COPILOT_MODEL

# Bold only on a terminal, and never with NO_COLOR.
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' off=$'\033[0m'; else bold= off=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off" >&2; }
ctl() { curl -sS -X POST -H 'Content-Type: application/json' -d "${2:-{\}}" "$url/_control/$1" >/dev/null; }

step "starting the fake GitHub server on 127.0.0.1"
python3 "$repo/tests/fake-github/server.py" >"$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(head -n1 "$work/port")"
url="http://127.0.0.1:$port"
export COPILOT_GITHUB_URL="$url" COPILOT_GITHUB_API_URL="$url/api" COPILOT_API_URL="$url"
echo "fake server at $url" >&2

# The "user" approves the code after seeing it; a 1 s poll interval keeps the demo short.
ctl config '{"approval": "manual", "interval": 1}'

step "copilot-login   (device flow; a scripted user approves the code)"
( sleep 2; curl -sS -X POST -H 'Content-Type: application/json' -d '{"all": true}' \
      "$url/_control/approve" >/dev/null ) &
copilot-login
echo "auth state: $XDG_CONFIG_HOME/copilot-utils/auth/github.com.json ($(stat -c %a "$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"))" >&2
copilot-login --status

step "copilot-token --json   (exchange; cached in \$XDG_CACHE_HOME)"
copilot-token --json | sed -E 's/"token":"[^"]*"/"token":"tid=****"/'
step "copilot-token --check   (no network: inspects the cached token)"
copilot-token --check

step "copilot-usage   (the plan and what is left of each quota)"
copilot-usage
step "copilot-usage --check --min-remaining 10%   (exit 0: enough premium requests left)"
copilot-usage --check --min-remaining 10%

step "copilot-chat \"hello, Copilot\"   (streamed)"
copilot-chat "hello, Copilot"

step "a pipeline: printf 'line one\\nline two\\n' | copilot-chat \"count the lines\""
printf 'line one\nline two\n' | copilot-chat "count the lines"

"$repo/tests/demo-serve.sh"

step "requests the fake server saw"
curl -sS "$url/_control/log" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    print("  %-4s %-40s -> %s" % (r["method"], r["path"], r["status"]))' >&2
step "done"
