// Where GitHub and Copilot live for a given host, and the headers the
// Copilot service expects from an editor.
#pragma once

#include <string>

#include "net/http.h"

namespace copilot {

constexpr const char* kDefaultHost = "github.com";
constexpr const char* kDefaultClientId = "Iv1.b507a08c87ecfe98";
constexpr const char* kDefaultScope = "read:user";
constexpr const char* kDefaultCopilotApi = "https://api.githubcopilot.com";

struct Endpoints {
    std::string host;     // "github.com", "acme.ghe.com", "ghe.example.com"
    std::string web_url;  // device flow: https://github.com (COPILOT_GITHUB_URL overrides)
    // GitHub's REST API: https://api.github.com (COPILOT_GITHUB_API_URL
    // overrides). Not the Copilot API, whose base is credentials.h's copilot_api_url.
    std::string github_api_url;
};

// github.com -> https://github.com + https://api.github.com;
// *.ghe.com  -> https://HOST + https://api.HOST;
// other (GHE Server) -> https://HOST + https://HOST/api/v3.
// The environment overrides apply to every host (tests, proxies).
Endpoints github_endpoints(const std::string& host);

// The Copilot API base to use when neither --api-url nor COPILOT_API_URL
// nor a trusted endpoints.api is known.
std::string default_copilot_api_url(const std::string& host);

// Whether an endpoints.api URL from a token answer may be used: https and a
// host under .githubcopilot.com (or, for GHE hosts, under the GHE host).
bool is_trusted_copilot_api_url(const std::string& url, const std::string& host);

// Editor-Version, Editor-Plugin-Version, User-Agent (what GitHub expects
// from a Copilot client), for the device flow and the token exchange.
const HeaderList& editor_headers();

// Every header of a Copilot API request (ARCHITECTURE.md, protocol 4) with
// Authorization: Bearer <copilot_token> (none when it is "") and a fresh
// X-Request-Id.
HeaderList copilot_api_headers(const std::string& copilot_token);

// A random RFC 4122 version 4 UUID, lower-case.
std::string uuid_v4();

}  // namespace copilot
