#!/usr/bin/env bats
# copilot-serve and what requests cost (issue 17, "Quota from the answers
# themselves"; ARCHITECTURE.md, "Usage and quota"): the multiplier and the
# spend on each log line, /healthz's latest quota snapshot, GET /usage,
# --budget (429 in the client's shape), --ledger (one whole JSON line per
# request, 20 at once), malformed quota headers.

load helpers/common
load helpers/serve

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  export PATH="${COPILOT_UTILS_BIN:-$REPO/bin}:$PATH"
  exec </dev/null
  serve_setup
}

teardown() { serve_teardown; }

# chat MODEL [stream]: POST /v1/chat/completions; STATUS, BODY.
chat() {
  req POST /v1/chat/completions -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"stream\":${2:-false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}
# responses MODEL: POST /v1/responses.
responses() {
  req POST /v1/responses -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"input\":\"hi\"}"
}
# messages MODEL [stream]: POST /v1/messages.
messages() {
  req POST /v1/messages -H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
    -d "{\"model\":\"$1\",\"max_tokens\":50,\"stream\":${2:-false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}
usage() { req GET /usage; assert_equal "$STATUS" 200; }
