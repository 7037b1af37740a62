// HTTP client for the toolkit: a thin layer over libcurl's easy interface
// that adds the network policy of ARCHITECTURE.md (URL rules, timeouts, retries
// with backoff and Retry-After, capped bodies).
//
// libcurl is loaded with dlopen() on the first request, not linked: a tool
// that answers from its cache (copilot-token's hot path) never pays for
// loading the network stack.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The transfer applies the URL policy and waits as the retry rules say;
// callers of http_perform use both, so they come with this header.
#include "net/retry.h"
#include "net/url_policy.h"

namespace copilot {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method = "GET";  // GET or POST
    std::string url;
    HeaderList headers;          // sent as given
    std::string body;            // POST body (set Content-Type in headers)

    // Retried on connection errors, 429 and 5xx. Only idempotent requests
    // should set this; a streaming request is never retried once its body
    // has started.
    bool retry = true;
    int max_attempts = 4;        // total tries, including the first
    long max_retry_wait_ms = 60000;  // longest single wait (Retry-After above it: give up)

    long connect_timeout_ms = 10000;
    long timeout_ms = 60000;      // whole transfer; 0 = no limit (streams)
    long silence_timeout_s = 60;   // abort after this long without a byte either way (0 = off)
    // The whole operation: every try and every wait between tries. Each try's
    // limits and each wait are cut to what is left; once it is spent,
    // Error(temp) "gave up after N s". 0 = none; a request without a total
    // limit (timeout_ms 0: streams, long answers) has none either.
    // COPILOT_TIMEOUT shortens it like the other limits.
    long deadline_ms = 60000;

    size_t max_body = 8u << 20;   // buffered body cap: past it, Error(protocol)

    // Streaming: when set, body bytes go here as they arrive instead of into
    // HttpResponse::body (only for 2xx answers; error bodies are still
    // buffered so they can be reported). Return false to stop the transfer.
    std::function<bool(std::string_view)> on_body;
    // Streaming: called once, just before the first on_body call, with the
    // answer's status and headers (names lower-cased), so that a relay can
    // pass them on before the body.
    std::function<void(long status, const HeaderList& headers)> on_head;

    // Polled while the transfer runs (at least once a second, even when
    // nothing arrives) and during the waits between retries: true ends the
    // request at once, with HttpResponse::aborted_by_callback set and no
    // retry. copilot-serve uses it to stop the upstream of a client that
    // left or of a server that is shutting down.
    std::function<bool()> cancelled;

    // Called before each retry with the attempt number and the wait, so a
    // tool can say "retrying in 2 s" with --verbose.
    std::function<void(int attempt, long wait_ms, const std::string& reason)> on_retry;
};

// What a pausing body sink (net/http_loop) does with the bytes it is given:
// takes them all, leaves them with libcurl until it is resumed, or ends the
// transfer.
enum class BodyTake { all, pause, stop };

struct HttpResponse {
    long status = 0;
    HeaderList headers;  // names lower-cased
    std::string body;    // buffered body (empty when streamed to on_body)
    bool body_streamed = false;
    bool aborted_by_callback = false;  // on_body returned false, or cancelled() true

    // First header with this (case-insensitive) name, or "".
    std::string header(std::string_view name) const;
};

// Performs the request with retries as configured. Each thread keeps its
// connections open between requests (libcurl's connection cache), so a
// second request to the same host reuses the connection and its TLS
// session. When a kept connection turns out to be dead, libcurl sends the
// request again on a new one, as our retries do: only when no byte of the
// answer had come. Returns the final
// response whatever its status (after retries are spent, a 429 or 5xx is
// returned, not thrown). Throws Error:
//   usage      the URL is refused by the policy (before any connection)
//   temp       connection failed / timed out / reset after all retries
//   protocol   body larger than max_body, or a transfer cut off mid-body
//   io         libcurl cannot be loaded
HttpResponse http_perform(const HttpRequest& req);

// application/x-www-form-urlencoded body from pairs.
std::string form_encode(const HeaderList& fields);
// Percent-encodes one component (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace copilot
