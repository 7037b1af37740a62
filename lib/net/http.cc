#include "net/http.h"
#include "util/text.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <exception>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

// Only for types and constants: libcurl is never linked (see load_curl).
#include <curl/curl.h>

#include "util/errors.h"

namespace copilot {

namespace {

// ---------------------------------------------------------------------------
// Loading libcurl
//
// libcurl is dlopen()ed on the first request rather than linked: loading it
// drags in OpenSSL, nghttp2, GSSAPI, LDAP... (~6 ms of dynamic linking), and
// copilot-token's fresh-cache path, which never touches the network, must
// not pay for that. So this file only takes types and constants from
// <curl/curl.h> and calls libcurl through the pointers below.

struct CurlApi {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    CURLcode (*setopt)(CURL*, CURLoption, ...);
    CURLcode (*perform)(CURL*);
    CURLcode (*getinfo)(CURL*, CURLINFO, ...);
    void (*cleanup)(CURL*);
    void (*reset)(CURL*);
    const char* (*strerror)(CURLcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
};

CurlApi g_curl;
std::string g_curl_error;  // set once if loading failed
std::once_flag g_curl_once;

template <typename F>
bool resolve(void* lib, const char* name, F& out) {
    void* sym = ::dlsym(lib, name);
    if (!sym) return false;
    // POSIX guarantees object pointers from dlsym convert to function pointers.
    static_assert(sizeof(F) == sizeof(void*), "function pointer size");
    std::memcpy(&out, &sym, sizeof out);
    return true;
}

void load_curl_once() {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* e = ::dlerror();
        g_curl_error = "cannot load libcurl (libcurl.so.4): " +
                       std::string(e ? e : "unknown error");
        return;
    }
    CurlApi api{};
    const char* missing = nullptr;
    if (!resolve(lib, "curl_global_init", api.global_init)) missing = "curl_global_init";
    else if (!resolve(lib, "curl_easy_init", api.easy_init)) missing = "curl_easy_init";
    else if (!resolve(lib, "curl_easy_setopt", api.setopt)) missing = "curl_easy_setopt";
    else if (!resolve(lib, "curl_easy_perform", api.perform)) missing = "curl_easy_perform";
    else if (!resolve(lib, "curl_easy_getinfo", api.getinfo)) missing = "curl_easy_getinfo";
    else if (!resolve(lib, "curl_easy_cleanup", api.cleanup)) missing = "curl_easy_cleanup";
    else if (!resolve(lib, "curl_easy_reset", api.reset)) missing = "curl_easy_reset";
    else if (!resolve(lib, "curl_easy_strerror", api.strerror)) missing = "curl_easy_strerror";
    else if (!resolve(lib, "curl_slist_append", api.slist_append)) missing = "curl_slist_append";
    else if (!resolve(lib, "curl_slist_free_all", api.slist_free_all))
        missing = "curl_slist_free_all";
    if (missing) {
        g_curl_error = std::string("cannot load libcurl (libcurl.so.4): missing ") + missing;
        return;  // the library stays loaded; harmless
    }
    if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        g_curl_error = "cannot load libcurl (libcurl.so.4): curl_global_init failed";
        return;
    }
    g_curl = api;
}

const CurlApi& curl_api() {
    std::call_once(g_curl_once, load_curl_once);
    if (!g_curl_error.empty()) throw Error(Exit::io, g_curl_error);
    return g_curl;
}

// ---------------------------------------------------------------------------
// URLs

// ASCII only, whatever the locale (a Turkish locale lower-cases 'I' differently).
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

struct UrlParts {
    bool has_authority = false;  // "scheme://..." form
    std::string scheme;          // lower-cased
    std::string host;            // lower-cased, no brackets
    bool bad_port = false;
    bool bad_brackets = false;
};

// A deliberately small parser: scheme "://" [userinfo "@"] host [":" port].
// check_url_policy() rejects anything that could make it disagree with
// libcurl's parser (spaces, control characters, backslashes).
UrlParts parse_url(std::string_view url) {
    UrlParts p;
    size_t sep = url.find("://");
    if (sep == std::string_view::npos || sep == 0) return p;
    std::string_view scheme = url.substr(0, sep);
    if (!is_alpha(scheme[0])) return p;
    for (char c : scheme)
        if (!is_alnum(c) && c != '+' && c != '-' && c != '.')
            return p;
    p.has_authority = true;
    p.scheme = lowered(scheme);

    std::string_view rest = url.substr(sep + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);

    std::string_view host, port;
    bool has_port = false;
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            p.bad_brackets = true;
            return p;
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') p.bad_port = true;
            has_port = true;
            port = after.substr(1);
        }
    } else {
        size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port = authority.substr(colon + 1);
        }
    }
    if (has_port) {
        if (port.size() > 5) p.bad_port = true;
        for (char c : port)
            if (!is_digit(c)) p.bad_port = true;
    }
    p.host = lowered(host);
    return p;
}

// 127.0.0.0/8 in strict dotted-quad form. Leading zeros are refused: some
// resolvers read "0127.0.0.1" as octal (87.0.0.1).
bool is_loopback_ipv4(std::string_view h) {
    int parts = 0;
    int first = -1;
    size_t i = 0;
    while (true) {
        size_t start = i;
        int value = 0;
        while (i < h.size() && is_digit(h[i])) {
            value = value * 10 + (h[i] - '0');
            if (i - start >= 3) return false;
            ++i;
        }
        size_t len = i - start;
        if (len == 0 || len > 3 || value > 255) return false;
        if (len > 1 && h[start] == '0') return false;
        if (parts == 0) first = value;
        ++parts;
        if (i == h.size()) break;
        if (h[i] != '.' || parts == 4) return false;
        ++i;
    }
    return parts == 4 && first == 127;
}

bool is_loopback_ipv6(const std::string& h) {
    in6_addr a{};
    if (::inet_pton(AF_INET6, h.c_str(), &a) != 1) return false;
    return std::memcmp(&a, &in6addr_loopback, sizeof a) == 0;
}


// ---------------------------------------------------------------------------
// HTTP dates (RFC 9110 5.6.7): IMF-fixdate, RFC 850, asctime.

int month_index(std::string_view m) {
    static const char* const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; ++i)
        if (iequals(m, names[i])) return i + 1;
    return 0;
}

bool is_weekday(std::string_view d) {
    static const char* const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun",
                                        "monday", "tuesday", "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};
    for (const char* n : names)
        if (iequals(d, n)) return true;
    return false;
}

bool parse_number(std::string_view s, size_t min_digits, size_t max_digits, int& out) {
    if (s.size() < min_digits || s.size() > max_digits) return false;
    int v = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool parse_clock(std::string_view s, int& h, int& m, int& sec) {
    if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
    return parse_number(s.substr(0, 2), 2, 2, h) && parse_number(s.substr(3, 2), 2, 2, m) &&
           parse_number(s.substr(6, 2), 2, 2, sec) && h <= 23 && m <= 59 && sec <= 60;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::optional<int64_t> parse_http_date(std::string_view v) {
    // Split on spaces, commas and dashes: the three formats become
    //   IMF:     Sun 06 Nov 1994 08:49:37 GMT
    //   RFC 850: Sunday 06 Nov 94 08:49:37 GMT
    //   asctime: Sun Nov 6 08:49:37 1994
    std::vector<std::string_view> t;
    size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == ',' || v[i] == '-')) ++i;
        size_t start = i;
        while (i < v.size() && v[i] != ' ' && v[i] != ',' && v[i] != '-') ++i;
        if (i > start) t.push_back(v.substr(start, i - start));
    }
    int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
    if (t.size() == 6 && is_weekday(t[0]) && iequals(t[5], "GMT")) {
        month = month_index(t[2]);
        if (!parse_number(t[1], 1, 2, day) || !month || !parse_clock(t[4], h, m, s))
            return std::nullopt;
        if (t[3].size() == 2) {
            if (!parse_number(t[3], 2, 2, year)) return std::nullopt;
            year += year < 70 ? 2000 : 1900;
        } else if (!parse_number(t[3], 4, 4, year)) {
            return std::nullopt;
        }
    } else if (t.size() == 5 && is_weekday(t[0])) {
        month = month_index(t[1]);
        if (!month || !parse_number(t[2], 1, 2, day) || !parse_clock(t[3], h, m, s) ||
            !parse_number(t[4], 4, 4, year))
            return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (day < 1 || day > 31) return std::nullopt;
    return days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
}

constexpr long kMaxRetryAfterSeconds = 1000000000L;  // ~31 years: "never", without overflow

// ---------------------------------------------------------------------------
// One transfer

constexpr size_t kMaxHeaderBytes = 1 << 20;

struct Transfer {
    const HttpRequest* req = nullptr;
    HttpResponse resp;
    long status_seen = 0;         // from the last status line
    size_t header_bytes = 0;
    size_t streamed_bytes = 0;    // bytes handed to on_body
    bool head_reported = false;   // on_head called
    bool too_large = false;
    bool too_many_headers = false;
    bool stopped_by_callback = false;
    bool cancelled = false;        // HttpRequest::cancelled said so
    bool refused_address = false;  // plain-http connect to a non-loopback address
    bool http_only_loopback = false;
    std::exception_ptr callback_error;
    // The silence limit (Timeouts::idle_s): when a byte last went either way.
    long idle_ms = 0;
    bool idle_timed_out = false;
    std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
    curl_off_t seen_down = 0, seen_up = 0;
};

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
                    if (!is_digit(line[i])) break;
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
        t->resp.headers.emplace_back(lowered(trim(line.substr(0, colon))),
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
        long status = t->status_seen;
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
// idle_ms without a byte sent or received: libcurl's own LOW_SPEED check
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
    if (t->idle_ms > 0 && now - t->last_activity > std::chrono::milliseconds(t->idle_ms)) {
        t->idle_timed_out = true;
        return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
}

bool sockaddr_is_loopback(const curl_sockaddr* a) {
    if (a->family == AF_INET && a->addrlen >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, &a->addr, sizeof in);
        return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
    }
    if (a->family == AF_INET6 && a->addrlen >= sizeof(sockaddr_in6)) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, &a->addr, sizeof in6);
        return std::memcmp(&in6.sin6_addr, &in6addr_loopback, sizeof(in6_addr)) == 0;
    }
    return false;
}

// Defence in depth for the URL policy: a plain-http transfer may only open
// sockets to loopback addresses, whatever the URL parser or the resolver
// made of the host name. Sockets are close-on-exec in every case.
curl_socket_t on_open_socket(void* userp, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(userp);
    if (t->http_only_loopback && !sockaddr_is_loopback(address)) {
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
        if (h) g_curl.cleanup(h);
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

struct Outcome {
    CURLcode code = CURLE_OK;
    std::string detail;  // curl's error buffer or strerror
};

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

Error transfer_error(CURLcode c, const Transfer& t, const std::string& host,
                     const std::string& detail) {
    if (c == CURLE_OPERATION_TIMEDOUT) {
        std::string d = lowered(detail).find("timed out") != std::string::npos
                            ? detail
                            : "timed out (" + detail + ")";
        return Error(Exit::temp, "cannot reach " + host + ": " + d);
    }
    if (is_cut_off(c, t))
        return Error(Exit::protocol,
                     "connection to " + host + " closed before the answer was complete");
    return Error(Exit::temp, "cannot reach " + host + ": " + detail);
}

void set_long(const EasyHandle& e, CURLoption o, long v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}
void set_str(const EasyHandle& e, CURLoption o, const char* v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}
void set_ptr(const EasyHandle& e, CURLoption o, void* v, const char* name) {
    if (e.api.setopt(e.h, o, v) != CURLE_OK) setup_failed(name);
}

// How long one attempt may take: the request's own limits, or COPILOT_TIMEOUT's.
struct Timeouts {
    long connect_ms;
    long total_ms;  // 0 = no limit
    long idle_s;    // give up after this long without a byte (0 = off)
};

// COPILOT_TIMEOUT=SECONDS (copilot-utils(7)) replaces the per-request
// defaults, so that a user, a CI job or a test can bound how long a silent
// server is waited for: the connection, a whole request (except a streamed
// or long answer, which has no total limit) and any silence.
Timeouts timeouts_for(const HttpRequest& req) {
    Timeouts t{std::max(0L, req.connect_timeout_ms), std::max(0L, req.timeout_ms),
               std::max(0L, req.low_speed_time_s)};
    const char* v = std::getenv("COPILOT_TIMEOUT");
    if (!v || !*v) return t;
    long secs = 0;
    for (const char* p = v; *p; ++p) {
        if (!is_digit(*p) || secs > 86400) {
            secs = -1;
            break;
        }
        secs = secs * 10 + (*p - '0');
    }
    if (secs < 1 || secs > 86400)
        throw Error(Exit::usage, "COPILOT_TIMEOUT must be a whole number of seconds from 1 to "
                                 "86400, not '" + std::string(v).substr(0, 20) + "'");
    t.connect_ms = secs * 1000;
    if (t.total_ms > 0) t.total_ms = secs * 1000;
    t.idle_s = secs;
    return t;
}

Outcome run_once(const CurlApi& api, const HttpRequest& req, const Timeouts& limits,
                 bool plain_http, Transfer& t) {
    EasyHandle e(api);
    if (!e.h) setup_failed("curl_easy_init failed");

    for (const auto& [name, value] : req.headers) {
        if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos)
            throw Error(Exit::usage, "invalid HTTP header name or value (header '" +
                                         (name.find_first_of("\r\n") == std::string::npos
                                              ? name
                                              : std::string("?")) +
                                         "')");
        // "Name:" would make curl drop the header; "Name;" sends it empty.
        std::string line = value.empty() ? name + ";" : name + ": " + value;
        curl_slist* n = api.slist_append(e.headers, line.c_str());
        if (!n) setup_failed("out of memory");
        e.headers = n;
    }

    char errbuf[CURL_ERROR_SIZE];
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
    if (limits.idle_s > 0 || req.cancelled) {
        t.idle_ms = limits.idle_s * 1000;
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
    if (e.headers) set_ptr(e, CURLOPT_HTTPHEADER, e.headers, "HTTPHEADER");

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

    Outcome out;
    out.code = api.perform(e.h);
    long status = 0;
    if (api.getinfo(e.h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status > 0)
        t.resp.status = status;
    else
        t.resp.status = t.status_seen;
    if (out.code != CURLE_OK) {
        const char* s = api.strerror(out.code);
        out.detail = errbuf[0] ? std::string(errbuf) : std::string(s ? s : "unknown error");
        while (!out.detail.empty() && (out.detail.back() == '\n' || out.detail.back() == '\r'))
            out.detail.pop_back();
    }
    return out;
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
        if (iequals(k, name)) return v;
    return "";
}

bool is_loopback_host(const std::string& host) {
    std::string h = lowered(host);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    return h == "localhost" || is_loopback_ipv4(h) || is_loopback_ipv6(h);
}

std::string url_host(const std::string& url) {
    UrlParts p = parse_url(url);
    return p.has_authority ? p.host : "";
}

void check_url_policy(const std::string& url) {
    if (url.empty()) throw Error(Exit::usage, "unsupported URL (empty)");
    for (char c : url) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '\\')
            throw Error(Exit::usage,
                        "unsupported URL: it contains spaces, control characters or backslashes");
    }
    UrlParts p = parse_url(url);
    if (!p.has_authority || (p.scheme != "https" && p.scheme != "http"))
        throw Error(Exit::usage, "unsupported URL " + url +
                                     ": only https:// (and http:// to loopback hosts) is allowed");
    if (p.bad_brackets || p.bad_port)
        throw Error(Exit::usage, "unsupported URL " + url + ": malformed host or port");
    if (p.host.empty()) throw Error(Exit::usage, "unsupported URL " + url + ": no host");
    if (p.scheme == "http" && !is_loopback_host(p.host))
        throw Error(Exit::usage, "refusing to connect to " + url +
                                     ": plain http is only allowed to loopback hosts");
}

HttpResponse http_perform(const HttpRequest& req) {
    check_url_policy(req.url);  // before anything touches the network
    const bool plain_http = parse_url(req.url).scheme == "http";
    const std::string host = url_host(req.url);
    const Timeouts limits = timeouts_for(req);
    const CurlApi& api = curl_api();
    const int attempts = req.retry ? std::max(1, req.max_attempts) : 1;

    for (int attempt = 1;; ++attempt) {
        if (req.cancelled && req.cancelled()) return cancelled_response();
        Transfer t;
        t.req = &req;
        Outcome o = run_once(api, req, limits, plain_http, t);
        if (t.callback_error) std::rethrow_exception(t.callback_error);
        if (t.idle_timed_out) {  // reported and retried like libcurl's own timeouts
            o.code = CURLE_OPERATION_TIMEDOUT;
            o.detail = "timed out: no data for " + std::to_string(limits.idle_s) + " s";
        }
        if (t.refused_address)
            throw Error(Exit::usage, "refusing to connect to " + req.url +
                                         ": plain http is only allowed to loopback addresses");
        if (t.too_large)
            throw Error(Exit::protocol, host + " sent an answer larger than " +
                                            std::to_string(req.max_body) + " bytes");
        if (t.too_many_headers)
            throw Error(Exit::protocol, host + " sent more than " +
                                            std::to_string(kMaxHeaderBytes) +
                                            " bytes of headers");
        HttpResponse& r = t.resp;
        if (req.on_body && is_2xx(r.status) && o.code == CURLE_OK) r.body_streamed = true;
        if (t.stopped_by_callback || t.cancelled) {
            r.aborted_by_callback = true;
            return std::move(r);
        }

        const bool last = attempt >= attempts;
        if (o.code != CURLE_OK) {
            bool retryable = is_connection_failure(o.code) && t.streamed_bytes == 0;
            if (last || !retryable) throw transfer_error(o.code, t, host, o.detail);
            long wait = backoff_ms(attempt, 500, 8000);
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
        if (req.on_retry) req.on_retry(attempt, wait, "HTTP " + std::to_string(r.status));
        if (!wait_unless_cancelled(req, wait)) return cancelled_response();
    }
}

std::optional<long> parse_retry_after(std::string_view value, std::time_t now) {
    std::string v = trim(value);
    if (v.empty()) return std::nullopt;
    if (std::all_of(v.begin(), v.end(),
                    [](char c) { return is_digit(c); })) {
        long secs = 0;
        for (char c : v) {
            secs = secs * 10 + (c - '0');
            if (secs >= kMaxRetryAfterSeconds) return kMaxRetryAfterSeconds;
        }
        return secs;
    }
    std::optional<int64_t> when = parse_http_date(v);
    if (!when) return std::nullopt;
    int64_t delta = *when - static_cast<int64_t>(now);
    if (delta <= 0) return 0L;
    return static_cast<long>(std::min<int64_t>(delta, kMaxRetryAfterSeconds));
}

long backoff_ms(int attempt, long base_ms, long cap_ms) {
    if (base_ms <= 0 || cap_ms <= 0) return 0;
    if (attempt < 1) attempt = 1;
    long d = std::min(base_ms, cap_ms);
    for (int i = 1; i < attempt && d < cap_ms; ++i) d = d > cap_ms / 2 ? cap_ms : d * 2;
    thread_local std::mt19937_64 gen = [] {
        std::seed_seq::result_type seed;
        try {
            std::random_device rd;
            seed = rd();
        } catch (...) {
            seed = static_cast<std::seed_seq::result_type>(
                std::chrono::steady_clock::now().time_since_epoch().count() ^ ::getpid());
        }
        std::seed_seq seq{seed, static_cast<std::seed_seq::result_type>(::getpid())};
        return std::mt19937_64(seq);
    }();
    std::uniform_int_distribution<long> dist(d - d / 2, d);
    return dist(gen);
}

std::string url_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
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
