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

// The bytes of one streamed answer on their way from the relay's loop to
// the client's connection. Bounded without blocking anyone: once `capacity`
// bytes wait, the producer pauses its transfer (pause_if_full) and the
// consumer resumes it when it has taken half; so a slow client slows the
// upstream instead of growing memory. Every change (bytes, the end, a
// cancel) calls the listener: the connection's wake-up.
class RelayQueue {
public:
    explicit RelayQueue(size_t capacity = 64 * 1024, std::function<void()> listener = {})
        : capacity_(capacity), listener_(std::move(listener)) {}

    // Producer. False once cancelled (the bytes are dropped). Never waits.
    bool push(std::string_view bytes);
    // Producer: true when `capacity` bytes wait; `resume` is then called
    // (once, from the consumer's thread) when there is room again, or on a cancel.
    bool pause_if_full(std::function<void()> resume);
    // Producer: no more bytes; `tail` (e.g. an SSE error event) comes last.
    void finish(std::string tail = "", std::string note = "");
    // Producer: the tokens the answer reported (a translated stream knows).
    void set_usage(const wire::Usage& u);

    enum class Pull { data, timeout, end, cancelled };
    // Consumer: copies up to `max` bytes into `buf` (*n) when there are any;
    // waits up to `wait` for them (0: looks only).
    Pull pull(char* buf, size_t max, size_t* n, std::chrono::milliseconds wait);
    // Consumer: whether a pull would not come back with `timeout`.
    bool ready() const;
    // Consumer: every byte at once when the producer has already finished
    // and nothing was pulled or cancelled (an answer that came whole before
    // its head went out); nullopt otherwise, and nothing is taken.
    std::optional<std::string> take_whole();

    void cancel();
    bool cancelled() const;
    bool finished() const;
    uint64_t bytes_out() const { return bytes_out_.load(); }
    std::string note() const;
    std::optional<wire::Usage> usage() const;
    size_t queued() const;

private:
    void changed() const {
        if (listener_) listener_();
    }
    const size_t capacity_;
    const std::function<void()> listener_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> chunks_;
    size_t front_offset_ = 0;  // bytes of chunks_.front() already pulled
    size_t queued_ = 0;
    bool finished_ = false;
    bool cancelled_ = false;
    std::function<void()> resume_;  // the paused producer's
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

// One upstream exchange as both sides see it: the relay sets its head (and
// a stream's queue), the connection waits for it. Shared by the relay and
// the server; whichever is last frees it.
class Exchange {
public:
    // Called (from the relay's threads) whenever there is something new for
    // the connection: the head, a stream's bytes, its end.
    explicit Exchange(std::function<void()> notify = {}) : notify_(std::move(notify)) {}
    // Waits up to `wait` (0: looks only); true once the head is known.
    bool wait_head(std::chrono::milliseconds wait);
    // The head, moved out: once, after wait_head returned true.
    ProxyResponse take_head();
    // The client is gone or the server stops: the upstream is let go (the
    // relay looks at least five times a second, even when the upstream
    // sends nothing).
    void cancel();
    bool cancelled() const;
    bool done() const;  // the relay has finished with it

private:
    friend class Proxy;
    void set_head(ProxyResponse r);
    void set_done();
    const std::function<void()> notify_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool has_head_ = false;
    bool cancelled_ = false;
    bool done_ = false;
    ProxyResponse head_;
    std::shared_ptr<RelayQueue> queue_;
};

}  // namespace copilot
