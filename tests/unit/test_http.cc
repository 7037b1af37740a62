// Unit tests for lib/net/http.cc and http_loop.cc: form encoding, http_perform
// and the loop's transfers against the
// fake GitHub server
// (tests/fake-github/server.py), which this binary starts and stops itself.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "check.h"
#include "net/endpoints.h"
#include "net/http.h"
#include "net/http_loop.h"
#include "util/json.h"

using copilot::Exit;
using copilot::HttpRequest;
using copilot::HttpResponse;

namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t0) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// ---------------------------------------------------------------------------
// The fake server

std::string repo_root() {
    auto has_server = [](const std::string& dir) {
        struct stat st;
        return ::stat((dir + "/tests/fake-github/server.py").c_str(), &st) == 0;
    };
    if (const char* r = std::getenv("COPILOT_REPO"); r && *r) return r;
    char buf[4096];
    if (!::getcwd(buf, sizeof buf)) return ".";
    std::string dir = buf;
    for (;;) {  // `make unit` runs from the root; also work from a subdirectory
        if (has_server(dir)) return dir;
        size_t slash = dir.rfind('/');
        if (slash == std::string::npos || dir == "/") return buf;
        dir = slash == 0 ? "/" : dir.substr(0, slash);
    }
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class FakeServer {
public:
    // Starts the server on first use; nullptr (after one failure message) if it cannot.
    static FakeServer* get() {
        static FakeServer s;
        if (!s.tried_) s.start();
        return s.port_ > 0 ? &s : nullptr;
    }

    ~FakeServer() { stop(); }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    int port() const { return port_; }

private:
    void start() {
        tried_ = true;
        std::string script = repo_root() + "/tests/fake-github/server.py";
        char out_tmpl[] = "/tmp/test_http_server_out.XXXXXX";
        char err_tmpl[] = "/tmp/test_http_server_err.XXXXXX";
        int out_fd = ::mkstemp(out_tmpl);
        int err_fd = ::mkstemp(err_tmpl);
        if (out_fd < 0 || err_fd < 0) {
            std::cerr << "test_http: cannot create temp files for the fake server\n";
            return;
        }
        out_path_ = out_tmpl;
        err_path_ = err_tmpl;
        std::string parent = std::to_string(::getpid());
        const pid_t parent_pid = ::getpid();
        // Everything for the child is built before fork().
        const char* argv[] = {"python3", script.c_str(), "--watch-pid", parent.c_str(), nullptr};
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // dies with us, even on a crash
            if (::getppid() != parent_pid) ::_exit(127);
            ::dup2(out_fd, 1);
            ::dup2(err_fd, 2);
            int devnull = ::open("/dev/null", O_RDONLY);
            if (devnull >= 0) ::dup2(devnull, 0);
            ::execvp("python3", const_cast<char* const*>(argv));
            ::_exit(127);
        }
        ::close(out_fd);
        ::close(err_fd);
        if (pid_ < 0) {
            std::cerr << "test_http: fork failed\n";
            return;
        }
        // The port is the first line of the server's stdout.
        auto t0 = Clock::now();
        while (ms_since(t0) < 15000) {
            std::string out = slurp(out_path_);
            size_t nl = out.find('\n');
            if (nl != std::string::npos) {
                port_ = std::atoi(out.substr(0, nl).c_str());
                break;
            }
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (port_ <= 0)
            std::cerr << "test_http: the fake server (" << script
                      << ") did not start; its stderr:\n"
                      << slurp(err_path_) << "\n";
    }

    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status;
            for (int i = 0; i < 100; ++i) {  // up to 2 s, then SIGKILL
                if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                    pid_ = -1;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            if (pid_ > 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                pid_ = -1;
            }
        }
        if (!out_path_.empty()) ::unlink(out_path_.c_str());
        if (!err_path_.empty()) ::unlink(err_path_.c_str());
    }

    bool tried_ = false;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string out_path_, err_path_;
};

// Control API helpers.
HttpResponse control(const std::string& method, const std::string& path,
                     const std::string& json_body = "") {
    FakeServer* s = FakeServer::get();
    HttpRequest r;
    r.method = method;
    r.url = s->url(path);
    r.retry = false;
    r.timeout_ms = 10000;
    if (!json_body.empty()) {
        r.body = json_body;
        r.headers.push_back({"Content-Type", "application/json"});
    }
    HttpResponse resp = copilot::http_perform(r);
    if (resp.status != 200)
        check::fail(__FILE__, __LINE__,
                    "control " + path + " answered " + std::to_string(resp.status) + ": " +
                        resp.body);
    return resp;
}

void reset_server() { control("POST", "/_control/reset"); }

void script(const std::string& route, const std::string& responses_json) {
    control("POST", "/_control/script",
            "{\"route\":\"" + route + "\",\"responses\":" + responses_json + "}");
}

rapidjson::Document request_log(const std::string& route) {
    HttpResponse r = control("GET", "/_control/log?route=" + route);
    return copilot::json_parse(r.body, {"fake server log", Exit::protocol});
}

size_t log_count(const std::string& route) {
    rapidjson::Document d = request_log(route);
    return d["requests"].GetArray().Size();
}

// A server is needed: fail the test (once per test) if there is none.
#define NEED_SERVER()                                                       \
    do {                                                                    \
        if (!FakeServer::get()) {                                           \
            check::fail(__FILE__, __LINE__, "fake GitHub server not running"); \
            return;                                                         \
        }                                                                   \
        reset_server();                                                     \
    } while (0)

HttpRequest user_request() {
    HttpRequest r;
    r.url = FakeServer::get()->url("/api/user");
    r.headers = {{"Authorization", "token ghu_fake_valid"}, {"Accept", "application/json"}};
    r.timeout_ms = 10000;
    return r;
}

// Memory, from /proc/self/status (kB).
long proc_kb(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
            return std::atol(line.c_str() + n + 1);
    return -1;
}

// Resets VmHWM to the current RSS so the next reading is the peak from now on.
bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
    f.flush();
    return static_cast<bool>(f);
}

struct PeakWatch {
    long base_kb = proc_kb("VmRSS");
    bool peak_ok = reset_peak_rss();
    long growth_kb() const { return proc_kb(peak_ok ? "VmHWM" : "VmRSS") - base_kb; }
};

}  // namespace

// ===========================================================================
// Pure functions

TEST(url_policy_refuses_before_connecting) {
    // No DNS, no connection, no waiting: the policy is checked first.
    for (const char* u : {"http://example.com/", "http://localhost.evil.com/",
                          "http://10.255.255.1/", "file:///etc/passwd"}) {
        HttpRequest r;
        r.url = u;
        r.connect_timeout_ms = 5000;
        auto t0 = Clock::now();
        CHECK_THROWS(copilot::http_perform(r), Exit::usage);
        CHECK(ms_since(t0) < 200);
    }
}

TEST(form_and_url_encoding) {
    CHECK_EQ(copilot::form_encode({{"client_id", "Iv1.b507a08c87ecfe98"}, {"scope", "read:user"}}),
             "client_id=Iv1.b507a08c87ecfe98&scope=read%3Auser");
    CHECK_EQ(copilot::form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"}}),
             "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code");
    CHECK_EQ(copilot::form_encode({{"a b", "\xc3\xbc&=+/?"}}), "a%20b=%C3%BC%26%3D%2B%2F%3F");
    CHECK_EQ(copilot::form_encode({{"empty", ""}, {"x", "1"}}), "empty=&x=1");
    CHECK_EQ(copilot::form_encode({}), "");
    CHECK_EQ(copilot::url_encode("AZaz09-._~"), "AZaz09-._~");
    CHECK_EQ(copilot::url_encode(std::string("\0\x7f\xff", 3)), "%00%7F%FF");
}

TEST(response_header_lookup) {
    HttpResponse r;
    r.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
    CHECK_EQ(r.header("Content-Type"), "application/json");
    CHECK_EQ(r.header("X-A"), "1");
    CHECK_EQ(r.header("missing"), "");
}

// ===========================================================================
// Against the fake server

TEST(get_with_headers) {
    NEED_SERVER();
    HttpResponse r = copilot::http_perform(user_request());
    CHECK_EQ(r.status, 200L);
    CHECK(r.body.find("\"login\":\"octocat\"") != std::string::npos);
    CHECK(r.header("Content-Type").find("application/json") != std::string::npos);
    CHECK_EQ(r.header("x-oauth-scopes"), "read:user");
    for (const auto& h : r.headers) {
        std::string lower = h.first;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK_EQ(h.first, lower);
    }
    CHECK(!r.body_streamed);
    CHECK(!r.aborted_by_callback);
    rapidjson::Document log = request_log("user");
    CHECK_EQ(log["requests"].Size(), 1u);
    const auto& h = log["requests"][0]["headers"];
    CHECK_EQ(std::string(h["authorization"].GetString()), "token ghu_fake_valid");
    CHECK_EQ(std::string(h["accept"].GetString()), "application/json");

    // Without the token: a 401 is an answer, not an error.
    HttpRequest bad = user_request();
    bad.headers.clear();
    CHECK_EQ(copilot::http_perform(bad).status, 401L);
}

TEST(post_form_body_arrives_intact) {
    NEED_SERVER();
    HttpRequest r;
    r.method = "POST";
    r.url = FakeServer::get()->url("/login/device/code");
    r.headers = {{"Accept", "application/json"},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
    r.body = copilot::form_encode({{"client_id", "Iv1.b507a08c87ecfe98"}, {"scope", "read:user"}});
    r.retry = false;
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 200L);
    CHECK(resp.body.find("\"device_code\"") != std::string::npos);
    rapidjson::Document log = request_log("device_code");
    CHECK_EQ(log["requests"].Size(), 1u);
    const auto& e = log["requests"][0];
    CHECK_EQ(std::string(e["method"].GetString()), "POST");
    CHECK_EQ(std::string(e["body"].GetString()),
             "client_id=Iv1.b507a08c87ecfe98&scope=read%3Auser");
    CHECK_EQ(std::string(e["headers"]["content-type"].GetString()),
             "application/x-www-form-urlencoded");
}

TEST(bad_header_refused) {
    NEED_SERVER();
    HttpRequest r = user_request();
    r.headers.push_back({"X-Evil", "a\r\nX-Injected: 1"});
    CHECK_THROWS(copilot::http_perform(r), Exit::usage);
    CHECK_EQ(log_count("user"), 0u);
}

TEST(retry_after_503_then_success) {
    NEED_SERVER();
    script("user", R"([{"status":503,"retry_after":1}])");
    HttpRequest r = user_request();
    int retries = 0;
    long wait_seen = -1;
    r.on_retry = [&](int attempt, long wait_ms, const std::string& reason) {
        ++retries;
        wait_seen = wait_ms;
        CHECK_EQ(attempt, 1);
        CHECK(reason.find("503") != std::string::npos);
    };
    auto t0 = Clock::now();
    HttpResponse resp = copilot::http_perform(r);
    long took = ms_since(t0);
    CHECK_EQ(resp.status, 200L);
    CHECK_EQ(retries, 1);
    CHECK_EQ(wait_seen, 1000L);
    CHECK(took >= 950 && took < 3000);
    CHECK_EQ(log_count("user"), 2u);
}

TEST(retry_429_until_attempts_spent) {
    NEED_SERVER();
    script("user", R"([{"status":429,"retry_after":0,"repeat":5}])");
    HttpRequest r = user_request();
    r.max_attempts = 3;
    int retries = 0;
    r.on_retry = [&](int, long wait_ms, const std::string&) {
        ++retries;
        CHECK_EQ(wait_ms, 0L);
    };
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 429L);
    CHECK_EQ(resp.header("Retry-After"), "0");
    CHECK_EQ(retries, 2);
    CHECK_EQ(log_count("user"), 3u);
}

TEST(retry_500_with_backoff) {
    NEED_SERVER();
    script("user", R"([{"status":500}])");
    HttpRequest r = user_request();
    long wait_seen = -1;
    r.on_retry = [&](int, long wait_ms, const std::string&) { wait_seen = wait_ms; };
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 200L);
    CHECK(wait_seen >= 250 && wait_seen <= 500);
    CHECK_EQ(log_count("user"), 2u);
}

TEST(retry_after_too_long_is_returned) {
    NEED_SERVER();
    script("user", R"([{"status":503,"retry_after":120}])");
    HttpRequest r = user_request();
    r.max_retry_wait_ms = 5000;
    int retries = 0;
    r.on_retry = [&](int, long, const std::string&) { ++retries; };
    auto t0 = Clock::now();
    HttpResponse resp = copilot::http_perform(r);
    CHECK(ms_since(t0) < 1000);
    CHECK_EQ(resp.status, 503L);
    CHECK_EQ(resp.header("retry-after"), "120");
    CHECK_EQ(retries, 0);
    CHECK_EQ(log_count("user"), 1u);
}

TEST(no_retry_when_disabled) {
    NEED_SERVER();
    script("user", R"([{"status":503,"retry_after":0,"repeat":3}])");
    HttpRequest r = user_request();
    r.retry = false;
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 503L);
    CHECK_EQ(log_count("user"), 1u);
}

// Runs f in a thread of its own: a thread's first request opens a new
// connection. (On a reused connection, libcurl itself resends a request
// that got no answer byte before the connection died, so a reset there
// never reaches our retry logic.)
template <typename F>
void in_new_thread(F f) {
    std::thread t(f);
    t.join();
}

TEST(reset_is_retried) {
    NEED_SERVER();
    script("user", R"([{"reset":true}])");
    in_new_thread([] {
        HttpRequest r = user_request();
        int retries = 0;
        r.on_retry = [&](int, long, const std::string& reason) {
            ++retries;
            CHECK(reason.find("127.0.0.1") != std::string::npos);
        };
        HttpResponse resp = copilot::http_perform(r);
        CHECK_EQ(resp.status, 200L);
        CHECK_EQ(retries, 1);
    });
    CHECK_EQ(log_count("user"), 2u);

    // Without retries, a reset is a temporary failure.
    script("user", R"([{"reset":true}])");
    in_new_thread([] {
        HttpRequest r = user_request();
        r.retry = false;
        CHECK_THROWS_MSG(copilot::http_perform(r), Exit::temp, "cannot reach 127.0.0.1");
    });
}

TEST(connection_refused) {
    // A port nobody listens on: bind, read the port, close.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/x";
    r.headers = {{"Authorization", "token ghu_secret_value"}};
    r.retry = false;
    try {
        copilot::http_perform(r);
        check::fail(__FILE__, __LINE__, "connection refused did not throw");
    } catch (const copilot::Error& e) {
        CHECK(e.code() == Exit::temp);
        std::string m = e.what();
        CHECK(m.find("cannot reach 127.0.0.1") != std::string::npos);
        CHECK(m.find("ghu_secret_value") == std::string::npos);
    }
    r.retry = true;
    r.max_attempts = 2;
    int retries = 0;
    r.on_retry = [&](int, long, const std::string&) { ++retries; };
    CHECK_THROWS(copilot::http_perform(r), Exit::temp);
    CHECK_EQ(retries, 1);
}

TEST(hang_times_out) {
    NEED_SERVER();
    script("user", R"([{"hang":true}])");
    HttpRequest r = user_request();
    r.timeout_ms = 500;
    r.retry = false;
    auto t0 = Clock::now();
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::temp, "timed out");
    long took = ms_since(t0);
    CHECK(took >= 450 && took < 1500);
}

// Issue 13 item 11: the deadline bounds the whole operation, not each try.
TEST(deadline_bounds_all_tries_of_a_hang) {
    NEED_SERVER();
    script("user", R"([{"hang":true},{"hang":true},{"hang":true},{"hang":true}])");
    HttpRequest r = user_request();
    r.timeout_ms = 1000;  // 4 tries of 1 s, plus waits: over 4 s without a deadline
    r.deadline_ms = 1500;
    auto t0 = Clock::now();
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::temp, "gave up after 2 s");
    long took = ms_since(t0);
    CHECK(took >= 1400 && took < 2500);
}

TEST(deadline_cuts_retry_waits_of_503s) {
    NEED_SERVER();
    script("user", R"([{"status":503,"headers":{"Retry-After":"3"}},{"status":200}])");
    HttpRequest r = user_request();
    r.deadline_ms = 1000;  // the 3 s wait does not fit: the 503 is the answer
    auto t0 = Clock::now();
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 503L);
    CHECK(ms_since(t0) < 900);
    CHECK_EQ(log_count("user"), size_t(1));
}

TEST(copilot_timeout_shortens_the_deadline) {
    NEED_SERVER();
    script("user", R"([{"hang":true},{"hang":true},{"hang":true},{"hang":true}])");
    HttpRequest r = user_request();
    ::setenv("COPILOT_TIMEOUT", "1", 1);
    auto t0 = Clock::now();
    bool threw = false;
    try {
        copilot::http_perform(r);
    } catch (const copilot::Error& e) {
        threw = e.code() == Exit::temp;
    }
    ::unsetenv("COPILOT_TIMEOUT");
    CHECK(threw);
    long took = ms_since(t0);
    CHECK(took >= 900 && took < 2000);  // 4 tries of 1 s would be over 4 s
}

TEST(cut_body_is_protocol_error) {
    NEED_SERVER();
    script("user", R"([{"cut":10}])");
    HttpRequest r = user_request();
    r.retry = false;
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::protocol,
                     "connection to 127.0.0.1 closed before the answer was complete");

    // Retried like a connection failure; the error once attempts are spent.
    script("user", R"([{"cut":10,"repeat":2}])");
    r.retry = true;
    r.max_attempts = 2;
    CHECK_THROWS(copilot::http_perform(r), Exit::protocol);
    CHECK_EQ(log_count("user"), 3u);

    // And a single cut, retried, succeeds.
    script("user", R"([{"cut":10}])");
    CHECK_EQ(copilot::http_perform(r).status, 200L);
}

TEST(big_body_is_capped) {
    NEED_SERVER();
    script("user", R"([{"big_body":20971520}])");
    HttpRequest r = user_request();
    r.max_body = 1 << 20;
    PeakWatch mem;
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::protocol,
                     "127.0.0.1 sent an answer larger than 1048576 bytes");
    CHECK(mem.growth_kb() < 10 * 1024);
    CHECK_EQ(log_count("user"), 1u);  // not retried

    // Exactly at the cap is fine.
    script("user", R"([{"big_body":1048576}])");
    HttpResponse ok = copilot::http_perform(r);
    CHECK_EQ(ok.status, 200L);
    CHECK_EQ(ok.body.size(), size_t{1} << 20);
}

TEST(streaming_receives_everything) {
    NEED_SERVER();
    const size_t n = 5u << 20;
    script("user", R"([{"status":503,"retry_after":0},{"big_body":5242880}])");
    HttpRequest r = user_request();
    r.max_body = 1 << 20;  // caps buffered bodies only
    size_t got = 0, chunks = 0;
    std::string head;
    r.on_body = [&](std::string_view chunk) {
        if (head.size() < 12) head.append(chunk.substr(0, 12 - head.size()));
        got += chunk.size();
        ++chunks;
        return true;
    };
    PeakWatch mem;
    HttpResponse resp = copilot::http_perform(r);  // the 503 before any byte is retried
    CHECK(mem.growth_kb() < 4 * 1024);
    CHECK_EQ(resp.status, 200L);
    CHECK_EQ(got, n);
    CHECK(chunks > 1);
    CHECK_EQ(head, std::string("{\"filler\": \""));
    CHECK(resp.body.empty());
    CHECK(resp.body_streamed);
    CHECK(!resp.aborted_by_callback);
    CHECK_EQ(log_count("user"), 2u);
}

TEST(streaming_stop_early) {
    NEED_SERVER();
    script("user", R"([{"big_body":5242880}])");
    HttpRequest r = user_request();
    size_t got = 0;
    int calls = 0;
    r.on_body = [&](std::string_view chunk) {
        got += chunk.size();
        return ++calls < 2;
    };
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 200L);
    CHECK(resp.aborted_by_callback);
    CHECK_EQ(calls, 2);
    CHECK(got < (5u << 20));
    CHECK_EQ(log_count("user"), 1u);
}

TEST(streaming_error_body_is_buffered) {
    NEED_SERVER();
    script("user", R"([{"status":500,"body":{"message":"boom"}}])");
    HttpRequest r = user_request();
    r.retry = false;
    int calls = 0;
    r.on_body = [&](std::string_view) { return ++calls > 0; };
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 500L);
    CHECK_EQ(calls, 0);
    CHECK_EQ(resp.body, std::string("{\"message\":\"boom\"}"));
    CHECK(!resp.body_streamed);
}

TEST(streaming_not_retried_after_first_byte) {
    NEED_SERVER();
    script("user", R"([{"big_body":100000,"cut":5000,"repeat":2}])");
    HttpRequest r = user_request();
    size_t got = 0;
    r.on_body = [&](std::string_view chunk) {
        got += chunk.size();
        return true;
    };
    int retries = 0;
    r.on_retry = [&](int, long, const std::string&) { ++retries; };
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::protocol, "closed before the answer");
    CHECK_EQ(got, 5000u);
    CHECK_EQ(retries, 0);
    CHECK_EQ(log_count("user"), 1u);
}

TEST(callback_exception_propagates) {
    NEED_SERVER();
    HttpRequest r = user_request();
    r.on_body = [](std::string_view) -> bool {
        throw copilot::Error(Exit::interrupted, "stop");
    };
    CHECK_THROWS_MSG(copilot::http_perform(r), Exit::interrupted, "stop");
    CHECK_EQ(log_count("user"), 1u);
}

TEST(large_post_with_100_continue) {
    // libcurl sends "Expect: 100-continue" for bodies over 1 MiB: the interim
    // answer must not replace the final status or headers.
    NEED_SERVER();
    HttpRequest r;
    r.method = "POST";
    r.url = FakeServer::get()->url("/login/device/code");
    r.headers = {{"Accept", "application/json"},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
    r.body = "client_id=Iv1.b507a08c87ecfe98&scope=read%3Auser&pad=" +
             std::string(1536 * 1024, 'x');
    r.retry = false;
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 200L);
    CHECK(resp.header("content-type").find("json") != std::string::npos);
    CHECK(resp.body.find("\"device_code\"") != std::string::npos);
    rapidjson::Document log = request_log("device_code");
    CHECK_EQ(log["requests"].Size(), 1u);
    CHECK_EQ(log["requests"][0]["body"].GetStringLength(), r.body.size());
    CHECK_EQ(std::string(log["requests"][0]["headers"]["expect"].GetString()), "100-continue");
}

// --- connection reuse and cancellation ---------------------------------------------

int64_t peer_port(const rapidjson::Value& entry) {
    return entry.HasMember("peer_port") && entry["peer_port"].IsInt64()
               ? entry["peer_port"].GetInt64()
               : -1;
}

TEST(connection_reused_between_requests) {
    NEED_SERVER();
    for (int i = 0; i < 3; ++i) CHECK_EQ(copilot::http_perform(user_request()).status, 200L);
    rapidjson::Document log = request_log("user");
    CHECK_EQ(log["requests"].Size(), 3u);
    const int64_t first = peer_port(log["requests"][0]);
    CHECK(first > 0);
    CHECK_EQ(peer_port(log["requests"][1]), first);
    CHECK_EQ(peer_port(log["requests"][2]), first);
}

TEST(connection_dropped_by_server_is_replaced) {
    NEED_SERVER();
    // A reset kills the kept connection: the request is sent again on a new
    // one (by libcurl, see in_new_thread), and the next request does not
    // fail on the dead one.
    CHECK_EQ(copilot::http_perform(user_request()).status, 200L);
    script("user", R"([{"reset":true}])");
    CHECK_EQ(copilot::http_perform(user_request()).status, 200L);
    CHECK_EQ(copilot::http_perform(user_request()).status, 200L);
    rapidjson::Document log = request_log("user");
    CHECK_EQ(log["requests"].Size(), 4u);
    CHECK(peer_port(log["requests"][2]) != peer_port(log["requests"][0]));
}

TEST(nested_request_from_a_callback_gets_its_own_handle) {
    NEED_SERVER();
    script("user", R"([{"big_body":200000}])");
    HttpRequest r = user_request();
    long inner = 0;
    r.on_body = [&](std::string_view) {
        if (inner == 0) inner = copilot::http_perform(user_request()).status;
        return true;
    };
    HttpResponse outer = copilot::http_perform(r);
    CHECK_EQ(outer.status, 200L);
    CHECK(outer.body_streamed);
    CHECK_EQ(inner, 200L);
    CHECK_EQ(copilot::http_perform(user_request()).status, 200L);  // the thread's handle still works
}

TEST(cancelled_stops_a_silent_transfer) {
    NEED_SERVER();
    script("user", R"([{"hang":true}])");
    HttpRequest r = user_request();
    r.timeout_ms = 0;        // only the cancellation can end it
    r.silence_timeout_s = 0;
    // Cancelled once the server has the request and has gone silent.
    const auto t0 = Clock::now();
    r.cancelled = [&] { return ms_since(t0) > 700; };
    HttpResponse resp = copilot::http_perform(r);
    CHECK(resp.aborted_by_callback);
    CHECK_EQ(resp.status, 0L);
    CHECK_EQ(log_count("user"), 1u);
    CHECK_EQ(copilot::http_perform(user_request()).status, 200L);
}

TEST(cancelled_during_retry_wait) {
    NEED_SERVER();
    script("user", R"([{"status":503,"retry_after":30}])");
    HttpRequest r = user_request();
    std::atomic<bool> stop{false};
    r.on_retry = [&](int, long wait_ms, const std::string&) {
        CHECK_EQ(wait_ms, 30000L);
        stop = true;
    };
    r.cancelled = [&] { return stop.load(); };
    HttpResponse resp = copilot::http_perform(r);
    CHECK(resp.aborted_by_callback);
    CHECK_EQ(resp.status, 0L);
    CHECK_EQ(log_count("user"), 1u);
}

TEST(cancelled_before_start_sends_nothing) {
    NEED_SERVER();
    HttpRequest r = user_request();
    r.cancelled = [] { return true; };
    HttpResponse resp = copilot::http_perform(r);
    CHECK(resp.aborted_by_callback);
    CHECK_EQ(log_count("user"), 0u);
}

TEST(on_head_comes_once_before_the_body) {
    NEED_SERVER();
    script("user", R"([{"big_body":300000}])");
    HttpRequest r = user_request();
    int heads = 0;
    long head_status = 0;
    std::string type;
    size_t body_before_head = 0, got = 0;
    r.on_head = [&](long status, const copilot::HeaderList& headers) {
        ++heads;
        head_status = status;
        body_before_head = got;
        for (const auto& [name, value] : headers)
            if (name == "content-type") type = value;
    };
    r.on_body = [&](std::string_view chunk) {
        got += chunk.size();
        return true;
    };
    HttpResponse resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 200L);
    CHECK_EQ(heads, 1);
    CHECK_EQ(head_status, 200L);
    CHECK_EQ(body_before_head, size_t{0});
    CHECK(!type.empty());
    CHECK_EQ(got, size_t{300000});

    // An error answer is buffered, not streamed: no head either.
    script("user", R"([{"status":404,"body":{"message":"Not Found"}}])");
    heads = 0;
    resp = copilot::http_perform(r);
    CHECK_EQ(resp.status, 404L);
    CHECK_EQ(heads, 0);
}

// --- the loop (net/http_loop): copilot-serve's transfers --------------------------------

namespace {

// What one loop transfer ended with, waited for from the test's thread.
struct LoopResult {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    HttpResponse resp;
    std::string error;  // the Error's message, if one came
    std::string body;   // the bytes on_body took
    int bodies = 0;

    copilot::HttpLoop::Calls calls(bool streamed) {
        copilot::HttpLoop::Calls c;
        if (streamed)
            c.on_body = [this](std::string_view b) {
                std::lock_guard<std::mutex> lk(mu);
                body.append(b.data(), b.size());
                ++bodies;
                return copilot::BodyTake::all;
            };
        c.on_done = [this](HttpResponse r, std::exception_ptr e) {
            std::lock_guard<std::mutex> lk(mu);
            resp = std::move(r);
            if (e) try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    error = x.what();
                }
            done = true;
            cv.notify_all();
        };
        return c;
    }
    bool wait(std::chrono::milliseconds within = std::chrono::milliseconds(10000)) {
        std::unique_lock<std::mutex> lk(mu);
        return cv.wait_for(lk, within, [this] { return done; });
    }
};

}  // namespace

TEST(loop_buffers_an_answer_and_reuses_its_connection) {
    NEED_SERVER();
    copilot::HttpLoop loop;
    for (int i = 0; i < 3; ++i) {
        LoopResult res;
        loop.start(user_request(), res.calls(false));
        CHECK(res.wait());
        CHECK_EQ(res.resp.status, 200L);
        CHECK(res.resp.body.find("\"login\"") != std::string::npos);
        CHECK(res.error.empty());
    }
    CHECK_EQ(loop.running(), size_t{0});
    rapidjson::Document log = request_log("user");
    CHECK_EQ(log["requests"].Size(), 3u);
    CHECK_EQ(peer_port(log["requests"][2]), peer_port(log["requests"][0]));
}

TEST(loop_reuses_a_handle_with_nothing_of_its_last_request) {
    NEED_SERVER();
    copilot::HttpLoop loop;
    LoopResult first;
    HttpRequest r = user_request();
    r.method = "PUT";  // CURLOPT_CUSTOMREQUEST: a GET does not set it back
    r.headers.push_back({"X-First-Only", "yes"});
    loop.start(r, first.calls(true));  // streamed: on_body set on the handle
    CHECK(first.wait());
    CHECK_EQ(first.resp.status, 405L);  // /api/user takes GET only: answered all the same
    LoopResult second;
    loop.start(user_request(), second.calls(false));
    CHECK(second.wait());
    CHECK_EQ(second.resp.status, 200L);
    CHECK(!second.resp.body_streamed);  // buffered: the last sink is gone
    CHECK(second.resp.body.find("\"login\"") != std::string::npos);
    rapidjson::Document log = request_log("user");
    CHECK_EQ(log["requests"].Size(), 2u);
    CHECK(log["requests"][0]["headers"].HasMember("x-first-only"));
    CHECK(!log["requests"][1]["headers"].HasMember("x-first-only"));
    CHECK_EQ(std::string(log["requests"][0]["method"].GetString()), "PUT");
    CHECK_EQ(std::string(log["requests"][1]["method"].GetString()), "GET");
}

TEST(loop_pauses_a_stream_until_resumed_and_loses_nothing) {
    NEED_SERVER();
    script("user", R"([{"big_body":300000}])");
    copilot::HttpLoop loop;
    LoopResult res;
    copilot::HttpLoop::Calls calls = res.calls(true);
    std::atomic<int> paused{0};
    std::atomic<bool> hold{true};
    auto take = calls.on_body;
    calls.on_body = [&](std::string_view b) {
        if (hold.exchange(false)) {  // the first bytes: left with libcurl for now
            ++paused;
            return copilot::BodyTake::pause;
        }
        return take(b);
    };
    const copilot::HttpLoop::Id id = loop.start(user_request(), std::move(calls));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_EQ(paused.load(), 1);
    {
        std::lock_guard<std::mutex> lk(res.mu);
        CHECK(!res.done);  // paused: not a byte taken, and it waits
        CHECK(res.body.empty());
    }
    loop.resume(id);
    CHECK(res.wait());
    CHECK_EQ(res.resp.status, 200L);
    CHECK(res.resp.body_streamed);
    CHECK_EQ(res.body.size(), size_t{300000});
    CHECK_EQ(res.body.substr(0, 12), std::string("{\"filler\": \""));
}

// A request to a route scripted to accept and never answer, with no total
// limit (as copilot-serve's): only a stop, a tick or the silence limit ends it.
HttpRequest silent_request() {
    script("user", R"([{"hang":true}])");
    HttpRequest r = user_request();
    r.timeout_ms = 0;
    return r;
}

TEST(loop_stop_ends_a_silent_transfer_at_once) {
    NEED_SERVER();
    copilot::HttpLoop loop;
    LoopResult res;
    HttpRequest r = silent_request();
    const copilot::HttpLoop::Id id = loop.start(r, res.calls(false));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto t0 = Clock::now();
    loop.stop(id);
    CHECK(res.wait(std::chrono::milliseconds(2000)));
    CHECK(ms_since(t0) < 1000);
    CHECK(res.resp.aborted_by_callback);
    CHECK(res.error.empty());
}

TEST(loop_tick_can_stop_a_transfer) {
    NEED_SERVER();
    copilot::HttpLoop loop;
    LoopResult res;
    HttpRequest r = silent_request();
    copilot::HttpLoop::Calls calls = res.calls(false);
    std::atomic<int> ticks{0};
    calls.on_tick = [&] { return ++ticks >= 3; };
    const auto t0 = Clock::now();
    loop.start(r, std::move(calls));
    CHECK(res.wait(std::chrono::milliseconds(5000)));
    CHECK_EQ(ticks.load(), 3);
    const long took = ms_since(t0);
    CHECK(took >= 300 && took < 2000);  // three ticks, ~200 ms apart
    CHECK(res.resp.aborted_by_callback);
}

TEST(loop_gives_up_on_a_silent_upstream) {
    NEED_SERVER();
    copilot::HttpLoop loop;
    LoopResult res;
    HttpRequest r = silent_request();
    r.silence_timeout_s = 1;
    const auto t0 = Clock::now();
    loop.start(r, res.calls(false));
    CHECK(res.wait(std::chrono::milliseconds(5000)));
    CHECK(ms_since(t0) >= 900);
    CHECK(res.error.find("timed out: no data for 1 s") != std::string::npos);
}

TEST(loop_refuses_a_url_before_connecting) {
    copilot::HttpLoop loop;
    HttpRequest r;
    r.url = "http://example.com/x";  // plain http off loopback
    LoopResult res;
    CHECK_THROWS_MSG(loop.start(r, res.calls(false)), Exit::usage, "http");
    CHECK_EQ(loop.running(), size_t{0});
}

TEST(loop_ends_what_still_runs_when_it_is_destroyed) {
    NEED_SERVER();
    LoopResult res;
    {
        copilot::HttpLoop loop;
        HttpRequest r = silent_request();
        loop.start(r, res.calls(false));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(res.wait(std::chrono::milliseconds(0)));  // on_done came before the loop was gone
    CHECK(res.resp.aborted_by_callback);
}

TEST(loop_runs_a_call_on_its_thread) {
    copilot::HttpLoop loop;
    NEED_SERVER();
    LoopResult res;
    loop.start(user_request(), res.calls(false));  // the loop runs
    CHECK(res.wait());
    bool inside = false;
    loop.run_sync([&] { inside = loop.in_loop(); });
    CHECK(inside);
    CHECK(!loop.in_loop());
}

TEST(loop_runs_the_attached_set_after_the_transfers_that_ended_in_the_same_turn) {
    // The answer and the attached descriptor both become ready while the
    // loop is busy; when it looks again, the transfer's end must already
    // be known to `ready` (a resumed connection finds its answer whole).
    NEED_SERVER();
    script("user", R"([{"delay":0.4}])");
    copilot::HttpLoop loop;
    int p[2];
    CHECK_EQ(::pipe(p), 0);
    LoopResult res;
    std::atomic<int> readies{0};
    std::atomic<bool> done_at_ready{false};
    loop.attach(
        p[0],
        [&] {
            char b[8];
            if (::read(p[0], b, sizeof b) <= 0) return;
            std::lock_guard<std::mutex> lk(res.mu);
            done_at_ready = res.done;
            ++readies;
        },
        [] { return -1L; });
    loop.start(user_request(), res.calls(false));
    // The request is out and libcurl's 200 ms connect timer gone (on a
    // timer libcurl reads the socket itself): the answer comes at ~400 ms,
    // while the loop is busy from 300 to 1300 ms, and the descriptor at 800.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::thread busy([&] { loop.run_sync([] { std::this_thread::sleep_for(std::chrono::milliseconds(1000)); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK_EQ(::write(p[1], "x", 1), 1);
    busy.join();
    CHECK(res.wait());
    for (int i = 0; i < 200 && readies.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK_EQ(readies.load(), 1);
    CHECK(done_at_ready.load());
    CHECK_EQ(res.resp.status, 200L);
    loop.detach();
    ::close(p[0]);
    ::close(p[1]);
}

// A server on loopback that answers the first request of each of
// `connections` connections, keep-alive, then closes it `hold_ms` later.
struct ClosingServer {
    int fd = -1;
    int port = 0;
    std::atomic<int> accepted{0};
    std::thread th;
    ClosingServer(int connections, int hold_ms) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        CHECK(::listen(fd, 8) == 0);
        socklen_t len = sizeof a;
        CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
        th = std::thread([this, connections, hold_ms] {
            for (int i = 0; i < connections; ++i) {
                const int c = ::accept(fd, nullptr, nullptr);
                if (c < 0) return;
                ++accepted;
                std::string in;
                char buf[4096];
                while (in.find("\r\n\r\n") == std::string::npos) {
                    const ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    in.append(buf, static_cast<size_t>(n));
                }
                const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                [[maybe_unused]] ssize_t w = ::write(c, out.data(), out.size());
                std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
                ::close(c);
            }
        });
    }
    ~ClosingServer() {
        ::shutdown(fd, SHUT_RDWR);
        th.join();
        ::close(fd);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/x"; }
};

double process_cpu_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

TEST(loop_lets_go_of_a_kept_connection_the_server_closed) {
    // The loop keeps a connection's socket in its epoll set between
    // requests; the server's close then wakes it once (not on every turn:
    // a spinning loop would burn the whole wait), and the next request
    // goes on a new connection.
    ClosingServer server(2, 100);
    copilot::HttpLoop loop;
    HttpRequest r;
    r.url = server.url();
    r.timeout_ms = 5000;
    LoopResult first;
    loop.start(r, first.calls(false));
    CHECK(first.wait());
    CHECK_EQ(first.resp.status, 200L);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // closed at ~100 ms
    const double cpu0 = process_cpu_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const double idle_cpu = process_cpu_ms() - cpu0;
    CHECK(idle_cpu < 100.0);
    LoopResult second;
    loop.start(r, second.calls(false));
    CHECK(second.wait());
    CHECK_EQ(second.resp.status, 200L);
    CHECK_EQ(second.resp.body, "ok");
    CHECK_EQ(server.accepted.load(), 2);
}

TEST(uuid_v4_is_a_random_rfc4122_version_4_uuid) {
    const std::string a = copilot::uuid_v4(), b = copilot::uuid_v4();
    CHECK(a != b);
    for (const std::string& u : {a, b}) {
        CHECK_EQ(u.size(), std::size_t{36});
        for (std::size_t i = 0; i < u.size(); ++i) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                CHECK_EQ(u[i], '-');
            else
                CHECK(std::strchr("0123456789abcdef", u[i]) && u[i] != '\0');
        }
        CHECK_EQ(u[14], '4');                        // the version
        CHECK(std::strchr("89ab", u[19]) != nullptr);  // the variant
    }
}
