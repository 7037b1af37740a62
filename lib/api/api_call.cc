#include "api/api_call.h"

#include <ctime>

#include "api/api_error.h"
#include "api/models.h"
#include "net/endpoints.h"

namespace copilot {

namespace {

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}

std::vector<std::string> chat_model_ids(const std::vector<ModelInfo>& models) {
    std::vector<std::string> ids;
    for (const auto& m : select_models(models, false)) ids.push_back(m.id);
    return ids;
}

}  // namespace

HttpRequest api_request(const ApiCredentials& auth, const std::string& method,
                        const std::string& path, const LogFn& log) {
    HttpRequest r;
    r.method = method;
    r.url = auth.api_url + path;
    r.headers = copilot_api_headers(auth.token);  // a fresh X-Request-Id each time
    r.retry = true;  // 429/5xx/connection errors, and never once a body has started
    r.max_attempts = 4;
    r.cancelled = auth.cancelled;
    if (log)
        r.on_retry = [log](int attempt, long wait_ms, const std::string& reason) {
            log("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                " ms: " + reason);
        };
    return r;
}

HttpResponse send_with_refresh(ApiCredentials& auth, const std::function<HttpRequest()>& make,
                               const LogFn& log, bool* refreshed) {
    HttpResponse r = http_perform(make());
    if ((r.status == 401 || r.status == 403) && auth.refresh) {
        note(log, "HTTP " + std::to_string(r.status) +
                      ": refreshing the Copilot token and retrying once");
        auth.token = auth.refresh();
        auth.source = "a refreshed token";
        *refreshed = true;
        r = http_perform(make());
    }
    return r;
}

Error status_error(ApiCredentials& auth, const HttpResponse& r, bool refreshed,
                   const std::string& what, const std::string* model, const LogFn& log,
                   const std::vector<ModelInfo>* known) {
    const ApiError e = parse_api_error(r.body, auth.token);
    const std::string status = "HTTP " + std::to_string(r.status);
    if (model && e.code == "model_not_supported") {
        std::string msg = "model '" + printable(*model) + "' is not supported";
        if (!e.message.empty()) msg += " (" + e.message + ")";
        try {
            std::vector<ModelInfo> models;
            if (known) {
                models = *known;
            } else {
                models = parse_models(fetch_models(auth, log), log);
                try {
                    write_models_cache(models);
                } catch (const Error&) {
                }
            }
            auto ids = chat_model_ids(models);
            if (!ids.empty()) {
                msg += "; available:";
                for (size_t i = 0; i < ids.size(); ++i) msg += (i ? ", " : " ") + ids[i];
            }
        } catch (const Error& fe) {
            note(log, std::string("cannot list the models: ") + fe.what());
        }
        return Error(Exit::usage, msg + " (see --list-models)");
    }
    switch (r.status) {
    case 401:
    case 403:
        if (refreshed)
            return Error(Exit::permission,
                         with_detail("the Copilot API refused a freshly refreshed token (" +
                                         status + ")",
                                     e) +
                             "; check your Copilot access, or run copilot-login again");
        return Error(Exit::permission,
                     with_detail("the Copilot API refused the token from " + auth.source + " (" +
                                     status + ")",
                                 e) +
                         "; get a new one with copilot-token");
    case 402:
        return Error(Exit::permission, with_detail("Copilot quota exceeded (" + status + ")", e));
    case 404:
        return Error(Exit::protocol,
                     with_detail("no " + what + " at " + auth.api_url + " (" + status + ")", e) +
                         "; check --api-url");
    case 413:
        return Error(Exit::data, with_detail("the request is too large (" + status + ")", e));
    case 429: {
        std::string msg = with_detail("rate limited (" + status + ")", e);
        std::string ra = r.header("retry-after");
        if (auto secs = parse_retry_after(ra, std::time(nullptr)); secs && *secs > 0)
            msg += "; try again in " + std::to_string(*secs) + " s";
        return Error(Exit::temp, msg);
    }
    default:
        break;
    }
    if (r.status >= 500)
        return Error(Exit::unavailable,
                     with_detail("the Copilot API is unavailable (" + status + ")", e));
    std::string head = "the Copilot API refused the " + what + " (" + status + ")";
    if (!e.code.empty()) head += " [" + e.code + "]";
    return Error(api_error_exit(e.code, r.status), with_detail(head, e));
}

}  // namespace copilot
