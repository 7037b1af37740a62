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
