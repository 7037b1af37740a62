// copilot-serve's proxy: a local OpenAI-compatible endpoint that injects a
// fresh Copilot token and relays the answers, streams included, unchanged.
//
// The pieces, each testable on its own:
//   - the listen address and size parsing,
//   - routing (with and without the /v1 prefix) and client authentication,
//   - the bodies the proxy writes itself (OpenAI-style errors, the model
//     list in OpenAI's shape, /healthz, the SSE error event),
//   - the request log line,
//   - TokenKeeper: the Copilot token kept in memory and refreshed on the
//     service's schedule, on a rejected token, and through the device flow
//     when nobody is logged in,
//   - RelayQueue and Proxy: one upstream exchange per request, its body
//     handed over through a bounded queue,
//   - HttpServer (serve_http.cc): the libmicrohttpd glue.
//
// Nothing here prints: what people should see goes to a ServeLog callback.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "auth/copilot_token.h"
#include "auth/device_flow.h"
#include "util/errors.h"
#include "net/endpoints.h"
#include "net/http.h"

namespace copilot {

// --- configuration ---------------------------------------------------------------

constexpr const char* kDefaultListen = "127.0.0.1:4141";
constexpr size_t kDefaultMaxBody = 16u << 20;  // request bodies; 413 past it

// --listen ADDR:PORT: an IPv4 literal, [IPv6 literal] or "localhost" (which
// means 127.0.0.1), a colon, and a port 0-65535 (0: the kernel picks one).
struct ListenAddress {
    std::string host;  // as it goes in a URL: "127.0.0.1", "[::1]"
    std::string ip;    // the literal without brackets
    bool ipv6 = false;
    int port = 0;
    bool loopback = false;
};
// Error(usage) naming the text when it is not such an address.
ListenAddress parse_listen(const std::string& text);
// "http://HOST:PORT", for the "listening on" line.
std::string listen_url(const ListenAddress& a, int port);
// Whether a client address (IPv4 or IPv6, v4-mapped included) is loopback.
bool is_loopback_ip(const std::string& ip);

// "16M", "512K", "1048576": a byte count with an optional K/M/G suffix
// (powers of 1024). Error(usage) naming `flag` otherwise.
size_t parse_size(const std::string& text, const std::string& flag);

// --- routes ---------------------------------------------------------------------

enum class Route { chat, models, embeddings, healthz, not_found, wrong_method };

struct RouteMatch {
    Route route = Route::not_found;
    std::string upstream_path;  // "/chat/completions", "/models", "/embeddings"
    std::string allow;          // wrong_method: the method that is allowed
    std::string model_id;       // models: the {id} of /models/{id}; "" for the list
};

// POST /chat/completions, GET /models, GET /models/{id}, POST /embeddings,
// GET /healthz, each also under /v1. HEAD goes where GET goes. `path` has no
// query string. The {id} is everything after "/models/", slashes included
// (ids such as "ft:gpt-4o:org:x" or "org/model"); "/models/" with no id is
// not a route. Copilot has no such upstream route: /models/{id} fetches the
// upstream /models (upstream_path) and answers the one entry.
RouteMatch match_route(std::string_view method, std::string_view path);

// --- client authentication ------------------------------------------------------

// Compares in time that depends on the length of `expected` only, so that
// a client cannot find the key byte by byte from response times.
bool constant_time_equals(std::string_view given, std::string_view expected);
// The credentials of "Bearer <key>" (scheme case-insensitive), or nullopt.
std::optional<std::string> bearer_credentials(std::string_view authorization);
// The key in an --api-key-file: the first line, trimmed. Error(data) when
// empty or not printable ASCII, Error(io)/(no_auth) when unreadable/missing.
// `warning` gets a message when the file is readable by group or others.
std::string read_api_key_file(const std::string& path, std::string* warning);

// --- bodies ---------------------------------------------------------------------

// {"error":{"message":M,"type":T,"param":null,"code":C}} (code null when empty).
std::string openai_error(std::string_view message, std::string_view type,
                         std::string_view code = "");
// OpenAI's error type for an HTTP status: invalid_request_error,
// authentication_error, permission_error, not_found_error, rate_limit_error,
// server_error.
const char* error_type_for_status(long status);

// What the proxy needs from a request body: the model (for the log) and
// whether a stream is asked for. `json_object` is false when the body is not
// a JSON object.
struct RequestFacts {
    bool json_object = false;
    std::string model;
    bool stream = false;
};
RequestFacts inspect_request_body(std::string_view body);

// Copilot's model list in OpenAI's shape: {"object":"list","data":[...]}
// where every entry keeps its fields and gains "object":"model",
// "created" and "owned_by" when it lacks them. A bare array is accepted.
// Error(protocol) when it is not a list.
std::string openai_models(std::string_view copilot_body);
// GET /models/{id}: the first entry of that list whose "id" is `id`, in the
// same per-entry shape, or nullopt when there is none. Error(protocol) as
// openai_models.
std::optional<std::string> openai_model(std::string_view copilot_body, std::string_view id);
// The 404 body for a model that is not in the list: OpenAI's code
// "model_not_found", the id shortened and cleared as the log clears client text.
std::string model_not_found_body(std::string_view id);

// The body to send a client for an upstream error answer: the upstream's own
// JSON when it already has an "error" object, else an OpenAI-style error
// built from whatever it sent. `secret` is masked in either case.
std::string upstream_error_body(long status, std::string_view body, const std::string& secret);

// The event that ends a stream whose upstream failed mid-way:
// "data: {"error":{...}}\n\n", preceded by a blank line when `tail` (the
// last bytes relayed) does not already end an event.
std::string sse_error_event(std::string_view message, std::string_view tail);

// --- the request log ------------------------------------------------------------

struct RequestLog {
    std::string client;  // peer address
    std::string method;
    std::string path;    // without the query string
    std::string model;   // "" when there is none
    long status = 0;
    uint64_t bytes = 0;  // body bytes sent to the client
    double ms = 0;       // from the request's first byte to the end of the answer
    bool stream = false;
    std::string note;    // "client closed", "upstream cut off", ...
};
// One line: `127.0.0.1 POST /v1/chat/completions model=gpt-4.1 stream
// status=200 bytes=1834 ms=12.3 note="client closed"`. Fields that come
// from the client are bounded and stripped of control characters and
// quotes; the line never holds a header, a body or a token.
std::string format_request_log(const RequestLog& r);

// --- log callback ---------------------------------------------------------------

enum class LogKind {
    request,  // the per-request line
    notice,   // what people must see: the listening address, the device code
    note,     // details for --verbose: token refreshes
    warning,  // something went wrong but the server goes on
};
using ServeLog = std::function<void(LogKind, const std::string&)>;

// --- the Copilot token ------------------------------------------------------------

struct TokenStatus {
    enum class State { starting, ready, login_pending, unavailable };
    State state = State::starting;
    std::string token;    // secret; set when state == ready
    std::string api_url;  // where requests go, without a trailing slash
    int64_t expires_at = 0, fetched_at = 0, refresh_at = 0;
    std::string user_code, verification_uri;  // login_pending
    std::string problem;  // why requests cannot be served (or the last refresh error)
    bool ready() const { return state == State::ready; }
};

struct TokenKeeperOptions {
    std::string host = "github.com";
    std::string profile;
    std::optional<std::string> auth_file;  // --auth FILE ("-": auth_text)
    std::optional<std::string> auth_text;  // --auth -: the document read from stdin at start
    std::optional<std::string> api_url;    // --api-url
    int64_t min_ttl = 300;                 // a token is refreshed before it has less left
    bool device_login = true;              // start the device flow when nobody is logged in
    std::string client_id = kDefaultClientId;
    std::string scope = kDefaultScope;
    ServeLog log;

    // Injectable for tests. fetch(force) returns a Copilot token (default:
    // get_copilot_token with the cache and the stored GitHub login);
    // login(cancelled, on_code) runs a device flow to its end and stores the
    // login (default: the real flow against GitHub).
    std::function<CopilotToken(bool force)> fetch;
    std::function<void(const std::function<bool()>& cancelled,
                       const std::function<void(const PendingLogin&)>& on_code)>
        login;
};

// Keeps the Copilot token in memory. A background thread refreshes it at
// refresh_due_at (refresh_in - 60 s, or min_ttl before expiry), retries
// failures with backoff while the old token is still served, and runs the
// device flow when no GitHub login is found.
class TokenKeeper {
public:
    explicit TokenKeeper(TokenKeeperOptions opts);
    ~TokenKeeper();  // stop() and join
    TokenKeeper(const TokenKeeper&) = delete;
    TokenKeeper& operator=(const TokenKeeper&) = delete;

    // The first token, fetched in the caller's thread. Throws what the fetch
    // throws when it cannot get better by waiting (permission, data, usage,
    // io; no_auth without device_login); temporary failures and a missing
    // login are left to the background thread.
    void prime();
    // The background thread (after prime(), which it calls if need be).
    void start();
    void stop();

    TokenStatus status() const;

    // After the upstream rejected `rejected` (401/403): one forced refresh,
    // shared by every request that saw the same token rejected. Returns the
    // token to retry with, or nullopt when none could be had.
    std::optional<TokenStatus> refresh_after_rejection(const std::string& rejected);

    // How many tokens have been fetched (for tests and /healthz).
    uint64_t fetches() const { return fetches_.load(); }

private:
    void run();
    void fetch_and_set(bool force);
    void set_token(const CopilotToken& t);
    void run_login();
    void log(LogKind kind, const std::string& message) const;

    TokenKeeperOptions opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    TokenStatus status_;
    int failures_ = 0;
    int64_t retry_at_ = 0;  // unix s: the next try after a failure
    int64_t forced_failed_at_ = 0;  // unix s: the last failed refresh_after_rejection
    bool need_login_ = false;
    bool stopping_ = false;
    bool primed_ = false;
    std::atomic<uint64_t> fetches_{0};
    std::mutex fetch_mu_;  // one exchange at a time
    std::thread thread_;
};

// The Copilot API base for a token: --api-url > COPILOT_API_URL > the
// token's api_url when trusted > the default for the host.
std::string serve_api_url(const std::optional<std::string>& flag, const CopilotToken& t);

// GET /healthz: {"status":"ok"|"starting"|"waiting_for_login"|"unavailable",
// "host", "logged_in", "token_expires_at", "token_expires_in",
// "token_refresh_at", "api_url", "requests_in_flight",
// "upstream_requests_in_flight", ...}. No secrets. The last counts the
// exchanges with the Copilot API not yet finished: one whose client left
// or that the shutdown cancelled is finished within a second or so.
std::string health_json(const TokenStatus& s, const std::string& host, int64_t now,
                        uint64_t in_flight, uint64_t upstream_in_flight);

// --- the relay --------------------------------------------------------------------

// The bytes of one streamed answer on their way from the upstream thread to
// the client's connection. Bounded: the producer waits while `capacity`
// bytes are queued, so a slow client slows the upstream instead of growing
// memory. Cancelling (the client left) wakes the producer, whose push then
// returns false, which stops the upstream transfer.
class RelayQueue {
public:
    explicit RelayQueue(size_t capacity = 64 * 1024) : capacity_(capacity) {}

    // Producer. False once cancelled (the bytes are dropped).
    bool push(std::string_view bytes);
    // Producer: no more bytes; `tail` (e.g. an SSE error event) comes last.
    void finish(std::string tail = "", std::string note = "");

    enum class Pull { data, timeout, end, cancelled };
    // Consumer: copies up to `max` bytes into `buf` (*n) when there are any;
    // waits up to `wait` for them.
    Pull pull(char* buf, size_t max, size_t* n, std::chrono::milliseconds wait);

    void cancel();
    bool cancelled() const;
    bool finished() const;
    uint64_t bytes_out() const { return bytes_out_.load(); }
    std::string note() const;
    size_t queued() const;

private:
    const size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> chunks_;
    size_t front_offset_ = 0;  // bytes of chunks_.front() already pulled
    size_t queued_ = 0;
    bool finished_ = false;
    bool cancelled_ = false;
    std::string note_;
    std::atomic<uint64_t> bytes_out_{0};
};

struct ProxyRequest {
    Route route = Route::not_found;
    std::string upstream_path;
    std::string model_id;  // models: answer this one entry, not the list
    std::string body;
    RequestFacts facts;
};

// The answer's head: a whole buffered answer, or (stream != nullptr) the
// status and headers of a stream whose bytes come through the queue.
struct ProxyResponse {
    long status = 0;
    HeaderList headers;  // Content-Type, Retry-After, X-Request-Id, ...
    std::string body;
    std::shared_ptr<RelayQueue> stream;
    std::string note;    // for the log
};

struct ProxyOptions {
    size_t queue_capacity = 64 * 1024;
    size_t max_answer = 64u << 20;  // a buffered (non-streamed) answer
    long connect_timeout_ms = 10000;
    long low_speed_time_s = 300;    // a silent upstream is given up on
};

// One upstream exchange, run in a worker thread so that the connection's
// thread can wait for the head and then relay the body while the upstream
// keeps writing. Shared by the worker and the server; whichever is last
// frees it.
class Exchange {
public:
    // Waits up to `wait`; true once the head is known.
    bool wait_head(std::chrono::milliseconds wait);
    ProxyResponse head() const;  // after wait_head returned true
    // The client is gone or the server stops: the upstream is let go (the
    // transfer polls cancelled() and ends within a second, even when the
    // upstream sends nothing).
    void cancel();
    bool cancelled() const;
    bool done() const;  // the worker has finished with it

private:
    friend class Proxy;
    void set_head(ProxyResponse r);
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool has_head_ = false;
    bool cancelled_ = false;
    bool done_ = false;
    std::function<bool()> gone_;  // Proxy::answer: set before the exchange runs
    ProxyResponse head_;
    std::shared_ptr<RelayQueue> queue_;
};

class Proxy {
public:
    Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts = {});
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the upstream exchange for a routed request (chat, models,
    // embeddings) in a worker thread of its own.
    std::shared_ptr<Exchange> start(ProxyRequest req);
    // Exchanges still running.
    size_t running() const;
    // Waits up to `wait` for them to end; true when none is left.
    bool wait_idle(std::chrono::milliseconds wait);

    // A buffered (not streamed) exchange in the caller's thread: its answer
    // is waited for whole anyway, and a hand-over to a worker and back would
    // cost two thread wake-ups per request. `gone` is polled while the
    // upstream works: true (the client left, the server stops) lets it go.
    ProxyResponse answer(const ProxyRequest& req, std::function<bool()> gone);

    // The exchange itself, in the caller's thread (what a worker runs).
    void run(Exchange& ex, const ProxyRequest& req);

private:
    struct Job {
        std::shared_ptr<Exchange> ex;
        ProxyRequest req;
    };
    void worker();
    void execute(Job& job);

    std::shared_ptr<TokenKeeper> keeper_;
    ProxyOptions opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;       // running_ or threads_ went down
    std::condition_variable jobs_cv_;  // a job for an idle worker, or stopping_
    std::deque<Job> jobs_;
    size_t running_ = 0;  // exchanges started and not finished
    size_t idle_ = 0;     // workers waiting for a job
    size_t threads_ = 0;  // workers alive
    bool stopping_ = false;
};

// --- the HTTP server (serve_http.cc, libmicrohttpd) --------------------------------

struct ServeOptions {
    ListenAddress listen;
    std::optional<std::string> api_key;  // clients must send "Authorization: Bearer <key>"
    size_t max_body = kDefaultMaxBody;
    unsigned max_connections = 64;
    unsigned idle_timeout_s = 60;   // a client that sends nothing or stops reading
    std::string host = "github.com";
    ServeLog log;
};

class HttpServer {
public:
    HttpServer(ServeOptions opts, std::shared_ptr<TokenKeeper> keeper,
               std::shared_ptr<Proxy> proxy);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving; Error(unavailable) when the address cannot
    // be bound (in use, not local). Returns the bound port.
    int start();
    // Stops accepting connections; requests already made are answered.
    // New requests on open connections get 503.
    void quiesce();
    uint64_t in_flight() const;
    // Waits up to `wait` for the requests in flight to end.
    bool wait_idle(std::chrono::milliseconds wait);
    // Ends every connection (streams are cut) and stops the server.
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace copilot
