# tests/helpers/state.bash — is a file a whole, valid copilot-utils document?
# Used by faults.bats and crash_safety.bats to tell "the old or a new valid
# file" from "a partial one". jq, not python: these run hundreds of times.
#
#   valid_doc KIND FILE   KIND: auth | token | pending | models; status 0 if
#                         FILE is exactly one whole document of that kind
#                         (ARCHITECTURE.md's fields and types, a final newline)
#   temp_files DIR...     prints leftover temp files of an atomic write

# shellcheck disable=SC2016 # jq programs, not shell
declare -gA _STATE_JQ=(
  [auth]='(.host|type=="string") and (.client_id|type=="string")
          and (.oauth_token|type=="string" and test("^gh[a-z]_\\S+$"))
          and (.scope|type=="string") and (.user|type=="string")
          and (.created_at|type=="number")'
  [token]='(.host|type=="string") and (.token|type=="string" and test("^tid=[^\\s:]+:[0-9a-f]{64}$"))
           and (.expires_at|type=="number") and (.refresh_in|type=="number")
           and (.fetched_at|type=="number") and (.api_url|type=="string") and (.sku|type=="string")'
  [pending]='(.host|type=="string") and (.client_id|type=="string")
             and (.device_code|type=="string" and length>0) and (.user_code|type=="string")
             and (.verification_uri|type=="string") and (.interval|type=="number")
             and (.expires_at|type=="number")'
)

valid_doc() {
  local kind="$1" file="$2"
  [[ -f "$file" && -s "$file" ]] || return 1
  # A whole file ends with its newline; a torn write would not.
  [[ "$(tail -c 1 "$file" | od -An -tx1 | tr -d ' ')" == 0a ]] || return 1
  if [[ "$kind" == models ]]; then
    ! grep -qvE '^[A-Za-z0-9._:/-]+$' "$file"
    return
  fi
  jq -e -s "length == 1 and (.[0] | type == \"object\" and (${_STATE_JQ[$kind]}))" "$file" \
    >/dev/null 2>&1
}

temp_files() {
  find "$@" -name '.*.tmp.*' 2>/dev/null
}
