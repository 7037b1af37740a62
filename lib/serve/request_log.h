// copilot-serve's log: the callback that gets what people should see, and
// the one line per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace copilot {

enum class LogKind {
    request,  // the per-request line
    notice,   // what people must see: the listening address, the device code
    note,     // details for --verbose: token refreshes
    warning,  // something went wrong but the server goes on
};
using ServeLog = std::function<void(LogKind, const std::string&)>;

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
};
// One line: `127.0.0.1 POST /v1/chat/completions model=gpt-4.1 stream
// status=200 bytes=1834 ms=12.3 note="client closed"`. Fields that come
// from the client are bounded and stripped of control characters and
// quotes; the line never holds a header, a body or a token.
std::string format_request_log(const RequestLog& r);

// Client-supplied text fit for a log line or an error message: at most
// `max` characters (then "..."), one line, no quotes, ASCII.
std::string client_text(std::string_view s, size_t max);

}  // namespace copilot
