#!/usr/bin/env bash
# tests/helpers/man_example.bash DIR — runs one man-page example for tests/man_examples.bats.
#
# DIR holds what `manpage.py example PAGE N DIR` wrote: example.sh, setup.sh, mode.
# Run it inside private namespaces (`unshare -r -n -p -f --mount-proc`): the network has only
# a loopback of its own, so the examples' fixed addresses (copilot-serve's 127.0.0.1:4141) are
# free and nothing can reach the real GitHub; every process the example leaves dies with it; a
# /proc of its own keeps LeakSanitizer (make SANITIZE=1) working.
#
# What an example finds (as a user who has logged in would):
#   - the fake server (tests/fake-github) running, the tools pointed at it and first on PATH,
#     HOME and XDG_* under DIR (common_setup of tests/helpers/common.bash); device codes
#     have a 1 s poll interval; a login to github.com (default profile) is stored
#   - DISPLAY is set and xdg-open only writes the page it was given to DIR/xdg-open.log
#   - ~/.config exists; the working directory is a git repository with a staged change and
#     holds notes.txt and ./my-client (a program that needs COPILOT_TOKEN in its environment)
# How it runs: setup.sh, then example.sh, sourced by one `bash -e -o pipefail` (every command
# must succeed), within 90 s. Background jobs must still be running one second after the
# example ends; they are then stopped with SIGTERM and must exit 0 (or die of it).
# Mode "until-stopped" (a server in the foreground): it must still be running after 3 s;
# then its process group gets SIGTERM, and it must end within 10 s.
# Exit status: the example's; 99 when the harness itself fails.

set -u
dir="${1:?man_example.bash DIR}"
helpers="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# A new network namespace starts with its loopback down.
python3 - <<'EOF' || { echo "man_example: cannot bring up the loopback interface" >&2; exit 99; }
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH", b"lo", 0)))[1]
fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))
EOF

# common.bash outside Bats: its assertion libraries are not needed here.
# shellcheck source=tests/helpers/common.bash
source "$helpers/common.bash"
_COMMON_LIBS_LOADED=1
export BATS_FILE_TMPDIR="$dir/file" BATS_TEST_TMPDIR="$dir/test"
mkdir -p "$BATS_FILE_TMPDIR" "$BATS_TEST_TMPDIR"
fake_start || exit 99
trap fake_stop EXIT
common_setup || exit 99
fake_config '{"interval": 1}' || exit 99

if ! out="$(printf 'ghu_fake_valid\n' | copilot-login --with-token 2>&1)"; then
  echo "man_example: cannot log in to the fake server: $out" >&2
  exit 99
fi
# A display and a browser that only notes the page it was asked to open.
mkdir -p "$dir/bin"
# shellcheck disable=SC2016 # $1 is the stub's argument
printf '#!/bin/sh\nprintf "%%s\\n" "$1" >>"%s/xdg-open.log"\n' "$dir" >"$dir/bin/xdg-open"
chmod +x "$dir/bin/xdg-open"
export PATH="$dir/bin:$PATH" DISPLAY=:0
unset WAYLAND_DISPLAY BROWSER
mkdir -p "$HOME/.config" "$dir/work"
cd "$dir/work" || exit 99
{
  git init -q . && git config user.email you@example.com && git config user.name You &&
    printf 'hello\n' >hello.txt && git add hello.txt
} || { echo "man_example: cannot make the git repository" >&2; exit 99; }
printf 'The meeting moved to Thursday.\nBring the slides.\n' >notes.txt
cat >my-client <<'EOF'
#!/bin/sh
# Stands for the user's program: it needs the Copilot token in its environment.
[ -n "${COPILOT_TOKEN:-}" ] || { echo "my-client: no COPILOT_TOKEN" >&2; exit 1; }
echo "my-client: got a token, arguments: $*"
EOF
chmod +x my-client

cat >"$dir/run.sh" <<'EOF'
__finish() {
  local rc=$? pids p s alive=()
  set +e
  pids="$(jobs -p)"
  if [[ -n "$pids" ]]; then
    sleep 1
    for p in $pids; do
      if kill -0 "$p" 2>/dev/null; then
        alive+=("$p")
      else
        wait "$p"
        echo "man_example: a background job ended by itself with status $?" >&2
        rc=1
      fi
    done
    for p in "${alive[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${alive[@]}"; do
      wait "$p"
      s=$?
      if [[ $s -ne 0 && $s -ne 143 ]]; then
        echo "man_example: a background job exited with status $s on SIGTERM" >&2
        for l in *.log; do [[ -f "$l" ]] && { echo "--- the end of its $l:"; tail -n 30 "$l"; } >&2; done
        rc=1
      fi
    done
  fi
  exit "$rc"
}
trap __finish EXIT
set -e -o pipefail
source "$EXAMPLE_DIR/setup.sh"
source "$EXAMPLE_DIR/example.sh"
EOF

export EXAMPLE_DIR="$dir"
mode="$(<"$dir/mode")"
if [[ "$mode" == until-stopped ]]; then
  # setsid: a process group of its own, so that SIGTERM reaches the server, not only bash.
  # shellcheck disable=SC2016 # expanded by that bash
  setsid bash -e -o pipefail -c 'source "$EXAMPLE_DIR/setup.sh"; source "$EXAMPLE_DIR/example.sh"' &
  pid=$!
  sleep 3
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    rc=$?
    echo "man_example: the example should run until stopped; it ended with status $rc" >&2
    exit $((rc == 0 ? 1 : rc))
  fi
  kill -TERM -- "-$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null
  echo "man_example: the example did not stop within 10 s of SIGTERM" >&2
  exit 1
fi
timeout -k 5 90 bash "$dir/run.sh"
