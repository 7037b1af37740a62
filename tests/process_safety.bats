#!/usr/bin/env bats
# What every tool does as a process, whatever it was started with (issue 13,
# low): closed standard descriptors, `ulimit -f`, no core or /proc reading of
# its memory, dying of SIGINT when interrupted, signals sent to --exec, and
# copilot-serve's SIGHUP. The code is cmd/shared/tool.cc (tool::run),
# lib/util/process.cc and cmd/copilot-serve.cc.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }
setup() {
  common_setup
  mkdir -p "$XDG_CONFIG_HOME/copilot-utils/auth"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "$XDG_CONFIG_HOME/copilot-utils/auth"
  fake_auth_json > "$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  chmod 600 "$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
}

@test "a closed standard output is an I/O error (74), not output written into another file" {
  run -74 --separate-stderr bash -c 'copilot-token >&-'
  assert_regex "$stderr" "cannot write to standard output: it is closed"
  # The exchange happened and its cache is whole JSON, not polluted by a message.
  json_get "$XDG_CACHE_HOME/copilot-utils/token/github.com.json" '["token"]' >/dev/null
}

@test "a closed standard error never puts messages into the cache's lock or files" {
  run -0 bash -c 'copilot-token -v --refresh 2>&- >/dev/null'
  local f
  for f in "$XDG_CACHE_HOME"/copilot-utils/token/*; do
    if grep -q "copilot-token" "$f"; then fail "a message went into $f"; fi
  done
  json_get "$XDG_CACHE_HOME/copilot-utils/token/github.com.json" '["token"]' >/dev/null
}

@test "ulimit -f 0 gives exit 74 with one line, not death by SIGXFSZ" {
  # The message goes through a pipe to cat, outside the limit.
  run -74 bash -o pipefail -c "(ulimit -f 0; exec copilot-token --no-cache --json > '$BATS_TEST_TMPDIR/out') 2>&1 | cat"
  assert_regex "$output" "^copilot-token: cannot write to standard output: File too large$"
}

@test "a tool holding secrets is not dumpable: its /proc memory and environment are root's" {
  local dir fifo pid
  dir=$(mktemp -d /tmp/copilot-dump.XXXXXX)
  chmod 755 "$dir"
  fifo="$dir/in"
  mkfifo -m 666 "$fifo"
  # copilot-chat reads its prompt before anything else: it waits on the FIFO.
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$dir" \
    "$(command -v copilot-chat)" hi <"$fifo" >/dev/null 2>&1 3>&- &
  pid=$!
  exec 4>"$fifo"
  for _ in $(seq 50); do [ -r "/proc/$pid/status" ] && grep -q '^Uid:.*65534' "/proc/$pid/status" && break; sleep 0.1; done
  grep -q '^Uid:.*65534' "/proc/$pid/status" || fail "the tool does not run as nobody"
  # The tool makes itself undumpable first thing in main(), which can come a
  # while after exec (ASan's start-up, a loaded machine): wait up to 5 s for it.
  local mem environ
  for _ in $(seq 50); do
    mem=$(stat -c %U "/proc/$pid/mem")
    [ "$mem" = root ] && break
    sleep 0.1
  done
  environ=$(stat -c %U "/proc/$pid/environ")
  exec 4>&-
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  assert_equal "$mem" "root"
  assert_equal "$environ" "root"
}

@test "copilot-login interrupted dies of SIGINT, so the script that ran it stops too" {
  fake_config '{"approval": "manual"}'
  rm -f "$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  # A signal death is -2 to Python; an exit(130) would be 130.
  run -0 python3 - "$(command -v copilot-login)" <<'PY'
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
time.sleep(1.0)
p.send_signal(signal.SIGINT)
err = p.communicate(timeout=20)[1].decode()
assert p.returncode == -signal.SIGINT, (p.returncode, err)
assert "interrupted" in err, err
PY
}

@test "SIGINT sent to copilot-token --exec alone reaches the command; the terminal's is not doubled" {
  run -0 python3 - "$(command -v copilot-token)" <<'PY'
import signal, subprocess, sys, time
# The command reports the SIGINT it gets and exits 7.
cmd = [sys.argv[1], "--exec", "--", "sh", "-c", "trap 'echo got-int; exit 7' INT; sleep 10 & wait"]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(1.0)
p.send_signal(signal.SIGINT)       # kill(2) to copilot-token alone
out, err = p.communicate(timeout=20)
assert p.returncode == 7, (p.returncode, out, err)
assert out.decode().count("got-int") == 1, out
PY
}

@test "copilot-serve stops on SIGHUP as gracefully as on SIGTERM" {
  local port_file="$BATS_TEST_TMPDIR/serve.err"
  copilot-serve --listen 127.0.0.1:0 2>"$port_file" 3>&- &
  local pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$port_file" && break; sleep 0.05; done
  grep -q "listening on" "$port_file" || fail "copilot-serve did not start: $(cat "$port_file")"
  kill -HUP "$pid"
  local rc=0
  wait "$pid" || rc=$?
  assert_equal "$rc" "0"
  grep -q "SIGHUP: not accepting connections" "$port_file"
  grep -q "stopped" "$port_file"
}

@test "an invalid COPILOT_TIMEOUT is a usage error on every path, a fresh cache's included" {
  run -0 copilot-token  # fills the cache
  local v
  for v in abc -1 0 86401 ' 5'; do
    COPILOT_TIMEOUT="$v" run -64 --separate-stderr copilot-token
    assert_regex "$stderr" "^copilot-token: COPILOT_TIMEOUT must be a whole number of seconds"
    COPILOT_TIMEOUT="$v" run -64 --separate-stderr copilot-token --check
  done
  COPILOT_TIMEOUT=5 run -0 copilot-token
}
