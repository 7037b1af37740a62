// copilot-chat's request on the wire API its model takes (ARCHITECTURE.md,
// "Wire APIs"): the route from the catalogue (api/catalogue.h, choose_api)
// or from --api, --reasoning-effort checked against what the model
// supports, and the one retry on the right endpoint after an answer that
// says the model or endpoint is unsupported (the catalogue is fetched anew
// first). The request itself is run_chat's or run_responses'.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/catalogue.h"
#include "api/chat.h"
#include "wire/wire.h"

namespace copilot {

struct RouteOptions {
    std::optional<wire::Api> forced;       // --api: no catalogue, no reroute
    CatalogueSource* catalogue = nullptr;  // where the model's entry comes from
    std::function<void(const std::string&)> warn;  // one-line warnings (not errors)
};

// The route used, for --verbose and the caller.
struct RoutedResult {
    ChatResult result;
    wire::Api api = wire::Api::chat;
};

// copilot-chat speaks Chat: a model that takes Chat (or is not in the
// catalogue) goes to /chat/completions, a Responses-only one to /responses.
// Without a fresh cached catalogue the request goes out on Chat (no /models
// request first), except with --reasoning-effort, which needs the model's
// entry; a 400 unsupported_api_for_model / model_not_supported then fetches
// the catalogue and, when it names another API for the model, sends the
// request there once. Messages is not spoken yet: a model that takes only
// it, or --api messages, is Error(usage).
RoutedResult run_routed_chat(ApiCredentials& auth, ChatRequest req, ChatIo io,
                             const RouteOptions& opt, int64_t now);

}  // namespace copilot
