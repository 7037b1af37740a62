// The libmicrohttpd side of copilot-serve: accepting connections, reading
// bodies, carrying out what serve/admission decides, and turning a Proxy
// exchange into an HTTP answer. Kept apart so that only copilot-serve links
// libmicrohttpd (a unit test of the proxy logic never pulls this file in).
//
// Threading (ARCHITECTURE.md, "Relay threading"): libmicrohttpd's epoll set
// is polled by the relay's loop, so these callbacks run on that one thread,
// and nothing here blocks. A connection
// that waits for its upstream (the head in the access handler, a stream's
// next bytes in the content reader) is parked (serve/parking) and resumed
// by the exchange, which runs on the relay's loop (Proxy::start) and hands
// a stream's bytes over through a bounded RelayQueue.
#include "serve/http_server.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdarg>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "net/ascii.h"
#include "net/sse.h"  // SseBoundary
#include "serve/head_deadline.h"
#include "serve/mhd_connection.h"
#include "serve/parking.h"
#include "serve/stream_response.h"

namespace copilot {

namespace {

// Per connection: the request head and the I/O buffers. 32 KiB (nginx takes
// 4 x 8 KiB for a head) is what a slow stream keeps resident; a pool of 64 KiB
// had half of it touched (bench/serve/README.md, 1,000 slow streams).
constexpr size_t kConnectionMemory = 32 * 1024;

struct RequestCtx {
    std::chrono::steady_clock::time_point start;
    RequestLog log;
    RouteMatch route;
    std::string body;
    bool too_large = false;
    bool answered = false;
    HeaderList cors;  // an allowed Origin's headers, on every answer
    bool dispatched = false;  // the exchange started: later calls wait for its head
    std::shared_ptr<Parked> parked;
    std::shared_ptr<Exchange> exchange;
    std::shared_ptr<RelayQueue> stream;
};

}  // namespace

struct HttpServer::Impl {
    ServeOptions opts;
    std::shared_ptr<TokenKeeper> keeper;
    std::shared_ptr<Proxy> proxy;
    MHD_Daemon* daemon = nullptr;
    std::atomic<bool> draining{false};
    std::atomic<bool> stopping{false};

    std::mutex mu;
    std::condition_variable cv;
    uint64_t in_flight = 0;

    std::mutex start_mu;
    bool starting = false;
    std::string start_message;  // libmicrohttpd's last word while starting

    // The header deadline (ServeOptions::header_timeout_s).
    HeadDeadlines heads{[this](const std::string& m) { log(LogKind::note, m); }};
    Parking parking;  // connections waiting for their upstream

    uint64_t streams_open = 0;  // under mu
    std::atomic<unsigned> connections{0};  // open (--max-connections)
    int unix_fd = -1;           // the listening Unix socket, until the daemon has it
    dev_t unix_dev = 0;
    ino_t unix_ino = 0;

    void log(LogKind kind, const std::string& m) const {
        if (opts.log) opts.log(kind, m);
    }

    void request_started() {
        std::lock_guard<std::mutex> lk(mu);
        ++in_flight;
    }
    void request_finished() {
        std::lock_guard<std::mutex> lk(mu);
        --in_flight;
        cv.notify_all();
    }

    void mhd_message(const std::string& m) {
        {
            std::lock_guard<std::mutex> lk(start_mu);
            if (starting) {
                start_message = m;
                return;
            }
        }
        // Mostly clients that went away mid-answer: details, not warnings.
        log(LogKind::note, "libmicrohttpd: " + m);
    }
};

namespace {

using Impl = HttpServer::Impl;

MHD_Result answer(MHD_Connection* c, RequestCtx* ctx, long status, const std::string& body,
                  const HeaderList& headers) {
    ctx->answered = true;
    ctx->log.status = status;
    ctx->log.bytes = body.size();
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                      MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    for (const auto& [name, value] : headers)
        MHD_add_response_header(r, name.c_str(), value.c_str());
    for (const auto& [name, value] : ctx->cors)
        MHD_add_response_header(r, name.c_str(), value.c_str());
    const MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(status), r);
    MHD_destroy_response(r);
    return ret;
}

// A refusal decided by serve/admission, carried out.
MHD_Result refuse(MHD_Connection* c, RequestCtx* ctx, const Refusal& r) {
    HeaderList headers = r.headers;
    headers.insert(headers.begin(), {"Content-Type", "application/json"});
    if (ctx->log.note.empty()) ctx->log.note = r.code;
    return answer(c, ctx, r.status, r.body(ctx->route.api), headers);
}

// The client's headers that go on upstream (a Messages passthrough's
// anthropic-version and anthropic-beta; serve/wire_route filters them).
HeaderList forwarded_client_headers(MHD_Connection* c) {
    HeaderList h;
    for (const char* name : kForwardedClientHeaders)
        if (const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name))
            h.push_back({name, v});
    return h;
}

// What the exchange says about its wire route, for the log line.
void take_wire_log(RequestCtx* ctx, ProxyResponse& r) {
    ctx->log.wire = std::move(r.wire);
    if (!ctx->log.wire.asked.empty()) ctx->log.model = r.model;
}

// Starts the exchange; its answer is queued once its head (the upstream's
// status) is in.
MHD_Result await_head(Impl* impl, MHD_Connection* c, RequestCtx* ctx);

MHD_Result dispatch(Impl* impl, MHD_Connection* c, RequestCtx* ctx, const InspectedBody& facts) {
    if (ctx->route.route == Route::healthz) {
        const std::string body = health_json(impl->keeper->status(), impl->opts.host,
                                             static_cast<int64_t>(std::time(nullptr)),
                                             [&] {
                                                 std::lock_guard<std::mutex> lk(impl->mu);
                                                 return impl->in_flight;
                                             }(),
                                             impl->proxy->running());
        return answer(c, ctx, 200,
                      json_with_member(body, "quota",
                                       impl->opts.usage ? impl->opts.usage->quota_json() : "null"),
                      {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}});
    }
    if (ctx->route.route == Route::usage)
        return answer(c, ctx, 200, impl->opts.usage ? impl->opts.usage->usage_json() : "{}",
                      {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}});

    ProxyRequest pr;
    pr.route = ctx->route.route;
    pr.api = ctx->route.api;
    pr.upstream_path = ctx->route.upstream_path;
    pr.model_id = ctx->route.model_id;
    pr.facts = facts.facts;
    pr.client_headers = forwarded_client_headers(c);
    ctx->log.model = pr.model_id;  // GET /models/{id}: the model asked about
    if (pr.route != Route::models) {
        ctx->log.model = pr.facts.model;
        ctx->log.stream = pr.streams();
        pr.body = std::move(ctx->body);
    }
    ctx->body = std::string();
    const MHD_ConnectionInfo* sock = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!sock || !sock->socket_context) return refuse(c, ctx, refuse_internal_error("no connection state"));
    ctx->parked = *static_cast<std::shared_ptr<Parked>*>(sock->socket_context);
    ctx->dispatched = true;
    std::shared_ptr<Parked> parked = ctx->parked;
    ctx->exchange = impl->proxy->start(std::move(pr),
                                       [impl, parked] { impl->parking.wake(*parked); });
    parked->exchange = ctx->exchange;
    return await_head(impl, c, ctx);
}

// The exchange's head, once it is there: the answer, or a stream's start.
// Until then the connection is parked, and this is called again on wake.
MHD_Result await_head(Impl* impl, MHD_Connection* c, RequestCtx* ctx) {
    const std::shared_ptr<Exchange>& ex = ctx->exchange;
    const std::shared_ptr<Parked>& parked = ctx->parked;
    for (;;) {
        if (ex->wait_head(std::chrono::milliseconds(0))) break;
        if (impl->stopping.load()) {
            ex->cancel();
            return refuse(c, ctx, refuse_shutting_down());
        }
        if (parked->peer_left) {  // nobody to answer: the upstream is let go, the connection closed
            ex->cancel();
            return MHD_NO;
        }
        if (impl->parking.park(*parked, [&] { return ex->wait_head(std::chrono::milliseconds(0)); },
                               false))
            return MHD_YES;
    }
    ProxyResponse head = ex->take_head();
    if (head.note == "cancelled") {  // an answer that came in time is still given
        if (impl->stopping.load()) return refuse(c, ctx, refuse_shutting_down());
        if (parked->peer_left) return MHD_NO;  // nobody to answer
    }
    if (ctx->log.note.empty()) ctx->log.note = head.note;
    take_wire_log(ctx, head);
    if (!head.stream) return answer(c, ctx, head.status, head.body, head.headers);

    bool sse = false;
    for (const auto& [name, value] : head.headers)
        if (ascii_iequals(name, "Content-Type"))
            sse = ascii_iequals(value.substr(0, value.find(';')), "text/event-stream");
    // Proxies in front of us must not buffer an event stream either.
    HeaderList headers = std::move(head.headers);
    headers.push_back({"X-Accel-Buffering", "no"});
    // A stream that came whole before its head went out is sent in one
    // write, as nginx would: libmicrohttpd sends a callback's head alone,
    // then each chunk, then the last one (three sends, three wake-ups).
    if (std::optional<std::string> whole = head.stream->take_whole()) {
        ctx->stream = head.stream;
        return answer(c, ctx, head.status, *whole, headers);
    }
    {
        std::lock_guard<std::mutex> lk(impl->mu);
        ++impl->streams_open;
    }
    MHD_Response* r = stream_response(head.stream, parked, sse, ctx->route.api,
                                      {&impl->stopping, &impl->parking, [impl] {
                                           std::lock_guard<std::mutex> lk(impl->mu);
                                           --impl->streams_open;
                                           impl->cv.notify_all();
                                       }});
    if (!r) return MHD_NO;
    ctx->answered = true;
    ctx->stream = head.stream;
    ctx->log.status = head.status;
    for (const auto& [name, value] : headers)
        MHD_add_response_header(r, name.c_str(), value.c_str());
    for (const auto& [name, value] : ctx->cors)
        MHD_add_response_header(r, name.c_str(), value.c_str());
    const MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(head.status), r);
    MHD_destroy_response(r);
    return ret;
}

MHD_Result on_access(void* cls, MHD_Connection* c, const char* url, const char* method,
                     const char* /*version*/, const char* upload, size_t* upload_size,
                     void** con_cls) {
    auto* impl = static_cast<Impl*>(cls);
    auto* ctx = static_cast<RequestCtx*>(*con_cls);
    if (!ctx) {
        // The headers are in. Whatever can be refused without the body is
        // refused now, before the body is read.
        ctx = new RequestCtx;
        *con_cls = ctx;
        ctx->start = std::chrono::steady_clock::now();
        ctx->log.method = method;
        const std::string path = percent_decoded(url);
        ctx->log.path = path;
        ctx->log.client = client_ip(c);
        impl->request_started();
        impl->heads.head_in(c);
        RequestHead head;
        head.method = method;
        head.path = path;
        head.peer = ctx->log.client;
        auto header = [c](const char* name) -> std::optional<std::string> {
            if (const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name)) return v;
            return std::nullopt;
        };
        head.authorization = header(MHD_HTTP_HEADER_AUTHORIZATION);
        head.x_api_key = header("x-api-key");  // Anthropic clients' key
        head.content_length = header(MHD_HTTP_HEADER_CONTENT_LENGTH);
        head.host = header(MHD_HTTP_HEADER_HOST);
        head.origin = header(MHD_HTTP_HEADER_ORIGIN);
        head.content_type = header(MHD_HTTP_HEADER_CONTENT_TYPE);
        head.request_headers = header("Access-Control-Request-Headers");
        Admission a = admit_head(impl->opts.admission, head, impl->draining.load());
        ctx->route = a.route;
        ctx->cors = a.cors;
        if (a.preflight) return answer(c, ctx, 204, "", {});
        if (a.refusal) return refuse(c, ctx, *a.refusal);
        return MHD_YES;
    }
    if (ctx->answered) {  // answered early: the rest of the body is dropped
        *upload_size = 0;
        return MHD_YES;
    }
    if (ctx->dispatched) {  // woken: the head may be in
        try {
            return await_head(impl, c, ctx);
        } catch (const std::exception& e) {
            ctx->exchange->cancel();
            return refuse(c, ctx, refuse_internal_error(e.what()));
        }
    }
    if (*upload_size > 0) {
        // A chunked body has no Content-Length: the cap is enforced here, the
        // excess is read and dropped, and 413 comes at the end.
        if (!ctx->too_large && ctx->body.size() + *upload_size <= impl->opts.admission.max_body)
            ctx->body.append(upload, *upload_size);
        else {
            ctx->too_large = true;
            ctx->body = std::string();
        }
        *upload_size = 0;
        return MHD_YES;
    }
    try {
        InspectedBody facts;
        if (auto r = admit_body(impl->opts.admission, ctx->route, ctx->too_large, ctx->body,
                                &facts))
            return refuse(c, ctx, *r);
        return dispatch(impl, c, ctx, facts);
    } catch (const std::exception& e) {
        return refuse(c, ctx, refuse_internal_error(e.what()));
    }
}

void on_connection(void* cls, MHD_Connection* c, void** socket_context,
                   MHD_ConnectionNotificationCode code) {
    auto* impl = static_cast<Impl*>(cls);
    if (code != MHD_CONNECTION_NOTIFY_STARTED) {
        impl->heads.closed(c);
        --impl->connections;
        if (auto* parked = static_cast<std::shared_ptr<Parked>*>(*socket_context)) {
            impl->parking.leave(*parked);
            delete parked;
            *socket_context = nullptr;
        }
        return;
    }
    *socket_context = new std::shared_ptr<Parked>(impl->parking.enter(c, connection_fd(c)));
    // --max-connections is counted here, not by libmicrohttpd: at its own
    // limit its epoll loop stops accepting, and a client would wait unseen
    // in the listen queue instead of being told at once.
    if (++impl->connections > impl->opts.max_connections) {
        const int fd = connection_fd(c);
        if (fd >= 0) ::shutdown(fd, SHUT_RDWR);  // it then closes, unanswered
        const std::string who = client_ip(c);
        impl->log(LogKind::note, "closing a connection from " +
                                     (who.empty() ? std::string("a Unix socket") : who) +
                                     ": --max-connections (" +
                                     std::to_string(impl->opts.max_connections) + ") reached");
        impl->heads.opened(c, -1, who, std::chrono::seconds(0));
        return;
    }
    impl->heads.opened(c, connection_fd(c), client_ip(c),
                       std::chrono::seconds(impl->opts.header_timeout_s));
}

void on_completed(void* cls, MHD_Connection* c, void** con_cls,
                  MHD_RequestTerminationCode toe) {
    auto* impl = static_cast<Impl*>(cls);
    // The next request head on a kept-alive connection: the client may
    // wait up to the idle timeout to begin it, then has the header timeout.
    impl->heads.expect_head(c, std::chrono::seconds(impl->opts.idle_timeout_s + impl->opts.header_timeout_s));
    auto* ctx = static_cast<RequestCtx*>(*con_cls);
    if (!ctx) return;
    *con_cls = nullptr;
    if (ctx->stream) {
        ctx->log.bytes = ctx->stream->bytes_out();
        if (auto u = ctx->stream->usage()) ctx->log.wire.usage = u;
        const std::string note = ctx->stream->note();
        if (!note.empty()) ctx->log.note = note;
    }
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        if (ctx->exchange) ctx->exchange->cancel();
        const char* why = "client closed";
        if (impl->stopping.load() || toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
            why = "server stopped";
        else if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
            why = "idle timeout";
        if (ctx->log.note.empty() || ctx->log.note == "client closed" || ctx->stream)
            ctx->log.note = why;
        if (ctx->log.status == 0) ctx->log.status = 499;  // nginx's "client closed request"
    }
    ctx->log.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            ctx->start)
                      .count();
    try {
        if (impl->opts.usage)
            impl->opts.usage->finish(
                ctx->log,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count(),
                [impl](LogKind k, const std::string& m) { impl->log(k, m); });
        impl->log(LogKind::request, format_request_log(ctx->log));
    } catch (...) {
    }
    delete ctx;
    impl->request_finished();
}

__attribute__((format(printf, 2, 0))) void on_mhd_log(void* cls, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string m(buf);
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.pop_back();
    try {
        static_cast<Impl*>(cls)->mhd_message(m);
    } catch (...) {
    }
}

}  // namespace

HttpServer::HttpServer(ServeOptions opts, std::shared_ptr<TokenKeeper> keeper,
                       std::shared_ptr<Proxy> proxy)
    : impl_(std::make_unique<Impl>()) {
    impl_->opts = std::move(opts);
    // Where we listen says which Hosts are ours (serve/admission).
    impl_->opts.admission.unix_socket = !impl_->opts.listen.unix_path.empty();
    impl_->opts.admission.any_ip_host = !impl_->opts.listen.loopback;
    impl_->keeper = std::move(keeper);
    impl_->proxy = std::move(proxy);
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::start() {
    const ListenAddress& l = impl_->opts.listen;
    if (!l.unix_path.empty())
        impl_->unix_fd = listen_unix(l.unix_path, &impl_->unix_dev, &impl_->unix_ino);
    sockaddr_storage ss{};
    if (l.ipv6) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(static_cast<uint16_t>(l.port));
        ::inet_pton(AF_INET6, l.ip.c_str(), &in6.sin6_addr);
        std::memcpy(&ss, &in6, sizeof in6);
    } else {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(static_cast<uint16_t>(l.port));
        ::inet_pton(AF_INET, l.ip.c_str(), &in.sin_addr);
        std::memcpy(&ss, &in, sizeof in);
    }
    // libmicrohttpd's epoll set is polled by the relay's loop: one thread
    // for every connection and every upstream transfer; a connection
    // waiting for its upstream is suspended (serve/parking).
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (l.ipv6 && l.unix_path.empty()) flags |= MHD_USE_IPv6;
    {
        std::lock_guard<std::mutex> lk(impl_->start_mu);
        impl_->starting = true;
        impl_->start_message.clear();
    }
    // Either the Unix socket made above or the address to bind.
    const bool on_unix = impl_->unix_fd >= 0;
    MHD_OptionItem where[] = {
        on_unix ? MHD_OptionItem{MHD_OPTION_LISTEN_SOCKET, impl_->unix_fd, nullptr}
                : MHD_OptionItem{MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_END, 0, nullptr}};
    impl_->daemon = MHD_start_daemon(
        flags, static_cast<uint16_t>(l.port), nullptr, nullptr, &on_access, impl_.get(),
        MHD_OPTION_ARRAY, where,
        // Room past --max-connections for those closed at once (on_connection).
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(impl_->opts.max_connections + 64),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        static_cast<unsigned int>(impl_->opts.max_connections_per_client),
        MHD_OPTION_NOTIFY_CONNECTION, &on_connection, impl_.get(),
        MHD_OPTION_UNESCAPE_CALLBACK, &keep_escaped, nullptr,
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(impl_->opts.idle_timeout_s),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory,
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, impl_.get(),
        MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, impl_.get(),
        MHD_OPTION_END);
    std::string why;
    {
        std::lock_guard<std::mutex> lk(impl_->start_mu);
        impl_->starting = false;
        why = impl_->start_message;
    }
    if (!impl_->daemon) {
        if (on_unix) {
            ::close(impl_->unix_fd);
            impl_->unix_fd = -1;
            ::unlink(l.unix_path.c_str());
        }
        throw Error(Exit::unavailable, "cannot listen on " +
                                           (on_unix ? listen_url(l, 0)
                                                    : l.host + ":" + std::to_string(l.port)) +
                                           (why.empty() ? std::string() : ": " + why));
    }
    impl_->unix_fd = -1;  // the daemon's now
    impl_->heads.start();
    HttpLoop& loop = impl_->proxy->loop();
    impl_->parking.start([&loop] { loop.kick(); });
    const MHD_DaemonInfo* ep = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    MHD_Daemon* d = impl_->daemon;
    std::function<void()> turn_end = impl_->opts.log_turn_end;
    loop.attach(
        ep ? ep->epoll_fd : -1,
        [d, turn_end] {
            MHD_run(d);
            if (turn_end) turn_end();
        },
        [d]() -> long {
            MHD_UNSIGNED_LONG_LONG ms = 0;
            if (MHD_get_timeout(d, &ms) != MHD_YES) return -1;
            return ms > 60000 ? 60000 : static_cast<long>(ms);
        });
    if (on_unix) return 0;
    const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info && info->port ? info->port : l.port;
}

void HttpServer::quiesce() {
    impl_->draining = true;
    if (!impl_->daemon) return;
    impl_->proxy->loop().run_sync([this] {  // libmicrohttpd is the loop's
        const MHD_socket fd = MHD_quiesce_daemon(impl_->daemon);
        if (fd != MHD_INVALID_SOCKET) ::close(fd);
    });
}

uint64_t HttpServer::in_flight() const {
    std::lock_guard<std::mutex> lk(impl_->mu);
    return impl_->in_flight;
}

bool HttpServer::wait_idle(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(impl_->mu);
    return impl_->cv.wait_for(lk, wait, [this] { return impl_->in_flight == 0; });
}

void HttpServer::stop() {
    impl_->draining = true;
    impl_->stopping = true;
    if (impl_->daemon) {
        // Every parked connection is woken: one waiting for its head gets
        // 503, an open stream ends itself with its error event (read_stream)
        // while its connection still works; one in the middle of an event
        // waits for its end, and is woken now and then to look at the clock.
        impl_->parking.stopping();
        const auto until = std::chrono::steady_clock::now() + kStopEventWait +
                           std::chrono::milliseconds(400);
        std::unique_lock<std::mutex> lk(impl_->mu);
        while ((impl_->streams_open > 0 || impl_->parking.parked() > 0) &&
               std::chrono::steady_clock::now() < until) {
            impl_->cv.wait_for(lk, std::chrono::milliseconds(50));
            lk.unlock();
            impl_->parking.wake_all();
            lk.lock();
        }
        lk.unlock();
        // libmicrohttpd must not be stopped with a connection suspended.
        for (int i = 0; i < 100 && impl_->parking.parked() > 0; ++i) {
            impl_->parking.wake_all();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        impl_->proxy->loop().detach();
        impl_->proxy->loop().run_sync([this] { MHD_stop_daemon(impl_->daemon); });
        impl_->daemon = nullptr;
        const std::string& path = impl_->opts.listen.unix_path;
        struct stat st {};
        if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && st.st_dev == impl_->unix_dev &&
            st.st_ino == impl_->unix_ino)
            ::unlink(path.c_str());
    }
    impl_->parking.stop();
    impl_->heads.stop();
}

}  // namespace copilot
