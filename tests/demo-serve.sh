#!/usr/bin/env bash
# make demo, the copilot-serve step: start copilot-serve against the fake
# GitHub server that tests/demo.sh runs (COPILOT_GITHUB_URL,
# COPILOT_GITHUB_API_URL and COPILOT_API_URL point at it, HOME and XDG_* at
# the demo's temporary directory, where copilot-login stored a login), send
# one OpenAI and one Anthropic request with curl, print the answers, and
# stop the server.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${COPILOT_UTILS_BIN:-$repo/bin}"
export PATH="$bin:$PATH"
: "${COPILOT_API_URL:?demo-serve.sh: COPILOT_API_URL must point at the fake server (run it from tests/demo.sh)}"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

work="$(mktemp -d "${TMPDIR:-/tmp}/copilot-demo-serve.XXXXXX")"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' off=$'\033[0m'; else bold= off=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off" >&2; }

step "copilot-serve --listen 127.0.0.1:0   (an OpenAI-compatible endpoint; port 0 = any free port)"
# --no-login: the demo logged in already; never wait for a device code here.
copilot-serve --listen 127.0.0.1:0 --no-login </dev/null 2>"$work/serve.log" &
pid=$!
url=""
for _ in $(seq 100); do
    url="$(sed -n 's|^copilot-serve: listening on \(http://.*\)$|\1|p' "$work/serve.log")"
    [ -n "$url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$work/serve.log" >&2
        pid=""
        echo "demo-serve.sh: copilot-serve did not start" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    cat "$work/serve.log" >&2
    echo "demo-serve.sh: copilot-serve said no 'listening on' line" >&2
    exit 1
fi
echo "copilot-serve at $url (any OpenAI client: base URL $url/v1, any API key)" >&2

step "curl $url/v1/chat/completions"
curl -sS --noproxy '*' -m 30 "$url/v1/chat/completions" \
    -H 'Authorization: Bearer any-key-will-do' -H 'Content-Type: application/json' \
    -d '{"model": "gpt-4.1", "messages": [{"role": "user", "content": "hello from an OpenAI client"}]}' \
    >"$work/answer.json"
python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))
print(a["choices"][0]["message"]["content"])' "$work/answer.json"

step "curl $url/v1/messages   (an Anthropic client; the dated name maps to the catalogue's id)"
curl -sS --noproxy '*' -m 30 "$url/v1/messages" \
    -H 'x-api-key: any-key-will-do' -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
    -d '{"model": "claude-sonnet-4-5-20250929", "max_tokens": 256, "messages": [{"role": "user", "content": "hello from an Anthropic client"}]}' \
    >"$work/message.json"
python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print("".join(b["text"] for b in m["content"] if b["type"] == "text"), "(stop_reason %s)" % m["stop_reason"])' "$work/message.json"

step "stopping copilot-serve (SIGTERM)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
sed 's/^/  /' "$work/serve.log" >&2
if [ "$status" -ne 0 ]; then
    echo "demo-serve.sh: copilot-serve exited with $status" >&2
    exit 1
fi
