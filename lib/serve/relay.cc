#include "serve/relay.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

#include "net/endpoints.h"
#include "net/sse.h"  // SseBoundary

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

namespace {

ProxyResponse error_response(long status, const std::string& message, const std::string& code,
                             const std::string& note) {
    ProxyResponse r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = openai_error(message, error_type_for_status(status), code);
    r.note = note;
    return r;
}

// A whole (buffered) upstream answer, as the client gets it.
ProxyResponse relay_whole(const ProxyRequest& req, const HttpResponse& up,
                          const std::string& token) {
    ProxyResponse r;
    r.status = up.status;
    const bool ok = up.status >= 200 && up.status < 300;
    if (ok && req.route == Route::models) {
        std::optional<std::string> body;
        try {
            if (req.model_id.empty())
                body = openai_models(up.body);
            else
                body = openai_model(up.body, req.model_id);
        } catch (const Error& e) {
            return error_response(502, e.what(), "bad_upstream_answer", "bad model list");
        }
        if (body) {
            r.body = std::move(*body);
        } else {
            r.status = 404;
            r.body = model_not_found_body(req.model_id);
            r.note = "model_not_found";  // like the other errors the server itself answers
        }
        r.headers.push_back({"Content-Type", "application/json"});
    } else if (ok) {
        r.body = up.body;
        std::string ct = up.header("content-type");
        r.headers.push_back({"Content-Type", ct.empty() ? "application/json" : ct});
    } else {
        r.body = upstream_error_body(up.status, up.body, token);
        r.headers.push_back({"Content-Type", "application/json"});
        r.note = "upstream error";
    }
    for (const char* name : {"retry-after", "x-request-id", "x-github-request-id"}) {
        std::string v = up.header(name);
        if (!v.empty() && v.find_first_of("\r\n") == std::string::npos)
            r.headers.push_back({name, v});
    }
    return r;
}

}  // namespace

Proxy::Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts)
    : keeper_(std::move(keeper)), opts_(opts) {}

// Workers use the proxy: it waits for them. Exchanges still running are
// let go by the server first (cancelled), so this is short.
Proxy::~Proxy() {
    std::unique_lock<std::mutex> lk(mu_);
    stopping_ = true;
    jobs_cv_.notify_all();
    cv_.wait(lk, [this] { return threads_ == 0 && running_ == 0; });
}

namespace {
// A worker waits this long for another job before it ends: a steady flow of
// requests reuses threads instead of starting one per request, and an idle
// server keeps none.
constexpr auto kWorkerIdleLife = std::chrono::seconds(30);
}  // namespace

std::shared_ptr<Exchange> Proxy::start(ProxyRequest req) {
    auto ex = std::make_shared<Exchange>();
    std::unique_lock<std::mutex> lk(mu_);
    ++running_;
    jobs_.push_back({ex, std::move(req)});
    if (idle_ >= jobs_.size()) {  // an idle worker will take it
        jobs_cv_.notify_one();
        return ex;
    }
    try {
        std::thread([this] { worker(); }).detach();
        ++threads_;
    } catch (const std::system_error&) {
        jobs_.pop_back();
        --running_;
        cv_.notify_all();
        lk.unlock();
        ex->set_head(error_response(503, "the server is out of threads; try again", "overloaded",
                                    "no thread"));
        std::lock_guard<std::mutex> el(ex->mu_);
        ex->done_ = true;
    }
    return ex;
}

void Proxy::worker() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        ++idle_;
        const bool got = jobs_cv_.wait_for(lk, kWorkerIdleLife,
                                           [this] { return !jobs_.empty() || stopping_; });
        --idle_;
        if (!got || jobs_.empty()) break;  // idle for long, or stopping with nothing to do
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lk.unlock();
        execute(job);
        job = Job{};  // the request and the exchange are let go outside the lock
        lk.lock();
        --running_;
        cv_.notify_all();
    }
    --threads_;
    cv_.notify_all();
}

void Proxy::execute(Job& job) {
    Exchange& ex = *job.ex;
    try {
        run(ex, job.req);
    } catch (const std::exception& e) {
        ex.set_head(error_response(500, std::string("internal error: ") + e.what(),
                                   "internal_error", "internal error"));
        std::shared_ptr<RelayQueue> q;
        {
            std::lock_guard<std::mutex> lk(ex.mu_);
            q = ex.queue_;
        }
        if (q) q->finish("", "internal error");
    }
    std::lock_guard<std::mutex> lk(ex.mu_);
    ex.done_ = true;
}

ProxyResponse Proxy::answer(const ProxyRequest& req, std::function<bool()> gone) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        ++running_;
    }
    struct Done {  // counted out however the exchange ends
        Proxy* p;
        ~Done() {
            std::lock_guard<std::mutex> lk(p->mu_);
            --p->running_;
            p->cv_.notify_all();
        }
    } done{this};
    Exchange ex;
    ex.gone_ = std::move(gone);
    try {
        run(ex, req);
    } catch (const std::exception& e) {
        ex.set_head(error_response(500, std::string("internal error: ") + e.what(),
                                   "internal_error", "internal error"));
    }
    ex.set_head(error_response(500, "internal error: no answer", "internal_error",
                               "internal error"));  // a no-op when run() answered
    return ex.head();
}

size_t Proxy::running() const {
    std::lock_guard<std::mutex> lk(mu_);
    return running_;
}

bool Proxy::wait_idle(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return running_ == 0; });
}

void Proxy::run(Exchange& ex, const ProxyRequest& req) {
    TokenStatus tok = keeper_->status();
    if (!tok.ready()) {
        const bool login = tok.state == TokenStatus::State::login_pending;
        ProxyResponse r = error_response(503, tok.problem, login ? "login_required" : "unavailable",
                                         login ? "waiting for login" : "no token");
        r.headers.push_back({"Retry-After", "5"});
        ex.set_head(std::move(r));
        return;
    }

    const bool stream = req.route == Route::chat && req.facts.stream;
    std::shared_ptr<RelayQueue> queue;
    if (stream) {
        queue = std::make_shared<RelayQueue>(opts_.queue_capacity);
        std::lock_guard<std::mutex> lk(ex.mu_);
        ex.queue_ = queue;
        if (ex.cancelled_) queue->cancel();
    }

    // The stream's head goes out with its first byte that is not blank
    // space: that byte tells an event stream from a server that ignored
    // "stream": true and sent one JSON object.
    bool started = false;
    long up_status = 200;  // a stream's status and type, from the upstream's head
    std::string up_type;
    std::string lead;
    // Only whole events go on: the bytes after the last event end wait
    // here, so that a cut stream ends on an event boundary (then its error
    // event) and never with half an event. What waits at a clean end goes on.
    SseBoundary boundary;
    std::string held;
    auto relay_events = [&](std::string_view b) -> bool {
        const size_t whole = boundary.feed(b);
        if (whole == 0) {
            held.append(b.data(), b.size());
            return !queue->cancelled();
        }
        held.append(b.data(), whole);
        const bool ok = queue->push(held);
        held.assign(b.data() + whole, b.size() - whole);
        return ok;
    };

    for (int attempt = 1; attempt <= 2; ++attempt) {
        HttpRequest r;
        const bool get = req.route == Route::models;
        r.method = get ? "GET" : "POST";
        r.url = tok.api_url + req.upstream_path;
        r.headers = copilot_api_headers(tok.token);  // the client's Authorization never goes on
        if (!get) {
            r.headers.push_back({"Content-Type", "application/json"});
            r.body = req.body;
        }
        r.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
        // Upstream answers are relayed, not retried: the client sees the
        // status (and Retry-After) and decides, as with OpenAI itself.
        r.retry = false;
        r.connect_timeout_ms = opts_.connect_timeout_ms;
        r.timeout_ms = 0;  // answers take as long as they take...
        r.silence_timeout_s = opts_.silence_timeout_s;  // ...but a silent upstream is given up on
        r.max_body = opts_.max_answer;
        r.cancelled = [&ex] { return ex.cancelled(); };
        if (stream) {
            r.on_head = [&](long status, const HeaderList& headers) {
                up_status = status;
                for (const auto& [name, value] : headers)
                    if (name == "content-type" && value.find_first_of("\r\n") == std::string::npos)
                        up_type = value;
            };
            r.on_body = [&](std::string_view bytes) -> bool {
                if (!started) {
                    lead.append(bytes.data(), bytes.size());
                    const size_t at = lead.find_first_not_of(" \t\r\n");
                    if (at == std::string::npos && lead.size() < 4096) return !queue->cancelled();
                    started = true;
                    ProxyResponse head;
                    head.status = up_status;
                    const bool json = at != std::string::npos && lead[at] == '{';
                    // The upstream's own type when it gave one (an HTML error
                    // page stays HTML); else what the first byte says.
                    head.headers.push_back(
                        {"Content-Type", !up_type.empty() ? up_type
                                         : json           ? "application/json"
                                                          : "text/event-stream"});
                    head.headers.push_back({"Cache-Control", "no-cache"});
                    head.stream = queue;
                    ex.set_head(std::move(head));
                    std::string first;
                    first.swap(lead);
                    return relay_events(first);
                }
                return relay_events(bytes);
            };
        }

        HttpResponse up;
        try {
            up = http_perform(r);
        } catch (const Error& e) {
            const std::string msg = redact(e.what(), tok.token);
            if (started) {
                queue->finish(
                    sse_error_event("the connection to the Copilot API broke in the middle of "
                                    "the answer: " + msg,
                                    ""),
                    "upstream cut off");
                return;
            }
            const bool timed_out = msg.find("timed out") != std::string::npos;
            if (e.code() == Exit::protocol)  // reached, but the answer was cut off or too large
                ex.set_head(error_response(502, "the Copilot API sent a broken answer: " + msg,
                                           "bad_upstream_answer", "bad upstream answer"));
            else
                ex.set_head(error_response(timed_out ? 504 : 502,
                                           "cannot reach the Copilot API: " + msg,
                                           "upstream_unreachable", "upstream unreachable"));
            if (queue) queue->finish();
            return;
        }
        if (started) {
            if (!held.empty() && !up.aborted_by_callback) queue->push(held);
            queue->finish("", up.aborted_by_callback ? "client closed" : "");
            return;
        }
        if (up.aborted_by_callback) {  // cancelled before the answer began
            ex.set_head(error_response(503, "the request was cancelled", "cancelled", "cancelled"));
            if (queue) queue->finish();
            return;
        }
        if ((up.status == 401 || up.status == 403) && attempt == 1) {
            // The token may have been revoked or expired early: one fresh
            // token and one more try, as the service's own clients do.
            if (auto fresh = keeper_->refresh_after_rejection(tok.token)) {
                tok = *fresh;
                continue;
            }
        }
        if (stream && up.status >= 200 && up.status < 300 && up.body.empty()) up.body = lead;
        ex.set_head(relay_whole(req, up, tok.token));
        if (queue) queue->finish();
        return;
    }
}


}  // namespace copilot
