#include "serve/head_deadline.h"

#include <sys/socket.h>

namespace copilot {

void HeadDeadlines::start() {
    std::lock_guard<std::mutex> lk(mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { run(); });
}

void HeadDeadlines::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!thread_.joinable()) return;
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void HeadDeadlines::opened(const void* key, int fd, std::string client, std::chrono::seconds within) {
    Watch w;
    w.fd = fd;
    w.deadline = std::chrono::steady_clock::now() + within;
    w.client = std::move(client);
    std::lock_guard<std::mutex> lk(mu_);
    watched_[key] = std::move(w);
}

void HeadDeadlines::closed(const void* key) {
    std::lock_guard<std::mutex> lk(mu_);
    watched_.erase(key);
}

void HeadDeadlines::expect_head(const void* key, std::chrono::seconds within) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = watched_.find(key);
    if (it == watched_.end()) return;
    it->second.in_head = true;
    it->second.deadline = std::chrono::steady_clock::now() + within;
}

void HeadDeadlines::head_in(const void* key) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = watched_.find(key);
    if (it != watched_.end()) it->second.in_head = false;
}

void HeadDeadlines::run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        cv_.wait_for(lk, std::chrono::milliseconds(100));
        const auto now = std::chrono::steady_clock::now();
        for (auto& [key, w] : watched_) {
            if (!w.in_head || w.fd < 0 || now < w.deadline) continue;
            ::shutdown(w.fd, SHUT_RDWR);
            w.fd = -1;
            if (note_)
                note_("closing a connection from " +
                      (w.client.empty() ? std::string("a Unix socket") : w.client) +
                      ": no complete request head within the --header-timeout");
        }
    }
}

}  // namespace copilot
