#!/usr/bin/env bash
# The token exchange as people script it: curl saves the JSON, jq reads .token.
# The baseline of goal 2 (bench/exchange.sh); same URL and headers as
# copilot-token, the GitHub token from GITHUB_COPILOT_TOKEN.
set -eu
out="${XDG_CACHE_HOME:-$HOME/.cache}/copilot-token.json"
curl -sSf -o "$out" \
  -H "Authorization: token $GITHUB_COPILOT_TOKEN" \
  -H 'Accept: application/json' \
  -H 'Editor-Version: vscode/1.104.3' \
  -H 'Editor-Plugin-Version: copilot-chat/0.26.7' \
  -H 'User-Agent: GitHubCopilotChat/0.26.7' \
  "$COPILOT_GITHUB_API_URL/copilot_internal/v2/token"
jq -r .token "$out"
