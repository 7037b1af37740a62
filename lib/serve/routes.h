// copilot-serve's routes: ONE table, from which matching, the 404 hint and
// the route list of the help text are derived.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "wire/wire.h"

namespace copilot {

// chat, responses, messages: the three wire APIs (ARCHITECTURE.md, "Wire
// APIs"); count_tokens: Anthropic's estimate, answered here.
enum class Route {
    chat,
    responses,
    messages,
    count_tokens,
    models,
    embeddings,
    healthz,
    usage,  // what was used since start (serve/serve_usage)
    not_found,
    wrong_method
};

struct RouteSpec {
    const char* method;    // a GET route answers HEAD too
    const char* path;      // without the /v1 prefix
    bool takes_id;         // `path` is a prefix and a non-empty {id} follows it
    Route route;
    const char* upstream;  // the Copilot API path ("" when answered here)
    const char* shown;     // as people are told: "GET /v1/models/ID"
    // The API the client speaks here: the shape of every error it gets.
    wire::Api api;
};

// The routes, in the order they are listed to people.
extern const RouteSpec kRoutes[];
extern const size_t kRouteCount;

// "POST /v1/chat/completions, GET /v1/models, ..., GET /healthz": the list
// for --help and for the 404 hint.
std::string route_summary();

struct RouteMatch {
    Route route = Route::not_found;
    std::string upstream_path;  // "/chat/completions", "/models", "/embeddings"
    std::string allow;          // wrong_method: the method that is allowed
    std::string model_id;       // models: the {id} of /models/{id}; "" for the list
    // The client's API: the route's, or for a path that is no route, the
    // API whose paths it lies under (/v1/messages/x gets Anthropic's 404).
    wire::Api api = wire::Api::chat;
};

// The wire API a routed request speaks, when it is one of the three
// (chat, responses, messages); count_tokens speaks Messages but goes nowhere.
std::optional<wire::Api> wire_api(Route route);

// Every route also answers under /v1. HEAD goes where GET goes. `path` has
// no query string. The {id} is everything after "/models/", slashes
// included (ids such as "ft:gpt-4o:org:x" or "org/model"); "/models/" with
// no id is not a route. Copilot has no such upstream route: /models/{id}
// fetches the upstream /models (upstream_path) and answers the one entry.
RouteMatch match_route(std::string_view method, std::string_view path);

}  // namespace copilot
