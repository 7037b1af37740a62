// Many HTTP transfers driven by one thread: libcurl's multi interface on
// epoll, for copilot-serve's upstream exchanges (ARCHITECTURE.md, "Relay
// threading"). A transfer costs no thread and no stack; a stream whose
// client reads slowly is paused (its bytes stay in the kernel and in
// libcurl's buffer) instead of blocking a thread. Requests are sent once,
// never retried: a relay passes the upstream's answer on.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

#include "net/http.h"

namespace copilot {

class HttpLoop {
public:
    using Id = uint64_t;
    struct Calls {
        // A 2xx answer's body as it comes (HttpRequest::on_head first);
        // unset: the body is buffered, up to HttpRequest::max_body.
        std::function<BodyTake(std::string_view)> on_body;
        // About every 200 ms while the transfer runs: true ends it (aborted).
        std::function<bool()> on_tick;
        // Exactly once: the response (aborted_by_callback when stopped), or
        // the Error http_perform would have thrown (then the response is empty).
        std::function<void(HttpResponse, std::exception_ptr)> on_done;
    };

    HttpLoop();
    // Ends the transfers still running (each gets its on_done) and the thread.
    ~HttpLoop();
    HttpLoop(const HttpLoop&) = delete;
    HttpLoop& operator=(const HttpLoop&) = delete;

    // Any thread. Throws what http_perform throws before it connects (the
    // URL policy, libcurl missing, a refused option); else every outcome
    // comes to on_done, in the loop's thread, as do the other calls.
    // HttpRequest::on_body, cancelled, retry and on_retry are not used.
    Id start(HttpRequest req, Calls calls);
    // Any thread: a transfer whose on_body said pause takes bytes again.
    void resume(Id id);
    // Any thread: the transfer ends (on_done, aborted) unless it has already.
    void stop(Id id);
    // Transfers started and not done.
    size_t running() const;

    // Someone else's descriptor on this loop (copilot-serve's libmicrohttpd
    // epoll set): `ready` runs on the loop when it is readable, and when
    // the time `next` asks for (ms; -1: none) is up. Before anything runs
    // on the loop; one at a time.
    void attach(int fd, std::function<void()> ready, std::function<long()> next);
    void detach();
    // Any thread: `ready` is run soon whether or not the descriptor is
    // readable (a connection libmicrohttpd must see was resumed).
    void kick();
    // Runs `f` on the loop's thread and waits for it (at once when called
    // there): what `ready` drives may only be touched from that thread.
    void run_sync(const std::function<void()>& f);
    // Whether the calling thread is the loop's.
    bool in_loop() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace copilot
