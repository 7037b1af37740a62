#include "net/http.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "net/ascii.h"
#include "net/curl_loader.h"
#include "net/http_transfer.h"
#include "net/retry.h"
#include "net/timeouts.h"
#include "net/url_policy.h"
#include "util/errors.h"
#include "util/text.h"

namespace copilot {

namespace {

// ---------------------------------------------------------------------------
// One transfer

size_t on_header(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    t->last_activity = std::chrono::steady_clock::now();
    try {
        t->header_bytes += len;
        if (t->header_bytes > kMaxHeaderBytes) {
            t->too_many_headers = true;
            return 0;
        }
        std::string_view line(data, len);
        if (line.size() >= 5 && line.compare(0, 5, "HTTP/") == 0) {
            // A new response (a 100 Continue, a proxy's CONNECT answer, a
            // final answer): only the last one's headers are kept.
            t->resp.headers.clear();
            t->status_seen = 0;
            size_t sp = line.find(' ');
            if (sp != std::string_view::npos) {
                long code = 0;
                for (size_t i = sp + 1; i < line.size() && i < sp + 4; ++i) {
                    if (!is_ascii_digit(line[i])) break;
                    code = code * 10 + (line[i] - '0');
                }
                t->status_seen = code;
            }
            return len;
        }
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {  // obsolete folding
            if (!t->resp.headers.empty()) {
                std::string more = trim(line);
                if (!more.empty()) t->resp.headers.back().second += " " + more;
            }
            return len;
        }
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return len;  // blank line etc.
        t->resp.headers.emplace_back(ascii_lowered(trim(line.substr(0, colon))),
                                     trim(line.substr(colon + 1)));
        return len;
    } catch (...) {
        t->callback_error = std::current_exception();
        return 0;
    }
}

size_t on_write(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (len == 0) return 0;
    try {
        t->last_activity = std::chrono::steady_clock::now();
        long status = t->status_seen;
        if (t->take_body && status >= 200 && status < 300) {
            if (!t->head_reported) {
                t->head_reported = true;
                if (t->req->on_head) t->req->on_head(status, t->resp.headers);
            }
            t->resp.body_streamed = true;
            switch (t->take_body(std::string_view(data, len))) {
            case BodyTake::all: t->streamed_bytes += len; return len;
            case BodyTake::pause: t->paused = true; return CURL_WRITEFUNC_PAUSE;
            case BodyTake::stop: t->stopped_by_callback = true; return 0;
            }
        }
        if (t->req->on_body && status >= 200 && status < 300) {
            if (!t->head_reported) {
                t->head_reported = true;
                if (t->req->on_head) t->req->on_head(status, t->resp.headers);
            }
            t->resp.body_streamed = true;
            t->streamed_bytes += len;
            if (!t->req->on_body(std::string_view(data, len))) {
                t->stopped_by_callback = true;
                return 0;
            }
            return len;
        }
        // Counted on decoded bytes: curl has already undone any gzip.
        if (len > t->req->max_body || t->resp.body.size() > t->req->max_body - len) {
            t->too_large = true;
            return 0;
        }
        t->resp.body.append(data, len);
        return len;
    } catch (...) {
        t->callback_error = std::current_exception();
        return 0;
    }
}

// libcurl calls this at least once a second. It ends a transfer after
// silence_ms without a byte sent or received: libcurl's own LOW_SPEED check
// averages over several seconds, so a request it has just sent counts as
// traffic for ~6 s and a short limit would not be kept.
int on_progress(void* userp, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* t = static_cast<Transfer*>(userp);
    if (t->req->cancelled) {
        bool stop = true;
        try {
            stop = t->req->cancelled();
        } catch (...) {
            t->callback_error = std::current_exception();
        }
        if (stop) {
            t->cancelled = true;
            return 1;  // CURLE_ABORTED_BY_CALLBACK
        }
    }
    const auto now = std::chrono::steady_clock::now();
    if (dlnow != t->seen_down || ulnow != t->seen_up) {
        t->seen_down = dlnow;
        t->seen_up = ulnow;
        t->last_activity = now;
        return 0;
    }
    if (t->silence_ms > 0 && now - t->last_activity > std::chrono::milliseconds(t->silence_ms)) {
        t->silence_timed_out = true;
        return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
}

// Defence in depth for the URL policy: a plain-http transfer may only open
// sockets to loopback addresses, whatever the URL parser or the resolver
// made of the host name. Sockets are close-on-exec in every case.
curl_socket_t on_open_socket(void* userp, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(userp);
    if (t->http_only_loopback && !is_loopback_sockaddr(&address->addr, address->addrlen)) {
        t->refused_address = true;
        return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// Each thread keeps one easy handle between requests, and with it libcurl's
// connection cache: the next request to the same host reuses the open
// connection (and TLS session) instead of paying for a new handshake.
// That matters to copilot-serve, whose workers send request after request
// to the Copilot API. curl_easy_reset() drops every option after a request
// (the pointers into this request's memory among them) but keeps the
// connections.
struct ThreadHandle {
    CURL* h = nullptr;
    bool busy = false;  // a callback of this thread's transfer calls http_perform
    ~ThreadHandle() {
        if (h) curl_api().cleanup(h);
    }
};
thread_local ThreadHandle t_handle;

struct EasyHandle {
    const CurlApi& api;
    CURL* h = nullptr;
    bool owned = false;  // a handle of its own (nested call): cleaned up, not kept
    curl_slist* headers = nullptr;
    explicit EasyHandle(const CurlApi& a) : api(a) {
        if (!t_handle.busy) {
            if (!t_handle.h) t_handle.h = a.easy_init();
            h = t_handle.h;
            t_handle.busy = h != nullptr;
        } else {
            h = a.easy_init();
            owned = true;
        }
    }
    ~EasyHandle() {
        if (h && owned) api.cleanup(h);
        else if (h) {
            api.reset(h);
            t_handle.busy = false;
        }
        if (headers) api.slist_free_all(headers);
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;
};

[[noreturn]] void setup_failed(const std::string& what) {
    throw Error(Exit::io, "cannot set up the HTTP request: " + what);
}

bool is_2xx(long s) { return s >= 200 && s < 300; }

bool is_connection_failure(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

// A transfer that was cut off after the answer began.
bool is_cut_off(CURLcode c, const Transfer& t) {
    if (t.status_seen == 0) return false;
    return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_HTTP2_STREAM ||
           c == CURLE_HTTP2;
}

}  // namespace

Error transfer_error(CURLcode c, const Transfer& t, const std::string& host,
                     const std::string& detail) {
    if (c == CURLE_OPERATION_TIMEDOUT) {
        std::string d = ascii_lowered(detail).find("timed out") != std::string::npos
                            ? detail
                            : "timed out (" + detail + ")";
        return Error(Exit::temp, "cannot reach " + host + ": " + d);
    }
    if (is_cut_off(c, t))
        return Error(Exit::protocol,
                     "connection to " + host + " closed before the answer was complete");
    return Error(Exit::temp, "cannot reach " + host + ": " + detail);
}

namespace {

// What the option setters need of a handle: the handle and the API.
struct Easy {
    const CurlApi& api;
    CURL* h;
};

void set_long(const Easy& e, CURLoption o, long v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}
void set_str(const Easy& e, CURLoption o, const char* v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}
void set_ptr(const Easy& e, CURLoption o, void* v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}

}  // namespace

// COPILOT_TIMEOUT=SECONDS (copilot-utils(7)) replaces the per-request
// defaults, so that a user, a CI job or a test can bound how long a silent
// server is waited for: the connection, a whole request (except a streamed
// or long answer, which has no total limit) and any silence.
Timeouts timeouts_for(const HttpRequest& req) {
    Timeouts t{std::max(0L, req.connect_timeout_ms), std::max(0L, req.timeout_ms),
               std::max(0L, req.silence_timeout_s),
               req.timeout_ms > 0 ? std::max(0L, req.deadline_ms) : 0L};
    const std::optional<long> env = copilot_timeout_env();
    if (!env) return t;
    const long secs = *env;
    t.connect_ms = secs * 1000;
    if (t.total_ms > 0) t.total_ms = secs * 1000;
    t.silence_s = secs;
    if (t.deadline_ms > 0) t.deadline_ms = std::min(t.deadline_ms, secs * 1000);
    return t;
}

void configure_transfer(const CurlApi& api, CURL* h, curl_slist** headers, char* errbuf,
                        const HttpRequest& req, const Timeouts& limits, bool plain_http,
                        Transfer& t) {
    const Easy e{api, h};

    // One pass a byte: find_first_of with a set calls memchr per byte.
    auto has = [](const std::string& s, bool colon) {
        return std::any_of(s.begin(), s.end(), [colon](char c) {
            return c == '\r' || c == '\n' || (colon && c == ':');
        });
    };
    std::string line;  // one buffer for every line: libcurl copies each
    for (const auto& [name, value] : req.headers) {
        if (name.empty() || has(name, true) || has(value, false))
            throw Error(Exit::usage, "invalid HTTP header name or value (header '" +
                                         (!has(name, false)
                                              ? name
                                              : std::string("?")) +
                                         "')");
        // "Name:" would make curl drop the header; "Name;" sends it empty.
        line.assign(name);
        if (value.empty()) line += ';';
        else line.append(": ").append(value);
        curl_slist* n = api.slist_append(*headers, line.c_str());
        if (!n) setup_failed("out of memory");
        *headers = n;
    }

    errbuf[0] = '\0';
    set_str(e, CURLOPT_URL, req.url.c_str(), "URL");
    set_ptr(e, CURLOPT_ERRORBUFFER, errbuf, "error buffer");
    set_long(e, CURLOPT_NOSIGNAL, 1L, "NOSIGNAL");
    set_long(e, CURLOPT_FOLLOWLOCATION, 0L, "FOLLOWLOCATION");
    // Only http and https, also for redirects (which we do not follow
    // anyway: a redirect could lead around the URL policy).
    if (api.setopt(e.h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        // libcurl < 7.85 at run time: the numeric forms (CURLOPT_PROTOCOLS,
        // CURLOPT_REDIR_PROTOCOLS), spelled as numbers because the headers
        // mark them deprecated.
        long mask = CURLPROTO_HTTP | CURLPROTO_HTTPS;
        api.setopt(e.h, static_cast<CURLoption>(CURLOPTTYPE_LONG + 181), mask);
        api.setopt(e.h, static_cast<CURLoption>(CURLOPTTYPE_LONG + 182), mask);
    } else {
        set_str(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "REDIR_PROTOCOLS_STR");
    }
    // TLS verification stays on (libcurl's default); never touched here.
    // libcurl the library does not read these variables itself (the curl
    // tool does). CAINFO replaces the default CA file but keeps the default
    // CA directory, so the bundle adds to the system's CAs on Debian.
    for (const char* var : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
        const char* v = std::getenv(var);
        if (v && *v) {
            set_str(e, CURLOPT_CAINFO, v, "CAINFO");
            break;
        }
    }
    if (plain_http) {
        // Plain http is allowed to loopback only; sending it through a
        // proxy would put it on the network in clear text.
        set_str(e, CURLOPT_NOPROXY, "*", "NOPROXY");
    }
    set_long(e, CURLOPT_CONNECTTIMEOUT_MS, limits.connect_ms, "CONNECTTIMEOUT_MS");
    set_long(e, CURLOPT_TIMEOUT_MS, limits.total_ms, "TIMEOUT_MS");
    t.silence_ms = limits.silence_s * 1000;
    if (limits.silence_s > 0 || req.cancelled) {
        curl_xferinfo_callback progress_cb = on_progress;
        if (api.setopt(e.h, CURLOPT_XFERINFOFUNCTION, progress_cb) != CURLE_OK)
            setup_failed("XFERINFOFUNCTION");
        set_ptr(e, CURLOPT_XFERINFODATA, &t, "XFERINFODATA");
        set_long(e, CURLOPT_NOPROGRESS, 0L, "NOPROGRESS");
    }
    if (req.on_body) {
        // A long stream in 100 KiB reads, as the curl tool does, instead of
        // libcurl's 16 KiB: a sixth of the reads and callbacks. No added
        // latency: a read returns whatever has arrived.
        set_long(e, CURLOPT_BUFFERSIZE, 100L * 1024, "BUFFERSIZE");
    }
    set_str(e, CURLOPT_ACCEPT_ENCODING, "", "ACCEPT_ENCODING");
    if (*headers) set_ptr(e, CURLOPT_HTTPHEADER, *headers, "HTTPHEADER");

    if (req.method == "GET") {
        set_long(e, CURLOPT_HTTPGET, 1L, "HTTPGET");
    } else if (req.method == "POST") {
        set_long(e, CURLOPT_POST, 1L, "POST");
        if (e.api.setopt(e.h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(req.body.size())) != CURLE_OK)
            setup_failed("POSTFIELDSIZE");
        set_str(e, CURLOPT_POSTFIELDS, req.body.c_str(), "POSTFIELDS");
    } else if (req.method == "HEAD") {
        set_long(e, CURLOPT_NOBODY, 1L, "NOBODY");
    } else {
        if (req.method.empty() ||
            std::any_of(req.method.begin(), req.method.end(),
                        [](char c) { return c < 'A' || c > 'Z'; }))
            throw Error(Exit::usage, "invalid HTTP method '" + req.method + "'");
        set_str(e, CURLOPT_CUSTOMREQUEST, req.method.c_str(), "CUSTOMREQUEST");
        if (!req.body.empty()) {
            if (e.api.setopt(e.h, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(req.body.size())) != CURLE_OK)
                setup_failed("POSTFIELDSIZE");
            set_str(e, CURLOPT_POSTFIELDS, req.body.c_str(), "POSTFIELDS");
        }
    }

    t.http_only_loopback = plain_http;
    curl_opensocket_callback open_cb = on_open_socket;
    curl_write_callback write_cb = on_write;
    curl_write_callback header_cb = on_header;
    if (api.setopt(e.h, CURLOPT_OPENSOCKETFUNCTION, open_cb) != CURLE_OK)
        setup_failed("OPENSOCKETFUNCTION");
    set_ptr(e, CURLOPT_OPENSOCKETDATA, &t, "OPENSOCKETDATA");
    if (api.setopt(e.h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK)
        setup_failed("WRITEFUNCTION");
    set_ptr(e, CURLOPT_WRITEDATA, &t, "WRITEDATA");
    if (api.setopt(e.h, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK)
        setup_failed("HEADERFUNCTION");
    set_ptr(e, CURLOPT_HEADERDATA, &t, "HEADERDATA");
}

Outcome transfer_outcome(const CurlApi& api, CURL* h, CURLcode code, const char* errbuf,
                         Transfer& t) {
    Outcome out;
    out.code = code;
    long status = 0;
    if (api.getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status > 0)
        t.resp.status = status;
    else
        t.resp.status = t.status_seen;
    if (out.code != CURLE_OK) {
        const char* s = api.strerror(out.code);
        out.detail = errbuf[0] ? std::string(errbuf) : std::string(s ? s : "unknown error");
        while (!out.detail.empty() && (out.detail.back() == '\n' || out.detail.back() == '\r'))
            out.detail.pop_back();
    }
    if (t.silence_timed_out) {  // reported and retried like libcurl's own timeouts
        out.code = CURLE_OPERATION_TIMEDOUT;
        out.detail = "timed out: no data for " + std::to_string(t.silence_ms / 1000) + " s";
    }
    return out;
}

void check_transfer(const Transfer& t, const HttpRequest& req, const std::string& host) {
    if (t.callback_error) std::rethrow_exception(t.callback_error);
    if (t.refused_address)
        throw Error(Exit::usage, "refusing to connect to " + req.url +
                                     ": plain http is only allowed to loopback addresses");
    if (t.too_large)
        throw Error(Exit::protocol, host + " sent an answer larger than " +
                                        std::to_string(req.max_body) + " bytes");
    if (t.too_many_headers)
        throw Error(Exit::protocol, host + " sent more than " + std::to_string(kMaxHeaderBytes) +
                                        " bytes of headers");
}

namespace {

Outcome run_once(const CurlApi& api, const HttpRequest& req, const Timeouts& limits,
                 bool plain_http, Transfer& t) {
    EasyHandle e(api);
    if (!e.h) setup_failed("curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE];
    configure_transfer(api, e.h, &e.headers, errbuf, req, limits, plain_http, t);
    return transfer_outcome(api, e.h, api.perform(e.h), errbuf, t);
}

// Sleeps `ms` before a retry, in short steps when the request can be
// cancelled. False when it was.
bool wait_unless_cancelled(const HttpRequest& req, long ms) {
    if (!req.cancelled) {
        if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return true;
    }
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        if (req.cancelled()) return false;
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) return true;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(50)));
    }
}

HttpResponse cancelled_response() {
    HttpResponse r;
    r.aborted_by_callback = true;
    return r;
}

}  // namespace
// ---------------------------------------------------------------------------

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (ascii_iequals(k, name)) return v;
    return "";
}

HttpResponse http_perform(const HttpRequest& req) {
    check_url_policy(req.url);  // before anything touches the network
    const bool plain_http = url_scheme(req.url) == "http";
    const std::string host = url_host(req.url);
    const Timeouts full = timeouts_for(req);
    const CurlApi& api = curl_api();
    const int attempts = req.retry ? std::max(1, req.max_attempts) : 1;
    const auto start = std::chrono::steady_clock::now();
    // Milliseconds left of the operation's deadline (LONG_MAX when none).
    auto left_ms = [&]() -> long {
        if (full.deadline_ms <= 0) return std::numeric_limits<long>::max();
        auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start).count();
        return full.deadline_ms - static_cast<long>(spent);
    };
    auto gave_up = [&](int tries, const std::string& why) {
        return Error(Exit::temp, "cannot reach " + host + ": gave up after " +
                                     std::to_string((full.deadline_ms + 999) / 1000) + " s (" +
                                     std::to_string(tries) + (tries == 1 ? " try" : " tries") +
                                     (why.empty() ? "" : "; " + why) + ")");
    };
    std::string last_reason;

    for (int attempt = 1;; ++attempt) {
        if (req.cancelled && req.cancelled()) return cancelled_response();
        const long left = left_ms();
        if (left <= 0) throw gave_up(attempt - 1, last_reason);
        Timeouts limits = full;
        if (full.deadline_ms > 0) {  // this try gets at most what is left
            limits.connect_ms = limits.connect_ms > 0 ? std::min(limits.connect_ms, left) : left;
            limits.total_ms = limits.total_ms > 0 ? std::min(limits.total_ms, left) : left;
        }
        Transfer t;
        t.req = &req;
        Outcome o = run_once(api, req, limits, plain_http, t);
        check_transfer(t, req, host);
        HttpResponse& r = t.resp;
        if (req.on_body && is_2xx(r.status) && o.code == CURLE_OK) r.body_streamed = true;
        if (t.stopped_by_callback || t.cancelled) {
            r.aborted_by_callback = true;
            return std::move(r);
        }

        const bool last = attempt >= attempts;
        if (o.code != CURLE_OK) {
            bool retryable = is_connection_failure(o.code) && t.streamed_bytes == 0;
            if (retryable && left_ms() <= 0) throw gave_up(attempt, o.detail);
            if (last || !retryable) throw transfer_error(o.code, t, host, o.detail);
            long wait = std::min(backoff_ms(attempt, 500, 8000), left_ms());
            last_reason = o.detail;
            if (req.on_retry)
                req.on_retry(attempt, wait, transfer_error(o.code, t, host, o.detail).what());
            if (!wait_unless_cancelled(req, wait)) return cancelled_response();
            continue;
        }

        if (last || !(r.status == 429 || r.status >= 500)) return std::move(r);
        long wait;
        std::string ra = r.header("retry-after");
        std::optional<long> secs;
        if (!ra.empty()) secs = parse_retry_after(ra, std::time(nullptr));
        if (secs) {
            // Compared in seconds, so that a huge Retry-After cannot overflow.
            if (*secs > req.max_retry_wait_ms / 1000) return std::move(r);
            wait = *secs * 1000;
        } else {
            wait = std::min(backoff_ms(attempt, 500, 8000), std::max(0L, req.max_retry_wait_ms));
        }
        // No time left for the wait and a try after it: the answer as it is.
        if (wait >= left_ms()) return std::move(r);
        if (req.on_retry) req.on_retry(attempt, wait, "HTTP " + std::to_string(r.status));
        if (!wait_unless_cancelled(req, wait)) return cancelled_response();
    }
}

std::string url_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (is_ascii_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::string form_encode(const HeaderList& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) out += '&';
        out += url_encode(k);
        out += '=';
        out += url_encode(v);
    }
    return out;
}

}  // namespace copilot
