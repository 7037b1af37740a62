// The pieces of one libcurl transfer that net/http (an easy handle, in the
// caller's thread) and net/http_loop (many handles, one thread) share: the
// state the callbacks fill, the options set from an HttpRequest, and what
// the finished transfer means. Only net/ includes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "net/curl_loader.h"
#include "net/http.h"
#include "util/errors.h"

namespace copilot {

constexpr size_t kMaxHeaderBytes = 1 << 20;

struct Transfer {
    const HttpRequest* req = nullptr;
    HttpResponse resp;
    long status_seen = 0;         // from the last status line
    size_t header_bytes = 0;
    size_t streamed_bytes = 0;    // bytes handed to on_body
    bool head_reported = false;   // on_head called
    bool too_large = false;
    bool too_many_headers = false;
    bool stopped_by_callback = false;
    bool cancelled = false;        // HttpRequest::cancelled said so
    bool refused_address = false;  // plain-http connect to a non-loopback address
    bool http_only_loopback = false;
    std::exception_ptr callback_error;
    // net/http_loop's sink: 2xx body bytes, which it may leave for later.
    std::function<BodyTake(std::string_view)> take_body;
    bool paused = false;  // take_body said pause (cleared by whoever unpauses)
    // The silence limit (Timeouts::silence_s): when a byte last went either way.
    long silence_ms = 0;
    bool silence_timed_out = false;
    std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
    curl_off_t seen_down = 0, seen_up = 0;
};

// How long one attempt may take: the request's own limits, or COPILOT_TIMEOUT's.
struct Timeouts {
    long connect_ms;
    long total_ms;  // 0 = no limit
    long silence_s; // give up after this long without a byte (0 = off)
    long deadline_ms; // the whole operation, tries and waits (0 = none)
};
Timeouts timeouts_for(const HttpRequest& req);

// The options of `req` on handle `h` (callbacks into `t`). `*headers` is the
// list to free after the transfer; `errbuf` (CURL_ERROR_SIZE) must live as
// long as the transfer. Throws Error(io/usage) when an option is refused.
void configure_transfer(const CurlApi& api, CURL* h, curl_slist** headers, char* errbuf,
                        const HttpRequest& req, const Timeouts& limits, bool plain_http,
                        Transfer& t);

struct Outcome {
    CURLcode code = CURLE_OK;
    std::string detail;  // curl's error buffer or strerror
};
// A finished transfer's code and status (the silence limit reported as a timeout).
Outcome transfer_outcome(const CurlApi& api, CURL* h, CURLcode code, const char* errbuf,
                         Transfer& t);
// Throws what the callbacks found: their exception, a refused address, an
// answer or headers past their caps.
void check_transfer(const Transfer& t, const HttpRequest& req, const std::string& host);
// The error of a failed transfer (Exit::temp, or protocol when cut off).
Error transfer_error(CURLcode c, const Transfer& t, const std::string& host,
                     const std::string& detail);

}  // namespace copilot
