// Credentials, in one place (ARCHITECTURE.md, "the path of a token"): the
// GitHub token looked up lazily from its sources, the Copilot token got from
// the cache or an exchange, a Copilot token the user hands us (a token
// document or a bare token), and the one rule for the Copilot API base URL.
// copilot-token, copilot-chat and copilot-serve all come here; none of them
// looks up a credential on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_state.h"
#include "auth/copilot_token.h"

namespace copilot {

using LogFn = std::function<void(const std::string&)>;

// --- the GitHub token ----------------------------------------------------------

// The one wording of Error(no_auth) when no source has a GitHub token is
// auth_state.h's not_logged_in_message.

// What a tool asks for: a Copilot token for token.host/token.profile, and
// where the GitHub token comes from should an exchange be due.
struct CredentialRequest {
    CopilotTokenRequest token;              // host, profile, min_ttl, cache rules, hooks
    std::optional<std::string> auth_file;   // --auth FILE|- ("-": standard input)
    // Standard input: what was piped (nullopt for nothing), asked for at
    // every lookup, whatever the cache holds (the tool decides from its
    // arguments and the kind of standard input whether it is read: see
    // copilot-token(1), "STANDARD INPUT"); `required` is true for --auth -.
    // Unset: standard input is never auth (copilot-chat's is the prompt,
    // copilot-serve has none).
    std::function<std::optional<std::string>(bool required)> read_stdin;
};

// The GitHub token from the first source that has one (find_github_token's
// precedence), for req.token.host. Errors: none found -> no_auth
// (not_logged_in_message); a login for another host -> usage ("the GitHub
// login from X is for Y, not Z; add --host Y"). Notes for --verbose go to
// req.token.log, with the token masked.
GithubToken find_github_login(const CredentialRequest& req);

// The lazy form get_copilot_token wants: looks the GitHub token up at each
// call (so a copilot-login made meanwhile is seen).
std::function<std::string()> github_token_lookup(const CredentialRequest& req);

// --- the Copilot token -----------------------------------------------------------

// get_copilot_token with the lookup above: the fresh cache without reading
// any credential (or loading libcurl), else an exchange. An explicit
// credential (--auth, piped auth state, GITHUB_COPILOT_TOKEN) is looked up
// first and gets only a cache entry minted from it (given_github_token).
CopilotTokenResult get_copilot_credentials(const CredentialRequest& req, int64_t now);

// --- the Copilot API base URL ----------------------------------------------------

// The one rule: `flag` (--api-url) > COPILOT_API_URL > the token's api_url
// when trusted for `host` (is_trusted_copilot_api_url) > the default for
// `host`; without trailing slashes. `token_api_url` may be "" (a bare token).
std::string copilot_api_url(const std::optional<std::string>& flag,
                            const std::string& token_api_url, const std::string& host);
// The same for a token document.
std::string copilot_api_url(const std::optional<std::string>& flag, const CopilotToken& t);

// --- a Copilot token given by the user -------------------------------------------

// The one reader of "a token document or a bare token" (copilot-chat's
// --token-file and COPILOT_TOKEN, copilot-token --check).
struct GivenCopilotToken {
    std::string token;        // secret
    bool document = false;    // copilot-token's JSON document, else a bare token
    std::string host;         // the document's; "" for a bare token
    std::string api_url;      // the document's, as written (not checked); "" for a bare token
    std::string sku;          // the document's, else the token's sku= field
    int64_t expires_at = 0;   // the document's, else the token's exp= field; 0 when unknown
    std::map<std::string, std::string> fields;  // token_fields(token)
};

// Text starting with '{' is a token document (parse_token_document); else a
// bare token: one word of printable ASCII, at most 8 KiB. Error(data) naming
// `what` when it is neither ("WHAT: not a Copilot token ...") or when it is
// a GitHub token (the hint says how to exchange it; the token is not shown).
GivenCopilotToken read_given_token(std::string_view text, const std::string& what);

// --- credentials for the Copilot API (copilot-chat) ------------------------------

struct ApiCredentialsRequest {
    std::string host = "github.com";
    std::string profile;
    std::optional<std::string> token_file;  // --token-file FILE, "-" = standard input
    std::optional<std::string> api_url;     // --api-url
    LogFn log;                              // --verbose notes (never a secret)
    RetryHook on_retry;                     // HTTP retries during a token exchange
};

struct ApiCredentials {
    std::string token;    // secret: the Copilot token
    std::string host;
    std::string api_url;  // the Copilot API base (copilot_api_url), no trailing slash
    std::string source;   // for messages: "--token-file FILE", "COPILOT_TOKEN", "the token cache"
    // Gets a new token (a forced exchange). Empty when the token came from
    // --token-file or COPILOT_TOKEN: there is nothing to refresh.
    std::function<std::string()> refresh;
    std::vector<std::string> warnings;
    // Polled by every request made with these credentials (api/api_call.h,
    // HttpRequest::cancelled): true ends the request in flight. copilot-chat's
    // interactive mode sets it from Ctrl-C.
    std::function<bool()> cancelled;
};

// First match wins: --token-file > COPILOT_TOKEN > the cache, refreshed from
// the stored GitHub login (get_copilot_credentials; standard input is never
// read for it). A given token that has expired -> Error(permission), unless
// it is COPILOT_TOKEN and a login is stored: then the cache, with a warning.
// An empty COPILOT_TOKEN is "no key" (token ""). The cache's token goes only
// where copilot_token_may_go_to allows; to another --api-url or
// COPILOT_API_URL no key is sent. A given document's untrusted api_url is
// ignored with a warning.
ApiCredentials resolve_api_credentials(const ApiCredentialsRequest& req, int64_t now);

// Whether the user's Copilot token may be sent to `api_url`: a trusted
// Copilot API host for `host` (is_trusted_copilot_api_url) or a loopback URL
// (the tests' fake server, set through --api-url or COPILOT_API_URL).
bool copilot_token_may_go_to(const std::string& api_url, const std::string& host);
// The same as an Error(usage) naming the URL (copilot-serve's --api-url).
void require_copilot_api_url(const std::string& api_url, const std::string& host);

}  // namespace copilot
