// Unit tests for lib/device_flow: the answer parsers, the pending-login
// document, the slow_down and retry rules, and the poll loop on a fake clock.
#include <deque>
#include <string>
#include <vector>

#include "check.h"
#include "auth/device_flow.h"

using namespace copilot;

namespace {

HttpResponse answer(long status, std::string body, HeaderList headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

PendingLogin pending() {
    PendingLogin p;
    p.host = "github.com";
    p.client_id = "Iv1.b507a08c87ecfe98";
    p.device_code = "dc_secret_123456";
    p.user_code = "ABCD-1234";
    p.verification_uri = "https://github.com/login/device";
    p.interval = 5;
    p.expires_at = 1000 + 900;
    return p;
}

const char* kGoodCode =
    R"({"device_code":"dc1","user_code":"WDJB-MJHT","verification_uri":"https://github.com/login/device","expires_in":900,"interval":5})";

// A fake clock and a scripted poll: each poll records the time it was made.
struct FakeFlow {
    int64_t now_ms = 1000 * 1000;  // unix 1000 s
    std::vector<int64_t> poll_times;
    std::deque<PollAnswer> script;
    PollAnswer fallback;  // when the script is empty
    std::function<bool()> cancel;

    PollLoop loop() {
        PollLoop l;
        l.clock.now_ms = [this] { return now_ms; };
        l.clock.sleep_ms = [this](int64_t ms) { now_ms += ms; };
        l.poll = [this](const PendingLogin&) {
            poll_times.push_back(now_ms);
            if (script.empty()) return fallback;
            PollAnswer a = script.front();
            script.pop_front();
            return a;
        };
        l.cancelled = [this] { return cancel && cancel(); };
        return l;
    }
};

PollAnswer kind(PollAnswer::Kind k) {
    PollAnswer a;
    a.kind = k;
    return a;
}

PollAnswer granted() {
    PollAnswer a = kind(PollAnswer::Kind::granted);
    a.access_token = "ghu_x";
    return a;
}

}  // namespace

// ------------------------------------------------------------ device code

TEST(device_code_answer_gives_absolute_expiry_and_interval) {
    PendingLogin p = parse_device_code_answer(answer(200, kGoodCode), "github.com", "cid", 1000);
    CHECK_EQ(p.device_code, "dc1");
    CHECK_EQ(p.user_code, "WDJB-MJHT");
    CHECK_EQ(p.verification_uri, "https://github.com/login/device");
    CHECK_EQ(p.expires_at, 1900);
    CHECK_EQ(p.interval, 5);
    CHECK_EQ(p.host, "github.com");
    CHECK_EQ(p.client_id, "cid");
}

TEST(device_code_answer_defaults_and_rounds_up) {
    PendingLogin p = parse_device_code_answer(
        answer(200, R"({"device_code":"d","user_code":"U-1","verification_uri":"https://x.test/d"})"),
        "github.com", "cid", 0);
    CHECK_EQ(p.interval, 5);
    CHECK_EQ(p.expires_at, 900);
    p = parse_device_code_answer(
        answer(200, R"({"device_code":"d","user_code":"U-1","verification_uri":"https://x.test/d","interval":1.2,"expires_in":60.5})"),
        "github.com", "cid", 0);
    CHECK_EQ(p.interval, 2);  // never faster than asked
    CHECK_EQ(p.expires_at, 61);
    p = parse_device_code_answer(
        answer(200, R"({"device_code":"d","user_code":"U-1","verification_uri":"https://x.test/d","interval":0})"),
        "github.com", "cid", 0);
    CHECK_EQ(p.interval, 5);
}

TEST(device_code_answer_faults_are_protocol_errors_naming_the_field) {
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","verification_uri":"https://x.test/"})"),
                         "github.com", "c", 0),
                     Exit::protocol, "field 'user_code' is missing");
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","user_code":"A\u001b[31m","verification_uri":"https://x.test/"})"),
                         "github.com", "c", 0),
                     Exit::protocol, "field 'user_code'");
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","user_code":"A","verification_uri":"file:///etc/passwd"})"),
                         "github.com", "c", 0),
                     Exit::protocol, "field 'verification_uri'");
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","user_code":"A","verification_uri":"http://evil.example/"})"),
                         "github.com", "c", 0),
                     Exit::protocol, "field 'verification_uri'");
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","user_code":"A","verification_uri":"https://x.test/","interval":"5"})"),
                         "github.com", "c", 0),
                     Exit::protocol, "field 'interval' must be a number");
    CHECK_THROWS_MSG(parse_device_code_answer(
                         answer(200, R"({"device_code":"d","user_code":"A","verification_uri":"https://x.test/","expires_in":0})"),
                         "github.com", "c", 0),
                     Exit::protocol, "expires_in");
    // truncated
    CHECK_THROWS_MSG(parse_device_code_answer(answer(200, R"({"device_code":"d","user_co)"),
                                              "github.com", "c", 0),
                     Exit::protocol, "not valid JSON");
}

TEST(device_code_request_refusals) {
    CHECK_THROWS(parse_device_code_answer(answer(503, ""), "github.com", "c", 0), Exit::unavailable);
    CHECK_THROWS(parse_device_code_answer(answer(429, ""), "github.com", "c", 0), Exit::temp);
    CHECK_THROWS_MSG(parse_device_code_answer(answer(404, "Not Found"), "github.com", "c", 0),
                     Exit::protocol, "refused the device code request (HTTP 404)");
    CHECK_THROWS_MSG(parse_device_code_answer(answer(400, R"({"error":"device_flow_disabled"})"),
                                              "github.com", "c", 0),
                     Exit::permission, "device flow is disabled");
    CHECK_THROWS_MSG(parse_device_code_answer(answer(200, R"({"error":"incorrect_client_credentials"})"),
                                              "github.com", "bad", 0),
                     Exit::permission, "client ID 'bad'");
}

// -------------------------------------------------------- pending document

TEST(pending_login_round_trips) {
    PendingLogin p = pending();
    std::string doc = serialize_pending_login(p);
    CHECK_EQ(doc,
             "{\"host\":\"github.com\",\"client_id\":\"Iv1.b507a08c87ecfe98\",\"device_code\":"
             "\"dc_secret_123456\",\"user_code\":\"ABCD-1234\",\"verification_uri\":"
             "\"https://github.com/login/device\",\"interval\":5,\"expires_at\":1900}\n");
    PendingLogin q = parse_pending_login(doc, {"pending", Exit::data});
    CHECK_EQ(q.host, p.host);
    CHECK_EQ(q.client_id, p.client_id);
    CHECK_EQ(q.device_code, p.device_code);
    CHECK_EQ(q.user_code, p.user_code);
    CHECK_EQ(q.verification_uri, p.verification_uri);
    CHECK_EQ(q.interval, p.interval);
    CHECK_EQ(q.expires_at, p.expires_at);
}

TEST(pending_login_faults_name_the_field) {
    const JsonSource src{"pending login f", Exit::data};
    CHECK_THROWS_MSG(parse_pending_login(R"({"host":"github.com","client_id":"c","expires_at":1})", src),
                     Exit::data, "field 'device_code' is missing");
    CHECK_THROWS_MSG(parse_pending_login(R"({"host":"github.com","client_id":"c","device_code":"d"})", src),
                     Exit::data, "field 'expires_at' is missing");
    CHECK_THROWS_MSG(parse_pending_login(R"({"host":"../x","client_id":"c","device_code":"d","expires_at":1})", src),
                     Exit::data, "field 'host'");
    CHECK_THROWS(parse_pending_login("[]", src), Exit::data);
    CHECK_THROWS_MSG(parse_pending_login(R"({"host":"github.com","client_id":"c","device_code":"d","expires_at":1,"user_code":"\u001b]0;x"})", src),
                     Exit::data, "field 'user_code' is not printable");
    // optional fields and unknown ones
    PendingLogin p = parse_pending_login(
        R"({"host":"github.com","client_id":"c","device_code":"d","expires_at":7,"extra":[1]})", src);
    CHECK_EQ(p.interval, 5);
    CHECK_EQ(p.user_code, "");
}

// ------------------------------------------------------------ poll answers

TEST(poll_answers_pending_slow_down_granted) {
    const PendingLogin p = pending();
    CHECK(parse_poll_answer(answer(200, R"({"error":"authorization_pending"})"), p).kind ==
          PollAnswer::Kind::pending);
    CHECK(parse_poll_answer(answer(400, R"({"error":"authorization_pending"})"), p).kind ==
          PollAnswer::Kind::pending);
    PollAnswer s = parse_poll_answer(answer(200, R"({"error":"slow_down","interval":10})"), p);
    CHECK(s.kind == PollAnswer::Kind::slow_down);
    CHECK_EQ(s.interval, 10);
    s = parse_poll_answer(answer(400, R"({"error":"slow_down"})"), p);
    CHECK_EQ(s.interval, 0);
    PollAnswer g = parse_poll_answer(
        answer(200, R"({"access_token":"ghu_abc","token_type":"bearer","scope":"read:user","x":{}})"), p);
    CHECK(g.kind == PollAnswer::Kind::granted);
    CHECK_EQ(g.access_token, "ghu_abc");
    CHECK_EQ(g.token_type, "bearer");
    CHECK_EQ(g.scope, "read:user");
}

TEST(poll_error_codes_map_to_exit_codes) {
    const PendingLogin p = pending();
    auto body = [](const char* code) {
        return std::string(R"({"error":")") + code + R"(","error_description":"d"})";
    };
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, body("expired_token")), p), Exit::temp,
                     "device code expired");
    CHECK_THROWS_MSG(parse_poll_answer(answer(400, body("access_denied")), p), Exit::permission,
                     "denied");
    CHECK_THROWS(parse_poll_answer(answer(200, body("incorrect_client_credentials")), p),
                 Exit::permission);
    CHECK_THROWS(parse_poll_answer(answer(401, body("invalid_client")), p), Exit::permission);
    CHECK_THROWS(parse_poll_answer(answer(200, body("device_flow_disabled")), p), Exit::permission);
    CHECK_THROWS(parse_poll_answer(answer(200, body("incorrect_device_code")), p), Exit::protocol);
    CHECK_THROWS(parse_poll_answer(answer(400, body("unsupported_grant_type")), p), Exit::protocol);
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, body("brand_new")), p), Exit::protocol,
                     "brand_new: d");
}

TEST(poll_error_descriptions_are_one_redacted_line) {
    const PendingLogin p = pending();
    try {
        parse_poll_answer(
            answer(200, R"({"error":"odd","error_description":"code dc_secret_123456\nis\u001b[2Jbad"})"), p);
        CHECK(false);
    } catch (const Error& e) {
        std::string m = e.what();
        CHECK(m.find("dc_secret_123456") == std::string::npos);
        CHECK(m.find('\n') == std::string::npos);
        CHECK(m.find('\x1b') == std::string::npos);
    }
}

TEST(poll_transient_answers_are_retries) {
    const PendingLogin p = pending();
    PollAnswer a = parse_poll_answer(answer(502, "<html>"), p);
    CHECK(a.kind == PollAnswer::Kind::retry);
    CHECK(a.retry_code == Exit::unavailable);
    CHECK_EQ(a.retry_after_s, -1L);
    a = parse_poll_answer(answer(429, "", {{"retry-after", "7"}}), p);
    CHECK(a.kind == PollAnswer::Kind::retry);
    CHECK(a.retry_code == Exit::temp);
    CHECK_EQ(a.retry_after_s, 7L);
}

TEST(poll_answers_that_make_no_sense_are_protocol_errors) {
    const PendingLogin p = pending();
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, R"({"token_type":"bearer"})"), p),
                     Exit::protocol, "neither 'access_token' nor 'error'");
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, R"({"access_token":"a b"})"), p),
                     Exit::protocol, "field 'access_token'");
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, R"({"access_token":""})"), p),
                     Exit::protocol, "field 'access_token'");
    CHECK_THROWS_MSG(parse_poll_answer(answer(200, R"({"access_token":"ghu_x",)"), p),
                     Exit::protocol, "not valid JSON");
    CHECK_THROWS_MSG(parse_poll_answer(answer(404, "Not Found"), p), Exit::protocol, "HTTP 404");
    CHECK_THROWS_MSG(parse_poll_answer(answer(400, R"({"message":"x"})"), p), Exit::protocol,
                     "without an error code");
}

// ------------------------------------------------------------ pacing rules

TEST(slow_down_adds_five_or_takes_a_larger_interval) {
    CHECK_EQ(slowed_interval(5, 0), 10);
    CHECK_EQ(slowed_interval(5, 3), 10);
    CHECK_EQ(slowed_interval(5, 5), 10);
    CHECK_EQ(slowed_interval(5, 12), 12);
    CHECK_EQ(slowed_interval(1, 2), 2);
}

TEST(retry_waits_are_never_below_the_interval_or_retry_after) {
    for (int failures = 1; failures <= 10; ++failures) {
        int64_t w = retry_wait_ms(5, failures, -1);
        CHECK(w >= 5000);
        CHECK(w <= 60000);
        CHECK(retry_wait_ms(1, failures, 30) >= 30000);
    }
    CHECK(retry_wait_ms(120, 3, -1) >= 120000);  // long intervals are kept
}

// ---------------------------------------------------------------- the loop

TEST(loop_waits_an_interval_before_each_poll) {
    FakeFlow f;
    PendingLogin p = pending();
    p.expires_at = 1000 + 900;
    for (int i = 0; i < 3; ++i) f.script.push_back(kind(PollAnswer::Kind::pending));
    f.script.push_back(granted());
    PollAnswer a = poll_for_token(p, f.loop());
    CHECK(a.kind == PollAnswer::Kind::granted);
    CHECK_EQ(a.access_token, "ghu_x");
    CHECK_EQ(f.poll_times.size(), size_t{4});
    int64_t prev = 1000 * 1000;
    for (int64_t t : f.poll_times) {
        CHECK(t - prev >= 5000);
        prev = t;
    }
}

TEST(loop_slow_down_raises_the_interval_for_good) {
    FakeFlow f;
    PendingLogin p = pending();
    f.script.push_back(kind(PollAnswer::Kind::slow_down));  // +5 -> 10
    f.script.push_back(kind(PollAnswer::Kind::pending));
    PollAnswer s = kind(PollAnswer::Kind::slow_down);
    s.interval = 20;  // larger: taken as is
    f.script.push_back(s);
    f.script.push_back(granted());
    poll_for_token(p, f.loop());
    CHECK_EQ(f.poll_times.size(), size_t{4});
    CHECK_EQ(f.poll_times[1] - f.poll_times[0], 10000);
    CHECK_EQ(f.poll_times[2] - f.poll_times[1], 10000);
    CHECK_EQ(f.poll_times[3] - f.poll_times[2], 20000);
    CHECK_EQ(p.interval, 20);
}

TEST(loop_retries_transient_failures_with_backoff) {
    FakeFlow f;
    PendingLogin p = pending();
    PollAnswer r = kind(PollAnswer::Kind::retry);
    r.reason = "HTTP 500";
    f.script.push_back(r);
    f.script.push_back(r);
    PollAnswer ra = r;
    ra.retry_after_s = 30;
    f.script.push_back(ra);
    f.script.push_back(granted());
    std::vector<std::string> notes;
    PollLoop l = f.loop();
    l.note = [&](const std::string& s) { notes.push_back(s); };
    PollAnswer a = poll_for_token(p, l);
    CHECK(a.kind == PollAnswer::Kind::granted);
    CHECK_EQ(f.poll_times.size(), size_t{4});
    CHECK(f.poll_times[1] - f.poll_times[0] >= 5000);
    CHECK(f.poll_times[2] - f.poll_times[1] >= 5000);
    CHECK(f.poll_times[3] - f.poll_times[2] >= 30000);  // Retry-After honoured
    CHECK_EQ(notes.size(), size_t{3});
    CHECK(notes[0].find("HTTP 500; polling again in") == 0);
}

TEST(loop_ends_when_the_code_expires) {
    FakeFlow f;
    PendingLogin p = pending();
    p.expires_at = 1000 + 12;  // room for two polls at 5 s
    f.fallback = kind(PollAnswer::Kind::pending);
    CHECK_THROWS_MSG(poll_for_token(p, f.loop()), Exit::temp, "expired");
    CHECK_EQ(f.poll_times.size(), size_t{2});
    CHECK(f.now_ms <= 1012 * 1000 + 100);  // stopped at the end, not an interval later
}

TEST(loop_retries_until_the_code_expires) {
    FakeFlow f;
    PendingLogin p = pending();
    f.fallback = kind(PollAnswer::Kind::retry);
    CHECK_THROWS_MSG(poll_for_token(p, f.loop()), Exit::temp, "expired");
    CHECK(f.poll_times.size() >= 15);  // 900 s at <= 60 s apart
    for (size_t i = 1; i < f.poll_times.size(); ++i)
        CHECK(f.poll_times[i] - f.poll_times[i - 1] >= 5000);
}

TEST(loop_stops_on_terminal_answers) {
    FakeFlow f;
    PendingLogin p = pending();
    f.script.push_back(kind(PollAnswer::Kind::pending));
    PollLoop l = f.loop();
    auto inner = l.poll;
    l.poll = [&](const PendingLogin& q) -> PollAnswer {
        if (f.poll_times.size() == 1)
            return parse_poll_answer(answer(200, R"({"error":"access_denied"})"), q);
        return inner(q);
    };
    CHECK_THROWS(poll_for_token(p, l), Exit::permission);
}

TEST(loop_cancellation_ends_with_interrupted) {
    FakeFlow f;
    PendingLogin p = pending();
    f.fallback = kind(PollAnswer::Kind::pending);
    f.cancel = [&] { return f.now_ms >= 1000 * 1000 + 7000; };  // Ctrl-C at 7 s
    CHECK_THROWS(poll_for_token(p, f.loop()), Exit::interrupted);
    CHECK_EQ(f.poll_times.size(), size_t{1});
    CHECK(f.now_ms < 1000 * 1000 + 7000 + 200);  // noticed within a slice
}

TEST(loop_cancellation_wins_over_a_late_grant) {
    FakeFlow f;
    PendingLogin p = pending();
    bool polled = false;
    PollLoop l = f.loop();
    l.poll = [&](const PendingLogin&) {
        polled = true;
        return granted();
    };
    l.cancelled = [&] { return polled; };  // Ctrl-C arrived during the request
    CHECK_THROWS(poll_for_token(p, l), Exit::interrupted);
}
