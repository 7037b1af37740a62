// What passes between copilot-serve's HTTP server and its relay for one
// request (ARCHITECTURE.md, "Relay threading"): the request as routed, the
// answer's head, the bounded queue a stream's bytes take, and the exchange
// both sides hold while the upstream works.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.h"
#include "serve/request_log.h"  // WireLog
#include "serve/routes.h"
#include "serve/wire_route.h"

namespace copilot {

// The bytes of one streamed answer on their way from the upstream thread to
// the client's connection. Bounded: the producer waits while `capacity`
// bytes are queued, so a slow client slows the upstream instead of growing
// memory. Cancelling (the client left) wakes the producer, whose push then
// returns false, which stops the upstream transfer.
class RelayQueue {
public:
    explicit RelayQueue(size_t capacity = 64 * 1024) : capacity_(capacity) {}

    // Producer. False once cancelled (the bytes are dropped).
    bool push(std::string_view bytes);
    // Producer: no more bytes; `tail` (e.g. an SSE error event) comes last.
    void finish(std::string tail = "", std::string note = "");
    // Producer: the tokens the answer reported (a translated stream knows).
    void set_usage(const wire::Usage& u);

    enum class Pull { data, timeout, end, cancelled };
    // Consumer: copies up to `max` bytes into `buf` (*n) when there are any;
    // waits up to `wait` for them.
    Pull pull(char* buf, size_t max, size_t* n, std::chrono::milliseconds wait);

    void cancel();
    bool cancelled() const;
    bool finished() const;
    uint64_t bytes_out() const { return bytes_out_.load(); }
    std::string note() const;
    std::optional<wire::Usage> usage() const;
    size_t queued() const;

private:
    const size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> chunks_;
    size_t front_offset_ = 0;  // bytes of chunks_.front() already pulled
    size_t queued_ = 0;
    bool finished_ = false;
    bool cancelled_ = false;
    std::string note_;
    std::optional<wire::Usage> usage_;
    std::atomic<uint64_t> bytes_out_{0};
};

struct ProxyRequest {
    Route route = Route::not_found;
    wire::Api api = wire::Api::chat;  // the client's (RouteMatch::api): its error shape
    std::string upstream_path;
    std::string model_id;  // models: answer this one entry, not the list
    std::string body;
    wire::RequestFacts facts;  // the client's API's reading of `body`
    HeaderList client_headers;  // kForwardedClientHeaders the client sent
    // The answer comes as a stream through a RelayQueue.
    bool streams() const { return wire_api(route) && facts.stream; }
};

// The answer's head: a whole buffered answer, or (stream != nullptr) the
// status and headers of a stream whose bytes come through the queue.
struct ProxyResponse {
    long status = 0;
    HeaderList headers;  // Content-Type, Retry-After, X-Request-Id, ...
    std::string body;
    std::shared_ptr<RelayQueue> stream;
    std::string note;    // for the log
    WireLog wire;        // a wire route's line fields
    std::string model;   // the model it went upstream as (mapped)
};

// One upstream exchange, run in a worker thread so that the connection's
// thread can wait for the head and then relay the body while the upstream
// keeps writing. Shared by the worker and the server; whichever is last
// frees it.
class Exchange {
public:
    // Waits up to `wait`; true once the head is known.
    bool wait_head(std::chrono::milliseconds wait);
    ProxyResponse head() const;  // after wait_head returned true
    // The client is gone or the server stops: the upstream is let go (the
    // transfer polls cancelled() and ends within a second, even when the
    // upstream sends nothing).
    void cancel();
    bool cancelled() const;
    bool done() const;  // the worker has finished with it

private:
    friend class Proxy;
    void set_head(ProxyResponse r);
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool has_head_ = false;
    bool cancelled_ = false;
    bool done_ = false;
    std::function<bool()> gone_;  // Proxy::answer: set before the exchange runs
    ProxyResponse head_;
    std::shared_ptr<RelayQueue> queue_;
};

}  // namespace copilot
