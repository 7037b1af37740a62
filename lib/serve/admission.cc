#include "serve/admission.h"

#include <cerrno>
#include <cstdlib>

#include "net/url_policy.h"
#include "serve/client_auth.h"

namespace copilot {

namespace {

Refusal refusal(long status, std::string message, std::string code, HeaderList headers = {}) {
    return Refusal{status, std::move(message), std::move(code), std::move(headers)};
}

Refusal too_large(size_t max_body, bool body_read) {
    HeaderList h;
    // Past a chunked body, the connection is not trusted to be in step.
    if (body_read) h.push_back({"Connection", "close"});
    return refusal(413, "the request body is larger than " + std::to_string(max_body) + " bytes",
                   "request_too_large", std::move(h));
}

}  // namespace

std::string Refusal::body(wire::Api api) const {
    return client_error(api, status, message, code);
}

Refusal refuse_shutting_down() {
    return refusal(503, "the server is shutting down", "shutting_down",
                   {{"Connection", "close"}, {"Retry-After", "1"}});
}

Refusal refuse_internal_error(const std::string& what) {
    return refusal(500, "internal error: " + what, "internal_error");
}

Admission admit_head(const AdmissionRules& rules, const RequestHead& head, bool draining) {
    Admission a;
    a.route = match_route(head.method, head.path);
    if (draining) {
        a.refusal = refuse_shutting_down();
        return a;
    }
    if (rules.api_key) {
        auto cred = client_credentials(head.authorization, head.x_api_key);
        if (!cred || !constant_time_equals(*cred, *rules.api_key)) {
            a.refusal = refusal(401,
                                "missing or wrong API key: send Authorization: Bearer <key> "
                                "or x-api-key: <key>",
                                "invalid_api_key", {{"WWW-Authenticate", "Bearer"}});
            return a;
        }
    } else if (!is_loopback_peer(head.peer)) {
        // Defence in depth: without a key we listen on loopback only anyway.
        a.refusal = refusal(403, "only local clients are served without a key", "forbidden");
        return a;
    }
    if (a.route.route == Route::not_found) {
        a.refusal = refusal(404, "unknown route " + head.method + " " + head.path + " (try " +
                                     route_summary() + ")",
                            "unknown_route");
        return a;
    }
    if (a.route.route == Route::wrong_method) {
        a.refusal = refusal(405, head.method + " is not allowed here; use " + a.route.allow,
                            "method_not_allowed", {{"Allow", a.route.allow}});
        return a;
    }
    if (head.content_length) {
        const char* text = head.content_length->c_str();
        errno = 0;
        char* end = nullptr;
        const unsigned long long n = std::strtoull(text, &end, 10);
        if (errno == 0 && end != text && n > rules.max_body)
            a.refusal = too_large(rules.max_body, false);
    }
    return a;
}

std::optional<Refusal> admit_body(const AdmissionRules& rules, const RouteMatch& route,
                                  bool body_too_large, std::string_view body,
                                  InspectedBody* facts) {
    if (body_too_large) return too_large(rules.max_body, true);
    if (route.route == Route::models || route.route == Route::healthz) return std::nullopt;
    *facts = inspect_request_body(body, route.api);
    if (!facts->json_object)
        return refusal(400,
                       facts->fault.empty() ? "the request body must be a JSON object"
                                            : facts->fault,
                       "invalid_json");
    return std::nullopt;
}

}  // namespace copilot
