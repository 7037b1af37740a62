// copilot-serve's admission policy, written once: given what a request
// says (method, path, headers, peer, body) and the server's state, either
// a refusal (status, OpenAI-style error, headers) or its route. The HTTP
// glue (serve/http_server) asks and carries out; it decides nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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
};

// What is known once the headers are in.
struct RequestHead {
    std::string method;
    std::string path;  // without the query string
    std::string peer;  // the client's IP address
    std::optional<std::string> authorization;
    std::optional<std::string> x_api_key;  // Anthropic clients' key header
    std::optional<std::string> content_length;
};

struct Admission {
    RouteMatch route;
    std::optional<Refusal> refusal;  // set: answer it and drop the body
};

// Decided before the body is read, in this order: shutting down (503),
// the key (401) or, without a key, a client that is not loopback (403),
// an unknown route (404, with the route list), a wrong method (405), a
// Content-Length over max_body (413).
Admission admit_head(const AdmissionRules& rules, const RequestHead& head, bool draining);

// Decided once the body is in: over max_body (a chunked body has no
// Content-Length; 413, and the connection closes), or, for a route that
// takes a JSON body, not a JSON object (400). `facts` gets what the body says.
std::optional<Refusal> admit_body(const AdmissionRules& rules, const RouteMatch& route,
                                  bool too_large, std::string_view body, InspectedBody* facts);

// The server stops: 503, the connection closes, try again in a second.
Refusal refuse_shutting_down();
// A request that could not be handled: 500.
Refusal refuse_internal_error(const std::string& what);

}  // namespace copilot
