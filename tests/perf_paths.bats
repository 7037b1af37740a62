#!/usr/bin/env bats
# The fast paths the benchmarks (bench/, issue 7) rely on, kept covered by
# behaviour rather than by time: copilot-token's fresh-cache path loads no
# network stack, takes no lock, reads no credentials and writes nothing; and
# copilot-chat's steady-state shortcut for long streams (chunks that repeat one
# envelope around new text are not parsed in full) gives exactly what the full
# parser gives, whatever the stream throws at it.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  export PATH="${COPILOT_UTILS_BIN:-$REPO/bin}:$PATH"
  exec </dev/null
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  AUTH="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
}

# write_cache AGE: a token cache fetched AGE seconds ago (refresh_in 1500 s,
# so fresh below 1440), holding a token the fake server accepts. Prints the token.
write_cache() {
  mkdir -p "${CACHE%/*}"
  chmod 700 "$XDG_CACHE_HOME/copilot-utils" "${CACHE%/*}"
  fake_mint '{"ttl": 3600}' | jq -c --argjson age "$1" \
    '{host: "github.com", token, expires_at, refresh_in: 1500, fetched_at: (now - $age | floor),
      api_url: "https://api.individual.githubcopilot.com", sku}' >"$CACHE"
  chmod 600 "$CACHE"
  json_get "$CACHE" '["token"]'
}

# loads_libcurl CMD...: runs CMD with the dynamic loader reporting every
# object it maps; succeeds if libcurl was one of them.
loads_libcurl() {
  LD_DEBUG=files "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/ld.log" || true
  grep -q 'file=libcurl' "$BATS_TEST_TMPDIR/ld.log"
}

# A Copilot token for copilot-chat, so that a test's only request is the chat.
use_token() { COPILOT_TOKEN="$(fake_copilot_token 3600)"; export COPILOT_TOKEN; }

# stream_chunks DELTA...: script the next chat answer as these content deltas.
stream_chunks() {
  fake_script chat "$(jq -nc '[{stream: {chunks: $ARGS.positional, no_empty_first: true}}]' --args "$@")"
}

# raw_sse DATA...: script the next chat answer as these SSE data lines, then [DONE].
raw_sse() {
  local body="" d
  for d in "$@"; do body+="data: $d"$'\n\n'; done
  body+=$'data: [DONE]\n\n'
  fake_script chat "$(jq -nc --arg b "$body" '[{body: $b}]')"
}

# chunk ID CONTENT [TAIL]: one chat chunk as the service sends it; TAIL goes
# after the delta object inside the choice (e.g. ,"finish_reason":"length").
chunk() {
  printf '{"id":"%s","object":"chat.completion.chunk","created":1763700000,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"%s"}%s}]}' \
    "$1" "$2" "${3:-}"
}

# ---------------------------------------------------------- copilot-token

@test "the fresh-cache path never maps libcurl, seen from the loader and from /proc/PID/maps" {
  write_cache 60 >/dev/null
  run ! loads_libcurl copilot-token
  # --exec runs the command while copilot-token is alive: its memory map shows
  # what the fresh path loaded.
  run -0 copilot-token --exec -- sh -c 'cat "/proc/$PPID/maps"'
  assert_output --partial "copilot-token"
  refute_output --partial "libcurl"
  # The same checks see libcurl as soon as a request is made.
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  loads_libcurl copilot-token --refresh
  run -0 copilot-token --refresh --exec -- sh -c 'cat "/proc/$PPID/maps"'
  assert_output --partial "libcurl"
}

@test "--check, --help and --version of every tool load no libcurl" {
  write_cache 60 >/dev/null
  run ! loads_libcurl copilot-token --check
  run ! loads_libcurl copilot-token --check --json
  run ! loads_libcurl copilot-token --format env
  local t
  for t in copilot-token copilot-chat copilot-login copilot-usage; do
    run ! loads_libcurl "$t" --help
    run ! loads_libcurl "$t" --version
  done
}

@test "the fresh-cache path takes no lock and rewrites nothing" {
  tok="$(write_cache 60)"
  touch -d '2020-01-01 00:00:00' "$CACHE"
  before="$(stat -c '%i %Y %s' "$CACHE")"
  run --separate-stderr copilot-token
  assert_success
  assert_output "$tok"
  assert_equal "$stderr" ""
  assert_equal "$(stat -c '%i %Y %s' "$CACHE")" "$before"
  assert_file_not_exists "$CACHE.lock"
  assert_equal "$(ls -A "${CACHE%/*}")" "github.com.json"
  assert_equal "$(fake_log | json_get - '["count"]')" 0
}

@test "the fresh-cache path reads no credentials: a broken login is not looked at" {
  tok="$(write_cache 60)"
  mkdir -p "${AUTH%/*}"
  echo '{not json' >"$AUTH"
  chmod 600 "$AUTH"
  run --separate-stderr copilot-token
  assert_success
  assert_output "$tok"
  assert_equal "$stderr" ""
  # Piped standard input is read whatever the cache holds (copilot-token(1),
  # "STANDARD INPUT"): garbage there is an error on the fresh path too.
  echo 'not an auth document either' >"$BATS_TEST_TMPDIR/stdin"
  run -65 copilot-token <"$BATS_TEST_TMPDIR/stdin"
  # The same login is read, and refused, once an exchange is due.
  write_cache 3000 >/dev/null
  run -65 copilot-token --no-stdin
}

@test "copilot-chat on a fresh cache makes no exchange and takes no lock" {
  write_cache 60 >/dev/null
  stream_chunks "fresh " "cache"
  run -0 copilot-chat hi
  assert_output "fresh cache"
  assert_equal "$(fake_count copilot_token)" 0
  assert_equal "$(fake_count chat)" 1
  assert_file_not_exists "$CACHE.lock"
}

# ------------------------------------------------ copilot-chat's long streams

@test "five hundred different deltas in one envelope come out in order" {
  use_token
  local words=() i
  for ((i = 0; i < 500; i++)); do words+=("w$i "); done
  stream_chunks "${words[@]}"
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "$(printf '%s' "${words[@]}")"
  assert_equal "$stderr" ""
}

@test "a long repeated delta over CR-only and CRLF line ends comes out byte for byte" {
  use_token
  fake_script chat '[{"stream": {"repeat_chunk": "ab ", "count": 20000, "cr": true}},
                     {"stream": {"repeat_chunk": "cd ", "count": 20000, "crlf": true}}]'
  copilot-chat hi >"$BATS_TEST_TMPDIR/out"
  assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/out")" 60001
  assert_equal "$(tr -d '\n' <"$BATS_TEST_TMPDIR/out" | sed 's/ab //g' | wc -c)" 0
  copilot-chat hi >"$BATS_TEST_TMPDIR/out"
  assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/out")" 60001
  assert_equal "$(tr -d '\n' <"$BATS_TEST_TMPDIR/out" | sed 's/cd //g' | wc -c)" 0
}

@test "deltas that need JSON escapes or are not ASCII, between plain ones, come out exactly" {
  use_token
  stream_chunks "plain " '"quoted" ' 'back\slash ' $'new\nline ' $'tab\t ' "é ü 世界 🎉 " "plain " "again"
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "$(printf 'plain "quoted" back\\slash new\nline tab\t é ü 世界 🎉 plain again')"
  assert_equal "$stderr" ""
}

@test "a chunk that fits the steady envelope up to its text but ends differently is read in full" {
  use_token
  raw_sse "$(chunk c1 'one ')" "$(chunk c1 'two ')" "$(chunk c1 'three' ',"finish_reason":"length"')"
  run --separate-stderr copilot-chat hi
  assert_success
  assert_output "one two three"
  assert_equal "$stderr" "copilot-chat: warning: the answer was cut off at the token limit (finish_reason: length)"
}

@test "text escaped with \\u in an otherwise steady stream is decoded" {
  use_token
  raw_sse "$(chunk c1 'one ')" "$(chunk c1 'two ')" "$(chunk c1 '\u0041\u00e9 ')" "$(chunk c1 'end')"
  run -0 copilot-chat hi
  assert_output "one two Aé end"
}

@test "an envelope that changes mid-stream keeps every delta, and --json the first id" {
  use_token
  raw_sse "$(chunk first 'a')" "$(chunk first 'b')" "$(chunk second 'c')" "$(chunk second 'd')" \
    '{"id":"second","object":"chat.completion.chunk","created":1763700001,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"e"}}]}' \
    "$(chunk first 'f')"
  run -0 copilot-chat hi
  assert_output "abcdef"
  raw_sse "$(chunk first 'a')" "$(chunk first 'b')" "$(chunk second 'c')" "$(chunk first 'd' ',"finish_reason":"stop"')"
  run -0 copilot-chat --json hi
  assert_equal "$(json_get - '["id"]' <<<"$output")" "first"
  assert_equal "$(json_get - '["choices"][0]["message"]["content"]' <<<"$output")" "abcd"
  assert_equal "$(json_get - '["choices"][0]["finish_reason"]' <<<"$output")" "stop"
}

@test "text that also appears in another field does not fool the shortcut" {
  use_token
  # The first chunk's text stands in a "note" too, before the delta: the
  # shortcut must not take the note's place for the content's.
  local a='{"id":"c1","note":{"content":"hi"},"choices":[{"index":0,"delta":{"content":"hi"}}]}'
  local b='{"id":"c1","note":{"content":"XX"},"choices":[{"index":0,"delta":{"content":"hi"}}]}'
  local c='{"id":"c1","note":{"content":"hi"},"choices":[{"index":0,"delta":{"content":"yo"}}]}'
  raw_sse "$a" "$b" "$c" "$b"
  run -0 copilot-chat hi
  assert_output "hihiyohi"
}

@test "a mid-stream error after many steady chunks ends the answer with its code" {
  use_token
  local words=() i
  for ((i = 0; i < 50; i++)); do words+=("w$i "); done
  fake_script chat "$(jq -nc '[{stream: {chunks: $ARGS.positional, error_after: 40, error_code: "rate_limited", error_message: "slow down"}}]' --args "${words[@]}")"
  run -75 --separate-stderr copilot-chat hi
  assert_output "$(printf '%s' "${words[@]:0:40}")"
  assert_equal "$stderr" "copilot-chat: the server reported an error in the middle of the answer: slow down (rate_limited)"
}

@test "--json of a long steady stream holds every delta" {
  use_token
  fake_script chat '[{"stream": {"repeat_chunk": "xyz", "count": 5000}}]'
  run -0 copilot-chat --json hi
  content="$(json_get - '["choices"][0]["message"]["content"]' <<<"$output")"
  assert_equal "${#content}" 15000
  assert_equal "${content//xyz/}" ""
}
