#include "net/http_loop.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>
#include <cstdio>

#include "net/curl_loader.h"
#include "net/http_transfer.h"
#include "net/url_policy.h"
#include "util/errors.h"

namespace copilot {

namespace {

constexpr auto kTick = std::chrono::milliseconds(200);
constexpr long kKeptConnections = 256;

struct Job {
    HttpLoop::Id id = 0;
    HttpRequest req;
    HttpLoop::Calls calls;
    Transfer t;
    CURL* h = nullptr;
    curl_slist* headers = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {};
    std::string host;
    long silence_ms = 0;  // checked by the loop: libcurl's progress calls need traffic
    bool was_paused = false;
};

enum class Command { add, resume, stop, call };

}  // namespace

struct HttpLoop::Impl {
    const CurlApi* api = nullptr;
    CURLM* multi = nullptr;
    int epoll_fd = -1;
    int wake_fd = -1;
    std::thread thread;

    mutable std::mutex mu;  // the commands, next_id, count
    std::vector<std::pair<Command, Id>> commands;
    std::vector<std::unique_ptr<Job>> added;  // with their add commands
    std::vector<std::function<void()>> calls;  // run_sync's
    Id next_id = 1;
    size_t count = 0;  // started and not done
    bool stopping = false;
    // Easy handles of finished transfers, reset: a new one per request costs
    // its allocations and the zeroing of libcurl's state (~3 % of a relayed
    // request's CPU). The connections are the multi handle's either way.
    std::vector<CURL*> spare;
    static constexpr size_t kSpare = 64;

    // The loop thread's own.
    // The sockets of libcurl's connections (opened by on_open_socket). One
    // waiting to be read stays in the epoll set when its transfer ends,
    // unwatched, so that the next request on that connection costs no
    // epoll_ctl; if anything comes on it meanwhile (the server closed it),
    // it is taken out, and libcurl finds it dead before reusing it.
    struct Sock {
        uint32_t events = 0;  // as in the set
        bool in_set = false;
        bool watched = false;  // libcurl waits on it
    };
    std::unordered_map<curl_socket_t, Sock> socks;
    std::thread::id loop_id;
    int attached_fd = -1;
    std::function<void()> attached_ready;
    std::function<long()> attached_next;
    std::atomic<bool> kicked{false};
    std::unordered_map<Id, std::unique_ptr<Job>> jobs;
    std::chrono::steady_clock::time_point curl_deadline{};
    bool curl_timer = false;

    void wake() const {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
    }
    void post(Command c, Id id, std::unique_ptr<Job> job = nullptr) {
        {
            std::lock_guard<std::mutex> lk(mu);
            commands.push_back({c, id});
            if (job) added.push_back(std::move(job));
        }
        wake();
    }

    void ensure_started(const CurlApi& api);
    void add(std::unique_ptr<Job> job);
    void run();
    void take_commands();
    void finish(Job& job, CURLcode code);
    void sweep();
    void read_done();
};

namespace {

// Sets `s` to `events` in the epoll set: `in_set` says which call comes
// first, the other one if it fails.
void set_events(int epoll_fd, curl_socket_t s, uint32_t events, bool in_set) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = s;
    if (::epoll_ctl(epoll_fd, in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0)
        ::epoll_ctl(epoll_fd, in_set ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
}

int on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* impl = static_cast<HttpLoop::Impl*>(userp);
    const auto conn = impl->socks.find(s);
    if (what == CURL_POLL_REMOVE) {  // libcurl forgets the socket's pointer with it
        if (conn != impl->socks.end()) {
            HttpLoop::Impl::Sock& k = conn->second;
            k.watched = false;
            // Kept only if it waits for reading: an idle socket is writable.
            if (k.in_set && k.events == EPOLLIN) return 0;
            k.in_set = false;
        }
        ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
        return 0;
    }
    const uint32_t want = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (conn != impl->socks.end()) {
        HttpLoop::Impl::Sock& k = conn->second;
        k.watched = true;
        if (!k.in_set || k.events != want) set_events(impl->epoll_fd, s, want, k.in_set);
        k.in_set = true;
        k.events = want;
        return 0;
    }
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = s;
    // A socket libcurl has not assigned a pointer to is not in the set yet:
    // added at once, not after a MOD that fails (one call per request).
    const bool known = socketp != nullptr;
    if (::epoll_ctl(impl->epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0)
        ::epoll_ctl(impl->epoll_fd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
    if (!known) impl->api->multi_assign(impl->multi, s, impl);
    return 0;
}

curl_socket_t on_open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* a) {
    auto* impl = static_cast<HttpLoop::Impl*>(clientp);
    const curl_socket_t s = ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (s != CURL_SOCKET_BAD && purpose == CURLSOCKTYPE_IPCXN) impl->socks[s] = {};
    return s;
}

int on_close_socket(void* clientp, curl_socket_t s) {
    auto* impl = static_cast<HttpLoop::Impl*>(clientp);
    const auto conn = impl->socks.find(s);
    if (conn != impl->socks.end()) {
        // Out of the set before the number can name another socket (a
        // copy of the descriptor elsewhere would keep it in).
        if (conn->second.in_set) ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
        impl->socks.erase(conn);
    }
    return ::close(s);
}

int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* impl = static_cast<HttpLoop::Impl*>(userp);
    impl->curl_timer = timeout_ms >= 0;
    if (impl->curl_timer)
        impl->curl_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
}

}  // namespace

void HttpLoop::Impl::finish(Job& job, CURLcode code) {
    api->multi_remove_handle(multi, job.h);
    Outcome o = transfer_outcome(*api, job.h, code, job.errbuf, job.t);
    HttpResponse resp;
    std::exception_ptr err;
    try {
        check_transfer(job.t, job.req, job.host);
        if (job.t.stopped_by_callback || job.t.cancelled) {
            job.t.resp.aborted_by_callback = true;
        } else if (o.code != CURLE_OK) {
            throw transfer_error(o.code, job.t, job.host, o.detail);
        } else if (job.calls.on_body && job.t.resp.status >= 200 && job.t.resp.status < 300) {
            job.t.resp.body_streamed = true;
        }
        resp = std::move(job.t.resp);
    } catch (...) {
        err = std::current_exception();
    }
    // Only a handle whose transfer ran its plain course is kept: of a
    // paused or cut one, some state might outlive curl_easy_reset.
    const bool reusable = code == CURLE_OK && !job.t.paused && !job.was_paused;
    if (reusable) api->reset(job.h);  // nothing of this request stays set on it
    if (job.headers) api->slist_free_all(job.headers);
    job.headers = nullptr;
    std::unique_ptr<Job> gone = std::move(jobs[job.id]);
    jobs.erase(gone->id);
    {
        std::lock_guard<std::mutex> lk(mu);
        --count;
        if (reusable && spare.size() < kSpare) spare.push_back(gone->h);
        else api->cleanup(gone->h);
        gone->h = nullptr;
    }
    try {
        if (gone->calls.on_done) gone->calls.on_done(std::move(resp), err);
    } catch (...) {
        // on_done is the caller's: nothing of it may stop the loop.
    }
}

void HttpLoop::Impl::take_commands() {
    std::vector<std::pair<Command, Id>> cmds;
    std::vector<std::unique_ptr<Job>> fresh;
    std::vector<std::function<void()>> fns;
    {
        std::lock_guard<std::mutex> lk(mu);
        cmds.swap(commands);
        fresh.swap(added);
        fns.swap(calls);
    }
    for (auto& job : fresh) add(std::move(job));
    for (auto& f : fns) f();
    for (const auto& [cmd, id] : cmds) {
        auto it = jobs.find(id);
        if (it == jobs.end()) continue;  // done already
        Job& j = *it->second;
        if (cmd == Command::stop) {
            j.t.cancelled = true;
            finish(j, CURLE_ABORTED_BY_CALLBACK);
        } else if (cmd == Command::resume && j.t.paused) {
            j.t.paused = false;
            j.was_paused = true;
            j.t.last_activity = std::chrono::steady_clock::now();
            api->easy_pause(j.h, CURLPAUSE_CONT);  // may hand bytes over (and pause) at once
        }
    }
}

void HttpLoop::Impl::add(std::unique_ptr<Job> job) {
    Job& j = *job;
    jobs[j.id] = std::move(job);
    if (api->multi_add_handle(multi, j.h) != CURLM_OK) finish(j, CURLE_OUT_OF_MEMORY);
}

void HttpLoop::Impl::sweep() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Id> ids;
    ids.reserve(jobs.size());
    for (const auto& kv : jobs) ids.push_back(kv.first);
    for (Id id : ids) {
        auto it = jobs.find(id);
        if (it == jobs.end()) continue;
        Job& j = *it->second;
        // A paused transfer waits for its client, whose idle timeout holds.
        if (!j.t.paused && j.silence_ms > 0 &&
            now - j.t.last_activity > std::chrono::milliseconds(j.silence_ms)) {
            j.t.silence_timed_out = true;
            finish(j, CURLE_OPERATION_TIMEDOUT);
            continue;
        }
        bool stop = false;
        try {
            stop = j.calls.on_tick && j.calls.on_tick();
        } catch (...) {
            j.t.callback_error = std::current_exception();
            stop = true;
        }
        if (stop) {
            j.t.cancelled = true;
            finish(j, CURLE_ABORTED_BY_CALLBACK);
        }
    }
}

void HttpLoop::Impl::read_done() {
    int left = 0;
    while (CURLMsg* m = api->multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Job* job = nullptr;
        api->getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&job));
        if (job) finish(*job, m->data.result);
    }
}

void HttpLoop::Impl::run() {
    auto next_sweep = std::chrono::steady_clock::now() + kTick;
    epoll_event evs[64];
    for (;;) {
        {
            std::lock_guard<std::mutex> lk(mu);
            if (stopping) break;
        }
        auto now = std::chrono::steady_clock::now();
        auto until = next_sweep;
        if (curl_timer) until = std::min(until, curl_deadline);
        std::chrono::steady_clock::time_point attached_due{};
        if (kicked.load()) {
            until = now;
        } else if (attached_next) {
            const long ms = attached_next();
            if (ms >= 0) {
                attached_due = now + std::chrono::milliseconds(ms);
                until = std::min(until, attached_due);
            }
        }
        const int wait = until <= now ? 0
                                      : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                             until - now).count() + 1);
        const int n = ::epoll_wait(epoll_fd, evs, 64, wait);
        int running = 0;
        // The attached set runs after the transfers' events and their ends:
        // a connection resumed by an answer then finds it whole, and a
        // stream that has ended goes out in one write (serve/http_server).
        bool attached_hit = false;
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.fd == wake_fd) {
                uint64_t v;
                [[maybe_unused]] ssize_t r = ::read(wake_fd, &v, sizeof v);
                take_commands();
                continue;
            }
            if (evs[i].data.fd == attached_fd) {
                attached_hit = true;
                continue;
            }
            if (const auto conn = socks.find(evs[i].data.fd); conn != socks.end() && !conn->second.watched) {
                // A kept connection's socket stirred between requests.
                ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, conn->first, nullptr);
                conn->second.in_set = false;
                continue;
            }
            int flags = 0;
            if (evs[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
            api->multi_socket_action(multi, evs[i].data.fd, flags, &running);
        }
        now = std::chrono::steady_clock::now();
        if (curl_timer && now >= curl_deadline) {
            curl_timer = false;
            api->multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        read_done();
        const bool kick = kicked.exchange(false);
        if (attached_hit || kick ||
            (attached_due != std::chrono::steady_clock::time_point{} && now >= attached_due)) {
            if (attached_ready) attached_ready();
        }
        if (now >= next_sweep) {
            sweep();
            next_sweep = now + kTick;
        }
    }
    // Stopping: what still runs ends, each with its on_done.
    take_commands();
    while (!jobs.empty()) {
        Job& j = *jobs.begin()->second;
        j.t.cancelled = true;
        finish(j, CURLE_ABORTED_BY_CALLBACK);
    }
}

HttpLoop::HttpLoop() : impl_(std::make_unique<Impl>()) {}

HttpLoop::~HttpLoop() {
    {
        std::lock_guard<std::mutex> lk(impl_->mu);
        impl_->stopping = true;
    }
    if (impl_->thread.joinable()) {
        impl_->wake();
        impl_->thread.join();
    }
    for (CURL* h : impl_->spare) impl_->api->cleanup(h);
    if (impl_->multi) impl_->api->multi_cleanup(impl_->multi);
    if (impl_->epoll_fd >= 0) ::close(impl_->epoll_fd);
    if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

HttpLoop::Id HttpLoop::start(HttpRequest req, Calls calls) {
    check_url_policy(req.url);  // before anything touches the network
    const CurlApi& api = curl_api();
    impl_->ensure_started(api);
    auto job = std::make_unique<Job>();
    job->req = std::move(req);
    job->calls = std::move(calls);
    job->t.req = &job->req;
    job->host = url_host(job->req.url);
    job->req.on_body = nullptr;
    job->req.cancelled = nullptr;  // the loop stops transfers itself
    Timeouts limits = timeouts_for(job->req);
    job->silence_ms = limits.silence_s * 1000;
    limits.silence_s = 0;  // no progress callback: see Job::silence_ms
    {
        std::lock_guard<std::mutex> lk(impl_->mu);
        if (!impl_->spare.empty()) {
            job->h = impl_->spare.back();
            impl_->spare.pop_back();
        }
    }
    if (!job->h) job->h = api.easy_init();
    if (!job->h) throw Error(Exit::io, "cannot set up the HTTP request: curl_easy_init failed");
    try {
        configure_transfer(api, job->h, &job->headers, job->errbuf, job->req, limits,
                           url_scheme(job->req.url) == "http", job->t);
        if (job->calls.on_body) {
            job->t.take_body = job->calls.on_body;
        }
        api.setopt(job->h, CURLOPT_PRIVATE, job.get());
        curl_opensocket_callback open_cb = on_open_socket;
        curl_closesocket_callback close_cb = on_close_socket;
        api.setopt(job->h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
        api.setopt(job->h, CURLOPT_OPENSOCKETDATA, impl_.get());
        api.setopt(job->h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
        api.setopt(job->h, CURLOPT_CLOSESOCKETDATA, impl_.get());
    } catch (...) {
        api.cleanup(job->h);
        if (job->headers) api.slist_free_all(job->headers);
        throw;
    }
    job->t.silence_ms = job->silence_ms;  // for the timeout's message
    Id id;
    {
        std::lock_guard<std::mutex> lk(impl_->mu);
        id = impl_->next_id++;
        ++impl_->count;
    }
    job->id = id;
    if (in_loop())
        impl_->add(std::move(job));  // no hand-over: the loop itself asks
    else
        impl_->post(Command::add, id, std::move(job));
    return id;
}

void HttpLoop::Impl::ensure_started(const CurlApi& a) {
    std::lock_guard<std::mutex> lk(mu);
    if (thread.joinable()) return;
    api = &a;
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    multi = a.multi_init();
    if (epoll_fd < 0 || wake_fd < 0 || !multi)
        throw Error(Exit::io, std::string("cannot set up the HTTP loop: ") + std::strerror(errno));
    curl_socket_callback sock_cb = on_socket;
    curl_multi_timer_callback timer_cb = on_timer;
    a.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    a.multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    a.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    a.multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    // Connections kept, whatever runs now: libcurl's default, 4 times the
    // transfers running, closed connections whenever the load fell and
    // opened them again when it rose (at 8 clients, 1.5 % of requests
    // paid a connect to the upstream).
    a.multi_setopt(multi, CURLMOPT_MAXCONNECTS, kKeptConnections);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    thread = std::thread([this] {
        { std::lock_guard<std::mutex> started(mu); }  // loop_id is set
        run();
    });
    loop_id = thread.get_id();
}

void HttpLoop::attach(int fd, std::function<void()> ready, std::function<long()> next) {
    impl_->ensure_started(curl_api());
    run_sync([&] {
        impl_->attached_fd = fd;
        impl_->attached_ready = std::move(ready);
        impl_->attached_next = std::move(next);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    });
}

void HttpLoop::run_sync(const std::function<void()>& f) {
    if (in_loop() || !impl_->thread.joinable()) return f();
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr err;
    {
        std::lock_guard<std::mutex> lk(impl_->mu);
        impl_->calls.push_back([&] {
            try {
                f();
            } catch (...) {
                err = std::current_exception();
            }
            std::lock_guard<std::mutex> dl(m);
            done = true;
            cv.notify_all();
        });
    }
    impl_->wake();
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&] { return done; });
    if (err) std::rethrow_exception(err);
}

void HttpLoop::kick() {
    if (impl_->kicked.exchange(true)) return;  // already due
    if (!in_loop()) impl_->wake();
}

void HttpLoop::detach() {
    run_sync([&] {
        if (impl_->attached_fd >= 0) ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_DEL, impl_->attached_fd, nullptr);
        impl_->attached_fd = -1;
        impl_->attached_ready = nullptr;
        impl_->attached_next = nullptr;
    });
}

bool HttpLoop::in_loop() const {
    return impl_->thread.joinable() && std::this_thread::get_id() == impl_->loop_id;
}

void HttpLoop::resume(Id id) { impl_->post(Command::resume, id); }

void HttpLoop::stop(Id id) { impl_->post(Command::stop, id); }

size_t HttpLoop::running() const {
    std::lock_guard<std::mutex> lk(impl_->mu);
    return impl_->count;
}

}  // namespace copilot
