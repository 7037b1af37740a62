#include "auth/token_check.h"

#include <ctime>

#include "auth/credentials.h"
#include "util/errors.h"
#include "util/json.h"
#include "util/paths.h"

namespace copilot {

namespace {


std::string utc_time(int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    char buf[64];
    if (!::gmtime_r(&tt, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        return std::to_string(t);
    return buf;
}

// The fields people look at first, in this order, then the rest.
std::string fields_line(const std::map<std::string, std::string>& fields) {
    std::string out;
    auto add = [&](const std::string& k, const std::string& v) {
        if (!out.empty()) out += ' ';
        out += k + "=" + v;
    };
    for (const char* key : {"tid", "sku", "exp"}) {
        auto it = fields.find(key);
        if (it != fields.end()) add(it->first, it->second);
    }
    return out;
}

}  // namespace

std::string describe_duration(int64_t seconds) {
    uint64_t s = seconds < 0 ? 0 - static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds);
    const uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d > 0) return std::to_string(d) + " d " + std::to_string(h) + " h";
    if (h > 0) return std::to_string(h) + " h " + std::to_string(m) + " min";
    if (m > 0) return std::to_string(m) + " min " + std::to_string(sec) + " s";
    return std::to_string(sec) + " s";
}

CopilotTokenCheck inspect_token(const CopilotToken& token, const std::string& source) {
    CopilotTokenCheck c;
    c.source = source;
    c.host = token.host;
    c.expires_at = token.expires_at;
    c.fields = token_fields(token.token);
    c.sku = token.sku;
    if (c.sku.empty() && c.fields.count("sku")) c.sku = c.fields["sku"];
    return c;
}

CopilotTokenCheck inspect_token_text(std::string_view text, const std::string& source) {
    GivenCopilotToken g = read_given_token(text, source);
    CopilotTokenCheck c;
    c.source = source;
    c.host = g.host;
    c.expires_at = g.expires_at;
    c.sku = g.sku;
    c.fields = std::move(g.fields);
    // A document always has expires_at; a bare token has only its exp= field.
    if (!g.document && c.expires_at == 0)
        throw Error(Exit::data, source + (c.fields.count("exp")
                                              ? ": the token's exp= field is not a unix time"
                                              : ": not a Copilot token (it has no exp= field)"));
    return c;
}

CopilotTokenCheck inspect_piped_or_cached(const std::optional<std::string>& piped,
                                          const std::string& host, const std::string& profile,
                                          bool use_cache, bool stdin_read) {
    if (piped) return inspect_token_text(*piped, "standard input");
    std::optional<CopilotToken> cached;
    if (use_cache) cached = read_token_cache(host, profile);
    if (!cached && use_cache)
        throw Error(Exit::no_auth, "no Copilot token for " + host + " in the cache; run copilot-token");
    if (!cached)
        throw Error(Exit::no_auth,
                    stdin_read ? "no Copilot token for " + host + " on standard input (it was empty)"
                               : std::string("--check --no-cache inspects a token piped on standard "
                                             "input, and none was piped (copilot-token --json | "
                                             "copilot-token --check --no-cache)"));
    return inspect_token(*cached, "token cache " + token_cache_path(host, profile));
}

bool check_passes(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl) {
    return c.expires_at - now >= min_ttl;
}

std::string check_summary_text(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl) {
    const int64_t left = c.expires_at - now;
    const std::string until = utc_time(c.expires_at);
    std::string out;
    if (left <= 0)
        out = "expired " + describe_duration(left) + " ago (at " + until + ")";
    else if (left < min_ttl)
        out = "expires in " + describe_duration(left) + " (at " + until +
              "), sooner than the minimum of " + std::to_string(min_ttl) + " s";
    else
        out = "valid for " + describe_duration(left) + " (until " + until + ")";
    std::string fields = fields_line(c.fields);
    if (!fields.empty()) out += "; " + fields;
    return out;
}

std::string check_summary_json(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl) {
    JsonObjectWriter f;
    for (const auto& kv : c.fields) f.field(kv.first.c_str(), kv.second);
    JsonObjectWriter w;
    w.field("valid", check_passes(c, now, min_ttl));
    w.field("expires_at", c.expires_at).field("expires_in", c.expires_at - now);
    w.field("sku", c.sku);
    if (c.host.empty()) w.null_field("host");
    else w.field("host", c.host);
    w.field("source", c.source);
    w.raw_field("fields", f.str());
    return w.str() + "\n";
}

}  // namespace copilot
