// copilot-serve's relay: one upstream exchange per request, run by Proxy
// with the kept Copilot token, its streamed body handed to the client's
// connection through a bounded RelayQueue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/token_keeper.h"
#include "net/http.h"
#include "serve/bodies.h"
#include "serve/request_log.h"
#include "serve/routes.h"
#include "serve/serve_usage.h"
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

struct ProxyOptions {
    size_t queue_capacity = 64 * 1024;
    size_t max_answer = 64u << 20;  // a buffered (non-streamed) answer
    long connect_timeout_ms = 10000;
    long silence_timeout_s = 300;    // a silent upstream is given up on
    // A translated stream to an Anthropic client gets a ping event after
    // this long without an event (clients and proxies end a silent stream).
    std::chrono::milliseconds ping_interval{10000};
    // The model catalogue's cache file (api/catalogue): per host and profile.
    std::string host = "github.com";
    std::string profile;
    wire::ModelMap model_map;  // --model-map
    // --budget, and the multiplier and quota of each answer (none: not kept).
    std::shared_ptr<ServeUsage> usage;
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

class Proxy {
public:
    Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts = {});
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the upstream exchange for a routed request (chat, models,
    // embeddings) in a worker thread of its own.
    std::shared_ptr<Exchange> start(ProxyRequest req);
    // Exchanges still running.
    size_t running() const;
    // Waits up to `wait` for them to end; true when none is left.
    bool wait_idle(std::chrono::milliseconds wait);

    // A buffered (not streamed) exchange in the caller's thread: its answer
    // is waited for whole anyway, and a hand-over to a worker and back would
    // cost two thread wake-ups per request. `gone` is polled while the
    // upstream works: true (the client left, the server stops) lets it go.
    ProxyResponse answer(const ProxyRequest& req, std::function<bool()> gone);

    // The exchange itself, in the caller's thread (what a worker runs).
    void run(Exchange& ex, const ProxyRequest& req);

private:
    struct Job {
        std::shared_ptr<Exchange> ex;
        ProxyRequest req;
    };
    void worker(std::list<std::thread>::iterator self);
    void execute(Job& job);
    // The catalogue for `tok`'s API base: cached in memory and on disk,
    // fetched when there is none (or `refresh`). nullptr when it cannot be
    // had: requests then go out on the client's own API.
    std::shared_ptr<const Catalogue> catalogue(const TokenStatus& tok, bool refresh);
    void keep_catalogue(const TokenStatus& tok, std::string_view models_body);

    std::shared_ptr<TokenKeeper> keeper_;
    ProxyOptions opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;       // running_ or threads_ went down
    std::condition_variable jobs_cv_;  // a job for an idle worker, or stopping_
    std::deque<Job> jobs_;
    size_t running_ = 0;  // exchanges started and not finished
    size_t idle_ = 0;     // workers waiting for a job
    size_t threads_ = 0;  // workers alive
    // Workers are joined, never detached: a thread still ending (freeing
    // OpenSSL's per-thread state) while the process exits races exit().
    std::list<std::thread> workers_;  // alive, each erasing itself as it ends
    std::vector<std::thread> ended_;  // left by themselves, joined by the next start()
    bool stopping_ = false;
    std::mutex catalogue_mu_;  // one fetch at a time
    std::shared_ptr<const Catalogue> catalogue_;
    std::string catalogue_url_;  // the API base it is for
};

}  // namespace copilot
