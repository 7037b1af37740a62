#include "serve/exchange.h"

#include <algorithm>
#include <cstring>

namespace copilot {

bool RelayQueue::push(std::string_view bytes) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return cancelled_ || queued_ < capacity_; });
    if (cancelled_) return false;
    if (bytes.empty()) return true;
    chunks_.emplace_back(bytes);
    queued_ += bytes.size();
    cv_.notify_all();
    return true;
}

void RelayQueue::finish(std::string tail, std::string note) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!cancelled_ && !tail.empty()) {
        queued_ += tail.size();
        chunks_.push_back(std::move(tail));
    }
    finished_ = true;
    if (note_.empty()) note_ = std::move(note);
    cv_.notify_all();
}

RelayQueue::Pull RelayQueue::pull(char* buf, size_t max, size_t* n,
                                  std::chrono::milliseconds wait) {
    *n = 0;
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, wait, [this] { return cancelled_ || queued_ > 0 || finished_; }))
        return Pull::timeout;
    if (cancelled_) return Pull::cancelled;
    if (queued_ == 0) return Pull::end;
    size_t copied = 0;
    while (copied < max && !chunks_.empty()) {
        std::string& front = chunks_.front();
        const size_t take = std::min(max - copied, front.size() - front_offset_);
        std::memcpy(buf + copied, front.data() + front_offset_, take);
        copied += take;
        front_offset_ += take;
        if (front_offset_ == front.size()) {
            chunks_.pop_front();
            front_offset_ = 0;
        }
    }
    queued_ -= copied;
    bytes_out_ += copied;
    *n = copied;
    cv_.notify_all();  // room for the producer
    return Pull::data;
}

void RelayQueue::cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
    chunks_.clear();
    queued_ = 0;
    cv_.notify_all();
}

bool RelayQueue::cancelled() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
}

bool RelayQueue::finished() const {
    std::lock_guard<std::mutex> lk(mu_);
    return finished_;
}

void RelayQueue::set_usage(const wire::Usage& u) {
    std::lock_guard<std::mutex> lk(mu_);
    usage_ = u;
}

std::optional<wire::Usage> RelayQueue::usage() const {
    std::lock_guard<std::mutex> lk(mu_);
    return usage_;
}

std::string RelayQueue::note() const {
    std::lock_guard<std::mutex> lk(mu_);
    return note_;
}

size_t RelayQueue::queued() const {
    std::lock_guard<std::mutex> lk(mu_);
    return queued_;
}

bool Exchange::wait_head(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return has_head_; });
}

ProxyResponse Exchange::head() const {
    std::lock_guard<std::mutex> lk(mu_);
    return head_;
}

void Exchange::cancel() {
    std::shared_ptr<RelayQueue> q;
    {
        std::lock_guard<std::mutex> lk(mu_);
        cancelled_ = true;
        q = queue_;
    }
    if (q) q->cancel();
}

bool Exchange::cancelled() const {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (cancelled_) return true;
    }
    return gone_ && gone_();
}

bool Exchange::done() const {
    std::lock_guard<std::mutex> lk(mu_);
    return done_;
}

void Exchange::set_head(ProxyResponse r) {
    std::lock_guard<std::mutex> lk(mu_);
    if (has_head_) return;
    head_ = std::move(r);
    has_head_ = true;
    cv_.notify_all();
}

}  // namespace copilot
