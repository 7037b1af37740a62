#include "auth/credentials.h"

#include <cstdlib>
#include <ctime>

#include "net/endpoints.h"
#include "net/url_policy.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/text.h"

namespace copilot {

namespace {

constexpr size_t kMaxBareToken = 8192;

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}

bool looks_like_github_token(std::string_view t) {
    for (const char* p : {"ghu_", "gho_", "ghp_", "ghs_", "github_pat_"})
        if (starts_with(t, p)) return true;
    return false;
}

std::string expiry_text(int64_t expires_at, int64_t now) {
    int64_t ago = now - expires_at;
    if (ago < 120) return std::to_string(ago) + " s ago";
    if (ago < 7200) return std::to_string(ago / 60) + " min ago";
    return std::to_string(ago / 3600) + " h ago";
}

// The token's exp= field as a unix time; 0 when it is absent or not a number.
int64_t exp_field(const std::map<std::string, std::string>& fields) {
    auto exp = fields.find("exp");
    if (exp == fields.end() || exp->second.empty() || exp->second.size() > 15 ||
        exp->second.find_first_not_of("0123456789") != std::string::npos)
        return 0;
    return std::stoll(exp->second);
}

}  // namespace

// --- the GitHub token ------------------------------------------------------------

GithubToken find_github_login(const CredentialRequest& req) {
    const std::string& host = req.token.host;
    GithubTokenSources src;
    src.host = host;
    src.profile = req.token.profile;
    src.auth_file = req.auth_file;
    if (req.read_stdin) src.stdin_text = req.read_stdin(req.auth_file && *req.auth_file == "-");
    auto gh = find_github_token(src);
    if (!gh) throw Error(Exit::no_auth, not_logged_in_message(host));
    if (!gh->host.empty() && gh->host != host)
        throw Error(Exit::usage, "the GitHub login from " + gh->source + " is for " + gh->host +
                                     ", not " + host + "; add --host " + gh->host);
    note(req.token.log, "GitHub token from " + gh->source + " (" + mask_secret(gh->token) + ")");
    return *gh;
}

std::function<std::string()> github_token_lookup(const CredentialRequest& req) {
    return [req]() { return find_github_login(req).token; };
}

// --- the Copilot token -------------------------------------------------------------

CopilotTokenResult get_copilot_credentials(const CredentialRequest& req, int64_t now) {
    // An explicit credential is looked up first, for the cache entry's
    // binding (CopilotTokenRequest::given_github_token); the stored login
    // only when an exchange is due, so the fresh path reads none.
    const bool stdin_given = req.read_stdin && req.read_stdin(req.auth_file && *req.auth_file == "-");
    if (!req.auth_file && !stdin_given && !github_token_env_var())
        return get_copilot_token(req.token, github_token_lookup(req), now);
    const GithubToken gh = find_github_login(req);
    CopilotTokenRequest tr = req.token;
    tr.given_github_token = gh.token;
    const std::string host = req.token.host, profile = req.token.profile;
    tr.given_is_stored_login = [host, profile, token = gh.token]() {
        try {
            auto st = load_auth_state(host, profile);
            return st && st->oauth_token == token;
        } catch (const Error&) {
            return false;  // unreadable: not known to be the same login
        }
    };
    return get_copilot_token(tr, [token = gh.token]() { return token; }, now);
}

// --- the Copilot API base URL --------------------------------------------------------

std::string copilot_api_url(const std::optional<std::string>& flag,
                            const std::string& token_api_url, const std::string& host) {
    if (flag && !flag->empty()) return strip_slashes(*flag);
    // The one place COPILOT_API_URL is read (copilot-utils(7)).
    const char* env = std::getenv("COPILOT_API_URL");
    if (env && *env) return strip_slashes(env);
    const std::string token_api = strip_slashes(token_api_url);
    if (!token_api.empty() && is_trusted_copilot_api_url(token_api, host)) return token_api;
    return strip_slashes(default_copilot_api_url(host));
}

std::string copilot_api_url(const std::optional<std::string>& flag, const CopilotToken& t) {
    return copilot_api_url(flag, t.api_url, t.host);
}

// --- a Copilot token given by the user -----------------------------------------------

GivenCopilotToken read_given_token(std::string_view text, const std::string& what) {
    const std::string t = trim(text);
    if (t.empty()) throw Error(Exit::data, what + ": empty, expected a Copilot token");
    GivenCopilotToken g;
    if (t[0] == '{') {
        CopilotToken doc = parse_token_document(t, JsonSource{what, Exit::data});
        g.document = true;
        g.token = doc.token;
        g.host = doc.host;
        g.api_url = doc.api_url;
        g.sku = doc.sku;
        g.expires_at = doc.expires_at;
        g.fields = token_fields(g.token);
    } else {
        // A bare token is a few hundred printable characters; anything else
        // (a JSON array, a megabyte of text) would only be sent to the
        // server as a huge Authorization header.
        bool bare = t.size() <= kMaxBareToken && t[0] != '[' && t[0] != '"';
        for (unsigned char c : t)
            if (c <= 0x20 || c >= 0x7f) bare = false;
        if (!bare)
            throw Error(Exit::data, what + ": not a Copilot token (expected copilot-token's "
                                           "JSON document or a bare token)");
        g.token = t;
        g.fields = token_fields(g.token);
        g.expires_at = exp_field(g.fields);
    }
    if (g.sku.empty() && g.fields.count("sku")) g.sku = g.fields["sku"];
    if (looks_like_github_token(g.token))
        throw Error(Exit::data, what + " holds a GitHub token, not a Copilot token; exchange it "
                                       "with copilot-token (or set GITHUB_COPILOT_TOKEN instead)");
    return g;
}

// --- credentials for the Copilot API -------------------------------------------------

namespace {

// A token the user gave (--token-file, COPILOT_TOKEN): checked, and its
// document's api_url kept only when it is trusted for its host.
void take_given_token(ApiCredentials& a, std::string_view text, int64_t now,
                      std::string* token_api) {
    GivenCopilotToken g = read_given_token(text, a.source);
    if (g.expires_at > 0 && g.expires_at <= now)
        throw Error(Exit::permission, "the Copilot token from " + a.source + " expired " +
                                          expiry_text(g.expires_at, now) +
                                          "; get a new one with copilot-token");
    a.token = g.token;
    if (!g.document) return;
    a.host = g.host;
    if (is_trusted_copilot_api_url(strip_slashes(g.api_url), g.host))
        *token_api = g.api_url;
    else if (g.api_url != default_copilot_api_url(g.host))
        a.warnings.push_back(a.source + ": ignoring api_url " + g.api_url +
                             " (not a Copilot host; --api-url chooses another server)");
}

// COPILOT_TOKEN from an earlier `eval "$(copilot-token --format env)"` that
// has expired, while a login is stored: the self-refreshing cache takes over,
// with a warning (copilot-utils(7), "COPILOT_TOKEN").
bool stale_env_token(const char* env, const ApiCredentialsRequest& req, int64_t now,
                     std::vector<std::string>* warnings) {
    int64_t expires_at = 0;
    try {
        expires_at = read_given_token(env, "COPILOT_TOKEN").expires_at;
    } catch (const Error&) {
        return false;  // take_given_token reports it
    }
    if (expires_at <= 0 || expires_at > now) return false;
    bool stored = false;
    try {
        stored = load_auth_state(req.host, req.profile).has_value();
    } catch (const Error&) {
    }
    if (!stored) return false;
    warnings->push_back("COPILOT_TOKEN expired " + expiry_text(expires_at, now) +
                        "; using the token cache of the stored login instead (unset "
                        "COPILOT_TOKEN to use it without this warning)");
    return true;
}

}  // namespace

bool copilot_token_may_go_to(const std::string& api_url, const std::string& host) {
    const std::string url = strip_slashes(api_url);
    if (is_trusted_copilot_api_url(url, host)) return true;
    const bool web = starts_with(url, "http://") || starts_with(url, "https://");
    return web && is_loopback_host(url_host(url));
}

void require_copilot_api_url(const std::string& api_url, const std::string& host) {
    if (!copilot_token_may_go_to(api_url, host))
        throw Error(Exit::usage, api_url + " is not a Copilot API host for " + host +
                                     ": the Copilot token is sent only to Copilot hosts and "
                                     "loopback (copilot-utils(7), \"COPILOT_API_URL\")");
}

ApiCredentials resolve_api_credentials(const ApiCredentialsRequest& req, int64_t now) {
    ApiCredentials a;
    a.host = req.host;
    std::string token_api;  // the token's own api_url
    const char* env = std::getenv("COPILOT_TOKEN");
    std::vector<std::string> early;  // warnings before the cache's

    if (req.token_file) {
        std::string text;
        if (*req.token_file == "-") {
            a.source = "--token-file - (standard input)";
            text = read_fd(0, kMaxStateFile, "standard input");
        } else {
            a.source = "--token-file " + *req.token_file;
            auto content = read_private_file(*req.token_file, kMaxStateFile);
            if (!content) throw Error(Exit::no_auth, a.source + " does not exist");
            text = *content;
        }
        take_given_token(a, text, now, &token_api);
    } else if (env && !*env) {
        // Set and empty: "no key" (a local server that wants none), never the cache.
        a.source = "COPILOT_TOKEN (empty: no key)";
    } else if (env && !stale_env_token(env, req, now, &early)) {
        a.source = "COPILOT_TOKEN";
        take_given_token(a, env, now, &token_api);
    } else if (std::getenv("COPILOT_API_URL") || (req.api_url && !req.api_url->empty())) {
        // The user's Copilot token goes to Copilot hosts and loopback only;
        // another server gets only a key given for it (--token-file, COPILOT_TOKEN).
        const std::string url = copilot_api_url(req.api_url, "", req.host);
        if (!copilot_token_may_go_to(url, req.host)) {
            note(req.log, url + " is not a Copilot API host: sending no Copilot token "
                               "(COPILOT_TOKEN or --token-file gives its key)");
            a.source = "no key (not a Copilot API host)";
            a.api_url = url;
            a.warnings = std::move(early);
            return a;
        }
    }
    if (a.source.empty()) {
        CredentialRequest cr;
        cr.token.host = req.host;
        cr.token.profile = req.profile;
        cr.token.log = req.log;
        cr.token.on_retry = req.on_retry;
        CopilotTokenResult r = get_copilot_credentials(cr, now);
        a.token = r.token.token;
        a.warnings = std::move(early);
        a.warnings.insert(a.warnings.end(), r.warnings.begin(), r.warnings.end());
        a.source = r.from_cache ? "the token cache" : "a new token exchange";
        token_api = r.token.api_url;
        a.refresh = [cr]() mutable {
            cr.token.force_refresh = true;
            return get_copilot_credentials(cr, std::time(nullptr)).token.token;
        };
    }
    a.api_url = copilot_api_url(req.api_url, token_api, a.host);
    return a;
}

}  // namespace copilot
