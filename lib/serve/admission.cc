#include "serve/admission.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <netinet/in.h>

#include "net/ascii.h"
#include "net/url_policy.h"
#include "serve/client_auth.h"
#include "serve/request_log.h"  // client_text

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

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A preflight grants the headers asked for when they are header names
// (the origin is trusted), and always Authorization and Content-Type.
std::string granted_headers(const std::optional<std::string>& asked) {
    std::string out = "Authorization, Content-Type";
    if (!asked) return out;
    std::string_view rest = *asked;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view name = trimmed(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (name.empty() || name.size() > 64 || ascii_iequals(name, "authorization") ||
            ascii_iequals(name, "content-type"))
            continue;
        bool token = true;
        for (char c : name) token = token && (is_ascii_alnum(c) || c == '-' || c == '_');
        if (token) out += ", " + std::string(name);
    }
    return out;
}

}  // namespace

bool host_allowed(const AdmissionRules& rules, std::string_view host) {
    host = trimmed(host);
    std::string_view name = host, port;
    if (!host.empty() && host.front() == '[') {
        const size_t close = host.find(']');
        if (close == std::string_view::npos) return false;
        name = host.substr(0, close + 1);
        port = host.substr(close + 1);
        if (!port.empty() && port.front() != ':') return false;
    } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon);
    }
    if (!port.empty()) {  // ":" and 1-5 digits
        port.remove_prefix(1);
        if (port.empty() || port.size() > 5) return false;
        for (char c : port)
            if (!is_ascii_digit(c)) return false;
    }
    if (name.empty()) return false;
    if (ascii_iequals(name, "localhost")) return true;
    const bool bracketed = name.front() == '[';
    const std::string ip(bracketed ? name.substr(1, name.size() - 2) : name);
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(bracketed ? AF_INET6 : AF_INET, ip.c_str(), buf) == 1)
        return is_loopback_peer(ip) || rules.any_ip_host;
    if (bracketed) return false;
    for (const auto& allowed : rules.allow_hosts)
        if (ascii_iequals(name, allowed)) return true;
    return false;
}

bool is_json_media_type(std::string_view content_type) {
    return ascii_iequals(trimmed(content_type.substr(0, content_type.find(';'))),
                         "application/json");
}

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
    // A page that DNS rebinding pointed at us names its own host; a
    // Unix socket is out of every browser's reach.
    if (!rules.unix_socket && !(head.host && host_allowed(rules, *head.host))) {
        const std::string shown = head.host && !trimmed(*head.host).empty()
                                      ? "the Host '" + client_text(*head.host, 80) + "'"
                                      : "a request without a Host";
        a.refusal = refusal(403,
                            shown + " is not served here: only localhost, loopback addresses "
                                    "and the names given with --allow-host",
                            "host_not_allowed");
        return a;
    }
    // Browsers say who is asking: only the origins allowed get an answer
    // (before the body is read, so a simple cross-site POST spends nothing).
    if (head.origin) {
        bool allowed = false;
        for (const auto& o : rules.allow_origins) allowed = allowed || o == *head.origin;
        if (!allowed) {
            a.refusal = refusal(403,
                                "requests from web pages are refused: the Origin '" +
                                    client_text(*head.origin, 80) + "' is not on --allow-origin",
                                "origin_not_allowed");
            return a;
        }
        a.cors = {{"Access-Control-Allow-Origin", *head.origin}, {"Vary", "Origin"}};
        if (head.method == "OPTIONS" && a.route.route == Route::wrong_method) {
            // A preflight carries no key: it is answered before the key check.
            a.preflight = true;
            a.cors.push_back({"Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"});
            a.cors.push_back({"Access-Control-Allow-Headers", granted_headers(head.request_headers)});
            a.cors.push_back({"Access-Control-Max-Age", "600"});
            return a;
        }
    }
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
    } else if (!rules.unix_socket && !is_loopback_peer(head.peer)) {
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
    if (head.method == "POST" && !(head.content_type && is_json_media_type(*head.content_type))) {
        // Every POST route takes JSON; a form or text/plain body is what a
        // page can send cross-site without a preflight.
        a.refusal = refusal(415,
                            "the request body must be JSON, sent with Content-Type: "
                            "application/json" +
                                (head.content_type ? " (not '" + client_text(*head.content_type, 80) + "')"
                                                   : std::string(" (no Content-Type was given)")),
                            "unsupported_media_type");
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
    if (route.route == Route::models || route.route == Route::healthz ||
        route.route == Route::usage)
        return std::nullopt;
    *facts = inspect_request_body(body, route.api);
    if (!facts->json_object)
        return refusal(400,
                       facts->fault.empty() ? "the request body must be a JSON object"
                                            : facts->fault,
                       "invalid_json");
    return std::nullopt;
}

}  // namespace copilot
