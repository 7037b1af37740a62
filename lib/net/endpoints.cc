#include "net/endpoints.h"

#include <cstdlib>
#include <random>

#include "util/errors.h"

namespace copilot {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    std::string s(v);
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

Endpoints github_endpoints(const std::string& host) {
    Endpoints e;
    e.host = host;
    if (host == "github.com") {
        e.web_url = "https://github.com";
        e.github_api_url = "https://api.github.com";
    } else if (ends_with(host, ".ghe.com")) {  // GHE.com data residency
        e.web_url = "https://" + host;
        e.github_api_url = "https://api." + host;
    } else {  // GHE Server
        e.web_url = "https://" + host;
        e.github_api_url = "https://" + host + "/api/v3";
    }
    e.web_url = env_or("COPILOT_GITHUB_URL", e.web_url);
    e.github_api_url = env_or("COPILOT_GITHUB_API_URL", e.github_api_url);
    return e;
}

std::string default_copilot_api_url(const std::string& host) {
    if (host == "github.com") return kDefaultCopilotApi;
    return "https://copilot-api." + host;
}

bool is_trusted_copilot_api_url(const std::string& url, const std::string& host) {
    // Parsed strictly here, not with url_host: "https://" host [":" port]
    // ["/" path], the host of letters, digits, dots and dashes only. So
    // nothing that libcurl could read as another host passes: a backslash,
    // userinfo ("@"), "?" or "#" ending the authority, spaces or controls.
    if (url.compare(0, 8, "https://") != 0) return false;
    const size_t slash = url.find('/', 8);
    const std::string authority = url.substr(8, slash == std::string::npos ? std::string::npos
                                                                           : slash - 8);
    const size_t colon = authority.find(':');
    std::string h = authority.substr(0, colon);
    if (colon != std::string::npos) {
        const std::string port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5) return false;
        for (char c : port)
            if (c < '0' || c > '9') return false;
    }
    if (h.empty() || h.front() == '.' || h.back() == '.' || h.find("..") != std::string::npos)
        return false;
    for (char& c : h) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    for (char c : url)
        if (c == '\\' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
    if (ends_with(h, ".githubcopilot.com")) return true;
    return host != "github.com" && ends_with(h, "." + host);
}

const HeaderList& editor_headers() {
    static const HeaderList h = {
        {"Editor-Version", "vscode/1.104.3"},
        {"Editor-Plugin-Version", "copilot-chat/0.26.7"},
        {"User-Agent", "GitHubCopilotChat/0.26.7"},
    };
    return h;
}

HeaderList copilot_api_headers(const std::string& copilot_token) {
    HeaderList h;
    h.reserve(12);  // these and the few a request adds, without regrowing
    // No token, no Authorization: an empty COPILOT_TOKEN means "no key".
    if (!copilot_token.empty()) h.push_back({"Authorization", "Bearer " + copilot_token});
    h.push_back({"Copilot-Integration-Id", "vscode-chat"});
    h.insert(h.end(), editor_headers().begin(), editor_headers().end());
    h.push_back({"Openai-Intent", "conversation-panel"});
    h.push_back({"X-GitHub-Api-Version", "2025-04-01"});
    h.push_back({"X-Request-Id", uuid_v4()});
    h.push_back({"X-Initiator", "user"});
    return h;
}

std::string uuid_v4() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    unsigned char b[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rng();
        for (int j = 0; j < 8; ++j) b[i + j] = static_cast<unsigned char>(r >> (8 * j));
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    // By hand rather than snprintf: a request of copilot-serve makes two.
    static const char hex[] = "0123456789abcdef";
    std::string out(36, '-');
    for (int i = 0, o = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) ++o;  // the dashes stay
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    return out;
}

}  // namespace copilot
