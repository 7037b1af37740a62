#include "serve/upstream_answer.h"

#include "api/api_error.h"
#include "net/ascii.h"
#include "serve/bodies.h"
#include "util/json.h"
#include "wire/tokens.h"

namespace copilot {

ProxyResponse error_response(long status, const std::string& message, const std::string& code,
                             const std::string& note, wire::Api api) {
    ProxyResponse r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = client_error(api, status, message, code);
    r.note = note;
    return r;
}

ProxyResponse relay_whole(const ProxyRequest& req, const HttpResponse& up,
                          const std::string& token, const WirePlan* plan) {
    ProxyResponse r;
    r.status = up.status;
    const bool ok = up.status >= 200 && up.status < 300;
    if (ok && req.route == Route::models) {
        std::optional<std::string> body;
        try {
            if (req.model_id.empty())
                body = openai_models(up.body);
            else
                body = openai_model(up.body, req.model_id);
        } catch (const Error& e) {
            return error_response(502, e.what(), "bad_upstream_answer", "bad model list");
        }
        if (body) {
            r.body = std::move(*body);
        } else {
            r.status = 404;
            r.body = model_not_found_body(req.model_id);
            r.note = "model_not_found";  // like the other errors the server itself answers
        }
        r.headers.push_back({"Content-Type", "application/json"});
    } else if (ok && plan && plan->translated()) {
        try {
            r.body = translate_answer(*plan, up.body);
        } catch (const Error& e) {
            return error_response(502, "the Copilot API sent an answer that cannot be translated: " +
                                           redact(e.what(), token),
                                  "bad_upstream_answer", "bad upstream answer", req.api);
        }
        r.headers.push_back({"Content-Type", "application/json"});
    } else if (ok) {
        r.body = up.body;
        std::string ct = up.header("content-type");
        r.headers.push_back({"Content-Type", ct.empty() ? "application/json" : ct});
    } else {
        r.body = upstream_error_body(up.status, up.body, token, req.api);
        r.headers.push_back({"Content-Type", "application/json"});
        r.note = "upstream error";
    }
    for (const char* name : {"retry-after", "x-request-id", "x-github-request-id"}) {
        std::string v = up.header(name);
        if (!v.empty() && v.find_first_of("\r\n") == std::string::npos)
            r.headers.push_back({name, v});
    }
    return r;
}



void note_usage(ProxyResponse& r, wire::Api api, std::string_view answer) {
    if (r.status >= 200 && r.status < 300) r.wire.usage = answer_usage(api, answer);
}

ProxyResponse count_tokens_answer(const ProxyRequest& req) {
    ProxyResponse r;
    try {
        r.body = wire::count_tokens_answer(wire::count_tokens(req.body));
        r.status = 200;
        r.headers.push_back({"Content-Type", "application/json"});
    } catch (const Error& e) {
        return error_response(400, e.what(), "invalid_request", "bad request", wire::Api::messages);
    }
    return r;
}

void set_header(HeaderList& h, const std::string& name, const std::string& value) {
    for (auto& kv : h)
        if (ascii_iequals(kv.first, name)) {
            kv.second = value;
            return;
        }
    h.push_back({name, value});
}

}  // namespace copilot
