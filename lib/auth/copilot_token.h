// The short-lived Copilot API token: exchange, the token document, the
// cache with its refresh rule, and reading the token string's fields.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http.h"
#include "util/json.h"

namespace copilot {

// ARCHITECTURE.md's token document.
struct CopilotToken {
    std::string host;
    std::string token;      // secret: "tid=...;exp=...;...:mac"
    int64_t expires_at = 0; // unix seconds
    int64_t refresh_in = 0; // seconds after fetched_at the service wants a refresh
    int64_t fetched_at = 0;
    std::string api_url;    // trusted endpoints.api, or the default
    std::string sku;
    // The cache entry's binding (never printed, ARCHITECTURE.md "the path of
    // a token"): credential_id of the GitHub token it was minted from, and
    // whether that token was given explicitly (--auth, piped auth state,
    // GITHUB_COPILOT_TOKEN) rather than the stored login's.
    std::string credential;
    bool given = false;
};

// GET {api}/copilot_internal/v2/token with "Authorization: token ..." and
// the editor headers, retried on 429/5xx. Errors:
//   401 -> permission "GitHub token is invalid or revoked; run copilot-login"
//   403 -> permission, error_details.message and notification_id
//   404 -> permission "this GitHub token cannot be used for Copilot ..."
//   429 -> temp, 5xx -> unavailable (after retries); bad answer -> protocol
// `on_retry` (optional) hears about each retry, with server text redacted.
using RetryHook = std::function<void(int attempt, long wait_ms, const std::string& reason)>;
CopilotToken exchange_token(const std::string& github_token, const std::string& host,
                            int64_t now, const RetryHook& on_retry = {});

// One GET of GitHub's copilot_internal API (`path`, e.g. "/copilot_internal/user") the
// way the exchange makes it: the GitHub token as "Authorization: token ...", the
// editor headers, retries on 429/5xx. Returns a 2xx answer; anything else throws the
// exchange's errors above, with `service` ("the Copilot token service") in the 429,
// 5xx and unexpected-status messages. The token never appears in a message.
HttpResponse copilot_internal_get(const std::string& path, const std::string& github_token,
                                  const std::string& host, const std::string& service,
                                  const RetryHook& on_retry = {});

// Parses the exchange answer (tolerant: unknown fields ignored; token,
// expires_at, refresh_in required). Untrusted endpoints.api -> default.
CopilotToken parse_token_envelope(std::string_view body, const std::string& host, int64_t now);

// The token document (one JSON object and a newline) and its reader (which
// also reads a cache entry's binding, when there is one).
std::string serialize_token_document(const CopilotToken& t);
// The cache entry: the document and its binding (credential, given).
std::string serialize_cache_entry(const CopilotToken& t);
CopilotToken parse_token_document(std::string_view json, const JsonSource& src);

// The ';'-separated key=value fields of the token string before the first
// ':' (tid, exp, sku, proxy-ep, ...). Fields without '=' are skipped.
std::map<std::string, std::string> token_fields(std::string_view token);

// Fresh: younger than refresh_in - 60 s (and fetched no more than 60 s "in
// the future", which means the clock moved back) and valid for at least
// min_ttl s.
bool is_fresh(const CopilotToken& t, int64_t now, int64_t min_ttl);
// The first second at which a token fetched at fetched_at stops being fresh:
// when --watch refreshes it.
int64_t refresh_due_at(const CopilotToken& t, int64_t min_ttl);

// What a Copilot token is asked for with (the GitHub token's sources are
// credentials.h's CredentialRequest).
struct CopilotTokenRequest {
    std::string host = "github.com";
    std::string profile;
    int64_t min_ttl = 300;
    bool force_refresh = false;  // --refresh
    bool use_cache = true;       // --no-cache: neither read nor write
    // copilot-token, whose job includes the cache: a cache that cannot be
    // locked or written is an error (Error(io)) rather than a warning.
    bool cache_required = false;
    // The GitHub token given explicitly (--auth, piped auth state,
    // GITHUB_COPILOT_TOKEN), secret: a cache entry is used only when it was
    // minted from this token (credential_matches), and a new token replaces
    // only an entry that is absent, stale or itself minted from a given
    // token: the stored login's fresh entry is never overwritten. Unset:
    // the stored login, which takes any entry not marked `given`, without
    // reading a credential (the fresh path stays a single file read).
    std::optional<std::string> given_github_token;
    // With given_github_token: whether it is the stored login's token (then
    // the new entry is the stored login's). Called only before a cache write.
    std::function<bool()> given_is_stored_login;
    // Optional hooks for --verbose: what happened (cache hit/miss, exchange),
    // never a token; and each HTTP retry.
    std::function<void(const std::string&)> log;
    RetryHook on_retry;
};

struct CopilotTokenResult {
    CopilotToken token;
    bool from_cache = false;
    std::vector<std::string> warnings;  // e.g. "corrupt cache ... replaced"
};

// The cached token if fresh (and bound as given_github_token says); otherwise, under an exclusive lock on the cache
// (so parallel callers make one exchange), re-check the cache, exchange and
// rewrite it atomically. `github_token` is only called when an exchange is
// needed, so the fresh path never looks for credentials or loads libcurl.
CopilotTokenResult get_copilot_token(const CopilotTokenRequest& req,
                                     const std::function<std::string()>& github_token,
                                     int64_t now);

// The cached token document for host/profile, without freshness checks;
// nullopt if absent. Corrupt -> Error(data).
std::optional<CopilotToken> read_token_cache(const std::string& host, const std::string& profile);
bool remove_token_cache(const std::string& host, const std::string& profile);
// Atomically replaces the cached token of t.host/profile (0600 in 0700 dirs),
// bound to the stored login's `github_token`, and returns the path: a
// finished login stores the token its check got, holding its FileLock (token_cache_lock).
std::string store_token_cache(const CopilotToken& t, const std::string& profile,
                              const std::string& github_token);
// The path of the cache lock of host/profile (the FileLock a refresh holds
// from its GitHub token lookup to its cache write), its directory created if
// need be: a login and a logout hold it, so that no refresh writes after them.
std::string token_cache_lock(const std::string& host, const std::string& profile);

// What copilot-token prints: the token, the token document, shell code for
// eval (--format env) or an HTTP header line; each ends with a newline.
enum class TokenFormat { token, json, env, header };
std::string format_token(const CopilotToken& t, TokenFormat format, const std::string& api_url);
// "token", "json", "env", "header"; nullopt for anything else.
std::optional<TokenFormat> parse_token_format(const std::string& name);
// COPILOT_TOKEN, COPILOT_API_URL and COPILOT_TOKEN_EXPIRES_AT: --format env
// and the environment of copilot-token --exec's command.
std::vector<std::pair<std::string, std::string>> token_environment(const CopilotToken& t,
                                                                   const std::string& api_url);

}  // namespace copilot
