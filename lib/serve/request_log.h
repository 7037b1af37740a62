// copilot-serve's log: the callback that gets what people should see, and
// the one line per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/quota.h"
#include "wire/wire.h"

namespace copilot {

enum class LogKind {
    request,  // the per-request line
    notice,   // what people must see: the listening address, the device code
    note,     // details for --verbose: token refreshes
    warning,  // something went wrong but the server goes on
};
using ServeLog = std::function<void(LogKind, const std::string&)>;

// What a request on a wire route did (ARCHITECTURE.md, "Wire APIs"): the
// client's API, the upstream endpoint, translated or passed through, the
// model asked for when it was mapped to another, the initiator, the tokens.
struct WireLog {
    std::string api;         // "chat", "responses", "messages"; "" off the wire routes
    std::string upstream;    // "/chat/completions", "/responses", "/v1/messages"; "" when none
    bool translated = false;
    std::string asked;       // the model the client named, when it was mapped
    std::string initiator;   // "user" or "agent"
    std::optional<wire::Usage> usage;  // when the answer reported it
    std::vector<std::string> dropped;  // request fields the translation left out
    // What it costs (ARCHITECTURE.md, "Usage and quota"; serve/serve_usage):
    // the model's multiplier from the catalogue (nullopt: not in it), the
    // premium requests it spent (set when the request ends), the quota
    // headers of the answer and the notes on those that did not parse.
    std::optional<double> multiplier;
    std::optional<double> premium;
    AnswerQuota quota;
    std::vector<std::string> quota_notes;
};

struct RequestLog {
    std::string client;  // peer address
    std::string method;
    std::string path;    // without the query string
    std::string model;   // "" when there is none
    long status = 0;
    uint64_t bytes = 0;  // body bytes sent to the client
    double ms = 0;       // from the request's first byte to the end of the answer
    bool stream = false;
    std::string note;    // "client closed", "upstream cut off", ...
    WireLog wire;
};
// One line: `127.0.0.1 POST /v1/chat/completions model=gpt-4.1 stream
// status=200 bytes=1834 ms=12.3 note="client closed"`; on a wire route,
// `api=messages upstream=/responses translated initiator=agent` before the
// status (with `asked=NAME` after the model when it was mapped) and
// `input_tokens=N output_tokens=N` after ms when known, and
// `dropped=FIELD,...` when the request lost fields on its way, and
// `multiplier=N` (the model's) and `premium=N` (what it spent) when known. Fields that come
// from the client are bounded and stripped of control characters and
// quotes; the line never holds a header, a body or a token.
std::string format_request_log(const RequestLog& r);

// Client-supplied text fit for a log line or an error message: at most
// `max` characters (then "..."), one line, no quotes, ASCII.
std::string client_text(std::string_view s, size_t max);

}  // namespace copilot
