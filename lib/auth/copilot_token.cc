#include "auth/copilot_token.h"

#include <algorithm>

#include "auth/credential_id.h"
#include "util/errors.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "net/http.h"
#include "util/paths.h"
#include "util/text.h"

namespace copilot {

namespace {

// The service asks for a refresh `refresh_in` seconds after the exchange;
// we refresh this much earlier so a token is never used right at the edge.
constexpr int64_t kRefreshMargin = 60;

// A token travels in HTTP headers, environment variables and shell code:
// anything but printable ASCII without spaces could inject into one of them.
void check_token_chars(const std::string& token, const JsonSource& src) {
    if (token.empty()) throw Error(src.code, src.what + ": field 'token' is empty");
    for (unsigned char c : token)
        if (c <= 0x20 || c >= 0x7f)
            throw Error(src.code, src.what + ": field 'token' contains invalid characters");
}

// "message (notification_id)" from a 403 envelope, tolerating any shape.
std::string forbidden_message(const std::string& body, const std::string& secret) {
    std::string message, id, url;
    rapidjson::Document doc;
    bool parsed = false;
    try {  // a document json_parse refuses (a duplicate key) is shown as no message
        doc = json_parse(body, JsonSource{"403 answer", Exit::protocol});
        parsed = true;
    } catch (const Error&) {
    }
    if (parsed) {
        auto str = [](const JsonValue& obj, const char* key) -> std::string {
            auto it = obj.FindMember(key);
            if (it == obj.MemberEnd() || !it->value.IsString()) return "";
            return std::string(it->value.GetString(), it->value.GetStringLength());
        };
        auto details = doc.FindMember("error_details");
        if (details != doc.MemberEnd() && details->value.IsObject()) {
            message = str(details->value, "message");
            id = str(details->value, "notification_id");
            url = str(details->value, "url");
        }
        if (message.empty()) message = str(doc, "message");
    }
    if (message.empty()) message = "access to Copilot was refused";
    std::string out = "no Copilot access (403): " + message;
    if (!id.empty()) out += " (" + id + ")";
    if (!url.empty()) out += "; see " + url;
    return one_line(out, secret);
}

Error cache_error(const Error& e) {
    return Error(e.code(), std::string(e.what()) + " (--no-cache works without the cache)");
}

void note(const CopilotTokenRequest& req, const std::string& message) {
    if (req.log) req.log(message);
}

// Whether a cache entry may be handed out for `req` (CopilotTokenRequest's
// given_github_token says the rule).
bool bound_to(const CopilotToken& cached, const CopilotTokenRequest& req) {
    if (req.given_github_token) return credential_matches(cached.credential, *req.given_github_token);
    return !cached.given;
}

bool stored_login(const CopilotTokenRequest& req) {
    return req.given_is_stored_login && req.given_is_stored_login();
}

}  // namespace

CopilotToken parse_token_envelope(std::string_view body, const std::string& host, int64_t now) {
    const JsonSource src{"token answer", Exit::protocol};
    rapidjson::Document doc = json_parse(body, src);
    CopilotToken t;
    t.host = host;
    t.token = json_string(doc, "token", src);
    check_token_chars(t.token, src);
    t.expires_at = json_seconds(doc, "expires_at", src);
    t.refresh_in = json_seconds(doc, "refresh_in", src);
    t.fetched_at = now;
    // Optional fields are kept when they have the expected type and
    // otherwise ignored: the service adds and changes fields freely.
    t.api_url = default_copilot_api_url(host);
    auto endpoints = doc.FindMember("endpoints");
    if (endpoints != doc.MemberEnd() && endpoints->value.IsObject()) {
        auto api = endpoints->value.FindMember("api");
        if (api != endpoints->value.MemberEnd() && api->value.IsString()) {
            std::string url(api->value.GetString(), api->value.GetStringLength());
            while (!url.empty() && url.back() == '/') url.pop_back();
            if (is_trusted_copilot_api_url(url, host)) t.api_url = url;
        }
    }
    auto sku = doc.FindMember("sku");
    if (sku != doc.MemberEnd() && sku->value.IsString())
        t.sku.assign(sku->value.GetString(), sku->value.GetStringLength());
    return t;
}

HttpResponse copilot_internal_get(const std::string& path, const std::string& github_token,
                                  const std::string& host, const std::string& service,
                                  const RetryHook& on_retry) {
    HttpRequest req;
    req.url = github_endpoints(host).github_api_url + path;
    req.headers = editor_headers();
    req.headers.push_back({"Authorization", "token " + github_token});
    req.headers.push_back({"Accept", "application/json"});
    req.retry = true;
    req.max_body = 1 << 20;
    if (on_retry)
        req.on_retry = [&](int attempt, long wait_ms, const std::string& reason) {
            on_retry(attempt, wait_ms, redact(reason, github_token));
        };

    HttpResponse r;
    try {
        r = http_perform(req);
    } catch (const Error& e) {
        throw Error(e.code(), redact(e.what(), github_token));
    }
    const long s = r.status;
    if (s >= 200 && s < 300) return r;
    if (s == 401)
        throw Error(Exit::permission, "GitHub token is invalid or revoked; run copilot-login");
    if (s == 403) throw Error(Exit::permission, forbidden_message(r.body, github_token));
    if (s == 404)
        throw Error(Exit::permission,
                    "this GitHub token cannot be used for Copilot (tokens from `gh auth token` "
                    "do not work)");
    if (s == 429)
        throw Error(Exit::temp, service + " is rate limiting requests (429); try again later");
    if (s >= 500)
        throw Error(Exit::unavailable, service + " is unavailable (HTTP " + std::to_string(s) +
                                           "); try again later");
    throw Error(Exit::protocol, "unexpected answer from " + service + ": HTTP " +
                                    std::to_string(s) + ": " + one_line(r.body, github_token));
}

CopilotToken exchange_token(const std::string& github_token, const std::string& host,
                            int64_t now, const RetryHook& on_retry) {
    const HttpResponse r = copilot_internal_get("/copilot_internal/v2/token", github_token, host,
                                                "the Copilot token service", on_retry);
    try {
        return parse_token_envelope(r.body, host, now);
    } catch (const Error& e) {
        throw Error(e.code(), redact(e.what(), github_token));
    }
}

std::string serialize_token_document(const CopilotToken& t) {
    JsonObjectWriter w;
    w.field("host", t.host).field("token", t.token).field("expires_at", t.expires_at);
    w.field("refresh_in", t.refresh_in).field("fetched_at", t.fetched_at);
    w.field("api_url", t.api_url).field("sku", t.sku);
    return w.str() + "\n";
}

std::string serialize_cache_entry(const CopilotToken& t) {
    JsonObjectWriter w;
    w.field("host", t.host).field("token", t.token).field("expires_at", t.expires_at);
    w.field("refresh_in", t.refresh_in).field("fetched_at", t.fetched_at);
    w.field("api_url", t.api_url).field("sku", t.sku);
    w.field("credential", t.credential).field("given", t.given);
    return w.str() + "\n";
}

CopilotToken parse_token_document(std::string_view json, const JsonSource& src) {
    rapidjson::Document doc = json_parse(json, src);
    CopilotToken t;
    t.host = json_string(doc, "host", src);
    t.token = json_string(doc, "token", src);
    check_token_chars(t.token, src);
    t.expires_at = json_seconds(doc, "expires_at", src);
    // A document without refresh_in/fetched_at is still usable; it just
    // counts as due for a refresh.
    t.refresh_in = json_opt_seconds(doc, "refresh_in", src).value_or(0);
    t.fetched_at = json_opt_seconds(doc, "fetched_at", src).value_or(0);
    t.api_url = json_opt_string(doc, "api_url", src).value_or(default_copilot_api_url(t.host));
    t.sku = json_opt_string(doc, "sku", src).value_or("");
    t.credential = json_opt_string(doc, "credential", src).value_or("");
    auto given = doc.FindMember("given");
    if (given != doc.MemberEnd()) {
        if (!given->value.IsBool())
            throw Error(src.code, src.what + ": field 'given' must be true or false");
        t.given = given->value.GetBool();
    }
    return t;
}

std::map<std::string, std::string> token_fields(std::string_view token) {
    std::map<std::string, std::string> fields;
    token = token.substr(0, token.find(':'));
    while (!token.empty()) {
        size_t semi = token.find(';');
        std::string_view part = token.substr(0, semi);
        size_t eq = part.find('=');
        if (eq != std::string_view::npos && eq > 0)
            fields.emplace(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
        if (semi == std::string_view::npos) break;
        token.remove_prefix(semi + 1);
    }
    return fields;
}

bool is_fresh(const CopilotToken& t, int64_t now, int64_t min_ttl) {
    const int64_t age = now - t.fetched_at;
    // Parallel callers read the clock a second apart, so a token fetched
    // "in the future" by a little is normal; by more, the clock moved back.
    if (age < -kRefreshMargin) return false;
    return age < t.refresh_in - kRefreshMargin && t.expires_at - now >= min_ttl;
}

int64_t refresh_due_at(const CopilotToken& t, int64_t min_ttl) {
    return std::min(t.fetched_at + t.refresh_in - kRefreshMargin, t.expires_at - min_ttl + 1);
}

std::optional<CopilotToken> read_token_cache(const std::string& host,
                                             const std::string& profile) {
    const std::string path = token_cache_path(host, profile);
    auto text = read_private_file(path, kMaxStateFile);
    if (!text) return std::nullopt;
    const JsonSource src{"token cache " + path, Exit::data};
    CopilotToken t = parse_token_document(*text, src);
    if (t.host != host)
        throw Error(Exit::data, src.what + ": host '" + t.host + "' does not match '" + host + "'");
    return t;
}

bool remove_token_cache(const std::string& host, const std::string& profile) {
    return remove_file(token_cache_path(host, profile));
}

std::string token_cache_lock(const std::string& host, const std::string& profile) {
    const std::string path = token_cache_path(host, profile);
    make_dirs(dir_name(path), 0700, true);
    return path + ".lock";
}

std::string store_token_cache(const CopilotToken& t, const std::string& profile,
                              const std::string& github_token) {
    CopilotToken entry = t;
    entry.credential = credential_id(github_token);
    entry.given = false;
    const std::string path = token_cache_path(t.host, profile);
    write_file_atomic(path, serialize_cache_entry(entry));
    return path;
}

std::vector<std::pair<std::string, std::string>> token_environment(const CopilotToken& t,
                                                                   const std::string& api_url) {
    return {{"COPILOT_TOKEN", t.token},
            {"COPILOT_API_URL", api_url},
            {"COPILOT_TOKEN_EXPIRES_AT", std::to_string(t.expires_at)}};
}

std::string format_token(const CopilotToken& t, TokenFormat format, const std::string& api_url) {
    switch (format) {
    case TokenFormat::json:
        return serialize_token_document(t);
    case TokenFormat::env: {
        std::string out;
        for (const auto& kv : token_environment(t, api_url))
            out += "export " + kv.first + "=" + shell_quote(kv.second) + "\n";
        return out;
    }
    case TokenFormat::header:
        return "Authorization: Bearer " + t.token + "\n";
    case TokenFormat::token:
        break;
    }
    return t.token + "\n";
}

std::optional<TokenFormat> parse_token_format(const std::string& name) {
    if (name == "token") return TokenFormat::token;
    if (name == "json") return TokenFormat::json;
    if (name == "env") return TokenFormat::env;
    if (name == "header") return TokenFormat::header;
    return std::nullopt;
}

CopilotTokenResult get_copilot_token(const CopilotTokenRequest& req,
                                     const std::function<std::string()>& github_token,
                                     int64_t now) {
    CopilotTokenResult result;
    std::string used;  // the GitHub token of the exchange, for the entry's binding
    auto exchange = [&]() {
        used = github_token();
        note(req, "exchanging the GitHub token for a Copilot token at " +
                      github_endpoints(req.host).github_api_url);
        return exchange_token(used, req.host, now, req.on_retry);
    };
    if (!req.use_cache) {
        result.token = exchange();
        return result;
    }

    const std::string path = token_cache_path(req.host, req.profile);
    // The fresh path: one small file read and no lock, no credentials, no
    // network. A cache that cannot be read here is looked at again below.
    if (!req.force_refresh) {
        try {
            auto cached = read_token_cache(req.host, req.profile);
            if (cached && is_fresh(*cached, now, req.min_ttl) && bound_to(*cached, req)) {
                note(req, "cache hit: " + path);
                result.token = *cached;
                result.from_cache = true;
                return result;
            }
            note(req, !cached ? "cache miss: " + path
                      : is_fresh(*cached, now, req.min_ttl)
                          ? "cache entry minted from another GitHub credential: " + path
                          : "cache stale: " + path);
        } catch (const Error& e) {
            if (e.code() != Exit::data) throw;
        }
    }

    // Refresh under an exclusive lock so that parallel callers make one
    // exchange: whoever waited re-reads the cache the winner just wrote.
    std::optional<FileLock> lock;
    try {
        make_dirs(dir_name(path), 0700, true);
        lock.emplace(path + ".lock");
    } catch (const Error& e) {
        // Before any exchange: a read-only or missing cache dir fails here.
        if (req.cache_required) throw cache_error(e);
        result.warnings.push_back(std::string(e.what()) + "; refreshing without the lock");
    }
    // Whether the new token may replace the entry: never the stored login's
    // fresh one with a token minted from another credential.
    bool may_write = true;
    // --refresh of the stored login replaces whatever is there, unread.
    if (!req.force_refresh || req.given_github_token) {
        try {
            auto cached = read_token_cache(req.host, req.profile);
            if (cached && is_fresh(*cached, now, req.min_ttl)) {
                if (!req.force_refresh && bound_to(*cached, req)) {
                    note(req, "cache refreshed by another process: " + path);
                    result.token = *cached;
                    result.from_cache = true;
                    return result;
                }
                if (req.given_github_token && !cached->given &&
                    !credential_matches(cached->credential, *req.given_github_token))
                    may_write = false;
            }
        } catch (const Error& e) {
            if (e.code() != Exit::data) throw;
            result.warnings.push_back(std::string(e.what()) + "; replacing it");
        }
    }

    result.token = exchange();
    if (result.token.expires_at - now < req.min_ttl)
        result.warnings.push_back("the new Copilot token expires in " +
                                  std::to_string(result.token.expires_at - now) +
                                  " s, sooner than the minimum of " +
                                  std::to_string(req.min_ttl) + " s");
    if (req.given_github_token && !may_write && !stored_login(req)) {
        note(req, "cache left as it was: it holds the fresh token of the stored login, "
                  "not of the given GitHub credential");
        return result;
    }
    try {
        CopilotToken entry = result.token;
        entry.credential = credential_id(used);
        entry.given = req.given_github_token.has_value() && !stored_login(req);
        write_file_atomic(path, serialize_cache_entry(entry));
        note(req, "cache written: " + path);
    } catch (const Error& e) {
        if (req.cache_required) throw cache_error(e);
        // The token is good; a cache we cannot write only costs the next call an exchange.
        result.warnings.push_back(e.what());
    }
    return result;
}

}  // namespace copilot
