// copilot-serve's admission policy, written once: given what a request
// says (method, path, headers, peer, body) and the server's state, either
// a refusal (status, OpenAI-style error, headers) or its route. The HTTP
// glue (serve/http_server) asks and carries out; it decides nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"  // HeaderList
#include "serve/listen.h"  // kDefaultMaxBody
#include "serve/bodies.h"
#include "serve/routes.h"

namespace copilot {

struct Refusal {
    long status = 0;
    std::string message;
    std::string code;    // OpenAI's error code; also the log note
    HeaderList headers;  // besides Content-Type
    // The error in the client's shape (OpenAI's, or Anthropic's for Messages).
    std::string body(wire::Api api = wire::Api::chat) const;
};

struct AdmissionRules {
    // Clients must send "Authorization: Bearer <key>" or "x-api-key: <key>".
    std::optional<std::string> api_key;
    size_t max_body = kDefaultMaxBody;
    // Who may ask (ARCHITECTURE.md, "Network policy"): a Host of ours and no
    // Origin but the ones allowed. Hosts of ours: localhost, loopback IP
    // literals (any port: ssh -L and port mappings change it, DNS rebinding
    // changes the name), the names in allow_hosts (--allow-host, exact,
    // case-insensitive) and, when the listen address is not loopback (so a
    // key is required), any IP literal: rebinding needs a name.
    std::vector<std::string> allow_hosts;
    bool any_ip_host = false;
    bool unix_socket = false;  // no Host check and every peer is local: no browser gets there
    std::vector<std::string> allow_origins;  // --allow-origin, exact; none by default
};

// What is known once the headers are in.
struct RequestHead {
    std::string method;
    std::string path;  // without the query string
    std::string peer;  // the client's IP address
    std::optional<std::string> authorization;
    std::optional<std::string> x_api_key;  // Anthropic clients' key header
    std::optional<std::string> content_length;
    std::optional<std::string> host;
    std::optional<std::string> origin;
    std::optional<std::string> content_type;
    std::optional<std::string> request_headers;  // Access-Control-Request-Headers (a preflight)
};

struct Admission {
    RouteMatch route;
    std::optional<Refusal> refusal;  // set: answer it and drop the body
    bool preflight = false;          // set: answer 204 with `cors`, nothing else
    HeaderList cors;                 // on every answer to this request (an allowed Origin)
};

// Decided before the body is read, in this order: a Host that is not ours
// (403 host_not_allowed), an Origin not allowed (403 origin_not_allowed;
// an allowed one's preflight is answered here), shutting down (503), the
// key (401) or, without a key, a client that is not loopback (403), an
// unknown route (404, with the route list), a wrong method (405), a POST
// whose Content-Type is not application/json (415), a Content-Length over
// max_body (413).
Admission admit_head(const AdmissionRules& rules, const RequestHead& head, bool draining);

// Decided once the body is in: over max_body (a chunked body has no
// Content-Length; 413, and the connection closes), or, for a route that
// takes a JSON body, not a JSON object (400). `facts` gets what the body says.
std::optional<Refusal> admit_body(const AdmissionRules& rules, const RouteMatch& route,
                                  bool too_large, std::string_view body, InspectedBody* facts);

// Whether `host` (a Host header's value) names this server under `rules`.
bool host_allowed(const AdmissionRules& rules, std::string_view host);
// Whether a Content-Type is application/json (parameters and case aside).
bool is_json_media_type(std::string_view content_type);

// The server stops: 503, the connection closes, try again in a second.
Refusal refuse_shutting_down();
// A request that could not be handled: 500.
Refusal refuse_internal_error(const std::string& what);

}  // namespace copilot
