// Connections parked while their upstream works (ARCHITECTURE.md, "Relay
// threading"): libmicrohttpd suspends a connection that waits for its
// answer's head or for a stream's next bytes, and the exchange resumes it
// when there is something. A suspended connection is not polled and does
// not time out, so a watch thread keeps its socket in an epoll set of its
// own and notices a client that leaves meanwhile (EPOLLRDHUP): its upstream
// is let go at once, as nginx does.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <microhttpd.h>

#include "serve/exchange.h"

namespace copilot {

// One connection's place in the car park, from its start to its close: its
// socket, and the exchange its request waits for.
struct Parked {
    MHD_Connection* connection = nullptr;
    int fd = -1;
    std::weak_ptr<Exchange> exchange;  // let go when the client leaves
    std::mutex mu;
    bool parked = false;     // suspended now
    bool peer_left = false;  // the client closed its end (or the socket failed)
    bool watched = false;    // its socket is in the watch's set
};

class Parking {
public:
    Parking() = default;
    ~Parking() { stop(); }
    Parking(const Parking&) = delete;
    Parking& operator=(const Parking&) = delete;

    // The watch thread; `resumed` is called after each connection is
    // resumed (libmicrohttpd polled from outside must then be run).
    void start(std::function<void()> resumed);
    void stop();   // joins it

    std::shared_ptr<Parked> enter(MHD_Connection* c, int fd);  // a connection opened
    void leave(const std::shared_ptr<Parked>& p);  // it closes (before its socket does)

    // Suspends the connection unless `ready()` says there is something
    // already, the client left, or the server stops (`while_stopping`: a
    // stream finishing its event may still wait). True when it is parked:
    // the libmicrohttpd callback returns and is called again on wake().
    bool park(Parked& p, const std::function<bool()>& ready, bool while_stopping);
    // Resumes the connection if it is parked. Any thread.
    void wake(Parked& p);
    // The server stops: no connection waits from now on without being woken.
    void stopping();
    void wake_all();
    size_t parked() const { return parked_count_.load(); }

private:
    void run();
    std::function<void()> resumed_;
    mutable std::mutex mu_;
    std::unordered_map<Parked*, std::weak_ptr<Parked>> all_;   // entered, not left
    std::unordered_map<int, std::weak_ptr<Parked>> by_fd_;     // watched sockets
    std::atomic<bool> stopping_{false};
    std::atomic<size_t> parked_count_{0};
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace copilot
