#include "serve/parking.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <vector>
#include <cstdio>

namespace copilot {

void Parking::start(std::function<void()> resumed) {
    resumed_ = std::move(resumed);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    stop_ = false;
    thread_ = std::thread([this] { run(); });
}

void Parking::stop() {
    if (thread_.joinable()) {
        stop_ = true;
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
        thread_.join();
    }
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
}

void Parking::run() {
    epoll_event evs[64];
    while (!stop_.load()) {
        const int n = ::epoll_wait(epoll_fd_, evs, 64, 1000);
        for (int i = 0; i < n; ++i) {
            const int fd = evs[i].data.fd;
            if (fd == wake_fd_) continue;
            std::shared_ptr<Parked> p;
            {
                std::lock_guard<std::mutex> lk(mu_);
                auto it = by_fd_.find(fd);
                if (it == by_fd_.end()) continue;
                p = it->second.lock();
                // EPOLLONESHOT: the socket stays in the set, disarmed, until leave().
                if (p) {
                    std::lock_guard<std::mutex> pl(p->mu);
                    p->peer_left = true;
                }
            }
            if (!p) continue;
            if (auto ex = p->exchange.lock()) ex->cancel();  // wakes a stream's reader too
            wake(*p);
        }
    }
}

std::shared_ptr<Parked> Parking::enter(MHD_Connection* c, int fd) {
    auto p = std::make_shared<Parked>();
    p->connection = c;
    p->fd = fd;
    std::lock_guard<std::mutex> lk(mu_);
    all_[p.get()] = p;
    return p;
}

void Parking::leave(const std::shared_ptr<Parked>& p) {
    std::lock_guard<std::mutex> lk(mu_);
    all_.erase(p.get());
    std::lock_guard<std::mutex> pl(p->mu);
    if (p->watched) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, p->fd, nullptr);
        by_fd_.erase(p->fd);
        p->watched = false;
    }
}

bool Parking::park(Parked& p, const std::function<bool()>& ready, bool while_stopping) {
    bool watch = false;
    {
        std::lock_guard<std::mutex> pl(p.mu);
        // Under p.mu: a wake() after this check finds the connection parked.
        if (p.peer_left || (!while_stopping && stopping_.load()) || ready()) return false;
        watch = !p.watched && p.fd >= 0;
        p.watched = p.watched || watch;
        p.parked = true;
        ++parked_count_;
        MHD_suspend_connection(p.connection);
    }
    if (watch) {
        std::lock_guard<std::mutex> lk(mu_);
        std::shared_ptr<Parked> self;
        auto it = all_.find(&p);
        if (it != all_.end()) self = it->second.lock();
        if (self) {
            by_fd_[p.fd] = self;
            epoll_event ev{};
            // Not EPOLLIN: a pipelined request is no departure. Once per
            // connection: its requests park again and again.
            ev.events = EPOLLRDHUP | EPOLLONESHOT;
            ev.data.fd = p.fd;
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.fd, &ev);
        }
    }
    return true;
}

void Parking::wake(Parked& p) {
    {
        std::lock_guard<std::mutex> pl(p.mu);
        if (!p.parked) return;
        p.parked = false;
        --parked_count_;
        MHD_resume_connection(p.connection);
    }
    if (resumed_) resumed_();
}

void Parking::stopping() {
    stopping_ = true;
    wake_all();
}

void Parking::wake_all() {
    std::vector<std::shared_ptr<Parked>> all;
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto& kv : all_)
            if (auto p = kv.second.lock()) all.push_back(std::move(p));
    }
    for (auto& p : all) wake(*p);
}

}  // namespace copilot
