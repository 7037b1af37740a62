#include "serve/routes.h"

#include "util/text.h"

namespace copilot {

const RouteSpec kRoutes[] = {
    {"POST", "/chat/completions", false, Route::chat, "/chat/completions",
     "POST /v1/chat/completions"},
    {"GET", "/models", false, Route::models, "/models", "GET /v1/models"},
    // no upstream route for one model: the list is fetched and searched
    {"GET", "/models/", true, Route::models, "/models", "GET /v1/models/ID"},
    {"POST", "/embeddings", false, Route::embeddings, "/embeddings", "POST /v1/embeddings"},
    {"GET", "/healthz", false, Route::healthz, "", "GET /healthz"},
};
const size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

std::string route_summary() {
    std::string out;
    for (size_t i = 0; i < kRouteCount; ++i) out += (i ? ", " : "") + std::string(kRoutes[i].shown);
    return out;
}

RouteMatch match_route(std::string_view method, std::string_view path) {
    if (starts_with(path, "/v1/")) path.remove_prefix(3);
    RouteMatch m;
    for (size_t i = 0; i < kRouteCount; ++i) {
        const RouteSpec& e = kRoutes[i];
        const std::string_view p = e.path;
        if (e.takes_id ? !(path.size() > p.size() && starts_with(path, p)) : path != p) continue;
        const bool get = std::string_view(e.method) == "GET";
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
