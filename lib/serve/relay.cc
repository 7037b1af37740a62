#include "serve/relay.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>

#include "net/ascii.h"
#include "net/endpoints.h"
#include "net/sse.h"  // SseBoundary
#include "serve/stream_usage.h"
#include "api/api_error.h"
#include "util/json.h"
#include "wire/tokens.h"

namespace copilot {

namespace {

ProxyResponse error_response(long status, const std::string& message, const std::string& code,
                             const std::string& note, wire::Api api = wire::Api::chat) {
    ProxyResponse r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = client_error(api, status, message, code);
    r.note = note;
    return r;
}

// A whole (buffered) upstream answer, as the client gets it.
ProxyResponse relay_whole(const ProxyRequest& req, const HttpResponse& up,
                          const std::string& token, const WirePlan* plan) {
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
    } else if (ok && plan && plan->translated()) {
        try {
            r.body = translate_answer(*plan, up.body);
        } catch (const Error& e) {
            return error_response(502, "the Copilot API sent an answer that cannot be translated: " +
                                           redact(e.what(), token),
                                  "bad_upstream_answer", "bad upstream answer", req.api);
        }
        r.headers.push_back({"Content-Type", "application/json"});
    } else if (ok) {
        r.body = up.body;
        std::string ct = up.header("content-type");
        r.headers.push_back({"Content-Type", ct.empty() ? "application/json" : ct});
    } else {
        r.body = upstream_error_body(up.status, up.body, token, req.api);
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
    std::vector<std::thread> ended;
    ended.swap(ended_);
    lk.unlock();
    for (std::thread& t : ended) t.join();
}

namespace {
// A worker waits this long for another job before it ends: a steady flow of
// requests reuses threads instead of starting one per request, and an idle
// server keeps none.
constexpr auto kWorkerIdleLife = std::chrono::seconds(30);
}  // namespace

std::shared_ptr<Exchange> Proxy::start(ProxyRequest req) {
    auto ex = std::make_shared<Exchange>();
    std::vector<std::thread> ended;  // joined outside the lock: they have left it
    std::unique_lock<std::mutex> lk(mu_);
    ended.swap(ended_);
    ++running_;
    jobs_.push_back({ex, std::move(req)});
    if (idle_ >= jobs_.size()) {  // an idle worker will take it
        jobs_cv_.notify_one();
    } else {
        auto self = workers_.emplace(workers_.end());
        try {
            // The worker takes mu_ first: `self` is assigned before it looks.
            *self = std::thread([this, self] { worker(self); });
            ++threads_;
        } catch (const std::system_error&) {
            workers_.erase(self);
            jobs_.pop_back();
            --running_;
            cv_.notify_all();
            lk.unlock();
            ex->set_head(error_response(503, "the server is out of threads; try again",
                                        "overloaded", "no thread"));
            std::lock_guard<std::mutex> el(ex->mu_);
            ex->done_ = true;
        }
    }
    if (lk.owns_lock()) lk.unlock();
    for (std::thread& t : ended) t.join();
    return ex;
}

void Proxy::worker(std::list<std::thread>::iterator self) {
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
    ended_.push_back(std::move(*self));
    workers_.erase(self);
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

namespace {

// The usage of an answer in the log's fields, when the answer says.
void note_usage(ProxyResponse& r, wire::Api api, std::string_view answer) {
    if (r.status >= 200 && r.status < 300) r.wire.usage = answer_usage(api, answer);
}

// POST /v1/messages/count_tokens: answered here (wire/tokens).
ProxyResponse count_tokens_answer(const ProxyRequest& req) {
    ProxyResponse r;
    try {
        r.body = wire::count_tokens_answer(wire::count_tokens(req.body));
        r.status = 200;
        r.headers.push_back({"Content-Type", "application/json"});
    } catch (const Error& e) {
        return error_response(400, e.what(), "invalid_request", "bad request", wire::Api::messages);
    }
    return r;
}

// `h` with `name` set to `value` (replacing the one copilot_api_headers set).
void set_header(HeaderList& h, const std::string& name, const std::string& value) {
    for (auto& kv : h)
        if (ascii_iequals(kv.first, name)) {
            kv.second = value;
            return;
        }
    h.push_back({name, value});
}

}  // namespace

std::shared_ptr<const Catalogue> Proxy::catalogue(const TokenStatus& tok, bool refresh) {
    std::lock_guard<std::mutex> lk(catalogue_mu_);
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (!refresh && catalogue_ && catalogue_url_ == tok.api_url &&
        now - catalogue_->fetched_at < kCatalogueLifetimeS)
        return catalogue_;
    if (!refresh)
        if (auto cached = read_catalogue_cache(opts_.host, opts_.profile, tok.api_url, now)) {
            catalogue_ = std::make_shared<const Catalogue>(std::move(*cached));
            catalogue_url_ = tok.api_url;
            return catalogue_;
        }
    HttpRequest r;
    r.method = "GET";
    r.url = tok.api_url + "/models";
    r.headers = copilot_api_headers(tok.token);
    r.headers.push_back({"Accept", "application/json"});
    r.retry = false;
    r.connect_timeout_ms = opts_.connect_timeout_ms;
    r.timeout_ms = 30000;
    r.max_body = opts_.max_answer;
    try {
        HttpResponse up = http_perform(r);
        if (up.status == 200) {
            auto c = std::make_shared<const Catalogue>(catalogue_from_body(up.body, now));
            try {
                write_catalogue_cache(opts_.host, opts_.profile, tok.api_url, *c);
            } catch (const Error&) {
                // Kept in memory all the same: the file only saves a fetch.
            }
            catalogue_ = std::move(c);
            catalogue_url_ = tok.api_url;
        }
    } catch (const Error&) {
        // No catalogue: requests go out on the client's own API.
    }
    return catalogue_url_ == tok.api_url ? catalogue_ : nullptr;
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

void Proxy::run(Exchange& ex, const ProxyRequest& req) {
    if (req.route == Route::count_tokens) {
        ex.set_head(count_tokens_answer(req));
        return;
    }
    TokenStatus tok = keeper_->status();
    if (!tok.ready()) {
        const bool login = tok.state == TokenStatus::State::login_pending;
        ProxyResponse r = error_response(503, tok.problem, login ? "login_required" : "unavailable",
                                         login ? "waiting for login" : "no token", req.api);
        r.headers.push_back({"Retry-After", "5"});
        ex.set_head(std::move(r));
        return;
    }

    // A wire route: which model, which upstream API, translated or not.
    const std::optional<wire::Api> client = wire_api(req.route);
    std::optional<WirePlan> plan;
    WireLog wlog;
    auto make_plan = [&](bool refresh) -> bool {
        std::shared_ptr<const Catalogue> cat = catalogue(tok, refresh);
        try {
            plan = plan_wire_request(*client, req.body, req.facts, cat.get(), opts_.model_map,
                                     req.client_headers);
        } catch (const wire::Untranslatable& e) {
            std::string m = e.what();
            if (m.find(e.field()) == std::string::npos) m = e.field() + ": " + m;
            ex.set_head(error_response(400, m, "untranslatable", "untranslatable " + e.field(),
                                       req.api));
            return false;
        } catch (const ModelNotFound& e) {
            ex.set_head(error_response(404, e.what(), "model_not_found", "model_not_found", req.api));
            return false;
        } catch (const Error& e) {
            if (e.code() != Exit::data) throw;
            ex.set_head(error_response(400, e.what(), "invalid_request", "bad request", req.api));
            return false;
        }
        wlog.api = wire::api_name(plan->client);
        wlog.upstream = wire::api_path(plan->upstream);
        wlog.translated = plan->translated();
        wlog.asked = plan->asked;
        wlog.initiator = req.facts.agent ? "agent" : "user";
        wlog.dropped = plan->dropped;
        wlog.multiplier = premium_multiplier(cat ? cat->find(plan->model) : nullptr);
        return true;
    };
    if (client && !make_plan(false)) return;
    auto finish_head = [&](ProxyResponse r) {
        const auto usage = r.wire.usage;
        r.wire = wlog;
        r.wire.usage = usage;
        if (plan) r.model = plan->model;
        ex.set_head(std::move(r));
    };
    const wire::Api shape = req.api;
    // --budget: a premium model's request once the budget is spent.
    if (client && opts_.usage)
        if (auto why = opts_.usage->refusal(wlog)) {
            finish_head(error_response(429, *why, "budget_exceeded", "budget spent", shape));
            return;
        }
    // The quota headers of the answer (a malformed one is a note for --verbose).
    auto take_quota = [&](const HeaderList& headers) {
        if (!client) return;
        wlog.quota_notes.clear();
        wlog.quota = quota_from_headers(
            headers, [&](const std::string& n) { wlog.quota_notes.push_back(n); });
    };

    const bool stream = req.streams();
    std::shared_ptr<RelayQueue> queue;
    if (stream) {
        queue = std::make_shared<RelayQueue>(opts_.queue_capacity);
        std::lock_guard<std::mutex> lk(ex.mu_);
        ex.queue_ = queue;
        if (ex.cancelled_) queue->cancel();
    }

    bool token_refreshed = false, catalogue_refreshed = false;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        // The stream's head goes out with its first byte that is not blank
        // space: that byte tells an event stream from a server that ignored
        // "stream": true and sent one JSON object. A translated stream's
        // head goes out with the upstream's 2xx event-stream head (so pings
        // can keep a client waiting from the start).
        const bool translate = plan && plan->translated();
        std::unique_ptr<TranslatedStream> ts;
        if (stream && translate) ts = std::make_unique<TranslatedStream>(*plan);
        bool started = false;
        long up_status = 200;  // a stream's status and type, from the upstream's head
        std::string up_type;
        std::string lead;
        // Only whole events go on: the bytes after the last event end wait
        // here, so that a cut stream ends on an event boundary (then its error
        // event) and never with half an event. What waits at a clean end goes on.
        SseBoundary boundary;
        std::string held;
        StreamUsage passed_usage(plan ? plan->client : req.api);  // what those events report
        auto relay_events = [&](std::string_view b) -> bool {
            const size_t whole = boundary.feed(b);
            if (whole == 0) {
                held.append(b.data(), b.size());
                return !queue->cancelled();
            }
            held.append(b.data(), whole);
            passed_usage.scan(held);
            const bool ok = queue->push(held);
            held.assign(b.data() + whole, b.size() - whole);
            return ok;
        };
        auto stream_head = [&](const std::string& type) {
            started = true;
            ProxyResponse head;
            head.status = up_status;
            head.headers.push_back({"Content-Type", type});
            head.headers.push_back({"Cache-Control", "no-cache"});
            head.stream = queue;
            finish_head(std::move(head));
        };
        auto last_out = std::chrono::steady_clock::now();
        auto push_translated = [&]() -> bool {
            std::string out = ts->take();
            if (out.empty()) return !queue->cancelled();
            last_out = std::chrono::steady_clock::now();
            return queue->push(out);
        };

        HttpRequest r;
        const bool get = req.route == Route::models;
        r.method = get ? "GET" : "POST";
        r.url = tok.api_url + (plan ? wire::api_path(plan->upstream) : req.upstream_path);
        r.headers = copilot_api_headers(tok.token);  // the client's Authorization never goes on
        if (plan)
            for (const auto& [name, value] : plan->headers) set_header(r.headers, name, value);
        if (!get) {
            r.headers.push_back({"Content-Type", "application/json"});
            r.body = plan ? plan->body : req.body;
        }
        r.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
        // Upstream answers are relayed, not retried: the client sees the
        // status (and Retry-After) and decides, as with OpenAI itself.
        r.retry = false;
        r.connect_timeout_ms = opts_.connect_timeout_ms;
        r.timeout_ms = 0;  // answers take as long as they take...
        r.silence_timeout_s = opts_.silence_timeout_s;  // ...but a silent upstream is given up on
        r.max_body = opts_.max_answer;
        r.cancelled = [&]() -> bool {
            if (ex.cancelled()) return true;
            // A silent upstream: an Anthropic client gets a ping now and then.
            if (ts && started && !ts->over() &&
                std::chrono::steady_clock::now() - last_out >= opts_.ping_interval) {
                last_out = std::chrono::steady_clock::now();
                if (ts->ping() && !push_translated()) return true;
            }
            return false;
        };
        if (stream) {
            r.on_head = [&](long status, const HeaderList& headers) {
                up_status = status;
                take_quota(headers);
                for (const auto& [name, value] : headers)
                    if (name == "content-type" && value.find_first_of("\r\n") == std::string::npos)
                        up_type = value;
                if (ts && status >= 200 && status < 300 &&
                    up_type.find("text/event-stream") != std::string::npos)
                    stream_head("text/event-stream");
            };
            r.on_body = [&](std::string_view bytes) -> bool {
                if (ts) {
                    if (!started) {  // an error answer, or one JSON object: read whole
                        if (lead.size() + bytes.size() > opts_.max_answer) return false;
                        lead.append(bytes.data(), bytes.size());
                        return !queue->cancelled();
                    }
                    try {
                        ts->feed(bytes);
                    } catch (const Error& e) {
                        ts->fail(std::string("the Copilot API sent a broken stream: ") +
                                 redact(e.what(), tok.token));
                        push_translated();
                        return false;
                    }
                    return push_translated();
                }
                if (!started) {
                    lead.append(bytes.data(), bytes.size());
                    const size_t at = lead.find_first_not_of(" \t\r\n");
                    if (at == std::string::npos && lead.size() < 4096) return !queue->cancelled();
                    const bool json = at != std::string::npos && lead[at] == '{';
                    // The upstream's own type when it gave one (an HTML error
                    // page stays HTML); else what the first byte says.
                    stream_head(!up_type.empty() ? up_type
                                : json           ? "application/json"
                                                 : "text/event-stream");
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
            const std::string cut =
                "the connection to the Copilot API broke in the middle of the answer: " + msg;
            if (started && ts) {
                ts->fail(cut);
                queue->set_usage(ts->usage());
                queue->finish(ts->take(), "upstream cut off");
                return;
            }
            if (started) {
                if (auto u = passed_usage.usage()) queue->set_usage(*u);
                queue->finish(sse_error_event(cut, "", shape), "upstream cut off");
                return;
            }
            const bool timed_out = msg.find("timed out") != std::string::npos;
            if (e.code() == Exit::protocol)  // reached, but the answer was cut off or too large
                finish_head(error_response(502, "the Copilot API sent a broken answer: " + msg,
                                           "bad_upstream_answer", "bad upstream answer", shape));
            else
                finish_head(error_response(timed_out ? 504 : 502,
                                           "cannot reach the Copilot API: " + msg,
                                           "upstream_unreachable", "upstream unreachable", shape));
            if (queue) queue->finish();
            return;
        }
        if (started && ts) {
            std::string note;
            if (queue->cancelled())
                note = "client closed";
            else if (ts->over())  // failed on a broken stream
                note = "bad upstream stream";
            else if (!ts->end())
                note = "upstream cut off";
            push_translated();
            queue->set_usage(ts->usage());
            queue->finish("", note);
            return;
        }
        if (started) {
            if (!held.empty() && !up.aborted_by_callback) {
                passed_usage.scan(held);
                queue->push(held);
            }
            if (auto u = passed_usage.usage()) queue->set_usage(*u);
            queue->finish("", up.aborted_by_callback ? "client closed" : "");
            return;
        }
        if (up.aborted_by_callback) {  // cancelled before the answer began
            finish_head(error_response(503, "the request was cancelled", "cancelled", "cancelled",
                                       shape));
            if (queue) queue->finish();
            return;
        }
        if (stream && up.body.empty()) up.body = lead;
        if ((up.status == 401 || up.status == 403) && !token_refreshed) {
            // The token may have been revoked or expired early: one fresh
            // token and one more try, as the service's own clients do.
            token_refreshed = true;
            if (auto fresh = keeper_->refresh_after_rejection(tok.token)) {
                tok = *fresh;
                continue;
            }
        }
        if (client && !catalogue_refreshed &&
            says_unsupported(up.status, parse_api_error(up.body, tok.token))) {
            // The catalogue may be out of date: fetched again, and the
            // request sent once more when the model now belongs elsewhere.
            catalogue_refreshed = true;
            const wire::Api before = plan->upstream;
            if (!make_plan(true)) {
                if (queue) queue->finish();
                return;
            }
            if (plan->upstream != before) continue;
        }
        take_quota(up.headers);
        ProxyResponse whole = relay_whole(req, up, tok.token, plan ? &*plan : nullptr);
        if (req.route == Route::models && up.status == 200 && req.model_id.empty())
            keep_catalogue(tok, up.body);
        if (plan) note_usage(whole, plan->client, whole.body);
        finish_head(std::move(whole));
        if (queue) queue->finish();
        return;
    }
}

}  // namespace copilot
