// A scripted stand-in for copilot::http_perform, for the targets that drive
// a whole request (exchange_token, run_chat) without a network. The build
// links these targets with -Wl,--wrap=<http_perform's mangled name>, so the
// library's calls land in __wrap_... below. Include from one file only.
//
// The answer is what the target put in fake::script: a status, headers, a
// body, and how to deliver a streamed body (split points; an optional
// connection reset after some bytes), as libcurl and lib/net/http.cc would.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "util/errors.h"
#include "net/http.h"

namespace fake {

struct Script {
    long status = 200;
    copilot::HeaderList headers;
    std::string body;
    std::vector<size_t> pieces;  // streamed body: sizes of the reads (the rest in one)
    bool reset_after = false;    // the connection drops after the body sent so far
    size_t reset_at = 0;
    // Answer to a GET (the /models list asked for after model_not_supported).
    long get_status = 503;
    const char* get_body = R"({"error":{"message":"unavailable","code":"server_error"}})";
};

// Set before each run; reset() after it, so that nothing allocated in one
// run outlives it (libFuzzer would take that for a leak and run LeakSanitizer
// on every input, which is slow).
inline Script script;
inline int calls = 0;
inline std::string last_authorization;  // of the latest request
inline void reset() {
    script = Script{};
    std::string().swap(last_authorization);
}

}  // namespace fake

copilot::HttpResponse fake_http_perform(const copilot::HttpRequest& req) __asm__(
    "__wrap__ZN7copilot12http_performERKNS_11HttpRequestE");

copilot::HttpResponse fake_http_perform(const copilot::HttpRequest& req) {
    ++fake::calls;
    for (const auto& [name, value] : req.headers)
        if (name == "Authorization") fake::last_authorization = value;
    copilot::check_url_policy(req.url);  // as the real one does, first
    copilot::HttpResponse r;
    if (req.method == "GET" && req.url.find("/models") != std::string::npos) {
        r.status = fake::script.get_status;
        r.body = fake::script.get_body;
        return r;
    }
    const fake::Script& s = fake::script;
    r.status = s.status;
    r.headers = s.headers;
    const bool stream = req.on_body && s.status >= 200 && s.status < 300;
    if (!stream) {
        if (s.body.size() > req.max_body)
            throw copilot::Error(copilot::Exit::protocol, "the answer is too large");
        if (s.reset_after)
            throw copilot::Error(copilot::Exit::temp, "connection reset by peer");
        r.body = s.body;
        return r;
    }
    r.body_streamed = true;
    const size_t end = s.reset_after ? std::min(s.reset_at, s.body.size()) : s.body.size();
    size_t at = 0, k = 0;
    while (at < end) {
        size_t n = k < s.pieces.size() ? s.pieces[k++] : end - at;
        n = std::min(n, end - at);
        if (n == 0) continue;  // libcurl never delivers an empty read
        if (!req.on_body(std::string_view(s.body).substr(at, n))) {
            r.aborted_by_callback = true;
            return r;
        }
        at += n;
    }
    if (s.reset_after)
        throw copilot::Error(copilot::Exit::temp, "connection reset by peer (mid-body)");
    return r;
}
