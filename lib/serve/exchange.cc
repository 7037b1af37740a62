#include "serve/exchange.h"

#include <algorithm>
#include <cstring>

namespace copilot {

bool RelayQueue::push(std::string_view bytes) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (cancelled_) return false;
        if (bytes.empty()) return true;
        chunks_.emplace_back(bytes);
        queued_ += bytes.size();
        cv_.notify_all();
    }
    changed();
    return true;
}

bool RelayQueue::pause_if_full(std::function<void()> resume) {
    std::lock_guard<std::mutex> lk(mu_);
    if (cancelled_ || queued_ < capacity_) return false;
    resume_ = std::move(resume);
    return true;
}

void RelayQueue::finish(std::string tail, std::string note) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!cancelled_ && !tail.empty()) {
            queued_ += tail.size();
            chunks_.push_back(std::move(tail));
        }
        finished_ = true;
        if (note_.empty()) note_ = std::move(note);
        cv_.notify_all();
    }
    changed();
}

RelayQueue::Pull RelayQueue::pull(char* buf, size_t max, size_t* n,
                                  std::chrono::milliseconds wait) {
    *n = 0;
    std::unique_lock<std::mutex> lk(mu_);
    auto any = [this] { return cancelled_ || queued_ > 0 || finished_; };
    // A look only (the server's reader) never enters the condition
    // variable: even an expired wait costs a futex call.
    if (wait.count() <= 0 ? !any() : !cv_.wait_for(lk, wait, any)) return Pull::timeout;
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
    // Room for a paused producer: half the queue, so that it does not
    // pause again after every read.
    std::function<void()> resume;
    if (resume_ && queued_ <= capacity_ / 2) resume.swap(resume_);
    lk.unlock();
    if (resume) resume();
    return Pull::data;
}

std::optional<std::string> RelayQueue::take_whole() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!finished_ || cancelled_ || bytes_out_.load() != 0) return std::nullopt;
    std::string all;
    if (chunks_.size() == 1) {
        all.swap(chunks_.front());
    } else {
        all.reserve(queued_);
        for (const std::string& c : chunks_) all += c;
    }
    chunks_.clear();
    queued_ = 0;
    bytes_out_ += all.size();
    return all;
}

bool RelayQueue::ready() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_ || queued_ > 0 || finished_;
}

void RelayQueue::cancel() {
    std::function<void()> resume;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (cancelled_) return;
        cancelled_ = true;
        chunks_.clear();
        queued_ = 0;
        resume.swap(resume_);
        cv_.notify_all();
    }
    if (resume) resume();  // the producer then finds the queue cancelled and stops
    changed();
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
    if (wait.count() <= 0) return has_head_;  // a look: no futex call
    return cv_.wait_for(lk, wait, [this] { return has_head_; });
}

ProxyResponse Exchange::take_head() {
    std::lock_guard<std::mutex> lk(mu_);
    return std::move(head_);
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
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
}

bool Exchange::done() const {
    std::lock_guard<std::mutex> lk(mu_);
    return done_;
}

void Exchange::set_head(ProxyResponse r) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (has_head_) return;
        head_ = std::move(r);
        has_head_ = true;
        cv_.notify_all();
    }
    if (notify_) notify_();
}

void Exchange::set_done() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        done_ = true;
    }
    if (notify_) notify_();
}

}  // namespace copilot
