#include "serve/routes.h"

#include "util/text.h"

namespace copilot {

using wire::Api;

// The upstream path of the three wire routes is the one the model takes
// (serve/wire_route picks it); the one given here is the client's own API's.
const RouteSpec kRoutes[] = {
    {"POST", "/chat/completions", false, Route::chat, "/chat/completions",
     "POST /v1/chat/completions", Api::chat},
    {"POST", "/responses", false, Route::responses, "/responses", "POST /v1/responses",
     Api::responses},
    {"POST", "/messages", false, Route::messages, "/v1/messages", "POST /v1/messages",
     Api::messages},
    {"POST", "/messages/count_tokens", false, Route::count_tokens, "",
     "POST /v1/messages/count_tokens", Api::messages},
    {"GET", "/models", false, Route::models, "/models", "GET /v1/models", Api::chat},
    // no upstream route for one model: the list is fetched and searched
    {"GET", "/models/", true, Route::models, "/models", "GET /v1/models/ID", Api::chat},
    {"POST", "/embeddings", false, Route::embeddings, "/embeddings", "POST /v1/embeddings",
     Api::chat},
    {"GET", "/healthz", false, Route::healthz, "", "GET /healthz", Api::chat},
    {"GET", "/usage", false, Route::usage, "", "GET /usage", Api::chat},
};
const size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

std::string route_summary() {
    std::string out;
    for (size_t i = 0; i < kRouteCount; ++i) out += (i ? ", " : "") + std::string(kRoutes[i].shown);
    return out;
}

std::optional<wire::Api> wire_api(Route route) {
    switch (route) {
    case Route::chat: return Api::chat;
    case Route::responses: return Api::responses;
    case Route::messages: return Api::messages;
    default: return std::nullopt;
    }
}

RouteMatch match_route(std::string_view method, std::string_view path) {
    if (starts_with(path, "/v1/")) path.remove_prefix(3);
    RouteMatch m;
    // A path under an Anthropic route that is none (or a wrong method there)
    // is answered in Anthropic's shape, as the client expects.
    if (path == "/messages" || starts_with(path, "/messages/")) m.api = Api::messages;
    for (size_t i = 0; i < kRouteCount; ++i) {
        const RouteSpec& e = kRoutes[i];
        const std::string_view p = e.path;
        if (e.takes_id ? !(path.size() > p.size() && starts_with(path, p)) : path != p) continue;
        const bool get = std::string_view(e.method) == "GET";
        m.api = e.api;
        if (method == e.method || (get && method == "HEAD")) {
            m.route = e.route;
            m.upstream_path = e.upstream;
            if (e.takes_id) m.model_id = std::string(path.substr(p.size()));
        } else {
            m.route = Route::wrong_method;
            m.allow = get ? "GET, HEAD" : e.method;
        }
        return m;
    }
    return m;
}

}  // namespace copilot
