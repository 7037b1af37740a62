// Regression tests for what the libFuzzer targets (tests/fuzz/) found: each
// input here is the minimised finding, and each test states the invariant
// the target checks. See tests/fuzz/README for the runs that found them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "api/chat.h"
#include "check.h"
#include "auth/copilot_token.h"
#include "auth/device_flow.h"
#include "net/endpoints.h"
#include "util/json.h"
#include "auth/token_check.h"

using namespace copilot;

namespace {

const JsonSource kSrc{"fuzz regression", Exit::data};
constexpr int64_t kNow = 1763700000;

const std::string kDeviceCode = "3584d83530557fdd1f46af8289938c8ef79f9dc5";
const std::string kGithubToken = "ghu_FuzzSecretGithubToken0123456789abcdef";
const std::string kCopilotToken = "tid=fuzzsecret;exp=1763701800;sku=free:0123456789abcdef";

// A one-shot HTTP server on 127.0.0.1: answers the first request with
// `response` (a whole HTTP/1.1 message) and closes.
class OneShotServer {
public:
    explicit OneShotServer(std::string response) : response_(std::move(response)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(fd_, 1) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return;
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) break;
                req.append(buf, static_cast<size_t>(n));
            }
            for (size_t at = 0; at < response_.size();) {
                ssize_t n = ::write(c, response_.data() + at, response_.size() - at);
                if (n <= 0) break;
                at += static_cast<size_t>(n);
            }
            ::close(c);
        });
    }
    ~OneShotServer() {
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
        if (thread_.joinable()) thread_.join();
        if (fd_ >= 0) ::close(fd_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    bool ok() const { return port_ > 0; }

private:
    std::string response_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

std::string http_answer(int status, const std::string& reason, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

// What fuzz::leaks checks, for one clear case: the first 16 characters of
// the secret (more than mask_secret keeps) must not show.
bool shows_secret_prefix(const std::string& msg, const std::string& secret) {
    return msg.find(secret.substr(0, 16)) != std::string::npos;
}

}  // namespace

// --- lib/util/json.cc (fixed) ------------------------------------------------------

// fuzz_json, fuzz_token_document: "\udc00" parsed into bytes that are not
// UTF-8, so the token document written from it could not be read back.
TEST(json_parse_refuses_an_unpaired_low_surrogate) {
    CHECK_THROWS_MSG(json_parse(R"({"sku":"\udc00"})", kSrc), Exit::data, "unpaired surrogate");
    CHECK_THROWS(json_parse(R"(["a\n\uDFFF"])", kSrc, false), Exit::data);
    CHECK_THROWS(json_parse(R"(["\ud83d\ude00\ude00"])", kSrc, false), Exit::data);
    // A pair, an escaped backslash before "udc00", and raw UTF-8 stay fine.
    CHECK(json_parse(R"({"s":"\ud83d\ude00"})", kSrc)["s"].GetStringLength() == 4);
    CHECK(json_parse(R"({"s":"a\\udc00"})", kSrc)["s"].GetStringLength() == 7);
    CHECK(json_parse("{\"s\":\"\xed\x9f\xbf\"}", kSrc)["s"].GetStringLength() == 3);
}

TEST(a_token_document_with_an_unpaired_surrogate_is_refused_not_written_unreadable) {
    const std::string doc =
        R"({"host":"github.com","token":"tid=1","expires_at":1763701800,"sku":"\udc00"})";
    try {
        CopilotToken t = parse_token_document(doc, kSrc);
        CopilotToken back = parse_token_document(serialize_token_document(t), kSrc);
        CHECK(back.sku == t.sku);
    } catch (const Error& e) {
        CHECK_EQ(e.status(), 65);
    }
}

// json_dump recursed once per nesting level, while json_parse accepts deep
// documents: a 200,000-deep array (400 KB; a chat answer may be 16 MiB)
// overflowed the stack (fuzz_json on a deep input). Whatever depth
// json_parse accepts, json_dump must write back.
TEST(json_dump_of_a_deeply_nested_document_does_not_overflow_the_stack) {
    bool dumped = false;
    for (size_t depth : {size_t{1000000}, size_t{262144}, size_t{200000}}) {
        const std::string deep = std::string(depth, '[') + std::string(depth, ']');
        std::string objs;
        for (size_t i = 0; i < depth; ++i) objs += "{\"a\":";
        objs += "[1,\"x\",null]" + std::string(depth, '}');
        try {
            CHECK(json_dump(json_parse(deep, kSrc, false)) == deep);
            CHECK(json_dump(json_parse(objs, kSrc)) == objs);
            dumped = true;
            break;
        } catch (const Error& e) {
            CHECK_EQ(e.status(), 65);  // refused as too deep: try a smaller depth
        }
    }
    CHECK(dumped);
}

// fuzz_json: RapidJSON read "17e308" as infinity (1e309 it refuses), and
// json_dump then wrote no number at all: "[1,,2]", not JSON (a chat answer
// given back by --json would have been invalid).
TEST(a_number_too_big_for_a_double_is_refused) {
    CHECK_THROWS_MSG(json_parse("[17e308]", kSrc, false), Exit::data, "too big");
    CHECK_THROWS(json_parse(R"({"created":-7440737000000000000000000000000000000000000223371.7e292})", kSrc),
                 Exit::data);
    CHECK(json_dump(json_parse("[1.7e308,-1.7e308,1e-400]", kSrc, false)) ==
          "[1.7e308,-1.7e308,0.0]");
}

// --- lib/auth/device_flow.cc (open) ----------------------------------------------------

// fuzz_pending_login: a device code answer was accepted with a
// verification_uri that parse_pending_login refuses (non-ASCII, or longer
// than 2048), so `copilot-login --start` wrote a file `--poll` cannot read.
TEST(a_device_code_answer_is_refused_or_its_pending_login_can_be_read_back) {
    for (const std::string& uri :
         {std::string("https://github.com/login/device/\\u00e9"),
          "https://github.com/login/device?" + std::string(3000, 'a')}) {
        HttpResponse r;
        r.status = 200;
        r.body = R"({"device_code":"abc","user_code":"WDJB-MJHT","verification_uri":")" + uri +
                 R"(","expires_in":900,"interval":5})";
        try {
            PendingLogin p = parse_device_code_answer(r, "github.com", kDefaultClientId, kNow);
            PendingLogin back = parse_pending_login(serialize_pending_login(p), kSrc);
            CHECK(back.verification_uri == p.verification_uri);
        } catch (const Error& e) {
            CHECK_EQ(e.status(), 76);  // refused as a protocol error: fine
        }
    }
}

// fuzz_error_envelope: the "error" code of an OAuth answer went into the
// message unredacted; only error_description was redacted.
TEST(an_oauth_error_code_that_echoes_the_device_code_does_not_show_it) {
    PendingLogin p;
    p.host = "github.com";
    p.client_id = kDefaultClientId;
    p.device_code = kDeviceCode;
    HttpResponse r;
    r.status = 200;
    r.body = R"({"error":"accessdenied )" + kDeviceCode + R"("})";
    try {
        parse_poll_answer(r, p);
        CHECK(false);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find(kDeviceCode) == std::string::npos);
    }
}

// --- lib/api/chat.cc (open) -----------------------------------------------------------

// fuzz_error_envelope: one_line() cut server text at 300 characters and only
// then masked the token, so a token echoed near the limit was shown cut off,
// unmasked.
TEST(an_api_error_near_the_length_limit_does_not_show_part_of_the_token) {
    const ApiError e = parse_api_error(std::string(280, 'x') + " " + kCopilotToken, kCopilotToken);
    CHECK(!shows_secret_prefix(e.message, kCopilotToken));
    const ApiError j = parse_api_error(
        R"({"error":{"message":")" + std::string(280, 'x') + kCopilotToken + R"(","code":"x"}})",
        kCopilotToken);
    CHECK(!shows_secret_prefix(j.message, kCopilotToken));
}

// A usage chunk without total_tokens: prompt + completion overflowed int64.
TEST(a_usage_chunk_with_huge_token_counts_does_not_overflow) {
    ChatChunk c = parse_chat_chunk(
        R"({"choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":1}})");
    CHECK(c.usage.has_value());
    if (c.usage) CHECK(c.usage->total_tokens >= 0);
}

// --- lib/auth/copilot_token.cc, lib/auth/token_check.cc (open) -------------------------------

// fuzz_error_envelope: the 403 message was cut at 300 characters before the
// GitHub token was masked (server_text), leaking most of an echoed token.
TEST(a_403_envelope_near_the_length_limit_does_not_show_part_of_the_github_token) {
    const std::string body =
        R"({"message":")" + std::string(255, 'x') + kGithubToken + R"("})";
    OneShotServer server(http_answer(403, "Forbidden", body));
    CHECK(server.ok());
    if (!server.ok()) return;
    const char* old = std::getenv("COPILOT_GITHUB_API_URL");
    const std::string saved = old ? old : "";
    ::setenv("COPILOT_GITHUB_API_URL", server.url().c_str(), 1);
    try {
        exchange_token(kGithubToken, "github.com", kNow);
        CHECK(false);
    } catch (const Error& e) {
        CHECK_EQ(e.status(), 77);
        CHECK(!shows_secret_prefix(e.what(), kGithubToken));
    }
    if (old)
        ::setenv("COPILOT_GITHUB_API_URL", saved.c_str(), 1);
    else
        ::unsetenv("COPILOT_GITHUB_API_URL");
}

// fuzz_token_envelope: expires_at / refresh_in / fetched_at are any int64 a
// server or a cache file holds; is_fresh, refresh_due_at and the --check
// summaries subtracted and added them with signed overflow (undefined; in
// practice a wrapped, wrong answer). Extreme values must be refused when
// read, or give the plain answer: a token that expired, or is due for a
// refresh, is not fresh.
TEST(extreme_times_in_a_token_are_refused_or_not_fresh) {
    const std::string head = R"({"host":"github.com","token":"tid=1;exp=1:mac",)";
    const std::string cases[] = {
        R"("expires_at":-9223372036854775808,"refresh_in":1500,"fetched_at":1763700000})",
        R"("expires_at":1763703600,"refresh_in":-9223372036854775808,"fetched_at":1763700000})",
        R"("expires_at":1763703600,"refresh_in":1500,"fetched_at":-9223372036854775808})",
        R"("expires_at":1763703600,"refresh_in":9223372036854775807,"fetched_at":9223372036854775807})",
    };
    for (const auto& tail : cases) {
        try {
            CopilotToken t = parse_token_document(head + tail, kSrc);
            CHECK(!is_fresh(t, kNow, 300));
            (void)refresh_due_at(t, 300);
            CopilotTokenCheck c = inspect_token(t, "fuzz");
            (void)check_passes(c, kNow, 300);
            (void)check_summary_text(c, kNow, 300);
            (void)check_summary_json(c, kNow, 300);
        } catch (const Error& e) {
            CHECK_EQ(e.status(), 65);
        }
    }
    // The same numbers straight from the exchange answer.
    try {
        CopilotToken t = parse_token_envelope(
            R"({"token":"tid=x:y","expires_at":-9223372036854775808,"refresh_in":1500})",
            "github.com", kNow);
        CHECK(!is_fresh(t, kNow, 300));
    } catch (const Error& e) {
        CHECK_EQ(e.status(), 76);
    }
}
