#include "serve/relay.h"

#include <ctime>
#include <system_error>
#include <thread>

#include "net/endpoints.h"
#include "net/sse.h"  // SseBoundary
#include "serve/stream_usage.h"
#include "serve/upstream_answer.h"
#include "api/api_error.h"

namespace copilot {

std::shared_ptr<const Catalogue> Proxy::catalogue(const TokenStatus& tok) {
    std::lock_guard<std::mutex> lk(catalogue_mu_);
    return catalogue_url_ == tok.api_url ? catalogue_ : nullptr;
}

void Proxy::with_catalogue(const TokenStatus& tok, bool refresh, std::function<void()> then) {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    std::unique_lock<std::mutex> lk(catalogue_mu_);
    if (!refresh) {
        if (catalogue_ && catalogue_url_ == tok.api_url &&
            now - catalogue_->fetched_at < kCatalogueLifetimeS) {
            lk.unlock();
            return then();
        }
        if (auto cached = read_catalogue_cache(opts_.host, opts_.profile, tok.api_url, now)) {
            catalogue_ = std::make_shared<const Catalogue>(std::move(*cached));
            catalogue_url_ = tok.api_url;
            lk.unlock();
            return then();
        }
    }
    catalogue_waiting_.push_back(std::move(then));
    if (catalogue_fetching_) return;  // one fetch at a time: its end lets them all go on
    catalogue_fetching_ = true;
    lk.unlock();
    HttpRequest r;
    r.method = "GET";
    r.url = tok.api_url + "/models";
    r.headers = copilot_api_headers(tok.token);
    r.headers.push_back({"Accept", "application/json"});
    r.connect_timeout_ms = opts_.connect_timeout_ms;
    r.timeout_ms = 30000;
    r.silence_timeout_s = 30;
    r.max_body = opts_.max_answer;
    const std::string url = tok.api_url;
    auto fetched = [this, url](const HttpResponse* up) {
        if (up && up->status == 200) try {
                auto c = std::make_shared<const Catalogue>(
                    catalogue_from_body(up->body, static_cast<int64_t>(std::time(nullptr))));
                try {
                    write_catalogue_cache(opts_.host, opts_.profile, url, *c);
                } catch (const Error&) {
                    // Kept in memory all the same: the file only saves a fetch.
                }
                std::lock_guard<std::mutex> cl(catalogue_mu_);
                catalogue_ = std::move(c);
                catalogue_url_ = url;
            } catch (const Error&) {
                // No catalogue: requests go out on the client's own API.
            }
        std::vector<std::function<void()>> waiting;
        {
            std::lock_guard<std::mutex> cl(catalogue_mu_);
            catalogue_fetching_ = false;
            waiting.swap(catalogue_waiting_);
        }
        for (auto& f : waiting) f();
    };
    HttpLoop::Calls calls;
    calls.on_done = [fetched](HttpResponse up, std::exception_ptr err) {
        fetched(err ? nullptr : &up);
    };
    try {
        loop_.start(std::move(r), std::move(calls));
    } catch (const Error&) {
        fetched(nullptr);
    }
}

void Proxy::keep_catalogue(const TokenStatus& tok, std::string_view models_body) {
    try {
        auto c = std::make_shared<const Catalogue>(
            catalogue_from_body(models_body, static_cast<int64_t>(std::time(nullptr))));
        std::lock_guard<std::mutex> lk(catalogue_mu_);
        try {
            write_catalogue_cache(opts_.host, opts_.profile, tok.api_url, *c);
        } catch (const Error&) {
        }
        catalogue_ = std::move(c);
        catalogue_url_ = tok.api_url;
    } catch (const Error&) {
    }
}

// One exchange from its request to its end, across its tries (a fresh token
// after a 401, the catalogue refreshed after an unsupported model). Its
// steps run one after the other, on the loop or on a worker, never at once.
struct Proxy::Call {
    std::shared_ptr<Exchange> ex;
    ProxyRequest req;
    TokenStatus tok;
    std::optional<wire::Api> client;  // a wire route's API
    std::optional<WirePlan> plan;
    WireLog wlog;
    std::shared_ptr<RelayQueue> queue;  // a stream's
    bool token_refreshed = false, catalogue_refreshed = false;
    bool ended = false;

    // This try's. The stream's head goes out with its first byte that is
    // not blank space: that byte tells an event stream from a server that
    // ignored "stream": true and sent one JSON object. A translated
    // stream's head goes out with the upstream's 2xx event-stream head (so
    // pings can keep a client waiting from the start).
    std::atomic<HttpLoop::Id> id{0};
    std::unique_ptr<TranslatedStream> ts;
    bool started = false;
    long up_status = 200;  // a stream's status and type, from the upstream's head
    std::string up_type;
    std::string lead;
    // Only whole events go on: the bytes after the last event end wait
    // here, so that a cut stream ends on an event boundary (then its error
    // event) and never with half an event. What waits at a clean end goes on.
    SseBoundary boundary;
    std::string held;
    std::optional<StreamUsage> passed_usage;  // what those events report
    std::chrono::steady_clock::time_point last_out;

    void finish_head(ProxyResponse r) {
        const auto usage = r.wire.usage;
        r.wire = std::move(wlog);  // the head is this try's last use of it
        r.wire.usage = usage;
        if (plan) r.model = plan->model;
        ex->set_head(std::move(r));
    }
    // The quota headers of the answer (a malformed one is a note for --verbose).
    void take_quota(const HeaderList& headers) {
        if (!client) return;
        wlog.quota_notes.clear();
        wlog.quota = quota_from_headers(
            headers, [&](const std::string& n) { wlog.quota_notes.push_back(n); });
    }
    bool relay_events(std::string_view b) {
        const size_t whole = boundary.feed(b);
        if (whole == 0) {
            held.append(b.data(), b.size());
            return !queue->cancelled();
        }
        held.append(b.data(), whole);
        passed_usage->scan(held);
        const bool ok = queue->push(held);
        held.assign(b.data() + whole, b.size() - whole);
        return ok;
    }
    void stream_head(const std::string& type) {
        started = true;
        ProxyResponse head;
        head.status = up_status;
        head.headers.push_back({"Content-Type", type});
        head.headers.push_back({"Cache-Control", "no-cache"});
        head.stream = queue;
        finish_head(std::move(head));
    }
    bool push_translated() {
        std::string out = ts->take();
        if (out.empty()) return !queue->cancelled();
        last_out = std::chrono::steady_clock::now();
        return queue->push(out);
    }
    // A stream's bytes from the upstream (on the loop).
    BodyTake body(std::string_view bytes, size_t max_answer) {
        if (ts) {
            if (!started) {  // an error answer, or one JSON object: read whole
                if (lead.size() + bytes.size() > max_answer) return BodyTake::stop;
                lead.append(bytes.data(), bytes.size());
                return queue->cancelled() ? BodyTake::stop : BodyTake::all;
            }
            try {
                ts->feed(bytes);
            } catch (const Error& e) {
                ts->fail(std::string("the Copilot API sent a broken stream: ") +
                         redact(e.what(), tok.token));
                push_translated();
                return BodyTake::stop;
            }
            return push_translated() ? BodyTake::all : BodyTake::stop;
        }
        if (!started) {
            lead.append(bytes.data(), bytes.size());
            const size_t at = lead.find_first_not_of(" \t\r\n");
            if (at == std::string::npos && lead.size() < 4096)
                return queue->cancelled() ? BodyTake::stop : BodyTake::all;
            const bool json = at != std::string::npos && lead[at] == '{';
            // The upstream's own type when it gave one (an HTML error
            // page stays HTML); else what the first byte says.
            stream_head(!up_type.empty() ? up_type
                        : json           ? "application/json"
                                         : "text/event-stream");
            std::string first;
            first.swap(lead);
            return relay_events(first) ? BodyTake::all : BodyTake::stop;
        }
        return relay_events(bytes) ? BodyTake::all : BodyTake::stop;
    }
};

Proxy::Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts)
    : keeper_(std::move(keeper)), opts_(opts) {}

// Exchanges still running are let go by the server first (cancelled), so
// this is short; then the workers end.
Proxy::~Proxy() {
    std::unique_lock<std::mutex> lk(mu_);
    stopping_ = true;
    jobs_cv_.notify_all();
    cv_.wait(lk, [this] { return threads_ == 0 && running_ == 0; });
    std::vector<std::thread> ended;
    ended.swap(ended_);
    lk.unlock();
    for (std::thread& t : ended) t.join();
}

namespace {
// A worker waits this long for another step before it ends: a burst of
// blocking steps reuses threads, and an idle server keeps none.
constexpr auto kWorkerIdleLife = std::chrono::seconds(30);
}  // namespace

void Proxy::offload(std::function<void()> step) {
    std::vector<std::thread> ended;  // joined outside the lock: they have left it
    std::unique_lock<std::mutex> lk(mu_);
    ended.swap(ended_);
    steps_.push_back(std::move(step));
    if (idle_ >= steps_.size()) {  // an idle worker will take it
        jobs_cv_.notify_one();
    } else {
        auto self = workers_.emplace(workers_.end());
        try {
            // The worker takes mu_ first: `self` is assigned before it looks.
            *self = std::thread([this, self] { worker(self); });
            ++threads_;
        } catch (const std::system_error&) {
            workers_.erase(self);
            std::function<void()> mine = std::move(steps_.back());
            steps_.pop_back();
            lk.unlock();
            for (std::thread& t : ended) t.join();
            mine();  // no thread to spare: here, then
            return;
        }
    }
    lk.unlock();
    for (std::thread& t : ended) t.join();
}

void Proxy::worker(std::list<std::thread>::iterator self) {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        ++idle_;
        const bool got = jobs_cv_.wait_for(lk, kWorkerIdleLife,
                                           [this] { return !steps_.empty() || stopping_; });
        --idle_;
        if (!got || steps_.empty()) break;  // idle for long, or stopping with nothing to do
        std::function<void()> step = std::move(steps_.front());
        steps_.pop_front();
        lk.unlock();
        step();
        step = nullptr;  // what it holds is let go outside the lock
        lk.lock();
    }
    ended_.push_back(std::move(*self));
    workers_.erase(self);
    --threads_;
    cv_.notify_all();
}

std::shared_ptr<Exchange> Proxy::start(ProxyRequest req, std::function<void()> notify) {
    auto c = std::make_shared<Call>();
    c->ex = std::make_shared<Exchange>(std::move(notify));
    c->req = std::move(req);
    {
        std::lock_guard<std::mutex> lk(mu_);
        ++running_;
    }
    std::shared_ptr<Exchange> ex = c->ex;
    begin(c);
    return ex;
}

size_t Proxy::running() const {
    std::lock_guard<std::mutex> lk(mu_);
    return running_;
}

bool Proxy::wait_idle(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return running_ == 0; });
}

void Proxy::end(Call& c) {
    if (c.ended) return;
    c.ended = true;
    c.finish_head(error_response(500, "internal error: no answer", "internal_error",
                                 "internal error"));  // a no-op when there is a head
    if (c.queue && !c.queue->finished()) c.queue->finish();
    c.ex->set_done();
    std::lock_guard<std::mutex> lk(mu_);
    --running_;
    cv_.notify_all();
}

void Proxy::fail(Call& c, const std::exception& e) {
    c.finish_head(error_response(500, std::string("internal error: ") + e.what(),
                                 "internal_error", "internal error"));
    if (c.queue) c.queue->finish("", "internal error");
    end(c);
}

void Proxy::begin(const std::shared_ptr<Call>& c) {
    try {
        if (c->req.route == Route::count_tokens) {
            c->ex->set_head(count_tokens_answer(c->req));
            return end(*c);
        }
        c->tok = keeper_->status();
        if (!c->tok.ready()) {
            const bool login = c->tok.state == TokenStatus::State::login_pending;
            ProxyResponse r =
                error_response(503, c->tok.problem, login ? "login_required" : "unavailable",
                               login ? "waiting for login" : "no token", c->req.api);
            r.headers.push_back({"Retry-After", "5"});
            c->ex->set_head(std::move(r));
            return end(*c);
        }
        c->client = wire_api(c->req.route);
        if (c->client) return with_catalogue(c->tok, false, [this, c] { prepare(c); });
        prepare(c);
    } catch (const std::exception& e) {
        fail(*c, e);
    }
}

// A wire route: which model, which upstream API, translated or not.
bool Proxy::make_plan(Call& c) {
    std::shared_ptr<const Catalogue> cat = catalogue(c.tok);
    const wire::Api shape = c.req.api;
    try {
        c.plan = plan_wire_request(*c.client, c.req.body, c.req.facts, cat.get(), opts_.model_map,
                                   c.req.client_headers);
    } catch (const wire::Untranslatable& e) {
        std::string m = e.what();
        if (m.find(e.field()) == std::string::npos) m = e.field() + ": " + m;
        c.ex->set_head(error_response(400, m, "untranslatable", "untranslatable " + e.field(), shape));
        return false;
    } catch (const ModelNotFound& e) {
        c.ex->set_head(error_response(404, e.what(), "model_not_found", "model_not_found", shape));
        return false;
    } catch (const Error& e) {
        if (e.code() != Exit::data) throw;
        c.ex->set_head(error_response(400, e.what(), "invalid_request", "bad request", shape));
        return false;
    }
    WireLog& w = c.wlog;
    w.api = wire::api_name(c.plan->client);
    w.upstream = wire::api_path(c.plan->upstream);
    w.translated = c.plan->translated();
    w.asked = c.plan->asked;
    w.initiator = c.req.facts.agent ? "agent" : "user";
    w.dropped = c.plan->dropped;
    w.multiplier = premium_multiplier(cat ? cat->find(c.plan->model) : nullptr);
    return true;
}

void Proxy::prepare(const std::shared_ptr<Call>& c) {
    try {
        if (c->client && !make_plan(*c)) return end(*c);
        // --budget: a premium model's request once the budget is spent.
        if (c->client && opts_.usage)
            if (auto why = opts_.usage->refusal(c->wlog)) {
                c->finish_head(
                    error_response(429, *why, "budget_exceeded", "budget spent", c->req.api));
                return end(*c);
            }
        if (c->req.streams()) {
            c->queue = std::make_shared<RelayQueue>(opts_.queue_capacity, c->ex->notify_);
            std::lock_guard<std::mutex> lk(c->ex->mu_);
            c->ex->queue_ = c->queue;
            if (c->ex->cancelled_) c->queue->cancel();
        }
        send(c);
    } catch (const std::exception& e) {
        fail(*c, e);
    }
}

void Proxy::send(const std::shared_ptr<Call>& c) {
    Call& k = *c;
    const ProxyRequest& req = k.req;
    const bool stream = req.streams();
    k.ts.reset();
    if (stream && k.plan && k.plan->translated()) k.ts = std::make_unique<TranslatedStream>(*k.plan);
    k.started = false;
    k.up_status = 200;
    k.up_type.clear();
    k.lead.clear();
    k.boundary = SseBoundary();
    k.held.clear();
    k.passed_usage.emplace(k.plan ? k.plan->client : req.api);
    k.last_out = std::chrono::steady_clock::now();

    HttpRequest r;
    const bool get = req.route == Route::models;
    r.method = get ? "GET" : "POST";
    r.url = k.tok.api_url + (k.plan ? wire::api_path(k.plan->upstream) : req.upstream_path);
    r.headers = copilot_api_headers(k.tok.token);  // the client's Authorization never goes on
    if (k.plan)
        for (const auto& [name, value] : k.plan->headers) set_header(r.headers, name, value);
    if (!get) {
        r.headers.push_back({"Content-Type", "application/json"});
        r.body = k.plan ? k.plan->body : req.body;
    }
    r.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
    // Upstream answers are relayed, not retried: the client sees the
    // status (and Retry-After) and decides, as with OpenAI itself.
    r.retry = false;
    r.connect_timeout_ms = opts_.connect_timeout_ms;
    r.timeout_ms = 0;  // answers take as long as they take...
    r.silence_timeout_s = opts_.silence_timeout_s;  // ...but a silent upstream is given up on
    r.max_body = opts_.max_answer;

    HttpLoop::Calls calls;
    if (stream) {
        Call* raw = c.get();  // the loop's calls hold `c`
        r.on_head = [raw](long status, const HeaderList& headers) {
            raw->up_status = status;
            raw->take_quota(headers);
            for (const auto& [name, value] : headers)
                if (name == "content-type" && value.find_first_of("\r\n") == std::string::npos)
                    raw->up_type = value;
            if (raw->ts && status >= 200 && status < 300 &&
                raw->up_type.find("text/event-stream") != std::string::npos)
                raw->stream_head("text/event-stream");
        };
        calls.on_body = [this, c](std::string_view bytes) -> BodyTake {
            // A full queue: the transfer waits (paused) for its client.
            if (c->queue->pause_if_full([this, c] { loop_.resume(c->id.load()); }))
                return BodyTake::pause;
            return c->body(bytes, opts_.max_answer);
        };
    }
    calls.on_tick = [this, c]() -> bool {
        if (c->ex->cancelled()) return true;
        // A silent upstream: an Anthropic client gets a ping now and then.
        Call& t = *c;
        if (t.ts && t.started && !t.ts->over() &&
            std::chrono::steady_clock::now() - t.last_out >= opts_.ping_interval) {
            t.last_out = std::chrono::steady_clock::now();
            if (t.ts->ping() && !t.push_translated()) return true;
        }
        return false;
    };
    calls.on_done = [this, c](HttpResponse up, std::exception_ptr err) {
        after(c, std::move(up), err);
    };
    try {
        k.id = loop_.start(std::move(r), std::move(calls));
    } catch (const Error&) {
        after(c, HttpResponse{}, std::current_exception());
    }
}

void Proxy::after(const std::shared_ptr<Call>& c, HttpResponse up, std::exception_ptr err) {
    Call& k = *c;
    try {
        const wire::Api shape = k.req.api;
        RelayQueue* queue = k.queue.get();
        if (err) {
            try {
                std::rethrow_exception(err);
            } catch (const Error& e) {
                const std::string msg = redact(e.what(), k.tok.token);
                const std::string cut =
                    "the connection to the Copilot API broke in the middle of the answer: " + msg;
                if (k.started && k.ts) {
                    k.ts->fail(cut);
                    queue->set_usage(k.ts->usage());
                    queue->finish(k.ts->take(), "upstream cut off");
                } else if (k.started) {
                    if (auto u = k.passed_usage->usage()) queue->set_usage(*u);
                    queue->finish(sse_error_event(cut, "", shape), "upstream cut off");
                } else {
                    const bool timed_out = msg.find("timed out") != std::string::npos;
                    if (e.code() == Exit::protocol)  // reached, but the answer was cut off or too large
                        k.finish_head(error_response(502,
                                                     "the Copilot API sent a broken answer: " + msg,
                                                     "bad_upstream_answer", "bad upstream answer",
                                                     shape));
                    else
                        k.finish_head(error_response(timed_out ? 504 : 502,
                                                     "cannot reach the Copilot API: " + msg,
                                                     "upstream_unreachable", "upstream unreachable",
                                                     shape));
                }
                return end(k);
            }
        }
        if (k.started && k.ts) {
            std::string note;
            if (queue->cancelled())
                note = "client closed";
            else if (k.ts->over())  // failed on a broken stream
                note = "bad upstream stream";
            else if (!k.ts->end())
                note = "upstream cut off";
            k.push_translated();
            queue->set_usage(k.ts->usage());
            queue->finish("", note);
            return end(k);
        }
        if (k.started) {
            if (!k.held.empty() && !up.aborted_by_callback) {
                k.passed_usage->scan(k.held);
                queue->push(k.held);
            }
            if (auto u = k.passed_usage->usage()) queue->set_usage(*u);
            queue->finish("", up.aborted_by_callback ? "client closed" : "");
            return end(k);
        }
        if (up.aborted_by_callback) {  // cancelled before the answer began
            k.finish_head(error_response(503, "the request was cancelled", "cancelled", "cancelled",
                                         shape));
            return end(k);
        }
        if (queue && up.body.empty()) up.body = k.lead;
        retry_or_conclude(c, std::make_shared<HttpResponse>(std::move(up)));
    } catch (const std::exception& e) {
        fail(k, e);
    }
}

void Proxy::retry_or_conclude(const std::shared_ptr<Call>& c, std::shared_ptr<HttpResponse> up) {
    Call& k = *c;
    try {
        if ((up->status == 401 || up->status == 403) && !k.token_refreshed) {
            // The token may have been revoked or expired early: one fresh
            // token and one more try, as the service's own clients do. The
            // keeper's fetch blocks: on a worker, not on the loop.
            k.token_refreshed = true;
            return offload([this, c, up] {
                try {
                    if (auto fresh = keeper_->refresh_after_rejection(c->tok.token)) {
                        c->tok = *fresh;
                        return send(c);
                    }
                    retry_or_conclude(c, up);
                } catch (const std::exception& e) {
                    fail(*c, e);
                }
            });
        }
        if (k.client && !k.catalogue_refreshed &&
            says_unsupported(up->status, up->body, k.tok.token)) {
            // The catalogue may be out of date: fetched again, and the
            // request sent once more when the model now belongs elsewhere.
            k.catalogue_refreshed = true;
            const wire::Api before = k.plan->upstream;
            return with_catalogue(k.tok, true, [this, c, up, before] {
                try {
                    if (!make_plan(*c)) return end(*c);
                    if (c->plan->upstream != before) return send(c);
                    conclude(*c, *up);
                } catch (const std::exception& e) {
                    fail(*c, e);
                }
            });
        }
        conclude(k, *up);
    } catch (const std::exception& e) {
        fail(k, e);
    }
}

void Proxy::conclude(Call& k, HttpResponse& up) {
    k.take_quota(up.headers);
    ProxyResponse whole = relay_whole(k.req, up, k.tok.token, k.plan ? &*k.plan : nullptr);
    if (k.req.route == Route::models && up.status == 200 && k.req.model_id.empty())
        keep_catalogue(k.tok, up.body);
    if (k.plan) note_usage(whole, k.plan->client, whole.body);
    k.finish_head(std::move(whole));
    end(k);
}

}  // namespace copilot
