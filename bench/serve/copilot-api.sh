#!/usr/bin/env bash
# bench/serve/copilot-api.sh UPSTREAM_URL DIR: a copy of copilot-api (the npm
# package, installed from bench/package-lock.json by `npm ci --prefix bench`)
# whose every host is UPSTREAM_URL, written to DIR/main.mjs, with its GitHub
# token file under DIR/home. Prints the command line that starts it (PORT is
# appended by the caller). Its hosts are constants in dist/main.js, not
# settings, so they are rewritten here; the run fails if any https:// URL it
# would fetch is left.
set -euo pipefail
up="$1" dir="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/../node_modules/copilot-api/dist/main.js"
[[ -f "$src" ]] || { echo "bench: no $src: run npm ci --prefix bench (make bench-deps)" >&2; exit 1; }
mkdir -p "$dir/home/.local/share/copilot-api"
# The modules it imports resolve from DIR/node_modules.
ln -sfn "$here/../node_modules" "$dir/node_modules"
sed -e "s|https://api\.githubcopilot\.com|$up|g" \
    -e "s|\`https://api\.\${state\$1\.accountType}\.githubcopilot\.com\`|\"$up\"|g" \
    -e "s|\"https://api\.github\.com\"|\"$up\"|g" \
    -e "s|\"https://github\.com\"|\"$up\"|g" \
    -e "s|https://aur\.archlinux\.org/cgit/aur\.git/plain/PKGBUILD?h=visual-studio-code-bin|$up/vscode-version|g" \
    -e 's|port: options\.port$|port: options.port, hostname: "127.0.0.1"|' \
    "$src" >"$dir/main.mjs"
# Every fetch( of a literal or constant must now be loopback: the only
# https:// left may be in messages (the usage viewer link it prints).
if grep -n 'https://' "$dir/main.mjs" | grep -v 'Usage Viewer' | grep -q .; then
  echo "bench: copilot-api still names a remote host:" >&2
  grep -n 'https://' "$dir/main.mjs" | grep -v 'Usage Viewer' >&2
  exit 1
fi
grep -q 'hostname: "127.0.0.1"' "$dir/main.mjs" || { echo "bench: could not bind copilot-api to 127.0.0.1" >&2; exit 1; }
# The GitHub token it reads (no argv: the fake accepts any).
printf 'ghu_bench' >"$dir/home/.local/share/copilot-api/github_token"
chmod 600 "$dir/home/.local/share/copilot-api/github_token"
