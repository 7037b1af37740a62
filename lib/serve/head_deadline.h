// copilot-serve's --header-timeout: a connection that has not sent a whole
// request head in time is cut. libmicrohttpd's own timeout restarts on every
// byte, so a client dripping a head would otherwise hold its connection (and
// its memory) for as long as it likes. A watchdog thread looks ten times a
// second and shuts the socket down; libmicrohttpd then sees the
// end and closes it (the descriptor stays libmicrohttpd's).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace copilot {

class HeadDeadlines {
public:
    // `note` gets one line for each connection cut.
    explicit HeadDeadlines(std::function<void(const std::string&)> note) : note_(std::move(note)) {}
    ~HeadDeadlines() { stop(); }
    HeadDeadlines(const HeadDeadlines&) = delete;
    HeadDeadlines& operator=(const HeadDeadlines&) = delete;

    void start();  // the watchdog
    void stop();   // joins it

    // A connection (`key`) opened: its socket, its client ("" for a Unix
    // socket), and how long its first head may take.
    void opened(const void* key, int fd, std::string client, std::chrono::seconds within);
    void closed(const void* key);
    // The next head of a kept-alive connection is due within `within`.
    void expect_head(const void* key, std::chrono::seconds within);
    void head_in(const void* key);  // the head came: no deadline until the next

private:
    struct Watch {
        int fd = -1;  // -1 once it was cut
        bool in_head = true;
        std::chrono::steady_clock::time_point deadline;
        std::string client;
    };
    void run();

    std::function<void(const std::string&)> note_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<const void*, Watch> watched_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace copilot
