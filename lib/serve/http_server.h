// copilot-serve's HTTP side (libmicrohttpd): it moves bytes between the
// client's connection and a Proxy exchange. What is refused and why is
// decided in serve/admission; only copilot-serve links libmicrohttpd.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "auth/token_keeper.h"
#include "serve/admission.h"
#include "serve/listen.h"
#include "serve/relay.h"
#include "serve/request_log.h"
#include "serve/serve_usage.h"

namespace copilot {

struct ServeOptions {
    ListenAddress listen;
    AdmissionRules admission;  // the API key, the body cap
    unsigned max_connections = 64;
    unsigned idle_timeout_s = 60;   // a client that sends nothing or stops reading
    // Slow clients (one header line now and then beats the idle timeout):
    // a request head must be in within header_timeout_s of the connection's
    // start, or, on a kept-alive connection, within idle_timeout_s +
    // header_timeout_s of the previous answer's end; else the connection is
    // closed unanswered. And one client address gets at most this many
    // connections at once (the others are closed unanswered).
    unsigned header_timeout_s = 10;
    unsigned max_connections_per_client = 32;
    std::string host = "github.com";
    ServeLog log;
    // Called on the loop after each turn of the server's: a log that holds
    // the turn's request lines back writes them now, all in one write.
    std::function<void()> log_turn_end;
    // What requests cost: /usage, /healthz's quota, the ledger (none: not kept).
    std::shared_ptr<ServeUsage> usage;
};

class HttpServer {
public:
    HttpServer(ServeOptions opts, std::shared_ptr<TokenKeeper> keeper,
               std::shared_ptr<Proxy> proxy);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving; Error(unavailable) when the address cannot
    // be bound (in use, not local). Returns the bound port.
    int start();
    // Stops accepting connections; requests already made are answered.
    // New requests on open connections get 503.
    void quiesce();
    uint64_t in_flight() const;
    // Waits up to `wait` for the requests in flight to end.
    bool wait_idle(std::chrono::milliseconds wait);
    // Ends every connection and stops the server: an event stream ends on
    // an event boundary with an SSE error event (shutting_down) first; a
    // Unix socket's file is removed.
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace copilot
