#!/usr/bin/env bats
# Crash safety and parallel use: many processes on one stale cache, kill -9
# at random moments while files are being replaced, read-only and full
# config/cache directories. The files must always be absent, the old valid
# version or the new valid version, never partial; temp files left by a
# killed writer are removed by the next one. Figures go to the TAP stream
# (and by hand into tests/RELIABILITY.md).

load helpers/common
load helpers/state

KILLS_TOKEN=100  # kill -9 iterations of copilot-token --refresh
KILLS_LOGIN=100  # kill -9 iterations of copilot-login --poll --once

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  AUTH="$XDG_CONFIG_HOME/copilot-utils/auth/github.com.json"
  CACHE="$XDG_CACHE_HOME/copilot-utils/token/github.com.json"
  MOUNTS=()
  BG_PID=
}

teardown() {
  if [[ -n "${BG_PID:-}" ]]; then
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

store_auth() {
  mkdir -p "${AUTH%/*}"
  chmod 700 "$XDG_CONFIG_HOME/copilot-utils" "${AUTH%/*}"
  fake_auth_json "${1:-ghu_fake_valid}" >"$AUTH"
  chmod 600 "$AUTH"
}

# stale_cache: a whole cache that is due for a refresh (fetched 1490 s ago).
stale_cache() {
  mkdir -p "${CACHE%/*}"
  chmod 700 "$XDG_CACHE_HOME/copilot-utils" "${CACHE%/*}"
  fake_mint '{"ttl": 1800}' | jq -c '{host: "github.com", token, expires_at, refresh_in: 1500,
      fetched_at: ((now | floor) - 1490), api_url: "https://api.individual.githubcopilot.com", sku}' >"$CACHE"
  chmod 600 "$CACHE"
}

sha() { if [[ -e "$1" ]]; then sha256sum <"$1"; else echo absent; fi; }

# classify KIND FILE OLD_SHA: absent | old | new | partial
classify() {
  local now
  now="$(sha "$2")"
  if [[ "$now" == absent ]]; then echo absent
  elif [[ "$now" == "$3" ]]; then echo old
  elif valid_doc "$1" "$2"; then echo new
  else echo partial
  fi
}

# random_ms MAX: a random whole number of milliseconds in [0, MAX].
random_ms() { echo $((RANDOM % ($1 + 1))); }

sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# elapsed_ms CMD...: how long one unkilled run takes here (ASan builds are slower).
elapsed_ms() {
  local t0 t1
  t0="$(date +%s%N)"
  "$@" >/dev/null 2>&1 || true
  t1="$(date +%s%N)"
  echo $(((t1 - t0) / 1000000))
}

# mount_works: root and mount(8) can make a tmpfs here.
mount_works() {
  [[ "$(id -u)" -eq 0 ]] || return 1
  local probe="$BATS_TEST_TMPDIR/mount-probe"
  mkdir -p "$probe"
  mount -t tmpfs -o size=64k tmpfs "$probe" 2>/dev/null || return 1
  umount "$probe"
}

# read_only DIR: DIR becomes read-only for everyone, root included (a
# read-only bind mount), until teardown.
read_only() {
  mount --bind "$1" "$1" && MOUNTS+=("$1") && mount -o remount,ro,bind "$1"
}

# --------------------------------------------------------------- parallel use

@test "100 parallel copilot-token on a stale cache: one exchange, 100 identical tokens, a valid cache" {
  store_auth
  stale_cache
  # A slow answer keeps the first exchange open while the others queue on the lock.
  fake_script copilot_token '[{"delay": 0.5}]'
  d="$BATS_TEST_TMPDIR/par"
  mkdir -p "$d"
  pids=()
  for i in $(seq 100); do
    copilot-token >"$d/out.$i" 2>"$d/err.$i" 3>&- &
    pids+=($!)
  done
  fails=0
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  assert_equal "$fails" 0
  assert_equal "$(fake_count copilot_token)" 1
  assert_equal "$(cat "$d"/out.* | wc -l)" 100
  assert_equal "$(sort -u "$d"/out.* | wc -l)" 1
  assert_equal "$(sort -u "$d"/out.*)" "$(json_get "$CACHE" '["token"]')"
  assert_equal "$(cat "$d"/err.*)" ""
  valid_doc token "$CACHE"
  assert_equal "$(stat -c %a "$CACHE")" 600
  assert_equal "$(temp_files "$XDG_CACHE_HOME")" ""
  echo "# parallel: 100 copilot-token on a stale cache -> $(fake_count copilot_token) exchange, $(sort -u "$d"/out.* | wc -l) distinct token, cache valid" >&3
}

@test "parallel refreshes with --refresh each exchange once and always leave a whole cache" {
  store_auth
  stale_cache
  fake_script copilot_token '[{"delay": 0.05, "repeat": -1}]'
  pids=()
  for i in $(seq 20); do
    copilot-token --refresh >/dev/null 2>&1 3>&- &
    pids+=($!)
  done
  fails=0
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  assert_equal "$fails" 0
  # --refresh forces an exchange each, serialised by the lock.
  assert_equal "$(fake_count copilot_token)" 20
  valid_doc token "$CACHE"
  assert_equal "$(temp_files "$XDG_CACHE_HOME")" ""
}

# ------------------------------------------------------------------- kill -9

@test "kill -9 of copilot-token --refresh at random moments never leaves a partial cache" {
  store_auth
  copilot-token >/dev/null
  fake_script copilot_token '[{"delay": 0.05, "repeat": -1}]'
  span="$(elapsed_ms copilot-token --refresh)"
  span=$((span * 13 / 10 + 10))
  declare -A seen=([old]=0 [new]=0 [absent]=0 [partial]=0)
  temps_after_kill=0
  for i in $(seq "$KILLS_TOKEN"); do
    old="$(sha "$CACHE")"
    copilot-token --refresh >/dev/null 2>&1 3>&- &
    BG_PID=$!
    sleep_ms "$(random_ms "$span")"
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
    BG_PID=
    state="$(classify token "$CACHE" "$old")"
    seen[$state]=$((seen[$state] + 1))
    if [[ "$state" == partial || "$state" == absent ]]; then
      echo "iteration $i: the cache is $state:" >&2
      cat "$CACHE" >&2 || true
      return 1
    fi
    [[ -z "$(temp_files "$XDG_CACHE_HOME")" ]] || temps_after_kill=$((temps_after_kill + 1))
  done
  # The next writer removes what killed writers left behind.
  run -0 copilot-token --refresh
  valid_doc token "$CACHE"
  assert_equal "$(temp_files "$XDG_CACHE_HOME")" ""
  echo "# kill -9 copilot-token --refresh x$KILLS_TOKEN (kill within ${span} ms): old ${seen[old]}, new ${seen[new]}, partial ${seen[partial]}; temp file right after a kill: $temps_after_kill, after the next run: 0" >&3
}

@test "kill -9 of copilot-login --poll at random moments never leaves a partial auth, pending or cache file" {
  store_auth
  mkdir -p "${CACHE%/*}"
  copilot-token >/dev/null
  pending="$BATS_TEST_TMPDIR/pending.json"
  copilot-login --start >"$pending" 2>/dev/null
  chmod 600 "$pending"
  # Spread the run over the poll, the user lookup and the exchange, so that
  # kills land before, between and after the writes.
  fake_script user '[{"delay": 0.02, "repeat": -1}]'
  fake_script copilot_token '[{"delay": 0.02, "repeat": -1}]'
  fake_script access_token '[{"delay": 0.03}]'
  span="$(elapsed_ms copilot-login --poll --once "$pending")"
  span=$((span * 13 / 10 + 10))
  declare -A seen=()
  temps_after_kill=0
  slow_downs=0
  for i in $(seq "$KILLS_LOGIN"); do
    # One poll in three answers slow_down: --once then rewrites the pending file.
    if ((i % 3 == 0)); then
      fake_script access_token '[{"delay": 0.03, "error": "slow_down", "interval": 7}]'
      slow_downs=$((slow_downs + 1))
    else
      fake_script access_token '[{"delay": 0.03}]'
    fi
    old_auth="$(sha "$AUTH")" old_cache="$(sha "$CACHE")" old_pending="$(sha "$pending")"
    copilot-login --poll --once "$pending" >/dev/null 2>&1 3>&- &
    BG_PID=$!
    sleep_ms "$(random_ms "$span")"
    kill -KILL "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
    BG_PID=
    # Drop an unused scripted answer so that the next iteration starts clean.
    fake_ctl DELETE /_control/script >/dev/null
    fake_script user '[{"delay": 0.02, "repeat": -1}]'
    fake_script copilot_token '[{"delay": 0.02, "repeat": -1}]'
    a="$(classify auth "$AUTH" "$old_auth")"
    c="$(classify token "$CACHE" "$old_cache")"
    p="$(classify pending "$pending" "$old_pending")"
    seen[auth.$a]=$((${seen[auth.$a]:-0} + 1))
    seen[cache.$c]=$((${seen[cache.$c]:-0} + 1))
    seen[pending.$p]=$((${seen[pending.$p]:-0} + 1))
    # The auth file and the pending login are never removed; the cache is
    # removed or replaced (with the token of the login's check) only by a
    # new login (copilot-login(1)), and never left partial.
    if [[ "$a" =~ partial|absent || "$p" =~ partial|absent || "$c" =~ partial ]]; then
      echo "iteration $i: auth $a, cache $c, pending $p" >&2
      return 1
    fi
    [[ -z "$(temp_files "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$BATS_TEST_TMPDIR")" ]] ||
      temps_after_kill=$((temps_after_kill + 1))
    # Put a cache back now and then so that its removal keeps being exercised.
    [[ -e "$CACHE" ]] || ((i % 4)) || copilot-token >/dev/null 2>&1
  done
  run -0 copilot-login --poll --once "$pending"
  valid_doc auth "$AUTH"
  valid_doc pending "$pending"
  assert_equal "$(temp_files "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME")" ""
  echo "# kill -9 copilot-login --poll --once x$KILLS_LOGIN ($slow_downs slow_down, kill within ${span} ms): auth old ${seen[auth.old]:-0} new ${seen[auth.new]:-0}; pending old ${seen[pending.old]:-0} new ${seen[pending.new]:-0}; cache old ${seen[cache.old]:-0} absent ${seen[cache.absent]:-0}; partial 0; temp file right after a kill: $temps_after_kill, after the next run: 0" >&3
}

@test "a temp file left by a killed writer is removed by the next write, a live writer's is not" {
  store_auth
  stale_cache
  dir="${CACHE%/*}"
  # A dead writer's pid: a finished background job.
  sh -c 'exit 0' &
  dead=$!
  wait "$dead"
  printf '{"host": "git' >"$dir/.github.com.json.tmp.$dead.AbC123"
  printf 'in progress' >"$dir/.github.com.json.tmp.$$.XyZ789"  # this shell is alive
  run -0 copilot-token
  assert_file_not_exists "$dir/.github.com.json.tmp.$dead.AbC123"
  assert_file_exists "$dir/.github.com.json.tmp.$$.XyZ789"
  valid_doc token "$CACHE"
}

# ------------------------------------------------- read-only and full disks

@test "a read-only cache directory: copilot-token exits 74 naming it, before any exchange, and the cache is kept" {
  mount_works || skip "needs root and mount(8) (see tests/RELIABILITY.md)"
  store_auth
  stale_cache
  before="$(sha "$CACHE")"
  read_only "$XDG_CACHE_HOME"
  run --separate-stderr -74 copilot-token
  assert_output ""
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-token: cannot open lock file .*token/github.com.json.lock: Read-only file system \(--no-cache works without the cache\)$"
  assert_equal "$(fake_count copilot_token)" 0
  run --separate-stderr -74 copilot-token --refresh
  assert_equal "$(fake_count copilot_token)" 0
  assert_equal "$(sha "$CACHE")" "$before"
  # --no-cache still gets a token, as the message says.
  run -0 copilot-token --no-cache
  assert_equal "$(sha "$CACHE")" "$before"
}

@test "a read-only config directory: every copilot-login mode that writes exits 74 and nothing is lost" {
  mount_works || skip "needs root and mount(8) (see tests/RELIABILITY.md)"
  store_auth
  stale_cache
  auth_before="$(sha "$AUTH")" cache_before="$(sha "$CACHE")"
  fake_config '{"interval": 1}'
  read_only "$XDG_CONFIG_HOME"
  run --separate-stderr -74 copilot-login --quiet --with-token <<<"ghu_fake_valid"
  assert_equal "${#stderr_lines[@]}" 1
  assert_regex "$stderr" "^copilot-login: cannot write .*auth/github.com.json: Read-only file system$"
  run --separate-stderr -74 copilot-login --quiet
  assert_regex "${stderr_lines[-1]}" "^copilot-login: cannot write .*auth/github.com.json: Read-only file system$"
  run --separate-stderr -74 copilot-login --logout
  assert_regex "$stderr" "^copilot-login: cannot remove .*auth/github.com.json: Read-only file system$"
  assert_equal "$(sha "$AUTH")" "$auth_before"
  assert_equal "$(sha "$CACHE")" "$cache_before"
  assert_equal "$(temp_files "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME")" ""
}

@test "a full cache disk: copilot-token exits 74 with ENOSPC and the old cache is kept whole" {
  mount_works || skip "needs root and mount(8) (see tests/RELIABILITY.md)"
  store_auth
  dir="$XDG_CACHE_HOME"
  mount -t tmpfs -o size=16k,mode=0700 tmpfs "$dir"
  MOUNTS+=("$dir")
  run -0 copilot-token  # the cache and its lock file, while there is room
  before="$(sha "$CACHE")"
  head -c 1000000 /dev/zero >"$dir/filler" 2>/dev/null || true  # fill the disk
  run --separate-stderr -74 copilot-token --refresh
  assert_output ""
  assert_regex "$stderr" "^copilot-token: cannot write .*token/github.com.json: No space left on device \(--no-cache works without the cache\)$"
  assert_equal "$(sha "$CACHE")" "$before"
  valid_doc token "$CACHE"
  assert_equal "$(temp_files "$dir")" ""
}

@test "a full config disk: copilot-login exits 74 with ENOSPC and the old login is kept whole" {
  mount_works || skip "needs root and mount(8) (see tests/RELIABILITY.md)"
  dir="$XDG_CONFIG_HOME"
  mount -t tmpfs -o size=16k,mode=0700 tmpfs "$dir"
  MOUNTS+=("$dir")
  store_auth
  before="$(sha "$AUTH")"
  head -c 1000000 /dev/zero >"$dir/filler" 2>/dev/null || true
  run --separate-stderr -74 copilot-login --quiet --with-token <<<"ghu_fake_valid"
  assert_regex "$stderr" "^copilot-login: cannot write .*auth/github.com.json: No space left on device$"
  assert_equal "$(sha "$AUTH")" "$before"
  valid_doc auth "$AUTH"
  assert_equal "$(temp_files "$dir")" ""
}

@test "copilot-chat on a read-only cache still answers, with a warning that names the cache" {
  mount_works || skip "needs root and mount(8) (see tests/RELIABILITY.md)"
  store_auth
  stale_cache
  before="$(sha "$CACHE")"
  read_only "$XDG_CACHE_HOME"
  run --separate-stderr -0 copilot-chat hello
  assert_output "You said: hello"
  assert_regex "$stderr" "warning: cannot write .*token/github.com.json: Read-only file system"
  assert_equal "$(sha "$CACHE")" "$before"
}
