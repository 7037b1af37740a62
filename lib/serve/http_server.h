// copilot-serve's HTTP side (libmicrohttpd): it moves bytes between the
// client's connection and a Proxy exchange. What is refused and why is
// decided in serve/admission; only copilot-serve links libmicrohttpd.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/token_keeper.h"
#include "serve/admission.h"
#include "serve/listen.h"
#include "serve/relay.h"
#include "serve/request_log.h"

namespace copilot {

struct ServeOptions {
    ListenAddress listen;
    AdmissionRules admission;  // the API key, the body cap
    unsigned max_connections = 64;
    unsigned idle_timeout_s = 60;   // a client that sends nothing or stops reading
    std::string host = "github.com";
    ServeLog log;
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
    // Ends every connection (streams are cut) and stops the server.
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace copilot
