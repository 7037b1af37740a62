#include "api/routed_chat.h"

#include "api/responses.h"

namespace copilot {

namespace {

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}

std::string effort_list(const ModelInfo& m) {
    std::string out;
    for (const auto& e : m.reasoning_efforts) out += (out.empty() ? "" : ", ") + e;
    return out;
}

// --reasoning-effort is sent only where the model takes it; elsewhere a warning.
void check_effort(ChatRequest& req, const ModelInfo* model, const RouteOptions& opt) {
    if (!req.reasoning_effort || !model || model->supports_effort(*req.reasoning_effort)) return;
    if (opt.warn)
        opt.warn("model " + printable(model->id) + " does not take --reasoning-effort " +
                 *req.reasoning_effort +
                 (model->reasoning_efforts.empty()
                      ? std::string(" (it takes none)")
                      : " (it takes " + effort_list(*model) + ")") +
                 "; sent without it");
    req.reasoning_effort.reset();
    req.reasoning_summary = false;
}

ChatResult run_on(wire::Api api, ApiCredentials& auth, const ChatRequest& req, const ChatIo& io) {
    switch (api) {
    case wire::Api::chat:
        return run_chat(auth, req, io);
    case wire::Api::responses:
        return run_responses(auth, req, io);
    case wire::Api::messages:
        break;
    }
    throw Error(Exit::usage, "model " + printable(req.model) +
                                 " takes only the Anthropic Messages API, which copilot-chat "
                                 "does not speak yet");
}

}  // namespace

RoutedResult run_routed_chat(ApiCredentials& auth, ChatRequest req, ChatIo io,
                             const RouteOptions& opt, int64_t now) {
    RoutedResult out;
    if (opt.forced) {
        if (*opt.forced == wire::Api::messages)
            throw Error(Exit::usage, "--api messages is not supported yet; use chat or responses");
        out.api = *opt.forced;
        out.result = run_on(out.api, auth, req, io);
        return out;
    }
    const Catalogue* cat = opt.catalogue ? opt.catalogue->cached(now) : nullptr;
    if (!cat && opt.catalogue && req.reasoning_effort) {
        try {
            cat = &opt.catalogue->get(now);
        } catch (const Error& e) {
            note(io.log, std::string("cannot read the model catalogue: ") + e.what());
        }
    }
    const ModelInfo* model = cat ? cat->find(req.model) : nullptr;
    out.api = choose_api(model, wire::Api::chat);
    check_effort(req, model, opt);
    note(io.log, "model " + printable(req.model) + ": " + wire::api_name(out.api) +
                     (model ? " (from the model catalogue)" : " (not in the model catalogue)"));

    std::optional<wire::Api> next;
    if (opt.catalogue) {
        io.known_models = [&]() -> const std::vector<ModelInfo>* {
            return opt.catalogue->fetched() ? &opt.catalogue->refresh(now).models : nullptr;
        };
        io.reroute = [&](const ApiError& e) {
            if (opt.catalogue->fetched()) return false;  // it is as fresh as it gets
            note(io.log, "HTTP 400 [" + e.code + "]: fetching the model catalogue anew");
            try {
                const ModelInfo* m = opt.catalogue->refresh(now).find(req.model);
                const wire::Api api = choose_api(m, wire::Api::chat);
                if (api == out.api) return false;
                next = api;
                model = m;
                return true;
            } catch (const Error& fe) {
                note(io.log, std::string("cannot list the models: ") + fe.what());
                return false;
            }
        };
    }
    try {
        out.result = run_on(out.api, auth, req, io);
        return out;
    } catch (const Rerouted&) {
        if (!next) throw;
    }
    out.api = *next;
    note(io.log, "model " + printable(req.model) + " is served on " + wire::api_path(out.api) +
                     ": sending the request there");
    check_effort(req, model, opt);
    io.reroute = nullptr;
    out.result = run_on(out.api, auth, req, io);
    return out;
}

}  // namespace copilot
