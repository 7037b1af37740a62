// What copilot-serve's relay makes of an upstream answer (or of none): the
// error bodies it writes itself, a whole answer as the client gets it (a
// model list, a translation, an upstream error), count_tokens, the usage
// for the log line.
#pragma once

#include <string>
#include <string_view>

#include "net/http.h"
#include "serve/exchange.h"
#include "serve/wire_route.h"

namespace copilot {

// An error the relay answers itself, in the client's API's shape.
ProxyResponse error_response(long status, const std::string& message, const std::string& code,
                             const std::string& note, wire::Api api = wire::Api::chat);
// A whole (buffered) upstream answer, as the client gets it; `token` is
// redacted from whatever the upstream said.
ProxyResponse relay_whole(const ProxyRequest& req, const HttpResponse& up,
                          const std::string& token, const WirePlan* plan);
// The usage of an answer in the log's fields, when the answer says.
void note_usage(ProxyResponse& r, wire::Api api, std::string_view answer);
// POST /v1/messages/count_tokens: answered here (wire/tokens).
ProxyResponse count_tokens_answer(const ProxyRequest& req);
// `h` with `name` set to `value` (replacing the one copilot_api_headers set).
void set_header(HeaderList& h, const std::string& name, const std::string& value);

}  // namespace copilot
