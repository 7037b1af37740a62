// copilot-serve's relay: one upstream exchange per request, run by Proxy
// with the kept Copilot token on one event loop (net/http_loop), its
// streamed body handed to the client's connection through a bounded
// RelayQueue (ARCHITECTURE.md, "Relay threading").
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
#include "net/http_loop.h"
#include "serve/bodies.h"
#include "serve/exchange.h"
#include "serve/request_log.h"
#include "serve/routes.h"
#include "serve/serve_usage.h"
#include "serve/wire_route.h"

namespace copilot {

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

class Proxy {
public:
    Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts = {});
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the upstream exchange for a routed request (chat, models,
    // embeddings, a wire route); it runs on the relay's loop. `notify` is
    // called, from the relay's threads, whenever the exchange has something
    // new for its connection (Exchange).
    std::shared_ptr<Exchange> start(ProxyRequest req, std::function<void()> notify = {});
    // Exchanges still running.
    size_t running() const;
    // Waits up to `wait` for them to end; true when none is left.
    bool wait_idle(std::chrono::milliseconds wait);
    // The loop the exchanges run on: copilot-serve's HTTP server runs on it too.
    HttpLoop& loop() { return loop_; }

private:
    struct Call;  // one exchange, from its request to its end, across tries
    void begin(const std::shared_ptr<Call>& c);
    void prepare(const std::shared_ptr<Call>& c);
    bool make_plan(Call& c);
    void send(const std::shared_ptr<Call>& c);
    void after(const std::shared_ptr<Call>& c, HttpResponse up, std::exception_ptr err);
    void retry_or_conclude(const std::shared_ptr<Call>& c, std::shared_ptr<HttpResponse> up);
    void conclude(Call& c, HttpResponse& up);
    void end(Call& c);
    void fail(Call& c, const std::exception& e);
    // A step that may block (a token or catalogue fetch) runs on a worker,
    // not on the loop: workers are started as needed and kept 30 s.
    void offload(std::function<void()> step);
    void worker(std::list<std::thread>::iterator self);
    // Runs `then` once the catalogue for `tok`'s API base is in memory:
    // at once when it is (or its file is fresh), else after a fetch on the
    // loop (`refresh`: always), which later callers wait for too.
    void with_catalogue(const TokenStatus& tok, bool refresh, std::function<void()> then);
    // The catalogue in memory for `tok`'s API base; nullptr when none could
    // be had: requests then go out on the client's own API.
    std::shared_ptr<const Catalogue> catalogue(const TokenStatus& tok);
    void keep_catalogue(const TokenStatus& tok, std::string_view models_body);

    std::shared_ptr<TokenKeeper> keeper_;
    ProxyOptions opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;       // running_ or threads_ went down
    std::condition_variable jobs_cv_;  // a step for an idle worker, or stopping_
    std::deque<std::function<void()>> steps_;
    size_t running_ = 0;  // exchanges started and not finished
    size_t idle_ = 0;     // workers waiting for a step
    size_t threads_ = 0;  // workers alive
    // Workers are joined, never detached: a thread still ending (freeing
    // OpenSSL's per-thread state) while the process exits races exit().
    std::list<std::thread> workers_;  // alive, each erasing itself as it ends
    std::vector<std::thread> ended_;  // left by themselves, joined by the next offload()
    bool stopping_ = false;
    std::mutex catalogue_mu_;
    std::shared_ptr<const Catalogue> catalogue_;
    std::string catalogue_url_;  // the API base it is for
    bool catalogue_fetching_ = false;  // one fetch at a time
    std::vector<std::function<void()>> catalogue_waiting_;
    // Last: destroyed first, so that its thread is gone before what it calls.
    HttpLoop loop_;
};

}  // namespace copilot
