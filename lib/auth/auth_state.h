// The auth state document (a long-lived GitHub token for one host/profile)
// and where a tool finds the GitHub token (ARCHITECTURE.md precedence).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace copilot {

struct AuthState {
    std::string host;
    std::string client_id;
    std::string oauth_token;  // secret
    std::string scope;
    std::string user;         // may be empty (user lookup is best effort)
    int64_t created_at = 0;
};

// Parses an auth state document. `host` and `oauth_token` are required;
// other fields optional; unknown fields ignored. Errors (src.code) name the field.
AuthState parse_auth_state(std::string_view json, const JsonSource& src);
// One JSON object and a newline, fields in ARCHITECTURE.md's order.
std::string serialize_auth_state(const AuthState& state);

// The stored auth for host/profile: nullopt if there is none. Error(data)
// if the file is malformed, Error(io) if group or others can touch it (as
// OpenSSH treats a key: refused, not warned about).
std::optional<AuthState> load_auth_state(const std::string& host, const std::string& profile);
// Atomically writes the auth state to its XDG path (0600 in 0700 dirs) and
// returns the path.
std::string store_auth_state(const AuthState& state, const std::string& profile);
// Removes the auth file; false if there was none.
bool remove_auth_state(const std::string& host, const std::string& profile);

// One stored login found in the auth directory.
struct StoredLogin {
    std::string name;     // "<host>[@<profile>]"
    std::string host, profile, path;
    std::optional<AuthState> state;  // nullopt when unreadable: see error
    std::string error;
};

// Every <host>[@<profile>].json in the auth directory, sorted by name.
// Files that are not ours (temp files, foreign names) are skipped.
std::vector<StoredLogin> list_auth_states();

// copilot-login --status: one line a login ("* " marks `selected`, the name
// `state_name` gives), the user and the token masked; and the JSON document
// {"selected", "logged_in", "logins": [{"name", "host", "profile", "file",
// "selected", "user", "token", "created_at"} or {..., "error"}]} and a
// newline. logged_in: the selected login is stored and readable.
std::string stored_logins_text(const std::vector<StoredLogin>& all, const std::string& selected);
std::string stored_logins_json(const std::vector<StoredLogin>& all, const std::string& selected);

// --status's verdict on the selected login: Error(no_auth)
// (not_logged_in_message) when it is not among `all`, Error(data) when it cannot be read.
void require_stored_login(const std::vector<StoredLogin>& all, const std::string& host,
                          const std::string& profile);

// "HOST", or "HOST (profile NAME)", for messages about a stored login.
std::string login_name(const std::string& host, const std::string& profile);
// "not logged in to NAME; run copilot-login": the one wording of
// Error(no_auth) when there is no GitHub login (every tool, serve too).
std::string not_logged_in_message(const std::string& host, const std::string& profile = "");

// The first of GITHUB_COPILOT_TOKEN and GH_COPILOT_TOKEN that holds a token
// (find_github_token takes it before any stored login), or nullptr.
const char* github_token_env_var();

// A GitHub token given as text (--with-token): one word of printable ASCII
// once trimmed. Error(data) "WHAT: no token on standard input" or "WHAT:
// standard input must hold exactly one token".
std::string read_github_token_text(std::string_view text, const std::string& what);

// Where the GitHub token comes from, first match wins:
//   --auth FILE|-  >  auth JSON piped on stdin  >  GITHUB_COPILOT_TOKEN /
//   GH_COPILOT_TOKEN  >  the auth file for host/profile  >  copilot.vim /
//   copilot.lua (~/.config/github-copilot/apps.json, hosts.json).
struct GithubTokenSources {
    std::string host = "github.com";
    std::string profile;
    std::optional<std::string> auth_file;  // --auth value ("-" = stdin_text)
    std::optional<std::string> stdin_text; // what the tool read from a piped stdin, if anything
    bool use_env = true;
    bool use_vim = true;
};

struct GithubToken {
    std::string token;   // secret
    std::string host;
    std::string source;  // for messages: "--auth FILE", "standard input", "GITHUB_COPILOT_TOKEN", "auth file PATH", "copilot.vim apps.json"
    std::optional<AuthState> state;  // when it came from an auth document
};

// nullopt when no source has a token (credentials.h's find_github_login
// reports "not logged in", exit 66). Malformed documents throw Error(data);
// files others can touch, Error(io).
std::optional<GithubToken> find_github_token(const GithubTokenSources& sources);

// The oauth_token for `host` from copilot.vim/copilot.lua's apps.json
// (keys "HOST:CLIENT_ID") or hosts.json (key "HOST"), under
// $XDG_CONFIG_HOME/github-copilot/. nullopt if neither has one.
std::optional<std::string> import_vim_token(const std::string& host, std::string* source = nullptr);
// The same for --import: Error(no_auth) naming both files when neither has one.
std::string require_vim_token(const std::string& host, std::string* source);

}  // namespace copilot
